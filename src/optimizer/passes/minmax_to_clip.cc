// minmax-to-clip: an elementwise Max or Min of an activation and a scalar
// constant is a clamp (TensorFlow and tf2onnx export ReLU6 and clamps this
// way: Max(x, 0), Min(x, 6)), so it becomes a Clip, and a Clip whose only
// reader is another Clip merges with it:
//
//   Max(x, c) -> Clip(x, min = c);   Min(x, c) -> Clip(x, max = c)
//   Clip(Clip(x, a1, b1), a2, b2) -> Clip(x, max(a1, a2), min(b1, b2))
//                                    when max(a1, a2) <= min(b1, b2)
//
// so that fuse-activation folds the clamp into the preceding Conv or Gemm,
// and the INT8 rewrite runs it as the layer's output clamp (Clip has an exact
// integer form; Max and Min of a float constant do not pass through INT8).
// The results are the same values (NaN passes through both; only the sign of
// a zero equal to the bound may differ: Max(-0, 0) is +0, Clip(-0, 0) is -0).
//
// Checks: two inputs, one a float32 constant with one element whose
// broadcast leaves the other operand's shape unchanged, the other a float32
// activation; for a merge, the inner Clip's output has one reader and is not
// a graph output, both Clips have constant bounds, and the ranges overlap.
//
// Counters: "fired" (and "fired.max", "fired.min", "fired.merge"); "skipped.<reason>"
// ("ranges_do_not_overlap", "non_constant_bounds").
#include <algorithm>
#include <cfloat>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

class MinMaxToClipPass : public Pass {
 public:
  std::string_view name() const override { return "minmax-to-clip"; }
  std::string_view description() const override {
    return "turn Max/Min with a scalar constant into Clip and merge consecutive Clips";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      ir::Node* n = graph.nodes()[i].get();
      if ((n->op_type == "Max" || n->op_type == "Min") && ToClip(graph, n, stats)) changed = true;
    }
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      ir::Node* n = graph.nodes()[i].get();
      if (n->op_type == "Clip" && Merge(graph, n, stats)) {
        changed = true;
        i = 0;  // a merge removes a node; Clips only get fewer, so this ends
      }
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  ir::Value* Scalar(ir::Graph& graph, const std::string& name, float v) {
    auto t = std::make_shared<Tensor>(DataType::kFloat32, Dims{});
    t->data_as<float>()[0] = v;
    return graph.AddConstant(name, t);
  }

  bool ToClip(ir::Graph& graph, ir::Node* n, PassStats& stats) {
    if (n->inputs.size() != 2 || n->outputs.size() != 1) return false;
    for (int side = 0; side < 2; ++side) {
      const Tensor* c = FloatConstant(n->inputs[side]);
      ir::Value* x = n->inputs[1 - side];
      if (c == nullptr || c->num_elements() != 1 || x == nullptr || x->is_constant() ||
          x->dtype != DataType::kFloat32 || c->shape().size() > x->shape.size() ||
          n->outputs[0]->shape != x->shape) {
        continue;
      }
      const bool is_max = n->op_type == "Max";
      const float bound = c->data_as<float>()[0];
      ir::Value* b = Scalar(graph, absl::StrCat(n->outputs[0]->name, is_max ? "/min" : "/max"), bound);
      n->op_type = "Clip";
      n->attrs = Attributes();
      n->inputs = is_max ? std::vector<ir::Value*>{x, b} : std::vector<ir::Value*>{x, nullptr, b};
      stats.Count("fired");
      stats.Count(is_max ? "fired.max" : "fired.min");
      return true;
    }
    return false;
  }

  // Merges `outer` with the Clip producing its input.
  bool Merge(ir::Graph& graph, ir::Node* outer, PassStats& stats) {
    if (outer->inputs.empty() || outer->inputs[0] == nullptr || outer->outputs.size() != 1) return false;
    ir::Value* mid = outer->inputs[0];
    ir::Node* inner = mid->producer;
    if (inner == nullptr || inner->op_type != "Clip" || inner->outputs.size() != 1) return false;
    if (graph.Consumers(mid).size() != 1 || graph.IsGraphOutput(mid)) return false;
    if (!inner->attrs.values().empty() || !outer->attrs.values().empty()) return false;  // Clip-6
    bool lo1, hi1, lo2, hi2;
    float a1 = -FLT_MAX, b1 = FLT_MAX, a2 = -FLT_MAX, b2 = FLT_MAX;
    if (!ClipBound(*inner, 1, &lo1, &a1) || !ClipBound(*inner, 2, &hi1, &b1) ||
        !ClipBound(*outer, 1, &lo2, &a2) || !ClipBound(*outer, 2, &hi2, &b2)) {
      stats.Count("skipped.non_constant_bounds");
      return false;
    }
    const float lo = std::max(a1, a2), hi = std::min(b1, b2);
    if (lo > hi) {
      stats.Count("skipped.ranges_do_not_overlap");
      return false;
    }
    auto merged = std::make_unique<ir::Node>(*outer);
    merged->inputs = {inner->inputs[0],
                      lo1 || lo2 ? Scalar(graph, absl::StrCat(outer->outputs[0]->name, "/merged_min"), lo)
                                 : nullptr,
                      hi1 || hi2 ? Scalar(graph, absl::StrCat(outer->outputs[0]->name, "/merged_max"), hi)
                                 : nullptr};
    while (!merged->inputs.empty() && merged->inputs.back() == nullptr) merged->inputs.pop_back();
    NameFused(*merged, {inner, outer});
    ir::Node* placed = graph.InsertNodeBefore(outer, std::move(merged));
    graph.RemoveNode(outer);
    graph.RemoveNode(inner);
    placed->outputs[0]->producer = placed;
    stats.Count("fired");
    stats.Count("fired.merge");
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeMinMaxToClipPass() { return std::make_unique<MinMaxToClipPass>(); }

}  // namespace engine::opt
