// Zero-copy I/O (ExecutionContext::SetTensorAddress) and asynchronous
// execution (ExecutionContext::Enqueue), issue 23. The cases tagged
// [concurrency] are cheap and run under ThreadSanitizer
// (scripts/run_sanitizers.sh).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/builder.h"
#include "engine/runtime.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;

namespace {

// x[2,8] -> Relu -> y1 (an output, also read by the next layer);
// y1 -> Mul(y1, w) -> y2.  y1 = max(x, 0), y2 = y1 * w.
std::shared_ptr<const Engine> BindModel() {
  testing::ModelBuilder b(13, "bind_model");
  b.Input("x", {2, 8});
  std::vector<float> w(16);
  for (int i = 0; i < 16; ++i) w[i] = 0.5f + i;
  b.Initializer("w", testing::MakeFloat({2, 8}, w));
  b.Node("Relu", {"x"}, {"y1"}, "relu");
  b.Node("Mul", {"y1", "w"}, {"y2"}, "mul");
  b.Output("y1", {2, 8});
  b.Output("y2", {2, 8});
  StderrLogger quiet(Severity::kError);
  auto built = Builder(&quiet).BuildFromOnnxBytes(b.Serialize(), "bind_model.onnx", BuilderConfig{});
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan, &quiet);
  INFO(engine.status().ToString());
  REQUIRE(engine.ok());
  return *engine;
}

std::vector<float> Input(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<float> v(16);
  for (float& f : v) f = u(rng);
  return v;
}

// Refills `x` in place (a bound buffer must not move: `x = Input(seed)`
// would take the temporary's storage).
void Refill(std::vector<float>& x, uint32_t seed) {
  const std::vector<float> v = Input(seed);
  std::copy(v.begin(), v.end(), x.begin());
}

void Expect(const std::vector<float>& x, const float* y1, const float* y2) {
  for (int i = 0; i < 16; ++i) {
    const float r = x[i] > 0 ? x[i] : 0;
    INFO("element " << i << ": x = " << x[i] << ", y1 = " << y1[i] << ", y2 = " << y2[i]);
    REQUIRE(y1[i] == r);
    REQUIRE(y2[i] == r * (0.5f + i));
  }
}

std::unique_ptr<ExecutionContext> Context(const Engine& e) {
  auto ctx = e.CreateExecutionContext();
  REQUIRE(ctx.ok());
  REQUIRE((*ctx)->SetThreads(1).ok());
  return std::move(*ctx);
}

}  // namespace

TEST_CASE("SetTensorAddress: inputs read from and outputs written to caller buffers", "[executor]") {
  auto engine = BindModel();
  auto ctx = Context(*engine);
  std::vector<float> x = Input(1);
  alignas(64) float y1[16], y2[16];
  REQUIRE(ctx->SetTensorAddress("x", x.data(), 64).ok());
  REQUIRE(ctx->SetTensorAddress("y1", y1, sizeof(y1)).ok());
  REQUIRE(ctx->SetTensorAddress("y2", y2, sizeof(y2)).ok());
  CHECK(*ctx->GetTensorAddress("y2") == static_cast<void*>(y2));
  // A bound input counts as set.
  REQUIRE(ctx->Execute().ok());
  Expect(x, y1, y2);
  // New contents of the bound input, no call in between: read in place.
  Refill(x, 2);
  REQUIRE(ctx->Execute().ok());
  Expect(x, y1, y2);
  // GetOutput of a bound output sees the caller's buffer.
  auto out = ctx->GetOutput("y2");
  REQUIRE(out.ok());
  CHECK((*out)->data() == static_cast<void*>(y2));
  // The input is only read.
  CHECK(x == Input(2));

  // Unbinding y2: written to the context again, the caller's buffer stays.
  std::memset(y2, 0, sizeof(y2));
  REQUIRE(ctx->SetTensorAddress("y2", nullptr, 0).ok());
  REQUIRE(ctx->Execute().ok());
  CHECK(y2[3] == 0.0f);
  out = ctx->GetOutput("y2");
  REQUIRE(out.ok());
  Expect(x, y1, (*out)->data_as<float>());

  // SetInput on a bound input copies and unbinds; unbinding an input unsets it.
  std::vector<float> x3 = Input(3);
  REQUIRE(ctx->SetInput("x", testing::MakeFloat({2, 8}, x3)).ok());
  CHECK(*ctx->GetTensorAddress("x") == nullptr);
  Refill(x, 4);  // no longer read
  REQUIRE(ctx->Execute().ok());
  Expect(x3, y1, (*ctx->GetOutput("y2"))->data_as<float>());
  REQUIRE(ctx->SetTensorAddress("x", x.data(), 64).ok());
  REQUIRE(ctx->SetTensorAddress("x", nullptr, 0).ok());
  auto unset = ctx->Execute();
  CHECK(unset.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(unset.message()).find("'x'") != std::string::npos);
}

TEST_CASE("SetTensorAddress refuses unknown names, wrong sizes and misaligned buffers", "[executor]") {
  auto engine = BindModel();
  auto ctx = Context(*engine);
  alignas(64) float buf[17];
  auto s = ctx->SetTensorAddress("nope", buf, 64);
  CHECK(s.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(s.message()).find("inputs are: x; its outputs are: y1, y2") != std::string::npos);
  s = ctx->SetTensorAddress("y1", buf, 60);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).find("'y1'") != std::string::npos);
  CHECK(std::string(s.message()).find("needs a buffer of 64 bytes, got 60") != std::string::npos);
  s = ctx->SetTensorAddress("x", reinterpret_cast<char*>(buf) + 2, 64);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).find("not aligned") != std::string::npos);
  CHECK(ctx->GetTensorAddress("nope").status().code() == absl::StatusCode::kNotFound);
  // Nothing was bound by the failed calls.
  CHECK(*ctx->GetTensorAddress("x") == nullptr);
  CHECK(ctx->Execute().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("Enqueue runs asynchronously, its future and callback give the result of Execute",
          "[executor][concurrency]") {
  auto engine = BindModel();
  auto ctx = Context(*engine);
  std::vector<float> x = Input(5);
  alignas(64) float y1[16], y2[16];
  REQUIRE(ctx->SetTensorAddress("x", x.data(), 64).ok());
  REQUIRE(ctx->SetTensorAddress("y1", y1, 64).ok());
  REQUIRE(ctx->SetTensorAddress("y2", y2, 64).ok());
  for (uint32_t i = 0; i < 50; ++i) {
    Refill(x, 100 + i);
    std::future<absl::Status> done = ctx->Enqueue();
    REQUIRE(done.get().ok());
    Expect(x, y1, y2);
  }
  // Completion callback; it may enqueue the next request itself.
  std::promise<int> finished;
  std::atomic<int> calls{0};
  std::function<void(absl::Status)> on_done = [&](absl::Status s) {
    if (!s.ok()) {
      finished.set_value(-1);
      return;
    }
    if (calls.fetch_add(1) + 1 < 20) {
      if (!ctx->Enqueue(on_done).ok()) finished.set_value(-2);
    } else {
      finished.set_value(calls.load());
    }
  };
  REQUIRE(ctx->Enqueue(on_done).ok());
  CHECK(finished.get_future().get() == 20);
  Expect(x, y1, y2);
  CHECK(ctx->Enqueue(std::function<void(absl::Status)>()).code() ==
        absl::StatusCode::kInvalidArgument);
  // An error of Execute comes back through the future.
  REQUIRE(ctx->SetTensorAddress("x", nullptr, 0).ok());
  absl::Status unset = ctx->Enqueue().get();
  CHECK(unset.code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("A busy context refuses a second request instead of racing", "[executor][concurrency]") {
  auto engine = BindModel();
  auto ctx = Context(*engine);
  std::vector<float> x = Input(7);
  alignas(64) float y1[16], y2[16];
  REQUIRE(ctx->SetTensorAddress("x", x.data(), 64).ok());
  REQUIRE(ctx->SetTensorAddress("y1", y1, 64).ok());
  REQUIRE(ctx->SetTensorAddress("y2", y2, 64).ok());
  // The first request's callback holds the context busy until released.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<absl::Status> first;
  REQUIRE(ctx->Enqueue([&](absl::Status s) { first.set_value(s); }).ok());
  // Busy from Enqueue's return until its request completes. Either the
  // request is still running (refused with FailedPrecondition) or it has
  // completed (accepted); never a race. Make it deterministic: a profiler
  // that blocks inside the running request.
  struct Blocking : Profiler {
    std::shared_future<void> gate;
    std::atomic<bool> entered{false};
    void ReportLayerTime(std::string_view, double) override {
      entered.store(true);
      gate.wait();
    }
  } blocking;
  REQUIRE(first.get_future().get().ok());
  blocking.gate = released;
  ctx->SetProfiler(&blocking);
  std::future<absl::Status> running = ctx->Enqueue();
  while (!blocking.entered.load()) std::this_thread::yield();
  std::future<absl::Status> second = ctx->Enqueue();
  REQUIRE(second.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  absl::Status busy = second.get();
  CHECK(busy.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(busy.message()).find("busy") != std::string::npos);
  CHECK(ctx->Execute().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(ctx->Enqueue([](absl::Status) {}).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(ctx->SetTensorAddress("x", nullptr, 0).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(ctx->GetOutput("y1").status().code() == absl::StatusCode::kFailedPrecondition);
  release.set_value();
  REQUIRE(running.get().ok());
  Expect(x, y1, y2);
  ctx->SetProfiler(nullptr);
  // Idle again: accepted.
  REQUIRE(ctx->Execute().ok());
  // Destroying a context with a request in flight waits for it.
  std::promise<void> gate2;
  blocking.gate = gate2.get_future().share();
  blocking.entered.store(false);
  ctx->SetProfiler(&blocking);
  std::future<absl::Status> inflight = ctx->Enqueue();
  while (!blocking.entered.load()) std::this_thread::yield();
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gate2.set_value();
  });
  ctx.reset();
  releaser.join();
  REQUIRE(inflight.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  CHECK(inflight.get().ok());
}

TEST_CASE("One context per thread, each enqueueing into its own caller buffers",
          "[executor][concurrency]") {
  auto engine = BindModel();
  constexpr int kThreads = 4;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto ctx = engine->CreateExecutionContext();
      if (!ctx.ok()) { failures.fetch_add(1); return; }
      std::vector<float> x(16), y1(16), y2(16);
      if (!(*ctx)->SetTensorAddress("x", x.data(), 64).ok() ||
          !(*ctx)->SetTensorAddress("y1", y1.data(), 64).ok() ||
          !(*ctx)->SetTensorAddress("y2", y2.data(), 64).ok()) {
        failures.fetch_add(1);
        return;
      }
      for (uint32_t i = 0; i < 40; ++i) {
        Refill(x, 1000 * t + i);
        if (!(*ctx)->Enqueue().get().ok()) { failures.fetch_add(1); return; }
        for (int k = 0; k < 16; ++k) {
          const float r = x[k] > 0 ? x[k] : 0;
          if (y1[k] != r || y2[k] != r * (0.5f + k)) { failures.fetch_add(1); return; }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
}
