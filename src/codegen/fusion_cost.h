// The cost model's verdict on a fusion, for the optimizer's fusion passes
// (opt::PassContext::accept_fusion). A fusion is taken only when the fused
// layer has a tiling whose working set (accumulator tile, residual tile,
// input and weight tiles, double-buffered) fits the on-chip buffers, and its
// modeled cost is not above the separate layers' summed cost
// (docs/accelerator_model.md, "Memory timing": a fused layer's traffic and
// the fit of its tiles).
#ifndef ENGINE_CODEGEN_FUSION_COST_H_
#define ENGINE_CODEGEN_FUSION_COST_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/hardware.h"
#include "engine/hardware.h"
#include "ir/graph.h"

namespace engine::codegen {

using FusionVerdict = std::function<absl::StatusOr<bool>(
    const ir::Node& fused, const std::vector<const ir::Node*>& separate)>;

/// A verdict function for `hw` and `objective` (the objective's value of the
/// fused layer against the sum over the separate layers; for edp, the
/// products are summed). Mappings are costed within `max_instructions`
/// instructions (0 = unlimited); a fused layer that needs more is not fused.
FusionVerdict MakeFusionVerdict(const HardwareConfig& hw, Objective objective,
                                int64_t max_instructions = 0);

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_FUSION_COST_H_
