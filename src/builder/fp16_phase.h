// The fp16 / bf16 phase of a build: which layers run in a 2-byte float
// storage precision (common/reduced_float.h), and their weights converted to
// it.
#ifndef ENGINE_BUILDER_FP16_PHASE_H_
#define ENGINE_BUILDER_FP16_PHASE_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "builder/float16_guard.h"
#include "engine/builder.h"
#include "ir/graph.h"

namespace engine::builder {

/// Whether `node` computes float values (a layer the fp16 phase may run in
/// fp16 / bf16): at least one float32 output, no output of another dtype, and
/// no non-constant fp16 / bf16 input (the Cast that widens a float16 model's
/// input stays an exact FP32 conversion).
bool IsFloatLayer(const ir::Node& node);

/// The float precision that layers without an INT8 form (or all float layers
/// of an fp16/bf16 engine) run in, from config.precision, config.allow_fp16,
/// config.allow_bf16 and config.best:
///  - precision kFp16 / kBf16: that precision;
///  - precision kInt8 with allow_fp16 and/or allow_bf16: the one allowed; with
///    both (or with `best`, which allows both), the one of smaller modeled
///    cost among those the hardware supports: both move 2 bytes per operand
///    and run at the same array speed, so the cost model separates them by
///    their MAC energy (EnergyTable::MacPj; fp16 on a tie, for its 3 extra
///    significand bits);
///  - otherwise nullopt (FP32).
/// Errors: InvalidArgument naming the hardware and the precision when an
/// explicitly requested precision (precision, allow_fp16, allow_bf16 without
/// best) is not in config.hardware.precisions.
absl::StatusOr<std::optional<Precision>> FloatFallbackPrecision(const BuilderConfig& config);

/// Marks the float layers of `graph` (after optimization and, for INT8
/// builds, after quantization) with the "precision" attribute: every layer
/// that has a float32 output and whose outputs are all float, except layers
/// pinned to fp32 by config.layer_precisions; layers pinned to fp16 / bf16 by
/// config.layer_precisions get that precision (also in an FP32 or INT8 build
/// without allow flags). `fallback` is FloatFallbackPrecision's result. The
/// constant float32 inputs of array layers (weights, biases) become
/// fp16 / bf16 constants (RNE; a constant shared with a layer of another
/// precision is copied). Updates result.layer_precisions (appending entries
/// for FP32/fp16 builds, rewriting the FP32 entries of an INT8 build) with
/// the precision and the reason.
/// With `guard_sqnr` (--best with the accuracy guard: config.best and
/// config.accuracy_guard_db > 0, measured by the INT8 phase on the
/// calibration samples, float16_guard.h), a layer that would run in the
/// cheaper 16-bit float is checked: that precision, then the other one the
/// hardware supports, then FP32, the first whose isolated SQNR is at least
/// config.accuracy_guard_db; the reason states the rejected precisions and
/// their SQNR, and a "float16-accuracy-guard" entry with counters
/// (checked, accepted.<p>, rejected.<p>.sqnr-below-threshold,
/// fp32.every-16-bit-float-rejected) is appended to result.passes.
/// Errors: InvalidArgument for a pinned layer name that matches no layer (in
/// non-INT8 builds; the INT8 phase checks them otherwise) or a pinned
/// precision the hardware does not support.
absl::Status ApplyFloatPrecisions(ir::Graph& graph, const BuilderConfig& config,
                                  std::optional<Precision> fallback, BuildResult& result,
                                  const Float16SqnrMap* guard_sqnr = nullptr);

}  // namespace engine::builder

#endif  // ENGINE_BUILDER_FP16_PHASE_H_
