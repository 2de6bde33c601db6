#include "sweep.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "compare.h"
#include "device_report.h"
#include "engine/hardware.h"
#include "engine/runtime.h"
#include "progress.h"
#include "run_report.h"

namespace trtexec_like {
namespace {

using Clock = std::chrono::steady_clock;

// Rows of the per-layer table the sweep prints (`compare --top`).
constexpr int kSweepTopLayers = 15;

struct Axis {
  std::string key;
  std::vector<std::string> values;
};

absl::Status BadItem(absl::string_view item, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("--hwSweep item '", item, "': ", why));
}

// A value as a file-name part: [A-Za-z0-9.+-] kept, the rest '_'.
std::string FilePart(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '+' && c != '-') {
      c = '_';
    }
  }
  return out;
}

std::string Plural(size_t n, const char* what) {
  return absl::StrCat(n, " ", what, n == 1 ? "" : "s");
}

}  // namespace

absl::StatusOr<std::vector<SweepPoint>> ParseHwSweep(const std::string& spec,
                                                     const std::string& base_hw) {
  const std::string base = base_hw.empty() ? "edge" : base_hw;
  auto base_config = engine::ParseHardwareSpec(base);
  if (!base_config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--hwSweep: the base --hw '", base, "' is invalid: ",
                     base_config.status().message()));
  }
  std::vector<Axis> axes;
  std::set<std::string> keys;
  for (absl::string_view raw : absl::StrSplit(spec, ';')) {
    const absl::string_view item = absl::StripAsciiWhitespace(raw);
    if (item.empty()) {
      if (absl::StripAsciiWhitespace(spec).empty()) {
        return absl::InvalidArgumentError(
            "--hwSweep: empty; expected KEY=VALUE|VALUE...[;KEY=...], e.g. "
            "array=16x16|32x32;dram_bw=8|32");
      }
      continue;  // a trailing or doubled ';'
    }
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return BadItem(item, "expected KEY=VALUE|VALUE..., e.g. array=16x16|32x32");
    }
    Axis axis;
    axis.key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(item.substr(0, eq)));
    if (axis.key.empty()) return BadItem(item, "missing the key before '='");
    if (axis.key == "bandwidth") axis.key = "dram_bw";
    if (!keys.insert(axis.key).second) {
      return BadItem(item, absl::StrCat("key '", axis.key, "' is swept twice"));
    }
    std::set<std::string> seen;
    for (absl::string_view v : absl::StrSplit(item.substr(eq + 1), '|')) {
      const std::string value(absl::StripAsciiWhitespace(v));
      if (value.empty()) return BadItem(item, "empty value (values are separated by '|')");
      if (value.find_first_of(",=;") != std::string::npos) {
        return BadItem(item, absl::StrCat("value '", value, "' contains ',', '=' or ';'"));
      }
      if (!seen.insert(value).second) {
        return BadItem(item, absl::StrCat("value '", value, "' is listed twice"));
      }
      engine::HardwareConfig probe = *base_config;
      absl::Status s = engine::ApplyHardwareOverride(probe, axis.key, value);
      if (!s.ok()) return BadItem(item, std::string(s.message()));
      axis.values.push_back(value);
    }
    axes.push_back(std::move(axis));
  }
  if (axes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--hwSweep '", spec, "': no KEY=VALUE|VALUE... item, e.g. array=16x16|32x32;dram_bw=8|32"));
  }
  size_t count = 1;
  for (const Axis& a : axes) {
    count *= a.values.size();
    if (count > kMaxSweepPoints) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--hwSweep '", spec, "': more than ", kMaxSweepPoints,
          " configurations; sweep fewer values at a time"));
    }
  }
  const int digits = std::max<int>(2, static_cast<int>(std::to_string(count).size()));
  std::vector<SweepPoint> points;
  for (size_t i = 0; i < count; ++i) {
    // Mixed radix, the last axis fastest.
    std::vector<size_t> index(axes.size());
    size_t rest = i;
    for (size_t a = axes.size(); a-- > 0;) {
      index[a] = rest % axes[a].values.size();
      rest /= axes[a].values.size();
    }
    SweepPoint p;
    p.hw_spec = base;
    std::vector<std::string> parts;
    for (size_t a = 0; a < axes.size(); ++a) {
      const std::string& value = axes[a].values[index[a]];
      p.overrides.emplace_back(axes[a].key, value);
      absl::StrAppend(&p.hw_spec, ",", axes[a].key, "=", value);
      parts.push_back(absl::StrCat(axes[a].key, "-", FilePart(value)));
    }
    p.file_name = absl::StrCat("p", absl::StrFormat("%0*d", digits, static_cast<int>(i + 1)), "_",
                               absl::StrJoin(parts, "_"), ".json");
    auto hw = engine::ParseHardwareSpec(p.hw_spec);
    if (!hw.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--hwSweep configuration --hw=", p.hw_spec,
                                                     ": ", hw.status().message()));
    }
    points.push_back(std::move(p));
  }
  return points;
}

absl::Status CheckHwSweepOptions(const Options& opt) {
  if (opt.hw_sweep.empty()) {
    if (!opt.export_report_dir.empty()) {
      return absl::InvalidArgumentError(
          "--exportReportDir is used with --hwSweep (one report per configuration); for one "
          "run use --exportReport=FILE");
    }
    return absl::OkStatus();
  }
  if (!opt.load_engine.empty()) {
    return absl::InvalidArgumentError(
        "--hwSweep builds the model once per configuration: give --onnx, not --loadEngine");
  }
  const std::pair<const char*, bool> conflicts[] = {
      {"--exportReport (use --exportReportDir=DIR: one report per configuration)",
       !opt.export_report.empty()},
      {"--saveEngine", !opt.save_engine.empty()},
      {"--compareInt8", opt.compare_int8},
      {"--evalData", !opt.eval_data.empty()},
      {"--loadInputs", !opt.load_inputs.empty()},
      {"--loadRefOutputs", !opt.load_ref_outputs.empty()},
      {"--exportOutput", !opt.export_output.empty()},
      {"--exportProfile", !opt.export_profile.empty()},
      {"--exportTrace", !opt.export_trace.empty()},
      {"--exportLayerInfo", !opt.export_layer_info.empty()},
      {"--dumpIrAfter", !opt.dump_ir_after.empty()},
      {"--dumpDot", !opt.dump_dot.empty()},
  };
  for (const auto& [flag, given] : conflicts) {
    if (given) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--hwSweep only builds (modeled figures, one report per configuration): ", flag,
          " cannot be used with it"));
    }
  }
  if (!opt.export_report_dir.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(opt.export_report_dir, ec) &&
        !std::filesystem::is_directory(opt.export_report_dir, ec)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--exportReportDir '", opt.export_report_dir, "' exists and is not a directory"));
    }
  }
  return ParseHwSweep(opt.hw_sweep, opt.hw).status();
}

absl::Status RunHwSweep(const Options& opt, const engine::BuilderConfig& config,
                        const std::string& command, engine::Logger& logger) {
  auto points = ParseHwSweep(opt.hw_sweep, opt.hw);
  if (!points.ok()) return points.status();
  const size_t n = points->size();
  const std::string& dir = opt.export_report_dir;
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir)) {
      return absl::PermissionDeniedError(absl::StrCat("--exportReportDir: cannot create '", dir,
                                                      "': ", ec ? ec.message() : "not a directory"));
    }
  }
  std::vector<std::string> axes;
  for (const auto& [key, value] : points->front().overrides) {
    std::set<std::string> values;
    for (const SweepPoint& p : *points) {
      for (const auto& [k, v] : p.overrides) {
        if (k == key) values.insert(v);
      }
    }
    axes.push_back(absl::StrCat(key, " (", values.size(), ")"));
  }
  std::printf("[I] Hardware sweep: %s of --hw=%s x %s; build only (modeled figures, no "
              "inference)%s\n",
              Plural(n, "configuration").c_str(), opt.hw.empty() ? "edge" : opt.hw.c_str(),
              absl::StrJoin(axes, " x ").c_str(),
              dir.empty() ? "; reports kept in memory (--exportReportDir=DIR writes them)"
                          : absl::StrCat("; reports in ", dir).c_str());

  engine::Builder builder(&logger);
  std::vector<Report> reports;
  ProgressBar bar("sweep", static_cast<int64_t>(n));
  const auto start = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    const SweepPoint& point = (*points)[i];
    auto fail = [&](const absl::Status& s) {
      bar.Finish();
      return absl::Status(s.code(), absl::StrCat("--hwSweep configuration ", i + 1, "/", n,
                                                 " (--hw=", point.hw_spec, "): ", s.message()));
    };
    engine::BuilderConfig c = config;
    auto hw = engine::ParseHardwareSpec(point.hw_spec);
    if (!hw.ok()) return fail(hw.status());
    c.hardware = *std::move(hw);
    const auto t0 = Clock::now();
    auto built = builder.BuildFromOnnxFile(opt.onnx, c);
    if (!built.ok()) return fail(built.status());
    const double build_s = std::chrono::duration<double>(Clock::now() - t0).count();
    auto eng = engine::Runtime::DeserializeEngine(built->plan, &logger);
    if (!eng.ok()) return fail(eng.status());

    Options point_opt = opt;
    point_opt.hw = point.hw_spec;
    point_opt.skip_inference = true;
    point_opt.export_report =
        dir.empty() ? point.file_name : (std::filesystem::path(dir) / point.file_name).string();
    const std::string point_command = absl::StrCat(command, " # --hw=", point.hw_spec);
    auto json = RunReportJson(point_opt, point_command, **eng, /*host=*/nullptr);
    if (!json.ok()) return fail(json.status());
    if (!dir.empty()) {
      absl::Status s = WriteJsonFile("--exportReportDir", point_opt.export_report, *json);
      if (!s.ok()) return fail(s);
    }
    auto report = ParseReport(json->dump(), point_opt.export_report);
    if (!report.ok()) return fail(report.status());

    if (bar.enabled()) std::fprintf(stderr, "\r\033[K");  // the bar's line, redrawn below
    const double pj = report->energy_pj;
    const std::string energy = pj >= 1e8   ? absl::StrFormat("%.4g mJ", pj / 1e9)
                               : pj >= 1e5 ? absl::StrFormat("%.4g uJ", pj / 1e6)
                                           : absl::StrFormat("%.4g nJ", pj / 1e3);
    std::printf("[I] [%zu/%zu] --hw=%s: modeled %.4g ms, %s, utilization %.1f%%; built in "
                "%.2f s%s%s\n",
                i + 1, n, point.hw_spec.c_str(), report->latency_ms, energy.c_str(),
                100 * report->utilization, build_s, dir.empty() ? "" : " -> ",
                dir.empty() ? "" : point_opt.export_report.c_str());
    if (opt.verbose) PrintBuildPhases(*built);
    std::fflush(stdout);
    reports.push_back(*std::move(report));
    bar.Update(static_cast<int64_t>(i + 1));
  }
  bar.Finish();
  std::printf("[I] Built %s in %.1f s\n\n", Plural(n, "engine").c_str(),
              std::chrono::duration<double>(Clock::now() - start).count());
  if (reports.size() < 2) {
    std::printf("[I] One configuration: nothing to compare\n");
    return absl::OkStatus();
  }
  const std::vector<std::string> warnings = ComparabilityWarnings(reports);
  PrintComparison(reports, MatchLayers(reports), warnings, kSweepTopLayers);
  if (!dir.empty()) {
    std::printf("[I] All rows: trtexec_like compare --top=0 %s/p*.json (file names keep the "
                "sweep order); add --html=FILE for charts\n",
                dir.c_str());
  }
  return absl::OkStatus();
}

}  // namespace trtexec_like
