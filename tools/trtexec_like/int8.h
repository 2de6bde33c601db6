// trtexec_like's INT8 workflow: calibration from a dataset (--calibData),
// evaluation over a dataset (--evalData, top-1 accuracy), and the dataset and
// top-1 helpers the per-layer INT8-versus-FP32 comparison (--compareInt8,
// int8_compare.h) shares.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_INT8_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_INT8_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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
  const char* noun = "images";  ///< InputData::SampleNoun()
  int64_t images = 0;    ///< samples run
  bool has_labels = false;
  int64_t correct = 0;   ///< samples whose top-1 class is the label
  double Top1Percent() const { return images > 0 ? 100.0 * correct / images : 0.0; }
};

/// --evalData: runs `engine` over the dataset and prints
/// `top-1 accuracy: X% (N images)` ("samples" for tensor data) when it has labels; returns what it
/// counted. Errors: those of the dataset (prefixed with --evalData) and of
/// execution.
absl::StatusOr<EvalResult> RunEvaluation(const Options& opt, const ValidatedOptions& v,
                                         const engine::Engine& engine);

/// The engine output whose top-1 class --evalData and --compareInt8 count:
/// the first output of class-score shape ([N, classes], or [N, classes, 1,
/// 1]), e.g. BERT's `logits` after its `last_hidden_state`; the first output
/// when none has that shape. `outputs` must not be empty.
const engine::TensorDesc& ClassScoresOutput(const std::vector<engine::TensorDesc>& outputs);

/// Top-1 class of each of the first `count` rows of output `t` ([N, classes]
/// or [N, classes, 1, 1]; float32, or float16 widened).
std::vector<int64_t> Top1Classes(const engine::Tensor& t, int64_t count);

/// The datasets of --calibData or --evalData, one per engine input, their
/// samples paired by position (sample k of every input is one network
/// sample). Built by OpenInputData.
class InputData {
 public:
  /// (input name, dataset) in engine input order.
  std::vector<std::pair<std::string, std::unique_ptr<engine::data::Dataset>>> sets;

  /// The first input's dataset (its labels and sample names are the batch's).
  const engine::data::Dataset& first() const { return *sets.front().second; }
  int64_t size() const { return first().size(); }
  int64_t num_batches() const { return first().num_batches(); }
  /// What one sample is called in reports: "images" when the first input's
  /// dataset holds images (a directory of pictures, MNIST IDX), "samples"
  /// for tensor files (token sequences, feature vectors).
  const char* SampleNoun() const {
    return first().kind() == engine::data::DatasetKind::kTensors ? "samples" : "images";
  }
  /// Engine batch `b` of every input into `inputs` (by input name); returns
  /// the first input's batch with its `input` tensor moved out (count,
  /// labels, names). Errors: Dataset::GetBatch's.
  absl::StatusOr<engine::data::SampleBatch> GetBatch(
      int64_t b, std::map<std::string, engine::Tensor>* inputs) const;
  /// Dataset::Describe() of the one dataset; "N samples of a, b (one tensor
  /// file per input per sample) from DIR" for a multi-input directory;
  /// otherwise "name: description; ..." for each input.
  std::string Describe() const;
  /// The first input's image preprocessing (what a plan records).
  engine::data::ImagePreprocess preprocess;
  /// The directory of a one-directory multi-input dataset, else "".
  std::string directory;
};

/// Opens `spec` (--calibData or --evalData, named `flag` in errors and
/// messages) for the engine inputs `inputs`. `spec` is one of:
///  - one path (a single-input network): a dataset as Dataset::Open reads;
///  - comma-separated `name:path` items, one per engine input (trtexec's
///    --loadInputs syntax), e.g. "input_ids:ids_dir,attention_mask:mask_dir";
///  - one directory for a network with several inputs, holding one tensor
///    file per input per sample (`<sample>_<input>.pb|.npy`, or .pb files
///    whose TensorProto name is the input; see GroupTensorFilesByInput).
/// Rank-4 inputs (every input when --preprocess is given) use
/// ResolvePreprocess(--preprocess, input, `plan_preprocess`); other inputs
/// (token ids, masks: tensor files) are read as they are.
/// `limit` caps the samples (<= 0: all); `labels` (--evalLabels) applies to
/// the first input's dataset. Prints the files skipped. Errors:
/// InvalidArgument prefixed with `flag` (unknown or missing input, inputs
/// with different sample counts, a multi-input directory whose sample lacks
/// an input -- naming the directory, sample and input), and Dataset::Open's.
absl::StatusOr<InputData> OpenInputData(const std::string& spec, const char* flag,
                                        const std::vector<engine::TensorDesc>& inputs,
                                        const Options& opt, const ValidatedOptions& v,
                                        int64_t limit, const std::string& labels,
                                        const std::string& plan_preprocess);

/// OpenInputData for --evalData (or, without it, --calibData) with
/// --evalImages and --evalLabels. Errors: InvalidArgument without a dataset,
/// OpenInputData's.
absl::StatusOr<InputData> OpenEvalInputs(const Options& opt, const ValidatedOptions& v,
                                         const std::vector<engine::TensorDesc>& inputs,
                                         const std::string& plan_preprocess);


}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_INT8_H_
