// The --hwSweep grammar (tools/trtexec_like/sweep_spec.h).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "trtexec_like/sweep_spec.h"

namespace trtexec_like {
namespace {

TEST_CASE("ParseHwSweep expands the cross product, first axis slowest", "[tools][sweep]") {
  auto points = ParseHwSweep("array=16x16|32x32; bandwidth=8|32;", "");
  REQUIRE(points.ok());
  REQUIRE(points->size() == 4);
  const SweepPoint& p = (*points)[1];
  REQUIRE(p.overrides.size() == 2);
  CHECK(p.overrides[0] == std::pair<std::string, std::string>{"array", "16x16"});
  CHECK(p.overrides[1] == std::pair<std::string, std::string>{"dram_bw", "32"});  // alias
  CHECK(p.hw_spec == "edge,array=16x16,dram_bw=32");
  CHECK(p.file_name == "p02_array-16x16_dram_bw-32.json");
  CHECK((*points)[2].hw_spec == "edge,array=32x32,dram_bw=8");
  CHECK((*points)[3].file_name == "p04_array-32x32_dram_bw-32.json");
}

TEST_CASE("ParseHwSweep builds on the base --hw and keeps file names safe", "[tools][sweep]") {
  auto points = ParseHwSweep("dram_bw=12.8", "gemmini");
  REQUIRE(points.ok());
  REQUIRE(points->size() == 1);
  CHECK((*points)[0].hw_spec == "gemmini,dram_bw=12.8");
  CHECK((*points)[0].file_name == "p01_dram_bw-12.8.json");
}

TEST_CASE("ParseHwSweep names the bad item", "[tools][sweep]") {
  struct Case {
    std::string spec;
    std::vector<std::string> needles;
  };
  const Case cases[] = {
      {"", {"--hwSweep: empty"}},
      {" ; ", {"--hwSweep ' ; ': no KEY=VALUE"}},
      {"array", {"--hwSweep item 'array'", "KEY=VALUE"}},
      {"=16x16", {"missing the key"}},
      {"array=16x16||32x32", {"empty value"}},
      {"array=16x16|16x16", {"'16x16' is listed twice"}},
      {"array=16x16;array=32x32", {"key 'array' is swept twice"}},
      {"array=abc", {"--hwSweep item 'array=abc'"}},
      {"nosuchkey=1", {"--hwSweep item 'nosuchkey=1'"}},
      {"array=16x16,dataflow=ws", {"contains ',', '=' or ';'"}},
  };
  for (const Case& c : cases) {
    INFO("spec: " << c.spec);
    auto points = ParseHwSweep(c.spec, "");
    REQUIRE_FALSE(points.ok());
    CHECK(points.status().code() == absl::StatusCode::kInvalidArgument);
    for (const std::string& n : c.needles) CHECK(absl::StrContains(points.status().message(), n));
  }
  auto base = ParseHwSweep("array=16x16", "nonexistent");
  REQUIRE_FALSE(base.ok());
  CHECK(absl::StrContains(base.status().message(), "base --hw 'nonexistent'"));
}

TEST_CASE("ParseHwSweep refuses more than kMaxSweepPoints configurations", "[tools][sweep]") {
  std::string a = "dram_bw=", b = ";clock=";
  for (int i = 1; i <= 17; ++i) {
    absl::StrAppend(&a, i > 1 ? "|" : "", i);
    absl::StrAppend(&b, i > 1 ? "|" : "", 100 * i);
  }
  auto points = ParseHwSweep(a + b, "");  // 17 x 17 = 289
  REQUIRE_FALSE(points.ok());
  CHECK(absl::StrContains(points.status().message(), absl::StrCat("more than ", kMaxSweepPoints)));
  auto seventeen = ParseHwSweep(a, "");
  REQUIRE(seventeen.ok());
  CHECK(seventeen->size() == 17);
}

}  // namespace
}  // namespace trtexec_like
