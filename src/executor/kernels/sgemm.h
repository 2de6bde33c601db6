// Single-precision matrix product with a caller-provided packing workspace,
// so kernels can run it from their prepared scratch without touching the heap
// in the steady state.
//
// It is Eigen's blocked GEMM (Goto & van de Geijn's packing into cache-sized
// panels, Eigen/src/Core/products/GeneralMatrixMatrix.h) driven through its
// internal `general_matrix_matrix_product` with a fixed `level3_blocking`
// whose panels live in the workspace: Eigen's expression API would allocate
// the panels on the heap whenever they exceed its 128 KiB stack limit.
#ifndef ENGINE_EXECUTOR_KERNELS_SGEMM_H_
#define ENGINE_EXECUTOR_KERNELS_SGEMM_H_

#include <cstddef>
#include <cstdint>

namespace engine::kernels {

/// Workspace Sgemm needs for an M x N x K product, in bytes (64-byte
/// aligned start required).
size_t SgemmWorkspaceBytes(int64_t m, int64_t n, int64_t k);

/// C = alpha * op(A) * op(B) + beta * C, all row-major: op(A) is [M, K]
/// (A stored [M, K] with leading dimension lda, or [K, M] when trans_a),
/// op(B) is [K, N] (B stored [K, N], or [N, K] when trans_b), C is [M, N]
/// with leading dimension ldc. beta == 0 overwrites C (NaNs in C are not
/// propagated). `workspace` holds `workspace_bytes` bytes, normally
/// SgemmWorkspaceBytes(m, n, k); with less, smaller panels are used (slower,
/// never out of bounds; at least 8 x 8 x 8 panels' worth must be given).
void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc, void* workspace, size_t workspace_bytes);

}  // namespace engine::kernels

#endif  // ENGINE_EXECUTOR_KERNELS_SGEMM_H_
