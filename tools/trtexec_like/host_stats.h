// Host timing statistics (trtexec's percentile rule) and the per-layer host
// profiler behind --dumpProfile's host table. Times are milliseconds.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_HOST_STATS_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_HOST_STATS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/runtime.h"

namespace trtexec_like {

/// Summary statistics of a list of durations (ms).
struct Stats {
  double min = 0, max = 0, mean = 0, median = 0, stddev = 0;
  std::vector<std::pair<double, double>> percentiles;  ///< (p, value)
};

/// trtexec's percentile rule: sort ascending, take index
/// n - 1 - floor((1 - p/100) * n) (sampleReporting.cpp), clamped to the
/// values; 0 for no values. `p` in (0, 100].
double Percentile(std::vector<double> values, double p);

/// Min, max, mean, median, population standard deviation and the
/// `percentiles` (each in (0, 100]) of `values`; all zero for no values.
Stats ComputeStats(std::vector<double> values, const std::vector<double>& percentiles);

/// "min = 1.2 ms, max = ..., mean = ..., median = ..., percentile(90%) = ... ms, ..."
std::string FormatStats(const Stats& s);

/// Collects per-layer host times over all timed iterations (for --dumpProfile
/// and --exportProfile).
class LayerProfiler : public engine::Profiler {
 public:
  /// Records one host time of `layer` (engine::Profiler callback).
  void ReportLayerTime(std::string_view layer, double ms) override;

  /// Prints the host per-layer table (trtexec's --dumpProfile columns).
  void Print(int runs) const;

  /// Mean host time per layer, ms, by layer name.
  std::map<std::string, double> AverageMs() const;

  /// Whether no layer time was recorded.
  bool empty() const { return names_.empty(); }

 private:
  std::map<std::string, size_t> index_;
  std::vector<std::string> names_;
  std::vector<std::vector<double>> times_;
};

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_HOST_STATS_H_
