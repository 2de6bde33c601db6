#!/usr/bin/env bash
# Throughput and latency of the example inference service (examples/): the
# engine installed into a temporary prefix, examples/ built against it,
# engine_example_server started on 127.0.0.1 with a model's plan, engine_client at
# concurrency 1, 2 and 4 over keep-alive connections (raw float32 bodies).
# Host figures (the host kernels' wall-clock time plus HTTP on loopback); the
# client and the server share the machine's cores.
#
# Usage: bash bench/service.sh            (BUILD_DIR=build by default)
# Models: models/out/resnet50.onnx (generated when missing) and
# ../shared/models/mnist/mnist-8.onnx (skipped with a message when absent).
# Requests per concurrency level: RESNET_REQUESTS (default 48), MNIST_REQUESTS
# (default 4000), after a warm-up of a few requests per connection.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
SHARED="$ROOT/../shared"
LEVELS=(1 2 4)

[ -f /usr/include/httplib.h ] || { echo "cpp-httplib missing: bash scripts/setup.sh" >&2; exit 1; }
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

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  run "$TMP/configure.log" cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
echo "[bench] building engine_shared and trtexec_like in $BUILD, installing into a temporary prefix"
run "$TMP/build.log" cmake --build "$BUILD" --target engine_shared trtexec_like
run "$TMP/install.log" cmake --install "$BUILD" --prefix "$TMP/prefix"
echo "[bench] building examples/ against the installed package"
run "$TMP/examples.log" cmake -S "$ROOT/examples" -B "$TMP/examples" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TMP/prefix"
run "$TMP/examples.log" cmake --build "$TMP/examples"

[ -f "$ROOT/models/out/resnet50.onnx" ] || /usr/bin/python3 "$ROOT/models/generate.py" resnet50 >/dev/null
models=("resnet50:$ROOT/models/out/resnet50.onnx:${RESNET_REQUESTS:-48}")
if [ -f "$SHARED/models/mnist/mnist-8.onnx" ]; then
  models+=("mnist-8:$SHARED/models/mnist/mnist-8.onnx:${MNIST_REQUESTS:-4000}")
else
  echo "SKIPPED: $SHARED/models/mnist/mnist-8.onnx absent: mnist-8 not measured"
fi

echo "[bench] $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
printf "%-10s %11s %10s %10s %10s %10s %10s %7s\n" model concurrency requests "req/s" "p50(ms)" "p90(ms)" "p99(ms)" errors
for entry in "${models[@]}"; do
  IFS=: read -r name onnx requests <<<"$entry"
  plan="$TMP/$name.plan"
  if ! "$BUILD/bin/trtexec_like" --onnx="$onnx" --saveEngine="$plan" --skipInference >"$TMP/$name.build.log" 2>&1; then
    echo "$name: plan build FAILED"; tail -3 "$TMP/$name.build.log"; continue
  fi
  : >"$TMP/$name.server.log"  # exists before the background shell opens it
  "$TMP/examples/engine_example_server" "$plan" --host=127.0.0.1 --port=0 >"$TMP/$name.server.log" 2>&1 &
  SERVER_PID=$!
  port=""
  for _ in $(seq 1 600); do
    port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$TMP/$name.server.log" || true)"
    [ -n "$port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then echo "$name: server FAILED"; cat "$TMP/$name.server.log"; SERVER_PID=""; continue; fi
  for c in "${LEVELS[@]}"; do
    log="$TMP/$name.c$c.log"
    "$TMP/examples/engine_client" --port="$port" --requests="$requests" --concurrency="$c" \
      --warmup=$((2 * c)) >"$log" 2>&1 || true
    /usr/bin/python3 - "$log" "$name" "$c" "$requests" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def grab(pattern):
    m = re.search(pattern, text)
    return m.group(1) if m else "?"
print("%-10s %11s %10s %10s %10s %10s %10s %7s" % (
    sys.argv[2], sys.argv[3], sys.argv[4], grab(r"throughput: ([\d.]+) req/s"),
    grab(r"p50 ([\d.]+)"), grab(r"p90 ([\d.]+)"), grab(r"p99 ([\d.]+)"), grab(r"errors: (\d+)")))
for line in text.splitlines():
    if "error:" in line or "engine_client:" in line:
        print("    " + line.strip())
PY
  done
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""
done
