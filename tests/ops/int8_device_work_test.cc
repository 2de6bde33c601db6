// The accelerator mapping of the INT8 layers added for issue 17:
// Int8ConvTranspose is the FP32 ConvTranspose's array product (same groups,
// K, M, P and MACs) with int8 operands, 1-byte input / weight / output bytes
// and 2 more epilogue ops per element (the requantization); Int8Max /
// Int8Min are int8 vector layers with 2 ops per input plus N - 1 compares.
#include <catch2/catch.hpp>

#include <vector>

#include "kernels/kernel.h"
#include "ops/op_def.h"
#include "ops/op_registry.h"

namespace engine::ops {
namespace {

kernels::TensorInfo Info(DataType dtype, Dims shape) {
  kernels::TensorInfo t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

hw::LayerWorkload Describe(const std::string& type, const Attributes& attrs,
                           const std::vector<kernels::TensorInfo>& in,
                           const std::vector<kernels::TensorInfo>& out) {
  const OpDef* def = OpRegistry::Builtin().Find(type);
  REQUIRE(def != nullptr);
  auto w = DescribeDeviceWork(*def, LayerView{type, type, attrs, in, out, {}, {}}, nullptr);
  INFO(w.status().ToString());
  REQUIRE(w.ok());
  return *w;
}

TEST_CASE("Int8ConvTranspose maps to the FP32 ConvTranspose's product in int8", "[ops][int8]") {
  Attributes a;
  a.Set("strides", std::vector<int64_t>{2, 2});
  a.Set("group", int64_t{2});
  const hw::LayerWorkload f = Describe(
      "ConvTranspose", a,
      {Info(DataType::kFloat32, {1, 32, 20, 24}), Info(DataType::kFloat32, {32, 8, 2, 2}),
       Info(DataType::kFloat32, {16})},
      {Info(DataType::kFloat32, {1, 16, 40, 48})});
  const hw::LayerWorkload q = Describe(
      "Int8ConvTranspose", a,
      {Info(DataType::kInt8, {1, 32, 20, 24}), Info(DataType::kInt8, {32, 8, 2, 2}),
       Info(DataType::kInt32, {16})},
      {Info(DataType::kInt8, {1, 16, 40, 48})});
  REQUIRE(q.kind == hw::LayerKind::kArray);
  CHECK(q.gemm.precision == Precision::kInt8);
  CHECK(f.gemm.precision == Precision::kFp32);
  CHECK(q.gemm.groups == 2);
  CHECK(q.gemm.k == 16);          // C / group
  CHECK(q.gemm.m == 8 * 2 * 2);   // M / group * kernel
  CHECK(q.gemm.p == 20 * 24);     // input positions
  CHECK(q.gemm.Macs() == f.gemm.Macs());
  CHECK(q.gemm.input_bytes == 32 * 20 * 24);
  CHECK(f.gemm.input_bytes == 4 * q.gemm.input_bytes);
  CHECK(q.gemm.output_bytes == 16 * 40 * 48);
  CHECK(q.gemm.epilogue_ops_per_element == f.gemm.epilogue_ops_per_element + 2);
  CHECK(q.gemm.weight_bytes == 32 * 8 * 4 + 16 * 4);  // int8 weights + int32 bias
}

TEST_CASE("Int8Max / Int8Min are int8 vector layers", "[ops][int8]") {
  for (const char* type : {"Int8Max", "Int8Min"}) {
    const hw::LayerWorkload w = Describe(
        type, Attributes(),
        {Info(DataType::kInt8, {1, 8, 10, 10}), Info(DataType::kInt8, {1, 8, 10, 10}),
         Info(DataType::kInt8, {1, 8, 1, 1})},
        {Info(DataType::kInt8, {1, 8, 10, 10})});
    CAPTURE(type);
    REQUIRE(w.kind == hw::LayerKind::kVector);
    CHECK(w.vector.precision == Precision::kInt8);
    CHECK(w.vector.ops_per_element == 2.0 * 3 + 2);
    CHECK(w.vector.out_elements == 800);
    REQUIRE(w.vector.outputs.size() == 1);
    CHECK(w.vector.outputs[0].bytes == 800);
  }
}

}  // namespace
}  // namespace engine::ops
