// fuse-attention-heads: folds the per-head Reshape + Transpose around an
// Attention layer (made by fuse-attention) into the layer's operand layout,
// so the head split and merge stop being layers (and, on the modeled chip,
// DRAM round trips of every Q, K, V and context tensor):
//
//   X [B, seq, H*D] -> Reshape [B, seq, H, D] -> Transpose(0, 2, 1, 3)
//     -> [B, H, seq, D] -> Attention input 0 (Q), 1 (K) or 2 (V)
//        becomes  X -> Attention input i (packed, attribute num_heads = H)
//   Attention Y [B, H, S, Dv] -> Transpose(0, 2, 1, 3) [B, S, H, Dv]
//     -> Reshape [B, S, H*Dv]
//        becomes  Attention Y [B, S, H*Dv] (attribute output_packed = 1)
//
// The Attention kernel (kernels/attention.cc) reads a packed head as a
// strided matrix, with the same arithmetic, so outputs are bit-identical to
// the unfolded graph.
//
// Checks, per operand (a failing operand is counted and keeps its layers;
// the others may still fold): the Transpose has permutation [0, 2, 1, 3] and
// its output is read by the Attention alone, once, and is not a graph output
// ("transpose_has_other_readers", "intermediate_is_graph_output"); it reads a
// Reshape (or Flatten) of a rank-3 [B, seq, H*D] tensor to [B, seq, H, D]
// with static shapes ("not_head_split": e.g. a transpose of some other rank-4
// tensor; "dynamic_shape": a dimension not known at build time or a Reshape
// target computed by a shape subgraph); every
// folded operand splits into the same number of heads ("heads_disagree").
// On the output side the Transpose's output is read only by that Reshape, to
// [B, S, H*Dv], and neither intermediate is a graph output (the Reshape's
// own output may be one: the Attention then writes it). A Reshape that has
// other readers than the folded Transpose stays for them. The cost model
// accepts the folded layer (PassContext::AcceptFusion, "cost_model").
//
// Counters: "fired" per Attention changed, "fired.q", "fired.k", "fired.v",
// "fired.output" per operand folded; "skipped.<reason>" as above, counted
// for an operand whose producer (or, for the output, reader) is a
// Transpose.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

const std::vector<int64_t> kHeadPerm = {0, 2, 1, 3};

bool IsHeadTranspose(const ir::Node* n) {
  return n != nullptr && n->op_type == "Transpose" && n->inputs.size() == 1 &&
         n->inputs[0] != nullptr && n->outputs.size() == 1 &&
         n->attrs.Ints("perm") == kHeadPerm;
}

bool IsReshape(const ir::Node* n) {
  return n != nullptr && (n->op_type == "Reshape" || n->op_type == "Flatten") &&
         !n->inputs.empty() && n->inputs[0] != nullptr && n->outputs.size() == 1;
}

// A Reshape whose target is a build-time constant (Flatten always is); one
// computed by a shape subgraph (dynamic-shape builds) may change at run time.
bool ConstantTarget(const ir::Node* n) {
  return n->op_type == "Flatten" || (n->inputs.size() >= 2 && IsConstant(n->inputs[1]));
}

bool Static(const Dims& d) {
  for (int64_t e : d) {
    if (e < 1) return false;
  }
  return true;
}

// How many times `node` reads `v`.
int Reads(const ir::Node& node, const ir::Value* v) {
  int count = 0;
  for (const ir::Value* in : node.inputs) count += in == v ? 1 : 0;
  return count;
}

class FuseAttentionHeadsPass : public Pass {
 public:
  std::string_view name() const override { return "fuse-attention-heads"; }
  std::string_view description() const override {
    return "fold the per-head Reshape + Transpose(0,2,1,3) of an Attention layer's Q, K, V and "
           "output into its operand layout ([B, seq, H*head] read per head, strided)";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      ir::Node* attn = graph.nodes()[i].get();
      if (attn->op_type != "Attention" || attn->inputs.size() < 3 || attn->outputs.size() != 1) {
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(bool folded, TryFold(graph, attn, stats));
      changed = changed || folded;
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  // One operand's head split: the Transpose, the Reshape, and the packed
  // [B, seq, H*D] value the Attention reads instead.
  struct Split {
    ir::Node* transpose = nullptr;
    ir::Node* reshape = nullptr;
    ir::Value* packed = nullptr;
    int64_t heads = 0;
  };

  static void Count(PassStats& stats, const char* reason) {
    stats.Count(std::string("skipped.") + reason);
  }

  // The head split feeding input `i` of `attn`, or nullopt (counted when a
  // Transpose is there but a check fails).
  static std::optional<Split> InputSplit(const ir::Graph& graph, ir::Node* attn, size_t i,
                                         PassStats& stats) {
    ir::Value* x = attn->inputs[i];
    if (x == nullptr || x->shape.size() != 4) return std::nullopt;
    ir::Node* tr = x->producer;
    if (tr == nullptr || tr->op_type != "Transpose") return std::nullopt;
    if (!IsHeadTranspose(tr)) return Count(stats, "not_head_split"), std::nullopt;
    if (graph.IsGraphOutput(x)) return Count(stats, "intermediate_is_graph_output"), std::nullopt;
    const std::vector<ir::Node*> readers = graph.Consumers(x);
    if (readers.size() != 1 || Reads(*attn, x) != 1) {
      return Count(stats, "transpose_has_other_readers"), std::nullopt;
    }
    ir::Node* rs = tr->inputs[0]->producer;
    if (!IsReshape(rs)) return Count(stats, "not_head_split"), std::nullopt;
    const Dims& in = rs->inputs[0]->shape;   // [B, seq, H*D]
    const Dims& mid = rs->outputs[0]->shape;  // [B, seq, H, D]
    if (!Static(in) || !Static(mid) || !Static(x->shape) || !ConstantTarget(rs)) {
      return Count(stats, "dynamic_shape"), std::nullopt;
    }
    if (in.size() != 3 || mid.size() != 4 || mid[0] != in[0] || mid[1] != in[1] ||
        mid[2] * mid[3] != in[2] || rs->inputs[0]->dtype != x->dtype) {
      return Count(stats, "not_head_split"), std::nullopt;
    }
    if (graph.IsGraphOutput(rs->outputs[0])) {
      return Count(stats, "intermediate_is_graph_output"), std::nullopt;
    }
    return Split{tr, rs, rs->inputs[0], mid[2]};
  }

  // The head merge reading the output of `attn`, or nullopt.
  static std::optional<Split> OutputMerge(const ir::Graph& graph, ir::Node* attn,
                                          PassStats& stats) {
    ir::Value* y = attn->outputs[0];
    if (y->shape.size() != 4) return std::nullopt;
    const std::vector<ir::Node*> readers = graph.Consumers(y);
    if (readers.size() != 1 || readers[0]->op_type != "Transpose") return std::nullopt;
    ir::Node* tr = readers[0];
    if (!IsHeadTranspose(tr)) return Count(stats, "not_head_split"), std::nullopt;
    if (graph.IsGraphOutput(y) || graph.IsGraphOutput(tr->outputs[0])) {
      return Count(stats, "intermediate_is_graph_output"), std::nullopt;
    }
    const std::vector<ir::Node*> after = graph.Consumers(tr->outputs[0]);
    if (after.size() != 1 || !IsReshape(after[0]) || after[0]->inputs[0] != tr->outputs[0]) {
      return Count(stats, "transpose_has_other_readers"), std::nullopt;
    }
    ir::Node* rs = after[0];
    const Dims& mid = tr->outputs[0]->shape;  // [B, S, H, Dv]
    const Dims& out = rs->outputs[0]->shape;  // [B, S, H*Dv]
    if (!Static(y->shape) || !Static(out) || !ConstantTarget(rs)) {
      return Count(stats, "dynamic_shape"), std::nullopt;
    }
    if (mid.size() != 4 || out.size() != 3 || out[0] != mid[0] || out[1] != mid[1] ||
        out[2] != mid[2] * mid[3] || rs->outputs[0]->dtype != y->dtype) {
      return Count(stats, "not_head_split"), std::nullopt;
    }
    return Split{tr, rs, rs->outputs[0], mid[2]};
  }

  absl::StatusOr<bool> TryFold(ir::Graph& graph, ir::Node* attn, PassStats& stats) {
    const int64_t heads_now = attn->attrs.Int("num_heads", 0);
    std::optional<Split> in[3];
    for (size_t i = 0; i < 3; ++i) in[i] = InputSplit(graph, attn, i, stats);
    std::optional<Split> out = OutputMerge(graph, attn, stats);
    // Every folded operand (and operands folded earlier) names one head count.
    int64_t heads = heads_now;
    bool agree = true;
    auto check_heads = [&](const std::optional<Split>& s) {
      if (!s) return;
      if (heads == 0) heads = s->heads;
      agree = agree && s->heads == heads;
    };
    for (const auto& s : in) check_heads(s);
    check_heads(out);
    if (!agree) {
      Count(stats, "heads_disagree");
      return false;
    }
    if (!in[0] && !in[1] && !in[2] && !out) return false;

    auto fused = std::make_unique<ir::Node>(*attn);
    fused->attrs.Set("num_heads", heads);
    std::vector<const ir::Node*> covered;
    std::vector<ir::Node*> removed;
    for (size_t i = 0; i < 3; ++i) {
      if (!in[i]) continue;
      fused->inputs[i] = in[i]->packed;
      covered.push_back(in[i]->reshape);
      covered.push_back(in[i]->transpose);
      removed.push_back(in[i]->transpose);
      // A Reshape read by others stays for them.
      if (graph.Consumers(in[i]->reshape->outputs[0]).size() == 1) {
        removed.push_back(in[i]->reshape);
      }
    }
    covered.push_back(attn);
    if (out) {
      fused->attrs.Set("output_packed", int64_t{1});
      fused->outputs = {out->packed};
      covered.push_back(out->transpose);
      covered.push_back(out->reshape);
      removed.push_back(out->transpose);
      removed.push_back(out->reshape);
    }
    NameFused(*fused, covered);
    auto accepted = context().AcceptFusion(*fused, covered);
    if (!accepted.ok()) return Annotate(accepted.status(), attn->Describe());
    if (!*accepted) {
      Count(stats, "cost_model");
      return false;
    }
    const bool fold[4] = {in[0].has_value(), in[1].has_value(), in[2].has_value(),
                          out.has_value()};
    // Where the old Attention was: its packed inputs are produced earlier (they
    // fed the removed Reshapes) and the merge Reshape's readers come later.
    ir::Node* inserted = graph.InsertNodeBefore(attn, std::move(fused));
    graph.RemoveNode(attn);
    for (ir::Node* n : removed) graph.RemoveNode(n);
    inserted->outputs[0]->producer = inserted;
    stats.Count("fired");
    const char* names[4] = {"fired.q", "fired.k", "fired.v", "fired.output"};
    for (int i = 0; i < 4; ++i) {
      if (fold[i]) stats.Count(names[i]);
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeFuseAttentionHeadsPass() {
  return std::make_unique<FuseAttentionHeadsPass>();
}

}  // namespace engine::opt
