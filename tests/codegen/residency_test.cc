// Cross-layer residency and prefetch (codegen/residency.h) on random graphs
// with branches, residual adds and concats: whatever the capacity, the
// scheduled program never exceeds a buffer and never reads on-chip bytes
// that were overwritten in between. The check here is independent of the
// simulator's own (hw/onchip_check.cc): every pair of instructions touching
// the same bytes, O(n^2), must run in program order.
#include <catch2/catch.hpp>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codegen/device_code.h"
#include "codegen/layer_group.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "hw/onchip_check.h"
#include "hw/simulator.h"
#include "parser/onnx_parser.h"
#include "test_models.h"
#include "engine_run_util.h"
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

// `groups`: with layer groups minimizing energy (they always save DRAM
// energy, so the cases exercise them whatever their latency).
Built Generate(const std::string& model, const HardwareConfig& hw, bool residency,
               bool groups = false) {
  parser::ParseOptions options;
  auto graph = parser::ParseOnnxBytes(model, "random", options);
  REQUIRE(graph.ok());
  ResidencyOptions ro;
  ro.residency = ro.prefetch = residency;
  ro.layer_groups = groups;
  if (groups) ro.group_objective = ParseGroupObjective("energy").value();
  auto code = GenerateDeviceCode(**graph, hw, Objective::kLatency, 0, ro);
  REQUIRE(code.ok());
  auto sim = hw::Simulate(hw, code->program, static_cast<int>(code->mappings.size()));
  INFO(sim.status().message());
  REQUIRE(sim.ok());
  return {std::move(*code), std::move(*sim)};
}

// A deliberately wrong schedule: the band store `store` moved past the
// scratchpad's capacity; the simulator must refuse it.
void CheckBandBeyondCapacityRefused(const HardwareConfig& hw, const hw::Program& program,
                                    size_t store, int layers) {
  hw::Program wrong = program;
  wrong[store].weight_addr += hw.scratchpad.bytes;
  const auto bad = hw::Simulate(hw, wrong, layers);
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("beyond its capacity") != std::string::npos);
}

// A deliberately wrong schedule: the band loads `loads` issued as prefetches
// without their dependencies (before the producer's band is stored); the
// simulator must refuse it.
void CheckEarlyBandReadRefused(const HardwareConfig& hw, const hw::Program& program,
                               const std::vector<size_t>& loads, int layers) {
  hw::Program wrong = program;
  for (size_t i : loads) {
    wrong[i].flags |= hw::kFlagPrefetch;
    for (int32_t& d : wrong[i].deps) d = -1;
  }
  const auto bad = hw::Simulate(hw, wrong, layers);
  REQUIRE_FALSE(bad.ok());
  const std::string message(bad.status().message());
  CHECK((message.find("read too early") != std::string::npos ||
         message.find("overwritten while live") != std::string::npos));
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
    outputs[on] = testing::RunOnRandomInput(**engine, 11);
  }
  CHECK(outputs[0] == outputs[1]);
  CHECK(written[1] < written[0]);
}

// A chain conv3x3 -> conv3x3 (Relu) -> conv1x1 on [1, 8, 32, 32]: its
// intermediates (32 KiB each, float32) are far above half of a 16 KiB
// scratchpad, so only a layer group keeps them on chip.
std::string ChainModel() {
  std::mt19937 rng(7);
  ModelBuilder b;
  b.Input("x", {1, 8, 32, 32});
  b.Initializer("w1", testing::RandomTensor({8, 8, 3, 3}, rng));
  b.Initializer("w2", testing::RandomTensor({8, 8, 3, 3}, rng));
  b.Initializer("w3", testing::RandomTensor({4, 8, 1, 1}, rng));
  auto& c1 = b.Node("Conv", {"x", "w1"}, {"a"});
  ModelBuilder::SetInts(c1, "pads", {1, 1, 1, 1});
  auto& c2 = b.Node("Conv", {"a", "w2"}, {"b0"});
  ModelBuilder::SetInts(c2, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"b0"}, {"b"});
  b.Node("Conv", {"b", "w3"}, {"y"});
  b.Output("y", {1, 4, 32, 32});
  return b.Serialize();
}

TEST_CASE("Band workloads follow the fused-layer halo formula", "[codegen][layer_group]") {
  // Two 3x3 stride-1 convolutions of 16 output rows, then a 3x3 stride-2 one.
  hw::LayerWorkload a;
  a.kind = hw::LayerKind::kArray;
  hw::GemmWorkload& g = a.gemm;
  g.conv = true;
  g.k = 9 * 4, g.m = 4, g.in_h = g.out_h = g.in_w = g.out_w = 16, g.p = 256;
  g.kernel_h = g.kernel_w = 3;
  g.input_tensor = 0, g.output_tensor = 1, g.weight_tensor = 5;
  g.input_bytes = g.output_bytes = 4 * 16 * 16 * 4;
  hw::LayerWorkload b = a;
  b.gemm.input_tensor = 1, b.gemm.output_tensor = 2;
  REQUIRE(Chainable(a, b));
  CHECK_FALSE(Chainable(b, a));
  std::vector<std::vector<BandRows>> rows;
  const auto bands = BandWorkloads({a, b}, 4, &rows);
  REQUIRE(bands.size() == 4);
  // Alwani et al. eq. 1: 4 output rows of b need (4 - 1) * 1 + 3 = 6 rows
  // of a's output, which need 8 input rows (clamped to 16).
  CHECK(bands[1][1].gemm.out_h == 4);
  CHECK(bands[1][1].gemm.in_h == 6);
  CHECK(bands[1][0].gemm.out_h == 6);
  CHECK(bands[1][0].gemm.in_h == 8);
  CHECK(bands[1][0].gemm.output_tensor == kBandTensor);
  CHECK(bands[1][1].gemm.input_tensor == kBandTensor);
  CHECK(bands[1][0].gemm.input_tensor == 0);
  CHECK(bands[1][1].gemm.output_bytes == g.output_bytes / 4);
  CHECK(rows[3][1].out_row0 == 12);
  CHECK(rows[3][1].in_row0 + rows[3][1].in_rows == 16);  // the last band ends at the edge
  int64_t macs = 0;
  for (const auto& band : bands) macs += band[0].gemm.Macs() + band[1].gemm.Macs();
  CHECK(macs > a.gemm.Macs() + b.gemm.Macs());  // the halo rows are recomputed
  hw::LayerWorkload s = b;
  s.gemm.stride_h = s.gemm.stride_w = 2;
  s.gemm.out_h = s.gemm.out_w = 8, s.gemm.p = 64;
  const auto strided = BandWorkloads({a, s}, 2);
  CHECK(strided[0][1].gemm.in_h == (4 - 1) * 2 + 3);
}

TEST_CASE("Group objectives parse, bad ones are refused", "[codegen][layer_group]") {
  auto w = ParseGroupObjective("weighted:alpha=1,beta=0.5");
  REQUIRE(w.ok());
  CHECK(w->kind == GroupObjective::Kind::kWeighted);
  CHECK(w->alpha == 1.0);
  CHECK(w->beta == 0.5);
  CHECK(ParseGroupObjective("energy")->kind == GroupObjective::Kind::kEnergy);
  for (const char* bad : {"weighted:", "weighted:alpha=-1,beta=1", "weighted:alpha=0,beta=0",
                          "weighted:gamma=1", "fast"}) {
    INFO(bad);
    CHECK(absl::IsInvalidArgument(ParseGroupObjective(bad).status()));
  }
}

TEST_CASE("A wrong layer-group schedule is refused by the simulator", "[codegen][layer_group]") {
  const HardwareConfig hw = Hw("edge,scratchpad=16384");
  Built b = Generate(ChainModel(), hw, true, true);
  INFO("candidates " << b.code.groups.candidates << " no fit " << b.code.groups.rejected_no_fit
                     << " cost " << b.code.groups.rejected_cost);
  REQUIRE(b.code.groups.groups.size() >= 1);
  const LayerGroup& g = b.code.groups.groups.front();
  CHECK(g.bands >= 2);
  CHECK(g.dram_bytes < g.separate_dram_bytes);
  // The band buffers: resident moves without a DRAM tensor.
  std::vector<size_t> band_loads, band_stores;
  for (size_t i = 0; i < b.code.program.size(); ++i) {
    const hw::Instruction& in = b.code.program[i];
    if ((in.flags & hw::kFlagResident) && in.tensor == -1) {
      (in.opcode == hw::Opcode::kStore ? band_stores : band_loads).push_back(i);
    }
  }
  REQUIRE(!band_loads.empty());
  REQUIRE(!band_stores.empty());
  SECTION("a band buffer beyond the scratchpad") {
    CheckBandBeyondCapacityRefused(hw, b.code.program, band_stores.back(),
                                   static_cast<int>(b.code.mappings.size()));
  }
  SECTION("a band read before the producer's band is stored") {
    CheckEarlyBandReadRefused(hw, b.code.program, band_loads,
                              static_cast<int>(b.code.mappings.size()));
  }
}

// A random network of convolution chains on [1, C, S, S] (S 16..31): blocks
// of two or three 3x3 / 1x1 / depthwise convolutions, some closed by a
// residual Add with the block's input, some as two branches joined by a
// channel Concat, some a convolution followed by a 3x3 max pool. The
// chains' intermediates are layer-group candidates.
std::string RandomChainGraph(uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  const int64_t s = 16 + pick(16);
  int64_t c = 4 + pick(5);
  ModelBuilder b;
  b.Input("x", {1, c, s, s});
  std::string cur = "x";
  int id = 0;
  auto conv = [&](const std::string& in, int64_t cin, int64_t cout, int64_t k, bool depthwise) {
    const std::string out = absl::StrCat("c", id++), w = absl::StrCat("w", id);
    if (depthwise) cout = cin;
    b.Initializer(w, testing::RandomTensor({cout, depthwise ? 1 : cin, k, k}, rng));
    auto& n = b.Node("Conv", {in, w}, {out});
    ModelBuilder::SetInts(n, "pads", {k / 2, k / 2, k / 2, k / 2});
    if (depthwise) ModelBuilder::SetInt(n, "group", cin);
    return out;
  };
  const int blocks = 2 + pick(3);
  for (int blk = 0; blk < blocks; ++blk) {
    if (pick(4) == 0) {  // conv -> MaxPool 3x3 stride 1 (a conv -> pool group candidate)
      const int64_t out_c = 4 + pick(12);
      const std::string t = conv(cur, c, out_c, pick(2) ? 3 : 1, false);
      const std::string out = absl::StrCat("pool", id++);
      auto& mp = b.Node("MaxPool", {t}, {out});
      ModelBuilder::SetInts(mp, "kernel_shape", {3, 3});
      ModelBuilder::SetInts(mp, "pads", {1, 1, 1, 1});
      cur = out;
      c = out_c;
      continue;
    }
    if (pick(3) == 0) {  // two branches, concatenated
      const std::string l = conv(conv(cur, c, c, 3, false), c, c, 1, false);
      const std::string r = conv(cur, c, c, 1, false);
      const std::string out = absl::StrCat("cat", id++);
      auto& cat = b.Node("Concat", {l, r}, {out});
      ModelBuilder::SetInt(cat, "axis", 1);
      cur = out;
      c *= 2;
      continue;
    }
    const int64_t mid = 4 + pick(12);
    std::string t = conv(cur, c, mid, pick(2) ? 3 : 1, false);
    if (pick(2)) t = conv(t, mid, mid, 3, true);
    const bool residual = pick(2) == 0;
    const int64_t out_c = residual ? c : 4 + pick(8);
    t = conv(t, mid, out_c, 1, false);
    if (residual) {
      const std::string out = absl::StrCat("add", id++);
      b.Node("Add", {t, cur}, {out});
      t = out;
    }
    cur = t;
    c = out_c;
  }
  b.Output(cur, {1, c, s, s});
  return b.Serialize();
}

TEST_CASE("Random graphs scheduled with layer groups never exceed a buffer or read clobbered "
          "bytes", "[codegen][layer_group]") {
  int groups = 0, candidates = 0, no_fit = 0, pool_groups = 0;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    const std::string model = RandomChainGraph(seed);
    for (const std::string spec : {"edge,scratchpad=16384", "gemmini,scratchpad=24576"}) {
      INFO("seed " << seed << " on " << spec);
      const HardwareConfig hw = Hw(spec);
      const Built on = Generate(model, hw, true, true);
      CheckPairs(hw, on.code.program, on.sim.schedule);
      groups += static_cast<int>(on.code.groups.groups.size());
      candidates += on.code.groups.candidates;
      no_fit += on.code.groups.rejected_no_fit;
      // Every grouped layer but the owner has no range of its own.
      for (size_t l = 0; l < on.code.group_layer.size(); ++l) {
        if (on.code.group_layer[l] >= 0) CHECK(on.code.num_instructions[l] == 0);
      }
      for (const LayerGroup& g : on.code.groups.groups) {
        for (const LayerMapping& m : g.mappings) pool_groups += m.kind == hw::LayerKind::kVector;
      }
    }
  }
  INFO("candidates " << candidates << ", no fit " << no_fit << ", pool groups " << pool_groups);
  CHECK(groups > 0);  // the cases exercise groups
  CHECK(pool_groups > 0);  // and conv -> pool groups
}

TEST_CASE("Layer groups change the modeled schedule, not the engine's outputs",
          "[codegen][layer_group]") {
  const std::string model = ChainModel();
  std::vector<std::vector<float>> outputs[2];
  int64_t written[2] = {0, 0};
  size_t layers[2] = {0, 0};
  std::string report;
  for (int on = 0; on < 2; ++on) {
    BuilderConfig config;
    config.hardware = Hw("edge,scratchpad=16384");
    config.layer_groups = on == 1;
    auto built = Builder().BuildFromOnnxBytes(model, "chain", config);
    REQUIRE(built.ok());
    if (on == 1) report = built->layer_group_report;
    auto engine = Runtime::DeserializeEngine(built->plan);
    INFO(engine.status().message());
    REQUIRE(engine.ok());
    written[on] = (*engine)->device_profile().dram_bytes_written;
    layers[on] = (*engine)->device_profile().layers.size();
    outputs[on] = testing::RunOnRandomInput(**engine, 3);
  }
  CHECK(outputs[0] == outputs[1]);  // bit-identical
  CHECK(layers[0] == layers[1]);
  CHECK(layers[1] == 3);  // conv, conv+relu, conv
  CHECK(written[1] < written[0]);
  CHECK(report.find("1 accepted") != std::string::npos);
  CHECK(report.find("eta = dP/dE") != std::string::npos);
  // A bad group objective is an error naming it.
  BuilderConfig config;
  config.hardware = Hw("edge,scratchpad=16384");
  config.group_objective = "weighted:alpha=x";
  const auto bad = Builder().BuildFromOnnxBytes(model, "chain", config);
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("weighted:alpha=x") != std::string::npos);
}


// MobileNetV2's inverted residual on [1, 8, 32, 32]: expand 1x1 8 -> 32 +
// Relu, depthwise 3x3 + Relu, project 1x1 32 -> 8, residual Add of the
// block input (fused into the projection by fuse-residual). The expanded
// intermediates (4x here, 128 KiB each, float32) are far above half of a
// 64 KiB scratchpad, so only a layer group keeps them on chip.
std::string InvertedResidualModel() {
  std::mt19937 rng(11);
  ModelBuilder b;
  b.Input("x", {1, 8, 32, 32});
  b.Initializer("we", testing::RandomTensor({32, 8, 1, 1}, rng));
  b.Initializer("wd", testing::RandomTensor({32, 1, 3, 3}, rng));
  b.Initializer("wp", testing::RandomTensor({8, 32, 1, 1}, rng));
  b.Node("Conv", {"x", "we"}, {"e0"});
  b.Node("Relu", {"e0"}, {"e"});
  auto& dw = b.Node("Conv", {"e", "wd"}, {"d0"});
  ModelBuilder::SetInts(dw, "pads", {1, 1, 1, 1});
  ModelBuilder::SetInt(dw, "group", 32);
  b.Node("Relu", {"d0"}, {"d"});
  b.Node("Conv", {"d", "wp"}, {"p"});
  b.Node("Add", {"p", "x"}, {"y"});
  b.Output("y", {1, 8, 32, 32});
  return b.Serialize();
}

// The build's layer-group report line of the group of `count` layers:
// (cycles of the layers one by one, cycles of the group), or {-1, -1}.
std::pair<int64_t, int64_t> GroupCycles(const std::string& report, int count) {
  const std::string key = absl::StrCat("group of ", count, " layers");
  const size_t at = report.find(key);
  if (at == std::string::npos) return {-1, -1};
  const size_t b = report.find(" B; ", at);
  long long before = -1, after = -1;
  if (b == std::string::npos ||
      std::sscanf(report.c_str() + b + 4, "%lld -> %lld cycles", &before, &after) != 2) {
    return {-1, -1};
  }
  return {before, after};
}

TEST_CASE("An inverted-residual block runs as one layer group when it fits",
          "[codegen][layer_group]") {
  const std::string model = InvertedResidualModel();
  std::vector<std::vector<float>> outputs[2];
  for (int on = 0; on < 2; ++on) {
    BuilderConfig config;
    config.hardware = Hw("edge,scratchpad=65536");
    config.layer_groups = on == 1;
    auto built = Builder().BuildFromOnnxBytes(model, "ir", config);
    INFO(built.status().message());
    REQUIRE(built.ok());
    CHECK(built->engine_layers == 3);  // expand, depthwise, project + residual Add
    auto engine = Runtime::DeserializeEngine(built->plan);  // runs the on-chip checks
    INFO(engine.status().message());
    REQUIRE(engine.ok());
    const DeviceProfile& p = (*engine)->device_profile();
    if (on == 1) {
      INFO(built->layer_group_report);
      // The whole block, residual included, is one group of 3 layers.
      const auto [separate, grouped] = GroupCycles(built->layer_group_report, 3);
      REQUIRE(separate > 0);
      CHECK(grouped < separate);
      for (const auto& l : p.layers) CHECK(l.group_owner == 2);
      CHECK(p.layers[1].input_location == "scratchpad");  // the band, never DRAM
      CHECK(p.scratchpad_peak_bytes <= 65536);
    }
    outputs[on] = testing::RunOnRandomInput(**engine, 5);
  }
  CHECK(outputs[0] == outputs[1]);  // the host computes the same graph
  // A scratchpad too small for the band buffers next to the tiles: refused.
  BuilderConfig small;
  small.hardware = Hw("edge,scratchpad=8192");
  auto built = Builder().BuildFromOnnxBytes(model, "ir", small);
  INFO(built.status().message());
  REQUIRE(built.ok());
  INFO(built->layer_group_report);
  CHECK(built->layer_group_report.find("0 accepted") != std::string::npos);
  CHECK(built->layer_group_report.find("(0 no fit") == std::string::npos);
  CHECK(GroupCycles(built->layer_group_report, 3).first == -1);
  REQUIRE(Runtime::DeserializeEngine(built->plan).ok());
}

TEST_CASE("Per-layer Time % sums to 100 with and without layer groups",
          "[codegen][layer_group]") {
  for (const std::string& model : {ChainModel(), InvertedResidualModel()}) {
    for (int on = 0; on < 2; ++on) {
      BuilderConfig config;
      config.hardware = Hw("edge,scratchpad=16384");
      config.layer_groups = on == 1;
      auto built = Builder().BuildFromOnnxBytes(model, "m", config);
      REQUIRE(built.ok());
      auto engine = Runtime::DeserializeEngine(built->plan);
      REQUIRE(engine.ok());
      const DeviceProfile& p = (*engine)->device_profile();
      double percent = 0;
      int grouped = 0;
      for (const auto& l : p.layers) {
        percent += 100.0 * l.time_ms / p.latency_ms;
        grouped += l.group_owner >= 0 ? 1 : 0;
        CHECK(l.stall_cycles >= 0);
        CHECK(l.utilization <= 1.0);
      }
      INFO("groups " << on << ", grouped layers " << grouped << "\n" << built->layer_group_report);
      CHECK(percent == Approx(100.0).margin(0.1));
      if (on == 1) CHECK(grouped >= 2);  // the case exercises a group
    }
  }
}

// ResNet's stem in small: conv 7x7 stride 2 pad 3 (3 -> 16 channels, 64x64
// -> 32x32), then MaxPool 3x3 stride 2 pad 1 (32x32 -> 16x16), the pool's
// output the graph output (no Relu between them: codegen's own tests run
// the parsed graph unoptimized, where a Relu would be a layer of its own).
// The conv's output (64 KiB, float32) is above half of a 32 KiB scratchpad:
// only a conv -> pool group keeps it on chip.
std::string StemModel() {
  std::mt19937 rng(13);
  ModelBuilder b;
  b.Input("x", {1, 3, 64, 64});
  b.Initializer("w", testing::RandomTensor({16, 3, 7, 7}, rng));
  auto& c = b.Node("Conv", {"x", "w"}, {"c"});
  ModelBuilder::SetInts(c, "strides", {2, 2});
  ModelBuilder::SetInts(c, "pads", {3, 3, 3, 3});
  auto& mp = b.Node("MaxPool", {"c"}, {"y"});
  ModelBuilder::SetInts(mp, "kernel_shape", {3, 3});
  ModelBuilder::SetInts(mp, "strides", {2, 2});
  ModelBuilder::SetInts(mp, "pads", {1, 1, 1, 1});
  b.Output("y", {1, 16, 16, 16});
  return b.Serialize();
}

TEST_CASE("Conv -> pool bands follow the pool's windows", "[codegen][layer_group]") {
  // conv 7x7 stride 2 (32 -> 16 rows, 8 channels), then MaxPool 3x3 stride 2
  // pad 1 (16 -> 8 rows).
  hw::LayerWorkload conv;
  conv.kind = hw::LayerKind::kArray;
  hw::GemmWorkload& g = conv.gemm;
  g.conv = true;
  g.k = 49 * 3, g.m = 8, g.in_h = g.in_w = 32, g.out_h = g.out_w = 16, g.p = 256;
  g.kernel_h = g.kernel_w = 7, g.stride_h = g.stride_w = 2;
  g.input_tensor = 0, g.output_tensor = 1, g.weight_tensor = 5;
  g.input_bytes = 3 * 32 * 32 * 4, g.output_bytes = 8 * 16 * 16 * 4;
  hw::LayerWorkload pool;
  pool.kind = hw::LayerKind::kVector;
  pool.vector.inputs = {{1, g.output_bytes}};
  pool.vector.outputs = {{2, 8 * 8 * 8 * 4}};
  pool.vector.out_elements = 8 * 8 * 8;
  pool.vector.ops_per_element = 9;
  PoolRows rows_of_pool;
  rows_of_pool.in_h = 16, rows_of_pool.out_h = 8;
  rows_of_pool.kernel_h = 3, rows_of_pool.stride_h = 2, rows_of_pool.pad_top = 1;
  REQUIRE(Chainable(conv, pool, {}, rows_of_pool));
  CHECK_FALSE(Chainable(conv, pool));  // no rows: not known to be a pool
  CHECK_FALSE(Chainable(pool, conv, rows_of_pool, {}));  // not the pool's output
  PoolRows wrong_rows = rows_of_pool;
  wrong_rows.in_h = 15;
  CHECK_FALSE(Chainable(conv, pool, {}, wrong_rows));
  std::vector<std::vector<BandRows>> rows;
  const auto bands = BandWorkloads({conv, pool}, 4, &rows, {{}, rows_of_pool});
  REQUIRE(bands.size() == 4);
  // Band 1: pool output rows 2..3 read input rows 2*2-1 = 3 .. 3*2-1+2 = 7
  // (5 rows); the conv computes those 5 rows from (5-1)*2+7 = 15 input rows.
  CHECK(rows[1][1].out_row0 == 2);
  CHECK(rows[1][1].out_rows == 2);
  CHECK(rows[1][1].in_row0 == 3);
  CHECK(rows[1][1].in_rows == 5);
  CHECK(rows[1][0].out_row0 == 3);
  CHECK(rows[1][0].out_rows == 5);
  CHECK(bands[1][0].gemm.out_h == 5);
  CHECK(bands[1][0].gemm.in_h == 15);
  // Band 0: the top padding row is not computed: input rows 0..3.
  CHECK(rows[0][1].in_row0 == 0);
  CHECK(rows[0][1].in_rows == 4);
  // The last band stops at the edge: rows 11..15.
  CHECK(rows[3][1].in_row0 + rows[3][1].in_rows == 16);
  const hw::VectorWorkload& v = bands[1][1].vector;
  CHECK(v.out_elements == 8 * 2 * 8);
  CHECK(v.inputs[0].tensor == kBandTensor);
  CHECK(v.inputs[0].bytes == g.output_bytes / 16 * 5);
  CHECK(v.outputs[0].tensor == 2);
  CHECK(v.outputs[0].bytes == 8 * 2 * 8 * 4);
  CHECK(bands[1][0].gemm.output_tensor == kBandTensor);
  CHECK(bands[1][0].gemm.output_bytes == v.inputs[0].bytes);
  // Halo: the conv rows of all bands exceed its 16 rows (recompute).
  int64_t conv_rows = 0;
  for (const auto& r : rows) conv_rows += r[0].out_rows;
  CHECK(conv_rows > 16);
}

TEST_CASE("A conv -> pool stem runs as one layer group, outputs unchanged",
          "[codegen][layer_group]") {
  const std::string model = StemModel();
  std::vector<std::vector<float>> outputs[2];
  int64_t written[2] = {0, 0};
  for (int on = 0; on < 2; ++on) {
    BuilderConfig config;
    config.hardware = Hw("edge,scratchpad=32768");
    config.layer_groups = on == 1;
    auto built = Builder().BuildFromOnnxBytes(model, "stem", config);
    INFO(built.status().message());
    REQUIRE(built.ok());
    CHECK(built->engine_layers == 2);  // conv, MaxPool
    auto engine = Runtime::DeserializeEngine(built->plan);  // runs the on-chip checks
    INFO(engine.status().message());
    REQUIRE(engine.ok());
    const DeviceProfile& p = (*engine)->device_profile();
    written[on] = p.dram_bytes_written;
    if (on == 1) {
      INFO(built->layer_group_report);
      const auto [separate, grouped] = GroupCycles(built->layer_group_report, 2);
      REQUIRE(separate > 0);
      CHECK(grouped < separate);
      REQUIRE(p.layers.size() == 2);
      for (const auto& l : p.layers) CHECK(l.group_owner == 1);
      CHECK(p.layers[0].output_location == "scratchpad");  // the band, never DRAM
      CHECK(p.layers[1].input_location == "scratchpad");
      CHECK(p.scratchpad_peak_bytes <= 32768);
    }
    outputs[on] = testing::RunOnRandomInput(**engine, 17);
  }
  CHECK(outputs[0] == outputs[1]);  // the host computes the same graph
  // The conv's 64 KiB output no longer goes to DRAM (only the pool's 16 KiB).
  CHECK(written[1] == 16 * 16 * 16 * 4);
  CHECK(written[0] == written[1] + 16 * 32 * 32 * 4);
  // A scratchpad too small for even one pool row's band (3 conv rows, 6 KiB)
  // next to the tiles: no fit, no group, the build still succeeds.
  BuilderConfig small;
  small.hardware = Hw("edge,scratchpad=4096");
  auto built = Builder().BuildFromOnnxBytes(model, "stem", small);
  INFO(built.status().message());
  REQUIRE(built.ok());
  INFO(built->layer_group_report);
  CHECK(built->layer_group_report.find("0 accepted of 1 candidates (1 no fit") !=
        std::string::npos);
  REQUIRE(Runtime::DeserializeEngine(built->plan).ok());
}

TEST_CASE("A wrong conv -> pool schedule is refused by the simulator", "[codegen][layer_group]") {
  const HardwareConfig hw = Hw("edge,scratchpad=32768");
  Built b = Generate(StemModel(), hw, true, true);
  REQUIRE(b.code.groups.groups.size() == 1);
  const LayerGroup& g = b.code.groups.groups.front();
  CHECK(g.first == 0);
  CHECK(g.count == 2);
  CHECK(g.bands >= 2);
  CHECK(g.band_buffer_bytes <= 32768 / 8 * 7);
  CHECK(g.dram_bytes < g.separate_dram_bytes);
  CheckPairs(hw, b.code.program, b.sim.schedule);
  // The conv's band stores and the pool's band loads: resident, no tensor.
  std::vector<size_t> band_loads, band_stores;
  for (size_t i = 0; i < b.code.program.size(); ++i) {
    const hw::Instruction& in = b.code.program[i];
    if ((in.flags & hw::kFlagResident) && in.tensor == -1) {
      if (in.opcode == hw::Opcode::kStore && in.layer == 0) band_stores.push_back(i);
      if (in.opcode == hw::Opcode::kLoadInput && in.layer == 1) band_loads.push_back(i);
    }
  }
  REQUIRE(band_loads.size() >= static_cast<size_t>(g.bands));
  REQUIRE(band_stores.size() >= static_cast<size_t>(g.bands));
  SECTION("a band buffer beyond the scratchpad") {
    CheckBandBeyondCapacityRefused(hw, b.code.program, band_stores.back(),
                                   static_cast<int>(b.code.mappings.size()));
  }
  SECTION("the pool reads its band before the conv has stored it") {
    CheckEarlyBandReadRefused(hw, b.code.program, band_loads,
                              static_cast<int>(b.code.mappings.size()));
  }
}

}  // namespace
}  // namespace engine::codegen
