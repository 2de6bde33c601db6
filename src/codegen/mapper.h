// Chooses how each layer runs on the modeled accelerator (its "tactic"):
// which unit, which dataflow, tile sizes and loop order. Candidates are
// ranked with the analytical cost model (hw/tiling.h); the best few per
// dataflow are lowered and simulated exactly (hw/simulator.h), and the one
// that minimizes the objective wins. The losers are kept, with their cost,
// as the layer's rejected alternatives.
#ifndef ENGINE_CODEGEN_MAPPER_H_
#define ENGINE_CODEGEN_MAPPER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/hardware.h"
#include "engine/hardware.h"
#include "hw/program.h"
#include "hw/tiling.h"
#include "hw/workload.h"

namespace engine::codegen {

/// The modeled cost of one tactic of a layer, simulated on its own.
struct TacticCost {
  std::string tactic;     ///< "array-ws", "array-os", "array-is", "vector", "dma", "view"
  std::string tiling;     ///< tile sizes and loop order, e.g. "ws m,p,k g1 k288 m64 p196"
  int64_t cycles = 0;     ///< simulated cycles of the layer alone
  double energy_pj = 0;   ///< simulated energy, pJ
  double objective = 0;   ///< the minimized value
};

/// The chosen mapping of one layer.
struct LayerMapping {
  hw::LayerKind kind = hw::LayerKind::kView;
  bool on_array = false;       ///< true: `array` is the tiling; false: `vector`
  hw::ArrayTiling array;
  hw::VectorTiling vector;
  TacticCost chosen;
  std::vector<TacticCost> rejected;  ///< best of every other tactic, by objective
  int64_t estimated_cycles = 0;      ///< analytical estimate of the chosen mapping
  int64_t macs = 0;
  int64_t vector_ops = 0;
  /// Compulsory DRAM traffic: every input, weight and output byte once
  /// (the roofline's memory term).
  int64_t min_dram_bytes = 0;
  Precision precision = Precision::kFp32;
  /// kComposite only: the mapping of each piece (hw::LayerWorkload::parts;
  /// `on_array` / `array` then hold the largest tile of its array pieces, the
  /// bound the plan reader checks each MATMUL against),
  /// in order. The layer's figures are their sums (macs, vector_ops,
  /// min_dram_bytes, estimated_cycles); `chosen` is the simulated program of
  /// all pieces lowered in sequence.
  std::vector<LayerMapping> parts;
  /// kComposite only: the intermediates between pieces stay in the
  /// scratchpad (their loads and stores are not emitted; the pieces were
  /// tiled in the scratchpad they leave), instead of going through DRAM.
  bool intermediates_on_chip = false;
  /// kComposite only, streamed (hw::LayerWorkload::stream_groups): the chunk
  /// size, groups x rows (0 = not streamed). `parts` then holds the mapping
  /// of every piece of every chunk in execution order (StreamedParts).
  int64_t stream_chunk_groups = 0;
  int64_t stream_chunk_rows = 0;
};

/// The pieces of composite `w` run in chunks of `groups` x `rows` (see
/// hw::LayerWorkload::stream_groups): for every chunk, in order (groups
/// outer, rows inner; the last chunk of each may be smaller), each piece of
/// w.parts scaled to it, named "<piece>[g<first group>,r<first row>]".
/// Requires 1 <= groups <= w.stream_groups and 1 <= rows <= w.stream_rows.
std::vector<hw::LayerWorkload> StreamedParts(const hw::LayerWorkload& w, int64_t groups,
                                             int64_t rows);

/// Chooses the mapping of `w`. `instruction_budget` (> 0) is the number of
/// instructions the layer may lower to (what the program's
/// BuilderConfig::max_instructions leaves); 0 = unlimited. Each candidate's
/// instruction count is bounded from its tile counts
/// (hw::ArrayInstructionBound / VectorInstructionBound) before it is lowered,
/// and candidates above the budget are not considered.
/// Errors: Internal for a malformed workload (hw::ValidateWorkload; checked
/// first, so no extent reaches a division as 0); Unimplemented when the
/// layer's precision is not in the hardware's list; ResourceExhausted when no
/// tiling fits the buffers, naming the layer and the smallest tile's needs, or
/// when every tiling that fits needs more instructions than the budget,
/// naming the layer, the fewest instructions and the budget.
absl::StatusOr<LayerMapping> ChooseMapping(const HardwareConfig& hw, const hw::LayerWorkload& w,
                                           Objective objective, int64_t instruction_budget = 0);

/// Appends the chosen mapping's instructions for layer `layer` (with its
/// closing kSync) to `program`.
void LowerLayer(const HardwareConfig& hw, const hw::LayerWorkload& w, const LayerMapping& m,
                uint32_t layer, hw::Program& program);

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_MAPPER_H_
