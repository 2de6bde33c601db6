// The run report of --exportReport: one versioned JSON document per run that
// holds everything needed to compare two runs (model identity, build options,
// hardware, machine, modeled and host performance, memory, per-layer
// profile). The format is documented field by field in docs/report_schema.md;
// `trtexec_like compare` reads it back with ReadReport.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_RUN_REPORT_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_RUN_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/runtime.h"
#include "options.h"
#include "report.h"

namespace trtexec_like {

/// "kind" of a run report.
inline constexpr const char* kReportKind = "engine-report";
/// The schema version this tool writes.
inline constexpr int kReportSchemaVersion = 1;
/// The schema versions ReadReport accepts (the reader of version N accepts
/// every version it knows how to read).
inline constexpr int kReportAcceptedVersions[] = {1};

/// FNV-1a, 64-bit, over `bytes`, continuing from `hash` (start with the
/// offset basis, the default).
uint64_t Fnv1a64(std::string_view bytes, uint64_t hash = 0xcbf29ce484222325ULL);
/// FNV-1a 64 of the file's bytes as 16 lowercase hex digits. Errors: NotFound
/// naming the file when it cannot be read.
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

/// Fails early, before building, when the directory of --exportReport does
/// not exist or the path is a directory. OK when --exportReport is not set.
absl::Status CheckReportPath(const Options& opt);

/// The report document of one run (schema in docs/report_schema.md).
/// `command` is the command line; `host` is nullptr with --skipInference.
absl::StatusOr<nlohmann::json> RunReportJson(const Options& opt, const std::string& command,
                                             const engine::Engine& eng, const HostRun* host);

/// Writes RunReportJson to opt.export_report and prints where. Errors name
/// --exportReport and the file.
absl::Status WriteRunReport(const Options& opt, const std::string& command,
                            const engine::Engine& eng, const HostRun* host);

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
  std::vector<ReportLayer> layers;
  nlohmann::json json;  ///< the whole document
};

/// Parses a report document; `source` names it in errors.
/// Errors: InvalidArgument when it is not JSON, not an engine report (kind),
/// or a field is missing or of the wrong type (the message names the field);
/// FailedPrecondition when its schemaVersion is not one this tool reads (the
/// message names the accepted versions).
absl::StatusOr<Report> ParseReport(std::string_view text, const std::string& source);

/// Reads and parses the report at `path`. Errors: NotFound when the file
/// cannot be read, otherwise as ParseReport; every message names the file.
absl::StatusOr<Report> ReadReport(const std::string& path);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_RUN_REPORT_H_
