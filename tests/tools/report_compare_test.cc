// Matching layers across reports and the comparability warnings
// (tools/trtexec_like/report/compare.h), and the HTML escaping of
// report/compare_html.h.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "report_fixtures.h"
#include "trtexec_like/report/compare.h"
#include "trtexec_like/report/compare_html.h"

namespace trtexec_like {
namespace {

using testing::ParsedReport;

const LayerGroup* FindGroup(const std::vector<LayerGroup>& groups, const std::string& node) {
  for (const LayerGroup& g : groups) {
    for (const std::string& n : g.onnx_nodes) {
      if (n == node) return &g;
    }
  }
  return nullptr;
}

TEST_CASE("MatchLayers matches layers of the same name", "[tools][compare]") {
  const std::vector<Report> reports = {
      ParsedReport("a.json", "m", {{"conv1", {"conv1"}, 2.0}, {"fc", {"fc"}, 0.5}}),
      ParsedReport("b.json", "m", {{"conv1", {"conv1"}, 1.0}, {"fc", {"fc"}, 0.5}})};
  const std::vector<LayerGroup> groups = MatchLayers(reports);
  REQUIRE(groups.size() == 2);
  // Largest difference first.
  CHECK(groups[0].layers[0] == std::vector<std::string>{"conv1"});
  CHECK(groups[0].match == "name");
  CHECK(groups[0].max_abs_diff_ms == Approx(1.0));
  CHECK(groups[0].time_ms[1] == Approx(1.0));
  CHECK(groups[1].max_abs_diff_ms == 0.0);
}

TEST_CASE("MatchLayers joins fused and unfused layers by their ONNX nodes", "[tools][compare]") {
  const std::vector<Report> reports = {
      ParsedReport("unfused.json", "m",
                   {{"conv1", {"conv1"}, 2.0}, {"relu1", {"relu1"}, 1.0}, {"fc", {"fc"}, 0.5}}),
      ParsedReport("fused.json", "m", {{"conv1 + relu1", {"conv1", "relu1"}, 2.5}, {"fc", {"fc"}, 0.5}})};
  const std::vector<LayerGroup> groups = MatchLayers(reports);
  REQUIRE(groups.size() == 2);
  const LayerGroup* g = FindGroup(groups, "relu1");
  REQUIRE(g != nullptr);
  CHECK(g->match == "onnx");
  CHECK(g->onnx_nodes == std::vector<std::string>{"conv1", "relu1"});
  CHECK(g->layers[0] == std::vector<std::string>{"conv1", "relu1"});
  CHECK(g->layers[1] == std::vector<std::string>{"conv1 + relu1"});
  CHECK(*g->time_ms[0] == Approx(3.0));
  CHECK(*g->time_ms[1] == Approx(2.5));
  CHECK(g->cycles[0] == 3000);
  CHECK(FindGroup(groups, "fc")->match == "name");
}

TEST_CASE("MatchLayers marks a layer missing from a report as partial", "[tools][compare]") {
  const std::vector<Report> reports = {
      ParsedReport("a.json", "m", {{"conv1", {"conv1"}, 2.0}, {"drop", {"drop"}, 0.1}}),
      ParsedReport("b.json", "m", {{"conv1", {"conv1"}, 2.0}})};
  const std::vector<LayerGroup> groups = MatchLayers(reports);
  const LayerGroup* g = FindGroup(groups, "drop");
  REQUIRE(g != nullptr);
  CHECK(g->match == "partial");
  CHECK(g->layers[1].empty());
  CHECK_FALSE(g->time_ms[1].has_value());
  CHECK(groups[0].match == "partial");  // the only difference, so first
}

TEST_CASE("ComparabilityWarnings flags different models and engines", "[tools][compare]") {
  std::vector<Report> same = {ParsedReport("a.json", "m", {}), ParsedReport("b.json", "m", {})};
  CHECK(ComparabilityWarnings(same).empty());

  std::vector<Report> other = {ParsedReport("a.json", "m", {}), ParsedReport("b.json", "n", {})};
  other[1].engine_version = "9.9.9";
  const std::vector<std::string> w = ComparabilityWarnings(other);
  REQUIRE(w.size() == 2);
  CHECK(absl::StrContains(w[0], "not comparable: [2] is of a different model than [1]"));
  CHECK(absl::StrContains(w[1], "[2] was built by engine 9.9.9"));
}

// A report with host timings: min, median, max and percentiles (ms).
Report WithHost(Report r, double min_ms, double median_ms, double max_ms,
                const std::vector<std::pair<double, double>>& percentiles) {
  ReportHost h;
  h.iterations = 100;
  h.min_ms = min_ms;
  h.median_ms = median_ms;
  h.mean_ms = median_ms;
  h.max_ms = max_ms;
  r.host = h;
  nlohmann::json p = nlohmann::json::array();
  for (const auto& [pct, ms] : percentiles) p.push_back({{"percentile", pct}, {"ms", ms}});
  r.json["performance"]["host"] = {{"percentiles", p}};
  return r;
}

TEST_CASE("ChooseHostAxis cuts the axis when one outlier run dwarfs the boxes", "[tools][compare]") {
  // Median 10 ms, p99 12 ms, one 500 ms run: without the cut the box
  // (10..11 ms) would be 2 px of a 500 ms axis.
  const std::vector<Report> outlier = {
      WithHost(ParsedReport("a.json", "m", {}), 9.5, 10, 500, {{90, 11}, {95, 11.5}, {99, 12}})};
  const HostAxis a = ChooseHostAxis(outlier);
  CHECK(a.clipped);
  CHECK(a.hi >= 12);
  CHECK(a.hi <= 20);
  CHECK(a.lo < 9.5);
  // The box p50..p90 covers at least 5 % of the axis.
  CHECK((11 - 10) / (a.hi - a.lo) >= 0.05);

  // A well-behaved distribution keeps its maximum on the axis.
  const std::vector<Report> tight = {
      WithHost(ParsedReport("a.json", "m", {}), 9.5, 10, 13, {{90, 11}, {99, 12}}),
      WithHost(ParsedReport("b.json", "m", {}), 4, 5, 6, {{90, 5.5}, {99, 5.9}})};
  const HostAxis b = ChooseHostAxis(tight);
  CHECK_FALSE(b.clipped);
  CHECK(b.hi >= 13);
  CHECK(b.lo == 0);
  CHECK(b.step > 0);

  // The page says so and marks the clipped maximum.
  const std::string html = ComparisonHtml(outlier, MatchLayers(outlier), {});
  CHECK(absl::StrContains(html, "max 500 ms"));
  CHECK(absl::StrContains(html, "beyond the axis"));
}

TEST_CASE("LegendColumns uses fewer columns rather than truncating names", "[tools][compare]") {
  CHECK(LegendColumns({"conv1", "fc", "other"}) == 3);
  const std::string long_name(60, 'x');  // ~408 px: fits half of the chart, not a third
  CHECK(LegendColumns({"conv1", long_name}) == 2);
  CHECK(LegendColumns({std::string(120, 'y')}) == 1);
}

// ParsedReport with an evaluation of `top1` percent (none when negative) and
// host per-layer times `host_ms` (ms per layer in order).
Report WithEvalAndHostLayers(const std::string& path, double top1,
                             const std::vector<double>& host_ms) {
  nlohmann::json doc = testing::MinimalReport(
      "m", {{"conv1", {"conv1"}, 2.0}, {"fc", {"fc"}, 0.5}});
  if (top1 >= 0) {
    doc["evaluation"] = {{"dataset", "100 images"}, {"images", 100},
                         {"correct", static_cast<int>(top1)}, {"top1Percent", top1}};
  }
  for (size_t i = 0; i < host_ms.size(); ++i) doc["layers"][i]["hostAverageMs"] = host_ms[i];
  auto r = ParseReport(doc.dump(), path);
  REQUIRE(r.ok());
  return *std::move(r);
}

TEST_CASE("compare shows top-1 accuracy and host per-layer times next to the modeled ones",
          "[tools][compare]") {
  const std::vector<Report> reports = {WithEvalAndHostLayers("a.json", 98.0, {0.75, 0.25}),
                                       WithEvalAndHostLayers("b.json", 97.5, {0.5, 0.125})};
  REQUIRE(reports[0].evaluation.has_value());
  CHECK(reports[0].evaluation->images == 100);
  CHECK(ChooseSummaryUnits(reports).any_top1);
  CHECK(Top1Cell(reports[0].evaluation, reports[0].evaluation, true) == "98.00");
  CHECK(Top1Cell(reports[1].evaluation, reports[0].evaluation, false) == "97.50 (-0.50)");
  CHECK(Top1Cell(std::nullopt, reports[0].evaluation, false) == "-");
  const std::vector<LayerGroup> groups = MatchLayers(reports);
  CHECK(AnyHostLayerTimes(groups));
  const LayerGroup* conv = FindGroup(groups, "conv1");
  REQUIRE(conv != nullptr);
  CHECK(*conv->host_ms[0] == Approx(0.75));
  CHECK(*conv->host_ms[1] == Approx(0.5));
  const std::string html = ComparisonHtml(reports, groups, {});
  CHECK(absl::StrContains(html, "<th>Top-1 (%)</th>"));
  CHECK(absl::StrContains(html, "97.50 (-0.50)"));
  CHECK(absl::StrContains(html, "[2] host ms</th>"));
  CHECK(absl::StrContains(html, "<td class=\"num host\">0.75</td>"));
  CHECK(absl::StrContains(html, "top-1 98.00%"));
  const nlohmann::json json = ComparisonJson(reports, groups, {});
  CHECK(json["reports"][1]["evaluation"]["top1Percent"] == 97.5);

  // Without evaluations and host times: neither column.
  const std::vector<Report> plain = {WithEvalAndHostLayers("a.json", -1, {}),
                                     WithEvalAndHostLayers("b.json", -1, {})};
  CHECK_FALSE(ChooseSummaryUnits(plain).any_top1);
  CHECK_FALSE(AnyHostLayerTimes(MatchLayers(plain)));
  const std::string plain_html = ComparisonHtml(plain, MatchLayers(plain), {});
  CHECK_FALSE(absl::StrContains(plain_html, "Top-1 (%)"));
  CHECK_FALSE(absl::StrContains(plain_html, "host ms"));
}

TEST_CASE("HtmlEscape escapes markup and quotes", "[tools][compare]") {
  CHECK(HtmlEscape("<a href=\"x\">'&'</a>") ==
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  CHECK(HtmlEscape("plain") == "plain");
}

}  // namespace
}  // namespace trtexec_like
