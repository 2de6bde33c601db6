#include "optimizer/passes/pass_util.h"

#include <cmath>

#include "absl/strings/str_join.h"

namespace engine::opt {

ir::Node* SoleConsumer(const ir::Graph& graph, const ir::Value* v) {
  std::vector<ir::Node*> consumers = graph.Consumers(v);
  return consumers.size() == 1 ? consumers[0] : nullptr;
}

std::vector<std::string> CoveredOnnxNodes(const ir::Node& node) {
  if (!node.onnx_nodes.empty()) return node.onnx_nodes;
  return {node.name};
}

void NameFused(ir::Node& fused, const std::vector<const ir::Node*>& covered) {
  std::vector<std::string> names;
  for (const ir::Node* n : covered) {
    std::vector<std::string> part = CoveredOnnxNodes(*n);
    names.insert(names.end(), part.begin(), part.end());
  }
  fused.name = absl::StrJoin(names, " + ");
  fused.onnx_nodes = std::move(names);
}

void SetSingleOutput(ir::Node& node, ir::Value* out) {
  node.outputs = {out};
  out->producer = &node;
}

const Tensor* FloatConstant(const ir::Value* v) {
  if (v == nullptr || !v->is_constant() || v->constant->dtype() != DataType::kFloat32) {
    return nullptr;
  }
  return v->constant.get();
}

bool IsFloatScalar(const ir::Value* v, double want, double rel) {
  const Tensor* t = FloatConstant(v);
  if (t == nullptr || t->num_elements() != 1) return false;
  const double got = t->data_as<float>()[0];
  return rel == 0.0 ? got == want : std::fabs(got - want) <= rel * std::fabs(want);
}

ir::Value* OtherOperand(const ir::Node& n, const ir::Value* v) {
  if (n.inputs.size() != 2) return nullptr;
  if (n.inputs[0] == v && n.inputs[1] != v) return n.inputs[1];
  if (n.inputs[1] == v && n.inputs[0] != v) return n.inputs[0];
  return nullptr;
}

bool ClipBound(const ir::Node& clip, size_t index, bool* present, float* value) {
  const ir::Value* v = index < clip.inputs.size() ? clip.inputs[index] : nullptr;
  *present = v != nullptr;
  if (v == nullptr) return true;
  const Tensor* t = FloatConstant(v);
  if (t == nullptr || t->num_elements() != 1) return false;
  *value = t->data_as<float>()[0];
  return true;
}

ir::Value* AddFloatConstant(ir::Graph& graph, const std::string& name, Tensor tensor) {
  return graph.AddConstant(name, std::make_shared<const Tensor>(std::move(tensor)));
}

}  // namespace engine::opt
