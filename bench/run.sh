#!/usr/bin/env bash
# Runs chat benchmark scenarios: chatd beside the floor and beside the
# reference a user would pick instead (Socket.IO 4 + Redis adapter,
# bench/socketio/), in the same run, repeated, medians. See docs/benchmarks.md.
#
#   bench/run.sh scenario1        one room of 600 clients over 3 nodes, 6 senders, 60 msg/s
#   bench/run.sh scenario1-1node  the same on one node
#   bench/run.sh scenario2        1200 clients in 120 rooms of 10 over 3 nodes, 600 msg/s
#   bench/run.sh scenario2-1node  the same on one node
#   bench/run.sh scenario3        20 000 idle connections on one node: RSS per connection
#   bench/run.sh scenario4        node-to-node messages per fan-out, rooms on 3, 2 and 1 nodes
#   bench/run.sh sweep            scenario 1's shape at several rates (the plot's data)
#   bench/run.sh ceiling          the highest deliveries/s each server sustains (p99 <= 50 ms,
#                                 not falling behind), scenario 1's and scenario 2's shapes
#   bench/run.sh store            scenario 1 with history in memory, on disk (--data-dir) and on
#                                 disk with --fsync 1: what the store costs per delivery
#   bench/run.sh restart          time to /readyz 200 of a node whose store holds ROOMS rooms of
#                                 PER_ROOM messages (default 1000 x 10000), alone and beside a peer
#   bench/run.sh all              every one of the above, then bench/plot.sh
#
# Environment: REPS (runs per variant, default 3; scenario3/4 and sweep: 1; scenario3 starts a fresh node per run),
# WARMUP (s, 3), DURATION (s, 7), NODES (scenario1/2: 3), SWEEP_RATES
# ("15 30 60 90 120"), LOADGEN_THREADS (1), HTTP_BASE (28080), ADMIN_BASE (28180), CLUSTER_BASE
# (29100), FLOOR_PORT (28090), IDLE_CLIENTS (20000), CHATD (build/chatd),
# SKIP_BUILD=1 to use what is built, RESULTS (bench/results), REFERENCE (1: run
# the Socket.IO reference in scenarios 1, 2, sweep and ceiling; 0: skip it),
# SIO_BASE (28300), REDIS_PORT (28379), CEILING_RATES_BIG / CEILING_RATES_SMALL
# (msg/s steps), CEILING_WARMUP (2), CEILING_DURATION (5), ROOMS / PER_ROOM
# (restart), DATA_TMP (where the store scenarios put node data, default a
# fresh directory under /tmp, removed at the end).
#
# Everything listens on 127.0.0.1 only. Every process this script starts is
# stopped by PID when it ends (also on Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

REPS_SET=${REPS:-}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-7}
HTTP_BASE=${HTTP_BASE:-28080}
ADMIN_BASE=${ADMIN_BASE:-28180}
CLUSTER_BASE=${CLUSTER_BASE:-29100}
FLOOR_PORT=${FLOOR_PORT:-28090}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
SWEEP_RATES=${SWEEP_RATES:-15 30 60 90 120}
IDLE_CLIENTS=${IDLE_CLIENTS:-20000}
REFERENCE=${REFERENCE:-1}
SIO_BASE=${SIO_BASE:-28300}
REDIS_PORT=${REDIS_PORT:-28379}
CEILING_RATES_BIG=${CEILING_RATES_BIG:-15 30 45 68 100 150 225 340 500 750 1100}
CEILING_RATES_SMALL=${CEILING_RATES_SMALL:-600 900 1350 2000 3000 4500 6750 10000 15000 22500}
CEILING_WARMUP=${CEILING_WARMUP:-2}
CEILING_DURATION=${CEILING_DURATION:-5}
SIO_DIR=$root/bench/socketio
CHATD=${CHATD:-$root/build/chatd}
BENCH_BIN=${BENCH_BIN:-$root/build-bench}
RESULTS=${RESULTS:-$root/bench/results}
LOADGEN=$BENCH_BIN/chat_loadgen
FLOOR=$BENCH_BIN/chat_floor
REPORT=$BENCH_BIN/chat_bench_report

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# -- processes ---------------------------------------------------------------------

node_pids=()
NODE_FLAGS=()
NODE_DATA=""
data_tmp=""
floor_pid=""
ref_pids=() # the Socket.IO processes, then redis-server
all_pids=()

# forget_pids PID...: takes stopped processes off the list the exit trap stops.
forget_pids() {
  local keep=() p q
  for p in "${all_pids[@]}"; do
    for q in "$@"; do [[ $p == "$q" ]] && continue 2; done
    keep+=("$p")
  done
  all_pids=("${keep[@]}")
}

stop_pids() {
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for _ in $(seq 1 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}

probe_event=""

cleanup() {
  trap - EXIT INT TERM
  if ((${#all_pids[@]})); then stop_pids "${all_pids[@]}"; fi
  probe_remove
  if [[ -n $data_tmp && -z ${DATA_TMP:-} ]]; then rm -rf "$data_tmp"; fi
}

# A uprobe on chat::protocol::message_frame counts how often chatd encodes a
# message frame (scenario 4: "a broadcast frame encoded once per message").
# Needs perf with uprobe support; without it the count is skipped.
probe_add() {
  local sym
  sym=$(nm "$CHATD" 2>/dev/null | awk '$2 == "T" && $3 ~ /8protocol13message_frame/ && !done {print $3; done = 1}') || true
  if [[ -n $sym ]] && perf probe -q -x "$CHATD" -a "benchprobe:msgframe=$sym" >/dev/null 2>&1; then
    probe_event=benchprobe:msgframe
  else
    log "no uprobe on message_frame (perf probe failed): frame encodes are not counted"
  fi
}

probe_remove() {
  if [[ -n $probe_event ]]; then perf probe -q -d "$probe_event" >/dev/null 2>&1 || true; fi
  probe_event=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { [[ -z $(ss -ltnH "sport = :$1" 2>/dev/null) ]]; }

build() {
  if [[ ${SKIP_BUILD:-0} == 1 ]]; then return; fi
  log "building chatd (scripts/build.sh) and the bench tools (build-bench/)"
  scripts/build.sh --target chatd >/dev/null
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF -DBUILD_BENCH=ON >/dev/null
  cmake --build build-bench -j"$(nproc)" --target chat_loadgen chat_floor chat_bench_report chat_store_fill >/dev/null
  if ((REFERENCE)); then
    log "installing the Socket.IO reference (npm ci in bench/socketio)"
    (cd "$SIO_DIR" && npm ci --no-audit --no-fund --silent) || die "npm ci failed in $SIO_DIR"
  fi
}

# start_nodes N LOGDIR: nodes 1..N on HTTP_BASE+i / CLUSTER_BASE+i, every one
# with the same static peer list; waits until each is ready and sees the others.
# With NODE_DATA set, node i keeps its history in NODE_DATA/nodeI; NODE_FLAGS
# (an array) adds flags to every node.
start_nodes() {
  local n=$1 logs=$2 i peers="" data=()
  node_pids=()
  for i in $(seq 1 "$n"); do
    port_free $((HTTP_BASE + i)) || die "port $((HTTP_BASE + i)) is in use (set HTTP_BASE)"
    port_free $((CLUSTER_BASE + i)) || die "port $((CLUSTER_BASE + i)) is in use (set CLUSTER_BASE)"
    port_free $((ADMIN_BASE + i)) || die "port $((ADMIN_BASE + i)) is in use (set ADMIN_BASE)"
    peers+="${peers:+,}127.0.0.1:$((CLUSTER_BASE + i))"
  done
  for i in $(seq 1 "$n"); do
    data=()
    [[ -n ${NODE_DATA:-} ]] && data=(--data-dir "$NODE_DATA/node$i")
    "$CHATD" --node-name "bench$i" --http-addr 127.0.0.1 --http-port $((HTTP_BASE + i)) \
      --cluster-addr 127.0.0.1 --cluster-port $((CLUSTER_BASE + i)) --advertise-addr 127.0.0.1 \
      --admin-addr 127.0.0.1 --admin-port $((ADMIN_BASE + i)) --peers "$peers" --discovery-interval-ms 500 \
      --rate-per-s 1000000 --burst 1000000 --max-queue-bytes 67108864 --max-rooms 1000 \
      "${data[@]}" "${NODE_FLAGS[@]}" --log-level warn >>"$logs/node$i.log" 2>&1 &
    node_pids+=($!)
    all_pids+=($!)
  done
  for i in $(seq 1 "$n"); do
    local url="http://127.0.0.1:$((HTTP_BASE + i))" admin="http://127.0.0.1:$((ADMIN_BASE + i))" ok=0
    for _ in $(seq 1 300); do
      if curl -fsS "$url/readyz" >/dev/null 2>&1 &&
        curl -fsS "$admin/metrics" 2>/dev/null | grep -q "^chat_cluster_peers $((n - 1))$" &&
        curl -fsS "$admin/metrics" 2>/dev/null | grep -q "^chat_group_members{group=\"chat_servers\"} $n$"; then
        ok=1
        break
      fi
      kill -0 "${node_pids[$((i - 1))]}" 2>/dev/null || die "node $i exited; see $logs/node$i.log"
      sleep 0.1
    done
    ((ok)) || die "node $i is not ready with $((n - 1)) peer(s) after 30 s; see $logs/node$i.log"
  done
  log "$n node(s) ready: pids ${node_pids[*]}"
}

stop_nodes() {
  if ((${#node_pids[@]})); then
    stop_pids "${node_pids[@]}"
    forget_pids "${node_pids[@]}"
  fi
  node_pids=()
}

start_floor() {
  local logs=$1
  port_free "$FLOOR_PORT" || die "port $FLOOR_PORT is in use (set FLOOR_PORT)"
  "$FLOOR" --addr 127.0.0.1 --port "$FLOOR_PORT" >"$logs/floor.log" 2>&1 &
  floor_pid=$!
  all_pids+=($!)
  for _ in $(seq 1 100); do
    ! port_free "$FLOOR_PORT" && return
    sleep 0.05
  done
  die "floor did not start; see $logs/floor.log"
}

stop_floor() {
  [[ -n $floor_pid ]] || return 0
  stop_pids "$floor_pid"
  forget_pids "$floor_pid"
  floor_pid=""
}

# start_reference N LOGDIR: one redis-server and N Socket.IO processes on
# SIO_BASE+i, as a user would deploy the reference (no-op with REFERENCE=0).
start_reference() {
  local n=$1 logs=$2 i ok
  ((REFERENCE)) || return 0
  command -v redis-server >/dev/null || die "no redis-server (scripts/install-deps.sh bench)"
  [[ -d $SIO_DIR/node_modules ]] || die "bench/socketio has no node_modules (run without SKIP_BUILD=1 once)"
  port_free "$REDIS_PORT" || die "port $REDIS_PORT is in use (set REDIS_PORT)"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$logs/redis.log" 2>&1 &
  local redis_pid=$!
  all_pids+=($redis_pid)
  for _ in $(seq 1 100); do ! port_free "$REDIS_PORT" && break; sleep 0.05; done
  ref_pids=()
  for i in $(seq 1 "$n"); do
    port_free $((SIO_BASE + i)) || die "port $((SIO_BASE + i)) is in use (set SIO_BASE)"
    PORT=$((SIO_BASE + i)) REDIS_URL="redis://127.0.0.1:$REDIS_PORT" NODE_NAME="sio$i" \
      node "$SIO_DIR/server.mjs" >"$logs/sio$i.log" 2>&1 &
    ref_pids+=($!)
    all_pids+=($!)
  done
  ref_pids+=($redis_pid)
  for i in $(seq 1 "$n"); do
    ok=0
    for _ in $(seq 1 200); do
      if curl -fsS "http://127.0.0.1:$((SIO_BASE + i))/healthz" >/dev/null 2>&1; then ok=1; break; fi
      sleep 0.05
    done
    ((ok)) || die "Socket.IO process $i did not start; see $logs/sio$i.log"
  done
  log "reference ready: $n Socket.IO process(es) + redis-server, pids ${ref_pids[*]}"
}

stop_reference() {
  ((${#ref_pids[@]})) || return 0
  stop_pids "${ref_pids[@]}"
  forget_pids "${ref_pids[@]}"
  ref_pids=()
}

node_endpoints() { local i s=""; for i in $(seq 1 "$1"); do s+="${s:+,}127.0.0.1:$((HTTP_BASE + i))"; done; echo "$s"; }
admin_endpoints() { local i s=""; for i in $(seq 1 "$1"); do s+="${s:+,}127.0.0.1:$((ADMIN_BASE + i))"; done; echo "$s"; }
sio_endpoints() { local i s=""; for i in $(seq 1 "$1"); do s+="${s:+,}127.0.0.1:$((SIO_BASE + i))"; done; echo "$s"; }
pid_list() { local IFS=,; echo "$*"; }

machine_info() {
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(hostname)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
    echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "kernel: $(uname -r)"
    echo "os: Debian $(cat /etc/debian_version 2>/dev/null)"
    echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "chatd: $(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet -- src 2>/dev/null || echo ' (src modified)')"
    echo "nofile: soft $(ulimit -Sn) hard $(ulimit -Hn)"
  } >"$1/machine.txt"
}

new_outdir() {
  local name=$1 dir
  dir="$RESULTS/$name-$(date +%Y%m%d-%H%M%S)"
  mkdir -p "$dir/logs"
  ln -sfn "$(basename "$dir")" "$RESULTS/$name-latest"
  machine_info "$dir"
  echo "$dir"
}

# fanout_set OUT VARIANT REP NODES LOADGEN_ARGS...: one chatd run, one floor
# run and (when it is running) one reference run, back to back; the order
# rotates with the repetition so that a slow drift of the machine's load does
# not always favour the same side.
fanout_set() {
  local out=$1 variant=$2 rep=$3 n=$4 who
  shift 4
  local order=(chat floor reference)
  ((${#ref_pids[@]})) || order=(chat floor)
  local k=${#order[@]} i
  for i in $(seq 0 $((k - 1))); do
    who=${order[$(((i + rep - 1) % k))]}
    case $who in
      chat) fanout_chat "$out" "$variant" "$rep" "$n" "$@" ;;
      floor) fanout_floor "$out" "$variant" "$rep" "$@" ;;
      reference) fanout_reference "$out" "$variant" "$rep" "$n" "$@" ;;
    esac
  done
}

fanout_chat() {
  local out=$1 variant=$2 rep=$3 n=$4 hook=()
  shift 4
  log "$variant rep $rep: chatd x$n"
  if [[ ${PERF:-0} == 1 ]]; then
    # Profiles the nodes over the measured window (the CPU figures of this run
    # then include perf's own cost: use them for the profile only).
    hook=(--on-window "perf record -q -F ${PERF_FREQ:-999} --call-graph dwarf,16384 -p $(pid_list "${node_pids[@]}") -o $out/perf-$variant-rep$rep.data -- sleep $DURATION >/dev/null 2>&1")
  fi
  local json="$out/$variant-rep$rep-chat.json" count=() csv="$out/$variant-rep$rep-encodes.csv"
  if [[ -n $probe_event ]]; then
    count=(perf stat -x, -e "$probe_event" -p "$(pid_list "${node_pids[@]}")" -o "$csv" --)
  fi
  "${count[@]}" "$LOADGEN" fanout "${hook[@]}" --endpoints "$(node_endpoints "$n")" --metrics "$(admin_endpoints "$n")" \
    --pids "$(pid_list "${node_pids[@]}")" --threads "$LOADGEN_THREADS" --warmup "$WARMUP" --duration "$DURATION" \
    --label chat --scenario "$variant" --room-prefix "r$rep-" --json "$json" "$@" ||
    log "$variant rep $rep: chatd run incomplete (see the JSON)"
  if [[ -n $probe_event && -s $csv && -s $json ]]; then
    # Calls of message_frame on every node over the whole run, per message sent.
    local n_enc
    n_enc=$(awk -F, '$3 ~ /msgframe/ {s += $1} END {print s + 0}' "$csv")
    jq --argjson n "$n_enc" '.frame_encodes = $n | .frame_encodes_per_message = (if .sent > 0 then $n / .sent else null end)' \
      "$json" >"$json.tmp" && mv "$json.tmp" "$json"
  fi
}

fanout_floor() {
  local out=$1 variant=$2 rep=$3
  shift 3
  log "$variant rep $rep: floor"
  "$LOADGEN" fanout --endpoints "127.0.0.1:$FLOOR_PORT" --pids "$floor_pid" --threads "$LOADGEN_THREADS" \
    --warmup "$WARMUP" --duration "$DURATION" --label floor --scenario "$variant" --room-prefix "r$rep-" \
    --json "$out/$variant-rep$rep-floor.json" "$@" ||
    log "$variant rep $rep: floor run incomplete (see the JSON)"
}

fanout_reference() {
  local out=$1 variant=$2 rep=$3 n=$4
  shift 4
  log "$variant rep $rep: Socket.IO x$n + redis"
  "$LOADGEN" fanout --protocol socketio --endpoints "$(sio_endpoints "$n")" --pids "$(pid_list "${ref_pids[@]}")" \
    --threads "$LOADGEN_THREADS" --warmup "$WARMUP" --duration "$DURATION" --label socketio --scenario "$variant" \
    --room-prefix "r$rep-" --json "$out/$variant-rep$rep-socketio.json" "$@" ||
    log "$variant rep $rep: reference run incomplete (see the JSON)"
}

report() {
  local out=$1
  "$REPORT" --out "$out/summary.json" --md "$out/table.md" --dat "$out/plot.dat" --ceiling-dat "$out/ceiling.dat" \
    "$out"/*-rep*-*.json
  log "results in $out"
}

# -- scenarios ----------------------------------------------------------------------------

# fanout_scenario NAME NODES REPS LOADGEN_ARGS...
fanout_scenario() {
  local name=$1 n=$2 reps=$3 out variant r
  shift 3
  variant="$name-${n}n"
  out=$(new_outdir "$variant")
  start_nodes "$n" "$out/logs"
  start_floor "$out/logs"
  start_reference "$n" "$out/logs"
  for r in $(seq 1 "$reps"); do fanout_set "$out" "$variant" "$r" "$n" "$@"; done
  stop_reference
  stop_floor
  stop_nodes
  report "$out"
}

scenario1() { fanout_scenario scenario1 "${NODES:-3}" "${REPS_SET:-3}" --clients 600 --rooms 1 --senders 6 --rate 60; }
scenario1_1node() { NODES=1 scenario1; }
scenario2() {
  fanout_scenario scenario2 "${NODES:-3}" "${REPS_SET:-3}" --clients 1200 --rooms 120 --senders 120 --rate 600
}
scenario2_1node() { NODES=1 scenario2; }

scenario3() {
  local out reps=${REPS_SET:-1} r hard
  out=$(new_outdir scenario3)
  # One process per 10 000 clients; the node needs one descriptor per
  # connection: raise the soft limit to the hard one (we may not go higher).
  hard=$(ulimit -Hn)
  ulimit -n "$hard"
  # A fresh process per rep: one that held connections before reuses what
  # they freed, and would show almost nothing per connection.
  for r in $(seq 1 "$reps"); do
    start_nodes 1 "$out/logs"
    log "scenario3 rep $r: chatd, $IDLE_CLIENTS idle connections"
    "$LOADGEN" idle --endpoints "127.0.0.1:$((HTTP_BASE + 1))" --pids "${node_pids[0]}" --clients "$IDLE_CLIENTS" \
      --procs 2 --room-size 10 --src-base 2 --src-count 50 --inflight 500 --label chat --scenario scenario3-1n \
      --room-prefix "idle$r-" --json "$out/scenario3-1n-rep$r-chat.json" || log "scenario3: chatd run incomplete"
    stop_nodes
    sleep 2
    start_floor "$out/logs"
    log "scenario3 rep $r: floor"
    "$LOADGEN" idle --endpoints "127.0.0.1:$FLOOR_PORT" --pids "$floor_pid" --clients "$IDLE_CLIENTS" \
      --procs 2 --room-size 10 --src-base 2 --src-count 50 --inflight 500 --label floor --scenario scenario3-1n \
      --room-prefix "idle$r-" --json "$out/scenario3-1n-rep$r-floor.json" || log "scenario3: floor run incomplete"
    stop_floor
    sleep 2
  done
  report "$out"
}

scenario4() {
  local out reps=${REPS_SET:-1} r placement
  out=$(new_outdir scenario4)
  probe_add
  start_nodes 3 "$out/logs"
  start_floor "$out/logs"
  for r in $(seq 1 "$reps"); do
    for placement in spread pair local; do
      fanout_set "$out" "scenario4-$placement" "$r" 3 --clients 300 --rooms 30 --senders 30 --rate 150 \
        --placement "$placement" --room-prefix "p$placement$r-"
    done
  done
  stop_floor
  stop_nodes
  probe_remove
  report "$out"
}

sweep() {
  local out reps=${REPS_SET:-1} r rate n=${NODES:-3}
  out=$(new_outdir sweep)
  start_nodes "$n" "$out/logs"
  start_floor "$out/logs"
  start_reference "$n" "$out/logs"
  for r in $(seq 1 "$reps"); do
    for rate in $SWEEP_RATES; do
      fanout_set "$out" "sweep-$(printf %04d "$rate")" "$r" "$n" --clients 600 --rooms 1 --senders 6 --rate "$rate" \
        --room-prefix "s$rate-$r-"
    done
  done
  stop_reference
  stop_floor
  stop_nodes
  report "$out"
}

# sustained JSON: the run kept p99 within 50 ms, did not fall behind the
# offered rate (95 %) and lost nothing.
sustained() {
  jq -e '(.latency_us.p99 // 1e12) <= 50000 and (.window.deliveries_per_s // 0) >= 0.95 * (.window.offered_deliveries_per_s // 1e12) and (.lost // 1) == 0' \
    "$1" >/dev/null 2>&1
}

# ceiling_family OUT FAMILY NODES "RATES" LOADGEN_ARGS...: for each server,
# one run per rate, rising, until the first that is not sustained.
ceiling_family() {
  local out=$1 family=$2 n=$3 rates=$4 who rate variant json
  shift 4
  # Shorter runs than the scenarios': a search takes many steps.
  local WARMUP=$CEILING_WARMUP DURATION=$CEILING_DURATION
  local servers=(chat floor)
  ((${#ref_pids[@]})) && servers+=(socketio)
  for who in "${servers[@]}"; do
    for rate in $rates; do
      variant="$family-ceil$(printf %05d "$rate")"
      local args=("$@" --rate "$rate" --room-prefix "$who$rate-")
      case $who in
        chat) fanout_chat "$out" "$variant" 1 "$n" "${args[@]}" ;;
        floor) fanout_floor "$out" "$variant" 1 "${args[@]}" ;;
        socketio) fanout_reference "$out" "$variant" 1 "$n" "${args[@]}" ;;
      esac
      json="$out/$variant-rep1-$who.json"
      [[ -s $json ]] && jq --arg f "$family" '.ceiling = $f' "$json" >"$json.tmp" && mv "$json.tmp" "$json"
      if ! sustained "$json"; then
        log "ceiling $family: $who stops at $rate msg/s"
        break
      fi
    done
  done
}

# The store's cost: scenario 1 against nodes with history in memory, on disk
# and on disk with --fsync 1, in one run (the floor beside them), the order
# of the three rotating from one rep to the next.
store() {
  local out n=${NODES:-3} reps=${REPS_SET:-3} r i k mode modes=(memory disk fsync) args
  args=(--clients 600 --rooms 1 --senders 6 --rate 60)
  out=$(new_outdir store)
  data_tmp=${DATA_TMP:-$(mktemp -d /tmp/chat-bench-data.XXXXXX)}
  start_floor "$out/logs"
  for r in $(seq 1 "$reps"); do
    for k in 0 1 2; do
      mode=${modes[$(((k + r - 1) % 3))]}
      NODE_DATA="" NODE_FLAGS=()
      [[ $mode != memory ]] && NODE_DATA="$data_tmp/$mode-rep$r"
      [[ $mode == fsync ]] && NODE_FLAGS=(--fsync 1)
      start_nodes "$n" "$out/logs"
      fanout_chat "$out" "store-$mode-${n}n" "$r" "$n" "${args[@]}"
      stop_nodes
    done
    fanout_floor "$out" "store-memory-${n}n" "$r" "${args[@]}"
    for mode in disk fsync; do cp "$out/store-memory-${n}n-rep$r-floor.json" "$out/store-$mode-${n}n-rep$r-floor.json"; done
    for mode in disk fsync; do
      jq --arg s "store-$mode-${n}n" '.scenario = $s' "$out/store-$mode-${n}n-rep$r-floor.json" >"$out/tmp.json" &&
        mv "$out/tmp.json" "$out/store-$mode-${n}n-rep$r-floor.json"
    done
  done
  NODE_DATA="" NODE_FLAGS=()
  stop_floor
  rm -rf "$data_tmp"
  report "$out"
}

# Seconds from exec to /readyz 200 of node 1, whose store was filled with
# ROOMS x PER_ROOM messages: alone, then with node 2 up beside it on a copy of
# the same data (it then also pulls from that peer).
restart() {
  local out rooms=${ROOMS:-1000} per=${PER_ROOM:-10000} reps=${REPS_SET:-3} r t0 t1 pid
  out=$(new_outdir restart)
  data_tmp=${DATA_TMP:-$(mktemp -d /tmp/chat-bench-data.XXXXXX)}
  log "restart: filling a store with $rooms rooms x $per messages"
  "$BENCH_BIN/chat_store_fill" --dir "$data_tmp/node1" --rooms "$rooms" --per-room "$per" | tee "$out/fill.txt"
  du -sh "$data_tmp/node1" | tee -a "$out/fill.txt"
  cp -a "$data_tmp/node1" "$data_tmp/node2"
  NODE_DATA=$data_tmp
  echo "| start | run | seconds to /readyz 200 | RSS after (MiB) |" >"$out/table.md"
  echo "|---|---|---|---|" >>"$out/table.md"
  for who in alone beside-a-peer; do
    for r in $(seq 1 "$reps"); do
      if [[ $who == beside-a-peer ]]; then
        start_nodes 2 "$out/logs"
        stop_pids "${node_pids[0]}"
        forget_pids "${node_pids[0]}"
        node_pids=("${node_pids[1]}")
      fi
      t0=$(date +%s.%N)
      "$CHATD" --node-name bench1 --http-addr 127.0.0.1 --http-port $((HTTP_BASE + 1)) \
        --cluster-addr 127.0.0.1 --cluster-port $((CLUSTER_BASE + 1)) --advertise-addr 127.0.0.1 \
        --admin-addr 127.0.0.1 --admin-port $((ADMIN_BASE + 1)) --peers "127.0.0.1:$((CLUSTER_BASE + 1)),127.0.0.1:$((CLUSTER_BASE + 2))" --discovery-interval-ms 500 \
        --data-dir "$data_tmp/node1" --log-level info >>"$out/logs/restart-$who.log" 2>&1 &
      pid=$!
      all_pids+=("$pid")
      for _ in $(seq 1 1200); do
        curl -fsS "http://127.0.0.1:$((HTTP_BASE + 1))/readyz" >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || die "node exited; see $out/logs/restart-$who.log"
        sleep 0.05
      done
      t1=$(date +%s.%N)
      local rss
      rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
      printf '| %s | %d | %.2f | %s |\n' "$who" "$r" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$rss" | tee -a "$out/table.md"
      stop_pids "$pid"
      forget_pids "$pid"
      stop_nodes
    done
  done
  NODE_DATA=""
  rm -rf "$data_tmp"
  log "results in $out"
}

ceiling() {
  local out n=${NODES:-3}
  out=$(new_outdir ceiling)
  start_nodes "$n" "$out/logs"
  start_floor "$out/logs"
  start_reference "$n" "$out/logs"
  ceiling_family "$out" "scenario1-${n}n" "$n" "$CEILING_RATES_BIG" --clients 600 --rooms 1 --senders 6
  ceiling_family "$out" "scenario2-${n}n" "$n" "$CEILING_RATES_SMALL" --clients 1200 --rooms 120 --senders 120
  stop_reference
  stop_floor
  stop_nodes
  report "$out"
}

[[ $# -ge 1 ]] || {
  sed -n '2,32p' "$0"
  exit 2
}
build
[[ -x $CHATD ]] || die "no chatd at $CHATD"
mkdir -p "$RESULTS"
for s in "$@"; do
  case $s in
    scenario1) scenario1 ;;
    scenario1-1node) scenario1_1node ;;
    scenario2) scenario2 ;;
    scenario2-1node) scenario2_1node ;;
    scenario3) scenario3 ;;
    scenario4) scenario4 ;;
    sweep) sweep ;;
    ceiling) ceiling ;;
    store) store ;;
    restart) restart ;;
    all)
      scenario1
      scenario1_1node
      scenario2
      scenario2_1node
      scenario3
      scenario4
      sweep
      ceiling
      store
      restart
      "$root/bench/plot.sh"
      ;;
    *) die "unknown scenario $s" ;;
  esac
done
