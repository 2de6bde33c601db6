// Indexing ops and Einsum (kernels in src/kernels/indexing.cc and einsum.cc).
//
// Accelerator mapping:
//  - GatherElements, GatherND: pure data movement, DMA gathers (the index
//    tensor is read, then one element / slice moved per output position).
//  - ScatterND, ScatterElements: vector unit; the output is the data tensor
//    (copied), and each update costs one operation (a move, or the add / mul
//    / max / min of the reduction): updates / output elements ops per output
//    element.
//    Scatter (opsets 9-10) is imported as ScatterElements.
//  - ReverseSequence (kernel in src/kernels/reorder.cc): pure data movement,
//    DMA (one copy per time step and batch entry; sequence_lens is read).
//  - OneHot: vector unit, 1 op per output element (compare the index with
//    the position, select on / off).
//  - Einsum: a two-operand contraction without diagonals and with every
//    summed label in both operands (batched matmul "bij,bjk->bik",
//    "bhqd,bhkd->bhqk", inner and outer products with a summed label) is an
//    array product: groups = labels in both operands and the output, K =
//    summed labels, M = labels of the second operand and the output only, P
//    = labels of the first operand and the output only. Every other form
//    (transposes, reductions, diagonals, products without a summed label) is
//    imported as the engine layer "VectorEinsum" on the vector unit, costed
//    at one multiply-accumulate per summed term and operand per output
//    element (at least 1: a transpose still moves each element once).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/einsum.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// Labels of a two-operand equation classified for the array: true when every
// label is in the output and at least one operand, or summed and in both,
// with no diagonal and at least one summed label.
bool IsMatmulForm(const kernels::EinsumSpec& s) {
  if (s.operands.size() != 2 || s.has_diagonal || s.summed.empty()) return false;
  auto in = [](const kernels::EinsumSpec::Operand& op, int l) {
    return std::find(op.labels.begin(), op.labels.end(), l) != op.labels.end();
  };
  for (int l : s.summed) {
    if (!in(s.operands[0], l) || !in(s.operands[1], l)) return false;
  }
  return true;
}

absl::StatusOr<kernels::EinsumSpec> SpecOf(const Attributes& attrs,
                                           std::span<const kernels::TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(std::string eq, attrs.GetString("equation", ""));
  std::vector<Dims> shapes;
  for (const auto& in : inputs) shapes.push_back(in.shape);
  return kernels::ParseEinsum(eq, shapes);
}

// Einsum importer: the matmul forms stay "Einsum" (array); the others become
// "VectorEinsum". Needs the ranks of the inputs (ONNX shape inference) to
// expand ellipses; when a rank is unknown the node goes to the vector unit.
absl::Status ImportEinsum(const ImportNode& node, ImportSink& sink) {
  if (!node.tensor_attrs.empty()) {
    return absl::InvalidArgumentError("Einsum: unexpected tensor attribute");
  }
  ENGINE_ASSIGN_OR_RETURN(std::string eq, node.attrs.GetString("equation", ""));
  std::string type = "VectorEinsum";
  if (node.inputs.size() == 2) {
    std::vector<Dims> shapes;
    bool known = true;
    for (const std::string& in : node.inputs) {
      const int rank = sink.RankOf(in);
      if (rank < 0) known = false;
      shapes.push_back(Dims(static_cast<size_t>(std::max(rank, 0)), 2));
    }
    if (known) {
      absl::StatusOr<kernels::EinsumSpec> s = kernels::ParseEinsum(eq, shapes);
      if (!s.ok()) return s.status();
      if (IsMatmulForm(*s)) type = "Einsum";
    }
  }
  return sink.AddLayer(node.name, type, node.attrs, node.inputs, node.outputs);
}

void EinsumGeometry(const LayerView& n, hw::GemmWorkload& g) {
  absl::StatusOr<kernels::EinsumSpec> s = SpecOf(n.attrs, n.inputs);
  g.groups = g.k = g.m = g.p = 1;
  if (!s.ok()) return;
  const auto& a = s->operands[0].labels;
  const auto& b = s->operands[1].labels;
  auto in = [](const std::vector<int>& v, int l) {
    return std::find(v.begin(), v.end(), l) != v.end();
  };
  for (size_t i = 0; i < s->output.size(); ++i) {
    const int l = s->output[i];
    const int64_t d = s->out_shape[i];
    if (in(a, l) && in(b, l))
      g.groups *= d;
    else if (in(a, l))
      g.p *= d;
    else
      g.m *= d;
  }
  for (int64_t d : s->summed_shape) g.k *= d;
  g.out_w = g.p;
}

double VectorEinsumOps(const LayerView& n) {
  absl::StatusOr<kernels::EinsumSpec> s = SpecOf(n.attrs, n.inputs);
  if (!s.ok()) return 1;
  const double terms = static_cast<double>(NumElements(s->summed_shape));
  return std::max(1.0, terms * static_cast<double>(std::max<size_t>(1, s->operands.size() - 1)));
}

// Scatter: one operation per update element, spread over the output.
double ScatterOps(const LayerView& n) {
  if (n.inputs.size() < 3 || n.outputs.empty()) return 1;
  const double out = static_cast<double>(std::max<int64_t>(1, NumElements(n.outputs[0].shape)));
  return static_cast<double>(NumElements(n.inputs[2].shape)) / out;
}

OpDef Make(const std::string& type, kernels::KernelDef host, DeviceSpec device) {
  OpDef op;
  op.type = type;
  op.host = std::move(host);
  op.device = std::move(device);
  return op;
}

}  // namespace

OpDef GatherElementsOp() {
  return Make("GatherElements", kernels::MakeGatherElementsDef(), DmaDevice());
}
OpDef ReverseSequenceOp() {
  OpDef op = Make("ReverseSequence", kernels::MakeReverseSequenceDef(), DmaDevice());
  op.min_opset = 10;
  return op;
}
OpDef GatherNdOp() { return Make("GatherND", kernels::MakeGatherNdDef(), DmaDevice()); }

OpDef ScatterNdOp() {
  DeviceSpec d;
  d.unit = hw::LayerKind::kVector;
  d.ops_per_element = ScatterOps;
  return Make("ScatterND", kernels::MakeScatterNdDef(), std::move(d));
}
OpDef ScatterElementsOp() {
  DeviceSpec d;
  d.unit = hw::LayerKind::kVector;
  d.ops_per_element = ScatterOps;
  return Make("ScatterElements", kernels::MakeScatterElementsDef(), std::move(d));
}

// Scatter (opsets 9-10, deprecated in 11) is ScatterElements without
// `reduction`; the version converter leaves it as is.
OpDef ScatterOp() {
  OpDef op;
  op.type = "Scatter";
  op.min_opset = 9;
  op.import = [](const ImportNode& node, ImportSink& sink) {
    if (!node.tensor_attrs.empty()) {
      return absl::InvalidArgumentError("Scatter: unexpected tensor attribute");
    }
    return sink.AddLayer(node.name, "ScatterElements", node.attrs, node.inputs, node.outputs);
  };
  return op;
}

OpDef OneHotOp() { return Make("OneHot", kernels::MakeOneHotDef(), VectorDevice(1)); }

OpDef EinsumOp() {
  DeviceSpec d;
  d.unit = hw::LayerKind::kArray;
  d.gemm = EinsumGeometry;
  d.weight_input = 1;
  OpDef op = Make("Einsum", kernels::MakeEinsumDef("Einsum"), std::move(d));
  op.min_opset = 12;
  op.import = ImportEinsum;
  return op;
}

OpDef VectorEinsumOp() {
  DeviceSpec d;
  d.unit = hw::LayerKind::kVector;
  d.ops_per_element = VectorEinsumOps;
  OpDef op = Make("VectorEinsum", kernels::MakeEinsumDef("VectorEinsum"), std::move(d));
  op.importable = false;
  return op;
}

}  // namespace engine::ops
