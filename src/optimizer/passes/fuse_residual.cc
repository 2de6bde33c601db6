// fuse-residual: a Conv or Gemm whose output is added to a same-shaped
// tensor (a residual connection), optionally followed by a Relu, becomes
// one Conv / Gemm.
//
//   y = Relu(Conv(x, W, B) + r)  ->  Conv(x, W, B, r) {activation = "Relu"}
//   y = Gemm(x, W, C) + r        ->  Gemm(x, W, C, r)   (transformer residuals:
//                                    the attention output and FFN projections)
//
// The fused layer has the residual as input 3 (B / C may be absent: input 2
// is then empty) and computes y = act(conv(x) + B + r) (host kernel:
// conv.cc), or y = act((alpha A'B' + beta C) + r) (gemm.cc): the accelerator
// adds r in the array's epilogue as each output tile drains, so the
// product's output is never stored and reloaded. Conv group is
// unrestricted. The residual may have other readers (BERT's x feeds the
// next block's Q/K/V projections too): the fused layer reads it where the
// Add did. In INT8 builds a fused Gemm becomes an Int8Gemm with the residual
// as its int8 input 3 (kernels/int8_layers.cc).
//
// Checks: the Conv's output has exactly one reader, an Add (or a two-input Sum,
// as Caffe2 exports write residual adds), and is not a graph
// output; the Add's other operand has exactly the Add's output shape and
// dtype (no broadcasting); the Conv has no residual or activation yet. The
// Relu joins when it is the only reader of the Add's output and that output is
// not a graph output. The cost model is asked last
// (PassContext::AcceptFusion). The fused node is inserted where the Add was
// (every input, the residual included, is available there), takes over the
// last fused node's output value and is named "<conv> + <add>[ + <relu>]".
//
// Counters: "fired" (and "fired.with_relu", "fired.gemm"); "skipped.<reason>"
// for every Conv or Gemm
// read by an Add that is not fused, "skipped.cost_model" when the cost model
// declines.
#include "absl/container/flat_hash_set.h"
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

class FuseResidualPass : public Pass {
 public:
  std::string_view name() const override { return "fuse-residual"; }
  std::string_view description() const override {
    return "fuse Conv/Gemm + residual Add (+ Relu) into a Conv/Gemm with a residual input";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    created_.clear();
    for (size_t i = 0; i < graph.nodes().size();) {
      ir::Node* conv = graph.nodes()[i].get();
      bool removed = false;
      // Nodes this run created are results, not candidates (they already
      // have a residual); skipping them keeps the counters about the model.
      if ((conv->op_type == "Conv" || conv->op_type == "Gemm") && conv->outputs.size() == 1 &&
          conv->inputs.size() >= 2 && !created_.contains(conv)) {
        ENGINE_ASSIGN_OR_RETURN(removed, TryFuse(graph, conv, stats));
      }
      changed = changed || removed;
      if (!removed) ++i;  // else position i now holds the next node
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  // Fuses `conv` with its Add (and Relu); returns true when `conv` was
  // replaced (removed from the graph).
  absl::StatusOr<bool> TryFuse(ir::Graph& graph, ir::Node* conv, PassStats& stats) {
    ir::Value* out = conv->outputs[0];
    std::vector<ir::Node*> readers = graph.Consumers(out);
    bool feeds_add = false;
    // Caffe2-exported models (e.g. the model zoo ResNet-50) add with a
    // two-input Sum.
    for (const ir::Node* r : readers) {
      feeds_add = feeds_add || r->op_type == "Add" || (r->op_type == "Sum" && r->inputs.size() == 2);
    }
    if (!feeds_add) return false;
    auto skip = [&](const char* reason) {
      stats.Count(std::string("skipped.") + reason);
      return false;
    };
    if (graph.IsGraphOutput(out)) return skip("intermediate_is_graph_output");
    if (readers.size() != 1) return skip("multiple_consumers");
    if (conv->inputs.size() > 3 && conv->inputs[3] != nullptr) return skip("already_has_residual");
    if (conv->attrs.Has("activation")) return skip("has_activation");
    ir::Node* add = readers[0];
    if (add->inputs.size() != 2 || add->outputs.size() != 1) return skip("malformed_add");
    if (add->inputs[0] == add->inputs[1]) return skip("same_operand");
    ir::Value* residual = add->inputs[0] == out ? add->inputs[1] : add->inputs[0];
    ir::Value* sum = add->outputs[0];
    if (out->dtype != DataType::kFloat32) return skip("unsupported_dtype");
    if (residual == nullptr || residual->shape != out->shape || sum->shape != out->shape ||
        residual->dtype != out->dtype) {
      return skip("broadcast");
    }
    ir::Node* relu = nullptr;
    if (!graph.IsGraphOutput(sum)) {
      ir::Node* reader = SoleConsumer(graph, sum);
      if (reader != nullptr && reader->op_type == "Relu" && reader->inputs.size() == 1 &&
          reader->outputs.size() == 1) {
        relu = reader;
      }
    }

    auto fused = std::make_unique<ir::Node>(*conv);
    if (fused->inputs.size() < 4) fused->inputs.resize(4, nullptr);
    fused->inputs[3] = residual;
    std::vector<const ir::Node*> separate = {conv, add};
    if (relu != nullptr) {
      fused->attrs.Set("activation", std::string("Relu"));
      separate.push_back(relu);
    }
    NameFused(*fused, separate);
    fused->outputs = {relu != nullptr ? relu->outputs[0] : sum};
    auto accepted = context().AcceptFusion(*fused, separate);
    if (!accepted.ok()) return Annotate(accepted.status(), conv->Describe());
    if (!*accepted) return skip("cost_model");

    const bool gemm = conv->op_type == "Gemm";
    created_.insert(graph.InsertNodeBefore(add, std::move(fused)));  // sets the producer
    graph.RemoveNode(conv);
    graph.RemoveNode(add);
    if (relu != nullptr) graph.RemoveNode(relu);
    stats.Count("fired");
    if (relu != nullptr) stats.Count("fired.with_relu");
    if (gemm) stats.Count("fired.gemm");
    return true;
  }

  // Fused nodes inserted by the current Run.
  absl::flat_hash_set<const ir::Node*> created_;
};

}  // namespace

std::unique_ptr<Pass> MakeFuseResidualPass() { return std::make_unique<FuseResidualPass>(); }

}  // namespace engine::opt
