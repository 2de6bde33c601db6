#!/usr/bin/env bash
# Generated transformers (models/generate.py, issue 18): bert_small (4 layers,
# hidden 256, seq 128; int64 input_ids / attention_mask with padding /
# token_type_ids) and vit_tiny (4 layers, hidden 192, 224x224). Each is built
# at the default optimization level, its plan saved and reloaded, and every
# output compared with ONNX Runtime's on the same inputs at rtol 1e-3 /
# atol 1e-4 (float32 summation order differs between the runtimes); the
# fused plan must have one LayerNormalization layer per LayerNorm, every
# GELU fused into its FFN Gemm (fuse-matmul-add on [1, S, hidden], then
# fuse-activation: no Gelu layer left, one Gemm holding the Erf per block),
# every weight projection a Gemm with its bias (fuse-matmul-add), exactly one
# Attention layer per block (fuse-attention: Q.K^T, scale, mask add, Softmax,
# P.V) and no MatMul left, no head split/merge Transpose left (fuse-attention-
# heads; ViT keeps its patch-embedding Transpose), both residual Adds of each
# block in the Gemm before them (fuse-residual), and match ONNX Runtime as
# well at --optLevel=0.
# The large models the same way (not in CTest: ~2 min and 0.8 GB of files):
#   transformers_vs_onnxruntime.sh <src> <build> bert_base vit_b16
# Usage: transformers_vs_onnxruntime.sh <source dir> <build dir> [models...]
# (default models: bert_small vit_tiny)
set -euo pipefail
SRC=$1
BUILD=$2
shift 2
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(bert_small vit_tiny)
WORK=$BUILD/test_work/transformers_vs_ort
TRT=$BUILD/bin/trtexec_like
mkdir -p "$WORK"

source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"

# --force: a model (and below its ONNX Runtime outputs) left by an earlier run
# of an older generate.py is never used.
/usr/bin/python3 "$SRC/models/generate.py" --force --out "$WORK/models" "${MODELS[@]}"
/usr/bin/python3 - "$WORK" <<'PY'
import sys
import numpy as np
w = sys.argv[1]
r = np.random.default_rng(7)
ids = r.integers(0, 30522, (1, 128)).astype(np.int64)
ids[0, 0] = 101
mask = np.ones((1, 128), np.int64)
mask[0, 100:] = 0  # 28 padding positions
types = np.zeros((1, 128), np.int64)
types[0, 60:100] = 1
np.save(f"{w}/input_ids.npy", ids)
np.save(f"{w}/attention_mask.npy", mask)
np.save(f"{w}/token_type_ids.npy", types)
np.save(f"{w}/pixel_values.npy", r.standard_normal((1, 3, 224, 224)).astype(np.float32))
PY

fail=0
# check <model> <optLevel> <inputs> <outputs> <LayerNormalization layers> <Gelu layers>
#       <Gemm layers with a fused GELU> <MatMul layers, or - for any> <Attention layers>
#       <Transpose layers, or - for any> <Gemm layers with a fused residual Add>
check() {
  local model=$1 level=$2 inputs=$3 outputs=$4 want_ln=$5 want_gelu=$6 want_gemm_gelu=$7
  local want_mm=$8 want_attn=$9 want_tr=${10} want_res=${11}
  local tag=$model.O$level ort_args=() refs=() item
  for item in ${inputs//,/ }; do ort_args+=(--input "$item=$WORK/$item.npy"); done
  for item in ${outputs//,/ }; do refs+=("$item:$WORK/$model.ort/$item.npy"); done
  if [ "$level" = 2 ]; then  # the first check of each model
    rm -rf "$WORK/$model.ort"
    node "$SRC/tools/ort_ref/run.js" --model "$WORK/models/$model.onnx" "${ort_args[@]}" \
      --outdir "$WORK/$model.ort" --threads 2 2>"$WORK/$model.ort.log"
  fi
  local load=""
  for item in ${inputs//,/ }; do load+="${load:+,}$item:$WORK/$item.npy"; done
  local ref
  ref=$(IFS=,; echo "${refs[*]}")
  if "$TRT" --onnx="$WORK/models/$model.onnx" --optLevel="$level" --saveEngine="$WORK/$tag.plan" \
       --skipInference >"$WORK/$tag.build.log" 2>&1 &&
     "$TRT" --loadEngine="$WORK/$tag.plan" --loadInputs="$load" --loadRefOutputs="$ref" \
       --rtol=1e-3 --atol=1e-4 --iterations=1 --duration=0 --warmUp=0 >"$WORK/$tag.run.log" 2>&1 &&
     "$TRT" inspect "$WORK/$tag.plan" >"$WORK/$tag.inspect.log" 2>&1; then
    local ln gelu gemm_gelu mm attn tr res layers
    ln=$(grep -cE '^ *[0-9]+  LayerNormalization ' "$WORK/$tag.inspect.log" || true)
    gelu=$(grep -cE '^ *[0-9]+  Gelu ' "$WORK/$tag.inspect.log" || true)
    gemm_gelu=$(grep -cE '^ *[0-9]+  Gemm .*/Erf' "$WORK/$tag.inspect.log" || true)
    mm=$(grep -cE '^ *[0-9]+  MatMul ' "$WORK/$tag.inspect.log" || true)
    attn=$(grep -cE '^ *[0-9]+  Attention ' "$WORK/$tag.inspect.log" || true)
    tr=$(grep -cE '^ *[0-9]+  Transpose ' "$WORK/$tag.inspect.log" || true)
    res=$(grep -cE '^ *[0-9]+  Gemm .*/residual[a-z_]*/Add' "$WORK/$tag.inspect.log" || true)
    layers=$(grep -oE '=== Layers \([0-9]+ layers' "$WORK/$tag.inspect.log" | grep -oE '[0-9]+')
    if [ "$ln" != "$want_ln" ] || [ "$gelu" != "$want_gelu" ] ||
       [ "$gemm_gelu" != "$want_gemm_gelu" ] || { [ "$want_mm" != - ] && [ "$mm" != "$want_mm" ]; } ||
       [ "$attn" != "$want_attn" ] || { [ "$want_tr" != - ] && [ "$tr" != "$want_tr" ]; } ||
       [ "$res" != "$want_res" ]; then
      echo "FAILED $tag: $ln LayerNormalization, $gelu Gelu, $gemm_gelu Gemm+GELU, $mm MatMul," \
        "$attn Attention, $tr Transpose, $res Gemm+residual layers, expected $want_ln, $want_gelu," \
        "$want_gemm_gelu, $want_mm, $want_attn, $want_tr, $want_res"
      fail=1
    else
      echo "PASSED $tag: $layers layers ($ln LayerNormalization, $gelu Gelu, $gemm_gelu Gemm+GELU," \
        "$mm MatMul, $attn Attention, $tr Transpose, $res Gemm+residual);" \
        $(grep "output '" "$WORK/$tag.run.log" | tr '\n' ' ')
    fi
  else
    echo "FAILED $tag:"; cat "$WORK/$tag.build.log" "$WORK/$tag.run.log"
    fail=1
  fi
  rm -f "$WORK/$tag.plan"
}

# One LayerNormalization per LayerNorm (2 per block + the embeddings' or the
# final one), one Gemm with the GELU, one Attention and two Gemms with a
# residual per block, no MatMul and no Transpose but ViT's patch embedding's
# when fused; none of these at --optLevel=0.
for model in "${MODELS[@]}"; do
  case "$model" in
    bert_small) blocks=4 ;; bert_base) blocks=12 ;; vit_tiny) blocks=4 ;; vit_b16) blocks=12 ;;
    *) echo "unknown model $model"; exit 2 ;;
  esac
  case "$model" in
    bert_*) io=(input_ids,attention_mask,token_type_ids last_hidden_state,logits); tr=0 ;;
    *) io=(pixel_values logits); tr=1 ;;
  esac
  check "$model" 2 "${io[@]}" $((2 * blocks + 1)) 0 "$blocks" 0 "$blocks" "$tr" $((2 * blocks))
  check "$model" 0 "${io[@]}" 0 0 0 - 0 - 0
done
exit $fail
