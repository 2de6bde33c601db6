#!/usr/bin/env bash
# Host (FP32) inference latency of the engine against ONNX Runtime (CPU, via
# tools/ort_ref/run.js) at the same intra-op thread counts, on the same input.
#
# For every model: one seeded random .npy input per graph input (numpy), an
# engine built once (--saveEngine), then for each thread count our median
# (trtexec_like --loadEngine --threads=N, "Host Latency: ... median = X ms")
# and ONNX Runtime's median (run.js --threads N --iterations K, its
# {"median_ms": ...} line), and the ratio ours / ORT (< 1: we are faster).
# Then our INT8 engine of the same model (--int8, calibrated on 16 images of
# ../shared/datasets: ImageNet photos for the 224x224 models, MNIST digits for
# mnist-8; on the benchmark's own random input when ../shared is absent) at
# the same thread count, and the speed-up FP32 / INT8 (> 1: INT8 is faster).
#
# Usage: bash bench/host_vs_onnxruntime.sh
# Environment: THREADS="1 2" (thread counts), ITERATIONS=30 (timed runs per
# measurement on both sides; mnist gets 10x), REPEAT=1 (measurements per
# side, alternating; the best median is kept: on a shared machine REPEAT=3
# filters out rounds disturbed by other load), SEED=7 (input seed),
# TRTEXEC_LIKE (the binary; default build/bin/trtexec_like).
# Models: models/out/{resnet50,mobilenetv2}.onnx (generated when missing),
# ../shared/models/onnx_light/light_resnet50.onnx and
# ../shared/models/mnist/mnist-8.onnx (skipped with a message when ../shared is
# absent). Needs a build (bash scripts/build.sh) and onnxruntime-node
# (bash tools/ort_ref/setup.sh, run here when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${TRTEXEC_LIKE:-$ROOT/build/bin/trtexec_like}"
SHARED="$ROOT/../shared"
THREADS="${THREADS:-1 2}"
ITERATIONS="${ITERATIONS:-30}"
SEED="${SEED:-7}"
IMAGENET="$SHARED/datasets/imagenet_sample_450"
MNIST_IMAGES="$SHARED/datasets/mnist_test/t10k-images-idx3-ubyte.gz"
REPEAT="${REPEAT:-1}"
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
bash "$ROOT/tools/ort_ref/setup.sh"
for m in resnet50 mobilenetv2; do
  [ -f "$ROOT/models/out/$m.onnx" ] || /usr/bin/python3 "$ROOT/models/generate.py" "$m" >/dev/null
done
models=("$ROOT/models/out/resnet50.onnx" "$ROOT/models/out/mobilenetv2.onnx")
if [ -d "$SHARED/models" ]; then
  models+=("$SHARED/models/onnx_light/light_resnet50.onnx" "$SHARED/models/mnist/mnist-8.onnx")
else
  echo "SKIPPED: $SHARED/models absent: light_resnet50 and mnist-8 are not measured"
fi
# An engine without --threads (before intra-op parallelism) runs single-threaded.
threads_flag=1
if ! grep -q -- '--threads' <<<"$("$BIN" --help 2>&1)"; then
  threads_flag=0
  echo "NOTE: trtexec_like has no --threads: the engine runs single-threaded in every row"
fi
# The smaller of two numbers; "FAILED" (or empty) loses.
best() {
  if [[ ! "$1" =~ ^[0-9] ]]; then echo "${2:-FAILED}"; elif [[ ! "$2" =~ ^[0-9] ]]; then echo "$1"
  else /usr/bin/python3 -c "print(min($1, $2))"; fi
}
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "ONNX Runtime: onnxruntime-node $(cd "$ROOT/tools/ort_ref" && node -p "require('onnxruntime-node/package.json').version")"
printf "%-18s %7s %12s %12s %10s %12s %11s\n" model threads "FP32(ms)" "ORT(ms)" "FP32/ORT" \
  "INT8(ms)" "FP32/INT8"
for model in "${models[@]}"; do
  name="$(basename "$model" .onnx)"
  iters="$ITERATIONS"
  [[ "$name" == mnist* ]] && iters=$((ITERATIONS * 10))
  # Seeded random inputs, uniform [-1, 1), one .npy per graph input; prints
  # "name=file" per input. Symbolic dims become 1.
  if ! /usr/bin/python3 - "$model" "$TMP/$name" "$SEED" >"$TMP/$name.inputs" <<'PY'
import sys, numpy as np, onnx
model, prefix, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
g = onnx.load(model, load_external_data=False).graph
inits = {t.name for t in g.initializer}
rng = np.random.default_rng(seed)
types = {1: np.float32, 6: np.int32, 7: np.int64}
for i, vi in enumerate(x for x in g.input if x.name not in inits):
    t = vi.type.tensor_type
    shape = [d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim]
    dtype = types[t.elem_type]
    data = rng.uniform(-1, 1, shape).astype(dtype) if dtype == np.float32 else np.zeros(shape, dtype)
    path = "%s_input%d.npy" % (prefix, i)
    np.save(path, data)
    print("%s=%s" % (vi.name, path))
PY
  then
    echo "$name: cannot make inputs"; continue
  fi
  ours_inputs=() ort_inputs=()
  while IFS='=' read -r in_name in_file; do
    ours_inputs+=("$in_name:$in_file")
    ort_inputs+=(--input "$in_name=$in_file")
  done <"$TMP/$name.inputs"
  load_inputs="$(IFS=,; echo "${ours_inputs[*]}")"
  if ! "$BIN" --onnx="$model" --saveEngine="$TMP/$name.plan" --skipInference >"$TMP/$name.build.log" 2>&1; then
    echo "$name: build FAILED"; tail -3 "$TMP/$name.build.log"; continue
  fi
  # The INT8 engine: calibration data by model, else the random input itself.
  calib=()
  if [[ "$name" == mnist* && -f "$MNIST_IMAGES" ]]; then
    calib=(--calibData="$MNIST_IMAGES" --preprocess=raw)
  elif [[ "$name" != mnist* && -d "$IMAGENET" ]]; then
    calib=(--calibData="$IMAGENET")
  else
    mkdir -p "$TMP/$name.calib"
    cp "$TMP/$name"_input*.npy "$TMP/$name.calib/"
    calib=(--calibData="$TMP/$name.calib")
  fi
  int8_plan="$TMP/$name.int8.plan"
  if ! "$BIN" --onnx="$model" --int8 "${calib[@]}" --calibImages=16 --saveEngine="$int8_plan" \
      --skipInference >"$TMP/$name.int8.build.log" 2>&1; then
    echo "$name: INT8 build FAILED"; tail -3 "$TMP/$name.int8.build.log"; int8_plan=""
  fi
  for t in $THREADS; do
    tflag=()
    [ "$threads_flag" = 1 ] && tflag=(--threads="$t")
    # REPEAT rounds, alternating the two sides; each keeps its best median.
    ours="FAILED" ort="FAILED" int8="FAILED"
    for ((round = 0; round < REPEAT; ++round)); do
      if [ -n "$int8_plan" ] && "$BIN" --loadEngine="$int8_plan" --loadInputs="$load_inputs" \
          "${tflag[@]}" --iterations="$iters" --duration=0 --warmUp=500 \
          >"$TMP/$name.int8.$t.log" 2>&1; then
        v=$(sed -n 's/^Host Latency: .*median = \([0-9.e+-]*\) ms.*/\1/p' "$TMP/$name.int8.$t.log")
        int8=$(best "$int8" "$v")
      elif [ -n "$int8_plan" ]; then
        tail -3 "$TMP/$name.int8.$t.log" >&2
      fi
      if "$BIN" --loadEngine="$TMP/$name.plan" --loadInputs="$load_inputs" "${tflag[@]}" \
          --iterations="$iters" --duration=0 --warmUp=500 >"$TMP/$name.$t.log" 2>&1; then
        v=$(sed -n 's/^Host Latency: .*median = \([0-9.e+-]*\) ms.*/\1/p' "$TMP/$name.$t.log")
        ours=$(best "$ours" "$v")
      else
        tail -3 "$TMP/$name.$t.log" >&2
      fi
      if (cd "$ROOT/tools/ort_ref" && node run.js --model "$model" "${ort_inputs[@]}" \
            --outdir "$TMP/ort_$name" --threads "$t" --iterations "$iters" --warmup 5) \
            >"$TMP/$name.ort.$t.json" 2>"$TMP/$name.ort.$t.log"; then
        v=$(sed -n 's/.*"median_ms":\([0-9.e+-]*\).*/\1/p' "$TMP/$name.ort.$t.json")
        ort=$(best "$ort" "$v")
      else
        tail -3 "$TMP/$name.ort.$t.log" >&2
      fi
    done
    ratio="-" speedup="-"
    if [[ "$ours" =~ ^[0-9] && "$ort" =~ ^[0-9] ]]; then
      ratio=$(/usr/bin/python3 -c "print('%.2f' % ($ours / $ort))")
    fi
    if [[ "$ours" =~ ^[0-9] && "$int8" =~ ^[0-9] ]]; then
      speedup=$(/usr/bin/python3 -c "print('%.2f' % ($ours / $int8))")
    fi
    printf "%-18s %7s %12s %12s %10s %12s %11s\n" "$name" "$t" "$ours" "$ort" "$ratio" "$int8" \
      "$speedup"
  done
done
echo "Median host latency per inference, ms, best of $REPEAT round(s) (same input, same intra-op"
echo "thread count; ORT: graph optimization 'all', sequential execution, timed around"
echo "session.run in Node.js). INT8: our engine built with --int8 (calibrated on 16 samples),"
echo "same input and thread count; FP32/INT8 > 1 means INT8 is faster."
