// Tests of the elementwise math, logic and activation kernels
// (src/kernels/elementwise_math.cc, elementwise_logic.cc) against
// hand-computed values (formulas of the ONNX operator spec, evaluated in
// double precision with Python's math module), and their thread-count
// invariance. Float tolerances: 1e-6 absolute for values of magnitude <= 10
// (a few float ulps), exact for integer and bool outputs.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernel_util.h"
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

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

void CheckClose(const std::vector<float>& actual, const std::vector<double>& expected,
                double tol = 1e-6) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i << ": " << actual[i] << " vs " << expected[i]);
    if (std::isnan(expected[i])) {
      CHECK(std::isnan(actual[i]));
    } else if (std::isinf(expected[i])) {
      CHECK(static_cast<double>(actual[i]) == expected[i]);
    } else {
      CHECK(static_cast<double>(actual[i]) == Approx(expected[i]).margin(tol));
    }
  }
}

Tensor Bool(Dims shape, const std::vector<uint8_t>& v) {
  return MakeTyped<uint8_t>(DataType::kBool, std::move(shape), v);
}

std::vector<float> RunFloat(const std::string& type, const std::vector<float>& x,
                            const Attributes& attrs = Attributes()) {
  Tensor t = MakeFloat({static_cast<int64_t>(x.size())}, x);
  Tensor y = Eval1(type, attrs, {&t});
  REQUIRE(y.dtype() == DataType::kFloat32);
  REQUIRE(y.shape() == t.shape());
  return ToVector(y);
}

// ---------------------------------------------------------------------------
// Unary math.

TEST_CASE("Unary float math matches the closed forms", "[kernels][elementwise_math]") {
  const double e = std::exp(1.0);
  CheckClose(RunFloat("Exp", {0, 1, -1, -200}), {1, e, 1 / e, 0});
  CheckClose(RunFloat("Log", {1, static_cast<float>(e), 0, -1}), {0, 1, -HUGE_VAL, NAN}, 1e-6);
  CheckClose(RunFloat("Sqrt", {4, 2, 0, -1}), {2, std::sqrt(2.0), 0, NAN});
  CheckClose(RunFloat("Reciprocal", {4, -0.5f, 0}), {0.25, -2, HUGE_VAL});
  CheckClose(RunFloat("Floor", {1.5f, -1.5f, 2}), {1, -2, 2});
  CheckClose(RunFloat("Ceil", {1.5f, -1.5f, 2}), {2, -1, 2});
  // Round: half to even.
  CheckClose(RunFloat("Round", {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f}),
             {0, 2, 2, 0, -2, 2, -3});
  CheckClose(RunFloat("Erf", {0, 1, -0.5f}), {0, 0.8427007929497149, -0.5204998778130465});
  CheckClose(RunFloat("Sin", {0, static_cast<float>(M_PI / 2)}), {0, 1});
  CheckClose(RunFloat("Cos", {0, static_cast<float>(M_PI)}), {1, -1});
  CheckClose(RunFloat("Tan", {0, 1}), {0, 1.5574077246549023}, 1e-6);
  CheckClose(RunFloat("Atan", {1, -2}), {0.7853981633974483, -1.1071487177940904});
  CheckClose(RunFloat("Asin", {0.5f}), {0.5235987755982989});
  CheckClose(RunFloat("Acos", {0.5f}), {1.0471975511965979});
  CheckClose(RunFloat("Sinh", {1}), {1.1752011936438014});
  CheckClose(RunFloat("Cosh", {1}), {1.5430806348152437});
  CheckClose(RunFloat("Asinh", {1}), {0.881373587019543});
  CheckClose(RunFloat("Acosh", {2}), {1.3169578969248166});
  CheckClose(RunFloat("Atanh", {0.5f}), {0.5493061443340548});
}

TEST_CASE("Neg, Abs and Sign on floats and integers", "[kernels][elementwise_math]") {
  CheckClose(RunFloat("Neg", {1, -2, 0}), {-1, 2, 0});
  CheckClose(RunFloat("Abs", {-3, 2}), {3, 2});
  CheckClose(RunFloat("Sign", {-3, 0, 2, kNaN}), {-1, 0, 1, NAN});
  const int32_t imin = std::numeric_limits<int32_t>::min();
  Tensor i32 = MakeTyped<int32_t>(DataType::kInt32, {3}, {5, -7, imin});
  CHECK(Values<int32_t>(Eval1("Neg", {}, {&i32})) == std::vector<int32_t>{-5, 7, imin});
  CHECK(Values<int32_t>(Eval1("Abs", {}, {&i32})) == std::vector<int32_t>{5, 7, imin});
  CHECK(Values<int32_t>(Eval1("Sign", {}, {&i32})) == std::vector<int32_t>{1, -1, -1});
  Tensor i8 = MakeTyped<int8_t>(DataType::kInt8, {2}, {-128, -3});
  CHECK(Values<int8_t>(Eval1("Abs", {}, {&i8})) == std::vector<int8_t>{-128, 3});
  Tensor i64 = MakeInt64({3}, {-9, 0, 4});
  CHECK(Values<int64_t>(Eval1("Sign", {}, {&i64})) == std::vector<int64_t>{-1, 0, 1});
  Tensor u8 = MakeTyped<uint8_t>(DataType::kUint8, {2}, {0, 200});
  CHECK(Values<uint8_t>(Eval1("Abs", {}, {&u8})) == std::vector<uint8_t>{0, 200});
  // Neg of an unsigned type is not an ONNX signature.
  CHECK(Eval("Neg", {}, {&u8}).status().code() == absl::StatusCode::kUnimplemented);
}

TEST_CASE("IsNaN, IsInf and Not produce bools", "[kernels][elementwise_math]") {
  Tensor x = MakeFloat({5}, {1, kNaN, kInf, -kInf, 0});
  Tensor nan = Eval1("IsNaN", {}, {&x});
  REQUIRE(nan.dtype() == DataType::kBool);
  CHECK(Values<uint8_t>(nan) == std::vector<uint8_t>{0, 1, 0, 0, 0});
  CHECK(Values<uint8_t>(Eval1("IsInf", {}, {&x})) == std::vector<uint8_t>{0, 0, 1, 1, 0});
  Attributes neg_only;
  neg_only.Set("detect_positive", int64_t{0});
  CHECK(Values<uint8_t>(Eval1("IsInf", neg_only, {&x})) == std::vector<uint8_t>{0, 0, 0, 1, 0});
  Attributes pos_only;
  pos_only.Set("detect_negative", int64_t{0});
  CHECK(Values<uint8_t>(Eval1("IsInf", pos_only, {&x})) == std::vector<uint8_t>{0, 0, 1, 0, 0});
  Tensor b = Bool({3}, {1, 0, 1});
  CHECK(Values<uint8_t>(Eval1("Not", {}, {&b})) == std::vector<uint8_t>{0, 1, 0});
  CHECK(Eval("Not", {}, {&x}).status().code() == absl::StatusCode::kUnimplemented);
  CHECK(Eval("IsNaN", {}, {&b}).status().code() == absl::StatusCode::kUnimplemented);
}

// ---------------------------------------------------------------------------
// Activations.

TEST_CASE("Activations match the ONNX formulas", "[kernels][elementwise_math]") {
  Attributes alpha2;
  alpha2.Set("alpha", 2.0f);
  // Elu: x >= 0 ? x : alpha (e^x - 1).
  CheckClose(RunFloat("Elu", {-1, 0, 3}, alpha2), {2 * (std::exp(-1.0) - 1), 0, 3});
  CheckClose(RunFloat("Elu", {-1}), {std::exp(-1.0) - 1});
  // Selu defaults: gamma (alpha e^x - alpha) for x <= 0, gamma x above.
  CheckClose(RunFloat("Selu", {-1, 2}), {-1.1113307412864781, 2.1014020442962646});
  Attributes selu;
  selu.Set("alpha", 2.0f);
  selu.Set("gamma", 3.0f);
  CheckClose(RunFloat("Selu", {-1, 2}, selu), {3 * (2 * std::exp(-1.0) - 2), 6});
  // Celu alpha 2: max(0, x) + min(0, 2 (e^(x/2) - 1)).
  CheckClose(RunFloat("Celu", {-1, 1.5f}, alpha2), {-0.7869386805747332, 1.5});
  // Softplus without overflow at large |x|.
  CheckClose(RunFloat("Softplus", {0, 100, -100, 1}),
             {0.6931471805599453, 100, 3.720075976020836e-44, std::log1p(std::exp(1.0))});
  CheckClose(RunFloat("Softsign", {3, -1, 0}), {0.75, -0.5, 0});
  CheckClose(RunFloat("ThresholdedRelu", {1, 2, 3, -5}, alpha2), {0, 0, 3, 0});
  CheckClose(RunFloat("ThresholdedRelu", {0.5f, 1.5f}), {0, 1.5});
  CheckClose(RunFloat("Mish", {1, -1, 0}), {0.8650983882673103, -0.30340146137410895, 0});
  CheckClose(RunFloat("Gelu", {1, -1, 0}),
             {0.8413447460685429, -0.15865525393145707, 0});
  Attributes tanh;
  tanh.Set("approximate", std::string("tanh"));
  CheckClose(RunFloat("Gelu", {1}, tanh), {0.8411919906082768});
  Attributes shrink;
  shrink.Set("lambd", 1.5f);
  shrink.Set("bias", 0.5f);
  CheckClose(RunFloat("Shrink", {-2, -1, 0, 1, 2}, shrink), {-1.5, 0, 0, 0, 1.5});
  CheckClose(RunFloat("Shrink", {-1, 0.4f, 0.6f}), {-1, 0, 0.6});  // lambd 0.5, bias 0
}

TEST_CASE("Activation attributes are validated", "[kernels][elementwise_math]") {
  Tensor x = MakeFloat({1}, {1});
  Attributes bad_gelu;
  bad_gelu.Set("approximate", std::string("fast"));
  auto r = Eval("Gelu", bad_gelu, {&x});
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(r.status().message().find("approximate") != std::string::npos);
  Attributes zero;
  zero.Set("alpha", 0.0f);
  CHECK(Eval("Celu", zero, {&x}).status().code() == absl::StatusCode::kInvalidArgument);
  Attributes wrong_kind;
  wrong_kind.Set("alpha", std::string("x"));
  CHECK(!Eval("Elu", wrong_kind, {&x}).ok());
  Tensor i = MakeInt64({1}, {1});
  auto e = Eval("Exp", {}, {&i});
  CHECK(e.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(e.status().message().find("int64") != std::string::npos);
}

TEST_CASE("Hardmax and LogSoftmax along an axis", "[kernels][elementwise_math]") {
  Tensor x = MakeFloat({2, 3}, {1, 3, 3, 2, 0, -1});
  // Last axis: 1 at the first maximum.
  CheckClose(ToVector(Eval1("Hardmax", {}, {&x})), {0, 1, 0, 1, 0, 0});
  Attributes axis0;
  axis0.Set("axis", int64_t{0});
  CheckClose(ToVector(Eval1("Hardmax", axis0, {&x})), {0, 1, 1, 1, 0, 0});
  Tensor row = MakeFloat({1, 3}, {1, 2, 3});
  CheckClose(ToVector(Eval1("LogSoftmax", {}, {&row})),
             {-2.40760596444438, -1.4076059644443801, -0.40760596444438013});
  // Large inputs do not overflow.
  Tensor big = MakeFloat({2}, {1000, 1001});
  CheckClose(ToVector(Eval1("LogSoftmax", {}, {&big})),
             {-1.3132616875182066, -0.3132616875182066}, 1e-5);
  // Middle axis of a 3-D tensor: each [i, :, k] column is its own slice.
  Tensor x3 = MakeFloat({1, 2, 2}, {0, 5, 0, 4});
  Attributes axis1;
  axis1.Set("axis", int64_t{1});
  const double l2 = std::log(2.0);
  const double a = 5 - (5 + std::log1p(std::exp(-1.0))), b = 4 - (5 + std::log1p(std::exp(-1.0)));
  CheckClose(ToVector(Eval1("LogSoftmax", axis1, {&x3})), {-l2, a, -l2, b});
  CheckClose(ToVector(Eval1("Hardmax", axis1, {&x3})), {1, 1, 0, 0});
  Attributes bad;
  bad.Set("axis", int64_t{2});
  CHECK(Eval("Hardmax", bad, {&x}).status().code() == absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Broadcasting binary ops.

TEST_CASE("Pow with float and integer exponents", "[kernels][elementwise_logic]") {
  Tensor base = MakeFloat({2}, {2, 4});
  Tensor fexp = MakeFloat({2}, {3, 0.5f});
  CheckClose(ToVector(Eval1("Pow", {}, {&base, &fexp})), {8, 2});
  Tensor iexp = MakeInt64({1}, {-1});
  CheckClose(ToVector(Eval1("Pow", {}, {&base, &iexp})), {0.5, 0.25});
  Tensor i32exp = MakeTyped<int32_t>(DataType::kInt32, {2, 1}, {2, 3});
  Tensor p = Eval1("Pow", {}, {&base, &i32exp});  // broadcast to [2, 2]
  CHECK(p.shape() == Dims{2, 2});
  CheckClose(ToVector(p), {4, 16, 8, 64});
  // Constant scalar exponent 2 (the x * x path).
  Tensor two = MakeFloat({}, {2});
  Tensor x = MakeFloat({3}, {-3, 0.5f, kNaN});
  CheckClose(ToVector(Eval1("Pow", {}, {&x, &two})), {9, 0.25, NAN});
  // Integer base and exponent: exact.
  Tensor ib = MakeInt64({4}, {2, -3, 1, -1});
  Tensor ie = MakeInt64({4}, {10, 3, -5, -3});
  Tensor ip = Eval1("Pow", {}, {&ib, &ie});
  REQUIRE(ip.dtype() == DataType::kInt64);
  CHECK(Values<int64_t>(ip) == std::vector<int64_t>{1024, -27, 1, -1});
  // Integer base, float exponent: result in the base's type.
  Tensor i32b = MakeTyped<int32_t>(DataType::kInt32, {2}, {4, 9});
  Tensor half = MakeFloat({1}, {0.5f});
  Tensor r = Eval1("Pow", {}, {&i32b, &half});
  REQUIRE(r.dtype() == DataType::kInt32);
  CHECK(Values<int32_t>(r) == std::vector<int32_t>{2, 3});
  Tensor b8 = Bool({1}, {1});
  CHECK(Eval("Pow", {}, {&b8, &half}).status().code() == absl::StatusCode::kUnimplemented);
}

TEST_CASE("Mod with and without fmod", "[kernels][elementwise_logic]") {
  Tensor a = MakeInt64({5}, {-4, 7, 5, -5, 4});
  Tensor b = MakeInt64({5}, {3, -3, 0, -1, 3});
  // fmod = 0: sign of the divisor (Python); x % 0 = 0 instead of trapping.
  CHECK(Values<int64_t>(Eval1("Mod", {}, {&a, &b})) == std::vector<int64_t>{2, -2, 0, 0, 1});
  Attributes fmod;
  fmod.Set("fmod", int64_t{1});
  // fmod = 1: sign of the dividend (C).
  CHECK(Values<int64_t>(Eval1("Mod", fmod, {&a, &b})) == std::vector<int64_t>{-1, 1, 0, 0, 1});
  Tensor fa = MakeFloat({3}, {-4.5f, 7.5f, 3});
  Tensor fb = MakeFloat({1}, {2});
  CheckClose(ToVector(Eval1("Mod", fmod, {&fa, &fb})), {-0.5, 1.5, 1});
  auto no_fmod = Eval("Mod", {}, {&fa, &fb});
  CHECK(no_fmod.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(no_fmod.status().message().find("fmod") != std::string::npos);
  Tensor u = MakeTyped<uint8_t>(DataType::kUint8, {2}, {250, 7});
  Tensor v = MakeTyped<uint8_t>(DataType::kUint8, {2}, {7, 250});
  CHECK(Values<uint8_t>(Eval1("Mod", {}, {&u, &v})) == std::vector<uint8_t>{5, 7});
}

TEST_CASE("Comparisons broadcast and produce bools", "[kernels][elementwise_logic]") {
  Tensor x = MakeFloat({2, 2}, {1, kNaN, 3, 2});
  Tensor s = MakeFloat({}, {2});
  auto cmp = [&](const std::string& op) {
    Tensor y = Eval1(op, {}, {&x, &s});
    REQUIRE(y.dtype() == DataType::kBool);
    REQUIRE(y.shape() == Dims{2, 2});
    return Values<uint8_t>(y);
  };
  CHECK(cmp("Greater") == std::vector<uint8_t>{0, 0, 1, 0});
  CHECK(cmp("GreaterOrEqual") == std::vector<uint8_t>{0, 0, 1, 1});
  CHECK(cmp("Less") == std::vector<uint8_t>{1, 0, 0, 0});
  CHECK(cmp("LessOrEqual") == std::vector<uint8_t>{1, 0, 0, 1});
  CHECK(cmp("Equal") == std::vector<uint8_t>{0, 0, 0, 1});
  // int64 shape arithmetic as exporters emit it: Equal(shape, -1).
  Tensor shape = MakeInt64({4}, {1, -1, 3, -1});
  Tensor minus1 = MakeInt64({1}, {-1});
  CHECK(Values<uint8_t>(Eval1("Equal", {}, {&shape, &minus1})) ==
        std::vector<uint8_t>{0, 1, 0, 1});
  Tensor b1 = Bool({2}, {1, 0}), b2 = Bool({2}, {1, 1});
  CHECK(Values<uint8_t>(Eval1("Equal", {}, {&b1, &b2})) == std::vector<uint8_t>{1, 0});
  CHECK(Eval("Greater", {}, {&b1, &b2}).status().code() == absl::StatusCode::kUnimplemented);
  CHECK(Eval("Equal", {}, {&x, &shape}).status().code() == absl::StatusCode::kInvalidArgument);
  Tensor bad = MakeFloat({3}, {1, 2, 3});
  CHECK(Eval("Less", {}, {&x, &bad}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("And, Or, Xor and BitShift", "[kernels][elementwise_logic]") {
  Tensor a = Bool({2, 2}, {0, 0, 1, 1});
  Tensor b = Bool({2}, {0, 1});
  CHECK(Values<uint8_t>(Eval1("And", {}, {&a, &b})) == std::vector<uint8_t>{0, 0, 0, 1});
  CHECK(Values<uint8_t>(Eval1("Or", {}, {&a, &b})) == std::vector<uint8_t>{0, 1, 1, 1});
  CHECK(Values<uint8_t>(Eval1("Xor", {}, {&a, &b})) == std::vector<uint8_t>{0, 1, 1, 0});
  Tensor f = MakeFloat({2}, {0, 1});
  CHECK(Eval("And", {}, {&f, &f}).status().code() == absl::StatusCode::kUnimplemented);

  Tensor x = MakeTyped<uint8_t>(DataType::kUint8, {4}, {16, 4, 1, 255});
  Tensor sh = MakeTyped<uint8_t>(DataType::kUint8, {4}, {1, 2, 8, 7});
  Attributes left, right;
  left.Set("direction", std::string("LEFT"));
  right.Set("direction", std::string("RIGHT"));
  CHECK(Values<uint8_t>(Eval1("BitShift", left, {&x, &sh})) == std::vector<uint8_t>{32, 16, 0, 128});
  CHECK(Values<uint8_t>(Eval1("BitShift", right, {&x, &sh})) == std::vector<uint8_t>{8, 1, 0, 1});
  auto missing = Eval("BitShift", {}, {&x, &sh});
  CHECK(missing.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(missing.status().message().find("direction") != std::string::npos);
  Attributes up;
  up.Set("direction", std::string("UP"));
  CHECK(Eval("BitShift", up, {&x, &sh}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Where broadcasts its three inputs", "[kernels][elementwise_logic]") {
  Tensor c = Bool({2, 1}, {1, 0});
  Tensor x = MakeFloat({1, 3}, {1, 2, 3});
  Tensor y = MakeFloat({}, {-1});
  Tensor out = Eval1("Where", {}, {&c, &x, &y});
  CHECK(out.shape() == Dims{2, 3});
  CheckClose(ToVector(out), {1, 2, 3, -1, -1, -1});
  // int64, as in exporters' shape computations.
  Tensor c2 = Bool({3}, {0, 1, 0});
  Tensor ones = MakeInt64({1}, {1});
  Tensor shape = MakeInt64({3}, {4, -1, 7});
  CHECK(Values<int64_t>(Eval1("Where", {}, {&c2, &ones, &shape})) ==
        std::vector<int64_t>{4, 1, 7});
  Tensor i32 = MakeTyped<int32_t>(DataType::kInt32, {3}, {1, 2, 3});
  CHECK(Eval("Where", {}, {&c2, &ones, &i32}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  Tensor fc = MakeFloat({3}, {1, 0, 1});
  CHECK(Eval("Where", {}, {&fc, &ones, &shape}).status().code() ==
        absl::StatusCode::kUnimplemented);
}

TEST_CASE("Variadic Min, Max and Mean", "[kernels][elementwise_logic]") {
  Tensor a = MakeFloat({2, 2}, {1, 5, kNaN, -1});
  Tensor b = MakeFloat({2}, {3, 2});
  Tensor c = MakeFloat({}, {4});
  CheckClose(ToVector(Eval1("Max", {}, {&a, &b, &c})), {4, 5, NAN, 4});
  CheckClose(ToVector(Eval1("Min", {}, {&a, &b, &c})), {1, 2, NAN, -1});
  CheckClose(ToVector(Eval1("Mean", {}, {&a, &b, &c})), {8.0 / 3, 11.0 / 3, NAN, 5.0 / 3});
  // One input: a copy.
  CheckClose(ToVector(Eval1("Max", {}, {&b})), {3, 2});
  CheckClose(ToVector(Eval1("Mean", {}, {&b})), {3, 2});
  // NaN in a later input propagates too.
  Tensor n = MakeFloat({2}, {kNaN, 0});
  CheckClose(ToVector(Eval1("Min", {}, {&b, &n})), {NAN, 0});
  Tensor i1 = MakeInt64({3}, {1, -5, 9}), i2 = MakeInt64({1}, {2});
  CHECK(Values<int64_t>(Eval1("Max", {}, {&i1, &i2})) == std::vector<int64_t>{2, 2, 9});
  CHECK(Values<int64_t>(Eval1("Min", {}, {&i1, &i2})) == std::vector<int64_t>{1, -5, 2});
  CHECK(Eval("Mean", {}, {&i1, &i2}).status().code() == absl::StatusCode::kUnimplemented);
  CHECK(Eval("Max", {}, {&a, &i1}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Eval("Max", {}, {}).status().code() == absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Thread-count invariance.

// Gelu's erf (GeluErfArray: Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7,
// with a ~1 ulp expf) against double-precision erf, on a dense grid of
// [-12, 12] and at the edges; the scalar GeluOf and the fused activation give
// the Gelu layer's bits.
TEST_CASE("Gelu's vectorized erf is within 4e-7 * max(1, |x|) of the exact Gelu", "[kernels]") {
  std::vector<float> x;
  for (int i = -120000; i <= 120000; ++i) x.push_back(static_cast<float>(i) * 1e-4f);
  x.push_back(std::numeric_limits<float>::infinity());
  x.push_back(std::numeric_limits<float>::quiet_NaN());
  std::vector<float> y(x.size()), fused(x.size());
  GeluErfArray(x.data(), y.data(), static_cast<int64_t>(x.size()));
  Activation gelu;
  gelu.kind = Activation::Kind::kGelu;
  ApplyActivation(gelu, x.data(), fused.data(), static_cast<int64_t>(x.size()));
  const Tensor input = MakeFloat({static_cast<int64_t>(x.size())}, x);
  const Tensor layer = Eval1("Gelu", {}, {&input});
  double worst = 0.0;
  int scalar_mismatches = 0;
  for (size_t i = 0; i + 2 < x.size(); ++i) {
    const double v = x[i];
    const double want = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    worst = std::max(worst, std::fabs(y[i] - want) / std::max(1.0, std::fabs(v)));
    scalar_mismatches += GeluOf(x[i], false) != y[i];
  }
  CHECK(worst <= 4e-7);
  CHECK(worst > 0.0);  // the approximation is not libm's erf
  CHECK(scalar_mismatches == 0);
  CHECK(std::memcmp(fused.data(), y.data(), y.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(layer.data_as<float>(), y.data(), y.size() * sizeof(float)) == 0);
  CHECK(y[y.size() - 2] == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(y.back()));
}

using engine::kernels::testing::CheckThreadInvariant;

TEST_CASE("Elementwise math kernels give the same bits with any thread count",
          "[kernels][elementwise_math][parallel]") {
  std::mt19937 rng(17);
  Tensor x = RandomTensor({2, 37, 45, 41}, rng, -3.0f, 3.0f);
  Tensor chan = RandomTensor({37, 1, 1}, rng, 0.5f, 2.0f);
  Tensor row = RandomTensor({41}, rng);
  CheckThreadInvariant("Exp", {}, {&x});
  CheckThreadInvariant("Gelu", {}, {&x});
  CheckThreadInvariant("Pow", {}, {&chan, &x});
  CheckThreadInvariant("Greater", {}, {&x, &row});
  CheckThreadInvariant("Max", {}, {&x, &chan, &row});
  CheckThreadInvariant("Mean", {}, {&x, &row});
  Tensor cond = Eval1("Less", {}, {&x, &row});
  CheckThreadInvariant("Where", {}, {&cond, &x, &chan});
  Attributes axis1;
  axis1.Set("axis", int64_t{1});
  CheckThreadInvariant("LogSoftmax", axis1, {&x});
  CheckThreadInvariant("Hardmax", {}, {&x});
  // One long row (element blocks).
  Tensor flat = RandomTensor({100000}, rng);
  Tensor s = MakeFloat({}, {0.25f});
  CheckThreadInvariant("Less", {}, {&flat, &s});
}

}  // namespace
}  // namespace engine::kernels
