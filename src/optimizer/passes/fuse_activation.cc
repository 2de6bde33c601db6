// fuse-activation: a Conv or Gemm followed by an activation becomes one layer
// with a fused epilogue.
//
//   y = act(Conv(...))  ->  Conv(...) {activation = "<act op type>",
//                                      activation_alpha, activation_beta}
//
// for act in Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Swish
// (which fuse-swish makes from SiLU's Mul(x, Sigmoid(x))) and Gelu (which
// fuse-gelu makes from the Erf and Tanh forms; the Gemm is typically a
// transformer's FFN projection from fuse-matmul-add).
// Parameters (floats, written only for the activations that have them):
//   Clip:        alpha = min, beta = max (constant inputs 1 and 2 of Clip-11+,
//                or the Clip-6 attributes; missing -> -FLT_MAX / FLT_MAX);
//   LeakyRelu:   alpha (default 0.01);
//   Swish:       alpha (default 1);
//   HardSigmoid: alpha, beta (defaults 0.2, 0.5);
//   Gelu:        alpha = 0 for approximate "none" (erf), 1 for "tanh".
// The host kernels apply it after bias / residual (Conv) or after
// alpha * A * B + beta * C (Gemm); see kernel_util.h, ParseActivation.
//
// Checks: the layer has no activation yet; its output has exactly one reader,
// the activation (as its input 0), and is not a graph output; float32; Clip
// bounds are constant. The cost model is asked last (PassContext::
// AcceptFusion). The layer is rewritten in place, takes over the activation's
// output value and is named "<layer> + <act>".
//
// Counters: "fired" (and "fired.<act op type>"); "skipped.<reason>" for every
// Conv/Gemm read by an activation that is not fused, "skipped.cost_model"
// when the cost model declines.
#include <cfloat>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ops/op_registry.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

// Activations the Conv/Gemm kernels apply in their epilogue
// (ops::OpDef::epilogue_activation).
bool IsActivation(const ir::Node* n) {
  const ops::OpDef* def = ops::OpRegistry::Builtin().Find(n->op_type);
  return def != nullptr && def->epilogue_activation;
}

class FuseActivationPass : public Pass {
 public:
  std::string_view name() const override { return "fuse-activation"; }
  std::string_view description() const override {
    return "fuse a following activation (Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, "
           "HardSwish, Swish, Gelu) into a Conv or Gemm";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      ir::Node* layer = graph.nodes()[i].get();
      if ((layer->op_type != "Conv" && layer->op_type != "Gemm") || layer->outputs.size() != 1) {
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(bool fused, TryFuse(graph, layer, stats));
      changed = changed || fused;
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  // Fuses the activation reading `layer`, in place; the activation node (after
  // `layer` in the schedule) is removed.
  absl::StatusOr<bool> TryFuse(ir::Graph& graph, ir::Node* layer, PassStats& stats) {
    ir::Value* out = layer->outputs[0];
    std::vector<ir::Node*> readers = graph.Consumers(out);
    bool feeds_act = false;
    for (const ir::Node* r : readers) {
      feeds_act = feeds_act || (IsActivation(r) && !r->inputs.empty() && r->inputs[0] == out);
    }
    if (!feeds_act) return false;
    auto skip = [&](const char* reason) {
      stats.Count(std::string("skipped.") + reason);
      return false;
    };
    if (layer->attrs.Has("activation")) return skip("already_has_activation");
    if (graph.IsGraphOutput(out)) return skip("intermediate_is_graph_output");
    if (readers.size() != 1) return skip("multiple_consumers");
    ir::Node* act = readers[0];
    if (act->outputs.size() != 1) return skip("malformed_activation");
    for (size_t k = 1; k < act->inputs.size(); ++k) {
      if (act->inputs[k] == out) return skip("malformed_activation");
    }
    if (out->dtype != DataType::kFloat32) return skip("unsupported_dtype");

    auto fused = std::make_unique<ir::Node>(*layer);
    fused->attrs.Set("activation", act->op_type);
    if (act->op_type == "Clip") {
      ENGINE_ASSIGN_OR_RETURN(float lo, OnNode(act->attrs.GetFloat("min", -FLT_MAX), *act));
      ENGINE_ASSIGN_OR_RETURN(float hi, OnNode(act->attrs.GetFloat("max", FLT_MAX), *act));
      bool has_lo = false, has_hi = false;
      float in_lo = lo, in_hi = hi;
      if (!ClipBound(*act, 1, &has_lo, &in_lo) || !ClipBound(*act, 2, &has_hi, &in_hi)) {
        return skip("non_constant_clip_bounds");
      }
      // The inputs (Clip-11+) win over the Clip-6 attributes.
      fused->attrs.Set("activation_alpha", has_lo ? in_lo : lo);
      fused->attrs.Set("activation_beta", has_hi ? in_hi : hi);
    } else if (act->op_type == "LeakyRelu") {
      ENGINE_ASSIGN_OR_RETURN(float alpha, OnNode(act->attrs.GetFloat("alpha", 0.01f), *act));
      fused->attrs.Set("activation_alpha", alpha);
    } else if (act->op_type == "Swish") {
      ENGINE_ASSIGN_OR_RETURN(float alpha, OnNode(act->attrs.GetFloat("alpha", 1.0f), *act));
      fused->attrs.Set("activation_alpha", alpha);
    } else if (act->op_type == "HardSigmoid") {
      ENGINE_ASSIGN_OR_RETURN(float alpha, OnNode(act->attrs.GetFloat("alpha", 0.2f), *act));
      ENGINE_ASSIGN_OR_RETURN(float beta, OnNode(act->attrs.GetFloat("beta", 0.5f), *act));
      fused->attrs.Set("activation_alpha", alpha);
      fused->attrs.Set("activation_beta", beta);
    } else if (act->op_type == "Gelu") {
      ENGINE_ASSIGN_OR_RETURN(std::string approx,
                              OnNode(act->attrs.GetString("approximate", "none"), *act));
      if (approx != "none" && approx != "tanh") return skip("unknown_gelu_approximation");
      fused->attrs.Set("activation_alpha", approx == "tanh" ? 1.0f : 0.0f);
    }
    NameFused(*fused, {layer, act});
    fused->outputs = {act->outputs[0]};
    auto accepted = context().AcceptFusion(*fused, {layer, act});
    if (!accepted.ok()) return Annotate(accepted.status(), layer->Describe());
    if (!*accepted) return skip("cost_model");

    const std::string act_type = act->op_type;
    *layer = std::move(*fused);
    layer->outputs[0]->producer = layer;
    graph.RemoveNode(act);
    stats.Count("fired");
    stats.Count("fired." + act_type);
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeFuseActivationPass() { return std::make_unique<FuseActivationPass>(); }

}  // namespace engine::opt
