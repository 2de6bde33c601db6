// Import of the indexing / Einsum / recurrent family (ops-index): the Einsum
// importer's choice between the array form ("Einsum") and "VectorEinsum",
// the recurrent importers' output naming and STRINGS attributes, and the
// opset-10 Scatter imported as ScatterElements.
#include <catch2/catch.hpp>
#include <random>

#include "engine/tensor.h"
#include "parser/onnx_parser.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;
using engine::testing::ModelBuilder;

namespace {

parser::ParseOptions QuietOptions() {
  static StderrLogger logger(Severity::kError);
  parser::ParseOptions o;
  o.logger = &logger;
  return o;
}

std::string EinsumLayerType(const std::string& equation, std::vector<std::vector<int64_t>> shapes,
                            const std::vector<int64_t>& out_shape) {
  ModelBuilder b(13);
  std::vector<std::string> names;
  for (size_t i = 0; i < shapes.size(); ++i) {
    names.push_back("x" + std::to_string(i));
    b.Input(names.back(), shapes[i]);
  }
  auto& n = b.Node("Einsum", names, {"y"}, "einsum");
  auto* a = n.add_attribute();
  a->set_name("equation");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(equation);
  b.Output("y", out_shape);
  auto g = parser::ParseOnnxBytes(b.Serialize(), "einsum.onnx", QuietOptions());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  REQUIRE((*g)->nodes().size() == 1);
  return (*g)->nodes()[0]->op_type;
}

}  // namespace

TEST_CASE("Einsum imports matmul forms for the array, other forms for the vector unit",
          "[parser]") {
  CHECK(EinsumLayerType("bij,bjk->bik", {{2, 3, 4}, {2, 4, 5}}, {2, 3, 5}) == "Einsum");
  CHECK(EinsumLayerType("bhqd,bhkd->bhqk", {{1, 2, 3, 4}, {1, 2, 5, 4}}, {1, 2, 3, 5}) == "Einsum");
  CHECK(EinsumLayerType("...ij,...jk", {{2, 3, 4}, {2, 4, 5}}, {2, 3, 5}) == "Einsum");
  CHECK(EinsumLayerType("ij->ji", {{3, 4}}, {4, 3}) == "VectorEinsum");
  CHECK(EinsumLayerType("ij->i", {{3, 4}}, {3}) == "VectorEinsum");
  CHECK(EinsumLayerType("i,j->ij", {{3}, {4}}, {3, 4}) == "VectorEinsum");      // nothing summed
  CHECK(EinsumLayerType("ii,ij->j", {{3, 3}, {3, 4}}, {4}) == "VectorEinsum");  // diagonal
}

TEST_CASE("LSTM import names omitted outputs and passes activations (STRINGS)", "[parser]") {
  std::mt19937 rng(3);
  ModelBuilder b(14);
  b.Input("x", {4, 1, 2});
  b.Initializer("w", testing::RandomTensor({1, 12, 2}, rng));
  b.Initializer("r", testing::RandomTensor({1, 12, 3}, rng));
  auto& n = b.Node("LSTM", {"x", "w", "r"}, {"", "yh"}, "lstm");
  ModelBuilder::SetInt(n, "hidden_size", 3);
  auto* a = n.add_attribute();
  a->set_name("activations");
  a->set_type(onnx::AttributeProto::STRINGS);
  for (const char* s : {"HardSigmoid", "Tanh", "Softsign"}) a->add_strings(s);
  b.Output("yh", {1, 1, 3});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "lstm.onnx", QuietOptions());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  REQUIRE((*g)->nodes().size() == 1);
  const ir::Node& node = *(*g)->nodes()[0];
  CHECK(node.op_type == "LSTM");
  REQUIRE(node.outputs.size() == 3);
  CHECK(node.outputs[0]->name == "lstm/unused_Y");
  CHECK(node.outputs[1]->name == "yh");
  CHECK(node.outputs[2]->name == "lstm/unused_Y_c");
  CHECK(node.outputs[1]->shape == Dims{1, 1, 3});
  CHECK(*node.attrs.GetString("activations", "") == "HardSigmoid,Tanh,Softsign");
}

TEST_CASE("Scatter (opset 10) is imported as ScatterElements", "[parser]") {
  ModelBuilder b(10);
  b.Input("data", {3, 3});
  b.Initializer("idx", testing::MakeInt64({1, 2}, {0, 2}));
  b.Input("upd", {1, 2});
  auto& n = b.Node("Scatter", {"data", "idx", "upd"}, {"y"}, "scatter");
  ModelBuilder::SetInt(n, "axis", 1);
  b.Output("y", {3, 3});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "scatter.onnx", QuietOptions());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  REQUIRE((*g)->nodes().size() == 1);
  CHECK((*g)->nodes()[0]->op_type == "ScatterElements");
}
