// Statistics normalizations and Lp pooling (ONNX Operators.md), float32:
//
// InstanceNormalization (input, scale [C], B [C]; epsilon 1e-5): per (n, c)
//   plane, y = scale[c] * (x - mean) / sqrt(var + epsilon) + B[c].
// LayerNormalization (opset 17: X, Scale, optional B; axis -1, epsilon 1e-5,
//   stash_type 1): normalizes over X.shape[axis:] (D elements per row):
//   Mean = mean(X), InvStdDev = 1 / sqrt(mean((X - Mean)^2) + epsilon),
//   Y = (X - Mean) * InvStdDev * Scale + B, Scale and B broadcast
//   unidirectionally to X.shape[axis:]. Optional outputs Mean and InvStdDev
//   have shape X.shape[:axis] + [1] * (rank - axis); the layer's engine
//   attribute num_outputs (1-3, set by the importer) says how many it has.
//   stash_type must be 1 (float32 statistics; accumulated in double here).
// GroupNormalization (X [N,C,...], scale, bias; num_groups, epsilon 1e-5,
//   stash_type): statistics per (n, group of C / num_groups channels);
//   scale and bias are per channel [C] (opset 21), or per group
//   [num_groups] when the layer's attribute scale_per_group = 1 (opset
//   18-20; set by the importer).
// LpNormalization (input; axis -1, p 2 (1 or 2)): y = x / ||x||_p along
//   axis; a zero norm gives y = 0 (ONNX Runtime).
// MeanVarianceNormalization (X; axes [0, 2, 3]): y = (x - mean) / (sqrt(var)
//   + 1e-9) with mean and (population) variance over `axes` (the ONNX
//   function body).
// GlobalLpPool (X [N,C,...]; p 2): y[n, c] = (sum |x|^p)^(1/p) over the
//   spatial axes; shape [N, C, 1, ...].
// LpPool (X [N,C,D1,...]; kernel_shape, strides, pads, dilations, auto_pad,
//   ceil_mode, p 2): (sum |x|^p)^(1/p) over each window, padding counting as
//   0; output sizes as MaxPool (floor or ceil_mode, SAME_UPPER/LOWER).
//
// Statistics are computed with two passes (mean, then variance of x - mean)
// in double (LayerNormalization: each pass's sum in 8 fixed lanes,
// MomentsLanes). Intra-op parallelism: independent rows (planes, groups, kept
// positions, output positions) are split over RunContext::threads; each is
// computed by one thread in a fixed order.
#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"
#include "kernels/reduce_geometry.h"

namespace engine::kernels {
namespace {

constexpr int64_t kMinParallelElements = int64_t{1} << 15;

template <typename F>
void MaybeParallel(const RunContext& ctx, int64_t n, int64_t work, const F& f) {
  if (work >= kMinParallelElements) {
    ParallelFor(ctx, n, f);
  } else if (n > 0) {
    f(int64_t{0}, n, 0);
  }
}

absl::Status RequireFloat(const TensorInfo& t, const std::string& type, const std::string& what) {
  if (t.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(absl::StrCat(type, ": ", what, " must be float32, got ",
                                                 DataTypeName(t.dtype)));
  }
  return absl::OkStatus();
}

absl::Status RequireShape(const TensorInfo& t, const Dims& shape, const std::string& type,
                          const std::string& what) {
  if (t.shape != shape) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": ", what, " has shape ",
                                                   ShapeString(t.shape), ", expected ",
                                                   ShapeString(shape)));
  }
  return absl::OkStatus();
}

// Mean and 1 / sqrt(variance + epsilon) of x[0, n), two passes in double.
void Moments(const float* x, int64_t n, float epsilon, float* mean, float* inv_std) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double m = n > 0 ? sum / static_cast<double>(n) : 0.0;
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = x[i] - m;
    sq += d * d;
  }
  const double var = n > 0 ? sq / static_cast<double>(n) : 0.0;
  *mean = static_cast<float>(m);
  *inv_std = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(epsilon)));
}

// Moments for LayerNormalization's rows: the same two passes in double, each
// sum accumulated in 8 lanes (element i into lane i % 8, the lanes added
// pairwise at the end) so the compiler vectorizes the sums instead of one
// serial chain of double adds. The order is fixed by n alone, so the
// result depends only on x (not on threads or the row's position).
void MomentsLanes(const float* x, int64_t n, float epsilon, float* mean, float* inv_std) {
  constexpr int kL = 8;
  auto fold = [](const double* s) {
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  };
  double s[kL] = {0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t body = n / kL * kL;
  for (int64_t i = 0; i < body; i += kL) {
    for (int l = 0; l < kL; ++l) s[l] += static_cast<double>(x[i + l]);
  }
  for (int64_t i = body; i < n; ++i) s[i - body] += static_cast<double>(x[i]);
  const double m = n > 0 ? fold(s) / static_cast<double>(n) : 0.0;
  double q[kL] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < body; i += kL) {
    for (int l = 0; l < kL; ++l) {
      const double d = static_cast<double>(x[i + l]) - m;
      q[l] += d * d;
    }
  }
  for (int64_t i = body; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - m;
    q[i - body] += d * d;
  }
  const double var = n > 0 ? fold(q) / static_cast<double>(n) : 0.0;
  *mean = static_cast<float>(m);
  *inv_std = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(epsilon)));
}

// ---------------------------------------------------------------------------
// InstanceNormalization / GroupNormalization: rows of `row` contiguous
// elements; affine parameters per channel (plane of `plane` elements) or per
// row.

struct GroupParams {
  int64_t batch = 0, channels = 0, groups = 0, plane = 1;
  float epsilon = 1e-5f;
  bool per_group_affine = false;
};

absl::StatusOr<GroupParams> ParseGroupNorm(bool instance, const Attributes& attrs,
                                           std::span<const TensorInfo> inputs) {
  const std::string type = instance ? "InstanceNormalization" : "GroupNormalization";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 3, 3, type));
  const TensorInfo& x = inputs[0];
  ENGINE_RETURN_IF_ERROR(RequireFloat(x, type, "X"));
  ENGINE_RETURN_IF_ERROR(RequireFloat(inputs[1], type, "scale"));
  ENGINE_RETURN_IF_ERROR(RequireFloat(inputs[2], type, "bias"));
  if (x.shape.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": X has shape ", ShapeString(x.shape),
                                                   ", expected [N,C,...] (rank >= 2)"));
  }
  GroupParams p;
  ENGINE_ASSIGN_OR_RETURN(p.epsilon, attrs.GetFloat("epsilon", 1e-5f));
  p.batch = x.shape[0];
  p.channels = x.shape[1];
  p.plane = NumElements(Dims(x.shape.begin() + 2, x.shape.end()));
  if (instance) {
    p.groups = p.channels;
  } else {
    if (!attrs.Has("num_groups")) {
      return absl::InvalidArgumentError("GroupNormalization: attribute 'num_groups' is required");
    }
    ENGINE_ASSIGN_OR_RETURN(p.groups, attrs.GetInt("num_groups", 1));
    if (p.groups < 1 || p.channels % p.groups != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("GroupNormalization: num_groups ", p.groups,
                       " must be >= 1 and divide the channel count ", p.channels));
    }
    ENGINE_ASSIGN_OR_RETURN(int64_t per_group, attrs.GetInt("scale_per_group", 0));
    p.per_group_affine = per_group != 0;
  }
  const int64_t affine = p.per_group_affine ? p.groups : p.channels;
  ENGINE_RETURN_IF_ERROR(RequireShape(inputs[1], {affine}, type, "scale"));
  ENGINE_RETURN_IF_ERROR(RequireShape(inputs[2], {affine}, type, "bias"));
  return p;
}

template <bool kInstance>
class GroupNormKernel final : public Kernel {
 public:
  static constexpr const char* kName =
      kInstance ? "InstanceNormalization" : "GroupNormalization";

  static absl::StatusOr<std::vector<TensorInfo>> Infer(const Attributes& attrs,
                                                       std::span<const TensorInfo> inputs) {
    ENGINE_RETURN_IF_ERROR(ParseGroupNorm(kInstance, attrs, inputs).status());
    return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, inputs[0].shape)};
  }

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseGroupNorm(kInstance, attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(DataType::kFloat32, inputs[0].shape)}, kName);
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    const float* scale = static_cast<const float*>(in[1]);
    const float* bias = static_cast<const float*>(in[2]);
    float* y = static_cast<float*>(out[0]);
    const int64_t cpg = p_.channels / p_.groups;  // channels per group
    const int64_t row = cpg * p_.plane;
    const int64_t rows = p_.batch * p_.groups;
    MaybeParallel(ctx, rows, rows * row, [&](int64_t begin, int64_t end, int) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t g = r % p_.groups;
        const float* xr = x + r * row;
        float* yr = y + r * row;
        float mean, inv;
        Moments(xr, row, p_.epsilon, &mean, &inv);
        for (int64_t c = 0; c < cpg; ++c) {
          const int64_t ai = p_.per_group_affine ? g : g * cpg + c;
          const float a = scale[ai] * inv;
          const float b = bias[ai] - mean * a;
          const float* xc = xr + c * p_.plane;
          float* yc = yr + c * p_.plane;
          for (int64_t i = 0; i < p_.plane; ++i) yc[i] = xc[i] * a + b;
        }
      }
    });
  }

 private:
  GroupParams p_;
};

// ---------------------------------------------------------------------------
// LayerNormalization

struct LayerNormParams {
  int64_t rows = 1, d = 1;  // X viewed as [rows, d]
  float epsilon = 1e-5f;
  Dims stat_shape;
  std::vector<int64_t> scale_index, bias_index;  // per normalized element
  bool has_bias = false;
  // Scale / B have one value per normalized element (index i -> i): read
  // directly, so the normalization loop vectorizes.
  bool scale_dense = false, bias_dense = false;
};

bool IsIdentity(const std::vector<int64_t>& index) {
  for (size_t i = 0; i < index.size(); ++i) {
    if (index[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

// Index into a tensor of shape `t` broadcast (unidirectionally, right-aligned)
// to `target`, for every element of `target`. Error when not broadcastable.
absl::StatusOr<std::vector<int64_t>> BroadcastIndex(const Dims& t, const Dims& target,
                                                    const std::string& what) {
  if (t.size() > target.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LayerNormalization: ", what, " ", ShapeString(t), " has a higher rank than the normalized shape ",
        ShapeString(target)));
  }
  for (size_t i = 0; i < t.size(); ++i) {
    const int64_t dt = t[i], dx = target[target.size() - t.size() + i];
    if (dt != dx && dt != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("LayerNormalization: ", what, " ", ShapeString(t),
                       " does not broadcast to the normalized shape ", ShapeString(target)));
    }
  }
  const std::vector<int64_t> strides = BroadcastStrides(t, target);
  const int64_t n = NumElements(target);
  std::vector<int64_t> index(static_cast<size_t>(n));
  for (int64_t e = 0; e < n; ++e) {
    int64_t rem = e, off = 0;
    for (size_t a = target.size(); a-- > 0;) {
      off += (rem % target[a]) * strides[a];
      rem /= target[a];
    }
    index[e] = off;
  }
  return index;
}

absl::StatusOr<LayerNormParams> ParseLayerNorm(const Attributes& attrs,
                                               std::span<const TensorInfo> inputs) {
  const std::string type = "LayerNormalization";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 3, type));
  const TensorInfo& x = inputs[0];
  ENGINE_RETURN_IF_ERROR(RequireFloat(x, type, "X"));
  ENGINE_RETURN_IF_ERROR(RequireFloat(inputs[1], type, "Scale"));
  ENGINE_ASSIGN_OR_RETURN(int64_t axis_attr, attrs.GetInt("axis", -1));
  ENGINE_ASSIGN_OR_RETURN(int64_t stash, attrs.GetInt("stash_type", 1));
  if (stash != 1) {
    return absl::UnimplementedError(absl::StrCat(
        type, ": stash_type ", stash, " is not supported (only 1, float32 statistics)"));
  }
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  auto axis = NormalizeAxis(axis_attr, rank);
  if (!axis.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": attribute 'axis': X ",
                                                   ShapeString(x.shape), ": ",
                                                   axis.status().message()));
  }
  LayerNormParams p;
  ENGINE_ASSIGN_OR_RETURN(p.epsilon, attrs.GetFloat("epsilon", 1e-5f));
  const Dims normalized(x.shape.begin() + *axis, x.shape.end());
  p.d = NumElements(normalized);
  p.rows = NumElements(Dims(x.shape.begin(), x.shape.begin() + *axis));
  p.stat_shape = Dims(x.shape.begin(), x.shape.begin() + *axis);
  p.stat_shape.resize(x.shape.size(), 1);
  ENGINE_ASSIGN_OR_RETURN(p.scale_index, BroadcastIndex(inputs[1].shape, normalized, "Scale"));
  if (inputs.size() == 3 && inputs[2].present) {
    ENGINE_RETURN_IF_ERROR(RequireFloat(inputs[2], type, "B"));
    ENGINE_ASSIGN_OR_RETURN(p.bias_index, BroadcastIndex(inputs[2].shape, normalized, "B"));
    p.has_bias = true;
    p.bias_dense = IsIdentity(p.bias_index);
  }
  p.scale_dense = IsIdentity(p.scale_index);
  return p;
}

// The layer has num_outputs (engine attribute set by the importer, default
// 1) outputs: Y, then Mean, then InvStdDev.
absl::StatusOr<std::vector<TensorInfo>> InferLayerNorm(const Attributes& attrs,
                                                       std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(LayerNormParams p, ParseLayerNorm(attrs, inputs));
  ENGINE_ASSIGN_OR_RETURN(int64_t count, attrs.GetInt("num_outputs", 1));
  if (count < 1 || count > 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LayerNormalization: attribute 'num_outputs' is ", count, ", must be 1, 2 or 3"));
  }
  std::vector<TensorInfo> out{MakeInfo(DataType::kFloat32, inputs[0].shape),
                              MakeInfo(DataType::kFloat32, p.stat_shape),
                              MakeInfo(DataType::kFloat32, p.stat_shape)};
  out.resize(static_cast<size_t>(count));
  return out;
}

class LayerNormKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseLayerNorm(attrs, inputs));
    // Y, and optionally Mean and InvStdDev (computed when present).
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> expected, InferLayerNorm(attrs, inputs));
    return CheckOutputs(outputs, expected, "LayerNormalization");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    const float* scale = static_cast<const float*>(in[1]);
    const float* bias = p_.has_bias ? static_cast<const float*>(in[2]) : nullptr;
    float* y = static_cast<float*>(out[0]);
    float* mean_out = out.size() > 1 ? static_cast<float*>(out[1]) : nullptr;
    float* inv_out = out.size() > 2 ? static_cast<float*>(out[2]) : nullptr;
    const int64_t d = p_.d;
    MaybeParallel(ctx, p_.rows, p_.rows * d, [&](int64_t begin, int64_t end, int) {
      for (int64_t r = begin; r < end; ++r) {
        const float* xr = x + r * d;
        float* yr = y + r * d;
        float mean, inv;
        MomentsLanes(xr, d, p_.epsilon, &mean, &inv);
        if (mean_out != nullptr) mean_out[r] = mean;
        if (inv_out != nullptr) inv_out[r] = inv;
        if (p_.scale_dense && (bias == nullptr || p_.bias_dense)) {
          // The same expression per element, without the index lookups.
          if (bias != nullptr) {
            for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - mean) * inv * scale[i] + bias[i];
          } else {
            for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - mean) * inv * scale[i];
          }
          continue;
        }
        for (int64_t i = 0; i < d; ++i) {
          const float v = (xr[i] - mean) * inv * scale[p_.scale_index[i]];
          yr[i] = bias != nullptr ? v + bias[p_.bias_index[i]] : v;
        }
      }
    });
  }

 private:
  LayerNormParams p_;
};

// ---------------------------------------------------------------------------
// LpNormalization

struct LpNormParams {
  int64_t outer = 1, n = 1, inner = 1;
  int64_t p = 2;
};

absl::StatusOr<LpNormParams> ParseLpNorm(const Attributes& attrs,
                                         std::span<const TensorInfo> inputs) {
  const std::string type = "LpNormalization";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, type));
  const TensorInfo& x = inputs[0];
  ENGINE_RETURN_IF_ERROR(RequireFloat(x, type, "input"));
  ENGINE_ASSIGN_OR_RETURN(int64_t axis_attr, attrs.GetInt("axis", -1));
  LpNormParams p;
  ENGINE_ASSIGN_OR_RETURN(p.p, attrs.GetInt("p", 2));
  if (p.p != 1 && p.p != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": attribute 'p' is ", p.p, ", must be 1 or 2"));
  }
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  auto axis = NormalizeAxis(axis_attr, rank);
  if (!axis.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": attribute 'axis': input ",
                                                   ShapeString(x.shape), ": ",
                                                   axis.status().message()));
  }
  for (int64_t i = 0; i < rank; ++i) {
    if (i < *axis) p.outer *= x.shape[i];
    if (i > *axis) p.inner *= x.shape[i];
  }
  p.n = x.shape[*axis];
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferLpNorm(const Attributes& attrs,
                                                    std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(ParseLpNorm(attrs, inputs).status());
  return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, inputs[0].shape)};
}

class LpNormKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseLpNorm(attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(DataType::kFloat32, inputs[0].shape)},
                        "LpNormalization");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    float* y = static_cast<float*>(out[0]);
    const int64_t n = p_.n, inner = p_.inner;
    MaybeParallel(ctx, p_.outer * inner, p_.outer * n * inner,
                  [&](int64_t begin, int64_t end, int) {
                    for (int64_t oj = begin; oj < end; ++oj) {
                      const int64_t base = (oj / inner) * n * inner + oj % inner;
                      float norm = 0;
                      for (int64_t i = 0; i < n; ++i) {
                        const float v = x[base + i * inner];
                        norm += p_.p == 1 ? std::fabs(v) : v * v;
                      }
                      if (p_.p == 2) norm = std::sqrt(norm);
                      for (int64_t i = 0; i < n; ++i) {
                        y[base + i * inner] = norm != 0 ? x[base + i * inner] / norm : 0.0f;
                      }
                    }
                  });
  }

 private:
  LpNormParams p_;
};

// ---------------------------------------------------------------------------
// MeanVarianceNormalization

absl::StatusOr<ReduceGeometry> ParseMvn(const Attributes& attrs,
                                        std::span<const TensorInfo> inputs) {
  const std::string type = "MeanVarianceNormalization";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, type));
  const TensorInfo& x = inputs[0];
  ENGINE_RETURN_IF_ERROR(RequireFloat(x, type, "X"));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> axes, attrs.GetInts("axes", {0, 2, 3}));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<bool> reduce(x.shape.size(), false);
  for (int64_t a : axes) {
    auto axis = NormalizeAxis(a, rank);
    if (!axis.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": attribute 'axes': X ",
                                                     ShapeString(x.shape), ": ",
                                                     axis.status().message()));
    }
    if (reduce[*axis]) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": attribute 'axes' names axis ", *axis, " twice"));
    }
    reduce[*axis] = true;
  }
  return ReduceGeometry::Make(x.shape, reduce);
}

absl::StatusOr<std::vector<TensorInfo>> InferMvn(const Attributes& attrs,
                                                 std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(ParseMvn(attrs, inputs).status());
  return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, inputs[0].shape)};
}

class MvnKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(g_, ParseMvn(attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(DataType::kFloat32, inputs[0].shape)},
                        "MeanVarianceNormalization");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    float* y = static_cast<float*>(out[0]);
    const double count = static_cast<double>(g_.reduce_count);
    MaybeParallel(ctx, g_.out_count, g_.out_count * g_.reduce_count,
                  [&](int64_t begin, int64_t end, int) {
                    for (int64_t o = begin; o < end; ++o) {
                      const int64_t base = g_.Base(o);
                      double sum = 0;
                      g_.ForEach(base, [&](int64_t i) { sum += x[i]; });
                      const double mean = sum / count;
                      double sq = 0;
                      g_.ForEach(base, [&](int64_t i) {
                        const double d = x[i] - mean;
                        sq += d * d;
                      });
                      const float m = static_cast<float>(mean);
                      const float inv = static_cast<float>(1.0 / (std::sqrt(sq / count) + 1e-9));
                      g_.ForEach(base, [&](int64_t i) { y[i] = (x[i] - m) * inv; });
                    }
                  });
  }

 private:
  ReduceGeometry g_;
};

// ---------------------------------------------------------------------------
// GlobalLpPool / LpPool

// (sum |x|^p)^(1/p) helpers, exact forms for p = 1 and 2.
inline float LpTerm(float v, int64_t p) {
  if (p == 1) return std::fabs(v);
  if (p == 2) return v * v;
  return std::pow(std::fabs(v), static_cast<float>(p));
}
inline float LpRoot(float s, int64_t p) {
  if (p == 1) return s;
  if (p == 2) return std::sqrt(s);
  return std::pow(s, 1.0f / static_cast<float>(p));
}

struct LpPoolParams {
  int64_t planes = 0;
  int64_t p = 2;
  Dims in, out, kernel, stride, dilation, pad_begin;
  Dims y_shape;
};

absl::StatusOr<LpPoolParams> ParseLpPool(bool global, const Attributes& attrs,
                                         std::span<const TensorInfo> inputs) {
  const std::string type = global ? "GlobalLpPool" : "LpPool";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, type));
  const TensorInfo& x = inputs[0];
  ENGINE_RETURN_IF_ERROR(RequireFloat(x, type, "X"));
  const size_t min_rank = global ? 2 : 3;
  if (x.shape.size() < min_rank) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": X has shape ", ShapeString(x.shape), ", expected [N,C,D1,...]"));
  }
  LpPoolParams p;
  ENGINE_ASSIGN_OR_RETURN(p.p, attrs.GetInt("p", 2));
  if (p.p < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": attribute 'p' is ", p.p, ", must be >= 1"));
  }
  const size_t nsp = x.shape.size() - 2;
  p.planes = x.shape[0] * x.shape[1];
  p.in = Dims(x.shape.begin() + 2, x.shape.end());
  p.y_shape = {x.shape[0], x.shape[1]};
  if (global) {
    p.kernel = p.in;
    p.out = Dims(nsp, 1);
    p.stride = Dims(nsp, 1);
    p.dilation = Dims(nsp, 1);
    p.pad_begin = Dims(nsp, 0);
    p.y_shape.resize(x.shape.size(), 1);
    return p;
  }
  if (!attrs.Has("kernel_shape")) {
    return absl::InvalidArgumentError("LpPool: attribute 'kernel_shape' is required");
  }
  ENGINE_ASSIGN_OR_RETURN(p.kernel, GetSpatialInts(attrs, type, "kernel_shape", nsp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(p.stride, GetSpatialInts(attrs, type, "strides", nsp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(p.dilation, GetSpatialInts(attrs, type, "dilations", nsp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> pads,
                          GetSpatialInts(attrs, type, "pads", 2 * nsp, 0, 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t ceil_mode, attrs.GetInt("ceil_mode", 0));
  ENGINE_ASSIGN_OR_RETURN(std::string auto_pad, GetAutoPad(attrs, type));
  p.pad_begin.assign(nsp, 0);
  p.out.assign(nsp, 0);
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t in = p.in[i], s = p.stride[i];
    const int64_t ek = (p.kernel[i] - 1) * p.dilation[i] + 1;
    int64_t pad_end = 0;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      p.out[i] = SamePadding(auto_pad, in, s, ek, &p.pad_begin[i], &pad_end);
    } else {
      if (auto_pad == "NOTSET") {
        p.pad_begin[i] = pads[i];
        pad_end = pads[nsp + i];
      }
      const int64_t span = in + p.pad_begin[i] + pad_end - ek;
      if (span < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(type, ": spatial axis ", i, " of X (size ", in, ", padded to ",
                         in + p.pad_begin[i] + pad_end, ") is smaller than the dilated kernel (",
                         ek, ")"));
      }
      if (ceil_mode != 0 && auto_pad == "NOTSET") {
        p.out[i] = (span + s - 1) / s + 1;
        // The last window must start inside the input or the left padding.
        if ((p.out[i] - 1) * s >= in + p.pad_begin[i]) --p.out[i];
      } else {
        p.out[i] = span / s + 1;
      }
    }
    p.y_shape.push_back(p.out[i]);
  }
  return p;
}

template <bool kGlobal>
class LpPoolKernel final : public Kernel {
 public:
  static constexpr const char* kName = kGlobal ? "GlobalLpPool" : "LpPool";

  static absl::StatusOr<std::vector<TensorInfo>> Infer(const Attributes& attrs,
                                                       std::span<const TensorInfo> inputs) {
    ENGINE_ASSIGN_OR_RETURN(LpPoolParams p, ParseLpPool(kGlobal, attrs, inputs));
    return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, p.y_shape)};
  }

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseLpPool(kGlobal, attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(DataType::kFloat32, p_.y_shape)}, kName);
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    float* y = static_cast<float*>(out[0]);
    const int64_t in_plane = NumElements(p_.in), out_plane = NumElements(p_.out);
    const int64_t window = NumElements(p_.kernel);
    const size_t nsp = p_.in.size();
    const std::vector<int64_t> in_strides = RowMajorStrides(p_.in);
    MaybeParallel(ctx, p_.planes * out_plane, p_.planes * out_plane * window,
                  [&](int64_t begin, int64_t end, int) {
                    std::vector<int64_t> start(nsp);
                    for (int64_t e = begin; e < end; ++e) {
                      const float* xp = x + (e / out_plane) * in_plane;
                      int64_t rem = e % out_plane;
                      for (size_t a = nsp; a-- > 0;) {
                        start[a] = (rem % p_.out[a]) * p_.stride[a] - p_.pad_begin[a];
                        rem /= p_.out[a];
                      }
                      // Taps in row-major window order; outside taps are 0.
                      float sum = 0;
                      for (int64_t t = 0; t < window; ++t) {
                        int64_t trem = t, off = 0;
                        bool inside = true;
                        for (size_t a = nsp; a-- > 0;) {
                          const int64_t pos = start[a] + (trem % p_.kernel[a]) * p_.dilation[a];
                          trem /= p_.kernel[a];
                          if (pos < 0 || pos >= p_.in[a]) {
                            inside = false;
                            break;
                          }
                          off += pos * in_strides[a];
                        }
                        if (inside) sum += LpTerm(xp[off], p_.p);
                      }
                      y[e] = LpRoot(sum, p_.p);
                    }
                  });
  }

 private:
  LpPoolParams p_;
};

}  // namespace

KernelDef MakeInstanceNormalizationDef() {
  return MakeDef<GroupNormKernel<true>>("InstanceNormalization", GroupNormKernel<true>::Infer);
}
KernelDef MakeGroupNormalizationDef() {
  return MakeDef<GroupNormKernel<false>>("GroupNormalization", GroupNormKernel<false>::Infer);
}
KernelDef MakeLayerNormalizationDef() {
  return MakeDef<LayerNormKernel>("LayerNormalization", InferLayerNorm);
}
KernelDef MakeLpNormalizationDef() {
  return MakeDef<LpNormKernel>("LpNormalization", InferLpNorm);
}
KernelDef MakeMeanVarianceNormalizationDef() {
  return MakeDef<MvnKernel>("MeanVarianceNormalization", InferMvn);
}
KernelDef MakeGlobalLpPoolDef() {
  return MakeDef<LpPoolKernel<true>>("GlobalLpPool", LpPoolKernel<true>::Infer);
}
KernelDef MakeLpPoolDef() { return MakeDef<LpPoolKernel<false>>("LpPool", LpPoolKernel<false>::Infer); }

}  // namespace engine::kernels
