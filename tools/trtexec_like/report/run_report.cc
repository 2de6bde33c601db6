#include "trtexec_like/report/run_report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <thread>

#include "common/fnv.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "engine/hardware.h"
#include "trtexec_like/layer_join.h"
#include "trtexec_like/report/device_report.h"
#include "trtexec_like/report/json_file.h"

#ifndef TRTEXEC_LIKE_VERSION
#define TRTEXEC_LIKE_VERSION "unknown"
#endif

namespace trtexec_like {
namespace {

using Json = nlohmann::json;

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

// "model name" of /proc/cpuinfo (x86); on other architectures the first of
// "Model", "Hardware", "cpu model", "CPU part" that is present.
std::string CpuModel() {
  auto cpuinfo = engine::ReadFileToString("/proc/cpuinfo");
  if (!cpuinfo.ok()) return "unknown";
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(*cpuinfo, '\n')) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key(absl::StripAsciiWhitespace(line.substr(0, colon)));
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    if (!key.empty() && !value.empty()) fields.emplace(absl::AsciiStrToLower(key), value);
  }
  for (const char* key : {"model name", "model", "hardware", "cpu model", "cpu part"}) {
    auto it = fields.find(key);
    if (it != fields.end()) return it->second;
  }
  return "unknown";
}

std::string OsDescription() {
  struct utsname u;
  if (uname(&u) != 0) return "unknown";
  return absl::StrCat(u.sysname, " ", u.release, " ", u.machine);
}

std::string UtcNow() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Json TensorDescsJson(const std::vector<engine::TensorDesc>& descs) {
  Json out = Json::array();
  for (const auto& d : descs) {
    out.push_back(Json{{"name", d.name}, {"dtype", engine::DataTypeName(d.dtype)},
                       {"shape", d.shape}});
  }
  return out;
}

Json StatsJson(const Stats& s) {
  Json percentiles = Json::array();
  for (const auto& [p, v] : s.percentiles) {
    percentiles.push_back(Json{{"percentile", p}, {"ms", v}});
  }
  return Json{{"minMs", s.min},       {"maxMs", s.max},       {"meanMs", s.mean},
              {"medianMs", s.median}, {"stddevMs", s.stddev}, {"percentiles", percentiles}};
}

}  // namespace

const char* ToolVersion() { return TRTEXEC_LIKE_VERSION; }

absl::StatusOr<std::string> HashFileFnv1a64(const std::string& path) {
  auto bytes = engine::ReadFileToString(path);
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(), absl::StrCat("cannot read '", path, "' to hash it: ",
                                                            bytes.status().message()));
  }
  return engine::Fnv1a64Hex(*bytes);
}

absl::StatusOr<Json> RunReportJson(const Options& opt, const std::string& command,
                                   const engine::Engine& eng, const HostRun* host,
                                   const ReportExtras& extras) {
  const engine::PlanInfo& info = eng.plan_info();
  const engine::DeviceProfile& p = eng.device_profile();
  const engine::MemoryPlanInfo& m = eng.memory_plan();
  const bool from_onnx = !opt.onnx.empty();
  const std::string model_path = from_onnx ? opt.onnx : opt.load_engine;

  auto hash = HashFileFnv1a64(model_path);
  if (!hash.ok()) return hash.status();

  // A loaded plan that recorded its source model's hash is identified by it,
  // so that two plans of one ONNX file compare as the same model.
  const bool recorded = !from_onnx && !info.source_hash.empty();
  Json model{{"path", model_path},
             {"name", info.model_name},
             {"hash", {{"algorithm", "fnv1a64"}, {"of", from_onnx || recorded ? "onnx" : "plan"},
                       {"value", recorded ? info.source_hash : *hash}}}};
  if (!from_onnx) {
    model["planHash"] = *hash;
    model["source"] = info.source_model.empty() ? Json(nullptr) : Json(info.source_model);
  }

  Json plan{{"schemaVersion", info.schema_version},
            {"bytes", info.plan_bytes},
            {"weightBytes", info.weight_bytes},
            {"instructions", info.instructions},
            {"layers", eng.layers().size()}};

  auto or_null = [](const std::string& v) { return v.empty() ? Json(nullptr) : Json(v); };
  Json build{{"source", from_onnx ? "onnx" : "plan"},
             {"objective", info.objective},
             {"hwSpec", opt.hw.empty() ? (from_onnx ? Json("edge") : Json(nullptr)) : Json(opt.hw)},
             {"precision", or_null(info.precision)},
             {"calibrator", or_null(info.calibrator)},
             {"calibrationData", or_null(info.calibration_data)},
             {"calibrationBatches", info.calibration_batches},
             {"preprocess", or_null(info.preprocess)}};
  if (from_onnx) {
    std::vector<std::string> passes;
    for (absl::string_view s : absl::StrSplit(opt.passes, ',', absl::SkipEmpty())) {
      passes.emplace_back(s);
    }
    build["optLevel"] = opt.opt_level;
    build["passes"] = opt.passes.empty() ? Json(nullptr) : Json(passes);
    build["memoryReuse"] = !opt.no_memory_reuse;
    build["arenaAlignment"] = opt.arena_alignment;
    build["shapes"] = opt.shapes;
  } else {
    build["optLevel"] = info.opt_level >= 0 ? Json(info.opt_level) : Json(nullptr);
    build["passes"] = nullptr;
  }

  Json hw_config = Json::parse(engine::HardwareConfigToJson(eng.hardware()), nullptr,
                               /*allow_exceptions=*/false);
  if (hw_config.is_discarded()) {
    return absl::InternalError("the engine's canonical hardware JSON does not parse");
  }
  Json hardware{{"name", eng.hardware().name},
                {"summary", engine::HardwareSummary(eng.hardware())},
                {"config", std::move(hw_config)}};

  Json machine{{"hostname", Hostname()},
               {"cpuModel", CpuModel()},
               {"hardwareConcurrency", std::thread::hardware_concurrency()},
               {"os", OsDescription()}};

  Json device{
      {"latencyMs", p.latency_ms},
      {"cycles", p.total_cycles},
      {"clockMhz", p.clock_mhz},
      {"throughputQps", p.throughput_qps},
      {"energyPj",
       {{"total", p.energy_pj()},
        {"compute", p.energy_compute_pj},
        {"sram", p.energy_sram_pj},
        {"dram", p.energy_dram_pj}}},
      {"macs", p.macs},
      {"dramBytes",
       {{"read", p.dram_bytes_read},
        {"written", p.dram_bytes_written},
        {"total", p.dram_bytes_read + p.dram_bytes_written}}},
      {"utilization", p.utilization},
      {"roofline", {{"cycles", p.roofline_cycles}, {"ratio", p.roofline_ratio}}},
      {"physicalLimit",
       {{"cycles", p.physical_limit_cycles},
        {"ratio", p.physical_limit_ratio},
        {"idealComputeCycles", p.ideal_compute_cycles},
        {"compulsoryDramBytes", p.compulsory_dram_bytes}}},
      {"residency",
       {{"bytesSaved", p.residency_bytes_saved},
        {"scratchpadOccupancy", p.scratchpad_occupancy},
        {"weightBufferOccupancy", p.weight_buffer_occupancy},
        {"accumulatorOccupancy", p.accumulator_occupancy}}},
  };

  Json host_json = nullptr;
  std::map<std::string, double> host_layer_ms;
  if (host != nullptr) {
    host_json = StatsJson(host->latency);
    host_json["iterations"] = host->iterations;
    host_json["warmUpRuns"] = host->warm_up_runs;
    host_json["walltimeS"] = host->walltime_s;
    host_json["throughputQps"] = host->walltime_s > 0 ? host->iterations / host->walltime_s : 0.0;
    host_json["threads"] = host->threads;
    if (host->layers != nullptr && !host->layers->empty()) host_layer_ms = host->layers->AverageMs();
  }

  Json memory{{"arenaBytes", m.arena_bytes},
              {"noReuseBytes", m.no_reuse_bytes},
              {"lowerBoundBytes", m.lower_bound_bytes},
              {"weightBytes", info.weight_bytes},
              {"alignment", m.alignment},
              {"strategy", m.strategy}};

  Json layers = Json::array();
  for (const JoinedLayer& joined : JoinLayers(eng)) {
    const engine::LayerInfo& li = *joined.info;
    const engine::LayerDeviceProfile& l = joined.device_or_empty();
    Json layer = LayerMappingJson(joined);
    layer["computeCycles"] = l.compute_cycles;
    layer["stallCycles"] = l.stall_cycles;
    layer["timeMs"] = l.time_ms;
    layer["utilization"] = l.utilization;
    layer["bound"] = l.bound;
    layer["dramBytes"] = l.dram_bytes_read + l.dram_bytes_written;
    layer["inputLocation"] = l.input_location;
    layer["outputLocation"] = l.output_location;
    layer["weightLocation"] = l.weight_location;
    layer["residencyBytesSaved"] = l.residency_bytes_saved;
    layer["dramBytesRead"] = l.dram_bytes_read;
    layer["dramBytesWritten"] = l.dram_bytes_written;
    layer["macs"] = l.macs;
    auto it = host_layer_ms.find(li.name);
    layer["hostAverageMs"] = it == host_layer_ms.end() ? Json(nullptr) : Json(it->second);
    layers.push_back(std::move(layer));
  }

  Json evaluation = nullptr;
  if (extras.evaluation.has_value()) {
    const EvalResult& e = *extras.evaluation;
    evaluation = Json{{"dataset", e.dataset},
                      {"images", e.images},
                      {"correct", e.has_labels ? Json(e.correct) : Json(nullptr)},
                      {"top1Percent", e.has_labels ? Json(e.Top1Percent()) : Json(nullptr)}};
  }

  return Json{
      {"schemaVersion", kReportSchemaVersion},
      {"kind", kReportKind},
      {"createdAt", UtcNow()},
      {"tool", {{"name", "trtexec_like"}, {"version", ToolVersion()}}},
      {"command", command},
      {"engine", {{"version", info.engine_version}}},
      {"model", std::move(model)},
      {"plan", std::move(plan)},
      {"build", std::move(build)},
      {"hardware", std::move(hardware)},
      {"machine", std::move(machine)},
      {"io", {{"inputs", TensorDescsJson(eng.inputs())}, {"outputs", TensorDescsJson(eng.outputs())}}},
      {"performance", {{"device", std::move(device)}, {"host", std::move(host_json)}}},
      {"memory", std::move(memory)},
      {"layers", std::move(layers)},
      {"evaluation", std::move(evaluation)},
      {"int8Comparison", extras.int8_comparison},
  };
}

absl::Status WriteRunReport(const Options& opt, const std::string& command,
                            const engine::Engine& eng, const HostRun* host,
                            const ReportExtras& extras) {
  auto json = RunReportJson(opt, command, eng, host, extras);
  if (!json.ok()) {
    return absl::Status(json.status().code(), absl::StrCat("cannot write --exportReport file '",
                                                           opt.export_report, "': ",
                                                           json.status().message()));
  }
  absl::Status s = WriteJsonFile("--exportReport", opt.export_report, *json);
  if (!s.ok()) return s;
  std::printf("[I] Run report (schema v%d%s) written to %s\n", kReportSchemaVersion,
              host != nullptr ? ", modeled and host" : ", modeled only", opt.export_report.c_str());
  return absl::OkStatus();
}

}  // namespace trtexec_like
