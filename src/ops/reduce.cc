// Reductions and search on the vector unit: Reduce* (ReduceSum, ReduceMean,
// ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare,
// ReduceLogSum, ReduceLogSumExp), ArgMax, ArgMin, TopK, CumSum.
//
// Costs are operations per output element. A reduction output folds the
// reduced extent R = input elements / output elements, so it costs about R
// times the per-element operation plus a finishing step; the input streams
// through in tiles proportional to the output (tile unit 1). Importers are
// 1:1: the kernels read `axes` / `K` / `axis` from their attribute or
// constant input (kernels/reduce.cc).
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// Reduced extent per output element (1 when nothing is reduced).
double ReducedExtent(const LayerView& n) {
  const double in = static_cast<double>(NumElements(n.inputs[0].shape));
  const double out = static_cast<double>(std::max<int64_t>(1, NumElements(n.outputs[0].shape)));
  return std::max(1.0, in / out);
}

// `per_element`: operations per reduced input element; `finish`: per output.
OpDef ReduceOp(const std::string& type, double per_element, double finish) {
  OpDef op;
  op.type = type;
  op.host = kernels::MakeReduceDef(type);
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [per_element, finish](const LayerView& n) {
    return ReducedExtent(n) * per_element + finish;
  };
  return op;
}

}  // namespace

// --- reductions and search (ops-reduce) ---
// Per reduced element: an add / compare / multiply (1); abs or square plus
// add (2); LogSumExp: a max pass (1) and subtract, exp (range reduction +
// degree-5 polynomial, 8) and add (10 more). Finish: Mean a multiply by
// 1/R (1); L2 a square root (Newton, 4); LogSum a log (polynomial, 8);
// LogSumExp a log and an add (9).
OpDef ReduceSumOp() { return ReduceOp("ReduceSum", 1, 0); }
OpDef ReduceMeanOp() { return ReduceOp("ReduceMean", 1, 1); }
OpDef ReduceMaxOp() {
  OpDef op = ReduceOp("ReduceMax", 1, 0);
  op.int8.role = Int8Role::kPassThrough;  // max commutes with a positive scale
  return op;
}
OpDef ReduceMinOp() {
  OpDef op = ReduceOp("ReduceMin", 1, 0);
  op.int8.role = Int8Role::kPassThrough;  // min commutes with a positive scale
  return op;
}
OpDef ReduceProdOp() { return ReduceOp("ReduceProd", 1, 0); }
OpDef ReduceL1Op() { return ReduceOp("ReduceL1", 2, 0); }
OpDef ReduceL2Op() { return ReduceOp("ReduceL2", 2, 4); }
OpDef ReduceSumSquareOp() { return ReduceOp("ReduceSumSquare", 2, 0); }
OpDef ReduceLogSumOp() { return ReduceOp("ReduceLogSum", 1, 8); }
OpDef ReduceLogSumExpOp() { return ReduceOp("ReduceLogSumExp", 11, 9); }

// ArgMax / ArgMin: a compare and a select of value and index per element of
// the axis (2 R).
OpDef ArgMaxOp() {
  OpDef op;
  op.type = "ArgMax";
  op.host = kernels::MakeArgMaxDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) { return 2 * ReducedExtent(n); };
  return op;
}
OpDef ArgMinOp() {
  OpDef op = ArgMaxOp();
  op.type = "ArgMin";
  op.host = kernels::MakeArgMinDef();
  return op;
}

// TopK: a selection heap of K over each slice of n elements (n compares, each
// insertion ceil(log2 K) more) then sorting the K winners (ceil(log2 K) per
// winner): per output element (n / K + 1) * max(1, ceil(log2 K)). Tiles hold
// whole slices of K outputs; each tile stores its share of both outputs
// (Values and Indices, DescribeDeviceWork stores every output).
OpDef TopKOp() {
  OpDef op;
  op.type = "TopK";
  op.host = kernels::MakeTopKDef();
  op.device.unit = hw::LayerKind::kVector;
  auto k_of = [](const LayerView& n) -> int64_t {  // Values' extent along `axis`
    const Dims& out = n.outputs[0].shape;
    if (out.empty()) return 1;
    const int64_t rank = static_cast<int64_t>(out.size());
    int64_t axis = n.attrs.Int("axis", -1);
    if (axis < 0) axis += rank;
    return std::max<int64_t>(1, out[static_cast<size_t>(std::clamp<int64_t>(axis, 0, rank - 1))]);
  };
  op.device.ops_per_element = [k_of](const LayerView& n) {
    const double k = static_cast<double>(k_of(n));
    const double slice = ReducedExtent(n) * k;  // n = input / output * K
    const double log_k = std::max(1.0, std::ceil(std::log2(k)));
    return (slice / k + 1) * log_k;
  };
  op.device.tile_unit = k_of;
  return op;
}

// CumSum: one add per element (the running sum); the running sums of a tile
// are carried to the next, so tiles need not hold whole scan lines.
OpDef CumSumOp() {
  OpDef op;
  op.type = "CumSum";
  op.host = kernels::MakeCumSumDef();
  op.device = VectorDevice(1);
  return op;
}
// --- end reductions and search ---

}  // namespace engine::ops
