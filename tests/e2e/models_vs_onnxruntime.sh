#!/usr/bin/env bash
# Generated ResNet-50, MobileNetV2, tiny_cnn, the YOLOv5n detector (640x640,
# Detect decode in the graph) and the U-Net segmenter (models/generate.py): the
# engine's outputs (built, saved, reloaded plan) must match ONNX Runtime's on
# the same random input, rtol 1e-3 / atol 1e-4 (float32 summation order
# differs between the two runtimes).
# Usage: models_vs_onnxruntime.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
WORK=$BUILD/test_work/models_vs_ort
mkdir -p "$WORK"

source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"

/usr/bin/python3 "$SRC/models/generate.py" --out "$WORK/models" tiny_cnn mobilenetv2 resnet50 yolov5n unet

fail=0
for model in tiny_cnn mobilenetv2 resnet50 yolov5n unet; do
  case "$model" in tiny_cnn) size=32 ;; yolov5n) size=640 ;; unet) size=256 ;; *) size=224 ;; esac
  /usr/bin/python3 -c "import numpy as np; np.save('$WORK/$model.input.npy', np.random.default_rng(7).standard_normal((1,3,$size,$size)).astype(np.float32))"
  node "$SRC/tools/ort_ref/run.js" --model "$WORK/models/$model.onnx" \
    --input "input=$WORK/$model.input.npy" --outdir "$WORK/$model.ort" --threads 2 2>"$WORK/$model.ort.log"
  if "$BUILD/bin/trtexec_like" --onnx="$WORK/models/$model.onnx" --saveEngine="$WORK/$model.plan" \
       --skipInference >"$WORK/$model.build.log" 2>&1 &&
     "$BUILD/bin/trtexec_like" --loadEngine="$WORK/$model.plan" \
       --loadInputs="input:$WORK/$model.input.npy" \
       --loadRefOutputs="output:$WORK/$model.ort/output.npy" --rtol=1e-3 --atol=1e-4 \
       --iterations=1 --duration=0 --warmUp=0 >"$WORK/$model.run.log" 2>&1; then
    echo "PASSED $model: $(grep "output 'output'" "$WORK/$model.run.log")"
  else
    echo "FAILED $model:"; cat "$WORK/$model.build.log" "$WORK/$model.run.log"
    fail=1
  fi
  rm -f "$WORK/$model.plan"
done
exit $fail
