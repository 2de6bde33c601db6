#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build, generate
# ResNet-50 (seeded weights, real shapes), build an engine from it, save the
# plan, run it and print the performance summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
/usr/bin/python3 models/generate.py resnet50
./build/bin/trtexec_like --onnx=models/out/resnet50.onnx --saveEngine=build/resnet50.plan "$@"
