// Describes each engine layer (an IR node with static shapes) as the work it
// asks of the accelerator (hw::LayerWorkload). The one table of layer types
// and their device unit lives in workload.cc.
#ifndef ENGINE_CODEGEN_WORKLOAD_H_
#define ENGINE_CODEGEN_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "hw/workload.h"
#include "ir/graph.h"

namespace engine::codegen {

/// Plan tensor index of every value the plan stores, in the plan writer's
/// order (graph inputs, then each node's inputs and outputs in schedule
/// order, then graph outputs).
using TensorIndex = absl::flat_hash_map<const ir::Value*, int32_t>;
TensorIndex AssignTensorIndices(const ir::Graph& graph);

/// The device work of `node`. Errors: Internal when the layer type has no
/// device lowering (every host kernel type must have one).
absl::StatusOr<hw::LayerWorkload> DescribeLayer(const ir::Node& node, const TensorIndex& index);

/// Layer types with a device lowering (for tests: every kernel type must be
/// in this list).
std::vector<std::string> LoweredLayerTypes();

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_WORKLOAD_H_
