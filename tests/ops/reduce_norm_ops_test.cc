// The op records of the reductions, search and normalization family
// (src/ops/reduce.cc, src/ops/normalization.cc): accelerator costs and tile
// units follow the stated formulas, INT8 roles, and the importers' rewrites.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "ops/op_def.h"
#include "ops/op_registry.h"

namespace engine::ops {
namespace {

kernels::TensorInfo Info(Dims shape) {
  kernels::TensorInfo t;
  t.dtype = DataType::kFloat32;
  t.shape = std::move(shape);
  return t;
}

struct Costs {
  double ops = 0;
  int64_t tile_unit = 1;
};

Costs CostOf(const std::string& type, const Attributes& attrs, std::vector<Dims> ins,
             std::vector<Dims> outs) {
  const OpDef* def = OpRegistry::Builtin().Find(type);
  REQUIRE(def != nullptr);
  REQUIRE(def->device.unit == hw::LayerKind::kVector);
  std::vector<kernels::TensorInfo> in, out;
  for (Dims& d : ins) in.push_back(Info(std::move(d)));
  for (Dims& d : outs) out.push_back(Info(std::move(d)));
  LayerView v{"layer", type, attrs, in, out, {}, {}};
  Costs c;
  c.ops = def->device.ops_per_element ? def->device.ops_per_element(v) : 0;
  c.tile_unit = def->device.tile_unit ? def->device.tile_unit(v) : 1;
  return c;
}

TEST_CASE("Reductions cost about the reduced extent per output element", "[ops][reduce]") {
  // ReduceMean over H, W of [1, 64, 7, 7]: 49 adds and a multiply.
  CHECK(CostOf("ReduceMean", Attributes(), {{1, 64, 7, 7}, {2}}, {{1, 64, 1, 1}}).ops == 50);
  CHECK(CostOf("ReduceSum", Attributes(), {{8, 10}}, {{8}}).ops == 10);
  CHECK(CostOf("ReduceL2", Attributes(), {{8, 10}}, {{8}}).ops == 2 * 10 + 4);
  CHECK(CostOf("ArgMax", Attributes(), {{8, 10}}, {{8, 1}}).ops == 20);
  CHECK(CostOf("ReduceMax", Attributes(), {{8, 10}}, {{8}}).tile_unit == 1);
  // TopK K = 4 of 16 along axis 1: (16 / 4 + 1) * 2; tiles of K outputs.
  Attributes topk;
  topk.Set("axis", int64_t{1});
  const Costs t = CostOf("TopK", topk, {{3, 16, 2}, {1}}, {{3, 4, 2}, {3, 4, 2}});
  CHECK(t.ops == 10);
  CHECK(t.tile_unit == 4);
  CHECK(CostOf("CumSum", Attributes(), {{3, 16}, {}}, {{3, 16}}).ops == 1);
}

TEST_CASE("Normalizations keep the normalized extent on chip", "[ops][normalization]") {
  const Costs in = CostOf("InstanceNormalization", Attributes(), {{2, 8, 5, 6}, {8}, {8}},
                          {{2, 8, 5, 6}});
  CHECK(in.tile_unit == 30);
  CHECK(in.ops == 4);
  Attributes ln;
  ln.Set("axis", int64_t{-2});
  const Costs l = CostOf("LayerNormalization", ln, {{2, 3, 4}, {3, 4}, {3, 4}}, {{2, 3, 4}});
  CHECK(l.tile_unit == 12);
  CHECK(l.ops == 7);
  Attributes gn;
  gn.Set("num_groups", int64_t{2});
  CHECK(CostOf("GroupNormalization", gn, {{1, 8, 3, 3}, {8}, {8}}, {{1, 8, 3, 3}}).tile_unit ==
        36);
  CHECK(CostOf("LpNormalization", Attributes(), {{4, 9}}, {{4, 9}}).tile_unit == 9);
  // MVN's default axes [0, 2, 3] span the whole tensor.
  CHECK(CostOf("MeanVarianceNormalization", Attributes(), {{2, 3, 4, 4}}, {{2, 3, 4, 4}})
            .tile_unit == 96);
  Attributes lp;
  lp.Set("kernel_shape", std::vector<int64_t>{3, 3});
  CHECK(CostOf("LpPool", lp, {{1, 2, 8, 8}}, {{1, 2, 6, 6}}).ops == 9 * 1 + 4);
  CHECK(CostOf("GlobalLpPool", Attributes(), {{1, 2, 8, 8}}, {{1, 2, 1, 1}}).ops == 64 + 4);
}

TEST_CASE("ReduceMax and ReduceMin pass INT8 through, the rest stays FP32", "[ops][reduce]") {
  const OpRegistry& r = OpRegistry::Builtin();
  CHECK(r.Find("ReduceMax")->int8.role == Int8Role::kPassThrough);
  CHECK(r.Find("ReduceMin")->int8.role == Int8Role::kPassThrough);
  for (const char* t : {"ReduceMean", "ReduceSum", "LayerNormalization", "TopK", "ArgMax"}) {
    CAPTURE(t);
    CHECK(r.Find(t)->int8.role == Int8Role::kFloat);
  }
}

// Records the layers an importer adds.
class RecordingSink final : public ImportSink {
 public:
  struct Layer {
    std::string type;
    Attributes attrs;
    std::vector<std::string> inputs, outputs;
  };
  std::vector<Layer> layers;
  const Tensor* ConstantValue(const std::string&) override { return nullptr; }
  int RankOf(const std::string&) override { return -1; }
  absl::Status AddLayer(const std::string&, const std::string& type, Attributes attrs,
                        const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) override {
    layers.push_back({type, std::move(attrs), inputs, outputs});
    return absl::OkStatus();
  }
  void AddConstant(const std::string&, Tensor) override {}
};

TEST_CASE("LayerNormalization and GroupNormalization importers", "[ops][normalization]") {
  const OpRegistry& r = OpRegistry::Builtin();
  ImportNode ln;
  ln.name = "ln";
  ln.op_type = "LayerNormalization";
  ln.opset = 17;
  ln.inputs = {"x", "s", "b"};
  ln.outputs = {"y", "", "inv"};
  RecordingSink sink;
  REQUIRE(r.Find("LayerNormalization")->import(ln, sink).ok());
  REQUIRE(sink.layers.size() == 1);
  CHECK(sink.layers[0].attrs.Int("num_outputs", 0) == 3);
  CHECK(sink.layers[0].outputs[0] == "y");
  CHECK_FALSE(sink.layers[0].outputs[1].empty());  // a generated name for the unused Mean
  ln.outputs = {"y", "", ""};
  REQUIRE(r.Find("LayerNormalization")->import(ln, sink).ok());
  CHECK(sink.layers[1].attrs.Int("num_outputs", 0) == 1);
  CHECK(sink.layers[1].outputs.size() == 1);

  ImportNode gn;
  gn.name = "gn";
  gn.op_type = "GroupNormalization";
  gn.inputs = {"x", "s", "b"};
  gn.outputs = {"y"};
  gn.attrs.Set("num_groups", int64_t{2});
  for (int opset : {18, 21}) {
    gn.opset = opset;
    RecordingSink s;
    REQUIRE(r.Find("GroupNormalization")->import(gn, s).ok());
    CHECK(s.layers[0].attrs.Int("scale_per_group", -1) == (opset < 21 ? 1 : 0));
  }
}

}  // namespace
}  // namespace engine::ops
