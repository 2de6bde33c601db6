#include "builder/explicit_quantization.h"

#include <cmath>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace engine::builder {
namespace {

bool IsQ(const ir::Node& n) { return n.op_type == "QuantizeLinear" && n.domain.empty(); }
bool IsDq(const ir::Node& n) { return n.op_type == "DequantizeLinear" && n.domain.empty(); }

// Element i of an integer constant (int8, uint8, int32) as int64.
int64_t IntAt(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kInt8: return t.data_as<int8_t>()[i];
    case DataType::kUint8: return t.data_as<uint8_t>()[i];
    case DataType::kInt32: return t.data_as<int32_t>()[i];
    default: return 0;
  }
}

// The scales of a Q/DQ node (input 1: a float32 constant, each finite > 0).
absl::StatusOr<std::vector<double>> Scales(const ir::Node& n) {
  const ir::Value* s = n.inputs.size() > 1 ? n.inputs[1] : nullptr;
  if (s == nullptr || !s->is_constant() || s->dtype != DataType::kFloat32) {
    return absl::InvalidArgumentError(
        absl::StrCat(n.Describe(), ": the scale is not a float32 constant"));
  }
  std::vector<double> out;
  for (int64_t i = 0; i < s->constant->num_elements(); ++i) {
    const float v = s->constant->data_as<float>()[i];
    if (!(v > 0.0f) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(n.Describe(), ": scale ", v, " is not finite and > 0"));
    }
    out.push_back(v);
  }
  return out;
}

// The zero points of a Q/DQ node (input 2, optional: 0s), or nullopt-like
// empty with `reason` when not a constant.
bool ZeroPoints(const ir::Node& n, int64_t count, std::vector<int64_t>* out, DataType* dtype,
                std::string* reason) {
  const ir::Value* z = n.inputs.size() > 2 ? n.inputs[2] : nullptr;
  if (z == nullptr) {
    out->assign(static_cast<size_t>(count), 0);
    *dtype = DataType::kUint8;  // ONNX: without y_zero_point the output is uint8
    return true;
  }
  if (!z->is_constant()) {
    *reason = "zero point is not a constant";
    return false;
  }
  *dtype = z->dtype;
  out->clear();
  for (int64_t i = 0; i < z->constant->num_elements(); ++i) out->push_back(IntAt(*z->constant, i));
  return true;
}

// The quantization axis of a per-axis Q/DQ over a tensor of `rank`
// (attribute "axis", default 1, negative counts from the end).
int64_t Axis(const ir::Node& n, size_t rank) {
  int64_t axis = n.attrs.Int("axis", 1);
  if (axis < 0) axis += static_cast<int64_t>(rank);
  return axis;
}

std::string Key(std::string reason) {
  for (char& c : reason) {
    if (c == ' ') c = '_';
  }
  return absl::StrCat("skipped.", reason);
}

}  // namespace

bool HasQdqNodes(const ir::Graph& graph) {
  for (const auto& n : graph.nodes()) {
    if (IsQ(*n) || IsDq(*n)) return true;
  }
  return false;
}

absl::StatusOr<ExplicitQuantization> ExtractExplicitQuantization(
    ir::Graph& graph, std::map<std::string, int64_t>& counters) {
  struct {
    std::map<std::string, int64_t>* c;
    void Count(const std::string& key) { ++(*c)[key]; }
  } stats{&counters};
  ExplicitQuantization eq;
  eq.options.explicit_quantization = true;
  std::map<const ir::Node*, std::string> left;  // node -> reason

  // 1. DequantizeLinear of constants: weights (int8), bias (int32), others.
  std::vector<ir::Node*> dqs;
  for (const auto& n : graph.nodes()) {
    if (IsDq(*n) && n->inputs.size() >= 2 && n->inputs[0] != nullptr &&
        n->inputs[0]->is_constant() && n->outputs.size() == 1) {
      dqs.push_back(n.get());
    }
  }
  for (ir::Node* dq : dqs) {
    const Tensor& q = *dq->inputs[0]->constant;
    auto scales_or = Scales(*dq);
    if (!scales_or.ok()) {
      left[dq] = std::string(scales_or.status().message());
      continue;
    }
    const std::vector<double> scales = *std::move(scales_or);
    std::vector<int64_t> zps;
    DataType zdt;
    std::string reason;
    if (dq->attrs.Int("block_size", 0) != 0) reason = "blocked quantization (block_size)";
    if (reason.empty() && q.dtype() != DataType::kInt8 && q.dtype() != DataType::kUint8 &&
        q.dtype() != DataType::kInt32) {
      reason = absl::StrCat("constant of type ", DataTypeName(q.dtype()));
    }
    if (reason.empty()) ZeroPoints(*dq, static_cast<int64_t>(scales.size()), &zps, &zdt, &reason);
    const size_t rank = q.shape().size();
    const int64_t axis = scales.size() == 1 ? 0 : Axis(*dq, rank);
    if (reason.empty() && scales.size() != 1 &&
        (axis < 0 || axis >= static_cast<int64_t>(rank) ||
         q.shape()[axis] != static_cast<int64_t>(scales.size()) || zps.size() != scales.size())) {
      reason = "scale or zero point length does not match the axis";
    }
    if (!reason.empty()) {
      left[dq] = reason;
      continue;
    }
    const bool weights = q.dtype() == DataType::kInt8;
    bool zero_zp = true;
    for (int64_t z : zps) zero_zp = zero_zp && z == 0;
    // Every element's scale and zero point: index along `axis`.
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(axis) + 1; d < rank; ++d) inner *= q.shape()[d];
    const int64_t along = scales.size() == 1 ? 1 : static_cast<int64_t>(scales.size());
    auto w = std::make_shared<Tensor>(DataType::kFloat32, q.shape());
    for (int64_t i = 0; i < q.num_elements(); ++i) {
      const int64_t c = along == 1 ? 0 : (i / inner) % along;
      w->data_as<float>()[i] = static_cast<float>(
          static_cast<float>(IntAt(q, i) - zps[c]) * static_cast<float>(scales[c]));
    }
    ir::Value* out = dq->outputs[0];
    ir::Value* folded = graph.AddConstant(absl::StrCat(out->name, ":folded"), std::move(w));
    graph.ReplaceAllUsesWith(out, folded);
    graph.RemoveNode(dq);
    if (weights && zero_zp) {
      eq.options.weight_scales[folded->name] = {axis, scales, folded->constant};
      stats.Count("weights-folded");
    } else if (weights) {
      // A non-zero weight zero point has no INT8 layer form (TensorRT needs 0
      // too): the layer reading it stays FP32 (no explicit weight scale).
      stats.Count("skipped.weight_zero_point_not_0");
    } else {
      stats.Count(q.dtype() == DataType::kInt32 ? "bias-folded" : "constants-folded");
    }
  }

  // 2. Activation QuantizeLinear -> DequantizeLinear pairs.
  std::vector<ir::Node*> qs;
  for (const auto& n : graph.nodes()) {
    if (IsQ(*n)) qs.push_back(n.get());
  }
  for (ir::Node* q : qs) {
    std::string reason;
    ir::Value* x = q->inputs.empty() ? nullptr : q->inputs[0];
    ir::Value* y = q->outputs.empty() ? nullptr : q->outputs[0];
    if (x == nullptr || y == nullptr || x->is_constant() || x->dtype != DataType::kFloat32) {
      left[q] = "input is not a float32 activation";
      continue;
    }
    auto scales_or = Scales(*q);
    if (!scales_or.ok()) {
      left[q] = std::string(scales_or.status().message());
      continue;
    }
    const std::vector<double> scales = *std::move(scales_or);
    std::vector<int64_t> zps;
    DataType zdt;
    if (scales.size() != 1) reason = "per-axis activation quantization";
    if (reason.empty() && ZeroPoints(*q, 1, &zps, &zdt, &reason) && zps.size() != 1) {
      reason = "per-axis activation zero point";
    }
    if (reason.empty() && zdt != DataType::kInt8 && zdt != DataType::kUint8) {
      reason = absl::StrCat("quantizes to ", DataTypeName(zdt), " (INT8 layers take int8 or uint8)");
    }
    if (reason.empty() && graph.IsGraphOutput(y)) reason = "its output is a graph output";
    std::vector<ir::Node*> readers = graph.Consumers(y);
    if (reason.empty() && readers.empty()) reason = "no DequantizeLinear reads it";
    for (ir::Node* r : readers) {
      if (!reason.empty()) break;
      if (!IsDq(*r) || r->inputs[0] != y || r->outputs.size() != 1) {
        reason = absl::StrCat("read by ", r->op_type, " '", r->name, "', not a DequantizeLinear");
        break;
      }
      auto rs = Scales(*r);
      std::vector<int64_t> rz;
      DataType rdt;
      std::string why;
      if (!rs.ok() || *rs != scales || !ZeroPoints(*r, 1, &rz, &rdt, &why) || rz != zps) {
        reason = absl::StrCat("DequantizeLinear '", r->name,
                              "' has another scale or zero point than its QuantizeLinear");
      }
    }
    // A DequantizeLinear that writes a graph output: the tensor keeps the
    // output's name (the producer writes it), so the engine's outputs do not
    // change names.
    ir::Value* target = x;
    for (ir::Node* r : readers) {
      if (reason.empty() && graph.IsGraphOutput(r->outputs[0])) {
        if (target != x) {
          reason = "two of its DequantizeLinear nodes write graph outputs";
        } else if (x->producer == nullptr || graph.IsGraphOutput(x)) {
          reason = absl::StrCat("DequantizeLinear '", r->name,
                                "' writes a graph output and its input has no producer");
        } else {
          target = r->outputs[0];
        }
      }
    }
    const int64_t zp = reason.empty() ? (zdt == DataType::kUint8 ? zps[0] - 128 : zps[0]) : 0;
    if (reason.empty() && (zp < -128 || zp > 127)) reason = "zero point out of range";
    if (reason.empty()) {
      auto it = eq.scales.find(x->name);
      if (it != eq.scales.end() &&
          (it->second != static_cast<float>(scales[0]) || eq.options.zero_points[x->name] != zp)) {
        reason = absl::StrCat("tensor '", x->name, "' is quantized twice with different scales");
      }
    }
    if (!reason.empty()) {
      left[q] = reason;
      continue;
    }
    graph.RemoveNode(q);
    for (ir::Node* r : readers) {
      ir::Value* out = r->outputs[0];
      graph.RemoveNode(r);
      if (out != target) graph.ReplaceAllUsesWith(out, target);
    }
    if (target != x) {
      ir::Node* p = x->producer;
      for (ir::Value*& o : p->outputs) {
        if (o == x) o = target;
      }
      target->producer = p;
      graph.ReplaceAllUsesWith(x, target);
    }
    eq.scales[target->name] = static_cast<float>(scales[0]);
    eq.options.zero_points[target->name] = static_cast<int32_t>(zp);
    stats.Count("activation-pairs-folded");
  }
  // 2b. The operands of a MatMul of two activations that the model quantizes
  // (attention's Q.K^T and P.V, as ONNX Runtime's QDQ quantizer writes
  // them): each operand's scale and zero point also go back to the input of
  // the chain of layout layers (Reshape, Transpose, Squeeze, Unsqueeze,
  // Flatten, Identity) that leads to it, as long as each layer of the chain
  // is its input's only reader and that input has no scale of its own.
  // Quantizing before a layout change is the same as after it (TensorRT's
  // Q/DQ propagation); after fuse-attention and fuse-attention-heads remove
  // the head split and merge, the fused Attention layer reads the
  // projections' outputs, which thus carry the model's Q, K and V scales.
  for (const auto& n : graph.nodes()) {
    if (n->op_type != "MatMul" || n->inputs.size() != 2) continue;
    bool both = true;
    for (const ir::Value* in : n->inputs) {
      both = both && in != nullptr && !in->is_constant() && eq.scales.contains(in->name);
    }
    if (!both) continue;
    for (const ir::Value* in : n->inputs) {
      const float scale = eq.scales.at(in->name);
      auto zp = eq.options.zero_points.find(in->name);
      const int32_t zero = zp == eq.options.zero_points.end() ? 0 : zp->second;
      const ir::Value* v = in;
      for (int hops = 0; hops < 8; ++hops) {
        const ir::Node* p = v->producer;
        static const std::set<std::string> kLayout = {"Reshape",   "Transpose", "Squeeze",
                                                      "Unsqueeze", "Flatten",   "Identity"};
        if (p == nullptr || !kLayout.contains(p->op_type) || p->inputs.empty() ||
            p->inputs[0] == nullptr || p->outputs.size() != 1) {
          break;
        }
        ir::Value* u = p->inputs[0];
        if (u->is_constant() || u->dtype != DataType::kFloat32 || graph.IsGraphOutput(u) ||
            graph.Consumers(u).size() != 1 || eq.scales.contains(u->name)) {
          break;
        }
        eq.scales[u->name] = scale;
        eq.options.zero_points[u->name] = zero;
        stats.Count("activation-scales-moved-back");
        v = u;
      }
    }
  }
  // 3. Every Q/DQ still in the graph, with its reason.
  for (const auto& n : graph.nodes()) {
    if (!IsQ(*n) && !IsDq(*n)) continue;
    auto it = left.find(n.get());
    const std::string reason =
        it != left.end() ? it->second
        : IsDq(*n)       ? "DequantizeLinear of an activation without a matching QuantizeLinear"
                         : "unpaired QuantizeLinear";
    eq.not_folded.push_back({n->name, reason});
    stats.Count(Key(it != left.end() ? "qdq_not_foldable" : "unpaired"));
  }
  graph.RemoveUnusedValues();
  return eq;
}

}  // namespace engine::builder
