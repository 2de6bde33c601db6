#!/usr/bin/env bash
# Data-dependent output shapes (NonMaxSuppression, NonZero, TopK with a
# run-time K) against ONNX Runtime (npm onnxruntime-node): each model of
# data_dependent_models.py is built ONCE into a plan (--saveEngine), then run
# from that plan (--loadEngine) on two input sets giving different output
# extents; every output must match ONNX Runtime's in shape and values (rtol
# 1e-5, atol 1e-6; integer outputs exactly), and the two runs' output shapes
# must differ.
# Usage: data_dependent_vs_onnxruntime.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
WORK=$BUILD/test_work/data_dependent_vs_ort
rm -rf "$WORK"
mkdir -p "$WORK"

source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"

/usr/bin/python3 "$SRC/tests/e2e/data_dependent_models.py" "$WORK"

fail=0
count=0
for onnx_file in "$WORK"/*.onnx; do
  m=$(basename "$onnx_file" .onnx)
  count=$((count + 1))
  if ! "$BUILD/bin/trtexec_like" --onnx="$onnx_file" --saveEngine="$WORK/$m.plan" \
       --iterations=1 --duration=0 --warmUp=0 >"$WORK/$m.build.log" 2>&1; then
    echo "FAILED $m: build:"; cat "$WORK/$m.build.log"; fail=1; continue
  fi
  shapes=()
  for tag in a b; do
    ort_in=(); eng_in=""
    for f in "$WORK/$m.$tag".*.npy; do
      n=$(basename "$f" .npy); n=${n#"$m.$tag."}
      ort_in+=(--input "$n=$f")
      eng_in="$eng_in${eng_in:+,}$n:$f"
    done
    if ! node "$SRC/tools/ort_ref/run.js" --model "$onnx_file" "${ort_in[@]}" \
         --outdir "$WORK/$m.$tag.ort" 2>"$WORK/$m.$tag.ort.log"; then
      echo "FAILED $m/$tag: ONNX Runtime did not run it:"; cat "$WORK/$m.$tag.ort.log"
      fail=1; continue
    fi
    refs=""
    for ref in "$WORK/$m.$tag.ort"/*.npy; do
      refs="$refs${refs:+,}$(basename "$ref" .npy):$ref"
    done
    if "$BUILD/bin/trtexec_like" --loadEngine="$WORK/$m.plan" --loadInputs="$eng_in" \
         --loadRefOutputs="$refs" --rtol=1e-5 --atol=1e-6 --dumpOutput \
         --iterations=1 --duration=0 --warmUp=0 >"$WORK/$m.$tag.run.log" 2>&1; then
      s=$(grep -E '^[A-Za-z_]+: (float|int64) ' "$WORK/$m.$tag.run.log" | tr '\n' ' ' || true)
      shapes+=("$s")
      echo "PASSED $m/$tag: $(grep -c "PASSED output" "$WORK/$m.$tag.run.log") outputs; $s"
    else
      echo "FAILED $m/$tag:"; cat "$WORK/$m.$tag.run.log"; fail=1
    fi
  done
  if [ "${#shapes[@]}" -eq 2 ] && [ "${shapes[0]}" = "${shapes[1]}" ]; then
    echo "FAILED $m: both input sets gave the same output shapes (${shapes[0]})"; fail=1
  fi
done
[ "$count" -eq 3 ] || { echo "FAILED: expected 3 models, got $count"; exit 1; }
exit $fail
