#include "trtexec_like/report/schema.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"

namespace trtexec_like {
namespace {

using Json = nlohmann::json;

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
    rep.precision = r.String(*b, "build", "precision", /*required=*/false);
    rep.calibrator = r.String(*b, "build", "calibrator", /*required=*/false);
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
  // "evaluation" (--evalData) is optional: absent in older reports, null
  // without an evaluation.
  if (const Json* e = r.Object(doc, "", "evaluation", /*required=*/false)) {
    ReportEvaluation ev;
    ev.dataset = r.String(*e, "evaluation", "dataset");
    ev.images = r.Integer(*e, "evaluation", "images");
    if (r.Member(*e, "evaluation", "top1Percent", /*required=*/false) != nullptr) {
      ev.top1_percent = r.Number(*e, "evaluation", "top1Percent");
    }
    rep.evaluation = ev;
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
  auto text = engine::ReadFileToString(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat("cannot read report '", path, "': ",
                                                           text.status().message()));
  }
  return ParseReport(*text, path);
}

}  // namespace trtexec_like
