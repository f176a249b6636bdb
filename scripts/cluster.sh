#!/usr/bin/env bash
# Starts a local cluster of N nodes (default 3) on 127.0.0.1 and keeps it in
# the foreground until Ctrl-C (or SIGTERM), then stops every node by PID.
# Node i serves http://127.0.0.1:(HTTP_BASE+i)/ and peers on port
# CLUSTER_BASE+i (defaults 8080 and 9100), its admin port (/metrics, the
# full /api/cluster) on ADMIN_BASE+i (default 9180); every node gets the same static
# peer list and finds the others through the same discovery code a
# Kubernetes pod uses. A node that exits while starting (its port taken, a
# bad flag) or is not ready within 20 s stops the whole cluster, exit 1.
# The cluster port speaks mutual TLS: a throwaway CA and a certificate per
# node are made with scripts/make-certs.sh in $CLUSTER_CERTS (default
# /tmp/chat-cluster/certs) unless there already. PLAINTEXT=1 turns TLS off.
# Node i keeps its history on disk in $DATA_BASE/nodeI (`--data-dir`; default
# DATA_BASE is $CLUSTER_LOGS/data, i.e. /tmp/chat-cluster/data), so a cluster
# started again has its history back; DATA_BASE=none keeps history in memory
# only. docs/data.md says what is in there and how to back it up.
#   N=5 scripts/cluster.sh     CHATD=path/to/chatd scripts/cluster.sh
#   DATA_BASE=~/chat-data scripts/cluster.sh     DATA_BASE=none scripts/cluster.sh
set -euo pipefail
# Relative paths in the environment are the caller's, not the repository's.
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
[ -n "${CLUSTER_LOGS:-}" ] && CLUSTER_LOGS=$(abs "$CLUSTER_LOGS")
[ -n "${DATA_BASE:-}" ] && [ "$DATA_BASE" != none ] && DATA_BASE=$(abs "$DATA_BASE")
cd "$(dirname "$0")/.."
n=${N:-${1:-3}}
bin=${CHATD:-build/chatd}
http_base=${HTTP_BASE:-8080}
cluster_base=${CLUSTER_BASE:-9100}
admin_base=${ADMIN_BASE:-9180}
logs=${CLUSTER_LOGS:-/tmp/chat-cluster}
mkdir -p "$logs"
certs=${CLUSTER_CERTS:-$logs/certs}
data=${DATA_BASE:-$logs/data}
[ "$data" = none ] && data=""
tls=()
if [ -z "${PLAINTEXT:-}" ]; then
  for i in $(seq 1 "$n"); do
    [ -s "$certs/node$i.pem" ] || scripts/make-certs.sh "$certs" "node$i=IP:127.0.0.1,DNS:localhost" 2>/dev/null
  done
fi

peers=""
for i in $(seq 1 "$n"); do peers+="${peers:+,}127.0.0.1:$((cluster_base + i))"; done
# A page of any node may open /ws on every other one (its failover).
origins=""
for i in $(seq 1 "$n"); do origins+="${origins:+,}http://127.0.0.1:$((http_base + i)),http://localhost:$((http_base + i))"; done

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping ${#pids[@]} node(s)"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}
trap stop INT TERM EXIT

store=()
for i in $(seq 1 "$n"); do
  if [ -n "$data" ]; then
    mkdir -p "$data/node$i"
    store=(--data-dir "$data/node$i")
  fi
  [ -z "${PLAINTEXT:-}" ] && tls=(--cluster-tls-cert "$certs/node$i.pem" --cluster-tls-key "$certs/node$i.key"
                                  --cluster-tls-ca "$certs/ca.pem")
  "$bin" "${tls[@]}" "${store[@]}" --node-name "node$i" --http-addr 127.0.0.1 --http-port $((http_base + i)) \
    --cluster-addr 127.0.0.1 --cluster-port $((cluster_base + i)) --peers "$peers" --allowed-origins "$origins" \
    --admin-addr 127.0.0.1 --admin-port $((admin_base + i)) \
    --discovery-interval-ms 1000 --peer-timeout-ms 4000 >"$logs/node$i.log" 2>&1 &
  pids+=($!)
done

# Ready means this node answers: another process on the port (an old
# cluster) would answer /readyz too, but not with this node's name.
for i in $(seq 1 "$n"); do
  url="http://127.0.0.1:$((http_base + i))"
  ready=0
  for _ in $(seq 1 100); do
    if ! kill -0 "${pids[$((i - 1))]}" 2>/dev/null; then
      rc=0
      wait "${pids[$((i - 1))]}" || rc=$?
      echo "node$i exited while starting (exit code $rc); the end of $logs/node$i.log:" >&2
      tail -n 5 "$logs/node$i.log" >&2
      # 3: the node could not use its store (the log line above says why).
      if [ "$rc" = 3 ] && [ -n "$data" ]; then
        echo "node$i could not open its store in $data/node$i. If the log calls it corrupt," \
             "move that directory away (e.g. mv $data/node$i $data/node$i.bad) and start again:" \
             "node$i then starts empty and pulls the history from its peers (docs/data.md)" >&2
      fi
      exit 1
    fi
    if curl -fsS "$url/readyz" >/dev/null 2>&1 && curl -fsS "$url/healthz" 2>/dev/null | grep -q "\"node\":\"node$i\""; then
      ready=1
      break
    fi
    sleep 0.2
  done
  if [ "$ready" != 1 ]; then
    echo "node$i is not ready after 20 s; see $logs/node$i.log" >&2
    exit 1
  fi
done

echo "chat cluster of $n node(s) is up (logs in $logs):"
if [ -z "${PLAINTEXT:-}" ]; then
  echo "cluster port: mutual TLS, CA and node certificates in $certs"
else
  echo "cluster port: PLAINTEXT (anyone reaching 127.0.0.1:$((cluster_base + 1))-$((cluster_base + n)) can join)"
fi
for i in $(seq 1 "$n"); do
  if [ -n "$data" ]; then where="data in $data/node$i"; else where="history in memory only (DATA_BASE=none)"; fi
  echo "  node$i  http://127.0.0.1:$((http_base + i))/  $where"
done
echo "metrics (admin ports): http://127.0.0.1:$((admin_base + 1))/metrics ... http://127.0.0.1:$((admin_base + n))/metrics"
echo "open two of them in two browser tabs and chat; Ctrl-C stops the cluster"
wait -n "${pids[@]}" || true
echo "a node exited; see $logs"
