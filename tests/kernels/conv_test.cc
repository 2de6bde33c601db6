// Tests of the Conv kernel against a direct (naive) convolution.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ops/op_registry.h"
#include "absl/strings/match.h"
#include "engine/compare.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::MakeFloat;
using engine::testing::RandomTensor;
using engine::testing::ToVector;

absl::StatusOr<std::vector<Tensor>> RunConv(const Attributes& attrs, const Tensor& x,
                                            const Tensor& w, const Tensor* b = nullptr) {
  std::vector<const Tensor*> inputs = {&x, &w};
  if (b != nullptr) inputs.push_back(b);
  return ops::EvaluateLayer(ops::OpRegistry::Builtin(), "Conv", attrs, inputs);
}

// Geometry of a direct convolution, with explicit pads per spatial axis.
struct NaiveConvSpec {
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pad_begin, pad_end;
};

// Direct convolution per ONNX Conv:
//   Y[n, m, o...] = B[m] + sum_{c in group(m), t...} X[n, c, o*s + t*d - pb] * W[m, c', t...]
// with X = 0 outside the input. X [N,C,D...], W [M,C/g,k...]; 1 to 3 spatial
// dims (leading unit dims are added to reach 3).
Tensor NaiveConv(const Tensor& x, const Tensor& w, const Tensor* b, const NaiveConvSpec& spec) {
  const size_t nsp = x.shape().size() - 2;
  const int64_t n_count = x.shape()[0], c_count = x.shape()[1], m_count = w.shape()[0];
  const int64_t cg = c_count / spec.group, mg = m_count / spec.group;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
  int64_t pb[3] = {0, 0, 0}, out[3] = {1, 1, 1};
  Dims y_shape = {n_count, m_count};
  for (size_t i = 0; i < nsp; ++i) {
    const size_t a = 3 - nsp + i;
    in[a] = x.shape()[2 + i];
    k[a] = w.shape()[2 + i];
    s[a] = spec.strides[i];
    d[a] = spec.dilations[i];
    pb[a] = spec.pad_begin[i];
    out[a] = (in[a] + spec.pad_begin[i] + spec.pad_end[i] - (k[a] - 1) * d[a] - 1) / s[a] + 1;
    y_shape.push_back(out[a]);
  }
  Tensor y(DataType::kFloat32, y_shape);
  const float* xp = x.data_as<float>();
  const float* wp = w.data_as<float>();
  float* yp = y.data_as<float>();
  for (int64_t n = 0; n < n_count; ++n)
    for (int64_t m = 0; m < m_count; ++m)
      for (int64_t o0 = 0; o0 < out[0]; ++o0)
        for (int64_t o1 = 0; o1 < out[1]; ++o1)
          for (int64_t o2 = 0; o2 < out[2]; ++o2) {
            double acc = b != nullptr ? b->data_as<float>()[m] : 0.0;
            const int64_t g = m / mg;
            for (int64_t cc = 0; cc < cg; ++cc)
              for (int64_t t0 = 0; t0 < k[0]; ++t0)
                for (int64_t t1 = 0; t1 < k[1]; ++t1)
                  for (int64_t t2 = 0; t2 < k[2]; ++t2) {
                    const int64_t i0 = o0 * s[0] + t0 * d[0] - pb[0];
                    const int64_t i1 = o1 * s[1] + t1 * d[1] - pb[1];
                    const int64_t i2 = o2 * s[2] + t2 * d[2] - pb[2];
                    if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2]) {
                      continue;
                    }
                    const int64_t c = g * cg + cc;
                    const float xv =
                        xp[(((n * c_count + c) * in[0] + i0) * in[1] + i1) * in[2] + i2];
                    const float wv = wp[(((m * cg + cc) * k[0] + t0) * k[1] + t1) * k[2] + t2];
                    acc += static_cast<double>(xv) * wv;
                  }
            yp[(((n * m_count + m) * out[0] + o0) * out[1] + o1) * out[2] + o2] =
                static_cast<float>(acc);
          }
  return y;
}

void ExpectClose(const Tensor& actual, const Tensor& expected) {
  CompareResult r = CompareTensors(actual, expected, 1e-4, 1e-4);
  INFO(r.message);
  CHECK(r.passed);
}

std::vector<float> Iota(int64_t n, float start = 0.0f) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

TEST_CASE("Conv matches a direct convolution on random shapes", "[kernels]") {
  std::mt19937 rng(1234);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const char* kAutoPads[] = {"NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  for (int iter = 0; iter < 120; ++iter) {
    const size_t nsp = pick(1, 3);
    const int64_t n = pick(1, 2);
    const int kind = pick(0, 3);  // 0: group 1, 1: grouped, 2: depthwise, 3: depthwise x2
    int64_t group = 1, cg = pick(1, 4), mg = pick(1, 4);
    if (kind == 1) group = pick(2, 3);
    if (kind >= 2) {
      group = pick(2, 5);
      cg = 1;
      mg = kind == 2 ? 1 : 2;
    }
    const int64_t c = group * cg, m = group * mg;
    const std::string auto_pad = kAutoPads[pick(0, 4)];
    NaiveConvSpec spec;
    spec.group = group;
    Dims x_shape = {n, c}, w_shape = {m, cg};
    std::vector<int64_t> pads_attr(2 * nsp, 0);
    for (size_t i = 0; i < nsp; ++i) {
      const int64_t k = pick(1, 3), s = pick(1, 3), d = pick(1, 2);
      const int64_t ek = (k - 1) * d + 1;
      const int64_t pb = pick(0, 2), pe = pick(0, 2);
      // Large enough that every auto_pad mode gives a non-empty output.
      const int64_t in = ek + pick(0, nsp == 3 ? 4 : 8);
      x_shape.push_back(in);
      w_shape.push_back(k);
      spec.strides.push_back(s);
      spec.dilations.push_back(d);
      pads_attr[i] = pb;
      pads_attr[nsp + i] = pe;
      if (auto_pad == "NOTSET") {
        spec.pad_begin.push_back(pb);
        spec.pad_end.push_back(pe);
      } else if (auto_pad == "VALID") {
        spec.pad_begin.push_back(0);
        spec.pad_end.push_back(0);
      } else {
        const int64_t out = (in + s - 1) / s;
        const int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - in);
        const int64_t small = total / 2, big = total - total / 2;
        spec.pad_begin.push_back(auto_pad == "SAME_UPPER" ? small : big);
        spec.pad_end.push_back(auto_pad == "SAME_UPPER" ? big : small);
      }
    }
    Attributes attrs;
    attrs.Set("group", group);
    attrs.Set("strides", spec.strides);
    attrs.Set("dilations", spec.dilations);
    if (auto_pad == "NOTSET") {
      attrs.Set("pads", pads_attr);
    } else {
      attrs.Set("auto_pad", auto_pad);
    }
    if (pick(0, 1) == 1) attrs.Set("kernel_shape", Dims(w_shape.begin() + 2, w_shape.end()));
    Tensor x = RandomTensor(x_shape, rng);
    Tensor w = RandomTensor(w_shape, rng);
    Tensor b = RandomTensor({m}, rng);
    const bool with_bias = pick(0, 1) == 1;
    INFO("iteration " << iter << ": X " << DimsToString(x_shape) << " W " << DimsToString(w_shape)
                      << " " << attrs.ToString());
    auto y = RunConv(attrs, x, w, with_bias ? &b : nullptr);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], NaiveConv(x, w, with_bias ? &b : nullptr, spec));
  }
}

TEST_CASE("Conv 1x1 fast path and multi-tile im2col match the direct convolution", "[kernels]") {
  std::mt19937 rng(7);
  SECTION("1x1, stride 1, no padding (no im2col)") {
    Tensor x = RandomTensor({2, 6, 5, 7}, rng);
    Tensor w = RandomTensor({4, 3, 1, 1}, rng);
    Tensor b = RandomTensor({4}, rng);
    Attributes attrs;
    attrs.Set("group", int64_t{2});
    auto y = RunConv(attrs, x, w, &b);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], NaiveConv(x, w, &b, {2, {1, 1}, {1, 1}, {0, 0}, {0, 0}}));
  }
  SECTION("1x1 with stride 2 and padding uses im2col") {
    Tensor x = RandomTensor({1, 3, 6, 5}, rng);
    Tensor w = RandomTensor({2, 3, 1, 1}, rng);
    Attributes attrs;
    attrs.Set("strides", std::vector<int64_t>{2, 2});
    attrs.Set("pads", std::vector<int64_t>{1, 0, 0, 1});
    auto y = RunConv(attrs, x, w);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], NaiveConv(x, w, nullptr, {1, {2, 2}, {1, 1}, {1, 0}, {0, 1}}));
  }
  SECTION("many input channels: several im2col tiles, tiles split output rows") {
    // K = 600 * 9 = 5400 rows -> tiles of 256 output positions over 23 x 19 = 437.
    Tensor x = RandomTensor({1, 600, 23, 19}, rng);
    Tensor w = RandomTensor({3, 600, 3, 3}, rng);
    Tensor b = RandomTensor({3}, rng);
    Attributes attrs;
    attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    auto y = RunConv(attrs, x, w, &b);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], NaiveConv(x, w, &b, {1, {1, 1}, {1, 1}, {1, 1}, {1, 1}}));
  }
}

TEST_CASE("Conv hand-computed cases (ONNX Conv examples)", "[kernels]") {
  Tensor w = MakeFloat({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  SECTION("basic conv with padding") {
    Tensor x = MakeFloat({1, 1, 5, 5}, Iota(25));
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
    attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    auto y = RunConv(attrs, x, w);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 5, 5},
                                   {12,  21, 27, 33,  24,  33,  54,  63, 72,  51,  63,  99, 108,
                                    117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84}));
  }
  SECTION("basic conv without padding") {
    Tensor x = MakeFloat({1, 1, 5, 5}, Iota(25));
    auto y = RunConv(Attributes(), x, w);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 3, 3}, {54, 63, 72, 99, 108, 117, 144, 153, 162}));
  }
  SECTION("strides 2 with padding") {
    Tensor x = MakeFloat({1, 1, 7, 5}, Iota(35));
    Attributes attrs;
    attrs.Set("strides", std::vector<int64_t>{2, 2});
    attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    auto y = RunConv(attrs, x, w);
    REQUIRE(y.ok());
    ExpectClose((*y)[0],
                MakeFloat({1, 1, 4, 3}, {12, 27, 24, 63, 108, 81, 123, 198, 141, 112, 177, 124}));
  }
  SECTION("strides 2 with asymmetric padding") {
    Tensor x = MakeFloat({1, 1, 7, 5}, Iota(35));
    Attributes attrs;
    attrs.Set("strides", std::vector<int64_t>{2, 2});
    attrs.Set("pads", std::vector<int64_t>{1, 0, 1, 0});
    auto y = RunConv(attrs, x, w);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 4, 2}, {21, 33, 99, 117, 189, 207, 171, 183}));
  }
  SECTION("auto_pad SAME_LOWER with stride 2") {
    Tensor x = MakeFloat({1, 1, 5, 5}, Iota(25));
    Attributes attrs;
    attrs.Set("auto_pad", std::string("SAME_LOWER"));
    attrs.Set("strides", std::vector<int64_t>{2, 2});
    auto y = RunConv(attrs, x, w);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 3, 3}, {12, 27, 24, 63, 108, 81, 72, 117, 84}));
  }
  SECTION("1-D depthwise with dilation and bias") {
    // Channel 0: x = [1 2 3 4 5], w = [1, -1] dilated by 2 -> x[i] - x[i+2] = -2.
    // Channel 1: x = [5 4 3 2 1], w = [2, 0.5] -> 2 x[i] + 0.5 x[i+2].
    Tensor x = MakeFloat({1, 2, 5}, {1, 2, 3, 4, 5, 5, 4, 3, 2, 1});
    Tensor w2 = MakeFloat({2, 1, 2}, {1, -1, 2, 0.5f});
    Tensor b = MakeFloat({2}, {10, -1});
    Attributes attrs;
    attrs.Set("group", int64_t{2});
    attrs.Set("dilations", std::vector<int64_t>{2});
    auto y = RunConv(attrs, x, w2, &b);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 2, 3}, {8, 8, 8, 10.5f, 8, 5.5f}));
  }
}

TEST_CASE("Conv reports bad shapes and attributes", "[kernels]") {
  Tensor x = MakeFloat({1, 4, 5, 5}, Iota(100));
  Tensor w = MakeFloat({2, 4, 3, 3}, std::vector<float>(72, 1.0f));
  auto code = [](const absl::StatusOr<std::vector<Tensor>>& r) { return r.status().code(); };
  auto message = [](const absl::StatusOr<std::vector<Tensor>>& r) {
    return std::string(r.status().message());
  };
  REQUIRE(RunConv(Attributes(), x, w).ok());

  SECTION("W rank differs from X rank") {
    Tensor w3 = MakeFloat({2, 4, 3}, std::vector<float>(24, 1.0f));
    auto r = RunConv(Attributes(), x, w3);
    CHECK(code(r) == absl::StatusCode::kInvalidArgument);
    CHECK(message(r) == "Conv: W has 3 dims, expected 4 for a 2-D convolution");
  }
  SECTION("channel mismatch") {
    Tensor w_bad = MakeFloat({2, 3, 3, 3}, std::vector<float>(54, 1.0f));
    CHECK(code(RunConv(Attributes(), x, w_bad)) == absl::StatusCode::kInvalidArgument);
  }
  SECTION("group does not divide the channels") {
    Attributes attrs;
    attrs.Set("group", int64_t{3});
    Tensor w_g = MakeFloat({3, 1, 3, 3}, std::vector<float>(27, 1.0f));
    CHECK(code(RunConv(attrs, x, w_g)) == absl::StatusCode::kInvalidArgument);
    attrs.Set("group", int64_t{0});
    CHECK(code(RunConv(attrs, x, w)) == absl::StatusCode::kInvalidArgument);
  }
  SECTION("bias of the wrong size") {
    Tensor b = MakeFloat({3}, {1, 2, 3});
    CHECK(code(RunConv(Attributes(), x, w, &b)) == absl::StatusCode::kInvalidArgument);
  }
  SECTION("kernel_shape disagrees with W") {
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
    CHECK(code(RunConv(attrs, x, w)) == absl::StatusCode::kInvalidArgument);
  }
  SECTION("attribute lists of the wrong length or value") {
    Attributes attrs;
    attrs.Set("strides", std::vector<int64_t>{1});
    CHECK(code(RunConv(attrs, x, w)) == absl::StatusCode::kInvalidArgument);
    attrs = Attributes();
    attrs.Set("pads", std::vector<int64_t>{1, 1});
    CHECK(code(RunConv(attrs, x, w)) == absl::StatusCode::kInvalidArgument);
    attrs = Attributes();
    attrs.Set("dilations", std::vector<int64_t>{0, 1});
    CHECK(code(RunConv(attrs, x, w)) == absl::StatusCode::kInvalidArgument);
    attrs = Attributes();
    attrs.Set("pads", std::vector<int64_t>{-1, 0, 0, 0});
    CHECK(code(RunConv(attrs, x, w)) == absl::StatusCode::kInvalidArgument);
    attrs = Attributes();
    attrs.Set("auto_pad", std::string("SAME"));
    CHECK(code(RunConv(attrs, x, w)) == absl::StatusCode::kInvalidArgument);
    attrs = Attributes();
    attrs.Set("group", std::string("1"));  // wrong attribute kind
    CHECK(code(RunConv(attrs, x, w)) == absl::StatusCode::kInvalidArgument);
  }
  SECTION("kernel larger than the padded input") {
    Tensor w7 = MakeFloat({2, 4, 7, 3}, std::vector<float>(168, 1.0f));
    CHECK(code(RunConv(Attributes(), x, w7)) == absl::StatusCode::kInvalidArgument);
    Attributes attrs;
    attrs.Set("pads", std::vector<int64_t>{1, 0, 1, 0});
    CHECK(RunConv(attrs, x, w7).ok());
  }
  SECTION("X without spatial dims") {
    Tensor x2 = MakeFloat({1, 4}, Iota(4));
    Tensor w2 = MakeFloat({2, 4}, Iota(8));
    CHECK(code(RunConv(Attributes(), x2, w2)) == absl::StatusCode::kInvalidArgument);
  }
  SECTION("missing W") {
    std::vector<const Tensor*> inputs = {&x};
    CHECK(ops::EvaluateLayer(ops::OpRegistry::Builtin(), "Conv", Attributes(), inputs).status().code() ==
          absl::StatusCode::kInvalidArgument);
  }
  SECTION("non-float dtypes are unimplemented; mixed dtypes are invalid") {
    Tensor xi(DataType::kInt8, {1, 4, 5, 5});
    Tensor wi(DataType::kInt8, {2, 4, 3, 3});
    CHECK(code(RunConv(Attributes(), xi, wi)) == absl::StatusCode::kUnimplemented);
    CHECK(code(RunConv(Attributes(), x, wi)) == absl::StatusCode::kInvalidArgument);
  }
  SECTION("4 spatial dims are unimplemented") {
    Tensor x4(DataType::kFloat32, {1, 1, 2, 2, 2, 2});
    Tensor w4(DataType::kFloat32, {1, 1, 1, 1, 1, 1});
    CHECK(code(RunConv(Attributes(), x4, w4)) == absl::StatusCode::kUnimplemented);
  }
}

TEST_CASE("Conv Run is safe to call concurrently on one kernel", "[kernels]") {
  std::mt19937 rng(99);
  Tensor x = RandomTensor({1, 8, 17, 13}, rng);
  Tensor w = RandomTensor({6, 4, 3, 3}, rng);
  Attributes attrs;
  attrs.Set("group", int64_t{2});
  attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("Conv");
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> in(2);
  in[0].dtype = in[1].dtype = DataType::kFloat32;
  in[0].shape = x.shape();
  in[1].shape = w.shape();
  auto out_info = def->infer(attrs, in);
  REQUIRE(out_info.ok());
  auto kernel = def->create();
  REQUIRE(kernel->Prepare(attrs, in, *out_info).ok());
  Tensor expected = NaiveConv(x, w, nullptr, {2, {1, 1}, {1, 1}, {1, 1}, {1, 1}});
  constexpr int kThreads = 4;
  std::vector<Tensor> ys;
  std::vector<Tensor> scratch;
  for (int t = 0; t < kThreads; ++t) {
    ys.emplace_back(DataType::kFloat32, (*out_info)[0].shape);
    scratch.emplace_back(DataType::kUint8, Dims{static_cast<int64_t>(kernel->ScratchBytes(1))});
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RunContext ctx{static_cast<std::byte*>(scratch[t].data()), scratch[t].byte_size()};
      const void* ins[] = {x.data(), w.data()};
      void* outs[] = {ys[t].data()};
      for (int rep = 0; rep < 20; ++rep) kernel->Run(ctx, ins, outs);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) ExpectClose(ys[t], expected);
}

TEST_CASE("Conv is correct on a full-size 224x224 VGG layer (im2col slicing)", "[kernels]") {
  // VGG-16 conv1_2: 64 -> 64 channels, 3x3, pad 1, on 224 x 224. Large enough
  // that im2col runs in several slices. Speed is measured by bench/, not here.
  std::mt19937 rng(5);
  Tensor x = RandomTensor({1, 64, 224, 224}, rng);
  Tensor w = RandomTensor({64, 64, 3, 3}, rng);
  Tensor b = RandomTensor({64}, rng);
  Attributes attrs;
  attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  auto y = RunConv(attrs, x, w, &b);
  REQUIRE(y.ok());
  // Spot-check a few outputs, including borders, against the direct formula.
  const float* xp = x.data_as<float>();
  const float* wp = w.data_as<float>();
  const float* yp = (*y)[0].data_as<float>();
  for (auto [m, oh, ow] : {std::tuple{0, 0, 0}, {5, 223, 223}, {63, 100, 0}, {17, 50, 117}}) {
    double acc = b.data_as<float>()[m];
    for (int c = 0; c < 64; ++c)
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw) {
          const int ih = oh + kh - 1, iw = ow + kw - 1;
          if (ih < 0 || ih >= 224 || iw < 0 || iw >= 224) continue;
          acc += static_cast<double>(xp[(c * 224 + ih) * 224 + iw]) *
                 wp[((m * 64 + c) * 3 + kh) * 3 + kw];
        }
    CHECK(yp[(m * 224 + oh) * 224 + ow] == Approx(acc).epsilon(1e-4).margin(1e-4));
  }
}

// The activations a fused Conv/Gemm epilogue supports: the unfused op (with its
// own attributes and, for Clip, bound inputs) and the fused attributes.
struct FusedActivationCase {
  std::string type;
  Attributes op_attrs;          // attributes of the standalone activation node
  std::vector<float> clip;      // Clip min[, max] inputs
  Attributes fused_attrs;       // activation, activation_alpha, activation_beta
};

std::vector<FusedActivationCase> FusedActivationCases() {
  std::vector<FusedActivationCase> cases;
  auto add = [&](const std::string& type, std::vector<std::pair<std::string, float>> op_attrs,
                 std::vector<float> clip, std::vector<std::pair<std::string, float>> fused) {
    FusedActivationCase c;
    c.type = type;
    for (const auto& [k, v] : op_attrs) c.op_attrs.Set(k, v);
    c.clip = std::move(clip);
    c.fused_attrs.Set("activation", type);
    for (const auto& [k, v] : fused) c.fused_attrs.Set(k, v);
    cases.push_back(std::move(c));
  };
  add("Relu", {}, {}, {});
  add("Clip", {}, {0.0f, 0.5f}, {{"activation_alpha", 0.0f}, {"activation_beta", 0.5f}});
  add("Clip", {}, {-0.25f}, {{"activation_alpha", -0.25f}});  // max defaults to FLT_MAX
  add("LeakyRelu", {}, {}, {});                                 // alpha defaults to 0.01
  add("LeakyRelu", {{"alpha", 0.3f}}, {}, {{"activation_alpha", 0.3f}});
  add("Sigmoid", {}, {}, {});
  add("Tanh", {}, {}, {});
  add("HardSigmoid", {}, {}, {});  // 0.2, 0.5
  add("HardSigmoid", {{"alpha", 0.4f}, {"beta", 0.3f}}, {},
      {{"activation_alpha", 0.4f}, {"activation_beta", 0.3f}});
  add("HardSwish", {}, {}, {});
  return cases;
}

// Runs the standalone activation `c` on `x` with the existing unary kernel.
Tensor RunActivation(const FusedActivationCase& c, const Tensor& x) {
  std::vector<Tensor> bounds;
  for (float v : c.clip) bounds.push_back(MakeFloat({}, {v}));
  std::vector<const Tensor*> inputs = {&x};
  for (const Tensor& t : bounds) inputs.push_back(&t);
  return testing::Eval1(c.type, c.op_attrs, inputs);
}

TEST_CASE("Conv with a residual and a fused activation matches Conv then Add then the activation",
          "[kernels]") {
  std::mt19937 rng(2024);
  struct Geometry {
    Dims x, w;
    int64_t group;
    std::vector<int64_t> pads, strides;
  };
  const std::vector<Geometry> geometries = {
      {{2, 4, 7, 6}, {6, 4, 3, 3}, 1, {1, 1, 1, 1}, {1, 1}},
      {{1, 4, 9, 9}, {4, 2, 3, 3}, 2, {0, 1, 1, 0}, {2, 2}},
      {{1, 6, 5, 5}, {6, 1, 3, 3}, 6, {1, 1, 1, 1}, {1, 1}},  // depthwise
      {{1, 3, 8, 8}, {5, 3, 1, 1}, 1, {0, 0, 0, 0}, {1, 1}},  // pointwise fast path
      {{2, 3, 10}, {4, 3, 3}, 1, {1, 1}, {1}},                // 1-D
  };
  std::vector<FusedActivationCase> activations = FusedActivationCases();
  activations.insert(activations.begin(), FusedActivationCase{});  // no activation
  for (size_t gi = 0; gi < geometries.size(); ++gi) {
    const Geometry& g = geometries[gi];
    Attributes conv_attrs;
    conv_attrs.Set("group", g.group);
    conv_attrs.Set("pads", g.pads);
    conv_attrs.Set("strides", g.strides);
    Tensor x = RandomTensor(g.x, rng, -2.0f, 2.0f);
    Tensor w = RandomTensor(g.w, rng);
    Tensor b = RandomTensor({g.w[0]}, rng);
    for (int with_bias = 0; with_bias < 2; ++with_bias) {
      const Tensor conv = with_bias != 0 ? testing::Eval1("Conv", conv_attrs, {&x, &w, &b})
                                         : testing::Eval1("Conv", conv_attrs, {&x, &w});
      for (int with_residual = 0; with_residual < 2; ++with_residual) {
        Tensor r = RandomTensor(conv.shape(), rng, -2.0f, 2.0f);
        const Tensor sum = with_residual != 0 ? testing::Eval1("Add", {}, {&conv, &r}) : conv;
        for (const FusedActivationCase& act : activations) {
          INFO("geometry " << gi << " bias " << with_bias << " residual " << with_residual
                           << " activation '" << act.type << "'");
          const Tensor expected = act.type.empty() ? sum : RunActivation(act, sum);
          Attributes fused_attrs = conv_attrs;
          for (const auto& [k, v] : act.fused_attrs.values()) fused_attrs.Set(k, v);
          std::vector<const Tensor*> inputs = {&x, &w, with_bias != 0 ? &b : nullptr};
          if (with_residual != 0) inputs.push_back(&r);
          const Tensor actual = testing::Eval1("Conv", fused_attrs, inputs);
          CompareResult cr = CompareTensors(actual, expected, 1e-6, 1e-6);
          INFO(cr.message);
          CHECK(cr.passed);
        }
      }
    }
  }
}

TEST_CASE("Conv rejects a bad residual or activation", "[kernels]") {
  std::mt19937 rng(3);
  Tensor x = RandomTensor({1, 2, 5, 5}, rng);
  Tensor w = RandomTensor({3, 2, 3, 3}, rng);
  Tensor r_ok = RandomTensor({1, 3, 3, 3}, rng);
  auto run = [&](const Attributes& attrs, const Tensor* r) {
    return testing::Eval("Conv", attrs, {&x, &w, nullptr, r});
  };
  REQUIRE(run(Attributes(), &r_ok).ok());
  SECTION("residual of another shape") {
    Tensor r = RandomTensor({1, 3, 5, 5}, rng);
    auto out = run(Attributes(), &r);
    CHECK(out.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(out.status().message(), "residual"));
  }
  SECTION("residual of another dtype") {
    Tensor r(DataType::kInt32, {1, 3, 3, 3});
    CHECK(run(Attributes(), &r).status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("unknown activation") {
    Attributes attrs;
    attrs.Set("activation", std::string("Mish"));
    auto out = run(attrs, &r_ok);
    CHECK(out.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(out.status().message(), "'Mish'"));
  }
  SECTION("activation attributes of the wrong kind") {
    Attributes attrs;
    attrs.Set("activation", int64_t{1});
    CHECK(run(attrs, &r_ok).status().code() == absl::StatusCode::kInvalidArgument);
    attrs.Set("activation", std::string("LeakyRelu"));
    attrs.Set("activation_alpha", std::string("0.1"));
    CHECK(run(attrs, &r_ok).status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("five inputs") {
    CHECK(testing::Eval("Conv", Attributes(), {&x, &w, nullptr, &r_ok, &r_ok}).status().code() ==
          absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace engine::kernels
