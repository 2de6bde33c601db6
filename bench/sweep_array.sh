#!/usr/bin/env bash
# Array-size sweep of ResNet-50 on the edge preset at two DRAM bandwidths:
# builds one engine per (array, dram_bw) with --skipInference --exportReport,
# then compares all reports with `trtexec_like compare` (ratios against the
# first: 8x8 at 12.8 GB/s). Modeled figures only; no inference runs.
#
# Usage: bash bench/sweep_array.sh [extra trtexec_like build flags]
# Env: OUT=<dir> keeps the reports there (default: a temporary directory);
#      TOP=<n> per-layer rows of the comparison (default 15; 0 = all).
# Needs a build (ninja -C build trtexec_like); generates models/out/resnet50.onnx
# when missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/build/bin/trtexec_like"
[ -x "$BIN" ] || { echo "build first: ninja -C build trtexec_like" >&2; exit 1; }
MODEL="$ROOT/models/out/resnet50.onnx"
if [ ! -f "$MODEL" ]; then
  /usr/bin/python3 "$ROOT/models/generate.py" --out "$ROOT/models/out" resnet50 >/dev/null
fi
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
else
  OUT="$(mktemp -d)"
  trap 'rm -rf "$OUT"' EXIT
fi

reports=()
start=$SECONDS
for bw in 12.8 51.2; do
  for a in 8 16 32 64 128; do
    report="$OUT/resnet50_edge_${a}x${a}_bw${bw}.json"
    if ! log="$("$BIN" --onnx="$MODEL" --hw="edge,array=${a}x${a},dram_bw=${bw}" \
                      --skipInference --exportReport="$report" "$@" 2>&1)"; then
      echo "array ${a}x${a} dram_bw ${bw}: FAILED" >&2
      tail -5 <<<"$log" >&2
      exit 1
    fi
    reports+=("$report")
  done
done
echo "Built ${#reports[@]} engines in $((SECONDS - start)) s; reports in $OUT"
echo
"$BIN" compare --top="${TOP:-15}" "${reports[@]}"
