// Code generation for the modeled accelerator: describes every layer, chooses
// its mapping (mapper.h) and lowers it into one instruction stream.
#ifndef ENGINE_CODEGEN_DEVICE_CODE_H_
#define ENGINE_CODEGEN_DEVICE_CODE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/arena.h"
#include "codegen/mapper.h"
#include "codegen/residency.h"
#include "codegen/workload.h"
#include "engine/hardware.h"
#include "hw/program.h"
#include "ir/graph.h"

namespace engine::codegen {

/// Everything the plan stores about the accelerator.
/// Where an engine came from, as the plan's BuildInfo table records it and
/// PlanInfo (include/engine/runtime.h) exposes it; every field may be empty.
struct PlanProvenance {
  std::string source_model;      ///< file name of the source model
  std::string source_hash;       ///< FNV-1a 64 of the source ONNX bytes, 16 hex digits
  std::string precision;         ///< "fp32", "int8", ...
  std::string calibrator;        ///< "entropy", "minmax", "percentile", "cache" or ""
  std::string calibration_data;  ///< Calibrator::Describe()
  int64_t calibration_batches = 0;
  std::string preprocess;        ///< Calibrator::Preprocessing()
  int opt_level = -1;
};

struct DeviceCode {
  std::string hardware_json;  ///< HardwareConfigToJson of the target
  Objective objective = Objective::kLatency;
  hw::Program program;        ///< tensor fields are plan tensor indices (`tensors`)
  TensorIndex tensors;        ///< plan tensor index of each value
  /// Per layer (graph node, schedule order): its mapping and instruction range.
  std::vector<LayerMapping> mappings;
  std::vector<uint32_t> first_instruction;
  std::vector<uint32_t> num_instructions;
  /// The host activation arena (set by the builder before serialization).
  ArenaPlan arena;
  /// Provenance recorded in the plan (set by the builder).
  PlanProvenance provenance;
  /// Cross-layer residency and prefetch decisions (residency.h).
  ResidencyPlan residency;
  /// Layer groups (layer_group.h): per layer, the group owner whose
  /// instruction range holds its instructions, or -1; and the choice.
  std::vector<int32_t> group_layer;
  GroupPlan groups;
};

/// Maps and lowers every layer of `graph`. `max_instructions` (> 0) bounds
/// the whole program: each layer is mapped within what the earlier layers
/// left, before it is lowered; 0 = unlimited. Errors: as ChooseMapping
/// (Unimplemented precision, ResourceExhausted tiling or instruction budget,
/// naming the layer), and Internal for a layer type without a lowering.
/// Then applies `residency` to the whole program (ApplyResidency; view
/// layers' outputs alias their first input, graph outputs reach DRAM).
/// Before that, with residency.layer_groups (and no instruction limit, real
/// memory), chains of convolutions are grouped (ChooseLayerGroups): each
/// group's instructions take the range of its last layer, the others of the
/// group get none (group_layer names the owner).
absl::StatusOr<DeviceCode> GenerateDeviceCode(const ir::Graph& graph, const HardwareConfig& hw,
                                              Objective objective, int64_t max_instructions = 0,
                                              const ResidencyOptions& residency = {});

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_DEVICE_CODE_H_
