// Tests of the indexing and Einsum host kernels (src/kernels/indexing.cc,
// src/kernels/einsum.cc): hand-computed cases from the ONNX operator spec
// examples, exact comparisons (pure data movement, or sums of a few small
// integers-valued floats), and a random batched matmul against a direct loop
// at 1e-5 relative tolerance.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "kernels/kernel_test_util.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::kernels::testing::Eval;
using engine::kernels::testing::Eval1;
using engine::testing::MakeFloat;
using engine::testing::MakeInt64;
using engine::testing::MakeTyped;
using engine::testing::RandomTensor;
using engine::testing::ToVector;
using engine::testing::Values;

Attributes Attr(std::initializer_list<std::pair<std::string, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.Set(k, v);
  return a;
}

absl::StatusCode Code(const std::string& type, const Attributes& attrs,
                      std::vector<const Tensor*> inputs) {
  auto out = Eval(type, attrs, inputs);
  INFO(out.status().ToString());
  return out.status().code();
}

TEST_CASE("GatherElements: spec examples, negative and int32 indices") {
  Tensor data = MakeFloat({2, 2}, {1, 2, 3, 4});
  Tensor idx = MakeInt64({2, 2}, {0, 0, 1, 0});
  Tensor y = Eval1("GatherElements", Attr({{"axis", int64_t{1}}}), {&data, &idx});
  CHECK(ToVector(y) == std::vector<float>{1, 1, 4, 3});

  Tensor d3 = MakeFloat({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor i3 = MakeTyped<int32_t>(DataType::kInt32, {2, 3}, {-1, -2, 0, -2, 0, 0});
  Tensor y3 = Eval1("GatherElements", Attr({{"axis", int64_t{0}}}), {&d3, &i3});
  CHECK(y3.shape() == Dims{2, 3});
  CHECK(ToVector(y3) == std::vector<float>{7, 5, 3, 4, 2, 3});

  Tensor bad = MakeInt64({2, 2}, {0, 2, 0, 0});
  CHECK(Code("GatherElements", Attr({{"axis", int64_t{1}}}), {&data, &bad}) ==
        absl::StatusCode::kInvalidArgument);
  Tensor rank1 = MakeInt64({2}, {0, 1});
  CHECK(Code("GatherElements", Attributes(), {&data, &rank1}) ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("GatherND: spec examples with and without batch_dims") {
  Tensor d = MakeTyped<int32_t>(DataType::kInt32, {2, 2}, {0, 1, 2, 3});
  Tensor i = MakeInt64({2, 2}, {0, 0, 1, 1});
  CHECK(Values<int32_t>(Eval1("GatherND", Attributes(), {&d, &i})) == std::vector<int32_t>{0, 3});
  Tensor i_rows = MakeInt64({2, 1}, {1, 0});
  Tensor rows = Eval1("GatherND", Attributes(), {&d, &i_rows});
  CHECK(rows.shape() == Dims{2, 2});
  CHECK(Values<int32_t>(rows) == std::vector<int32_t>{2, 3, 0, 1});

  Tensor d3 = MakeFloat({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  Tensor i3 = MakeInt64({2, 1, 2}, {0, 1, 1, 0});
  Tensor y3 = Eval1("GatherND", Attributes(), {&d3, &i3});
  CHECK(y3.shape() == Dims{2, 1, 2});
  CHECK(ToVector(y3) == std::vector<float>{2, 3, 4, 5});

  Tensor ib = MakeInt64({2, 1}, {1, 0});
  Tensor yb = Eval1("GatherND", Attr({{"batch_dims", int64_t{1}}}), {&d3, &ib});
  CHECK(yb.shape() == Dims{2, 2});
  CHECK(ToVector(yb) == std::vector<float>{2, 3, 4, 5});

  Tensor too_long = MakeInt64({1, 4}, {0, 0, 0, 0});
  CHECK(Code("GatherND", Attributes(), {&d3, &too_long}) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ScatterND: spec example and every reduction") {
  Tensor data = MakeFloat({8}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor idx = MakeInt64({4, 1}, {4, 3, 1, 7});
  Tensor upd = MakeFloat({4}, {9, 10, 11, 12});
  CHECK(ToVector(Eval1("ScatterND", Attributes(), {&data, &idx, &upd})) ==
        std::vector<float>{1, 11, 3, 10, 9, 6, 7, 12});

  Tensor dup = MakeInt64({3, 1}, {0, 0, -1});
  Tensor u3 = MakeFloat({3}, {3, 5, -2});
  auto run = [&](const char* r) {
    return ToVector(Eval1("ScatterND", Attr({{"reduction", std::string(r)}}), {&data, &dup, &u3}));
  };
  CHECK(run("add") == std::vector<float>{9, 2, 3, 4, 5, 6, 7, 6});
  CHECK(run("mul") == std::vector<float>{15, 2, 3, 4, 5, 6, 7, -16});
  CHECK(run("max") == std::vector<float>{5, 2, 3, 4, 5, 6, 7, 8});
  CHECK(run("min") == std::vector<float>{1, 2, 3, 4, 5, 6, 7, -2});
  CHECK(run("none") == std::vector<float>{5, 2, 3, 4, 5, 6, 7, -2});  // last update wins

  // Slices: data [2, 3], one row index.
  Tensor d2 = MakeFloat({2, 3}, {0, 0, 0, 0, 0, 0});
  Tensor i2 = MakeInt64({1, 1}, {1});
  Tensor u2 = MakeFloat({1, 3}, {7, 8, 9});
  CHECK(ToVector(Eval1("ScatterND", Attributes(), {&d2, &i2, &u2})) ==
        std::vector<float>{0, 0, 0, 7, 8, 9});

  Tensor bad_upd = MakeFloat({3}, {7, 8, 9});
  CHECK(Code("ScatterND", Attributes(), {&d2, &i2, &bad_upd}) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Code("ScatterND", Attr({{"reduction", std::string("sub")}}), {&data, &dup, &u3}) ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ScatterElements: spec examples, reductions, int64 data") {
  Tensor data = MakeFloat({3, 3}, std::vector<float>(9, 0));
  Tensor idx = MakeInt64({2, 3}, {1, 0, 2, 0, 2, 1});
  Tensor upd = MakeFloat({2, 3}, {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f});
  CHECK(ToVector(Eval1("ScatterElements", Attributes(), {&data, &idx, &upd})) ==
        std::vector<float>{2.0f, 1.1f, 0, 1.0f, 0, 2.2f, 0, 2.1f, 1.2f});

  Tensor d1 = MakeFloat({1, 5}, {1, 2, 3, 4, 5});
  Tensor i1 = MakeInt64({1, 2}, {1, -4});  // both hit position 1
  Tensor u1 = MakeFloat({1, 2}, {1.5f, 2.5f});
  auto run = [&](const char* r) {
    return ToVector(Eval1("ScatterElements",
                          Attr({{"axis", int64_t{1}}, {"reduction", std::string(r)}}),
                          {&d1, &i1, &u1}));
  };
  CHECK(run("add") == std::vector<float>{1, 6, 3, 4, 5});
  CHECK(run("mul") == std::vector<float>{1, 7.5f, 3, 4, 5});
  CHECK(run("max") == std::vector<float>{1, 2.5f, 3, 4, 5});
  CHECK(run("min") == std::vector<float>{1, 1.5f, 3, 4, 5});

  Tensor di = MakeInt64({4}, {10, 20, 30, 40});
  Tensor ii = MakeInt64({2}, {3, 0});
  Tensor ui = MakeInt64({2}, {1, 2});
  CHECK(Values<int64_t>(Eval1("ScatterElements", Attr({{"reduction", std::string("add")}}),
                              {&di, &ii, &ui})) == std::vector<int64_t>{12, 20, 30, 41});
  Tensor oob = MakeInt64({2}, {4, 0});
  CHECK(Code("ScatterElements", Attributes(), {&di, &oob, &ui}) ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("OneHot: axes, negative and out-of-range indices, float indices and depth") {
  Tensor idx = MakeInt64({4}, {0, -1, 2, 5});
  Tensor depth = MakeInt64({}, {3});
  Tensor values = MakeFloat({2}, {-1, 7});
  Tensor y = Eval1("OneHot", Attributes(), {&idx, &depth, &values});
  CHECK(y.shape() == Dims{4, 3});
  CHECK(ToVector(y) == std::vector<float>{7, -1, -1, -1, -1, 7, -1, -1, 7, -1, -1, -1});

  Tensor y0 = Eval1("OneHot", Attr({{"axis", int64_t{0}}}), {&idx, &depth, &values});
  CHECK(y0.shape() == Dims{3, 4});
  CHECK(ToVector(y0) == std::vector<float>{7, -1, -1, -1, -1, -1, -1, -1, -1, 7, 7, -1});

  Tensor fidx = MakeFloat({2, 2}, {1.0f, 9.0f, 2.7f, 0.0f});
  Tensor fdepth = MakeFloat({1}, {10.0f});
  Tensor ivals = MakeInt64({2}, {0, 1});
  Tensor yf = Eval1("OneHot", Attr({{"axis", int64_t{-2}}}), {&fidx, &fdepth, &ivals});
  CHECK(yf.shape() == Dims{2, 10, 2});
  std::vector<int64_t> expect(40, 0);
  expect[(0 * 10 + 1) * 2 + 0] = 1;
  expect[(0 * 10 + 9) * 2 + 1] = 1;
  // 2.7 matches no position (exact comparison, as the ONNX reference and ORT).
  expect[(1 * 10 + 0) * 2 + 1] = 1;
  CHECK(Values<int64_t>(yf) == expect);
}

TEST_CASE("OneHot: depth must be a build-time constant") {
  kernels::TensorInfo idx{DataType::kInt64, {3}, nullptr, true};
  kernels::TensorInfo depth{DataType::kInt64, {}, nullptr, true};
  kernels::TensorInfo values{DataType::kFloat32, {2}, nullptr, true};
  const auto* def = ops::OpRegistry::Builtin().Find("OneHot");
  REQUIRE(def != nullptr);
  std::vector<kernels::TensorInfo> in = {idx, depth, values};
  auto out = def->host.infer(Attributes(), in);
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(std::string(out.status().message()).find("depth must be a constant") != std::string::npos);
}

TEST_CASE("Einsum: transposes, reductions, diagonal, inner product") {
  Tensor x = MakeFloat({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor t = Eval1("VectorEinsum", Attr({{"equation", std::string("ij->ji")}}), {&x});
  CHECK(t.shape() == Dims{3, 2});
  CHECK(ToVector(t) == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(ToVector(Eval1("VectorEinsum", Attr({{"equation", std::string("ij->i")}}), {&x})) ==
        std::vector<float>{6, 15});
  CHECK(ToVector(Eval1("VectorEinsum", Attr({{"equation", std::string("ij")}}), {&x})) ==
        std::vector<float>{1, 2, 3, 4, 5, 6});
  Tensor s = Eval1("VectorEinsum", Attr({{"equation", std::string("ij->")}}), {&x});
  CHECK(s.shape().empty());
  CHECK(ToVector(s) == std::vector<float>{21});

  Tensor m = MakeFloat({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor diag = Eval1("VectorEinsum", Attr({{"equation", std::string("... i i -> ... i")}}), {&m});
  CHECK(diag.shape() == Dims{2, 2});
  CHECK(ToVector(diag) == std::vector<float>{1, 4, 5, 8});

  Tensor a = MakeFloat({3}, {1, 2, 3});
  Tensor b = MakeFloat({3}, {4, 5, 6});
  CHECK(ToVector(Eval1("Einsum", Attr({{"equation", std::string("i,i")}}), {&a, &b})) ==
        std::vector<float>{32});
  Tensor outer = Eval1("VectorEinsum", Attr({{"equation", std::string("i,j->ij")}}), {&a, &b});
  CHECK(ToVector(outer) == std::vector<float>{4, 5, 6, 8, 10, 12, 12, 15, 18});

  Tensor ai = MakeInt64({2, 2}, {1, 2, 3, 4});
  CHECK(Values<int64_t>(Eval1("Einsum", Attr({{"equation", std::string("ij,jk->ik")}}),
                              {&ai, &ai})) == std::vector<int64_t>{7, 10, 15, 22});

  CHECK(Code("Einsum", Attr({{"equation", std::string("ij,jk->ik")}}), {&a, &b}) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Code("VectorEinsum", Attr({{"equation", std::string("i1->i")}}), {&a}) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Code("VectorEinsum", Attr({{"equation", std::string("i->ii")}}), {&a}) ==
        absl::StatusCode::kInvalidArgument);
}

// out[b,h,q,k] = sum_d x[b,h,q,d] * y[b,h,k,d], by a direct loop.
TEST_CASE("Einsum: attention scores bhqd,bhkd->bhqk and bij,bjk->bik match a direct loop") {
  std::mt19937 rng(7);
  const int64_t B = 2, H = 3, Q = 5, K = 4, D = 6;
  Tensor x = RandomTensor({B, H, Q, D}, rng);
  Tensor y = RandomTensor({B, H, K, D}, rng);
  Tensor z = Eval1("Einsum", Attr({{"equation", std::string("bhqd,bhkd->bhqk")}}), {&x, &y});
  REQUIRE(z.shape() == Dims{B, H, Q, K});
  const float* px = x.data_as<float>();
  const float* py = y.data_as<float>();
  const float* pz = z.data_as<float>();
  for (int64_t g = 0; g < B * H; ++g) {
    for (int64_t q = 0; q < Q; ++q) {
      for (int64_t k = 0; k < K; ++k) {
        double acc = 0;
        for (int64_t d = 0; d < D; ++d)
          acc += double(px[(g * Q + q) * D + d]) * py[(g * K + k) * D + d];
        CHECK(pz[(g * Q + q) * K + k] == Approx(acc).epsilon(1e-5).margin(1e-6));
      }
    }
  }
  // bij,bjk->bik with a broadcast batch (size 1 against 3): the loop path.
  Tensor a = RandomTensor({1, 2, 3}, rng);
  Tensor b = RandomTensor({3, 3, 4}, rng);
  Tensor c = Eval1("Einsum", Attr({{"equation", std::string("bij,bjk->bik")}}), {&a, &b});
  REQUIRE(c.shape() == Dims{3, 2, 4});
  for (int64_t bb = 0; bb < 3; ++bb) {
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t k = 0; k < 4; ++k) {
        double acc = 0;
        for (int64_t j = 0; j < 3; ++j) {
          acc += double(a.data_as<float>()[i * 3 + j]) * b.data_as<float>()[(bb * 3 + j) * 4 + k];
        }
        CHECK(c.data_as<float>()[(bb * 2 + i) * 4 + k] == Approx(acc).epsilon(1e-5).margin(1e-6));
      }
    }
  }
}

}  // namespace
}  // namespace engine::kernels
