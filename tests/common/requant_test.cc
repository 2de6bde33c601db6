// The accelerator's requantization arithmetic (src/common/requant.h) against
// exact rational references: multiplier decomposition, rounding ties,
// saturation and extreme accumulators.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

#include "common/requant.h"

namespace engine {
namespace {

// round(acc * m / 2^s), ties toward +infinity, with 128-bit integers.
int64_t ReferenceRequantize(int32_t acc, int32_t m, int32_t s) {
  const __int128 prod = static_cast<__int128>(acc) * m;
  const __int128 denom = static_cast<__int128>(1) << s;
  // floor((prod + denom/2) / denom)
  __int128 num = prod + denom / 2;
  __int128 q = num / denom;
  if ((num % denom != 0) && (num < 0)) --q;
  return static_cast<int64_t>(q);
}

TEST_CASE("QuantizeMultiplier represents the real multiplier within half an ulp", "[requant]") {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> exponent(-30, 29);
  for (int i = 0; i < 2000; ++i) {
    const double real = std::pow(2.0, exponent(rng));
    const QuantizedMultiplier q = QuantizeMultiplier(real);
    REQUIRE(q.multiplier >= (1 << 30));
    REQUIRE(q.shift >= 1);
    REQUIRE(q.shift <= 62);
    const double represented = std::ldexp(static_cast<double>(q.multiplier), -q.shift);
    CHECK(std::fabs(represented - real) <= std::ldexp(0.5, -q.shift) * (1 + 1e-12));
  }
  CHECK(QuantizeMultiplier(0.0).multiplier == 0);
  CHECK(QuantizeMultiplier(-1.0).multiplier == 0);
  CHECK(QuantizeMultiplier(NAN).multiplier == 0);
  // A multiplier just below a power of two rounds up into it: M0 stays < 2^31.
  const QuantizedMultiplier up = QuantizeMultiplier(std::nextafter(0.5, 0.0));
  CHECK(up.multiplier == (1 << 30));
  CHECK(up.shift == 31);
  // Tiny multipliers: the shift saturates at 62 and M0 shrinks, then 0.
  const QuantizedMultiplier tiny = QuantizeMultiplier(std::ldexp(1.0, -40));
  CHECK(tiny.shift == 62);
  CHECK(tiny.multiplier == (1 << 22));
  CHECK(QuantizeMultiplier(std::ldexp(1.0, -70)).multiplier == 0);
}

TEST_CASE("Requantize rounds half toward +infinity and matches exact arithmetic", "[requant]") {
  // Multiplier 0.5 exactly (M0 = 2^30, shift 31): x/2 with ties up.
  const int32_t half = 1 << 30;
  CHECK(Requantize(3, half, 31) == 2);    // 1.5 -> 2
  CHECK(Requantize(-3, half, 31) == -1);  // -1.5 -> -1 (toward +inf)
  CHECK(Requantize(5, half, 31) == 3);    // 2.5 -> 3
  CHECK(Requantize(-5, half, 31) == -2);  // -2.5 -> -2
  CHECK(Requantize(4, half, 31) == 2);
  CHECK(Requantize(0, half, 31) == 0);
  // Extreme accumulators do not overflow the 64-bit product.
  const int32_t big = INT32_MAX;
  CHECK(Requantize(INT32_MAX, big, 62) == ReferenceRequantize(INT32_MAX, big, 62));
  CHECK(Requantize(INT32_MIN, big, 31) == ReferenceRequantize(INT32_MIN, big, 31));
  CHECK(Requantize(INT32_MIN, big, 1) == ReferenceRequantize(INT32_MIN, big, 1));
  std::mt19937 rng(2);
  std::uniform_int_distribution<int32_t> acc(INT32_MIN, INT32_MAX);
  std::uniform_int_distribution<int32_t> m(1 << 30, INT32_MAX);
  std::uniform_int_distribution<int32_t> s(1, 62);
  for (int i = 0; i < 100000; ++i) {
    const int32_t a = acc(rng), mm = m(rng), ss = s(rng);
    REQUIRE(Requantize(a, mm, ss) == ReferenceRequantize(a, mm, ss));
  }
}

// round(acc * m / 2^s) with ties to even, with 128-bit integers.
int64_t ReferenceRequantizeHalfEven(int32_t acc, int32_t m, int32_t s) {
  const __int128 prod = static_cast<__int128>(acc) * m;
  const __int128 denom = static_cast<__int128>(1) << s;
  __int128 q = prod / denom, r = prod - q * denom;
  if (r < 0) {
    r += denom;
    --q;
  }
  if (2 * r > denom || (2 * r == denom && (q & 1) != 0)) ++q;
  return static_cast<int64_t>(q);
}

// ONNX Runtime's requantization of an int32 accumulator (MLAS
// MlasRequantizeOutput, used by its QLinearConv / QLinearMatMul / QDQ
// kernels): float32(acc) * float32 scale, rounded to nearest even.
int64_t OrtRequantize(int32_t acc, float scale) {
  return static_cast<int64_t>(std::nearbyintf(static_cast<float>(acc) * scale));
}

TEST_CASE("Q31 requantization vs ONNX Runtime's: ties differ, and ties to even alone is not "
          "bit-exact", "[requant]") {
  // A dyadic multiplier (0.5: power-of-two scales) makes exact ties common:
  // every odd accumulator. Q31 rounds them up, ONNX Runtime to even; the
  // ties-to-even form of the same Q31 product agrees with it everywhere.
  {
    const QuantizedMultiplier m = QuantizeMultiplier(0.5);
    CHECK(Requantize(5, m.multiplier, m.shift) == 3);   // 2.5 -> 3
    CHECK(OrtRequantize(5, 0.5f) == 2);                  // 2.5 -> 2
    CHECK(Requantize(-5, m.multiplier, m.shift) == -2);  // -2.5 -> -2
    CHECK(OrtRequantize(-5, 0.5f) == -2);
    CHECK(Requantize(-3, m.multiplier, m.shift) == -1);  // -1.5 -> -1
    CHECK(OrtRequantize(-3, 0.5f) == -2);                // -1.5 -> -2
    int64_t up_differs = 0, even_differs = 0;
    for (int32_t acc = -300000; acc <= 300000; ++acc) {
      const int64_t ort = OrtRequantize(acc, 0.5f);
      up_differs += Requantize(acc, m.multiplier, m.shift) != ort;
      even_differs += ReferenceRequantizeHalfEven(acc, m.multiplier, m.shift) != ort;
    }
    CHECK(up_differs == 150000);  // the ties of one sign in two
    CHECK(even_differs == 0);
  }
  // A multiplier from typical scales (x 0.0123, w 0.00456, y 0.0789): no
  // accumulator in +-300000 is an exact tie of the Q31 product, yet ONNX
  // Runtime's float32 product rounds differently on some: ties to even
  // alone would not make the engine bit-exact to it.
  {
    const double real = 0.0123 * 0.00456 / 0.0789;
    const QuantizedMultiplier m = QuantizeMultiplier(real);
    const float scale = 0.0123f * 0.00456f / 0.0789f;  // ORT's float32 multiplier
    int64_t ties = 0, even_differs = 0, max_step = 0;
    for (int32_t acc = -300000; acc <= 300000; ++acc) {
      const int64_t even = ReferenceRequantizeHalfEven(acc, m.multiplier, m.shift);
      ties += even != Requantize(acc, m.multiplier, m.shift);
      const int64_t d = even - OrtRequantize(acc, scale);
      even_differs += d != 0;
      max_step = std::max<int64_t>(max_step, d < 0 ? -d : d);
    }
    CHECK(ties == 0);
    CHECK(even_differs > 0);
    CHECK(max_step == 1);
  }
}

TEST_CASE("RequantizeToInt8 saturates to the clamp range", "[requant]") {
  const QuantizedMultiplier one = QuantizeMultiplier(1.0 / 16);
  CHECK(RequantizeToInt8(16 * 200, one.multiplier, one.shift, -128, 127) == 127);
  CHECK(RequantizeToInt8(-16 * 200, one.multiplier, one.shift, -128, 127) == -128);
  CHECK(RequantizeToInt8(16 * 5, one.multiplier, one.shift, 0, 127) == 5);
  CHECK(RequantizeToInt8(-16 * 5, one.multiplier, one.shift, 0, 127) == 0);  // fused Relu
  CHECK(RequantizeToInt8(16 * 100, one.multiplier, one.shift, -128, 96) == 96);  // Clip
  CHECK(RequantizeToInt8(INT32_MAX, INT32_MAX, 1, -128, 127) == 127);
  CHECK(RequantizeToInt8(INT32_MIN, INT32_MAX, 1, -128, 127) == -128);
}

TEST_CASE("Weights and biases quantize with half-to-even rounding and saturation", "[requant]") {
  CHECK(QuantizeWeight(2.5f, 1.0f) == 2);   // tie to even
  CHECK(QuantizeWeight(3.5f, 1.0f) == 4);
  CHECK(QuantizeWeight(-2.5f, 1.0f) == -2);
  CHECK(QuantizeWeight(1000.0f, 1.0f) == 127);
  CHECK(QuantizeWeight(-1000.0f, 1.0f) == -127);  // symmetric: never -128
  CHECK(QuantizeBias(1.0f, 0.5, 0.25) == 8);
  CHECK(QuantizeBias(1e30f, 1e-3, 1e-3) == INT32_MAX);
  CHECK(QuantizeBias(-1e30f, 1e-3, 1e-3) == INT32_MIN);
  // Per-channel round trip: |w - q * s| <= s / 2 for every weight of a row
  // quantized with s = max|w| / 127.
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 0.05f);
  float w[64], amax = 0;
  for (float& v : w) {
    v = d(rng);
    amax = std::max(amax, std::fabs(v));
  }
  const float s = amax / 127.0f;
  for (float v : w) {
    const int8_t q = QuantizeWeight(v, s);
    CHECK(std::fabs(v - q * s) <= s / 2 * (1 + 1e-5f));
  }
}

}  // namespace
}  // namespace engine
