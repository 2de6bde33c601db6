// Tests of the elementwise math / activation op records
// (src/ops/elementwise_math.cc): accelerator mapping (unit and cost per
// element), opset ranges, and the importer of Hardmax / LogSoftmax before
// opset 13 (coerce to 2-D).
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "ops/op_def.h"
#include "ops/op_registry.h"

using namespace engine;

namespace {

const char* const kFamily[] = {
    "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Floor", "Ceil", "Round", "Sign", "Erf",
    "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
    "IsNaN", "IsInf", "Not", "Elu", "Selu", "Celu", "Softplus", "Softsign", "ThresholdedRelu",
    "Mish", "Gelu", "Shrink", "Hardmax", "LogSoftmax", "Pow", "Mod", "Equal", "Greater",
    "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Xor", "BitShift", "Where", "Min",
    "Max", "Mean"};

// Ops per element of `type` for a layer with `inputs` and attributes.
double OpsPerElement(const std::string& type, std::vector<kernels::TensorInfo> inputs,
                     const Attributes& attrs = Attributes()) {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find(type);
  REQUIRE(def != nullptr);
  std::vector<kernels::TensorInfo> outputs = {inputs.empty() ? kernels::TensorInfo()
                                                             : inputs[0]};
  ops::LayerView view{"layer", def->type, attrs, inputs, outputs, {}, {}};
  REQUIRE(def->device.ops_per_element);
  return def->device.ops_per_element(view);
}

kernels::TensorInfo Info(DataType t, Dims shape, const Tensor* constant = nullptr) {
  kernels::TensorInfo i;
  i.dtype = t;
  i.shape = std::move(shape);
  i.constant = constant;
  return i;
}

// Records the layers an importer adds.
class RecordingSink : public ops::ImportSink {
 public:
  struct Layer {
    std::string name, type;
    Attributes attrs;
    std::vector<std::string> inputs, outputs;
  };
  std::vector<Layer> layers;
  const Tensor* ConstantValue(const std::string&) override { return nullptr; }
  int RankOf(const std::string&) override { return 3; }
  absl::Status AddLayer(const std::string& name, const std::string& type, Attributes attrs,
                        const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) override {
    layers.push_back({name, type, std::move(attrs), inputs, outputs});
    return absl::OkStatus();
  }
  void AddConstant(const std::string&, Tensor) override {}
};

}  // namespace

TEST_CASE("Elementwise math ops are registered on the vector unit with a cost", "[ops]") {
  const auto& r = ops::OpRegistry::Builtin();
  for (const char* type : kFamily) {
    INFO(type);
    const ops::OpDef* def = r.Find(type);
    REQUIRE(def != nullptr);
    CHECK(def->has_kernel());
    CHECK(def->importable);
    REQUIRE(def->device.unit == hw::LayerKind::kVector);
    const kernels::TensorInfo x = Info(DataType::kFloat32, {2, 8});
    std::vector<kernels::TensorInfo> inputs = {x};
    if (std::string(type) == "Where") inputs = {Info(DataType::kBool, {2, 8}), x, x};
    CHECK(OpsPerElement(type, inputs) >= 1);
  }
  CHECK(r.FindImport("", "Gelu", 20, nullptr) != nullptr);
  CHECK(r.Find("Gelu")->min_opset == 20);
  CHECK(r.Find("Mish")->min_opset == 18);
}

TEST_CASE("Costs depend on the attributes and constant inputs that change the work", "[ops]") {
  const kernels::TensorInfo x = Info(DataType::kFloat32, {4});
  // Transcendentals cost more than a compare.
  CHECK(OpsPerElement("Exp", {x}) > OpsPerElement("Greater", {x, x}));
  CHECK(OpsPerElement("Tan", {x}) > OpsPerElement("Sin", {x}));
  // Pow by a constant 2 is one multiply; a general exponent is log, multiply, exp.
  Tensor two(DataType::kFloat32, {});
  two.data_as<float>()[0] = 2.0f;
  CHECK(OpsPerElement("Pow", {x, Info(DataType::kFloat32, {}, &two)}) == 1);
  CHECK(OpsPerElement("Pow", {x, x}) > OpsPerElement("Exp", {x}));
  // Gelu: the tanh form is cheaper than erf.
  Attributes tanh;
  tanh.Set("approximate", std::string("tanh"));
  CHECK(OpsPerElement("Gelu", {x}, tanh) < OpsPerElement("Gelu", {x}));
  // Variadic: one op per extra input.
  CHECK(OpsPerElement("Max", {x, x, x, x}) == 3);
  CHECK(OpsPerElement("Mean", {x, x, x}) == 3);
  // Mod: the Python-sign fix-up of fmod = 0 costs extra.
  Attributes fmod;
  fmod.Set("fmod", int64_t{1});
  CHECK(OpsPerElement("Mod", {x, x}, fmod) < OpsPerElement("Mod", {x, x}));
}

TEST_CASE("Hardmax / LogSoftmax tile whole slices along the axis", "[ops]") {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find("LogSoftmax");
  REQUIRE(def->device.tile_unit);
  std::vector<kernels::TensorInfo> io = {Info(DataType::kFloat32, {2, 5, 7})};
  Attributes attrs;
  ops::LayerView last{"l", def->type, attrs, io, io, {}, {}};
  CHECK(def->device.tile_unit(last) == 7);
  Attributes axis1;
  axis1.Set("axis", int64_t{1});
  ops::LayerView mid{"l", def->type, axis1, io, io, {}, {}};
  CHECK(def->device.tile_unit(mid) == 5);
}

TEST_CASE("Hardmax / LogSoftmax before opset 13 are imported as 2-D at the axis", "[ops]") {
  for (const char* type : {"Hardmax", "LogSoftmax"}) {
    INFO(type);
    const ops::OpDef* def = ops::OpRegistry::Builtin().Find(type);
    REQUIRE(def->import);
    ops::ImportNode node;
    node.name = "n";
    node.op_type = type;
    node.inputs = {"x"};
    node.outputs = {"y"};
    SECTION("opset 11: Flatten(axis) -> op(axis 1) -> Reshape(Shape(x))") {
      node.opset = node.source_opset = 11;
      node.attrs.Set("axis", int64_t{2});
      RecordingSink sink;
      REQUIRE(def->import(node, sink).ok());
      REQUIRE(sink.layers.size() == 4);
      CHECK(sink.layers[0].type == "Flatten");
      CHECK(sink.layers[0].attrs.Int("axis", -99) == 2);
      CHECK(sink.layers[0].inputs == std::vector<std::string>{"x"});
      CHECK(sink.layers[1].type == type);
      CHECK(sink.layers[1].name == "n");
      CHECK(sink.layers[1].attrs.Int("axis", -99) == 1);
      CHECK(sink.layers[1].inputs == sink.layers[0].outputs);
      CHECK(sink.layers[2].type == "Shape");
      CHECK(sink.layers[2].inputs == std::vector<std::string>{"x"});
      CHECK(sink.layers[3].type == "Reshape");
      CHECK(sink.layers[3].inputs ==
            std::vector<std::string>{sink.layers[1].outputs[0], sink.layers[2].outputs[0]});
      CHECK(sink.layers[3].outputs == std::vector<std::string>{"y"});
    }
    SECTION("opset 11, default axis 1") {
      node.opset = node.source_opset = 11;
      RecordingSink sink;
      REQUIRE(def->import(node, sink).ok());
      REQUIRE(sink.layers.size() == 4);
      CHECK(sink.layers[0].attrs.Int("axis", -99) == 1);
    }
    SECTION("opset 13: one layer, attributes as written") {
      node.opset = node.source_opset = 13;
      node.attrs.Set("axis", int64_t{0});
      RecordingSink sink;
      REQUIRE(def->import(node, sink).ok());
      REQUIRE(sink.layers.size() == 1);
      CHECK(sink.layers[0].type == type);
      CHECK(sink.layers[0].attrs.Int("axis", -99) == 0);
    }
  }
}
