// fuse-gelu: GELU as PyTorch and TensorFlow export it (BERT, ViT, GPT-2's
// exact form) becomes one Gelu layer (ONNX Gelu-20, approximate "none"):
//
//   d = Div(x, sqrt(2))  or  Mul(x, 1/sqrt(2))
//   e = Erf(d); a = Add(e, 1)
//   y = Mul(Mul(x, a), 0.5)  or  Mul(Mul(x, 0.5), a)  (operands in any order)
//     ->  y = Gelu(x)
//
// and the tanh approximation (GPT-2, HF NewGELUActivation, PyTorch
// nn.GELU(approximate="tanh") below opset 20):
//
//   c = Pow(x, 3)  or  Mul(x, Mul(x, x))  or  Mul(Mul(x, x), x)
//   k = Mul(c, 0.044715);  w = Add(x, k);  u = Mul(w, sqrt(2 / pi))
//   t = Tanh(u); a = Add(t, 1); y = the same 0.5 * x * a product as above
//     ->  y = Gelu(x, approximate = "tanh")
//
// Five (Erf) or nine (tanh) vector layers become one. The fused kernel
// computes x / 2 * (1 + erf(x / sqrt(2))), or x / 2 * (1 + tanh(sqrt(2 / pi)
// * (x + 0.044715 x^3))), in float32 (kernels/elementwise_math.cc; formulas
// of ONNX Gelu-20); results differ from the five-layer chain by the
// chain's own intermediate roundings (a few ulp).
//
// Checks: every constant is a float32 scalar with the value above (sqrt(2),
// 1/sqrt(2), sqrt(2/pi) and 0.044715 to 1e-6 relative; 3 in Pow exact); every intermediate has exactly one reader
// and is not a graph output; float32. The cost model is asked
// (PassContext::AcceptFusion).
//
// Counters: "fired" (both forms), "fired.tanh" (the tanh form also);
// "skipped.<reason>" for an Erf or Tanh whose neighbourhood
// matches the shape of the pattern but not its conditions
// ("intermediate_has_other_readers", "intermediate_is_graph_output",
// "unsupported_dtype", "cost_model").
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

class FuseGeluPass : public Pass {
 public:
  std::string_view name() const override { return "fuse-gelu"; }
  std::string_view description() const override {
    return "fuse the exported GELU chains (Erf form: Div/Mul, Erf, Add, Mul, Mul; tanh form: "
           "Pow, Mul, Add, Mul, Tanh, Add, Mul, Mul) into one Gelu layer";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      ir::Node* erf = graph.nodes()[i].get();
      if ((erf->op_type != "Erf" && erf->op_type != "Tanh") || erf->inputs.size() != 1 ||
          erf->outputs.size() != 1) {
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(bool fused, TryFuse(graph, erf, stats));
      if (fused) {
        changed = true;
        i = 0;  // the node list changed; a fused Gelu is not an Erf or Tanh, so this ends
      }
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  // The single reader of `v` when it is a `type` node, else nullptr.
  static ir::Node* OnlyReader(const ir::Graph& graph, const ir::Value* v, const char* type) {
    std::vector<ir::Node*> readers = graph.Consumers(v);
    if (readers.size() != 1 || readers[0]->op_type != type || readers[0]->outputs.size() != 1) {
      return nullptr;
    }
    return readers[0];
  }

  // The head of the Erf form ending at `erf`: sets `x` and the nodes before
  // `erf` (one, the scaling); false when it does not match.
  static bool MatchErfHead(ir::Node* erf, ir::Value*& x, std::vector<ir::Node*>& head) {
    // x / sqrt(2) or x * (1 / sqrt(2)).
    ir::Node* scale = erf->inputs[0] != nullptr ? erf->inputs[0]->producer : nullptr;
    if (scale == nullptr || scale->inputs.size() != 2 || scale->outputs.size() != 1) return false;
    if (scale->op_type == "Div" && IsFloatScalar(scale->inputs[1], std::sqrt(2.0), 1e-6)) {
      x = scale->inputs[0];
    } else if (scale->op_type == "Mul") {
      for (int s = 0; s < 2; ++s) {
        if (IsFloatScalar(scale->inputs[s], 1.0 / std::sqrt(2.0), 1e-6)) x = scale->inputs[1 - s];
      }
    }
    head = {scale};
    return x != nullptr && !x->is_constant();
  }

  // The head of the tanh form ending at `tanh`: sets `x` and the nodes before
  // `tanh` in data order (cube, 0.044715 scaling, Add, sqrt(2/pi) scaling);
  // false when it does not match.
  static bool MatchTanhHead(ir::Node* tanh, ir::Value*& x, std::vector<ir::Node*>& head) {
    // Node producing `v` when it is a binary `type` with one output.
    auto producer = [](const ir::Value* v, const char* type) -> ir::Node* {
      ir::Node* p = v != nullptr ? v->producer : nullptr;
      if (p == nullptr || p->op_type != type || p->inputs.size() != 2 || p->outputs.size() != 1) {
        return nullptr;
      }
      return p;
    };
    // The operand of `n` other than a float32 scalar constant equal to
    // `want`, or nullptr.
    auto by_scalar = [](const ir::Node* n, double want) -> ir::Value* {
      for (int s = 0; s < 2; ++s) {
        if (IsFloatScalar(n->inputs[s], want, 1e-6)) return n->inputs[1 - s];
      }
      return nullptr;
    };
    ir::Node* mu = producer(tanh->inputs[0], "Mul");
    if (mu == nullptr) return false;
    ir::Value* w = by_scalar(mu, std::sqrt(2.0 / 3.14159265358979323846));
    ir::Node* add = producer(w, "Add");
    if (add == nullptr) return false;
    for (int s = 0; s < 2 && x == nullptr; ++s) {
      ir::Node* mk = producer(add->inputs[1 - s], "Mul");
      if (mk == nullptr) continue;
      ir::Value* cube = by_scalar(mk, 0.044715);
      ir::Value* cand = add->inputs[s];
      if (cube == nullptr || cand == nullptr || cand->is_constant() || cube->producer == nullptr) {
        continue;
      }
      ir::Node* pc = cube->producer;
      if (pc->outputs.size() != 1 || pc->inputs.size() != 2) continue;
      if (pc->op_type == "Pow" && pc->inputs[0] == cand && IsFloatScalar(pc->inputs[1], 3.0)) {
        head = {pc, mk, add, mu};
        x = cand;
      } else if (pc->op_type == "Mul") {
        // x * (x * x) or (x * x) * x.
        for (int t = 0; t < 2 && x == nullptr; ++t) {
          ir::Node* sq = producer(pc->inputs[1 - t], "Mul");
          if (pc->inputs[t] == cand && sq != nullptr && sq->inputs[0] == cand &&
              sq->inputs[1] == cand) {
            head = {sq, pc, mk, add, mu};
            x = cand;
          }
        }
      }
    }
    return x != nullptr;
  }

  absl::StatusOr<bool> TryFuse(ir::Graph& graph, ir::Node* erf, PassStats& stats) {
    const bool tanh = erf->op_type == "Tanh";
    ir::Value* x = nullptr;
    std::vector<ir::Node*> head;
    if (!(tanh ? MatchTanhHead(erf, x, head) : MatchErfHead(erf, x, head))) return false;
    // 1 + erf.
    ir::Node* add = OnlyReader(graph, erf->outputs[0], "Add");
    if (add == nullptr || !IsFloatScalar(OtherOperand(*add, erf->outputs[0]), 1.0)) return false;
    ir::Value* a = add->outputs[0];
    // The product of x, a and 0.5 as two Muls.
    ir::Node* m1 = OnlyReader(graph, a, "Mul");
    if (m1 == nullptr) return false;
    ir::Value* p = OtherOperand(*m1, a);
    if (p == nullptr) return false;
    std::vector<ir::Node*> chain = head;
    chain.push_back(erf);
    chain.push_back(add);
    ir::Node* last = nullptr;
    if (p->producer != nullptr && p->producer->op_type == "Mul" &&
        OtherOperand(*p->producer, x) != nullptr && IsFloatScalar(OtherOperand(*p->producer, x), 0.5)) {
      // Mul(Mul(x, 0.5), a): the half product is computed before the Erf chain.
      ir::Node* m0 = p->producer;
      if (graph.Consumers(p).size() != 1) return Skip(stats, "intermediate_has_other_readers");
      if (graph.IsGraphOutput(p)) return Skip(stats, "intermediate_is_graph_output");
      chain.insert(chain.begin(), m0);
      chain.push_back(m1);
      last = m1;
    } else if (p == x || IsFloatScalar(p, 0.5)) {
      // Mul(Mul(x, a), 0.5) or Mul(Mul(a, 0.5), x).
      ir::Node* m2 = OnlyReader(graph, m1->outputs[0], "Mul");
      if (m2 == nullptr) return false;
      ir::Value* q = OtherOperand(*m2, m1->outputs[0]);
      if (q == nullptr || !(p == x ? IsFloatScalar(q, 0.5) : q == x)) return false;
      chain.push_back(m1);
      chain.push_back(m2);
      last = m2;
    } else {
      return false;
    }
    // Every intermediate: one reader (checked from the Erf / Tanh on by
    // OnlyReader) and not a graph output.
    for (ir::Node* n : head) {
      if (graph.Consumers(n->outputs[0]).size() != 1) {
        return Skip(stats, "intermediate_has_other_readers");
      }
    }
    for (ir::Node* n : chain) {
      if (n != last && graph.IsGraphOutput(n->outputs[0])) {
        return Skip(stats, "intermediate_is_graph_output");
      }
    }
    if (x->dtype != DataType::kFloat32 || last->outputs[0]->dtype != DataType::kFloat32) {
      return Skip(stats, "unsupported_dtype");
    }
    auto gelu = std::make_unique<ir::Node>();
    gelu->op_type = "Gelu";
    gelu->inputs = {x};
    if (tanh) gelu->attrs.Set("approximate", std::string("tanh"));
    gelu->outputs = {last->outputs[0]};
    std::vector<const ir::Node*> covered(chain.begin(), chain.end());
    NameFused(*gelu, covered);
    auto accepted = context().AcceptFusion(*gelu, covered);
    if (!accepted.ok()) return Annotate(accepted.status(), erf->Describe());
    if (!*accepted) return Skip(stats, "cost_model");
    ir::Node* inserted = graph.InsertNodeBefore(last, std::move(gelu));
    for (ir::Node* n : chain) graph.RemoveNode(n);
    inserted->outputs[0]->producer = inserted;
    stats.Count("fired");
    if (tanh) stats.Count("fired.tanh");
    return true;
  }

  static bool Skip(PassStats& stats, const char* reason) {
    stats.Count(std::string("skipped.") + reason);
    return false;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeFuseGeluPass() { return std::make_unique<FuseGeluPass>(); }

}  // namespace engine::opt
