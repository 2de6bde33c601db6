#include "inspect.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/hardware.h"
#include "engine/logger.h"
#include "engine/runtime.h"

namespace trtexec_like {
namespace {

std::string Bytes(int64_t bytes) {
  if (bytes >= 1000000) return absl::StrFormat("%lld bytes (%.1f MB)", bytes, bytes / 1e6);
  if (bytes >= 1000) return absl::StrFormat("%lld bytes (%.1f KB)", bytes, bytes / 1e3);
  return absl::StrFormat("%lld bytes", bytes);
}

const engine::LayerDeviceProfile* DeviceLayer(const engine::DeviceProfile& profile, size_t index,
                                              const std::string& name) {
  if (index < profile.layers.size() && profile.layers[index].name == name) {
    return &profile.layers[index];
  }
  for (const auto& l : profile.layers) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

std::string Or(const std::string& s, const char* fallback = "-") { return s.empty() ? fallback : s; }

}  // namespace

int RunInspect(int argc, char** argv) {
  std::string path;
  CLI::App app{"trtexec_like inspect: print what a plan holds (layers, fused ONNX nodes, "
               "precision, mapping, memory, hardware, versions) without running it",
               "trtexec_like inspect"};
  app.add_option("plan", path, "Plan file (from --saveEngine)")->required();
  std::vector<const char*> args = {"trtexec_like inspect"};
  for (int i = 0; i < argc; ++i) args.push_back(argv[i]);
  try {
    app.parse(static_cast<int>(args.size()), const_cast<char**>(args.data()));
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    std::fprintf(stderr, "[E] inspect: cannot open plan '%s': %s\n", path.c_str(),
                 std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
    return 1;
  }
  engine::StderrLogger logger(engine::Severity::kWarning);
  auto loaded = engine::Runtime::LoadEngineFile(path, &logger);
  if (!loaded.ok()) {
    std::string msg(loaded.status().message());
    if (!absl::StrContains(msg, path)) msg = absl::StrCat(path, ": ", msg);
    std::fprintf(stderr, "[E] inspect: cannot load plan: %s\n", msg.c_str());
    return 1;
  }
  const engine::Engine& eng = **loaded;
  const engine::PlanInfo& info = eng.plan_info();
  const engine::MemoryPlanInfo& mem = eng.memory_plan();
  const engine::DeviceProfile& prof = eng.device_profile();

  std::printf("=== Plan %s ===\n", path.c_str());
  std::printf("Model:         %s\n", Or(info.model_name, "(unnamed)").c_str());
  std::printf("Plan:          %s, schema v%u, built by engine %s\n",
              Bytes(static_cast<int64_t>(info.plan_bytes)).c_str(), info.schema_version,
              info.engine_version.c_str());
  std::printf("Objective:     %s; %llu accelerator instructions\n", info.objective.c_str(),
              static_cast<unsigned long long>(info.instructions));
  std::printf("Hardware:      %s\n", engine::HardwareSummary(eng.hardware()).c_str());
  std::printf("Weights:       %s\n", Bytes(static_cast<int64_t>(info.weight_bytes)).c_str());
  std::printf("Arena:         %s per execution context (lower bound %s, no reuse %s; %s, "
              "%lld-byte alignment)\n",
              Bytes(mem.arena_bytes).c_str(), Bytes(mem.lower_bound_bytes).c_str(),
              Bytes(mem.no_reuse_bytes).c_str(), mem.strategy.c_str(),
              static_cast<long long>(mem.alignment));
  std::printf("Modeled:       %.4g ms per inference (%lld cycles at %g MHz), %.4g uJ\n",
              prof.latency_ms, static_cast<long long>(prof.total_cycles), prof.clock_mhz,
              prof.energy_pj() / 1e6);

  std::printf("\n=== Inputs (%zu) ===\n", eng.inputs().size());
  for (const auto& d : eng.inputs()) {
    std::printf("  %s: %s %s\n", d.name.c_str(), engine::DataTypeName(d.dtype),
                engine::DimsToString(d.shape).c_str());
  }
  std::printf("=== Outputs (%zu) ===\n", eng.outputs().size());
  for (const auto& d : eng.outputs()) {
    std::printf("  %s: %s %s\n", d.name.c_str(), engine::DataTypeName(d.dtype),
                engine::DimsToString(d.shape).c_str());
  }

  size_t fused = 0, nodes = 0;
  for (const auto& l : eng.layers()) {
    nodes += l.onnx_nodes.size();
    fused += l.onnx_nodes.size() > 1;
  }
  std::printf("\n=== Layers (%zu layers covering %zu ONNX nodes, %zu fused) ===\n",
              eng.layers().size(), nodes, fused);
  std::printf("%4s  %-18s %-9s %-6s %-9s %-8s %12s  %s\n", "#", "Type", "Precision", "Unit",
              "Tactic", "Dataflow", "Cycles", "Layer");
  for (size_t i = 0; i < eng.layers().size(); ++i) {
    const engine::LayerInfo& l = eng.layers()[i];
    const engine::LayerDeviceProfile* d = DeviceLayer(prof, i, l.name);
    std::printf("%4zu  %-18s %-9s %-6s %-9s %-8s %12lld  %s\n", i, l.type.c_str(),
                d ? Or(d->precision).c_str() : "?", d ? Or(d->unit).c_str() : "?",
                d ? Or(d->tactic).c_str() : "?", d ? Or(d->dataflow).c_str() : "?",
                static_cast<long long>(d ? d->cycles : 0), l.name.c_str());
    if (l.onnx_nodes.size() > 1 || (l.onnx_nodes.size() == 1 && l.onnx_nodes[0] != l.name)) {
      std::printf("%6s ONNX nodes: %s\n", "", absl::StrJoin(l.onnx_nodes, ", ").c_str());
    }
    if (d != nullptr && !d->tiling.empty()) std::printf("%6s tiling: %s\n", "", d->tiling.c_str());
    std::printf("%6s [%s] -> [%s]\n", "", absl::StrJoin(l.inputs, ", ").c_str(),
                absl::StrJoin(l.outputs, ", ").c_str());
  }
  return 0;
}

}  // namespace trtexec_like
