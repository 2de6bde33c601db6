#include "builder/quantize_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/int8_softmax.h"
#include "common/requant.h"
#include "common/status_macros.h"
#include "kernels/conv_transpose_geometry.h"
#include "kernels/kernel_util.h"
#include "ops/op_registry.h"

namespace engine::opt {
namespace {

// The op's INT8 behaviour (ops::Int8Spec) from its record.
ops::Int8Role RoleOf(const ir::Node& n) {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find(n.op_type);
  return def == nullptr ? ops::Int8Role::kFloat : def->int8.role;
}

// The integer layer type an average pool runs as (ops::Int8Spec::int8_type).
std::string Int8TypeOf(const ir::Node& n) {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find(n.op_type);
  return def == nullptr ? std::string() : def->int8.int8_type;
}

// Layers that pass int8 through unchanged (they commute with a positive
// scale): every output (Split has several) keeps the input's scale. A record may restrict this to
// some attribute values (Int8Spec::pass_through_if, e.g. Resize "nearest").
bool IsInt8PassThrough(const ir::Node& n) {
  if (RoleOf(n) != ops::Int8Role::kPassThrough || n.inputs.empty() || n.inputs[0] == nullptr ||
      n.outputs.empty() || n.inputs[0]->dtype != DataType::kFloat32) {
    return false;
  }
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find(n.op_type);
  return def == nullptr || !def->int8.pass_through_if || def->int8.pass_through_if(n.attrs);
}

// AveragePool / GlobalAveragePool with a float activation input: they run in
// int8 (Int8AveragePool / Int8GlobalAveragePool) when their input is int8.
bool IsAveragePool(const ir::Node& n) {
  return RoleOf(n) == ops::Int8Role::kAveragePool && n.inputs.size() == 1 &&
         n.inputs[0] != nullptr && n.inputs[0]->dtype == DataType::kFloat32 &&
         n.outputs.size() == 1;
}

bool IsFloatActivation(const ir::Value* v);

// Max / Min of float activations only (a constant operand makes it a Clip,
// minmax-to-clip, or leaves it FP32): Int8Max / Int8Min when every input is
// int8 by the time the rewrite reaches it and an int8 layer reads the output.
bool IsMinMaxCandidate(const ir::Node& n) {
  if (RoleOf(n) != ops::Int8Role::kElementwiseMinMax || n.inputs.empty() || n.outputs.size() != 1 ||
      n.outputs[0] == nullptr || n.outputs[0]->dtype != DataType::kFloat32) {
    return false;
  }
  return std::all_of(n.inputs.begin(), n.inputs.end(), IsFloatActivation);
}

bool IsFloatActivation(const ir::Value* v) {
  return v != nullptr && !v->is_constant() && v->dtype == DataType::kFloat32;
}

// Whether a layer with an INT8 form has a fused residual (input 3): Conv,
// and Gemm after fuse-residual. Both INT8 forms take it as int8 input 3.
bool HasResidual(const ir::Node& n) {
  const ops::Int8Role role = RoleOf(n);
  return (role == ops::Int8Role::kConvProduct ||
          (role == ops::Int8Role::kMatrixProduct && n.op_type == "Gemm")) &&
         n.inputs.size() > 3 && n.inputs[3] != nullptr;
}

// Attention whose Q, K and V (inputs 0-2) are float32 activations and whose
// optional mask is float32: Int8Attention (implicit quantization only).
bool IsAttentionCandidate(const ir::Node& n) {
  if (RoleOf(n) != ops::Int8Role::kAttention || n.inputs.size() < 3 || n.inputs.size() > 4 ||
      n.outputs.size() != 1 || n.outputs[0] == nullptr ||
      n.outputs[0]->dtype != DataType::kFloat32) {
    return false;
  }
  for (int i = 0; i < 3; ++i) {
    if (!IsFloatActivation(n.inputs[i])) return false;
  }
  return n.inputs.size() < 4 || n.inputs[3] == nullptr || n.inputs[3]->dtype == DataType::kFloat32;
}

bool IsFloatConstant(const ir::Value* v) {
  return v != nullptr && v->is_constant() && v->dtype == DataType::kFloat32;
}

// Whether the layer's fused activation has no exact integer form (Sigmoid,
// Tanh, LeakyRelu, HardSigmoid, HardSwish, Swish): the INT8 layer then
// dequantizes its accumulators, applies it in float32 and, when int8 layers
// read the output, quantizes the result to the output scale in the same
// epilogue (MakeFloatEpilogueOutput); otherwise it writes float32.
bool FloatEpilogue(const ir::Node& n) {
  auto act = kernels::ParseActivation(n.attrs);
  if (!act.ok()) return false;
  using Kind = kernels::Activation::Kind;
  return act->kind != Kind::kNone && act->kind != Kind::kRelu && act->kind != Kind::kClip;
}

// The fused activation as an output clamp [lo, hi] in real units (none,
// +-inf, for an activation applied in a float epilogue, FloatEpilogue);
// false when the activation attributes do not parse.
bool ActivationBounds(const ir::Node& n, float* lo, float* hi, std::string* reason) {
  auto act = kernels::ParseActivation(n.attrs);
  if (!act.ok()) {
    if (reason) *reason = std::string(act.status().message());
    return false;
  }
  *lo = -INFINITY;
  *hi = INFINITY;
  switch (act->kind) {
    case kernels::Activation::Kind::kNone: return true;
    case kernels::Activation::Kind::kRelu: *lo = 0.0f; return true;
    case kernels::Activation::Kind::kClip:
      *lo = act->alpha;
      *hi = act->beta;
      return true;
    default: return true;  // applied in a float epilogue (FloatEpilogue)
  }
}

// The operands a convolution (Conv or ConvTranspose) needs for its INT8
// form: X a float32 activation, W and the optional B float32 constants.
bool ConvOperandsForm(const ir::Node& n, std::string* reason) {
  if (n.inputs.size() < 2 || !IsFloatActivation(n.inputs[0])) {
    if (reason) *reason = "input is not a float32 activation";
    return false;
  }
  if (!IsFloatConstant(n.inputs[1])) {
    if (reason) *reason = "weights are not a float32 constant";
    return false;
  }
  if (n.inputs.size() > 2 && n.inputs[2] != nullptr && !IsFloatConstant(n.inputs[2])) {
    if (reason) *reason = "bias is not a float32 constant";
    return false;
  }
  return true;
}

bool ConvForm(const ir::Node& n, std::string* reason) {
  if (!ConvOperandsForm(n, reason)) return false;
  if (n.inputs.size() > 3 && n.inputs[3] != nullptr && !IsFloatActivation(n.inputs[3])) {
    if (reason) *reason = "residual is not a float32 activation";
    return false;
  }
  float lo, hi;
  return ActivationBounds(n, &lo, &hi, reason);
}

bool GemmForm(const ir::Node& n, std::string* reason) {
  if (n.inputs.size() < 2 || !IsFloatActivation(n.inputs[0])) {
    if (reason) *reason = "input A is not a float32 activation";
    return false;
  }
  if (!IsFloatConstant(n.inputs[1]) || n.inputs[1]->shape.size() != 2) {
    if (reason) *reason = "weights B are not a 2-D float32 constant";
    return false;
  }
  const Dims& a = n.inputs[0]->shape;
  if (n.op_type == "Gemm" && n.inputs.size() > 3 && n.inputs[3] != nullptr &&
      (!IsFloatActivation(n.inputs[3]) || n.inputs[3]->shape != n.outputs[0]->shape)) {
    // fuse-residual's Gemm + Add: Int8Gemm's input 3, an int8 activation of
    // the output's shape.
    if (reason) *reason = "the fused residual is not a float32 activation of the output's shape";
    return false;
  }
  if (n.op_type == "Gemm") {
    if (n.attrs.Int("transA", 0) != 0 || n.attrs.Float("alpha", 1.0f) != 1.0f ||
        n.attrs.Float("beta", 1.0f) != 1.0f) {
      if (reason) *reason = "transA, alpha or beta differ from (0, 1, 1)";
      return false;
    }
    const int64_t nout = n.outputs[0]->shape.back();
    if (n.inputs.size() > 2 && n.inputs[2] != nullptr) {
      const ir::Value* c = n.inputs[2];
      if (!IsFloatConstant(c) || NumElements(c->shape) != nout || c->shape.empty() ||
          c->shape.back() != nout) {
        if (reason) *reason = "C is not a constant bias of shape [N] or [1, N]";
        return false;
      }
    }
  } else {  // MatMul
    if (a.size() < 2) {
      if (reason) *reason = "A has rank < 2";
      return false;
    }
  }
  float lo, hi;
  return ActivationBounds(n, &lo, &hi, reason);
}

// The geometry of a ConvTranspose node from its values' shapes.
absl::StatusOr<kernels::ConvTransposeGeometry> TransposedConvGeometry(const ir::Node& n) {
  std::vector<kernels::TensorInfo> infos;
  for (const ir::Value* v : n.inputs) {
    kernels::TensorInfo t;
    t.present = v != nullptr;
    if (v != nullptr) {
      t.dtype = v->dtype;
      t.shape = v->shape;
    }
    infos.push_back(std::move(t));
  }
  return kernels::ParseConvTransposeGeometry(n.attrs, infos, n.op_type);
}

// ConvTranspose -> Int8ConvTranspose: float activation X, constant W and B,
// a geometry that parses, no fused activation. Overlapping kernel taps
// (kernel > stride) are exact too: the accelerator runs such a layer as one
// stride-1 convolution per output phase (sub-pixel decomposition,
// ops/resample.cc), so every output element is one complete int32 sum,
// requantized once; the host kernel computes the same sums.
bool TransposedConvForm(const ir::Node& n, std::string* reason) {
  if (!ConvOperandsForm(n, reason)) return false;
  absl::StatusOr<kernels::ConvTransposeGeometry> g = TransposedConvGeometry(n);
  if (!g.ok()) {
    if (reason) *reason = std::string(g.status().message());
    return false;
  }
  if (g->c / g->group > 65536) {
    if (reason) *reason = "more than 65536 input channels per group exceed the exact int32 sum";
    return false;
  }
  if (n.attrs.Has("activation")) {
    if (reason) *reason = "a fused activation on ConvTranspose has no INT8 form";
    return false;
  }
  return true;
}

// int8 ConvTranspose weights W [C, M/g, k...] with one scale per output
// channel g * M/g + j (over W[c in group g, j, ...]; `scales` has M entries):
// computed (max|w| / 127) when `scales` is empty, else the given ones.
std::shared_ptr<Tensor> QuantizeTransposedConvWeights(const Tensor& w, int64_t group,
                                                       std::vector<double>* scales) {
  const Dims& shape = w.shape();
  const int64_t c = shape[0], mg = shape[1];
  const int64_t kk = w.num_elements() / std::max<int64_t>(1, c * mg);
  const int64_t cg = c / std::max<int64_t>(1, group);
  const float* src = w.data_as<float>();
  auto channel = [&](int64_t ci, int64_t j) { return (ci / cg) * mg + j; };
  if (scales->empty()) {
    std::vector<float> amax(static_cast<size_t>(group * mg), 0.0f);
    for (int64_t ci = 0; ci < c; ++ci) {
      for (int64_t j = 0; j < mg; ++j) {
        float& a = amax[static_cast<size_t>(channel(ci, j))];
        for (int64_t t = 0; t < kk; ++t) a = std::max(a, std::fabs(src[(ci * mg + j) * kk + t]));
      }
    }
    for (float a : amax) scales->push_back(a > 0.0f ? a / 127.0f : 1.0f);
  }
  auto q = std::make_shared<Tensor>(DataType::kInt8, shape);
  int8_t* out = q->data_as<int8_t>();
  for (int64_t ci = 0; ci < c; ++ci) {
    for (int64_t j = 0; j < mg; ++j) {
      const float s = static_cast<float>((*scales)[static_cast<size_t>(channel(ci, j))]);
      for (int64_t t = 0; t < kk; ++t) {
        const int64_t i = (ci * mg + j) * kk + t;
        out[i] = QuantizeWeight(src[i], s);
      }
    }
  }
  return q;
}

absl::StatusOr<float> ScaleOf(const ScaleMap& scales, const ir::Value* v, const ir::Node& n) {
  auto it = scales.find(v->name);
  if (it == scales.end()) {
    return absl::NotFoundError(
        absl::StrCat(n.Describe(), ": no INT8 scale for tensor '", v->name, "'"));
  }
  if (!(it->second > 0.0f) || !std::isfinite(it->second)) {
    return absl::InvalidArgumentError(absl::StrCat(n.Describe(), ": INT8 scale ", it->second,
                                                   " of tensor '", v->name,
                                                   "' is not finite and > 0"));
  }
  return it->second;
}

// int8 weights with one scale per row of `w` ([rows, cols] row-major).
std::shared_ptr<Tensor> QuantizeRows(const float* w, int64_t rows, int64_t cols, Dims shape,
                                     std::vector<double>* scales) {
  auto q = std::make_shared<Tensor>(DataType::kInt8, std::move(shape));
  int8_t* out = q->data_as<int8_t>();
  scales->assign(rows, 1.0);
  for (int64_t r = 0; r < rows; ++r) {
    float amax = 0.0f;
    for (int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(w[r * cols + c]));
    const float s = amax > 0.0f ? amax / 127.0f : 1.0f;
    (*scales)[r] = s;
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = QuantizeWeight(w[r * cols + c], s);
  }
  return q;
}

// The model's zero point of tensor `name` (0 without options or entry).
int32_t ZeroPointOf(const QuantizeOptions* o, const std::string& name) {
  if (o == nullptr) return 0;
  auto it = o->zero_points.find(name);
  return it == o->zero_points.end() ? 0 : it->second;
}

// The axis of the weight tensor that indexes output channels: Conv's W
// [M, C/g, k...] and Gemm's transposed B [N, K]: 0; MatMul's and Gemm's B
// [K, N]: 1.
int64_t OutputChannelAxis(const ir::Node& n) {
  if (RoleOf(n) == ops::Int8Role::kConvProduct) return 0;
  if (RoleOf(n) == ops::Int8Role::kTransposedConvProduct) return 1;  // W [C, M/g, k...]
  return n.op_type == "Gemm" && n.attrs.Int("transB", 0) != 0 ? 0 : 1;
}

// The explicit weight scales of `n`, one per output channel (`channels`), or
// false with the reason.
bool ExplicitChannelScales(const ir::Node& n, const QuantizeOptions& o, std::vector<double>* out,
                           std::string* reason) {
  const ir::Value* w = n.inputs[1];
  auto it = o.weight_scales.find(w->name);
  if (it == o.weight_scales.end() && w->is_constant()) {
    // A copy under a derived name with the same values (fold-batchnorm's
    // "/bn_folded" when it only moved a bias).
    for (auto e = o.weight_scales.begin(); e != o.weight_scales.end(); ++e) {
      const Tensor* v = e->second.values.get();
      if (w->name.rfind(e->first, 0) == 0 && v != nullptr && v->dtype() == w->constant->dtype() &&
          v->shape() == w->constant->shape() &&
          std::memcmp(v->data(), w->constant->data(), v->byte_size()) == 0) {
        it = e;
        break;
      }
    }
  }
  if (it == o.weight_scales.end()) {
    *reason = absl::StrCat("weights '", w->name,
                           "' have no model scale (no DequantizeLinear, a non-zero weight zero "
                           "point, or values an optimizer pass changed)");
    return false;
  }
  const int64_t axis = OutputChannelAxis(n);
  const int64_t channels = w->shape.size() > static_cast<size_t>(axis) ? w->shape[axis] : 0;
  const ExplicitWeightScales& e = it->second;
  if (e.scales.size() == 1) {
    out->assign(static_cast<size_t>(channels), e.scales[0]);
  } else if (e.axis == axis && static_cast<int64_t>(e.scales.size()) == channels) {
    *out = e.scales;
  } else {
    *reason = absl::StrCat("weights '", w->name, "' are quantized per index of axis ", e.axis,
                           ", not per output channel (axis ", axis, ")");
    return false;
  }
  for (double s : *out) {
    if (!(s > 0.0) || !std::isfinite(s)) {
      *reason = absl::StrCat("weights '", w->name, "' have a scale ", s, " that is not finite and > 0");
      return false;
    }
  }
  return true;
}

// int8 weights at the given per-row scales ([rows, cols] row-major).
std::shared_ptr<Tensor> QuantizeRowsAt(const float* w, int64_t rows, int64_t cols, Dims shape,
                                       const std::vector<double>& scales) {
  auto q = std::make_shared<Tensor>(DataType::kInt8, std::move(shape));
  int8_t* out = q->data_as<int8_t>();
  for (int64_t r = 0; r < rows; ++r) {
    const float s = static_cast<float>(scales[r]);
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = QuantizeWeight(w[r * cols + c], s);
  }
  return q;
}

void SetRequant(Attributes& attrs, const std::vector<double>& w_scales, float in_scale,
                float out_scale, float lo, float hi, int32_t y_zero_point = 0) {
  std::vector<int64_t> mult, shift;
  for (double ws : w_scales) {
    const QuantizedMultiplier q = QuantizeMultiplier(in_scale * ws / out_scale);
    mult.push_back(q.multiplier);
    shift.push_back(q.shift);
  }
  attrs.Set("multiplier", mult);
  attrs.Set("shift", shift);
  // The activation as the output clamp, rounded inward so that the clamp never
  // lets through a value the activation would cut.
  const int64_t qlo =
      std::isfinite(lo) ? static_cast<int64_t>(std::ceil(lo / out_scale)) + y_zero_point : -128;
  const int64_t qhi =
      std::isfinite(hi) ? static_cast<int64_t>(std::floor(hi / out_scale)) + y_zero_point : 127;
  const int64_t l = std::clamp<int64_t>(qlo, -128, 127);
  const int64_t h = std::clamp<int64_t>(qhi, -128, 127);
  attrs.Set("output_min", std::min(l, h));
  attrs.Set("output_max", std::max(l, h));
  if (y_zero_point != 0) attrs.Set("y_zero_point", int64_t{y_zero_point});
}

std::shared_ptr<Tensor> QuantizeBiasVector(const float* b, float in_scale,
                                           const std::vector<double>& w_scales) {
  const int64_t n = static_cast<int64_t>(w_scales.size());
  auto q = std::make_shared<Tensor>(DataType::kInt32, Dims{n});
  for (int64_t i = 0; i < n; ++i) q->data_as<int32_t>()[i] = QuantizeBias(b[i], in_scale, w_scales[i]);
  return q;
}

}  // namespace

bool HasInt8Form(const ir::Node& node, std::string* reason) {
  switch (RoleOf(node)) {
    case ops::Int8Role::kConvProduct: return ConvForm(node, reason);
    case ops::Int8Role::kMatrixProduct: return GemmForm(node, reason);
    case ops::Int8Role::kTransposedConvProduct: return TransposedConvForm(node, reason);
    default: break;
  }
  if (reason) *reason = absl::StrCat(node.op_type, " has no INT8 form");
  return false;
}

bool IsInt8AttentionCandidate(const ir::Node& node) { return IsAttentionCandidate(node); }

absl::StatusOr<Attributes> Int8AttentionAttrs(const ir::Node& node, float sq, float sk, float sv,
                                              float y_scale) {
  const int64_t d = node.inputs.size() > 1 && node.inputs[1] != nullptr && !node.inputs[1]->shape.empty()
                        ? node.inputs[1]->shape.back()
                        : 0;
  const int64_t heads = node.attrs.Int("num_heads", 0);
  const int64_t head = node.inputs[1] != nullptr && node.inputs[1]->shape.size() == 3 && heads > 0
                           ? d / heads
                           : d;
  const bool divide = node.attrs.GetString("scale_mode", "mul").value_or("mul") == "div";
  const double dflt = head > 0 ? 1.0 / std::sqrt(static_cast<double>(head)) : 1.0;
  const double scale = node.attrs.Float("scale", static_cast<float>(divide ? 1.0 / dflt : dflt));
  const double score_scale = static_cast<double>(sq) * sk * (divide ? 1.0 / scale : scale);
  if (!(score_scale > 0) || !std::isfinite(score_scale)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Int8Attention '", node.name, "': the score scale s_q s_k scale = ", score_scale,
        " is not finite and > 0"));
  }
  Attributes attrs;
  for (const char* a : {"num_heads", "output_packed"}) {
    if (node.attrs.Has(a)) attrs.Set(a, node.attrs.Int(a, 0));
  }
  attrs.Set("score_scale", static_cast<float>(score_scale));
  const double v_factor = static_cast<double>(sv) / kProbOne;  // s_v / 127
  if (y_scale > 0) {
    attrs.Set("output_factor", static_cast<float>(v_factor / y_scale));
    attrs.Set("int8_output", int64_t{1});
  } else {
    attrs.Set("output_factor", static_cast<float>(v_factor));
  }
  return attrs;
}

std::vector<std::string> Int8ScaleTensors(const ir::Graph& graph) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const ir::Value* v) {
    if (v != nullptr && seen.insert(v->name).second) out.push_back(v->name);
  };
  for (const auto& node : graph.nodes()) {
    if (IsAveragePool(*node)) add(node->outputs[0]);  // its int8 output's scale
    if (IsMinMaxCandidate(*node)) add(node->outputs[0]);  // Int8Max / Int8Min output scale
    if (IsAttentionCandidate(*node)) {  // Int8Attention: Q, K, V and Y
      for (int i = 0; i < 3; ++i) add(node->inputs[i]);
      add(node->outputs[0]);
    }
    if (!HasInt8Form(*node)) continue;
    add(node->inputs[0]);
    add(node->outputs[0]);
    if (HasResidual(*node)) add(node->inputs[3]);
  }
  return out;
}

absl::StatusOr<Int8Layer> MakeInt8Layer(const ir::Node& node, const ScaleMap& scales,
                                        const QuantizeOptions* options) {
  std::string reason;
  if (!HasInt8Form(node, &reason)) {
    return absl::InvalidArgumentError(absl::StrCat(node.Describe(), ": ", reason));
  }
  std::vector<double> explicit_scales;
  const bool explicit_weights =
      options != nullptr && (options->explicit_quantization ||
                             options->weight_scales.contains(node.inputs[1]->name));
  if (explicit_weights && !ExplicitChannelScales(node, *options, &explicit_scales, &reason)) {
    return absl::InvalidArgumentError(absl::StrCat(node.Describe(), ": ", reason));
  }
  const int32_t zx = ZeroPointOf(options, node.inputs[0]->name);
  const int32_t zy = ZeroPointOf(options, node.outputs[0]->name);
  Int8Layer layer;
  ENGINE_ASSIGN_OR_RETURN(layer.input_scale, ScaleOf(scales, node.inputs[0], node));
  ENGINE_ASSIGN_OR_RETURN(layer.output_scale, ScaleOf(scales, node.outputs[0], node));
  float lo, hi;
  ActivationBounds(node, &lo, &hi, nullptr);
  const Tensor& w = *node.inputs[1]->constant;
  const ir::Value* bias = node.inputs.size() > 2 ? node.inputs[2] : nullptr;
  std::vector<double> w_scales;
  if (RoleOf(node) == ops::Int8Role::kTransposedConvProduct) {
    layer.type = "Int8ConvTranspose";
    if (zx != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          node.Describe(), ": input '", node.inputs[0]->name,
          "' has a zero point; Int8ConvTranspose has none (no per-channel bias folds it)"));
    }
    const int64_t group = node.attrs.Int("group", 1);
    if (explicit_weights) {
      // ONNX per-channel scales of ConvTranspose weights index axis 1 (M/g
      // values): every group's channel j shares scale j.
      for (int64_t gi = 0; gi < group; ++gi) {
        w_scales.insert(w_scales.end(), explicit_scales.begin(), explicit_scales.end());
      }
    }
    layer.weights = QuantizeTransposedConvWeights(w, group, &w_scales);
    for (const auto& [name, value] : node.attrs.values()) layer.attrs.Set(name, value);
  } else if (RoleOf(node) == ops::Int8Role::kConvProduct) {
    layer.type = "Int8Conv";
    const int64_t m = w.shape()[0];
    const int64_t cols = w.num_elements() / std::max<int64_t>(m, 1);
    if (explicit_weights) {
      w_scales = explicit_scales;
      layer.weights = QuantizeRowsAt(w.data_as<float>(), m, cols, w.shape(), w_scales);
    } else {
      layer.weights = QuantizeRows(w.data_as<float>(), m, cols, w.shape(), &w_scales);
    }
    if (zx != 0) layer.attrs.Set("x_zero_point", int64_t{zx});
    for (const auto& [name, value] : node.attrs.values()) {
      if (name.rfind("activation", 0) != 0) layer.attrs.Set(name, value);
    }
  } else {
    layer.type = "Int8Gemm";
    const bool trans_b = node.op_type == "Gemm" && node.attrs.Int("transB", 0) != 0;
    const int64_t k = trans_b ? w.shape()[1] : w.shape()[0];
    const int64_t n = trans_b ? w.shape()[0] : w.shape()[1];
    std::vector<float> wt(static_cast<size_t>(n * k));  // [N, K]
    const float* src = w.data_as<float>();
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < k; ++j) wt[i * k + j] = trans_b ? src[i * k + j] : src[j * n + i];
    }
    if (explicit_weights) {
      w_scales = explicit_scales;
      layer.weights = QuantizeRowsAt(wt.data(), n, k, Dims{n, k}, w_scales);
    } else {
      layer.weights = QuantizeRows(wt.data(), n, k, Dims{n, k}, &w_scales);
    }
  }
  if (HasResidual(node)) {
    // Int8Conv and Int8Gemm: q_y = clamp(Requantize(acc) + Requantize(q_r,
    // r_scale / y_scale) + zy) (kernels/int8_layers.cc).
    if (ZeroPointOf(options, node.inputs[3]->name) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          node.Describe(), ": residual '", node.inputs[3]->name, "' has a zero point"));
    }
    ENGINE_ASSIGN_OR_RETURN(layer.residual_scale, ScaleOf(scales, node.inputs[3], node));
    const QuantizedMultiplier q = QuantizeMultiplier(layer.residual_scale / layer.output_scale);
    layer.attrs.Set("residual_multiplier", int64_t{q.multiplier});
    layer.attrs.Set("residual_shift", int64_t{q.shift});
  }
  if (bias != nullptr) {
    layer.bias = QuantizeBiasVector(bias->constant->data_as<float>(), layer.input_scale, w_scales);
  }
  if (zx != 0) {
    // sum_k (q_x - zx) * q_w = sum_k q_x * q_w - zx * sum_k q_w: the second
    // term is a per-channel constant, folded into the int32 bias (exact; the
    // padding of Int8Conv reads zx, so padded taps contribute 0 too).
    const int64_t channels = static_cast<int64_t>(w_scales.size());
    const int64_t cols = layer.weights->num_elements() / std::max<int64_t>(channels, 1);
    auto b = std::make_shared<Tensor>(DataType::kInt32, Dims{channels});
    const int8_t* qw = layer.weights->data_as<int8_t>();
    for (int64_t c = 0; c < channels; ++c) {
      int64_t sum = 0;
      for (int64_t j = 0; j < cols; ++j) sum += qw[c * cols + j];
      const int64_t b0 = layer.bias ? layer.bias->data_as<int32_t>()[c] : 0;
      b->data_as<int32_t>()[c] = static_cast<int32_t>(
          std::clamp<int64_t>(b0 - int64_t{zx} * sum, INT32_MIN, INT32_MAX));
    }
    layer.bias = std::move(b);
  }
  SetRequant(layer.attrs, w_scales, layer.input_scale, layer.output_scale, lo, hi, zy);
  if (FloatEpilogue(node)) {
    for (const auto& [name, value] : node.attrs.values()) {
      if (name.rfind("activation", 0) == 0) layer.float_activation.Set(name, value);
    }
  }
  layer.weight_scales = w_scales;
  layer.activation_min = lo;
  layer.activation_max = hi;
  return layer;
}

void MakeFloatEpilogueOutput(Int8Layer& layer) {
  for (const char* name : {"multiplier", "shift", "residual_multiplier", "residual_shift"}) {
    layer.attrs.Erase(name);
  }
  std::vector<float> scale;
  for (double ws : layer.weight_scales) scale.push_back(static_cast<float>(layer.input_scale * ws));
  layer.attrs.Set("epilogue_scale", scale);
  layer.attrs.Set("y_scale", layer.output_scale);
  if (layer.residual_scale > 0) layer.attrs.Set("residual_scale", layer.residual_scale);
  for (const auto& [name, value] : layer.float_activation.values()) layer.attrs.Set(name, value);
}

void MakeFloatOutput(Int8Layer& layer) {
  for (const char* name : {"multiplier", "shift", "output_min", "output_max", "residual_multiplier",
                           "residual_shift", "y_zero_point"}) {
    layer.attrs.Erase(name);
  }
  std::vector<float> scale;
  for (double ws : layer.weight_scales) scale.push_back(static_cast<float>(layer.input_scale * ws));
  layer.attrs.Set("output_scale", scale);
  if (layer.residual_scale > 0) layer.attrs.Set("residual_scale", layer.residual_scale);
  if (std::isfinite(layer.activation_min)) layer.attrs.Set("output_min_float", layer.activation_min);
  if (std::isfinite(layer.activation_max)) layer.attrs.Set("output_max_float", layer.activation_max);
  for (const auto& [name, value] : layer.float_activation.values()) layer.attrs.Set(name, value);
}

// Concats that run in int8, and the scale each one's values share. As
// TensorRT does, a Concat whose inputs are all produced by INT8 layers (Conv,
// Gemm) or by other such Concats concatenates int8 values at one scale, so
// that it is a copy: the producers requantize straight to it. Concats joined
// through their inputs (a Concat of a Concat) form one group with one scale,
// the largest calibrated scale among the group's values (no value is
// clipped; a smaller one loses a little resolution). A group with any other
// producer (a graph input, an FP32 layer, a pinned layer, a pass-through) or
// a value without a calibrated scale stays FP32 as a whole, and so does a
// group whose outputs no int8 layer reads. Average pools count as producers
// (they requantize to any scale); one whose input stays FP32 leaves its
// Concat FP32 when the rewrite reaches it.
//
// Explicit quantization (options.explicit_quantization): a group runs in int8
// only when every value it joins has a scale and all have the same scale and
// zero point (the model's QuantizeLinear nodes agree); otherwise the Concat
// stays FP32 between the DequantizeLinear and QuantizeLinear the model wrote.
std::map<const ir::Node*, float> Int8Concats(const ir::Graph& graph, const ScaleMap& scales,
                                             const std::map<const ir::Node*, std::string>& keep_fp32,
                                             const QuantizeOptions& options) {
  std::set<const ir::Node*> chosen;
  for (const auto& n : graph.nodes()) {
    if (RoleOf(*n) != ops::Int8Role::kConcat || keep_fp32.contains(n.get()) || n->outputs.size() != 1 ||
        n->inputs.empty() || !IsFloatActivation(n->outputs[0])) {
      continue;
    }
    if (std::all_of(n->inputs.begin(), n->inputs.end(), IsFloatActivation)) chosen.insert(n.get());
  }
  std::map<const ir::Value*, const ir::Value*> parent;
  auto find = [&](const ir::Value* v) {
    while (parent.contains(v) && parent[v] != v) v = parent[v];
    return v;
  };
  while (true) {
    parent.clear();
    for (const ir::Node* c : chosen) {
      for (const ir::Value* in : c->inputs) {
        const ir::Value* a = find(in);
        const ir::Value* b = find(c->outputs[0]);
        parent[a] = a;
        parent[b] = b;
        if (a != b) parent[a] = b;
      }
    }
    std::set<const ir::Value*> bad_groups;
    for (const ir::Node* c : chosen) {
      for (const ir::Value* in : c->inputs) {
        const ir::Node* p = in->producer;
        // Layers that requantize to any output scale: Int8Conv, Int8Gemm and
        // (when their input turns out int8) Int8AveragePool.
        const bool int8_layer = p != nullptr && !keep_fp32.contains(p) &&
                                (HasInt8Form(*p) || IsAveragePool(*p)) && p->outputs[0] == in &&
                                scales.contains(in->name);
        if (!int8_layer && (p == nullptr || !chosen.contains(p))) bad_groups.insert(find(in));
      }
    }
    const size_t before = chosen.size();
    std::erase_if(chosen, [&](const ir::Node* c) { return bad_groups.contains(find(c->outputs[0])); });
    if (chosen.size() == before) break;
  }
  // A group none of whose outputs an int8 layer reads (DenseNet's blocks,
  // read by FP32 BatchNormalization) would only add dequantizations and
  // coarsen its values to one scale: it stays FP32.
  std::set<const ir::Value*> read_as_int8;
  for (const ir::Node* c : chosen) {
    const ir::Value* v = c->outputs[0];
    for (const ir::Node* r : graph.Consumers(v)) {
      if (chosen.contains(r) || keep_fp32.contains(r)) continue;
      const bool data_input = !r->inputs.empty() && r->inputs[0] == v;
      if (data_input && (HasInt8Form(*r) || IsInt8PassThrough(*r) || IsAveragePool(*r))) {
        read_as_int8.insert(find(v));
      }
    }
  }
  std::erase_if(chosen, [&](const ir::Node* c) { return !read_as_int8.contains(find(c->outputs[0])); });
  if (options.explicit_quantization) {
    std::map<const ir::Value*, std::set<std::pair<float, int32_t>>> group_q;
    std::set<const ir::Value*> unscaled;
    for (const ir::Node* c : chosen) {
      std::vector<const ir::Value*> members(c->inputs.begin(), c->inputs.end());
      members.push_back(c->outputs[0]);
      for (const ir::Value* v : members) {
        auto it = scales.find(v->name);
        if (it == scales.end()) {
          unscaled.insert(find(v));
          continue;
        }
        group_q[find(v)].insert({it->second, ZeroPointOf(&options, v->name)});
      }
    }
    std::erase_if(chosen, [&](const ir::Node* c) {
      const ir::Value* g = find(c->outputs[0]);
      return unscaled.contains(g) || group_q[g].size() != 1;
    });
  }
  std::map<const ir::Value*, float> group_scale;
  for (const ir::Node* c : chosen) {
    std::vector<const ir::Value*> members(c->inputs.begin(), c->inputs.end());
    members.push_back(c->outputs[0]);
    for (const ir::Value* v : members) {
      auto it = scales.find(v->name);
      if (it == scales.end()) continue;
      float& g = group_scale[find(v)];
      g = std::max(g, it->second);
    }
  }
  std::map<const ir::Node*, float> out;
  for (const ir::Node* c : chosen) out[c] = group_scale[find(c->outputs[0])];
  return out;
}

std::string ExplicitInt8Blocker(const ir::Node& node, const ScaleMap& scales,
                                const QuantizeOptions& options) {
  if (!scales.contains(node.inputs[0]->name)) {
    return absl::StrCat("input '", node.inputs[0]->name,
                        "' has no QuantizeLinear -> DequantizeLinear (no model scale)");
  }
  std::string reason;
  std::vector<double> ws;
  if (!ExplicitChannelScales(node, options, &ws, &reason)) return reason;
  if (RoleOf(node) == ops::Int8Role::kTransposedConvProduct &&
      ZeroPointOf(&options, node.inputs[0]->name) != 0) {
    return absl::StrCat("input '", node.inputs[0]->name,
                        "' has a non-zero zero point (Int8ConvTranspose has none)");
  }
  if (HasResidual(node)) {
    const std::string& r = node.inputs[3]->name;
    if (!scales.contains(r)) return absl::StrCat("residual '", r, "' has no model scale");
    if (ZeroPointOf(&options, r) != 0) {
      return absl::StrCat("residual '", r, "' has a non-zero zero point");
    }
  }
  return "";
}

absl::StatusOr<std::vector<LayerPrecisionInfo>> QuantizeGraphInt8(
    ir::Graph& graph, const ScaleMap& scales,
    const std::map<const ir::Node*, std::string>& keep_fp32_in, const QuantizeOptions& options,
    ScaleMap* int8_tensors) {
  std::vector<LayerPrecisionInfo> report;
  const bool expl = options.explicit_quantization;
  // Explicit quantization: product layers the model did not quantize (or
  // quantized in a form without an INT8 layer) stay FP32, with the reason.
  std::map<const ir::Node*, std::string> keep_fp32 = keep_fp32_in;
  if (expl) {
    for (const auto& n : graph.nodes()) {
      if (keep_fp32.contains(n.get()) || !HasInt8Form(*n)) continue;
      std::string why = ExplicitInt8Blocker(*n, scales, options);
      if (!why.empty()) keep_fp32[n.get()] = std::move(why);
    }
  }
  // The zero points in effect (pass-through outputs take their input's).
  QuantizeOptions eff = options;
  auto zp_of = [&](const std::string& name) { return ZeroPointOf(&eff, name); };
  // The scales in effect: a layer that passes int8 through gives its output
  // its input's scale, whatever calibration measured for it, and the values
  // an int8 Concat joins take its group's scale.
  ScaleMap effective = scales;
  const std::map<const ir::Node*, float> int8_concats =
      Int8Concats(graph, scales, keep_fp32, options);
  for (const auto& [concat, scale] : int8_concats) {
    for (const ir::Value* in : concat->inputs) effective[in->name] = scale;
    effective[concat->outputs[0]->name] = scale;
  }
  // The int8 version of a float tensor and its scale.
  std::map<const ir::Value*, std::pair<ir::Value*, float>> int8_of;
  std::map<const ir::Node*, std::string> fp32_reason;  // quantizable layers left FP32

  auto scalar_constant = [&](const std::string& name, DataType dtype, float value) {
    auto t = std::make_shared<Tensor>(dtype, Dims{});
    if (dtype == DataType::kFloat32) {
      *t->data_as<float>() = value;
    } else {
      *t->data_as<int8_t>() = static_cast<int8_t>(value);  // a zero point in [-128, 127]
    }
    return graph.AddConstant(name, std::move(t));
  };
  auto new_int8_value = [&](const ir::Value* like) {
    ir::Value* v = graph.AddValue(absl::StrCat(like->name, ":int8"));
    v->dtype = DataType::kInt8;
    v->shape = like->shape;
    v->has_shape = true;
    return v;
  };
  auto make_node = [&](const std::string& type, const std::string& name,
                       std::vector<std::string> onnx_nodes) {
    auto n = std::make_unique<ir::Node>();
    n->op_type = type;
    n->name = name;
    n->onnx_nodes = std::move(onnx_nodes);
    return n;
  };
  // The int8 version of float tensor `v` before `at`, inserting a
  // QuantizeLinear when there is none yet.
  auto int8_input = [&](ir::Value* v, float scale, ir::Node* at) -> ir::Value* {
    auto it = int8_of.find(v);
    if (it != int8_of.end()) return it->second.first;
    ir::Value* q = new_int8_value(v);
    auto node = make_node("QuantizeLinear", absl::StrCat(v->name, "/quantize"), {});
    node->inputs = {v, scalar_constant(absl::StrCat(v->name, "/scale"), DataType::kFloat32, scale),
                    scalar_constant(absl::StrCat(v->name, "/zero_point"), DataType::kInt8,
                                    static_cast<float>(zp_of(v->name)))};
    node->outputs = {q};
    graph.InsertNodeBefore(at, std::move(node));
    int8_of[v] = {q, scale};
    return q;
  };
  // Makes float `y` the DequantizeLinear of int8 `q` (scale `scale`), inserted
  // before `at`.
  auto dequantize_into = [&](ir::Value* q, float scale, ir::Value* y, ir::Node* at) {
    auto node = make_node("DequantizeLinear", absl::StrCat(y->name, "/dequantize"), {});
    node->inputs = {q, scalar_constant(absl::StrCat(y->name, "/scale"), DataType::kFloat32, scale),
                    scalar_constant(absl::StrCat(y->name, "/zero_point"), DataType::kInt8,
                                    static_cast<float>(zp_of(y->name)))};
    node->outputs = {y};
    graph.InsertNodeBefore(at, std::move(node));
    int8_of[y] = {q, scale};
  };

  // Replaces `node` by `q`, which writes the int8 version of node's output at
  // `scale`; float readers get its DequantizeLinear.
  std::set<const ir::Node*> created;
  // Every output of `node` (Split has several) gets its int8 version at the
  // same `scale`.
  auto replace_int8_out = [&](ir::Node* node, std::unique_ptr<ir::Node> q, float scale) {
    std::vector<ir::Value*> outs = node->outputs;
    q->outputs.clear();
    for (ir::Value* y : outs) q->outputs.push_back(new_int8_value(y));
    ir::Node* inserted = graph.InsertNodeBefore(node, std::move(q));
    created.insert(inserted);
    for (size_t i = 0; i < outs.size(); ++i) dequantize_into(inserted->outputs[i], scale, outs[i], node);
    graph.RemoveNode(node);
  };

  // Whether every input of Max / Min `c` comes from a layer that can write
  // int8 (an INT8 product, a pass-through, an average pool, another Max /
  // Min candidate or an int8 Concat), so that it may run as Int8Max / Int8Min.
  std::function<bool(const ir::Node&)> MinMaxInputsMayBeInt8 = [&](const ir::Node& c) {
    if (keep_fp32.contains(&c)) return false;
    for (const ir::Value* in : c.inputs) {
      if (int8_of.contains(in)) continue;  // its producer was rewritten already
      const ir::Node* p = in->producer;
      if (p == nullptr || keep_fp32.contains(p)) return false;
      const bool ok = HasInt8Form(*p) || IsInt8PassThrough(*p) || IsAveragePool(*p) ||
                      int8_concats.contains(p) ||
                      (IsMinMaxCandidate(*p) && MinMaxInputsMayBeInt8(*p));
      if (!ok) return false;
    }
    return true;
  };
  // Whether some layer will read `v` as int8: an unpinned layer with an INT8
  // form reading it as its data input or residual, or one passing int8 through.
  auto ReadsInt8 = [&](const ir::Value* v) {
    for (const ir::Node* c : graph.Consumers(v)) {
      if (keep_fp32.contains(c)) continue;
      if (IsInt8PassThrough(*c) && c->inputs[0] == v) return true;
      if (int8_concats.contains(c)) return true;
      if (IsAveragePool(*c)) return true;
      if (!expl && IsMinMaxCandidate(*c) && MinMaxInputsMayBeInt8(*c)) return true;
      if (!expl && IsAttentionCandidate(*c) &&
          std::find(c->inputs.begin(), c->inputs.begin() + 3, v) != c->inputs.begin() + 3) {
        return true;
      }
      if (!HasInt8Form(*c)) continue;
      if (c->inputs[0] == v) return true;
      if (HasResidual(*c) && c->inputs[3] == v) return true;
    }
    return false;
  };
  std::vector<ir::Node*> schedule;
  for (const auto& n : graph.nodes()) schedule.push_back(n.get());
  for (ir::Node* node : schedule) {
    auto pinned = keep_fp32.find(node);
    if (pinned != keep_fp32.end()) {
      if (HasInt8Form(*node) || IsAttentionCandidate(*node)) fp32_reason[node] = pinned->second;
      continue;
    }
    if (HasInt8Form(*node)) {
      // Explicit quantization: the output is int8 exactly where the model
      // quantizes it; without a QuantizeLinear it is float32.
      const bool float_out =
          expl ? !scales.contains(node->outputs[0]->name) : !ReadsInt8(node->outputs[0]);
      if (float_out && expl) effective.try_emplace(node->outputs[0]->name, 1.0f);  // unused
      ENGINE_ASSIGN_OR_RETURN(Int8Layer layer, MakeInt8Layer(*node, effective, &eff));
      if (float_out) {
        MakeFloatOutput(layer);
      } else if (FloatEpilogue(*node)) {
        MakeFloatEpilogueOutput(layer);
      }
      auto q = make_node(layer.type, node->name, node->onnx_nodes);
      q->attrs = layer.attrs;
      q->inputs.push_back(int8_input(node->inputs[0], layer.input_scale, node));
      q->inputs.push_back(graph.AddConstant(absl::StrCat(node->inputs[1]->name, ":int8"),
                                            layer.weights));
      const std::string bias_name = node->inputs.size() > 2 && node->inputs[2] != nullptr
                                        ? node->inputs[2]->name
                                        : absl::StrCat(node->name, "/bias");
      q->inputs.push_back(layer.bias ? graph.AddConstant(absl::StrCat(bias_name, ":int32"), layer.bias)
                                     : nullptr);
      if (HasResidual(*node)) {
        q->inputs.push_back(int8_input(node->inputs[3], layer.residual_scale, node));
      }
      while (!q->inputs.empty() && q->inputs.back() == nullptr) q->inputs.pop_back();
      ir::Value* y = node->outputs[0];
      if (float_out) {
        q->outputs = {y};
        created.insert(graph.InsertNodeBefore(node, std::move(q)));
        graph.RemoveNode(node);
        continue;
      }
      replace_int8_out(node, std::move(q), layer.output_scale);
      continue;
    }
    if (IsAttentionCandidate(*node)) {
      if (expl) {
        // Explicit quantization: Int8Attention when the model quantizes Q, K
        // and V (Q/DQ on the operands of Q.K^T and P.V, their scales moved
        // back to the projections' outputs by explicit-quantization) with
        // zero point 0, at the model's scales; Y int8 at the model's scale
        // when it quantizes Y, else float. The model's scale for the
        // probabilities P is not used: the fused layer holds P as its
        // unnormalized exponentials at 1/127 (see below).
        std::string why;
        static constexpr const char* kOperand[3] = {"Q", "K", "V"};
        for (int i = 0; i < 3 && why.empty(); ++i) {
          const std::string& name = node->inputs[i]->name;
          if (!scales.contains(name)) {
            why = absl::StrCat("Attention stays FP32 under explicit quantization: the model does "
                               "not quantize its ", kOperand[i], " input '", name,
                               "' (no Q/DQ on the attention MatMuls' operands)");
          } else if (zp_of(name) != 0) {
            why = absl::StrCat("Attention stays FP32 under explicit quantization: its ", kOperand[i],
                               " input '", name, "' has zero point ", zp_of(name),
                               " (Int8Attention takes symmetric int8)");
          }
        }
        if (!why.empty()) {
          fp32_reason[node] = std::move(why);
          continue;
        }
      }
      // Int8Attention (kernels/attention.cc, common/int8_softmax.h): Q, K, V
      // int8 at their calibrated (or the model's) scales, unnormalized
      // exponentials at 1/127, Y scaled by s_v / (127 * row sum) to its
      // scale (or to float for float readers).
      // The scale each operand is held at in int8 (its producer's, when an
      // INT8 or pass-through layer already wrote it).
      float sx[3];
      ir::Value* qkv[3];
      for (int i = 0; i < 3; ++i) {
        ENGINE_ASSIGN_OR_RETURN(const float s, ScaleOf(effective, node->inputs[i], *node));
        qkv[i] = int8_input(node->inputs[i], s, node);
        sx[i] = int8_of.at(node->inputs[i]).second;
      }
      ir::Value* y = node->outputs[0];
      const bool float_y = expl ? !scales.contains(y->name) || zp_of(y->name) != 0
                                : !ReadsInt8(y) || !effective.contains(y->name);
      float y_scale = 0;
      if (!float_y) {
        ENGINE_ASSIGN_OR_RETURN(y_scale, ScaleOf(effective, y, *node));
      }
      absl::StatusOr<Attributes> attrs = Int8AttentionAttrs(*node, sx[0], sx[1], sx[2], y_scale);
      if (!attrs.ok()) {
        fp32_reason[node] = "Attention stays FP32: its score scale is not finite and > 0";
        continue;
      }
      auto q = make_node("Int8Attention", node->name, node->onnx_nodes);
      q->attrs = *std::move(attrs);
      for (ir::Value* x : qkv) q->inputs.push_back(x);
      if (node->inputs.size() > 3 && node->inputs[3] != nullptr) q->inputs.push_back(node->inputs[3]);
      if (float_y) {
        q->outputs = {y};
        created.insert(graph.InsertNodeBefore(node, std::move(q)));
        graph.RemoveNode(node);
        continue;
      }
      replace_int8_out(node, std::move(q), y_scale);
      continue;
    }
    if (auto concat = int8_concats.find(node); concat != int8_concats.end()) {
      // Every input was made int8 at the group's scale by its producer.
      const float scale = concat->second;
      auto q = make_node("Concat", node->name, node->onnx_nodes);
      q->attrs = node->attrs;
      bool all_int8 = true;
      for (ir::Value* in : node->inputs) {
        auto it = int8_of.find(in);
        all_int8 = all_int8 && it != int8_of.end() && it->second.second == scale;
        q->inputs.push_back(all_int8 ? it->second.first : nullptr);
      }
      // An input that did not become int8 at the group's scale (an average
      // pool whose own input stayed FP32): the Concat stays FP32 on the
      // float values; its int8 readers quantize its output.
      if (!all_int8) continue;
      replace_int8_out(node, std::move(q), scale);
      continue;
    }
    if (IsAveragePool(*node) && int8_of.contains(node->inputs[0]) &&
        (zp_of(node->inputs[0]->name) != 0 || zp_of(node->outputs[0]->name) != 0)) {
      fp32_reason[node] = "Int8AveragePool has no zero point (asymmetric input or output)";
      continue;
    }
    if (IsAveragePool(*node) && int8_of.contains(node->inputs[0])) {
      // Int8(Global)AveragePool: exact int32 window sums, requantized to the
      // output's calibrated scale, or dequantized when only float layers
      // read the output.
      const auto& [xq, x_scale] = int8_of.at(node->inputs[0]);
      auto q = make_node(Int8TypeOf(*node), node->name, node->onnx_nodes);
      q->attrs = node->attrs;
      q->attrs.Set("x_scale", x_scale);
      q->inputs = {xq};
      ir::Value* y = node->outputs[0];
      if (!ReadsInt8(y) || !effective.contains(y->name)) {
        q->outputs = {y};
        created.insert(graph.InsertNodeBefore(node, std::move(q)));
        graph.RemoveNode(node);
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(const float y_scale, ScaleOf(effective, y, *node));
      q->attrs.Set("y_scale", y_scale);
      replace_int8_out(node, std::move(q), y_scale);
      continue;
    }
    if (!expl && IsMinMaxCandidate(*node)) {
      // Int8Max / Int8Min: every input requantized to the output's scale
      // (monotone, so the max / min commutes with it), when every input is
      // int8 already and an int8 layer reads the output.
      std::string why;
      for (const ir::Value* in : node->inputs) {
        if (why.empty() && !int8_of.contains(in)) {
          why = absl::StrCat("input '", in->name, "' is not int8");
        }
      }
      const ir::Value* y = node->outputs[0];
      if (why.empty() && !ReadsInt8(y)) why = "no int8 layer reads its output";
      if (why.empty() && !effective.contains(y->name)) {
        why = absl::StrCat("no INT8 scale for its output '", y->name, "'");
      }
      if (!why.empty()) {
        fp32_reason[node] = absl::StrCat(node->op_type, " stays FP32: ", why);
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(const float y_scale, ScaleOf(effective, y, *node));
      auto q = make_node(Int8TypeOf(*node), node->name, node->onnx_nodes);
      std::vector<int64_t> mult, shift;
      for (ir::Value* in : node->inputs) {
        const auto& [xq, x_scale] = int8_of.at(in);
        q->inputs.push_back(xq);
        const QuantizedMultiplier m = QuantizeMultiplier(static_cast<double>(x_scale) / y_scale);
        mult.push_back(m.multiplier);
        shift.push_back(m.shift);
      }
      q->attrs.Set("multiplier", mult);
      q->attrs.Set("shift", shift);
      replace_int8_out(node, std::move(q), y_scale);
      continue;
    }
    if (IsInt8PassThrough(*node)) {
      auto it = int8_of.find(node->inputs[0]);
      // Explicit quantization: a tensor the model quantizes is read in int8
      // by the pass-through layers (TensorRT propagates Q/DQ across them).
      if (it == int8_of.end() && expl && scales.contains(node->inputs[0]->name)) {
        int8_input(node->inputs[0], scales.at(node->inputs[0]->name), node);
        it = int8_of.find(node->inputs[0]);
      }
      if (it == int8_of.end()) continue;
      const int32_t zin = zp_of(node->inputs[0]->name);
      if (expl) {
        std::string why;
        if (node->op_type == "Relu" && zin != 0) {
          why = absl::StrCat("Relu of an asymmetric int8 input (zero point ", zin,
                             ") is not a pass-through");
        }
        for (const ir::Value* y : node->outputs) {
          auto ys = scales.find(y->name);
          if (why.empty() && ys != scales.end() &&
              (ys->second != it->second.second || zp_of(y->name) != zin)) {
            why = absl::StrCat("the model requantizes output '", y->name,
                               "' to another scale or zero point than its input's");
          }
        }
        if (!why.empty()) {
          fp32_reason[node] = std::move(why);
          continue;
        }
      }
      for (const ir::Value* y : node->outputs) eff.zero_points[y->name] = zin;
      auto q = make_node(node->op_type, node->name, node->onnx_nodes);
      q->attrs = node->attrs;
      q->inputs = node->inputs;
      q->inputs[0] = it->second.first;
      const float scale = it->second.second;
      for (const ir::Value* y : node->outputs) effective[y->name] = scale;
      replace_int8_out(node, std::move(q), scale);
    }
  }
  // Explicit quantization: a float tensor the model quantizes that no INT8
  // layer produced keeps its QuantizeLinear -> DequantizeLinear for its float
  // readers (the model's rounding), as written.
  if (expl) {
    std::vector<ir::Value*> fake;
    for (ir::Value* v : graph.values()) {
      if (v->is_constant() || v->dtype != DataType::kFloat32 || !scales.contains(v->name) ||
          int8_of.contains(v) || graph.IsGraphOutput(v)) {
        continue;
      }
      fake.push_back(v);
    }
    for (ir::Value* v : fake) {
      std::vector<ir::Node*> readers;
      for (ir::Node* c : graph.Consumers(v)) {
        if (c->op_type != "QuantizeLinear") readers.push_back(c);
      }
      if (readers.empty()) continue;
      const float scale = scales.at(v->name);
      ir::Value* q = int8_input(v, scale, readers.front());
      ir::Value* fq = graph.AddValue(absl::StrCat(v->name, ":fake_quant"));
      fq->dtype = DataType::kFloat32;
      fq->shape = v->shape;
      fq->has_shape = true;
      eff.zero_points[fq->name] = zp_of(v->name);
      dequantize_into(q, scale, fq, readers.front());
      for (ir::Node* c : readers) {
        for (ir::Value*& in : c->inputs) {
          if (in == v) in = fq;
        }
      }
    }
  }
  if (int8_tensors != nullptr) {
    for (const auto& [v, q] : int8_of) {
      if (v->name.find(":fake_quant") == std::string::npos) (*int8_tensors)[v->name] = q.second;
    }
  }
  // Dequantizations nobody reads.
  bool removed = true;
  while (removed) {
    removed = false;
    for (const auto& n : graph.nodes()) {
      if (n->op_type != "DequantizeLinear" && n->op_type != "QuantizeLinear") continue;
      const ir::Value* out = n->outputs[0];
      if (graph.IsGraphOutput(out) || !graph.Consumers(out).empty()) continue;
      graph.RemoveNode(n.get());
      removed = true;
      break;
    }
  }
  graph.RemoveUnusedValues();

  for (const auto& n : graph.nodes()) {
    LayerPrecisionInfo info;
    info.layer = n->name;
    info.type = n->op_type;
    info.sqnr_db = NAN;
    const bool int8 = (!n->outputs.empty() && n->outputs[0]->dtype == DataType::kInt8) ||
                      n->op_type.rfind("Int8", 0) == 0;
    info.precision = int8 ? Precision::kInt8 : Precision::kFp32;
    auto r = fp32_reason.find(n.get());
    if (r != fp32_reason.end()) info.reason = r->second;
    // Explicit quantization: a float layer between the model's
    // DequantizeLinear and QuantizeLinear says why it is not INT8.
    if (expl && info.reason.empty() && info.precision == Precision::kFp32 &&
        n->op_type != "QuantizeLinear" && n->op_type != "DequantizeLinear") {
      const bool reads_dq = std::any_of(n->inputs.begin(), n->inputs.end(), [](const ir::Value* v) {
        return v != nullptr && v->producer != nullptr && v->producer->op_type == "DequantizeLinear";
      });
      if (reads_dq) {
        info.reason =
            RoleOf(*n) == ops::Int8Role::kConcat
                ? "the values it joins have different scales or zero points (the model "
                  "requantizes them): runs between DequantizeLinear and QuantizeLinear"
                : absl::StrCat(n->op_type,
                               " has no INT8 layer: runs in FP32 on the model's dequantized values");
      }
    }
    report.push_back(std::move(info));
  }
  return report;
}

}  // namespace engine::opt
