// The INT8 accuracy guard on Int8Attention (builder/int8_phase.h): the fused
// attention layer is run alone in int8 on the calibration samples against
// its FP32 output; below the threshold it stays FP32 Attention with the
// reason naming the SQNR, otherwise it runs as Int8Attention; the
// "int8-accuracy-guard" entry of BuildResult::passes counts both.
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

constexpr int64_t kHeads = 2, kSeq = 8, kHead = 16;

// q, k, v [1, 2, 8, 16], mask [1, 1, 1, 8] -> Transpose(k) -> MatMul -> Div
// sqrt(16) -> Add mask -> Softmax -> MatMul v -> y: fuse-attention makes one
// Attention layer of it.
std::string AttentionModel() {
  ModelBuilder b;
  const std::vector<int64_t> qkv = {1, kHeads, kSeq, kHead};
  b.Input("q", qkv);
  b.Input("k", qkv);
  b.Input("v", qkv);
  b.Input("mask", {1, 1, 1, kSeq});
  b.Initializer("c", MakeFloat({}, {4.0f}));
  ModelBuilder::SetInts(b.Node("Transpose", {"k"}, {"kt"}, "key_t"), "perm", {0, 1, 3, 2});
  b.Node("MatMul", {"q", "kt"}, {"s"}, "scores");
  b.Node("Div", {"s", "c"}, {"sc"}, "scale");
  b.Node("Add", {"sc", "mask"}, {"sm"}, "add_mask");
  ModelBuilder::SetInt(b.Node("Softmax", {"sm"}, {"p"}, "softmax"), "axis", -1);
  b.Node("MatMul", {"p", "v"}, {"y"}, "context");
  b.Output("y", qkv);
  return b.Serialize();
}

// Standard-normal Q, K, V (scores with a standard deviation of about 1 after
// the 1/4 scale) and a mask hiding 0-3 trailing keys (-10000). With
// `outlier`, one query element per sample is 200: a min-max scale for Q
// then leaves the other queries one or two int8 steps.
class AttentionCalibrator final : public Calibrator {
 public:
  AttentionCalibrator(int batches, bool outlier) : batches_(batches), outlier_(outlier) {}
  absl::Status Begin(const std::vector<TensorDesc>&) override { return absl::OkStatus(); }
  absl::StatusOr<bool> NextBatch(std::map<std::string, Tensor>& inputs) override {
    if (served_ == batches_) return false;
    ++served_;
    std::normal_distribution<float> normal;
    for (const char* name : {"q", "k", "v"}) {
      Tensor t(DataType::kFloat32, {1, kHeads, kSeq, kHead});
      for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<float>()[i] = normal(rng_);
      if (outlier_ && name[0] == 'q') t.data_as<float>()[served_ % t.num_elements()] = 200.0f;
      inputs[name] = std::move(t);
    }
    Tensor m(DataType::kFloat32, {1, 1, 1, kSeq});
    const int64_t hidden = served_ % 4;
    for (int64_t j = 0; j < kSeq; ++j) m.data_as<float>()[j] = j >= kSeq - hidden ? -10000.0f : 0.0f;
    inputs["mask"] = std::move(m);
    return true;
  }
  int64_t BatchCount() const override { return batches_; }

 private:
  int batches_;
  bool outlier_;
  int served_ = 0;
  std::mt19937 rng_{18};
};

absl::StatusOr<BuildResult> BuildGuarded(bool outlier, double guard_db) {
  AttentionCalibrator calibrator(8, outlier);
  BuilderConfig config;
  config.precision = Precision::kInt8;
  config.calibrator = &calibrator;
  config.calibration_algorithm = CalibrationAlgorithm::kMinMax;
  config.accuracy_guard_db = guard_db;
  config.accuracy_guard_samples = 8;
  return Builder().BuildFromOnnxBytes(AttentionModel(), "attention.onnx", config);
}

// The one layer that is (Int8)Attention.
const LayerPrecisionInfo* AttentionLayer(const BuildResult& r) {
  const LayerPrecisionInfo* found = nullptr;
  for (const LayerPrecisionInfo& l : r.layer_precisions) {
    if (l.type == "Attention" || l.type == "Int8Attention") {
      REQUIRE(found == nullptr);
      found = &l;
    }
  }
  return found;
}

const PassSummary* FindPass(const BuildResult& r, const std::string& name) {
  for (const PassSummary& p : r.passes) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

int64_t Counter(const PassSummary& p, const std::string& key) {
  auto it = p.counters.find(key);
  return it == p.counters.end() ? 0 : it->second;
}

TEST_CASE("INT8 accuracy guard accepts an Int8Attention above the threshold", "[e2e][int8]") {
  auto built = BuildGuarded(/*outlier=*/false, 20.0);
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  const LayerPrecisionInfo* attn = AttentionLayer(*built);
  REQUIRE(attn != nullptr);
  CAPTURE(attn->type, attn->reason, attn->sqnr_db);
  CHECK(attn->type == "Int8Attention");
  CHECK(attn->precision == Precision::kInt8);
  CHECK(attn->reason.empty());
  // Q, K, V at 8 bits, unnormalized exponentials at 1/127 and the output
  // rounded to its min-max scale: measured 30-40 dB (int8_attention_test:
  // 38.7 dB without the output rounding).
  CHECK(attn->sqnr_db >= 20.0);
  CHECK(attn->sqnr_db < 60.0);
  const PassSummary* pass = FindPass(*built, "int8-accuracy-guard");
  REQUIRE(pass != nullptr);
  CHECK_FALSE(pass->changed);
  CHECK(Counter(*pass, "checked") == 1);
  CHECK(Counter(*pass, "checked.Int8Attention") == 1);
  CHECK(Counter(*pass, "accepted.Int8Attention") == 1);
  CHECK(Counter(*pass, "rejected.Int8Attention.sqnr-below-threshold") == 0);

  // The same data with a threshold above the measured SQNR: rejected, FP32
  // Attention, the reason naming the SQNR and the threshold.
  auto strict = BuildGuarded(false, 70.0);
  REQUIRE(strict.ok());
  const LayerPrecisionInfo* kept = AttentionLayer(*strict);
  REQUIRE(kept != nullptr);
  CAPTURE(kept->reason);
  CHECK(kept->type == "Attention");
  CHECK(kept->precision == Precision::kFp32);
  CHECK(kept->sqnr_db == Approx(attn->sqnr_db).margin(1e-9));
  CHECK(absl::StrContains(kept->reason, "accuracy guard: isolated INT8 SQNR"));
  CHECK(absl::StrContains(kept->reason, "dB < 70.0 dB"));
  const PassSummary* strict_pass = FindPass(*strict, "int8-accuracy-guard");
  REQUIRE(strict_pass != nullptr);
  CHECK(strict_pass->changed);
  CHECK(Counter(*strict_pass, "rejected.Int8Attention.sqnr-below-threshold") == 1);
  CHECK(Counter(*strict_pass, "accepted.Int8Attention") == 0);

  // Without the guard: Int8Attention, no SQNR measured, no guard entry.
  auto unguarded = BuildGuarded(false, 0.0);
  REQUIRE(unguarded.ok());
  REQUIRE(AttentionLayer(*unguarded) != nullptr);
  CHECK(AttentionLayer(*unguarded)->type == "Int8Attention");
  CHECK(std::isnan(AttentionLayer(*unguarded)->sqnr_db));
  CHECK(FindPass(*unguarded, "int8-accuracy-guard") == nullptr);
}

TEST_CASE("INT8 accuracy guard rejects an Int8Attention whose query range an outlier sets",
          "[e2e][int8]") {
  auto built = BuildGuarded(/*outlier=*/true, 20.0);
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  const LayerPrecisionInfo* attn = AttentionLayer(*built);
  REQUIRE(attn != nullptr);
  CAPTURE(attn->type, attn->reason, attn->sqnr_db);
  CHECK(attn->type == "Attention");
  CHECK(attn->precision == Precision::kFp32);
  CHECK(attn->sqnr_db < 20.0);
  CHECK(absl::StrContains(attn->reason, "accuracy guard: isolated INT8 SQNR"));
  CHECK(absl::StrContains(attn->reason, "dB < 20.0 dB"));
  const PassSummary* pass = FindPass(*built, "int8-accuracy-guard");
  REQUIRE(pass != nullptr);
  CHECK(pass->changed);
  CHECK(Counter(*pass, "checked.Int8Attention") == 1);
  CHECK(Counter(*pass, "rejected.Int8Attention.sqnr-below-threshold") == 1);
  // The engine runs: the rejected layer computes in FP32 on float inputs
  // (no QuantizeLinear is left in front of it).
  for (const LayerPrecisionInfo& l : built->layer_precisions) {
    CHECK(l.type != "QuantizeLinear");
  }
  auto eng = Runtime::DeserializeEngine(built->plan);
  REQUIRE(eng.ok());
}

// x [1, 16, 32] -> MatMul W [32, 64] -> Add b -> GELU (Erf form, as
// exported) -> y: fuse-matmul-add and fuse-gelu make one Gemm with a GELU
// epilogue, which INT8 runs as Int8Gemm applying GELU in float32.
std::string GeluDenseModel() {
  ModelBuilder b;
  std::mt19937 rng(5);
  b.Input("x", {1, 16, 32});
  b.Initializer("W", RandomTensor({32, 64}, rng, -0.3f, 0.3f));
  b.Initializer("B", RandomTensor({64}, rng, -0.1f, 0.1f));
  b.Initializer("sqrt2", MakeFloat({}, {1.4142135381698608f}));
  b.Initializer("one", MakeFloat({}, {1.0f}));
  b.Initializer("half", MakeFloat({}, {0.5f}));
  b.Node("MatMul", {"x", "W"}, {"mm"}, "dense");
  b.Node("Add", {"B", "mm"}, {"h"}, "bias");
  b.Node("Div", {"h", "sqrt2"}, {"d"}, "gelu_div");
  b.Node("Erf", {"d"}, {"e"}, "gelu_erf");
  b.Node("Add", {"e", "one"}, {"a"}, "gelu_add");
  b.Node("Mul", {"h", "a"}, {"m"}, "gelu_mul");
  b.Node("Mul", {"m", "half"}, {"y"}, "gelu_half");
  b.Output("y", {1, 16, 64});
  return b.Serialize();
}

class DenseCalibrator final : public Calibrator {
 public:
  absl::Status Begin(const std::vector<TensorDesc>&) override { return absl::OkStatus(); }
  absl::StatusOr<bool> NextBatch(std::map<std::string, Tensor>& inputs) override {
    if (served_ == 4) return false;
    ++served_;
    inputs["x"] = RandomTensor({1, 16, 32}, rng_, -2.0f, 2.0f);
    return true;
  }
  int64_t BatchCount() const override { return 4; }

 private:
  int served_ = 0;
  std::mt19937 rng_{7};
};

TEST_CASE("INT8 accuracy guard measures a Gemm with a float GELU epilogue with its GELU",
          "[e2e][int8]") {
  // The isolated layer applies the fused GELU as the engine's Int8Gemm does
  // (float epilogue); measured without it, its output would be the bare
  // product (about 0 dB against the FP32 GELU output: every such layer of
  // vit_tiny was rejected at 22 dB).
  DenseCalibrator calibrator;
  BuilderConfig config;
  config.precision = Precision::kInt8;
  config.calibrator = &calibrator;
  config.accuracy_guard_db = 20.0;
  config.accuracy_guard_samples = 4;
  auto built = Builder().BuildFromOnnxBytes(GeluDenseModel(), "gelu_dense.onnx", config);
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  const LayerPrecisionInfo* gemm = nullptr;
  for (const LayerPrecisionInfo& l : built->layer_precisions) {
    if (l.type == "Gemm" || l.type == "Int8Gemm") gemm = &l;
  }
  REQUIRE(gemm != nullptr);
  CAPTURE(gemm->layer, gemm->type, gemm->reason, gemm->sqnr_db);
  CHECK(gemm->type == "Int8Gemm");
  CHECK(gemm->sqnr_db >= 25.0);  // measured 31.8 dB
  const PassSummary* pass = FindPass(*built, "int8-accuracy-guard");
  REQUIRE(pass != nullptr);
  CHECK(Counter(*pass, "accepted.Int8Gemm") == 1);
}

}  // namespace
}  // namespace engine::testing
