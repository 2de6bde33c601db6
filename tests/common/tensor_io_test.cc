#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "onnx/onnx_pb.h"

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

TEST_CASE("Hostile tensor files are refused with a specific error naming them", "[common][hostile]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("engine_tio_hostile_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "inputs.pb");
  auto contains = [](const absl::Status& s, const std::string& what) {
    return std::string(s.message()).find(what) != std::string::npos;
  };
  const auto start = std::chrono::steady_clock::now();
  // A directory, a character device, a FIFO without a writer.
  auto d = LoadTensorFile((dir / "inputs.pb").string());
  REQUIRE_FALSE(d.ok());
  CHECK(contains(d.status(), (dir / "inputs.pb").string() + ": is a directory"));
  auto z = LoadTensorFile("/dev/zero");
  REQUIRE_FALSE(z.ok());
  CHECK(contains(z.status(), "/dev/zero: is a character device"));
  const std::string fifo = (dir / "x.npy").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto f = LoadTensorFile(fifo);
  REQUIRE_FALSE(f.ok());
  CHECK(contains(f.status(), fifo + ": is a FIFO"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  // Saving over the FIFO is refused; it stays a FIFO.
  absl::Status save = SaveTensorProtoFile(fifo, "x", testing::MakeFloat({1}, {1}));
  CHECK(contains(save, fifo + ": is a FIFO"));
  struct stat st;
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));

  // .npy shapes whose element count overflows.
  auto npy = [&](const std::string& shape) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>(header.size() >> 8);
    bytes += header;
    const std::string path = (dir / "bomb.npy").string();
    { std::ofstream(path, std::ios::binary) << bytes; }
    return LoadTensorFile(path);
  };
  // 2^32 x 2^32 elements wrap to 0 in 64 bits (and 0 data bytes "match").
  auto wrap = npy("(4294967296, 4294967296)");
  REQUIRE_FALSE(wrap.ok());
  CHECK(contains(wrap.status(), "bomb.npy: not a valid .npy file: shape (4294967296, 4294967296) has more than 2^62 elements"));
  auto big = npy("(4611686018427387904,)");  // 2^62 float32 = 2^64 bytes
  REQUIRE_FALSE(big.ok());
  CHECK(contains(big.status(), "is too large"));

  // A TensorProto declaring 10^12 elements without data: an error, no allocation.
  onnx::TensorProto proto;
  proto.set_name("x");
  proto.set_data_type(onnx::TensorProto::FLOAT);
  proto.add_dims(1000000);
  proto.add_dims(1000000);
  const std::string pb = (dir / "bomb.pb").string();
  { std::ofstream(pb, std::ios::binary) << proto.SerializeAsString(); }
  auto p = LoadTensorFile(pb);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(contains(p.status(), "tensor 'x': holds 0 elements but its shape 1000000x1000000 needs 1000000000000"));
  proto.set_raw_data("abcd");
  { std::ofstream(pb, std::ios::binary) << proto.SerializeAsString(); }
  auto r = LoadTensorFile(pb);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status(), "raw_data has 4 bytes, shape 1000000x1000000 needs 4000000000000"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("CompareTensors applies atol + rtol*|expected|", "[common]") {
  Tensor a = testing::MakeFloat({3}, {1.0f, 2.0f, 3.0f});
  Tensor b = testing::MakeFloat({3}, {1.0f, 2.001f, 3.0f});
  CHECK_FALSE(CompareTensors(a, b, 1e-4, 0).passed);
  CHECK(CompareTensors(a, b, 1e-3, 0).passed);
  Tensor c = testing::MakeFloat({1, 3}, {1.0f, 2.0f, 3.0f});
  CHECK_FALSE(CompareTensors(a, c, 1, 1).passed);
}

TEST_CASE("float64 tensors load from .pb (double_data, raw_data) and .npy '<f8'", "[common]") {
  const std::vector<double> values = {0.1, -1e300, 1.0 + 0x1p-40, -0.0};
  const std::filesystem::path dir = std::filesystem::temp_directory_path();
  const std::string tag = std::to_string(::getpid());
  auto check = [&](const NamedTensor& t) {
    REQUIRE(t.tensor.dtype() == DataType::kFloat64);
    CHECK(t.tensor.shape() == Dims{2, 2});
    for (size_t i = 0; i < values.size(); ++i) {
      const double got = t.tensor.data_as<double>()[i];
      CHECK(std::memcmp(&got, &values[i], 8) == 0);  // bit-exact, -0.0 included
    }
  };
  SECTION("SaveTensorProtoFile (raw_data) round trip") {
    Tensor t(DataType::kFloat64, {2, 2});
    std::memcpy(t.data(), values.data(), 32);
    const std::string path = (dir / ("engine_tio_f64_" + tag + ".pb")).string();
    REQUIRE(SaveTensorProtoFile(path, "d", t).ok());
    auto loaded = LoadTensorFile(path);
    std::filesystem::remove(path);
    REQUIRE(loaded.ok());
    CHECK(loaded->name == "d");
    check(*loaded);
    CHECK(CompareTensors(loaded->tensor, t, 0, 0).passed);
  }
  SECTION("double_data") {
    onnx::TensorProto p;
    p.set_name("d");
    p.set_data_type(onnx::TensorProto::DOUBLE);
    p.add_dims(2);
    p.add_dims(2);
    for (double v : values) p.add_double_data(v);
    const std::string path = (dir / ("engine_tio_f64_dd_" + tag + ".pb")).string();
    { std::ofstream(path, std::ios::binary) << p.SerializeAsString(); }
    auto loaded = LoadTensorFile(path);
    REQUIRE(loaded.ok());
    check(*loaded);
    p.add_double_data(1.0);  // five values for four elements
    { std::ofstream(path, std::ios::binary) << p.SerializeAsString(); }
    auto bad = LoadTensorFile(path);
    std::filesystem::remove(path);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION(".npy '<f8'") {
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>(header.size() >> 8);
    bytes += header;
    bytes.append(reinterpret_cast<const char*>(values.data()), 32);
    const std::string path = (dir / ("engine_tio_f64_" + tag + ".npy")).string();
    { std::ofstream(path, std::ios::binary) << bytes; }
    auto loaded = LoadTensorFile(path);
    std::filesystem::remove(path);
    REQUIRE(loaded.ok());
    check(*loaded);
  }
}
