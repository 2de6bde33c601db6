// Multidirectional (numpy) broadcasting over K operands of any element types,
// for the elementwise math and logic kernels (elementwise_logic.cc: Pow, Mod,
// comparisons, And/Or/Xor, BitShift, Where, Min/Max/Mean).
//
// A NaryBroadcastPlan describes the walk over a dense row-major output:
// dimensions of size 1 are dropped and adjacent dimensions are merged when
// every operand is contiguous (or broadcast) across both, so e.g.
// Where([N,C,H,W] bool, [C,1,1], []) becomes a walk over [N, C, H*W] whose
// rows read a scalar of the second and third operands. Strides are in
// elements of each operand (0 on broadcast dimensions), so operands of
// different element types share one plan.
//
// ForEachRow drives the walk in rows of the innermost merged dimension (or,
// when the whole output is one row, in blocks of kBroadcastBlock elements),
// over RunContext::threads threads for outputs of at least
// kBroadcastMinParallel elements. Every element is computed by the same code
// whatever the split, so results do not depend on the thread count.
#ifndef ENGINE_KERNELS_BROADCAST_NARY_H_
#define ENGINE_KERNELS_BROADCAST_NARY_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {

/// Outputs with fewer elements run on the calling thread.
inline constexpr int64_t kBroadcastMinParallel = int64_t{1} << 15;
/// Work unit of a single-row walk, in elements (a multiple of any SIMD width).
inline constexpr int64_t kBroadcastBlock = 4096;

/// The walk over an output of `count` elements broadcast from K operands.
template <size_t K>
struct NaryBroadcastPlan {
  std::vector<int64_t> dims;                    ///< merged output dimensions (>= 1 entry)
  std::vector<std::array<int64_t, K>> strides;  ///< per merged dim, element stride per operand
  int64_t count = 0;                            ///< output elements

  /// Length of the innermost merged dimension (a row).
  int64_t row_length() const { return dims.back(); }
  /// Element strides of each operand along a row.
  const std::array<int64_t, K>& row_strides() const { return strides.back(); }
};

/// Plan for reading operands of shapes `in[k]` broadcast to `out` (which
/// must be their broadcast shape, e.g. from BroadcastShapes).
template <size_t K>
NaryBroadcastPlan<K> MakeNaryBroadcastPlan(const std::array<const Dims*, K>& in, const Dims& out) {
  std::array<std::vector<int64_t>, K> s;
  for (size_t k = 0; k < K; ++k) s[k] = BroadcastStrides(*in[k], out);
  NaryBroadcastPlan<K> p;
  p.count = NumElements(out);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;
    bool mergeable = !p.dims.empty();
    for (size_t k = 0; k < K && mergeable; ++k) {
      mergeable = p.strides.back()[k] == s[k][i] * out[i];
    }
    if (mergeable) {
      p.dims.back() *= out[i];
      for (size_t k = 0; k < K; ++k) p.strides.back()[k] = s[k][i];
      continue;
    }
    p.dims.push_back(out[i]);
    std::array<int64_t, K> st;
    for (size_t k = 0; k < K; ++k) st[k] = s[k][i];
    p.strides.push_back(st);
  }
  if (p.dims.empty()) {
    p.dims = {1};
    p.strides.push_back(std::array<int64_t, K>{});
  }
  return p;
}

/// Calls row(out_begin, length, in_offsets) for consecutive pieces of the
/// output covering all p.count elements: `length` elements starting at
/// output element `out_begin`, operand k starting at element in_offsets[k]
/// and advancing by p.row_strides()[k]. Pieces run concurrently on up to
/// ctx.threads threads when the output is large; `row` must only write its
/// own output elements.
template <size_t K, typename RowFn>
void ForEachRow(const RunContext& ctx, const NaryBroadcastPlan<K>& p, const RowFn& row) {
  if (p.count == 0) return;
  const size_t last = p.dims.size() - 1;
  const int64_t len = p.dims[last];
  const std::array<int64_t, K>& rs = p.strides[last];
  const bool one_row = p.count == len;
  const int64_t units = one_row ? (len + kBroadcastBlock - 1) / kBroadcastBlock : p.count / len;
  auto run_units = [&](int64_t begin, int64_t end) {
    if (one_row) {
      const int64_t e0 = begin * kBroadcastBlock, e1 = std::min(len, end * kBroadcastBlock);
      std::array<int64_t, K> off;
      for (size_t k = 0; k < K; ++k) off[k] = e0 * rs[k];
      row(e0, e1 - e0, off);
      return;
    }
    for (int64_t r = begin; r < end; ++r) {
      std::array<int64_t, K> off{};
      int64_t rem = r;
      for (size_t d = last; d-- > 0;) {
        const int64_t i = rem % p.dims[d];
        rem /= p.dims[d];
        for (size_t k = 0; k < K; ++k) off[k] += i * p.strides[d][k];
      }
      row(r * len, len, off);
    }
  };
  if (p.count < kBroadcastMinParallel || ctx.threads <= 1 || units == 1) {
    run_units(0, units);
    return;
  }
  ParallelFor(ctx, units, [&](int64_t begin, int64_t end, int) { run_units(begin, end); });
}

/// out[i] = f(a[i * sa], b[i * sb]) for i < n, with the common stride
/// patterns (both contiguous, one operand fixed along the row) as plain loops.
template <typename A, typename B, typename O, typename F>
inline void BinaryRow(int64_t n, const A* a, int64_t sa, const B* b, int64_t sb, O* out,
                      const F& f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const B bv = *b;
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const A av = *a;
    for (int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i * sa], b[i * sb]);
  }
}

/// Runs out = f(a, b) elementwise over a two-operand plan.
template <typename A, typename B, typename O, typename F>
void RunBinaryPlan(const RunContext& ctx, const NaryBroadcastPlan<2>& p, const void* a,
                   const void* b, void* out, const F& f) {
  const A* ta = static_cast<const A*>(a);
  const B* tb = static_cast<const B*>(b);
  O* to = static_cast<O*>(out);
  const std::array<int64_t, 2> rs = p.row_strides();
  ForEachRow<2>(ctx, p, [&](int64_t o, int64_t n, const std::array<int64_t, 2>& off) {
    BinaryRow(n, ta + off[0], rs[0], tb + off[1], rs[1], to + o, f);
  });
}

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_BROADCAST_NARY_H_
