#include "kernels/sgemm.h"

#include <Eigen/Core>
#include <algorithm>

namespace engine::kernels {
namespace {

using Eigen::Index;
namespace ei = Eigen::internal;

// Panel sizes Eigen would choose for the product, computed the same way.
struct Panels {
  Index kc, mc, nc;
};

// The product runs column-major as C^T [N, M] = op(B)^T [N, K] * op(A)^T [K, M]:
// Eigen's "rows" are N, its "cols" M.
Panels PanelsFor(int64_t m, int64_t n, int64_t k) {
  Index kc = k, mc = n, nc = m;
  ei::computeProductBlockingSizes<float, float, 1, Index>(kc, mc, nc, 1);
  return {std::max<Index>(kc, 1), std::max<Index>(mc, 1), std::max<Index>(nc, 1)};
}

constexpr size_t kAlign = 64;
size_t AlignUp(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

class WorkspaceBlocking : public ei::level3_blocking<float, float> {
 public:
  WorkspaceBlocking(const Panels& p, float* a, float* b) {
    this->m_kc = p.kc;
    this->m_mc = p.mc;
    this->m_nc = p.nc;
    this->m_blockA = a;
    this->m_blockB = b;
  }
};

template <int LhsOrder, int RhsOrder>
void Run(Index rows, Index cols, Index depth, const float* lhs, Index lhs_stride, const float* rhs,
         Index rhs_stride, float* res, Index res_stride, float alpha, WorkspaceBlocking& blocking) {
  ei::general_matrix_matrix_product<Index, float, LhsOrder, false, float, RhsOrder, false,
                                    Eigen::ColMajor, 1>::run(rows, cols, depth, lhs, lhs_stride,
                                                             rhs, rhs_stride, res, 1, res_stride,
                                                             alpha, blocking, nullptr);
}

}  // namespace

size_t SgemmWorkspaceBytes(int64_t m, int64_t n, int64_t k) {
  if (m <= 0 || n <= 0 || k <= 0) return 0;
  const Panels p = PanelsFor(m, n, k);
  const Index mc = std::min<Index>(n, p.mc), nc = std::min<Index>(m, p.nc);
  return AlignUp(static_cast<size_t>(p.kc * mc) * sizeof(float)) +
         AlignUp(static_cast<size_t>(p.kc * nc) * sizeof(float));
}

void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc, void* workspace, size_t workspace_bytes) {
  if (m <= 0 || n <= 0) return;
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f) {
      std::fill(row, row + n, 0.0f);
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
    }
  }
  if (k <= 0 || alpha == 0.0f) return;
  if (m == 1 && (!trans_a || lda == 1)) {
    // One row: a matrix-vector product. Eigen's GEMV reads op(B) in place,
    // where the GEMM would first copy all of it into packed panels.
    using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Vector = Eigen::Matrix<float, Eigen::Dynamic, 1>;
    Eigen::Map<const RowMajorMatrix, 0, Eigen::OuterStride<>> bm(b, trans_b ? n : k,
                                                                 trans_b ? k : n,
                                                                 Eigen::OuterStride<>(ldb));
    Eigen::Map<const Vector> x(a, k);
    Eigen::Map<Vector> y(c, n);
    if (trans_b) {
      y.noalias() += alpha * (bm * x);  // B [N, K]: dot products of its rows
    } else {
      y.noalias() += alpha * (bm.transpose() * x);  // B [K, N]: rows scaled and summed
    }
    return;
  }
  Panels p = PanelsFor(m, n, k);
  // Eigen's panel sizes are not monotonic in the problem size; never use
  // more workspace than the caller has: halve the depth panel until it fits.
  auto needed = [&](const Panels& q) {
    return AlignUp(static_cast<size_t>(q.kc * std::min<Index>(n, q.mc)) * sizeof(float)) +
           AlignUp(static_cast<size_t>(q.kc * std::min<Index>(m, q.nc)) * sizeof(float));
  };
  while (needed(p) > workspace_bytes && p.kc > 8) p.kc = (p.kc + 1) / 2;
  while (needed(p) > workspace_bytes && p.nc > 8) p.nc = (p.nc + 1) / 2;
  while (needed(p) > workspace_bytes && p.mc > 8) p.mc = (p.mc + 1) / 2;
  const Index mc = std::min<Index>(n, p.mc);
  auto* block_a = static_cast<float*>(workspace);
  auto* block_b = reinterpret_cast<float*>(static_cast<std::byte*>(workspace) +
                                           AlignUp(static_cast<size_t>(p.kc * mc) * sizeof(float)));
  WorkspaceBlocking blocking(p, block_a, block_b);
  // Column-major view: lhs = op(B)^T [N, K], rhs = op(A)^T [K, M], res = C^T.
  // B [K, N] row-major is B^T column-major (ColMajor, stride ldb); B [N, K]
  // row-major (trans_b) is op(B)^T itself, stored row-major.
  const Index rows = n, cols = m, depth = k;
  if (!trans_b && !trans_a) {
    Run<Eigen::ColMajor, Eigen::ColMajor>(rows, cols, depth, b, ldb, a, lda, c, ldc, alpha, blocking);
  } else if (trans_b && !trans_a) {
    Run<Eigen::RowMajor, Eigen::ColMajor>(rows, cols, depth, b, ldb, a, lda, c, ldc, alpha, blocking);
  } else if (!trans_b && trans_a) {
    Run<Eigen::ColMajor, Eigen::RowMajor>(rows, cols, depth, b, ldb, a, lda, c, ldc, alpha, blocking);
  } else {
    Run<Eigen::RowMajor, Eigen::RowMajor>(rows, cols, depth, b, ldb, a, lda, c, ldc, alpha, blocking);
  }
}

namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t RoundUp(int64_t a, int64_t b) { return CeilDiv(a, b) * b; }

// Block extents. A block re-packs the rows of op(A) and the columns of op(B)
// it uses, and packing a float costs about as much as a few multiply-adds, so
// a block `rows` high repeats ~3 / rows of the work of its column's packing
// (and likewise for columns). Blocks are therefore at least kMinBlockRows x
// kMinBlockCols (~2% overhead; measured on ResNet-50 with one thread, ~1%,
// against ~13% for 16 x 64 blocks), except that a product too small for
// kMinBlocks such blocks may go down to kSmallBlockRows x kSmallBlockCols:
// its few percent of single-thread overhead buy a parallel layer.
constexpr int64_t kMinBlockRows = 128;
constexpr int64_t kMinBlockCols = 256;
constexpr int64_t kMinBlocks = 4;
constexpr int64_t kSmallBlockRows = 32;
constexpr int64_t kSmallBlockCols = 64;
// Block edges are multiples of Eigen's register tiles, so that no block but
// the last has a ragged (slower) edge: rows are its rhs columns (4 or 8 at a
// time); columns its lhs rows, 3 SIMD vectors at a time (48 floats with
// AVX-512, 24 with AVX) for wide blocks, where rounding up to 48 costs at most
// 10% balance, else one SIMD vector (16).
constexpr int64_t kRowAlign = 8;
constexpr int64_t kWideColAlign = 48;
constexpr int64_t kWideCols = 480;
constexpr int64_t kColAlign = 16;

}  // namespace

SgemmGrid::SgemmGrid(int64_t m, int64_t n, int64_t k) : m_(m), n_(n), k_(k) {
  mb_ = nb_ = 1;
  bm_ = std::max<int64_t>(m, 1);
  bn_ = std::max<int64_t>(n, 1);
  if (m <= 0 || n <= 0 || k <= 0) return;
  // One row is a matrix-vector product (Sgemm's GEMV path): memory bound,
  // each multiply-add streams a new element of op(B), so count it as several.
  const int64_t work = m * n * k * (m == 1 ? 4 : 1);
  const int64_t target = std::clamp<int64_t>(work / kMinBlockMacs, 1, kMaxBlocks);
  // Halve the larger block extent (columns on ties) until there are `want`
  // blocks or both are at `min_rows` x `min_cols`: a column block re-packs
  // its rows of op(A) and a row block its columns of op(B), so the packing
  // overhead ~ 1/rows + 1/cols is least for square-ish blocks.
  auto split = [&](int64_t want, int64_t min_rows, int64_t min_cols) {
    while (mb_ * nb_ < want) {
      const int64_t rows = CeilDiv(m, mb_ * 2), cols = CeilDiv(n, nb_ * 2);
      const bool can_rows = rows >= min_rows, can_cols = cols >= min_cols;
      if (can_cols && (!can_rows || cols >= rows)) {
        nb_ *= 2;
      } else if (can_rows) {
        mb_ *= 2;
      } else {
        break;
      }
    }
  };
  split(target, kMinBlockRows, kMinBlockCols);
  split(std::min(target, kMinBlocks), kSmallBlockRows, kSmallBlockCols);
  const int64_t cols = CeilDiv(n, nb_);
  bm_ = mb_ == 1 ? m : RoundUp(CeilDiv(m, mb_), kRowAlign);
  bn_ = nb_ == 1 ? n : RoundUp(cols, cols >= kWideCols ? kWideColAlign : kColAlign);
  mb_ = CeilDiv(m, bm_);
  nb_ = CeilDiv(n, bn_);
}

void SgemmGrid::Block(int64_t i, int64_t* m0, int64_t* m1, int64_t* n0, int64_t* n1) const {
  const int64_t r = i / nb_, c = i % nb_;
  *m0 = r * bm_;
  *m1 = std::min(m_, *m0 + bm_);
  *n0 = c * bn_;
  *n1 = std::min(n_, *n0 + bn_);
}

size_t SgemmGrid::WorkspaceBytes() const {
  // Eigen's panels are not monotonic in the size: take the largest over the
  // (at most four) distinct block shapes.
  const int64_t rows[2] = {bm_, m_ - (mb_ - 1) * bm_};
  const int64_t cols[2] = {bn_, n_ - (nb_ - 1) * bn_};
  size_t bytes = 0;
  for (int64_t r : rows) {
    for (int64_t c : cols) bytes = std::max(bytes, SgemmWorkspaceBytes(r, c, k_));
  }
  return bytes;
}

void SgemmGrid::Run(int64_t i, bool trans_a, bool trans_b, float alpha, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                    void* workspace, size_t workspace_bytes) const {
  int64_t m0, m1, n0, n1;
  Block(i, &m0, &m1, &n0, &n1);
  // Rows m0.. of op(A): A [M, K] row m0, or A [K, M] column m0; columns n0..
  // of op(B): B [K, N] column n0, or B [N, K] row n0.
  const float* ab = trans_a ? a + m0 : a + m0 * lda;
  const float* bb = trans_b ? b + n0 * ldb : b + n0;
  Sgemm(trans_a, trans_b, m1 - m0, n1 - n0, k_, alpha, ab, lda, bb, ldb, beta, c + m0 * ldc + n0,
        ldc, workspace, workspace_bytes);
}

}  // namespace engine::kernels
