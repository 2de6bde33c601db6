// fp16 / bf16 transformer layers on the modeled accelerator: a fused
// Attention, a LayerNormalization and a Gelu that carry the builder's
// "precision" attribute (fp16_phase.h) count their float32 tensors at 2 bytes
// per element (common/reduced_float.h: 2-byte storage in DRAM and SRAM), so
// every DMA / SRAM byte count of the workload is half the FP32 layer's, and
// the mapped layer's compulsory DRAM traffic halves.
#include <catch2/catch.hpp>

#include "codegen/mapper.h"
#include "codegen/workload.h"
#include "kernels/kernel.h"
#include "ops/op_registry.h"

namespace engine::codegen {
namespace {

struct Layer {
  std::vector<kernels::TensorInfo> inputs, outputs;
  std::vector<int32_t> in_tensors, out_tensors;
  Attributes attrs;
};

absl::StatusOr<hw::LayerWorkload> Describe(const char* type, const Layer& l) {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find(type);
  REQUIRE(def != nullptr);
  const ops::LayerView view{"layer", type, l.attrs, l.inputs, l.outputs, l.in_tensors,
                            l.out_tensors};
  return ops::DescribeDeviceWork(*def, view, nullptr);
}

// BERT-small-like attention: B 1, 4 heads, seq 128, head 64, packed [1, 128, 256].
Layer AttentionLayer(const char* precision) {
  Layer l;
  l.inputs = {{DataType::kFloat32, {1, 128, 256}}, {DataType::kFloat32, {1, 128, 256}},
              {DataType::kFloat32, {1, 128, 256}}, {DataType::kFloat32, {1, 1, 1, 128}}};
  l.outputs = {{DataType::kFloat32, {1, 128, 256}}};
  l.in_tensors = {0, 1, 2, 3};
  l.out_tensors = {4};
  l.attrs.Set("num_heads", int64_t{4});
  l.attrs.Set("output_packed", int64_t{1});
  if (precision != nullptr) l.attrs.Set("precision", std::string(precision));
  return l;
}

// Every byte count of a workload (and of its pieces), in a fixed order.
void Bytes(const hw::LayerWorkload& w, std::vector<int64_t>& out) {
  if (w.kind == hw::LayerKind::kArray) {
    out.insert(out.end(), {w.gemm.input_bytes, w.gemm.weight_bytes, w.gemm.output_bytes,
                           w.gemm.residual_bytes});
  } else {
    for (const auto& in : w.vector.inputs) out.push_back(in.bytes);
    for (const auto& o : w.vector.outputs) out.push_back(o.bytes);
  }
  out.push_back(w.resident_bytes);
  for (const hw::LayerWorkload& p : w.parts) Bytes(p, out);
}

void CheckHalved(const char* type, const Layer& fp32, const Layer& half) {
  auto w32 = Describe(type, fp32);
  auto w16 = Describe(type, half);
  REQUIRE(w32.ok());
  REQUIRE(w16.ok());
  std::vector<int64_t> b32, b16;
  Bytes(*w32, b32);
  Bytes(*w16, b16);
  REQUIRE(b32.size() == b16.size());
  int64_t total = 0;
  for (size_t i = 0; i < b32.size(); ++i) {
    CAPTURE(type, i);
    CHECK(b16[i] * 2 == b32[i]);
    total += b32[i];
  }
  CHECK(total > 0);
  auto hw = ParseHardwareSpec("edge");
  REQUIRE(hw.ok());
  auto m32 = ChooseMapping(*hw, *w32, Objective::kLatency);
  auto m16 = ChooseMapping(*hw, *w16, Objective::kLatency);
  REQUIRE(m32.ok());
  REQUIRE(m16.ok());
  CAPTURE(type, m32->min_dram_bytes, m16->min_dram_bytes);
  CHECK(m16->min_dram_bytes * 2 == m32->min_dram_bytes);
  CHECK(m16->chosen.energy_pj < m32->chosen.energy_pj);
}

TEST_CASE("fp16 and bf16 Attention count 2-byte Q, K, V, mask, scores and Y", "[codegen][fp16]") {
  const Layer fp32 = AttentionLayer(nullptr);
  for (const char* p : {"fp16", "bf16"}) {
    auto w = Describe("Attention", AttentionLayer(p));
    REQUIRE(w.ok());
    REQUIRE(w->parts.size() == 3);
    CHECK(w->parts[0].gemm.input_bytes == 128 * 256 * 2);  // Q
    CHECK(w->parts[0].gemm.weight_bytes == 128 * 256 * 2);  // K
    CHECK(w->parts[1].vector.inputs.at(1).bytes == 128 * 2);  // mask
    CHECK(w->parts[2].gemm.output_bytes == 128 * 256 * 2);  // Y
    CHECK(w->resident_bytes == 4 * 128 * 128 * 2);  // scores
    CheckHalved("Attention", fp32, AttentionLayer(p));
  }
}

TEST_CASE("fp16 and bf16 LayerNormalization and Gelu count 2-byte activations",
          "[codegen][fp16]") {
  for (const char* p : {"fp16", "bf16"}) {
    Layer ln;
    ln.inputs = {{DataType::kFloat32, {1, 128, 256}}, {DataType::kFloat32, {256}},
                 {DataType::kFloat32, {256}}};
    ln.outputs = {{DataType::kFloat32, {1, 128, 256}}};
    ln.in_tensors = {0, 1, 2};
    ln.out_tensors = {3};
    ln.attrs.Set("axis", int64_t{-1});
    Layer ln16 = ln;
    ln16.attrs.Set("precision", std::string(p));
    CheckHalved("LayerNormalization", ln, ln16);

    Layer gelu;
    gelu.inputs = {{DataType::kFloat32, {1, 128, 1024}}};
    gelu.outputs = {{DataType::kFloat32, {1, 128, 1024}}};
    gelu.in_tensors = {0};
    gelu.out_tensors = {1};
    Layer gelu16 = gelu;
    gelu16.attrs.Set("precision", std::string(p));
    CheckHalved("Gelu", gelu, gelu16);
  }
}

}  // namespace
}  // namespace engine::codegen
