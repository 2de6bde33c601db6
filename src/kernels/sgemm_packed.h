// FP32 matrix product with a prepacked left operand and a fused epilogue, for
// the host Conv kernel (weights packed once at prepare time):
//
//   C [M, N] = act(A [M, K] * B [K, N] + bias + R)
//
// A (the weights: M output channels, K the reduction) is packed once by
// PackA into blocks of 16 rows ([M/16][K][16]); B (the activations, e.g. an
// im2col matrix, N = output pixels) changes every call. Two micro-kernels
// compute the same result:
//  - the column kernel vectorizes over columns of C (8 rows x 48 columns
//    register tiles with AVX-512, A broadcast, B loaded), K block by K
//    block: SgemmPanels reads B packed into column panels (PackB),
//    SgemmPanelsDirect reads B row-major in place (as fast or faster on
//    ResNet-50's and MobileNetV2's shapes: Conv uses it);
//  - SgemmRows vectorizes over rows of C (32 rows x up to 14 columns with
//    AVX-512, A loaded, B broadcast from its rows in place), each tile
//    accumulating over the whole K and transposed in registers for the
//    stores: for deep products and for narrow N (e.g. the 7 x 7 = 49 pixels
//    of ResNet-50's last stage), where column tiles would waste lanes.
// Measured with bench/conv_bench --gemm (one thread, CPU time) on this
// project's AVX-512 machine: 100-115 GFLOP/s on ResNet-50's products (a
// core's peak is ~117), against 70-88 for Eigen's (sgemm.h).
//
// Exact, blocking-independent arithmetic: every element of C is
//   acc = 0; for k = 0 .. K-1 in order: acc = fma(A[i][k], B[k][j], acc);
//   acc = acc + bias[i] (when given); acc = acc + col_bias[j] (when given);
//   acc = acc + R[i][j] (when given); C[i][j] = act(acc)
// whatever the kernel, the tile, the K blocking (a block's partial sums are
// stored in C as floats and reloaded, which is exact), the row or column
// sub-range of the call, or the thread. So a caller may split a product into
// any blocks, or pick either kernel, without changing a bit of the result.
//
// One of three code paths is compiled, by the target's instruction set
// (SgemmPackedPath()): "avx512" (AVX-512F), "avx2" (AVX2 + FMA) or "scalar".
#ifndef ENGINE_KERNELS_SGEMM_PACKED_H_
#define ENGINE_KERNELS_SGEMM_PACKED_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/kernel_util.h"

namespace engine::kernels {

/// The code path compiled into this build: "avx512", "avx2" or "scalar".
const char* SgemmPackedPath();

/// Rows per block of packed A.
inline constexpr int64_t kSgemmBlockRows = 16;

/// Floats of packed A [m, k]: RoundUp(m, 16) * k.
inline int64_t PackedAFloats(int64_t m, int64_t k) {
  return (m + kSgemmBlockRows - 1) / kSgemmBlockRows * kSgemmBlockRows * k;
}

/// Packs A [m, k], element (i, kk) at a[i * row_stride + kk * col_stride]
/// (row-major: row_stride = lda, col_stride = 1), into `out`
/// (PackedAFloats(m, k) floats): row i, depth kk at
/// out[(i / 16) * 16 * k + kk * 16 + i % 16]; rows past m are zeros.
void PackA(const float* a, int64_t m, int64_t k, int64_t row_stride, int64_t col_stride,
           float* out);

/// Width of the column panels of packed B (48 with AVX-512, 24 with AVX2, 4
/// scalar) and of the vectors that round up the last panel (16, 8, 1).
#if defined(__AVX512F__)
inline constexpr int64_t kSgemmPanelCols = 48;
inline constexpr int64_t kSgemmPanelAlign = 16;
#elif defined(__AVX2__) && defined(__FMA__)
inline constexpr int64_t kSgemmPanelCols = 24;
inline constexpr int64_t kSgemmPanelAlign = 8;
#else
inline constexpr int64_t kSgemmPanelCols = 4;
inline constexpr int64_t kSgemmPanelAlign = 1;
#endif
inline int64_t SgemmPanelCols() { return kSgemmPanelCols; }
inline int64_t SgemmPanelAlign() { return kSgemmPanelAlign; }

/// Packed B: a block of rows [k0, k1) and columns [j0, j1) of B, as panels
/// of P = SgemmPanelCols() columns from j0: the panel of columns [p0,
/// min(p0 + P, j1)) (p0 = j0, j0 + P, ...) is [k1 - k0][w] floats from
/// out + (p0 - j0) * (k1 - k0), w = SgemmPanelWidth(j1, p0) (P, or for the
/// last panel its columns rounded up to whole vectors; padding columns are
/// zeros). Callers may write this layout with their own packer (Conv packs
/// its im2col rows straight into it).
inline int64_t SgemmPanelWidth(int64_t j1, int64_t p0) {
  const int64_t align = SgemmPanelAlign();
  return std::min(SgemmPanelCols(), (j1 - p0 + align - 1) / align * align);
}
/// Floats of packed B for `depth` rows and columns [j0, j1).
int64_t PackedBFloats(int64_t depth, int64_t j0, int64_t j1);

/// Packs rows [k0, k1) x columns [j0, j1) of B, element (kk, j) at
/// b[kk * row_stride + j * col_stride], into `out` (the layout above).
void PackB(const float* b, int64_t row_stride, int64_t col_stride, int64_t k0, int64_t k1,
           int64_t j0, int64_t j1, float* out);

/// Blocking the callers should use for their B blocks: depth (rows of B per
/// block) and columns per block (a multiple of SgemmPanelCols()), sized
/// for the caches (SgemmPanels is correct with any block).
int64_t SgemmBlockDepth(int64_t k);
int64_t SgemmBlockCols();

/// The epilogue of a product (see the file comment). Pointers are indexed
/// by absolute row / column of C, like C itself.
struct SgemmEpilogue {
  const float* bias = nullptr;      ///< bias[i] added to row i, or null
  const float* col_bias = nullptr;  ///< col_bias[j] added to column j, or null
  const float* residual = nullptr;  ///< residual[i * ldr + j] added, or null
  int64_t ldr = 0;
  Activation activation;
};

/// The part of the product for depths [k0, k1) (a K block) on rows
/// [m0, m1) and columns [j0, j1) of C (see the file comment): with `a`
/// packed A [m, k] and `b` rows [k0, k1) x columns [j0, j1) of B packed
/// (PackB's layout, for the same j0 and j1), C[i][j] = sum over the block,
/// plus C[i][j] when k0 > 0
/// (the sum of the previous blocks); after the last block (k1 == k) the
/// epilogue. Run the blocks of a product in order of k0, from 0 (k == 0:
/// one call with k0 = k1 = 0, b unused, gives the epilogue of 0). C is
/// row-major with leading dimension ldc, `c` pointing at C[0][0]. Never
/// allocates; thread-safe on disjoint parts of C.
void SgemmPanels(const float* a, int64_t m, int64_t k, int64_t k0, int64_t k1, int64_t m0,
                 int64_t m1, const float* b, int64_t j0, int64_t j1, float* c, int64_t ldc,
                 const SgemmEpilogue& epilogue);

/// The same with B row-major [k, n] (leading dimension ldb, `b` pointing at
/// B[0][0]) read in place by the column kernel, K block by K block: no
/// packing, best for shallow products (small k, where B's rows stay in L1).
/// Any j0 <= j1 <= n.
void SgemmPanelsDirect(const float* a, int64_t m, int64_t k, int64_t m0, int64_t m1, const float* b,
                       int64_t ldb, int64_t j0, int64_t j1, float* c, int64_t ldc,
                       const SgemmEpilogue& epilogue);

/// The same product with B row-major [k, n] (leading dimension ldb, `b`
/// pointing at B[0][0]) read in place, vectorized over rows, each register
/// tile accumulating over the whole depth (see SgemmPreferRows for when it
/// is the faster one). Any j0 <= j1 <= n.
void SgemmRows(const float* a, int64_t m, int64_t k, int64_t m0, int64_t m1, const float* b,
               int64_t ldb, int64_t j0, int64_t j1, float* c, int64_t ldc,
               const SgemmEpilogue& epilogue);

/// Whether SgemmRows (on B in place) is expected to be faster than
/// SgemmPanels (B packed per call) for an m x n x k product.
bool SgemmPreferRows(int64_t m, int64_t n, int64_t k);

/// Columns per register tile of SgemmRows (14 with AVX-512): column ranges
/// that are multiples of it use whole tiles.
int64_t SgemmRowsCols();

/// Floats of workspace SgemmActivations needs for an m x n x k product:
/// packed A (PackedAFloats(m, k)), plus B^T written out row-major ([k, n])
/// when trans_b.
int64_t SgemmActivationsFloats(int64_t m, int64_t n, int64_t k, bool trans_b);

/// A product of two activations (both operands change every call), on the
/// calling thread, for the fused Attention layer's per-head products and
/// MatMul without a constant B (kernels/attention.cc, gemm.cc):
///   C [m, n] (row-major, leading dimension ldc) = A [m, k] (row-major, lda)
///   x B, where B is [k, n] row-major (ldb), or with trans_b the transpose
///   of a row-major [n, k] matrix (ldb).
/// A is packed (PackA) into `workspace`; B^T (trans_b) is first written out
/// row-major [k, n] into the workspace after it, so both forms make the
/// same kernel calls; then SgemmRows or SgemmPanelsDirect (by
/// SgemmPreferRows) read B in place. Every element of C is the fma chain of
/// the file comment (no epilogue), so C does not depend on which sub-block
/// of a larger product a call computes: callers may split a product into
/// any blocks (any thread) and a fused layer gives the unfused MatMul's
/// bits. k == 0 gives zeros. `workspace`: SgemmActivationsFloats(m, n, k,
/// trans_b) floats, no alignment needed beyond float's. Never allocates.
void SgemmActivations(bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                      const float* b, int64_t ldb, float* c, int64_t ldc, float* workspace);

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_SGEMM_PACKED_H_
