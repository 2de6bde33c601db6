#!/usr/bin/env bash
# Loopback load on engine_server (Open Inference Protocol, binary tensors,
# keep-alive): throughput, p50/p99 latency and the execution batch-size
# histogram at concurrency 1..64, for
#   - mnist-8 (fixed batch 1: no batching; 2 instances, 1 thread each), and
#   - ResNet-50 with a dynamic batch (models/generate.py resnet50_dynamic, plan
#     over batch 1..8) served twice: "batch 1" (max_batch_size 8 without
#     dynamic_batching: each request runs alone) and "dynamic" (dynamic
#     batching, max_queue_delay 5 ms, preferred batch sizes 4, 5, 8: the
#     plan's shape buckets above 1, so no batch runs a padded device program
#     unless the delay expires first).
#   and a third time as "2 instances x 1 thread" (no batching: two requests
#   run at once, one thread each), the alternative to batching on 2 cores.
# "batch 1" and "dynamic": 1 instance of 2 threads for ResNet-50. A batch of
# N >= 2 images runs its narrow-output convolutions one image per thread
# (kernels/conv.cc), the others split per layer as at batch 1. The client
# (bench/serving_load.py, Python threads) shares the cores with the server:
# host figures on this machine, not an accelerator's.
#
# Usage: bash bench/serving.sh [LEVELS (default "1 4 8 16 64")]
# Environment: BUILD_DIR (default build), DURATION seconds per point (default 5),
# MODELS (default "mnist resnet50"), ROUNDS (ResNet-50 passes, default 1), ENGINE_SERVER (a prebuilt engine_server
# binary to measure instead of $BUILD_DIR's: A/B runs; nothing is built then),
# RESNET50_PLAN (a resnet50_dynamic plan built as below, to skip its build).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
LEVELS=(${1:-1 4 8 16 64})
DURATION="${DURATION:-5}"
ROUNDS="${ROUNDS:-1}"
MODELS="${MODELS:-mnist resnet50}"
PY=/usr/bin/python3
MNIST="$ROOT/../shared/models/mnist/mnist-8.onnx"
TMP="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
run() {  # run LOG CMD...: quiet unless it fails
  local log=$1; shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "[bench] failed: $*" >&2; exit 1; }
}

SERVER_BIN="${ENGINE_SERVER:-$BUILD/bin/engine_server}"
if [ -z "${ENGINE_SERVER:-}" ]; then
  echo "[bench] building engine_server and trtexec_like in $BUILD"
  run "$TMP/build.log" cmake --build "$BUILD" --target engine_server trtexec_like
fi
REPO="$TMP/repo"
mkdir -p "$REPO"
if [[ " $MODELS " == *" mnist "* ]]; then
  if [ -f "$MNIST" ]; then
    mkdir -p "$REPO/mnist/1"
    run "$TMP/mnist.log" "$BUILD/bin/trtexec_like" --onnx="$MNIST" \
      --saveEngine="$REPO/mnist/1/model.plan" --skipInference
    echo '{"instance_count": 2, "threads": 1}' >"$REPO/mnist/config.json"
  else
    echo "[bench] SKIPPED mnist: $MNIST is absent"
    MODELS="${MODELS/mnist/}"
  fi
fi
if [[ " $MODELS " == *" resnet50 "* ]]; then
  mkdir -p "$REPO/resnet50_b1/1" "$REPO/resnet50_dyn/1" "$REPO/resnet50_2x1/1"
  if [ -n "${RESNET50_PLAN:-}" ]; then
    cp "$RESNET50_PLAN" "$REPO/resnet50_dyn/1/model.plan"
  else
    echo "[bench] generating and building resnet50_dynamic (batch 1..8)"
    run "$TMP/gen.log" $PY "$ROOT/models/generate.py" --out "$ROOT/models/out" resnet50_dynamic
    run "$TMP/resnet.log" "$BUILD/bin/trtexec_like" --onnx="$ROOT/models/out/resnet50_dynamic.onnx" \
      --minShapes=input:1x3x224x224 --optShapes=input:4x3x224x224 --maxShapes=input:8x3x224x224 \
      --shapeBuckets=4 --saveEngine="$REPO/resnet50_dyn/1/model.plan" --skipInference
  fi
  cp "$REPO/resnet50_dyn/1/model.plan" "$REPO/resnet50_b1/1/model.plan"
  cp "$REPO/resnet50_dyn/1/model.plan" "$REPO/resnet50_2x1/1/model.plan"
  echo '{"max_batch_size": 8, "instance_count": 2, "threads": 1, "max_queue_size": 128}' \
    >"$REPO/resnet50_2x1/config.json"
  echo '{"max_batch_size": 8, "instance_count": 1, "threads": 2, "max_queue_size": 128}' \
    >"$REPO/resnet50_b1/config.json"
  echo '{"max_batch_size": 8, "instance_count": 1, "threads": 2, "max_queue_size": 128,
         "dynamic_batching": {"max_queue_delay_us": 5000, "preferred_batch_size": [4, 5, 8]}}' \
    >"$REPO/resnet50_dyn/config.json"
fi

: >"$TMP/server.log"
"$SERVER_BIN" --model-repository="$REPO" --port=0 >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 600); do
  PORT="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$TMP/server.log" || true)"
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log"; echo "[bench] server exited"; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] || { cat "$TMP/server.log"; echo "[bench] server did not start"; exit 1; }
cat "$TMP/server.log"
echo "[bench] $(nproc) cores, ${DURATION} s per point after 1 s warm-up; $(date -u +%FT%TZ)"
echo
echo "| model | concurrency | requests | errors | inferences/s | p50 ms | p99 ms | batch:executions | modeled device inf/s |"
echo "|---|---|---|---|---|---|---|---|---|"
load() {  # load MODEL INPUT SHAPE LABEL
  for c in "${LEVELS[@]}"; do
    $PY "$ROOT/bench/serving_load.py" "$PORT" "$1" "$2" "$3" --concurrency "$c" \
      --duration "$DURATION" --label "$4"
  done
}
if [[ " $MODELS " == *" mnist "* ]]; then load mnist Input3 1x1x28x28 "mnist-8"; fi
if [[ " $MODELS " == *" resnet50 "* ]]; then
  # Per concurrency the three configurations back to back (ROUNDS times), so
  # that their ratio is taken under the same machine load.
  for r in $(seq 1 "$ROUNDS"); do
    for c in "${LEVELS[@]}"; do
      for cfg in "resnet50_b1|ResNet-50 batch 1" "resnet50_dyn|ResNet-50 dynamic" \
                 "resnet50_2x1|ResNet-50 2 instances x 1 thread"; do
        $PY "$ROOT/bench/serving_load.py" "$PORT" "${cfg%%|*}" input 1x3x224x224 \
          --concurrency "$c" --duration "$DURATION" --label "${cfg#*|}"
      done
    done
  done
fi
echo
curl -s "http://127.0.0.1:$PORT/metrics" 2>/dev/null | grep -E '^engine_(request_success|execution_count|modeled_device_time_us_per_inference)' || true
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=""
