// The accelerator's arithmetic between the two products of an INT8 attention
// layer (Int8Attention, kernels/attention.cc; issue 18): the vector unit's
// softmax of one row of int32 score accumulators into int8 probabilities,
// and the normalization of the P.V sums. The host kernel calls these, so
// host results are bit-exact to this definition
// (tests/kernels/int8_attention_test.cc checks the kernel against an
// independent scalar transcription of the formulas below).
//
// Number formats (symmetric, zero point 0, as common/requant.h):
//   Q, K, V int8 with one calibrated scale per tensor (s_q, s_k, s_v);
//   acc[j] = sum_d q[i, d] * k[j, d]   exact int32 (|acc| <= 2^14 * D)
//   probabilities: the UNNORMALIZED exponentials e[j] = exp(x[j] - max) in
//   (0, 1] as int8 in [0, 127] at the fixed scale 1/127 (the row's largest
//   is exactly 127); the division by the row sum is deferred to the output
//   (as FlashAttention does), so a row keeps 7 bits relative to its largest
//   weight whatever its length: with a fixed 1/127 scale on the normalized
//   probabilities, a near-uniform row over T = 197 keys (p ~ 0.005) would
//   round to 0 or 1 (measured on vit_tiny: 13.0 dB output SQNR against ONNX
//   Runtime vs 21 dB with the attention in FP32; deferred: see README).
// Row arithmetic, all in float32 (the vector unit's FP32 datapath), in this
// order, for j in [0, T):
//   x[j] = float(acc[j]) * score_scale          (score_scale = s_q * s_k * scale
//                                                rounded once to float32; the
//                                                builder folds the model's
//                                                Div / Mul by sqrt(D) into it)
//   x[j] = x[j] + mask[j]                       (when there is a mask)
//   m    = max_j x[j]
//   e[j] = expf(x[j] - m)                       (std::exp on float)
//   sum  = e[0] + e[1] + ... (left to right)
//   p[j] = int8(clamp(nearbyint(e[j] * 127.0f), 0, 127))   (round half to even;
//                                                a NaN gives 0)
//   g    = out_factor / sum                     (the row's output factor)
// then per output element, acc2 = sum_j p[j] * v[j, c] exactly in int32 and
//   float Y: y = float(acc2) * g                (out_factor = s_v / 127)
//   int8 Y:  y = int8(clamp(nearbyint(float(acc2) * g), -128, 127))
//                                               (out_factor = s_v / (127 s_y))
// with out_factor rounded once to float32 by the builder. A row whose sum is
// 0 or not finite (masked entirely with -inf) gives g = 0: Y = 0.
// Costs on the modeled vector unit: see ops/attention.cc.
#ifndef ENGINE_COMMON_INT8_SOFTMAX_H_
#define ENGINE_COMMON_INT8_SOFTMAX_H_

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace engine {

/// The fixed scale of INT8 attention exponentials: real e = q_e / 127.
inline constexpr float kProbScale = 1.0f / 127.0f;
/// The int8 value of exp(0) = 1, the row maximum.
inline constexpr int32_t kProbOne = 127;

/// One softmax row as the file comment defines it: acc [t] int32 scores,
/// mask: t floats at mask[j * mask_stride] (nullptr: none; stride 0 for a
/// broadcast scalar), work: t floats of scratch, p [t] int8 exponentials
/// out. Returns the row's output factor g = out_factor / sum (0 when sum is
/// 0 or not finite). t >= 1. Never allocates.
inline float SoftmaxRowToInt8(const int32_t* acc, const float* mask, int64_t mask_stride,
                              float score_scale, float out_factor, int64_t t, float* work,
                              int8_t* p) {
  for (int64_t j = 0; j < t; ++j) work[j] = static_cast<float>(acc[j]) * score_scale;
  if (mask != nullptr) {
    for (int64_t j = 0; j < t; ++j) work[j] = work[j] + mask[j * mask_stride];
  }
  const float mx = *std::max_element(work, work + t);
  float sum = 0.0f;
  for (int64_t j = 0; j < t; ++j) {
    work[j] = std::exp(work[j] - mx);
    sum += work[j];
  }
  for (int64_t j = 0; j < t; ++j) {
    const float v = std::nearbyint(work[j] * static_cast<float>(kProbOne));
    // NaN (a row masked entirely with -inf) gives 0, as does anything <= 0.
    p[j] = static_cast<int8_t>(v > 0.0f ? std::min(v, static_cast<float>(kProbOne)) : 0.0f);
  }
  return sum > 0.0f && std::isfinite(sum) ? out_factor / sum : 0.0f;
}

/// An int8 output element from its P.V sum and the row factor g:
/// clamp(nearbyint(float(acc) * g), -128, 127).
inline int8_t AttentionOutputToInt8(int32_t acc, float g) {
  const float v = std::nearbyint(static_cast<float>(acc) * g);
  return static_cast<int8_t>(v >= 127.0f ? 127.0f : (v > -128.0f ? v : -128.0f));
}

}  // namespace engine

#endif  // ENGINE_COMMON_INT8_SOFTMAX_H_
