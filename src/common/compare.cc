#include "engine/compare.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/half.h"

namespace engine {
namespace {

double ElementAsDouble(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kFloat32: return t.data_as<float>()[i];
    case DataType::kUint8: return t.data_as<uint8_t>()[i];
    case DataType::kInt8: return t.data_as<int8_t>()[i];
    case DataType::kUint16: return t.data_as<uint16_t>()[i];
    case DataType::kInt16: return t.data_as<int16_t>()[i];
    case DataType::kUint32: return t.data_as<uint32_t>()[i];
    case DataType::kUint64: return static_cast<double>(t.data_as<uint64_t>()[i]);
    case DataType::kInt32: return t.data_as<int32_t>()[i];
    case DataType::kInt64: return static_cast<double>(t.data_as<int64_t>()[i]);
    case DataType::kBool: return t.data_as<uint8_t>()[i] != 0;
    case DataType::kFloat16: return HalfToFloat(t.data_as<uint16_t>()[i]);
    case DataType::kFloat64: return t.data_as<double>()[i];
    case DataType::kBFloat16: return BFloat16ToFloat(t.data_as<uint16_t>()[i]);
    case DataType::kUndefined: return 0;
  }
  return 0;
}

}  // namespace

CompareResult CompareTensors(const Tensor& actual, const Tensor& expected, double rtol,
                             double atol) {
  CompareResult r;
  if (actual.dtype() != expected.dtype()) {
    r.message = absl::StrCat("dtype ", DataTypeName(actual.dtype()), " != expected ",
                             DataTypeName(expected.dtype()));
    return r;
  }
  if (actual.shape() != expected.shape()) {
    r.message = absl::StrCat("shape ", DimsToString(actual.shape()), " != expected ",
                             DimsToString(expected.shape()));
    return r;
  }
  const int64_t n = actual.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    double a = ElementAsDouble(actual, i);
    double e = ElementAsDouble(expected, i);
    if (std::isnan(a) && std::isnan(e)) continue;
    double abs_err = std::fabs(a - e);
    if (std::isinf(a) && std::isinf(e) && (a > 0) == (e > 0)) abs_err = 0;
    if (std::isnan(abs_err)) abs_err = INFINITY;
    r.max_abs_error = std::max(r.max_abs_error, abs_err);
    if (e != 0) r.max_rel_error = std::max(r.max_rel_error, abs_err / std::fabs(e));
    if (abs_err > atol + rtol * std::fabs(e)) {
      if (r.mismatches == 0) {
        r.message = absl::StrCat("element ", i, ": got ", a, ", expected ", e, " (abs err ",
                                 abs_err, ")");
      }
      ++r.mismatches;
    }
  }
  r.passed = r.mismatches == 0;
  if (!r.passed) r.message = absl::StrCat(r.mismatches, " of ", n, " elements differ; first: ", r.message);
  return r;
}

}  // namespace engine
