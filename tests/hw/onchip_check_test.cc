// The simulator's on-chip checks (hw/onchip_check.h) and the cross-layer
// flags (kFlagResident, kFlagPrefetch) on hand-built programs: each wrong
// schedule below is refused with its error, its corrected twin accepted.
#include <catch2/catch.hpp>

#include <string>

#include "hw/instruction_cost.h"
#include "hw/onchip_check.h"
#include "hw/simulator.h"

namespace engine::hw {
namespace {

HardwareConfig Npu() {
  HardwareConfig hw;
  hw.name = "test";
  hw.array_rows = 8;
  hw.array_cols = 8;
  hw.scratchpad = {4096, 1};
  hw.weight_buffer = {0, 1};
  hw.accumulator = {4096, 1};
  hw.dram_bytes_per_cycle = 4;
  hw.dram_latency_cycles = 10;
  hw.vector_lanes = 4;
  return hw;
}

Instruction LoadAt(Opcode op, uint64_t addr, uint64_t bytes, uint32_t layer = 0) {
  Instruction in;
  in.opcode = op;
  in.precision = Precision::kInt8;
  in.addr = addr;
  in.bytes = bytes;
  in.layer = layer;
  return in;
}

// An int8 8x8x8 MATMUL reading inputs at `in_addr` and weights at `w_addr`.
Instruction MatmulAt(uint64_t in_addr, uint64_t w_addr, std::initializer_list<int32_t> deps,
                     uint32_t layer = 0) {
  Instruction in;
  in.opcode = Opcode::kMatmul;
  in.precision = Precision::kInt8;
  in.k = in.m = in.p = 8;
  in.addr = in_addr;
  in.weight_addr = w_addr;
  in.layer = layer;
  for (int32_t d : deps) in.AddDep(d);
  return in;
}

Instruction StoreFromAcc(int32_t dep, uint32_t layer = 0) {
  Instruction in;
  in.opcode = Opcode::kStore;
  in.precision = Precision::kInt8;
  in.bytes = 64;  // 8x8 int8
  in.layer = layer;
  in.AddDep(dep);
  return in;
}

Instruction Sync(uint32_t layer) {
  Instruction in;
  in.opcode = Opcode::kSync;
  in.layer = layer;
  return in;
}

std::string Error(const absl::StatusOr<SimulationResult>& r) {
  return r.ok() ? "" : std::string(r.status().message());
}

TEST_CASE("A load into a slot that a MATMUL still reads is refused", "[hw][onchip]") {
  const HardwareConfig hw = Npu();
  // Two input tiles share slot 0 (bytes [0, 64)); the second load lacks its
  // WAR dependency on the first MATMUL.
  Program wrong = {LoadAt(Opcode::kLoadInput, 0, 64), LoadAt(Opcode::kLoadWeight, 1024, 64),
                   MatmulAt(0, 1024, {0, 1}), LoadAt(Opcode::kLoadInput, 0, 64),
                   MatmulAt(0, 1024, {3, 1}), StoreFromAcc(4), Sync(0)};
  const auto bad = Simulate(hw, wrong, 1);
  REQUIRE_FALSE(bad.ok());
  CHECK(Error(bad).find("overwritten while live") != std::string::npos);
  CHECK(Error(bad).find("instruction #3") != std::string::npos);
  CHECK(Error(bad).find("scratchpad") != std::string::npos);
  Program right = wrong;
  right[3].AddDep(2);
  CHECK(Simulate(hw, right, 1).ok());
}

TEST_CASE("A MATMUL that does not wait for its load is refused", "[hw][onchip]") {
  const HardwareConfig hw = Npu();
  Program wrong = {LoadAt(Opcode::kLoadWeight, 1024, 64), LoadAt(Opcode::kLoadInput, 0, 64),
                   MatmulAt(0, 1024, {0}), StoreFromAcc(2), Sync(0)};
  const auto bad = Simulate(hw, wrong, 1);
  REQUIRE_FALSE(bad.ok());
  CHECK(Error(bad).find("read too early") != std::string::npos);
  wrong[2].AddDep(1);
  CHECK(Simulate(hw, wrong, 1).ok());
}

TEST_CASE("An access beyond a buffer's capacity is refused", "[hw][onchip]") {
  HardwareConfig hw = Npu();
  Program p = {LoadAt(Opcode::kLoadInput, 4096 - 32, 64), Sync(0)};
  const auto bad = Simulate(hw, p, 1);
  REQUIRE_FALSE(bad.ok());
  CHECK(Error(bad).find("beyond its capacity of 4096 bytes") != std::string::npos);
  hw.ideal_memory = true;  // unbounded buffers
  CHECK(Simulate(hw, p, 1).ok());
}

TEST_CASE("Resident moves cost no DRAM bytes and read what the producer wrote", "[hw][onchip]") {
  const HardwareConfig hw = Npu();
  // Layer 0 stores its 64-byte tile into the resident copy at 2048; layer 1
  // loads it from there into its input slot.
  Instruction st = StoreFromAcc(2);
  st.flags |= kFlagResident;
  st.weight_addr = 2048;
  Instruction ld = LoadAt(Opcode::kLoadInput, 0, 64, 1);
  ld.flags |= kFlagResident;
  ld.weight_addr = 2048;
  Program p = {LoadAt(Opcode::kLoadInput, 0, 64),   LoadAt(Opcode::kLoadWeight, 1024, 64),
               MatmulAt(0, 1024, {0, 1}),           st,
               Sync(0),                             ld,
               LoadAt(Opcode::kLoadWeight, 1024, 64, 1), MatmulAt(0, 1024, {5, 6}, 1),
               StoreFromAcc(7, 1),                  Sync(1)};
  const auto r = Simulate(hw, p, 2);
  REQUIRE(r.ok());
  CHECK(r->layers[0].totals.dram_write == 0);
  CHECK(r->layers[1].totals.dram_read == 64);  // the weights only
  CHECK(CostOf(hw, ld).occupancy_cycles ==
        static_cast<int64_t>(64 / OnChipMoveBytesPerCycle(hw) + 0.999));
  CHECK(CostOf(hw, ld).latency_cycles == 0);
  // A second producer overwriting the resident copy before layer 1 read it.
  Program clobber = p;
  Instruction other = LoadAt(Opcode::kLoadInput, 2048, 64, 0);
  other.AddDep(3);
  clobber.insert(clobber.begin() + 4, other);  // still layer 0, after the STORE
  for (Instruction& in : clobber) {
    for (int32_t& d : in.deps) d = d >= 4 ? d + 1 : d;
  }
  // Layer 1's load (#6) now reads what #4 wrote, after the fence: fine.
  REQUIRE(Simulate(hw, clobber, 2).ok());
  // ... but the same load issued without waiting for the fence (a bad
  // prefetch) reads the copy while #4 is still writing it.
  clobber[6].flags |= kFlagPrefetch;
  const auto bad = Simulate(hw, clobber, 2);
  REQUIRE_FALSE(bad.ok());
  CHECK(Error(bad).find("read too early") != std::string::npos);
}

TEST_CASE("A prefetched weight load overlaps the previous layer and is timed", "[hw][onchip]") {
  const HardwareConfig hw = Npu();
  // Layer 0: a long MATMUL; layer 1 loads its weights into a free slot.
  auto program = [&](bool prefetch) {
    Program p = {LoadAt(Opcode::kLoadInput, 0, 64), LoadAt(Opcode::kLoadWeight, 1024, 64),
                 MatmulAt(0, 1024, {0, 1}), StoreFromAcc(2), Sync(0),
                 LoadAt(Opcode::kLoadWeight, 2048, 512, 1),
                 LoadAt(Opcode::kLoadInput, 0, 64, 1),
                 MatmulAt(0, 2048, {5, 6}, 1), StoreFromAcc(7, 1), Sync(1)};
    p[2].k = 64;  // 8 row folds: a long layer 0
    if (prefetch) p[5].flags |= kFlagPrefetch;
    return p;
  };
  const auto plain = Simulate(hw, program(false), 2);
  const auto early = Simulate(hw, program(true), 2);
  REQUIRE(plain.ok());
  REQUIRE(early.ok());
  CHECK(plain->schedule[5].start >= plain->schedule[4].start);  // after layer 0's fence
  CHECK(early->schedule[5].start < early->schedule[4].start);   // during layer 0
  CHECK(early->total_cycles < plain->total_cycles);
  // Prefetching into the slot layer 0's MATMUL reads, without the dependency,
  // is refused; with it, accepted.
  Program wrong = program(true);
  wrong[5].addr = 1024;
  const auto bad = Simulate(hw, wrong, 2);
  REQUIRE_FALSE(bad.ok());
  INFO(Error(bad));
  // Layer 0's weight load is still in flight when the prefetch starts.
  CHECK(Error(bad).find("instruction #5 (layer 1, LOAD_WEIGHT) writes bytes [1024, 1536)") !=
        std::string::npos);
  CHECK((Error(bad).find("two writes in flight") != std::string::npos ||
         Error(bad).find("overwritten while live") != std::string::npos));
  wrong[5].AddDep(2);
  CHECK(Simulate(hw, wrong, 2).ok());
}

}  // namespace
}  // namespace engine::hw
