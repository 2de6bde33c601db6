// Int8Attention (kernels/attention.cc) against an independent scalar
// transcription of the accelerator arithmetic common/int8_softmax.h and
// common/requant.h define (bit-exact, int8 and float outputs, rank-4 and
// packed layouts, masks, any thread count), against the float Attention
// layer on the dequantized operands (the quantization error stays within a
// stated cosine / SQNR bound), and its errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "absl/strings/match.h"
#include "kernels/defs.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernel_util.h"
#include "kernels/thread_pool.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::kernels::testing::RunDefWithThreads;
using engine::testing::RandomTensor;

Tensor RandomInt8(const Dims& shape, std::mt19937& rng, int lo = -128, int hi = 127) {
  Tensor t(DataType::kInt8, shape);
  std::uniform_int_distribution<int> dist(lo, hi);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<int8_t>()[i] = static_cast<int8_t>(dist(rng));
  return t;
}

// The reference: rank-4 Q [B,H,S,D], K [B,H,T,D], V [B,H,T,Dv] int8, mask
// [B|1, H|1, S|1, T] float or nullptr; int8 or float output with
// output_factor f. Written from the formulas of common/int8_softmax.h,
// element by element, without the kernel's helpers.
Tensor Reference(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask,
                 float score_scale, float f, bool int8_out) {
  const Dims& qs = q.shape();
  const int64_t b = qs[0], h = qs[1], s = qs[2], d = qs[3], t = k.shape()[2], dv = v.shape()[3];
  Tensor y(int8_out ? DataType::kInt8 : DataType::kFloat32, {b, h, s, dv});
  const int8_t* qd = q.data_as<int8_t>();
  const int8_t* kd = k.data_as<int8_t>();
  const int8_t* vd = v.data_as<int8_t>();
  for (int64_t bi = 0; bi < b; ++bi) {
    for (int64_t hi = 0; hi < h; ++hi) {
      const int64_t bh = bi * h + hi;
      for (int64_t i = 0; i < s; ++i) {
        std::vector<float> x(static_cast<size_t>(t));
        for (int64_t j = 0; j < t; ++j) {
          int64_t acc = 0;
          for (int64_t e = 0; e < d; ++e) {
            acc += int64_t{qd[(bh * s + i) * d + e]} * kd[(bh * t + j) * d + e];
          }
          x[j] = static_cast<float>(acc) * score_scale;
          if (mask != nullptr) {
            const Dims& ms = mask->shape();
            const int64_t mi = (((ms[0] == 1 ? 0 : bi) * ms[1] + (ms[1] == 1 ? 0 : hi)) * ms[2] +
                                (ms[2] == 1 ? 0 : i)) * ms[3] + j;
            x[j] = x[j] + mask->data_as<float>()[mi];
          }
        }
        float mx = x[0];
        for (float xv : x) mx = std::max(mx, xv);
        float sum = 0.0f;
        for (float& xv : x) {
          xv = std::exp(xv - mx);
          sum += xv;
        }
        std::vector<int64_t> p(static_cast<size_t>(t));
        for (int64_t j = 0; j < t; ++j) {
          const float pv = std::nearbyint(x[j] * 127.0f);
          p[j] = pv <= 0.0f ? 0 : pv >= 127.0f ? 127 : static_cast<int64_t>(pv);
        }
        const float g = f / sum;
        for (int64_t c = 0; c < dv; ++c) {
          int64_t acc = 0;
          for (int64_t j = 0; j < t; ++j) acc += p[j] * vd[(bh * t + j) * dv + c];
          const int64_t yi = (bh * s + i) * dv + c;
          const float yv = static_cast<float>(acc) * g;
          if (int8_out) {
            y.data_as<int8_t>()[yi] =
                static_cast<int8_t>(std::clamp(std::nearbyint(yv), -128.0f, 127.0f));
          } else {
            y.data_as<float>()[yi] = yv;
          }
        }
      }
    }
  }
  return y;
}

// [B, H, seq, head] -> packed [B, seq, H * head], any 1- or 4-byte dtype.
Tensor Pack(const Tensor& x) {
  const Dims& d = x.shape();
  Tensor out(x.dtype(), {d[0], d[2], d[1] * d[3]});
  const size_t es = x.byte_size() / std::max<int64_t>(1, x.num_elements());
  const auto* src = static_cast<const std::byte*>(x.data());
  auto* dst = static_cast<std::byte*>(out.data());
  for (int64_t b = 0; b < d[0]; ++b)
    for (int64_t h = 0; h < d[1]; ++h)
      for (int64_t i = 0; i < d[2]; ++i)
        for (int64_t j = 0; j < d[3]; ++j)
          std::memcpy(dst + (((b * d[2] + i) * d[1] + h) * d[3] + j) * es,
                      src + (((b * d[1] + h) * d[2] + i) * d[3] + j) * es, es);
  return out;
}

TEST_CASE("Int8Attention is bit-exact to the stated accelerator arithmetic",
          "[kernels][parallel]") {
  std::mt19937 rng(181);
  static exec::ThreadPool pool(4);
  const KernelDef def = MakeInt8AttentionDef();
  struct Case {
    const char* name;
    Dims q, k, v, mask;
  };
  const Case cases[] = {
      {"BERT-like, padding mask [B,1,1,T]", {2, 4, 24, 16}, {2, 4, 24, 16}, {2, 4, 24, 16},
       {2, 1, 1, 24}},
      {"ViT-like, no mask", {1, 3, 17, 8}, {1, 3, 17, 8}, {1, 3, 17, 8}, {}},
      {"cross attention T != S, Dv != D, per-head mask", {1, 2, 5, 4}, {1, 2, 9, 4},
       {1, 2, 9, 6}, {1, 2, 5, 9}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Tensor q = RandomInt8(c.q, rng), k = RandomInt8(c.k, rng), v = RandomInt8(c.v, rng);
      Tensor mask;
      const Tensor* m = nullptr;
      if (!c.mask.empty()) {
        mask = RandomTensor(c.mask, rng, -1.0f, 0.0f);
        for (int64_t i = 0; i < mask.num_elements(); i += 4) mask.data_as<float>()[i] = -10000.0f;
        m = &mask;
      }
      // Scores of |q k| ~ 2^14 * D: a scale that spreads them over a few units.
      const float score_scale = 0.5f / (128.0f * 128.0f);
      for (bool int8_out : {true, false}) {
        // s_v 0.02, s_y 0.01 (int8 Y) or a float Y.
        const float f = int8_out ? 0.02f / 127.0f / 0.01f : 0.02f / 127.0f;
        Attributes attrs;
        attrs.Set("score_scale", score_scale);
        attrs.Set("output_factor", f);
        attrs.Set("int8_output", int64_t{int8_out ? 1 : 0});
        const Tensor want = Reference(q, k, v, m, score_scale, f, int8_out);
        std::vector<const Tensor*> in{&q, &k, &v};
        if (m != nullptr) in.push_back(m);
        for (int threads : {1, 3}) {
          CAPTURE(int8_out, threads);
          const std::vector<Tensor> got =
              RunDefWithThreads(&def, attrs, in, threads > 1 ? &pool : nullptr, threads);
          REQUIRE(got.size() == 1);
          REQUIRE(got[0].shape() == want.shape());
          REQUIRE(got[0].dtype() == want.dtype());
          CHECK(std::memcmp(got[0].data(), want.data(), want.byte_size()) == 0);
        }
        // Packed heads (num_heads, output_packed): the same bits, rearranged.
        Attributes packed = attrs;
        packed.Set("num_heads", c.q[1]);
        packed.Set("output_packed", int64_t{1});
        const Tensor pq = Pack(q), pk = Pack(k), pv = Pack(v);
        std::vector<const Tensor*> pin{&pq, &pk, &pv};
        if (m != nullptr) pin.push_back(m);
        const std::vector<Tensor> got = RunDefWithThreads(&def, packed, pin, &pool, 2);
        const Tensor pwant = Pack(want);
        REQUIRE(got.at(0).shape() == pwant.shape());
        CHECK(std::memcmp(got[0].data(), pwant.data(), pwant.byte_size()) == 0);
      }
    }
  }
}

// Symmetric per-tensor int8 quantization at max|x| / 127 (what calibration
// with min-max gives), round half to even.
Tensor QuantizeTensor(const Tensor& x, float* scale) {
  float amax = 0.0f;
  for (int64_t i = 0; i < x.num_elements(); ++i) amax = std::max(amax, std::fabs(x.data_as<float>()[i]));
  *scale = amax / 127.0f;
  Tensor q(DataType::kInt8, x.shape());
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    q.data_as<int8_t>()[i] = static_cast<int8_t>(
        std::clamp(std::nearbyint(x.data_as<float>()[i] / *scale), -127.0f, 127.0f));
  }
  return q;
}

TEST_CASE("Int8Attention tracks the float Attention layer within the quantization error",
          "[kernels]") {
  std::mt19937 rng(182);
  const Dims shape{1, 4, 32, 16};
  Tensor q = RandomTensor(shape, rng, -2.0f, 2.0f), k = RandomTensor(shape, rng, -2.0f, 2.0f);
  Tensor v = RandomTensor(shape, rng);
  Tensor mask = RandomTensor({1, 1, 1, 32}, rng, -1.0f, 0.0f);
  for (int64_t i = 0; i < 32; i += 5) mask.data_as<float>()[i] = -10000.0f;
  const float scale = std::sqrt(16.0f);
  Attributes fattrs;
  fattrs.Set("scale", scale);
  fattrs.Set("scale_mode", std::string("div"));
  static const KernelDef fdef = MakeAttentionDef();
  const Tensor want = RunDefWithThreads(&fdef, fattrs, {&q, &k, &v, &mask}, nullptr, 1).at(0);
  float sq, sk, sv;
  const Tensor qq = QuantizeTensor(q, &sq), qk = QuantizeTensor(k, &sk), qv = QuantizeTensor(v, &sv);
  Attributes attrs;
  attrs.Set("score_scale", static_cast<float>(double{sq} * sk / scale));
  attrs.Set("output_factor", sv / 127.0f);
  static const KernelDef def = MakeInt8AttentionDef();
  const Tensor got = RunDefWithThreads(&def, attrs, {&qq, &qk, &qv, &mask}, nullptr, 1).at(0);
  REQUIRE(got.shape() == want.shape());
  double dot = 0, n1 = 0, n2 = 0, err = 0;
  for (int64_t i = 0; i < want.num_elements(); ++i) {
    const double a = got.data_as<float>()[i], b = want.data_as<float>()[i];
    dot += a * b;
    n1 += a * a;
    n2 += b * b;
    err += (a - b) * (a - b);
  }
  const double cosine = dot / std::sqrt(n1 * n2);
  const double sqnr_db = 10.0 * std::log10(n2 / err);
  CAPTURE(cosine, sqnr_db);
  // int8 operands and 7-bit exponentials: measured 38.7 dB, cosine 0.99993.
  CHECK(cosine > 0.999);
  CHECK(sqnr_db > 33.0);
}

TEST_CASE("Int8Attention reports bad dtypes, sizes and attributes", "[kernels]") {
  const KernelDef def = MakeInt8AttentionDef();
  auto infer = [&](const Attributes& attrs, DataType dt, const Dims& qk) {
    std::vector<TensorInfo> in{MakeInfo(dt, qk), MakeInfo(dt, qk), MakeInfo(dt, qk)};
    return def.infer(attrs, in).status();
  };
  Attributes ok;
  ok.Set("score_scale", 0.01f);
  ok.Set("output_factor", 0.01f);
  CHECK(infer(ok, DataType::kInt8, {1, 2, 4, 8}).ok());
  absl::Status st = infer(ok, DataType::kFloat32, {1, 2, 4, 8});
  CHECK(st.code() == absl::StatusCode::kUnimplemented);
  CHECK(absl::StrContains(st.message(), "Int8Attention"));
  // A head longer than the exact int32 bound (shapes only: nothing allocated).
  st = infer(ok, DataType::kInt8, {1, 1, 2, 70000});
  CHECK(st.code() == absl::StatusCode::kUnimplemented);
  Attributes no_scale;
  no_scale.Set("output_factor", 0.01f);
  CHECK(infer(no_scale, DataType::kInt8, {1, 2, 4, 8}).code() == absl::StatusCode::kInvalidArgument);
  Attributes no_out;
  no_out.Set("score_scale", 0.01f);
  st = infer(no_out, DataType::kInt8, {1, 2, 4, 8});
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(st.message(), "output_factor"));
  Attributes bad_flag = ok;
  bad_flag.Set("int8_output", int64_t{2});
  CHECK(infer(bad_flag, DataType::kInt8, {1, 2, 4, 8}).code() ==
        absl::StatusCode::kInvalidArgument);
  Attributes nan_scale = ok;
  nan_scale.Set("score_scale", NAN);
  CHECK(infer(nan_scale, DataType::kInt8, {1, 2, 4, 8}).code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace engine::kernels
