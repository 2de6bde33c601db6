// What one instruction costs on the modeled accelerator: cycles, bytes moved
// at each level of the memory hierarchy, and energy. The single source of
// these figures: the simulator, the mapping cost model and the reports all
// use it.
#ifndef ENGINE_HW_INSTRUCTION_COST_H_
#define ENGINE_HW_INSTRUCTION_COST_H_

#include <cstdint>

#include "engine/hardware.h"
#include "hw/program.h"

namespace engine::hw {

/// Costs of one instruction. Energy follows Timeloop/Accelergy: sum over
/// actions of (count x pJ per action), with the HardwareConfig's table.
struct InstructionCost {
  /// Cycles the unit is occupied. For DMA this is bytes / transfer rate; the
  /// DRAM latency comes on top of it for the data but does not occupy the
  /// queue (requests are pipelined).
  int64_t occupancy_cycles = 0;
  int64_t latency_cycles = 0;   ///< added to occupancy for completion (DMA only)
  int64_t macs = 0;             ///< useful multiply-accumulates
  int64_t vector_ops = 0;
  int64_t pe_slots = 0;         ///< kMatmul: folds * R * C * repeat (mapping efficiency)
  int64_t used_pe_slots = 0;    ///< kMatmul: Sr * Sc * repeat
  int64_t dram_read = 0, dram_write = 0;        ///< bytes
  int64_t sram_read = 0, sram_write = 0;        ///< scratchpad/weight buffer bytes
  int64_t acc_read = 0, acc_write = 0;          ///< accumulator bytes
  double compute_pj = 0, sram_pj = 0, dram_pj = 0;

  double EnergyPj() const { return compute_pj + sram_pj + dram_pj; }
  /// Cycles from start to completion.
  int64_t CompletionCycles() const { return occupancy_cycles + latency_cycles; }
  InstructionCost& operator+=(const InstructionCost& o);
  /// The cost of `n` such instructions (every count and energy times n;
  /// zero for n <= 0).
  InstructionCost Scaled(int64_t n) const;
};

/// Bytes of one accumulator entry (32-bit partial sums).
inline constexpr int64_t kAccumulatorBytes = 4;

/// Cost of `instr` on `hw`. Scratchpad traffic of kMatmul by dataflow
/// (element size e, tile K x M x P, array R x C):
///  - ws: weights read once (K*M*e); inputs re-streamed per column fold
///    (ceil(M/C)*K*P*e); accumulator read-modify-write per row fold
///    (ceil(K/R)*M*P*4 each way).
///  - os: inputs streamed per column fold (ceil(M/C)*K*P*e), weights per row
///    fold (ceil(P/R)*K*M*e); accumulator written once (M*P*4).
///  - is: inputs read once (K*P*e); weights per column fold (ceil(P/C)*K*M*e);
///    accumulator as ws.
/// With kFlagAccumulate the accumulator is also read before it is written.
/// A load or store with kFlagResident moves its bytes between the
/// scratchpad (resident copy) and a tile slot or the accumulator: no DRAM
/// bytes, one scratchpad read and one write per byte (a store from the
/// accumulator reads 4-byte partial sums instead), bytes /
/// OnChipMoveBytesPerCycle cycles and no DRAM latency.
InstructionCost CostOf(const HardwareConfig& hw, const Instruction& instr);

/// Bytes per cycle of an on-chip move (kFlagResident): one scratchpad row
/// feeding the array's rows at 4 bytes each, array_rows x 4 (TPU v1: 1 KiB
/// per cycle at 700 MHz, 717 GB/s, of the order of its unified buffer's
/// read bandwidth, Jouppi et al. ISCA 2017 sec. 2). Our modeling choice.
double OnChipMoveBytesPerCycle(const HardwareConfig& hw);

}  // namespace engine::hw

#endif  // ENGINE_HW_INSTRUCTION_COST_H_
