// Int8ConvTranspose against (a) a naive reference of the accelerator's
// integer arithmetic (src/common/requant.h): every output bit-identical, for
// strided, padded, dilated, grouped, output_padding and overlapping-tap
// geometries (1-D, 2-D, 3-D), every thread count; (b) the float32
// ConvTranspose kernel on the dequantized operands: the float-output form
// within 1e-5 relative (float32 summation of exact products), the requantized
// form within one int8 step of round(FP32 / y_scale).
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "common/requant.h"
#include "kernels/conv_transpose_geometry.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

using testing::CheckThreadInvariant;
using testing::Eval;
using testing::Eval1;
using testing::Inputs;
using testing::RunWithThreads;

Tensor RandomInt8(const Dims& shape, std::mt19937& rng, int lo = -128, int hi = 127) {
  Tensor t(DataType::kInt8, shape);
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<int8_t>()[i] = static_cast<int8_t>(d(rng));
  return t;
}

struct Case {
  std::string name;
  Dims x, w;          // X [N, C, spatial], W [C, M/g, kernel]
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads, output_padding;
  bool bias = true;
};

// Naive ONNX ConvTranspose in int32 (two's complement), then Requantize per
// output channel, clamped to [lo, hi]. Spatial axes right-aligned into 3.
Tensor Reference(const Case& k, const Tensor& x, const Tensor& w, const Tensor* b,
                 const std::vector<int64_t>& mult, const std::vector<int64_t>& shift, int lo,
                 int hi, const Dims& y_shape) {
  const size_t sp = k.x.size() - 2;
  auto ax = [&](const Dims& d, size_t i) { return i < 3 - sp ? int64_t{1} : d[2 + i - (3 - sp)]; };
  auto at = [&](const std::vector<int64_t>& v, size_t i, int64_t def) {
    return i < 3 - sp || v.empty() ? def : v[i - (3 - sp)];
  };
  const int64_t n_ = k.x[0], c_ = k.x[1], mg = k.w[1], m_ = mg * k.group, cg = c_ / k.group;
  std::array<int64_t, 3> in, ker, s, d, pb, out;
  for (size_t i = 0; i < 3; ++i) {
    in[i] = ax(k.x, i);
    ker[i] = ax(k.w, i);
    out[i] = ax(y_shape, i);
    s[i] = at(k.strides, i, 1);
    d[i] = at(k.dilations, i, 1);
    pb[i] = at(k.pads, i, 0);
  }
  std::vector<int64_t> acc(static_cast<size_t>(NumElements(y_shape)), 0);
  for (int64_t n = 0; n < n_; ++n)
    for (int64_t c = 0; c < c_; ++c)
      for (int64_t j = 0; j < mg; ++j) {
        const int64_t m = (c / cg) * mg + j;
        for (int64_t i0 = 0; i0 < in[0]; ++i0)
          for (int64_t i1 = 0; i1 < in[1]; ++i1)
            for (int64_t i2 = 0; i2 < in[2]; ++i2) {
              const int64_t xv = x.data_as<int8_t>()[(((n * c_ + c) * in[0] + i0) * in[1] + i1) * in[2] + i2];
              for (int64_t t0 = 0; t0 < ker[0]; ++t0)
                for (int64_t t1 = 0; t1 < ker[1]; ++t1)
                  for (int64_t t2 = 0; t2 < ker[2]; ++t2) {
                    const int64_t o0 = i0 * s[0] - pb[0] + t0 * d[0];
                    const int64_t o1 = i1 * s[1] - pb[1] + t1 * d[1];
                    const int64_t o2 = i2 * s[2] - pb[2] + t2 * d[2];
                    if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1] || o2 < 0 || o2 >= out[2]) continue;
                    const int64_t wv = w.data_as<int8_t>()[(((c * mg + j) * ker[0] + t0) * ker[1] + t1) * ker[2] + t2];
                    acc[static_cast<size_t>((((n * m_ + m) * out[0] + o0) * out[1] + o1) * out[2] + o2)] += xv * wv;
                  }
            }
      }
  Tensor y(DataType::kInt8, y_shape);
  const int64_t plane = out[0] * out[1] * out[2];
  for (int64_t i = 0; i < y.num_elements(); ++i) {
    const int64_t m = (i / plane) % m_;
    const int64_t a = acc[static_cast<size_t>(i)] + (b ? b->data_as<int32_t>()[m] : 0);
    y.data_as<int8_t>()[i] = RequantizeToInt8(static_cast<int32_t>(a), static_cast<int32_t>(mult[m]),
                                              static_cast<int32_t>(shift[m]), lo, hi);
  }
  return y;
}

Attributes GeometryAttrs(const Case& k) {
  Attributes a;
  a.Set("group", k.group);
  if (!k.strides.empty()) a.Set("strides", k.strides);
  if (!k.dilations.empty()) a.Set("dilations", k.dilations);
  if (!k.pads.empty()) a.Set("pads", k.pads);
  if (!k.output_padding.empty()) a.Set("output_padding", k.output_padding);
  return a;
}

std::vector<Case> Cases() {
  return {
      {"2x2 stride 2 (upsampling)", {1, 8, 5, 6}, {8, 4, 2, 2}, 1, {2, 2}, {}, {}, {}, true},
      {"3x3 stride 2 pads output_padding (overlap)", {2, 6, 5, 4}, {6, 3, 3, 3}, 1, {2, 2}, {}, {1, 1, 1, 1}, {1, 1}, true},
      {"grouped dilated", {1, 8, 4, 5}, {8, 3, 3, 2}, 2, {1, 2}, {2, 1}, {0, 1, 1, 0}, {}, false},
      {"4x4 stride 2 pad 1 (overlap)", {1, 5, 7, 7}, {5, 7, 4, 4}, 1, {2, 2}, {}, {1, 1, 1, 1}, {}, true},
      {"1-D stride 3", {2, 4, 9}, {4, 5, 3}, 1, {3}, {}, {}, {}, true},
      {"3-D 2x2x2 stride 2", {1, 4, 3, 2, 3}, {4, 2, 2, 2, 2}, 1, {2, 2, 2}, {}, {}, {}, true},
      {"depthwise-like group = C", {1, 6, 5, 5}, {6, 1, 3, 3}, 6, {2, 2}, {}, {1, 1, 1, 1}, {1, 1}, true},
  };
}

TEST_CASE("Int8ConvTranspose is bit-exact to the reference integer arithmetic",
          "[kernels][int8][convtranspose]") {
  std::mt19937 rng(17);
  for (const Case& k : Cases()) {
    CAPTURE(k.name);
    const int64_t m = k.w[1] * k.group;
    Tensor x = RandomInt8(k.x, rng);
    Tensor w = RandomInt8(k.w, rng, -127, 127);
    Tensor b(DataType::kInt32, {m});
    std::uniform_int_distribution<int> bd(-20000, 20000);
    for (int64_t i = 0; i < m; ++i) b.data_as<int32_t>()[i] = bd(rng);
    Attributes a = GeometryAttrs(k);
    std::vector<int64_t> mult, shift;
    std::uniform_real_distribution<double> md(1.0 / 4096, 1.0 / 128);
    for (int64_t i = 0; i < m; ++i) {
      const QuantizedMultiplier q = QuantizeMultiplier(md(rng));
      mult.push_back(q.multiplier);
      shift.push_back(q.shift);
    }
    a.Set("multiplier", mult);
    a.Set("shift", shift);
    for (auto [lo, hi] : {std::pair{-128, 127}, std::pair{0, 127}, std::pair{-20, 35}}) {
      CAPTURE(lo, hi);
      a.Set("output_min", int64_t{lo});
      a.Set("output_max", int64_t{hi});
      std::vector<const Tensor*> in = {&x, &w};
      if (k.bias) in.push_back(&b);
      const std::vector<Tensor> y = RunWithThreads("Int8ConvTranspose", a, in, nullptr, 1, Inputs::kConstants);
      REQUIRE(y.size() == 1);
      REQUIRE(y[0].dtype() == DataType::kInt8);
      const Tensor ref = Reference(k, x, w, k.bias ? &b : nullptr, mult, shift, lo, hi, y[0].shape());
      // The float kernel's output shape for the same geometry.
      Tensor xf(DataType::kFloat32, k.x), wf(DataType::kFloat32, k.w);
      CHECK(Eval1("ConvTranspose", GeometryAttrs(k), {&xf, &wf}).shape() == y[0].shape());
      int64_t mismatches = 0;
      for (int64_t i = 0; i < ref.num_elements(); ++i) {
        mismatches += ref.data_as<int8_t>()[i] != y[0].data_as<int8_t>()[i];
      }
      CHECK(mismatches == 0);
      // Not all saturated: the comparison exercises the requantization.
      int64_t inside = 0;
      for (int64_t i = 0; i < ref.num_elements(); ++i) {
        const int v = ref.data_as<int8_t>()[i];
        inside += v > lo && v < hi;
      }
      CHECK(inside > ref.num_elements() / 4);
      CheckThreadInvariant("Int8ConvTranspose", a, in, Inputs::kConstants);
    }
  }
}

TEST_CASE("Int8ConvTranspose matches FP32 ConvTranspose on the dequantized operands",
          "[kernels][int8][convtranspose]") {
  std::mt19937 rng(5);
  for (const Case& k : Cases()) {
    CAPTURE(k.name);
    const int64_t m = k.w[1] * k.group;
    Tensor x = RandomInt8(k.x, rng);
    Tensor w = RandomInt8(k.w, rng, -127, 127);
    const float x_scale = 0.02f;
    std::vector<float> w_scale;
    std::uniform_real_distribution<float> sd(0.001f, 0.01f);
    for (int64_t i = 0; i < m; ++i) w_scale.push_back(sd(rng));
    // Dequantized float operands: x * x_scale, w * w_scale[output channel].
    Tensor xf(DataType::kFloat32, k.x), wf(DataType::kFloat32, k.w);
    for (int64_t i = 0; i < x.num_elements(); ++i) xf.data_as<float>()[i] = x.data_as<int8_t>()[i] * x_scale;
    const int64_t mg = k.w[1], cg = k.x[1] / k.group, kk = w.num_elements() / (k.w[0] * mg);
    for (int64_t i = 0; i < w.num_elements(); ++i) {
      const int64_t c = i / (mg * kk), j = (i / kk) % mg;
      wf.data_as<float>()[i] = w.data_as<int8_t>()[i] * w_scale[static_cast<size_t>((c / cg) * mg + j)];
    }
    const Tensor ref = Eval1("ConvTranspose", GeometryAttrs(k), {&xf, &wf});
    // Float-output form: acc * x_scale * w_scale[m].
    Attributes a = GeometryAttrs(k);
    std::vector<float> out_scale;
    for (float s : w_scale) out_scale.push_back(x_scale * s);
    a.Set("output_scale", out_scale);
    const Tensor yf = Eval1("Int8ConvTranspose", a, {&x, &w});
    REQUIRE(yf.dtype() == DataType::kFloat32);
    REQUIRE(yf.shape() == ref.shape());
    double max_rel = 0, amax = 0;
    for (int64_t i = 0; i < ref.num_elements(); ++i) amax = std::max(amax, std::fabs(double{ref.data_as<float>()[i]}));
    for (int64_t i = 0; i < ref.num_elements(); ++i) {
      max_rel = std::max(max_rel, std::fabs(double{yf.data_as<float>()[i]} - ref.data_as<float>()[i]) / amax);
    }
    CHECK(max_rel < 1e-5);
    // Requantized form at y_scale = amax / 127: within one step of
    // round(FP32 / y_scale).
    const double y_scale = amax / 127.0;
    Attributes q = GeometryAttrs(k);
    std::vector<int64_t> mult, shift;
    for (float s : w_scale) {
      const QuantizedMultiplier qm = QuantizeMultiplier(x_scale * static_cast<double>(s) / y_scale);
      mult.push_back(qm.multiplier);
      shift.push_back(qm.shift);
    }
    q.Set("multiplier", mult);
    q.Set("shift", shift);
    const Tensor yq = Eval1("Int8ConvTranspose", q, {&x, &w});
    int worst = 0;
    for (int64_t i = 0; i < ref.num_elements(); ++i) {
      const double want = std::clamp(std::round(ref.data_as<float>()[i] / y_scale), -128.0, 127.0);
      worst = std::max(worst, static_cast<int>(std::fabs(yq.data_as<int8_t>()[i] - want)));
    }
    CHECK(worst <= 1);
  }
}

TEST_CASE("Int8ConvTranspose rejects bad inputs and attributes", "[kernels][int8][convtranspose]") {
  std::mt19937 rng(3);
  Tensor x = RandomInt8({1, 4, 3, 3}, rng);
  Tensor w = RandomInt8({4, 2, 2, 2}, rng);
  Attributes a;
  a.Set("strides", std::vector<int64_t>{2, 2});
  a.Set("multiplier", std::vector<int64_t>{1 << 30, 1 << 30});
  a.Set("shift", std::vector<int64_t>{10, 10});
  REQUIRE(Eval("Int8ConvTranspose", a, {&x, &w}).ok());
  Attributes zp = a;
  zp.Set("x_zero_point", int64_t{3});
  CHECK(Eval("Int8ConvTranspose", zp, {&x, &w}).status().code() == absl::StatusCode::kUnimplemented);
  Attributes short_mult = a;
  short_mult.Set("multiplier", std::vector<int64_t>{1 << 30});
  CHECK(Eval("Int8ConvTranspose", short_mult, {&x, &w}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  Tensor xf(DataType::kFloat32, {1, 4, 3, 3});
  CHECK(Eval("Int8ConvTranspose", a, {&xf, &w}).status().code() == absl::StatusCode::kInvalidArgument);
  Tensor b8(DataType::kInt8, {2});
  CHECK(!Eval("Int8ConvTranspose", a, {&x, &w, &b8}).ok());
  Tensor b3(DataType::kInt32, {3});
  CHECK(!Eval("Int8ConvTranspose", a, {&x, &w, &b3}).ok());
  Tensor wbad = RandomInt8({3, 2, 2, 2}, rng);
  CHECK(!Eval("Int8ConvTranspose", a, {&x, &wbad}).ok());
}

// The accelerator's lowering of an overlapping-tap Int8ConvTranspose
// (ops/resample.cc): one stride-1 convolution per output phase with the taps
// of kernels::AxisPhases. A scalar evaluation of that decomposition must give
// every output element exactly once and the same int32 sum as the ONNX
// definition (scatter over inputs and taps), and the host kernel's
// requantized output must equal Requantize of that sum: host and modeled
// lowering compute the same integers.
TEST_CASE("Int8ConvTranspose phase decomposition gives the host kernel's sums",
          "[kernels][int8][convtranspose]") {
  struct Geo {
    std::string name;
    Dims x, w;
    Attributes a;
  };
  auto attrs = [](std::vector<int64_t> s, std::vector<int64_t> d, std::vector<int64_t> pads,
                  std::vector<int64_t> op, int64_t group, std::string auto_pad,
                  std::vector<int64_t> oshape) {
    Attributes a;
    a.Set("strides", s);
    if (!d.empty()) a.Set("dilations", d);
    if (!pads.empty()) a.Set("pads", pads);
    if (!op.empty()) a.Set("output_padding", op);
    a.Set("group", group);
    if (!auto_pad.empty()) a.Set("auto_pad", auto_pad);
    if (!oshape.empty()) a.Set("output_shape", oshape);
    return a;
  };
  const std::vector<Geo> geos = {
      {"k3 s2 pad 1 output_padding 1", {2, 6, 5, 4}, {6, 4, 3, 3}, attrs({2, 2}, {}, {1, 1, 1, 1}, {1, 1}, 1, "", {})},
      {"k4 s2 pad 1", {1, 5, 6, 7}, {5, 3, 4, 4}, attrs({2, 2}, {}, {1, 1, 1, 1}, {}, 1, "", {})},
      {"groups 2, k3 s2", {1, 8, 4, 5}, {8, 3, 3, 3}, attrs({2, 2}, {}, {1, 0, 0, 1}, {}, 2, "", {})},
      {"dilation 3 stride 2", {1, 4, 5, 5}, {4, 2, 3, 3}, attrs({2, 2}, {3, 3}, {2, 1, 1, 2}, {}, 1, "", {})},
      {"dilation 2 = stride 2", {1, 4, 5, 5}, {4, 2, 3, 2}, attrs({2, 2}, {2, 2}, {}, {}, 1, "", {})},
      {"fns-candy: VALID, output_shape 2I+2, k3 s2", {1, 4, 6, 5}, {4, 3, 3, 3}, attrs({2, 2}, {}, {}, {}, 1, "VALID", {14, 12})},
      {"SAME_UPPER k3 s2", {1, 3, 5, 4}, {3, 2, 3, 3}, attrs({2, 2}, {}, {}, {}, 1, "SAME_UPPER", {})},
      {"SAME_LOWER k5 s3", {1, 3, 4, 4}, {3, 2, 5, 5}, attrs({3, 3}, {}, {}, {}, 1, "SAME_LOWER", {})},
      {"kernel < stride (empty phases)", {1, 3, 4, 4}, {3, 2, 2, 2}, attrs({3, 3}, {}, {}, {}, 1, "", {})},
      {"1-D k5 s2 groups 3", {2, 6, 7}, {6, 2, 5}, attrs({2}, {}, {2, 1}, {1}, 3, "", {})},
      {"3-D k3 s2", {1, 2, 3, 4, 3}, {2, 2, 3, 3, 3}, attrs({2, 2, 2}, {}, {1, 1, 1, 1, 1, 1}, {}, 1, "", {})},
  };
  std::mt19937 rng(31);
  for (const Geo& gc : geos) {
    CAPTURE(gc.name);
    std::vector<TensorInfo> info(3);
    info[0].dtype = info[1].dtype = DataType::kInt8;
    info[2].dtype = DataType::kInt32;
    info[0].shape = gc.x;
    info[1].shape = gc.w;
    const int64_t m_total = gc.w[1] * gc.a.Int("group", 1);
    info[2].shape = {m_total};
    auto geo = ParseConvTransposeGeometry(gc.a, info, "Int8ConvTranspose");
    REQUIRE(geo.ok());
    const ConvTransposeGeometry& g = *geo;
    std::array<std::vector<TransposedConvAxisPhase>, 3> ph;
    for (int ax = 0; ax < 3; ++ax) {
      ph[ax] = AxisPhases(g, ax);
      REQUIRE(static_cast<int64_t>(ph[ax].size()) == g.s[ax]);
      int64_t outs = 0, taps = 0;
      for (const auto& p : ph[ax]) outs += p.outputs, taps += p.taps;
      CHECK(outs == g.out[ax]);
      CHECK(taps == g.k[ax]);
    }
    Tensor x = RandomInt8(gc.x, rng);
    Tensor w = RandomInt8(gc.w, rng, -127, 127);
    Tensor b(DataType::kInt32, {m_total});
    for (int64_t i = 0; i < m_total; ++i) b.data_as<int32_t>()[i] = static_cast<int32_t>(i * 97 - 300);
    const int64_t cg = g.c / g.group, mg = g.m / g.group, op = g.OutPlane(), ip = g.InPlane();
    auto xat = [&](int64_t n, int64_t c, int64_t i0, int64_t i1, int64_t i2) -> int64_t {
      return x.data_as<int8_t>()[(n * g.c + c) * ip + (i0 * g.in[1] + i1) * g.in[2] + i2];
    };
    auto wat = [&](int64_t c, int64_t j, int64_t t0, int64_t t1, int64_t t2) -> int64_t {
      return w.data_as<int8_t>()[(c * mg + j) * g.KernelSize() + (t0 * g.k[1] + t1) * g.k[2] + t2];
    };
    // ONNX definition: scatter every input through every tap.
    std::vector<int64_t> direct(static_cast<size_t>(g.n * g.m * op), 0);
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t c = 0; c < g.c; ++c)
        for (int64_t j = 0; j < mg; ++j)
          for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
            for (int64_t i1 = 0; i1 < g.in[1]; ++i1)
              for (int64_t i2 = 0; i2 < g.in[2]; ++i2)
                for (int64_t t0 = 0; t0 < g.k[0]; ++t0)
                  for (int64_t t1 = 0; t1 < g.k[1]; ++t1)
                    for (int64_t t2 = 0; t2 < g.k[2]; ++t2) {
                      const int64_t o0 = i0 * g.s[0] - g.pb[0] + t0 * g.d[0];
                      const int64_t o1 = i1 * g.s[1] - g.pb[1] + t1 * g.d[1];
                      const int64_t o2 = i2 * g.s[2] - g.pb[2] + t2 * g.d[2];
                      if (o0 < 0 || o0 >= g.out[0] || o1 < 0 || o1 >= g.out[1] || o2 < 0 ||
                          o2 >= g.out[2]) {
                        continue;
                      }
                      const int64_t m = (c / cg) * mg + j;
                      direct[static_cast<size_t>((n * g.m + m) * op + (o0 * g.out[1] + o1) * g.out[2] + o2)] +=
                          xat(n, c, i0, i1, i2) * wat(c, j, t0, t1, t2);
                    }
    // Phase decomposition: gather per output of each phase over its taps.
    std::vector<int64_t> phased(direct.size(), 0);
    std::vector<int> visits(direct.size(), 0);
    for (const auto& p0 : ph[0])
      for (const auto& p1 : ph[1])
        for (const auto& p2 : ph[2])
          for (int64_t n = 0; n < g.n; ++n)
            for (int64_t m = 0; m < g.m; ++m)
              for (int64_t q0 = 0; q0 < p0.outputs; ++q0)
                for (int64_t q1 = 0; q1 < p1.outputs; ++q1)
                  for (int64_t q2 = 0; q2 < p2.outputs; ++q2) {
                    const int64_t o0 = p0.phase + q0 * g.s[0], o1 = p1.phase + q1 * g.s[1],
                                  o2 = p2.phase + q2 * g.s[2];
                    const size_t at = static_cast<size_t>((n * g.m + m) * op + (o0 * g.out[1] + o1) * g.out[2] + o2);
                    ++visits[at];
                    int64_t sum = 0;
                    const int64_t gi = m / mg, j = m % mg;
                    for (int64_t u0 = 0; u0 < p0.taps; ++u0)
                      for (int64_t u1 = 0; u1 < p1.taps; ++u1)
                        for (int64_t u2 = 0; u2 < p2.taps; ++u2) {
                          const int64_t i0 = q0 + p0.first_input - u0 * p0.input_dilation;
                          const int64_t i1 = q1 + p1.first_input - u1 * p1.input_dilation;
                          const int64_t i2 = q2 + p2.first_input - u2 * p2.input_dilation;
                          if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2]) {
                            continue;  // the phase convolution's padding
                          }
                          const int64_t t0 = p0.first_tap + u0 * p0.tap_step;
                          const int64_t t1 = p1.first_tap + u1 * p1.tap_step;
                          const int64_t t2 = p2.first_tap + u2 * p2.tap_step;
                          for (int64_t c = gi * cg; c < (gi + 1) * cg; ++c) {
                            sum += xat(n, c, i0, i1, i2) * wat(c, j, t0, t1, t2);
                          }
                        }
                    phased[at] = sum;
                  }
    CHECK(std::count(visits.begin(), visits.end(), 1) == static_cast<int64_t>(visits.size()));
    CHECK(phased == direct);
    // The host kernel: Requantize(direct + B) per output element, bit-exact.
    std::vector<int64_t> mult, shift;
    for (int64_t i = 0; i < m_total; ++i) {
      const QuantizedMultiplier q = QuantizeMultiplier(1.0 / (600.0 + 40.0 * i));
      mult.push_back(q.multiplier);
      shift.push_back(q.shift);
    }
    Attributes a = gc.a;
    a.Set("multiplier", mult);
    a.Set("shift", shift);
    const std::vector<Tensor> y =
        RunWithThreads("Int8ConvTranspose", a, {&x, &w, &b}, nullptr, 2, Inputs::kConstants);
    REQUIRE(y.size() == 1);
    REQUIRE(y[0].num_elements() == static_cast<int64_t>(direct.size()));
    int64_t mismatches = 0, inside = 0;
    for (size_t i = 0; i < direct.size(); ++i) {
      const int64_t m = (static_cast<int64_t>(i) / op) % g.m;
      const int8_t want = RequantizeToInt8(static_cast<int32_t>(phased[i] + b.data_as<int32_t>()[m]),
                                           static_cast<int32_t>(mult[m]), static_cast<int32_t>(shift[m]),
                                           -128, 127);
      mismatches += y[0].data_as<int8_t>()[i] != want;
      inside += want > -128 && want < 127;
    }
    CHECK(mismatches == 0);
    CHECK(inside > static_cast<int64_t>(direct.size()) / 2);
  }
}

TEST_CASE("ConvTranspose geometry reports overlapping taps", "[kernels][convtranspose]") {
  auto overlap = [](Dims x, Dims w, std::vector<int64_t> strides, std::vector<int64_t> dil) {
    Attributes a;
    a.Set("strides", strides);
    if (!dil.empty()) a.Set("dilations", dil);
    std::vector<TensorInfo> in(2);
    in[0].dtype = in[1].dtype = DataType::kInt8;
    in[0].shape = std::move(x);
    in[1].shape = std::move(w);
    auto g = ParseConvTransposeGeometry(a, in, "ConvTranspose");
    REQUIRE(g.ok());
    return g->TapsOverlap();
  };
  CHECK_FALSE(overlap({1, 2, 5, 5}, {2, 2, 2, 2}, {2, 2}, {}));  // kernel == stride
  CHECK_FALSE(overlap({1, 2, 5, 5}, {2, 2, 1, 1}, {1, 1}, {}));  // 1x1
  CHECK_FALSE(overlap({1, 2, 5, 5}, {2, 2, 2, 3}, {3, 3}, {}));  // kernel < stride (gaps)
  CHECK(overlap({1, 2, 5, 5}, {2, 2, 3, 3}, {2, 2}, {}));        // kernel > stride
  CHECK(overlap({1, 2, 5, 5}, {2, 2, 3, 1}, {1, 1}, {}));        // stride 1
  CHECK_FALSE(overlap({1, 2, 1, 5}, {2, 2, 3, 2}, {1, 2}, {}));  // one input row: no partner
  CHECK(overlap({1, 2, 5, 5}, {2, 2, 2, 2}, {2, 2}, {2, 2}));    // dilation 2 = stride: taps meet
  CHECK_FALSE(overlap({1, 2, 5, 5}, {2, 2, 2, 2}, {4, 4}, {3, 3}));  // 3 not a multiple of 4
}

}  // namespace
}  // namespace engine::kernels
