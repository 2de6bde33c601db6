// Ops with a data-dependent output shape, computed at an upper bound
// (kernels/data_dependent.cc; ops/extent.h for how the actual extent reaches
// the consumers): NonZero, NonMaxSuppression, Compress (TopK with a run-time
// K is in reduce.cc). NonZero and NMS run on the vector unit, Compress on the
// DMA engine; the modeled cost is that of the bound (every element of X
// compared; every box pair of a class tested; every slice copied), an upper
// bound of the data-dependent work.
#include <algorithm>
#include <cmath>

#include "kernels/data_dependent.h"
#include "ops/op_util.h"

namespace engine::ops {

// NonZero: one compare per input element and, for each non-zero, rank index
// digits written (a divide-free odometer increment): at the bound (every
// element non-zero) one compare + one write per output element [rank, numel]
// = 2 ops per output element. Tiles: one output element at a time.
OpDef NonZeroOp() {
  OpDef op;
  op.type = "NonZero";
  op.min_opset = 9;
  op.host = kernels::MakeNonZeroDef();
  op.device = VectorDevice(2);
  return op;
}

// NonMaxSuppression (B batches, C classes, N boxes, M = max boxes per class
// clamped to N): per (batch, class) N threshold compares, a sort of N scores
// (N ceil(log2 N) compares) and, at the bound, each of the min(M, N) selected
// boxes' IoU against every candidate (about 12 ops: 4 max/min, 2 subtracts,
// 3 multiplies, an add, a compare, a divide counted as one on the vector
// unit's reciprocal path). The total divided by the output's bound * 3
// elements (at least 1, so a zero bound still costs its scan).
OpDef NonMaxSuppressionOp() {
  OpDef op;
  op.type = "NonMaxSuppression";
  op.min_opset = 10;
  op.host = kernels::MakeNonMaxSuppressionDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& v) {
    const Dims& s = v.inputs[1].shape;  // [B, C, N]
    if (s.size() != 3) return 1.0;
    const double bc = static_cast<double>(s[0]) * static_cast<double>(s[1]);
    const double n = static_cast<double>(s[2]);
    const double rows = static_cast<double>(v.outputs[0].shape.empty() ? 0 : v.outputs[0].shape[0]);
    const double per_class = bc > 0 ? rows / bc : 0;  // min(M, N) at the bound
    const double total =
        bc * (n + n * std::max(1.0, std::ceil(std::log2(std::max(2.0, n)))) + per_class * n * 12);
    return total / std::max(1.0, rows * 3);
  };
  op.device.tile_unit = [](const LayerView&) -> int64_t { return 3; };  // one selected row
  return op;
}

// Compress: pure data movement (the condition read, the selected slices
// copied): the DMA engine, bytes at the bound.
OpDef CompressOp() {
  OpDef op = Dma("Compress", kernels::MakeCompressDef());
  op.min_opset = 9;
  return op;
}

}  // namespace engine::ops
