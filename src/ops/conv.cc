// Convolutions: Conv, the engine's Int8Conv, and the imported ONNX quantized
// convolutions QLinearConv and ConvInteger. All run on the systolic array as
// `groups` products of a K x M weight matrix by a K x P im2col matrix.
#include <algorithm>
#include <vector>

#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// Conv's operand layout: X [N, C, spatial...], W [M, C/group, kernel...],
// Y [N, M, out spatial...]; `weight_input` is W's position.
GemmGeometryFn ConvGeometry(size_t weight_input, int bias_input) {
  return [weight_input, bias_input](const LayerView& n, hw::GemmWorkload& g) {
    const Dims& x = n.inputs[0].shape;
    const Dims& w = n.inputs[weight_input].shape;
    const Dims& y = n.outputs[0].shape;
    const int64_t group = n.attrs.Int("group", 1);
    // Shape inference guarantees rank >= 3 for X, W and Y; saturate anyway.
    const size_t spatial = x.size() > 2 ? x.size() - 2 : 0;
    g.groups = group;
    g.k = Prod(w, 1);
    g.m = w[0] / group;
    g.batch = x[0];
    g.p = g.batch * Prod(y, 2);
    const std::vector<int64_t> ones(spatial, 1);
    const auto strides = n.attrs.Ints("strides", ones);
    const auto dilations = n.attrs.Ints("dilations", ones);
    if (spatial <= 2) {
      g.conv = true;
      const bool two_d = spatial == 2;  // 1-D convolutions are 1 x W
      g.in_h = two_d ? x[2] : 1;
      g.in_w = x[x.size() - 1];
      g.out_h = two_d ? y[2] : 1;
      g.out_w = y[y.size() - 1];
      g.kernel_h = two_d ? w[2] : 1;
      g.kernel_w = w[w.size() - 1];
      g.stride_h = two_d && !strides.empty() ? strides.front() : 1;
      g.stride_w = strides.empty() ? 1 : strides.back();
      g.dilation_h = two_d && !dilations.empty() ? dilations.front() : 1;
      g.dilation_w = dilations.empty() ? 1 : dilations.back();
    } else {
      // 3-D: tiles are sized by their im2col extent.
      g.out_h = 1;
      g.out_w = Prod(y, 2);
    }
    if (bias_input >= 0 && n.Has(static_cast<size_t>(bias_input))) {
      g.bias_bytes = ByteSize(n.inputs[static_cast<size_t>(bias_input)]) / group;
    }
  };
}

DeviceSpec ConvDevice(int weight_input, int bias_input, int residual_input, bool int8_operands,
                      bool requantizes) {
  DeviceSpec d;
  d.unit = hw::LayerKind::kArray;
  d.gemm = ConvGeometry(static_cast<size_t>(weight_input), bias_input);
  d.weight_input = weight_input;
  d.bias_input = bias_input;
  d.residual_input = residual_input;
  d.int8_operands = int8_operands;
  d.requantizes = requantizes;
  d.depthwise_vector_alternative = true;
  return d;
}

}  // namespace

OpDef ConvOp() {
  OpDef op;
  op.type = "Conv";
  op.host = kernels::MakeConvDef();
  // (X, W, B, optional fused residual R as input 3, written by fuse-residual)
  op.device = ConvDevice(1, 2, 3, false, false);
  op.int8.role = Int8Role::kConvProduct;
  return op;
}

OpDef Int8ConvOp() {
  OpDef op;
  op.type = "Int8Conv";
  op.importable = false;
  op.host = kernels::MakeInt8ConvDef();
  op.device = ConvDevice(1, 2, 3, true, true);
  return op;
}

OpDef QLinearConvOp() {
  OpDef op;
  op.type = "QLinearConv";
  op.host = kernels::MakeQLinearConvDef();
  // (x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
  // y_zero_point, B): input 3 is the weight, not a residual.
  op.device = ConvDevice(3, 8, -1, false, true);
  return op;
}

OpDef ConvIntegerOp() {
  OpDef op;
  op.type = "ConvInteger";
  op.host = kernels::MakeConvIntegerDef();
  // (x, w, x_zero_point, w_zero_point): no bias, no residual.
  op.device = ConvDevice(1, -1, -1, true, false);
  return op;
}

}  // namespace engine::ops
