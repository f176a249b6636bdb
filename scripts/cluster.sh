#!/usr/bin/env bash
# Starts a local cluster of N nodes (default 3) on 127.0.0.1 and keeps it in
# the foreground until Ctrl-C (or SIGTERM), then stops every node by PID.
# Node i serves http://127.0.0.1:(HTTP_BASE+i)/ and peers on port
# CLUSTER_BASE+i (defaults 8080 and 9100); every node gets the same static
# peer list and finds the others through the same discovery code a
# Kubernetes pod uses. A node that exits while starting (its port taken, a
# bad flag) or is not ready within 20 s stops the whole cluster, exit 1.
# The cluster port speaks mutual TLS: a throwaway CA and a certificate per
# node are made with scripts/make-certs.sh in $CLUSTER_CERTS (default
# /tmp/chat-cluster/certs) unless there already. PLAINTEXT=1 turns TLS off.
#   N=5 scripts/cluster.sh     CHATD=path/to/chatd scripts/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-${1:-3}}
bin=${CHATD:-build/chatd}
http_base=${HTTP_BASE:-8080}
cluster_base=${CLUSTER_BASE:-9100}
logs=${CLUSTER_LOGS:-/tmp/chat-cluster}
mkdir -p "$logs"
certs=${CLUSTER_CERTS:-$logs/certs}
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

for i in $(seq 1 "$n"); do
  [ -z "${PLAINTEXT:-}" ] && tls=(--cluster-tls-cert "$certs/node$i.pem" --cluster-tls-key "$certs/node$i.key"
                                  --cluster-tls-ca "$certs/ca.pem")
  "$bin" "${tls[@]}" --node-name "node$i" --http-addr 127.0.0.1 --http-port $((http_base + i)) \
    --cluster-addr 127.0.0.1 --cluster-port $((cluster_base + i)) --peers "$peers" --allowed-origins "$origins" \
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
      echo "node$i exited while starting; the end of $logs/node$i.log:" >&2
      tail -n 5 "$logs/node$i.log" >&2
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
for i in $(seq 1 "$n"); do echo "  node$i  http://127.0.0.1:$((http_base + i))/"; done
echo "open two of them in two browser tabs and chat; Ctrl-C stops the cluster"
wait -n "${pids[@]}" || true
echo "a node exited; see $logs"
