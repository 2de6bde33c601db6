// fold-constants: evaluates at build time every node whose inputs are all
// constants (initializers or already folded), with the host kernels, and
// replaces its outputs by constants. An output above the context's
// max_constant_bytes is ResourceExhausted naming the node and the tensor,
// checked from its static shape before anything is allocated.
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
      // The outputs' shapes are static: their sizes are checked before the
      // kernel allocates them (ConstantOfShape to [1e6, 1e6] is 4 TB).
      for (const ir::Value* out : node->outputs) {
        if (out == nullptr) continue;
        ENGINE_RETURN_IF_ERROR(CheckTensorSize(
            absl::StrCat(node->Describe(), ": folded constant '", out->name, "'"), out->shape,
            out->dtype, context().limits.max_constant_bytes, "max_constant_bytes"));
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
