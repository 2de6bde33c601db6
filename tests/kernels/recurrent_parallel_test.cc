// Intra-op parallelism of the Einsum and recurrent kernels (ops-index): the
// same bits with any thread count, scratch use within ScratchBytes(threads).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/kernel_test_util.h"
#include "kernels/thread_pool.h"
#include "ops/op_registry.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::RandomTensor;

using engine::kernels::testing::CheckThreadInvariant;

TEST_CASE("Einsum and VectorEinsum give the same bits with any thread count",
          "[kernels][parallel]") {
  std::mt19937 rng(5);
  Tensor q = RandomTensor({2, 8, 33, 16}, rng);
  Tensor k = RandomTensor({2, 8, 29, 16}, rng);
  Attributes attrs;
  attrs.Set("equation", std::string("bhqd,bhkd->bhqk"));
  CheckThreadInvariant("Einsum", attrs, {&q, &k});  // one Sgemm per group
  Tensor x = RandomTensor({64, 48}, rng);
  Attributes sum;
  sum.Set("equation", std::string("ij->j"));
  CheckThreadInvariant("VectorEinsum", sum, {&x});  // explicit loop over outputs
}

TEST_CASE("Bidirectional LSTM and GRU give the same bits with any thread count",
          "[kernels][parallel]") {
  std::mt19937 rng(9);
  const int64_t seq = 7, batch = 3, in = 10, h = 12;
  Tensor x = RandomTensor({seq, batch, in}, rng);
  Attributes attrs;
  attrs.Set("direction", std::string("bidirectional"));
  attrs.Set("hidden_size", h);
  Tensor w4 = RandomTensor({2, 4 * h, in}, rng);
  Tensor r4 = RandomTensor({2, 4 * h, h}, rng);
  Tensor b4 = RandomTensor({2, 8 * h}, rng);
  CheckThreadInvariant("LSTM", attrs, {&x, &w4, &r4, &b4});
  Tensor w3 = RandomTensor({2, 3 * h, in}, rng);
  Tensor r3 = RandomTensor({2, 3 * h, h}, rng);
  CheckThreadInvariant("GRU", attrs, {&x, &w3, &r3});
}

}  // namespace
}  // namespace engine::kernels
