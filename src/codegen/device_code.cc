#include "codegen/device_code.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace engine::codegen {

absl::StatusOr<DeviceCode> GenerateDeviceCode(const ir::Graph& graph, const HardwareConfig& hw,
                                              Objective objective, int64_t max_instructions,
                                              const ResidencyOptions& residency) {
  DeviceCode code;
  code.hardware_json = HardwareConfigToJson(hw);
  code.objective = objective;
  code.tensors = AssignTensorIndices(graph);
  uint32_t layer = 0;
  std::vector<int32_t> alias(code.tensors.size(), -1);
  for (const auto& node : graph.nodes()) {
    ENGINE_ASSIGN_OR_RETURN(hw::LayerWorkload w, DescribeLayer(*node, code.tensors));
    if (w.kind == hw::LayerKind::kView && !node->inputs.empty() && !node->outputs.empty() &&
        node->inputs[0] != nullptr && node->outputs[0] != nullptr) {
      const int32_t out = code.tensors.at(node->outputs[0]), in = code.tensors.at(node->inputs[0]);
      if (out != in) alias[out] = in;
    }
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
  std::vector<int32_t> dram_tensors;
  for (const ir::Value* v : graph.outputs()) dram_tensors.push_back(code.tensors.at(v));
  ENGINE_ASSIGN_OR_RETURN(code.residency,
                          ApplyResidency(hw, residency, alias, dram_tensors, code.first_instruction,
                                         code.num_instructions, code.program));
  return code;
}

}  // namespace engine::codegen
