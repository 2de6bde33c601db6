// trtexec_like --hwSweep / --exportReportDir, `compare --html` and the
// --verbose build phases, run as a user runs them: the binary, its exit codes,
// its output and the files it writes. (tests/e2e/html_report.sh renders the
// page in headless Chromium.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cli_util.h"
#include "test_models.h"
#include "test_util.h"

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

using engine::testing::ReadFile;
using engine::testing::ReadJson;
using engine::testing::RunResult;
using engine::testing::WriteFile;

RunResult Run(const std::string& args) { return engine::testing::RunCli(args); }

fs::path TempDir() { return engine::testing::TempDir("engine_sweep_html_test"); }

// Conv 16->64 -> Relu -> Conv 64->64 -> Relu on 16x16: enough MACs per layer
// that the array size shows in the modeled latency.
fs::path ConvModel(const fs::path& dir) {
  engine::testing::ModelBuilder b;
  std::mt19937 rng(7);
  b.Input("x", {1, 16, 16, 16});
  b.Initializer("w1", engine::testing::RandomTensor({64, 16, 3, 3}, rng));
  b.Initializer("w2", engine::testing::RandomTensor({64, 64, 3, 3}, rng));
  auto& c1 = b.Node("Conv", {"x", "w1"}, {"c1"}, "conv1");
  engine::testing::ModelBuilder::SetInts(c1, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c1"}, {"r1"}, "relu1");
  auto& c2 = b.Node("Conv", {"r1", "w2"}, {"c2"}, "conv2");
  engine::testing::ModelBuilder::SetInts(c2, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c2"}, {"y"}, "relu2");
  b.Output("y", {1, 64, 16, 16});
  const fs::path p = dir / "conv.onnx";
  WriteFile(p, b.Serialize());
  return p;
}

fs::path SmallModel(const fs::path& dir) {
  const fs::path p = dir / "small.onnx";
  WriteFile(p, engine::testing::SmallConvModel());
  return p;
}

void ExportReport(const fs::path& model, const fs::path& report, const std::string& flags) {
  RunResult r = Run("--onnx=" + model.string() + " --exportReport=" + report.string() + " " + flags);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(fs::exists(report));
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

std::string Escaped(const std::string& s) {
  return absl::StrReplaceAll(s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"},
                                 {"'", "&#39;"}});
}

}  // namespace

TEST_CASE("trtexec_like --hwSweep writes one report per configuration and compares them",
          "[e2e][cli]") {
  const fs::path dir = TempDir();
  const fs::path model = ConvModel(dir);
  const fs::path out = dir / "sweep";  // created by the tool
  fs::remove_all(out);
  RunResult r = Run("--onnx=" + model.string() +
                    " --hwSweep='bandwidth=6.4|51.2;array=8x8|16x16|32x32' --exportReportDir=" +
                    out.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "Hardware sweep: 6 configurations of --hw=edge"));
  CHECK(absl::StrContains(r.output, "[6/6] --hw=edge,dram_bw=51.2,array=32x32"));
  CHECK(absl::StrContains(r.output, "=== Summary"));
  CHECK(absl::StrContains(r.output, "=== Per-layer modeled time"));
  CHECK_FALSE(absl::StrContains(r.output, "[W]"));  // same model and engine throughout

  // The first axis varies slowest; file names carry the values in sweep order.
  const std::vector<std::pair<std::string, int>> expected = {
      {"6.4", 8}, {"6.4", 16}, {"6.4", 32}, {"51.2", 8}, {"51.2", 16}, {"51.2", 32}};
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(out)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() == expected.size());
  std::map<std::pair<std::string, int>, double> latency;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [bw, side] = expected[i];
    const std::string dims = absl::StrCat(side, "x", side);
    INFO(files[i].string());
    CHECK(files[i].filename() ==
          absl::StrCat("p0", i + 1, "_dram_bw-", bw, "_array-", dims, ".json"));
    const Json j = ReadJson(files[i]);
    CHECK(j["kind"] == "engine-report");
    CHECK(j["build"]["hwSpec"] == absl::StrCat("edge,dram_bw=", bw, ",array=", dims));
    CHECK(j["hardware"]["config"]["array"]["rows"] == side);
    CHECK(j["hardware"]["config"]["array"]["cols"] == side);
    // edge runs at 800 MHz: GB/s * 1000 / 800 bytes per cycle.
    CHECK(j["hardware"]["config"]["dram"]["bytes_per_cycle"].get<double>() ==
          Approx(std::stod(bw) * 1000 / 800));
    CHECK(j["performance"]["host"].is_null());  // build only
    CHECK(absl::StrContains(j["command"].get<std::string>(), "--hwSweep"));
    latency[{bw, side}] = j["performance"]["device"]["latencyMs"].get<double>();
    // The summary table lists every configuration by its --hw.
    CHECK(absl::StrContains(r.output, j["build"]["hwSpec"].get<std::string>()));
  }
  // A bigger array is faster at a fixed bandwidth; more bandwidth never hurts.
  for (const std::string bw : {"6.4", "51.2"}) {
    INFO("dram_bw " << bw);
    CHECK(latency[{bw, 8}] > latency[{bw, 16}]);
    CHECK(latency[{bw, 16}] > latency[{bw, 32}]);
  }
  for (int side : {8, 16, 32}) CHECK(latency[{"51.2", side}] <= latency[{"6.4", side}]);

  // The reports are ordinary reports: compare reads them back.
  std::string args = "compare";
  for (const fs::path& f : files) args += " " + f.string();
  RunResult c = Run(args);
  INFO(c.output);
  CHECK(c.exit_code == 0);
}

TEST_CASE("trtexec_like --hwSweep rejects a malformed spec naming the bad item", "[e2e][cli]") {
  const fs::path dir = TempDir();
  const fs::path model = SmallModel(dir);
  const fs::path out = dir / "bad_sweep";
  fs::remove_all(out);
  auto sweep = [&](const std::string& spec, const std::string& extra = "") {
    return Run("--onnx=" + model.string() + " --hwSweep='" + spec + "' --exportReportDir=" +
               out.string() + " " + extra);
  };
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"array=16x16|banana;dram_bw=8", {"--hwSweep item 'array=16x16|banana'", "banana", "RxC"}},
      {"array16x16", {"--hwSweep item 'array16x16'", "KEY=VALUE"}},
      {"array=16x16;frobnicate=1|2", {"--hwSweep item 'frobnicate=1|2'", "unknown hardware override"}},
      {"array=16x16||32x32", {"--hwSweep item 'array=16x16||32x32'", "empty value"}},
      {"dram_bw=8;bandwidth=16", {"--hwSweep item 'bandwidth=16'", "swept twice"}},
      {"dram_bw=-3", {"--hwSweep item 'dram_bw=-3'", "GB/s"}},
      {";", {"--hwSweep", "no KEY=VALUE"}},
  };
  for (const auto& [spec, needles] : cases) {
    RunResult r = sweep(spec);
    INFO(spec << "\n" << r.output);
    CHECK(r.exit_code != 0);
    for (const std::string& n : needles) CHECK(absl::StrContains(r.output, n));
    CHECK_FALSE(absl::StrContains(r.output, "Hardware sweep:"));  // nothing built
  }
  CHECK_FALSE(fs::exists(out));

  RunResult r = sweep("array=16x16|32x32", "--exportReport=" + (dir / "r.json").string());
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "--exportReportDir"));
  r = sweep("array=16x16|32x32", "--saveEngine=" + (dir / "p.plan").string());
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "--saveEngine cannot be used with it"));
  r = Run("--onnx=" + model.string() + " --skipInference --exportReportDir=" + out.string());
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "--exportReportDir is used with --hwSweep"));
}

TEST_CASE("trtexec_like compare --html writes a self-contained page with both reports",
          "[e2e][cli]") {
  const fs::path dir = TempDir();
  const fs::path model = SmallModel(dir);
  const fs::path edge = dir / "edge.json", gemmini = dir / "gemmini.json";
  ExportReport(model, edge, "--skipInference --hw=edge");
  ExportReport(model, gemmini, "--skipInference --hw=gemmini");
  // A layer name with markup in it must come out as text.
  const std::string hostile = "fc<script>alert(\"x\")</script>&'";
  for (const fs::path& p : {edge, gemmini}) {
    Json j = ReadJson(p);
    for (Json& l : j["layers"]) {
      if (l["name"] == "fc") l["name"] = hostile;
    }
    WriteFile(p, j.dump(2));
  }

  const fs::path page = dir / "page.html", cmp = dir / "cmp.json";
  RunResult r = Run("compare " + edge.string() + " " + gemmini.string() + " --html=" +
                    page.string() + " --json=" + cmp.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "HTML comparison written to " + page.string()));
  REQUIRE(fs::exists(page));
  CHECK_FALSE(fs::exists(page.string() + ".tmp"));
  const std::string html = ReadFile(page);
  const Json cj = ReadJson(cmp);

  CHECK(absl::StartsWith(html, "<!DOCTYPE html>"));
  CHECK(absl::StrContains(html, "[1] edge.json"));
  CHECK(absl::StrContains(html, "[2] gemmini.json"));
  // Self-contained: no scripts, stylesheets or URLs.
  CHECK_FALSE(absl::StrContains(html, "<script"));
  CHECK_FALSE(absl::StrContains(html, "<link"));
  CHECK_FALSE(absl::StrContains(html, "http://"));
  CHECK_FALSE(absl::StrContains(html, "https://"));
  CHECK(absl::StrContains(html, Escaped(hostile)));
  // Warnings first (none here), then summary, charts and the per-layer table.
  CHECK(absl::StrContains(html, "No comparability warnings"));
  CHECK(html.find("id=\"warnings\"") < html.find("id=\"summary\""));
  CHECK(Count(html, "<svg class=\"chart\"") == 3);
  CHECK(Count(html, "<tr class=\"report\"") == 2);
  // No host timings: the host chart says so.
  CHECK(absl::StrContains(html, "No report has host timings"));

  // One row per layer group, in the order of --json (largest difference first).
  REQUIRE(cj["layers"].size() > 1);
  CHECK(Count(html, "<tr class=\"layer ") == cj["layers"].size());
  size_t last = 0;
  for (const Json& g : cj["layers"]) {
    const std::string name = g["reports"][0]["layers"][0].get<std::string>();
    const size_t at = html.find("<td class=\"lname\">" + Escaped(name) + "</td>");
    INFO(name);
    CHECK(at != std::string::npos);
    CHECK(at > last);
    last = at;
  }
  // The ratio of the summary's latency, as compare prints it.
  const double ratio = cj["reports"][1]["latencyRatio"].get<double>();
  char buf[32];
  std::snprintf(buf, sizeof(buf), "(%.4gx)", ratio);
  CHECK(absl::StrContains(html, buf));

  // Different models: the warning is at the top of the page.
  const fs::path other_model = dir / "batch2.onnx", other = dir / "batch2.json";
  WriteFile(other_model, engine::testing::SmallConvModel(2));
  ExportReport(other_model, other, "--skipInference");
  const fs::path page2 = dir / "page2.html";
  r = Run("compare " + edge.string() + " " + other.string() + " --html=" + page2.string());
  REQUIRE(r.exit_code == 0);
  const std::string html2 = ReadFile(page2);
  const size_t warn = html2.find("<li class=\"warning\">not comparable: [2] is of a different model");
  CHECK(warn != std::string::npos);
  CHECK(warn < html2.find("id=\"summary\""));

  // Host timings in one report only: its distribution is drawn, the other says why not.
  const fs::path ran = dir / "ran.json";
  ExportReport(model, ran, "--iterations=5 --duration=0 --warmUp=0");
  const fs::path page3 = dir / "page3.html";
  r = Run("compare " + ran.string() + " " + edge.string() + " --html=" + page3.string());
  REQUIRE(r.exit_code == 0);
  const std::string html3 = ReadFile(page3);
  CHECK(Count(html3, "no host timings (built with --skipInference)") == 1);
  CHECK(Count(html3, "class=\"box\"") == 1);
  CHECK(Count(html3, "class=\"range\"") == 1);
  CHECK(absl::StrContains(html3, "p99"));

  // An unwritable destination names --html and the file.
  r = Run("compare " + edge.string() + " " + gemmini.string() + " --html=" +
          (dir / "no_such_dir" / "p.html").string());
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "--html"));
  CHECK(absl::StrContains(r.output, "no_such_dir"));
}

TEST_CASE("trtexec_like --verbose explains every build phase with its time", "[e2e][cli]") {
  const fs::path dir = TempDir();
  RunResult r = Run("--onnx=" + SmallModel(dir).string() + " --skipInference --verbose");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "[V] Build phases (host wall time):"));
  CHECK(std::regex_search(r.output, std::regex(R"(\[V\]   parse +[0-9.]+ ms  .*: 4 nodes)")));
  CHECK(std::regex_search(r.output,
                          std::regex(R"(\[V\]   optimize +[0-9.]+ ms  ran \d+ passes.*-> \d+ nodes)")));
  CHECK(std::regex_search(r.output,
                          std::regex(R"(\[V\]   codegen +[0-9.]+ ms  mapped \d+ layers.*: \d+ bytes)")));
  CHECK(std::regex_search(r.output, std::regex(R"(\[V\]   total +[0-9.]+ ms)")));
}
