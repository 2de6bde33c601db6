// Throughput of the exact int8 GEMM (Igemm, kernels/igemm.h) next
// to the FP32 Sgemm (kernels/sgemm.h) on the same shapes, one
// thread, in GOPS = 2 * M * N * K / time / 1e9 (a multiply-add counts as two
// operations), per second of the thread's CPU time (so that other processes
// sharing the machine do not count against it). B (the activations) is
// packed by every call, as in inference; A (the weights) is packed once
// beforehand for Igemm, and read in place by Sgemm (which packs its panels
// per call).
//
// Usage: igemm_bench [--min-time=SECONDS] [MxKxN ...]
// Default shapes: ResNet-50 convolutions as im2col products and its fully
// connected layer. Each measurement is the best of 5 batches, each running
// the product repeatedly for at least min-time / 5 seconds (default 1 s in
// total per shape and kernel). Every Igemm result is checked against an
// exact reference on sampled entries; a mismatch exits with status 1.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "kernels/igemm.h"
#include "kernels/sgemm.h"

namespace {

using engine::kernels::Igemm;
using engine::kernels::IgemmPath;
using engine::kernels::IgemmWorkspaceBytes;
using engine::kernels::PackedInt8Matrix;
using engine::kernels::Sgemm;
using engine::kernels::SgemmWorkspaceBytes;

struct Shape {
  int64_t m, k, n;
  std::string what;
};

// CPU time of the calling thread, seconds.
double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Seconds per call of `fn`: the best of 5 batches of at least `min_time` / 5 s.
template <typename Fn>
double SecondsPerCall(Fn&& fn, double min_time) {
  fn();  // warm-up
  double best = 1e30;
  for (int batch = 0; batch < 5; ++batch) {
    int64_t calls = 0;
    const double start = ThreadSeconds();
    double elapsed = 0;
    do {
      fn();
      ++calls;
      elapsed = ThreadSeconds() - start;
    } while (elapsed < min_time / 5);
    best = std::min(best, elapsed / static_cast<double>(calls));
  }
  return best;
}

// Aligned scratch (Sgemm wants a 64-byte aligned workspace).
struct Buffer {
  explicit Buffer(size_t bytes)
      : ptr(bytes == 0 ? nullptr : std::aligned_alloc(64, (bytes + 63) / 64 * 64)), size(bytes) {}
  ~Buffer() { std::free(ptr); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* ptr;
  size_t size;
};

}  // namespace

int main(int argc, char** argv) {
  double min_time = 1.0;
  std::vector<Shape> shapes;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    long long m = 0, k = 0, n = 0;
    if (arg.rfind("--min-time=", 0) == 0) {
      min_time = std::atof(arg.c_str() + 11);
    } else if (std::sscanf(arg.c_str(), "%lldx%lldx%lld", &m, &k, &n) == 3 && m > 0 && k > 0 &&
               n > 0) {
      shapes.push_back({m, k, n, "custom"});
    } else {
      std::fprintf(stderr, "usage: %s [--min-time=SECONDS] [MxKxN ...]\n", argv[0]);
      return 2;
    }
  }
  if (shapes.empty()) {
    shapes = {{64, 147, 12544, "conv1 7x7/2"},
              {64, 576, 3136, "conv2 3x3"},
              {256, 64, 3136, "conv2 1x1 expand"},
              {128, 1152, 784, "conv3 3x3"},
              {512, 4608, 49, "conv5 3x3"},
              {2048, 512, 49, "conv5 1x1 expand"},
              {1000, 2048, 1, "fc"}};
  }
  std::printf("Igemm path: %s, 1 thread; GOPS = 2*M*N*K / time\n", IgemmPath());
  std::printf("%-18s %5s %5s %6s %11s %11s %8s\n", "layer", "M", "K", "N", "int8 GOPS", "fp32 GOPS",
              "speedup");
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> dist(-128, 127);
  bool ok = true;
  for (const Shape& s : shapes) {
    std::vector<int8_t> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n));
    for (int8_t& x : a) x = static_cast<int8_t>(dist(rng));
    for (int8_t& x : b) x = static_cast<int8_t>(dist(rng));
    std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end());
    std::vector<int32_t> c(static_cast<size_t>(s.m * s.n));
    std::vector<float> cf(c.size());

    const PackedInt8Matrix packed = PackedInt8Matrix::Pack(a.data(), s.m, s.k, s.k);
    Buffer iws(IgemmWorkspaceBytes(s.m, s.n, s.k));
    const double t_int8 = SecondsPerCall(
        [&] { Igemm(packed, 0, s.m, s.n, b.data(), s.n, c.data(), s.n, iws.ptr, iws.size); },
        min_time);
    Buffer sws(SgemmWorkspaceBytes(s.m, s.n, s.k));
    const double t_fp32 = SecondsPerCall(
        [&] {
          Sgemm(false, false, s.m, s.n, s.k, 1.0f, af.data(), s.k, bf.data(), s.n, 0.0f, cf.data(),
                s.n, sws.ptr, sws.size);
        },
        min_time);

    // Exactness on sampled entries (all of them for small products).
    const int64_t total = s.m * s.n;
    const int64_t step = std::max<int64_t>(total / 4096, 1);
    for (int64_t e = 0; e < total; e += step) {
      const int64_t i = e / s.n, j = e % s.n;
      int64_t want = 0;
      for (int64_t l = 0; l < s.k; ++l) want += int64_t{a[i * s.k + l]} * b[l * s.n + j];
      if (c[e] != want) {
        std::fprintf(stderr, "MISMATCH %lldx%lldx%lld at (%lld, %lld): %d != %lld\n",
                     static_cast<long long>(s.m), static_cast<long long>(s.k),
                     static_cast<long long>(s.n), static_cast<long long>(i),
                     static_cast<long long>(j), c[e], static_cast<long long>(want));
        ok = false;
        break;
      }
    }
    const double ops =
        2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
    std::printf("%-18s %5lld %5lld %6lld %11.1f %11.1f %7.2fx\n", s.what.c_str(),
                static_cast<long long>(s.m), static_cast<long long>(s.k),
                static_cast<long long>(s.n), ops / t_int8 * 1e-9, ops / t_fp32 * 1e-9,
                t_fp32 / t_int8);
    std::fflush(stdout);
  }
  return ok ? 0 : 1;
}
