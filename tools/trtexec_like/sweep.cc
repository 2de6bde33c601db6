#include "trtexec_like/sweep.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/hardware.h"
#include "engine/runtime.h"
#include "trtexec_like/format.h"
#include "trtexec_like/progress.h"
#include "trtexec_like/report/compare.h"
#include "trtexec_like/report/json_file.h"
#include "trtexec_like/report/run_report.h"

namespace trtexec_like {
namespace {

using Clock = std::chrono::steady_clock;

// Rows of the per-layer table the sweep prints (`compare --top`).
constexpr int kSweepTopLayers = 15;

std::string Plural(size_t n, const char* what) {
  return absl::StrCat(n, " ", what, n == 1 ? "" : "s");
}

}  // namespace

absl::Status RunHwSweep(const Options& opt, const std::vector<SweepPoint>& points,
                        const engine::BuilderConfig& config, const std::string& command,
                        engine::Logger& logger) {
  const size_t n = points.size();
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
  for (const auto& [key, value] : points.front().overrides) {
    std::set<std::string> values;
    for (const SweepPoint& p : points) {
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
    const SweepPoint& point = points[i];
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
    auto report = ParseReport(json->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                              point_opt.export_report);
    if (!report.ok()) return fail(report.status());

    if (bar.enabled()) std::fprintf(stderr, "\r\033[K");  // the bar's line, redrawn below
    const std::string energy = FormatEnergy(report->energy_pj);
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
