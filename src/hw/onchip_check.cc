#include "hw/onchip_check.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "hw/simulator.h"

namespace engine::hw {
namespace {

const char* SpaceName(MemorySpace space) {
  switch (space) {
    case MemorySpace::kScratchpad: return "scratchpad";
    case MemorySpace::kWeightBuffer: return "weight buffer";
    case MemorySpace::kAccumulator: return "accumulator";
  }
  return "?";
}

// Extent of the load among `in`'s dependencies that filled `addr` of `space`
// (0 when none did).
uint64_t FilledBy(const HardwareConfig& hw, const Program& program, const Instruction& in,
                  MemorySpace space, uint64_t addr) {
  for (int32_t d : in.deps) {
    if (d < 0 || static_cast<size_t>(d) >= program.size()) continue;
    const Instruction& ld = program[d];
    if (ld.opcode != Opcode::kLoadInput && ld.opcode != Opcode::kLoadWeight) continue;
    const MemorySpace s = ld.opcode == Opcode::kLoadWeight && hw.weight_buffer.bytes > 0
                              ? MemorySpace::kWeightBuffer
                              : MemorySpace::kScratchpad;
    if (s == space && ld.addr == addr) return ld.bytes;
  }
  return 0;
}

// Bytes [begin, end) of one buffer: who wrote them last and until when the
// readers since then read them.
struct Segment {
  uint64_t end = 0;
  int64_t writer = -1;
  int64_t reader = -1;
  int64_t read_end = std::numeric_limits<int64_t>::min();
};
using SegmentMap = std::map<uint64_t, Segment>;

// Splits the segment containing `at` (if any) so that a segment starts there.
void SplitAt(SegmentMap& map, uint64_t at) {
  auto it = map.upper_bound(at);
  if (it == map.begin()) return;
  --it;
  if (it->first < at && it->second.end > at) {
    Segment right = it->second;
    it->second.end = at;
    map.emplace(at, right);
  }
}

// Makes [begin, end) covered by segments (gaps get writer -1) and returns the
// first of them.
SegmentMap::iterator Cover(SegmentMap& map, uint64_t begin, uint64_t end) {
  SplitAt(map, begin);
  SplitAt(map, end);
  uint64_t at = begin;
  auto it = map.lower_bound(begin);
  while (at < end) {
    if (it == map.end() || it->first > at) {
      const uint64_t gap_end = it == map.end() ? end : std::min(end, it->first);
      it = map.emplace_hint(it, at, Segment{gap_end});
    }
    at = it->second.end;
    ++it;
  }
  return map.lower_bound(begin);
}

}  // namespace

std::vector<OnChipAccess> AccessesOf(const HardwareConfig& hw, const Program& program, size_t i) {
  const Instruction& in = program[i];
  std::vector<OnChipAccess> out;
  auto add = [&](MemorySpace space, uint64_t addr, uint64_t bytes, bool write) {
    if (bytes == 0) return;
    const uint64_t end = addr + bytes < addr ? std::numeric_limits<uint64_t>::max() : addr + bytes;
    out.push_back({space, addr, end, write});
  };
  const MemorySpace weights =
      hw.weight_buffer.bytes > 0 ? MemorySpace::kWeightBuffer : MemorySpace::kScratchpad;
  const uint64_t e = static_cast<uint64_t>(PrecisionBytes(in.precision));
  switch (in.opcode) {
    case Opcode::kLoadInput:
    case Opcode::kLoadWeight:
      if (in.flags & kFlagResident) add(MemorySpace::kScratchpad, in.weight_addr, in.bytes, false);
      add(in.opcode == Opcode::kLoadWeight ? weights : MemorySpace::kScratchpad, in.addr, in.bytes,
          true);
      break;
    case Opcode::kMatmul: {
      const uint64_t input = FilledBy(hw, program, in, MemorySpace::kScratchpad, in.addr);
      const uint64_t weight = FilledBy(hw, program, in, weights, in.weight_addr);
      add(MemorySpace::kScratchpad, in.addr, std::max<uint64_t>(input, 1), false);
      add(weights, in.weight_addr, std::max<uint64_t>(weight, 1), false);
      const uint64_t acc = uint64_t{in.repeat} * in.m * in.p * kAccumulatorBytes;
      if (in.flags & kFlagAccumulate) add(MemorySpace::kAccumulator, in.acc_addr, acc, false);
      add(MemorySpace::kAccumulator, in.acc_addr, acc, true);
      break;
    }
    case Opcode::kVector:
      if (in.flags & kFlagOnAccumulator) {
        add(MemorySpace::kScratchpad, in.addr,
            FilledBy(hw, program, in, MemorySpace::kScratchpad, in.addr), false);
        add(MemorySpace::kAccumulator, in.acc_addr, in.bytes, false);
        add(MemorySpace::kAccumulator, in.acc_addr, in.aux_bytes, true);
      } else {
        add(MemorySpace::kScratchpad, in.addr, in.bytes, false);
        add(MemorySpace::kScratchpad, in.acc_addr, in.aux_bytes, true);
      }
      break;
    case Opcode::kStore:
      if (in.flags & kFlagFromScratchpad) {
        add(MemorySpace::kScratchpad, in.addr, in.aux_bytes > 0 ? in.aux_bytes : in.bytes, false);
      } else {
        add(MemorySpace::kAccumulator, in.acc_addr, in.bytes / std::max<uint64_t>(e, 1) *
                                                        kAccumulatorBytes, false);
      }
      if (in.flags & kFlagResident) add(MemorySpace::kScratchpad, in.weight_addr, in.bytes, true);
      break;
    case Opcode::kSync:
      break;
  }
  return out;
}

absl::Status CheckOnChipMemory(const HardwareConfig& hw, const Program& program,
                               const std::vector<ScheduledInstruction>& schedule) {
  SegmentMap maps[3];
  const uint64_t capacity[3] = {hw.scratchpad.bytes, hw.weight_buffer.bytes,
                                hw.accumulator.bytes};
  auto where = [&](size_t i, const OnChipAccess& a) {
    return absl::StrCat("program instruction #", i, " (layer ", program[i].layer, ", ",
                        OpcodeName(program[i].opcode), ") ", a.write ? "writes" : "reads",
                        " bytes [", a.begin, ", ", a.end, ") of the ", SpaceName(a.space));
  };
  for (size_t i = 0; i < program.size(); ++i) {
    if (program[i].opcode == Opcode::kSync) continue;
    const std::vector<OnChipAccess> accesses = AccessesOf(hw, program, i);
    const ScheduledInstruction& me = schedule[i];
    // Checks first, against the state before this instruction.
    for (const OnChipAccess& a : accesses) {
      const int s = static_cast<int>(a.space);
      if (!hw.ideal_memory && a.end > capacity[s]) {
        return absl::InvalidArgumentError(
            absl::StrCat(where(i, a), ", beyond its capacity of ", capacity[s], " bytes"));
      }
      SegmentMap& map = maps[s];
      auto it = map.upper_bound(a.begin);
      if (it != map.begin() && std::prev(it)->second.end > a.begin) --it;
      for (; it != map.end() && it->first < a.end; ++it) {
        const Segment& seg = it->second;
        if (seg.writer >= 0 && schedule[seg.writer].end > me.start) {
          return absl::InvalidArgumentError(absl::StrCat(
              where(i, a), " from cycle ", me.start, ", but instruction #", seg.writer,
              " (layer ", program[seg.writer].layer, ", ", OpcodeName(program[seg.writer].opcode),
              ") writes bytes [", it->first, ", ", seg.end, ") until cycle ",
              schedule[seg.writer].end, a.write ? " (two writes in flight)" : " (read too early)"));
        }
        if (a.write && seg.reader >= 0 && seg.reader != static_cast<int64_t>(i) &&
            seg.read_end > me.start) {
          return absl::InvalidArgumentError(absl::StrCat(
              where(i, a), " from cycle ", me.start, ", overwriting bytes [", it->first, ", ",
              seg.end, ") that instruction #", seg.reader, " (layer ", program[seg.reader].layer,
              ", ", OpcodeName(program[seg.reader].opcode), ") still reads until cycle ",
              seg.read_end, " (overwritten while live)"));
        }
      }
    }
    // Then the state: reads, then writes (a write replaces what it covers).
    for (const OnChipAccess& a : accesses) {
      if (a.write) continue;
      SegmentMap& map = maps[static_cast<int>(a.space)];
      for (auto it = Cover(map, a.begin, a.end); it != map.end() && it->first < a.end; ++it) {
        if (me.end >= it->second.read_end) {
          it->second.read_end = me.end;
          it->second.reader = static_cast<int64_t>(i);
        }
      }
    }
    for (const OnChipAccess& a : accesses) {
      if (!a.write) continue;
      SegmentMap& map = maps[static_cast<int>(a.space)];
      SplitAt(map, a.begin);
      SplitAt(map, a.end);
      map.erase(map.lower_bound(a.begin), map.lower_bound(a.end));
      map.emplace(a.begin, Segment{a.end, static_cast<int64_t>(i)});
    }
  }
  return absl::OkStatus();
}

}  // namespace engine::hw
