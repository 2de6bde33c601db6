#include "executor/kernels/kernel_util.h"

#include <cstring>

#include "absl/strings/str_join.h"

namespace engine::kernels {

absl::StatusOr<Dims> BroadcastShapes(const Dims& a, const Dims& b) {
  size_t rank = std::max(a.size(), b.size());
  Dims out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("shapes [", absl::StrJoin(a, ","), "] and [",
                                                     absl::StrJoin(b, ","),
                                                     "] cannot be broadcast"));
    }
  }
  return out;
}

std::vector<int64_t> RowMajorStrides(const Dims& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

std::vector<int64_t> BroadcastStrides(const Dims& in, const Dims& out) {
  std::vector<int64_t> in_strides = RowMajorStrides(in);
  std::vector<int64_t> s(out.size(), 0);
  size_t offset = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    s[offset + i] = in[i] == 1 ? 0 : in_strides[i];
  }
  return s;
}

absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, bool inclusive_end) {
  int64_t hi = inclusive_end ? rank : rank - 1;
  int64_t lo = inclusive_end ? -rank - 1 : -rank;
  if (axis < lo || axis > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  return axis < 0 ? axis + rank + (inclusive_end ? 1 : 0) : axis;
}

absl::StatusOr<std::vector<int64_t>> ConstantInts(const TensorInfo& info, const std::string& what) {
  if (!info.present || info.constant == nullptr) {
    return absl::UnimplementedError(absl::StrCat(what, " must be a constant tensor"));
  }
  const Tensor& t = *info.constant;
  std::vector<int64_t> out(t.num_elements());
  if (t.dtype() == DataType::kInt64) {
    std::memcpy(out.data(), t.data(), out.size() * sizeof(int64_t));
  } else if (t.dtype() == DataType::kInt32) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = t.data_as<int32_t>()[i];
  } else {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be int64 or int32, got ",
                                                   DataTypeName(t.dtype())));
  }
  return out;
}

absl::Status CheckInputCount(std::span<const TensorInfo> inputs, size_t min, size_t max,
                             const std::string& type) {
  if (inputs.size() < min || inputs.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat(type, " expects ", min, "..", max,
                                                   " inputs, got ", inputs.size()));
  }
  for (size_t i = 0; i < min; ++i) {
    if (!inputs[i].present) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": required input ", i, " is absent"));
    }
  }
  return absl::OkStatus();
}

std::string ShapeString(const Dims& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ","), "]");
}

absl::Status CheckOutputs(std::span<const TensorInfo> outputs,
                          const std::vector<TensorInfo>& expected, const std::string& type) {
  if (outputs.empty()) return absl::OkStatus();
  if (outputs.size() != expected.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": expected ", expected.size(), " outputs, got ", outputs.size()));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].shape != expected[i].shape) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": output ", i, " has shape ",
                                                     ShapeString(outputs[i].shape), ", expected ",
                                                     ShapeString(expected[i].shape)));
    }
    if (outputs[i].dtype != DataType::kUndefined && outputs[i].dtype != expected[i].dtype) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": output ", i, " has dtype ",
                                                     DataTypeName(outputs[i].dtype), ", expected ",
                                                     DataTypeName(expected[i].dtype)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> GetSpatialInts(const Attributes& attrs,
                                                    const std::string& type,
                                                    const std::string& name, size_t n,
                                                    int64_t def, int64_t min) {
  auto v = attrs.GetInts(name, std::vector<int64_t>(n, def));
  if (!v.ok()) return v.status();
  if (v->size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": attribute '", name, "' has ",
                                                   v->size(), " values, expected ", n));
  }
  for (int64_t x : *v) {
    if (x < min) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": attribute '", name, "' value ", x, " must be >= ", min));
    }
  }
  return v;
}

absl::StatusOr<std::string> GetAutoPad(const Attributes& attrs, const std::string& type) {
  auto auto_pad = attrs.GetString("auto_pad", "NOTSET");
  if (!auto_pad.ok()) return auto_pad.status();
  if (auto_pad->empty()) *auto_pad = "NOTSET";
  if (*auto_pad != "NOTSET" && *auto_pad != "SAME_UPPER" && *auto_pad != "SAME_LOWER" &&
      *auto_pad != "VALID") {
    return absl::InvalidArgumentError(absl::StrCat(type, ": unknown auto_pad '", *auto_pad, "'"));
  }
  return auto_pad;
}

int64_t SamePadding(const std::string& auto_pad, int64_t in, int64_t stride,
                    int64_t dilated_kernel, int64_t* pad_begin, int64_t* pad_end) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>(0, (out - 1) * stride + dilated_kernel - in);
  *pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
  *pad_end = total - *pad_begin;
  return out;
}

}  // namespace engine::kernels
