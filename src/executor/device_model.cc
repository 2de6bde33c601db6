#include "executor/device_model.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "hw/onchip_check.h"
#include "hw/systolic.h"

namespace engine::exec {
namespace {

// ceil(a / b) in int64, 0 when b <= 0, saturated at 2^62 (the simulator
// bounds every figure far below; the saturation keeps a crafted plan's
// quotient from an out-of-range double -> int64 conversion all the same).
int64_t CeilDiv(double a, double b) {
  if (!(b > 0)) return 0;
  const double q = std::ceil(a / b);
  constexpr double kMax = 0x1p62;
  return q >= kMax ? static_cast<int64_t>(kMax) : q > 0 ? static_cast<int64_t>(q) : 0;
}

}  // namespace

std::vector<std::pair<int64_t, int64_t>> GroupTimeShares(
    const std::vector<hw::LayerTiming>& timing, const std::vector<int32_t>& group_owner) {
  const size_t n = timing.size();
  std::vector<std::pair<int64_t, int64_t>> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = {timing[i].start_cycle, timing[i].Cycles()};
  std::map<size_t, std::vector<size_t>> groups;  // owner -> members (owner included)
  for (size_t i = 0; i < n && i < group_owner.size(); ++i) {
    const int32_t o = group_owner[i];
    if (o < 0 || static_cast<size_t>(o) >= n || static_cast<size_t>(o) == i) continue;
    auto& members = groups[static_cast<size_t>(o)];
    if (members.empty()) members.push_back(static_cast<size_t>(o));
    members.push_back(i);
  }
  for (auto& [owner, members] : groups) {
    std::sort(members.begin(), members.end());
    int64_t start = timing[members[0]].start_cycle, end = timing[members[0]].end_cycle;
    double total_work = 0;
    std::vector<double> work(members.size());
    for (size_t k = 0; k < members.size(); ++k) {
      const hw::LayerTiming& t = timing[members[k]];
      start = std::min(start, t.start_cycle);
      end = std::max(end, t.end_cycle);
      work[k] = static_cast<double>(t.array_busy + t.vector_busy + t.load_busy + t.store_busy);
      total_work += work[k];
    }
    const int64_t span = std::max<int64_t>(0, end - start);
    int64_t at = start, given = 0;
    for (size_t k = 0; k < members.size(); ++k) {
      const double share = total_work > 0 ? work[k] / total_work
                                          : 1.0 / static_cast<double>(members.size());
      const int64_t c = k + 1 == members.size()
                            ? span - given
                            : std::min(span - given,
                                       static_cast<int64_t>(static_cast<double>(span) * share));
      out[members[k]] = {at, c};
      at += c;
      given += c;
    }
  }
  return out;
}

absl::StatusOr<DeviceProfile> SimulateDevice(const HardwareConfig& hw, const hw::Program& program,
                                             std::vector<LayerDeviceProfile> layers,
                                             const std::vector<int64_t>& min_dram_bytes,
                                             hw::SimulationResult* simulation,
                                             const std::vector<int>& input_tensors,
                                             const std::vector<int>& output_tensors,
                                             const std::vector<int32_t>& group_owner,
                                             const std::vector<int64_t>& io_tensor_bytes) {
  auto sim = hw::Simulate(hw, program, static_cast<int>(layers.size()));
  if (!sim.ok()) return sim.status();
  const std::vector<std::pair<int64_t, int64_t>> shares = GroupTimeShares(sim->layers, group_owner);
  // Residency per layer, weight and engine I/O extents, buffer peaks.
  struct Moves {
    bool in_dram = false, in_chip = false, out_dram = false, out_chip = false, weights = false;
  };
  std::vector<Moves> moves(layers.size());
  // Weight tiles by (tensor, offset, bytes): a tile reloaded counts once.
  std::set<std::tuple<int32_t, uint64_t, uint64_t>> weight_tiles;
  int64_t weight_bytes = 0;
  // Engine inputs and outputs: the bytes their loads and stores move, by
  // tensor over the program (io_total) and by layer (io_moved); each counts
  // toward the compulsory traffic at most once per tensor, its size
  // (`io_tensor_bytes`; moves beyond it are re-reads, halos or strided
  // re-visits, not compulsory). A tile's dram_offset is its strided region's
  // first byte, so offsets do not measure the tensor.
  std::map<int32_t, int64_t> io_total;
  auto AtMostTensor = [&io_tensor_bytes](int64_t moved, int32_t t) {
    const int64_t size = t >= 0 && static_cast<size_t>(t) < io_tensor_bytes.size()
                             ? io_tensor_bytes[static_cast<size_t>(t)]
                             : 0;
    return size > 0 ? std::min(moved, size) : moved;
  };
  const std::set<int> io(input_tensors.begin(), input_tensors.end());
  const std::set<int> outs(output_tensors.begin(), output_tensors.end());
  int64_t buffer_peak[3] = {0, 0, 0};
  // Per layer: activation tensors moved through DRAM -> bytes (inputs, outputs).
  // Their bytes are the bytes moved (a tile's `dram_offset` is its region's
  // first byte, not a unique tile address: a row-major tile of several
  // channels is strided, so neither offset + bytes nor (offset, bytes) pairs
  // measure the tensor; the moves do, each element moved once unless a tile
  // is read again).
  std::vector<std::map<int32_t, int64_t>> spilled_in(layers.size()), spilled_out(layers.size());
  std::vector<std::map<int32_t, int64_t>> io_moved(layers.size());
  // A tensor no instruction stores and that is no engine input is a
  // constant: the vector unit's LOAD_INPUTs of one (a depthwise layer's
  // weights, a bias) count as weight loads.
  std::set<int32_t> stored;
  for (const hw::Instruction& in : program) {
    if (in.opcode == hw::Opcode::kStore) stored.insert(in.tensor);
  }
  for (size_t i = 0; i < program.size(); ++i) {
    const hw::Instruction& in = program[i];
    if (in.layer >= layers.size()) continue;
    LayerDeviceProfile& l = layers[in.layer];
    const bool constant_load = in.opcode == hw::Opcode::kLoadInput && in.tensor >= 0 &&
                               !(in.flags & hw::kFlagResident) && stored.count(in.tensor) == 0 &&
                               io.count(in.tensor) == 0;
    Moves& m = moves[in.layer];
    const bool resident = in.flags & hw::kFlagResident;
    switch (constant_load ? hw::Opcode::kLoadWeight : in.opcode) {
      case hw::Opcode::kLoadWeight:
        m.weights = true;
        l.weight_bytes_loaded += static_cast<int64_t>(in.bytes);
        if (weight_tiles.insert({in.tensor, in.dram_offset, in.bytes}).second) {
          weight_bytes += static_cast<int64_t>(in.bytes);
          l.weight_bytes_unique += static_cast<int64_t>(in.bytes);
        }
        break;
      case hw::Opcode::kLoadInput:
        (resident ? m.in_chip : m.in_dram) = true;
        if (io.count(in.tensor) > 0) {
          io_moved[in.layer][in.tensor] += static_cast<int64_t>(in.bytes);
        } else if (!resident && in.tensor >= 0) {
          spilled_in[in.layer][in.tensor] += static_cast<int64_t>(in.bytes);
        }
        break;
      case hw::Opcode::kStore:
        (resident ? m.out_chip : m.out_dram) = true;
        if (outs.count(in.tensor) > 0) {
          io_moved[in.layer][in.tensor] += static_cast<int64_t>(in.bytes);
        } else if (!resident && in.tensor >= 0) {
          spilled_out[in.layer][in.tensor] += static_cast<int64_t>(in.bytes);
        }
        break;
      default: break;
    }
    if (resident) l.residency_bytes_saved += static_cast<int64_t>(in.bytes);
    if (in.flags & hw::kFlagPrefetch) ++l.prefetched_loads;
    for (const hw::OnChipAccess& a : hw::AccessesOf(hw, program, i)) {
      int64_t& p = buffer_peak[static_cast<int>(a.space)];
      p = std::max(p, static_cast<int64_t>(a.end));
    }
  }
  auto where = [](bool dram, bool chip) -> std::string {
    if (dram && chip) return "dram+scratchpad";
    if (chip) return "scratchpad";
    return dram ? "dram" : "-";
  };
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerDeviceProfile& l = layers[i];
    for (const auto& [t, e] : spilled_in[i]) l.spilled_input_bytes += e;
    for (const auto& [t, e] : spilled_out[i]) l.spilled_output_bytes += e;
    l.compulsory_dram_bytes = l.weight_bytes_unique;
    for (const auto& [t, moved] : io_moved[i]) {
      l.compulsory_dram_bytes += AtMostTensor(moved, t);
      io_total[t] += moved;
    }
    if (i < group_owner.size() && group_owner[i] >= 0 &&
        static_cast<size_t>(group_owner[i]) < layers.size()) {
      l.group_owner = group_owner[i];
      layers[static_cast<size_t>(group_owner[i])].group_owner = group_owner[i];
    }
    layers[i].input_location = where(moves[i].in_dram, moves[i].in_chip);
    layers[i].output_location = where(moves[i].out_dram, moves[i].out_chip);
    layers[i].weight_location = moves[i].weights ? "dram" : "-";
  }
  DeviceProfile p;
  p.hardware = HardwareSummary(hw);
  p.clock_mhz = hw.clock_mhz;
  p.total_cycles = sim->total_cycles;
  p.latency_ms = hw.CyclesToMs(static_cast<double>(p.total_cycles));
  p.throughput_qps = p.latency_ms > 0 ? 1000.0 / p.latency_ms : 0;
  const double peak = static_cast<double>(hw.PeakMacsPerCycle());
  const double vector_rate = hw.vector_lanes * hw.vector_ops_per_cycle;
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerDeviceProfile& l = layers[i];
    const hw::LayerTiming& t = sim->layers[i];
    const hw::InstructionCost& c = t.totals;
    l.start_cycle = shares[i].first;
    l.cycles = shares[i].second;
    l.time_ms = hw.CyclesToMs(static_cast<double>(l.cycles));
    // A composite layer's pieces (array and vector) run one after another,
    // separated by barriers: its compute is both units' busy cycles.
    l.compute_cycles = l.unit == "array"       ? t.array_busy
                       : l.unit == "composite" ? t.array_busy + t.vector_busy
                                               : t.vector_busy;
    // A group member's share can be below its unit's busy cycles (its
    // array and another member's vector work overlap): no negative stall,
    // utilization at most 1.
    if (l.compute_cycles > l.cycles) l.compute_cycles = l.cycles;
    l.stall_cycles = l.cycles - l.compute_cycles;
    l.instructions = t.instructions;
    if (l.cycles > 0) {
      if (l.unit == "array") {
        l.utilization = static_cast<double>(c.macs) / (static_cast<double>(l.cycles) * peak);
      } else if (l.unit == "vector") {
        l.utilization = static_cast<double>(c.vector_ops) / (static_cast<double>(l.cycles) * vector_rate);
      } else if (l.unit == "composite") {
        // The array's utilization over the layer's time when it has array
        // pieces (e.g. Attention's Q·Kᵀ and P·V), else the vector unit's.
        l.utilization =
            c.macs > 0 ? static_cast<double>(c.macs) / (static_cast<double>(l.cycles) * peak)
                       : static_cast<double>(c.vector_ops) /
                             (static_cast<double>(l.cycles) * vector_rate);
      }
      l.utilization = std::min(l.utilization, 1.0);
    }
    l.mapping_efficiency =
        c.pe_slots > 0 ? static_cast<double>(c.used_pe_slots) / static_cast<double>(c.pe_slots) : 0;
    // DRAM bytes of the layer's loads and STOREs. A vector or DMA layer
    // stores every output (codegen lowers one STORE per output and tile), so
    // dram_bytes_written is the sum of its outputs' bytes; the plan reader
    // has checked that each STORE names one of the layer's outputs.
    l.dram_bytes_read = c.dram_read;
    l.dram_bytes_written = c.dram_write;
    l.sram_bytes_read = c.sram_read;
    l.sram_bytes_written = c.sram_write;
    l.acc_bytes_read = c.acc_read;
    l.acc_bytes_written = c.acc_write;
    l.energy_compute_pj = c.compute_pj;
    l.energy_sram_pj = c.sram_pj;
    l.energy_dram_pj = c.dram_pj;
    if (l.unit == "array") {
      l.roofline_compute_cycles = CeilDiv(static_cast<double>(l.macs), peak);
    } else if (l.unit == "vector") {
      l.roofline_compute_cycles = CeilDiv(static_cast<double>(l.vector_ops), vector_rate);
    }
    if (l.unit != "view" && !hw.ideal_memory) {
      l.roofline_memory_cycles =
          CeilDiv(static_cast<double>(min_dram_bytes.at(i)), hw.TransferBytesPerCycle());
    }
    const int64_t bound = std::max(l.roofline_compute_cycles, l.roofline_memory_cycles);
    l.roofline_ratio = bound > 0 ? static_cast<double>(l.cycles) / static_cast<double>(bound) : 0;
    l.bound = bound == 0 ? "-"
              : l.roofline_compute_cycles >= l.roofline_memory_cycles ? "compute"
                                                                       : "memory";
    p.energy_compute_pj += l.energy_compute_pj;
    p.energy_sram_pj += l.energy_sram_pj;
    p.energy_dram_pj += l.energy_dram_pj;
    p.macs += l.macs;
    p.dram_bytes_read += l.dram_bytes_read;
    p.dram_bytes_written += l.dram_bytes_written;
    p.roofline_cycles += bound;
  }
  p.utilization = p.total_cycles > 0
                      ? static_cast<double>(p.macs) / (static_cast<double>(p.total_cycles) * peak)
                      : 0;
  p.roofline_ratio = p.roofline_cycles > 0 ? static_cast<double>(p.total_cycles) /
                                                 static_cast<double>(p.roofline_cycles)
                                           : 0;
  for (const auto& l : layers) p.residency_bytes_saved += l.residency_bytes_saved;
  p.compulsory_dram_bytes = weight_bytes;
  for (const auto& [t, moved] : io_total) p.compulsory_dram_bytes += AtMostTensor(moved, t);
  if (hw.ideal_memory) {
    p.ideal_compute_cycles = p.total_cycles;
  } else {
    HardwareConfig ideal = hw;
    ideal.ideal_memory = true;
    auto ideal_sim = hw::Simulate(ideal, program, static_cast<int>(layers.size()));
    if (!ideal_sim.ok()) return ideal_sim.status();
    p.ideal_compute_cycles = ideal_sim->total_cycles;
    const auto ideal_shares = GroupTimeShares(ideal_sim->layers, group_owner);
    for (size_t i = 0; i < layers.size(); ++i) layers[i].ideal_compute_cycles = ideal_shares[i].second;
  }
  if (hw.ideal_memory) {
    for (auto& l : layers) l.ideal_compute_cycles = l.cycles;
  }
  p.physical_limit_cycles = std::max(
      p.ideal_compute_cycles,
      hw.ideal_memory ? 0
                      : CeilDiv(static_cast<double>(p.compulsory_dram_bytes),
                                hw.TransferBytesPerCycle()));
  p.physical_limit_ratio = p.physical_limit_cycles > 0
                               ? static_cast<double>(p.total_cycles) /
                                     static_cast<double>(p.physical_limit_cycles)
                               : 0;
  auto occupancy = [](int64_t used, uint64_t capacity) {
    return capacity > 0 ? static_cast<double>(used) / static_cast<double>(capacity) : 0.0;
  };
  p.scratchpad_peak_bytes = buffer_peak[0];
  p.weight_buffer_peak_bytes = buffer_peak[1];
  p.accumulator_peak_bytes = buffer_peak[2];
  p.scratchpad_occupancy = occupancy(buffer_peak[0], hw.scratchpad.bytes);
  p.weight_buffer_occupancy = occupancy(buffer_peak[1], hw.weight_buffer.bytes);
  p.accumulator_occupancy = occupancy(buffer_peak[2], hw.accumulator.bytes);
  p.layers = std::move(layers);
  if (simulation != nullptr) *simulation = std::move(*sim);
  return p;
}

}  // namespace engine::exec
