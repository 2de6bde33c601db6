#include "serving/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace engine::serving {
namespace {

struct Family {
  const char* name;
  const char* type;
  const char* help;
};
// Every family, in exposition order. Names follow Prometheus conventions
// (base units would be seconds; the protocol ecosystem, Triton's
// nv_inference_*_duration_us, counts microseconds, so do we).
constexpr Family kFamilies[] = {
    {"engine_request_success_total", "counter", "Inference requests answered 200."},
    {"engine_request_failure_total", "counter", "Inference requests answered with an error, by reason."},
    {"engine_request_duration_us_total", "counter", "Summed end-to-end time of successful requests (parse to answer), microseconds."},
    {"engine_inference_count_total", "counter", "Inferences executed (batch elements)."},
    {"engine_execution_count_total", "counter", "Executions (batches) run."},
    {"engine_queue_duration_us_total", "counter", "Summed time requests waited in the queue, microseconds."},
    {"engine_compute_duration_us_total", "counter", "Summed host time of executions (inputs set, execute, outputs split), microseconds."},
    {"engine_batch_size", "histogram", "Inferences per execution."},
    {"engine_queue_size", "gauge", "Requests waiting in the model's queue now."},
    {"engine_modeled_device_time_us_total", "counter", "Summed modeled accelerator time of the executions, microseconds."},
    {"engine_modeled_energy_uj_total", "counter", "Summed modeled accelerator energy of the executions, microjoules."},
    {"engine_modeled_device_time_us_per_inference", "gauge", "Modeled accelerator time per inference over all executions so far, microseconds."},
    {"engine_modeled_energy_uj_per_inference", "gauge", "Modeled accelerator energy per inference over all executions so far, microjoules."},
};

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

}  // namespace

const char* FailureReasonName(FailureReason r) {
  switch (r) {
    case FailureReason::kBadRequest: return "bad_request";
    case FailureReason::kQueueFull: return "queue_full";
    case FailureReason::kTimeout: return "timeout";
    case FailureReason::kUnavailable: return "unavailable";
    case FailureReason::kInternal: return "internal";
    case FailureReason::kCount: break;
  }
  return "unknown";
}

FailureReason FailureReasonOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kNotFound:
      return FailureReason::kBadRequest;
    case absl::StatusCode::kResourceExhausted:
      return FailureReason::kQueueFull;
    case absl::StatusCode::kDeadlineExceeded:
      return FailureReason::kTimeout;
    case absl::StatusCode::kUnavailable:
      return FailureReason::kUnavailable;
    default:
      return FailureReason::kInternal;
  }
}

ModelStats::ModelStats(int max_batch)
    : max_batch_(std::max(max_batch, 1)),
      batch_count_(new std::atomic<uint64_t>[static_cast<size_t>(std::max(max_batch, 1))]) {
  for (int i = 0; i < max_batch_; ++i) batch_count_[i] = 0;
}

void ModelStats::RecordSuccess(uint64_t request_us) {
  success_.fetch_add(1, std::memory_order_relaxed);
  request_us_.fetch_add(request_us, std::memory_order_relaxed);
}

void ModelStats::RecordFailure(FailureReason reason) {
  failure_[static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed);
}

void ModelStats::RecordExecution(int batch, uint64_t queue_us_sum, uint64_t compute_us,
                                 double device_us, double energy_pj) {
  inferences_.fetch_add(static_cast<uint64_t>(batch), std::memory_order_relaxed);
  executions_.fetch_add(1, std::memory_order_relaxed);
  queue_us_.fetch_add(queue_us_sum, std::memory_order_relaxed);
  compute_us_.fetch_add(compute_us, std::memory_order_relaxed);
  device_ns_.fetch_add(static_cast<uint64_t>(std::llround(device_us * 1000.0)),
                       std::memory_order_relaxed);
  energy_pj_.fetch_add(static_cast<uint64_t>(std::llround(energy_pj)), std::memory_order_relaxed);
  int b = std::clamp(batch, 1, max_batch_);
  batch_count_[b - 1].fetch_add(1, std::memory_order_relaxed);
}

void ModelStats::AppendPrometheus(const std::string& name, const std::string& version,
                                  size_t queued, std::string* out) const {
  const std::string labels = "model=\"" + name + "\",version=\"" + version + "\"";
  auto line = [&](const char* family, const std::string& extra, double value) {
    *out += family;
    *out += "{" + labels + extra + "} " + Number(value) + "\n";
  };
  line("engine_request_success_total", "", static_cast<double>(success_.load()));
  for (int r = 0; r < static_cast<int>(FailureReason::kCount); ++r) {
    line("engine_request_failure_total",
         std::string(",reason=\"") + FailureReasonName(static_cast<FailureReason>(r)) + "\"",
         static_cast<double>(failure_[r].load()));
  }
  line("engine_request_duration_us_total", "", static_cast<double>(request_us_.load()));
  const double inferences = static_cast<double>(inferences_.load());
  line("engine_inference_count_total", "", inferences);
  line("engine_execution_count_total", "", static_cast<double>(executions_.load()));
  line("engine_queue_duration_us_total", "", static_cast<double>(queue_us_.load()));
  line("engine_compute_duration_us_total", "", static_cast<double>(compute_us_.load()));
  uint64_t cumulative = 0, sum = 0;
  for (int b = 1; b <= max_batch_; ++b) {
    uint64_t n = batch_count_[b - 1].load();
    cumulative += n;
    sum += n * static_cast<uint64_t>(b);
    out->append("engine_batch_size_bucket{" + labels + ",le=\"" + std::to_string(b) + "\"} " +
                std::to_string(cumulative) + "\n");
  }
  out->append("engine_batch_size_bucket{" + labels + ",le=\"+Inf\"} " +
              std::to_string(cumulative) + "\n");
  out->append("engine_batch_size_sum{" + labels + "} " + std::to_string(sum) + "\n");
  out->append("engine_batch_size_count{" + labels + "} " + std::to_string(cumulative) + "\n");
  line("engine_queue_size", "", static_cast<double>(queued));
  const double device_us = static_cast<double>(device_ns_.load()) / 1000.0;
  const double energy_uj = static_cast<double>(energy_pj_.load()) * 1e-6;
  line("engine_modeled_device_time_us_total", "", device_us);
  line("engine_modeled_energy_uj_total", "", energy_uj);
  line("engine_modeled_device_time_us_per_inference", "",
       inferences > 0 ? device_us / inferences : 0.0);
  line("engine_modeled_energy_uj_per_inference", "", inferences > 0 ? energy_uj / inferences : 0.0);
}

std::string PrometheusExposition(const std::string& samples) {
  // Family of a sample line: its metric name without a histogram suffix.
  std::map<std::string, std::string> by_family;
  std::istringstream in(samples);
  std::string line;
  while (std::getline(in, line)) {
    std::string metric = line.substr(0, line.find_first_of("{ "));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (metric.size() > s.size() && metric.compare(metric.size() - s.size(), s.size(), s) == 0 &&
          metric.rfind("engine_batch_size", 0) == 0) {
        metric = "engine_batch_size";
      }
    }
    by_family[metric] += line + "\n";
  }
  std::string out;
  for (const Family& f : kFamilies) {
    out += std::string("# HELP ") + f.name + " " + f.help + "\n";
    out += std::string("# TYPE ") + f.name + " " + f.type + "\n";
    if (auto it = by_family.find(f.name); it != by_family.end()) out += it->second;
  }
  return out;
}

}  // namespace engine::serving
