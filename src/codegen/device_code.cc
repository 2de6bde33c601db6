#include "codegen/device_code.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace engine::codegen {
namespace {

// The row geometry of a 2-D windowed pool over an NCHW batch-1 tensor
// (MaxPool, AveragePool, Int8AveragePool with one output), from its
// attributes as ONNX defines them (kernel_shape, strides, dilations, pads
// [top, left, bottom, right] or auto_pad SAME_UPPER / SAME_LOWER, whose
// total padding max(0, (out_h - 1) * s + (k - 1) * d + 1 - in_h) puts the
// smaller half first for SAME_UPPER); invalid (not a pool) otherwise.
PoolRows PoolRowsOf(const ir::Node& node) {
  PoolRows p;
  if (node.op_type != "MaxPool" && node.op_type != "AveragePool" &&
      node.op_type != "Int8AveragePool") {
    return p;
  }
  if (node.inputs.empty() || node.outputs.size() != 1 || node.inputs[0] == nullptr ||
      node.outputs[0] == nullptr) {
    return p;
  }
  const auto& in = node.inputs[0]->shape;
  const auto& out = node.outputs[0]->shape;
  const std::vector<int64_t> kernel = node.attrs.Ints("kernel_shape");
  if (in.size() != 4 || out.size() != 4 || in[0] != 1 || kernel.size() != 2) return p;
  const std::vector<int64_t> strides = node.attrs.Ints("strides", {1, 1});
  const std::vector<int64_t> dilations = node.attrs.Ints("dilations", {1, 1});
  const std::vector<int64_t> pads = node.attrs.Ints("pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4) return p;
  PoolRows r;
  r.in_h = in[2];
  r.out_h = out[2];
  r.kernel_h = kernel[0];
  r.stride_h = strides[0];
  r.dilation_h = dilations[0];
  r.pad_top = pads[0];
  const std::string auto_pad =
      node.attrs.GetString("auto_pad", "NOTSET").value_or(std::string("NOTSET"));
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const int64_t total = std::max<int64_t>(
        0, (r.out_h - 1) * r.stride_h + (r.kernel_h - 1) * r.dilation_h + 1 - r.in_h);
    r.pad_top = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
  } else if (auto_pad == "VALID") {
    r.pad_top = 0;
  } else if (auto_pad != "NOTSET") {
    return p;
  }
  if (r.pad_top < 0 || r.pad_top >= (r.kernel_h - 1) * r.dilation_h + 1) return p;
  return r.Valid() ? r : p;
}

}  // namespace

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
  std::vector<PoolRows> pools;
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
    pools.push_back(PoolRowsOf(*node));
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
                          objective, /*max_layers=*/3, pools));
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
