// Tests of the statistics normalizations and Lp pooling
// (kernels/normalization.cc) on hand-computed values and against the ONNX
// formulas computed naively in double, plus their errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/compare.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::kernels::testing::Eval;
using engine::kernels::testing::Eval1;
using engine::testing::MakeFloat;
using engine::testing::RandomTensor;
using engine::testing::ToVector;

void ExpectClose(const Tensor& actual, const Tensor& expected, double rtol = 1e-4) {
  REQUIRE(actual.shape() == expected.shape());
  CompareResult r = CompareTensors(actual, expected, rtol, 1e-5);
  INFO(r.message);
  CHECK(r.passed);
}

auto Code(const absl::StatusOr<std::vector<Tensor>>& r) { return r.status().code(); }

// (x - mean) / sqrt(var + eps) of a row, in double.
std::vector<double> Standardize(const std::vector<double>& x, double eps) {
  double m = 0, v = 0;
  for (double e : x) m += e;
  m /= static_cast<double>(x.size());
  for (double e : x) v += (e - m) * (e - m);
  v /= static_cast<double>(x.size());
  std::vector<double> y;
  for (double e : x) y.push_back((e - m) / std::sqrt(v + eps));
  return y;
}

TEST_CASE("InstanceNormalization (ONNX example)", "[kernels][normalization]") {
  // x [1, 2, 1, 3] = [[-1, 0, 1]], [[2, 3, 4]]; scale [1, 1.5]; B [0, 1].
  const Tensor x = MakeFloat({1, 2, 1, 3}, {-1, 0, 1, 2, 3, 4});
  const Tensor s = MakeFloat({2}, {1.0f, 1.5f});
  const Tensor b = MakeFloat({2}, {0, 1});
  // Each plane has mean m and variance 2/3: (x - m) / sqrt(2/3 + 1e-5).
  const float k = 1.0f / std::sqrt(2.0f / 3.0f + 1e-5f);
  ExpectClose(Eval1("InstanceNormalization", Attributes(), {&x, &s, &b}),
              MakeFloat({1, 2, 1, 3}, {-k, 0, k, 1 - 1.5f * k, 1, 1 + 1.5f * k}));
  const Tensor bad = MakeFloat({3}, {1, 1, 1});
  CHECK(Code(Eval("InstanceNormalization", Attributes(), {&x, &bad, &b})) ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("LayerNormalization over trailing axes, with Mean and InvStdDev",
          "[kernels][normalization]") {
  std::mt19937 rng(5);
  const Dims shape{2, 3, 4};
  const Tensor x = RandomTensor(shape, rng, -2, 2);
  const Tensor scale = RandomTensor({3, 4}, rng);
  const Tensor bias = RandomTensor({4}, rng);  // broadcast to [3, 4]
  Attributes a;
  a.Set("axis", int64_t{1});
  a.Set("epsilon", 1e-3f);
  a.Set("num_outputs", int64_t{3});
  auto out = Eval("LayerNormalization", a, {&x, &scale, &bias});
  REQUIRE(out.ok());
  REQUIRE(out->size() == 3);
  CHECK((*out)[1].shape() == Dims{2, 1, 1});
  const std::vector<float> xs = ToVector(x), ss = ToVector(scale), bs = ToVector(bias);
  std::vector<float> y, mean, inv;
  for (int r = 0; r < 2; ++r) {
    std::vector<double> row(xs.begin() + r * 12, xs.begin() + (r + 1) * 12);
    double m = 0, v = 0;
    for (double e : row) m += e;
    m /= 12;
    for (double e : row) v += (e - m) * (e - m);
    v /= 12;
    mean.push_back(static_cast<float>(m));
    inv.push_back(static_cast<float>(1 / std::sqrt(v + 1e-3)));
    const std::vector<double> z = Standardize(row, 1e-3);
    for (int i = 0; i < 12; ++i) y.push_back(static_cast<float>(z[i] * ss[i] + bs[i % 4]));
  }
  ExpectClose((*out)[0], MakeFloat(shape, y));
  ExpectClose((*out)[1], MakeFloat({2, 1, 1}, mean));
  ExpectClose((*out)[2], MakeFloat({2, 1, 1}, inv));
  // One output by default; no bias; default axis -1.
  const Tensor s4 = MakeFloat({4}, {1, 1, 1, 1});
  const Tensor x2 = MakeFloat({1, 4}, {1, 2, 3, 4});
  const float k = 1.0f / std::sqrt(1.25f + 1e-5f);
  ExpectClose(Eval1("LayerNormalization", Attributes(), {&x2, &s4}),
              MakeFloat({1, 4}, {-1.5f * k, -0.5f * k, 0.5f * k, 1.5f * k}));
  // Errors: Scale not broadcastable, stash_type other than 1.
  const Tensor s3 = MakeFloat({3}, {1, 1, 1});
  CHECK(Code(Eval("LayerNormalization", Attributes(), {&x2, &s3})) ==
        absl::StatusCode::kInvalidArgument);
  Attributes stash;
  stash.Set("stash_type", int64_t{10});
  CHECK(Code(Eval("LayerNormalization", stash, {&x2, &s4})) == absl::StatusCode::kUnimplemented);
}

TEST_CASE("GroupNormalization per channel (opset 21) and per group (opset 18)",
          "[kernels][normalization]") {
  // x [1, 4, 2]: groups of 2 channels (4 values each).
  const Tensor x = MakeFloat({1, 4, 2}, {0, 1, 2, 3, 10, 10, 14, 14});
  Attributes a;
  a.Set("num_groups", int64_t{2});
  a.Set("epsilon", 0.0f);
  // Group 0: 0..3, mean 1.5, var 1.25; group 1: 10,10,14,14, mean 12, var 4.
  const float g0 = 1.0f / std::sqrt(1.25f);
  const Tensor sc = MakeFloat({4}, {1, 2, 3, 4});
  const Tensor bc = MakeFloat({4}, {0, 0, 1, -1});
  ExpectClose(Eval1("GroupNormalization", a, {&x, &sc, &bc}),
              MakeFloat({1, 4, 2}, {-1.5f * g0, -0.5f * g0, 2 * 0.5f * g0, 2 * 1.5f * g0,
                                    3 * -1 + 1, 3 * -1 + 1, 4 * 1 - 1, 4 * 1 - 1}));
  Attributes a18 = a;
  a18.Set("scale_per_group", int64_t{1});
  const Tensor sg = MakeFloat({2}, {2, 3});
  const Tensor bg = MakeFloat({2}, {1, 0});
  ExpectClose(Eval1("GroupNormalization", a18, {&x, &sg, &bg}),
              MakeFloat({1, 4, 2}, {2 * -1.5f * g0 + 1, 2 * -0.5f * g0 + 1, 2 * 0.5f * g0 + 1,
                                    2 * 1.5f * g0 + 1, -3, -3, 3, 3}));
  // Shapes must follow the form: [C] per channel, [num_groups] per group.
  CHECK(Code(Eval("GroupNormalization", a, {&x, &sg, &bg})) ==
        absl::StatusCode::kInvalidArgument);
  a.Set("num_groups", int64_t{3});
  CHECK(Code(Eval("GroupNormalization", a, {&x, &sc, &bc})) ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("LpNormalization p = 1 and 2, zero rows", "[kernels][normalization]") {
  const Tensor x = MakeFloat({2, 2}, {3, -4, 0, 0});
  ExpectClose(Eval1("LpNormalization", Attributes(), {&x}),
              MakeFloat({2, 2}, {0.6f, -0.8f, 0, 0}));
  Attributes a;
  a.Set("axis", int64_t{0});
  a.Set("p", int64_t{1});
  const Tensor x2 = MakeFloat({2, 2}, {1, 2, 3, 6});
  ExpectClose(Eval1("LpNormalization", a, {&x2}), MakeFloat({2, 2}, {0.25f, 0.25f, 0.75f, 0.75f}));
  a.Set("p", int64_t{3});
  CHECK(Code(Eval("LpNormalization", a, {&x2})) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("MeanVarianceNormalization default axes [0, 2, 3]", "[kernels][normalization]") {
  // Channel 0 holds 1, 3 (n = 0) and 5, 7 (n = 1): mean 4, std sqrt(5).
  // Channel 1 holds 2, 2, 2, 2: std 0, y = 0.
  const Tensor x = MakeFloat({2, 2, 1, 2}, {1, 3, 2, 2, 5, 7, 2, 2});
  const float s = std::sqrt(5.0f) + 1e-9f;
  ExpectClose(Eval1("MeanVarianceNormalization", Attributes(), {&x}),
              MakeFloat({2, 2, 1, 2}, {-3 / s, -1 / s, 0, 0, 1 / s, 3 / s, 0, 0}));
  Attributes a;
  a.Set("axes", std::vector<int64_t>{1, 1});
  CHECK(Code(Eval("MeanVarianceNormalization", a, {&x})) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("GlobalLpPool and LpPool", "[kernels][normalization]") {
  const Tensor x = MakeFloat({1, 1, 2, 2}, {3, -4, 0, 12});
  ExpectClose(Eval1("GlobalLpPool", Attributes(), {&x}), MakeFloat({1, 1, 1, 1}, {13}));
  Attributes p1;
  p1.Set("p", int64_t{1});
  ExpectClose(Eval1("GlobalLpPool", p1, {&x}), MakeFloat({1, 1, 1, 1}, {19}));
  Attributes p3;
  p3.Set("p", int64_t{3});
  ExpectClose(Eval1("GlobalLpPool", p3, {&x}),
              MakeFloat({1, 1, 1, 1}, {std::cbrt(27.0f + 64 + 1728)}));
  // LpPool 1-D, kernel 2, stride 1, pads 1 on both sides: windows
  // [pad, 3], [3, -4], [-4, 5], [5, pad].
  const Tensor x1 = MakeFloat({1, 1, 3}, {3, -4, 5});
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{2});
  a.Set("pads", std::vector<int64_t>{1, 1});
  ExpectClose(Eval1("LpPool", a, {&x1}),
              MakeFloat({1, 1, 4}, {3, 5, std::sqrt(41.0f), 5}));
  // 2-D, stride 2, p = 1, dilation 2 on the last axis.
  const Tensor x2 = MakeFloat({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Attributes b;
  b.Set("kernel_shape", std::vector<int64_t>{2, 2});
  b.Set("dilations", std::vector<int64_t>{1, 2});
  b.Set("p", int64_t{1});
  // Windows start at columns 0 and 1 (stride 1): {1, 3, 5, 7}, {2, 4, 6, 8}.
  ExpectClose(Eval1("LpPool", b, {&x2}), MakeFloat({1, 1, 1, 2}, {16, 20}));
  Attributes c;
  c.Set("kernel_shape", std::vector<int64_t>{3, 3});
  CHECK(Code(Eval("LpPool", c, {&x2})) == absl::StatusCode::kInvalidArgument);
  CHECK(Code(Eval("LpPool", Attributes(), {&x2})) == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace engine::kernels
