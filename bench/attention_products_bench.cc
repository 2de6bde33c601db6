// Per-head products of the fused Attention layer (kernels/attention.cc) on
// the shapes of BERT-base (S = T = 128) and ViT-B/16 (S = T = 197), head size
// 64, heads read from the packed [seq, 12 * 64] projection outputs (leading
// dimension 768): Q_h x K_h^T and P x V_h with Eigen's blocked GEMM (Sgemm,
// kernels/sgemm.h, what the layer used before) and with SgemmActivations
// (kernels/sgemm_packed.h, what it uses now, the act x act MatMul's kernel).
// One thread; per product the best of 5 rounds of 400 calls, in thread CPU
// time (CLOCK_THREAD_CPUTIME_ID, so other load on a shared machine matters
// less than for wall time), and GFLOP/s = 2 S T D / time.
//
// Build and run: cmake --build build --target attention_products_bench &&
//   build/bin/attention_products_bench
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "kernels/sgemm.h"
#include "kernels/sgemm_packed.h"

namespace {

double ThreadCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

int main() {
  using namespace engine::kernels;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  struct Shape {
    const char* name;
    int64_t s, t, d, ld;
  };
  const Shape shapes[] = {{"bert_base", 128, 128, 64, 768}, {"vit_b16", 197, 197, 64, 768}};
  std::printf("| model | kernel | Q x K^T us | GFLOP/s | P x V us | GFLOP/s |\n");
  std::printf("|---|---|---:|---:|---:|---:|\n");
  for (const Shape& sh : shapes) {
    const int64_t s = sh.s, t = sh.t, d = sh.d, ld = sh.ld;
    std::vector<float> q(s * ld), k(t * ld), v(t * ld), p(s * t), y(s * ld);
    for (auto* vec : {&q, &k, &v}) {
      for (float& x : *vec) x = dist(rng);
    }
    for (float& x : p) x = 0.01f * dist(rng);
    // Eigen's packing wants an aligned workspace (the engine's scratch is).
    const size_t eigen_bytes = std::max(SgemmWorkspaceBytes(s, t, d), SgemmWorkspaceBytes(s, d, t));
    std::unique_ptr<char, void (*)(void*)> eigen_ws(
        static_cast<char*>(std::aligned_alloc(64, (eigen_bytes + 63) / 64 * 64)), std::free);
    std::vector<float> ws(static_cast<size_t>(
        std::max(SgemmActivationsFloats(s, t, d, true), SgemmActivationsFloats(s, d, t, false))));
    constexpr int kCalls = 400;
    for (int mode = 0; mode < 2; ++mode) {
      double best_qk = 1e9, best_pv = 1e9;
      for (int round = 0; round < 5; ++round) {
        const double t0 = ThreadCpuSeconds();
        for (int r = 0; r < kCalls; ++r) {
          if (mode == 0) {
            Sgemm(false, true, s, t, d, 1.0f, q.data(), ld, k.data(), ld, 0.0f, p.data(), t,
                  eigen_ws.get(), eigen_bytes);
          } else {
            SgemmActivations(true, s, t, d, q.data(), ld, k.data(), ld, p.data(), t, ws.data());
          }
        }
        const double t1 = ThreadCpuSeconds();
        for (int r = 0; r < kCalls; ++r) {
          if (mode == 0) {
            Sgemm(false, false, s, d, t, 1.0f, p.data(), t, v.data(), ld, 0.0f, y.data(), ld,
                  eigen_ws.get(), eigen_bytes);
          } else {
            SgemmActivations(false, s, d, t, p.data(), t, v.data(), ld, y.data(), ld, ws.data());
          }
        }
        const double t2 = ThreadCpuSeconds();
        best_qk = std::min(best_qk, (t1 - t0) / kCalls);
        best_pv = std::min(best_pv, (t2 - t1) / kCalls);
      }
      const double flop = 2.0 * static_cast<double>(s * t * d);
      std::printf("| %s | %s | %.1f | %.0f | %.1f | %.0f |\n", sh.name,
                  mode == 0 ? "Eigen Sgemm" : "SgemmActivations", best_qk * 1e6,
                  flop / best_qk * 1e-9, best_pv * 1e6, flop / best_pv * 1e-9);
    }
  }
  return 0;
}
