#!/usr/bin/env bash
# Indexing / Einsum / recurrent single-node models (indexing_models.py) against
# ONNX Runtime (npm onnxruntime-node), via trtexec_like: every output within
# rtol 1e-4 / atol 1e-5 (float32; recurrences of a few steps).
# Usage: indexing_vs_onnxruntime.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
WORK=$BUILD/test_work/indexing_vs_ort
rm -rf "$WORK"
mkdir -p "$WORK"

source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"

/usr/bin/python3 "$SRC/tests/e2e/indexing_models.py" "$WORK"

compare_models_with_ort "$SRC" "$BUILD" "$WORK" 1e-4 1e-5
