// INT8 post-training quantization: activation histograms, calibrators and
// the calibration cache. See calibration.h for the algorithms and sources.
#include "builder/calibration.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace engine::opt {
namespace {

constexpr CalibrationAlgorithm kAllAlgorithms[] = {
    CalibrationAlgorithm::kEntropy, CalibrationAlgorithm::kMinMax,
    CalibrationAlgorithm::kPercentile};

/// `s` in single quotes, for error messages.
std::string Quote(const std::string& s) { return absl::StrCat("'", s, "'"); }

/// At most the first 80 characters of a cache line, quoted, for error messages.
std::string Excerpt(const std::string& line) {
  constexpr size_t kMax = 80;
  if (line.size() <= kMax) return Quote(line);
  return absl::StrCat("'", line.substr(0, kMax), "...'");
}

/// "<file>:<line>: " prefix of a parse error.
std::string Where(const std::string& file_name, int line) {
  return absl::StrCat(file_name, ":", line, ": ");
}

bool IsDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// Removes trailing spaces and tabs.
void StripTrailingBlanks(std::string& s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
}

/// Index of the bin holding value `v` >= 0 in bins of width `width` > 0,
/// clamped to the last bin `last` (values at or beyond the range's top).
int64_t BinIndex(double v, double width, int64_t last) {
  const double idx = v / width;
  return idx >= static_cast<double>(last) ? last : static_cast<int64_t>(idx);
}

}  // namespace

// ---------------------------------------------------------------------------
// Algorithm names.

const char* CalibrationAlgorithmName(CalibrationAlgorithm algorithm) {
  switch (algorithm) {
    case CalibrationAlgorithm::kEntropy:
      return "entropy";
    case CalibrationAlgorithm::kMinMax:
      return "minmax";
    case CalibrationAlgorithm::kPercentile:
      return "percentile";
  }
  return "unknown";
}

absl::StatusOr<CalibrationAlgorithm> ParseCalibrationAlgorithm(const std::string& name) {
  std::vector<std::string> valid;
  for (CalibrationAlgorithm a : kAllAlgorithms) {
    if (name == CalibrationAlgorithmName(a)) return a;
    valid.push_back(CalibrationAlgorithmName(a));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown calibration algorithm ", Quote(name),
                                                 "; valid: ", absl::StrJoin(valid, ", ")));
}

const char* CalibrationCacheTag(CalibrationAlgorithm algorithm) {
  switch (algorithm) {
    case CalibrationAlgorithm::kEntropy:
      return "EntropyCalibration2";
    case CalibrationAlgorithm::kMinMax:
      return "MinMaxCalibration";
    case CalibrationAlgorithm::kPercentile:
      return "PercentileCalibration";
  }
  return "UnknownCalibration";
}

// ---------------------------------------------------------------------------
// TensorHistogram.

TensorHistogram::TensorHistogram(int num_bins) : bins_(static_cast<size_t>(std::max(num_bins, 1)), 0) {}

absl::StatusOr<TensorHistogram> TensorHistogram::FromBins(std::vector<int64_t> bins, double bin_width,
                                                          double amax) {
  constexpr const char* kWhat = "TensorHistogram::FromBins: ";
  if (bins.empty() || bins.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(absl::StrCat(kWhat, "bad number of bins ", bins.size()));
  }
  if (!std::isfinite(bin_width) || bin_width < 0) {
    return absl::InvalidArgumentError(absl::StrCat(kWhat, "bin width ", bin_width, " is not finite and >= 0"));
  }
  if (!std::isfinite(amax) || amax < 0) {
    return absl::InvalidArgumentError(absl::StrCat(kWhat, "amax ", amax, " is not finite and >= 0"));
  }
  int64_t count = 0;
  int64_t last_nonempty = -1;
  for (size_t b = 0; b < bins.size(); ++b) {
    if (bins[b] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(kWhat, "bin ", b, " has negative count ", bins[b]));
    }
    if (bins[b] > 0) last_nonempty = static_cast<int64_t>(b);
    count += bins[b];
  }
  if (bin_width == 0) {
    if (last_nonempty > 0 || amax != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          kWhat, "bin width 0 allows only zeros (bin 0) and amax 0; got amax ", amax,
          " and last non-empty bin ", last_nonempty));
    }
  } else {
    constexpr double kTol = 1e-9;  // relative, for edges computed in floating point
    const double lower = last_nonempty > 0 ? static_cast<double>(last_nonempty) * bin_width : 0.0;
    const double upper = static_cast<double>(std::max<int64_t>(last_nonempty, 0) + 1) * bin_width;
    const bool ok = last_nonempty < 0 ? amax == 0
                                      : amax >= lower * (1 - kTol) && amax <= upper * (1 + kTol);
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhat, "amax ", amax, " does not lie in the last non-empty bin ",
                       last_nonempty, " [", lower, ", ", upper, "]"));
    }
  }
  TensorHistogram h(static_cast<int>(bins.size()));
  h.bins_ = std::move(bins);
  h.bin_width_ = bin_width;
  h.amax_ = amax;
  h.count_ = count;
  return h;
}

void TensorHistogram::Add(const float* data, int64_t n) {
  if (data == nullptr || n <= 0) return;
  // Scan 1: amax of the batch (the range must cover it before binning).
  double batch_amax = 0.0;
  int64_t finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = data[i];
    if (!std::isfinite(v)) {
      ++nonfinite_count_;
      continue;
    }
    ++finite;
    batch_amax = std::max(batch_amax, static_cast<double>(std::fabs(v)));
  }
  if (finite == 0) return;
  count_ += finite;
  if (batch_amax == 0.0) {  // only zeros: bin 0 whatever the width
    bins_[0] += finite;
    return;
  }
  if (bin_width_ == 0.0) {
    bin_width_ = batch_amax / static_cast<double>(bins_.size());
  } else if (batch_amax > range()) {
    GrowToCover(batch_amax);
  }
  amax_ = std::max(amax_, batch_amax);
  // Scan 2: binning.
  const int64_t last = static_cast<int64_t>(bins_.size()) - 1;
  for (int64_t i = 0; i < n; ++i) {
    const float v = data[i];
    if (!std::isfinite(v)) continue;
    ++bins_[static_cast<size_t>(BinIndex(std::fabs(static_cast<double>(v)), bin_width_, last))];
  }
}

void TensorHistogram::Coarsen(double factor) {
  const size_t n = bins_.size();
  std::vector<int64_t> merged(n, 0);
  if (factor >= static_cast<double>(n)) {
    // Every old bin lies inside the new bin 0.
    for (int64_t c : bins_) merged[0] += c;
  } else {
    const size_t k = static_cast<size_t>(factor);
    for (size_t j = 0; j < n; ++j) merged[j / k] += bins_[j];
  }
  bins_.swap(merged);
  bin_width_ *= factor;
}

void TensorHistogram::GrowToCover(double new_amax) {
  const double r = range();
  double k = std::max(2.0, std::ceil(new_amax / r));
  // Rounding of the division; beyond 2^53 adding 1 changes nothing and the
  // few values above the range land in the last bin anyway.
  if (r * k < new_amax && k < 9007199254740992.0) k += 1.0;
  Coarsen(k);
}

void TensorHistogram::Merge(const TensorHistogram& other) {
  nonfinite_count_ += other.nonfinite_count_;
  if (other.count_ == 0) return;
  if (other.bin_width_ == 0.0) {  // other holds only zeros, all in its bin 0
    bins_[0] += other.count_;
    count_ += other.count_;
    return;
  }
  if (bin_width_ == 0.0) {
    // This holds only zeros (bin 0 at any width): take other's range.
    bin_width_ = other.bins_.size() == bins_.size()
                     ? other.bin_width_
                     : other.range() / static_cast<double>(bins_.size());
  } else if (bin_width_ < other.bin_width_) {
    // Coarsen to other's width so that each of its bins fits inside one of
    // ours; the tolerance keeps an integer ratio computed with rounding error
    // (3.0000000000000004) from becoming the next integer.
    const double k = std::ceil(other.bin_width_ / bin_width_ * (1.0 - 1e-9));
    if (k >= 2.0) Coarsen(k);
  }
  if (other.amax_ > range()) GrowToCover(other.amax_);
  const int64_t last = static_cast<int64_t>(bins_.size()) - 1;
  for (size_t j = 0; j < other.bins_.size(); ++j) {
    const int64_t c = other.bins_[j];
    if (c == 0) continue;
    const double centre = (static_cast<double>(j) + 0.5) * other.bin_width_;
    bins_[static_cast<size_t>(BinIndex(centre, bin_width_, last))] += c;
  }
  count_ += other.count_;
  amax_ = std::max(amax_, other.amax_);
}

// ---------------------------------------------------------------------------
// Calibrators.

std::vector<double> EntropyDivergences(const TensorHistogram& h, int num_quantized_bins) {
  const int64_t n = h.num_bins();
  const int64_t nq = num_quantized_bins;
  std::vector<double> divergences;
  if (nq < 1 || n < nq || h.bin_width() == 0.0 || h.count() == 0) return divergences;

  // Step 1 of the reference: bins[0] = bins[1].
  std::vector<int64_t> b = h.bins();
  if (n >= 2) b[0] = b[1];
  // suffix[j] = sum(b[j:]): the outliers of candidate j.
  std::vector<int64_t> suffix(static_cast<size_t>(n) + 1, 0);
  for (int64_t j = n - 1; j >= 0; --j) suffix[j] = suffix[j + 1] + b[j];
  const double p_sum = static_cast<double>(suffix[0]);  // sum(P) for every i

  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> level_sum(static_cast<size_t>(nq));
  std::vector<int64_t> level_nonzero(static_cast<size_t>(nq));
  std::vector<double> q(static_cast<size_t>(n));
  divergences.reserve(static_cast<size_t>(n - nq + 1));
  for (int64_t i = nq; i <= n; ++i) {
    // Q: merge b[0:i] into nq levels (bin j -> level floor(j * nq / i)),
    // then expand each level's total uniformly over its non-zero bins.
    std::fill(level_sum.begin(), level_sum.end(), 0.0);
    std::fill(level_nonzero.begin(), level_nonzero.end(), 0);
    for (int64_t j = 0; j < i; ++j) {
      if (b[j] == 0) continue;
      const int64_t level = j * nq / i;
      level_sum[level] += static_cast<double>(b[j]);
      ++level_nonzero[level];
    }
    double q_sum = 0.0;
    for (int64_t j = 0; j < i; ++j) {
      q[j] = b[j] == 0 ? 0.0 : [&] {
        const int64_t level = j * nq / i;
        return level_sum[level] / static_cast<double>(level_nonzero[level]);
      }();
      q_sum += q[j];
    }
    if (q_sum == 0.0 || p_sum == 0.0) {  // reference: NaN; see EntropyAmax
      divergences.push_back(kInf);
      continue;
    }
    // KL(P||Q) as scipy.stats.entropy(P, Q): normalize both, sum
    // p * log(p / q) over p > 0, +inf where p > 0 and q == 0.
    double kl = 0.0;
    for (int64_t j = 0; j < i; ++j) {
      const int64_t pj = j == i - 1 ? b[j] + suffix[i] : b[j];
      if (pj == 0) continue;
      if (q[j] == 0.0) {
        kl = kInf;
        break;
      }
      const double pn = static_cast<double>(pj) / p_sum;
      const double qn = q[j] / q_sum;
      kl += pn * std::log(pn / qn);
    }
    divergences.push_back(kl);
  }
  return divergences;
}

double EntropyAmax(const TensorHistogram& h, int num_quantized_bins) {
  if (h.amax() == 0.0 || h.bin_width() == 0.0) return 0.0;
  if (num_quantized_bins < 1 || h.num_bins() < num_quantized_bins) return h.amax();
  const std::vector<double> kl = EntropyDivergences(h, num_quantized_bins);
  // Last minimum (np.argmin over the reversed array in the reference).
  size_t best = kl.size();
  for (size_t k = 0; k < kl.size(); ++k) {
    if (std::isinf(kl[k])) continue;
    if (best == kl.size() || kl[k] <= kl[best]) best = k;
  }
  if (best == kl.size()) return h.amax();  // no candidate has finite KL
  const double i = static_cast<double>(best) + num_quantized_bins;
  return std::min(i * h.bin_width(), h.amax());
}

double MinMaxAmax(const TensorHistogram& h) { return h.amax(); }

absl::Status ValidatePercentile(double percentile) {
  if (!(percentile > 0.0 && percentile <= 100.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("calibration percentile ", percentile, " is outside (0, 100]"));
  }
  return absl::OkStatus();
}

double PercentileAmax(const TensorHistogram& h, double percentile) {
  if (h.amax() == 0.0 || h.bin_width() == 0.0 || h.count() == 0) return 0.0;
  double p = std::isnan(percentile) ? 100.0 : std::clamp(percentile, 0.0, 100.0);
  const double target = p / 100.0 * static_cast<double>(h.count());
  if (target >= static_cast<double>(h.count())) return h.amax();
  const std::vector<int64_t>& bins = h.bins();
  double below = 0.0;  // elements in bins before b
  for (size_t b = 0; b < bins.size(); ++b) {
    const double c = static_cast<double>(bins[b]);
    if (c > 0.0 && below + c >= target) {
      const double frac = std::clamp((target - below) / c, 0.0, 1.0);
      return std::min((static_cast<double>(b) + frac) * h.bin_width(), h.amax());
    }
    below += c;
  }
  return h.amax();
}

double ComputeAmax(const TensorHistogram& h, CalibrationAlgorithm algorithm, double percentile) {
  switch (algorithm) {
    case CalibrationAlgorithm::kEntropy:
      return EntropyAmax(h, kDefaultQuantizedBins);
    case CalibrationAlgorithm::kMinMax:
      return MinMaxAmax(h);
    case CalibrationAlgorithm::kPercentile:
      return PercentileAmax(h, percentile);
  }
  return MinMaxAmax(h);
}

float ScaleFromAmax(double amax) {
  const double a = amax >= kMinCalibrationAmax ? amax : kMinCalibrationAmax;  // NaN too
  return static_cast<float>(a / 127.0);
}

// ---------------------------------------------------------------------------
// Calibration cache.

absl::Status ValidateCalibrationCache(const CalibrationCache& cache, const std::string& file_name) {
  if (!IsDigits(cache.version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        file_name, ": calibration cache version ", Quote(cache.version), " is not decimal digits"));
  }
  for (const auto& [name, scale] : cache.scales) {
    if (name.empty() || name.find_first_of("\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name, ": tensor name ", Quote(name),
          " cannot be stored in a calibration cache (empty or has a line break)"));
    }
    if (!std::isfinite(scale) || !(scale > 0.0f)) {
      return absl::InvalidArgumentError(absl::StrCat(file_name, ": tensor ", Quote(name), ": scale ",
                                                     scale, " is not finite and > 0"));
    }
  }
  return absl::OkStatus();
}

std::string SerializeCalibrationCache(const CalibrationCache& cache) {
  std::string out = absl::StrCat("TRT-", cache.version, "-", CalibrationCacheTag(cache.algorithm), "\n");
  for (const auto& [name, scale] : cache.scales) {  // std::map: sorted by name
    absl::StrAppend(&out, name, ": ", absl::StrFormat("%08x", std::bit_cast<uint32_t>(scale)), "\n");
  }
  return out;
}

absl::StatusOr<CalibrationCache> ParseCalibrationCache(const std::string& text,
                                                       const std::string& file_name) {
  if (text.empty()) {
    return absl::DataLossError(absl::StrCat(
        Where(file_name, 1), "empty calibration cache (expected a header like TRT-8601-",
        CalibrationCacheTag(CalibrationAlgorithm::kEntropy), ")"));
  }
  CalibrationCache cache;
  std::map<std::string, int> line_of;  // tensor -> line it was first seen on
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();

    if (line_no == 1) {
      // Header: TRT-<digits>-<algorithm tag>.
      StripTrailingBlanks(line);
      const auto bad_header = [&] {
        return absl::DataLossError(absl::StrCat(
            Where(file_name, 1), "bad calibration cache header ", Excerpt(line),
            " (expected TRT-<version digits>-<algorithm>, e.g. TRT-8601-",
            CalibrationCacheTag(CalibrationAlgorithm::kEntropy), ")"));
      };
      if (line.rfind("TRT-", 0) != 0) return bad_header();
      const size_t dash = line.find('-', 4);
      if (dash == std::string::npos) return bad_header();
      const std::string version = line.substr(4, dash - 4);
      const std::string tag = line.substr(dash + 1);
      if (!IsDigits(version) || tag.empty() ||
          !std::all_of(tag.begin(), tag.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
          })) {
        return bad_header();
      }
      bool known = false;
      std::vector<std::string> tags;
      for (CalibrationAlgorithm a : kAllAlgorithms) {
        tags.push_back(CalibrationCacheTag(a));
        if (tag == CalibrationCacheTag(a)) {
          cache.algorithm = a;
          known = true;
        }
      }
      if (!known) {
        return absl::InvalidArgumentError(absl::StrCat(
            Where(file_name, 1), "unsupported calibration algorithm ", Quote(tag), " in header ",
            Excerpt(line), "; supported: ", absl::StrJoin(tags, ", ")));
      }
      cache.version = version;
      continue;
    }

    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    const size_t sep = line.rfind(": ");
    if (sep == std::string::npos || sep == 0) {
      return absl::DataLossError(absl::StrCat(
          Where(file_name, line_no), "expected '<tensor name>: <scale as 8 hex digits>', got ",
          Excerpt(line)));
    }
    std::string name = line.substr(0, sep);
    std::string hex = line.substr(sep + 2);
    StripTrailingBlanks(hex);
    uint32_t bits = 0;
    const bool hex_ok = !hex.empty() && hex.size() <= 8 &&
                        std::all_of(hex.begin(), hex.end(), IsHexDigit) &&
                        std::from_chars(hex.data(), hex.data() + hex.size(), bits, 16).ec == std::errc();
    if (!hex_ok) {
      return absl::DataLossError(absl::StrCat(Where(file_name, line_no), "tensor ", Quote(name),
                                              ": scale ", Excerpt(hex),
                                              " is not 1-8 hex digits of a float32 bit pattern"));
    }
    const float scale = std::bit_cast<float>(bits);
    if (!std::isfinite(scale) || !(scale > 0.0f)) {
      return absl::InvalidArgumentError(absl::StrCat(Where(file_name, line_no), "tensor ", Quote(name),
                                                     ": scale ", hex, " (= ", scale,
                                                     ") is not finite and > 0"));
    }
    const auto [it, inserted] = line_of.emplace(name, line_no);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(Where(file_name, line_no), "tensor ", Quote(name),
                                                     " is listed twice (first on line ", it->second,
                                                     ")"));
    }
    cache.scales.emplace(std::move(name), scale);
  }
  return cache;
}

absl::Status CheckCacheMatches(const CalibrationCache& cache,
                               const std::vector<std::string>& required_tensors,
                               const std::string& file_name) {
  const std::set<std::string> required(required_tensors.begin(), required_tensors.end());
  std::vector<std::string> missing;
  std::vector<std::string> extra;
  for (const std::string& name : required) {
    if (cache.scales.find(name) == cache.scales.end()) missing.push_back(Quote(name));
  }
  for (const auto& [name, scale] : cache.scales) {
    if (required.find(name) == required.end()) extra.push_back(Quote(name));
  }
  if (missing.empty() && extra.empty()) return absl::OkStatus();
  std::string msg = absl::StrCat(file_name, ": calibration cache does not match the network");
  if (!missing.empty()) {
    absl::StrAppend(&msg, "; no scale for ", missing.size(), " tensor(s) the network needs: ",
                    absl::StrJoin(missing, ", "));
  }
  if (!extra.empty()) {
    absl::StrAppend(&msg, "; ", extra.size(), " cache entr", extra.size() == 1 ? "y is" : "ies are",
                    " not tensors of the network: ", absl::StrJoin(extra, ", "));
  }
  return absl::InvalidArgumentError(msg);
}

}  // namespace engine::opt
