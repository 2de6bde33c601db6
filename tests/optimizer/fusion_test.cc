// Tests of the rewrite passes (fold-batchnorm, fold-pad, fuse-matmul-add,
// simplify-reshape, fuse-residual, fuse-activation) on tiny models: op counts
// before and after, fused names and onnx_nodes, counters (fired and every
// skip reason), and numerical equality of the graph before and after the pass
// on random input. The graphs are evaluated node by node with the host
// kernels (the same kernels the executor runs), at rtol 1e-4 / atol 1e-5.
// (End-to-end builds of the same patterns: tests/e2e/optimizer_equivalence_test.cc.)
#include <catch2/catch.hpp>
#include <cfloat>
#include <map>
#include <random>

#include "ops/op_registry.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "engine/compare.h"
#include "kernels/kernel.h"
#include "optimizer/pass.h"
#include "optimizer/passes.h"
#include "parser/onnx_parser.h"
#include "test_models.h"
#include "test_util.h"
#include "optimizer_test_util.h"

using namespace engine;
using engine::testing::MakeFloat;
using engine::testing::MakeInt64;
using engine::testing::ModelBuilder;
using engine::testing::Count;
using engine::testing::FindOp;
using engine::testing::Parse;
using engine::testing::RandomTensor;

namespace {



using Counters = std::map<std::string, int64_t>;

int64_t Counter(const Counters& c, const std::string& key) {
  auto it = c.find(key);
  return it == c.end() ? 0 : it->second;
}

// Runs `passes` on `g` with an optional fusion verdict; returns the counters
// of the last pass.
Counters RunPasses(ir::Graph& g, const std::vector<std::string>& passes,
                   opt::PassContext context = {}) {
  auto pm = opt::BuildPipeline(2, passes);
  REQUIRE(pm.ok());
  (*pm)->set_context(std::move(context));
  absl::Status s = (*pm)->Run(g);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return (*pm)->records().back().counters;
}

// Evaluates `g` node by node with the host kernels; returns the graph outputs.
std::vector<Tensor> Evaluate(const ir::Graph& g, const std::map<std::string, Tensor>& inputs) {
  std::map<const ir::Value*, Tensor> env;
  for (const ir::Value* v : g.inputs()) {
    INFO("input " << v->name);
    REQUIRE(inputs.count(v->name) == 1);
    env[v] = inputs.at(v->name);
  }
  auto lookup = [&](const ir::Value* v) -> const Tensor* {
    if (v == nullptr) return nullptr;
    if (v->is_constant()) return v->constant.get();
    return &env.at(v);
  };
  for (const auto& node : g.nodes()) {
    std::vector<const Tensor*> in;
    for (const ir::Value* v : node->inputs) in.push_back(lookup(v));
    auto out =
        ops::EvaluateLayer(ops::OpRegistry::Builtin(), node->op_type, node->attrs, in);
    INFO(node->Describe() << ": " << out.status().ToString());
    REQUIRE(out.ok());
    for (size_t k = 0; k < node->outputs.size(); ++k) {
      if (node->outputs[k] != nullptr) env[node->outputs[k]] = std::move((*out)[k]);
    }
  }
  std::vector<Tensor> result;
  for (const ir::Value* v : g.outputs()) result.push_back(*lookup(v));
  return result;
}

// Random values for every graph input of `g` (float32).
std::map<std::string, Tensor> RandomInputs(const ir::Graph& g, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::map<std::string, Tensor> inputs;
  for (const ir::Value* v : g.inputs()) inputs[v->name] = RandomTensor(v->shape, rng, -2.0f, 2.0f);
  return inputs;
}

// Parses `model` twice, runs `passes` on one copy and checks that both give
// the same outputs on random input. Returns the optimized graph and counters.
struct Optimized {
  std::unique_ptr<ir::Graph> before;
  std::unique_ptr<ir::Graph> after;
  Counters counters;
};

Optimized OptimizeAndCompare(const std::string& model, const std::vector<std::string>& passes,
                             opt::PassContext context = {}) {
  Optimized r;
  r.before = Parse(model);
  r.after = Parse(model);
  r.counters = RunPasses(*r.after, passes, std::move(context));
  auto inputs = RandomInputs(*r.before);
  std::vector<Tensor> expected = Evaluate(*r.before, inputs);
  std::vector<Tensor> actual = Evaluate(*r.after, inputs);
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    CompareResult c = CompareTensors(actual[i], expected[i], 1e-4, 1e-5);
    INFO("output " << i << ": " << c.message);
    CHECK(c.passed);
  }
  // Graph outputs keep their names.
  REQUIRE(r.after->outputs().size() == r.before->outputs().size());
  for (size_t i = 0; i < r.after->outputs().size(); ++i) {
    CHECK(r.after->outputs()[i]->name == r.before->outputs()[i]->name);
  }
  return r;
}

std::mt19937& Rng() {
  static std::mt19937 rng(1234);
  return rng;
}

Tensor Rand(const Dims& shape, float lo = -1.0f, float hi = 1.0f) {
  return RandomTensor(shape, Rng(), lo, hi);
}

// BN parameters for `c` channels named <prefix>_{scale,bias,mean,var}.
void AddBnParams(ModelBuilder& b, const std::string& prefix, int64_t c) {
  b.Initializer(prefix + "_scale", Rand({c}, 0.5f, 1.5f));
  b.Initializer(prefix + "_bias", Rand({c}));
  b.Initializer(prefix + "_mean", Rand({c}));
  b.Initializer(prefix + "_var", Rand({c}, 0.2f, 2.0f));
}

std::vector<std::string> BnInputs(const std::string& x, const std::string& prefix) {
  return {x, prefix + "_scale", prefix + "_bias", prefix + "_mean", prefix + "_var"};
}

void SetString(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

std::string AttrString(const ir::Node& n, const std::string& name) {
  auto v = n.attrs.GetString(name, "");
  return v.ok() ? *v : "<error>";
}

}  // namespace

// ---------------------------------------------------------------------------
// Pipelines

TEST_CASE("Optimization levels run the documented pipelines", "[optimizer]") {
  const std::vector<std::string> full = {
      "fold-constants", "eliminate-identity", "simplify-reshape", "fuse-layernorm",
      "fold-pad",       "fold-batchnorm", "fold-scale-shift",     "minmax-to-clip",
      "fuse-matmul-add",
      "fuse-residual",  "fuse-swish",     "fuse-gelu",            "fuse-attention",
      "fuse-attention-heads", "fuse-activation",
      "eliminate-dead-nodes"};
  CHECK(opt::AllPassNamesInOrder() == full);
  CHECK(opt::PassesForLevel(0) == std::vector<std::string>{"eliminate-dead-nodes"});
  CHECK(opt::PassesForLevel(1) ==
        std::vector<std::string>{"fold-constants", "eliminate-identity", "eliminate-dead-nodes"});
  CHECK(opt::PassesForLevel(2) == full);
  CHECK(opt::PassesForLevel(3) == full);
  auto pm = opt::BuildPipeline(2, {});
  REQUIRE(pm.ok());
  CHECK((*pm)->PassNames() == full);
  for (const std::string& name : full) {
    auto p = opt::CreatePass(name);
    REQUIRE(p.ok());
    CHECK((*p)->name() == name);
    CHECK_FALSE((*p)->description().empty());
  }
}

// ---------------------------------------------------------------------------
// fold-batchnorm

TEST_CASE("fold-batchnorm folds BN into a Conv's weights and bias", "[optimizer]") {
  int64_t group = 1;
  bool with_bias = true;
  SECTION("with bias") {}
  SECTION("without bias (a bias is created)") { with_bias = false; }
  SECTION("grouped conv") { group = 2; }
  SECTION("depthwise conv without bias") {
    group = 4;
    with_bias = false;
  }
  const int64_t m = group == 4 ? 4 : 6;  // output channels (a multiple of group)
  ModelBuilder b;
  b.Input("x", {2, 4, 7, 7});
  b.Initializer("w", Rand({m, 4 / group, 3, 3}));
  if (with_bias) b.Initializer("cb", Rand({m}));
  AddBnParams(b, "bn", m);
  auto& conv = b.Node(
      "Conv",
      with_bias ? std::vector<std::string>{"x", "w", "cb"} : std::vector<std::string>{"x", "w"},
      {"c"}, "conv1");
  ModelBuilder::SetInts(conv, "pads", {1, 1, 1, 1});
  ModelBuilder::SetInt(conv, "group", group);
  auto& bn = b.Node("BatchNormalization", BnInputs("c", "bn"), {"y"}, "bn1");
  ModelBuilder::SetFloat(bn, "epsilon", 1e-3f);
  b.Output("y", {2, m, 7, 7});

  Optimized r = OptimizeAndCompare(b.Serialize(), {"fold-batchnorm"});
  CHECK(Count(*r.before, "BatchNormalization") == 1);
  CHECK(Count(*r.after, "BatchNormalization") == 0);
  REQUIRE(r.after->nodes().size() == 1);
  const ir::Node& fused = *r.after->nodes()[0];
  CHECK(fused.op_type == "Conv");
  CHECK(fused.name == "conv1 + bn1");
  CHECK(fused.onnx_nodes == std::vector<std::string>{"conv1", "bn1"});
  REQUIRE(fused.inputs.size() == 3);
  CHECK(fused.inputs[2]->is_constant());
  CHECK(fused.outputs[0]->name == "y");
  CHECK(Counter(r.counters, "fired") == 1);
  CHECK(Counter(r.counters, "fired.folded_into_conv") == 1);
}

TEST_CASE("fold-batchnorm folds BN into a Gemm for transB alpha beta and C shapes", "[optimizer]") {
  int64_t trans_b = 0;
  float alpha = 1.0f, beta = 1.0f;
  Dims c_shape = {4};
  SECTION("transB=0, C [N]") {}
  SECTION("transB=1, C [N], alpha and beta") {
    trans_b = 1;
    alpha = 0.5f;
    beta = 2.0f;
  }
  SECTION("transB=1, C [M,N]") {
    trans_b = 1;
    c_shape = {3, 4};
    beta = -1.5f;
  }
  SECTION("transB=0, C [M,1]") { c_shape = {3, 1}; }
  SECTION("transB=1, no C") {
    trans_b = 1;
    c_shape.clear();
  }
  ModelBuilder b;
  b.Input("x", {3, 5});
  b.Initializer("wb", Rand(trans_b != 0 ? Dims{4, 5} : Dims{5, 4}));
  std::vector<std::string> gemm_inputs = {"x", "wb"};
  if (!c_shape.empty()) {
    b.Initializer("wc", Rand(c_shape));
    gemm_inputs.push_back("wc");
  }
  AddBnParams(b, "bn", 4);
  auto& gemm = b.Node("Gemm", gemm_inputs, {"g"}, "fc");
  ModelBuilder::SetInt(gemm, "transB", trans_b);
  ModelBuilder::SetFloat(gemm, "alpha", alpha);
  ModelBuilder::SetFloat(gemm, "beta", beta);
  b.Node("BatchNormalization", BnInputs("g", "bn"), {"y"}, "bn");
  b.Output("y", {3, 4});

  Optimized r = OptimizeAndCompare(b.Serialize(), {"fold-batchnorm"});
  REQUIRE(r.after->nodes().size() == 1);
  const ir::Node& fused = *r.after->nodes()[0];
  CHECK(fused.op_type == "Gemm");
  CHECK(fused.name == "fc + bn");
  CHECK(fused.onnx_nodes == std::vector<std::string>{"fc", "bn"});
  CHECK(Counter(r.counters, "fired.folded_into_gemm") == 1);
}

TEST_CASE("fold-batchnorm turns a lone BN into a per-channel scale and shift", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {2, 3, 4, 5});
  AddBnParams(b, "bn", 3);
  b.Node("Relu", {"x"}, {"r"}, "relu0");
  b.Node("BatchNormalization", BnInputs("r", "bn"), {"y"}, "bn1");
  b.Output("y", {2, 3, 4, 5});

  Optimized r = OptimizeAndCompare(b.Serialize(), {"fold-batchnorm"});
  // Still one layer (one vector pass on the accelerator), now y = x * a + s.
  REQUIRE(Count(*r.after, "BatchNormalization") == 1);
  CHECK(Count(*r.after, "Mul") == 0);
  const ir::Node* bn = FindOp(*r.after, "BatchNormalization");
  CHECK(bn->name == "bn1");
  CHECK(bn->onnx_nodes == std::vector<std::string>{"bn1"});
  CHECK(bn->attrs.Float("epsilon", 1) == 0.0f);
  for (int i = 0; i < 3; ++i) {
    CHECK(bn->inputs[3]->constant->data_as<float>()[i] == 0.0f);
    CHECK(bn->inputs[4]->constant->data_as<float>()[i] == 1.0f);
  }
  CHECK(bn->outputs[0]->name == "y");
  CHECK(Counter(r.counters, "fired") == 1);
  CHECK(Counter(r.counters, "fired.scale_shift") == 1);
  CHECK(Counter(r.counters, "skipped.producer_not_conv_or_gemm") == 1);
}

TEST_CASE("fold-scale-shift folds per-channel Mul, Add and Sub constants into a Conv",
          "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 2, 5, 5});
  std::mt19937 rng(11);
  b.Initializer("w", testing::RandomTensor({3, 2, 3, 3}, rng));
  b.Initializer("scale", testing::RandomTensor({3, 1, 1}, rng));
  b.Initializer("shift", testing::RandomTensor({1, 3, 1, 1}, rng));
  b.Initializer("k", testing::MakeFloat({1}, {0.25f}));
  b.Node("Conv", {"x", "w"}, {"c"}, "conv");
  b.Node("Mul", {"scale", "c"}, {"m"}, "mul");  // constant on the left
  b.Node("Add", {"m", "shift"}, {"a"}, "add");
  b.Node("Sub", {"a", "k"}, {"y"}, "sub");      // scalar
  b.Output("y", {1, 3, 3, 3});

  Optimized r = OptimizeAndCompare(b.Serialize(), {"fold-scale-shift"});
  REQUIRE(r.after->nodes().size() == 1);
  const ir::Node& conv = *r.after->nodes()[0];
  CHECK(conv.op_type == "Conv");
  CHECK(conv.name == "conv + mul + add + sub");
  CHECK(conv.onnx_nodes == std::vector<std::string>{"conv", "mul", "add", "sub"});
  CHECK(conv.outputs[0]->name == "y");
  CHECK(Counter(r.counters, "fired") == 3);
  CHECK(Counter(r.counters, "fired.Mul") == 1);
  CHECK(Counter(r.counters, "fired.Sub") == 1);
}

TEST_CASE("fold-scale-shift declines constants that are not per channel", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 2, 5, 5});
  std::mt19937 rng(12);
  b.Initializer("w", testing::RandomTensor({3, 2, 3, 3}, rng));
  b.Initializer("plane", testing::RandomTensor({1, 1, 3, 3}, rng));
  b.Initializer("k", testing::MakeFloat({1}, {2.0f}));
  b.Node("Conv", {"x", "w"}, {"c"}, "conv");
  b.Node("Add", {"c", "plane"}, {"a"}, "add_plane");  // varies over H, W
  b.Node("Sub", {"k", "a"}, {"y"}, "k_minus");        // constant - activation
  b.Output("y", {1, 3, 3, 3});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fold-scale-shift"});
  CHECK(r.after->nodes().size() == 3);
  CHECK(Counter(r.counters, "skipped.not_per_channel") == 1);
  CHECK(Counter(r.counters, "fired") == 0);
}

TEST_CASE("fold-batchnorm declines unsafe folds and says why", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 3, 5, 5});
  std::string reason;
  bool lone_rewrite = true;
  AddBnParams(b, "bn", 4);
  SECTION("conv output is a graph output") {
    reason = "skipped.intermediate_is_graph_output";
    b.Initializer("w", Rand({4, 3, 3, 3}));
    b.Node("Conv", {"x", "w"}, {"c"}, "conv");
    b.Node("BatchNormalization", BnInputs("c", "bn"), {"y"}, "bn");
    b.Output("c", {1, 4, 3, 3});
  }
  SECTION("conv output has two readers") {
    reason = "skipped.multiple_consumers";
    b.Initializer("w", Rand({4, 3, 3, 3}));
    b.Node("Conv", {"x", "w"}, {"c"}, "conv");
    b.Node("BatchNormalization", BnInputs("c", "bn"), {"y"}, "bn");
    b.Node("Relu", {"c"}, {"z"}, "relu");
    b.Output("z", {1, 4, 3, 3});
  }
  SECTION("conv weights are not constant") {
    reason = "skipped.non_constant_weights";
    b.Input("w", {4, 3, 3, 3});
    b.Node("Conv", {"x", "w"}, {"c"}, "conv");
    b.Node("BatchNormalization", BnInputs("c", "bn"), {"y"}, "bn");
  }
  SECTION("BN parameters are not constant: BN kept") {
    reason = "skipped.non_constant_params";
    lone_rewrite = false;
    b.Input("mean2", {4});
    b.Initializer("w", Rand({4, 3, 3, 3}));
    b.Node("Conv", {"x", "w"}, {"c"}, "conv");
    b.Node("BatchNormalization", {"c", "bn_scale", "bn_bias", "mean2", "bn_var"}, {"y"}, "bn");
  }
  b.Output("y", {1, 4, 3, 3});

  Optimized r = OptimizeAndCompare(b.Serialize(), {"fold-batchnorm"});
  CHECK(Counter(r.counters, reason) == 1);
  CHECK(Counter(r.counters, "fired.folded_into_conv") == 0);
  const ir::Node* conv = FindOp(*r.after, "Conv");
  REQUIRE(conv != nullptr);
  CHECK(conv->name == "conv");
  CHECK(conv->outputs[0]->name == "c");
  if (lone_rewrite) {
    CHECK(Counter(r.counters, "fired.scale_shift") == 1);
    CHECK(Count(*r.after, "BatchNormalization") == 1);  // now a scale and shift
  } else {
    CHECK(Counter(r.counters, "fired") == 0);
    CHECK(Count(*r.after, "BatchNormalization") == 1);
  }
}

// ---------------------------------------------------------------------------
// fold-pad

TEST_CASE("fold-pad folds a zero Pad into Conv and AveragePool pads", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 2, 6, 6});
  // [N, C, H, W] begin then end: H 1/2, W 2/1.
  b.Initializer("pads", MakeInt64({8}, {0, 0, 1, 2, 0, 0, 2, 1}));
  std::string consumer;
  SECTION("Conv with its own pads") {
    consumer = "Conv";
    b.Initializer("w", Rand({3, 2, 3, 3}));
    b.Initializer("zero", MakeFloat({}, {0.0f}));
    b.Node("Pad", {"x", "pads", "zero"}, {"p"}, "pad");
    auto& conv = b.Node("Conv", {"p", "w"}, {"y"}, "conv");
    ModelBuilder::SetInts(conv, "pads", {1, 0, 0, 1});
    b.Output("y", {1, 3, 8, 8});
  }
  SECTION("AveragePool with count_include_pad=1") {
    consumer = "AveragePool";
    b.Node("Pad", {"x", "pads"}, {"p"}, "pad");
    auto& pool = b.Node("AveragePool", {"p"}, {"y"}, "pool");
    ModelBuilder::SetInts(pool, "kernel_shape", {3, 3});
    ModelBuilder::SetInts(pool, "strides", {2, 2});
    ModelBuilder::SetInt(pool, "count_include_pad", 1);
    b.Output("y", {1, 2, 4, 4});
  }
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fold-pad"});
  CHECK(Count(*r.after, "Pad") == 0);
  REQUIRE(r.after->nodes().size() == 1);
  const ir::Node& n = *r.after->nodes()[0];
  CHECK(n.op_type == consumer);
  CHECK(n.name == (consumer == "Conv" ? "pad + conv" : "pad + pool"));
  CHECK(n.onnx_nodes.size() == 2);
  CHECK(n.inputs[0]->name == "x");
  if (consumer == "Conv") {
    CHECK(n.attrs.Ints("pads") == std::vector<int64_t>{2, 2, 2, 2});
  } else {
    CHECK(n.attrs.Ints("pads") == std::vector<int64_t>{1, 2, 2, 1});
  }
  CHECK(Counter(r.counters, "fired") == 1);
}

TEST_CASE("fold-pad declines pads it cannot fold and says why", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 2, 6, 6});
  std::vector<int64_t> pads = {0, 0, 1, 1, 0, 0, 1, 1};
  std::string reason;
  std::string pad_value;  // initializer name of constant_value, "" = absent
  std::string mode;
  std::string consumer = "Conv";
  bool pad_output_is_graph_output = false;
  bool second_reader = false;
  int64_t count_include_pad = 1;
  SECTION("reflect mode") {
    reason = "skipped.not_constant_mode";
    mode = "reflect";
  }
  SECTION("nonzero constant value") {
    reason = "skipped.nonzero_value";
    b.Initializer("v", MakeFloat({}, {1.0f}));
    pad_value = "v";
  }
  SECTION("pads on the channel axis") {
    reason = "skipped.pads_batch_or_channel";
    pads = {0, 1, 1, 1, 0, 0, 1, 1};
  }
  SECTION("negative pads (crop)") {
    reason = "skipped.negative_pads";
    pads = {0, 0, -1, 1, 0, 0, 1, 1};
  }
  SECTION("MaxPool consumer") {
    reason = "skipped.consumer_not_conv_or_avgpool";
    consumer = "MaxPool";
  }
  SECTION("AveragePool without count_include_pad") {
    reason = "skipped.count_include_pad_0";
    consumer = "AveragePool";
    count_include_pad = 0;
  }
  SECTION("padded tensor is a graph output") {
    reason = "skipped.intermediate_is_graph_output";
    pad_output_is_graph_output = true;
  }
  SECTION("padded tensor has two readers") {
    reason = "skipped.multiple_consumers";
    second_reader = true;
  }
  b.Initializer("pads", MakeInt64({8}, pads));
  std::vector<std::string> pad_inputs = {"x", "pads"};
  if (!pad_value.empty()) pad_inputs.push_back(pad_value);
  auto& pad = b.Node("Pad", pad_inputs, {"p"}, "pad");
  if (!mode.empty()) SetString(pad, "mode", mode);
  const int64_t padded_c = pads[1] + pads[5] + 2;
  const int64_t padded_h = 6 + pads[2] + pads[6];
  const int64_t padded_w = 6 + pads[3] + pads[7];
  if (consumer == "Conv") {
    b.Initializer("w", Rand({3, padded_c, 3, 3}));
    b.Node("Conv", {"p", "w"}, {"y"}, "conv");
    b.Output("y", {1, 3, padded_h - 2, padded_w - 2});
  } else {
    auto& pool = b.Node(consumer, {"p"}, {"y"}, "pool");
    ModelBuilder::SetInts(pool, "kernel_shape", {3, 3});
    if (consumer == "AveragePool")
      ModelBuilder::SetInt(pool, "count_include_pad", count_include_pad);
    b.Output("y", {1, 2, padded_h - 2, padded_w - 2});
  }
  if (pad_output_is_graph_output) b.Output("p", {1, padded_c, padded_h, padded_w});
  if (second_reader) {
    b.Node("Relu", {"p"}, {"z"}, "relu");
    b.Output("z", {1, padded_c, padded_h, padded_w});
  }

  Optimized r = OptimizeAndCompare(b.Serialize(), {"fold-pad"});
  CHECK(Counter(r.counters, reason) == 1);
  CHECK(Counter(r.counters, "fired") == 0);
  CHECK(Count(*r.after, "Pad") == 1);
}

// FastestDet (models/real/fastestdet, PyTorch AvgPool2d(3, 2, padding=1)
// exported at opset 11): an explicit zero Pad feeding an AveragePool with the
// default count_include_pad=0. The padded zeros are real input values and
// count in every window's divisor. ONNX Runtime 1.20.1's Pad fusion folded
// them into the pool's pads without setting count_include_pad=1 (onnxruntime
// #22177, fixed in 1.21), which made its stored reference divide border
// windows by the in-bounds taps only; fold-pad must never do the same.
TEST_CASE("fold-pad keeps FastestDet's Pad before an AveragePool with count_include_pad=0",
          "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 1, 4, 4});
  b.Initializer("pads", MakeInt64({8}, {0, 0, 1, 1, 0, 0, 1, 1}));
  b.Node("Pad", {"x", "pads"}, {"p"}, "Pad_228");
  auto& pool = b.Node("AveragePool", {"p"}, {"y"}, "AveragePool_229");
  ModelBuilder::SetInts(pool, "kernel_shape", {3, 3});
  ModelBuilder::SetInts(pool, "strides", {2, 2});
  ModelBuilder::SetInts(pool, "pads", {0, 0, 0, 0});
  b.Output("y", {1, 1, 2, 2});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fold-pad"});
  CHECK(Counter(r.counters, "skipped.count_include_pad_0") == 1);
  CHECK(Count(*r.after, "Pad") == 1);
  // All-ones input: the corner window holds 4 ones and 5 padded zeros (4/9),
  // the edge windows 6 ones (6/9), the inner window 9; folded pads with
  // count_include_pad=0 would give 1 everywhere.
  std::map<std::string, Tensor> ones{{"x", MakeFloat({1, 1, 4, 4}, std::vector<float>(16, 1.0f))}};
  const std::vector<Tensor> y = Evaluate(*r.after, ones);
  REQUIRE(y.size() == 1);
  REQUIRE(y[0].num_elements() == 4);
  const float* v = y[0].data_as<float>();
  CHECK(v[0] == Approx(4.0 / 9));
  CHECK(v[1] == Approx(6.0 / 9));
  CHECK(v[2] == Approx(6.0 / 9));
  CHECK(v[3] == Approx(1.0));
}

// ---------------------------------------------------------------------------
// fuse-matmul-add

TEST_CASE("fuse-matmul-add turns MatMul + bias Add into a Gemm", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {3, 5});
  b.Initializer("w", Rand({5, 4}));
  bool bias_first = false;
  SECTION("bias [N]") { b.Initializer("bias", Rand({4})); }
  SECTION("bias [1,N], as the Add's first operand") {
    b.Initializer("bias", Rand({1, 4}));
    bias_first = true;
  }
  SECTION("scalar bias") { b.Initializer("bias", Rand({})); }
  b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
  b.Node("Add",
         bias_first ? std::vector<std::string>{"bias", "m"} : std::vector<std::string>{"m", "bias"},
         {"y"}, "add");
  b.Output("y", {3, 4});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-matmul-add"});
  CHECK(Count(*r.after, "MatMul") == 0);
  CHECK(Count(*r.after, "Add") == 0);
  REQUIRE(r.after->nodes().size() == 1);
  const ir::Node& g = *r.after->nodes()[0];
  CHECK(g.op_type == "Gemm");
  CHECK(g.name == "mm + add");
  CHECK(g.onnx_nodes == std::vector<std::string>{"mm", "add"});
  REQUIRE(g.inputs.size() == 3);
  CHECK(g.inputs[2]->name == "bias");
  CHECK(g.attrs.Float("alpha", 0) == 1.0f);
  CHECK(g.attrs.Float("beta", 0) == 1.0f);
  CHECK(g.attrs.Int("transA", 9) == 0);
  CHECK(g.attrs.Int("transB", 9) == 0);
  CHECK(g.outputs[0]->name == "y");
  CHECK(Counter(r.counters, "fired") == 1);
}

TEST_CASE("fuse-matmul-add takes a transformer projection [B, S, K] x [K, N] + bias",
          "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {2, 3, 5});
  b.Initializer("w", Rand({5, 4}));
  b.Initializer("bias", Rand({4}));
  b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
  b.Node("Add", {"m", "bias"}, {"a"}, "add");
  b.Node("Relu", {"a"}, {"y"}, "relu");
  b.Output("y", {2, 3, 4});
  {
    Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-matmul-add"});
    CHECK(Counter(r.counters, "fired") == 1);
    CHECK(Counter(r.counters, "fired.nd") == 1);
    CHECK(Count(*r.after, "MatMul") == 0);
    CHECK(Count(*r.after, "Add") == 0);
  }
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-matmul-add", "fuse-activation"});
  REQUIRE(r.after->nodes().size() == 1);
  const ir::Node& g = *r.after->nodes()[0];
  CHECK(g.op_type == "Gemm");
  CHECK(g.onnx_nodes == std::vector<std::string>{"mm", "add", "relu"});
  CHECK(AttrString(g, "activation") == "Relu");
  CHECK(g.outputs[0]->shape == Dims{2, 3, 4});
  CHECK(Counter(r.counters, "fired.Relu") == 1);
}

TEST_CASE("fuse-activation takes a Gelu (erf and tanh) into an N-D Gemm", "[optimizer]") {
  for (const char* approx : {"none", "tanh"}) {
    DYNAMIC_SECTION("approximate " << approx) {
      ModelBuilder b(20);
      b.Input("x", {2, 3, 8});
      b.Initializer("w", Rand({8, 6}));
      b.Initializer("bias", Rand({6}));
      b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
      b.Node("Add", {"m", "bias"}, {"a"}, "add");
      auto& gelu = b.Node("Gelu", {"a"}, {"y"}, "gelu");
      auto* attr = gelu.add_attribute();
      attr->set_name("approximate");
      attr->set_type(onnx::AttributeProto::STRING);
      attr->set_s(approx);
      b.Output("y", {2, 3, 6});
      Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-matmul-add", "fuse-activation"});
      REQUIRE(r.after->nodes().size() == 1);
      const ir::Node& g = *r.after->nodes()[0];
      CHECK(g.op_type == "Gemm");
      CHECK(AttrString(g, "activation") == "Gelu");
      CHECK(Counter(r.counters, "fired.Gelu") == 1);
      CHECK(g.attrs.Float("activation_alpha", -1) == (std::string(approx) == "tanh" ? 1.0f : 0.0f));
      CHECK(g.onnx_nodes.size() == 3);
    }
  }
}

TEST_CASE("fuse-matmul-add declines and says why", "[optimizer]") {
  ModelBuilder b;
  std::string reason;
  SECTION("weights are not constant") {
    reason = "skipped.non_constant_weights";
    b.Input("x", {3, 5});
    b.Input("w", {5, 4});
    b.Initializer("bias", Rand({4}));
    b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
    b.Node("Add", {"m", "bias"}, {"y"}, "add");
    b.Output("y", {3, 4});
  }
  SECTION("weights are 3-D (a batched product)") {
    reason = "skipped.weights_not_2d";
    b.Input("x", {2, 3, 5});
    b.Initializer("w", Rand({2, 5, 4}));
    b.Initializer("bias", Rand({4}));
    b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
    b.Node("Add", {"m", "bias"}, {"y"}, "add");
    b.Output("y", {2, 3, 4});
  }
  SECTION("A is 3-D and the bias varies per row") {
    reason = "skipped.bias_shape";
    b.Input("x", {2, 3, 5});
    b.Initializer("w", Rand({5, 4}));
    b.Initializer("bias", Rand({3, 4}));
    b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
    b.Node("Add", {"m", "bias"}, {"y"}, "add");
    b.Output("y", {2, 3, 4});
  }
  SECTION("product is a graph output") {
    reason = "skipped.intermediate_is_graph_output";
    b.Input("x", {3, 5});
    b.Initializer("w", Rand({5, 4}));
    b.Initializer("bias", Rand({4}));
    b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
    b.Node("Add", {"m", "bias"}, {"y"}, "add");
    b.Output("y", {3, 4});
    b.Output("m", {3, 4});
  }
  SECTION("product has two readers") {
    reason = "skipped.multiple_consumers";
    b.Input("x", {3, 5});
    b.Initializer("w", Rand({5, 4}));
    b.Initializer("bias", Rand({4}));
    b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
    b.Node("Add", {"m", "bias"}, {"y"}, "add");
    b.Node("Relu", {"m"}, {"z"}, "relu");
    b.Output("y", {3, 4});
    b.Output("z", {3, 4});
  }
  SECTION("bias varies per row") {
    reason = "skipped.bias_shape";
    b.Input("x", {3, 5});
    b.Initializer("w", Rand({5, 4}));
    b.Initializer("bias", Rand({3, 4}));
    b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
    b.Node("Add", {"m", "bias"}, {"y"}, "add");
    b.Output("y", {3, 4});
  }
  SECTION("bias is not constant") {
    reason = "skipped.non_constant_bias";
    b.Input("x", {3, 5});
    b.Input("bias", {4});
    b.Initializer("w", Rand({5, 4}));
    b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
    b.Node("Add", {"m", "bias"}, {"y"}, "add");
    b.Output("y", {3, 4});
  }
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-matmul-add"});
  CHECK(Counter(r.counters, reason) == 1);
  CHECK(Counter(r.counters, "fired") == 0);
  CHECK(Count(*r.after, "MatMul") == 1);
  CHECK(Count(*r.after, "Gemm") == 0);
}

// ---------------------------------------------------------------------------
// simplify-reshape

TEST_CASE("simplify-reshape collapses Flatten/Reshape chains to one Reshape", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {2, 3, 4, 5});
  b.Initializer("s2", MakeInt64({2}, {-1, 10}));
  b.Initializer("s3", MakeInt64({3}, {3, 0, 4}));
  auto& f = b.Node("Flatten", {"x"}, {"f"}, "flat");
  ModelBuilder::SetInt(f, "axis", 2);
  b.Node("Reshape", {"f", "s2"}, {"r2"}, "reshape2");
  b.Node("Reshape", {"r2", "s3"}, {"y"}, "reshape3");  // 0 copies dim 1 (10)
  b.Output("y", {3, 10, 4});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"simplify-reshape"});
  REQUIRE(r.after->nodes().size() == 1);
  const ir::Node& n = *r.after->nodes()[0];
  CHECK(n.op_type == "Reshape");
  CHECK(n.name == "flat + reshape2 + reshape3");
  CHECK(n.onnx_nodes == std::vector<std::string>{"flat", "reshape2", "reshape3"});
  CHECK(n.inputs[0]->name == "x");
  REQUIRE(n.inputs[1]->is_constant());
  CHECK(testing::Values<int64_t>(*n.inputs[1]->constant) == std::vector<int64_t>{3, 10, 4});
  CHECK(Counter(r.counters, "fired.reshape_chain") == 2);
  CHECK(Counter(r.counters, "fired") == 2);
}

TEST_CASE("simplify-reshape composes and cancels Transposes", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {2, 3, 4, 5});
  SECTION("inverse pair: both removed") {
    auto& t1 = b.Node("Transpose", {"x"}, {"t1"}, "t1");
    ModelBuilder::SetInts(t1, "perm", {0, 2, 3, 1});
    auto& t2 = b.Node("Transpose", {"t1"}, {"t2"}, "t2");
    ModelBuilder::SetInts(t2, "perm", {0, 3, 1, 2});
    b.Node("Relu", {"t2"}, {"y"}, "relu");
    b.Output("y", {2, 3, 4, 5});
    Optimized r = OptimizeAndCompare(b.Serialize(), {"simplify-reshape"});
    CHECK(Count(*r.after, "Transpose") == 0);
    REQUIRE(r.after->nodes().size() == 1);
    CHECK(r.after->nodes()[0]->inputs[0]->name == "x");
    CHECK(Counter(r.counters, "fired.transpose_cancelled") == 1);
  }
  SECTION("inverse pair ending in a graph output: one identity Transpose keeps the name") {
    auto& t1 = b.Node("Transpose", {"x"}, {"t1"}, "t1");
    ModelBuilder::SetInts(t1, "perm", {0, 2, 3, 1});
    auto& t2 = b.Node("Transpose", {"t1"}, {"y"}, "t2");
    ModelBuilder::SetInts(t2, "perm", {0, 3, 1, 2});
    b.Output("y", {2, 3, 4, 5});
    Optimized r = OptimizeAndCompare(b.Serialize(), {"simplify-reshape"});
    REQUIRE(r.after->nodes().size() == 1);
    CHECK(r.after->nodes()[0]->name == "t1 + t2");
    CHECK(r.after->nodes()[0]->attrs.Ints("perm") == std::vector<int64_t>{0, 1, 2, 3});
    CHECK(Counter(r.counters, "fired.transpose_chain") == 1);
  }
  SECTION("general pair: composed perm") {
    auto& t1 = b.Node("Transpose", {"x"}, {"t1"}, "t1");
    ModelBuilder::SetInts(t1, "perm", {0, 2, 3, 1});
    auto& t2 = b.Node("Transpose", {"t1"}, {"y"}, "t2");
    ModelBuilder::SetInts(t2, "perm", {0, 2, 3, 1});
    b.Output("y", {2, 5, 3, 4});
    Optimized r = OptimizeAndCompare(b.Serialize(), {"simplify-reshape"});
    REQUIRE(r.after->nodes().size() == 1);
    const ir::Node& n = *r.after->nodes()[0];
    CHECK(n.name == "t1 + t2");
    CHECK(n.attrs.Ints("perm") == std::vector<int64_t>{0, 3, 1, 2});
    CHECK(n.inputs[0]->name == "x");
  }
  SECTION("default perms (reversed twice) cancel") {
    b.Node("Transpose", {"x"}, {"t1"}, "t1");
    b.Node("Transpose", {"t1"}, {"t2"}, "t2");
    b.Node("Relu", {"t2"}, {"y"}, "relu");
    b.Output("y", {2, 3, 4, 5});
    Optimized r = OptimizeAndCompare(b.Serialize(), {"simplify-reshape"});
    CHECK(Count(*r.after, "Transpose") == 0);
  }
  SECTION("first Transpose has two readers") {
    auto& t1 = b.Node("Transpose", {"x"}, {"t1"}, "t1");
    ModelBuilder::SetInts(t1, "perm", {0, 2, 3, 1});
    auto& t2 = b.Node("Transpose", {"t1"}, {"y"}, "t2");
    ModelBuilder::SetInts(t2, "perm", {0, 3, 1, 2});
    b.Node("Relu", {"t1"}, {"z"}, "relu");
    b.Output("y", {2, 3, 4, 5});
    b.Output("z", {2, 4, 5, 3});
    Optimized r = OptimizeAndCompare(b.Serialize(), {"simplify-reshape"});
    CHECK(Count(*r.after, "Transpose") == 2);
    CHECK(Counter(r.counters, "skipped.multiple_consumers") == 1);
  }
}

TEST_CASE("simplify-reshape removes no-op Reshapes but keeps graph output names", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {2, 6});
  b.Initializer("s", MakeInt64({2}, {2, -1}));
  b.Node("Reshape", {"x", "s"}, {"r"}, "noop");
  b.Node("Relu", {"r"}, {"z"}, "relu");
  b.Node("Reshape", {"z", "s"}, {"y"}, "noop_out");
  b.Output("y", {2, 6});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"simplify-reshape"});
  CHECK(Count(*r.after, "Reshape") == 1);
  CHECK(FindOp(*r.after, "Relu")->inputs[0]->name == "x");
  CHECK(Counter(r.counters, "fired.identity_reshape") == 1);
  CHECK(Counter(r.counters, "skipped.output_is_graph_output") == 1);
}

// ---------------------------------------------------------------------------
// fuse-residual

namespace {

// conv1 (x [1,4,6,6] -> [1,4,6,6]) + residual x, optionally + Relu.
std::string ResidualModel(bool relu, int64_t group = 1, bool bias = true,
                          bool residual_first = false) {
  ModelBuilder b;
  b.Input("x", {1, 4, 6, 6});
  b.Initializer("w", Rand({4, 4 / group, 3, 3}));
  std::vector<std::string> conv_inputs = {"x", "w"};
  if (bias) {
    b.Initializer("cb", Rand({4}));
    conv_inputs.push_back("cb");
  }
  auto& conv = b.Node("Conv", conv_inputs, {"c"}, "conv1");
  ModelBuilder::SetInts(conv, "pads", {1, 1, 1, 1});
  ModelBuilder::SetInt(conv, "group", group);
  b.Node("Add",
         residual_first ? std::vector<std::string>{"x", "c"} : std::vector<std::string>{"c", "x"},
         {relu ? "s" : "y"}, "add");
  if (relu) b.Node("Relu", {"s"}, {"y"}, "relu");
  b.Output("y", {1, 4, 6, 6});
  return b.Serialize();
}

}  // namespace

TEST_CASE("fuse-residual fuses Conv + Add (+ Relu) into a Conv with input 3", "[optimizer]") {
  bool relu = true, bias = true, residual_first = false;
  int64_t group = 1;
  SECTION("with Relu") {}
  SECTION("without Relu") { relu = false; }
  SECTION("grouped, no bias, residual as the first Add operand") {
    group = 2;
    bias = false;
    residual_first = true;
  }
  std::vector<std::string> seen_separate;
  opt::PassContext context;
  context.accept_fusion =
      [&](const ir::Node& fused,
          const std::vector<const ir::Node*>& separate) -> absl::StatusOr<bool> {
    for (const ir::Node* n : separate) seen_separate.push_back(n->name);
    CHECK(fused.op_type == "Conv");
    CHECK(fused.inputs.size() == 4);
    return true;
  };
  Optimized r = OptimizeAndCompare(ResidualModel(relu, group, bias, residual_first),
                                   {"fuse-residual"}, context);
  REQUIRE(r.after->nodes().size() == 1);
  const ir::Node& n = *r.after->nodes()[0];
  CHECK(n.op_type == "Conv");
  REQUIRE(n.inputs.size() == 4);
  CHECK(n.inputs[3]->name == "x");
  CHECK((n.inputs[2] == nullptr) == !bias);
  CHECK(n.outputs[0]->name == "y");
  if (relu) {
    CHECK(n.name == "conv1 + add + relu");
    CHECK(n.onnx_nodes == std::vector<std::string>{"conv1", "add", "relu"});
    CHECK(AttrString(n, "activation") == "Relu");
    CHECK(seen_separate == std::vector<std::string>{"conv1", "add", "relu"});
    CHECK(Counter(r.counters, "fired.with_relu") == 1);
  } else {
    CHECK(n.name == "conv1 + add");
    CHECK_FALSE(n.attrs.Has("activation"));
    CHECK(seen_separate == std::vector<std::string>{"conv1", "add"});
  }
  CHECK(Counter(r.counters, "fired") == 1);
}

TEST_CASE("fuse-residual asks the cost model and a refusal leaves the graph alone", "[optimizer]") {
  int calls = 0;
  opt::PassContext context;
  context.accept_fusion =
      [&](const ir::Node& fused,
          const std::vector<const ir::Node*>& separate) -> absl::StatusOr<bool> {
    ++calls;
    CHECK(fused.name == "conv1 + add + relu");
    REQUIRE(separate.size() == 3);
    // Built but not inserted: its output is still produced by the Relu.
    CHECK(fused.outputs[0]->producer == separate[2]);
    CHECK(fused.inputs[3]->name == "x");
    return false;
  };
  Optimized r = OptimizeAndCompare(ResidualModel(true), {"fuse-residual"}, context);
  CHECK(calls == 1);
  CHECK(r.after->nodes().size() == 3);
  CHECK(Count(*r.after, "Add") == 1);
  CHECK(Counter(r.counters, "skipped.cost_model") == 1);
  CHECK(Counter(r.counters, "fired") == 0);
}

TEST_CASE("fuse-residual and fuse-activation propagate cost model errors", "[optimizer]") {
  std::string pass, model;
  SECTION("fuse-residual") {
    pass = "fuse-residual";
    model = ResidualModel(true);
  }
  SECTION("fuse-activation") {
    pass = "fuse-activation";
    ModelBuilder b;
    b.Input("x", {1, 3, 5, 5});
    b.Initializer("w", Rand({4, 3, 3, 3}));
    b.Node("Conv", {"x", "w"}, {"c"}, "conv");
    b.Node("Relu", {"c"}, {"y"}, "relu");
    b.Output("y", {1, 4, 3, 3});
    model = b.Serialize();
  }
  auto g = Parse(model);
  opt::PassContext failing;
  failing.accept_fusion = [](const ir::Node&,
                             const std::vector<const ir::Node*>&) -> absl::StatusOr<bool> {
    return absl::InternalError("cost model exploded");
  };
  auto pm = opt::BuildPipeline(2, {pass});
  REQUIRE(pm.ok());
  (*pm)->set_context(std::move(failing));
  absl::Status s = (*pm)->Run(*g);
  CHECK(s.code() == absl::StatusCode::kInternal);
  CHECK(absl::StrContains(s.message(), "cost model exploded"));
  CHECK(absl::StrContains(s.message(), pass));
}

TEST_CASE("fuse-residual declines and says why", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 4, 6, 6});
  b.Initializer("w", Rand({4, 4, 3, 3}));
  std::string reason;
  SECTION("broadcast residual") {
    reason = "skipped.broadcast";
    b.Initializer("bias", Rand({4, 1, 1}));
    auto& conv = b.Node("Conv", {"x", "w"}, {"c"}, "conv1");
    ModelBuilder::SetInts(conv, "pads", {1, 1, 1, 1});
    b.Node("Add", {"c", "bias"}, {"y"}, "add");
  }
  SECTION("conv output has two readers") {
    reason = "skipped.multiple_consumers";
    auto& conv = b.Node("Conv", {"x", "w"}, {"c"}, "conv1");
    ModelBuilder::SetInts(conv, "pads", {1, 1, 1, 1});
    b.Node("Add", {"c", "x"}, {"s"}, "add");
    b.Node("Mul", {"s", "c"}, {"y"}, "mul");
  }
  SECTION("conv output is a graph output") {
    reason = "skipped.intermediate_is_graph_output";
    auto& conv = b.Node("Conv", {"x", "w"}, {"c"}, "conv1");
    ModelBuilder::SetInts(conv, "pads", {1, 1, 1, 1});
    b.Node("Add", {"c", "x"}, {"y"}, "add");
    b.Output("c", {1, 4, 6, 6});
  }
  b.Output("y", {1, 4, 6, 6});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-residual"});
  CHECK(Counter(r.counters, reason) == 1);
  CHECK(Counter(r.counters, "fired") == 0);
  CHECK(Count(*r.after, "Add") == 1);
}

TEST_CASE("fuse-residual keeps a Relu whose input is a graph output", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 4, 6, 6});
  b.Initializer("w", Rand({4, 4, 1, 1}));
  b.Node("Conv", {"x", "w"}, {"c"}, "conv1");
  b.Node("Add", {"c", "x"}, {"s"}, "add");
  b.Node("Relu", {"s"}, {"y"}, "relu");
  b.Output("y", {1, 4, 6, 6});
  b.Output("s", {1, 4, 6, 6});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-residual"});
  REQUIRE(r.after->nodes().size() == 2);
  CHECK(r.after->nodes()[0]->name == "conv1 + add");
  CHECK(r.after->nodes()[0]->outputs[0]->name == "s");
  CHECK(r.after->nodes()[1]->op_type == "Relu");
}

// ---------------------------------------------------------------------------
// fuse-activation

TEST_CASE("fuse-activation fuses each activation into a Conv", "[optimizer]") {
  struct Case {
    std::string op;
    std::vector<std::pair<std::string, float>> attrs;  // on the activation node
    std::vector<float> clip;                           // Clip inputs: min[, max]
    bool has_alpha = false, has_beta = false;
    float alpha = 0, beta = 0;  // expected activation_alpha / activation_beta
    int opset = 13;
  };
  const std::vector<Case> cases = {
      {"Relu", {}, {}, false, false},
      {"Clip", {}, {0.0f, 6.0f}, true, true, 0.0f, 6.0f},
      {"Clip", {}, {-0.5f}, true, true, -0.5f, FLT_MAX},
      {"Clip", {}, {}, true, true, -FLT_MAX, FLT_MAX},
      {"LeakyRelu", {}, {}, true, false, 0.01f},
      {"LeakyRelu", {{"alpha", 0.2f}}, {}, true, false, 0.2f},
      {"Sigmoid", {}, {}, false, false},
      {"Tanh", {}, {}, false, false},
      {"HardSigmoid", {}, {}, true, true, 0.2f, 0.5f},
      {"HardSigmoid", {{"alpha", 0.3f}, {"beta", 0.4f}}, {}, true, true, 0.3f, 0.4f},
      {"HardSwish", {}, {}, false, false, 0, 0, 14},
      {"Swish", {}, {}, true, false, 1.0f, 0, 24},
      {"Swish", {{"alpha", 0.5f}}, {}, true, false, 0.5f, 0, 24},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.op << " " << c.attrs.size() << " attrs, " << c.clip.size() << " bounds") {
      ModelBuilder b(c.opset);
      b.Input("x", {1, 3, 5, 5});
      b.Initializer("w", Rand({4, 3, 3, 3}, -2.0f, 2.0f));
      b.Initializer("cb", Rand({4}));
      b.Node("Conv", {"x", "w", "cb"}, {"c"}, "conv");
      std::vector<std::string> act_inputs = {"c"};
      if (!c.clip.empty()) {
        b.Initializer("lo", MakeFloat({}, {c.clip[0]}));
        act_inputs.push_back("lo");
        if (c.clip.size() > 1) {
          b.Initializer("hi", MakeFloat({}, {c.clip[1]}));
          act_inputs.push_back("hi");
        }
      }
      auto& act = b.Node(c.op, act_inputs, {"y"}, "act");
      for (const auto& [k, v] : c.attrs) ModelBuilder::SetFloat(act, k, v);
      b.Output("y", {1, 4, 3, 3});
      Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-activation"});
      REQUIRE(r.after->nodes().size() == 1);
      const ir::Node& n = *r.after->nodes()[0];
      CHECK(n.op_type == "Conv");
      CHECK(n.name == "conv + act");
      CHECK(n.onnx_nodes == std::vector<std::string>{"conv", "act"});
      CHECK(n.outputs[0]->name == "y");
      CHECK(AttrString(n, "activation") == c.op);
      CHECK(n.attrs.Has("activation_alpha") == c.has_alpha);
      CHECK(n.attrs.Has("activation_beta") == c.has_beta);
      if (c.has_alpha) CHECK(n.attrs.Float("activation_alpha", -1) == c.alpha);
      if (c.has_beta) CHECK(n.attrs.Float("activation_beta", -1) == c.beta);
      CHECK(Counter(r.counters, "fired") == 1);
      CHECK(Counter(r.counters, "fired." + c.op) == 1);
    }
  }
}

TEST_CASE("fuse-swish turns SiLU (Mul(x, Sigmoid(x))) into Swish, then into the Conv",
          "[optimizer]") {
  for (bool sigmoid_first : {false, true}) {
    DYNAMIC_SECTION("Mul operands " << (sigmoid_first ? "(s, x)" : "(x, s)")) {
      ModelBuilder b;
      b.Input("x", {1, 3, 5, 5});
      b.Initializer("w", Rand({4, 3, 3, 3}, -2.0f, 2.0f));
      b.Node("Conv", {"x", "w"}, {"c"}, "conv");
      b.Node("Sigmoid", {"c"}, {"s"}, "sig");
      if (sigmoid_first) {
        b.Node("Mul", {"s", "c"}, {"y"}, "mul");
      } else {
        b.Node("Mul", {"c", "s"}, {"y"}, "mul");
      }
      b.Output("y", {1, 4, 3, 3});
      Optimized swish = OptimizeAndCompare(b.Serialize(), {"fuse-swish"});
      REQUIRE(swish.after->nodes().size() == 2);
      const ir::Node& s = *swish.after->nodes()[1];
      CHECK(s.op_type == "Swish");
      CHECK(s.name == "sig + mul");
      CHECK(s.outputs[0]->name == "y");
      CHECK(Counter(swish.counters, "fired") == 1);
      Optimized conv = OptimizeAndCompare(b.Serialize(), {"fuse-swish", "fuse-activation"});
      REQUIRE(conv.after->nodes().size() == 1);
      const ir::Node& n = *conv.after->nodes()[0];
      CHECK(n.op_type == "Conv");
      CHECK(n.name == "conv + sig + mul");
      CHECK(AttrString(n, "activation") == "Swish");
      CHECK(n.attrs.Float("activation_alpha", -1) == 1.0f);
    }
  }
}

TEST_CASE("fuse-swish declines and says why", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 4, 3, 3});
  b.Input("z", {1, 4, 3, 3});
  b.Node("Relu", {"x"}, {"r"}, "relu");
  b.Node("Sigmoid", {"r"}, {"s"}, "sig");
  std::string skip;
  SECTION("the Sigmoid's output is a graph output") {
    b.Node("Mul", {"r", "s"}, {"y"}, "mul");
    b.Output("y", {1, 4, 3, 3});
    b.Output("s", {1, 4, 3, 3});
    skip = "skipped.sigmoid_is_graph_output";
  }
  SECTION("another layer reads the Sigmoid") {
    b.Node("Mul", {"r", "s"}, {"y"}, "mul");
    b.Node("Add", {"s", "z"}, {"t"}, "add");
    b.Output("y", {1, 4, 3, 3});
    b.Output("t", {1, 4, 3, 3});
    skip = "skipped.sigmoid_has_other_readers";
  }
  SECTION("the Mul's other operand is not the Sigmoid's input (no match, no counter)") {
    b.Node("Mul", {"z", "s"}, {"y"}, "mul");
    b.Output("y", {1, 4, 3, 3});
  }
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-swish"});
  CHECK(Count(*r.after, "Swish") == 0);
  CHECK(Counter(r.counters, "fired") == 0);
  if (!skip.empty()) CHECK(Counter(r.counters, skip) == 1);
}

TEST_CASE("fuse-gelu turns the exported Erf chain into one Gelu layer", "[optimizer]") {
  // The three forms exporters emit; x comes from a MatMul as in a transformer
  // MLP.
  enum Form { kMulXThenHalf, kHalfXFirst, kHalfAFirst };
  for (Form form : {kMulXThenHalf, kHalfXFirst, kHalfAFirst}) {
    for (bool div : {true, false}) {
      DYNAMIC_SECTION("form " << form << (div ? " Div(x, sqrt2)" : " Mul(x, 1/sqrt2)")) {
        ModelBuilder b;
        b.Input("in", {2, 8});
        b.Initializer("w", Rand({8, 6}));
        b.Initializer("sqrt2", MakeFloat({}, {div ? 1.4142135f : 0.70710677f}));
        b.Initializer("one", MakeFloat({}, {1.0f}));
        b.Initializer("half", MakeFloat({}, {0.5f}));
        b.Node("MatMul", {"in", "w"}, {"x"}, "fc");
        b.Node(div ? "Div" : "Mul", {"x", "sqrt2"}, {"d"}, "scale");
        b.Node("Erf", {"d"}, {"e"}, "erf");
        b.Node("Add", {"e", "one"}, {"a"}, "add");
        if (form == kMulXThenHalf) {
          b.Node("Mul", {"x", "a"}, {"m"}, "mul");
          b.Node("Mul", {"m", "half"}, {"y"}, "mul_half");
        } else if (form == kHalfXFirst) {
          b.Node("Mul", {"x", "half"}, {"m"}, "mul_half");
          b.Node("Mul", {"m", "a"}, {"y"}, "mul");
        } else {
          b.Node("Mul", {"a", "half"}, {"m"}, "mul_half");
          b.Node("Mul", {"x", "m"}, {"y"}, "mul");
        }
        b.Output("y", {2, 6});
        Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-gelu"});
        CHECK(Count(*r.after, "Gelu") == 1);
        CHECK(Count(*r.after, "Erf") == 0);
        CHECK(Count(*r.after, "Mul") == 0);
        REQUIRE(r.after->nodes().size() == 2);
        CHECK(r.after->nodes()[1]->outputs[0]->name == "y");
        CHECK(r.after->nodes()[1]->onnx_nodes.size() == 5);
        CHECK(Counter(r.counters, "fired") == 1);
      }
    }
  }
}

TEST_CASE("fuse-gelu declines and says why", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {2, 6});
  b.Initializer("sqrt2", MakeFloat({}, {1.4142135f}));
  b.Initializer("one", MakeFloat({}, {1.0f}));
  b.Initializer("half", MakeFloat({}, {0.5f}));
  b.Initializer("third", MakeFloat({}, {0.33f}));
  b.Node("Div", {"x", "sqrt2"}, {"d"}, "scale");
  b.Node("Erf", {"d"}, {"e"}, "erf");
  b.Node("Add", {"e", "one"}, {"a"}, "add");
  std::string skip;
  SECTION("an intermediate is a graph output") {
    b.Node("Mul", {"x", "a"}, {"m"}, "mul");
    b.Node("Mul", {"m", "half"}, {"y"}, "mul_half");
    b.Output("y", {2, 6});
    b.Output("m", {2, 6});
    skip = "skipped.intermediate_is_graph_output";
  }
  SECTION("not 0.5 (no match, no counter)") {
    b.Node("Mul", {"x", "a"}, {"m"}, "mul");
    b.Node("Mul", {"m", "third"}, {"y"}, "mul_third");
    b.Output("y", {2, 6});
  }
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-gelu"});
  CHECK(Count(*r.after, "Gelu") == 0);
  CHECK(Counter(r.counters, "fired") == 0);
  if (!skip.empty()) CHECK(Counter(r.counters, skip) == 1);
}

TEST_CASE("fuse-gelu turns the tanh approximation into Gelu approximate=tanh", "[optimizer]") {
  // HF NewGELUActivation / GPT-2: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))),
  // the cube as Pow(x, 3) or two Muls.
  for (int cube : {0, 1, 2}) {
    DYNAMIC_SECTION("cube form " << cube) {
      ModelBuilder b;
      b.Input("in", {2, 8});
      b.Initializer("w", Rand({8, 6}));
      b.Initializer("three", MakeFloat({}, {3.0f}));
      b.Initializer("kappa", MakeFloat({}, {0.044715f}));
      b.Initializer("beta", MakeFloat({}, {0.7978845608f}));
      b.Initializer("one", MakeFloat({}, {1.0f}));
      b.Initializer("half", MakeFloat({}, {0.5f}));
      b.Node("MatMul", {"in", "w"}, {"x"}, "fc");
      b.Node("Mul", {"x", "half"}, {"h"}, "mul_half");
      if (cube == 0) {
        b.Node("Pow", {"x", "three"}, {"c"}, "pow");
      } else {
        b.Node("Mul", {"x", "x"}, {"sq"}, "sq");
        b.Node("Mul", cube == 1 ? std::vector<std::string>{"x", "sq"}
                                : std::vector<std::string>{"sq", "x"}, {"c"}, "cube");
      }
      b.Node("Mul", {"kappa", "c"}, {"k"}, "mul_kappa");
      b.Node("Add", {"x", "k"}, {"w2"}, "add_x");
      b.Node("Mul", {"beta", "w2"}, {"u"}, "mul_beta");
      b.Node("Tanh", {"u"}, {"t"}, "tanh");
      b.Node("Add", {"one", "t"}, {"a"}, "add_one");
      b.Node("Mul", {"h", "a"}, {"y"}, "mul");
      b.Output("y", {2, 6});
      Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-gelu"});
      REQUIRE(r.after->nodes().size() == 2);
      const ir::Node& g = *r.after->nodes()[1];
      CHECK(g.op_type == "Gelu");
      CHECK(AttrString(g, "approximate") == "tanh");
      CHECK(g.inputs[0]->name == "x");
      CHECK(g.onnx_nodes.size() == (cube == 0 ? 8u : 9u));
      CHECK(Counter(r.counters, "fired") == 1);
      CHECK(Counter(r.counters, "fired.tanh") == 1);
    }
  }
}

TEST_CASE("fuse-gelu declines a tanh chain with a wrong constant or a shared intermediate",
          "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {2, 6});
  b.Initializer("three", MakeFloat({}, {3.0f}));
  b.Initializer("beta", MakeFloat({}, {0.7978845608f}));
  b.Initializer("one", MakeFloat({}, {1.0f}));
  b.Initializer("half", MakeFloat({}, {0.5f}));
  std::string skip;
  SECTION("kappa 0.05 (no match, no counter)") {
    b.Initializer("kappa", MakeFloat({}, {0.05f}));
  }
  SECTION("the cube is also a graph output") {
    b.Initializer("kappa", MakeFloat({}, {0.044715f}));
    b.Output("c", {2, 6});
    skip = "skipped.intermediate_is_graph_output";
  }
  b.Node("Pow", {"x", "three"}, {"c"}, "pow");
  b.Node("Mul", {"c", "kappa"}, {"k"}, "mul_kappa");
  b.Node("Add", {"k", "x"}, {"w2"}, "add_x");
  b.Node("Mul", {"w2", "beta"}, {"u"}, "mul_beta");
  b.Node("Tanh", {"u"}, {"t"}, "tanh");
  b.Node("Add", {"t", "one"}, {"a"}, "add_one");
  b.Node("Mul", {"x", "a"}, {"m"}, "mul");
  b.Node("Mul", {"m", "half"}, {"y"}, "mul_half");
  b.Output("y", {2, 6});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-gelu"});
  CHECK(Count(*r.after, "Gelu") == 0);
  CHECK(Count(*r.after, "Tanh") == 1);
  CHECK(Counter(r.counters, "fired") == 0);
  if (!skip.empty()) CHECK(Counter(r.counters, skip) == 1);
}

namespace {

// The nine-node LayerNorm as PyTorch exports it over the last axis of x
// [batch, rows, 8] (x produced by a MatMul), with the variants of `v`, then a
// Relu.
struct LnVariant {
  bool mul_square = false;   // Mul(d, d) instead of Pow(d, 2)
  bool reciprocal = false;   // Mul(d, Reciprocal(s)) instead of Div(d, s)
  bool gamma = true, beta = true;
  bool eps_first = false;    // Add(eps, v)
  Dims gamma_shape = {8};
  std::vector<int64_t> axes = {-1}, var_axes = {-1};
  int64_t keepdims = 1;
  int64_t batch = 2, rows = 5;  // x is [batch, rows, 8]
  int opset = 13;                // 18: ReduceMean's axes as a constant input
};

ModelBuilder LayerNormModel(const LnVariant& v) {
  ModelBuilder b(v.opset);
  b.Input("in", {v.batch, v.rows, 4});
  b.Initializer("w", Rand({4, 8}, -2.0f, 2.0f));
  b.Initializer("two", MakeFloat({}, {2.0f}));
  b.Initializer("eps", MakeFloat({}, {1e-5f}));
  b.Initializer("gamma", Rand(v.gamma_shape, 0.5f, 1.5f));
  b.Initializer("beta", Rand({8}));
  b.Node("MatMul", {"in", "w"}, {"x"}, "fc");
  // ReduceMean over `axes`, as an attribute or (opset 18) a constant input.
  auto reduce_mean = [&](const std::string& in, const std::string& out,
                         const std::vector<int64_t>& axes) -> onnx::NodeProto& {
    if (v.opset < 18) {
      onnx::NodeProto& n = b.Node("ReduceMean", {in}, {out}, out);
      ModelBuilder::SetInts(n, "axes", axes);
      return n;
    }
    b.Initializer(out + "_axes", MakeInt64({static_cast<int64_t>(axes.size())}, axes));
    return b.Node("ReduceMean", {in, out + "_axes"}, {out}, out);
  };
  reduce_mean("x", "m", v.axes).set_name("mean");
  b.Node("Sub", {"x", "m"}, {"d"}, "sub");
  if (v.mul_square) {
    b.Node("Mul", {"d", "d"}, {"q"}, "square");
  } else {
    b.Node("Pow", {"d", "two"}, {"q"}, "square");
  }
  ModelBuilder::SetInt(reduce_mean("q", "var", v.var_axes), "keepdims", v.keepdims);
  b.Node("Add", v.eps_first ? std::vector<std::string>{"eps", "var"}
                            : std::vector<std::string>{"var", "eps"}, {"a"}, "add_eps");
  b.Node("Sqrt", {"a"}, {"s"}, "sqrt");
  std::string out = "n";
  if (v.reciprocal) {
    b.Node("Reciprocal", {"s"}, {"r"}, "recip");
    b.Node("Mul", {"r", "d"}, {"n"}, "norm");
  } else {
    b.Node("Div", {"d", "s"}, {"n"}, "norm");
  }
  if (v.gamma) {
    b.Node("Mul", {out, "gamma"}, {"g"}, "mul_gamma");
    out = "g";
  }
  if (v.beta) {
    b.Node("Add", {"beta", out}, {"z"}, "add_beta");
    out = "z";
  }
  b.Node("Relu", {out}, {"y"}, "relu");
  b.Output("y", {v.batch, v.rows, 8});
  return b;
}

}  // namespace

TEST_CASE("fuse-layernorm turns the exported LayerNorm chain into one LayerNormalization",
          "[optimizer]") {
  struct Case {
    const char* name;
    LnVariant v;
    size_t covered;
  };
  std::vector<Case> cases = {
      {"pytorch (Pow, Sqrt, Div, gamma, beta)", {}, 9},
      {"Mul(d, d)", {.mul_square = true}, 9},
      {"Reciprocal + Mul, Add(eps, var)", {.reciprocal = true, .eps_first = true}, 10},
      {"no gamma, no beta", {.gamma = false, .beta = false}, 7},
      {"beta only", {.gamma = false}, 8},
      {"gamma [1, 1, 8]", {.gamma_shape = {1, 1, 8}}, 9},
      {"axes [2]", {.axes = {2}, .var_axes = {2}}, 9},
      {"opset 18: axes as an input", {.opset = 18}, 9},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Optimized r = OptimizeAndCompare(LayerNormModel(c.v).Serialize(), {"fuse-layernorm"});
      REQUIRE(r.after->nodes().size() == 3);
      const ir::Node& ln = *r.after->nodes()[1];
      CHECK(ln.op_type == "LayerNormalization");
      CHECK(ln.inputs[0]->name == "x");
      CHECK(ln.inputs.size() == (c.v.beta ? 3u : 2u));
      CHECK(ln.inputs[1]->constant->shape() == Dims{8});
      CHECK(ln.attrs.GetInt("axis", -1).value() == 2);
      CHECK(ln.attrs.GetFloat("epsilon", 0).value() == 1e-5f);
      CHECK(ln.onnx_nodes.size() == c.covered);
      CHECK(ln.onnx_nodes.front() == "mean");
      CHECK(Count(*r.after, "ReduceMean") == 0);
      CHECK(Counter(r.counters, "fired") == 1);
    }
  }
}

TEST_CASE("fuse-layernorm asks the cost model and leaves the graph as it was on a refusal",
          "[optimizer]") {
  int calls = 0;
  opt::PassContext context;
  context.accept_fusion =
      [&](const ir::Node& fused,
          const std::vector<const ir::Node*>& separate) -> absl::StatusOr<bool> {
    ++calls;
    CHECK(fused.op_type == "LayerNormalization");
    CHECK(fused.inputs.size() == 3);
    CHECK(separate.size() == 9);
    return false;
  };
  Optimized r = OptimizeAndCompare(LayerNormModel({}).Serialize(), {"fuse-layernorm"}, context);
  CHECK(calls == 1);
  CHECK(Count(*r.after, "ReduceMean") == 2);
  CHECK(r.after->nodes().size() == r.before->nodes().size());
  CHECK(r.after->values().size() == r.before->values().size());  // no stray gamma/beta constants
  CHECK(Counter(r.counters, "skipped.cost_model") == 1);
  CHECK(Counter(r.counters, "fired") == 0);
}

TEST_CASE("fuse-layernorm declines and says why", "[optimizer]") {
  LnVariant v;
  std::string skip;
  bool separate_gamma = false;
  SECTION("axes not trailing") {
    v.axes = v.var_axes = {1};
    skip = "skipped.axes_not_trailing";
  }
  SECTION("axes differ") {
    v.var_axes = {1, 2};
    skip = "skipped.axes_differ";
  }
  SECTION("keepdims 0 on the variance") {
    // x [1, 8, 8]: the [1, 8] variance broadcasts back along the wrong axis.
    v.keepdims = 0;
    v.batch = 1;
    v.rows = 8;
    skip = "skipped.keepdims_0";
  }
  SECTION("gamma varying along a leading axis stays a separate Mul") {
    v.gamma_shape = {5, 8};
    separate_gamma = true;
  }
  ModelBuilder b = LayerNormModel(v);
  SECTION("an intermediate read elsewhere") {
    b.Node("Relu", {"var"}, {"var_relu"}, "extra_reader");
    b.Output("var_relu", {2, 5, 1});
    skip = "skipped.intermediate_has_other_readers";
  }
  SECTION("an intermediate is a graph output") {
    b.Output("s", {2, 5, 1});
    skip = "skipped.intermediate_is_graph_output";
  }
  REQUIRE((!skip.empty() || separate_gamma));
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-layernorm"});
  if (separate_gamma) {
    CHECK(Count(*r.after, "LayerNormalization") == 1);
    CHECK(Count(*r.after, "Mul") == 1);   // the [5, 8] gamma
    CHECK(Count(*r.after, "Add") == 1);   // beta after it, not folded either
    CHECK(Counter(r.counters, "gamma_left_separate") == 1);
    CHECK(Counter(r.counters, "fired") == 1);
  } else {
    CHECK(Count(*r.after, "LayerNormalization") == 0);
    CHECK(Count(*r.after, "ReduceMean") == 2);
    CHECK(Counter(r.counters, "fired") == 0);
    CHECK(Counter(r.counters, skip) == 1);
  }
}

TEST_CASE("minmax-to-clip turns Max/Min with a scalar into Clip, merges them, and the Conv takes it",
          "[optimizer]") {
  // Conv -> Max(., 0) -> Min(., 6): ReLU6 as tf2onnx exports it.
  ModelBuilder b;
  b.Input("x", {1, 3, 5, 5});
  b.Initializer("w", Rand({4, 3, 3, 3}, -2.0f, 2.0f));
  b.Initializer("zero", MakeFloat({}, {0.0f}));
  b.Initializer("six", MakeFloat({1}, {6.0f}));
  b.Node("Conv", {"x", "w"}, {"c"}, "conv");
  b.Node("Max", {"zero", "c"}, {"m"}, "max");
  b.Node("Min", {"m", "six"}, {"y"}, "min");
  b.Output("y", {1, 4, 3, 3});
  Optimized clip = OptimizeAndCompare(b.Serialize(), {"minmax-to-clip"});
  CHECK(Counter(clip.counters, "fired.max") == 1);
  CHECK(Counter(clip.counters, "fired.min") == 1);
  CHECK(Counter(clip.counters, "fired.merge") == 1);
  REQUIRE(clip.after->nodes().size() == 2);
  const ir::Node& c = *clip.after->nodes()[1];
  CHECK(c.op_type == "Clip");
  CHECK(c.name == "max + min");
  REQUIRE(c.inputs.size() == 3);
  CHECK(c.inputs[1]->constant->data_as<float>()[0] == 0.0f);
  CHECK(c.inputs[2]->constant->data_as<float>()[0] == 6.0f);
  Optimized conv = OptimizeAndCompare(b.Serialize(), {"minmax-to-clip", "fuse-activation"});
  REQUIRE(conv.after->nodes().size() == 1);
  CHECK(AttrString(*conv.after->nodes()[0], "activation") == "Clip");
  CHECK(conv.after->nodes()[0]->attrs.Float("activation_alpha", -1) == 0.0f);
  CHECK(conv.after->nodes()[0]->attrs.Float("activation_beta", -1) == 6.0f);
}

TEST_CASE("minmax-to-clip declines what is not a clamp", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {2, 3});
  b.Input("z", {2, 3});
  b.Initializer("row", MakeFloat({3}, {0.0f, 1.0f, 2.0f}));
  b.Initializer("big", MakeFloat({1, 2, 3}, {0, 0, 0, 0, 0, 0}));
  b.Initializer("lo", MakeFloat({}, {5.0f}));
  b.Initializer("hi", MakeFloat({}, {1.0f}));
  b.Node("Max", {"x", "z"}, {"a"}, "two_activations");
  b.Node("Max", {"a", "row"}, {"r"}, "per_column");
  b.Node("Min", {"r", "big"}, {"g"}, "broadcast_grows");
  b.Node("Clip", {"g", "lo"}, {"c1"}, "clip_low");
  b.Node("Clip", {"c1", "", "hi"}, {"y"}, "clip_high");  // disjoint ranges: always 1
  b.Output("y", {1, 2, 3});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"minmax-to-clip"});
  CHECK(Count(*r.after, "Max") == 2);
  CHECK(Count(*r.after, "Min") == 1);
  CHECK(Count(*r.after, "Clip") == 2);
  CHECK(Counter(r.counters, "skipped.ranges_do_not_overlap") == 1);
}

TEST_CASE("fuse-activation fuses into a Gemm and into one made from MatMul + Add", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {3, 5});
  b.Initializer("w", Rand({5, 4}));
  b.Initializer("bias", Rand({4}));
  std::vector<std::string> passes;
  std::string expected_name;
  SECTION("Gemm + LeakyRelu") {
    auto& g = b.Node("Gemm", {"x", "w", "bias"}, {"g"}, "fc");
    ModelBuilder::SetFloat(g, "alpha", 0.7f);
    ModelBuilder::SetFloat(g, "beta", 1.3f);
    auto& act = b.Node("LeakyRelu", {"g"}, {"y"}, "act");
    ModelBuilder::SetFloat(act, "alpha", 0.1f);
    passes = {"fuse-activation"};
    expected_name = "fc + act";
  }
  SECTION("MatMul + Add + Relu through the level-2 pipeline") {
    b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
    b.Node("Add", {"m", "bias"}, {"a"}, "add");
    b.Node("Relu", {"a"}, {"y"}, "act");
    passes = opt::PassesForLevel(2);
    expected_name = "mm + add + act";
  }
  b.Output("y", {3, 4});
  Optimized r = OptimizeAndCompare(b.Serialize(), passes);
  REQUIRE(r.after->nodes().size() == 1);
  const ir::Node& n = *r.after->nodes()[0];
  CHECK(n.op_type == "Gemm");
  CHECK(n.name == expected_name);
  CHECK(n.outputs[0]->name == "y");
  CHECK(n.attrs.Has("activation"));
}

TEST_CASE("fuse-activation declines and says why", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 3, 5, 5});
  b.Initializer("w", Rand({4, 3, 3, 3}));
  std::string reason;
  opt::PassContext context;
  std::vector<std::string> passes = {"fuse-activation"};
  int expected_nodes = 2;
  SECTION("conv output is a graph output") {
    reason = "skipped.intermediate_is_graph_output";
    b.Node("Conv", {"x", "w"}, {"c"}, "conv");
    b.Node("Relu", {"c"}, {"y"}, "relu");
    b.Output("c", {1, 4, 3, 3});
  }
  SECTION("conv output has two readers") {
    reason = "skipped.multiple_consumers";
    b.Node("Conv", {"x", "w"}, {"c"}, "conv");
    b.Node("Relu", {"c"}, {"r"}, "relu");
    b.Node("Add", {"r", "c"}, {"y"}, "add");
    expected_nodes = 3;
  }
  SECTION("Clip bounds are not constant") {
    reason = "skipped.non_constant_clip_bounds";
    b.Input("lo", {});
    b.Node("Conv", {"x", "w"}, {"c"}, "conv");
    b.Node("Clip", {"c", "lo"}, {"y"}, "clip");
  }
  SECTION("the cost model refuses") {
    reason = "skipped.cost_model";
    context.accept_fusion =
        [](const ir::Node& fused,
           const std::vector<const ir::Node*>& separate) -> absl::StatusOr<bool> {
      CHECK(fused.name == "conv + relu");
      CHECK(separate.size() == 2);
      return false;
    };
    b.Node("Conv", {"x", "w"}, {"c"}, "conv");
    b.Node("Relu", {"c"}, {"y"}, "relu");
  }
  SECTION("the conv already has an activation") {
    reason = "skipped.already_has_activation";
    passes = {"fuse-activation", "fuse-activation"};
    b.Node("Conv", {"x", "w"}, {"c"}, "conv");
    b.Node("Relu", {"c"}, {"r"}, "relu");
    b.Node("Sigmoid", {"r"}, {"y"}, "sigmoid");
  }
  b.Output("y", {1, 4, 3, 3});
  Optimized r = OptimizeAndCompare(b.Serialize(), passes, context);
  CHECK(Counter(r.counters, reason) == 1);
  CHECK(Counter(r.counters, "fired") == 0);
  CHECK(static_cast<int>(r.after->nodes().size()) == expected_nodes);
}

// ---------------------------------------------------------------------------
// The whole level-2 pipeline on a small residual network.

namespace {

// Pad -> Conv -> BN -> Relu -> Conv -> BN -> Add(residual) -> Relu
//   -> GlobalAveragePool -> Flatten -> Reshape -> MatMul -> Add -> Sigmoid.
std::string SmallResNet() {
  ModelBuilder b;
  b.Input("x", {2, 4, 8, 8});
  b.Initializer("pads", MakeInt64({8}, {0, 0, 1, 1, 0, 0, 1, 1}));
  b.Initializer("w1", Rand({4, 4, 3, 3}));
  b.Initializer("w2", Rand({4, 4, 3, 3}));
  b.Initializer("b2", Rand({4}));
  AddBnParams(b, "bn1", 4);
  AddBnParams(b, "bn2", 4);
  b.Initializer("fc_w", Rand({4, 3}));
  b.Initializer("fc_b", Rand({3}));
  b.Initializer("shape", MakeInt64({2}, {2, 4}));
  b.Node("Pad", {"x", "pads"}, {"p"}, "pad");
  b.Node("Conv", {"p", "w1"}, {"c1"}, "conv1");
  b.Node("BatchNormalization", BnInputs("c1", "bn1"), {"n1"}, "bn1");
  b.Node("Relu", {"n1"}, {"r1"}, "relu1");
  auto& conv2 = b.Node("Conv", {"r1", "w2", "b2"}, {"c2"}, "conv2");
  ModelBuilder::SetInts(conv2, "pads", {1, 1, 1, 1});
  b.Node("BatchNormalization", BnInputs("c2", "bn2"), {"n2"}, "bn2");
  b.Node("Add", {"n2", "x"}, {"s"}, "add");
  b.Node("Relu", {"s"}, {"r2"}, "relu2");
  b.Node("GlobalAveragePool", {"r2"}, {"gap"}, "gap");
  b.Node("Flatten", {"gap"}, {"flat"}, "flatten");
  b.Node("Reshape", {"flat", "shape"}, {"rs"}, "reshape");
  b.Node("MatMul", {"rs", "fc_w"}, {"m"}, "fc");
  b.Node("Add", {"m", "fc_b"}, {"logits"}, "fc_bias");
  b.Node("Sigmoid", {"logits"}, {"y"}, "sigmoid");
  b.Output("y", {2, 3});
  return b.Serialize();
}

}  // namespace

TEST_CASE("The level-2 pipeline fuses a small residual network and keeps its outputs",
          "[optimizer]") {
  Optimized r = OptimizeAndCompare(SmallResNet(), opt::PassesForLevel(2));
  CHECK(r.before->nodes().size() == 14);
  std::vector<std::string> names;
  for (const auto& n : r.after->nodes()) names.push_back(n->op_type + ": " + n->name);
  CHECK(names == std::vector<std::string>{
                     "Conv: pad + conv1 + bn1 + relu1",
                     "Conv: conv2 + bn2 + add + relu2",
                     "GlobalAveragePool: gap",
                     "Reshape: flatten + reshape",
                     "Gemm: fc + fc_bias + sigmoid",
                 });
}

// ---------------------------------------------------------------------------
// fuse-attention

namespace {

// Options of the exported attention chain AttentionModel builds (B 2, H 2,
// S 5, T 6, D 4, Dv 3).
struct AttnVariant {
  bool kt_0231 = false;          // Kt = Transpose(K [B, T, H, D], [0, 2, 3, 1])
  bool div = true;               // Div(scores, sqrt(D)) or Mul(scores, 1 / sqrt(D))
  bool mask = true;              // Add of a [B, 1, 1, T] mask (graph input)
  bool scale_is_input = false;   // the scale is a graph input, not a constant
  int64_t softmax_axis = -1;
  bool scores_output = false;    // the scaled scores are also a graph output
  bool probs_read_twice = false; // a second reader of the probabilities
};

ModelBuilder AttentionModel(const AttnVariant& v) {
  ModelBuilder b;
  b.Input("q", {2, 2, 5, 4});
  b.Input("k", v.kt_0231 ? std::vector<int64_t>{2, 6, 2, 4} : std::vector<int64_t>{2, 2, 6, 4});
  b.Input("v", {2, 2, 6, 3});
  if (v.mask) b.Input("m", {2, 1, 1, 6});
  if (v.scale_is_input) {
    b.Input("c", {});
  } else {
    b.Initializer("c", MakeFloat({}, {v.div ? 2.0f : 0.5f}));
  }
  auto& t = b.Node("Transpose", {"k"}, {"kt"}, "key_t");
  ModelBuilder::SetInts(t, "perm", v.kt_0231 ? std::vector<int64_t>{0, 2, 3, 1}
                                             : std::vector<int64_t>{0, 1, 3, 2});
  b.Node("MatMul", {"q", "kt"}, {"s"}, "scores");
  b.Node(v.div ? "Div" : "Mul", {"s", "c"}, {"sc"}, "scale");
  if (v.mask) b.Node("Add", {"sc", "m"}, {"sm"}, "mask");
  auto& sm = b.Node("Softmax", {v.mask ? "sm" : "sc"}, {"p"}, "softmax");
  ModelBuilder::SetInt(sm, "axis", v.softmax_axis);
  b.Node("MatMul", {"p", "v"}, {"y"}, "context");
  b.Output("y", {2, 2, 5, 3});
  if (v.scores_output) b.Output("sc", {2, 2, 5, 6});
  if (v.probs_read_twice) {
    b.Node("Relu", {"p"}, {"r"}, "relu");
    b.Output("r", {2, 2, 5, 6});
  }
  return b;
}

}  // namespace

TEST_CASE("fuse-attention turns the exported chain into one Attention layer", "[optimizer]") {
  for (bool kt_0231 : {false, true}) {
    for (bool div : {true, false}) {
      for (bool mask : {true, false}) {
        DYNAMIC_SECTION("kt " << (kt_0231 ? "0231" : "0132") << (div ? " Div" : " Mul")
                              << (mask ? " mask" : " no mask")) {
          AttnVariant v;
          v.kt_0231 = kt_0231;
          v.div = div;
          v.mask = mask;
          Optimized r = OptimizeAndCompare(AttentionModel(v).Serialize(), {"fuse-attention"});
          CHECK(Count(*r.after, "Attention") == 1);
          CHECK(Count(*r.after, "Softmax") == 0);
          CHECK(Count(*r.after, "MatMul") == 0);
          CHECK(Count(*r.after, "Div") + Count(*r.after, "Mul") + Count(*r.after, "Add") == 0);
          // The [0, 2, 3, 1] form keeps one Transpose: the head split of K.
          CHECK(Count(*r.after, "Transpose") == (kt_0231 ? 1 : 0));
          CHECK(r.after->nodes().size() == (kt_0231 ? 2u : 1u));
          const ir::Node& attn = *r.after->nodes().back();
          CHECK(attn.op_type == "Attention");
          CHECK(attn.inputs.size() == (mask ? 4u : 3u));
          CHECK(attn.inputs[1]->shape == Dims{2, 2, 6, 4});
          CHECK(attn.outputs[0]->name == "y");
          CHECK(Counter(r.counters, "fired") == 1);
          CHECK(Counter(r.counters, "fired.mask") == (mask ? 1 : 0));
          CHECK(Counter(r.counters, "fired.kt_0231") == (kt_0231 ? 1 : 0));
        }
      }
    }
  }
}

TEST_CASE("fuse-attention declines and says why", "[optimizer]") {
  AttnVariant v;
  std::string skip;
  opt::PassContext context;
  SECTION("the scale is not a constant") {
    v.scale_is_input = true;
    skip = "skipped.scale_not_constant_scalar";
  }
  SECTION("softmax over another axis") {
    v.softmax_axis = 2;
    skip = "skipped.softmax_axis_not_last";
  }
  SECTION("the scaled scores are a graph output") {
    v.scores_output = true;
    skip = "skipped.intermediate_is_graph_output";
  }
  SECTION("the probabilities have another reader") {
    v.probs_read_twice = true;
    skip = "skipped.intermediate_has_other_readers";
  }
  SECTION("the cost model refuses (the [0, 2, 3, 1] Transpose is restored)") {
    v.kt_0231 = true;
    context.accept_fusion = [](const ir::Node& fused, const std::vector<const ir::Node*>& separate)
        -> absl::StatusOr<bool> {
      CHECK(fused.op_type == "Attention");
      CHECK(separate.size() == 5);  // MatMul, Div, Add, Softmax, MatMul
      return false;
    };
    skip = "skipped.cost_model";
  }
  Optimized r = OptimizeAndCompare(AttentionModel(v).Serialize(), {"fuse-attention"}, context);
  CHECK(Count(*r.after, "Attention") == 0);
  CHECK(Count(*r.after, "Softmax") == 1);
  CHECK(r.after->nodes().size() == r.before->nodes().size());
  for (const auto& n : r.after->nodes()) {
    if (n->op_type == "Transpose") {
      CHECK(n->attrs.Ints("perm") == (v.kt_0231 ? std::vector<int64_t>{0, 2, 3, 1}
                                                : std::vector<int64_t>{0, 1, 3, 2}));
    }
  }
  CHECK(Counter(r.counters, "fired") == 0);
  CHECK(Counter(r.counters, skip) == 1);
}

// ---------------------------------------------------------------------------
// fuse-attention-heads

namespace {

// Options of HeadsModel: BERT's self-attention as exported (B 1, S 5, T 6,
// H 2, D 4, Dv 3): projections xq [1,5,8], xk [1,6,8], xv [1,6,6] split by
// Reshape + Transpose(0,2,1,3) (K then Transpose(0,1,3,2)), the attention
// chain, the merge Transpose(0,2,1,3) + Reshape [1,5,6].
struct HeadsVariant {
  bool q_split_also_output = false;  // the Q head split is also a graph output
  bool merge_is_output = false;      // the merge Transpose's output is a graph output
  bool q_is_rank4_input = false;     // Q's Transpose reads a graph input (no Reshape)
  bool kv_heads_3 = false;           // K/V split into 3 heads (shapes then disagree)
};

ModelBuilder HeadsModel(const HeadsVariant& v) {
  ModelBuilder b;
  if (v.q_is_rank4_input) {
    b.Input("xq4", {1, 5, 2, 4});
  } else {
    b.Input("xq", {1, 5, 8});
  }
  b.Input("xk", {1, 6, 8});
  b.Input("xv", {1, 6, 6});
  b.Input("m", {1, 1, 1, 6});
  b.Initializer("c", MakeFloat({}, {2.0f}));
  auto split = [&](const std::string& x, const std::string& name, int64_t seq, int64_t head) {
    b.Initializer(name + "_shape", MakeInt64({4}, {1, seq, 2, head}));
    b.Node("Reshape", {x, name + "_shape"}, {name + "_r"}, name + "_split");
    auto& t = b.Node("Transpose", {name + "_r"}, {name + "_h"}, name + "_heads");
    ModelBuilder::SetInts(t, "perm", {0, 2, 1, 3});
  };
  if (v.q_is_rank4_input) {
    auto& t = b.Node("Transpose", {"xq4"}, {"q_h"}, "q_heads");
    ModelBuilder::SetInts(t, "perm", {0, 2, 1, 3});
  } else {
    split("xq", "q", 5, 4);
  }
  split("xk", "k", 6, 4);
  split("xv", "v", 6, 3);
  auto& kt = b.Node("Transpose", {"k_h"}, {"kt"}, "key_t");
  ModelBuilder::SetInts(kt, "perm", {0, 1, 3, 2});
  b.Node("MatMul", {"q_h", "kt"}, {"s"}, "scores");
  b.Node("Div", {"s", "c"}, {"sc"}, "scale");
  b.Node("Add", {"sc", "m"}, {"sm"}, "mask");
  auto& sm = b.Node("Softmax", {"sm"}, {"p"}, "softmax");
  ModelBuilder::SetInt(sm, "axis", -1);
  b.Node("MatMul", {"p", "v_h"}, {"ctx"}, "context");
  auto& mt = b.Node("Transpose", {"ctx"}, {"ctx_t"}, "merge_t");
  ModelBuilder::SetInts(mt, "perm", {0, 2, 1, 3});
  b.Initializer("merge_shape", MakeInt64({3}, {1, 5, 6}));
  b.Node("Reshape", {"ctx_t", "merge_shape"}, {"y"}, "merge");
  b.Output("y", {1, 5, 6});
  if (v.q_split_also_output) b.Output("q_h", {1, 2, 5, 4});
  if (v.merge_is_output) b.Output("ctx_t", {1, 5, 2, 3});
  return b;
}

const std::vector<std::string> kHeadsPipeline = {"simplify-reshape", "fuse-attention",
                                                 "fuse-attention-heads"};

// Outputs of `after` equal those of `before` bit for bit on random inputs.
void CheckBitIdentical(const ir::Graph& before, const ir::Graph& after) {
  auto inputs = RandomInputs(before, 11);
  std::vector<Tensor> expected = Evaluate(before, inputs);
  std::vector<Tensor> actual = Evaluate(after, inputs);
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    CompareResult c = CompareTensors(actual[i], expected[i], 0.0, 0.0);
    INFO("output " << i << ": " << c.message);
    CHECK(c.passed);
  }
}

}  // namespace

TEST_CASE("fuse-attention-heads folds the head split and merge into the Attention layer",
          "[optimizer]") {
  std::vector<std::string> seen;
  opt::PassContext context;
  context.accept_fusion = [&](const ir::Node& fused, const std::vector<const ir::Node*>& separate)
      -> absl::StatusOr<bool> {
    if (fused.attrs.Has("num_heads")) {
      for (const ir::Node* n : separate) seen.push_back(n->op_type);
    }
    return true;
  };
  Optimized r = OptimizeAndCompare(HeadsModel({}).Serialize(), kHeadsPipeline, context);
  REQUIRE(r.after->nodes().size() == 1);
  const ir::Node& attn = *r.after->nodes()[0];
  CHECK(attn.op_type == "Attention");
  CHECK(attn.attrs.Int("num_heads", 0) == 2);
  CHECK(attn.attrs.Int("output_packed", 0) == 1);
  REQUIRE(attn.inputs.size() == 4);
  CHECK(attn.inputs[0]->name == "xq");
  CHECK(attn.inputs[1]->name == "xk");
  CHECK(attn.inputs[2]->name == "xv");
  CHECK(attn.outputs[0]->name == "y");
  CHECK(attn.outputs[0]->shape == Dims{1, 5, 6});
  // The cost model saw the Attention with the 3 Reshape + Transpose pairs and the merge.
  CHECK(seen.size() == 9);
  CHECK(std::count(seen.begin(), seen.end(), "Transpose") == 4);
  CHECK(std::count(seen.begin(), seen.end(), "Reshape") == 4);
  CHECK(Counter(r.counters, "fired") == 1);
  for (const char* k : {"fired.q", "fired.k", "fired.v", "fired.output"}) {
    CHECK(Counter(r.counters, k) == 1);
  }
  // The packed operands are read as strided heads with the same arithmetic.
  CheckBitIdentical(*r.before, *r.after);
}

TEST_CASE("fuse-attention-heads declines and says why", "[optimizer]") {
  HeadsVariant v;
  std::string skip;
  int folded_inputs = 3;
  bool output_folded = true;
  opt::PassContext context;
  SECTION("the Q head split has another reader") {
    v.q_split_also_output = true;
    skip = "skipped.intermediate_is_graph_output";
    folded_inputs = 2;
  }
  SECTION("the merge Transpose's output is a graph output") {
    v.merge_is_output = true;
    skip = "skipped.intermediate_is_graph_output";
    output_folded = false;
  }
  SECTION("Q's Transpose reads no head-split Reshape") {
    v.q_is_rank4_input = true;
    skip = "skipped.not_head_split";
    folded_inputs = 2;
  }
  SECTION("the cost model refuses") {
    context.accept_fusion = [](const ir::Node& fused, const std::vector<const ir::Node*>&)
        -> absl::StatusOr<bool> { return !fused.attrs.Has("num_heads"); };
    skip = "skipped.cost_model";
    folded_inputs = 0;
    output_folded = false;
  }
  Optimized r = OptimizeAndCompare(HeadsModel(v).Serialize(), kHeadsPipeline, context);
  CHECK(Counter(r.counters, skip) == 1);
  CHECK(Count(*r.after, "Attention") == 1);
  const ir::Node* attn = FindOp(*r.after, "Attention");
  REQUIRE(attn != nullptr);
  int packed = 0;
  for (int i = 0; i < 3; ++i) packed += attn->inputs[i]->shape.size() == 3 ? 1 : 0;
  CHECK(packed == folded_inputs);
  CHECK(attn->attrs.Int("output_packed", 0) == (output_folded ? 1 : 0));
  CHECK(Counter(r.counters, "fired") == (folded_inputs > 0 || output_folded ? 1 : 0));
  // Each unfolded operand keeps its Transpose (and the unfolded Q of a
  // graph input has no Reshape).
  const int transposes = (3 - folded_inputs) + (output_folded ? 0 : 1);
  CHECK(Count(*r.after, "Transpose") == transposes);
  CheckBitIdentical(*r.before, *r.after);
}

// ---------------------------------------------------------------------------
// fuse-residual into a Gemm

TEST_CASE("fuse-residual adds a transformer residual in the Gemm's epilogue", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 5, 8});
  b.Initializer("w", Rand({8, 8}));
  b.Initializer("bias", Rand({8}));
  b.Node("MatMul", {"x", "w"}, {"mm"}, "dense");
  b.Node("Add", {"bias", "mm"}, {"h"}, "dense_bias");
  bool relu = false;
  SECTION("BERT / ViT: Add(h, x), x read by others too") {
    b.Node("Add", {"h", "x"}, {"y"}, "residual");
    b.Node("Neg", {"x"}, {"z"}, "other_reader");
    b.Output("z", {1, 5, 8});
  }
  SECTION("residual first, then a Relu") {
    relu = true;
    b.Node("Add", {"x", "h"}, {"s"}, "residual");
    b.Node("Relu", {"s"}, {"y"}, "relu");
  }
  b.Output("y", {1, 5, 8});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-matmul-add", "fuse-residual"});
  const ir::Node* gemm = FindOp(*r.after, "Gemm");
  REQUIRE(gemm != nullptr);
  CHECK(Count(*r.after, "Add") == 0);
  REQUIRE(gemm->inputs.size() == 4);
  CHECK(gemm->inputs[3]->name == "x");
  CHECK(gemm->outputs[0]->name == "y");
  CHECK(AttrString(*gemm, "activation") == (relu ? "Relu" : ""));
  CHECK(Counter(r.counters, "fired") == 1);
  CHECK(Counter(r.counters, "fired.gemm") == 1);
  CHECK(Counter(r.counters, "fired.with_relu") == (relu ? 1 : 0));
  // The residual is added after the product and bias, as the Add did.
  CheckBitIdentical(*r.before, *r.after);
}

TEST_CASE("fuse-residual declines a Gemm residual it cannot take", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {3, 8});
  b.Initializer("w", Rand({8, 8}));
  b.Initializer("c", Rand({8}));
  std::string skip;
  SECTION("broadcast operand (a bias, not a residual)") {
    b.Node("Gemm", {"x", "w", "c"}, {"g"}, "gemm");
    b.Initializer("row", Rand({8}));
    b.Node("Add", {"g", "row"}, {"y"}, "add");
    skip = "skipped.broadcast";
  }
  SECTION("the Gemm's output is also a graph output") {
    b.Node("Gemm", {"x", "w", "c"}, {"g"}, "gemm");
    b.Node("Add", {"g", "x"}, {"y"}, "add");
    b.Output("g", {3, 8});
    skip = "skipped.intermediate_is_graph_output";
  }
  b.Output("y", {3, 8});
  Optimized r = OptimizeAndCompare(b.Serialize(), {"fuse-residual"});
  CHECK(Counter(r.counters, skip) == 1);
  CHECK(Counter(r.counters, "fired") == 0);
  CHECK(Count(*r.after, "Add") == 1);
}

TEST_CASE("fuse-attention-heads leaves a head split whose shape is computed at run time",
          "[optimizer]") {
  // A dynamic-shape build keeps the exporter's Shape/Gather/Concat chain as
  // layers: the Reshape target is not a constant, so the split is not folded.
  using engine::testing::Act;
  ir::Graph g;
  ir::Value* xq = Act(g, "xq", {1, 5, 8});
  ir::Value* qs = g.AddValue("q_shape");
  qs->dtype = DataType::kInt64;
  qs->shape = {4};
  qs->has_shape = true;
  ir::Value* kh = Act(g, "k_h", {1, 2, 6, 4});
  ir::Value* vh = Act(g, "v_h", {1, 2, 6, 4});
  for (ir::Value* v : {xq, qs, kh, vh}) g.inputs().push_back(v);
  auto node = [&](const std::string& type, std::vector<ir::Value*> in, ir::Value* out) {
    auto n = std::make_unique<ir::Node>();
    n->op_type = type;
    n->name = type;
    n->inputs = std::move(in);
    n->outputs = {out};
    return g.AddNode(std::move(n));
  };
  ir::Value* r = Act(g, "q_r", {1, 5, 2, 4});
  node("Reshape", {xq, qs}, r);
  ir::Value* qh = Act(g, "q_h", {1, 2, 5, 4});
  node("Transpose", {r}, qh)->attrs.Set("perm", std::vector<int64_t>{0, 2, 1, 3});
  ir::Value* y = Act(g, "y", {1, 2, 5, 4});
  node("Attention", {qh, kh, vh}, y);
  g.outputs().push_back(y);
  Counters c = RunPasses(g, {"fuse-attention-heads"});
  CHECK(Counter(c, "skipped.dynamic_shape") == 1);
  CHECK(Counter(c, "fired") == 0);
  CHECK(FindOp(g, "Attention")->inputs[0]->name == "q_h");
}
