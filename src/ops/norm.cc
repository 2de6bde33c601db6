// Normalization on the vector unit: BatchNormalization (a multiply-add per
// element), Softmax (exp, sum, divide: 5 ops per element, whole rows on
// chip), LRN (2 * size + 3 ops per element, whole channel planes on chip).
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// BatchNormalization with training_mode = 1 (opsets 14/15): Y normalizes X
// with the batch statistics, and the optional outputs are the updated
// running statistics (Operators.md#BatchNormalization, the ONNX reference's
// _batchnorm_training_mode):
//   saved_mean = mean of X over every axis but 1            [C]
//   saved_var  = mean of (X - saved_mean)^2 (population)    [C]
//   Y = BatchNormalization(X, scale, B, saved_mean, saved_var, epsilon)
//   running_mean = input_mean * momentum + saved_mean * (1 - momentum)
//   running_var  = input_var * momentum + saved_var * (1 - momentum)
// (momentum default 0.9), imported as ReduceMean, Reshape, Sub, Mul, Add and
// the inference BatchNormalization layer, each with its own accelerator
// mapping. X must have a known rank >= 2.
absl::Status ImportBatchNormTraining(const ImportNode& node, ImportSink& sink) {
  if (node.inputs.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BatchNormalization: expected 5 inputs (X, scale, B, input_mean, input_var), got ",
        node.inputs.size()));
  }
  if (node.outputs.size() > 3) {
    return absl::UnimplementedError(absl::StrCat(
        "BatchNormalization with training_mode=1: outputs saved_mean/saved_var (opset < 14, ",
        node.outputs.size(), " outputs) are not supported"));
  }
  const int rank = sink.RankOf(node.inputs[0]);
  if (rank < 2) {
    return absl::UnimplementedError(absl::StrCat("BatchNormalization with training_mode=1: X ('",
                                                 node.inputs[0], "') needs a known rank >= 2 (got ",
                                                 rank, ")"));
  }
  const float momentum = node.attrs.Float("momentum", 0.9f);
  const std::string p = node.name + "/train_";
  std::vector<int64_t> axes = {0};
  for (int64_t a = 2; a < rank; ++a) axes.push_back(a);
  auto reduce_mean = [&](const std::string& in, const std::string& out, int64_t keepdims) {
    Attributes attrs;
    attrs.Set("axes", axes);
    attrs.Set("keepdims", keepdims);
    return sink.AddLayer(out, "ReduceMean", std::move(attrs), {in}, {out});
  };
  const std::string mean = p + "saved_mean", mean_k = p + "mean_bcast", shape = p + "bcast_shape";
  const std::string d = p + "centered", d2 = p + "centered_sq", var = p + "saved_var";
  ENGINE_RETURN_IF_ERROR(reduce_mean(node.inputs[0], mean, 0));
  Tensor bcast(DataType::kInt64, {rank});
  int64_t* bs = static_cast<int64_t*>(bcast.data());
  for (int i = 0; i < rank; ++i) bs[i] = i == 1 ? -1 : 1;
  sink.AddConstant(shape, std::move(bcast));
  ENGINE_RETURN_IF_ERROR(sink.AddLayer(mean_k, "Reshape", Attributes(), {mean, shape}, {mean_k}));
  ENGINE_RETURN_IF_ERROR(sink.AddLayer(d, "Sub", Attributes(), {node.inputs[0], mean_k}, {d}));
  ENGINE_RETURN_IF_ERROR(sink.AddLayer(d2, "Mul", Attributes(), {d, d}, {d2}));
  ENGINE_RETURN_IF_ERROR(reduce_mean(d2, var, 0));
  Attributes bn;
  if (node.attrs.Has("epsilon")) bn.Set("epsilon", node.attrs.Float("epsilon", 1e-5f));
  ENGINE_RETURN_IF_ERROR(sink.AddLayer(node.name, "BatchNormalization", std::move(bn),
                                       {node.inputs[0], node.inputs[1], node.inputs[2], mean, var},
                                       {node.outputs[0]}));
  // running = input * momentum + saved * (1 - momentum), for outputs 1 and 2.
  Tensor m(DataType::kFloat32, {}), one_minus_m(DataType::kFloat32, {});
  *m.data_as<float>() = momentum;
  *one_minus_m.data_as<float>() = 1.0f - momentum;
  sink.AddConstant(p + "momentum", std::move(m));
  sink.AddConstant(p + "one_minus_momentum", std::move(one_minus_m));
  const std::string saved[2] = {mean, var};
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (node.outputs[i].empty()) continue;
    const std::string old_part = absl::StrCat(p, "running", i, "_old");
    const std::string new_part = absl::StrCat(p, "running", i, "_new");
    ENGINE_RETURN_IF_ERROR(sink.AddLayer(old_part, "Mul", Attributes(),
                                         {node.inputs[2 + i], p + "momentum"}, {old_part}));
    ENGINE_RETURN_IF_ERROR(sink.AddLayer(new_part, "Mul", Attributes(),
                                         {saved[i - 1], p + "one_minus_momentum"}, {new_part}));
    ENGINE_RETURN_IF_ERROR(sink.AddLayer(absl::StrCat(p, "running", i), "Add", Attributes(),
                                         {old_part, new_part}, {node.outputs[i]}));
  }
  return absl::OkStatus();
}

// BatchNormalization: inference mode is one layer (the training outputs must
// be unused); training_mode = 1 is ImportBatchNormTraining.
absl::Status ImportBatchNormalization(const ImportNode& node, ImportSink& sink) {
  if (node.attrs.Int("training_mode", 0) != 0) return ImportBatchNormTraining(node, sink);
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (!node.outputs[i].empty()) {
      return absl::UnimplementedError(
          absl::StrCat("BatchNormalization: output ", i, " ('", node.outputs[i],
                       "') is a training output: it needs training_mode=1 (opset 14+)"));
    }
  }
  Attributes attrs = node.attrs;
  for (const char* a : {"momentum", "training_mode", "spatial"}) attrs.Erase(a);
  return sink.AddLayer(node.name, "BatchNormalization", std::move(attrs), node.inputs,
                       {node.outputs[0]});
}

}  // namespace

OpDef BatchNormalizationOp() {
  OpDef op;
  op.type = "BatchNormalization";
  op.import = ImportBatchNormalization;
  op.host = kernels::MakeBatchNormalizationDef();
  op.device = VectorDevice(2);
  return op;
}

OpDef SoftmaxOp() {
  OpDef op;
  op.type = "Softmax";
  op.host = kernels::MakeSoftmaxDef();
  op.device = VectorDevice(5);
  op.device.tile_unit = [](const LayerView& n) -> int64_t {
    const Dims& out = n.outputs[0].shape;
    if (out.empty()) return 1;
    int64_t axis = n.attrs.Int("axis", -1);
    if (axis < 0) axis += static_cast<int64_t>(out.size());
    return out[static_cast<size_t>(std::clamp<int64_t>(axis, 0, out.size() - 1))];
  };
  return op;
}

OpDef LrnOp() {
  OpDef op;
  op.type = "LRN";
  op.host = kernels::MakeLrnDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    return 2.0 * static_cast<double>(n.attrs.Int("size", 1)) + 3;
  };
  op.device.tile_unit = [](const LayerView& n) -> int64_t {
    const Dims& out = n.outputs[0].shape;
    return out.size() >= 3 ? Prod(out, 2) : 1;
  };
  return op;
}

}  // namespace engine::ops
