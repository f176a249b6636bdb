#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/, clang, ASan+UBSan) into
# build-fuzz/ and runs each over its seed corpus, then writes a summary to
# build-fuzz/fuzz-report.md and ends with "N passed, M failed" (a harness
# fails when it finds a crash, a sanitizer report or a broken invariant).
#   FUZZ_RUNS=N        executions per harness (default 10000000)
#   FUZZ_SECONDS=S     time bound per harness (default 1800)
#   FUZZ_HARNESSES="wire http"   which ones (default: all)
# New corpus entries go to a temporary directory, never into the repository;
# a finding is saved as build-fuzz/findings/<harness>-crash-<sha1> and can be
# replayed with: build-fuzz/tests/fuzz/<harness>_fuzz <that file>
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${FUZZ_RUNS:-10000000}
secs=${FUZZ_SECONDS:-1800}
harnesses=${FUZZ_HARNESSES:-wire upgrade token endpoint config http profile history_query}
build=build-fuzz
report=$build/fuzz-report.md

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DCHAT_FUZZ=ON \
  "${launcher[@]}" >/dev/null || { echo "fuzz: configure failed"; echo "0 passed, 1 failed"; exit 1; }
cmake --build "$build" -j"$(nproc)" >/dev/null || { echo "fuzz: build failed"; echo "0 passed, 1 failed"; exit 1; }

# Longest input worth trying per harness: a bit past each parser's limits
# (4000-character texts, 8 KiB HTTP headers, a 140-character status written
# as 12-byte JSON escapes, a 128-byte id percent-encoded) without slowing
# the search.
max_len() {
  case $1 in
    wire) echo 8192 ;; http) echo 12288 ;; upgrade) echo 2048 ;;
    token) echo 1024 ;; config) echo 1024 ;; endpoint) echo 256 ;;
    profile) echo 4096 ;; history_query) echo 1024 ;; *) echo 4096 ;;
  esac
}

work=$(mktemp -d /tmp/chat-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/findings"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

pass=0
fail=0
{
  echo "# Fuzzing report"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(clang++ --version | head -1), per harness: up to $runs executions or ${secs} s."
  echo
  echo "| harness | executions | exec/s | seconds | coverage (edges) | features | corpus | findings |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$report"

for h in $harnesses; do
  bin=$build/tests/fuzz/${h}_fuzz
  log=$build/fuzz-$h.log
  mkdir -p "$work/$h"
  dict=()
  [ -f "tests/fuzz/$h.dict" ] && dict=(-dict="tests/fuzz/$h.dict")
  echo "== fuzz $h: up to $runs runs, ${secs}s"
  start=$(date +%s)
  timeout --kill-after=10 $((secs + 60)) "$bin" -runs="$runs" -max_total_time="$secs" -max_len="$(max_len "$h")" \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$build/findings/$h-" "${dict[@]}" \
    "$work/$h" "tests/fuzz/corpus/$h" >"$log" 2>&1
  rc=$?
  elapsed=$(($(date +%s) - start))
  execs=$(grep -oP 'stat::number_of_executed_units:\s*\K\d+' "$log" | tail -1)
  rate=$(grep -oP 'stat::average_exec_per_sec:\s*\K\d+' "$log" | tail -1)
  cov=$(grep -oP '^#\d+\s+\S+\s+cov: \K\d+' "$log" | tail -1)
  ft=$(grep -oP '^#\d+\s+\S+\s+cov: \d+ ft: \K\d+' "$log" | tail -1)
  corp=$(grep -oP '^#\d+\s+\S+\s+cov: \d+ ft: \d+ corp: \K\d+' "$log" | tail -1)
  findings=$(grep -oP 'Test unit written to \K\S+' "$log" | tr '\n' ' ')
  if [ "$rc" -ne 0 ] || [ -n "$findings" ]; then
    fail=$((fail + 1))
    what=$(grep -m1 -E 'ERROR: |runtime error|invariant failed' "$log" | cut -c1-160)
    result="FOUND (exit $rc): ${what:-see $log} ${findings}"
    echo "== fuzz $h: $result"
    tail -40 "$log"
  else
    pass=$((pass + 1))
    result="none"
  fi
  echo "| $h | ${execs:-?} | ${rate:-?} | $elapsed | ${cov:-?} | ${ft:-?} | ${corp:-?} | $result |" >>"$report"
  echo "== fuzz $h: ${execs:-?} executions, ${rate:-?}/s, cov ${cov:-?}, findings: $result"
done

echo >>"$report"
echo "$pass passed, $fail failed" >>"$report"
echo "report: $report"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
