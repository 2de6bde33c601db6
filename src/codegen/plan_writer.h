// Serializes an optimized graph into the FlatBuffers plan (src/common/plan.fbs).
#ifndef ENGINE_CODEGEN_PLAN_WRITER_H_
#define ENGINE_CODEGEN_PLAN_WRITER_H_

#include <string>
#include <utility>
#include <vector>

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
/// One input's range in an optimization profile (see plan.fbs ProfileInput).
struct ProfileRange {
  std::string name;
  Dims min, opt, max;
};

/// A shape bucket: the input shapes and the program-only plan built at them.
struct ShapeBucketPlan {
  int profile = 0;
  std::vector<std::pair<std::string, Dims>> shapes;
  std::string plan;
};

/// What a dynamic-shape plan stores besides the fixed-shape fields.
struct DynamicShapes {
  std::vector<std::vector<ProfileRange>> profiles;
  std::vector<ShapeBucketPlan> buckets;
};

/// `dynamic` (nullptr for a fixed-shape engine) adds the profiles and
/// buckets; `program_only` leaves the constants' data out (a shape bucket's
/// plan: tensors, layers, mappings and program only; the runtime does not
/// execute it).
absl::StatusOr<std::string> SerializePlan(const ir::Graph& graph, const DeviceCode& code,
                                          const DynamicShapes* dynamic = nullptr,
                                          bool program_only = false);

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_PLAN_WRITER_H_
