// DescribeDeviceWork for layers with several outputs: the vector workload
// carries every present output (plan tensor index and bytes), in the layer's
// output order, and tiles over the first output's elements.
#include <catch2/catch.hpp>

#include <vector>

#include "kernels/kernel.h"
#include "ops/op_def.h"
#include "ops/op_registry.h"

namespace engine::ops {
namespace {

kernels::TensorInfo Info(DataType dtype, Dims shape, const Tensor* constant = nullptr) {
  kernels::TensorInfo t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.constant = constant;
  return t;
}

kernels::TensorInfo Absent() {
  kernels::TensorInfo t;
  t.present = false;
  return t;
}

Tensor Int64s(const std::vector<int64_t>& v) {
  Tensor t(DataType::kInt64, Dims{static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data_as<int64_t>()[i] = v[i];
  return t;
}

hw::LayerWorkload Describe(const LayerView& view) {
  const OpDef* def = OpRegistry::Builtin().Find(view.type);
  REQUIRE(def != nullptr);
  auto w = DescribeDeviceWork(*def, view, nullptr);
  INFO(w.status().ToString());
  REQUIRE(w.ok());
  return *w;
}

TEST_CASE("A Split's vector workload writes every part", "[ops][multi-output]") {
  const Tensor split = Int64s({2, 4, 6});
  Attributes attrs;
  attrs.Set("axis", int64_t{1});
  const std::vector<kernels::TensorInfo> inputs = {Info(DataType::kFloat32, {1, 12, 8, 8}),
                                                   Info(DataType::kInt64, {3}, &split)};
  const std::vector<kernels::TensorInfo> outputs = {Info(DataType::kFloat32, {1, 2, 8, 8}),
                                                    Info(DataType::kFloat32, {1, 4, 8, 8}),
                                                    Info(DataType::kFloat32, {1, 6, 8, 8})};
  const std::vector<int32_t> in_tensors = {10, 11}, out_tensors = {20, 21, 22};
  const hw::LayerWorkload w =
      Describe({"split", "Split", attrs, inputs, outputs, in_tensors, out_tensors});
  REQUIRE(w.kind == hw::LayerKind::kDma);
  const hw::VectorWorkload& v = w.vector;
  REQUIRE(v.outputs.size() == 3);
  CHECK(v.outputs[0].tensor == 20);
  CHECK(v.outputs[1].tensor == 21);
  CHECK(v.outputs[2].tensor == 22);
  CHECK(v.outputs[0].bytes == 2 * 64 * 4);
  CHECK(v.outputs[1].bytes == 4 * 64 * 4);
  CHECK(v.outputs[2].bytes == 6 * 64 * 4);
  CHECK(v.OutputBytes() == 12 * 64 * 4);  // = the input's bytes
  CHECK(v.InputBytes() == 12 * 64 * 4);   // the split sizes are read by the host
  CHECK(v.out_elements == 2 * 64);        // tiles run over the first part
}

TEST_CASE("TopK writes values and indices, LayerNormalization its present statistics",
          "[ops][multi-output]") {
  SECTION("TopK") {
    const Tensor k = Int64s({3});
    Attributes attrs;
    const std::vector<kernels::TensorInfo> inputs = {Info(DataType::kFloat32, {4, 32}),
                                                     Info(DataType::kInt64, {1}, &k)};
    const std::vector<kernels::TensorInfo> outputs = {Info(DataType::kFloat32, {4, 3}),
                                                      Info(DataType::kInt64, {4, 3})};
    const std::vector<int32_t> in_tensors = {0, 1}, out_tensors = {2, 3};
    const hw::LayerWorkload w =
        Describe({"topk", "TopK", attrs, inputs, outputs, in_tensors, out_tensors});
    REQUIRE(w.kind == hw::LayerKind::kVector);
    REQUIRE(w.vector.outputs.size() == 2);
    CHECK(w.vector.outputs[0].tensor == 2);
    CHECK(w.vector.outputs[0].bytes == 4 * 3 * 4);
    CHECK(w.vector.outputs[1].tensor == 3);
    CHECK(w.vector.outputs[1].bytes == 4 * 3 * 8);
    CHECK(w.vector.OutputBytes() == 4 * 3 * 12);
    CHECK(w.vector.out_elements == 12);
  }
  SECTION("LayerNormalization with Mean, without InvStdDev") {
    Attributes attrs;
    attrs.Set("axis", int64_t{-1});
    const std::vector<kernels::TensorInfo> inputs = {Info(DataType::kFloat32, {8, 64}),
                                                     Info(DataType::kFloat32, {64})};
    const std::vector<kernels::TensorInfo> outputs = {Info(DataType::kFloat32, {8, 64}),
                                                      Info(DataType::kFloat32, {8, 1}), Absent()};
    const std::vector<int32_t> in_tensors = {0, 1}, out_tensors = {2, 3, -1};
    const hw::LayerWorkload w = Describe(
        {"ln", "LayerNormalization", attrs, inputs, outputs, in_tensors, out_tensors});
    REQUIRE(w.vector.outputs.size() == 2);  // the absent InvStdDev is not written
    CHECK(w.vector.outputs[0].tensor == 2);
    CHECK(w.vector.outputs[0].bytes == 8 * 64 * 4);
    CHECK(w.vector.outputs[1].tensor == 3);
    CHECK(w.vector.outputs[1].bytes == 8 * 4);
  }
  SECTION("A single-output layer has one output") {
    Attributes attrs;
    const std::vector<kernels::TensorInfo> inputs = {Info(DataType::kFloat32, {2, 5})};
    const std::vector<kernels::TensorInfo> outputs = {Info(DataType::kFloat32, {2, 5})};
    const std::vector<int32_t> in_tensors = {0}, out_tensors = {1};
    const hw::LayerWorkload w =
        Describe({"relu", "Relu", attrs, inputs, outputs, in_tensors, out_tensors});
    REQUIRE(w.vector.outputs.size() == 1);
    CHECK(w.vector.outputs[0].tensor == 1);
    CHECK(w.vector.OutputBytes() == 40);
  }
}

}  // namespace
}  // namespace engine::ops
