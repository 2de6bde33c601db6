// MaxUnpool and ReverseSequence kernels: hand-computed values (the ONNX test
// cases' forms), errors, thread-count invariance.
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
using engine::testing::RandomTensor;
using engine::testing::ToVector;
using testing::Eval;
using testing::Eval1;

Attributes UnpoolAttrs() {
  Attributes a;
  a.Set("kernel_shape", std::vector<int64_t>{2, 2});
  a.Set("strides", std::vector<int64_t>{2, 2});
  return a;
}

TEST_CASE("MaxUnpool scatters values to their MaxPool indices", "[kernels][maxunpool]") {
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor idx = MakeInt64({1, 1, 2, 2}, {5, 7, 13, 15});
  // Unpooled size (2 - 1) * 2 + 2 = 4 per axis.
  Tensor y = Eval1("MaxUnpool", UnpoolAttrs(), {&x, &idx});
  CHECK(y.shape() == Dims{1, 1, 4, 4});
  CHECK(ToVector(y) == std::vector<float>{0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4});
  // output_shape 5 x 5: each value keeps its coordinates (1, 1), (1, 3),
  // (3, 1), (3, 3) of the 4 x 4 unpooled tensor: flat 6, 8, 16, 18.
  Tensor shape = MakeInt64({4}, {1, 1, 5, 5});
  Tensor big = Eval1("MaxUnpool", UnpoolAttrs(), {&x, &idx, &shape});
  CHECK(big.shape() == Dims{1, 1, 5, 5});
  std::vector<float> expected(25, 0.0f);
  expected[6] = 1;
  expected[8] = 2;
  expected[16] = 3;
  expected[18] = 4;
  CHECK(ToVector(big) == expected);
}

TEST_CASE("MaxUnpool indices span the whole tensor", "[kernels][maxunpool]") {
  // Two channels: index 5 of the [1, 2, 2, 2] output is channel 1, (0, 1).
  Tensor x = MakeFloat({1, 2, 1, 1}, {7, 9});
  Tensor idx = MakeInt64({1, 2, 1, 1}, {0, 5});
  Tensor y = Eval1("MaxUnpool", UnpoolAttrs(), {&x, &idx});
  CHECK(ToVector(y) == std::vector<float>{7, 0, 0, 0, 0, 9, 0, 0});
}

TEST_CASE("MaxUnpool errors", "[kernels][maxunpool]") {
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor idx = MakeInt64({1, 1, 2, 2}, {5, 7, 13, 16});
  auto bad_index = Eval("MaxUnpool", UnpoolAttrs(), {&x, &idx});
  CHECK(bad_index.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad_index.status().message(), "I[3] = 16"));
  Tensor ok_idx = MakeInt64({1, 1, 2, 2}, {5, 7, 13, 15});
  Tensor small = MakeInt64({4}, {1, 1, 3, 4});
  auto too_small = Eval("MaxUnpool", UnpoolAttrs(), {&x, &ok_idx, &small});
  CHECK(too_small.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(too_small.status().message(), "output_shape[2]"));
  auto no_kernel = Eval("MaxUnpool", {}, {&x, &ok_idx});
  CHECK(absl::StrContains(no_kernel.status().message(), "kernel_shape"));
  // A non-constant output_shape cannot give a static shape.
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("MaxUnpool");
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> in(3);
  in[0].dtype = DataType::kFloat32;
  in[0].shape = {1, 1, 2, 2};
  in[1].dtype = DataType::kInt64;
  in[1].shape = {1, 1, 2, 2};
  in[2].dtype = DataType::kInt64;
  in[2].shape = {4};
  auto dynamic = def->infer(UnpoolAttrs(), in);
  CHECK(dynamic.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(absl::StrContains(dynamic.status().message(), "must be a constant tensor"));
}

TEST_CASE("MaxUnpool skips out-of-range indices at run time", "[kernels][maxunpool]") {
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor idx = MakeInt64({1, 1, 2, 2}, {0, -1, 99, 15});
  const std::vector<Tensor> out = testing::RunWithThreads("MaxUnpool", UnpoolAttrs(), {&x, &idx},
                                                          nullptr, 1);
  std::vector<float> expected(16, 0.0f);
  expected[0] = 1;
  expected[15] = 4;
  CHECK(ToVector(out[0]) == expected);
}

Attributes ReverseAttrs(int64_t time, int64_t batch) {
  Attributes a;
  a.Set("time_axis", time);
  a.Set("batch_axis", batch);
  return a;
}

TEST_CASE("ReverseSequence reverses each batch entry's prefix", "[kernels][reversesequence]") {
  // Batch-major: row b reverses its first lens[b] elements.
  Tensor x = MakeFloat({4, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  Tensor lens = MakeInt64({4}, {1, 2, 3, 4});
  CHECK(ToVector(Eval1("ReverseSequence", ReverseAttrs(1, 0), {&x, &lens})) ==
        std::vector<float>{0, 1, 2, 3, 5, 4, 6, 7, 10, 9, 8, 11, 15, 14, 13, 12});
  // Time-major: column b reverses its first lens[b] elements.
  Tensor xt = MakeFloat({4, 4}, {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15});
  Tensor lens_t = MakeInt64({4}, {4, 3, 2, 1});
  CHECK(ToVector(Eval1("ReverseSequence", ReverseAttrs(0, 1), {&xt, &lens_t})) ==
        std::vector<float>{3, 6, 9, 12, 2, 5, 8, 13, 1, 4, 10, 14, 0, 7, 11, 15});
}

TEST_CASE("ReverseSequence errors and run-time clamping", "[kernels][reversesequence]") {
  Tensor x = MakeFloat({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor lens = MakeInt64({2}, {4, 1});
  auto too_long = Eval("ReverseSequence", ReverseAttrs(1, 0), {&x, &lens});
  CHECK(too_long.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(too_long.status().message(), "sequence_lens[0] = 4"));
  CHECK(Eval("ReverseSequence", ReverseAttrs(1, 1), {&x, &lens}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  Tensor wrong_count = MakeInt64({3}, {1, 1, 1});
  CHECK(Eval("ReverseSequence", ReverseAttrs(1, 0), {&x, &wrong_count}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  // Not constant: a length of 4 > 3 is clamped to 3.
  const std::vector<Tensor> out =
      testing::RunWithThreads("ReverseSequence", ReverseAttrs(1, 0), {&x, &lens}, nullptr, 1);
  CHECK(ToVector(out[0]) == std::vector<float>{2, 1, 0, 3, 4, 5});
}

TEST_CASE("MaxUnpool and ReverseSequence are thread-count invariant", "[kernels][reorder]") {
  std::mt19937 rng(5);
  Tensor x = RandomTensor({5, 7, 3}, rng);
  Tensor lens = MakeInt64({7}, {0, 1, 5, 3, 2, 5, 4});
  testing::CheckThreadInvariant("ReverseSequence", ReverseAttrs(0, 1), {&x, &lens});
  Tensor xp = RandomTensor({2, 3, 2, 2}, rng);
  std::vector<int64_t> iv;
  for (int64_t i = 0; i < 24; ++i) iv.push_back((i * 37) % 96);
  Tensor idx = MakeInt64({2, 3, 2, 2}, iv);
  testing::CheckThreadInvariant("MaxUnpool", UnpoolAttrs(), {&xp, &idx});
}

}  // namespace
}  // namespace engine::kernels
