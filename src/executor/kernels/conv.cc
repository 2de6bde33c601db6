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
// with K = C/g * k1 * ... * kk and P = O1 * ... * Ok. The im2col matrix `col`
// is built tile by tile (a range of output positions at a time) in the
// RunContext scratch, so the scratch stays small for large images. A 1x1,
// stride-1, unpadded convolution uses X_g [C/g, P] directly as `col`. The GEMM
// is Eigen's (single-threaded).
#include <Eigen/Core>

#include "executor/kernels/sgemm.h"
#include <algorithm>
#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "executor/kernels/defs.h"
#include "executor/kernels/kernel_util.h"

namespace engine::kernels {
namespace {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatrixMap = Eigen::Map<const RowMajorMatrix>;
using MatrixMap = Eigen::Map<RowMajorMatrix>;
using StridedMatrixMap = Eigen::Map<RowMajorMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// Largest number of spatial dimensions supported; smaller convolutions are
// normalized to 3-D by prepending unit dimensions.
constexpr int kMaxSpatial = 3;
// Target size of one im2col tile, in floats (4 MiB).
constexpr int64_t kIm2ColTileFloats = int64_t{1} << 20;

using Dims3 = std::array<int64_t, kMaxSpatial>;

// Everything derived from the attributes and the input shapes.
struct ConvParams {
  int64_t batch = 0;         // N
  int64_t in_channels = 0;   // C
  int64_t out_channels = 0;  // M
  int64_t group = 1;
  bool has_bias = false;
  bool has_residual = false;
  Activation activation;
  // Spatial geometry normalized to 3-D: the k real spatial axes are the last k
  // entries; the leading ones are unit axes (size 1, kernel 1, stride 1).
  Dims3 in{1, 1, 1};
  Dims3 out{1, 1, 1};
  Dims3 kernel{1, 1, 1};
  Dims3 stride{1, 1, 1};
  Dims3 dilation{1, 1, 1};
  Dims3 pad_begin{0, 0, 0};
  Dims3 pad_end{0, 0, 0};
  Dims y_shape;
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
  if (x.shape.size() < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("Conv: X has shape ", ShapeString(x.shape),
                     ", expected [N,C,D1,...] with >= 1 spatial dim"));
  }
  const size_t nsp = x.shape.size() - 2;
  if (nsp > kMaxSpatial) {
    return absl::UnimplementedError(
        absl::StrCat("Conv: ", nsp, "-D convolution is not supported (at most 3-D)"));
  }
  if (w.shape.size() != x.shape.size()) {
    return absl::InvalidArgumentError(absl::StrCat("Conv: W has ", w.shape.size(),
                                                   " dims, expected ", x.shape.size(), " for a ",
                                                   nsp, "-D convolution"));
  }
  ConvParams p;
  p.batch = x.shape[0];
  p.in_channels = x.shape[1];
  p.out_channels = w.shape[0];
  p.has_bias = has_bias;
  ENGINE_ASSIGN_OR_RETURN(p.group, attrs.GetInt("group", 1));
  if (p.group < 1) {
    return absl::InvalidArgumentError(absl::StrCat("Conv: group ", p.group, " must be >= 1"));
  }
  if (p.in_channels % p.group != 0 || p.out_channels % p.group != 0) {
    return absl::InvalidArgumentError(absl::StrCat("Conv: group ", p.group, " must divide both C (",
                                                   p.in_channels, ") and M (", p.out_channels,
                                                   ")"));
  }
  if (w.shape[1] != p.in_channels / p.group) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Conv: W has shape ", ShapeString(w.shape), ", expected dim 1 = C/group = ",
        p.in_channels / p.group, " for X ", ShapeString(x.shape), " and group ", p.group));
  }
  if (has_bias && (inputs[2].shape.size() != 1 || inputs[2].shape[0] != p.out_channels)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Conv: B has shape ", ShapeString(inputs[2].shape), ", expected [", p.out_channels, "]"));
  }
  const Dims w_kernel(w.shape.begin() + 2, w.shape.end());
  for (int64_t k : w_kernel) {
    if (k < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("Conv: W has shape ", ShapeString(w.shape), " with an empty kernel"));
    }
  }
  if (attrs.Has("kernel_shape")) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> ks, attrs.GetInts("kernel_shape"));
    if (ks != w_kernel) {
      return absl::InvalidArgumentError(absl::StrCat("Conv: kernel_shape ", ShapeString(ks),
                                                     " does not match W's spatial dims ",
                                                     ShapeString(w_kernel)));
    }
  }
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> strides,
                          GetSpatialInts(attrs, "Conv", "strides", nsp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> dilations,
                          GetSpatialInts(attrs, "Conv", "dilations", nsp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> pads,
                          GetSpatialInts(attrs, "Conv", "pads", 2 * nsp, 0, 0));
  ENGINE_ASSIGN_OR_RETURN(std::string auto_pad, GetAutoPad(attrs, "Conv"));

  p.y_shape = {p.batch, p.out_channels};
  const size_t lead = kMaxSpatial - nsp;  // unit axes prepended
  for (size_t i = 0; i < nsp; ++i) {
    const size_t a = lead + i;
    const int64_t in = x.shape[2 + i];
    p.in[a] = in;
    p.kernel[a] = w_kernel[i];
    p.stride[a] = strides[i];
    p.dilation[a] = dilations[i];
    const int64_t ek = (w_kernel[i] - 1) * dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      SamePadding(auto_pad, in, strides[i], ek, &p.pad_begin[a], &p.pad_end[a]);
    } else if (auto_pad == "NOTSET") {
      p.pad_begin[a] = pads[i];
      p.pad_end[a] = pads[nsp + i];
    }
    const int64_t span = in + p.pad_begin[a] + p.pad_end[a] - ek;
    if (span < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Conv: spatial axis ", i, " of X (size ", in, ", padded to ",
          in + p.pad_begin[a] + p.pad_end[a], ") is smaller than the dilated kernel (", ek, ")"));
    }
    p.out[a] = span / strides[i] + 1;
    p.y_shape.push_back(p.out[a]);
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
    return absl::OkStatus();
  }

  // Scratch: the im2col tile, then the GEMM's packing workspace.
  size_t ScratchBytes() const override { return ColBytes() + GemmWorkspaceBytes(); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    const float* w = static_cast<const float*>(in[1]);
    const float* b = p_.has_bias ? static_cast<const float*>(in[2]) : nullptr;
    const float* r = p_.has_residual ? static_cast<const float*>(in[3]) : nullptr;
    float* y = static_cast<float*>(out[0]);
    float* col = reinterpret_cast<float*>(ctx.scratch);
    void* workspace = ctx.scratch + ColBytes();
    const size_t workspace_bytes = GemmWorkspaceBytes();
    const int64_t m_total = p_.out_channels;
    if (out_plane_ == 0 || mg_ == 0) return;
    for (int64_t n = 0; n < p_.batch; ++n) {
      for (int64_t g = 0; g < p_.group; ++g) {
        const float* xg = x + (n * p_.in_channels + g * cg_) * in_plane_;
        float* yg = y + (n * m_total + g * mg_) * out_plane_;
        if (col_rows_ == 0) {  // C == 0: the sum is empty.
          std::fill(yg, yg + mg_ * out_plane_, 0.0f);
        } else {
          // Y_g [M/g, P] = W_g [M/g, K] * X_g [K, P] (X_g im2col'ed tile by tile).
          const float* wg = w + g * mg_ * col_rows_;
          if (pointwise_) {
            Sgemm(false, false, mg_, out_plane_, cg_, 1.0f, wg, col_rows_, xg, out_plane_, 0.0f,
                  yg, out_plane_, workspace, workspace_bytes);
          } else {
            for (int64_t p0 = 0; p0 < out_plane_; p0 += tile_) {
              const int64_t len = std::min(tile_, out_plane_ - p0);
              Im2Col(xg, p0, len, col);
              Sgemm(false, false, mg_, len, col_rows_, 1.0f, wg, col_rows_, col, len, 0.0f,
                    yg + p0, out_plane_, workspace, workspace_bytes);
            }
          }
        }
        if (b != nullptr) {
          for (int64_t m = 0; m < mg_; ++m) {
            const float bias = b[g * mg_ + m];
            float* row = yg + m * out_plane_;
            for (int64_t i = 0; i < out_plane_; ++i) row[i] += bias;
          }
        }
        // Epilogue on the group's block [M/g, P], contiguous in Y and in R.
        const int64_t block = mg_ * out_plane_;
        if (r != nullptr) {
          const float* rg = r + (n * m_total + g * mg_) * out_plane_;
          for (int64_t i = 0; i < block; ++i) yg[i] += rg[i];
        }
        ApplyActivation(p_.activation, yg, block);
      }
    }
  }

 private:
  size_t ColBytes() const {
    return (static_cast<size_t>(col_rows_ * tile_) * sizeof(float) + 63) / 64 * 64;
  }
  // The largest workspace of the products Run() makes (a full tile and the
  // last, shorter one: Eigen's panels are not monotonic in the size).
  size_t GemmWorkspaceBytes() const {
    if (pointwise_) return SgemmWorkspaceBytes(mg_, out_plane_, cg_);
    if (tile_ == 0) return 0;
    return std::max(SgemmWorkspaceBytes(mg_, tile_, col_rows_),
                    SgemmWorkspaceBytes(mg_, out_plane_ % tile_, col_rows_));
  }

  // Writes rows [0, col_rows_) x columns [p0, p0 + len) of the im2col matrix
  // of one image and group into `col` ([col_rows_, len], row-major). Row
  // r = (c * k0 + t0) * k1 * k2 + t1 * k2 + t2 holds, for each output
  // position o, X[c, o0*s0 + t0*d0 - pb0, o1*s1 + t1*d1 - pb1, o2*s2 + t2*d2 - pb2]
  // (0 outside the input).
  void Im2Col(const float* xg, int64_t p0, int64_t len, float* col) const {
    const int64_t in0 = p_.in[0], in1 = p_.in[1], in2 = p_.in[2];
    const int64_t out1 = p_.out[1], out2 = p_.out[2];
    const int64_t s2 = p_.stride[2];
    for (int64_t r = 0; r < col_rows_; ++r) {
      const int64_t c = r / kernel_size_;
      const int64_t kk = r % kernel_size_;
      const int64_t t0 = kk / (p_.kernel[1] * p_.kernel[2]);
      const int64_t t1 = (kk / p_.kernel[2]) % p_.kernel[1];
      const int64_t t2 = kk % p_.kernel[2];
      const int64_t off0 = t0 * p_.dilation[0] - p_.pad_begin[0];
      const int64_t off1 = t1 * p_.dilation[1] - p_.pad_begin[1];
      const int64_t off2 = t2 * p_.dilation[2] - p_.pad_begin[2];
      // Output columns o2 in [lo2, hi2) read inside the input along axis 2:
      // 0 <= o2 * s2 + off2 < in2.
      const int64_t lo2 = std::min(out2, off2 >= 0 ? 0 : (-off2 + s2 - 1) / s2);
      const int64_t hi2 =
          std::clamp<int64_t>(in2 - off2 <= 0 ? 0 : (in2 - off2 + s2 - 1) / s2, lo2, out2);
      const float* xc = xg + c * in_plane_;
      float* dst = col + r * len;
      int64_t p = p0;
      const int64_t end = p0 + len;
      int64_t o2 = p % out2;
      int64_t o1 = (p / out2) % out1;
      int64_t o0 = p / (out2 * out1);
      while (p < end) {
        const int64_t n = std::min(out2 - o2, end - p);
        const int64_t i0 = o0 * p_.stride[0] + off0;
        const int64_t i1 = o1 * p_.stride[1] + off1;
        if (i0 < 0 || i0 >= in0 || i1 < 0 || i1 >= in1) {
          std::fill(dst, dst + n, 0.0f);
        } else {
          const float* src = xc + (i0 * in1 + i1) * in2;
          const int64_t a = std::clamp(lo2, o2, o2 + n);  // first valid column
          const int64_t z = std::clamp(hi2, a, o2 + n);   // end of valid columns
          float* d = dst;
          std::fill(d, d + (a - o2), 0.0f);
          d += a - o2;
          if (s2 == 1) {
            std::memcpy(d, src + a + off2, static_cast<size_t>(z - a) * sizeof(float));
          } else {
            const float* s = src + a * s2 + off2;
            for (int64_t i = 0; i < z - a; ++i) d[i] = s[i * s2];
          }
          d += z - a;
          std::fill(d, d + (o2 + n - z), 0.0f);
        }
        dst += n;
        p += n;
        o2 = 0;
        if (++o1 == out1) {
          o1 = 0;
          ++o0;
        }
      }
    }
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
};

}  // namespace

KernelDef MakeConvDef() { return MakeDef<ConvKernel>("Conv", InferConv); }

}  // namespace engine::kernels
