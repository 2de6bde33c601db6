#include "codegen/residency.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "codegen/memory_planner.h"
#include "hw/onchip_check.h"

namespace engine::codegen {
namespace {

using hw::Instruction;
using hw::Opcode;

constexpr int64_t kAlignment = 64;
// Loads of a layer considered for prefetch (its first tiles); a bound on the
// pass's work, far above the two or three a double-buffered layer needs.
constexpr int kMaxPrefetchLoads = 16;

bool IsLoad(Opcode op) { return op == Opcode::kLoadInput || op == Opcode::kLoadWeight; }

int64_t AlignUp(int64_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; }

bool Conflict(const hw::OnChipAccess& a, const hw::OnChipAccess& b) {
  return a.space == b.space && (a.write || b.write) && a.begin < b.end && b.begin < a.end;
}

}  // namespace

void RelocateScratchpad(const HardwareConfig& hw, Instruction& in, uint64_t base) {
  const bool weight_buffer = hw.weight_buffer.bytes > 0;
  switch (in.opcode) {
    case Opcode::kLoadInput:
      in.addr += base;
      if (in.flags & hw::kFlagResident) in.weight_addr += base;  // a layer group's band buffer
      break;
    case Opcode::kLoadWeight:
      if (!weight_buffer) in.addr += base;
      break;
    case Opcode::kMatmul:
      in.addr += base;
      if (!weight_buffer) in.weight_addr += base;
      break;
    case Opcode::kVector:
      in.addr += base;
      if (!(in.flags & hw::kFlagOnAccumulator)) in.acc_addr += base;
      break;
    case Opcode::kStore:
      if (in.flags & hw::kFlagFromScratchpad) in.addr += base;
      if (in.flags & hw::kFlagResident) in.weight_addr += base;  // a layer group's band buffer
      break;
    case Opcode::kSync: break;
  }
}

absl::StatusOr<ResidencyPlan> ApplyResidency(const HardwareConfig& hw,
                                             const ResidencyOptions& options,
                                             const std::vector<int32_t>& alias,
                                             const std::vector<int32_t>& dram_tensors,
                                             const std::vector<uint32_t>& first_instruction,
                                             const std::vector<uint32_t>& num_instructions,
                                             hw::Program& program) {
  ResidencyPlan plan;
  const size_t num_layers = first_instruction.size();
  if (num_instructions.size() != num_layers) {
    return absl::InvalidArgumentError("residency: layer ranges of different lengths");
  }
  for (size_t l = 0; l < num_layers; ++l) {
    if (uint64_t{first_instruction[l]} + num_instructions[l] > program.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("residency: layer ", l, "'s instructions lie outside the program"));
    }
  }
  plan.tile_base.assign(num_layers, 0);
  if (hw.ideal_memory || (!options.residency && !options.prefetch)) return plan;

  auto root = [&](int32_t t) {
    for (int guard = 0; t >= 0 && static_cast<size_t>(t) < alias.size() && alias[t] >= 0 &&
                        guard < 1 << 16;
         ++guard) {
      t = alias[t];
    }
    return t;
  };

  // Tile footprint of each layer in the scratchpad.
  std::vector<int64_t> footprint(num_layers, 0);
  for (size_t l = 0; l < num_layers; ++l) {
    for (uint32_t i = first_instruction[l]; i < first_instruction[l] + num_instructions[l]; ++i) {
      for (const hw::OnChipAccess& a : hw::AccessesOf(hw, program, i)) {
        if (a.space == hw::MemorySpace::kScratchpad) {
          footprint[l] = std::max<int64_t>(footprint[l], static_cast<int64_t>(a.end));
        }
      }
    }
    footprint[l] = AlignUp(footprint[l]);
  }

  // Producers and consumers of every device tensor (by alias root).
  struct Use {
    std::set<int> producers, consumers;
    int64_t extent = 0, moved = 0;
  };
  std::map<int32_t, Use> uses;
  for (size_t l = 0; l < num_layers; ++l) {
    for (uint32_t i = first_instruction[l]; i < first_instruction[l] + num_instructions[l]; ++i) {
      const Instruction& in = program[i];
      const bool load = IsLoad(in.opcode), store = in.opcode == Opcode::kStore;
      if ((!load && !store) || in.tensor < 0) continue;
      Use& u = uses[root(in.tensor)];
      (store ? u.producers : u.consumers).insert(static_cast<int>(l));
      u.extent = std::max<int64_t>(u.extent, static_cast<int64_t>(in.dram_offset + in.bytes));
      u.moved += static_cast<int64_t>(in.bytes);
    }
  }
  std::set<int32_t> dram;
  for (int32_t t : dram_tensors) dram.insert(root(t));

  // Buffers: each layer's tile slots, then the candidate tensors.
  std::vector<int> active;  // layers with instructions
  for (size_t l = 0; l < num_layers; ++l) {
    if (num_instructions[l] > 0) active.push_back(static_cast<int>(l));
  }
  auto tile_requests = [&](bool overlap_previous) {
    std::vector<BufferRequest> r;
    for (size_t a = 0; a < active.size(); ++a) {
      const int l = active[a];
      const int first = overlap_previous && a > 0 ? active[a - 1] : l;
      r.push_back({std::max<int64_t>(footprint[l], kAlignment), first, l});
    }
    return r;
  };
  const int64_t capacity = static_cast<int64_t>(hw.scratchpad.bytes);
  std::vector<BufferRequest> requests = tile_requests(options.prefetch);
  if (options.prefetch && PlanMemory(requests, kAlignment).arena_bytes > capacity) {
    requests = tile_requests(false);
  }
  const size_t num_tiles = requests.size();
  MemoryPlan placed = PlanMemory(requests, kAlignment);

  if (options.residency) {
    for (const auto& [t, u] : uses) {
      if (u.producers.empty() || u.consumers.empty()) continue;  // graph input, constant, dead
      TensorResidency r;
      r.tensor = t;
      r.bytes = u.extent;
      r.first_layer = *u.producers.begin();
      r.last_layer = *u.consumers.rbegin();
      r.dram_bytes_saved = u.moved;
      if (dram.contains(t)) {
        r.reason = "graph output";
      } else if (u.producers.size() > 1) {
        r.reason = "written by several layers";
      } else if (*u.consumers.begin() <= r.first_layer) {
        r.reason = "read by its producer";
      }
      plan.tensors.push_back(r);
    }
    // Greedy by the cost model's value: DRAM bytes (time and energy) saved per
    // byte-layer of scratchpad held.
    std::vector<size_t> order;
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
      if (plan.tensors[i].reason.empty()) order.push_back(i);
    }
    auto density = [&](size_t i) {
      const TensorResidency& r = plan.tensors[i];
      return static_cast<double>(r.dram_bytes_saved) /
             (static_cast<double>(std::max<int64_t>(r.bytes, 1)) *
              (r.last_layer - r.first_layer + 1));
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return density(a) > density(b); });
    std::vector<size_t> accepted;
    for (size_t i : order) {
      TensorResidency& r = plan.tensors[i];
      requests.push_back({AlignUp(r.bytes), r.first_layer, r.last_layer});
      MemoryPlan trial = PlanMemory(requests, kAlignment);
      if (trial.arena_bytes <= capacity) {
        placed = std::move(trial);
        accepted.push_back(i);
      } else {
        requests.pop_back();
        r.reason = absl::StrCat("spilled: the scratchpad (", capacity, " bytes) would need ",
                                trial.arena_bytes);
      }
    }
    for (size_t k = 0; k < accepted.size(); ++k) {
      TensorResidency& r = plan.tensors[accepted[k]];
      r.resident = true;
      r.offset = static_cast<uint64_t>(placed.offsets[num_tiles + k]);
    }
  }
  plan.scratchpad_peak_bytes = placed.arena_bytes;
  plan.strategy = placed.strategy;
  for (size_t a = 0; a < active.size(); ++a) {
    plan.tile_base[active[a]] = static_cast<uint64_t>(placed.offsets[a]);
  }

  // Rewrite: relocate tile slots, then the resident tensors' moves.
  std::map<int32_t, const TensorResidency*> resident;
  for (const TensorResidency& r : plan.tensors) {
    if (r.resident) {
      resident[r.tensor] = &r;
      ++plan.resident_tensors;
      plan.dram_bytes_saved += r.dram_bytes_saved;
    } else if (r.reason.rfind("spilled", 0) == 0) {
      ++plan.spilled_tensors;
    }
  }
  for (size_t l = 0; l < num_layers; ++l) {
    for (uint32_t i = first_instruction[l]; i < first_instruction[l] + num_instructions[l]; ++i) {
      Instruction& in = program[i];
      RelocateScratchpad(hw, in, plan.tile_base[l]);
      if ((IsLoad(in.opcode) || in.opcode == Opcode::kStore) && in.tensor >= 0) {
        auto it = resident.find(root(in.tensor));
        if (it != resident.end()) {
          in.flags |= hw::kFlagResident;
          in.weight_addr = it->second->offset + in.dram_offset;
        }
      }
    }
  }

  if (!options.prefetch) return plan;
  // Prefetch: segments are the instructions between kSyncs.
  std::vector<size_t> seg_begin{0};
  std::vector<int32_t> segment_of(program.size(), 0);
  for (size_t i = 0; i < program.size(); ++i) {
    segment_of[i] = static_cast<int32_t>(seg_begin.size() - 1);
    if (program[i].opcode == Opcode::kSync) seg_begin.push_back(i + 1);
  }
  // Every segment after the first: a layer's start, and within a layer
  // group (or a composite layer) each band piece's start.
  for (size_t s = 1; s < seg_begin.size(); ++s) {
    const size_t first = seg_begin[s];
    if (first >= program.size() || program[first].opcode == Opcode::kSync) continue;
    const size_t prev_begin = seg_begin[s - 1], prev_end = seg_begin[s] - 1;  // its kSync
    // The previous segment's accesses, its stored tensors and last STORE.
    std::vector<std::vector<hw::OnChipAccess>> prev_access(prev_end - prev_begin);
    std::set<int32_t> stored;
    int32_t last_store = -1;
    for (size_t y = prev_begin; y < prev_end; ++y) {
      prev_access[y - prev_begin] = hw::AccessesOf(hw, program, y);
      if (program[y].opcode == Opcode::kStore) {
        last_store = static_cast<int32_t>(y);
        if (program[y].tensor >= 0) stored.insert(root(program[y].tensor));
      }
    }
    int considered = 0;
    for (size_t x = first; x < program.size() && program[x].opcode != Opcode::kSync &&
                           considered < kMaxPrefetchLoads;
         ++x) {
      Instruction& in = program[x];
      if (!IsLoad(in.opcode)) continue;
      ++considered;
      std::array<int32_t, hw::kNumQueues> need;
      need.fill(-1);
      if (in.tensor >= 0 && stored.contains(root(in.tensor))) {
        need[static_cast<int>(hw::Unit::kStore)] = last_store;
      }
      const std::vector<hw::OnChipAccess> mine = hw::AccessesOf(hw, program, x);
      for (size_t y = prev_end; y-- > prev_begin;) {
        const int q = static_cast<int>(hw::UnitOf(program[y].opcode));
        if (q >= hw::kNumQueues || need[q] >= static_cast<int32_t>(y)) continue;
        bool conflict = false;
        for (const hw::OnChipAccess& a : mine) {
          for (const hw::OnChipAccess& b : prev_access[y - prev_begin]) conflict |= Conflict(a, b);
        }
        if (conflict) need[q] = std::max(need[q], static_cast<int32_t>(y));
      }
      Instruction trial = in;
      bool fits = true;
      for (int32_t d : need) fits = fits && trial.AddDep(d);
      if (!fits) break;  // more dependencies than an instruction holds
      trial.flags |= hw::kFlagPrefetch;
      in = trial;
      ++plan.prefetched_loads;
    }
  }
  return plan;
}

}  // namespace engine::codegen
