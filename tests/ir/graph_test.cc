#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "ir/graph.h"
#include "test_util.h"

using namespace engine;

namespace {

std::unique_ptr<ir::Node> MakeNode(const std::string& op, std::vector<ir::Value*> in,
                                   std::vector<ir::Value*> out) {
  auto n = std::make_unique<ir::Node>();
  n->name = op + "_node";
  n->op_type = op;
  n->onnx_nodes = {n->name};
  n->inputs = std::move(in);
  n->outputs = std::move(out);
  return n;
}

ir::Value* Shaped(ir::Graph& g, const std::string& name) {
  ir::Value* v = g.AddValue(name);
  v->dtype = DataType::kFloat32;
  v->shape = {1, 4};
  v->has_shape = true;
  return v;
}

}  // namespace

TEST_CASE("Graph keeps producers, consumers and unique names", "[ir]") {
  ir::Graph g;
  ir::Value* x = Shaped(g, "x");
  g.inputs().push_back(x);
  ir::Value* a = Shaped(g, "a");
  ir::Value* y = Shaped(g, "y");
  ir::Node* relu = g.AddNode(MakeNode("Relu", {x}, {a}));
  ir::Node* sig = g.AddNode(MakeNode("Sigmoid", {a}, {y}));
  g.outputs().push_back(y);
  REQUIRE(g.Verify().ok());
  CHECK(a->producer == relu);
  CHECK(g.Consumers(a) == std::vector<ir::Node*>{sig});
  CHECK(Shaped(g, "a")->name == "a__1");

  // Insert a node in front of Sigmoid and rewire: the schedule stays valid.
  ir::Value* b = Shaped(g, "b");
  ir::Node* tanh = g.InsertNodeBefore(sig, MakeNode("Tanh", {a}, {b}));
  g.ReplaceAllUsesWith(a, b);
  tanh->inputs = {a};
  REQUIRE(g.Verify().ok());
  CHECK(g.nodes()[1].get() == tanh);
  CHECK(g.Consumers(b) == std::vector<ir::Node*>{sig});
  CHECK(absl::StrContains(g.ToText(), "%b[1x4:float] = Tanh(%a)"));
  CHECK(absl::StrContains(g.ToDot(), "digraph"));
}

TEST_CASE("Verify rejects use before definition and missing shapes", "[ir]") {
  ir::Graph g;
  ir::Value* x = Shaped(g, "x");
  g.inputs().push_back(x);
  ir::Value* a = Shaped(g, "a");
  ir::Value* y = Shaped(g, "y");
  g.AddNode(MakeNode("Sigmoid", {a}, {y}));  // reads `a` before it exists
  g.AddNode(MakeNode("Relu", {x}, {a}));
  g.outputs().push_back(y);
  absl::Status s = g.Verify();
  CHECK(s.code() == absl::StatusCode::kInternal);
  CHECK(absl::StrContains(s.message(), "reads 'a' before it is produced"));

  ir::Graph h;
  h.AddValue("no_shape");
  CHECK(absl::StrContains(h.Verify().message(), "has no shape"));
}
