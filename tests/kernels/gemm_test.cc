// Tests of the Gemm and MatMul kernels against naive triple loops.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "engine/compare.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernel_util.h"
#include "kernels/packed_weights.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::MakeFloat;
using engine::testing::RandomTensor;
using engine::kernels::testing::Eval;

void ExpectClose(const Tensor& actual, const Tensor& expected) {
  CompareResult r = CompareTensors(actual, expected, 1e-4, 1e-5);
  INFO(r.message);
  CHECK(r.passed);
}

// Y = alpha * op(A) * op(B) + beta * C, C broadcast (right-aligned) to [M, N].
Tensor NaiveGemm(const Tensor& a, const Tensor& b, const Tensor* c, bool ta, bool tb, float alpha,
                 float beta) {
  const int64_t m = ta ? a.shape()[1] : a.shape()[0];
  const int64_t k = ta ? a.shape()[0] : a.shape()[1];
  const int64_t n = tb ? b.shape()[0] : b.shape()[1];
  Tensor y(DataType::kFloat32, {m, n});
  const float* ap = a.data_as<float>();
  const float* bp = b.data_as<float>();
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t l = 0; l < k; ++l) {
        const float av = ta ? ap[l * m + i] : ap[i * k + l];
        const float bv = tb ? bp[j * k + l] : bp[l * n + j];
        acc += static_cast<double>(av) * bv;
      }
      double cv = 0.0;
      if (c != nullptr) {
        const Dims& cs = c->shape();
        const int64_t cm = cs.size() == 2 ? cs[0] : 1;
        const int64_t cn = cs.empty() ? 1 : cs.back();
        cv = c->data_as<float>()[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
      }
      y.data_as<float>()[i * n + j] = static_cast<float>(alpha * acc + beta * cv);
    }
  }
  return y;
}

TEST_CASE("Gemm matches a naive product for every transpose and C shape", "[kernels]") {
  std::mt19937 rng(42);
  const int64_t m = 5, k = 7, n = 4;
  const std::vector<Dims> c_shapes = {{}, {n}, {1, n}, {m, 1}, {m, n}, {1, 1}, {1}};
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      for (int ci = -1; ci < static_cast<int>(c_shapes.size()); ++ci) {
        Tensor a = RandomTensor(ta ? Dims{k, m} : Dims{m, k}, rng);
        Tensor b = RandomTensor(tb ? Dims{n, k} : Dims{k, n}, rng);
        Tensor c = ci >= 0 ? RandomTensor(c_shapes[ci], rng) : Tensor();
        const float alpha = ci % 2 == 0 ? 0.5f : 1.0f;
        const float beta = ci % 3 == 0 ? -2.0f : 1.0f;
        Attributes attrs;
        attrs.Set("transA", int64_t{ta});
        attrs.Set("transB", int64_t{tb});
        attrs.Set("alpha", alpha);
        attrs.Set("beta", beta);
        INFO("transA " << ta << " transB " << tb << " C "
                       << (ci >= 0 ? DimsToString(c_shapes[ci]) : "absent"));
        auto y = Eval("Gemm", attrs, {&a, &b, ci >= 0 ? &c : nullptr});
        REQUIRE(y.ok());
        ExpectClose((*y)[0], NaiveGemm(a, b, ci >= 0 ? &c : nullptr, ta, tb, alpha, beta));
      }
    }
  }
}

TEST_CASE("Gemm hand-computed and larger cases", "[kernels]") {
  SECTION("2x2 with defaults") {
    Tensor a = MakeFloat({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor b = MakeFloat({3, 2}, {1, 0, 0, 1, 1, 1});
    Tensor c = MakeFloat({2}, {10, 20});
    auto y = Eval("Gemm", Attributes(), {&a, &b, &c});
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({2, 2}, {14, 25, 20, 31}));
  }
  SECTION("beta = 0 ignores C") {
    Tensor a = MakeFloat({1, 1}, {2});
    Tensor b = MakeFloat({1, 1}, {3});
    Tensor c = MakeFloat({1, 1}, {1e30f});
    Attributes attrs;
    attrs.Set("beta", 0.0f);
    auto y = Eval("Gemm", attrs, {&a, &b, &c});
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({1, 1}, {6}));
  }
  SECTION("fully connected layer size") {
    std::mt19937 rng(3);
    Tensor a = RandomTensor({2, 512}, rng);
    Tensor b = RandomTensor({100, 512}, rng);
    Tensor c = RandomTensor({100}, rng);
    Attributes attrs;
    attrs.Set("transB", int64_t{1});
    auto y = Eval("Gemm", attrs, {&a, &b, &c});
    REQUIRE(y.ok());
    ExpectClose((*y)[0], NaiveGemm(a, b, &c, false, true, 1.0f, 1.0f));
  }
  SECTION("K = 0 gives beta * C") {
    Tensor a(DataType::kFloat32, {2, 0});
    Tensor b(DataType::kFloat32, {0, 3});
    Tensor c = MakeFloat({3}, {1, 2, 3});
    auto y = Eval("Gemm", Attributes(), {&a, &b, &c});
    REQUIRE(y.ok());
    ExpectClose((*y)[0], MakeFloat({2, 3}, {1, 2, 3, 1, 2, 3}));
  }
}

TEST_CASE("Gemm reports bad shapes and dtypes", "[kernels]") {
  Tensor a = MakeFloat({2, 3}, std::vector<float>(6, 1.0f));
  Tensor b = MakeFloat({3, 4}, std::vector<float>(12, 1.0f));
  auto code = [](const absl::StatusOr<std::vector<Tensor>>& r) { return r.status().code(); };
  REQUIRE(Eval("Gemm", Attributes(), {&a, &b}).ok());
  Attributes ta;
  ta.Set("transA", int64_t{1});
  CHECK(code(Eval("Gemm", ta, {&a, &b})) == absl::StatusCode::kInvalidArgument);
  // An N-D A (engine extension) only with transA = 0, and with a C that does
  // not vary along the rows.
  Tensor a3 = MakeFloat({1, 2, 3}, std::vector<float>(6, 1.0f));
  CHECK(code(Eval("Gemm", ta, {&a3, &b})) == absl::StatusCode::kInvalidArgument);
  Tensor c_rows = MakeFloat({2, 4}, std::vector<float>(8, 1.0f));
  CHECK(code(Eval("Gemm", Attributes(), {&a3, &b, &c_rows})) ==
        absl::StatusCode::kInvalidArgument);
  Tensor b3 = MakeFloat({1, 3, 4}, std::vector<float>(12, 1.0f));
  CHECK(code(Eval("Gemm", Attributes(), {&a3, &b3})) == absl::StatusCode::kInvalidArgument);
  Tensor c_bad = MakeFloat({2}, {1, 2});  // [2] is not broadcastable to [2, 4]
  CHECK(code(Eval("Gemm", Attributes(), {&a, &b, &c_bad})) == absl::StatusCode::kInvalidArgument);
  Tensor c_bad2 = MakeFloat({3, 4}, std::vector<float>(12, 1.0f));
  CHECK(code(Eval("Gemm", Attributes(), {&a, &b, &c_bad2})) == absl::StatusCode::kInvalidArgument);
  Tensor c_3d = MakeFloat({1, 2, 4}, std::vector<float>(8, 1.0f));
  CHECK(code(Eval("Gemm", Attributes(), {&a, &b, &c_3d})) == absl::StatusCode::kInvalidArgument);
  CHECK(code(Eval("Gemm", Attributes(), {&a})) == absl::StatusCode::kInvalidArgument);
  Tensor ai(DataType::kInt32, {2, 3});
  Tensor bi(DataType::kInt32, {3, 4});
  CHECK(code(Eval("Gemm", Attributes(), {&ai, &bi})) == absl::StatusCode::kUnimplemented);
  CHECK(code(Eval("Gemm", Attributes(), {&a, &bi})) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Gemm with a fused activation matches Gemm then the activation", "[kernels]") {
  std::mt19937 rng(77);
  struct Act {
    std::string type;
    Attributes op_attrs;
    std::vector<float> clip;
    Attributes fused;
  };
  std::vector<Act> acts;
  auto add = [&](const std::string& type, std::vector<std::pair<std::string, float>> op,
                 std::vector<float> clip, std::vector<std::pair<std::string, float>> fused) {
    Act a;
    a.type = type;
    for (const auto& [k, v] : op) a.op_attrs.Set(k, v);
    a.clip = std::move(clip);
    a.fused.Set("activation", type);
    for (const auto& [k, v] : fused) a.fused.Set(k, v);
    acts.push_back(std::move(a));
  };
  add("Relu", {}, {}, {});
  add("Clip", {}, {-1.0f, 1.0f}, {{"activation_alpha", -1.0f}, {"activation_beta", 1.0f}});
  add("LeakyRelu", {{"alpha", 0.2f}}, {}, {{"activation_alpha", 0.2f}});
  add("Sigmoid", {}, {}, {});
  add("Tanh", {}, {}, {});
  add("HardSigmoid", {}, {}, {});
  add("HardSwish", {}, {}, {});
  const int64_t m = 4, k = 6, n = 5;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      Tensor a = RandomTensor(ta != 0 ? Dims{k, m} : Dims{m, k}, rng, -2.0f, 2.0f);
      Tensor b = RandomTensor(tb != 0 ? Dims{n, k} : Dims{k, n}, rng);
      Tensor c = RandomTensor({n}, rng);
      Attributes attrs;
      attrs.Set("transA", int64_t{ta});
      attrs.Set("transB", int64_t{tb});
      attrs.Set("alpha", 0.75f);
      attrs.Set("beta", 1.5f);
      auto plain = Eval("Gemm", attrs, {&a, &b, &c});
      REQUIRE(plain.ok());
      for (const Act& act : acts) {
        INFO("transA " << ta << " transB " << tb << " activation " << act.type);
        std::vector<Tensor> bounds;
        for (float v : act.clip) bounds.push_back(MakeFloat({}, {v}));
        std::vector<const Tensor*> act_inputs = {&(*plain)[0]};
        for (const Tensor& t : bounds) act_inputs.push_back(&t);
        const Tensor expected = testing::Eval1(act.type, act.op_attrs, act_inputs);
        Attributes fused = attrs;
        for (const auto& [key, v] : act.fused.values()) fused.Set(key, v);
        const Tensor actual = testing::Eval1("Gemm", fused, {&a, &b, &c});
        CompareResult r = CompareTensors(actual, expected, 1e-6, 1e-6);
        INFO(r.message);
        CHECK(r.passed);
      }
    }
  }
}

TEST_CASE("Gemm applies the fused activation when K = 0 and rejects unknown ones", "[kernels]") {
  Tensor a(DataType::kFloat32, {2, 0});
  Tensor b(DataType::kFloat32, {0, 3});
  Tensor c = MakeFloat({3}, {-1.0f, 0.5f, 2.0f});
  Attributes attrs;
  attrs.Set("activation", std::string("Relu"));
  const Tensor y = testing::Eval1("Gemm", attrs, {&a, &b, &c});
  CHECK(engine::testing::ToVector(y) == std::vector<float>{0, 0.5f, 2, 0, 0.5f, 2});
  attrs.Set("activation", std::string("Mish"));
  auto bad = Eval("Gemm", attrs, {&a, &b, &c});
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad.status().message(), "'Mish'"));
}

// numpy.matmul on float tensors, written out: 1-D operands are promoted and
// the promoted dimension removed; batch dimensions broadcast.
Tensor NaiveMatMul(const Tensor& a, const Tensor& b) {
  Dims as = a.shape(), bs = b.shape();
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  const size_t batch_rank = std::max(as.size(), bs.size()) - 2;
  Dims a_batch(batch_rank, 1), b_batch(batch_rank, 1), batch(batch_rank, 1);
  for (size_t i = 0; i + 2 < as.size(); ++i) a_batch[batch_rank - (as.size() - 2) + i] = as[i];
  for (size_t i = 0; i + 2 < bs.size(); ++i) b_batch[batch_rank - (bs.size() - 2) + i] = bs[i];
  for (size_t i = 0; i < batch_rank; ++i) batch[i] = std::max(a_batch[i], b_batch[i]);
  Dims y_shape = batch;
  if (!a_vec) y_shape.push_back(m);
  if (!b_vec) y_shape.push_back(n);
  Tensor y(DataType::kFloat32, y_shape);
  const int64_t count = NumElements(batch);
  for (int64_t bi = 0; bi < count; ++bi) {
    // Decompose bi into the batch index and map it into A and B.
    int64_t rem = bi, a_off = 0, b_off = 0, a_mul = 1, b_mul = 1;
    for (int d = static_cast<int>(batch_rank) - 1; d >= 0; --d) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      a_off += (a_batch[d] == 1 ? 0 : idx) * a_mul;
      b_off += (b_batch[d] == 1 ? 0 : idx) * b_mul;
      a_mul *= a_batch[d];
      b_mul *= b_batch[d];
    }
    const float* ap = a.data_as<float>() + a_off * m * k;
    const float* bp = b.data_as<float>() + b_off * k * n;
    float* yp = y.data_as<float>() + bi * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t l = 0; l < k; ++l) acc += static_cast<double>(ap[i * k + l]) * bp[l * n + j];
        yp[i * n + j] = static_cast<float>(acc);
      }
  }
  return y;
}

TEST_CASE("MatMul matches numpy.matmul semantics", "[kernels]") {
  std::mt19937 rng(11);
  const std::vector<std::pair<Dims, Dims>> cases = {
      {{7}, {7}},                    // dot product -> scalar
      {{7}, {7, 3}},                 // vector x matrix
      {{4, 7}, {7}},                 // matrix x vector
      {{4, 7}, {7, 3}},              // plain 2-D
      {{2, 3, 4, 7}, {7, 5}},        // batch x matrix (one folded GEMM)
      {{4, 7}, {2, 7, 5}},           // matrix x batch
      {{2, 1, 4, 7}, {3, 7, 5}},     // broadcast both ways
      {{3, 1, 4, 7}, {1, 2, 7, 5}},  // broadcast both ways
      {{7}, {2, 3, 7, 5}},           // vector x batch
      {{2, 3, 4, 7}, {7}},           // batch x vector
      {{2, 4, 7}, {1, 1, 7, 3}},     // B batch of ones, higher rank
      {{1, 64, 128}, {128, 96}},     // larger
  };
  for (const auto& [as, bs] : cases) {
    Tensor a = RandomTensor(as, rng);
    Tensor b = RandomTensor(bs, rng);
    INFO("A " << DimsToString(as) << " B " << DimsToString(bs));
    auto y = Eval("MatMul", Attributes(), {&a, &b});
    REQUIRE(y.ok());
    Tensor expected = NaiveMatMul(a, b);
    CHECK((*y)[0].shape() == expected.shape());
    ExpectClose((*y)[0], expected);
  }
}

TEST_CASE("MatMul supports int32 and int64", "[kernels]") {
  Tensor a(DataType::kInt64, {2, 2, 3});
  Tensor b(DataType::kInt64, {3, 2});
  for (int i = 0; i < 12; ++i) a.data_as<int64_t>()[i] = i;
  for (int i = 0; i < 6; ++i) b.data_as<int64_t>()[i] = i - 2;
  auto y = Eval("MatMul", Attributes(), {&a, &b});
  REQUIRE(y.ok());
  REQUIRE((*y)[0].dtype() == DataType::kInt64);
  REQUIRE((*y)[0].shape() == Dims{2, 2, 2});
  // b = [[-2, -1], [0, 1], [2, 3]]; row [0 1 2] -> [4, 7]; [3 4 5] -> [4, 16]; ...
  const std::vector<int64_t> expected = {4, 7, 4, 16, 4, 25, 4, 34};
  for (int i = 0; i < 8; ++i) CHECK((*y)[0].data_as<int64_t>()[i] == expected[i]);

  Tensor ai(DataType::kInt32, {3});
  Tensor bi(DataType::kInt32, {3});
  for (int i = 0; i < 3; ++i) ai.data_as<int32_t>()[i] = bi.data_as<int32_t>()[i] = i + 1;
  auto yi = Eval("MatMul", Attributes(), {&ai, &bi});
  REQUIRE(yi.ok());
  CHECK((*yi)[0].shape().empty());
  CHECK((*yi)[0].data_as<int32_t>()[0] == 14);
}

TEST_CASE("MatMul reports bad shapes and dtypes", "[kernels]") {
  auto code = [](const absl::StatusOr<std::vector<Tensor>>& r) { return r.status().code(); };
  Tensor a(DataType::kFloat32, {2, 3});
  Tensor b(DataType::kFloat32, {4, 5});
  CHECK(code(Eval("MatMul", Attributes(), {&a, &b})) == absl::StatusCode::kInvalidArgument);
  Tensor a3(DataType::kFloat32, {2, 4, 3});
  Tensor b3(DataType::kFloat32, {3, 3, 5});
  CHECK(code(Eval("MatMul", Attributes(), {&a3, &b3})) == absl::StatusCode::kInvalidArgument);
  Tensor s(DataType::kFloat32, {});
  CHECK(code(Eval("MatMul", Attributes(), {&s, &a})) == absl::StatusCode::kInvalidArgument);
  Tensor bi(DataType::kInt32, {3, 5});
  CHECK(code(Eval("MatMul", Attributes(), {&a, &bi})) == absl::StatusCode::kInvalidArgument);
  Tensor a8(DataType::kInt8, {2, 3});
  Tensor b8(DataType::kInt8, {3, 5});
  CHECK(code(Eval("MatMul", Attributes(), {&a8, &b8})) == absl::StatusCode::kUnimplemented);
}


TEST_CASE("Gemm takes an N-D A [..., K] as rows (fuse-matmul-add's projections)", "[kernels]") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  auto rand = [&](Dims shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = u(rng);
    return MakeFloat(shape, v);
  };
  Tensor a = rand({2, 3, 5});
  Tensor b = rand({5, 4});
  Tensor c = rand({4});
  Tensor a2 = MakeFloat({6, 5}, std::vector<float>(a.data_as<float>(), a.data_as<float>() + 30));
  for (const char* act : {"", "Relu", "Gelu"}) {
    for (float alpha : {0.0f, 1.0f}) {
      if (std::string(act) != "Gelu" && alpha != 0.0f) continue;
      DYNAMIC_SECTION("activation '" << act << "' alpha " << alpha) {
        Attributes attrs;
        if (*act != 0) attrs.Set("activation", std::string(act));
        if (std::string(act) == "Gelu") attrs.Set("activation_alpha", alpha);
        auto nd = Eval("Gemm", attrs, {&a, &b, &c});
        auto flat = Eval("Gemm", Attributes(), {&a2, &b, &c});
        REQUIRE(nd.ok());
        REQUIRE(flat.ok());
        REQUIRE((*nd)[0].shape() == Dims{2, 3, 4});
        REQUIRE((*flat)[0].shape() == Dims{6, 4});
        // The activation as its own layer on the 2-D product: the same bits.
        std::vector<float> want((*flat)[0].data_as<float>(), (*flat)[0].data_as<float>() + 24);
        if (std::string(act) == "Relu") {
          for (float& v : want) v = std::max(v, 0.0f);
        } else if (std::string(act) == "Gelu") {
          Attributes g;
          g.Set("approximate", std::string(alpha != 0.0f ? "tanh" : "none"));
          auto gelu = Eval("Gelu", g, {&(*flat)[0]});
          REQUIRE(gelu.ok());
          want.assign((*gelu)[0].data_as<float>(), (*gelu)[0].data_as<float>() + 24);
        }
        const float* got = (*nd)[0].data_as<float>();
        int mismatches = 0;
        for (int i = 0; i < 24; ++i) mismatches += got[i] != want[i];
        CHECK(mismatches == 0);
        // Gelu actually changed something (not an ignored attribute).
        if (std::string(act) == "Gelu") {
          CHECK(std::memcmp(got, (*flat)[0].data_as<float>(), 24 * sizeof(float)) != 0);
        }
      }
    }
  }
}

// Constant B, alpha = 1 and a column bias: the packed path (B packed once at
// Prepare, sgemm_packed.h), on shapes that cross its row blocks (64 rows),
// column blocks (4 panels) and K blocks, with the fuse-residual input and a
// Gelu epilogue, against a double-precision loop.
TEST_CASE("Gemm with constant weights (packed path) matches a naive product", "[kernels]") {
  using engine::kernels::testing::Inputs;
  using engine::kernels::testing::RunWithThreads;
  std::mt19937 rng(21);
  // m = 131: one row block; 600: three (PackedProduct's blocking).
  for (const int64_t m : {int64_t{131}, int64_t{600}}) {
    for (int tb = 0; tb < 2; ++tb) {
      for (const char* act : {"", "Gelu"}) {
        for (bool residual : {false, true}) {
          const int64_t k = 600, n = 250;
          Tensor a = RandomTensor({1, m, k}, rng);
          Tensor b = RandomTensor(tb ? Dims{n, k} : Dims{k, n}, rng);
          Tensor c = RandomTensor({n}, rng);
          Tensor r = RandomTensor({1, m, n}, rng);
          Attributes attrs;
          attrs.Set("transB", int64_t{tb});
          if (*act != 0) attrs.Set("activation", std::string(act));
          CAPTURE(m, tb, act, residual);
          const size_t live = SharedPackedACount();
          const std::vector<Tensor> y =
              RunWithThreads("Gemm", attrs, {&a, &b, &c, residual ? &r : nullptr}, nullptr, 1,
                             Inputs::kConstants);
          // The packed copy of B lived while the kernel did (freed with it).
          CHECK(SharedPackedACount() == live);
          REQUIRE(y.size() == 1);
          REQUIRE(y[0].shape() == Dims{1, m, n});
          Tensor a2 = MakeFloat({m, k}, std::vector<float>(a.data_as<float>(),
                                                           a.data_as<float>() + m * k));
          Tensor want = NaiveGemm(a2, b, &c, false, tb, 1.0f, 1.0f);
          float* w = want.data_as<float>();
          for (int64_t i = 0; i < m * n; ++i) {
            if (residual) w[i] += r.data_as<float>()[i];
            if (*act != 0) w[i] = GeluOf(w[i], false);
          }
          Tensor got = y[0];
          REQUIRE(got.Reshape({m, n}));
          ExpectClose(got, want);
        }
      }
    }
  }
}

TEST_CASE("Gemm kernels prepared on one constant B share its packed copy", "[kernels]") {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("Gemm");
  REQUIRE(def != nullptr);
  std::mt19937 rng(3);
  Tensor b = RandomTensor({64, 96}, rng);
  const size_t live = SharedPackedACount();
  std::vector<std::unique_ptr<Kernel>> kernels;
  for (int64_t rows : {4, 40}) {
    std::vector<TensorInfo> in(2);
    in[0].dtype = DataType::kFloat32;
    in[0].shape = {rows, 64};
    in[1].dtype = DataType::kFloat32;
    in[1].shape = b.shape();
    in[1].constant = &b;
    auto out = def->infer(Attributes(), in);
    REQUIRE(out.ok());
    kernels.push_back(def->create());
    REQUIRE(kernels.back()->Prepare(Attributes(), in, *out).ok());
  }
  CHECK(SharedPackedACount() == live + 1);
  kernels.clear();
  CHECK(SharedPackedACount() == live);
}

}  // namespace
}  // namespace engine::kernels
