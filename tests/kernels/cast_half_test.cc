// Cast between float32 and float16 / bfloat16 (the boundaries of float16 and
// bfloat16 models computed in float32): round to nearest even, NaN and
// infinities kept, overflow to infinity. Expected bit patterns are those of
// numpy (np.float16) and of the ONNX reference's bfloat16 rounding
// (onnx.numpy_helper / helper.float32_to_bfloat16 with truncate=False),
// written out by hand.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/tensor.h"
#include "kernels/kernel_test_util.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::kernels::testing::Eval1;
using engine::testing::MakeFloat;

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

float FromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

Attributes To(DataType t) {
  Attributes a;
  a.Set("to", static_cast<int64_t>(t));
  return a;
}

std::vector<uint16_t> Halves(const Tensor& t) {
  std::vector<uint16_t> v(t.num_elements());
  std::memcpy(v.data(), t.data(), v.size() * 2);
  return v;
}

TEST_CASE("Cast float32 -> bfloat16 rounds to nearest even", "[kernels][cast]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor x = MakeFloat({8}, {1.0f,
                                   FromBits(0x3f808000u),  // halfway, even below: 1.0
                                   FromBits(0x3f818000u),  // halfway, odd below: up
                                   FromBits(0x3f808001u),  // above halfway: up
                                   -2.5f, inf, nan,
                                   FromBits(0x7f7fffffu)});  // FLT_MAX rounds to inf
  const Tensor y = Eval1("Cast", To(DataType::kBFloat16), {&x});
  REQUIRE(y.dtype() == DataType::kBFloat16);
  const std::vector<uint16_t> h = Halves(y);
  CHECK(h[0] == 0x3f80);
  CHECK(h[1] == 0x3f80);
  CHECK(h[2] == 0x3f82);
  CHECK(h[3] == 0x3f81);
  CHECK(h[4] == 0xc020);
  CHECK(h[5] == 0x7f80);
  CHECK(((h[6] & 0x7f80) == 0x7f80 && (h[6] & 0x7f) != 0));  // a NaN
  CHECK(h[7] == 0x7f80);
}

TEST_CASE("Cast bfloat16 / float16 -> float32 is exact, and round-trips", "[kernels][cast]") {
  Tensor b(DataType::kBFloat16, {4});
  const uint16_t bv[] = {0x3f80, 0xc020, 0x7f80, 0x0001};  // 1, -2.5, inf, smallest subnormal
  std::memcpy(b.data(), bv, sizeof(bv));
  const Tensor f = Eval1("Cast", To(DataType::kFloat32), {&b});
  CHECK(f.data_as<float>()[0] == 1.0f);
  CHECK(f.data_as<float>()[1] == -2.5f);
  CHECK(std::isinf(f.data_as<float>()[2]));
  CHECK(Bits(f.data_as<float>()[3]) == 0x00010000u);
  const Tensor back = Eval1("Cast", To(DataType::kBFloat16), {&f});
  CHECK(Halves(back) == std::vector<uint16_t>(bv, bv + 4));

  Tensor h(DataType::kFloat16, {3});
  const uint16_t hv[] = {0x3c00, 0x0001, 0xfc00};  // 1, 2^-24, -inf
  std::memcpy(h.data(), hv, sizeof(hv));
  const Tensor hf = Eval1("Cast", To(DataType::kFloat32), {&h});
  CHECK(hf.data_as<float>()[1] == std::ldexp(1.0f, -24));
  CHECK(Halves(Eval1("Cast", To(DataType::kFloat16), {&hf})) == std::vector<uint16_t>(hv, hv + 3));
}

TEST_CASE("Cast float32 -> float16 rounds to nearest even and overflows to inf",
          "[kernels][cast]") {
  const Tensor x = MakeFloat({4}, {1.0f + std::ldexp(1.0f, -11),       // halfway: even, 1.0
                                   1.0f + 3 * std::ldexp(1.0f, -11),   // halfway: odd, up
                                   65520.0f,                           // rounds to inf
                                   65519.0f});                         // 65504 (max half)
  const std::vector<uint16_t> h = Halves(Eval1("Cast", To(DataType::kFloat16), {&x}));
  CHECK(h[0] == 0x3c00);
  CHECK(h[1] == 0x3c02);
  CHECK(h[2] == 0x7c00);
  CHECK(h[3] == 0x7bff);
}

}  // namespace
}  // namespace engine::kernels
