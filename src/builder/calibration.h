// INT8 post-training quantization: activation statistics.
//
// This file is the statistics half of calibration. The builder runs the float
// network over the calibration batches, feeds every tensor it wants to
// quantize into a TensorHistogram, turns each histogram into a clipping
// threshold `amax` with one of three calibrators (entropy, min-max,
// percentile), and turns `amax` into a symmetric int8 scale (amax / 127). The
// scales are stored in a calibration cache in TensorRT's text format so that
// a later build can skip calibration, and so that caches can be exchanged
// with TensorRT (and ONNX Runtime's TensorRT provider, which reads the same
// format).
//
// All values are in the tensor's own (float) units; every histogram is over
// absolute values |x|, because the int8 grid is symmetric (zero point 0).
#ifndef ENGINE_BUILDER_CALIBRATION_H_
#define ENGINE_BUILDER_CALIBRATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace engine::opt {

/// The rule that turns a tensor's histogram into a clipping threshold.
enum class CalibrationAlgorithm {
  /// Minimize the KL divergence between the float and the int8 distribution
  /// (TensorRT's IInt8EntropyCalibrator2). See EntropyAmax.
  kEntropy,
  /// The largest |x| seen: nothing is clipped. See MinMaxAmax.
  kMinMax,
  /// Clip the top (100 - percentile)% of |x|. See PercentileAmax.
  kPercentile,
};

/// Command-line name of `algorithm`: "entropy", "minmax" or "percentile"
/// ("unknown" for a value outside the enum).
const char* CalibrationAlgorithmName(CalibrationAlgorithm algorithm);

/// Inverse of CalibrationAlgorithmName (exact, lower-case match). An unknown
/// name gives InvalidArgument listing the valid names.
absl::StatusOr<CalibrationAlgorithm> ParseCalibrationAlgorithm(const std::string& name);

/// Default number of histogram bins (TensorRT's and pytorch-quantization's).
inline constexpr int kDefaultHistogramBins = 2048;
/// Default number of quantized levels of the entropy search: 128, the
/// magnitudes 0..127 of a symmetric int8 grid, the sign being separate
/// (pytorch-quantization: `1 << (num_bits - 1 + unsigned)`).
inline constexpr int kDefaultQuantizedBins = 128;
/// Default percentile of the percentile calibrator (pytorch-quantization's).
inline constexpr double kDefaultPercentile = 99.99;

/// Histogram of the absolute values of one float tensor, accumulated over any
/// number of batches in a single pass over the calibration data.
///
/// Layout: `num_bins()` bins of equal width `bin_width()` covering
/// [0, num_bins() * bin_width()]; bin b counts the |x| in
/// [b * bin_width, (b + 1) * bin_width), the last bin also its upper edge.
/// The number of bins never changes.
///
/// Range: zeros always land in bin 0, whatever the width, so all-zero batches
/// are counted before the range is known (bin_width() is 0 until then). The
/// first batch with a non-zero element sets bin_width = amax(batch) /
/// num_bins. A later batch whose amax exceeds the current range R grows the
/// histogram by the smallest integer factor k = ceil(amax / R): each new bin
/// is the sum of k consecutive old bins, so every old bin lies entirely inside
/// one new bin and the re-binning moves no count across an edge (it is exact,
/// only coarser). Each Add() scans its batch twice in memory (amax first, then
/// binning), but no batch is ever needed again, so calibration is one pass.
///
/// How this differs from the references (and why results still depend on how
/// the data is batched):
///  - TensorRT (Developer Guide, "INT8 Calibration"): also a fixed bin count,
///    but the range grows by a power of two, so a late growth can leave up to
///    half the bins empty. Its EntropyCalibrator results depend on the batch
///    size and batch order (NVIDIA/TensorRT#1411, #774). Ours still do: the
///    final bin width depends on the amax of the first non-zero batch and on
///    the sequence of growth factors, and growth coarsens earlier data. Growth
///    by the smallest integer factor instead of a power of two wastes fewer
///    bins: after growing by k the unused top part is below 1/k of the new
///    range (k >= 2), instead of up to 1/2 of it.
///  - pytorch-quantization (HistogramCalibrator.collect): the first batch sets
///    num_bins bins over [0, max]; a later larger max keeps the bin width and
///    appends bins, so the histogram (and the entropy search, which runs over
///    every bin) grows without bound and keeps the first batch's resolution.
///    Its torch.histc path also clips counts (NVIDIA/TensorRT#2757). Ours keeps
///    a fixed size and the cost of EntropyAmax bounded.
///
/// Non-finite values: NaN and +-Inf are ignored (not binned, not in count(),
/// not in amax()) and counted in nonfinite_count(), so the caller can report
/// them. Counting +-Inf would make amax infinite and the int8 scale useless.
///
/// Not thread-safe; use one histogram per thread and Merge() them.
class TensorHistogram {
 public:
  /// An empty histogram of `num_bins` bins (values < 1 are treated as 1).
  explicit TensorHistogram(int num_bins = kDefaultHistogramBins);

  /// A histogram with the given bin counts, bin width and amax, e.g. to test
  /// the calibrators on a known histogram or to restore a saved one.
  /// InvalidArgument unless: bins is non-empty, every count >= 0, bin_width
  /// and amax are finite and >= 0, amax lies in the last non-empty bin
  /// (between its lower and upper edge, up to rounding; amax <= bin_width if
  /// only bin 0 is non-empty), and bin_width is 0 only if amax is 0 and no
  /// count is beyond bin 0.
  static absl::StatusOr<TensorHistogram> FromBins(std::vector<int64_t> bins, double bin_width,
                                                  double amax);

  /// Adds the |x| of the `n` floats at `data` (n <= 0 adds nothing). May grow
  /// the range (see the class comment). NaN and +-Inf are skipped and counted
  /// in nonfinite_count().
  void Add(const float* data, int64_t n);

  /// Adds `other`'s counts to this histogram (e.g. per-thread histograms of
  /// the same tensor). count(), nonfinite_count() and amax() become exactly
  /// those of the union. This histogram first coarsens by an integer factor
  /// until its bin width is >= other's and its range covers other.amax(); then
  /// each of other's bins goes whole to the bin containing its centre. When
  /// other's bin width divides ours (e.g. both histograms started from the
  /// same first batch, or one holds only zeros) each of its bins lies inside
  /// one of ours and the placement is exact; otherwise a count may land one
  /// bin off.
  void Merge(const TensorHistogram& other);

  /// Largest finite |x| seen (0 when nothing non-zero was added).
  double amax() const { return amax_; }
  /// Number of finite elements added (zeros included).
  int64_t count() const { return count_; }
  /// Number of NaN and +-Inf elements skipped by Add().
  int64_t nonfinite_count() const { return nonfinite_count_; }
  /// The bin counts; size() == num_bins(); they sum to count().
  const std::vector<int64_t>& bins() const { return bins_; }
  /// Number of bins (fixed at construction).
  int num_bins() const { return static_cast<int>(bins_.size()); }
  /// Width of one bin in the tensor's units; 0 until a non-zero value is added.
  double bin_width() const { return bin_width_; }
  /// Upper edge of the last bin: num_bins() * bin_width() (>= amax()).
  double range() const { return bin_width_ * static_cast<double>(bins_.size()); }

 private:
  /// Multiplies the bin width by the integer `factor` (>= 2, may be huge),
  /// summing each `factor` consecutive bins into one.
  void Coarsen(double factor);
  /// Coarsens by the smallest integer factor whose range covers `new_amax`.
  void GrowToCover(double new_amax);

  std::vector<int64_t> bins_;
  double bin_width_ = 0.0;
  double amax_ = 0.0;
  int64_t count_ = 0;
  int64_t nonfinite_count_ = 0;
};

/// KL(P||Q) of every candidate threshold of the entropy search, for
/// i = num_quantized_bins .. h.num_bins() (element i - num_quantized_bins).
/// See EntropyAmax for the algorithm; +infinity marks a candidate whose Q is
/// zero where P is not, or (a deviation, see EntropyAmax) whose first i bins
/// are all empty. Empty when h.num_bins() < num_quantized_bins,
/// num_quantized_bins < 1, or h has no non-zero value.
std::vector<double> EntropyDivergences(const TensorHistogram& h,
                                       int num_quantized_bins = kDefaultQuantizedBins);

/// Entropy calibration: the threshold that minimizes the information lost by
/// quantizing, in the tensor's units.
///
/// Algorithm: Migacz, "8-bit Inference with TensorRT", GTC 2017 (TensorRT's
/// EntropyCalibration2), implemented exactly as NVIDIA's open-source
/// pytorch-quantization `_compute_amax_entropy` (TensorRT repository,
/// tools/pytorch-quantization/pytorch_quantization/calib/histogram.py, with
/// stride 1 and start_bin = num_quantized_bins); MXNet's
/// `_get_optimal_threshold` is the same idea with a symmetric histogram and
/// epsilon smoothing. With b = h.bins():
///  1. b[0] := b[1] (the reference does this so that the spike of exact zeros
///     after a ReLU does not dominate the distribution).
///  2. For each i in [num_quantized_bins, num_bins]:
///     P = b[0:i] with the outliers sum(b[i:]) added to P[i-1];
///     Q: bin j < i belongs to level floor(j * num_quantized_bins / i) (the
///     reference's np.digitize over np.linspace(0, i, nq + 1), which is exact
///     for a power-of-two nq); each level's total of b[0:i] (without the
///     outliers) is spread uniformly over the level's non-zero bins, Q = 0
///     where b is 0.
///     KL(P||Q) as scipy.stats.entropy: both normalized to sum 1, terms with
///     P = 0 are 0, a term with P > 0 and Q = 0 makes KL = +inf. No epsilon
///     smoothing (unlike MXNet); Q = 0 with P > 0 can only happen in the last
///     bin (b[i-1] = 0 with outliers), so such a candidate is never chosen.
///  3. The last i with the smallest KL (ties go to the larger threshold)
///     gives amax = i * bin_width, the upper edge of the last kept bin (the
///     reference's calib_bin_edges[i]; the GTC slides say (i + 0.5) * width).
/// Deviations from the reference:
///  - amax is capped at h.amax(): a threshold above the largest value seen
///    only wastes resolution. (The reference's top edge equals the max as
///    long as its histogram never grew, so for i = num_bins they agree.)
///  - A candidate whose b[0:i] is all zero (Q has no mass) has KL = NaN in
///    the reference, which np.argmin would pick; here it is +inf, so e.g. a
///    constant tensor gets amax = its value instead of one bin less. If no
///    candidate is finite, the result is h.amax().
/// Returns h.amax() (no search) when h.num_bins() < num_quantized_bins or
/// num_quantized_bins < 1, and 0 for a histogram without non-zero values.
/// Cost: O(num_bins^2) (about 4 M simple steps for 2048 bins).
double EntropyAmax(const TensorHistogram& h, int num_quantized_bins = kDefaultQuantizedBins);

/// Min-max calibration: the largest |x| seen, h.amax() (nothing is clipped).
double MinMaxAmax(const TensorHistogram& h);

/// Checks a percentile for PercentileAmax: InvalidArgument unless
/// 0 < percentile <= 100 (so callers can reject a bad flag early).
absl::Status ValidatePercentile(double percentile);

/// Percentile calibration: the |x| value below which `percentile` percent
/// (e.g. 99.99) of the counted elements fall, in the tensor's units.
/// With N = h.count() and t = percentile / 100 * N, it finds the first bin b
/// whose cumulative count reaches t and interpolates linearly inside it,
/// assuming its elements are spread uniformly:
/// amax = (b + (t - count below b) / bins[b]) * bin_width, capped at h.amax().
/// (pytorch-quantization's `_compute_amax_percentile` returns the bin's lower
/// edge instead; ours is never below it and at most one bin above.)
/// percentile is clamped into [0, 100] (NaN counts as 100); 100 gives
/// h.amax(). Returns 0 for a histogram without non-zero values.
double PercentileAmax(const TensorHistogram& h, double percentile);

/// Dispatches to EntropyAmax (128 quantized bins), MinMaxAmax or
/// PercentileAmax(h, percentile); `percentile` is used only by kPercentile.
double ComputeAmax(const TensorHistogram& h, CalibrationAlgorithm algorithm,
                   double percentile = kDefaultPercentile);

/// Smallest amax that ScaleFromAmax honours: 2^-24, the smallest positive
/// float16 value; pytorch-quantization (tensor_quant.py) treats an amax at
/// or below it as zero.
inline constexpr double kMinCalibrationAmax = 1.0 / (1 << 24);

/// Symmetric int8 scale (tensor units per integer step) for a threshold:
/// max(amax, kMinCalibrationAmax) / 127, rounded to float. The floor (scale
/// ~4.7e-10) gives an all-zero tensor, and a NaN or negative amax, a tiny
/// positive finite scale whose reciprocal and products with other scales
/// stay finite, normal floats; zeros still quantize to 0.
float ScaleFromAmax(double amax);

/// Contents of a calibration cache file: per-tensor int8 scales.
struct CalibrationCache {
  /// The digits of the header's version field: TensorRT writes its version
  /// number there (8601 = 8.6.1, 100300 = 10.3.0).
  std::string version = "8601";
  /// The algorithm named in the header.
  CalibrationAlgorithm algorithm = CalibrationAlgorithm::kEntropy;
  /// Tensor name -> scale (tensor units per int8 step, amax / 127).
  std::map<std::string, float> scales;
};

/// Header suffix of `algorithm` in a cache: "EntropyCalibration2" (as
/// TensorRT), "MinMaxCalibration" (as TensorRT), "PercentileCalibration"
/// (ours; TensorRT has no percentile calibrator).
const char* CalibrationCacheTag(CalibrationAlgorithm algorithm);

/// Checks that `cache` serializes to a file that ParseCalibrationCache reads
/// back identically: version is non-empty decimal digits, every tensor name
/// is non-empty without '\n' or '\r', every scale is finite and > 0.
/// InvalidArgument naming `file_name` and the offending tensor otherwise.
absl::Status ValidateCalibrationCache(const CalibrationCache& cache, const std::string& file_name);

/// The cache as text in TensorRT's calibration-cache format:
///   TRT-<version>-<CalibrationCacheTag(algorithm)>\n
///   <tensor name>: <scale's IEEE-754 float32 bits, 8 lower-case hex digits>\n
///   ...
/// e.g. "data_0: 4000889d" for 2.00833f. Lines are sorted by tensor name
/// (byte order), so the output is deterministic. The format has no escapes:
/// call ValidateCalibrationCache first if names or scales are untrusted.
std::string SerializeCalibrationCache(const CalibrationCache& cache);

/// Parses a calibration cache written by SerializeCalibrationCache or by
/// TensorRT (any version: "TRT-8601-EntropyCalibration2",
/// "TRT-100300-EntropyCalibration2", "TRT-8510-MinMaxCalibration", ...).
/// Line endings may be "\n" or "\r\n"; blank lines are skipped. A tensor line
/// is split at its LAST ": ", so names may contain ':' and spaces (ONNX
/// names like "a:0" and TensorRT's "(Unnamed Layer* 8) [Constant]_output").
/// The scale is 1 to 8 hex digits (either case) of the float32 bits.
/// Errors name `file_name`, the 1-based line number and the tensor:
///  - DataLoss: empty text, a header not of the form TRT-<digits>-<name>, a
///    line without ": " or with an empty name, a scale that is not 1-8 hex
///    digits;
///  - InvalidArgument: a header algorithm other than the three above (e.g.
///    TensorRT's legacy "EntropyCalibration" or "LegacyCalibration"), a tensor
///    listed twice, a scale that is not finite and > 0.
absl::StatusOr<CalibrationCache> ParseCalibrationCache(const std::string& text,
                                                       const std::string& file_name);

/// Checks that `cache` has a scale for exactly the tensors in
/// `required_tensors`. InvalidArgument naming `file_name` and listing, all at
/// once and sorted, the required tensors the cache lacks and the cache
/// entries that are not required tensors. (Caches written by TensorRT also
/// hold its internal tensors, e.g. "(Unnamed Layer* 8) [Constant]_output",
/// which this reports as extra.)
absl::Status CheckCacheMatches(const CalibrationCache& cache,
                               const std::vector<std::string>& required_tensors,
                               const std::string& file_name);

}  // namespace engine::opt

#endif  // ENGINE_BUILDER_CALIBRATION_H_
