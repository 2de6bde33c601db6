#!/usr/bin/env bash
# Control flow (control_flow_models.py: If on a run-time condition, Loop and
# Scan forms, opset 8/11/13) compiled into a static graph by the parser
# (src/parser/control_flow.h), against ONNX Runtime (npm onnxruntime-node), via
# trtexec_like: every output within rtol 1e-5 / atol 1e-5 (float32; a few
# additions and products per step).
# Usage: control_flow_vs_onnxruntime.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
WORK=$BUILD/test_work/control_flow_vs_ort
rm -rf "$WORK"
mkdir -p "$WORK"

source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"
if ! /usr/bin/python3 -c "import onnx" 2>/dev/null; then
  echo "SKIPPED: python3-onnx is not available"
  exit 0
fi

/usr/bin/python3 "$SRC/tests/e2e/control_flow_models.py" "$WORK"

fail=0
count=0
for onnx_file in "$WORK"/*.onnx; do
  m=$(basename "$onnx_file" .onnx)
  count=$((count + 1))
  ort_inputs=()
  engine_inputs=""
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    ort_inputs+=(--input "$line")
    engine_inputs="$engine_inputs${engine_inputs:+,}${line/=/:}"
  done <"$WORK/$m.inputs"
  if ! node "$SRC/tools/ort_ref/run.js" --model "$onnx_file" "${ort_inputs[@]}" \
       --outdir "$WORK/$m.ort" 2>"$WORK/$m.ort.log"; then
    echo "FAILED $m: ONNX Runtime did not run it:"; cat "$WORK/$m.ort.log"
    fail=1
    continue
  fi
  refs=""
  for ref in "$WORK/$m.ort"/*.npy; do
    case "$(basename "$ref")" in input_*) continue ;; esac
    refs="$refs${refs:+,}$(basename "$ref" .npy):$ref"
  done
  if "$BUILD/bin/trtexec_like" --onnx="$onnx_file" --loadInputs="$engine_inputs" \
       --loadRefOutputs="$refs" --rtol=1e-5 --atol=1e-5 --verbose \
       --iterations=1 --duration=0 --warmUp=0 >"$WORK/$m.run.log" 2>&1; then
    echo "PASSED $m: $(grep -c "PASSED output" "$WORK/$m.run.log") outputs;" \
      "$(grep -o "control flow compiled: [^)]*)" "$WORK/$m.run.log" | head -1)"
  else
    echo "FAILED $m:"; cat "$WORK/$m.run.log"
    fail=1
  fi
done
[ "$count" -gt 0 ] || { echo "FAILED: no models generated"; exit 1; }
exit $fail
