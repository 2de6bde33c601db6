// --best's accuracy guard for the 16-bit float precisions: a layer that
// --best would run in fp16 or bf16 is first run alone in that precision on
// the calibration samples, with its FP32 inputs, and its output compared with
// the FP32 output, as the INT8 accuracy guard (int8_phase.h) does for INT8
// layers. A precision whose isolated SQNR is below the threshold is rejected
// for that layer (fp16's range ends at 65504: a layer whose values pass it
// produces infinities in fp16 and is rejected, while bf16, with float32's
// exponent range, passes).
#ifndef ENGINE_BUILDER_FLOAT16_GUARD_H_
#define ENGINE_BUILDER_FLOAT16_GUARD_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/attributes.h"
#include "engine/hardware.h"
#include "engine/tensor.h"
#include "engine/types.h"
#include "ir/graph.h"

namespace engine::builder {

/// FP32 values captured on calibration batches: one map (tensor name ->
/// value) per batch.
using CapturedBatches = std::vector<std::map<std::string, Tensor>>;

/// What the guard needs of one layer, taken from the FP32 graph before the
/// INT8 rewrite changes it: its type and attributes, its constant inputs
/// (shared, so the graph may change afterwards), and the names of its
/// non-constant inputs and float outputs.
struct IsolatedFloatLayer {
  std::string name;
  std::string type;
  Attributes attrs;
  /// Per input: the constant (non-null) or nullptr for an activation /
  /// absent input.
  std::vector<std::shared_ptr<const Tensor>> constants;
  /// Per input: the tensor name ("" when absent or constant).
  std::vector<std::string> activations;
  /// Per output: the tensor name ("" when absent).
  std::vector<std::string> outputs;
};

/// The isolated SQNR (dB) of each checked precision, by layer name.
using Float16SqnrMap = std::map<std::string, std::map<Precision, double>>;

/// The layers of `graph` the float16 guard can check: float layers
/// (fp16_phase.h's IsFloatLayer) that compute values (not data movement:
/// views and copies do not change values), whose non-constant inputs are
/// float32 and which have a host kernel. Their non-constant inputs and float
/// outputs are appended to `capture` (without duplicates).
std::vector<IsolatedFloatLayer> Float16GuardCandidates(const ir::Graph& graph,
                                                       std::vector<std::string>& capture);

/// The isolated SQNR of `layer` run in `precision` (kFp16 or kBf16: the
/// layer's host kernel wrapped by ops::HostKernelDef, i.e. the arithmetic of
/// common/reduced_float.h) against its FP32 outputs, over the batches of
/// `captured` that hold all its inputs and outputs:
///   SQNR = 10 log10(sum y^2 / sum (y - y16)^2) over every float output
/// element; +inf when equal, -inf when the signal is 0 and the noise is not
/// or when y16 has an infinity or NaN where y is finite (fp16 overflow).
/// NaN when no batch holds the layer's tensors (not measured).
/// Errors: those of the layer's kernel (annotated with the layer).
absl::StatusOr<double> IsolatedFloat16Sqnr(const IsolatedFloatLayer& layer, Precision precision,
                                           const CapturedBatches& captured);

}  // namespace engine::builder

#endif  // ENGINE_BUILDER_FLOAT16_GUARD_H_
