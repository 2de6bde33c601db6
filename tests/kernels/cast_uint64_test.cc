// Cast to and from uint64. The ONNX node test data (Debian libonnx-testdata)
// has no uint64 Cast test, so the expected values are numpy 1.24.2's astype
// on x86-64, written out by hand (the command is in each comment); the
// bfloat16 case, which numpy lacks, is derived in its comment. Out-of-range
// float -> uint64 conversions are undefined in ONNX: the engine saturates
// values >= 2^64 (numpy gives 0) and wraps negative ones through int64 (as
// numpy does).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "common/half.h"
#include "engine/tensor.h"
#include "kernels/kernel_test_util.h"

namespace engine::kernels {
namespace {

using engine::kernels::testing::Eval1;

Attributes To(DataType t) {
  Attributes a;
  a.Set("to", static_cast<int64_t>(t));
  return a;
}

template <typename T>
Tensor Make(DataType dtype, const std::vector<T>& v) {
  Tensor t(dtype, {static_cast<int64_t>(v.size())});
  std::memcpy(t.data(), v.data(), v.size() * sizeof(T));
  return t;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  std::vector<T> v(static_cast<size_t>(t.num_elements()));
  std::memcpy(v.data(), t.data(), v.size() * sizeof(T));
  return v;
}

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST_CASE("Cast uint64 -> float32 / float64 rounds once to nearest even", "[kernels][cast]") {
  // np.array([2**64-1, 2**63, 2**63+1, 16777217, 2**64-2**39-1], np.uint64).astype(np.float32)
  // -> [2^64, 2^63, 2^63, 16777216, 2^64-2^40]: the last is just below the
  // halfway point 2^64-2^39 (through float64 it would round twice, to 2^64).
  const Tensor x = Make<uint64_t>(DataType::kUint64, {kMax, uint64_t{1} << 63, (uint64_t{1} << 63) + 1,
                                                      16777217, kMax - (uint64_t{1} << 39)});
  const Tensor y = Eval1("Cast", To(DataType::kFloat32), {&x});
  REQUIRE(y.dtype() == DataType::kFloat32);
  CHECK(Values<float>(y) ==
        std::vector<float>{0x1p64f, 0x1p63f, 0x1p63f, 16777216.0f, 0x1p64f - 0x1p40f});
  // .astype(np.float64) of [2**64-1, 2**63+1, 2**53+1] -> [2^64, 2^63, 2^53]
  const Tensor x2 = Make<uint64_t>(DataType::kUint64,
                                   {kMax, (uint64_t{1} << 63) + 1, (uint64_t{1} << 53) + 1});
  const Tensor y2 = Eval1("Cast", To(DataType::kFloat64), {&x2});
  CHECK(Values<double>(y2) == std::vector<double>{0x1p64, 0x1p63, 0x1p53});
}

TEST_CASE("Cast uint64 -> float16 / bfloat16 rounds once", "[kernels][cast]") {
  // .astype(np.float16) of [2**64-1, 2**63+1025, 65519, 65520, 2049, 2051]
  // -> [inf, inf, 65504, inf, 2048, 2052] (ties to even at 2049 and 2051).
  const Tensor x = Make<uint64_t>(DataType::kUint64,
                                  {kMax, (uint64_t{1} << 63) + 1025, 65519, 65520, 2049, 2051});
  const Tensor y = Eval1("Cast", To(DataType::kFloat16), {&x});
  std::vector<float> got;
  for (uint16_t h : Values<uint16_t>(y)) got.push_back(HalfToFloat(h));
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(got == std::vector<float>{inf, inf, 65504.0f, inf, 2048.0f, 2052.0f});
  // bfloat16 keeps 8 significant bits: in [2^24, 2^25) its spacing is 2^17,
  // so 2^24 + 2^16 + 1, just above the halfway point 2^24 + 2^16, rounds up
  // to 2^24 + 2^17. Through a nearest-even float32 (spacing 2) it would first
  // become the tie 2^24 + 2^16 and then round to even, 2^24.
  const Tensor b = Make<uint64_t>(DataType::kUint64, {(uint64_t{1} << 24) + (uint64_t{1} << 16) + 1,
                                                      (uint64_t{1} << 24) + (uint64_t{1} << 16)});
  const Tensor yb = Eval1("Cast", To(DataType::kBFloat16), {&b});
  std::vector<float> gb;
  for (uint16_t h : Values<uint16_t>(yb)) gb.push_back(BFloat16ToFloat(h));
  CHECK(gb == std::vector<float>{0x1p24f + 0x1p17f, 0x1p24f});  // the exact tie: to even
}

TEST_CASE("Cast between uint64 and the integers wraps modulo 2^bits", "[kernels][cast]") {
  const Tensor x = Make<uint64_t>(DataType::kUint64, {kMax, (uint64_t{1} << 63) + 5, 300, 0});
  // .astype(np.int64) -> [-1, -9223372036854775803, 300, 0]
  CHECK(Values<int64_t>(Eval1("Cast", To(DataType::kInt64), {&x})) ==
        std::vector<int64_t>{-1, -9223372036854775807LL + 4, 300, 0});
  // .astype(np.uint8) -> [255, 5, 44, 0]; .astype(np.int32) -> [-1, 5, 300, 0]
  CHECK(Values<uint8_t>(Eval1("Cast", To(DataType::kUint8), {&x})) ==
        std::vector<uint8_t>{255, 5, 44, 0});
  CHECK(Values<int32_t>(Eval1("Cast", To(DataType::kInt32), {&x})) ==
        std::vector<int32_t>{-1, 5, 300, 0});
  // .astype(bool) -> [True, True, True, False]
  CHECK(Values<uint8_t>(Eval1("Cast", To(DataType::kBool), {&x})) ==
        std::vector<uint8_t>{1, 1, 1, 0});
  // np.array([-1, -300, 5], np.int64).astype(np.uint64)
  const Tensor s = Make<int64_t>(DataType::kInt64, {-1, -300, 5});
  CHECK(Values<uint64_t>(Eval1("Cast", To(DataType::kUint64), {&s})) ==
        std::vector<uint64_t>{kMax, 18446744073709551316ULL, 5});
  const Tensor u = Make<uint64_t>(DataType::kUint64, {12345678901234567890ULL});
  CHECK(Values<uint64_t>(Eval1("Cast", To(DataType::kUint64), {&u})) ==
        std::vector<uint64_t>{12345678901234567890ULL});
}

TEST_CASE("Cast float -> uint64 truncates, saturates at 2^64, wraps negatives", "[kernels][cast]") {
  // np.array([-1.0, -1.5, 1.8e19, 2.0**63, 7.9], np.float64).astype(np.uint64)
  // -> [2^64-1, 2^64-1, 18000000000000000000, 9223372036854775808, 7]
  const Tensor d = Make<double>(DataType::kFloat64, {-1.0, -1.5, 1.8e19, 0x1p63, 7.9});
  CHECK(Values<uint64_t>(Eval1("Cast", To(DataType::kUint64), {&d})) ==
        std::vector<uint64_t>{kMax, kMax, 18000000000000000000ULL, 9223372036854775808ULL, 7});
  // The same in float32: 1.8e19f is 18000000404716257280 (numpy).
  const Tensor f = Make<float>(DataType::kFloat32, {-1.0f, 1.8e19f, 3e19f, std::nanf("")});
  CHECK(Values<uint64_t>(Eval1("Cast", To(DataType::kUint64), {&f})) ==
        std::vector<uint64_t>{kMax, 18000000404716257280ULL, kMax, 0});
  // A model's uint64 CastLike target.
  const Tensor target = Make<uint64_t>(DataType::kUint64, {0});
  const Tensor h = Make<float>(DataType::kFloat32, {42.7f});
  CHECK(Values<uint64_t>(Eval1("CastLike", Attributes(), {&h, &target})) ==
        std::vector<uint64_t>{42});
}

}  // namespace
}  // namespace engine::kernels
