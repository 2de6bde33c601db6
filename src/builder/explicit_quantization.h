// Explicit quantization (the builder step "explicit-quantization"): a QDQ
// model (QuantizeLinear / DequantizeLinear nodes written by ONNX Runtime's
// quantizer, PyTorch or TensorRT Model Optimizer) becomes an INT8 engine that
// uses the model's own scales and zero points, with no calibrator, as in
// TensorRT ("Explicit Quantization", TensorRT Developer Guide, "Working with
// Quantized Types": Q/DQ propagation and fusion).
//
// This step reads the quantization out of the graph before the optimizer
// runs, leaving a float32 graph and the quantization as data:
//  - DequantizeLinear of a constant int8 tensor (weights) becomes the float32
//    constant scale * q, and the scale (per tensor, or per index of `axis`)
//    is recorded under the constant's name (QuantizeOptions::weight_scales):
//    the INT8 rewrite quantizes it back to exactly q (|q| <= 127 is recovered
//    exactly: round_half_even(fl(s * q) / s) == q). A weight zero point must be
//    0 (TensorRT's rule).
//  - DequantizeLinear of a constant int32 tensor (bias) becomes the float32
//    constant scale * q (the INT8 rewrite re-derives the int32 bias).
//  - QuantizeLinear(x, s, z) whose every reader is DequantizeLinear with the
//    same s and z (an activation Q/DQ pair) is removed; x gets scale s and
//    zero point z (int8), or z - 128 (uint8, stored as int8 q - 128: exact).
//  - The operands of a MatMul of two activations that both have a scale
//    (attention's Q.K^T and P.V): each scale and zero point also goes back
//    through the chain of single-reader layout layers (Reshape, Transpose,
//    Squeeze, Unsqueeze, Flatten, Identity) that produces the operand, to
//    tensors without a scale of their own (counter
//    "activation-scales-moved-back"), so that the fused Attention layer,
//    which reads the projections' outputs, finds the model's Q, K, V scales.
// opt::QuantizeGraphInt8 (QuantizeOptions::explicit_quantization) then makes
// Conv, Gemm and MatMul INT8 layers where the model quantizes their inputs
// and weights, and materializes every recorded tensor in int8 at its scale
// (see quantize_int8.h). Q/DQ nodes this step cannot fold stay in the graph
// and run as float arithmetic; each is listed with the reason.
#ifndef ENGINE_BUILDER_EXPLICIT_QUANTIZATION_H_
#define ENGINE_BUILDER_EXPLICIT_QUANTIZATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "builder/quantize_int8.h"
#include "ir/graph.h"

namespace engine::builder {

/// The quantization a QDQ model gives its tensors.
struct ExplicitQuantization {
  /// Activation scales by tensor name (real = scale * (q - zero_point)).
  opt::ScaleMap scales;
  /// Zero points and weight scales; explicit_quantization is true.
  opt::QuantizeOptions options;
  /// QuantizeLinear / DequantizeLinear nodes left in the graph (they run as
  /// float arithmetic), as (node name, reason).
  std::vector<std::pair<std::string, std::string>> not_folded;
};

/// Whether `graph` holds a QuantizeLinear or DequantizeLinear node (a QDQ
/// model: the builder then quantizes explicitly).
bool HasQdqNodes(const ir::Graph& graph);

/// The step described in the file comment, on `graph` in place. Counters
/// (named as a pass's, added to `counters`): "weights-folded", "bias-folded", "constants-folded",
/// "activation-pairs-folded", "activation-scales-moved-back" and "skipped.<reason>" per node left. A
/// scale that is not a constant, finite float32 > 0 leaves its node in the
/// graph (listed in not_folded; it runs with ONNX's semantics). Never fails
/// today; the Status is for the graph checks a future rule may need.
absl::StatusOr<ExplicitQuantization> ExtractExplicitQuantization(
    ir::Graph& graph, std::map<std::string, int64_t>& counters);

}  // namespace engine::builder

#endif  // ENGINE_BUILDER_EXPLICIT_QUANTIZATION_H_
