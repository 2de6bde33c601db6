#!/usr/bin/env bash
# Host latency of a QDQ model (ShuffleNet v2 QDQ, ../shared/models/real/
# shufflenet-v2-12-qdq) on the engine (explicit quantization: Int8Conv /
# Int8Gemm with the model's scales) against ONNX Runtime running the same
# QDQ file (graph optimization "all": ORT fuses DQ -> Conv -> Q into its
# integer QLinearConv kernels), same input, same intra-op thread count, in
# the same run (alternating, REPEAT rounds, best median kept per side).
#
# Usage: bash bench/qdq_vs_onnxruntime.sh
# Environment: THREADS="1 2", ITERATIONS=50, REPEAT=3, TRTEXEC_LIKE (default
# build/bin/trtexec_like). Needs ../shared (skips with a message otherwise)
# and onnxruntime-node (tools/ort_ref/setup.sh, or NODE_PATH).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${TRTEXEC_LIKE:-$ROOT/build/bin/trtexec_like}"
MODEL="$ROOT/../shared/models/real/shufflenet-v2-12-qdq/shufflenet-v2-12-qdq.onnx"
THREADS="${THREADS:-1 2}"
ITERATIONS="${ITERATIONS:-50}"
REPEAT="${REPEAT:-3}"
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "SKIPPED: $MODEL absent"; exit 0; }
if ! (cd "$ROOT/tools/ort_ref" && node -e "require('onnxruntime-node')") >/dev/null 2>&1; then
  bash "$ROOT/tools/ort_ref/setup.sh"
fi
best() {
  if [[ ! "$1" =~ ^[0-9] ]]; then echo "${2:-FAILED}"; elif [[ ! "$2" =~ ^[0-9] ]]; then echo "$1"
  else /usr/bin/python3 -c "print(min($1, $2))"; fi
}
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# ORT's deterministic input (written as DIR/input_input.npy) is the input of both sides.
(cd "$ROOT/tools/ort_ref" && node run.js --model "$MODEL" --outdir "$TMP/ort0") >/dev/null
INPUT="$(ls "$TMP"/ort0/input_*.npy | head -1)"
"$BIN" --onnx="$MODEL" --saveEngine="$TMP/qdq.plan" --skipInference >"$TMP/build.log" 2>&1 ||
  { tail -5 "$TMP/build.log"; exit 1; }
grep -E "Layer precisions|Explicit quantization" "$TMP/build.log" || true
echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "ONNX Runtime: onnxruntime-node $(cd "$ROOT/tools/ort_ref" && node -p "require('onnxruntime-node/package.json').version")"
printf "%-22s %7s %14s %12s %10s\n" model threads "engine INT8(ms)" "ORT(ms)" "engine/ORT"
for t in $THREADS; do
  ours="FAILED" ort="FAILED"
  for ((round = 0; round < REPEAT; ++round)); do
    if "$BIN" --loadEngine="$TMP/qdq.plan" --loadInputs="input:$INPUT" --threads="$t" \
        --iterations="$ITERATIONS" --duration=0 --warmUp=500 >"$TMP/ours.$t.log" 2>&1; then
      v=$(sed -n 's/^Host Latency: .*median = \([0-9.e+-]*\) ms.*/\1/p' "$TMP/ours.$t.log")
      ours=$(best "$ours" "$v")
    else
      tail -3 "$TMP/ours.$t.log" >&2
    fi
    if (cd "$ROOT/tools/ort_ref" && node run.js --model "$MODEL" --input "input=$INPUT" \
          --outdir "$TMP/ort" --threads "$t" --iterations "$ITERATIONS" --warmup 5) \
          >"$TMP/ort.$t.json" 2>"$TMP/ort.$t.log"; then
      v=$(sed -n 's/.*"median_ms":\([0-9.e+-]*\).*/\1/p' "$TMP/ort.$t.json")
      ort=$(best "$ort" "$v")
    else
      tail -3 "$TMP/ort.$t.log" >&2
    fi
  done
  ratio="-"
  if [[ "$ours" =~ ^[0-9] && "$ort" =~ ^[0-9] ]]; then
    ratio=$(/usr/bin/python3 -c "print('%.2f' % ($ours / $ort))")
  fi
  printf "%-22s %7s %14s %12s %10s\n" shufflenet-v2-12-qdq "$t" "$ours" "$ort" "$ratio"
done
echo "Median host latency per inference, ms, best of $REPEAT round(s), same input and intra-op"
echo "thread count; ORT: graph optimization 'all' (its QDQ fusions into integer kernels),"
echo "sequential execution, timed around session.run in Node.js. engine/ORT < 1: we are faster."
