// Shared pieces of the kernel benches (bench/conv_bench.cc,
// bench/transformer_layers_bench.cc): a layer prepared through the kernel
// registry exactly as the executor prepares it, run on a given pool.
#ifndef ENGINE_BENCH_KERNEL_BENCH_UTIL_H_
#define ENGINE_BENCH_KERNEL_BENCH_UTIL_H_

#include <cstddef>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/thread_pool.h"
#include "ops/op_registry.h"

namespace engine::bench {

/// A float32 tensor of `shape` with values uniform in [-scale, scale] from `rng`.
inline Tensor RandomTensor(Dims shape, std::mt19937& rng, float scale) {
  Tensor t(DataType::kFloat32, std::move(shape));
  std::uniform_real_distribution<float> dist(-scale, scale);
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.num_elements(); ++i) p[i] = dist(rng);
  return t;
}

/// One prepared layer: its kernel, its input tensors (constants included),
/// and its one float32 output.
struct BenchLayer {
  std::unique_ptr<kernels::Kernel> kernel;
  std::vector<Tensor> inputs;
  Tensor output;
};

/// Prepares the builtin kernel of op `type` with `attrs` on `inputs`
/// (`constant[i]`: input i is a constant the kernel may pack at Prepare)
/// into `layer`; the output shape is the op's shape function's. Returns
/// false after printing "TYPE: error" to stderr when the shape function or
/// Prepare fails.
inline bool PrepareLayer(const std::string& type, const Attributes& attrs,
                         std::vector<Tensor> inputs, const std::vector<bool>& constant,
                         BenchLayer* layer) {
  const kernels::KernelDef* def = ops::OpRegistry::Builtin().FindKernel(type);
  if (def == nullptr) {
    std::fprintf(stderr, "%s: no kernel\n", type.c_str());
    return false;
  }
  std::vector<kernels::TensorInfo> info;
  for (size_t i = 0; i < inputs.size(); ++i) {
    kernels::TensorInfo t;
    t.dtype = inputs[i].dtype();
    t.shape = inputs[i].shape();
    if (constant[i]) t.constant = &inputs[i];
    info.push_back(t);
  }
  auto out = def->infer(attrs, info);
  if (!out.ok()) {
    std::fprintf(stderr, "%s: %s\n", type.c_str(), out.status().ToString().c_str());
    return false;
  }
  layer->kernel = def->create();
  auto st = layer->kernel->Prepare(attrs, info, *out);
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", type.c_str(), st.ToString().c_str());
    return false;
  }
  layer->inputs = std::move(inputs);
  layer->output = Tensor(DataType::kFloat32, (*out)[0].shape);
  return true;
}

/// Runs `layer` once on `threads` threads of `pool` (nullptr: the caller's
/// thread only) with `scratch` (at least kernel->ScratchBytes(threads) bytes).
inline void RunLayer(const BenchLayer& layer, exec::ThreadPool* pool, int threads,
                     std::byte* scratch) {
  kernels::RunContext ctx;
  ctx.pool = pool;
  ctx.threads = threads;
  ctx.scratch = scratch;
  ctx.scratch_bytes = layer.kernel->ScratchBytes(threads);
  std::vector<const void*> in;
  for (const Tensor& t : layer.inputs) in.push_back(t.data());
  void* out[] = {const_cast<Tensor&>(layer.output).data()};
  layer.kernel->Run(ctx, in, out);
}

}  // namespace engine::bench

#endif  // ENGINE_BENCH_KERNEL_BENCH_UTIL_H_
