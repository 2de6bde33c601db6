// Real trained models of ../shared/models/real that the layout work unblocked
// (issue 17: fp16 weights and I/O, the opset converter's Softmax adapter,
// Expand) build and match ONNX Runtime's outputs (ref/ort) on their reference
// inputs (ref/inputs) within rtol 1e-3, atol 1e-5 (trtexec_like's
// --loadRefOutputs defaults; ORT 1.20.1 computed the references, the fp16
// SqueezeNet in float16 inside ORT, which the engine matches after rounding its
// float32 result to float16 at the output).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/builder.h"
#include "engine/compare.h"
#include "engine/runtime.h"
#include "engine/tensor_io.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;
namespace fs = std::filesystem;

namespace {

struct RealModel {
  const char* dir;
  const char* file;
  std::map<std::string, Dims> shapes;
  DataType io_dtype;
};

std::vector<NamedTensor> LoadDir(const fs::path& dir) {
  std::vector<NamedTensor> out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    auto t = LoadTensorFile(f.string());
    INFO(f.string() << ": " << t.status().ToString());
    REQUIRE(t.ok());
    out.push_back(std::move(t).value());
  }
  return out;
}

}  // namespace

TEST_CASE("Real models unblocked by fp16 import, the Softmax rule and Expand match ORT",
          "[e2e][layout]") {
  const std::string root = testing::SharedPath("models/real");
  if (root.empty()) {
    WARN("SKIPPED: ../shared/models/real not found");
    return;
  }
  const std::vector<RealModel> models = {
      {"squeezenet1.0-fp16-winml", "SqueezeNet_fp16.onnx", {}, DataType::kFloat16},
      {"ultraface-version-RFB-320-without-postprocessing",
       "version-RFB-320_without_postprocessing.onnx", {}, DataType::kFloat32},
      {"ppocr-mobile-v2.0-cls-kazuhito", "k_ch_ppocr_mobile_v2.0_cls_infer.onnx",
       {{"x", {1, 3, 48, 192}}}, DataType::kFloat32},
      {"facemesh-landmark", "facemesh_landmark.onnx", {}, DataType::kFloat32},
  };
  for (const RealModel& m : models) {
    SECTION(m.dir) {
      const fs::path dir = fs::path(root) / m.dir;
      BuilderConfig config;
      config.input_shapes = m.shapes;
      Builder builder;
      auto built = builder.BuildFromOnnxFile((dir / m.file).string(), config);
      INFO(built.status().ToString());
      REQUIRE(built.ok());
      auto eng = Runtime::DeserializeEngine(built->plan);
      REQUIRE(eng.ok());
      // The model's declared I/O types are kept (float16 for SqueezeNet).
      CHECK((*eng)->inputs()[0].dtype == m.io_dtype);
      CHECK((*eng)->outputs()[0].dtype == m.io_dtype);
      auto ctx = (*eng)->CreateExecutionContext();
      REQUIRE(ctx.ok());
      auto outputs = (*ctx)->Infer(LoadDir(dir / "ref/inputs"));
      INFO(outputs.status().ToString());
      REQUIRE(outputs.ok());
      const std::vector<NamedTensor> expected = LoadDir(dir / "ref/ort");
      REQUIRE(outputs->size() == expected.size());
      for (const NamedTensor& want : expected) {
        const NamedTensor* got = nullptr;
        for (const NamedTensor& o : *outputs) {
          if (o.name == want.name) got = &o;
        }
        INFO(m.dir << " output " << want.name);
        REQUIRE(got != nullptr);
        CompareResult r = CompareTensors(got->tensor, want.tensor, 1e-3, 1e-5);
        INFO(r.message);
        CHECK(r.passed);
      }
    }
  }
}

// ImageScaler -> Crop -> Relu -> Affine at opset 7 (the fast-neural-style
// models' legacy ops), run end to end against the ONNX formulas. The same
// model built with onnx 1.12's helper gave identical outputs in ONNX Runtime
// 1.20.1 (max abs error 0) when this test was written.
TEST_CASE("Legacy opset-7 image ops run as Slice/Mul/Add layers", "[e2e][layout]") {
  testing::ModelBuilder b(7);
  b.Input("x", {1, 3, 8, 8});
  auto& scaler = b.Node("ImageScaler", {"x"}, {"s"}, "scaler");
  testing::ModelBuilder::SetFloat(scaler, "scale", 2.0f);
  auto* bias = scaler.add_attribute();
  bias->set_name("bias");
  bias->set_type(onnx::AttributeProto::FLOATS);
  for (float v : {1.0f, 2.0f, 3.0f}) bias->add_floats(v);
  auto& crop = b.Node("Crop", {"s"}, {"c"}, "crop");
  testing::ModelBuilder::SetInts(crop, "border", {1, 2, 3, 1});  // left, top, right, bottom
  b.Node("Relu", {"c"}, {"r"}, "relu");
  auto& affine = b.Node("Affine", {"r"}, {"y"}, "affine");
  testing::ModelBuilder::SetFloat(affine, "alpha", 0.5f);
  testing::ModelBuilder::SetFloat(affine, "beta", -1.0f);
  b.Output("y", {1, 3, 5, 4});
  Builder builder;
  auto built = builder.BuildFromOnnxBytes(b.Serialize(), "legacy.onnx", BuilderConfig{});
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  auto eng = Runtime::DeserializeEngine(built->plan);
  REQUIRE(eng.ok());
  auto ctx = (*eng)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  Tensor x(DataType::kFloat32, {1, 3, 8, 8});
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    x.data_as<float>()[i] = static_cast<float>((i * 37) % 23) - 11.0f;
  }
  auto out = (*ctx)->Infer({{"x", x}});
  REQUIRE(out.ok());
  const Tensor& y = (*out)[0].tensor;
  REQUIRE(y.shape() == Dims{1, 3, 5, 4});
  int mismatches = 0;
  for (int c = 0; c < 3; ++c) {
    for (int h = 0; h < 5; ++h) {
      for (int w = 0; w < 4; ++w) {
        const float v = x.data_as<float>()[(c * 8 + h + 2) * 8 + w + 1] * 2.0f + (c + 1);
        const float want = 0.5f * std::max(v, 0.0f) - 1.0f;
        mismatches += y.data_as<float>()[(c * 5 + h) * 4 + w] != want;
      }
    }
  }
  CHECK(mismatches == 0);
}
