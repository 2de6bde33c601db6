#!/usr/bin/env bash
# What INT8 costs and what it buys:
#  1. mnist-8 (real trained weights): INT8 calibrated on the first 1,000
#     MNIST test images, top-1 accuracy of FP32 and INT8 on all 10,000;
#  2. ResNet-50 and MobileNetV2 from models/ calibrated on
#     ../shared/datasets/imagenet_sample_450: the per-layer INT8-vs-FP32
#     table (cosine, SQNR, max error; worst first) and the top-1 agreement on
#     the 450 images (trtexec_like --compareInt8);
#  3. modeled device latency and energy of INT8 versus FP32 for every
#     accelerator preset;
#  4. host latency of INT8 versus FP32 (median, --threads=THREADS).
#
# Usage: bash bench/int8.sh
# Env: CALIB_IMAGES (default 100), EVAL_IMAGES (default 450), THREADS (default
# 2), TOP (rows of the per-layer tables, default 12), SKIP_HOST=1.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/${BUILD_DIR:-build}/bin/trtexec_like"
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
SHARED="$ROOT/../shared"
IMAGENET="$SHARED/datasets/imagenet_sample_450"
MNIST_MODEL="$SHARED/models/mnist/mnist-8.onnx"
MNIST_IMAGES="$SHARED/datasets/mnist_test/t10k-images-idx3-ubyte.gz"
MODELS="$ROOT/models/out"
CALIB_IMAGES=${CALIB_IMAGES:-100}
EVAL_IMAGES=${EVAL_IMAGES:-450}
THREADS=${THREADS:-2}
TOP=${TOP:-12}
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
for m in resnet50 mobilenetv2; do
  [ -f "$MODELS/$m.onnx" ] || /usr/bin/python3 "$ROOT/models/generate.py" --out "$MODELS" "$m" >/dev/null
done
field() { sed -n "$1" <<<"$2" | head -1; }

if [ -f "$MNIST_MODEL" ] && [ -f "$MNIST_IMAGES" ]; then
  echo "=== mnist-8: INT8 calibrated on the first 1,000 test images, evaluated on 10,000 ==="
  "$BIN" --onnx="$MNIST_MODEL" --int8 --calibData="$MNIST_IMAGES" --calibImages=1000 \
    --preprocess=raw --calib="$OUT/mnist.cache" --saveEngine="$OUT/mnist_int8.plan" --skipInference \
    | grep -E "calibration|Layer precisions"
  fp32=$("$BIN" --onnx="$MNIST_MODEL" --evalData="$MNIST_IMAGES" --preprocess=raw --skipInference | grep "top-1 accuracy")
  int8=$("$BIN" --loadEngine="$OUT/mnist_int8.plan" --evalData="$MNIST_IMAGES" --preprocess=raw --skipInference | grep "top-1 accuracy")
  echo "FP32 $fp32"
  echo "INT8 $int8"
  echo "Rebuild with the cache: $("$BIN" --onnx="$MNIST_MODEL" --int8 --calib="$OUT/mnist.cache" --skipInference | grep -o 'read from the calibration cache')"
else
  echo "SKIPPED mnist-8: $MNIST_MODEL or $MNIST_IMAGES not found"
fi

if [ ! -d "$IMAGENET" ]; then
  echo "SKIPPED ImageNet models: $IMAGENET not found"
  exit 0
fi
for m in resnet50 mobilenetv2; do
  echo
  echo "=== $m: INT8 (entropy, $CALIB_IMAGES calibration images) vs FP32 on $EVAL_IMAGES ImageNet photos ==="
  "$BIN" --onnx="$MODELS/$m.onnx" --int8 --calibData="$IMAGENET" --calibImages="$CALIB_IMAGES" \
    --calib="$OUT/$m.cache" --compareInt8 --evalData="$IMAGENET" --evalImages="$EVAL_IMAGES" \
    --compareTop="$TOP" | grep -v "^&&&&"
done

echo
echo "=== Modeled device: INT8 vs FP32 per accelerator preset ==="
printf "%-12s %-8s %12s %12s %8s %12s %12s %8s\n" model hw "fp32 ms" "int8 ms" speedup "fp32 mJ" "int8 mJ" saving
for m in resnet50 mobilenetv2; do
  for hw in edge gemmini tpu-v1; do
    f="$("$BIN" --onnx="$MODELS/$m.onnx" --hw="$hw" --skipInference 2>&1)"
    # The cache holds every tensor an INT8 layer of this model needs.
    q="$("$BIN" --onnx="$MODELS/$m.onnx" --hw="$hw" --int8 --calib="$OUT/$m.cache" \
          --calibData="$IMAGENET" --calibImages="$CALIB_IMAGES" --skipInference 2>&1)" || {
      echo "$m $hw: INT8 build FAILED"; tail -3 <<<"$q"; continue; }
    fl=$(field 's/^Device Latency (modeled): \([0-9.]*\) ms.*/\1/p' "$f")
    ql=$(field 's/^Device Latency (modeled): \([0-9.]*\) ms.*/\1/p' "$q")
    fe=$(field 's/^Energy per inference (modeled): \([0-9.]*\) mJ.*/\1/p' "$f")
    qe=$(field 's/^Energy per inference (modeled): \([0-9.]*\) mJ.*/\1/p' "$q")
    printf "%-12s %-8s %12s %12s %7.2fx %12s %12s %7.2fx\n" "$m" "$hw" "$fl" "$ql" \
      "$(awk -v a="$fl" -v b="$ql" 'BEGIN{print a/b}')" "$fe" "$qe" "$(awk -v a="$fe" -v b="$qe" 'BEGIN{print a/b}')"
  done
done

if [ -z "${SKIP_HOST:-}" ]; then
  echo
  echo "=== Host latency (median, $THREADS threads): INT8 vs FP32 ==="
  printf "%-12s %12s %12s %8s\n" model "fp32 ms" "int8 ms" speedup
  for m in resnet50 mobilenetv2; do
    f="$("$BIN" --onnx="$MODELS/$m.onnx" --threads="$THREADS" --duration=5 2>&1)"
    q="$("$BIN" --onnx="$MODELS/$m.onnx" --int8 --calib="$OUT/$m.cache" --threads="$THREADS" --duration=5 2>&1)"
    fm=$(field 's/^Host Latency: .*median = \([0-9.]*\) ms.*/\1/p' "$f")
    qm=$(field 's/^Host Latency: .*median = \([0-9.]*\) ms.*/\1/p' "$q")
    printf "%-12s %12s %12s %7.2fx\n" "$m" "$fm" "$qm" "$(awk -v a="$fm" -v b="$qm" 'BEGIN{print a/b}')"
  done
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
fi
