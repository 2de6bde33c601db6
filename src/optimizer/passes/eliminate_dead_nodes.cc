// eliminate-dead-nodes: removes nodes none of whose outputs reach a graph
// output.
#include "absl/container/flat_hash_set.h"
#include "optimizer/passes.h"

namespace engine::opt {
namespace {

class EliminateDeadNodesPass : public Pass {
 public:
  std::string_view name() const override { return "eliminate-dead-nodes"; }
  std::string_view description() const override {
    return "remove nodes whose outputs are never used";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    // One backward walk: a node is live when it produces a live value.
    absl::flat_hash_set<const ir::Value*> live(graph.outputs().begin(), graph.outputs().end());
    std::vector<ir::Node*> dead;
    const auto& nodes = graph.nodes();
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      ir::Node* n = it->get();
      bool is_live = false;
      for (const ir::Value* out : n->outputs) is_live = is_live || live.contains(out);
      if (!is_live) {
        dead.push_back(n);
        stats.Count("removed." + n->op_type);
        continue;
      }
      for (const ir::Value* in : n->inputs) {
        if (in != nullptr) live.insert(in);
      }
    }
    for (ir::Node* n : dead) graph.RemoveNode(n);
    graph.RemoveUnusedValues();
    return !dead.empty();
  }
};

}  // namespace

std::unique_ptr<Pass> MakeEliminateDeadNodesPass() {
  return std::make_unique<EliminateDeadNodesPass>();
}

}  // namespace engine::opt
