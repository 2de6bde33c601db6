// trtexec_like: build an engine from ONNX, save/load plans, run inference and
// print a trtexec-shaped performance summary. Uses only the public API.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "engine/builder.h"
#include "engine/compare.h"
#include "engine/runtime.h"
#include "engine/hardware.h"
#include "engine/tensor_io.h"
#include "device_report.h"
#include "options.h"
#include "report.h"
#include "compare.h"
#include "inspect.h"
#include "int8.h"
#include "run_report.h"
#include "progress.h"
#include "sweep.h"

namespace trtexec_like {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string SafeFileName(const std::string& name) {
  return absl::StrReplaceAll(name, {{"/", "_"}, {":", "_"}, {"\\", "_"}});
}

// Deterministic pseudo-random input: uniform [-1, 1) floats, zeros otherwise.
engine::Tensor GenerateInput(const engine::TensorDesc& desc, uint32_t seed) {
  engine::Tensor t(desc.dtype, desc.shape);
  if (desc.dtype == engine::DataType::kFloat32) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    float* p = t.data_as<float>();
    for (int64_t i = 0; i < t.num_elements(); ++i) p[i] = dist(rng);
  }
  return t;
}

int Fail(const std::string& msg, const std::string& command) {
  std::fprintf(stderr, "[E] %s\n", msg.c_str());
  std::printf("&&&& FAILED trtexec_like # %s\n", command.c_str());
  return 1;
}

// The hardware of --hw, parsed; with --onnx and no --hw the "edge" preset;
// with --loadEngine and no --hw nullopt (the plan's hardware is used).
absl::StatusOr<std::optional<engine::HardwareConfig>> SelectHardware(const Options& opt) {
  if (opt.hw.empty() && !opt.load_engine.empty()) return std::nullopt;
  auto hw = engine::ParseHardwareSpec(opt.hw.empty() ? "edge" : opt.hw);
  if (!hw.ok()) {
    const std::string msg(hw.status().message());
    return absl::InvalidArgumentError(absl::StartsWith(msg, "--hw") ? msg : "--hw: " + msg);
  }
  return std::optional<engine::HardwareConfig>(*std::move(hw));
}

// One line: which rewrites fired, summed over the pipeline.
void PrintOptimizerSummary(const engine::BuildResult& built) {
  std::vector<std::string> fired;
  for (const engine::PassSummary& p : built.passes) {
    // "fired" counts every rewrite; "fired.<detail>" break it down.
    auto it = p.counters.find("fired");
    const int64_t n = it == p.counters.end() ? 0 : it->second;
    if (n > 0) fired.push_back(absl::StrCat(p.name, " x", n));
  }
  std::printf("[I] Optimizer: %d ONNX nodes -> %d layers (%s)\n", built.onnx_nodes,
              built.engine_layers, fired.empty() ? "no rewrites" : absl::StrJoin(fired, ", ").c_str());
}

// --dumpIrAfter prints the text dumps; --dumpDot writes the DOT dumps (one
// file per pass when there are several: FILE with ".<pass>" before ".dot").
absl::Status WriteIrDumps(const Options& opt, const engine::BuildResult& built) {
  int dots = 0;
  for (const engine::IrDump& d : built.ir_dumps) dots += d.format == "dot";
  for (const engine::IrDump& d : built.ir_dumps) {
    if (d.format == "text") {
      std::printf("\n=== IR after %s ===\n%s", d.pass.c_str(), d.content.c_str());
      continue;
    }
    std::string path = opt.dump_dot;
    if (dots > 1) {
      const std::string ext = absl::EndsWith(path, ".dot") ? ".dot" : "";
      path = absl::StrCat(path.substr(0, path.size() - ext.size()), ".", d.pass, ".dot");
    }
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return absl::PermissionDeniedError(absl::StrCat("--dumpDot: cannot write ", path));
    const bool ok = std::fwrite(d.content.data(), 1, d.content.size(), f) == d.content.size();
    if (std::fclose(f) != 0 || !ok) {
      return absl::InternalError(absl::StrCat("--dumpDot: error writing ", path));
    }
    std::printf("[I] Graph after %s written to %s (Graphviz: dot -Tsvg %s)\n", d.pass.c_str(),
                path.c_str(), path.c_str());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const engine::Engine>> BuildEngine(
    const Options& opt, const engine::BuilderConfig& config, engine::Logger& logger) {
  std::printf("[I] Building engine from %s for hardware '%s' (objective %s)\n", opt.onnx.c_str(),
              config.hardware.name.c_str(), engine::ObjectiveName(config.objective));
  auto t0 = Clock::now();
  engine::Builder builder(&logger);
  auto built = builder.BuildFromOnnxFile(opt.onnx, config);
  if (!built.ok()) return built.status();
  std::vector<std::string> phases;
  for (const auto& p : built->phases) phases.push_back(absl::StrFormat("%s %.1f ms", p.name, p.ms));
  std::printf("[I] Engine built in %.3f s (%s): %d ONNX nodes -> %d layers, plan %zu bytes\n",
              MsSince(t0) / 1000.0, absl::StrJoin(phases, ", ").c_str(), built->onnx_nodes,
              built->engine_layers, built->plan.size());
  PrintOptimizerSummary(*built);
  PrintInt8Summary(*built);
  if (opt.verbose) PrintBuildPhases(*built);
  if (opt.verbose) std::printf("[V] Optimizer passes:\n%s", built->optimizer_report.c_str());
  absl::Status dumped = WriteIrDumps(opt, *built);
  if (!dumped.ok()) return dumped;
  if (!opt.save_engine.empty()) {
    absl::Status s = engine::WritePlanFile(opt.save_engine, built->plan);
    if (!s.ok()) return s;
    std::printf("[I] Engine saved to %s\n", opt.save_engine.c_str());
  }
  return engine::Runtime::DeserializeEngine(built->plan, &logger);
}

// Loads --loadEngine; when --hw was given it must describe the plan's hardware.
absl::StatusOr<std::shared_ptr<const engine::Engine>> LoadEngine(
    const Options& opt, const std::optional<engine::HardwareConfig>& hardware,
    engine::Logger& logger) {
  auto loaded = engine::Runtime::LoadEngineFile(opt.load_engine, &logger);
  if (!loaded.ok()) return loaded.status();
  const engine::Engine& eng = **loaded;
  std::printf("[I] Engine loaded from %s (%llu bytes, schema v%u, built by engine %s)\n",
              opt.load_engine.c_str(), static_cast<unsigned long long>(eng.plan_info().plan_bytes),
              eng.plan_info().schema_version, eng.plan_info().engine_version.c_str());
  if (hardware.has_value()) {
    absl::Status s = eng.CheckHardware(*hardware);
    if (!s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(opt.load_engine, ": ", s.message()));
    }
  }
  if (!opt.objective.empty() && opt.objective != eng.plan_info().objective) {
    std::printf("[W] --objective=%s is ignored with --loadEngine: the plan was built for "
                "objective %s\n", opt.objective.c_str(), eng.plan_info().objective.c_str());
  }
  return loaded;
}

int Run(const Options& opt, const std::string& command) {
  engine::StderrLogger logger(opt.verbose ? engine::Severity::kVerbose : engine::Severity::kWarning);
  std::printf("&&&& RUNNING trtexec_like # %s\n", command.c_str());
  if (opt.list_passes) {
    std::printf("Optimizer passes, in pipeline order:\n");
    for (const auto& [name, description] : engine::ListOptimizerPasses()) {
      std::printf("  %-24s %s\n", name.c_str(), description.c_str());
    }
    std::printf("&&&& PASSED trtexec_like # %s\n", command.c_str());
    return 0;
  }

  if (opt.onnx.empty() == opt.load_engine.empty()) {
    return Fail("give exactly one of --onnx=<model.onnx> and --loadEngine=<plan>", command);
  }
  auto shapes = ParseShapes(opt.shapes);
  if (!shapes.ok()) return Fail(std::string(shapes.status().message()), command);
  auto percentiles = ParsePercentiles(opt.percentile);
  if (!percentiles.ok()) return Fail(std::string(percentiles.status().message()), command);

  absl::Status exports = CheckExportPaths(opt);
  if (!exports.ok()) return Fail(std::string(exports.message()), command);
  exports = CheckReportPath(opt);
  if (!exports.ok()) return Fail(std::string(exports.message()), command);
  exports = CheckHwSweepOptions(opt);
  if (!exports.ok()) return Fail(std::string(exports.message()), command);
  auto hardware = SelectHardware(opt);
  if (!hardware.ok()) return Fail(std::string(hardware.status().message()), command);
  auto objective = ParseObjective(opt.objective);
  if (!objective.ok()) return Fail(std::string(objective.status().message()), command);

  std::shared_ptr<const engine::Engine> eng;
  Int8Setup int8_setup;
  if (opt.compare_int8 && opt.onnx.empty()) {
    return Fail("--compareInt8 builds both engines: give --onnx (not --loadEngine)", command);
  }
  if (!opt.onnx.empty()) {
    engine::BuilderConfig config;
    config.input_shapes = *shapes;
    config.opt_level = opt.opt_level;
    config.hardware = **hardware;
    config.objective = *objective;
    config.plan_memory = !opt.no_memory_reuse;
    config.arena_alignment = opt.arena_alignment;
    config.dump_ir_after = opt.dump_ir_after;
    config.dump_dot = !opt.dump_dot.empty();
    if (config.dump_dot && config.dump_ir_after.empty()) config.dump_ir_after = "*";
    if (!opt.passes.empty()) {
      for (absl::string_view p : absl::StrSplit(opt.passes, ',', absl::SkipEmpty())) {
        config.passes.emplace_back(p);
      }
    }
    absl::Status int8 = ConfigureInt8(opt, config, int8_setup);
    if (!int8.ok()) return Fail(std::string(int8.message()), command);
    if (opt.compare_int8) {
      absl::Status s = RunCompareInt8(opt, config);
      if (!s.ok()) return Fail(std::string(s.message()), command);
      std::printf("&&&& PASSED trtexec_like # %s\n", command.c_str());
      return 0;
    }
    if (!opt.hw_sweep.empty()) {
      absl::Status s = RunHwSweep(opt, config, command, logger);
      if (!s.ok()) return Fail(std::string(s.message()), command);
      std::printf("&&&& PASSED trtexec_like # %s\n", command.c_str());
      return 0;
    }
    auto built = BuildEngine(opt, config, logger);
    if (!built.ok()) return Fail(std::string(built.status().message()), command);
    eng = *built;
  } else {
    auto loaded = LoadEngine(opt, *hardware, logger);
    if (!loaded.ok()) return Fail(std::string(loaded.status().message()), command);
    eng = *loaded;
  }
  PrintHardwareLine(*eng);
  PrintMemoryLine(*eng);

  for (const auto& d : eng->inputs()) {
    std::printf("[I] Input  '%s': %s %s\n", d.name.c_str(), engine::DataTypeName(d.dtype),
                engine::DimsToString(d.shape).c_str());
  }
  for (const auto& d : eng->outputs()) {
    std::printf("[I] Output '%s': %s %s\n", d.name.c_str(), engine::DataTypeName(d.dtype),
                engine::DimsToString(d.shape).c_str());
  }
  if (opt.dump_layer_info) PrintLayerInfo(*eng);
  if (!opt.eval_data.empty()) {
    absl::Status s = RunEvaluation(opt, *eng);
    if (!s.ok()) return Fail(std::string(s.message()), command);
    if (opt.skip_inference) {
      std::printf("&&&& PASSED trtexec_like # %s\n", command.c_str());
      return 0;
    }
  }
  if (opt.skip_inference) {
    absl::Status s = ReportModeledDevice(opt, *eng, /*count=*/1, /*host=*/nullptr);
    if (!s.ok()) return Fail(std::string(s.message()), command);
    if (!opt.export_report.empty()) s = WriteRunReport(opt, command, *eng, /*host=*/nullptr);
    if (!s.ok()) return Fail(std::string(s.message()), command);
    std::printf("&&&& PASSED trtexec_like # %s\n", command.c_str());
    return 0;
  }

  auto ctx_or = eng->CreateExecutionContext();
  if (!ctx_or.ok()) return Fail(std::string(ctx_or.status().message()), command);
  auto& ctx = *ctx_or;
  if (opt.threads > 0) {
    absl::Status s = ctx->SetThreads(opt.threads);
    if (!s.ok()) return Fail(std::string(s.message()), command);
  }

  // Inputs: from files, or generated.
  std::map<std::string, engine::Tensor> inputs;
  if (!opt.load_inputs.empty()) {
    auto files = ParseNamedFiles(opt.load_inputs);
    if (!files.ok()) return Fail(std::string(files.status().message()), command);
    for (const auto& [name, path] : *files) {
      auto t = engine::LoadTensorFile(path);
      if (!t.ok()) return Fail(std::string(t.status().message()), command);
      std::string input_name = name;
      if (input_name.empty()) {
        if (eng->inputs().size() != 1) {
          return Fail(absl::StrCat("--loadInputs item '", path,
                                   "' has no name and the engine has ", eng->inputs().size(),
                                   " inputs; use name:file"),
                      command);
        }
        input_name = eng->inputs()[0].name;
      }
      inputs[input_name] = std::move(t->tensor);
    }
  }
  for (size_t i = 0; i < eng->inputs().size(); ++i) {
    const auto& d = eng->inputs()[i];
    if (!inputs.count(d.name)) inputs[d.name] = GenerateInput(d, opt.seed + static_cast<uint32_t>(i));
  }
  for (const auto& [name, t] : inputs) {
    absl::Status s = ctx->SetInput(name, t);
    if (!s.ok()) return Fail(std::string(s.message()), command);
  }

  // Warm-up, then timed iterations: at least --iterations and --duration.
  auto warm0 = Clock::now();
  int warm_runs = 0;
  do {
    absl::Status s = ctx->Execute();
    if (!s.ok()) return Fail(std::string(s.message()), command);
    ++warm_runs;
  } while (MsSince(warm0) < opt.warm_up_ms);
  LayerProfiler profiler;
  const bool profile_layers =
      opt.dump_profile || !opt.export_profile.empty() || !opt.export_report.empty();
  if (profile_layers) ctx->SetProfiler(&profiler);
  std::vector<double> latencies;
  auto start = Clock::now();
  while (static_cast<int>(latencies.size()) < opt.iterations ||
         MsSince(start) < opt.duration_s * 1000.0) {
    auto t0 = Clock::now();
    absl::Status s = ctx->Execute();
    if (!s.ok()) return Fail(std::string(s.message()), command);
    latencies.push_back(MsSince(t0));
  }
  const double wall_s = MsSince(start) / 1000.0;
  ctx->SetProfiler(nullptr);

  Stats st = ComputeStats(latencies, *percentiles);
  std::printf("\n=== Performance summary ===\n");
  std::printf("[I] Host threads: %d\n", ctx->threads());
  std::printf("Throughput: %.4g qps\n", latencies.size() / wall_s);
  std::printf("Host Latency: %s\n", FormatStats(st).c_str());
  std::printf("Total Host Walltime: %.4g s\n", wall_s);
  std::printf("Iterations: %zu timed (after %d warm-up runs)\n", latencies.size(), warm_runs);
  const double cv = st.mean > 0 ? st.stddev / st.mean : 0;
  if (cv > 0.025) {
    std::printf("[W] Host latency varies: coefficient of variation %.1f%% > 2.5%%; "
                "the machine may be busy\n", 100 * cv);
  }
  std::printf("Note: host latency is the wall-clock time of the host emulation.\n");
  {
    absl::Status s = ReportModeledDevice(opt, *eng, static_cast<int>(latencies.size()),
                                         profile_layers ? &profiler : nullptr);
    if (!s.ok()) return Fail(std::string(s.message()), command);
  }

  if (!opt.export_output.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(opt.export_output, ec);
    for (const auto& d : eng->outputs()) {
      auto t = ctx->GetOutput(d.name);
      if (!t.ok()) return Fail(std::string(t.status().message()), command);
      std::string path = (std::filesystem::path(opt.export_output) / (SafeFileName(d.name) + ".pb")).string();
      absl::Status s = engine::SaveTensorProtoFile(path, d.name, **t);
      if (!s.ok()) return Fail(std::string(s.message()), command);
      std::printf("[I] Output '%s' written to %s\n", d.name.c_str(), path.c_str());
    }
  }

  bool accuracy_failed = false;
  if (!opt.load_ref_outputs.empty()) {
    auto files = ParseNamedFiles(opt.load_ref_outputs);
    if (!files.ok()) return Fail(std::string(files.status().message()), command);
    std::printf("\n=== Accuracy (rtol = %g, atol = %g) ===\n", opt.rtol, opt.atol);
    for (const auto& [name, path] : *files) {
      auto ref = engine::LoadTensorFile(path);
      if (!ref.ok()) return Fail(std::string(ref.status().message()), command);
      std::string out_name = name;
      if (out_name.empty()) {
        if (eng->outputs().size() != 1) {
          return Fail(absl::StrCat("--loadRefOutputs item '", path, "' needs name:file"), command);
        }
        out_name = eng->outputs()[0].name;
      }
      auto t = ctx->GetOutput(out_name);
      if (!t.ok()) return Fail(std::string(t.status().message()), command);
      engine::CompareResult r = engine::CompareTensors(**t, ref->tensor, opt.rtol, opt.atol);
      std::printf("%s output '%s': max abs error = %.4g, max rel error = %.4g%s%s\n",
                  r.passed ? "PASSED" : "FAILED", out_name.c_str(), r.max_abs_error,
                  r.max_rel_error, r.passed ? "" : " — ", r.message.c_str());
      accuracy_failed = accuracy_failed || !r.passed;
    }
  }
  if (accuracy_failed) {
    std::printf("&&&& FAILED trtexec_like # %s\n", command.c_str());
    return 2;
  }
  if (!opt.export_report.empty()) {
    const HostRun host{st, static_cast<int>(latencies.size()), warm_runs, wall_s, ctx->threads(),
                       profile_layers ? &profiler : nullptr};
    absl::Status s = WriteRunReport(opt, command, *eng, &host);
    if (!s.ok()) return Fail(std::string(s.message()), command);
  }
  std::printf("&&&& PASSED trtexec_like # %s\n", command.c_str());
  return 0;
}

}  // namespace
}  // namespace trtexec_like

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "compare") return trtexec_like::RunCompare(argc - 2, argv + 2);
  if (argc > 1 && std::string(argv[1]) == "inspect") return trtexec_like::RunInspect(argc - 2, argv + 2);
  trtexec_like::Options opt;
  CLI::App app{"trtexec_like: build, save, load and run engines for the modeled accelerator"};
  app.add_option("--onnx", opt.onnx, "ONNX model to build an engine from")->check(CLI::ExistingFile);
  app.add_option("--saveEngine", opt.save_engine, "Write the built plan to this file");
  app.add_option("--loadEngine", opt.load_engine, "Load a plan instead of building one")
      ->check(CLI::ExistingFile);
  app.add_option("--shapes", opt.shapes, "Pin input shapes: name:1x3x224x224[,name2:...]");
  app.add_option("--loadInputs", opt.load_inputs,
                 "Inputs from files: name:file.pb|file.npy[,...] (ONNX TensorProto or NumPy)");
  app.add_option("--exportOutput", opt.export_output,
                 "Directory to write each output to as <name>.pb (ONNX TensorProto)");
  app.add_option("--loadRefOutputs", opt.load_ref_outputs,
                 "Reference outputs name:file[,...] to compare with (PASSED/FAILED per output)");
  app.add_option("--atol", opt.atol, "Absolute tolerance for --loadRefOutputs")->capture_default_str();
  app.add_option("--rtol", opt.rtol, "Relative tolerance for --loadRefOutputs")->capture_default_str();
  app.add_option("--iterations", opt.iterations, "Run at least this many timed inferences")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--threads", opt.threads,
                 "Host threads per layer, the calling thread included (intra-op parallelism; "
                 "outputs are identical for every count) (default: the hardware threads, " +
                     std::to_string(engine::ExecutionContext::DefaultThreads()) + ")")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmUp", opt.warm_up_ms, "Warm-up time before timing, ms")->capture_default_str();
  app.add_option("--duration", opt.duration_s, "Run timed inferences for at least this long, s")
      ->capture_default_str();
  app.add_option("--percentile", opt.percentile, "Latency percentiles to report, e.g. 90,95,99")
      ->capture_default_str();
  app.add_option("--optLevel", opt.opt_level, "Optimization level 0..3 (0 = no rewrites)")
      ->capture_default_str()->check(CLI::Range(0, 3));
  app.add_option("--passes", opt.passes, "Explicit comma-separated list of optimizer passes");
  app.add_option("--dumpIrAfter", opt.dump_ir_after,
                 "Print the graph after this optimizer pass ('*': after every pass)");
  app.add_option("--dumpDot", opt.dump_dot,
                 "Write the graph after the --dumpIrAfter pass as Graphviz DOT to this file "
                 "(one file per pass for '*')");
  app.add_flag("--noMemoryReuse", opt.no_memory_reuse,
               "Give every activation tensor its own bytes (no arena sharing), for comparison");
  app.add_option("--arenaAlignment", opt.arena_alignment,
                 "Alignment of activation offsets in the arena, bytes (power of two, 8..4096)")
      ->capture_default_str();
  app.add_flag("--listPasses", opt.list_passes, "List the optimizer passes in pipeline order and exit");
  app.add_option("--seed", opt.seed, "Seed of generated inputs")->capture_default_str();
  app.add_option("--hw", opt.hw,
                 "Accelerator: preset (" + absl::StrJoin(engine::HardwarePresetNames(), ", ") +
                     ") or JSON file, then ,KEY=VALUE overrides, e.g. gemmini,array=32x32,"
                     "dataflow=ws,memory=ideal (default: edge; with --loadEngine: must match "
                     "the plan)");
  app.add_option("--objective", opt.objective,
                 "What the per-layer mapping minimizes: latency (default), energy or edp")
      ->check(CLI::IsMember({"latency", "energy", "edp"}, CLI::ignore_case));
  app.add_option("--exportProfile", opt.export_profile,
                 "Write the per-layer profile (modeled device times, trtexec's shape) as JSON");
  app.add_option("--exportTrace", opt.export_trace,
                 "Write the modeled device timeline as Chrome trace-event JSON (Perfetto)");
  app.add_option("--exportLayerInfo", opt.export_layer_info,
                 "Write layer information (tactics, tilings, rejected tactics) as JSON");
  app.add_option("--exportReport", opt.export_report,
                 "Write the run report (identity, build options, hardware, modeled and host "
                 "performance, memory, per-layer profile) as versioned JSON, for "
                 "'trtexec_like compare'");
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
  app.add_option("--calibData", opt.calib_data,
                 "Calibration data: a directory of images (JPEG, PNG, ...) or tensor files (.pb, "
                 ".npy), or an MNIST IDX image file");
  app.add_option("--calibImages", opt.calib_images,
                 "Calibrate on at most this many samples of --calibData (0 = all)")
      ->capture_default_str();
  app.add_option("--calibBatches", opt.calib_batches,
                 "Calibrate on at most this many batches of --calibData (0 = all)")
      ->capture_default_str();
  app.add_option("--calibrator", opt.calibrator, "entropy (TensorRT EntropyCalibration2), minmax "
                 "or percentile")
      ->capture_default_str();
  app.add_option("--calibPercentile", opt.calib_percentile,
                 "Percentile of |x| for --calibrator=percentile")
      ->capture_default_str();
  app.add_option("--calib", opt.calib_cache,
                 "Calibration cache (TensorRT text format): read when the file exists (no "
                 "calibration), otherwise written after calibrating");
  app.add_option("--preprocess", opt.preprocess,
                 "Image preprocessing for --calibData/--evalData: a preset (imagenet, raw, caffe) "
                 "or resize=256,crop,scale=0.0039,mean=R:G:B,std=R:G:B,order=rgb|bgr,layout=nchw")
      ->capture_default_str();
  app.add_flag("--skipUnreadable", opt.skip_unreadable,
               "Skip (and list) unreadable dataset files instead of failing");
  app.add_option("--layerPrecisions", opt.layer_precisions,
                 "Pin layers (engine layer or ONNX node names) to a precision: name:fp32[,...]");
  app.add_option("--accuracyGuard", opt.accuracy_guard_db,
                 "Keep in FP32 the layers whose isolated INT8 output SQNR on the calibration data "
                 "is below this many dB");
  app.add_option("--evalData", opt.eval_data,
                 "Run the engine over a dataset (image dir, tensor dir, MNIST IDX file) and print "
                 "top-1 accuracy when it has labels");
  app.add_option("--evalLabels", opt.eval_labels,
                 "Labels for --evalData: IDX, CSV (file,class_index) or text");
  app.add_option("--evalImages", opt.eval_images,
                 "Use at most this many samples of --evalData (0 = all)")
      ->capture_default_str();
  app.add_flag("--compareInt8", opt.compare_int8,
               "Build the FP32 and INT8 engines with every layer output marked, run both on "
               "--evalData (or --calibData) and print per layer cosine, SQNR and max error, "
               "worst first, with top-1 agreement");
  app.add_option("--compareTop", opt.compare_top, "Rows of the --compareInt8 table")
      ->capture_default_str();
  app.add_flag("--skipInference", opt.skip_inference, "Build (and save) only");
  app.add_flag("--dumpProfile", opt.dump_profile,
               "Print the per-layer profile (modeled device; host too when inference runs)");
  app.add_flag("--dumpLayerInfo", opt.dump_layer_info, "Print the engine's layers");
  app.add_flag("--verbose", opt.verbose, "Verbose logging");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::vector<std::string> args(argv, argv + argc);
  args[0] = "trtexec_like";
  return trtexec_like::Run(opt, absl::StrJoin(args, " "));
}
