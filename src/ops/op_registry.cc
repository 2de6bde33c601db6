#include "ops/op_registry.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ops/plugin_ops.h"

namespace engine::ops {

// Op records, one constructor per op, each in the file of its family.
// conv.cc
OpDef ConvOp();
OpDef Int8ConvOp();
OpDef QLinearConvOp();
OpDef ConvIntegerOp();
// matmul.cc
OpDef GemmOp();
OpDef MatMulOp();
OpDef Int8GemmOp();
OpDef QLinearMatMulOp();
OpDef MatMulIntegerOp();
// pool.cc
OpDef MaxPoolOp();
OpDef MaxPoolWithIndicesOp();
OpDef AveragePoolOp();
OpDef GlobalAveragePoolOp();
OpDef GlobalMaxPoolOp();
OpDef Int8AveragePoolOp();
OpDef Int8GlobalAveragePoolOp();
OpDef MaxUnpoolOp();
// attention.cc: fused multi-head attention (engine-internal, fuse-attention)
OpDef AttentionOp();
OpDef Int8AttentionOp();
// norm.cc
OpDef BatchNormalizationOp();
OpDef SoftmaxOp();
OpDef LrnOp();
// elementwise.cc
OpDef ReluOp();
OpDef LeakyReluOp();
OpDef ClipOp();
OpDef SigmoidOp();
OpDef TanhOp();
OpDef HardSigmoidOp();
OpDef HardSwishOp();
OpDef SwishOp();
OpDef AddOp();
OpDef SubOp();
OpDef MulOp();
OpDef DivOp();
OpDef PReluOp();
OpDef SumOp();
OpDef CastOp();
OpDef CastLikeOp();
OpDef QuantizeLinearOp();
OpDef DequantizeLinearOp();
OpDef DynamicQuantizeLinearOp();
// elementwise_math.cc: elementwise math, logic and activations (issue 17)
OpDef ExpOp(); OpDef LogOp(); OpDef SqrtOp(); OpDef ReciprocalOp(); OpDef NegOp(); OpDef AbsOp();
OpDef FloorOp(); OpDef CeilOp(); OpDef RoundOp(); OpDef SignOp(); OpDef ErfOp();
OpDef SinOp(); OpDef CosOp(); OpDef TanOp(); OpDef AsinOp(); OpDef AcosOp(); OpDef AtanOp();
OpDef SinhOp(); OpDef CoshOp(); OpDef AsinhOp(); OpDef AcoshOp(); OpDef AtanhOp();
OpDef IsNaNOp(); OpDef IsInfOp(); OpDef NotOp();
OpDef EluOp(); OpDef SeluOp(); OpDef CeluOp(); OpDef SoftplusOp(); OpDef SoftsignOp();
OpDef ThresholdedReluOp(); OpDef MishOp(); OpDef GeluOp(); OpDef ShrinkOp();
OpDef HardmaxOp(); OpDef LogSoftmaxOp();
OpDef PowOp(); OpDef ModOp(); OpDef EqualOp(); OpDef GreaterOp(); OpDef GreaterOrEqualOp();
OpDef LessOp(); OpDef LessOrEqualOp(); OpDef AndOp(); OpDef OrOp(); OpDef XorOp();
OpDef BitShiftOp(); OpDef WhereOp(); OpDef MinOp(); OpDef MaxOp(); OpDef MeanOp();
OpDef Int8MinOp(); OpDef Int8MaxOp();
// data_movement.cc
OpDef TransposeOp();
OpDef ConcatOp();
OpDef PadOp();
OpDef SliceOp();
OpDef GatherOp();
OpDef ConstantOfShapeOp();
OpDef IdentityOp();
OpDef FlattenOp();
OpDef ReshapeOp();
OpDef SqueezeOp();
OpDef UnsqueezeOp();
OpDef ShapeOp();
OpDef SizeOp();
OpDef EyeLikeOp();
OpDef ConstantOp();
OpDef DropoutOp();
// Resampling and layout family (resample.cc).
OpDef ResizeOp();
OpDef UpsampleOp();
OpDef ConvTransposeOp();
OpDef Int8ConvTransposeOp();
OpDef DepthToSpaceOp();
OpDef SpaceToDepthOp();
OpDef GridSampleOp();
OpDef RoiAlignOp();
// layout.cc (layout family: Split/Expand/Tile/Range/Trilu, legacy image ops, If)
OpDef SplitOp();
OpDef ExpandOp();
OpDef TileOp();
OpDef RangeOp();
OpDef TriluOp();
OpDef CropOp();
OpDef AffineOp();
OpDef ImageScalerOp();
OpDef ScaleOp();
OpDef IfOp();
OpDef LoopOp();
OpDef ScanOp();
// --- reductions and normalization (ops-reduce) ---
// reduce.cc
OpDef ReduceSumOp();
OpDef ReduceMeanOp();
OpDef ReduceMaxOp();
OpDef ReduceMinOp();
OpDef ReduceProdOp();
OpDef ReduceL1Op();
OpDef ReduceL2Op();
OpDef ReduceSumSquareOp();
OpDef ReduceLogSumOp();
OpDef ReduceLogSumExpOp();
OpDef ArgMaxOp();
OpDef ArgMinOp();
OpDef TopKOp();
OpDef NonZeroOp();
OpDef NonMaxSuppressionOp();
OpDef CompressOp();
OpDef CumSumOp();
// normalization.cc
OpDef InstanceNormalizationOp();
OpDef LayerNormalizationOp();
OpDef GroupNormalizationOp();
OpDef LpNormalizationOp();
OpDef MeanVarianceNormalizationOp();
OpDef GlobalLpPoolOp();
OpDef LpPoolOp();
// --- end reductions and normalization ---
// Indexing / Einsum / recurrent family (ops-index): indexing.cc, recurrent.cc.
OpDef GatherElementsOp();
OpDef GatherNdOp();
OpDef ScatterNdOp();
OpDef ScatterElementsOp();
OpDef ScatterOp();
OpDef OneHotOp();
OpDef ReverseSequenceOp();
OpDef EinsumOp();
OpDef VectorEinsumOp();
OpDef LstmOp();
OpDef GruOp();
OpDef RnnOp();
// Loss functions (vector unit; loss.cc).
OpDef NegativeLogLikelihoodLossOp();
OpDef SoftmaxCrossEntropyLossOp();

// signal.cc: signal processing and linear algebra.
OpDef DetOp();
OpDef HannWindowOp();
OpDef HammingWindowOp();
OpDef BlackmanWindowOp();
OpDef DftOp();
OpDef StftOp();
OpDef MelWeightMatrixOp();

// The one list of ops the engine knows. Adding an op: one line here, plus the
// files of that op (docs/adding_an_op.md).
void RegisterBuiltinOps(OpRegistry& r) {
  OpDef (*const kOps[])() = {
      // Matrix work on the systolic array.
      ConvOp, Int8ConvOp, QLinearConvOp, ConvIntegerOp,
      GemmOp, MatMulOp, Int8GemmOp, QLinearMatMulOp, MatMulIntegerOp,
      // Pooling (vector unit).
      MaxPoolOp, AveragePoolOp, GlobalAveragePoolOp, GlobalMaxPoolOp, Int8AveragePoolOp,
      Int8GlobalAveragePoolOp, MaxUnpoolOp, MaxPoolWithIndicesOp,
      // Normalization (vector unit).
      BatchNormalizationOp, SoftmaxOp, LrnOp,
      AttentionOp,  // fused attention: array + vector composite (attention.cc)
      Int8AttentionOp,  // its INT8 form (attention.cc)
      // Elementwise (vector unit).
      ReluOp, LeakyReluOp, ClipOp, SigmoidOp, TanhOp, HardSigmoidOp, HardSwishOp, SwishOp,
      AddOp, SubOp, MulOp, DivOp, PReluOp, SumOp, CastOp, CastLikeOp, QuantizeLinearOp,
      DequantizeLinearOp, DynamicQuantizeLinearOp,
      // Elementwise math, logic and activations (vector unit; elementwise_math.cc).
      ExpOp, LogOp, SqrtOp, ReciprocalOp, NegOp, AbsOp, FloorOp, CeilOp, RoundOp, SignOp, ErfOp,
      SinOp, CosOp, TanOp, AsinOp, AcosOp, AtanOp, SinhOp, CoshOp, AsinhOp, AcoshOp, AtanhOp,
      IsNaNOp, IsInfOp, NotOp, EluOp, SeluOp, CeluOp, SoftplusOp, SoftsignOp, ThresholdedReluOp,
      MishOp, GeluOp, ShrinkOp, HardmaxOp, LogSoftmaxOp, PowOp, ModOp, EqualOp, GreaterOp,
      GreaterOrEqualOp, LessOp, LessOrEqualOp, AndOp, OrOp, XorOp, BitShiftOp, WhereOp, MinOp,
      MaxOp, MeanOp, Int8MinOp, Int8MaxOp,
      // Data movement (DMA) and views.
      TransposeOp, ConcatOp, PadOp, SliceOp, GatherOp, ConstantOfShapeOp,
      IdentityOp, FlattenOp, ReshapeOp, SqueezeOp, UnsqueezeOp, ShapeOp, SizeOp, EyeLikeOp,
      // Import-only: rewritten by their importers.
      ConstantOp, DropoutOp,
      // Resampling and layout family: array (ConvTranspose), vector (Resize),
      // DMA (DepthToSpace, SpaceToDepth); Upsample is imported as Resize.
      ConvTransposeOp, Int8ConvTransposeOp, ResizeOp, UpsampleOp, DepthToSpaceOp, SpaceToDepthOp,
      // Sampling at computed coordinates (vector unit; GridSample, RoiAlign).
      GridSampleOp, RoiAlignOp,
      // Layout family: Split/Expand/Tile/Trilu (DMA), Range; legacy image ops
      // and If are rewritten by their importers / the parser.
      SplitOp, ExpandOp, TileOp, RangeOp, TriluOp, CropOp, AffineOp, ImageScalerOp, ScaleOp,
      IfOp, LoopOp, ScanOp,
      // Reductions and search, normalization (vector unit; ops-reduce).
      ReduceSumOp, ReduceMeanOp, ReduceMaxOp, ReduceMinOp, ReduceProdOp, ReduceL1Op, ReduceL2Op,
      ReduceSumSquareOp, ReduceLogSumOp, ReduceLogSumExpOp, ArgMaxOp, ArgMinOp, TopKOp, CumSumOp,
      NonZeroOp, NonMaxSuppressionOp, CompressOp,
      InstanceNormalizationOp, LayerNormalizationOp, GroupNormalizationOp, LpNormalizationOp,
      MeanVarianceNormalizationOp, GlobalLpPoolOp, LpPoolOp,
      // --- end reductions and normalization ---
      // Indexing (DMA / vector), Einsum (array or vector), recurrent (array + vector epilogue).
      GatherElementsOp, GatherNdOp, ScatterNdOp, ScatterElementsOp, ScatterOp, OneHotOp,
      EinsumOp, VectorEinsumOp, LstmOp, GruOp, RnnOp, ReverseSequenceOp,
      // Loss functions (vector unit).
      NegativeLogLikelihoodLossOp, SoftmaxCrossEntropyLossOp,
      // Signal processing and linear algebra: Det, DFT, STFT (vector unit);
      // window generators and MelWeightMatrix always fold (constant inputs).
      DetOp, HannWindowOp, HammingWindowOp, BlackmanWindowOp, DftOp, StftOp, MelWeightMatrixOp,
  };
  for (auto make : kOps) {
    absl::Status s = r.Register(make());
    if (!s.ok()) {
      std::fprintf(stderr, "RegisterBuiltinOps: %s\n", std::string(s.message()).c_str());
      std::abort();
    }
  }
}

// The default importer (op_def.h).
absl::Status ImportOneToOne(const ImportNode& node, ImportSink& sink) {
  if (!node.tensor_attrs.empty()) {
    return absl::UnimplementedError(absl::StrCat("attribute '", node.tensor_attrs.begin()->first,
                                                 "' has kind TENSOR, which is not supported"));
  }
  return sink.AddLayer(node.name, node.op_type, node.attrs, node.inputs, node.outputs);
}

absl::Status OpRegistry::Register(OpDef def) {
  if (def.type.empty()) return absl::InvalidArgumentError("op record without a type");
  if (def.min_opset > def.max_opset) {
    return absl::InvalidArgumentError(absl::StrCat(def.type, ": empty opset range"));
  }
  if (def.has_kernel() && !def.host.infer) {
    return absl::InvalidArgumentError(absl::StrCat(def.type, ": kernel without shape inference"));
  }
  if (def.has_kernel() && def.host.type != def.type) {
    return absl::InvalidArgumentError(
        absl::StrCat(def.type, ": host kernel is registered as '", def.host.type, "'"));
  }
  if (def.has_kernel() && !def.device.unit) {
    return absl::InvalidArgumentError(absl::StrCat(def.type, ": kernel without accelerator unit"));
  }
  if (def.device.unit == hw::LayerKind::kArray && !def.device.gemm) {
    return absl::InvalidArgumentError(absl::StrCat(def.type, ": array layer without geometry"));
  }
  if (def.device.unit == hw::LayerKind::kComposite && !def.device.composite) {
    return absl::InvalidArgumentError(absl::StrCat(def.type, ": composite layer without pieces"));
  }
  if (!def.has_kernel() && !def.import) {
    return absl::InvalidArgumentError(
        absl::StrCat(def.type, ": neither a kernel nor an importer that rewrites it"));
  }
  if (defs_.contains(def.type)) {
    return absl::AlreadyExistsError(absl::StrCat("op '", def.type, "' is registered twice"));
  }
  std::string type = def.type;
  defs_.emplace(std::move(type), std::move(def));
  return absl::OkStatus();
}

const OpDef* OpRegistry::Find(std::string_view type) const {
  auto it = defs_.find(type);
  if (it != defs_.end()) return &it->second;
  return with_plugins_ ? FindPluginOp(type) : nullptr;
}

const OpDef* OpRegistry::FindImport(std::string_view domain, std::string_view op_type, int opset,
                                    std::string* why) const {
  const std::string_view d = domain == "ai.onnx" ? std::string_view() : domain;
  const OpDef* def = Find(op_type);
  if (def != nullptr && def->importable && def->domain == d) {
    if (opset < def->min_opset && !d.empty()) {  // custom domains (plugins): both ends
      if (why) *why = absl::StrCat("opset ", opset, " is older than the supported ", def->min_opset);
      return nullptr;
    }
    if (opset > def->max_opset) {
      if (why) *why = absl::StrCat("opset ", opset, " is newer than the supported ", def->max_opset);
      return nullptr;
    }
    return def;
  }
  if (why) {
    *why = d.empty() ? std::string("op not supported")
                     : absl::StrCat("domain '", std::string(d), "' not supported");
  }
  return nullptr;
}

std::vector<const OpDef*> OpRegistry::All() const {
  std::vector<const OpDef*> out;
  for (const auto& [type, def] : defs_) out.push_back(&def);
  if (with_plugins_) {
    for (const OpDef* def : PluginOps()) out.push_back(def);
  }
  return out;
}

std::vector<std::string> OpRegistry::KernelTypes() const {
  std::vector<std::string> out;
  for (const auto& [type, def] : defs_) {
    if (def.has_kernel()) out.push_back(type);
  }
  if (with_plugins_) {
    for (const OpDef* def : PluginOps()) out.push_back(def->type);
  }
  return out;
}

const OpRegistry& OpRegistry::Builtin() {
  static const OpRegistry* registry = [] {
    auto* r = new OpRegistry();
    RegisterBuiltinOps(*r);
    r->with_plugins_ = true;
    return r;
  }();
  return *registry;
}

absl::StatusOr<std::vector<Tensor>> EvaluateLayer(const OpRegistry& registry,
                                                  std::string_view type, const Attributes& attrs,
                                                  std::span<const Tensor* const> inputs) {
  const OpDef* def = registry.Find(type);
  if (def == nullptr || !def->has_kernel()) {
    return absl::UnimplementedError(
        absl::StrCat("no kernel for layer type '", std::string(type), "'"));
  }
  return kernels::EvaluateKernel(def->host, attrs, inputs);
}

}  // namespace engine::ops
