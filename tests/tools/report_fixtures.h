// Report documents for the tests of tools/trtexec_like/report/: the smallest
// JSON that ParseReport accepts, with the given layers.
#ifndef ENGINE_TESTS_TOOLS_REPORT_FIXTURES_H_
#define ENGINE_TESTS_TOOLS_REPORT_FIXTURES_H_

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "trtexec_like/report/schema.h"

namespace trtexec_like::testing {

/// One layer of MinimalReport: its name, the ONNX nodes it covers and its
/// modeled time (ms; cycles are 1000 per ms).
struct FixtureLayer {
  std::string name;
  std::vector<std::string> onnx_nodes;
  double time_ms = 0;
};

/// A schema-v1 report of a model hashed `model_hash` (of its ONNX bytes)
/// with `layers`; modeled latency 2.5 ms, 2500 cycles, 1e9 pJ, 4096 DRAM
/// bytes, no host timings.
inline nlohmann::json MinimalReport(const std::string& model_hash,
                                    const std::vector<FixtureLayer>& layers) {
  using Json = nlohmann::json;
  Json out_layers = Json::array();
  for (const FixtureLayer& l : layers) {
    out_layers.push_back(Json{{"name", l.name},
                              {"onnxNodes", l.onnx_nodes},
                              {"type", "Conv"},
                              {"precision", "fp32"},
                              {"unit", "array"},
                              {"tactic", "array-ws"},
                              {"dataflow", "ws"},
                              {"tiling", ""},
                              {"cycles", static_cast<int64_t>(l.time_ms * 1000)},
                              {"timeMs", l.time_ms},
                              {"energyPj", 100.0},
                              {"dramBytes", 64},
                              {"hostAverageMs", nullptr}});
  }
  return Json{
      {"schemaVersion", kReportSchemaVersion},
      {"kind", kReportKind},
      {"tool", {{"name", "trtexec_like"}, {"version", "0"}}},
      {"engine", {{"version", "0.2.0"}}},
      {"model", {{"path", "m.onnx"}, {"hash", {{"algorithm", "fnv1a64"}, {"of", "onnx"},
                                               {"value", model_hash}}}}},
      {"build", {{"objective", "latency"}, {"hwSpec", "edge"}, {"optLevel", 2}}},
      {"hardware", {{"name", "edge"}, {"summary", "edge: 32x32 array"}}},
      {"machine", {{"hostname", "h"}, {"cpuModel", "cpu"}, {"hardwareConcurrency", 2}}},
      {"performance",
       {{"device",
         {{"latencyMs", 2.5},
          {"cycles", 2500},
          {"utilization", 0.5},
          {"energyPj", {{"total", 1e9}, {"compute", 5e8}, {"sram", 2.5e8}, {"dram", 2.5e8}}},
          {"dramBytes", {{"read", 4000}, {"written", 96}, {"total", 4096}}}}},
        {"host", nullptr}}},
      {"memory",
       {{"arenaBytes", 1000}, {"noReuseBytes", 2000}, {"lowerBoundBytes", 900}, {"weightBytes", 10}}},
      {"layers", std::move(out_layers)},
  };
}

/// ParseReport of MinimalReport(`model_hash`, `layers`) named `path`
/// (REQUIREs that it parses).
inline Report ParsedReport(const std::string& path, const std::string& model_hash,
                           const std::vector<FixtureLayer>& layers) {
  auto r = ParseReport(MinimalReport(model_hash, layers).dump(), path);
  REQUIRE(r.ok());
  return *std::move(r);
}

}  // namespace trtexec_like::testing

#endif  // ENGINE_TESTS_TOOLS_REPORT_FIXTURES_H_
