// fold-batchnorm: removes inference-mode BatchNormalization layers.
//
// BatchNormalization (ONNX Operators.md, inference form, one output) is
//   Y = (X - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + B[c] = X * a[c] + s[c]
// with a = scale / sqrt(var + epsilon) and s = B - mean * a (c = axis 1).
//
//  - Behind a Conv (any group) with constant W [M, C/g, k...] (and B [M]):
//      W'[m, ...] = W[m, ...] * a[m],   B'[m] = (B[m] - mean[m]) * a[m] + B_bn[m]
//    (a bias is created when the Conv has none).
//  - Behind a Gemm, Y [M, N] = alpha * A' * B' + beta * C, with constant B and C:
//    the output column n is scaled by a[n]: B' scales column n of B [K, N]
//    (row n of B [N, K] when transB = 1) and C' = beta * C * a + s (broadcast
//    over rows unless C varies per row), beta' = 1.
//  - Otherwise (a "lone" BatchNormalization): the BN becomes a per-channel
//    scale and shift in place: scale' = a, B' = s, mean' = 0, var' = 1,
//    epsilon' = 0, so it computes y = x * a[c] + s[c] with nothing left to
//    derive. It stays one layer on purpose: the cost model prices a separate
//    Mul and Add at two vector passes over the tensor against one (DenseNet-121,
//    with 62 lone BNs, got 1 % slower modeled when they were split).
//
// Safety checks for folding (ONNX Runtime's Conv+BN rule): the producer's
// output is read only by the BN and is not a graph output; weights and BN
// parameters are constant float32; the producer has no fused epilogue
// (activation or residual, which the affine map cannot pass through). The
// folded producer takes over the BN's output value, so graph output names
// survive.
//
// Counters: "fired" for every rewrite, split into "fired.folded_into_conv",
// "fired.folded_into_gemm" and "fired.scale_shift"; when a BN is not folded
// into its producer the reason is counted as "skipped.<reason>" (and the BN
// becomes a scale and shift unless the reason is about the BN itself).
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

// The BN as a per-channel affine map y = x * a[c] + s[c].
struct Affine {
  std::vector<double> a, s;
};

class FoldBatchNormPass : public Pass {
 public:
  std::string_view name() const override { return "fold-batchnorm"; }
  std::string_view description() const override {
    return "fold inference BatchNormalization into the preceding Conv/Gemm, else into a "
           "per-channel scale and shift";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size();) {
      ir::Node* bn = graph.nodes()[i].get();
      if (bn->op_type != "BatchNormalization") {
        ++i;
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(Outcome outcome, Rewrite(graph, bn, stats));
      changed = changed || outcome != Outcome::kUnchanged;
      if (outcome != Outcome::kRemoved) ++i;  // else position i now holds the next node
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 protected:
  enum class Outcome { kUnchanged, kRewritten, kRemoved };

  // Rewrites one BN: folded (removed) or turned into a scale and shift.
  absl::StatusOr<Outcome> Rewrite(ir::Graph& graph, ir::Node* bn, PassStats& stats) {
    // The BN itself: inference form, float32, constant [C] parameters.
    ENGINE_ASSIGN_OR_RETURN(int64_t training_mode,
                            OnNode(bn->attrs.GetInt("training_mode", 0), *bn));
    ENGINE_ASSIGN_OR_RETURN(float epsilon, OnNode(bn->attrs.GetFloat("epsilon", 1e-5f), *bn));
    size_t used_outputs = 0;
    for (const ir::Value* out : bn->outputs) used_outputs += out != nullptr;
    if (training_mode != 0 || used_outputs != 1 || bn->outputs.empty() ||
        bn->outputs[0] == nullptr) {
      stats.Count("skipped.training_mode");
      return Outcome::kUnchanged;
    }
    if (bn->inputs.size() != 5 || bn->inputs[0] == nullptr) {
      stats.Count("skipped.malformed");
      return Outcome::kUnchanged;
    }
    ir::Value* x = bn->inputs[0];
    ir::Value* y = bn->outputs[0];
    if (x->dtype != DataType::kFloat32 || x->shape.size() < 2) {
      stats.Count("skipped.unsupported_input");
      return Outcome::kUnchanged;
    }
    const int64_t channels = x->shape[1];
    const Tensor* params[4];
    for (int k = 0; k < 4; ++k) {
      params[k] = FloatConstant(bn->inputs[1 + k]);
      if (params[k] == nullptr || params[k]->shape() != Dims{channels}) {
        stats.Count("skipped.non_constant_params");
        return Outcome::kUnchanged;
      }
    }
    Affine affine;
    affine.a.resize(channels);
    affine.s.resize(channels);
    const float* scale = params[0]->data_as<float>();
    const float* bias = params[1]->data_as<float>();
    const float* mean = params[2]->data_as<float>();
    const float* var = params[3]->data_as<float>();
    for (int64_t c = 0; c < channels; ++c) {
      affine.a[c] = scale[c] / std::sqrt(static_cast<double>(var[c]) + epsilon);
      affine.s[c] = bias[c] - mean[c] * affine.a[c];
    }

    // Fold into the producer when every check passes.
    ir::Node* producer = x->producer;
    std::string reason;
    if (producer == nullptr || (producer->op_type != "Conv" && producer->op_type != "Gemm")) {
      reason = "producer_not_conv_or_gemm";
    } else if (graph.IsGraphOutput(x)) {
      reason = "intermediate_is_graph_output";
    } else if (SoleConsumer(graph, x) != bn) {
      reason = "multiple_consumers";
    } else if (producer->attrs.Has("activation") ||
               (producer->inputs.size() > 3 && producer->inputs[3] != nullptr)) {
      reason = "producer_has_epilogue";
    } else if (producer->op_type == "Conv") {
      ENGINE_ASSIGN_OR_RETURN(reason, FoldIntoConv(graph, producer, bn, affine));
      if (reason.empty()) stats.Count("fired.folded_into_conv");
    } else {
      ENGINE_ASSIGN_OR_RETURN(reason, FoldIntoGemm(graph, producer, bn, affine));
      if (reason.empty()) stats.Count("fired.folded_into_gemm");
    }
    if (reason.empty()) {
      stats.Count("fired");
      NameFused(*producer, {producer, bn});
      SetSingleOutput(*producer, y);
      graph.RemoveNode(bn);
      return Outcome::kRemoved;
    }
    stats.Count("skipped." + reason);

    // A lone BN: the same layer, as a per-channel scale and shift.
    bool already = epsilon == 0.0f;
    for (int64_t c = 0; c < channels && already; ++c) already = mean[c] == 0.0f && var[c] == 1.0f;
    if (already) {
      stats.Count("skipped.already_scale_shift");
      return Outcome::kUnchanged;
    }
    Tensor a(DataType::kFloat32, {channels}), sh(DataType::kFloat32, {channels});
    Tensor zeros(DataType::kFloat32, {channels}), ones(DataType::kFloat32, {channels});
    for (int64_t c = 0; c < channels; ++c) {
      a.data_as<float>()[c] = static_cast<float>(affine.a[c]);
      sh.data_as<float>()[c] = static_cast<float>(affine.s[c]);
      ones.data_as<float>()[c] = 1.0f;
    }
    bn->inputs[1] = AddFloatConstant(graph, bn->name + "/scale", std::move(a));
    bn->inputs[2] = AddFloatConstant(graph, bn->name + "/shift", std::move(sh));
    bn->inputs[3] = AddFloatConstant(graph, bn->name + "/zero_mean", std::move(zeros));
    bn->inputs[4] = AddFloatConstant(graph, bn->name + "/unit_var", std::move(ones));
    bn->attrs.Set("epsilon", 0.0f);
    stats.Count("fired");
    stats.Count("fired.scale_shift");
    return Outcome::kRewritten;
  }

  // Folds into Conv `conv` (weights and bias replaced by new constants, so
  // shared initializers stay intact). Returns "" or the reason it cannot.
  absl::StatusOr<std::string> FoldIntoConv(ir::Graph& graph, ir::Node* conv, const ir::Node* bn,
                                           const Affine& affine) {
    if (conv->inputs.size() < 2) return std::string("malformed_producer");
    const Tensor* w = FloatConstant(conv->inputs[1]);
    const ir::Value* b_value = conv->inputs.size() > 2 ? conv->inputs[2] : nullptr;
    const Tensor* b = FloatConstant(b_value);
    if (w == nullptr || (b_value != nullptr && b == nullptr)) {
      return std::string("non_constant_weights");
    }
    const int64_t m_count = static_cast<int64_t>(affine.a.size());
    if (w->shape().empty() || w->shape()[0] != m_count ||
        (b != nullptr && b->num_elements() != m_count)) {
      return std::string("shape_mismatch");
    }
    Tensor w2 = *w;
    const int64_t per_m = w->num_elements() / m_count;
    float* wd = w2.data_as<float>();
    for (int64_t m = 0; m < m_count; ++m) {
      for (int64_t i = 0; i < per_m; ++i) {
        wd[m * per_m + i] = static_cast<float>(wd[m * per_m + i] * affine.a[m]);
      }
    }
    Tensor b2(DataType::kFloat32, {m_count});
    for (int64_t m = 0; m < m_count; ++m) {
      const double old = b != nullptr ? b->data_as<float>()[m] : 0.0;
      b2.data_as<float>()[m] = static_cast<float>(old * affine.a[m] + affine.s[m]);
    }
    conv->inputs[1] = AddFloatConstant(graph, conv->inputs[1]->name + "/bn_folded", std::move(w2));
    if (conv->inputs.size() < 3) conv->inputs.resize(3, nullptr);
    conv->inputs[2] = AddFloatConstant(
        graph, b_value != nullptr ? b_value->name + "/bn_folded" : bn->name + "/bias",
        std::move(b2));
    return std::string();
  }

  // Folds into Gemm `gemm` (Y [M, N], the BN's channels are N).
  absl::StatusOr<std::string> FoldIntoGemm(ir::Graph& graph, ir::Node* gemm, const ir::Node* bn,
                                           const Affine& affine) {
    if (gemm->inputs.size() < 2) return std::string("malformed_producer");
    ENGINE_ASSIGN_OR_RETURN(int64_t trans_b, OnNode(gemm->attrs.GetInt("transB", 0), *gemm));
    ENGINE_ASSIGN_OR_RETURN(float beta, OnNode(gemm->attrs.GetFloat("beta", 1.0f), *gemm));
    const Tensor* b = FloatConstant(gemm->inputs[1]);
    const ir::Value* c_value = gemm->inputs.size() > 2 ? gemm->inputs[2] : nullptr;
    const Tensor* c = FloatConstant(c_value);
    if (b == nullptr || (c_value != nullptr && c == nullptr)) {
      return std::string("non_constant_weights");
    }
    const Dims& y_shape = gemm->outputs[0]->shape;
    const int64_t n_count = static_cast<int64_t>(affine.a.size());
    if (y_shape.size() != 2 || y_shape[1] != n_count || b->shape().size() != 2 ||
        b->shape()[trans_b != 0 ? 0 : 1] != n_count) {
      return std::string("shape_mismatch");
    }
    const int64_t m_count = y_shape[0];
    // B' = B with output column n scaled by a[n].
    Tensor b2 = *b;
    float* bd = b2.data_as<float>();
    const int64_t k_count = b->num_elements() / n_count;
    for (int64_t kk = 0; kk < k_count; ++kk) {
      for (int64_t n = 0; n < n_count; ++n) {
        float& v = trans_b != 0 ? bd[n * k_count + kk] : bd[kk * n_count + n];
        v = static_cast<float>(v * affine.a[n]);
      }
    }
    // C' = beta * C * a + s; C (right-aligned against [M, N]) is read with
    // the Gemm kernel's unidirectional broadcast. beta = 0 ignores C.
    const bool use_c = c != nullptr && beta != 0.0f;
    int64_t c_rows = 1, c_cols = 1;
    if (use_c) {
      const Dims& cs = c->shape();
      if (cs.size() > 2) return std::string("shape_mismatch");
      c_rows = cs.size() == 2 ? cs[0] : 1;
      c_cols = cs.empty() ? 1 : cs.back();
      if ((c_rows != 1 && c_rows != m_count) || (c_cols != 1 && c_cols != n_count)) {
        return std::string("shape_mismatch");
      }
    }
    const int64_t rows = c_rows == 1 ? 1 : m_count;
    Tensor c2(DataType::kFloat32, rows == 1 ? Dims{n_count} : Dims{m_count, n_count});
    float* cd = c2.data_as<float>();
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t n = 0; n < n_count; ++n) {
        const double old =
            use_c ? static_cast<double>(beta) *
                        c->data_as<float>()[(c_rows == 1 ? 0 : i * c_cols) + (c_cols == 1 ? 0 : n)]
                  : 0.0;
        cd[i * n_count + n] = static_cast<float>(old * affine.a[n] + affine.s[n]);
      }
    }
    gemm->inputs[1] = AddFloatConstant(graph, gemm->inputs[1]->name + "/bn_folded", std::move(b2));
    if (gemm->inputs.size() < 3) gemm->inputs.resize(3, nullptr);
    gemm->inputs[2] = AddFloatConstant(
        graph, c_value != nullptr ? c_value->name + "/bn_folded" : bn->name + "/bias",
        std::move(c2));
    gemm->attrs.Set("beta", 1.0f);
    return std::string();
  }
};

}  // namespace

// fold-scale-shift: a Conv or Gemm followed by a Mul or Add (or Sub) with a
// float constant that varies only along the output channels (shape [C,1,1],
// [1,C,1,1], [N] for a Gemm, or a scalar) folds into the producer's weights
// and bias, with the safety checks of fold-batchnorm (single consumer, not a
// graph output, no fused epilogue on the producer, constant weights). Such
// chains come from exporters that split a bias or a BN into elementwise ops
// (mnist-8: Conv -> Add(bias); Inception v2: BN -> Mul -> Add).
class FoldScaleShiftPass : public FoldBatchNormPass {
 public:
  std::string_view name() const override { return "fold-scale-shift"; }
  std::string_view description() const override {
    return "fold a per-channel constant Mul/Add/Sub after a Conv or Gemm into its weights and bias";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size();) {
      ir::Node* op = graph.nodes()[i].get();
      if (op->op_type != "Mul" && op->op_type != "Add" && op->op_type != "Sub") {
        ++i;
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(bool removed, Fold(graph, op, stats));
      changed = changed || removed;
      if (!removed) ++i;
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  absl::StatusOr<bool> Fold(ir::Graph& graph, ir::Node* op, PassStats& stats) {
    if (op->inputs.size() != 2 || op->outputs.size() != 1 || op->inputs[0] == nullptr ||
        op->inputs[1] == nullptr) {
      return false;
    }
    // The activation side comes from a Conv or Gemm; the other is constant.
    int act = -1;
    for (int k = 0; k < 2; ++k) {
      const ir::Node* p = op->inputs[k]->producer;
      if (p != nullptr && (p->op_type == "Conv" || p->op_type == "Gemm") &&
          IsConstant(op->inputs[1 - k])) {
        act = k;
      }
    }
    if (act < 0) return false;  // not this pattern: no counter
    if (op->op_type == "Sub" && act != 0) {
      stats.Count("skipped.constant_minus_activation");
      return false;
    }
    ir::Value* x = op->inputs[act];
    ir::Node* producer = x->producer;
    const Tensor* v = FloatConstant(op->inputs[1 - act]);
    const ir::Value* y = op->outputs[0];
    if (v == nullptr || x->dtype != DataType::kFloat32 || x->shape.size() < 2) {
      stats.Count("skipped.unsupported_constant");
      return false;
    }
    if (y->shape != x->shape) {
      stats.Count("skipped.broadcast_grows_output");
      return false;
    }
    // The constant must vary along axis 1 only (right-aligned broadcast).
    const int64_t channels = x->shape[1];
    const Dims& vs = v->shape();
    bool per_channel = vs.size() <= x->shape.size();
    const size_t offset = x->shape.size() - vs.size();
    for (size_t d = 0; d < vs.size() && per_channel; ++d) {
      const size_t axis = offset + d;
      per_channel = vs[d] == 1 || (axis == 1 && vs[d] == channels);
    }
    if (!per_channel) {
      stats.Count("skipped.not_per_channel");
      return false;
    }
    if (graph.IsGraphOutput(x)) {
      stats.Count("skipped.intermediate_is_graph_output");
      return false;
    }
    if (SoleConsumer(graph, x) != op) {
      stats.Count("skipped.multiple_consumers");
      return false;
    }
    if (producer->attrs.Has("activation") ||
        (producer->inputs.size() > 3 && producer->inputs[3] != nullptr)) {
      stats.Count("skipped.producer_has_epilogue");
      return false;
    }
    Affine affine;
    affine.a.assign(channels, 1.0);
    affine.s.assign(channels, 0.0);
    const bool scalar = v->num_elements() == 1;
    for (int64_t c = 0; c < channels; ++c) {
      const double value = v->data_as<float>()[scalar ? 0 : c];
      if (op->op_type == "Mul") affine.a[c] = value;
      if (op->op_type == "Add") affine.s[c] = value;
      if (op->op_type == "Sub") affine.s[c] = -value;
    }
    std::string reason;
    if (producer->op_type == "Conv") {
      ENGINE_ASSIGN_OR_RETURN(reason, FoldIntoConv(graph, producer, op, affine));
    } else {
      ENGINE_ASSIGN_OR_RETURN(reason, FoldIntoGemm(graph, producer, op, affine));
    }
    if (!reason.empty()) {
      stats.Count("skipped." + reason);
      return false;
    }
    stats.Count("fired");
    stats.Count(std::string("fired.") + op->op_type);
    NameFused(*producer, {producer, op});
    SetSingleOutput(*producer, op->outputs[0]);
    graph.RemoveNode(op);
    return true;
  }
};

std::unique_ptr<Pass> MakeFoldScaleShiftPass() { return std::make_unique<FoldScaleShiftPass>(); }

std::unique_ptr<Pass> MakeFoldBatchNormPass() { return std::make_unique<FoldBatchNormPass>(); }

}  // namespace engine::opt
