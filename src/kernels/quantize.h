// Linear (affine) quantization of float32 to 8-bit integers and back, with
// ONNX QuantizeLinear / DequantizeLinear semantics (Operators.md, opset 10+):
//
//   quantize:   q = saturate(round_half_even(x / scale) + zero_point)
//   dequantize: x' = (q - zero_point) * scale
//
// saturate() clamps to the range of the integer type ([-128, 127] for int8,
// [0, 255] for uint8). x / scale is a float32 division (not a multiplication
// by 1 / scale, which rounds differently), as in the ONNX reference
// implementation; rounding uses the current floating-point rounding mode,
// which the engine never changes from the default round-to-nearest-even.
// A NaN quantizes to the lowest value of the type (as ONNX Runtime's MLAS and
// numpy's reference on x86); +-inf saturate.
//
// These loops are the one implementation of the formulas: the
// QuantizeLinear / DequantizeLinear kernels (quantize.cc) and the INT8
// engine's precision boundaries call them. They vectorize (AVX2 / AVX-512
// with -O3 -march=native) and are elementwise, so any split of an array over
// threads gives the same bits.
#ifndef ENGINE_KERNELS_QUANTIZE_H_
#define ENGINE_KERNELS_QUANTIZE_H_

#include <cmath>
#include <cstdint>
#include <limits>

namespace engine::kernels {

/// Rounds `x` to the nearest integer, ties to even (numpy.rint, ONNX's
/// QuantizeLinear rounding): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0,
/// -1.5 -> -2. Values outside the int32 range saturate; NaN gives 0.
inline int32_t RoundHalfEven(float x) {
  const float r = std::nearbyint(x);
  if (r >= 2147483648.0f) return std::numeric_limits<int32_t>::max();
  if (r > -2147483648.0f) return static_cast<int32_t>(r);
  return r != r ? 0 : std::numeric_limits<int32_t>::min();
}

/// y[i] = saturate(round_half_even(x[i] / scale) + zero_point) for i < n, Q
/// int8_t or uint8_t. `zero_point` should be in Q's range (ONNX stores it as a
/// Q); any int32 value is handled consistently.
template <typename Q>
inline void QuantizeLinearArray(const float* __restrict x, int64_t n, float scale,
                                int32_t zero_point, Q* __restrict y) {
  // saturate(round(v) + zp) == round(clamp(v, qmin - zp, qmax - zp)) + zp,
  // since the bounds are integers and rounding is monotonic; clamping first
  // keeps the float -> int conversion in range (and maps NaN to qmin).
  const float lo = static_cast<float>(std::numeric_limits<Q>::min()) - static_cast<float>(zero_point);
  const float hi = static_cast<float>(std::numeric_limits<Q>::max()) - static_cast<float>(zero_point);
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    y[i] = static_cast<Q>(static_cast<int32_t>(std::nearbyint(v)) + zero_point);
  }
}

/// y[i] = (float(x[i]) - float(zero_point)) * scale for i < n (exact
/// subtraction for 8-bit Q; Q may also be int32_t, as ONNX allows).
template <typename Q>
inline void DequantizeLinearArray(const Q* __restrict x, int64_t n, float scale,
                                  int32_t zero_point, float* __restrict y) {
  const float zp = static_cast<float>(zero_point);
  for (int64_t i = 0; i < n; ++i) y[i] = (static_cast<float>(x[i]) - zp) * scale;
}

/// float32 -> int8, per-tensor: y = saturate(round_half_even(x / scale) +
/// zero_point) to [-128, 127].
inline void QuantizeInt8(const float* x, int64_t n, float scale, int32_t zero_point, int8_t* y) {
  QuantizeLinearArray<int8_t>(x, n, scale, zero_point, y);
}

/// int8 -> float32, per-tensor: y = (x - zero_point) * scale.
inline void DequantizeInt8(const int8_t* x, int64_t n, float scale, int32_t zero_point, float* y) {
  DequantizeLinearArray<int8_t>(x, n, scale, zero_point, y);
}

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_QUANTIZE_H_
