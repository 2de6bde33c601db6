// Resampling and layout kernels: Resize, DepthToSpace, SpaceToDepth,
// ConvTranspose. Hand-computed values (derivations in the comments), a naive
// ConvTranspose reference on random data, and thread-count invariance.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <random>
#include <vector>

#include "absl/strings/match.h"
#include "kernel_test_util.h"
#include "kernels/kernel_util.h"
#include "kernels/thread_pool.h"
#include "ops/op_registry.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::MakeFloat;
using engine::testing::MakeInt64;
using engine::testing::MakeTyped;
using engine::testing::RandomTensor;
using testing::Eval;
using testing::Eval1;

std::vector<float> Values(const Tensor& t) {
  const float* p = t.data_as<float>();
  return std::vector<float>(p, p + t.num_elements());
}

void CheckClose(const Tensor& t, const std::vector<float>& expected, float tol = 1e-6f) {
  REQUIRE(static_cast<size_t>(t.num_elements()) == expected.size());
  const std::vector<float> v = Values(t);
  for (size_t i = 0; i < v.size(); ++i) {
    CAPTURE(i);
    CHECK(v[i] == Approx(expected[i]).margin(tol));
  }
}

Attributes ResizeAttrs(const std::string& mode, const std::string& ctm,
                       const std::string& nearest = "round_prefer_floor") {
  Attributes a;
  a.Set("mode", mode);
  a.Set("coordinate_transformation_mode", ctm);
  a.Set("nearest_mode", nearest);
  return a;
}

// ---------------------------------------------------------------------------
// Resize

TEST_CASE("Resize nearest 2x upsampling repeats pixels", "[kernels][resize]") {
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor scales = MakeFloat({4}, {1, 1, 2, 2});
  Tensor y = Eval1("Resize", ResizeAttrs("nearest", "asymmetric"), {&x, nullptr, &scales});
  CHECK(y.shape() == Dims{1, 1, 4, 4});
  CheckClose(y, {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
}

TEST_CASE("Resize nearest rounding modes on ties", "[kernels][resize]") {
  // asymmetric, scale 2: source coordinates 0, 0.5, 1, ..., 3.5 over [10, 20, 30, 40].
  Tensor x = MakeFloat({4}, {10, 20, 30, 40});
  Tensor scales = MakeFloat({1}, {2});
  auto run = [&](const std::string& nearest) {
    return Values(Eval1("Resize", ResizeAttrs("nearest", "asymmetric", nearest), {&x, nullptr, &scales}));
  };
  CHECK(run("round_prefer_floor") == std::vector<float>{10, 10, 20, 20, 30, 30, 40, 40});
  CHECK(run("round_prefer_ceil") == std::vector<float>{10, 20, 20, 30, 30, 40, 40, 40});
  CHECK(run("floor") == std::vector<float>{10, 10, 20, 20, 30, 30, 40, 40});
  CHECK(run("ceil") == std::vector<float>{10, 20, 20, 30, 30, 40, 40, 40});
  // Scale 1.5 (sizes 6): coordinates 0, .667, 1.333, 2, 2.667, 3.333.
  Tensor sizes = MakeInt64({1}, {6});
  auto run_sizes = [&](const std::string& nearest) {
    return Values(Eval1("Resize", ResizeAttrs("nearest", "asymmetric", nearest),
                        {&x, nullptr, nullptr, &sizes}));
  };
  CHECK(run_sizes("floor") == std::vector<float>{10, 10, 20, 30, 30, 40});
  CHECK(run_sizes("ceil") == std::vector<float>{10, 20, 30, 30, 40, 40});
  CHECK(run_sizes("round_prefer_floor") == std::vector<float>{10, 20, 20, 30, 40, 40});
}

TEST_CASE("Resize nearest moves int8 values unchanged", "[kernels][resize]") {
  Tensor x = MakeTyped<int8_t>(DataType::kInt8, {1, 1, 2, 2}, {-1, 2, -3, 4});
  Tensor scales = MakeFloat({4}, {1, 1, 1, 2});
  Tensor y = Eval1("Resize", ResizeAttrs("nearest", "asymmetric"), {&x, nullptr, &scales});
  REQUIRE(y.dtype() == DataType::kInt8);
  CHECK(y.shape() == Dims{1, 1, 2, 4});
  const int8_t* p = y.data_as<int8_t>();
  CHECK(std::vector<int8_t>(p, p + 8) == std::vector<int8_t>{-1, -1, 2, 2, -3, -3, 4, 4});
}

TEST_CASE("Resize linear coordinate transformations", "[kernels][resize]") {
  Tensor x = MakeFloat({1, 1, 1, 2}, {0, 4});
  Tensor scales = MakeFloat({4}, {1, 1, 1, 2});
  // half_pixel: coordinates -0.25, 0.25, 0.75, 1.25 (edges clamp).
  CheckClose(Eval1("Resize", ResizeAttrs("linear", "half_pixel"), {&x, nullptr, &scales}),
             {0, 1, 3, 4});
  // asymmetric: 0, 0.5, 1, 1.5.
  CheckClose(Eval1("Resize", ResizeAttrs("linear", "asymmetric"), {&x, nullptr, &scales}),
             {0, 2, 4, 4});
  // align_corners with sizes 3: 0, 0.5, 1.
  Tensor sizes = MakeInt64({4}, {1, 1, 1, 3});
  CheckClose(Eval1("Resize", ResizeAttrs("linear", "align_corners"), {&x, nullptr, nullptr, &sizes}),
             {0, 2, 4});
  // pytorch_half_pixel to one element: coordinate 0.
  Tensor one = MakeInt64({4}, {1, 1, 1, 1});
  CheckClose(Eval1("Resize", ResizeAttrs("linear", "pytorch_half_pixel"), {&x, nullptr, nullptr, &one}),
             {0});
  // half_pixel to one element: coordinate 0.5 -> 2.
  CheckClose(Eval1("Resize", ResizeAttrs("linear", "half_pixel"), {&x, nullptr, nullptr, &one}),
             {2});
}

TEST_CASE("Resize bilinear 2-D equals the product of 1-D weights", "[kernels][resize]") {
  // 2x2 -> 3x3 with align_corners: the centre is the mean of the four.
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 5});
  Tensor sizes = MakeInt64({4}, {1, 1, 3, 3});
  CheckClose(Eval1("Resize", ResizeAttrs("linear", "align_corners"), {&x, nullptr, nullptr, &sizes}),
             {1, 1.5, 2, 2, 2.75, 3.5, 3, 4, 5});
}

TEST_CASE("Resize cubic with Keys' kernel and exclude_outside", "[kernels][resize]") {
  // x = [0, 1, 4, 9, 16], half_pixel, scale 2. Output 4 maps to 1.75: weights
  // (a = -0.75) of inputs 0..3 at r = 0.75: -0.03515625, 0.26171875,
  // 0.87890625, -0.10546875 -> 0.26171875 + 4 * 0.87890625 - 9 * 0.10546875
  // = 2.828125. Output 0 maps to -0.25 (r = 0.75, taps -2..1): edge-clamped,
  // sum(w[0..2]) * 0 + w[3] * 1 = -0.10546875; with exclude_outside the taps
  // -2, -1 drop out: -0.10546875 / (0.87890625 - 0.10546875) = -0.1363636.
  Tensor x = MakeFloat({1, 5}, {0, 1, 4, 9, 16});
  Tensor scales = MakeFloat({2}, {1, 2});
  Tensor y = Eval1("Resize", ResizeAttrs("cubic", "half_pixel"), {&x, nullptr, &scales});
  REQUIRE(y.shape() == Dims{1, 10});
  const std::vector<float> v = Values(y);
  CHECK(v[4] == Approx(2.828125f).margin(1e-6));
  CHECK(v[0] == Approx(-0.10546875f).margin(1e-6));
  Attributes excl = ResizeAttrs("cubic", "half_pixel");
  excl.Set("exclude_outside", int64_t{1});
  const std::vector<float> e = Values(Eval1("Resize", excl, {&x, nullptr, &scales}));
  CHECK(e[0] == Approx(-0.10546875 / 0.7734375).margin(1e-6));
  CHECK(e[4] == Approx(2.828125f).margin(1e-6));
  // cubic_coeff_a = -0.5 at r = 0.5 (output 3 -> 1.25? no: output 1 -> 0.25,
  // r = 0.25); check the weights still sum to one on a constant input.
  Tensor c = MakeFloat({1, 5}, {3, 3, 3, 3, 3});
  Attributes a05 = ResizeAttrs("cubic", "asymmetric");
  a05.Set("cubic_coeff_a", -0.5f);
  CheckClose(Eval1("Resize", a05, {&c, nullptr, &scales}), std::vector<float>(10, 3.0f), 1e-5f);
}

TEST_CASE("Resize tf_crop_and_resize extrapolates outside the roi", "[kernels][resize]") {
  // Axis 1: roi [0, 1.5] over 4 inputs, 4 outputs: coordinates 1.5 * x =
  // 0, 1.5, 3, 4.5 (outside -> extrapolation_value 9).
  Tensor x = MakeFloat({1, 4}, {0, 1, 2, 3});
  Tensor roi = MakeFloat({4}, {0, 0, 1, 1.5f});
  Tensor sizes = MakeInt64({2}, {1, 4});
  Attributes a = ResizeAttrs("linear", "tf_crop_and_resize");
  a.Set("extrapolation_value", 9.0f);
  CheckClose(Eval1("Resize", a, {&x, &roi, nullptr, &sizes}), {0, 1.5f, 3, 9});
  a.Set("mode", std::string("nearest"));
  CheckClose(Eval1("Resize", a, {&x, &roi, nullptr, &sizes}), {0, 1, 3, 9});
}

TEST_CASE("Resize axes and keep_aspect_ratio_policy (opset 18)", "[kernels][resize]") {
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
  Attributes a = ResizeAttrs("nearest", "asymmetric");
  a.Set("axes", std::vector<int64_t>{3});
  Tensor s = MakeFloat({1}, {2});
  Tensor y = Eval1("Resize", a, {&x, nullptr, &s});
  CHECK(y.shape() == Dims{1, 1, 2, 4});
  CheckClose(y, {1, 1, 2, 2, 3, 3, 4, 4});
  // sizes [7, 8] on axes 2, 3: not_larger keeps scale min(3.5, 4) = 3.5 -> 7x7;
  // not_smaller: 4 -> 8x8.
  Attributes k = ResizeAttrs("nearest", "half_pixel");
  k.Set("axes", std::vector<int64_t>{2, 3});
  k.Set("keep_aspect_ratio_policy", std::string("not_larger"));
  Tensor sizes = MakeInt64({2}, {7, 8});
  CHECK(Eval1("Resize", k, {&x, nullptr, nullptr, &sizes}).shape() == Dims{1, 1, 7, 7});
  k.Set("keep_aspect_ratio_policy", std::string("not_smaller"));
  CHECK(Eval1("Resize", k, {&x, nullptr, nullptr, &sizes}).shape() == Dims{1, 1, 8, 8});
}

TEST_CASE("Resize output size is floor(in * scale)", "[kernels][resize]") {
  std::mt19937 rng(3);
  Tensor x = RandomTensor({1, 1, 5, 7}, rng);
  Tensor scales = MakeFloat({4}, {1, 1, 0.6f, 1.5f});
  CHECK(Eval1("Resize", ResizeAttrs("linear", "half_pixel"), {&x, nullptr, &scales}).shape() ==
        Dims{1, 1, 3, 10});
}

TEST_CASE("Resize refuses malformed and dynamic forms", "[kernels][resize]") {
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor scales = MakeFloat({4}, {1, 1, 2, 2});
  Tensor sizes = MakeInt64({4}, {1, 1, 4, 4});
  auto both = Eval("Resize", ResizeAttrs("nearest", "asymmetric"), {&x, nullptr, &scales, &sizes});
  CHECK(both.status().code() == absl::StatusCode::kInvalidArgument);
  auto none = Eval("Resize", ResizeAttrs("nearest", "asymmetric"), {&x});
  CHECK(none.status().code() == absl::StatusCode::kInvalidArgument);
  auto bad_mode = Eval("Resize", ResizeAttrs("area", "asymmetric"), {&x, nullptr, &scales});
  CHECK(bad_mode.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad_mode.status().message(), "area"));
  Tensor xi = MakeTyped<int8_t>(DataType::kInt8, {1, 1, 2, 2}, {1, 2, 3, 4});
  auto int_linear = Eval("Resize", ResizeAttrs("linear", "asymmetric"), {&xi, nullptr, &scales});
  CHECK(int_linear.status().code() == absl::StatusCode::kUnimplemented);
  // scales known only at run time: refused at build time.
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("Resize");
  REQUIRE(def != nullptr);
  TensorInfo xin = MakeInfo(DataType::kFloat32, {1, 1, 2, 2});
  TensorInfo roi;
  roi.present = false;
  TensorInfo sin = MakeInfo(DataType::kFloat32, {4});
  std::vector<TensorInfo> infos = {xin, roi, sin};
  auto inferred = def->infer(ResizeAttrs("nearest", "asymmetric"), infos);
  CHECK(inferred.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(absl::StrContains(inferred.status().message(), "must be a constant tensor"));
}

// ---------------------------------------------------------------------------
// DepthToSpace / SpaceToDepth

TEST_CASE("DepthToSpace DCR and CRD", "[kernels][depthtospace]") {
  Tensor x = MakeFloat({1, 8, 1, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
  Attributes a;
  a.Set("blocksize", int64_t{2});
  // DCR: Y[c, i, j] = X[(i * 2 + j) * 2 + c].
  Tensor dcr = Eval1("DepthToSpace", a, {&x});
  CHECK(dcr.shape() == Dims{1, 2, 2, 2});
  CHECK(Values(dcr) == std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7});
  // CRD: Y[c, i, j] = X[c * 4 + i * 2 + j].
  a.Set("mode", std::string("CRD"));
  CHECK(Values(Eval1("DepthToSpace", a, {&x})) == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
  // Spatial interleaving: X[c, 0, w] = 2c + w, C = 4, b = 2 -> one channel 2x4.
  Tensor s = MakeFloat({1, 4, 1, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  a.Set("mode", std::string("DCR"));
  CHECK(Values(Eval1("DepthToSpace", a, {&s})) == std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7});
  Tensor bad = MakeFloat({1, 3, 1, 1}, {0, 1, 2});
  CHECK(Eval("DepthToSpace", a, {&bad}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("SpaceToDepth inverts DepthToSpace DCR", "[kernels][depthtospace]") {
  Attributes a;
  a.Set("blocksize", int64_t{2});
  Tensor x = MakeFloat({1, 1, 2, 2}, {0, 1, 2, 3});
  Tensor y = Eval1("SpaceToDepth", a, {&x});
  CHECK(y.shape() == Dims{1, 4, 1, 1});
  CHECK(Values(y) == std::vector<float>{0, 1, 2, 3});
  std::mt19937 rng(5);
  Tensor r = RandomTensor({2, 3, 6, 4}, rng);
  Tensor d = Eval1("SpaceToDepth", a, {&r});
  CHECK(d.shape() == Dims{2, 12, 3, 2});
  Tensor back = Eval1("DepthToSpace", a, {&d});
  CHECK(Values(back) == Values(r));
  Tensor odd = MakeFloat({1, 1, 3, 2}, {0, 1, 2, 3, 4, 5});
  CHECK(Eval("SpaceToDepth", a, {&odd}).status().code() == absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// ConvTranspose

TEST_CASE("ConvTranspose hand values", "[kernels][convtranspose]") {
  Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor w = MakeFloat({1, 1, 2, 2}, {1, 1, 1, 1});
  SECTION("stride 1: overlapping 2x2 footprints") {
    CheckClose(Eval1("ConvTranspose", Attributes(), {&x, &w}), {1, 3, 2, 4, 10, 6, 3, 7, 4});
  }
  SECTION("stride 2: disjoint blocks, bias") {
    Attributes a;
    a.Set("strides", std::vector<int64_t>{2, 2});
    Tensor b = MakeFloat({1}, {0.5f});
    CheckClose(Eval1("ConvTranspose", a, {&x, &w, &b}),
               {1.5, 1.5, 2.5, 2.5, 1.5, 1.5, 2.5, 2.5, 3.5, 3.5, 4.5, 4.5, 3.5, 3.5, 4.5, 4.5});
    // output_padding adds a row and a column that get only the bias.
    a.Set("output_padding", std::vector<int64_t>{1, 1});
    Tensor y = Eval1("ConvTranspose", a, {&x, &w, &b});
    REQUIRE(y.shape() == Dims{1, 1, 5, 5});
    CHECK(Values(y)[24] == 0.5f);
    CHECK(Values(y)[4] == 0.5f);
    CHECK(Values(y)[0] == 1.5f);
  }
  SECTION("pads crop the full result") {
    Attributes a;
    a.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    CheckClose(Eval1("ConvTranspose", a, {&x, &w}), {10});
  }
  SECTION("groups") {
    Tensor xg = MakeFloat({1, 2, 1, 1}, {1, 2});
    Tensor wg = MakeFloat({2, 1, 1, 1}, {3, 4});
    Attributes a;
    a.Set("group", int64_t{2});
    CheckClose(Eval1("ConvTranspose", a, {&xg, &wg}), {3, 8});
  }
}

TEST_CASE("ConvTranspose 1-D: strides, dilations, auto_pad, output_shape", "[kernels][convtranspose]") {
  Tensor x = MakeFloat({1, 1, 3}, {1, 2, 3});
  Tensor w = MakeFloat({1, 1, 3}, {1, 1, 1});
  Attributes a;
  a.Set("strides", std::vector<int64_t>{2});
  // Input i covers outputs 2i .. 2i + 2.
  CheckClose(Eval1("ConvTranspose", a, {&x, &w}), {1, 1, 3, 2, 5, 3, 3});
  // SAME: output 3 * 2 = 6, total padding 1: at the end (UPPER), begin (LOWER).
  a.Set("auto_pad", std::string("SAME_UPPER"));
  CheckClose(Eval1("ConvTranspose", a, {&x, &w}), {1, 1, 3, 2, 5, 3});
  a.Set("auto_pad", std::string("SAME_LOWER"));
  CheckClose(Eval1("ConvTranspose", a, {&x, &w}), {1, 3, 2, 5, 3, 3});
  // output_shape 8 (one more than the full 7): total padding -1, NOTSET puts
  // begin = -1 - floor(-1 / 2) = 0, so the last position gets nothing.
  Attributes o;
  o.Set("strides", std::vector<int64_t>{2});
  o.Set("output_shape", std::vector<int64_t>{8});
  CheckClose(Eval1("ConvTranspose", o, {&x, &w}), {1, 1, 3, 2, 5, 3, 3, 0});
  // Dilation 2 over x = [1, 2], w = [1, 10]: taps at i and i + 2.
  Tensor x2 = MakeFloat({1, 1, 2}, {1, 2});
  Tensor w2 = MakeFloat({1, 1, 2}, {1, 10});
  Attributes d;
  d.Set("dilations", std::vector<int64_t>{2});
  CheckClose(Eval1("ConvTranspose", d, {&x2, &w2}), {1, 2, 10, 20});
}

// Naive ConvTranspose (ONNX definition) for 2-D.
std::vector<float> NaiveConvTranspose2d(const Tensor& x, const Tensor& w, const Tensor* b,
                                        int64_t group, std::array<int64_t, 2> s,
                                        std::array<int64_t, 2> d, std::array<int64_t, 4> pads,
                                        const Dims& out_shape) {
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const int64_t Mg = w.shape()[1], KH = w.shape()[2], KW = w.shape()[3];
  const int64_t M = Mg * group, OH = out_shape[2], OW = out_shape[3], Cg = C / group;
  std::vector<double> y(static_cast<size_t>(N * M * OH * OW), 0.0);
  const float* xp = x.data_as<float>();
  const float* wp = w.data_as<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw)
          for (int64_t mg = 0; mg < Mg; ++mg)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t oh = ih * s[0] - pads[0] + kh * d[0];
                const int64_t ow = iw * s[1] - pads[1] + kw * d[1];
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                const int64_t m = (c / Cg) * Mg + mg;
                y[static_cast<size_t>(((n * M + m) * OH + oh) * OW + ow)] +=
                    static_cast<double>(xp[((n * C + c) * H + ih) * W + iw]) *
                    wp[((c * Mg + mg) * KH + kh) * KW + kw];
              }
  std::vector<float> out(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    const int64_t m = static_cast<int64_t>(i) / (OH * OW) % M;
    out[i] = static_cast<float>(y[i] + (b ? b->data_as<float>()[m] : 0.0f));
  }
  return out;
}

// Runs `type` with `threads` threads, all inputs given as constants.
std::vector<Tensor> RunThreads(const std::string& type, const Attributes& attrs,
                               const std::vector<const Tensor*>& inputs, int threads) {
  static exec::ThreadPool pool(3);
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel(type);
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> infos;
  for (const Tensor* t : inputs) {
    TensorInfo info;
    if (t == nullptr) {
      info.present = false;
    } else {
      info = MakeInfo(t->dtype(), t->shape());
      info.constant = t;
    }
    infos.push_back(info);
  }
  auto outs = def->infer(attrs, infos);
  REQUIRE(outs.ok());
  auto kernel = def->create();
  REQUIRE(kernel->Prepare(attrs, infos, *outs).ok());
  std::vector<Tensor> result;
  std::vector<void*> out_ptrs;
  for (const TensorInfo& o : *outs) {
    result.emplace_back(o.dtype, o.shape);
    out_ptrs.push_back(result.back().data());
  }
  std::vector<const void*> in_ptrs;
  for (const Tensor* t : inputs) in_ptrs.push_back(t ? t->data() : nullptr);
  std::vector<std::byte> scratch(kernel->ScratchBytes(threads) + 64);
  RunContext ctx;
  ctx.scratch = reinterpret_cast<std::byte*>(
      (reinterpret_cast<uintptr_t>(scratch.data()) + 63) / 64 * 64);
  ctx.scratch_bytes = kernel->ScratchBytes(threads);
  ctx.pool = threads > 1 ? &pool : nullptr;
  ctx.threads = threads;
  kernel->Run(ctx, in_ptrs, out_ptrs);
  return result;
}

void CheckSameBits(const std::string& type, const Attributes& attrs,
                   const std::vector<const Tensor*>& inputs) {
  const std::vector<Tensor> serial = RunThreads(type, attrs, inputs, 1);
  for (int threads : {2, 4}) {
    const std::vector<Tensor> par = RunThreads(type, attrs, inputs, threads);
    REQUIRE(par.size() == serial.size());
    CHECK(std::memcmp(par[0].data(), serial[0].data(), serial[0].byte_size()) == 0);
  }
}

TEST_CASE("ConvTranspose matches the naive definition and any thread count",
          "[kernels][convtranspose][parallel]") {
  std::mt19937 rng(17);
  Tensor x = RandomTensor({2, 4, 5, 6}, rng);
  Tensor w = RandomTensor({4, 3, 3, 3}, rng);
  Tensor b = RandomTensor({6}, rng);
  Attributes a;
  a.Set("group", int64_t{2});
  a.Set("strides", std::vector<int64_t>{2, 1});
  a.Set("dilations", std::vector<int64_t>{1, 2});
  a.Set("pads", std::vector<int64_t>{1, 0, 0, 1});
  a.Set("output_padding", std::vector<int64_t>{1, 0});
  Tensor y = Eval1("ConvTranspose", a, {&x, &w, &b});
  // H: 2 * 4 + 1 + 3 - 1 - 0 = 11; W: 1 * 5 + 0 + 5 - 0 - 1 = 9.
  REQUIRE(y.shape() == Dims{2, 6, 11, 9});
  CheckClose(y, NaiveConvTranspose2d(x, w, &b, 2, {2, 1}, {1, 2}, {1, 0, 0, 1}, y.shape()), 1e-5f);
  CheckSameBits("ConvTranspose", a, {&x, &w, &b});
  // A decoder-sized layer (several GEMM blocks and col chunks' worth of rows).
  Tensor xl = RandomTensor({1, 64, 48, 40}, rng);
  Tensor wl = RandomTensor({64, 32, 2, 2}, rng);
  Attributes s2;
  s2.Set("strides", std::vector<int64_t>{2, 2});
  Tensor yl = Eval1("ConvTranspose", s2, {&xl, &wl});
  REQUIRE(yl.shape() == Dims{1, 32, 96, 80});
  CheckClose(yl, NaiveConvTranspose2d(xl, wl, nullptr, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, yl.shape()),
             1e-4f);
  CheckSameBits("ConvTranspose", s2, {&xl, &wl});
}

TEST_CASE("ConvTranspose 3-D equals the 2-D result on a depth of one", "[kernels][convtranspose]") {
  std::mt19937 rng(19);
  Tensor x = RandomTensor({1, 2, 3, 4}, rng);
  Tensor w = RandomTensor({2, 3, 2, 2}, rng);
  Tensor x3 = x, w3 = w;
  x3.Reshape({1, 2, 1, 3, 4});
  w3.Reshape({2, 3, 1, 2, 2});
  Attributes a;
  a.Set("strides", std::vector<int64_t>{2, 2});
  Attributes a3;
  a3.Set("strides", std::vector<int64_t>{1, 2, 2});
  Tensor y = Eval1("ConvTranspose", a, {&x, &w});
  Tensor y3 = Eval1("ConvTranspose", a3, {&x3, &w3});
  CHECK(y3.shape() == Dims{1, 3, 1, 6, 8});
  CHECK(Values(y3) == Values(y));
}

TEST_CASE("Resize passes give the same bits with any thread count", "[kernels][resize][parallel]") {
  std::mt19937 rng(23);
  Tensor x = RandomTensor({1, 8, 37, 41}, rng);
  Tensor scales = MakeFloat({4}, {1, 1, 2.5f, 0.7f});
  CheckSameBits("Resize", ResizeAttrs("linear", "half_pixel"), {&x, nullptr, &scales});
  CheckSameBits("Resize", ResizeAttrs("cubic", "align_corners"), {&x, nullptr, &scales});
  CheckSameBits("Resize", ResizeAttrs("nearest", "asymmetric", "floor"), {&x, nullptr, &scales});
}

}  // namespace
}  // namespace engine::kernels
