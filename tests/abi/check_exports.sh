#!/usr/bin/env bash
# The shared library exports only lg_* functions and carries its SONAME.
set -euo pipefail
lib=$1
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
if [ "$soname" != "liblivegate.so.0" ]; then
  echo "SONAME is '$soname', expected liblivegate.so.0"; exit 1
fi
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^lg_' | grep -v '^LIVEGATE_' || true)
if [ -n "$bad" ]; then
  echo "symbols exported that are not lg_*:"; echo "$bad" | head -20; exit 1
fi
count=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^lg_')
echo "exports: $count lg_* symbols, SONAME $soname"
[ "$count" -gt 20 ]
