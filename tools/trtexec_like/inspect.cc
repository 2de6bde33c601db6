#include "trtexec_like/inspect.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/hardware.h"
#include "engine/logger.h"
#include "engine/runtime.h"
#include "trtexec_like/format.h"
#include "trtexec_like/layer_join.h"
#include "trtexec_like/log.h"

namespace trtexec_like {
namespace {

std::string Or(const std::string& s, const char* fallback = "-") { return s.empty() ? fallback : s; }

}  // namespace

absl::Status InspectPlan(const InspectOptions& opt) {
  const std::string& path = opt.plan;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat(
        "cannot open plan '", path, "': ",
        std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  }
  ToolLogger logger(engine::Severity::kWarning);
  auto loaded = engine::Runtime::LoadEngineFile(path, &logger);
  if (!loaded.ok()) {
    std::string msg(loaded.status().message());
    if (!absl::StrContains(msg, path)) msg = absl::StrCat(path, ": ", msg);
    return absl::Status(loaded.status().code(), absl::StrCat("cannot load plan: ", msg));
  }
  const engine::Engine& eng = **loaded;
  const engine::PlanInfo& info = eng.plan_info();
  const engine::MemoryPlanInfo& mem = eng.memory_plan();
  const engine::DeviceProfile& prof = eng.device_profile();

  std::printf("=== Plan %s ===\n", path.c_str());
  std::printf("Model:         %s\n", Or(info.model_name, "(unnamed)").c_str());
  std::printf("Plan:          %s, schema v%u, built by engine %s\n",
              FormatBytesExact(static_cast<int64_t>(info.plan_bytes)).c_str(), info.schema_version,
              info.engine_version.c_str());
  std::printf("Objective:     %s; %llu accelerator instructions\n", info.objective.c_str(),
              static_cast<unsigned long long>(info.instructions));
  std::printf("Hardware:      %s\n", engine::HardwareSummary(eng.hardware()).c_str());
  std::printf("Weights:       %s\n", FormatBytesExact(static_cast<int64_t>(info.weight_bytes)).c_str());
  std::printf("Arena:         %s per execution context (lower bound %s, no reuse %s; %s, "
              "%lld-byte alignment)\n",
              FormatBytesExact(mem.arena_bytes).c_str(), FormatBytesExact(mem.lower_bound_bytes).c_str(),
              FormatBytesExact(mem.no_reuse_bytes).c_str(), mem.strategy.c_str(),
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
  const std::vector<JoinedLayer> joined = JoinLayers(eng);
  for (size_t i = 0; i < joined.size(); ++i) {
    const engine::LayerInfo& l = *joined[i].info;
    const engine::LayerDeviceProfile* d = joined[i].device;
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
  return absl::OkStatus();
}

}  // namespace trtexec_like
