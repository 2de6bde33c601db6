// INT8 post-training calibration: the interface that feeds calibration
// batches to the builder (as TensorRT's IInt8Calibrator) and the choice of
// calibration algorithm.
//
// Quantization scheme (src/common/requant.h has the arithmetic): activations
// are int8, symmetric, one scale per tensor (scale = amax / 127, zero point
// 0); weights int8 symmetric per output channel (scale = max|w| / 127); biases
// int32 with scale x_scale * w_scale. The calibrator only decides each
// activation tensor's amax from the FP32 network's values on the batches.
#ifndef ENGINE_CALIBRATOR_H_
#define ENGINE_CALIBRATOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/export.h"
#include "engine/tensor.h"
#include "engine/types.h"

namespace engine {

/// How an activation tensor's dynamic range (amax) is chosen from its
/// values on the calibration batches.
enum class CalibrationAlgorithm : uint8_t {
  /// The threshold minimizing the KL divergence between the histogram of
  /// |x| and its 8-bit quantization (TensorRT's EntropyCalibration2; Migacz,
  /// "8-bit Inference with TensorRT", GTC 2017). The default.
  kEntropy = 0,
  /// The largest |x| seen (TensorRT's MinMaxCalibration).
  kMinMax = 1,
  /// The given percentile of |x| (NVIDIA pytorch-quantization's percentile
  /// calibrator), e.g. 99.99.
  kPercentile = 2,
};

/// "entropy", "minmax", "percentile".
ENGINE_API const char* CalibrationAlgorithmName(CalibrationAlgorithm algorithm);

/// Feeds calibration data to the builder, one batch at a time. Implement it
/// to calibrate with your own data loader; trtexec_like's `--calibData`
/// implements it over a directory of images or tensor files.
///
/// Thread-safety: the builder calls it from the building thread only.
class ENGINE_API Calibrator {
 public:
  virtual ~Calibrator() = default;

  /// Called once before the first NextBatch with the engine's inputs (name,
  /// dtype float32, static shape with the batch size N as dimension 0), so
  /// that an implementation can size and preprocess its batches. An error
  /// aborts the build with it.
  virtual absl::Status Begin(const std::vector<TensorDesc>& inputs) { return absl::OkStatus(); }

  /// Fills `inputs` with the next batch: one float32 tensor per engine input,
  /// by input name, each with exactly the engine input's shape (e.g.
  /// [N, 3, 224, 224], NCHW, preprocessed as at inference). Returns false
  /// when there are no more batches (then `inputs` is ignored). An error
  /// aborts the build with it.
  virtual absl::StatusOr<bool> NextBatch(std::map<std::string, Tensor>& inputs) = 0;

  /// Number of batches NextBatch will deliver, for progress reports; 0 when
  /// unknown.
  virtual int64_t BatchCount() const { return 0; }

  /// One line describing the calibration data, recorded in the plan
  /// (PlanInfo::calibration_data) and shown in reports, e.g. "1000 images
  /// from DIR (raw preprocessing)"; "" when there is nothing to say.
  virtual std::string Describe() const { return ""; }

  /// The input preprocessing the batches were prepared with, in a form the
  /// caller can parse back (trtexec_like gives the canonical `--preprocess`
  /// key=value list, e.g. "resize=0,crop,scale=1,mean=0:0:0,std=1:1:1,..."),
  /// or "" (unknown / not images). Recorded in the plan
  /// (PlanInfo::preprocess) so that evaluation prepares data the same way;
  /// the builder does not interpret it. Called after the last NextBatch.
  virtual std::string Preprocessing() const { return ""; }
};

}  // namespace engine

#endif  // ENGINE_CALIBRATOR_H_
