#include "engine/tensor_io.h"

#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/tensor_proto.h"
#include "onnx/onnx_pb.h"

namespace engine {

absl::StatusOr<NamedTensor> LoadTensorProtoFile(const std::string& path) {
  ENGINE_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a valid ONNX TensorProto"));
  }
  auto tensor = TensorFromProto(proto);
  if (!tensor.ok()) return Annotate(tensor.status(), path);
  return NamedTensor{proto.name(), std::move(tensor).value()};
}

absl::StatusOr<NamedTensor> LoadNpyFile(const std::string& path) {
  ENGINE_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a valid .npy file: ", why));
  };
  // Format: "\x93NUMPY" major minor, header length (u16 for v1, u32 for v2/3),
  // then a Python dict literal header padded to 64 bytes, then the data.
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return bad("bad magic");
  uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return bad("truncated header");
    uint32_t len;
    std::memcpy(&len, bytes.data() + 8, 4);
    header_len = len;
    offset = 12;
  } else {
    return bad(absl::StrCat("unsupported version ", major));
  }
  if (offset + header_len > bytes.size()) return bad("truncated header");
  std::string header = bytes.substr(offset, header_len);
  auto field = [&](const std::string& key) -> std::string {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) return "";
    size_t colon = header.find(':', k);
    if (colon == std::string::npos) return "";
    size_t start = header.find_first_not_of(' ', colon + 1);
    if (start == std::string::npos) return "";
    size_t end;
    if (header[start] == '(') {
      end = header.find(')', start);
      if (end == std::string::npos) return "";
      return header.substr(start, end - start + 1);
    }
    end = header.find_first_of(",}", start);
    return header.substr(start, end - start);
  };
  std::string descr(absl::StripSuffix(absl::StripPrefix(field("descr"), "'"), "'"));
  std::string fortran = field("fortran_order");
  std::string shape_str = field("shape");
  if (descr.empty() || fortran.empty() || shape_str.empty()) return bad("incomplete header");
  if (fortran != "False") {
    return absl::UnimplementedError(absl::StrCat(path, ": Fortran-order .npy is not supported"));
  }
  DataType dtype;
  if (descr == "<f4") dtype = DataType::kFloat32;
  else if (descr == "<f2") dtype = DataType::kFloat16;
  else if (descr == "<f8") dtype = DataType::kFloat64;
  else if (descr == "|i1") dtype = DataType::kInt8;
  else if (descr == "|u1") dtype = DataType::kUint8;
  else if (descr == "<i4") dtype = DataType::kInt32;
  else if (descr == "<i8") dtype = DataType::kInt64;
  else if (descr == "<i2") dtype = DataType::kInt16;
  else if (descr == "<u2") dtype = DataType::kUint16;
  else if (descr == "<u4") dtype = DataType::kUint32;
  else if (descr == "<u8") dtype = DataType::kUint64;
  else if (descr == "|b1") dtype = DataType::kBool;
  else return absl::UnimplementedError(absl::StrCat(path, ": unsupported .npy dtype '", descr, "'"));
  Dims shape;
  std::string inner(absl::StripSuffix(absl::StripPrefix(shape_str, "("), ")"));
  for (absl::string_view part : absl::StrSplit(inner, ',', absl::SkipWhitespace())) {
    int64_t d;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &d) || d < 0) {
      return bad(absl::StrCat("bad shape ", shape_str));
    }
    shape.push_back(d);
  }
  size_t data_offset = offset + header_len;
  // Overflow-checked: a hostile shape must not wrap around to the data size.
  uint64_t count = 1;
  for (int64_t d : shape) {
    const uint64_t ud = static_cast<uint64_t>(d);
    if (ud != 0 && count > (uint64_t{1} << 62) / ud) {
      return bad(absl::StrCat("shape ", shape_str, " has more than 2^62 elements"));
    }
    count *= ud;
  }
  if (count > (uint64_t{1} << 62) / DataTypeSize(dtype)) {
    return bad(absl::StrCat("shape ", shape_str, " is too large"));
  }
  size_t expected = static_cast<size_t>(count) * DataTypeSize(dtype);
  if (bytes.size() - data_offset != expected) {
    return bad(absl::StrCat("data has ", bytes.size() - data_offset, " bytes, shape ",
                            DimsToString(shape), " needs ", expected));
  }
  Tensor t(dtype, shape,
           std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()) + data_offset,
                                      expected));
  return NamedTensor{"", std::move(t)};
}

absl::StatusOr<NamedTensor> LoadTensorFile(const std::string& path) {
  if (absl::EndsWith(path, ".npy")) return LoadNpyFile(path);
  return LoadTensorProtoFile(path);
}

absl::Status SaveTensorProtoFile(const std::string& path, const std::string& name,
                                 const Tensor& tensor) {
  onnx::TensorProto proto = TensorToProto(tensor, name);
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrCat(path, ": cannot serialize tensor '", name, "'"));
  }
  return WriteFileAtomically(path, bytes);
}

}  // namespace engine
