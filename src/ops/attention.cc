// Attention (engine-internal layer, produced by the fuse-attention pass):
// Y [B, H, S, Dv] = softmax_T(scale(Q Kᵀ) + mask) · V, host kernel in
// kernels/attention.cc.
//
// Accelerator mapping: a composite layer (hw::LayerKind::kComposite) of
// three pieces run in sequence, each priced exactly as the unfused layer it
// replaces:
//  1. "scores": per head (groups = B * H) the product Q [S, D] · Kᵀ on the
//     array, GEMM geometry K = D, M = T, P = S (what MatMul's geometry gives
//     the unfused batched Q·Kᵀ), SCALE-Sim fold timing (hw/systolic.h);
//  2. "softmax": the vector unit over the B * H * S * T scores, whole rows
//     of T on chip (Softmax's tile unit), Softmax's 5 ops per element plus
//     1 for the scale and 1 for the mask add when there is a mask (the Div /
//     Mul and Add layers of the unfused chain cost 1 op per element each);
//     it reads the scores and the mask and writes the probabilities;
//  3. "context": per head P [S, T] · V [T, Dv] on the array, K = T, M = Dv,
//     P = S.
// Scores: the mapper (codegen/mapper.cc) prices two variants and keeps the
// better one. Spilled: piece 1 stores the scores to DRAM, piece 2 loads them
// and stores the probabilities, piece 3 loads them (4 * B*H*S*T elements of
// DRAM traffic, counted in the layer's bytes and energy). Resident, when the
// B*H*S*T scores take at most half the scratchpad: they stay there (in place
// for the probabilities), those loads and stores are dropped, and the
// pieces are tiled in the scratchpad that is left. Streamed, when all
// scores do not fit but one head's S x T (or some rows of it) does: the
// three pieces run per chunk of heads (and, if one head is too large, of
// query rows), each chunk's scores resident in at most half the scratchpad,
// chunk after chunk (flash-attention-style; the rows of T are whole, so no
// online-softmax rescaling is needed; K and V are re-read per row chunk).
// Tiling over the keys (a row of T larger than half the scratchpad, with
// the online softmax's rescaling) is not modeled.
//
// Int8Attention (INT8 builds): the same three pieces with int8 operands on
// the array (Q, K, V and the probabilities 1 byte each, int8 MAC energy);
// the scores are the array's int32 accumulators (4 bytes each, what the
// resident / streamed buffer holds), the softmax runs on the vector unit in
// float32 with one more op per element (rounding to the int8 probability)
// and writes 1-byte probabilities; the context piece requantizes as it
// drains (2 epilogue ops per element). Arithmetic: common/int8_softmax.h.
//
// fp16 / bf16 Attention (the builder's "precision" attribute): every operand
// and the scores and probabilities are 2-byte storage values (half the FP32
// layer's bytes), fp16 / bf16 MAC energy on the array, the softmax on the
// vector unit in that precision.
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace engine::ops {
namespace {

/// Fills the three pieces of an Attention layer (see the file comment).
/// Shapes: Q [B, H, S, D], K [B, H, T, D], V [B, H, T, Dv], optional mask
/// (input 3), Y [B, H, S, Dv]; or, with attribute num_heads = H (head split
/// and merge folded by fuse-attention-heads), any of them packed as
/// [B, seq, H * head] (Y when output_packed = 1). A packed operand moves the
/// same bytes: a head is a strided slice of its rows (H rows of head
/// elements each per sequence position; DMA burst efficiency is not
/// modeled). Errors: Internal naming the layer when the shapes are neither.
absl::Status DescribeAttention(const LayerView& n, Precision precision, hw::LayerWorkload& w) {
  const int64_t num_heads = n.attrs.Int("num_heads", 0);
  auto rank_ok = [&](const kernels::TensorInfo& t) {
    return t.shape.size() == 4 ||
           (t.shape.size() == 3 && num_heads >= 1 && t.shape[2] % num_heads == 0);
  };
  if (n.inputs.size() < 3 || n.outputs.empty() || !n.Has(0) || !n.Has(1) || !n.Has(2) ||
      !rank_ok(n.inputs[0]) || !rank_ok(n.inputs[1]) || !rank_ok(n.inputs[2]) ||
      !rank_ok(n.outputs[0])) {
    return absl::InternalError(absl::StrCat(
        n.name, " (Attention): Q, K, V and Y must be [B, H, seq, head] or [B, seq, H * head] "
                "with num_heads"));
  }
  // [B, H, seq, head] of a rank-4 or packed rank-3 operand.
  auto heads_of = [&](const Dims& x) {
    return x.size() == 4 ? x : Dims{x[0], num_heads, x[1], x[2] / num_heads};
  };
  const Dims q = heads_of(n.inputs[0].shape);
  const Dims k = heads_of(n.inputs[1].shape);
  const Dims y = heads_of(n.outputs[0].shape);
  const int64_t heads = q[0] * q[1], s = q[2], d = q[3], t = k[2], dv = y[3];
  const bool int8 = precision == Precision::kInt8;
  const int64_t elem = PrecisionBytes(precision);
  // INT8 (Int8Attention): the array drains int32 score accumulators (4 bytes
  // each) that the softmax reads, and it writes int8 probabilities (1 byte)
  // in place; FP32: one float each.
  // An fp16 / bf16 layer (the builder's "precision" attribute: `precision`
  // is kFp16 / kBf16) keeps its float32 tensors as 2-byte storage values on
  // the device (common/reduced_float.h), Q, K, V, the mask and Y included.
  const bool storage16 = precision == Precision::kFp16 || precision == Precision::kBf16;
  auto ByteSize = [storage16](const kernels::TensorInfo& x) -> int64_t {
    if (storage16 && x.dtype == DataType::kFloat32) return NumElements(x.shape) * 2;
    return ops::ByteSize(x);
  };
  const int64_t score_bytes = heads * s * t * (int8 ? 4 : elem);
  const int64_t prob_bytes = heads * s * t * elem;

  hw::LayerWorkload scores;
  scores.name = "scores";
  scores.kind = hw::LayerKind::kArray;
  hw::GemmWorkload& g1 = scores.gemm;
  g1.precision = precision;
  g1.groups = heads;
  g1.k = d;
  g1.m = t;
  g1.p = s;
  g1.out_w = s;
  g1.input_tensor = n.InputTensor(0);
  g1.input_bytes = ByteSize(n.inputs[0]);
  g1.weight_tensor = n.InputTensor(1);
  g1.weight_bytes = ByteSize(n.inputs[1]);
  g1.output_tensor = hw::kOnChipTensor;  // the scores have no plan tensor
  g1.output_bytes = score_bytes;

  hw::LayerWorkload softmax;
  softmax.name = "softmax";
  softmax.kind = hw::LayerKind::kVector;
  hw::VectorWorkload& v = softmax.vector;
  // The softmax runs on the vector unit's float32 datapath in both forms
  // (INT8: common/int8_softmax.h, the int32 -> float conversion folded into
  // the scale multiply, plus 1 op to round to the int8 probability).
  v.precision = int8 ? Precision::kFp32 : precision;
  v.inputs.push_back({hw::kOnChipTensor, score_bytes});
  const bool has_mask = n.Has(3);
  if (has_mask) v.inputs.push_back({n.InputTensor(3), ByteSize(n.inputs[3])});
  v.outputs.push_back({hw::kOnChipTensor, prob_bytes});
  v.out_elements = heads * s * t;
  v.ops_per_element = 5 + 1 + (has_mask ? 1 : 0) + (int8 ? 1 : 0);
  v.tile_unit = std::max<int64_t>(1, t);

  hw::LayerWorkload context;
  context.name = "context";
  context.kind = hw::LayerKind::kArray;
  hw::GemmWorkload& g2 = context.gemm;
  g2.precision = precision;
  g2.groups = heads;
  g2.k = t;
  g2.m = dv;
  g2.p = s;
  g2.out_w = s;
  g2.input_tensor = hw::kOnChipTensor;
  g2.input_bytes = prob_bytes;
  g2.weight_tensor = n.InputTensor(2);
  g2.weight_bytes = ByteSize(n.inputs[2]);
  g2.output_tensor = n.OutputTensor(0);
  g2.output_bytes = ByteSize(n.outputs[0]);
  // INT8: the int32 sums are requantized (int8 Y) or scaled (float Y) as
  // they drain, 2 ops per element as Int8Gemm's epilogue.
  if (int8) g2.epilogue_ops_per_element += 2;

  w.parts = {std::move(scores), std::move(softmax), std::move(context)};
  // The scores and the probabilities share one S x T buffer per head.
  w.resident_bytes = score_bytes;
  // Heads are independent and softmax rows are whole rows of T: the pieces
  // may run per chunk of heads x query rows, each chunk's scores on chip
  // (mapper.cc; K and V are re-read by every query-row chunk).
  w.stream_groups = heads;
  w.stream_rows = s;
  return absl::OkStatus();
}

}  // namespace

OpDef AttentionOp() {
  OpDef op;
  op.type = "Attention";
  op.importable = false;  // engine-internal: only fuse-attention creates it
  op.host = kernels::MakeAttentionDef();
  op.device.unit = hw::LayerKind::kComposite;
  op.device.composite = DescribeAttention;
  op.int8.role = Int8Role::kAttention;  // becomes Int8Attention
  return op;
}

OpDef Int8AttentionOp() {
  OpDef op;
  op.type = "Int8Attention";
  op.importable = false;  // engine-internal: the builder's INT8 form of Attention
  op.host = kernels::MakeInt8AttentionDef();
  op.device.unit = hw::LayerKind::kComposite;
  op.device.int8_operands = true;  // the pieces get Precision::kInt8
  op.device.composite = DescribeAttention;
  return op;
}

}  // namespace engine::ops
