// Matching layers across reports and the comparability warnings
// (tools/trtexec_like/report/compare.h), and the HTML escaping of
// report/compare_html.h.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

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

TEST_CASE("HtmlEscape escapes markup and quotes", "[tools][compare]") {
  CHECK(HtmlEscape("<a href=\"x\">'&'</a>") ==
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  CHECK(HtmlEscape("plain") == "plain");
}

}  // namespace
}  // namespace trtexec_like
