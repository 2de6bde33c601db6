// Execution order of independent branches (issue 21, "branch-order"):
// among the topological orders of a graph, one that lowers the peak bytes of
// live activations that want on-chip residency, so that the residency
// planner (residency.h) spills less to DRAM; the builder keeps it only when
// the whole program's modeled objective is not worse (ScheduleObjective).
//
// Memory model (the liveness the arena and the residency planner use): an
// activation is a buffer of its bytes from the step of its producer to the
// step of its last consumer, both included; a view layer (Reshape, Flatten:
// LayerKind::kView) allocates nothing, its output aliases its input's buffer,
// whose lifetime extends to the view's consumers. Graph inputs and graph
// outputs live in DRAM whatever the order (residency keeps graph outputs in
// DRAM): a graph output counts only at its producer's step, a graph input
// not at all. The footprint of step t is the bytes of every buffer live at t;
// the peak of an order is the largest footprint.
//
// Algorithm. The original order is cut at its sequence points (a node that
// every earlier node reaches and that reaches every later node: ResNet's
// and Inception's block outputs), which every topological order runs at the
// same step, so the segments between them are independent and the buffers
// live at each cut are the same for every order; a segment longer than
// `max_segment_nodes` is chopped (only there is an order lost). Each segment
// is solved by dynamic programming over the sets of scheduled nodes
// (downward-closed sets, as in Ahn et al., "Ordering Chaos: Memory-Aware
// Scheduling of Irregularly Wired Neural Networks", MLSys 2020, section 3:
// the buffers live after a set of scheduled nodes depend on the set only, so
// peak(S + u) = min over the last node u of max(peak(S), footprint(S, u))),
// exact for the peak, the summed footprint breaking ties; past
// `max_states_per_segment` states (or the global `max_total_states`) the
// segment falls back to a greedy list schedule (the ready node with the
// smallest footprint, then the smallest live bytes after it, then the
// earliest in the original order). A segment keeps its original order unless
// the new one has a lower peak, or the same peak and a lower summed
// footprint, so the chosen order's peak is never above the original's. Time
// O(states x segment nodes x degree) per segment and memory O(states), both
// bounded by the caps whatever the graph; the cuts take O(nodes + edges).
#ifndef ENGINE_CODEGEN_SCHEDULE_ORDER_H_
#define ENGINE_CODEGEN_SCHEDULE_ORDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/layer_group.h"
#include "engine/hardware.h"
#include "ir/graph.h"

namespace engine::codegen {

/// The graph as the ordering sees it: nodes 0..n-1 in the original
/// (topological) order, their predecessors and the buffers they produce.
struct ScheduleProblem {
  struct Buffer {
    int64_t bytes = 0;            ///< activation bytes
    int producer = -1;            ///< node index
    std::vector<int> consumers;   ///< node indices reading it (or a view of it), distinct
  };
  /// Per node, the distinct nodes it reads from (all earlier in the order).
  std::vector<std::vector<int>> preds;
  std::vector<Buffer> buffers;
  int size() const { return static_cast<int>(preds.size()); }
};

/// Builds the problem of `graph`'s schedule (view layers found with
/// DescribeLayer; a layer it cannot describe counts as one that allocates).
/// Errors: InvalidArgument when the schedule is not topological (a node
/// reads a value produced later), naming the node.
absl::StatusOr<ScheduleProblem> ScheduleProblemOf(const ir::Graph& graph);

/// The footprint figures of `order` (a permutation of 0..n-1).
struct OrderFootprint {
  int64_t peak_bytes = 0;  ///< largest footprint over the steps
  int64_t sum_bytes = 0;   ///< footprints summed over the steps (saturating)
};
/// Errors: InvalidArgument when `order` is not a permutation of the nodes
/// or not topological (naming the step).
absl::StatusOr<OrderFootprint> Footprint(const ScheduleProblem& problem,
                                         const std::vector<int>& order);

struct ScheduleOrderOptions {
  int max_segment_nodes = 48;               ///< forced cut; <= 64 (a state is one 64-bit set)
  int64_t max_states_per_segment = 1 << 15; ///< then the greedy fallback
  int64_t max_total_states = 1 << 20;       ///< over all segments; then greedy everywhere
};

/// The chosen order and how it was found.
struct ScheduleOrder {
  std::vector<int> order;      ///< node indices of the original order, in the new order
  OrderFootprint before, after;
  bool changed = false;        ///< order differs from the original
  int segments = 0;            ///< segments with at least two nodes
  int exact_segments = 0;      ///< solved by the dynamic program
  int greedy_segments = 0;     ///< state cap reached: greedy list schedule
  int reordered_segments = 0;  ///< segments whose order changed
  int64_t states = 0;          ///< dynamic-program states visited
};

/// Chooses an order for `problem` (see the file comment). Never fails: the
/// caps bound time and memory; an order is always returned, the original
/// one when nothing better was found.
ScheduleOrder ChooseScheduleOrder(const ScheduleProblem& problem,
                                  const ScheduleOrderOptions& options = {});

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_SCHEDULE_ORDER_H_
