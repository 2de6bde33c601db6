// Tests of the loss kernels (kernels/loss.cc): NegativeLogLikelihoodLoss and
// SoftmaxCrossEntropyLoss on hand-computed values (every reduction, class
// weights, ignore_index, spatial dimensions, int32 / int64 targets, the
// optional log_prob output), their errors, and thread-count invariance.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/compare.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "ops/op_registry.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::kernels::testing::CheckThreadInvariant;
using engine::kernels::testing::Eval;
using engine::kernels::testing::Eval1;
using engine::testing::MakeFloat;
using engine::testing::MakeInt64;
using engine::testing::MakeTyped;
using engine::testing::RandomTensor;
using engine::testing::ToVector;

constexpr char kNll[] = "NegativeLogLikelihoodLoss";
constexpr char kSce[] = "SoftmaxCrossEntropyLoss";

void ExpectClose(const Tensor& actual, const Tensor& expected) {
  REQUIRE(actual.shape() == expected.shape());
  CompareResult r = CompareTensors(actual, expected, 1e-6, 1e-6);
  INFO(r.message);
  CHECK(r.passed);
}

Attributes Reduction(const std::string& r) {
  Attributes a;
  a.Set("reduction", r);
  return a;
}

Attributes Ignore(const std::string& r, int64_t ignore_index) {
  Attributes a = Reduction(r);
  a.Set("ignore_index", ignore_index);
  return a;
}

auto Code(const absl::StatusOr<std::vector<Tensor>>& r) { return r.status().code(); }

TEST_CASE("NegativeLogLikelihoodLoss [N, C]: reductions and class weights", "[kernels][loss]") {
  // loss[n] = -x[n, target[n]] * weight[target[n]].
  const Tensor x = MakeFloat({2, 3}, {-1.0f, -2.0f, -3.0f, -0.5f, -1.5f, -2.5f});
  const Tensor t = MakeInt64({2}, {2, 0});
  const Tensor w = MakeFloat({3}, {0.2f, 0.3f, 0.5f});
  ExpectClose(Eval1(kNll, Reduction("none"), {&x, &t}), MakeFloat({2}, {3.0f, 0.5f}));
  ExpectClose(Eval1(kNll, Reduction("sum"), {&x, &t}), MakeFloat({}, {3.5f}));
  ExpectClose(Eval1(kNll, Reduction("mean"), {&x, &t}), MakeFloat({}, {1.75f}));
  ExpectClose(Eval1(kNll, Attributes(), {&x, &t}), MakeFloat({}, {1.75f}));  // default mean
  // Weighted: [3 * 0.5, 0.5 * 0.2]; the mean divides by the sum of the
  // gathered weights (0.5 + 0.2), not by N.
  ExpectClose(Eval1(kNll, Reduction("none"), {&x, &t, &w}), MakeFloat({2}, {1.5f, 0.1f}));
  ExpectClose(Eval1(kNll, Reduction("sum"), {&x, &t, &w}), MakeFloat({}, {1.6f}));
  ExpectClose(Eval1(kNll, Reduction("mean"), {&x, &t, &w}), MakeFloat({}, {1.6f / 0.7f}));
  // An absent optional weight is the unweighted loss.
  ExpectClose(Eval1(kNll, Reduction("mean"), {&x, &t, nullptr}), MakeFloat({}, {1.75f}));
}

TEST_CASE("NegativeLogLikelihoodLoss ignore_index", "[kernels][loss]") {
  const Tensor x = MakeFloat({3, 3}, {-1.0f, -2.0f, -3.0f, -0.5f, -1.5f, -2.5f, -4, -5, -6});
  const Tensor t = MakeInt64({3}, {2, 0, 0});
  const Tensor w = MakeFloat({3}, {0.2f, 0.3f, 0.5f});
  // Positions whose target is 0 count neither in the loss nor in the mean's
  // denominator.
  ExpectClose(Eval1(kNll, Ignore("none", 0), {&x, &t}), MakeFloat({3}, {3.0f, 0, 0}));
  ExpectClose(Eval1(kNll, Ignore("sum", 0), {&x, &t}), MakeFloat({}, {3.0f}));
  ExpectClose(Eval1(kNll, Ignore("mean", 0), {&x, &t}), MakeFloat({}, {3.0f}));
  ExpectClose(Eval1(kNll, Ignore("mean", 0), {&x, &t, &w}), MakeFloat({}, {1.5f / 0.5f}));
  // A negative ignore_index that no target uses changes nothing.
  ExpectClose(Eval1(kNll, Ignore("mean", -1), {&x, &t}), MakeFloat({}, {(3.0f + 0.5f + 4) / 3}));
  // Every position ignored: the mean is 0 / 0 (NaN, as the ONNX reference),
  // the sum is 0.
  const Tensor all = MakeInt64({3}, {1, 1, 1});
  CHECK(std::isnan(ToVector(Eval1(kNll, Ignore("mean", 1), {&x, &all}))[0]));
  CHECK(ToVector(Eval1(kNll, Ignore("sum", 1), {&x, &all}))[0] == 0.0f);
  // The ignored target may be outside [0, C).
  const Tensor neg = MakeInt64({3}, {-100, 1, -100});
  ExpectClose(Eval1(kNll, Ignore("none", -100), {&x, &neg}), MakeFloat({3}, {0, 1.5f, 0}));
  // A target outside [0, C) that is not ignore_index is invalid ONNX; Run
  // cannot fail, so it counts as ignored (no out-of-bounds read).
  const Tensor out_of_range = MakeInt64({3}, {3, 1, -1});
  ExpectClose(Eval1(kNll, Reduction("none"), {&x, &out_of_range}), MakeFloat({3}, {0, 1.5f, 0}));
  ExpectClose(Eval1(kNll, Reduction("mean"), {&x, &out_of_range, &w}), MakeFloat({}, {1.5f}));
  // Row 1 of SoftmaxCrossEntropyLoss: ln(e^-0.5 + e^-1.5 + e^-2.5) - (-1.5).
  const float row1 =
      static_cast<float>(std::log(std::exp(-0.5) + std::exp(-1.5) + std::exp(-2.5)) + 1.5);
  ExpectClose(Eval1(kSce, Reduction("none"), {&x, &out_of_range}), MakeFloat({3}, {0, row1, 0}));
}

TEST_CASE("NegativeLogLikelihoodLoss [N, C, d1, d2] with int32 targets", "[kernels][loss]") {
  // x[n, c, i, j] = -(100 n + 10 c + 2 i + j) / 10; loss[n, i, j] =
  // -x[n, t[n, i, j], i, j].
  std::vector<float> xs;
  for (int n = 0; n < 2; ++n) {
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 2; ++j) xs.push_back(-(100.0f * n + 10 * c + 2 * i + j) / 10);
      }
    }
  }
  const Tensor x = MakeFloat({2, 3, 2, 2}, xs);
  const std::vector<int32_t> tv = {0, 1, 2, 0, 2, 2, 1, 0};
  const Tensor t32 = MakeTyped<int32_t>(DataType::kInt32, {2, 2, 2}, tv);
  const Tensor t64 = MakeInt64({2, 2, 2}, std::vector<int64_t>(tv.begin(), tv.end()));
  std::vector<float> expected;
  for (int n = 0; n < 2; ++n) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 2; ++j) {
        const int c = tv[static_cast<size_t>(n * 4 + i * 2 + j)];
        expected.push_back((100.0f * n + 10 * c + 2 * i + j) / 10);
      }
    }
  }
  ExpectClose(Eval1(kNll, Reduction("none"), {&x, &t32}), MakeFloat({2, 2, 2}, expected));
  ExpectClose(Eval1(kNll, Reduction("none"), {&x, &t64}), MakeFloat({2, 2, 2}, expected));
  double sum = 0;
  for (float v : expected) sum += v;
  ExpectClose(Eval1(kNll, Reduction("sum"), {&x, &t32}), MakeFloat({}, {static_cast<float>(sum)}));
  ExpectClose(Eval1(kNll, Reduction("mean"), {&x, &t32}),
              MakeFloat({}, {static_cast<float>(sum / 8)}));
}

TEST_CASE("SoftmaxCrossEntropyLoss and its log_prob output", "[kernels][loss]") {
  // scores [1, 3] = [1, 2, 3]: log-sum-exp = 3 + ln(1 + e^-1 + e^-2).
  const double lse = 3 + std::log(1 + std::exp(-1.0) + std::exp(-2.0));
  const Tensor x = MakeFloat({1, 3}, {1, 2, 3});
  const Tensor y = MakeInt64({1}, {2});
  ExpectClose(Eval1(kSce, Attributes(), {&x, &y}), MakeFloat({}, {static_cast<float>(lse - 3)}));
  Attributes two = Reduction("none");
  two.Set("num_outputs", int64_t{2});
  auto out = Eval(kSce, two, {&x, &y});
  REQUIRE(out.ok());
  REQUIRE(out->size() == 2);
  ExpectClose((*out)[0], MakeFloat({1}, {static_cast<float>(lse - 3)}));
  ExpectClose((*out)[1],
              MakeFloat({1, 3}, {static_cast<float>(1 - lse), static_cast<float>(2 - lse),
                                 static_cast<float>(3 - lse)}));

  // scores [1, 2, 2] (classes along axis 1): position 0 has scores (0, 0),
  // position 1 has (1, 3). labels [[1, 0]], weights [2, 1].
  const Tensor s = MakeFloat({1, 2, 2}, {0, 1, 0, 3});
  const Tensor l = MakeInt64({1, 2}, {1, 0});
  const Tensor w = MakeFloat({2}, {2, 1});
  const double ln2 = std::log(2.0);
  const double lse1 = 3 + std::log(1 + std::exp(-2.0));
  const float p0 = static_cast<float>(ln2), p1 = static_cast<float>(lse1 - 1);
  ExpectClose(Eval1(kSce, Reduction("none"), {&s, &l}), MakeFloat({1, 2}, {p0, p1}));
  ExpectClose(Eval1(kSce, Reduction("sum"), {&s, &l}), MakeFloat({}, {p0 + p1}));
  // Weighted: class 1 weighs 1, class 0 weighs 2; mean over the weights (3).
  ExpectClose(Eval1(kSce, Reduction("mean"), {&s, &l, &w}), MakeFloat({}, {(p0 + 2 * p1) / 3}));
  // ignore_index 0 drops position 1; log_prob is still computed everywhere.
  Attributes ii = Ignore("mean", 0);
  ii.Set("num_outputs", int64_t{2});
  auto ignored = Eval(kSce, ii, {&s, &l, &w});
  REQUIRE(ignored.ok());
  ExpectClose((*ignored)[0], MakeFloat({}, {p0}));
  ExpectClose((*ignored)[1],
              MakeFloat({1, 2, 2}, {static_cast<float>(-ln2), static_cast<float>(1 - lse1),
                                    static_cast<float>(-ln2), static_cast<float>(3 - lse1)}));
  // Large scores do not overflow (the maximum is subtracted first).
  const Tensor big = MakeFloat({1, 2}, {1000, 1000});
  const Tensor zero = MakeInt64({1}, {0});
  ExpectClose(Eval1(kSce, Attributes(), {&big, &zero}), MakeFloat({}, {static_cast<float>(ln2)}));
}

TEST_CASE("Loss kernels refuse malformed layers", "[kernels][loss]") {
  const Tensor x = MakeFloat({2, 3}, {0, 0, 0, 0, 0, 0});
  const Tensor t = MakeInt64({2}, {0, 1});
  const Tensor w = MakeFloat({3}, {1, 1, 1});
  for (const char* type : {kNll, kSce}) {
    CAPTURE(type);
    CHECK(Code(Eval(type, Reduction("avg"), {&x, &t})) == absl::StatusCode::kInvalidArgument);
    CHECK(Code(Eval(type, Attributes(), {&x})) == absl::StatusCode::kInvalidArgument);
    const Tensor t3 = MakeInt64({3}, {0, 1, 2});  // N mismatch
    CHECK(Code(Eval(type, Attributes(), {&x, &t3})) == absl::StatusCode::kInvalidArgument);
    const Tensor t22 = MakeInt64({2, 1}, {0, 1});  // rank mismatch
    CHECK(Code(Eval(type, Attributes(), {&x, &t22})) == absl::StatusCode::kInvalidArgument);
    const Tensor w2 = MakeFloat({2}, {1, 1});  // not [C]
    CHECK(Code(Eval(type, Attributes(), {&x, &t, &w2})) == absl::StatusCode::kInvalidArgument);
    const Tensor x1 = MakeFloat({3}, {0, 0, 0});  // rank 1
    const Tensor t0 = MakeInt64({}, {0});
    CHECK(Code(Eval(type, Attributes(), {&x1, &t0})) == absl::StatusCode::kInvalidArgument);
    const Tensor tf = MakeFloat({2}, {0, 1});  // float target
    CHECK(Code(Eval(type, Attributes(), {&x, &tf})) == absl::StatusCode::kUnimplemented);
    const Tensor xi = MakeInt64({2, 3}, {0, 0, 0, 0, 0, 0});  // integer scores
    CHECK(Code(Eval(type, Attributes(), {&xi, &t})) == absl::StatusCode::kUnimplemented);
    CHECK(Code(Eval(type, Attributes(), {&x, &t, &w, &w})) == absl::StatusCode::kInvalidArgument);
  }
  Attributes three;
  three.Set("num_outputs", int64_t{3});
  CHECK(Code(Eval(kSce, three, {&x, &t})) == absl::StatusCode::kInvalidArgument);
  // The error names the attribute.
  auto bad = Eval(kNll, Reduction("avg"), {&x, &t});
  CHECK(std::string(bad.status().message()).find("'reduction'") != std::string::npos);
}

TEST_CASE("Loss kernels give the same bits for any thread count", "[kernels][loss]") {
  std::mt19937 rng(7);
  // 64 x 1024 positions (16 blocks), 3 and 10 classes.
  for (int64_t classes : {3, 10}) {
    const Tensor x = RandomTensor({64, classes, 32, 32}, rng, -4.0f, 0.0f);
    std::uniform_int_distribution<int64_t> pick(0, classes - 1);
    std::vector<int64_t> tv(64 * 32 * 32);
    for (int64_t& v : tv) v = pick(rng);
    const Tensor t = MakeInt64({64, 32, 32}, tv);
    const Tensor w = RandomTensor({classes}, rng, 0.1f, 1.0f);
    for (const char* r : {"none", "sum", "mean"}) {
      CheckThreadInvariant(kNll, Ignore(r, 1), {&x, &t, &w});
      Attributes two = Ignore(r, 1);
      two.Set("num_outputs", int64_t{2});
      CheckThreadInvariant(kSce, two, {&x, &t, &w});
    }
  }
}

}  // namespace
}  // namespace engine::kernels
