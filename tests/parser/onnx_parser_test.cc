#include <catch2/catch.hpp>
#include <tuple>

#include "absl/strings/match.h"
#include "engine/tensor.h"
#include "parser/onnx_parser.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;
using engine::testing::ModelBuilder;

namespace {

std::string Message(const absl::Status& s) { return std::string(s.message()); }

parser::ParseOptions Quiet() {
  static StderrLogger logger(Severity::kError);
  parser::ParseOptions o;
  o.logger = &logger;
  return o;
}

}  // namespace

TEST_CASE("A missing file is NotFound naming the path", "[parser]") {
  auto g = parser::ParseOnnxFile("/no/such/model.onnx", Quiet());
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(Message(g.status()), "/no/such/model.onnx"));
}

TEST_CASE("Truncated and garbage models are InvalidArgument naming the file", "[parser]") {
  const std::string bytes = testing::SmallConvModel();
  for (size_t cut : {bytes.size() / 2, bytes.size() - 7, size_t{3}}) {
    auto g = parser::ParseOnnxBytes(bytes.substr(0, cut), "m.onnx", Quiet());
    INFO("cut at " << cut);
    REQUIRE_FALSE(g.ok());
    CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(Message(g.status()), "m.onnx"));
  }
  auto g = parser::ParseOnnxBytes(std::string("\x01\x02garbage", 9), "junk.onnx", Quiet());
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("The small model parses into an IR with static shapes", "[parser]") {
  auto g = parser::ParseOnnxBytes(testing::SmallConvModel(), "m.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  REQUIRE((*g)->nodes().size() == 4);
  CHECK((*g)->nodes()[0]->op_type == "Conv");
  CHECK((*g)->nodes()[0]->name == "conv1");
  CHECK((*g)->nodes()[0]->outputs[0]->shape == Dims{1, 4, 4, 4});
  CHECK((*g)->outputs()[0]->shape == Dims{1, 3});
  CHECK((*g)->source_node_count == 4);
}

TEST_CASE("Every unsupported op is listed in one error with index and name", "[parser]") {
  ModelBuilder b;
  b.Input("x", {1, 4});
  b.Node("Relu", {"x"}, {"a"}, "ok_relu");
  b.Node("Unique", {"a"}, {"v"}, "my_unique");  // not engine ops
  b.Node("Multinomial", {"v"}, {"e"}, "my_multinomial");
  b.Node("Custom", {"e"}, {"y"}, "my_custom").set_domain("com.example");
  b.Output("y", {1, 4});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "m.onnx", Quiet());
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == absl::StatusCode::kUnimplemented);
  const std::string msg = Message(g.status());
  CHECK(absl::StrContains(msg, "3 unsupported ops"));
  CHECK(absl::StrContains(msg, "node #1 'my_unique' (Unique)"));
  CHECK(absl::StrContains(msg, "node #2 'my_multinomial' (Multinomial)"));
  CHECK(absl::StrContains(msg, "node #3 'my_custom' (com.example.Custom)"));
  CHECK_FALSE(absl::StrContains(msg, "ok_relu"));
}

TEST_CASE("Dynamic input dimensions must be pinned with --shapes", "[parser]") {
  const std::string dynamic = testing::SmallConvModel(-1);
  auto g = parser::ParseOnnxBytes(dynamic, "dyn.onnx", Quiet());
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(Message(g.status()), "input 'x' has dynamic dimension 0 ('N')"));
  CHECK(absl::StrContains(Message(g.status()), "--shapes=x:"));

  SECTION("pinned") {
    auto opts = Quiet();
    opts.input_shapes["x"] = {2, 2, 4, 4};
    auto pinned = parser::ParseOnnxBytes(dynamic, "dyn.onnx", opts);
    INFO(pinned.status().ToString());
    REQUIRE(pinned.ok());
    CHECK((*pinned)->outputs()[0]->shape == Dims{2, 3});
  }
  SECTION("wrong rank") {
    auto opts = Quiet();
    opts.input_shapes["x"] = {2, 2, 4};
    auto bad = parser::ParseOnnxBytes(dynamic, "dyn.onnx", opts);
    INFO(bad.status().ToString());
    REQUIRE_FALSE(bad.ok());
    CHECK(absl::StrContains(Message(bad.status()), "rank 3"));
  }
  SECTION("unknown input name") {
    auto opts = Quiet();
    opts.input_shapes["nope"] = {1};
    auto bad = parser::ParseOnnxBytes(dynamic, "dyn.onnx", opts);
    INFO(bad.status().ToString());
    REQUIRE_FALSE(bad.ok());
    CHECK(absl::StrContains(Message(bad.status()), "'nope', which is not an input"));
  }
  SECTION("conflicts with a fixed dimension") {
    auto opts = Quiet();
    opts.input_shapes["x"] = {1, 3, 4, 4};
    auto bad = parser::ParseOnnxBytes(dynamic, "dyn.onnx", opts);
    INFO(bad.status().ToString());
    REQUIRE_FALSE(bad.ok());
    CHECK(absl::StrContains(Message(bad.status()), "fixes dimension 1 to 2"));
  }
}

TEST_CASE("Exporter shape chains (Shape/Gather/Unsqueeze/Concat -> Reshape) fold at parse",
          "[parser]") {
  ModelBuilder b;
  b.Input("x", {2, 3, 4});
  b.Initializer("idx0", testing::MakeInt64({}, {0}));
  b.Initializer("minus1", testing::MakeInt64({1}, {-1}));
  b.Initializer("axes0", testing::MakeInt64({1}, {0}));
  b.Node("Shape", {"x"}, {"s"});
  b.Node("Gather", {"s", "idx0"}, {"n"});
  b.Node("Unsqueeze", {"n", "axes0"}, {"n1"});
  auto& cat = b.Node("Concat", {"n1", "minus1"}, {"target"});
  ModelBuilder::SetInt(cat, "axis", 0);
  b.Node("Reshape", {"x", "target"}, {"y"}, "reshape");
  b.Output("y", {2, 12});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "chain.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  REQUIRE((*g)->nodes().size() == 1);
  CHECK((*g)->nodes()[0]->op_type == "Reshape");
  CHECK((*g)->nodes()[0]->inputs[1]->is_constant());
  CHECK((*g)->outputs()[0]->shape == Dims{2, 12});
}

TEST_CASE("Old opsets are upgraded by the ONNX version converter", "[parser]") {
  // Opset 8 Softmax coerces to 2-D; after conversion to 13 the graph must
  // compute the same shape.
  ModelBuilder b(8);
  b.Input("x", {2, 3, 4});
  auto& sm = b.Node("Softmax", {"x"}, {"y"}, "sm");
  ModelBuilder::SetInt(sm, "axis", 1);
  b.Output("y", {2, 3, 4});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "old.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  CHECK((*g)->outputs()[0]->shape == Dims{2, 3, 4});
}

TEST_CASE("Models that crashed or hung ONNX shape inference are InvalidArgument", "[parser]") {
  // ONNX 1.12's convolution/pooling shape inference divides by `strides`,
  // indexes its vectors by W's rank and, for auto_pad SAME, counts the input
  // size down by the stride; ConvTranspose reads its kernel shape past the
  // end of a scalar W and LayerNormalization indexes a scalar X (found by
  // fuzz/onnx_parser_fuzzer). At the current opset the engine's own shape
  // propagation refuses them before ONNX inference runs; at an old opset
  // (ONNX inference before the version converter) the checked schema
  // registry does. Either way: InvalidArgument naming the node, no crash.
  auto conv = [](int opset, const std::string& op, const std::vector<int64_t>& x,
                 const std::vector<int64_t>& w, const std::vector<int64_t>& strides,
                 const std::string& auto_pad) {
    ModelBuilder b(opset);
    b.Input("x", x).Input("w", w);
    auto& n = b.Node(op, {"x", "w"}, {"y"}, "conv");
    if (!strides.empty()) ModelBuilder::SetInts(n, "strides", strides);
    if (!auto_pad.empty()) {
      auto* a = n.add_attribute();
      a->set_name("auto_pad");
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s(auto_pad);
    }
    b.Output("y", {1, 1, 1, 1});  // not checked: the inference fails first
    return b.Serialize();
  };
  auto layer_norm = [](const std::vector<int64_t>& x) {
    ModelBuilder b(17);
    b.Input("x", x).Input("scale", {5});
    b.Node("LayerNormalization", {"x", "scale"}, {"y"}, "ln");
    b.Output("y", {2, 5});
    return b.Serialize();
  };
  struct Case {
    const char* what;
    std::string model;
    const char* message;
  };
  std::vector<Case> cases = {
      {"layer norm of a scalar", layer_norm({}), "'ln' (LayerNormalization)"},
  };
  for (int opset : {13, 10}) {
    cases.push_back({"zero stride", conv(opset, "Conv", {1, 1, 5, 5}, {1, 1, 3, 3}, {0, 1}, ""),
                     "'strides'"});
    cases.push_back({"W of higher rank than X",
                     conv(opset, "Conv", {1, 1, 5}, {1, 1, 3, 3}, {1}, ""), "W has 4 dims"});
    cases.push_back({"huge input with auto_pad SAME",
                     conv(opset, "Conv", {1, 1, int64_t{1} << 40, 5}, {1, 1, 3, 3}, {2, 2},
                          "SAME_UPPER"),
                     "conv"});  // the ONNX check (opset 13) or the engine (opset 10)
    cases.push_back({"ConvTranspose with a scalar W",
                     conv(opset, "ConvTranspose", {1, 1, 3}, {}, {}, ""),
                     "'conv' (ConvTranspose)"});
    cases.push_back({"ConvTranspose of a rank-1 X",
                     conv(opset, "ConvTranspose", {3}, {3}, {}, ""), "'conv' (ConvTranspose)"});
  }
  for (const Case& c : cases) {
    INFO(c.what);
    auto g = parser::ParseOnnxBytes(c.model, "m.onnx", Quiet());
    REQUIRE_FALSE(g.ok());
    INFO(g.status().ToString());
    CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(Message(g.status()), c.message));
  }
}

TEST_CASE("An old-opset RNN-family node with a rank-1 X fails cleanly", "[parser]") {
  // Found by fuzz/onnx_parser_fuzzer: at opset 5 (ONNX shape inference runs
  // before the version converter) ONNX's RNNShapeInference1 read X's dims 0
  // and 1 without checking its rank (SEGV). The checked schema registry
  // refuses the rank first; the model then stops at the version converter,
  // which has no GRU/LSTM/RNN adapter from opset 6: a clean error naming it.
  for (const char* op : {"GRU", "LSTM", "RNN"}) {
    INFO(op);
    const int gates = std::string(op) == "GRU" ? 3 : std::string(op) == "LSTM" ? 4 : 1;
    ModelBuilder b(5);
    b.Input("X", {2}).Input("W", {1, gates * 5, 3}).Input("R", {1, gates * 5, 5});
    auto& n = b.Node(op, {"X", "W", "R"}, {"", "Y_h"}, "rnn");
    ModelBuilder::SetInt(n, "hidden_size", 5);
    b.Output("Y_h", {1, 3, 5});
    auto g = parser::ParseOnnxBytes(b.Serialize(), "m.onnx", Quiet());
    REQUIRE_FALSE(g.ok());
    INFO(g.status().ToString());
    CHECK(absl::StrContains(Message(g.status()), "m.onnx"));
    CHECK(absl::StrContains(Message(g.status()), op));
  }
}

TEST_CASE("An old-opset Gemm imports, or fails cleanly when A or B is not a matrix", "[parser]") {
  // Found by scanning the ONNX node tests with each input's rank changed, at
  // older opsets: ONNX's Gemm inference before opset 7 and its 6->7 version
  // adapter read dims 0 and 1 of A and B unchecked (SEGV).
  auto gemm = [](int opset, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    ModelBuilder m(opset);
    m.Input("a", a).Input("b", b).Input("c", {1, 4});
    m.Node("Gemm", {"a", "b", "c"}, {"y"}, "fc");
    m.Output("y", {3, 4});
    return m.Serialize();
  };
  for (int opset : {1, 6}) {
    INFO("opset " << opset);
    auto good = parser::ParseOnnxBytes(gemm(opset, {3, 5}, {5, 4}), "g.onnx", Quiet());
    INFO(good.status().ToString());
    CHECK(good.ok());
    for (const auto& [a, b, what] :
         std::vector<std::tuple<std::vector<int64_t>, std::vector<int64_t>, std::string>>{
             {{5}, {5, 4}, "input A 'a' has rank 1"}, {{3, 5}, {}, "input B 'b' has rank 0"}}) {
      auto g = parser::ParseOnnxBytes(gemm(opset, a, b), "g.onnx", Quiet());
      REQUIRE_FALSE(g.ok());
      INFO(g.status().ToString());
      CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
      CHECK(absl::StrContains(Message(g.status()), "'fc' (Gemm)"));
      CHECK(absl::StrContains(Message(g.status()), what));
    }
  }
}

TEST_CASE("An old-opset MaxUnpool whose indices are not X's shape fails cleanly", "[parser]") {
  // Found by fuzz/onnx_parser_fuzzer: ONNX 1.12's MaxUnpool inference reads
  // dim 1 of I unchecked (SEGV on a rank-1 I), in the shape inference that
  // runs before the version converter.
  auto unpool = [](const std::vector<int64_t>& ind) {
    ModelBuilder m(11);
    m.Input("x", {1, 1, 2, 2}).Input("i", ind, onnx::TensorProto::INT64);
    auto& n = m.Node("MaxUnpool", {"x", "i"}, {"y"}, "unpool");
    ModelBuilder::SetInts(n, "kernel_shape", {2, 2});
    ModelBuilder::SetInts(n, "strides", {2, 2});
    m.Output("y", {1, 1, 4, 4});
    return m.Serialize();
  };
  CHECK(parser::ParseOnnxBytes(unpool({1, 1, 2, 2}), "u.onnx", Quiet()).ok());
  auto g = parser::ParseOnnxBytes(unpool({4}), "u.onnx", Quiet());
  REQUIRE_FALSE(g.ok());
  INFO(g.status().ToString());
  CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(Message(g.status()), "'unpool' (MaxUnpool)"));
  CHECK(absl::StrContains(Message(g.status()), "I [4] of the same shape"));
}

TEST_CASE("An input declared without a shape is refused, not taken as a scalar", "[parser]") {
  // Found by fuzz/onnx_parser_fuzzer: reading the shape through
  // mutable_shape() created an empty one, so a shapeless input became a
  // scalar and reached ONNX shape inference.
  ModelBuilder b;
  b.Input("x", {1, 3});
  b.Node("Relu", {"x"}, {"y"});
  b.Output("y", {1, 3});
  b.model().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  auto g = parser::ParseOnnxBytes(b.Serialize(), "m.onnx", Quiet());
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(Message(g.status()), "input 'x' has no shape; pin it with --shapes=x:"));
}

TEST_CASE("EyeLike folds to a constant from the static input shape", "[parser]") {
  ModelBuilder b;
  b.Input("x", {2, 3});
  auto& eye = b.Node("EyeLike", {"x"}, {"e"}, "eye");
  ModelBuilder::SetInt(eye, "k", 1);
  b.Node("Add", {"x", "e"}, {"y"}, "add");
  b.Output("y", {2, 3});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "eyelike.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  for (const auto& n : (*g)->nodes()) CHECK(n->op_type != "EyeLike");
  const ir::Value* e = (*g)->FindValue("e");
  REQUIRE(e != nullptr);
  REQUIRE(e->is_constant());
  CHECK(e->dtype == DataType::kFloat32);
  const float* v = e->constant->data_as<float>();
  CHECK(std::vector<float>(v, v + 6) == std::vector<float>{0, 1, 0, 0, 0, 1});
}

TEST_CASE("SoftmaxCrossEntropyLoss with log_prob is one layer with two outputs", "[parser]") {
  ModelBuilder b;
  b.Input("x", {2, 3, 4});
  b.Input("t", {2, 4}, onnx::TensorProto::INT64);
  b.Node("SoftmaxCrossEntropyLoss", {"x", "t"}, {"z", "log_prob"}, "sce");
  b.Output("z", {});
  b.Output("log_prob", {2, 3, 4});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "sce.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  int layers = 0;
  for (const auto& n : (*g)->nodes()) {
    if (n->op_type != "SoftmaxCrossEntropyLoss") continue;
    ++layers;
    CHECK(n->attrs.Int("num_outputs", 0) == 2);
    REQUIRE(n->outputs.size() == 2);
  }
  CHECK(layers == 1);
  REQUIRE((*g)->FindValue("z") != nullptr);
  CHECK((*g)->FindValue("z")->shape == Dims{});
  REQUIRE((*g)->FindValue("log_prob") != nullptr);
  CHECK((*g)->FindValue("log_prob")->shape == Dims{2, 3, 4});
}

TEST_CASE("Size folds to a constant from the static input shape", "[parser]") {
  ModelBuilder b;
  b.Input("x", {2, 3, 5});
  b.Node("Size", {"x"}, {"n"}, "size");
  auto& cast = b.Node("Cast", {"n"}, {"y"}, "cast");
  ModelBuilder::SetInt(cast, "to", onnx::TensorProto::FLOAT);
  b.Output("y", {});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "size.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  for (const auto& n : (*g)->nodes()) CHECK(n->op_type != "Size");
  // The scalar Cast of the folded size folds too (a float scalar).
  const ir::Value* y = (*g)->FindValue("y");
  REQUIRE(y != nullptr);
  REQUIRE(y->is_constant());
  CHECK(y->dtype == DataType::kFloat32);
  CHECK(*y->constant->data_as<float>() == 30.0f);
}

// A Range limit computed in float from constants (the *window_expanded
// functions: Cast(size) to float) folds at parse, so the Range has a static
// length; a large float tensor of constants is left to fold-constants.
TEST_CASE("Small float computations of constants fold at parse, large ones do not", "[parser]") {
  ModelBuilder b;
  b.Input("x", {2, 3, 5});
  b.Initializer("zero", testing::MakeFloat({}, {0.0f}));
  b.Initializer("two", testing::MakeFloat({}, {2.0f}));
  b.Initializer("w", testing::MakeFloat({4, 5}, std::vector<float>(20, 1.0f)));
  b.Node("Size", {"x"}, {"n"}, "size");
  auto& cast = b.Node("Cast", {"n"}, {"nf"}, "cast");
  ModelBuilder::SetInt(cast, "to", onnx::TensorProto::FLOAT);
  b.Node("Range", {"zero", "nf", "two"}, {"r"}, "range");
  b.Node("Neg", {"w"}, {"wn"}, "neg");
  b.Output("r", {15});
  b.Output("wn", {4, 5});
  auto g = parser::ParseOnnxBytes(b.Serialize(), "float_fold.onnx", Quiet());
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  for (const auto& n : (*g)->nodes()) CHECK(n->op_type != "Range");
  const ir::Value* r = (*g)->FindValue("r");
  REQUIRE(r != nullptr);
  CHECK(r->shape == Dims{15});
  REQUIRE(r->is_constant());
  CHECK(r->constant->data_as<float>()[14] == 28.0f);
  const ir::Value* wn = (*g)->FindValue("wn");
  REQUIRE(wn != nullptr);
  CHECK_FALSE(wn->is_constant());  // 20 float elements: the optimizer's job
}
