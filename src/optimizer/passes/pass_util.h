// Helpers shared by the rewrite passes: consumer queries, the naming of fused
// nodes, constant access and attribute reads that carry the node in errors.
#ifndef ENGINE_OPTIMIZER_PASSES_PASS_UTIL_H_
#define ENGINE_OPTIMIZER_PASSES_PASS_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/status_macros.h"
#include "engine/tensor.h"
#include "ir/graph.h"

namespace engine::opt {

/// The one node reading `v`, or nullptr when `v` has no reader or several.
/// Graph outputs are not nodes: check Graph::IsGraphOutput separately.
ir::Node* SoleConsumer(const ir::Graph& graph, const ir::Value* v);

/// The ONNX node names `node` covers (its onnx_nodes, or its name when
/// onnx_nodes is empty).
std::vector<std::string> CoveredOnnxNodes(const ir::Node& node);

/// Names `fused` after the nodes it replaces, in order: onnx_nodes becomes the
/// concatenation of theirs and name their join with " + " (e.g.
/// "conv1 + bn1 + relu1"). `covered` may include `fused` itself (read before
/// it is overwritten).
void NameFused(ir::Node& fused, const std::vector<const ir::Node*>& covered);

/// Makes `node` the producer of `out` as its only output.
void SetSingleOutput(ir::Node& node, ir::Value* out);

/// The tensor of a float32 constant value, or nullptr (absent value, not a
/// constant, another dtype).
const Tensor* FloatConstant(const ir::Value* v);

/// Whether `v` is a float32 constant of one element equal to `want`: exactly
/// when `rel` is 0, else within `rel` * |want|.
bool IsFloatScalar(const ir::Value* v, double want, double rel = 0.0);

/// The operand of binary node `n` other than `v`; nullptr when `n` does not
/// have two inputs or does not read `v` exactly once.
ir::Value* OtherOperand(const ir::Node& n, const ir::Value* v);

/// Reads bound `index` (1: min, 2: max) of Clip node `clip`: `present` is false
/// when that input is absent. Returns false when it is present but not a
/// float32 scalar constant (`value` then unset).
bool ClipBound(const ir::Node& clip, size_t index, bool* present, float* value);

/// Whether `v` is present and a constant.
inline bool IsConstant(const ir::Value* v) { return v != nullptr && v->is_constant(); }

/// Adds a float32 constant `tensor` named after `name` (made unique).
ir::Value* AddFloatConstant(ir::Graph& graph, const std::string& name, Tensor tensor);

/// `v`, or its error annotated with the node (for attribute reads).
template <typename T>
absl::StatusOr<T> OnNode(absl::StatusOr<T> v, const ir::Node& node) {
  if (!v.ok()) return Annotate(v.status(), node.Describe());
  return v;
}

}  // namespace engine::opt

#endif  // ENGINE_OPTIMIZER_PASSES_PASS_UTIL_H_
