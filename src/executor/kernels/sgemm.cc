#include "executor/kernels/sgemm.h"

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

}  // namespace engine::kernels
