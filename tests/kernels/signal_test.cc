// Det, window generators, DFT, STFT and MelWeightMatrix kernels:
// hand-computed values (derivations in the comments), errors, thread-count
// invariance.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "kernel_test_util.h"
#include "ops/op_registry.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::MakeFloat;
using engine::testing::MakeInt64;
using engine::testing::MakeTyped;
using engine::testing::RandomTensor;
using engine::testing::ToVector;
using testing::Eval;
using testing::Eval1;

void CheckClose(const Tensor& t, const std::vector<float>& expected, double tol = 1e-5) {
  const std::vector<float> v = ToVector(t);
  REQUIRE(v.size() == expected.size());
  for (size_t i = 0; i < v.size(); ++i) {
    CAPTURE(i);
    CHECK(v[i] == Approx(expected[i]).margin(tol));
  }
}

// ---------------------------------------------------------------------------
// Det

TEST_CASE("Det of 2x2, 3x3 and batched matrices", "[kernels][det]") {
  Tensor a = MakeFloat({2, 2}, {1, 2, 3, 4});
  Tensor d = Eval1("Det", {}, {&a});
  CHECK(d.shape() == Dims{});
  CheckClose(d, {-2});
  // 6 (-2*7 - 5*8) - 1 (4*7 - 5*2) + 1 (4*8 + 2*2) = -324 - 18 + 36.
  Tensor b = MakeFloat({3, 3}, {6, 1, 1, 4, -2, 5, 2, 8, 7});
  CheckClose(Eval1("Det", {}, {&b}), {-306}, 1e-3);
  // A row swap flips the sign; a singular matrix gives 0.
  Tensor c = MakeFloat({2, 2, 2, 2}, {0, 1, 1, 0, 1, 2, 2, 4, 2, 0, 0, 3, 1, 2, 2, 1});
  Tensor dc = Eval1("Det", {}, {&c});
  CHECK(dc.shape() == Dims{2, 2});
  CheckClose(dc, {-1, 0, 6, -3});
  Tensor bad = MakeFloat({2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(Eval("Det", {}, {&bad}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Det is thread-count invariant", "[kernels][det]") {
  std::mt19937 rng(11);
  Tensor x = RandomTensor({9, 4, 4}, rng);
  testing::CheckThreadInvariant("Det", {}, {&x});
}

// ---------------------------------------------------------------------------
// Windows

Attributes Periodic(int64_t p) {
  Attributes a;
  a.Set("periodic", p);
  return a;
}

TEST_CASE("Window generators, periodic and symmetric", "[kernels][window]") {
  Tensor four = MakeTyped<int32_t>(DataType::kInt32, {}, {4});
  Tensor five = MakeInt64({}, {5});
  // Hann periodic, N = 4: 0.5 - 0.5 cos(pi n / 2) = 0, 0.5, 1, 0.5.
  CheckClose(Eval1("HannWindow", {}, {&four}), {0, 0.5f, 1, 0.5f});
  // Symmetric, size 5: N = 4, the same points and a last 0.
  CheckClose(Eval1("HannWindow", Periodic(0), {&five}), {0, 0.5f, 1, 0.5f, 0});
  // Hamming: 25/46 - 21/46 cos: 4/46, 25/46, 1, 25/46.
  CheckClose(Eval1("HammingWindow", {}, {&four}), {4.0f / 46, 25.0f / 46, 1, 25.0f / 46});
  // Blackman: 0.42 - 0.5 cos + 0.08 cos(2x): 0, 0.34, 1, 0.34.
  CheckClose(Eval1("BlackmanWindow", {}, {&four}), {0, 0.34f, 1, 0.34f});
  Tensor one = MakeInt64({}, {1});
  CheckClose(Eval1("HannWindow", Periodic(0), {&one}), {0});
  Tensor zero = MakeInt64({}, {0});
  CHECK(Eval1("HannWindow", {}, {&zero}).shape() == Dims{0});
}

TEST_CASE("Window generators need a constant, valid size", "[kernels][window]") {
  Tensor neg = MakeInt64({}, {-3});
  auto r = Eval("HannWindow", {}, {&neg});
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(r.status().message(), "size"));
  Attributes f16;
  f16.Set("output_datatype", int64_t{10});
  Tensor four = MakeInt64({}, {4});
  CHECK(Eval("HannWindow", f16, {&four}).status().code() == absl::StatusCode::kUnimplemented);
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("BlackmanWindow");
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> in(1);
  in[0].dtype = DataType::kInt64;
  auto dynamic = def->infer({}, in);
  CHECK(dynamic.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(absl::StrContains(dynamic.status().message(), "must be a constant tensor"));
}

// ---------------------------------------------------------------------------
// DFT / STFT

Attributes DftAttrs(int64_t axis, int64_t inverse = 0, int64_t onesided = 0) {
  Attributes a;
  a.Set("axis", axis);
  a.Set("inverse", inverse);
  a.Set("onesided", onesided);
  return a;
}

TEST_CASE("DFT of a real signal, inverse, onesided and dft_length", "[kernels][dft]") {
  // DFT of [1, 2, 3, 4]: 10, -2 + 2i, -2, -2 - 2i.
  Tensor x = MakeFloat({1, 4, 1}, {1, 2, 3, 4});
  Tensor y = Eval1("DFT", DftAttrs(1), {&x});
  CHECK(y.shape() == Dims{1, 4, 2});
  CheckClose(y, {10, 0, -2, 2, -2, 0, -2, -2});
  // The inverse of that spectrum is the signal.
  CheckClose(Eval1("DFT", DftAttrs(1, 1), {&y}), {1, 0, 2, 0, 3, 0, 4, 0});
  // onesided: the first 4 / 2 + 1 bins.
  CheckClose(Eval1("DFT", DftAttrs(1, 0, 1), {&x}), {10, 0, -2, 2, -2, 0});
  // dft_length 2 truncates: [1 + 2, 1 - 2].
  Tensor two = MakeInt64({}, {2});
  CheckClose(Eval1("DFT", DftAttrs(1), {&x, &two}), {3, 0, -1, 0});
  // dft_length 6 zero-pads: bin 0 = 10, bin 3 = 1 - 2 + 3 - 4 = -2.
  Tensor six = MakeInt64({}, {6});
  Tensor padded = Eval1("DFT", DftAttrs(1), {&x, &six});
  CHECK(padded.shape() == Dims{1, 6, 2});
  const std::vector<float> v = ToVector(padded);
  CHECK(v[0] == Approx(10));
  CHECK(v[6] == Approx(-2));
  CHECK(v[7] == Approx(0).margin(1e-5));
}

TEST_CASE("DFT along an inner axis", "[kernels][dft]") {
  // Rows [1, 2] and [3, 4] along axis 2: [3, -1] and [7, -1].
  Tensor x = MakeFloat({1, 2, 2, 1}, {1, 2, 3, 4});
  CheckClose(Eval1("DFT", DftAttrs(2), {&x}), {3, 0, -1, 0, 7, 0, -1, 0});
  // Along axis 1: columns [1, 3] and [2, 4]: [4, -2] and [6, -2].
  CheckClose(Eval1("DFT", DftAttrs(1), {&x}), {4, 0, 6, 0, -2, 0, -2, 0});
  CheckClose(Eval1("DFT", DftAttrs(-2), {&x}), {3, 0, -1, 0, 7, 0, -1, 0});
  CHECK(Eval("DFT", DftAttrs(3), {&x}).status().code() == absl::StatusCode::kInvalidArgument);
  Tensor xc = MakeFloat({1, 2, 2}, {1, 0, 2, 0});
  CHECK(Eval("DFT", DftAttrs(1, 0, 1), {&xc}).status().code() ==
        absl::StatusCode::kUnimplemented);
}

TEST_CASE("STFT frames, windows and bins", "[kernels][stft]") {
  Tensor x = MakeFloat({1, 8, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
  Tensor step = MakeInt64({}, {2});
  Tensor length = MakeInt64({}, {4});
  // Frames [0..3], [2..5], [4..7]; onesided bins of each: sum, -2 + 2i, -2.
  Tensor y = Eval1("STFT", {}, {&x, &step, nullptr, &length});
  CHECK(y.shape() == Dims{1, 3, 3, 2});
  CheckClose(y, {6, 0, -2, 2, -2, 0, 14, 0, -2, 2, -2, 0, 22, 0, -2, 2, -2, 0});
  // Window [0, 1, 1, 0] on frame 0: [0, 1, 2, 0]: bins 3, -2 - i, 1.
  Tensor w = MakeFloat({4}, {0, 1, 1, 0});
  Tensor yw = Eval1("STFT", {}, {&x, &step, &w});
  CHECK(yw.shape() == Dims{1, 3, 3, 2});
  const std::vector<float> v = ToVector(yw);
  CHECK(v[0] == Approx(3));
  CHECK(v[2] == Approx(-2));
  CHECK(v[3] == Approx(-1));
  CHECK(v[4] == Approx(1));
  CHECK(v[5] == Approx(0).margin(1e-5));
  Tensor five = MakeInt64({}, {5});
  CHECK(Eval("STFT", {}, {&x, &step, &w, &five}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Eval("STFT", {}, {&x, &step}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("DFT and STFT are thread-count invariant", "[kernels][dft]") {
  std::mt19937 rng(13);
  Tensor x = RandomTensor({3, 10, 4, 2}, rng);
  testing::CheckThreadInvariant("DFT", DftAttrs(1), {&x});
  testing::CheckThreadInvariant("DFT", DftAttrs(2, 1), {&x});
  Tensor s = RandomTensor({2, 40, 1}, rng);
  Tensor step = MakeInt64({}, {3});
  Tensor length = MakeInt64({}, {8});
  testing::CheckThreadInvariant("STFT", {}, {&s, &step, nullptr, &length},
                                testing::Inputs::kConstants);
}

// ---------------------------------------------------------------------------
// MelWeightMatrix

TEST_CASE("MelWeightMatrix matches the ONNX reference algorithm", "[kernels][melweightmatrix]") {
  // 3 mel bins, dft_length 32, 8 kHz, 100..4000 Hz: edges at DFT bins
  // 0, 1, 3, 6, 10 (the ONNX reference in numpy).
  Tensor bins = MakeTyped<int32_t>(DataType::kInt32, {}, {3});
  Tensor dft = MakeTyped<int32_t>(DataType::kInt32, {}, {32});
  Tensor rate = MakeTyped<int32_t>(DataType::kInt32, {}, {8000});
  Tensor lo = MakeFloat({}, {100});
  Tensor hi = MakeFloat({}, {4000});
  Tensor y = Eval1("MelWeightMatrix", {}, {&bins, &dft, &rate, &lo, &hi});
  CHECK(y.shape() == Dims{17, 3});
  std::vector<float> expected(17 * 3, 0.0f);
  const std::vector<std::vector<float>> head = {
      {0, 0, 0},        {1, 0, 0},           {0.5f, 0.5f, 0},     {0, 1, 0},
      {0, 2.0f / 3, 1.0f / 3}, {0, 1.0f / 3, 2.0f / 3}, {0, 0, 1}, {0, 0, 0.75f},
      {0, 0, 0.5f},     {0, 0, 0.25f}};
  for (size_t r = 0; r < head.size(); ++r) {
    for (size_t c = 0; c < 3; ++c) expected[r * 3 + c] = head[r][c];
  }
  CheckClose(y, expected);
  Tensor bad_hi = MakeFloat({}, {50});
  CHECK(Eval("MelWeightMatrix", {}, {&bins, &dft, &rate, &lo, &bad_hi}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace engine::kernels
