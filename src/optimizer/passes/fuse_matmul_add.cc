// fuse-matmul-add: MatMul(A, B) followed by Add(bias) becomes one Gemm.
//
//   A [M, K] (2-D activation), B [K, N] (constant), bias constant of shape
//   [], [1], [N], [1, 1] or [1, N] (unidirectionally broadcastable to [M, N]
//   as Gemm's C) -> Gemm(A, B, bias) with alpha = beta = 1, transA = transB = 0.
//
//   A N-D activation A [d0, ..., K] (a transformer projection, [B, S, hidden])
//   with the same B and a bias that does not vary along the rows ([], [1],
//   [N], [1, N]) -> the same Gemm with the engine's N-D A extension
//   (kernels/gemm.cc): rows M = d0 * ..., one GEMM on the array, Y [d0, ..., N].
//   Counted as "fired.nd" besides "fired".
//
// Checks: the MatMul's output has exactly one reader, the Add, and is not a
// graph output; the Add's result has the MatMul's shape (the bias does not
// broadcast the product); float32. The MatMul node becomes the Gemm in place
// (its inputs are all available there), takes over the Add's output value and
// is named "<matmul> + <add>".
//
// Counters: "fired"; "skipped.<reason>" for each MatMul read by an Add that is
// not fused.
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

bool IsGemmBiasShape(const Dims& s, int64_t n) {
  if (s.size() > 2) return false;
  if (s.size() == 2 && s[0] != 1) return false;
  const int64_t last = s.empty() ? 1 : s.back();
  return last == 1 || last == n;
}

class FuseMatMulAddPass : public Pass {
 public:
  std::string_view name() const override { return "fuse-matmul-add"; }
  std::string_view description() const override {
    return "fuse a MatMul (2-D or N-D activation [..., K]) with 2-D constant weights and a bias "
           "Add into a Gemm";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      ir::Node* mm = graph.nodes()[i].get();
      if (mm->op_type != "MatMul" || mm->inputs.size() != 2 || mm->outputs.size() != 1) continue;
      ir::Value* out = mm->outputs[0];
      // Only MatMuls read by an Add are candidates.
      std::vector<ir::Node*> consumers = graph.Consumers(out);
      bool feeds_add = false;
      for (const ir::Node* c : consumers) feeds_add = feeds_add || c->op_type == "Add";
      if (!feeds_add) continue;
      std::string reason = Check(graph, mm, consumers);
      if (!reason.empty()) {
        stats.Count("skipped." + reason);
        continue;
      }
      ir::Node* add = consumers[0];
      ir::Value* bias = add->inputs[0] == out ? add->inputs[1] : add->inputs[0];
      NameFused(*mm, {mm, add});
      mm->op_type = "Gemm";
      mm->inputs.push_back(bias);
      mm->attrs.Set("alpha", 1.0f);
      mm->attrs.Set("beta", 1.0f);
      mm->attrs.Set("transA", int64_t{0});
      mm->attrs.Set("transB", int64_t{0});
      SetSingleOutput(*mm, add->outputs[0]);
      graph.RemoveNode(add);  // after position i: the index stays valid
      stats.Count("fired");
      if (mm->inputs[0]->shape.size() > 2) stats.Count("fired.nd");
      changed = true;
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  // "" when MatMul `mm` and its consumer Add can be fused, else the reason.
  static std::string Check(const ir::Graph& graph, const ir::Node* mm,
                           const std::vector<ir::Node*>& consumers) {
    const ir::Value* a = mm->inputs[0];
    const ir::Value* b = mm->inputs[1];
    const ir::Value* out = mm->outputs[0];
    if (graph.IsGraphOutput(out)) return "intermediate_is_graph_output";
    if (consumers.size() != 1) return "multiple_consumers";
    const ir::Node* add = consumers[0];
    if (add->inputs.size() != 2 || add->outputs.size() != 1 || add->inputs[0] == add->inputs[1]) {
      return "malformed_add";
    }
    if (a == nullptr || b == nullptr || a->dtype != DataType::kFloat32 ||
        b->dtype != DataType::kFloat32) {
      return "unsupported_dtype";
    }
    if (a->shape.size() < 2) return "activation_rank_below_2";
    if (b->shape.size() != 2) return "weights_not_2d";
    if (!b->is_constant()) return "non_constant_weights";
    const ir::Value* bias = add->inputs[0] == out ? add->inputs[1] : add->inputs[0];
    if (!IsConstant(bias) || bias->dtype != DataType::kFloat32) return "non_constant_bias";
    if (!IsGemmBiasShape(bias->shape, out->shape.back()) || add->outputs[0]->shape != out->shape) {
      return "bias_shape";
    }
    return "";
  }
};

}  // namespace

std::unique_ptr<Pass> MakeFuseMatMulAddPass() { return std::make_unique<FuseMatMulAddPass>(); }

}  // namespace engine::opt
