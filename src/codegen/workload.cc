#include "codegen/workload.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/op_registry.h"

namespace engine::codegen {
namespace {

kernels::TensorInfo InfoOf(const ir::Value* v) {
  kernels::TensorInfo t;
  if (v == nullptr) {
    t.present = false;
    return t;
  }
  t.dtype = v->dtype;
  t.shape = v->shape;
  t.constant = v->constant.get();
  return t;
}

int32_t Index(const TensorIndex& index, const ir::Value* v) {
  if (v == nullptr) return -1;
  auto it = index.find(v);
  return it == index.end() ? -1 : it->second;
}

}  // namespace

TensorIndex AssignTensorIndices(const ir::Graph& graph) {
  TensorIndex index;
  auto add = [&](const ir::Value* v) {
    if (v != nullptr && !index.contains(v)) index.emplace(v, static_cast<int32_t>(index.size()));
  };
  for (const ir::Value* v : graph.inputs()) add(v);
  for (const auto& node : graph.nodes()) {
    for (const ir::Value* v : node->inputs) add(v);
    for (const ir::Value* v : node->outputs) add(v);
  }
  for (const ir::Value* v : graph.outputs()) add(v);
  return index;
}

std::vector<std::string> LoweredLayerTypes() {
  std::vector<std::string> out;
  for (const ops::OpDef* def : ops::OpRegistry::Builtin().All()) {
    if (def->device.unit) out.push_back(def->type);
  }
  return out;
}

absl::StatusOr<hw::LayerWorkload> DescribeLayer(const ir::Node& node, const TensorIndex& index) {
  const ops::OpRegistry& registry = ops::OpRegistry::Builtin();
  const ops::OpDef* def = registry.Find(node.op_type);
  if (def == nullptr || !def->device.unit) {
    return absl::InternalError(
        absl::StrCat(node.Describe(), ": layer type has no accelerator lowering"));
  }
  std::vector<kernels::TensorInfo> inputs, outputs;
  std::vector<int32_t> input_tensors, output_tensors;
  for (const ir::Value* v : node.inputs) {
    inputs.push_back(InfoOf(v));
    input_tensors.push_back(Index(index, v));
  }
  for (const ir::Value* v : node.outputs) {
    outputs.push_back(InfoOf(v));
    output_tensors.push_back(Index(index, v));
  }
  // A fused epilogue activation, as the optimizer's fusion passes write it.
  const ops::OpDef* activation = nullptr;
  if (node.attrs.Has("activation")) {
    const auto& a = node.attrs.values().at("activation");
    if (const auto* name = std::get_if<std::string>(&a)) activation = registry.Find(*name);
  }
  const ops::LayerView view{node.name, node.op_type, node.attrs, inputs, outputs,
                            input_tensors, output_tensors};
  return ops::DescribeDeviceWork(*def, view, activation);
}

}  // namespace engine::codegen
