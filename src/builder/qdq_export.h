// QDQ export (trtexec_like --exportQdq): the calibrated INT8 engine's
// quantization written back into the ORIGINAL ONNX graph as
// QuantizeLinear / DequantizeLinear nodes, so that ONNX Runtime or TensorRT
// (explicit quantization) runs the same quantization, and so that building
// the exported model (builder/explicit_quantization.h) gives the same INT8
// layers as the calibrated build.
//
// Written:
//  - every activation tensor the engine holds in int8 (BuildResult::
//    int8_tensor_scales; scale s, zero point 0, int8): T -> QuantizeLinear ->
//    DequantizeLinear -> T's readers (a graph output keeps its float value);
//  - the float32 initializer weights of every Conv (axis 0), ConvTranspose
//    (axis 1: W [C, M/group, k...], ONNX's per-channel axis for it), MatMul
//    (axis 1) and Gemm (axis 0 with transB = 1, else 1) whose data input is
//    such a tensor: int8 q = clamp(round_half_even(w / s[c]), -127, 127) with
//    s[c] = max|w[c]| / 127 per output channel (a grouped ConvTranspose:
//    per index of axis 1, the largest over the groups; the engine's weight
//    quantization, requant.h) and a per-axis DequantizeLinear; biases stay
//    float32 (the engine re-derives its int32 bias from them, as on the
//    calibrated build);
//  - the default-domain opset raised to 13 when lower (per-axis
//    DequantizeLinear is opset 13), only when every op of the graph has the
//    same semantics at 13 (Conv, MatMul, Gemm, Add, Sub, Mul, Relu, MaxPool,
//    AveragePool, GlobalAveragePool, Reshape, Flatten, Transpose, Concat,
//    Identity, Sigmoid, Tanh).
#ifndef ENGINE_BUILDER_QDQ_EXPORT_H_
#define ENGINE_BUILDER_QDQ_EXPORT_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace engine::builder {

/// The serialized QDQ ModelProto for the model `onnx_bytes` (`name` for
/// messages) and the engine's int8 tensors with their scales (> 0, finite).
/// Errors: InvalidArgument (bytes that do not parse as a ModelProto, a scale
/// not finite and > 0, a scale for a tensor the graph does not have),
/// Unimplemented (an opset below 13 with an op outside the list above,
/// external-data weights), FailedPrecondition (no int8 tensor: not an INT8
/// build).
absl::StatusOr<std::string> ExportQdqModel(const std::string& onnx_bytes, const std::string& name,
                                           const std::map<std::string, float>& int8_tensor_scales);

}  // namespace engine::builder

#endif  // ENGINE_BUILDER_QDQ_EXPORT_H_
