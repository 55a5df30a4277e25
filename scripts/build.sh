#!/usr/bin/env bash
# Configures and builds into BUILD_DIR (default build/); TARGET, if set, builds
# only that target. Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" ${TARGET:+--target "$TARGET"}
