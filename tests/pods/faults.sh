#!/usr/bin/env bash
# Fault-injection suite: a 3-pod chatd cluster (tests/pods/pods.sh: network
# namespaces, DNS discovery like a Kubernetes headless Service) under steady
# chat load, through these faults (docs/fault-tolerance.md describes them):
#   kill           SIGKILL a node; its clients resume on another node
#   restart        start the killed node again; it rejoins by DNS and pulls history
#   actor-crash    crash the chat server actor (not the process); the supervisor restarts it
#   partition      cut one node's network for a while, then heal; histories merge
#   rolling        SIGTERM one node at a time, start it again
#   kill-inflight  SIGKILL a node right after bursts of messages: nothing acked may be lost
#   kill-all       SIGKILL every node at once, start them again on their data directories
#                  (first cut off, each reading only its own disk; then all at once)
# Every pod's node keeps its history in $PODS_STATE/pods/I/data (--data-dir), kept
# across its restarts, as in production; PODS_DATA_DIR=0 runs them memory only.
# The scenarios are a Node.js runner (tests/pods/faults/run.mjs, npm `ws`).
# Writes build/fault-report.md (+ .json), prints it, and ends with the line
# "N passed, M failed" (N, M: checks); exits non-zero when a check failed.
#
# Needs root. Every wait is bounded; `pods.sh down` runs on any exit and the
# pods' state directory (node logs) is kept only when something failed.
#
# environment:
#   CHATD_BIN            node binary (default build/chatd)
#   FAULTS_ONLY          comma-separated scenarios to run (default: all)
#   FAULTS_REPORT        report path (default build/fault-report.md)
#   FAULTS_KEEP_STATE=1  keep the pods' state directory (logs) even on success
#   FAULTS_TIMEOUT_S     bound of the whole runner (default 780)
#   FAULTS_RATE          messages per second per client (default 3)
#   FAULTS_DEBUG=1       print intermediate states while waiting
#   PODS_DATA_DIR        auto (default: a data dir when the node binary has --data-dir), 1, or 0
set -uo pipefail
result=
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
pods="$here/pods.sh"
suite="$here/faults"

say() { echo "faults: $*"; }
give_up() { say "$*"; result=1; echo "0 passed, 1 failed"; exit 1; }

[ "$(id -u)" -eq 0 ] || give_up "needs root (network namespaces)"
export CHATD_BIN=${CHATD_BIN:-$repo/build/chatd}
[ -x "$CHATD_BIN" ] || give_up "no node binary at $CHATD_BIN (build it: scripts/build.sh --target chatd)"
command -v node >/dev/null 2>&1 || give_up "node (Node.js >= 20) is not installed (scripts/install-deps.sh test)"
command -v npm >/dev/null 2>&1 || give_up "npm is not installed"

# npm dependencies (ws), exactly as locked.
if ! (cd "$suite" && npm ci --no-audit --no-fund --silent >/dev/null 2>&1); then
  [ -f "$suite/node_modules/ws/package.json" ] || give_up "npm ci in $suite failed"
  say "npm ci failed; using the ws already installed in $suite/node_modules"
fi

# Our own directory: the pods' state (pid files, node logs) and the runner's output.
work=$(mktemp -d /tmp/chatfaults.XXXXXX)
export PODS_STATE=$work/state
export PODS_STOP_TIMEOUT=${PODS_STOP_TIMEOUT:-15}
export FAULTS_REPORT=${FAULTS_REPORT:-$repo/build/fault-report.md}
runner_pid=
cleaned=0
upped=0

cleanup() {
  [ "$cleaned" = 1 ] && return 0
  cleaned=1
  if [ -n "$runner_pid" ] && kill -0 "$runner_pid" 2>/dev/null; then
    kill -TERM "$runner_pid" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$runner_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$runner_pid" 2>/dev/null || true
  fi
  [ "$upped" = 1 ] && { "$pods" down >/dev/null 2>&1 || say "pods.sh down failed"; }
  if [ "${result:-1}" = 0 ] && [ -z "${FAULTS_KEEP_STATE:-}" ]; then
    rm -rf "$work"
  else
    say "node logs kept in $PODS_STATE/pods/I/log, runner output in $work/runner.out"
  fi
}
on_exit() {
  local rc=$?
  cleanup
  # A run cut short (signal, time-out) still ends with the summary line.
  [ -n "$result" ] || echo "0 passed, 1 failed"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Another pod cluster on this machine (same bridge and namespace names)?
# Give a concurrent run time to end, then take the leftover down.
if ip link show chatbr0 >/dev/null 2>&1; then
  say "a pod cluster is up (chatbr0 exists); waiting up to 60 s for it to go"
  for _ in $(seq 1 120); do ip link show chatbr0 >/dev/null 2>&1 || break; sleep 0.5; done
  if ip link show chatbr0 >/dev/null 2>&1; then
    say "still there: taking it down first"
    PODS_STATE=$work/stale "$pods" down >/dev/null 2>&1 || true
  fi
fi

upped=1
"$pods" up 3 >"$work/up.log" 2>&1 || { cat "$work/up.log"; give_up "pods.sh up 3 failed"; }

# The runner in the background, so that a signal reaches this script's trap
# at once (bash runs traps only between foreground commands).
out="$work/runner.out"
: >"$out"
timeout --kill-after=10 "${FAULTS_TIMEOUT_S:-780}" node "$suite/run.mjs" >"$out" 2>&1 &
runner_pid=$!
tail -n +1 -f --pid="$runner_pid" "$out" 2>/dev/null &
tail_pid=$!
wait "$runner_pid"
rc=$?
runner_pid=
wait "$tail_pid" 2>/dev/null
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)
if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]}
else
  passed=0 failed=1
  say "the runner ended without a result (exit $rc)"
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; say "the runner exited with $rc"; fi
result=1
[ "$failed" -eq 0 ] && result=0
cleanup
echo "$passed passed, $failed failed"
[ "$result" = 0 ]
