#include "hw/instruction_cost.h"
#include "hw/int_math.h"

#include <algorithm>
#include <cmath>

#include "hw/systolic.h"

namespace engine::hw {
namespace {


int64_t DmaCycles(const HardwareConfig& hw, uint64_t bytes) {
  if (hw.ideal_memory || bytes == 0) return 0;
  return static_cast<int64_t>(std::ceil(static_cast<double>(bytes) / hw.TransferBytesPerCycle()));
}

int64_t OnChipCycles(const HardwareConfig& hw, uint64_t bytes) {
  if (hw.ideal_memory || bytes == 0) return 0;
  return static_cast<int64_t>(
      std::ceil(static_cast<double>(bytes) / OnChipMoveBytesPerCycle(hw)));
}

}  // namespace

double OnChipMoveBytesPerCycle(const HardwareConfig& hw) {
  return 4.0 * std::max(hw.array_rows, 1);
}

const char* OpcodeName(Opcode opcode) {
  switch (opcode) {
    case Opcode::kLoadInput: return "LOAD_INPUT";
    case Opcode::kLoadWeight: return "LOAD_WEIGHT";
    case Opcode::kMatmul: return "MATMUL";
    case Opcode::kVector: return "VECTOR";
    case Opcode::kStore: return "STORE";
    case Opcode::kSync: return "SYNC";
  }
  return "?";
}

Unit UnitOf(Opcode opcode) {
  switch (opcode) {
    case Opcode::kLoadInput:
    case Opcode::kLoadWeight: return Unit::kLoad;
    case Opcode::kStore: return Unit::kStore;
    case Opcode::kMatmul: return Unit::kArray;
    case Opcode::kVector: return Unit::kVector;
    case Opcode::kSync: return Unit::kNone;
  }
  return Unit::kNone;
}

const char* UnitName(Unit unit) {
  switch (unit) {
    case Unit::kLoad: return "DMA load";
    case Unit::kStore: return "DMA store";
    case Unit::kArray: return "Systolic array";
    case Unit::kVector: return "Vector unit";
    case Unit::kNone: return "Control";
  }
  return "?";
}

bool Instruction::AddDep(int32_t dep) {
  if (dep < 0) return true;
  for (int32_t& d : deps) {
    if (d == dep) return true;
    if (d < 0) {
      d = dep;
      return true;
    }
  }
  return false;
}

InstructionCost& InstructionCost::operator+=(const InstructionCost& o) {
  occupancy_cycles += o.occupancy_cycles;
  latency_cycles += o.latency_cycles;
  macs += o.macs;
  vector_ops += o.vector_ops;
  pe_slots += o.pe_slots;
  used_pe_slots += o.used_pe_slots;
  dram_read += o.dram_read;
  dram_write += o.dram_write;
  sram_read += o.sram_read;
  sram_write += o.sram_write;
  acc_read += o.acc_read;
  acc_write += o.acc_write;
  compute_pj += o.compute_pj;
  sram_pj += o.sram_pj;
  dram_pj += o.dram_pj;
  return *this;
}

InstructionCost InstructionCost::Scaled(int64_t n) const {
  if (n <= 0) return {};
  InstructionCost s = *this;
  if (n == 1) return s;
  const double d = static_cast<double>(n);
  s.occupancy_cycles *= n;
  s.latency_cycles *= n;
  s.macs *= n;
  s.vector_ops *= n;
  s.pe_slots *= n;
  s.used_pe_slots *= n;
  s.dram_read *= n;
  s.dram_write *= n;
  s.sram_read *= n;
  s.sram_write *= n;
  s.acc_read *= n;
  s.acc_write *= n;
  s.compute_pj *= d;
  s.sram_pj *= d;
  s.dram_pj *= d;
  return s;
}

InstructionCost CostOf(const HardwareConfig& hw, const Instruction& in) {
  InstructionCost c;
  const int64_t e = PrecisionBytes(in.precision);
  const int64_t bytes = static_cast<int64_t>(in.bytes);
  switch (in.opcode) {
    case Opcode::kLoadInput:
    case Opcode::kLoadWeight:
      if (in.flags & kFlagResident) {
        c.occupancy_cycles = OnChipCycles(hw, in.bytes);
        c.sram_read = bytes;
        c.sram_write = bytes;
        break;
      }
      c.occupancy_cycles = DmaCycles(hw, in.bytes);
      c.latency_cycles = hw.ideal_memory ? 0 : hw.dram_latency_cycles;
      c.dram_read = bytes;
      c.sram_write = bytes;
      break;
    case Opcode::kStore:
      if (in.flags & kFlagResident) {
        c.occupancy_cycles = OnChipCycles(hw, in.bytes);
        c.sram_write = bytes;
      } else {
        c.occupancy_cycles = DmaCycles(hw, in.bytes);
        c.latency_cycles = hw.ideal_memory ? 0 : hw.dram_latency_cycles;
        c.dram_write = bytes;
      }
      if (in.flags & kFlagFromScratchpad) {
        c.sram_read += bytes;
      } else {
        c.acc_read = bytes / e * kAccumulatorBytes;
      }
      break;
    case Opcode::kMatmul: {
      const int64_t k = in.k, m = in.m, p = in.p, rep = in.repeat;
      const FoldPlan f = MapGemm(hw.array_rows, hw.array_cols, in.dataflow, k, m, p);
      c.occupancy_cycles = rep * f.Cycles();
      c.macs = rep * k * m * p;
      c.pe_slots = rep * f.folds * hw.PeakMacsPerCycle();
      c.used_pe_slots = rep * f.UsedPeSlots();
      const int64_t out = m * p * kAccumulatorBytes;
      const bool acc = in.flags & kFlagAccumulate;
      switch (in.dataflow) {
        case Dataflow::kWeightStationary:
          c.sram_read = rep * (k * m * e + CeilDiv(m, hw.array_cols) * k * p * e);
          c.acc_write = rep * f.row_folds * out;
          c.acc_read = rep * (f.row_folds - 1 + (acc ? 1 : 0)) * out;
          break;
        case Dataflow::kInputStationary:
          c.sram_read = rep * (k * p * e + CeilDiv(p, hw.array_cols) * k * m * e);
          c.acc_write = rep * f.row_folds * out;
          c.acc_read = rep * (f.row_folds - 1 + (acc ? 1 : 0)) * out;
          break;
        case Dataflow::kOutputStationary:
          c.sram_read = rep * (CeilDiv(m, hw.array_cols) * k * p * e +
                               CeilDiv(p, hw.array_rows) * k * m * e);
          c.acc_write = rep * out;
          c.acc_read = acc ? rep * out : 0;
          break;
      }
      c.compute_pj = static_cast<double>(c.macs) * hw.energy.MacPj(in.precision);
      break;
    }
    case Opcode::kVector: {
      const double rate = hw.vector_lanes * hw.vector_ops_per_cycle;
      c.occupancy_cycles = static_cast<int64_t>(std::ceil(static_cast<double>(in.ops) / rate));
      c.vector_ops = static_cast<int64_t>(in.ops);
      if (in.flags & kFlagOnAccumulator) {
        c.acc_read = bytes;
        c.acc_write = static_cast<int64_t>(in.aux_bytes);
      } else {
        c.sram_read = bytes;
        c.sram_write = static_cast<int64_t>(in.aux_bytes);
      }
      c.compute_pj = static_cast<double>(in.ops) * hw.energy.vector_op_pj;
      break;
    }
    case Opcode::kSync:
      break;
  }
  c.sram_pj = static_cast<double>(c.sram_read + c.sram_write) * hw.energy.sram_pj_per_byte +
              static_cast<double>(c.acc_read + c.acc_write) * hw.energy.accumulator_pj_per_byte;
  c.dram_pj = static_cast<double>(c.dram_read + c.dram_write) * hw.energy.dram_pj_per_byte;
  return c;
}

}  // namespace engine::hw
