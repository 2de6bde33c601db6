// Matrix products: Gemm, MatMul, the engine's Int8Gemm, and the imported ONNX
// quantized products QLinearMatMul and MatMulInteger, on the systolic array.
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// Gemm: Y [P, M] = A [P, K] (or A^T with transA) x B + C; C is the bias.
// An N-D A [..., K] (engine extension, transA = 0) is one GEMM with
// P = the product of Y's leading dims (the rows), as for a 2-D weight MatMul.
void GemmGeometry(const LayerView& n, hw::GemmWorkload& g) {
  const Dims& a = n.inputs[0].shape;
  const Dims& y = n.outputs[0].shape;
  const bool trans_a = n.attrs.Int("transA", 0) != 0;
  g.k = trans_a ? a[0] : a.back();
  g.m = y.back();
  g.p = Prod(y, 0, y.size() - 1);
  if (n.Has(2)) g.bias_bytes = ByteSize(n.inputs[2]);
  g.out_w = g.p;
}

// Int8Gemm: X [..., K] x W [N, K]^T (+ bias [N]).
void Int8GemmGeometry(const LayerView& n, hw::GemmWorkload& g) {
  const Dims& a = n.inputs[0].shape;
  const Dims& b = n.inputs[1].shape;
  g.k = b[1];
  g.m = b[0];
  g.p = Prod(a, 0, a.size() - 1);
  if (n.Has(2)) g.bias_bytes = ByteSize(n.inputs[2]);
  g.out_w = g.p;
}

// numpy matmul: A [..., P, K] x B [..., K, M]; `weight_input` is B's position.
GemmGeometryFn MatMulGeometry(size_t weight_input) {
  return [weight_input](const LayerView& n, hw::GemmWorkload& g) {
    const Dims& a = n.inputs[0].shape;
    const Dims& b = n.inputs[weight_input].shape;
    const Dims& y = n.outputs[0].shape;
    g.k = a.back();
    g.m = b.size() >= 2 ? b.back() : 1;
    const int64_t rows = a.size() >= 2 ? a[a.size() - 2] : 1;
    if (b.size() <= 2) {
      g.p = Prod(a, 0, a.size() - 1);  // batch dims fold into P: shared weights
    } else {
      g.groups = Prod(y, 0, y.size() - 2);  // batched weights: one product per batch
      g.p = rows;
    }
    g.out_w = g.p;
  };
}

DeviceSpec ArrayDevice(GemmGeometryFn geometry, int weight_input, int bias_input,
                       bool int8_operands, bool requantizes) {
  DeviceSpec d;
  d.unit = hw::LayerKind::kArray;
  d.gemm = std::move(geometry);
  d.weight_input = weight_input;
  d.bias_input = bias_input;
  d.int8_operands = int8_operands;
  d.requantizes = requantizes;
  return d;
}

}  // namespace

OpDef GemmOp() {
  OpDef op;
  op.type = "Gemm";
  op.host = kernels::MakeGemmDef();
  op.device = ArrayDevice(GemmGeometry, 1, 2, false, false);
  // Input 3: the residual fuse-residual adds in the epilogue (kernels/gemm.cc).
  op.device.residual_input = 3;
  op.int8.role = Int8Role::kMatrixProduct;
  return op;
}

OpDef MatMulOp() {
  OpDef op;
  op.type = "MatMul";
  op.host = kernels::MakeMatMulDef();
  op.device = ArrayDevice(MatMulGeometry(1), 1, -1, false, false);
  op.int8.role = Int8Role::kMatrixProduct;
  return op;
}

OpDef Int8GemmOp() {
  OpDef op;
  op.type = "Int8Gemm";
  op.importable = false;
  op.host = kernels::MakeInt8GemmDef();
  op.device = ArrayDevice(Int8GemmGeometry, 1, 2, true, true);
  // Input 3: the int8 residual, requantized and added in the epilogue.
  op.device.residual_input = 3;
  return op;
}

OpDef QLinearMatMulOp() {
  OpDef op;
  op.type = "QLinearMatMul";
  op.host = kernels::MakeQLinearMatMulDef();
  // (a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point)
  op.device = ArrayDevice(MatMulGeometry(3), 3, -1, false, true);
  return op;
}

OpDef MatMulIntegerOp() {
  OpDef op;
  op.type = "MatMulInteger";
  op.host = kernels::MakeMatMulIntegerDef();
  op.device = ArrayDevice(MatMulGeometry(1), 1, -1, true, false);
  return op;
}

}  // namespace engine::ops
