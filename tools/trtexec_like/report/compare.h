// `trtexec_like compare A.json B.json [C.json ...]`: compares run reports
// written with --exportReport. Prints the reports' identities, a summary
// table with ratios against the first report, and a per-layer table whose
// rows match layers across reports by name and, when fusion differs, by the
// ONNX nodes they cover; warns when reports are not comparable.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_COMPARE_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_COMPARE_H_

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "trtexec_like/format.h"
#include "trtexec_like/options.h"
#include "trtexec_like/report/schema.h"

namespace trtexec_like {

/// One row of the per-layer comparison: a connected set of ONNX nodes and,
/// per report, the layers that cover them.
struct LayerGroup {
  /// "name": one layer of the same name in every report; "onnx": matched by
  /// the ONNX nodes they cover (fusion differs); "partial": missing from at
  /// least one report.
  std::string match;
  std::vector<std::string> onnx_nodes;               ///< sorted
  std::vector<std::vector<std::string>> layers;      ///< per report, execution order
  std::vector<std::optional<double>> time_ms;        ///< per report; nullopt when absent
  std::vector<int64_t> cycles;
  std::vector<double> energy_pj;
  std::vector<int64_t> dram_bytes;
  std::vector<std::optional<double>> host_ms;        ///< per report, when all its layers have it
  double max_abs_diff_ms = 0;  ///< largest |time - time of the first report|
  size_t order = 0;            ///< first appearance, for stable sorting
};

/// The units of the summary tables (text and HTML) of `compare`: one per
/// column, chosen from the largest value of the column.
struct SummaryUnits {
  Unit energy;  ///< EnergyUnit of the largest modeled energy
  Unit dram;    ///< BytesUnit of the largest DRAM traffic
  Unit arena;   ///< BytesUnit of the largest activation arena
  bool any_host = false;  ///< whether any report has host timings (a host column)
  bool any_top1 = false;  ///< whether any report has an evaluation top-1 (a Top-1 column)
};
SummaryUnits ChooseSummaryUnits(const std::vector<Report>& reports);

/// Whether any of `groups` has a host per-layer time for some report (the
/// per-layer tables then show host columns next to the modeled ones).
bool AnyHostLayerTimes(const std::vector<LayerGroup>& groups);

/// "98.92" for the first report, "98.90 (-0.02)" (difference in points to
/// `reference`) for the others, "-" without a top-1.
std::string Top1Cell(const std::optional<ReportEvaluation>& e,
                     const std::optional<ReportEvaluation>& reference, bool is_reference);

/// Groups the layers of `reports` into rows (see LayerGroup), sorted by the
/// largest absolute difference in modeled time, largest first.
std::vector<LayerGroup> MatchLayers(const std::vector<Report>& reports);

/// Warnings about comparing `reports` (different models, host timings from
/// different machines or thread counts, different engine versions).
std::vector<std::string> ComparabilityWarnings(const std::vector<Report>& reports);

/// The comparison as JSON (what --json writes).
nlohmann::json ComparisonJson(const std::vector<Report>& reports,
                              const std::vector<LayerGroup>& groups,
                              const std::vector<std::string>& warnings);

/// Prints the comparison to stdout: the reports, `warnings` ([W] lines), the
/// summary table with ratios against the first report and the per-layer table
/// of `groups` (at most `top` rows; 0: all). What `compare` prints.
void PrintComparison(const std::vector<Report>& reports, const std::vector<LayerGroup>& groups,
                     const std::vector<std::string>& warnings, int top);

/// The `compare` subcommand: reads the reports of `opt` (ReadReport), prints
/// the comparison and writes --json / --html when asked. Errors: those of
/// ReadReport (naming the report) and of the writers (naming the flag and
/// the file).
absl::Status RunCompare(const CompareOptions& opt);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_COMPARE_H_
