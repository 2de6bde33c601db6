// trtexec_like flags of issue 23 ("Runtime API for services" / CLI), as a user
// runs them: --version, the subcommands in --help, inspect MODEL.onnx,
// --exportTimes, --dumpOutput, --infStreams, and --loadInputs /
// --loadRefOutputs names checked before the build.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "cli_util.h"
#include "test_models.h"
#include "test_util.h"

namespace fs = std::filesystem;
using engine::testing::ModelBuilder;
using engine::testing::ReadJson;
using engine::testing::RunCli;
using engine::testing::RunResult;
using engine::testing::WriteFile;

namespace {
const char* kFast = " --iterations=4 --duration=0 --warmUp=0";
fs::path TempDir() { return engine::testing::TempDir("engine_cli_runtime_flags_test"); }
}  // namespace

TEST_CASE("trtexec_like --version prints the versions, --help lists compare and inspect", "[e2e][cli]") {
  RunResult v = RunCli("--version");
  INFO(v.output);
  CHECK(v.exit_code == 0);
  CHECK(absl::StrContains(v.output, "trtexec_like 0."));
  CHECK(absl::StrContains(v.output, "plan schema v"));
  RunResult h = RunCli("--help");
  INFO(h.output);
  CHECK(h.exit_code == 0);
  CHECK(absl::StrContains(h.output, "trtexec_like compare REPORT REPORT..."));
  CHECK(absl::StrContains(h.output, "trtexec_like inspect PLAN|MODEL.onnx"));
  for (const char* flag : {"--exportTimes", "--dumpOutput", "--infStreams", "--version"}) {
    CHECK(absl::StrContains(h.output, flag));
  }
}

TEST_CASE("trtexec_like inspect MODEL.onnx: inputs, outputs, opsets, op histogram, unsupported ops",
          "[e2e][cli]") {
  const fs::path dir = TempDir();
  WriteFile(dir / "small.onnx", engine::testing::SmallConvModel());
  RunResult r = RunCli("inspect " + (dir / "small.onnx").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "=== Inputs (1) ===\n  x: float [1, 2, 4, 4]"));
  CHECK(absl::StrContains(r.output, "opsets: ai.onnx "));
  CHECK(absl::StrContains(r.output, "=== Ops ("));
  CHECK(absl::StrContains(r.output, "  Conv\n"));
  CHECK(absl::StrContains(r.output, "Unsupported by the engine: none"));

  ModelBuilder b;
  b.Input("x", {1, 4});
  b.Node("Unique", {"x"}, {"a"}, "unique1");
  b.Node("Relu", {"a"}, {"b"});
  b.Node("Relu", {"b"}, {"y"});
  b.Output("y", {1, 4});
  WriteFile(dir / "unsupported.onnx", b.Serialize());
  r = RunCli("inspect " + (dir / "unsupported.onnx").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "       2  Relu\n"));
  CHECK(absl::StrContains(r.output, "Unsupported by the engine (1 nodes)"));
  CHECK(absl::StrContains(r.output, "node 0 'unique1' (Unique)"));

  WriteFile(dir / "junk.onnx", std::string("\x01\x02not a model", 13));
  r = RunCli("inspect " + (dir / "junk.onnx").string());
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "junk.onnx' is not an ONNX model"));
}

TEST_CASE("trtexec_like --loadInputs and --loadRefOutputs names are checked before the build", "[e2e][cli]") {
  const fs::path dir = TempDir();
  WriteFile(dir / "small.onnx", engine::testing::SmallConvModel());
  const std::string model = (dir / "small.onnx").string();
  RunResult r = RunCli("--onnx=" + model + " --loadInputs=nope:" + model + kFast);
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "--loadInputs: model '" + model + "' has no input named 'nope'; its inputs are: 'x'"));
  CHECK_FALSE(absl::StrContains(r.output, "Building engine"));
  r = RunCli("--onnx=" + model + " --loadRefOutputs=nope:" + model + kFast);
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "has no output named 'nope'"));
  CHECK_FALSE(absl::StrContains(r.output, "Building engine"));
  // The same for a plan, before anything runs.
  REQUIRE(RunCli("--onnx=" + model + " --skipInference --saveEngine=" + (dir / "s.plan").string())
              .exit_code == 0);
  r = RunCli("--loadEngine=" + (dir / "s.plan").string() + " --loadInputs=nope:" + model + kFast);
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "plan '"));
  CHECK(absl::StrContains(r.output, "has no input named 'nope'"));
  CHECK_FALSE(absl::StrContains(r.output, "Performance summary"));
}

TEST_CASE("trtexec_like --exportTimes, --dumpOutput and --infStreams", "[e2e][cli]") {
  const fs::path dir = TempDir();
  WriteFile(dir / "small.onnx", engine::testing::SmallConvModel());
  const std::string model = (dir / "small.onnx").string();
  const std::string times = (dir / "times.json").string();
  RunResult r = RunCli("--onnx=" + model + kFast + " --exportTimes=" + times + " --dumpOutput");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  nlohmann::json t = ReadJson(times);
  REQUIRE(t.is_array());
  CHECK(t.size() >= 4);
  double previous = -1;
  for (const auto& row : t) {
    for (const char* key : {"startEnqMs", "endEnqMs", "startComputeMs", "endComputeMs", "computeMs",
                            "latencyMs", "h2dMs", "d2hMs"}) {
      REQUIRE(row.contains(key));
    }
    CHECK(row["endComputeMs"].get<double>() >= row["startComputeMs"].get<double>());
    CHECK(row["startComputeMs"].get<double>() >= previous);
    previous = row["startComputeMs"].get<double>();
  }
  CHECK(absl::StrContains(r.output, "=== Output Tensors ==="));
  CHECK(absl::StrContains(r.output, "Per-iteration times written to"));

  r = RunCli("--onnx=" + model + " --iterations=40 --duration=0.3 --warmUp=0 --infStreams=3 --exportTimes=" + times);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.output, "[I] Inference streams: 3 contexts on 3 threads"));
  CHECK(absl::StrContains(r.output, "(aggregate over 3 streams)"));
  t = ReadJson(times);
  CHECK(t.size() >= 40);
  std::set<int> streams;
  for (const auto& row : t) streams.insert(row["stream"].get<int>());
  CHECK(streams.size() == 3);

  r = RunCli("--onnx=" + model + kFast + " --infStreams=0");
  CHECK(r.exit_code != 0);
  CHECK(absl::StrContains(r.output, "--infStreams"));
}
