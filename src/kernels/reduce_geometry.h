// Geometry of a reduction over a set of axes, shared by the Reduce* kernels
// (reduce.cc) and MeanVarianceNormalization (normalization.cc).
//
// The input shape is simplified first: axes of size 1 are dropped and runs of
// adjacent axes that are all reduced (or all kept) are merged, so ReduceMean
// over H and W of [N,C,H,W] becomes [N*C kept, H*W reduced]. Output element o
// (row-major over the kept axes, i.e. the order of the output tensor) reads
// the input elements at Base(o) + every reduced offset, visited in row-major
// order of the reduced axes: a fixed order, so sums do not depend on how the
// outputs are split over threads.
#ifndef ENGINE_KERNELS_REDUCE_GEOMETRY_H_
#define ENGINE_KERNELS_REDUCE_GEOMETRY_H_

#include <cstdint>
#include <vector>

#include "engine/types.h"

namespace engine::kernels {

struct ReduceGeometry {
  struct Axis {
    int64_t size = 1;
    int64_t stride = 1;  ///< input stride, in elements
  };
  std::vector<Axis> kept;     ///< outermost first
  std::vector<Axis> reduced;  ///< outermost first
  int64_t out_count = 1;      ///< product of the kept sizes
  int64_t reduce_count = 1;   ///< product of the reduced sizes (0 for an empty axis)

  /// Builds the geometry of reducing `shape` over the axes flagged in
  /// `reduce` (same length as `shape`, already validated).
  static ReduceGeometry Make(const Dims& shape, const std::vector<bool>& reduce) {
    // Merge adjacent axes with the same flag, dropping size-1 axes (they move
    // no offset). Sizes of 0 are kept (an empty reduction or empty output).
    std::vector<int64_t> sizes;
    std::vector<bool> flags;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == 1) continue;
      if (!sizes.empty() && flags.back() == reduce[i]) {
        sizes.back() *= shape[i];
      } else {
        sizes.push_back(shape[i]);
        flags.push_back(reduce[i]);
      }
    }
    ReduceGeometry g;
    int64_t stride = 1;
    std::vector<Axis> kept_rev, reduced_rev;
    for (size_t i = sizes.size(); i-- > 0;) {
      (flags[i] ? reduced_rev : kept_rev).push_back({sizes[i], stride});
      stride *= sizes[i];
    }
    g.kept.assign(kept_rev.rbegin(), kept_rev.rend());
    g.reduced.assign(reduced_rev.rbegin(), reduced_rev.rend());
    for (const Axis& a : g.kept) g.out_count *= a.size;
    for (const Axis& a : g.reduced) g.reduce_count *= a.size;
    return g;
  }

  /// Input offset of the first element read by output element `o`.
  int64_t Base(int64_t o) const {
    int64_t base = 0;
    for (size_t i = kept.size(); i-- > 0;) {
      base += (o % kept[i].size) * kept[i].stride;
      o /= kept[i].size;
    }
    return base;
  }

  /// Calls f(offset) for every input element reduced into the output whose
  /// base is `base`, in row-major order of the reduced axes.
  template <typename F>
  void ForEach(int64_t base, F&& f) const {
    if (reduce_count == 0) return;
    if (reduced.empty()) {
      f(base);
      return;
    }
    const size_t last = reduced.size() - 1;
    const int64_t n = reduced[last].size, s = reduced[last].stride;
    if (last == 0) {  // one reduced axis: a single (strided) run
      for (int64_t i = 0; i < n; ++i) f(base + i * s);
      return;
    }
    // Odometer over the outer reduced axes, a run along the innermost.
    std::vector<int64_t> idx(last, 0);
    int64_t off = base;
    while (true) {
      for (int64_t i = 0; i < n; ++i) f(off + i * s);
      size_t d = last;
      while (d-- > 0) {
        off += reduced[d].stride;
        if (++idx[d] < reduced[d].size) break;
        off -= reduced[d].stride * reduced[d].size;
        idx[d] = 0;
      }
      if (d == SIZE_MAX) return;
    }
  }
};

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_REDUCE_GEOMETRY_H_
