#include "trtexec_like/host_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_format.h"

namespace trtexec_like {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const int64_t n = static_cast<int64_t>(v.size());
  int64_t idx = n - 1 - static_cast<int64_t>(std::floor((1.0 - p / 100.0) * n));
  idx = std::clamp<int64_t>(idx, 0, n - 1);
  return v[idx];
}

Stats ComputeStats(std::vector<double> values, const std::vector<double>& percentiles) {
  Stats s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  s.min = values.front();
  s.max = values.back();
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / n;
  s.median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  double var = 0;
  for (double v : values) var += (v - s.mean) * (v - s.mean);
  s.stddev = std::sqrt(var / n);
  for (double p : percentiles) s.percentiles.emplace_back(p, Percentile(values, p));
  return s;
}

std::string FormatStats(const Stats& s) {
  std::string out = absl::StrFormat("min = %.5g ms, max = %.5g ms, mean = %.5g ms, median = %.5g ms",
                                    s.min, s.max, s.mean, s.median);
  for (const auto& [p, v] : s.percentiles) {
    absl::StrAppendFormat(&out, ", percentile(%g%%) = %.5g ms", p, v);
  }
  return out;
}

void LayerProfiler::ReportLayerTime(std::string_view layer, double ms) {
  auto it = index_.find(std::string(layer));
  if (it == index_.end()) {
    it = index_.emplace(std::string(layer), names_.size()).first;
    names_.emplace_back(layer);
    times_.emplace_back();
  }
  times_[it->second].push_back(ms);
}

void LayerProfiler::Print(int runs) const {
  double total = 0;
  for (const auto& t : times_) {
    for (double v : t) total += v;
  }
  std::printf("\n=== Profile (%d iterations, host time) ===\n", runs);
  std::printf("%12s %12s %12s %9s   %s\n", "Time(ms)", "Avg.(ms)", "Median(ms)", "Time(%)", "Layer");
  for (size_t i = 0; i < names_.size(); ++i) {
    double sum = 0;
    for (double v : times_[i]) sum += v;
    Stats s = ComputeStats(times_[i], {});
    std::printf("%12.4f %12.4f %12.4f %9.2f   %s\n", sum, s.mean, s.median,
                total > 0 ? 100.0 * sum / total : 0.0, names_[i].c_str());
  }
  std::printf("%12.4f %12.4f %12s %9.2f   %s\n", total, runs > 0 ? total / runs : 0.0, "-", 100.0,
              "Total");
}

std::map<std::string, double> LayerProfiler::AverageMs() const {
  std::map<std::string, double> out;
  for (size_t i = 0; i < names_.size(); ++i) {
    double sum = 0;
    for (double v : times_[i]) sum += v;
    out[names_[i]] = times_[i].empty() ? 0.0 : sum / times_[i].size();
  }
  return out;
}

}  // namespace trtexec_like
