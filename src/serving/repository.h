// The model repository: Triton's layout,
//
//   <root>/<model>/config.json          (optional; serving/model_config.h)
//   <root>/<model>/<version>/model.plan (version: a decimal number)
//
// Every model directory is loaded at start (LoadAll); Load/Unload change one
// model without a restart. Every version of a model is served; a request
// without a version gets the highest ready one.
#ifndef ENGINE_SERVING_REPOSITORY_H_
#define ENGINE_SERVING_REPOSITORY_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "serving/served_model.h"

namespace engine::serving {

/// A model name the repository accepts: 1..128 bytes of [A-Za-z0-9_.-], not
/// starting with '.' (so never "..": names become paths).
bool IsValidModelName(std::string_view name);

class ModelRepository {
 public:
  ModelRepository(std::string root, LoadOptions options);
  ~ModelRepository();

  /// Loads every model directory of the root. Errors: NotFound when the
  /// root is not a readable directory. A model that fails to load is kept,
  /// not ready, with its reason (never an error here).
  absl::Status LoadAll();

  /// (Re)loads one model from <root>/<name>: its config and every version,
  /// replacing the versions served so far (requests running on them
  /// finish; their queues drain). Errors: InvalidArgument (a name
  /// IsValidModelName refuses), NotFound (no such directory or no version
  /// directory in it), FailedPrecondition (loaded, but no version is ready:
  /// the reasons).
  absl::Status Load(std::string_view name);

  /// Stops serving a model: later requests get NotFound; queued ones are
  /// drained first. Errors: NotFound when it is not loaded.
  absl::Status Unload(std::string_view name);

  /// The version `version` of model `name` ("" : the highest ready version,
  /// else the highest one). Errors: NotFound naming the model or version.
  absl::StatusOr<std::shared_ptr<ServedModel>> Find(std::string_view name,
                                                    std::string_view version) const;

  /// Every loaded version, by model name then version number.
  std::vector<std::shared_ptr<ServedModel>> All() const;

  /// Stops every model's scheduler after draining its queue (shutdown).
  void StopAll();

  const std::string& root() const { return root_; }

 private:
  const std::string root_;
  const LoadOptions options_;
  mutable std::mutex mu_;
  // model -> version number -> model version
  std::map<std::string, std::map<int64_t, std::shared_ptr<ServedModel>>> models_;
};

}  // namespace engine::serving

#endif  // ENGINE_SERVING_REPOSITORY_H_
