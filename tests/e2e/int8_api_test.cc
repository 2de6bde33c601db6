// The INT8 builder API from C++: a user-written Calibrator (as TensorRT's
// IInt8Calibrator), the calibration cache written and reused, the result
// close to FP32, errors for a missing calibrator, a wrong batch and FP16 on tpu-v1.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "e2e/cli_util.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "test_models.h"
#include "test_util.h"

namespace engine::testing {
namespace {

// Feeds `batches` random [1,2,4,4] inputs.
class RandomCalibrator final : public Calibrator {
 public:
  RandomCalibrator(int batches, Dims shape) : batches_(batches), shape_(std::move(shape)) {}
  absl::Status Begin(const std::vector<TensorDesc>& inputs) override {
    begun_ = true;
    REQUIRE(inputs.size() == 1);
    input_ = inputs[0].name;
    return absl::OkStatus();
  }
  absl::StatusOr<bool> NextBatch(std::map<std::string, Tensor>& inputs) override {
    if (served_ == batches_) return false;
    ++served_;
    inputs[input_] = RandomTensor(shape_, rng_);
    return true;
  }
  int64_t BatchCount() const override { return batches_; }
  bool begun_ = false;
  int served_ = 0;

 private:
  int batches_;
  Dims shape_;
  std::string input_;
  std::mt19937 rng_{5};
};

// Cosine similarity of two equally long vectors.
double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double dot = 0, a2 = 0, b2 = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double{a[i]} * b[i];
    a2 += double{a[i]} * a[i];
    b2 += double{b[i]} * b[i];
  }
  return dot / std::sqrt(a2 * b2);
}

std::vector<float> Run(const std::string& plan, const Tensor& x) {
  auto eng = Runtime::DeserializeEngine(plan);
  REQUIRE(eng.ok());
  auto ctx = (*eng)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  REQUIRE((*ctx)->SetInput("x", x).ok());
  REQUIRE((*ctx)->Execute().ok());
  return ToVector(**(*ctx)->GetOutput("y"));
}

TEST_CASE("A user Calibrator builds an INT8 engine close to FP32, the cache is reused",
          "[e2e][int8]") {
  const std::string model = SmallConvModel();
  const auto dir = TempDir("int8_api");
  const std::string cache = (dir / "small.cache").string();
  std::filesystem::remove(cache);
  Builder builder;
  RandomCalibrator calibrator(16, {1, 2, 4, 4});
  BuilderConfig config;
  config.precision = Precision::kInt8;
  config.calibrator = &calibrator;
  config.calibration_algorithm = CalibrationAlgorithm::kMinMax;
  config.calibration_cache = cache;
  int64_t progress_calls = 0;
  config.progress = [&](const std::string& phase, int64_t done, int64_t total) {
    CHECK(phase == "calibrate");
    CHECK(total == 16);
    ++progress_calls;
  };
  auto built = builder.BuildFromOnnxBytes(model, "small.onnx", config);
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  CHECK(calibrator.begun_);
  CHECK(calibrator.served_ == 16);
  CHECK(progress_calls == 16);
  CHECK(built->calibration.batches == 16);
  CHECK(built->calibration.cache_written);
  CHECK(built->calibration.algorithm == "minmax");
  CHECK(ReadFile(cache).rfind("TRT-8601-MinMaxCalibration\n", 0) == 0);
  int int8_layers = 0;
  for (const LayerPrecisionInfo& l : built->layer_precisions) {
    int8_layers += l.precision == Precision::kInt8 && l.type.rfind("Int8", 0) == 0;
  }
  CHECK(int8_layers == 2);  // the Conv and the Gemm
  {
    // The Reshape between them is a view of an int8 tensor: reported int8.
    auto eng = Runtime::DeserializeEngine(built->plan);
    REQUIRE(eng.ok());
    int views = 0;
    for (const LayerDeviceProfile& l : (*eng)->device_profile().layers) {
      if (l.unit != "view") continue;
      ++views;
      CAPTURE(l.name);
      CHECK(l.precision == "int8");
    }
    CHECK(views == 1);
  }

  auto fp32 = builder.BuildFromOnnxBytes(model, "small.onnx", BuilderConfig{});
  REQUIRE(fp32.ok());
  std::mt19937 rng(99);
  const Tensor x = RandomTensor({1, 2, 4, 4}, rng);
  CHECK(Cosine(Run(fp32->plan, x), Run(built->plan, x)) > 0.99);

  // With the cache, no calibrator is needed and the engine is the same.
  BuilderConfig again;
  again.precision = Precision::kInt8;
  again.calibration_cache = cache;
  auto rebuilt = builder.BuildFromOnnxBytes(model, "small.onnx", again);
  REQUIRE(rebuilt.ok());
  CHECK(rebuilt->calibration.from_cache);
  CHECK(rebuilt->calibration.batches == 0);
  CHECK(PayloadCrc(rebuilt->plan) == PayloadCrc(built->plan));  // same engine; provenance differs
  std::filesystem::remove_all(dir);
}

// x [1,2,6,6] -> Conv 3x3 (3 ch) + Relu, Conv 1x1 (4 ch) + Relu -> Concat
// (axis 1) -> Conv 3x3 (2 ch) -> y [1,2,6,6], seeded weights.
std::string ConcatModel() {
  ModelBuilder b;
  std::mt19937 rng(11);
  b.Input("x", {1, 2, 6, 6});
  b.Initializer("wa", RandomTensor({3, 2, 3, 3}, rng));
  b.Initializer("wb", RandomTensor({4, 2, 1, 1}, rng));
  b.Initializer("wd", RandomTensor({2, 7, 3, 3}, rng));
  b.Initializer("bd", RandomTensor({2}, rng));
  auto& a = b.Node("Conv", {"x", "wa"}, {"a"}, "conv_a");
  ModelBuilder::SetInts(a, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"a"}, {"ar"}, "relu_a");
  b.Node("Conv", {"x", "wb"}, {"bb"}, "conv_b");
  b.Node("Relu", {"bb"}, {"br"}, "relu_b");
  auto& cat = b.Node("Concat", {"ar", "br"}, {"cat"}, "concat");
  ModelBuilder::SetInt(cat, "axis", 1);
  auto& d = b.Node("Conv", {"cat", "wd", "bd"}, {"y"}, "conv_d");
  ModelBuilder::SetInts(d, "pads", {1, 1, 1, 1});
  b.Output("y", {1, 2, 6, 6});
  return b.Serialize();
}

TEST_CASE("A Concat of INT8 layers runs in int8 and stays close to FP32", "[e2e][int8]") {
  const std::string model = ConcatModel();
  Builder builder;
  RandomCalibrator calibrator(16, {1, 2, 6, 6});
  BuilderConfig config;
  config.precision = Precision::kInt8;
  config.calibrator = &calibrator;
  config.calibration_algorithm = CalibrationAlgorithm::kMinMax;
  auto built = builder.BuildFromOnnxBytes(model, "concat.onnx", config);
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  int int8_convs = 0, int8_concats = 0, fp32_layers = 0;
  for (const LayerPrecisionInfo& l : built->layer_precisions) {
    int8_convs += l.type == "Int8Conv";
    int8_concats += l.type == "Concat" && l.precision == Precision::kInt8;
    fp32_layers += l.precision == Precision::kFp32 && l.type != "QuantizeLinear" &&
                   l.type != "DequantizeLinear";
  }
  CHECK(int8_convs == 3);
  CHECK(int8_concats == 1);
  CHECK(fp32_layers == 0);
  auto fp32 = builder.BuildFromOnnxBytes(model, "concat.onnx", BuilderConfig{});
  REQUIRE(fp32.ok());
  std::mt19937 rng(123);
  for (int i = 0; i < 4; ++i) {
    const Tensor x = RandomTensor({1, 2, 6, 6}, rng);
    CHECK(Cosine(Run(fp32->plan, x), Run(built->plan, x)) > 0.995);
  }
}

TEST_CASE("INT8 build errors: no calibration data, a batch of the wrong shape, FP16 on tpu-v1",
          "[e2e][int8]") {
  const std::string model = SmallConvModel();
  Builder builder;
  BuilderConfig config;
  config.precision = Precision::kInt8;
  auto none = builder.BuildFromOnnxBytes(model, "small.onnx", config);
  REQUIRE(!none.ok());
  CHECK(none.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(none.status().message().find("needs calibration data") != std::string::npos);

  RandomCalibrator wrong(2, {1, 2, 5, 5});
  config.calibrator = &wrong;
  auto bad = builder.BuildFromOnnxBytes(model, "small.onnx", config);
  REQUIRE(!bad.ok());
  CHECK(bad.status().message().find("calibration batch 0") != std::string::npos);
  CHECK(bad.status().message().find("small.onnx") != std::string::npos);

  // FP16 engines (issue 20): built for a preset with fp16, refused for
  // tpu-v1 (no fp16 datapath) with a message naming both.
  BuilderConfig half;
  half.precision = Precision::kFp16;
  auto fp16 = builder.BuildFromOnnxBytes(model, "small.onnx", half);
  REQUIRE(fp16.ok());
  CHECK(!fp16->layer_precisions.empty());
  half.hardware = *HardwarePreset("tpu-v1");
  auto tpu = builder.BuildFromOnnxBytes(model, "small.onnx", half);
  REQUIRE(!tpu.ok());
  CHECK(tpu.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(tpu.status().message().find("hardware 'tpu-v1' does not support precision fp16") !=
        std::string::npos);
}

// Issue 20, part 5: the calibrated engine's quantization exported as a QDQ
// model (ExportQdqFile, --exportQdq) and built again (explicit quantization,
// no calibrator) gives the same INT8 layers: same layers, types and
// precisions, and bit-identical outputs.
TEST_CASE("QDQ export round trip: export, import as explicit quantization, same INT8 layers",
          "[e2e][int8][explicit_quantization]") {
  const auto dir = TempDir("qdq_roundtrip");
  const std::string model_path = (dir / "small.onnx").string();
  const std::string qdq_path = (dir / "small.qdq.onnx").string();
  WriteFile(model_path, SmallConvModel());
  Builder builder;
  RandomCalibrator calibrator(16, {1, 2, 4, 4});
  BuilderConfig config;
  config.precision = Precision::kInt8;
  config.calibrator = &calibrator;
  auto calibrated = builder.BuildFromOnnxFile(model_path, config);
  INFO(calibrated.status().ToString());
  REQUIRE(calibrated.ok());
  REQUIRE_FALSE(calibrated->int8_tensor_scales.empty());
  REQUIRE(ExportQdqFile(model_path, *calibrated, qdq_path).ok());
  auto reimported = builder.BuildFromOnnxFile(qdq_path, BuilderConfig{});
  INFO(reimported.status().ToString());
  REQUIRE(reimported.ok());
  auto layers = [](const BuildResult& r) {
    std::vector<std::string> out;
    for (const LayerPrecisionInfo& l : r.layer_precisions) {
      if (l.type == "QuantizeLinear" || l.type == "DequantizeLinear") continue;
      out.push_back(l.layer + " " + l.type + " " + PrecisionName(l.precision));
    }
    return out;
  };
  CHECK(layers(*calibrated) == layers(*reimported));
  CHECK(std::count_if(calibrated->layer_precisions.begin(), calibrated->layer_precisions.end(),
                      [](const LayerPrecisionInfo& l) { return l.type.rfind("Int8", 0) == 0; }) ==
        2);
  std::mt19937 rng(11);
  for (int i = 0; i < 3; ++i) {
    const Tensor x = RandomTensor({1, 2, 4, 4}, rng);
    CHECK(Run(calibrated->plan, x) == Run(reimported->plan, x));
  }
  // Not an INT8 build: nothing to export.
  auto fp32 = builder.BuildFromOnnxFile(model_path, BuilderConfig{});
  REQUIRE(fp32.ok());
  CHECK(ExportQdqFile(model_path, *fp32, qdq_path).code() ==
        absl::StatusCode::kFailedPrecondition);
}

// Issue 17: a ConvTranspose with overlapping taps (3x3, stride 2, pads 1,
// output_padding 1) is an Int8ConvTranspose in the calibrated build; the QDQ
// export writes its weights as int8 with a per-channel DequantizeLinear on
// axis 1 (ONNX's axis for ConvTranspose's W [C, M/group, k...]), and the
// re-imported model builds into the same INT8 layers with bit-identical
// outputs (same int8 weights and scales).
TEST_CASE("QDQ export round trip of an overlapping-tap ConvTranspose",
          "[e2e][int8][explicit_quantization]") {
  const auto dir = TempDir("qdq_roundtrip_convt");
  const std::string model_path = (dir / "convt.onnx").string();
  const std::string qdq_path = (dir / "convt.qdq.onnx").string();
  ModelBuilder b;
  std::mt19937 wrng(17);
  b.Input("x", {1, 2, 4, 4});
  b.Initializer("w", RandomTensor({4, 2, 3, 3}, wrng));
  b.Initializer("bias", RandomTensor({4}, wrng));
  b.Initializer("wt", RandomTensor({4, 3, 3, 3}, wrng));
  b.Initializer("bt", RandomTensor({3}, wrng));
  auto& conv = b.Node("Conv", {"x", "w", "bias"}, {"c"}, "conv1");
  ModelBuilder::SetInts(conv, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c"}, {"r"}, "relu1");
  auto& up = b.Node("ConvTranspose", {"r", "wt", "bt"}, {"y"}, "up");
  ModelBuilder::SetInts(up, "strides", {2, 2});
  ModelBuilder::SetInts(up, "pads", {1, 1, 1, 1});
  ModelBuilder::SetInts(up, "output_padding", {1, 1});
  b.Output("y", {1, 3, 8, 8});
  WriteFile(model_path, b.Serialize());
  Builder builder;
  RandomCalibrator calibrator(16, {1, 2, 4, 4});
  BuilderConfig config;
  config.precision = Precision::kInt8;
  config.calibrator = &calibrator;
  auto calibrated = builder.BuildFromOnnxFile(model_path, config);
  INFO(calibrated.status().ToString());
  REQUIRE(calibrated.ok());
  auto count = [](const BuildResult& r, const std::string& type) {
    return std::count_if(r.layer_precisions.begin(), r.layer_precisions.end(),
                         [&](const LayerPrecisionInfo& l) { return l.type == type; });
  };
  CHECK(count(*calibrated, "Int8ConvTranspose") == 1);
  CHECK(count(*calibrated, "ConvTranspose") == 0);
  REQUIRE(ExportQdqFile(model_path, *calibrated, qdq_path).ok());
  auto reimported = builder.BuildFromOnnxFile(qdq_path, BuilderConfig{});
  INFO(reimported.status().ToString());
  REQUIRE(reimported.ok());
  CHECK(count(*reimported, "Int8ConvTranspose") == 1);
  // Both weights came back through a DequantizeLinear (Conv axis 0,
  // ConvTranspose axis 1: a wrong axis would leave the layer FP32).
  for (const PassSummary& p : reimported->passes) {
    if (p.name == "explicit-quantization") CHECK(p.counters.at("weights-folded") == 2);
  }
  auto layers = [](const BuildResult& r) {
    std::vector<std::string> out;
    for (const LayerPrecisionInfo& l : r.layer_precisions) {
      if (l.type == "QuantizeLinear" || l.type == "DequantizeLinear") continue;
      out.push_back(l.layer + " " + l.type + " " + PrecisionName(l.precision));
    }
    return out;
  };
  CHECK(layers(*calibrated) == layers(*reimported));
  std::mt19937 rng(12);
  for (int i = 0; i < 3; ++i) {
    const Tensor x = RandomTensor({1, 2, 4, 4}, rng);
    CHECK(Run(calibrated->plan, x) == Run(reimported->plan, x));
  }
}

}  // namespace
}  // namespace engine::testing
