// Intra-op parallelism of the Einsum and recurrent kernels (ops-index): the
// same bits with any thread count, scratch use within ScratchBytes(threads).
// The helper mirrors parallel_test.cc's.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/thread_pool.h"
#include "ops/op_registry.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::testing::RandomTensor;

constexpr size_t kGuardBytes = 256;
constexpr std::byte kGuard{0xA5};

// Prepares `type` for `inputs` and runs it with `threads` threads of `pool`
// (nullptr: serial), checking that the scratch beyond ScratchBytes(threads)
// is left alone. Returns the outputs.
std::vector<Tensor> RunWith(const std::string& type, const Attributes& attrs,
                            const std::vector<const Tensor*>& inputs, exec::ThreadPool* pool,
                            int threads) {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel(type);
  REQUIRE(def != nullptr);
  std::vector<TensorInfo> in_info;
  for (const Tensor* t : inputs) {
    TensorInfo info;
    if (t == nullptr) {
      info.present = false;
    } else {
      info.dtype = t->dtype();
      info.shape = t->shape();
    }
    in_info.push_back(info);
  }
  auto out_info = def->infer(attrs, in_info);
  INFO(type << ": " << out_info.status().ToString());
  REQUIRE(out_info.ok());
  auto kernel = def->create();
  REQUIRE(kernel->Prepare(attrs, in_info, *out_info).ok());
  std::vector<Tensor> outputs;
  std::vector<void*> out_ptrs;
  for (const TensorInfo& info : *out_info) {
    outputs.emplace_back(info.dtype, info.shape);
    out_ptrs.push_back(outputs.back().data());
  }
  std::vector<const void*> in_ptrs;
  for (const Tensor* t : inputs) in_ptrs.push_back(t == nullptr ? nullptr : t->data());
  const size_t bytes = kernel->ScratchBytes(threads);
  CHECK(bytes >= kernel->ScratchBytes(1));
  Tensor scratch(DataType::kUint8, {static_cast<int64_t>(bytes + kGuardBytes)});
  auto* base = static_cast<std::byte*>(scratch.data());
  std::fill(base + bytes, base + bytes + kGuardBytes, kGuard);
  RunContext ctx;
  ctx.scratch = base;
  ctx.scratch_bytes = bytes;
  ctx.pool = pool;
  ctx.threads = threads;
  kernel->Run(ctx, in_ptrs, out_ptrs);
  for (size_t i = 0; i < kGuardBytes; ++i) REQUIRE(base[bytes + i] == kGuard);
  return outputs;
}

// Outputs with 2, 3 and 5 threads (a pool of 4 workers) are bit-identical to
// the serial run's.
void CheckThreadInvariant(const std::string& type, const Attributes& attrs,
                          const std::vector<const Tensor*>& inputs) {
  static exec::ThreadPool pool(4);
  const std::vector<Tensor> serial = RunWith(type, attrs, inputs, nullptr, 1);
  for (int threads : {2, 3, 5}) {
    CAPTURE(type, threads);
    // Several runs: the split depends on which workers are idle.
    for (int rep = 0; rep < 3; ++rep) {
      const std::vector<Tensor> parallel = RunWith(type, attrs, inputs, &pool, threads);
      REQUIRE(parallel.size() == serial.size());
      for (size_t i = 0; i < serial.size(); ++i) {
        REQUIRE(parallel[i].byte_size() == serial[i].byte_size());
        CHECK(std::memcmp(parallel[i].data(), serial[i].data(), serial[i].byte_size()) == 0);
      }
    }
  }
}

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
