// Cross-layer residency and prefetch (codegen/residency.h) on random graphs
// with branches, residual adds and concats: whatever the capacity, the
// scheduled program never exceeds a buffer and never reads on-chip bytes
// that were overwritten in between. The check here is independent of the
// simulator's own (hw/onchip_check.cc): every pair of instructions touching
// the same bytes, O(n^2), must run in program order.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codegen/device_code.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "hw/onchip_check.h"
#include "hw/simulator.h"
#include "parser/onnx_parser.h"
#include "test_models.h"
#include "test_util.h"

namespace engine::codegen {
namespace {

using testing::ModelBuilder;

HardwareConfig Hw(const std::string& spec) {
  auto hw = ParseHardwareSpec(spec);
  REQUIRE(hw.ok());
  return *hw;
}

// A random DAG on [1, C, S, S] activations: 3x3 / 1x1 convolutions (some with
// a Relu), residual Adds of equal-channel tensors, channel Concats and max
// pools; two graph outputs, one of them also read by later layers.
std::string RandomGraph(uint32_t seed, int64_t* out_a_channels, int64_t* out_b_channels) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  const int64_t s = 6 + pick(8);
  ModelBuilder b;
  struct T {
    std::string name;
    int64_t c;
  };
  std::vector<T> live{{"x", 3 + pick(6)}};
  b.Input("x", {1, live[0].c, s, s});
  int id = 0;
  const int nodes = 6 + pick(10);
  std::string mid_output;
  int64_t mid_c = 0;
  for (int n = 0; n < nodes; ++n) {
    const std::string out = absl::StrCat("t", id++);
    const T& a = live[live.size() - 1 - pick(std::min<int>(3, live.size()))];
    const int kind = pick(5);
    if (kind <= 1 || live.size() < 2) {
      const int64_t c = 4 + pick(28), k = pick(2) ? 3 : 1;
      const std::string w = absl::StrCat("w", id);
      b.Initializer(w, testing::RandomTensor({c, a.c, k, k}, rng));
      auto& conv = b.Node("Conv", {a.name, w}, {kind == 1 ? out + "c" : out});
      ModelBuilder::SetInts(conv, "pads", {k / 2, k / 2, k / 2, k / 2});
      if (kind == 1) b.Node("Relu", {out + "c"}, {out});
      live.push_back({out, c});
    } else if (kind == 2) {
      const T* other = nullptr;
      for (const T& t : live) {
        if (t.c == a.c && t.name != a.name) other = &t;
      }
      if (other == nullptr) {
        b.Node("MaxPool", {a.name}, {out});
        auto& mp = b.model().mutable_graph()->mutable_node()->at(
            b.model().graph().node_size() - 1);
        ModelBuilder::SetInts(mp, "kernel_shape", {3, 3});
        ModelBuilder::SetInts(mp, "pads", {1, 1, 1, 1});
        live.push_back({out, a.c});
      } else {
        b.Node("Add", {a.name, other->name}, {out});
        live.push_back({out, a.c});
      }
    } else if (kind == 3) {
      const T& other = live[pick(live.size())];
      b.Node("Concat", {a.name, other.name}, {out}).add_attribute();
      auto& cat = b.model().mutable_graph()->mutable_node()->at(b.model().graph().node_size() - 1);
      cat.mutable_attribute()->RemoveLast();
      ModelBuilder::SetInt(cat, "axis", 1);
      live.push_back({out, a.c + other.c});
    } else {
      b.Node("Relu", {a.name}, {out});
      live.push_back({out, a.c});
    }
    if (n == nodes / 2) {
      mid_output = out;
      mid_c = live.back().c;
    }
  }
  // Join the last two tensors so that most of the graph is live to the end.
  const T& last = live.back();
  b.Node("Concat", {last.name, mid_output}, {"y"});
  auto& cat = b.model().mutable_graph()->mutable_node()->at(b.model().graph().node_size() - 1);
  ModelBuilder::SetInt(cat, "axis", 1);
  b.Output("y", {1, last.c + mid_c, s, s});
  b.Output(mid_output, {1, mid_c, s, s});  // a graph output that later layers read
  *out_a_channels = last.c + mid_c;
  *out_b_channels = mid_c;
  return b.Serialize();
}

struct Built {
  DeviceCode code;
  hw::SimulationResult sim;
};

Built Generate(const std::string& model, const HardwareConfig& hw, bool residency) {
  parser::ParseOptions options;
  auto graph = parser::ParseOnnxBytes(model, "random", options);
  REQUIRE(graph.ok());
  auto code = GenerateDeviceCode(**graph, hw, Objective::kLatency, 0, {residency, residency});
  REQUIRE(code.ok());
  auto sim = hw::Simulate(hw, code->program, static_cast<int>(code->mappings.size()));
  INFO(sim.status().message());
  REQUIRE(sim.ok());
  return {std::move(*code), std::move(*sim)};
}

// Every pair of instructions that touch the same on-chip bytes, one of them
// writing, runs in program order: the earlier one has finished before the
// later one starts. And no access leaves its buffer.
void CheckPairs(const HardwareConfig& hw, const hw::Program& p,
                const std::vector<hw::ScheduledInstruction>& s) {
  const uint64_t capacity[3] = {hw.scratchpad.bytes, hw.weight_buffer.bytes, hw.accumulator.bytes};
  std::vector<std::vector<hw::OnChipAccess>> acc(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    acc[i] = hw::AccessesOf(hw, p, i);
    for (const auto& a : acc[i]) REQUIRE(a.end <= capacity[static_cast<int>(a.space)]);
  }
  for (size_t j = 0; j < p.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      bool conflict = false;
      for (const auto& a : acc[i]) {
        for (const auto& b : acc[j]) {
          conflict |= a.space == b.space && (a.write || b.write) && a.begin < b.end &&
                      b.begin < a.end;
        }
      }
      if (!conflict) continue;
      INFO("instructions #" << i << " and #" << j << " (" << hw::OpcodeName(p[i].opcode) << ", "
                            << hw::OpcodeName(p[j].opcode) << ")");
      REQUIRE(s[i].end <= s[j].start);
    }
  }
}

int64_t StoredToDram(const hw::Program& p) {
  int64_t bytes = 0;
  for (const auto& in : p) {
    if (in.opcode == hw::Opcode::kStore && !(in.flags & hw::kFlagResident)) {
      bytes += static_cast<int64_t>(in.bytes);
    }
  }
  return bytes;
}

TEST_CASE("Random graphs scheduled with residency never exceed a buffer or read clobbered bytes",
          "[codegen][residency]") {
  int resident = 0, spilled = 0, prefetched = 0;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    int64_t ca = 0, cb = 0;
    const std::string model = RandomGraph(seed, &ca, &cb);
    // tpu-v1: everything fits; edge with an 8 KiB scratchpad: most spills.
    for (const std::string spec : {"tpu-v1", "edge,scratchpad=8192", "gemmini"}) {
      INFO("seed " << seed << " on " << spec);
      const HardwareConfig hw = Hw(spec);
      const Built on = Generate(model, hw, true);
      const Built off = Generate(model, hw, false);
      CheckPairs(hw, on.code.program, on.sim.schedule);
      resident += on.code.residency.resident_tensors;
      spilled += on.code.residency.spilled_tensors;
      prefetched += on.code.residency.prefetched_loads;
      CHECK(on.code.residency.scratchpad_peak_bytes <= static_cast<int64_t>(hw.scratchpad.bytes));
      // Residency only removes DRAM traffic; the graph outputs still reach it.
      const int64_t outputs = (ca + cb) * 4 * 1;  // per pixel, float32
      CHECK(StoredToDram(on.code.program) <= StoredToDram(off.code.program));
      CHECK(StoredToDram(on.code.program) >= outputs);
      int64_t dram_read_on = 0, dram_read_off = 0;
      for (const auto& l : on.sim.layers) dram_read_on += l.totals.dram_read;
      for (const auto& l : off.sim.layers) dram_read_off += l.totals.dram_read;
      CHECK(dram_read_on <= dram_read_off);
      for (const TensorResidency& t : on.code.residency.tensors) {
        CHECK((t.resident || !t.reason.empty()));
      }
    }
  }
  // The cases exercise both decisions and the prefetch.
  CHECK(resident > 0);
  CHECK(spilled > 0);
  CHECK(prefetched > 0);
}

TEST_CASE("Two resident tensors placed on the same bytes are refused by the simulator",
          "[codegen][residency]") {
  int64_t ca = 0, cb = 0;
  const std::string model = RandomGraph(3, &ca, &cb);
  const HardwareConfig hw = Hw("tpu-v1");
  Built b = Generate(model, hw, true);
  // Move every resident tensor onto offset 0 of the scratchpad, where the
  // first layer's tile slots also live: some tensor is overwritten while
  // live.
  const ResidencyPlan& plan = b.code.residency;
  REQUIRE(plan.resident_tensors >= 2);
  hw::Program wrong = b.code.program;
  for (hw::Instruction& in : wrong) {
    if (in.flags & hw::kFlagResident) {
      in.weight_addr = in.dram_offset;  // every resident copy at offset 0
    }
  }
  const auto bad = hw::Simulate(hw, wrong, static_cast<int>(b.code.mappings.size()));
  REQUIRE_FALSE(bad.ok());
  const std::string message(bad.status().message());
  CHECK((message.find("overwritten while live") != std::string::npos ||
         message.find("read too early") != std::string::npos ||
         message.find("two writes in flight") != std::string::npos));
}

TEST_CASE("Residency changes the modeled traffic, not the engine's outputs",
          "[codegen][residency]") {
  int64_t ca = 0, cb = 0;
  const std::string model = RandomGraph(5, &ca, &cb);
  std::vector<std::vector<float>> outputs[2];
  int64_t written[2] = {0, 0};
  for (int on = 0; on < 2; ++on) {
    BuilderConfig config;
    config.hardware = Hw("tpu-v1");
    config.onchip_residency = config.cross_layer_prefetch = on == 1;
    auto built = Builder().BuildFromOnnxBytes(model, "random", config);
    REQUIRE(built.ok());
    auto engine = Runtime::DeserializeEngine(built->plan);
    REQUIRE(engine.ok());
    written[on] = (*engine)->device_profile().dram_bytes_written;
    auto ctx = (*engine)->CreateExecutionContext();
    REQUIRE(ctx.ok());
    std::mt19937 rng(11);
    const auto& in = (*engine)->inputs()[0];
    Tensor x = testing::RandomTensor(in.shape, rng);
    REQUIRE((*ctx)->SetInput(in.name, x).ok());
    REQUIRE((*ctx)->Execute().ok());
    for (const auto& desc : (*engine)->outputs()) {
      auto y = (*ctx)->GetOutput(desc.name);
      REQUIRE(y.ok());
      const float* f = (*y)->data_as<float>();
      outputs[on].emplace_back(f, f + (*y)->num_elements());
    }
  }
  CHECK(outputs[0] == outputs[1]);
  CHECK(written[1] < written[0]);
}

}  // namespace
}  // namespace engine::codegen
