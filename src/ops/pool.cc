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

// MaxPool with its optional second output Indices used becomes the engine's
// MaxPoolWithIndices layer (outputs Y and Indices; an omitted Y gets a
// private name); otherwise the plain MaxPool layer.
absl::Status ImportMaxPool(const ImportNode& node, ImportSink& sink) {
  if (node.outputs.size() > 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("MaxPool has at most 2 outputs, got ", node.outputs.size()));
  }
  if (node.outputs.size() == 2 && !node.outputs[1].empty()) {
    std::string y = node.outputs[0];
    if (y.empty()) y = absl::StrCat(node.name, "/unused_Y");
    return sink.AddLayer(node.name, "MaxPoolWithIndices", node.attrs, node.inputs,
                         {y, node.outputs[1]});
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

// MaxPool's window search plus one int64 position per output element: the
// same vector work as MaxPool (one compare-and-select per tap; the position
// is a register beside the running maximum); the Indices bytes are outputs.
// Not importable: the MaxPool importer writes it. INT8: kFloat (the default).
OpDef MaxPoolWithIndicesOp() {
  OpDef op = PoolOp("MaxPoolWithIndices", false);
  op.importable = false;
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
