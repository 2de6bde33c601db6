#!/usr/bin/env bash
# Dynamic shapes (issue 19, docs/dynamic_shapes.md): one plan per model built
# with an optimization profile (--minShapes/--optShapes/--maxShapes), saved,
# then loaded and run at several shapes inside the profile (--shapes with
# --loadEngine selects the run-time shape, as trtexec), every output compared
# with ONNX Runtime's on the same inputs at rtol 1e-3 / atol 1e-4:
#  - bert_small_dynamic (dynamic batch and sequence; the exporter's
#    Shape/Gather/Unsqueeze/Concat chains for the head reshapes and a Slice of
#    the position ids by the sequence length): batch x sequence 1x8, 1x77,
#    2x128, 2x77 in the profile [1..2] x [8..128];
#  - resnet50_dynamic (dynamic batch): batch 1, 3, 8 in the profile [1..8].
# Each run must report its shape bucket and output shapes; then the errors:
# a run-time shape outside the profile (naming the ranges), a dynamic model
# built without a profile (naming the input and dimension), min > max.
# Usage: dynamic_shapes_vs_onnxruntime.sh <source dir> <build dir> [models...]
# (default: bert_small_dynamic resnet50_dynamic)
set -euo pipefail
SRC=$1
BUILD=$2
shift 2
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(bert_small_dynamic resnet50_dynamic)
WORK=$BUILD/test_work/dynamic_shapes_vs_ort
TRT=$BUILD/bin/trtexec_like
mkdir -p "$WORK"

source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"
/usr/bin/python3 "$SRC/models/generate.py" --out "$WORK/models" "${MODELS[@]}"

fail=0
# run_at <model> <tag> <inputs: name:shape,...> <outputs>: writes inputs, ORT reference, runs the plan
run_at() {
  local model=$1 tag=$2 shapes=$3 outputs=$4
  local dir=$WORK/$model.$tag
  rm -rf "$dir"; mkdir -p "$dir"
  /usr/bin/python3 - "$dir" "$shapes" <<'PY'
import sys
import numpy as np
d, spec = sys.argv[1], sys.argv[2]
r = np.random.default_rng(11)
for item in spec.split(","):
    name, dims = item.rsplit(":", 1)
    shape = [int(x) for x in dims.split("x")]
    if name == "input_ids":
        a = r.integers(0, 30522, shape).astype(np.int64); a[:, 0] = 101
    elif name == "attention_mask":
        a = np.ones(shape, np.int64); a[:, (shape[1] * 3) // 4:] = 0  # padding at the end
    elif name == "token_type_ids":
        a = np.zeros(shape, np.int64); a[:, shape[1] // 2:] = 1
    else:
        a = r.standard_normal(shape).astype(np.float32)
    np.save(f"{d}/{name}.npy", a)
PY
  local ort_args=() load="" refs="" item name
  for item in ${shapes//,/ }; do
    name=${item%:*}
    ort_args+=(--input "$name=$dir/$name.npy")
    load+="${load:+,}$name:$dir/$name.npy"
  done
  node "$SRC/tools/ort_ref/run.js" --model "$WORK/models/$model.onnx" "${ort_args[@]}" \
    --outdir "$dir/ort" --threads 2 2>"$dir/ort.log"
  for item in ${outputs//,/ }; do refs+="${refs:+,}$item:$dir/ort/$item.npy"; done
  if "$TRT" --loadEngine="$WORK/$model.plan" --shapes="$shapes" --loadInputs="$load" \
       --loadRefOutputs="$refs" --rtol=1e-3 --atol=1e-4 --iterations=1 --duration=0 --warmUp=0 \
       >"$dir/run.log" 2>&1 && grep -q "Dynamic shapes: profile 0, input shapes" "$dir/run.log"; then
    echo "PASSED $model at $shapes: $(grep -oE 'shape bucket [0-9]+ \([^)]*\): modeled latency [0-9.]+ ms' "$dir/run.log");" \
      $(grep "output '" "$dir/run.log" | tr '\n' ' ')
  else
    echo "FAILED $model at $shapes:"; cat "$dir/run.log"; fail=1
  fi
}

# expect_error <what> <message regex> <trtexec_like args...>
expect_error() {
  local what=$1 regex=$2; shift 2
  if "$TRT" "$@" >"$WORK/error.log" 2>&1; then
    echo "FAILED $what: accepted"; cat "$WORK/error.log"; fail=1
  elif grep -qE "$regex" "$WORK/error.log"; then
    echo "PASSED $what: $(grep '\[E\]' "$WORK/error.log" | head -c 300)"
  else
    echo "FAILED $what: message does not match /$regex/:"; cat "$WORK/error.log"; fail=1
  fi
}

for model in "${MODELS[@]}"; do
  case "$model" in
    bert_small_dynamic)
      prof() { echo "input_ids:$1,attention_mask:$1,token_type_ids:$1"; }
      "$TRT" --onnx="$WORK/models/$model.onnx" --minShapes="$(prof 1x8)" --optShapes="$(prof 1x64)" \
        --maxShapes="$(prof 2x128)" --saveEngine="$WORK/$model.plan" --skipInference \
        >"$WORK/$model.build.log" 2>&1 || { echo "FAILED $model build:"; cat "$WORK/$model.build.log"; exit 1; }
      for bs in 1x8 1x77 2x128 2x77; do run_at "$model" "$bs" "$(prof "$bs")" last_hidden_state,logits; done
      expect_error "$model: sequence outside the profile" \
        "outside every optimization profile.*max 2x128" \
        --loadEngine="$WORK/$model.plan" --shapes="$(prof 1x200)" --iterations=1 --duration=0 --warmUp=0
      expect_error "$model: built without a profile" \
        "input 'input_ids' has dynamic dimension 0 \('batch'\).*--minShapes" \
        --onnx="$WORK/models/$model.onnx" --skipInference
      expect_error "$model: min > max" \
        "input '(input_ids|attention_mask|token_type_ids)' dimension 1 has min 64, opt 64, max 32" \
        --onnx="$WORK/models/$model.onnx" --minShapes="$(prof 1x64)" --optShapes="$(prof 1x64)" \
        --maxShapes="$(prof 1x32)" --skipInference
      ;;
    resnet50_dynamic)
      "$TRT" --onnx="$WORK/models/$model.onnx" --minShapes=input:1x3x224x224 \
        --optShapes=input:4x3x224x224 --maxShapes=input:8x3x224x224 --shapeBuckets=2 \
        --saveEngine="$WORK/$model.plan" --skipInference \
        >"$WORK/$model.build.log" 2>&1 || { echo "FAILED $model build:"; cat "$WORK/$model.build.log"; exit 1; }
      for b in 1 3 8; do run_at "$model" "b$b" "input:${b}x3x224x224" output; done
      expect_error "$model: batch outside the profile" \
        "shape 9x3x224x224 is outside every optimization profile.*min 1x3x224x224.*max 8x3x224x224" \
        --loadEngine="$WORK/$model.plan" --shapes=input:9x3x224x224 --iterations=1 --duration=0 --warmUp=0
      ;;
    *) echo "unknown model $model"; exit 2 ;;
  esac
  rm -f "$WORK/$model.plan"
done
exit $fail
