// trtexec_like end to end, as a user runs it: exit codes, messages, files.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "engine/runtime.h"
#include "engine/tensor_io.h"
#include "test_models.h"
#include "test_util.h"
#include "cli_util.h"

namespace fs = std::filesystem;
using engine::testing::ModelBuilder;

namespace {

using engine::testing::ReadFile;
using engine::testing::RunResult;
using engine::testing::ReadJson;
using engine::testing::RunCli;
using engine::testing::WriteFile;

fs::path TempDir() { return engine::testing::TempDir("engine_cli_test"); }

const char* kFast = " --iterations=2 --duration=0 --warmUp=0";

// models/out/tiny_cnn.onnx (models/generate.py); generated into `dir` when the
// checkout has none. "" when it cannot be had (the caller skips with a WARN).
std::string TinyCnnModel(const fs::path& dir) {
  const fs::path checked_in = fs::path(ENGINE_SOURCE_DIR) / "models" / "out" / "tiny_cnn.onnx";
  if (fs::exists(checked_in)) return checked_in.string();
  const std::string cmd = "/usr/bin/python3 " + std::string(ENGINE_SOURCE_DIR) +
                          "/models/generate.py --out " + dir.string() + " tiny_cnn >/dev/null 2>&1";
  if (std::system(cmd.c_str()) == 0 && fs::exists(dir / "tiny_cnn.onnx")) {
    return (dir / "tiny_cnn.onnx").string();
  }
  return "";
}

// The cycles of "Device Latency (modeled): X ms (N cycles at F MHz)"; -1 if absent.
int64_t DeviceLatencyCycles(const std::string& output) {
  std::smatch m;
  static const std::regex kLine(
      R"(Device Latency \(modeled\): [0-9.e+-]+ ms \(([0-9]+) cycles at )");
  if (!std::regex_search(output, m, kLine)) return -1;
  return std::stoll(m[1].str());
}

// Rows of the modeled --dumpProfile table: the lines between its header and
// its Total row (inclusive), split into whitespace-separated fields.
std::vector<std::vector<std::string>> ModeledProfileRows(const std::string& output) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(output);
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "=== Profile (modeled device")) {
      in_table = true;
      std::getline(in, line);  // column header
      continue;
    }
    if (!in_table) continue;
    std::istringstream fields(line);
    std::vector<std::string> row;
    for (std::string f; fields >> f;) row.push_back(f);
    rows.push_back(row);
    if (!row.empty() && row.back() == "Total") break;
  }
  return rows;
}


}  // namespace

TEST_CASE("trtexec_like builds, saves, loads and reports", "[e2e][cli]") {
  fs::path dir = TempDir();
  WriteFile(dir / "small.onnx", engine::testing::SmallConvModel());
  RunResult built = RunCli("--onnx=" + (dir / "small.onnx").string() +
                           " --saveEngine=" + (dir / "small.plan").string() + kFast +
                           " --exportOutput=" + (dir / "out").string());
  INFO(built.output);
  REQUIRE(built.exit_code == 0);
  CHECK(absl::StrContains(built.output, "=== Performance summary ==="));
  CHECK(absl::StrContains(built.output, "Host Latency: min = "));
  CHECK(absl::StrContains(built.output, "percentile(90%) = "));
  CHECK(absl::StrContains(built.output, "&&&& PASSED"));
  REQUIRE(fs::exists(dir / "small.plan"));
  REQUIRE(fs::exists(dir / "out" / "y.pb"));

  // The exported output is the reference for a run of the saved plan.
  RunResult loaded = RunCli("--loadEngine=" + (dir / "small.plan").string() + kFast +
                            " --loadRefOutputs=y:" + (dir / "out" / "y.pb").string());
  INFO(loaded.output);
  CHECK(loaded.exit_code == 0);
  CHECK(absl::StrContains(loaded.output, "PASSED output 'y'"));

  // A reference that does not match fails with a non-zero exit.
  engine::Tensor wrong(engine::DataType::kFloat32, {1, 3});
  wrong.data_as<float>()[0] = 1e6f;
  REQUIRE(engine::SaveTensorProtoFile((dir / "wrong.pb").string(), "y", wrong).ok());
  RunResult mismatch = RunCli("--loadEngine=" + (dir / "small.plan").string() + kFast +
                              " --loadRefOutputs=y:" + (dir / "wrong.pb").string());
  CHECK(mismatch.exit_code != 0);
  CHECK(absl::StrContains(mismatch.output, "FAILED output 'y'"));

  // --dumpProfile prints the per-layer table.
  RunResult prof = RunCli("--loadEngine=" + (dir / "small.plan").string() + kFast + " --dumpProfile");
  CHECK(absl::StrContains(prof.output, "Time(ms)"));
  CHECK(absl::StrContains(prof.output, "conv1"));
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like rejects bad input with a clear error and leaves no plan", "[e2e][cli]") {
  fs::path dir = TempDir();
  const std::string good = engine::testing::SmallConvModel();
  const std::string plan = (dir / "out.plan").string();

  SECTION("truncated .onnx") {
    WriteFile(dir / "trunc.onnx", good.substr(0, good.size() / 2));
    RunResult r = RunCli("--onnx=" + (dir / "trunc.onnx").string() + " --saveEngine=" + plan);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(absl::StrContains(r.output, "trunc.onnx: not a valid ONNX model"));
    CHECK_FALSE(fs::exists(plan));
  }
  SECTION("unsupported ops") {
    ModelBuilder b;
    b.Input("x", {1, 4});
    b.Node("Unique", {"x"}, {"a"}, "unique1");
    b.Node("Relu", {"a"}, {"b"});
    b.Node("Multinomial", {"b"}, {"y"}, "multinomial1");
    b.Output("y", {1, 4});
    WriteFile(dir / "unsupported.onnx", b.Serialize());
    RunResult r = RunCli("--onnx=" + (dir / "unsupported.onnx").string() + " --saveEngine=" + plan);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(absl::StrContains(r.output, "2 unsupported ops"));
    CHECK(absl::StrContains(r.output, "node #0 'unique1' (Unique)"));
    CHECK(absl::StrContains(r.output, "node #2 'multinomial1' (Multinomial)"));
    CHECK_FALSE(fs::exists(plan));
  }
  SECTION("missing model file") {
    RunResult r = RunCli("--onnx=" + (dir / "nope.onnx").string());
    CHECK(r.exit_code != 0);
    CHECK(absl::StrContains(r.output, "nope.onnx"));
  }
  SECTION("dynamic shape not pinned, then pinned") {
    WriteFile(dir / "dyn.onnx", engine::testing::SmallConvModel(-1));
    RunResult r = RunCli("--onnx=" + (dir / "dyn.onnx").string() + " --saveEngine=" + plan);
    CHECK(r.exit_code != 0);
    CHECK(absl::StrContains(r.output, "--shapes=x:"));
    CHECK_FALSE(fs::exists(plan));
    RunResult ok = RunCli("--onnx=" + (dir / "dyn.onnx").string() + " --shapes=x:3x2x4x4" + kFast);
    INFO(ok.output);
    CHECK(ok.exit_code == 0);
    CHECK(absl::StrContains(ok.output, "Output 'y': float 3x3"));
  }
  SECTION("truncated and corrupted plans") {
    WriteFile(dir / "small.onnx", good);
    REQUIRE(RunCli("--onnx=" + (dir / "small.onnx").string() + " --saveEngine=" + plan +
                   " --skipInference").exit_code == 0);
    const std::string bytes = ReadFile(plan);
    WriteFile(dir / "trunc.plan", bytes.substr(0, bytes.size() * 2 / 3));
    RunResult t = RunCli("--loadEngine=" + (dir / "trunc.plan").string());
    INFO(t.output);
    CHECK(t.exit_code != 0);
    CHECK(absl::StrContains(t.output, "trunc.plan: plan is truncated or corrupt"));
    std::string flipped = bytes;
    flipped[flipped.size() - 200] ^= 0x10;
    WriteFile(dir / "flipped.plan", flipped);
    RunResult f = RunCli("--loadEngine=" + (dir / "flipped.plan").string());
    INFO(f.output);
    CHECK(f.exit_code != 0);
    CHECK(absl::StrContains(f.output, "flipped.plan: plan is corrupt"));
  }
  SECTION("wrong input shape") {
    WriteFile(dir / "small.onnx", good);
    engine::Tensor x(engine::DataType::kFloat32, {1, 2, 5, 5});
    REQUIRE(engine::SaveTensorProtoFile((dir / "x.pb").string(), "x", x).ok());
    RunResult r = RunCli("--onnx=" + (dir / "small.onnx").string() + " --loadInputs=x:" +
                         (dir / "x.pb").string() + kFast);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(absl::StrContains(r.output, "input 'x': expected shape 1x2x4x4, got 1x2x5x5"));
  }
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like prints the modeled device profile with --skipInference",
          "[e2e][cli][device]") {
  fs::path dir = TempDir();
  const std::string model = TinyCnnModel(dir);
  if (model.empty()) {
    WARN("SKIPPED: models/out/tiny_cnn.onnx missing and models/generate.py failed");
    return;
  }
  RunResult r = RunCli("--onnx=" + model + " --hw=gemmini --skipInference --dumpProfile" +
                       " --exportProfile=" + (dir / "p.json").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "[I] Hardware: gemmini: 16x16 array"));
  CHECK(absl::StrContains(r.output, "=== Modeled device (gemmini) ==="));
  CHECK(absl::StrContains(r.output, "Energy per inference (modeled): "));
  CHECK(absl::StrContains(r.output, "Roofline (modeled): bound "));
  CHECK_FALSE(absl::StrContains(r.output, "Host Latency"));
  const int64_t total_cycles = DeviceLatencyCycles(r.output);
  REQUIRE(total_cycles > 0);

  // One row per layer (views included, with 0 cycles), then Total.
  std::vector<std::vector<std::string>> rows = ModeledProfileRows(r.output);
  REQUIRE(rows.size() >= 3);
  REQUIRE(rows.back().size() >= 3);
  CHECK(rows.back().back() == "Total");
  CHECK(std::stoll(rows.back()[2]) == total_cycles);
  int64_t sum = 0;
  bool saw_conv = false, saw_view = false;
  for (size_t i = 0; i + 1 < rows.size(); ++i) {
    REQUIRE(rows[i].size() >= 10);
    sum += std::stoll(rows[i][2]);
    // The name is the last column; a fused layer's joins its ONNX nodes with
    // " + " (e.g. "/conv1/Conv + /bn1/BatchNormalization + /relu1/Relu").
    for (const std::string& token : rows[i]) saw_conv = saw_conv || token == "/conv1/Conv";
    if (rows[i][7] == "view") {
      saw_view = true;
      CHECK(rows[i][2] == "0");
    }
  }
  CHECK(sum == total_cycles);
  CHECK(saw_conv);
  CHECK(saw_view);

  // Without inference the profile counts one (modeled) inference and has no
  // host times.
  nlohmann::json p = ReadJson(dir / "p.json");
  REQUIRE(p.is_array());
  CHECK(p[0]["count"] == 1);
  CHECK_FALSE(p[1].contains("hostAverageMs"));
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like --exportProfile writes modeled per-layer times in trtexec's shape",
          "[e2e][cli][device]") {
  fs::path dir = TempDir();
  const std::string model = TinyCnnModel(dir);
  if (model.empty()) {
    WARN("SKIPPED: models/out/tiny_cnn.onnx missing and models/generate.py failed");
    return;
  }
  const fs::path file = dir / "profile.json";
  RunResult r = RunCli("--onnx=" + model + " --hw=gemmini" + kFast +
                       " --exportProfile=" + file.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "Host Latency: min = "));
  const int64_t total_cycles = DeviceLatencyCycles(r.output);
  REQUIRE(total_cycles > 0);
  CHECK_FALSE(fs::exists(file.string() + ".tmp"));

  nlohmann::json p = ReadJson(file);
  REQUIRE(p.is_array());
  REQUIRE(p.size() >= 2);
  REQUIRE(p[0].contains("count"));
  const int count = p[0]["count"].get<int>();
  CHECK(count == 2);  // --iterations=2 --duration=0
  const char* keys[] = {"name", "timeMs", "averageMs", "medianMs", "percentage", "cycles",
                        "computeCycles", "stallCycles", "utilization", "mappingEfficiency",
                        "dramBytesRead", "dramBytesWritten", "energyPj", "energyComputePj",
                        "energySramPj", "energyDramPj", "dataflow", "tactic", "tiling", "unit",
                        "type", "rooflineComputeCycles", "rooflineMemoryCycles", "rooflineRatio",
                        "bound", "hostAverageMs"};
  int64_t cycles = 0;
  double percentage = 0;
  for (size_t i = 1; i < p.size(); ++i) {
    const nlohmann::json& l = p[i];
    for (const char* key : keys) {
      INFO("layer " << l.value("name", "?") << " key " << key);
      CHECK(l.contains(key));
    }
    if (!l.contains("cycles") || !l.contains("timeMs") || !l.contains("averageMs")) continue;
    cycles += l["cycles"].get<int64_t>();
    percentage += l["percentage"].get<double>();
    CHECK(l["timeMs"].get<double>() == Approx(l["averageMs"].get<double>() * count));
    CHECK(l["medianMs"].get<double>() == l["averageMs"].get<double>());
    const double energy = l["energyComputePj"].get<double>() + l["energySramPj"].get<double>() +
                          l["energyDramPj"].get<double>();
    CHECK(l["energyPj"].get<double>() == Approx(energy));
  }
  CHECK(cycles == total_cycles);
  CHECK(percentage == Approx(100.0).margin(0.01));

  // An export that cannot be written fails and names the file.
  RunResult bad = RunCli("--onnx=" + model + " --skipInference --exportProfile=" +
                         (dir / "no_such_dir" / "p.json").string());
  CHECK(bad.exit_code != 0);
  CHECK(absl::StrContains(bad.output, "--exportProfile file '" +
                                          (dir / "no_such_dir" / "p.json").string() + "'"));
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like --exportTrace writes a Chrome trace of the modeled timeline",
          "[e2e][cli][device]") {
  fs::path dir = TempDir();
  const std::string model = TinyCnnModel(dir);
  if (model.empty()) {
    WARN("SKIPPED: models/out/tiny_cnn.onnx missing and models/generate.py failed");
    return;
  }
  const fs::path file = dir / "trace.json";
  RunResult r = RunCli("--onnx=" + model + " --hw=gemmini --skipInference --exportTrace=" +
                       file.string() + " --exportProfile=" + (dir / "p.json").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  nlohmann::json t = ReadJson(file);
  REQUIRE(t.is_object());
  REQUIRE(t.contains("traceEvents"));
  REQUIRE(t["traceEvents"].is_array());
  const size_t layers = ReadJson(dir / "p.json").size() - 1;

  std::map<int, std::string> track_names;
  std::map<int, int> complete_per_tid;
  std::map<int, std::vector<std::pair<double, double>>> intervals;  // tid -> [ts, ts + dur)
  int complete = 0;
  for (const nlohmann::json& e : t["traceEvents"]) {
    REQUIRE(e.contains("ph"));
    if (e["ph"] == "M") {
      if (e["name"] == "thread_name") track_names[e["tid"].get<int>()] = e["args"]["name"];
      continue;
    }
    REQUIRE(e["ph"] == "X");
    ++complete;
    INFO(e.dump());
    REQUIRE(e.contains("ts"));
    REQUIRE(e.contains("dur"));
    REQUIRE(e["ts"].is_number());
    REQUIRE(e["dur"].is_number());
    CHECK(e["ts"].get<double>() >= 0);
    CHECK(e["dur"].get<double>() >= 0);
    CHECK(e["pid"] == 1);
    CHECK(e["name"].is_string());
    ++complete_per_tid[e["tid"].get<int>()];
    intervals[e["tid"].get<int>()].emplace_back(e["ts"].get<double>(),
                                                e["ts"].get<double>() + e["dur"].get<double>());
  }
  CHECK(complete > static_cast<int>(layers));
  // Complete events of one track must not overlap (Perfetto draws them wrongly).
  for (auto& [tid, iv] : intervals) {
    std::sort(iv.begin(), iv.end());
    for (size_t i = 1; i < iv.size(); ++i) {
      INFO("track " << track_names[tid] << " event " << i);
      CHECK(iv[i].first >= iv[i - 1].second - 1e-6 * std::max(1.0, iv[i - 1].second));
    }
  }
  std::set<std::string> names;
  int layers_tid = -1;
  for (const auto& [tid, name] : track_names) {
    names.insert(name);
    if (name == "Layers") layers_tid = tid;
  }
  for (const char* track : {"Layers", "DMA load", "DMA store", "Systolic array", "Vector unit"}) {
    CHECK(names.count(track) == 1);
  }
  CHECK(complete_per_tid[layers_tid] == static_cast<int>(layers));
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like --hw overrides pin the dataflow of every array layer",
          "[e2e][cli][device]") {
  fs::path dir = TempDir();
  const std::string model = TinyCnnModel(dir);
  if (model.empty()) {
    WARN("SKIPPED: models/out/tiny_cnn.onnx missing and models/generate.py failed");
    return;
  }
  const fs::path file = dir / "layers.json";
  RunResult r = RunCli("--onnx=" + model +
                       " --hw=gemmini,array=32x32,dataflow=ws,memory=ideal --objective=energy"
                       " --skipInference --dumpLayerInfo --exportLayerInfo=" + file.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "[I] Hardware: gemmini: 32x32 array"));
  CHECK(absl::StrContains(r.output, "tactic: array-ws"));
  nlohmann::json info = ReadJson(file);
  CHECK(absl::StrContains(info["hardware"].get<std::string>(), "32x32"));
  CHECK(info["objective"] == "energy");
  REQUIRE(info["layers"].is_array());
  int array_layers = 0;
  for (const nlohmann::json& l : info["layers"]) {
    INFO(l.dump());
    for (const char* key : {"name", "onnxNodes", "type", "precision", "unit", "tactic", "dataflow",
                            "tiling", "cycles", "estimatedCycles", "energyPj", "inputs", "outputs",
                            "rejected"}) {
      CHECK(l.contains(key));
    }
    if (l["unit"] != "array") continue;
    ++array_layers;
    CHECK(l["dataflow"] == "ws");
    CHECK(l["tactic"] == "array-ws");
  }
  CHECK(array_layers >= 2);  // conv1, conv2, fc
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like checks --hw against a loaded plan", "[e2e][cli][device]") {
  fs::path dir = TempDir();
  const std::string model = TinyCnnModel(dir);
  if (model.empty()) {
    WARN("SKIPPED: models/out/tiny_cnn.onnx missing and models/generate.py failed");
    return;
  }
  const std::string plan = (dir / "gemmini.plan").string();
  RunResult built =
      RunCli("--onnx=" + model + " --hw=gemmini --skipInference --saveEngine=" + plan);
  INFO(built.output);
  REQUIRE(built.exit_code == 0);

  RunResult other = RunCli("--loadEngine=" + plan + " --hw=tpu-v1 --skipInference");
  INFO(other.output);
  CHECK(other.exit_code != 0);
  CHECK(absl::StrContains(other.output, "built for hardware 'gemmini'"));
  CHECK(absl::StrContains(other.output, "tpu-v1"));
  CHECK_FALSE(absl::StrContains(other.output, "Modeled device"));

  RunResult plain = RunCli("--loadEngine=" + plan + kFast);
  INFO(plain.output);
  CHECK(plain.exit_code == 0);
  CHECK(absl::StrContains(plain.output, "[I] Hardware: gemmini: 16x16 array"));
  CHECK(absl::StrContains(plain.output, "=== Modeled device (gemmini) ==="));
  CHECK(DeviceLatencyCycles(plain.output) == DeviceLatencyCycles(built.output));

  RunResult same = RunCli("--loadEngine=" + plan + " --hw=gemmini --skipInference");
  CHECK(same.exit_code == 0);
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like refuses --shapes that a loaded fixed-shape plan cannot run",
          "[e2e][cli]") {
  fs::path dir = TempDir();
  const std::string model = TinyCnnModel(dir);
  if (model.empty()) {
    WARN("SKIPPED: models/out/tiny_cnn.onnx missing and models/generate.py failed");
    return;
  }
  const std::string plan = (dir / "fixed.plan").string();
  RunResult built = RunCli("--onnx=" + model + " --skipInference --saveEngine=" + plan);
  INFO(built.output);
  REQUIRE(built.exit_code == 0);

  RunResult wrong = RunCli("--loadEngine=" + plan + " --shapes=input:1x3x7x7" + kFast);
  INFO(wrong.output);
  CHECK(wrong.exit_code != 0);
  CHECK(absl::StrContains(wrong.output, "input 'input' shape 1x3x7x7"));
  CHECK(absl::StrContains(wrong.output, "built for 1x3x32x32 only"));

  RunResult unknown = RunCli("--loadEngine=" + plan + " --shapes=nope:1x3x32x32" + kFast);
  INFO(unknown.output);
  CHECK(unknown.exit_code != 0);
  CHECK(absl::StrContains(unknown.output, "the engine has no input 'nope' (inputs: input)"));

  RunResult same = RunCli("--loadEngine=" + plan + " --shapes=input:1x3x32x32" + kFast);
  INFO(same.output);
  CHECK(same.exit_code == 0);
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like rejects a bad --hw or --objective", "[e2e][cli][device]") {
  fs::path dir = TempDir();
  WriteFile(dir / "small.onnx", engine::testing::SmallConvModel());
  const std::string model = (dir / "small.onnx").string();

  RunResult preset = RunCli("--onnx=" + model + " --hw=nonexistent --skipInference");
  INFO(preset.output);
  CHECK(preset.exit_code != 0);
  CHECK(absl::StrContains(preset.output, "nonexistent"));
  for (const char* name : {"edge", "gemmini", "tpu-v1"}) {
    CHECK(absl::StrContains(preset.output, name));
  }

  RunResult override_value = RunCli("--onnx=" + model + " --hw=gemmini,array=abc --skipInference");
  INFO(override_value.output);
  CHECK(override_value.exit_code != 0);
  CHECK(absl::StrContains(override_value.output, "array=abc"));

  RunResult objective = RunCli("--onnx=" + model + " --objective=fastest --skipInference");
  INFO(objective.output);
  CHECK(objective.exit_code != 0);
  CHECK(absl::StrContains(objective.output, "--objective"));
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like dumps the IR after a pass, as text and Graphviz", "[e2e][cli]") {
  fs::path dir = TempDir();
  WriteFile(dir / "small.onnx", engine::testing::SmallConvModel());
  const std::string model = (dir / "small.onnx").string();

  RunResult list = RunCli("--listPasses");
  INFO(list.output);
  REQUIRE(list.exit_code == 0);
  CHECK(absl::StrContains(list.output, "fold-constants"));
  CHECK(absl::StrContains(list.output, "eliminate-dead-nodes"));

  RunResult text = RunCli("--onnx=" + model + " --skipInference --dumpIrAfter=fold-constants");
  INFO(text.output);
  REQUIRE(text.exit_code == 0);
  CHECK(absl::StrContains(text.output, "=== IR after fold-constants ==="));
  CHECK(absl::StrContains(text.output, "= Conv(%x"));
  CHECK(absl::StrContains(text.output, "# conv1"));

  const fs::path dot = dir / "g.dot";
  RunResult one = RunCli("--onnx=" + model + " --skipInference --dumpIrAfter=eliminate-dead-nodes" +
                         " --dumpDot=" + dot.string());
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  const std::string graph = ReadFile(dot);
  CHECK(absl::StartsWith(graph, "digraph"));
  CHECK(absl::StrContains(graph, "conv1"));

  // Without --dumpIrAfter, --dumpDot writes one file per pass.
  RunResult all = RunCli("--onnx=" + model + " --skipInference --dumpDot=" + dot.string());
  INFO(all.output);
  REQUIRE(all.exit_code == 0);
  CHECK(fs::exists(dir / "g.fold-constants.dot"));
  CHECK(fs::exists(dir / "g.eliminate-dead-nodes.dot"));

  RunResult unknown = RunCli("--onnx=" + model + " --skipInference --dumpIrAfter=no-such-pass");
  INFO(unknown.output);
  CHECK(unknown.exit_code != 0);
  CHECK(absl::StrContains(unknown.output, "no-such-pass"));
  CHECK(absl::StrContains(unknown.output, "fold-constants"));
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like --threads sets the host threads and keeps the outputs", "[e2e][cli]") {
  fs::path dir = TempDir() / "threads";
  fs::create_directories(dir);
  WriteFile(dir / "small.onnx", engine::testing::SmallConvModel());
  const std::string model = " --onnx=" + (dir / "small.onnx").string() + kFast;
  RunResult one = RunCli(model + " --threads=1 --exportOutput=" + (dir / "one").string());
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  CHECK(absl::StrContains(one.output, "[I] Host threads: 1\n"));
  RunResult two = RunCli(model + " --threads=2 --loadRefOutputs=y:" + (dir / "one" / "y.pb").string() +
                         " --atol=0 --rtol=0");
  INFO(two.output);
  CHECK(two.exit_code == 0);
  CHECK(absl::StrContains(two.output, "[I] Host threads: 2\n"));
  CHECK(absl::StrContains(two.output, "PASSED output 'y'"));
  // The default is the hardware thread count.
  RunResult dflt = RunCli(model);
  CHECK(absl::StrContains(
      dflt.output, "[I] Host threads: " +
                       std::to_string(engine::ExecutionContext::DefaultThreads()) + "\n"));
  RunResult zero = RunCli(model + " --threads=0");
  CHECK(zero.exit_code != 0);
  CHECK(absl::StrContains(zero.output, "--threads"));
  fs::remove_all(dir);
}

TEST_CASE("trtexec_like refuses bad numbers, empty values and duplicate tensors before building",
          "[e2e][cli][hostile]") {
  fs::path dir = TempDir() / "hostile_flags";
  fs::create_directories(dir);
  WriteFile(dir / "small.onnx", engine::testing::SmallConvModel());
  const std::string model = "--onnx=" + (dir / "small.onnx").string();
  struct Case {
    std::string args;
    std::string needle;
  };
  const Case cases[] = {
      {" --duration=-1", "--duration=-1: expected a number of seconds in [0, 86400]"},
      {" --duration=nan", "--duration=nan"},
      {" --duration=1e300", "--duration=1e+300"},
      {" --warmUp=-5", "--warmUp=-5"},
      {" --accuracyGuard=nan", "--accuracyGuard=nan"},
      {" --calibImages=-1", "--calibImages=-1"},
      {" --iterations=0", "--iterations=0"},
      {" --threads=100000", "--threads=100000"},
      {" --passes=,,", "--passes"},
      {" --shapes=x:1x2x4x4,x:1x2x4x4", "--shapes: input 'x' is given twice"},
      {" --loadInputs=x:a.pb,x:b.pb", "--loadInputs: tensor 'x' is given twice"},
      {" --loadInputs= --iterations=1", "--loadInputs: empty value"},
  };
  for (const Case& c : cases) {
    RunResult r = RunCli(model + c.args + " --saveEngine=" + (dir / "out.plan").string());
    INFO(c.args << "\n" << r.output);
    CHECK(r.exit_code == 1);
    CHECK(absl::StrContains(r.output, c.needle));
    CHECK_FALSE(absl::StrContains(r.output, "Building engine"));
    CHECK_FALSE(fs::exists(dir / "out.plan"));
  }
  // A directory given as an input file is an error, never an abort.
  RunResult d = RunCli(model + kFast + " --loadInputs=x:" + dir.string());
  INFO(d.output);
  CHECK(d.exit_code == 1);
  CHECK(absl::StrContains(d.output, "[E] "));
  CHECK(absl::StrContains(d.output, dir.string()));
  fs::remove_all(dir);
}
