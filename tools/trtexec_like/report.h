// Timing statistics and the trtexec-shaped performance summary.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_H_

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
/// n - 1 - floor((1 - p/100) * n) (sampleReporting.cpp).
double Percentile(std::vector<double> sorted_values, double p);

Stats ComputeStats(std::vector<double> values, const std::vector<double>& percentiles);

/// "min = 1.2 ms, max = ..., mean = ..., median = ..., percentile(90%) = ... ms, ..."
std::string FormatStats(const Stats& s);

/// Collects per-layer host times over all timed iterations (for --dumpProfile
/// and --exportProfile).
class LayerProfiler : public engine::Profiler {
 public:
  void ReportLayerTime(std::string_view layer, double ms) override;

  /// Prints the host per-layer table (trtexec's --dumpProfile columns).
  void Print(int runs) const;

  /// Mean host time per layer, ms, by layer name.
  std::map<std::string, double> AverageMs() const;

  bool empty() const { return names_.empty(); }

 private:
  std::map<std::string, size_t> index_;
  std::vector<std::string> names_;
  std::vector<std::vector<double>> times_;
};

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_H_
