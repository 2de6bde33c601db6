// Single-precision matrix product with a caller-provided packing workspace,
// so kernels can run it from their prepared scratch without touching the heap
// in the steady state.
//
// It is Eigen's blocked GEMM (Goto & van de Geijn's packing into cache-sized
// panels, Eigen/src/Core/products/GeneralMatrixMatrix.h) driven through its
// internal `general_matrix_matrix_product` with a fixed `level3_blocking`
// whose panels live in the workspace: Eigen's expression API would allocate
// the panels on the heap whenever they exceed its 128 KiB stack limit.
#ifndef ENGINE_KERNELS_SGEMM_H_
#define ENGINE_KERNELS_SGEMM_H_

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
/// never out of bounds; at least 8 x 8 x 8 panels' worth must be given). A
/// product with one row (M = 1) is a matrix-vector product that needs no
/// workspace.
void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc, void* workspace, size_t workspace_bytes);

/// A split of the output C [M, N] of an M x N x K product into a grid of
/// blocks (rows [m0, m1) x columns [n0, n1)) for intra-op parallelism. It
/// depends only on the shape, never on the thread count, and each block is
/// one Sgemm call, so a product computed block by block gives the same bits
/// whichever thread runs which block (Sgemm's rounding depends on its panel
/// sizes, hence on the product's shape). A product gets about one block per
/// kMinBlockMacs multiply-adds, at most kMaxBlocks, as long as blocks stay
/// large enough for the GEMM to stay efficient (see sgemm.cc); small
/// products are one block.
class SgemmGrid {
 public:
  static constexpr int64_t kMaxBlocks = 16;
  static constexpr int64_t kMinBlockMacs = int64_t{1} << 20;

  SgemmGrid() = default;
  SgemmGrid(int64_t m, int64_t n, int64_t k);

  int64_t blocks() const { return mb_ * nb_; }
  /// Block i in [0, blocks()), row blocks outermost.
  void Block(int64_t i, int64_t* m0, int64_t* m1, int64_t* n0, int64_t* n1) const;
  /// Workspace for any one block's Sgemm, bytes.
  size_t WorkspaceBytes() const;

  /// Block i of Sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
  /// c, ldc, ...): the same arguments, for the whole product.
  void Run(int64_t i, bool trans_a, bool trans_b, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc, void* workspace,
           size_t workspace_bytes) const;

 private:
  int64_t m_ = 0, n_ = 0, k_ = 0;
  int64_t bm_ = 0, bn_ = 0;  // block sizes (the last row/column block may be smaller)
  int64_t mb_ = 0, nb_ = 0;  // block counts
};

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_SGEMM_H_
