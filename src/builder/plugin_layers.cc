#include "builder/plugin_layers.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ops/layer_precision.h"
#include "ops/op_registry.h"
#include "ops/plugin_ops.h"

namespace engine::builder {

absl::Status PreparePluginLayers(const ir::Graph& graph) {
  const auto& registry = ops::OpRegistry::Builtin();
  for (const auto& node : graph.nodes()) {
    if (!ops::PluginOfType(node->op_type)) continue;
    const std::string where = absl::StrCat("plugin layer ", node->Describe());
    absl::StatusOr<kernels::KernelDef> def = ops::HostKernelDef(registry, node->op_type, node->attrs);
    if (!def.ok()) return Annotate(def.status(), where);
    std::vector<kernels::TensorInfo> in, out;
    for (const ir::Value* v : node->inputs) {
      kernels::TensorInfo t;
      if (v == nullptr) {
        t.present = false;
      } else {
        t = kernels::TensorInfo{v->dtype, v->shape, v->is_constant() ? v->constant.get() : nullptr,
                                true};
      }
      in.push_back(std::move(t));
    }
    for (const ir::Value* v : node->outputs) {
      out.push_back(kernels::TensorInfo{v->dtype, v->shape, nullptr, true});
    }
    std::unique_ptr<kernels::Kernel> kernel = def->create();
    absl::Status prepared = kernel->Prepare(node->attrs, in, out);
    if (!prepared.ok()) return Annotate(prepared, where);
  }
  return absl::OkStatus();
}

}  // namespace engine::builder
