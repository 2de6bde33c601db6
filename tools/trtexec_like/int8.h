// trtexec_like's INT8 workflow: calibration from a dataset (--calibData),
// evaluation over a dataset (--evalData, top-1 accuracy), and the dataset and
// top-1 helpers the per-layer INT8-versus-FP32 comparison (--compareInt8,
// int8_compare.h) shares.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_INT8_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_INT8_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/dataset.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "trtexec_like/options.h"

namespace trtexec_like {

/// Owns what an INT8 BuilderConfig points to (the calibrator).
struct Int8Setup {
  std::unique_ptr<engine::Calibrator> calibrator;
};

/// Fills the INT8 fields of `config` from --int8 (or --compareInt8),
/// --calibData, --calibImages, --calibBatches, --calibrator,
/// --calibPercentile, --calib, --preprocess, --skipUnreadable,
/// --layerPrecisions and --accuracyGuard, as ValidateOptions accepted them
/// (`v`), and the float precision fields from --fp16, --bf16 and --best
/// (without --int8: precision kFp16 / kBf16 for one of --fp16 / --bf16; with
/// both, or with --best and no calibration data, the cheaper is chosen by
/// the builder; --best with --calibData or --calib is an INT8 build).
/// INT8 fields stay untouched without --int8, --compareInt8 or --best with
/// calibration data. `setup` owns the
/// calibrator `config` then points to.
void ConfigureInt8(const Options& opt, const ValidatedOptions& v, engine::BuilderConfig& config,
                   Int8Setup& setup);

/// The preprocessing of an image dataset for engine input `input` (NCHW or
/// NHWC): `given` (--preprocess) when set; else `plan_preprocess` (what the
/// plan recorded of its calibration data, PlanInfo::preprocess) when not
/// empty; else "raw" for a 1-channel input and "imagenet" otherwise. Prints
/// an [I] line naming `flag` when it chooses. Errors: DataLoss when the
/// plan's record does not parse.
absl::StatusOr<engine::data::ImagePreprocess> ResolvePreprocess(
    const std::optional<engine::data::ImagePreprocess>& given, const engine::TensorDesc& input,
    const std::string& plan_preprocess, const char* flag);

/// Layers of an INT8 build by precision; QuantizeLinear / DequantizeLinear
/// layers counted apart as boundaries.
struct PrecisionCounts {
  int int8 = 0, fp32 = 0, boundary = 0;
  int fp16 = 0, bf16 = 0;  ///< layers in fp16 / bf16 (issue 20)
};

/// Counts BuildResult::layer_precisions (all zero for an FP32 build).
PrecisionCounts CountPrecisions(const engine::BuildResult& built);

/// Prints what the INT8 build did: calibration source, layers per precision,
/// the layers kept in FP32 and why.
void PrintInt8Summary(const engine::BuildResult& built);

/// Top-1 accuracy of one evaluation (--evalData), for the run report.
struct EvalResult {
  std::string dataset;   ///< Dataset::Describe()
  int64_t images = 0;    ///< samples run
  bool has_labels = false;
  int64_t correct = 0;   ///< samples whose top-1 class is the label
  double Top1Percent() const { return images > 0 ? 100.0 * correct / images : 0.0; }
};

/// --evalData: runs `engine` over the dataset and prints
/// `top-1 accuracy: X% (N images)` when it has labels; returns what it
/// counted. Errors: those of the dataset (prefixed with --evalData) and of
/// execution.
absl::StatusOr<EvalResult> RunEvaluation(const Options& opt, const ValidatedOptions& v,
                                         const engine::Engine& engine);

/// Top-1 class of each of the first `count` rows of output `t` ([N, classes]
/// or [N, classes, 1, 1]; float32, or float16 widened).
std::vector<int64_t> Top1Classes(const engine::Tensor& t, int64_t count);

/// Opens --evalData (or, without it, --calibData) for engine input `input`
/// with --evalImages, --evalLabels and the preprocessing of
/// ResolvePreprocess(--preprocess, input, `plan_preprocess`); prints the
/// files it skipped. Errors: InvalidArgument without a dataset, those of
/// the dataset (prefixed with --evalData).
absl::StatusOr<std::unique_ptr<engine::data::Dataset>> OpenEvalData(
    const Options& opt, const ValidatedOptions& v, const engine::TensorDesc& input,
    const std::string& plan_preprocess);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_INT8_H_
