// Dynamic shapes (issue 19, docs/dynamic_shapes.md): optimization profiles at
// build time, SetInputShape / InferShapes / GetTensorShape at run time, the
// shape subgraph evaluated per shape, the shape buckets' device profiles, and
// the profile errors.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "engine/builder.h"
#include "engine/calibrator.h"
#include "engine/compare.h"
#include "engine/runtime.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;

namespace {

OptimizationProfile Profile(const std::string& name, Dims min, Dims opt, Dims max) {
  OptimizationProfile p;
  p.min[name] = std::move(min);
  p.opt[name] = std::move(opt);
  p.max[name] = std::move(max);
  return p;
}

std::shared_ptr<const Engine> Build(const std::string& model, const BuilderConfig& config) {
  auto built = Builder().BuildFromOnnxBytes(model, "m", config);
  INFO(built.status().message());
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  INFO(engine.status().message());
  REQUIRE(engine.ok());
  return *engine;
}

// x [N, 6] -> Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [2, 3])) ->
// Relu -> y [N, 2, 3]: the exporter's shape chain for a dynamic batch.
std::string ShapeChainModel() {
  testing::ModelBuilder b(13, "shape_chain");
  b.Input("x", {-1, 6});
  Tensor idx(DataType::kInt64, {});
  idx.data_as<int64_t>()[0] = 0;
  b.Initializer("idx", idx);
  Tensor axes(DataType::kInt64, {1});
  axes.data_as<int64_t>()[0] = 0;
  b.Initializer("axes", axes);
  Tensor tail(DataType::kInt64, {2});
  tail.data_as<int64_t>()[0] = 2;
  tail.data_as<int64_t>()[1] = 3;
  b.Initializer("tail", tail);
  b.Node("Shape", {"x"}, {"s"}, "shape");
  auto& g = b.Node("Gather", {"s", "idx"}, {"n"}, "gather");
  testing::ModelBuilder::SetInt(g, "axis", 0);
  b.Node("Unsqueeze", {"n", "axes"}, {"n1"}, "unsqueeze");
  auto& c = b.Node("Concat", {"n1", "tail"}, {"target"}, "concat");
  testing::ModelBuilder::SetInt(c, "axis", 0);
  b.Node("Reshape", {"x", "target"}, {"r"}, "reshape");
  b.Node("Relu", {"r"}, {"y"}, "relu");
  b.Output("y", {-1, 2, 3});
  return b.Serialize();
}

}  // namespace

TEST_CASE("A dynamic-batch engine matches fixed-shape engines at each batch", "[dynamic]") {
  BuilderConfig config;
  config.profiles.push_back(Profile("x", {1, 2, 4, 4}, {2, 2, 4, 4}, {4, 2, 4, 4}));
  config.shape_buckets = 3;
  auto dyn = Build(testing::SmallConvModel(-1), config);
  REQUIRE(dyn->has_dynamic_shapes());
  REQUIRE(dyn->profiles().size() == 1);
  CHECK(dyn->profiles()[0].inputs[0].max == Dims{4, 2, 4, 4});
  REQUIRE(dyn->shape_buckets().size() == 3);  // batch 1, 2, 4
  CHECK(dyn->inputs()[0].shape == Dims{4, 2, 4, 4});  // the build shape
  auto ctx = dyn->CreateExecutionContext();
  REQUIRE(ctx.ok());
  int64_t previous_cycles = 0;
  for (int64_t batch : {1, 3, 4, 2, 1}) {
    CAPTURE(batch);
    std::mt19937 rng(static_cast<uint32_t>(batch));
    Tensor x = testing::RandomTensor({batch, 2, 4, 4}, rng);
    auto fixed = Build(testing::SmallConvModel(batch), BuilderConfig{});
    auto fctx = fixed->CreateExecutionContext();
    REQUIRE(fctx.ok());
    auto want = (*fctx)->Infer({{"x", x}});
    REQUIRE(want.ok());
    REQUIRE((*ctx)->SetInputShape("x", {batch, 2, 4, 4}).ok());
    REQUIRE((*ctx)->InferShapes().ok());
    auto yshape = (*ctx)->GetTensorShape("y");
    REQUIRE(yshape.ok());
    CHECK(*yshape == Dims{batch, 3});
    auto got = (*ctx)->Infer({{"x", x}});
    REQUIRE(got.ok());
    REQUIRE((*got)[0].tensor.shape() == Dims{batch, 3});
    CompareResult r = CompareTensors((*got)[0].tensor, (*want)[0].tensor, 1e-5, 1e-6);
    CHECK(r.passed);
    int bucket = -1;
    const DeviceProfile& dev = (*ctx)->device_profile(&bucket);
    REQUIRE(bucket >= 0);
    for (const auto& [name, dims] : dyn->shape_buckets()[bucket].shapes) CHECK(dims[0] >= batch);
    // batch 1 and 2 are buckets of their own: the program compiled for
    // exactly that shape, the same cycles as the fixed-shape engine's.
    if (batch == 1 || batch == 2 || batch == 4) {
      CHECK(dev.total_cycles == fixed->device_profile().total_cycles);
    }
    if (batch == 3) CHECK(dyn->shape_buckets()[bucket].shapes[0].second[0] == 4);
    if (batch == 2) CHECK(dev.total_cycles < previous_cycles);  // after batch 4
    previous_cycles = dev.total_cycles;
  }
}

TEST_CASE("Shape subgraphs are evaluated per run-time shape, never folded", "[dynamic]") {
  BuilderConfig config;
  config.profiles.push_back(Profile("x", {1, 6}, {3, 6}, {5, 6}));
  auto dyn = Build(ShapeChainModel(), config);
  bool has_shape_layer = false;
  for (const LayerInfo& l : dyn->layers()) has_shape_layer = has_shape_layer || l.type == "Shape";
  CHECK(has_shape_layer);
  auto ctx = dyn->CreateExecutionContext();
  REQUIRE(ctx.ok());
  for (int64_t n : {2, 5, 1, 4}) {
    CAPTURE(n);
    std::mt19937 rng(static_cast<uint32_t>(n));
    Tensor x = testing::RandomTensor({n, 6}, rng);
    auto out = (*ctx)->Infer({{"x", x}});
    INFO(out.status().message());
    REQUIRE(out.ok());
    const Tensor& y = (*out)[0].tensor;
    REQUIRE(y.shape() == Dims{n, 2, 3});
    for (int64_t i = 0; i < n * 6; ++i) {
      CHECK(y.data_as<float>()[i] == std::max(0.0f, x.data_as<float>()[i]));
    }
  }
}

TEST_CASE("Profile errors name the input, the dimension and the ranges", "[dynamic]") {
  SECTION("a dynamic dimension without a profile") {
    auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(-1), "m", BuilderConfig{});
    REQUIRE(!built.ok());
    CHECK_THAT(std::string(built.status().message()),
               Catch::Contains("input 'x' has dynamic dimension 0") &&
                   Catch::Contains("--minShapes"));
  }
  SECTION("min > opt") {
    BuilderConfig config;
    config.profiles.push_back(Profile("x", {3, 2, 4, 4}, {2, 2, 4, 4}, {4, 2, 4, 4}));
    auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(-1), "m", config);
    REQUIRE(built.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(built.status().message()),
               Catch::Contains("input 'x' dimension 0 has min 3, opt 2, max 4"));
  }
  SECTION("min and max of different ranks / inputs") {
    BuilderConfig config;
    config.profiles.push_back(Profile("x", {1, 2, 4}, {2, 2, 4, 4}, {4, 2, 4, 4}));
    CHECK(!Builder().BuildFromOnnxBytes(testing::SmallConvModel(-1), "m", config).ok());
    config.profiles[0].min = {{"other", {1, 2, 4, 4}}};
    auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(-1), "m", config);
    REQUIRE(!built.ok());
    CHECK_THAT(std::string(built.status().message()), Catch::Contains("--minShapes names"));
  }
  SECTION("a range on a dimension the model fixes") {
    BuilderConfig config;
    config.profiles.push_back(Profile("x", {1, 1, 4, 4}, {1, 2, 4, 4}, {1, 2, 4, 4}));
    auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(-1), "m", config);
    REQUIRE(!built.ok());
    CHECK_THAT(std::string(built.status().message()),
               Catch::Contains("dimension 1 the range [1, 2] but the model fixes it to 2"));
  }
  SECTION("a run-time shape outside every profile") {
    BuilderConfig config;
    config.profiles.push_back(Profile("x", {1, 2, 4, 4}, {2, 2, 4, 4}, {4, 2, 4, 4}));
    config.shape_buckets = 1;
    auto dyn = Build(testing::SmallConvModel(-1), config);
    auto ctx = dyn->CreateExecutionContext();
    REQUIRE(ctx.ok());
    absl::Status s = (*ctx)->SetInputShape("x", {5, 2, 4, 4});
    REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(s.message()),
               Catch::Contains("input 'x' shape 5x2x4x4 is outside every optimization profile") &&
                   Catch::Contains("min 1x2x4x4 opt 2x2x4x4 max 4x2x4x4"));
    std::mt19937 rng(1);
    CHECK(!(*ctx)->SetInput("x", testing::RandomTensor({0, 2, 4, 4}, rng)).ok());
    CHECK((*ctx)->SetInputShape("nope", {1}).code() == absl::StatusCode::kNotFound);
  }
  SECTION("fixed-shape engines refuse another shape") {
    auto fixed = Build(testing::SmallConvModel(1), BuilderConfig{});
    CHECK(!fixed->has_dynamic_shapes());
    auto ctx = fixed->CreateExecutionContext();
    REQUIRE(ctx.ok());
    CHECK((*ctx)->SetInputShape("x", {1, 2, 4, 4}).ok());
    absl::Status s = (*ctx)->SetInputShape("x", {2, 2, 4, 4});
    CHECK_THAT(std::string(s.message()), Catch::Contains("no optimization profiles"));
  }
}

TEST_CASE("Several optimization profiles in one plan", "[dynamic]") {
  BuilderConfig config;
  config.profiles.push_back(Profile("x", {1, 2, 4, 4}, {1, 2, 4, 4}, {2, 2, 4, 4}));
  config.profiles.push_back(Profile("x", {6, 2, 4, 4}, {7, 2, 4, 4}, {8, 2, 4, 4}));
  config.shape_buckets = 2;
  auto dyn = Build(testing::SmallConvModel(-1), config);
  REQUIRE(dyn->profiles().size() == 2);
  auto ctx = dyn->CreateExecutionContext();
  REQUIRE(ctx.ok());
  std::mt19937 rng(4);
  REQUIRE((*ctx)->Infer({{"x", testing::RandomTensor({7, 2, 4, 4}, rng)}}).ok());
  CHECK((*ctx)->active_profile() == 1);
  REQUIRE((*ctx)->Infer({{"x", testing::RandomTensor({2, 2, 4, 4}, rng)}}).ok());
  CHECK((*ctx)->active_profile() == 0);
  absl::Status s = (*ctx)->SetInputShape("x", {4, 2, 4, 4});
  CHECK_THAT(std::string(s.message()), Catch::Contains("profile 1: x min 6x2x4x4"));
}

namespace {

// Feeds `batches` seeded random inputs of `shape` to input "x", recording
// the shapes asked for (Begin) and delivered.
class ShapeCalibrator final : public Calibrator {
 public:
  ShapeCalibrator(int batches, Dims shape) : batches_(batches), shape_(std::move(shape)) {}
  absl::Status Begin(const std::vector<TensorDesc>& inputs) override {
    ++begun;
    for (const TensorDesc& d : inputs) begin_shapes.push_back(d.shape);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> NextBatch(std::map<std::string, Tensor>& inputs) override {
    if (served == batches_) return false;
    ++served;
    inputs["x"] = testing::RandomTensor(shape_, rng_);
    return true;
  }
  int begun = 0;
  int served = 0;
  std::vector<Dims> begin_shapes;

 private:
  int batches_;
  Dims shape_;
  std::mt19937 rng_{7};
};

}  // namespace

TEST_CASE("An INT8 dynamic-batch engine calibrates once and matches fixed-shape INT8 engines",
          "[dynamic][int8]") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("dynamic_int8_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cache = (dir / "small.cache").string();
  std::filesystem::remove(cache);
  // Calibration at the opt shape: batches of 2.
  ShapeCalibrator calibrator(8, {2, 2, 4, 4});
  BuilderConfig config;
  config.precision = Precision::kInt8;
  config.calibrator = &calibrator;
  config.calibration_algorithm = CalibrationAlgorithm::kMinMax;
  config.calibration_cache = cache;
  config.profiles.push_back(Profile("x", {1, 2, 4, 4}, {2, 2, 4, 4}, {4, 2, 4, 4}));
  config.shape_buckets = 3;
  auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(-1), "m", config);
  INFO(built.status().message());
  REQUIRE(built.ok());
  // One calibration for the plan (not one per bucket), at the opt batch.
  CHECK(calibrator.begun == 1);
  CHECK(calibrator.served == 8);
  REQUIRE(calibrator.begin_shapes.size() == 1);
  CHECK(calibrator.begin_shapes[0] == Dims{2, 2, 4, 4});
  CHECK(built->calibration.batches == 8);
  CHECK(built->calibration.cache_written);
  int int8_layers = 0;
  for (const LayerPrecisionInfo& l : built->layer_precisions) {
    int8_layers += l.precision == Precision::kInt8 && l.type.rfind("Int8", 0) == 0;
  }
  CHECK(int8_layers == 2);  // the Conv and the Gemm of the host graph
  auto dyn = Runtime::DeserializeEngine(built->plan);
  REQUIRE(dyn.ok());
  REQUIRE((*dyn)->shape_buckets().size() == 3);
  auto ctx = (*dyn)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  for (int64_t batch : {1, 3, 4, 2}) {
    CAPTURE(batch);
    // The fixed-shape INT8 engine at this batch from the same cache (no
    // calibrator: the cache must be valid for every shape of the profile).
    BuilderConfig fixed_config;
    fixed_config.precision = Precision::kInt8;
    fixed_config.calibration_cache = cache;
    auto fixed = Build(testing::SmallConvModel(batch), fixed_config);
    std::mt19937 rng(static_cast<uint32_t>(100 + batch));
    Tensor x = testing::RandomTensor({batch, 2, 4, 4}, rng);
    auto fctx = fixed->CreateExecutionContext();
    REQUIRE(fctx.ok());
    auto want = (*fctx)->Infer({{"x", x}});
    REQUIRE(want.ok());
    auto got = (*ctx)->Infer({{"x", x}});
    INFO(got.status().message());
    REQUIRE(got.ok());
    REQUIRE((*got)[0].tensor.shape() == Dims{batch, 3});
    // Same scales, same integer arithmetic: bit-identical outputs.
    const std::vector<float> g = testing::ToVector((*got)[0].tensor);
    const std::vector<float> w = testing::ToVector((*want)[0].tensor);
    CHECK(g == w);
    // And the engine is INT8 (not FP32): differs from the FP32 engine.
    auto fp32 = Build(testing::SmallConvModel(batch), BuilderConfig{});
    auto pctx = fp32->CreateExecutionContext();
    REQUIRE(pctx.ok());
    auto ref = (*pctx)->Infer({{"x", x}});
    REQUIRE(ref.ok());
    const std::vector<float> r = testing::ToVector((*ref)[0].tensor);
    CHECK(r != g);
    CAPTURE(r, g);
    // INT8 (8 random calibration batches, minmax) vs FP32: within 0.25
    // absolute + 5% relative, outputs of magnitude up to ~7 (measured max
    // error 0.13 at batch 1).
    CHECK(CompareTensors((*got)[0].tensor, (*ref)[0].tensor, 0.05, 0.25).passed);
  }
}

TEST_CASE("INT8 with profiles needs calibration data, and mark_all_outputs works with profiles",
          "[dynamic][int8]") {
  BuilderConfig config;
  config.profiles.push_back(Profile("x", {1, 2, 4, 4}, {2, 2, 4, 4}, {4, 2, 4, 4}));
  config.shape_buckets = 1;
  SECTION("no calibrator and no cache") {
    config.precision = Precision::kInt8;
    auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(-1), "m", config);
    REQUIRE(built.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(built.status().message()),
               Catch::Contains("calibration data") && Catch::Contains("opt shape x:2x2x4x4"));
  }
  SECTION("calibration batches of a shape other than the opt shape") {
    config.precision = Precision::kInt8;
    ShapeCalibrator calibrator(2, {4, 2, 4, 4});
    config.calibrator = &calibrator;
    auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(-1), "m", config);
    REQUIRE(!built.ok());
    CHECK_THAT(std::string(built.status().message()), Catch::Contains("calibration batch 0"));
  }
  SECTION("the accuracy guard's decisions are shared by every build of the plan") {
    // A threshold no INT8 layer meets: the calibration build keeps every
    // layer FP32, and so must the host graph (which never runs the guard).
    config.precision = Precision::kInt8;
    ShapeCalibrator calibrator(4, {2, 2, 4, 4});
    config.calibrator = &calibrator;
    config.accuracy_guard_db = 500;
    auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(-1), "m", config);
    INFO(built.status().message());
    REQUIRE(built.ok());
    CHECK(calibrator.begun == 1);
    int guarded = 0;
    for (const LayerPrecisionInfo& l : built->layer_precisions) {
      CHECK(l.type.rfind("Int8", 0) != 0);
      guarded += l.reason.find("accuracy guard") != std::string::npos;
    }
    CHECK(guarded == 2);  // the Conv and the Gemm
    auto dyn = Runtime::DeserializeEngine(built->plan);
    REQUIRE(dyn.ok());
    BuilderConfig fp32_config;
    fp32_config.profiles = config.profiles;
    fp32_config.shape_buckets = 1;
    auto fp32 = Build(testing::SmallConvModel(-1), fp32_config);
    auto ctx = (*dyn)->CreateExecutionContext();
    auto fctx = fp32->CreateExecutionContext();
    REQUIRE((ctx.ok() && fctx.ok()));
    std::mt19937 rng(9);
    Tensor x = testing::RandomTensor({3, 2, 4, 4}, rng);
    auto got = (*ctx)->Infer({{"x", x}});
    auto want = (*fctx)->Infer({{"x", x}});
    REQUIRE((got.ok() && want.ok()));
    CHECK(testing::ToVector((*got)[0].tensor) == testing::ToVector((*want)[0].tensor));
  }
  SECTION("mark_all_outputs") {
    config.mark_all_outputs = true;
    auto dyn = Build(testing::SmallConvModel(-1), config);
    REQUIRE(dyn->outputs().size() > 1);
    auto ctx = dyn->CreateExecutionContext();
    REQUIRE(ctx.ok());
    for (int64_t batch : {1, 3}) {
      std::mt19937 rng(3);
      auto got = (*ctx)->Infer({{"x", testing::RandomTensor({batch, 2, 4, 4}, rng)}});
      INFO(got.status().message());
      REQUIRE(got.ok());
      for (const auto& out : *got) CHECK(out.tensor.shape()[0] == batch);
    }
  }
}
