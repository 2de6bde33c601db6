// Reading and writing host tensors in the file formats users already have:
// ONNX TensorProto (`.pb`, as in the ONNX backend test data) and NumPy `.npy`.
#ifndef ENGINE_TENSOR_IO_H_
#define ENGINE_TENSOR_IO_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/export.h"
#include "engine/tensor.h"

namespace engine {

/// A tensor read from a file, with the name stored in it ("" when the format
/// carries none, as for `.npy`).
struct NamedTensor {
  std::string name;
  Tensor tensor;
};

/// Reads a serialized ONNX TensorProto (raw_data or typed fields; float,
/// int8/uint8/int32/int64/bool/float16/bfloat16/double elements;
/// double from double_data or raw_data). External data is not supported.
/// Errors: NotFound (no such file), InvalidArgument (not a TensorProto, or its
/// data size disagrees with its dims), Unimplemented (element type).
ENGINE_API absl::StatusOr<NamedTensor> LoadTensorProtoFile(const std::string& path);

/// Reads a NumPy `.npy` file (format versions 1-3, little-endian, C order;
/// dtypes <f4 <f2 <f8 |i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8 |b1).
/// Errors: NotFound, InvalidArgument (bad header or size), Unimplemented
/// (Fortran order, big-endian or other dtype).
ENGINE_API absl::StatusOr<NamedTensor> LoadNpyFile(const std::string& path);

/// Dispatches on the extension: `.npy` -> LoadNpyFile, anything else ->
/// LoadTensorProtoFile.
ENGINE_API absl::StatusOr<NamedTensor> LoadTensorFile(const std::string& path);

/// Writes `tensor` as an ONNX TensorProto named `name` (raw_data encoding).
/// The file is written to a temporary name and renamed, so a failed write
/// leaves no partial file. Errors: PermissionDenied / Internal on I/O failure.
ENGINE_API absl::Status SaveTensorProtoFile(const std::string& path, const std::string& name,
                                            const Tensor& tensor);

}  // namespace engine

#endif  // ENGINE_TENSOR_IO_H_
