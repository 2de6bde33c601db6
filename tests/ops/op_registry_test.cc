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
    if (def->type == "Scatter") continue;  // imported as ScatterElements (ops-index)
    if (def->type == "Upsample") continue;  // imported as a Resize layer
    // Layout family: the legacy image ops become Slice/Mul/Add at import and
    // If, Loop and Scan are compiled away by the parser (parser/control_flow.h).
    static const std::set<std::string> kLayoutImportOnly = {"Crop", "Affine", "ImageScaler",
                                                            "Scale", "If", "Loop", "Scan"};
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
  CHECK(r.FindImport("", "Unique", 13, &why) == nullptr);  // not supported
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

// Indexing / Einsum / recurrent family (ops-index): the accelerator mapping of
// the recurrent ops and of Einsum's two forms.
#include "common/attributes.h"
#include "ops/op_def.h"

TEST_CASE("LSTM maps its gate products to the array: groups = seq x dirs, K = I + H, M = 4H, P = batch",
          "[ops]") {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find("LSTM");
  REQUIRE(def != nullptr);
  REQUIRE(def->device.unit == hw::LayerKind::kArray);
  using kernels::TensorInfo;
  const int64_t seq = 5, batch = 3, in = 8, hidden = 16, dirs = 2;
  std::vector<TensorInfo> inputs = {
      {DataType::kFloat32, {seq, batch, in}, nullptr, true},
      {DataType::kFloat32, {dirs, 4 * hidden, in}, nullptr, true},
      {DataType::kFloat32, {dirs, 4 * hidden, hidden}, nullptr, true},
      {DataType::kFloat32, {dirs, 8 * hidden}, nullptr, true},
  };
  Attributes attrs;
  attrs.Set("direction", std::string("bidirectional"));
  auto outputs = def->host.infer(attrs, inputs);
  REQUIRE(outputs.ok());
  ops::LayerView view{"lstm", "LSTM", attrs, inputs, *outputs, {}, {}};
  auto w = ops::DescribeDeviceWork(*def, view, nullptr);
  REQUIRE(w.ok());
  CHECK(w->kind == hw::LayerKind::kArray);
  CHECK(w->gemm.groups == seq * dirs);
  CHECK(w->gemm.k == in + hidden);
  CHECK(w->gemm.m == 4 * hidden);
  CHECK(w->gemm.p == batch);
  CHECK(w->gemm.bias_bytes == 8 * hidden * 4);
  CHECK(w->gemm.epilogue_ops_per_element == Approx(27.0 / 4));
}

TEST_CASE("Einsum matmul forms map to the array, other forms to the vector unit", "[ops]") {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find("Einsum");
  const ops::OpDef* vec = ops::OpRegistry::Builtin().Find("VectorEinsum");
  REQUIRE(def != nullptr);
  REQUIRE(vec != nullptr);
  CHECK(def->device.unit == hw::LayerKind::kArray);
  CHECK(vec->device.unit == hw::LayerKind::kVector);
  CHECK_FALSE(vec->importable);
  using kernels::TensorInfo;
  std::vector<TensorInfo> inputs = {{DataType::kFloat32, {2, 12, 7, 64}, nullptr, true},
                                    {DataType::kFloat32, {2, 12, 9, 64}, nullptr, true}};
  Attributes attrs;
  attrs.Set("equation", std::string("bhqd,bhkd->bhqk"));
  auto outputs = def->host.infer(attrs, inputs);
  REQUIRE(outputs.ok());
  ops::LayerView view{"e", "Einsum", attrs, inputs, *outputs, {}, {}};
  auto w = ops::DescribeDeviceWork(*def, view, nullptr);
  REQUIRE(w.ok());
  CHECK(w->gemm.groups == 24);
  CHECK(w->gemm.k == 64);
  CHECK(w->gemm.p == 7);
  CHECK(w->gemm.m == 9);

  std::vector<TensorInfo> one = {{DataType::kFloat32, {3, 4}, nullptr, true}};
  Attributes sum;
  sum.Set("equation", std::string("ij->i"));
  auto out1 = vec->host.infer(sum, one);
  REQUIRE(out1.ok());
  ops::LayerView v1{"s", "VectorEinsum", sum, one, *out1, {}, {}};
  auto w1 = ops::DescribeDeviceWork(*vec, v1, nullptr);
  REQUIRE(w1.ok());
  CHECK(w1->vector.ops_per_element == 4);  // four summed terms per output
}

TEST_CASE("Resize passes int8 through only in nearest mode", "[ops][int8]") {
  const ops::OpDef* resize = ops::OpRegistry::Builtin().Find("Resize");
  REQUIRE(resize != nullptr);
  CHECK(resize->int8.role == ops::Int8Role::kPassThrough);
  REQUIRE(static_cast<bool>(resize->int8.pass_through_if));
  Attributes a;
  CHECK(resize->int8.pass_through_if(a));  // default mode: nearest
  a.Set("mode", std::string("linear"));
  CHECK_FALSE(resize->int8.pass_through_if(a));
  a.Set("mode", std::string("nearest"));
  a.Set("coordinate_transformation_mode", std::string("tf_crop_and_resize"));
  a.Set("extrapolation_value", 0.5f);
  CHECK_FALSE(resize->int8.pass_through_if(a));  // 0.5 has no exact int8 value at every scale
  a.Set("extrapolation_value", 0.0f);
  CHECK(resize->int8.pass_through_if(a));
}
