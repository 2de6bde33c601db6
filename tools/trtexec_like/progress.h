// A progress bar for long phases (calibration, evaluation, sweeps): drawn on
// stderr when stderr is a terminal, silent otherwise (logs and CI stay clean).
// Also the --verbose explanation of the build phases.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_PROGRESS_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "engine/builder.h"

namespace trtexec_like {

class ProgressBar {
 public:
  /// `label` names the phase ("calibrate"); `total` 0 = unknown (a counter is
  /// shown instead of a bar).
  explicit ProgressBar(std::string label, int64_t total = 0);
  ~ProgressBar();  // Finish()
  /// Redraws with `done` units finished (at most ~10 redraws per second).
  void Update(int64_t done, int64_t total = -1);
  /// Draws the final state and ends the line (once).
  void Finish();
  /// Whether the bar is drawn (stderr is a terminal and TERM is not "dumb").
  bool enabled() const { return enabled_; }

 private:
  void Draw();
  std::string label_;
  int64_t total_ = 0;
  int64_t done_ = 0;
  bool enabled_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// --verbose: the build phases of `built` (BuildResult::phases: parse,
/// optimize, quantize, codegen), one "[V]" line each with its host time and
/// what it did (nodes, passes and rewrites, layer precisions and calibration,
/// layers and plan size), then the total.
void PrintBuildPhases(const engine::BuildResult& built);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_PROGRESS_H_
