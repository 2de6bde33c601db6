// trtexec_like --calibData for several inputs (tools/trtexec_like/int8.cc):
// `name:path` per engine input, samples paired in file order and batched to
// the engine's batch; one directory of <sample>_<input> files; the
// single-path form for one input; the errors naming the input.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "engine/builder.h"
#include "trtexec_like/int8.h"
#include "trtexec_like/options.h"

namespace trtexec_like {
namespace {

namespace fs = std::filesystem;

// Writes a NumPy .npy (format 1.0) of `count` little-endian elements of
// `descr` ("<f4" or "<i8") and shape `shape` from `data`.
void WriteNpy(const fs::path& path, const std::string& descr, const std::vector<int64_t>& shape,
              const void* data, size_t bytes) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  out.write(reinterpret_cast<const char*>(&len), 2);
  out << header;
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

// Folder `a` with `na` float samples [1, 3] (value = sample index) and
// folder `b` with `nb` int64 samples [1, 4] (value = 100 + sample index).
fs::path MakeData(int na, int nb) {
  const fs::path dir = fs::temp_directory_path() /
                       ("calib_data_" + std::to_string(::getpid()) + "_" + std::to_string(na) +
                        "_" + std::to_string(nb));
  fs::remove_all(dir);
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  for (int i = 0; i < na; ++i) {
    const float v[3] = {float(i), float(i), float(i)};
    WriteNpy(dir / "a" / ("s" + std::to_string(i) + ".npy"), "<f4", {1, 3}, v, sizeof(v));
  }
  for (int i = 0; i < nb; ++i) {
    const int64_t v[4] = {100 + i, 100 + i, 100 + i, 100 + i};
    WriteNpy(dir / "b" / ("s" + std::to_string(i) + ".npy"), "<i8", {1, 4}, v, sizeof(v));
  }
  return dir;
}

std::vector<engine::TensorDesc> TwoInputs() {
  return {{"a", engine::DataType::kFloat32, {2, 3}}, {"b", engine::DataType::kInt64, {2, 4}}};
}

absl::Status BeginWith(const std::string& calib_data, const std::vector<engine::TensorDesc>& inputs,
                       Int8Setup& setup) {
  Options opt;
  opt.int8 = true;
  opt.calib_data = calib_data;
  ValidatedOptions v;
  engine::BuilderConfig config;
  ConfigureInt8(opt, v, config, setup);
  REQUIRE(setup.calibrator != nullptr);
  REQUIRE(config.calibrator == setup.calibrator.get());
  return setup.calibrator->Begin(inputs);
}

TEST_CASE("calibData as name:path per input feeds every input with samples paired and batched",
          "[tools][int8]") {
  const fs::path dir = MakeData(3, 3);
  Int8Setup setup;
  absl::Status s = BeginWith("a:" + (dir / "a").string() + ",b:" + (dir / "b").string(),
                             TwoInputs(), setup);
  INFO(s.message());
  REQUIRE(s.ok());
  CHECK(setup.calibrator->BatchCount() == 2);  // 3 samples in batches of 2
  for (int batch = 0; batch < 2; ++batch) {
    std::map<std::string, engine::Tensor> inputs;
    auto more = setup.calibrator->NextBatch(inputs);
    REQUIRE(more.ok());
    REQUIRE(*more);
    REQUIRE(inputs.size() == 2);
    REQUIRE(inputs.at("a").shape() == engine::Dims{2, 3});
    REQUIRE(inputs.at("b").shape() == engine::Dims{2, 4});
    REQUIRE(inputs.at("b").dtype() == engine::DataType::kInt64);
    // Row r of batch k is sample 2k + r of each folder (the last batch
    // repeats its last sample), the same sample for both inputs.
    for (int r = 0; r < 2; ++r) {
      const int sample = std::min(2 * batch + r, 2);
      CHECK(inputs.at("a").data_as<float>()[r * 3] == float(sample));
      CHECK(inputs.at("b").data_as<int64_t>()[r * 4 + 3] == 100 + sample);
    }
  }
  std::map<std::string, engine::Tensor> inputs;
  auto more = setup.calibrator->NextBatch(inputs);
  REQUIRE(more.ok());
  CHECK(!*more);
  CHECK(setup.calibrator->Describe().find("a: 3 tensor samples") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("calibData as one directory of sample_input files pairs the inputs by sample",
          "[tools][int8]") {
  const fs::path dir = fs::temp_directory_path() / ("calib_dir_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (int i = 0; i < 3; ++i) {
    const float a[3] = {float(i), float(i), float(i)};
    const int64_t b[4] = {100 + i, 100 + i, 100 + i, 100 + i};
    WriteNpy(dir / ("s" + std::to_string(i) + "_a.npy"), "<f4", {1, 3}, a, sizeof(a));
    WriteNpy(dir / ("s" + std::to_string(i) + "_b.npy"), "<i8", {1, 4}, b, sizeof(b));
  }
  Int8Setup setup;
  absl::Status s = BeginWith(dir.string(), TwoInputs(), setup);
  INFO(s.message());
  REQUIRE(s.ok());
  CHECK(setup.calibrator->BatchCount() == 2);
  CHECK_THAT(setup.calibrator->Describe(),
             Catch::Contains("3 samples of a, b (one tensor file per input per sample)"));
  std::map<std::string, engine::Tensor> inputs;
  auto more = setup.calibrator->NextBatch(inputs);
  REQUIRE(more.ok());
  REQUIRE(*more);
  CHECK(inputs.at("a").data_as<float>()[3] == 1.0f);       // row 1 = sample s1
  CHECK(inputs.at("b").data_as<int64_t>()[4] == 101);      // the same sample
  // A sample without one input's file.
  fs::remove(dir / "s1_b.npy");
  Int8Setup missing;
  s = BeginWith(dir.string(), TwoInputs(), missing);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(s.message()),
             Catch::StartsWith("--calibData: dataset " + dir.string()) &&
                 Catch::Contains("sample 's1' has no file for input 'b'"));
  fs::remove_all(dir);
}

TEST_CASE("calibData errors name the input and one path still feeds one input",
          "[tools][int8]") {
  const fs::path dir = MakeData(3, 2);
  const std::string a = (dir / "a").string(), b = (dir / "b").string();
  Int8Setup setup;
  SECTION("one path for two inputs") {
    absl::Status s = BeginWith(a, TwoInputs(), setup);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(s.message()),
               Catch::Contains("feeds one input; the network has 2") &&
                   Catch::Contains("<sample>_<input>.pb|.npy") &&
                   Catch::Contains("name:path,name2:path2") &&
                   Catch::Contains("file s0.npy feeds no input"));
  }
  SECTION("an input without data") {
    absl::Status s = BeginWith("a:" + a, TwoInputs(), setup);
    CHECK_THAT(std::string(s.message()), Catch::Contains("no dataset for input 'b'"));
  }
  SECTION("an unknown input name") {
    absl::Status s = BeginWith("a:" + a + ",c:" + b, TwoInputs(), setup);
    CHECK_THAT(std::string(s.message()),
               Catch::Contains("'c:") && Catch::Contains("inputs: a, b"));
  }
  SECTION("an input given twice") {
    absl::Status s = BeginWith("a:" + a + ",a:" + a + ",b:" + b, TwoInputs(), setup);
    CHECK_THAT(std::string(s.message()), Catch::Contains("input 'a' is given twice"));
  }
  SECTION("different sample counts") {
    absl::Status s = BeginWith("a:" + a + ",b:" + b, TwoInputs(), setup);
    CHECK_THAT(std::string(s.message()),
               Catch::Contains("input 'b' has 2 samples but input 'a' has 3"));
  }
  SECTION("the single-input form") {
    absl::Status s = BeginWith(a, {{"a", engine::DataType::kFloat32, {3, 3}}}, setup);
    INFO(s.message());
    REQUIRE(s.ok());
    CHECK(setup.calibrator->BatchCount() == 1);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace trtexec_like
