// Statistics normalizations and Lp pooling on the vector unit:
// InstanceNormalization, LayerNormalization, GroupNormalization,
// LpNormalization, MeanVarianceNormalization, GlobalLpPool, LpPool.
//
// A normalization computes statistics over its whole normalized extent and
// then the normalized output: its tile unit is that extent, kept on chip
// when it fits. Costs per output element, with the statistics computed from
// the tile: mean (an add, 1), variance (subtract and multiply-add, 2), the
// output (see each op), plus the per-row rsqrt (Newton, ~6 ops) amortized
// over the row, which is neglected.
//
// InstanceNormalization, LayerNormalization, GroupNormalization and
// MeanVarianceNormalization declare those 3 statistics ops
// (DeviceSpec::stats_ops_per_element): an extent larger than the on-chip
// buffers (a 720x720 InstanceNormalization plane is 2 MB in fp32) is then
// streamed in chunks, once to accumulate sum(x) and sum(x^2) and once more to
// write the output, instead of failing to map.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// Product of d[from:] (1 when empty).
int64_t ElementsFrom(const Dims& d, size_t from) {
  int64_t p = 1;
  for (size_t i = from; i < d.size(); ++i) p *= d[i];
  return p;
}

// Product of out[axis:] for a possibly negative `axis` (clamped).
int64_t ExtentFrom(const LayerView& n, int64_t axis) {
  const Dims& out = n.outputs[0].shape;
  const int64_t rank = static_cast<int64_t>(out.size());
  if (rank == 0) return 1;
  if (axis < 0) axis += rank;
  return std::max<int64_t>(1, ElementsFrom(out, static_cast<size_t>(std::clamp<int64_t>(axis, 0, rank))));
}

// LayerNormalization's optional Mean and InvStdDev outputs are computed when
// the model names them; the layer gets the engine attribute num_outputs (how
// many outputs it defines) and a generated name for an unnamed output that
// precedes a named one.
absl::Status ImportLayerNormalization(const ImportNode& node, ImportSink& sink) {
  std::vector<std::string> outputs = node.outputs;
  while (outputs.size() > 1 && outputs.back().empty()) outputs.pop_back();
  if (outputs.empty() || outputs[0].empty()) {
    return absl::InvalidArgumentError("LayerNormalization: output Y is required");
  }
  for (size_t i = 1; i < outputs.size(); ++i) {
    if (outputs[i].empty()) outputs[i] = absl::StrCat(node.name, "__unused_output_", i);
  }
  Attributes attrs = node.attrs;
  attrs.Set("num_outputs", static_cast<int64_t>(outputs.size()));
  return sink.AddLayer(node.name, "LayerNormalization", std::move(attrs), node.inputs, outputs);
}

// GroupNormalization-18 applies scale and bias per group ([num_groups]);
// opset 21 per channel ([C]). The layer records which (scale_per_group).
absl::Status ImportGroupNormalization(const ImportNode& node, ImportSink& sink) {
  Attributes attrs = node.attrs;
  attrs.Set("scale_per_group", static_cast<int64_t>(node.opset < 21 ? 1 : 0));
  return sink.AddLayer(node.name, "GroupNormalization", std::move(attrs), node.inputs,
                       node.outputs);
}

// Operations per input element of an Lp sum: p = 1 abs and add (2); p = 2 a
// multiply-add (1); other p |x|^p = exp(p log|x|) (log 8, multiply 1, exp 8)
// and an add (18). The root: none, sqrt (4), pow (17).
double LpTermOps(int64_t p) { return p == 1 ? 2 : p == 2 ? 1 : 18; }
double LpRootOps(int64_t p) { return p == 1 ? 0 : p == 2 ? 4 : 17; }

// Statistics ops per element of the mean/variance normalizations: mean 1 +
// variance 2.
constexpr double kStatsOps = 3;

}  // namespace

// --- normalization (ops-reduce) ---
// InstanceNormalization: mean 1 + variance 2 + one multiply-add with the
// per-plane folded scale and shift (a = scale * rsqrt, b = B - mean * a) = 4.
// Tile unit: one (n, c) plane (streamed when it does not fit).
OpDef InstanceNormalizationOp() {
  OpDef op;
  op.type = "InstanceNormalization";
  op.host = kernels::MakeInstanceNormalizationDef();
  op.device = VectorDevice(4);
  op.device.tile_unit = [](const LayerView& n) { return ExtentFrom(n, 2); };
  op.device.stats_ops_per_element = kStatsOps;
  return op;
}

// LayerNormalization: mean 1 + variance 2 + subtract, multiply by InvStdDev,
// multiply by Scale (3) + add B (1, when present). Tile unit: the normalized
// extent X.shape[axis:].
OpDef LayerNormalizationOp() {
  OpDef op;
  op.type = "LayerNormalization";
  op.min_opset = 17;
  op.import = ImportLayerNormalization;
  op.host = kernels::MakeLayerNormalizationDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) { return n.Has(2) ? 7.0 : 6.0; };
  op.device.tile_unit = [](const LayerView& n) { return ExtentFrom(n, n.attrs.Int("axis", -1)); };
  op.device.stats_ops_per_element = kStatsOps;
  return op;
}

// GroupNormalization: as InstanceNormalization (4) plus folding the scale and
// shift per channel instead of per plane (~1 amortized): 5. Tile unit: one
// group, C / num_groups planes.
OpDef GroupNormalizationOp() {
  OpDef op;
  op.type = "GroupNormalization";
  op.min_opset = 18;
  op.import = ImportGroupNormalization;
  op.host = kernels::MakeGroupNormalizationDef();
  op.device = VectorDevice(5);
  op.device.tile_unit = [](const LayerView& n) -> int64_t {
    const Dims& out = n.outputs[0].shape;
    const int64_t groups = std::max<int64_t>(1, n.attrs.Int("num_groups", 1));
    if (out.size() < 2) return 1;
    return std::max<int64_t>(1, out[1] / groups * ElementsFrom(out, 2));
  };
  op.device.stats_ops_per_element = kStatsOps;
  return op;
}

// LpNormalization: the norm (p = 1: abs and add, 2; p = 2: multiply-add, 1)
// and a multiply by its reciprocal (1). Tile unit: X.shape[axis:] (the norm's
// extent with its interleaved positions).
OpDef LpNormalizationOp() {
  OpDef op;
  op.type = "LpNormalization";
  op.host = kernels::MakeLpNormalizationDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    return n.attrs.Int("p", 2) == 1 ? 3.0 : 2.0;
  };
  op.device.tile_unit = [](const LayerView& n) { return ExtentFrom(n, n.attrs.Int("axis", -1)); };
  return op;
}

// MeanVarianceNormalization: mean 1 + variance 2 + subtract and multiply (2)
// = 5. Tile unit: X.shape[first normalized axis:] (with the default axes
// [0, 2, 3], the whole tensor).
OpDef MeanVarianceNormalizationOp() {
  OpDef op;
  op.type = "MeanVarianceNormalization";
  op.host = kernels::MakeMeanVarianceNormalizationDef();
  op.device = VectorDevice(5);
  op.device.tile_unit = [](const LayerView& n) {
    const int64_t rank = static_cast<int64_t>(n.outputs[0].shape.size());
    int64_t first = rank;
    for (int64_t a : n.attrs.Ints("axes", {0, 2, 3})) {
      first = std::min(first, a < 0 ? a + rank : a);
    }
    return ExtentFrom(n, std::max<int64_t>(0, first));
  };
  op.device.stats_ops_per_element = kStatsOps;
  return op;
}

// GlobalLpPool: the whole plane per output element, LpTermOps per input
// element and the root.
OpDef GlobalLpPoolOp() {
  OpDef op;
  op.type = "GlobalLpPool";
  op.host = kernels::MakeGlobalLpPoolDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    const int64_t p = n.attrs.Int("p", 2);
    return static_cast<double>(ElementsFrom(n.inputs[0].shape, 2)) * LpTermOps(p) + LpRootOps(p);
  };
  return op;
}

// LpPool: one window per output element, LpTermOps per tap and the root.
OpDef LpPoolOp() {
  OpDef op;
  op.type = "LpPool";
  op.host = kernels::MakeLpPoolDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    const int64_t p = n.attrs.Int("p", 2);
    return static_cast<double>(ElementsFrom(n.attrs.Ints("kernel_shape", {1}), 0)) *
               LpTermOps(p) +
           LpRootOps(p);
  };
  return op;
}
// --- end normalization ---

}  // namespace engine::ops
