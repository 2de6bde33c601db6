// The nine ImageNet architectures of ../shared/models/onnx_light build, save to
// a plan file, load back, run and match their reference outputs (rtol 1e-3,
// atol 1e-7: the upstream data.json tolerances).
#include <catch2/catch.hpp>

#include <filesystem>

#include "engine/builder.h"
#include "engine/compare.h"
#include "engine/runtime.h"
#include "engine/tensor_io.h"
#include "test_util.h"

using namespace engine;
namespace fs = std::filesystem;

TEST_CASE("onnx_light models build, save, load, run and match reference outputs", "[e2e]") {
  const std::string dir = testing::SharedPath("models/onnx_light");
  if (dir.empty()) {
    WARN("SKIPPED: ../shared/models/onnx_light not found");
    return;
  }
  for (const char* name : testing::kOnnxLightModels) {
    SECTION(name) {
      const std::string base = dir + "/" + name;
      Builder builder;
      auto built = builder.BuildFromOnnxFile(base + ".onnx", BuilderConfig{});
      REQUIRE(built.ok());
      const std::string plan_path = (fs::temp_directory_path() / (std::string(name) + ".plan")).string();
      REQUIRE(WritePlanFile(plan_path, built->plan).ok());
      built->plan.clear();
      auto eng = Runtime::LoadEngineFile(plan_path);
      fs::remove(plan_path);
      REQUIRE(eng.ok());
      auto input = LoadTensorFile(base + "_input_0.pb");
      auto expected = LoadTensorFile(base + "_output_0.pb");
      REQUIRE(input.ok());
      REQUIRE(expected.ok());
      auto ctx = (*eng)->CreateExecutionContext();
      REQUIRE(ctx.ok());
      auto outputs = (*ctx)->Infer({{(*eng)->inputs()[0].name, input->tensor}});
      REQUIRE(outputs.ok());
      REQUIRE(outputs->size() == 1);
      CompareResult r = CompareTensors((*outputs)[0].tensor, expected->tensor, 1e-3, 1e-7);
      INFO(name << ": " << r.message);
      CHECK(r.passed);
    }
  }
}
