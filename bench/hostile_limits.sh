#!/usr/bin/env bash
# Wall time and peak memory of refusing each memory bomb of issue 16 through
# trtexec_like (BuilderConfig's resource limits, checked from shapes before
# anything is allocated). Goal: each refused in under 1 s and 200 MB RSS.
#
# Usage: bash bench/hostile_limits.sh [extra trtexec_like flags]
# Needs a build (bash scripts/build.sh). The models are the crafted files of
# tests/data/fuzz_regressions/onnx/ (rewritten by
# `build/bin/e2e_test "[.write_regressions]"`). Exit status 1 when a case is
# not refused, or is refused above either goal.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/build/bin/trtexec_like"
DATA="$ROOT/tests/data/fuzz_regressions/onnx"
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; Debian package 'time')" >&2; exit 1; }

MAX_SECONDS=1.0
MAX_RSS_MB=200

# name | model | extra flags
CASES=(
  "ConstantOfShape [1e6,1e6]|constant_of_shape_bad_alloc.onnx|"
  "ConstantOfShape, no tensor limit|constant_of_shape_bad_alloc.onnx|--maxTensorBytes=0"
  "broadcast Add 10^12|broadcast_add_instruction_bomb.onnx|"
  "broadcast Add 10^12, only --maxInstructions|broadcast_add_instruction_bomb.onnx|--maxTensorBytes=0 --maxArenaBytes=0"
  "MatMul 10^12|matmul_instruction_bomb.onnx|"
  "MatMul 10^12, only --maxInstructions|matmul_instruction_bomb.onnx|--maxTensorBytes=0 --maxArenaBytes=0"
  "Pad 2^62|pad_2p62_length_error.onnx|"
  "Conv 4x10^10 output|conv_4e10_output.onnx|"
  "--shapes=x:100000x3x224x224|dynamic_batch_input_needs_shapes.onnx|--shapes=x:100000x3x224x224"
)

printf "%-46s %8s %9s %6s  %s\n" case "wall(s)" "RSS(MB)" ok error
fail=0
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
for c in "${CASES[@]}"; do
  IFS='|' read -r name model flags <<<"$c"
  # shellcheck disable=SC2086  # flags split on purpose
  /usr/bin/time -v -o "$tmp" "$BIN" --onnx="$DATA/$model" --skipInference $flags "$@" \
    >"$tmp.out" 2>&1
  rc=$?
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp" |
         awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }')
  rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp")
  rss_mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
  err=$(grep -m1 -E "\[E\]" "$tmp.out" | sed "s|$DATA/||" | cut -c1-120)
  ok=yes
  if [ "$rc" -eq 0 ] || ! grep -qE "above the limit|more than 2\^62|larger than 2\^63|instructions" "$tmp.out" ||
     awk -v w="$wall" -v m="$MAX_SECONDS" 'BEGIN { exit !(w >= m) }' ||
     awk -v r="$rss_mb" -v m="$MAX_RSS_MB" 'BEGIN { exit !(r >= m) }'; then
    ok=NO
    fail=1
  fi
  printf "%-46s %8s %9s %6s  %s\n" "$name" "$wall" "$rss_mb" "$ok" "$err"
done
rm -f "$tmp.out"
exit "$fail"
