#!/usr/bin/env bash
# The whole test suite on a fresh machine: install dependencies, build, run
# every test with CTest. Tests that need ../shared or Debian's ONNX test data
# print "SKIPPED: ..." when it is absent.
# Then the robustness stages (~13 min on 2 cores): part of the suite under
# ASan+UBSan and TSan (scripts/run_sanitizers.sh), and the fuzz targets on
# two cores for FUZZ_SECONDS, default 300 (scripts/run_fuzz.sh).
#   ENGINE_SKIP_SANITIZERS=1  skip both robustness stages
#   ENGINE_SKIP_FUZZ=1        skip only the fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 1800 "$@"
cd ..
if [ "${ENGINE_SKIP_SANITIZERS:-0}" = "1" ]; then
  echo "[run_tests] sanitizer and fuzz stages SKIPPED (ENGINE_SKIP_SANITIZERS=1)"
else
  bash scripts/run_sanitizers.sh
  FUZZ_SECONDS=${FUZZ_SECONDS:-300} bash scripts/run_fuzz.sh
fi
