// Tests of the data movement and shape host kernels
// (src/kernels/shape_ops.cc).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "ops/op_registry.h"
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

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

std::vector<float> Iota(int64_t n, float start = 0) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

absl::StatusCode Code(const std::string& type, const Attributes& attrs,
                      std::vector<const Tensor*> inputs) {
  absl::StatusOr<std::vector<Tensor>> out = Eval(type, attrs, inputs);
  INFO(type << ": " << out.status().ToString());
  return out.status().code();
}

Attributes Attr(const std::string& name, AttrValue v) {
  Attributes a;
  a.Set(name, std::move(v));
  return a;
}

// A tensor of every engine dtype with distinct bytes per element.
Tensor PatternTensor(DataType dtype, const Dims& shape) {
  Tensor t(dtype, shape);
  auto* p = static_cast<uint8_t*>(t.data());
  for (size_t i = 0; i < t.byte_size(); ++i) p[i] = static_cast<uint8_t>(i * 7 + 3);
  return t;
}

std::vector<int64_t> Unravel(int64_t linear, const Dims& shape) {
  std::vector<int64_t> idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = linear % shape[d];
    linear /= shape[d];
  }
  return idx;
}

int64_t Ravel(const std::vector<int64_t>& idx, const Dims& shape) {
  int64_t linear = 0;
  for (size_t d = 0; d < shape.size(); ++d) linear = linear * shape[d] + idx[d];
  return linear;
}

// Checks out element i (bytes) == in element src(i) (bytes).
template <typename SrcFn>
void CheckGathered(const Tensor& in, const Tensor& out, SrcFn src) {
  const size_t elem = DataTypeSize(in.dtype());
  const auto* a = static_cast<const uint8_t*>(in.data());
  const auto* b = static_cast<const uint8_t*>(out.data());
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    const int64_t s = src(i);
    REQUIRE(std::memcmp(b + i * elem, a + s * elem, elem) == 0);
  }
}

// ---------------------------------------------------------------------------
// Identity, Flatten, Reshape, Squeeze, Unsqueeze.

TEST_CASE("Identity copies every dtype", "[kernels]") {
  for (DataType dt : {DataType::kFloat32, DataType::kInt64, DataType::kInt32, DataType::kInt8,
                      DataType::kUint8, DataType::kBool, DataType::kFloat16}) {
    Tensor x = PatternTensor(dt, {2, 3});
    Tensor y = Eval1("Identity", {}, {&x});
    CHECK(y.dtype() == dt);
    CHECK(y.shape() == Dims{2, 3});
    CHECK(std::memcmp(x.data(), y.data(), x.byte_size()) == 0);
  }
}

TEST_CASE("Flatten axis handling", "[kernels]") {
  Tensor x = MakeFloat({2, 3, 4, 5}, Iota(120));
  CHECK(Eval1("Flatten", {}, {&x}).shape() == Dims{2, 60});
  CHECK(Eval1("Flatten", Attr("axis", int64_t{0}), {&x}).shape() == Dims{1, 120});
  CHECK(Eval1("Flatten", Attr("axis", int64_t{4}), {&x}).shape() == Dims{120, 1});
  CHECK(Eval1("Flatten", Attr("axis", int64_t{-1}), {&x}).shape() == Dims{24, 5});
  CHECK(Eval1("Flatten", Attr("axis", int64_t{-4}), {&x}).shape() == Dims{1, 120});
  Tensor y = Eval1("Flatten", Attr("axis", int64_t{2}), {&x});
  CHECK(y.shape() == Dims{6, 20});
  CHECK(ToVector(y) == Iota(120));
  CHECK(Code("Flatten", Attr("axis", int64_t{5}), {&x}) == absl::StatusCode::kInvalidArgument);
  CHECK(Code("Flatten", Attr("axis", int64_t{-5}), {&x}) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Reshape with 0 and -1", "[kernels]") {
  Tensor x = MakeFloat({2, 3, 4}, Iota(24));
  Tensor s1 = MakeInt64({2}, {4, -1});
  Tensor y = Eval1("Reshape", {}, {&x, &s1});
  CHECK(y.shape() == Dims{4, 6});
  CHECK(ToVector(y) == Iota(24));
  Tensor s2 = MakeInt64({3}, {0, -1, 2});
  CHECK(Eval1("Reshape", {}, {&x, &s2}).shape() == Dims{2, 6, 2});
  Tensor s3 = MakeInt64({3}, {0, 0, 0});
  CHECK(Eval1("Reshape", {}, {&x, &s3}).shape() == Dims{2, 3, 4});
  Tensor s4 = MakeInt64({1}, {-1});
  CHECK(Eval1("Reshape", {}, {&x, &s4}).shape() == Dims{24});
  Tensor s5 = MakeInt64({4}, {2, 0, 2, -1});
  CHECK(Eval1("Reshape", {}, {&x, &s5}).shape() == Dims{2, 3, 2, 2});
  // int32 shape tensors are accepted too.
  Tensor s6 = MakeTyped<int32_t>(DataType::kInt32, {2}, {-1, 8});
  CHECK(Eval1("Reshape", {}, {&x, &s6}).shape() == Dims{3, 8});
}

TEST_CASE("Reshape allowzero", "[kernels]") {
  Tensor empty(DataType::kFloat32, {0, 3});
  Tensor s = MakeInt64({2}, {3, 0});
  Attributes az = Attr("allowzero", int64_t{1});
  CHECK(Eval1("Reshape", az, {&empty, &s}).shape() == Dims{3, 0});
  // Without allowzero, 0 copies the input dim: [3, 3] has 9 != 0 elements.
  CHECK(Code("Reshape", {}, {&empty, &s}) == absl::StatusCode::kInvalidArgument);
  // allowzero with both 0 and -1 is invalid.
  Tensor s2 = MakeInt64({2}, {0, -1});
  CHECK(Code("Reshape", az, {&empty, &s2}) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Reshape errors", "[kernels]") {
  Tensor x = MakeFloat({2, 3}, Iota(6));
  Tensor bad = MakeInt64({2}, {4, -1});
  auto r = Eval("Reshape", {}, {&x, &bad});
  REQUIRE(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(r.status().message()).find("cannot reshape 6 elements to [4,-1]") !=
        std::string::npos);
  Tensor two = MakeInt64({3}, {-1, -1, 2});
  CHECK(Code("Reshape", {}, {&x, &two}) == absl::StatusCode::kInvalidArgument);
  Tensor wrong = MakeInt64({2}, {5, 1});
  CHECK(Code("Reshape", {}, {&x, &wrong}) == absl::StatusCode::kInvalidArgument);
  Tensor neg = MakeInt64({2}, {-2, -3});
  CHECK(Code("Reshape", {}, {&x, &neg}) == absl::StatusCode::kInvalidArgument);
  Tensor zero_oob = MakeInt64({3}, {1, 6, 0});
  CHECK(Code("Reshape", {}, {&x, &zero_oob}) == absl::StatusCode::kInvalidArgument);
  Tensor fshape = MakeFloat({2}, {3, 2});
  CHECK(Code("Reshape", {}, {&x, &fshape}) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Reshape needs a constant shape for inference", "[kernels]") {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("Reshape");
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> ins = {{DataType::kFloat32, {2, 3}}, {DataType::kInt64, {2}}};
  CHECK(def->infer({}, ins).status().code() == absl::StatusCode::kUnimplemented);
  // Prepare accepts the shape fixed by build-time inference.
  std::unique_ptr<Kernel> k = def->create();
  std::vector<TensorInfo> outs = {{DataType::kFloat32, {3, 2}}};
  CHECK(k->Prepare({}, ins, outs).ok());
  std::vector<TensorInfo> bad = {{DataType::kFloat32, {4, 2}}};
  CHECK(!def->create()->Prepare({}, ins, bad).ok());
}

TEST_CASE("Squeeze", "[kernels]") {
  Tensor x = MakeFloat({1, 3, 1, 2}, Iota(6));
  Tensor y = Eval1("Squeeze", {}, {&x});
  CHECK(y.shape() == Dims{3, 2});
  CHECK(ToVector(y) == Iota(6));
  Tensor a0 = MakeInt64({1}, {0});
  CHECK(Eval1("Squeeze", {}, {&x, &a0}).shape() == Dims{3, 1, 2});
  Tensor neg = MakeInt64({1}, {-2});
  CHECK(Eval1("Squeeze", {}, {&x, &neg}).shape() == Dims{1, 3, 2});
  Tensor both = MakeInt64({2}, {2, -4});
  CHECK(Eval1("Squeeze", {}, {&x, &both}).shape() == Dims{3, 2});
  // Absent axes input behaves like no axes.
  CHECK(Eval1("Squeeze", {}, {&x, nullptr}).shape() == Dims{3, 2});
  Tensor not_one = MakeInt64({1}, {1});
  CHECK(Code("Squeeze", {}, {&x, &not_one}) == absl::StatusCode::kInvalidArgument);
  Tensor oob = MakeInt64({1}, {4});
  CHECK(Code("Squeeze", {}, {&x, &oob}) == absl::StatusCode::kInvalidArgument);
  Tensor scalar_like = MakeFloat({1, 1}, {5});
  CHECK(Eval1("Squeeze", {}, {&scalar_like}).shape().empty());
}

TEST_CASE("Unsqueeze", "[kernels]") {
  Tensor x = MakeFloat({3, 4}, Iota(12));
  Tensor a = MakeInt64({2}, {0, 3});
  Tensor y = Eval1("Unsqueeze", {}, {&x, &a});
  CHECK(y.shape() == Dims{1, 3, 4, 1});
  CHECK(ToVector(y) == Iota(12));
  // Negative axes count from the end of the output rank.
  Tensor neg = MakeInt64({1}, {-1});
  CHECK(Eval1("Unsqueeze", {}, {&x, &neg}).shape() == Dims{3, 4, 1});
  Tensor neg2 = MakeInt64({2}, {-1, -4});
  CHECK(Eval1("Unsqueeze", {}, {&x, &neg2}).shape() == Dims{1, 3, 4, 1});
  // Unsorted axes (ONNX test_unsqueeze_unsorted_axes: [3,4,5], axes [5,4,2]).
  Tensor x3 = MakeFloat({3, 4, 5}, Iota(60));
  Tensor unsorted = MakeInt64({3}, {5, 4, 2});
  CHECK(Eval1("Unsqueeze", {}, {&x3, &unsorted}).shape() == Dims{3, 4, 1, 5, 1, 1});
  Tensor dup = MakeInt64({2}, {1, 1});
  CHECK(Code("Unsqueeze", {}, {&x, &dup}) == absl::StatusCode::kInvalidArgument);
  Tensor oob = MakeInt64({1}, {3});
  CHECK(Code("Unsqueeze", {}, {&x, &oob}) == absl::StatusCode::kInvalidArgument);
  CHECK(Code("Unsqueeze", {}, {&x}) == absl::StatusCode::kInvalidArgument);
  // Scalar to [1].
  Tensor s = MakeFloat({}, {7});
  Tensor z = MakeInt64({1}, {0});
  CHECK(Eval1("Unsqueeze", {}, {&s, &z}).shape() == Dims{1});
}

// ---------------------------------------------------------------------------
// Transpose.

TEST_CASE("Transpose default reverses the dimensions", "[kernels]") {
  Tensor x = MakeFloat({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = Eval1("Transpose", {}, {&x});
  CHECK(y.shape() == Dims{3, 2});
  CHECK(ToVector(y) == std::vector<float>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("Transpose matches a naive reference for every dtype and permutation", "[kernels]") {
  std::mt19937 rng(5);
  for (DataType dt : {DataType::kFloat32, DataType::kInt64, DataType::kInt8, DataType::kFloat16,
                      DataType::kBool}) {
    for (size_t rank = 1; rank <= 5; ++rank) {
      for (int iter = 0; iter < 12; ++iter) {
        Dims shape(rank);
        for (int64_t& d : shape) d = std::uniform_int_distribution<int64_t>(1, 5)(rng);
        std::vector<int64_t> perm(rank);
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        Tensor x = PatternTensor(dt, shape);
        Tensor y = Eval1("Transpose", Attr("perm", perm), {&x});
        Dims out(rank);
        for (size_t i = 0; i < rank; ++i) out[i] = shape[perm[i]];
        REQUIRE(y.shape() == out);
        CheckGathered(x, y, [&](int64_t i) {
          std::vector<int64_t> oi = Unravel(i, out);
          std::vector<int64_t> ii(rank);
          for (size_t d = 0; d < rank; ++d) ii[perm[d]] = oi[d];
          return Ravel(ii, shape);
        });
      }
    }
  }
}

TEST_CASE("Transpose NCHW to NHWC on a large tensor", "[kernels]") {
  const Dims shape = {2, 37, 45, 51};
  Tensor x = MakeFloat(shape, Iota(NumElements(shape)));
  Tensor y = Eval1("Transpose", Attr("perm", std::vector<int64_t>{0, 2, 3, 1}), {&x});
  REQUIRE(y.shape() == Dims{2, 45, 51, 37});
  std::vector<float> got = ToVector(y);
  for (int64_t i = 0; i < y.num_elements(); ++i) {
    std::vector<int64_t> o = Unravel(i, y.shape());
    REQUIRE(got[i] == static_cast<float>(Ravel({o[0], o[3], o[1], o[2]}, shape)));
  }
}

TEST_CASE("Transpose rejects bad perms", "[kernels]") {
  Tensor x = MakeFloat({2, 3}, Iota(6));
  CHECK(Code("Transpose", Attr("perm", std::vector<int64_t>{0, 0}), {&x}) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Code("Transpose", Attr("perm", std::vector<int64_t>{0, 1, 2}), {&x}) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Code("Transpose", Attr("perm", std::vector<int64_t>{2, 0}), {&x}) ==
        absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Concat.

TEST_CASE("Concat along several axes", "[kernels]") {
  Tensor a = MakeFloat({2, 2}, {1, 2, 3, 4});
  Tensor b = MakeFloat({2, 1}, {5, 6});
  Tensor y = Eval1("Concat", Attr("axis", int64_t{1}), {&a, &b});
  CHECK(y.shape() == Dims{2, 3});
  CHECK(ToVector(y) == std::vector<float>{1, 2, 5, 3, 4, 6});
  Tensor y2 = Eval1("Concat", Attr("axis", int64_t{-1}), {&a, &b, &a});
  CHECK(ToVector(y2) == std::vector<float>{1, 2, 5, 1, 2, 3, 4, 6, 3, 4});
  Tensor c = MakeFloat({1, 2}, {7, 8});
  Tensor y3 = Eval1("Concat", Attr("axis", int64_t{0}), {&a, &c});
  CHECK(y3.shape() == Dims{3, 2});
  CHECK(ToVector(y3) == std::vector<float>{1, 2, 3, 4, 7, 8});
  // Empty inputs and int64 data.
  Tensor e(DataType::kInt64, {0, 2});
  Tensor i = MakeInt64({1, 2}, {9, -9});
  Tensor y4 = Eval1("Concat", Attr("axis", int64_t{0}), {&e, &i, &e});
  CHECK(y4.shape() == Dims{1, 2});
  CHECK(Values<int64_t>(y4) == std::vector<int64_t>{9, -9});
  // Single input.
  CHECK(ToVector(Eval1("Concat", Attr("axis", int64_t{0}), {&a})) == ToVector(a));
}

TEST_CASE("Concat errors", "[kernels]") {
  Tensor a = MakeFloat({2, 2}, {1, 2, 3, 4});
  Tensor b = MakeFloat({3, 1}, {5, 6, 7});
  CHECK(Code("Concat", Attr("axis", int64_t{1}), {&a, &b}) == absl::StatusCode::kInvalidArgument);
  CHECK(Code("Concat", Attr("axis", int64_t{2}), {&a, &a}) == absl::StatusCode::kInvalidArgument);
  CHECK(Code("Concat", {}, {&a, &a}) == absl::StatusCode::kInvalidArgument);
  Tensor i = MakeInt64({2, 2}, {1, 2, 3, 4});
  CHECK(Code("Concat", Attr("axis", int64_t{0}), {&a, &i}) == absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Pad.

Attributes PadMode(const std::string& mode) { return Attr("mode", mode); }

TEST_CASE("Pad constant with value", "[kernels]") {
  Tensor x = MakeFloat({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor pads = MakeInt64({4}, {1, 2, 0, 1});
  Tensor value = MakeFloat({}, {9});
  Tensor y = Eval1("Pad", {}, {&x, &pads, &value});
  REQUIRE(y.shape() == Dims{3, 6});
  CHECK(ToVector(y) == std::vector<float>{9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9});
  // Default value 0 (absent input).
  Tensor y0 = Eval1("Pad", {}, {&x, &pads, nullptr});
  CHECK(ToVector(y0) == std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0});
}

TEST_CASE("Pad reflect, edge and wrap (numpy.pad)", "[kernels]") {
  Tensor x = MakeFloat({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor p1 = MakeInt64({4}, {1, 2, 1, 2});
  Tensor y = Eval1("Pad", PadMode("reflect"), {&x, &p1});
  REQUIRE(y.shape() == Dims{4, 7});
  CHECK(ToVector(y) == std::vector<float>{6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1,
                                          6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1});
  Tensor p2 = MakeInt64({4}, {0, 1, 1, 2});
  Tensor e = Eval1("Pad", PadMode("edge"), {&x, &p2});
  REQUIRE(e.shape() == Dims{3, 6});
  CHECK(ToVector(e) == std::vector<float>{1, 1, 2, 3, 3, 3, 4, 4, 5, 6, 6, 6, 4, 4, 5, 6, 6, 6});
  Tensor p3 = MakeInt64({4}, {1, 2, 0, 4});
  Tensor w = Eval1("Pad", PadMode("wrap"), {&x, &p3});
  REQUIRE(w.shape() == Dims{3, 9});
  // Periodic (torus) wrap; numpy.pad gives 5/2/5 in the last column because
  // it wraps iteratively when a pad exceeds the axis.
  CHECK(ToVector(w) == std::vector<float>{5, 6, 4, 5, 6, 4, 5, 6, 4, 2, 3, 1, 2, 3,
                                          1, 2, 3, 1, 5, 6, 4, 5, 6, 4, 5, 6, 4});
  // Reflect pads larger than the axis (numpy reflects repeatedly).
  Tensor v = MakeFloat({4}, {0, 1, 2, 3});
  Tensor p4 = MakeInt64({2}, {7, 6});
  CHECK(ToVector(Eval1("Pad", PadMode("reflect"), {&v, &p4})) ==
        std::vector<float>{1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3});
}

TEST_CASE("Pad with negative pads crops", "[kernels]") {
  Tensor x = MakeFloat({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor pads = MakeInt64({4}, {0, -1, 1, 1});
  Tensor y = Eval1("Pad", {}, {&x, &pads});
  REQUIRE(y.shape() == Dims{3, 4});
  CHECK(ToVector(y) == std::vector<float>{2, 3, 4, 0, 6, 7, 8, 0, 0, 0, 0, 0});
  // Crop then reflect relative to the cropped data: row [2,3,4] padded by 1 at the end.
  Tensor p2 = MakeInt64({4}, {0, -1, 0, 1});
  Tensor r = Eval1("Pad", PadMode("reflect"), {&x, &p2});
  CHECK(ToVector(r) == std::vector<float>{2, 3, 4, 3, 6, 7, 8, 7});
  Tensor too_much = MakeInt64({4}, {0, -3, 0, -2});
  CHECK(Code("Pad", {}, {&x, &too_much}) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Pad with axes (opset 18) and other dtypes", "[kernels]") {
  Tensor x = MakeInt64({2, 2}, {1, 2, 3, 4});
  Tensor pads = MakeInt64({2}, {1, 1});
  Tensor axes = MakeInt64({1}, {-1});
  Tensor value = MakeInt64({}, {-7});
  Tensor y = Eval1("Pad", {}, {&x, &pads, &value, &axes});
  REQUIRE(y.shape() == Dims{2, 4});
  CHECK(Values<int64_t>(y) == std::vector<int64_t>{-7, 1, 2, -7, -7, 3, 4, -7});
  // float16 constant padding with a non-zero value.
  Tensor h = MakeTyped<uint16_t>(DataType::kFloat16, {2}, {0x3c00, 0x4000});
  Tensor hv = MakeTyped<uint16_t>(DataType::kFloat16, {}, {0xbc00});
  Tensor hp = MakeInt64({2}, {1, 2});
  Tensor hy = Eval1("Pad", {}, {&h, &hp, &hv});
  CHECK(Values<uint16_t>(hy) == std::vector<uint16_t>{0xbc00, 0x3c00, 0x4000, 0xbc00, 0xbc00});
  // Wrong pads count.
  Tensor bad = MakeInt64({3}, {1, 1, 1});
  CHECK(Code("Pad", {}, {&x, &bad}) == absl::StatusCode::kInvalidArgument);
  CHECK(Code("Pad", PadMode("mirror"), {&x, &pads, nullptr, &axes}) ==
        absl::StatusCode::kInvalidArgument);
  // Reflect/edge cannot pad an empty axis.
  Tensor empty(DataType::kFloat32, {0, 2});
  Tensor p0 = MakeInt64({4}, {1, 0, 1, 0});
  CHECK(Code("Pad", PadMode("edge"), {&empty, &p0}) == absl::StatusCode::kInvalidArgument);
  CHECK(Eval1("Pad", {}, {&empty, &p0}).shape() == Dims{2, 2});
}

// Naive Pad reference: numpy-style reflection by repeated bouncing.
int64_t NaivePadSource(int64_t i, int64_t n, const std::string& mode) {
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : n - 1;
  if (mode == "wrap") {
    while (i < 0) i += n;
    return i % n;
  }
  if (n == 1) return 0;
  while (i < 0 || i >= n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
  }
  return i;
}

TEST_CASE("Pad matches a naive reference on random shapes", "[kernels]") {
  std::mt19937 rng(11);
  for (const std::string mode : {"constant", "reflect", "edge", "wrap"}) {
    for (int iter = 0; iter < 40; ++iter) {
      const size_t rank = std::uniform_int_distribution<size_t>(1, 4)(rng);
      Dims shape(rank);
      for (int64_t& d : shape) d = std::uniform_int_distribution<int64_t>(1, 5)(rng);
      std::vector<int64_t> pads(2 * rank);
      for (int64_t& p : pads) {
        p = std::uniform_int_distribution<int64_t>(0, 4)(rng);
        if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) p = 0;
      }
      Tensor x = MakeFloat(shape, Iota(NumElements(shape), 1));
      Tensor p = MakeInt64({static_cast<int64_t>(pads.size())}, pads);
      Tensor v = MakeFloat({}, {-1});
      Tensor y = Eval1("Pad", PadMode(mode), {&x, &p, &v});
      Dims out(rank);
      for (size_t d = 0; d < rank; ++d) out[d] = shape[d] + pads[d] + pads[d + rank];
      REQUIRE(y.shape() == out);
      std::vector<float> got = ToVector(y);
      for (int64_t i = 0; i < y.num_elements(); ++i) {
        std::vector<int64_t> o = Unravel(i, out);
        std::vector<int64_t> s(rank);
        bool constant = false;
        for (size_t d = 0; d < rank; ++d) {
          s[d] = NaivePadSource(o[d] - pads[d], shape[d], mode);
          constant = constant || s[d] < 0;
        }
        const float want = constant ? -1.0f : static_cast<float>(Ravel(s, shape) + 1);
        INFO(mode << " " << DimsToString(shape) << " element " << i);
        REQUIRE(got[i] == want);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Shape.

TEST_CASE("Shape with start and end", "[kernels]") {
  Tensor x(DataType::kFloat32, {3, 4, 5});
  CHECK(Values<int64_t>(Eval1("Shape", {}, {&x})) == std::vector<int64_t>{3, 4, 5});
  CHECK(Values<int64_t>(Eval1("Shape", Attr("start", int64_t{1}), {&x})) ==
        std::vector<int64_t>{4, 5});
  CHECK(Values<int64_t>(Eval1("Shape", Attr("end", int64_t{-1}), {&x})) ==
        std::vector<int64_t>{3, 4});
  CHECK(Values<int64_t>(Eval1("Shape", Attr("start", int64_t{-1}), {&x})) ==
        std::vector<int64_t>{5});
  // Clamping (test_shape_clip_start / test_shape_clip_end).
  CHECK(Values<int64_t>(Eval1("Shape", Attr("start", int64_t{-10}), {&x})) ==
        std::vector<int64_t>{3, 4, 5});
  CHECK(Values<int64_t>(Eval1("Shape", Attr("end", int64_t{10}), {&x})) ==
        std::vector<int64_t>{3, 4, 5});
  Attributes empty = Attr("start", int64_t{2});
  empty.Set("end", int64_t{1});
  Tensor y = Eval1("Shape", empty, {&x});
  CHECK(y.shape() == Dims{0});
  CHECK(y.dtype() == DataType::kInt64);
  Tensor s = MakeFloat({}, {1});
  CHECK(Eval1("Shape", {}, {&s}).shape() == Dims{0});
}

// ---------------------------------------------------------------------------
// Gather.

TEST_CASE("Gather along axis 0 and 1 with negative indices", "[kernels]") {
  Tensor x = MakeFloat({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor idx = MakeInt64({2, 2}, {0, 1, 1, 2});
  Tensor y = Eval1("Gather", {}, {&x, &idx});
  CHECK(y.shape() == Dims{2, 2, 2});
  CHECK(ToVector(y) == std::vector<float>{1, 2, 3, 4, 3, 4, 5, 6});
  Tensor neg = MakeInt64({2}, {-1, -3});
  CHECK(ToVector(Eval1("Gather", {}, {&x, &neg})) == std::vector<float>{5, 6, 1, 2});
  Tensor i32 = MakeTyped<int32_t>(DataType::kInt32, {3}, {1, -2, 0});
  Tensor y1 = Eval1("Gather", Attr("axis", int64_t{1}), {&x, &i32});
  CHECK(y1.shape() == Dims{3, 3});
  CHECK(ToVector(y1) == std::vector<float>{2, 1, 1, 4, 3, 3, 6, 5, 5});
  // Scalar index drops the axis.
  Tensor scalar = MakeInt64({}, {-1});
  Tensor y2 = Eval1("Gather", Attr("axis", int64_t{-1}), {&x, &scalar});
  CHECK(y2.shape() == Dims{3});
  CHECK(ToVector(y2) == std::vector<float>{2, 4, 6});
}

TEST_CASE("Gather on other dtypes and errors", "[kernels]") {
  Tensor shape = MakeInt64({4}, {1, 3, 224, 224});
  Tensor i = MakeInt64({}, {1});
  Tensor y = Eval1("Gather", {}, {&shape, &i});
  CHECK(y.shape().empty());
  CHECK(Values<int64_t>(y) == std::vector<int64_t>{3});
  Tensor b = MakeTyped<uint8_t>(DataType::kBool, {3}, {1, 0, 1});
  Tensor bi = MakeInt64({2}, {1, 2});
  CHECK(Values<uint8_t>(Eval1("Gather", {}, {&b, &bi})) == std::vector<uint8_t>{0, 1});
  Tensor oob = MakeInt64({1}, {4});
  CHECK(Code("Gather", {}, {&shape, &oob}) == absl::StatusCode::kInvalidArgument);
  Tensor oob_neg = MakeInt64({1}, {-5});
  CHECK(Code("Gather", {}, {&shape, &oob_neg}) == absl::StatusCode::kInvalidArgument);
  Tensor fidx = MakeFloat({1}, {0});
  CHECK(Code("Gather", {}, {&shape, &fidx}) == absl::StatusCode::kInvalidArgument);
  CHECK(Code("Gather", Attr("axis", int64_t{1}), {&shape, &i}) ==
        absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// ConstantOfShape.

TEST_CASE("ConstantOfShape", "[kernels]") {
  Tensor shape = MakeInt64({2}, {2, 3});
  Tensor y = Eval1("ConstantOfShape", {}, {&shape});
  CHECK(y.dtype() == DataType::kFloat32);
  CHECK(y.shape() == Dims{2, 3});
  CHECK(ToVector(y) == std::vector<float>(6, 0.0f));
  Tensor ones = Eval1("ConstantOfShape", Attr("value_float", 1.5f), {&shape});
  CHECK(ToVector(ones) == std::vector<float>(6, 1.5f));
  Attributes i64 = Attr("dtype", int64_t{7});
  i64.Set("value_int", int64_t{-4});
  Tensor yi = Eval1("ConstantOfShape", i64, {&shape});
  CHECK(yi.dtype() == DataType::kInt64);
  CHECK(Values<int64_t>(yi) == std::vector<int64_t>(6, -4));
  Attributes i32 = Attr("dtype", int64_t{6});
  i32.Set("value_int", int64_t{9});
  CHECK(Values<int32_t>(Eval1("ConstantOfShape", i32, {&shape})) == std::vector<int32_t>(6, 9));
  Attributes h = Attr("dtype", int64_t{10});
  h.Set("value_float", 1.0f);
  CHECK(Values<uint16_t>(Eval1("ConstantOfShape", h, {&shape})) ==
        std::vector<uint16_t>(6, 0x3c00));
  Attributes b = Attr("dtype", int64_t{9});
  b.Set("value_int", int64_t{1});
  CHECK(Values<uint8_t>(Eval1("ConstantOfShape", b, {&shape})) == std::vector<uint8_t>(6, 1));
  // Empty shape: a scalar. Zero dim: an empty tensor.
  Tensor empty = MakeInt64({0}, {});
  Tensor s = Eval1("ConstantOfShape", Attr("value_float", 2.0f), {&empty});
  CHECK(s.shape().empty());
  CHECK(ToVector(s) == std::vector<float>{2.0f});
  Tensor zero = MakeInt64({2}, {0, 3});
  CHECK(Eval1("ConstantOfShape", {}, {&zero}).num_elements() == 0);
  Tensor neg = MakeInt64({1}, {-1});
  CHECK(Code("ConstantOfShape", {}, {&neg}) == absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Cast.

Attributes To(DataType t) { return Attr("to", static_cast<int64_t>(t)); }

TEST_CASE("Cast float to integers truncates toward zero", "[kernels]") {
  Tensor x = MakeFloat({6}, {-2.7f, -1.2f, -0.5f, 0.5f, 1.9f, 300.0f});
  CHECK(Values<int32_t>(Eval1("Cast", To(DataType::kInt32), {&x})) ==
        std::vector<int32_t>{-2, -1, 0, 0, 1, 300});
  CHECK(Values<int64_t>(Eval1("Cast", To(DataType::kInt64), {&x})) ==
        std::vector<int64_t>{-2, -1, 0, 0, 1, 300});
  // Narrow integer targets wrap like numpy's astype on x86 (300 -> 44).
  CHECK(Values<uint8_t>(Eval1("Cast", To(DataType::kUint8), {&x})) ==
        std::vector<uint8_t>{254, 255, 0, 0, 1, 44});
  CHECK(Values<int8_t>(Eval1("Cast", To(DataType::kInt8), {&x})) ==
        std::vector<int8_t>{-2, -1, 0, 0, 1, 44});
  Tensor nan = MakeFloat({1}, {std::numeric_limits<float>::quiet_NaN()});
  CHECK(Values<int32_t>(Eval1("Cast", To(DataType::kInt32), {&nan})) == std::vector<int32_t>{0});
}

TEST_CASE("Cast between integers, bool and float", "[kernels]") {
  Tensor i = MakeInt64({4}, {-1, 0, 255, 256});
  CHECK(Values<uint8_t>(Eval1("Cast", To(DataType::kUint8), {&i})) ==
        std::vector<uint8_t>{255, 0, 255, 0});
  CHECK(Values<uint8_t>(Eval1("Cast", To(DataType::kBool), {&i})) ==
        std::vector<uint8_t>{1, 0, 1, 1});
  CHECK(ToVector(Eval1("Cast", To(DataType::kFloat32), {&i})) ==
        std::vector<float>{-1, 0, 255, 256});
  Tensor f = MakeFloat({3}, {0.0f, -0.0f, 0.25f});
  CHECK(Values<uint8_t>(Eval1("Cast", To(DataType::kBool), {&f})) == std::vector<uint8_t>{0, 0, 1});
  Tensor b = MakeTyped<uint8_t>(DataType::kBool, {2}, {1, 0});
  CHECK(ToVector(Eval1("Cast", To(DataType::kFloat32), {&b})) == std::vector<float>{1, 0});
  CHECK(Values<int64_t>(Eval1("Cast", To(DataType::kInt64), {&b})) == std::vector<int64_t>{1, 0});
  Tensor i8 = MakeTyped<int8_t>(DataType::kInt8, {2}, {-128, 5});
  CHECK(Values<int32_t>(Eval1("Cast", To(DataType::kInt32), {&i8})) ==
        std::vector<int32_t>{-128, 5});
  // Same type: a copy.
  CHECK(Values<int64_t>(Eval1("Cast", To(DataType::kInt64), {&i})) == Values<int64_t>(i));
}

TEST_CASE("Cast to and from float16", "[kernels]") {
  Tensor f = MakeFloat({8}, {1.0f, -2.0f, 0.5f, 65504.0f, 1e6f, 5.96046448e-8f, 0.0f, 0.1f});
  std::vector<uint16_t> h = Values<uint16_t>(Eval1("Cast", To(DataType::kFloat16), {&f}));
  CHECK(h == std::vector<uint16_t>{0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x2e66});
  Tensor ht =
      MakeTyped<uint16_t>(DataType::kFloat16, {5}, {0x3c00, 0xc000, 0x0001, 0x7c00, 0x2e66});
  std::vector<float> back = ToVector(Eval1("Cast", To(DataType::kFloat32), {&ht}));
  CHECK(back[0] == 1.0f);
  CHECK(back[1] == -2.0f);
  CHECK(back[2] == 5.9604644775390625e-8f);
  CHECK(std::isinf(back[3]));
  CHECK(back[4] == Approx(0.0999755859375f));
  Tensor i = MakeInt64({2}, {3, -7});
  CHECK(Values<uint16_t>(Eval1("Cast", To(DataType::kFloat16), {&i})) ==
        std::vector<uint16_t>{0x4200, 0xc700});
  CHECK(Values<int64_t>(Eval1("Cast", To(DataType::kInt64), {&ht})) ==
        std::vector<int64_t>{1, -2, 0, std::numeric_limits<int64_t>::max(), 0});
}

TEST_CASE("Cast errors", "[kernels]") {
  Tensor f = MakeFloat({1}, {1});
  CHECK(Code("Cast", {}, {&f}) == absl::StatusCode::kInvalidArgument);
  CHECK(Code("Cast", Attr("to", int64_t{8}), {&f}) == absl::StatusCode::kUnimplemented);   // string
  CHECK(Code("Cast", Attr("to", int64_t{14}), {&f}) == absl::StatusCode::kUnimplemented);  // complex64
  CHECK(Code("Cast", Attr("to", int64_t{17}), {&f}) == absl::StatusCode::kUnimplemented);  // float8
}

// int16, uint16, uint32: Cast from float truncates toward zero and wraps
// (numpy astype), back to float exactly.
TEST_CASE("Cast to and from int16, uint16, uint32", "[kernels]") {
  Tensor f = MakeFloat({4}, {-2.7f, 3.9f, 65537.0f, 40000.0f});
  Attributes to16;
  to16.Set("to", int64_t{5});
  auto i16 = Eval("Cast", to16, {&f});
  REQUIRE(i16.ok());
  CHECK((*i16)[0].dtype() == DataType::kInt16);
  CHECK(Values<int16_t>((*i16)[0]) == std::vector<int16_t>{-2, 3, 1, -25536});
  Attributes tou16;
  tou16.Set("to", int64_t{4});
  auto u16 = Eval("Cast", tou16, {&f});
  REQUIRE(u16.ok());
  CHECK(Values<uint16_t>((*u16)[0]) == std::vector<uint16_t>{65534, 3, 1, 40000});
  Attributes tou32;
  tou32.Set("to", int64_t{12});
  auto u32 = Eval("Cast", tou32, {&f});
  REQUIRE(u32.ok());
  CHECK(Values<uint32_t>((*u32)[0]) ==
        std::vector<uint32_t>{4294967294u, 3, 65537, 40000});
  Attributes tof;
  tof.Set("to", int64_t{1});
  const Tensor& u = (*u16)[0];
  auto back = Eval("Cast", tof, {&u});
  REQUIRE(back.ok());
  CHECK(Values<float>((*back)[0]) == std::vector<float>{65534, 3, 1, 40000});
}

// CastLike: Cast to the dtype of the second input, whose values are unread.
TEST_CASE("CastLike casts to the dtype of its second input", "[kernels]") {
  Tensor x = MakeFloat({2, 3}, {-2.7f, -1.2f, 0.5f, 1.9f, 300.0f, 0.1f});
  Tensor like_i32 = MakeTyped<int32_t>(DataType::kInt32, {1}, {12345});
  Tensor out = Eval1("CastLike", {}, {&x, &like_i32});
  CHECK(out.shape() == Dims{2, 3});  // the first input's shape
  CHECK(Values<int32_t>(out) == std::vector<int32_t>{-2, -1, 0, 1, 300, 0});
  // float16 both ways, as Cast (0.1 -> 0x2e66).
  Tensor like_f16 = MakeTyped<uint16_t>(DataType::kFloat16, {}, {0});
  Tensor h = Eval1("CastLike", {}, {&x, &like_f16});
  CHECK(h.dtype() == DataType::kFloat16);
  CHECK(Values<uint16_t>(h)[5] == 0x2e66);
  Tensor like_f32 = MakeFloat({4, 4}, std::vector<float>(16, 7.0f));
  CHECK(ToVector(Eval1("CastLike", {}, {&h, &like_f32}))[2] == 0.5f);
  // Same dtype: a copy.
  CHECK(ToVector(Eval1("CastLike", {}, {&x, &like_f32})) == ToVector(x));
}

TEST_CASE("CastLike errors", "[kernels]") {
  Tensor f = MakeFloat({1}, {1});
  CHECK(Code("CastLike", {}, {&f}) == absl::StatusCode::kInvalidArgument);
  CHECK(Code("CastLike", {}, {&f, nullptr}) == absl::StatusCode::kInvalidArgument);
  CHECK(Code("CastLike", {}, {&f, &f, &f}) == absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// EyeLike.

TEST_CASE("EyeLike puts ones on the k-th diagonal", "[kernels]") {
  Tensor x = MakeTyped<int32_t>(DataType::kInt32, {3, 4}, std::vector<int32_t>(12, 9));
  // Default: the input's dtype, main diagonal.
  CHECK(Values<int32_t>(Eval1("EyeLike", {}, {&x})) ==
        std::vector<int32_t>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0});
  // k = 1 (above), dtype float.
  Attributes up;
  up.Set("k", int64_t{1});
  up.Set("dtype", static_cast<int64_t>(DataType::kFloat32));
  Tensor y = Eval1("EyeLike", up, {&x});
  CHECK(y.dtype() == DataType::kFloat32);
  CHECK(ToVector(y) == std::vector<float>{0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});
  // k = -2 (below): one element on a 3 x 4 matrix.
  CHECK(Values<int32_t>(Eval1("EyeLike", Attr("k", int64_t{-2}), {&x})) ==
        std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0});
  // A diagonal outside the matrix (even at the int64 extremes): all zeros.
  for (int64_t k : {int64_t{4}, int64_t{-3}, kInt64Max, kInt64Min}) {
    CAPTURE(k);
    CHECK(Values<int32_t>(Eval1("EyeLike", Attr("k", k), {&x})) == std::vector<int32_t>(12, 0));
  }
  // float16 and bool ones.
  CHECK(Values<uint16_t>(Eval1("EyeLike", Attr("dtype", int64_t{10}), {&x}))[5] == 0x3c00);
  CHECK(Values<uint8_t>(Eval1("EyeLike", Attr("dtype", int64_t{9}), {&x}))[10] == 1);
}

TEST_CASE("EyeLike folds on shapes alone and refuses bad layers", "[kernels]") {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("EyeLike");
  REQUIRE(def != nullptr);
  CHECK(def->data_independent);
  TensorInfo x;
  x.dtype = DataType::kFloat32;
  x.shape = {2, 2};  // no data anywhere
  auto out = EvaluateOnShapes(*def, Attributes(), std::span<const TensorInfo>(&x, 1));
  REQUIRE(out.ok());
  CHECK(ToVector((*out)[0]) == std::vector<float>{1, 0, 0, 1});
  Tensor v = MakeFloat({3}, {1, 2, 3});
  CHECK(Code("EyeLike", {}, {&v}) == absl::StatusCode::kInvalidArgument);  // rank 1
  Tensor m = MakeFloat({2, 2}, {1, 2, 3, 4});
  CHECK(Code("EyeLike", Attr("dtype", int64_t{8}), {&m}) ==  // string
        absl::StatusCode::kUnimplemented);
  const Tensor d = Eval1("EyeLike", Attr("dtype", int64_t{11}), {&m});  // double
  REQUIRE(d.dtype() == DataType::kFloat64);
  CHECK(std::vector<double>(d.data_as<double>(), d.data_as<double>() + 4) ==
        std::vector<double>{1, 0, 0, 1});
  CHECK(Code("EyeLike", Attr("dtype", int64_t{12345}), {&m}) == absl::StatusCode::kUnimplemented);
}

// ---------------------------------------------------------------------------
// Slice.

Tensor I64(const std::vector<int64_t>& v) { return MakeInt64({static_cast<int64_t>(v.size())}, v); }

TEST_CASE("Slice basic, default axes and steps", "[kernels]") {
  Tensor x = MakeFloat({3, 4}, Iota(12));
  Tensor starts = I64({1, 0}), ends = I64({3, 3}), axes = I64({0, 1}), steps = I64({1, 2});
  Tensor y = Eval1("Slice", {}, {&x, &starts, &ends, &axes, &steps});
  CHECK(y.shape() == Dims{2, 2});
  CHECK(ToVector(y) == std::vector<float>{4, 6, 8, 10});
  // Default axes and steps.
  Tensor y2 = Eval1("Slice", {}, {&x, &starts, &ends});
  CHECK(y2.shape() == Dims{2, 3});
  CHECK(ToVector(y2) == std::vector<float>{4, 5, 6, 8, 9, 10});
  // Absent optional axes with steps.
  Tensor y3 = Eval1("Slice", {}, {&x, &starts, &ends, nullptr, &steps});
  CHECK(ToVector(y3) == std::vector<float>{4, 6, 8, 10});
  // Negative axes, negative starts and ends.
  Tensor s4 = I64({-3}), e4 = I64({-1}), a4 = I64({-1});
  Tensor y4 = Eval1("Slice", {}, {&x, &s4, &e4, &a4});
  CHECK(y4.shape() == Dims{3, 2});
  CHECK(ToVector(y4) == std::vector<float>{1, 2, 5, 6, 9, 10});
}

TEST_CASE("Slice clamping and out-of-bounds", "[kernels]") {
  Tensor x = MakeFloat({10}, Iota(10));
  Tensor s = I64({1}), e = I64({1000});
  CHECK(ToVector(Eval1("Slice", {}, {&x, &s, &e})) == Iota(9, 1));
  Tensor s2 = I64({1000}), e2 = I64({1001});
  CHECK(Eval1("Slice", {}, {&x, &s2, &e2}).shape() == Dims{0});
  Tensor s3 = I64({-1000}), e3 = I64({kInt64Max});
  CHECK(ToVector(Eval1("Slice", {}, {&x, &s3, &e3})) == Iota(10));
  Tensor s4 = I64({5}), e4 = I64({2});
  CHECK(Eval1("Slice", {}, {&x, &s4, &e4}).shape() == Dims{0});
}

TEST_CASE("Slice with negative steps", "[kernels]") {
  Tensor x = MakeFloat({10}, Iota(10));
  // Full reversal: start -1, end INT64_MIN, step -1.
  Tensor s = I64({-1}), e = I64({kInt64Min}), a = I64({0}), st = I64({-1});
  CHECK(ToVector(Eval1("Slice", {}, {&x, &s, &e, &a, &st})) ==
        std::vector<float>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  // start INT64_MAX clamps to dim-1; step -3.
  Tensor s2 = I64({kInt64Max}), e2 = I64({0}), st2 = I64({-3});
  CHECK(ToVector(Eval1("Slice", {}, {&x, &s2, &e2, &a, &st2})) == std::vector<float>{9, 6, 3});
  // ONNX test_slice_neg_steps: x [20,10,5], starts [20,10,4], ends [0,0,1],
  // axes [0,1,2], steps [-1,-3,-2] -> x[20:0:-1, 10:0:-3, 4:1:-2] = [19,3,2].
  Tensor x3 = MakeFloat({20, 10, 5}, Iota(1000));
  Tensor s3 = I64({20, 10, 4}), e3 = I64({0, 0, 1}), a3 = I64({0, 1, 2}), st3 = I64({-1, -3, -2});
  Tensor y = Eval1("Slice", {}, {&x3, &s3, &e3, &a3, &st3});
  REQUIRE(y.shape() == Dims{19, 3, 2});
  std::vector<float> got = ToVector(y);
  for (int64_t i = 0; i < y.num_elements(); ++i) {
    std::vector<int64_t> o = Unravel(i, y.shape());
    const int64_t want = Ravel({19 - o[0], 9 - 3 * o[1], 4 - 2 * o[2]}, {20, 10, 5});
    REQUIRE(got[i] == static_cast<float>(want));
  }
  // Negative step with end -1 + dim... end = -11 -> -1 after adding dim: includes index 0.
  Tensor s5 = I64({3}), e5 = I64({-11}), st5 = I64({-1});
  CHECK(ToVector(Eval1("Slice", {}, {&x, &s5, &e5, &a, &st5})) == std::vector<float>{3, 2, 1, 0});
}

TEST_CASE("Slice matches a naive reference on random inputs", "[kernels]") {
  std::mt19937 rng(23);
  for (DataType dt : {DataType::kFloat32, DataType::kInt64, DataType::kUint8, DataType::kFloat16}) {
    for (int iter = 0; iter < 50; ++iter) {
      const size_t rank = std::uniform_int_distribution<size_t>(1, 4)(rng);
      Dims shape(rank);
      for (int64_t& d : shape) d = std::uniform_int_distribution<int64_t>(1, 6)(rng);
      std::vector<int64_t> starts, ends, axes, steps;
      Dims out = shape;
      std::vector<std::vector<int64_t>> picks(rank);
      for (size_t d = 0; d < rank; ++d) {
        for (int64_t i = 0; i < shape[d]; ++i) picks[d].push_back(i);
      }
      for (size_t d = 0; d < rank; ++d) {
        if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) continue;
        const int64_t n = shape[d];
        // Pick in-range start/end and a step, then list the indices directly.
        int64_t step = std::uniform_int_distribution<int64_t>(1, 3)(rng);
        if (std::uniform_int_distribution<int>(0, 1)(rng)) step = -step;
        int64_t start = std::uniform_int_distribution<int64_t>(0, n - 1)(rng);
        int64_t end = std::uniform_int_distribution<int64_t>(-1, n)(rng);
        picks[d].clear();
        if (step > 0) {
          if (end < 0) end = 0;
          for (int64_t i = start; i < end; i += step) picks[d].push_back(i);
        } else {
          for (int64_t i = start; i > end; i += step) picks[d].push_back(i);
        }
        // Encode end -1 (negative step, through index 0) as INT64_MIN.
        axes.push_back(static_cast<int64_t>(d) - (iter % 2 ? static_cast<int64_t>(rank) : 0));
        starts.push_back(start);
        ends.push_back(end == -1 ? kInt64Min : end);
        steps.push_back(step);
        out[d] = static_cast<int64_t>(picks[d].size());
      }
      Tensor x = PatternTensor(dt, shape);
      Tensor ts = I64(starts), te = I64(ends), ta = I64(axes), tp = I64(steps);
      Tensor y = Eval1("Slice", {}, {&x, &ts, &te, &ta, &tp});
      REQUIRE(y.shape() == out);
      CheckGathered(x, y, [&](int64_t i) {
        std::vector<int64_t> o = Unravel(i, out);
        for (size_t d = 0; d < rank; ++d) o[d] = picks[d][o[d]];
        return Ravel(o, shape);
      });
    }
  }
}

TEST_CASE("Slice errors", "[kernels]") {
  Tensor x = MakeFloat({3, 4}, Iota(12));
  Tensor s = I64({0}), e = I64({2}), zero = I64({0});
  Tensor a = I64({0});
  CHECK(Code("Slice", {}, {&x, &s, &e, &a, &zero}) == absl::StatusCode::kInvalidArgument);
  Tensor a_oob = I64({2});
  CHECK(Code("Slice", {}, {&x, &s, &e, &a_oob}) == absl::StatusCode::kInvalidArgument);
  Tensor two = I64({0, 1});
  CHECK(Code("Slice", {}, {&x, &s, &two}) == absl::StatusCode::kInvalidArgument);
  Tensor dup_axes = I64({0, -2});
  CHECK(Code("Slice", {}, {&x, &two, &two, &dup_axes}) == absl::StatusCode::kInvalidArgument);
  // Non-constant starts cannot be inferred.
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("Slice");
  std::vector<TensorInfo> ins = {
      {DataType::kFloat32, {3, 4}}, {DataType::kInt64, {1}}, {DataType::kInt64, {1}}};
  CHECK(def->infer({}, ins).status().code() == absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace engine::kernels
