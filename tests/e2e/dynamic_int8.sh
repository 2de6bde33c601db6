#!/usr/bin/env bash
# INT8 with optimization profiles (issue 19, docs/dynamic_shapes.md): one
# INT8 plan per dynamic model, calibrated once at the profile's opt shape
# (calibration batches of the opt batch, > 1), writing one calibration cache;
# then at each run-time shape the plan's outputs are compared with a
# fixed-shape INT8 engine built at that shape from the same cache (no
# calibration data): one set of tensor scales for every shape bucket and for
# the host graph. Bit-identical (--rtol=0 --atol=0) for both: for BERT the
# dynamic graph keeps the heads' Reshape/Transpose layers (their targets are
# computed at run time), whose int8 tensors take the scale of the tensor they
# permute (pass-through layers), so its Int8Attention computes what the
# fixed-shape engine's does.
#  - resnet50_dynamic: profile batch 1..8 (opt 4), calibration on 16 images of
#    ../shared/datasets/imagenet_sample_450 (imagenet preprocessing), or on 16
#    seeded N(0,1) tensors when that folder is absent (the log says so); runs
#    at batch 1, 3, 8.
#  - bert_small_dynamic: profile batch x sequence 1x8 .. 2x128 (opt 2x64),
#    calibrated from the CLI with one dataset per input
#    (--calibData=input_ids:DIR,attention_mask:DIR,token_type_ids:DIR, 16
#    seeded samples of sequence 64 with padding); runs at 1x8, 1x77, 2x128,
#    each also compared with ONNX Runtime FP32 at the INT8 tolerance below.
# Usage: dynamic_int8.sh <source dir> <build dir> [models...]
# (default: resnet50_dynamic bert_small_dynamic)
set -euo pipefail
SRC=$1
BUILD=$2
shift 2
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(resnet50_dynamic bert_small_dynamic)
WORK=$BUILD/test_work/dynamic_int8
TRT=$BUILD/bin/trtexec_like
PY=/usr/bin/python3
rm -rf "$WORK"; mkdir -p "$WORK"
$PY "$SRC/models/generate.py" --out "$WORK/models" "${MODELS[@]}" >/dev/null
# INT8 BERT (Int8Gemm and Int8Attention) vs ORT FP32 (max abs error):
# last_hidden_state (LayerNorm output, values ~N(0,1)) and logits. Measured
# at 1x8 / 1x77 / 2x128: 0.212 / 0.270 / 0.248 and 0.035 / 0.108 / 0.063.
BERT_RTOL=0.05
BERT_ATOL=0.35
fail=0

# make_inputs <dir> <name:AxB...,...>: seeded inputs as .npy files
make_inputs() {
  $PY - "$1" "$2" <<'PY'
import sys
import numpy as np
d, spec = sys.argv[1], sys.argv[2]
for item in spec.split(","):
    name, dims = item.rsplit(":", 1)
    shape = [int(x) for x in dims.split("x")]
    r = np.random.default_rng(20 + sum(shape))
    if name == "input_ids":
        a = r.integers(1000, 30522, shape).astype(np.int64); a[:, 0] = 101
    elif name == "attention_mask":
        a = np.ones(shape, np.int64); a[:, (shape[1] * 3) // 4:] = 0
    elif name == "token_type_ids":
        a = np.zeros(shape, np.int64); a[:, shape[1] // 2:] = 1
    else:
        a = r.standard_normal(shape).astype(np.float32)
    np.save(f"{d}/{name}.npy", a)
PY
}

# check_shape <model> <tag> <shapes name:dims,...> <outputs> <rtol> <atol> [ort]: the
# dynamic plan vs the fixed-shape INT8 engine from the cache at rtol/atol (0 0:
# bit-identical); with "ort", also the plan vs ONNX Runtime FP32 at
# BERT_RTOL/BERT_ATOL.
check_shape() {
  local model=$1 tag=$2 shapes=$3 outputs=$4 rtol=$5 atol=$6 ort=${7:-}
  local dir=$WORK/$model.$tag load="" refs="" item name
  mkdir -p "$dir"
  make_inputs "$dir" "$shapes"
  for item in ${shapes//,/ }; do name=${item%:*}; load+="${load:+,}$name:$dir/$name.npy"; done
  "$TRT" --onnx="$WORK/models/$model.onnx" --int8 --calib="$WORK/$model.cache" --shapes="$shapes" \
    --loadInputs="$load" --exportOutput="$dir/fixed" --iterations=1 --duration=0 --warmUp=0 \
    >"$dir/fixed.log" 2>&1 || { echo "FAILED fixed-shape INT8 $model at $shapes:"; cat "$dir/fixed.log"; fail=1; return; }
  for item in ${outputs//,/ }; do refs+="${refs:+,}$item:$dir/fixed/$item.pb"; done
  if "$TRT" --loadEngine="$WORK/$model.plan" --shapes="$shapes" --loadInputs="$load" \
       --loadRefOutputs="$refs" --rtol="$rtol" --atol="$atol" --iterations=1 --duration=0 \
       --warmUp=0 >"$dir/run.log" 2>&1; then
    if [ "$rtol$atol" = 00 ]; then
      echo "PASSED $model INT8 at $shapes: bit-identical to the fixed-shape INT8 engine;"
    else
      echo "PASSED $model INT8 at $shapes vs the fixed-shape INT8 engine (rtol $rtol, atol $atol):" \
        $(grep -E "PASSED output" "$dir/run.log" | sed 's/, max rel.*//' | tr '\n' ' ')
    fi
    echo "    $(grep -oE 'shape bucket [0-9]+ \([^)]*\): modeled latency [0-9.]+ ms' "$dir/run.log")"
  else
    echo "FAILED $model INT8 at $shapes vs the fixed-shape INT8 engine:"; cat "$dir/run.log"; fail=1
  fi
  [ "$ort" = ort ] || return 0
  local ort_args=() ort_refs=""
  for item in ${shapes//,/ }; do name=${item%:*}; ort_args+=(--input "$name=$dir/$name.npy"); done
  node "$SRC/tools/ort_ref/run.js" --model "$WORK/models/$model.onnx" "${ort_args[@]}" \
    --outdir "$dir/ort" --threads 2 2>"$dir/ort.log"
  for item in ${outputs//,/ }; do ort_refs+="${ort_refs:+,}$item:$dir/ort/$item.npy"; done
  if "$TRT" --loadEngine="$WORK/$model.plan" --shapes="$shapes" --loadInputs="$load" \
       --loadRefOutputs="$ort_refs" --rtol=$BERT_RTOL --atol=$BERT_ATOL --iterations=1 --duration=0 \
       --warmUp=0 >"$dir/ort_run.log" 2>&1; then
    echo "PASSED $model INT8 at $shapes vs ORT FP32 (rtol $BERT_RTOL, atol $BERT_ATOL):" \
      $(grep -E "PASSED output" "$dir/ort_run.log" | sed "s/, max rel.*//" | tr "\n" " ")
  else
    echo "FAILED $model INT8 at $shapes vs ORT FP32:"; grep -E "output '" "$dir/ort_run.log"; fail=1
  fi
}

# build_dynamic <model> <calib args...> -- <profile args...>
build_dynamic() {
  local model=$1; shift
  local start; start=$(date +%s)
  "$TRT" --onnx="$WORK/models/$model.onnx" --int8 --calib="$WORK/$model.cache" "$@" \
    --shapeBuckets=2 --saveEngine="$WORK/$model.plan" --skipInference >"$WORK/$model.build.log" 2>&1 ||
    { echo "FAILED dynamic INT8 build of $model:"; cat "$WORK/$model.build.log"; exit 1; }
  echo "$model: dynamic INT8 build $(( $(date +%s) - start )) s;" \
    "$(grep -m1 -oE 'Calibrating on .*' "$WORK/$model.build.log")"
  [ "$(grep -c 'Calibrating on' "$WORK/$model.build.log")" = 1 ] ||
    { echo "FAILED: calibration ran more than once"; fail=1; }
  [ -s "$WORK/$model.cache" ] || { echo "FAILED: no calibration cache written"; exit 1; }
}

for model in "${MODELS[@]}"; do
  case "$model" in
    resnet50_dynamic)
      IMAGES=$SRC/../shared/datasets/imagenet_sample_450/images
      if [ -d "$IMAGES" ]; then
        CALIB=(--calibData="$IMAGES" --calibImages=16 --preprocess=imagenet --calibrator=minmax)
      else
        echo "$model: ../shared/datasets absent: calibrating on 16 seeded N(0,1) tensors"
        mkdir -p "$WORK/calib_r50"
        for i in $(seq -w 0 15); do
          mkdir -p "$WORK/calib_r50/$i"; make_inputs "$WORK/calib_r50/$i" "input:1x3x224x$((224))"
          mv "$WORK/calib_r50/$i/input.npy" "$WORK/calib_r50/s$i.npy"; rmdir "$WORK/calib_r50/$i"
        done
        CALIB=(--calibData="$WORK/calib_r50" --calibrator=minmax)
      fi
      build_dynamic "$model" "${CALIB[@]}" --minShapes=input:1x3x224x224 \
        --optShapes=input:4x3x224x224 --maxShapes=input:8x3x224x224
      grep -qE "batch\(es\) of 4" "$WORK/$model.build.log" ||
        { echo "FAILED: calibration batches are not of the opt batch 4"; fail=1; }
      for b in 1 3 8; do check_shape "$model" "b$b" "input:${b}x3x224x224" output 0 0; done
      ;;
    bert_small_dynamic)
      source "$SRC/tests/e2e/ort_lib.sh"
      require_ort "$SRC" "$WORK"
      $PY - "$WORK/calib_bert" <<'PY'
import os, sys
import numpy as np
w = sys.argv[1]
r = np.random.default_rng(5)
for name in ["input_ids", "attention_mask", "token_type_ids"]:
    os.makedirs(f"{w}/{name}", exist_ok=True)
S = 64
for i in range(16):
    ids = r.integers(1000, 30522, (1, S)).astype(np.int64); ids[:, 0] = 101
    valid = int(r.integers(S // 2, S + 1))
    mask = np.zeros((1, S), np.int64); mask[:, :valid] = 1
    tt = np.zeros((1, S), np.int64); tt[:, valid // 2:] = 1
    np.save(f"{w}/input_ids/s{i:02d}.npy", ids)
    np.save(f"{w}/attention_mask/s{i:02d}.npy", mask)
    np.save(f"{w}/token_type_ids/s{i:02d}.npy", tt)
PY
      C=$WORK/calib_bert
      prof() { echo "input_ids:$1,attention_mask:$1,token_type_ids:$1"; }
      build_dynamic "$model" \
        --calibData="input_ids:$C/input_ids,attention_mask:$C/attention_mask,token_type_ids:$C/token_type_ids" \
        --minShapes="$(prof 1x8)" --optShapes="$(prof 2x64)" --maxShapes="$(prof 2x128)"
      grep -qE "8 batch\(es\) of 2" "$WORK/$model.build.log" ||
        { echo "FAILED: calibration batches are not 8 of the opt batch 2"; fail=1; }
      for s in 1x8 1x77 2x128; do check_shape "$model" "$s" "$(prof "$s")" last_hidden_state,logits \
          0 0 ort
      done
      ;;
    *) echo "unknown model $model"; exit 2 ;;
  esac
done
exit $fail
