// The request scheduler of one model version: a bounded queue, dynamic
// batching and one worker thread per execution context.
//
// Requests wait in one FIFO queue (at most ModelConfig::max_queue_size). Each
// of the ModelConfig::instance_count workers owns an ExecutionContext; an
// idle worker takes the oldest request and, with dynamic batching, waits up to
// max_queue_delay_us after that request's arrival for more; what it takes is
// decided by DynamicBatchCut (Triton's dynamic batcher,
// docs/model_configuration.md "Dynamic Batcher": the largest preferred size
// the queue fills, else everything that fits max_batch_size once it cannot
// grow or the delay is over). It concatenates each
// input along dimension 0, sets the context's input shapes
// (ExecutionContext::SetInput, which calls SetInputShape on a dynamic-shape
// engine), executes once, and splits every output along dimension 0 back to
// the requests.
#ifndef ENGINE_SERVING_SCHEDULER_H_
#define ENGINE_SERVING_SCHEDULER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/runtime.h"
#include "engine/tensor.h"
#include "serving/metrics.h"
#include "serving/model_config.h"

namespace engine::serving {

/// What one request gets back.
struct InferResult {
  /// One tensor per engine output, in engine order; for a batched model
  /// dimension 0 is the request's own batch.
  std::vector<engine::Tensor> outputs;
  uint64_t queue_us = 0;    ///< time from Infer() to its execution starting
  uint64_t compute_us = 0;  ///< host time of the execution it ran in
  int executed_batch = 0;   ///< inferences in that execution
};

struct QueuedRequest;

/// How many of the queued requests (their batch sizes `queued`, oldest
/// first) a dynamic batcher dispatches now, as Triton's dynamic batcher
/// (server docs, model_configuration.md "Dynamic Batcher" and
/// "Preferred Batch Sizes"; dynamic_batch_scheduler.cc GetDynamicBatch):
/// walking the queue in order while the running total fits `max_batch`,
///  - if the total reached one of `preferred` sizes at a request boundary,
///    the prefix up to the largest such total, at once;
///  - else, if the walk cannot grow (the total reached the largest preferred
///    size, or max_batch when `preferred` is empty, or the next request does
///    not fit) or `delay_over`, the whole walked prefix;
///  - else 0: wait for more requests (or the delay).
/// A first request larger than max_batch is dispatched alone (the caller
/// has refused such requests already). Returns a request count.
size_t DynamicBatchCut(std::span<const int64_t> queued, int64_t max_batch,
                       std::span<const int> preferred, bool delay_over);

class Scheduler {
 public:
  /// Creates the contexts (config.instance_count, each with config.threads
  /// intra-op threads unless 0) and starts one worker per context.
  /// `max_batch`: the effective largest batch (0: not batched). `stats`
  /// must outlive the scheduler.
  /// Errors: those of Engine::CreateExecutionContext and SetThreads
  /// (ResourceExhausted when an arena cannot be allocated).
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(
      std::shared_ptr<const engine::Engine> engine, const ModelConfig& config, int max_batch,
      ModelStats* stats);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Queues one request and waits for its outputs. `inputs`: one tensor per
  /// engine input in engine order, already checked against the model
  /// (dtypes; for a batched model equal dimension 0 `batch` in
  /// [1, max_batch] and the other dimensions the engine's). `timeout_us` > 0:
  /// a request still queued that long after this call is dropped.
  /// Errors: ResourceExhausted (the queue holds max_queue_size requests),
  /// DeadlineExceeded (timed out while queued; it never ran), Unavailable
  /// (Stop() was called), and the engine's errors for its execution
  /// (InvalidArgument for shapes the plan does not admit, Internal for an
  /// output without the batch dimension).
  absl::StatusOr<InferResult> Infer(std::vector<engine::Tensor> inputs, int64_t batch,
                                    int64_t timeout_us);

  /// Refuses new requests (Unavailable), lets the workers finish every
  /// queued one, joins them. Idempotent.
  void Stop();

  /// Requests queued now.
  size_t queued() const;

 private:
  Scheduler(std::shared_ptr<const engine::Engine> engine, const ModelConfig& config, int max_batch,
            ModelStats* stats);
  void WorkerLoop(engine::ExecutionContext* ctx);
  // Takes the next batch off the queue (waiting for it); empty when stopping
  // with an empty queue.
  std::vector<std::shared_ptr<QueuedRequest>> NextBatch();
  void Execute(engine::ExecutionContext* ctx,
               const std::vector<std::shared_ptr<QueuedRequest>>& batch);

  const std::shared_ptr<const engine::Engine> engine_;
  const ModelConfig config_;
  const int max_batch_;
  ModelStats* const stats_;
  std::vector<std::unique_ptr<engine::ExecutionContext>> contexts_;
  std::vector<std::thread> workers_;
  mutable std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::shared_ptr<QueuedRequest>> queue_;
  bool stopping_ = false;
  bool joined_ = false;
};

}  // namespace engine::serving

#endif  // ENGINE_SERVING_SCHEDULER_H_
