// eliminate-identity: removes Identity nodes (Dropout is imported as
// Identity) by rewiring their consumers to the Identity's input.
#include "optimizer/passes.h"

namespace engine::opt {
namespace {

class EliminateIdentityPass : public Pass {
 public:
  std::string_view name() const override { return "eliminate-identity"; }
  std::string_view description() const override {
    return "remove Identity and inference-mode Dropout nodes";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    std::vector<ir::Node*> removed;
    for (const auto& node : graph.nodes()) {
      if (node->op_type != "Identity" || node->inputs.size() != 1 || node->outputs.size() != 1) {
        continue;
      }
      ir::Value* in = node->inputs[0];
      ir::Value* out = node->outputs[0];
      if (graph.IsGraphOutput(out)) {
        // The graph output's name must survive; keep the copy.
        stats.Count("skipped.output_is_graph_output");
        continue;
      }
      graph.ReplaceAllUsesWith(out, in);
      removed.push_back(node.get());
      stats.Count("fired");
    }
    for (ir::Node* n : removed) graph.RemoveNode(n);
    graph.RemoveUnusedValues();
    return !removed.empty();
  }
};

}  // namespace

std::unique_ptr<Pass> MakeEliminateIdentityPass() {
  return std::make_unique<EliminateIdentityPass>();
}

}  // namespace engine::opt
