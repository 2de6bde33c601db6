# Sourced by the tests/e2e/*.sh scripts that compare with ONNX Runtime.
#
# require_ort <source dir> <work dir>: sets up the reference runtime (npm
# onnxruntime-node through tools/ort_ref/setup.sh, log in <work dir>/ort_setup.log)
# or, when node or the package is not available, prints "SKIPPED: ..." with
# the set-up log and exits the calling script with status 0 (the message stays
# in the test's log: the comparison is skipped, never silently).
require_ort() {
  local src=$1 work=$2
  if ! command -v node >/dev/null 2>&1 || ! bash "$src/tools/ort_ref/setup.sh" >"$work/ort_setup.log" 2>&1; then
    echo "SKIPPED: ONNX Runtime (npm onnxruntime-node) is not available:"
    cat "$work/ort_setup.log" 2>/dev/null || true
    exit 0
  fi
}
