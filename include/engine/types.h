// Public element types and tensor descriptors of the engine API.
//
// Layout convention used throughout the API: tensors are dense, row-major
// (C order), with the shape listed outermost dimension first. Image tensors of
// CNN models are NCHW, i.e. shape [N, C, H, W].
#ifndef ENGINE_TYPES_H_
#define ENGINE_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/export.h"

namespace engine {

/// Element type of a tensor. The numeric values equal ONNX's
/// `TensorProto.DataType` codes (onnx.proto), so they can be converted to and
/// from ONNX without a table.
enum class DataType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,   ///< float64 ("double"); storage at model I/O (computed in float32)
  kUint32 = 12,
  kUint64 = 13,
  kBFloat16 = 16,  ///< bfloat16 (the top half of a float32); storage at model I/O
};

/// The DataType whose numeric value (ONNX code) is `code`, or nullopt when no
/// enumerator has that value; kUndefined (0) is returned as such, callers that
/// need a concrete type refuse it. Plans and ONNX files store the code as an
/// integer: this is the one range check (-Wswitch flags a missing case).
constexpr std::optional<DataType> DataTypeFromCode(int64_t code) {
  if (code < INT32_MIN || code > INT32_MAX) return std::nullopt;
  switch (static_cast<DataType>(code)) {
    case DataType::kUndefined:
    case DataType::kFloat32:
    case DataType::kUint8:
    case DataType::kInt8:
    case DataType::kUint16:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
    case DataType::kBool:
    case DataType::kFloat16:
    case DataType::kFloat64:
    case DataType::kUint32:
    case DataType::kUint64:
    case DataType::kBFloat16:
      return static_cast<DataType>(code);
  }
  return std::nullopt;
}

/// Size of one element of `dtype` in bytes; 0 for kUndefined.
ENGINE_API size_t DataTypeSize(DataType dtype);

/// Lower-case name of `dtype` as ONNX spells it ("float", "int8", "int64", ...).
ENGINE_API const char* DataTypeName(DataType dtype);

/// Tensor shape, outermost dimension first. Every dimension of an engine
/// tensor is static (>= 0): dynamic dimensions are pinned at build time.
using Dims = std::vector<int64_t>;

/// Number of elements of a tensor of shape `dims` (1 for a scalar, shape []).
ENGINE_API int64_t NumElements(const Dims& dims);

/// Formats `dims` as "1x3x224x224" (trtexec's --shapes notation); "scalar" for [].
ENGINE_API std::string DimsToString(const Dims& dims);

/// Name, element type and static shape of an engine input or output.
struct ENGINE_API TensorDesc {
  std::string name;
  DataType dtype = DataType::kUndefined;
  Dims shape;

  /// Size of the dense tensor in bytes: NumElements(shape) * DataTypeSize(dtype).
  size_t ByteSize() const;
};

}  // namespace engine

#endif  // ENGINE_TYPES_H_
