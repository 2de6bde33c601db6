#include "codegen/workload.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
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
  ENGINE_ASSIGN_OR_RETURN(hw::LayerWorkload w, ops::DescribeDeviceWork(*def, view, activation));
  ResolveZeroExtents(w);
  return w;
}

void ResolveZeroExtents(hw::LayerWorkload& w) {
  if (w.kind == hw::LayerKind::kView) return;
  if (w.kind == hw::LayerKind::kComposite) {
    // Pieces that become views (nothing to compute or write) are dropped; a
    // composite with no piece left is a view.
    std::vector<hw::LayerWorkload> kept;
    for (hw::LayerWorkload& part : w.parts) {
      ResolveZeroExtents(part);
      if (part.kind != hw::LayerKind::kView) kept.push_back(std::move(part));
    }
    w.parts = std::move(kept);
    if (w.parts.empty()) w.kind = hw::LayerKind::kView;
    return;
  }
  if (w.kind != hw::LayerKind::kArray) {
    if (w.vector.out_elements == 0) w.kind = hw::LayerKind::kView;  // nothing to write
    return;
  }
  const hw::GemmWorkload& g = w.gemm;
  const bool empty_output =
      g.groups <= 0 || g.m <= 0 || g.p <= 0 || g.batch <= 0 || g.output_bytes <= 0;
  const bool empty_reduction = g.k <= 0 || g.kernel_h <= 0 || g.kernel_w <= 0 || g.in_h <= 0 ||
                               g.in_w <= 0 || g.out_h <= 0 || g.out_w <= 0;
  if (!empty_output && !empty_reduction) return;
  hw::VectorWorkload fill;
  fill.precision = g.precision;
  fill.outputs = {{g.output_tensor, std::max<int64_t>(g.output_bytes, 0)}};
  fill.out_elements = std::max<int64_t>(g.groups, 0) * std::max<int64_t>(g.m, 0) *
                      std::max<int64_t>(g.p, 0);
  fill.ops_per_element = 1;  // fill: one write per output element (the bias or 0)
  w.vector = std::move(fill);
  w.vector_alternative = false;
  w.gemm = hw::GemmWorkload{};
  w.kind = empty_output || w.vector.out_elements == 0 ? hw::LayerKind::kView
                                                      : hw::LayerKind::kVector;
}

}  // namespace engine::codegen
