// trtexec_like --exportReport, `compare` and `inspect`, run as a user runs
// them: the binary, its exit codes, its output and the JSON it writes.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "cli_util.h"
#include "test_models.h"

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

using engine::testing::ReadFile;
using engine::testing::ReadJson;
using engine::testing::RunResult;
using engine::testing::WriteFile;

RunResult Run(const std::string& args) { return engine::testing::RunCli(args); }

fs::path TempDir() { return engine::testing::TempDir("engine_report_test"); }

// FNV-1a 64 of the file, as the report writes it (16 lowercase hex digits).
std::string Fnv1a64Hex(const fs::path& p) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : ReadFile(p)) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

const char* kFast = " --iterations=2 --duration=0 --warmUp=0";

// The small Conv -> Relu -> Reshape -> Gemm model written to `dir`.
fs::path SmallModel(const fs::path& dir) {
  const fs::path p = dir / "small.onnx";
  WriteFile(p, engine::testing::SmallConvModel());
  return p;
}

// Builds (and with `run`, runs) `model` with --exportReport=`report`.
void ExportReport(const fs::path& model, const fs::path& report, const std::string& flags) {
  RunResult r = Run("--onnx=" + model.string() + " --exportReport=" + report.string() + " " + flags);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(absl::StrContains(r.output, "Run report (schema v1"));
  REQUIRE(fs::exists(report));
}

}  // namespace

TEST_CASE("trtexec_like --exportReport writes a versioned report that compare reads back",
          "[e2e][cli]") {
  const fs::path dir = TempDir();
  const fs::path model = SmallModel(dir);
  const fs::path ran = dir / "ran.json", built = dir / "built.json";
  ExportReport(model, ran, std::string(kFast) + " --saveEngine=" + (dir / "small.plan").string());
  ExportReport(model, built, "--skipInference");

  for (const fs::path& p : {ran, built}) {
    const Json j = ReadJson(p);
    INFO(p.string());
    CHECK(j["kind"] == "engine-report");
    CHECK(j["schemaVersion"] == 1);
    CHECK(j["tool"]["name"] == "trtexec_like");
    CHECK_FALSE(j["engine"]["version"].get<std::string>().empty());
    CHECK(j["model"]["hash"]["algorithm"] == "fnv1a64");
    CHECK(j["model"]["hash"]["of"] == "onnx");
    CHECK(j["model"]["hash"]["value"] == Fnv1a64Hex(model));
    CHECK(j["plan"]["schemaVersion"].get<int>() > 0);
    CHECK(j["plan"]["bytes"].get<int64_t>() > 0);
    CHECK(j["build"]["optLevel"] == 2);
    CHECK(j["build"]["objective"] == "latency");
    CHECK(j["build"]["hwSpec"] == "edge");
    CHECK(j["hardware"]["name"] == "edge");
    CHECK(j["hardware"]["config"]["array"]["rows"] == 32);
    CHECK_FALSE(j["machine"]["hostname"].get<std::string>().empty());
    CHECK_FALSE(j["machine"]["cpuModel"].get<std::string>().empty());
    CHECK(j["machine"]["hardwareConcurrency"].get<int>() > 0);
    const Json& dev = j["performance"]["device"];
    CHECK(dev["latencyMs"].get<double>() > 0);
    CHECK(dev["cycles"].get<int64_t>() > 0);
    CHECK(dev["energyPj"]["total"].get<double>() ==
          Approx(dev["energyPj"]["compute"].get<double>() + dev["energyPj"]["sram"].get<double>() +
                 dev["energyPj"]["dram"].get<double>()));
    CHECK(j["memory"]["arenaBytes"].get<int64_t>() > 0);
    CHECK(j["memory"]["lowerBoundBytes"].get<int64_t>() <= j["memory"]["arenaBytes"].get<int64_t>());
    CHECK(j["memory"]["weightBytes"].get<int64_t>() > 0);
    REQUIRE(j["layers"].is_array());
    REQUIRE_FALSE(j["layers"].empty());
    double sum_ms = 0;
    for (const Json& l : j["layers"]) {
      CHECK_FALSE(l["onnxNodes"].empty());
      CHECK(l["precision"] == "fp32");
      sum_ms += l["timeMs"].get<double>();
    }
    CHECK(sum_ms == Approx(dev["latencyMs"].get<double>()).epsilon(1e-6));
  }

  // Host figures only when inference ran; the modeled ones are the same.
  const Json jr = ReadJson(ran), jb = ReadJson(built);
  CHECK(jb["performance"]["host"].is_null());
  const Json& host = jr["performance"]["host"];
  REQUIRE(host.is_object());
  CHECK(host["iterations"].get<int>() >= 2);
  CHECK(host["medianMs"].get<double>() > 0);
  CHECK(host["minMs"].get<double>() <= host["maxMs"].get<double>());
  CHECK(host["percentiles"].size() == 3);
  CHECK(host["threads"].get<int>() >= 1);
  for (const Json& l : jr["layers"]) CHECK(l["hostAverageMs"].is_number());
  for (const Json& l : jb["layers"]) CHECK(l["hostAverageMs"].is_null());
  CHECK(jr["performance"]["device"]["cycles"] == jb["performance"]["device"]["cycles"]);

  // compare reads both back: same model, ratios 1.
  const fs::path cmp = dir / "cmp.json";
  RunResult c = Run("compare " + ran.string() + " " + built.string() + " --json=" + cmp.string());
  INFO(c.output);
  REQUIRE(c.exit_code == 0);
  CHECK_FALSE(absl::StrContains(c.output, "[W]"));
  CHECK(absl::StrContains(c.output, "=== Summary"));
  const Json cj = ReadJson(cmp);
  CHECK(cj["reports"][1]["latencyRatio"].get<double>() == 1.0);
  for (const Json& g : cj["layers"]) CHECK(g["match"] == "name");

  // A loaded plan is identified by the source model's hash the plan recorded
  // (and its own bytes as planHash), with the recorded build options.
  const fs::path loaded = dir / "loaded.json";
  RunResult l = Run("--loadEngine=" + (dir / "small.plan").string() +
                    " --skipInference --exportReport=" + loaded.string());
  INFO(l.output);
  REQUIRE(l.exit_code == 0);
  const Json lj = ReadJson(loaded);
  CHECK(lj["model"]["hash"]["of"] == "onnx");
  CHECK(lj["model"]["hash"]["value"] == Fnv1a64Hex(model));
  CHECK(lj["model"]["planHash"] == Fnv1a64Hex(dir / "small.plan"));
  CHECK(lj["model"]["source"] == model.filename().string());
  CHECK(lj["build"]["optLevel"] == 2);
  CHECK(lj["build"]["precision"] == "fp32");
  CHECK(lj["build"]["calibrator"].is_null());
  CHECK(lj["performance"]["device"]["cycles"] == jb["performance"]["device"]["cycles"]);
  // ... so compare knows the plan and the ONNX build are the same model.
  RunResult lc = Run("compare " + built.string() + " " + loaded.string());
  INFO(lc.output);
  REQUIRE(lc.exit_code == 0);
  CHECK_FALSE(absl::StrContains(lc.output, "cannot check"));
  CHECK_FALSE(absl::StrContains(lc.output, "different model"));

  // A missing directory fails before building.
  RunResult bad = Run("--onnx=" + model.string() + " --skipInference --exportReport=" +
                      (dir / "no_such_dir" / "r.json").string());
  CHECK(bad.exit_code != 0);
  CHECK(absl::StrContains(bad.output, "--exportReport"));
  CHECK(absl::StrContains(bad.output, "no_such_dir"));
}

TEST_CASE("trtexec_like compare rejects reports of an unknown schema version or kind",
          "[e2e][cli]") {
  const fs::path dir = TempDir();
  const fs::path report = dir / "v1.json";
  ExportReport(SmallModel(dir), report, "--skipInference");

  Json j = ReadJson(report);
  j["schemaVersion"] = 99;
  WriteFile(dir / "v99.json", j.dump());
  RunResult r = Run("compare " + report.string() + " " + (dir / "v99.json").string());
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "v99.json"));
  CHECK(absl::StrContains(r.output, "schemaVersion 99 is not supported"));
  CHECK(absl::StrContains(r.output, "reads schemaVersion 1"));

  j = ReadJson(report);
  j["kind"] = "trace";
  WriteFile(dir / "trace.json", j.dump());
  r = Run("compare " + report.string() + " " + (dir / "trace.json").string());
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "not an engine report"));

  j = ReadJson(report);
  j["performance"]["device"].erase("latencyMs");
  WriteFile(dir / "incomplete.json", j.dump());
  r = Run("compare " + report.string() + " " + (dir / "incomplete.json").string());
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "performance.device.latencyMs"));
}

TEST_CASE("trtexec_like compare prints ratios against the first report and warns",
          "[e2e][cli]") {
  const fs::path dir = TempDir();
  const fs::path model = SmallModel(dir);
  const fs::path edge = dir / "edge.json", gemmini = dir / "gemmini.json";
  ExportReport(model, edge, "--skipInference --hw=edge");
  ExportReport(model, gemmini, "--skipInference --hw=gemmini");
  const double edge_ms = ReadJson(edge)["performance"]["device"]["latencyMs"].get<double>();
  const double gemmini_ms = ReadJson(gemmini)["performance"]["device"]["latencyMs"].get<double>();
  REQUIRE(edge_ms > 0);
  REQUIRE(gemmini_ms != edge_ms);

  const fs::path cmp = dir / "cmp.json";
  RunResult r = Run("compare " + edge.string() + " " + gemmini.string() + " --json=" + cmp.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(absl::StrContains(r.output, "not comparable"));
  // Summary row 2: "2  <latency> (<ratio>x) ...".
  std::smatch m;
  static const std::regex kRow2(R"(\n\s+2\s+([0-9.e+-]+) \(([0-9.e+-]+)x\))");
  REQUIRE(std::regex_search(r.output, m, kRow2));
  CHECK(std::stod(m[1].str()) == Approx(gemmini_ms).epsilon(1e-3));
  CHECK(std::stod(m[2].str()) == Approx(gemmini_ms / edge_ms).epsilon(1e-3));
  const Json cj = ReadJson(cmp);
  CHECK(cj["reports"][1]["latencyRatio"].get<double>() == Approx(gemmini_ms / edge_ms));
  // The per-layer rows are sorted by the largest difference first.
  double prev = 1e300;
  for (const Json& g : cj["layers"]) {
    CHECK(g["maxAbsDiffMs"].get<double>() <= prev);
    prev = g["maxAbsDiffMs"].get<double>();
  }

  // A different model: warned, still compared.
  const fs::path other_model = dir / "batch2.onnx";
  WriteFile(other_model, engine::testing::SmallConvModel(2));
  const fs::path other = dir / "batch2.json";
  ExportReport(other_model, other, "--skipInference");
  r = Run("compare " + edge.string() + " " + other.string());
  CHECK(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "[W] not comparable: [2] is of a different model than [1]"));

  // Host timings from another machine: warned.
  const fs::path ran = dir / "ran.json";
  ExportReport(model, ran, kFast);
  Json j = ReadJson(ran);
  j["machine"]["hostname"] = "elsewhere";
  WriteFile(dir / "elsewhere.json", j.dump());
  r = Run("compare " + ran.string() + " " + (dir / "elsewhere.json").string());
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "come from different machines"));
  CHECK(absl::StrContains(r.output, "Host median(ms)"));
}

TEST_CASE("trtexec_like compare matches fused and unfused layers by their ONNX nodes",
          "[e2e][cli]") {
  const fs::path dir = TempDir();
  const fs::path model = SmallModel(dir);
  const fs::path o0 = dir / "o0.json", o2 = dir / "o2.json";
  ExportReport(model, o0, "--skipInference --optLevel=0");
  ExportReport(model, o2, "--skipInference --optLevel=2");
  const fs::path cmp = dir / "cmp.json";
  RunResult r = Run("compare " + o0.string() + " " + o2.string() + " --json=" + cmp.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);

  const Json cj = ReadJson(cmp);
  bool found = false;
  for (const Json& g : cj["layers"]) {
    if (g["onnxNodes"] != Json{"conv1", "relu1"}) continue;
    found = true;
    CHECK(g["match"] == "onnx");
    CHECK(g["reports"][0]["layers"] == Json{"conv1", "relu1"});
    CHECK(g["reports"][1]["layers"] == Json{"conv1 + relu1"});
    CHECK(g["reports"][0]["timeMs"].get<double>() > 0);
    CHECK(g["reports"][1]["timeMs"].get<double>() > 0);
  }
  CHECK(found);
  // In the table: one row, the unfused pair beside the fused layer.
  CHECK(std::regex_search(r.output, std::regex(R"(onnx \[1\] conv1 \| relu1\n\s+\[2\] conv1 \+ relu1\n)")));
  CHECK(absl::StrContains(r.output, "fusion differs: 1 rows"));
}

TEST_CASE("trtexec_like inspect prints a plan's layers, memory, hardware and versions",
          "[e2e][cli]") {
  const fs::path dir = TempDir();
  const fs::path model = SmallModel(dir), plan = dir / "inspect.plan";
  RunResult b = Run("--onnx=" + model.string() + " --hw=gemmini --skipInference --saveEngine=" +
                    plan.string());
  INFO(b.output);
  REQUIRE(b.exit_code == 0);

  RunResult r = Run("inspect " + plan.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "=== Plan " + plan.string()));
  CHECK(absl::StrContains(r.output, "built by engine "));
  CHECK(absl::StrContains(r.output, "Hardware:      gemmini: 16x16 array"));
  CHECK(absl::StrContains(r.output, "Weights:"));
  CHECK(absl::StrContains(r.output, "Arena:"));
  CHECK(absl::StrContains(r.output, "x: float 1x2x4x4"));
  CHECK(absl::StrContains(r.output, "y: float 1x3"));
  CHECK(absl::StrContains(r.output, "conv1 + relu1"));
  CHECK(absl::StrContains(r.output, "ONNX nodes: conv1, relu1"));
  CHECK(absl::StrContains(r.output, "fp32"));
  CHECK(absl::StrContains(r.output, "array-"));
  CHECK(absl::StrContains(r.output, "tiling: "));
  CHECK(absl::StrContains(r.output, "fc"));

  RunResult missing = Run("inspect " + (dir / "missing.plan").string());
  CHECK(missing.exit_code != 0);
  CHECK(absl::StrContains(missing.output, "missing.plan"));
  WriteFile(dir / "junk.plan", "not a plan");
  RunResult junk = Run("inspect " + (dir / "junk.plan").string());
  CHECK(junk.exit_code != 0);
  CHECK(absl::StrContains(junk.output, "junk.plan"));
}
