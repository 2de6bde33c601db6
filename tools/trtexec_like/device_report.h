// Reports of the modeled accelerator: the modeled lines of the performance
// summary, the per-layer modeled profile (--dumpProfile), layer information
// with tactics (--dumpLayerInfo) and the JSON exports (--exportProfile,
// --exportTrace, --exportLayerInfo). Every figure here comes from the
// engine's DeviceProfile / DeviceTimeline and is labelled "modeled"; none of
// it is ever mixed with host wall-clock times.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_DEVICE_REPORT_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_DEVICE_REPORT_H_

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "engine/runtime.h"
#include "options.h"
#include "report.h"

namespace trtexec_like {

/// "[I] Hardware: <summary>; objective <o>, <n> accelerator instructions".
void PrintHardwareLine(const engine::Engine& eng);
/// "[I] Activation memory: arena ... (lower bound ..., no reuse ...)".
void PrintMemoryLine(const engine::Engine& eng);

/// --dumpLayerInfo: one line per layer with type, name, tensors, tactic and
/// tiling.
void PrintLayerInfo(const engine::Engine& eng);

/// The "=== Modeled device (<hw>) ===" block of the performance summary.
void PrintDeviceSummary(const engine::DeviceProfile& profile, const std::string& hardware_name);

/// The per-layer modeled table of --dumpProfile, with a Total row.
void PrintDeviceProfile(const engine::DeviceProfile& profile, const std::string& hardware_name);

/// --exportProfile JSON: [{"count": count}, {per layer}...]. `host_avg_ms`,
/// when non-null, adds "hostAverageMs" to the layers it names.
nlohmann::json DeviceProfileJson(const engine::Engine& eng, int count,
                                 const std::map<std::string, double>* host_avg_ms);

/// --exportTrace JSON: Chrome trace-event format (object form) of the
/// modeled timeline, one track per unit plus a "Layers" track.
nlohmann::json DeviceTraceJson(const engine::Engine& eng);

/// --exportLayerInfo JSON: hardware, objective and per-layer mapping choices.
nlohmann::json LayerInfoJson(const engine::Engine& eng);

/// Writes `json` to `path` via `path`.tmp and a rename; `indent` < 0 writes
/// it compactly. Errors name `flag` and the file, e.g. "cannot write
/// --exportTrace file 'x.json': ...".
absl::Status WriteJsonFile(const std::string& flag, const std::string& path,
                           const nlohmann::json& json, int indent = 2);

/// Fails early, before building or running, when the directory of an
/// --export* file does not exist. Errors name the flag and the file.
absl::Status CheckExportPaths(const Options& opt);

/// Everything modeled that the options ask for: the summary block, the
/// --dumpProfile tables (host table first when `host` is given, then the
/// modeled one) and the JSON exports. Called after inference
/// (`count` = timed inferences, `host` = per-layer host times or nullptr) and,
/// with --skipInference, right after build/load (`count` = 1).
absl::Status ReportModeledDevice(const Options& opt, const engine::Engine& eng, int count,
                                 const LayerProfiler* host);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_DEVICE_REPORT_H_
