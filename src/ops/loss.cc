// Loss ops on the vector unit: NegativeLogLikelihoodLoss and
// SoftmaxCrossEntropyLoss (opsets 12-25; host kernels in
// src/kernels/loss.cc). INT8: both stay float (a log-probability and a loss
// are not scaled values).
//
// Costs are operations per output element of the loss output, like the
// reductions (src/ops/reduce.cc): each loss output element folds
// P / out positions (P = N * d1 * ... * dk target positions; out = P for
// reduction "none", 1 otherwise). Per position:
//  - NegativeLogLikelihoodLoss: compare the target with ignore_index and the
//    class range and select (2), multiply the gathered log-probability by the
//    class weight (1; the negation folds into it): 3; a reduction adds the
//    loss and the weight to their sums (2). "mean" finishes with one divide
//    (4, seed + Newton-Raphson as Div).
//  - SoftmaxCrossEntropyLoss: the log-softmax of the position's C scores, as
//    the LogSoftmax record: a max (1), subtract and exp (1 + 8) and add (1)
//    per class, one log (8) per position, then the NegativeLogLikelihoodLoss
//    work; writing the optional log_prob output adds a subtract per class (1).
//    Tiles run over the loss output's elements; log_prob, when written, is
//    stored too, its share of each tile (DescribeDeviceWork stores every
//    output), so its bytes are in the modeled DRAM traffic.
// Tiles: each position's C scores are read by the position's own output
// element (or by the single reduced one), so the input streams through in
// tiles proportional to the output (tile unit 1).
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

constexpr double kExpOps = 8;  // range reduction + degree-5 polynomial
constexpr double kLogOps = 8;  // exponent split + degree-5 polynomial + scale-add
constexpr double kDivOps = 4;  // seed + Newton-Raphson

// Positions folded into each loss output element, and whether the loss is
// reduced ("sum" / "mean") and averaged ("mean").
struct LossShape {
  double positions_per_output = 1;
  bool reduced = false;
  bool mean = false;
};

LossShape ShapeOf(const LayerView& n) {
  LossShape s;
  const double positions = n.Has(1) ? static_cast<double>(NumElements(n.inputs[1].shape)) : 0.0;
  const double out =
      n.outputs.empty()
          ? 1.0
          : static_cast<double>(std::max<int64_t>(1, NumElements(n.outputs[0].shape)));
  s.positions_per_output = std::max(1.0, positions / out);
  const std::string reduction = n.attrs.GetString("reduction", "mean").value_or("mean");
  s.reduced = reduction != "none";
  s.mean = reduction == "mean";
  return s;
}

double NllOpsPerPosition(const LossShape& s) { return 3 + (s.reduced ? 2 : 0); }

// SoftmaxCrossEntropyLoss's optional log_prob output is computed when the
// model names it; the layer gets the engine attribute num_outputs (1 or 2).
absl::Status ImportSoftmaxCrossEntropyLoss(const ImportNode& node, ImportSink& sink) {
  if (!node.tensor_attrs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(node.op_type, ": unexpected tensor attribute '",
                                                   node.tensor_attrs.begin()->first, "'"));
  }
  std::vector<std::string> outputs = node.outputs;
  while (outputs.size() > 1 && outputs.back().empty()) outputs.pop_back();
  if (outputs.empty() || outputs[0].empty()) {
    return absl::InvalidArgumentError("SoftmaxCrossEntropyLoss: output 'output' is required");
  }
  if (outputs.size() > 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SoftmaxCrossEntropyLoss has at most 2 outputs (output, log_prob), got ", outputs.size()));
  }
  Attributes attrs = node.attrs;
  attrs.Set("num_outputs", static_cast<int64_t>(outputs.size()));
  return sink.AddLayer(node.name, node.op_type, std::move(attrs), node.inputs, outputs);
}

OpDef LossOp(const std::string& type, kernels::KernelDef host) {
  OpDef op;
  op.type = type;
  op.min_opset = 12;
  op.host = std::move(host);
  op.device.unit = hw::LayerKind::kVector;
  return op;
}

}  // namespace

OpDef NegativeLogLikelihoodLossOp() {
  OpDef op = LossOp("NegativeLogLikelihoodLoss", kernels::MakeNegativeLogLikelihoodLossDef());
  op.device.ops_per_element = [](const LayerView& n) {
    const LossShape s = ShapeOf(n);
    return s.positions_per_output * NllOpsPerPosition(s) + (s.mean ? kDivOps : 0);
  };
  return op;
}

OpDef SoftmaxCrossEntropyLossOp() {
  OpDef op = LossOp("SoftmaxCrossEntropyLoss", kernels::MakeSoftmaxCrossEntropyLossDef());
  op.import = ImportSoftmaxCrossEntropyLoss;
  op.device.ops_per_element = [](const LayerView& n) {
    const LossShape s = ShapeOf(n);
    const Dims& x = n.Has(0) ? n.inputs[0].shape : Dims{};
    const double classes = x.size() >= 2 ? static_cast<double>(x[1]) : 1.0;
    const bool log_prob = n.outputs.size() > 1;
    const double per_class = 1 + (1 + kExpOps) + 1 + (log_prob ? 1 : 0);
    const double per_position = classes * per_class + kLogOps + NllOpsPerPosition(s);
    return s.positions_per_output * per_position + (s.mean ? kDivOps : 0);
  };
  return op;
}

}  // namespace engine::ops
