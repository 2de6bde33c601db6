// Command-line options of trtexec_like (trtexec's flag names).
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_OPTIONS_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_OPTIONS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/builder.h"
#include "engine/types.h"

namespace trtexec_like {

struct Options {
  std::string onnx;
  std::string save_engine;
  std::string load_engine;
  std::string shapes;
  std::string load_inputs;
  std::string export_output;
  std::string load_ref_outputs;
  double atol = 1e-5;
  double rtol = 1e-3;
  int iterations = 10;
  /// --threads: host threads per layer (ExecutionContext::SetThreads); 0 =
  /// not given (ExecutionContext::DefaultThreads(), the hardware threads).
  int threads = 0;
  double warm_up_ms = 200;
  double duration_s = 3;
  std::string percentile = "90,95,99";
  bool verbose = false;
  bool skip_inference = false;
  bool dump_profile = false;
  bool dump_layer_info = false;
  int opt_level = 2;
  std::string passes;
  std::string dump_ir_after;
  std::string dump_dot;
  bool list_passes = false;
  bool no_memory_reuse = false;
  int64_t arena_alignment = 64;
  int seed = 1;
  /// --hw: preset or JSON file plus ",KEY=VALUE" overrides; "" = not given
  /// (build: the "edge" preset; --loadEngine: the plan's hardware).
  std::string hw;
  /// --objective: "latency", "energy" or "edp"; "" = not given (latency).
  std::string objective;
  std::string export_profile;
  std::string export_trace;
  std::string export_layer_info;
  /// --exportReport: the run report (run_report.h, docs/report_schema.md).
  std::string export_report;
  /// --hwSweep: "KEY=V1|V2;KEY=..." --hw overrides to sweep (sweep.h).
  std::string hw_sweep;
  /// --exportReportDir: where --hwSweep writes one report per configuration.
  std::string export_report_dir;

  // INT8 (int8.h).
  bool int8 = false;
  std::string calib_data;          ///< --calibData: images, tensor files or MNIST IDX
  int64_t calib_images = 0;        ///< --calibImages: at most this many samples (0 = all)
  int64_t calib_batches = 0;       ///< --calibBatches: at most this many batches (0 = all)
  std::string calibrator = "entropy";
  double calib_percentile = 99.99;
  std::string calib_cache;         ///< --calib: calibration cache (read if it exists, else written)
  std::string preprocess = "imagenet";
  bool skip_unreadable = false;
  std::string layer_precisions;    ///< --layerPrecisions=name:fp32,...
  double accuracy_guard_db = 0;    ///< --accuracyGuard (dB)
  std::string eval_data;           ///< --evalData
  std::string eval_labels;         ///< --evalLabels
  int64_t eval_images = 0;         ///< --evalImages: at most this many (0 = all)
  bool compare_int8 = false;       ///< --compareInt8: per-layer INT8 vs FP32 table
  int compare_top = 25;            ///< rows of the --compareInt8 table
};

/// Parses "a:1x3x224x224,b:1x10" (trtexec --shapes). Names may contain ':'
/// (the last ':' separates the dims). Errors: InvalidArgument naming the item.
absl::StatusOr<std::map<std::string, engine::Dims>> ParseShapes(const std::string& spec);

/// Parses "name:file,name2:file2"; an item without ':' gets the name "".
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseNamedFiles(
    const std::string& spec);

/// Parses "90,95,99" into percentages in (0, 100].
absl::StatusOr<std::vector<double>> ParsePercentiles(const std::string& spec);

/// The builder objective named "latency", "energy" or "edp" (any case);
/// "" means the default, latency. Errors: InvalidArgument naming the value.
absl::StatusOr<engine::Objective> ParseObjective(const std::string& name);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_OPTIONS_H_
