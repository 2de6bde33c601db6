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
///
/// Zero-extent layers are legal (ONNX allows empty tensors) and do no array
/// work (ResolveZeroExtents): an empty output is no device work at all
/// (kind kView), and a product over an empty reduction (a MatMul
/// [3,0]x[0,5], a Conv with 0 input channels) writes its output, the bias
/// or zeros, with the vector unit (one write per element) and stores it.
absl::StatusOr<hw::LayerWorkload> DescribeLayer(const ir::Node& node, const TensorIndex& index);

/// Rewrites a workload with a zero extent as described above (kArray with a
/// zero group, M or P count, or an empty vector/DMA output: kView; kArray
/// with K, a kernel or an input extent of 0 but a non-empty output: a
/// vector fill of the output). Other workloads are left unchanged.
void ResolveZeroExtents(hw::LayerWorkload& w);

/// Layer types with a device lowering (for tests: every kernel type must be
/// in this list).
std::vector<std::string> LoweredLayerTypes();

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_WORKLOAD_H_
