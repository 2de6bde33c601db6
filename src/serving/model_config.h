// The per-model configuration of a model repository: <repo>/<model>/config.json
// (Triton's config.pbtxt fields, as JSON).
#ifndef ENGINE_SERVING_MODEL_CONFIG_H_
#define ENGINE_SERVING_MODEL_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace engine::serving {

/// How one model (every version of it) is served. JSON keys are the field
/// names; every key is optional, an unknown key is an error:
///
///   {"max_batch_size": 8,
///    "dynamic_batching": {"max_queue_delay_us": 500, "preferred_batch_size": [4, 8]},
///    "instance_count": 2, "threads": 1, "max_queue_size": 64, "default_timeout_us": 0}
struct ModelConfig {
  /// Largest batch one execution runs (Triton's max_batch_size). 0: the model
  /// is not batched: every request runs alone at a shape the plan admits. >0:
  /// dimension 0 of every input and output is the batch; the plan must be
  /// built with an optimization profile whose dimension 0 covers
  /// [1, max_batch_size] (docs/dynamic_shapes.md). [0, 1024].
  int max_batch_size = 0;
  /// Dynamic batching on ("dynamic_batching" present): requests are gathered
  /// until their batch reaches max_batch_size (or a preferred size) or the
  /// oldest has waited max_queue_delay_us. Off: each execution runs one
  /// request (which may itself carry a batch up to max_batch_size).
  bool dynamic_batching = false;
  /// Longest a request waits for others to join its batch, microseconds.
  /// [0, 10^7].
  int64_t max_queue_delay_us = 0;
  /// Triton's preferred batch sizes: when the queued requests add up to one
  /// of them (at a request boundary, within max_batch_size) the largest such
  /// prefix is dispatched at once, without waiting for the delay; the largest
  /// preferred size also caps how long the batcher waits to grow a batch
  /// (DynamicBatchCut, scheduler.h). Setting them to the plan's shape-bucket
  /// batch sizes keeps the modeled device program free of padding. Each in
  /// [1, max_batch_size].
  std::vector<int> preferred_batch_size;
  /// Execution contexts (Triton's instance_group count): executions that
  /// run at once for this model, one worker thread each. [1, 64].
  int instance_count = 1;
  /// Intra-op threads of each context (ExecutionContext::SetThreads);
  /// 0: the engine's default (every core). [0, 1024].
  int threads = 1;
  /// Requests waiting for an execution; one more is refused with 503.
  /// [1, 65536].
  int max_queue_size = 64;
  /// Queue timeout of a request that does not give parameters.timeout,
  /// microseconds; 0: none. A request still queued at its timeout is answered
  /// 503 and never runs. [0, 3.6e9].
  int64_t default_timeout_us = 0;
};

/// Parses config.json text. `path` names the file in messages. Errors:
/// InvalidArgument naming the file, the key and the allowed range (not JSON,
/// not an object, unknown key, wrong type, out of range, a preferred size
/// above max_batch_size, dynamic_batching without max_batch_size > 0).
absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view text, const std::string& path);

}  // namespace engine::serving

#endif  // ENGINE_SERVING_MODEL_CONFIG_H_
