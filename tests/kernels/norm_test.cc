// Tests of BatchNormalization, Softmax and LRN against naive implementations.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "engine/compare.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::MakeFloat;
using engine::testing::RandomTensor;
using engine::kernels::testing::Eval;
using engine::testing::ToVector;

void ExpectClose(const Tensor& actual, const Tensor& expected) {
  CompareResult r = CompareTensors(actual, expected, 1e-4, 1e-6);
  INFO(r.message);
  CHECK(r.passed);
}

auto Code(const absl::StatusOr<std::vector<Tensor>>& r) { return r.status().code(); }

// ---------------------------------------------------------------------------

TEST_CASE("BatchNormalization matches the inference formula", "[kernels]") {
  std::mt19937 rng(1);
  for (const Dims& shape : {Dims{2, 3}, Dims{2, 3, 4, 5}, Dims{1, 2, 3, 4, 5}, Dims{3, 1, 7}}) {
    const int64_t c = shape[1];
    Tensor x = RandomTensor(shape, rng, -3, 3);
    Tensor scale = RandomTensor({c}, rng);
    Tensor bias = RandomTensor({c}, rng);
    Tensor mean = RandomTensor({c}, rng);
    Tensor var = RandomTensor({c}, rng, 0.1f, 2.0f);
    const float eps = 1e-2f;
    Attributes attrs;
    attrs.Set("epsilon", eps);
    attrs.Set("momentum", 0.9f);  // ignored in inference
    auto y = Eval("BatchNormalization", attrs, {&x, &scale, &bias, &mean, &var});
    REQUIRE(y.ok());
    const int64_t plane = NumElements(shape) / (shape[0] * c);
    std::vector<float> expected(NumElements(shape));
    for (int64_t i = 0; i < NumElements(shape); ++i) {
      const int64_t ch = (i / plane) % c;
      const float* xs = x.data_as<float>();
      expected[i] = (xs[i] - mean.data_as<float>()[ch]) /
                        std::sqrt(var.data_as<float>()[ch] + eps) * scale.data_as<float>()[ch] +
                    bias.data_as<float>()[ch];
    }
    INFO("X " << DimsToString(shape));
    ExpectClose((*y)[0], MakeFloat(shape, expected));
  }
}

TEST_CASE("BatchNormalization hand-computed (ONNX example)", "[kernels]") {
  Tensor x = MakeFloat({1, 2, 1, 3}, {-1, 0, 1, 2, 3, 4});
  Tensor s = MakeFloat({2}, {1.0f, 1.5f});
  Tensor b = MakeFloat({2}, {0, 1});
  Tensor mean = MakeFloat({2}, {0, 3});
  Tensor var = MakeFloat({2}, {1, 1.5f});
  auto y = Eval("BatchNormalization", Attributes(), {&x, &s, &b, &mean, &var});
  REQUIRE(y.ok());
  ExpectClose((*y)[0],
              MakeFloat({1, 2, 1, 3}, {-0.999995f, 0, 0.999995f, -0.22474074f, 1.0f, 2.2247407f}));
}

TEST_CASE("BatchNormalization reports bad inputs", "[kernels]") {
  Tensor x(DataType::kFloat32, {2, 3, 4});
  Tensor c3 = MakeFloat({3}, {1, 1, 1});
  Tensor c2 = MakeFloat({2}, {1, 1});
  REQUIRE(Eval("BatchNormalization", Attributes(), {&x, &c3, &c3, &c3, &c3}).ok());
  CHECK(Code(Eval("BatchNormalization", Attributes(), {&x, &c3, &c2, &c3, &c3})) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Code(Eval("BatchNormalization", Attributes(), {&x, &c3, &c3, &c3})) ==
        absl::StatusCode::kInvalidArgument);
  Tensor x1(DataType::kFloat32, {3});
  CHECK(Code(Eval("BatchNormalization", Attributes(), {&x1, &c3, &c3, &c3, &c3})) ==
        absl::StatusCode::kInvalidArgument);
  Attributes training;
  training.Set("training_mode", int64_t{1});
  CHECK(Code(Eval("BatchNormalization", training, {&x, &c3, &c3, &c3, &c3})) ==
        absl::StatusCode::kUnimplemented);
  Tensor xi(DataType::kInt32, {2, 3, 4});
  CHECK(Code(Eval("BatchNormalization", Attributes(), {&xi, &c3, &c3, &c3, &c3})) ==
        absl::StatusCode::kUnimplemented);

  SECTION("running mean/var outputs are unimplemented") {
    const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("BatchNormalization");
    REQUIRE(def != nullptr);
    std::vector<TensorInfo> in(5);
    for (auto& t : in) {
      t.dtype = DataType::kFloat32;
      t.shape = {3};
    }
    in[0].shape = x.shape();
    auto outs = def->infer(Attributes(), in);
    REQUIRE(outs.ok());
    std::vector<TensorInfo> three = *outs;
    three.push_back(in[1]);
    three.push_back(in[1]);
    auto kernel = def->create();
    CHECK(kernel->Prepare(Attributes(), in, three).code() == absl::StatusCode::kUnimplemented);
  }
}

// ---------------------------------------------------------------------------

// Softmax along `axis` computed directly from the definition, in double.
Tensor NaiveSoftmax(const Tensor& x, int64_t axis) {
  const Dims& shape = x.shape();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
  const int64_t n = shape[axis];
  Tensor y(DataType::kFloat32, shape);
  const float* xp = x.data_as<float>();
  float* yp = y.data_as<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      double mx = -1e300, sum = 0;
      for (int64_t i = 0; i < n; ++i) mx = std::max<double>(mx, xp[(o * n + i) * inner + j]);
      for (int64_t i = 0; i < n; ++i) sum += std::exp(xp[(o * n + i) * inner + j] - mx);
      for (int64_t i = 0; i < n; ++i) {
        yp[(o * n + i) * inner + j] =
            static_cast<float>(std::exp(xp[(o * n + i) * inner + j] - mx) / sum);
      }
    }
  return y;
}

TEST_CASE("Softmax matches the definition along every axis", "[kernels]") {
  std::mt19937 rng(5);
  for (const Dims& shape : {Dims{7}, Dims{3, 5}, Dims{2, 3, 4}, Dims{2, 3, 4, 5}, Dims{1, 1000}}) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    Tensor x = RandomTensor(shape, rng, -5, 5);
    for (int64_t axis = -rank; axis < rank; ++axis) {
      Attributes attrs;
      attrs.Set("axis", axis);
      INFO("X " << DimsToString(shape) << " axis " << axis);
      auto y = Eval("Softmax", attrs, {&x});
      REQUIRE(y.ok());
      ExpectClose((*y)[0], NaiveSoftmax(x, axis < 0 ? axis + rank : axis));
    }
    auto y = Eval("Softmax", Attributes(), {&x});  // default axis -1
    REQUIRE(y.ok());
    ExpectClose((*y)[0], NaiveSoftmax(x, rank - 1));
  }
}

TEST_CASE("Softmax is numerically stable", "[kernels]") {
  Tensor x = MakeFloat({2, 4}, {0, 1, 2, 3, 10000, 10001, 10002, 10003});
  auto y = Eval("Softmax", Attributes(), {&x});
  REQUIRE(y.ok());
  const std::vector<float> expected = {0.032058604f, 0.087144315f, 0.23688282f, 0.6439142f};
  const std::vector<float> v = ToVector((*y)[0]);
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 4; ++i) CHECK(v[r * 4 + i] == Approx(expected[i]).epsilon(1e-5));
  // Strided (axis 0) with large values.
  Attributes attrs;
  attrs.Set("axis", int64_t{0});
  Tensor x2 = MakeFloat({2, 2}, {1000, -1000, 1001, -1001});
  y = Eval("Softmax", attrs, {&x2});
  REQUIRE(y.ok());
  const std::vector<float> v2 = ToVector((*y)[0]);
  CHECK(v2[0] == Approx(0.26894142f));
  CHECK(v2[2] == Approx(0.7310586f));
  CHECK(v2[1] == Approx(0.7310586f));
  CHECK(v2[3] == Approx(0.26894142f));
}

TEST_CASE("Softmax reports bad inputs", "[kernels]") {
  Tensor x(DataType::kFloat32, {2, 3});
  Attributes attrs;
  attrs.Set("axis", int64_t{2});
  CHECK(Code(Eval("Softmax", attrs, {&x})) == absl::StatusCode::kInvalidArgument);
  attrs.Set("axis", int64_t{-3});
  CHECK(Code(Eval("Softmax", attrs, {&x})) == absl::StatusCode::kInvalidArgument);
  Tensor scalar(DataType::kFloat32, {});
  CHECK(Code(Eval("Softmax", Attributes(), {&scalar})) == absl::StatusCode::kInvalidArgument);
  Tensor xi(DataType::kInt64, {2, 3});
  CHECK(Code(Eval("Softmax", Attributes(), {&xi})) == absl::StatusCode::kUnimplemented);
  CHECK(Code(Eval("Softmax", Attributes(), {&x, &x})) == absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------

// LRN from the ONNX definition.
Tensor NaiveLrn(const Tensor& x, int64_t size, float alpha, float beta, float bias) {
  const Dims& shape = x.shape();
  const int64_t n_count = shape[0], c_count = shape[1];
  const int64_t plane = NumElements(shape) / (n_count * c_count);
  Tensor y(DataType::kFloat32, shape);
  const float* xp = x.data_as<float>();
  for (int64_t n = 0; n < n_count; ++n)
    for (int64_t c = 0; c < c_count; ++c)
      for (int64_t j = 0; j < plane; ++j) {
        double sq = 0;
        const int64_t lo = c - (size - 1) / 2;  // floor((size - 1) / 2)
        const int64_t hi = c + size / 2;        // ceil((size - 1) / 2)
        for (int64_t i = std::max<int64_t>(0, lo); i <= std::min(c_count - 1, hi); ++i) {
          const double v = xp[(n * c_count + i) * plane + j];
          sq += v * v;
        }
        const double v = xp[(n * c_count + c) * plane + j];
        y.data_as<float>()[(n * c_count + c) * plane + j] =
            static_cast<float>(v / std::pow(bias + alpha / size * sq, beta));
      }
  return y;
}

TEST_CASE("LRN matches the definition", "[kernels]") {
  std::mt19937 rng(9);
  for (int64_t size : {1, 2, 3, 4, 5, 9}) {
    for (const Dims& shape : {Dims{2, 5, 3, 4}, Dims{1, 7, 6}, Dims{1, 3}}) {
      Tensor x = RandomTensor(shape, rng, -3, 3);
      Attributes attrs;
      attrs.Set("size", size);
      INFO("size " << size << " X " << DimsToString(shape));
      auto y = Eval("LRN", attrs, {&x});
      REQUIRE(y.ok());
      ExpectClose((*y)[0], NaiveLrn(x, size, 1e-4f, 0.75f, 1.0f));
      attrs.Set("alpha", 0.5f);
      attrs.Set("beta", 0.6f);
      attrs.Set("bias", 2.0f);
      y = Eval("LRN", attrs, {&x});
      REQUIRE(y.ok());
      ExpectClose((*y)[0], NaiveLrn(x, size, 0.5f, 0.6f, 2.0f));
    }
  }
}

TEST_CASE("LRN hand-computed", "[kernels]") {
  // size 3, alpha 3, beta 1, bias 1 on x = [1, 2, 3] over channels:
  // c0: sq = 1 + 4 = 5 -> 1 / (1 + 5) ; c1: sq = 14 -> 2 / 15 ; c2: sq = 13 -> 3 / 14.
  Tensor x = MakeFloat({1, 3, 1, 1}, {1, 2, 3});
  Attributes attrs;
  attrs.Set("size", int64_t{3});
  attrs.Set("alpha", 3.0f);
  attrs.Set("beta", 1.0f);
  auto y = Eval("LRN", attrs, {&x});
  REQUIRE(y.ok());
  ExpectClose((*y)[0], MakeFloat({1, 3, 1, 1}, {1.0f / 6, 2.0f / 15, 3.0f / 14}));
}

TEST_CASE("LRN reports bad attributes", "[kernels]") {
  Tensor x(DataType::kFloat32, {1, 3, 2, 2});
  CHECK(Code(Eval("LRN", Attributes(), {&x})) == absl::StatusCode::kInvalidArgument);
  Attributes attrs;
  attrs.Set("size", int64_t{0});
  CHECK(Code(Eval("LRN", attrs, {&x})) == absl::StatusCode::kInvalidArgument);
  attrs.Set("size", 3.0f);  // wrong kind
  CHECK(Code(Eval("LRN", attrs, {&x})) == absl::StatusCode::kInvalidArgument);
  attrs.Set("size", int64_t{3});
  Tensor x1(DataType::kFloat32, {3});
  CHECK(Code(Eval("LRN", attrs, {&x1})) == absl::StatusCode::kInvalidArgument);
  Tensor xi(DataType::kInt32, {1, 3, 2, 2});
  CHECK(Code(Eval("LRN", attrs, {&xi})) == absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace engine::kernels
