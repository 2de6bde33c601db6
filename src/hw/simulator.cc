#include "hw/simulator.h"

#include <algorithm>
#include <array>
#include <limits>

#include "absl/strings/str_cat.h"

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
    double bound = static_cast<double>(hw.dram_latency_cycles) + 4.0 * bytes + bytes / transfer +
                   static_cast<double>(in.aux_bytes) + ops + ops / vector_rate;
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

  int64_t barrier = 0;
  std::vector<bool> done(program.size(), false);
  std::array<std::vector<size_t>, kNumQueues> queues;
  size_t seg_begin = 0;
  while (seg_begin < program.size()) {
    size_t seg_end = seg_begin;
    while (seg_end < program.size() && program[seg_end].opcode != Opcode::kSync) ++seg_end;
    for (auto& q : queues) q.clear();
    for (size_t i = seg_begin; i < seg_end; ++i) {
      queues[static_cast<int>(UnitOf(program[i].opcode))].push_back(i);
    }
    std::array<size_t, kNumQueues> head{};
    std::array<int64_t, kNumQueues> unit_free;
    unit_free.fill(barrier);
    int64_t channel_free = barrier;
    int64_t seg_last = barrier;
    std::vector<InstructionCost> costs(seg_end - seg_begin);
    for (size_t i = seg_begin; i < seg_end; ++i) costs[i - seg_begin] = CostOf(hw, program[i]);

    for (size_t remaining = seg_end - seg_begin; remaining > 0; --remaining) {
      int best_q = -1;
      int64_t best_t = std::numeric_limits<int64_t>::max();
      size_t best_i = 0;
      for (int q = 0; q < kNumQueues; ++q) {
        if (head[q] >= queues[q].size()) continue;
        const size_t i = queues[q][head[q]];
        int64_t t = std::max(barrier, unit_free[q]);
        bool ready = true;
        for (int32_t d : program[i].deps) {
          if (d < 0) continue;
          if (!done[d]) {
            ready = false;
            break;
          }
          t = std::max(t, result.schedule[d].end);
        }
        if (!ready) continue;
        const bool dma = q == static_cast<int>(Unit::kLoad) || q == static_cast<int>(Unit::kStore);
        if (dma) t = std::max(t, channel_free);
        if (t < best_t || (t == best_t && i < best_i)) {
          best_t = t;
          best_q = q;
          best_i = i;
        }
      }
      if (best_q < 0) {
        // Cannot happen: the earliest uncommitted instruction is always ready.
        return absl::InternalError("simulator: no ready instruction");
      }
      const InstructionCost& c = costs[best_i - seg_begin];
      ScheduledInstruction& s = result.schedule[best_i];
      s.start = best_t;
      s.end = best_t + c.CompletionCycles();
      unit_free[best_q] = best_t + c.occupancy_cycles;
      if (best_q == static_cast<int>(Unit::kLoad) || best_q == static_cast<int>(Unit::kStore)) {
        channel_free = best_t + c.occupancy_cycles;
      }
      done[best_i] = true;
      ++head[best_q];
      seg_last = std::max(seg_last, s.end);

      const Instruction& in = program[best_i];
      LayerTiming& lt = result.layers[in.layer];
      if (!seen_layer[in.layer]) {
        seen_layer[in.layer] = true;
        lt.start_cycle = barrier;
        lt.end_cycle = barrier;
      }
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
    barrier = seg_last;
    if (seg_end < program.size()) {
      result.schedule[seg_end] = {barrier, barrier};
      done[seg_end] = true;
    }
    seg_begin = seg_end + 1;
  }
  // Layers without instructions take no time, placed after their predecessor.
  int64_t t = 0;
  for (size_t l = 0; l < result.layers.size(); ++l) {
    if (!seen_layer[l]) result.layers[l].start_cycle = result.layers[l].end_cycle = t;
    t = result.layers[l].end_cycle;
  }
  result.total_cycles = barrier;
  return result;
}

}  // namespace engine::hw
