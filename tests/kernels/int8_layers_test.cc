// Int8Conv and Int8Gemm against a naive reference of the accelerator's
// integer arithmetic (src/common/requant.h): every output bit-identical, for
// pointwise, im2col (padded, strided, dilated, grouped) and depthwise paths,
// with bias, residual and output clamps, and for every thread count.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "ops/op_registry.h"
#include "common/requant.h"
#include "kernels/kernel.h"
#include "kernels/thread_pool.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernel_util.h"
#include "kernels/quantize.h"

namespace engine::kernels {
namespace {

Tensor RandomInt8(const Dims& shape, std::mt19937& rng, int lo = -128, int hi = 127) {
  Tensor t(DataType::kInt8, shape);
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<int8_t>()[i] = static_cast<int8_t>(d(rng));
  return t;
}

Tensor RandomInt32(const Dims& shape, std::mt19937& rng, int lo, int hi) {
  Tensor t(DataType::kInt32, shape);
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<int32_t>()[i] = d(rng);
  return t;
}

struct ConvCase {
  int64_t n = 1, c = 8, h = 9, w = 7, m = 6, kh = 3, kw = 3, group = 1;
  int64_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1, pad = 1;
  bool bias = true, residual = false;
  int64_t lo = -128, hi = 127;
};

// Requantization attributes for `m` channels with realistic multipliers
// (x_scale * w_scale / y_scale between 2^-12 and 2^-6).
void SetRequantAttrs(Attributes& attrs, int64_t m, std::mt19937& rng, bool residual, int64_t lo,
                     int64_t hi) {
  std::uniform_real_distribution<double> d(1.0 / 4096, 1.0 / 64);
  std::vector<int64_t> mult, shift;
  for (int64_t i = 0; i < m; ++i) {
    const QuantizedMultiplier q = QuantizeMultiplier(d(rng));
    mult.push_back(q.multiplier);
    shift.push_back(q.shift);
  }
  attrs.Set("multiplier", mult);
  attrs.Set("shift", shift);
  if (residual) {
    const QuantizedMultiplier q = QuantizeMultiplier(0.7);
    attrs.Set("residual_multiplier", int64_t{q.multiplier});
    attrs.Set("residual_shift", int64_t{q.shift});
  }
  attrs.Set("output_min", lo);
  attrs.Set("output_max", hi);
}

// The accelerator's definition, one output at a time.
Tensor ReferenceConv(const ConvCase& k, const Attributes& attrs, const Tensor& x, const Tensor& w,
                     const Tensor* b, const Tensor* r) {
  const int64_t oh = (k.h + 2 * k.pad - ((k.kh - 1) * k.dil_h + 1)) / k.stride_h + 1;
  const int64_t ow = (k.w + 2 * k.pad - ((k.kw - 1) * k.dil_w + 1)) / k.stride_w + 1;
  Tensor y(DataType::kInt8, {k.n, k.m, oh, ow});
  const auto mult = attrs.Ints("multiplier");
  const auto shift = attrs.Ints("shift");
  const int64_t cg = k.c / k.group, mg = k.m / k.group;
  for (int64_t n = 0; n < k.n; ++n) {
    for (int64_t m = 0; m < k.m; ++m) {
      const int64_t g = m / mg;
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          int32_t acc = b ? b->data_as<int32_t>()[m] : 0;
          for (int64_t c = 0; c < cg; ++c) {
            for (int64_t u = 0; u < k.kh; ++u) {
              for (int64_t v = 0; v < k.kw; ++v) {
                const int64_t yy = i * k.stride_h + u * k.dil_h - k.pad;
                const int64_t xx = j * k.stride_w + v * k.dil_w - k.pad;
                if (yy < 0 || yy >= k.h || xx < 0 || xx >= k.w) continue;
                const int32_t xv =
                    x.data_as<int8_t>()[((n * k.c + g * cg + c) * k.h + yy) * k.w + xx];
                const int32_t wv = w.data_as<int8_t>()[((m * cg + c) * k.kh + u) * k.kw + v];
                acc += xv * wv;
              }
            }
          }
          const int64_t idx = ((n * k.m + m) * oh + i) * ow + j;
          int64_t v = Requantize(acc, static_cast<int32_t>(mult[m]), static_cast<int32_t>(shift[m]));
          if (r) {
            v += Requantize(r->data_as<int8_t>()[idx],
                            static_cast<int32_t>(attrs.Int("residual_multiplier", 0)),
                            static_cast<int32_t>(attrs.Int("residual_shift", 1)));
          }
          y.data_as<int8_t>()[idx] = static_cast<int8_t>(std::clamp<int64_t>(v, k.lo, k.hi));
        }
      }
    }
  }
  return y;
}

// Runs a prepared kernel with `threads` threads of `pool` (nullptr: serial).
Tensor RunInt8(const std::string& type, const Attributes& attrs,
               const std::vector<const Tensor*>& inputs, exec::ThreadPool* pool, int threads) {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel(type);
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> in_info;
  for (const Tensor* t : inputs) {
    TensorInfo info;
    info.present = t != nullptr;
    if (t) {
      info.dtype = t->dtype();
      info.shape = t->shape();
      info.constant = t;
    }
    in_info.push_back(info);
  }
  auto out_info = def->infer(attrs, in_info);
  INFO(out_info.status().ToString());
  REQUIRE(out_info.ok());
  auto kernel = def->create();
  absl::Status prepared = kernel->Prepare(attrs, in_info, *out_info);
  INFO(prepared.ToString());
  REQUIRE(prepared.ok());
  Tensor y((*out_info)[0].dtype, (*out_info)[0].shape);
  std::vector<const void*> in_ptrs;
  for (const Tensor* t : inputs) in_ptrs.push_back(t ? t->data() : nullptr);
  std::vector<void*> out_ptrs = {y.data()};
  Tensor scratch(DataType::kUint8, {static_cast<int64_t>(kernel->ScratchBytes(threads)) + 64});
  RunContext ctx;
  ctx.scratch = static_cast<std::byte*>(scratch.data());
  ctx.scratch_bytes = kernel->ScratchBytes(threads);
  ctx.pool = pool;
  ctx.threads = threads;
  kernel->Run(ctx, in_ptrs, out_ptrs);
  return y;
}

void CheckConv(const ConvCase& k, uint32_t seed) {
  std::mt19937 rng(seed);
  Tensor x = RandomInt8({k.n, k.c, k.h, k.w}, rng);
  Tensor w = RandomInt8({k.m, k.c / k.group, k.kh, k.kw}, rng, -127, 127);
  Tensor b = RandomInt32({k.m}, rng, -20000, 20000);
  const int64_t oh = (k.h + 2 * k.pad - ((k.kh - 1) * k.dil_h + 1)) / k.stride_h + 1;
  const int64_t ow = (k.w + 2 * k.pad - ((k.kw - 1) * k.dil_w + 1)) / k.stride_w + 1;
  Tensor r = RandomInt8({k.n, k.m, oh, ow}, rng);
  Attributes attrs;
  attrs.Set("group", k.group);
  attrs.Set("strides", std::vector<int64_t>{k.stride_h, k.stride_w});
  attrs.Set("dilations", std::vector<int64_t>{k.dil_h, k.dil_w});
  attrs.Set("pads", std::vector<int64_t>{k.pad, k.pad, k.pad, k.pad});
  SetRequantAttrs(attrs, k.m, rng, k.residual, k.lo, k.hi);
  std::vector<const Tensor*> inputs = {&x, &w, k.bias ? &b : nullptr};
  if (k.residual) inputs.push_back(&r);
  const Tensor expected = ReferenceConv(k, attrs, x, w, k.bias ? &b : nullptr, k.residual ? &r : nullptr);
  static exec::ThreadPool pool(3);
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    const Tensor got = RunInt8("Int8Conv", attrs, inputs, threads > 1 ? &pool : nullptr, threads);
    REQUIRE(got.shape() == expected.shape());
    int64_t mismatches = 0;
    for (int64_t i = 0; i < got.num_elements(); ++i) {
      mismatches += got.data_as<int8_t>()[i] != expected.data_as<int8_t>()[i];
    }
    CHECK(mismatches == 0);
  }
  // The test must exercise the requantization, not a saturated output.
  int64_t inside = 0;
  for (int64_t i = 0; i < expected.num_elements(); ++i) {
    const int8_t v = expected.data_as<int8_t>()[i];
    inside += v > k.lo && v < k.hi;
  }
  CHECK(inside > expected.num_elements() / 8);
}

TEST_CASE("Int8Conv is bit-exact to the reference integer arithmetic", "[kernels][int8]") {
  SECTION("3x3 padded, bias") { CheckConv(ConvCase{}, 1); }
  SECTION("1x1 pointwise (no im2col), several images") {
    ConvCase k;
    k.n = 2; k.kh = k.kw = 1; k.pad = 0; k.c = 70; k.m = 33; k.h = 13; k.w = 11;
    CheckConv(k, 2);
  }
  SECTION("large plane: several im2col tiles, strided, dilated, relu clamp") {
    ConvCase k;
    k.c = 16; k.h = 45; k.w = 40; k.m = 24; k.stride_h = 2; k.dil_w = 2; k.pad = 2; k.lo = 0;
    CheckConv(k, 3);
  }
  SECTION("grouped, residual, clip clamp") {
    ConvCase k;
    k.c = 12; k.m = 18; k.group = 3; k.residual = true; k.lo = -20; k.hi = 90;
    CheckConv(k, 4);
  }
  SECTION("depthwise 3x3 stride 2 with residual, no bias") {
    ConvCase k;
    k.c = 16; k.m = 16; k.group = 16; k.h = 15; k.w = 14; k.stride_h = k.stride_w = 2;
    k.bias = false; k.residual = true;
    CheckConv(k, 5);
  }
  SECTION("depthwise on random geometries: rows shorter and longer than a vector step") {
    // Widths from 5 to 75 columns (the widening and requantization steps
    // take 16 or 32 elements), strides 1 to 3, 3x3 and 5x5 kernels,
    // dilation, a depth multiplier of 2, residual and clamps.
    std::mt19937 rng(31);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int iter = 0; iter < 24; ++iter) {
      ConvCase k;
      k.c = k.group = pick(1, 6);
      k.m = k.c * pick(1, 2);
      k.kh = k.kw = pick(0, 2) == 0 ? 5 : 3;
      k.stride_h = pick(1, 3);
      k.stride_w = pick(1, 3);
      k.dil_h = pick(1, 2);
      k.dil_w = pick(0, 3) == 0 ? 2 : 1;
      k.pad = pick(0, 2);
      k.h = pick(9, 20);
      k.w = pick(9, 75);
      k.bias = pick(0, 1) == 1;
      k.residual = pick(0, 1) == 1;
      if (pick(0, 1) == 1) k.lo = 0;
      INFO("iteration " << iter << ": c " << k.c << " m " << k.m << " k " << k.kh << " s "
                        << k.stride_h << "x" << k.stride_w << " d " << k.dil_h << "x" << k.dil_w
                        << " pad " << k.pad << " x " << k.h << "x" << k.w);
      CheckConv(k, 100 + iter);
    }
  }
  SECTION("few output positions: rows split over threads") {
    ConvCase k;
    k.c = 64; k.m = 256; k.h = 4; k.w = 4;
    CheckConv(k, 6);
  }
}

TEST_CASE("Int8Gemm is bit-exact to the reference integer arithmetic", "[kernels][int8]") {
  std::mt19937 rng(7);
  for (int64_t rows : {1, 3}) {
    CAPTURE(rows);
    const int64_t k = 300, n = 150;
    Tensor x = RandomInt8({rows, k}, rng);
    Tensor w = RandomInt8({n, k}, rng, -127, 127);
    Tensor b = RandomInt32({n}, rng, -30000, 30000);
    Attributes attrs;
    SetRequantAttrs(attrs, n, rng, false, -128, 127);
    Tensor expected(DataType::kInt8, {rows, n});
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < n; ++c) {
        int32_t acc = b.data_as<int32_t>()[c];
        for (int64_t i = 0; i < k; ++i) {
          acc += int32_t{x.data_as<int8_t>()[r * k + i]} * w.data_as<int8_t>()[c * k + i];
        }
        expected.data_as<int8_t>()[r * n + c] = RequantizeToInt8(
            acc, static_cast<int32_t>(attrs.Ints("multiplier")[c]),
            static_cast<int32_t>(attrs.Ints("shift")[c]), -128, 127);
      }
    }
    static exec::ThreadPool pool(3);
    for (int threads : {1, 3}) {
      const Tensor got = RunInt8("Int8Gemm", attrs, {&x, &w, &b}, threads > 1 ? &pool : nullptr, threads);
      REQUIRE(got.shape() == expected.shape());
      CHECK(std::memcmp(got.data(), expected.data(), got.byte_size()) == 0);
    }
  }
}

TEST_CASE("Int8Gemm with a fused residual is bit-exact to the stated epilogue",
          "[kernels][int8]") {
  // q_y = clamp(Requantize(B + X W^T, M[n], s[n]) + Requantize(R, M_r, s_r), lo, hi);
  // float output: float(acc) * out_scale[n] + float(R) * residual_scale.
  std::mt19937 rng(71);
  const int64_t rows = 5, k = 96, n = 40;
  Tensor x = RandomInt8({1, rows, k}, rng);
  Tensor w = RandomInt8({n, k}, rng, -127, 127);
  Tensor b = RandomInt32({n}, rng, -3000, 3000);
  Tensor r = RandomInt8({1, rows, n}, rng);
  static exec::ThreadPool pool(3);
  for (bool relu : {false, true}) {
    CAPTURE(relu);
    Attributes attrs;
    SetRequantAttrs(attrs, n, rng, true, relu ? 0 : -128, 127);
    const int32_t rm = static_cast<int32_t>(attrs.Int("residual_multiplier", 0));
    const int32_t rs = static_cast<int32_t>(attrs.Int("residual_shift", 1));
    Tensor expected(DataType::kInt8, {1, rows, n});
    int64_t inside = 0;
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t c = 0; c < n; ++c) {
        int32_t acc = b.data_as<int32_t>()[c];
        for (int64_t j = 0; j < k; ++j) {
          acc += int32_t{x.data_as<int8_t>()[i * k + j]} * w.data_as<int8_t>()[c * k + j];
        }
        const int64_t v = Requantize(acc, static_cast<int32_t>(attrs.Ints("multiplier")[c]),
                                     static_cast<int32_t>(attrs.Ints("shift")[c])) +
                          Requantize(r.data_as<int8_t>()[i * n + c], rm, rs);
        const int8_t q = static_cast<int8_t>(std::clamp<int64_t>(v, relu ? 0 : -128, 127));
        inside += q > -128 && q < 127 && q != 0;
        expected.data_as<int8_t>()[i * n + c] = q;
      }
    }
    CHECK(inside > rows * n / 8);  // not saturated (the Relu zeroes about half)
    for (int threads : {1, 3}) {
      const Tensor got =
          RunInt8("Int8Gemm", attrs, {&x, &w, &b, &r}, threads > 1 ? &pool : nullptr, threads);
      REQUIRE(got.shape() == expected.shape());
      CHECK(std::memcmp(got.data(), expected.data(), got.byte_size()) == 0);
    }
  }
  // Float output with the residual (within 1 ulp).
  Attributes f;
  std::vector<float> out_scale(static_cast<size_t>(n));
  for (int64_t c = 0; c < n; ++c) out_scale[c] = 0.001f * static_cast<float>(c + 1);
  f.Set("output_scale", out_scale);
  f.Set("residual_scale", 0.05f);
  const Tensor got = RunInt8("Int8Gemm", f, {&x, &w, &b, &r}, nullptr, 1);
  REQUIRE(got.dtype() == DataType::kFloat32);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t c = 0; c < n; ++c) {
      int32_t acc = b.data_as<int32_t>()[c];
      for (int64_t j = 0; j < k; ++j) {
        acc += int32_t{x.data_as<int8_t>()[i * k + j]} * w.data_as<int8_t>()[c * k + j];
      }
      const float want = static_cast<float>(acc) * out_scale[c] +
                         static_cast<float>(r.data_as<int8_t>()[i * n + c]) * 0.05f;
      // float32 arithmetic (the compiler may fuse the multiply-add: 1 ulp).
      CHECK(std::fabs(got.data_as<float>()[i * n + c] - want) <= 1e-6f * std::fabs(want) + 1e-6f);
    }
  }
  // A residual of the wrong shape or without its requantization attributes.
  Tensor r_bad = RandomInt8({1, rows, n + 1}, rng);
  Attributes attrs;
  SetRequantAttrs(attrs, n, rng, true, -128, 127);
  auto st = testing::Eval("Int8Gemm", attrs, {&x, &w, &b, &r_bad}).status();
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  Attributes no_res;
  SetRequantAttrs(no_res, n, rng, false, -128, 127);
  CHECK(testing::Eval("Int8Gemm", no_res, {&x, &w, &b, &r}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Int8 layers reject bad requantization attributes and dtypes", "[kernels][int8]") {
  std::mt19937 rng(9);
  Tensor x = RandomInt8({1, 4, 5, 5}, rng);
  Tensor w = RandomInt8({2, 4, 3, 3}, rng);
  Attributes attrs;
  attrs.Set("multiplier", std::vector<int64_t>{1 << 30});  // one value for two channels
  attrs.Set("shift", std::vector<int64_t>{40});
  auto out = testing::Eval("Int8Conv", attrs, {&x, &w});
  REQUIRE(!out.ok());
  CHECK(out.status().message().find("one value per output channel") != std::string::npos);
  attrs.Set("multiplier", std::vector<int64_t>{1 << 30, 1 << 30});
  attrs.Set("shift", std::vector<int64_t>{40, 0});
  out = testing::Eval("Int8Conv", attrs, {&x, &w});
  REQUIRE(!out.ok());
  CHECK(out.status().message().find("shift in [1, 62]") != std::string::npos);
  Tensor xf(DataType::kFloat32, {1, 4, 5, 5});
  attrs.Set("shift", std::vector<int64_t>{40, 40});
  out = testing::Eval("Int8Conv", attrs, {&xf, &w});
  REQUIRE(!out.ok());
  CHECK(out.status().message().find("X must be int8") != std::string::npos);
}

TEST_CASE("Int8Conv with a float output applies an activation without integer form in float32",
          "[kernels][int8]") {
  // Conv + Swish (SiLU) in an INT8 engine: int8 operands, int32 accumulation,
  // dequantized accumulators, then Swish in float32, exactly as
  // Int8Conv(float output) followed by a Swish layer.
  std::mt19937 rng(5);
  const int64_t c = 8, m = 6, h = 5, w = 4;
  Tensor x = RandomInt8({1, c, h, w}, rng);
  Tensor wt = RandomInt8({m, c, 3, 3}, rng, -127, 127);
  std::vector<float> scale(static_cast<size_t>(m), 2e-3f);
  Attributes plain;
  plain.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  plain.Set("output_scale", scale);
  static exec::ThreadPool pool(2);
  const Tensor dequantized = RunInt8("Int8Conv", plain, {&x, &wt}, &pool, 2);
  for (const char* act : {"Swish", "Sigmoid", "HardSwish"}) {
    INFO(act);
    Attributes fused = plain;
    fused.Set("activation", std::string(act));
    const Tensor got = RunInt8("Int8Conv", fused, {&x, &wt}, &pool, 2);
    REQUIRE(got.dtype() == DataType::kFloat32);
    auto parsed = ActivationFromType(act);
    REQUIRE(parsed.ok());
    std::vector<float> expect(dequantized.data_as<float>(),
                              dequantized.data_as<float>() + dequantized.num_elements());
    ApplyActivation(*parsed, expect.data(), expect.data(), static_cast<int64_t>(expect.size()));
    for (size_t i = 0; i < expect.size(); ++i) REQUIRE(got.data_as<float>()[i] == expect[i]);
  }
  // Int8 output through the float epilogue: the float result quantized to
  // y_scale as QuantizeLinear (round half to even, saturate), then clamped.
  for (const char* act : {"Swish", "Sigmoid"}) {
    INFO(act << " with an int8 output");
    Attributes epi;
    epi.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    epi.Set("epilogue_scale", scale);
    epi.Set("y_scale", 0.01f);
    epi.Set("output_min", int64_t{-100});
    epi.Set("activation", std::string(act));
    const Tensor got = RunInt8("Int8Conv", epi, {&x, &wt}, &pool, 2);
    REQUIRE(got.dtype() == DataType::kInt8);
    auto parsed = ActivationFromType(act);
    REQUIRE(parsed.ok());
    std::vector<float> f(dequantized.data_as<float>(),
                         dequantized.data_as<float>() + dequantized.num_elements());
    ApplyActivation(*parsed, f.data(), f.data(), static_cast<int64_t>(f.size()));
    std::vector<int8_t> expect(f.size());
    QuantizeInt8(f.data(), static_cast<int64_t>(f.size()), 0.01f, 0, expect.data());
    int64_t distinct = 0;
    for (size_t i = 0; i < f.size(); ++i) {
      const int8_t e = std::max<int8_t>(expect[i], -100);
      REQUIRE(got.data_as<int8_t>()[i] == e);
      distinct += e != 0;
    }
    CHECK(distinct > static_cast<int64_t>(f.size()) / 4);
  }
  // Int8Gemm too.
  Tensor xg = RandomInt8({3, 16}, rng);
  Tensor wg = RandomInt8({5, 16}, rng, -127, 127);
  Attributes g;
  g.Set("output_scale", std::vector<float>(5, 0.01f));
  const Tensor yg = RunInt8("Int8Gemm", g, {&xg, &wg}, nullptr, 1);
  g.Set("activation", std::string("Swish"));
  const Tensor sg = RunInt8("Int8Gemm", g, {&xg, &wg}, nullptr, 1);
  std::vector<float> expect(yg.data_as<float>(), yg.data_as<float>() + yg.num_elements());
  SwishArray(expect.data(), expect.data(), static_cast<int64_t>(expect.size()), 1.0f);
  for (size_t i = 0; i < expect.size(); ++i) CHECK(sg.data_as<float>()[i] == expect[i]);
}

}  // namespace
}  // namespace engine::kernels

namespace engine::kernels {
namespace {

TEST_CASE("Int8Conv and Int8Gemm with output_scale dequantize in the epilogue", "[kernels][int8]") {
  std::mt19937 rng(21);
  const int64_t c = 24, m = 20, h = 6, w = 5;
  Tensor x = RandomInt8({1, c, h, w}, rng);
  Tensor wt = RandomInt8({m, c, 3, 3}, rng, -127, 127);
  Tensor b = RandomInt32({m}, rng, -5000, 5000);
  Tensor r = RandomInt8({1, m, h, w}, rng);
  std::vector<float> scale;
  for (int64_t i = 0; i < m; ++i) scale.push_back(1e-4f * static_cast<float>(i + 1));
  Attributes attrs;
  attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  attrs.Set("output_scale", scale);
  attrs.Set("residual_scale", 0.03f);
  attrs.Set("output_min_float", 0.0f);  // a fused Relu
  static exec::ThreadPool pool(2);
  const Tensor got = RunInt8("Int8Conv", attrs, {&x, &wt, &b, &r}, &pool, 3);
  REQUIRE(got.dtype() == DataType::kFloat32);
  int64_t positive = 0;
  for (int64_t o = 0; o < m; ++o) {
    for (int64_t i = 0; i < h; ++i) {
      for (int64_t j = 0; j < w; ++j) {
        int32_t acc = b.data_as<int32_t>()[o];
        for (int64_t ci = 0; ci < c; ++ci) {
          for (int64_t u = 0; u < 3; ++u) {
            for (int64_t v = 0; v < 3; ++v) {
              const int64_t yy = i + u - 1, xx = j + v - 1;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              acc += int32_t{x.data_as<int8_t>()[(ci * h + yy) * w + xx]} *
                     wt.data_as<int8_t>()[((o * c + ci) * 3 + u) * 3 + v];
            }
          }
        }
        const int64_t idx = (o * h + i) * w + j;
        float expect = static_cast<float>(acc) * scale[o] +
                       static_cast<float>(r.data_as<int8_t>()[idx]) * 0.03f;
        expect = std::max(expect, 0.0f);
        REQUIRE(got.data_as<float>()[idx] == expect);  // the same float32 operations
        positive += expect > 0;
      }
    }
  }
  CHECK(positive > m * h * w / 4);

  Tensor xg = RandomInt8({2, 40}, rng);
  Tensor wg = RandomInt8({7, 40}, rng, -127, 127);
  Attributes g;
  g.Set("output_scale", std::vector<float>(7, 0.01f));
  const Tensor y = RunInt8("Int8Gemm", g, {&xg, &wg}, nullptr, 1);
  REQUIRE(y.dtype() == DataType::kFloat32);
  for (int64_t row = 0; row < 2; ++row) {
    for (int64_t n = 0; n < 7; ++n) {
      int32_t acc = 0;
      for (int64_t k = 0; k < 40; ++k) {
        acc += int32_t{xg.data_as<int8_t>()[row * 40 + k]} * wg.data_as<int8_t>()[n * 40 + k];
      }
      CHECK(y.data_as<float>()[row * 7 + n] == static_cast<float>(acc) * 0.01f);
    }
  }
}

}  // namespace
}  // namespace engine::kernels
