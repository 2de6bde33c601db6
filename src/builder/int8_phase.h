// The INT8 phase of a build: calibration (or a calibration cache), the
// accuracy guard and the quantize-int8 rewrite of the optimized graph.
#ifndef ENGINE_BUILDER_INT8_PHASE_H_
#define ENGINE_BUILDER_INT8_PHASE_H_

#include <map>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "builder/float16_guard.h"
#include "builder/quantize_int8.h"
#include "engine/builder.h"
#include "ir/graph.h"

namespace engine::builder {

/// The INT8 decisions shared by every build of one dynamic-shape plan
/// (BuilderConfig::profiles): the host graph built for the profiles' largest
/// shape and the graph of each shape bucket quantize with the same tensor
/// scales, so that one calibration (or one calibration cache) is valid for the
/// whole plan and an INT8 layer computes the same integers at every shape.
/// Filled by the first QuantizeForInt8 given it (the calibration build, at the
/// calibration profile's opt shape), read by the later ones.
struct SharedInt8 {
  bool calibrated = false;            ///< `scales` and `summary` are filled
  opt::ScaleMap scales;               ///< per-tensor scales (float units per step)
  std::set<std::string> guard_fp32;   ///< layers the accuracy guard kept FP32, by name
  std::map<std::string, std::string> guard_reasons;  ///< the guard's reason, by layer
  std::map<std::string, double> sqnr_db;  ///< isolated SQNR (dB) by layer, when guarded
  /// --best's float16 guard: isolated fp16 / bf16 SQNR (dB) by layer.
  Float16SqnrMap float16_sqnr_db;
  CalibrationSummary summary;         ///< what the calibration build did
};

/// Quantizes `graph` (optimized, FP32) for config.precision == kInt8:
///  1. scales from config.calibration_cache when that file exists and
///     matches the network (a tensor it lacks may take the scale of a tensor
///     a chain of pass-through layers connects it to: a cache written for
///     another hardware preset, whose accepted fusions differ; otherwise, with
///     config.calibrator, a warning, calibration as below and the cache
///     rewritten, CalibrationSummary::cache_mismatch), else from
///     running the FP32 graph over config.calibrator's batches on the host
///     kernels (GraphRunner: no plan, same values as the engine; histograms of
///     every tensor an INT8 layer reads or writes, then the configured
///     algorithm), writing the cache when a path is given;
///  2. layers pinned by config.layer_precisions and, with
///     config.accuracy_guard_db > 0, layers whose isolated INT8 SQNR is below
///     it stay FP32: every layer with an INT8 form (Int8Conv, Int8Gemm,
///     Int8ConvTranspose: its FP32 input quantized, the layer run alone, its
///     int8 output dequantized) and every Int8Attention candidate (its FP32
///     Q, K, V quantized at their scales, Int8Attention run alone with the
///     captured float mask, its int8 output at Y's scale dequantized),
///     compared with the FP32 output over the first
///     config.accuracy_guard_samples calibration samples; the reason names
///     the SQNR and the threshold, and an "int8-accuracy-guard" entry of
///     result.passes counts "checked", "checked.<type>", "accepted.<type>"
///     and "rejected.<type>.sqnr-below-threshold" per INT8 layer type;
///  3. opt::QuantizeGraphInt8.
/// `known_tensors` are the tensor names of the network before optimization
/// (a cache may name tensors that fusion removed). Fills
/// result.layer_precisions and result.calibration.
/// Errors: FailedPrecondition (no calibrator and no cache), InvalidArgument (a
/// cache that does not match the network and no calibrator, an unknown pinned layer, a
/// calibration batch of the wrong shape), Unimplemented (a pinned precision
/// other than fp32/int8), and errors of the calibrator or of I/O.
/// With `shared` (a dynamic-shape plan): when shared->calibrated, its scales
/// and guard decisions are used and neither the cache nor the calibrator is
/// read (InvalidArgument naming the tensors when the graph needs a scale the
/// calibration build did not compute); otherwise the scales computed here are
/// stored into it.
/// With config.best and the accuracy guard on, the layers the INT8 rewrite
/// leaves in float (not pinned) are also run alone in fp16 and in bf16 (those
/// the hardware supports) on the same samples (float16_guard.h), and their
/// isolated SQNR is stored into `float16_sqnr` (when given) for
/// ApplyFloatPrecisions (a layer whose kernel cannot run alone is logged as a
/// warning and left unmeasured); a later build of a dynamic-shape plan gets
/// the calibration build's.
absl::Status QuantizeForInt8(ir::Graph& graph, const BuilderConfig& config,
                             const std::set<std::string>& known_tensors, Logger* logger,
                             BuildResult& result, SharedInt8* shared = nullptr,
                             Float16SqnrMap* float16_sqnr = nullptr);

/// The layers of `graph` that config.layer_precisions pins to a float
/// precision (fp32, fp16 or bf16; an int8 pin asks for nothing), each with
/// its reason ("pinned to fp32 by layer precisions ('NAME')"); a pin names a
/// layer or one of the ONNX nodes fused into it (Node::onnx_nodes). Used by
/// implicit (calibrated) and explicit (QDQ) quantization alike; the fp16
/// phase applies fp16/bf16 pins afterwards. Errors: InvalidArgument listing
/// the pins that name no layer of the engine.
absl::StatusOr<std::map<const ir::Node*, std::string>> FloatPinnedLayers(
    const ir::Graph& graph, const BuilderConfig& config);

/// Appends every non-constant float32 tensor that a layer produces to the
/// graph's outputs (BuilderConfig::mark_all_outputs), in schedule order.
void MarkAllOutputs(ir::Graph& graph);

}  // namespace engine::builder

#endif  // ENGINE_BUILDER_INT8_PHASE_H_
