#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite twice: a
# normal build, then AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh

jobs=$(nproc)
echo "== build (RelWithDebInfo)"
BUILD_DIR=build bash scripts/build.sh -DLG_BUILD_TESTS=ON -DLG_SANITIZE=OFF
echo "== tests"
(cd build && ctest --output-on-failure --no-tests=error -j"$jobs")

echo "== build (ASan + UBSan)"
BUILD_DIR=build-asan BUILD_TYPE=Debug bash scripts/build.sh -DLG_BUILD_TESTS=ON -DLG_SANITIZE=ON
echo "== tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure --no-tests=error -j"$jobs")

# libFuzzer over every parser of untrusted bytes: clang build in build-fuzz/,
# each target for a bounded time (FUZZ_SECONDS, 20 by default).
echo "== fuzz (libFuzzer + ASan + UBSan, clang)"
FUZZ_PARALLEL=${FUZZ_PARALLEL:-$jobs} bash scripts/fuzz.sh

# ThreadSanitizer over the whole suite, for the threaded parts: the loop and
# its cross-thread calls, the SRT bridge, the output and content-check
# workers, the C API's callbacks. The tests set TSAN_OPTIONS themselves
# (tests/CMakeLists.txt, suppressions in tests/tsan.supp) and stretch their
# deadlines for TSan's slowdown.
echo "== build (ThreadSanitizer)"
BUILD_DIR=build-tsan bash scripts/build.sh -DLG_BUILD_TESTS=ON -DLG_SANITIZE=OFF -DLG_TSAN=ON
echo "== tests under ThreadSanitizer"
(cd build-tsan && ctest --output-on-failure --no-tests=error -j"$jobs")
