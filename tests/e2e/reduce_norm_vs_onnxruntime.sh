#!/usr/bin/env bash
# Reductions, search and normalization ops (tests/e2e/reduce_norm_models.py,
# one op per model): the engine's outputs (built, saved, reloaded plan) must
# match ONNX Runtime's on the same seeded input, rtol 1e-4 / atol 1e-5
# (integer outputs: Indices of TopK, ArgMin, exactly by the same tolerance).
# Usage: reduce_norm_vs_onnxruntime.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
WORK=$BUILD/test_work/reduce_norm_vs_ort
rm -rf "$WORK"
mkdir -p "$WORK/models"

source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"

/usr/bin/python3 "$SRC/tests/e2e/reduce_norm_models.py" "$WORK/models"

fail=0
count=0
for f in "$WORK"/models/*.onnx; do
  n=$(basename "$f" .onnx)
  count=$((count + 1))
  node "$SRC/tools/ort_ref/run.js" --model "$f" --input "X=$WORK/models/$n.X.npy" \
    --outdir "$WORK/$n.ort" 2>"$WORK/$n.ort.log"
  refs=""
  for r in "$WORK/$n.ort"/Y*.npy; do refs="$refs,$(basename "$r" .npy):$r"; done
  if "$BUILD/bin/trtexec_like" --onnx="$f" --saveEngine="$WORK/$n.plan" --skipInference \
       >"$WORK/$n.build.log" 2>&1 &&
     "$BUILD/bin/trtexec_like" --loadEngine="$WORK/$n.plan" --loadInputs="X:$WORK/models/$n.X.npy" \
       --loadRefOutputs="${refs#,}" --rtol=1e-4 --atol=1e-5 \
       --iterations=1 --duration=0 --warmUp=0 >"$WORK/$n.run.log" 2>&1; then
    echo "PASSED $n: $(grep -h "output 'Y" "$WORK/$n.run.log" | tr '\n' ' ')"
  else
    echo "FAILED $n:"; cat "$WORK/$n.build.log" "$WORK/$n.run.log" 2>/dev/null || true
    fail=1
  fi
done
echo "$count models compared with ONNX Runtime"
[ "$count" -gt 0 ] || fail=1
exit $fail
