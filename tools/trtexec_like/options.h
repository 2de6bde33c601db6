// Command-line options of trtexec_like (trtexec's flag names) and of its
// `compare` and `inspect` subcommands: the one place where flags are declared,
// parsed and validated. Nothing is built, loaded or written before
// ValidateOptions accepts the whole command line, and every error names the
// flag (and, for a list, the item) it is about.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_OPTIONS_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_OPTIONS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/dataset.h"
#include "engine/builder.h"
#include "engine/calibrator.h"
#include "engine/hardware.h"
#include "engine/types.h"
#include "trtexec_like/sweep_spec.h"

namespace trtexec_like {

/// The flags of the main command, as typed (strings unparsed; "" = not given).
struct Options {
  std::string onnx;
  std::string save_engine;
  std::string load_engine;
  /// --plugins / --dynamicPlugins: plugin libraries to load before building
  /// or loading (comma-separated, or the flag repeated).
  std::vector<std::string> plugins;
  std::string shapes;
  /// --minShapes/--optShapes/--maxShapes (trtexec): occurrence k of each flag
  /// belongs to optimization profile k.
  std::vector<std::string> min_shapes, opt_shapes, max_shapes;
  int shape_buckets = 5;  ///< --shapeBuckets (BuilderConfig::shape_buckets)
  std::string load_inputs;
  std::string export_output;
  std::string load_ref_outputs;
  double atol = 1e-5;
  double rtol = 1e-3;
  int iterations = 10;
  /// --threads: host threads per layer (ExecutionContext::SetThreads); unset
  /// = not given (ExecutionContext::DefaultThreads(), the hardware threads).
  std::optional<int> threads;
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
  bool no_residency = false;  ///< --noResidency: every layer reads and writes DRAM
  bool no_prefetch = false;   ///< --noPrefetch: no cross-layer weight/input prefetch
  bool no_layer_groups = false;  ///< --noLayerGroups: no depth-first layer groups
  bool no_branch_order = false;  ///< --noBranchOrder: keep the imported order of branches
  double energy_budget_mj = 0;   ///< --energyBudget: per inference, mJ (0 = none)
  int64_t arena_alignment = 64;
  /// Resource limits of the build (BuilderConfig's fields of the same name),
  /// bytes or instructions; 0 = no limit.
  int64_t max_tensor_bytes = engine::BuilderConfig::kDefaultMaxTensorBytes;
  int64_t max_constant_bytes = engine::BuilderConfig::kDefaultMaxConstantBytes;
  int64_t max_instructions = engine::BuilderConfig::kDefaultMaxInstructions;
  int64_t max_arena_bytes = engine::BuilderConfig::kDefaultMaxArenaBytes;
  int seed = 1;
  /// --hw: preset or JSON file plus ",KEY=VALUE" overrides; "" = not given
  /// (build: the "edge" preset; --loadEngine: the plan's hardware).
  std::string hw;
  /// --objective: "latency", "energy" or "edp"; "" = not given (latency).
  std::string objective;
  std::string export_profile;
  std::string export_trace;
  std::string export_layer_info;
  /// --exportReport: the run report (report/run_report.h, docs/report_schema.md).
  std::string export_report;
  /// --hwSweep: "KEY=V1|V2;KEY=..." --hw overrides to sweep (sweep_spec.h).
  std::string hw_sweep;
  /// --exportReportDir: where --hwSweep writes one report per configuration.
  std::string export_report_dir;

  // INT8 (int8.h).
  bool int8 = false;
  // FP16 / BF16 (issue 20; int8.h ConfigureInt8).
  bool fp16 = false;               ///< --fp16: fp16 engine, or fp16 for the non-INT8 layers
  bool bf16 = false;               ///< --bf16: the same with bfloat16
  bool best = false;               ///< --best: per layer the cheapest enabled precision
  std::string calib_data;          ///< --calibData: images, tensor files or MNIST IDX
  int64_t calib_images = 0;        ///< --calibImages: at most this many samples (0 = all)
  int64_t calib_batches = 0;       ///< --calibBatches: at most this many batches (0 = all)
  std::string calibrator = "entropy";
  double calib_percentile = 99.99;
  std::string calib_cache;         ///< --calib: calibration cache (read if it exists, else written)
  std::string export_qdq;          ///< --exportQdq: write the INT8 engine's quantization as a QDQ ONNX model
  std::string preprocess;          ///< --preprocess; "" = the plan's, else by input channels
  bool skip_unreadable = false;
  std::string layer_precisions;    ///< --layerPrecisions=name:fp32,...
  double accuracy_guard_db = 0;    ///< --accuracyGuard (dB)
  std::string eval_data;           ///< --evalData
  std::string eval_labels;         ///< --evalLabels
  int64_t eval_images = 0;         ///< --evalImages: at most this many (0 = all)
  bool compare_int8 = false;       ///< --compareInt8: per-layer INT8 vs FP32 table
  int compare_top = 25;            ///< rows of the --compareInt8 table
  /// --compareIsolated: isolate only the INT8 layers with the N largest SQNR
  /// drops (0 = every INT8 layer; a chain of N layers costs N engine builds)
  int compare_isolated = 0;

  /// --exportTimes: per-iteration host timings of the timed runs as JSON
  /// (trtexec's --exportTimes array; report/times.h).
  std::string export_times;
  /// --dumpOutput: print every output tensor after the timed runs.
  bool dump_output = false;
  /// --infStreams: execution contexts running at once, each on its own host
  /// thread, during the timed runs (aggregate throughput is printed).
  int inf_streams = 1;
  /// --memPoolSize: trtexec's "pool:size[,pool:size]" (ParseMemPoolSize).
  std::string mem_pool_size;
};

/// The flags of `trtexec_like compare REPORT REPORT... [--json=F] [--html=F] [--top=N]`.
struct CompareOptions {
  std::vector<std::string> reports;  ///< at least two; the first is the reference
  std::string json;                  ///< --json: also write the comparison as JSON
  std::string html;                  ///< --html: also write it as an HTML page
  int top = 40;                      ///< --top: per-layer rows printed (0: all)
};

/// The argument of `trtexec_like inspect PLAN|MODEL.onnx`.
struct InspectOptions {
  std::string plan;  ///< a plan (--saveEngine) or an ONNX model (".onnx")
};

/// "trtexec_like 0.2.0 (engine 0.2.0, plan schema v2..v3)": the tool's and
/// the engine's versions and the plan schema versions this build loads;
/// printed by --version.
std::string VersionString();

/// A command line, parsed: either options to run with, or an exit right away
/// (--help, or a syntax error such as an unknown flag, a value that is not a
/// number or an empty value).
template <typename T>
struct ParsedCommandLine {
  T options;
  /// "trtexec_like <arguments as given>", for the &&&& lines and reports.
  std::string command;
  /// Set when nothing is to run: the process exits with this code after
  /// printing `message` (to stdout for 0, to stderr otherwise).
  std::optional<int> exit_code;
  std::string message;
};

/// Parses the main command's arguments (`args`: argv without the program
/// name) into Options. Syntax only: ranges and consistency are
/// ValidateOptions' job. A value-taking flag given an empty value
/// (`--loadInputs=` or `--loadInputs ""`) is an error "--loadInputs: empty
/// value ..." instead of silently taking the next argument as its value.
ParsedCommandLine<Options> ParseCommandLine(const std::vector<std::string>& args);

/// Parses the arguments after "compare". --top must be in [0, 1000000].
ParsedCommandLine<CompareOptions> ParseCompareCommandLine(const std::vector<std::string>& args);

/// Parses the arguments after "inspect".
ParsedCommandLine<InspectOptions> ParseInspectCommandLine(const std::vector<std::string>& args);

/// The documented range of a numeric flag (the README lists the same).
struct NumericRange {
  const char* flag;    ///< "--duration"
  double min, max;     ///< bounds; max is inclusive
  bool integer;        ///< a whole number
  const char* unit;    ///< what the value counts ("seconds"), for messages; "" for none
  bool min_exclusive;  ///< min itself is out of range: (min, max]
};

/// The ranges of every numeric flag of the main command, in --help order.
const std::vector<NumericRange>& NumericRanges();

/// The range of `flag` ("--duration"); nullptr when it is not numeric.
const NumericRange* FindNumericRange(absl::string_view flag);

/// "a number of seconds in [0, 86400]", "an integer in [1, 4096] (threads)",
/// "a number in (0, 100]".
std::string DescribeRange(const NumericRange& range);

/// OK when `value` is finite, in [range.min, range.max] and whole when the
/// range says so. Errors: InvalidArgument "--duration=nan: expected a number
/// of seconds in [0, 86400]".
absl::Status CheckRange(const NumericRange& range, double value);

/// The comma-separated items of list flag `flag`'s value `spec`, each trimmed
/// of ASCII spaces. An empty `spec` is an empty list. Errors: InvalidArgument
/// naming the flag when an item is empty ("--passes=,,").
absl::StatusOr<std::vector<std::string>> SplitList(absl::string_view flag, const std::string& spec);

/// Parses "a:1x3x224x224,b:1x10" (trtexec --shapes). Names may contain ':'
/// (the last ':' separates the dims). Errors: InvalidArgument naming the item
/// for a malformed item or a dimension that is not a non-negative integer,
/// and naming the tensor when it is given twice.
absl::StatusOr<std::map<std::string, engine::Dims>> ParseShapes(const std::string& spec);
/// As ParseShapes, with `flag` ("--minShapes", ...) in the messages.
absl::StatusOr<std::map<std::string, engine::Dims>> ParseShapesFlag(absl::string_view flag,
                                                                    const std::string& spec);

/// The optimization profiles of --minShapes/--optShapes/--maxShapes:
/// occurrence k of each flag is profile k; the three flags must be given the
/// same number of times (InvalidArgument naming them otherwise) and each
/// occurrence parses as --shapes. The ranges themselves are checked by the
/// builder (BuilderConfig::profiles).
absl::StatusOr<std::vector<engine::OptimizationProfile>> ParseProfiles(
    const std::vector<std::string>& min, const std::vector<std::string>& opt,
    const std::vector<std::string>& max);

/// Parses "name:file,name2:file2" of list flag `flag` (--loadInputs,
/// --loadRefOutputs); an item without ':' gets the name "" (the engine's only
/// input or output). Errors: InvalidArgument naming the flag and the item for
/// an empty file name, and naming the tensor when it is given twice (two
/// items without a name count as the same tensor).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseNamedFiles(
    absl::string_view flag, const std::string& spec);

/// Parses "90,95,99" into percentages in (0, 100]. Errors: InvalidArgument
/// naming --percentile and the value.
absl::StatusOr<std::vector<double>> ParsePercentiles(const std::string& spec);

/// The builder objective named "latency", "energy" or "edp" (any case);
/// "" means the default, latency. Errors: InvalidArgument naming the value.
absl::StatusOr<engine::Objective> ParseObjective(const std::string& name);

/// Parses --layerPrecisions "name:fp32,name2:int8" (the last ':' separates
/// the precision). Errors: InvalidArgument naming the item or the precision,
/// and naming the layer when it is given twice.
absl::StatusOr<std::map<std::string, engine::Precision>> ParseLayerPrecisions(
    const std::string& spec);

/// Parses --calibrator: entropy, minmax or percentile. Errors:
/// InvalidArgument naming the value and the choices.
absl::StatusOr<engine::CalibrationAlgorithm> ParseCalibrator(const std::string& name);

/// Everything ValidateOptions parsed out of the Options, ready to use.
struct ValidatedOptions {
  std::map<std::string, engine::Dims> shapes;                       ///< --shapes
  std::vector<engine::OptimizationProfile> profiles;  ///< --minShapes/--optShapes/--maxShapes
  std::vector<double> percentiles;                                  ///< --percentile
  /// --hw parsed; with --onnx and no --hw the "edge" preset; with
  /// --loadEngine and no --hw nullopt (the plan's hardware is used).
  std::optional<engine::HardwareConfig> hardware;
  engine::Objective objective = engine::Objective::kLatency;        ///< --objective
  /// --objective=weighted:alpha=A,beta=B: the layer-group objective (the
  /// per-layer mapping then minimizes latency); empty otherwise.
  std::string group_objective;
  std::vector<std::string> passes;                                  ///< --passes (empty: default)
  std::vector<std::pair<std::string, std::string>> load_inputs;     ///< --loadInputs
  std::vector<std::pair<std::string, std::string>> ref_outputs;     ///< --loadRefOutputs
  std::vector<SweepPoint> sweep;                                    ///< --hwSweep
  engine::CalibrationAlgorithm calibrator = engine::CalibrationAlgorithm::kEntropy;
  std::map<std::string, engine::Precision> layer_precisions;       ///< --layerPrecisions
  std::optional<engine::data::ImagePreprocess> preprocess;          ///< --preprocess (nullopt: not given)
  /// --memPoolSize=workspace:SIZE, bytes: replaces --maxArenaBytes (the
  /// activation arena is the engine's one memory pool). nullopt: not given.
  std::optional<int64_t> workspace_bytes;
};

/// Parses trtexec's --memPoolSize "pool:size[,pool:size]". The only pool is
/// "workspace" (the activation arena per execution context); a size is MiB
/// (decimals allowed, "0.5") or a number with a suffix B, K, M or G (bytes,
/// KiB, MiB, GiB), at most 2^62 bytes. Returns the workspace bytes.
/// Errors: InvalidArgument naming --memPoolSize and the item for another
/// pool (TensorRT's dlaSRAM, tacticSharedMem, ...: "not modeled"), a
/// malformed or negative size, or a pool given twice.
absl::StatusOr<int64_t> ParseMemPoolSize(const std::string& spec);

/// Checks the whole command line before anything runs: exactly one of --onnx
/// and --loadEngine, every numeric flag against its range (NumericRanges),
/// every list flag, --hw, --objective, --hwSweep and the flags it excludes,
/// the INT8 flags (they need --int8 when building), --preprocess, and that
/// the directory of every --export* file exists. Errors: InvalidArgument (or
/// NotFound for a missing export directory) naming the flag.
absl::StatusOr<ValidatedOptions> ValidateOptions(const Options& opt);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_OPTIONS_H_
