// Timing statistics and the trtexec-shaped performance summary.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_H_

#include <string>
#include <vector>

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

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_H_
