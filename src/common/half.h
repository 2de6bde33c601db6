// float16 (IEEE 754 binary16) and bfloat16 conversions to and from float32:
// one definition for the parser's fp16/bf16 lowering, the Cast kernel, the
// datasets and tensor comparison.
#ifndef ENGINE_COMMON_HALF_H_
#define ENGINE_COMMON_HALF_H_

#include <cstdint>

namespace engine {

/// float32 -> binary16 bits, round to nearest even; beyond the half range
/// (|x| >= 65520) infinity; NaN stays a quiet NaN keeping the top payload
/// bits; values below 2^-14 become subnormals.
uint16_t FloatToHalf(float f);

/// binary16 bits -> float32 (exact: every half value is a float).
float HalfToFloat(uint16_t h);

/// float32 -> bfloat16 bits (the top half of the float), round to nearest
/// even; NaN stays a quiet NaN; values beyond the bfloat16 range round to
/// infinity as IEEE rounding does.
uint16_t FloatToBFloat16(float f);

/// bfloat16 bits -> float32 (exact).
float BFloat16ToFloat(uint16_t h);

}  // namespace engine

#endif  // ENGINE_COMMON_HALF_H_
