// Loop and Scan compiled into a static graph (src/parser/control_flow.cc):
// the unrolled structure, and a clear error for each form that cannot be made
// static (a run-time trip count, a computed condition, a dynamic scan length,
// a hostile trip count, a malformed node). Numerics against ONNX Runtime:
// e2e/control_flow_vs_onnxruntime.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "engine/tensor.h"
#include "parser/onnx_parser.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;
using engine::testing::ModelBuilder;

namespace {

parser::ParseOptions Quiet() {
  static StderrLogger logger(Severity::kError);
  parser::ParseOptions o;
  o.logger = &logger;
  return o;
}

onnx::ValueInfoProto Info(const std::string& name, int elem, std::vector<int64_t> dims) {
  onnx::ValueInfoProto v;
  v.set_name(name);
  auto* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem);
  auto* shape = t->mutable_shape();
  for (int64_t d : dims) {
    if (d < 0) {
      shape->add_dim()->set_dim_param("N");
    } else {
      shape->add_dim()->set_dim_value(d);
    }
  }
  return v;
}

// Loop body: (i, cond, v) -> (cond_out, v + 1, scan v + 1); `cond_op` makes
// cond_out: "Identity" passes cond through, "Not" computes it.
onnx::GraphProto Body(const std::string& cond_op = "Identity") {
  onnx::GraphProto g;
  g.set_name("body");
  *g.add_input() = Info("i", onnx::TensorProto::INT64, {});
  *g.add_input() = Info("cond_in", onnx::TensorProto::BOOL, {});
  *g.add_input() = Info("v_in", onnx::TensorProto::FLOAT, {2});
  auto* c = g.add_node();
  c->set_op_type(cond_op);
  c->add_input("cond_in");
  c->add_output("cond_out");
  auto* one = g.add_initializer();
  one->set_name("one");
  one->set_data_type(onnx::TensorProto::FLOAT);
  one->add_float_data(1.0f);
  auto* add = g.add_node();
  add->set_op_type("Add");
  add->add_input("v_in");
  add->add_input("one");
  add->add_output("v_out");
  auto* id = g.add_node();
  id->set_op_type("Identity");
  id->add_input("v_out");
  id->add_output("scan");
  *g.add_output() = Info("cond_out", onnx::TensorProto::BOOL, {});
  *g.add_output() = Info("v_out", onnx::TensorProto::FLOAT, {2});
  *g.add_output() = Info("scan", onnx::TensorProto::FLOAT, {2});
  return g;
}

void AttachBody(onnx::NodeProto& n, const onnx::GraphProto& body) {
  auto* a = n.add_attribute();
  a->set_name("body");
  a->set_type(onnx::AttributeProto::GRAPH);
  *a->mutable_g() = body;
}

// A Loop over input "v" [2] with trip count `m` (an initializer unless
// `m_input`) and condition initializer true.
std::string LoopModel(int64_t m, bool m_input = false, const std::string& cond_op = "Identity") {
  ModelBuilder b(13);
  b.Input("v", {2});
  if (m_input) {
    b.Input("M", {}, onnx::TensorProto::INT64);
  } else {
    b.Initializer("M", testing::MakeInt64({}, {m}));
  }
  Tensor t(DataType::kBool, {});
  *t.data_as<uint8_t>() = 1;
  b.Initializer("C", t);
  AttachBody(b.Node("Loop", {"M", "C", "v"}, {"y", "ys"}, "the_loop"), Body(cond_op));
  b.Output("y", {2});
  b.Output("ys", {m_input ? 1 : m, 2});
  return b.Serialize();
}

std::vector<std::string> Types(const ir::Graph& g) {
  std::vector<std::string> t;
  for (const auto& n : g.nodes()) t.push_back(n->op_type);
  return t;
}

}  // namespace

TEST_CASE("A Loop with a constant trip count is unrolled", "[parser][control-flow]") {
  auto g = parser::ParseOnnxBytes(LoopModel(3), "loop.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  int adds = 0, concats = 0;
  for (const std::string& t : Types(**g)) {
    adds += t == "Add";
    concats += t == "Concat";
  }
  CHECK(adds == 3);     // one body copy per iteration
  CHECK(concats == 1);  // the scan output stacked
  CHECK((*g)->outputs()[1]->shape == Dims{3, 2});
}

TEST_CASE("Loop forms that cannot be made static fail, saying why", "[parser][control-flow]") {
  SECTION("a run-time trip count") {
    auto g = parser::ParseOnnxBytes(LoopModel(0, /*m_input=*/true), "loop.onnx", Quiet());
    REQUIRE_FALSE(g.ok());
    CHECK(g.status().code() == absl::StatusCode::kUnimplemented);
    CHECK(absl::StrContains(g.status().message(), "'the_loop'"));
    CHECK(absl::StrContains(g.status().message(), "trip count 'M' is a graph input"));
    CHECK(absl::StrContains(g.status().message(), "bind a graph input with input_values"));
  }
  SECTION("a condition the body computes") {
    auto g = parser::ParseOnnxBytes(LoopModel(3, false, "Not"), "loop.onnx", Quiet());
    REQUIRE_FALSE(g.ok());
    CHECK(g.status().code() == absl::StatusCode::kUnimplemented);
    CHECK(absl::StrContains(g.status().message(), "computes its condition 'cond_out'"));
    CHECK(absl::StrContains(g.status().message(), "may stop early"));
  }
  SECTION("a hostile trip count") {
    auto g = parser::ParseOnnxBytes(LoopModel(int64_t{1} << 40), "loop.onnx", Quiet());
    REQUIRE_FALSE(g.ok());
    CHECK(g.status().code() == absl::StatusCode::kResourceExhausted);
    CHECK(absl::StrContains(g.status().message(), "1099511627776 iterations"));
  }
  SECTION("a body that does not match the node") {
    ModelBuilder b(13);
    b.Input("v", {2});
    b.Initializer("M", testing::MakeInt64({}, {2}));
    AttachBody(b.Node("Loop", {"M", "", "v", "v"}, {"y", "ys"}, "the_loop"), Body());
    b.Output("y", {2});
    auto g = parser::ParseOnnxBytes(b.Serialize(), "loop.onnx", Quiet());
    REQUIRE_FALSE(g.ok());
    CHECK(absl::StrContains(g.status().message(), "'the_loop'"));
  }
}

// Scan over "xs" with a running-sum body.
std::string ScanModel(bool reshaped) {
  ModelBuilder b(13);
  b.Input("s0", {2});
  b.Input("x", {-1, 2});  // the scanned axis is symbolic
  std::string xs = "x";
  if (reshaped) {
    // Its length known only at run time: reshaped by a run-time shape.
    b.Input("shp", {2}, onnx::TensorProto::INT64);
    b.Node("Reshape", {"x", "shp"}, {"xr"}, "reshape");
    xs = "xr";
  }
  onnx::GraphProto body;
  body.set_name("body");
  *body.add_input() = Info("s", onnx::TensorProto::FLOAT, {2});
  *body.add_input() = Info("e", onnx::TensorProto::FLOAT, {2});
  auto* add = body.add_node();
  add->set_op_type("Add");
  add->add_input("s");
  add->add_input("e");
  add->add_output("s_out");
  *body.add_output() = Info("s_out", onnx::TensorProto::FLOAT, {2});
  auto& scan = b.Node("Scan", {"s0", xs}, {"y"}, "the_scan");
  AttachBody(scan, body);
  ModelBuilder::SetInt(scan, "num_scan_inputs", 1);
  b.Output("y", {2});
  return b.Serialize();
}

TEST_CASE("A Scan unrolls over its pinned length, and fails over a run-time one",
          "[parser][control-flow]") {
  parser::ParseOptions o = Quiet();
  o.input_shapes["x"] = Dims{4, 2};
  auto g = parser::ParseOnnxBytes(ScanModel(false), "scan.onnx", o);
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  int adds = 0;
  for (const std::string& t : Types(**g)) adds += t == "Add";
  CHECK(adds == 4);
  g = parser::ParseOnnxBytes(ScanModel(true), "scan.onnx", o);
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(absl::StrContains(g.status().message(), "'the_scan'"));
  CHECK(absl::StrContains(g.status().message(), "scan input 'xr'"));
}
