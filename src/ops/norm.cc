// Normalization on the vector unit: BatchNormalization (a multiply-add per
// element), Softmax (exp, sum, divide: 5 ops per element, whole rows on
// chip), LRN (2 * size + 3 ops per element, whole channel planes on chip).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// Inference-mode BatchNormalization: training outputs must be unused.
absl::Status ImportBatchNormalization(const ImportNode& node, ImportSink& sink) {
  if (node.attrs.Int("training_mode", 0) != 0) {
    return absl::UnimplementedError("BatchNormalization with training_mode=1");
  }
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (!node.outputs[i].empty()) {
      return absl::UnimplementedError(absl::StrCat("output ", i, " ('", node.outputs[i],
                                                   "') is not supported at inference"));
    }
  }
  Attributes attrs = node.attrs;
  for (const char* a : {"momentum", "training_mode", "spatial"}) attrs.Erase(a);
  return sink.AddLayer(node.name, "BatchNormalization", std::move(attrs), node.inputs,
                       {node.outputs[0]});
}

}  // namespace

OpDef BatchNormalizationOp() {
  OpDef op;
  op.type = "BatchNormalization";
  op.import = ImportBatchNormalization;
  op.host = kernels::MakeBatchNormalizationDef();
  op.device = VectorDevice(2);
  return op;
}

OpDef SoftmaxOp() {
  OpDef op;
  op.type = "Softmax";
  op.host = kernels::MakeSoftmaxDef();
  op.device = VectorDevice(5);
  op.device.tile_unit = [](const LayerView& n) -> int64_t {
    const Dims& out = n.outputs[0].shape;
    if (out.empty()) return 1;
    int64_t axis = n.attrs.Int("axis", -1);
    if (axis < 0) axis += static_cast<int64_t>(out.size());
    return out[static_cast<size_t>(std::clamp<int64_t>(axis, 0, out.size() - 1))];
  };
  return op;
}

OpDef LrnOp() {
  OpDef op;
  op.type = "LRN";
  op.host = kernels::MakeLrnDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    return 2.0 * static_cast<double>(n.attrs.Int("size", 1)) + 3;
  };
  op.device.tile_unit = [](const LayerView& n) -> int64_t {
    const Dims& out = n.outputs[0].shape;
    return out.size() >= 3 ? Prod(out, 2) : 1;
  };
  return op;
}

}  // namespace engine::ops
