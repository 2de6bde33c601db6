// Tests of the quantization kernels (quantize.cc, qlinear.cc) and the
// quantize.h helpers: QuantizeLinear / DequantizeLinear rounding (half to
// even), saturation, per-tensor / per-axis / blocked scales, int8 and uint8;
// QLinearConv, ConvInteger, QLinearMatMul and MatMulInteger against naive
// loops written from the ONNX reference implementation; runtime (non-constant)
// scales and weights; thread-count independence; error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "absl/strings/match.h"
#include "kernels/kernel.h"
#include "kernels/quantize.h"
#include "kernels/thread_pool.h"
#include "kernels/kernel_test_util.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::kernels::testing::Eval;
using engine::kernels::testing::Eval1;
using engine::testing::MakeFloat;
using engine::testing::MakeTyped;
using engine::testing::Values;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Tensor Scalar(float v) { return MakeFloat({}, {v}); }
Tensor U8(Dims shape, const std::vector<uint8_t>& v) {
  return MakeTyped<uint8_t>(DataType::kUint8, std::move(shape), v);
}
Tensor I8(Dims shape, const std::vector<int8_t>& v) {
  return MakeTyped<int8_t>(DataType::kInt8, std::move(shape), v);
}
Tensor I32(Dims shape, const std::vector<int32_t>& v) {
  return MakeTyped<int32_t>(DataType::kInt32, std::move(shape), v);
}

// Uniform random integers in [lo, hi] as a tensor of T (int8 / uint8 / int32).
template <typename T>
Tensor RandomInts(DataType dtype, const Dims& shape, std::mt19937& rng, int lo, int hi) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<T> v(static_cast<size_t>(NumElements(shape)));
  for (T& e : v) e = static_cast<T>(dist(rng));
  return MakeTyped<T>(dtype, shape, v);
}

// Reads element i of an integer tensor.
int32_t IntAt(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kInt8: return t.data_as<int8_t>()[i];
    case DataType::kUint8: return t.data_as<uint8_t>()[i];
    case DataType::kInt32: return t.data_as<int32_t>()[i];
    default: FAIL("not an integer tensor"); return 0;
  }
}

// The ONNX reference formula of QuantizeLinear for one element, computed
// without the kernel's clamp-then-round reordering: rint in 64 bits, + zp,
// then clip (numpy's np.rint(x / s).astype(int32) + zp, clip; NaN -> qmin).
template <typename Q>
int32_t RefQuantize(float x, float scale, int32_t zp) {
  const float v = x / scale;
  if (std::isnan(v)) return std::numeric_limits<Q>::min();
  const double r = std::nearbyint(static_cast<double>(v)) + zp;
  return static_cast<int32_t>(std::clamp<double>(r, std::numeric_limits<Q>::min(),
                                                 std::numeric_limits<Q>::max()));
}

// Prepares `type` with inputs given as runtime values (TensorInfo::constant
// unset) or constants, runs it with `threads` threads of `pool` and returns
// its single output.
Tensor RunKernel(const std::string& type, const Attributes& attrs,
                 const std::vector<const Tensor*>& inputs, bool constants,
                 exec::ThreadPool* pool = nullptr, int threads = 1) {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel(type);
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> in_info;
  for (const Tensor* t : inputs) {
    TensorInfo info;
    if (t == nullptr) {
      info.present = false;
    } else {
      info.dtype = t->dtype();
      info.shape = t->shape();
      if (constants) info.constant = t;
    }
    in_info.push_back(info);
  }
  auto out_info = def->infer(attrs, in_info);
  INFO(type << ": " << out_info.status().ToString());
  REQUIRE(out_info.ok());
  REQUIRE(out_info->size() == 1);
  auto kernel = def->create();
  absl::Status prepared = kernel->Prepare(attrs, in_info, *out_info);
  INFO(prepared.ToString());
  REQUIRE(prepared.ok());
  Tensor out((*out_info)[0].dtype, (*out_info)[0].shape);
  std::vector<void*> out_ptrs = {out.data()};
  std::vector<const void*> in_ptrs;
  for (const Tensor* t : inputs) in_ptrs.push_back(t == nullptr ? nullptr : t->data());
  const size_t bytes = kernel->ScratchBytes(threads);
  Tensor scratch(DataType::kUint8, {static_cast<int64_t>(bytes) + 64});
  RunContext ctx;
  ctx.scratch = static_cast<std::byte*>(scratch.data());
  ctx.scratch_bytes = bytes;
  ctx.pool = pool;
  ctx.threads = threads;
  kernel->Run(ctx, in_ptrs, out_ptrs);
  return out;
}

void RequireSameBits(const Tensor& a, const Tensor& b) {
  REQUIRE(a.dtype() == b.dtype());
  REQUIRE(a.shape() == b.shape());
  CHECK(std::memcmp(a.data(), b.data(), a.byte_size()) == 0);
}

// Runs with constant and with runtime inputs, serially and with 2, 3 and 5
// threads: every result must be bit-identical. Returns the serial output.
Tensor RunEverywhere(const std::string& type, const Attributes& attrs,
                     const std::vector<const Tensor*>& inputs) {
  static exec::ThreadPool pool(4);
  Tensor serial = RunKernel(type, attrs, inputs, /*constants=*/true);
  RequireSameBits(RunKernel(type, attrs, inputs, /*constants=*/false), serial);
  for (int threads : {2, 3, 5}) {
    CAPTURE(type, threads);
    RequireSameBits(RunKernel(type, attrs, inputs, true, &pool, threads), serial);
    RequireSameBits(RunKernel(type, attrs, inputs, false, &pool, threads), serial);
  }
  return serial;
}

absl::Status EvalStatus(const std::string& type, const Attributes& attrs,
                        std::vector<const Tensor*> inputs) {
  return Eval(type, attrs, std::move(inputs)).status();
}

// ---------------------------------------------------------------------------
// quantize.h

TEST_CASE("RoundHalfEven rounds ties to even and saturates", "[kernels][quantize]") {
  CHECK(RoundHalfEven(0.5f) == 0);
  CHECK(RoundHalfEven(1.5f) == 2);
  CHECK(RoundHalfEven(2.5f) == 2);
  CHECK(RoundHalfEven(3.5f) == 4);
  CHECK(RoundHalfEven(-0.5f) == 0);
  CHECK(RoundHalfEven(-1.5f) == -2);
  CHECK(RoundHalfEven(-2.5f) == -2);
  CHECK(RoundHalfEven(2.4999998f) == 2);
  CHECK(RoundHalfEven(2.5000002f) == 3);
  CHECK(RoundHalfEven(-7.0f) == -7);
  CHECK(RoundHalfEven(-0.0f) == 0);
  CHECK(RoundHalfEven(8388609.0f) == 8388609);
  CHECK(RoundHalfEven(3e9f) == std::numeric_limits<int32_t>::max());
  CHECK(RoundHalfEven(-3e9f) == std::numeric_limits<int32_t>::min());
  CHECK(RoundHalfEven(kInf) == std::numeric_limits<int32_t>::max());
  CHECK(RoundHalfEven(-kInf) == std::numeric_limits<int32_t>::min());
  CHECK(RoundHalfEven(kNaN) == 0);
}

TEST_CASE("QuantizeInt8 / DequantizeInt8: ties, saturation, zero point, edge values",
          "[kernels][quantize]") {
  SECTION("ties to even at scale 1") {
    const std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 127.5f, -127.5f,
                                  -128.5f};
    std::vector<int8_t> y(x.size());
    QuantizeInt8(x.data(), static_cast<int64_t>(x.size()), 1.0f, 0, y.data());
    CHECK(y == std::vector<int8_t>{0, 2, 2, 0, -2, -2, 126, 127, -128, -128});
  }
  SECTION("ties after the division: 3 / 2 = 1.5 -> 2, 5 / 2 = 2.5 -> 2") {
    const std::vector<float> x = {3.0f, 5.0f, -3.0f, -5.0f, 7.0f};
    std::vector<int8_t> y(x.size());
    QuantizeInt8(x.data(), 5, 2.0f, 0, y.data());
    CHECK(y == std::vector<int8_t>{2, 2, -2, -2, 4});
  }
  SECTION("saturation and non-finite values") {
    const std::vector<float> x = {1000.0f, -1000.0f, kInf, -kInf, kNaN,
                                  std::numeric_limits<float>::max(),
                                  std::numeric_limits<float>::lowest(), -0.0f,
                                  std::numeric_limits<float>::denorm_min()};
    std::vector<int8_t> y(x.size());
    QuantizeInt8(x.data(), static_cast<int64_t>(x.size()), 0.5f, 0, y.data());
    CHECK(y == std::vector<int8_t>{127, -128, 127, -128, -128, 127, -128, 0, 0});
  }
  SECTION("the zero point shifts before saturating") {
    const std::vector<float> x = {0.0f, 10.0f, 120.0f, -120.0f, -130.0f};
    std::vector<int8_t> y(x.size());
    QuantizeInt8(x.data(), 5, 1.0f, 10, y.data());
    CHECK(y == std::vector<int8_t>{10, 20, 127, -110, -120});
    QuantizeInt8(x.data(), 5, 1.0f, -10, y.data());
    CHECK(y == std::vector<int8_t>{-10, 0, 110, -128, -128});
  }
  SECTION("division, not multiplication by the reciprocal; matches the reference formula") {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> dist(-40.0f, 40.0f);
    for (float scale : {0.1f, 0.3f, 0.7f, 1.0f / 3.0f, 0.0123f}) {
      std::vector<float> x(4000);
      for (size_t i = 0; i < x.size(); ++i) {
        // Mix random values and exact ties (k + 0.5) * scale.
        x[i] = i % 2 == 0 ? dist(rng) : (static_cast<float>(static_cast<int>(i % 300) - 150) + 0.5f) * scale;
      }
      std::vector<int8_t> y(x.size());
      QuantizeInt8(x.data(), static_cast<int64_t>(x.size()), scale, 3, y.data());
      for (size_t i = 0; i < x.size(); ++i) {
        CAPTURE(x[i], scale);
        REQUIRE(y[i] == RefQuantize<int8_t>(x[i], scale, 3));
      }
    }
  }
  SECTION("dequantize") {
    const std::vector<int8_t> q = {-128, -1, 0, 1, 127};
    std::vector<float> y(q.size());
    DequantizeInt8(q.data(), 5, 0.5f, 0, y.data());
    CHECK(y == std::vector<float>{-64.0f, -0.5f, 0.0f, 0.5f, 63.5f});
    DequantizeInt8(q.data(), 5, 0.25f, -2, y.data());
    CHECK(y == std::vector<float>{-31.5f, 0.25f, 0.5f, 0.75f, 32.25f});
  }
  SECTION("round trip within half a step") {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> dist(-6.0f, 6.0f);
    std::vector<float> x(1000), back(1000);
    for (float& v : x) v = dist(rng);
    std::vector<int8_t> q(1000);
    const float scale = 6.0f / 127.0f;
    QuantizeInt8(x.data(), 1000, scale, 0, q.data());
    DequantizeInt8(q.data(), 1000, scale, 0, back.data());
    for (size_t i = 0; i < x.size(); ++i) CHECK(std::fabs(back[i] - x[i]) <= scale * 0.5f + 1e-6f);
  }
}

// ---------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear kernels

TEST_CASE("QuantizeLinear per tensor, uint8 and int8 (ONNX examples)", "[kernels][quantize]") {
  const Tensor x = MakeFloat({6}, {0, 2, 3, 1000, -254, -1000});
  const Tensor scale = Scalar(2.0f);
  SECTION("uint8, zero point 128") {
    const Tensor zp = U8({}, {128});
    Tensor y = RunEverywhere("QuantizeLinear", {}, {&x, &scale, &zp});
    REQUIRE(y.dtype() == DataType::kUint8);
    CHECK(Values<uint8_t>(y) == std::vector<uint8_t>{128, 129, 130, 255, 1, 0});
  }
  SECTION("int8, zero point -1") {
    const Tensor zp = I8({}, {-1});
    Tensor y = RunEverywhere("QuantizeLinear", {}, {&x, &scale, &zp});
    REQUIRE(y.dtype() == DataType::kInt8);
    CHECK(Values<int8_t>(y) == std::vector<int8_t>{-1, 0, 1, 127, -128, -128});
  }
  SECTION("no zero point: uint8 with 0") {
    Tensor y = RunEverywhere("QuantizeLinear", {}, {&x, &scale, nullptr});
    REQUIRE(y.dtype() == DataType::kUint8);
    CHECK(Values<uint8_t>(y) == std::vector<uint8_t>{0, 1, 2, 255, 0, 0});
  }
  SECTION("no zero point, output_dtype int8") {
    Attributes attrs;
    attrs.Set("output_dtype", int64_t{3});
    Tensor y = RunEverywhere("QuantizeLinear", attrs, {&x, &scale});
    REQUIRE(y.dtype() == DataType::kInt8);
    CHECK(Values<int8_t>(y) == std::vector<int8_t>{0, 1, 2, 127, -127, -128});
  }
  SECTION("uint8 ties at scale 1, zero point 128") {
    const Tensor xt = MakeFloat({5}, {0.5f, 1.5f, -0.5f, 127.5f, -128.5f});
    const Tensor one = MakeFloat({1}, {1.0f});
    const Tensor zp = U8({1}, {128});
    Tensor y = RunEverywhere("QuantizeLinear", {}, {&xt, &one, &zp});
    CHECK(Values<uint8_t>(y) == std::vector<uint8_t>{128, 130, 128, 255, 0});
  }
}

TEST_CASE("QuantizeLinear and DequantizeLinear per axis (ONNX example)", "[kernels][quantize]") {
  const Tensor x = MakeFloat({1, 3, 3, 2}, {-162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32,
                                            -44, 245, -485, -960, -270, -375, -470});
  const Tensor scale = MakeFloat({3}, {2, 4, 5});
  const Tensor zp = U8({3}, {84, 24, 196});
  Tensor y = RunEverywhere("QuantizeLinear", {}, {&x, &scale, &zp});
  CHECK(Values<uint8_t>(y) == std::vector<uint8_t>{3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32,
                                                   13, 245, 99, 4, 142, 121, 102});
  SECTION("explicit negative axis gives the same") {
    Attributes attrs;
    attrs.Set("axis", int64_t{-3});
    RequireSameBits(RunEverywhere("QuantizeLinear", attrs, {&x, &scale, &zp}), y);
  }
  SECTION("dequantize back") {
    const Tensor q = U8({1, 3, 2}, {0, 255, 24, 25, 196, 200});
    const Tensor dq_scale = MakeFloat({3}, {2, 4, 5});
    Tensor d = RunEverywhere("DequantizeLinear", {}, {&q, &dq_scale, &zp});
    CHECK(engine::testing::ToVector(d) ==
          std::vector<float>{-168, 342, 0, 4, 0, 20});
  }
}

TEST_CASE("QuantizeLinear per axis on the innermost axis and large tensors",
          "[kernels][quantize]") {
  std::mt19937 rng(7);
  const int64_t rows = 300, cols = 257;  // > 2 chunks of elements: split over threads
  Tensor x = engine::testing::RandomTensor({rows, cols}, rng, -50.0f, 50.0f);
  std::vector<float> s(cols);
  std::vector<int8_t> z(cols);
  for (int64_t c = 0; c < cols; ++c) {
    s[c] = 0.05f + 0.01f * static_cast<float>(c % 17);
    z[c] = static_cast<int8_t>(c % 21 - 10);
  }
  const Tensor scale = MakeFloat({cols}, s);
  const Tensor zp = I8({cols}, z);
  Attributes attrs;
  attrs.Set("axis", int64_t{-1});
  Tensor y = RunEverywhere("QuantizeLinear", attrs, {&x, &scale, &zp});
  const float* xp = x.data_as<float>();
  for (int64_t i = 0; i < rows * cols; ++i) {
    const int64_t c = i % cols;
    REQUIRE(y.data_as<int8_t>()[i] == RefQuantize<int8_t>(xp[i], s[c], z[c]));
  }
  Tensor d = RunEverywhere("DequantizeLinear", attrs, {&y, &scale, &zp});
  for (int64_t i = 0; i < rows * cols; ++i) {
    const int64_t c = i % cols;
    REQUIRE(d.data_as<float>()[i] ==
            (static_cast<float>(y.data_as<int8_t>()[i]) - static_cast<float>(z[c])) * s[c]);
  }
}

TEST_CASE("QuantizeLinear per tensor on a large tensor (the INT8 boundary)",
          "[kernels][quantize]") {
  std::mt19937 rng(8);
  Tensor x = engine::testing::RandomTensor({2, 64, 33, 31}, rng, -3.0f, 3.0f);
  const Tensor scale = Scalar(3.0f / 127.0f);
  const Tensor zp = I8({}, {0});
  Tensor y = RunEverywhere("QuantizeLinear", {}, {&x, &scale, &zp});
  std::vector<int8_t> expected(static_cast<size_t>(x.num_elements()));
  QuantizeInt8(x.data_as<float>(), x.num_elements(), 3.0f / 127.0f, 0, expected.data());
  CHECK(Values<int8_t>(y) == expected);
  Tensor d = RunEverywhere("DequantizeLinear", {}, {&y, &scale, &zp});
  std::vector<float> back(expected.size());
  DequantizeInt8(expected.data(), x.num_elements(), 3.0f / 127.0f, 0, back.data());
  CHECK(engine::testing::ToVector(d) == back);
}

TEST_CASE("QuantizeLinear and DequantizeLinear blocked (opset 21)", "[kernels][quantize]") {
  // x [2, 5], axis 1, block 2: scale [2, 3]; the last block has one element.
  const Tensor x = MakeFloat({2, 5}, {1, 2, 3, 4, 5, -1, -2, -3, -4, -5});
  const Tensor scale = MakeFloat({2, 3}, {1, 2, 4, 0.5f, 1, 2});
  const Tensor zp = I8({2, 3}, {0, 1, -1, 0, 2, 3});
  Attributes attrs;
  attrs.Set("axis", int64_t{1});
  attrs.Set("block_size", int64_t{2});
  Tensor y = RunEverywhere("QuantizeLinear", attrs, {&x, &scale, &zp});
  // 1/1, 2/1 | 3/2=1.5->2 +1, 4/2=2 +1 | 5/4=1.25->1 -1 ;
  // -1/.5, -2/.5 | -3/1+2, -4/1+2 | -5/2=-2.5->-2 +3
  CHECK(Values<int8_t>(y) == std::vector<int8_t>{1, 2, 3, 3, 0, -2, -4, -1, -2, 1});
  Tensor d = RunEverywhere("DequantizeLinear", attrs, {&y, &scale, &zp});
  CHECK(engine::testing::ToVector(d) ==
        std::vector<float>{1, 2, 4, 4, 4, -1, -2, -3, -4, -4});
}

TEST_CASE("DequantizeLinear per tensor: uint8, int8, int32", "[kernels][quantize]") {
  const Tensor scale = Scalar(2.0f);
  SECTION("uint8 (ONNX example)") {
    const Tensor x = U8({4}, {0, 3, 128, 255});
    const Tensor zp = U8({}, {128});
    CHECK(engine::testing::ToVector(RunEverywhere("DequantizeLinear", {}, {&x, &scale, &zp})) ==
          std::vector<float>{-256, -250, 0, 254});
  }
  SECTION("int8 without zero point") {
    const Tensor x = I8({3}, {-128, 0, 127});
    CHECK(engine::testing::ToVector(RunEverywhere("DequantizeLinear", {}, {&x, &scale})) ==
          std::vector<float>{-256, 0, 254});
  }
  SECTION("int32 (bias), large values round like float(x) * scale") {
    const Tensor x = I32({3}, {(1 << 30) + 1, -7, 0});
    const Tensor s = Scalar(0.5f);
    CHECK(engine::testing::ToVector(RunEverywhere("DequantizeLinear", {}, {&x, &s})) ==
          std::vector<float>{static_cast<float>((1 << 30) + 1) * 0.5f, -3.5f, 0.0f});
  }
}

TEST_CASE("QuantizeLinear / DequantizeLinear reject bad inputs with clear errors",
          "[kernels][quantize]") {
  const Tensor x = MakeFloat({2, 3}, {0, 1, 2, 3, 4, 5});
  SECTION("scale length does not match the axis") {
    const Tensor scale = MakeFloat({4}, {1, 1, 1, 1});
    absl::Status s = EvalStatus("QuantizeLinear", {}, {&x, &scale});
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(s.message(), "QuantizeLinear"));
    CHECK(absl::StrContains(s.message(), "y_scale"));
  }
  SECTION("zero point shape differs from the scale's") {
    const Tensor scale = MakeFloat({3}, {1, 1, 1});
    const Tensor zp = U8({2}, {0, 0});
    absl::Status s = EvalStatus("QuantizeLinear", {}, {&x, &scale, &zp});
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(s.message(), "y_zero_point"));
  }
  SECTION("axis out of range") {
    const Tensor scale = MakeFloat({3}, {1, 1, 1});
    Attributes attrs;
    attrs.Set("axis", int64_t{2});
    absl::Status s = EvalStatus("QuantizeLinear", attrs, {&x, &scale});
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(s.message(), "axis"));
  }
  SECTION("16-bit and 4-bit outputs are Unimplemented") {
    const Tensor scale = Scalar(1.0f);
    for (int64_t code : {4, 5, 21, 22, 17}) {
      Attributes attrs;
      attrs.Set("output_dtype", code);
      absl::Status s = EvalStatus("QuantizeLinear", attrs, {&x, &scale});
      CHECK(s.code() == absl::StatusCode::kUnimplemented);
      CHECK(absl::StrContains(s.message(), "output_dtype"));
    }
  }
  SECTION("output_dtype disagreeing with the zero point") {
    const Tensor scale = Scalar(1.0f);
    const Tensor zp = U8({}, {0});
    Attributes attrs;
    attrs.Set("output_dtype", int64_t{3});
    CHECK(EvalStatus("QuantizeLinear", attrs, {&x, &scale, &zp}).code() ==
          absl::StatusCode::kInvalidArgument);
  }
  SECTION("float16 scale is Unimplemented") {
    const Tensor scale(DataType::kFloat16, {});
    absl::Status s = EvalStatus("QuantizeLinear", {}, {&x, &scale});
    CHECK(s.code() == absl::StatusCode::kUnimplemented);
    CHECK(absl::StrContains(s.message(), "y_scale"));
  }
  SECTION("DequantizeLinear zero point of another type") {
    const Tensor q = I8({2}, {0, 1});
    const Tensor scale = Scalar(1.0f);
    const Tensor zp = U8({}, {0});
    absl::Status s = EvalStatus("DequantizeLinear", {}, {&q, &scale, &zp});
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(s.message(), "x_zero_point"));
  }
  SECTION("DequantizeLinear of a float input") {
    const Tensor scale = Scalar(1.0f);
    absl::Status s = EvalStatus("DequantizeLinear", {}, {&x, &scale});
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(s.message(), "DequantizeLinear"));
  }
  SECTION("blocked scale of the wrong shape") {
    const Tensor scale = MakeFloat({2, 1}, {1, 1});
    Attributes attrs;
    attrs.Set("block_size", int64_t{2});
    absl::Status s = EvalStatus("QuantizeLinear", attrs, {&x, &scale});
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(s.message(), "block_size"));
  }
}

// ---------------------------------------------------------------------------
// QLinearConv, ConvInteger

struct ConvCase {
  int64_t n = 1, c = 1, h = 5, w = 5, m = 1, kh = 3, kw = 3, group = 1;
  std::vector<int64_t> pads{0, 0, 0, 0}, strides{1, 1}, dilations{1, 1};
};

// int32 accumulators of conv(x - xz, w - wz[oc]) (2-D, NCHW, zero padding in
// the zero-point-subtracted domain), as the ONNX reference computes them.
std::vector<int32_t> RefConvAcc(const ConvCase& cc, const Tensor& x, int32_t xz, const Tensor& w,
                                const std::vector<int32_t>& wz, int64_t* oh_out,
                                int64_t* ow_out) {
  const int64_t ekh = (cc.kh - 1) * cc.dilations[0] + 1, ekw = (cc.kw - 1) * cc.dilations[1] + 1;
  const int64_t oh = (cc.h + cc.pads[0] + cc.pads[2] - ekh) / cc.strides[0] + 1;
  const int64_t ow = (cc.w + cc.pads[1] + cc.pads[3] - ekw) / cc.strides[1] + 1;
  *oh_out = oh;
  *ow_out = ow;
  const int64_t cg = cc.c / cc.group, mg = cc.m / cc.group;
  std::vector<int32_t> acc(static_cast<size_t>(cc.n * cc.m * oh * ow), 0);
  for (int64_t n = 0; n < cc.n; ++n) {
    for (int64_t oc = 0; oc < cc.m; ++oc) {
      const int64_t g = oc / mg;
      for (int64_t oy = 0; oy < oh; ++oy) {
        for (int64_t ox = 0; ox < ow; ++ox) {
          int32_t sum = 0;
          for (int64_t ic = 0; ic < cg; ++ic) {
            for (int64_t ky = 0; ky < cc.kh; ++ky) {
              for (int64_t kx = 0; kx < cc.kw; ++kx) {
                const int64_t iy = oy * cc.strides[0] + ky * cc.dilations[0] - cc.pads[0];
                const int64_t ix = ox * cc.strides[1] + kx * cc.dilations[1] - cc.pads[1];
                if (iy < 0 || iy >= cc.h || ix < 0 || ix >= cc.w) continue;
                const int64_t c = g * cg + ic;
                const int32_t xv = IntAt(x, ((n * cc.c + c) * cc.h + iy) * cc.w + ix) - xz;
                const int32_t wv =
                    IntAt(w, ((oc * cg + ic) * cc.kh + ky) * cc.kw + kx) - wz[oc];
                sum += xv * wv;
              }
            }
          }
          acc[((n * cc.m + oc) * oh + oy) * ow + ox] = sum;
        }
      }
    }
  }
  return acc;
}

// The reference requantization: float32 multiplier, float64 product, + zp,
// clip, round half to even.
int32_t RefRequantize(int32_t acc, float multiplier, int32_t zp, int32_t qmin, int32_t qmax) {
  double v = static_cast<double>(acc) * static_cast<double>(multiplier) + zp;
  v = std::clamp<double>(v, qmin, qmax);
  return static_cast<int32_t>(std::nearbyint(v));
}

Attributes ConvAttrs(const ConvCase& cc) {
  Attributes attrs;
  attrs.Set("pads", cc.pads);
  attrs.Set("strides", cc.strides);
  attrs.Set("dilations", cc.dilations);
  attrs.Set("group", cc.group);
  attrs.Set("kernel_shape", std::vector<int64_t>{cc.kh, cc.kw});
  return attrs;
}

std::vector<ConvCase> ConvCases() {
  std::vector<ConvCase> cases;
  cases.push_back(ConvCase{});                                      // 3x3 valid
  cases.push_back(ConvCase{2, 3, 7, 6, 5, 3, 3, 1, {1, 1, 1, 1}, {1, 1}, {1, 1}});
  cases.push_back(ConvCase{1, 4, 9, 8, 6, 3, 2, 2, {1, 0, 2, 1}, {2, 1}, {1, 2}});
  cases.push_back(ConvCase{1, 6, 8, 8, 6, 3, 3, 6, {1, 1, 1, 1}, {2, 2}, {1, 1}});  // depthwise
  cases.push_back(ConvCase{1, 16, 12, 11, 9, 1, 1, 1, {0, 0, 0, 0}, {1, 1}, {1, 1}});  // 1x1
  cases.push_back(ConvCase{1, 8, 64, 63, 7, 3, 3, 1, {1, 1, 1, 1}, {1, 1}, {1, 1}});  // 2 tiles
  return cases;
}

TEST_CASE("ConvInteger matches the reference (uint8/int8, zero points, per channel)",
          "[kernels][quantize]") {
  std::mt19937 rng(21);
  for (const ConvCase& cc : ConvCases()) {
    for (int types = 0; types < 4; ++types) {
      const bool x_int8 = types & 1, w_int8 = types & 2;
      CAPTURE(cc.c, cc.m, cc.group, cc.kh, cc.kw, x_int8, w_int8);
      const Dims xs{cc.n, cc.c, cc.h, cc.w}, ws{cc.m, cc.c / cc.group, cc.kh, cc.kw};
      Tensor x = x_int8 ? RandomInts<int8_t>(DataType::kInt8, xs, rng, -128, 127)
                        : RandomInts<uint8_t>(DataType::kUint8, xs, rng, 0, 255);
      Tensor w = w_int8 ? RandomInts<int8_t>(DataType::kInt8, ws, rng, -128, 127)
                        : RandomInts<uint8_t>(DataType::kUint8, ws, rng, 0, 255);
      const int32_t xz = x_int8 ? -3 : 131;
      Tensor x_zp = x_int8 ? I8({}, {static_cast<int8_t>(xz)}) : U8({}, {static_cast<uint8_t>(xz)});
      std::vector<int32_t> wz(static_cast<size_t>(cc.m));
      for (int64_t i = 0; i < cc.m; ++i) wz[i] = w_int8 ? static_cast<int32_t>(i % 5) - 2 : 120 + static_cast<int32_t>(i);
      Tensor w_zp = w_int8 ? RandomInts<int8_t>(DataType::kInt8, {cc.m}, rng, 0, 0)
                           : RandomInts<uint8_t>(DataType::kUint8, {cc.m}, rng, 0, 0);
      for (int64_t i = 0; i < cc.m; ++i) {
        if (w_int8) w_zp.data_as<int8_t>()[i] = static_cast<int8_t>(wz[i]);
        else w_zp.data_as<uint8_t>()[i] = static_cast<uint8_t>(wz[i]);
      }
      int64_t oh = 0, ow = 0;
      const std::vector<int32_t> expected = RefConvAcc(cc, x, xz, w, wz, &oh, &ow);
      Tensor y = RunEverywhere("ConvInteger", ConvAttrs(cc), {&x, &w, &x_zp, &w_zp});
      REQUIRE(y.dtype() == DataType::kInt32);
      REQUIRE(y.shape() == Dims{cc.n, cc.m, oh, ow});
      CHECK(Values<int32_t>(y) == expected);
    }
  }
  SECTION("no zero points; 1-D convolution") {
    Tensor x = RandomInts<uint8_t>(DataType::kUint8, {2, 3, 11}, rng, 0, 255);
    Tensor w = RandomInts<int8_t>(DataType::kInt8, {4, 3, 3}, rng, -128, 127);
    Attributes attrs;
    attrs.Set("pads", std::vector<int64_t>{2, 1});
    attrs.Set("strides", std::vector<int64_t>{2});
    Tensor y = RunEverywhere("ConvInteger", attrs, {&x, &w});
    ConvCase cc{2, 3, 1, 11, 4, 1, 3, 1, {0, 2, 0, 1}, {1, 2}, {1, 1}};
    int64_t oh = 0, ow = 0;
    CHECK(Values<int32_t>(y) ==
          RefConvAcc(cc, x, 0, w, std::vector<int32_t>(4, 0), &oh, &ow));
    CHECK(y.shape() == Dims{2, 4, ow});
  }
  SECTION("ONNX example with padding: padding is the zero point") {
    const Tensor x = U8({1, 1, 3, 3}, {2, 3, 4, 5, 6, 7, 8, 9, 10});
    const Tensor w = U8({1, 1, 2, 2}, {1, 1, 1, 1});
    const Tensor xz = U8({}, {1});
    Attributes attrs;
    attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    Tensor y = RunEverywhere("ConvInteger", attrs, {&x, &w, &xz});
    CHECK(Values<int32_t>(y) ==
          std::vector<int32_t>{1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9});
  }
}

TEST_CASE("QLinearConv matches the reference (bias, per-channel scales, saturation)",
          "[kernels][quantize]") {
  std::mt19937 rng(22);
  for (const ConvCase& cc : ConvCases()) {
    for (int types = 0; types < 4; ++types) {
      const bool x_int8 = types & 1, y_int8 = types & 2;
      CAPTURE(cc.c, cc.m, cc.group, cc.kh, cc.kw, x_int8, y_int8);
      const Dims xs{cc.n, cc.c, cc.h, cc.w}, ws{cc.m, cc.c / cc.group, cc.kh, cc.kw};
      Tensor x = x_int8 ? RandomInts<int8_t>(DataType::kInt8, xs, rng, -128, 127)
                        : RandomInts<uint8_t>(DataType::kUint8, xs, rng, 0, 255);
      Tensor w = RandomInts<int8_t>(DataType::kInt8, ws, rng, -127, 127);
      const int32_t xz = x_int8 ? 5 : 128;
      Tensor x_zp = x_int8 ? I8({}, {static_cast<int8_t>(xz)}) : U8({}, {static_cast<uint8_t>(xz)});
      const Tensor x_scale = Scalar(0.02f);
      std::vector<float> ws_v(static_cast<size_t>(cc.m));
      for (int64_t i = 0; i < cc.m; ++i) ws_v[i] = 0.03f + 0.007f * static_cast<float>(i);
      const Tensor w_scale = MakeFloat({cc.m}, ws_v);
      const Tensor w_zp = RandomInts<int8_t>(DataType::kInt8, {cc.m}, rng, 0, 0);
      // A y_scale small enough that some outputs saturate.
      const Tensor y_scale = Scalar(0.05f);
      const int32_t yz = y_int8 ? -7 : 120;
      Tensor y_zp = y_int8 ? I8({}, {static_cast<int8_t>(yz)}) : U8({}, {static_cast<uint8_t>(yz)});
      Tensor bias = RandomInts<int32_t>(DataType::kInt32, {cc.m}, rng, -5000, 5000);
      int64_t oh = 0, ow = 0;
      std::vector<int32_t> acc =
          RefConvAcc(cc, x, xz, w, std::vector<int32_t>(static_cast<size_t>(cc.m), 0), &oh, &ow);
      Tensor y = RunEverywhere("QLinearConv", ConvAttrs(cc),
                               {&x, &x_scale, &x_zp, &w, &w_scale, &w_zp, &y_scale, &y_zp, &bias});
      REQUIRE(y.dtype() == (y_int8 ? DataType::kInt8 : DataType::kUint8));
      const int32_t qmin = y_int8 ? -128 : 0, qmax = y_int8 ? 127 : 255;
      const int64_t plane = oh * ow;
      int saturated = 0;
      for (size_t i = 0; i < acc.size(); ++i) {
        const int64_t oc = (static_cast<int64_t>(i) / plane) % cc.m;
        const float mult = 0.02f * ws_v[oc] / 0.05f;
        const int32_t e = RefRequantize(acc[i] + bias.data_as<int32_t>()[oc], mult, yz, qmin, qmax);
        saturated += e == qmin || e == qmax;
        CAPTURE(i, acc[i]);
        REQUIRE(IntAt(y, static_cast<int64_t>(i)) == e);
      }
      CHECK(saturated > 0);
    }
  }
  SECTION("ONNX example (test_qlinearconv)") {
    const Tensor x = U8({1, 1, 7, 7},
                        {255, 174, 162, 25,  203, 168, 58,  15,  59,  237, 95,  129, 0,
                         64,  56,  242, 153, 221, 168, 12,  166, 232, 178, 186, 195, 237,
                         162, 237, 188, 39,  124, 77,  80,  102, 43,  127, 230, 21,  83,
                         41,  40,  134, 255, 154, 92,  141, 42,  148, 247});
    const Tensor x_scale = Scalar(0.00369204697f);
    const Tensor x_zp = U8({}, {132});
    const Tensor w = U8({1, 1, 1, 1}, {0});
    const Tensor w_scale = MakeFloat({1}, {0.00172794575f});
    const Tensor w_zp = U8({1}, {255});
    const Tensor y_scale = Scalar(0.00162681262f);
    const Tensor y_zp = U8({}, {123});
    Tensor y = RunEverywhere("QLinearConv", {},
                             {&x, &x_scale, &x_zp, &w, &w_scale, &w_zp, &y_scale, &y_zp});
    const float mult = 0.00369204697f * 0.00172794575f / 0.00162681262f;
    for (int64_t i = 0; i < 49; ++i) {
      const int32_t acc = (IntAt(x, i) - 132) * (0 - 255);
      CHECK(IntAt(y, i) == RefRequantize(acc, mult, 123, 0, 255));
    }
  }
}

TEST_CASE("QLinearConv / ConvInteger reject bad inputs with clear errors",
          "[kernels][quantize]") {
  const Tensor x = U8({1, 2, 4, 4}, std::vector<uint8_t>(32, 1));
  const Tensor w = U8({2, 2, 3, 3}, std::vector<uint8_t>(36, 1));
  const Tensor s = Scalar(0.1f);
  const Tensor zp = U8({}, {0});
  SECTION("w_scale with the wrong number of channels") {
    const Tensor ws = MakeFloat({3}, {1, 1, 1});
    absl::Status st = EvalStatus("QLinearConv", {}, {&x, &s, &zp, &w, &ws, &zp, &s, &zp});
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(st.message(), "QLinearConv"));
    CHECK(absl::StrContains(st.message(), "w_scale"));
  }
  SECTION("float bias") {
    const Tensor b = MakeFloat({2}, {0, 0});
    absl::Status st = EvalStatus("QLinearConv", {}, {&x, &s, &zp, &w, &s, &zp, &s, &zp, &b});
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(st.message(), "B"));
  }
  SECTION("x zero point of another type") {
    const Tensor izp = I8({}, {0});
    absl::Status st = EvalStatus("ConvInteger", {}, {&x, &w, &izp});
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(st.message(), "x_zero_point"));
  }
  SECTION("float data") {
    const Tensor fx = MakeFloat({1, 2, 4, 4}, std::vector<float>(32, 1.0f));
    absl::Status st = EvalStatus("ConvInteger", {}, {&fx, &w});
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(st.message(), "ConvInteger"));
  }
  SECTION("geometry errors name the op") {
    const Tensor w5 = U8({2, 2, 5, 5}, std::vector<uint8_t>(100, 1));
    absl::Status st = EvalStatus("ConvInteger", {}, {&x, &w5});
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(st.message(), "ConvInteger"));
  }
}

// ---------------------------------------------------------------------------
// QLinearMatMul, MatMulInteger

// Y[batch, r, c] = sum_k (A - azp(am, r)) (B - bzp(bm, c)), A [ab..., M, K],
// B [bb..., K, N] with broadcast batch dims (2 leading dims at most here).
struct MatMulRef {
  Dims y_batch;
  std::vector<int64_t> a_mat, b_mat;  // per output batch
};

MatMulRef Batches(const Dims& a_batch, const Dims& b_batch) {
  MatMulRef ref;
  const size_t rank = std::max(a_batch.size(), b_batch.size());
  auto dim = [&](const Dims& d, size_t i) {
    const size_t off = rank - d.size();
    return i < off ? int64_t{1} : d[i - off];
  };
  for (size_t i = 0; i < rank; ++i) ref.y_batch.push_back(std::max(dim(a_batch, i), dim(b_batch, i)));
  const int64_t count = NumElements(ref.y_batch);
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t rem = flat, am = 0, bm = 0, a_stride = 1, b_stride = 1;
    for (size_t i = rank; i-- > 0;) {
      const int64_t idx = rem % ref.y_batch[i];
      rem /= ref.y_batch[i];
      const int64_t ad = dim(a_batch, i), bd = dim(b_batch, i);
      am += (ad == 1 ? 0 : idx) * a_stride;
      bm += (bd == 1 ? 0 : idx) * b_stride;
      a_stride *= ad;
      b_stride *= bd;
    }
    ref.a_mat.push_back(am);
    ref.b_mat.push_back(bm);
  }
  return ref;
}

TEST_CASE("MatMulInteger matches the reference (broadcast batches, per-row/column zero points)",
          "[kernels][quantize]") {
  std::mt19937 rng(31);
  const int64_t m = 7, k = 13, n = 9;
  for (int types = 0; types < 4; ++types) {
    const bool a_int8 = types & 1, b_int8 = types & 2;
    CAPTURE(a_int8, b_int8);
    const Dims a_shape{2, 1, m, k}, b_shape{3, k, n};
    Tensor a = a_int8 ? RandomInts<int8_t>(DataType::kInt8, a_shape, rng, -128, 127)
                      : RandomInts<uint8_t>(DataType::kUint8, a_shape, rng, 0, 255);
    Tensor b = b_int8 ? RandomInts<int8_t>(DataType::kInt8, b_shape, rng, -128, 127)
                      : RandomInts<uint8_t>(DataType::kUint8, b_shape, rng, 0, 255);
    // a_zero_point per row [M] (opset 10 form), b_zero_point per column [N].
    Tensor a_zp = a_int8 ? RandomInts<int8_t>(DataType::kInt8, {m}, rng, -5, 5)
                         : RandomInts<uint8_t>(DataType::kUint8, {m}, rng, 100, 150);
    Tensor b_zp = b_int8 ? RandomInts<int8_t>(DataType::kInt8, {n}, rng, -5, 5)
                         : RandomInts<uint8_t>(DataType::kUint8, {n}, rng, 100, 150);
    Tensor y = RunEverywhere("MatMulInteger", {}, {&a, &b, &a_zp, &b_zp});
    REQUIRE(y.dtype() == DataType::kInt32);
    REQUIRE(y.shape() == Dims{2, 3, m, n});
    const MatMulRef ref = Batches({2, 1}, {3});
    for (size_t bi = 0; bi < ref.a_mat.size(); ++bi) {
      for (int64_t r = 0; r < m; ++r) {
        for (int64_t c = 0; c < n; ++c) {
          int32_t sum = 0;
          for (int64_t kk = 0; kk < k; ++kk) {
            sum += (IntAt(a, (ref.a_mat[bi] * m + r) * k + kk) - IntAt(a_zp, r)) *
                   (IntAt(b, (ref.b_mat[bi] * k + kk) * n + c) - IntAt(b_zp, c));
          }
          REQUIRE(y.data_as<int32_t>()[(bi * m + r) * n + c] == sum);
        }
      }
    }
  }
  SECTION("ONNX example (test_matmulinteger)") {
    const Tensor a = U8({4, 3}, {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0});
    const Tensor b = U8({3, 2}, {1, 4, 2, 5, 3, 6});
    const Tensor a_zp = U8({1}, {12});
    const Tensor b_zp = U8({1}, {0});
    Tensor y = RunEverywhere("MatMulInteger", {}, {&a, &b, &a_zp, &b_zp});
    CHECK(Values<int32_t>(y) == std::vector<int32_t>{-38, -83, -44, -98, -50, -113, -56, -128});
  }
  SECTION("1-D operands, no zero points") {
    const Tensor a = I8({3}, {1, -2, 3});
    const Tensor b = I8({3, 2}, {1, 2, 3, 4, 5, 6});
    Tensor y = RunEverywhere("MatMulInteger", {}, {&a, &b});
    CHECK(y.shape() == Dims{2});
    CHECK(Values<int32_t>(y) == std::vector<int32_t>{10, 12});
    const Tensor v = I8({2}, {1, -1});
    Tensor z = RunEverywhere("MatMulInteger", {}, {&b, &v});  // [3, 2] x [2] -> [3]
    CHECK(z.shape() == Dims{3});
    CHECK(Values<int32_t>(z) == std::vector<int32_t>{-1, -1, -1});
  }
}

TEST_CASE("QLinearMatMul matches the reference (ONNX examples, per-row/column scales)",
          "[kernels][quantize]") {
  SECTION("test_qlinearmatmul_2D") {
    const Tensor a = U8({2, 4}, {208, 236, 0, 238, 3, 214, 255, 29});
    const Tensor a_scale = MakeFloat({1}, {0.0066f});
    const Tensor a_zp = U8({1}, {113});
    const Tensor b = U8({4, 3}, {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247});
    const Tensor b_scale = MakeFloat({1}, {0.00705f});
    const Tensor b_zp = U8({1}, {114});
    const Tensor y_scale = MakeFloat({1}, {0.0107f});
    const Tensor y_zp = U8({1}, {118});
    Tensor y = RunEverywhere("QLinearMatMul", {},
                             {&a, &a_scale, &a_zp, &b, &b_scale, &b_zp, &y_scale, &y_zp});
    CHECK(Values<uint8_t>(y) == std::vector<uint8_t>{168, 115, 255, 1, 66, 151});
  }
  SECTION("random, int8 and uint8, per-row a and per-column b") {
    std::mt19937 rng(32);
    const int64_t m = 6, k = 40, n = 11;
    for (int types = 0; types < 4; ++types) {
      const bool a_int8 = types & 1, y_int8 = types & 2;
      CAPTURE(a_int8, y_int8);
      Tensor a = a_int8 ? RandomInts<int8_t>(DataType::kInt8, {2, m, k}, rng, -128, 127)
                        : RandomInts<uint8_t>(DataType::kUint8, {2, m, k}, rng, 0, 255);
      Tensor b = RandomInts<int8_t>(DataType::kInt8, {k, n}, rng, -127, 127);
      // N-D per-row a parameters [2, M, 1]; per-column b parameters [N].
      std::vector<float> as(static_cast<size_t>(2 * m)), bs(static_cast<size_t>(n));
      for (size_t i = 0; i < as.size(); ++i) as[i] = 0.01f + 0.001f * static_cast<float>(i);
      for (size_t i = 0; i < bs.size(); ++i) bs[i] = 0.004f + 0.0005f * static_cast<float>(i);
      const Tensor a_scale = MakeFloat({2, m, 1}, as);
      Tensor a_zp = a_int8 ? RandomInts<int8_t>(DataType::kInt8, {2, m, 1}, rng, -4, 4)
                           : RandomInts<uint8_t>(DataType::kUint8, {2, m, 1}, rng, 120, 136);
      const Tensor b_scale = MakeFloat({n}, bs);
      const Tensor b_zp = RandomInts<int8_t>(DataType::kInt8, {n}, rng, -3, 3);
      const Tensor y_scale = Scalar(0.9f);
      const int32_t yz = y_int8 ? 3 : 130;
      Tensor y_zp = y_int8 ? I8({}, {static_cast<int8_t>(yz)}) : U8({}, {static_cast<uint8_t>(yz)});
      Tensor y = RunEverywhere("QLinearMatMul", {},
                               {&a, &a_scale, &a_zp, &b, &b_scale, &b_zp, &y_scale, &y_zp});
      REQUIRE(y.shape() == Dims{2, m, n});
      const int32_t qmin = y_int8 ? -128 : 0, qmax = y_int8 ? 127 : 255;
      for (int64_t bi = 0; bi < 2; ++bi) {
        for (int64_t r = 0; r < m; ++r) {
          for (int64_t c = 0; c < n; ++c) {
            int32_t sum = 0;
            for (int64_t kk = 0; kk < k; ++kk) {
              sum += (IntAt(a, (bi * m + r) * k + kk) - IntAt(a_zp, bi * m + r)) *
                     (IntAt(b, kk * n + c) - IntAt(b_zp, c));
            }
            const float mult = as[bi * m + r] * bs[c] / 0.9f;
            REQUIRE(IntAt(y, (bi * m + r) * n + c) == RefRequantize(sum, mult, yz, qmin, qmax));
          }
        }
      }
    }
  }
  SECTION("larger product split over threads") {
    std::mt19937 rng(33);
    Tensor a = RandomInts<uint8_t>(DataType::kUint8, {3, 67, 150}, rng, 0, 255);
    Tensor b = RandomInts<uint8_t>(DataType::kUint8, {3, 150, 45}, rng, 0, 255);
    const Tensor s = Scalar(0.01f), ys = Scalar(2.5f);
    const Tensor zp = U8({}, {128});
    RunEverywhere("QLinearMatMul", {}, {&a, &s, &zp, &b, &s, &zp, &ys, &zp});
    RunEverywhere("MatMulInteger", {}, {&a, &b, &zp, &zp});
  }
}

TEST_CASE("QLinearMatMul / MatMulInteger reject bad inputs with clear errors",
          "[kernels][quantize]") {
  const Tensor a = U8({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = U8({3, 4}, std::vector<uint8_t>(12, 1));
  const Tensor s = Scalar(0.1f);
  const Tensor zp = U8({}, {0});
  SECTION("b_zero_point along K") {
    const Tensor bz = U8({3, 1}, {0, 0, 0});
    absl::Status st = EvalStatus("MatMulInteger", {}, {&a, &b, nullptr, &bz});
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(st.message(), "MatMulInteger"));
    CHECK(absl::StrContains(st.message(), "b_zero_point"));
  }
  SECTION("a_zero_point of the wrong length") {
    const Tensor az = U8({3}, {0, 0, 0});
    absl::Status st = EvalStatus("MatMulInteger", {}, {&a, &b, &az});
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(st.message(), "a_zero_point"));
  }
  SECTION("inner dimensions differ") {
    absl::Status st = EvalStatus("MatMulInteger", {}, {&b, &a});
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(st.message(), "inner"));
  }
  SECTION("float16 scale is Unimplemented") {
    const Tensor h(DataType::kFloat16, {});
    absl::Status st = EvalStatus("QLinearMatMul", {}, {&a, &h, &zp, &b, &s, &zp, &s, &zp});
    CHECK(st.code() == absl::StatusCode::kUnimplemented);
    CHECK(absl::StrContains(st.message(), "a_scale"));
  }
  SECTION("per-channel y_scale") {
    const Tensor ys = MakeFloat({4}, {1, 1, 1, 1});
    absl::Status st = EvalStatus("QLinearMatMul", {}, {&a, &s, &zp, &b, &s, &zp, &ys, &zp});
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(st.message(), "y_scale"));
  }
}

}  // namespace
}  // namespace engine::kernels
