// Per-model serving statistics and their Prometheus text exposition
// (https://prometheus.io/docs/instrumenting/exposition_formats/, format 0.0.4).
#ifndef ENGINE_SERVING_METRICS_H_
#define ENGINE_SERVING_METRICS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace engine::serving {

/// Why a request failed, the `reason` label of engine_request_failure_total.
enum class FailureReason {
  kBadRequest = 0,  ///< 400: the request does not fit the model
  kQueueFull,       ///< 503: max_queue_size requests were waiting
  kTimeout,         ///< 503: still queued at its timeout
  kUnavailable,     ///< 503: the model was being unloaded or the server stopping
  kInternal,        ///< 500: the engine failed
  kCount
};
/// "bad_request", "queue_full", "timeout", "unavailable", "internal".
const char* FailureReasonName(FailureReason r);
/// The reason of a serving library error code: InvalidArgument,
/// FailedPrecondition, OutOfRange, Unimplemented, NotFound -> bad request;
/// ResourceExhausted -> queue full; DeadlineExceeded -> timeout;
/// Unavailable -> unavailable; anything else -> internal.
FailureReason FailureReasonOf(absl::StatusCode code);

/// Counters of one model version, updated lock-free by the HTTP threads and
/// the scheduler's workers. Times in microseconds (host steady clock), modeled
/// device figures from ExecutionContext::device_profile() of each execution.
class ModelStats {
 public:
  /// `max_batch`: the largest batch an execution may run (>= 1); the batch
  /// histogram has one bucket per size 1..max_batch.
  explicit ModelStats(int max_batch);

  void RecordSuccess(uint64_t request_us);
  void RecordFailure(FailureReason reason);
  /// One execution of `batch` inferences: the summed queue wait of its
  /// requests, the execution's host time, and the modeled device
  /// time (us) and energy (pJ) of the execution (the shape bucket's program
  /// for a dynamic engine, which runs the whole batch).
  void RecordExecution(int batch, uint64_t queue_us_sum, uint64_t compute_us,
                       double device_us, double energy_pj);

  /// Appends this model's samples (every family PrometheusExposition
  /// knows) with labels model="<name>",version="<version>"; `queued`: the
  /// requests waiting in its queue now (the engine_queue_size gauge).
  void AppendPrometheus(const std::string& name, const std::string& version, size_t queued,
                        std::string* out) const;

  uint64_t successes() const { return success_.load(); }

 private:
  const int max_batch_;
  std::atomic<uint64_t> success_{0}, request_us_{0};
  std::atomic<uint64_t> failure_[static_cast<int>(FailureReason::kCount)] = {};
  std::atomic<uint64_t> inferences_{0}, executions_{0}, queue_us_{0}, compute_us_{0};
  std::atomic<uint64_t> device_ns_{0}, energy_pj_{0};  // totals, integral for atomics
  std::unique_ptr<std::atomic<uint64_t>[]> batch_count_;  // [batch - 1]
};

/// The exposition of `samples` (lines "family{labels} value" written by
/// ModelStats::AppendPrometheus for every model): each family's `# HELP`
/// and `# TYPE` lines once, followed by all of its samples (the format wants
/// one group per family), families in a fixed order.
std::string PrometheusExposition(const std::string& samples);

}  // namespace engine::serving

#endif  // ENGINE_SERVING_METRICS_H_
