// Cross-layer residency and weight prefetch for the accelerator program
// (issue 21): a pass over the lowered instruction stream of a whole network.
//
// 1. Residency. Activations written by one layer and read by later ones stay
//    in the scratchpad (the unified buffer of tpu-v1) between layers when
//    they fit: each such tensor is a buffer live from its producer to its
//    last consumer, each layer's tile slots a buffer live during the layer
//    (and the one before it, so that its first loads can be prefetched),
//    and the memory planner that places the host arena (memory_planner.h)
//    places them all. Tensors are accepted greedily by DRAM bytes saved per
//    byte-layer of scratchpad they occupy; one whose placement would exceed
//    the scratchpad spills (stays in DRAM). The producer's STOREs and the
//    consumers' loads of a resident tensor get kFlagResident (hw/program.h):
//    on-chip moves, no DRAM traffic. Graph outputs always reach DRAM.
// 2. Prefetch. The first loads of each layer (its first weight tiles and,
//    where possible, input tiles) get kFlagPrefetch: they start while the
//    previous layer computes, with dependencies on every instruction of the
//    previous layer whose on-chip bytes they overlap (hw::AccessesOf) and on
//    its last STORE when they read what it writes.
// The host computes the same graph: only the modeled schedule changes. The
// simulator's on-chip check (hw/onchip_check.h) verifies the result.
#ifndef ENGINE_CODEGEN_RESIDENCY_H_
#define ENGINE_CODEGEN_RESIDENCY_H_

#include <cstdint>
#include <string>
#include <vector>

#include <optional>

#include "absl/status/statusor.h"
#include "codegen/layer_group.h"
#include "engine/hardware.h"
#include "hw/program.h"

namespace engine::codegen {

/// What the pass may do.
struct ResidencyOptions {
  bool residency = true;  ///< keep activations in the scratchpad between layers
  bool prefetch = true;   ///< load a layer's first tiles during the previous layer
  /// Layer groups (layer_group.h): chains of convolutions run band by band
  /// with their intermediates in scratchpad band buffers, chosen by dynamic
  /// programming over the schedule for `group_objective`.
  bool layer_groups = true;
  /// The groups' objective; unset = the build's Objective.
  std::optional<GroupObjective> group_objective;
};

/// Where one tensor produced on the device lives.
struct TensorResidency {
  int32_t tensor = -1;     ///< plan tensor index (an alias root, see ApplyResidency)
  int64_t bytes = 0;       ///< extent, bytes
  int first_layer = 0;     ///< producer
  int last_layer = 0;      ///< last consumer
  bool resident = false;   ///< true: in the scratchpad at `offset`; false: DRAM
  uint64_t offset = 0;     ///< scratchpad byte offset when resident
  int64_t dram_bytes_saved = 0;  ///< loads and stores that became on-chip moves
  std::string reason;      ///< why it stayed in DRAM (empty when resident)
};

/// The pass's decisions and counters.
struct ResidencyPlan {
  std::vector<TensorResidency> tensors;   ///< every candidate, by producer order
  std::vector<uint64_t> tile_base;        ///< per layer: scratchpad offset of its tile slots
  int64_t scratchpad_peak_bytes = 0;      ///< planned scratchpad use (tiles + resident)
  int64_t dram_bytes_saved = 0;           ///< sum over tensors
  int resident_tensors = 0;
  int spilled_tensors = 0;
  int prefetched_loads = 0;
  std::string strategy;                   ///< the planner order that won
};

/// Moves instruction `in`'s scratchpad addresses (the fields hw::AccessesOf
/// reads as scratchpad bytes: tile slots, and the resident copy of a move
/// already flagged kFlagResident, e.g. a layer group's band buffer) up by
/// `base` bytes. Weight-buffer and accumulator addresses are unchanged.
void RelocateScratchpad(const HardwareConfig& hw, hw::Instruction& in, uint64_t base);

/// Rewrites `program` (layers' instructions contiguous, layer l at
/// [first_instruction[l], first_instruction[l] + num_instructions[l]), each
/// layer closed by kSync) in place. `alias[t]` is the tensor whose bytes
/// tensor t views (a Reshape / Flatten output: its input), or -1; tensors in
/// `dram_tensors` (graph outputs) always reach DRAM. Returns the plan; the
/// program stays valid for hw::Simulate (its on-chip check passes) whatever
/// the capacity. Errors: InvalidArgument when the layer ranges do not match
/// the program.
absl::StatusOr<ResidencyPlan> ApplyResidency(const HardwareConfig& hw,
                                             const ResidencyOptions& options,
                                             const std::vector<int32_t>& alias,
                                             const std::vector<int32_t>& dram_tensors,
                                             const std::vector<uint32_t>& first_instruction,
                                             const std::vector<uint32_t>& num_instructions,
                                             hw::Program& program);

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_RESIDENCY_H_
