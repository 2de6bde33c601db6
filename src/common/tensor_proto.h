// Conversion between onnx::TensorProto and engine::Tensor (used by the parser
// for initializers and by tensor_io for .pb files).
#ifndef ENGINE_COMMON_TENSOR_PROTO_H_
#define ENGINE_COMMON_TENSOR_PROTO_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/tensor.h"
#include "onnx/onnx_pb.h"

namespace engine {

/// ONNX element type code -> DataType; kUndefined when not supported.
DataType DataTypeFromOnnx(int32_t onnx_type);

/// Decodes a TensorProto held in raw_data or in the typed repeated fields.
/// Errors: InvalidArgument (size disagrees with dims, negative dims),
/// Unimplemented (element type, external data, segments).
absl::StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto);

/// Encodes `tensor` with raw_data.
onnx::TensorProto TensorToProto(const Tensor& tensor, const std::string& name);

}  // namespace engine

#endif  // ENGINE_COMMON_TENSOR_PROTO_H_
