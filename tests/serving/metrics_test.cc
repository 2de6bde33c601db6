// Prometheus exposition of the per-model statistics (src/serving/metrics.h).
#include <catch2/catch.hpp>

#include <string>

#include "serving/metrics.h"

using namespace engine::serving;

namespace {
size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("Model statistics render as cumulative Prometheus histograms and counters",
          "[serving]") {
  ModelStats a(4), b(1);
  a.RecordExecution(1, 100, 2000, 10.0, 5e6);   // 10 us, 5 uJ
  a.RecordExecution(3, 300, 3000, 30.0, 15e6);
  a.RecordExecution(3, 0, 3000, 30.0, 15e6);
  a.RecordSuccess(50);
  a.RecordFailure(FailureReason::kQueueFull);
  a.RecordFailure(FailureReasonOf(absl::StatusCode::kDeadlineExceeded));
  a.RecordFailure(FailureReasonOf(absl::StatusCode::kNotFound));
  std::string samples;
  a.AppendPrometheus("m", "2", 5, &samples);
  b.AppendPrometheus("n", "1", 0, &samples);
  const std::string l = "{model=\"m\",version=\"2\"";
  CHECK_THAT(samples, Catch::Contains("engine_batch_size_bucket" + l + ",le=\"1\"} 1\n"));
  CHECK_THAT(samples, Catch::Contains("engine_batch_size_bucket" + l + ",le=\"2\"} 1\n"));
  CHECK_THAT(samples, Catch::Contains("engine_batch_size_bucket" + l + ",le=\"3\"} 3\n"));
  CHECK_THAT(samples, Catch::Contains("engine_batch_size_bucket" + l + ",le=\"4\"} 3\n"));
  CHECK_THAT(samples, Catch::Contains("engine_batch_size_bucket" + l + ",le=\"+Inf\"} 3\n"));
  CHECK_THAT(samples, Catch::Contains("engine_batch_size_sum" + l + "} 7\n"));
  CHECK_THAT(samples, Catch::Contains("engine_inference_count_total" + l + "} 7\n"));
  CHECK_THAT(samples, Catch::Contains("engine_queue_duration_us_total" + l + "} 400\n"));
  CHECK_THAT(samples, Catch::Contains("engine_compute_duration_us_total" + l + "} 8000\n"));
  CHECK_THAT(samples, Catch::Contains("engine_queue_size" + l + "} 5\n"));
  CHECK_THAT(samples, Catch::Contains("engine_modeled_device_time_us_per_inference" + l + "} 10\n"));
  CHECK_THAT(samples, Catch::Contains("engine_modeled_energy_uj_per_inference" + l + "} 5\n"));
  CHECK_THAT(samples, Catch::Contains("engine_request_failure_total" + l + ",reason=\"queue_full\"} 1\n"));
  CHECK_THAT(samples, Catch::Contains("engine_request_failure_total" + l + ",reason=\"timeout\"} 1\n"));
  CHECK_THAT(samples, Catch::Contains("engine_request_failure_total" + l + ",reason=\"bad_request\"} 1\n"));
  CHECK_THAT(samples, Catch::Contains("engine_request_failure_total" + l + ",reason=\"internal\"} 0\n"));

  // One HELP/TYPE group per family, each followed by both models' samples.
  const std::string text = PrometheusExposition(samples);
  CHECK(Count(text, "# TYPE engine_batch_size histogram\n") == 1);
  CHECK(Count(text, "# TYPE engine_request_success_total counter\n") == 1);
  const size_t type = text.find("# TYPE engine_request_success_total");
  const size_t m = text.find("engine_request_success_total{model=\"m\"");
  const size_t n = text.find("engine_request_success_total{model=\"n\"");
  const size_t next = text.find("# HELP", type);
  CHECK(type < m);
  CHECK(type < n);
  CHECK(m < next);
  CHECK(n < next);
}
