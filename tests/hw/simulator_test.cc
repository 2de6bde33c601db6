// The program simulator and the memory model on hand-computed cases.
#include <catch2/catch.hpp>

#include "hw/instruction_cost.h"
#include "hw/simulator.h"
#include "hw/systolic.h"

namespace engine::hw {
namespace {

HardwareConfig SmallNpu() {
  HardwareConfig hw;
  hw.name = "test";
  hw.array_rows = 8;
  hw.array_cols = 8;
  hw.dram_bytes_per_cycle = 4;  // slow on purpose
  hw.dram_latency_cycles = 10;
  hw.dma_bytes_per_cycle = 0;
  hw.vector_lanes = 4;
  return hw;
}

// On-chip addresses matter to the simulator's check (hw/onchip_check.h):
// tiles that are live together get disjoint bytes.
Instruction Load(Opcode op, uint64_t bytes, int32_t dep = -1, uint64_t addr = 0) {
  Instruction in;
  in.opcode = op;
  in.bytes = bytes;
  in.addr = addr;
  in.AddDep(dep);
  return in;
}

Instruction Matmul(uint32_t k, uint32_t m, uint32_t p, std::initializer_list<int32_t> deps) {
  Instruction in;
  in.opcode = Opcode::kMatmul;
  in.k = k, in.m = m, in.p = p;
  for (int32_t d : deps) in.AddDep(d);
  return in;
}

Instruction Store(uint64_t bytes, int32_t dep) {
  Instruction in;
  in.opcode = Opcode::kStore;
  in.bytes = bytes;
  in.AddDep(dep);
  return in;
}

Instruction Sync() {
  Instruction in;
  in.opcode = Opcode::kSync;
  return in;
}

TEST_CASE("A bandwidth-starved single-tile layer stalls for bytes / bandwidth plus latency",
          "[hw]") {
  const HardwareConfig hw = SmallNpu();
  // K=16, M=8, P=8 in fp32: inputs 16*8*4 = 512 B, weights 512 B, outputs 256 B.
  const Program program = {
      Load(Opcode::kLoadInput, 512),                      // 0: 128 cycles + 10 latency
      Load(Opcode::kLoadWeight, 512, -1, 1024),           // 1: queued behind 0 on the channel
      Matmul(16, 8, 8, {0, 1}),                           // 2
      Store(256, 2),                                      // 3: 64 cycles + 10
      Sync(),
  };
  auto sim = Simulate(hw, program, 1);
  REQUIRE(sim.ok());
  const int64_t compute = MapGemm(8, 8, Dataflow::kWeightStationary, 16, 8, 8).Cycles();
  REQUIRE(compute == 2 * (16 + 8 + 8 - 2));
  const LayerTiming& t = sim->layers[0];
  // Loads back to back on the channel: 128 + 128 cycles, the second completes
  // 10 cycles later; then compute; then the store.
  CHECK(sim->schedule[0].start == 0);
  CHECK(sim->schedule[1].start == 128);
  CHECK(sim->schedule[2].start == 128 + 128 + 10);
  CHECK(t.Cycles() == (512 + 512 + 256) / 4 + 2 * 10 + compute);
  CHECK(t.array_busy == compute);
  // Stall cycles = everything the array waits: bytes / bandwidth + latencies.
  CHECK(t.Cycles() - t.array_busy == 1280 / 4 + 20);
  CHECK(t.totals.dram_read == 1024);
  CHECK(t.totals.dram_write == 256);
  CHECK(sim->total_cycles == t.Cycles());
}

TEST_CASE("Double buffering overlaps the next tile's load with the current tile's compute",
          "[hw]") {
  HardwareConfig hw = SmallNpu();
  hw.dram_bytes_per_cycle = 64;
  hw.dram_latency_cycles = 0;
  // Two input tiles into two buffer halves sharing one weight tile.
  const int64_t mm = MapGemm(8, 8, Dataflow::kWeightStationary, 8, 8, 512).Cycles();  // 534
  constexpr uint64_t kHalf0 = 1024, kHalf1 = 1024 + 16384;
  Program program = {
      Load(Opcode::kLoadWeight, 256),   // 0: 4 cycles
      Load(Opcode::kLoadInput, 16384, -1, kHalf0),  // 1: 256 cycles, half 0
      Matmul(8, 8, 512, {0, 1}),        // 2
      Load(Opcode::kLoadInput, 16384, -1, kHalf1),  // 3: half 1, overlaps 2
      Matmul(8, 8, 512, {0, 3}),        // 4
      Load(Opcode::kLoadInput, 16384, /*WAR on half 0*/ 2, kHalf0),  // 5
      Matmul(8, 8, 512, {0, 5}),        // 6
      Store(8192, 6),                   // 7: 128 cycles
      Sync(),
  };
  program[2].addr = program[6].addr = kHalf0;
  program[4].addr = kHalf1;
  // Three accumulator tiles of 8x512 partial sums: the store reads the last.
  program[2].acc_addr = 0;
  program[4].acc_addr = 8 * 512 * 4;
  program[6].acc_addr = program[7].acc_addr = 2 * 8 * 512 * 4;
  hw.accumulator.bytes = 3 * 8 * 512 * 4;
  auto sim = Simulate(hw, program, 1);
  REQUIRE(sim.ok());
  const auto& s = sim->schedule;
  CHECK(s[2].start == 4 + 256);
  CHECK(s[3].start == 4 + 256);           // the load runs during matmul 2
  CHECK(s[4].start == s[2].end);          // no stall: data was ready
  CHECK(s[5].start == s[2].end);          // waits for matmul 2 to free half 0
  CHECK(s[6].start == s[4].end);
  CHECK(sim->layers[0].Cycles() == 4 + 256 + 3 * mm + 128);
  CHECK(sim->layers[0].array_busy == 3 * mm);
}

TEST_CASE("Ideal memory removes every DMA cycle", "[hw]") {
  HardwareConfig hw = SmallNpu();
  hw.ideal_memory = true;
  const Program program = {Load(Opcode::kLoadInput, 1 << 20), Load(Opcode::kLoadWeight, 1 << 20),
                           Matmul(64, 64, 64, {0, 1}), Store(1 << 20, 2), Sync()};
  auto sim = Simulate(hw, program, 1);
  REQUIRE(sim.ok());
  CHECK(sim->total_cycles == MapGemm(8, 8, Dataflow::kWeightStationary, 64, 64, 64).Cycles());
}

TEST_CASE("Fences separate layers, layers without instructions take no time", "[hw]") {
  const HardwareConfig hw = SmallNpu();
  Instruction a = Load(Opcode::kLoadInput, 400);  // 100 cycles + 10
  a.layer = 0;
  Instruction st = Store(400, 0);
  st.layer = 0;
  Instruction s0 = Sync();
  s0.layer = 0;
  Instruction b = Load(Opcode::kLoadInput, 40);  // layer 2 starts after the fence
  b.layer = 2;
  Instruction s2 = Sync();
  s2.layer = 2;
  auto sim = Simulate(hw, {a, st, s0, b, s2}, 3);
  REQUIRE(sim.ok());
  const int64_t layer0 = 110 + 110;
  CHECK(sim->layers[0].Cycles() == layer0);
  CHECK(sim->layers[1].Cycles() == 0);
  CHECK(sim->layers[1].start_cycle == layer0);
  CHECK(sim->layers[2].start_cycle == layer0);
  CHECK(sim->layers[2].Cycles() == 10 + 10);
  CHECK(sim->total_cycles == layer0 + 20);
}

TEST_CASE("Loads and stores share the DRAM channel", "[hw]") {
  HardwareConfig hw = SmallNpu();
  hw.dram_latency_cycles = 0;
  Instruction v;
  v.opcode = Opcode::kVector;
  v.ops = 4;  // 1 cycle
  v.AddDep(0);
  // A store ready at cycle 101 and a load ready at once compete for the channel.
  const Program program = {Load(Opcode::kLoadInput, 400), v, Store(400, 1),
                           Load(Opcode::kLoadInput, 400), Sync()};
  auto sim = Simulate(hw, program, 1);
  REQUIRE(sim.ok());
  CHECK(sim->schedule[3].start == 100);  // the second load goes first (ready earlier)
  CHECK(sim->schedule[2].start == 200);  // the store waits for the channel
  CHECK(sim->total_cycles == 300);
}

TEST_CASE("Malformed programs are rejected with the instruction index", "[hw]") {
  const HardwareConfig hw = SmallNpu();
  Instruction bad = Matmul(4, 4, 4, {});
  bad.deps[0] = 0;  // itself
  auto sim = Simulate(hw, {bad, Sync()}, 1);
  REQUIRE_FALSE(sim.ok());
  CHECK(sim.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(sim.status().message()).find("#0") != std::string::npos);

  Instruction out_of_range = Load(Opcode::kLoadInput, 4);
  out_of_range.layer = 5;
  auto sim2 = Simulate(hw, {out_of_range}, 1);
  REQUIRE_FALSE(sim2.ok());
  CHECK(std::string(sim2.status().message()).find("layer index 5") != std::string::npos);

  Instruction empty = Matmul(0, 4, 4, {});
  CHECK_FALSE(Simulate(hw, {empty}, 1).ok());
}

TEST_CASE("Programs whose cycles or bytes would overflow are rejected", "[hw]") {
  // A crafted plan's program (found by fuzz/plan_loader_fuzzer): the int64
  // cost arithmetic overflowed (undefined behaviour) instead of an error.
  const HardwareConfig hw = SmallNpu();
  Instruction huge = Matmul(1u << 31, 1u << 31, 1u << 31, {});
  huge.repeat = 0xffffffffu;
  auto sim = Simulate(hw, {huge, Sync()}, 1);
  REQUIRE_FALSE(sim.ok());
  CHECK(sim.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(sim.status().message()).find("out of range") != std::string::npos);
  Instruction load = Load(Opcode::kLoadInput, 4);
  load.bytes = ~uint64_t{0};
  CHECK_FALSE(Simulate(hw, {load, Sync()}, 1).ok());
  // A small load at a DRAM offset near 2^64 (fuzz/plan_loader_fuzzer): its
  // extent fed the physical limit's bytes / bandwidth, a double past int64.
  Instruction far = Load(Opcode::kLoadInput, 4);
  far.dram_offset = ~uint64_t{0} - 8;
  auto far_sim = Simulate(hw, {far, Sync()}, 1);
  REQUIRE_FALSE(far_sim.ok());
  CHECK(std::string(far_sim.status().message()).find("out of range") != std::string::npos);
  // Many large but individually valid instructions: the sum is bounded too
  // (a scratchpad large enough that the on-chip check accepts one).
  HardwareConfig roomy = hw;
  roomy.scratchpad.bytes = uint64_t{1} << 51;
  Instruction big = Load(Opcode::kLoadInput, uint64_t{1} << 50);
  CHECK(Simulate(roomy, {big, Sync()}, 1).ok());
  CHECK_FALSE(Simulate(roomy, Program(1024, big), 1).ok());
}

TEST_CASE("Instruction energy is the sum of actions times the energy table", "[hw]") {
  HardwareConfig hw = SmallNpu();
  Instruction mm = Matmul(16, 8, 8, {});
  mm.precision = Precision::kInt8;
  const InstructionCost c = CostOf(hw, mm);
  CHECK(c.macs == 16 * 8 * 8);
  CHECK(c.compute_pj == Approx(16 * 8 * 8 * hw.energy.mac_int8_pj));
  // ws: weights once (16*8 B), inputs once per column fold (1 fold: 16*8 B).
  CHECK(c.sram_read == 16 * 8 + 16 * 8);
  // Two row folds: the second reads and writes back the first's partial sums.
  CHECK(c.acc_write == 2 * 8 * 8 * 4);
  CHECK(c.acc_read == 1 * 8 * 8 * 4);
  const Instruction ld = Load(Opcode::kLoadInput, 1000);
  const InstructionCost l = CostOf(hw, ld);
  CHECK(l.dram_pj == Approx(1000 * hw.energy.dram_pj_per_byte));
  CHECK(l.sram_pj == Approx(1000 * hw.energy.sram_pj_per_byte));
  CHECK(l.occupancy_cycles == 250);
  CHECK(l.latency_cycles == 10);
}

}  // namespace
}  // namespace engine::hw
