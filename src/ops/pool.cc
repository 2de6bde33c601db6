// Pooling on the vector unit (one operation per window element): MaxPool,
// AveragePool, GlobalAveragePool, GlobalMaxPool and the engine's integer
// average pools Int8AveragePool / Int8GlobalAveragePool.
//
// MaxUnpool (kernel in src/kernels/reorder.cc) is a scatter on the vector
// unit, like ScatterND: the output is zero-filled (1 op per output element)
// and each input element moved to its index (X elements / Y elements ops per
// output element); X and I are read once (their bytes are inputs).
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

OpDef PoolOp(const std::string& type, bool global) {
  OpDef op;
  op.type = type;
  op.host = kernels::MakePoolDef(type);
  op.device.unit = hw::LayerKind::kVector;
  if (global) {  // the whole plane per output element
    op.device.ops_per_element = [](const LayerView& n) {
      return static_cast<double>(Prod(n.inputs[0].shape, 2));
    };
  } else {  // one window per output element
    op.device.ops_per_element = [](const LayerView& n) {
      return static_cast<double>(Prod(n.attrs.Ints("kernel_shape", {1})));
    };
  }
  return op;
}

// MaxPool's optional Indices output is a training-time feature.
absl::Status ImportMaxPool(const ImportNode& node, ImportSink& sink) {
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (!node.outputs[i].empty()) {
      return absl::UnimplementedError(absl::StrCat("output ", i, " ('", node.outputs[i],
                                                   "') is not supported at inference"));
    }
  }
  return sink.AddLayer(node.name, "MaxPool", node.attrs, node.inputs, {node.outputs[0]});
}

}  // namespace

OpDef MaxPoolOp() {
  OpDef op = PoolOp("MaxPool", false);
  op.import = ImportMaxPool;
  op.int8.role = Int8Role::kPassThrough;  // max commutes with a positive scale
  return op;
}

OpDef AveragePoolOp() {
  OpDef op = PoolOp("AveragePool", false);
  op.int8 = {Int8Role::kAveragePool, "Int8AveragePool"};
  return op;
}

OpDef GlobalAveragePoolOp() {
  OpDef op = PoolOp("GlobalAveragePool", true);
  op.int8 = {Int8Role::kAveragePool, "Int8GlobalAveragePool"};
  return op;
}

OpDef GlobalMaxPoolOp() { return PoolOp("GlobalMaxPool", true); }

OpDef MaxUnpoolOp() {
  OpDef op;
  op.type = "MaxUnpool";
  op.min_opset = 9;
  op.host = kernels::MakeMaxUnpoolDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    const double out = static_cast<double>(std::max<int64_t>(NumElements(n.outputs[0].shape), 1));
    return 1.0 + static_cast<double>(NumElements(n.inputs[0].shape)) / out;
  };
  return op;
}

OpDef Int8AveragePoolOp() {
  OpDef op = PoolOp("Int8AveragePool", false);
  op.importable = false;
  op.device.int8_operands = true;
  return op;
}

OpDef Int8GlobalAveragePoolOp() {
  OpDef op = PoolOp("Int8GlobalAveragePool", true);
  op.importable = false;
  op.device.int8_operands = true;
  return op;
}

}  // namespace engine::ops
