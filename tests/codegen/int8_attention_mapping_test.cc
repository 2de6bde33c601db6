// The Int8Attention composite (ops/attention.cc): the same three pieces as
// Attention, with int8 operands on the array, int32 scores and int8
// probabilities between them, the softmax on the fp32 vector unit with one
// more op per element, and a requantizing P.V epilogue; modeled faster and
// cheaper in energy than the FP32 layer of the same shape on edge and tpu-v1.
#include <catch2/catch.hpp>

#include "codegen/mapper.h"
#include "codegen/workload.h"
#include "kernels/kernel.h"
#include "ops/op_registry.h"

namespace engine::codegen {
namespace {

absl::StatusOr<hw::LayerWorkload> Describe(const char* type, DataType qkv, DataType y) {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find(type);
  REQUIRE(def != nullptr);
  // BERT-base-like: B 1, 12 heads, seq 128, head 64, packed [1, 128, 768].
  std::vector<kernels::TensorInfo> inputs(4), outputs(1);
  inputs[0] = {qkv, {1, 128, 768}};
  inputs[1] = {qkv, {1, 128, 768}};
  inputs[2] = {qkv, {1, 128, 768}};
  inputs[3] = {DataType::kFloat32, {1, 1, 1, 128}};
  outputs[0] = {y, {1, 128, 768}};
  static const std::vector<int32_t> in_tensors{0, 1, 2, 3}, out_tensors{4};
  static Attributes attrs;
  attrs.Set("num_heads", int64_t{12});
  attrs.Set("output_packed", int64_t{1});
  const ops::LayerView view{"attn", type, attrs, inputs, outputs, in_tensors, out_tensors};
  return ops::DescribeDeviceWork(*def, view, nullptr);
}

TEST_CASE("Int8Attention maps as int8 array GEMMs around an fp32 softmax", "[codegen]") {
  auto w8 = Describe("Int8Attention", DataType::kInt8, DataType::kInt8);
  auto w32 = Describe("Attention", DataType::kFloat32, DataType::kFloat32);
  REQUIRE(w8.ok());
  REQUIRE(w32.ok());
  REQUIRE(w8->parts.size() == 3);
  const hw::LayerWorkload &qk = w8->parts[0], &sm = w8->parts[1], &pv = w8->parts[2];
  const int64_t elems = 12 * 128 * 128;
  CHECK(qk.gemm.precision == Precision::kInt8);
  CHECK(pv.gemm.precision == Precision::kInt8);
  CHECK(qk.gemm.input_bytes == 128 * 768);  // int8 Q
  CHECK(qk.gemm.output_bytes == elems * 4);  // int32 scores
  CHECK(sm.vector.precision == Precision::kFp32);
  CHECK(sm.vector.ops_per_element == 8);  // softmax 5 + scale 1 + mask 1 + round to int8 1
  CHECK(sm.vector.outputs.at(0).bytes == elems);  // int8 probabilities
  CHECK(pv.gemm.input_bytes == elems);
  CHECK(pv.gemm.epilogue_ops_per_element == 2);  // requantization
  CHECK(pv.gemm.output_bytes == 128 * 768);
  CHECK(w8->resident_bytes == elems * 4);
  CHECK(w32->resident_bytes == elems * 4);

  for (const char* preset : {"edge", "tpu-v1"}) {
    CAPTURE(preset);
    auto hw = ParseHardwareSpec(preset);
    REQUIRE(hw.ok());
    auto m8 = ChooseMapping(*hw, *w8, Objective::kLatency);
    auto m32 = ChooseMapping(*hw, *w32, Objective::kLatency);
    REQUIRE(m8.ok());
    REQUIRE(m32.ok());
    CAPTURE(m8->chosen.cycles, m32->chosen.cycles, m8->chosen.energy_pj, m32->chosen.energy_pj);
    CHECK(m8->macs == m32->macs);
    CHECK(m8->chosen.cycles <= m32->chosen.cycles);
    CHECK(m8->chosen.energy_pj < m32->chosen.energy_pj);
  }
}

}  // namespace
}  // namespace engine::codegen
