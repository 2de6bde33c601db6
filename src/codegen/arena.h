// The activation arena of an engine: liveness of every non-constant tensor
// over the final schedule, and its offset in one arena (memory_planner.h).
#ifndef ENGINE_CODEGEN_ARENA_H_
#define ENGINE_CODEGEN_ARENA_H_

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "codegen/memory_planner.h"
#include "ir/graph.h"

namespace engine::codegen {

struct ArenaPlan {
  MemoryPlan plan;
  int64_t alignment = 64;
  /// Offset and lifetime of every activation, graph input and graph output.
  struct Placement {
    int64_t offset = 0;
    int first = 0;  ///< first layer that touches it (graph inputs: 0)
    int last = 0;   ///< last layer that reads it (graph inputs and outputs: the layer count)
  };
  absl::flat_hash_map<const ir::Value*, Placement> values;
};

/// Plans the arena for `graph`'s schedule (nodes in order). Sizes are the
/// tensors' bytes at their real dtype. Graph inputs live from step 0, graph
/// inputs and outputs until after the last layer (inputs persist between
/// Execute() calls, outputs are read after them).
/// `reuse` false gives every tensor its own bytes.
ArenaPlan PlanActivationArena(const ir::Graph& graph, int64_t alignment, bool reuse);

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_ARENA_H_
