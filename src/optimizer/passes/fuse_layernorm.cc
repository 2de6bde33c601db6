// fuse-layernorm: LayerNorm as exporters decompose it (PyTorch below opset
// 17, TensorFlow, Keras) becomes one LayerNormalization layer (ONNX
// LayerNormalization-17, stash_type 1):
//
//   m = ReduceMean(x, axes A, keepdims 1);  d = Sub(x, m)
//   q = Pow(d, 2)  or  Mul(d, d)
//   v = ReduceMean(q, axes A, keepdims 1);  a = Add(v, eps)  (either order)
//   s = Sqrt(a);   n = Div(d, s)  or  Mul(d, Reciprocal(s))  (either order)
//   [y = Mul(n, gamma)]  [z = Add(y, beta)]    (either order, both optional)
//     ->  z = LayerNormalization(x, gamma, beta; axis = min(A), epsilon = eps)
//
// Nine vector layers become one: the fused kernel (kernels/normalization.cc)
// computes mean and variance in double, then (x - mean) / sqrt(var + eps) *
// gamma + beta in float32, so results differ from the chain by the chain's
// own float32 roundings (a few ulp of the normalized value).
//
// Checks: A (attribute, or constant input at opset 18) is the same set in
// both ReduceMeans and covers exactly the trailing axes [axis, rank) of x
// (LayerNormalization normalizes x.shape[axis:]); both keepdims = 1; eps is
// a float32 constant of one element, finite and >= 0; gamma and beta are
// float32 constants that broadcast to x.shape[axis:] without varying along
// an axis before `axis` (leading 1s are dropped; a gamma or beta that does
// not fit stays a separate Mul / Add after the fused layer); every
// intermediate is read only inside the pattern (d by the square and the
// normalization, the others once) and is not a graph output; x and the
// result are float32 with known shapes. A missing gamma becomes a constant
// of ones shaped x.shape[axis:]. The cost model is asked
// (PassContext::AcceptFusion).
//
// Counters: "fired"; "skipped.<reason>" for a ReduceMean that starts the
// whole chain but fails a check ("intermediate_has_other_readers",
// "intermediate_is_graph_output", "unsupported_dtype", "unknown_shape",
// "axes_not_constant", "axes_differ", "axes_not_trailing", "keepdims_0",
// "eps_not_scalar", "cost_model"); "gamma_left_separate" /
// "beta_left_separate" when a fused layer leaves an affine Mul / Add whose
// constant does not fit.
#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

// The first reader of `v` of type `type` with one output for which `pred`
// holds, or nullptr.
template <typename Pred>
ir::Node* FindReader(const ir::Graph& graph, const ir::Value* v, const char* type, Pred pred) {
  for (ir::Node* n : graph.Consumers(v)) {
    if (n->op_type == type && n->outputs.size() == 1 && pred(*n)) return n;
  }
  return nullptr;
}

// The reduced axes of ReduceMean `n` on an input of rank `rank`, normalized to
// [0, rank) and sorted; every axis when none are given. nullopt when the axes
// are a non-constant input or out of range.
std::optional<std::vector<int64_t>> ReducedAxes(const ir::Node& n, int64_t rank) {
  std::vector<int64_t> axes;
  if (n.inputs.size() >= 2 && n.inputs[1] != nullptr) {
    const ir::Value* a = n.inputs[1];
    if (!a->is_constant() || a->constant->dtype() != DataType::kInt64) return std::nullopt;
    const int64_t* p = a->constant->data_as<int64_t>();
    axes.assign(p, p + a->constant->num_elements());
  } else {
    absl::StatusOr<std::vector<int64_t>> attr = n.attrs.GetInts("axes", {});
    if (!attr.ok()) return std::nullopt;
    axes = *attr;
  }
  if (axes.empty()) {
    absl::StatusOr<int64_t> noop = n.attrs.GetInt("noop_with_empty_axes", 0);
    if (!noop.ok() || *noop != 0) return std::nullopt;  // identity, not a reduction
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank) return std::nullopt;
    if (a < 0) a += rank;
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return axes;
}

// An affine constant (gamma or beta) reshaped for LayerNormalization: `c`'s
// values with the leading dimensions that align with x's axes before `axis`
// dropped (they must be 1), so it broadcasts unidirectionally to
// x.shape[axis:]. nullopt when `c` does not fit.
std::optional<Tensor> AffineFor(const Tensor& c, const Dims& x_shape, int64_t axis) {
  const int64_t rank = static_cast<int64_t>(x_shape.size());
  const int64_t crank = static_cast<int64_t>(c.shape().size());
  if (crank > rank) return std::nullopt;
  const int64_t keep = std::min<int64_t>(crank, rank - axis);
  for (int64_t i = 0; i < crank - keep; ++i) {
    if (c.shape()[i] != 1) return std::nullopt;
  }
  Dims shape(c.shape().end() - keep, c.shape().end());
  for (int64_t i = 0; i < keep; ++i) {
    const int64_t xd = x_shape[rank - keep + i];
    if (shape[i] != 1 && shape[i] != xd) return std::nullopt;
  }
  Tensor out(DataType::kFloat32, shape);
  std::copy_n(c.data_as<float>(), c.num_elements(), out.data_as<float>());
  return out;
}

class FuseLayerNormPass : public Pass {
 public:
  std::string_view name() const override { return "fuse-layernorm"; }
  std::string_view description() const override {
    return "fuse the decomposed LayerNorm (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, "
           "Mul, Add) into one LayerNormalization layer";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      ir::Node* mean = graph.nodes()[i].get();
      if (mean->op_type != "ReduceMean" || mean->inputs.empty() || mean->outputs.size() != 1) {
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(bool fused, TryFuse(graph, mean, stats));
      if (fused) {
        changed = true;
        i = 0;  // the node list changed; each fusion removes two ReduceMeans, so this ends
      }
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  absl::StatusOr<bool> TryFuse(ir::Graph& graph, ir::Node* mean, PassStats& stats) {
    ir::Value* x = mean->inputs[0];
    if (x == nullptr || x->is_constant()) return false;
    ir::Value* m = mean->outputs[0];
    // The structure first; a mismatch here is not the pattern (no counter).
    ir::Node* sub = FindReader(graph, m, "Sub", [&](const ir::Node& n) {
      return n.inputs.size() == 2 && n.inputs[0] == x && n.inputs[1] == m;
    });
    if (sub == nullptr) return false;
    ir::Value* d = sub->outputs[0];
    ir::Node* square = nullptr;
    for (ir::Node* n : graph.Consumers(d)) {
      if (n->outputs.size() != 1 || n->inputs.size() != 2) continue;
      if ((n->op_type == "Pow" && n->inputs[0] == d && IsFloatScalar(n->inputs[1], 2.0)) ||
          (n->op_type == "Mul" && n->inputs[0] == d && n->inputs[1] == d)) {
        square = n;
        break;
      }
    }
    if (square == nullptr) return false;
    ir::Node* var = FindReader(graph, square->outputs[0], "ReduceMean", [&](const ir::Node& n) {
      return !n.inputs.empty() && n.inputs[0] == square->outputs[0];
    });
    if (var == nullptr) return false;
    ir::Node* add_eps = FindReader(graph, var->outputs[0], "Add", [&](const ir::Node& n) {
      return IsConstant(OtherOperand(n, var->outputs[0]));
    });
    if (add_eps == nullptr) return false;
    ir::Node* sqrt = FindReader(graph, add_eps->outputs[0], "Sqrt", [](const ir::Node& n) {
      return n.inputs.size() == 1;
    });
    if (sqrt == nullptr) return false;
    ir::Value* s = sqrt->outputs[0];
    ir::Node* recip = nullptr;
    ir::Node* norm = FindReader(graph, s, "Div", [&](const ir::Node& n) {
      return n.inputs.size() == 2 && n.inputs[0] == d && n.inputs[1] == s;
    });
    if (norm == nullptr) {
      recip = FindReader(graph, s, "Reciprocal", [](const ir::Node& n) {
        return n.inputs.size() == 1;
      });
      if (recip == nullptr) return false;
      norm = FindReader(graph, recip->outputs[0], "Mul", [&](const ir::Node& n) {
        return OtherOperand(n, recip->outputs[0]) == d;
      });
      if (norm == nullptr) return false;
    }

    // The conditions.
    std::vector<ir::Node*> chain = {mean, sub, square, var, add_eps, sqrt};
    if (recip != nullptr) chain.push_back(recip);
    chain.push_back(norm);
    for (ir::Node* n : chain) {
      if (n == norm) break;
      const size_t want = n == sub ? 2 : 1;  // d feeds the square and the normalization
      if (graph.Consumers(n->outputs[0]).size() != want) {
        return Skip(stats, "intermediate_has_other_readers");
      }
      if (graph.IsGraphOutput(n->outputs[0])) return Skip(stats, "intermediate_is_graph_output");
    }
    if (x->dtype != DataType::kFloat32 || norm->outputs[0]->dtype != DataType::kFloat32) {
      return Skip(stats, "unsupported_dtype");
    }
    if (!x->has_shape || x->shape.empty() || !norm->outputs[0]->has_shape ||
        norm->outputs[0]->shape != x->shape) {
      return Skip(stats, "unknown_shape");
    }
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    const std::optional<std::vector<int64_t>> axes_mean = ReducedAxes(*mean, rank);
    const std::optional<std::vector<int64_t>> axes_var = ReducedAxes(*var, rank);
    if (!axes_mean || !axes_var) return Skip(stats, "axes_not_constant");
    if (*axes_mean != *axes_var) return Skip(stats, "axes_differ");
    const int64_t axis = axes_mean->front();
    for (size_t i = 0; i < axes_mean->size(); ++i) {
      if ((*axes_mean)[i] != axis + static_cast<int64_t>(i)) return Skip(stats, "axes_not_trailing");
    }
    if (axes_mean->back() != rank - 1) return Skip(stats, "axes_not_trailing");
    for (const ir::Node* r : {mean, var}) {
      ENGINE_ASSIGN_OR_RETURN(int64_t keepdims, OnNode(r->attrs.GetInt("keepdims", 1), *r));
      if (keepdims != 1) return Skip(stats, "keepdims_0");
    }
    const Tensor* eps_t = FloatConstant(OtherOperand(*add_eps, var->outputs[0]));
    if (eps_t == nullptr || eps_t->num_elements() != 1 ||
        !std::isfinite(eps_t->data_as<float>()[0]) || eps_t->data_as<float>()[0] < 0.0f) {
      return Skip(stats, "eps_not_scalar");
    }
    const float eps = eps_t->data_as<float>()[0];

    // The optional affine tail: Mul by gamma, then Add beta.
    ir::Node* last = norm;
    std::optional<Tensor> gamma, beta;
    ir::Node* tail = TailOp(graph, last, "Mul");
    if (tail != nullptr) {
      gamma = AffineFor(*FloatConstant(OtherOperand(*tail, last->outputs[0])), x->shape, axis);
      if (gamma) {
        chain.push_back(tail);
        last = tail;
      } else {
        stats.Count("gamma_left_separate");
      }
    }
    tail = (last == norm && tail != nullptr) ? nullptr : TailOp(graph, last, "Add");
    if (tail != nullptr) {
      beta = AffineFor(*FloatConstant(OtherOperand(*tail, last->outputs[0])), x->shape, axis);
      if (beta) {
        chain.push_back(tail);
        last = tail;
      } else {
        stats.Count("beta_left_separate");
      }
    }
    if (!gamma) {
      Tensor ones(DataType::kFloat32, Dims(x->shape.begin() + axis, x->shape.end()));
      std::fill_n(ones.data_as<float>(), ones.num_elements(), 1.0f);
      gamma = std::move(ones);
    }

    auto ln = std::make_unique<ir::Node>();
    ln->op_type = "LayerNormalization";
    ln->attrs.Set("axis", axis);
    ln->attrs.Set("epsilon", eps);
    ln->attrs.Set("stash_type", int64_t{1});
    ln->attrs.Set("num_outputs", int64_t{1});
    ln->outputs = {last->outputs[0]};
    std::vector<const ir::Node*> covered(chain.begin(), chain.end());
    NameFused(*ln, covered);
    ln->inputs = {x, AddFloatConstant(graph, last->outputs[0]->name + "/ln_scale", std::move(*gamma))};
    if (beta) {
      ln->inputs.push_back(AddFloatConstant(graph, last->outputs[0]->name + "/ln_bias", std::move(*beta)));
    }
    auto accepted = context().AcceptFusion(*ln, covered);
    if (!accepted.ok()) return Annotate(accepted.status(), mean->Describe());
    if (!*accepted) {
      graph.RemoveUnusedValues();  // the constants made for the refused layer
      return Skip(stats, "cost_model");
    }
    ir::Node* inserted = graph.InsertNodeBefore(last, std::move(ln));
    for (ir::Node* n : chain) graph.RemoveNode(n);
    inserted->outputs[0]->producer = inserted;
    stats.Count("fired");
    return true;
  }

  // The sole reader of `prev`'s output when it is a `type` node whose other
  // operand is a float32 constant, and that output is not a graph output.
  static ir::Node* TailOp(const ir::Graph& graph, const ir::Node* prev, const char* type) {
    ir::Value* v = prev->outputs[0];
    if (graph.IsGraphOutput(v)) return nullptr;
    ir::Node* n = SoleConsumer(graph, v);
    if (n == nullptr || n->op_type != type || n->outputs.size() != 1) return nullptr;
    if (FloatConstant(OtherOperand(*n, v)) == nullptr) return nullptr;
    return n;
  }

  static bool Skip(PassStats& stats, const char* reason) {
    stats.Count(std::string("skipped.") + reason);
    return false;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeFuseLayerNormPass() { return std::make_unique<FuseLayerNormPass>(); }

}  // namespace engine::opt
