// Host FP32 time per layer of BERT-base (seq 128) and ViT-B/16 (197 tokens)
// after the optimizer's fusions, through the kernel registry exactly as the
// executor runs them (weights constant at Prepare, scratch from
// ScratchBytes): the Q/K/V/output projections (Gemm, bias; the output
// projection with the residual), the FFN Gemms (bias + GELU; bias +
// residual), the fused Attention layer (12 heads of 64, packed [1, seq, 768]
// operands, BERT with its [1, 1, 1, 128] padding mask) and LayerNorm.
//
// Each layer kind is prepared on `copies` distinct weight sets (at least
// 64 MiB of weights per kind) used in turn, so the weights come from DRAM
// as in the 12-layer model, not from a cache that one layer's weights fit.
//
// Per layer kind and thread count: ms per call, wall time (--clock=cpu: the
// process's CPU time, all threads summed, spinning included; at 1 thread
// less disturbed by other load on a shared machine), the median of 7
// rounds (each round runs every thread count in turn, so load that drifts
// over the run is shared by all thread counts), GFLOP/s, and the scaling
// t(1) / t(N). Threads beyond 1 are a pool of N - 1 workers, like the
// executor's.
//
// Usage: transformer_layers_bench [--threads=1,2] [--model=bert_base|vit_b16|all]
//        [--filter=SUBSTRING] [--calls=N] [--clock=wall|cpu]
// Build: cmake --build build --target transformer_layers_bench
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/thread_pool.h"
#include "ops/op_registry.h"
#include "kernel_bench_util.h"

namespace {

using namespace engine;
using namespace engine::kernels;

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

using Layer = bench::BenchLayer;
using bench::PrepareLayer;

Tensor Random(Dims shape, std::mt19937& rng, float scale) {
  return bench::RandomTensor(std::move(shape), rng, scale);
}

struct Kind {
  std::string label;
  double flop = 0;
  std::vector<Layer> copies;
};

void Run(const Layer& layer, exec::ThreadPool* pool, int threads, std::byte* scratch) {
  bench::RunLayer(layer, pool, threads, scratch);
}

// The fused layers of one encoder block of a model with `seq` tokens.
bool MakeKinds(const std::string& model, int64_t seq, const std::string& filter,
               std::vector<Kind>* kinds) {
  std::mt19937 rng(7);
  constexpr int64_t kHidden = 768, kFfn = 3072, kHeads = 12;
  auto gemm = [&](const std::string& what, int64_t k, int64_t n, bool gelu, bool residual) {
    Kind kind;
    kind.label = model + " " + what;
    if (!filter.empty() && kind.label.find(filter) == std::string::npos) return true;
    kind.flop = 2.0 * seq * k * n;
    const int64_t weights = k * n * 4;
    const int copies = static_cast<int>(std::max<int64_t>(2, (int64_t{64} << 20) / weights + 1));
    for (int c = 0; c < copies; ++c) {
      Attributes attrs;
      if (gelu) attrs.Set("activation", std::string("Gelu"));
      std::vector<Tensor> in;
      in.push_back(Random({1, seq, k}, rng, 1.0f));
      in.push_back(Random({k, n}, rng, 0.05f));
      in.push_back(Random({n}, rng, 0.1f));
      std::vector<bool> constant = {false, true, true};
      if (residual) {
        in.push_back(Random({1, seq, n}, rng, 1.0f));
        constant.push_back(false);
      }
      Layer layer;
      if (!PrepareLayer("Gemm", attrs, std::move(in), constant, &layer)) return false;
      kind.copies.push_back(std::move(layer));
    }
    kinds->push_back(std::move(kind));
    return true;
  };
  if (!gemm("q/k/v proj 768x768", kHidden, kHidden, false, false)) return false;
  if (!gemm("out proj 768x768 +res", kHidden, kHidden, false, true)) return false;
  if (!gemm("ffn1 768x3072 gelu", kHidden, kFfn, true, false)) return false;
  if (!gemm("ffn2 3072x768 +res", kFfn, kHidden, false, true)) return false;
  {
    Kind kind;
    kind.label = model + " attention 12x64";
    if (filter.empty() || kind.label.find(filter) != std::string::npos) {
      kind.flop = 2.0 * 2.0 * kHeads * seq * seq * 64;
      for (int c = 0; c < 4; ++c) {
        Attributes attrs;
        attrs.Set("num_heads", kHeads);
        attrs.Set("output_packed", int64_t{1});
        attrs.Set("scale_mode", std::string("div"));
        attrs.Set("scale", 8.0f);
        std::vector<Tensor> in;
        for (int i = 0; i < 3; ++i) in.push_back(Random({1, seq, kHidden}, rng, 1.0f));
        std::vector<bool> constant = {false, false, false};
        if (model == "bert_base") {
          Tensor mask(DataType::kFloat32, {1, 1, 1, seq});
          for (int64_t j = 0; j < seq; ++j) mask.data_as<float>()[j] = j < 100 ? 0.0f : -3.4e38f;
          in.push_back(std::move(mask));
          constant.push_back(false);
        }
        Layer layer;
        if (!PrepareLayer("Attention", attrs, std::move(in), constant, &layer)) return false;
        kind.copies.push_back(std::move(layer));
      }
      kinds->push_back(std::move(kind));
    }
  }
  {
    Kind kind;
    kind.label = model + " layernorm 768";
    if (filter.empty() || kind.label.find(filter) != std::string::npos) {
      for (int c = 0; c < 4; ++c) {
        Attributes attrs;
        attrs.Set("axis", int64_t{-1});
        std::vector<Tensor> in;
        in.push_back(Random({1, seq, kHidden}, rng, 1.0f));
        in.push_back(Random({kHidden}, rng, 1.0f));
        in.push_back(Random({kHidden}, rng, 0.1f));
        Layer layer;
        if (!PrepareLayer("LayerNormalization", attrs, std::move(in), {false, true, true}, &layer)) {
          return false;
        }
        kind.copies.push_back(std::move(layer));
      }
      kinds->push_back(std::move(kind));
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> thread_counts = {1, 2};
  std::string model_name = "all", filter;
  int calls = 0;
  bool cpu_clock = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--threads=", 0) == 0) {
      thread_counts.clear();
      const char* p = a.c_str() + 10;
      while (*p != 0) {
        char* end = nullptr;
        thread_counts.push_back(std::max(1, static_cast<int>(std::strtol(p, &end, 10))));
        p = *end == ',' ? end + 1 : end;
      }
    } else if (a.rfind("--model=", 0) == 0) {
      model_name = a.substr(8);
    } else if (a.rfind("--filter=", 0) == 0) {
      filter = a.substr(9);
    } else if (a == "--clock=cpu" || a == "--clock=wall") {
      cpu_clock = a == "--clock=cpu";
    } else if (a.rfind("--calls=", 0) == 0) {
      calls = std::atoi(a.c_str() + 8);
    } else {
      std::fprintf(stderr,
                   "usage: transformer_layers_bench [--threads=1,2] [--model=M] [--filter=S] "
                   "[--calls=N] [--clock=wall|cpu]\n");
      return 2;
    }
  }
  const int max_threads = *std::max_element(thread_counts.begin(), thread_counts.end());
  exec::ThreadPool pool(max_threads - 1);
  std::vector<Kind> kinds;
  for (const auto& [name, seq] : {std::pair<std::string, int64_t>{"bert_base", 128},
                                  std::pair<std::string, int64_t>{"vit_b16", 197}}) {
    if (model_name != "all" && model_name != name) continue;
    if (!MakeKinds(name, seq, filter, &kinds)) return 1;
  }
  std::printf("%-36s %7s %10s %9s %8s\n", "layer", "threads", "ms/call", "GFLOP/s", "t1/tN");
  for (const Kind& kind : kinds) {
    size_t bytes = 0;
    for (const Layer& l : kind.copies) bytes = std::max(bytes, l.kernel->ScratchBytes(max_threads));
    std::vector<std::byte> storage(bytes + 64);
    auto* scratch =
        reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(storage.data()) + 63) / 64 * 64);
    const int n = calls > 0 ? calls : static_cast<int>(std::max<size_t>(kind.copies.size(), 24));
    // Rounds of every thread count in turn; per thread count the median.
    std::vector<std::vector<double>> times(thread_counts.size());
    for (int round = 0; round < 8; ++round) {
      for (size_t ti = 0; ti < thread_counts.size(); ++ti) {
        const int threads = thread_counts[ti];
        exec::ThreadPool* p = threads > 1 ? &pool : nullptr;
        auto now = [&] { return cpu_clock ? CpuSeconds() : WallSeconds(); };
        const double t0 = now();
        for (int c = 0; c < n; ++c) Run(kind.copies[c % kind.copies.size()], p, threads, scratch);
        if (round > 0) times[ti].push_back((now() - t0) / n);  // round 0: warm-up
      }
    }
    double base = 0;
    for (size_t ti = 0; ti < thread_counts.size(); ++ti) {
      std::vector<double>& v = times[ti];
      std::sort(v.begin(), v.end());
      const double med = v[v.size() / 2];
      if (ti == 0) base = med;
      std::printf("%-36s %7d %10.4f %9.1f %8.2f\n", kind.label.c_str(), thread_counts[ti],
                  med * 1e3, kind.flop > 0 ? kind.flop / med * 1e-9 : 0.0, base / med);
    }
    std::fflush(stdout);
  }
  return 0;
}
