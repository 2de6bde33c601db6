#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "kernels/kernel.h"
#include "ops/op_registry.h"

using namespace engine;

TEST_CASE("Every importable ONNX op has a host kernel", "[ops]") {
  for (const ops::OpDef* def : ops::OpRegistry::Builtin().All()) {
    if (!def->importable || def->type == "Constant" || def->type == "Dropout") {
      continue;  // internal layers; Constant and Dropout are rewritten at import
    }
    // Layout family: the legacy image ops become Slice/Mul/Add at import and
    // If is folded by the parser (ImportIf reports an unfoldable one).
    static const std::set<std::string> kLayoutImportOnly = {"Crop", "Affine", "ImageScaler",
                                                            "Scale", "If"};
    if (kLayoutImportOnly.count(def->type)) {
      CHECK(def->import != nullptr);
      continue;
    }
    INFO(def->type);
    CHECK(ops::OpRegistry::Builtin().FindKernel(def->type) != nullptr);
  }
}

TEST_CASE("Importer lookup accepts ai.onnx and rejects unknown ops and opsets", "[ops]") {
  const auto& r = ops::OpRegistry::Builtin();
  std::string why;
  CHECK(r.FindImport("ai.onnx", "Conv", 11, &why) != nullptr);
  CHECK(r.FindImport("", "Conv", 26, &why) == nullptr);
  CHECK(why.find("newer than") != std::string::npos);
  CHECK(r.FindImport("", "NonMaxSuppression", 13, &why) == nullptr);
  CHECK(r.FindImport("com.microsoft", "Conv", 1, &why) == nullptr);
  // Engine-internal layer types cannot be named by a model.
  CHECK(r.FindImport("", "Int8Conv", 13, &why) == nullptr);
}

TEST_CASE("Every op with a host kernel has an accelerator mapping", "[ops]") {
  for (const ops::OpDef* def : ops::OpRegistry::Builtin().All()) {
    if (!def->has_kernel()) continue;
    INFO(def->type);
    REQUIRE(def->device.unit.has_value());
    if (*def->device.unit == hw::LayerKind::kArray) CHECK(static_cast<bool>(def->device.gemm));
    if (*def->device.unit == hw::LayerKind::kVector) {
      CHECK(static_cast<bool>(def->device.ops_per_element));
    }
  }
}

TEST_CASE("The registry refuses inconsistent records", "[ops]") {
  ops::OpRegistry r;
  ops::OpDef no_unit;
  no_unit.type = "Relu";
  no_unit.host = ops::OpRegistry::Builtin().Find("Relu")->host;
  CHECK(r.Register(no_unit).code() == absl::StatusCode::kInvalidArgument);
  ops::OpDef relu = *ops::OpRegistry::Builtin().Find("Relu");
  CHECK(r.Register(relu).ok());
  CHECK(r.Register(relu).code() == absl::StatusCode::kAlreadyExists);
  ops::OpDef array = relu;
  array.type = "MyArray";
  array.host.type = "MyArray";
  array.device.unit = hw::LayerKind::kArray;
  CHECK(r.Register(array).code() == absl::StatusCode::kInvalidArgument);  // no geometry
  ops::OpDef nothing;
  nothing.type = "Nothing";
  CHECK(r.Register(nothing).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("INT8 roles and epilogue activations come from the records", "[ops]") {
  const auto& r = ops::OpRegistry::Builtin();
  CHECK(r.Find("Conv")->int8.role == ops::Int8Role::kConvProduct);
  CHECK(r.Find("MatMul")->int8.role == ops::Int8Role::kMatrixProduct);
  CHECK(r.Find("AveragePool")->int8.int8_type == "Int8AveragePool");
  CHECK(r.Find("Int8AveragePool") != nullptr);
  CHECK(r.Find("Softmax")->int8.role == ops::Int8Role::kFloat);
  CHECK(r.Find("Relu")->epilogue_activation);
  CHECK_FALSE(r.Find("Add")->epilogue_activation);
}
