// Conv: ONNX Conv (opset 11+), float32, 1-D, 2-D and 3-D.
//
//   X [N, C, D1, ..., Dk]      (k = 1, 2 or 3 spatial dims)
//   W [M, C/group, k1, ..., kk]
//   B [M]                      (optional)
//   R [N, M, O1, ..., Ok]      (optional input 3, engine extension: residual)
//   Y [N, M, O1, ..., Ok]
//
// Attributes (ONNX Operators.md#Conv): auto_pad (NOTSET, SAME_UPPER,
// SAME_LOWER, VALID), dilations, group, kernel_shape (must agree with W),
// pads [x1_begin, ..., xk_begin, x1_end, ..., xk_end], strides.
//
// Fused epilogue (engine extension, set by the optimizer's fuse-residual and
// fuse-activation passes): Y = act(conv(X, W) + B + R), where R is the
// optional input 3 (same shape and dtype as Y) and act is the attribute
// "activation" with "activation_alpha" / "activation_beta" (see
// kernel_util.h, ParseActivation). Y must not share a buffer with R.
//
// Output size per spatial axis i (effective kernel ek = (k - 1) * d + 1):
//   NOTSET:          O = floor((D + pad_begin + pad_end - ek) / s) + 1
//   VALID:           O = floor((D - ek) / s) + 1 (no padding)
//   SAME_UPPER/LOWER: O = ceil(D / s); total pad = max(0, (O - 1) * s + ek - D),
//                    split evenly with the odd unit at the end (UPPER) or at
//                    the beginning (LOWER).
//
// Implementation: per image and group, Y_g [M/g, P] = W_g [M/g, K] * col [K, P]
// with K = C/g * k1 * ... * kk and P = O1 * ... * Ok, where col is the im2col
// matrix of X_g (X_g itself for a 1x1, stride-1, unpadded convolution). The
// product is sgemm_packed.h's: W_g is packed once at Prepare (at Run, into
// the scratch, when W is not a constant) and col is read in place, by the
// row-vectorized kernel (deep products, few columns) or the
// column-vectorized one (SgemmPreferRows decides); the bias, residual and
// activation are applied to each register tile, in registers. Whatever the
// split of the work, every output element is the same fused multiply-add
// chain over K in order, then + bias, + R, act: the outputs do not depend on
// the thread count. The split is fixed by the shapes (SgemmPanelsDirect and
// SgemmRows on blocks of output rows x columns), with col
//  - pointwise: X_g itself; blocks of columns (rows too when there are few);
//  - wide outputs (P >= 512, or a large im2col): built per block, in column
//    chunks that stay in L2, into a per-thread buffer;
//  - narrower outputs: built once in the scratch (its rows split over the
//    threads), then blocks of rows (columns too when there are few); with
//    several images, each thread instead builds and computes whole images
//    (as many as a whole multiple of the threads), in its own scratch slot.
//
// Depthwise convolutions (one input channel per group, 1-D or 2-D) skip the
// GEMM. With AVX-512 and a width stride of 1 or 2 they run output row by
// output row in register tiles (rows x 16-column vectors), each tap one
// masked load of an input row (stride 2: of its even or odd columns, split
// once per plane) and one fused multiply-add, the epilogue in registers.
// Otherwise the zero-padded input plane is split into stride x stride phases
// so that each tap is one contiguous multiply-add over the output plane.
//
// Grouped convolutions with many small groups (depthwise or not) run one
// (image, group) per task with private buffers (the non-depthwise ones with
// Eigen's GEMM, sgemm.h); their split is fixed by the shapes too.

// GCC 12's AVX-512 intrinsics return intentionally uninitialized vectors that
// -Wmaybe-uninitialized flags once inlined (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <Eigen/Core>


#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "kernels/conv_geometry.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"
#include "kernels/packed_weights.h"
#include "kernels/simd.h"
#include "kernels/sgemm.h"
#include "kernels/sgemm_packed.h"

namespace engine::kernels {
namespace {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatrixMap = Eigen::Map<const RowMajorMatrix>;
using MatrixMap = Eigen::Map<RowMajorMatrix>;
using StridedMatrixMap = Eigen::Map<RowMajorMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// Target size of one im2col tile, in floats (4 MiB).
constexpr int64_t kIm2ColTileFloats = int64_t{1} << 20;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t RoundUp(int64_t a, int64_t b) { return CeilDiv(a, b) * b; }
// The largest power of two <= x (1 for x <= 1).
int64_t FloorPow2(int64_t x) {
  int64_t p = 1;
  while (p <= x / 2) p *= 2;
  return p;
}

// dst[i] = src[i * stride] for i < n; src == nullptr: dst[i] = 0. For the
// runs of an im2col row (an output row's worth at most), vectorized for
// strides 1 and 2.
inline void CopyRun(float* __restrict dst, const float* __restrict src, int64_t n, int64_t stride) {
#if defined(__AVX512F__)
  if (src == nullptr) {
    for (int64_t i = 0; i < n; i += 16) {
      const auto mask = static_cast<__mmask16>(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
      _mm512_mask_storeu_ps(dst + i, mask, _mm512_setzero_ps());
    }
    return;
  }
  if (stride == 1) {
    for (int64_t i = 0; i < n; i += 16) {
      const auto mask = static_cast<__mmask16>(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
      _mm512_mask_storeu_ps(dst + i, mask, _mm512_maskz_loadu_ps(mask, src + i));
    }
    return;
  }
  if (stride == 2) {
    // 16 outputs from 32 inputs: the even ones. Inputs past the last one
    // read (2 * (n - 1)) are masked off.
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t i = 0; i < n; i += 16) {
      const int64_t left = std::min<int64_t>(n - i, 16);
      const int64_t inputs = 2 * left - 1;  // src[2i .. 2i + inputs)
      const auto lo_mask = static_cast<__mmask16>(inputs >= 16 ? 0xFFFF : (1u << inputs) - 1);
      const auto hi_mask = static_cast<__mmask16>(inputs <= 16 ? 0 : (1u << (inputs - 16)) - 1);
      const __m512 lo = _mm512_maskz_loadu_ps(lo_mask, src + 2 * i);
      const __m512 hi = _mm512_maskz_loadu_ps(hi_mask, src + 2 * i + 16);
      const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1);
      _mm512_mask_storeu_ps(dst + i, mask, _mm512_permutex2var_ps(lo, even, hi));
    }
    return;
  }
#endif
  if (src == nullptr) {
    std::fill(dst, dst + n, 0.0f);
  } else if (stride == 1) {
    std::copy(src, src + n, dst);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i * stride];
  }
}

// y[i] += a * x[i] for i < n (x and y do not overlap).
void Axpy(float a, const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// y[i] = sum over t = 0..8, in order, of w[t] * tap[t][i] for i < n (the taps
// do not overlap y).
void Taps3x3(const float* const* tap, const float* w, float* __restrict y, int64_t n) {
  const float* __restrict t0 = tap[0];
  const float* __restrict t1 = tap[1];
  const float* __restrict t2 = tap[2];
  const float* __restrict t3 = tap[3];
  const float* __restrict t4 = tap[4];
  const float* __restrict t5 = tap[5];
  const float* __restrict t6 = tap[6];
  const float* __restrict t7 = tap[7];
  const float* __restrict t8 = tap[8];
  const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6],
              w7 = w[7], w8 = w[8];
  for (int64_t i = 0; i < n; ++i) {
    float sum = w0 * t0[i];
    sum += w1 * t1[i];
    sum += w2 * t2[i];
    sum += w3 * t3[i];
    sum += w4 * t4[i];
    sum += w5 * t5[i];
    sum += w6 * t6[i];
    sum += w7 * t7[i];
    sum += w8 * t8[i];
    y[i] = sum;
  }
}

// Everything derived from the attributes and the input shapes.
struct ConvParams : ConvGeometry {
  bool has_bias = false;
  bool has_residual = false;
  Activation activation;
};

absl::StatusOr<ConvParams> ParseConv(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 4, "Conv"));
  const TensorInfo& x = inputs[0];
  const TensorInfo& w = inputs[1];
  const bool has_bias = inputs.size() > 2 && inputs[2].present;
  if (x.dtype != DataType::kFloat32 || w.dtype != DataType::kFloat32 ||
      (has_bias && inputs[2].dtype != DataType::kFloat32)) {
    if (x.dtype == w.dtype && (!has_bias || inputs[2].dtype == x.dtype)) {
      return absl::UnimplementedError(
          absl::StrCat("Conv: only float32 is supported, got ", DataTypeName(x.dtype)));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("Conv: X, W and B must have the same dtype, got X ", DataTypeName(x.dtype),
                     ", W ", DataTypeName(w.dtype),
                     has_bias ? absl::StrCat(", B ", DataTypeName(inputs[2].dtype)) : ""));
  }
  ConvParams p;
  ENGINE_ASSIGN_OR_RETURN(static_cast<ConvGeometry&>(p),
                          ParseConvGeometry(attrs, x.shape, w.shape, "Conv"));
  p.has_bias = has_bias;
  if (has_bias && (inputs[2].shape.size() != 1 || inputs[2].shape[0] != p.out_channels)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Conv: B has shape ", ShapeString(inputs[2].shape), ", expected [", p.out_channels, "]"));
  }
  p.has_residual = inputs.size() > 3 && inputs[3].present;
  if (p.has_residual && (inputs[3].dtype != DataType::kFloat32 || inputs[3].shape != p.y_shape)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Conv: residual (input 3) has shape ", ShapeString(inputs[3].shape), " and dtype ",
        DataTypeName(inputs[3].dtype), ", expected Y's ", ShapeString(p.y_shape), " float32"));
  }
  auto activation = ParseActivation(attrs);
  if (!activation.ok()) return Annotate(activation.status(), "Conv");
  p.activation = *activation;
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferConv(const Attributes& attrs,
                                                  std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(ConvParams p, ParseConv(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, p.y_shape)};
}

class ConvKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseConv(attrs, inputs));
    if (outputs.size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("Conv: expected 1 output, got ", outputs.size()));
    }
    if (outputs[0].shape != p_.y_shape) {
      return absl::InvalidArgumentError(
          absl::StrCat("Conv: output shape ", ShapeString(outputs[0].shape),
                       " differs from the inferred ", ShapeString(p_.y_shape)));
    }
    cg_ = p_.in_channels / p_.group;
    mg_ = p_.out_channels / p_.group;
    kernel_size_ = p_.kernel[0] * p_.kernel[1] * p_.kernel[2];
    col_rows_ = cg_ * kernel_size_;
    in_plane_ = p_.in[0] * p_.in[1] * p_.in[2];
    out_plane_ = p_.out[0] * p_.out[1] * p_.out[2];
    pointwise_ = kernel_size_ == 1;
    for (int a = 0; a < kMaxSpatial; ++a) {
      pointwise_ = pointwise_ && p_.stride[a] == 1 && p_.pad_begin[a] == 0 && p_.pad_end[a] == 0;
    }
    tile_ = 0;
    if (!pointwise_ && out_plane_ > 0 && col_rows_ > 0) {
      // Enough columns per tile to keep the GEMM efficient, at most the plane.
      tile_ = std::min(std::max<int64_t>(kIm2ColTileFloats / col_rows_, 256), out_plane_);
    }
    // Parallel strategy (fixed here, independent of the thread count):
    // grouped convolutions whose groups are small run one (image, group) per
    // task with private buffers; the others split each group's product into
    // blocks (see the file comment).
    const int64_t group_macs = mg_ * col_rows_ * out_plane_;
    by_group_ = p_.group > 1 && (p_.group >= 8 || group_macs < 4 * SgemmGrid::kMinBlockMacs);
    // Depthwise (one input channel per group, at most 2-D): a direct
    // convolution, an im2col GEMM with one row would waste most of its time.
    depthwise_ = p_.group > 1 && cg_ == 1 && p_.in[0] == 1 && p_.kernel[0] == 1 &&
                 p_.pad_begin[0] == 0 && p_.pad_end[0] == 0;
    if (depthwise_) {
      by_group_ = true;
      // The zero-padded input plane split into stride[1] x stride[2] phases
      // (sub-planes of every stride-th row and column), dw_rows_ x dw_cols_
      // each: output (o1, o2) reads tap (t1, t2) from phase
      // (t1 * d1 % s1, t2 * d2 % s2) at (o1 + t1 * d1 / s1, o2 + t2 * d2 / s2).
      const int64_t padded1 = p_.in[1] + p_.pad_begin[1] + p_.pad_end[1];
      const int64_t padded2 = p_.in[2] + p_.pad_begin[2] + p_.pad_end[2];
      dw_rows_ = (padded1 + p_.stride[1] - 1) / p_.stride[1];
      dw_cols_ = (padded2 + p_.stride[2] - 1) / p_.stride[2];
    }
#if defined(__AVX512F__)
    // The vectorized row-by-row depthwise path: strides 1 and 2 along the
    // width (the common cases), any kernel, dilation and padding.
    dw_rows_path_ = depthwise_ && (p_.stride[2] == 1 || p_.stride[2] == 2);
#endif
    if (dw_rows_path_) {
      // Per tap: the offset of its input row from o1 * s1, and the column
      // phase and shift it reads (see RunDepthwiseRows).
      dw_taps_.clear();
      for (int64_t t1 = 0; t1 < p_.kernel[1]; ++t1) {
        for (int64_t t2 = 0; t2 < p_.kernel[2]; ++t2) {
          const int64_t e = t2 * p_.dilation[2] - p_.pad_begin[2];
          const int64_t s2 = p_.stride[2];
          const int64_t q = ((e % s2) + s2) % s2;
          dw_taps_.push_back({t1 * p_.dilation[1] - p_.pad_begin[1], q, (e - q) / s2});
        }
      }
      // Per thread: the input plane split into its even and odd columns
      // (stride 2 only).
      dw_half_ = (p_.in[2] + 1) / 2;
      // Register tiles (RunDepthwiseRows): C vectors of 16 output columns
      // (at most 4), and per column group, tap and vector the lanes that
      // read inside the input row (and the plane).
      const int64_t out2 = p_.out[2];
      const int64_t phase_len[2] = {p_.stride[2] == 2 ? dw_half_ : p_.in[2], p_.in[2] / 2};
      dw_cols_per_tile_ = std::min<int64_t>(CeilDiv(out2, 16), 4);
      dw_masks_.clear();
      for (int64_t c0 = 0; c0 < out2; c0 += 16 * dw_cols_per_tile_) {
        for (const DwTap& tap : dw_taps_) {
          for (int64_t c = 0; c < dw_cols_per_tile_; ++c) {
            const int64_t cnt = std::clamp<int64_t>(out2 - c0 - 16 * c, 0, 16);
            const int64_t base = c0 + 16 * c + tap.shift;
            const int64_t len = phase_len[tap.phase];
            const int64_t lo = std::clamp<int64_t>(-base, 0, 16);
            const int64_t hi = std::clamp<int64_t>(std::min(len - base, cnt), lo, 16);
            dw_masks_.push_back(static_cast<uint16_t>(((1u << hi) - 1) & ~((1u << lo) - 1)));
          }
        }
      }
      scratch_.shared = 0;
      scratch_.per_thread =
          p_.stride[2] == 2 ? static_cast<size_t>(2 * p_.in[1] * dw_half_) * sizeof(float) : 0;
    } else if (depthwise_) {
      // Per thread: the phases of one padded input plane, then the output
      // plane with dw_cols_ columns.
      scratch_.shared = 0;
      scratch_.per_thread = ScratchLayout::Align(DepthwisePhaseFloats() * sizeof(float)) +
                            static_cast<size_t>(p_.out[1] * dw_cols_) * sizeof(float);
    } else if (by_group_) {
      scratch_.shared = 0;
      serial_workspace_bytes_ = SerialWorkspaceBytes();
      scratch_.per_thread = ScratchLayout::Align(ColBytes()) + serial_workspace_bytes_;
    } else {
      PrepareGemm(inputs[1]);
    }
    return absl::OkStatus();
  }

  // Scratch: depthwise, per thread the input plane's column phases (rows
  // path, stride 2) or the padded input's phases and an output plane; by
  // group, per thread an im2col tile and a GEMM workspace; otherwise the
  // packed weights when W is not a constant and the shared im2col, then per
  // thread a private im2col chunk.
  size_t ScratchBytes(int threads) const override { return scratch_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    Operands op;
    op.x = static_cast<const float*>(in[0]);
    op.w = static_cast<const float*>(in[1]);
    op.b = p_.has_bias ? static_cast<const float*>(in[2]) : nullptr;
    op.r = p_.has_residual ? static_cast<const float*>(in[3]) : nullptr;
    op.y = static_cast<float*>(out[0]);
    if (out_plane_ == 0 || mg_ == 0) return;
    if (by_group_) {
      ParallelFor(ctx, p_.batch * p_.group, [&](int64_t begin, int64_t end, int slot) {
        std::byte* mine = scratch_.Slot(ctx, slot);
        float* col = reinterpret_cast<float*>(mine);
        // No scratch at all (null) when the layer needs none: no offset from null.
        std::byte* workspace = mine != nullptr ? mine + ScratchLayout::Align(ColBytes()) : nullptr;
        for (int64_t i = begin; i < end; ++i) {
          RunGroup(op, i / p_.group, i % p_.group, col, workspace, serial_workspace_bytes_);
        }
      });
      return;
    }
    RunGemm(ctx, op);
  }

 private:
  // Least im2col work (floats copied) worth splitting over threads.
  static constexpr int64_t kMinParallelFloats = int64_t{1} << 15;
  // Blocks of a group's product: about one per kBlockMacs multiply-adds, at
  // most kMaxBlocks (enough for the threads to balance their load); a power
  // of two (see PrepareGemm).
  static constexpr int64_t kBlockMacs = int64_t{1} << 20;
  static constexpr int64_t kMaxBlocks = 16;
  // Private blocks are split into row blocks only when there are fewer than
  // kMinBlocks column blocks (each row block would build its im2col again).
  static constexpr int64_t kMinBlocks = 4;
  // Column blocks are at least kMinBlockCols wide.
  static constexpr int64_t kMinBlockCols = 56;
  // Outputs at least this wide (or whose im2col would not fit
  // kSharedFloats) build their im2col per block; narrower ones once.
  static constexpr int64_t kPrivateMinCols = 512;
  static constexpr int64_t kSharedFloats = int64_t{1} << 20;
  // Private im2col chunks: at most this many floats (so that a chunk stays
  // in L2 while every row tile reads it).
  static constexpr int64_t kChunkFloats = int64_t{1} << 17;

  // Where the GEMM's B (col) comes from (see the file comment):
  //  kDirect: X_g itself (pointwise);
  //  kPrivate: an im2col built per block, column chunk by chunk;
  //  kShared: an im2col built once per image and group for all blocks.
  enum class Strategy { kDirect, kPrivate, kShared };

  struct Operands {
    const float* x = nullptr;
    const float* w = nullptr;
    const float* b = nullptr;  // bias or nullptr
    const float* r = nullptr;  // residual or nullptr
    float* y = nullptr;
  };

  // GEMM path setup: strategy, kernel, block grid, packed weights, scratch.
  void PrepareGemm(const TensorInfo& w) {
    const int64_t k = col_rows_, n = out_plane_, m = mg_;
    // Per kernel column t2: the output columns [lo2, hi2) whose im2col
    // entry reads inside the input along the width (Im2ColRows).
    col_range_.clear();
    for (int64_t t2 = 0; t2 < p_.kernel[2]; ++t2) {
      col_range_.push_back(InsideOutputs(t2 * p_.dilation[2] - p_.pad_begin[2], p_.stride[2],
                                         p_.in[2], p_.out[2]));
    }
    w_stride_ = PackedAFloats(m, k);
    // Constant W: packed once per distinct weight content and shared by
    // every kernel (every context and input shape) prepared from it.
    w_packed_.reset();
    if (w.constant != nullptr && m > 0) {
      w_packed_ = SharedPackedA(w.constant->data_as<float>(), p_.group, m, k);
    }
    if (pointwise_) {
      strategy_ = Strategy::kDirect;
    } else if (n < kPrivateMinCols && k * n <= kSharedFloats) {
      strategy_ = Strategy::kShared;
    } else {
      strategy_ = Strategy::kPrivate;
    }
    rows_kernel_ = SgemmPreferRows(m, n, k);
    const int64_t col_align = rows_kernel_ ? SgemmRowsCols() : SgemmPanelAlign();
    // Blocks: a power of two of them, about one per kBlockMacs multiply-adds
    // (at most kMaxBlocks), each an even share of whole units (col_align
    // columns, 32 rows: one register tile of the row kernel, two 16-row
    // blocks of packed A), block sizes differing by one unit at most and
    // alternating: so that the few chunks of blocks ParallelFor hands to the
    // threads (kChunksPerThread per thread, contiguous) get equal work for
    // 2 or 4 threads. With a shared im2col, rows first (every block reads
    // all of it); otherwise columns first (a block reads or builds only its
    // columns), rows only when there are few column blocks.
    const bool shared = strategy_ == Strategy::kShared;
    col_align_ = col_align;
    col_units_ = std::max<int64_t>(CeilDiv(n, col_align), 1);
    row_units_ = std::max<int64_t>(CeilDiv(m, 32), 1);
    const int64_t col_blocks_max =
        std::max<int64_t>(col_units_ / CeilDiv(kMinBlockCols, col_align), 1);
    const int64_t target = FloorPow2(std::clamp<int64_t>(m * k * n / kBlockMacs, 1, kMaxBlocks));
    nbc_ = nbr_ = 1;
    if (!shared) {
      nbc_ = FloorPow2(std::min(target, col_blocks_max));
      if (nbc_ < kMinBlocks) nbr_ = FloorPow2(std::min(target / nbc_, row_units_));
    } else {
      nbr_ = FloorPow2(std::min(target, row_units_));
      nbc_ = FloorPow2(std::min(target / nbr_, col_blocks_max));
    }
    // Private im2col chunks: whole register tiles, at most kChunkFloats.
    chunk_ = std::max<int64_t>(kChunkFloats / std::max<int64_t>(k, 1) / col_align, 1) * col_align;
    // A shared im2col over several images: each thread builds its images'
    // im2col in its own slot and computes them whole (RunGemm).
    batch_split_ = shared && p_.batch >= 2;
    // Scratch: [packed W when not constant][shared im2col], per thread a
    // private im2col chunk (or, batch_split_, a whole im2col instead of the
    // shared one: the same bytes at one thread).
    shared_w_floats_ = w_packed_ == nullptr ? p_.group * w_stride_ : 0;
    size_t shared_bytes =
        ScratchLayout::Align(static_cast<size_t>(shared_w_floats_) * sizeof(float));
    if (shared && !batch_split_) shared_bytes += static_cast<size_t>(k * n) * sizeof(float);
    scratch_.shared = shared_bytes;
    scratch_.per_thread =
        strategy_ == Strategy::kPrivate ? static_cast<size_t>(k * chunk_) * sizeof(float)
        : batch_split_                  ? static_cast<size_t>(k * n) * sizeof(float)
                                        : 0;
  }

  SgemmEpilogue EpilogueFor(const Operands& op, int64_t n, int64_t g) const {
    SgemmEpilogue ep;
    ep.bias = op.b != nullptr ? op.b + g * mg_ : nullptr;
    ep.residual = op.r != nullptr ? op.r + (n * p_.out_channels + g * mg_) * out_plane_ : nullptr;
    ep.ldr = out_plane_;
    ep.activation = p_.activation;
    return ep;
  }

  // Rows [m0, m1) x columns [j0, j1) of Y_g = epilogue(W_g * B), B [K, *]
  // row-major (leading dimension ldb, `b` at B[0][0]), C and R indexed like
  // B's columns (`yg` at Y_g[0][0] for those columns).
  void Product(const float* wg, int64_t m0, int64_t m1, const float* b, int64_t ldb, int64_t j0,
               int64_t j1, float* yg, const SgemmEpilogue& ep) const {
    if (rows_kernel_) {
      SgemmRows(wg, mg_, col_rows_, m0, m1, b, ldb, j0, j1, yg, out_plane_, ep);
    } else {
      SgemmPanelsDirect(wg, mg_, col_rows_, m0, m1, b, ldb, j0, j1, yg, out_plane_, ep);
    }
  }

  void RunGemm(const RunContext& ctx, const Operands& op) const {
    const float* wp = w_packed_ != nullptr ? w_packed_->data() : nullptr;
    std::byte* shared = scratch_.Shared(ctx);
    if (w_packed_ == nullptr) {
      // W is not a constant: pack it now.
      auto* dst = reinterpret_cast<float*>(shared);
      for (int64_t g = 0; g < p_.group; ++g) {
        PackA(op.w + g * mg_ * col_rows_, mg_, col_rows_, col_rows_, 1, dst + g * w_stride_);
      }
      wp = dst;
    }
    const int64_t blocks = nbr_ * nbc_;
    if (strategy_ != Strategy::kShared) {
      // One pass over every (image, group, block).
      const int64_t per_image = p_.group * blocks;
      ParallelFor(ctx, p_.batch * per_image, [&](int64_t begin, int64_t end, int slot) {
        auto* ws = reinterpret_cast<float*>(scratch_.Slot(ctx, slot));
        for (int64_t i = begin; i < end; ++i) {
          const int64_t n = i / per_image, g = i / blocks % p_.group, blk = i % blocks;
          RunBlock(op, wp + g * w_stride_, n, g, blk, ws);
        }
      });
      return;
    }
    // Shared im2col: per image and group, built with its rows split over the
    // threads, then the blocks. With several images (batch_split_), the
    // first whole multiple of ctx.threads images instead run one image per
    // task, each thread building that image's im2col in its own slot and
    // computing all of its blocks: no fork/join per image and group, and
    // whole-image tasks balance where a late layer's few blocks do not. The
    // remaining images (fewer than the threads) go block by block as below,
    // the im2col in slot 0. Every block is the same Product either way, so
    // the bits do not depend on the split.
    const int64_t k = col_rows_, np = out_plane_;
    int64_t first = 0;  // images [0, first) ran one per task
    float* col = nullptr;
    if (batch_split_) {
      const int64_t threads = ctx.pool != nullptr ? std::max(ctx.threads, 1) : 1;
      first = p_.batch / threads * threads;
      ParallelFor(ctx, first * p_.group, [&](int64_t begin, int64_t end, int slot) {
        auto* mine = reinterpret_cast<float*>(scratch_.Slot(ctx, slot));
        for (int64_t i = begin; i < end; ++i) {
          const int64_t n = i / p_.group, g = i % p_.group;
          Im2ColPlain(op.x + (n * p_.in_channels + g * cg_) * in_plane_, 0, k, 0, np, mine);
          const float* wg = wp + g * w_stride_;
          const SgemmEpilogue ep = EpilogueFor(op, n, g);
          float* yg = op.y + (n * p_.out_channels + g * mg_) * out_plane_;
          for (int64_t blk = 0; blk < blocks; ++blk) {
            int64_t m0, m1, c0, c1;
            Block(blk, &m0, &m1, &c0, &c1);
            Product(wg, m0, m1, mine, np, c0, c1, yg, ep);
          }
        }
      });
      col = reinterpret_cast<float*>(scratch_.Slot(ctx, 0));
    } else {
      col = reinterpret_cast<float*>(
          shared + ScratchLayout::Align(static_cast<size_t>(shared_w_floats_) * sizeof(float)));
    }
    for (int64_t n = first; n < p_.batch; ++n) {
      for (int64_t g = 0; g < p_.group; ++g) {
        const float* xg = op.x + (n * p_.in_channels + g * cg_) * in_plane_;
        auto im2col = [&](int64_t r0, int64_t r1, int) {
          Im2ColPlain(xg, r0, r1, 0, np, col + r0 * np);
        };
        if (k * np >= kMinParallelFloats) {
          ParallelFor(ctx, k, im2col);
        } else {
          im2col(0, k, 0);
        }
        const float* wg = wp + g * w_stride_;
        const SgemmEpilogue ep = EpilogueFor(op, n, g);
        float* yg = op.y + (n * p_.out_channels + g * mg_) * out_plane_;
        ParallelFor(ctx, blocks, [&](int64_t begin, int64_t end, int) {
          for (int64_t blk = begin; blk < end; ++blk) {
            int64_t m0, m1, c0, c1;
            Block(blk, &m0, &m1, &c0, &c1);
            Product(wg, m0, m1, col, np, c0, c1, yg, ep);
          }
        });
      }
    }
  }

  // Block blk: rows [m0, m1) x columns [c0, c1) of Y_g (see PrepareGemm).
  void Block(int64_t blk, int64_t* m0, int64_t* m1, int64_t* c0, int64_t* c1) const {
    const int64_t rb = blk / nbc_, cb = blk % nbc_;
    *m0 = std::min(mg_, rb * row_units_ / nbr_ * 32);
    *m1 = std::min(mg_, (rb + 1) * row_units_ / nbr_ * 32);
    *c0 = std::min(out_plane_, cb * col_units_ / nbc_ * col_align_);
    *c1 = std::min(out_plane_, (cb + 1) * col_units_ / nbc_ * col_align_);
  }

  // Block `blk` of image n, group g's product without a shared im2col; `ws`
  // is the thread's scratch (a private im2col chunk).
  void RunBlock(const Operands& op, const float* wg, int64_t n, int64_t g, int64_t blk,
                float* ws) const {
    int64_t m0, m1, c0, c1;
    Block(blk, &m0, &m1, &c0, &c1);
    const float* xg = op.x + (n * p_.in_channels + g * cg_) * in_plane_;
    float* yg = op.y + (n * p_.out_channels + g * mg_) * out_plane_;
    const SgemmEpilogue ep = EpilogueFor(op, n, g);
    if (strategy_ == Strategy::kDirect) {
      Product(wg, m0, m1, xg, in_plane_, c0, c1, yg, ep);
      return;
    }
    // Column chunks of at most chunk_ (balanced, whole register tiles):
    // the chunk's im2col [K, len], then the product on it (with C and R
    // offset to the chunk's first column).
    const int64_t align = rows_kernel_ ? SgemmRowsCols() : SgemmPanelAlign();
    const int64_t chunks = CeilDiv(c1 - c0, chunk_);
    const int64_t chunk = RoundUp(CeilDiv(c1 - c0, chunks), align);
    for (int64_t j0 = c0; j0 < c1; j0 += chunk) {
      const int64_t j1 = std::min(c1, j0 + chunk), len = j1 - j0;
      Im2ColPlain(xg, 0, col_rows_, j0, j1, ws);
      SgemmEpilogue shifted = ep;
      if (shifted.residual != nullptr) shifted.residual += j0;
      Product(wg, m0, m1, ws, len, 0, len, yg + j0, shifted);
    }
  }

  // Rows [k0, k1) x columns [j0, j1) of the im2col matrix of X_g (at xg),
  // row-major: row r at out + (r - k0) * (j1 - j0).
  void Im2ColPlain(const float* xg, int64_t k0, int64_t k1, int64_t j0, int64_t j1,
                   float* out) const {
    const int64_t len = j1 - j0;
    Im2ColRows(
        xg, k0, k1, j0, j1, [&](int64_t r) { return out + (r - k0) * len; },
        [](int64_t, const float*) {});
  }

  // Builds rows [k0, k1) x columns [j0, j1) of the im2col matrix of X_g (as
  // conv_geometry.h's Im2Col; not pointwise): row r into dst(r) (j1 - j0
  // floats), then calls done(r, dst(r)). The tap of each row and the output
  // position of j0 are counted up instead of divided out per row.
  template <typename Dst, typename Done>
  void Im2ColRows(const float* xg, int64_t k0, int64_t k1, int64_t j0, int64_t j1, Dst dst_of,
                  Done done) const {
    const int64_t in0 = p_.in[0], in1 = p_.in[1], in2 = p_.in[2];
    const int64_t out1 = p_.out[1], out2 = p_.out[2];
    const int64_t s0 = p_.stride[0], s1 = p_.stride[1], s2 = p_.stride[2];
    const int64_t k0s = p_.kernel[0], k1s = p_.kernel[1], k2s = p_.kernel[2];
    const int64_t start2 = j0 % out2, start1 = (j0 / out2) % out1, start0 = j0 / (out2 * out1);
    int64_t c = k0 / kernel_size_;
    int64_t t0 = k0 % kernel_size_ / (k1s * k2s);
    int64_t t1 = k0 % (k1s * k2s) / k2s;
    int64_t t2 = k0 % k2s;
    for (int64_t r = k0; r < k1; ++r) {
      const int64_t off0 = t0 * p_.dilation[0] - p_.pad_begin[0];
      const int64_t off1 = t1 * p_.dilation[1] - p_.pad_begin[1];
      const int64_t off2 = t2 * p_.dilation[2] - p_.pad_begin[2];
      // Output columns o2 in [lo2, hi2) read inside the input along axis 2.
      const int64_t lo2 = col_range_[t2].lo, hi2 = col_range_[t2].hi;
      const float* xc = xg + c * in_plane_;
      float* const row = dst_of(r);
      float* dst = row;
      int64_t o2 = start2, o1 = start1, o0 = start0;
      for (int64_t pos = j0; pos < j1;) {
        const int64_t n = std::min(out2 - o2, j1 - pos);
        const int64_t i0 = o0 * s0 + off0;
        const int64_t i1 = o1 * s1 + off1;
        if (i0 < 0 || i0 >= in0 || i1 < 0 || i1 >= in1) {
          CopyRun(dst, nullptr, n, 0);
        } else {
          const float* src = xc + (i0 * in1 + i1) * in2;
          const int64_t a = std::clamp(lo2, o2, o2 + n);  // first valid column
          const int64_t z = std::clamp(hi2, a, o2 + n);   // end of valid columns
          for (int64_t i = 0; i < a - o2; ++i) dst[i] = 0.0f;
          CopyRun(dst + (a - o2), src + a * s2 + off2, z - a, s2);
          for (int64_t i = z - o2; i < n; ++i) dst[i] = 0.0f;
        }
        dst += n;
        pos += n;
        o2 = 0;
        if (++o1 == out1) {
          o1 = 0;
          ++o0;
        }
      }
      done(r, row);
      // The next row's tap.
      if (++t2 == k2s) {
        t2 = 0;
        if (++t1 == k1s) {
          t1 = 0;
          if (++t0 == k0s) {
            t0 = 0;
            ++c;
          }
        }
      }
    }
  }

  size_t ColBytes() const {
    return (static_cast<size_t>(col_rows_ * tile_) * sizeof(float) + 63) / 64 * 64;
  }
  // The largest workspace of the whole-group products RunGroup makes (a full
  // tile and the last, shorter one: Eigen's panels are not monotonic in the
  // size).
  size_t SerialWorkspaceBytes() const {
    if (pointwise_) return SgemmWorkspaceBytes(mg_, out_plane_, cg_);
    if (tile_ == 0) return 0;
    return std::max(SgemmWorkspaceBytes(mg_, tile_, col_rows_),
                    SgemmWorkspaceBytes(mg_, out_plane_ % tile_, col_rows_));
  }

  // Bias, residual and activation on rows [m0, m1) x positions [c0, c1) of
  // the output block of image n, group g.
  void Epilogue(const Operands& op, int64_t n, int64_t g, int64_t m0, int64_t m1, int64_t c0,
                int64_t c1) const {
    const int64_t base = (n * p_.out_channels + g * mg_) * out_plane_;
    for (int64_t m = m0; m < m1; ++m) {
      float* row = op.y + base + m * out_plane_ + c0;
      const int64_t len = c1 - c0;
      if (op.b != nullptr) {
        const float bias = op.b[g * mg_ + m];
        for (int64_t i = 0; i < len; ++i) row[i] += bias;
      }
      if (op.r != nullptr) {
        const float* res = op.r + base + m * out_plane_ + c0;
        for (int64_t i = 0; i < len; ++i) row[i] += res[i];
      }
      ApplyActivation(p_.activation, row, len);
    }
  }

  // The whole of image n, group g on the calling thread, with `col` (an
  // im2col tile) and `workspace` (SerialWorkspaceBytes()) as scratch.
  void RunGroup(const Operands& op, int64_t n, int64_t g, float* col, void* workspace,
                size_t workspace_bytes) const {
    if (dw_rows_path_) {
      RunDepthwiseRows(op, n, g, col);
      return;
    }
    if (depthwise_) {
      RunDepthwise(op, n, g, col);
      return;
    }
    const float* xg = op.x + (n * p_.in_channels + g * cg_) * in_plane_;
    float* yg = op.y + (n * p_.out_channels + g * mg_) * out_plane_;
    if (col_rows_ == 0) {  // C == 0: the sum is empty.
      std::fill(yg, yg + mg_ * out_plane_, 0.0f);
    } else {
      // Y_g [M/g, P] = W_g [M/g, K] * X_g [K, P] (X_g im2col'ed tile by tile).
      const float* wg = op.w + g * mg_ * col_rows_;
      if (pointwise_) {
        Sgemm(false, false, mg_, out_plane_, cg_, 1.0f, wg, col_rows_, xg, out_plane_, 0.0f, yg,
              out_plane_, workspace, workspace_bytes);
      } else {
        for (int64_t p0 = 0; p0 < out_plane_; p0 += tile_) {
          const int64_t len = std::min(tile_, out_plane_ - p0);
          Im2Col(xg, p0, len, 0, col_rows_, col);
          Sgemm(false, false, mg_, len, col_rows_, 1.0f, wg, col_rows_, col, len, 0.0f, yg + p0,
                out_plane_, workspace, workspace_bytes);
        }
      }
    }
    Epilogue(op, n, g, 0, mg_, 0, out_plane_);
  }

#if defined(__AVX512F__)
  // Depthwise convolution of image n, group g, output row by output row, 16
  // output columns per vector: for each tap (in kernel order) one masked
  // load of the input row (zero outside the input) and one fused
  // multiply-add; then + bias, + R and the activation on the row, in
  // registers. With stride 2 along the width, the input plane is first split
  // into its even and odd columns (in `scratch`), so that every tap reads
  // consecutive columns of one of them.
  void RunDepthwiseRows(const Operands& op, int64_t n, int64_t g, float* scratch) const {
    const int64_t s2 = p_.stride[2];
    const int64_t in1 = p_.in[1], in2 = p_.in[2], out1 = p_.out[1], out2 = p_.out[2];
    const float* xc = op.x + (n * p_.in_channels + g) * in_plane_;
    // Column phases: phase q of row i, element j = X[i][j * s2 + q].
    const float* phase[2] = {xc, nullptr};
    int64_t phase_len[2] = {in2, 0}, phase_ld = in2;
    if (s2 == 2) {
      const int64_t half = dw_half_;
      float* even = scratch;
      float* odd = scratch + in1 * half;
      const __m512i ev =
          _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
      const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
      for (int64_t i = 0; i < in1; ++i) {
        const float* src = xc + i * in2;
        for (int64_t j = 0; j < half; j += 16) {
          // Inputs [2j, 2j + 32) ∩ [0, in2).
          const int64_t left = std::min<int64_t>(in2 - 2 * j, 32);
          const auto lo_mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1);
          const auto hi_mask = static_cast<__mmask16>(left <= 16   ? 0
                                                      : left >= 32 ? 0xFFFF
                                                                   : (1u << (left - 16)) - 1);
          const __m512 lo = _mm512_maskz_loadu_ps(lo_mask, src + 2 * j);
          const __m512 hi = _mm512_maskz_loadu_ps(hi_mask, src + 2 * j + 16);
          const int64_t cnt = std::min<int64_t>(half - j, 16);
          const auto mask = static_cast<__mmask16>(cnt >= 16 ? 0xFFFF : (1u << cnt) - 1);
          _mm512_mask_storeu_ps(even + i * half + j, mask, _mm512_permutex2var_ps(lo, ev, hi));
          _mm512_mask_storeu_ps(odd + i * half + j, mask, _mm512_permutex2var_ps(lo, od, hi));
        }
      }
      phase[0] = even;
      phase[1] = odd;
      phase_len[0] = half;
      phase_len[1] = in2 / 2;
      phase_ld = half;
    }
    DwArgs args;
    args.phase[0] = phase[0];
    args.phase[1] = phase[1];
    args.phase_len[0] = phase_len[0];
    args.phase_len[1] = phase_len[1];
    args.phase_ld = phase_ld;
    // Register tiles of R output rows x C vectors of 16 columns, R * C = 8
    // independent accumulators: C = the vectors of a row (at most 4), R
    // the rows that fill the rest.
    const int64_t cols_per_tile = dw_cols_per_tile_;
    const int64_t taps = static_cast<int64_t>(dw_taps_.size());
    for (int64_t m = 0; m < mg_; ++m) {
      const int64_t oc = g * mg_ + m;
      args.w = op.w + oc * kernel_size_;
      args.y = op.y + (n * p_.out_channels + oc) * out_plane_;
      args.r = op.r != nullptr ? op.r + (n * p_.out_channels + oc) * out_plane_ : nullptr;
      args.has_bias = op.b != nullptr;
      args.bias = op.b != nullptr ? op.b[oc] : 0.0f;
      for (int64_t c0 = 0; c0 < out2; c0 += 16 * cols_per_tile) {
        args.c0 = c0;
        args.masks = dw_masks_.data() + c0 / (16 * cols_per_tile) * taps * cols_per_tile;
        if (cols_per_tile == 4) {
          for (int64_t o1 = 0; o1 < out1; o1 += 2) {
            args.o1 = o1;
            DepthwiseTile<2, 4>(args);
          }
        } else if (cols_per_tile == 2) {
          for (int64_t o1 = 0; o1 < out1; o1 += 4) {
            args.o1 = o1;
            DepthwiseTile<4, 2>(args);
          }
        } else if (cols_per_tile == 3) {
          for (int64_t o1 = 0; o1 < out1; o1 += 2) {
            args.o1 = o1;
            DepthwiseTile<2, 3>(args);
          }
        } else {
          for (int64_t o1 = 0; o1 < out1; o1 += 8) {
            args.o1 = o1;
            DepthwiseTile<8, 1>(args);
          }
        }
      }
    }
  }

  struct DwArgs {
    const float* phase[2];
    int64_t phase_len[2];
    int64_t phase_ld;
    const float* w;  // the output channel's kernel
    float* y;        // its output plane
    const float* r;  // its residual plane, or null
    bool has_bias;
    float bias;
    int64_t o1, c0;         // the tile's first output row and column
    const uint16_t* masks;  // the column group's load masks [tap][vector]
  };

  // One register tile of RunDepthwiseRows: output rows [o1, o1 + R) x
  // columns [c0, c0 + 16 * C), clipped to the plane.
  template <int R, int C>
  void DepthwiseTile(const DwArgs& a) const {
    const int64_t s1 = p_.stride[1], in1 = p_.in[1], out1 = p_.out[1], out2 = p_.out[2];
    const int64_t rows = std::min<int64_t>(R, out1 - a.o1);
    __mmask16 store[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      const int64_t cnt = std::clamp<int64_t>(out2 - a.c0 - 16 * c, 0, 16);
      store[c] = static_cast<__mmask16>((1u << cnt) - 1);
    }
    __m512 acc[R][C];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    }
    const int64_t taps = static_cast<int64_t>(dw_taps_.size());
    for (int64_t t = 0; t < taps; ++t) {
      const DwTap& tap = dw_taps_[t];
      // Lanes l of vector c with 0 <= c0 + 16c + l + shift < len (and
      // inside the plane).
      __mmask16 mask[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) mask[c] = a.masks[t * C + c];
      const __m512 w = _mm512_set1_ps(a.w[t]);
      const float* plane = a.phase[tap.phase] + a.c0 + tap.shift;
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const int64_t i1 = (a.o1 + r) * s1 + tap.row;
        if (r >= rows || i1 < 0 || i1 >= in1) continue;  // a padding row adds nothing
        const float* row = plane + i1 * a.phase_ld;
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          acc[r][c] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(mask[c], row + 16 * c), acc[r][c]);
        }
      }
    }
    const Activation& act = p_.activation;
    const bool in_tile = act.kind == Activation::Kind::kNone ||
                         act.kind == Activation::Kind::kRelu || act.kind == Activation::Kind::kClip;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      if (r >= rows) continue;
      float* out = a.y + (a.o1 + r) * out2 + a.c0;
      const float* res = a.r != nullptr ? a.r + (a.o1 + r) * out2 + a.c0 : nullptr;
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        __m512 v = acc[r][c];
        if (a.has_bias) v = _mm512_add_ps(v, _mm512_set1_ps(a.bias));
        if (res != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(store[c], res + 16 * c));
        if (act.kind == Activation::Kind::kRelu) {
          v = _mm512_max_ps(_mm512_setzero_ps(), v);
        } else if (act.kind == Activation::Kind::kClip) {
          v = _mm512_min_ps(_mm512_set1_ps(act.beta), _mm512_max_ps(_mm512_set1_ps(act.alpha), v));
        }
        _mm512_mask_storeu_ps(out + 16 * c, store[c], v);
      }
      if (!in_tile) ApplyActivation(act, out, std::min<int64_t>(16 * C, out2 - a.c0));
    }
  }
#else
  void RunDepthwiseRows(const Operands&, int64_t, int64_t, float*) const {}
#endif

  size_t DepthwisePhaseFloats() const {
    return static_cast<size_t>(p_.stride[1] * p_.stride[2] * dw_rows_ * dw_cols_);
  }

  // Depthwise convolution of image n, group g (input channel g, output
  // channels g * M/g ...), with `scratch` (scratch_.per_thread bytes). The
  // padded input plane is split into phases (see Prepare), so that every tap
  // is one contiguous multiply-add over the whole output plane, computed
  // dw_cols_ wide (the columns past the output width are discarded): taps
  // accumulate in kernel order, then the plane gets the epilogue.
  void RunDepthwise(const Operands& op, int64_t n, int64_t g, float* scratch) const {
    const int64_t s1 = p_.stride[1], s2 = p_.stride[2], d1 = p_.dilation[1], d2 = p_.dilation[2];
    const int64_t in1 = p_.in[1], in2 = p_.in[2], out1 = p_.out[1], out2 = p_.out[2];
    const int64_t pb1 = p_.pad_begin[1], pb2 = p_.pad_begin[2];
    const int64_t phase_size = dw_rows_ * dw_cols_;
    float* phases = scratch;
    float* acc =
        scratch + ScratchLayout::Align(DepthwisePhaseFloats() * sizeof(float)) / sizeof(float);
    // Phase (r1, r2) holds padded[i * s1 + r1][j * s2 + r2] at [i][j].
    const float* xc = op.x + (n * p_.in_channels + g) * in_plane_;
    for (int64_t r1 = 0; r1 < s1; ++r1) {
      for (int64_t i = 0; i < dw_rows_; ++i) {
        const int64_t row = i * s1 + r1 - pb1;  // input row
        const float* src = row >= 0 && row < in1 ? xc + row * in2 : nullptr;
        for (int64_t r2 = 0; r2 < s2; ++r2) {
          float* dst = phases + (r1 * s2 + r2) * phase_size + i * dw_cols_;
          if (src == nullptr) {
            std::fill(dst, dst + dw_cols_, 0.0f);
            continue;
          }
          // Column j reads input column j * s2 + r2 - pb2, zero outside
          // [0, in2): inside for j in [lo, hi).
          const int64_t first = r2 - pb2;
          const auto [lo, hi] = InsideOutputs(first, s2, in2, dw_cols_);
          std::fill(dst, dst + lo, 0.0f);
          const float* from = src + lo * s2 + first;
          if (s2 == 1) {
            std::copy(from, from + (hi - lo), dst + lo);
          } else {
            for (int64_t j = lo; j < hi; ++j) dst[j] = from[(j - lo) * s2];
          }
          std::fill(dst + hi, dst + dw_cols_, 0.0f);
        }
      }
    }
    // The last output element is at (out1 - 1) * dw_cols_ + out2 - 1; no tap
    // reads past its phase for it (the output size formula guarantees it).
    const int64_t len = (out1 - 1) * dw_cols_ + out2;
    const int64_t k1 = p_.kernel[1], k2 = p_.kernel[2];
    for (int64_t m = 0; m < mg_; ++m) {
      const int64_t oc = g * mg_ + m;
      const float* wk = op.w + oc * kernel_size_;
      const float* taps[9];
      auto tap = [&](int64_t t1, int64_t t2) {
        const int64_t e1 = t1 * d1, e2 = t2 * d2;
        return phases + ((e1 % s1) * s2 + e2 % s2) * phase_size + (e1 / s1) * dw_cols_ + e2 / s2;
      };
      if (k1 == 3 && k2 == 3) {
        // The common 3x3: all nine taps in one pass.
        for (int64_t t = 0; t < 9; ++t) taps[t] = tap(t / 3, t % 3);
        Taps3x3(taps, wk, acc, len);
      } else {
        std::fill(acc, acc + len, 0.0f);
        for (int64_t t1 = 0; t1 < k1; ++t1) {
          for (int64_t t2 = 0; t2 < k2; ++t2) Axpy(wk[t1 * k2 + t2], tap(t1, t2), acc, len);
        }
      }
      // The epilogue (as Epilogue()), with the bias added while copying the
      // output columns out of the wider rows.
      float* yc = op.y + (n * p_.out_channels + oc) * out_plane_;
      for (int64_t o1 = 0; o1 < out1; ++o1) {
        const float* from = acc + o1 * dw_cols_;
        float* to = yc + o1 * out2;
        if (op.b != nullptr) {
          const float bias = op.b[oc];
          for (int64_t o2 = 0; o2 < out2; ++o2) to[o2] = from[o2] + bias;
        } else {
          std::copy(from, from + out2, to);
        }
      }
      if (op.r != nullptr) {
        const float* res = op.r + (n * p_.out_channels + oc) * out_plane_;
        for (int64_t i = 0; i < out_plane_; ++i) yc[i] += res[i];
      }
      ApplyActivation(p_.activation, yc, out_plane_);
    }
  }

  void Im2Col(const float* xg, int64_t p0, int64_t len, int64_t r0, int64_t r1, float* col) const {
    kernels::Im2Col<float>(p_, xg, p0, len, r0, r1, col, 0.0f);
  }

  ConvParams p_;
  int64_t cg_ = 0;                     // C / group
  int64_t mg_ = 0;                     // M / group
  int64_t kernel_size_ = 0;            // k1 * ... * kk
  int64_t col_rows_ = 0;               // K = C/group * kernel_size_
  int64_t in_plane_ = 0;               // D1 * ... * Dk
  int64_t out_plane_ = 0;              // P = O1 * ... * Ok
  int64_t tile_ = 0;                   // output positions per im2col tile
  bool pointwise_ = false;             // 1x1 kernel, stride 1, no padding
  bool by_group_ = false;              // parallel over (image, group), else over GEMM blocks
  size_t serial_workspace_bytes_ = 0;  // by group, not depthwise: RunGroup's GEMM workspace
  bool depthwise_ = false;             // direct depthwise convolution (RunDepthwise)
  bool dw_rows_path_ = false;          // depthwise: RunDepthwiseRows (AVX-512)
  struct DwTap {
    int64_t row;    // input row = o1 * s1 + row
    int64_t phase;  // column phase read (input column % s2)
    int64_t shift;  // output column o2 reads phase column o2 + shift
  };
  std::vector<DwTap> dw_taps_;    // depthwise rows path: the taps in kernel order
  int64_t dw_cols_per_tile_ = 1;  // vectors of 16 output columns per register tile
  // Load masks per column group (16 * dw_cols_per_tile_ columns), tap and
  // vector of the tile.
  std::vector<uint16_t> dw_masks_;
  int64_t dw_half_ = 0;  // depthwise, stride 2: columns of the even phase
  int64_t dw_rows_ = 0;  // depthwise: rows of one phase of the padded input
  int64_t dw_cols_ = 0;  // depthwise: columns of one phase (and of the output rows computed)
  // GEMM path (not by group).
  Strategy strategy_ = Strategy::kDirect;
  bool rows_kernel_ = false;               // SgemmRows, else SgemmPanelsDirect
  // Packed W per group (PackA; SharedPackedA), when W is a constant.
  std::shared_ptr<const std::vector<float>> w_packed_;
  int64_t w_stride_ = 0;                   // floats of one group's packed W
  int64_t shared_w_floats_ = 0;            // W packed at Run into the scratch (not a constant)
  int64_t nbr_ = 1, nbc_ = 1;              // blocks: row blocks x column blocks
  int64_t row_units_ = 1;                  // 32-row units of Y_g's rows
  bool batch_split_ = false;  // shared im2col per thread, one image per task (RunGemm)
  int64_t col_units_ = 1, col_align_ = 1;  // col_align_-column units of Y_g's columns
  int64_t chunk_ = 0;                      // private im2col: columns per chunk
  std::vector<OutputRange> col_range_;     // im2col: [lo2, hi2) per kernel column (Im2ColRows)
  ScratchLayout scratch_;
};

}  // namespace

KernelDef MakeConvDef() { return MakeDef<ConvKernel>("Conv", InferConv); }

}  // namespace engine::kernels
