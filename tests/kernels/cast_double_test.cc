// Cast between float64 and the other types (the boundaries of float64 models
// computed in float32): float64 -> float32 rounds once to nearest even
// (static_cast<float>), NaN and infinities kept, overflow to infinity;
// float32 -> float64 is exact; float64 -> float16 rounds once (no double
// rounding through float32); float64 -> integer truncates toward zero from
// the double value. Expected values are numpy's astype, written out by hand.
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

Attributes To(DataType t) {
  Attributes a;
  a.Set("to", static_cast<int64_t>(t));
  return a;
}

Tensor MakeDouble(const std::vector<double>& v) {
  Tensor t(DataType::kFloat64, {static_cast<int64_t>(v.size())});
  std::memcpy(t.data(), v.data(), v.size() * 8);
  return t;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  std::vector<T> v(static_cast<size_t>(t.num_elements()));
  std::memcpy(v.data(), t.data(), v.size() * sizeof(T));
  return v;
}

TEST_CASE("Cast float64 -> float32 rounds to nearest even", "[kernels][cast]") {
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor x = MakeDouble({0.1,
                               1.0 + 0x1p-24,          // halfway, even below: 1
                               1.0 + 3 * 0x1p-24,      // halfway, odd below: up
                               1.0 + 0x1p-24 + 0x1p-40,  // above halfway: up
                               -1e300,                 // beyond the float range: -inf
                               inf, std::nan(""), 1e-50,  // below the smallest subnormal: 0
                               -0.0, 3.4028234663852886e38});  // FLT_MAX, exact
  const Tensor y = Eval1("Cast", To(DataType::kFloat32), {&x});
  REQUIRE(y.dtype() == DataType::kFloat32);
  const std::vector<float> f = Values<float>(y);
  CHECK(f[0] == 0.1f);
  CHECK(f[1] == 1.0f);
  CHECK(f[2] == 1.0f + 0x1p-22f);
  CHECK(f[3] == 1.0f + 0x1p-23f);
  CHECK((std::isinf(f[4]) && f[4] < 0));
  CHECK((std::isinf(f[5]) && f[5] > 0));
  CHECK(std::isnan(f[6]));
  CHECK(f[7] == 0.0f);
  CHECK((f[8] == 0.0f && std::signbit(f[8])));
  CHECK(f[9] == std::numeric_limits<float>::max());
}

TEST_CASE("Cast float32 -> float64 is exact", "[kernels][cast]") {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> in = {0.1f, -inf, std::numeric_limits<float>::quiet_NaN(),
                                 std::numeric_limits<float>::denorm_min(),
                                 std::numeric_limits<float>::max(), -2.5f};
  const Tensor x = MakeFloat({6}, in);
  const Tensor y = Eval1("Cast", To(DataType::kFloat64), {&x});
  REQUIRE(y.dtype() == DataType::kFloat64);
  const std::vector<double> d = Values<double>(y);
  CHECK(d[0] == static_cast<double>(0.1f));
  CHECK(d[0] != 0.1);
  CHECK((std::isinf(d[1]) && d[1] < 0));
  CHECK(std::isnan(d[2]));
  CHECK(d[3] == 0x1p-149);
  CHECK(d[4] == 3.4028234663852886e38);
  CHECK(d[5] == -2.5);
  // And back: float32 -> float64 -> float32 is the identity.
  const Tensor z = Eval1("Cast", To(DataType::kFloat32), {&y});
  const std::vector<float> back = Values<float>(z);
  for (size_t i = 0; i < in.size(); ++i) {
    if (std::isnan(in[i])) {
      CHECK(std::isnan(back[i]));
    } else {
      CHECK(back[i] == in[i]);
    }
  }
}

TEST_CASE("Cast float64 -> float16/bfloat16 rounds once", "[kernels][cast]") {
  // 1 + 2^-11 + 2^-30: above the float16 halfway point between 1 and
  // 1 + 2^-10, so numpy gives 0x3c01; rounding to float32 first would land on
  // the halfway point and then tie to even (0x3c00).
  // 1 + 2^-8 + 2^-30 for bfloat16 likewise: 0x3f81, not 0x3f80.
  const Tensor x = MakeDouble({1.0 + 0x1p-11 + 0x1p-30, 1.0 + 0x1p-11, -2.0, 1e10});
  const std::vector<uint16_t> h = Values<uint16_t>(Eval1("Cast", To(DataType::kFloat16), {&x}));
  CHECK(h[0] == 0x3c01);
  CHECK(h[1] == 0x3c00);  // exactly halfway: ties to even
  CHECK(h[2] == 0xc000);
  CHECK(h[3] == 0x7c00);  // overflow: inf
  const Tensor b = MakeDouble({1.0 + 0x1p-8 + 0x1p-30, 1.0 + 0x1p-8});
  const std::vector<uint16_t> bf = Values<uint16_t>(Eval1("Cast", To(DataType::kBFloat16), {&b}));
  CHECK(bf[0] == 0x3f81);
  CHECK(bf[1] == 0x3f80);
  // float16 -> float64 is exact.
  Tensor half(DataType::kFloat16, {2});
  const uint16_t hv[] = {0x3c01, 0x0001};  // 1 + 2^-10, the smallest subnormal 2^-24
  std::memcpy(half.data(), hv, 4);
  const std::vector<double> d = Values<double>(Eval1("Cast", To(DataType::kFloat64), {&half}));
  CHECK(d[0] == 1.0 + 0x1p-10);
  CHECK(d[1] == 0x1p-24);
}

TEST_CASE("Cast between float64 and integers uses the double value", "[kernels][cast]") {
  const Tensor x = MakeDouble({16777217.0, -3.9, 3.9, 1e19, std::nan(""), 0.5});
  const std::vector<int64_t> i = Values<int64_t>(Eval1("Cast", To(DataType::kInt64), {&x}));
  CHECK(i[0] == 16777217);  // not representable in float32
  CHECK(i[1] == -3);
  CHECK(i[2] == 3);
  CHECK(i[3] == std::numeric_limits<int64_t>::max());
  CHECK(i[4] == 0);
  CHECK(i[5] == 0);
  const std::vector<uint8_t> b = Values<uint8_t>(Eval1("Cast", To(DataType::kBool), {&x}));
  CHECK(b == std::vector<uint8_t>{1, 1, 1, 1, 1, 1});
  Tensor n(DataType::kInt64, {2});
  const int64_t nv[] = {16777217, (int64_t{1} << 53) + 1};
  std::memcpy(n.data(), nv, 16);
  const std::vector<double> d = Values<double>(Eval1("Cast", To(DataType::kFloat64), {&n}));
  CHECK(d[0] == 16777217.0);
  CHECK(d[1] == 0x1p53);  // nearest double
}

}  // namespace
}  // namespace engine::kernels
