// QuantizeLinear and DequantizeLinear: ONNX opsets 10-25, 8-bit integers.
//
//   QuantizeLinear(x, y_scale, y_zero_point?) -> y
//     y = saturate(round_half_even(x / y_scale) + y_zero_point)
//   DequantizeLinear(x, x_scale, x_zero_point?) -> y
//     y = (x - x_zero_point) * x_scale
//
// The formulas are quantize.h's (QuantizeLinearArray, DequantizeLinearArray),
// shared with the INT8 engine's precision boundaries.
//
// Dtypes:
//   QuantizeLinear:   x float32; y_scale float32; y_zero_point and y int8 or
//                     uint8 (y is uint8 without a zero point, unless
//                     `output_dtype` says otherwise).
//   DequantizeLinear: x and x_zero_point int8, uint8 or int32; x_scale and
//                     y float32.
//   Unimplemented: float16/bfloat16 x, scales or outputs, int32 inputs of
//   QuantizeLinear-25, and the 16-bit, 4-bit, 2-bit and float8 quantized types
//   of opsets 19-25 (the engine has no such dtypes).
//
// Granularity, from the scale's shape (the zero point must have the same
// shape; an absent zero point is 0):
//   - per tensor:  one element (shape [] or [1]);
//   - per axis:    1-D of length D = x.shape[axis] (attribute `axis`, default
//                  1, negative counts from the back);
//   - blocked:     opset 21+ `block_size` B > 0: the scale has x's rank and
//                  shape except ceil(D / B) along `axis`; element i along the
//                  axis uses scale entry i / B.
// Attributes `saturate` (float8 only) and `precision` = float are accepted;
// another `precision` is Unimplemented.
//
// Scales and zero points may be runtime inputs: they are read in Run.
//
// Intra-op parallelism: arrays of more than kChunk (16384) elements are split
// into chunks of kChunk elements spread over RunContext::threads threads; every
// element is computed by the same expression, so outputs do not depend on the
// thread count.
#include "kernels/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

// Elements per parallel task.
constexpr int64_t kChunk = int64_t{1} << 14;

enum class Granularity { kTensor, kAxis, kBlocked };

// How the scale and zero point map onto x, viewed as [outer, dim, inner]
// around the quantization axis.
struct QuantLayout {
  Granularity kind = Granularity::kTensor;
  int64_t count = 0;  // elements of x
  int64_t outer = 1, dim = 1, inner = 1;
  int64_t block = 0;      // blocked: elements along the axis per scale entry
  int64_t scale_dim = 1;  // blocked: the scale's size along the axis
};

// Parameters of one Quantize/DequantizeLinear layer.
struct QuantParams {
  DataType x_dtype = DataType::kUndefined;
  DataType y_dtype = DataType::kUndefined;
  bool has_zero_point = false;
  QuantLayout layout;
  Dims shape;
};

// "22 (int4)": an ONNX TensorProto.DataType code with its name, also for the
// types the engine has no DataType for.
std::string DtypeCode(int64_t code) {
  const char* name = DataTypeName(static_cast<DataType>(code));
  switch (code) {
    case 4: name = "uint16"; break;
    case 5: name = "int16"; break;
    case 11: name = "double"; break;
    case 16: name = "bfloat16"; break;
    case 17: name = "float8e4m3fn"; break;
    case 18: name = "float8e4m3fnuz"; break;
    case 19: name = "float8e5m2"; break;
    case 20: name = "float8e5m2fnuz"; break;
    case 21: name = "uint4"; break;
    case 22: name = "int4"; break;
    case 23: name = "float4e2m1"; break;
    case 24: name = "float8e8m0"; break;
    case 25: name = "uint2"; break;
    case 26: name = "int2"; break;
    default: break;
  }
  return absl::StrCat(code, " (", name, ")");
}

bool IsFloat16Like(DataType t) {
  return t == DataType::kFloat16 || static_cast<int>(t) == 16;  // float16, bfloat16
}

// Validates a scale (input 1, float32).
absl::Status CheckScale(const std::string& op, const char* name, const TensorInfo& scale) {
  if (scale.dtype == DataType::kFloat32) return absl::OkStatus();
  if (IsFloat16Like(scale.dtype)) {
    return absl::UnimplementedError(absl::StrCat(op, ": ", name, " of type ",
                                                 DataTypeName(scale.dtype),
                                                 " is not supported (float32 only)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(op, ": ", name, " must be float32, got ", DataTypeName(scale.dtype)));
}

// The granularity of `scale` (and `zero_point`, when present) over x.
absl::StatusOr<QuantLayout> ParseLayout(const std::string& op, const Attributes& attrs,
                                        const Dims& x, const TensorInfo& scale,
                                        const TensorInfo* zero_point, const char* scale_name,
                                        const char* zp_name) {
  ENGINE_ASSIGN_OR_RETURN(int64_t axis_attr, attrs.GetInt("axis", 1));
  ENGINE_ASSIGN_OR_RETURN(int64_t block, attrs.GetInt("block_size", 0));
  if (block < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": block_size ", block, " must be >= 0"));
  }
  const int64_t scale_count = NumElements(scale.shape);
  if (zero_point != nullptr) {
    const int64_t zp_count = NumElements(zero_point->shape);
    if (zero_point->shape != scale.shape && !(zp_count == 1 && scale_count == 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": ", zp_name, " has shape ", ShapeString(zero_point->shape), " but ", scale_name,
          " has shape ", ShapeString(scale.shape), "; they must have the same shape"));
    }
  }
  QuantLayout l;
  l.count = NumElements(x);
  if (scale_count == 1) return l;  // per tensor, whatever the rank
  const int64_t rank = static_cast<int64_t>(x.size());
  auto axis = NormalizeAxis(axis_attr, rank);
  if (!axis.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": axis ", axis_attr,
                                                   " is out of range for x of shape ",
                                                   ShapeString(x), " (", scale_name, " has shape ",
                                                   ShapeString(scale.shape), ")"));
  }
  const size_t a = static_cast<size_t>(*axis);
  l.dim = x[a];
  for (size_t i = 0; i < a; ++i) l.outer *= x[i];
  for (size_t i = a + 1; i < x.size(); ++i) l.inner *= x[i];
  if (block == 0) {
    if (scale.shape.size() != 1 || scale.shape[0] != l.dim) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": ", scale_name, " has shape ", ShapeString(scale.shape),
          ", expected a scalar (per tensor) or [", l.dim, "] (per axis: axis ", *axis,
          " of x ", ShapeString(x), "); blocked quantization needs block_size"));
    }
    l.kind = Granularity::kAxis;
    return l;
  }
  Dims expected = x;
  expected[a] = (l.dim + block - 1) / block;
  if (scale.shape != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": ", scale_name, " has shape ", ShapeString(scale.shape),
                     ", expected ", ShapeString(expected), " for blocked quantization of x ",
                     ShapeString(x), " along axis ", *axis, " with block_size ", block));
  }
  l.kind = Granularity::kBlocked;
  l.block = block;
  l.scale_dim = expected[a];
  return l;
}

// Calls f(i, len, param, per_element) for maximal runs [i, i + len) of
// elements of [begin, end) whose scale / zero point entries are `param`
// (per_element false) or param, param + 1, ... (per_element true).
template <typename F>
void ForEachSegment(const QuantLayout& l, int64_t begin, int64_t end, const F& f) {
  if (l.kind == Granularity::kTensor) {
    if (end > begin) f(begin, end - begin, int64_t{0}, false);
    return;
  }
  if (l.kind == Granularity::kAxis && l.inner == 1) {
    // The axis is innermost: consecutive elements use consecutive entries.
    for (int64_t i = begin; i < end;) {
      const int64_t a = i % l.dim;
      const int64_t len = std::min(l.dim - a, end - i);
      f(i, len, a, true);
      i += len;
    }
    return;
  }
  for (int64_t i = begin; i < end;) {
    const int64_t row = i / l.inner;
    const int64_t j = i % l.inner;
    const int64_t len = std::min(l.inner - j, end - i);
    const int64_t a = row % l.dim;
    if (l.kind == Granularity::kAxis) {
      f(i, len, a, false);
    } else {
      const int64_t o = row / l.dim;
      f(i, len, (o * l.scale_dim + a / l.block) * l.inner + j, true);
    }
    i += len;
  }
}

// Runs body(begin, end) over [0, count) in chunks of kChunk elements, spread
// over the threads when there are several chunks.
template <typename F>
void ParallelChunks(const RunContext& ctx, int64_t count, const F& body) {
  const int64_t chunks = (count + kChunk - 1) / kChunk;
  if (chunks <= 1) {
    if (count > 0) body(int64_t{0}, count);
    return;
  }
  ParallelFor(ctx, chunks, [&](int64_t c0, int64_t c1, int) {
    body(c0 * kChunk, std::min(count, c1 * kChunk));
  });
}

// ---------------------------------------------------------------------------
// QuantizeLinear

absl::StatusOr<QuantParams> ParseQuantize(const Attributes& attrs,
                                          std::span<const TensorInfo> inputs) {
  const std::string op = "QuantizeLinear";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 3, op));
  const TensorInfo& x = inputs[0];
  const TensorInfo& scale = inputs[1];
  const TensorInfo* zp = inputs.size() > 2 && inputs[2].present ? &inputs[2] : nullptr;
  if (x.dtype != DataType::kFloat32) {
    if (IsFloat16Like(x.dtype) || x.dtype == DataType::kInt32) {
      return absl::UnimplementedError(absl::StrCat(
          op, ": x of type ", DataTypeName(x.dtype), " is not supported (float32 only)"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": x must be float32, got ", DataTypeName(x.dtype)));
  }
  ENGINE_RETURN_IF_ERROR(CheckScale(op, "y_scale", scale));
  ENGINE_ASSIGN_OR_RETURN(int64_t output_dtype, attrs.GetInt("output_dtype", 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t precision, attrs.GetInt("precision", 0));
  if (precision != 0 && precision != static_cast<int64_t>(DataType::kFloat32)) {
    return absl::UnimplementedError(absl::StrCat(op, ": precision ", DtypeCode(precision),
                                                 " is not supported (float32 only)"));
  }
  QuantParams p;
  p.x_dtype = x.dtype;
  p.shape = x.shape;
  p.has_zero_point = zp != nullptr;
  if (zp != nullptr) {
    if (output_dtype != 0 && output_dtype != static_cast<int64_t>(zp->dtype)) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": output_dtype ", DtypeCode(output_dtype),
                                                     " differs from y_zero_point's type ",
                                                     DataTypeName(zp->dtype)));
    }
    p.y_dtype = zp->dtype;
  } else {
    p.y_dtype = output_dtype == 0 ? DataType::kUint8 : static_cast<DataType>(output_dtype);
  }
  if (p.y_dtype != DataType::kInt8 && p.y_dtype != DataType::kUint8) {
    return absl::UnimplementedError(
        absl::StrCat(op, ": quantized type ", DtypeCode(static_cast<int64_t>(p.y_dtype)),
                     zp != nullptr ? " (of y_zero_point)" : " (output_dtype)",
                     " is not supported (int8 and uint8 only)"));
  }
  ENGINE_ASSIGN_OR_RETURN(p.layout,
                          ParseLayout(op, attrs, x.shape, scale, zp, "y_scale", "y_zero_point"));
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferQuantize(const Attributes& attrs,
                                                      std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(QuantParams p, ParseQuantize(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(p.y_dtype, p.shape)};
}

class QuantizeKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseQuantize(attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(p_.y_dtype, p_.shape)}, "QuantizeLinear");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    if (p_.y_dtype == DataType::kInt8) {
      RunTyped<int8_t>(ctx, in, out);
    } else {
      RunTyped<uint8_t>(ctx, in, out);
    }
  }

 private:
  template <typename Q>
  void RunTyped(const RunContext& ctx, std::span<const void* const> in,
                std::span<void* const> out) const {
    const float* x = static_cast<const float*>(in[0]);
    const float* scale = static_cast<const float*>(in[1]);
    const Q* zp = p_.has_zero_point ? static_cast<const Q*>(in[2]) : nullptr;
    Q* y = static_cast<Q*>(out[0]);
    ParallelChunks(ctx, p_.layout.count, [&](int64_t begin, int64_t end) {
      ForEachSegment(p_.layout, begin, end,
                     [&](int64_t i, int64_t len, int64_t param, bool per_element) {
                       if (!per_element) {
                         QuantizeLinearArray<Q>(x + i, len, scale[param],
                                                zp != nullptr ? zp[param] : 0, y + i);
                         return;
                       }
                       for (int64_t t = 0; t < len; ++t) {
                         QuantizeLinearArray<Q>(x + i + t, 1, scale[param + t],
                                                zp != nullptr ? zp[param + t] : 0, y + i + t);
                       }
                     });
    });
  }

  QuantParams p_;
};

// ---------------------------------------------------------------------------
// DequantizeLinear

absl::StatusOr<QuantParams> ParseDequantize(const Attributes& attrs,
                                            std::span<const TensorInfo> inputs) {
  const std::string op = "DequantizeLinear";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 3, op));
  const TensorInfo& x = inputs[0];
  const TensorInfo& scale = inputs[1];
  const TensorInfo* zp = inputs.size() > 2 && inputs[2].present ? &inputs[2] : nullptr;
  if (x.dtype != DataType::kInt8 && x.dtype != DataType::kUint8 && x.dtype != DataType::kInt32) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": x must be int8, uint8 or int32, got ", DataTypeName(x.dtype)));
  }
  if (zp != nullptr && zp->dtype != x.dtype) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": x_zero_point is ",
                                                   DataTypeName(zp->dtype), " but x is ",
                                                   DataTypeName(x.dtype)));
  }
  ENGINE_RETURN_IF_ERROR(CheckScale(op, "x_scale", scale));
  ENGINE_ASSIGN_OR_RETURN(int64_t output_dtype, attrs.GetInt("output_dtype", 0));
  if (output_dtype != 0 && output_dtype != static_cast<int64_t>(DataType::kFloat32)) {
    const bool half = IsFloat16Like(static_cast<DataType>(output_dtype));
    const std::string msg = absl::StrCat(op, ": output_dtype ", DtypeCode(output_dtype),
                                         half ? " is not supported (float32 only)"
                                              : " is not a float type");
    return half ? absl::UnimplementedError(msg) : absl::InvalidArgumentError(msg);
  }
  QuantParams p;
  p.x_dtype = x.dtype;
  p.y_dtype = DataType::kFloat32;
  p.shape = x.shape;
  p.has_zero_point = zp != nullptr;
  ENGINE_ASSIGN_OR_RETURN(p.layout,
                          ParseLayout(op, attrs, x.shape, scale, zp, "x_scale", "x_zero_point"));
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferDequantize(const Attributes& attrs,
                                                        std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(QuantParams p, ParseDequantize(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(p.y_dtype, p.shape)};
}

class DequantizeKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseDequantize(attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(p_.y_dtype, p_.shape)}, "DequantizeLinear");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    switch (p_.x_dtype) {
      case DataType::kInt8: RunTyped<int8_t>(ctx, in, out); break;
      case DataType::kUint8: RunTyped<uint8_t>(ctx, in, out); break;
      case DataType::kInt32: RunTyped<int32_t>(ctx, in, out); break;
      default: break;
    }
  }

 private:
  template <typename Q>
  void RunTyped(const RunContext& ctx, std::span<const void* const> in,
                std::span<void* const> out) const {
    const Q* x = static_cast<const Q*>(in[0]);
    const float* scale = static_cast<const float*>(in[1]);
    const Q* zp = p_.has_zero_point ? static_cast<const Q*>(in[2]) : nullptr;
    float* y = static_cast<float*>(out[0]);
    ParallelChunks(ctx, p_.layout.count, [&](int64_t begin, int64_t end) {
      ForEachSegment(p_.layout, begin, end,
                     [&](int64_t i, int64_t len, int64_t param, bool per_element) {
                       if (!per_element) {
                         DequantizeLinearArray<Q>(x + i, len, scale[param],
                                                  zp != nullptr ? zp[param] : 0, y + i);
                         return;
                       }
                       for (int64_t t = 0; t < len; ++t) {
                         DequantizeLinearArray<Q>(x + i + t, 1, scale[param + t],
                                                  zp != nullptr ? zp[param + t] : 0, y + i + t);
                       }
                     });
    });
  }

  QuantParams p_;
};

// DynamicQuantizeLinear (ONNX 11): x float32 of any shape -> y uint8 (x's
// shape), y_scale float32 [], y_zero_point uint8 [], per the spec's
// formula over the whole tensor:
//   x_min = min(0, min(x)), x_max = max(0, max(x)) (NaN elements skipped)
//   y_scale = (x_max - x_min) / 255 (float32; 0 when x_max == x_min)
//   y_zero_point = saturate(round(0 - x_min / y_scale)) to [0, 255]
//   y = saturate(round(x / y_scale) + y_zero_point) to [0, 255]
// round is half to even (std::nearbyint in the default rounding mode), as
// the spec and its reference. With y_scale 0 (all-zero x) y and the zero
// point are 0. Serial: two passes over x.
absl::StatusOr<std::vector<TensorInfo>> InferDynamicQuantize(const Attributes&,
                                                             std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "DynamicQuantizeLinear"));
  if (inputs[0].dtype != DataType::kFloat32) {
    return absl::UnimplementedError(absl::StrCat("DynamicQuantizeLinear: x must be float32, got ",
                                                 DataTypeName(inputs[0].dtype)));
  }
  return std::vector<TensorInfo>{MakeInfo(DataType::kUint8, inputs[0].shape),
                                 MakeInfo(DataType::kFloat32, {}),
                                 MakeInfo(DataType::kUint8, {})};
}

class DynamicQuantizeKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferDynamicQuantize(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "DynamicQuantizeLinear"));
    n_ = NumElements(inputs[0].shape);
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    uint8_t* y = static_cast<uint8_t*>(out[0]);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n_; ++i) {
      if (x[i] < lo) lo = x[i];
      if (x[i] > hi) hi = x[i];
    }
    const float scale = (hi - lo) / 255.0f;
    auto saturate = [](float v) -> uint8_t {
      if (!(v > 0.0f)) return 0;  // NaN too
      return v >= 255.0f ? uint8_t{255} : static_cast<uint8_t>(v);
    };
    uint8_t zp = 0;
    if (scale > 0.0f) zp = saturate(std::nearbyint(0.0f - lo / scale));
    for (int64_t i = 0; i < n_; ++i) {
      y[i] = scale > 0.0f ? saturate(std::nearbyint(x[i] / scale) + static_cast<float>(zp)) : 0;
    }
    *static_cast<float*>(out[1]) = scale;
    *static_cast<uint8_t*>(out[2]) = zp;
  }

 private:
  int64_t n_ = 0;
};

}  // namespace

KernelDef MakeDynamicQuantizeLinearDef() {
  return MakeDef<DynamicQuantizeKernel>("DynamicQuantizeLinear", InferDynamicQuantize);
}

KernelDef MakeQuantizeLinearDef() {
  return MakeDef<QuantizeKernel>("QuantizeLinear", InferQuantize);
}

KernelDef MakeDequantizeLinearDef() {
  return MakeDef<DequantizeKernel>("DequantizeLinear", InferDequantize);
}

}  // namespace engine::kernels
