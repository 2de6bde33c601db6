#include "common/tensor_proto.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace engine {

DataType DataTypeFromOnnx(int32_t onnx_type) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT: return DataType::kFloat32;
    case onnx::TensorProto::UINT8: return DataType::kUint8;
    case onnx::TensorProto::INT8: return DataType::kInt8;
    case onnx::TensorProto::UINT16: return DataType::kUint16;
    case onnx::TensorProto::INT16: return DataType::kInt16;
    case onnx::TensorProto::UINT32: return DataType::kUint32;
    case onnx::TensorProto::UINT64: return DataType::kUint64;
    case onnx::TensorProto::INT32: return DataType::kInt32;
    case onnx::TensorProto::INT64: return DataType::kInt64;
    case onnx::TensorProto::BOOL: return DataType::kBool;
    case onnx::TensorProto::FLOAT16: return DataType::kFloat16;
    case onnx::TensorProto::DOUBLE: return DataType::kFloat64;
    case onnx::TensorProto::BFLOAT16: return DataType::kBFloat16;
    default: return DataType::kUndefined;
  }
}

absl::StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto) {
  DataType dtype = DataTypeFromOnnx(proto.data_type());
  const std::string what = absl::StrCat("tensor '", proto.name(), "'");
  if (dtype == DataType::kUndefined) {
    return absl::UnimplementedError(
        absl::StrCat(what, ": element type ", proto.data_type(), " (",
                     onnx::TensorProto_DataType_Name(proto.data_type()), ") is not supported"));
  }
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    return absl::UnimplementedError(absl::StrCat(what, ": external data is not supported"));
  }
  if (proto.has_segment()) {
    return absl::UnimplementedError(absl::StrCat(what, ": segmented tensors are not supported"));
  }
  Dims shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape) {
    if (d < 0) return absl::InvalidArgumentError(absl::StrCat(what, ": negative dimension"));
  }
  // The element count and byte size, overflow-checked, are compared with the
  // data the proto holds before the tensor is allocated, so a hostile shape
  // (e.g. [1e6, 1e6] with no data) is an error, not an allocation.
  uint64_t count = 1;
  for (int64_t d : shape) {
    const uint64_t ud = static_cast<uint64_t>(d);
    if (ud != 0 && count > (uint64_t{1} << 62) / ud) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": shape ", DimsToString(shape),
                                                     " has more than 2^62 elements"));
    }
    count *= ud;
  }
  const size_t n = static_cast<size_t>(count);
  const size_t bytes = n * DataTypeSize(dtype);  // n <= 2^62: checked below
  if (n != 0 && bytes / n != DataTypeSize(dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": shape ", DimsToString(shape), " is too large"));
  }
  auto size_error = [&](size_t got) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": holds ", got,
                                                   " elements but its shape ",
                                                   DimsToString(shape), " needs ", n));
  };
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": raw_data has ",
                                                     proto.raw_data().size(), " bytes, shape ",
                                                     DimsToString(shape), " needs ", bytes));
    }
  } else {
    size_t held = 0;
    switch (dtype) {
      case DataType::kFloat32: held = static_cast<size_t>(proto.float_data_size()); break;
      case DataType::kInt64: held = static_cast<size_t>(proto.int64_data_size()); break;
      case DataType::kFloat64: held = static_cast<size_t>(proto.double_data_size()); break;
      case DataType::kUint32:
      case DataType::kUint64: held = static_cast<size_t>(proto.uint64_data_size()); break;
      default: held = static_cast<size_t>(proto.int32_data_size()); break;
    }
    if (held != n) return size_error(held);
  }
  Tensor t(dtype, shape);
  if (proto.has_raw_data()) {
    if (t.byte_size() > 0) std::memcpy(t.data(), proto.raw_data().data(), t.byte_size());
    return t;
  }
  switch (dtype) {
    case DataType::kFloat32:
      std::copy(proto.float_data().begin(), proto.float_data().end(), t.data_as<float>());
      break;
    case DataType::kInt64:
      std::copy(proto.int64_data().begin(), proto.int64_data().end(), t.data_as<int64_t>());
      break;
    case DataType::kFloat64:
      std::copy(proto.double_data().begin(), proto.double_data().end(), t.data_as<double>());
      break;
    case DataType::kUint32:  // ONNX stores uint32 and uint64 in uint64_data
      std::copy(proto.uint64_data().begin(), proto.uint64_data().end(), t.data_as<uint32_t>());
      break;
    case DataType::kUint64:
      std::copy(proto.uint64_data().begin(), proto.uint64_data().end(), t.data_as<uint64_t>());
      break;
    case DataType::kInt32:
    case DataType::kInt8:
    case DataType::kUint16:
    case DataType::kInt16:
    case DataType::kUint8:
    case DataType::kBool:
    case DataType::kFloat16:
    case DataType::kBFloat16: {
      // ONNX stores these in int32_data (float16/bfloat16 as their bit pattern).
      for (size_t i = 0; i < n; ++i) {
        int32_t v = proto.int32_data(static_cast<int>(i));
        switch (dtype) {
          case DataType::kInt32: t.data_as<int32_t>()[i] = v; break;
          case DataType::kInt8: t.data_as<int8_t>()[i] = static_cast<int8_t>(v); break;
          case DataType::kInt16: t.data_as<int16_t>()[i] = static_cast<int16_t>(v); break;
          case DataType::kUint16:
          case DataType::kFloat16:
          case DataType::kBFloat16: t.data_as<uint16_t>()[i] = static_cast<uint16_t>(v); break;
          default: t.data_as<uint8_t>()[i] = static_cast<uint8_t>(v); break;
        }
      }
      break;
    }
    case DataType::kUndefined:
      break;
  }
  return t;
}

onnx::TensorProto TensorToProto(const Tensor& tensor, const std::string& name) {
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(static_cast<int32_t>(tensor.dtype()));
  for (int64_t d : tensor.shape()) proto.add_dims(d);
  proto.set_raw_data(tensor.data(), tensor.byte_size());
  return proto;
}

}  // namespace engine
