// Hardware description: presets, JSON file format, KEY=VALUE overrides,
// validation, canonical JSON and the one-line summary (engine/hardware.h).
#include "engine/hardware.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace engine {
namespace {

using Json = nlohmann::json;

constexpr int kMaxArrayDim = 4096;
constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

constexpr const char* kOverrideKeys =
    "array, rows, cols, dataflow, memory, clock, scratchpad, weight_buffer, accumulator, "
    "dram_bw, dram_bytes_per_cycle, dram_latency, dma_bytes_per_cycle, vector_lanes, name";

// Debian's Abseil has its own absl::string_view (not std::string_view).
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
std::string_view SV(absl::string_view s) { return std::string_view(s.data(), s.size()); }

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}

/// A JSON value for messages, at most about 60 characters: scalars as they
/// appear in the text (long strings cut), containers as "an object with N
/// members" / "an array of N elements". Never serializes a whole untrusted
/// container (no deep recursion, no large allocation) and never throws (a
/// string cut inside a UTF-8 sequence is dumped with replacement characters).
std::string Describe(const Json& j) {
  if (j.is_object()) return absl::StrCat("an object with ", j.size(), j.size() == 1 ? " member" : " members");
  if (j.is_array()) return absl::StrCat("an array of ", j.size(), j.size() == 1 ? " element" : " elements");
  constexpr size_t kMax = 60;
  if (j.is_string()) {
    const std::string& text = j.get_ref<const std::string&>();
    if (text.size() > kMax - 5) {
      return absl::StrCat(Json(text.substr(0, kMax - 5)).dump(-1, ' ', false, Json::error_handler_t::replace),
                          "...");
    }
  }
  std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > kMax) s = absl::StrCat(s.substr(0, kMax - 3), "...");
  return s;
}

/// Fails when `json` nests arrays/objects deeper than kMaxHardwareJsonDepth
/// (counted outside strings, before parsing), naming the line and column, so
/// that neither the parser nor anything walking the value can exhaust the
/// stack.
absl::Status CheckJsonDepth(std::string_view json, const std::string& source) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '\n') {
      ++line;
      line_start = i + 1;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxHardwareJsonDepth) {
        return absl::InvalidArgumentError(absl::StrCat(
            source, ": not valid hardware JSON: nested deeper than ", kMaxHardwareJsonDepth,
            " levels at line ", line, ", column ", i - line_start + 1));
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return absl::OkStatus();
}

/// A stated range of a numeric hardware field.
struct Range {
  double min;
  double max;
  const char* unit;    // e.g. "MHz", "" for none
  bool zero_allowed;   // 0 is accepted besides [min, max] (meaning "none"/"no limit")

  bool Contains(double v) const {
    return std::isfinite(v) && ((zero_allowed && v == 0) || (v >= min && v <= max));
  }
  /// "a number from 1 to 100000 (MHz)", "0 or a number from ...".
  std::string Expected() const {
    return absl::StrCat(zero_allowed ? "0 or " : "", "a number from ", absl::StrFormat("%g", min),
                        " to ", absl::StrFormat("%g", max), *unit ? absl::StrCat(" (", unit, ")") : "");
  }
};

// The ranges of the numeric fields (see engine/hardware.h).
constexpr Range kClockRange{1, 100000, "MHz", false};
constexpr Range kBytesPerCycleRange{0.001, 65536, "bytes per cycle", false};
constexpr Range kDmaBytesPerCycleRange{0.001, 65536, "bytes per cycle; 0 = no limit", true};
constexpr Range kBandwidthRange{0.001, 1000000, "GB/s", false};
constexpr Range kOpsPerCycleRange{0.001, 1024, "operations per lane per cycle", false};
constexpr Range kEnergyRange{0, 1000000, "pJ", false};
constexpr int64_t kMaxBufferBytes = int64_t{1} << 40;     // 1 TiB
constexpr int64_t kMaxBanks = 1024;
constexpr int64_t kMaxDramLatency = 1000000;              // cycles
constexpr int64_t kMaxVectorLanes = 65536;

/// Returns "parse error at line L, column C: ..." from an nlohmann exception.
std::string StripExceptionId(std::string what) {
  if (!what.empty() && what[0] == '[') {
    size_t end = what.find("] ");
    if (end != std::string::npos) what.erase(0, end + 2);
  }
  return what;
}

/// SAX handler that only records the first syntax error (no exceptions).
struct ErrorRecorder : nlohmann::json_sax<Json> {
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    if (message.empty()) message = StripExceptionId(ex.what());
    if (message.empty()) message = absl::StrCat("syntax error at byte ", position);
    // nlohmann quotes the whole last token, which hostile input makes huge.
    constexpr size_t kMaxMessage = 160;
    if (message.size() > kMaxMessage) message = absl::StrCat(message.substr(0, kMaxMessage), "...");
    return false;
  }
};

/// Reads fields of the hardware JSON, producing errors that name `source`
/// and the dotted field path.
class FieldReader {
 public:
  explicit FieldReader(std::string source) : source_(std::move(source)) {}

  absl::Status Error(const std::string& path, const std::string& expected,
                     const Json& got) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": field '", path, "': expected ",
                                                   expected, ", got ", Describe(got)));
  }

  /// `j` must be an object whose keys are all in `accepted`.
  absl::Status CheckObject(const Json& j, const std::string& path,
                           std::initializer_list<const char*> accepted) const {
    if (!j.is_object()) {
      return path.empty()
                 ? absl::InvalidArgumentError(absl::StrCat(
                       source_, ": expected a JSON object at the top level, got ", Describe(j)))
                 : Error(path, "an object", j);
    }
    for (const auto& item : j.items()) {
      bool known = std::any_of(accepted.begin(), accepted.end(),
                               [&](const char* a) { return item.key() == a; });
      if (!known) {
        return absl::InvalidArgumentError(
            absl::StrCat(source_, ": unknown field '", Join(path, item.key()), "'; accepted",
                         path.empty() ? "" : absl::StrCat(" in '", path, "'"), ": ",
                         absl::StrJoin(accepted, ", ")));
      }
    }
    return absl::OkStatus();
  }

  /// The member `key` of object `j`, or an error naming the missing field.
  absl::StatusOr<const Json*> Required(const Json& j, const std::string& path,
                                       const char* key) const {
    auto it = j.find(key);
    if (it == j.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_, ": missing required field '", Join(path, key), "'"));
    }
    return &*it;
  }

  /// The member `key` of object `j`, or nullptr when absent.
  static const Json* Optional(const Json& j, const char* key) {
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  }

  /// An integer in [min, max] (integral floats such as 32.0 are accepted).
  absl::StatusOr<int64_t> Int(const Json& j, const std::string& path, int64_t min, int64_t max,
                              const std::string& expected) const {
    if (j.is_number_unsigned()) {
      uint64_t v = j.get<uint64_t>();
      if (v > static_cast<uint64_t>(max)) return Error(path, expected, j);
      if (static_cast<int64_t>(v) < min) return Error(path, expected, j);
      return static_cast<int64_t>(v);
    }
    if (j.is_number_integer()) {
      int64_t v = j.get<int64_t>();
      if (v < min || v > max) return Error(path, expected, j);
      return v;
    }
    if (j.is_number_float()) {
      double v = j.get<double>();
      if (std::isfinite(v) && v == std::floor(v) && v >= static_cast<double>(min) &&
          v <= static_cast<double>(max)) {
        return static_cast<int64_t>(v);
      }
    }
    return Error(path, expected, j);
  }

  /// A byte count: an integer from 0 to kMaxBufferBytes (1 TiB).
  absl::StatusOr<uint64_t> Bytes(const Json& j, const std::string& path) const {
    ENGINE_ASSIGN_OR_RETURN(int64_t v, Int(j, path, 0, kMaxBufferBytes,
                                            absl::StrCat("an integer number of bytes from 0 to ",
                                                         kMaxBufferBytes, " (1 TiB)")));
    return static_cast<uint64_t>(v);
  }

  /// A number within `range`.
  absl::StatusOr<double> Number(const Json& j, const std::string& path, const Range& range) const {
    if (!j.is_number()) return Error(path, range.Expected(), j);
    double v = j.get<double>();
    if (!range.Contains(v)) return Error(path, range.Expected(), j);
    return v;
  }

  absl::StatusOr<BufferConfig> Buffer(const Json& j, const std::string& path) const {
    ENGINE_RETURN_IF_ERROR(CheckObject(j, path, {"bytes", "banks"}));
    BufferConfig buffer;
    ENGINE_ASSIGN_OR_RETURN(const Json* bytes, Required(j, path, "bytes"));
    ENGINE_ASSIGN_OR_RETURN(buffer.bytes, Bytes(*bytes, Join(path, "bytes")));
    ENGINE_ASSIGN_OR_RETURN(const Json* banks, Required(j, path, "banks"));
    ENGINE_ASSIGN_OR_RETURN(int64_t b, Int(*banks, Join(path, "banks"), 1, kMaxBanks,
                                            absl::StrCat("an integer from 1 to ", kMaxBanks)));
    buffer.banks = static_cast<int>(b);
    return buffer;
  }

  /// A non-empty array of names parsed by `parse`.
  template <typename T, typename ParseFn>
  absl::StatusOr<std::vector<T>> NameList(const Json& j, const std::string& path, ParseFn parse,
                                          const char* choices) const {
    if (!j.is_array()) return Error(path, absl::StrCat("an array of ", choices), j);
    if (j.empty()) return Error(path, absl::StrCat("a non-empty array of ", choices), j);
    std::vector<T> out;
    for (size_t i = 0; i < j.size(); ++i) {
      const Json& e = j[i];
      std::string element = absl::StrCat(path, "[", i, "]");
      std::optional<T> v;
      if (e.is_string()) v = parse(e.get<std::string>());
      if (!v) return Error(element, absl::StrCat("one of ", choices), e);
      if (std::find(out.begin(), out.end(), *v) != out.end()) {
        return Error(element, "no duplicates", e);
      }
      out.push_back(*v);
    }
    return out;
  }

  absl::Status Energy(const Json& j, EnergyTable& energy) const {
    const std::string path = "energy_pj";
    ENGINE_RETURN_IF_ERROR(CheckObject(
        j, path, {"mac", "sram_byte", "accumulator_byte", "dram_byte", "vector_op"}));
    if (const Json* mac = Optional(j, "mac")) {
      const std::string mac_path = Join(path, "mac");
      ENGINE_RETURN_IF_ERROR(CheckObject(*mac, mac_path, {"int8", "fp16", "bf16", "fp32"}));
      std::pair<const char*, double*> macs[] = {{"int8", &energy.mac_int8_pj},
                                                {"fp16", &energy.mac_fp16_pj},
                                                {"bf16", &energy.mac_bf16_pj},
                                                {"fp32", &energy.mac_fp32_pj}};
      for (auto& [key, dst] : macs) {
        if (const Json* v = Optional(*mac, key)) {
          ENGINE_ASSIGN_OR_RETURN(*dst, Number(*v, Join(mac_path, key), kEnergyRange));
        }
      }
    }
    std::pair<const char*, double*> entries[] = {
        {"sram_byte", &energy.sram_pj_per_byte},
        {"accumulator_byte", &energy.accumulator_pj_per_byte},
        {"dram_byte", &energy.dram_pj_per_byte},
        {"vector_op", &energy.vector_op_pj}};
    for (auto& [key, dst] : entries) {
      if (const Json* v = Optional(j, key)) {
        ENGINE_ASSIGN_OR_RETURN(*dst, Number(*v, Join(path, key), kEnergyRange));
      }
    }
    return absl::OkStatus();
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

/// Default name of a config read from `source`: the file stem of a path.
std::string NameFromSource(std::string_view source) {
  std::string s(source);
  if (s.empty() || std::any_of(s.begin(), s.end(), [](unsigned char c) {
        return absl::ascii_isspace(c);
      })) {
    return "custom";
  }
  std::string stem = std::filesystem::path(s).stem().string();
  return stem.empty() ? "custom" : stem;
}

absl::StatusOr<HardwareConfig> ParseHardwareValue(const Json& root, const FieldReader& r) {
  ENGINE_RETURN_IF_ERROR(r.CheckObject(
      root, "",
      {"name", "array", "dataflows", "pinned_dataflow", "clock_mhz", "scratchpad",
       "weight_buffer", "accumulator", "dram", "dma", "vector", "precisions", "energy_pj",
       "ideal_memory"}));
  HardwareConfig c;

  if (const Json* name = FieldReader::Optional(root, "name")) {
    if (!name->is_string() || name->get<std::string>().empty()) {
      return r.Error("name", "a non-empty string", *name);
    }
    c.name = name->get<std::string>();
  } else {
    c.name = NameFromSource(r.source());
  }

  ENGINE_ASSIGN_OR_RETURN(const Json* array, r.Required(root, "", "array"));
  ENGINE_RETURN_IF_ERROR(r.CheckObject(*array, "array", {"rows", "cols"}));
  for (auto [key, dst] : {std::pair<const char*, int*>{"rows", &c.array_rows},
                          std::pair<const char*, int*>{"cols", &c.array_cols}}) {
    ENGINE_ASSIGN_OR_RETURN(const Json* v, r.Required(*array, "array", key));
    ENGINE_ASSIGN_OR_RETURN(int64_t n, r.Int(*v, Join("array", key), 1, kMaxArrayDim,
                                              absl::StrCat("a positive integer (at most ",
                                                           kMaxArrayDim, ")")));
    *dst = static_cast<int>(n);
  }

  ENGINE_ASSIGN_OR_RETURN(const Json* dataflows, r.Required(root, "", "dataflows"));
  ENGINE_ASSIGN_OR_RETURN(c.dataflows, r.NameList<Dataflow>(*dataflows, "dataflows",
                                                            ParseDataflow, "ws, os, is"));

  if (const Json* pinned = FieldReader::Optional(root, "pinned_dataflow");
      pinned != nullptr && !pinned->is_null()) {
    std::optional<Dataflow> d;
    if (pinned->is_string()) d = ParseDataflow(pinned->get<std::string>());
    if (!d) return r.Error("pinned_dataflow", "null or one of ws, os, is", *pinned);
    c.pinned_dataflow = d;
  }

  ENGINE_ASSIGN_OR_RETURN(const Json* clock, r.Required(root, "", "clock_mhz"));
  ENGINE_ASSIGN_OR_RETURN(c.clock_mhz, r.Number(*clock, "clock_mhz", kClockRange));

  ENGINE_ASSIGN_OR_RETURN(const Json* scratchpad, r.Required(root, "", "scratchpad"));
  ENGINE_ASSIGN_OR_RETURN(c.scratchpad, r.Buffer(*scratchpad, "scratchpad"));
  if (const Json* wb = FieldReader::Optional(root, "weight_buffer")) {
    ENGINE_ASSIGN_OR_RETURN(c.weight_buffer, r.Buffer(*wb, "weight_buffer"));
  } else {
    c.weight_buffer = BufferConfig{0, 1};
  }
  ENGINE_ASSIGN_OR_RETURN(const Json* acc, r.Required(root, "", "accumulator"));
  ENGINE_ASSIGN_OR_RETURN(c.accumulator, r.Buffer(*acc, "accumulator"));

  ENGINE_ASSIGN_OR_RETURN(const Json* dram, r.Required(root, "", "dram"));
  ENGINE_RETURN_IF_ERROR(
      r.CheckObject(*dram, "dram", {"bytes_per_cycle", "bandwidth_gbps", "latency_cycles"}));
  const Json* bpc = FieldReader::Optional(*dram, "bytes_per_cycle");
  const Json* gbps = FieldReader::Optional(*dram, "bandwidth_gbps");
  if ((bpc == nullptr) == (gbps == nullptr)) {
    return absl::InvalidArgumentError(absl::StrCat(
        r.source(), ": field 'dram': expected exactly one of 'dram.bytes_per_cycle' and "
                    "'dram.bandwidth_gbps', got ",
        bpc == nullptr ? "neither" : "both"));
  }
  if (bpc != nullptr) {
    ENGINE_ASSIGN_OR_RETURN(c.dram_bytes_per_cycle,
                            r.Number(*bpc, "dram.bytes_per_cycle", kBytesPerCycleRange));
  } else {
    ENGINE_ASSIGN_OR_RETURN(double g, r.Number(*gbps, "dram.bandwidth_gbps", kBandwidthRange));
    c.dram_bytes_per_cycle = g * 1000.0 / c.clock_mhz;
    if (!kBytesPerCycleRange.Contains(c.dram_bytes_per_cycle)) {
      return r.Error("dram.bandwidth_gbps",
                     absl::StrCat("a bandwidth that is ", kBytesPerCycleRange.Expected(), " at ",
                                  absl::StrFormat("%g", c.clock_mhz), " MHz"),
                     *gbps);
    }
  }
  ENGINE_ASSIGN_OR_RETURN(const Json* latency, r.Required(*dram, "dram", "latency_cycles"));
  ENGINE_ASSIGN_OR_RETURN(int64_t lat, r.Int(*latency, "dram.latency_cycles", 0, kMaxDramLatency,
                                              absl::StrCat("an integer from 0 to ", kMaxDramLatency,
                                                           " (cycles)")));
  c.dram_latency_cycles = static_cast<int>(lat);

  c.dma_bytes_per_cycle = 0.0;
  if (const Json* dma = FieldReader::Optional(root, "dma")) {
    ENGINE_RETURN_IF_ERROR(r.CheckObject(*dma, "dma", {"bytes_per_cycle"}));
    ENGINE_ASSIGN_OR_RETURN(const Json* v, r.Required(*dma, "dma", "bytes_per_cycle"));
    ENGINE_ASSIGN_OR_RETURN(c.dma_bytes_per_cycle,
                            r.Number(*v, "dma.bytes_per_cycle", kDmaBytesPerCycleRange));
  }

  ENGINE_ASSIGN_OR_RETURN(const Json* vector, r.Required(root, "", "vector"));
  ENGINE_RETURN_IF_ERROR(r.CheckObject(*vector, "vector", {"lanes", "ops_per_cycle"}));
  ENGINE_ASSIGN_OR_RETURN(const Json* lanes, r.Required(*vector, "vector", "lanes"));
  ENGINE_ASSIGN_OR_RETURN(int64_t n, r.Int(*lanes, "vector.lanes", 1, kMaxVectorLanes,
                                            absl::StrCat("an integer from 1 to ", kMaxVectorLanes)));
  c.vector_lanes = static_cast<int>(n);
  ENGINE_ASSIGN_OR_RETURN(const Json* ops, r.Required(*vector, "vector", "ops_per_cycle"));
  ENGINE_ASSIGN_OR_RETURN(c.vector_ops_per_cycle,
                          r.Number(*ops, "vector.ops_per_cycle", kOpsPerCycleRange));

  ENGINE_ASSIGN_OR_RETURN(const Json* precisions, r.Required(root, "", "precisions"));
  ENGINE_ASSIGN_OR_RETURN(c.precisions, r.NameList<Precision>(*precisions, "precisions",
                                                              ParsePrecision, "int8, fp16, bf16, fp32"));

  c.energy = EnergyTable{};
  if (const Json* energy = FieldReader::Optional(root, "energy_pj")) {
    ENGINE_RETURN_IF_ERROR(r.Energy(*energy, c.energy));
  }

  if (const Json* ideal = FieldReader::Optional(root, "ideal_memory")) {
    if (!ideal->is_boolean()) return r.Error("ideal_memory", "true or false", *ideal);
    c.ideal_memory = ideal->get<bool>();
  }
  return c;
}

// ---- Override values -------------------------------------------------------

absl::Status BadOverride(std::string_view key, std::string_view value,
                         const std::string& expected) {
  return absl::InvalidArgumentError(absl::StrCat("override '", std::string(key), "=",
                                                 std::string(value), "': expected ", expected));
}

std::optional<int64_t> ParseInt(absl::string_view s, int64_t min, int64_t max) {
  int64_t v = 0;
  if (s.empty() || !absl::SimpleAtoi(s, &v) || v < min || v > max) return std::nullopt;
  return v;
}

/// A number within `range` (NaN, infinities and out-of-range values fail).
std::optional<double> ParseNumberIn(absl::string_view s, const Range& range) {
  double v = 0;
  if (s.empty() || !absl::SimpleAtod(s, &v) || !range.Contains(v)) return std::nullopt;
  return v;
}

/// "4096", "4096B", "256K", "256KB", "256KiB", "1M", "1MB", "1MiB", "1G"...
std::optional<uint64_t> ParseSize(absl::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[digits]))) {
    ++digits;
  }
  if (digits == 0 || digits > 18) return std::nullopt;
  uint64_t n = 0;
  if (!absl::SimpleAtoi(s.substr(0, digits), &n)) return std::nullopt;
  std::string suffix = absl::AsciiStrToLower(absl::StripAsciiWhitespace(s.substr(digits)));
  uint64_t unit = 0;
  if (suffix.empty() || suffix == "b") {
    unit = 1;
  } else if (suffix == "k" || suffix == "kb" || suffix == "kib") {
    unit = kKiB;
  } else if (suffix == "m" || suffix == "mb" || suffix == "mib") {
    unit = kMiB;
  } else if (suffix == "g" || suffix == "gb" || suffix == "gib") {
    unit = kGiB;
  } else {
    return std::nullopt;
  }
  if (n > (uint64_t{1} << 62) / unit) return std::nullopt;
  return n * unit;
}

// ---- Formatting --------------------------------------------------------------

std::string FormatBytes(uint64_t bytes) {
  if (bytes >= kGiB && bytes % kGiB == 0) return absl::StrCat(bytes / kGiB, " GiB");
  if (bytes >= kMiB && bytes % kMiB == 0) return absl::StrCat(bytes / kMiB, " MiB");
  if (bytes >= kKiB && bytes % kKiB == 0) return absl::StrCat(bytes / kKiB, " KiB");
  return absl::StrCat(bytes, " B");
}

/// `v` with 3 significant digits, without exponent or trailing zeros.
std::string FormatSig3(double v) {
  if (!std::isfinite(v)) return absl::StrCat(v);
  if (v == 0) return "0";
  int int_digits = static_cast<int>(std::floor(std::log10(std::fabs(v)))) + 1;
  int decimals = std::clamp(3 - int_digits, 0, 12);
  std::string s = absl::StrFormat("%.*f", decimals, v);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string DataflowList(const std::vector<Dataflow>& dataflows, const char* sep) {
  return absl::StrJoin(dataflows, sep, [](std::string* out, Dataflow d) {
    out->append(DataflowName(d));
  });
}

absl::Status FieldError(const HardwareConfig& c, const std::string& field,
                        const std::string& expected, const std::string& got) {
  return absl::InvalidArgumentError(absl::StrCat("hardware '", c.name, "': field '", field,
                                                 "': expected ", expected, ", got ", got));
}

/// Shared by all presets: int8, fp16, bf16 and fp32 operands (tpu-v1 removes
/// fp16 and bf16), Horowitz 45 nm energies.
HardwareConfig PresetBase() {
  HardwareConfig c;
  c.precisions = {Precision::kInt8, Precision::kFp16, Precision::kBf16, Precision::kFp32};
  c.energy = EnergyTable{};
  return c;
}

}  // namespace

// ---- Enums -------------------------------------------------------------------

const char* DataflowName(Dataflow dataflow) {
  switch (dataflow) {
    case Dataflow::kWeightStationary:
      return "ws";
    case Dataflow::kOutputStationary:
      return "os";
    case Dataflow::kInputStationary:
      return "is";
  }
  return "?";
}

std::optional<Dataflow> ParseDataflow(std::string_view name) {
  std::string n = absl::AsciiStrToLower(AV(name));
  std::replace(n.begin(), n.end(), '-', '_');
  if (n == "ws" || n == "weight_stationary") return Dataflow::kWeightStationary;
  if (n == "os" || n == "output_stationary") return Dataflow::kOutputStationary;
  if (n == "is" || n == "input_stationary") return Dataflow::kInputStationary;
  return std::nullopt;
}

const char* ObjectiveName(Objective objective) {
  switch (objective) {
    case Objective::kLatency: return "latency";
    case Objective::kEnergy: return "energy";
    case Objective::kEdp: return "edp";
  }
  return "?";
}

const char* PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kInt8:
      return "int8";
    case Precision::kFp16:
      return "fp16";
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
  }
  return "?";
}

std::optional<Precision> ParsePrecision(std::string_view name) {
  std::string n = absl::AsciiStrToLower(AV(name));
  if (n == "int8") return Precision::kInt8;
  if (n == "fp16" || n == "float16") return Precision::kFp16;
  if (n == "fp32" || n == "float32") return Precision::kFp32;
  if (n == "bf16" || n == "bfloat16") return Precision::kBf16;
  return std::nullopt;
}

int PrecisionBytes(Precision precision) {
  switch (precision) {
    case Precision::kInt8:
      return 1;
    case Precision::kFp16:
    case Precision::kBf16:
      return 2;
    case Precision::kFp32:
      return 4;
  }
  return 4;
}

double EnergyTable::MacPj(Precision precision) const {
  switch (precision) {
    case Precision::kInt8:
      return mac_int8_pj;
    case Precision::kFp16:
      return mac_fp16_pj;
    case Precision::kBf16:
      return mac_bf16_pj;
    case Precision::kFp32:
      return mac_fp32_pj;
  }
  return mac_fp32_pj;
}

double HardwareConfig::TransferBytesPerCycle() const {
  if (ideal_memory) return std::numeric_limits<double>::infinity();
  if (dma_bytes_per_cycle > 0) return std::min(dram_bytes_per_cycle, dma_bytes_per_cycle);
  return dram_bytes_per_cycle;
}

bool HardwareConfig::Supports(Dataflow dataflow) const {
  return std::find(dataflows.begin(), dataflows.end(), dataflow) != dataflows.end();
}

bool HardwareConfig::Supports(Precision precision) const {
  return std::find(precisions.begin(), precisions.end(), precision) != precisions.end();
}

// ---- Presets -----------------------------------------------------------------

std::vector<std::string> HardwarePresetNames() { return {"edge", "gemmini", "tpu-v1"}; }

absl::StatusOr<HardwareConfig> HardwarePreset(std::string_view name) {
  if (name == "edge") {
    // The struct defaults: a 32x32 mobile NPU at 800 MHz with LPDDR4 at
    // 12.8 GB/s = 16 B/cycle and 8 pJ/bit = 64 pJ/byte (Accelergy CACTI DRAM
    // plug-in); compute and SRAM energies from Horowitz, ISSCC 2014.
    HardwareConfig c = PresetBase();
    c.name = "edge";
    return c;
  }
  if (name == "gemmini") {
    // ucb-bar/gemmini default config (GemminiConfigs.defaultConfig): 16x16
    // mesh, WS and OS dataflows, sp_capacity 256 KiB in 4 banks, acc_capacity
    // 64 KiB in 2 banks, dma_buswidth 128 bits = 16 B/cycle, 1 GHz. No
    // separate weight buffer: weights live in the scratchpad. DDR3 main memory
    // at 70 pJ/bit = 560 pJ/byte (Accelergy CACTI DRAM plug-in).
    HardwareConfig c = PresetBase();
    c.name = "gemmini";
    c.array_rows = 16;
    c.array_cols = 16;
    c.dataflows = {Dataflow::kWeightStationary, Dataflow::kOutputStationary};
    c.clock_mhz = 1000.0;
    c.scratchpad = {256 * kKiB, 4};
    c.weight_buffer = {0, 1};
    c.accumulator = {64 * kKiB, 2};
    c.dram_bytes_per_cycle = 16.0;
    c.dram_latency_cycles = 100;
    c.dma_bytes_per_cycle = 16.0;
    c.vector_lanes = 16;
    c.energy.dram_pj_per_byte = 560.0;
    return c;
  }
  if (name == "tpu-v1") {
    // Jouppi et al., "In-Datacenter Performance Analysis of a Tensor
    // Processing Unit", ISCA 2017: 256x256 MACs at 700 MHz, weight-stationary,
    // 24 MiB Unified Buffer, weight FIFO of four 64 KiB tiles, 4 MiB of
    // 32-bit accumulators, two DDR3-2133 channels = 34 GB/s. DDR3 at 70
    // pJ/bit = 560 pJ/byte (Accelergy CACTI DRAM plug-in).
    HardwareConfig c = PresetBase();
    c.name = "tpu-v1";
    // TPU v1's matrix unit multiplies 8-bit integers only (Jouppi et al.,
    // ISCA 2017, section 2): no fp16/bf16 datapath; fp32 stays as a what-if.
    c.precisions = {Precision::kInt8, Precision::kFp32};
    c.array_rows = 256;
    c.array_cols = 256;
    c.dataflows = {Dataflow::kWeightStationary};
    c.clock_mhz = 700.0;
    c.scratchpad = {24 * kMiB, 1};
    c.weight_buffer = {256 * kKiB, 4};
    c.accumulator = {4 * kMiB, 2};
    c.dram_bytes_per_cycle = 34000.0 / 700.0;  // 34 GB/s at 700 MHz
    c.dram_latency_cycles = 100;
    c.dma_bytes_per_cycle = 0.0;
    c.vector_lanes = 256;
    c.energy.dram_pj_per_byte = 560.0;
    return c;
  }
  return absl::NotFoundError(absl::StrCat("unknown hardware preset '", std::string(name),
                                          "'; presets: ",
                                          absl::StrJoin(HardwarePresetNames(), ", ")));
}

// ---- JSON --------------------------------------------------------------------

absl::StatusOr<HardwareConfig> ParseHardwareJson(std::string_view json, std::string_view source) {
  const std::string src(source);
  ENGINE_RETURN_IF_ERROR(CheckJsonDepth(json, src));
  Json root = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    ErrorRecorder recorder;
    Json::sax_parse(json, &recorder, nlohmann::detail::input_format_t::json,
                    /*strict=*/true);
    return absl::InvalidArgumentError(absl::StrCat(
        src, ": not valid JSON: ", recorder.message.empty() ? "syntax error" : recorder.message));
  }
  FieldReader reader(src);
  ENGINE_ASSIGN_OR_RETURN(HardwareConfig config, ParseHardwareValue(root, reader));
  ENGINE_RETURN_IF_ERROR(Annotate(ValidateHardwareConfig(config), src));
  return config;
}

absl::StatusOr<HardwareConfig> LoadHardwareFile(const std::string& path) {
  ReadFileOptions options;
  options.max_bytes = kMaxTextFileBytes;
  ENGINE_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, options));
  return ParseHardwareJson(text, path);
}

std::string HardwareConfigToJson(const HardwareConfig& c) {
  auto buffer = [](const BufferConfig& b) {
    return Json{{"bytes", b.bytes}, {"banks", b.banks}};
  };
  Json dataflows = Json::array();
  for (Dataflow d : c.dataflows) dataflows.push_back(DataflowName(d));
  Json precisions = Json::array();
  for (Precision p : c.precisions) precisions.push_back(PrecisionName(p));
  Json j = Json::object();
  j["name"] = c.name;
  j["array"] = {{"rows", c.array_rows}, {"cols", c.array_cols}};
  j["dataflows"] = std::move(dataflows);
  j["pinned_dataflow"] =
      c.pinned_dataflow ? Json(DataflowName(*c.pinned_dataflow)) : Json(nullptr);
  j["clock_mhz"] = c.clock_mhz;
  j["scratchpad"] = buffer(c.scratchpad);
  j["weight_buffer"] = buffer(c.weight_buffer);
  j["accumulator"] = buffer(c.accumulator);
  j["dram"] = {{"bytes_per_cycle", c.dram_bytes_per_cycle},
               {"latency_cycles", c.dram_latency_cycles}};
  j["dma"] = {{"bytes_per_cycle", c.dma_bytes_per_cycle}};
  j["vector"] = {{"lanes", c.vector_lanes}, {"ops_per_cycle", c.vector_ops_per_cycle}};
  j["precisions"] = std::move(precisions);
  j["energy_pj"] = {{"mac",
                     {{"int8", c.energy.mac_int8_pj},
                      {"fp16", c.energy.mac_fp16_pj},
                      {"bf16", c.energy.mac_bf16_pj},
                      {"fp32", c.energy.mac_fp32_pj}}},
                    {"sram_byte", c.energy.sram_pj_per_byte},
                    {"accumulator_byte", c.energy.accumulator_pj_per_byte},
                    {"dram_byte", c.energy.dram_pj_per_byte},
                    {"vector_op", c.energy.vector_op_pj}};
  j["ideal_memory"] = c.ideal_memory;
  return j.dump();
}

// ---- Overrides and --hw --------------------------------------------------------

absl::Status ApplyHardwareOverride(HardwareConfig& config, std::string_view key,
                                   std::string_view value) {
  const std::string v(absl::StripAsciiWhitespace(AV(value)));
  if (key == "array") {
    std::vector<std::string> parts = absl::StrSplit(absl::AsciiStrToLower(v), 'x');
    std::optional<int64_t> rows, cols;
    if (parts.size() == 2) {
      rows = ParseInt(parts[0], 1, kMaxArrayDim);
      cols = ParseInt(parts[1], 1, kMaxArrayDim);
    }
    if (!rows || !cols) {
      return BadOverride(key, value, absl::StrCat("RxC, e.g. 32x32 (1 to ", kMaxArrayDim,
                                                  " each)"));
    }
    config.array_rows = static_cast<int>(*rows);
    config.array_cols = static_cast<int>(*cols);
  } else if (key == "rows" || key == "cols") {
    std::optional<int64_t> n = ParseInt(v, 1, kMaxArrayDim);
    if (!n) return BadOverride(key, value, absl::StrCat("an integer from 1 to ", kMaxArrayDim));
    (key == "rows" ? config.array_rows : config.array_cols) = static_cast<int>(*n);
  } else if (key == "dataflow") {
    std::optional<Dataflow> d = ParseDataflow(v);
    if (!d) return BadOverride(key, value, "ws, os or is");
    config.pinned_dataflow = d;
  } else if (key == "memory") {
    std::string m = absl::AsciiStrToLower(v);
    if (m != "ideal" && m != "real") return BadOverride(key, value, "ideal or real");
    config.ideal_memory = (m == "ideal");
  } else if (key == "clock") {
    absl::string_view s = v;
    if (!absl::ConsumeSuffix(&s, "MHz")) absl::ConsumeSuffix(&s, "mhz");
    std::optional<double> mhz = ParseNumberIn(s, kClockRange);
    if (!mhz) return BadOverride(key, value, absl::StrCat("a clock in MHz, e.g. 800: ", kClockRange.Expected()));
    config.clock_mhz = *mhz;
  } else if (key == "scratchpad" || key == "weight_buffer" || key == "accumulator") {
    std::optional<uint64_t> bytes = ParseSize(v);
    if (!bytes || *bytes > static_cast<uint64_t>(kMaxBufferBytes)) {
      return BadOverride(key, value, "a size from 0 to 1 TiB, e.g. 4096, 256KiB or 1MiB");
    }
    BufferConfig& buffer = key == "scratchpad"    ? config.scratchpad
                           : key == "accumulator" ? config.accumulator
                                                  : config.weight_buffer;
    buffer.bytes = *bytes;
  } else if (key == "dram_bw") {
    absl::string_view s = v;
    if (!absl::ConsumeSuffix(&s, "GB/s")) absl::ConsumeSuffix(&s, "gbps");
    std::optional<double> gbps = ParseNumberIn(s, kBandwidthRange);
    if (!gbps) {
      return BadOverride(key, value, absl::StrCat("a DRAM bandwidth in GB/s, e.g. 12.8: ",
                                                  kBandwidthRange.Expected()));
    }
    const double bpc = *gbps * 1000.0 / config.clock_mhz;
    if (!kBytesPerCycleRange.Contains(bpc)) {
      return BadOverride(key, value,
                         absl::StrCat("a bandwidth that is ", kBytesPerCycleRange.Expected(), " at ",
                                      absl::StrFormat("%g", config.clock_mhz), " MHz (got ",
                                      absl::StrFormat("%g", bpc), ")"));
    }
    config.dram_bytes_per_cycle = bpc;
  } else if (key == "dram_bytes_per_cycle") {
    std::optional<double> n = ParseNumberIn(v, kBytesPerCycleRange);
    if (!n) return BadOverride(key, value, kBytesPerCycleRange.Expected());
    config.dram_bytes_per_cycle = *n;
  } else if (key == "dram_latency") {
    std::optional<int64_t> n = ParseInt(v, 0, kMaxDramLatency);
    if (!n) return BadOverride(key, value, absl::StrCat("an integer from 0 to ", kMaxDramLatency, " (cycles)"));
    config.dram_latency_cycles = static_cast<int>(*n);
  } else if (key == "dma_bytes_per_cycle") {
    std::optional<double> n = ParseNumberIn(v, kDmaBytesPerCycleRange);
    if (!n) return BadOverride(key, value, kDmaBytesPerCycleRange.Expected());
    config.dma_bytes_per_cycle = *n;
  } else if (key == "vector_lanes") {
    std::optional<int64_t> n = ParseInt(v, 1, kMaxVectorLanes);
    if (!n) return BadOverride(key, value, absl::StrCat("an integer from 1 to ", kMaxVectorLanes));
    config.vector_lanes = static_cast<int>(*n);
  } else if (key == "name") {
    if (v.empty()) return BadOverride(key, value, "a non-empty name");
    config.name = v;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown hardware override '",
                                                   std::string(key), "'; keys: ",
                                                   kOverrideKeys));
  }
  return absl::OkStatus();
}

absl::StatusOr<HardwareConfig> ParseHardwareSpec(std::string_view spec) {
  const std::string spec_str(spec);
  std::vector<std::string> items = absl::StrSplit(spec_str, ',');
  std::string base(absl::StripAsciiWhitespace(items[0]));
  if (base.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--hw '", spec_str, "': expected a preset (",
        absl::StrJoin(HardwarePresetNames(), ", "), ") or a JSON file before the overrides"));
  }
  HardwareConfig config;
  absl::StatusOr<HardwareConfig> preset = HardwarePreset(base);
  if (preset.ok()) {
    config = *std::move(preset);
  } else {
    std::error_code ec;
    if (!std::filesystem::exists(base, ec)) {
      return absl::NotFoundError(absl::StrCat("--hw '", base, "': not a preset (",
                                              absl::StrJoin(HardwarePresetNames(), ", "),
                                              ") and no such file"));
    }
    ENGINE_ASSIGN_OR_RETURN(config, LoadHardwareFile(base));
  }
  for (size_t i = 1; i < items.size(); ++i) {
    absl::string_view item = absl::StripAsciiWhitespace(items[i]);
    size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--hw '", spec_str, "': override '", std::string(item),
                       "' is not KEY=VALUE; keys: ", kOverrideKeys));
    }
    ENGINE_RETURN_IF_ERROR(ApplyHardwareOverride(
        config, SV(absl::StripAsciiWhitespace(item.substr(0, eq))), SV(item.substr(eq + 1))));
  }
  ENGINE_RETURN_IF_ERROR(ValidateHardwareConfig(config));
  return config;
}

// ---- Validation and summary ------------------------------------------------------

absl::Status ValidateHardwareConfig(const HardwareConfig& c) {
  if (c.name.empty()) return FieldError(c, "name", "a non-empty name", "\"\"");
  auto check_dim = [&](const char* field, int v) -> absl::Status {
    if (v < 1 || v > kMaxArrayDim) {
      return FieldError(c, field, absl::StrCat("1 to ", kMaxArrayDim), absl::StrCat(v));
    }
    return absl::OkStatus();
  };
  ENGINE_RETURN_IF_ERROR(check_dim("array.rows", c.array_rows));
  ENGINE_RETURN_IF_ERROR(check_dim("array.cols", c.array_cols));
  auto check_number = [&](const char* field, double v, const Range& range) -> absl::Status {
    if (!range.Contains(v)) return FieldError(c, field, range.Expected(), absl::StrCat(v));
    return absl::OkStatus();
  };
  ENGINE_RETURN_IF_ERROR(check_number("clock_mhz", c.clock_mhz, kClockRange));
  auto check_buffer = [&](const char* field, const BufferConfig& b,
                          bool need_bytes) -> absl::Status {
    if (need_bytes && b.bytes == 0) {
      return FieldError(c, absl::StrCat(field, ".bytes"),
                        "a positive size (or memory=ideal)", "0");
    }
    if (b.bytes > static_cast<uint64_t>(kMaxBufferBytes)) {
      return FieldError(c, absl::StrCat(field, ".bytes"),
                        absl::StrCat("at most ", kMaxBufferBytes, " bytes (1 TiB)"),
                        absl::StrCat(b.bytes));
    }
    if (b.banks < 1 || b.banks > kMaxBanks) {
      return FieldError(c, absl::StrCat(field, ".banks"), absl::StrCat("1 to ", kMaxBanks),
                        absl::StrCat(b.banks));
    }
    return absl::OkStatus();
  };
  ENGINE_RETURN_IF_ERROR(check_buffer("scratchpad", c.scratchpad, !c.ideal_memory));
  ENGINE_RETURN_IF_ERROR(check_buffer("weight_buffer", c.weight_buffer, false));
  ENGINE_RETURN_IF_ERROR(check_buffer("accumulator", c.accumulator, !c.ideal_memory));
  ENGINE_RETURN_IF_ERROR(
      check_number("dram.bytes_per_cycle", c.dram_bytes_per_cycle, kBytesPerCycleRange));
  if (c.dram_latency_cycles < 0 || c.dram_latency_cycles > kMaxDramLatency) {
    return FieldError(c, "dram.latency_cycles",
                      absl::StrCat("an integer from 0 to ", kMaxDramLatency, " (cycles)"),
                      absl::StrCat(c.dram_latency_cycles));
  }
  ENGINE_RETURN_IF_ERROR(
      check_number("dma.bytes_per_cycle", c.dma_bytes_per_cycle, kDmaBytesPerCycleRange));
  if (c.vector_lanes < 1 || c.vector_lanes > kMaxVectorLanes) {
    return FieldError(c, "vector.lanes", absl::StrCat("1 to ", kMaxVectorLanes),
                      absl::StrCat(c.vector_lanes));
  }
  ENGINE_RETURN_IF_ERROR(
      check_number("vector.ops_per_cycle", c.vector_ops_per_cycle, kOpsPerCycleRange));
  if (c.dataflows.empty()) return FieldError(c, "dataflows", "at least one dataflow", "[]");
  for (size_t i = 0; i < c.dataflows.size(); ++i) {
    const std::string field = absl::StrCat("dataflows[", i, "]");
    if (static_cast<int>(c.dataflows[i]) > 2) {
      return FieldError(c, field, "ws, os or is",
                        absl::StrCat("value ", static_cast<int>(c.dataflows[i])));
    }
    for (size_t k = 0; k < i; ++k) {
      if (c.dataflows[k] == c.dataflows[i]) {
        return FieldError(c, field, "no duplicates",
                          absl::StrCat("\"", DataflowName(c.dataflows[i]), "\" again"));
      }
    }
  }
  if (c.precisions.empty()) return FieldError(c, "precisions", "at least one precision", "[]");
  for (size_t i = 0; i < c.precisions.size(); ++i) {
    const std::string field = absl::StrCat("precisions[", i, "]");
    if (!PrecisionFromCode(static_cast<int>(c.precisions[i]))) {
      return FieldError(c, field, "int8, fp16, bf16 or fp32",
                        absl::StrCat("value ", static_cast<int>(c.precisions[i])));
    }
    for (size_t k = 0; k < i; ++k) {
      if (c.precisions[k] == c.precisions[i]) {
        return FieldError(c, field, "no duplicates",
                          absl::StrCat("\"", PrecisionName(c.precisions[i]), "\" again"));
      }
    }
  }
  if (c.pinned_dataflow && !c.Supports(*c.pinned_dataflow)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dataflow=", DataflowName(*c.pinned_dataflow), ": hardware '", c.name, "' supports ",
        DataflowList(c.dataflows, ", "), " (field 'pinned_dataflow')"));
  }
  const std::pair<const char*, double> energies[] = {
      {"energy_pj.mac.int8", c.energy.mac_int8_pj},
      {"energy_pj.mac.fp16", c.energy.mac_fp16_pj},
      {"energy_pj.mac.bf16", c.energy.mac_bf16_pj},
      {"energy_pj.mac.fp32", c.energy.mac_fp32_pj},
      {"energy_pj.sram_byte", c.energy.sram_pj_per_byte},
      {"energy_pj.accumulator_byte", c.energy.accumulator_pj_per_byte},
      {"energy_pj.dram_byte", c.energy.dram_pj_per_byte},
      {"energy_pj.vector_op", c.energy.vector_op_pj}};
  for (const auto& [field, pj] : energies) {
    ENGINE_RETURN_IF_ERROR(check_number(field, pj, kEnergyRange));
  }
  return absl::OkStatus();
}

std::string HardwareSummary(const HardwareConfig& c) {
  std::string s = absl::StrCat(c.name, ": ", c.array_rows, "x", c.array_cols, " array (",
                               DataflowList(c.dataflows, ","));
  if (c.pinned_dataflow) absl::StrAppend(&s, "; pinned ", DataflowName(*c.pinned_dataflow));
  absl::StrAppend(&s, ") at ", absl::StrFormat("%g", c.clock_mhz), " MHz");
  absl::StrAppend(&s, ", scratchpad ", FormatBytes(c.scratchpad.bytes), " x",
                  c.scratchpad.banks, " banks");
  if (c.weight_buffer.bytes > 0) {
    absl::StrAppend(&s, ", weight buffer ", FormatBytes(c.weight_buffer.bytes), " x",
                    c.weight_buffer.banks);
  }
  absl::StrAppend(&s, ", accumulator ", FormatBytes(c.accumulator.bytes), " x",
                  c.accumulator.banks);
  absl::StrAppend(&s, ", DRAM ", absl::StrFormat("%.4g", c.dram_bytes_per_cycle),
                  " B/cycle (", FormatSig3(c.DramGBps()), " GB/s, ", c.dram_latency_cycles,
                  " cycles latency)");
  if (c.dma_bytes_per_cycle > 0 && c.dma_bytes_per_cycle < c.dram_bytes_per_cycle) {
    absl::StrAppend(&s, ", DMA ", absl::StrFormat("%.4g", c.dma_bytes_per_cycle),
                    " B/cycle");
  }
  absl::StrAppend(&s, ", vector ", c.vector_lanes, " lanes");
  if (c.vector_ops_per_cycle != 1.0) {
    absl::StrAppend(&s, " x", absl::StrFormat("%g", c.vector_ops_per_cycle), " ops/cycle");
  }
  if (c.ideal_memory) absl::StrAppend(&s, ", ideal memory");
  return s;
}

}  // namespace engine
