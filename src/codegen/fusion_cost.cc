#include "codegen/fusion_cost.h"

#include "codegen/mapper.h"
#include "codegen/workload.h"

namespace engine::codegen {

FusionVerdict MakeFusionVerdict(const HardwareConfig& hw, Objective objective,
                                int64_t max_instructions) {
  return [hw, objective, max_instructions](const ir::Node& fused,
                         const std::vector<const ir::Node*>& separate) -> absl::StatusOr<bool> {
    const TensorIndex none;  // costing only: no plan tensors yet
    auto fused_work = DescribeLayer(fused, none);
    if (!fused_work.ok()) return fused_work.status();
    auto fused_map = ChooseMapping(hw, *fused_work, objective, max_instructions);
    if (absl::IsResourceExhausted(fused_map.status())) return false;  // working set does not fit
    if (!fused_map.ok()) return fused_map.status();
    double separate_cost = 0;
    for (const ir::Node* n : separate) {
      auto w = DescribeLayer(*n, none);
      if (!w.ok()) return w.status();
      auto m = ChooseMapping(hw, *w, objective, max_instructions);
      if (!m.ok()) return true;  // the separate layers do not fit either: fusing cannot hurt
      separate_cost += m->chosen.objective;
    }
    return fused_map->chosen.objective <= separate_cost;
  };
}

}  // namespace engine::codegen
