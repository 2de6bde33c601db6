// Which host kernel runs a layer that carries the fp16/bf16 "precision"
// attribute (common/reduced_float.h): the plan reader and the builder's graph
// runner look kernels up through HostKernelDef so that both emulate the same
// arithmetic.
#ifndef ENGINE_OPS_LAYER_PRECISION_H_
#define ENGINE_OPS_LAYER_PRECISION_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "common/attributes.h"
#include "kernels/kernel.h"
#include "ops/op_registry.h"

namespace engine::ops {

/// The host kernel definition of layer `type` with attributes `attrs`: the
/// registry's (FindKernel), wrapped by kernels::ReducedPrecisionDef when
/// `attrs` has an fp16/bf16 "precision" attribute and the layer is not data
/// movement (kDma unit: views and copies, which do not change values and
/// whose outputs may alias their inputs). Errors: NotFound when the type has
/// no host kernel; InvalidArgument for a "precision" value other than fp16 or
/// bf16.
absl::StatusOr<kernels::KernelDef> HostKernelDef(const OpRegistry& registry,
                                                 std::string_view type, const Attributes& attrs);

}  // namespace engine::ops

#endif  // ENGINE_OPS_LAYER_PRECISION_H_
