#!/usr/bin/env bash
# Array-size sweep of ResNet-50 on the edge preset at two DRAM bandwidths with
# the tool's sweep mode: `trtexec_like --hwSweep` builds one engine per
# (dram_bw, array) configuration (build only, modeled figures; no inference
# runs), writes one run report per configuration into --exportReportDir and
# prints the comparison of all of them (ratios against the first: 8x8 at
# 12.8 GB/s). A progress bar is drawn when stderr is a terminal.
#
# Usage: bash bench/sweep_array.sh [extra trtexec_like build flags]
# Env: OUT=<dir> keeps the reports there (default: a temporary directory);
#      HTML=<file> also writes the comparison as an HTML page with charts;
#      BIN=<trtexec_like> (default: build/bin/trtexec_like).
# Needs a build (ninja -C build trtexec_like); generates models/out/resnet50.onnx
# when missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${BIN:-$ROOT/build/bin/trtexec_like}"
[ -x "$BIN" ] || { echo "build first: ninja -C build trtexec_like" >&2; exit 1; }
MODEL="$ROOT/models/out/resnet50.onnx"
if [ ! -f "$MODEL" ]; then
  /usr/bin/python3 "$ROOT/models/generate.py" --out "$ROOT/models/out" resnet50 >/dev/null
fi
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  rm -f "$OUT"/p[0-9]*_*.json  # reports of an earlier sweep
else
  OUT="$(mktemp -d)"
  trap 'rm -rf "$OUT"' EXIT
fi

"$BIN" --onnx="$MODEL" --hw=edge \
  --hwSweep='dram_bw=12.8|51.2;array=8x8|16x16|32x32|64x64|128x128' \
  --exportReportDir="$OUT" "$@"
if [ -n "${HTML:-}" ]; then
  "$BIN" compare "$OUT"/p[0-9]*_*.json --html="$HTML" >/dev/null
  echo "HTML comparison: $HTML"
fi
