// ConvTranspose: ONNX ConvTranspose (opset 11+ semantics; 1-D, 2-D, 3-D),
// float32.
//
//   X [N, C, D1, ..., Dk]             (k = 1, 2 or 3 spatial dims)
//   W [C, M/group, k1, ..., kk]
//   B [M]                             (optional)
//   Y [N, M, O1, ..., Ok]
//
// Attributes (ONNX Operators.md#ConvTranspose): auto_pad (NOTSET,
// SAME_UPPER, SAME_LOWER, VALID), dilations, group, kernel_shape (must agree
// with W), output_padding, output_shape (spatial sizes, or the full output
// shape), pads [x1_begin, ..., xk_begin, x1_end, ..., xk_end], strides.
//
// Output size per spatial axis (ek = (k - 1) * d + 1, the dilated kernel):
//   output_shape given: O = output_shape; total = s * (D - 1) + output_padding + ek - O,
//                       split as SAME_UPPER: begin = floor(total / 2), else
//                       begin = total - floor(total / 2); end = total - begin
//                       (the ONNX reference, op_conv_transpose.py; total may be
//                       negative: positions past the full result get the bias)
//   SAME_UPPER/LOWER:   O = D * s, total = max(0, s * (D - 1) + output_padding + ek - O),
//                       split as above (pads ignored)
//   VALID:              pads 0, O = s * (D - 1) + output_padding + ek
//   NOTSET:             O = s * (D - 1) + output_padding + ek - pad_begin - pad_end
// Y[n, m, o] = B[m] + sum over c in m's group and kernel offsets t with
// o = i * s - pad_begin + t * d of X[n, c, i] * W[c, m mod M/g, t].
//
// Implementation (the GEMM + col2im of Caffe's Deconvolution layer): per image
// and group, col [M/g * K, P_chunk] = W_g^T [M/g * K, C/g] * X_g [C/g, P_chunk]
// (K = k1 * ... * kk kernel offsets; P = D1 * ... * Dk input positions, taken
// in chunks of whole input rows so that col stays under 16 MiB), computed by
// Eigen's blocked GEMM (sgemm.h) split into the shape-fixed SgemmGrid blocks
// over the threads; then col is scatter-added into Y (initialized with the
// bias), the output channels split over the threads. Every output element
// sums its contributions in a fixed order (chunk, kernel offset), so the
// outputs do not depend on the thread count.
#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "kernels/conv_transpose_geometry.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"
#include "kernels/sgemm.h"

namespace engine::kernels {
namespace {

// Target size of one col chunk, in floats (16 MiB).
constexpr int64_t kColChunkFloats = int64_t{1} << 22;

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// The float32 layer's dtype checks, then the shared geometry.
absl::Status CheckFloatDtypes(std::span<const TensorInfo> inputs) {
  const TensorInfo& x = inputs[0];
  const TensorInfo& w = inputs[1];
  const bool has_bias = inputs.size() > 2 && inputs[2].present;
  if (x.dtype != DataType::kFloat32 || w.dtype != DataType::kFloat32 ||
      (has_bias && inputs[2].dtype != DataType::kFloat32)) {
    if (x.dtype == w.dtype && (!has_bias || inputs[2].dtype == x.dtype)) {
      return absl::UnimplementedError(absl::StrCat(
          "ConvTranspose: only float32 is supported, got ", DataTypeName(x.dtype)));
    }
    return absl::InvalidArgumentError("ConvTranspose: X, W and B must have the same dtype");
  }
  return absl::OkStatus();
}

absl::StatusOr<ConvTransposeGeometry> ParseConvTranspose(const Attributes& attrs,
                                                         std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 3, "ConvTranspose"));
  ENGINE_RETURN_IF_ERROR(CheckFloatDtypes(inputs));
  return ParseConvTransposeGeometry(attrs, inputs, "ConvTranspose");
}

}  // namespace

bool ConvTransposeGeometry::TapsOverlap() const {
  for (int a = 0; a < 3; ++a) {
    for (int64_t delta = 1; delta < k[a]; ++delta) {
      // taps t and t + delta meet when delta * d = (i1 - i2) * s, i1 - i2 <= in - 1.
      if ((delta * d[a]) % s[a] == 0 && (delta * d[a]) / s[a] <= in[a] - 1) return true;
    }
  }
  return false;
}

std::vector<TransposedConvAxisPhase> AxisPhases(const ConvTransposeGeometry& g, int axis) {
  const int64_t s = std::max<int64_t>(1, g.s[axis]), d = std::max<int64_t>(1, g.d[axis]);
  const int64_t k = g.k[axis], out = g.out[axis], pb = g.pb[axis];
  const int64_t step = s / std::gcd(s, d);
  std::vector<TransposedConvAxisPhase> phases;
  for (int64_t r = 0; r < s; ++r) {
    TransposedConvAxisPhase p;
    p.phase = r;
    p.outputs = r < out ? (out - r + s - 1) / s : 0;
    p.tap_step = step;
    p.input_dilation = d / std::gcd(s, d);
    // Tap t lands on phase r when r + pb - t * d is a multiple of s.
    for (int64_t t = 0; t < k; ++t) {
      const int64_t v = r + pb - t * d;
      if (((v % s) + s) % s != 0) continue;
      if (p.taps == 0) {
        p.first_tap = t;
        p.first_input = FloorDiv(v, s);  // exact: v is a multiple of s
      }
      ++p.taps;
    }
    phases.push_back(p);
  }
  return phases;
}

absl::StatusOr<ConvTransposeGeometry> ParseConvTransposeGeometry(
    const Attributes& attrs, std::span<const TensorInfo> inputs, const std::string& op) {
  if (inputs.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": needs X and W"));
  }
  const TensorInfo& x = inputs[0];
  const TensorInfo& w = inputs[1];
  ConvTransposeGeometry p;
  p.has_bias = inputs.size() > 2 && inputs[2].present;
  const size_t rank = x.shape.size();
  if (rank < 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": X must be [N, C, D1..Dk], got ", ShapeString(x.shape)));
  }
  if (rank > 5) {
    return absl::UnimplementedError(absl::StrCat(
        op, ": X must be [N, C, D1..Dk] with k = 1, 2 or 3, got ", ShapeString(x.shape)));
  }
  if (w.shape.size() != rank) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": W ", ShapeString(w.shape),
                                                   " must have the rank of X ",
                                                   ShapeString(x.shape)));
  }
  const size_t sp = rank - 2;
  p.spatial = static_cast<int>(sp);
  ENGINE_ASSIGN_OR_RETURN(p.group, attrs.GetInt("group", 1));
  p.n = x.shape[0];
  p.c = x.shape[1];
  if (p.group < 1 || p.c % p.group != 0) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": group ", p.group,
                                                   " does not divide the ", p.c,
                                                   " input channels"));
  }
  if (w.shape[0] != p.c) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": W ", ShapeString(w.shape),
                                                   " must have C = ", p.c, " as dimension 0"));
  }
  p.m = w.shape[1] * p.group;
  if (p.has_bias && inputs[2].shape != Dims{p.m}) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": B ",
                                                   ShapeString(inputs[2].shape),
                                                   " must be [", p.m, "]"));
  }
  const std::vector<int64_t> wk(w.shape.begin() + 2, w.shape.end());
  if (attrs.Has("kernel_shape")) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> ks, attrs.GetInts("kernel_shape", {}));
    if (ks != wk) {
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": kernel_shape [", absl::StrJoin(ks, ","),
                       "] does not match W ", ShapeString(w.shape)));
    }
  }
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> strides,
                          GetSpatialInts(attrs, op, "strides", sp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> dilations,
                          GetSpatialInts(attrs, op, "dilations", sp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> opad,
                          GetSpatialInts(attrs, op, "output_padding", sp, 0, 0));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> pads,
                          GetSpatialInts(attrs, op, "pads", 2 * sp, 0, 0));
  ENGINE_ASSIGN_OR_RETURN(const std::string auto_pad, GetAutoPad(attrs, op));
  std::vector<int64_t> oshape;
  if (attrs.Has("output_shape")) {
    ENGINE_ASSIGN_OR_RETURN(oshape, attrs.GetInts("output_shape", {}));
    if (oshape.size() == rank) oshape.erase(oshape.begin(), oshape.begin() + 2);
    if (oshape.size() != sp) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": output_shape has ", oshape.size(), " values for ", sp,
          " spatial axes"));
    }
  }
  p.out_shape = {p.n, p.m};
  for (size_t i = 0; i < sp; ++i) {
    const size_t a = 3 - sp + i;
    const int64_t in = x.shape[2 + i];
    const int64_t k = wk[i];
    if (k < 1 || k > kMaxSpatialValue) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": kernel size ", k,
                                                     " is out of range"));
    }
    const int64_t s = strides[i], d = dilations[i], op = opad[i];
    const int64_t ek = (k - 1) * d + 1;
    const int64_t full = s * (in - 1) + op + ek;
    int64_t pb = 0, out = 0;
    auto split = [&](int64_t total) {
      pb = auto_pad == "SAME_UPPER" ? FloorDiv(total, 2) : total - FloorDiv(total, 2);
    };
    if (!oshape.empty()) {
      out = oshape[i];
      if (out < 0 || out > (int64_t{1} << 40)) {
        return absl::InvalidArgumentError(absl::StrCat(op, ": output_shape value ", out,
                                                       " is out of range"));
      }
      split(full - out);
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out = in * s;
      split(std::max<int64_t>(0, full - out));
    } else if (auto_pad == "VALID") {
      out = full;
    } else {
      pb = pads[i];
      out = full - pads[i] - pads[sp + i];
    }
    if (out <= 0 && in > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": output size ", out, " of spatial axis ", i, " is not positive"));
    }
    p.in[a] = in;
    p.k[a] = k;
    p.s[a] = s;
    p.d[a] = d;
    p.pb[a] = pb;
    p.out[a] = out;
    p.out_shape.push_back(out);
  }
  return p;
}

namespace {

class ConvTransposeKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseConvTranspose(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, {MakeInfo(DataType::kFloat32, p_.out_shape)},
                                        "ConvTranspose"));
    cg_ = p_.c / p_.group;
    mg_ = p_.m / p_.group;
    kk_ = p_.k[0] * p_.k[1] * p_.k[2];
    rows_ = mg_ * kk_;
    const int64_t row_len = p_.in[2];                 // input positions per input row
    const int64_t in_rows = p_.in[0] * p_.in[1];      // input rows per image
    chunk_rows_ = std::clamp<int64_t>(kColChunkFloats / std::max<int64_t>(1, rows_ * row_len), 1,
                                      std::max<int64_t>(1, in_rows));
    // Workspace: the largest over the full and the last chunk's grids.
    const int64_t full_cols = chunk_rows_ * row_len;
    const int64_t last_rows = in_rows % chunk_rows_ == 0 ? chunk_rows_ : in_rows % chunk_rows_;
    layout_.shared = static_cast<size_t>(rows_ * full_cols) * sizeof(float);
    layout_.per_thread = std::max(SgemmGrid(rows_, full_cols, cg_).WorkspaceBytes(),
                                  SgemmGrid(rows_, last_rows * row_len, cg_).WorkspaceBytes());
    return absl::OkStatus();
  }

  size_t ScratchBytes(int threads) const override { return layout_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    const float* w = static_cast<const float*>(in[1]);
    const float* bias = p_.has_bias && in.size() > 2 ? static_cast<const float*>(in[2]) : nullptr;
    float* y = static_cast<float*>(out[0]);
    float* col = reinterpret_cast<float*>(layout_.Shared(ctx));
    const int64_t in_plane = p_.in[0] * p_.in[1] * p_.in[2];
    const int64_t out_plane = p_.out[0] * p_.out[1] * p_.out[2];
    const int64_t row_len = p_.in[2];
    const int64_t in_rows = p_.in[0] * p_.in[1];
    for (int64_t n = 0; n < p_.n; ++n) {
      for (int64_t g = 0; g < p_.group; ++g) {
        float* yg = y + (n * p_.m + g * mg_) * out_plane;
        ParallelFor(ctx, mg_, [&](int64_t b, int64_t e, int) {
          for (int64_t m = b; m < e; ++m) {
            std::fill(yg + m * out_plane, yg + (m + 1) * out_plane,
                      bias ? bias[g * mg_ + m] : 0.0f);
          }
        });
        const float* xg = x + (n * p_.c + g * cg_) * in_plane;
        const float* wg = w + g * cg_ * rows_;
        for (int64_t r0 = 0; r0 < in_rows; r0 += chunk_rows_) {
          const int64_t r1 = std::min(in_rows, r0 + chunk_rows_);
          const int64_t cols = (r1 - r0) * row_len;
          // col [rows_, cols] = W_g^T [rows_, cg_] * X_g[:, chunk] [cg_, cols]
          const SgemmGrid grid(rows_, cols, cg_);
          ParallelFor(ctx, grid.blocks(), [&](int64_t b, int64_t e, int slot) {
            void* ws = layout_.Slot(ctx, slot);
            for (int64_t i = b; i < e; ++i) {
              grid.Run(i, /*trans_a=*/true, /*trans_b=*/false, 1.0f, wg, rows_,
                       xg + r0 * row_len, in_plane, 0.0f, col, cols, ws, layout_.per_thread);
            }
          });
          ParallelFor(ctx, mg_, [&](int64_t b, int64_t e, int) {
            for (int64_t m = b; m < e; ++m) Col2ImPlane(p_, col + m * kk_ * cols, cols, r0, r1, yg + m * out_plane);
          });
        }
      }
    }
  }

 private:
  ConvTransposeGeometry p_;
  int64_t cg_ = 1, mg_ = 1, kk_ = 1, rows_ = 1, chunk_rows_ = 1;
  ScratchLayout layout_;
};

absl::StatusOr<std::vector<TensorInfo>> InferConvTranspose(const Attributes& attrs,
                                                           std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(ConvTransposeGeometry p, ParseConvTranspose(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, p.out_shape)};
}

}  // namespace

KernelDef MakeConvTransposeDef() {
  return MakeDef<ConvTransposeKernel>("ConvTranspose", InferConvTranspose);
}

}  // namespace engine::kernels
