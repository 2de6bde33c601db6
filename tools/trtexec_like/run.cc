#include "trtexec_like/run.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "engine/builder.h"
#include "engine/compare.h"
#include "engine/hardware.h"
#include "engine/plugin_registry.h"
#include "engine/tensor_io.h"
#include "trtexec_like/format.h"
#include "trtexec_like/host_stats.h"
#include "trtexec_like/inspect_model.h"
#include "trtexec_like/int8.h"
#include "trtexec_like/int8_compare.h"
#include "trtexec_like/log.h"
#include "trtexec_like/progress.h"
#include "trtexec_like/report/device_report.h"
#include "trtexec_like/report/json_file.h"
#include "trtexec_like/report/run_report.h"
#include "trtexec_like/sweep.h"

namespace trtexec_like {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string SafeFileName(const std::string& name) {
  return absl::StrReplaceAll(name, {{"/", "_"}, {":", "_"}, {"\\", "_"}});
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
    absl::Status s = WriteTextFile("--dumpDot", path, d.content);
    if (!s.ok()) return s;
    std::printf("[I] Graph after %s written to %s (Graphviz: dot -Tsvg %s)\n", d.pass.c_str(),
                path.c_str(), path.c_str());
  }
  return absl::OkStatus();
}

// Builds --onnx with `config`, prints what the build did, writes the IR dumps
// and --saveEngine, and deserializes the plan.
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
  if (!built->layer_group_report.empty()) std::printf("%s", built->layer_group_report.c_str());
  for (const engine::PassSummary& p : built->passes) {
    if (p.name != "branch-order") continue;
    std::vector<std::string> counters;
    for (const auto& [k, v] : p.counters) counters.push_back(absl::StrCat(k, "=", v));
    std::printf("[I] Branch order: %s (%s)\n", p.changed ? "reordered" : "kept",
                absl::StrJoin(counters, " ").c_str());
  }
  if (opt.verbose) PrintBuildPhases(*built);
  if (opt.verbose) std::printf("[V] Optimizer passes:\n%s", built->optimizer_report.c_str());
  absl::Status dumped = WriteIrDumps(opt, *built);
  if (!dumped.ok()) return dumped;
  if (!opt.save_engine.empty()) {
    absl::Status s = engine::WritePlanFile(opt.save_engine, built->plan);
    if (!s.ok()) return s;
    std::printf("[I] Engine saved to %s\n", opt.save_engine.c_str());
  }
  if (!opt.export_qdq.empty()) {
    absl::Status s = engine::ExportQdqFile(opt.onnx, *built, opt.export_qdq);
    if (!s.ok()) return s;
    std::printf("[I] QDQ model (%zu int8 tensors) written to %s\n",
                built->int8_tensor_scales.size(), opt.export_qdq.c_str());
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


// The result of a job that did not fail.
enum class Outcome { kPassed, kAccuracyFailed };

// The BuilderConfig of the flags (INT8 fields by ConfigureInt8).
engine::BuilderConfig MakeBuilderConfig(const Options& opt, const ValidatedOptions& v) {
  engine::BuilderConfig config;
  config.input_shapes = v.shapes;
  config.profiles = v.profiles;
  config.shape_buckets = opt.shape_buckets;
  // With profiles, --shapes is the run-time shape of a profiled input
  // (trtexec) and pins only the others.
  for (const auto& p : v.profiles) {
    for (const auto& [name, dims] : p.max) config.input_shapes.erase(name);
  }
  config.opt_level = opt.opt_level;
  config.hardware = *v.hardware;
  config.objective = v.objective;
  config.plan_memory = !opt.no_memory_reuse;
  config.onchip_residency = !opt.no_residency;
  config.cross_layer_prefetch = !opt.no_prefetch;
  config.layer_groups = !opt.no_layer_groups;
  config.branch_order = !opt.no_branch_order;
  config.group_objective = v.group_objective;
  config.energy_budget_pj = opt.energy_budget_mj * 1e9;
  config.arena_alignment = opt.arena_alignment;
  config.max_tensor_bytes = opt.max_tensor_bytes;
  config.max_constant_bytes = opt.max_constant_bytes;
  config.max_instructions = opt.max_instructions;
  config.max_arena_bytes = v.workspace_bytes.value_or(opt.max_arena_bytes);
  config.dump_ir_after = opt.dump_ir_after;
  config.dump_dot = !opt.dump_dot.empty();
  if (config.dump_dot && config.dump_ir_after.empty()) config.dump_ir_after = "*";
  config.passes = v.passes;
  return config;
}

// Sets every engine input: from --loadInputs, the others generated.
absl::Status SetInputs(const Options& opt, const ValidatedOptions& v, const engine::Engine& eng,
                       engine::ExecutionContext& ctx) {
  std::map<std::string, engine::Tensor> inputs;
  for (const auto& [name, path] : v.load_inputs) {
    auto t = engine::LoadTensorFile(path);
    if (!t.ok()) return t.status();
    std::string input_name = name;
    if (input_name.empty()) {
      if (eng.inputs().size() != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--loadInputs item '", path, "' has no name and the engine has ", eng.inputs().size(),
            " inputs; use name:file"));
      }
      input_name = eng.inputs()[0].name;
    }
    if (!inputs.emplace(input_name, std::move(t->tensor)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--loadInputs: input '", input_name, "' is given twice"));
    }
  }
  // --shapes names engine inputs; a fixed-shape engine runs only its own
  // shapes, so a different one is refused rather than ignored.
  for (const auto& [name, dims] : v.shapes) {
    auto d = std::find_if(eng.inputs().begin(), eng.inputs().end(),
                          [&](const engine::TensorDesc& t) { return t.name == name; });
    if (d == eng.inputs().end()) {
      std::vector<std::string> names;
      for (const auto& t : eng.inputs()) names.push_back(t.name);
      return absl::InvalidArgumentError(absl::StrCat("--shapes: the engine has no input '", name,
                                                     "' (inputs: ", absl::StrJoin(names, ", "),
                                                     ")"));
    }
    if (!eng.has_dynamic_shapes() && d->shape != dims) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--shapes gives input '", name, "' shape ", engine::DimsToString(dims),
          " but the engine was built for ", engine::DimsToString(d->shape),
          " only; build it with --minShapes/--optShapes/--maxShapes for other shapes"));
    }
  }
  // Dynamic-shape engines: --shapes selects the run-time shapes (trtexec);
  // without it, the opt shapes of profile 0.
  if (eng.has_dynamic_shapes()) {
    for (const auto& r : eng.profiles()[0].inputs) {
      auto given = v.shapes.find(r.name);
      absl::Status s = ctx.SetInputShape(r.name, given != v.shapes.end() ? given->second : r.opt);
      if (!s.ok()) return s;
    }
    for (const auto& [name, t] : inputs) {
      absl::Status s = ctx.SetInputShape(name, t.shape());
      if (!s.ok()) return s;
    }
  }
  for (size_t i = 0; i < eng.inputs().size(); ++i) {
    engine::TensorDesc d = eng.inputs()[i];
    auto shape = ctx.GetTensorShape(d.name);
    if (!shape.ok()) return shape.status();
    d.shape = *shape;
    if (!inputs.count(d.name)) inputs[d.name] = GenerateInput(d, opt.seed + static_cast<uint32_t>(i));
  }
  for (const auto& [name, t] : inputs) {
    absl::Status s = ctx.SetInput(name, t);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// --exportOutput: every output as <dir>/<name>.pb.
absl::Status ExportOutputs(const Options& opt, const engine::Engine& eng,
                           engine::ExecutionContext& ctx) {
  std::error_code ec;
  std::filesystem::create_directories(opt.export_output, ec);
  for (const auto& d : eng.outputs()) {
    auto t = ctx.GetOutput(d.name);
    if (!t.ok()) return t.status();
    std::string path =
        (std::filesystem::path(opt.export_output) / (SafeFileName(d.name) + ".pb")).string();
    absl::Status s = engine::SaveTensorProtoFile(path, d.name, **t);
    if (!s.ok()) return s;
    std::printf("[I] Output '%s' written to %s\n", d.name.c_str(), path.c_str());
  }
  return absl::OkStatus();
}

// --dumpOutput: every output's name, dtype, shape and values (at most
// kDumpLimit per output), as trtexec's "Output Tensors:" block.
void DumpOutputs(const engine::Engine& eng, engine::ExecutionContext& ctx) {
  constexpr int64_t kDumpLimit = 4096;
  std::printf("\n=== Output Tensors ===\n");
  for (const auto& d : eng.outputs()) {
    auto t = ctx.GetOutput(d.name);
    if (!t.ok()) continue;
    // The tensor's own shape: a data-dependent output's actual extent.
    std::printf("%s: %s %s\n", d.name.c_str(), engine::DataTypeName(d.dtype),
                engine::DimsToString((*t)->shape()).c_str());
    std::string line;
    const int64_t n = std::min<int64_t>((*t)->num_elements(), kDumpLimit);
    for (int64_t i = 0; i < n; ++i) {
      std::string v;
      switch (d.dtype) {
        case engine::DataType::kFloat32: v = absl::StrFormat("%g", (*t)->data_as<float>()[i]); break;
        case engine::DataType::kInt64: v = absl::StrCat((*t)->data_as<int64_t>()[i]); break;
        case engine::DataType::kInt32: v = absl::StrCat((*t)->data_as<int32_t>()[i]); break;
        case engine::DataType::kInt8: v = absl::StrCat((*t)->data_as<int8_t>()[i]); break;
        case engine::DataType::kUint8: v = absl::StrCat((*t)->data_as<uint8_t>()[i]); break;
        case engine::DataType::kBool: v = (*t)->data_as<uint8_t>()[i] ? "1" : "0"; break;
        default: v = "?"; break;
      }
      absl::StrAppend(&line, i == 0 ? "" : " ", v);
    }
    if ((*t)->num_elements() > n) {
      absl::StrAppend(&line, " ... (", (*t)->num_elements() - n, " more)");
    }
    std::printf("%s\n", line.c_str());
  }
}

// One timed iteration: host start and end, ms from the start of the timed runs.
struct Timing {
  double start_ms = 0, end_ms = 0;
  int stream = 0;
};

// --exportTimes: trtexec's per-iteration array. The host emulation has no
// transfers: H2D and D2H are empty intervals at the compute's start and end,
// and enqueue is the synchronous Execute.
absl::Status ExportTimes(const std::string& path, const std::vector<Timing>& times, int streams) {
  nlohmann::json out = nlohmann::json::array();
  for (const Timing& t : times) {
    nlohmann::json row = {
        {"startEnqMs", t.start_ms}, {"endEnqMs", t.end_ms},
        {"startH2DMs", t.start_ms}, {"endH2DMs", t.start_ms},
        {"startComputeMs", t.start_ms}, {"endComputeMs", t.end_ms},
        {"startD2HMs", t.end_ms}, {"endD2HMs", t.end_ms},
        {"h2dMs", 0.0}, {"computeMs", t.end_ms - t.start_ms}, {"d2hMs", 0.0},
        {"latencyMs", t.end_ms - t.start_ms}, {"enqMs", t.end_ms - t.start_ms}};
    if (streams > 1) row["stream"] = t.stream;
    out.push_back(std::move(row));
  }
  absl::Status s = WriteJsonFile("--exportTimes", path, out);
  if (s.ok()) std::printf("[I] Per-iteration times written to %s\n", path.c_str());
  return s;
}

// --loadRefOutputs: compares each named output; false when one differs.
absl::StatusOr<bool> CheckReferenceOutputs(const Options& opt, const ValidatedOptions& v,
                                           const engine::Engine& eng,
                                           engine::ExecutionContext& ctx) {
  std::printf("\n=== Accuracy (rtol = %g, atol = %g) ===\n", opt.rtol, opt.atol);
  bool passed = true;
  for (const auto& [name, path] : v.ref_outputs) {
    auto ref = engine::LoadTensorFile(path);
    if (!ref.ok()) return ref.status();
    std::string out_name = name;
    if (out_name.empty()) {
      if (eng.outputs().size() != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("--loadRefOutputs item '", path, "' needs name:file"));
      }
      out_name = eng.outputs()[0].name;
    }
    auto t = ctx.GetOutput(out_name);
    if (!t.ok()) return t.status();
    engine::CompareResult r = engine::CompareTensors(**t, ref->tensor, opt.rtol, opt.atol);
    std::printf("%s output '%s': max abs error = %.4g, max rel error = %.4g%s%s\n",
                r.passed ? "PASSED" : "FAILED", out_name.c_str(), r.max_abs_error,
                r.max_rel_error, r.passed ? "" : " — ", r.message.c_str());
    passed = passed && r.passed;
  }
  return passed;
}

// What the last lines of a run's log repeat (PrintFinalSummary).
struct FinalSummary {
  const engine::Engine* engine = nullptr;
  std::optional<Stats> host;  // host latency, when inference ran
  double throughput_qps = 0;
  int iterations = 0, threads = 0, streams = 1;
  std::optional<EvalResult> evaluation;
};

// The summary printed last in the log, so that its end shows the result: the
// modeled latency and energy per inference, the host latency and throughput
// when inference ran, and the top-1 accuracy with --evalData.
void PrintFinalSummary(const FinalSummary& s) {
  if (s.engine == nullptr) return;
  const engine::DeviceProfile& p = s.engine->device_profile();
  const Unit eu = EnergyUnit(p.energy_pj());
  std::printf("\n=== Summary ===\n");
  std::printf("Modeled device (%s): latency %.4g ms, %.4g %s per inference\n",
              s.engine->hardware().name.c_str(), p.latency_ms, p.energy_pj() / eu.scale,
              eu.name);
  if (s.host.has_value()) {
    std::printf("Host emulation: median %.4g ms, mean %.4g ms, throughput %.4g qps (%d "
                "iterations, %d threads%s)\n",
                s.host->median, s.host->mean, s.throughput_qps, s.iterations, s.threads,
                s.streams > 1 ? absl::StrCat(", ", s.streams, " streams").c_str() : "");
  } else {
    std::printf("Host emulation: not run (--skipInference)\n");
  }
  if (s.evaluation.has_value()) {
    if (s.evaluation->has_labels) {
      std::printf("Accuracy: top-1 %.2f%% (%lld %s of %s)\n", s.evaluation->Top1Percent(),
                  static_cast<long long>(s.evaluation->images), s.evaluation->noun,
                  s.evaluation->dataset.c_str());
    } else {
      std::printf("Accuracy: no labels (%lld %s run)\n",
                  static_cast<long long>(s.evaluation->images), s.evaluation->noun);
    }
  }
}

// Warm-up, timed inferences, the performance summary and everything after.
absl::StatusOr<Outcome> RunInference(const Options& opt, const ValidatedOptions& v,
                                     const std::string& command, const engine::Engine& eng,
                                     const ReportExtras& extras, FinalSummary& summary) {
  auto ctx_or = eng.CreateExecutionContext();
  if (!ctx_or.ok()) return ctx_or.status();
  engine::ExecutionContext& ctx = **ctx_or;
  if (opt.threads.has_value()) {
    absl::Status s = ctx.SetThreads(*opt.threads);
    if (!s.ok()) return s;
  }
  absl::Status s = SetInputs(opt, v, eng, ctx);
  if (!s.ok()) return s;
  if (eng.has_dynamic_shapes()) {
    s = ctx.InferShapes();
    if (!s.ok()) return s;
    int bucket = -1;
    const engine::DeviceProfile& dev = ctx.device_profile(&bucket);
    std::string shapes, bucket_shapes;
    for (const auto& d : eng.inputs()) {
      auto shape = ctx.GetTensorShape(d.name);
      if (!shape.ok()) return shape.status();
      shapes += absl::StrCat(shapes.empty() ? "" : ",", d.name, ":", absl::StrJoin(*shape, "x"));
    }
    if (bucket >= 0) {
      for (const auto& [name, dims] : eng.shape_buckets()[bucket].shapes) {
        bucket_shapes += absl::StrCat(bucket_shapes.empty() ? "" : ",", name, ":",
                                      absl::StrJoin(dims, "x"));
      }
    }
    std::printf("[I] Dynamic shapes: profile %d, input shapes %s; shape bucket %d (%s): modeled "
                "latency %.4f ms (%lld cycles)\n",
                ctx.active_profile(), shapes.c_str(), bucket, bucket_shapes.c_str(),
                dev.latency_ms, static_cast<long long>(dev.total_cycles));
    for (const auto& d : eng.outputs()) {
      auto shape = ctx.GetTensorShape(d.name);
      if (!shape.ok()) return shape.status();
      std::printf("[I] Output '%s' at these shapes: %s\n", d.name.c_str(),
                  engine::DimsToString(*shape).c_str());
    }
  }

  // Warm-up, then timed iterations: at least --iterations and --duration.
  auto warm0 = Clock::now();
  int warm_runs = 0;
  do {
    s = ctx.Execute();
    if (!s.ok()) return s;
    ++warm_runs;
  } while (MsSince(warm0) < opt.warm_up_ms);
  LayerProfiler profiler;
  const bool profile_layers =
      opt.dump_profile || !opt.export_profile.empty() || !opt.export_report.empty();
  if (profile_layers) ctx.SetProfiler(&profiler);
  // --infStreams: more contexts, each on its own thread, with the same inputs
  // (stream 0 is `ctx`, which alone feeds the per-layer profiler).
  const int streams = std::max(1, opt.inf_streams);
  std::vector<std::unique_ptr<engine::ExecutionContext>> extra;
  for (int k = 1; k < streams; ++k) {
    auto c = eng.CreateExecutionContext();
    if (!c.ok()) return c.status();
    if (opt.threads.has_value()) {
      s = (*c)->SetThreads(*opt.threads);
      if (!s.ok()) return s;
    }
    s = SetInputs(opt, v, eng, **c);
    if (!s.ok()) return s;
    extra.push_back(std::move(*c));
  }
  // Each stream runs until, together, the streams did --iterations and
  // --duration passed.
  std::vector<std::vector<Timing>> per_stream(streams);
  std::vector<absl::Status> status(streams);
  std::atomic<int64_t> done{0};
  auto start = Clock::now();
  auto run_stream = [&](int k, engine::ExecutionContext& c) {
    while (done.load() < opt.iterations || MsSince(start) < opt.duration_s * 1000.0) {
      const double t0 = MsSince(start);
      absl::Status r = c.Execute();
      if (!r.ok()) {
        status[k] = r;
        return;
      }
      per_stream[k].push_back({t0, MsSince(start), k});
      done.fetch_add(1);
    }
  };
  {
    std::vector<std::thread> threads;
    for (int k = 1; k < streams; ++k) threads.emplace_back(run_stream, k, std::ref(*extra[k - 1]));
    run_stream(0, ctx);
    for (std::thread& t : threads) t.join();
  }
  const double wall_s = MsSince(start) / 1000.0;
  ctx.SetProfiler(nullptr);
  for (const absl::Status& r : status) {
    if (!r.ok()) return r;
  }
  std::vector<Timing> times;
  for (const auto& st : per_stream) times.insert(times.end(), st.begin(), st.end());
  std::sort(times.begin(), times.end(),
            [](const Timing& a, const Timing& b) { return a.start_ms < b.start_ms; });
  std::vector<double> latencies;
  for (const Timing& t : times) latencies.push_back(t.end_ms - t.start_ms);
  const int profiled_runs = static_cast<int>(per_stream[0].size());

  Stats st = ComputeStats(latencies, v.percentiles);
  summary.host = st;
  summary.throughput_qps = latencies.size() / wall_s;
  summary.iterations = static_cast<int>(latencies.size());
  summary.threads = ctx.threads();
  summary.streams = streams;
  std::printf("\n=== Performance summary ===\n");
  std::printf("[I] Host threads: %d\n", ctx.threads());
  if (streams > 1) {
    std::printf("[I] Inference streams: %d contexts on %d threads (%s iterations)\n", streams,
                streams, absl::StrJoin(per_stream, " + ", [](std::string* o, const auto& st) {
                  absl::StrAppend(o, st.size());
                }).c_str());
  }
  std::printf("Throughput: %.4g qps%s\n", latencies.size() / wall_s,
              streams > 1 ? absl::StrCat(" (aggregate over ", streams, " streams)").c_str() : "");
  std::printf("Host Latency: %s\n", FormatStats(st).c_str());
  std::printf("Total Host Walltime: %.4g s\n", wall_s);
  std::printf("Iterations: %zu timed (after %d warm-up runs)\n", latencies.size(), warm_runs);
  const double cv = st.mean > 0 ? st.stddev / st.mean : 0;
  if (cv > 0.025) {
    std::printf("[W] Host latency varies: coefficient of variation %.1f%% > 2.5%%; "
                "the machine may be busy\n", 100 * cv);
  }
  std::printf("Note: host latency is the wall-clock time of the host emulation.\n");
  s = ReportModeledDevice(opt, eng, streams > 1 ? profiled_runs : static_cast<int>(latencies.size()),
                          profile_layers ? &profiler : nullptr);
  if (!s.ok()) return s;
  if (!opt.export_times.empty()) {
    s = ExportTimes(opt.export_times, times, streams);
    if (!s.ok()) return s;
  }
  if (opt.dump_output) DumpOutputs(eng, ctx);

  if (!opt.export_output.empty()) {
    s = ExportOutputs(opt, eng, ctx);
    if (!s.ok()) return s;
  }
  if (!v.ref_outputs.empty()) {
    auto passed = CheckReferenceOutputs(opt, v, eng, ctx);
    if (!passed.ok()) return passed.status();
    if (!*passed) return Outcome::kAccuracyFailed;
  }
  if (!opt.export_report.empty()) {
    const HostRun host{st, static_cast<int>(latencies.size()), warm_runs, wall_s, ctx.threads(),
                       profile_layers ? &profiler : nullptr};
    s = WriteRunReport(opt, command, eng, &host, extras);
    if (!s.ok()) return s;
  }
  return Outcome::kPassed;
}

// The whole job after the options were validated.
absl::StatusOr<Outcome> RunJob(const Options& opt, const ValidatedOptions& v,
                               const std::string& command, engine::Logger& logger) {
  FinalSummary summary;
  std::shared_ptr<const engine::Engine> eng;
  for (const std::string& path : opt.plugins) {
    auto plugin = engine::LoadPlugin(path);
    if (!plugin.ok()) return plugin.status();
    logger.Log(engine::Severity::kInfo,
               absl::StrCat("loaded plugin '", plugin->name, "' version ", plugin->version,
                            " (", absl::StrJoin(plugin->ops, ", "), ") from ", path));
  }
  Int8Setup int8_setup;
  const bool names_given = !v.load_inputs.empty() || !v.ref_outputs.empty();
  if (!opt.onnx.empty()) {
    if (names_given) {  // before the build, not after it
      auto model = SummarizeOnnxModel(opt.onnx);
      if (!model.ok()) return model.status();
      std::vector<std::string> ins, outs;
      for (const auto& d : model->inputs) ins.push_back(d.name);
      for (const auto& d : model->outputs) outs.push_back(d.name);
      absl::Status s = CheckTensorNames(v, ins, outs, absl::StrCat("model '", opt.onnx, "'"));
      if (!s.ok()) return s;
    }
    engine::BuilderConfig config = MakeBuilderConfig(opt, v);
    ConfigureInt8(opt, v, config, int8_setup);
    if (opt.compare_int8) {
      absl::Status s = RunCompareInt8(opt, v, config, command);
      if (!s.ok()) return s;
      return Outcome::kPassed;
    }
    if (!v.sweep.empty()) {
      absl::Status s = RunHwSweep(opt, v.sweep, config, command, logger);
      if (!s.ok()) return s;
      return Outcome::kPassed;
    }
    auto built = BuildEngine(opt, config, logger);
    if (!built.ok()) return built.status();
    eng = *built;
  } else {
    auto loaded = LoadEngine(opt, v.hardware, logger);
    if (!loaded.ok()) return loaded.status();
    eng = *loaded;
    if (names_given) {
      std::vector<std::string> ins, outs;
      for (const auto& d : eng->inputs()) ins.push_back(d.name);
      for (const auto& d : eng->outputs()) outs.push_back(d.name);
      absl::Status s = CheckTensorNames(v, ins, outs, absl::StrCat("plan '", opt.load_engine, "'"));
      if (!s.ok()) return s;
    }
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
  ReportExtras extras;
  if (!opt.eval_data.empty()) {
    auto eval = RunEvaluation(opt, v, *eng);
    if (!eval.ok()) return eval.status();
    extras.evaluation = *eval;
    summary.evaluation = *eval;
  }
  summary.engine = eng.get();
  if (opt.skip_inference) {
    absl::Status s = ReportModeledDevice(opt, *eng, /*count=*/1, /*host=*/nullptr);
    if (!s.ok()) return s;
    if (!opt.export_report.empty()) {
      s = WriteRunReport(opt, command, *eng, /*host=*/nullptr, extras);
    }
    if (!s.ok()) return s;
    PrintFinalSummary(summary);
    return Outcome::kPassed;
  }
  auto outcome = RunInference(opt, v, command, *eng, extras, summary);
  if (outcome.ok()) PrintFinalSummary(summary);
  return outcome;
}

}  // namespace

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

int Run(const Options& opt, const std::string& command) {
  ToolLogger logger(opt.verbose ? engine::Severity::kVerbose : engine::Severity::kWarning);
  std::printf("&&&& RUNNING trtexec_like # %s\n", command.c_str());
  if (opt.list_passes) {
    std::printf("Optimizer passes, in pipeline order:\n");
    for (const auto& [name, description] : engine::ListOptimizerPasses()) {
      std::printf("  %-24s %s\n", name.c_str(), description.c_str());
    }
    std::printf("&&&& PASSED trtexec_like # %s\n", command.c_str());
    return kExitPassed;
  }
  absl::StatusOr<Outcome> outcome = absl::UnknownError("not run");
  auto validated = ValidateOptions(opt);
  if (validated.ok()) {
    outcome = RunJob(opt, *validated, command, logger);
  } else {
    outcome = validated.status();
  }
  if (!outcome.ok()) {
    std::fflush(stdout);
    std::fprintf(stderr, "[E] %s\n", std::string(outcome.status().message()).c_str());
    std::printf("&&&& FAILED trtexec_like # %s\n", command.c_str());
    return kExitFailed;
  }
  if (*outcome == Outcome::kAccuracyFailed) {
    std::printf("&&&& FAILED trtexec_like # %s\n", command.c_str());
    return kExitAccuracyFailed;
  }
  std::printf("&&&& PASSED trtexec_like # %s\n", command.c_str());
  return kExitPassed;
}

}  // namespace trtexec_like
