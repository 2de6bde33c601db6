// INT8 quantization of an optimized FP32 graph (the builder's "quantize-int8"
// step, run after fusion so that it quantizes the layers that execute).
//
// Given one scale per activation tensor (from calibration or a calibration
// cache), it rewrites:
//  - Conv (with fused bias, Relu/Clip and residual add) into Int8Conv, and
//    Gemm (with a fused residual add) / MatMul with constant weights into
//    Int8Gemm: int8 weights with one
//    scale per output channel (max|w| / 127), int32 bias, per-channel
//    requantization multipliers (src/common/requant.h), the activation folded
//    into the output clamp;
//  - ConvTranspose with constant weights (any groups, dilations, pads,
//    output_padding, output_shape, auto_pad; no fused activation) into
//    Int8ConvTranspose: int8 weights with one scale per output channel
//    (over W[c in the group, j, ...]), int32 bias, the same requantization;
//    with overlapping taps (kernel > stride) the accelerator runs one
//    convolution per output phase (ops/resample.cc), each output element
//    still one complete int32 sum;
//  - MaxPool, Relu, Flatten, Reshape, Squeeze, Unsqueeze, Identity,
//    Transpose and Slice whose data input is int8 into the same layer on
//    int8 (they commute with a positive scale and a zero point of 0);
//  - Concat whose inputs all come from Int8Conv/Int8Gemm layers, average
//    pools or such Concats, and whose output an int8 layer reads, into an
//    int8 Concat: the values a group of chained Concats joins share one
//    scale, the largest calibrated among them, to which the producers
//    requantize, so that the Concat is a copy (TensorRT's approach); any
//    other group stays FP32;
//  - Attention (fuse-attention's layer) whose Q, K and V are float
//    activations into Int8Attention: Q, K, V int8 at their calibrated
//    per-tensor scales (explicit quantization: the model's, zero point 0;
//    without them it stays FP32 with the reason; the model's scale for the
//    probabilities is not used) (their producers requantize to them), Q K^T exact in int32, the softmax on the vector unit in
//    float32 into int8 unnormalized exponentials at the fixed scale 1/127,
//    P V exact in int32, scaled by s_v / (127 * row sum) to Y's calibrated
//    scale or to float for float readers (common/int8_softmax.h); the float
//    mask stays float32;
//  - AveragePool and GlobalAveragePool whose input is int8 into
//    Int8AveragePool / Int8GlobalAveragePool (exact int32 window sums,
//    requantized to the output's calibrated scale, or dequantized when only
//    float layers read it);
//  - and inserts QuantizeLinear where an int8 layer reads a float tensor and
//    DequantizeLinear where a float layer (or an engine output) reads an
//    int8 one. A layer whose output only FP32 layers or engine outputs read
//    dequantizes in its epilogue instead (float output, MakeFloatOutput): no
//    clipping to the output's calibrated range and no DequantizeLinear.
//    Every FP32 tensor keeps its name and stays the value float
//    readers see (produced by a DequantizeLinear when its producer became
//    int8); the int8 tensors are named "<name>:int8". DequantizeLinear layers
//    nobody reads are removed.
#ifndef ENGINE_BUILDER_QUANTIZE_INT8_H_
#define ENGINE_BUILDER_QUANTIZE_INT8_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/attributes.h"
#include "engine/builder.h"
#include "engine/tensor.h"
#include "ir/graph.h"

namespace engine::opt {

/// Activation scales by tensor name (float32, > 0: real = scale * q).
using ScaleMap = std::map<std::string, float>;

/// Activation zero points by tensor name, in int8 units (an int8 in
/// [-128, 127]: real = scale * (q - zero_point)); absent means 0. A uint8
/// tensor of the model with zero point z is stored as int8 q - 128 with zero
/// point z - 128 (exact).
using ZeroPointMap = std::map<std::string, int32_t>;

/// The quantization a model gives a constant weight tensor (explicit
/// quantization, builder/explicit_quantization.h): one scale (scales.size()
/// == 1: per tensor) or one scale per index of `axis` (>= 0) of the tensor.
/// Weight zero points are 0 (as TensorRT requires).
struct ExplicitWeightScales {
  int64_t axis = 0;
  std::vector<double> scales;
  /// The float32 values (scale * q) the scales belong to: an optimizer pass
  /// that copies the constant under a derived name ("<name>/bn_folded")
  /// with the same values keeps its scales; changed values lose them.
  std::shared_ptr<const Tensor> values;
};

/// What the rewrite takes besides activation scales. Default: implicit
/// quantization (calibrated scales, zero points 0, weight scales
/// max|w[c]| / 127).
struct QuantizeOptions {
  ZeroPointMap zero_points;
  /// By weight constant name.
  std::map<std::string, ExplicitWeightScales> weight_scales;
  /// Explicit quantization (TensorRT's rules): a product layer becomes INT8
  /// only when its input has a scale and its weights an explicit scale; a
  /// tensor with a scale is materialized in int8 at exactly that scale and
  /// zero point (no float-output shortcut; float readers get its
  /// DequantizeLinear, and a tensor no INT8 layer produces keeps its
  /// QuantizeLinear -> DequantizeLinear), pass-through layers and Concats run
  /// in int8 only where the model's scales and zero points agree, and every
  /// quantizable layer left FP32 gets a reason.
  bool explicit_quantization = false;
};

/// Whether `node` has an INT8 form (Int8Conv / Int8Gemm / Int8ConvTranspose). When it does not
/// and `reason` is given, says why ("weights are not constant", ...). A fused
/// activation without an exact integer form (Sigmoid, Swish, ...) does not
/// prevent it: the INT8 layer then applies the activation in float32 in its
/// epilogue (MakeFloatEpilogueOutput, or MakeFloatOutput for float readers).
bool HasInt8Form(const ir::Node& node, std::string* reason = nullptr);

/// The activation tensors whose scales the rewrite needs: the data input,
/// the output and the residual input of every layer with an INT8 form, in
/// schedule order, without duplicates.
std::vector<std::string> Int8ScaleTensors(const ir::Graph& graph);

/// The INT8 form of one layer (HasInt8Form must hold).
struct Int8Layer {
  std::string type;  ///< "Int8Conv", "Int8Gemm" or "Int8ConvTranspose"
  Attributes attrs;
  /// int8: Conv's / ConvTranspose's W layout, or [N, K] for Int8Gemm
  std::shared_ptr<const Tensor> weights;
  std::shared_ptr<const Tensor> bias;     ///< int32 [M], or nullptr
  float input_scale = 0, output_scale = 0, residual_scale = 0;
  std::vector<double> weight_scales;  ///< per output channel
  float activation_min = 0, activation_max = 0;  ///< fused activation bounds (+-inf: none)
  /// A fused activation without an exact integer form ("activation",
  /// "activation_alpha", "activation_beta" of the float layer; empty
  /// otherwise): MakeFloatOutput puts it back for the float epilogue.
  Attributes float_activation;
};

/// Turns `layer` into its float-output form: the accumulators are dequantized
/// with x_scale * w_scale[c] ("output_scale") instead of requantized, the
/// residual with "residual_scale", and the activation clamps in float
/// ("output_min_float" / "output_max_float"), and a fused activation without
/// an exact integer form (Int8Layer::float_activation) is applied in float32.
/// For layers whose output only FP32 layers or engine outputs read, and for
/// every layer with such an activation.
void MakeFloatOutput(Int8Layer& layer);

/// Turns `layer`, whose fused activation has no exact integer form
/// (Int8Layer::float_activation), into its float-epilogue form with an int8
/// output: the accumulators are dequantized with x_scale * w_scale[c]
/// ("epilogue_scale"), the activation applied in float32 and the result
/// quantized to the output scale ("y_scale", round half to even as
/// QuantizeLinear), then clamped to [output_min, output_max].
void MakeFloatEpilogueOutput(Int8Layer& layer);

/// Quantizes the weights and bias of `node` and computes its requantization
/// attributes from the scales of its input, output (and residual) tensors.
/// Errors: NotFound naming a tensor without a scale; InvalidArgument for a
/// scale that is not finite and > 0.
/// With `options` (explicit quantization): the model's weight scales
/// (options->weight_scales; weights are round_half_even(w / s) clamped to
/// [-127, 127], the int8 values the model stored when w came from its
/// DequantizeLinear), the input zero point zx folded into the int32 bias
/// (B[c] -= zx * sum_k W[c, k]; Int8Conv's padding reads zx,
/// "x_zero_point"), and the output zero point as "y_zero_point" (clamp bounds
/// include it). Errors also: InvalidArgument for explicit weight scales whose
/// axis is not the output channel, or a residual with a zero point.
absl::StatusOr<Int8Layer> MakeInt8Layer(const ir::Node& node, const ScaleMap& scales,
                                        const QuantizeOptions* options = nullptr);

/// Rewrites `graph` as described in the file comment. Layers in `keep_fp32`
/// (by node, with the reason reported) stay FP32. With `int8_tensors`, fills
/// it with every float tensor of the graph that the engine holds in int8 and
/// its scale (the scales in effect: a pass-through output has its input's,
/// a Concat group its group's), for the QDQ export. Returns the precision of
/// every layer of the result, in schedule order. Errors: as MakeInt8Layer.
absl::StatusOr<std::vector<LayerPrecisionInfo>> QuantizeGraphInt8(
    ir::Graph& graph, const ScaleMap& scales,
    const std::map<const ir::Node*, std::string>& keep_fp32,
    const QuantizeOptions& options = {}, ScaleMap* int8_tensors = nullptr);

/// Whether `node` is an Attention layer (fuse-attention's) whose Q, K and V
/// (inputs 0-2) are float32 activations and whose optional mask (input 3)
/// is float32: the rewrite turns it into Int8Attention (implicit
/// quantization; under explicit quantization when the model gives Q, K, V
/// scales with zero point 0), and the accuracy guard checks it.
bool IsInt8AttentionCandidate(const ir::Node& node);

/// The attributes of the Int8Attention layer (kernels/attention.cc,
/// common/int8_softmax.h) that replaces Attention `node` with Q, K and V held
/// in int8 at the scales `sq`, `sk`, `sv` (float units per step): num_heads
/// and output_packed copied, score_scale = s_q s_k * the layer's scale
/// (1 / scale with scale_mode "div"; default 1 / sqrt(head size)), and
/// output_factor = s_v / (127 * y_scale) with int8_output = 1 when
/// `y_scale` > 0 (int8 Y at y_scale), or s_v / 127 (float Y) when it is 0.
/// Errors: InvalidArgument naming the layer when the score scale is not
/// finite and > 0.
absl::StatusOr<Attributes> Int8AttentionAttrs(const ir::Node& node, float sq, float sk, float sv,
                                              float y_scale);

/// Explicit quantization: why `node` (HasInt8Form) cannot be an INT8 layer
/// with the model's quantization, or "" when it can: its input must have a
/// scale, its weights an explicit scale per output channel or per tensor, a
/// residual no zero point.
std::string ExplicitInt8Blocker(const ir::Node& node, const ScaleMap& scales,
                                const QuantizeOptions& options);

}  // namespace engine::opt

#endif  // ENGINE_BUILDER_QUANTIZE_INT8_H_
