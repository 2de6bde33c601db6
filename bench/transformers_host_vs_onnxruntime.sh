#!/usr/bin/env bash
# Host FP32 inference latency of the engine against ONNX Runtime (CPU, via
# tools/ort_ref/run.js) on the generated transformers (issue 18), in one run,
# at the same intra-op thread counts, on the same seeded inputs.
#
# For every model: models/generate.py writes it (once, into $OUT), numpy
# writes one seeded input per graph input (BERT: input_ids with [CLS] first,
# attention_mask with 28 padding positions, token_type_ids; ViT: standard
# normal pixel_values), the engine is built once (--saveEngine, fused, FP32),
# then for each thread count our median (trtexec_like --loadEngine
# --threads=N, "Host Latency: ... median = X ms") and ONNX Runtime's median
# (run.js --threads N --iterations K, its {"median_ms": ...} line), and the
# ratio ours / ORT (< 1: we are faster). Both sides alternate REPEAT times;
# the best median of each is kept (other load on a shared machine only ever
# slows a round down). The last column pairs the two sides round by round
# (engine / ORT of the same round; the median over rounds and its range), the
# figure that holds when the machine's speed drifts between rounds.
#
# Usage: bash bench/transformers_host_vs_onnxruntime.sh [models...]
#   (default: bert_base vit_b16; bert_small vit_tiny also work)
# Environment: THREADS="1 2", ITERATIONS=10, REPEAT=2, OUT=/tmp/transformer_models,
# TRTEXEC_LIKE (default build/bin/trtexec_like).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${TRTEXEC_LIKE:-$ROOT/build/bin/trtexec_like}"
THREADS="${THREADS:-1 2}"
ITERATIONS="${ITERATIONS:-10}"
REPEAT="${REPEAT:-2}"
OUT="${OUT:-/tmp/transformer_models}"
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(bert_base vit_b16)
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
bash "$ROOT/tools/ort_ref/setup.sh" >/dev/null
mkdir -p "$OUT"
for m in "${MODELS[@]}"; do
  [ -f "$OUT/$m.onnx" ] || /usr/bin/python3 "$ROOT/models/generate.py" --out "$OUT" "$m" >/dev/null
done
/usr/bin/python3 - "$OUT" <<'PY'
import sys
import numpy as np
o = sys.argv[1]
r = np.random.default_rng(7)
ids = r.integers(1000, 30522, (1, 128)).astype(np.int64)
ids[0, 0] = 101
mask = np.ones((1, 128), np.int64)
mask[0, 100:] = 0
types = np.zeros((1, 128), np.int64)
types[0, 50:100] = 1
np.save(f"{o}/input_ids.npy", ids)
np.save(f"{o}/attention_mask.npy", mask)
np.save(f"{o}/token_type_ids.npy", types)
np.save(f"{o}/pixel_values.npy", r.standard_normal((1, 3, 224, 224)).astype(np.float32))
PY
echo "| model | threads | engine median ms | ONNX Runtime median ms | engine / ORT | per-round ratios: median [min, max] |"
echo "|---|---:|---:|---:|---:|---|"
for m in "${MODELS[@]}"; do
  case "$m" in
    bert_*) inputs=(input_ids attention_mask token_type_ids) ;;
    *) inputs=(pixel_values) ;;
  esac
  load="" ort_args=()
  for i in "${inputs[@]}"; do
    load+="${load:+,}$i:$OUT/$i.npy"
    ort_args+=(--input "$i=$OUT/$i.npy")
  done
  "$BIN" --onnx="$OUT/$m.onnx" --saveEngine="$OUT/$m.plan" --skipInference >/dev/null
  for t in $THREADS; do
    best_ours="" best_ort="" ratios=""
    for _ in $(seq "$REPEAT"); do
      ours=$("$BIN" --loadEngine="$OUT/$m.plan" --loadInputs="$load" --threads="$t" \
               --iterations="$ITERATIONS" --warmUp=200 --duration=0 2>&1 |
             grep -oE 'Host Latency: .*median = [0-9.]+' | grep -oE '[0-9.]+$')
      ort=$(node "$ROOT/tools/ort_ref/run.js" --model "$OUT/$m.onnx" "${ort_args[@]}" \
              --outdir "$OUT/$m.ort" --threads "$t" --iterations "$ITERATIONS" --warmup 3 \
              2>/dev/null | grep -oE '"median_ms":[0-9.]+' | grep -oE '[0-9.]+$')
      best_ours=$(/usr/bin/python3 -c "print(min(x for x in [${best_ours:-1e9}, $ours]))")
      best_ort=$(/usr/bin/python3 -c "print(min(x for x in [${best_ort:-1e9}, $ort]))")
      ratios+="${ratios:+,}$ours/$ort"
    done
    /usr/bin/python3 -c "
import statistics
r = sorted([$ratios])
print('| $m | $t | %.2f | %.2f | %.2f | %.2f [%.2f, %.2f] |' % (
    $best_ours, $best_ort, $best_ours / $best_ort, statistics.median(r), r[0], r[-1]))"
  done
  rm -f "$OUT/$m.plan"
done
