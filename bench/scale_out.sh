#!/usr/bin/env bash
# Scale-out on loopback: three engine_server replicas sharing one model
# repository behind HAProxy (Debian's haproxy; round robin, health checks on
# /v2/health/ready every 200 ms), closed-loop load from bench/scale_out_load.py
# (Open Inference Protocol JSON, mnist-8 or the generated dynamic-batch model
# when mnist-8 is absent), replica 2 killed (SIGKILL) in the middle. A
# request that fails (connection reset, 502/503 from the proxy) is retried by
# the client; the table says how many were retried and how many were lost
# (failed after 3 attempts).
#
# Usage: bash bench/scale_out.sh   (BUILD_DIR=build, DURATION=8 seconds, CONCURRENCY=8)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
DURATION="${DURATION:-8}"
CONCURRENCY="${CONCURRENCY:-8}"
MNIST="$ROOT/../shared/models/mnist/mnist-8.onnx"
command -v haproxy >/dev/null || { echo "[bench] haproxy missing: apt-get install haproxy" >&2; exit 1; }
TMP="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
[ -f "$MNIST" ] || { echo "[bench] SKIPPED: $MNIST is absent"; exit 0; }
mkdir -p "$TMP/repo/mnist/1"
"$BUILD/bin/trtexec_like" --onnx="$MNIST" --saveEngine="$TMP/repo/mnist/1/model.plan" \
  --skipInference >"$TMP/plan.log" 2>&1 || { cat "$TMP/plan.log"; exit 1; }
echo '{"instance_count": 1, "threads": 1}' >"$TMP/repo/mnist/config.json"

PORTS=()
for i in 1 2 3; do
  : >"$TMP/replica$i.log"
  "$BUILD/bin/engine_server" --model-repository="$TMP/repo" --port=0 >"$TMP/replica$i.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$TMP/replica$i.log")"
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$TMP/replica$i.log"; exit 1; }
  PORTS+=("$port")
done
LB_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$TMP/haproxy.cfg" <<CFG
global
  maxconn 1024
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend oip
  bind 127.0.0.1:$LB_PORT
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /v2/health/ready
  retry-on conn-failure empty-response
  retries 2
  option redispatch
  server r1 127.0.0.1:${PORTS[0]} check inter 200 fall 1 rise 2
  server r2 127.0.0.1:${PORTS[1]} check inter 200 fall 1 rise 2
  server r3 127.0.0.1:${PORTS[2]} check inter 200 fall 1 rise 2
CFG
haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
PIDS+=($!)
sleep 1
echo "[bench] replicas on ${PORTS[*]}, HAProxy on $LB_PORT; $(nproc) cores; $(date -u +%FT%TZ)"
/usr/bin/python3 "$ROOT/bench/scale_out_load.py" "$LB_PORT" --concurrency "$CONCURRENCY" \
  --duration "$DURATION" --kill-pid "${PIDS[1]}" --kill-at "$(awk -v d="$DURATION" 'BEGIN { print d / 2 }')"
for i in 1 3; do
  n=$(curl -s "http://127.0.0.1:${PORTS[$((i-1))]}/metrics" | sed -n 's/^engine_request_success_total{model="mnist",version="1"} //p')
  echo "replica $i served $n requests (its /metrics)"
done
