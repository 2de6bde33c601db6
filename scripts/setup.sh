#!/usr/bin/env bash
# Installs the project's build and test dependencies from Debian's packages.
# Idempotent: packages already present are not reinstalled; safe to run as root on a fresh machine.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ninja-build
  libonnx-dev libprotobuf-dev protobuf-compiler
  libflatbuffers-dev flatbuffers-compiler
  libabsl-dev catch2 libcli11-dev nlohmann-json3-dev
  zlib1g-dev libeigen3-dev libstb-dev
  clang libclang-rt-dev
  libcpp-httplib-dev
  libgrpc++-dev protobuf-compiler-grpc python3-grpcio  # engine_server --grpc-port and its test (optional: built when present)
  haproxy  # bench/scale_out.sh: replicas behind a load balancer
  python3-yaml  # e2e/deploy_check: the KServe manifests
  libonnx-testdata python3-onnx python3-numpy
  pybind11-dev python3-dev python3-pytest python3-matplotlib  # the Python module and its tests (python/, tests/python/)
  chromium  # headless: renders `trtexec_like compare --html` pages in tests (large)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "[setup] installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "[setup] all Debian packages present"
fi
