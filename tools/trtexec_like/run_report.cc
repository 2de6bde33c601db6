#include "run_report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "device_report.h"
#include "engine/hardware.h"

#ifndef TRTEXEC_LIKE_VERSION
#define TRTEXEC_LIKE_VERSION "unknown"
#endif

namespace trtexec_like {
namespace {

using Json = nlohmann::json;

// The device profile of engine layer `index` named `name` (by position when
// the names agree, otherwise by name); nullptr if absent.
const engine::LayerDeviceProfile* DeviceLayer(const engine::DeviceProfile& profile, size_t index,
                                              const std::string& name) {
  if (index < profile.layers.size() && profile.layers[index].name == name) {
    return &profile.layers[index];
  }
  for (const auto& l : profile.layers) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

// "model name" of /proc/cpuinfo (x86); on other architectures the first of
// "Model", "Hardware", "cpu model", "CPU part" that is present.
std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(in, line);) {
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

// ---- Reading -------------------------------------------------------------

// Walks a document and reports missing or mistyped fields by their path.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  const absl::Status& status() const { return status_; }

  // The member `key` of `obj` (at `where`), or nullptr (and an error when
  // `required`).
  const Json* Member(const Json& obj, const std::string& where, const char* key,
                     bool required = true) {
    if (!obj.is_object()) {
      Error(where, "expected an object");
      return nullptr;
    }
    auto it = obj.find(key);
    if (it == obj.end() || (!required && it->is_null())) {
      if (required) Error(Path(where, key), "missing");
      return nullptr;
    }
    return &*it;
  }

  std::string String(const Json& obj, const std::string& where, const char* key,
                     bool required = true) {
    const Json* v = Member(obj, where, key, required);
    if (v == nullptr) return "";
    if (v->is_null() && !required) return "";
    if (!v->is_string()) {
      Error(Path(where, key), "expected a string");
      return "";
    }
    return v->get<std::string>();
  }

  double Number(const Json& obj, const std::string& where, const char* key, bool required = true) {
    const Json* v = Member(obj, where, key, required);
    if (v == nullptr) return 0;
    if (!v->is_number()) {
      Error(Path(where, key), "expected a number");
      return 0;
    }
    return v->get<double>();
  }

  int64_t Integer(const Json& obj, const std::string& where, const char* key,
                  bool required = true) {
    const Json* v = Member(obj, where, key, required);
    if (v == nullptr) return 0;
    if (!v->is_number_integer()) {
      Error(Path(where, key), "expected an integer");
      return 0;
    }
    return v->get<int64_t>();
  }

  const Json* Object(const Json& obj, const std::string& where, const char* key,
                     bool required = true) {
    const Json* v = Member(obj, where, key, required);
    if (v != nullptr && !v->is_object()) {
      Error(Path(where, key), "expected an object");
      return nullptr;
    }
    return v;
  }

  const Json* Array(const Json& obj, const std::string& where, const char* key) {
    const Json* v = Member(obj, where, key);
    if (v != nullptr && !v->is_array()) {
      Error(Path(where, key), "expected an array");
      return nullptr;
    }
    return v;
  }

  static std::string Path(const std::string& where, const std::string& key) {
    return where.empty() ? key : absl::StrCat(where, ".", key);
  }

  void Error(const std::string& field, const std::string& what) {
    if (status_.ok()) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(source_, ": field '", field, "': ", what));
    }
  }

 private:
  std::string source_;
  absl::Status status_;
};

std::string AcceptedVersions() {
  std::vector<int> v(std::begin(kReportAcceptedVersions), std::end(kReportAcceptedVersions));
  return absl::StrJoin(v, ", ");
}

}  // namespace

uint64_t Fnv1a64(std::string_view bytes, uint64_t hash) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

absl::StatusOr<std::string> HashFileFnv1a64(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read '", path, "' to hash it"));
  uint64_t hash = 0xcbf29ce484222325ULL;
  std::string buf(1 << 20, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    hash = Fnv1a64(std::string_view(buf.data(), static_cast<size_t>(in.gcount())), hash);
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading '", path, "' to hash it"));
  return absl::StrFormat("%016x", hash);
}

absl::Status CheckReportPath(const Options& opt) {
  if (opt.export_report.empty()) return absl::OkStatus();
  std::filesystem::path dir = std::filesystem::path(opt.export_report).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("cannot write --exportReport file '",
                                            opt.export_report, "': directory '", dir.string(),
                                            "' does not exist"));
  }
  if (std::filesystem::is_directory(opt.export_report, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write --exportReport file '",
                                                   opt.export_report, "': it is a directory"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> RunReportJson(const Options& opt, const std::string& command,
                                   const engine::Engine& eng, const HostRun* host) {
  const engine::PlanInfo& info = eng.plan_info();
  const engine::DeviceProfile& p = eng.device_profile();
  const engine::MemoryPlanInfo& m = eng.memory_plan();
  const bool from_onnx = !opt.onnx.empty();
  const std::string model_path = from_onnx ? opt.onnx : opt.load_engine;

  auto hash = HashFileFnv1a64(model_path);
  if (!hash.ok()) return hash.status();

  Json model{{"path", model_path},
             {"name", info.model_name},
             {"hash", {{"algorithm", "fnv1a64"}, {"of", from_onnx ? "onnx" : "plan"},
                       {"value", *hash}}}};

  Json plan{{"schemaVersion", info.schema_version},
            {"bytes", info.plan_bytes},
            {"weightBytes", info.weight_bytes},
            {"instructions", info.instructions},
            {"layers", eng.layers().size()}};

  Json build{{"source", from_onnx ? "onnx" : "plan"},
             {"objective", info.objective},
             {"hwSpec", opt.hw.empty() ? (from_onnx ? Json("edge") : Json(nullptr)) : Json(opt.hw)}};
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
    build["optLevel"] = nullptr;
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
  for (size_t i = 0; i < eng.layers().size(); ++i) {
    const engine::LayerInfo& li = eng.layers()[i];
    const engine::LayerDeviceProfile* d = DeviceLayer(p, i, li.name);
    const engine::LayerDeviceProfile empty;
    const engine::LayerDeviceProfile& l = d != nullptr ? *d : empty;
    Json layer{{"name", li.name},
               {"onnxNodes", li.onnx_nodes},
               {"type", li.type},
               {"precision", l.precision},
               {"unit", l.unit},
               {"tactic", l.tactic},
               {"dataflow", l.dataflow},
               {"tiling", l.tiling},
               {"cycles", l.cycles},
               {"computeCycles", l.compute_cycles},
               {"stallCycles", l.stall_cycles},
               {"timeMs", l.time_ms},
               {"utilization", l.utilization},
               {"bound", l.bound},
               {"energyPj", l.energy_pj()},
               {"dramBytes", l.dram_bytes_read + l.dram_bytes_written},
               {"dramBytesRead", l.dram_bytes_read},
               {"dramBytesWritten", l.dram_bytes_written},
               {"macs", l.macs}};
    auto it = host_layer_ms.find(li.name);
    layer["hostAverageMs"] = it == host_layer_ms.end() ? Json(nullptr) : Json(it->second);
    layers.push_back(std::move(layer));
  }

  return Json{
      {"schemaVersion", kReportSchemaVersion},
      {"kind", kReportKind},
      {"createdAt", UtcNow()},
      {"tool", {{"name", "trtexec_like"}, {"version", TRTEXEC_LIKE_VERSION}}},
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
  };
}

absl::Status WriteRunReport(const Options& opt, const std::string& command,
                            const engine::Engine& eng, const HostRun* host) {
  auto json = RunReportJson(opt, command, eng, host);
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

absl::StatusOr<Report> ParseReport(std::string_view text, const std::string& source) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(source, ": not JSON"));
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not an engine report (expected a "
                                                           "JSON object with \"kind\": \"",
                                                   kReportKind, "\")"));
  }
  auto kind = doc.find("kind");
  if (kind == doc.end() || !kind->is_string() || *kind != kReportKind) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": not an engine report: \"kind\" is ",
        kind == doc.end() ? std::string("missing") : kind->dump(), ", expected \"", kReportKind,
        "\" (write one with --exportReport)"));
  }
  auto version = doc.find("schemaVersion");
  if (version == doc.end() || !version->is_number_integer()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": field 'schemaVersion': expected an integer"));
  }
  const int64_t v = version->get<int64_t>();
  bool accepted = false;
  for (int a : kReportAcceptedVersions) accepted = accepted || a == v;
  if (!accepted) {
    return absl::FailedPreconditionError(absl::StrCat(
        source, ": report schemaVersion ", v,
        " is not supported: this trtexec_like reads schemaVersion ", AcceptedVersions(),
        v > kReportSchemaVersion ? "; the report was written by a newer tool" : ""));
  }

  Reader r(source);
  Report rep;
  rep.schema_version = static_cast<int>(v);
  if (const Json* tool = r.Object(doc, "", "tool")) rep.tool_version = r.String(*tool, "tool", "version");
  if (const Json* e = r.Object(doc, "", "engine")) rep.engine_version = r.String(*e, "engine", "version");
  if (const Json* model = r.Object(doc, "", "model")) {
    rep.model_path = r.String(*model, "model", "path");
    if (const Json* h = r.Object(*model, "model", "hash")) {
      rep.model_hash = r.String(*h, "model.hash", "value");
      rep.model_hash_of = r.String(*h, "model.hash", "of");
    }
  }
  if (const Json* b = r.Object(doc, "", "build")) {
    rep.objective = r.String(*b, "build", "objective");
    rep.hw_spec = r.String(*b, "build", "hwSpec", /*required=*/false);
    if (r.Member(*b, "build", "optLevel", /*required=*/false) != nullptr) {
      rep.opt_level = static_cast<int>(r.Integer(*b, "build", "optLevel"));
    }
  }
  if (const Json* hw = r.Object(doc, "", "hardware")) {
    rep.hardware_name = r.String(*hw, "hardware", "name");
    rep.hardware_summary = r.String(*hw, "hardware", "summary");
  }
  if (const Json* mach = r.Object(doc, "", "machine")) {
    rep.hostname = r.String(*mach, "machine", "hostname");
    rep.cpu_model = r.String(*mach, "machine", "cpuModel");
    rep.hardware_concurrency = static_cast<int>(r.Integer(*mach, "machine", "hardwareConcurrency"));
  }
  if (const Json* perf = r.Object(doc, "", "performance")) {
    if (const Json* d = r.Object(*perf, "performance", "device")) {
      const std::string w = "performance.device";
      rep.latency_ms = r.Number(*d, w, "latencyMs");
      rep.cycles = r.Integer(*d, w, "cycles");
      rep.utilization = r.Number(*d, w, "utilization");
      if (const Json* e = r.Object(*d, w, "energyPj")) rep.energy_pj = r.Number(*e, w + ".energyPj", "total");
      if (const Json* b = r.Object(*d, w, "dramBytes")) rep.dram_bytes = r.Integer(*b, w + ".dramBytes", "total");
    }
    if (const Json* h = r.Object(*perf, "performance", "host", /*required=*/false)) {
      const std::string w = "performance.host";
      ReportHost host;
      host.iterations = static_cast<int>(r.Integer(*h, w, "iterations"));
      host.threads = static_cast<int>(r.Integer(*h, w, "threads"));
      host.min_ms = r.Number(*h, w, "minMs");
      host.max_ms = r.Number(*h, w, "maxMs");
      host.mean_ms = r.Number(*h, w, "meanMs");
      host.median_ms = r.Number(*h, w, "medianMs");
      host.throughput_qps = r.Number(*h, w, "throughputQps");
      rep.host = host;
    }
  }
  if (const Json* mem = r.Object(doc, "", "memory")) {
    rep.arena_bytes = r.Integer(*mem, "memory", "arenaBytes");
    rep.no_reuse_bytes = r.Integer(*mem, "memory", "noReuseBytes");
    rep.lower_bound_bytes = r.Integer(*mem, "memory", "lowerBoundBytes");
    rep.weight_bytes = r.Integer(*mem, "memory", "weightBytes");
  }
  if (const Json* layers = r.Array(doc, "", "layers")) {
    for (size_t i = 0; i < layers->size(); ++i) {
      const Json& l = (*layers)[i];
      const std::string w = absl::StrCat("layers[", i, "]");
      ReportLayer layer;
      layer.name = r.String(l, w, "name");
      if (const Json* nodes = r.Array(l, w, "onnxNodes")) {
        for (const Json& n : *nodes) {
          if (!n.is_string()) {
            r.Error(w + ".onnxNodes", "expected strings");
            break;
          }
          layer.onnx_nodes.push_back(n.get<std::string>());
        }
      }
      layer.type = r.String(l, w, "type");
      layer.precision = r.String(l, w, "precision");
      layer.unit = r.String(l, w, "unit");
      layer.tactic = r.String(l, w, "tactic");
      layer.dataflow = r.String(l, w, "dataflow");
      layer.tiling = r.String(l, w, "tiling");
      layer.cycles = r.Integer(l, w, "cycles");
      layer.time_ms = r.Number(l, w, "timeMs");
      layer.energy_pj = r.Number(l, w, "energyPj");
      layer.dram_bytes = r.Integer(l, w, "dramBytes");
      if (r.Member(l, w, "hostAverageMs", /*required=*/false) != nullptr) {
        layer.host_average_ms = r.Number(l, w, "hostAverageMs");
      }
      rep.layers.push_back(std::move(layer));
      if (!r.status().ok()) break;
    }
  }
  if (!r.status().ok()) return r.status();
  rep.path = source;
  rep.json = std::move(doc);
  return rep;
}

absl::StatusOr<Report> ReadReport(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read report '", path, "'"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseReport(text, path);
}

}  // namespace trtexec_like
