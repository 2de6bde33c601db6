#include "trtexec_like/progress.h"

#include "trtexec_like/int8.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace trtexec_like {

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)), total_(total) {
  const char* term = std::getenv("TERM");
  enabled_ = isatty(STDERR_FILENO) == 1 && !(term != nullptr && std::strcmp(term, "dumb") == 0);
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(int64_t done, int64_t total) {
  done_ = done;
  if (total >= 0) total_ = total;
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && (total_ == 0 || done_ < total_)) return;
  last_draw_ = now;
  Draw();
}

void ProgressBar::Draw() {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (total_ > 0) {
    constexpr int kWidth = 30;
    const double f = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const int filled = static_cast<int>(f * kWidth);
    char bar[kWidth + 1];
    for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
    bar[kWidth] = '\0';
    const double eta = f > 0 ? s * (1 - f) / f : 0;
    std::fprintf(stderr, "\r[%s] [%s] %3.0f%% %lld/%lld  %.1fs, eta %.1fs ", label_.c_str(), bar,
                 100 * f, static_cast<long long>(done_), static_cast<long long>(total_), s, eta);
  } else {
    std::fprintf(stderr, "\r[%s] %lld  %.1fs ", label_.c_str(), static_cast<long long>(done_), s);
  }
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  Draw();
  std::fprintf(stderr, "\n");
}

namespace {

std::string PhaseDetail(const engine::BuildPhase& phase, const engine::BuildResult& built) {
  if (phase.name == "parse") {
    return absl::StrCat("read and checked the ONNX model, inferred shapes: ", built.onnx_nodes,
                        " nodes");
  }
  if (phase.name == "optimize") {
    int changed = 0;
    int64_t rewrites = 0;
    std::vector<std::pair<int64_t, std::string>> fired;
    for (const engine::PassSummary& p : built.passes) {
      changed += p.changed;
      auto it = p.counters.find("fired");
      const int64_t n = it == p.counters.end() ? 0 : it->second;
      rewrites += n;
      if (n > 0) fired.emplace_back(n, p.name);
    }
    std::stable_sort(fired.begin(), fired.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> top;
    for (size_t i = 0; i < fired.size() && i < 3; ++i) {
      top.push_back(absl::StrCat(fired[i].second, " x", fired[i].first));
    }
    const int before = built.passes.empty() ? built.onnx_nodes : built.passes.front().nodes_before;
    const int after = built.passes.empty() ? built.onnx_nodes : built.passes.back().nodes_after;
    std::string out = absl::StrCat("ran ", built.passes.size(), " passes (", changed,
                                   " changed the graph), ", rewrites, " rewrites");
    if (!top.empty()) {
      absl::StrAppend(&out, " (", absl::StrJoin(top, ", "), fired.size() > 3 ? ", ..." : "", ")");
    }
    absl::StrAppend(&out, ": ", before, " -> ", after, " nodes");
    return out;
  }
  if (phase.name == "quantize") {
    const PrecisionCounts n = CountPrecisions(built);
    const engine::CalibrationSummary& c = built.calibration;
    std::string out = absl::StrCat("chose layer precisions: ", n.int8, " int8, ", n.fp32, " fp32, ",
                                   n.boundary, " quantize/dequantize; scales of ", c.tensors,
                                   " tensors ");
    if (c.from_cache) {
      absl::StrAppend(&out, "from the calibration cache (", c.algorithm, ")");
    } else {
      absl::StrAppend(&out, "calibrated (", c.algorithm, ") on ", c.batches,
                      absl::StrFormat(" batches in %.1f ms", c.ms));
    }
    return out;
  }
  if (phase.name == "codegen") {
    return absl::StrCat("mapped ", built.engine_layers,
                        " layers onto the hardware (unit, tactic, dataflow and tiling per layer), "
                        "planned the activation arena and serialized the plan: ",
                        built.plan.size(), " bytes");
  }
  return "";
}

}  // namespace

void PrintBuildPhases(const engine::BuildResult& built) {
  double total = 0;
  std::printf("[V] Build phases (host wall time):\n");
  for (const engine::BuildPhase& p : built.phases) {
    total += p.ms;
    std::printf("[V]   %-9s %9.1f ms  %s\n", p.name.c_str(), p.ms, PhaseDetail(p, built).c_str());
  }
  std::printf("[V]   %-9s %9.1f ms\n", "total", total);
}

}  // namespace trtexec_like
