#include "codegen/workload.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"

namespace engine::codegen {
namespace {

using hw::LayerKind;

int64_t Prod(const Dims& d, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < std::min(to, d.size()); ++i) p *= d[i];
  return p;
}

Precision PrecisionOf(DataType t) {
  switch (t) {
    case DataType::kInt8:
    case DataType::kUint8: return Precision::kInt8;
    case DataType::kFloat16: return Precision::kFp16;
    default: return Precision::kFp32;
  }
}

int64_t Bytes(const ir::Value* v) { return v ? static_cast<int64_t>(v->ByteSize()) : 0; }

// Operations per output element of a vector layer.
using OpsFn = std::function<double(const ir::Node&)>;

double Const(double v, const ir::Node&) { return v; }

double PoolOps(const ir::Node& n) {
  if (n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool" ||
      n.op_type == "Int8GlobalAveragePool") {
    return static_cast<double>(Prod(n.inputs[0]->shape, 2));
  }
  return static_cast<double>(Prod(n.attrs.Ints("kernel_shape", {1})));
}

// Tile unit of a vector layer: whole softmax rows (the normalized axis) and
// whole channel planes of LRN must be on chip together; elementwise and
// pooling layers tile freely (pooling windows' halos are small and counted
// in the proportional input bytes).
int64_t TileUnit(const ir::Node& n) {
  const Dims& out = n.outputs[0]->shape;
  if (n.op_type == "Softmax" && !out.empty()) {
    int64_t axis = n.attrs.Int("axis", -1);
    if (axis < 0) axis += static_cast<int64_t>(out.size());
    return out[static_cast<size_t>(std::clamp<int64_t>(axis, 0, out.size() - 1))];
  }
  if (n.op_type == "LRN" && out.size() >= 3) return Prod(out, 2);
  return 1;
}

struct LoweringEntry {
  const char* type;
  LayerKind kind;
  OpsFn ops;  // vector layers only
};

// The one list of layer types and the unit that runs them.
const std::vector<LoweringEntry>& Table() {
  using std::placeholders::_1;
  static const auto* table = new std::vector<LoweringEntry>{
      // Matrix work on the systolic array.
      {"Conv", LayerKind::kArray, nullptr},
      {"Gemm", LayerKind::kArray, nullptr},
      {"Int8Conv", LayerKind::kArray, nullptr},
      {"Int8Gemm", LayerKind::kArray, nullptr},
      {"MatMul", LayerKind::kArray, nullptr},
      // Imported ONNX quantized products: int8 convolutions and matrix products.
      {"QLinearConv", LayerKind::kArray, nullptr},
      {"ConvInteger", LayerKind::kArray, nullptr},
      {"QLinearMatMul", LayerKind::kArray, nullptr},
      {"MatMulInteger", LayerKind::kArray, nullptr},
      // Vector unit: activations (ops per element: a compare, a multiply-add
      // or a few for transcendental approximations).
      {"Relu", LayerKind::kVector, std::bind(Const, 1, _1)},
      {"LeakyRelu", LayerKind::kVector, std::bind(Const, 2, _1)},
      {"Clip", LayerKind::kVector, std::bind(Const, 2, _1)},
      {"Sigmoid", LayerKind::kVector, std::bind(Const, 4, _1)},
      {"Tanh", LayerKind::kVector, std::bind(Const, 4, _1)},
      {"HardSigmoid", LayerKind::kVector, std::bind(Const, 3, _1)},
      {"HardSwish", LayerKind::kVector, std::bind(Const, 4, _1)},
      {"PRelu", LayerKind::kVector, std::bind(Const, 2, _1)},
      {"Add", LayerKind::kVector, std::bind(Const, 1, _1)},
      {"Sub", LayerKind::kVector, std::bind(Const, 1, _1)},
      {"Mul", LayerKind::kVector, std::bind(Const, 1, _1)},
      {"Div", LayerKind::kVector, std::bind(Const, 4, _1)},
      {"Sum", LayerKind::kVector,
       [](const ir::Node& n) { return std::max<double>(1, n.inputs.size() - 1.0); }},
      {"Cast", LayerKind::kVector, std::bind(Const, 1, _1)},
      // Precision boundaries: divide, round, add the zero point, clamp; subtract
      // the zero point, multiply.
      {"QuantizeLinear", LayerKind::kVector, std::bind(Const, 4, _1)},
      {"DequantizeLinear", LayerKind::kVector, std::bind(Const, 2, _1)},
      // Vector unit: pooling (one op per window element) and normalization.
      {"MaxPool", LayerKind::kVector, PoolOps},
      {"AveragePool", LayerKind::kVector, PoolOps},
      {"GlobalAveragePool", LayerKind::kVector, PoolOps},
      {"Int8AveragePool", LayerKind::kVector, PoolOps},
      {"Int8GlobalAveragePool", LayerKind::kVector, PoolOps},
      {"GlobalMaxPool", LayerKind::kVector, PoolOps},
      {"BatchNormalization", LayerKind::kVector, std::bind(Const, 2, _1)},
      {"Softmax", LayerKind::kVector, std::bind(Const, 5, _1)},
      {"LRN", LayerKind::kVector,
       [](const ir::Node& n) { return 2.0 * static_cast<double>(n.attrs.Int("size", 1)) + 3; }},
      // DMA only: data movement.
      {"Transpose", LayerKind::kDma, nullptr},
      {"Concat", LayerKind::kDma, nullptr},
      {"Pad", LayerKind::kDma, nullptr},
      {"Slice", LayerKind::kDma, nullptr},
      {"Gather", LayerKind::kDma, nullptr},
      {"ConstantOfShape", LayerKind::kDma, nullptr},
      // Views: the output aliases the input; no device work.
      {"Identity", LayerKind::kView, nullptr},
      {"Flatten", LayerKind::kView, nullptr},
      {"Reshape", LayerKind::kView, nullptr},
      {"Squeeze", LayerKind::kView, nullptr},
      {"Unsqueeze", LayerKind::kView, nullptr},
      {"Shape", LayerKind::kView, nullptr},
  };
  return *table;
}

// Layer types with Conv's operand layout (X, W [M, C/group, kernel...], ...).
bool IsConvType(const std::string& type) {
  return type == "Conv" || type == "Int8Conv" || type == "QLinearConv" || type == "ConvInteger";
}

// Position of the weight operand: QLinearConv and QLinearMatMul take
// (x, x_scale, x_zero_point, w, ...), the others (x, w, ...).
size_t WeightInput(const std::string& type) {
  return type == "QLinearConv" || type == "QLinearMatMul" ? 3 : 1;
}

// Position of a convolution's bias operand; -1 when it has none.
int ConvBiasInput(const std::string& type) {
  if (type == "QLinearConv") return 8;
  return type == "ConvInteger" ? -1 : 2;
}

int32_t Index(const TensorIndex& index, const ir::Value* v) {
  if (v == nullptr) return -1;
  auto it = index.find(v);
  return it == index.end() ? -1 : it->second;
}

void DescribeConv(const ir::Node& n, hw::GemmWorkload& g) {
  const Dims& x = n.inputs[0]->shape;  // [N, C, spatial...]
  const Dims& w = n.inputs[WeightInput(n.op_type)]->shape;  // [M, C/group, kernel...]
  const Dims& y = n.outputs[0]->shape; // [N, M, out spatial...]
  const int64_t group = n.attrs.Int("group", 1);
  const size_t spatial = x.size() - 2;
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
    auto at = [&](const Dims& d, size_t off, size_t i) { return i < spatial ? d[off + i] : 1; };
    const size_t h = spatial == 2 ? 0 : 1;  // 1-D convolutions are 1 x W
    g.in_h = spatial == 2 ? x[2] : 1;
    g.in_w = x[x.size() - 1];
    g.out_h = spatial == 2 ? y[2] : 1;
    g.out_w = y[y.size() - 1];
    g.kernel_h = spatial == 2 ? w[2] : 1;
    g.kernel_w = w[w.size() - 1];
    g.stride_h = h == 0 ? at(strides, 0, 0) : 1;
    g.stride_w = strides.empty() ? 1 : strides.back();
    g.dilation_h = h == 0 ? at(dilations, 0, 0) : 1;
    g.dilation_w = dilations.empty() ? 1 : dilations.back();
  } else {
    // 3-D: tiles are sized by their im2col extent.
    g.out_h = 1;
    g.out_w = Prod(y, 2);
  }
  const int bias = ConvBiasInput(n.op_type);
  if (bias >= 0 && n.inputs.size() > static_cast<size_t>(bias) && n.inputs[bias] != nullptr) {
    g.bias_bytes = Bytes(n.inputs[bias]) / group;
  }
}

void DescribeGemm(const ir::Node& n, hw::GemmWorkload& g) {
  const Dims& a = n.inputs[0]->shape;
  const Dims& b = n.inputs[WeightInput(n.op_type)]->shape;
  const Dims& y = n.outputs[0]->shape;
  if (n.op_type == "Int8Gemm") {  // X [..., K] * W [N, K]^T
    g.k = b[1];
    g.m = b[0];
    g.p = Prod(a, 0, a.size() - 1);
    if (n.inputs.size() > 2 && n.inputs[2] != nullptr) g.bias_bytes = Bytes(n.inputs[2]);
  } else if (n.op_type == "Gemm") {
    const bool trans_a = n.attrs.Int("transA", 0) != 0;
    g.k = trans_a ? a[0] : a[1];
    g.m = y[1];
    g.p = y[0];
    if (n.inputs.size() > 2 && n.inputs[2] != nullptr) g.bias_bytes = Bytes(n.inputs[2]);
  } else {  // MatMul, numpy semantics: [..., P, K] x [..., K, M]
    const int64_t k = a.back();
    g.k = k;
    g.m = b.size() >= 2 ? b.back() : 1;
    const int64_t rows = a.size() >= 2 ? a[a.size() - 2] : 1;
    if (b.size() <= 2) {
      g.p = Prod(a, 0, a.size() - 1);  // batch dims fold into P: shared weights
    } else {
      g.groups = Prod(y, 0, y.size() - 2);  // batched weights: one product per batch
      g.p = rows;
    }
  }
  g.out_w = g.p;
}

}  // namespace

TensorIndex AssignTensorIndices(const ir::Graph& graph) {
  TensorIndex index;
  auto add = [&](const ir::Value* v) {
    if (v != nullptr && !index.contains(v)) index.emplace(v, static_cast<int32_t>(index.size()));
  };
  for (const ir::Value* v : graph.inputs()) add(v);
  for (const auto& node : graph.nodes()) {
    for (const ir::Value* v : node->inputs) add(v);
    for (const ir::Value* v : node->outputs) add(v);
  }
  for (const ir::Value* v : graph.outputs()) add(v);
  return index;
}

std::vector<std::string> LoweredLayerTypes() {
  std::vector<std::string> out;
  for (const auto& e : Table()) out.emplace_back(e.type);
  return out;
}

absl::StatusOr<hw::LayerWorkload> DescribeLayer(const ir::Node& node, const TensorIndex& index) {
  const LoweringEntry* entry = nullptr;
  for (const auto& e : Table()) {
    if (node.op_type == e.type) entry = &e;
  }
  if (entry == nullptr) {
    return absl::InternalError(
        absl::StrCat(node.Describe(), ": layer type has no accelerator lowering"));
  }
  hw::LayerWorkload w;
  w.name = node.name;
  w.type = node.op_type;
  w.kind = entry->kind;
  const ir::Value* out = node.outputs.empty() ? nullptr : node.outputs[0];
  // ConvInteger and MatMulInteger multiply int8 operands into int32 outputs;
  // the engine's Int8Conv / Int8Gemm compute in int8 whatever they write (the
  // float-output form dequantizes in its epilogue).
  const bool int8_operands = node.op_type == "ConvInteger" || node.op_type == "MatMulInteger" ||
                             node.op_type.rfind("Int8", 0) == 0;
  const Precision precision =
      int8_operands ? Precision::kInt8 : PrecisionOf(out ? out->dtype : DataType::kFloat32);
  // Views move no data; their precision is reported (the tensor's), not costed.
  w.vector.precision = precision;
  if (w.kind == LayerKind::kArray) {
    hw::GemmWorkload& g = w.gemm;
    g.precision = precision;
    if (IsConvType(node.op_type)) {
      DescribeConv(node, g);
    } else {
      DescribeGemm(node, g);
    }
    g.input_tensor = Index(index, node.inputs[0]);
    g.weight_tensor = Index(index, node.inputs[WeightInput(node.op_type)]);
    g.output_tensor = Index(index, out);
    // Fused epilogue, as the optimizer's fusion passes write it: attribute
    // "activation" names an activation layer type applied to the output, and
    // Conv's optional input 3 is a residual added before it.
    const std::string activation = node.attrs.Has("activation")
                                       ? std::get<std::string>(node.attrs.values().at("activation"))
                                       : std::string();
    if (!activation.empty()) {
      for (const auto& e : Table()) {
        if (activation == e.type && e.ops) g.epilogue_ops_per_element += e.ops(node);
      }
    }
    // Integer layers requantize every output element (a multiply and a
    // rounding shift) on the way out of the accumulators.
    if (node.op_type == "Int8Conv" || node.op_type == "Int8Gemm" ||
        node.op_type == "QLinearConv" || node.op_type == "QLinearMatMul") {
      g.epilogue_ops_per_element += 2;
    }
    // (Input 3 of QLinearConv and ConvInteger is a weight operand, not a residual.)
    if ((node.op_type == "Conv" || node.op_type == "Int8Conv") && node.inputs.size() > 3 &&
        node.inputs[3] != nullptr) {
      g.residual_tensor = Index(index, node.inputs[3]);
      g.residual_bytes = Bytes(node.inputs[3]);
      g.epilogue_ops_per_element += 1;
    }
    g.input_bytes = Bytes(node.inputs[0]);
    g.weight_bytes = Bytes(node.inputs[WeightInput(node.op_type)]) + g.bias_bytes * g.groups;
    g.output_bytes = Bytes(out);
    // A grouped convolution with one filter per group (depthwise) may run
    // better on the vector unit: one multiply-accumulate per op.
    if (IsConvType(node.op_type) && g.groups > 1 && g.m == 1) {
      w.vector_alternative = true;
      hw::VectorWorkload& v = w.vector;
      v.inputs = {{g.input_tensor, g.input_bytes}, {g.weight_tensor, g.weight_bytes}};
      v.output_tensor = g.output_tensor;
      v.output_bytes = g.output_bytes;
      v.out_elements = NumElements(out->shape);
      v.ops_per_element = static_cast<double>(g.k);
      v.tile_unit = std::max<int64_t>(1, g.out_w);
      v.precision = precision;
    }
    return w;
  }
  if (w.kind == LayerKind::kVector || w.kind == LayerKind::kDma) {
    hw::VectorWorkload& v = w.vector;
    for (const ir::Value* in : node.inputs) {
      if (in == nullptr) continue;
      // Shape-only inputs (Reshape targets, Slice bounds, Pad amounts) are
      // read by the host at build time, not moved by the device.
      if (in->is_constant() && in->dtype == DataType::kInt64 && w.kind == LayerKind::kDma) continue;
      v.inputs.push_back({Index(index, in), Bytes(in)});
    }
    v.output_tensor = Index(index, out);
    v.output_bytes = Bytes(out);
    v.out_elements = out ? NumElements(out->shape) : 0;
    v.ops_per_element = entry->ops ? entry->ops(node) : 0.0;
    v.tile_unit = TileUnit(node);
    v.precision = precision;
  }
  return w;
}

}  // namespace engine::codegen
