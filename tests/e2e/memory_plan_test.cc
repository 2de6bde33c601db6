// The activation arena: outputs bit for bit equal with and without memory
// reuse, on the generated models and the shared ones.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <random>

#include "engine/builder.h"
#include "engine/runtime.h"
#include "test_models.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace engine {
namespace {

std::vector<NamedTensor> Run(const std::string& model, bool plan_memory,
                             const std::vector<NamedTensor>& inputs, MemoryPlanInfo* info) {
  BuilderConfig config;
  config.plan_memory = plan_memory;
  auto built = Builder().BuildFromOnnxFile(model, config);
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  REQUIRE(engine.ok());
  if (info != nullptr) *info = (*engine)->memory_plan();
  auto ctx = (*engine)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  // Twice, the second time without setting the inputs again: inputs must
  // survive an inference, and the run must not depend on what the previous
  // one left in the arena.
  auto first = (*ctx)->Infer(inputs);
  REQUIRE(first.ok());
  auto second = (*ctx)->Infer({});
  REQUIRE(second.ok());
  REQUIRE(first->size() == second->size());
  for (size_t i = 0; i < first->size(); ++i) {
    REQUIRE(std::memcmp((*first)[i].tensor.data(), (*second)[i].tensor.data(),
                        (*first)[i].tensor.byte_size()) == 0);
  }
  return *first;
}

std::vector<NamedTensor> RandomInputs(const std::string& model) {
  auto built = Builder().BuildFromOnnxFile(model, BuilderConfig{});
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  REQUIRE(engine.ok());
  std::mt19937 rng(5);
  std::vector<NamedTensor> inputs;
  for (const TensorDesc& d : (*engine)->inputs()) {
    REQUIRE(d.dtype == DataType::kFloat32);
    inputs.push_back({d.name, testing::RandomTensor(d.shape, rng)});
  }
  return inputs;
}

TEST_CASE("Memory reuse leaves every output bit for bit unchanged", "[e2e]") {
  std::vector<std::string> models;
  for (const char* m : {"tiny_cnn", "mobilenetv2", "resnet50"}) {
    const fs::path p = fs::path(ENGINE_SOURCE_DIR) / "models" / "out" / (std::string(m) + ".onnx");
    if (fs::exists(p)) {
      models.push_back(p.string());
    } else {
      WARN("SKIPPED: " << p << " missing (run /usr/bin/python3 models/generate.py)");
    }
  }
  const std::string mnist = testing::SharedPath("models/mnist/mnist-8.onnx");
  if (mnist.empty()) {
    WARN("SKIPPED: ../shared/models/mnist/mnist-8.onnx absent");
  } else {
    models.push_back(mnist);
  }
  for (const std::string& model : models) {
    CAPTURE(model);
    const auto inputs = RandomInputs(model);
    MemoryPlanInfo shared, separate;
    const auto a = Run(model, true, inputs, &shared);
    const auto b = Run(model, false, inputs, &separate);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      CAPTURE(a[i].name);
      REQUIRE(a[i].tensor.byte_size() == b[i].tensor.byte_size());
      CHECK(std::memcmp(a[i].tensor.data(), b[i].tensor.data(), a[i].tensor.byte_size()) == 0);
    }
    CHECK(separate.strategy == "no-reuse");
    CHECK(separate.arena_bytes == separate.no_reuse_bytes);
    CHECK(shared.arena_bytes >= shared.lower_bound_bytes);
    CHECK(shared.arena_bytes <= separate.arena_bytes);
  }
}

}  // namespace
}  // namespace engine

TEST_CASE("An arena above BuilderConfig::max_arena_bytes fails the build with both sizes",
          "[e2e][memory]") {
  engine::Builder builder;
  engine::BuilderConfig config;
  config.max_arena_bytes = 256;
  auto built = builder.BuildFromOnnxBytes(engine::testing::SmallConvModel(), "small.onnx", config);
  REQUIRE(!built.ok());
  CHECK(built.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(built.status().message().find("above the limit of 256 bytes") != std::string::npos);
  CHECK(built.status().message().find("small.onnx") != std::string::npos);
  config.max_arena_bytes = int64_t{1} << 30;
  CHECK(builder.BuildFromOnnxBytes(engine::testing::SmallConvModel(), "small.onnx", config).ok());
}
