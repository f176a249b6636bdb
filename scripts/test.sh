#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite:
#   format (clang-format over our C++), layers (no upward #include between
#   the layers of src/), unit (doctest), integration (real
#   nodes, real WebSocket clients), browser (headless Chromium), k8s
#   (manifest validation),
#   pods (the pod-like cluster tool itself) and faults (fault injection
#   on it; both need root for network namespaces), install (the install
#   script on Debian's own Node 18; root, for a mount namespace).
# Sanitizers (docs/security.md): unit-asan (unit tests under ASan+UBSan,
# build-asan/), unit-tsan (the actor tests under TSan, build-tsan/) and fuzz
# (each libFuzzer harness briefly over its corpus); integration, browser, pods
# and faults run the ASan+UBSan chatd and fail on any sanitizer report a node
# wrote (SANITIZE=0: the release chatd instead).
# SUITES="unit integration" limits the run. Ends with "N passed, M failed,
# K suite(s) skipped", the skipped ones named on the line before.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# The unit tests run once, under ASan+UBSan (unit-asan); `unit` (the release
# build's) stays selectable.
suites=${SUITES:-format layers unit-asan integration unit-tsan fuzz browser k8s pods faults install}
total_pass=0
total_fail=0
failed_suites=()
skipped_suites=()

skip() { # suite why
  skipped_suites+=("$1 ($2)")
  echo "== $1: skipped ($2)"
}

count() { # suite pass fail
  total_pass=$((total_pass + $2))
  total_fail=$((total_fail + $3))
  if [ "$3" -gt 0 ]; then failed_suites+=("$1"); fi
  echo "== $1: $2 passed, $3 failed"
}

# Runs a suite's command with a time bound, keeps its output, and extracts
# the counts with the given sed expressions for passed and failed.
run_suite() { # name timeout pass_regex fail_regex cmd...
  local name=$1 limit=$2 pass_re=$3 fail_re=$4
  shift 4
  local log="build/test-$name.log"
  echo "== $name: $*"
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -oP "$pass_re" "$log" | tail -1)
  f=$(grep -oP "$fail_re" "$log" | tail -1)
  p=${p:-0}
  f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "== $name exited with $rc"; fi
  count "$name" "$p" "$f"
}

scripts/install-deps.sh test || { echo "dependency install failed"; exit 1; }
mkdir -p build
has_suite() { [[ " $suites " == *" $1 "* ]]; }

# Every suite that starts nodes runs them from one build: the ASan+UBSan one
# (docs/security.md), so a memory error anywhere a test reaches fails the run,
# and CI compiles the node once. UBSan halts on its first report (built with
# -fno-sanitize-recover=all); reports inside CAF and the other system
# libraries are suppressed by library in tests/sanitizers/. SANITIZE=0 runs
# them against the release build instead; `unit` always uses it.
san=$root/tests/sanitizers
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$san/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$san/tsan.supp"
chatd_bin=""
tools_dir=""
if [ "${SANITIZE:-1}" = 1 ]; then
  if time scripts/sanitize-build.sh asan; then
    chatd_bin=$root/build-asan/chatd
    tools_dir=$root/build-asan
  else
    echo "== asan build failed: the suites run against the release build"
    count asan-build 0 1
  fi
fi
release_targets=()
if has_suite unit; then
  release_targets=(--target all)
elif [ -z "$chatd_bin" ]; then
  release_targets=(--target chatd rogue_chat rogue_node)
fi
if ((${#release_targets[@]})); then
  time BUILD_BENCH=OFF scripts/build.sh "${release_targets[@]}" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
fi
chatd_bin=${chatd_bin:-$root/build/chatd}
tools_dir=${tools_dir:-$root/build}
if has_suite unit-tsan; then
  time scripts/sanitize-build.sh tsan || count tsan-build 0 1
fi

# Nodes write sanitizer reports to files (a node's stderr is its log): after
# each suite that started nodes, any report fails it as SUITE-sanitizers.
reports=$root/build/sanitizer-reports
rm -rf "$reports" && mkdir -p "$reports"
node_env=(CHATD_BIN="$chatd_bin" TOOLS_DIR="$tools_dir"
  ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:quarantine_size_mb=16"
  UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$reports/ubsan")
check_reports() { # suite
  if compgen -G "$reports/*" >/dev/null; then
    local files=("$reports"/*)
    head -50 "${files[@]}"
    mkdir -p "$reports.$1" && mv "${files[@]}" "$reports.$1/"
    count "$1-sanitizers" 0 "${#files[@]}"
  fi
}

for s in $suites; do
  case $s in
    format)
      run_suite format 120 '\d+(?= passed, \d+ failed)' '(?<=passed, )\d+(?= failed)' scripts/check-format.sh ;;
    layers)
      run_suite layers 60 '\d+(?= passed, \d+ failed)' '(?<=passed, )\d+(?= failed)' scripts/check-layers.sh --self-test ;;
    unit)
      run_suite unit 300 'test cases:\s+\d+ \|\s+\K\d+(?= passed)' 'test cases:.*?\K\d+(?= failed)' \
        build/tests/unit_tests ;;
    unit-asan)
      [ -x build-asan/tests/unit_tests ] || continue
      run_suite unit-asan 600 'test cases:\s+\d+ \|\s+\K\d+(?= passed)' 'test cases:.*?\K\d+(?= failed)' \
        build-asan/tests/unit_tests ;;
    unit-tsan)
      [ -x build-tsan/tests/unit_tests_actors ] || continue
      run_suite unit-tsan 600 'test cases:\s+\d+ \|\s+\K\d+(?= passed)' 'test cases:.*?\K\d+(?= failed)' \
        build-tsan/tests/unit_tests_actors ;;
    fuzz)
      # Short: each harness 8 s over its corpus; scripts/fuzz.sh alone runs long.
      run_suite fuzz 600 '\d+(?= passed, \d+ failed)' '(?<=passed, )\d+(?= failed)' \
        env FUZZ_SECONDS="${FUZZ_SECONDS:-8}" FUZZ_RUNS="${FUZZ_RUNS:-100000000}" scripts/fuzz.sh ;;
    integration)
      (cd tests/integration && npm ci --no-audit --no-fund --silent) >/dev/null 2>&1
      run_suite integration 900 '(?<=^# pass )\d+' '(?<=^# fail )\d+' \
        env "${node_env[@]}" npm --prefix tests/integration test --silent
      check_reports integration ;;
    browser)
      if [ ! -d tests/browser ]; then
        skip browser "no tests/browser"
      else
        (cd tests/browser && npm ci --no-audit --no-fund --silent) >/dev/null 2>&1
        run_suite browser 600 '(?<=^# pass )\d+' '(?<=^# fail )\d+' \
          env "${node_env[@]}" npm --prefix tests/browser test --silent
        check_reports browser
      fi ;;
    k8s)
      if [ ! -x tests/k8s/validate.sh ]; then
        skip k8s "no tests/k8s/validate.sh"
      else
        run_suite k8s 300 '\d+(?= passed, \d+ failed)' '(?<=passed, )\d+(?= failed)' tests/k8s/validate.sh
      fi ;;
    pods)
      if [ "$(id -u)" -ne 0 ]; then
        skip pods "needs root for network namespaces"
      else
        run_suite pods 300 '\d+(?= passed, \d+ failed)' '(?<=passed, )\d+(?= failed)' \
          env "${node_env[@]}" tests/pods/selftest.sh
        check_reports pods
      fi ;;
    faults)
      if [ "$(id -u)" -ne 0 ]; then
        skip faults "needs root for network namespaces"
      elif [ ! -x tests/pods/faults.sh ]; then
        skip faults "no tests/pods/faults.sh"
      else
        run_suite faults 900 '\d+(?= passed, \d+ failed)' '(?<=passed, )\d+(?= failed)' \
          env "${node_env[@]}" tests/pods/faults.sh
        check_reports faults
      fi ;;
    install)
      if [ "$(id -u)" -ne 0 ]; then
        skip install "needs root for a mount namespace"
      else
        run_suite install 600 '\d+(?= passed, \d+ failed)' '(?<=passed, )\d+(?= failed)' tests/install/debian12.sh
      fi ;;
  esac
done

echo
[ ${#failed_suites[@]} -eq 0 ] || echo "failed suites: ${failed_suites[*]}"
[ ${#skipped_suites[@]} -eq 0 ] || echo "skipped suites: ${skipped_suites[*]}"
echo "$total_pass passed, $total_fail failed, ${#skipped_suites[@]} suite(s) skipped"
[ "$total_fail" -eq 0 ]
