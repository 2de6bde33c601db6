#!/usr/bin/env bash
# Modeled accelerator figures of ResNet-50 and MobileNetV2 for every hardware
# preset: device latency, throughput, energy per inference, array utilization
# and the ratio of modeled cycles to the roofline bound.
#
# Usage: bash bench/accelerator_presets.sh [extra trtexec_like flags]
# Needs a build (bash scripts/build.sh) and the generated models
# (/usr/bin/python3 models/generate.py); generates them when missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/build/bin/trtexec_like"
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
MODELS="$ROOT/models/out"
for m in resnet50 mobilenetv2; do
  [ -f "$MODELS/$m.onnx" ] || /usr/bin/python3 "$ROOT/models/generate.py" --out "$MODELS" >/dev/null
done

printf "%-12s %-8s %12s %10s %14s %10s %9s %9s %10s\n" model hw "latency(ms)" "qps" "energy(mJ)" "DRAM(MB)" "util(%)" "roofline" "build(s)"
for m in resnet50 mobilenetv2; do
  for hw in edge gemmini tpu-v1; do
    out="$("$BIN" --onnx="$MODELS/$m.onnx" --hw="$hw" --skipInference "$@" 2>&1)" || {
      echo "$m $hw: FAILED"; echo "$out" | tail -5; continue; }
    lat=$(sed -n 's/^Device Latency (modeled): \([0-9.]*\) ms.*/\1/p' <<<"$out")
    qps=$(sed -n 's/^Device Throughput (modeled): \([0-9.]*\) qps.*/\1/p' <<<"$out")
    energy=$(sed -n 's/^Energy per inference (modeled): \([0-9.]*\) \([mun]J\).*/\1 \2/p' <<<"$out")
    util=$(sed -n 's/^Array utilization (modeled): \([0-9.]*\) %.*/\1/p' <<<"$out")
    dram=$(sed -n 's/.*DRAM traffic: \([0-9.]*\) \([KMG]*B\) read, \([0-9.]*\) \([KMG]*B\) written.*/\1 \2 + \3 \4/p' <<<"$out")
    roof=$(sed -n 's/.*modeled \/ bound = \([0-9.]*x\).*/\1/p' <<<"$out")
    build=$(sed -n 's/^\[I\] Engine built in \([0-9.]*\) s.*/\1/p' <<<"$out")
    printf "%-12s %-8s %12s %10s %14s %10s %9s %9s %10s\n" "$m" "$hw" "$lat" "$qps" "$energy" "${dram%% *}" "$util" "$roof" "$build"
    [ -n "${VERBOSE:-}" ] && echo "    DRAM: $dram"
  done
done
echo "Modeled figures (FP32 engines; presets in docs/accelerator_model.md). Device time is modeled, not measured."
