#!/usr/bin/env bash
# What the optimizer buys: for each model and accelerator preset, the number of
# layers and the modeled latency and energy per inference at --optLevel=0 (no
# rewrites) and at the default level (2).
#
# Usage: bash bench/optimizer_levels.sh [extra trtexec_like flags]
# Models: models/out/{resnet50,mobilenetv2}.onnx (generated when missing) and
# ../shared/models/onnx_light/light_{resnet50,squeezenet,inception_v1,inception_v2}.onnx
# (skipped with a message when ../shared is absent).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/build/bin/trtexec_like"
SHARED="$ROOT/../shared/models/onnx_light"
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
for m in resnet50 mobilenetv2; do
  [ -f "$ROOT/models/out/$m.onnx" ] || /usr/bin/python3 "$ROOT/models/generate.py" "$m" >/dev/null
done
models=("$ROOT/models/out/resnet50.onnx" "$ROOT/models/out/mobilenetv2.onnx")
if [ -d "$SHARED" ]; then
  for m in resnet50 squeezenet inception_v1 inception_v2; do models+=("$SHARED/light_$m.onnx"); done
else
  echo "SKIPPED: $SHARED absent: only the generated models are measured"
fi

# "layers latency_ms energy_mJ" of one build.
measure() {
  local out
  out="$("$BIN" --onnx="$1" --hw="$2" --optLevel="$3" --skipInference "${@:4}" 2>&1)" || {
    echo "FAILED"; return; }
  local layers lat energy unit
  layers=$(sed -n 's/^\[I\] Optimizer: [0-9]* ONNX nodes -> \([0-9]*\) layers.*/\1/p' <<<"$out")
  lat=$(sed -n 's/^Device Latency (modeled): \([0-9.]*\) ms.*/\1/p' <<<"$out")
  read -r energy unit < <(sed -n 's/^Energy per inference (modeled): \([0-9.]*\) \([mun]J\).*/\1 \2/p' <<<"$out")
  case "$unit" in uJ) energy=$(awk "BEGIN{print $energy/1000}");; nJ) energy=$(awk "BEGIN{print $energy/1e6}");; esac
  echo "$layers $lat $energy"
}

printf "%-24s %-8s %14s %22s %22s\n" model hw "layers 0->2" "latency ms 0->2" "energy mJ 0->2"
for model in "${models[@]}"; do
  name="$(basename "$model" .onnx)"
  for hw in edge gemmini tpu-v1; do
    read -r l0 t0 e0 < <(measure "$model" "$hw" 0 "$@")
    read -r l2 t2 e2 < <(measure "$model" "$hw" 2 "$@")
    speedup=$(awk "BEGIN{ if ($t2 > 0) printf \"%.2f\", $t0/$t2; else print \"-\" }")
    printf "%-24s %-8s %14s %22s %22s  %sx faster\n" "$name" "$hw" "$l0 -> $l2" "$t0 -> $t2" "$e0 -> $e2" "$speedup"
  done
done
echo "Modeled device figures of FP32 engines; layers = engine layers after the optimizer."
