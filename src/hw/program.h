// The accelerator's instruction stream, in the spirit of Gemmini (mvin,
// preload, compute, mvout, fence) and TPU v1 (Read_Weights, MatrixMultiply,
// Activate, Write_Host_Memory). Code generation (src/codegen/lowering.cc)
// writes it into the plan; the simulator (simulator.h) runs it.
//
// Units and queues: loads, stores, the array and the vector unit each run
// their instructions in program order; an instruction also waits for the
// instructions named in `deps` (RAW on the data it reads, WAR on the buffer
// half it overwrites) and for the last kSync before it. On-chip addresses are
// byte offsets into one of three memory spaces (MemorySpace).
#ifndef ENGINE_HW_PROGRAM_H_
#define ENGINE_HW_PROGRAM_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/hardware.h"

namespace engine::hw {

enum class Opcode : uint8_t {
  kLoadInput = 0,   ///< DRAM -> scratchpad (Gemmini mvin, TPU Read_Host_Memory)
  kLoadWeight = 1,  ///< DRAM -> weight buffer, or scratchpad without one (Read_Weights)
  kMatmul = 2,      ///< array: (repeat x) K x M by K x P tile into the accumulator
  kVector = 3,      ///< vector unit: `ops` operations over a scratchpad tile (Activate)
  kStore = 4,       ///< accumulator or scratchpad -> DRAM (mvout, Write_Host_Memory)
  kSync = 5,        ///< fence: waits until every earlier instruction has finished
};
const char* OpcodeName(Opcode opcode);
/// The Opcode whose numeric value is `code` (plans store it as a byte), or
/// nullopt when no enumerator has that value: the one range check of the
/// enum (-Wswitch flags the switch when an opcode is added without its case).
constexpr std::optional<Opcode> OpcodeFromCode(int64_t code) {
  if (code < 0 || code > 0xff) return std::nullopt;
  switch (static_cast<Opcode>(code)) {
    case Opcode::kLoadInput:
    case Opcode::kLoadWeight:
    case Opcode::kMatmul:
    case Opcode::kVector:
    case Opcode::kStore:
    case Opcode::kSync:
      return static_cast<Opcode>(code);
  }
  return std::nullopt;
}

enum class MemorySpace : uint8_t { kScratchpad = 0, kWeightBuffer = 1, kAccumulator = 2 };

/// Instruction flag bits.
enum InstructionFlags : uint8_t {
  kFlagAccumulate = 1,      ///< kMatmul adds to the accumulator instead of overwriting
  kFlagFromScratchpad = 2,  ///< kStore reads the scratchpad (vector results), not the accumulator
  kFlagOnAccumulator = 4,   ///< kVector works in place on an accumulator tile (fused epilogue)
  /// Residency (src/codegen/residency.h): a load or store of a tensor that
  /// lives in the scratchpad between layers. The DRAM side is replaced by the
  /// scratchpad bytes at `weight_addr` (the tensor's resident copy plus
  /// `dram_offset`): a kLoadInput copies them to its tile slot at `addr`, a
  /// kStore writes its tile there. No DRAM traffic; the move occupies its
  /// queue for bytes / OnChipMoveBytesPerCycle cycles, without the channel.
  kFlagResident = 8,
  /// Cross-layer prefetch: the instruction (a load) does not wait for the
  /// kSync just before it, only for the one before that (the layer before
  /// the previous one has finished) and for its `deps`, which codegen sets
  /// to cover every read and write of the previous layer it could conflict
  /// with. So a layer's first weight (and input) tiles load while the
  /// previous layer computes.
  kFlagPrefetch = 16,
};

/// The execution unit (and in-order queue) an opcode runs on.
enum class Unit : uint8_t { kLoad = 0, kStore = 1, kArray = 2, kVector = 3, kNone = 4 };
Unit UnitOf(Opcode opcode);
const char* UnitName(Unit unit);
inline constexpr int kNumQueues = 4;  ///< kLoad .. kVector

inline constexpr int kMaxDeps = 3;

/// One instruction. Field use by opcode:
///  - loads: `tensor`/`dram_offset` the DRAM source (plan tensor index, byte
///    offset of the region's first byte), `bytes` moved, `addr` the on-chip
///    destination (space: scratchpad, or weight buffer for kLoadWeight when
///    the hardware has one).
///  - kMatmul: `k`, `m`, `p` the tile (K x M weights by K x P inputs) done
///    `repeat` times back to back (grouped convolutions); `addr` inputs in the
///    scratchpad, `weight_addr` weights, `acc_addr` the accumulator tile;
///    `dataflow`; kFlagAccumulate after the first K tile.
///  - kVector: `ops` operations, `bytes` read (inputs at `addr`) and
///    `aux_bytes` written (result at `acc_addr`) in the scratchpad, or, with
///    kFlagOnAccumulator, in place on the accumulator tile at `acc_addr` (a
///    fused epilogue; a residual operand, if any, is read from `addr`).
///  - kStore: `bytes` written to DRAM tensor `tensor` at `dram_offset`, from
///    the accumulator at `acc_addr` (reading 4-byte partial sums) or, with
///    kFlagFromScratchpad, from the scratchpad at `addr` (`aux_bytes` of
///    them when nonzero: a data-movement tile larger than what was loaded,
///    the rest being fill).
struct Instruction {
  Opcode opcode = Opcode::kSync;
  Dataflow dataflow = Dataflow::kWeightStationary;
  Precision precision = Precision::kFp32;  ///< operand precision
  uint8_t flags = 0;
  uint32_t layer = 0;  ///< engine layer index
  int32_t deps[kMaxDeps] = {-1, -1, -1};  ///< earlier instruction indices, -1 = none
  int32_t tensor = -1;
  uint64_t dram_offset = 0;
  uint64_t bytes = 0;
  uint64_t aux_bytes = 0;
  uint64_t addr = 0;
  uint64_t weight_addr = 0;
  uint64_t acc_addr = 0;
  uint32_t k = 0, m = 0, p = 0;
  uint32_t repeat = 1;
  uint64_t ops = 0;

  /// Adds `dep` to the first free dependency slot; ignores -1 and duplicates.
  /// Returns false when all slots are taken (a codegen bug).
  bool AddDep(int32_t dep);
};

using Program = std::vector<Instruction>;

}  // namespace engine::hw

#endif  // ENGINE_HW_PROGRAM_H_
