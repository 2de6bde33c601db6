// Unary elementwise math and activation kernels, and the axis activations
// Hardmax and LogSoftmax (the "elementwise math" / "activations" family,
// issue 17). Formulas are the ONNX operator definitions (Operators.md, opsets
// 7-25; the layer sees the opset-13+ form):
//
//  float32 -> float32:
//    Exp, Log, Sqrt, Reciprocal (1 / x), Floor, Ceil, Round (half to even),
//    Erf, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh
//    (the C library's float functions; NaN, inf and domain errors as IEEE);
//    Elu      x >= 0 ? x : alpha * (e^x - 1)                  alpha 1.0
//    Selu     x > 0 ? gamma * x : gamma * (alpha * e^x - alpha)
//             alpha 1.67326319217681884765625, gamma 1.05070102214813232421875
//    Celu     max(0, x) + min(0, alpha * (e^(x / alpha) - 1)) alpha 1.0 (!= 0)
//    Softplus ln(1 + e^x), evaluated as max(x, 0) + log1p(e^-|x|) (no overflow)
//    Softsign x / (1 + |x|)
//    ThresholdedRelu  x > alpha ? x : 0                       alpha 1.0
//    Mish     x * tanh(softplus(x))                           (opset 18)
//    Gelu     approximate "none": x / 2 * (1 + erf(x / sqrt(2))), erf as
//             GeluErfArray (kernel_util.h; |error| <= 1.5e-7);
//             "tanh": x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))
//             (opset 20; Hendrycks & Gimpel, arXiv:1606.08415)
//    Shrink   x < -lambd ? x + bias : x > lambd ? x - bias : 0  lambd 0.5, bias 0
//  Neg (float32, int32, int64, int8), Abs and Sign (also uint8): integer Neg
//    and Abs wrap (two's complement: -INT_MIN = INT_MIN, like numpy); Sign of
//    NaN is NaN.
//  IsNaN, IsInf (float32 -> bool): IsInf honours detect_negative and
//    detect_positive (default 1).
//  Not (bool -> bool).
//
//  Hardmax, LogSoftmax (float32): along `axis` (default -1, opset 13+ form:
//  one axis; the opset-11 "coerce to 2-D" form is rewritten by the importer,
//  src/ops/elementwise_math.cc). Hardmax writes 1 at the first maximum of
//  each slice along the axis and 0 elsewhere; LogSoftmax computes
//  x - max - ln(sum(e^(x - max))) with the sum in double.
//
// Intra-op parallelism: unary kernels split large outputs into blocks of
// kBroadcastBlock elements, the axis kernels split their independent slices;
// every element is computed the same way whatever the split.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/broadcast_nary.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

enum class U {
  kExp, kLog, kSqrt, kReciprocal, kFloor, kCeil, kRound, kErf,
  kSin, kCos, kTan, kAsin, kAcos, kAtan, kSinh, kCosh, kAsinh, kAcosh, kAtanh,
  kElu, kSelu, kCelu, kSoftplus, kSoftsign, kThresholdedRelu, kMish, kGelu, kShrink,
  kNeg, kAbs, kSign,
  kIsNaN, kIsInf,
  kNot,
};

// Which input dtypes an op accepts and what it produces.
enum class Domain {
  kFloat,        // float32 -> float32
  kSigned,       // float32, int32, int64, int8 -> same
  kNumeric,      // kSigned + uint8 -> same
  kFloatToBool,  // float32 -> bool
  kBool,         // bool -> bool
};

struct UnaryInfo {
  const char* name;
  U op;
  Domain domain;
};

constexpr UnaryInfo kUnary[] = {
    {"Exp", U::kExp, Domain::kFloat},
    {"Log", U::kLog, Domain::kFloat},
    {"Sqrt", U::kSqrt, Domain::kFloat},
    {"Reciprocal", U::kReciprocal, Domain::kFloat},
    {"Floor", U::kFloor, Domain::kFloat},
    {"Ceil", U::kCeil, Domain::kFloat},
    {"Round", U::kRound, Domain::kFloat},
    {"Erf", U::kErf, Domain::kFloat},
    {"Sin", U::kSin, Domain::kFloat},
    {"Cos", U::kCos, Domain::kFloat},
    {"Tan", U::kTan, Domain::kFloat},
    {"Asin", U::kAsin, Domain::kFloat},
    {"Acos", U::kAcos, Domain::kFloat},
    {"Atan", U::kAtan, Domain::kFloat},
    {"Sinh", U::kSinh, Domain::kFloat},
    {"Cosh", U::kCosh, Domain::kFloat},
    {"Asinh", U::kAsinh, Domain::kFloat},
    {"Acosh", U::kAcosh, Domain::kFloat},
    {"Atanh", U::kAtanh, Domain::kFloat},
    {"Elu", U::kElu, Domain::kFloat},
    {"Selu", U::kSelu, Domain::kFloat},
    {"Celu", U::kCelu, Domain::kFloat},
    {"Softplus", U::kSoftplus, Domain::kFloat},
    {"Softsign", U::kSoftsign, Domain::kFloat},
    {"ThresholdedRelu", U::kThresholdedRelu, Domain::kFloat},
    {"Mish", U::kMish, Domain::kFloat},
    {"Gelu", U::kGelu, Domain::kFloat},
    {"Shrink", U::kShrink, Domain::kFloat},
    {"Neg", U::kNeg, Domain::kSigned},
    {"Abs", U::kAbs, Domain::kNumeric},
    {"Sign", U::kSign, Domain::kNumeric},
    {"IsNaN", U::kIsNaN, Domain::kFloatToBool},
    {"IsInf", U::kIsInf, Domain::kFloatToBool},
    {"Not", U::kNot, Domain::kBool},
};

const UnaryInfo* FindUnary(const std::string& type) {
  for (const UnaryInfo& u : kUnary) {
    if (type == u.name) return &u;
  }
  return nullptr;
}

bool Accepts(Domain d, DataType t) {
  switch (d) {
    case Domain::kFloat:
    case Domain::kFloatToBool: return t == DataType::kFloat32;
    case Domain::kSigned:
      return t == DataType::kFloat32 || t == DataType::kInt32 || t == DataType::kInt64 ||
             t == DataType::kInt8;
    case Domain::kNumeric:
      return t == DataType::kFloat32 || t == DataType::kInt32 || t == DataType::kInt64 ||
             t == DataType::kInt8 || t == DataType::kUint8;
    case Domain::kBool: return t == DataType::kBool;
  }
  return false;
}

// Attribute values of the parameterized activations.
struct UnaryParams {
  float alpha = 0.0f;  // Elu, Selu, Celu, ThresholdedRelu
  float gamma = 0.0f;  // Selu
  float lambd = 0.0f;  // Shrink
  float bias = 0.0f;   // Shrink
  bool gelu_tanh = false;
  bool detect_negative = true, detect_positive = true;  // IsInf
};

absl::StatusOr<UnaryParams> ParseUnaryParams(const UnaryInfo& u, const Attributes& attrs) {
  UnaryParams p;
  switch (u.op) {
    case U::kElu:
    case U::kCelu:
    case U::kThresholdedRelu: {
      ENGINE_ASSIGN_OR_RETURN(p.alpha, attrs.GetFloat("alpha", 1.0f));
      if (u.op == U::kCelu && p.alpha == 0.0f) {
        return absl::InvalidArgumentError("Celu: attribute 'alpha' must not be 0");
      }
      break;
    }
    case U::kSelu: {
      ENGINE_ASSIGN_OR_RETURN(p.alpha, attrs.GetFloat("alpha", 1.67326319217681884765625f));
      ENGINE_ASSIGN_OR_RETURN(p.gamma, attrs.GetFloat("gamma", 1.05070102214813232421875f));
      break;
    }
    case U::kShrink: {
      ENGINE_ASSIGN_OR_RETURN(p.lambd, attrs.GetFloat("lambd", 0.5f));
      ENGINE_ASSIGN_OR_RETURN(p.bias, attrs.GetFloat("bias", 0.0f));
      break;
    }
    case U::kGelu: {
      const absl::StatusOr<std::string> approx = attrs.GetString("approximate", "none");
      if (!approx.ok()) return approx.status();
      if (*approx != "none" && *approx != "tanh") {
        return absl::InvalidArgumentError(absl::StrCat(
            "Gelu: attribute 'approximate' must be \"none\" or \"tanh\", got \"", *approx, "\""));
      }
      p.gelu_tanh = *approx == "tanh";
      break;
    }
    case U::kIsInf: {
      ENGINE_ASSIGN_OR_RETURN(int64_t neg, attrs.GetInt("detect_negative", 1));
      ENGINE_ASSIGN_OR_RETURN(int64_t pos, attrs.GetInt("detect_positive", 1));
      p.detect_negative = neg != 0;
      p.detect_positive = pos != 0;
      break;
    }
    default: break;
  }
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferUnaryMath(const UnaryInfo& u,
                                                       const Attributes& attrs,
                                                       std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, u.name));
  const TensorInfo& x = inputs[0];
  if (!Accepts(u.domain, x.dtype)) {
    return absl::UnimplementedError(
        absl::StrCat(u.name, ": unsupported dtype ", DataTypeName(x.dtype), " for X"));
  }
  ENGINE_RETURN_IF_ERROR(ParseUnaryParams(u, attrs).status());
  const DataType out = u.domain == Domain::kFloatToBool ? DataType::kBool : x.dtype;
  return std::vector<TensorInfo>{MakeInfo(out, x.shape)};
}

template <typename In, typename Out, typename F>
void Map(const void* in, void* out, int64_t n, const F& f) {
  const In* x = static_cast<const In*>(in);
  Out* y = static_cast<Out*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

float SoftplusOf(float x) { return std::max(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }

void RunFloat(U op, const UnaryParams& p, const void* x, void* y, int64_t n) {
  auto map = [&](const auto& f) { Map<float, float>(x, y, n, f); };
  switch (op) {
    case U::kExp: map([](float v) { return std::exp(v); }); break;
    case U::kLog: map([](float v) { return std::log(v); }); break;
    case U::kSqrt: map([](float v) { return std::sqrt(v); }); break;
    case U::kReciprocal: map([](float v) { return 1.0f / v; }); break;
    case U::kFloor: map([](float v) { return std::floor(v); }); break;
    case U::kCeil: map([](float v) { return std::ceil(v); }); break;
    case U::kRound: map([](float v) { return std::nearbyint(v); }); break;  // ties to even
    case U::kErf: map([](float v) { return std::erf(v); }); break;
    case U::kSin: map([](float v) { return std::sin(v); }); break;
    case U::kCos: map([](float v) { return std::cos(v); }); break;
    case U::kTan: map([](float v) { return std::tan(v); }); break;
    case U::kAsin: map([](float v) { return std::asin(v); }); break;
    case U::kAcos: map([](float v) { return std::acos(v); }); break;
    case U::kAtan: map([](float v) { return std::atan(v); }); break;
    case U::kSinh: map([](float v) { return std::sinh(v); }); break;
    case U::kCosh: map([](float v) { return std::cosh(v); }); break;
    case U::kAsinh: map([](float v) { return std::asinh(v); }); break;
    case U::kAcosh: map([](float v) { return std::acosh(v); }); break;
    case U::kAtanh: map([](float v) { return std::atanh(v); }); break;
    case U::kElu: {
      const float a = p.alpha;
      map([a](float v) { return v >= 0.0f ? v : a * std::expm1(v); });
      break;
    }
    case U::kSelu: {
      const float a = p.alpha, g = p.gamma;
      map([a, g](float v) { return v > 0.0f ? g * v : g * (a * std::exp(v) - a); });
      break;
    }
    case U::kCelu: {
      const float a = p.alpha;
      map([a](float v) {
        return std::max(0.0f, v) + std::min(0.0f, a * std::expm1(v / a));
      });
      break;
    }
    case U::kSoftplus: map([](float v) { return SoftplusOf(v); }); break;
    case U::kSoftsign: map([](float v) { return v / (1.0f + std::fabs(v)); }); break;
    case U::kThresholdedRelu: {
      const float a = p.alpha;
      map([a](float v) { return v > a ? v : 0.0f; });
      break;
    }
    case U::kMish: map([](float v) { return v * std::tanh(SoftplusOf(v)); }); break;
    case U::kGelu:
      if (p.gelu_tanh) {
        // sqrt(2 / pi)
        map([](float v) {
          constexpr float kC = 0.7978845608028654f;
          return 0.5f * v * (1.0f + std::tanh(kC * (v + 0.044715f * v * v * v)));
        });
      } else {
        // The fused activation's arithmetic (kernel_util.h): same bits.
        GeluErfArray(static_cast<const float*>(x), static_cast<float*>(y), n);
      }
      break;
    case U::kShrink: {
      const float l = p.lambd, b = p.bias;
      map([l, b](float v) { return v < -l ? v + b : (v > l ? v - b : 0.0f); });
      break;
    }
    default: break;  // other domains
  }
}

// Neg, Abs, Sign on one element type (integers wrap).
template <typename T>
void RunNumeric(U op, const void* x, void* y, int64_t n) {
  auto neg = [](T v) -> T {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(v));
    } else {
      return -v;
    }
  };
  switch (op) {
    case U::kNeg: Map<T, T>(x, y, n, neg); break;
    case U::kAbs:
      if constexpr (std::is_unsigned_v<T>) {
        Map<T, T>(x, y, n, [](T v) { return v; });
      } else if constexpr (std::is_integral_v<T>) {
        Map<T, T>(x, y, n, [neg](T v) { return v < 0 ? neg(v) : v; });
      } else {
        Map<T, T>(x, y, n, [](T v) { return std::fabs(v); });
      }
      break;
    case U::kSign:
      Map<T, T>(x, y, n, [](T v) -> T {
        if constexpr (std::is_floating_point_v<T>) {
          if (v != v) return v;
        }
        return v > T(0) ? T(1) : (v < T(0) ? static_cast<T>(-1) : T(0));
      });
      break;
    default: break;
  }
}

class UnaryMathKernel final : public Kernel {
 public:
  explicit UnaryMathKernel(const UnaryInfo* u) : u_(u) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferUnaryMath(*u_, attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, u_->name));
    ENGINE_ASSIGN_OR_RETURN(params_, ParseUnaryParams(*u_, attrs));
    in_dtype_ = inputs[0].dtype;
    out_dtype_ = out[0].dtype;
    count_ = NumElements(out[0].shape);
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const int64_t blocks = (count_ + kBroadcastBlock - 1) / kBroadcastBlock;
    if (count_ < kBroadcastMinParallel || ctx.threads <= 1) {
      RunRange(in[0], out[0], 0, count_);
      return;
    }
    ParallelFor(ctx, blocks, [&](int64_t begin, int64_t end, int) {
      RunRange(in[0], out[0], begin * kBroadcastBlock, std::min(count_, end * kBroadcastBlock));
    });
  }

 private:
  void RunRange(const void* in, void* out, int64_t begin, int64_t end) const {
    if (end <= begin) return;
    const int64_t n = end - begin;
    const void* x = static_cast<const std::byte*>(in) + begin * DataTypeSize(in_dtype_);
    void* y = static_cast<std::byte*>(out) + begin * DataTypeSize(out_dtype_);
    switch (u_->domain) {
      case Domain::kFloat: RunFloat(u_->op, params_, x, y, n); break;
      case Domain::kSigned:
      case Domain::kNumeric:
        switch (in_dtype_) {
          case DataType::kFloat32: RunNumeric<float>(u_->op, x, y, n); break;
          case DataType::kInt32: RunNumeric<int32_t>(u_->op, x, y, n); break;
          case DataType::kInt64: RunNumeric<int64_t>(u_->op, x, y, n); break;
          case DataType::kInt8: RunNumeric<int8_t>(u_->op, x, y, n); break;
          case DataType::kUint8: RunNumeric<uint8_t>(u_->op, x, y, n); break;
          default: break;
        }
        break;
      case Domain::kFloatToBool:
        if (u_->op == U::kIsNaN) {
          Map<float, uint8_t>(x, y, n, [](float v) -> uint8_t { return v != v; });
        } else {
          const bool neg = params_.detect_negative, pos = params_.detect_positive;
          Map<float, uint8_t>(x, y, n, [neg, pos](float v) -> uint8_t {
            return std::isinf(v) && (v > 0 ? pos : neg);
          });
        }
        break;
      case Domain::kBool:
        Map<uint8_t, uint8_t>(x, y, n, [](uint8_t v) -> uint8_t { return v == 0; });
        break;
    }
  }

  const UnaryInfo* u_;
  UnaryParams params_;
  DataType in_dtype_ = DataType::kUndefined, out_dtype_ = DataType::kUndefined;
  int64_t count_ = 0;
};

// ---------------------------------------------------------------------------
// Hardmax, LogSoftmax.

struct AxisGeometry {
  int64_t outer = 1, axis = 1, inner = 1;  // X viewed as [outer, axis, inner]
};

absl::StatusOr<AxisGeometry> ParseAxis(const std::string& type, const Attributes& attrs,
                                       std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, type));
  const TensorInfo& x = inputs[0];
  if (x.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(
        absl::StrCat(type, ": unsupported dtype ", DataTypeName(x.dtype), " for input"));
  }
  ENGINE_ASSIGN_OR_RETURN(int64_t axis_attr, attrs.GetInt("axis", -1));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, rank);
  if (!axis.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": attribute 'axis' for input ",
                                                   ShapeString(x.shape), ": ",
                                                   axis.status().message()));
  }
  AxisGeometry g;
  for (int64_t i = 0; i < rank; ++i) {
    if (i < *axis) g.outer *= x.shape[i];
    if (i == *axis) g.axis = x.shape[i];
    if (i > *axis) g.inner *= x.shape[i];
  }
  return g;
}

class AxisKernel final : public Kernel {
 public:
  AxisKernel(bool hardmax, std::string type) : hardmax_(hardmax), type_(std::move(type)) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(g_, ParseAxis(type_, attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(DataType::kFloat32, inputs[0].shape)}, type_);
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    float* y = static_cast<float*>(out[0]);
    const int64_t slices = g_.outer * g_.inner;
    if (slices == 0 || g_.axis == 0) return;
    // Each slice (one outer index, one inner index) is independent.
    auto run = [&](int64_t begin, int64_t end, int) {
      for (int64_t s = begin; s < end; ++s) {
        const int64_t o = s / g_.inner, i = s % g_.inner;
        const int64_t base = o * g_.axis * g_.inner + i;
        Slice(x + base, y + base, g_.inner);
      }
    };
    if (slices * g_.axis < kBroadcastMinParallel || ctx.threads <= 1) {
      run(0, slices, 0);
    } else {
      ParallelFor(ctx, slices, run);
    }
  }

 private:
  // One slice of g_.axis elements at stride `st`.
  void Slice(const float* x, float* y, int64_t st) const {
    const int64_t n = g_.axis;
    int64_t arg = 0;
    float mx = x[0];
    for (int64_t k = 1; k < n; ++k) {
      if (x[k * st] > mx) {
        mx = x[k * st];
        arg = k;
      }
    }
    if (hardmax_) {
      for (int64_t k = 0; k < n; ++k) y[k * st] = k == arg ? 1.0f : 0.0f;
      return;
    }
    double sum = 0.0;
    for (int64_t k = 0; k < n; ++k) sum += std::exp(static_cast<double>(x[k * st]) - mx);
    const double lse = std::log(sum) + mx;
    for (int64_t k = 0; k < n; ++k) {
      y[k * st] = static_cast<float>(static_cast<double>(x[k * st]) - lse);
    }
  }

  bool hardmax_;
  std::string type_;
  AxisGeometry g_;
};

KernelDef NoKernel(const std::string& type, const char* family) {
  KernelDef d;
  d.type = type;
  d.infer = [type, family](const Attributes&, std::span<const TensorInfo>)
      -> absl::StatusOr<std::vector<TensorInfo>> {
    return absl::UnimplementedError(absl::StrCat("no ", family, " kernel named '", type, "'"));
  };
  return d;  // no factory: the registry refuses a def without a kernel and importer
}

}  // namespace

KernelDef MakeMathUnaryDef(const std::string& type) {
  const UnaryInfo* u = FindUnary(type);
  if (u == nullptr) return NoKernel(type, "unary math");
  KernelDef d;
  d.type = type;
  d.infer = [u](const Attributes& attrs, std::span<const TensorInfo> inputs) {
    return InferUnaryMath(*u, attrs, inputs);
  };
  d.create = [u] { return std::unique_ptr<Kernel>(new UnaryMathKernel(u)); };
  return d;
}

KernelDef MakeAxisActivationDef(const std::string& type) {
  if (type != "Hardmax" && type != "LogSoftmax") return NoKernel(type, "axis activation");
  const bool hardmax = type == "Hardmax";
  KernelDef d;
  d.type = type;
  d.infer = [type](const Attributes& attrs,
                   std::span<const TensorInfo> inputs) -> absl::StatusOr<std::vector<TensorInfo>> {
    ENGINE_RETURN_IF_ERROR(ParseAxis(type, attrs, inputs).status());
    return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, inputs[0].shape)};
  };
  d.create = [hardmax, type] { return std::unique_ptr<Kernel>(new AxisKernel(hardmax, type)); };
  return d;
}

}  // namespace engine::kernels
