// Helpers shared by the tests.
#ifndef ENGINE_TESTS_TEST_UTIL_H_
#define ENGINE_TESTS_TEST_UTIL_H_

#include <string>
#include <vector>

#include "engine/tensor.h"

namespace engine::testing {

/// Absolute path of `rel` under ../shared (the data folder beside the
/// checkout), or "" when that path does not exist.
std::string SharedPath(const std::string& rel);

/// Absolute path of `rel` under Debian's libonnx-testdata, or "" when absent.
std::string OnnxTestDataPath(const std::string& rel);

/// A float32 tensor with the given shape and values (row-major).
Tensor MakeFloat(Dims shape, const std::vector<float>& values);
/// An int64 tensor.
Tensor MakeInt64(Dims shape, const std::vector<int64_t>& values);

/// Float values of a float32 tensor.
std::vector<float> ToVector(const Tensor& t);

}  // namespace engine::testing

#endif  // ENGINE_TESTS_TEST_UTIL_H_
