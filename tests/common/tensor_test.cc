// engine::Tensor built from bytes: the byte count must match the dtype and
// shape exactly (issue 23: no silent truncation or zero-padding).
#include <catch2/catch.hpp>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/tensor.h"

using namespace engine;

namespace {
std::vector<std::byte> FloatBytes(const std::vector<float>& v) {
  std::vector<std::byte> b(v.size() * sizeof(float));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}
}  // namespace

TEST_CASE("Tensor from exactly the right bytes keeps them", "[common]") {
  const auto bytes = FloatBytes({1, 2, 3, 4, 5, 6});
  Tensor t(DataType::kFloat32, {2, 3}, bytes);
  REQUIRE(t.byte_size() == 24);
  CHECK(t.data_as<float>()[5] == 6.0f);
  auto f = Tensor::FromBytes(DataType::kFloat32, {3, 2}, bytes);
  REQUIRE(f.ok());
  CHECK(f->shape() == Dims{3, 2});
  CHECK(f->data_as<float>()[0] == 1.0f);
  // An empty tensor from no bytes.
  CHECK(Tensor::FromBytes(DataType::kFloat32, {0, 3}, {}).ok());
}

TEST_CASE("Tensor from too few or too many bytes is an error naming both sizes", "[common]") {
  const auto five = FloatBytes({1, 2, 3, 4, 5});
  const auto seven = FloatBytes({1, 2, 3, 4, 5, 6, 7});
  for (const auto* bytes : {&five, &seven}) {
    auto f = Tensor::FromBytes(DataType::kFloat32, {2, 3}, *bytes);
    REQUIRE_FALSE(f.ok());
    CHECK(f.status().code() == absl::StatusCode::kInvalidArgument);
    const std::string msg(f.status().message());
    CHECK(msg.find(std::to_string(bytes->size()) + " bytes given") != std::string::npos);
    CHECK(msg.find("needs 24 bytes") != std::string::npos);
    CHECK(msg.find("2x3") != std::string::npos);
    CHECK_THROWS_AS(Tensor(DataType::kFloat32, {2, 3}, *bytes), std::invalid_argument);
  }
  // Bytes for a non-empty tensor given to an empty shape.
  CHECK_FALSE(Tensor::FromBytes(DataType::kInt64, {0}, FloatBytes({1, 2})).ok());
  CHECK_THROWS_WITH(Tensor(DataType::kInt8, {4}, FloatBytes({1, 2})),
                    Catch::Contains("8 bytes given") && Catch::Contains("needs 4 bytes"));
}
