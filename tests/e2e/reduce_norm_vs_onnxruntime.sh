#!/usr/bin/env bash
# Reductions, search and normalization ops (tests/e2e/reduce_norm_models.py,
# one op per model): the engine's outputs (built, saved, reloaded plan) must
# match ONNX Runtime's on the same seeded input, rtol 1e-4 / atol 1e-5
# (integer outputs: Indices of TopK, ArgMin, exactly by the same tolerance).
# Usage: reduce_norm_vs_onnxruntime.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
WORK=$BUILD/test_work/reduce_norm_vs_ort
rm -rf "$WORK"
mkdir -p "$WORK/models"

source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"

/usr/bin/python3 "$SRC/tests/e2e/reduce_norm_models.py" "$WORK/models"

ORT_COMPARE_VIA_PLAN=1 compare_models_with_ort "$SRC" "$BUILD" "$WORK/models" 1e-4 1e-5
