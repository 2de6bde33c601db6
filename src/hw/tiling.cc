#include "hw/tiling.h"
#include "hw/int_math.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/limits.h"

namespace engine::hw {
namespace {

int64_t AlignUp(int64_t x, int64_t a) { return RoundUp(x, a); }
constexpr int64_t kSlotAlign = 64;


InstructionCost DmaCost(const HardwareConfig& hw, Opcode op, int64_t bytes, Precision prec) {
  Instruction in;
  in.opcode = op;
  in.precision = prec;
  in.bytes = static_cast<uint64_t>(bytes);
  return CostOf(hw, in);
}

std::string Bytes(int64_t b) {
  if (b >= (int64_t{1} << 20) && b % (int64_t{1} << 20) == 0) return absl::StrCat(b >> 20, " MiB");
  if (b >= 1024) return absl::StrFormat("%.1f KiB", b / 1024.0);
  return absl::StrCat(b, " B");
}

// Tiles of one extent, as (size, count) pairs.
struct Piece {
  int64_t size, count;
};
std::vector<Piece> Pieces(const Split& s, int64_t multiplier = 1) {
  std::vector<Piece> out;
  if (s.count > 0) out.push_back({s.size, s.count * multiplier});
  if (s.rem > 0) out.push_back({s.rem, multiplier});
  return out;
}

}  // namespace

const char* LayerKindName(LayerKind kind) {
  switch (kind) {
    case LayerKind::kView: return "view";
    case LayerKind::kArray: return "array";
    case LayerKind::kVector: return "vector";
    case LayerKind::kDma: return "dma";
    case LayerKind::kComposite: return "composite";
  }
  return "?";
}

int64_t VectorWorkload::InputBytes() const {
  int64_t b = 0;
  for (const Operand& o : inputs) b += o.bytes;
  return b;
}

int64_t VectorWorkload::OutputBytes() const {
  int64_t b = 0;
  for (const Operand& o : outputs) b += o.bytes;
  return b;
}

int64_t VectorWorkload::Ops() const {
  return static_cast<int64_t>(std::ceil(ops_per_element * static_cast<double>(out_elements)));
}

const char* LoopOrderName(LoopOrder order) {
  return order == LoopOrder::kMPK ? "m,p,k" : "p,m,k";
}

std::string ArrayTiling::ToString() const {
  return absl::StrCat(DataflowName(dataflow), " ", LoopOrderName(order), " g", gt, " k", kt, " m",
                      mt, " p", pt);
}

Split SplitExtent(int64_t extent, int64_t tile) {
  Split s;
  s.size = std::max<int64_t>(1, std::min(tile, extent));
  s.count = extent / s.size;
  s.rem = extent % s.size;
  return s;
}

int64_t InputTileBytes(const GemmWorkload& w, int64_t kt, int64_t pt) {
  const int64_t e = PrecisionBytes(w.precision);
  const int64_t im2col = kt * pt * e;
  if (!w.conv) return im2col;
  const int64_t window = w.kernel_h * w.kernel_w;
  const int64_t channels = CeilDiv(kt, window);
  const int64_t eff_kh = (w.kernel_h - 1) * w.dilation_h + 1;
  const int64_t eff_kw = (w.kernel_w - 1) * w.dilation_w + 1;
  int64_t rows, cols;
  if (pt >= w.out_w) {
    const int64_t rows_out = CeilDiv(pt, w.out_w);
    rows = std::min(w.in_h, (rows_out - 1) * w.stride_h + eff_kh);
    cols = w.in_w;
  } else {
    rows = std::min(w.in_h, eff_kh);
    cols = std::min(w.in_w, (pt - 1) * w.stride_w + eff_kw);
  }
  return std::min(im2col, channels * rows * cols * e);
}

int64_t WeightTileBytes(const GemmWorkload& w, int64_t kt, int64_t mt) {
  return kt * mt * PrecisionBytes(w.precision);
}

int64_t AccTileBytes(int64_t mt, int64_t pt) { return mt * pt * kAccumulatorBytes; }

BufferNeeds ArrayBufferNeeds(const HardwareConfig& hw, const GemmWorkload& w, const ArrayTiling& t) {
  BufferNeeds n;
  const int64_t bias = w.m > 0 ? CeilDiv(w.bias_bytes * t.mt, w.m) : 0;
  n.input_slot = AlignUp(t.gt * InputTileBytes(w, t.kt, t.pt), kSlotAlign);
  n.weight_slot = AlignUp(t.gt * (WeightTileBytes(w, t.kt, t.mt) + bias), kSlotAlign);
  n.acc_slot = AlignUp(t.gt * AccTileBytes(t.mt, t.pt), kSlotAlign);
  if (w.residual_tensor >= 0) {
    n.residual_slot = AlignUp(t.gt * t.mt * t.pt * PrecisionBytes(w.precision), kSlotAlign);
  }
  const int64_t tiles = SplitExtent(w.groups, t.gt).Tiles() * SplitExtent(w.k, t.kt).Tiles() *
                        SplitExtent(w.m, t.mt).Tiles() * w.batch *
                        SplitExtent(w.PixelsPerImage(), t.pt).Tiles();
  n.slots = tiles > 1 ? 2 : 1;
  const bool separate_weights = hw.weight_buffer.bytes > 0;
  n.scratchpad = n.slots * (n.input_slot + n.residual_slot) +
                 (separate_weights ? 0 : n.slots * n.weight_slot);
  n.weight_buffer = separate_weights ? n.slots * n.weight_slot : 0;
  n.accumulator = n.slots * n.acc_slot;
  return n;
}

bool Fits(const HardwareConfig& hw, const BufferNeeds& n) {
  if (hw.ideal_memory) return true;
  return n.scratchpad <= static_cast<int64_t>(hw.scratchpad.bytes) &&
         n.weight_buffer <= static_cast<int64_t>(hw.weight_buffer.bytes) &&
         n.accumulator <= static_cast<int64_t>(hw.accumulator.bytes);
}

std::string DescribeNeeds(const HardwareConfig& hw, const BufferNeeds& n) {
  std::string s = absl::StrCat("scratchpad ", Bytes(n.scratchpad), " of ",
                               Bytes(static_cast<int64_t>(hw.scratchpad.bytes)));
  if (n.weight_buffer > 0) {
    absl::StrAppend(&s, ", weight buffer ", Bytes(n.weight_buffer), " of ",
                    Bytes(static_cast<int64_t>(hw.weight_buffer.bytes)));
  }
  if (n.accumulator > 0) {
    absl::StrAppend(&s, ", accumulator ", Bytes(n.accumulator), " of ",
                    Bytes(static_cast<int64_t>(hw.accumulator.bytes)));
  }
  absl::StrAppend(&s, n.slots == 2 ? " (double-buffered)" : "");
  return s;
}

Estimate EstimateArray(const HardwareConfig& hw, const GemmWorkload& w, const ArrayTiling& t) {
  Estimate est;
  const int64_t e = PrecisionBytes(w.precision);
  const Split gs = SplitExtent(w.groups, t.gt);
  const Split ks = SplitExtent(w.k, t.kt);
  const Split ms = SplitExtent(w.m, t.mt);
  const Split ps = SplitExtent(w.PixelsPerImage(), t.pt);
  const int64_t ng = gs.Tiles(), nk = ks.Tiles(), nm = ms.Tiles(), np = w.batch * ps.Tiles();

  // K tiles: the first overwrites the accumulator, the rest accumulate.
  struct KPiece {
    int64_t size, count;
    bool accumulate;
  };
  std::vector<KPiece> kp;
  if (ks.count > 0) {
    kp.push_back({ks.size, 1, false});
    if (ks.count > 1) kp.push_back({ks.size, ks.count - 1, true});
    if (ks.rem > 0) kp.push_back({ks.rem, 1, true});
  } else {
    kp.push_back({ks.rem, 1, false});
  }
  const std::vector<Piece> gp = Pieces(gs), mp = Pieces(ms), pp = Pieces(ps, w.batch);

  InstructionCost array;
  int64_t matmuls = 0;
  for (const Piece& g : gp) {
    for (const KPiece& k : kp) {
      for (const Piece& m : mp) {
        for (const Piece& p : pp) {
          Instruction in;
          in.opcode = Opcode::kMatmul;
          in.dataflow = t.dataflow;
          in.precision = w.precision;
          in.flags = k.accumulate ? kFlagAccumulate : 0;
          in.k = static_cast<uint32_t>(k.size);
          in.m = static_cast<uint32_t>(m.size);
          in.p = static_cast<uint32_t>(p.size);
          in.repeat = static_cast<uint32_t>(g.size);
          const int64_t count = g.count * k.count * m.count * p.count;
          array += CostOf(hw, in).Scaled(count);
          matmuls += count;
        }
      }
    }
  }

  // DRAM traffic with the loop order's reuse.
  int64_t input_sum = 0;  // one pass over all (P, K) input tiles of one group
  for (const Piece& p : pp) {
    for (const KPiece& k : kp) input_sum += InputTileBytes(w, k.size, p.size) * p.count * k.count;
  }
  const int64_t weight_total = w.k * w.m * e + w.bias_bytes;
  int64_t w_mult, i_mult, w_loads, i_loads;
  if (t.order == LoopOrder::kMPK) {
    w_mult = nk > 1 ? np : 1;
    w_loads = nk > 1 ? nm * np * nk : nm;
    i_mult = (nk > 1 || np > 1) ? nm : 1;
    i_loads = (nk > 1 || np > 1) ? nm * np * nk : 1;
  } else {
    w_mult = (nk > 1 || nm > 1) ? np : 1;
    w_loads = (nk > 1 || nm > 1) ? np * nm * nk : 1;
    i_mult = nk > 1 ? nm : 1;
    i_loads = nk > 1 ? np * nm * nk : np;
  }
  InstructionCost loads =
      DmaCost(hw, Opcode::kLoadWeight, w.groups * weight_total * w_mult, w.precision);
  loads += DmaCost(hw, Opcode::kLoadInput, w.groups * input_sum * i_mult, w.precision);
  const int64_t stores = ng * nm * np;
  const InstructionCost store = DmaCost(hw, Opcode::kStore, w.groups * w.m * w.p * e, w.precision);

  // Fused epilogue: one vector pass (and residual load) per output tile.
  InstructionCost epilogue;
  int64_t epilogue_dma = 0, epilogue_vector = 0;
  if (w.epilogue_ops_per_element > 0 || w.residual_tensor >= 0) {
    for (const Piece& g : gp) {
      for (const Piece& m : mp) {
        for (const Piece& p : pp) {
          const int64_t elements = g.size * m.size * p.size;
          const int64_t count = g.count * m.count * p.count;
          if (w.residual_tensor >= 0) {
            const InstructionCost r = DmaCost(hw, Opcode::kLoadInput, elements * e, w.precision).Scaled(count);
            epilogue_dma += r.occupancy_cycles;
            epilogue += r;
          }
          Instruction v;
          v.opcode = Opcode::kVector;
          v.flags = kFlagOnAccumulator;
          v.ops = static_cast<uint64_t>(std::ceil(w.epilogue_ops_per_element * elements));
          v.bytes = v.aux_bytes = static_cast<uint64_t>(elements * kAccumulatorBytes);
          const InstructionCost vc = CostOf(hw, v).Scaled(count);
          epilogue_vector += vc.occupancy_cycles;
          epilogue += vc;
        }
      }
    }
  }
  est.totals = array;
  est.totals += loads;
  est.totals += store;
  est.totals += epilogue;
  // Latency is paid once per layer (pipelined requests), not per transfer.
  est.totals.latency_cycles = 0;
  const int64_t latency = hw.ideal_memory ? 0 : hw.dram_latency_cycles;
  const int64_t first_load =
      DmaCost(hw, Opcode::kLoadInput, t.gt * InputTileBytes(w, t.kt, t.pt), w.precision)
          .occupancy_cycles +
      DmaCost(hw, Opcode::kLoadWeight, t.gt * WeightTileBytes(w, t.kt, t.mt), w.precision)
          .occupancy_cycles +
      latency;
  const int64_t last_store =
      DmaCost(hw, Opcode::kStore, t.gt * t.mt * t.pt * e, w.precision).occupancy_cycles + latency;
  // Epilogue loads (residuals) share the channel; its vector work overlaps the
  // array except for the last tile's.
  const int64_t dma = loads.occupancy_cycles + store.occupancy_cycles + epilogue_dma;
  const int64_t last_epilogue = stores > 0 ? epilogue_vector / stores : 0;
  est.compute_cycles = array.occupancy_cycles;
  // Three ways to be the bottleneck: the array (plus pipeline fill and
  // drain), the DRAM channel (which already holds the first load and the
  // last store, plus one tile's compute it cannot overlap), or the vector
  // unit's epilogues.
  const int64_t tile_compute = matmuls > 0 ? array.occupancy_cycles / matmuls : 0;
  est.cycles = std::max({array.occupancy_cycles + first_load + last_epilogue + last_store,
                         dma + tile_compute + last_epilogue,
                         epilogue_vector + first_load + tile_compute + last_store});
  est.instructions = ng * (w_loads + i_loads) + matmuls + stores + 1 +
                     (w.epilogue_ops_per_element > 0 || w.residual_tensor >= 0 ? stores : 0) +
                     (w.residual_tensor >= 0 ? stores : 0);
  return est;
}

int64_t ArrayInstructionBound(const GemmWorkload& w, const ArrayTiling& t) {
  const int64_t ng = CeilDiv(w.groups, t.gt), nk = CeilDiv(w.k, t.kt), nm = CeilDiv(w.m, t.mt),
                np = CeilDiv(w.PixelsPerImage(), t.pt);
  const int64_t output_tiles = SaturatingMul(SaturatingMul(ng, nm), SaturatingMul(w.batch, np));
  const int64_t per_tile = SaturatingAdd(SaturatingMul(3, nk), 3);
  return SaturatingAdd(SaturatingMul(output_tiles, per_tile), 1);
}

int64_t VectorInstructionBound(const VectorWorkload& w, const VectorTiling& t) {
  const int64_t tile = std::max<int64_t>(1, t.tile_elements);
  const int64_t tiles = CeilDiv(std::max<int64_t>(w.out_elements, 1), tile);
  const int64_t inputs = static_cast<int64_t>(w.inputs.size());
  // One STORE per output (at least one, as a layer without outputs is
  // bounded as if it had one).
  const int64_t stores = std::max<int64_t>(1, static_cast<int64_t>(w.outputs.size()));
  if (t.streamed()) {
    const int64_t chunks = SaturatingMul(tiles, CeilDiv(tile, t.chunk_elements));
    return SaturatingAdd(SaturatingMul(chunks, 2 * inputs + 2 + stores), 1);
  }
  return SaturatingAdd(SaturatingMul(tiles, inputs + 1 + stores), 1);
}

absl::Status ValidateWorkload(const LayerWorkload& w) {
  auto bad = [&](const char* field, int64_t value, const char* want) {
    return absl::InternalError(absl::StrCat("layer '", w.name, "' (", w.type, "): workload field ",
                                            field, " is ", value, ", must be ", want));
  };
  if (w.kind == LayerKind::kView) return absl::OkStatus();
  if (w.kind == LayerKind::kComposite) {
    if (w.parts.empty()) return bad("parts", 0, ">= 1");
    for (const LayerWorkload& part : w.parts) {
      if (part.kind == LayerKind::kComposite || part.kind == LayerKind::kView) {
        return absl::InternalError(absl::StrCat("layer '", w.name, "' (", w.type,
                                                "): composite piece '", part.name, "' is ",
                                                LayerKindName(part.kind)));
      }
      if (absl::Status st = ValidateWorkload(part); !st.ok()) return st;
    }
    return absl::OkStatus();
  }
  if (w.kind == LayerKind::kArray) {
    const GemmWorkload& g = w.gemm;
    const std::pair<const char*, int64_t> positive[] = {
        {"groups", g.groups},     {"k", g.k},
        {"m", g.m},               {"p", g.p},
        {"batch", g.batch},       {"in_h", g.in_h},
        {"in_w", g.in_w},         {"out_h", g.out_h},
        {"out_w", g.out_w},       {"kernel_h", g.kernel_h},
        {"kernel_w", g.kernel_w}, {"stride_h", g.stride_h},
        {"stride_w", g.stride_w}, {"dilation_h", g.dilation_h},
        {"dilation_w", g.dilation_w}};
    for (const auto& [field, value] : positive) {
      if (value < 1) return bad(field, value, ">= 1");
    }
    if (SaturatingMul(g.batch, SaturatingMul(g.out_h, g.out_w)) != g.p) {
      return bad("p", g.p, "batch * out_h * out_w");
    }
    const std::pair<const char*, int64_t> sizes[] = {
        {"input_bytes", g.input_bytes},   {"weight_bytes", g.weight_bytes},
        {"output_bytes", g.output_bytes}, {"bias_bytes", g.bias_bytes},
        {"residual_bytes", g.residual_bytes}};
    for (const auto& [field, value] : sizes) {
      if (value < 0) return bad(field, value, ">= 0");
    }
  }
  if (w.kind != LayerKind::kArray || w.vector_alternative) {
    const VectorWorkload& v = w.vector;
    if (v.out_elements < 0) return bad("out_elements", v.out_elements, ">= 0");
    if (v.tile_unit < 1) return bad("tile_unit", v.tile_unit, ">= 1");
    if (!(v.stats_ops_per_element >= 0 && v.stats_ops_per_element <= v.ops_per_element)) {
      return absl::InternalError(absl::StrCat(
          "layer '", w.name, "' (", w.type, "): workload field stats_ops_per_element is ",
          v.stats_ops_per_element, ", must be in [0, ops_per_element = ", v.ops_per_element, "]"));
    }
    for (const auto& out : v.outputs) {
      if (out.bytes < 0) return bad("output bytes", out.bytes, ">= 0");
    }
    for (const auto& in : v.inputs) {
      if (in.bytes < 0) return bad("input bytes", in.bytes, ">= 0");
    }
  }
  return absl::OkStatus();
}

int64_t ProportionalBytes(int64_t bytes, int64_t tile_elements, int64_t out_elements) {
  if (out_elements <= 0 || tile_elements >= out_elements) return bytes;
  const double share = static_cast<double>(bytes) * static_cast<double>(tile_elements) /
                       static_cast<double>(out_elements);
  return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(share)), 1, bytes);
}

BufferNeeds VectorBufferNeeds(const HardwareConfig& hw, const VectorWorkload& w,
                              const VectorTiling& t) {
  BufferNeeds n;
  // Elements on chip at once: a whole tile, or one chunk of a streamed tile.
  const int64_t resident = t.streamed() ? t.chunk_elements : t.tile_elements;
  for (const auto& in : w.inputs) {
    n.input_slot += AlignUp(ProportionalBytes(in.bytes, resident, w.out_elements), kSlotAlign);
  }
  // Data movement stores straight from the input slot; computed outputs go
  // to an output slot holding each output's share of the tile, each part
  // aligned.
  n.acc_slot = 0;
  n.weight_slot = 0;
  if (w.ops_per_element > 0) {
    for (const auto& out : w.outputs) {
      n.weight_slot += AlignUp(ProportionalBytes(out.bytes, resident, w.out_elements), kSlotAlign);
    }
  }
  n.slots = t.streamed() || CeilDiv(w.out_elements, std::max<int64_t>(1, t.tile_elements)) > 1
                ? 2
                : 1;
  n.scratchpad = n.slots * (n.input_slot + n.weight_slot);
  return n;
}

VectorTiling ChooseVectorTiling(const HardwareConfig& hw, const VectorWorkload& w) {
  const int64_t unit = std::max<int64_t>(1, w.tile_unit);
  const int64_t max_units = std::max<int64_t>(1, CeilDiv(w.out_elements, unit));
  if (hw.ideal_memory) return {max_units * unit};
  auto fits = [&](int64_t units) {
    return Fits(hw, VectorBufferNeeds(hw, w, {units * unit}));
  };
  if (fits(max_units)) return {std::min(max_units * unit, std::max<int64_t>(w.out_elements, 1))};
  if (!fits(1)) {
    // One unit is too large: stream it in the largest chunk that fits.
    if (w.stats_ops_per_element <= 0 || unit < 2) return {0};
    auto chunk_fits = [&](int64_t chunk) {
      return Fits(hw, VectorBufferNeeds(hw, w, {unit, chunk}));
    };
    if (!chunk_fits(1)) return {0};
    int64_t lo = 1, hi = unit;  // chunk_fits(lo), !fits(unit)
    while (hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      (chunk_fits(mid) ? lo : hi) = mid;
    }
    return {unit, lo};
  }
  int64_t lo = 1, hi = max_units;  // fits(lo), !fits(hi)
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return {lo * unit};
}

Estimate EstimateVector(const HardwareConfig& hw, const VectorWorkload& w, const VectorTiling& t) {
  Estimate est;
  const int64_t total = std::max<int64_t>(w.out_elements, 1);
  const Split s = SplitExtent(total, t.tile_elements);
  // What moves through the scratchpad: whole tiles, or the chunks of every
  // streamed tile (loaded once per pass).
  std::vector<Piece> pieces;
  const int64_t passes = t.streamed() ? 2 : 1;
  if (t.streamed()) {
    for (const Piece& tile : Pieces(s)) {
      for (const Piece& chunk : Pieces(SplitExtent(tile.size, t.chunk_elements), tile.count)) {
        pieces.push_back(chunk);
      }
    }
  } else {
    pieces = Pieces(s);
  }
  InstructionCost vec, loads, stores;
  int64_t first_load = 0, last_store = 0;
  int64_t chunks = 0;
  for (const Piece& piece : pieces) {
    chunks += piece.count;
    int64_t in_bytes = 0;
    for (const auto& in : w.inputs) {
      const InstructionCost c = DmaCost(
          hw, Opcode::kLoadInput, ProportionalBytes(in.bytes, piece.size, w.out_elements), w.precision);
      loads += c.Scaled(piece.count * passes);
      in_bytes += c.dram_read;
      if (first_load == 0) first_load += c.occupancy_cycles;
    }
    // One STORE per output, each of its share of the piece.
    int64_t out_bytes = 0;
    last_store = 0;
    for (const auto& out : w.outputs) {
      const int64_t bytes = ProportionalBytes(out.bytes, piece.size, w.out_elements);
      out_bytes += bytes;
      Instruction st;
      st.opcode = Opcode::kStore;
      st.flags = kFlagFromScratchpad;
      st.precision = w.precision;
      st.bytes = static_cast<uint64_t>(bytes);
      const InstructionCost sc = CostOf(hw, st);
      stores += sc.Scaled(piece.count);
      last_store += sc.occupancy_cycles;
    }
    if (w.ops_per_element > 0) {
      Instruction v;
      v.opcode = Opcode::kVector;
      v.precision = w.precision;
      v.bytes = static_cast<uint64_t>(in_bytes);
      if (t.streamed()) {  // the statistics pass reads the chunk and writes nothing
        v.ops = static_cast<uint64_t>(std::ceil(w.stats_ops_per_element * piece.size));
        vec += CostOf(hw, v).Scaled(piece.count);
      }
      const double ops = w.ops_per_element - (t.streamed() ? w.stats_ops_per_element : 0.0);
      v.ops = static_cast<uint64_t>(std::ceil(ops * piece.size));
      v.aux_bytes = static_cast<uint64_t>(out_bytes);
      vec += CostOf(hw, v).Scaled(piece.count);
    }
  }
  est.totals = vec;
  est.totals += loads;
  est.totals += stores;
  est.totals.latency_cycles = 0;
  const int64_t latency = hw.ideal_memory ? 0 : 2 * hw.dram_latency_cycles;
  est.compute_cycles = vec.occupancy_cycles;
  est.cycles = std::max(vec.occupancy_cycles, loads.occupancy_cycles + stores.occupancy_cycles) +
               first_load + last_store + latency;
  est.instructions = chunks * (passes * static_cast<int64_t>(w.inputs.size()) +
                               static_cast<int64_t>(w.outputs.size()) +
                               (w.ops_per_element > 0 ? passes : 0)) + 1;
  return est;
}

}  // namespace engine::hw
