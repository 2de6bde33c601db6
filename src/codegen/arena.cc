#include "codegen/arena.h"

#include <algorithm>
#include <vector>

namespace engine::codegen {

ArenaPlan PlanActivationArena(const ir::Graph& graph, int64_t alignment, bool reuse) {
  ArenaPlan arena;
  arena.alignment = alignment;
  std::vector<const ir::Value*> order;
  auto touch = [&](const ir::Value* v, int step, bool define) {
    if (v == nullptr || v->is_constant()) return;
    auto [it, inserted] = arena.values.try_emplace(v);
    if (inserted) {
      order.push_back(v);
      it->second.first = step;
      it->second.last = step;
    }
    if (!define) it->second.last = std::max(it->second.last, step);
  };
  for (const ir::Value* v : graph.inputs()) touch(v, 0, true);
  const int layers = static_cast<int>(graph.nodes().size());
  for (int l = 0; l < layers; ++l) {
    const ir::Node& n = *graph.nodes()[l];
    for (const ir::Value* v : n.inputs) touch(v, l, false);
    for (const ir::Value* v : n.outputs) touch(v, l, true);
  }
  // Inputs stay intact for the whole inference: a context may Execute()
  // again without SetInput(). Outputs are read after Execute().
  for (const ir::Value* v : graph.inputs()) touch(v, layers, false);
  for (const ir::Value* v : graph.outputs()) touch(v, layers, false);

  std::vector<BufferRequest> requests;
  requests.reserve(order.size());
  for (const ir::Value* v : order) {
    const auto& p = arena.values.at(v);
    requests.push_back({static_cast<int64_t>(v->ByteSize()), p.first, p.last});
  }
  arena.plan = PlanMemory(requests, alignment, reuse);
  for (size_t i = 0; i < order.size(); ++i) arena.values.at(order[i]).offset = arena.plan.offsets[i];
  return arena;
}

}  // namespace engine::codegen
