// Recurrent ops LSTM, GRU, RNN (kernel: src/kernels/recurrent.cc).
//
// Accelerator mapping: the gate matrix products run on the array, the gate
// activations and state updates on the vector unit as the products' epilogue.
// Each step of each direction is one product of the concatenated operand
// [Xt, Ht-1] (K = input + hidden) with the stacked gate weights [W | R]
// (M = gates x hidden) over the batch (P = batch): groups = sequence length
// x directions. Bias bytes per group are those of one direction's B.
// Epilogue operations per product output element (one gate pre-activation),
// with sigmoid and tanh at 4 ops each (range reduction + polynomial, as the
// standalone Sigmoid / Tanh layers) and a multiply-add at 1:
//  - LSTM: per hidden unit 4 gate adds (X and H parts), 3 sigmoids, 2 tanh
//    (c~ and h(Ct)), Ct = f.Ct-1 + i.c~ (2), Ht = o.h(Ct) (1): 27, plus 3
//    peephole multiply-adds when P is given; over 4 gate elements.
//  - GRU: per hidden unit 3 gate adds, 2 sigmoids, 1 tanh, r.Ht-1 (1),
//    Ht = (1-z).h~ + z.Ht-1 (3): 19; over 3 gate elements.
//  - RNN: 1 add + 1 tanh: 5 per element.
// A clip adds 2 ops (a min and a max) per gate element.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// Names every output (Y, Y_h[, Y_c]) so that the layer always has all of
// them; absent or omitted ONNX outputs get private names.
ImportFn ImportRecurrent(size_t num_outputs) {
  return [num_outputs](const ImportNode& node, ImportSink& sink) -> absl::Status {
    if (!node.tensor_attrs.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          node.op_type, ": unexpected tensor attribute '", node.tensor_attrs.begin()->first, "'"));
    }
    if (node.outputs.size() > num_outputs) {
      return absl::InvalidArgumentError(absl::StrCat(node.op_type, " has at most ", num_outputs,
                                                     " outputs, got ", node.outputs.size()));
    }
    static const char* kNames[] = {"Y", "Y_h", "Y_c"};
    std::vector<std::string> outputs = node.outputs;
    outputs.resize(num_outputs);
    for (size_t i = 0; i < num_outputs; ++i) {
      if (outputs[i].empty()) outputs[i] = absl::StrCat(node.name, "/unused_", kNames[i]);
    }
    return sink.AddLayer(node.name, node.op_type, node.attrs, node.inputs, outputs);
  };
}

GemmGeometryFn RecurrentGeometry(int gates, double epilogue_per_hidden) {
  return [gates, epilogue_per_hidden](const LayerView& n, hw::GemmWorkload& g) {
    const Dims& x = n.inputs[0].shape;
    const Dims& w = n.inputs[1].shape;
    const bool batch_first = n.attrs.Int("layout", 0) == 1;
    const int64_t seq = x.size() == 3 ? (batch_first ? x[1] : x[0]) : 1;
    const int64_t batch = x.size() == 3 ? (batch_first ? x[0] : x[1]) : 1;
    const int64_t dirs = w.size() == 3 ? w[0] : 1;
    const int64_t gh = w.size() == 3 ? w[1] : gates;
    const int64_t hidden = std::max<int64_t>(1, gh / gates);
    g.groups = std::max<int64_t>(1, seq * dirs);
    g.k = (x.size() == 3 ? x[2] : 1) + hidden;
    g.m = gh;
    g.p = batch;
    g.out_w = g.p;
    if (n.Has(3)) g.bias_bytes = ByteSize(n.inputs[3]) / std::max<int64_t>(1, dirs);
    double per_hidden = epilogue_per_hidden;
    if (gates == 4 && n.Has(7)) per_hidden += 3;  // peepholes
    g.epilogue_ops_per_element = per_hidden / gates;
    if (n.attrs.Float("clip", 0.0f) > 0) g.epilogue_ops_per_element += 2;
  };
}

OpDef Recurrent(const std::string& type, kernels::KernelDef host, int gates, size_t outputs,
                double epilogue_per_hidden) {
  OpDef op;
  op.type = type;
  op.host = std::move(host);
  op.import = ImportRecurrent(outputs);
  op.device.unit = hw::LayerKind::kArray;
  op.device.gemm = RecurrentGeometry(gates, epilogue_per_hidden);
  op.device.weight_input = 1;
  op.device.bias_input = 3;
  return op;
}

}  // namespace

OpDef LstmOp() { return Recurrent("LSTM", kernels::MakeLstmDef(), 4, 3, 27); }
OpDef GruOp() { return Recurrent("GRU", kernels::MakeGruDef(), 3, 2, 19); }
OpDef RnnOp() { return Recurrent("RNN", kernels::MakeRnnDef(), 1, 2, 5); }

}  // namespace engine::ops
