// The builder's host graph interpreter (src/builder/graph_runner.h), which
// calibration runs the FP32 graph with, against a built engine of the same
// graph: every tensor an FP32 layer produces (BuilderConfig::mark_all_outputs)
// is bit for bit the same, on mnist-8 and the generated tiny CNN and
// MobileNetV2 (models/out), so calibration sees exactly the values the
// executor computes.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "builder/graph_runner.h"
#include "builder/int8_phase.h"
#include "codegen/fusion_cost.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "kernels/thread_pool.h"
#include "optimizer/pass.h"
#include "parser/onnx_parser.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace engine {
namespace {

// The graph the builder hands to codegen for `config` (FP32): parse, the
// optimizer pipeline with the cost model's fusion verdict, every produced
// float tensor marked as an output.
std::unique_ptr<ir::Graph> OptimizedGraph(const std::string& path, const BuilderConfig& config) {
  auto g = parser::ParseOnnxFile(path, parser::ParseOptions{});
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  auto pm = opt::BuildPipeline(config.opt_level, config.passes);
  REQUIRE(pm.ok());
  opt::PassContext context;
  context.accept_fusion = codegen::MakeFusionVerdict(config.hardware, config.objective);
  (*pm)->set_context(std::move(context));
  REQUIRE((*pm)->Run(**g).ok());
  builder::MarkAllOutputs(**g);
  return *std::move(g);
}

void CheckModel(const std::string& path) {
  CAPTURE(path);
  BuilderConfig config;
  config.mark_all_outputs = true;
  auto built = Builder().BuildFromOnnxFile(path, config);
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  REQUIRE(engine.ok());
  auto ctx = (*engine)->CreateExecutionContext();
  REQUIRE(ctx.ok());

  std::unique_ptr<ir::Graph> graph = OptimizedGraph(path, config);
  std::vector<std::string> names;
  for (const TensorDesc& d : (*engine)->outputs()) names.push_back(d.name);
  REQUIRE(names.size() == graph->outputs().size());
  auto runner =
      builder::GraphRunner::Create(*graph, names, exec::ThreadPool::HardwareThreads());
  INFO(runner.status().ToString());
  REQUIRE(runner.ok());
  REQUIRE((*runner)->inputs().size() == (*engine)->inputs().size());

  std::mt19937 rng(11);
  std::map<std::string, Tensor> inputs;
  std::vector<NamedTensor> named;
  for (const TensorDesc& d : (*engine)->inputs()) {
    REQUIRE(d.dtype == DataType::kFloat32);
    Tensor t = testing::RandomTensor(d.shape, rng);
    named.push_back({d.name, t});
    inputs.emplace(d.name, std::move(t));
  }
  auto expected = (*ctx)->Infer(named);
  REQUIRE(expected.ok());
  REQUIRE((*runner)->Run(inputs).ok());
  int compared = 0;
  for (const NamedTensor& e : *expected) {
    CAPTURE(e.name);
    auto got = (*runner)->Get(e.name);
    REQUIRE(got.ok());
    REQUIRE((*got)->shape() == e.tensor.shape());
    REQUIRE((*got)->byte_size() == e.tensor.byte_size());
    CHECK(std::memcmp((*got)->data(), e.tensor.data(), e.tensor.byte_size()) == 0);
    ++compared;
  }
  CHECK(compared > 1);
}

TEST_CASE("GraphRunner computes the engine's values bit for bit", "[e2e][graph_runner]") {
  std::vector<std::string> models;
  const std::string mnist = testing::SharedPath("models/mnist/mnist-8.onnx");
  if (fs::exists(mnist)) {
    models.push_back(mnist);
  } else {
    WARN("SKIPPED: " << mnist << " missing");
  }
  for (const char* m : {"tiny_cnn", "mobilenetv2"}) {
    const fs::path p = fs::path(ENGINE_SOURCE_DIR) / "models" / "out" / (std::string(m) + ".onnx");
    if (fs::exists(p)) {
      models.push_back(p.string());
    } else {
      WARN("SKIPPED: " << p << " missing (run /usr/bin/python3 models/generate.py)");
    }
  }
  REQUIRE(!models.empty());
  for (const std::string& m : models) CheckModel(m);
}

}  // namespace
}  // namespace engine
