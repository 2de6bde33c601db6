// The run report schema (docs/report_schema.md): the versioned JSON document
// that --exportReport writes (report/run_report.h) and `trtexec_like compare`
// reads back. This module holds the schema's constants, the fields `compare`
// uses (Report) and the reader, which checks the kind, the schema version
// and the type of every field it takes, naming the field in its errors.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_SCHEMA_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_SCHEMA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace trtexec_like {

/// "kind" of a run report.
inline constexpr const char* kReportKind = "engine-report";
/// The schema version this tool writes.
inline constexpr int kReportSchemaVersion = 1;
/// The schema versions ReadReport accepts (the reader of version N accepts
/// every version it knows how to read).
inline constexpr int kReportAcceptedVersions[] = {1};

/// One layer of a report.
struct ReportLayer {
  std::string name;
  std::vector<std::string> onnx_nodes;
  std::string type, precision, unit, tactic, dataflow, tiling;
  int64_t cycles = 0;
  double time_ms = 0;
  double energy_pj = 0;
  int64_t dram_bytes = 0;
  std::optional<double> host_average_ms;
};

/// Host latency of a report (present when inference ran).
struct ReportHost {
  int iterations = 0;
  int threads = 0;
  double min_ms = 0, max_ms = 0, mean_ms = 0, median_ms = 0;
  double throughput_qps = 0;
};

/// Top-1 accuracy of a report's --evalData run ("evaluation").
struct ReportEvaluation {
  std::string dataset;
  int64_t images = 0;
  std::optional<double> top1_percent;  ///< absent without labels
};

/// The fields of a report that `compare` uses, plus the whole document.
struct Report {
  std::string path;  ///< where it was read from
  int schema_version = 0;
  std::string tool_version;
  std::string engine_version;
  std::string model_path;
  std::string model_hash;     ///< 16 hex digits
  std::string model_hash_of;  ///< "onnx" or "plan": which bytes were hashed
  std::string hardware_name;
  std::string hardware_summary;
  std::string hw_spec;                 ///< build.hwSpec ("" when unknown)
  std::optional<int> opt_level;        ///< build.optLevel (absent for loaded plans)
  std::string objective;
  std::string precision;   ///< build.precision ("" when the report or plan predates it)
  std::string calibrator;  ///< build.calibrator ("" none or unknown)
  std::string hostname, cpu_model;
  int hardware_concurrency = 0;
  // Modeled device, one inference.
  double latency_ms = 0;
  int64_t cycles = 0;
  double energy_pj = 0;
  int64_t dram_bytes = 0;  ///< read + written
  double utilization = 0;
  // Memory.
  int64_t arena_bytes = 0, no_reuse_bytes = 0, lower_bound_bytes = 0, weight_bytes = 0;
  std::optional<ReportHost> host;
  std::optional<ReportEvaluation> evaluation;  ///< absent without --evalData
  std::vector<ReportLayer> layers;
  nlohmann::json json;  ///< the whole document
};

/// Parses a report document; `source` names it in errors.
/// Errors: InvalidArgument when it is not JSON, not an engine report (kind),
/// or a field is missing or of the wrong type (the message names the field);
/// FailedPrecondition when its schemaVersion is not one this tool reads (the
/// message names the accepted versions).
absl::StatusOr<Report> ParseReport(std::string_view text, const std::string& source);

/// Reads (engine::ReadFileToString) and parses the report at `path`. Errors:
/// NotFound when the file cannot be read (the reader's code and reason),
/// otherwise as ParseReport; every message names the file.
absl::StatusOr<Report> ReadReport(const std::string& path);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_SCHEMA_H_
