// Parser rewrites of issue 17 (src/parser/model_rewrite.cc and the layout
// importers of src/ops/layout.cc): legacy opset-7 image ops imported at their
// own opset around the version converter, If folding, float16 models computed
// in float32, float64 models computed in float32, Split's attribute/input forms.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

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

std::vector<std::string> Types(const ir::Graph& g) {
  std::vector<std::string> t;
  for (const auto& n : g.nodes()) t.push_back(n->op_type);
  return t;
}

void SetFloats(onnx::NodeProto& n, const std::string& name, const std::vector<float>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOATS);
  for (float f : v) a->add_floats(f);
}

// A branch graph computing `op`(x) into `out`.
onnx::GraphProto Branch(const std::string& op, const std::string& out) {
  onnx::GraphProto g;
  g.set_name(op + "_branch");
  auto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(op + "_in_branch");
  n->add_input("x");
  n->add_output("tmp");
  auto* id = g.add_node();
  id->set_op_type("Identity");
  id->add_input("tmp");
  id->add_output(out);
  auto* o = g.add_output();
  o->set_name(out);
  o->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return g;
}

onnx::NodeProto& AddIf(ModelBuilder& b, const std::string& cond) {
  auto& n = b.Node("If", {cond}, {"y"}, "the_if");
  auto* t = n.add_attribute();
  t->set_name("then_branch");
  t->set_type(onnx::AttributeProto::GRAPH);
  *t->mutable_g() = Branch("Relu", "then_out");
  auto* e = n.add_attribute();
  e->set_name("else_branch");
  e->set_type(onnx::AttributeProto::GRAPH);
  *e->mutable_g() = Branch("Sigmoid", "else_out");
  return n;
}

}  // namespace

TEST_CASE("Opset-7 Crop, ImageScaler, Affine and Scale import at their own opset",
          "[parser][layout]") {
  ModelBuilder b(7);
  b.Input("x", {1, 3, 8, 8});
  auto& scaler = b.Node("ImageScaler", {"x"}, {"s"}, "scaler");
  ModelBuilder::SetFloat(scaler, "scale", 2.0f);
  SetFloats(scaler, "bias", {1, 2, 3});
  auto& crop = b.Node("Crop", {"s"}, {"c"}, "crop");
  ModelBuilder::SetInts(crop, "border", {1, 2, 3, 1});  // left, top, right, bottom
  b.Node("Relu", {"c"}, {"r"}, "relu");  // converted 7 -> 13 around the held-out nodes
  auto& affine = b.Node("Affine", {"r"}, {"a"}, "affine");
  ModelBuilder::SetFloat(affine, "alpha", 0.5f);
  ModelBuilder::SetFloat(affine, "beta", -1.0f);
  auto& crop2 = b.Node("Crop", {"a"}, {"y"}, "crop_scale");
  ModelBuilder::SetInts(crop2, "border", {1, 1, 0, 0});
  ModelBuilder::SetInts(crop2, "scale", {2, 3});
  b.Output("y", {1, 3, 2, 3});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "legacy.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  CHECK(Types(**g) == std::vector<std::string>{"Mul", "Add", "Slice", "Relu", "Mul", "Add", "Slice"});
  // Crop without scale: H 8 - 2 - 1 = 5, W 8 - 1 - 3 = 4; with scale: 2 x 3.
  CHECK((*g)->nodes()[2]->outputs[0]->shape == Dims{1, 3, 5, 4});
  CHECK((*g)->outputs()[0]->shape == Dims{1, 3, 2, 3});
  // ImageScaler's bias is per channel.
  CHECK((*g)->nodes()[1]->inputs[1]->shape == Dims{1, 3, 1, 1});
}

TEST_CASE("Crop refuses a malformed border", "[parser][layout]") {
  ModelBuilder b(7);
  b.Input("x", {1, 3, 8, 8});
  auto& crop = b.Node("Crop", {"x"}, {"y"}, "crop");
  ModelBuilder::SetInts(crop, "border", {1, 2});
  b.Output("y", {1, 3, 8, 8});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "crop.onnx", Quiet());
  REQUIRE_FALSE(g.ok());
  CHECK(absl::StrContains(g.status().message(), "'border' must have 4 values"));
  CHECK(absl::StrContains(g.status().message(), "'crop'"));
}

TEST_CASE("An If with a constant condition is folded to its branch", "[parser][layout]") {
  for (bool cond : {true, false}) {
    ModelBuilder b(13);
    b.Input("x", {2, 3});
    Tensor c(DataType::kBool, {});
    *c.data_as<uint8_t>() = cond ? 1 : 0;
    b.Initializer("cond", c);
    AddIf(b, "cond");
    b.Output("y", {2, 3});
    auto g = parser::ParseOnnxBytes(b.Serialize(), "if.onnx", Quiet());
    INFO(g.status().ToString());
    REQUIRE(g.ok());
    CHECK(Types(**g) ==
          std::vector<std::string>{cond ? "Relu" : "Sigmoid", "Identity"});
    CHECK((*g)->outputs()[0]->name == "y");
    CHECK((*g)->outputs()[0]->shape == Dims{2, 3});
  }
}

TEST_CASE("An If with a run-time condition runs both branches and selects with Where",
          "[parser][control-flow]") {
  ModelBuilder b(13);
  b.Input("x", {2, 3});
  b.Input("cond", {}, onnx::TensorProto::BOOL);
  AddIf(b, "cond");
  b.Output("y", {2, 3});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "if.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  CHECK(Types(**g) == std::vector<std::string>{"Relu", "Identity", "Sigmoid", "Identity", "Where"});
  CHECK((*g)->outputs()[0]->shape == Dims{2, 3});
  CHECK((*g)->inputs().size() == 2);  // cond stays a run-time input
}

TEST_CASE("An If whose branches differ in shape is Unimplemented, saying why",
          "[parser][control-flow]") {
  ModelBuilder b(13);
  b.Input("x", {2, 3});
  b.Input("cond", {}, onnx::TensorProto::BOOL);
  auto& n = AddIf(b, "cond");
  // else: ReduceSum over all axes -> a scalar, not [2, 3].
  onnx::GraphProto* e = n.mutable_attribute(1)->mutable_g();
  e->mutable_node(0)->set_op_type("ReduceSum");
  ModelBuilder::SetInt(*e->mutable_node(0), "keepdims", 0);
  b.Output("y", {2, 3});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "if.onnx", Quiet());
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(absl::StrContains(g.status().message(), "'the_if'"));
  CHECK(absl::StrContains(g.status().message(), "condition 'cond' is a graph input"));
  CHECK(absl::StrContains(g.status().message(), "[2,3] in then_branch and [] in else_branch"));
}

TEST_CASE("A float16 model computes in float32 and keeps its I/O types", "[parser][layout]") {
  ModelBuilder b(13);
  b.Input("x", {1, 4}, onnx::TensorProto::FLOAT16);
  Tensor w(DataType::kFloat16, {1, 4});
  const uint16_t halves[] = {0x3c00, 0xc000, 0x3800, 0x7c00};  // 1, -2, 0.5, inf
  std::memcpy(w.data(), halves, sizeof(halves));
  b.Initializer("w", w);
  b.Node("Add", {"x", "w"}, {"y"}, "add");
  auto& out = b.model().mutable_graph()->add_output()[0];
  out.set_name("y");
  out.mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT16);
  auto* shape = out.mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->add_dim()->set_dim_value(1);
  shape->add_dim()->set_dim_value(4);
  auto g = parser::ParseOnnxBytes(b.Serialize(), "half.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  CHECK(Types(**g) == std::vector<std::string>{"Cast", "Add", "Cast"});
  CHECK((*g)->inputs()[0]->dtype == DataType::kFloat16);
  CHECK((*g)->outputs()[0]->dtype == DataType::kFloat16);
  const ir::Node& add = *(*g)->nodes()[1];
  CHECK(add.outputs[0]->dtype == DataType::kFloat32);
  REQUIRE(add.inputs[1]->is_constant());
  const Tensor& wf = *add.inputs[1]->constant;
  REQUIRE(wf.dtype() == DataType::kFloat32);
  CHECK(wf.data_as<float>()[0] == 1.0f);
  CHECK(wf.data_as<float>()[1] == -2.0f);
  CHECK(wf.data_as<float>()[2] == 0.5f);
  CHECK(std::isinf(wf.data_as<float>()[3]));
}

TEST_CASE("Split imports its attribute, input and num_outputs forms", "[parser][layout]") {
  SECTION("opset 11 attribute 'split' (converted to the opset-13 input)") {
    ModelBuilder b(11);
    b.Input("x", {2, 6});
    auto& s = b.Node("Split", {"x"}, {"a", "b"}, "split");
    ModelBuilder::SetInt(s, "axis", 1);
    ModelBuilder::SetInts(s, "split", {2, 4});
    b.Output("a", {2, 2});
    b.Output("b", {2, 4});
    auto g = parser::ParseOnnxBytes(b.Serialize(), "split.onnx", Quiet());
    INFO(g.status().ToString());
    REQUIRE(g.ok());
    CHECK((*g)->outputs()[1]->shape == Dims{2, 4});
  }
  SECTION("opset 18 num_outputs, uneven") {
    ModelBuilder b(18);
    b.Input("x", {7});
    auto& s = b.Node("Split", {"x"}, {"a", "b", "c"}, "split");
    ModelBuilder::SetInt(s, "num_outputs", 3);
    b.Output("a", {3});
    b.Output("b", {3});
    b.Output("c", {1});
    auto g = parser::ParseOnnxBytes(b.Serialize(), "split.onnx", Quiet());
    INFO(g.status().ToString());
    REQUIRE(g.ok());
    CHECK((*g)->outputs()[2]->shape == Dims{1});
  }
  SECTION("opset 13 without sizes must split evenly (ONNX shape inference or the kernel)") {
    ModelBuilder b(13);
    b.Input("x", {7});
    b.Node("Split", {"x"}, {"a", "b"}, "split");
    b.Output("a", {4});
    b.Output("b", {3});
    auto g = parser::ParseOnnxBytes(b.Serialize(), "split.onnx", Quiet());
    REQUIRE_FALSE(g.ok());
    INFO(g.status().ToString());
    CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK((absl::StrContains(g.status().message(), "does not split evenly") ||
           absl::StrContains(g.status().message(), "not evenly splittable")));
  }
}

TEST_CASE("A bfloat16 model computes in float32 and keeps its I/O types", "[parser][layout]") {
  ModelBuilder b(13);
  b.Input("x", {1, 2}, onnx::TensorProto::BFLOAT16);
  auto* w = b.model().mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::BFLOAT16);
  w->add_dims(1);
  w->add_dims(2);
  w->add_int32_data(0x3fc0);  // 1.5
  w->add_int32_data(0xc080);  // -4
  b.Node("Mul", {"x", "w"}, {"y"}, "mul");
  auto* out = b.model().mutable_graph()->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::BFLOAT16);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(1);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  auto g = parser::ParseOnnxBytes(b.Serialize(), "bf16.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  CHECK(Types(**g) == std::vector<std::string>{"Cast", "Mul", "Cast"});
  CHECK((*g)->inputs()[0]->dtype == DataType::kBFloat16);
  CHECK((*g)->outputs()[0]->dtype == DataType::kBFloat16);
  const ir::Node& mul = *(*g)->nodes()[1];
  REQUIRE(mul.inputs[1]->is_constant());
  CHECK(mul.inputs[1]->constant->data_as<float>()[0] == 1.5f);
  CHECK(mul.inputs[1]->constant->data_as<float>()[1] == -4.0f);
}

TEST_CASE("A float64 model computes in float32 and keeps its I/O types", "[parser][layout]") {
  ModelBuilder b(13);
  b.Input("x", {1, 3}, onnx::TensorProto::DOUBLE);
  auto* w = b.model().mutable_graph()->add_initializer();  // double_data
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::DOUBLE);
  w->add_dims(1);
  w->add_dims(3);
  w->add_double_data(0.1);     // rounds to the nearest float
  w->add_double_data(-1e300);  // beyond the float range: -inf
  w->add_double_data(2.5);
  auto* c = b.model().mutable_graph()->add_initializer();  // raw_data
  c->set_name("c");
  c->set_data_type(onnx::TensorProto::DOUBLE);
  c->add_dims(1);
  const double cv = 1.0 + 0x1p-40;  // between 1 and the next float: rounds to 1
  c->set_raw_data(std::string(reinterpret_cast<const char*>(&cv), 8));
  b.Node("Add", {"x", "w"}, {"s"}, "add");
  auto& cast = b.Node("Cast", {"s"}, {"d"}, "to_double");
  auto* to = cast.add_attribute();
  to->set_name("to");
  to->set_type(onnx::AttributeProto::INT);
  to->set_i(onnx::TensorProto::DOUBLE);
  b.Node("Mul", {"d", "c"}, {"y"}, "mul");
  auto* out = b.model().mutable_graph()->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::DOUBLE);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(1);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(3);
  auto g = parser::ParseOnnxBytes(b.Serialize(), "f64.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  CHECK(Types(**g) == std::vector<std::string>{"Cast", "Add", "Cast", "Mul", "Cast"});
  CHECK((*g)->inputs()[0]->dtype == DataType::kFloat64);
  CHECK((*g)->outputs()[0]->dtype == DataType::kFloat64);
  // Every tensor inside is float32: the input Cast's output, the weights, the
  // model's own Cast (retargeted to float) and the Mul feeding the output Cast.
  for (size_t i = 0; i + 1 < (*g)->nodes().size(); ++i) {
    const ir::Node& n = *(*g)->nodes()[i];
    INFO(n.name);
    CHECK(n.outputs[0]->dtype == DataType::kFloat32);
    for (const ir::Value* in : n.inputs) {
      if (in != (*g)->inputs()[0]) CHECK(in->dtype == DataType::kFloat32);
    }
  }
  const ir::Node& add = *(*g)->nodes()[1];
  REQUIRE(add.inputs[1]->is_constant());
  const Tensor& wf = *add.inputs[1]->constant;
  REQUIRE(wf.dtype() == DataType::kFloat32);
  CHECK(wf.data_as<float>()[0] == 0.1f);
  CHECK(std::isinf(wf.data_as<float>()[1]));
  CHECK(wf.data_as<float>()[1] < 0);
  CHECK(wf.data_as<float>()[2] == 2.5f);
  const ir::Node& mul = *(*g)->nodes()[3];
  REQUIRE(mul.inputs[1]->is_constant());
  CHECK(mul.inputs[1]->constant->data_as<float>()[0] == 1.0f);
}

TEST_CASE("A float64 initializer whose data does not match its dims is InvalidArgument",
          "[parser][layout]") {
  ModelBuilder b(13);
  b.Input("x", {2}, onnx::TensorProto::DOUBLE);
  auto* w = b.model().mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::DOUBLE);
  w->add_dims(2);
  w->add_double_data(1.0);  // one value for two elements
  b.Node("Add", {"x", "w"}, {"y"}, "add");
  auto* out = b.model().mutable_graph()->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::DOUBLE);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  auto g = parser::ParseOnnxBytes(b.Serialize(), "bad_f64.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(!g.ok());
  CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(g.status().message(), "initializer 'w' has 1 values for 2 elements"));
}

TEST_CASE("An input of a type the engine lacks is Unimplemented, naming it and its type",
          "[parser][layout]") {
  ModelBuilder b(13);
  b.Input("u", {2}, onnx::TensorProto::COMPLEX64);
  b.Node("Identity", {"u"}, {"y"}, "id");
  auto* out = b.model().mutable_graph()->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::COMPLEX64);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  auto g = parser::ParseOnnxBytes(b.Serialize(), "c64.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(!g.ok());
  CHECK(g.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(absl::StrContains(g.status().message(), "input 'u'"));
  CHECK(absl::StrContains(g.status().message(), "COMPLEX64"));
}
