#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (build-fuzz/,
# LG_FUZZ=ON: ASan + UBSan + libFuzzer) and fuzzes each for FUZZ_SECONDS
# seconds, starting from a temporary copy of its seed corpus and regression
# inputs (the repository is never written to).
#
#   bash scripts/fuzz.sh                           # every target, 20 s each (CI)
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh chunk session   # a longer run
#   FUZZ_PARALLEL=2 FUZZ_SECONDS=600 bash scripts/fuzz.sh # two targets at a time
#
# Exits non-zero if any target finds a crash, leak, timeout or out-of-memory,
# printing the reproducer. To reproduce: build-fuzz/tests/fuzz/fuzz_TARGET FILE
# (or, in any gcc build, the same file through the ctest "fuzz:" driver once
# it is in tests/fuzz/regressions/TARGET/). FUZZ_KEEP=1 keeps the work
# directory, whose corpus/TARGET holds the inputs the run found.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

seconds=${FUZZ_SECONDS:-20}
parallel=${FUZZ_PARALLEL:-1}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
all_targets=(handshake chunk amf0 session flv h264 hevc aac ts_demux srt_stream_id url admin_body)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

# -max_len and dictionary per target.
max_len() {
  case "$1" in
    aac) echo 256 ;;
    srt_stream_id) echo 640 ;;
    amf0 | handshake | h264 | hevc | url | admin_body) echo 4096 ;;
    flv) echo 8192 ;;
    ts_demux) echo 12034 ;;  # 64 packets and the control bytes
    *) echo 16384 ;;
  esac
}
dict() {
  case "$1" in
    chunk | session | amf0 | flv) echo tests/fuzz/rtmp.dict ;;
    h264 | hevc | aac | ts_demux) echo tests/fuzz/media.dict ;;
    srt_stream_id | url | admin_body) echo tests/fuzz/url.dict ;;
    *) echo "" ;;
  esac
}

echo "== fuzz: build ($build_dir, clang, LG_FUZZ=ON)"
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DLG_FUZZ=ON -DLG_BUILD_TESTS=OFF \
    -DLG_BUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build_dir" --target fuzz_all -j"${FUZZ_BUILD_JOBS:-2}"

work=$(mktemp -d "${TMPDIR:-/tmp}/livegate-fuzz.XXXXXX")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {
  local t=$1
  local corpus="$work/corpus/$t" artifacts="$work/artifacts/$t/" log="$work/$t.log"
  mkdir -p "$corpus" "$artifacts"
  cp -r tests/fuzz/corpus/"$t"/. "$corpus"/ 2>/dev/null || true
  if [[ -d tests/fuzz/regressions/$t ]]; then cp -r tests/fuzz/regressions/"$t"/. "$corpus"/; fi
  local args=(-max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048
    -print_final_stats=1 -artifact_prefix="$artifacts")
  local d
  d=$(dict "$t")
  [[ -n $d ]] && args+=(-dict="$d")
  if "$build_dir/tests/fuzz/fuzz_$t" "${args[@]}" "$corpus" >"$log" 2>&1; then
    local last units
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE '^#[0-9]+|cov: [0-9]+|ft: [0-9]+' | tr '\n' ' ')
    units=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    echo "fuzz: $t ok: executions ${units:-?}, ${last}"
  else
    echo "fuzz: $t FAILED; log $log" >&2
    grep -E 'ERROR|SUMMARY|runtime error|fuzz check failed|Test unit written' "$log" | head -n 20 >&2
    for f in "$artifacts"*; do [[ -e $f ]] && echo "fuzz: reproducer $f" >&2; done
    return 1
  fi
}

status=0
pids=()
for t in "${targets[@]}"; do
  [[ -f tests/fuzz/fuzz_$t.cpp ]] || { echo "fuzz: no target '$t'" >&2; exit 2; }
  echo "== fuzz: $t (${seconds}s)"
  run_one "$t" &
  pids+=($!)
  if ((${#pids[@]} >= parallel)); then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done

if ((status)) || [[ ${FUZZ_KEEP:-0} == 1 ]]; then
  echo "fuzz: work directory kept: $work" >&2
else
  rm -rf "$work"
fi
exit $status
