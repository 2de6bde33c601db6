// trtexec_like end to end, as a user runs it: exit codes, messages, files.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "engine/tensor_io.h"
#include "test_models.h"
#include "test_util.h"

namespace fs = std::filesystem;
using engine::testing::ModelBuilder;

namespace {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

RunResult RunCli(const std::string& args) {
  RunResult r;
  const std::string cmd = std::string(ENGINE_TRTEXEC_LIKE) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

fs::path TempDir() {
  fs::path d = fs::temp_directory_path() / ("engine_cli_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

void WriteFile(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const char* kFast = " --iterations=2 --duration=0 --warmUp=0";

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
    b.Node("Erf", {"x"}, {"a"}, "erf1");
    b.Node("Relu", {"a"}, {"b"});
    b.Node("Atan", {"b"}, {"y"}, "atan1");
    b.Output("y", {1, 4});
    WriteFile(dir / "unsupported.onnx", b.Serialize());
    RunResult r = RunCli("--onnx=" + (dir / "unsupported.onnx").string() + " --saveEngine=" + plan);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(absl::StrContains(r.output, "2 unsupported ops"));
    CHECK(absl::StrContains(r.output, "node #0 'erf1' (Erf)"));
    CHECK(absl::StrContains(r.output, "node #2 'atan1' (Atan)"));
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
