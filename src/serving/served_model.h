// One version of one model of the repository, as served: its plan, config,
// scheduler and statistics, or why it is not ready.
#ifndef ENGINE_SERVING_SERVED_MODEL_H_
#define ENGINE_SERVING_SERVED_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/logger.h"
#include "engine/runtime.h"
#include "serving/metrics.h"
#include "serving/model_config.h"
#include "serving/oip_codec.h"
#include "serving/scheduler.h"

namespace engine::serving {

/// How plans are loaded (engine::RuntimeOptions).
struct LoadOptions {
  engine::Logger* logger = nullptr;  ///< nullptr: the engine's default logger
  /// Largest activation tensor or arena a plan may declare, bytes; 0: the
  /// host's physical memory (RuntimeOptions::max_activation_bytes).
  int64_t max_activation_bytes = 0;
};

/// A request's inputs checked against the model, in engine input order.
struct PreparedInputs {
  std::vector<engine::Tensor> tensors;
  int64_t batch = 1;  ///< dimension 0 of every input for a batched model, else 1
};

class ServedModel {
 public:
  /// Loads `plan_path` with `config` (an error of the config, `config_error`
  /// not OK, makes the version not ready with that reason). Never fails: a
  /// plan that cannot be read or verified, a config the plan cannot honour
  /// (max_batch_size without a batch profile), or contexts that cannot be
  /// created give a model that is not ready and says why (reason()).
  static std::shared_ptr<ServedModel> Load(const std::string& name, const std::string& version,
                                           const std::string& plan_path,
                                           const absl::StatusOr<ModelConfig>& config,
                                           const LoadOptions& options);
  ~ServedModel();

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  bool ready() const { return scheduler_ != nullptr; }
  /// Why the model is not ready ("" when it is).
  const std::string& reason() const { return reason_; }
  const ModelConfig& config() const { return config_; }
  /// Effective largest batch: 0 for a model that is not batched.
  int max_batch() const { return max_batch_; }
  ModelStats& stats() { return *stats_; }
  /// nullptr when not ready.
  const engine::Engine* engine() const { return engine_.get(); }

  /// The protocol's model metadata object: {"name", "versions": [version],
  /// "platform": "engine_plan", "inputs"/"outputs": [{"name", "datatype",
  /// "shape"}]}; -1 marks a dimension that varies (the batch of a batched
  /// model, the ranges of an optimization profile). Only for a ready model.
  std::string MetadataJson() const;

  /// Checks a request's inputs and requested outputs against the model: each
  /// engine input exactly once, the same datatype, a shape the model takes
  /// (batched: dimension 0 in [1, max_batch()], the same for every input,
  /// the other dimensions the engine's; fixed-shape engine: the engine's
  /// shape), every requested output known. Errors: InvalidArgument naming
  /// the input or output, what was sent and what the model expects.
  absl::StatusOr<PreparedInputs> Prepare(InferRequest& request) const;

  /// Runs prepared inputs through the scheduler (Scheduler::Infer's errors).
  absl::StatusOr<InferResult> Infer(PreparedInputs inputs, int64_t timeout_us);

  /// Requests waiting in the scheduler's queue now (0 when not ready).
  size_t queued() const { return scheduler_ != nullptr ? scheduler_->queued() : 0; }

  /// Stops the scheduler after its queue is drained (Scheduler::Stop).
  void Stop();

 private:
  ServedModel() = default;

  std::string name_, version_, reason_;
  ModelConfig config_;
  int max_batch_ = 0;
  std::shared_ptr<const engine::Engine> engine_;
  std::unique_ptr<ModelStats> stats_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace engine::serving

#endif  // ENGINE_SERVING_SERVED_MODEL_H_
