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
// the scratch, when W is not a constant), col is packed straight from X into
// the GEMM's column panels (the im2col is fused into the packing), and the
// bias, residual and activation are applied to each register tile after its
// last K block. Whatever the split of the work, every output element is the
// same fused multiply-add chain over K in order, then + bias, + R, act: the
// outputs do not depend on the thread count. The split is fixed by the shapes
// (one of three strategies):
//  - wide outputs (large P): blocks of output columns (and, for few columns,
//    of rows), each packing its own columns of col, K block by K block, into
//    a per-thread buffer (Goto & van de Geijn's loops);
//  - mid-size outputs: col packed once into shared panels (rows of col split
//    over the threads), then blocks of output rows;
//  - narrow outputs (e.g. ResNet-50's 7x7 = 49 pixels): the row-vectorized
//    kernel reads col row-major (X_g itself when pointwise, else an im2col in
//    the scratch built by the threads), blocks of output rows.
//
// Depthwise convolutions (one input channel per group, 1-D or 2-D) skip the
// GEMM: the zero-padded input plane is split into stride x stride phases so
// that each tap is one contiguous multiply-add over the output plane.
//
// Grouped convolutions with many small groups (depthwise or not) run one
// (image, group) per task with private buffers (the non-depthwise ones with
// Eigen's GEMM, sgemm.h); their split is fixed by the shapes too.
#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "executor/kernels/conv_geometry.h"
#include "executor/kernels/defs.h"
#include "executor/kernels/kernel_util.h"
#include "executor/kernels/sgemm.h"
#include "executor/kernels/sgemm_packed.h"

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
    // Parallel strategy (fixed here, independent of the thread count, so the
    // arithmetic is the same for every thread count): grouped convolutions
    // whose groups are small run one (image, group) per task with private
    // im2col and GEMM buffers; the others split each GEMM into a fixed grid
    // of blocks over a shared im2col tile.
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
    if (pointwise_) {
      grid_full_ = SgemmGrid(mg_, out_plane_, cg_);
    } else if (tile_ > 0) {
      grid_full_ = SgemmGrid(mg_, tile_, col_rows_);
      grid_last_ = SgemmGrid(mg_, out_plane_ % tile_ == 0 ? tile_ : out_plane_ % tile_, col_rows_);
    }
    if (depthwise_) {
      // Per thread: the phases of one padded input plane, then the output
      // plane with dw_cols_ columns.
      scratch_.shared = 0;
      scratch_.per_thread = ScratchLayout::Align(DepthwisePhaseFloats() * sizeof(float)) +
                            static_cast<size_t>(p_.out[1] * dw_cols_) * sizeof(float);
    } else if (by_group_) {
      scratch_.shared = 0;
      scratch_.per_thread = ScratchLayout::Align(ColBytes()) + SerialWorkspaceBytes();
    } else {
      scratch_.shared = ColBytes();
      scratch_.per_thread = std::max(grid_full_.WorkspaceBytes(), grid_last_.WorkspaceBytes());
    }
    return absl::OkStatus();
  }

  // Scratch, per thread: depthwise, the input phases and an output plane; by
  // group, an im2col tile and a GEMM workspace; otherwise a GEMM workspace,
  // after one im2col tile shared by the threads.
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
        std::byte* workspace = mine + ScratchLayout::Align(ColBytes());
        for (int64_t i = begin; i < end; ++i) {
          RunGroup(op, i / p_.group, i % p_.group, col, workspace, SerialWorkspaceBytes());
        }
      });
      return;
    }
    float* col = reinterpret_cast<float*>(scratch_.Shared(ctx));
    for (int64_t n = 0; n < p_.batch; ++n) {
      for (int64_t g = 0; g < p_.group; ++g) {
        if (col_rows_ == 0) {  // C == 0: the sum is empty.
          RunGroup(op, n, g, col, scratch_.Slot(ctx, 0), scratch_.per_thread);
          continue;
        }
        const float* xg = op.x + (n * p_.in_channels + g * cg_) * in_plane_;
        if (pointwise_) {
          // Y_g [M/g, P] = W_g [M/g, C/g] * X_g [C/g, P], block by block.
          RunGrid(ctx, grid_full_, op, n, g, xg, 0, out_plane_);
          continue;
        }
        for (int64_t p0 = 0; p0 < out_plane_; p0 += tile_) {
          const int64_t len = std::min(tile_, out_plane_ - p0);
          // The tile's im2col rows, split over the threads, then its GEMM.
          const bool parallel = col_rows_ * len >= kMinParallelFloats;
          auto im2col = [&](int64_t r0, int64_t r1, int) { Im2Col(xg, p0, len, r0, r1, col); };
          if (parallel) {
            ParallelFor(ctx, col_rows_, im2col);
          } else {
            im2col(0, col_rows_, 0);
          }
          RunGrid(ctx, p0 + len < out_plane_ ? grid_full_ : grid_last_, op, n, g, col, p0, len);
        }
      }
    }
  }

 private:
  // Least im2col work (floats copied) worth splitting over threads.
  static constexpr int64_t kMinParallelFloats = int64_t{1} << 15;

  struct Operands {
    const float* x = nullptr;
    const float* w = nullptr;
    const float* b = nullptr;  // bias or nullptr
    const float* r = nullptr;  // residual or nullptr
    float* y = nullptr;
  };

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

  // Output columns [p0, p0 + len) of image n, group g: Y_g[:, p0 ..] =
  // W_g * cols, where `cols` ([col_rows_, len], leading dimension ld) is the
  // im2col tile or, pointwise, X_g itself; the grid's blocks are spread over
  // the threads, each with its own workspace, and finished by the epilogue.
  void RunGrid(const RunContext& ctx, const SgemmGrid& grid, const Operands& op, int64_t n,
               int64_t g, const float* cols, int64_t p0, int64_t len) const {
    const float* wg = op.w + g * mg_ * col_rows_;
    float* yg = op.y + (n * p_.out_channels + g * mg_) * out_plane_ + p0;
    const int64_t ld = pointwise_ ? out_plane_ : len;
    ParallelFor(ctx, grid.blocks(), [&](int64_t begin, int64_t end, int slot) {
      std::byte* workspace = scratch_.Slot(ctx, slot);
      for (int64_t i = begin; i < end; ++i) {
        grid.Run(i, false, false, 1.0f, wg, col_rows_, cols, ld, 0.0f, yg, out_plane_, workspace,
                 scratch_.per_thread);
        int64_t m0, m1, c0, c1;
        grid.Block(i, &m0, &m1, &c0, &c1);
        Epilogue(op, n, g, m0, m1, p0 + c0, p0 + c1);
      }
    });
  }

  // The whole of image n, group g on the calling thread, with `col` (an
  // im2col tile) and `workspace` (SerialWorkspaceBytes()) as scratch.
  void RunGroup(const Operands& op, int64_t n, int64_t g, float* col, void* workspace,
                size_t workspace_bytes) const {
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
    float* acc = scratch + ScratchLayout::Align(DepthwisePhaseFloats() * sizeof(float)) / sizeof(float);
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
          const int64_t lo = std::min(dw_cols_, first >= 0 ? 0 : (-first + s2 - 1) / s2);
          const int64_t hi = std::clamp<int64_t>((in2 - first + s2 - 1) / s2, lo, dw_cols_);
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
  int64_t cg_ = 0;           // C / group
  int64_t mg_ = 0;           // M / group
  int64_t kernel_size_ = 0;  // k1 * ... * kk
  int64_t col_rows_ = 0;     // K = C/group * kernel_size_
  int64_t in_plane_ = 0;     // D1 * ... * Dk
  int64_t out_plane_ = 0;    // P = O1 * ... * Ok
  int64_t tile_ = 0;         // output positions per im2col tile
  bool pointwise_ = false;   // 1x1 kernel, stride 1, no padding
  bool by_group_ = false;    // parallel over (image, group), else over GEMM blocks
  bool depthwise_ = false;   // direct depthwise convolution (RunDepthwise)
  int64_t dw_rows_ = 0;      // depthwise: rows of one phase of the padded input
  int64_t dw_cols_ = 0;      // depthwise: columns of one phase (and of the output rows computed)
  SgemmGrid grid_full_;      // blocks of a full tile's GEMM (pointwise: the plane's)
  SgemmGrid grid_last_;      // blocks of the last, shorter tile's GEMM
  ScratchLayout scratch_;
};

}  // namespace

KernelDef MakeConvDef() { return MakeDef<ConvKernel>("Conv", InferConv); }

}  // namespace engine::kernels
