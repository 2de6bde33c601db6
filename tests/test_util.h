// Helpers shared by the tests.
#ifndef ENGINE_TESTS_TEST_UTIL_H_
#define ENGINE_TESTS_TEST_UTIL_H_

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/tensor.h"

namespace engine::testing {

/// Absolute path of `rel` under ../shared (the data folder beside the
/// checkout), or "" when that path does not exist.
std::string SharedPath(const std::string& rel);

/// The nine ImageNet models of ../shared/models/onnx_light (files
/// <name>.onnx, <name>_input_0.pb, <name>_output_0.pb).
inline constexpr const char* kOnnxLightModels[] = {
    "light_bvlc_alexnet", "light_densenet121", "light_inception_v1",
    "light_inception_v2", "light_resnet50",    "light_shufflenet",
    "light_squeezenet",   "light_vgg19",       "light_zfnet512"};

/// Absolute path of `rel` under Debian's libonnx-testdata, or "" when absent.
std::string OnnxTestDataPath(const std::string& rel);

/// A float32 tensor with the given shape and values (row-major).
Tensor MakeFloat(Dims shape, const std::vector<float>& values);
/// An int64 tensor.
Tensor MakeInt64(Dims shape, const std::vector<int64_t>& values);

/// Float values of a float32 tensor.
std::vector<float> ToVector(const Tensor& t);

/// A float32 tensor of uniform random values in [lo, hi) drawn from `rng`.
Tensor RandomTensor(const Dims& shape, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f);

/// A tensor of `dtype` holding `values` (sizeof(T) must match the dtype).
template <typename T>
Tensor MakeTyped(DataType dtype, Dims shape, const std::vector<T>& values) {
  Tensor t(dtype, std::move(shape));
  REQUIRE(values.size() * sizeof(T) == t.byte_size());
  if (!values.empty()) std::memcpy(t.data(), values.data(), t.byte_size());
  return t;
}

/// The elements of `t` read as T.
template <typename T>
std::vector<T> Values(const Tensor& t) {
  const T* p = t.data_as<T>();
  return std::vector<T>(p, p + t.num_elements());
}

}  // namespace engine::testing

#endif  // ENGINE_TESTS_TEST_UTIL_H_
