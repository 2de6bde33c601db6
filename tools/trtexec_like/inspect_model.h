// What an ONNX model declares, read without building it: for
// `trtexec_like inspect MODEL.onnx` (Polygraphy's `inspect model`) and for
// checking --loadInputs / --loadRefOutputs names before a build.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_INSPECT_MODEL_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_INSPECT_MODEL_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trtexec_like/options.h"

namespace trtexec_like {

/// One graph input or output as the model declares it.
struct OnnxValueInfo {
  std::string name;
  std::string dtype;              ///< ONNX element type, lower case ("float", "int64"); "?" if none
  std::vector<std::string> dims;  ///< each a number, a symbolic name, or "?"; empty for a scalar
};

/// A summary of an ONNX model's top-level graph.
struct OnnxModelSummary {
  std::string graph_name;
  std::string producer;            ///< producer_name and producer_version
  int64_t ir_version = 0;
  std::vector<std::pair<std::string, int64_t>> opsets;  ///< (domain, version); "" = ai.onnx
  std::vector<OnnxValueInfo> inputs;   ///< graph inputs that are not initializers
  std::vector<OnnxValueInfo> outputs;
  int64_t initializers = 0;
  int64_t initializer_bytes = 0;       ///< bytes of the initializers' stored data
  int64_t nodes = 0;                   ///< top-level nodes (subgraphs not counted)
  std::map<std::string, int64_t> op_histogram;  ///< "Conv" or "domain:Op" -> node count
  /// Nodes whose op the engine's op library does not import at the model's
  /// opset, each "node 'name' (Op): why" (the build refuses these unless a
  /// rewrite, such as folding a constant If, removes them first).
  std::vector<std::string> unsupported;
};

/// Reads and summarizes the ONNX model at `path`. Errors: NotFound when the
/// file cannot be read, InvalidArgument when it is not an ONNX ModelProto;
/// both name the file.
absl::StatusOr<OnnxModelSummary> SummarizeOnnxModel(const std::string& path);

/// `inspect MODEL.onnx`: prints the summary (model, opsets, inputs and
/// outputs with dtypes and shapes, op histogram, unsupported ops). Errors:
/// those of SummarizeOnnxModel.
absl::Status InspectModel(const std::string& path);

/// Checks the names of --loadInputs and --loadRefOutputs (v.load_inputs,
/// v.ref_outputs) against `inputs` and `outputs`, before anything is built
/// or run. `what` names the source ("model 'm.onnx'", "plan 'm.plan'").
/// Errors: InvalidArgument naming the flag, the tensor and the names
/// available (an unnamed item when there is not exactly one tensor, too).
absl::Status CheckTensorNames(const ValidatedOptions& v, const std::vector<std::string>& inputs,
                              const std::vector<std::string>& outputs, const std::string& what);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_INSPECT_MODEL_H_
