// The accelerator's FP16 / BF16 arithmetic: the one definition that the host
// emulation (kernels/reduced_precision.h, the Conv and Gemm kernels), the
// builder's fp16 phase and the tests share, so that host results are
// bit-exact to what the modeled accelerator computes (as requant.h is for
// INT8).
//
// Storage formats (2 bytes per element in the plan, in DRAM and in SRAM):
//   fp16: IEEE 754-2008 binary16 (1 sign, 5 exponent, 10 fraction bits);
//   bf16: bfloat16 (1 sign, 8 exponent, 7 fraction bits: the top half of a
//         float32).
//
// A layer that runs in fp16 or bf16 ("precision" attribute, kPrecisionAttr):
//   1. reads operands in the storage type: weights (and Conv/Gemm biases) are
//      stored as fp16/bf16 constants in the plan; activations are rounded to
//      the storage type at every layer boundary (RoundToStorage on each
//      float32 input it reads, which is the identity on values that another
//      fp16/bf16 layer produced);
//   2. computes in FP32: each product of two storage values is EXACT in FP32
//      (fp16: 11 x 11 = 22 significant bits <= 24; bf16: 8 x 8 = 16 bits; the
//      exponent range of float32 holds every product of two fp16 values and
//      every product of two bf16 values except those that overflow or fall
//      below 2^-149, which FP32 rounds as IEEE 754 says), so a multiply-add
//      acc + a*b has exactly one rounding, the FP32 add (a fused
//      multiply-add gives the same bits: MacAccumulate);
//   3. accumulates in FP32 in THE ACCUMULATION ORDER below, applies the
//      epilogue (bias, residual, activation) in FP32, and rounds the result to
//      the storage type once, when it is stored.
//
// Accumulation order of an array layer (Conv, Gemm) on the modeled
// accelerator: each output element y[m, p] has one FP32 accumulator that
// starts at +0 and receives the K products in increasing k, one FP32 add per
// product: for Conv k runs over (input channel of the group, kernel row,
// kernel column) in the weight's OIHW order, padded input positions
// contributing +0 * w; for Gemm k runs over A's columns. Across the K tiles of
// a tiled layer the running sum enters the next tile's column of PEs (the
// partial-sum chain is not restarted per tile), so the order does not depend
// on the tiling, the dataflow or the array size. Then
//   Conv: y = act(acc + bias [+ residual]);
//   Gemm: y = act(alpha * acc + beta * C)   (alpha = 1: acc + beta * C)
// each operation one FP32 rounding, then y is rounded to the storage type.
// The host kernels follow this order exactly for Conv with one group or
// depthwise (one input channel per group) and for 2-D Gemm (OrderedGemm);
// a grouped Conv with several input channels per group and MatMul use the
// host's blocked FP32 GEMM, whose summation order differs: those layers are
// exact only up to FP32 reassociation of the accumulation.
//
// Vector layers (Relu, pooling, Add, Concat, Softmax, ...) in fp16/bf16 read
// storage values, compute in FP32 as their FP32 kernels do and round each
// output element to the storage type: bit-exact wherever the FP32 kernel's
// result is a function of the element's inputs alone (elementwise, max
// pooling, Concat); reductions (average pooling, Softmax) sum in the host
// kernel's order.
//
// Conversion rules (float32 -> storage, FloatToHalf / FloatToBFloat16 of
// half.h; tested against numpy.float16 and a bit-level bfloat16 reference):
//   - rounding: to nearest, ties to even (IEEE 754 roundTiesToEven);
//   - overflow: fp16: |x| >= 65520 (the midpoint above the largest finite
//     half 65504) becomes +-infinity; bf16: values that round above
//     3.3895e38 become +-infinity; infinities stay infinities;
//   - subnormals: kept (gradual underflow, no flush to zero): fp16 results
//     below 2^-14 become binary16 subnormals (multiples of 2^-24, values
//     below 2^-25 round to +-0, 2^-25 itself ties to +0); bf16 keeps
//     float32's subnormals rounded to 7 fraction bits; the sign of zero is
//     kept;
//   - NaN: stays NaN, made quiet (fp16: 0x7e00 | top payload bits; bf16: the
//     top 16 bits with the quiet bit set); never becomes infinity.
// Storage -> float32 is exact for every value (HalfToFloat / BFloat16ToFloat).
#ifndef ENGINE_COMMON_REDUCED_FLOAT_H_
#define ENGINE_COMMON_REDUCED_FLOAT_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif

#include "common/half.h"

namespace engine {

/// A 2-byte float storage format (the builder maps it to and from the
/// public Precision::kFp16 / kBf16; common does not depend on hw).
enum class FloatStorage : uint8_t { kFp16 = 0, kBf16 = 1 };

/// Name of the layer attribute (a string, "fp16" or "bf16") that makes a
/// float32 layer run in that storage precision. Set by the builder's fp16
/// phase; read by the plan reader, the graph runner and the cost model.
inline constexpr const char* kPrecisionAttr = "precision";

/// The storage format named by a kPrecisionAttr value: kFp16 for "fp16",
/// kBf16 for "bf16", nullopt for anything else.
inline std::optional<FloatStorage> StoragePrecision(std::string_view name) {
  if (name == "fp16") return FloatStorage::kFp16;
  if (name == "bf16") return FloatStorage::kBf16;
  return std::nullopt;
}

/// float32 -> storage bits (fp16 or bf16) with the conversion rules above.
inline uint16_t EncodeStorage(float x, FloatStorage p) {
  return p == FloatStorage::kBf16 ? FloatToBFloat16(x) : FloatToHalf(x);
}

/// Storage bits -> float32, exact.
inline float DecodeStorage(uint16_t bits, FloatStorage p) {
  return p == FloatStorage::kBf16 ? BFloat16ToFloat(bits) : HalfToFloat(bits);
}

/// x rounded to the nearest storage value of `p`, as float32.
inline float RoundToStorage(float x, FloatStorage p) {
  if (p == FloatStorage::kFp16) return HalfToFloat(FloatToHalf(x));
  return BFloat16ToFloat(FloatToBFloat16(x));
}

/// Rounds `n` float32 values from `src` into `dst` (RoundToStorage; `dst`
/// may equal `src`). Same bits as the scalar form: fp16 with the F16C
/// conversion instructions when the build has them (IEEE 754 roundTiesToEven
/// with gradual underflow, as FloatToHalf; NaNs stay NaN), bf16 with the
/// integer form of FloatToBFloat16 (add 0x7fff plus the lowest kept bit,
/// truncate; NaN made quiet).
inline void RoundToStorage(const float* src, float* dst, int64_t n, FloatStorage p) {
  if (p == FloatStorage::kFp16) {
    int64_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
    for (; i + 8 <= n; i += 8) {
      const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
#endif
    for (; i < n; ++i) dst[i] = HalfToFloat(FloatToHalf(src[i]));
  } else {
    for (int64_t i = 0; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, src + i, 4);
      const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
      const uint32_t r = nan ? ((u >> 16) | 0x40u) << 16 : ((u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u);
      std::memcpy(dst + i, &r, 4);
    }
  }
}

/// Rounds `n` float32 values in place (RoundToStorage).
inline void RoundToStorage(float* x, int64_t n, FloatStorage p) { RoundToStorage(x, x, n, p); }

/// One multiply-accumulate of the array: acc + a * b with a and b storage
/// values, one FP32 rounding (the product is exact, see step 2 above).
inline float MacAccumulate(float acc, float a, float b) { return std::fma(a, b, acc); }

/// The accelerator's Gemm accumulation (order above) for storage-valued
/// operands held as float32: acc[i, j] = sum over k = 0..K-1 in order of
/// A'[i, k] * B'[k, j], starting at +0, one FP32 rounding per add. Row-major
/// A [M, K] (or [K, M] when trans_a) with leading dimension lda, B [K, N] (or
/// [N, K] when trans_b) with ldb; writes acc into C [M, N] (ldc). Rows of C
/// are independent, so callers may split rows over threads.
inline void OrderedGemm(bool trans_a, bool trans_b, int64_t m0, int64_t m1, int64_t n,
                        int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                        float* c, int64_t ldc) {
  for (int64_t i = m0; i < m1; ++i) {
    float* ci = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) ci[j] = 0.0f;
    for (int64_t kk = 0; kk < k; ++kk) {
      const float av = trans_a ? a[kk * lda + i] : a[i * lda + kk];
      if (trans_b) {
        for (int64_t j = 0; j < n; ++j) ci[j] = MacAccumulate(ci[j], av, b[j * ldb + kk]);
      } else {
        const float* bk = b + kk * ldb;
        for (int64_t j = 0; j < n; ++j) ci[j] = MacAccumulate(ci[j], av, bk[j]);
      }
    }
  }
}

}  // namespace engine

#endif  // ENGINE_COMMON_REDUCED_FLOAT_H_
