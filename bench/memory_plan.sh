#!/usr/bin/env bash
# Activation memory of every model: the arena the plan allocates per execution
# context, the sum of all activation tensors without sharing, and the lower
# bound (the largest total live at one step), from each engine's
# --exportLayerInfo "memory" object.
#
# Every model in FP32 and in INT8 (calibrated on a few images: MNIST digits
# for mnist-8, ImageNet photos for the others; CALIB_IMAGES, default 8).
#
# Usage: bash bench/memory_plan.sh [extra trtexec_like flags, e.g. --optLevel=0]
# Models: ../shared/models/onnx_light/*.onnx, ../shared/models/mnist/mnist-8.onnx
# (skipped with a message when ../shared is absent) and models/out/{resnet50,
# mobilenetv2}.onnx (generated when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/build/bin/trtexec_like"
SHARED="$ROOT/../shared"
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
for m in resnet50 mobilenetv2; do
  [ -f "$ROOT/models/out/$m.onnx" ] || /usr/bin/python3 "$ROOT/models/generate.py" "$m" >/dev/null
done
models=("$ROOT/models/out/resnet50.onnx" "$ROOT/models/out/mobilenetv2.onnx")
if [ -d "$SHARED/models" ]; then
  models+=("$SHARED"/models/onnx_light/*.onnx "$SHARED/models/mnist/mnist-8.onnx")
else
  echo "SKIPPED: $SHARED/models absent: only the generated models are measured"
fi
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
CALIB_IMAGES=${CALIB_IMAGES:-8}
IMAGENET="$SHARED/datasets/imagenet_sample_450"
MNIST="$SHARED/datasets/mnist_test/t10k-images-idx3-ubyte.gz"
printf "%-28s %-5s %12s %12s %12s %9s %8s  %s\n" model prec "arena(MB)" "no-reuse(MB)" "bound(MB)" "vs bound" "saving" strategy
for model in "${models[@]}"; do
  name="$(basename "$model" .onnx)"
  for prec in fp32 int8; do
    flags=()
    if [ "$prec" = int8 ]; then
      if [ "$name" = mnist-8 ]; then
        flags=(--int8 --calibData="$MNIST" --preprocess=raw --calibImages="$CALIB_IMAGES")
      else
        flags=(--int8 --calibData="$IMAGENET" --calibImages="$CALIB_IMAGES")
      fi
      [ -e "${flags[1]#--calibData=}" ] || { echo "$name int8: SKIPPED (no calibration data)"; continue; }
    fi
    if ! "$BIN" --onnx="$model" --skipInference --exportLayerInfo="$TMP/$name.json" "${flags[@]}" "$@" \
        >"$TMP/$name.log" 2>&1; then
      echo "$name $prec: FAILED"; tail -3 "$TMP/$name.log"; continue
    fi
    /usr/bin/python3 - "$TMP/$name.json" "$name" "$prec" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["memory"]
mb = lambda b: b / 1e6
arena, flat, bound = m["arenaBytes"], m["noReuseBytes"], m["lowerBoundBytes"]
print("%-28s %-5s %12.2f %12.2f %12.2f %8.2f%% %7.1fx  %s" % (
    sys.argv[2], sys.argv[3], mb(arena), mb(flat), mb(bound), 100.0 * (arena - bound) / max(bound, 1),
    flat / max(arena, 1), m["strategy"]))
PY
  done
done
echo "'vs bound': arena above the lower bound. INT8 engines hold int8 activations between int8 layers"
echo "and float32 ones around the layers that stay FP32 (with quantize/dequantize at the boundaries)."
