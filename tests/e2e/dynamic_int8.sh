#!/usr/bin/env bash
# INT8 with optimization profiles (issue 19, docs/dynamic_shapes.md): one
# INT8 plan for a dynamic-batch model, calibrated once at the profile's opt
# batch (calibration batches of N = opt > 1) and writing one calibration
# cache; then, at each run-time batch, the plan's output must be
# bit-identical (--rtol=0 --atol=0) to a fixed-shape INT8 engine built at that
# batch from the same cache (no calibration data): one set of tensor scales
# for every shape bucket and for the host graph.
# Usage: dynamic_int8.sh <source dir> <build dir> [model] [opt batch] [max batch] [batches...]
# (default: resnet50_dynamic 4 8 1 3 8; calibration on 16 images of
# ../shared/datasets/imagenet_sample_450, or on 16 seeded N(0,1) tensors when
# that folder is absent, which the log says).
set -euo pipefail
SRC=$1
BUILD=$2
MODEL=${3:-resnet50_dynamic}
OPT=${4:-4}
MAX=${5:-8}
shift $(( $# < 5 ? $# : 5 ))
BATCHES=("$@")
[ ${#BATCHES[@]} -gt 0 ] || BATCHES=(1 3 8)
WORK=$BUILD/test_work/dynamic_int8.$MODEL
TRT=$BUILD/bin/trtexec_like
rm -rf "$WORK"; mkdir -p "$WORK"
/usr/bin/python3 "$SRC/models/generate.py" --out "$WORK/models" "$MODEL" >/dev/null
ONNX=$WORK/models/$MODEL.onnx
case "$MODEL" in
  resnet50_dynamic) CHW=3x224x224; PY_SHAPE="3,224,224" ;;
  *) echo "unknown model $MODEL"; exit 2 ;;
esac
IMAGES=$SRC/../shared/datasets/imagenet_sample_450/images
[ -d "$IMAGES" ] || IMAGES=/work/shared/datasets/imagenet_sample_450/images
if [ -d "$IMAGES" ]; then
  CALIB=(--calibData="$IMAGES" --calibImages=16 --preprocess=imagenet)
  echo "calibration: 16 images of $IMAGES (imagenet preprocessing), batches of $OPT"
else
  echo "calibration: ../shared/datasets absent: 16 seeded N(0,1) tensors, batches of $OPT"
  /usr/bin/python3 - "$WORK/calib" "$PY_SHAPE" <<'PY'
import os, sys
import numpy as np
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
shape = [1] + [int(x) for x in sys.argv[2].split(",")]
r = np.random.default_rng(3)
for i in range(16):
    np.save(f"{d}/s{i:02d}.npy", r.standard_normal(shape).astype(np.float32))
PY
  CALIB=(--calibData="$WORK/calib")
fi

fail=0
start=$(date +%s)
"$TRT" --onnx="$ONNX" --int8 "${CALIB[@]}" --calibrator=minmax --calib="$WORK/cache.txt" \
  --minShapes=input:1x$CHW --optShapes=input:${OPT}x$CHW --maxShapes=input:${MAX}x$CHW \
  --shapeBuckets=2 --saveEngine="$WORK/dynamic.plan" --skipInference >"$WORK/build.log" 2>&1 ||
  { echo "FAILED dynamic INT8 build:"; cat "$WORK/build.log"; exit 1; }
echo "dynamic INT8 build: $(( $(date +%s) - start )) s; $(grep -m1 -oE 'Calibrating on .*' "$WORK/build.log")"
grep -qE "batch\(es\) of $OPT" "$WORK/build.log" ||
  { echo "FAILED: calibration batches are not of the opt batch $OPT"; fail=1; }
[ "$(grep -c 'Calibrating on' "$WORK/build.log")" = 1 ] ||
  { echo "FAILED: calibration ran more than once"; fail=1; }
[ -s "$WORK/cache.txt" ] || { echo "FAILED: no calibration cache written"; exit 1; }

for b in "${BATCHES[@]}"; do
  dir=$WORK/b$b; mkdir -p "$dir"
  /usr/bin/python3 - "$dir/input.npy" "$b,$PY_SHAPE" <<'PY'
import sys
import numpy as np
shape = [int(x) for x in sys.argv[2].split(",")]
np.save(sys.argv[1], np.random.default_rng(20 + shape[0]).standard_normal(shape).astype(np.float32))
PY
  "$TRT" --onnx="$ONNX" --int8 --calib="$WORK/cache.txt" --shapes=input:${b}x$CHW \
    --loadInputs=input:"$dir/input.npy" --exportOutput="$dir/fixed" \
    --iterations=1 --duration=0 --warmUp=0 >"$dir/fixed.log" 2>&1 ||
    { echo "FAILED fixed-shape INT8 build at batch $b:"; cat "$dir/fixed.log"; fail=1; continue; }
  if "$TRT" --loadEngine="$WORK/dynamic.plan" --shapes=input:${b}x$CHW \
       --loadInputs=input:"$dir/input.npy" --loadRefOutputs=output:"$dir/fixed/output.pb" \
       --rtol=0 --atol=0 --iterations=1 --duration=0 --warmUp=0 >"$dir/run.log" 2>&1; then
    echo "PASSED $MODEL INT8 batch $b: bit-identical to the fixed-shape INT8 engine;" \
      "$(grep -oE 'shape bucket [0-9]+ \([^)]*\): modeled latency [0-9.]+ ms' "$dir/run.log")"
  else
    echo "FAILED $MODEL INT8 batch $b vs the fixed-shape INT8 engine:"; cat "$dir/run.log"; fail=1
  fi
done
exit $fail
