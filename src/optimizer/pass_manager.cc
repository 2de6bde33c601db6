#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "optimizer/pass.h"
#include "optimizer/passes.h"

namespace engine::opt {

absl::Status PassManager::Run(ir::Graph& graph) {
  Logger& log = logger_ != nullptr ? *logger_ : DefaultLogger();
  for (const auto& pass : passes_) {
    PassRecord rec;
    rec.name = std::string(pass->name());
    rec.nodes_before = static_cast<int>(graph.nodes().size());
    PassStats stats;
    auto t0 = std::chrono::steady_clock::now();
    pass->set_context(&context_);
    auto changed = pass->Run(graph, stats);
    rec.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!changed.ok()) return Annotate(changed.status(), absl::StrCat("pass ", rec.name));
    rec.changed = *changed;
    rec.nodes_after = static_cast<int>(graph.nodes().size());
    rec.counters = stats.counters();
    absl::Status verified = graph.Verify();
    if (!verified.ok()) return Annotate(verified, absl::StrCat("after pass ", rec.name));
    log.Log(Severity::kVerbose,
            absl::StrFormat("pass %-24s %s %7.2f ms  nodes %d -> %d", rec.name,
                            rec.changed ? "changed  " : "unchanged", rec.ms, rec.nodes_before,
                            rec.nodes_after));
    if (dump_fn_ && (dump_after_ == rec.name || dump_after_ == "*")) dump_fn_(rec.name, graph);
    records_.push_back(std::move(rec));
  }
  return absl::OkStatus();
}

std::vector<std::string> PassManager::PassNames() const {
  std::vector<std::string> names;
  for (const auto& p : passes_) names.emplace_back(p->name());
  return names;
}

std::string PassManager::Report() const {
  std::string s;
  for (const PassRecord& r : records_) {
    std::vector<std::string> counters;
    for (const auto& [k, v] : r.counters) counters.push_back(absl::StrCat(k, "=", v));
    absl::StrAppend(&s, absl::StrFormat("%-24s %-9s %8.2f ms  nodes %4d -> %4d  %s\n", r.name,
                                        r.changed ? "changed" : "unchanged", r.ms, r.nodes_before,
                                        r.nodes_after, absl::StrJoin(counters, " ")));
  }
  return s;
}

std::vector<std::pair<std::string, std::string>> ListPasses() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& name : AllPassNamesInOrder()) {
    auto p = CreatePass(name);
    out.emplace_back(name, std::string((*p)->description()));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<PassManager>> BuildPipeline(
    int opt_level, const std::vector<std::string>& explicit_passes) {
  if (opt_level < 0 || opt_level > 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("optimization level must be 0..3, got ", opt_level));
  }
  std::vector<std::string> names =
      explicit_passes.empty() ? PassesForLevel(opt_level) : explicit_passes;
  auto pm = std::make_unique<PassManager>();
  for (const std::string& name : names) {
    ENGINE_ASSIGN_OR_RETURN(std::unique_ptr<Pass> p, CreatePass(name));
    pm->Add(std::move(p));
  }
  return pm;
}

}  // namespace engine::opt
