// Numerical comparison of tensors, as used by --loadRefOutputs and the tests.
#ifndef ENGINE_COMPARE_H_
#define ENGINE_COMPARE_H_

#include <cstdint>
#include <string>

#include "engine/export.h"
#include "engine/tensor.h"

namespace engine {

/// Outcome of CompareTensors.
struct CompareResult {
  bool passed = false;
  /// Largest |actual - expected| over all elements.
  double max_abs_error = 0.0;
  /// Largest |actual - expected| / |expected| over elements with expected != 0.
  double max_rel_error = 0.0;
  /// Number of elements outside the tolerance.
  int64_t mismatches = 0;
  /// Empty when passed; otherwise the dtype/shape difference or the first
  /// mismatching element with its index and both values.
  std::string message;
};

/// Compares `actual` with `expected` elementwise: an element passes when
/// |actual - expected| <= atol + rtol * |expected| (numpy.isclose, the rule
/// of the ONNX backend test runner). NaN equals NaN. Elements are compared
/// as double for every dtype. dtype and shape must match exactly.
ENGINE_API CompareResult CompareTensors(const Tensor& actual, const Tensor& expected,
                                        double rtol, double atol);

}  // namespace engine

#endif  // ENGINE_COMPARE_H_
