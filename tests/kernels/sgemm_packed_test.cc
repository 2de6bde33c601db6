// The FP32 GEMM with packed weights (sgemm_packed.h) and the Conv paths built
// on it: results are exactly the documented fused multiply-add chain (so they
// cannot depend on blocking, kernel or thread), sub-ranges touch only their
// part of C, and Conv gives the same bits with constant and non-constant
// weights and with any thread count in each of its strategies.
#include "ops/op_registry.h"
#include "kernels/sgemm_packed.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/kernel_util.h"
#include "kernels/thread_pool.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::RandomTensor;

std::vector<float> RandomVector(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// The documented arithmetic, element by element.
std::vector<float> Reference(const std::vector<float>& a, const std::vector<float>& b, int64_t m,
                             int64_t k, int64_t n, const SgemmEpilogue& ep) {
  std::vector<float> c(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int64_t kk = 0; kk < k; ++kk) acc = std::fma(a[i * k + kk], b[kk * n + j], acc);
      if (ep.bias != nullptr) acc = acc + ep.bias[i];
      if (ep.residual != nullptr) acc = acc + ep.residual[i * ep.ldr + j];
      c[i * n + j] = acc;
    }
    ApplyActivation(ep.activation, c.data() + i * n, n);
  }
  return c;
}

bool SameBits(const float* x, const float* y, int64_t n) {
  return std::memcmp(x, y, static_cast<size_t>(n) * sizeof(float)) == 0;
}

Activation MakeActivation(int which) {
  Activation act;
  switch (which) {
    case 1:
      act.kind = Activation::Kind::kRelu;
      break;
    case 2:
      act.kind = Activation::Kind::kClip;
      act.alpha = -0.5f;
      act.beta = 0.75f;
      break;
    case 3:
      act.kind = Activation::Kind::kSigmoid;
      break;
    default:
      break;
  }
  return act;
}

TEST_CASE("SgemmPanels and SgemmRows compute the exact fused multiply-add chain",
          "[kernels][sgemm_packed]") {
  INFO("path " << SgemmPackedPath());
  std::mt19937 rng(5);
  struct Shape {
    int64_t m, k, n;
  };
  const std::vector<Shape> shapes = {{1, 1, 1},     {7, 3, 5},     {16, 16, 16},  {17, 300, 49},
                                     {40, 0, 33},   {33, 600, 97}, {64, 27, 200}, {5, 513, 1},
                                     {130, 20, 64}, {24, 257, 150}};
  for (const Shape& s : shapes) {
    for (int which = 0; which < 4; ++which) {
      CAPTURE(s.m, s.k, s.n, which);
      const std::vector<float> a = RandomVector(s.m * s.k, rng);
      const std::vector<float> b = RandomVector(s.k * s.n, rng);
      const std::vector<float> bias = RandomVector(s.m, rng);
      const std::vector<float> res = RandomVector(s.m * s.n, rng);
      SgemmEpilogue ep;
      ep.bias = which % 2 == 0 ? bias.data() : nullptr;
      ep.residual = which >= 2 ? res.data() : nullptr;
      ep.ldr = s.n;
      ep.activation = MakeActivation(which);
      const std::vector<float> want = Reference(a, b, s.m, s.k, s.n, ep);
      std::vector<float> pa(static_cast<size_t>(PackedAFloats(s.m, s.k)) + 1);
      PackA(a.data(), s.m, s.k, s.k, 1, pa.data());

      // Whole product, one K block.
      std::vector<float> c(static_cast<size_t>(s.m * s.n), 123.0f);
      std::vector<float> pb(static_cast<size_t>(PackedBFloats(s.k, 0, s.n)) + 1);
      PackB(b.data(), s.n, 1, 0, s.k, 0, s.n, pb.data());
      SgemmPanels(pa.data(), s.m, s.k, 0, s.k, 0, s.m, pb.data(), 0, s.n, c.data(), s.n, ep);
      CHECK(SameBits(c.data(), want.data(), s.m * s.n));

      // Row kernel, whole product.
      std::fill(c.begin(), c.end(), 123.0f);
      SgemmRows(pa.data(), s.m, s.k, 0, s.m, b.data(), s.n, 0, s.n, c.data(), s.n, ep);
      CHECK(SameBits(c.data(), want.data(), s.m * s.n));

      // Blocks: rows, columns and K split at odd places; C outside the
      // block must stay untouched.
      const int64_t m0 = s.m / 3, m1 = s.m - s.m / 4;
      const int64_t j0 = s.n / 2, j1 = s.n;
      std::fill(c.begin(), c.end(), 123.0f);
      int64_t k0 = 0;
      do {
        const int64_t k1 = std::min(s.k, k0 + 1 + k0 % 37 + 50);
        std::vector<float> block(static_cast<size_t>(PackedBFloats(k1 - k0, j0, j1)) + 1);
        PackB(b.data(), s.n, 1, k0, k1, j0, j1, block.data());
        SgemmPanels(pa.data(), s.m, s.k, k0, k1, m0, m1, block.data(), j0, j1, c.data(), s.n, ep);
        k0 = k1;
      } while (k0 < s.k);
      std::vector<float> c2(static_cast<size_t>(s.m * s.n), 123.0f);
      SgemmRows(pa.data(), s.m, s.k, m0, m1, b.data(), s.n, j0, j1, c2.data(), s.n, ep);
      for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < s.n; ++j) {
          const bool inside = i >= m0 && i < m1 && j >= j0 && j < j1;
          const float expect = inside ? want[i * s.n + j] : 123.0f;
          CAPTURE(i, j);
          REQUIRE(SameBits(&c[i * s.n + j], &expect, 1));
          REQUIRE(SameBits(&c2[i * s.n + j], &expect, 1));
        }
      }
    }
  }
}

TEST_CASE("SgemmActivations computes the exact fma chain with strided and transposed operands",
          "[kernels][sgemm_packed]") {
  std::mt19937 rng(9);
  struct Shape {
    int64_t m, k, n;
  };
  // Attention heads (S x T x D, S x Dv x T), odd sizes, k = 0.
  const std::vector<Shape> shapes = {{128, 64, 128}, {197, 64, 197}, {128, 128, 64},
                                     {17, 5, 33},    {1, 300, 7},    {40, 0, 9}};
  for (const Shape& s : shapes) {
    for (bool trans_b : {false, true}) {
      CAPTURE(s.m, s.k, s.n, trans_b);
      const std::vector<float> a = RandomVector(s.m * s.k, rng);
      const std::vector<float> b = RandomVector(s.k * s.n, rng);  // B [k, n] row-major
      const std::vector<float> want = Reference(a, b, s.m, s.k, s.n, SgemmEpilogue());
      // A and B inside wider rows (leading dimensions past the matrix), B
      // stored as its transpose [n, k] when trans_b, C into wider rows.
      const int64_t lda = s.k + 3, ldc = s.n + 5;
      const int64_t ldb = trans_b ? s.k + 2 : s.n + 4;
      std::vector<float> as(static_cast<size_t>(s.m * lda), 7.0f);
      for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t kk = 0; kk < s.k; ++kk) as[i * lda + kk] = a[i * s.k + kk];
      }
      std::vector<float> bs(static_cast<size_t>((trans_b ? s.n : s.k) * ldb), 7.0f);
      for (int64_t kk = 0; kk < s.k; ++kk) {
        for (int64_t j = 0; j < s.n; ++j) {
          (trans_b ? bs[j * ldb + kk] : bs[kk * ldb + j]) = b[kk * s.n + j];
        }
      }
      std::vector<float> ws(static_cast<size_t>(SgemmActivationsFloats(s.m, s.n, s.k, trans_b)));
      std::vector<float> c(static_cast<size_t>(s.m * ldc), 123.0f);
      SgemmActivations(trans_b, s.m, s.n, s.k, as.data(), lda, bs.data(), ldb, c.data(), ldc,
                       ws.data());
      for (int64_t i = 0; i < s.m; ++i) {
        CAPTURE(i);
        REQUIRE(SameBits(&c[i * ldc], &want[i * s.n], s.n));
        for (int64_t j = s.n; j < ldc; ++j) REQUIRE(c[i * ldc + j] == 123.0f);
      }
    }
  }
}

TEST_CASE("PackB handles strided and transposed sources", "[kernels][sgemm_packed]") {
  std::mt19937 rng(9);
  const int64_t m = 9, k = 21, n = 70;
  const std::vector<float> a = RandomVector(m * k, rng);
  const std::vector<float> bt = RandomVector(n * k, rng);  // B^T [n, k]
  std::vector<float> b(static_cast<size_t>(k * n));
  for (int64_t kk = 0; kk < k; ++kk) {
    for (int64_t j = 0; j < n; ++j) b[kk * n + j] = bt[j * k + kk];
  }
  SgemmEpilogue ep;
  const std::vector<float> want = Reference(a, b, m, k, n, ep);
  std::vector<float> pa(static_cast<size_t>(PackedAFloats(m, k)));
  // A read transposed: A^T [k, m].
  std::vector<float> at(static_cast<size_t>(k * m));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t kk = 0; kk < k; ++kk) at[kk * m + i] = a[i * k + kk];
  }
  PackA(at.data(), m, k, 1, m, pa.data());
  std::vector<float> pb(static_cast<size_t>(PackedBFloats(k, 0, n)));
  PackB(bt.data(), 1, k, 0, k, 0, n, pb.data());
  std::vector<float> c(static_cast<size_t>(m * n));
  SgemmPanels(pa.data(), m, k, 0, k, 0, m, pb.data(), 0, n, c.data(), n, ep);
  CHECK(SameBits(c.data(), want.data(), m * n));
}

// Prepares Conv with W (and B) given as constants or not, runs it with
// `threads` threads of `pool` (nullptr: serial) and checks the scratch is
// not overrun.
Tensor RunConv(const Attributes& attrs, const std::vector<const Tensor*>& inputs,
               bool constant_weights, exec::ThreadPool* pool, int threads) {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel("Conv");
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> info;
  for (size_t i = 0; i < inputs.size(); ++i) {
    TensorInfo t;
    t.dtype = inputs[i]->dtype();
    t.shape = inputs[i]->shape();
    if (constant_weights && (i == 1 || i == 2)) t.constant = inputs[i];
    info.push_back(t);
  }
  auto out_info = def->infer(attrs, info);
  REQUIRE(out_info.ok());
  auto kernel = def->create();
  REQUIRE(kernel->Prepare(attrs, info, *out_info).ok());
  Tensor y(DataType::kFloat32, (*out_info)[0].shape);
  const size_t bytes = kernel->ScratchBytes(threads);
  constexpr size_t kGuard = 256;
  std::vector<std::byte> storage(bytes + kGuard + 64, std::byte{0x5A});
  auto* base =
      reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(storage.data()) + 63) / 64 * 64);
  std::fill(base + bytes, base + bytes + kGuard, std::byte{0xA5});
  RunContext ctx;
  ctx.scratch = base;
  ctx.scratch_bytes = bytes;
  ctx.pool = pool;
  ctx.threads = threads;
  std::vector<const void*> in;
  for (const Tensor* t : inputs) in.push_back(t->data());
  void* out[] = {y.data()};
  kernel->Run(ctx, in, out);
  for (size_t i = 0; i < kGuard; ++i) REQUIRE(base[bytes + i] == std::byte{0xA5});
  return y;
}

TEST_CASE("Conv with packed weights gives the same bits for any thread count",
          "[kernels][sgemm_packed][parallel]") {
  static exec::ThreadPool pool(4);
  std::mt19937 rng(13);
  struct Case {
    const char* what;
    Dims x, w;
    std::vector<int64_t> strides, pads;
    int64_t group;
    bool residual;
    const char* activation;
  };
  const std::vector<Case> cases = {
      {"wide 3x3 (private column blocks)",
       {1, 24, 40, 44},
       {40, 24, 3, 3},
       {1, 1},
       {1, 1, 1, 1},
       1,
       true,
       "Relu"},
      {"wide deep 3x3 (private im2col chunks, row kernel)",
       {1, 64, 26, 24},
       {40, 64, 3, 3},
       {1, 1},
       {1, 1, 1, 1},
       1,
       true,
       "Relu"},
      {"wide pointwise, batch 2",
       {2, 40, 30, 30},
       {72, 40, 1, 1},
       {1, 1},
       {0, 0, 0, 0},
       1,
       false,
       "Clip"},
      {"mid-size strided (shared panels)",
       {1, 64, 28, 28},
       {96, 64, 3, 3},
       {2, 2},
       {1, 1, 1, 1},
       1,
       true,
       "Sigmoid"},
      {"mid-size pointwise",
       {1, 256, 14, 14},
       {200, 256, 1, 1},
       {1, 1},
       {0, 0, 0, 0},
       1,
       false,
       ""},
      {"narrow pointwise (row kernel on X)",
       {2, 256, 7, 7},
       {300, 256, 1, 1},
       {1, 1},
       {0, 0, 0, 0},
       1,
       true,
       "Relu"},
      {"narrow 3x3 (row kernel on im2col)",
       {1, 96, 7, 7},
       {130, 96, 3, 3},
       {1, 1},
       {1, 1, 1, 1},
       1,
       false,
       "Relu"},
      {"two groups", {1, 64, 20, 20}, {96, 32, 3, 3}, {1, 1}, {1, 1, 1, 1}, 2, false, ""},
      // Groups large enough for the GEMM path (not one task per group).
      {"shared im2col, batch 2, two groups",
       {2, 64, 14, 14},
       {256, 32, 3, 3},
       {1, 1},
       {1, 1, 1, 1},
       2,
       true,
       "Relu"},
      {"private im2col, batch 2, two groups, shallow",
       {2, 8, 64, 64},
       {64, 4, 3, 3},
       {1, 1},
       {1, 1, 1, 1},
       2,
       true,
       "Clip"},
      {"one row, strided and padded along the other axis",
       {1, 3, 1, 500},
       {16, 3, 1, 5},
       {1, 2},
       {0, 2, 0, 2},
       1,
       false,
       ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    Tensor x = RandomTensor(c.x, rng);
    Tensor w = RandomTensor(c.w, rng);
    Tensor b = RandomTensor({c.w[0]}, rng);
    Attributes attrs;
    attrs.Set("strides", c.strides);
    attrs.Set("pads", c.pads);
    attrs.Set("group", c.group);
    if (c.activation[0] != 0) attrs.Set("activation", std::string(c.activation));
    if (std::string(c.activation) == "Clip") {
      attrs.Set("activation_alpha", 0.0f);
      attrs.Set("activation_beta", 0.5f);
    }
    std::vector<const Tensor*> inputs = {&x, &w, &b};
    Tensor r;
    if (c.residual) {
      // Y's shape: run once without to learn it.
      Tensor y = RunConv(attrs, inputs, true, nullptr, 1);
      r = RandomTensor(y.shape(), rng);
      inputs.push_back(&r);
    }
    const Tensor serial = RunConv(attrs, inputs, true, nullptr, 1);
    const Tensor unpacked = RunConv(attrs, inputs, false, nullptr, 1);
    CHECK(std::memcmp(serial.data(), unpacked.data(), serial.byte_size()) == 0);
    for (int threads : {2, 3, 5}) {
      CAPTURE(threads);
      for (int rep = 0; rep < 2; ++rep) {
        const Tensor parallel = RunConv(attrs, inputs, true, &pool, threads);
        CHECK(std::memcmp(serial.data(), parallel.data(), serial.byte_size()) == 0);
      }
    }
  }
}

}  // namespace
}  // namespace engine::kernels
