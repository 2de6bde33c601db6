// Tests of the reductions and search kernels (kernels/reduce.cc) on
// hand-computed values (the examples of ONNX Operators.md where it has them),
// their attribute and input forms, errors, and thread-count invariance.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/compare.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "kernels/thread_pool.h"
#include "ops/op_registry.h"
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

void ExpectClose(const Tensor& actual, const Tensor& expected, double rtol = 1e-5) {
  REQUIRE(actual.shape() == expected.shape());
  CompareResult r = CompareTensors(actual, expected, rtol, 1e-6);
  INFO(r.message);
  CHECK(r.passed);
}

auto Code(const absl::StatusOr<std::vector<Tensor>>& r) { return r.status().code(); }

Attributes Axes(std::vector<int64_t> axes, int64_t keepdims = 1) {
  Attributes a;
  a.Set("axes", std::move(axes));
  a.Set("keepdims", keepdims);
  return a;
}

// ONNX Operators.md example data: shape [3, 2, 2].
Tensor Data322() { return MakeFloat({3, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}); }

TEST_CASE("ReduceSum/Mean/Max/Min/Prod over one axis (attribute form)", "[kernels][reduce]") {
  const Tensor x = MakeFloat({3, 2, 2}, {5, 1, 20, 2, 30, 1, 40, 2, 55, 1, 60, 2});
  // axes = [1], keepdims = 1: pairs (x[i,0,j], x[i,1,j]).
  ExpectClose(Eval1("ReduceSum", Axes({1}), {&x}), MakeFloat({3, 1, 2}, {25, 3, 70, 3, 115, 3}));
  ExpectClose(Eval1("ReduceMean", Axes({1}), {&x}),
              MakeFloat({3, 1, 2}, {12.5f, 1.5f, 35, 1.5f, 57.5f, 1.5f}));
  ExpectClose(Eval1("ReduceMax", Axes({1}, 0), {&x}), MakeFloat({3, 2}, {20, 2, 40, 2, 60, 2}));
  ExpectClose(Eval1("ReduceMin", Axes({1}, 0), {&x}), MakeFloat({3, 2}, {5, 1, 30, 1, 55, 1}));
  ExpectClose(Eval1("ReduceProd", Axes({1}), {&x}),
              MakeFloat({3, 1, 2}, {100, 2, 1200, 2, 3300, 2}));
}

TEST_CASE("Reduce* norms and logs (ONNX examples)", "[kernels][reduce]") {
  const Tensor x = Data322();
  // ReduceL1, axes [2], keepdims: |1|+|2| = 3, 7, 11, 15, 19, 23.
  ExpectClose(Eval1("ReduceL1", Axes({2}), {&x}), MakeFloat({3, 2, 1}, {3, 7, 11, 15, 19, 23}));
  // ReduceL2 axes [2]: sqrt(1+4), sqrt(9+16), ...
  ExpectClose(Eval1("ReduceL2", Axes({-1}, 0), {&x}),
              MakeFloat({3, 2}, {std::sqrt(5.0f), 5.0f, std::sqrt(61.0f), std::sqrt(113.0f),
                                 std::sqrt(181.0f), std::sqrt(265.0f)}));
  ExpectClose(Eval1("ReduceSumSquare", Axes({2}, 0), {&x}),
              MakeFloat({3, 2}, {5, 25, 61, 113, 181, 265}));
  ExpectClose(Eval1("ReduceLogSum", Axes({0, 1}, 0), {&x}),
              MakeFloat({2}, {std::log(1.0f + 3 + 5 + 7 + 9 + 11),
                              std::log(2.0f + 4 + 6 + 8 + 10 + 12)}));
  // LogSumExp stays finite where exp overflows float: log(e^1000 + e^1000).
  const Tensor big = MakeFloat({2}, {1000, 1000});
  ExpectClose(Eval1("ReduceLogSumExp", Axes({0}, 0), {&big}),
              MakeFloat({}, {1000 + std::log(2.0f)}));
  ExpectClose(Eval1("ReduceLogSumExp", Axes({1}), {&x}),
              MakeFloat({3, 1, 2}, {3 + std::log(1 + std::exp(-2.0f)), 4 + std::log(1 + std::exp(-2.0f)),
                                    7 + std::log(1 + std::exp(-2.0f)), 8 + std::log(1 + std::exp(-2.0f)),
                                    11 + std::log(1 + std::exp(-2.0f)),
                                    12 + std::log(1 + std::exp(-2.0f))}));
}

TEST_CASE("Reduce* default axes, axes input, noop_with_empty_axes", "[kernels][reduce]") {
  const Tensor x = Data322();
  // Default: every axis, keepdims.
  ExpectClose(Eval1("ReduceSum", Attributes(), {&x}), MakeFloat({1, 1, 1}, {78}));
  ExpectClose(Eval1("ReduceMean", Axes({}, 0), {&x}), MakeFloat({}, {6.5f}));
  // Axes as a constant input (ReduceSum-13, the others from opset 18),
  // non-adjacent axes [0, 2] and a negative axis.
  const Tensor axes = MakeInt64({2}, {0, -1});
  Attributes keep0;
  keep0.Set("keepdims", int64_t{0});
  // Sum over i and k of x[i, j, k]: j = 0: 1+2+5+6+9+10 = 33; j = 1: 3+4+7+8+11+12 = 45.
  ExpectClose(Eval1("ReduceSum", keep0, {&x, &axes}), MakeFloat({2}, {33, 45}));
  ExpectClose(Eval1("ReduceMax", keep0, {&x, &axes}), MakeFloat({2}, {10, 12}));
  // Empty axes input: all axes, or the identity with noop_with_empty_axes.
  const Tensor empty = MakeInt64({0}, {});
  ExpectClose(Eval1("ReduceSum", keep0, {&x, &empty}), MakeFloat({}, {78}));
  Attributes noop;
  noop.Set("noop_with_empty_axes", int64_t{1});
  ExpectClose(Eval1("ReduceSum", noop, {&x, &empty}), x);
  ExpectClose(Eval1("ReduceL2", noop, {&x, nullptr}), x);
}

TEST_CASE("Reduce* over an empty axis gives the ONNX identities", "[kernels][reduce]") {
  const Tensor x(DataType::kFloat32, {2, 0});
  const Attributes a = Axes({1}, 0);
  CHECK(ToVector(Eval1("ReduceSum", a, {&x})) == std::vector<float>{0, 0});
  CHECK(ToVector(Eval1("ReduceProd", a, {&x})) == std::vector<float>{1, 1});
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(ToVector(Eval1("ReduceMax", a, {&x})) == std::vector<float>{-inf, -inf});
  CHECK(ToVector(Eval1("ReduceMin", a, {&x})) == std::vector<float>{inf, inf});
  CHECK(ToVector(Eval1("ReduceLogSumExp", a, {&x})) == std::vector<float>{-inf, -inf});
}

TEST_CASE("Reduce* integer and int8 forms", "[kernels][reduce]") {
  const Tensor xi = MakeTyped<int64_t>(DataType::kInt64, {2, 3}, {1, -2, 3, 4, 5, -6});
  CHECK(Values<int64_t>(Eval1("ReduceSum", Axes({1}, 0), {&xi})) == std::vector<int64_t>{2, 3});
  CHECK(Values<int64_t>(Eval1("ReduceProd", Axes({0}, 0), {&xi})) ==
        std::vector<int64_t>{4, -10, -18});
  CHECK(Values<int64_t>(Eval1("ReduceL1", Axes({1}, 0), {&xi})) == std::vector<int64_t>{6, 15});
  // int8: the INT8 pass-through form of ReduceMax / ReduceMin.
  const Tensor x8 = MakeTyped<int8_t>(DataType::kInt8, {2, 3}, {-128, -5, 7, 127, 0, -1});
  const Tensor mx = Eval1("ReduceMax", Axes({1}, 0), {&x8});
  CHECK(mx.dtype() == DataType::kInt8);
  CHECK(Values<int8_t>(mx) == std::vector<int8_t>{7, 127});
  CHECK(Values<int8_t>(Eval1("ReduceMin", Axes({1}, 0), {&x8})) == std::vector<int8_t>{-128, -1});
  // Float-only reductions refuse integers.
  CHECK(Code(Eval("ReduceMean", Axes({1}), {&x8})) == absl::StatusCode::kUnimplemented);
  CHECK(Code(Eval("ReduceLogSumExp", Axes({1}), {&xi})) == absl::StatusCode::kUnimplemented);
}

TEST_CASE("Reduce* propagates NaN through Max and Min", "[kernels][reduce]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = MakeFloat({2, 2}, {1, nan, nan, 3});
  const std::vector<float> mx = ToVector(Eval1("ReduceMax", Axes({1}, 0), {&x}));
  CHECK(std::isnan(mx[0]));
  CHECK(std::isnan(mx[1]));
}

TEST_CASE("Reduce* reports bad axes and non-constant axes", "[kernels][reduce]") {
  const Tensor x = Data322();
  CHECK(Code(Eval("ReduceSum", Axes({3}), {&x})) == absl::StatusCode::kInvalidArgument);
  CHECK(Code(Eval("ReduceSum", Axes({1, -2}), {&x})) == absl::StatusCode::kInvalidArgument);
  // A non-constant axes input cannot be shaped at build time.
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("ReduceSum");
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> in(2);
  in[0].dtype = DataType::kFloat32;
  in[0].shape = {3, 2, 2};
  in[1].dtype = DataType::kInt64;
  in[1].shape = {1};
  auto r = def->infer(Attributes(), in);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(std::string(r.status().message()).find("axes") != std::string::npos);
}

TEST_CASE("ArgMax / ArgMin with keepdims and select_last_index (ONNX examples)",
          "[kernels][reduce]") {
  const Tensor x = MakeFloat({2, 2}, {2, 2, 3, 10});
  Attributes a;
  a.Set("axis", int64_t{1});
  Tensor y = Eval1("ArgMax", a, {&x});
  CHECK(y.dtype() == DataType::kInt64);
  CHECK(y.shape() == Dims{2, 1});
  CHECK(Values<int64_t>(y) == std::vector<int64_t>{0, 1});
  a.Set("select_last_index", int64_t{1});
  CHECK(Values<int64_t>(Eval1("ArgMax", a, {&x})) == std::vector<int64_t>{1, 1});
  Attributes b;  // axis 0, keepdims 0
  b.Set("keepdims", int64_t{0});
  y = Eval1("ArgMin", b, {&x});
  CHECK(y.shape() == Dims{2});
  CHECK(Values<int64_t>(y) == std::vector<int64_t>{0, 0});
  const Tensor x2 = MakeFloat({2, 3}, {4, 1, 1, 0, 9, 0});
  b.Set("axis", int64_t{-1});
  CHECK(Values<int64_t>(Eval1("ArgMin", b, {&x2})) == std::vector<int64_t>{1, 0});
  b.Set("select_last_index", int64_t{1});
  CHECK(Values<int64_t>(Eval1("ArgMin", b, {&x2})) == std::vector<int64_t>{2, 2});
  b.Set("axis", int64_t{2});
  CHECK(Code(Eval("ArgMin", b, {&x2})) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("TopK largest and smallest, both outputs (ONNX examples)", "[kernels][reduce]") {
  const Tensor x = MakeFloat({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const Tensor k = MakeInt64({1}, {3});
  auto out = Eval("TopK", Attributes(), {&x, &k});
  REQUIRE(out.ok());
  REQUIRE(out->size() == 2);
  ExpectClose((*out)[0], MakeFloat({3, 3}, {3, 2, 1, 7, 6, 5, 11, 10, 9}));
  CHECK((*out)[1].dtype() == DataType::kInt64);
  CHECK(Values<int64_t>((*out)[1]) == std::vector<int64_t>{3, 2, 1, 3, 2, 1, 3, 2, 1});
  // Smallest along axis 0, with ties: equal values keep the lower index first.
  const Tensor t = MakeFloat({4, 2}, {5, 1, 2, 1, 2, 0, 9, 1});
  const Tensor k2 = MakeInt64({1}, {2});
  Attributes a;
  a.Set("axis", int64_t{0});
  a.Set("largest", int64_t{0});
  out = Eval("TopK", a, {&t, &k2});
  REQUIRE(out.ok());
  ExpectClose((*out)[0], MakeFloat({2, 2}, {2, 0, 2, 1}));
  CHECK(Values<int64_t>((*out)[1]) == std::vector<int64_t>{1, 2, 2, 0});
  // K out of range; K not a constant.
  const Tensor k9 = MakeInt64({1}, {9});
  CHECK(Code(Eval("TopK", Attributes(), {&x, &k9})) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("CumSum: exclusive, reverse, axes (ONNX examples)", "[kernels][reduce]") {
  const Tensor x = MakeFloat({5}, {1, 2, 3, 4, 5});
  const Tensor axis0 = MakeTyped<int32_t>(DataType::kInt32, {}, {0});
  ExpectClose(Eval1("CumSum", Attributes(), {&x, &axis0}), MakeFloat({5}, {1, 3, 6, 10, 15}));
  Attributes ex;
  ex.Set("exclusive", int64_t{1});
  ExpectClose(Eval1("CumSum", ex, {&x, &axis0}), MakeFloat({5}, {0, 1, 3, 6, 10}));
  Attributes rev;
  rev.Set("reverse", int64_t{1});
  ExpectClose(Eval1("CumSum", rev, {&x, &axis0}), MakeFloat({5}, {15, 14, 12, 9, 5}));
  rev.Set("exclusive", int64_t{1});
  ExpectClose(Eval1("CumSum", rev, {&x, &axis0}), MakeFloat({5}, {14, 12, 9, 5, 0}));
  const Tensor m = MakeFloat({2, 3}, {1, 2, 3, 4, 5, 6});
  ExpectClose(Eval1("CumSum", Attributes(), {&m, &axis0}), MakeFloat({2, 3}, {1, 2, 3, 5, 7, 9}));
  const Tensor axis_neg = MakeInt64({1}, {-1});
  ExpectClose(Eval1("CumSum", Attributes(), {&m, &axis_neg}),
              MakeFloat({2, 3}, {1, 3, 6, 4, 9, 15}));
  const Tensor mi = MakeTyped<int32_t>(DataType::kInt32, {2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(Values<int32_t>(Eval1("CumSum", rev, {&mi, &axis_neg})) ==
        std::vector<int32_t>{5, 3, 0, 11, 6, 0});
}

// Constant inputs (axes, K) are handed to Prepare as constants.
void CheckConstThreadInvariant(const std::string& type, const Attributes& attrs,
                               const std::vector<const Tensor*>& inputs) {
  testing::CheckThreadInvariant(type, attrs, inputs, testing::Inputs::kConstants);
}

TEST_CASE("Reductions and search give the same bits with any thread count",
          "[kernels][reduce][parallel]") {
  std::mt19937 rng(17);
  const Tensor x = RandomTensor({4, 64, 24, 24}, rng);
  const Tensor axes_hw = MakeInt64({2}, {2, 3});
  const Tensor axes_c = MakeInt64({1}, {1});
  for (const char* type : {"ReduceSum", "ReduceMean", "ReduceLogSumExp", "ReduceL2"}) {
    CheckConstThreadInvariant(type, Attributes(), {&x, &axes_hw});
    CheckConstThreadInvariant(type, Attributes(), {&x, &axes_c});
  }
  Attributes a;
  a.Set("axis", int64_t{1});
  CheckConstThreadInvariant("ArgMax", a, {&x});
  const Tensor k = MakeInt64({1}, {5});
  CheckConstThreadInvariant("TopK", a, {&x, &k});
  CheckConstThreadInvariant("CumSum", Attributes(), {&x, &axes_c});
}

}  // namespace
}  // namespace engine::kernels
