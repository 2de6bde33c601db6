// The graph optimizer preserves results end to end: engines built at opt
// level 0 (no rewrites) and level 2 (every rewrite pass) from the same model
// give the same outputs (rtol 1e-3, atol 1e-4 for real models; rtol 1e-4,
// atol 1e-5 for the small pattern model) through build -> plan -> runtime.
// Models: the nine onnx_light ImageNet architectures with their reference
// inputs, mnist-8 and the generated resnet50 / mobilenetv2 (models/out) with
// random inputs, and a small model containing every rewrite pattern, built
// once per pass.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "engine/builder.h"
#include "engine/compare.h"
#include "engine/runtime.h"
#include "engine/tensor_io.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;
namespace fs = std::filesystem;
using engine::testing::MakeFloat;
using engine::testing::MakeInt64;
using engine::testing::ModelBuilder;

namespace {

struct Run {
  std::vector<NamedTensor> outputs;
  size_t layers = 0;
  std::vector<std::string> layer_names;
};

Logger& Quiet() {
  static StderrLogger quiet(Severity::kError);
  return quiet;
}

// Builds `bytes` with `config`, loads the plan and runs `inputs`.
Run BuildAndRun(const std::string& bytes, const std::string& name, const BuilderConfig& config,
                const std::vector<NamedTensor>& inputs) {
  Builder builder(&Quiet());
  auto built = builder.BuildFromOnnxBytes(bytes, name, config);
  INFO(name << ": " << built.status().ToString());
  REQUIRE(built.ok());
  auto eng = Runtime::DeserializeEngine(built->plan, &Quiet());
  INFO(eng.status().ToString());
  REQUIRE(eng.ok());
  auto ctx = (*eng)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  auto outputs = (*ctx)->Infer(inputs);
  INFO(outputs.status().ToString());
  REQUIRE(outputs.ok());
  Run r;
  r.outputs = *std::move(outputs);
  r.layers = (*eng)->layers().size();
  for (const LayerInfo& l : (*eng)->layers()) r.layer_names.push_back(l.name);
  return r;
}

// Random float inputs for every input of the model (shapes from an opt-0
// engine, so dynamic dimensions are already resolved by the model).
std::vector<NamedTensor> RandomInputs(const std::string& bytes, const std::string& name,
                                      uint32_t seed) {
  Builder builder(&Quiet());
  BuilderConfig config;
  config.opt_level = 0;
  auto built = builder.BuildFromOnnxBytes(bytes, name, config);
  REQUIRE(built.ok());
  auto eng = Runtime::DeserializeEngine(built->plan, &Quiet());
  REQUIRE(eng.ok());
  std::mt19937 rng(seed);
  std::vector<NamedTensor> inputs;
  for (const TensorDesc& d : (*eng)->inputs()) {
    REQUIRE(d.dtype == DataType::kFloat32);
    inputs.push_back({d.name, testing::RandomTensor(d.shape, rng, 0.0f, 1.0f)});
  }
  return inputs;
}

void ExpectSameOutputs(const Run& optimized, const Run& reference, double rtol, double atol) {
  REQUIRE(optimized.outputs.size() == reference.outputs.size());
  for (size_t i = 0; i < optimized.outputs.size(); ++i) {
    CHECK(optimized.outputs[i].name == reference.outputs[i].name);
    CompareResult r =
        CompareTensors(optimized.outputs[i].tensor, reference.outputs[i].tensor, rtol, atol);
    INFO("output '" << reference.outputs[i].name << "': " << r.message);
    CHECK(r.passed);
  }
}

// Builds at level 0 and level 2 and compares; returns (layers at 0, at 2).
std::pair<size_t, size_t> CompareLevels(const std::string& bytes, const std::string& name,
                                        const std::vector<NamedTensor>& inputs) {
  BuilderConfig o0;
  o0.opt_level = 0;
  BuilderConfig o2;
  o2.opt_level = 2;
  Run reference = BuildAndRun(bytes, name, o0, inputs);
  Run optimized = BuildAndRun(bytes, name, o2, inputs);
  INFO(name << ": " << reference.layers << " layers at opt 0, " << optimized.layers << " at opt 2");
  ExpectSameOutputs(optimized, reference, 1e-3, 1e-4);
  CHECK(optimized.layers <= reference.layers);
  return {reference.layers, optimized.layers};
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("onnx_light models give the same outputs at opt levels 0 and 2", "[e2e]") {
  const std::string dir = testing::SharedPath("models/onnx_light");
  if (dir.empty()) {
    WARN("SKIPPED: ../shared/models/onnx_light not found");
    return;
  }
  for (const char* name : testing::kOnnxLightModels) {
    SECTION(name) {
      const std::string base = dir + "/" + name;
      auto input = LoadTensorFile(base + "_input_0.pb");
      REQUIRE(input.ok());
      const std::string bytes = ReadFile(base + ".onnx");
      // The input name: the first graph input of an opt-0 engine.
      std::vector<NamedTensor> random = RandomInputs(bytes, name, 1);
      REQUIRE(random.size() == 1);
      auto [l0, l2] = CompareLevels(bytes, name, {{random[0].name, input->tensor}});
      INFO(name << ": " << l0 << " -> " << l2 << " layers");
      CHECK(l2 < l0);
    }
  }
}

TEST_CASE("mnist-8 gives the same outputs at opt levels 0 and 2", "[e2e]") {
  const std::string model = testing::SharedPath("models/mnist/mnist-8.onnx");
  if (model.empty()) {
    WARN("SKIPPED: ../shared/models/mnist/mnist-8.onnx not found");
    return;
  }
  const std::string bytes = ReadFile(model);
  CompareLevels(bytes, "mnist-8", RandomInputs(bytes, "mnist-8", 2));
}

TEST_CASE("Generated resnet50 and mobilenetv2 give the same outputs at opt levels 0 and 2",
          "[e2e]") {
  for (const char* file : {"resnet50.onnx", "mobilenetv2.onnx"}) {
    SECTION(file) {
      const std::string path = std::string(ENGINE_SOURCE_DIR) + "/models/out/" + file;
      if (!fs::exists(path)) {
        WARN("SKIPPED: " << path << " not found (generate it with the models/ scripts)");
        return;
      }
      const std::string bytes = ReadFile(path);
      auto [l0, l2] = CompareLevels(bytes, file, RandomInputs(bytes, file, 3));
      CHECK(l2 < l0);
    }
  }
}

namespace {

// Every rewrite pattern in one small model:
//   x -> Pad -> conv1 -> bn1 -> Clip(0, 6)                          (fold-pad,
//        fold-batchnorm, fuse-activation)
//     -> conv2 -> bn2 -> Add(residual) -> Relu                      (fuse-residual)
//     -> bn3 (lone: Mul + Add)
//     -> Transpose -> Transpose (inverse pair)                      (simplify-reshape)
//     -> GlobalAveragePool -> Flatten -> Reshape(no-op)             (simplify-reshape)
//     -> MatMul -> Add(bias) -> LeakyRelu                           (fuse-matmul-add,
//                                                                    fuse-activation)
//     also: 1x1 Conv (no bias) -> HardSigmoid as a second output y2.
std::string PatternModel() {
  std::mt19937 rng(31);
  auto rand = [&](const Dims& d, float lo = -1.0f, float hi = 1.0f) {
    return testing::RandomTensor(d, rng, lo, hi);
  };
  ModelBuilder b;
  b.Input("x", {1, 4, 8, 8});
  b.Initializer("pads", MakeInt64({8}, {0, 0, 1, 1, 0, 0, 1, 1}));
  b.Initializer("w1", rand({8, 4, 3, 3}));
  b.Initializer("w2", rand({8, 8, 3, 3}));
  b.Initializer("b2", rand({8}));
  b.Initializer("w3", rand({3, 8, 1, 1}));
  for (const char* bn : {"bn1", "bn2", "bn3"}) {
    b.Initializer(std::string(bn) + "_s", rand({8}, 0.5f, 1.5f));
    b.Initializer(std::string(bn) + "_b", rand({8}));
    b.Initializer(std::string(bn) + "_m", rand({8}));
    b.Initializer(std::string(bn) + "_v", rand({8}, 0.2f, 2.0f));
  }
  b.Initializer("lo", MakeFloat({}, {0.0f}));
  b.Initializer("hi", MakeFloat({}, {6.0f}));
  b.Initializer("shape", MakeInt64({2}, {1, 8}));
  b.Initializer("fc_w", rand({8, 5}));
  b.Initializer("fc_b", rand({5}));
  auto bn_inputs = [](const std::string& x, const std::string& bn) {
    return std::vector<std::string>{x, bn + "_s", bn + "_b", bn + "_m", bn + "_v"};
  };
  b.Node("Pad", {"x", "pads"}, {"p"}, "pad");
  b.Node("Conv", {"p", "w1"}, {"c1"}, "conv1");
  b.Node("BatchNormalization", bn_inputs("c1", "bn1"), {"n1"}, "bn1");
  b.Node("Clip", {"n1", "lo", "hi"}, {"r1"}, "relu6");
  auto& conv2 = b.Node("Conv", {"r1", "w2", "b2"}, {"c2"}, "conv2");
  ModelBuilder::SetInts(conv2, "pads", {1, 1, 1, 1});
  b.Node("BatchNormalization", bn_inputs("c2", "bn2"), {"n2"}, "bn2");
  b.Node("Add", {"n2", "r1"}, {"s2"}, "add");
  b.Node("Relu", {"s2"}, {"r2"}, "relu2");
  b.Node("BatchNormalization", bn_inputs("r2", "bn3"), {"n3"}, "bn3");
  auto& t1 = b.Node("Transpose", {"n3"}, {"t1"}, "t1");
  ModelBuilder::SetInts(t1, "perm", {0, 2, 3, 1});
  auto& t2 = b.Node("Transpose", {"t1"}, {"t2"}, "t2");
  ModelBuilder::SetInts(t2, "perm", {0, 3, 1, 2});
  b.Node("GlobalAveragePool", {"t2"}, {"gap"}, "gap");
  b.Node("Flatten", {"gap"}, {"flat"}, "flatten");
  b.Node("Reshape", {"flat", "shape"}, {"rs"}, "reshape");
  b.Node("MatMul", {"rs", "fc_w"}, {"m"}, "fc");
  b.Node("Add", {"m", "fc_b"}, {"logits"}, "fc_bias");
  auto& leaky = b.Node("LeakyRelu", {"logits"}, {"y"}, "leaky");
  ModelBuilder::SetFloat(leaky, "alpha", 0.1f);
  b.Node("Conv", {"r2", "w3"}, {"c3"}, "conv3");
  b.Node("HardSigmoid", {"c3"}, {"y2"}, "hsig");
  b.Output("y", {1, 5});
  b.Output("y2", {1, 3, 8, 8});
  return b.Serialize();
}

}  // namespace

TEST_CASE("Each rewrite pass keeps a pattern model's outputs end to end", "[e2e]") {
  const std::string bytes = PatternModel();
  std::mt19937 rng(5);
  const std::vector<NamedTensor> inputs = {
      {"x", testing::RandomTensor({1, 4, 8, 8}, rng, -2.0f, 2.0f)}};
  BuilderConfig o0;
  o0.opt_level = 0;
  const Run reference = BuildAndRun(bytes, "patterns", o0, inputs);
  // The pipeline grown one rewrite pass at a time (each pass sees its
  // predecessors' output, as at level 2); every pass fires on this model.
  const std::vector<std::string> rewrites = {"simplify-reshape", "fold-pad",
                                             "fold-batchnorm",   "fuse-matmul-add",
                                             "fuse-residual",    "fuse-activation"};
  SECTION("pipeline prefixes") {
    size_t previous = reference.layers;
    std::vector<std::string> passes = {"fold-constants", "eliminate-identity"};
    for (const std::string& pass : rewrites) {
      passes.push_back(pass);
      BuilderConfig config;
      config.passes = passes;
      config.passes.push_back("eliminate-dead-nodes");
      const Run r = BuildAndRun(bytes, "patterns", config, inputs);
      INFO("up to " << pass << ": " << previous << " -> " << r.layers << " layers");
      CHECK(r.layers < previous);
      ExpectSameOutputs(r, reference, 1e-4, 1e-5);
      previous = r.layers;
    }
  }
  SECTION("level 2") {
    BuilderConfig config;
    config.opt_level = 2;
    const Run r = BuildAndRun(bytes, "patterns", config, inputs);
    std::string names;
    for (const std::string& n : r.layer_names) names += n + "\n";
    INFO("layers at opt 2:\n" << names);
    ExpectSameOutputs(r, reference, 1e-4, 1e-5);
    // Fusions the cost model may decline still leave every fold and the
    // MatMul + Add -> Gemm rewrite.
    CHECK(r.layers < reference.layers);
    bool padded_conv = false, gemm = false;
    for (const std::string& n : r.layer_names) {
      padded_conv = padded_conv || n.rfind("pad + conv1 + bn1", 0) == 0;
      gemm = gemm || n.rfind("fc + fc_bias", 0) == 0;
    }
    CHECK(padded_conv);
    CHECK(gemm);
  }
}
