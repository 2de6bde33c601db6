// trtexec_like --compareInt8: the per-layer INT8-versus-FP32 comparison.
//
// Two errors per layer output, both against the FP32 engine's value of the
// tensor on the same samples:
//  - accumulated: the INT8 engine's value (the layer in INT8 on the INT8
//    engine's own, already perturbed, inputs);
//  - isolated: the layer run in INT8 on the FP32 reference inputs (as the
//    builder's accuracy guard measures it, but on the evaluation data): one
//    engine per group of layers in which no layer feeds another, with every
//    other layer pinned to FP32 (BuilderConfig::layer_precisions) and the
//    INT8 engine's scales (a calibration cache with the scales in effect).
//    Such a layer dequantizes in its epilogue (its readers are FP32), so its
//    float output is quantized here to the INT8 engine's output scale
//    (FakeQuantize) to include the output rounding and clipping.
// Plus, per tensor, its amax on the data, the calibrated dynamic range
// (127 x scale), the fraction of values the scale clips, and, for layers
// below kHintBelowDb in isolation, a calibrator hint.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_INT8_COMPARE_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_INT8_COMPARE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "trtexec_like/options.h"

namespace trtexec_like {

/// Running comparison of one float tensor with its reference, over samples.
/// SQNR = 10 log10(sum ref^2 / sum (ref - test)^2), dB.
struct TensorError {
  double dot = 0, ref2 = 0, test2 = 0, noise = 0, max_abs = 0;
  int64_t count = 0;  ///< elements compared
  /// Adds `n` elements of `ref` (reference) and `test`.
  void Add(const float* ref, const float* test, int64_t n);
  /// Cosine similarity; 1 when both are all zero, 0 when only one is.
  double Cosine() const;
  /// SQNR in dB: +inf when test == ref, -inf when the reference is all zero
  /// and the test is not.
  double SqnrDb() const;
};

/// Range statistics of one reference tensor against an int8 scale.
struct RangeStats {
  double amax = 0;        ///< max |x| over the samples
  int64_t clipped = 0;    ///< elements that round outside [-128, 127] at `scale`
  int64_t count = 0;      ///< elements seen
  /// Adds `n` elements; with `scale` > 0 counts those with x / scale >= 127.5
  /// or <= -128.5 (round half to even would take them to 128 / -129:
  /// saturated).
  void Add(const float* x, int64_t n, float scale);
  double ClippedFraction() const { return count > 0 ? static_cast<double>(clipped) / count : 0; }
};

/// `y` quantized to int8 at `scale` and back: clamp(round_half_even(y / scale),
/// -128, 127) * scale (the INT8 engine's output requantization, up to its
/// Q31 rounding of ties). `scale` <= 0 leaves `y` unchanged.
void FakeQuantize(float* y, int64_t n, float scale);

/// Below this isolated SQNR (dB) a layer gets a calibrator hint.
inline constexpr double kHintBelowDb = 30.0;
/// Clipped fraction from which the hint blames the calibrated range.
inline constexpr double kHintClipFraction = 0.005;
/// range / rms from which the hint blames the range, set by rare large values:
/// with step range / 127 and noise step^2 / 12 (the uniform quantization
/// noise model, Widrow & Kollar, "Quantization Noise", Cambridge University
/// Press 2008, ch. 4), rounding alone gives SQNR = 10 log10(12 x 127^2) -
/// 20 log10(range / rms) = 52.9 dB - 20 log10(range / rms), which is
/// kHintBelowDb (30 dB) at range / rms = 14.
inline constexpr double kHintOutlierRatio = 14.0;

/// One row of the comparison: one float tensor both engines produce.
struct Int8CompareRow {
  std::string tensor;     ///< tensor name
  std::string layer;      ///< FP32 engine layer producing it
  std::string fp32_type;  ///< that layer's type in the FP32 engine
  std::string int8_type;  ///< the producing layer's type in the INT8 engine ("" unknown)
  std::string precision;  ///< the producing layer's precision in the INT8 engine
  TensorError accumulated;               ///< INT8 engine vs FP32
  std::optional<TensorError> isolated;   ///< layer alone in INT8 on FP32 inputs vs FP32
  std::string isolated_note;  ///< why `isolated` is absent ("fp32 layer", "pass-through", ...)
  double input_sqnr_db = 0;   ///< min accumulated SQNR of the layer's inputs (+inf: exact)
  double drop_db = 0;         ///< input_sqnr_db - own accumulated SQNR (0 from exact inputs)
  RangeStats range;           ///< of the FP32 reference values
  std::optional<float> scale; ///< the INT8 engine's scale of the tensor (absent: float)
  double rms = 0;             ///< sqrt(ref2 / count) of the reference
  /// The layer's input (a row's tensor with a scale) whose scale clips the
  /// largest fraction of its values, and that fraction ("" / 0: none). A
  /// layer alone quantizes its inputs at the engine's scales, so a clipping
  /// input lowers its isolated SQNR too.
  std::string clipped_input;
  double clipped_input_fraction = 0;
  std::string hint;           ///< calibrator hint ("" none)
};

/// The whole comparison (what the text table, the JSON and the report show).
struct Int8Comparison {
  std::string dataset;    ///< Dataset::Describe()
  int64_t images = 0;     ///< samples compared
  const char* noun = "images";  ///< InputData::SampleNoun()
  std::string calibrator; ///< BuildResult::calibration.algorithm, or "explicit" for QDQ
  std::vector<Int8CompareRow> rows;  ///< in the FP32 engine's execution order
  std::string model_output;          ///< ClassScoresOutput of the engine (top-1 agreement)
  int64_t agree = 0;                 ///< samples whose top-1 classes agree
  bool has_labels = false;
  int64_t fp32_correct = 0, int8_correct = 0;
  int isolated_builds = 0;           ///< engines built for the isolated errors
  double isolated_ms = 0;            ///< host time of those builds and runs
  std::string isolated_error;        ///< why isolated errors are missing ("" measured)
};

/// The calibrator hint of a row with an isolated error below kHintBelowDb
/// ("" otherwise; see the thresholds above): clipping at or above
/// kHintClipFraction -> try a calibrator with a wider range (minmax, a
/// higher percentile; with minmax: calibration data unlike these samples);
/// otherwise an input clipping that much -> that input's range is to blame;
/// otherwise a range far above the rms (kHintOutlierRatio) -> try
/// percentile/entropy (minmax) or keep in FP16/FP32; otherwise keep the
/// layer in FP16/FP32 (the error is not the range's). `calibrator` is the
/// algorithm that set the scales ("entropy", "minmax", "percentile", ...).
std::string CalibratorHint(const Int8CompareRow& row, const std::string& calibrator);

/// Groups of `candidates` (indices into `layers`, execution order) in which
/// no layer reads, directly or through other layers, another's output: each
/// group can be measured in one engine with every other layer in FP32.
/// Greedy first fit in execution order. A chain needs one group per layer.
std::vector<std::vector<size_t>> IsolationGroups(const std::vector<engine::LayerInfo>& layers,
                                                 const std::vector<size_t>& candidates);

/// The text of a calibration cache (TensorRT format: a header line, then
/// `name: <8 hex digits of the float32 scale>`) with the scales of `scales`
/// put in for the tensors it names (the others kept). Lines that do not parse
/// are kept as they are.
std::string OverrideCacheScales(const std::string& cache_text,
                                const std::map<std::string, float>& scales);

/// Builds the FP32 and the INT8 engine of --onnx with every layer output
/// marked, runs both on --evalData (or --calibData), then measures the
/// isolated errors (IsolationGroups, one engine each); fills every field of
/// Int8Comparison. When the isolated engines cannot be built (e.g. a pin the
/// builder refuses), `isolated_error` says why and the rest is still filled.
/// `int8_out`, when non-null, receives the INT8 engine (for the report).
/// Errors: those of the two builds, the dataset and execution.
absl::StatusOr<Int8Comparison> CompareInt8(const Options& opt, const ValidatedOptions& v,
                                           const engine::BuilderConfig& int8_config,
                                           std::shared_ptr<const engine::Engine>* int8_out);

/// Prints the comparison: the rows in execution order (at most `top`, 0:
/// all), the largest drops, the worst layers in isolation with their hints,
/// the model output, top-1 agreement and accuracies.
void PrintInt8Comparison(const Int8Comparison& c, int top);

/// The comparison as the "int8Comparison" object of a run report
/// (docs/report_schema.md); non-finite dB values are null.
nlohmann::json Int8ComparisonJson(const Int8Comparison& c);

/// Writes the --exportReport run report of the INT8 engine `q` (built by
/// CompareInt8) with "int8Comparison" and "evaluation" (the INT8 engine's
/// top-1 on the compared samples). Errors: those of WriteRunReport.
absl::Status WriteCompareReport(const Options& opt, const std::string& command,
                                const engine::Engine& q, const Int8Comparison& c);

/// --compareInt8: CompareInt8, PrintInt8Comparison, and with --exportReport
/// the run report of the INT8 engine (every layer output marked, so
/// io.outputs lists them) with "int8Comparison" and, with labels, the INT8
/// engine's accuracy as "evaluation". `command` is the command line for the
/// report. Errors: those of CompareInt8 and of the report writer.
absl::Status RunCompareInt8(const Options& opt, const ValidatedOptions& v,
                            const engine::BuilderConfig& int8_config, const std::string& command);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_INT8_COMPARE_H_
