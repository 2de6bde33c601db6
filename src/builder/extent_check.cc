#include "builder/extent_check.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ops/extent.h"

namespace engine::builder {

absl::Status CheckDataDependentExtents(const ir::Graph& graph) {
  std::map<const ir::Value*, ops::ExtentDim> extent;
  std::vector<std::string> names;  // layer name by index
  auto producer = [&](int symbol) {
    return symbol >= 0 && static_cast<size_t>(symbol) < names.size() ? names[symbol] : "?";
  };
  int index = 0;
  for (const auto& node : graph.nodes()) {
    names.push_back(node->name);
    std::vector<ops::ExtentDim> in;
    bool any = false;
    for (const ir::Value* v : node->inputs) {
      auto it = v == nullptr ? extent.end() : extent.find(v);
      in.push_back(it == extent.end() ? ops::ExtentDim{} : it->second);
      any = any || in.back().any();
    }
    (void)any;
    std::vector<kernels::TensorInfo> ins, outs;
    std::vector<std::string> in_names;
    for (const ir::Value* v : node->inputs) {
      kernels::TensorInfo t;
      if (v == nullptr) {
        t.present = false;
        in_names.push_back("");
      } else {
        t = kernels::TensorInfo{v->dtype, v->shape,
                                v->is_constant() ? v->constant.get() : nullptr, true};
        in_names.push_back(v->name);
      }
      ins.push_back(std::move(t));
    }
    for (const ir::Value* v : node->outputs) {
      outs.push_back(kernels::TensorInfo{v->dtype, v->shape, nullptr, true});
    }
    ops::LayerView view{node->name, node->op_type, node->attrs, ins, outs, {}, {}};
    absl::StatusOr<std::vector<ops::ExtentDim>> out =
        ops::PropagateExtent(ops::ExtentLayer{view, in_names, index}, in, producer);
    if (!out.ok()) return out.status();
    for (size_t o = 0; o < out->size() && o < node->outputs.size(); ++o) {
      if ((*out)[o].any()) extent[node->outputs[o]] = (*out)[o];
    }
    ++index;
  }
  return absl::OkStatus();
}

}  // namespace engine::builder
