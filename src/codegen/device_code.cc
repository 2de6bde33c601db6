#include "codegen/device_code.h"

#include "common/status_macros.h"

namespace engine::codegen {

absl::StatusOr<DeviceCode> GenerateDeviceCode(const ir::Graph& graph, const HardwareConfig& hw,
                                              Objective objective) {
  DeviceCode code;
  code.hardware_json = HardwareConfigToJson(hw);
  code.objective = objective;
  code.tensors = AssignTensorIndices(graph);
  uint32_t layer = 0;
  for (const auto& node : graph.nodes()) {
    ENGINE_ASSIGN_OR_RETURN(hw::LayerWorkload w, DescribeLayer(*node, code.tensors));
    ENGINE_ASSIGN_OR_RETURN(LayerMapping m, ChooseMapping(hw, w, objective));
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
