// The accelerator mapping of the INT8 layers added for issue 17:
// Int8ConvTranspose without overlapping taps is one piece, the FP32
// ConvTranspose's array product (same groups, K, M, P and MACs) with int8
// operands, 1-byte input / weight / output bytes and 2 more epilogue ops per
// element (the requantization); with overlapping taps it is one stride-1
// convolution per output phase (sub-pixel decomposition) whose MACs, weight
// and output bytes add up to the layer's; Int8Max /
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
  REQUIRE(f.kind == hw::LayerKind::kArray);
  REQUIRE(q.kind == hw::LayerKind::kComposite);
  REQUIRE(q.parts.size() == 1);
  const hw::GemmWorkload& g = q.parts[0].gemm;
  CHECK(q.parts[0].kind == hw::LayerKind::kArray);
  CHECK(g.precision == Precision::kInt8);
  CHECK(f.gemm.precision == Precision::kFp32);
  CHECK(g.groups == 2);
  CHECK(g.k == 16);          // C / group
  CHECK(g.m == 8 * 2 * 2);   // M / group * kernel
  CHECK(g.p == 20 * 24);     // input positions
  CHECK(g.Macs() == f.gemm.Macs());
  CHECK(g.input_bytes == 32 * 20 * 24);
  CHECK(f.gemm.input_bytes == 4 * g.input_bytes);
  CHECK(g.output_bytes == 16 * 40 * 48);
  CHECK(g.epilogue_ops_per_element == f.gemm.epilogue_ops_per_element + 2);
  CHECK(g.weight_bytes == 32 * 8 * 4 + 16 * 4);  // int8 weights + int32 bias
}

TEST_CASE("Int8ConvTranspose with overlapping taps is one convolution per output phase",
          "[ops][int8]") {
  // 3x3 stride 2, pads 1, output_padding 1 (the decoder layer of fast neural
  // style and many segmentation nets): X [1, 16, 10, 12] -> Y [1, 8, 20, 24].
  Attributes a;
  a.Set("strides", std::vector<int64_t>{2, 2});
  a.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  a.Set("output_padding", std::vector<int64_t>{1, 1});
  const std::vector<kernels::TensorInfo> in = {Info(DataType::kInt8, {1, 16, 10, 12}),
                                               Info(DataType::kInt8, {16, 8, 3, 3}),
                                               Info(DataType::kInt32, {8})};
  const hw::LayerWorkload q = Describe("Int8ConvTranspose", a, in, {Info(DataType::kInt8, {1, 8, 20, 24})});
  REQUIRE(q.kind == hw::LayerKind::kComposite);
  REQUIRE(q.parts.size() == 4);
  // Output rows: even rows take the middle tap (1 tap), odd rows taps 0 and
  // 2 (2 taps); likewise for columns. Phase (r_h, r_w) has 10 x 12 outputs.
  const int64_t taps[4] = {1 * 1, 1 * 2, 2 * 1, 2 * 2};
  int64_t macs = 0, weight = 0, out = 0;
  for (size_t i = 0; i < 4; ++i) {
    const hw::GemmWorkload& g = q.parts[i].gemm;
    CAPTURE(q.parts[i].name);
    CHECK(q.parts[i].kind == hw::LayerKind::kArray);
    CHECK(g.precision == Precision::kInt8);
    CHECK(g.conv);
    CHECK(g.k == 16 * taps[i]);
    CHECK(g.m == 8);
    CHECK(g.out_h == 10);
    CHECK(g.out_w == 12);
    CHECK(g.p == 10 * 12);
    CHECK(g.kernel_h * g.kernel_w == taps[i]);
    CHECK(g.stride_h == 1);
    CHECK(g.input_bytes == 16 * 10 * 12);  // each phase reads all of X
    CHECK(g.epilogue_ops_per_element == 2);  // requantization only: no col2im
    macs += g.Macs();
    weight += g.weight_bytes - 8 * 4;  // minus each phase's bias load
    out += g.output_bytes;
  }
  CHECK(q.parts[0].name == "Int8ConvTranspose/phase0,0");
  CHECK(q.parts[3].name == "Int8ConvTranspose/phase1,1");
  CHECK(macs == 8 * 16 * 9 * 10 * 12);  // every tap of every input once
  CHECK(weight == 16 * 8 * 9);          // the sub-kernels partition W
  CHECK(out == 8 * 20 * 24);            // each output element stored once
  // Float output form: 4-byte stores, same int8 operands.
  const hw::LayerWorkload qf = Describe("Int8ConvTranspose", a, in, {Info(DataType::kFloat32, {1, 8, 20, 24})});
  REQUIRE(qf.parts.size() == 4);
  CHECK(qf.parts[3].gemm.output_bytes == 4 * 8 * 10 * 12);
  CHECK(qf.parts[3].gemm.precision == Precision::kInt8);
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
