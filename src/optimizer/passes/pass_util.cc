#include "optimizer/passes/pass_util.h"

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

ir::Value* AddFloatConstant(ir::Graph& graph, const std::string& name, Tensor tensor) {
  return graph.AddConstant(name, std::make_shared<const Tensor>(std::move(tensor)));
}

}  // namespace engine::opt
