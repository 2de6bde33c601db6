#!/usr/bin/env bash
# The whole test suite on a fresh machine: install dependencies, build, run
# every test with CTest. Tests that need ../shared or Debian's ONNX test data
# print "SKIPPED: ..." when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 1800 "$@"
