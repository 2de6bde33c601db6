#include "executor/device_model.h"

#include <algorithm>
#include <cmath>

#include "hw/systolic.h"

namespace engine::exec {
namespace {

int64_t CeilDiv(double a, double b) { return b > 0 ? static_cast<int64_t>(std::ceil(a / b)) : 0; }

}  // namespace

absl::StatusOr<DeviceProfile> SimulateDevice(const HardwareConfig& hw, const hw::Program& program,
                                             std::vector<LayerDeviceProfile> layers,
                                             const std::vector<int64_t>& min_dram_bytes,
                                             hw::SimulationResult* simulation) {
  auto sim = hw::Simulate(hw, program, static_cast<int>(layers.size()));
  if (!sim.ok()) return sim.status();
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
    l.start_cycle = t.start_cycle;
    l.cycles = t.Cycles();
    l.time_ms = hw.CyclesToMs(static_cast<double>(l.cycles));
    l.compute_cycles = l.unit == "array" ? t.array_busy : t.vector_busy;
    l.stall_cycles = l.cycles - l.compute_cycles;
    l.instructions = t.instructions;
    if (l.cycles > 0) {
      if (l.unit == "array") {
        l.utilization = static_cast<double>(c.macs) / (static_cast<double>(l.cycles) * peak);
      } else if (l.unit == "vector") {
        l.utilization = static_cast<double>(c.vector_ops) / (static_cast<double>(l.cycles) * vector_rate);
      }
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
  p.layers = std::move(layers);
  if (simulation != nullptr) *simulation = std::move(*sim);
  return p;
}

}  // namespace engine::exec
