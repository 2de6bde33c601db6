// The accelerator's integer arithmetic for INT8 layers: the one definition
// that the host kernels, the builder's quantization pass and the tests share,
// so that host results are bit-exact to what the modeled accelerator
// computes.
//
// Number format (symmetric, zero point 0 everywhere):
//   real value  r = scale * q,  q an int8 in [-128, 127] (activations) or
//   [-127, 127] (weights, so that -q never overflows).
//   Activations: one scale per tensor; weights: one scale per output channel.
//   Bias: int32, q_b = round(b / (x_scale * w_scale[c])).
//
// A layer computes acc = sum(q_x * q_w) + q_b in int32 (exact: |acc| stays
// far below 2^31 for K <= 2^17), then requantizes to the output scale:
//   q_y = clamp(Requantize(acc, M0[c], shift[c]) [+ Requantize(q_res, M0_r, shift_r)], lo, hi)
// where the real multiplier x_scale * w_scale[c] / y_scale = M0 * 2^-shift
// with M0 a Q31 fixed-point value in [2^30, 2^31), and [lo, hi] is [-128, 127]
// narrowed by a fused Relu (lo = 0) or Clip (quantized bounds).
//
// Requantize is TFLite's MultiplyByQuantizedMultiplier in its single-rounding
// form (tensorflow/lite/kernels/internal/common.h, TFLITE_SINGLE_ROUNDING): one
// 64-bit product, one rounding shift that rounds half toward +infinity. It is
// also what Gemmini's and most NPUs' accumulator scalers do in hardware: a
// 32x32-bit multiplier and a rounding barrel shifter.
//
// Explicitly quantized (QDQ) models and ONNX Runtime. The engine's float ->
// int8 Quantize layer rounds half to even as ONNX QuantizeLinear does, but an
// INT8 layer's requantization is this Q31 integer form for QDQ models too,
// so it is NOT bit-exact to ONNX Runtime, for two reasons
// (tests/common/requant_test.cc measures both):
//  1. ties: Q31 rounds an exact half up, ONNX Runtime to even. Exact ties
//     need a dyadic multiplier (x_scale * w_scale / y_scale a short binary
//     fraction, e.g. power-of-two scales): with 0.5, every odd accumulator
//     is a tie and half of them differ by one step;
//  2. the multiplier: ONNX Runtime's kernels (MLAS MlasRequantizeOutput)
//     compute round_half_even(float32(acc) * float32(scale)), two float32
//     roundings and a float32 multiplier, where Q31 rounds the exact
//     product acc * M0 * 2^-shift once. With typical scales there are no
//     exact ties, yet about 1 accumulator in 300,000 lands one step apart.
// Ties to even would remove (1) only; bit-exactness needs the float32
// formula of (2), which the modeled accelerator's integer scaler does not
// compute. Differences are at most one int8 step per requantization.
#ifndef ENGINE_COMMON_REQUANT_H_
#define ENGINE_COMMON_REQUANT_H_

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace engine {

/// A real multiplier m in (0, 2^30) as M0 * 2^-shift: M0 in [2^30, 2^31),
/// shift in [1, 62]. m == 0 (or one too small to represent) gives M0 = 0,
/// shift = 1 (the product is 0).
struct QuantizedMultiplier {
  int32_t multiplier = 0;
  int32_t shift = 1;
};

/// Decomposes `real` (>= 0, < 2^30) into a QuantizedMultiplier with
/// |M0 * 2^-shift - real| <= 2^-shift / 2 (M0 rounded to nearest, ties away
/// from zero, as TFLite's QuantizeMultiplier). Multipliers below 2^-31 become
/// 0; negative or non-finite ones are a programming error (callers validate).
inline QuantizedMultiplier QuantizeMultiplier(double real) {
  QuantizedMultiplier q;
  if (!(real > 0.0) || !std::isfinite(real)) return q;
  int exponent = 0;
  const double fraction = std::frexp(real, &exponent);  // real = fraction * 2^exponent, fraction in [0.5, 1)
  int64_t m0 = static_cast<int64_t>(std::llround(fraction * static_cast<double>(int64_t{1} << 31)));
  if (m0 == (int64_t{1} << 31)) {  // rounding carried into the next power of two
    m0 /= 2;
    ++exponent;
  }
  int shift = 31 - exponent;
  if (shift > 62) {  // below 2^-31: shift M0 right, it may round to 0
    const int extra = shift - 62;
    m0 = extra >= 31 ? 0 : (m0 + (int64_t{1} << (extra - 1))) >> extra;
    shift = 62;
    if (m0 == 0) return q;
  }
  if (shift < 1) shift = 1;  // real >= 2^30: out of the documented range
  q.multiplier = static_cast<int32_t>(m0);
  q.shift = shift;
  return q;
}

/// round(acc * M0 * 2^-shift) with ties toward +infinity, in 64-bit integer
/// arithmetic (never overflows for any int32 acc and M0 < 2^31, shift in
/// [1, 62]). The result is not clamped.
inline int64_t Requantize(int32_t acc, int32_t multiplier, int32_t shift) {
  const int64_t prod = static_cast<int64_t>(acc) * multiplier;
  return (prod + (int64_t{1} << (shift - 1))) >> shift;
}

/// Requantize, then clamp to [lo, hi] (lo <= hi within [-128, 127]).
inline int8_t RequantizeToInt8(int32_t acc, int32_t multiplier, int32_t shift, int32_t lo,
                               int32_t hi) {
  const int64_t v = Requantize(acc, multiplier, shift);
  return static_cast<int8_t>(std::clamp<int64_t>(v, lo, hi));
}

/// Weight quantization: q = clamp(round_half_even(w / scale), -127, 127).
/// `scale` > 0.
inline int8_t QuantizeWeight(float w, float scale) {
  const float v = std::nearbyint(w / scale);  // default rounding mode: half to even
  return static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
}

/// Bias quantization: q = round_half_even(b / (x_scale * w_scale)), saturated
/// to int32.
inline int32_t QuantizeBias(float b, double x_scale, double w_scale) {
  const double v = std::nearbyint(static_cast<double>(b) / (x_scale * w_scale));
  return static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
}

}  // namespace engine

#endif  // ENGINE_COMMON_REQUANT_H_
