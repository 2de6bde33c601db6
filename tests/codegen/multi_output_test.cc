// Layers with several outputs (Split's parts, TopK's values and indices):
// the vector workload carries every output, lowering emits a STORE of each
// output's share of every tile, and the modeled DRAM bytes written equal the
// sum of the outputs' bytes, through the mapper and simulator as well as
// through the public API's device profile.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "codegen/mapper.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "hw/simulator.h"
#include "hw/tiling.h"
#include "kernels/kernel.h"
#include "ops/op_def.h"
#include "ops/op_registry.h"
#include "test_models.h"
#include "test_util.h"

namespace engine::codegen {
namespace {

using testing::ModelBuilder;

HardwareConfig Preset(const char* spec) {
  auto hw = ParseHardwareSpec(spec);
  REQUIRE(hw.ok());
  return *hw;
}

kernels::TensorInfo Info(DataType dtype, Dims shape, const Tensor* constant = nullptr) {
  kernels::TensorInfo t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.constant = constant;
  return t;
}

Tensor Int64s(const std::vector<int64_t>& v) {
  Tensor t(DataType::kInt64, Dims{static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data_as<int64_t>()[i] = v[i];
  return t;
}

// What a layer's lowered program writes, by plan tensor index: the STOREs
// and their bytes, and the simulated DRAM bytes written.
struct Written {
  std::map<int32_t, int64_t> store_bytes;  ///< summed STORE bytes per tensor
  std::map<int32_t, int> stores;           ///< STOREs per tensor
  bool offsets_inside = true;              ///< every STORE inside its tensor
  int64_t dram_bytes_written = 0;          ///< simulated, bytes
  int64_t estimated_dram_bytes_written = 0;  ///< the cost model's, bytes
  int64_t min_dram_bytes = 0;              ///< the mapping's compulsory traffic, bytes
};

Written LowerAndSimulate(const HardwareConfig& hw, const ops::LayerView& view,
                         const std::map<int32_t, int64_t>& tensor_bytes) {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find(view.type);
  REQUIRE(def != nullptr);
  auto w = ops::DescribeDeviceWork(*def, view, nullptr);
  REQUIRE(w.ok());
  auto m = ChooseMapping(hw, *w, Objective::kLatency);
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  hw::Program program;
  LowerLayer(hw, *w, *m, 0, program);
  Written out;
  for (const hw::Instruction& in : program) {
    if (in.opcode != hw::Opcode::kStore) continue;
    out.store_bytes[in.tensor] += static_cast<int64_t>(in.bytes);
    ++out.stores[in.tensor];
    const auto it = tensor_bytes.find(in.tensor);
    if (it == tensor_bytes.end() ||
        static_cast<int64_t>(in.dram_offset + in.bytes) > it->second) {
      out.offsets_inside = false;
    }
  }
  auto sim = hw::Simulate(hw, program, 1);
  REQUIRE(sim.ok());
  out.dram_bytes_written = sim->layers[0].totals.dram_write;
  out.estimated_dram_bytes_written =
      hw::EstimateVector(hw, w->vector, m->vector).totals.dram_write;
  out.min_dram_bytes = m->min_dram_bytes;
  return out;
}

TEST_CASE("A Split into 3 parts stores every part: DRAM bytes written = the parts' bytes",
          "[codegen][multi-output]") {
  const Tensor split = Int64s({4, 4, 4});
  Attributes attrs;
  attrs.Set("axis", int64_t{1});
  // 64x64 planes: 192 KiB in, 64 KiB per part: one tile on edge and
  // gemmini, several double-buffered ones in a 64 KiB scratchpad.
  const std::vector<kernels::TensorInfo> inputs = {Info(DataType::kFloat32, {1, 12, 64, 64}),
                                                   Info(DataType::kInt64, {3}, &split)};
  const std::vector<kernels::TensorInfo> outputs(3, Info(DataType::kFloat32, {1, 4, 64, 64}));
  const std::vector<int32_t> input_tensors = {0, 1}, output_tensors = {2, 3, 4};
  const ops::LayerView view{"split3", "Split", attrs, inputs, outputs, input_tensors,
                            output_tensors};
  const int64_t part = 4 * 64 * 64 * 4;
  const std::map<int32_t, int64_t> bytes = {{0, 3 * part}, {1, 24}, {2, part}, {3, part}, {4, part}};
  for (const char* preset : {"edge", "gemmini", "edge,scratchpad=64KiB"}) {
    INFO(preset);
    const Written w = LowerAndSimulate(Preset(preset), view, bytes);
    CHECK(w.dram_bytes_written == 3 * part);
    CHECK(w.estimated_dram_bytes_written == 3 * part);
    CHECK(w.min_dram_bytes == 3 * part + 3 * part);  // the input once, every part once
    REQUIRE(w.store_bytes.size() == 3);
    for (int32_t t : {2, 3, 4}) {
      INFO("tensor " << t);
      CHECK(w.store_bytes.at(t) == part);
      CHECK(w.stores.at(t) >= 1);
    }
    // One STORE per part and tile: the parts are tiled together.
    CHECK(w.stores.at(2) == w.stores.at(3));
    CHECK(w.stores.at(3) == w.stores.at(4));
    CHECK(w.offsets_inside);
  }
  // A small scratchpad tiles the layer: each tile stores its share of every
  // part.
  CHECK(LowerAndSimulate(Preset("edge,scratchpad=64KiB"), view, bytes).stores.at(2) > 1);
}

TEST_CASE("A TopK stores values and indices: DRAM bytes written = both outputs' bytes",
          "[codegen][multi-output]") {
  const Tensor k = Int64s({5});
  Attributes attrs;
  attrs.Set("axis", int64_t{1});
  const std::vector<kernels::TensorInfo> inputs = {Info(DataType::kFloat32, {512, 256}),
                                                   Info(DataType::kInt64, {1}, &k)};
  const std::vector<kernels::TensorInfo> outputs = {Info(DataType::kFloat32, {512, 5}),
                                                    Info(DataType::kInt64, {512, 5})};
  const std::vector<int32_t> input_tensors = {0, 1}, output_tensors = {2, 3};
  const ops::LayerView view{"topk", "TopK", attrs, inputs, outputs, input_tensors,
                            output_tensors};
  const int64_t values = 512 * 5 * 4, indices = 512 * 5 * 8;
  const std::map<int32_t, int64_t> bytes = {
      {0, 512 * 256 * 4}, {1, 8}, {2, values}, {3, indices}};
  for (const char* preset : {"edge", "gemmini", "edge,scratchpad=64KiB"}) {
    INFO(preset);
    const Written w = LowerAndSimulate(Preset(preset), view, bytes);
    CHECK(w.dram_bytes_written == values + indices);
    CHECK(w.estimated_dram_bytes_written == values + indices);
    REQUIRE(w.store_bytes.size() == 2);
    CHECK(w.store_bytes.at(2) == values);
    CHECK(w.store_bytes.at(3) == indices);
    CHECK(w.stores.at(2) == w.stores.at(3));
    CHECK(w.offsets_inside);
  }
  CHECK(LowerAndSimulate(Preset("edge,scratchpad=64KiB"), view, bytes).stores.at(2) > 1);
}

// Through the public API: the device profile's per-layer DRAM bytes written.
// Residency off: these tests count each layer's STOREs as DRAM bytes, which
// on-chip residency would turn into on-chip moves for the intermediates.
std::shared_ptr<const Engine> BuildAndLoad(const std::string& model) {
  BuilderConfig config;
  config.onchip_residency = false;
  auto built = Builder().BuildFromOnnxBytes(model, "model", config);
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  INFO(engine.status().ToString());
  REQUIRE(engine.ok());
  return *engine;
}

const LayerDeviceProfile& LayerNamed(const DeviceProfile& p, const std::string& name) {
  for (const LayerDeviceProfile& l : p.layers) {
    if (l.name == name) return l;
  }
  FAIL("no layer " << name);
  return p.layers.front();
}

TEST_CASE("The device profile of a Split or TopK layer counts every output's bytes",
          "[codegen][multi-output]") {
  SECTION("Split into 3 parts, each read by a Relu") {
    ModelBuilder b;
    b.Input("x", {1, 12, 16, 16});
    b.Initializer("split", Int64s({4, 4, 4}));
    auto& split = b.Node("Split", {"x", "split"}, {"s0", "s1", "s2"}, "split3");
    ModelBuilder::SetInt(split, "axis", 1);
    for (int i = 0; i < 3; ++i) {
      const std::string n = std::to_string(i);
      b.Node("Relu", {"s" + n}, {"y" + n}, "relu" + n);
      b.Output("y" + n, {1, 4, 16, 16});
    }
    const auto engine = BuildAndLoad(b.Serialize());
    const LayerDeviceProfile& l = LayerNamed(engine->device_profile(), "split3");
    CHECK(l.dram_bytes_read == 12 * 16 * 16 * 4);
    CHECK(l.dram_bytes_written == 3 * (4 * 16 * 16 * 4));
  }
  SECTION("TopK: float values and int64 indices") {
    ModelBuilder b;
    b.Input("x", {8, 256});
    b.Initializer("k", Int64s({5}));
    auto& topk = b.Node("TopK", {"x", "k"}, {"values", "indices"}, "topk");
    ModelBuilder::SetInt(topk, "axis", 1);
    b.Output("values", {8, 5});
    b.Output("indices", {8, 5});
    b.model().mutable_graph()->mutable_output(1)->mutable_type()->mutable_tensor_type()
        ->set_elem_type(onnx::TensorProto::INT64);
    const auto engine = BuildAndLoad(b.Serialize());
    const LayerDeviceProfile& l = LayerNamed(engine->device_profile(), "topk");
    CHECK(l.dram_bytes_written == 8 * 5 * 4 + 8 * 5 * 8);
  }
}

}  // namespace
}  // namespace engine::codegen
