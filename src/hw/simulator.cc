#include "hw/simulator.h"

#include <algorithm>
#include <array>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "hw/onchip_check.h"

namespace engine::hw {
namespace {

absl::Status Malformed(size_t index, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("program instruction #", index, ": ", what));
}

}  // namespace

absl::StatusOr<SimulationResult> Simulate(const HardwareConfig& hw, const Program& program,
                                          int num_layers) {
  SimulationResult result;
  result.schedule.resize(program.size());
  result.layers.resize(std::max(num_layers, 0));
  std::vector<bool> seen_layer(result.layers.size(), false);

  // Validate once up front.
  // Magnitudes: CostOf computes each instruction's cycles and bytes in int64
  // and the schedule adds them up. A conservative bound of every instruction's
  // figures, summed over the program, stays below kMaxTotal, so that no
  // product or sum can overflow on a crafted program (a real one is many
  // orders of magnitude below).
  constexpr double kMaxTotal = 0x1p58;
  const double transfer = hw.TransferBytesPerCycle();
  const double vector_rate = static_cast<double>(hw.vector_lanes) * hw.vector_ops_per_cycle;
  const double array_extent = 2.0 * hw.array_rows + hw.array_cols;
  double total = 0;
  uint64_t expanded = 0;     // instructions, MATMUL counted `repeat` times
  int64_t serial_cycles = 0;  // sum of completion cycles
  for (size_t i = 0; i < program.size(); ++i) {
    const Instruction& in = program[i];
    if (!OpcodeFromCode(static_cast<int64_t>(in.opcode))) return Malformed(i, "unknown opcode");
    const double bytes = static_cast<double>(in.bytes), ops = static_cast<double>(in.ops);
    // The DRAM extent (dram_offset + bytes) feeds the engine's I/O extents
    // and the physical limit's bytes / bandwidth, so it is bounded as well.
    const double extent = static_cast<double>(in.dram_offset) + bytes;
    double bound = static_cast<double>(hw.dram_latency_cycles) + 4.0 * bytes + bytes / transfer +
                   extent + extent / transfer + static_cast<double>(in.aux_bytes) + ops +
                   ops / vector_rate;
    if (in.opcode == Opcode::kMatmul) {
      bound += 16.0 * static_cast<double>(in.repeat) * (in.k + array_extent) *
               (in.m + array_extent) * (in.p + array_extent);
    }
    total += bound;
    if (!(total <= kMaxTotal)) {
      return Malformed(i, "its sizes are out of range (the program's cycles or bytes would "
                          "overflow)");
    }
    if (in.layer >= result.layers.size()) {
      return Malformed(i, absl::StrCat("layer index ", in.layer, " out of range (", num_layers,
                                       " layers)"));
    }
    for (int32_t d : in.deps) {
      if (d >= static_cast<int32_t>(i)) {
        return Malformed(i, absl::StrCat("depends on instruction #", d, ", not an earlier one"));
      }
    }
    if (in.opcode == Opcode::kMatmul && (in.k == 0 || in.m == 0 || in.p == 0 || in.repeat == 0)) {
      return Malformed(i, "MATMUL with an empty tile");
    }
    // Both sums stay below their limits plus one instruction's share (at most
    // 2^32 and, by the bound above, 2^58), so neither can overflow.
    expanded += in.opcode == Opcode::kMatmul ? in.repeat : 1;
    if (expanded > kMaxExpandedInstructions) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "program instruction #", i, ": the program expands to more than ",
          kMaxExpandedInstructions, " instructions (each MATMUL counted `repeat` times; this one ",
          in.repeat, "), the limit of a program"));
    }
    serial_cycles += CostOf(hw, in).CompletionCycles();
    if (serial_cycles > kMaxSerialCycles) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "program instruction #", i, ": the program's instructions take more than ",
          kMaxSerialCycles, " cycles end to end, the limit of a program"));
    }
  }

  // Segments: the instructions between two kSyncs. A plain instruction of
  // segment s waits for segments 0..s-1 (the kSync before it); a prefetched
  // one (kFlagPrefetch) only for segments 0..s-2. barrier[s] is when the
  // kSync closing segment s passes.
  const size_t n = program.size();
  std::vector<int32_t> segment_of(n, 0);
  std::vector<int64_t> remaining;  // unfinished instructions per segment
  remaining.push_back(0);
  for (size_t i = 0; i < n; ++i) {
    segment_of[i] = static_cast<int32_t>(remaining.size() - 1);
    if (program[i].opcode == Opcode::kSync) {
      remaining.push_back(0);
    } else {
      ++remaining.back();
    }
  }
  const size_t num_segments = remaining.size();
  std::vector<int64_t> barrier(num_segments, 0), segment_end(num_segments, 0);
  size_t completed = 0;  // segments 0..completed-1 have finished
  auto advance = [&]() {
    while (completed < num_segments && remaining[completed] == 0) {
      barrier[completed] =
          std::max(completed > 0 ? barrier[completed - 1] : 0, segment_end[completed]);
      ++completed;
    }
  };
  advance();
  std::vector<bool> done(n, false);
  std::array<std::vector<size_t>, kNumQueues> queues;
  for (size_t i = 0; i < n; ++i) {
    if (program[i].opcode != Opcode::kSync) {
      queues[static_cast<int>(UnitOf(program[i].opcode))].push_back(i);
    }
  }
  std::array<size_t, kNumQueues> head{};
  std::array<int64_t, kNumQueues> unit_free{};
  std::array<int64_t, kNumQueues> queue_last_end{};
  int64_t channel_free = 0;
  std::vector<InstructionCost> costs(n);
  for (size_t i = 0; i < n; ++i) costs[i] = CostOf(hw, program[i]);
  size_t scheduled = 0;
  const size_t to_schedule = n - (num_segments - 1);
  while (scheduled < to_schedule) {
    int best_q = -1;
    int64_t best_t = std::numeric_limits<int64_t>::max();
    size_t best_i = 0;
    for (int q = 0; q < kNumQueues; ++q) {
      if (head[q] >= queues[q].size()) continue;
      const size_t i = queues[q][head[q]];
      const Instruction& in = program[i];
      // The segments this instruction waits for: 0..wait-1.
      const int32_t wait = segment_of[i] - ((in.flags & kFlagPrefetch) ? 1 : 0);
      if (wait > 0 && completed < static_cast<size_t>(wait)) continue;
      int64_t t = std::max(wait > 0 ? barrier[wait - 1] : 0, unit_free[q]);
      bool ready = true;
      for (int32_t d : in.deps) {
        if (d < 0) continue;
        if (!done[d]) {
          ready = false;
          break;
        }
        t = std::max(t, result.schedule[d].end);
      }
      if (!ready) continue;
      const bool channel = (q == static_cast<int>(Unit::kLoad) ||
                            q == static_cast<int>(Unit::kStore)) &&
                           !(in.flags & kFlagResident);
      if (channel) t = std::max(t, channel_free);
      if (t < best_t || (t == best_t && i < best_i)) {
        best_t = t;
        best_q = q;
        best_i = i;
      }
    }
    if (best_q < 0) {
      // A dependency on an instruction queued behind a later one of its own
      // queue, or a prefetch waiting for its own segment: a malformed program.
      return absl::InvalidArgumentError(
          "program: no instruction can start (dependencies contradict the in-order queues)");
    }
    const InstructionCost& c = costs[best_i];
    const Instruction& in = program[best_i];
    ScheduledInstruction& s = result.schedule[best_i];
    s.start = best_t;
    s.end = best_t + c.CompletionCycles();
    // DMA queues complete in order (a resident move behind a DRAM transfer
    // finishes after it), so a dependency on a queue's last transfer covers
    // the earlier ones. Transfers of equal latency already do.
    if (best_q == static_cast<int>(Unit::kLoad) || best_q == static_cast<int>(Unit::kStore)) {
      s.end = std::max(s.end, queue_last_end[best_q]);
      queue_last_end[best_q] = s.end;
    }
    unit_free[best_q] = best_t + c.occupancy_cycles;
    if ((best_q == static_cast<int>(Unit::kLoad) || best_q == static_cast<int>(Unit::kStore)) &&
        !(in.flags & kFlagResident)) {
      channel_free = best_t + c.occupancy_cycles;
    }
    done[best_i] = true;
    ++head[best_q];
    ++scheduled;
    const int32_t seg = segment_of[best_i];
    segment_end[seg] = std::max(segment_end[seg], s.end);
    --remaining[seg];
    advance();

    LayerTiming& lt = result.layers[in.layer];
    lt.end_cycle = std::max(lt.end_cycle, s.end);
    ++lt.instructions;
    lt.totals += c;
    switch (UnitOf(in.opcode)) {
      case Unit::kArray: lt.array_busy += c.occupancy_cycles; break;
      case Unit::kVector: lt.vector_busy += c.occupancy_cycles; break;
      case Unit::kLoad: lt.load_busy += c.occupancy_cycles; break;
      case Unit::kStore: lt.store_busy += c.occupancy_cycles; break;
      case Unit::kNone: break;
    }
  }
  // kSyncs, and each layer's start: the barrier before its first segment.
  for (size_t i = 0; i < n; ++i) {
    const int32_t seg = segment_of[i];
    const int64_t before = seg > 0 ? barrier[seg - 1] : 0;
    if (program[i].opcode == Opcode::kSync) {
      result.schedule[i] = {barrier[seg], barrier[seg]};
      done[i] = true;
      continue;
    }
    const uint32_t l = program[i].layer;
    if (!seen_layer[l]) {
      seen_layer[l] = true;
      result.layers[l].start_cycle = before;
      result.layers[l].end_cycle = std::max(result.layers[l].end_cycle, before);
    }
  }
  // Layers without instructions take no time, placed after their predecessor.
  int64_t t = 0;
  for (size_t l = 0; l < result.layers.size(); ++l) {
    if (!seen_layer[l]) result.layers[l].start_cycle = result.layers[l].end_cycle = t;
    t = result.layers[l].end_cycle;
  }
  const int64_t last_barrier = barrier[num_segments - 1];
  ENGINE_RETURN_IF_ERROR(CheckOnChipMemory(hw, program, result.schedule));
  result.total_cycles = last_barrier;
  return result;
}

}  // namespace engine::hw
