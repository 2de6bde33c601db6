// Elementwise layers on the vector unit: activations (fusable into a
// Conv/Gemm epilogue), broadcasting binary arithmetic, Sum, Cast and the
// precision boundaries QuantizeLinear / DequantizeLinear. Costs are
// operations per output element: a compare, a multiply-add, or a few for the
// transcendental approximations (Sigmoid, Tanh) and the divide.
#include <algorithm>
#include <string>

#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

OpDef Activation(const std::string& type, double ops) {
  OpDef op;
  op.type = type;
  op.host = kernels::MakeUnaryDef(type);
  op.device = VectorDevice(ops);
  op.epilogue_activation = true;
  op.extent = ExtentRule::kElementwise;
  return op;
}

OpDef Binary(const std::string& type, double ops) {
  OpDef op;
  op.type = type;
  op.host = kernels::MakeBinaryDef(type);
  op.device = VectorDevice(ops);
  op.extent = ExtentRule::kElementwise;
  return op;
}

// PRelu before opset 7 applied a 1-D slope per channel (axis 1); the version
// converter keeps the slope as is, which numpy broadcasting would apply to
// the last axis. Reshape the constant slope to [C, 1, ..., 1].
absl::Status ImportPRelu(const ImportNode& node, ImportSink& sink) {
  std::vector<std::string> inputs = node.inputs;
  const Tensor* slope = inputs.size() == 2 ? sink.ConstantValue(inputs[1]) : nullptr;
  const int rank = inputs.empty() ? -1 : sink.RankOf(inputs[0]);
  if (node.source_opset < 7 && slope != nullptr && slope->shape().size() == 1 &&
      slope->num_elements() > 1 && rank >= 2) {
    Tensor t = *slope;
    Dims shape(static_cast<size_t>(rank - 1), 1);
    shape[0] = t.num_elements();
    t.Reshape(shape);
    const std::string name = inputs[1] + "__per_channel";
    sink.AddConstant(name, std::move(t));
    inputs[1] = name;
  }
  return sink.AddLayer(node.name, "PRelu", node.attrs, inputs, node.outputs);
}

}  // namespace

OpDef ReluOp() {
  OpDef op = Activation("Relu", 1);
  op.int8.role = Int8Role::kPassThrough;  // max(0, x) commutes with a positive scale
  return op;
}
OpDef LeakyReluOp() { return Activation("LeakyRelu", 2); }
OpDef ClipOp() { return Activation("Clip", 2); }
OpDef SigmoidOp() { return Activation("Sigmoid", 4); }
OpDef TanhOp() { return Activation("Tanh", 4); }
OpDef HardSigmoidOp() { return Activation("HardSigmoid", 3); }
OpDef HardSwishOp() { return Activation("HardSwish", 4); }
// Swish-24, x * Sigmoid(alpha * x): the Sigmoid's 4 plus the multiply (and the
// scale when alpha != 1). The fuse-swish pass also makes it from PyTorch's
// exported SiLU, Mul(x, Sigmoid(x)).
OpDef SwishOp() {
  OpDef op = Activation("Swish", 5);
  op.min_opset = 24;
  return op;
}

OpDef AddOp() { return Binary("Add", 1); }
OpDef SubOp() { return Binary("Sub", 1); }
OpDef MulOp() { return Binary("Mul", 1); }
OpDef DivOp() { return Binary("Div", 4); }
OpDef PReluOp() {
  OpDef op = Binary("PRelu", 2);
  op.import = ImportPRelu;
  return op;
}

OpDef SumOp() {
  OpDef op;
  op.type = "Sum";
  op.host = kernels::MakeSumDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    return std::max<double>(1, static_cast<double>(n.inputs.size()) - 1.0);
  };
  op.extent = ExtentRule::kElementwise;
  return op;
}

OpDef CastOp() {
  OpDef op;
  op.type = "Cast";
  op.host = kernels::MakeCastDef();
  op.device = VectorDevice(1);
  op.extent = ExtentRule::kElementwise;
  return op;
}

// CastLike: Cast to the dtype of its second input (one conversion per
// element, as Cast); the second input's values are never read, but the
// generic vector description still counts its bytes as input traffic.
OpDef CastLikeOp() {
  OpDef op;
  op.type = "CastLike";
  op.min_opset = 15;
  op.host = kernels::MakeCastLikeDef();
  op.device = VectorDevice(1);
  op.extent = ExtentRule::kElementwise;
  return op;
}

// Precision boundaries: divide, round, add the zero point, clamp (4); subtract
// the zero point, multiply (2).
OpDef QuantizeLinearOp() {
  OpDef op;
  op.type = "QuantizeLinear";
  op.host = kernels::MakeQuantizeLinearDef();
  op.device = VectorDevice(4);
  return op;
}

// DynamicQuantizeLinear: a min/max pass and a quantize pass over x (1 + 4
// vector operations per element, as QuantizeLinear plus the reduction).
OpDef DynamicQuantizeLinearOp() {
  OpDef op;
  op.type = "DynamicQuantizeLinear";
  op.min_opset = 11;
  op.host = kernels::MakeDynamicQuantizeLinearDef();
  op.device = VectorDevice(5);
  return op;
}

OpDef DequantizeLinearOp() {
  OpDef op;
  op.type = "DequantizeLinear";
  op.host = kernels::MakeDequantizeLinearDef();
  op.device = VectorDevice(2);
  return op;
}

}  // namespace engine::ops
