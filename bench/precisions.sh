#!/usr/bin/env bash
# Modeled FP32 / FP16 / BF16 / INT8 / best engines (issue 20) of ResNet-50,
# MobileNetV2 and BERT-small on every hardware preset: device latency, energy
# per inference and DRAM traffic (read + written), from the cost model
# (trtexec_like --skipInference; nothing runs on the host).
#
# INT8 and best calibrate on the first CALIB_IMAGES ImageNet photos of
# ../shared (modeled figures do not depend on the scales); BERT-small
# calibrates on CALIB_IMAGES generated token batches (random word ids, an
# all-ones attention mask, segment ids 0 then 1; .npy files written here)
# and its INT8 engine has Int8Attention layers.
# A precision the preset lacks (tpu-v1: fp16, bf16) prints "unsupported".
#
# Usage: bash bench/precisions.sh [extra trtexec_like flags]
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/build/bin/trtexec_like"
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
MODELS="$ROOT/models/out"
IMAGENET="${IMAGENET:-$ROOT/../shared/datasets/imagenet_sample_450}"
CALIB_IMAGES="${CALIB_IMAGES:-4}"
for m in resnet50 mobilenetv2 bert_small; do
  [ -f "$MODELS/$m.onnx" ] || /usr/bin/python3 "$ROOT/models/generate.py" "$m" --out "$MODELS" >/dev/null
done

# Token calibration data for BERT-small: one [1, 128] int64 .npy per sample
# and input.
BERT_CALIB="$(mktemp -d)"
trap 'rm -rf "$BERT_CALIB"' EXIT
/usr/bin/python3 - "$BERT_CALIB" "$CALIB_IMAGES" <<'PY'
import os, sys
import numpy as np
out, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
for name in ("input_ids", "attention_mask", "token_type_ids"):
    os.makedirs(os.path.join(out, name))
for i in range(n):
    ids = rng.integers(1000, 30000, size=(1, 128), dtype=np.int64)
    ids[0, 0], ids[0, -1] = 101, 102  # [CLS], [SEP]
    types = np.zeros((1, 128), np.int64)
    types[0, 64:] = 1
    for name, a in (("input_ids", ids), ("attention_mask", np.ones((1, 128), np.int64)),
                    ("token_type_ids", types)):
        np.save(os.path.join(out, name, "%03d.npy" % i), a)
PY
BERT_CALIB_FLAG="--calibData=input_ids:$BERT_CALIB/input_ids,attention_mask:$BERT_CALIB/attention_mask,token_type_ids:$BERT_CALIB/token_type_ids"

printf "%-12s %-8s %-6s %12s %12s %10s\n" model hw prec "latency(ms)" "energy(mJ)" "DRAM(MB)"
for m in resnet50 mobilenetv2 bert_small; do
  for hw in edge gemmini tpu-v1; do
    for prec in fp32 fp16 bf16 int8 best; do
      case "$prec" in
        fp32) flags=() ;;
        fp16) flags=(--fp16) ;;
        bf16) flags=(--bf16) ;;
        int8|best)
          if [ "$m" = bert_small ]; then
            flags=("--$prec" "$BERT_CALIB_FLAG" --calibImages="$CALIB_IMAGES")
            [ "$prec" = best ] && flags+=(--accuracyGuard=0)
          elif [ -d "$IMAGENET" ]; then
            flags=("--$prec" --calibData="$IMAGENET" --calibImages="$CALIB_IMAGES")
            [ "$prec" = best ] && flags+=(--accuracyGuard=0)
          else
            printf "%-12s %-8s %-6s %12s\n" "$m" "$hw" "$prec" "no calibration data"; continue
          fi ;;
      esac
      out="$("$BIN" --onnx="$MODELS/$m.onnx" --hw="$hw" --skipInference "${flags[@]}" "$@" 2>&1)"
      if [ $? -ne 0 ]; then
        if grep -q "does not support precision" <<<"$out"; then
          printf "%-12s %-8s %-6s %12s\n" "$m" "$hw" "$prec" "unsupported"
        else
          echo "$m $hw $prec: FAILED"; echo "$out" | tail -3
        fi
        continue
      fi
      lat=$(sed -n 's/^Device Latency (modeled): \([0-9.]*\) ms.*/\1/p' <<<"$out")
      energy=$(sed -n 's/^Energy per inference (modeled): \([0-9.]*\) \([mun]J\).*/\1 \2/p' <<<"$out")
      dram=$(sed -n 's/.*DRAM traffic: \([0-9.]*\) \([KMG]*B\) read, \([0-9.]*\) \([KMG]*B\) written.*/\1 \2 \3 \4/p' <<<"$out")
      read -r r ru w wu <<<"$dram"
      mb=$(awk -v r="$r" -v ru="$ru" -v w="$w" -v wu="$wu" 'function f(v,u){return u=="GB"?v*1000:u=="KB"?v/1000:u=="B"?v/1e6:v} BEGIN{printf "%.2f", f(r,ru)+f(w,wu)}')
      printf "%-12s %-8s %-6s %12s %12s %10s\n" "$m" "$hw" "$prec" "$lat" "$energy" "$mb"
    done
  done
done
echo "Modeled figures (device time and energy from the cost model, not measured)."
