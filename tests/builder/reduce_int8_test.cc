// ReduceMax / ReduceMin in the quantize-int8 rewrite: they commute with a
// positive scale, so between int8 layers they read and write int8 at their
// input's scale (issue 17, item 4); the other reductions stay FP32.
#include <catch2/catch.hpp>

#include <memory>

#include "builder/quantize_int8.h"
#include "ir/graph.h"
#include "optimizer/optimizer_test_util.h"

namespace engine::opt {
namespace {

using engine::testing::Count;
using engine::testing::FindOp;

using engine::testing::Act;

ir::Value* Const(ir::Graph& g, const std::string& name, Dims shape, float base) {
  auto t = std::make_shared<Tensor>(DataType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t->num_elements(); ++i) {
    t->data_as<float>()[i] = base * static_cast<float>((i * 7) % 11 - 5) / 5.0f;
  }
  return g.AddConstant(name, t);
}

ir::Node* Add(ir::Graph& g, const std::string& type, const std::string& name,
              std::vector<ir::Value*> in, ir::Value* out) {
  auto n = std::make_unique<ir::Node>();
  n->op_type = type;
  n->name = name;
  n->onnx_nodes = {name};
  n->inputs = std::move(in);
  n->outputs = {out};
  return g.AddNode(std::move(n));
}

// x -> Conv(+bias) -> <reduce> over H, W (keepdims 0) -> Gemm(+bias) -> out
void BuildNet(ir::Graph& g, const std::string& reduce) {
  ir::Value* x = Act(g, "x", {1, 3, 6, 6});
  g.inputs().push_back(x);
  ir::Value* c = Act(g, "conv_out", {1, 4, 6, 6});
  ir::Node* conv =
      Add(g, "Conv", "conv", {x, Const(g, "w", {4, 3, 3, 3}, 0.5f), Const(g, "b", {4}, 0.1f)}, c);
  conv->attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ir::Value* r = Act(g, "reduced", {1, 4});
  ir::Node* red = Add(g, reduce, "reduce", {c}, r);
  red->attrs.Set("axes", std::vector<int64_t>{2, 3});
  red->attrs.Set("keepdims", int64_t{0});
  ir::Value* out = Act(g, "logits", {1, 5});
  Add(g, "Gemm", "fc", {r, Const(g, "fc_w", {4, 5}, 0.2f), Const(g, "fc_b", {5}, 0.05f)}, out);
  g.outputs().push_back(out);
}

TEST_CASE("quantize-int8 passes int8 through ReduceMax and ReduceMin", "[optimizer][int8]") {
  for (const char* type : {"ReduceMax", "ReduceMin"}) {
    CAPTURE(type);
    ir::Graph g;
    BuildNet(g, type);
    const ScaleMap scales = {{"x", 0.02f}, {"conv_out", 0.05f}, {"reduced", 0.3f}, {"logits", 0.1f}};
    auto report = QuantizeGraphInt8(g, scales, {});
    INFO(report.status().ToString());
    REQUIRE(report.ok());
    REQUIRE(g.Verify().ok());
    const ir::Node* red = FindOp(g, type);
    REQUIRE(red != nullptr);
    CHECK(red->inputs[0]->dtype == DataType::kInt8);
    CHECK(red->outputs[0]->dtype == DataType::kInt8);
    CHECK(Count(g, "Int8Conv") == 1);
    CHECK(Count(g, "Int8Gemm") == 1);
    CHECK(Count(g, "DequantizeLinear") == 0);
  }
}

TEST_CASE("quantize-int8 keeps ReduceMean in FP32", "[optimizer][int8]") {
  ir::Graph g;
  BuildNet(g, "ReduceMean");
  const ScaleMap scales = {{"x", 0.02f}, {"conv_out", 0.05f}, {"reduced", 0.3f}, {"logits", 0.1f}};
  auto report = QuantizeGraphInt8(g, scales, {});
  REQUIRE(report.ok());
  REQUIRE(g.Verify().ok());
  const ir::Node* red = FindOp(g, "ReduceMean");
  REQUIRE(red != nullptr);
  CHECK(red->inputs[0]->dtype == DataType::kFloat32);
  CHECK(red->outputs[0]->dtype == DataType::kFloat32);
}

}  // namespace
}  // namespace engine::opt
