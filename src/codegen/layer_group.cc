#include "codegen/layer_group.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "codegen/residency.h"
#include "common/status_macros.h"
#include "hw/int_math.h"
#include "hw/simulator.h"

namespace engine::codegen {
namespace {

using hw::CeilDiv;
using hw::Instruction;
using hw::LayerKind;
using hw::Opcode;

constexpr int64_t kAlignment = 64;
constexpr int64_t kBandCounts[] = {2, 3, 4, 6, 8, 12, 16, 24, 32, 56, 112};

int64_t AlignUp(int64_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; }

struct Figures {
  int64_t cycles = 0;
  double energy_pj = 0;
  int64_t dram_bytes = 0;
};

absl::StatusOr<Figures> SimulateAlone(const HardwareConfig& hw, const hw::Program& program,
                                      int num_layers) {
  Figures f;
  if (program.empty()) return f;
  ENGINE_ASSIGN_OR_RETURN(hw::SimulationResult sim, hw::Simulate(hw, program, num_layers));
  f.cycles = sim.total_cycles;
  for (const hw::LayerTiming& l : sim.layers) {
    f.energy_pj += l.totals.EnergyPj();
    f.dram_bytes += l.totals.dram_read + l.totals.dram_write;
  }
  return f;
}

double Value(const GroupObjective& o, const Figures& f) {
  switch (o.kind) {
    case GroupObjective::Kind::kLatency: return static_cast<double>(f.cycles);
    case GroupObjective::Kind::kEnergy: return f.energy_pj;
    case GroupObjective::Kind::kEdp: return static_cast<double>(f.cycles) * f.energy_pj;
    case GroupObjective::Kind::kWeighted:
      return o.alpha * static_cast<double>(f.cycles) + o.beta * static_cast<double>(f.dram_bytes);
  }
  return static_cast<double>(f.cycles);
}

// Scales `bytes` of an extent of `total` rows to `rows` rows.
int64_t RowShare(int64_t bytes, int64_t total, int64_t rows) {
  return total > 0 ? bytes / total * rows + bytes % total * rows / total : bytes;
}

// A chain layer's row view: a convolution (its GemmWorkload) or a pool
// (its single-operand VectorWorkload and PoolRows).
bool IsPool(const hw::LayerWorkload& w, const PoolRows& pool) {
  return pool.Valid() && w.kind == LayerKind::kVector && !w.vector_alternative &&
         w.vector.inputs.size() == 1 && w.vector.outputs.size() == 1;
}
const PoolRows& PoolOf(const std::vector<PoolRows>& pools, size_t q) {
  static const PoolRows kNone;
  return q < pools.size() ? pools[q] : kNone;
}
int32_t InTensor(const hw::LayerWorkload& w) {
  return w.kind == LayerKind::kArray ? w.gemm.input_tensor : w.vector.inputs.front().tensor;
}
int32_t OutTensor(const hw::LayerWorkload& w) {
  return w.kind == LayerKind::kArray ? w.gemm.output_tensor : w.vector.outputs.front().tensor;
}
int64_t InBytes(const hw::LayerWorkload& w) {
  return w.kind == LayerKind::kArray ? w.gemm.input_bytes : w.vector.inputs.front().bytes;
}
int64_t OutBytes(const hw::LayerWorkload& w) {
  return w.kind == LayerKind::kArray ? w.gemm.output_bytes : w.vector.outputs.front().bytes;
}
int64_t InH(const hw::LayerWorkload& w, const PoolRows& pool) {
  return w.kind == LayerKind::kArray ? w.gemm.in_h : pool.in_h;
}
int64_t OutH(const hw::LayerWorkload& w, const PoolRows& pool) {
  return w.kind == LayerKind::kArray ? w.gemm.out_h : pool.out_h;
}
Precision PrecisionOf(const hw::LayerWorkload& w) {
  return w.kind == LayerKind::kArray ? w.gemm.precision : w.vector.precision;
}
// A batch-1 convolution on the array.
bool IsConv(const hw::LayerWorkload& w) {
  return w.kind == LayerKind::kArray && w.gemm.conv && w.gemm.batch == 1;
}

}  // namespace

absl::StatusOr<GroupObjective> ParseGroupObjective(std::string_view text) {
  if (auto o = ObjectiveFromName(text)) return ToGroupObjective(*o);
  const std::string_view prefix = "weighted:";
  auto bad = [&]() {
    return absl::InvalidArgumentError(absl::StrCat(
        "objective '", std::string(text),
        "': expected latency, energy, edp or weighted:alpha=A,beta=B (A, B >= 0, not both 0)"));
  };
  if (!text.starts_with(prefix)) return bad();
  GroupObjective o;
  o.kind = GroupObjective::Kind::kWeighted;
  o.alpha = o.beta = -1;
  const std::string rest(text.substr(prefix.size()));
  for (absl::string_view kv : absl::StrSplit(rest, ',')) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    double v = 0;
    if (!absl::SimpleAtod(p.second, &v) || !(v >= 0) || !std::isfinite(v)) return bad();
    if (p.first == "alpha") {
      o.alpha = v;
    } else if (p.first == "beta") {
      o.beta = v;
    } else {
      return bad();
    }
  }
  if (o.alpha < 0 || o.beta < 0 || (o.alpha == 0 && o.beta == 0)) return bad();
  return o;
}

GroupObjective ToGroupObjective(Objective objective) {
  GroupObjective o;
  switch (objective) {
    case Objective::kLatency: o.kind = GroupObjective::Kind::kLatency; break;
    case Objective::kEnergy: o.kind = GroupObjective::Kind::kEnergy; break;
    case Objective::kEdp: o.kind = GroupObjective::Kind::kEdp; break;
  }
  return o;
}

bool Chainable(const hw::LayerWorkload& producer, const hw::LayerWorkload& consumer,
               const PoolRows& producer_pool, const PoolRows& consumer_pool) {
  const bool pool_a = IsPool(producer, producer_pool), pool_b = IsPool(consumer, consumer_pool);
  if (!(IsConv(producer) || pool_a) || !(IsConv(consumer) || pool_b) || (pool_a && pool_b)) {
    return false;
  }
  if (pool_a || pool_b) {
    // conv -> pool or pool -> conv: the same tensor, bytes and rows.
    const int32_t t = OutTensor(producer);
    if (pool_b && consumer_pool.in_h != producer.gemm.out_h) return false;
    if (pool_a && consumer.gemm.in_h != producer_pool.out_h) return false;
    return t >= 0 && t == InTensor(consumer) && OutBytes(producer) == InBytes(consumer) &&
           (pool_b || consumer.gemm.residual_tensor != t) &&
           PrecisionOf(producer) == PrecisionOf(consumer) && OutH(producer, producer_pool) >= 2;
  }
  const hw::GemmWorkload& a = producer.gemm;
  const hw::GemmWorkload& b = consumer.gemm;
  return a.output_tensor >= 0 &&
         a.output_tensor == b.input_tensor && b.residual_tensor != a.output_tensor &&
         a.output_bytes == b.input_bytes && a.out_h == b.in_h && a.out_w == b.in_w &&
         a.precision == b.precision && a.out_h >= 2;
}

std::vector<std::vector<hw::LayerWorkload>> BandWorkloads(
    const std::vector<hw::LayerWorkload>& chain, int64_t bands,
    std::vector<std::vector<BandRows>>* rows, const std::vector<PoolRows>& pools) {
  std::vector<std::vector<hw::LayerWorkload>> out;
  if (chain.empty() || bands < 1) return out;
  const size_t n = chain.size();
  const int64_t height = OutH(chain.back(), PoolOf(pools, n - 1));
  if (height < 1) return out;
  const int64_t per_band = CeilDiv(height, bands);
  if (rows != nullptr) rows->clear();
  for (int64_t o0 = 0; o0 < height; o0 += per_band) {
    std::vector<hw::LayerWorkload> band(n);
    std::vector<BandRows> band_rows(n);
    int64_t out_row0 = o0, out_rows = std::min(per_band, height - o0);
    for (size_t q = n; q-- > 0;) {
      const hw::LayerWorkload& w = chain[q];
      const PoolRows& pool = PoolOf(pools, q);
      if (IsPool(w, pool)) {
        // The input rows the windows of output rows [out_row0, out_row0 +
        // out_rows) touch, padding rows excluded (ONNX pooling).
        const int64_t eff_kh = (pool.kernel_h - 1) * pool.dilation_h + 1;
        const int64_t lo = std::clamp<int64_t>(out_row0 * pool.stride_h - pool.pad_top, 0,
                                               pool.in_h - 1);
        const int64_t hi = std::clamp<int64_t>(
            (out_row0 + out_rows - 1) * pool.stride_h - pool.pad_top + eff_kh, lo + 1, pool.in_h);
        hw::LayerWorkload b = w;
        b.name = absl::StrCat(w.name, "[rows ", out_row0, "+", out_rows, "]");
        hw::VectorWorkload& v = b.vector;
        v.out_elements = RowShare(w.vector.out_elements, pool.out_h, out_rows);
        v.inputs.front().bytes = RowShare(w.vector.inputs.front().bytes, pool.in_h, hi - lo);
        v.outputs.front().bytes = RowShare(w.vector.outputs.front().bytes, pool.out_h, out_rows);
        if (q > 0) v.inputs.front().tensor = kBandTensor;
        if (q + 1 < n) v.outputs.front().tensor = kBandTensor;
        band[q] = std::move(b);
        band_rows[q] = {out_row0, out_rows, lo, hi - lo};
        out_row0 = lo;
        out_rows = hi - lo;
        continue;
      }
      const hw::GemmWorkload& g = w.gemm;
      // Alwani et al. 2016, eq. 1: the input rows R output rows need.
      const int64_t eff_kh = (g.kernel_h - 1) * g.dilation_h + 1;
      const int64_t in_rows = std::min(g.in_h, (out_rows - 1) * g.stride_h + eff_kh);
      const int64_t in_row0 = std::max<int64_t>(0, std::min(out_row0 * g.stride_h, g.in_h - in_rows));
      hw::LayerWorkload b = w;
      b.name = absl::StrCat(w.name, "[rows ", out_row0, "+", out_rows, "]");
      hw::GemmWorkload& bg = b.gemm;
      bg.out_h = out_rows;
      bg.in_h = in_rows;
      bg.p = out_rows * g.out_w;
      bg.input_bytes = RowShare(g.input_bytes, g.in_h, in_rows);
      bg.output_bytes = RowShare(g.output_bytes, g.out_h, out_rows);
      bg.residual_bytes = RowShare(g.residual_bytes, g.out_h, out_rows);
      if (q > 0) bg.input_tensor = kBandTensor;
      if (q + 1 < n) bg.output_tensor = kBandTensor;
      if (b.vector_alternative) {
        hw::VectorWorkload& v = b.vector;
        v.out_elements = RowShare(w.vector.out_elements, g.out_h, out_rows);
        for (auto& op : v.inputs) {
          if (op.tensor == g.input_tensor) {
            op.bytes = RowShare(op.bytes, g.in_h, in_rows);
            op.tensor = bg.input_tensor;
          } else if (op.tensor != g.weight_tensor || op.tensor < 0) {
            op.bytes = RowShare(op.bytes, g.out_h, out_rows);
          }
        }
        for (auto& op : v.outputs) {
          op.bytes = RowShare(op.bytes, g.out_h, out_rows);
          if (op.tensor == g.output_tensor) op.tensor = bg.output_tensor;
        }
      }
      band[q] = std::move(b);
      band_rows[q] = {out_row0, out_rows, in_row0, in_rows};
      out_row0 = in_row0;
      out_rows = in_rows;
    }
    out.push_back(std::move(band));
    if (rows != nullptr) rows->push_back(std::move(band_rows));
  }
  return out;
}

absl::Status LowerGroup(const HardwareConfig& hw, const std::vector<hw::LayerWorkload>& chain,
                        int64_t bands, int first_layer, Objective mapping_objective,
                        LayerGroup& group, const std::vector<PoolRows>& pools) {
  const size_t n = chain.size();
  std::vector<std::vector<BandRows>> rows;
  const auto bw = BandWorkloads(chain, bands, &rows, pools);
  if (n < 2 || bw.empty()) {
    return absl::InvalidArgumentError("layer group: fewer than two layers or no band");
  }
  // One band buffer per intermediate, sized for its largest band (the
  // producer's output rows, which are the consumer's input rows).
  std::vector<int64_t> buffer(n - 1, 0), buffer_base(n - 1, 0);
  int64_t reserved = 0;
  for (size_t q = 0; q + 1 < n; ++q) {
    for (const auto& band : bw) buffer[q] = std::max(buffer[q], OutBytes(band[q]));
    buffer[q] = AlignUp(buffer[q]);
    buffer_base[q] = reserved;
    reserved += buffer[q];
  }
  const auto capacity = static_cast<int64_t>(hw.scratchpad.bytes);
  if (reserved > capacity / 8 * 7) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "layer group at layer ", first_layer, ": band buffers of ", reserved,
        " bytes exceed seven eighths of the scratchpad (", capacity, " bytes)"));
  }
  HardwareConfig piece_hw = hw;
  piece_hw.scratchpad.bytes -= static_cast<uint64_t>(reserved);
  group = LayerGroup{};
  group.first = first_layer;
  group.count = static_cast<int>(n);
  group.bands = static_cast<int64_t>(bw.size());
  group.band_buffer_bytes = reserved;
  group.mappings.assign(n, LayerMapping{});
  std::map<std::tuple<size_t, int64_t, int64_t>, LayerMapping> mapped;  // (layer, rows)
  std::vector<std::string> tilings(n);
  for (size_t b = 0; b < bw.size(); ++b) {
    for (size_t q = 0; q < n; ++q) {
      const hw::LayerWorkload& w = bw[b][q];
      const auto key = std::make_tuple(q, rows[b][q].out_rows, rows[b][q].in_rows);
      auto it = mapped.find(key);
      if (it == mapped.end()) {
        ENGINE_ASSIGN_OR_RETURN(LayerMapping m, ChooseMapping(piece_hw, w, mapping_objective));
        it = mapped.emplace(key, std::move(m)).first;
      }
      const LayerMapping& m = it->second;
      const auto layer = static_cast<uint32_t>(first_layer + static_cast<int>(q));
      const size_t start = group.program.size();
      LowerLayer(piece_hw, w, m, layer, group.program);
      const hw::LayerWorkload& whole = chain[q];
      const PoolRows& pool = PoolOf(pools, q);
      const int32_t in_tensor = InTensor(whole), out_tensor = OutTensor(whole);
      const int32_t residual_tensor =
          whole.kind == LayerKind::kArray ? whole.gemm.residual_tensor : -1;
      for (size_t i = start; i < group.program.size(); ++i) {
        Instruction& in = group.program[i];
        RelocateScratchpad(hw, in, static_cast<uint64_t>(reserved));
        const bool move = in.opcode == Opcode::kLoadInput || in.opcode == Opcode::kStore;
        if (move && in.tensor == kBandTensor) {
          // The intermediate band: an on-chip move into / out of its buffer.
          const size_t buf = in.opcode == Opcode::kStore ? q : q - 1;
          if (in.dram_offset + in.bytes > static_cast<uint64_t>(buffer[buf])) {
            return absl::ResourceExhaustedError(absl::StrCat(
                "layer group at layer ", first_layer, ": a move of ", in.bytes, " bytes at ",
                in.dram_offset, " overruns its band buffer of ", buffer[buf], " bytes"));
          }
          in.flags |= hw::kFlagResident;
          in.weight_addr = static_cast<uint64_t>(buffer_base[buf]) + in.dram_offset;
          in.tensor = -1;
        } else if (move && in.tensor >= 0 && in.tensor == in_tensor && q == 0) {
          in.dram_offset += static_cast<uint64_t>(
              RowShare(InBytes(whole), InH(whole, pool), rows[b][q].in_row0));
        } else if (move && in.tensor >= 0 && q + 1 == n &&
                   (in.tensor == out_tensor || in.tensor == residual_tensor)) {
          in.dram_offset += static_cast<uint64_t>(
              RowShare(OutBytes(whole), OutH(whole, pool), rows[b][q].out_row0));
        }
      }
      // The layer's mapping in the plan: band mappings summed, tiles bounded.
      LayerMapping& lm = group.mappings[q];
      if (b == 0) {
        lm = m;
        lm.macs = lm.vector_ops = lm.estimated_cycles = 0;
        lm.rejected.clear();
        tilings[q] = m.chosen.tiling;
      } else if (m.on_array) {
        if (!lm.on_array) lm.array = m.array;
        lm.on_array = true;
        lm.array.gt = std::max(lm.array.gt, m.array.gt);
        lm.array.kt = std::max(lm.array.kt, m.array.kt);
        lm.array.mt = std::max(lm.array.mt, m.array.mt);
        lm.array.pt = std::max(lm.array.pt, m.array.pt);
      }
      lm.vector.tile_elements = std::max(lm.vector.tile_elements, m.vector.tile_elements);
      lm.macs += m.macs;
      lm.vector_ops += m.vector_ops;
      lm.estimated_cycles += m.estimated_cycles;
    }
  }
  for (size_t q = 0; q < n; ++q) {
    LayerMapping& lm = group.mappings[q];
    lm.chosen.tactic = absl::StrCat("group-", lm.chosen.tactic);
    lm.chosen.tiling = absl::StrCat("layer ", q + 1, " of a ", n, "-layer group (", group.bands,
                                    " bands, band buffers ", reserved, " B): ", tilings[q]);
    group.recompute_macs += lm.macs;
  }
  // Costed as it will run: with the prefetch of each band piece's first
  // loads during the previous piece (ApplyResidency, prefetch only).
  hw::Program costed = group.program;
  ResidencyOptions prefetch_only;
  prefetch_only.residency = false;
  prefetch_only.layer_groups = false;
  ENGINE_RETURN_IF_ERROR(ApplyResidency(hw, prefetch_only, {}, {}, {0},
                                        {static_cast<uint32_t>(costed.size())}, costed)
                             .status());
  ENGINE_ASSIGN_OR_RETURN(Figures f,
                          SimulateAlone(hw, costed, first_layer + static_cast<int>(n)));
  group.cycles = f.cycles;
  group.energy_pj = f.energy_pj;
  group.dram_bytes = f.dram_bytes;
  for (size_t q = 0; q < n; ++q) {
    group.mappings[q].chosen.cycles = f.cycles;
    group.mappings[q].chosen.energy_pj = f.energy_pj;
  }
  return absl::OkStatus();
}

std::string LayerGroupReport(const ir::Graph& graph, const GroupPlan& plan) {
  if (plan.candidates == 0) return "";
  std::string out = absl::StrFormat(
      "[I] Layer groups (modeled): %zu accepted of %d candidates (%d no fit, %d not on the "
      "optimum); objective %.6g -> %.6g%s%s\n",
      plan.groups.size(), plan.candidates, plan.rejected_no_fit, plan.rejected_cost,
      plan.objective_before, plan.objective_after,
      plan.over_energy_budget ? "; no schedule meets the energy budget" : "",
      plan.over_instruction_limit ? "; dropped: above the instruction limit" : "");
  const auto& nodes = graph.nodes();
  auto name = [&](int l) {
    if (l < 0 || static_cast<size_t>(l) >= nodes.size()) return std::string("?");
    const std::string& n = nodes[static_cast<size_t>(l)]->name;  // a fused layer: its first node
    return n.substr(0, n.find(" + "));
  };
  for (const LayerGroup& g : plan.groups) {
    absl::StrAppendFormat(
        &out,
        "[I]   group of %d layers '%s' .. '%s': %d bands, band buffers %d B; %d -> %d cycles, "
        "%.4g -> %.4g pJ, DRAM %d -> %d B; recomputed MACs %d; eta = dP/dE = %s cycles/pJ\n",
        g.count, name(g.first), name(g.first + g.count - 1), g.bands, g.band_buffer_bytes,
        g.separate_cycles, g.cycles, g.separate_energy_pj, g.energy_pj, g.separate_dram_bytes,
        g.dram_bytes, g.recompute_macs,
        std::isinf(g.eta) ? std::string("inf (saves energy too)") : absl::StrFormat("%.4g", g.eta));
  }
  return out;
}

absl::StatusOr<GroupPlan> ChooseLayerGroups(const HardwareConfig& hw,
                                            const std::vector<hw::LayerWorkload>& layers,
                                            const std::vector<LayerMapping>& mappings,
                                            const std::vector<bool>& single_use,
                                            const GroupObjective& objective,
                                            Objective mapping_objective, int max_layers,
                                            const std::vector<PoolRows>& pools) {
  GroupPlan plan;
  const size_t n = layers.size();
  if (mappings.size() != n || single_use.size() != n || (!pools.empty() && pools.size() != n)) {
    return absl::InvalidArgumentError(
        "layer groups: layers, mappings, uses and pools differ in length");
  }
  // Each layer alone.
  std::vector<Figures> alone(n);
  for (size_t l = 0; l < n; ++l) {
    hw::Program p;
    LowerLayer(hw, layers[l], mappings[l], 0, p);
    ENGINE_ASSIGN_OR_RETURN(alone[l], SimulateAlone(hw, p, 1));
  }
  // Candidate groups [i, i + len): the best band count of each.
  std::map<std::pair<size_t, size_t>, LayerGroup> best;  // (first, count)
  const int64_t half = static_cast<int64_t>(hw.scratchpad.bytes / 2);
  for (size_t i = 0; i < n; ++i) {
    for (size_t len = 2; len <= static_cast<size_t>(std::max(max_layers, 2)) && i + len <= n;
         ++len) {
      const size_t j = i + len - 1;
      if (!single_use[j - 1] ||
          !Chainable(layers[j - 1], layers[j], PoolOf(pools, j - 1), PoolOf(pools, j))) {
        break;
      }
      int64_t intermediates = 0;
      for (size_t q = i; q < j; ++q) intermediates += OutBytes(layers[q]);
      if (intermediates <= half) continue;  // residency can keep them whole
      std::vector<hw::LayerWorkload> chain(layers.begin() + static_cast<std::ptrdiff_t>(i),
                                           layers.begin() + static_cast<std::ptrdiff_t>(j + 1));
      std::vector<PoolRows> chain_pools;
      for (size_t q = i; q <= j; ++q) chain_pools.push_back(PoolOf(pools, q));
      ++plan.candidates;
      Figures separate;
      for (size_t q = i; q <= j; ++q) {
        separate.cycles += alone[q].cycles;
        separate.energy_pj += alone[q].energy_pj;
        separate.dram_bytes += alone[q].dram_bytes;
      }
      bool found = false;
      LayerGroup chosen;
      // Band counts in increasing order: too few do not fit, then the cost
      // falls while bands shrink and rises again as weight reloads and halo
      // recomputation grow. The search stops at the first rise after a fit
      // (the cost is taken to be unimodal in the band count), which keeps
      // the build time near that of an ungrouped build.
      for (int64_t bands : kBandCounts) {
        if (bands > OutH(chain.back(), chain_pools.back())) break;
        LayerGroup g;
        absl::Status st =
            LowerGroup(hw, chain, bands, static_cast<int>(i), mapping_objective, g, chain_pools);
        if (absl::IsResourceExhausted(st)) continue;
        ENGINE_RETURN_IF_ERROR(st);
        if (!found || Value(objective, {g.cycles, g.energy_pj, g.dram_bytes}) <
                          Value(objective, {chosen.cycles, chosen.energy_pj, chosen.dram_bytes})) {
          chosen = std::move(g);
          found = true;
        } else {
          break;
        }
      }
      if (!found) {
        ++plan.rejected_no_fit;
        continue;
      }
      chosen.separate_cycles = separate.cycles;
      chosen.separate_energy_pj = separate.energy_pj;
      chosen.separate_dram_bytes = separate.dram_bytes;
      int64_t separate_macs = 0;
      for (size_t q = i; q <= j; ++q) separate_macs += mappings[q].macs;
      chosen.recompute_macs -= separate_macs;
      const double dp = static_cast<double>(separate.cycles - chosen.cycles);
      const double de = chosen.energy_pj - separate.energy_pj;
      chosen.eta = de > 0 ? dp / de : std::numeric_limits<double>::infinity();
      best.emplace(std::make_pair(i, len), std::move(chosen));
    }
  }
  // F(v_j) = min_i F(v_i) + ΔC(v_i, v_j) over the schedule order.
  auto solve = [&](const GroupObjective& o, std::vector<size_t>* from, std::vector<size_t>* len_of) {
    std::vector<double> f(n + 1, std::numeric_limits<double>::infinity());
    from->assign(n + 1, 0);
    len_of->assign(n + 1, 1);
    f[0] = 0;
    for (size_t j = 1; j <= n; ++j) {
      f[j] = f[j - 1] + Value(o, alone[j - 1]);
      (*from)[j] = j - 1;
      for (const auto& [key, g] : best) {
        if (key.first + key.second != j) continue;
        const double c = f[key.first] + Value(o, {g.cycles, g.energy_pj, g.dram_bytes});
        if (c < f[j]) {
          f[j] = c;
          (*from)[j] = key.first;
          (*len_of)[j] = key.second;
        }
      }
    }
    return f[n];
  };
  auto energy_of = [&](const std::vector<size_t>& from, const std::vector<size_t>& len_of) {
    double e = 0;
    for (size_t j = n; j > 0; j = from[j]) {
      e += len_of[j] > 1 ? best.at({from[j], len_of[j]}).energy_pj : alone[j - 1].energy_pj;
    }
    return e;
  };
  std::vector<size_t> from, len_of;
  plan.objective_after = solve(objective, &from, &len_of);
  for (const Figures& a : alone) plan.objective_before += Value(objective, a);
  if (objective.energy_budget_pj > 0 && energy_of(from, len_of) > objective.energy_budget_pj) {
    GroupObjective energy = objective;
    energy.kind = GroupObjective::Kind::kEnergy;
    std::vector<size_t> efrom, elen;
    solve(energy, &efrom, &elen);
    from = efrom;
    len_of = elen;
    plan.over_energy_budget = energy_of(from, len_of) > objective.energy_budget_pj;
    plan.objective_after = 0;
    for (size_t j = n; j > 0; j = from[j]) {
      plan.objective_after +=
          len_of[j] > 1 ? Value(objective, {best.at({from[j], len_of[j]}).cycles,
                                             best.at({from[j], len_of[j]}).energy_pj,
                                             best.at({from[j], len_of[j]}).dram_bytes})
                        : Value(objective, alone[j - 1]);
    }
  }
  for (size_t j = n; j > 0; j = from[j]) {
    if (len_of[j] > 1) plan.groups.push_back(std::move(best.at({from[j], len_of[j]})));
  }
  std::reverse(plan.groups.begin(), plan.groups.end());
  plan.rejected_cost = static_cast<int>(best.size()) - static_cast<int>(plan.groups.size());
  return plan;
}

absl::StatusOr<double> ProgramObjective(const HardwareConfig& hw, const hw::Program& program,
                                        int num_layers, const GroupObjective& objective,
                                        int64_t* cycles, double* energy_pj, int64_t* dram_bytes) {
  ENGINE_ASSIGN_OR_RETURN(const Figures f, SimulateAlone(hw, program, num_layers));
  if (cycles != nullptr) *cycles = f.cycles;
  if (energy_pj != nullptr) *energy_pj = f.energy_pj;
  if (dram_bytes != nullptr) *dram_bytes = f.dram_bytes;
  return Value(objective, f);
}

}  // namespace engine::codegen
