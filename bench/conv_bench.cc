// Host FP32 Conv / Gemm kernel time per layer shape of ResNet-50 and
// MobileNetV2 (batch 1, 224 x 224), through the kernel registry exactly as the
// executor runs them (weights constant at Prepare, fused bias + ReLU
// epilogue, scratch from ScratchBytes).
//
// Default mode: one thread, time = the calling thread's CPU time (best of 5
// batches), so that other load on a shared machine disturbs it less. With
// --threads=N (N > 1): wall time with a pool of N - 1 workers (best of 5
// batches), noisier on a busy machine.
//
// Usage: conv_bench [--min-time=SECONDS] [--threads=N] [--model=resnet50|mobilenetv2|all]
//        [--filter=SUBSTRING] [--batch=N]
// --batch=N runs every layer on N images (X [N, C, H, W]; the GFLOP/s count
// all N): whether a kernel gains from a batch (the dynamic batcher's case).
// Prints per shape: count in the model, ms per call, GFLOP/s, ms x count;
// then the model's total over the listed layers.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ops/op_registry.h"
#include "kernels/kernel.h"
#include "kernels/sgemm.h"
#include "kernels/sgemm_packed.h"
#include "kernels/thread_pool.h"
#include "kernel_bench_util.h"

namespace {

using namespace engine;
using namespace engine::kernels;

struct ConvShape {
  int count;
  int64_t c, h, w, m, k, stride, pad, group;
  bool relu;
  bool residual;
};

struct Model {
  const char* name;
  std::vector<ConvShape> convs;
  int64_t fc_in, fc_out;
};

// From models/out/*.onnx (models/generate.py), after the optimizer's fusions.
Model ResNet50() {
  return {"resnet50",
          {
              {1, 3, 224, 224, 64, 7, 2, 3, 1, true, false},
              {1, 64, 56, 56, 64, 1, 1, 0, 1, true, false},
              {3, 64, 56, 56, 64, 3, 1, 1, 1, true, false},
              {4, 64, 56, 56, 256, 1, 1, 0, 1, true, true},
              {2, 256, 56, 56, 64, 1, 1, 0, 1, true, false},
              {1, 256, 56, 56, 128, 1, 1, 0, 1, true, false},
              {1, 128, 56, 56, 128, 3, 2, 1, 1, true, false},
              {4, 128, 28, 28, 512, 1, 1, 0, 1, true, true},
              {1, 256, 56, 56, 512, 1, 2, 0, 1, false, false},
              {3, 512, 28, 28, 128, 1, 1, 0, 1, true, false},
              {3, 128, 28, 28, 128, 3, 1, 1, 1, true, false},
              {1, 512, 28, 28, 256, 1, 1, 0, 1, true, false},
              {1, 256, 28, 28, 256, 3, 2, 1, 1, true, false},
              {6, 256, 14, 14, 1024, 1, 1, 0, 1, true, true},
              {1, 512, 28, 28, 1024, 1, 2, 0, 1, false, false},
              {5, 1024, 14, 14, 256, 1, 1, 0, 1, true, false},
              {5, 256, 14, 14, 256, 3, 1, 1, 1, true, false},
              {1, 1024, 14, 14, 512, 1, 1, 0, 1, true, false},
              {1, 512, 14, 14, 512, 3, 2, 1, 1, true, false},
              {3, 512, 7, 7, 2048, 1, 1, 0, 1, true, true},
              {1, 1024, 14, 14, 2048, 1, 2, 0, 1, false, false},
              {2, 2048, 7, 7, 512, 1, 1, 0, 1, true, false},
              {2, 512, 7, 7, 512, 3, 1, 1, 1, true, false},
          },
          2048,
          1000};
}

Model MobileNetV2() {
  return {"mobilenetv2",
          {
              {1, 3, 224, 224, 32, 3, 2, 1, 1, true, false},
              {1, 32, 112, 112, 32, 3, 1, 1, 32, true, false},
              {1, 32, 112, 112, 16, 1, 1, 0, 1, false, false},
              {1, 16, 112, 112, 96, 1, 1, 0, 1, true, false},
              {1, 96, 112, 112, 96, 3, 2, 1, 96, true, false},
              {1, 96, 56, 56, 24, 1, 1, 0, 1, false, false},
              {2, 24, 56, 56, 144, 1, 1, 0, 1, true, false},
              {1, 144, 56, 56, 144, 3, 1, 1, 144, true, false},
              {1, 144, 56, 56, 24, 1, 1, 0, 1, false, true},
              {1, 144, 56, 56, 144, 3, 2, 1, 144, true, false},
              {1, 144, 28, 28, 32, 1, 1, 0, 1, false, false},
              {3, 32, 28, 28, 192, 1, 1, 0, 1, true, false},
              {2, 192, 28, 28, 192, 3, 1, 1, 192, true, false},
              {2, 192, 28, 28, 32, 1, 1, 0, 1, false, true},
              {1, 192, 28, 28, 192, 3, 2, 1, 192, true, false},
              {1, 192, 14, 14, 64, 1, 1, 0, 1, false, false},
              {4, 64, 14, 14, 384, 1, 1, 0, 1, true, false},
              {4, 384, 14, 14, 384, 3, 1, 1, 384, true, false},
              {3, 384, 14, 14, 64, 1, 1, 0, 1, false, true},
              {1, 384, 14, 14, 96, 1, 1, 0, 1, false, false},
              {3, 96, 14, 14, 576, 1, 1, 0, 1, true, false},
              {2, 576, 14, 14, 576, 3, 1, 1, 576, true, false},
              {2, 576, 14, 14, 96, 1, 1, 0, 1, false, true},
              {1, 576, 14, 14, 576, 3, 2, 1, 576, true, false},
              {1, 576, 7, 7, 160, 1, 1, 0, 1, false, false},
              {3, 160, 7, 7, 960, 1, 1, 0, 1, true, false},
              {3, 960, 7, 7, 960, 3, 1, 1, 960, true, false},
              {2, 960, 7, 7, 160, 1, 1, 0, 1, false, true},
              {1, 960, 7, 7, 320, 1, 1, 0, 1, false, false},
              {1, 320, 7, 7, 1280, 1, 1, 0, 1, true, false},
          },
          1280,
          1000};
}

double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <typename Fn>
double SecondsPerCall(Fn&& fn, double min_time, bool wall) {
  fn();
  double best = 1e30;
  for (int batch = 0; batch < 5; ++batch) {
    int64_t calls = 0;
    const double start = wall ? WallSeconds() : ThreadSeconds();
    double elapsed = 0;
    do {
      fn();
      ++calls;
      elapsed = (wall ? WallSeconds() : ThreadSeconds()) - start;
    } while (elapsed < min_time / 5);
    best = std::min(best, elapsed / static_cast<double>(calls));
  }
  return best;
}

using bench::PrepareLayer;
using bench::RunLayer;

// A prepared layer and what the report adds up.
struct Layer : bench::BenchLayer {
  std::vector<std::byte> scratch_storage;
  int64_t macs = 0;
};

Tensor Random(Dims shape, std::mt19937& rng, float scale) {
  return bench::RandomTensor(std::move(shape), rng, scale);
}

// --gemm: the bare products of the model's convolutions (im2col shapes
// M x K x N), Eigen's Sgemm against the packed kernels (B packed per call,
// A packed once), with the max difference between them.
struct GemmShape {
  int64_t m, k, n;
};

std::vector<GemmShape> ModelGemms(const Model& model) {
  std::vector<GemmShape> out;
  for (const ConvShape& s : model.convs) {
    if (s.group != 1) continue;
    const int64_t oh = (s.h + 2 * s.pad - s.k) / s.stride + 1;
    out.push_back({s.m, s.c * s.k * s.k, oh * oh});
  }
  return out;
}

int GemmMode(const char* name, const std::vector<GemmShape>& shapes, double min_time) {
  std::mt19937 rng(7);
  std::printf("%s GEMMs, 1 thread, CPU time, GFLOP/s (path %s)\n", name, SgemmPackedPath());
  std::printf("%-22s %9s %9s %9s %9s %9s\n", "MxKxN", "eigen", "panels", "direct", "rows",
              "maxdiff");
  for (const GemmShape& s : shapes) {
    const int64_t m = s.m, k = s.k, n = s.n;
    std::vector<float> a(m * k), b(k * n), c0(m * n), c1(m * n), c2(m * n);
    std::uniform_real_distribution<float> dist(-1, 1);
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
    std::vector<float> ws_storage(SgemmWorkspaceBytes(m, n, k) / 4 + 32);
    float* ws_ptr =
        reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(ws_storage.data()) + 63) / 64 * 64);
    const double eigen = SecondsPerCall(
        [&] {
          Sgemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c0.data(), n, ws_ptr,
                SgemmWorkspaceBytes(m, n, k));
        },
        min_time, false);
    std::vector<float> pa(PackedAFloats(m, k)), pb(PackedBFloats(k, 0, n));
    PackA(a.data(), m, k, k, 1, pa.data());
    SgemmEpilogue ep;
    const double panels = SecondsPerCall(
        [&] {
          // Goto's loops: B blocks of SgemmBlockDepth x SgemmBlockCols.
          const int64_t kc = SgemmBlockDepth(k), nc = SgemmBlockCols();
          for (int64_t j0 = 0; j0 < n; j0 += nc) {
            const int64_t j1 = std::min(n, j0 + nc);
            for (int64_t k0 = 0; k0 < k; k0 += kc) {
              const int64_t k1 = std::min(k, k0 + kc);
              PackB(b.data(), n, 1, k0, k1, j0, j1, pb.data());
              SgemmPanels(pa.data(), m, k, k0, k1, 0, m, pb.data(), j0, j1, c1.data(), n, ep);
            }
          }
        },
        min_time, false);
    std::vector<float> c3(m * n);
    const double direct = SecondsPerCall(
        [&] { SgemmPanelsDirect(pa.data(), m, k, 0, m, b.data(), n, 0, n, c3.data(), n, ep); },
        min_time, false);
    const double rows =
        n <= 4096
            ? SecondsPerCall(
                  [&] { SgemmRows(pa.data(), m, k, 0, m, b.data(), n, 0, n, c2.data(), n, ep); },
                  min_time, false)
            : 0;
    float diff = 0;
    for (int64_t i = 0; i < m * n; ++i) {
      diff = std::max(diff, std::abs(c0[i] - c1[i]));
      if ((n <= 4096 && c1[i] != c2[i]) || c1[i] != c3[i]) {
        std::printf("rows != panels at %lld\n", (long long)i);
        return 1;
      }
    }
    const double flop = 2.0 * m * n * k * 1e-9;
    char label[64];
    std::snprintf(label, sizeof(label), "%lldx%lldx%lld", (long long)m, (long long)k, (long long)n);
    std::printf("%-22s %9.1f %9.1f %9.1f %9.1f %9.2g\n", label, flop / eigen, flop / panels,
                flop / direct, rows > 0 ? flop / rows : 0.0, diff);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  double min_time = 0.5;
  int threads = 1;
  int64_t batch = 1;
  std::string model_name = "all", filter;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--min-time=", 0) == 0) {
      min_time = std::atof(a.c_str() + 11);
    } else if (a.rfind("--threads=", 0) == 0) {
      threads = std::atoi(a.c_str() + 10);
    } else if (a.rfind("--model=", 0) == 0) {
      model_name = a.substr(8);
    } else if (a == "--gemm") {
      for (const Model& model : {ResNet50(), MobileNetV2()}) {
        if (model_name == "all" || model_name == model.name) {
          GemmMode(model.name, ModelGemms(model), min_time);
        }
      }
      return 0;
    } else if (a.rfind("--gemm=", 0) == 0) {
      // --gemm=MxKxN[,MxKxN...]
      std::vector<GemmShape> shapes;
      const char* p = a.c_str() + 7;
      while (*p != 0) {
        GemmShape g{};
        char* end = nullptr;
        g.m = std::strtoll(p, &end, 10);
        g.k = std::strtoll(end + 1, &end, 10);
        g.n = std::strtoll(end + 1, &end, 10);
        shapes.push_back(g);
        p = *end == ',' ? end + 1 : end;
      }
      return GemmMode("custom", shapes, min_time);
    } else if (a.rfind("--batch=", 0) == 0) {
      batch = std::max<int64_t>(std::atoll(a.c_str() + 8), 1);
    } else if (a.rfind("--filter=", 0) == 0) {
      filter = a.substr(9);
    } else {
      std::fprintf(stderr,
                   "usage: conv_bench [--min-time=S] [--threads=N] [--model=M] [--filter=S] [--batch=N]\n");
      return 2;
    }
  }
  std::unique_ptr<exec::ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<exec::ThreadPool>(threads - 1);
  const bool wall = threads > 1;
  std::mt19937 rng(7);
  for (const Model& model : {ResNet50(), MobileNetV2()}) {
    if (model_name != "all" && model_name != model.name) continue;
    std::printf("%s, batch %lld, %d thread(s), %s time\n", model.name, (long long)batch, threads,
                wall ? "wall" : "CPU");
    std::printf("%-44s %5s %10s %9s %10s\n", "layer", "count", "ms/call", "GFLOP/s", "ms*count");
    double total = 0;
    std::vector<ConvShape> shapes = model.convs;
    for (size_t s = 0; s <= shapes.size(); ++s) {
      Layer layer;
      char label[128];
      int count = 1;
      if (s < shapes.size()) {
        const ConvShape& c = shapes[s];
        count = c.count;
        const int64_t oh = (c.h + 2 * c.pad - c.k) / c.stride + 1;
        const int64_t ow = (c.w + 2 * c.pad - c.k) / c.stride + 1;
        std::snprintf(label, sizeof(label), "conv %lldx%lldx%lld->%lld k%lld s%lld g%lld%s",
                      (long long)c.c, (long long)c.h, (long long)c.w, (long long)c.m,
                      (long long)c.k, (long long)c.stride, (long long)c.group,
                      c.residual ? " +res" : "");
        if (!filter.empty() && std::string(label).find(filter) == std::string::npos) continue;
        Attributes attrs;
        attrs.Set("kernel_shape", std::vector<int64_t>{c.k, c.k});
        attrs.Set("strides", std::vector<int64_t>{c.stride, c.stride});
        attrs.Set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
        attrs.Set("group", c.group);
        if (c.relu) attrs.Set("activation", std::string("Relu"));
        std::vector<Tensor> in;
        in.push_back(Random({batch, c.c, c.h, c.w}, rng, 1.0f));
        in.push_back(Random({c.m, c.c / c.group, c.k, c.k}, rng, 0.1f));
        in.push_back(Random({c.m}, rng, 0.1f));
        std::vector<bool> constant = {false, true, true};
        if (c.residual) {
          in.push_back(Random({batch, c.m, oh, ow}, rng, 1.0f));
          constant.push_back(false);
        }
        if (!PrepareLayer("Conv", attrs, std::move(in), constant, &layer)) return 1;
        layer.macs = batch * c.m * (c.c / c.group) * c.k * c.k * oh * ow;
      } else {
        std::snprintf(label, sizeof(label), "gemm %lldx%lld * %lldx%lld^T", (long long)batch,
                      (long long)model.fc_in,
                      (long long)model.fc_out, (long long)model.fc_in);
        if (!filter.empty() && std::string(label).find(filter) == std::string::npos) continue;
        Attributes attrs;
        attrs.Set("transB", int64_t{1});
        std::vector<Tensor> in;
        in.push_back(Random({batch, model.fc_in}, rng, 1.0f));
        in.push_back(Random({model.fc_out, model.fc_in}, rng, 0.1f));
        in.push_back(Random({model.fc_out}, rng, 0.1f));
        if (!PrepareLayer("Gemm", attrs, std::move(in), {false, true, true}, &layer)) return 1;
        layer.macs = batch * model.fc_in * model.fc_out;
      }
      const size_t bytes = layer.kernel->ScratchBytes(threads);
      std::vector<std::byte> storage(bytes + 64);
      auto* scratch = reinterpret_cast<std::byte*>(
          (reinterpret_cast<uintptr_t>(storage.data()) + 63) / 64 * 64);
      const double sec =
          SecondsPerCall([&] { RunLayer(layer, pool.get(), threads, scratch); }, min_time, wall);
      total += sec * count;
      std::printf("%-44s %5d %10.3f %9.1f %10.3f\n", label, count, sec * 1e3,
                  2.0 * static_cast<double>(layer.macs) / sec * 1e-9, sec * count * 1e3);
      std::fflush(stdout);
    }
    std::printf("%-44s %5s %10s %9s %10.3f\n\n", "total", "", "", "", total * 1e3);
  }
  return 0;
}
