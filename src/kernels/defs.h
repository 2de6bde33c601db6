// Constructors of the built-in KernelDefs, one per layer type or family, each
// implemented in the file named beside it. Only registry.cc calls them.
//
// Semantics are those of the ONNX operator at opset 13 or later (the parser
// upgrades older models with the ONNX version converter), with inputs in
// ONNX order; see each file for the supported attributes and dtypes.
#ifndef ENGINE_KERNELS_DEFS_H_
#define ENGINE_KERNELS_DEFS_H_

#include <string>

#include "kernels/kernel.h"

namespace engine::kernels {

// conv.cc
KernelDef MakeConvDef();
// int8_layers.cc: the engine's integer layers "Int8Conv", "Int8Gemm",
// "Int8ConvTranspose".
KernelDef MakeInt8ConvDef();
KernelDef MakeInt8GemmDef();
KernelDef MakeInt8ConvTransposeDef();
// gemm.cc
KernelDef MakeGemmDef();
KernelDef MakeMatMulDef();
// attention.cc: "Attention" (Q, K, V [B, H, seq, head], optional additive
// mask); the layer fuse-attention produces (record in ops/attention.cc).
KernelDef MakeAttentionDef();
// attention.cc: "Int8Attention", the INT8 form the builder's quantization
// gives Attention (int8 Q, K, V; arithmetic in common/int8_softmax.h).
KernelDef MakeInt8AttentionDef();
// pool.cc: "MaxPool", "MaxPoolWithIndices", "AveragePool", "GlobalAveragePool",
// "GlobalMaxPool", "Int8AveragePool", "Int8GlobalAveragePool"
KernelDef MakePoolDef(const std::string& type);
// norm.cc
KernelDef MakeBatchNormalizationDef();
KernelDef MakeSoftmaxDef();
KernelDef MakeLrnDef();
// elementwise.cc: unary activations "Relu", "LeakyRelu", "Clip", "Sigmoid",
// "Tanh", "HardSigmoid", "HardSwish", "Swish"; binary broadcasting "Add", "Sub",
// "Mul", "Div", "PRelu"; variadic "Sum".
KernelDef MakeUnaryDef(const std::string& type);
KernelDef MakeBinaryDef(const std::string& type);
KernelDef MakeSumDef();
// shape_ops.cc
KernelDef MakeIdentityDef();
KernelDef MakeFlattenDef();
KernelDef MakeReshapeDef();
KernelDef MakeTransposeDef();
KernelDef MakeSqueezeDef();
KernelDef MakeUnsqueezeDef();
KernelDef MakeConcatDef();
KernelDef MakePadDef();
KernelDef MakeShapeDef();
KernelDef MakeGatherDef();
KernelDef MakeConstantOfShapeDef();
KernelDef MakeCastDef();
KernelDef MakeCastLikeDef();
KernelDef MakeEyeLikeDef();
KernelDef MakeSliceDef();
// size.cc: "Size" (element count of the input, int64 scalar).
KernelDef MakeSizeDef();
// quantize.cc: "QuantizeLinear", "DequantizeLinear".
KernelDef MakeQuantizeLinearDef();
KernelDef MakeDequantizeLinearDef();
// quantize.cc: "DynamicQuantizeLinear" (ONNX 11; three outputs y, y_scale,
// y_zero_point).
KernelDef MakeDynamicQuantizeLinearDef();
// qlinear.cc: imported ONNX quantized products "QLinearConv", "ConvInteger",
// "QLinearMatMul", "MatMulInteger".
KernelDef MakeQLinearConvDef();
KernelDef MakeConvIntegerDef();
KernelDef MakeQLinearMatMulDef();
KernelDef MakeMatMulIntegerDef();
// Resampling and layout family (ops-resample).
// resample.cc: "Resize" (also Upsample's layer), "DepthToSpace", "SpaceToDepth".
KernelDef MakeResizeDef();
KernelDef MakeDepthToSpaceDef();
KernelDef MakeSpaceToDepthDef();
// grid_sample.cc: "GridSample", "RoiAlign" (sampling at computed coordinates).
KernelDef MakeGridSampleDef();
KernelDef MakeRoiAlignDef();
// reorder.cc: "MaxUnpool", "ReverseSequence" (element moves to computed positions).
KernelDef MakeMaxUnpoolDef();
KernelDef MakeReverseSequenceDef();
// signal.cc: "Det"; the window generators "HannWindow", "HammingWindow",
// "BlackmanWindow"; "DFT", "STFT", "MelWeightMatrix".
KernelDef MakeDetDef();
KernelDef MakeWindowDef(const std::string& type);
KernelDef MakeDftDef();
KernelDef MakeStftDef();
KernelDef MakeMelWeightMatrixDef();
// conv_transpose.cc
KernelDef MakeConvTransposeDef();
// layout.cc (layout family): "Split", "Expand", "Tile", "Range", "Trilu".
KernelDef MakeSplitDef();
KernelDef MakeExpandDef();
KernelDef MakeTileDef();
KernelDef MakeRangeDef();
KernelDef MakeTriluDef();
// --- reductions and normalization (ops-reduce) ---
// reduce.cc: "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
// "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
// "ReduceLogSumExp" (an unknown type gives a KernelDef without a kernel);
// ArgMax, ArgMin, TopK, CumSum.
KernelDef MakeReduceDef(const std::string& type);
KernelDef MakeArgMaxDef();
KernelDef MakeArgMinDef();
KernelDef MakeTopKDef();
KernelDef MakeCumSumDef();
// normalization.cc
KernelDef MakeInstanceNormalizationDef();
KernelDef MakeLayerNormalizationDef();
KernelDef MakeGroupNormalizationDef();
KernelDef MakeLpNormalizationDef();
KernelDef MakeMeanVarianceNormalizationDef();
KernelDef MakeGlobalLpPoolDef();
KernelDef MakeLpPoolDef();
// --- end reductions and normalization ---
// Elementwise math and activations family (issue 17).
// elementwise_math.cc: unary "Exp", "Log", "Sqrt", "Reciprocal", "Floor",
// "Ceil", "Round", "Erf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh",
// "Cosh", "Asinh", "Acosh", "Atanh", "Elu", "Selu", "Celu", "Softplus",
// "Softsign", "ThresholdedRelu", "Mish", "Gelu", "Shrink", "Neg", "Abs",
// "Sign", "IsNaN", "IsInf", "Not"; axis activations "Hardmax", "LogSoftmax".
KernelDef MakeMathUnaryDef(const std::string& type);
KernelDef MakeAxisActivationDef(const std::string& type);
// elementwise_logic.cc: broadcasting "Pow", "Mod", "Equal", "Greater",
// "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Xor", "BitShift";
// "Where"; variadic "Min", "Max", "Mean".
KernelDef MakeLogicBinaryDef(const std::string& type);
KernelDef MakeWhereDef();
KernelDef MakeVariadicDef(const std::string& type);
// elementwise_logic.cc: "Int8Max", "Int8Min" (Max / Min of int8 activations,
// each input requantized to the output scale; the builder's INT8 rewrite).
KernelDef MakeInt8VariadicDef(const std::string& type);
// Indexing / Einsum / recurrent family (ops-index).
// indexing.cc: "GatherElements", "GatherND", "ScatterElements", "ScatterND", "OneHot".
KernelDef MakeGatherElementsDef();
KernelDef MakeGatherNdDef();
KernelDef MakeScatterElementsDef();
KernelDef MakeScatterNdDef();
KernelDef MakeOneHotDef();
// einsum.cc: "Einsum" (array form) and "VectorEinsum" (the engine's other forms).
KernelDef MakeEinsumDef(const std::string& type);
// recurrent.cc: "LSTM", "GRU", "RNN".
KernelDef MakeLstmDef();
KernelDef MakeGruDef();
KernelDef MakeRnnDef();
// loss.cc: "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss".
KernelDef MakeNegativeLogLikelihoodLossDef();
KernelDef MakeSoftmaxCrossEntropyLossDef();

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_DEFS_H_
