// simplify-reshape: removes redundant data-layout nodes.
//
//  - Reshape/Flatten -> Reshape/Flatten: one Reshape from the first node's
//    input straight to the final (static) shape, given as a new constant
//    int64 shape tensor (allowzero = 1 when the shape has a 0 dimension, so
//    the 0 is taken literally). Counter "fired.reshape_chain".
//  - Transpose(perm p1) -> Transpose(perm p2): one Transpose with
//    perm q[k] = p1[p2[k]] (out[k] = in[p1[p2[k]]]); when q is the identity
//    both are removed and the readers rewired to the first input
//    ("fired.transpose_cancelled"), else "fired.transpose_chain". perm
//    defaults to the reversed axes (ONNX).
//  - Reshape/Flatten whose output shape equals its input shape: removed and
//    its readers rewired to its input, as eliminate-identity does
//    ("fired.identity_reshape"); kept when its output is a graph output (the
//    name must survive; "skipped.output_is_graph_output").
//
// Chains require that the first node's output has exactly one reader and is
// not a graph output; the surviving (second) node keeps its output value and
// is named "<first> + <second>". "fired" counts every rewrite.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

bool IsReshapeLike(const ir::Node* n) {
  return (n->op_type == "Reshape" || n->op_type == "Flatten") && !n->inputs.empty() &&
         n->inputs[0] != nullptr && n->outputs.size() == 1;
}

bool IsTranspose(const ir::Node* n) {
  return n->op_type == "Transpose" && n->inputs.size() == 1 && n->inputs[0] != nullptr &&
         n->outputs.size() == 1;
}

absl::StatusOr<std::vector<int64_t>> Perm(const ir::Node& n) {
  const size_t rank = n.inputs[0]->shape.size();
  std::vector<int64_t> reversed(rank);
  for (size_t k = 0; k < rank; ++k) reversed[k] = static_cast<int64_t>(rank - 1 - k);
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> perm, OnNode(n.attrs.GetInts("perm", reversed), n));
  std::vector<bool> seen(rank, false);
  bool ok = perm.size() == rank;
  for (size_t k = 0; ok && k < perm.size(); ++k) {
    ok = perm[k] >= 0 && perm[k] < static_cast<int64_t>(rank) && !seen[perm[k]];
    if (ok) seen[perm[k]] = true;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(n.Describe(), ": perm is not a permutation of rank ", rank));
  }
  return perm;
}

class SimplifyReshapePass : public Pass {
 public:
  std::string_view name() const override { return "simplify-reshape"; }
  std::string_view description() const override {
    return "collapse Reshape/Flatten and Transpose chains, remove no-op Reshapes";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size();) {
      ir::Node* n = graph.nodes()[i].get();
      bool removed = false;
      if (IsReshapeLike(n)) {
        removed = RemoveIdentityReshape(graph, n, stats) || CollapseReshapes(graph, n, stats);
      } else if (IsTranspose(n)) {
        ENGINE_ASSIGN_OR_RETURN(removed, CollapseTransposes(graph, n, stats));
      }
      changed = changed || removed;
      if (!removed) ++i;  // else position i now holds the next node
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  static bool RemoveIdentityReshape(ir::Graph& graph, ir::Node* n, PassStats& stats) {
    ir::Value* in = n->inputs[0];
    ir::Value* out = n->outputs[0];
    if (in->shape != out->shape || in->dtype != out->dtype) return false;
    if (graph.IsGraphOutput(out)) {
      stats.Count("skipped.output_is_graph_output");
      return false;
    }
    graph.ReplaceAllUsesWith(out, in);
    graph.RemoveNode(n);
    stats.Count("fired");
    stats.Count("fired.identity_reshape");
    return true;
  }

  // Checks the chain first -> (sole reader) second; counts the reason when a
  // chain exists but cannot be collapsed. `is_second` selects the reader kind.
  template <typename Pred>
  static ir::Node* ChainedReader(const ir::Graph& graph, ir::Node* first, Pred is_second,
                                 PassStats& stats) {
    ir::Value* out = first->outputs[0];
    std::vector<ir::Node*> readers = graph.Consumers(out);
    bool any = false;
    for (ir::Node* r : readers) any = any || (is_second(r) && r->inputs[0] == out);
    if (!any) return nullptr;
    if (graph.IsGraphOutput(out)) {
      stats.Count("skipped.intermediate_is_graph_output");
      return nullptr;
    }
    if (readers.size() != 1) {
      stats.Count("skipped.multiple_consumers");
      return nullptr;
    }
    ir::Node* second = readers[0];
    for (size_t k = 1; k < second->inputs.size(); ++k) {
      if (second->inputs[k] == out) {  // e.g. the data is also the shape input
        stats.Count("skipped.not_data_input");
        return nullptr;
      }
    }
    return second;
  }

  static bool CollapseReshapes(ir::Graph& graph, ir::Node* first, PassStats& stats) {
    ir::Node* second = ChainedReader(graph, first, IsReshapeLike, stats);
    if (second == nullptr) return false;
    const Dims& target = second->outputs[0]->shape;
    Tensor shape(DataType::kInt64, {static_cast<int64_t>(target.size())});
    bool has_zero = false;
    for (size_t k = 0; k < target.size(); ++k) {
      shape.data_as<int64_t>()[k] = target[k];
      has_zero = has_zero || target[k] == 0;
    }
    ir::Value* shape_value = graph.AddConstant(second->name + "/shape",
                                               std::make_shared<const Tensor>(std::move(shape)));
    NameFused(*second, {first, second});
    second->op_type = "Reshape";
    second->inputs = {first->inputs[0], shape_value};
    second->attrs = Attributes();
    if (has_zero) second->attrs.Set("allowzero", int64_t{1});
    graph.RemoveNode(first);
    stats.Count("fired");
    stats.Count("fired.reshape_chain");
    return true;
  }

  static absl::StatusOr<bool> CollapseTransposes(ir::Graph& graph, ir::Node* first,
                                                 PassStats& stats) {
    ir::Node* second = ChainedReader(graph, first, IsTranspose, stats);
    if (second == nullptr) return false;
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> p1, Perm(*first));
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> p2, Perm(*second));
    if (p1.size() != p2.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(second->Describe(), ": perm rank ", p2.size(), " differs from ", p1.size()));
    }
    std::vector<int64_t> q(p2.size());
    bool identity = true;
    for (size_t k = 0; k < q.size(); ++k) {
      q[k] = p1[p2[k]];
      identity = identity && q[k] == static_cast<int64_t>(k);
    }
    ir::Value* in = first->inputs[0];
    ir::Value* out = second->outputs[0];
    stats.Count("fired");
    if (identity && !graph.IsGraphOutput(out)) {
      graph.ReplaceAllUsesWith(out, in);
      graph.RemoveNode(second);
      graph.RemoveNode(first);
      stats.Count("fired.transpose_cancelled");
      return true;
    }
    // One Transpose (an identity one when the output name must survive).
    NameFused(*second, {first, second});
    second->inputs = {in};
    second->attrs.Set("perm", q);
    graph.RemoveNode(first);
    stats.Count("fired.transpose_chain");
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeSimplifyReshapePass() { return std::make_unique<SimplifyReshapePass>(); }

}  // namespace engine::opt
