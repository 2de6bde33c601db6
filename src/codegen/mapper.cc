#include "codegen/mapper.h"
#include "hw/int_math.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/lowering.h"
#include "common/status_macros.h"
#include "hw/simulator.h"

namespace engine::codegen {

using hw::CeilDiv;
using hw::FloorDiv;
using hw::RoundUp;
namespace {

using hw::ArrayTiling;
using hw::LayerKind;


// Numbers of tiles an extent is split into when tile sizes are enumerated.
constexpr int64_t kSplits[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128, 256, 512, 1024};
// Candidates simulated per dataflow after analytical ranking.
constexpr int kSimulatedPerDataflow = 2;

// Tile sizes for an extent: ceil(extent / n) rounded up to `unit`, and also
// to `align` (a multiple of unit matching the array), all <= extent.
std::vector<int64_t> TileSizes(int64_t extent, int64_t unit, int64_t align) {
  std::set<int64_t> out;
  for (int64_t n : kSplits) {
    const int64_t base = CeilDiv(extent, n);
    for (int64_t a : {unit, align}) {
      const int64_t v = std::min(extent, RoundUp(base, a));
      if (v >= 1) out.insert(v);
    }
    if (base <= unit) break;
  }
  out.insert(std::min(extent, unit));
  return {out.begin(), out.end()};
}

std::vector<int64_t> PixelTileSizes(const hw::GemmWorkload& w, int rows, int cols) {
  const int64_t ohw = w.PixelsPerImage();
  if (!w.conv || w.out_w >= ohw) {
    return TileSizes(ohw, 1, std::max(rows, cols));
  }
  std::set<int64_t> out;
  for (int64_t n : kSplits) {
    out.insert(std::min(ohw, CeilDiv(w.out_h, n) * w.out_w));  // whole output rows
    if (n > 1) out.insert(CeilDiv(w.out_w, n));                // part of one row
  }
  return {out.begin(), out.end()};
}

double ObjectiveOf(Objective o, double cycles, double energy_pj) {
  switch (o) {
    case Objective::kLatency: return cycles;
    case Objective::kEnergy: return energy_pj;
    case Objective::kEdp: return cycles * energy_pj;
  }
  return cycles;
}

const char* TacticName(Dataflow d) {
  switch (d) {
    case Dataflow::kWeightStationary: return "array-ws";
    case Dataflow::kOutputStationary: return "array-os";
    case Dataflow::kInputStationary: return "array-is";
  }
  return "array";
}

// Simulates `program` (one layer, index 0) and fills the cost. A program the
// simulator rejects is a lowering bug: Internal, never a zero-cost tactic.
absl::StatusOr<TacticCost> Measure(const HardwareConfig& hw, const hw::Program& program,
                                   Objective o, std::string tactic, std::string tiling) {
  TacticCost c;
  c.tactic = std::move(tactic);
  c.tiling = std::move(tiling);
  auto sim = hw::Simulate(hw, program, 1);
  if (!sim.ok()) {
    return absl::InternalError(absl::StrCat("lowering tactic ", c.tactic, " (", c.tiling,
                                            "): ", sim.status().message()));
  }
  c.cycles = sim->total_cycles;
  c.energy_pj = sim->layers[0].totals.EnergyPj();
  c.objective = ObjectiveOf(o, static_cast<double>(c.cycles), c.energy_pj);
  return c;
}

std::string VectorTilingString(const hw::VectorTiling& t) {
  if (t.streamed()) {
    return absl::StrCat("tile ", t.tile_elements, " elements, streamed in two passes of ",
                        t.chunk_elements, "-element chunks");
  }
  return absl::StrCat("tile ", t.tile_elements, " elements");
}

// The instructions of a composite layer from `first` on move its
// intermediates (tensor hw::kOnChipTensor). On chip: those loads and stores
// are dropped, and an instruction that depended on a dropped one depends on
// what that one depended on instead (the latest kMaxDeps of them); spilled:
// they stay, reading / writing an unnamed DRAM buffer (tensor -1).
void ResolveOnChipOperands(hw::Program& program, size_t first, bool on_chip) {
  if (!on_chip) {
    for (size_t i = first; i < program.size(); ++i) {
      if (program[i].tensor == hw::kOnChipTensor) program[i].tensor = -1;
    }
    return;
  }
  // For every old index: its new index, or (dropped) the new indices it stands for.
  std::vector<int32_t> new_index(program.size(), -1);
  std::vector<std::vector<int32_t>> stands_for(program.size());
  hw::Program out(program.begin(), program.begin() + static_cast<std::ptrdiff_t>(first));
  for (size_t i = first; i < program.size(); ++i) {
    hw::Instruction in = program[i];
    std::vector<int32_t> deps;
    for (int32_t d : in.deps) {
      if (d < 0) continue;
      if (static_cast<size_t>(d) < first) {
        deps.push_back(d);
      } else if (new_index[d] >= 0) {
        deps.push_back(new_index[d]);
      } else {
        deps.insert(deps.end(), stands_for[d].begin(), stands_for[d].end());
      }
    }
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    const bool moves = in.opcode == hw::Opcode::kLoadInput ||
                       in.opcode == hw::Opcode::kLoadWeight || in.opcode == hw::Opcode::kStore;
    if (moves && in.tensor == hw::kOnChipTensor) {
      stands_for[i] = deps;
      continue;
    }
    if (deps.size() > static_cast<size_t>(hw::kMaxDeps)) {
      deps.erase(deps.begin(), deps.end() - hw::kMaxDeps);
    }
    for (int k = 0; k < hw::kMaxDeps; ++k) {
      in.deps[k] = k < static_cast<int>(deps.size()) ? deps[static_cast<size_t>(k)] : -1;
    }
    if (in.tensor == hw::kOnChipTensor) in.tensor = -1;
    new_index[i] = static_cast<int32_t>(out.size());
    out.push_back(in);
  }
  program = std::move(out);
}

struct Ranked {
  double objective;
  ArrayTiling tiling;
  int64_t estimated_cycles;
};

// Whether composite `w` may be streamed: stream_groups / stream_rows set and
// every piece shaped as hw::LayerWorkload::stream_groups describes.
bool StreamableComposite(const hw::LayerWorkload& w) {
  if (w.stream_groups < 1 || w.stream_rows < 1 || w.resident_bytes <= 0 || w.parts.empty()) {
    return false;
  }
  const int64_t cells = w.stream_groups * w.stream_rows;
  for (const hw::LayerWorkload& part : w.parts) {
    if (part.kind == LayerKind::kArray) {
      const hw::GemmWorkload& g = part.gemm;
      if (g.conv || g.groups != w.stream_groups || g.p != w.stream_rows || g.out_w != g.p) {
        return false;
      }
    } else if (part.kind == LayerKind::kVector) {
      const hw::VectorWorkload& v = part.vector;
      if (v.out_elements % cells != 0 || (v.out_elements / cells) % std::max<int64_t>(1, v.tile_unit) != 0) {
        return false;
      }
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::vector<hw::LayerWorkload> StreamedParts(const hw::LayerWorkload& w, int64_t groups,
                                             int64_t rows) {
  const int64_t total_g = w.stream_groups, total_r = w.stream_rows;
  const int64_t cells = total_g * total_r;
  std::vector<hw::LayerWorkload> out;
  for (int64_t g0 = 0; g0 < total_g; g0 += groups) {
    const int64_t gc = std::min(groups, total_g - g0);
    for (int64_t r0 = 0; r0 < total_r; r0 += rows) {
      const int64_t rc = std::min(rows, total_r - r0);
      // A chunk's share of a per-cell (group x row) operand.
      auto share = [&](int64_t bytes) { return bytes / cells * gc * rc + bytes % cells * gc * rc / cells; };
      for (const hw::LayerWorkload& part : w.parts) {
        hw::LayerWorkload c = part;
        c.name = absl::StrCat(part.name, "[g", g0, ",r", r0, "]");
        if (c.kind == LayerKind::kArray) {
          hw::GemmWorkload& g = c.gemm;
          g.groups = gc;
          g.p = rc;
          g.out_w = rc;
          g.input_bytes = share(part.gemm.input_bytes);
          g.output_bytes = share(part.gemm.output_bytes);
          g.residual_bytes = share(part.gemm.residual_bytes);
          g.weight_bytes = part.gemm.weight_bytes / total_g * gc;  // every row chunk reads them
        } else {
          hw::VectorWorkload& v = c.vector;
          v.out_elements = part.vector.out_elements / cells * gc * rc;
          for (auto& o : v.inputs) o.bytes = share(o.bytes);
          for (auto& o : v.outputs) o.bytes = share(o.bytes);
        }
        out.push_back(std::move(c));
      }
    }
  }
  return out;
}

absl::StatusOr<LayerMapping> ChooseMapping(const HardwareConfig& hw, const hw::LayerWorkload& w,
                                           Objective objective, int64_t instruction_budget) {
  ENGINE_RETURN_IF_ERROR(hw::ValidateWorkload(w));
  LayerMapping m;
  m.kind = w.kind;
  const std::string where = absl::StrCat("layer '", w.name, "' (", w.type, ")");
  // The fewest instructions of a candidate refused for the budget.
  int64_t fewest_over_budget = 0;
  auto within_budget = [&](int64_t bound) {
    if (instruction_budget <= 0 || bound <= instruction_budget) return true;
    if (fewest_over_budget == 0 || bound < fewest_over_budget) fewest_over_budget = bound;
    return false;
  };
  auto over_budget_error = [&]() {
    return absl::ResourceExhaustedError(absl::StrCat(
        where, ": every mapping that fits hardware '", hw.name, "' needs at least ",
        fewest_over_budget, " instructions, above the ", instruction_budget,
        " the program has left (BuilderConfig::max_instructions, --maxInstructions)"));
  };
  if (w.kind == LayerKind::kView) {
    m.chosen.tactic = "view";
    m.precision = w.vector.precision;  // the viewed tensor's, for reports
    return m;
  }
  if (w.kind == LayerKind::kComposite) {
    // Each piece is mapped on its own (its best tactic), then all are lowered
    // in sequence under one layer index and simulated together. Variants:
    // spilled (pieces tiled in the whole scratchpad, intermediates through
    // DRAM); resident, when all intermediates fit half the scratchpad (pieces
    // tiled in what they leave, their loads and stores dropped); streamed,
    // when they do not but the pieces may run in chunks (StreamedParts) whose
    // intermediates fit half the scratchpad (each chunk resident in turn).
    // The best by the objective wins, the others are rejected.
    //
    // `parts`: the pieces in lowering order; `reserved`: scratchpad bytes the
    // resident intermediates hold; chunk_g / chunk_r: the streamed chunk (0:
    // not streamed). Pieces of the same shape (chunks) are mapped once.
    auto variant = [&](const std::vector<hw::LayerWorkload>& parts, int64_t reserved,
                       bool resident, int64_t chunk_g,
                       int64_t chunk_r) -> absl::StatusOr<LayerMapping> {
      HardwareConfig piece_hw = hw;
      if (resident) piece_hw.scratchpad.bytes -= static_cast<uint64_t>(reserved);
      LayerMapping v;
      v.kind = w.kind;
      v.precision = w.vector.precision;
      v.intermediates_on_chip = resident;
      v.stream_chunk_groups = chunk_g;
      v.stream_chunk_rows = chunk_r;
      std::vector<std::string> tilings;
      std::map<std::tuple<size_t, int64_t, int64_t, int64_t>, size_t> mapped;
      for (size_t i = 0; i < parts.size(); ++i) {
        const hw::LayerWorkload& part = parts[i];
        const auto key = std::make_tuple(i % w.parts.size(), part.gemm.groups, part.gemm.p,
                                         part.vector.out_elements);
        LayerMapping pm;
        if (auto it = mapped.find(key); it != mapped.end()) {
          pm = v.parts[it->second];
        } else {
          ENGINE_ASSIGN_OR_RETURN(pm, ChooseMapping(piece_hw, part, objective, instruction_budget));
          mapped.emplace(key, v.parts.size());
          const std::string_view piece =
              part.name.size() > w.name.size() && part.name.starts_with(w.name)
                  ? std::string_view(part.name).substr(w.name.size() + 1)
                  : std::string_view(part.name);
          tilings.push_back(absl::StrCat(std::string(piece), ": ", pm.chosen.tactic, " ",
                                         pm.chosen.tiling));
        }
        v.macs += pm.macs;
        v.vector_ops += pm.vector_ops;
        v.estimated_cycles += pm.estimated_cycles;
        // Compulsory bytes: the spilled intermediates count (stored, reloaded).
        v.min_dram_bytes += pm.min_dram_bytes;
        // The plan's tile of a composite bounds every MATMUL of its pieces:
        // the largest tile extents of its array pieces (first piece's
        // dataflow and loop order; `tiling` names each piece's own).
        if (pm.on_array) {
          if (!v.on_array) v.array = pm.array;
          v.on_array = true;
          v.array.gt = std::max(v.array.gt, pm.array.gt);
          v.array.kt = std::max(v.array.kt, pm.array.kt);
          v.array.mt = std::max(v.array.mt, pm.array.mt);
          v.array.pt = std::max(v.array.pt, pm.array.pt);
        }
        v.vector.tile_elements = std::max(v.vector.tile_elements, pm.vector.tile_elements);
        v.parts.push_back(std::move(pm));
      }
      if (resident) {
        // Every intermediate byte is on chip: none is compulsory DRAM traffic.
        int64_t spilled = 0;
        for (const hw::LayerWorkload& part : parts) {
          if (part.kind == LayerKind::kArray) {
            if (part.gemm.input_tensor == hw::kOnChipTensor) spilled += part.gemm.input_bytes;
            if (part.gemm.output_tensor == hw::kOnChipTensor) spilled += part.gemm.output_bytes;
          } else {
            for (const auto& o : part.vector.inputs) {
              if (o.tensor == hw::kOnChipTensor) spilled += o.bytes;
            }
            for (const auto& o : part.vector.outputs) {
              if (o.tensor == hw::kOnChipTensor) spilled += o.bytes;
            }
          }
        }
        v.min_dram_bytes -= spilled;
      }
      hw::Program program;
      LowerLayer(hw, w, v, 0, program);
      if (instruction_budget > 0 && static_cast<int64_t>(program.size()) > instruction_budget) {
        if (fewest_over_budget == 0 || static_cast<int64_t>(program.size()) < fewest_over_budget) {
          fewest_over_budget = static_cast<int64_t>(program.size());
        }
        return over_budget_error();
      }
      std::string tiling = absl::StrJoin(tilings, "; ");
      if (chunk_g > 0) {
        tiling = absl::StrCat(CeilDiv(w.stream_groups, chunk_g) * CeilDiv(w.stream_rows, chunk_r),
                              " chunks of ", chunk_g, " groups x ", chunk_r, " rows: ", tiling);
      }
      ENGINE_ASSIGN_OR_RETURN(
          v.chosen, Measure(hw, program, objective,
                            chunk_g > 0 ? "composite-streamed"
                            : resident  ? "composite-onchip"
                                        : "composite-spilled",
                            std::move(tiling)));
      return v;
    };
    ENGINE_ASSIGN_OR_RETURN(LayerMapping best, variant(w.parts, 0, false, 0, 0));
    // A resident or streamed variant whose pieces no longer fit is simply not
    // a candidate; the better one wins.
    auto consider = [&](absl::StatusOr<LayerMapping> other) -> absl::Status {
      if (!other.ok()) {
        return absl::IsResourceExhausted(other.status()) ? absl::OkStatus() : other.status();
      }
      if (other->chosen.objective < best.chosen.objective) {
        other->rejected = std::move(best.rejected);
        other->rejected.push_back(best.chosen);
        best = *std::move(other);
      } else {
        best.rejected.push_back(other->chosen);
      }
      return absl::OkStatus();
    };
    const int64_t half = static_cast<int64_t>(hw.scratchpad.bytes / 2);
    if (!hw.ideal_memory && w.resident_bytes > 0 && w.resident_bytes <= half) {
      ENGINE_RETURN_IF_ERROR(consider(variant(w.parts, w.resident_bytes, true, 0, 0)));
    } else if (!hw.ideal_memory && StreamableComposite(w)) {
      // The largest chunk whose intermediates fit half the scratchpad: whole
      // groups (all rows) when one group fits, else rows of one group.
      const int64_t cells = w.stream_groups * w.stream_rows;
      const int64_t per_row = CeilDiv(w.resident_bytes, cells);
      int64_t g = 1, r = 0;
      if (per_row * w.stream_rows <= half) {
        g = std::min(w.stream_groups, half / (per_row * w.stream_rows));
        r = w.stream_rows;
      } else {
        r = half / per_row;
      }
      if (r >= 1) {
        const int64_t reserved = per_row * g * r;
        ENGINE_RETURN_IF_ERROR(consider(variant(StreamedParts(w, g, r), reserved, true, g, r)));
      }
    }
    return best;
  }
  m.precision = w.kind == LayerKind::kArray ? w.gemm.precision : w.vector.precision;
  if (!hw.Supports(m.precision)) {
    std::vector<std::string> names;
    for (Precision p : hw.precisions) names.emplace_back(PrecisionName(p));
    return absl::UnimplementedError(absl::StrCat(
        where, ": hardware '", hw.name, "' has no ", PrecisionName(m.precision),
        " datapath (precisions: ", absl::StrJoin(names, ", "), ")"));
  }

  // One option per tactic: its best tiling, simulated.
  struct Option {
    TacticCost cost;
    bool on_array = false;
    ArrayTiling array;
    hw::VectorTiling vector;
    int64_t estimated_cycles = 0;
  };
  std::vector<Option> options;
  if (w.kind == LayerKind::kArray) {
    const hw::GemmWorkload& g = w.gemm;
    m.macs = g.Macs();
    // Strided 1x1 convolutions read only part of their input: the im2col
    // size bounds the input bytes any mapping must read.
    const int64_t im2col = g.groups * g.k * g.p * PrecisionBytes(g.precision);
    m.min_dram_bytes =
        std::min(g.input_bytes, im2col) + g.residual_bytes + g.weight_bytes + g.output_bytes;
    std::vector<Dataflow> dataflows = hw.dataflows;
    if (hw.pinned_dataflow) dataflows = {*hw.pinned_dataflow};
    const int64_t window = g.conv ? g.kernel_h * g.kernel_w : 1;
    const int64_t k_align = std::lcm(window, int64_t{hw.array_rows});
    std::vector<int64_t> kts, mts, pts, gts{1};
    if (hw.ideal_memory) {
      kts = {g.k}, mts = {g.m}, pts = {g.PixelsPerImage()}, gts = {g.groups};
    } else {
      kts = TileSizes(g.k, window, k_align);
      mts = TileSizes(g.m, 1, hw.array_cols);
      pts = PixelTileSizes(g, hw.array_rows, hw.array_cols);
      if (g.groups > 1) gts = TileSizes(g.groups, 1, 1);
    }
    for (Dataflow d : dataflows) {
      std::vector<Ranked> ranked;
      for (int64_t gt : gts) {
        for (int64_t kt : kts) {
          if (gt > 1 && kt != g.k) continue;
          for (int64_t mt : mts) {
            if (gt > 1 && mt != g.m) continue;
            for (int64_t pt : pts) {
              for (hw::LoopOrder order : {hw::LoopOrder::kMPK, hw::LoopOrder::kPMK}) {
                ArrayTiling t{d, order, gt, kt, mt, pt};
                if (!hw::Fits(hw, hw::ArrayBufferNeeds(hw, g, t))) continue;
                if (!within_budget(hw::ArrayInstructionBound(g, t))) continue;
                const hw::Estimate est = hw::EstimateArray(hw, g, t);
                ranked.push_back({ObjectiveOf(objective, static_cast<double>(est.cycles),
                                              est.totals.EnergyPj()),
                                  t, est.cycles});
              }
            }
          }
        }
      }
      const size_t keep = std::min<size_t>(kSimulatedPerDataflow, ranked.size());
      std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end(),
                        [](const Ranked& a, const Ranked& b) { return a.objective < b.objective; });
      Option best;
      for (size_t i = 0; i < keep; ++i) {
        hw::Program program;
        LowerArrayLayer(hw, g, ranked[i].tiling, 0, program);
        Option o;
        ENGINE_ASSIGN_OR_RETURN(
            o.cost, Measure(hw, program, objective, TacticName(d), ranked[i].tiling.ToString()));
        o.on_array = true;
        o.array = ranked[i].tiling;
        o.estimated_cycles = ranked[i].estimated_cycles;
        if (i == 0 || o.cost.objective < best.cost.objective) best = o;
      }
      if (keep > 0) options.push_back(best);
    }
    if (w.vector_alternative) {
      const hw::VectorTiling vt = hw::ChooseVectorTiling(hw, w.vector);
      if (vt.tile_elements > 0 && within_budget(hw::VectorInstructionBound(w.vector, vt))) {
        hw::Program program;
        LowerVectorLayer(hw, w.vector, vt, 0, program);
        Option o;
        ENGINE_ASSIGN_OR_RETURN(o.cost,
                                Measure(hw, program, objective, "vector", VectorTilingString(vt)));
        o.vector = vt;
        o.estimated_cycles = hw::EstimateVector(hw, w.vector, vt).cycles;
        options.push_back(o);
      }
    }
    if (options.empty() && fewest_over_budget > 0) return over_budget_error();
    if (options.empty()) {
      const Dataflow d = dataflows.front();
      const ArrayTiling smallest{d, hw::LoopOrder::kMPK, 1, std::min(g.k, window), 1, 1};
      return absl::ResourceExhaustedError(absl::StrCat(
          where, ": no tiling fits hardware '", hw.name, "': the smallest tile (",
          smallest.ToString(), ") needs ",
          hw::DescribeNeeds(hw, hw::ArrayBufferNeeds(hw, g, smallest))));
    }
  } else {
    const hw::VectorWorkload& v = w.vector;
    m.vector_ops = v.Ops();
    m.min_dram_bytes = v.InputBytes() + v.OutputBytes();
    const hw::VectorTiling vt = hw::ChooseVectorTiling(hw, v);
    if (vt.tile_elements == 0) {
      const int64_t unit = std::max<int64_t>(1, v.tile_unit);
      const bool streamable = v.stats_ops_per_element > 0 && unit > 1;
      const hw::VectorTiling one{unit, streamable ? 1 : 0};
      return absl::ResourceExhaustedError(absl::StrCat(
          where, ": no tiling fits hardware '", hw.name, "': the smallest tile (",
          streamable ? "one element of a streamed " : "", one.tile_elements, " elements) needs ",
          hw::DescribeNeeds(hw, hw::VectorBufferNeeds(hw, v, one))));
    }
    // The largest tile that fits has the fewest instructions.
    if (!within_budget(hw::VectorInstructionBound(v, vt))) return over_budget_error();
    hw::Program program;
    LowerVectorLayer(hw, v, vt, 0, program);
    Option o;
    ENGINE_ASSIGN_OR_RETURN(o.cost, Measure(hw, program, objective,
                                            w.kind == LayerKind::kDma ? "dma" : "vector",
                                            VectorTilingString(vt)));
    o.vector = vt;
    o.estimated_cycles = hw::EstimateVector(hw, v, vt).cycles;
    options.push_back(o);
  }
  // The best option wins (ties: the earlier one); the others are rejected.
  std::stable_sort(options.begin(), options.end(), [](const Option& a, const Option& b) {
    return a.cost.objective < b.cost.objective;
  });
  const Option& best = options.front();
  m.chosen = best.cost;
  m.on_array = best.on_array;
  m.array = best.array;
  m.vector = best.vector;
  m.estimated_cycles = best.estimated_cycles;
  if (w.kind == LayerKind::kArray && !m.on_array) m.vector_ops = w.vector.Ops();
  for (size_t i = 1; i < options.size(); ++i) m.rejected.push_back(options[i].cost);
  return m;
}

void LowerLayer(const HardwareConfig& hw, const hw::LayerWorkload& w, const LayerMapping& m,
                uint32_t layer, hw::Program& program) {
  if (w.kind == LayerKind::kView) return;
  if (w.kind == LayerKind::kComposite) {
    const size_t first = program.size();
    const std::vector<hw::LayerWorkload> streamed =
        m.stream_chunk_groups > 0 ? StreamedParts(w, m.stream_chunk_groups, m.stream_chunk_rows)
                                  : std::vector<hw::LayerWorkload>{};
    const std::vector<hw::LayerWorkload>& parts = m.stream_chunk_groups > 0 ? streamed : w.parts;
    for (size_t i = 0; i < parts.size() && i < m.parts.size(); ++i) {
      LowerLayer(hw, parts[i], m.parts[i], layer, program);
    }
    ResolveOnChipOperands(program, first, m.intermediates_on_chip);
    return;
  }
  if (m.on_array) {
    LowerArrayLayer(hw, w.gemm, m.array, layer, program);
  } else {
    LowerVectorLayer(hw, w.vector, m.vector, layer, program);
  }
}

}  // namespace engine::codegen
