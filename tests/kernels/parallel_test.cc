// Intra-op parallelism of the host kernels: every kernel gives the same bits
// with any thread count (the splits differ, the arithmetic must not), stays
// inside ScratchBytes(threads), and its scratch grows with the thread count.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "kernels/sgemm.h"
#include "kernels/thread_pool.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::RandomTensor;

using engine::kernels::testing::CheckThreadInvariant;
using engine::kernels::testing::Inputs;

TEST_CASE("Conv gives the same bits with any thread count", "[kernels][parallel]") {
  std::mt19937 rng(11);
  SECTION("3x3, bias, residual and fused activation (GEMM grid over im2col tiles)") {
    Tensor x = RandomTensor({2, 32, 40, 36}, rng);
    Tensor w = RandomTensor({96, 32, 3, 3}, rng);
    Tensor b = RandomTensor({96}, rng);
    Tensor r = RandomTensor({2, 96, 40, 36}, rng);
    Attributes attrs;
    attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    attrs.Set("activation", std::string("Sigmoid"));
    CheckThreadInvariant("Conv", attrs, {&x, &w, &b, &r});
  }
  SECTION("many im2col tiles, strided") {
    Tensor x = RandomTensor({1, 64, 130, 130}, rng);
    Tensor w = RandomTensor({32, 64, 3, 3}, rng);
    Attributes attrs;
    attrs.Set("strides", std::vector<int64_t>{1, 2});
    attrs.Set("activation", std::string("Relu"));
    CheckThreadInvariant("Conv", attrs, {&x, &w});
  }
  SECTION("a batch of narrow outputs (shared im2col: whole images per thread, the rest split)") {
    Tensor x = RandomTensor({5, 64, 14, 14}, rng);
    Tensor w = RandomTensor({96, 64, 3, 3}, rng);
    Tensor b = RandomTensor({96}, rng);
    Tensor r = RandomTensor({5, 96, 14, 14}, rng);
    Attributes attrs;
    attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    attrs.Set("activation", std::string("Relu"));
    CheckThreadInvariant("Conv", attrs, {&x, &w, &b, &r});
    CheckThreadInvariant("Conv", attrs, {&x, &w, &b, &r}, Inputs::kConstants);
  }
  SECTION("pointwise, late-layer shape (row blocks)") {
    Tensor x = RandomTensor({1, 512, 7, 7}, rng);
    Tensor w = RandomTensor({1024, 512, 1, 1}, rng);
    Tensor b = RandomTensor({1024}, rng);
    CheckThreadInvariant("Conv", Attributes(), {&x, &w, &b});
  }
  SECTION("depthwise (one group per task)") {
    Tensor x = RandomTensor({1, 48, 57, 57}, rng);
    Tensor w = RandomTensor({48, 1, 3, 3}, rng);
    Tensor b = RandomTensor({48}, rng);
    Attributes attrs;
    attrs.Set("group", int64_t{48});
    attrs.Set("strides", std::vector<int64_t>{2, 2});
    attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    attrs.Set("activation", std::string("Clip"));
    attrs.Set("activation_alpha", 0.0f);
    attrs.Set("activation_beta", 6.0f);
    CheckThreadInvariant("Conv", attrs, {&x, &w, &b});
  }
  SECTION("two large groups (GEMM grid per group)") {
    Tensor x = RandomTensor({1, 64, 30, 30}, rng);
    Tensor w = RandomTensor({128, 32, 3, 3}, rng);
    Attributes attrs;
    attrs.Set("group", int64_t{2});
    CheckThreadInvariant("Conv", attrs, {&x, &w});
  }
}

TEST_CASE("Gemm and MatMul give the same bits with any thread count", "[kernels][parallel]") {
  std::mt19937 rng(12);
  SECTION("Gemm, transposed B, broadcast C, activation") {
    Tensor a = RandomTensor({300, 700}, rng);
    Tensor b = RandomTensor({520, 700}, rng);
    Tensor c = RandomTensor({520}, rng);
    Attributes attrs;
    attrs.Set("transB", int64_t{1});
    attrs.Set("alpha", 0.5f);
    attrs.Set("beta", 2.0f);
    attrs.Set("activation", std::string("Tanh"));
    CheckThreadInvariant("Gemm", attrs, {&a, &b, &c});
  }
  SECTION("Gemm, one row (classifier)") {
    Tensor a = RandomTensor({1, 1280}, rng);
    Tensor b = RandomTensor({1000, 1280}, rng);
    Tensor c = RandomTensor({1000}, rng);
    Attributes attrs;
    attrs.Set("transB", int64_t{1});
    CheckThreadInvariant("Gemm", attrs, {&a, &b, &c});
  }
  SECTION("Gemm, transposed A") {
    Tensor a = RandomTensor({260, 400}, rng);
    Tensor b = RandomTensor({260, 300}, rng);
    Attributes attrs;
    attrs.Set("transA", int64_t{1});
    CheckThreadInvariant("Gemm", attrs, {&a, &b});
  }
  SECTION("Gemm, constant weights (packed path), N-D A, bias, residual, Gelu") {
    Tensor a = RandomTensor({2, 97, 300}, rng);
    Tensor b = RandomTensor({300, 430}, rng);
    Tensor c = RandomTensor({430}, rng);
    Tensor r = RandomTensor({2, 97, 430}, rng);
    Attributes attrs;
    attrs.Set("activation", std::string("Gelu"));
    CheckThreadInvariant("Gemm", attrs, {&a, &b, &c, &r}, Inputs::kConstants);
  }
  SECTION("Gemm, constant weights, ViT's 197 rows and several row blocks (600 rows)") {
    // One row block of 197 rows packed in four 64-row units by whichever
    // thread claims them; 600 rows: three row blocks.
    for (int64_t m : {197, 600}) {
      Tensor a = RandomTensor({1, m, 160}, rng);
      Tensor b = RandomTensor({160, 500}, rng);
      Tensor c = RandomTensor({500}, rng);
      Tensor r = RandomTensor({1, m, 500}, rng);
      CAPTURE(m);
      CheckThreadInvariant("Gemm", Attributes(), {&a, &b, &c, &r}, Inputs::kConstants);
    }
  }
  SECTION("MatMul, batched with broadcasting") {
    Tensor a = RandomTensor({3, 2, 100, 64}, rng);
    Tensor b = RandomTensor({2, 64, 300}, rng);
    CheckThreadInvariant("MatMul", Attributes(), {&a, &b});
  }
  SECTION("MatMul, folded batch") {
    Tensor a = RandomTensor({4, 200, 256}, rng);
    Tensor b = RandomTensor({256, 384}, rng);
    CheckThreadInvariant("MatMul", Attributes(), {&a, &b});
  }
}

TEST_CASE("Pooling, normalization and elementwise kernels give the same bits with any thread count",
          "[kernels][parallel]") {
  std::mt19937 rng(13);
  Tensor x = RandomTensor({2, 37, 45, 41}, rng);
  SECTION("pooling") {
    Attributes attrs;
    attrs.Set("kernel_shape", std::vector<int64_t>{3, 3});
    attrs.Set("strides", std::vector<int64_t>{2, 2});
    attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    CheckThreadInvariant("MaxPool", attrs, {&x});
    CheckThreadInvariant("AveragePool", attrs, {&x});
    CheckThreadInvariant("GlobalAveragePool", Attributes(), {&x});
  }
  SECTION("normalization") {
    Tensor scale = RandomTensor({37}, rng), bias = RandomTensor({37}, rng);
    Tensor mean = RandomTensor({37}, rng), var = RandomTensor({37}, rng, 0.5f, 2.0f);
    CheckThreadInvariant("BatchNormalization", Attributes(), {&x, &scale, &bias, &mean, &var});
    Attributes axis1;
    axis1.Set("axis", int64_t{1});
    CheckThreadInvariant("Softmax", axis1, {&x});
    CheckThreadInvariant("Softmax", Attributes(), {&x});
    Attributes lrn;
    lrn.Set("size", int64_t{5});
    CheckThreadInvariant("LRN", lrn, {&x});
  }
  SECTION("unary, on a length that is no multiple of anything") {
    Tensor odd = RandomTensor({1, 3, 211, 199}, rng, -8.0f, 8.0f);
    for (const char* type : {"Relu", "Sigmoid", "Tanh", "HardSwish", "LeakyRelu"}) {
      CheckThreadInvariant(type, Attributes(), {&odd});
    }
  }
  SECTION("binary with broadcasting, and Sum") {
    Tensor c = RandomTensor({37, 1, 1}, rng);
    Tensor row = RandomTensor({41}, rng);
    Tensor same = RandomTensor({2, 37, 45, 41}, rng, 0.5f, 1.5f);
    CheckThreadInvariant("Add", Attributes(), {&x, &c});
    CheckThreadInvariant("Mul", Attributes(), {&x, &row});
    CheckThreadInvariant("Div", Attributes(), {&x, &same});
    CheckThreadInvariant("Sum", Attributes(), {&x, &same, &c});
  }
}

TEST_CASE("SgemmGrid depends only on the shape and covers the output once", "[kernels][parallel]") {
  for (auto [m, n, k] : {std::array<int64_t, 3>{64, 3136, 576}, {2048, 49, 512}, {1, 1000, 2048},
                         {512, 49, 4608}, {7, 9, 3}, {1000, 1000, 1000}}) {
    CAPTURE(m, n, k);
    const SgemmGrid grid(m, n, k);
    CHECK(grid.blocks() >= 1);
    CHECK(grid.blocks() <= SgemmGrid::kMaxBlocks);
    std::vector<int> covered(static_cast<size_t>(m * n), 0);
    for (int64_t i = 0; i < grid.blocks(); ++i) {
      int64_t m0, m1, n0, n1;
      grid.Block(i, &m0, &m1, &n0, &n1);
      REQUIRE(0 <= m0);
      REQUIRE(m0 < m1);
      REQUIRE(m1 <= m);
      REQUIRE(0 <= n0);
      REQUIRE(n0 < n1);
      REQUIRE(n1 <= n);
      for (int64_t r = m0; r < m1; ++r) {
        for (int64_t c = n0; c < n1; ++c) ++covered[r * n + c];
      }
    }
    CHECK(std::count(covered.begin(), covered.end(), 1) == m * n);
  }
  // Large products are split (a GEMM of ResNet-50's first stage).
  CHECK(SgemmGrid(64, 3136, 576).blocks() > 1);
  CHECK(SgemmGrid(2048, 49, 512).blocks() > 1);
}

}  // namespace
}  // namespace engine::kernels
