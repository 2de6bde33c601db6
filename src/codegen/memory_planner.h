// Static memory planning: places buffers with known lifetimes at offsets in
// one arena so that buffers live at the same time never share a byte.
//
// Used for the host activation arena of an execution context (the tensors of
// the final schedule) and for the accelerator's on-chip buffers (lowering
// places its double-buffered tile slots with it), so one tested algorithm
// places bytes everywhere.
//
// Baseline: TFLite's arena planner (greedy by size, best fit): buffers in
// decreasing size, each at the smallest gap among the already placed buffers
// whose lifetimes overlap it, or above them all. Pisarchyk & Lee (2020,
// arXiv 2001.03288) show the greedy-by-size offset method within a few percent
// of optimal on common networks. Improvement: the same best-fit placement is
// also run in other orders (by lifetime length, by first use, by size x
// lifetime) and the smallest arena wins; the winning order is reported.
#ifndef ENGINE_CODEGEN_MEMORY_PLANNER_H_
#define ENGINE_CODEGEN_MEMORY_PLANNER_H_

#include <cstdint>
#include <string>
#include <vector>

namespace engine::codegen {

/// One buffer to place: `size` bytes, live from step `first` to step `last`
/// inclusive (steps are schedule positions; two buffers conflict when their
/// [first, last] intervals intersect).
struct BufferRequest {
  int64_t size = 0;
  int first = 0;
  int last = 0;
};

/// The placement.
struct MemoryPlan {
  std::vector<int64_t> offsets;  ///< by request, multiples of `alignment`
  int64_t arena_bytes = 0;       ///< max over buffers of offset + size, rounded to alignment
  int64_t no_reuse_bytes = 0;    ///< sum of sizes (each rounded up to alignment): no sharing
  /// The largest total size of buffers live at one step: no placement can
  /// use fewer bytes.
  int64_t lower_bound_bytes = 0;
  std::string strategy;          ///< the order that won, e.g. "greedy-by-size"
};

/// Places `requests` with every offset a multiple of `alignment` (a power of
/// two >= 1). Deterministic. With `reuse` false every buffer gets its own
/// bytes (the no-sharing baseline, strategy "no-reuse").
MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests, int64_t alignment,
                      bool reuse = true);

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_MEMORY_PLANNER_H_
