// Host emulation of a layer that runs in fp16 or bf16 on the accelerator
// (the arithmetic is defined in common/reduced_float.h): a wrapper around the
// layer's FP32 kernel that
//  - decodes the layer's fp16/bf16 constant inputs (weights and biases,
//    stored with 2 bytes per element in the plan) into float32 copies once,
//    at Prepare (exact: every storage value is a float32 value);
//  - rounds every other float32 input to the storage type (RNE) into its
//    scratch before the FP32 kernel reads it (activations at the layer
//    boundary; a no-op on values another fp16/bf16 layer produced);
//  - runs the FP32 kernel (Conv and Gemm see the "precision" attribute and
//    follow the accelerator's accumulation order);
//  - rounds every float32 output to the storage type in place.
// Host activation buffers stay float32 containers of storage values; the
// accelerator model counts them at 2 bytes per element.
#ifndef ENGINE_KERNELS_REDUCED_PRECISION_H_
#define ENGINE_KERNELS_REDUCED_PRECISION_H_

#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/reduced_float.h"
#include "kernels/kernel.h"

namespace engine::kernels {

/// The storage precision a layer runs in: kFp16 or kBf16 when `attrs` has
/// the "precision" attribute (kPrecisionAttr) naming one, nullopt when the
/// attribute is absent. Errors: InvalidArgument for any other value.
absl::StatusOr<std::optional<FloatStorage>> LayerStoragePrecision(const Attributes& attrs);

/// `inner` (the layer type's KernelDef) wrapped for `precision` (kFp16 or
/// kBf16): infer maps fp16/bf16 inputs to float32 descriptors and calls the
/// inner infer; create makes the wrapper kernel described above. With
/// `round_outputs` false (data movement layers: Reshape, Concat, Transpose,
/// ... whose outputs may alias their inputs), outputs are not rounded: data
/// movement does not change values.
KernelDef ReducedPrecisionDef(const KernelDef& inner, FloatStorage precision, bool round_outputs);

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_REDUCED_PRECISION_H_
