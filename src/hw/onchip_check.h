// Checks a scheduled program against the on-chip buffers: every access stays
// within its buffer's capacity, nothing is read before the instruction that
// wrote it has finished, and nothing is overwritten while an earlier reader
// (in program order) still reads it. Hw::Simulate runs it on every program,
// so a wrong schedule (a missing dependency, a residency plan that
// overlaps two live tensors, a prefetch into a slot still in use) is refused
// with a clear error instead of being reported with figures.
#ifndef ENGINE_HW_ONCHIP_CHECK_H_
#define ENGINE_HW_ONCHIP_CHECK_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/hardware.h"
#include "hw/program.h"

namespace engine::hw {

struct ScheduledInstruction;

/// One read or write of on-chip bytes [begin, end) of `space`.
struct OnChipAccess {
  MemorySpace space = MemorySpace::kScratchpad;
  uint64_t begin = 0;
  uint64_t end = 0;
  bool write = false;
};

/// The on-chip bytes instruction `i` of `program` reads and writes (reads
/// first). Loads write their tile slot (`addr`, `bytes`; kLoadWeight in the
/// weight buffer when the hardware has one) and, with kFlagResident, read the
/// resident copy at `weight_addr`; kMatmul reads its input and weight tiles
/// (the extent of the load it depends on that filled `addr` /
/// `weight_addr`, or one byte when none does) and writes repeat x m x p
/// 4-byte accumulators at `acc_addr` (reading them too with
/// kFlagAccumulate); kVector reads `bytes` at `addr` and writes `aux_bytes`
/// at `acc_addr` in the scratchpad, or with kFlagOnAccumulator reads and
/// writes `bytes` accumulator bytes at `acc_addr` (and a residual filled by a
/// load it depends on at `addr`); kStore reads its tile (scratchpad `bytes`
/// at `addr` with kFlagFromScratchpad, else bytes / element size x 4
/// accumulator bytes at `acc_addr`; a data-movement store whose tile is
/// larger than what its layer loaded reads only `aux_bytes`) and, with
/// kFlagResident, writes the
/// resident copy at `weight_addr`.
std::vector<OnChipAccess> AccessesOf(const HardwareConfig& hw, const Program& program, size_t i);

/// Checks `schedule` (start and end cycle of each instruction, as Simulate
/// computes them) of `program`. Errors, InvalidArgument naming the
/// instruction, its layer and opcode, the buffer and the byte range:
///  - an access beyond its buffer's capacity (skipped with memory=ideal);
///  - a read that starts before the last earlier writer of those bytes (in
///    program order) has finished;
///  - a write that starts before an earlier reader or writer of those bytes
///    (since their last write) has finished (overwritten while live).
/// Time and memory O(n log n) in the number of instructions.
absl::Status CheckOnChipMemory(const HardwareConfig& hw, const Program& program,
                               const std::vector<ScheduledInstruction>& schedule);

}  // namespace engine::hw

#endif  // ENGINE_HW_ONCHIP_CHECK_H_
