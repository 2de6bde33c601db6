// Real trained models of ../shared/models/real that the layout work unblocked
// (issue 17: fp16 weights and I/O, the opset converter's Softmax adapter,
// Expand) build and match ONNX Runtime's outputs (ref/ort) on their reference
// inputs (ref/inputs) within rtol 1e-3, atol 1e-5 (trtexec_like's
// --loadRefOutputs defaults; ORT 1.20.1 computed the references, the fp16
// SqueezeNet in float16 inside ORT, which the engine matches after rounding its
// float32 result to float16 at the output).
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/builder.h"
#include "engine/compare.h"
#include "engine/runtime.h"
#include "engine/tensor_io.h"
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
