#!/usr/bin/env bash
# INT8 GEMM (Igemm, src/kernels/igemm.h) against the FP32 Sgemm
# (sgemm.h, Eigen) on ResNet-50's convolutions as im2col products and its
# fully connected layer, one thread: GOPS = 2*M*N*K / time per product (int8
# multiply-adds for Igemm, FP32 for Sgemm), time being the calling thread's
# CPU time (best of 5 batches), so that other load on a shared machine
# disturbs it less. Builds the igemm_bench target (not part of the default
# build) first; every Igemm result is checked against an exact reference.
#
# Usage: bash bench/igemm.sh [--min-time=SECONDS] [MxKxN ...]
#   (default: 1 s per shape and kernel; the built-in ResNet-50 shapes)
# Environment: BUILD_DIR (default build; configured when missing),
#   CPU (a core to pin to with taskset, default: not pinned).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
if ! log="$(cmake --build "$BUILD_DIR" --target igemm_bench 2>&1)"; then
  echo "$log" >&2
  exit 1
fi
BIN="$BUILD_DIR/bin/igemm_bench"
if [ -n "${CPU:-}" ] && command -v taskset >/dev/null; then
  exec taskset -c "$CPU" "$BIN" "$@"
fi
exec "$BIN" "$@"
