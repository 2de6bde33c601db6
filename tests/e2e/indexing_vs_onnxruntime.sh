#!/usr/bin/env bash
# Indexing / Einsum / recurrent single-node models (indexing_models.py) against
# ONNX Runtime (npm onnxruntime-node), via trtexec_like: every output within
# rtol 1e-4 / atol 1e-5 (float32; recurrences of a few steps).
# Usage: indexing_vs_onnxruntime.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
WORK=$BUILD/test_work/indexing_vs_ort
rm -rf "$WORK"
mkdir -p "$WORK"

source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"
if ! /usr/bin/python3 -c "import onnx" 2>/dev/null; then
  echo "SKIPPED: python3-onnx is not available"
  exit 0
fi

/usr/bin/python3 "$SRC/tests/e2e/indexing_models.py" "$WORK"

fail=0
count=0
for onnx_file in "$WORK"/*.onnx; do
  m=$(basename "$onnx_file" .onnx)
  count=$((count + 1))
  if ! node "$SRC/tools/ort_ref/run.js" --model "$onnx_file" --input "X=$WORK/$m.X.npy" \
       --outdir "$WORK/$m.ort" 2>"$WORK/$m.ort.log"; then
    echo "FAILED $m: ONNX Runtime did not run it:"; cat "$WORK/$m.ort.log"
    fail=1
    continue
  fi
  refs=""
  for ref in "$WORK/$m.ort"/*.npy; do
    refs="$refs${refs:+,}$(basename "$ref" .npy):$ref"
  done
  if "$BUILD/bin/trtexec_like" --onnx="$onnx_file" --loadInputs="X:$WORK/$m.X.npy" \
       --loadRefOutputs="$refs" --rtol=1e-4 --atol=1e-5 \
       --iterations=1 --duration=0 --warmUp=0 >"$WORK/$m.run.log" 2>&1; then
    echo "PASSED $m: $(grep -c "PASSED output" "$WORK/$m.run.log") outputs"
  else
    echo "FAILED $m:"; cat "$WORK/$m.run.log"
    fail=1
  fi
done
[ "$count" -gt 0 ] || { echo "FAILED: no models generated"; exit 1; }
exit $fail
