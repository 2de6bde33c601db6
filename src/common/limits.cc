#include "common/limits.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace engine {

std::optional<int64_t> CheckedElementCount(const Dims& dims) {
  int64_t n = 1;
  bool zero = false;
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (d == 0) zero = true;
  }
  if (zero) return 0;  // [0, 2^62, 2^62] is empty, not an overflow
  for (int64_t d : dims) {
    if (d > kMaxRepresentableSize / n) return std::nullopt;
    n *= d;
  }
  return n;
}

std::optional<int64_t> CheckedByteSize(const Dims& dims, DataType dtype) {
  const std::optional<int64_t> n = CheckedElementCount(dims);
  if (!n) return std::nullopt;
  const int64_t e = static_cast<int64_t>(DataTypeSize(dtype));
  if (e > 0 && *n > kMaxRepresentableSize / e) return std::nullopt;
  return *n * e;
}

int64_t SaturatingMul(int64_t a, int64_t b) {
  if (a <= 0 || b <= 0) return 0;
  if (a > kMaxRepresentableSize / b) return kMaxRepresentableSize;
  return a * b;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (a < 0) a = 0;
  if (b < 0) b = 0;
  return a > kMaxRepresentableSize - b ? kMaxRepresentableSize : a + b;
}

std::string LimitFlag(const std::string& limit_name) {
  if (limit_name == "max_tensor_bytes") return "--maxTensorBytes";
  if (limit_name == "max_constant_bytes") return "--maxConstantBytes";
  if (limit_name == "max_instructions") return "--maxInstructions";
  if (limit_name == "max_arena_bytes") return "--maxArenaBytes";
  return std::string(limit_name);
}

absl::Status CheckTensorSize(const std::string& what, const Dims& dims, DataType dtype,
                             int64_t limit, const std::string& limit_name) {
  for (int64_t d : dims) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has a negative dimension in shape [", absl::StrJoin(dims, ","), "]"));
    }
  }
  const std::optional<int64_t> bytes = CheckedByteSize(dims, dtype);
  if (!bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        what, " [", DimsToString(dims), "] ", DataTypeName(dtype),
        " has more than 2^62 bytes (the shape's size overflows)"));
  }
  if (limit > 0 && *bytes > limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        what, " [", DimsToString(dims), "] ", DataTypeName(dtype), " needs ", *bytes,
        " bytes, above the limit of ", limit, " bytes (BuilderConfig::", limit_name, ", ",
        LimitFlag(limit_name), ")"));
  }
  return absl::OkStatus();
}

}  // namespace engine
