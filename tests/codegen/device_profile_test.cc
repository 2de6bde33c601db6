// End to end through the public API: build for a hardware description, load
// the plan, read the modeled device profile.
#include <catch2/catch.hpp>

#include <random>

#include "engine/builder.h"
#include "engine/runtime.h"
#include "hw/systolic.h"
#include "test_models.h"
#include "test_util.h"

namespace engine {
namespace {

using testing::ModelBuilder;

HardwareConfig Hw(const char* spec) {
  auto hw = ParseHardwareSpec(spec);
  REQUIRE(hw.ok());
  return *hw;
}

std::shared_ptr<const Engine> BuildAndLoad(const std::string& model, const HardwareConfig& hw,
                                           Objective objective = Objective::kLatency) {
  BuilderConfig config;
  config.hardware = hw;
  config.objective = objective;
  auto built = Builder().BuildFromOnnxBytes(model, "model", config);
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  REQUIRE(engine.ok());
  return *engine;
}

// AlexNet conv1 at its classic 227x227 input (ONNX's floor rule then gives
// the 55x55 output SCALE-Sim computes from 224 with its ceil rule).
std::string AlexNetConv1() {
  std::mt19937 rng(7);
  ModelBuilder b;
  b.Input("x", {1, 3, 227, 227});
  b.Initializer("w", testing::RandomTensor({96, 3, 11, 11}, rng));
  auto& conv = b.Node("Conv", {"x", "w"}, {"y"}, "conv1");
  ModelBuilder::SetInts(conv, "strides", {4, 4});
  ModelBuilder::SetInts(conv, "kernel_shape", {11, 11});
  b.Output("y", {1, 96, 55, 55});
  return b.Serialize();
}

TEST_CASE("A single unpadded convolution's computeCycles equal SCALE-Sim's stall-free formula",
          "[codegen]") {
  const std::string model = AlexNetConv1();
  struct Case {
    const char* spec;
    Dataflow d;
  };
  for (const Case& c : {Case{"edge,array=32x32,dataflow=ws,memory=ideal", Dataflow::kWeightStationary},
                        Case{"edge,array=32x32,dataflow=os,memory=ideal", Dataflow::kOutputStationary},
                        Case{"edge,array=32x32,dataflow=is,memory=ideal", Dataflow::kInputStationary},
                        Case{"gemmini,dataflow=ws,memory=ideal", Dataflow::kWeightStationary}}) {
    CAPTURE(c.spec);
    const HardwareConfig hw = Hw(c.spec);
    auto engine = BuildAndLoad(model, hw);
    const DeviceProfile& p = engine->device_profile();
    REQUIRE(p.layers.size() == 1);
    const LayerDeviceProfile& l = p.layers[0];
    const int64_t scalesim =
        hw::ScaleSimStallFreeCycles(hw.array_rows, hw.array_cols, c.d, 363, 96, 3025);
    // SCALE-Sim reports the last cycle's index; the engine counts cycles.
    CHECK(l.compute_cycles == scalesim + 1);
    CHECK(l.cycles == l.compute_cycles);
    CHECK(l.stall_cycles == 0);
    CHECK(l.dataflow == DataflowName(c.d));
    CHECK(l.macs == int64_t{363} * 96 * 3025);
    if (c.d == Dataflow::kWeightStationary && hw.array_rows == 32) {
      CHECK(scalesim == 112283);
      CHECK(l.utilization == Approx(0.9168).margin(1e-4));
      CHECK(l.mapping_efficiency == Approx(0.9453).margin(1e-4));
    }
  }
}

// Scaled dot-product attention as exported (MatMul(Q, Kᵀ), Div, Softmax,
// MatMul(P, V)), which fuse-attention turns into one composite Attention
// layer: Q.K^T and P.V on the array, the softmax on the vector unit.
std::string AttentionChain() {
  ModelBuilder b;
  b.Input("q", {1, 4, 64, 32});
  b.Input("k", {1, 4, 64, 32});
  b.Input("v", {1, 4, 64, 32});
  b.Initializer("c", testing::MakeFloat({}, {2.0f}));
  auto& t = b.Node("Transpose", {"k"}, {"kt"}, "key_t");
  ModelBuilder::SetInts(t, "perm", {0, 1, 3, 2});
  b.Node("MatMul", {"q", "kt"}, {"s"}, "scores");
  b.Node("Div", {"s", "c"}, {"sc"}, "scale");
  auto& sm = b.Node("Softmax", {"sc"}, {"p"}, "softmax");
  ModelBuilder::SetInt(sm, "axis", -1);
  b.Node("MatMul", {"p", "v"}, {"y"}, "context");
  b.Output("y", {1, 4, 64, 32});
  return b.Serialize();
}

TEST_CASE("A composite layer's utilization is its array's busy share, not 0", "[codegen]") {
  auto engine = BuildAndLoad(AttentionChain(), Hw("edge"));
  const DeviceProfile& p = engine->device_profile();
  int composites = 0;
  for (const auto& l : p.layers) {
    if (l.unit != "composite") continue;
    ++composites;
    INFO(l.name << ": " << l.macs << " MACs in " << l.cycles << " cycles");
    REQUIRE(l.cycles > 0);
    REQUIRE(l.macs > 0);
    // MACs / (cycles x array size), as for an array layer.
    const double peak = static_cast<double>(Hw("edge").PeakMacsPerCycle());
    const double expected =
        static_cast<double>(l.macs) / (static_cast<double>(l.cycles) * peak);
    CHECK(l.utilization == Approx(expected).epsilon(1e-6));
    CHECK(l.utilization > 0);
    CHECK(l.utilization <= 1.0);
    CHECK(l.compute_cycles > 0);
    CHECK(l.compute_cycles <= l.cycles);
    CHECK(l.cycles == l.compute_cycles + l.stall_cycles);
  }
  CHECK(composites == 1);  // the fused Attention
}

TEST_CASE("Modeled totals are the sums of the layers", "[codegen]") {
  for (const char* spec : {"edge", "gemmini", "tpu-v1"}) {
    CAPTURE(spec);
    auto engine = BuildAndLoad(testing::SmallConvModel(), Hw(spec));
    const DeviceProfile& p = engine->device_profile();
    REQUIRE(p.layers.size() == engine->layers().size());
    int64_t cycles = 0;
    double energy = 0;
    int64_t next_start = 0;
    for (const LayerDeviceProfile& l : p.layers) {
      CAPTURE(l.name);
      CHECK(l.start_cycle == next_start);  // layers run back to back
      next_start = l.start_cycle + l.cycles;
      cycles += l.cycles;
      energy += l.energy_pj();
      CHECK(l.cycles == l.compute_cycles + l.stall_cycles);
      if (l.unit != "view") {
        CHECK(l.cycles > 0);
        // Residency keeps the conv's output on chip: it moves to DRAM only
        // what is not resident (the graph input in, the graph output out).
        CHECK(l.dram_bytes_read + l.residency_bytes_saved > 0);
        CHECK(l.dram_bytes_written + l.residency_bytes_saved > 0);
        CHECK(l.energy_dram_pj > 0);
        // Nothing beats the roofline.
        CHECK(l.roofline_ratio >= 1.0);
        CHECK(l.utilization <= 1.0);
      }
    }
    CHECK(p.total_cycles == cycles);
    CHECK(p.energy_pj() == Approx(energy));
    CHECK(p.latency_ms == Approx(cycles / (p.clock_mhz * 1000.0)));
    // Conv (+ Relu when fused), Reshape (a view), Gemm.
    const auto& conv = p.layers[0];
    CHECK(conv.unit == "array");
    CHECK(conv.macs == 4 * (2 * 3 * 3) * 16);  // M * K * P
    int views = 0, arrays = 0;
    for (const auto& l : p.layers) {
      views += l.unit == "view";
      arrays += l.unit == "array";
      if (l.type == "Relu") {
        CHECK(l.unit == "vector");
        CHECK(l.vector_ops == 4 * 16);
      }
      if (l.unit == "view") CHECK(l.cycles == 0);
    }
    CHECK(views == 1);
    CHECK(arrays == 2);
  }
}

TEST_CASE("The timeline covers every instruction inside the inference", "[codegen]") {
  auto engine = BuildAndLoad(testing::SmallConvModel(), Hw("gemmini"));
  const auto events = engine->DeviceTimeline();
  REQUIRE_FALSE(events.empty());
  CHECK(static_cast<uint64_t>(events.size()) < engine->plan_info().instructions);  // no SYNCs
  int64_t last = 0;
  for (const DeviceEvent& e : events) {
    CHECK(e.start_cycle >= 0);
    CHECK(e.end_cycle >= e.start_cycle);
    last = std::max(last, e.end_cycle);
  }
  CHECK(last == engine->device_profile().total_cycles);
}

TEST_CASE("A plan remembers its hardware, loading it for other hardware is an error", "[codegen]") {
  auto engine = BuildAndLoad(testing::SmallConvModel(), Hw("gemmini"));
  CHECK(engine->hardware().name == "gemmini");
  CHECK(engine->CheckHardware(Hw("gemmini")).ok());
  const absl::Status other = engine->CheckHardware(Hw("gemmini,array=32x32"));
  CHECK(other.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(other.message()).find("gemmini") != std::string::npos);
  CHECK(engine->CheckHardware(Hw("tpu-v1")).code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("Build errors from the hardware name the layer", "[codegen]") {
  BuilderConfig config;
  config.hardware = Hw("gemmini,scratchpad=128B");
  auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(), "small.onnx", config);
  REQUIRE_FALSE(built.ok());
  CHECK(built.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(std::string(built.status().message()).find("small.onnx") != std::string::npos);
  CHECK(std::string(built.status().message()).find("conv1") != std::string::npos);

  config.hardware = Hw("gemmini");
  config.hardware.precisions = {Precision::kInt8};
  built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(), "small.onnx", config);
  REQUIRE_FALSE(built.ok());
  CHECK(built.status().code() == absl::StatusCode::kUnimplemented);

  config.hardware = Hw("gemmini");
  config.hardware.array_rows = 0;
  built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(), "small.onnx", config);
  REQUIRE_FALSE(built.ok());
  CHECK(built.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Ideal memory is never slower, and more bandwidth never hurts", "[codegen]") {
  const std::string model = testing::SmallConvModel();
  const int64_t real = BuildAndLoad(model, Hw("gemmini"))->device_profile().total_cycles;
  const int64_t ideal = BuildAndLoad(model, Hw("gemmini,memory=ideal"))->device_profile().total_cycles;
  const int64_t fast =
      BuildAndLoad(model, Hw("gemmini,dram_bytes_per_cycle=64"))->device_profile().total_cycles;
  CHECK(ideal < real);
  CHECK(fast <= real);
}

TEST_CASE("Engine inputs and outputs count once at their size in the physical limit",
          "[codegen]") {
  // A 3x3 convolution whose input (96 channels) is read in channel-strided
  // tiles, several times (halo rows), on a small scratchpad: the compulsory
  // DRAM bytes are the unique weights plus the input and the output, each at
  // its size, however the tiles visit them. They used to be the largest
  // dram_offset + bytes of a tile (a strided tile's offset is its region's
  // first byte), which is neither.
  std::mt19937 rng(11);
  ModelBuilder b;
  b.Input("x", {1, 96, 28, 28});
  b.Initializer("w", testing::RandomTensor({32, 96, 3, 3}, rng));
  auto& conv = b.Node("Conv", {"x", "w"}, {"y"}, "conv");
  ModelBuilder::SetInts(conv, "kernel_shape", {3, 3});
  ModelBuilder::SetInts(conv, "pads", {1, 1, 1, 1});
  b.Output("y", {1, 32, 28, 28});
  for (const char* spec : {"edge,scratchpad=64KiB", "edge", "gemmini"}) {
    CAPTURE(spec);
    auto engine = BuildAndLoad(b.Serialize(), Hw(spec));
    const DeviceProfile& p = engine->device_profile();
    REQUIRE(p.layers.size() == 1);
    const LayerDeviceProfile& l = p.layers[0];
    const int64_t input = 96 * 28 * 28 * 4, output = 32 * 28 * 28 * 4;
    CHECK(l.weight_bytes_unique == 32 * 96 * 3 * 3 * 4);
    CHECK(l.compulsory_dram_bytes == l.weight_bytes_unique + input + output);
    CHECK(p.compulsory_dram_bytes == l.compulsory_dram_bytes);
    CHECK(p.dram_bytes_read >= l.weight_bytes_unique + input);
  }
}

}  // namespace
}  // namespace engine
