// Intra-op parallelism end to end: ExecutionContext::SetThreads, outputs bit
// for bit equal at every thread count on the generated models, and contexts
// executing at once (sharing the pool) agree with a lone one.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "engine/builder.h"
#include "engine/runtime.h"
#include "test_models.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace engine {
namespace {

std::shared_ptr<const Engine> BuildFile(const std::string& model) {
  auto built = Builder().BuildFromOnnxFile(model, BuilderConfig{});
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  REQUIRE(engine.ok());
  return *engine;
}

std::vector<NamedTensor> RandomInputs(const Engine& engine, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<NamedTensor> inputs;
  for (const TensorDesc& d : engine.inputs()) {
    REQUIRE(d.dtype == DataType::kFloat32);
    inputs.push_back({d.name, testing::RandomTensor(d.shape, rng)});
  }
  return inputs;
}

std::vector<NamedTensor> InferWith(const Engine& engine, int threads,
                                   const std::vector<NamedTensor>& inputs) {
  auto ctx = engine.CreateExecutionContext();
  REQUIRE(ctx.ok());
  REQUIRE((*ctx)->SetThreads(threads).ok());
  CHECK((*ctx)->threads() == threads);
  auto out = (*ctx)->Infer(inputs);
  REQUIRE(out.ok());
  return *std::move(out);
}

void RequireSameBits(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].name);
    REQUIRE(a[i].tensor.byte_size() == b[i].tensor.byte_size());
    CHECK(std::memcmp(a[i].tensor.data(), b[i].tensor.data(), a[i].tensor.byte_size()) == 0);
  }
}

std::vector<std::string> GeneratedModels() {
  std::vector<std::string> models;
  for (const char* m : {"tiny_cnn", "mobilenetv2", "resnet50"}) {
    const fs::path p = fs::path(ENGINE_SOURCE_DIR) / "models" / "out" / (std::string(m) + ".onnx");
    if (fs::exists(p)) {
      models.push_back(p.string());
    } else {
      WARN("SKIPPED: " << p << " missing (run /usr/bin/python3 models/generate.py)");
    }
  }
  return models;
}

TEST_CASE("SetThreads validates its argument and defaults to the hardware threads", "[e2e]") {
  auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(), "m", BuilderConfig{});
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  REQUIRE(engine.ok());
  auto ctx = (*engine)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  CHECK(ExecutionContext::DefaultThreads() >= 1);
  CHECK((*ctx)->threads() == ExecutionContext::DefaultThreads());
  for (int bad : {0, -3}) {
    absl::Status s = (*ctx)->SetThreads(bad);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(s.message().find(">= 1") != std::string_view::npos);
  }
  CHECK((*ctx)->threads() == ExecutionContext::DefaultThreads());  // unchanged
  CHECK((*ctx)->SetThreads(1).ok());
  CHECK((*ctx)->threads() == 1);
  // More threads than the machine has is accepted (and capped internally).
  CHECK((*ctx)->SetThreads(4 * ExecutionContext::DefaultThreads() + 1).ok());
  CHECK((*ctx)->threads() == 4 * ExecutionContext::DefaultThreads() + 1);
}

TEST_CASE("Outputs are bit for bit equal at every thread count", "[e2e]") {
  for (const std::string& model : GeneratedModels()) {
    CAPTURE(model);
    const auto engine = BuildFile(model);
    const auto inputs = RandomInputs(*engine, 7);
    const auto serial = InferWith(*engine, 1, inputs);
    RequireSameBits(serial, InferWith(*engine, 2, inputs));
    RequireSameBits(serial, InferWith(*engine, 3, inputs));
    RequireSameBits(serial, InferWith(*engine, ExecutionContext::DefaultThreads(), inputs));
  }
}

TEST_CASE("Contexts executing at once share the pool and agree with a lone context", "[e2e]") {
  const fs::path p = fs::path(ENGINE_SOURCE_DIR) / "models" / "out" / "mobilenetv2.onnx";
  if (!fs::exists(p)) {
    WARN("SKIPPED: " << p << " missing (run /usr/bin/python3 models/generate.py)");
    return;
  }
  const auto engine = BuildFile(p.string());
  const auto inputs = RandomInputs(*engine, 9);
  const auto expected = InferWith(*engine, 1, inputs);
  constexpr int kContexts = 3;
  std::vector<std::vector<NamedTensor>> results(kContexts);
  std::vector<std::thread> threads;
  for (int c = 0; c < kContexts; ++c) {
    threads.emplace_back([&, c] {
      auto ctx = engine->CreateExecutionContext();
      if (!ctx.ok() || !(*ctx)->SetThreads(2).ok()) return;
      for (int rep = 0; rep < 3; ++rep) {
        auto out = (*ctx)->Infer(inputs);
        if (!out.ok()) return;
        results[c] = *std::move(out);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int c = 0; c < kContexts; ++c) {
    CAPTURE(c);
    RequireSameBits(expected, results[c]);
  }
}

}  // namespace
}  // namespace engine
