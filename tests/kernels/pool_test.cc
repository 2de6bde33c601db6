// Tests of MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool against
// a naive implementation of the ONNX semantics.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "common/requant.h"
#include "engine/compare.h"
#include "kernels/kernel.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::MakeFloat;
using engine::testing::RandomTensor;

absl::StatusOr<std::vector<Tensor>> Run(const std::string& type, const Attributes& attrs,
                                        const Tensor& x) {
  std::vector<const Tensor*> inputs = {&x};
  return ops::EvaluateLayer(ops::OpRegistry::Builtin(), type, attrs, inputs);
}

void ExpectClose(const Tensor& actual, const Tensor& expected) {
  CompareResult r = CompareTensors(actual, expected, 1e-4, 1e-5);
  INFO(r.message);
  CHECK(r.passed);
}

std::vector<float> Iota(int64_t n, float start) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

struct NaivePoolSpec {
  bool max = true;
  bool ceil_mode = false;
  bool count_include_pad = false;
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end;
};

// Pooling written from the ONNX spec: output size floor/ceil((D + pads - ek) / s) + 1
// (ceil_mode drops a last window starting at or past D + pad_begin); a window
// covers input indices o*s - pb + t*d; max/sum over those inside the input;
// the average divides by the taps inside the input, or with
// count_include_pad by the taps inside [-pb, D + pe).
Tensor NaivePool(const Tensor& x, const NaivePoolSpec& spec) {
  const size_t nsp = x.shape().size() - 2;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
  int64_t pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0}, out[3] = {1, 1, 1};
  Dims y_shape = {x.shape()[0], x.shape()[1]};
  for (size_t i = 0; i < nsp; ++i) {
    const size_t a = 3 - nsp + i;
    in[a] = x.shape()[2 + i];
    k[a] = spec.kernel[i];
    s[a] = spec.strides[i];
    d[a] = spec.dilations[i];
    pb[a] = spec.pad_begin[i];
    pe[a] = spec.pad_end[i];
    const double size =
        static_cast<double>(in[a] + pb[a] + pe[a] - ((k[a] - 1) * d[a] + 1)) / s[a] + 1;
    out[a] = static_cast<int64_t>(spec.ceil_mode ? std::ceil(size) : std::floor(size));
    if (spec.ceil_mode && (out[a] - 1) * s[a] >= in[a] + pb[a]) --out[a];
    y_shape.push_back(out[a]);
  }
  Tensor y(DataType::kFloat32, y_shape);
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const float* xp = x.data_as<float>();
  float* yp = y.data_as<float>();
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t o0 = 0; o0 < out[0]; ++o0)
      for (int64_t o1 = 0; o1 < out[1]; ++o1)
        for (int64_t o2 = 0; o2 < out[2]; ++o2) {
          float mx = -std::numeric_limits<float>::infinity();
          double sum = 0;
          int64_t valid = 0, padded = 0;
          for (int64_t t0 = 0; t0 < k[0]; ++t0)
            for (int64_t t1 = 0; t1 < k[1]; ++t1)
              for (int64_t t2 = 0; t2 < k[2]; ++t2) {
                const int64_t i0 = o0 * s[0] - pb[0] + t0 * d[0];
                const int64_t i1 = o1 * s[1] - pb[1] + t1 * d[1];
                const int64_t i2 = o2 * s[2] - pb[2] + t2 * d[2];
                if (i0 < in[0] + pe[0] && i1 < in[1] + pe[1] && i2 < in[2] + pe[2]) ++padded;
                if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2]) {
                  continue;
                }
                const float v = xp[((p * in[0] + i0) * in[1] + i1) * in[2] + i2];
                mx = std::max(mx, v);
                sum += v;
                ++valid;
              }
          *yp++ =
              spec.max ? mx : static_cast<float>(sum / (spec.count_include_pad ? padded : valid));
        }
  return y;
}

TEST_CASE("MaxPool and AveragePool match a naive implementation on random shapes", "[kernels]") {
  std::mt19937 rng(2024);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const char* kAutoPads[] = {"NOTSET", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  for (int iter = 0; iter < 300; ++iter) {
    const size_t nsp = pick(1, 3);
    NaivePoolSpec spec;
    spec.max = pick(0, 1) == 1;
    spec.count_include_pad = !spec.max && pick(0, 1) == 1;
    const std::string auto_pad = kAutoPads[pick(0, 5)];
    spec.ceil_mode = auto_pad == "NOTSET" && pick(0, 1) == 1;
    Dims x_shape = {pick(1, 2), pick(1, 3)};
    std::vector<int64_t> pads(2 * nsp, 0);
    for (size_t i = 0; i < nsp; ++i) {
      const int64_t k = pick(1, 4), s = pick(1, 3), d = pick(1, 2);
      const int64_t ek = (k - 1) * d + 1;
      // ONNX requires pads smaller than the kernel, so no window is all padding.
      const int64_t pb = pick(0, k - 1), pe = pick(0, k - 1);
      const int64_t in = ek + pick(0, nsp == 3 ? 4 : 9);
      x_shape.push_back(in);
      spec.kernel.push_back(k);
      spec.strides.push_back(s);
      spec.dilations.push_back(d);
      pads[i] = pb;
      pads[nsp + i] = pe;
      if (auto_pad == "NOTSET") {
        spec.pad_begin.push_back(pb);
        spec.pad_end.push_back(pe);
      } else if (auto_pad == "VALID") {
        spec.pad_begin.push_back(0);
        spec.pad_end.push_back(0);
      } else {
        const int64_t out = (in + s - 1) / s;
        const int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - in);
        spec.pad_begin.push_back(auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2);
        spec.pad_end.push_back(total - spec.pad_begin.back());
      }
    }
    Attributes attrs;
    attrs.Set("kernel_shape", spec.kernel);
    attrs.Set("strides", spec.strides);
    attrs.Set("dilations", spec.dilations);
    if (auto_pad == "NOTSET") {
      attrs.Set("pads", pads);
    } else {
      attrs.Set("auto_pad", auto_pad);
    }
    attrs.Set("ceil_mode", int64_t{spec.ceil_mode});
    if (!spec.max) attrs.Set("count_include_pad", int64_t{spec.count_include_pad});
    Tensor x = RandomTensor(x_shape, rng);
    INFO("iteration " << iter << ": " << (spec.max ? "MaxPool" : "AveragePool") << " X "
                      << DimsToString(x_shape) << " " << attrs.ToString());
    auto y = Run(spec.max ? "MaxPool" : "AveragePool", attrs, x);
    REQUIRE(y.ok());
    Tensor expected = NaivePool(x, spec);
    REQUIRE((*y)[0].shape() == expected.shape());
    ExpectClose((*y)[0], expected);
  }
}

TEST_CASE("Int8 and uint8 MaxPool equal float MaxPool on the same values", "[kernels]") {
  // 1-D and 2-D without dilation take the separable row path, 3-D and
  // dilated pools the general loop: both must give float MaxPool's values.
  std::mt19937 rng(77);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int iter = 0; iter < 200; ++iter) {
    const size_t nsp = pick(1, 3);
    const bool is_signed = pick(0, 1) == 1;
    Dims shape = {pick(1, 2), pick(1, 5)};
    std::vector<int64_t> kernel, strides, dilations, pads(2 * nsp);
    for (size_t i = 0; i < nsp; ++i) {
      const int64_t k = pick(1, 4), d = iter % 4 == 0 ? pick(1, 2) : 1;
      kernel.push_back(k);
      strides.push_back(pick(1, 3));
      dilations.push_back(d);
      pads[i] = pick(0, k - 1);
      pads[nsp + i] = pick(0, k - 1);
      shape.push_back((k - 1) * d + 1 + pick(0, nsp == 3 ? 4 : 40));
    }
    Attributes attrs;
    attrs.Set("kernel_shape", kernel);
    attrs.Set("strides", strides);
    attrs.Set("dilations", dilations);
    attrs.Set("pads", pads);
    attrs.Set("ceil_mode", int64_t{pick(0, 1)});
    Tensor xq(is_signed ? DataType::kInt8 : DataType::kUint8, shape);
    Tensor xf(DataType::kFloat32, shape);
    for (int64_t i = 0; i < NumElements(shape); ++i) {
      const int v = is_signed ? pick(-128, 127) : pick(0, 255);
      if (is_signed) {
        xq.data_as<int8_t>()[i] = static_cast<int8_t>(v);
      } else {
        xq.data_as<uint8_t>()[i] = static_cast<uint8_t>(v);
      }
      xf.data_as<float>()[i] = static_cast<float>(v);
    }
    INFO("iteration " << iter << ": X " << DimsToString(shape) << " " << attrs.ToString());
    auto yq = Run("MaxPool", attrs, xq);
    auto yf = Run("MaxPool", attrs, xf);
    REQUIRE(yq.ok());
    REQUIRE(yf.ok());
    REQUIRE((*yq)[0].shape() == (*yf)[0].shape());
    const int64_t n = NumElements((*yf)[0].shape());
    int mismatches = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float q = is_signed ? (*yq)[0].data_as<int8_t>()[i] : (*yq)[0].data_as<uint8_t>()[i];
      if (q != (*yf)[0].data_as<float>()[i]) ++mismatches;
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("Int8AveragePool and Int8GlobalAveragePool: exact sums, requantized or dequantized",
          "[kernels][int8]") {
  // Reference: the int32 sum of each window's taps inside the input over
  // AveragePool's count, requantized by QuantizeMultiplier(x_scale /
  // (y_scale * count)) (src/common/requant.h), or float(sum) * (x_scale /
  // count); and within half an output step of float AveragePool on the
  // dequantized input.
  std::mt19937 rng(303);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int iter = 0; iter < 120; ++iter) {
    const bool global = iter % 4 == 0;
    const bool int8_out = iter % 3 != 0;
    const bool include_pad = !global && pick(0, 1) == 1;
    const int64_t k = pick(1, 4), st = pick(1, 3);
    const int64_t pad = global ? 0 : pick(0, k - 1);
    const Dims shape = {pick(1, 2), pick(1, 4), k + pick(0, 9), k + pick(0, 9)};
    Tensor xq(DataType::kInt8, shape);
    Tensor xf(DataType::kFloat32, shape);
    const float x_scale = 0.01f + 0.1f * static_cast<float>(pick(1, 9));
    const float y_scale = x_scale * (0.2f + 0.3f * static_cast<float>(pick(0, 4)));
    for (int64_t i = 0; i < NumElements(shape); ++i) {
      const int v = pick(-128, 127);
      xq.data_as<int8_t>()[i] = static_cast<int8_t>(v);
      xf.data_as<float>()[i] = static_cast<float>(v) * x_scale;
    }
    Attributes attrs;
    if (!global) {
      attrs.Set("kernel_shape", std::vector<int64_t>{k, k});
      attrs.Set("strides", std::vector<int64_t>{st, st});
      attrs.Set("pads", std::vector<int64_t>{pad, pad, pad, pad});
      attrs.Set("count_include_pad", int64_t{include_pad});
    }
    Attributes qattrs = attrs;
    qattrs.Set("x_scale", x_scale);
    if (int8_out) qattrs.Set("y_scale", y_scale);
    INFO("iteration " << iter << ": X " << DimsToString(shape) << " " << qattrs.ToString());
    auto yq = Run(global ? "Int8GlobalAveragePool" : "Int8AveragePool", qattrs, xq);
    auto yf = Run(global ? "GlobalAveragePool" : "AveragePool", attrs, xf);
    REQUIRE(yq.ok());
    REQUIRE(yf.ok());
    const Tensor& q = (*yq)[0];
    const Tensor& f = (*yf)[0];
    REQUIRE(q.shape() == f.shape());
    REQUIRE(q.dtype() == (int8_out ? DataType::kInt8 : DataType::kFloat32));
    // The reference, window by window.
    const int64_t h = shape[2], w = shape[3];
    const int64_t oh = global ? 1 : (h + 2 * pad - k) / st + 1;
    const int64_t ow = global ? 1 : (w + 2 * pad - k) / st + 1;
    const int64_t kk = global ? h : k, kw = global ? w : k, s = global ? 1 : st;
    int mismatches = 0, far = 0;
    for (int64_t plane = 0; plane < shape[0] * shape[1]; ++plane) {
      const int8_t* xp = xq.data_as<int8_t>() + plane * h * w;
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          int32_t sum = 0;
          int64_t inside = 0, padded = 0;
          for (int64_t a = 0; a < kk; ++a) {
            for (int64_t b = 0; b < kw; ++b) {
              const int64_t r = i * s - pad + a, c = j * s - pad + b;
              if (r >= -pad && r < h + pad && c >= -pad && c < w + pad) ++padded;
              if (r < 0 || r >= h || c < 0 || c >= w) continue;
              sum += xp[r * w + c];
              ++inside;
            }
          }
          const int64_t count = include_pad ? padded : inside;
          const int64_t at = (plane * oh + i) * ow + j;
          const float ref_f = f.data_as<float>()[at];
          if (int8_out) {
            const QuantizedMultiplier m = QuantizeMultiplier(double{x_scale} / (double{y_scale} * count));
            const int8_t expect = RequantizeToInt8(sum, m.multiplier, m.shift, -128, 127);
            const int8_t got = q.data_as<int8_t>()[at];
            mismatches += got != expect;
            const float clamped = std::clamp(ref_f, -128.0f * y_scale, 127.0f * y_scale);
            far += std::fabs(static_cast<float>(got) * y_scale - clamped) > 0.5f * y_scale + 1e-5f;
          } else {
            const float expect = static_cast<float>(sum) * (x_scale / static_cast<float>(count));
            mismatches += q.data_as<float>()[at] != expect;
            far += std::fabs(expect - ref_f) > 1e-4f * (1.0f + std::fabs(ref_f));
          }
        }
      }
    }
    CHECK(mismatches == 0);
    CHECK(far == 0);
  }
}

TEST_CASE("Int8AveragePool checks its dtype and scales", "[kernels][int8]") {
  Tensor xq(DataType::kInt8, {1, 1, 4, 4});
  Tensor xf(DataType::kFloat32, {1, 1, 4, 4});
  Attributes attrs;
  attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
  auto no_scale = Run("Int8AveragePool", attrs, xq);
  REQUIRE(!no_scale.ok());
  CHECK(no_scale.status().message().find("x_scale") != std::string::npos);
  attrs.Set("x_scale", 0.5f);
  auto float_in = Run("Int8AveragePool", attrs, xf);
  REQUIRE(!float_in.ok());
  CHECK(float_in.status().message().find("must be int8") != std::string::npos);
  attrs.Set("y_scale", -1.0f);
  auto bad_y = Run("Int8AveragePool", attrs, xq);
  REQUIRE(!bad_y.ok());
  CHECK(bad_y.status().message().find("finite and > 0") != std::string::npos);
}

TEST_CASE("Pooling hand-computed cases (ONNX examples)", "[kernels]") {
  const Tensor x16 = MakeFloat({1, 1, 4, 4}, Iota(16, 1));
  const Tensor x25 = MakeFloat({1, 1, 5, 5}, Iota(25, 1));
  SECTION("AveragePool ceil_mode") {
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
    attrs.Set("strides", std::vector<int64_t>{2, 2});
    attrs.Set("ceil_mode", int64_t{1});
    auto y = Run("AveragePool", attrs, x16);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 2, 2}, {6, 7.5f, 12, 13.5f}));
  }
  SECTION("MaxPool ceil_mode") {
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
    attrs.Set("strides", std::vector<int64_t>{2, 2});
    attrs.Set("ceil_mode", int64_t{1});
    auto y = Run("MaxPool", attrs, x16);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 2, 2}, {11, 12, 15, 16}));
  }
  SECTION("dilations") {
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
    attrs.Set("dilations", std::vector<int64_t>{2, 2});
    auto y = Run("MaxPool", attrs, x16);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 2, 2}, {11, 12, 15, 16}));
    attrs.Set("ceil_mode", int64_t{1});
    y = Run("AveragePool", attrs, x16);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 2, 2}, {6, 7, 10, 11}));
  }
  SECTION("AveragePool precomputed pads, with and without count_include_pad") {
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{5, 5});
    attrs.Set("pads", std::vector<int64_t>{2, 2, 2, 2});
    auto y = Run("AveragePool", attrs, x25);
    REQUIRE(y.ok());
    ExpectClose((*y)[0],
                MakeFloat({1, 1, 5, 5}, {7,  7.5f,  8,  8.5f,  9,  9.5f,  10, 10.5f, 11, 11.5f,
                                         12, 12.5f, 13, 13.5f, 14, 14.5f, 15, 15.5f, 16, 16.5f,
                                         17, 17.5f, 18, 18.5f, 19}));
    attrs.Set("count_include_pad", int64_t{1});
    y = Run("AveragePool", attrs, x25);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 5, 5},
                                   {2.52f,  3.6f,  4.8f,  4.08f, 3.24f, 4.56f, 6.4f,  8.4f, 7.04f,
                                    5.52f,  7.2f,  10.0f, 13.0f, 10.8f, 8.4f,  6.96f, 9.6f, 12.4f,
                                    10.24f, 7.92f, 6.12f, 8.4f,  10.8f, 8.88f, 6.84f}));
  }
  SECTION("SAME_UPPER with strides") {
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
    attrs.Set("strides", std::vector<int64_t>{2, 2});
    attrs.Set("auto_pad", std::string("SAME_UPPER"));
    auto y = Run("AveragePool", attrs, x25);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 3, 3}, {4, 5.5f, 7, 11.5f, 13, 14.5f, 19, 20.5f, 22}));
    y = Run("MaxPool", attrs, x25);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 3, 3}, {7, 9, 10, 17, 19, 20, 22, 24, 25}));
  }
  SECTION("ceil_mode: the last window must start inside the input or left padding") {
    // test_averagepool_2d_ceil_last_window_starts_on_pad: 2x2 input, kernel 3,
    // stride 3, pads 1: ceil((2 + 2 - 3) / 3) + 1 = 2, but the second window
    // would start at 3 - 1 = 2 = D, so the output is 1x1.
    const Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
    attrs.Set("strides", std::vector<int64_t>{3, 3});
    attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    attrs.Set("ceil_mode", int64_t{1});
    auto y = Run("AveragePool", attrs, x);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 1, 1}, {2.5f}));  // 10 / 4 input elements
    attrs.Set("count_include_pad", int64_t{1});
    y = Run("AveragePool", attrs, x);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 1, 1}, {10.0f / 9}));  // all 3x3 taps are padded input
  }
  SECTION("count_include_pad does not count the ceil_mode overhang") {
    // [1 2 3 4 5], kernel 2, stride 2, ceil: windows [1 2], [3 4], [5 | overhang].
    const Tensor x = MakeFloat({1, 1, 5}, Iota(5, 1));
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{2});
    attrs.Set("strides", std::vector<int64_t>{2});
    attrs.Set("ceil_mode", int64_t{1});
    attrs.Set("count_include_pad", int64_t{1});
    auto y = Run("AveragePool", attrs, x);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 3}, {1.5f, 3.5f, 5.0f}));
    // With one unit of end padding the last window is [5, pad]: divisor 2.
    attrs.Set("pads", std::vector<int64_t>{0, 1});
    attrs.Set("kernel_shape", std::vector<int64_t>{3});
    y = Run("AveragePool", attrs, x);
    REQUIRE(y.ok());
    // Windows start at 0, 2, 4: [1 2 3], [3 4 5], [5 pad overhang] -> 5 / 2.
    ExpectClose((*y)[0], MakeFloat({1, 1, 3}, {2, 4, 2.5f}));
  }
  SECTION("ceil_mode output size reduced by one (ONNX maxpool_2d_ceil_output_size_reduce_by_one)") {
    // 2x2 input, kernel 1, stride 2: ceil((2 - 1) / 2) + 1 = 2, but the
    // second window would start at 2 = D, so the output is 1x1.
    const Tensor x = MakeFloat({1, 1, 2, 2}, {1, 2, 3, 4});
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{1, 1});
    attrs.Set("strides", std::vector<int64_t>{2, 2});
    attrs.Set("ceil_mode", int64_t{1});
    auto y = Run("MaxPool", attrs, x);
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1, 1, 1}, {1}));
  }
  SECTION("MaxPool on uint8") {
    Tensor x(DataType::kUint8, {1, 1, 2, 3});
    const uint8_t values[] = {1, 200, 3, 250, 5, 6};
    std::copy(values, values + 6, x.data_as<uint8_t>());
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
    auto y = Run("MaxPool", attrs, x);
    REQUIRE(y.ok());
    REQUIRE((*y)[0].dtype() == DataType::kUint8);
    REQUIRE((*y)[0].shape() == Dims{1, 1, 1, 2});
    CHECK((*y)[0].data_as<uint8_t>()[0] == 250);
    CHECK((*y)[0].data_as<uint8_t>()[1] == 200);
  }
}

TEST_CASE("GlobalAveragePool and GlobalMaxPool reduce every spatial dim", "[kernels]") {
  std::mt19937 rng(8);
  for (const Dims& shape :
       {Dims{2, 3, 5}, Dims{2, 3, 4, 5}, Dims{1, 2, 3, 4, 5}, Dims{1, 4, 7, 7}}) {
    Tensor x = RandomTensor(shape, rng);
    const int64_t planes = shape[0] * shape[1];
    const int64_t plane = NumElements(shape) / planes;
    Dims y_shape(shape.size(), 1);
    y_shape[0] = shape[0];
    y_shape[1] = shape[1];
    Tensor avg(DataType::kFloat32, y_shape), mx(DataType::kFloat32, y_shape);
    for (int64_t p = 0; p < planes; ++p) {
      const float* xp = x.data_as<float>() + p * plane;
      double sum = 0;
      float m = xp[0];
      for (int64_t i = 0; i < plane; ++i) {
        sum += xp[i];
        m = std::max(m, xp[i]);
      }
      avg.data_as<float>()[p] = static_cast<float>(sum / plane);
      mx.data_as<float>()[p] = m;
    }
    INFO("X " << DimsToString(shape));
    auto ya = Run("GlobalAveragePool", Attributes(), x);
    REQUIRE(ya.ok());
    ExpectClose((*ya)[0], avg);
    auto ym = Run("GlobalMaxPool", Attributes(), x);
    REQUIRE(ym.ok());
    ExpectClose((*ym)[0], mx);
  }
  const Tensor x = MakeFloat({1, 2, 2, 2}, {1, 2, 3, 4, -1, -2, -3, 10});
  auto ya = Run("GlobalAveragePool", Attributes(), x);
  REQUIRE(ya.ok());
  ExpectClose((*ya)[0], MakeFloat({1, 2, 1, 1}, {2.5f, 1.0f}));
}

TEST_CASE("Pooling reports bad attributes and shapes", "[kernels]") {
  auto code = [](const absl::StatusOr<std::vector<Tensor>>& r) { return r.status().code(); };
  const Tensor x(DataType::kFloat32, {1, 2, 5, 5});
  Attributes ok;
  ok.Set("kernel_shape", std::vector<int64_t>{3, 3});
  REQUIRE(Run("MaxPool", ok, x).ok());

  CHECK(code(Run("MaxPool", Attributes(), x)) == absl::StatusCode::kInvalidArgument);
  Attributes attrs = ok;
  attrs.Set("kernel_shape", std::vector<int64_t>{3});
  CHECK(code(Run("AveragePool", attrs, x)) == absl::StatusCode::kInvalidArgument);
  attrs = ok;
  attrs.Set("pads", std::vector<int64_t>{1, 1});
  CHECK(code(Run("MaxPool", attrs, x)) == absl::StatusCode::kInvalidArgument);
  attrs = ok;
  attrs.Set("strides", std::vector<int64_t>{0, 1});
  CHECK(code(Run("MaxPool", attrs, x)) == absl::StatusCode::kInvalidArgument);
  attrs = ok;
  attrs.Set("kernel_shape", std::vector<int64_t>{6, 3});
  CHECK(code(Run("AveragePool", attrs, x)) == absl::StatusCode::kInvalidArgument);
  attrs = ok;
  attrs.Set("auto_pad", std::string("SAME"));
  CHECK(code(Run("MaxPool", attrs, x)) == absl::StatusCode::kInvalidArgument);
  attrs = ok;
  attrs.Set("storage_order", int64_t{2});
  CHECK(code(Run("MaxPool", attrs, x)) == absl::StatusCode::kInvalidArgument);

  const Tensor x2(DataType::kFloat32, {1, 2});
  CHECK(code(Run("MaxPool", ok, x2)) == absl::StatusCode::kInvalidArgument);
  const Tensor x_int(DataType::kInt32, {1, 2, 5, 5});
  CHECK(code(Run("MaxPool", ok, x_int)) == absl::StatusCode::kUnimplemented);
  const Tensor x_u8(DataType::kUint8, {1, 2, 5, 5});
  CHECK(code(Run("AveragePool", ok, x_u8)) == absl::StatusCode::kUnimplemented);
  const Tensor x_empty(DataType::kFloat32, {1, 2, 0});
  CHECK(code(Run("GlobalAveragePool", Attributes(), x_empty)) ==
        absl::StatusCode::kInvalidArgument);

  SECTION("plain MaxPool has one output; Indices is MaxPoolWithIndices") {
    const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("MaxPool");
    REQUIRE(def != nullptr);
    std::vector<TensorInfo> in(1);
    in[0].dtype = DataType::kFloat32;
    in[0].shape = x.shape();
    auto outs = def->infer(ok, in);
    REQUIRE(outs.ok());
    REQUIRE(outs->size() == 1);
    std::vector<TensorInfo> two = *outs;
    TensorInfo indices;
    indices.dtype = DataType::kInt64;
    indices.shape = two[0].shape;
    two.push_back(indices);
    auto kernel = def->create();
    CHECK(kernel->Prepare(ok, in, two).code() == absl::StatusCode::kInvalidArgument);
  }
}

// Hand-computed: X [1, 2, 3, 4] (plane 1 offset by 12), 2x2 windows, stride
// 2, ceil_mode so the last column window overhangs (taps outside X skipped).
TEST_CASE("MaxPoolWithIndices gives the flat position of each maximum", "[kernels][pool]") {
  // Plane 0:            Plane 1 (values negated, so maxima move):
  //  0  5  2  9          -0 -5 -2 -9
  //  4  1  7  3          -4 -1 -7 -3
  //  8  6  9  9          -8 -6 -9 -9
  std::vector<float> p0 = {0, 5, 2, 9, 4, 1, 7, 3, 8, 6, 9, 9};
  std::vector<float> v = p0;
  for (float f : p0) v.push_back(-f);
  const Tensor x = MakeFloat({1, 2, 3, 4}, v);
  Attributes attrs;
  attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
  attrs.Set("strides", std::vector<int64_t>{2, 2});
  attrs.Set("ceil_mode", int64_t{1});
  auto out = Run("MaxPoolWithIndices", attrs, x);
  REQUIRE(out.ok());
  REQUIRE(out->size() == 2);
  ExpectClose((*out)[0], MakeFloat({1, 2, 2, 2}, {5, 9, 8, 9, 0, -2, -6, -9}));
  // Row-major positions; plane 1's are offset by 12. Ties (9, 9 in the last
  // window of plane 0; -9, -9 of plane 1) keep the first tap.
  CHECK((*out)[1].dtype() == DataType::kInt64);
  CHECK(testing::Values<int64_t>((*out)[1]) ==
        std::vector<int64_t>{1, 3, 8, 10, 12, 14, 21, 22});

  // storage_order 1: column-major spatial positions (h + w * 3).
  attrs.Set("storage_order", int64_t{1});
  auto col = Run("MaxPoolWithIndices", attrs, x);
  REQUIRE(col.ok());
  CHECK(testing::Values<int64_t>((*col)[1]) ==
        std::vector<int64_t>{3, 9, 2, 8, 12, 18, 17, 20});
}

TEST_CASE("MaxUnpool inverts MaxPoolWithIndices", "[kernels][pool]") {
  std::mt19937 rng(7);
  const Tensor x = RandomTensor({2, 3, 4, 6}, rng);
  Attributes attrs;
  attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
  attrs.Set("strides", std::vector<int64_t>{2, 2});
  auto out = Run("MaxPoolWithIndices", attrs, x);
  REQUIRE(out.ok());
  std::vector<const Tensor*> in = {&(*out)[0], &(*out)[1]};
  auto back = ops::EvaluateLayer(ops::OpRegistry::Builtin(), "MaxUnpool", attrs, in);
  REQUIRE(back.ok());
  REQUIRE((*back)[0].shape() == x.shape());
  // Every window's maximum is back at its place, everything else is zero.
  const std::vector<float> xv = testing::Values<float>(x);
  const std::vector<float> bv = testing::Values<float>((*back)[0]);
  const std::vector<int64_t> idx = testing::Values<int64_t>((*out)[1]);
  std::vector<float> expect(xv.size(), 0.0f);
  for (int64_t i : idx) {
    REQUIRE(i >= 0);
    REQUIRE(i < static_cast<int64_t>(xv.size()));
    expect[i] = xv[i];
  }
  CHECK(bv == expect);
  CHECK(std::count_if(bv.begin(), bv.end(), [](float f) { return f != 0.0f; }) == 36);
}

}  // namespace
}  // namespace engine::kernels
