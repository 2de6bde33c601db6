// Reports of the modeled accelerator: the modeled lines of the performance
// summary, the per-layer modeled profile (--dumpProfile), layer information
// with tactics (--dumpLayerInfo) and the JSON exports (--exportProfile,
// --exportTrace, --exportLayerInfo). Every figure here comes from the
// engine's DeviceProfile / DeviceTimeline and is labelled "modeled"; none of
// it is ever mixed with host wall-clock times.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_DEVICE_REPORT_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_DEVICE_REPORT_H_

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "engine/runtime.h"
#include "trtexec_like/host_stats.h"
#include "trtexec_like/layer_join.h"
#include "trtexec_like/options.h"

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

/// Why the modeled latency exceeds `threshold` x the physical limit (issue
/// 21, "or the report shows why not"): empty when it does not. Otherwise a
/// header line (modeled and limit cycles; DRAM bytes moved against the
/// compulsory bytes, split into weight reloads and activations spilled to
/// DRAM) and, for the `top` layers or layer groups with the most cycles
/// above their own limit max(ideal-memory cycles, compulsory DRAM bytes /
/// DRAM bytes per cycle), one line each: those cycles, the bound that
/// dominates (the DRAM stream: moved bytes / bandwidth, or compute and
/// stalls), the weight bytes (unique, reloaded) and spilled activation
/// bytes, and the capacity comparison with `hw.scratchpad` (weights +
/// activations it moves > or <= the scratchpad bytes).
std::string LimitGapReport(const engine::DeviceProfile& profile, const engine::HardwareConfig& hw,
                           double threshold = 1.15, int top = 6);

/// The per-layer modeled table of --dumpProfile, with a Total row.
void PrintDeviceProfile(const engine::DeviceProfile& profile, const std::string& hardware_name);

/// --exportProfile JSON: [{"count": count}, {per layer}...]. `host_avg_ms`,
/// when non-null, adds "hostAverageMs" to the layers it names.
nlohmann::json DeviceProfileJson(const engine::Engine& eng, int count,
                                 const std::map<std::string, double>* host_avg_ms);

/// --exportTrace JSON: Chrome trace-event format (object form) of the
/// modeled timeline: a "Layers" track and one track per unit; a unit with
/// overlapping events (several DMA transfers in flight) gets one extra track
/// per concurrent transfer, "<unit> #2", "#3", ..., so that no two complete
/// events of one track overlap. Timestamps in microseconds at the preset's clock.
nlohmann::json DeviceTraceJson(const engine::Engine& eng);

/// The identity and mapping of one layer, as every per-layer JSON of the tool
/// writes it: name, onnxNodes, type (from the plan), precision, unit, tactic,
/// dataflow, tiling, cycles and energyPj (from the device profile; empty or
/// zero when the layer has no row). Callers add their own fields.
nlohmann::json LayerMappingJson(const JoinedLayer& layer);

/// --exportLayerInfo JSON: hardware, objective and per-layer mapping choices.
nlohmann::json LayerInfoJson(const engine::Engine& eng);

/// Everything modeled that the options ask for: the summary block, the
/// --dumpProfile tables (host table first when `host` is given, then the
/// modeled one) and the JSON exports. Called after inference
/// (`count` = timed inferences, `host` = per-layer host times or nullptr) and,
/// with --skipInference, right after build/load (`count` = 1).
absl::Status ReportModeledDevice(const Options& opt, const engine::Engine& eng, int count,
                                 const LayerProfiler* host);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_DEVICE_REPORT_H_
