// Helpers shared by the kernel tests.
#ifndef ENGINE_TESTS_KERNELS_KERNEL_TEST_UTIL_H_
#define ENGINE_TESTS_KERNELS_KERNEL_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "kernels/kernel.h"
#include "kernels/thread_pool.h"

namespace engine::kernels::testing {

/// Runs layer `type` on constant inputs with the built-in registry.
inline absl::StatusOr<std::vector<Tensor>> Eval(const std::string& type, const Attributes& attrs,
                                                std::vector<const Tensor*> inputs) {
  return ops::EvaluateLayer(ops::OpRegistry::Builtin(), type, attrs, inputs);
}

/// Runs a single-output layer and returns its output (failing the test on error).
inline Tensor Eval1(const std::string& type, const Attributes& attrs,
                    std::vector<const Tensor*> inputs) {
  absl::StatusOr<std::vector<Tensor>> out = Eval(type, attrs, inputs);
  INFO(type << ": " << out.status().ToString());
  REQUIRE(out.ok());
  REQUIRE(out->size() == 1);
  return std::move((*out)[0]);
}

/// Whether RunWithThreads hands the inputs to Prepare as constants (their
/// values visible at build time, as for weights or axes) or as activations.
enum class Inputs { kActivations, kConstants };

/// Prepares `type` for `inputs` (nullptr: an absent optional input) and runs
/// it with `threads` threads of `pool` (nullptr: serial), checking that the
/// 256 bytes past ScratchBytes(threads) are left alone and that scratch does
/// not shrink with more threads. Returns the outputs.
/// The same for a kernel given by its definition (e.g. one not registered as
/// a layer).
inline std::vector<Tensor> RunDefWithThreads(const KernelDef* def, const Attributes& attrs,
                                             const std::vector<const Tensor*>& inputs,
                                             exec::ThreadPool* pool, int threads,
                                             Inputs kind = Inputs::kActivations) {
  constexpr size_t kGuardBytes = 256;
  constexpr std::byte kGuard{0xA5};
  REQUIRE(def != nullptr);
  const std::string& type = def->type;
  std::vector<TensorInfo> in_info;
  for (const Tensor* t : inputs) {
    TensorInfo info;
    if (t == nullptr) {
      info.present = false;
    } else {
      info.dtype = t->dtype();
      info.shape = t->shape();
      if (kind == Inputs::kConstants) info.constant = t;
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

inline std::vector<Tensor> RunWithThreads(const std::string& type, const Attributes& attrs,
                                          const std::vector<const Tensor*>& inputs,
                                          exec::ThreadPool* pool, int threads,
                                          Inputs kind = Inputs::kActivations) {
  const KernelDef* def = ops::OpRegistry::Builtin().FindKernel(type);
  INFO(type);
  REQUIRE(def != nullptr);
  return RunDefWithThreads(def, attrs, inputs, pool, threads, kind);
}

/// Outputs with 2, 3 and 5 threads (a pool of 4 workers), three runs each
/// (the split depends on which workers are idle), are bit-identical to the
/// serial run's.
inline void CheckThreadInvariant(const std::string& type, const Attributes& attrs,
                                 const std::vector<const Tensor*>& inputs,
                                 Inputs kind = Inputs::kActivations) {
  static exec::ThreadPool pool(4);
  const std::vector<Tensor> serial = RunWithThreads(type, attrs, inputs, nullptr, 1, kind);
  for (int threads : {2, 3, 5}) {
    CAPTURE(type, threads);
    for (int rep = 0; rep < 3; ++rep) {
      const std::vector<Tensor> parallel = RunWithThreads(type, attrs, inputs, &pool, threads, kind);
      REQUIRE(parallel.size() == serial.size());
      for (size_t i = 0; i < serial.size(); ++i) {
        REQUIRE(parallel[i].byte_size() == serial[i].byte_size());
        CHECK(std::memcmp(parallel[i].data(), serial[i].data(), serial[i].byte_size()) == 0);
      }
    }
  }
}

}  // namespace engine::kernels::testing

#endif  // ENGINE_TESTS_KERNELS_KERNEL_TEST_UTIL_H_
