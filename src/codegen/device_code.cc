#include "codegen/device_code.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace engine::codegen {

absl::StatusOr<DeviceCode> GenerateDeviceCode(const ir::Graph& graph, const HardwareConfig& hw,
                                              Objective objective, int64_t max_instructions) {
  DeviceCode code;
  code.hardware_json = HardwareConfigToJson(hw);
  code.objective = objective;
  code.tensors = AssignTensorIndices(graph);
  uint32_t layer = 0;
  for (const auto& node : graph.nodes()) {
    ENGINE_ASSIGN_OR_RETURN(hw::LayerWorkload w, DescribeLayer(*node, code.tensors));
    int64_t budget = 0;  // unlimited
    if (max_instructions > 0) {
      budget = max_instructions - static_cast<int64_t>(code.program.size());
      if (budget <= 0) {
        return absl::ResourceExhaustedError(absl::StrCat(
            node->Describe(), ": the program already has ", code.program.size(),
            " instructions, the limit (BuilderConfig::max_instructions, --maxInstructions) is ",
            max_instructions));
      }
    }
    ENGINE_ASSIGN_OR_RETURN(LayerMapping m, ChooseMapping(hw, w, objective, budget));
    const size_t first = code.program.size();
    LowerLayer(hw, w, m, layer, code.program);
    code.first_instruction.push_back(static_cast<uint32_t>(first));
    code.num_instructions.push_back(static_cast<uint32_t>(code.program.size() - first));
    code.mappings.push_back(std::move(m));
    ++layer;
  }
  return code;
}

}  // namespace engine::codegen
