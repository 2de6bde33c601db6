#include "trtexec_like/options.h"

#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/version.h"
#include "engine/runtime.h"

namespace trtexec_like {
namespace {

// `value` as the ranges print it: whole numbers without exponent or decimals.
std::string RangeNumber(double value) {
  if (std::fabs(value) < 1e15 && value == std::floor(value)) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrCat(value);
}

// `description` followed by the flag's documented range, for --help.
std::string WithRange(const std::string& description, absl::string_view flag) {
  const NumericRange* r = FindNumericRange(flag);
  if (r == nullptr) return description;
  return absl::StrCat(description, " (", DescribeRange(*r), ")");
}

// Every long name ("--loadInputs") of the options of `app` that take a value.
std::set<std::string> ValueFlags(const CLI::App& app) {
  std::set<std::string> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_type_size() == 0) continue;  // a flag
    for (const std::string& name : o->get_lnames()) out.insert("--" + name);
  }
  return out;
}

// CLI11 treats "--flag=" like "--flag" and takes the next argument as the
// value ("--loadInputs= --iterations=1" loads a file named "--iterations=1"):
// an empty value is refused here, before CLI11 sees it.
absl::Status CheckNoEmptyValues(const CLI::App& app, const std::vector<std::string>& args) {
  const std::set<std::string> flags = ValueFlags(app);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string flag;
    if (absl::EndsWith(a, "=") && flags.count(a.substr(0, a.size() - 1))) {
      flag = a.substr(0, a.size() - 1);
    } else if (flags.count(a) && i + 1 < args.size() && args[i + 1].empty()) {
      flag = a;
    } else {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": empty value; give ", flag, "=VALUE or leave the flag out"));
  }
  return absl::OkStatus();
}

// Runs CLI11 on `args` with `app` (its options bound to `out.options`) and
// fills `out`'s exit fields on --help or an error.
template <typename T>
void ParseWith(CLI::App& app, const std::vector<std::string>& args, const std::string& program,
               ParsedCommandLine<T>& out) {
  out.command = program;
  for (const std::string& a : args) absl::StrAppend(&out.command, " ", a);
  absl::Status empty = CheckNoEmptyValues(app, args);
  if (!empty.ok()) {
    out.exit_code = 1;
    out.message = absl::StrCat("[E] ", empty.message(), "\n");
    return;
  }
  // CLI11 parses a vector given in reverse order.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::ostringstream text;
    out.exit_code = app.exit(e, text, text);
    out.message = text.str();
  }
}

// Registers the main command's flags on `app`, bound to `opt`.
void AddFlags(CLI::App& app, Options& opt) {
  app.add_option("--onnx", opt.onnx, "ONNX model to build an engine from");
  app.add_option("--saveEngine", opt.save_engine, "Write the built plan to this file");
  app.add_option("--loadEngine", opt.load_engine, "Load a plan instead of building one");
  app.add_option("--plugins,--dynamicPlugins", opt.plugins,
                 "Plugin libraries (include/engine/plugin.h) to load before building or "
                 "loading: lib.so[,lib2.so] (trtexec's --dynamicPlugins)")
      ->delimiter(',');
  app.add_option("--shapes", opt.shapes,
                 "Pin input shapes: name:1x3x224x224[,name2:...]; with --loadEngine of a "
                 "dynamic-shape engine, the run-time shapes");
  app.add_option("--minShapes", opt.min_shapes,
                 "Optimization profile: smallest input shapes, name:1x3x224x224[,...]; repeat "
                 "the three flags for more profiles");
  app.add_option("--optShapes", opt.opt_shapes, "Optimization profile: typical input shapes");
  app.add_option("--maxShapes", opt.max_shapes, "Optimization profile: largest input shapes");
  app.add_option("--shapeBuckets", opt.shape_buckets,
                 "Accelerator programs per optimization profile (min, opt, max and shapes "
                 "between), 1-16")
      ->check(CLI::Range(1, 16));
  app.add_option("--loadInputs", opt.load_inputs,
                 "Inputs from files: name:file.pb|file.npy[,...] (ONNX TensorProto or NumPy)");
  app.add_option("--exportOutput", opt.export_output,
                 "Directory to write each output to as <name>.pb (ONNX TensorProto)");
  app.add_option("--loadRefOutputs", opt.load_ref_outputs,
                 "Reference outputs name:file[,...] to compare with (PASSED/FAILED per output)");
  app.add_option("--atol", opt.atol, WithRange("Absolute tolerance for --loadRefOutputs", "--atol"))
      ->capture_default_str();
  app.add_option("--rtol", opt.rtol, WithRange("Relative tolerance for --loadRefOutputs", "--rtol"))
      ->capture_default_str();
  app.add_option("--iterations", opt.iterations,
                 WithRange("Run at least this many timed inferences", "--iterations"))
      ->capture_default_str();
  app.add_option("--threads", opt.threads,
                 WithRange("Host threads per layer, the calling thread included (intra-op "
                           "parallelism; outputs are identical for every count) (default: the "
                           "hardware threads, " +
                               std::to_string(engine::ExecutionContext::DefaultThreads()) + ")",
                           "--threads"));
  app.add_option("--warmUp", opt.warm_up_ms, WithRange("Warm-up time before timing, ms", "--warmUp"))
      ->capture_default_str();
  app.add_option("--duration", opt.duration_s,
                 WithRange("Run timed inferences for at least this long, s", "--duration"))
      ->capture_default_str();
  app.add_option("--percentile", opt.percentile,
                 "Latency percentiles to report, each in (0, 100], e.g. 90,95,99")
      ->capture_default_str();
  app.add_option("--optLevel", opt.opt_level,
                 WithRange("Optimization level (0 = no rewrites)", "--optLevel"))
      ->capture_default_str();
  app.add_option("--passes", opt.passes, "Explicit comma-separated list of optimizer passes");
  app.add_option("--dumpIrAfter", opt.dump_ir_after,
                 "Print the graph after this optimizer pass ('*': after every pass)");
  app.add_option("--dumpDot", opt.dump_dot,
                 "Write the graph after the --dumpIrAfter pass as Graphviz DOT to this file "
                 "(one file per pass for '*')");
  app.add_flag("--noMemoryReuse", opt.no_memory_reuse,
               "Give every activation tensor its own bytes (no arena sharing), for comparison");
  app.add_flag("--noResidency", opt.no_residency,
               "Accelerator: every layer reads its inputs from and writes its outputs to DRAM "
               "(no on-chip residency between layers), for comparison");
  app.add_flag("--noLayerGroups", opt.no_layer_groups,
               "Accelerator: no layer groups (chains of convolutions run band by band with "
               "their intermediates on chip), for comparison");
  app.add_flag("--noBranchOrder", opt.no_branch_order,
               "Accelerator: keep the imported execution order of independent branches (no "
               "reordering to lower the peak of live activations), for comparison");
  app.add_option("--energyBudget", opt.energy_budget_mj,
                 WithRange("Accelerator: energy budget per inference for the layer-group choice, "
                           "mJ (0 = none)", "--energyBudget"));
  app.add_flag("--noPrefetch", opt.no_prefetch,
               "Accelerator: a layer's first tiles load only after the previous layer finished "
               "(no cross-layer prefetch), for comparison");
  app.add_option("--arenaAlignment", opt.arena_alignment,
                 WithRange("Alignment of activation offsets in the arena, bytes (a power of two)",
                           "--arenaAlignment"))
      ->capture_default_str();
  app.add_option("--maxTensorBytes", opt.max_tensor_bytes,
                 WithRange("Refuse a model with a tensor above this size, checked from shapes "
                           "before anything is allocated (0 = no limit; default 4 GiB)",
                           "--maxTensorBytes"))
      ->capture_default_str();
  app.add_option("--maxConstantBytes", opt.max_constant_bytes,
                 WithRange("Refuse an initializer or build-time folded constant above this size "
                           "(0 = no limit; default 2 GiB - 1)",
                           "--maxConstantBytes"))
      ->capture_default_str();
  app.add_option("--maxInstructions", opt.max_instructions,
                 WithRange("Refuse an accelerator program above this many instructions, counted "
                           "from each layer's tiling before it is lowered (0 = no limit)",
                           "--maxInstructions"))
      ->capture_default_str();
  app.add_option("--maxArenaBytes", opt.max_arena_bytes,
                 WithRange("Refuse an engine whose activation arena per execution context is "
                           "above this size (0 = no limit; default 16 GiB)",
                           "--maxArenaBytes"))
      ->capture_default_str();
  app.add_flag("--listPasses", opt.list_passes, "List the optimizer passes in pipeline order and exit");
  app.add_option("--seed", opt.seed, WithRange("Seed of generated inputs", "--seed"))
      ->capture_default_str();
  app.add_option("--hw", opt.hw,
                 "Accelerator: preset (" + absl::StrJoin(engine::HardwarePresetNames(), ", ") +
                     ") or JSON file, then ,KEY=VALUE overrides, e.g. gemmini,array=32x32,"
                     "dataflow=ws,memory=ideal (default: edge; with --loadEngine: must match "
                     "the plan)");
  app.add_option("--objective", opt.objective,
                 "What the per-layer mapping and the layer groups minimize: latency (default), energy, "
                 "edp, or weighted:alpha=A,beta=B (layer groups: A * cycles + B * DRAM bytes; "
                 "mapping: latency)");
  app.add_option("--exportProfile", opt.export_profile,
                 "Write the per-layer profile (modeled device times, trtexec's shape) as JSON");
  app.add_option("--exportTrace", opt.export_trace,
                 "Write the modeled device timeline as Chrome trace-event JSON (Perfetto)");
  app.add_option("--exportLayerInfo", opt.export_layer_info,
                 "Write layer information (tactics, tilings, rejected tactics) as JSON");
  app.add_option("--exportReport", opt.export_report,
                 "Write the run report (identity, build options, hardware, modeled and host "
                 "performance, memory, per-layer profile, --evalData top-1 accuracy, the "
                 "--compareInt8 table) as versioned JSON, for 'trtexec_like compare'");
  app.add_option("--hwSweep", opt.hw_sweep,
                 "Build once per hardware configuration of KEY=V1|V2[;KEY=...] (--hw override "
                 "keys, e.g. array=16x16|32x32;dram_bw=8|32; cross product on top of --hw), "
                 "build only, and print the comparison of all of them");
  app.add_option("--exportReportDir", opt.export_report_dir,
                 "With --hwSweep: write one run report per configuration into this directory "
                 "(created if missing)");
  // INT8.
  app.add_flag("--int8", opt.int8,
               "Build an INT8 engine: layers with an exact integer form run in int8 (calibrated "
               "with --calibData or a --calib cache), the rest in FP32");
  app.add_flag("--fp16", opt.fp16,
               "Build an FP16 engine (weights stored as fp16, activations rounded to fp16 at "
               "layer boundaries, FP32 accumulation); with --int8, the layers that are not INT8 "
               "run in fp16 instead of FP32");
  app.add_flag("--bf16", opt.bf16, "As --fp16 with bfloat16");
  app.add_flag("--best", opt.best,
               "Allow every precision the hardware supports and choose per layer by the cost "
               "model and the accuracy guard: INT8 when calibration data is given, else the "
               "cheaper of fp16/bf16, else FP32");
  app.add_option("--calibData", opt.calib_data,
                 "Calibration data: a directory of images (JPEG, PNG, ...) or tensor files (.pb, "
                 ".npy), or an MNIST IDX image file; for several inputs one per input as "
                 "name:path,name2:path2 (samples paired in file order), or one directory of "
                 "<sample>_<input>.pb|.npy files (or .pb files whose tensor name is the input), "
                 "one per input per sample. Batches have the "
                 "engine's batch (--shapes, or --optShapes with profiles)");
  app.add_option("--calibImages", opt.calib_images,
                 WithRange("Calibrate on at most this many samples of --calibData (0 = all)",
                           "--calibImages"))
      ->capture_default_str();
  app.add_option("--calibBatches", opt.calib_batches,
                 WithRange("Calibrate on at most this many batches of --calibData (0 = all)",
                           "--calibBatches"))
      ->capture_default_str();
  app.add_option("--calibrator", opt.calibrator, "entropy (TensorRT EntropyCalibration2), minmax "
                 "or percentile")
      ->capture_default_str();
  app.add_option("--calibPercentile", opt.calib_percentile,
                 WithRange("Percentile of |x| for --calibrator=percentile", "--calibPercentile"))
      ->capture_default_str();
  app.add_option("--calib", opt.calib_cache,
                 "Calibration cache (TensorRT text format): read when the file exists (no "
                 "calibration), otherwise written after calibrating");
  app.add_option("--exportQdq", opt.export_qdq,
                 "Write the INT8 engine's quantization (calibrated activation scales, per-channel "
                 "weight scales) as a QDQ ONNX model of the original graph to this file (needs "
                 "--int8 or a QDQ model)");
  app.add_option("--preprocess", opt.preprocess,
                 "Image preprocessing for --calibData/--evalData: a preset (imagenet, raw, caffe) "
                 "or resize=256,crop,scale=0.0039,mean=R:G:B,std=R:G:B,order=rgb|bgr,layout=nchw. "
                 "Default: the plan's (the calibration data's) when it records one, else imagenet "
                 "for 3-channel and raw for 1-channel inputs");
  app.add_flag("--skipUnreadable", opt.skip_unreadable,
               "Skip (and list) unreadable dataset files instead of failing");
  app.add_option("--layerPrecisions", opt.layer_precisions,
                 "Pin layers (engine layer or ONNX node names) to a precision: name:fp32[,...]");
  app.add_option("--accuracyGuard", opt.accuracy_guard_db,
                 WithRange("Keep in FP32 the layers whose isolated INT8 output SQNR on the "
                           "calibration data is below this many dB (0 = off); with --best, the "
                           "layers chosen in fp16/bf16 are checked the same way (fp16, then "
                           "bf16, then FP32)",
                           "--accuracyGuard"));
  app.add_option("--evalData", opt.eval_data,
                 "Run the engine over a dataset (image dir, tensor dir, MNIST IDX file; for "
                 "several inputs name:path,... or one <sample>_<input> directory, as "
                 "--calibData) and print top-1 accuracy when it has labels");
  app.add_option("--evalLabels", opt.eval_labels,
                 "Labels for --evalData: IDX, CSV (file,class_index) or text");
  app.add_option("--evalImages", opt.eval_images,
                 WithRange("Use at most this many samples of --evalData (0 = all)", "--evalImages"))
      ->capture_default_str();
  app.add_flag("--compareInt8", opt.compare_int8,
               "Build the FP32 and INT8 engines with every layer output marked, run both on "
               "--evalData (or --calibData) and print per layer, in execution order, cosine, "
               "SQNR, its drop against the layer's inputs, the isolated SQNR (the layer alone "
               "in INT8 on FP32 inputs: one extra engine per group of independent layers), max "
               "error, amax, calibrated range and clipped %, calibrator hints for the worst "
               "layers, and top-1 agreement; with --exportReport the report of the INT8 engine "
               "gets it as \"int8Comparison\"");
  app.add_option("--compareTop", opt.compare_top,
                 WithRange("Rows of the --compareInt8 table (0 = all)", "--compareTop"))
      ->capture_default_str();
  app.add_option("--compareIsolated", opt.compare_isolated,
                 WithRange("--compareInt8: measure the isolated SQNR of only the N INT8 layers "
                           "with the largest SQNR drops (0 = every INT8 layer; each layer of a "
                           "chain costs one engine build)",
                           "--compareIsolated"))
      ->capture_default_str();
  app.add_flag("--skipInference", opt.skip_inference, "Build (and save) only");
  app.add_flag("--dumpProfile", opt.dump_profile,
               "Print the per-layer profile (modeled device; host too when inference runs)");
  app.add_flag("--dumpLayerInfo", opt.dump_layer_info, "Print the engine's layers");
  app.add_flag("--verbose", opt.verbose, "Verbose logging");
  app.add_option("--exportTimes", opt.export_times,
                 "Write the host timing of every timed iteration as JSON (trtexec's format: "
                 "startComputeMs, endComputeMs, computeMs, latencyMs, ..., ms from the start of "
                 "the timed runs)");
  app.add_flag("--dumpOutput", opt.dump_output, "Print the output tensors after the timed runs");
  app.add_option("--infStreams", opt.inf_streams,
                 WithRange("Execution contexts running at once, each on its own thread; "
                           "the aggregate throughput is printed", "--infStreams"))
      ->capture_default_str();
  app.add_option("--memPoolSize", opt.mem_pool_size,
                 "trtexec's pool limits, pool:size[,pool:size]: workspace:SIZE limits the "
                 "activation arena per execution context (as --maxArenaBytes, which it "
                 "replaces); SIZE in MiB, or with a B/K/M/G suffix");
  app.set_version_flag("--version", VersionString(), "Print the version and exit");
  app.footer(
      "\nSubcommands:\n"
      "  trtexec_like compare REPORT REPORT... [--json=F] [--html=F] [--top=N]\n"
      "      compare run reports written with --exportReport (see compare --help)\n"
      "  trtexec_like inspect PLAN|MODEL.onnx\n"
      "      what a plan holds (layers, precision, mapping, memory, hardware), or an ONNX\n"
      "      model's inputs, outputs, opsets, op histogram and the ops the engine does not\n"
      "      support (see inspect --help)");
}

absl::Status FileExists(const char* flag, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(flag, ": file '", path, "' does not exist"));
  }
  return absl::OkStatus();
}

// The directory of output file `path` of `flag` must exist and `path` must
// not be a directory.
absl::Status CheckOutputPath(const char* flag, const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("cannot write ", flag, " file '", path,
                                            "': directory '", dir.string(), "' does not exist"));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write ", flag, " file '", path, "': it is a directory"));
  }
  return absl::OkStatus();
}

absl::Status CheckNumericFlags(const Options& opt) {
  const std::pair<const char*, std::optional<double>> values[] = {
      {"--atol", opt.atol},
      {"--rtol", opt.rtol},
      {"--iterations", opt.iterations},
      {"--threads", opt.threads ? std::optional<double>(*opt.threads) : std::nullopt},
      {"--warmUp", opt.warm_up_ms},
      {"--duration", opt.duration_s},
      {"--optLevel", opt.opt_level},
      {"--arenaAlignment", static_cast<double>(opt.arena_alignment)},
      {"--maxTensorBytes", static_cast<double>(opt.max_tensor_bytes)},
      {"--maxConstantBytes", static_cast<double>(opt.max_constant_bytes)},
      {"--maxInstructions", static_cast<double>(opt.max_instructions)},
      {"--maxArenaBytes", static_cast<double>(opt.max_arena_bytes)},
      {"--seed", opt.seed},
      {"--calibImages", static_cast<double>(opt.calib_images)},
      {"--calibBatches", static_cast<double>(opt.calib_batches)},
      {"--calibPercentile", opt.calib_percentile},
      {"--accuracyGuard", opt.accuracy_guard_db},
      {"--evalImages", static_cast<double>(opt.eval_images)},
      {"--compareTop", opt.compare_top},
      {"--compareIsolated", opt.compare_isolated},
      {"--infStreams", opt.inf_streams},
  };
  for (const auto& [flag, value] : values) {
    if (!value.has_value()) continue;
    const NumericRange* range = FindNumericRange(flag);
    absl::Status s = CheckRange(*range, *value);
    if (!s.ok()) return s;
  }
  const int64_t a = opt.arena_alignment;
  if ((a & (a - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--arenaAlignment=", a, ": expected a power of two in [8, 4096]"));
  }
  return absl::OkStatus();
}

// --hwSweep and --exportReportDir against the other flags; the parsed sweep.
absl::StatusOr<std::vector<SweepPoint>> CheckHwSweep(const Options& opt) {
  if (opt.hw_sweep.empty()) {
    if (!opt.export_report_dir.empty()) {
      return absl::InvalidArgumentError(
          "--exportReportDir is used with --hwSweep (one report per configuration); for one "
          "run use --exportReport=FILE");
    }
    return std::vector<SweepPoint>{};
  }
  if (!opt.load_engine.empty()) {
    return absl::InvalidArgumentError(
        "--hwSweep builds the model once per configuration: give --onnx, not --loadEngine");
  }
  const std::pair<const char*, bool> conflicts[] = {
      {"--exportReport (use --exportReportDir=DIR: one report per configuration)",
       !opt.export_report.empty()},
      {"--saveEngine", !opt.save_engine.empty()},
      {"--exportQdq", !opt.export_qdq.empty()},
      {"--compareInt8", opt.compare_int8},
      {"--evalData", !opt.eval_data.empty()},
      {"--loadInputs", !opt.load_inputs.empty()},
      {"--loadRefOutputs", !opt.load_ref_outputs.empty()},
      {"--exportOutput", !opt.export_output.empty()},
      {"--exportProfile", !opt.export_profile.empty()},
      {"--exportTrace", !opt.export_trace.empty()},
      {"--exportLayerInfo", !opt.export_layer_info.empty()},
      {"--dumpIrAfter", !opt.dump_ir_after.empty()},
      {"--dumpDot", !opt.dump_dot.empty()},
  };
  for (const auto& [flag, given] : conflicts) {
    if (given) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--hwSweep only builds (modeled figures, one report per configuration): ", flag,
          " cannot be used with it"));
    }
  }
  if (!opt.export_report_dir.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(opt.export_report_dir, ec) &&
        !std::filesystem::is_directory(opt.export_report_dir, ec)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--exportReportDir '", opt.export_report_dir, "' exists and is not a directory"));
    }
  }
  return ParseHwSweep(opt.hw_sweep, opt.hw);
}

// --hw parsed (see ValidatedOptions::hardware).
absl::StatusOr<std::optional<engine::HardwareConfig>> SelectHardware(const Options& opt) {
  if (opt.hw.empty() && !opt.load_engine.empty()) return std::nullopt;
  auto hw = engine::ParseHardwareSpec(opt.hw.empty() ? "edge" : opt.hw);
  if (!hw.ok()) {
    const std::string msg(hw.status().message());
    return absl::InvalidArgumentError(absl::StartsWith(msg, "--hw") ? msg : "--hw: " + msg);
  }
  return std::optional<engine::HardwareConfig>(*std::move(hw));
}

// The INT8 flags of a build from --onnx.
absl::Status CheckInt8Flags(const Options& opt, ValidatedOptions& v) {
  const bool wants_int8 = opt.int8 || opt.compare_int8 ||
                          (opt.best && (!opt.calib_data.empty() || !opt.calib_cache.empty()));
  if (!wants_int8) {
    const bool float16 = opt.fp16 || opt.bf16 || opt.best;
    if (!opt.calib_data.empty() || !opt.calib_cache.empty() ||
        (!opt.layer_precisions.empty() && !float16) || opt.accuracy_guard_db > 0) {
      return absl::InvalidArgumentError(
          "--calibData, --calib, --layerPrecisions and --accuracyGuard need --int8 "
          "(--layerPrecisions also works with --fp16, --bf16 or --best)");
    }
    auto pins = ParseLayerPrecisions(opt.layer_precisions);
    if (!pins.ok()) return pins.status();
    v.layer_precisions = *std::move(pins);
    return absl::OkStatus();
  }
  auto calibrator = ParseCalibrator(opt.calibrator);
  if (!calibrator.ok()) return calibrator.status();
  v.calibrator = *calibrator;
  auto pins = ParseLayerPrecisions(opt.layer_precisions);
  if (!pins.ok()) return pins.status();
  v.layer_precisions = *std::move(pins);
  return absl::OkStatus();
}

}  // namespace

ParsedCommandLine<Options> ParseCommandLine(const std::vector<std::string>& args) {
  ParsedCommandLine<Options> out;
  CLI::App app{"trtexec_like: build, save, load and run engines for the modeled accelerator"};
  AddFlags(app, out.options);
  ParseWith(app, args, "trtexec_like", out);
  return out;
}

ParsedCommandLine<CompareOptions> ParseCompareCommandLine(const std::vector<std::string>& args) {
  ParsedCommandLine<CompareOptions> out;
  CompareOptions& opt = out.options;
  CLI::App app{"trtexec_like compare: compare run reports written with --exportReport "
               "(ratios against the first report; top-1 accuracy of reports with --evalData; "
               "per-layer modeled times, with the host per-layer times next to them when the "
               "reports ran inference)",
               "trtexec_like compare"};
  app.add_option("reports", opt.reports, "Report files (JSON, from --exportReport); the first is "
                                         "the reference")
      ->required()->expected(2, CLI::detail::expected_max_vector_size);
  app.add_option("--json", opt.json, "Also write the comparison as JSON to this file");
  app.add_option("--html", opt.html,
                 "Also write the comparison as a self-contained HTML page (tables and SVG "
                 "charts, no network access) to this file");
  app.add_option("--top", opt.top,
                 "Per-layer rows to print, largest differences first (0: all) [0..1000000]")
      ->capture_default_str()->check(CLI::Range(0, 1000000));
  ParseWith(app, args, "trtexec_like compare", out);
  return out;
}

ParsedCommandLine<InspectOptions> ParseInspectCommandLine(const std::vector<std::string>& args) {
  ParsedCommandLine<InspectOptions> out;
  CLI::App app{"trtexec_like inspect: print what a plan holds (layers, fused ONNX nodes, "
               "precision, mapping, memory, hardware, versions) without running it; or, for "
               "an .onnx file, the model's inputs, outputs, opsets, op histogram and the ops "
               "the engine does not support",
               "trtexec_like inspect"};
  app.add_option("plan", out.options.plan,
                 "Plan file (from --saveEngine), or an ONNX model (*.onnx)")->required();
  ParseWith(app, args, "trtexec_like inspect", out);
  return out;
}

absl::StatusOr<int64_t> ParseMemPoolSize(const std::string& spec) {
  auto items = SplitList("--memPoolSize", spec);
  if (!items.ok()) return items.status();
  std::optional<int64_t> workspace;
  for (const std::string& item : *items) {
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--memPoolSize item '", item, "': expected pool:size, e.g. workspace:1024 (MiB)"));
    }
    const std::string pool = item.substr(0, colon);
    std::string size = item.substr(colon + 1);
    if (pool != "workspace") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--memPoolSize item '", item, "': pool '", pool,
          "' is not modeled; the only pool is 'workspace' (the activation arena)"));
    }
    if (workspace.has_value()) {
      return absl::InvalidArgumentError("--memPoolSize: pool 'workspace' is given twice");
    }
    double unit = 1024.0 * 1024.0;  // MiB without a suffix, as trtexec
    if (!size.empty()) {
      switch (absl::ascii_toupper(static_cast<unsigned char>(size.back()))) {
        case 'B': unit = 1; break;
        case 'K': unit = 1024.0; break;
        case 'M': unit = 1024.0 * 1024.0; break;
        case 'G': unit = 1024.0 * 1024.0 * 1024.0; break;
        default: unit = 0; break;
      }
      if (unit != 0) size.pop_back(); else unit = 1024.0 * 1024.0;
    }
    double value = 0;
    if (!absl::SimpleAtod(size, &value) || !std::isfinite(value) || value < 0 ||
        value * unit > 4611686018427387904.0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--memPoolSize item '", item,
          "': the size must be a number of MiB, or a number with a B/K/M/G suffix, in [0, 2^62] bytes"));
    }
    workspace = static_cast<int64_t>(value * unit);
  }
  if (!workspace.has_value()) {
    return absl::InvalidArgumentError("--memPoolSize: no pool given; expected workspace:SIZE");
  }
  return *workspace;
}

std::string VersionString() {
  return absl::StrCat("trtexec_like ", TRTEXEC_LIKE_VERSION, " (engine ", engine::kEngineVersion,
                      ", plan schema v", engine::kMinPlanSchemaVersion, "..v",
                      engine::kPlanSchemaVersion, ")");
}

const std::vector<NumericRange>& NumericRanges() {
  static const std::vector<NumericRange> kRanges = {
      {"--atol", 0, 1e9, false, "", false},
      {"--rtol", 0, 1e9, false, "", false},
      {"--iterations", 1, 1e9, true, "inferences", false},
      {"--threads", 1, 4096, true, "threads", false},
      {"--warmUp", 0, 3.6e6, false, "milliseconds", false},
      {"--duration", 0, 86400, false, "seconds", false},
      {"--optLevel", 0, 3, true, "", false},
      {"--arenaAlignment", 8, 4096, true, "bytes", false},
      {"--maxTensorBytes", 0, 4611686018427387904.0, true, "bytes", false},    // 2^62
      {"--maxConstantBytes", 0, 4611686018427387904.0, true, "bytes", false},  // 2^62
      {"--maxInstructions", 0, 4611686018427387904.0, true, "instructions", false},
      {"--maxArenaBytes", 0, 4611686018427387904.0, true, "bytes", false},
      {"--seed", 0, 2147483647, true, "", false},
      {"--calibImages", 0, 1e9, true, "samples", false},
      {"--calibBatches", 0, 1e9, true, "batches", false},
      {"--calibPercentile", 0, 100, false, "", true},
      {"--accuracyGuard", 0, 200, false, "dB", false},
      {"--evalImages", 0, 1e9, true, "samples", false},
      {"--compareTop", 0, 1e6, true, "rows (0: all)", false},
      {"--compareIsolated", 0, 1e6, true, "layers (0: all)", false},
      {"--infStreams", 1, 256, true, "contexts", false},
  };
  return kRanges;
}

const NumericRange* FindNumericRange(absl::string_view flag) {
  for (const NumericRange& r : NumericRanges()) {
    if (flag == r.flag) return &r;
  }
  return nullptr;
}

std::string DescribeRange(const NumericRange& r) {
  const std::string interval = absl::StrCat(r.min_exclusive ? "(" : "[", RangeNumber(r.min), ", ",
                                            RangeNumber(r.max), "]");
  const bool unit = *r.unit != '\0';
  if (r.integer) return absl::StrCat("an integer in ", interval, unit ? " (" : "", r.unit, unit ? ")" : "");
  return absl::StrCat("a number", unit ? " of " : "", r.unit, " in ", interval);
}

absl::Status CheckRange(const NumericRange& r, double value) {
  const bool in_range = std::isfinite(value) && (r.min_exclusive ? value > r.min : value >= r.min) &&
                        value <= r.max && (!r.integer || value == std::floor(value));
  if (in_range) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(r.flag, "=", RangeNumber(value), ": expected ", DescribeRange(r)));
}

absl::StatusOr<std::vector<std::string>> SplitList(absl::string_view flag, const std::string& spec) {
  std::vector<std::string> out;
  if (spec.empty()) return out;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, "='", spec, "': empty item; give comma-separated items without empty ones"));
    }
    out.emplace_back(item);
  }
  return out;
}

absl::StatusOr<std::map<std::string, engine::Dims>> ParseShapes(const std::string& spec) {
  return ParseShapesFlag("--shapes", spec);
}

absl::StatusOr<std::vector<engine::OptimizationProfile>> ParseProfiles(
    const std::vector<std::string>& min, const std::vector<std::string>& opt,
    const std::vector<std::string>& max) {
  if (min.size() != opt.size() || opt.size() != max.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--minShapes, --optShapes and --maxShapes must be given together, once per "
        "optimization profile (got ", min.size(), ", ", opt.size(), " and ", max.size(), ")"));
  }
  std::vector<engine::OptimizationProfile> out(max.size());
  for (size_t k = 0; k < max.size(); ++k) {
    auto a = ParseShapesFlag("--minShapes", min[k]);
    if (!a.ok()) return a.status();
    auto b = ParseShapesFlag("--optShapes", opt[k]);
    if (!b.ok()) return b.status();
    auto c = ParseShapesFlag("--maxShapes", max[k]);
    if (!c.ok()) return c.status();
    out[k].min = *std::move(a);
    out[k].opt = *std::move(b);
    out[k].max = *std::move(c);
  }
  return out;
}

absl::StatusOr<std::map<std::string, engine::Dims>> ParseShapesFlag(absl::string_view flag,
                                                                    const std::string& spec) {
  auto items = SplitList(flag, spec);
  if (!items.ok()) return items.status();
  std::map<std::string, engine::Dims> out;
  for (const std::string& item : *items) {
    size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " item '", item, "' must be name:dims, e.g. input:1x3x224x224"));
    }
    engine::Dims dims;
    for (absl::string_view d : absl::StrSplit(item.substr(colon + 1), 'x')) {
      int64_t v;
      if (!absl::SimpleAtoi(d, &v) || v < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(flag, " item '", item, "': '", d, "' is not a dimension"));
      }
      dims.push_back(v);
    }
    const std::string name = item.substr(0, colon);
    if (!out.emplace(name, dims).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": input '", name, "' is given twice"));
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseNamedFiles(
    absl::string_view flag, const std::string& spec) {
  auto items = SplitList(flag, spec);
  if (!items.ok()) return items.status();
  std::vector<std::pair<std::string, std::string>> out;
  std::set<std::string> names;
  for (const std::string& item : *items) {
    const size_t colon = item.rfind(':');
    std::string name = colon == std::string::npos ? "" : item.substr(0, colon);
    std::string file = colon == std::string::npos ? item : item.substr(colon + 1);
    if (file.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " item '", item, "': empty file name; give name:file"));
    }
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(
          name.empty() ? absl::StrCat(flag, ": more than one item without a name; give name:file")
                       : absl::StrCat(flag, ": tensor '", name, "' is given twice"));
    }
    out.emplace_back(std::move(name), std::move(file));
  }
  return out;
}

absl::StatusOr<std::vector<double>> ParsePercentiles(const std::string& spec) {
  auto items = SplitList("--percentile", spec);
  if (!items.ok()) return items.status();
  std::vector<double> out;
  for (const std::string& item : *items) {
    double p;
    if (!absl::SimpleAtod(item, &p) || !(p > 0) || p > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("--percentile value '", item, "' must be in (0, 100]"));
    }
    out.push_back(p);
  }
  return out;
}

absl::StatusOr<engine::Objective> ParseObjective(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower.empty() || lower == "latency") return engine::Objective::kLatency;
  if (lower == "energy") return engine::Objective::kEnergy;
  if (lower == "edp") return engine::Objective::kEdp;
  return absl::InvalidArgumentError(
      absl::StrCat("--objective '", name, "' must be one of latency, energy, edp"));
}

absl::StatusOr<std::map<std::string, engine::Precision>> ParseLayerPrecisions(
    const std::string& spec) {
  auto items = SplitList("--layerPrecisions", spec);
  if (!items.ok()) return items.status();
  std::map<std::string, engine::Precision> out;
  for (const std::string& item : *items) {
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--layerPrecisions: '", item, "' is not name:precision"));
    }
    const std::string name = item.substr(0, colon);
    const std::string precision = item.substr(colon + 1);
    auto p = engine::ParsePrecision(precision);
    if (!p.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("--layerPrecisions: unknown precision '",
                                                     precision, "' for '", name,
                                                     "' (fp32, fp16, bf16, int8)"));
    }
    if (!out.emplace(name, *p).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--layerPrecisions: layer '", name, "' is given twice"));
    }
  }
  return out;
}

absl::StatusOr<engine::CalibrationAlgorithm> ParseCalibrator(const std::string& name) {
  if (name == "entropy") return engine::CalibrationAlgorithm::kEntropy;
  if (name == "minmax") return engine::CalibrationAlgorithm::kMinMax;
  if (name == "percentile") return engine::CalibrationAlgorithm::kPercentile;
  return absl::InvalidArgumentError(
      absl::StrCat("--calibrator: unknown calibrator '", name, "' (entropy, minmax, percentile)"));
}

absl::StatusOr<ValidatedOptions> ValidateOptions(const Options& opt) {
  ValidatedOptions v;
  if (opt.onnx.empty() == opt.load_engine.empty()) {
    return absl::InvalidArgumentError(
        "give exactly one of --onnx=<model.onnx> and --loadEngine=<plan>");
  }
  absl::Status s = opt.onnx.empty() ? FileExists("--loadEngine", opt.load_engine)
                                    : FileExists("--onnx", opt.onnx);
  if (!s.ok()) return s;
  s = CheckNumericFlags(opt);
  if (!s.ok()) return s;
  if (!opt.export_qdq.empty() && opt.onnx.empty()) {
    return absl::InvalidArgumentError(
        "--exportQdq rewrites the ONNX model: give --onnx (and --int8), not --loadEngine");
  }

  auto shapes = ParseShapes(opt.shapes);
  if (!shapes.ok()) return shapes.status();
  v.shapes = *std::move(shapes);
  auto profiles = ParseProfiles(opt.min_shapes, opt.opt_shapes, opt.max_shapes);
  if (!profiles.ok()) return profiles.status();
  v.profiles = *std::move(profiles);
  if (!v.profiles.empty() && opt.onnx.empty()) {
    return absl::InvalidArgumentError(
        "--minShapes/--optShapes/--maxShapes build an engine: give them with --onnx (with "
        "--loadEngine, select the run-time shapes with --shapes)");
  }
  auto percentiles = ParsePercentiles(opt.percentile);
  if (!percentiles.ok()) return percentiles.status();
  v.percentiles = *std::move(percentiles);
  auto inputs = ParseNamedFiles("--loadInputs", opt.load_inputs);
  if (!inputs.ok()) return inputs.status();
  v.load_inputs = *std::move(inputs);
  auto refs = ParseNamedFiles("--loadRefOutputs", opt.load_ref_outputs);
  if (!refs.ok()) return refs.status();
  v.ref_outputs = *std::move(refs);
  auto passes = SplitList("--passes", opt.passes);
  if (!passes.ok()) return passes.status();
  v.passes = *std::move(passes);

  const std::pair<const char*, const std::string*> outputs[] = {
      {"--exportProfile", &opt.export_profile},
      {"--exportTrace", &opt.export_trace},
      {"--exportLayerInfo", &opt.export_layer_info},
      {"--exportReport", &opt.export_report},
      {"--exportTimes", &opt.export_times}};
  for (const auto& [flag, path] : outputs) {
    s = CheckOutputPath(flag, *path);
    if (!s.ok()) return s;
  }
  auto sweep = CheckHwSweep(opt);
  if (!sweep.ok()) return sweep.status();
  v.sweep = *std::move(sweep);
  auto hardware = SelectHardware(opt);
  if (!hardware.ok()) return hardware.status();
  v.hardware = *std::move(hardware);
  if (absl::StartsWith(absl::AsciiStrToLower(opt.objective), "weighted:")) {
    // alpha / beta are checked by the builder (BuilderConfig::group_objective).
    v.group_objective = absl::AsciiStrToLower(opt.objective);
  } else {
    auto objective = ParseObjective(opt.objective);
    if (!objective.ok()) return objective.status();
    v.objective = *objective;
  }
  if (!(opt.energy_budget_mj >= 0) || !std::isfinite(opt.energy_budget_mj)) {
    return absl::InvalidArgumentError("--energyBudget must be a finite number of mJ >= 0");
  }
  if (opt.compare_int8 && opt.onnx.empty()) {
    return absl::InvalidArgumentError(
        "--compareInt8 builds both engines: give --onnx (not --loadEngine)");
  }
  if (!opt.onnx.empty()) {
    s = CheckInt8Flags(opt, v);
    if (!s.ok()) return s;
  }
  if (!opt.preprocess.empty()) {
    auto preprocess = engine::data::ParseImagePreprocess(opt.preprocess);
    if (!preprocess.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--preprocess: ", preprocess.status().message()));
    }
    v.preprocess = *std::move(preprocess);
  }
  if (!opt.mem_pool_size.empty()) {
    auto workspace = ParseMemPoolSize(opt.mem_pool_size);
    if (!workspace.ok()) return workspace.status();
    v.workspace_bytes = *workspace;
  }
  return v;
}

}  // namespace trtexec_like
