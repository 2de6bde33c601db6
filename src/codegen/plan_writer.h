// Serializes an optimized graph into the FlatBuffers plan (src/common/plan.fbs).
#ifndef ENGINE_CODEGEN_PLAN_WRITER_H_
#define ENGINE_CODEGEN_PLAN_WRITER_H_

#include <string>

#include "absl/status/statusor.h"
#include "codegen/device_code.h"
#include "ir/graph.h"

namespace engine::codegen {

/// Writes the plan bytes for `graph`: the outer Plan header (file identifier
/// "ENGP", schema version, engine version, CRC-32 of the payload) around the
/// Network payload (tensors with constant data in `code.tensors` order, layers
/// in schedule order with their mappings, inputs and outputs, the hardware
/// description, and the accelerator program). Errors: ResourceExhausted when the plan would exceed
/// FlatBuffers' 2 GiB limit; Internal on an inconsistent graph.
absl::StatusOr<std::string> SerializePlan(const ir::Graph& graph, const DeviceCode& code);

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_PLAN_WRITER_H_
