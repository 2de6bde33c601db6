// Records of the sampling, reordering and signal ops (GridSample, RoiAlign,
// MaxUnpool, ReverseSequence, Det, windows, DFT, STFT, MelWeightMatrix):
// accelerator units and costs, and the DFT / RoiAlign importers.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "ops/op_def.h"
#include "ops/op_registry.h"

namespace engine::ops {
namespace {

kernels::TensorInfo Info(DataType t, Dims shape, const Tensor* constant = nullptr) {
  kernels::TensorInfo i;
  i.dtype = t;
  i.shape = std::move(shape);
  i.constant = constant;
  return i;
}

double Ops(const std::string& type, std::vector<kernels::TensorInfo> inputs,
           std::vector<kernels::TensorInfo> outputs, const Attributes& attrs = Attributes()) {
  const OpDef* def = OpRegistry::Builtin().Find(type);
  REQUIRE(def != nullptr);
  REQUIRE(def->device.ops_per_element);
  LayerView view{"layer", def->type, attrs, inputs, outputs, {}, {}};
  return def->device.ops_per_element(view);
}

class RecordingSink : public ImportSink {
 public:
  struct Layer {
    std::string type;
    Attributes attrs;
    std::vector<std::string> inputs;
  };
  std::vector<Layer> layers;
  std::map<std::string, Tensor> constants;
  const Tensor* ConstantValue(const std::string& name) override {
    auto it = constants.find(name);
    return it == constants.end() ? nullptr : &it->second;
  }
  int RankOf(const std::string&) override { return 4; }
  absl::Status AddLayer(const std::string&, const std::string& type, Attributes attrs,
                        const std::vector<std::string>& inputs,
                        const std::vector<std::string>&) override {
    layers.push_back({type, std::move(attrs), inputs});
    return absl::OkStatus();
  }
  void AddConstant(const std::string&, Tensor) override {}
};

TEST_CASE("Sampling, reordering and signal ops map to their units", "[ops][signal]") {
  const OpRegistry& r = OpRegistry::Builtin();
  const std::map<std::string, hw::LayerKind> units = {
      {"GridSample", hw::LayerKind::kVector},   {"RoiAlign", hw::LayerKind::kVector},
      {"MaxUnpool", hw::LayerKind::kVector},    {"ReverseSequence", hw::LayerKind::kDma},
      {"Det", hw::LayerKind::kVector},          {"DFT", hw::LayerKind::kVector},
      {"STFT", hw::LayerKind::kVector},         {"HannWindow", hw::LayerKind::kView},
      {"HammingWindow", hw::LayerKind::kView},  {"BlackmanWindow", hw::LayerKind::kView},
      {"MelWeightMatrix", hw::LayerKind::kView}};
  for (const auto& [type, unit] : units) {
    CAPTURE(type);
    const OpDef* def = r.Find(type);
    REQUIRE(def != nullptr);
    CHECK(def->has_kernel());
    CHECK(def->device.unit == unit);
    CHECK(def->int8.role == Int8Role::kFloat);
  }
}

TEST_CASE("Sampling and signal costs follow the work", "[ops][signal]") {
  // GridSample: taps plus coordinate work shared by C = 4 channels.
  const auto x = Info(DataType::kFloat32, {1, 4, 8, 8});
  const auto grid = Info(DataType::kFloat32, {1, 5, 5, 2});
  const auto y = Info(DataType::kFloat32, {1, 4, 5, 5});
  Attributes a;
  CHECK(Ops("GridSample", {x, grid}, {y}, a) == Approx(4 + 2));
  a.Set("mode", std::string("bicubic"));
  CHECK(Ops("GridSample", {x, grid}, {y}, a) == Approx(16 + 6));
  a.Set("mode", std::string("nearest"));
  CHECK(Ops("GridSample", {x, grid}, {y}, a) == Approx(1 + 2));
  // RoiAlign: sampling_ratio 2 -> 4 samples, 4 + 10 / C ops each.
  Attributes ra;
  ra.Set("sampling_ratio", int64_t{2});
  const auto rois = Info(DataType::kFloat32, {3, 4});
  const auto batch = Info(DataType::kInt64, {3});
  CHECK(Ops("RoiAlign", {x, rois, batch}, {Info(DataType::kFloat32, {3, 4, 1, 1})}, ra) ==
        Approx(4 * (4 + 2.5)));
  // Adaptive: the grid of a roi covering the 8 x 8 image with 2 x 2 bins: 4 x 4.
  ra.Set("sampling_ratio", int64_t{0});
  ra.Set("output_height", int64_t{2});
  ra.Set("output_width", int64_t{2});
  CHECK(Ops("RoiAlign", {x, rois, batch}, {Info(DataType::kFloat32, {3, 4, 2, 2})}, ra) ==
        Approx(16 * (4 + 2.5)));
  // DFT: samples x components per output component; dft_length truncates.
  Attributes da;
  da.Set("axis", int64_t{1});
  const auto sig = Info(DataType::kFloat32, {1, 10, 3, 2});
  CHECK(Ops("DFT", {sig}, {Info(DataType::kFloat32, {1, 10, 3, 2})}, da) == Approx(20));
  Tensor len(DataType::kInt64, Dims{});
  *static_cast<int64_t*>(len.data()) = 4;
  CHECK(Ops("DFT", {sig, Info(DataType::kInt64, {}, &len)},
            {Info(DataType::kFloat32, {1, 4, 3, 2})}, da) == Approx(8));
  // Det: 2/3 M^3 + M.
  CHECK(Ops("Det", {Info(DataType::kFloat32, {2, 3, 3})}, {Info(DataType::kFloat32, {2})}) ==
        Approx(21));
  // STFT with a window of 16 and 9 onesided bins: 16 + 16 / 9.
  CHECK(Ops("STFT",
            {Info(DataType::kFloat32, {1, 128, 1}), Info(DataType::kInt64, {}),
             Info(DataType::kFloat32, {16})},
            {Info(DataType::kFloat32, {1, 15, 9, 2})}) == Approx(16 + 16.0 / 9));
}

TEST_CASE("DFT importer writes the axis the opset defines", "[ops][signal]") {
  const OpDef* def = OpRegistry::Builtin().Find("DFT");
  REQUIRE(def != nullptr);
  ImportNode n;
  n.name = "dft";
  n.op_type = "DFT";
  n.inputs = {"x"};
  n.outputs = {"y"};
  n.opset = 17;
  RecordingSink sink;
  REQUIRE(def->import(n, sink).ok());
  CHECK(sink.layers[0].attrs.Int("axis", 0) == 1);
  CHECK(sink.layers[0].inputs == std::vector<std::string>{"x"});
  n.opset = 20;
  REQUIRE(def->import(n, sink).ok());
  CHECK(sink.layers[1].attrs.Int("axis", 0) == -2);
  Tensor axis(DataType::kInt64, Dims{});
  *static_cast<int64_t*>(axis.data()) = 2;
  sink.constants.emplace("axis", std::move(axis));
  n.inputs = {"x", "", "axis"};
  REQUIRE(def->import(n, sink).ok());
  CHECK(sink.layers[2].attrs.Int("axis", 0) == 2);
  CHECK(sink.layers[2].inputs == std::vector<std::string>{"x"});
  n.inputs = {"x", "len", "dynamic_axis"};
  const absl::Status dynamic = def->import(n, sink);
  CHECK(dynamic.code() == absl::StatusCode::kUnimplemented);
}

TEST_CASE("RoiAlign-10 is imported with output_half_pixel coordinates", "[ops][signal]") {
  const OpDef* def = OpRegistry::Builtin().Find("RoiAlign");
  REQUIRE(def != nullptr);
  ImportNode n;
  n.name = "roi";
  n.op_type = "RoiAlign";
  n.inputs = {"x", "rois", "b"};
  n.outputs = {"y"};
  n.opset = n.source_opset = 10;
  RecordingSink sink;
  REQUIRE(def->import(n, sink).ok());
  CHECK(sink.layers[0].attrs.GetString("coordinate_transformation_mode", "").value() ==
        "output_half_pixel");
  n.opset = n.source_opset = 16;
  REQUIRE(def->import(n, sink).ok());
  CHECK_FALSE(sink.layers[1].attrs.Has("coordinate_transformation_mode"));
}

}  // namespace
}  // namespace engine::ops
