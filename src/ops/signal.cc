// Signal processing and linear algebra: Det, HannWindow, HammingWindow,
// BlackmanWindow, DFT, STFT, MelWeightMatrix (kernels in
// src/kernels/signal.cc).
//
// Accelerator mapping:
//  - Det runs on the vector unit: an LU decomposition per matrix, about
//    2/3 M^3 multiply-adds plus M divisions per output element (one
//    determinant); tile unit 1 (a matrix is read whole by its element).
//  - DFT runs on the vector unit as the product its host kernel computes: per
//    output component (real or imaginary part) one multiply-add per input
//    sample and component read (min(n, dft_length) * c), the twiddles coming
//    from a table of dft_length entries computed once per layer.
//  - STFT likewise: per output component, frame_length * c multiply-adds of
//    the DFT plus the window multiply (frame_length per frame, shared by the
//    bins: frame_length / bins).
//  - The window generators and MelWeightMatrix take constant inputs only
//    (their output shapes depend on the values), so they always fold at
//    build time: kView, no device work.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// DFT-17 has attribute axis (default 1); DFT-20 moved it to input 2
// (optional, default -2, a constant). The engine layer always carries the
// attribute and reads (input, dft_length).
absl::Status ImportDft(const ImportNode& node, ImportSink& sink) {
  if (!node.tensor_attrs.empty()) {
    return absl::UnimplementedError(absl::StrCat("DFT attribute '",
                                                 node.tensor_attrs.begin()->first,
                                                 "' has kind TENSOR, which is not supported"));
  }
  if (node.inputs.empty() || node.outputs.empty()) {
    return absl::InvalidArgumentError("DFT needs an input and an output");
  }
  Attributes attrs = node.attrs;
  std::vector<std::string> inputs = {node.inputs[0],
                                     node.inputs.size() >= 2 ? node.inputs[1] : std::string()};
  if (node.opset >= 20) {
    int64_t axis = -2;
    if (node.inputs.size() >= 3 && !node.inputs[2].empty()) {
      const Tensor* t = sink.ConstantValue(node.inputs[2]);
      if (t == nullptr) return absl::UnimplementedError("DFT: axis must be a constant tensor");
      kernels::TensorInfo info;
      info.dtype = t->dtype();
      info.shape = t->shape();
      info.constant = t;
      ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> v, kernels::ConstantInts(info, "DFT: axis"));
      if (v.size() != 1) {
        return absl::InvalidArgumentError(absl::StrCat("DFT: axis must hold one value, got ",
                                                       v.size()));
      }
      axis = v[0];
    }
    attrs.Set("axis", axis);
  } else if (!attrs.Has("axis")) {
    attrs.Set("axis", int64_t{1});
  }
  if (inputs[1].empty()) inputs.pop_back();
  return sink.AddLayer(node.name, "DFT", std::move(attrs), inputs, {node.outputs[0]});
}

// Input samples and components each output component of a DFT layer sums.
double DftTerms(const LayerView& n) {
  const Dims& x = n.inputs[0].shape;
  if (x.size() < 2) return 1;
  int64_t axis = n.attrs.Int("axis", 1);
  if (axis < 0) axis += static_cast<int64_t>(x.size());
  if (axis < 0 || axis >= static_cast<int64_t>(x.size()) - 1) return 1;
  int64_t used = x[static_cast<size_t>(axis)];
  if (n.Has(1) && n.inputs[1].constant != nullptr && n.inputs[1].constant->num_elements() == 1) {
    const Tensor& t = *n.inputs[1].constant;
    const int64_t len = t.dtype() == DataType::kInt32 ? *t.data_as<int32_t>()
                                                      : *t.data_as<int64_t>();
    used = std::min(used, len);
  }
  return static_cast<double>(std::max<int64_t>(used, 1) * x.back());
}

OpDef WindowOp(const std::string& type) {
  OpDef op;
  op.type = type;
  op.min_opset = 17;
  op.host = kernels::MakeWindowDef(type);
  op.device = ViewDevice();  // constant size: always folds
  return op;
}

}  // namespace

OpDef DetOp() {
  OpDef op;
  op.type = "Det";
  op.min_opset = 11;
  op.host = kernels::MakeDetDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    const Dims& x = n.inputs[0].shape;
    const double m = x.empty() ? 1.0 : static_cast<double>(x.back());
    return 2.0 / 3.0 * m * m * m + m;
  };
  return op;
}

OpDef HannWindowOp() { return WindowOp("HannWindow"); }
OpDef HammingWindowOp() { return WindowOp("HammingWindow"); }
OpDef BlackmanWindowOp() { return WindowOp("BlackmanWindow"); }

OpDef DftOp() {
  OpDef op;
  op.type = "DFT";
  op.min_opset = 17;
  op.import = ImportDft;
  op.host = kernels::MakeDftDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = DftTerms;
  return op;
}

OpDef StftOp() {
  OpDef op;
  op.type = "STFT";
  op.min_opset = 17;
  op.host = kernels::MakeStftDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    const Dims& x = n.inputs[0].shape;
    const Dims& y = n.outputs[0].shape;
    const double comps = x.size() == 3 ? static_cast<double>(x[2]) : 1.0;
    const double bins = y.size() == 4 ? static_cast<double>(std::max<int64_t>(y[2], 1)) : 1.0;
    double frame = bins;  // frame_length: the window's length or input 3
    if (n.Has(2) && n.inputs[2].shape.size() == 1) {
      frame = static_cast<double>(n.inputs[2].shape[0]);
    } else if (n.Has(3) && n.inputs[3].constant != nullptr &&
               n.inputs[3].constant->num_elements() == 1) {
      const Tensor& t = *n.inputs[3].constant;
      frame = static_cast<double>(t.dtype() == DataType::kInt32 ? *t.data_as<int32_t>()
                                                                : *t.data_as<int64_t>());
    }
    return frame * comps + frame / bins;
  };
  return op;
}

OpDef MelWeightMatrixOp() {
  OpDef op;
  op.type = "MelWeightMatrix";
  op.min_opset = 17;
  op.host = kernels::MakeMelWeightMatrixDef();
  op.device = ViewDevice();  // constant inputs: always folds
  return op;
}

}  // namespace engine::ops
