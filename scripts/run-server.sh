#!/usr/bin/env bash
# Installs dependencies, builds, and runs livegate-server on its embedded
# defaults (RTMP on 1935, data in ./livegate-data). Arguments go to the server.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/setup.sh"
TARGET=livegate-server bash "$here/scripts/build.sh" >&2
exec "$here/build/examples/server/livegate-server" "$@"
