// One Engine shared by many threads, each with its own ExecutionContext:
// thousands of inferences with different inputs per thread, every output
// bit-identical to the single-threaded result for the same input. This is the
// test the ThreadSanitizer stage runs (scripts/run_sanitizers.sh): the
// contexts share the engine's constants and kernels and the process-wide
// worker pool.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;

namespace {

constexpr int kInputsPerThread = 4;    // distinct inputs each thread cycles through
constexpr int kInferencesPerRun = 1200;  // per thread count, split over the threads

Tensor Seeded(Dims shape, uint32_t seed) {
  std::mt19937 rng(seed);
  return testing::RandomTensor(shape, rng);
}

// A small CNN whose layers are large enough for the kernels to split work over
// the worker pool (the second convolutions are ~4.7 M MACs each, the
// elementwise and pooling layers 32 K elements):
// x[1,3,32,32] -> Conv 3x3 (16) -> Relu -> {Conv 3x3 (32), Conv 3x3 (32)} ->
// Add -> Relu -> MaxPool 2x2 -> GlobalAveragePool -> Flatten -> Gemm (10) -> Softmax.
std::string ConcurrencyModel() {
  testing::ModelBuilder b(13, "concurrency_cnn");
  b.Input("x", {1, 3, 32, 32});
  b.Initializer("w1", Seeded({16, 3, 3, 3}, 11));
  b.Initializer("b1", Seeded({16}, 12));
  b.Initializer("w2a", Seeded({32, 16, 3, 3}, 13));
  b.Initializer("b2a", Seeded({32}, 14));
  b.Initializer("w2b", Seeded({32, 16, 3, 3}, 15));
  b.Initializer("fc_w", Seeded({10, 32}, 16));
  b.Initializer("fc_b", Seeded({10}, 17));
  testing::ModelBuilder::SetInts(b.Node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1"), "pads",
                                 {1, 1, 1, 1});
  b.Node("Relu", {"c1"}, {"r1"}, "relu1");
  testing::ModelBuilder::SetInts(b.Node("Conv", {"r1", "w2a", "b2a"}, {"c2a"}, "conv2a"), "pads",
                                 {1, 1, 1, 1});
  testing::ModelBuilder::SetInts(b.Node("Conv", {"r1", "w2b"}, {"c2b"}, "conv2b"), "pads",
                                 {1, 1, 1, 1});
  b.Node("Add", {"c2a", "c2b"}, {"s"}, "add");
  b.Node("Relu", {"s"}, {"r2"}, "relu2");
  auto& pool = b.Node("MaxPool", {"r2"}, {"p"}, "pool");
  testing::ModelBuilder::SetInts(pool, "kernel_shape", {2, 2});
  testing::ModelBuilder::SetInts(pool, "strides", {2, 2});
  b.Node("GlobalAveragePool", {"p"}, {"g"}, "gap");
  b.Node("Flatten", {"g"}, {"f"}, "flatten");
  testing::ModelBuilder::SetInt(b.Node("Gemm", {"f", "fc_w", "fc_b"}, {"logits"}, "fc"), "transB",
                                1);
  b.Node("Softmax", {"logits"}, {"y"}, "softmax");
  b.Output("y", {1, 10});
  return b.Serialize();
}

std::shared_ptr<const Engine> BuildEngine() {
  StderrLogger quiet(Severity::kError);
  auto built = Builder(&quiet).BuildFromOnnxBytes(ConcurrencyModel(), "concurrency_cnn.onnx",
                                                  BuilderConfig{});
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan, &quiet);
  INFO(engine.status().ToString());
  REQUIRE(engine.ok());
  return *engine;
}

Tensor InputFor(int thread, int k) {
  return Seeded({1, 3, 32, 32}, static_cast<uint32_t>(1000 + thread * kInputsPerThread + k));
}

bool BitIdentical(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.byte_size() == b.byte_size() &&
         std::memcmp(a.data(), b.data(), a.byte_size()) == 0;
}

}  // namespace

TEST_CASE("Many contexts on many threads give the single-threaded outputs bit for bit",
          "[executor][concurrency]") {
  const std::shared_ptr<const Engine> engine = BuildEngine();
  REQUIRE(engine->inputs().size() == 1);
  REQUIRE(engine->outputs().size() == 1);
  const std::string in_name = engine->inputs()[0].name;
  const std::string out_name = engine->outputs()[0].name;
  constexpr int kMaxThreads = 8;

  // References: one context, one thread, every input any thread will use.
  std::vector<std::vector<Tensor>> reference(kMaxThreads);
  {
    auto ctx = engine->CreateExecutionContext();
    REQUIRE(ctx.ok());
    REQUIRE((*ctx)->SetThreads(1).ok());
    for (int t = 0; t < kMaxThreads; ++t) {
      for (int k = 0; k < kInputsPerThread; ++k) {
        REQUIRE((*ctx)->SetInput(in_name, InputFor(t, k)).ok());
        REQUIRE((*ctx)->Execute().ok());
        auto out = (*ctx)->GetOutput(out_name);
        REQUIRE(out.ok());
        reference[t].push_back(**out);
      }
    }
    // Different inputs give different outputs (else the test proves little).
    CHECK_FALSE(BitIdentical(reference[0][0], reference[0][1]));
    CHECK_FALSE(BitIdentical(reference[0][0], reference[1][0]));
  }

  int64_t total = 0;
  for (int threads : {2, 4, 8}) {
    const int per_thread = kInferencesPerRun / threads;
    std::atomic<int> errors{0}, mismatches{0}, done{0};
    std::vector<std::string> first_error(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        // Contexts are created concurrently too; even threads use the shared
        // worker pool (default thread count), odd ones run inline.
        auto ctx = engine->CreateExecutionContext();
        if (!ctx.ok()) {
          first_error[t] = ctx.status().ToString();
          errors.fetch_add(1);
          return;
        }
        if (t % 2 == 1 && !(*ctx)->SetThreads(1).ok()) {
          errors.fetch_add(1);
          return;
        }
        std::vector<Tensor> inputs;
        for (int k = 0; k < kInputsPerThread; ++k) inputs.push_back(InputFor(t, k));
        for (int i = 0; i < per_thread; ++i) {
          const int k = (i * 7 + t) % kInputsPerThread;
          absl::Status s = (*ctx)->SetInput(in_name, inputs[k]);
          if (s.ok()) s = (*ctx)->Execute();
          auto out = (*ctx)->GetOutput(out_name);
          if (!s.ok() || !out.ok()) {
            if (first_error[t].empty()) first_error[t] = (s.ok() ? out.status() : s).ToString();
            errors.fetch_add(1);
            continue;
          }
          if (!BitIdentical(**out, reference[t][k])) mismatches.fetch_add(1);
          done.fetch_add(1);
        }
      });
    }
    for (std::thread& th : pool) th.join();
    INFO(threads << " threads, first errors: " << absl::StrCat(first_error[0], " ", first_error[1]));
    CHECK(errors.load() == 0);
    CHECK(mismatches.load() == 0);
    CHECK(done.load() == threads * per_thread);
    total += done.load();
  }
  CHECK(total >= 3000);
}

TEST_CASE("Plans load and run on several threads at once", "[executor][concurrency]") {
  StderrLogger quiet(Severity::kError);
  auto built = Builder(&quiet).BuildFromOnnxBytes(ConcurrencyModel(), "concurrency_cnn.onnx",
                                                  BuilderConfig{});
  REQUIRE(built.ok());
  const std::string plan = built->plan;
  const Tensor x = InputFor(0, 0);
  Tensor expected;
  {
    auto engine = Runtime::DeserializeEngine(plan, &quiet);
    REQUIRE(engine.ok());
    auto ctx = (*engine)->CreateExecutionContext();
    REQUIRE(ctx.ok());
    auto out = (*ctx)->Infer({{"x", x}});
    REQUIRE(out.ok());
    expected = (*out)[0].tensor;
  }
  constexpr int kThreads = 4;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      StderrLogger log(Severity::kError);
      for (int i = 0; i < 3; ++i) {
        auto engine = Runtime::DeserializeEngine(plan, &log);
        if (!engine.ok()) return;
        auto ctx = (*engine)->CreateExecutionContext();
        if (!ctx.ok()) return;
        auto out = (*ctx)->Infer({{"x", x}});
        if (out.ok() && BitIdentical((*out)[0].tensor, expected)) good.fetch_add(1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(good.load() == kThreads * 3);
}
