// The run report reader (tools/trtexec_like/report/schema.h): what it takes
// from a document and how it names what is wrong.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "report_fixtures.h"
#include "trtexec_like/report/schema.h"

namespace trtexec_like {
namespace {

using Json = nlohmann::json;
using testing::MinimalReport;

TEST_CASE("ParseReport reads the fields compare uses", "[tools][report]") {
  Json doc = MinimalReport("m", {{"conv1", {"conv1"}, 2.0}, {"fc", {"fc"}, 0.5}});
  doc["performance"]["host"] = Json{{"iterations", 7},  {"threads", 2},     {"minMs", 1.0},
                                    {"maxMs", 3.0},     {"meanMs", 2.0},    {"medianMs", 1.5},
                                    {"throughputQps", 500.0}};
  auto r = ParseReport(doc.dump(), "a.json");
  REQUIRE(r.ok());
  CHECK(r->path == "a.json");
  CHECK(r->schema_version == kReportSchemaVersion);
  CHECK(r->model_hash == "m");
  CHECK(r->model_hash_of == "onnx");
  CHECK(r->opt_level == 2);
  CHECK(r->hw_spec == "edge");
  CHECK(r->latency_ms == 2.5);
  CHECK(r->cycles == 2500);
  CHECK(r->energy_pj == 1e9);
  CHECK(r->dram_bytes == 4096);
  REQUIRE(r->layers.size() == 2);
  CHECK(r->layers[0].name == "conv1");
  CHECK(r->layers[0].onnx_nodes == std::vector<std::string>{"conv1"});
  CHECK(r->layers[1].time_ms == 0.5);
  CHECK_FALSE(r->layers[1].host_average_ms.has_value());
  REQUIRE(r->host.has_value());
  CHECK(r->host->iterations == 7);
  CHECK(r->host->median_ms == 1.5);
}

TEST_CASE("ParseReport treats null optional fields as absent", "[tools][report]") {
  Json doc = MinimalReport("m", {{"conv1", {"conv1"}, 2.0}});
  doc["build"]["optLevel"] = nullptr;
  doc["build"]["hwSpec"] = nullptr;
  doc["layers"][0]["hostAverageMs"] = 0.25;
  auto r = ParseReport(doc.dump(), "a.json");
  REQUIRE(r.ok());
  CHECK_FALSE(r->opt_level.has_value());
  CHECK(r->hw_spec.empty());
  CHECK_FALSE(r->host.has_value());
  CHECK(r->layers[0].host_average_ms == 0.25);
}

TEST_CASE("ParseReport names the field that is missing or mistyped", "[tools][report]") {
  Json doc = MinimalReport("m", {{"conv1", {"conv1"}, 2.0}});
  SECTION("missing") {
    doc["performance"]["device"].erase("latencyMs");
    auto r = ParseReport(doc.dump(), "a.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(r.status().message(), "a.json: field 'performance.device.latencyMs'"));
    CHECK(absl::StrContains(r.status().message(), "missing"));
  }
  SECTION("wrong type") {
    doc["layers"][0]["cycles"] = "many";
    auto r = ParseReport(doc.dump(), "a.json");
    REQUIRE_FALSE(r.ok());
    CHECK(absl::StrContains(r.status().message(), "layers[0].cycles"));
    CHECK(absl::StrContains(r.status().message(), "expected an integer"));
  }
  SECTION("onnxNodes not strings") {
    doc["layers"][0]["onnxNodes"] = Json::array({1, 2});
    auto r = ParseReport(doc.dump(), "a.json");
    REQUIRE_FALSE(r.ok());
    CHECK(absl::StrContains(r.status().message(), "layers[0].onnxNodes"));
  }
}

TEST_CASE("ParseReport refuses other documents and other schema versions", "[tools][report]") {
  auto not_json = ParseReport("{", "x.json");
  REQUIRE_FALSE(not_json.ok());
  CHECK(absl::StrContains(not_json.status().message(), "x.json: not JSON"));

  auto array = ParseReport("[1, 2]", "x.json");
  REQUIRE_FALSE(array.ok());
  CHECK(absl::StrContains(array.status().message(), "not an engine report"));

  Json doc = MinimalReport("m", {});
  doc["kind"] = "something-else";
  auto kind = ParseReport(doc.dump(), "x.json");
  REQUIRE_FALSE(kind.ok());
  CHECK(absl::StrContains(kind.status().message(), "\"something-else\""));

  doc = MinimalReport("m", {});
  doc["schemaVersion"] = 99;
  auto v99 = ParseReport(doc.dump(), "v99.json");
  REQUIRE_FALSE(v99.ok());
  CHECK(v99.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(v99.status().message(), "schemaVersion 99 is not supported"));
  CHECK(absl::StrContains(v99.status().message(), "written by a newer tool"));

  doc["schemaVersion"] = "1";
  auto text_version = ParseReport(doc.dump(), "x.json");
  REQUIRE_FALSE(text_version.ok());
  CHECK(absl::StrContains(text_version.status().message(), "schemaVersion"));
}

TEST_CASE("ReadReport reads through the file reader and names the file", "[tools][report]") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("engine_tools_schema_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path good = dir / "good.json";
  std::ofstream(good) << MinimalReport("m", {{"conv1", {"conv1"}, 2.0}}).dump();
  auto r = ReadReport(good.string());
  REQUIRE(r.ok());
  CHECK(r->path == good.string());

  auto missing = ReadReport((dir / "missing.json").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(missing.status().message(), "missing.json"));

  std::filesystem::remove_all(dir);
}

// The hardened engine::ReadFileToString (regular files only, never throws;
// issue 16) refuses a directory with an error instead of throwing.
TEST_CASE("ReadReport refuses a directory without throwing", "[tools][report]") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("engine_tools_schema_dir_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  absl::StatusOr<Report> directory = absl::UnknownError("not read");
  CHECK_NOTHROW(directory = ReadReport(dir.string()));
  std::filesystem::remove_all(dir);
  REQUIRE_FALSE(directory.ok());
  CHECK(absl::StrContains(directory.status().message(), dir.string()));
}

}  // namespace
}  // namespace trtexec_like
