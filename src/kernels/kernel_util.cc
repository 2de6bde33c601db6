#include "kernels/kernel_util.h"

#include <cfloat>
#include <cmath>
#include <cstring>

#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace engine::kernels {

absl::StatusOr<Dims> BroadcastShapes(const Dims& a, const Dims& b) {
  size_t rank = std::max(a.size(), b.size());
  Dims out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("shapes [", absl::StrJoin(a, ","), "] and [",
                                                     absl::StrJoin(b, ","),
                                                     "] cannot be broadcast"));
    }
  }
  return out;
}

std::vector<int64_t> RowMajorStrides(const Dims& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

std::vector<int64_t> BroadcastStrides(const Dims& in, const Dims& out) {
  std::vector<int64_t> in_strides = RowMajorStrides(in);
  std::vector<int64_t> s(out.size(), 0);
  size_t offset = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    s[offset + i] = in[i] == 1 ? 0 : in_strides[i];
  }
  return s;
}

absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, bool inclusive_end) {
  int64_t hi = inclusive_end ? rank : rank - 1;
  int64_t lo = inclusive_end ? -rank - 1 : -rank;
  if (axis < lo || axis > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  return axis < 0 ? axis + rank + (inclusive_end ? 1 : 0) : axis;
}

absl::StatusOr<std::vector<int64_t>> ConstantInts(const TensorInfo& info, const std::string& what) {
  if (!info.present || info.constant == nullptr) {
    return absl::UnimplementedError(absl::StrCat(what, " must be a constant tensor"));
  }
  const Tensor& t = *info.constant;
  std::vector<int64_t> out(t.num_elements());
  if (t.dtype() == DataType::kInt64) {
    if (!out.empty()) std::memcpy(out.data(), t.data(), out.size() * sizeof(int64_t));
  } else if (t.dtype() == DataType::kInt32) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = t.data_as<int32_t>()[i];
  } else {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be int64 or int32, got ",
                                                   DataTypeName(t.dtype())));
  }
  return out;
}

absl::Status CheckInputCount(std::span<const TensorInfo> inputs, size_t min, size_t max,
                             const std::string& type) {
  if (inputs.size() < min || inputs.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat(type, " expects ", min, "..", max,
                                                   " inputs, got ", inputs.size()));
  }
  for (size_t i = 0; i < min; ++i) {
    if (!inputs[i].present) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": required input ", i, " is absent"));
    }
  }
  return absl::OkStatus();
}

std::string ShapeString(const Dims& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ","), "]");
}

absl::Status CheckOutputs(std::span<const TensorInfo> outputs,
                          const std::vector<TensorInfo>& expected, const std::string& type) {
  if (outputs.empty()) return absl::OkStatus();
  if (outputs.size() != expected.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": expected ", expected.size(), " outputs, got ", outputs.size()));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].shape != expected[i].shape) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": output ", i, " has shape ",
                                                     ShapeString(outputs[i].shape), ", expected ",
                                                     ShapeString(expected[i].shape)));
    }
    if (outputs[i].dtype != DataType::kUndefined && outputs[i].dtype != expected[i].dtype) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": output ", i, " has dtype ",
                                                     DataTypeName(outputs[i].dtype), ", expected ",
                                                     DataTypeName(expected[i].dtype)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> GetSpatialInts(const Attributes& attrs,
                                                    const std::string& type,
                                                    const std::string& name, size_t n,
                                                    int64_t def, int64_t min) {
  auto v = attrs.GetInts(name, std::vector<int64_t>(n, def));
  if (!v.ok()) return v.status();
  if (v->size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": attribute '", name, "' has ",
                                                   v->size(), " values, expected ", n));
  }
  for (int64_t x : *v) {
    if (x < min) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": attribute '", name, "' value ", x, " must be >= ", min));
    }
    if (x > kMaxSpatialValue) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": attribute '", name, "' value ", x,
                                                     " must be <= ", kMaxSpatialValue));
    }
  }
  return v;
}

absl::StatusOr<std::string> GetAutoPad(const Attributes& attrs, const std::string& type) {
  auto auto_pad = attrs.GetString("auto_pad", "NOTSET");
  if (!auto_pad.ok()) return auto_pad.status();
  if (auto_pad->empty()) *auto_pad = "NOTSET";
  if (*auto_pad != "NOTSET" && *auto_pad != "SAME_UPPER" && *auto_pad != "SAME_LOWER" &&
      *auto_pad != "VALID") {
    return absl::InvalidArgumentError(absl::StrCat(type, ": unknown auto_pad '", *auto_pad, "'"));
  }
  return auto_pad;
}

int64_t SamePadding(const std::string& auto_pad, int64_t in, int64_t stride,
                    int64_t dilated_kernel, int64_t* pad_begin, int64_t* pad_end) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>(0, (out - 1) * stride + dilated_kernel - in);
  *pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
  *pad_end = total - *pad_begin;
  return out;
}

// ---------------------------------------------------------------------------
// Activations.

namespace {

// Sigmoid and Tanh are built on a branch-free expf (Cephes: range reduction
// x = n ln2 + r, degree-5 polynomial, ~1 ulp) that the compiler vectorizes,
// instead of one scalar libm call per element. The argument is clamped in a
// separate pass over a small stack block: fused with the clamp, GCC turns the
// saturated cases into branches and gives up vectorizing.
constexpr float kExpMin = -87.3f;  // e^-87.3 ~ 1.2e-38: 2^n stays a normal float
constexpr float kExpMax = 88.3f;   // e^88.3 ~ 2.0e38 < FLT_MAX

// e^x for x in [kExpMin, kExpMax] (NaN propagates).
inline float ExpCore(float x) {
  // n = round(x / ln2) by adding 1.5 * 2^23: the sum's low mantissa bits are n.
  const float kRound = 12582912.0f;
  const float t = x * 1.44269504088896341f + kRound;
  const float fn = t - kRound;
  float r = x - fn * 0.693359375f;  // ln2 split into a short high part ...
  r = r - fn * -2.12194440e-4f;     // ... and a low part
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t tbits;
  std::memcpy(&tbits, &t, sizeof(t));
  const uint32_t bits = (tbits - 0x4b400000u + 127u) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

constexpr int64_t kBlock = 256;

template <typename F>
void Map(const float* x, float* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

}  // namespace

// Sigmoid: 1 / (1 + e^-x); saturates to 1 for large x and to ~0 (>= 0) for
// very negative x.
void SigmoidArray(const float* x, float* y, int64_t n) {
  float t[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    for (int64_t i = 0; i < m; ++i) t[i] = std::min(std::max(-x[b + i], kExpMin), kExpMax);
    for (int64_t i = 0; i < m; ++i) y[b + i] = 1.0f / (1.0f + ExpCore(t[i]));
  }
}

void ExpArray(const float* x, float* y, int64_t n) {
  float t[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    for (int64_t i = 0; i < m; ++i) t[i] = std::min(std::max(x[b + i], kExpMin), kExpMax);
    for (int64_t i = 0; i < m; ++i) t[i] = ExpCore(t[i]);
    for (int64_t i = 0; i < m; ++i) y[b + i] = x[b + i] < kExpMin ? 0.0f : t[i];
  }
}

void GeluErfArray(const float* x, float* y, int64_t n) {
  constexpr float kInvSqrt2 = 0.7071067811865476f;
  constexpr float kP = 0.3275911f;
  constexpr float kA1 = 0.254829592f, kA2 = -0.284496736f, kA3 = 1.421413741f,
                  kA4 = -1.453152027f, kA5 = 1.061405429f;
  float t[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    // e^(-z^2), z = |x| / sqrt(2), clamped in its own pass (see ExpCore).
    for (int64_t i = 0; i < m; ++i) {
      const float z = std::fabs(x[b + i]) * kInvSqrt2;
      t[i] = std::max(-(z * z), kExpMin);
    }
    for (int64_t i = 0; i < m; ++i) t[i] = ExpCore(t[i]);
    for (int64_t i = 0; i < m; ++i) {
      const float v = x[b + i];
      const float z = std::fabs(v) * kInvSqrt2;
      const float u = 1.0f / (1.0f + kP * z);
      float p = kA5;
      p = p * u + kA4;
      p = p * u + kA3;
      p = p * u + kA2;
      p = p * u + kA1;
      const float e = 1.0f - p * u * t[i];  // erf(z), z >= 0
      const float erf = v < 0.0f ? -e : e;
      y[b + i] = 0.5f * v * (1.0f + erf);
    }
  }
}

void SwishArray(const float* x, float* y, int64_t n, float alpha) {
  float s[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    if (alpha == 1.0f) {
      SigmoidArray(x + b, s, m);
    } else {
      for (int64_t i = 0; i < m; ++i) s[i] = alpha * x[b + i];
      SigmoidArray(s, s, m);
    }
    for (int64_t i = 0; i < m; ++i) y[b + i] = x[b + i] * s[i];
  }
}

// Tanh (Cephes tanhf): an odd polynomial for |x| < 0.625, else
// sign(x) * (1 - 2 / (e^(2|x|) + 1)).
void TanhArray(const float* x, float* y, int64_t n) {
  float t[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    for (int64_t i = 0; i < m; ++i) t[i] = std::min(2.0f * std::fabs(x[b + i]), kExpMax);
    for (int64_t i = 0; i < m; ++i) {
      const float v = x[b + i];
      const float z = v * v;
      float p = -5.70498872745e-3f;
      p = p * z + 2.06390887954e-2f;
      p = p * z - 5.37397155531e-2f;
      p = p * z + 1.33314422036e-1f;
      p = p * z - 3.33332819422e-1f;
      const float small = p * z * v + v;
      const float large_abs = 1.0f - 2.0f / (ExpCore(t[i]) + 1.0f);
      const float large = std::copysign(large_abs, v);
      // A bitwise select: with `cond ? small : large` GCC moves the division
      // under a branch and cannot vectorize.
      const uint32_t mask = std::fabs(v) < 0.625f ? 0xffffffffu : 0u;
      uint32_t sb, lb;
      std::memcpy(&sb, &small, sizeof(sb));
      std::memcpy(&lb, &large, sizeof(lb));
      const uint32_t rb = (sb & mask) | (lb & ~mask);
      std::memcpy(&y[b + i], &rb, sizeof(rb));
    }
  }
}

absl::StatusOr<Activation> ActivationFromType(const std::string& type) {
  using Kind = Activation::Kind;
  Activation a;
  if (type == "Relu") {
    a.kind = Kind::kRelu;
  } else if (type == "LeakyRelu") {
    a.kind = Kind::kLeakyRelu;
    a.alpha = 0.01f;
  } else if (type == "Clip") {
    a.kind = Kind::kClip;
    a.alpha = -FLT_MAX;
    a.beta = FLT_MAX;
  } else if (type == "Sigmoid") {
    a.kind = Kind::kSigmoid;
  } else if (type == "Tanh") {
    a.kind = Kind::kTanh;
  } else if (type == "HardSigmoid") {
    a.kind = Kind::kHardSigmoid;
    a.alpha = 0.2f;
    a.beta = 0.5f;
  } else if (type == "HardSwish") {
    a.kind = Kind::kHardSwish;
  } else if (type == "Swish") {
    a.kind = Kind::kSwish;
    a.alpha = 1.0f;
  } else if (type == "Gelu") {
    a.kind = Kind::kGelu;
    a.alpha = 0.0f;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown activation '", type,
        "' (expected Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish, Swish or Gelu)"));
  }
  return a;
}

absl::StatusOr<Activation> ParseActivation(const Attributes& attrs) {
  ENGINE_ASSIGN_OR_RETURN(std::string type, attrs.GetString("activation", ""));
  if (type.empty()) return Activation{};
  ENGINE_ASSIGN_OR_RETURN(Activation a, ActivationFromType(type));
  ENGINE_ASSIGN_OR_RETURN(a.alpha, attrs.GetFloat("activation_alpha", a.alpha));
  ENGINE_ASSIGN_OR_RETURN(a.beta, attrs.GetFloat("activation_beta", a.beta));
  return a;
}

void ApplyActivation(const Activation& act, const float* x, float* y, int64_t n) {
  using Kind = Activation::Kind;
  const float alpha = act.alpha, beta = act.beta;
  switch (act.kind) {
    case Kind::kNone:
      if (x != y && n > 0) std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
      break;
    case Kind::kRelu: Map(x, y, n, [](float v) { return ReluOf(v); }); break;
    case Kind::kLeakyRelu: Map(x, y, n, [alpha](float v) { return LeakyReluOf(v, alpha); }); break;
    case Kind::kClip:
      Map(x, y, n, [alpha, beta](float v) { return ClipOf(v, alpha, beta); });
      break;
    case Kind::kSigmoid: SigmoidArray(x, y, n); break;
    case Kind::kTanh: TanhArray(x, y, n); break;
    case Kind::kHardSigmoid:
      Map(x, y, n, [alpha, beta](float v) { return HardSigmoidOf(v, alpha, beta); });
      break;
    case Kind::kHardSwish: Map(x, y, n, [](float v) { return HardSwishOf(v); }); break;
    case Kind::kSwish: SwishArray(x, y, n, alpha); break;
    case Kind::kGelu:
      if (alpha != 0.0f) {
        Map(x, y, n, [](float v) { return GeluOf(v, true); });
      } else {
        GeluErfArray(x, y, n);
      }
      break;
  }
}

}  // namespace engine::kernels
