// The fused Attention kernel (kernels/attention.cc) against the unfused chain
// it replaces, evaluated layer by layer with the registered kernels:
// Transpose(K, [0,1,3,2]), MatMul, Div or Mul by the scale, Add mask,
// Softmax(axis -1), MatMul by V. Also its errors and thread invariance.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "engine/compare.h"
#include "kernels/defs.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernel_util.h"
#include "kernels/thread_pool.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::kernels::testing::Eval1;
using engine::kernels::testing::RunDefWithThreads;
using engine::testing::RandomTensor;

// The exported chain; `mask` may be nullptr.
Tensor Chain(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask, float scale,
             bool divide) {
  Attributes perm;
  perm.Set("perm", std::vector<int64_t>{0, 1, 3, 2});
  Tensor kt = Eval1("Transpose", perm, {&k});
  Tensor s = Eval1("MatMul", Attributes(), {&q, &kt});
  Tensor c(DataType::kFloat32, {});
  c.data_as<float>()[0] = scale;
  s = Eval1(divide ? "Div" : "Mul", Attributes(), {&s, &c});
  if (mask != nullptr) s = Eval1("Add", Attributes(), {&s, mask});
  Attributes axis;
  axis.Set("axis", int64_t{-1});
  Tensor p = Eval1("Softmax", axis, {&s});
  return Eval1("MatMul", Attributes(), {&p, &v});
}

Tensor Fused(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask, float scale,
             bool divide) {
  static const KernelDef def = MakeAttentionDef();
  Attributes attrs;
  attrs.Set("scale", scale);
  attrs.Set("scale_mode", std::string(divide ? "div" : "mul"));
  std::vector<const Tensor*> in{&q, &k, &v};
  if (mask != nullptr) in.push_back(mask);
  auto out = EvaluateKernel(def, attrs, in);
  INFO(out.status().ToString());
  REQUIRE(out.ok());
  REQUIRE(out->size() == 1);
  return std::move((*out)[0]);
}

TEST_CASE("Attention matches the unfused MatMul, scale, mask, Softmax, MatMul chain",
          "[kernels]") {
  std::mt19937 rng(21);
  struct Case {
    const char* name;
    Dims q, k, v, mask;  // mask empty = none
    bool divide;
  };
  const Case cases[] = {
      {"BERT-like: [1,4,32,16], padding mask [1,1,1,T], Div sqrt(D)",
       {1, 4, 32, 16}, {1, 4, 32, 16}, {1, 4, 32, 16}, {1, 1, 1, 32}, true},
      {"ViT-like: no mask, Mul 1/sqrt(D)", {2, 3, 17, 8}, {2, 3, 17, 8}, {2, 3, 17, 8}, {}, false},
      {"cross attention T != S, Dv != D, mask [S, T]", {1, 2, 5, 4}, {1, 2, 9, 4}, {1, 2, 9, 6},
       {5, 9}, true},
      {"per-head mask [B, H, S, T]", {2, 2, 6, 4}, {2, 2, 6, 4}, {2, 2, 6, 4}, {2, 2, 6, 6},
       false},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Tensor q = RandomTensor(c.q, rng, -2.0f, 2.0f);
      Tensor k = RandomTensor(c.k, rng, -2.0f, 2.0f);
      Tensor v = RandomTensor(c.v, rng);
      Tensor mask;
      const Tensor* m = nullptr;
      if (!c.mask.empty()) {
        mask = RandomTensor(c.mask, rng, -1.0f, 0.0f);
        // Padding positions as the exporters write them: a large negative.
        float* md = mask.data_as<float>();
        for (int64_t i = 0; i < mask.num_elements(); i += 3) md[i] = -10000.0f;
        m = &mask;
      }
      const float d = static_cast<float>(c.q[3]);
      const float scale = c.divide ? std::sqrt(d) : 1.0f / std::sqrt(d);
      Tensor want = Chain(q, k, v, m, scale, c.divide);
      Tensor got = Fused(q, k, v, m, scale, c.divide);
      REQUIRE(got.shape() == want.shape());
      CompareResult r = CompareTensors(got, want, 1e-5, 1e-6);
      INFO(r.message);
      CHECK(r.passed);
      // Both products run on SgemmActivations in the fused layer and in
      // MatMul, with the chain's rounding steps: the same bits.
      CHECK(std::memcmp(got.data_as<float>(), want.data_as<float>(),
                        static_cast<size_t>(got.num_elements()) * sizeof(float)) == 0);
      // Masked keys get (almost) no weight: a padded V row changed to huge
      // values must not move the output beyond the tolerance.
      if (m != nullptr && c.mask == Dims{1, 1, 1, 32}) {
        Tensor v2 = v;
        float* vd = v2.data_as<float>();
        const int64_t t = c.v[2], dv = c.v[3];
        for (int64_t bh = 0; bh < c.v[0] * c.v[1]; ++bh) {
          for (int64_t e = 0; e < dv; ++e) vd[(bh * t + 0) * dv + e] = 1000.0f;  // key 0: masked
        }
        Tensor got2 = Fused(q, k, v2, m, scale, c.divide);
        CHECK(CompareTensors(got2, got, 1e-5, 1e-5).passed);
      }
    }
  }
}

TEST_CASE("Attention gives the same bits with any thread count", "[kernels][parallel]") {
  std::mt19937 rng(22);
  Tensor q = RandomTensor({2, 5, 64, 32}, rng);
  Tensor k = RandomTensor({2, 5, 64, 32}, rng);
  Tensor v = RandomTensor({2, 5, 64, 32}, rng);
  Tensor mask = RandomTensor({2, 1, 1, 64}, rng);
  Attributes attrs;
  attrs.Set("scale", std::sqrt(32.0f));
  attrs.Set("scale_mode", std::string("div"));
  static exec::ThreadPool pool(4);
  const KernelDef def = MakeAttentionDef();
  const std::vector<Tensor> serial = RunDefWithThreads(&def, attrs, {&q, &k, &v, &mask}, nullptr, 1);
  REQUIRE(serial.size() == 1);
  for (int threads : {2, 3, 5}) {
    CAPTURE(threads);
    const std::vector<Tensor> parallel =
        RunDefWithThreads(&def, attrs, {&q, &k, &v, &mask}, &pool, threads);
    REQUIRE(parallel.size() == 1);
    CHECK(std::memcmp(parallel[0].data(), serial[0].data(), serial[0].byte_size()) == 0);
  }
}

// [B, H, seq, head] -> packed [B, seq, H * head] (the head split undone).
Tensor Pack(const Tensor& x) {
  const Dims& d = x.shape();
  Tensor out(DataType::kFloat32, {d[0], d[2], d[1] * d[3]});
  const float* src = x.data_as<float>();
  float* dst = out.data_as<float>();
  for (int64_t b = 0; b < d[0]; ++b)
    for (int64_t h = 0; h < d[1]; ++h)
      for (int64_t i = 0; i < d[2]; ++i)
        for (int64_t j = 0; j < d[3]; ++j)
          dst[((b * d[2] + i) * d[1] + h) * d[3] + j] = src[((b * d[1] + h) * d[2] + i) * d[3] + j];
  return out;
}

TEST_CASE("Attention reads and writes packed [B, seq, H*head] heads with the same bits",
          "[kernels][parallel]") {
  std::mt19937 rng(23);
  Tensor q = RandomTensor({2, 3, 7, 4}, rng);
  Tensor k = RandomTensor({2, 3, 9, 4}, rng);
  Tensor v = RandomTensor({2, 3, 9, 5}, rng);
  Tensor mask = RandomTensor({2, 1, 1, 9}, rng);
  Attributes attrs;
  attrs.Set("scale", 2.0f);
  attrs.Set("scale_mode", std::string("div"));
  static exec::ThreadPool pool(4);
  const KernelDef def = MakeAttentionDef();
  const Tensor heads = RunDefWithThreads(&def, attrs, {&q, &k, &v, &mask}, nullptr, 1).at(0);
  const Tensor want = Pack(heads);
  const Tensor pq = Pack(q), pk = Pack(k), pv = Pack(v);
  Attributes packed = attrs;
  packed.Set("num_heads", int64_t{3});
  packed.Set("output_packed", int64_t{1});
  // All packed, and mixed (K left as [B, H, T, D]).
  for (bool k_packed : {true, false}) {
    for (int threads : {1, 2, 3}) {
      CAPTURE(k_packed, threads);
      const std::vector<Tensor> got = RunDefWithThreads(
          &def, packed, {&pq, k_packed ? &pk : &k, &pv, &mask}, threads > 1 ? &pool : nullptr,
          threads);
      REQUIRE(got.size() == 1);
      REQUIRE(got[0].shape() == Dims{2, 7, 15});
      CHECK(std::memcmp(got[0].data(), want.data(), want.byte_size()) == 0);
    }
  }
  // Rank-4 output with packed inputs.
  Attributes in_only = attrs;
  in_only.Set("num_heads", int64_t{3});
  const std::vector<Tensor> got = RunDefWithThreads(&def, in_only, {&pq, &pk, &pv, &mask}, nullptr, 1);
  REQUIRE(got.at(0).shape() == heads.shape());
  CHECK(std::memcmp(got[0].data(), heads.data(), heads.byte_size()) == 0);
  // Errors: no num_heads, a width num_heads does not divide, a bad output_packed.
  auto infer = [&](const Attributes& a, const std::vector<Dims>& shapes) {
    std::vector<TensorInfo> in;
    for (const Dims& s : shapes) in.push_back(MakeInfo(DataType::kFloat32, s));
    return def.infer(a, in).status();
  };
  absl::Status st = infer(attrs, {{2, 7, 12}, {2, 9, 12}, {2, 9, 15}});
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(st.message(), "num_heads"));
  st = infer(packed, {{2, 7, 13}, {2, 9, 12}, {2, 9, 15}});
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(st.message(), "multiple of num_heads"));
  Attributes two = packed;
  two.Set("output_packed", int64_t{2});
  CHECK(infer(two, {{2, 7, 12}, {2, 9, 12}, {2, 9, 15}}).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Attention reports bad shapes, dtypes and attributes", "[kernels]") {
  const KernelDef def = MakeAttentionDef();
  auto infer = [&](const std::vector<Dims>& shapes, const Attributes& attrs = Attributes()) {
    std::vector<TensorInfo> in;
    for (const Dims& s : shapes) in.push_back(MakeInfo(DataType::kFloat32, s));
    return def.infer(attrs, in).status();
  };
  CHECK(infer({{1, 2, 4, 8}, {1, 2, 4, 8}, {1, 2, 4, 8}}).ok());
  absl::Status st = infer({{1, 2, 4, 8}, {1, 2, 4, 7}, {1, 2, 4, 8}});
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(st.message(), "Attention"));
  CHECK(infer({{2, 4, 8}, {2, 4, 8}, {2, 4, 8}}).code() == absl::StatusCode::kInvalidArgument);
  CHECK(infer({{1, 2, 4, 8}, {1, 2, 6, 8}, {1, 2, 5, 8}}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(infer({{1, 2, 4, 8}, {1, 2, 4, 8}, {1, 2, 4, 8}, {1, 1, 3, 4}}).code() ==
        absl::StatusCode::kInvalidArgument);
  Attributes bad;
  bad.Set("scale_mode", std::string("pow"));
  st = infer({{1, 2, 4, 8}, {1, 2, 4, 8}, {1, 2, 4, 8}}, bad);
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(st.message(), "scale_mode"));
  std::vector<TensorInfo> ints{MakeInfo(DataType::kInt32, {1, 1, 2, 2}),
                              MakeInfo(DataType::kInt32, {1, 1, 2, 2}),
                              MakeInfo(DataType::kInt32, {1, 1, 2, 2})};
  CHECK(def.infer(Attributes(), ints).status().code() == absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace engine::kernels
