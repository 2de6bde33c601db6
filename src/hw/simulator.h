// Runs an instruction stream on the accelerator model and times it.
//
// Model: four in-order queues (DMA loads, DMA stores, systolic array, vector
// unit) sharing one DRAM channel. An instruction starts when its queue is
// free, its dependencies have completed, the last kSync before it has passed
// and, for DMA, the channel is free; among ready queue heads the one that can
// start earliest goes first (ties: program order). A DMA transfer occupies
// its queue and the channel for bytes / rate cycles and completes after the
// DRAM latency on top; requests are pipelined, so latency is hidden when
// transfers are issued back to back. Each DMA queue completes in order: an
// on-chip move (kFlagResident, no DRAM latency) queued behind a DRAM transfer
// completes when that transfer does, at the earliest. Double buffering is expressed by the
// program itself (loads into the other half of a buffer carry a dependency
// on the last instruction that read it), so overlap and the stalls when it
// fails both come out of the schedule.
#ifndef ENGINE_HW_SIMULATOR_H_
#define ENGINE_HW_SIMULATOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/hardware.h"
#include "hw/instruction_cost.h"
#include "hw/program.h"

namespace engine::hw {

/// Start and completion cycle of one instruction.
struct ScheduledInstruction {
  int64_t start = 0;
  int64_t end = 0;
};

/// Timing and totals of one engine layer.
struct LayerTiming {
  int64_t start_cycle = 0;  ///< when the layer may begin (previous layer's fence)
  int64_t end_cycle = 0;    ///< completion of its last instruction
  int64_t array_busy = 0;   ///< cycles the array computes (its compute cycles)
  int64_t vector_busy = 0;  ///< cycles the vector unit computes
  int64_t load_busy = 0;    ///< cycles the load queue transfers
  int64_t store_busy = 0;   ///< cycles the store queue transfers
  int instructions = 0;
  InstructionCost totals;   ///< summed costs of the layer's instructions

  int64_t Cycles() const { return end_cycle - start_cycle; }
};

struct SimulationResult {
  std::vector<ScheduledInstruction> schedule;  ///< by instruction index
  std::vector<LayerTiming> layers;             ///< by layer index
  int64_t total_cycles = 0;
};

/// Limits of one program, checked by Simulate before it schedules anything,
/// so that a crafted plan cannot make the model report absurd figures. The
/// builder's programs stay orders of magnitude below (ResNet-50 on gemmini:
/// 43,517 instructions, 4.7e7 serial cycles; docs/accelerator_model.md,
/// "Limits").
///
/// Instructions counting each MATMUL `repeat` times (the array passes the
/// model times back to back).
inline constexpr uint64_t kMaxExpandedInstructions = uint64_t{1} << 28;
/// The sum of every instruction's cycles (occupancy plus latency), i.e. the
/// modeled time if nothing overlapped, an upper bound of total_cycles:
/// 2^50 cycles is 13 days at 1 GHz.
inline constexpr int64_t kMaxSerialCycles = int64_t{1} << 50;

/// Simulates `program` for an engine of `num_layers` layers. Each layer's
/// instructions must be contiguous and followed by a kSync (codegen's
/// invariant); layers without instructions take 0 cycles. Takes time and
/// memory linear in program.size(), whatever the instructions' sizes.
/// Errors, naming the instruction index: InvalidArgument for a malformed
/// program (unknown opcode, a dependency on itself or a later instruction, a
/// layer index out of range, an empty MATMUL tile, sizes whose cycles or bytes
/// would overflow int64); ResourceExhausted past kMaxExpandedInstructions or
/// kMaxSerialCycles.
absl::StatusOr<SimulationResult> Simulate(const HardwareConfig& hw, const Program& program,
                                          int num_layers);

}  // namespace engine::hw

#endif  // ENGINE_HW_SIMULATOR_H_
