// `trtexec_like compare ... --html=FILE`: the comparison as one self-contained
// HTML page (inline CSS and inline SVG charts generated here; no scripts, no
// fonts, nothing fetched from the network), so that it can be attached to a
// ticket or opened offline:
//  - the comparability warnings, at the top;
//  - the reports and the summary table with ratios against the first report;
//  - three charts (<svg class="chart">): the modeled device time per
//    inference of every report as a stacked bar of its largest layer groups
//    (the rest as "other"), the host latency distribution (min, percentiles,
//    median, max) of the reports that ran inference, and the modeled energy
//    per inference split into compute, SRAM and DRAM;
//  - the per-layer table, sorted by the largest absolute difference to [1].
// All text taken from the reports (paths, layer names, hardware) is escaped.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_COMPARE_HTML_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_COMPARE_HTML_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "trtexec_like/report/compare.h"
#include "trtexec_like/report/schema.h"

namespace trtexec_like {

/// `text` with &, <, >, " and ' replaced by character references: safe in
/// HTML and SVG text and in quoted attribute values.
std::string HtmlEscape(std::string_view text);

/// The label of report `index` (0-based) in the page: "[i] <file name>".
std::string HtmlReportLabel(const Report& report, size_t index);

/// The x axis of the host-latency chart, in ms. It spans every report's
/// minimum to maximum, except that a maximum beyond 1.25x the largest "tail"
/// (a report's highest percentile up to p99, or its median) cuts the axis
/// there (`clipped`): one slow outlier run would otherwise squeeze every box
/// into a few pixels. `lo` is 0 unless every run is above 40 % of the top.
struct HostAxis {
  double lo = 0, hi = 1, step = 1;  ///< ms; hi > lo; ticks every `step`
  bool clipped = false;             ///< some report's maximum lies beyond `hi`
};
HostAxis ChooseHostAxis(const std::vector<Report>& reports);

/// Columns of a chart legend (3, 2 or 1) for segment `names`: the most in
/// which the longest name fits without truncation (at ~6.8 px per character
/// of the 980 px chart); names longer than one column still are truncated,
/// with the full name in the tooltip.
size_t LegendColumns(const std::vector<std::string>& names);

/// The page. `groups` as MatchLayers returns them (largest difference first),
/// `warnings` as ComparabilityWarnings does.
std::string ComparisonHtml(const std::vector<Report>& reports,
                           const std::vector<LayerGroup>& groups,
                           const std::vector<std::string>& warnings);

/// Writes ComparisonHtml to `path` atomically (WriteTextFile: a failure never
/// leaves a partial page). Errors name --html and the file.
absl::Status WriteComparisonHtml(const std::string& path, const std::vector<Report>& reports,
                                 const std::vector<LayerGroup>& groups,
                                 const std::vector<std::string>& warnings);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_COMPARE_HTML_H_
