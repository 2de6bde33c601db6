// Layout family: Split, Expand, Tile, Range, Trilu (host kernels in
// src/kernels/layout.cc), the legacy opset-1..9 experimental image ops Crop,
// Affine, ImageScaler and Scale, which their importers rewrite into Slice, Mul
// and Add layers with constants, and If, whose build-time-constant form the
// parser folds before import (parser/model_rewrite.cc).
//
// Accelerator mapping: Split, Expand, Tile and Trilu move bytes (DMA: each
// output element is read and written once; Trilu writes zeros, which is DMA
// traffic too). Range has constant inputs only, so fold-constants removes it;
// its mapping is the vector unit at 1 op per element (a multiply-add
// start + i * delta) for the case where it is kept.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

Tensor Int64Vector(const std::vector<int64_t>& v) {
  Tensor t(DataType::kInt64, Dims{static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data_as<int64_t>()[i] = v[i];
  return t;
}

Tensor FloatTensor(const Dims& shape, const std::vector<float>& v) {
  Tensor t(DataType::kFloat32, shape);
  for (size_t i = 0; i < v.size(); ++i) t.data_as<float>()[i] = v[i];
  return t;
}

// Split: the split sizes as an input (Split-13; the Split-2..11 attribute is
// moved to a constant input when the version converter left it), and the
// output count as `num_outputs` (Split-18's attribute; derived from the
// node's outputs before opset 18, where the split must then be even).
absl::Status ImportSplit(const ImportNode& node, ImportSink& sink) {
  Attributes attrs = node.attrs;
  std::vector<std::string> inputs = node.inputs;
  if (inputs.empty() || inputs[0].empty()) {
    return absl::InvalidArgumentError("Split needs its input 'input'");
  }
  const int64_t outputs = static_cast<int64_t>(node.outputs.size());
  if (attrs.Has("split")) {
    if (inputs.size() >= 2 && !inputs[1].empty()) {
      return absl::InvalidArgumentError("Split has both the attribute and the input 'split'");
    }
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> split, attrs.GetInts("split", {}));
    const std::string name = node.name + "/split";
    sink.AddConstant(name, Int64Vector(split));
    inputs.resize(2);
    inputs[1] = name;
    attrs.Erase("split");
  }
  const bool has_split = inputs.size() >= 2 && !inputs[1].empty();
  if (attrs.Has("num_outputs")) {
    ENGINE_ASSIGN_OR_RETURN(int64_t n, attrs.GetInt("num_outputs", 0));
    if (n != outputs) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Split: attribute 'num_outputs' is ", n, " but the node has ", outputs, " outputs"));
    }
    if (has_split) {
      return absl::InvalidArgumentError(
          "Split: attribute 'num_outputs' and input 'split' are mutually exclusive");
    }
  } else {
    attrs.Set("num_outputs", outputs);
    if (!has_split) attrs.Set("equal_split", int64_t{1});
  }
  return sink.AddLayer(node.name, "Split", std::move(attrs), inputs, node.outputs);
}

// Crop-1 (experimental, removed in opset 10) on NCHW input: attribute
// `border` = [left, top, right, bottom] and optional `scale` = [height,
// width]. Output rows [top, H - bottom) and columns [left, W - right), or
// [top, top + height) x [left, left + width) when `scale` is given (ONNX
// Changelog Crop-1; ONNX Runtime contrib crop.h). Becomes a Slice on axes 2, 3.
absl::Status ImportCrop(const ImportNode& node, ImportSink& sink) {
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> border, node.attrs.GetInts("border", {}));
  if (border.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Crop: attribute 'border' must have 4 values (left, top, right, bottom), has ",
        border.size()));
  }
  for (int64_t b : border) {
    if (b < 0) return absl::InvalidArgumentError("Crop: attribute 'border' has a negative value");
  }
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> scale, node.attrs.GetInts("scale", {}));
  if (!scale.empty() && scale.size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Crop: attribute 'scale' must have 2 values (height, width), has ", scale.size()));
  }
  const int rank = sink.RankOf(node.inputs[0]);
  if (rank != -1 && rank != 4) {
    return absl::InvalidArgumentError(absl::StrCat("Crop: input must be NCHW (rank 4), has rank ", rank));
  }
  const int64_t left = border[0], top = border[1], right = border[2], bottom = border[3];
  constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> starts = {top, left};
  std::vector<int64_t> ends;
  if (!scale.empty()) {
    if (scale[0] < 0 || scale[1] < 0) {
      return absl::InvalidArgumentError("Crop: attribute 'scale' has a negative value");
    }
    ends = {top + scale[0], left + scale[1]};
  } else {
    ends = {bottom > 0 ? -bottom : kEnd, right > 0 ? -right : kEnd};
  }
  const std::string p = node.name + "/crop_";
  sink.AddConstant(p + "starts", Int64Vector(starts));
  sink.AddConstant(p + "ends", Int64Vector(ends));
  sink.AddConstant(p + "axes", Int64Vector({2, 3}));
  return sink.AddLayer(node.name, "Slice", Attributes(),
                       {node.inputs[0], p + "starts", p + "ends", p + "axes"}, node.outputs);
}

// y = x * scale (+ bias): one Mul layer with a constant, then an Add layer
// when `bias` is given.
absl::Status ImportScaleShift(const ImportNode& node, ImportSink& sink, Tensor scale,
                              std::optional<Tensor> bias) {
  const std::string p = node.name + "/";
  sink.AddConstant(p + "scale", std::move(scale));
  if (!bias) {
    return sink.AddLayer(node.name, "Mul", Attributes(), {node.inputs[0], p + "scale"},
                         node.outputs);
  }
  sink.AddConstant(p + "bias", std::move(*bias));
  const std::string scaled = p + "scaled";
  ENGINE_RETURN_IF_ERROR(
      sink.AddLayer(node.name + "/mul", "Mul", Attributes(), {node.inputs[0], p + "scale"}, {scaled}));
  return sink.AddLayer(node.name + "/add", "Add", Attributes(), {scaled, p + "bias"}, node.outputs);
}

// ImageScaler-1 (experimental, removed in opset 10): y = scale * x + bias[c]
// on NCHW input, `scale` float (default 1), `bias` one float per channel.
absl::Status ImportImageScaler(const ImportNode& node, ImportSink& sink) {
  ENGINE_ASSIGN_OR_RETURN(float scale, node.attrs.GetFloat("scale", 1.0f));
  ENGINE_ASSIGN_OR_RETURN(std::vector<float> bias, node.attrs.GetFloats("bias", {}));
  const int rank = sink.RankOf(node.inputs[0]);
  if (rank != -1 && rank != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("ImageScaler: input must be NCHW (rank 4), has rank ", rank));
  }
  std::optional<Tensor> b;
  if (!bias.empty()) {
    b = FloatTensor({1, static_cast<int64_t>(bias.size()), 1, 1}, bias);
  }
  return ImportScaleShift(node, sink, FloatTensor({}, {scale}), std::move(b));
}

// Affine-1 (experimental, removed in opset 10): y = alpha * x + beta
// (defaults 1, 0).
absl::Status ImportAffine(const ImportNode& node, ImportSink& sink) {
  ENGINE_ASSIGN_OR_RETURN(float alpha, node.attrs.GetFloat("alpha", 1.0f));
  ENGINE_ASSIGN_OR_RETURN(float beta, node.attrs.GetFloat("beta", 0.0f));
  return ImportScaleShift(node, sink, FloatTensor({}, {alpha}), FloatTensor({}, {beta}));
}

// Scale-1 (experimental, removed in opset 10): y = scale * x (default 1).
absl::Status ImportScale(const ImportNode& node, ImportSink& sink) {
  ENGINE_ASSIGN_OR_RETURN(float scale, node.attrs.GetFloat("scale", 1.0f));
  return ImportScaleShift(node, sink, FloatTensor({}, {scale}), std::nullopt);
}

// Reached only for an If the parser could not fold (model_rewrite.cc folds
// every If whose condition is a build-time constant, and reports the others
// with their condition); kept as a clear error for any other path.
// If, Loop and Scan: the parser compiles them into plain nodes before import
// (src/parser/control_flow.h); reaching an importer means a node was left.
absl::Status ImportControlFlow(const ImportNode& node, ImportSink&) {
  return absl::UnimplementedError(absl::StrCat(
      node.op_type, " '", node.name, "': control flow is compiled into a static graph before "
      "import (parser/control_flow.h); this node was not"));
}

// Experimental ops of opsets 1-9: the parser imports them at the model's own
// opset (the ONNX version converter cannot carry them past opset 10).
OpDef Legacy(const std::string& type, ImportFn import) {
  OpDef op;
  op.type = type;
  op.min_opset = 1;
  op.max_opset = 9;
  op.import = std::move(import);
  return op;
}

}  // namespace

OpDef SplitOp() {
  OpDef op = Dma("Split", kernels::MakeSplitDef());
  op.import = ImportSplit;
  op.int8.role = Int8Role::kPassThrough;  // a copy: each part keeps the input's scale
  return op;
}
OpDef ExpandOp() { return Dma("Expand", kernels::MakeExpandDef()); }
OpDef TileOp() { return Dma("Tile", kernels::MakeTileDef()); }
OpDef TriluOp() { return Dma("Trilu", kernels::MakeTriluDef()); }
OpDef RangeOp() {
  OpDef op;
  op.type = "Range";
  op.host = kernels::MakeRangeDef();
  op.device = VectorDevice(1);  // start + i * delta: one multiply-add per element
  return op;
}
OpDef CropOp() { return Legacy("Crop", ImportCrop); }
OpDef AffineOp() { return Legacy("Affine", ImportAffine); }
OpDef ImageScalerOp() { return Legacy("ImageScaler", ImportImageScaler); }
OpDef ScaleOp() { return Legacy("Scale", ImportScale); }
OpDef ControlFlow(const std::string& type) {
  OpDef op;
  op.type = type;
  op.import = ImportControlFlow;
  return op;
}
OpDef IfOp() { return ControlFlow("If"); }
OpDef LoopOp() { return ControlFlow("Loop"); }
OpDef ScanOp() { return ControlFlow("Scan"); }

}  // namespace engine::ops
