// --best's accuracy guard for fp16 / bf16 layers (builder/float16_guard.h,
// fp16_phase.h): a float layer whose values pass fp16's largest finite value
// (65504) is rejected in fp16 (its isolated output has infinities) and runs
// in bf16 (float32's exponent range) or FP32, with the reason and the
// counters; a layer whose values fit is accepted in fp16.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "absl/strings/match.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "test_models.h"
#include "test_util.h"

namespace engine::testing {
namespace {

constexpr int64_t kIn = 64;

// x [1, 64] -> Gemm (W [8, 64] uniform in [-4, 4]) -> g [1, 8];
// "square" = Mul(g, g) -> y1 (|g| up to ~10^3: squares far above 65504);
// "sig" = Sigmoid(g) -> y2 (in (0, 1)).
std::string OverflowModel() {
  ModelBuilder b;
  std::mt19937 rng(11);
  b.Input("x", {1, kIn});
  b.Initializer("W", RandomTensor({8, kIn}, rng, -4.0f, 4.0f));
  b.Initializer("B", RandomTensor({8}, rng));
  onnx::NodeProto& gemm = b.Node("Gemm", {"x", "W", "B"}, {"g"}, "fc");
  ModelBuilder::SetInt(gemm, "transB", 1);
  b.Node("Mul", {"g", "g"}, {"y1"}, "square");
  b.Node("Sigmoid", {"g"}, {"y2"}, "sig");
  b.Output("y1", {1, 8});
  b.Output("y2", {1, 8});
  return b.Serialize();
}

// `batches` inputs uniform in [-30, 30].
class UniformCalibrator final : public Calibrator {
 public:
  explicit UniformCalibrator(int batches) : batches_(batches) {}
  absl::Status Begin(const std::vector<TensorDesc>&) override { return absl::OkStatus(); }
  absl::StatusOr<bool> NextBatch(std::map<std::string, Tensor>& inputs) override {
    if (served_ == batches_) return false;
    ++served_;
    inputs["x"] = RandomTensor({1, kIn}, rng_, -30.0f, 30.0f);
    return true;
  }
  int64_t BatchCount() const override { return batches_; }

 private:
  int batches_;
  int served_ = 0;
  std::mt19937 rng_{3};
};

const LayerPrecisionInfo* Find(const BuildResult& r, const std::string& layer) {
  for (const LayerPrecisionInfo& l : r.layer_precisions) {
    if (l.layer == layer) return &l;
  }
  return nullptr;
}

const PassSummary* FindPass(const BuildResult& r, const std::string& name) {
  for (const PassSummary& p : r.passes) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

absl::StatusOr<BuildResult> BuildBest(const HardwareConfig& hw, double guard_db) {
  UniformCalibrator calibrator(4);
  BuilderConfig config;
  config.precision = Precision::kInt8;
  config.best = true;
  config.hardware = hw;
  config.calibrator = &calibrator;
  config.accuracy_guard_db = guard_db;
  config.accuracy_guard_samples = 4;
  return Builder().BuildFromOnnxBytes(OverflowModel(), "overflow.onnx", config);
}

std::vector<float> RunY1(const std::string& plan, const Tensor& x) {
  auto eng = Runtime::DeserializeEngine(plan);
  REQUIRE(eng.ok());
  auto ctx = (*eng)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  REQUIRE((*ctx)->SetInput("x", x).ok());
  REQUIRE((*ctx)->Execute().ok());
  return ToVector(**(*ctx)->GetOutput("y1"));
}

TEST_CASE("Best-precision guard rejects fp16 for a layer past 65504 and runs it in bf16, accepts fp16 elsewhere",
          "[e2e][fp16]") {
  auto hw = HardwarePreset("edge");
  REQUIRE(hw.ok());
  hw->energy.mac_fp16_pj = 0.1;  // fp16 the cheaper 16-bit float: tried first
  auto built = BuildBest(*hw, 30.0);
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  const LayerPrecisionInfo* square = Find(*built, "square");
  const LayerPrecisionInfo* sig = Find(*built, "sig");
  REQUIRE(square != nullptr);
  REQUIRE(sig != nullptr);
  CAPTURE(square->reason, sig->reason);
  CHECK(square->precision == Precision::kBf16);
  CHECK(absl::StrContains(square->reason, "fp16 rejected (isolated SQNR -inf dB < 30.0 dB)"));
  CHECK(absl::StrContains(square->reason, "bf16 isolated SQNR"));
  CHECK(sig->precision == Precision::kFp16);
  CHECK(absl::StrContains(sig->reason, "accuracy guard: isolated SQNR"));
  const LayerPrecisionInfo* fc = Find(*built, "fc");
  REQUIRE(fc != nullptr);
  // The Gemm stays float here (its output feeds only float layers) and the
  // float16 guard accepts it in fp16 (products of fp16 values, FP32 sums).
  CAPTURE(fc->reason);
  CHECK(fc->precision == Precision::kFp16);
  CHECK(absl::StrContains(fc->reason, "accuracy guard: isolated SQNR"));
  const PassSummary* pass = FindPass(*built, "float16-accuracy-guard");
  REQUIRE(pass != nullptr);
  CHECK(pass->changed);
  CHECK(pass->counters.at("checked") == 3);
  CHECK(pass->counters.at("accepted.fp16") == 2);
  CHECK(pass->counters.at("accepted.bf16") == 1);
  CHECK(pass->counters.at("rejected.fp16.sqnr-below-threshold") == 1);

  // The guarded engine's squares are finite; without the guard (cost alone)
  // the layer runs in fp16 and its outputs overflow to infinity.
  std::mt19937 rng(99);
  const Tensor x = RandomTensor({1, kIn}, rng, -30.0f, 30.0f);
  const std::vector<float> guarded = RunY1(built->plan, x);
  for (float v : guarded) CHECK(std::isfinite(v));
  auto unguarded = BuildBest(*hw, 0.0);
  REQUIRE(unguarded.ok());
  REQUIRE(Find(*unguarded, "square") != nullptr);
  CHECK(Find(*unguarded, "square")->precision == Precision::kFp16);
  CHECK(FindPass(*unguarded, "float16-accuracy-guard") == nullptr);
  int infinities = 0;
  for (float v : RunY1(unguarded->plan, x)) infinities += std::isinf(v);
  CHECK(infinities > 0);
}

TEST_CASE("Best-precision guard keeps a layer FP32 when every 16-bit float the hardware has is rejected",
          "[e2e][fp16]") {
  auto hw = HardwarePreset("edge");
  REQUIRE(hw.ok());
  hw->precisions = {Precision::kInt8, Precision::kFp16, Precision::kFp32};  // no bf16
  auto built = BuildBest(*hw, 30.0);
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  const LayerPrecisionInfo* square = Find(*built, "square");
  REQUIRE(square != nullptr);
  CAPTURE(square->reason);
  CHECK(square->precision == Precision::kFp32);
  CHECK(absl::StrContains(square->reason, "fp16 rejected (isolated SQNR -inf dB"));
  CHECK(absl::StrContains(square->reason, "runs in fp32"));
  CHECK(Find(*built, "sig")->precision == Precision::kFp16);
  const PassSummary* pass = FindPass(*built, "float16-accuracy-guard");
  REQUIRE(pass != nullptr);
  CHECK(pass->counters.at("fp32.every-16-bit-float-rejected") == 1);
}

}  // namespace
}  // namespace engine::testing
