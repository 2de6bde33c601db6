// The model repository and the dynamic batching scheduler
// (src/serving/repository.h, scheduler.h) on plans of a small generated
// model: readiness of good, corrupt and misconfigured versions, batches
// formed from concurrent requests equal to running each alone, the bounded
// queue, queue timeouts, load and unload.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/builder.h"
#include "engine/runtime.h"
#include "serving/repository.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;
using namespace engine::serving;
namespace fs = std::filesystem;

namespace {

std::string BuildPlan(int64_t batch) {
  BuilderConfig config;
  if (batch < 0) {
    OptimizationProfile p;
    p.min["x"] = {1, 2, 4, 4};
    p.opt["x"] = {4, 2, 4, 4};
    p.max["x"] = {8, 2, 4, 4};
    config.profiles.push_back(p);
  }
  auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(batch), "small", config);
  INFO(built.status().message());
  REQUIRE(built.ok());
  return built->plan;
}

void Write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// A repository in a fresh temporary directory, removed at the end.
struct TempRepo {
  fs::path root;
  TempRepo() {
    std::random_device rd;
    root = fs::temp_directory_path() / ("serving_repo_" + std::to_string(rd()));
    fs::create_directories(root);
  }
  ~TempRepo() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

const std::string& DynamicPlan() {
  static const std::string plan = BuildPlan(-1);
  return plan;
}
const std::string& FixedPlan() {
  static const std::string plan = BuildPlan(1);
  return plan;
}

Tensor Input(int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  return testing::RandomTensor({batch, 2, 4, 4}, rng);
}

PreparedInputs Prepared(Tensor t) {
  PreparedInputs p;
  p.batch = t.shape()[0];
  p.tensors.push_back(std::move(t));
  return p;
}

}  // namespace

TEST_CASE("The repository serves good versions and reports broken ones as not ready",
          "[serving]") {
  TempRepo repo;
  Write(repo.root / "fixed" / "1" / "model.plan", FixedPlan());
  std::string corrupt = FixedPlan();
  corrupt[corrupt.size() / 2] ^= 0x5a;
  Write(repo.root / "fixed" / "2" / "model.plan", corrupt);
  Write(repo.root / "fixed" / "3" / "README", "no plan here");
  Write(repo.root / "batched_fixed" / "1" / "model.plan", FixedPlan());
  Write(repo.root / "batched_fixed" / "config.json", R"({"max_batch_size": 4})");
  Write(repo.root / "bad_config" / "1" / "model.plan", FixedPlan());
  Write(repo.root / "bad_config" / "config.json", R"({"max_batch_size": "four"})");
  Write(repo.root / "empty" / "README", "");

  ModelRepository r(repo.root.string(), LoadOptions{});
  REQUIRE(r.LoadAll().ok());
  auto all = r.All();
  REQUIRE(all.size() == 5);  // fixed 1, 2, 3; batched_fixed 1; bad_config 1
  auto v2 = r.Find("fixed", "2");
  REQUIRE(v2.ok());
  CHECK_FALSE((*v2)->ready());
  CHECK_THAT((*v2)->reason(), Catch::Contains("DATA_LOSS"));
  auto v3 = r.Find("fixed", "3");
  REQUIRE(v3.ok());
  CHECK_FALSE((*v3)->ready());
  CHECK_THAT((*v3)->reason(), Catch::Contains("NOT_FOUND"));
  auto latest = r.Find("fixed", "");  // the highest READY version
  REQUIRE(latest.ok());
  CHECK((*latest)->version() == "1");
  CHECK((*latest)->ready());
  auto bf = r.Find("batched_fixed", "1");
  REQUIRE(bf.ok());
  CHECK_FALSE((*bf)->ready());
  CHECK_THAT((*bf)->reason(), Catch::Contains("needs a plan built with an optimization profile"));
  auto bc = r.Find("bad_config", "");
  REQUIRE(bc.ok());
  CHECK_THAT((*bc)->reason(), Catch::Contains("\"max_batch_size\""));
  CHECK(r.Find("nope", "").status().code() == absl::StatusCode::kNotFound);
  CHECK(r.Find("fixed", "9").status().code() == absl::StatusCode::kNotFound);
  CHECK(r.Find("fixed", "x").status().code() == absl::StatusCode::kNotFound);

  // Repository API: a name that is not a model, a missing directory, a model
  // with no ready version, unload then load again.
  CHECK(r.Load("../etc").code() == absl::StatusCode::kInvalidArgument);
  CHECK(r.Load("missing").code() == absl::StatusCode::kNotFound);
  CHECK(r.Load("empty").code() == absl::StatusCode::kNotFound);
  CHECK(r.Load("bad_config").code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(r.Unload("fixed").ok());
  CHECK(r.Find("fixed", "1").status().code() == absl::StatusCode::kNotFound);
  CHECK(r.Unload("fixed").code() == absl::StatusCode::kNotFound);
  REQUIRE(r.Load("fixed").ok());
  auto again = r.Find("fixed", "1");
  REQUIRE(again.ok());
  CHECK((*again)->ready());
  CHECK_THAT((*again)->MetadataJson(),
             Catch::Contains(R"("inputs":[{"name":"x","datatype":"FP32","shape":[1,2,4,4]}])"));
}

TEST_CASE("Dynamic batching joins concurrent requests and splits the outputs back",
          "[serving]") {
  TempRepo repo;
  Write(repo.root / "dyn" / "1" / "model.plan", DynamicPlan());
  Write(repo.root / "dyn" / "config.json",
        R"({"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_us": 300000}})");
  ModelRepository r(repo.root.string(), LoadOptions{});
  REQUIRE(r.LoadAll().ok());
  auto m = r.Find("dyn", "");
  REQUIRE(m.ok());
  INFO((*m)->reason());
  REQUIRE((*m)->ready());
  CHECK((*m)->max_batch() == 8);
  CHECK_THAT((*m)->MetadataJson(), Catch::Contains(R"("shape":[-1,2,4,4])"));

  // References: each input run alone on a context of the same engine.
  constexpr int kRequests = 6;
  std::vector<Tensor> inputs, expected;
  auto ctx = (*m)->engine()->CreateExecutionContext();
  REQUIRE(ctx.ok());
  for (int i = 0; i < kRequests; ++i) {
    inputs.push_back(Input(i == 0 ? 2 : 1, 100 + i));  // request 0 carries a batch of 2
    REQUIRE((*ctx)->SetInput("x", inputs.back()).ok());
    REQUIRE((*ctx)->Execute().ok());
    expected.push_back(**(*ctx)->GetOutput("y"));
  }
  std::vector<absl::StatusOr<InferResult>> results(kRequests, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] { results[i] = (*m)->Infer(Prepared(inputs[i]), 0); });
  }
  for (auto& t : threads) t.join();
  int largest = 0;
  for (int i = 0; i < kRequests; ++i) {
    INFO("request " << i << ": " << results[i].status().message());
    REQUIRE(results[i].ok());
    largest = std::max(largest, results[i]->executed_batch);
    const Tensor& y = results[i]->outputs[0];
    REQUIRE(y.shape() == expected[i].shape());
    const float* a = y.data_as<float>();
    const float* b = expected[i].data_as<float>();
    for (int64_t k = 0; k < y.num_elements(); ++k) CHECK(a[k] == Approx(b[k]).margin(1e-5));
  }
  // Six requests (7 inferences) within the 300 ms delay: at least one batch > 1.
  CHECK(largest > 1);
  std::string metrics;
  (*m)->stats().AppendPrometheus("dyn", "1", (*m)->queued(), &metrics);
  CHECK_THAT(metrics, Catch::Contains("engine_inference_count_total{model=\"dyn\",version=\"1\"} 7"));
  CHECK_THAT(metrics, Catch::Contains("engine_batch_size_sum{model=\"dyn\",version=\"1\"} 7"));
  CHECK_THAT(metrics, Catch::Contains("engine_queue_size{model=\"dyn\",version=\"1\"} 0"));
  CHECK_THAT(PrometheusExposition(metrics),
             Catch::Contains("# TYPE engine_batch_size histogram\nengine_batch_size_bucket{"));
}

TEST_CASE("A full queue refuses requests and a queued request times out", "[serving]") {
  TempRepo repo;
  Write(repo.root / "dyn" / "1" / "model.plan", DynamicPlan());
  Write(repo.root / "dyn" / "config.json",
        R"({"max_batch_size": 8, "max_queue_size": 2,
            "dynamic_batching": {"max_queue_delay_us": 400000}})");
  ModelRepository r(repo.root.string(), LoadOptions{});
  REQUIRE(r.LoadAll().ok());
  auto m = r.Find("dyn", "1");
  REQUIRE(m.ok());
  REQUIRE((*m)->ready());

  // Held for 400 ms waiting for a batch: the 1 ms timeout expires in the queue.
  auto timed_out = (*m)->Infer(Prepared(Input(1, 1)), 1000);
  CHECK(timed_out.status().code() == absl::StatusCode::kDeadlineExceeded);

  std::vector<absl::StatusOr<InferResult>> results(2, absl::UnknownError("not run"));
  std::thread a([&] { results[0] = (*m)->Infer(Prepared(Input(1, 2)), 0); });
  std::thread b([&] { results[1] = (*m)->Infer(Prepared(Input(1, 3)), 0); });
  for (int i = 0; i < 5000 && (*m)->queued() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE((*m)->queued() == 2);  // both held by the 400 ms batching delay
  auto refused = (*m)->Infer(Prepared(Input(1, 4)), 0);  // two are queued
  a.join();
  b.join();
  CHECK(refused.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("max_queue_size=2"));
  REQUIRE(results[0].ok());
  REQUIRE(results[1].ok());
  CHECK(results[0]->executed_batch == 2);

  (*m)->Stop();
  CHECK((*m)->Infer(Prepared(Input(1, 5)), 0).status().code() ==
        absl::StatusCode::kUnavailable);
}
