#include "test_util.h"

#include <cstring>
#include <filesystem>

namespace engine::testing {

std::string SharedPath(const std::string& rel) {
  std::filesystem::path p = std::filesystem::path(ENGINE_SHARED_DIR) / rel;
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) return "";
  return std::filesystem::weakly_canonical(p, ec).string();
}

std::string OnnxTestDataPath(const std::string& rel) {
  std::filesystem::path p = std::filesystem::path(ENGINE_ONNX_TESTDATA_DIR) / rel;
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) return "";
  return p.string();
}

Tensor MakeFloat(Dims shape, const std::vector<float>& values) {
  Tensor t(DataType::kFloat32, std::move(shape));
  const size_t n = std::min(values.size() * 4, t.byte_size());
  if (n > 0) std::memcpy(t.data(), values.data(), n);  // no null pointers to memcpy
  return t;
}

Tensor MakeInt64(Dims shape, const std::vector<int64_t>& values) {
  Tensor t(DataType::kInt64, std::move(shape));
  const size_t n = std::min(values.size() * 8, t.byte_size());
  if (n > 0) std::memcpy(t.data(), values.data(), n);  // no null pointers to memcpy
  return t;
}

std::vector<float> ToVector(const Tensor& t) {
  const float* p = t.data_as<float>();
  return std::vector<float>(p, p + t.num_elements());
}

Tensor RandomTensor(const Dims& shape, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(NumElements(shape));
  for (float& f : v) f = dist(rng);
  return MakeFloat(shape, v);
}

}  // namespace engine::testing
