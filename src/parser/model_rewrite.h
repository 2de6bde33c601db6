// ONNX-level rewrites the parser applies before import (ModelProto in,
// ModelProto out), for models the engine's importers cannot take as written:
//
//  - LowerToFloat32: float16/bfloat16/float64 models compute in float32
//    (weights converted at import, Cast layers at the graph inputs and
//    outputs, which keep the model's declared I/O types);
//  - RewriteLegacySoftmax: Softmax/LogSoftmax/Hardmax of opsets < 13 rewritten
//    by the engine's own rule where the ONNX version converter's 12->13
//    adapter would need an input shape it does not have (it asserts);
//  - HoldOutNodes / RestoreNodes: nodes the version converter cannot carry
//    (experimental ops removed in opset 10: Crop, Affine, ImageScaler, Scale)
//    are taken out of the graph during conversion and put back afterwards,
//    so their importers see them at their own opset.
// (If, Loop and Scan are compiled into plain nodes by control_flow.h.)
#ifndef ENGINE_PARSER_MODEL_REWRITE_H_
#define ENGINE_PARSER_MODEL_REWRITE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "onnx/onnx_pb.h"

namespace engine::parser {

/// Whether `domain` names ONNX's default domain ("" or "ai.onnx").
bool IsDefaultDomain(const std::string& domain);

/// The model's default-domain opset (its first "" / "ai.onnx"
/// opset_import entry), 0 when it has none.
int DefaultOpset(const onnx::ModelProto& model);

/// Adds to `names` every value name defined or used in `g` and its
/// subgraphs (inputs, outputs, initializers, node inputs and outputs).
void CollectNames(const onnx::GraphProto& g, absl::flat_hash_set<std::string>& names);

/// Renames the inputs of node `n` per `map` (old name -> new name), and, in
/// its subgraphs, the names they read from the outer scope (node inputs and
/// subgraph outputs found in `map`).
void RenameInputs(onnx::NodeProto& n, const absl::flat_hash_map<std::string, std::string>& map);

/// Makes a float16/bfloat16/float64 (DOUBLE) model compute in float32, as
/// TensorRT does with FP64 weights: every FLOAT16/BFLOAT16/DOUBLE
/// initializer, Constant value and ConstantOfShape value becomes FLOAT
/// (half and bfloat16 exactly; double rounded to the nearest float, ties to
/// even, beyond the float range to infinity, so a float64 model loses
/// precision); Cast nodes to those types cast to FLOAT instead, as do the
/// `dtype` attributes of EyeLike and the random generators; each such graph
/// input `x` gets a Cast(to=FLOAT) whose output "x__fp32" replaces `x` in its
/// consumers (double inputs rounded as above); each such graph output `y` is
/// produced by a final Cast back to its declared type from "y__fp32" (round
/// to nearest even for float16/bfloat16, exact for double). value_info
/// entries of those types are retyped FLOAT. Graph I/O declarations are
/// unchanged. Returns whether anything changed.
/// Errors: InvalidArgument for an initializer whose data does not match its
/// dims; Unimplemented for externally stored tensors of those types.
absl::StatusOr<bool> LowerToFloat32(onnx::ModelProto& model);

/// The rank of every tensor of `g` whose shape is known: graph inputs,
/// value_info (e.g. after ONNX shape inference), graph outputs and
/// initializers (their dims), keyed by tensor name.
absl::flat_hash_map<std::string, int> KnownRanks(const onnx::GraphProto& g);

/// For a model of default-domain opset < 13: rewrites every Softmax,
/// LogSoftmax and Hardmax (whose pre-13 semantics coerce the input to 2-D at
/// `axis`) so that the ONNX version converter's 12->13 adapter does not need
/// the input shape: when the input rank is known (from value_info) and
/// `axis` is its last axis, the axis is set to -1 (same result in both
/// semantics); otherwise the node becomes Flatten(axis) -> op(axis=-1) ->
/// Reshape(Shape(x)). Returns the number of nodes rewritten.
int RewriteLegacySoftmax(onnx::ModelProto& model);

/// Nodes taken out of a graph while the version converter runs.
struct HeldOutNodes {
  /// The nodes, in graph order.
  std::vector<onnx::NodeProto> nodes;
  /// Names of the graph inputs added for their outputs.
  std::vector<std::string> added_inputs;
};

/// Removes the main-graph nodes for which `hold(node)` is true, declaring
/// each of their outputs as a graph input (with its type from value_info, or
/// float of unknown shape) so the rest of the graph stays valid.
HeldOutNodes HoldOutNodes(onnx::ModelProto& model,
                          const std::function<bool(const onnx::NodeProto&)>& hold);

/// Undoes HoldOutNodes: removes the added graph inputs (their declarations
/// move to value_info), puts the nodes back and sorts the graph
/// topologically (stable: other nodes keep their order).
/// Errors: InvalidArgument when the graph has a cycle.
absl::Status RestoreNodes(onnx::ModelProto& model, HeldOutNodes held);

}  // namespace engine::parser

#endif  // ENGINE_PARSER_MODEL_REWRITE_H_
