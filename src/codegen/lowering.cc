#include "codegen/lowering.h"
#include "hw/int_math.h"

#include <vector>

#include "codegen/memory_planner.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>

namespace engine::codegen {

using hw::CeilDiv;
using hw::FloorDiv;
using hw::RoundUp;
namespace {

using hw::Instruction;
using hw::Opcode;

int32_t Emit(hw::Program& program, Instruction in) {
  program.push_back(in);
  return static_cast<int32_t>(program.size() - 1);
}


// On-chip addresses of a layer's tile slots, placed by the same planner as
// the activation arena (memory_planner.h). Every slot lives for the whole
// layer, so the planner packs them without overlap; a zero-size slot gets
// address 0 and is never used.
std::vector<uint64_t> PlaceSlots(const std::vector<int64_t>& sizes) {
  std::vector<BufferRequest> requests;
  for (int64_t size : sizes) requests.push_back({size, 0, 0});
  const MemoryPlan plan = PlanMemory(requests, /*alignment=*/64);
  return {plan.offsets.begin(), plan.offsets.end()};
}

}  // namespace

void LowerArrayLayer(const HardwareConfig& hw, const hw::GemmWorkload& w, const hw::ArrayTiling& t,
                     uint32_t layer, hw::Program& program) {
  const hw::BufferNeeds needs = hw::ArrayBufferNeeds(hw, w, t);
  const int64_t e = PrecisionBytes(w.precision);
  const bool separate_weights = hw.weight_buffer.bytes > 0;
  // Slots: two halves (or one) each of inputs, fused residuals and, without
  // a weight buffer, weights in the scratchpad; weights in the weight buffer
  // otherwise; accumulator tiles in the accumulator.
  const int slots_n = needs.slots;
  std::vector<int64_t> spad_sizes;
  for (int i = 0; i < slots_n; ++i) spad_sizes.push_back(needs.input_slot);
  for (int i = 0; i < slots_n; ++i) spad_sizes.push_back(needs.residual_slot);
  for (int i = 0; i < slots_n; ++i) spad_sizes.push_back(separate_weights ? 0 : needs.weight_slot);
  const std::vector<uint64_t> spad = PlaceSlots(spad_sizes);
  const std::vector<uint64_t> wbuf =
      PlaceSlots(std::vector<int64_t>(slots_n, separate_weights ? needs.weight_slot : 0));
  const std::vector<uint64_t> accs = PlaceSlots(std::vector<int64_t>(slots_n, needs.acc_slot));
  auto input_addr = [&](int slot) { return spad[slot]; };
  auto residual_addr = [&](int slot) { return spad[slots_n + slot]; };
  auto weight_addr = [&](int slot) { return separate_weights ? wbuf[slot] : spad[2 * slots_n + slot]; };
  auto acc_addr = [&](int slot) { return accs[slot]; };
  const bool epilogue = w.epilogue_ops_per_element > 0 || w.residual_tensor >= 0;
  const int slots = needs.slots;
  const int64_t ohw = w.PixelsPerImage();
  const int64_t ng = CeilDiv(w.groups, t.gt), nk = CeilDiv(w.k, t.kt), nm = CeilDiv(w.m, t.mt),
                np_img = CeilDiv(ohw, t.pt);
  const int64_t window = w.conv ? w.kernel_h * w.kernel_w : 1;
  const int64_t in_c = FloorDiv(w.k, window);  // input channels per group
  const int64_t plane = w.in_h * w.in_w;

  Instruction base;
  base.layer = layer;
  base.precision = w.precision;
  base.dataflow = t.dataflow;

  std::tuple<int64_t, int64_t, int64_t> last_w{-1, -1, -1};
  std::tuple<int64_t, int64_t, int64_t, int64_t> last_i{-1, -1, -1, -1};
  int w_slot = -1, i_slot = -1, acc_slot = -1, next_w = 0, next_i = 0, next_acc = 0;
  int32_t w_load = -1, i_load = -1;
  std::array<int32_t, 2> w_reader{-1, -1}, i_reader{-1, -1}, acc_store{-1, -1},
      r_reader{-1, -1};
  int next_r = 0;

  auto body = [&](int64_t gi, int64_t mi, int64_t b, int64_t pj) {
    const int64_t g0 = gi * t.gt, gsz = std::min(t.gt, w.groups - g0);
    const int64_t m0 = mi * t.mt, msz = std::min(t.mt, w.m - m0);
    const int64_t p0 = pj * t.pt, psz = std::min(t.pt, ohw - p0);
    for (int64_t ki = 0; ki < nk; ++ki) {
      const int64_t k0 = ki * t.kt, ksz = std::min(t.kt, w.k - k0);
      if (std::make_tuple(gi, mi, ki) != last_w) {
        last_w = {gi, mi, ki};
        w_slot = next_w;
        next_w = (next_w + 1) % slots;
        Instruction in = base;
        in.opcode = Opcode::kLoadWeight;
        in.tensor = w.weight_tensor;
        in.dram_offset = static_cast<uint64_t>(((g0 * w.m + m0) * w.k + k0) * e);
        const int64_t bias = ki == 0 && w.m > 0 ? CeilDiv(w.bias_bytes * msz, w.m) : 0;
        in.bytes = static_cast<uint64_t>(gsz * (ksz * msz * e + bias));
        in.addr = weight_addr(w_slot);
        in.AddDep(w_reader[w_slot]);
        w_load = Emit(program, in);
      }
      if (std::make_tuple(gi, b, pj, ki) != last_i) {
        last_i = {gi, b, pj, ki};
        i_slot = next_i;
        next_i = (next_i + 1) % slots;
        Instruction in = base;
        in.opcode = Opcode::kLoadInput;
        in.tensor = w.input_tensor;
        int64_t offset;
        if (w.conv) {
          const int64_t row0 = std::min(w.in_h - 1, FloorDiv(p0, w.out_w) * w.stride_h);
          offset = ((b * w.groups + g0) * in_c + FloorDiv(k0, window)) * plane + row0 * w.in_w;
        } else {
          offset = ((b * w.groups + g0) * ohw + p0) * w.k + k0;
        }
        in.dram_offset = static_cast<uint64_t>(offset * e);
        in.bytes = static_cast<uint64_t>(gsz * hw::InputTileBytes(w, ksz, psz));
        in.addr = input_addr(i_slot);
        in.AddDep(i_reader[i_slot]);
        i_load = Emit(program, in);
      }
      Instruction mm = base;
      mm.opcode = Opcode::kMatmul;
      if (ki == 0) {
        acc_slot = next_acc;
        next_acc = (next_acc + 1) % slots;
        mm.AddDep(acc_store[acc_slot]);
      } else {
        mm.flags |= hw::kFlagAccumulate;
      }
      mm.AddDep(w_load);
      mm.AddDep(i_load);
      mm.k = static_cast<uint32_t>(ksz);
      mm.m = static_cast<uint32_t>(msz);
      mm.p = static_cast<uint32_t>(psz);
      mm.repeat = static_cast<uint32_t>(gsz);
      mm.addr = input_addr(i_slot);
      mm.weight_addr = weight_addr(w_slot);
      mm.acc_addr = acc_addr(acc_slot);
      const int32_t mm_index = Emit(program, mm);
      w_reader[w_slot] = mm_index;
      i_reader[i_slot] = mm_index;
      if (ki == nk - 1) {
        const uint64_t out_offset =
            static_cast<uint64_t>((((b * w.groups + g0) * w.m + m0) * ohw + p0) * e);
        const int64_t elements = gsz * msz * psz;
        int32_t last = mm_index;
        if (epilogue) {
          // Fused epilogue: (residual load,) vector pass in place on the tile.
          Instruction v = base;
          v.opcode = Opcode::kVector;
          v.flags = hw::kFlagOnAccumulator;
          v.ops = static_cast<uint64_t>(
              std::ceil(w.epilogue_ops_per_element * static_cast<double>(elements)));
          v.bytes = v.aux_bytes = static_cast<uint64_t>(elements * hw::kAccumulatorBytes);
          v.acc_addr = mm.acc_addr;
          v.AddDep(mm_index);
          int r_slot = -1;
          if (w.residual_tensor >= 0) {
            r_slot = next_r;
            next_r = (next_r + 1) % slots;
            Instruction r = base;
            r.opcode = Opcode::kLoadInput;
            r.tensor = w.residual_tensor;
            r.dram_offset = out_offset;
            r.bytes = static_cast<uint64_t>(elements * e);
            r.addr = residual_addr(r_slot);
            r.AddDep(r_reader[r_slot]);
            v.addr = r.addr;
            v.AddDep(Emit(program, r));
          }
          last = Emit(program, v);
          if (r_slot >= 0) r_reader[r_slot] = last;
        }
        Instruction st = base;
        st.opcode = Opcode::kStore;
        st.tensor = w.output_tensor;
        st.dram_offset = out_offset;
        st.bytes = static_cast<uint64_t>(elements * e);
        st.acc_addr = mm.acc_addr;
        st.AddDep(last);
        acc_store[acc_slot] = Emit(program, st);
      }
    }
  };

  for (int64_t gi = 0; gi < ng; ++gi) {
    if (t.order == hw::LoopOrder::kMPK) {
      for (int64_t mi = 0; mi < nm; ++mi) {
        for (int64_t b = 0; b < w.batch; ++b) {
          for (int64_t pj = 0; pj < np_img; ++pj) body(gi, mi, b, pj);
        }
      }
    } else {
      for (int64_t b = 0; b < w.batch; ++b) {
        for (int64_t pj = 0; pj < np_img; ++pj) {
          for (int64_t mi = 0; mi < nm; ++mi) body(gi, mi, b, pj);
        }
      }
    }
  }
  Instruction sync = base;
  sync.opcode = Opcode::kSync;
  Emit(program, sync);
}

void LowerVectorLayer(const HardwareConfig& hw, const hw::VectorWorkload& w,
                      const hw::VectorTiling& t, uint32_t layer, hw::Program& program) {
  const hw::BufferNeeds needs = hw::VectorBufferNeeds(hw, w, t);
  const int64_t total = std::max<int64_t>(w.out_elements, 1);
  const int64_t tile = std::max<int64_t>(1, t.tile_elements);
  const int64_t tiles = CeilDiv(total, tile);
  const bool compute = w.ops_per_element > 0;
  // Input and output tile (or chunk) slots in the scratchpad, placed by the
  // planner.
  std::vector<int64_t> sizes;
  for (int i = 0; i < needs.slots; ++i) sizes.push_back(needs.input_slot);
  for (int i = 0; i < needs.slots; ++i) sizes.push_back(needs.weight_slot);  // output tiles
  const std::vector<uint64_t> spad = PlaceSlots(sizes);

  Instruction base;
  base.layer = layer;
  base.precision = w.precision;
  std::array<int32_t, 2> in_reader{-1, -1}, out_store{-1, -1};
  int next_slot = 0;
  // What one pass over a range of elements does: load, compute and store
  // (kWhole); load and accumulate statistics only (kStats); load again,
  // compute with the statistics and store (kOutput).
  enum class Pass { kWhole, kStats, kOutput };
  int32_t last_stats = -1;  // the statistics of the current streamed tile
  auto emit = [&](int64_t e0, int64_t esz, Pass pass) {
    const int slot = next_slot;
    next_slot = (next_slot + 1) % needs.slots;
    const uint64_t in_addr = spad[slot];
    uint64_t offset_in_slot = 0;
    int64_t in_bytes = 0;
    int32_t last_load = -1;
    for (const auto& operand : w.inputs) {
      Instruction ld = base;
      ld.opcode = Opcode::kLoadInput;
      ld.tensor = operand.tensor;
      ld.bytes = static_cast<uint64_t>(hw::ProportionalBytes(operand.bytes, esz, total));
      ld.dram_offset = static_cast<uint64_t>(
          std::min<int64_t>(operand.bytes - static_cast<int64_t>(ld.bytes),
                            hw::ProportionalBytes(operand.bytes, e0, total) * (e0 > 0)));
      ld.addr = in_addr + offset_in_slot;
      ld.AddDep(in_reader[slot]);
      offset_in_slot += (ld.bytes + 63) / 64 * 64;
      in_bytes += static_cast<int64_t>(ld.bytes);
      last_load = Emit(program, ld);
    }
    if (pass == Pass::kStats) {
      Instruction v = base;
      v.opcode = Opcode::kVector;
      v.ops = static_cast<uint64_t>(std::ceil(w.stats_ops_per_element * static_cast<double>(esz)));
      v.bytes = static_cast<uint64_t>(in_bytes);
      v.addr = in_addr;
      v.AddDep(last_load);
      last_stats = Emit(program, v);
      in_reader[slot] = last_stats;
      return;
    }
    // One STORE per output: its share of the elements [e0, e0 + esz), at
    // the same proportional place in its tensor as the loads'.
    std::vector<Instruction> stores;
    int64_t out_bytes = 0;
    for (const auto& operand : w.outputs) {
      const int64_t bytes = hw::ProportionalBytes(operand.bytes, esz, total);
      Instruction st = base;
      st.opcode = Opcode::kStore;
      st.flags = hw::kFlagFromScratchpad;
      st.tensor = operand.tensor;
      st.bytes = static_cast<uint64_t>(bytes);
      st.dram_offset = static_cast<uint64_t>(
          e0 > 0 ? std::min<int64_t>(operand.bytes - bytes,
                                     hw::ProportionalBytes(operand.bytes, e0, total))
                 : 0);
      out_bytes += bytes;
      stores.push_back(st);
    }
    if (compute) {
      const double ops =
          w.ops_per_element - (pass == Pass::kOutput ? w.stats_ops_per_element : 0.0);
      Instruction v = base;
      v.opcode = Opcode::kVector;
      v.ops = static_cast<uint64_t>(std::ceil(ops * static_cast<double>(esz)));
      v.bytes = static_cast<uint64_t>(in_bytes);
      v.aux_bytes = static_cast<uint64_t>(out_bytes);
      v.addr = in_addr;
      v.acc_addr = spad[needs.slots + slot];  // output tile
      v.AddDep(last_load);
      v.AddDep(out_store[slot]);
      if (pass == Pass::kOutput) v.AddDep(last_stats);
      const int32_t vi = Emit(program, v);
      in_reader[slot] = vi;
      // The output slot holds each output's part, aligned as in
      // hw::VectorBufferNeeds. The stores share one in-order queue, so the
      // next VECTOR on this slot waits for the last of them.
      uint64_t offset_in_out = 0;
      for (Instruction& st : stores) {
        st.addr = v.acc_addr + offset_in_out;
        offset_in_out += (st.bytes + 63) / 64 * 64;
        st.AddDep(vi);
        out_store[slot] = Emit(program, st);
      }
    } else {
      // Data movement stores straight from the input slot: the outputs lie
      // back to back in the loaded bytes (a Split's parts), each kept inside
      // them.
      uint64_t offset_in_in = 0;
      for (Instruction& st : stores) {
        const uint64_t loaded = static_cast<uint64_t>(in_bytes);
        st.addr = in_addr + std::min(offset_in_in, loaded > st.bytes ? loaded - st.bytes : 0);
        // The scratchpad bytes it reads: an output tile larger than what was
        // loaded (Pad, Expand; a layer with nothing to load) is the loaded
        // bytes plus fill (at least one byte, so that 0 keeps meaning `bytes`).
        st.aux_bytes = std::max<uint64_t>(
            1, std::min<uint64_t>(st.bytes, loaded - (st.addr - in_addr)));
        offset_in_in += st.bytes;
        st.AddDep(last_load);
        in_reader[slot] = Emit(program, st);
      }
    }
  };
  for (int64_t ti = 0; ti < tiles; ++ti) {
    const int64_t e0 = ti * tile, esz = std::min(tile, total - e0);
    if (!t.streamed()) {
      emit(e0, esz, Pass::kWhole);
      continue;
    }
    const int64_t chunk = t.chunk_elements;
    for (Pass pass : {Pass::kStats, Pass::kOutput}) {
      for (int64_t c0 = 0; c0 < esz; c0 += chunk) emit(e0 + c0, std::min(chunk, esz - c0), pass);
    }
  }
  Instruction sync = base;
  sync.opcode = Opcode::kSync;
  Emit(program, sync);
}

}  // namespace engine::codegen
