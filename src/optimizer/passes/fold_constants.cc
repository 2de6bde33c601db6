// fold-constants: evaluates at build time every node whose inputs are all
// constants (initializers or already folded), with the host kernels, and
// replaces its outputs by constants.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/kernel.h"
#include "ops/op_registry.h"
#include "optimizer/passes.h"

namespace engine::opt {
namespace {

class FoldConstantsPass : public Pass {
 public:
  std::string_view name() const override { return "fold-constants"; }
  std::string_view description() const override {
    return "evaluate nodes whose inputs are all constant at build time";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    const auto& registry = ops::OpRegistry::Builtin();
    std::vector<ir::Node*> folded;
    for (const auto& node : graph.nodes()) {
      bool all_constant = true;
      std::vector<const Tensor*> inputs;
      for (const ir::Value* in : node->inputs) {
        if (in != nullptr && !in->is_constant()) all_constant = false;
        inputs.push_back(in == nullptr ? nullptr : in->constant.get());
      }
      if (!all_constant) continue;
      const kernels::KernelDef* def = registry.FindKernel(node->op_type);
      if (def == nullptr || !def->foldable) {
        stats.Count("skipped.not_foldable");
        continue;
      }
      auto values = kernels::EvaluateKernel(*def, node->attrs, inputs);
      if (!values.ok()) return Annotate(values.status(), node->Describe());
      for (size_t i = 0; i < values->size(); ++i) {
        node->outputs[i]->constant = std::make_shared<Tensor>(std::move((*values)[i]));
      }
      folded.push_back(node.get());
      stats.Count(absl::StrCat("folded.", node->op_type));
    }
    for (ir::Node* n : folded) graph.RemoveNode(n);
    graph.RemoveUnusedValues();
    return !folded.empty();
  }
};

}  // namespace

std::unique_ptr<Pass> MakeFoldConstantsPass() { return std::make_unique<FoldConstantsPass>(); }

}  // namespace engine::opt
