#!/usr/bin/env bash
# Install the ONNX Runtime reference runner's dependency (onnxruntime-node, CPU only).
# Idempotent: does nothing if node_modules/onnxruntime-node is already there.
# --ignore-scripts is required: the package's install script tries to download GPU
# binaries and fails without network; the CPU binding ships inside the npm tarball.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "tools/ort_ref/setup.sh: '$tool' not found; install Node.js (>= 16) and npm first" >&2
    exit 1
  fi
done

if [ ! -d node_modules/onnxruntime-node ]; then
  echo "tools/ort_ref: installing onnxruntime-node (npm install --ignore-scripts)..." >&2
  # --no-package-lock: do not write a package-lock.json into the source tree
  npm install --ignore-scripts --no-audit --no-fund --no-package-lock
fi

# Check that the CPU binding loads.
if ! node -e "require('onnxruntime-node')" >/dev/null 2>&1; then
  echo "tools/ort_ref/setup.sh: onnxruntime-node is installed but its CPU binding does not load:" >&2
  node -e "require('onnxruntime-node')" >&2 || true
  exit 1
fi
echo "tools/ort_ref: onnxruntime-node $(node -p "require('onnxruntime-node/package.json').version") ready" >&2
