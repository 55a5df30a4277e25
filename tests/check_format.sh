#!/usr/bin/env bash
# Every C and C++ file in the tree is clang-formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files -- '*.c' '*.cpp' '*.h' 2>/dev/null || find include lib examples tests bench -name '*.[ch]' -o -name '*.cpp')
clang-format --dry-run -Werror $files
echo "formatted: $(echo "$files" | wc -w) files"
