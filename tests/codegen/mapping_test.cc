// Mapping search, tiling and lowering on hand-made workloads.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"

#include <set>

#include "ops/op_registry.h"
#include "codegen/lowering.h"
#include "codegen/mapper.h"
#include "codegen/workload.h"
#include "kernels/kernel.h"
#include "hw/simulator.h"
#include "hw/tiling.h"

namespace engine::codegen {
namespace {

HardwareConfig Preset(const char* spec) {
  auto hw = ParseHardwareSpec(spec);
  REQUIRE(hw.ok());
  return *hw;
}

hw::GemmWorkload Fc(int64_t k, int64_t m, int64_t p) {
  hw::GemmWorkload g;
  g.k = k, g.m = m, g.p = p;
  g.out_w = p;
  g.input_tensor = 0, g.weight_tensor = 1, g.output_tensor = 2;
  g.input_bytes = k * p * 4, g.weight_bytes = k * m * 4, g.output_bytes = m * p * 4;
  return g;
}

hw::GemmWorkload Conv(int64_t c, int64_t hw_in, int64_t m, int64_t kernel, int64_t stride,
                      int64_t pad) {
  hw::GemmWorkload g;
  g.conv = true;
  g.in_h = g.in_w = hw_in;
  g.out_h = g.out_w = (hw_in + 2 * pad - kernel) / stride + 1;
  g.kernel_h = g.kernel_w = kernel;
  g.stride_h = g.stride_w = stride;
  g.k = c * kernel * kernel, g.m = m, g.p = g.out_h * g.out_w;
  g.input_tensor = 0, g.weight_tensor = 1, g.output_tensor = 2;
  g.input_bytes = c * hw_in * hw_in * 4;
  g.weight_bytes = g.k * m * 4;
  g.output_bytes = m * g.p * 4;
  return g;
}

hw::SimulationResult Run(const HardwareConfig& hw, const hw::Program& program) {
  auto sim = hw::Simulate(hw, program, 1);
  REQUIRE(sim.ok());
  return *sim;
}

TEST_CASE("Weights larger than the scratchpad are tiled, and DRAM traffic follows the loop order",
          "[codegen]") {
  const HardwareConfig gemmini = Preset("gemmini");
  // 256 x 256 fp32 weights = 256 KiB: the whole scratchpad, so never one tile.
  const hw::GemmWorkload g = Fc(256, 256, 16);
  const hw::ArrayTiling whole{Dataflow::kWeightStationary, hw::LoopOrder::kMPK, 1, 256, 256, 16};
  CHECK_FALSE(hw::Fits(gemmini, hw::ArrayBufferNeeds(gemmini, g, whole)));

  // A hand-picked tiling: K and M in 4 tiles each. Order M,P,K with K split:
  // each weight tile is loaded once (one P tile), each input tile once per M
  // tile (4x the input), each output once.
  const hw::ArrayTiling t{Dataflow::kWeightStationary, hw::LoopOrder::kMPK, 1, 64, 64, 16};
  const hw::BufferNeeds needs = hw::ArrayBufferNeeds(gemmini, g, t);
  CHECK(needs.slots == 2);
  CHECK(needs.scratchpad == 2 * (64 * 16 * 4) + 2 * (64 * 64 * 4));
  CHECK(needs.accumulator == 2 * 64 * 16 * 4);
  REQUIRE(hw::Fits(gemmini, needs));
  hw::Program program;
  LowerArrayLayer(gemmini, g, t, 0, program);
  const hw::SimulationResult sim = Run(gemmini, program);
  const hw::InstructionCost& c = sim.layers[0].totals;
  CHECK(c.dram_read == 256 * 256 * 4 + 4 * (256 * 16 * 4));
  CHECK(c.dram_write == 256 * 16 * 4);
  CHECK(c.macs == 256 * 256 * 16);
  const hw::Estimate est = hw::EstimateArray(gemmini, g, t);
  CHECK(est.totals.dram_read == c.dram_read);
  CHECK(est.totals.dram_write == c.dram_write);
  CHECK(est.compute_cycles == sim.layers[0].array_busy);
  CHECK(est.instructions == static_cast<int64_t>(program.size()));

  // The mapper finds a tiling that fits and is at least as good.
  auto m = ChooseMapping(gemmini, hw::LayerWorkload{"fc", "Gemm", hw::LayerKind::kArray, g, {}, false},
                         Objective::kLatency);
  REQUIRE(m.ok());
  CHECK(m->on_array);
  CHECK(hw::Fits(gemmini, hw::ArrayBufferNeeds(gemmini, g, m->array)));
  CHECK(m->chosen.cycles <= sim.total_cycles);
  // Both of Gemmini's dataflows were considered: the other one is rejected.
  REQUIRE(m->rejected.size() == 1);
  CHECK(m->rejected[0].tactic != m->chosen.tactic);
}

TEST_CASE("Lowered programs keep every buffer access inside the hardware's buffers", "[codegen]") {
  for (const char* spec : {"gemmini", "edge", "tpu-v1"}) {
    const HardwareConfig hw = Preset(spec);
    for (const hw::GemmWorkload& g : {Conv(64, 56, 64, 3, 1, 1), Conv(3, 224, 64, 7, 2, 3),
                                      Conv(512, 7, 2048, 1, 1, 0), Fc(2048, 1000, 1)}) {
      hw::LayerWorkload w{"l", "Conv", hw::LayerKind::kArray, g, {}, false};
      auto m = ChooseMapping(hw, w, Objective::kLatency);
      REQUIRE(m.ok());
      hw::Program program;
      LowerLayer(hw, w, *m, 0, program);
      const bool separate = hw.weight_buffer.bytes > 0;
      for (const hw::Instruction& in : program) {
        CAPTURE(spec, hw::OpcodeName(in.opcode), m->chosen.tiling);
        switch (in.opcode) {
          case hw::Opcode::kLoadInput:
            CHECK(in.addr + in.bytes <= hw.scratchpad.bytes);
            break;
          case hw::Opcode::kLoadWeight:
            CHECK(in.addr + in.bytes <= (separate ? hw.weight_buffer.bytes : hw.scratchpad.bytes));
            break;
          case hw::Opcode::kMatmul:
            CHECK(in.acc_addr + uint64_t{in.m} * in.p * in.repeat * 4 <= hw.accumulator.bytes);
            break;
          default:
            break;
        }
      }
      // The simulated cycles match the mapper's own measurement.
      CHECK(Run(hw, program).total_cycles == m->chosen.cycles);
    }
  }
}

TEST_CASE("The analytical estimate tracks the simulated schedule", "[codegen]") {
  for (const char* spec : {"gemmini", "edge"}) {
    const HardwareConfig hw = Preset(spec);
    for (const hw::GemmWorkload& g : {Conv(64, 56, 64, 3, 1, 1), Conv(256, 14, 256, 3, 1, 1),
                                      Conv(64, 56, 256, 1, 1, 0), Fc(2048, 1000, 1)}) {
      hw::LayerWorkload w{"l", "Conv", hw::LayerKind::kArray, g, {}, false};
      auto m = ChooseMapping(hw, w, Objective::kLatency);
      REQUIRE(m.ok());
      CAPTURE(spec, m->chosen.tiling, m->estimated_cycles, m->chosen.cycles);
      const double ratio = static_cast<double>(m->estimated_cycles) / m->chosen.cycles;
      CHECK(ratio > 0.85);
      CHECK(ratio < 1.15);
    }
  }
}

TEST_CASE("A fused epilogue adds one vector pass and the residual's traffic per output tile",
          "[codegen]") {
  for (const char* spec : {"gemmini", "edge"}) {
    const HardwareConfig hw = Preset(spec);
    hw::GemmWorkload g = Conv(64, 28, 64, 3, 1, 1);
    const hw::GemmWorkload plain = g;
    g.epilogue_ops_per_element = 2;  // residual add + Relu
    g.residual_tensor = 3;
    g.residual_bytes = g.output_bytes;
    hw::LayerWorkload w{"fused", "Conv", hw::LayerKind::kArray, g, {}, false};
    auto m = ChooseMapping(hw, w, Objective::kLatency);
    REQUIRE(m.ok());
    hw::Program program;
    LowerLayer(hw, w, *m, 0, program);
    const hw::SimulationResult sim = Run(hw, program);
    const hw::InstructionCost& c = sim.layers[0].totals;
    CAPTURE(spec, m->chosen.tiling);
    CHECK(c.vector_ops == 2 * g.m * g.p);
    hw::Program unfused;
    LowerArrayLayer(hw, plain, m->array, 0, unfused);
    const hw::InstructionCost u = Run(hw, unfused).layers[0].totals;
    CHECK(c.dram_read == u.dram_read + g.residual_bytes);
    CHECK(c.dram_write == u.dram_write);
    const double ratio = static_cast<double>(m->estimated_cycles) / m->chosen.cycles;
    CHECK(ratio > 0.85);
    CHECK(ratio < 1.15);
  }
}

TEST_CASE("The cost model maps a layer differently when it no longer fits on chip", "[codegen]") {
  // 64 -> 64 channels, 3x3, 28x28 (fp32): 147 KiB of weights, 196 KiB of input.
  const hw::GemmWorkload g = Conv(64, 28, 64, 3, 1, 1);
  hw::LayerWorkload w{"conv", "Conv", hw::LayerKind::kArray, g, {}, false};
  const HardwareConfig roomy = Preset("edge");
  const HardwareConfig tight = Preset("edge,scratchpad=64KiB,accumulator=32KiB");
  auto a = ChooseMapping(roomy, w, Objective::kLatency);
  auto b = ChooseMapping(tight, w, Objective::kLatency);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CAPTURE(a->chosen.tiling, b->chosen.tiling);
  // The roomy choice does not fit the tight buffers, so the choice must change.
  CHECK_FALSE(hw::Fits(tight, hw::ArrayBufferNeeds(tight, g, a->array)));
  CHECK(hw::Fits(tight, hw::ArrayBufferNeeds(tight, g, b->array)));
  CHECK(a->chosen.tiling != b->chosen.tiling);
  // Smaller tiles re-read operands: more DRAM traffic, more cycles.
  hw::Program pa, pb;
  LowerLayer(roomy, w, *a, 0, pa);
  LowerLayer(tight, w, *b, 0, pb);
  CHECK(Run(tight, pb).layers[0].totals.dram_read > Run(roomy, pa).layers[0].totals.dram_read);
  CHECK(b->chosen.cycles > a->chosen.cycles);
}

TEST_CASE("A pinned dataflow is the only one considered", "[codegen]") {
  const HardwareConfig hw = Preset("edge,dataflow=os");
  hw::LayerWorkload w{"l", "Conv", hw::LayerKind::kArray, Conv(64, 56, 64, 3, 1, 1), {}, false};
  auto m = ChooseMapping(hw, w, Objective::kLatency);
  REQUIRE(m.ok());
  CHECK(m->chosen.tactic == "array-os");
  CHECK(m->rejected.empty());
}

TEST_CASE("Depthwise convolutions compare the array with the vector unit", "[codegen]") {
  const HardwareConfig hw = Preset("gemmini");
  hw::GemmWorkload g = Conv(1, 112, 1, 3, 1, 1);
  g.groups = 32;
  g.input_bytes *= 32, g.weight_bytes *= 32, g.output_bytes *= 32;
  hw::LayerWorkload w{"dw", "Conv", hw::LayerKind::kArray, g, {}, true};
  w.vector.inputs = {{0, g.input_bytes}, {1, g.weight_bytes}};
  w.vector.outputs = {{2, g.output_bytes}};
  w.vector.out_elements = g.output_bytes / 4;
  w.vector.ops_per_element = 9;
  w.vector.tile_unit = 112;
  auto m = ChooseMapping(hw, w, Objective::kLatency);
  REQUIRE(m.ok());
  std::set<std::string> tactics{m->chosen.tactic};
  for (const auto& r : m->rejected) tactics.insert(r.tactic);
  CHECK(tactics.count("vector") == 1);
  CHECK(tactics.count("array-ws") == 1);
  for (const auto& r : m->rejected) CHECK(r.objective >= m->chosen.objective);
}

TEST_CASE("Objectives change what is minimized", "[codegen]") {
  const HardwareConfig hw = Preset("edge");
  hw::LayerWorkload w{"l", "Conv", hw::LayerKind::kArray, Conv(128, 28, 128, 3, 1, 1), {}, false};
  auto lat = ChooseMapping(hw, w, Objective::kLatency);
  auto energy = ChooseMapping(hw, w, Objective::kEnergy);
  REQUIRE(lat.ok());
  REQUIRE(energy.ok());
  CHECK(lat->chosen.cycles <= energy->chosen.cycles);
  CHECK(energy->chosen.energy_pj <= lat->chosen.energy_pj);
}

TEST_CASE("A layer whose smallest tile does not fit is ResourceExhausted, naming it", "[codegen]") {
  const HardwareConfig hw = Preset("gemmini,scratchpad=512B");
  hw::LayerWorkload w{"conv_big", "Conv", hw::LayerKind::kArray, Conv(3, 224, 64, 7, 2, 3), {}, false};
  auto m = ChooseMapping(hw, w, Objective::kLatency);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().code() == absl::StatusCode::kResourceExhausted);
  const std::string msg(m.status().message());
  CHECK(msg.find("conv_big") != std::string::npos);
  CHECK(msg.find("scratchpad") != std::string::npos);
  CHECK(msg.find("of 512 B") != std::string::npos);
}

// InstanceNormalization of [1, 32, 800, 800] (fns-candy's first layer): one
// (n, c) plane is 640,000 fp32 elements, 2.4 MiB in and 2.4 MiB out, more than
// any preset's scratchpad except tpu-v1's 24 MiB. Described by its op record.
hw::LayerWorkload InstanceNormWorkload(int64_t h, int64_t w) {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find("InstanceNormalization");
  REQUIRE(def != nullptr);
  auto info = [](Dims shape) {
    kernels::TensorInfo t;
    t.dtype = DataType::kFloat32;
    t.shape = std::move(shape);
    return t;
  };
  const std::vector<kernels::TensorInfo> in{info({1, 32, h, w}), info({32}), info({32})};
  const std::vector<kernels::TensorInfo> out{info({1, 32, h, w})};
  const std::vector<int32_t> in_tensors{0, 1, 2}, out_tensors{3};
  const Attributes attrs;
  const ops::LayerView view{"norm", "InstanceNormalization", attrs, in, out, in_tensors,
                            out_tensors};
  auto w_or = ops::DescribeDeviceWork(*def, view, nullptr);
  REQUIRE(w_or.ok());
  return *w_or;
}

TEST_CASE("A normalization plane larger than the scratchpad is streamed in two passes",
          "[codegen]") {
  const hw::LayerWorkload w = InstanceNormWorkload(800, 800);
  const int64_t plane = 800 * 800, x_bytes = 32 * plane * 4;
  REQUIRE(w.vector.tile_unit == plane);
  REQUIRE(w.vector.stats_ops_per_element == 3);
  for (const char* spec : {"edge", "gemmini", "gemmini,scratchpad=16KiB", "tpu-v1"}) {
    const HardwareConfig hw = Preset(spec);
    CAPTURE(spec);
    auto m = ChooseMapping(hw, w, Objective::kLatency);
    REQUIRE(m.ok());
    CAPTURE(m->chosen.tiling);
    const bool whole_fits = 2 * plane * 4 <= static_cast<int64_t>(hw.scratchpad.bytes);
    CHECK(m->vector.streamed() == !whole_fits);
    CHECK(m->vector.tile_elements % plane == 0);
    hw::Program program;
    LowerLayer(hw, w, *m, 0, program);
    // Every access stays in the scratchpad; the modeled work is all there.
    uint64_t loaded = 0, loaded_x = 0, stored = 0, vector_ops = 0;
    for (const hw::Instruction& in : program) {
      if (in.opcode == hw::Opcode::kLoadInput) {
        CHECK(in.addr + in.bytes <= hw.scratchpad.bytes);
        loaded += in.bytes;
        if (in.tensor == 0) loaded_x += in.bytes;
      } else if (in.opcode == hw::Opcode::kVector) {
        CHECK(in.addr + in.bytes <= hw.scratchpad.bytes);
        CHECK(in.acc_addr + in.aux_bytes <= hw.scratchpad.bytes);
        vector_ops += in.ops;
      } else if (in.opcode == hw::Opcode::kStore) {
        CHECK(in.addr + in.bytes <= hw.scratchpad.bytes);
        stored += in.bytes;
      }
    }
    // Streamed: X is read twice (statistics, then output), the output written
    // once; the 4 ops per element (3 statistics + 1 output) are all counted.
    CHECK(loaded_x == static_cast<uint64_t>(whole_fits ? x_bytes : 2 * x_bytes));
    CHECK(stored == static_cast<uint64_t>(x_bytes));
    CHECK(vector_ops >= static_cast<uint64_t>(4 * 32 * plane));
    CHECK(vector_ops <= static_cast<uint64_t>(4 * 32 * plane) + program.size());
    CHECK(hw::VectorInstructionBound(w.vector, m->vector) >= static_cast<int64_t>(program.size()));
    const hw::SimulationResult sim = Run(hw, program);
    CHECK(sim.total_cycles == m->chosen.cycles);
    CHECK(sim.layers[0].totals.dram_read == static_cast<int64_t>(loaded));
    CHECK(sim.layers[0].totals.dram_write == x_bytes);
    const hw::Estimate est = hw::EstimateVector(hw, w.vector, m->vector);
    CHECK(est.instructions == static_cast<int64_t>(program.size()));
    const double ratio = static_cast<double>(est.cycles) / static_cast<double>(sim.total_cycles);
    CHECK(ratio > 0.85);
    CHECK(ratio < 1.15);
  }
}

TEST_CASE("A tile unit that may not be streamed still fails when it does not fit", "[codegen]") {
  hw::LayerWorkload w = InstanceNormWorkload(800, 800);
  w.vector.stats_ops_per_element = 0;  // e.g. a softmax row: no two-pass form
  auto m = ChooseMapping(Preset("edge"), w, Objective::kLatency);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(m.status().message()).find("norm") != std::string::npos);
  // A plane that fits is not streamed.
  auto small = ChooseMapping(Preset("edge"), InstanceNormWorkload(28, 28), Objective::kLatency);
  REQUIRE(small.ok());
  CHECK_FALSE(small->vector.streamed());
}

TEST_CASE("A precision the hardware lacks is Unimplemented", "[codegen]") {
  HardwareConfig hw = Preset("gemmini");
  hw.precisions = {Precision::kInt8};
  hw::LayerWorkload w{"fc", "Gemm", hw::LayerKind::kArray, Fc(64, 64, 1), {}, false};
  auto m = ChooseMapping(hw, w, Objective::kLatency);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(std::string(m.status().message()).find("fp32") != std::string::npos);
}

TEST_CASE("Every host layer type has an accelerator lowering", "[codegen]") {
  const std::vector<std::string> lowered = LoweredLayerTypes();
  const std::set<std::string> set(lowered.begin(), lowered.end());
  for (const std::string& type : ops::OpRegistry::Builtin().KernelTypes()) {
    CAPTURE(type);
    CHECK(set.count(type) == 1);
  }
}


// The Attention composite (ops/attention.cc): per head Q.K^T and P.V on the
// array, the softmax on the vector unit, the scores spilled to DRAM. Its
// figures are those of its three pieces, each mapped as a layer of its own.
TEST_CASE("Attention maps as two array GEMMs and a vector softmax in one layer", "[codegen]") {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find("Attention");
  REQUIRE(def != nullptr);
  REQUIRE(def->device.unit == hw::LayerKind::kComposite);
  const int64_t b = 1, h = 4, s = 128, t = 128, d = 64;
  std::vector<kernels::TensorInfo> inputs(4), outputs(1);
  inputs[0] = {DataType::kFloat32, {b, h, s, d}};
  inputs[1] = {DataType::kFloat32, {b, h, t, d}};
  inputs[2] = {DataType::kFloat32, {b, h, t, d}};
  inputs[3] = {DataType::kFloat32, {b, 1, 1, t}};
  outputs[0] = {DataType::kFloat32, {b, h, s, d}};
  const std::vector<int32_t> in_tensors{0, 1, 2, 3}, out_tensors{4};
  Attributes attrs;
  const ops::LayerView view{"attn", "Attention", attrs, inputs, outputs, in_tensors, out_tensors};
  auto w = ops::DescribeDeviceWork(*def, view, nullptr);
  REQUIRE(w.ok());
  REQUIRE(w->kind == hw::LayerKind::kComposite);
  REQUIRE(w->parts.size() == 3);
  const hw::LayerWorkload &qk = w->parts[0], &sm = w->parts[1], &pv = w->parts[2];
  CHECK(qk.name == "attn/scores");
  CHECK(qk.kind == hw::LayerKind::kArray);
  CHECK((qk.gemm.groups == b * h && qk.gemm.k == d && qk.gemm.m == t && qk.gemm.p == s));
  CHECK(sm.kind == hw::LayerKind::kVector);
  CHECK(sm.vector.out_elements == b * h * s * t);
  CHECK(sm.vector.ops_per_element == 7);  // Softmax 5 + scale 1 + mask 1
  CHECK(sm.vector.tile_unit == t);
  CHECK(pv.kind == hw::LayerKind::kArray);
  CHECK((pv.gemm.groups == b * h && pv.gemm.k == t && pv.gemm.m == d && pv.gemm.p == s));
  const int64_t score_bytes = b * h * s * t * 4;
  CHECK(qk.gemm.output_bytes == score_bytes);  // spilled: stored ...
  CHECK(pv.gemm.input_bytes == score_bytes);   // ... and loaded again
  CHECK(pv.gemm.output_tensor == 4);

  CHECK(w->resident_bytes == score_bytes);
  CHECK(w->stream_groups == b * h);
  CHECK(w->stream_rows == s);
  // A scratchpad too small to hold the 256 KiB of scores beside the tiles,
  // streaming off: spilled, and the figures are the sum of the pieces mapped
  // alone.
  const HardwareConfig hw = Preset("edge,scratchpad=256KiB");
  hw::LayerWorkload unstreamable = *w;
  unstreamable.stream_groups = 0;
  auto m = ChooseMapping(hw, unstreamable, Objective::kLatency);
  REQUIRE(m.ok());
  CHECK_FALSE(m->intermediates_on_chip);
  CHECK(m->chosen.tactic == "composite-spilled");
  REQUIRE(m->parts.size() == 3);
  int64_t macs = 0, ops = 0, bytes = 0, cycles = 0;
  for (size_t i = 0; i < 3; ++i) {
    auto alone = ChooseMapping(hw, w->parts[i], Objective::kLatency);
    REQUIRE(alone.ok());
    CHECK(alone->chosen.tiling == m->parts[i].chosen.tiling);
    macs += alone->macs, ops += alone->vector_ops, bytes += alone->min_dram_bytes;
    cycles += alone->chosen.cycles;
  }
  CHECK(m->macs == 2 * b * h * s * t * d);
  CHECK(m->macs == macs);
  CHECK(m->vector_ops == ops);
  CHECK(m->min_dram_bytes == bytes);
  // Pieces run one after the other (a barrier between them).
  CHECK(m->chosen.cycles == cycles);
  CHECK(m->on_array);
  hw::Program program;
  LowerLayer(hw, *w, *m, 0, program);
  auto sim = hw::Simulate(hw, program, 1);
  REQUIRE(sim.ok());
  CHECK(sim->total_cycles == m->chosen.cycles);
  CHECK(sim->layers[0].totals.dram_read + sim->layers[0].totals.dram_write >= bytes);
  // Every MATMUL fits the layer's tile bound, as the plan reader checks.
  for (const hw::Instruction& in : program) {
    if (in.opcode != hw::Opcode::kMatmul) continue;
    CHECK(in.k <= m->array.kt);
    CHECK(in.m <= m->array.mt);
    CHECK(in.p <= m->array.pt);
  }

  // The edge preset's 512 KiB scratchpad holds the scores with room for the
  // tiles: the resident variant wins, its DRAM traffic lacks the 4 passes
  // over the scores, and the spilled variant is its rejected alternative.
  const HardwareConfig edge = Preset("edge");
  auto on_chip = ChooseMapping(edge, *w, Objective::kLatency);
  REQUIRE(on_chip.ok());
  CHECK(on_chip->intermediates_on_chip);
  CHECK(on_chip->chosen.tactic == "composite-onchip");
  REQUIRE(on_chip->rejected.size() == 1);
  CHECK(on_chip->rejected[0].tactic == "composite-spilled");
  CHECK(on_chip->chosen.cycles < on_chip->rejected[0].cycles);
  CHECK(on_chip->min_dram_bytes == bytes - 4 * score_bytes);
  hw::Program resident_program;
  LowerLayer(edge, *w, *on_chip, 0, resident_program);
  auto rsim = hw::Simulate(edge, resident_program, 1);
  REQUIRE(rsim.ok());
  CHECK(rsim->total_cycles == on_chip->chosen.cycles);
  const int64_t resident_dram = rsim->layers[0].totals.dram_read + rsim->layers[0].totals.dram_write;
  CHECK(resident_dram >= on_chip->min_dram_bytes);
  CHECK(resident_dram < on_chip->min_dram_bytes + 4 * score_bytes);
  for (const hw::Instruction& in : resident_program) {
    CHECK(in.tensor >= -1);  // no on-chip marker reaches a program
    for (int32_t d : in.deps) CHECK(d < static_cast<int32_t>(resident_program.size()));
  }

  // Streamed on the 256 KiB scratchpad: chunks of 2 heads (128 KiB of
  // scores, half the scratchpad) run one after the other with their scores
  // resident; faster than spilling, and the DRAM traffic lacks the 4 passes
  // over the scores (Q, K, V, the mask and Y are each read or written once).
  auto streamed = ChooseMapping(hw, *w, Objective::kLatency);
  REQUIRE(streamed.ok());
  CHECK(streamed->chosen.tactic == "composite-streamed");
  CHECK(streamed->intermediates_on_chip);
  CHECK(streamed->stream_chunk_groups == 2);
  CHECK(streamed->stream_chunk_rows == s);
  CHECK(streamed->parts.size() == 6);  // 2 chunks x 3 pieces
  CHECK(absl::StrContains(streamed->chosen.tiling, "2 chunks of 2 groups x 128 rows"));
  REQUIRE(streamed->rejected.size() == 1);
  CHECK(streamed->rejected[0].tactic == "composite-spilled");
  CHECK(streamed->rejected[0].cycles == m->chosen.cycles);
  CHECK(streamed->chosen.cycles < m->chosen.cycles);
  CHECK(streamed->macs == m->macs);
  CHECK(streamed->vector_ops == m->vector_ops);
  CHECK(streamed->min_dram_bytes == bytes - 4 * score_bytes);
  const std::vector<hw::LayerWorkload> chunks = StreamedParts(*w, 2, s);
  REQUIRE(chunks.size() == 6);
  CHECK(chunks[0].name == "attn/scores[g0,r0]");
  CHECK(chunks[3].name == "attn/scores[g2,r0]");
  CHECK(chunks[0].gemm.groups == 2);
  CHECK(chunks[0].gemm.input_bytes == qk.gemm.input_bytes / 2);
  CHECK(chunks[1].vector.out_elements == sm.vector.out_elements / 2);
  hw::Program streamed_program;
  LowerLayer(hw, *w, *streamed, 0, streamed_program);
  auto ssim = hw::Simulate(hw, streamed_program, 1);
  REQUIRE(ssim.ok());
  CHECK(ssim->total_cycles == streamed->chosen.cycles);
  const int64_t streamed_dram =
      ssim->layers[0].totals.dram_read + ssim->layers[0].totals.dram_write;
  CHECK(streamed_dram >= streamed->min_dram_bytes);
  CHECK(streamed_dram < streamed->min_dram_bytes + 4 * score_bytes);
  for (const hw::Instruction& in : streamed_program) {
    CHECK(in.tensor >= -1);
    for (int32_t d : in.deps) CHECK(d < static_cast<int32_t>(streamed_program.size()));
    if (in.opcode != hw::Opcode::kMatmul) continue;
    CHECK(in.k <= streamed->array.kt);
    CHECK(in.m <= streamed->array.mt);
    CHECK(in.p <= streamed->array.pt);
  }
}

// One head whose S x T scores exceed half the scratchpad streams in chunks
// of query rows (whole rows of T, so no softmax rescaling); K and V are read
// again by every row chunk.
TEST_CASE("Attention streams one large head in chunks of query rows", "[codegen]") {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find("Attention");
  REQUIRE(def != nullptr);
  const int64_t s = 256, t = 512, d = 64;
  std::vector<kernels::TensorInfo> inputs(3), outputs(1);
  inputs[0] = {DataType::kFloat32, {1, 1, s, d}};
  inputs[1] = {DataType::kFloat32, {1, 1, t, d}};
  inputs[2] = {DataType::kFloat32, {1, 1, t, d}};
  outputs[0] = {DataType::kFloat32, {1, 1, s, d}};
  const std::vector<int32_t> in_tensors{0, 1, 2}, out_tensors{3};
  Attributes attrs;
  const ops::LayerView view{"attn", "Attention", attrs, inputs, outputs, in_tensors, out_tensors};
  auto w = ops::DescribeDeviceWork(*def, view, nullptr);
  REQUIRE(w.ok());
  const int64_t score_bytes = s * t * 4;  // 512 KiB: the whole edge scratchpad
  REQUIRE(w->resident_bytes == score_bytes);
  const HardwareConfig edge = Preset("edge");
  auto m = ChooseMapping(edge, *w, Objective::kLatency);
  REQUIRE(m.ok());
  CHECK(m->chosen.tactic == "composite-streamed");
  CHECK(m->stream_chunk_groups == 1);
  CHECK(m->stream_chunk_rows == 128);  // 128 rows x 512 x 4 B = 256 KiB
  CHECK(m->parts.size() == 6);
  const int64_t kv_bytes = 2 * t * d * 4;
  const int64_t q_y_bytes = 2 * s * d * 4;
  CHECK(m->min_dram_bytes == q_y_bytes + 2 * kv_bytes);  // K and V read by both row chunks
  hw::Program program;
  LowerLayer(edge, *w, *m, 0, program);
  auto sim = hw::Simulate(edge, program, 1);
  REQUIRE(sim.ok());
  CHECK(sim->total_cycles == m->chosen.cycles);
  REQUIRE_FALSE(m->rejected.empty());
  CHECK(m->rejected[0].tactic == "composite-spilled");
  CHECK(m->chosen.cycles < m->rejected[0].cycles);
}

}  // namespace
}  // namespace engine::codegen
