// Int8Max / Int8Min (elementwise_logic.cc): every output bit-identical to the
// accelerator's definition (each input requantized with requant.h, then the
// max / min), with broadcasting, 1 to 3 inputs and any thread count; and
// equal to QuantizeLinear(Max(DequantizeLinear(x_i)), y_scale) except where
// the float value sits on a rounding tie (the integer path rounds ties toward
// +infinity, QuantizeLinear to even).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "common/requant.h"
#include "kernels/kernel_test_util.h"

namespace engine::kernels {
namespace {

using testing::CheckThreadInvariant;
using testing::Eval;
using testing::Eval1;

Tensor RandomInt8(const Dims& shape, std::mt19937& rng) {
  Tensor t(DataType::kInt8, shape);
  std::uniform_int_distribution<int> d(-128, 127);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<int8_t>()[i] = static_cast<int8_t>(d(rng));
  return t;
}

Attributes RequantAttrs(const std::vector<double>& in_scales, double y_scale) {
  std::vector<int64_t> m, s;
  for (double x : in_scales) {
    const QuantizedMultiplier q = QuantizeMultiplier(x / y_scale);
    m.push_back(q.multiplier);
    s.push_back(q.shift);
  }
  Attributes a;
  a.Set("multiplier", m);
  a.Set("shift", s);
  return a;
}

TEST_CASE("Int8Max and Int8Min requantize each input, then compare", "[kernels][int8]") {
  std::mt19937 rng(11);
  struct Case {
    std::vector<Dims> shapes;
    std::vector<double> scales;
    double y_scale;
  };
  const std::vector<Case> cases = {
      {{{2, 3, 40, 50}, {2, 3, 40, 50}}, {0.05, 0.02}, 0.04},           // same shape
      {{{2, 3, 40, 50}, {1, 3, 1, 50}}, {0.01, 0.03}, 0.03},            // broadcast
      {{{4, 64, 33}, {4, 64, 33}, {64, 1}}, {0.02, 0.02, 0.1}, 0.05},   // three inputs
      {{{3, 300}}, {0.07}, 0.02},                                      // one input: saturates
      {{{1, 8, 16}, {1, 8, 16}}, {0.05, 0.05}, 0.05},                  // identity requantization
  };
  for (const Case& c : cases) {
    std::vector<Tensor> xs;
    for (const Dims& s : c.shapes) xs.push_back(RandomInt8(s, rng));
    std::vector<const Tensor*> in;
    for (const Tensor& x : xs) in.push_back(&x);
    const Attributes a = RequantAttrs(c.scales, c.y_scale);
    for (const char* type : {"Int8Max", "Int8Min"}) {
      CAPTURE(type, c.shapes.size());
      const bool mx = std::string(type) == "Int8Max";
      const Tensor y = Eval1(type, a, in);
      REQUIRE(y.dtype() == DataType::kInt8);
      // Reference: broadcast by hand over the output's index.
      const Dims& out = y.shape();
      const auto mult = a.Ints("multiplier");
      const auto shift = a.Ints("shift");
      int64_t mismatches = 0, vs_float = 0, ties = 0;
      for (int64_t i = 0; i < y.num_elements(); ++i) {
        int best = mx ? -1000 : 1000;
        double real_best = mx ? -1e30 : 1e30;
        for (size_t k = 0; k < xs.size(); ++k) {
          // Index of input k broadcast to `out` (right-aligned).
          const Dims& s = xs[k].shape();
          int64_t rem = i, idx = 0, stride = 1;
          for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
            const int64_t coord = rem % out[d];
            rem /= out[d];
            const int64_t sd = d - (static_cast<int64_t>(out.size()) - static_cast<int64_t>(s.size()));
            if (sd >= 0) {
              idx += (s[sd] == 1 ? 0 : coord) * stride;
              stride *= s[sd];
            }
          }
          const int8_t q = xs[k].data_as<int8_t>()[idx];
          const int r = static_cast<int>(std::clamp<int64_t>(
              Requantize(q, static_cast<int32_t>(mult[k]), static_cast<int32_t>(shift[k])), -128, 127));
          best = mx ? std::max(best, r) : std::min(best, r);
          const double real = q * c.scales[k];
          real_best = mx ? std::max(real_best, real) : std::min(real_best, real);
        }
        const int got = y.data_as<int8_t>()[i];
        mismatches += got != best;
        // QuantizeLinear of the float result (round half to even, saturate).
        const double v = real_best / c.y_scale;
        const double qf = std::clamp(std::nearbyint(v), -128.0, 127.0);
        const bool tie = std::fabs(v - std::floor(v) - 0.5) < 1e-6;
        ties += tie;
        if (!tie) vs_float += got != static_cast<int>(qf);
      }
      CHECK(mismatches == 0);
      CHECK(vs_float == 0);
      CHECK(ties < y.num_elements());  // some elements are compared with the float path
      CheckThreadInvariant(type, a, in);
    }
  }
}

TEST_CASE("Int8Max rejects bad inputs and attributes", "[kernels][int8]") {
  std::mt19937 rng(2);
  Tensor a = RandomInt8({2, 3}, rng), b = RandomInt8({2, 3}, rng), c = RandomInt8({4}, rng);
  Tensor f(DataType::kFloat32, {2, 3});
  const Attributes two = RequantAttrs({0.1, 0.2}, 0.1);
  REQUIRE(Eval("Int8Max", two, {&a, &b}).ok());
  CHECK(Eval("Int8Max", two, {&a, &f}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(!Eval("Int8Max", two, {&a, &c}).ok());  // shapes do not broadcast
  CHECK(Eval("Int8Max", RequantAttrs({0.1}, 0.1), {&a, &b}).status().code() ==
        absl::StatusCode::kInvalidArgument);  // one multiplier for two inputs
  Attributes bad = two;
  bad.Set("shift", std::vector<int64_t>{0, 5});
  CHECK(Eval("Int8Min", bad, {&a, &b}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(!Eval("Int8Max", two, {}).ok());
}

}  // namespace
}  // namespace engine::kernels
