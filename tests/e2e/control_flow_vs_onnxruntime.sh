#!/usr/bin/env bash
# Control flow (control_flow_models.py: If on a run-time condition, Loop and
# Scan forms, opset 8/11/13) compiled into a static graph by the parser
# (src/parser/control_flow.h), against ONNX Runtime (npm onnxruntime-node), via
# trtexec_like: every output within rtol 1e-5 / atol 1e-5 (float32; a few
# additions and products per step).
# Usage: control_flow_vs_onnxruntime.sh <source dir> <build dir>
set -euo pipefail
SRC=$1
BUILD=$2
WORK=$BUILD/test_work/control_flow_vs_ort
rm -rf "$WORK"
mkdir -p "$WORK"

source "$SRC/tests/e2e/ort_lib.sh"
require_ort "$SRC" "$WORK"

/usr/bin/python3 "$SRC/tests/e2e/control_flow_models.py" "$WORK"

ORT_COMPARE_NOTE="control flow compiled: [^)]*\)" compare_models_with_ort "$SRC" "$BUILD" "$WORK" 1e-5 1e-5 --verbose
