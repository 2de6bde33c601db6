// fuse-attention: scaled dot-product attention as BERT / ViT export it
// becomes one Attention layer (engine-internal; kernels/attention.cc,
// accelerator mapping in ops/attention.cc):
//
//   Kt = Transpose(K4, perm [0, 1, 3, 2])   K4 = K [B, H, T, D]
//     or Transpose(Kr, perm [0, 2, 3, 1])   Kr = [B, T, H, D] (what
//        simplify-reshape leaves of the [0, 2, 1, 3] head split followed by
//        the [0, 1, 3, 2] transpose)
//   s = MatMul(Q, Kt)                       Q [B, H, S, D], s [B, H, S, T]
//   s = Div(s, c) or Mul(s, c)              c a float32 constant scalar
//   s = Add(s, M)  (optional; M broadcastable to [B, H, S, T], either operand)
//   p = Softmax(s, axis -1)                 (opset >= 13 semantics)
//   Y = MatMul(p, V)                        V [B, H, T, Dv]
//     ->  Y = Attention(Q, K, V[, M]; scale c, scale_mode "div" / "mul")
//
// In the [0, 2, 3, 1] form the Kt Transpose is kept but its permutation
// becomes [0, 2, 1, 3], so it produces K [B, H, T, D] (same bytes moved); in
// the [0, 1, 3, 2] form the Transpose is removed. The Attention kernel
// performs the chain's float32 operations in the same order (scaled product,
// mask add, Softmax's contiguous row softmax, product), so outputs match the
// unfused graph to float32 rounding of the GEMM blocking.
//
// Checks (a failing candidate is counted and left alone): the scale is a
// float32 constant scalar ("scale_not_constant_scalar"); Softmax's axis is
// the last one ("softmax_axis_not_last"); Q, K, V, Y are rank 4 with
// consistent B, H, S, T, D and a mask of rank <= 4 unidirectionally
// broadcastable to [B, H, S, T] ("shapes"); every intermediate (Kt, the
// scores, scaled, masked, probabilities) has one reader and is not a graph
// output ("intermediate_has_other_readers", "intermediate_is_graph_output");
// float32 everywhere ("unsupported_dtype"); the cost model accepts
// (PassContext::AcceptFusion, "cost_model").
//
// Counters: "fired", "fired.mask" (with a mask), "fired.kt_0231" (the
// [0, 2, 3, 1] form); "skipped.<reason>" as above, counted for a Softmax
// whose neighbourhood has the pattern's structure.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

// The producer of `v` when it is a `type` node with one output, else nullptr.
ir::Node* ProducerOf(const ir::Value* v, const char* type) {
  ir::Node* p = v != nullptr ? v->producer : nullptr;
  if (p == nullptr || p->op_type != type || p->outputs.size() != 1) return nullptr;
  return p;
}

bool IsFloat32(const ir::Value* v) { return v != nullptr && v->dtype == DataType::kFloat32; }

class FuseAttentionPass : public Pass {
 public:
  std::string_view name() const override { return "fuse-attention"; }
  std::string_view description() const override {
    return "fuse MatMul(Q, Transpose(K)), Div/Mul by a scalar, optional mask Add, Softmax "
           "(last axis), MatMul by V into one Attention layer";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      ir::Node* softmax = graph.nodes()[i].get();
      if (softmax->op_type != "Softmax" || softmax->inputs.size() != 1 ||
          softmax->outputs.size() != 1) {
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(bool fused, TryFuse(graph, softmax, stats));
      if (fused) {
        changed = true;
        i = 0;  // the node list changed; fused Softmaxes are gone, so this ends
      }
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  static bool Skip(PassStats& stats, const char* reason) {
    stats.Count(std::string("skipped.") + reason);
    return false;
  }

  absl::StatusOr<bool> TryFuse(ir::Graph& graph, ir::Node* softmax, PassStats& stats) {
    // Structure: [Add(mask)] <- Div/Mul <- MatMul <- Transpose, and a MatMul reader.
    ir::Node* add = ProducerOf(softmax->inputs[0], "Add");
    ir::Value* mask = nullptr;
    ir::Node* scale = nullptr;
    if (add != nullptr && add->inputs.size() == 2) {
      for (int s = 0; s < 2 && scale == nullptr; ++s) {
        ir::Node* c = add->inputs[s] ? add->inputs[s]->producer : nullptr;
        if (c != nullptr && (c->op_type == "Div" || c->op_type == "Mul") &&
            c->outputs.size() == 1 && c->inputs.size() == 2) {
          scale = c;
          mask = add->inputs[1 - s];
        }
      }
      if (scale == nullptr) return false;
    } else {
      add = nullptr;
      scale = softmax->inputs[0] ? softmax->inputs[0]->producer : nullptr;
      if (scale == nullptr || (scale->op_type != "Div" && scale->op_type != "Mul") ||
          scale->inputs.size() != 2 || scale->outputs.size() != 1) {
        return false;
      }
    }
    // The scores MatMul is the scale's first operand (Div), or either (Mul).
    ir::Node* qk = nullptr;
    ir::Value* c = nullptr;
    for (int s = 0; s < (scale->op_type == "Mul" ? 2 : 1) && qk == nullptr; ++s) {
      ir::Node* m = ProducerOf(scale->inputs[s], "MatMul");
      if (m != nullptr && m->inputs.size() == 2) {
        qk = m;
        c = scale->inputs[1 - s];
      }
    }
    if (qk == nullptr) return false;
    ir::Node* kt = ProducerOf(qk->inputs[1], "Transpose");
    if (kt == nullptr || kt->inputs.size() != 1) return false;
    const std::vector<int64_t> perm = kt->attrs.Ints("perm");
    const bool perm_0132 = perm == std::vector<int64_t>{0, 1, 3, 2};
    const bool perm_0231 = perm == std::vector<int64_t>{0, 2, 3, 1};
    if (!perm_0132 && !perm_0231) return false;
    // The P·V MatMul: a reader of the probabilities as its first operand
    // (other readers are refused below, counted).
    ir::Node* pv = nullptr;
    for (ir::Node* r : graph.Consumers(softmax->outputs[0])) {
      if (r->op_type == "MatMul" && r->inputs.size() == 2 && r->inputs[0] == softmax->outputs[0] &&
          r->inputs[1] != softmax->outputs[0] && r->outputs.size() == 1) {
        pv = r;
        break;
      }
    }
    if (pv == nullptr) return false;

    // Scale: a float32 constant scalar.
    const Tensor* ct = FloatConstant(c);
    if (ct == nullptr || ct->num_elements() != 1) return Skip(stats, "scale_not_constant_scalar");
    // Softmax over the last axis.
    const ir::Value* scores = softmax->inputs[0];
    const int64_t rank = static_cast<int64_t>(scores->shape.size());
    int64_t axis = softmax->attrs.Int("axis", -1);
    if (axis < 0) axis += rank;
    if (rank != 4 || axis != 3) return Skip(stats, "softmax_axis_not_last");
    // Shapes.
    ir::Value* q = qk->inputs[0];
    ir::Value* kin = kt->inputs[0];
    ir::Value* v = pv->inputs[1];
    ir::Value* y = pv->outputs[0];
    if (q->shape.size() != 4 || kin->shape.size() != 4 || v->shape.size() != 4 ||
        y->shape.size() != 4) {
      return Skip(stats, "shapes");
    }
    const Dims& qs = q->shape;
    // K as [B, H, T, D] whatever the form.
    const Dims ks = perm_0132 ? kin->shape
                              : Dims{kin->shape[0], kin->shape[2], kin->shape[1], kin->shape[3]};
    const int64_t b = qs[0], h = qs[1], s = qs[2], d = qs[3], t = ks[2];
    bool ok = ks == Dims{b, h, t, d} && v->shape[0] == b && v->shape[1] == h && v->shape[2] == t &&
              y->shape == Dims{b, h, s, v->shape[3]} && scores->shape == Dims{b, h, s, t};
    for (int64_t e : qs) ok = ok && e >= 1;
    ok = ok && t >= 1;
    if (ok && mask != nullptr) {
      const Dims& ms = mask->shape;
      const Dims full{b, h, s, t};
      ok = ms.size() <= 4;
      for (size_t i = 0; ok && i < ms.size(); ++i) {
        const int64_t want = full[4 - ms.size() + i];
        ok = ms[i] == 1 || ms[i] == want;
      }
    }
    if (!ok) return Skip(stats, "shapes");
    // Intermediates: one reader each, not graph outputs.
    std::vector<ir::Node*> inner = {kt, qk, scale};
    if (add != nullptr) inner.push_back(add);
    inner.push_back(softmax);
    for (ir::Node* n : inner) {
      if (graph.Consumers(n->outputs[0]).size() != 1) {
        return Skip(stats, "intermediate_has_other_readers");
      }
    }
    for (ir::Node* n : inner) {
      if (graph.IsGraphOutput(n->outputs[0])) return Skip(stats, "intermediate_is_graph_output");
    }
    for (const ir::Value* x : std::vector<const ir::Value*>{q, kin, v, y, scores}) {
      if (!IsFloat32(x)) return Skip(stats, "unsupported_dtype");
    }
    if (mask != nullptr && !IsFloat32(mask)) return Skip(stats, "unsupported_dtype");

    // The fused layer. In the [0, 2, 3, 1] form the Kt Transpose becomes the
    // [0, 2, 1, 3] head split producing K (restored if the fusion is refused).
    const Dims kt_shape = kt->outputs[0]->shape;
    if (perm_0231) {
      kt->attrs.Set("perm", std::vector<int64_t>{0, 2, 1, 3});
      kt->outputs[0]->shape = ks;
    }
    ir::Value* k = perm_0231 ? kt->outputs[0] : kin;
    auto attn = std::make_unique<ir::Node>();
    attn->op_type = "Attention";
    attn->inputs = {q, k, v};
    if (mask != nullptr) attn->inputs.push_back(mask);
    attn->attrs.Set("scale", ct->data_as<float>()[0]);
    attn->attrs.Set("scale_mode", std::string(scale->op_type == "Div" ? "div" : "mul"));
    attn->outputs = {y};
    std::vector<const ir::Node*> covered;
    if (perm_0132) covered.push_back(kt);
    for (ir::Node* n : {qk, scale}) covered.push_back(n);
    if (add != nullptr) covered.push_back(add);
    covered.push_back(softmax);
    covered.push_back(pv);
    NameFused(*attn, covered);
    auto accepted = context().AcceptFusion(*attn, covered);
    if (!accepted.ok() || !*accepted) {
      if (perm_0231) {
        kt->attrs.Set("perm", perm);
        kt->outputs[0]->shape = kt_shape;
      }
      if (!accepted.ok()) return Annotate(accepted.status(), softmax->Describe());
      return Skip(stats, "cost_model");
    }
    ir::Node* inserted = graph.InsertNodeBefore(pv, std::move(attn));
    for (const ir::Node* n : covered) graph.RemoveNode(const_cast<ir::Node*>(n));
    inserted->outputs[0]->producer = inserted;
    stats.Count("fired");
    if (mask != nullptr) stats.Count("fired.mask");
    if (perm_0231) stats.Count("fired.kt_0231");
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeFuseAttentionPass() { return std::make_unique<FuseAttentionPass>(); }

}  // namespace engine::opt
