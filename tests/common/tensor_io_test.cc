#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "engine/compare.h"
#include "engine/tensor_io.h"
#include "test_util.h"

using namespace engine;

TEST_CASE("TensorProto round trip keeps name, dtype, shape and bytes", "[common]") {
  Tensor t = testing::MakeFloat({2, 3}, {1, 2, 3, 4, 5, -6.5f});
  std::string path = (std::filesystem::temp_directory_path() / "engine_tio_test.pb").string();
  REQUIRE(SaveTensorProtoFile(path, "x", t).ok());
  auto loaded = LoadTensorFile(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->name == "x");
  CHECK(loaded->tensor.shape() == Dims{2, 3});
  CHECK(CompareTensors(loaded->tensor, t, 0, 0).passed);
  std::filesystem::remove(path);
}

TEST_CASE("Loading a missing tensor file is NotFound naming the path", "[common]") {
  auto r = LoadTensorFile("/nonexistent/dir/x.pb");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(r.status().message()).find("/nonexistent/dir/x.pb") != std::string::npos);
}

TEST_CASE("Reads .npy written by NumPy's format", "[common]") {
  // np.save of np.arange(6, dtype=np.float32).reshape(2, 3)
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  for (int i = 0; i < 6; ++i) {
    float f = static_cast<float>(i);
    bytes.append(reinterpret_cast<const char*>(&f), 4);
  }
  std::string path = (std::filesystem::temp_directory_path() / "engine_tio_test.npy").string();
  { std::ofstream(path, std::ios::binary) << bytes; }
  auto loaded = LoadTensorFile(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->tensor.shape() == Dims{2, 3});
  CHECK(testing::ToVector(loaded->tensor) == std::vector<float>{0, 1, 2, 3, 4, 5});
  // Truncated data is rejected.
  { std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 3); }
  auto bad = LoadTensorFile(path);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  std::filesystem::remove(path);
}

TEST_CASE("CompareTensors applies atol + rtol*|expected|", "[common]") {
  Tensor a = testing::MakeFloat({3}, {1.0f, 2.0f, 3.0f});
  Tensor b = testing::MakeFloat({3}, {1.0f, 2.001f, 3.0f});
  CHECK_FALSE(CompareTensors(a, b, 1e-4, 0).passed);
  CHECK(CompareTensors(a, b, 1e-3, 0).passed);
  Tensor c = testing::MakeFloat({1, 3}, {1.0f, 2.0f, 3.0f});
  CHECK_FALSE(CompareTensors(a, c, 1, 1).passed);
}
