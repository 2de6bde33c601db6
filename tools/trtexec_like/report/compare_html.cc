#include "trtexec_like/report/compare_html.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "trtexec_like/format.h"
#include "trtexec_like/report/json_file.h"
#include "trtexec_like/report/run_report.h"

namespace trtexec_like {
namespace {

using Json = nlohmann::json;

// Tableau 10: distinct on screen and in grey-scale print.
constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6"};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr const char* kOtherColor = "#bab0ac";
// Layer groups shown as their own segment in the per-layer chart.
constexpr size_t kTopGroups = kPaletteSize;

constexpr double kChartWidth = 980;
constexpr double kCharWidth = 6.8;  // average width of a 12px character, px

// Coordinates in SVG attributes.
std::string Px(double v) { return absl::StrFormat("%.2f", v); }

// A ratio cell's class: lower is better for every figure it is used for.
const char* RatioClass(double value, double reference) {
  if (reference == 0 || value == reference) return "same";
  return value < reference ? "better" : "worse";
}

// `text` cut to at most `max_chars` bytes (not inside a UTF-8 sequence), with
// an ellipsis when cut.
std::string Truncate(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  size_t n = max_chars > 1 ? max_chars - 1 : 0;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n) + "\xE2\x80\xA6";
}

// A tick step of 1, 2 or 5 times a power of ten giving about `target` ticks.
double NiceStep(double max, int target = 5) {
  if (!(max > 0) || !std::isfinite(max)) return 1;
  const double raw = max / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

// An inline SVG chart built element by element; all text is escaped.
class Svg {
 public:
  Svg(const std::string& id, const std::string& label) : id_(id), label_(label) {}

  void Rect(double x, double y, double w, double h, const std::string& fill,
            const std::string& title, const std::string& cls = "") {
    if (!(w > 0) || !(h > 0)) return;  // nothing to see
    absl::StrAppend(&body_, "<rect x=\"", Px(x), "\" y=\"", Px(y), "\" width=\"", Px(w),
                    "\" height=\"", Px(h), "\" fill=\"", fill, "\"");
    if (!cls.empty()) absl::StrAppend(&body_, " class=\"", cls, "\"");
    if (title.empty()) {
      absl::StrAppend(&body_, "/>\n");
    } else {
      absl::StrAppend(&body_, "><title>", HtmlEscape(title), "</title></rect>\n");
    }
  }

  void Line(double x1, double y1, double x2, double y2, const std::string& stroke, double width,
            const std::string& title = "") {
    absl::StrAppend(&body_, "<line x1=\"", Px(x1), "\" y1=\"", Px(y1), "\" x2=\"", Px(x2),
                    "\" y2=\"", Px(y2), "\" stroke=\"", stroke, "\" stroke-width=\"", Px(width),
                    "\"");
    if (title.empty()) {
      absl::StrAppend(&body_, "/>\n");
    } else {
      absl::StrAppend(&body_, "><title>", HtmlEscape(title), "</title></line>\n");
    }
  }

  // A closed path through `points`.
  void Polygon(const std::vector<std::pair<double, double>>& points, const std::string& fill,
               const std::string& title) {
    std::string d;
    for (size_t i = 0; i < points.size(); ++i) {
      absl::StrAppend(&d, i == 0 ? "M" : " L", Px(points[i].first), " ", Px(points[i].second));
    }
    absl::StrAppend(&body_, "<path d=\"", d, " Z\" fill=\"", fill, "\"><title>",
                    HtmlEscape(title), "</title></path>\n");
  }

  void Text(double x, double y, const std::string& text, const std::string& anchor = "start",
            const std::string& cls = "", const std::string& title = "") {
    absl::StrAppend(&body_, "<text x=\"", Px(x), "\" y=\"", Px(y), "\"");
    if (anchor != "start") absl::StrAppend(&body_, " text-anchor=\"", anchor, "\"");
    if (!cls.empty()) absl::StrAppend(&body_, " class=\"", cls, "\"");
    absl::StrAppend(&body_, ">");
    if (!title.empty()) absl::StrAppend(&body_, "<title>", HtmlEscape(title), "</title>");
    absl::StrAppend(&body_, HtmlEscape(text), "</text>\n");
  }

  // A horizontal value axis at `y` from `x0` (value `lo`) over `width` pixels
  // (value `hi`), a tick every `step`, with grid lines up to `top`.
  void Axis(double x0, double width, double top, double y, double lo, double hi, double step,
            const std::string& unit) {
    const int ticks = static_cast<int>(std::round((hi - lo) / step));
    for (int i = 0; i <= ticks; ++i) {
      const double v = lo + i * step;
      const double x = x0 + width * (v - lo) / (hi - lo);
      Line(x, top, x, y, "#e3e3e3", 1);
      Text(x, y + 14, FormatNumber(std::fabs(v) < step * 1e-6 ? 0 : v), "middle", "tick");
    }
    Line(x0, y, x0 + width, y, "#888", 1);
    Text(x0 + width, y + 28, unit, "end", "tick");
  }

  std::string Finish(double height) const {
    return absl::StrCat("<svg class=\"chart\" id=\"", id_, "\" role=\"img\" aria-label=\"",
                        HtmlEscape(label_), "\" width=\"", Px(kChartWidth), "\" height=\"",
                        Px(height), "\" viewBox=\"0 0 ", Px(kChartWidth), " ", Px(height),
                        "\">\n", body_, "</svg>\n");
  }

 private:
  std::string id_, label_, body_;
};

// The label of a layer group: its layer when matched by name, otherwise the
// layers of the first report that has them.
std::string GroupName(const LayerGroup& g) {
  for (const auto& layers : g.layers) {
    if (!layers.empty()) return absl::StrJoin(layers, " | ");
  }
  return absl::StrJoin(g.onnx_nodes, ", ");
}

double LabelWidth(const std::vector<Report>& reports) {
  size_t longest = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    longest = std::max(longest, HtmlReportLabel(reports[i], i).size());
  }
  return std::clamp(longest * kCharWidth + 12, 110.0, 340.0);
}

}  // namespace

size_t LegendColumns(const std::vector<std::string>& names) {
  size_t longest = 0;
  for (const std::string& n : names) longest = std::max(longest, n.size());
  for (size_t cols = 3; cols > 1; --cols) {
    const double col_w = (kChartWidth - 16) / cols;
    if (longest <= static_cast<size_t>((col_w - 26) / kCharWidth)) return cols;
  }
  return 1;
}

namespace {

// One segment of a stacked bar.
struct Segment {
  std::string name;
  std::string color;
  std::vector<double> values;  // per report
};

// Horizontal stacked bars, one per report, with a legend below.
std::string StackedBars(const std::string& id, const std::string& aria,
                        const std::vector<Report>& reports, const std::vector<Segment>& segments,
                        double scale, const std::string& unit,
                        const std::vector<double>& totals) {
  const double label_w = LabelWidth(reports), right_w = 150;
  const double plot_w = kChartWidth - label_w - right_w;
  const double row_h = 28, bar_h = 20, top = 8;
  double max_total = 0;
  for (double t : totals) max_total = std::max(max_total, t / scale);
  const double step = NiceStep(max_total);
  const double axis_max = max_total > 0 ? std::ceil(max_total / step - 1e-9) * step : 1;

  Svg svg(id, aria);
  const double axis_y = top + row_h * reports.size() + 4;
  svg.Axis(label_w, plot_w, top, axis_y, 0, axis_max, step, unit);
  for (size_t r = 0; r < reports.size(); ++r) {
    const std::string label = HtmlReportLabel(reports[r], r);
    const double y = top + row_h * r + (row_h - bar_h) / 2;
    svg.Text(label_w - 8, y + bar_h / 2 + 4, Truncate(label, 48), "end", "label", reports[r].path);
    double x = label_w;
    for (const Segment& s : segments) {
      const double v = s.values[r] / scale;
      if (!(v > 0)) continue;  // no zero-width rectangles
      const double w = plot_w * v / axis_max;
      const double share = totals[r] > 0 ? 100 * s.values[r] / totals[r] : 0;
      svg.Rect(x, y, w, bar_h, s.color,
               absl::StrFormat("%s - %s: %s %s (%.1f%%)", label, s.name, FormatNumber(v), unit, share),
               "seg");
      x += w;
    }
    std::string total = absl::StrCat(FormatNumber(totals[r] / scale), " ", unit);
    if (r > 0) absl::StrAppend(&total, " (", FormatRatio(totals[r], totals[0]), ")");
    svg.Text(x + 6, y + bar_h / 2 + 4, total, "start", "value");
  }
  // Legend: swatches in LegendColumns columns (fewer when a name would not fit).
  std::vector<std::string> names;
  for (const Segment& s : segments) names.push_back(s.name);
  const size_t cols = LegendColumns(names);
  const double legend_top = axis_y + 40, item_h = 18, col_w = (kChartWidth - 16) / cols;
  size_t shown = 0;
  for (const Segment& s : segments) {
    const size_t col = shown % cols, row = shown / cols;
    const double x = 8 + col * col_w, y = legend_top + row * item_h;
    svg.Rect(x, y, 12, 12, s.color, s.name, "swatch");
    svg.Text(x + 18, y + 10, Truncate(s.name, static_cast<size_t>((col_w - 26) / kCharWidth)),
             "start", "legend", s.name);
    ++shown;
  }
  const double height = legend_top + ((shown + cols - 1) / cols) * item_h + 6;
  return svg.Finish(height);
}

// Chart 1: modeled device time per inference, by layer group.
std::string LayerChart(const std::vector<Report>& reports, const std::vector<LayerGroup>& groups) {
  const size_t n = reports.size();
  // The groups with the largest time in any report get their own segment, in
  // execution order of the first report that has them.
  std::vector<size_t> order(groups.size());
  for (size_t k = 0; k < groups.size(); ++k) order[k] = k;
  auto peak = [&](size_t k) {
    double m = 0;
    for (const auto& t : groups[k].time_ms) m = std::max(m, t.value_or(0));
    return m;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return peak(a) > peak(b); });
  std::vector<size_t> top;
  for (size_t k : order) {
    if (top.size() < kTopGroups && peak(k) > 0) top.push_back(k);
  }
  std::vector<bool> is_top(groups.size(), false);
  for (size_t k : top) is_top[k] = true;
  std::sort(top.begin(), top.end(),
            [&](size_t a, size_t b) { return groups[a].order < groups[b].order; });

  std::vector<Segment> segments;
  for (size_t i = 0; i < top.size(); ++i) {
    const LayerGroup& g = groups[top[i]];
    Segment s{GroupName(g), kPalette[i % kPaletteSize], std::vector<double>(n, 0)};
    for (size_t r = 0; r < n; ++r) s.values[r] = g.time_ms[r].value_or(0);
    segments.push_back(std::move(s));
  }
  Segment other{"", kOtherColor, std::vector<double>(n, 0)};
  size_t others = 0;
  for (size_t k = 0; k < groups.size(); ++k) {
    if (is_top[k] || peak(k) <= 0) continue;
    ++others;
    for (size_t r = 0; r < n; ++r) other.values[r] += groups[k].time_ms[r].value_or(0);
  }
  if (others > 0) {
    other.name = absl::StrCat("other (", others, " layer groups)");
    segments.push_back(std::move(other));
  }
  std::vector<double> totals(n, 0);
  for (size_t r = 0; r < n; ++r) totals[r] = reports[r].latency_ms;
  return StackedBars("chart-layers", "Modeled device time per inference by layer", reports,
                     segments, 1.0, "ms", totals);
}

// Chart 3: modeled energy per inference, by component.
std::string EnergyChart(const std::vector<Report>& reports) {
  const size_t n = reports.size();
  double max_pj = 0;
  for (const Report& r : reports) max_pj = std::max(max_pj, r.energy_pj);
  const Unit u = EnergyUnit(max_pj);
  struct Component {
    const char* key;
    const char* name;
  };
  const Component components[] = {{"compute", "compute (MACs, vector ops)"},
                                  {"sram", "SRAM (scratchpad, accumulator)"},
                                  {"dram", "DRAM"}};
  std::vector<Segment> segments;
  std::vector<double> known(n, 0);
  for (size_t c = 0; c < 3; ++c) {
    Segment s{components[c].name, kPalette[c], std::vector<double>(n, 0)};
    for (size_t r = 0; r < n; ++r) {
      const Json& j = reports[r].json;
      const Json* e = nullptr;
      if (j.contains("performance") && j["performance"].is_object() &&
          j["performance"].contains("device") && j["performance"]["device"].is_object() &&
          j["performance"]["device"].contains("energyPj") &&
          j["performance"]["device"]["energyPj"].is_object()) {
        e = &j["performance"]["device"]["energyPj"];
      }
      if (e != nullptr && e->contains(components[c].key) && (*e)[components[c].key].is_number()) {
        s.values[r] = (*e)[components[c].key].get<double>();
        known[r] += s.values[r];
      }
    }
    segments.push_back(std::move(s));
  }
  // Reports without the breakdown show their total as one segment.
  Segment rest{"total (no breakdown in the report)", kOtherColor, std::vector<double>(n, 0)};
  bool any_rest = false;
  for (size_t r = 0; r < n; ++r) {
    if (known[r] == 0 && reports[r].energy_pj > 0) {
      rest.values[r] = reports[r].energy_pj;
      any_rest = true;
    }
  }
  if (any_rest) segments.push_back(std::move(rest));
  std::vector<double> totals(n, 0);
  for (size_t r = 0; r < n; ++r) totals[r] = reports[r].energy_pj;
  return StackedBars("chart-energy", "Modeled energy per inference", reports, segments, u.scale,
                     u.name, totals);
}

// Host percentiles of a report, ascending by percentile.
std::vector<std::pair<double, double>> HostPercentiles(const Report& r) {
  std::vector<std::pair<double, double>> out;
  const Json& j = r.json;
  if (!j.contains("performance") || !j["performance"].is_object()) return out;
  const Json& perf = j["performance"];
  if (!perf.contains("host") || !perf["host"].is_object()) return out;
  const Json& host = perf["host"];
  if (!host.contains("percentiles") || !host["percentiles"].is_array()) return out;
  for (const Json& p : host["percentiles"]) {
    if (p.is_object() && p.contains("percentile") && p["percentile"].is_number() &&
        p.contains("ms") && p["ms"].is_number()) {
      out.emplace_back(p["percentile"].get<double>(), p["ms"].get<double>());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

HostAxis ChooseHostAxis(const std::vector<Report>& reports) {
  double min_ms = 0, max_ms = 0, tail_ms = 0;
  bool any = false;
  for (const Report& r : reports) {
    if (!r.host) continue;
    min_ms = any ? std::min(min_ms, r.host->min_ms) : r.host->min_ms;
    max_ms = std::max(max_ms, r.host->max_ms);
    // The report's tail: its highest percentile up to p99, else its median.
    double tail = r.host->median_ms;
    for (const auto& [p, ms] : HostPercentiles(r)) {
      if (p <= 99) tail = std::max(tail, ms);
    }
    tail_ms = std::max(tail_ms, tail);
    any = true;
  }
  HostAxis axis;
  if (!any) return axis;
  // Cut the axis when an outlier maximum would squeeze every box into a few
  // pixels: beyond 1.25x the largest tail, the maximum is marked, not drawn.
  double top = max_ms;
  if (tail_ms > 0 && max_ms > 1.25 * tail_ms) {
    top = 1.25 * tail_ms;
    axis.clipped = true;
  }
  // The axis starts at 0 unless that would squeeze the distributions into a
  // corner (the fastest run above 40% of the top).
  double lo = min_ms > 0.4 * top ? min_ms : 0;
  double step = NiceStep(top - lo);
  lo = std::floor(lo / step) * step;
  step = NiceStep(top - lo);
  lo = std::floor(lo / step) * step;
  double hi = top > lo ? std::ceil(top / step - 1e-9) * step : lo + 1;
  if (hi <= lo) {
    hi = lo + 1;
    step = 1;
  }
  axis.lo = lo;
  axis.hi = hi;
  axis.step = step;
  axis.clipped = axis.clipped && max_ms > hi;
  return axis;
}

namespace {

// Chart 2: host latency distribution per report: the min..max range, a box
// from the median to the highest percentile up to p90 (or the lowest above
// it), the median and every percentile as marks.
std::string HostChart(const std::vector<Report>& reports) {
  const double label_w = LabelWidth(reports), right_w = 200;
  const double plot_w = kChartWidth - label_w - right_w;
  const double row_h = 40, top = 20;
  bool any = false;
  for (const Report& r : reports) any = any || r.host.has_value();
  const HostAxis axis = ChooseHostAxis(reports);
  const double lo = axis.lo, hi = axis.hi, step = axis.step;
  // Positions beyond the axis (a clipped maximum) are drawn at its end.
  auto X = [&](double ms) { return label_w + plot_w * (std::min(ms, hi) - lo) / (hi - lo); };

  Svg svg("chart-host", "Host latency distribution per inference");
  if (!any) {
    svg.Text(8, 20, "No report has host timings: all were built with --skipInference.", "start",
             "note");
    return svg.Finish(32);
  }
  const double axis_y = top + row_h * reports.size() + 4;
  svg.Axis(label_w, plot_w, top, axis_y, lo, hi, step, "ms");
  for (size_t r = 0; r < reports.size(); ++r) {
    const Report& rep = reports[r];
    const std::string label = HtmlReportLabel(rep, r);
    const double cy = top + row_h * r + row_h / 2;
    svg.Text(label_w - 8, cy + 4, Truncate(label, 48), "end", "label", rep.path);
    if (!rep.host) {
      svg.Text(label_w + 6, cy + 4, "no host timings (built with --skipInference)", "start",
               "note");
      continue;
    }
    const ReportHost& h = *rep.host;
    const auto percentiles = HostPercentiles(rep);
    // Range min..max.
    svg.Rect(X(h.min_ms), cy - 3, std::max(1.0, X(h.max_ms) - X(h.min_ms)), 6, "#c9d6e8",
             absl::StrFormat("%s: min %s ms, max %s ms", label, FormatNumber(h.min_ms), FormatNumber(h.max_ms)),
             "range");
    // Box from the median to p90 (or the nearest percentile).
    std::optional<std::pair<double, double>> box_top;
    for (const auto& p : percentiles) {
      if (p.first <= 90 || !box_top) box_top = p;
      if (p.first >= 90) break;
    }
    if (box_top && box_top->second > h.median_ms) {
      svg.Rect(X(h.median_ms), cy - 9, std::max(1.0, X(box_top->second) - X(h.median_ms)), 18,
               kPalette[r % kPaletteSize],
               absl::StrFormat("%s: p50 %s ms .. p%g %s ms", label, FormatNumber(h.median_ms),
                               box_top->first, FormatNumber(box_top->second)),
               "box");
    }
    // Whisker ends and the median.
    svg.Line(X(h.min_ms), cy - 7, X(h.min_ms), cy + 7, "#555", 1.5,
             absl::StrFormat("%s: min %s ms", label, FormatNumber(h.min_ms)));
    if (h.max_ms > hi) {
      // Clipped: an arrow at the axis end and the true maximum written next to it.
      const double ex = X(hi);
      const std::string title = absl::StrFormat("%s: max %s ms (beyond the axis)", label,
                                                FormatNumber(h.max_ms));
      svg.Polygon({{ex - 7, cy - 6}, {ex, cy}, {ex - 7, cy + 6}}, "#555", title);
      svg.Text(ex - 9, cy + 16, absl::StrCat("max ", FormatNumber(h.max_ms), " ms"), "end", "tick",
               title);
    } else {
      svg.Line(X(h.max_ms), cy - 7, X(h.max_ms), cy + 7, "#555", 1.5,
               absl::StrFormat("%s: max %s ms", label, FormatNumber(h.max_ms)));
    }
    // The median as a diamond.
    const double mx = X(h.median_ms);
    svg.Polygon({{mx, cy - 8}, {mx + 5, cy}, {mx, cy + 8}, {mx - 5, cy}}, "#222",
                absl::StrFormat("%s: median %s ms", label, FormatNumber(h.median_ms)));
    // Percentile ticks; labels only where they do not overlap the previous one.
    double last_label_x = -1e9;
    for (const auto& [p, ms] : percentiles) {
      if (ms > hi) continue;  // beyond a clipped axis: listed in the tooltip of the range bar
      const double x = X(ms);
      const std::string title = absl::StrFormat("%s: p%g %s ms", label, p, FormatNumber(ms));
      svg.Line(x, cy - 12, x, cy + 12, "#222", 1, title);
      if (x - last_label_x >= 26) {
        svg.Text(x, cy - 14, absl::StrFormat("p%g", p), "middle", "tick", title);
        last_label_x = x;
      }
    }
    std::string text = absl::StrCat("median ", FormatNumber(h.median_ms), " ms");
    if (r > 0 && reports[0].host) {
      absl::StrAppend(&text, " (", FormatRatio(h.median_ms, reports[0].host->median_ms), ")");
    }
    svg.Text(label_w + plot_w + 10, cy + 4, text, "start", "value",
             absl::StrFormat("%s: %d timed runs, mean %s ms", label, h.iterations, FormatNumber(h.mean_ms)));
  }
  svg.Text(8, axis_y + 40,
           "Thin bar: min to max; box: median to p90 (or the nearest percentile reported); "
           "diamond: median; ticks: the reported percentiles. Wall-clock time of the host "
           "emulation." +
               std::string(axis.clipped ? " The axis is cut at 1.25x the highest p99 (or p90): "
                                          "an arrow marks a maximum beyond it."
                                        : ""),
           "start", "legend");
  return svg.Finish(axis_y + 50);
}

// One "value (ratio)" summary cell.
std::string SummaryCell(double value, double reference, double scale, bool is_reference,
                        bool lower_is_better = true) {
  std::string out = absl::StrCat("<td class=\"num\">", FormatNumber(value / scale));
  if (!is_reference) {
    absl::StrAppend(&out, " <span class=\"ratio ",
                    lower_is_better ? RatioClass(value, reference) : "same", "\">(",
                    FormatRatio(value, reference), ")</span>");
  }
  absl::StrAppend(&out, "</td>");
  return out;
}

std::string Describe(const Report& r) {
  std::string out = absl::StrCat(
      "model <code>", HtmlEscape(r.model_path), "</code> (", HtmlEscape(r.model_hash_of),
      " fnv1a64 <code>", HtmlEscape(r.model_hash), "</code>); hardware ",
      HtmlEscape(r.hardware_summary));
  if (!r.hw_spec.empty()) absl::StrAppend(&out, " [<code>--hw=", HtmlEscape(r.hw_spec), "</code>]");
  absl::StrAppend(&out, "; optLevel ", r.opt_level ? absl::StrCat(*r.opt_level) : "?",
                  ", objective ", HtmlEscape(r.objective), "; engine ",
                  HtmlEscape(r.engine_version));
  if (r.host) {
    absl::StrAppend(&out, "; host ", HtmlEscape(r.hostname), " (", HtmlEscape(r.cpu_model), ", ",
                    r.host->threads, " threads, ", r.host->iterations, " iterations)");
  } else {
    absl::StrAppend(&out, "; no host timings");
  }
  if (r.evaluation) {
    absl::StrAppend(&out, "; evaluated on ", r.evaluation->images, " samples of ",
                    HtmlEscape(r.evaluation->dataset),
                    r.evaluation->top1_percent
                        ? absl::StrFormat(": top-1 %.2f%%", *r.evaluation->top1_percent)
                        : ": no labels");
  }
  return out;
}

std::string SummaryTable(const std::vector<Report>& reports) {
  const SummaryUnits units = ChooseSummaryUnits(reports);
  const Unit eu = units.energy, du = units.dram, au = units.arena;
  const bool any_host = units.any_host;
  std::string out = absl::StrCat(
      "<div class=\"scroll\"><table class=\"summary\">\n<thead><tr><th>#</th><th>Report</th><th>Hardware</th>"
      "<th>Latency (ms)</th><th>Cycles</th><th>Energy (",
      eu.name, ")</th><th>DRAM (", du.name, ")</th><th>Arena (", au.name,
      ")</th><th>Util (%)</th>", any_host ? "<th>Host median (ms)</th>" : "",
      units.any_top1 ? "<th>Top-1 (%)</th>" : "", "</tr></thead>\n<tbody>\n");
  const Report& ref = reports[0];
  for (size_t i = 0; i < reports.size(); ++i) {
    const Report& r = reports[i];
    const bool is_ref = i == 0;
    absl::StrAppend(
        &out, "<tr class=\"report\"><td>", i + 1, "</td><td class=\"name\" title=\"",
        HtmlEscape(r.path), "\">", HtmlEscape(HtmlReportLabel(r, i)), "</td><td>",
        HtmlEscape(r.hw_spec.empty() ? r.hardware_name : r.hw_spec), "</td>",
        SummaryCell(r.latency_ms, ref.latency_ms, 1, is_ref),
        "<td class=\"num\">", r.cycles, "</td>",
        SummaryCell(r.energy_pj, ref.energy_pj, eu.scale, is_ref),
        SummaryCell(static_cast<double>(r.dram_bytes), static_cast<double>(ref.dram_bytes),
                    du.scale, is_ref),
        SummaryCell(static_cast<double>(r.arena_bytes), static_cast<double>(ref.arena_bytes),
                    au.scale, is_ref),
        "<td class=\"num\">", absl::StrFormat("%.1f", 100 * r.utilization), "</td>");
    if (any_host) {
      if (!r.host) {
        absl::StrAppend(&out, "<td class=\"num\">-</td>");
      } else if (ref.host) {
        absl::StrAppend(&out, SummaryCell(r.host->median_ms, ref.host->median_ms, 1, is_ref));
      } else {
        absl::StrAppend(&out, "<td class=\"num\">", FormatNumber(r.host->median_ms), "</td>");
      }
    }
    if (units.any_top1) {
      absl::StrAppend(&out, "<td class=\"num top1\">",
                      HtmlEscape(Top1Cell(r.evaluation, ref.evaluation, is_ref)), "</td>");
    }
    absl::StrAppend(&out, "</tr>\n");
  }
  absl::StrAppend(&out, "</tbody></table></div>\n");
  return out;
}

std::string LayerTable(const std::vector<Report>& reports, const std::vector<LayerGroup>& groups) {
  const size_t n = reports.size();
  std::string out = "<div class=\"scroll\"><table class=\"layers\">\n<thead><tr><th>#</th>";
  for (size_t i = 0; i < n; ++i) {
    absl::StrAppend(&out, "<th title=\"", HtmlEscape(HtmlReportLabel(reports[i], i)), "\">[",
                    i + 1, "] ms</th>");
  }
  absl::StrAppend(&out, n == 2 ? "<th>Diff (ms)</th><th>Ratio</th>" : "<th>Max |diff| (ms)</th>");
  const bool host_columns = AnyHostLayerTimes(groups);
  if (host_columns) {
    for (size_t i = 0; i < n; ++i) {
      absl::StrAppend(&out, "<th class=\"host\" title=\"mean host wall-clock time per inference "
                            "(profiler)\">[", i + 1, "] host ms</th>");
    }
  }
  absl::StrAppend(&out, "<th>Match</th><th>Layer</th></tr></thead>\n<tbody>\n");
  std::vector<double> host_sums(n, 0);
  std::vector<bool> host_any(n, false);
  double max_diff = 0;
  for (const LayerGroup& g : groups) max_diff = std::max(max_diff, g.max_abs_diff_ms);
  std::vector<double> sums(n, 0);
  for (size_t k = 0; k < groups.size(); ++k) {
    const LayerGroup& g = groups[k];
    absl::StrAppend(&out, "<tr class=\"layer ", g.match, "\"><td>", k + 1, "</td>");
    for (size_t i = 0; i < n; ++i) {
      sums[i] += g.time_ms[i].value_or(0);
      absl::StrAppend(&out, "<td class=\"num\">", g.time_ms[i] ? FormatNumber(*g.time_ms[i]) : "-",
                      "</td>");
    }
    const double width = max_diff > 0 ? 100 * g.max_abs_diff_ms / max_diff : 0;
    if (n == 2) {
      const double a = g.time_ms[0].value_or(0), b = g.time_ms[1].value_or(0);
      absl::StrAppend(&out, "<td class=\"num diff ", RatioClass(b, a), "\">",
                      absl::StrFormat("%+.4g", b - a), "<span class=\"bar\" style=\"width:",
                      absl::StrFormat("%.1f", width), "%\"></span></td><td class=\"num\">",
                      g.time_ms[0] && g.time_ms[1] ? FormatRatio(b, a) : "-", "</td>");
    } else {
      absl::StrAppend(&out, "<td class=\"num diff\">", FormatNumber(g.max_abs_diff_ms),
                      "<span class=\"bar\" style=\"width:", absl::StrFormat("%.1f", width),
                      "%\"></span></td>");
    }
    if (host_columns) {
      for (size_t i = 0; i < n; ++i) {
        if (g.host_ms[i]) {
          host_sums[i] += *g.host_ms[i];
          host_any[i] = true;
        }
        absl::StrAppend(&out, "<td class=\"num host\">",
                        g.host_ms[i] ? FormatNumber(*g.host_ms[i]) : "-", "</td>");
      }
    }
    absl::StrAppend(&out, "<td>", g.match, "</td><td class=\"lname\">");
    if (g.match == "name") {
      absl::StrAppend(&out, HtmlEscape(g.layers[0][0]));
    } else {
      for (size_t i = 0; i < n; ++i) {
        absl::StrAppend(&out, i > 0 ? "<br>" : "", "[", i + 1, "] ",
                        g.layers[i].empty() ? "<em>(absent)</em>"
                                            : HtmlEscape(absl::StrJoin(g.layers[i], " | ")));
      }
    }
    absl::StrAppend(&out, "</td></tr>\n");
  }
  absl::StrAppend(&out, "</tbody>\n<tfoot><tr class=\"total\"><td></td>");
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&out, "<td class=\"num\">", FormatNumber(sums[i]), "</td>");
  if (n == 2) {
    absl::StrAppend(&out, "<td class=\"num\">", absl::StrFormat("%+.4g", sums[1] - sums[0]),
                    "</td><td class=\"num\">", FormatRatio(sums[1], sums[0]), "</td>");
  } else {
    double m = 0;
    for (size_t i = 1; i < n; ++i) m = std::max(m, std::fabs(sums[i] - sums[0]));
    absl::StrAppend(&out, "<td class=\"num\">", FormatNumber(m), "</td>");
  }
  if (host_columns) {
    for (size_t i = 0; i < n; ++i) {
      absl::StrAppend(&out, "<td class=\"num host\">",
                      host_any[i] ? FormatNumber(host_sums[i]) : "-", "</td>");
    }
  }
  absl::StrAppend(&out, "<td></td><td>Total (", groups.size(), " rows)</td></tr></tfoot>\n</table></div>\n");
  return out;
}

constexpr const char* kStyle = R"css(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: #222; background: #fff; margin: 24px auto; max-width: 1240px; padding: 0 16px; }
.scroll { overflow-x: auto; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
.meta { color: #666; margin: 0; }
.warnings { border: 1px solid #e0b252; background: #fff6df; padding: 8px 12px; margin: 16px 0;
            border-radius: 4px; }
.warnings h2 { border: 0; margin: 0 0 4px; font-size: 15px; }
.warnings ul { margin: 0; padding-left: 20px; }
.nowarnings { color: #2f6f3a; margin: 16px 0; }
ol.reports li { margin-bottom: 4px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { white-space: nowrap; }
td.lname { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }
tr.onnx td, tr.partial td { background: #fbfaf3; }
tfoot td { font-weight: 600; border-top: 2px solid #ccc; }
.ratio { color: #666; }
.better { color: #2f7d32; }
.worse { color: #c62828; }
td.diff { position: relative; }
.bar { display: block; height: 3px; background: #9bb3d4; margin-top: 2px; margin-left: auto; }
figure { margin: 16px 0 24px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; fill: #222; }
svg text.tick { font-size: 11px; fill: #666; }
svg text.note { fill: #888; font-style: italic; }
svg text.legend { font-size: 11.5px; }
footer { color: #888; font-size: 12px; margin-top: 32px; }
)css";

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string HtmlReportLabel(const Report& report, size_t index) {
  return absl::StrCat("[", index + 1, "] ",
                      std::filesystem::path(report.path).filename().string());
}

std::string ComparisonHtml(const std::vector<Report>& reports,
                           const std::vector<LayerGroup>& groups,
                           const std::vector<std::string>& warnings) {
  std::vector<std::string> labels;
  for (size_t i = 0; i < reports.size(); ++i) labels.push_back(HtmlReportLabel(reports[i], i));
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"trtexec_like compare ",
      HtmlEscape(ToolVersion()), "\">\n<title>",
      HtmlEscape(absl::StrCat("Report comparison: ", absl::StrJoin(labels, " vs "))),
      "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n<header>\n<h1>Report comparison</h1>\n"
      "<p class=\"meta\">", reports.size(),
      " reports; ratios are against [1]. Device figures are modeled (deterministic for a plan); "
      "host figures are wall-clock times of the host emulation.</p>\n</header>\n");
  if (warnings.empty()) {
    absl::StrAppend(&out, "<p class=\"nowarnings\" id=\"warnings\">No comparability "
                          "warnings.</p>\n");
  } else {
    absl::StrAppend(&out, "<section class=\"warnings\" id=\"warnings\">\n<h2>Comparability "
                          "warnings</h2>\n<ul>\n");
    for (const std::string& w : warnings) {
      absl::StrAppend(&out, "<li class=\"warning\">", HtmlEscape(w), "</li>\n");
    }
    absl::StrAppend(&out, "</ul>\n</section>\n");
  }
  absl::StrAppend(&out, "<section id=\"reports\">\n<h2>Reports</h2>\n<ol class=\"reports\">\n");
  for (size_t i = 0; i < reports.size(); ++i) {
    absl::StrAppend(&out, "<li><strong>", HtmlEscape(labels[i]), "</strong> <code>",
                    HtmlEscape(reports[i].path), "</code>: ", Describe(reports[i]), "</li>\n");
  }
  absl::StrAppend(&out, "</ol>\n</section>\n<section id=\"summary\">\n<h2>Summary (modeled "
                        "device per inference; ratios against [1])</h2>\n",
                  SummaryTable(reports), "</section>\n<section id=\"charts\">\n<h2>Charts</h2>\n");
  absl::StrAppend(&out, "<figure>\n<figcaption>Modeled device time per inference, by layer "
                        "(the ",
                  kTopGroups,
                  " layer groups with the largest time, the rest as \"other\"; hover for "
                  "values)</figcaption>\n",
                  LayerChart(reports, groups), "</figure>\n");
  absl::StrAppend(&out, "<figure>\n<figcaption>Host latency per inference</figcaption>\n",
                  HostChart(reports), "</figure>\n");
  absl::StrAppend(&out, "<figure>\n<figcaption>Modeled energy per inference</figcaption>\n",
                  EnergyChart(reports), "</figure>\n</section>\n");
  absl::StrAppend(&out, "<section id=\"layers\">\n<h2>Per-layer modeled time (ms per "
                        "inference), sorted by the largest difference to [1]</h2>\n"
                        "<p class=\"meta\">Match: <em>name</em> = same layer in every report; "
                        "<em>onnx</em> = layers matched by the ONNX nodes they cover (fusion "
                        "differs); <em>partial</em> = missing from a report.",
                  AnyHostLayerTimes(groups)
                      ? " <em>host ms</em> = the layer's mean host wall-clock time per inference "
                        "(the profiler's, over the timed iterations); the other times are "
                        "modeled."
                      : "",
                  "</p>\n", LayerTable(reports, groups), "</section>\n");
  absl::StrAppend(&out, "<footer>Written by <code>trtexec_like compare --html</code> (",
                  HtmlEscape(ToolVersion()),
                  "); self-contained: no scripts, no external resources.</footer>\n"
                  "</body>\n</html>\n");
  return out;
}

absl::Status WriteComparisonHtml(const std::string& path, const std::vector<Report>& reports,
                                 const std::vector<LayerGroup>& groups,
                                 const std::vector<std::string>& warnings) {
  return WriteTextFile("--html", path, ComparisonHtml(reports, groups, warnings));
}

}  // namespace trtexec_like
