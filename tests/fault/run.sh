#!/usr/bin/env bash
# Runs the fault-injection suite against a build of livegate-server:
#   bash tests/fault/run.sh [build-dir]     (default: build)
# Extra arguments after the build folder go to unittest (a module or a
# test, e.g. test_disk_full). Some tests need root and skip without it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../build}"
shift || true
bin="$(cd "$build" && pwd)/examples/server/livegate-server"
if [[ ! -x "$bin" ]]; then
  echo "run.sh: no livegate-server in $build (configure with -DLG_BUILD_TESTS=ON and build)" >&2
  exit 2
fi
modules=("$@")
if ((${#modules[@]} == 0)); then
  modules=(test_encoder_faults test_server_kill test_disk_full test_idle_connections
           test_srt_lossy test_garbage)
fi
cd "$here"
export LG_SERVER_BIN="$bin" PYTHONDONTWRITEBYTECODE=1
exec timeout --kill-after=10 900 python3 -m unittest -v "${modules[@]}"
