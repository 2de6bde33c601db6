// fuse-swish: SiLU as PyTorch exports nn.SiLU (YOLOv5/v8, EfficientNet,
// MobileNetV3's heads) becomes one Swish layer, which fuse-activation then
// folds into the preceding Conv or Gemm:
//
//   s = Sigmoid(x); y = Mul(x, s)   (or Mul(s, x))   ->   y = Swish(x)   (alpha 1)
//
// Swish-24 (ONNX) computes x * Sigmoid(alpha * x); the host kernel evaluates
// the same Sigmoid (kernels::SigmoidArray) and the same product, so the
// result is bit-identical to the two layers.
//
// Checks: the Sigmoid reads x and its output has exactly one reader, the Mul,
// and is not a graph output; the Mul's other input is x itself; float32. The
// cost model is asked (PassContext::AcceptFusion): one vector layer reading
// x once instead of two layers and a round trip of s through DRAM.
//
// Counters: "fired"; "skipped.<reason>" for a Sigmoid whose Mul reads x but
// that is not fused ("sigmoid_has_other_readers", "sigmoid_is_graph_output",
// "unsupported_dtype", "cost_model").
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

class FuseSwishPass : public Pass {
 public:
  std::string_view name() const override { return "fuse-swish"; }
  std::string_view description() const override {
    return "fuse Mul(x, Sigmoid(x)) (SiLU) into one Swish layer";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      ir::Node* mul = graph.nodes()[i].get();
      if (mul->op_type != "Mul" || mul->inputs.size() != 2 || mul->outputs.size() != 1) continue;
      ENGINE_ASSIGN_OR_RETURN(bool fused, TryFuse(graph, mul, stats));
      if (fused) {
        changed = true;
        i = 0;  // the node list changed; fused nodes are not Muls, so rescanning is finite
      }
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  absl::StatusOr<bool> TryFuse(ir::Graph& graph, ir::Node* mul, PassStats& stats) {
    for (int side = 0; side < 2; ++side) {
      ir::Value* s = mul->inputs[side];
      ir::Value* x = mul->inputs[1 - side];
      if (s == nullptr || x == nullptr || s == x) continue;
      ir::Node* sig = s->producer;
      if (sig == nullptr || sig->op_type != "Sigmoid" || sig->inputs.size() != 1 ||
          sig->inputs[0] != x || sig->outputs.size() != 1) {
        continue;
      }
      auto skip = [&](const char* reason) {
        stats.Count(std::string("skipped.") + reason);
        return false;
      };
      if (graph.IsGraphOutput(s)) return skip("sigmoid_is_graph_output");
      if (graph.Consumers(s).size() != 1) return skip("sigmoid_has_other_readers");
      if (x->dtype != DataType::kFloat32 || mul->outputs[0]->dtype != DataType::kFloat32) {
        return skip("unsupported_dtype");
      }
      auto swish = std::make_unique<ir::Node>();
      swish->op_type = "Swish";
      swish->inputs = {x};
      swish->outputs = {mul->outputs[0]};
      NameFused(*swish, {sig, mul});
      auto accepted = context().AcceptFusion(*swish, {sig, mul});
      if (!accepted.ok()) return Annotate(accepted.status(), mul->Describe());
      if (!*accepted) return skip("cost_model");
      ir::Node* inserted = graph.InsertNodeBefore(mul, std::move(swish));
      graph.RemoveNode(mul);
      graph.RemoveNode(sig);
      inserted->outputs[0]->producer = inserted;
      stats.Count("fired");
      return true;
    }
    return false;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeFuseSwishPass() { return std::make_unique<FuseSwishPass>(); }

}  // namespace engine::opt
