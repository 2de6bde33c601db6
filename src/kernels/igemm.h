// Exact int8 x int8 -> int32 matrix product for the host INT8 kernels:
// C [M, N] = A [M, K] * B [K, N], A a constant packed once at prepare time
// (weights: M output channels, K the reduction), B row-major int8 that
// changes every call (activations, e.g. an im2col matrix: N = pixels).
//
// One of three code paths is compiled, chosen by the target's instruction
// set (IgemmPath() names it):
//   "avx512-vnni" (AVX-512F/BW + AVX512-VNNI): vpdpbusd, u8 x s8 -> s32 with
//       four products per 32-bit lane and no intermediate saturation. B is
//       shifted to u8 (b + 128) while being packed and 128 * rowsum(A) is
//       subtracted from each result: every partial sum stays within int32
//       (|sum a * (b + 128)| <= 128 * 255 * K < 2^31 and |C| <= 2^14 * K <=
//       2^30 for K <= 65536), so the result is exact.
//   "avx2": operands sign-extended to int16 and multiplied with vpmaddwd
//       (two products per lane, |a*b + a'*b'| <= 2^15: exact), no shift.
//   "scalar": portable C++ on the same blocking.
// Every path gives the exact integer result, so the output bits never depend
// on the path, the blocking, the row or column sub-range, or the thread that
// computes a block. vpmaddubsw (which saturates to int16) is never used.
//
// Blocking follows Goto & van de Geijn: B is packed per call into the
// caller's workspace in [K/4][panel width][4] panels (K by 4 next to each
// other, as vpdpbusd reads them) while A is packed once in blocks of 16 rows,
// [M/16][K/4][16][4]. Two micro-kernels share these layouts: one vectorizes
// over columns of C (8 rows x 48 columns per tile with AVX-512, for wide N),
// the other over rows of C (32 rows x up to 12 columns, for narrow N such as
// the 7x7 = 49 pixels of ResNet-50's last stage, and N = 1, the
// matrix-vector product of a fully connected layer).
#ifndef ENGINE_KERNELS_IGEMM_H_
#define ENGINE_KERNELS_IGEMM_H_

#include <cstddef>
#include <cstdint>
#include <memory>

namespace engine::kernels {

/// The code path compiled into this build: "avx512-vnni", "avx2" or
/// "scalar" (a string literal, never null).
const char* IgemmPath();

/// Smallest workspace Igemm accepts, in bytes (one minimal panel; with it
/// Igemm is correct but slow). IgemmWorkspaceBytes never returns less for a
/// non-empty product.
inline constexpr size_t kIgemmMinWorkspaceBytes = 4096;

/// The constant left operand of Igemm: A [M, K] int8 repacked for the
/// micro-kernels (16-row blocks, K in groups of 4 bytes, zero-padded), plus
/// the sum of every row of A. Immutable after Pack: any number of threads
/// may run Igemm on one PackedInt8Matrix at once. Copyable (deep copy) and
/// movable; a default-constructed matrix is 0 x 0.
class PackedInt8Matrix {
 public:
  PackedInt8Matrix() = default;
  PackedInt8Matrix(const PackedInt8Matrix& other);
  PackedInt8Matrix& operator=(const PackedInt8Matrix& other);
  PackedInt8Matrix(PackedInt8Matrix&&) noexcept = default;
  PackedInt8Matrix& operator=(PackedInt8Matrix&&) noexcept = default;
  ~PackedInt8Matrix() = default;

  /// Packs A [m, k] int8, row-major with leading dimension lda (row i starts
  /// at a + i * lda; lda >= k), any values in [-128, 127]. Preconditions:
  /// m >= 0, 0 <= k <= 65536 (the exactness bound), lda >= k, and `a` valid
  /// for m rows (may be null when m or k is 0); a bad shape aborts with a
  /// message. Allocates about
  /// RoundUp(m, 16) * RoundUp(k, 4) bytes (times 2 on the "avx2" path, which
  /// stores int16) plus 4 bytes per row; meant for prepare time.
  static PackedInt8Matrix Pack(const int8_t* a, int64_t m, int64_t k, int64_t lda);

  /// M, the number of rows of A (output channels).
  int64_t rows() const { return rows_; }
  /// K, the number of columns of A (the reduction length).
  int64_t depth() const { return depth_; }
  /// Sum over k of A[i][k] for rows i in [0, rows()), exact int32 (|sum| <=
  /// 2^23). Callers use it for zero-point corrections: sum_k A[i][k] *
  /// (B[k][j] - z) = C[i][j] - z * row_sums()[i]. Valid while this object
  /// lives (and is not assigned to); null for a 0-row matrix.
  const int32_t* row_sums() const { return row_sums_.get(); }

  // Layout details for igemm.cc.
  /// Packed A: RoundUp(rows, 16) / 16 blocks of units() x 16 x 4 bytes; the
  /// 4-byte unit of row i and unit u is at data() + ((i / 16) * units() + u)
  /// * 64 + (i % 16) * 4. 64-byte aligned.
  const uint8_t* data() const { return data_.get(); }
  /// Number of 4-byte units a row's K values take: ceil(K / 4) int8 quads, or
  /// ceil(K / 2) int16 pairs on the "avx2" path.
  int64_t units() const { return units_; }

 private:
  struct AlignedFree {
    void operator()(uint8_t* p) const;
  };
  void Allocate(int64_t rows, int64_t depth);

  int64_t rows_ = 0;
  int64_t depth_ = 0;
  int64_t units_ = 0;
  int64_t padded_rows_ = 0;  // RoundUp(rows_, 16); row_sums_ holds this many (zeros past rows_)
  std::unique_ptr<uint8_t[], AlignedFree> data_;
  std::unique_ptr<int32_t[]> row_sums_;
};

/// Workspace, in bytes, that Igemm needs for any call on a matrix of depth k
/// with at most n columns (m, the row count, does not change it; it is taken
/// for symmetry with SgemmWorkspaceBytes). 0 when m, n or k is 0, else at
/// least kIgemmMinWorkspaceBytes. Depends only on (n, k) and is
/// nondecreasing in n, so a workspace sized for the whole product also serves
/// calls on column sub-ranges. At most 512 KiB.
size_t IgemmWorkspaceBytes(int64_t m, int64_t n, int64_t k);

/// C[i][j] = sum_{k < K} A[i][k] * B[k][j], exactly in int32, for the rows i
/// in [m0, m1) and every column j in [0, n); K = a.depth(). Other rows of C
/// are not touched, nor columns >= n.
///  - a: packed A; 0 <= m0 <= m1 <= a.rows().
///  - b: B [K, n] int8 row-major, row k at b + k * ldb (ldb >= n), any values
///    in [-128, 127]; only columns [0, n) of rows [0, K) are read.
///  - c: C int32 row-major with leading dimension ldc (ldc >= n), indexed by
///    absolute row: row i (for i in [m0, m1)) is at c + i * ldc, so `c`
///    always points at row 0 even when m0 > 0. The result overwrites C
///    (no accumulation). C must not overlap A, B or the workspace.
///  - workspace: `workspace_bytes` writable bytes (any alignment; 64-byte
///    aligned is best), normally IgemmWorkspaceBytes(a.rows(), n, K) or
///    more; with less, smaller blocks are used (slower, never out of
///    bounds), down to kIgemmMinWorkspaceBytes (a precondition: less aborts).
///    Not needed (may be null) when m0 == m1, n == 0 or K == 0.
/// Never allocates. Safe to call concurrently on the same `a` with separate
/// workspaces and disjoint parts of C; to parallelize, split rows (m0, m1)
/// or columns (offset b and c by the first column j0 and pass that range's
/// width as n). Results are exact for K <= 65536. Violated preconditions
/// on the indices or the workspace abort with a message.
/// Cost notes: a call packs its columns of B once (about a tenth of the
/// time of a 64-row product, less with more rows), so split columns rather
/// than rows into calls of fewer than ~64 rows; row tiles start at multiples
/// of 8 (16 for narrow n), so a range starting at a multiple of 16 computes
/// no rows it throws away.
void Igemm(const PackedInt8Matrix& a, int64_t m0, int64_t m1, int64_t n, const int8_t* b,
           int64_t ldb, int32_t* c, int64_t ldc, void* workspace, size_t workspace_bytes);

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_IGEMM_H_
