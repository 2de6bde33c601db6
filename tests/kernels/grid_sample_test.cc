// GridSample and RoiAlign kernels: hand-computed values (derivations in the
// comments), attribute and shape errors, thread-count invariance.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "kernel_test_util.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::MakeFloat;
using engine::testing::MakeInt64;
using engine::testing::RandomTensor;
using engine::testing::ToVector;
using testing::Eval;
using testing::Eval1;

Attributes GridAttrs(const std::string& mode, const std::string& padding, int64_t align) {
  Attributes a;
  a.Set("mode", mode);
  a.Set("padding_mode", padding);
  a.Set("align_corners", align);
  return a;
}

void CheckClose(const Tensor& t, const std::vector<float>& expected) {
  const std::vector<float> v = ToVector(t);
  REQUIRE(v.size() == expected.size());
  for (size_t i = 0; i < v.size(); ++i) {
    CAPTURE(i);
    CHECK(v[i] == Approx(expected[i]).margin(1e-6));
  }
}

// X = [[1, 2], [3, 4]]; grid points (x, y) = (-1, -1), (0, 0), (1, 1).
// align_corners=0: x = ((g + 1) * 2 - 1) / 2 = -0.5, 0.5, 1.5.
TEST_CASE("GridSample bilinear by padding mode and align_corners", "[kernels][gridsample]") {
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor grid = MakeFloat({1, 1, 3, 2}, {-1, -1, 0, 0, 1, 1});
  // zeros: (-0.5, -0.5) weighs pixel (0, 0) by 1/4; (0.5, 0.5) is the mean;
  // (1.5, 1.5) weighs pixel (1, 1) by 1/4.
  Tensor zeros = Eval1("GridSample", GridAttrs("bilinear", "zeros", 0), {&x, &grid});
  CHECK(zeros.shape() == Dims{1, 1, 1, 3});
  CheckClose(zeros, {0.25f, 2.5f, 1.0f});
  // border: coordinates clipped to [0, 1].
  CheckClose(Eval1("GridSample", GridAttrs("bilinear", "border", 0), {&x, &grid}), {1, 2.5f, 4});
  // reflection about the edges -0.5 / 1.5: -0.5 and 1.5 stay, then clipped.
  CheckClose(Eval1("GridSample", GridAttrs("bilinear", "reflection", 0), {&x, &grid}),
             {1, 2.5f, 4});
  // align_corners=1: -1 / +1 are the corner pixels' centres.
  CheckClose(Eval1("GridSample", GridAttrs("bilinear", "zeros", 1), {&x, &grid}), {1, 2.5f, 4});
  // Opset 20 spelling.
  CheckClose(Eval1("GridSample", GridAttrs("linear", "zeros", 1), {&x, &grid}), {1, 2.5f, 4});
}

TEST_CASE("GridSample nearest rounds half to even and reads zeros outside",
          "[kernels][gridsample]") {
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
  // (0.1, -0.6): x = 0.6 -> 1, y = -0.1 -> 0: X[0, 1] = 2.
  // (0, 0): x = y = 0.5 -> 0 (half to even): 1.  (-2, 0): x = -1.5 -> -2: 0.
  Tensor grid = MakeFloat({1, 1, 3, 2}, {0.1f, -0.6f, 0, 0, -2, 0});
  CheckClose(Eval1("GridSample", GridAttrs("nearest", "zeros", 0), {&x, &grid}), {2, 1, 0});
  // border: -1.5 clipped to 0, y 0.5 -> 0: 1.
  CheckClose(Eval1("GridSample", GridAttrs("nearest", "border", 0), {&x, &grid}), {2, 1, 1});
}

TEST_CASE("GridSample bicubic uses Keys' kernel with a = -0.75", "[kernels][gridsample]") {
  // H = 1, W = 4, align_corners=1: gx = 0 -> x = 1.5, y = 0 (exact).
  // Weights at t = 0.5: far(1.5) = -0.09375, near(0.5) = 0.59375:
  // -0.09375 * 1 + 0.59375 * 2 + 0.59375 * 4 - 0.09375 * 8 = 2.71875.
  // gx = -1 -> x = 0, an exact pixel: 1.
  Tensor x = MakeFloat({1, 1, 1, 4}, {1, 2, 4, 8});
  Tensor grid = MakeFloat({1, 1, 2, 2}, {0, 0, -1, 0});
  CheckClose(Eval1("GridSample", GridAttrs("bicubic", "zeros", 1), {&x, &grid}), {2.71875f, 1});
  CheckClose(Eval1("GridSample", GridAttrs("cubic", "border", 1), {&x, &grid}), {2.71875f, 1});
}

TEST_CASE("GridSample reflection folds far coordinates back into the image",
          "[kernels][gridsample]") {
  // W = 2, align_corners=1: reflection about 0 and 1 with period 2. gx = 5
  // -> x = 3 -> 1 (X = 2); gx = 7 -> x = 4 -> 0 (X = 1). Far and non-finite
  // coordinates give finite values (reflection) or 0 (zeros).
  Tensor x = MakeFloat({1, 1, 1, 2}, {1, 2});
  Tensor grid = MakeFloat({1, 1, 2, 2}, {5, 0, 7, 0});
  CheckClose(Eval1("GridSample", GridAttrs("bilinear", "reflection", 1), {&x, &grid}), {2, 1});
  Tensor far = MakeFloat({1, 1, 3, 2}, {1e30f, 0, -1e30f, 0, std::nanf(""), 0});
  for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
    CAPTURE(mode);
    const std::vector<float> v =
        ToVector(Eval1("GridSample", GridAttrs(mode, "reflection", 0), {&x, &far}));
    for (float f : v) CHECK(std::isfinite(f));
    CHECK(ToVector(Eval1("GridSample", GridAttrs(mode, "zeros", 0), {&x, &far})) ==
          std::vector<float>{0, 0, 0});
  }
}

TEST_CASE("GridSample applies one grid to every channel", "[kernels][gridsample]") {
  Tensor x = MakeFloat({1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
  Tensor grid = MakeFloat({1, 1, 1, 2}, {0, 0});
  Tensor y = Eval1("GridSample", GridAttrs("bilinear", "zeros", 0), {&x, &grid});
  CHECK(y.shape() == Dims{1, 2, 1, 1});
  CheckClose(y, {2.5f, 25});
}

TEST_CASE("GridSample rejects bad attributes and shapes", "[kernels][gridsample]") {
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor grid = MakeFloat({1, 1, 1, 2}, {0, 0});
  auto mode = Eval("GridSample", GridAttrs("area", "zeros", 0), {&x, &grid});
  CHECK(mode.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(mode.status().message(), "area"));
  auto pad = Eval("GridSample", GridAttrs("bilinear", "wrap", 0), {&x, &grid});
  CHECK(absl::StrContains(pad.status().message(), "padding_mode"));
  Tensor grid3 = MakeFloat({1, 1, 1, 3}, {0, 0, 0});
  CHECK(Eval("GridSample", {}, {&x, &grid3}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  Tensor x5 = MakeFloat({1, 1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor g5 = MakeFloat({1, 1, 1, 1, 3}, {0, 0, 0});
  CHECK(Eval("GridSample", {}, {&x5, &g5}).status().code() == absl::StatusCode::kUnimplemented);
}

TEST_CASE("GridSample is thread-count invariant", "[kernels][gridsample]") {
  std::mt19937 rng(7);
  Tensor x = RandomTensor({2, 3, 5, 6}, rng);
  Tensor grid = RandomTensor({2, 7, 4, 2}, rng, -1.3f, 1.3f);
  for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
    for (const char* pad : {"zeros", "border", "reflection"}) {
      testing::CheckThreadInvariant("GridSample", GridAttrs(mode, pad, 0), {&x, &grid});
    }
  }
}

// ---------------------------------------------------------------------------
// RoiAlign. X = 4y + x on a 4 x 4 image, a linear function, so every
// bilinear sample inside the image is exact.

Attributes RoiAttrs(const std::string& mode, const std::string& ctm, int64_t sampling) {
  Attributes a;
  a.Set("mode", mode);
  a.Set("coordinate_transformation_mode", ctm);
  a.Set("output_height", int64_t{1});
  a.Set("output_width", int64_t{1});
  a.Set("sampling_ratio", sampling);
  return a;
}

Tensor Ramp(int64_t n) {
  std::vector<float> v;
  for (int64_t b = 0; b < n; ++b) {
    for (int i = 0; i < 16; ++i) v.push_back(static_cast<float>(i + 100 * b));
  }
  return MakeFloat({n, 1, 4, 4}, v);
}

TEST_CASE("RoiAlign averages bilinear samples per bin", "[kernels][roialign]") {
  Tensor x = Ramp(2);
  Tensor rois = MakeFloat({2, 4}, {0, 0, 2, 2, 0, 0, 2, 2});
  Tensor batch = MakeInt64({2}, {0, 1});
  // output_half_pixel: samples at (0.5, 0.5), (0.5, 1.5), (1.5, 0.5),
  // (1.5, 1.5): mean of 4y + x = 5 (and 105 on image 1).
  Tensor y = Eval1("RoiAlign", RoiAttrs("avg", "output_half_pixel", 2), {&x, &rois, &batch});
  CHECK(y.shape() == Dims{2, 1, 1, 1});
  CheckClose(y, {5, 105});
  // Adaptive grid: ceil(2 / 1) = 2 samples per side, the same points.
  CheckClose(Eval1("RoiAlign", RoiAttrs("avg", "output_half_pixel", 0), {&x, &rois, &batch}),
             {5, 105});
  // half_pixel: shifted by -0.5, samples at 0 and 1: (0 + 1 + 4 + 5) / 4.
  CheckClose(Eval1("RoiAlign", RoiAttrs("avg", "half_pixel", 2), {&x, &rois, &batch}),
             {2.5f, 102.5f});
}

TEST_CASE("RoiAlign max takes the largest weighted corner", "[kernels][roialign]") {
  Tensor x = Ramp(1);
  Tensor rois = MakeFloat({1, 4}, {0, 0, 2, 2});
  Tensor batch = MakeInt64({1}, {0});
  // Corner weights are 1/4 at every sample; the largest corner of the last
  // sample (1.5, 1.5) is pixel (2, 2) = 10: 2.5 (ONNX Runtime's max mode).
  CheckClose(Eval1("RoiAlign", RoiAttrs("max", "output_half_pixel", 2), {&x, &rois, &batch}),
             {2.5f});
}

TEST_CASE("RoiAlign output grid and errors", "[kernels][roialign]") {
  Tensor x = Ramp(1);
  Tensor rois = MakeFloat({1, 4}, {0, 0, 4, 4});
  Tensor batch = MakeInt64({1}, {0});
  Attributes a = RoiAttrs("avg", "output_half_pixel", 1);
  a.Set("output_height", int64_t{2});
  a.Set("output_width", int64_t{2});
  // Bins of 2 x 2 pixels, one sample at each bin's centre (1 or 3).
  Tensor y = Eval1("RoiAlign", a, {&x, &rois, &batch});
  CHECK(y.shape() == Dims{1, 1, 2, 2});
  CheckClose(y, {5, 7, 13, 15});
  // spatial_scale halves the roi: samples at 0.5 and 1.5 of a 1 x 1 grid.
  a.Set("spatial_scale", 0.5f);
  CheckClose(Eval1("RoiAlign", a, {&x, &rois, &batch}), {2.5f, 3.5f, 6.5f, 7.5f});

  Tensor bad_batch = MakeInt64({1}, {3});
  auto out_of_range = Eval("RoiAlign", a, {&x, &rois, &bad_batch});
  CHECK(out_of_range.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(out_of_range.status().message(), "batch_indices[0]"));
  Attributes zero = a;
  zero.Set("output_height", int64_t{0});
  CHECK(absl::StrContains(Eval("RoiAlign", zero, {&x, &rois, &batch}).status().message(),
                          "output_height"));
  Attributes mode = a;
  mode.Set("mode", std::string("sum"));
  CHECK(Eval("RoiAlign", mode, {&x, &rois, &batch}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("RoiAlign is thread-count invariant", "[kernels][roialign]") {
  std::mt19937 rng(3);
  Tensor x = RandomTensor({2, 3, 8, 9}, rng);
  Tensor rois = MakeFloat({3, 4}, {0, 0, 5, 5, 1.5f, 2, 8, 7, -1, -1, 3, 12});
  Tensor batch = MakeInt64({3}, {1, 0, 1});
  Attributes a = RoiAttrs("avg", "half_pixel", 0);
  a.Set("output_height", int64_t{3});
  a.Set("output_width", int64_t{2});
  testing::CheckThreadInvariant("RoiAlign", a, {&x, &rois, &batch});
  a.Set("mode", std::string("max"));
  testing::CheckThreadInvariant("RoiAlign", a, {&x, &rois, &batch});
}

}  // namespace
}  // namespace engine::kernels
