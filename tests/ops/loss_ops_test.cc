// Tests of the loss op records (src/ops/loss.cc): vector-unit mapping and
// cost per output element, opset range, and SoftmaxCrossEntropyLoss's
// importer (num_outputs for the optional log_prob output).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "ops/op_def.h"
#include "ops/op_registry.h"

using namespace engine;

namespace {

kernels::TensorInfo Info(DataType t, Dims shape) {
  kernels::TensorInfo i;
  i.dtype = t;
  i.shape = std::move(shape);
  return i;
}

double Cost(const std::string& type, const std::string& reduction, size_t outputs = 1) {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find(type);
  REQUIRE(def != nullptr);
  REQUIRE(def->device.ops_per_element);
  Attributes attrs;
  attrs.Set("reduction", reduction);
  // scores [2, 5, 10], targets [2, 10]: 20 positions of 5 classes.
  std::vector<kernels::TensorInfo> in = {Info(DataType::kFloat32, {2, 5, 10}),
                                         Info(DataType::kInt64, {2, 10})};
  std::vector<kernels::TensorInfo> out = {
      Info(DataType::kFloat32, reduction == "none" ? Dims{2, 10} : Dims{})};
  if (outputs == 2) out.push_back(Info(DataType::kFloat32, {2, 5, 10}));
  ops::LayerView view{"l", def->type, attrs, in, out, {}, {}};
  return def->device.ops_per_element(view);
}

class RecordingSink : public ops::ImportSink {
 public:
  struct Layer {
    std::string type;
    Attributes attrs;
    std::vector<std::string> inputs, outputs;
  };
  std::vector<Layer> layers;
  const Tensor* ConstantValue(const std::string&) override { return nullptr; }
  int RankOf(const std::string&) override { return 2; }
  absl::Status AddLayer(const std::string&, const std::string& type, Attributes attrs,
                        const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) override {
    layers.push_back({type, std::move(attrs), inputs, outputs});
    return absl::OkStatus();
  }
  void AddConstant(const std::string&, Tensor) override {}
};

}  // namespace

TEST_CASE("Loss ops run on the vector unit, costed like reductions", "[ops][loss]") {
  const auto& r = ops::OpRegistry::Builtin();
  for (const char* type : {"NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"}) {
    INFO(type);
    const ops::OpDef* def = r.Find(type);
    REQUIRE(def != nullptr);
    CHECK(def->has_kernel());
    CHECK(def->device.unit == hw::LayerKind::kVector);
    CHECK(def->int8.role == ops::Int8Role::kFloat);
    CHECK(r.FindImport("", type, 12, nullptr) != nullptr);
    CHECK(r.FindImport("", type, 22, nullptr) != nullptr);
    CHECK(def->min_opset == 12);
  }
  // NLL: 3 ops per position unreduced; a reduction folds the 20 positions
  // into one output at 5 ops each, the mean adds a divide (4).
  CHECK(Cost("NegativeLogLikelihoodLoss", "none") == 3);
  CHECK(Cost("NegativeLogLikelihoodLoss", "sum") == 20 * 5);
  CHECK(Cost("NegativeLogLikelihoodLoss", "mean") == 20 * 5 + 4);
  // SCE: the log-softmax of 5 classes (11 each) and a log (8) on top of NLL;
  // writing log_prob adds one op per class.
  CHECK(Cost("SoftmaxCrossEntropyLoss", "none") == 5 * 11 + 8 + 3);
  CHECK(Cost("SoftmaxCrossEntropyLoss", "none", 2) == 5 * 12 + 8 + 3);
  CHECK(Cost("SoftmaxCrossEntropyLoss", "mean") == 20 * (5 * 11 + 8 + 5) + 4);
}

TEST_CASE("SoftmaxCrossEntropyLoss importer counts the outputs the model names", "[ops][loss]") {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find("SoftmaxCrossEntropyLoss");
  REQUIRE(def->import);
  ops::ImportNode node;
  node.name = "sce";
  node.op_type = "SoftmaxCrossEntropyLoss";
  node.opset = node.source_opset = 13;
  node.inputs = {"x", "y", "w"};
  SECTION("loss only") {
    node.outputs = {"z"};
    RecordingSink sink;
    REQUIRE(def->import(node, sink).ok());
    REQUIRE(sink.layers.size() == 1);
    CHECK(sink.layers[0].type == "SoftmaxCrossEntropyLoss");
    CHECK(sink.layers[0].outputs == std::vector<std::string>{"z"});
    CHECK(sink.layers[0].attrs.Int("num_outputs", 0) == 1);
    CHECK(sink.layers[0].inputs == node.inputs);
  }
  SECTION("an omitted trailing log_prob") {
    node.outputs = {"z", ""};
    RecordingSink sink;
    REQUIRE(def->import(node, sink).ok());
    CHECK(sink.layers[0].outputs == std::vector<std::string>{"z"});
    CHECK(sink.layers[0].attrs.Int("num_outputs", 0) == 1);
  }
  SECTION("loss and log_prob") {
    node.outputs = {"z", "log_prob"};
    RecordingSink sink;
    REQUIRE(def->import(node, sink).ok());
    CHECK(sink.layers[0].outputs == std::vector<std::string>{"z", "log_prob"});
    CHECK(sink.layers[0].attrs.Int("num_outputs", 0) == 2);
  }
  SECTION("errors") {
    RecordingSink sink;
    node.outputs = {"", "log_prob"};
    CHECK(def->import(node, sink).code() == absl::StatusCode::kInvalidArgument);
    node.outputs = {"z", "log_prob", "extra"};
    CHECK(def->import(node, sink).code() == absl::StatusCode::kInvalidArgument);
    CHECK(sink.layers.empty());
  }
}
