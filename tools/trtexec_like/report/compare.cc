#include "trtexec_like/report/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "trtexec_like/format.h"
#include "trtexec_like/report/compare_html.h"
#include "trtexec_like/report/json_file.h"

namespace trtexec_like {
namespace {

using Json = nlohmann::json;

// Union-find over integers.
class DisjointSets {
 public:
  int Add() {
    parent_.push_back(static_cast<int>(parent_.size()));
    return parent_.back();
  }
  int Find(int x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void Union(int a, int b) {
    a = Find(a);
    b = Find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

 private:
  std::vector<int> parent_;
};

// "value" for the reference report, "value (ratio)" for the others.
std::string Cell(double value, double reference, double scale, bool is_reference) {
  std::string v = FormatNumber(value / scale);
  if (is_reference) return v;
  return absl::StrCat(v, " (", FormatRatio(value, reference), ")");
}

// The widths of the columns of `rows`.
std::vector<size_t> ColumnWidths(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows) {
    if (w.size() < r.size()) w.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  return w;
}

// Prints one row: columns before `left_from` right-aligned (numbers), the
// others left-aligned; the last one is not padded.
void PrintRow(const std::vector<std::string>& row, const std::vector<size_t>& widths,
              size_t left_from) {
  std::string line = " ";
  for (size_t i = 0; i < row.size(); ++i) {
    const std::string pad(widths[i] - row[i].size(), ' ');
    if (i + 1 == row.size()) {
      absl::StrAppend(&line, " ", row[i]);
    } else if (i >= left_from) {
      absl::StrAppend(&line, " ", row[i], pad);
    } else {
      absl::StrAppend(&line, " ", pad, row[i]);
    }
  }
  std::printf("%s\n", line.c_str());
}

std::string Describe(const Report& r) {
  std::string out = absl::StrCat("model ", r.model_path, " (", r.model_hash_of, " fnv1a64 ",
                                 r.model_hash, "); hardware ", r.hardware_summary);
  if (!r.hw_spec.empty()) absl::StrAppend(&out, " [--hw=", r.hw_spec, "]");
  absl::StrAppend(&out, "; precision ", r.precision.empty() ? "?" : r.precision);
  if (!r.calibrator.empty()) absl::StrAppend(&out, " (", r.calibrator, ")");
  absl::StrAppend(&out, "; optLevel ", r.opt_level ? absl::StrCat(*r.opt_level) : "?",
                  ", objective ", r.objective, "; engine ", r.engine_version);
  if (r.host) {
    absl::StrAppend(&out, "; host ", r.hostname, " (", r.cpu_model, ", ", r.host->threads,
                    " threads, ", r.host->iterations, " iterations)");
  } else {
    absl::StrAppend(&out, "; no host timings");
  }
  if (r.evaluation) {
    absl::StrAppend(&out, "; evaluated on ", r.evaluation->images, " samples of ",
                    r.evaluation->dataset,
                    r.evaluation->top1_percent
                        ? absl::StrFormat(": top-1 %.2f%%", *r.evaluation->top1_percent)
                        : ": no labels");
  }
  return out;
}

std::string Machine(const Report& r) {
  return absl::StrCat(r.hostname, " / ", r.cpu_model, " / ", r.hardware_concurrency,
                      " hardware threads");
}

std::string GroupLabel(const LayerGroup& g, size_t report) {
  if (g.layers[report].empty()) return absl::StrCat("[", report + 1, "] (absent)");
  return absl::StrCat("[", report + 1, "] ", absl::StrJoin(g.layers[report], " | "));
}

void PrintSummary(const std::vector<Report>& reports) {
  const SummaryUnits units = ChooseSummaryUnits(reports);
  const Unit eu = units.energy, du = units.dram, au = units.arena;
  const bool any_host = units.any_host;
  const Report& ref = reports[0];
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"#", "Latency(ms)", "Cycles", absl::StrCat("Energy(", eu.name, ")"),
                                     absl::StrCat("DRAM(", du.name, ")"),
                                     absl::StrCat("Arena(", au.name, ")"), "Util(%)"};
  if (any_host) header.push_back("Host median(ms)");
  if (units.any_top1) header.push_back("Top-1(%)");
  header.push_back("Hardware");
  header.push_back("Report");
  rows.push_back(header);
  for (size_t i = 0; i < reports.size(); ++i) {
    const Report& r = reports[i];
    const bool is_ref = i == 0;
    std::vector<std::string> row = {
        absl::StrCat(i + 1),
        Cell(r.latency_ms, ref.latency_ms, 1, is_ref),
        absl::StrCat(r.cycles),
        Cell(r.energy_pj, ref.energy_pj, eu.scale, is_ref),
        Cell(static_cast<double>(r.dram_bytes), static_cast<double>(ref.dram_bytes), du.scale, is_ref),
        Cell(static_cast<double>(r.arena_bytes), static_cast<double>(ref.arena_bytes), au.scale,
             is_ref),
        absl::StrFormat("%.1f", 100 * r.utilization)};
    if (any_host) {
      if (!r.host) {
        row.push_back("-");
      } else if (ref.host && !is_ref) {
        row.push_back(Cell(r.host->median_ms, ref.host->median_ms, 1, false));
      } else {
        row.push_back(FormatNumber(r.host->median_ms));
      }
    }
    if (units.any_top1) row.push_back(Top1Cell(r.evaluation, ref.evaluation, is_ref));
    row.push_back(r.hw_spec.empty() ? r.hardware_name : r.hw_spec);
    row.push_back(std::filesystem::path(r.path).filename().string());
    rows.push_back(row);
  }
  std::printf("\n=== Summary (modeled device per inference; ratios against [1]) ===\n");
  const auto widths = ColumnWidths(rows);
  for (const auto& row : rows) PrintRow(row, widths, /*left_from=*/header.size() - 2);
}

void PrintLayers(const std::vector<Report>& reports, const std::vector<LayerGroup>& groups,
                 int top) {
  const size_t n = reports.size();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  for (size_t i = 0; i < n; ++i) header.push_back(absl::StrCat("[", i + 1, "] ms"));
  if (n == 2) {
    header.push_back("Diff(ms)");
    header.push_back("Ratio");
  } else {
    header.push_back("Max|diff|(ms)");
  }
  const bool host_columns = AnyHostLayerTimes(groups);
  if (host_columns) {
    for (size_t i = 0; i < n; ++i) header.push_back(absl::StrCat("[", i + 1, "] host ms"));
  }
  header.push_back("Match");
  header.push_back("Layer");
  rows.push_back(header);
  const size_t shown = top > 0 ? std::min<size_t>(groups.size(), top) : groups.size();
  for (size_t k = 0; k < shown; ++k) {
    const LayerGroup& g = groups[k];
    std::vector<std::string> row;
    for (size_t i = 0; i < n; ++i) {
      row.push_back(g.time_ms[i] ? FormatNumber(*g.time_ms[i]) : "-");
    }
    if (n == 2) {
      const double a = g.time_ms[0].value_or(0), b = g.time_ms[1].value_or(0);
      row.push_back(absl::StrFormat("%+.4g", b - a));
      row.push_back(g.time_ms[0] && g.time_ms[1] ? FormatRatio(b, a) : "-");
    } else {
      row.push_back(FormatNumber(g.max_abs_diff_ms));
    }
    if (host_columns) {
      for (size_t i = 0; i < n; ++i) row.push_back(g.host_ms[i] ? FormatNumber(*g.host_ms[i]) : "-");
    }
    row.push_back(g.match);
    row.push_back(g.match == "name" ? g.layers[0][0] : GroupLabel(g, 0));
    rows.push_back(row);
  }
  // Totals.
  std::vector<std::string> total;
  std::vector<double> sums(n, 0);
  for (const LayerGroup& g : groups) {
    for (size_t i = 0; i < n; ++i) sums[i] += g.time_ms[i].value_or(0);
  }
  for (size_t i = 0; i < n; ++i) total.push_back(FormatNumber(sums[i]));
  if (n == 2) {
    total.push_back(absl::StrFormat("%+.4g", sums[1] - sums[0]));
    total.push_back(FormatRatio(sums[1], sums[0]));
  } else {
    double m = 0;
    for (size_t i = 1; i < n; ++i) m = std::max(m, std::fabs(sums[i] - sums[0]));
    total.push_back(FormatNumber(m));
  }
  if (host_columns) {
    for (size_t i = 0; i < n; ++i) {
      double sum = 0;
      bool any = false;
      for (const LayerGroup& g : groups) {
        if (g.host_ms[i]) {
          sum += *g.host_ms[i];
          any = true;
        }
      }
      total.push_back(any ? FormatNumber(sum) : "-");
    }
  }
  total.push_back("");
  total.push_back(absl::StrCat("Total (", groups.size(), " rows)"));
  rows.push_back(total);

  int by_onnx = 0, partial = 0;
  for (const LayerGroup& g : groups) {
    by_onnx += g.match == "onnx";
    partial += g.match == "partial";
  }
  std::printf("\n=== Per-layer modeled time (ms per inference), sorted by the largest difference "
              "to [1] ===\n");
  const auto widths = ColumnWidths(rows);
  size_t indent = 1;
  for (size_t i = 0; i + 1 < widths.size(); ++i) indent += widths[i] + 1;
  for (size_t r = 0; r < rows.size(); ++r) {
    PrintRow(rows[r], widths, /*left_from=*/header.size() - 1);
    if (r == 0 || r == rows.size() - 1) continue;
    const LayerGroup& g = groups[r - 1];
    if (g.match == "name") continue;
    for (size_t i = 1; i < n; ++i) {
      std::printf("%s %s\n", std::string(indent, ' ').c_str(), GroupLabel(g, i).c_str());
    }
  }
  if (shown < groups.size()) {
    std::printf("... %zu more rows with smaller differences (--top=0 shows all)\n",
                groups.size() - shown);
  }
  if (host_columns) {
    std::printf("host ms: the layer's mean host wall-clock time per inference (the profiler's, "
                "over the timed iterations; \"-\" without one); the other times are modeled.\n");
  }
  std::printf("Match: name = same layer in every report; onnx = layers matched by the ONNX nodes "
              "they cover (fusion differs: %d rows); partial = missing from a report (%d rows).\n",
              by_onnx, partial);
}

}  // namespace

SummaryUnits ChooseSummaryUnits(const std::vector<Report>& reports) {
  double max_energy = 0, max_dram = 0, max_arena = 0;
  bool any_host = false, any_top1 = false;
  for (const Report& r : reports) {
    max_energy = std::max(max_energy, r.energy_pj);
    max_dram = std::max(max_dram, static_cast<double>(r.dram_bytes));
    max_arena = std::max(max_arena, static_cast<double>(r.arena_bytes));
    any_host = any_host || r.host.has_value();
    any_top1 = any_top1 || (r.evaluation && r.evaluation->top1_percent);
  }
  return SummaryUnits{EnergyUnit(max_energy), BytesUnit(max_dram), BytesUnit(max_arena), any_host,
                      any_top1};
}

bool AnyHostLayerTimes(const std::vector<LayerGroup>& groups) {
  for (const LayerGroup& g : groups) {
    for (const auto& h : g.host_ms) {
      if (h) return true;
    }
  }
  return false;
}

std::string Top1Cell(const std::optional<ReportEvaluation>& e,
                     const std::optional<ReportEvaluation>& reference, bool is_reference) {
  if (!e || !e->top1_percent) return "-";
  std::string out = absl::StrFormat("%.2f", *e->top1_percent);
  if (!is_reference && reference && reference->top1_percent) {
    absl::StrAppend(&out, absl::StrFormat(" (%+.2f)", *e->top1_percent - *reference->top1_percent));
  }
  return out;
}

std::vector<LayerGroup> MatchLayers(const std::vector<Report>& reports) {
  const size_t n = reports.size();
  DisjointSets sets;
  std::map<std::string, int> keys;  // "onnx:<node>" / "name:<layer>" -> set element
  auto key = [&](const std::string& k) {
    auto it = keys.find(k);
    if (it == keys.end()) it = keys.emplace(k, sets.Add()).first;
    return it->second;
  };
  std::vector<std::vector<int>> elem(n);  // [report][layer] -> set element
  for (size_t r = 0; r < n; ++r) {
    for (const ReportLayer& l : reports[r].layers) {
      const int e = sets.Add();
      elem[r].push_back(e);
      sets.Union(e, key("name:" + l.name));
      for (const std::string& node : l.onnx_nodes) sets.Union(e, key("onnx:" + node));
    }
  }
  std::map<int, size_t> group_of_root;
  std::vector<LayerGroup> groups;
  std::vector<std::set<std::string>> nodes;
  size_t order = 0;
  for (size_t r = 0; r < n; ++r) {
    for (size_t li = 0; li < reports[r].layers.size(); ++li) {
      const ReportLayer& l = reports[r].layers[li];
      const int root = sets.Find(elem[r][li]);
      auto it = group_of_root.find(root);
      if (it == group_of_root.end()) {
        it = group_of_root.emplace(root, groups.size()).first;
        LayerGroup g;
        g.layers.resize(n);
        g.time_ms.resize(n);
        g.cycles.assign(n, 0);
        g.energy_pj.assign(n, 0);
        g.dram_bytes.assign(n, 0);
        g.host_ms.resize(n);
        g.order = order++;
        groups.push_back(std::move(g));
        nodes.emplace_back();
      }
      LayerGroup& g = groups[it->second];
      const bool first_of_report = g.layers[r].empty();
      g.layers[r].push_back(l.name);
      g.time_ms[r] = g.time_ms[r].value_or(0) + l.time_ms;
      g.cycles[r] += l.cycles;
      g.energy_pj[r] += l.energy_pj;
      g.dram_bytes[r] += l.dram_bytes;
      if (l.host_average_ms && (first_of_report || g.host_ms[r])) {
        g.host_ms[r] = g.host_ms[r].value_or(0) + *l.host_average_ms;
      } else {
        g.host_ms[r].reset();
      }
      nodes[it->second].insert(l.onnx_nodes.begin(), l.onnx_nodes.end());
    }
  }
  for (size_t k = 0; k < groups.size(); ++k) {
    LayerGroup& g = groups[k];
    g.onnx_nodes.assign(nodes[k].begin(), nodes[k].end());
    bool all_present = true, same_single = true;
    for (size_t r = 0; r < n; ++r) {
      all_present = all_present && !g.layers[r].empty();
      same_single = same_single && g.layers[r].size() == 1 && !g.layers[0].empty() &&
                    g.layers[r][0] == g.layers[0][0];
    }
    g.match = !all_present ? "partial" : same_single ? "name" : "onnx";
    const double t0 = g.time_ms[0].value_or(0);
    for (size_t r = 1; r < n; ++r) {
      g.max_abs_diff_ms = std::max(g.max_abs_diff_ms, std::fabs(g.time_ms[r].value_or(0) - t0));
    }
  }
  std::stable_sort(groups.begin(), groups.end(), [](const LayerGroup& a, const LayerGroup& b) {
    if (a.max_abs_diff_ms != b.max_abs_diff_ms) return a.max_abs_diff_ms > b.max_abs_diff_ms;
    return a.order < b.order;
  });
  return groups;
}

std::vector<std::string> ComparabilityWarnings(const std::vector<Report>& reports) {
  std::vector<std::string> out;
  const Report& ref = reports[0];
  for (size_t i = 1; i < reports.size(); ++i) {
    const Report& r = reports[i];
    if (r.model_hash_of != ref.model_hash_of) {
      out.push_back(absl::StrFormat(
          "[%d] identifies its model by the %s bytes and [1] by the %s bytes: cannot check "
          "that they are the same model",
          i + 1, r.model_hash_of, ref.model_hash_of));
    } else if (r.model_hash != ref.model_hash) {
      if (r.model_hash_of == "onnx") {
        out.push_back(absl::StrFormat(
            "not comparable: [%d] is of a different model than [1] (ONNX fnv1a64 %s vs %s: %s "
            "vs %s)",
            i + 1, r.model_hash, ref.model_hash, r.model_path, ref.model_path));
      } else {
        out.push_back(absl::StrFormat(
            "[%d] and [1] were loaded from different plans (fnv1a64 %s vs %s): cannot check "
            "that they are of the same model",
            i + 1, r.model_hash, ref.model_hash));
      }
    }
    if (!r.precision.empty() && !ref.precision.empty() && r.precision != ref.precision) {
      out.push_back(absl::StrFormat(
          "precisions differ: [%d] is %s, [1] is %s: their outputs differ (compare accuracy "
          "with --evalData); the cost figures compare the precisions",
          i + 1, r.precision, ref.precision));
    } else if (r.precision == "int8" && ref.precision == "int8" && !r.calibrator.empty() &&
               !ref.calibrator.empty() && r.calibrator != ref.calibrator) {
      out.push_back(absl::StrFormat("[%d] was calibrated with %s and [1] with %s", i + 1,
                                    r.calibrator, ref.calibrator));
    }
    if (r.engine_version != ref.engine_version) {
      out.push_back(absl::StrFormat("[%d] was built by engine %s and [1] by engine %s", i + 1,
                                    r.engine_version, ref.engine_version));
    }
  }
  // Host timings: compare every report with host timings to the first one.
  const Report* host_ref = nullptr;
  size_t host_ref_index = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    const Report& r = reports[i];
    if (!r.host) continue;
    if (host_ref == nullptr) {
      host_ref = &r;
      host_ref_index = i;
      continue;
    }
    if (Machine(r) != Machine(*host_ref)) {
      out.push_back(absl::StrFormat(
          "host timings of [%d] and [%d] come from different machines (%s vs %s): their host "
          "latencies are not comparable; the modeled figures are",
          host_ref_index + 1, i + 1, Machine(*host_ref), Machine(r)));
    } else if (r.host->threads != host_ref->host->threads) {
      out.push_back(absl::StrFormat(
          "host timings of [%d] and [%d] used different thread counts (%d vs %d)",
          host_ref_index + 1, i + 1, host_ref->host->threads, r.host->threads));
    }
  }
  return out;
}

Json ComparisonJson(const std::vector<Report>& reports, const std::vector<LayerGroup>& groups,
                    const std::vector<std::string>& warnings) {
  const Report& ref = reports[0];
  auto ratio = [](double v, double r) { return r != 0 ? Json(v / r) : Json(nullptr); };
  Json reps = Json::array();
  for (const Report& r : reports) {
    Json host = nullptr;
    if (r.host) {
      host = Json{{"medianMs", r.host->median_ms}, {"meanMs", r.host->mean_ms},
                  {"threads", r.host->threads}, {"iterations", r.host->iterations}};
      if (ref.host) host["medianRatio"] = ratio(r.host->median_ms, ref.host->median_ms);
    }
    reps.push_back(Json{
        {"path", r.path},
        {"modelHash", r.model_hash},
        {"hardware", r.hardware_summary},
        {"hwSpec", r.hw_spec},
        {"optLevel", r.opt_level ? Json(*r.opt_level) : Json(nullptr)},
        {"latencyMs", r.latency_ms},
        {"latencyRatio", ratio(r.latency_ms, ref.latency_ms)},
        {"cycles", r.cycles},
        {"energyPj", r.energy_pj},
        {"energyRatio", ratio(r.energy_pj, ref.energy_pj)},
        {"dramBytes", r.dram_bytes},
        {"dramRatio", ratio(static_cast<double>(r.dram_bytes), static_cast<double>(ref.dram_bytes))},
        {"arenaBytes", r.arena_bytes},
        {"arenaRatio",
         ratio(static_cast<double>(r.arena_bytes), static_cast<double>(ref.arena_bytes))},
        {"utilization", r.utilization},
        {"host", std::move(host)},
        {"evaluation",
         r.evaluation ? Json{{"images", r.evaluation->images},
                             {"top1Percent", r.evaluation->top1_percent
                                                 ? Json(*r.evaluation->top1_percent)
                                                 : Json(nullptr)}}
                      : Json(nullptr)},
    });
  }
  Json layers = Json::array();
  for (const LayerGroup& g : groups) {
    Json per = Json::array();
    for (size_t i = 0; i < reports.size(); ++i) {
      per.push_back(Json{{"layers", g.layers[i]},
                         {"timeMs", g.time_ms[i] ? Json(*g.time_ms[i]) : Json(nullptr)},
                         {"cycles", g.cycles[i]},
                         {"energyPj", g.energy_pj[i]},
                         {"dramBytes", g.dram_bytes[i]},
                         {"hostAverageMs", g.host_ms[i] ? Json(*g.host_ms[i]) : Json(nullptr)}});
    }
    layers.push_back(Json{{"match", g.match},
                          {"onnxNodes", g.onnx_nodes},
                          {"maxAbsDiffMs", g.max_abs_diff_ms},
                          {"reports", std::move(per)}});
  }
  return Json{{"kind", "engine-report-comparison"},
              {"schemaVersion", 1},
              {"reports", std::move(reps)},
              {"layers", std::move(layers)},
              {"warnings", warnings}};
}

void PrintComparison(const std::vector<Report>& reports, const std::vector<LayerGroup>& groups,
                     const std::vector<std::string>& warnings, int top) {
  std::printf("=== Reports ===\n");
  for (size_t i = 0; i < reports.size(); ++i) {
    std::printf("[%zu] %s: %s\n", i + 1, reports[i].path.c_str(), Describe(reports[i]).c_str());
  }
  for (const std::string& w : warnings) std::printf("[W] %s\n", w.c_str());
  PrintSummary(reports);
  PrintLayers(reports, groups, top);
  std::printf("Note: device figures are modeled (deterministic for a plan); host figures are "
              "wall-clock times of the host emulation.\n");
}

absl::Status RunCompare(const CompareOptions& opt) {
  std::vector<Report> reports;
  for (const std::string& p : opt.reports) {
    auto r = ReadReport(p);
    if (!r.ok()) return r.status();
    reports.push_back(*std::move(r));
  }

  const std::vector<std::string> warnings = ComparabilityWarnings(reports);
  const std::vector<LayerGroup> groups = MatchLayers(reports);
  PrintComparison(reports, groups, warnings, opt.top);
  if (!opt.json.empty()) {
    absl::Status s = WriteJsonFile("--json", opt.json, ComparisonJson(reports, groups, warnings));
    if (!s.ok()) return s;
    std::printf("[I] Comparison written to %s\n", opt.json.c_str());
  }
  if (!opt.html.empty()) {
    absl::Status s = WriteComparisonHtml(opt.html, reports, groups, warnings);
    if (!s.ok()) return s;
    std::printf("[I] HTML comparison written to %s\n", opt.html.c_str());
  }
  return absl::OkStatus();
}

}  // namespace trtexec_like
