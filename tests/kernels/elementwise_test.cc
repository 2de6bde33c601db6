// Tests of the elementwise host kernels (src/kernels/elementwise.cc).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ops/op_registry.h"
#include "engine/compare.h"
#include "engine/tensor.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::MakeFloat;
using engine::testing::MakeInt64;
using engine::testing::ToVector;
using engine::testing::MakeTyped;
using engine::testing::Values;
using engine::kernels::testing::Eval;
using engine::kernels::testing::Eval1;

void CheckClose(const std::vector<float>& actual, const std::vector<float>& expected,
                float tol = 1e-6f) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i);
    CHECK(actual[i] == Approx(expected[i]).margin(tol));
  }
}

// ---------------------------------------------------------------------------
// Naive broadcasting reference: computes the input offset of every output
// element from its multi-index.

int64_t BroadcastOffset(const Dims& in, const Dims& out, int64_t linear) {
  int64_t offset = 0;
  int64_t in_stride = 1;
  const size_t lead = out.size() - in.size();
  for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
    const int64_t idx = linear % out[d];
    linear /= out[d];
    if (d >= static_cast<int64_t>(lead)) {
      const int64_t dim = in[d - lead];
      offset += (dim == 1 ? 0 : idx) * in_stride;
      in_stride *= dim;
    }
  }
  return offset;
}

Dims RandomBroadcastShape(std::mt19937& rng, const Dims& out) {
  std::uniform_int_distribution<int> coin(0, 2);
  const size_t rank = std::uniform_int_distribution<size_t>(0, out.size())(rng);
  Dims in(out.end() - rank, out.end());
  for (int64_t& d : in) {
    if (coin(rng) == 0) d = 1;
  }
  return in;
}

template <typename T>
std::vector<T> RandomValues(std::mt19937& rng, int64_t n, bool nonzero) {
  std::vector<T> v(n);
  for (T& x : v) {
    if constexpr (std::is_floating_point_v<T>) {
      x = std::uniform_real_distribution<float>(-4.0f, 4.0f)(rng);
      if (nonzero && std::fabs(x) < 0.1f) x = 0.5f;
    } else {
      x = static_cast<T>(std::uniform_int_distribution<int>(-50, 50)(rng));
      if (nonzero && x == 0) x = 3;
    }
  }
  return v;
}

template <typename T>
T RefOp(const std::string& op, T a, T b) {
  if (op == "Add") return a + b;
  if (op == "Sub") return a - b;
  if (op == "Mul") return a * b;
  if (op == "Div") return a / b;
  if (op == "PRelu") return a < 0 ? a * b : a;
  return T(0);
}

template <typename T>
void CheckRandomBroadcast(DataType dtype, const std::string& op, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 60; ++iter) {
    const size_t rank = std::uniform_int_distribution<size_t>(0, 5)(rng);
    Dims out(rank);
    for (int64_t& d : out) d = std::uniform_int_distribution<int64_t>(1, 5)(rng);
    Dims sa = op == "PRelu" ? out : RandomBroadcastShape(rng, out);
    Dims sb = RandomBroadcastShape(rng, out);
    // The kernel's output shape is the broadcast of sa and sb, which may be
    // smaller than `out` when both operands are 1 on a dimension.
    Dims expected_shape(std::max(sa.size(), sb.size()));
    for (size_t i = 0; i < expected_shape.size(); ++i) {
      const size_t k = expected_shape.size() - 1 - i;
      int64_t da = i < sa.size() ? sa[sa.size() - 1 - i] : 1;
      int64_t db = i < sb.size() ? sb[sb.size() - 1 - i] : 1;
      expected_shape[k] = std::max(da, db);
    }
    std::vector<T> va = RandomValues<T>(rng, NumElements(sa), false);
    std::vector<T> vb = RandomValues<T>(rng, NumElements(sb), op == "Div");
    Tensor a = MakeTyped<T>(dtype, sa, va);
    Tensor b = MakeTyped<T>(dtype, sb, vb);
    Tensor y = Eval1(op, {}, {&a, &b});
    INFO(op << " " << DataTypeName(dtype) << " " << DimsToString(sa) << " vs " << DimsToString(sb));
    REQUIRE(y.shape() == expected_shape);
    REQUIRE(y.dtype() == dtype);
    std::vector<T> got = Values<T>(y);
    for (int64_t i = 0; i < y.num_elements(); ++i) {
      const T want = RefOp<T>(op, va[BroadcastOffset(sa, expected_shape, i)],
                              vb[BroadcastOffset(sb, expected_shape, i)]);
      if constexpr (std::is_floating_point_v<T>) {
        REQUIRE(got[i] == Approx(want).epsilon(1e-6));
      } else {
        REQUIRE(got[i] == want);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Unary activations.

TEST_CASE("Relu, LeakyRelu, Sigmoid, Tanh on float32", "[kernels]") {
  Tensor x = MakeFloat({2, 3}, {-2.0f, -0.5f, 0.0f, 0.5f, 1.0f, 3.0f});
  CheckClose(ToVector(Eval1("Relu", {}, {&x})), {0, 0, 0, 0.5f, 1, 3});
  CheckClose(ToVector(Eval1("LeakyRelu", {}, {&x})), {-0.02f, -0.005f, 0, 0.5f, 1, 3});
  Attributes alpha;
  alpha.Set("alpha", 0.5f);
  CheckClose(ToVector(Eval1("LeakyRelu", alpha, {&x})), {-1.0f, -0.25f, 0, 0.5f, 1, 3});
  std::vector<float> sig, th;
  for (float v : ToVector(x)) {
    sig.push_back(1.0f / (1.0f + std::exp(-v)));
    th.push_back(std::tanh(v));
  }
  CheckClose(ToVector(Eval1("Sigmoid", {}, {&x})), sig);
  CheckClose(ToVector(Eval1("Tanh", {}, {&x})), th);
  Tensor y = Eval1("Relu", {}, {&x});
  CHECK(y.shape() == Dims{2, 3});
}

TEST_CASE("Sigmoid saturates without NaN", "[kernels]") {
  Tensor x = MakeFloat({4}, {-1000.0f, -90.0f, 90.0f, 1000.0f});
  std::vector<float> y = ToVector(Eval1("Sigmoid", {}, {&x}));
  CHECK(y[0] >= 0.0f);
  CHECK(y[0] < 1e-30f);
  CHECK(y[1] >= 0.0f);
  CHECK(y[1] < 1e-30f);
  CHECK(y[2] == 1.0f);
  CHECK(y[3] == 1.0f);
  const float inf = std::numeric_limits<float>::infinity();
  Tensor special = MakeFloat({3}, {std::numeric_limits<float>::quiet_NaN(), -inf, inf});
  std::vector<float> s = ToVector(Eval1("Sigmoid", {}, {&special}));
  CHECK(std::isnan(s[0]));
  CHECK(s[1] >= 0.0f);
  CHECK(s[1] < 1e-30f);
  CHECK(s[2] == 1.0f);
  std::vector<float> t = ToVector(Eval1("Tanh", {}, {&special}));
  CHECK(std::isnan(t[0]));
  CHECK(t[1] == -1.0f);
  CHECK(t[2] == 1.0f);
}

TEST_CASE("Sigmoid and Tanh agree with libm on a dense grid", "[kernels]") {
  std::vector<float> xs;
  for (int i = -4000; i <= 4000; ++i) xs.push_back(static_cast<float>(i) * 0.005f);
  for (float v : {-100.0f, -30.0f, -9.5f, 9.5f, 30.0f, 100.0f}) xs.push_back(v);
  Tensor x = MakeFloat({static_cast<int64_t>(xs.size())}, xs);
  std::vector<float> sig = ToVector(Eval1("Sigmoid", {}, {&x}));
  std::vector<float> th = ToVector(Eval1("Tanh", {}, {&x}));
  for (size_t i = 0; i < xs.size(); ++i) {
    INFO("x = " << xs[i]);
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(xs[i])));
    REQUIRE(sig[i] == Approx(s).epsilon(2e-6).margin(1e-30));
    REQUIRE(th[i] == Approx(std::tanh(static_cast<double>(xs[i]))).epsilon(2e-6).margin(1e-7));
  }
}

TEST_CASE("Relu keeps NaN", "[kernels]") {
  Tensor x = MakeFloat({2}, {std::numeric_limits<float>::quiet_NaN(), -1.0f});
  std::vector<float> y = ToVector(Eval1("Relu", {}, {&x}));
  CHECK(std::isnan(y[0]));
  CHECK(y[1] == 0.0f);
}

TEST_CASE("HardSigmoid and HardSwish", "[kernels]") {
  Tensor x = MakeFloat({7}, {-4, -3, -1, 0, 1, 3, 4});
  // HardSigmoid defaults: alpha 0.2, beta 0.5.
  CheckClose(ToVector(Eval1("HardSigmoid", {}, {&x})), {0, 0, 0.3f, 0.5f, 0.7f, 1, 1});
  Attributes attrs;
  attrs.Set("alpha", 0.5f);
  attrs.Set("beta", 0.6f);
  CheckClose(ToVector(Eval1("HardSigmoid", attrs, {&x})), {0, 0, 0.1f, 0.6f, 1, 1, 1});
  // HardSwish: x * max(0, min(1, x / 6 + 0.5)).
  CheckClose(ToVector(Eval1("HardSwish", {}, {&x})), {0, 0, -1.0f / 3.0f, 0, 2.0f / 3.0f, 3, 4});
}

TEST_CASE("Swish is x * Sigmoid(alpha * x), bit-identical to Mul(x, Sigmoid(x))", "[kernels]") {
  std::vector<float> xs;
  for (int i = -700; i <= 700; ++i) xs.push_back(static_cast<float>(i) * 0.013f);
  xs.push_back(-1000.0f);
  xs.push_back(1000.0f);
  Tensor x = MakeFloat({static_cast<int64_t>(xs.size())}, xs);
  const std::vector<float> y = ToVector(Eval1("Swish", {}, {&x}));
  const std::vector<float> sig = ToVector(Eval1("Sigmoid", {}, {&x}));
  for (size_t i = 0; i < xs.size(); ++i) {
    INFO("x = " << xs[i]);
    REQUIRE(y[i] == xs[i] * sig[i]);  // SiLU as PyTorch exports it: the same two roundings
    const double ref = xs[i] / (1.0 + std::exp(-static_cast<double>(xs[i])));
    REQUIRE(y[i] == Approx(ref).epsilon(3e-6).margin(1e-30));
  }
  Attributes alpha;
  alpha.Set("alpha", 1.702f);  // the sigmoid approximation of GELU
  const std::vector<float> ya = ToVector(Eval1("Swish", alpha, {&x}));
  for (size_t i = 0; i < xs.size(); ++i) {
    const double ref = xs[i] / (1.0 + std::exp(-1.702 * static_cast<double>(xs[i])));
    REQUIRE(ya[i] == Approx(ref).epsilon(3e-6).margin(1e-30));
  }
}

TEST_CASE("Relu on integer types", "[kernels]") {
  Tensor i32 = MakeTyped<int32_t>(DataType::kInt32, {4}, {-5, 0, 7, -1});
  CHECK(Values<int32_t>(Eval1("Relu", {}, {&i32})) == std::vector<int32_t>{0, 0, 7, 0});
  Tensor i64 = MakeInt64({3}, {-5, 9, 0});
  CHECK(Values<int64_t>(Eval1("Relu", {}, {&i64})) == std::vector<int64_t>{0, 9, 0});
  Tensor i8 = MakeTyped<int8_t>(DataType::kInt8, {3}, {-128, 127, -1});
  CHECK(Values<int8_t>(Eval1("Relu", {}, {&i8})) == std::vector<int8_t>{0, 127, 0});
}

TEST_CASE("Clip with optional min and max inputs", "[kernels]") {
  Tensor x = MakeFloat({5}, {-3, -1, 0, 1, 3});
  Tensor lo = MakeFloat({}, {-1.5f});
  Tensor hi = MakeFloat({}, {2.0f});
  CheckClose(ToVector(Eval1("Clip", {}, {&x, &lo, &hi})), {-1.5f, -1, 0, 1, 2});
  // Only max (min absent).
  CheckClose(ToVector(Eval1("Clip", {}, {&x, nullptr, &hi})), {-3, -1, 0, 1, 2});
  // Only min.
  CheckClose(ToVector(Eval1("Clip", {}, {&x, &lo})), {-1.5f, -1, 0, 1, 3});
  // Neither: identity.
  CheckClose(ToVector(Eval1("Clip", {}, {&x})), {-3, -1, 0, 1, 3});
  // min > max: every element becomes max (numpy.clip).
  Tensor big = MakeFloat({}, {5.0f});
  CheckClose(ToVector(Eval1("Clip", {}, {&x, &big, &hi})), {2, 2, 2, 2, 2});
  // Shape [1] scalars are accepted too.
  Tensor hi1 = MakeFloat({1}, {0.5f});
  CheckClose(ToVector(Eval1("Clip", {}, {&x, nullptr, &hi1})), {-3, -1, 0, 0.5f, 0.5f});
}

TEST_CASE("Clip-6 attributes apply when the inputs are absent", "[kernels]") {
  Tensor x = MakeFloat({3}, {-3, 0, 3});
  Attributes attrs;
  attrs.Set("min", -1.0f);
  attrs.Set("max", 2.0f);
  CheckClose(ToVector(Eval1("Clip", attrs, {&x})), {-1, 0, 2});
  Tensor hi = MakeFloat({}, {1.0f});
  CheckClose(ToVector(Eval1("Clip", attrs, {&x, nullptr, &hi})), {-1, 0, 1});
}

TEST_CASE("Clip on integer types", "[kernels]") {
  Tensor x = MakeTyped<int8_t>(DataType::kInt8, {5}, {-100, -5, 0, 5, 100});
  Tensor lo = MakeTyped<int8_t>(DataType::kInt8, {}, {-10});
  Tensor hi = MakeTyped<int8_t>(DataType::kInt8, {}, {10});
  CHECK(Values<int8_t>(Eval1("Clip", {}, {&x, &lo, &hi})) ==
        std::vector<int8_t>{-10, -5, 0, 5, 10});
  CHECK(Values<int8_t>(Eval1("Clip", {}, {&x, nullptr, &hi})) ==
        std::vector<int8_t>{-100, -5, 0, 5, 10});
  Tensor x64 = MakeInt64({3}, {-7, 2, 9});
  Tensor lo64 = MakeInt64({}, {0});
  CHECK(Values<int64_t>(Eval1("Clip", {}, {&x64, &lo64})) == std::vector<int64_t>{0, 2, 9});
  Tensor x32 = MakeTyped<int32_t>(DataType::kInt32, {3}, {-7, 2, 9});
  Tensor hi32 = MakeTyped<int32_t>(DataType::kInt32, {}, {3});
  CHECK(Values<int32_t>(Eval1("Clip", {}, {&x32, nullptr, &hi32})) ==
        std::vector<int32_t>{-7, 2, 3});
}

TEST_CASE("Clip rejects mismatched or non-scalar bounds", "[kernels]") {
  Tensor x = MakeFloat({2}, {1, 2});
  Tensor lo64 = MakeInt64({}, {0});
  auto r = Eval("Clip", {}, {&x, &lo64});
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  Tensor lo2 = MakeFloat({2}, {0, 0});
  r = Eval("Clip", {}, {&x, &lo2});
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Unary ops report unsupported dtypes", "[kernels]") {
  Tensor i64 = MakeInt64({2}, {1, 2});
  CHECK(Eval("Sigmoid", {}, {&i64}).status().code() == absl::StatusCode::kUnimplemented);
  CHECK(Eval("Tanh", {}, {&i64}).status().code() == absl::StatusCode::kUnimplemented);
  CHECK(Eval("Relu", {}, {}).status().code() == absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Binary broadcasting ops.

TEST_CASE("Add, Sub, Mul, Div same shape float32", "[kernels]") {
  Tensor a = MakeFloat({2, 2}, {1, 2, 3, 4});
  Tensor b = MakeFloat({2, 2}, {10, 20, 30, 40});
  CheckClose(ToVector(Eval1("Add", {}, {&a, &b})), {11, 22, 33, 44});
  CheckClose(ToVector(Eval1("Sub", {}, {&a, &b})), {-9, -18, -27, -36});
  CheckClose(ToVector(Eval1("Mul", {}, {&a, &b})), {10, 40, 90, 160});
  CheckClose(ToVector(Eval1("Div", {}, {&a, &b})), {0.1f, 0.1f, 0.1f, 0.1f});
}

TEST_CASE("Binary ops with a scalar operand", "[kernels]") {
  Tensor a = MakeFloat({3}, {1, 2, 3});
  Tensor s = MakeFloat({}, {2});
  Tensor y = Eval1("Sub", {}, {&a, &s});
  CHECK(y.shape() == Dims{3});
  CheckClose(ToVector(y), {-1, 0, 1});
  CheckClose(ToVector(Eval1("Sub", {}, {&s, &a})), {1, 0, -1});
  CheckClose(ToVector(Eval1("Div", {}, {&s, &a})), {2, 1, 2.0f / 3.0f});
  // Scalar op scalar gives a scalar.
  Tensor t = MakeFloat({}, {5});
  Tensor z = Eval1("Mul", {}, {&s, &t});
  CHECK(z.shape().empty());
  CHECK(ToVector(z) == std::vector<float>{10});
}

TEST_CASE("Per-channel broadcast [N,C,H,W] + [C,1,1]", "[kernels]") {
  std::vector<float> xv(2 * 3 * 2 * 2);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(i);
  Tensor x = MakeFloat({2, 3, 2, 2}, xv);
  Tensor bias = MakeFloat({3, 1, 1}, {100, 200, 300});
  Tensor y = Eval1("Add", {}, {&x, &bias});
  REQUIRE(y.shape() == Dims{2, 3, 2, 2});
  std::vector<float> got = ToVector(y);
  for (size_t i = 0; i < xv.size(); ++i) {
    const size_t c = (i / 4) % 3;
    CHECK(got[i] == xv[i] + 100.0f * (c + 1));
  }
  // Bias first: [1,C,1,1] * [N,C,H,W].
  Tensor scale = MakeFloat({1, 3, 1, 1}, {1, 2, 3});
  got = ToVector(Eval1("Mul", {}, {&scale, &x}));
  for (size_t i = 0; i < xv.size(); ++i) CHECK(got[i] == xv[i] * ((i / 4) % 3 + 1));
}

TEST_CASE("Bidirectional broadcast [3,1] + [1,4]", "[kernels]") {
  Tensor a = MakeFloat({3, 1}, {1, 2, 3});
  Tensor b = MakeFloat({1, 4}, {10, 20, 30, 40});
  Tensor y = Eval1("Add", {}, {&a, &b});
  REQUIRE(y.shape() == Dims{3, 4});
  CheckClose(ToVector(y), {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43});
}

TEST_CASE("Integer arithmetic: Div truncates toward zero", "[kernels]") {
  Tensor a = MakeTyped<int32_t>(DataType::kInt32, {4}, {7, -7, 7, -7});
  Tensor b = MakeTyped<int32_t>(DataType::kInt32, {4}, {2, 2, -2, -2});
  CHECK(Values<int32_t>(Eval1("Div", {}, {&a, &b})) == std::vector<int32_t>{3, -3, -3, 3});
  CHECK(Values<int32_t>(Eval1("Mul", {}, {&a, &b})) == std::vector<int32_t>{14, -14, -14, 14});
  Tensor c = MakeInt64({3}, {100, -9, 5});
  Tensor d = MakeInt64({}, {4});
  CHECK(Values<int64_t>(Eval1("Div", {}, {&c, &d})) == std::vector<int64_t>{25, -2, 1});
  CHECK(Values<int64_t>(Eval1("Add", {}, {&c, &d})) == std::vector<int64_t>{104, -5, 9});
  CHECK(Values<int64_t>(Eval1("Sub", {}, {&d, &c})) == std::vector<int64_t>{-96, 13, -1});
}

TEST_CASE("8-bit integer arithmetic wraps", "[kernels]") {
  Tensor a = MakeTyped<uint8_t>(DataType::kUint8, {4}, {250, 3, 200, 7});
  Tensor b = MakeTyped<uint8_t>(DataType::kUint8, {4}, {10, 5, 2, 0});
  CHECK(Values<uint8_t>(Eval1("Add", {}, {&a, &b})) == std::vector<uint8_t>{4, 8, 202, 7});
  CHECK(Values<uint8_t>(Eval1("Sub", {}, {&a, &b})) == std::vector<uint8_t>{240, 254, 198, 7});
  CHECK(Values<uint8_t>(Eval1("Mul", {}, {&a, &b})) == std::vector<uint8_t>{196, 15, 144, 0});
  CHECK(Values<uint8_t>(Eval1("Div", {}, {&a, &b})) == std::vector<uint8_t>{25, 0, 100, 0});
  Tensor c = MakeTyped<int8_t>(DataType::kInt8, {3}, {-128, 100, -7});
  Tensor d = MakeTyped<int8_t>(DataType::kInt8, {}, {-1});
  CHECK(Values<int8_t>(Eval1("Div", {}, {&c, &d})) == std::vector<int8_t>{-128, -100, 7});
  CHECK(Values<int8_t>(Eval1("Sub", {}, {&c, &d})) == std::vector<int8_t>{-127, 101, -6});
}

TEST_CASE("Integer Div by zero and INT_MIN / -1 do not trap", "[kernels]") {
  const int32_t kMin = std::numeric_limits<int32_t>::min();
  Tensor a = MakeTyped<int32_t>(DataType::kInt32, {2}, {5, kMin});
  Tensor b = MakeTyped<int32_t>(DataType::kInt32, {2}, {0, -1});
  CHECK(Values<int32_t>(Eval1("Div", {}, {&a, &b})) == std::vector<int32_t>{0, kMin});
}

TEST_CASE("Broadcasting matches a naive reference on random shapes", "[kernels]") {
  uint32_t seed = 1;
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    CheckRandomBroadcast<float>(DataType::kFloat32, op, seed++);
    CheckRandomBroadcast<int32_t>(DataType::kInt32, op, seed++);
    CheckRandomBroadcast<int64_t>(DataType::kInt64, op, seed++);
  }
  CheckRandomBroadcast<float>(DataType::kFloat32, "PRelu", seed++);
}

TEST_CASE("Binary ops reject incompatible shapes and dtypes", "[kernels]") {
  Tensor a = MakeFloat({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = MakeFloat({4}, {1, 2, 3, 4});
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    auto r = Eval(op, {}, {&a, &b});
    INFO(op << ": " << r.status().ToString());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  }
  Tensor c = MakeFloat({2, 1}, {1, 2});
  Tensor d = MakeFloat({3, 1}, {1, 2, 3});
  CHECK(Eval("Add", {}, {&c, &d}).status().code() == absl::StatusCode::kInvalidArgument);
  Tensor i = MakeInt64({3}, {1, 2, 3});
  Tensor f = MakeFloat({3}, {1, 2, 3});
  CHECK(Eval("Add", {}, {&i, &f}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Eval("Add", {}, {&f}).status().code() == absl::StatusCode::kInvalidArgument);
  Tensor b8 = MakeTyped<uint8_t>(DataType::kBool, {1}, {1});
  CHECK(Eval("Add", {}, {&b8, &b8}).status().code() == absl::StatusCode::kUnimplemented);
}

TEST_CASE("PRelu with per-channel slope", "[kernels]") {
  Tensor x = MakeFloat({1, 2, 2}, {-1, 2, -3, 4});
  Tensor slope = MakeFloat({2, 1}, {0.1f, 0.5f});
  Tensor y = Eval1("PRelu", {}, {&x, &slope});
  REQUIRE(y.shape() == Dims{1, 2, 2});
  CheckClose(ToVector(y), {-0.1f, 2, -1.5f, 4});
  // Scalar slope.
  Tensor s = MakeFloat({}, {0.25f});
  CheckClose(ToVector(Eval1("PRelu", {}, {&x, &s})), {-0.25f, 2, -0.75f, 4});
  // ONNX prelu_broadcast: X [3,4,5], slope [5].
  std::vector<float> xv(60), sv = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(i) - 30.0f;
  Tensor x3 = MakeFloat({3, 4, 5}, xv);
  Tensor s3 = MakeFloat({5}, sv);
  std::vector<float> got = ToVector(Eval1("PRelu", {}, {&x3, &s3}));
  for (size_t i = 0; i < xv.size(); ++i) {
    CHECK(got[i] == Approx(xv[i] < 0 ? xv[i] * sv[i % 5] : xv[i]));
  }
}

TEST_CASE("PRelu slope must broadcast to X unidirectionally", "[kernels]") {
  Tensor x = MakeFloat({3}, {-1, 2, -3});
  Tensor slope = MakeFloat({2, 3}, {1, 1, 1, 1, 1, 1});
  auto r = Eval("PRelu", {}, {&x, &slope});
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Sum.

TEST_CASE("Sum of one, two and three inputs", "[kernels]") {
  Tensor a = MakeFloat({3}, {1, 2, 3});
  Tensor b = MakeFloat({3}, {10, 20, 30});
  Tensor c = MakeFloat({2, 1}, {100, 200});
  CheckClose(ToVector(Eval1("Sum", {}, {&a})), {1, 2, 3});
  CheckClose(ToVector(Eval1("Sum", {}, {&a, &b})), {11, 22, 33});
  Tensor y = Eval1("Sum", {}, {&a, &b, &c});
  REQUIRE(y.shape() == Dims{2, 3});
  CheckClose(ToVector(y), {111, 122, 133, 211, 222, 233});
  // The output shape may exceed the broadcast of the first two inputs.
  Tensor y2 = Eval1("Sum", {}, {&a, &a, &c, &b});
  CheckClose(ToVector(y2), {112, 124, 136, 212, 224, 236});
}

TEST_CASE("Sum matches a naive reference on random shapes", "[kernels]") {
  std::mt19937 rng(77);
  for (int iter = 0; iter < 40; ++iter) {
    const size_t rank = std::uniform_int_distribution<size_t>(1, 4)(rng);
    Dims full(rank);
    for (int64_t& d : full) d = std::uniform_int_distribution<int64_t>(1, 4)(rng);
    const int n = std::uniform_int_distribution<int>(1, 5)(rng);
    std::vector<Tensor> ins;
    std::vector<std::vector<float>> vals;
    Dims out;
    ins.push_back(MakeFloat(full, RandomValues<float>(rng, NumElements(full), false)));
    for (int k = 1; k < n; ++k) {
      Dims s = RandomBroadcastShape(rng, full);
      ins.push_back(MakeFloat(s, RandomValues<float>(rng, NumElements(s), false)));
    }
    std::vector<const Tensor*> ptrs;
    for (const Tensor& t : ins) ptrs.push_back(&t);
    Tensor y = Eval1("Sum", {}, ptrs);
    REQUIRE(y.shape() == full);
    std::vector<float> got = ToVector(y);
    for (int64_t i = 0; i < NumElements(full); ++i) {
      float want = 0;
      for (const Tensor& t : ins) want += ToVector(t)[BroadcastOffset(t.shape(), full, i)];
      REQUIRE(got[i] == Approx(want).epsilon(1e-5).margin(1e-5));
    }
  }
}

TEST_CASE("Sum rejects incompatible shapes and non-float dtypes", "[kernels]") {
  Tensor a = MakeFloat({3}, {1, 2, 3});
  Tensor b = MakeFloat({2}, {1, 2});
  CHECK(Eval("Sum", {}, {&a, &b}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Eval("Sum", {}, {}).status().code() == absl::StatusCode::kInvalidArgument);
  Tensor i = MakeInt64({3}, {1, 2, 3});
  CHECK(Eval("Sum", {}, {&a, &i}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("A prepared binary kernel can run from several threads", "[kernels]") {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("Add");
  REQUIRE(def != nullptr);
  TensorInfo a{DataType::kFloat32, {4, 64, 64}};
  TensorInfo b{DataType::kFloat32, {4, 1, 1}};
  std::vector<TensorInfo> ins = {a, b};
  auto outs = def->infer({}, ins);
  REQUIRE(outs.ok());
  std::unique_ptr<Kernel> kernel = def->create();
  REQUIRE(kernel->Prepare({}, ins, *outs).ok());
  std::vector<float> x(4 * 64 * 64), bias = {1, 2, 3, 4};
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 97);
  std::vector<std::vector<float>> results(4, std::vector<float>(x.size()));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) {
        const void* in[] = {x.data(), bias.data()};
        void* out[] = {results[t].data()};
        kernel->Run(RunContext{}, in, out);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (const auto& r : results) {
    for (size_t i = 0; i < x.size(); ++i) REQUIRE(r[i] == x[i] + bias[i / 4096]);
  }
}

}  // namespace
}  // namespace engine::kernels
