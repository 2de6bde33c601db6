#include "codegen/device_code.h"

#include "absl/container/flat_hash_map.h"
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
  std::vector<hw::LayerWorkload> workloads;
  absl::flat_hash_map<const ir::Value*, int> uses;
  for (const auto& node : graph.nodes()) {
    for (const ir::Value* v : node->inputs) {
      if (v != nullptr) ++uses[v];
    }
  }
  std::vector<bool> single_use;
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
    const ir::Value* out0 = node->outputs.empty() ? nullptr : node->outputs[0];
    single_use.push_back(node->outputs.size() == 1 && out0 != nullptr && uses[out0] == 1 &&
                         !graph.IsGraphOutput(out0));
    const size_t first = code.program.size();
    LowerLayer(hw, w, m, layer, code.program);
    code.first_instruction.push_back(static_cast<uint32_t>(first));
    code.num_instructions.push_back(static_cast<uint32_t>(code.program.size() - first));
    code.mappings.push_back(std::move(m));
    workloads.push_back(std::move(w));
    ++layer;
  }
  code.group_layer.assign(code.mappings.size(), -1);
  if (residency.layer_groups && !hw.ideal_memory) {
    ENGINE_ASSIGN_OR_RETURN(
        code.groups,
        ChooseLayerGroups(hw, workloads, code.mappings, single_use,
                          residency.group_objective.value_or(ToGroupObjective(objective)),
                          objective));
    // The grouped program must fit the instruction limit; else no groups.
    int64_t grouped_size = static_cast<int64_t>(code.program.size());
    for (const LayerGroup& g : code.groups.groups) {
      grouped_size += static_cast<int64_t>(g.program.size());
      for (int l = g.first; l < g.first + g.count; ++l) grouped_size -= code.num_instructions[l];
    }
    if (max_instructions > 0 && grouped_size > max_instructions) {
      code.groups.rejected_cost += static_cast<int>(code.groups.groups.size());
      code.groups.groups.clear();
      code.groups.over_instruction_limit = true;
    }
    if (!code.groups.groups.empty()) {
      // Rebuild the program: each group's instructions in its last layer's range.
      hw::Program program;
      std::vector<uint32_t> first(code.mappings.size()), count(code.mappings.size(), 0);
      size_t next_group = 0;
      for (size_t l = 0; l < code.mappings.size(); ++l) {
        const LayerGroup* g =
            next_group < code.groups.groups.size() &&
                    code.groups.groups[next_group].first <= static_cast<int>(l)
                ? &code.groups.groups[next_group]
                : nullptr;
        if (g != nullptr) {
          const int owner = g->first + g->count - 1;
          code.group_layer[l] = static_cast<int>(l) == owner ? -1 : owner;
          const int q = static_cast<int>(l) - g->first;
          const int64_t min_dram = code.mappings[l].min_dram_bytes;
          code.mappings[l] = g->mappings[static_cast<size_t>(q)];
          code.mappings[l].min_dram_bytes = min_dram;
          first[l] = static_cast<uint32_t>(program.size());
          if (static_cast<int>(l) == owner) {
            const auto base = static_cast<int32_t>(program.size());
            for (hw::Instruction in : g->program) {
              for (int32_t& d : in.deps) {
                if (d >= 0) d += base;
              }
              program.push_back(in);
            }
            count[l] = static_cast<uint32_t>(program.size()) - first[l];
            ++next_group;
          }
          continue;
        }
        first[l] = static_cast<uint32_t>(program.size());
        program.insert(program.end(), code.program.begin() + code.first_instruction[l],
                       code.program.begin() + code.first_instruction[l] + code.num_instructions[l]);
        const auto shift = static_cast<int32_t>(first[l]) - static_cast<int32_t>(code.first_instruction[l]);
        for (size_t i = first[l]; i < program.size(); ++i) {
          for (int32_t& d : program[i].deps) {
            if (d >= 0) d += shift;
          }
        }
        count[l] = code.num_instructions[l];
      }
      code.program = std::move(program);
      code.first_instruction = std::move(first);
      code.num_instructions = std::move(count);
    }
  }
  std::vector<int32_t> dram_tensors;
  for (const ir::Value* v : graph.outputs()) dram_tensors.push_back(code.tensors.at(v));
  ENGINE_ASSIGN_OR_RETURN(code.residency,
                          ApplyResidency(hw, residency, alias, dram_tensors, code.first_instruction,
                                         code.num_instructions, code.program));
  return code;
}

}  // namespace engine::codegen
