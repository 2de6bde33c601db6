// The run report of --exportReport: one versioned JSON document per run that
// holds everything needed to compare two runs (model identity, build options,
// hardware, machine, modeled and host performance, memory, per-layer
// profile). The format is documented field by field in docs/report_schema.md;
// `trtexec_like compare` reads it back with ReadReport (report/schema.h).
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_RUN_REPORT_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_RUN_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/runtime.h"
#include "trtexec_like/host_stats.h"
#include "trtexec_like/int8.h"
#include "trtexec_like/options.h"
#include "trtexec_like/report/schema.h"

namespace trtexec_like {

/// The tool's version ("tool.version" of a report, the HTML page's
/// generator): the project version trtexec_like was built from.
const char* ToolVersion();

/// FNV-1a 64 (common/fnv.h) of the file's bytes (read with engine::ReadFileToString) as 16
/// lowercase hex digits. Errors: those of the reader, the message naming the
/// file and saying it was to be hashed.
absl::StatusOr<std::string> HashFileFnv1a64(const std::string& path);

/// Host timings of the inference path, handed to WriteRunReport.
struct HostRun {
  Stats latency;            ///< per-inference host latency statistics, ms
  int iterations = 0;       ///< timed inferences
  int warm_up_runs = 0;     ///< untimed inferences before them
  double walltime_s = 0;    ///< wall time of the timed inferences, s
  int threads = 0;          ///< host threads per layer (ExecutionContext::threads())
  /// Per-layer host times, or nullptr when no profiler was attached.
  const LayerProfiler* layers = nullptr;
};

/// What a run measured besides timings, for the report.
struct ReportExtras {
  /// --evalData: the engine's top-1 accuracy ("evaluation"; null without).
  std::optional<EvalResult> evaluation;
  /// --compareInt8: Int8ComparisonJson ("int8Comparison"; null without).
  nlohmann::json int8_comparison;
};

/// The report document of one run (schema in docs/report_schema.md).
/// `command` is the command line; `host` is nullptr with --skipInference.
absl::StatusOr<nlohmann::json> RunReportJson(const Options& opt, const std::string& command,
                                             const engine::Engine& eng, const HostRun* host,
                                             const ReportExtras& extras = {});

/// Writes RunReportJson to opt.export_report and prints where. Errors name
/// --exportReport and the file.
absl::Status WriteRunReport(const Options& opt, const std::string& command,
                            const engine::Engine& eng, const HostRun* host,
                            const ReportExtras& extras = {});

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_RUN_REPORT_H_
