// Tests of the layout host kernels (src/kernels/layout.cc): Split, Expand,
// Tile, Range, Trilu. Expected values are those of the ONNX operator spec
// examples (Operators.md) and numpy (np.split, np.broadcast_to, np.tile,
// np.arange, np.triu/np.tril), written out by hand.
#include <catch2/catch.hpp>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "engine/tensor.h"
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
using engine::testing::ToVector;
using engine::testing::Values;

std::vector<float> Iota(int64_t n, float start = 0) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

Attributes Attr(std::initializer_list<std::pair<std::string, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.Set(k, v);
  return a;
}

TEST_CASE("Split with sizes, equal and uneven (Split-18) parts", "[kernels][layout]") {
  const Tensor x = MakeFloat({2, 6}, Iota(12));
  SECTION("split sizes along axis 1") {
    const Tensor split = MakeInt64({2}, {2, 4});
    auto out = Eval("Split", Attr({{"axis", int64_t{1}}, {"num_outputs", int64_t{2}}}), {&x, &split});
    REQUIRE(out.ok());
    REQUIRE(out->size() == 2);
    CHECK((*out)[0].shape() == Dims{2, 2});
    CHECK(ToVector((*out)[0]) == std::vector<float>{0, 1, 6, 7});
    CHECK((*out)[1].shape() == Dims{2, 4});
    CHECK(ToVector((*out)[1]) == std::vector<float>{2, 3, 4, 5, 8, 9, 10, 11});
  }
  SECTION("equal parts, negative axis") {
    auto out = Eval("Split", Attr({{"axis", int64_t{-1}}, {"num_outputs", int64_t{3}}}), {&x});
    REQUIRE(out.ok());
    REQUIRE(out->size() == 3);
    CHECK(ToVector((*out)[2]) == std::vector<float>{4, 5, 10, 11});
  }
  SECTION("uneven: ceil(6/4) = 2 per output, the last gets the rest") {
    auto out = Eval("Split", Attr({{"axis", int64_t{1}}, {"num_outputs", int64_t{4}}}), {&x});
    REQUIRE(out.ok());
    REQUIRE(out->size() == 4);
    CHECK((*out)[0].shape() == Dims{2, 2});
    CHECK((*out)[2].shape() == Dims{2, 2});
    CHECK((*out)[3].shape() == Dims{2, 0});
  }
  SECTION("equal_split (opsets < 18) refuses an uneven axis") {
    auto out = Eval("Split",
                    Attr({{"axis", int64_t{1}}, {"num_outputs", int64_t{4}}, {"equal_split", int64_t{1}}}),
                    {&x});
    CHECK(out.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(out.status().message()), Catch::Contains("does not split evenly"));
  }
  SECTION("sizes that do not sum to the axis") {
    const Tensor split = MakeInt64({2}, {2, 3});
    auto out = Eval("Split", Attr({{"axis", int64_t{1}}, {"num_outputs", int64_t{2}}}), {&x, &split});
    CHECK(out.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(out.status().message()), Catch::Contains("sums to 5"));
  }
}

TEST_CASE("Expand broadcasts both ways (ONNX Expand examples)", "[kernels][layout]") {
  SECTION("[3,1] to [2,1,6]: output [2,3,6]") {
    const Tensor x = MakeFloat({3, 1}, {1, 2, 3});
    const Tensor shape = MakeInt64({3}, {2, 1, 6});
    const Tensor y = Eval1("Expand", {}, {&x, &shape});
    CHECK(y.shape() == Dims{2, 3, 6});
    std::vector<float> want;
    for (int b = 0; b < 2; ++b) {
      for (float v : {1.0f, 2.0f, 3.0f}) want.insert(want.end(), 6, v);
    }
    CHECK(ToVector(y) == want);
  }
  SECTION("shape smaller than the input keeps the input's dimensions") {
    const Tensor x = MakeFloat({3, 1}, {1, 2, 3});
    const Tensor shape = MakeInt64({1}, {4});
    const Tensor y = Eval1("Expand", {}, {&x, &shape});
    CHECK(y.shape() == Dims{3, 4});
    CHECK(ToVector(y) == std::vector<float>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  }
  SECTION("int64 data, broadcast of a middle axis") {
    const Tensor x = MakeInt64({2, 1, 2}, {1, 2, 3, 4});
    const Tensor shape = MakeInt64({3}, {2, 3, 2});
    const Tensor y = Eval1("Expand", {}, {&x, &shape});
    CHECK(Values<int64_t>(y) == std::vector<int64_t>{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  }
  SECTION("incompatible shapes") {
    const Tensor x = MakeFloat({3}, {1, 2, 3});
    const Tensor shape = MakeInt64({1}, {4});
    CHECK(Eval("Expand", {}, {&x, &shape}).status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("Expand and Tile give the same bits for any thread count", "[kernels][layout]") {
  const Tensor x = MakeFloat({3, 1, 5}, Iota(15));
  const Tensor shape = MakeInt64({3}, {3, 700, 5});
  const Tensor one = Eval1("Expand", {}, {&x, &shape});
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find("Expand");
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> in(2);
  in[0].dtype = DataType::kFloat32;
  in[0].shape = x.shape();
  in[1].dtype = DataType::kInt64;
  in[1].shape = shape.shape();
  in[1].constant = &shape;
  auto outs = def->host.infer({}, in);
  REQUIRE(outs.ok());
  auto kernel = def->host.create();
  REQUIRE(kernel->Prepare({}, in, *outs).ok());
  exec::ThreadPool pool(3);
  RunContext ctx;
  ctx.pool = &pool;
  ctx.threads = 3;
  Tensor y(DataType::kFloat32, (*outs)[0].shape);
  const void* ins[] = {x.data(), shape.data()};
  void* os[] = {y.data()};
  kernel->Run(ctx, ins, os);
  CHECK(ToVector(y) == ToVector(one));
  CHECK(ToVector(y)[5 * 700 + 2] == 7.0f);  // row b=1 starts with x[1,0,:] = 5..9
}

TEST_CASE("Tile repeats every axis (numpy.tile)", "[kernels][layout]") {
  const Tensor x = MakeFloat({2, 2}, {0, 1, 2, 3});
  const Tensor repeats = MakeInt64({2}, {2, 3});
  const Tensor y = Eval1("Tile", {}, {&x, &repeats});
  CHECK(y.shape() == Dims{4, 6});
  CHECK(ToVector(y) == std::vector<float>{0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3,  //
                                          0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3});
  const Tensor zero = MakeInt64({2}, {0, 1});
  CHECK(Eval1("Tile", {}, {&x, &zero}).shape() == Dims{0, 2});
  const Tensor bad = MakeInt64({1}, {2});
  auto err = Eval("Tile", {}, {&x, &bad});
  CHECK(err.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(err.status().message()), Catch::Contains("repeats"));
}

TEST_CASE("Range: numpy.arange of constants, and a dynamic Range is refused", "[kernels][layout]") {
  SECTION("float, positive delta") {
    const Tensor s = MakeFloat({}, {1}), l = MakeFloat({}, {5}), d = MakeFloat({}, {2});
    const Tensor y = Eval1("Range", {}, {&s, &l, &d});
    CHECK(ToVector(y) == std::vector<float>{1, 3});
  }
  SECTION("int32, negative delta") {
    const Tensor s = MakeTyped<int32_t>(DataType::kInt32, {}, {10});
    const Tensor l = MakeTyped<int32_t>(DataType::kInt32, {}, {6});
    const Tensor d = MakeTyped<int32_t>(DataType::kInt32, {}, {-3});
    const Tensor y = Eval1("Range", {}, {&s, &l, &d});
    CHECK(Values<int32_t>(y) == std::vector<int32_t>{10, 7});
  }
  SECTION("empty when limit is behind start") {
    const Tensor s = MakeInt64({}, {5}), l = MakeInt64({}, {1}), d = MakeInt64({}, {1});
    CHECK(Eval1("Range", {}, {&s, &l, &d}).shape() == Dims{0});
  }
  SECTION("zero delta") {
    const Tensor s = MakeInt64({}, {5}), l = MakeInt64({}, {1}), d = MakeInt64({}, {0});
    CHECK(Eval("Range", {}, {&s, &l, &d}).status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("non-constant limit") {
    const ops::OpDef* def = ops::OpRegistry::Builtin().Find("Range");
    REQUIRE(def != nullptr);
    const Tensor s = MakeInt64({}, {0});
    std::vector<TensorInfo> in(3);
    for (auto& t : in) {
      t.dtype = DataType::kInt64;
      t.constant = &s;
    }
    in[1].constant = nullptr;
    auto out = def->host.infer({}, in);
    CHECK(out.status().code() == absl::StatusCode::kUnimplemented);
    CHECK_THAT(std::string(out.status().message()), Catch::Contains("limit"));
    CHECK_THAT(std::string(out.status().message()), Catch::Contains("dynamic Range"));
  }
}

TEST_CASE("Trilu keeps the upper or lower triangle (numpy.triu / tril)", "[kernels][layout]") {
  const Tensor x = MakeFloat({2, 3, 4}, Iota(24, 1));
  SECTION("upper, k = 0") {
    const Tensor y = Eval1("Trilu", {}, {&x});
    CHECK(ToVector(y) == std::vector<float>{1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12,  //
                                            13, 14, 15, 16, 0, 18, 19, 20, 0, 0, 23, 24});
  }
  SECTION("lower, k = -1") {
    const Tensor k = MakeInt64({}, {-1});
    const Tensor y = Eval1("Trilu", Attr({{"upper", int64_t{0}}}), {&x, &k});
    CHECK(ToVector(y) == std::vector<float>{0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0,  //
                                            0, 0, 0, 0, 17, 0, 0, 0, 21, 22, 0, 0});
  }
  SECTION("upper, k beyond the columns zeroes everything") {
    const Tensor k = MakeInt64({}, {100});
    CHECK(ToVector(Eval1("Trilu", {}, {&x, &k})) == std::vector<float>(24, 0.0f));
  }
  SECTION("lower, very negative k zeroes everything; rank 1 is refused") {
    const Tensor k = MakeInt64({}, {-100});
    CHECK(ToVector(Eval1("Trilu", Attr({{"upper", int64_t{0}}}), {&x, &k})) ==
          std::vector<float>(24, 0.0f));
    const Tensor v = MakeFloat({3}, {1, 2, 3});
    CHECK(Eval("Trilu", {}, {&v}).status().code() == absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace engine::kernels
