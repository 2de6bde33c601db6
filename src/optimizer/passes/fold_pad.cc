// fold-pad: folds a zero, constant-mode Pad into the `pads` attribute of the
// Conv or AveragePool that reads it.
//
// Pad (ONNX Operators.md, Pad-13/18) data [N, C, D1, ..., Dk] with constant
// pads [x1_begin, ..., xr_begin, x1_end, ..., xr_end] (r = rank, or the
// entries of the optional constant `axes`), mode "constant" and a constant
// value of 0 (absent = 0) feeding input 0 of
//  - a Conv: zero padding is exactly what Conv's pads add;
//  - an AveragePool with count_include_pad = 1 and ceil_mode = 0: the padded
//    zeros count in the divisor either way. (With count_include_pad = 0 the
//    explicit zeros would count but folded pads would not; MaxPool pads with
//    -inf, not 0, so it is never folded.)
// becomes: consumer.pads[i] += Pad's spatial pads, consumer reads Pad's input.
//
// Checks: the N and C pads are zero and no pad is negative (cropping); the
// consumer's auto_pad is NOTSET; the Pad's output has exactly one reader and
// is not a graph output. The consumer keeps its op type and output; its name
// becomes "<pad> + <consumer>".
//
// Counters: "fired"; "skipped.<reason>" for every Pad that is not folded.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "optimizer/passes.h"
#include "optimizer/passes/pass_util.h"

namespace engine::opt {
namespace {

// Integer values of a constant int64/int32 tensor, or false.
bool ConstantInts(const ir::Value* v, std::vector<int64_t>* out) {
  if (v == nullptr || !v->is_constant()) return false;
  const Tensor& t = *v->constant;
  out->resize(t.num_elements());
  if (t.dtype() == DataType::kInt64) {
    for (size_t i = 0; i < out->size(); ++i) (*out)[i] = t.data_as<int64_t>()[i];
  } else if (t.dtype() == DataType::kInt32) {
    for (size_t i = 0; i < out->size(); ++i) (*out)[i] = t.data_as<int32_t>()[i];
  } else {
    return false;
  }
  return true;
}

// Whether every byte of a constant tensor is zero (0 or +0.0 of any dtype;
// -0.0 pads like 0 in a sum too, but is rare enough to not special-case).
bool IsZeroConstant(const ir::Value* v) {
  if (v == nullptr) return true;  // absent constant_value means 0
  if (!v->is_constant()) return false;
  const auto* p = static_cast<const unsigned char*>(v->constant->data());
  for (size_t i = 0; i < v->constant->byte_size(); ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

class FoldPadPass : public Pass {
 public:
  std::string_view name() const override { return "fold-pad"; }
  std::string_view description() const override {
    return "fold a zero constant Pad into the pads of the Conv or AveragePool reading it";
  }

  absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) override {
    bool changed = false;
    for (size_t i = 0; i < graph.nodes().size();) {
      ir::Node* pad = graph.nodes()[i].get();
      if (pad->op_type != "Pad") {
        ++i;
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(std::string reason, TryFold(graph, pad));
      if (reason.empty()) {
        stats.Count("fired");
        changed = true;  // the Pad at position i was removed
      } else {
        stats.Count("skipped." + reason);
        ++i;
      }
    }
    if (changed) graph.RemoveUnusedValues();
    return changed;
  }

 private:
  // Folds `pad` into its consumer and removes it; returns "" or the reason.
  absl::StatusOr<std::string> TryFold(ir::Graph& graph, ir::Node* pad) {
    ENGINE_ASSIGN_OR_RETURN(std::string mode,
                            OnNode(pad->attrs.GetString("mode", "constant"), *pad));
    if (mode != "constant") return std::string("not_constant_mode");
    if (pad->inputs.size() < 2 || pad->inputs[0] == nullptr || pad->outputs.size() != 1) {
      return std::string("malformed");
    }
    ir::Value* data = pad->inputs[0];
    ir::Value* padded = pad->outputs[0];
    const int64_t rank = static_cast<int64_t>(data->shape.size());
    std::vector<int64_t> pads, axes;
    if (!ConstantInts(pad->inputs[1], &pads)) return std::string("non_constant_pads");
    if (pad->inputs.size() > 3 && pad->inputs[3] != nullptr) {
      if (!ConstantInts(pad->inputs[3], &axes)) return std::string("non_constant_pads");
      for (int64_t& a : axes) {
        if (a < -rank || a >= rank) return std::string("malformed");
        if (a < 0) a += rank;
      }
    } else {
      for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
    }
    if (pads.size() != 2 * axes.size()) return std::string("malformed");
    const ir::Value* value = pad->inputs.size() > 2 ? pad->inputs[2] : nullptr;
    if (!IsZeroConstant(value)) return std::string("nonzero_value");
    std::vector<int64_t> begin(rank, 0), end(rank, 0);
    for (size_t k = 0; k < axes.size(); ++k) {
      begin[axes[k]] += pads[k];
      end[axes[k]] += pads[k + axes.size()];
    }
    for (int64_t d = 0; d < rank; ++d) {
      if (begin[d] < 0 || end[d] < 0) return std::string("negative_pads");
    }
    if (rank < 3) return std::string("rank_below_3");  // no [N, C, spatial...] layout
    if (begin[0] != 0 || end[0] != 0 || begin[1] != 0 || end[1] != 0) {
      return std::string("pads_batch_or_channel");
    }
    if (graph.IsGraphOutput(padded)) return std::string("intermediate_is_graph_output");
    ir::Node* consumer = SoleConsumer(graph, padded);
    if (consumer == nullptr) return std::string("multiple_consumers");
    if (consumer->op_type != "Conv" && consumer->op_type != "AveragePool") {
      return std::string("consumer_not_conv_or_avgpool");
    }
    if (consumer->inputs.empty() || consumer->inputs[0] != padded) {
      return std::string("not_data_input");
    }
    for (size_t k = 1; k < consumer->inputs.size(); ++k) {
      if (consumer->inputs[k] == padded) return std::string("not_data_input");
    }
    ENGINE_ASSIGN_OR_RETURN(std::string auto_pad,
                            OnNode(consumer->attrs.GetString("auto_pad", "NOTSET"), *consumer));
    if (!auto_pad.empty() && auto_pad != "NOTSET") return std::string("auto_pad");
    if (consumer->op_type == "AveragePool") {
      ENGINE_ASSIGN_OR_RETURN(int64_t count_include_pad,
                              OnNode(consumer->attrs.GetInt("count_include_pad", 0), *consumer));
      ENGINE_ASSIGN_OR_RETURN(int64_t ceil_mode,
                              OnNode(consumer->attrs.GetInt("ceil_mode", 0), *consumer));
      if (count_include_pad == 0) return std::string("count_include_pad_0");
      if (ceil_mode != 0) return std::string("ceil_mode");
    }
    const int64_t nsp = rank - 2;
    ENGINE_ASSIGN_OR_RETURN(
        std::vector<int64_t> cpads,
        OnNode(consumer->attrs.GetInts("pads", std::vector<int64_t>(2 * nsp, 0)), *consumer));
    if (static_cast<int64_t>(cpads.size()) != 2 * nsp) return std::string("malformed");
    for (int64_t k = 0; k < nsp; ++k) {
      cpads[k] += begin[2 + k];
      cpads[nsp + k] += end[2 + k];
    }
    consumer->attrs.Set("pads", cpads);
    consumer->attrs.Erase("auto_pad");
    consumer->inputs[0] = data;
    NameFused(*consumer, {pad, consumer});
    graph.RemoveNode(pad);
    return std::string();
  }
};

}  // namespace

std::unique_ptr<Pass> MakeFoldPadPass() { return std::make_unique<FoldPadPass>(); }

}  // namespace engine::opt
