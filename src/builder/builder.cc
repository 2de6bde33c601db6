// engine::Builder: parse -> optimize -> codegen -> plan bytes.
#include "engine/builder.h"
#include "engine/plugin_registry.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/arena.h"
#include "codegen/device_code.h"
#include "codegen/fusion_cost.h"
#include "builder/explicit_quantization.h"
#include "builder/fp16_phase.h"
#include "builder/int8_phase.h"
#include "builder/extent_check.h"
#include "builder/plugin_layers.h"
#include "builder/profiles.h"
#include "builder/qdq_export.h"
#include "codegen/plan_writer.h"
#include "codegen/schedule_order.h"
#include "common/file_util.h"
#include "common/fnv.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "optimizer/pass.h"
#include "optimizer/passes.h"
#include "parser/onnx_parser.h"

namespace engine {
namespace {

class PhaseTimer {
 public:
  explicit PhaseTimer(std::vector<BuildPhase>* phases) : phases_(phases) {}
  void Done(const char* name) {
    auto now = std::chrono::steady_clock::now();
    phases_->push_back({name, std::chrono::duration<double, std::milli>(now - last_).count()});
    last_ = now;
  }

 private:
  std::vector<BuildPhase>* phases_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

BuildLimits LimitsOf(const BuilderConfig& config) {
  return {config.max_tensor_bytes, config.max_constant_bytes, config.max_instructions,
          config.max_arena_bytes};
}

// The limits themselves: 0 (off) or a positive count.
absl::Status CheckLimits(const BuilderConfig& config) {
  const std::pair<const char*, int64_t> limits[] = {
      {"max_tensor_bytes", config.max_tensor_bytes},
      {"max_constant_bytes", config.max_constant_bytes},
      {"max_instructions", config.max_instructions},
      {"max_arena_bytes", config.max_arena_bytes}};
  for (const auto& [name, value] : limits) {
    if (value < 0) {
      return absl::InvalidArgumentError(absl::StrCat("BuilderConfig::", name, " (", LimitFlag(name),
                                                     ") is ", value, "; give 0 (no limit) or a "
                                                     "positive count"));
    }
  }
  return absl::OkStatus();
}

// What a dynamic-shape build adds to Build(): the profiles and buckets for
// the plan, the program-only flag of a bucket's plan.
struct DynamicBuild {
  bool keep_shape_subgraphs = false;  ///< the graph keeps its shape layers
  bool program_only = false;          ///< a bucket's plan: no constant data
  const codegen::DynamicShapes* shapes = nullptr;
  /// INT8: the scales every build of the plan shares (calibrated once).
  builder::SharedInt8* int8 = nullptr;
  /// Stop after the INT8 phase (the calibration build: no code, no plan).
  bool calibrate_only = false;
};

// The passes of a dynamic-shape build: the configured pipeline without
// simplify-reshape, which replaces a Reshape chain's target by the static
// shape of one size.
std::vector<std::string> DynamicPasses(const BuilderConfig& config) {
  std::vector<std::string> passes =
      config.passes.empty() ? opt::PassesForLevel(config.opt_level) : config.passes;
  passes.erase(std::remove(passes.begin(), passes.end(), "simplify-reshape"), passes.end());
  return passes;
}

// The parser options of `config` (pinned shapes, input values, target
// opset, limits) logging to `logger`.
parser::ParseOptions ParseOptionsOf(const BuilderConfig& config, Logger* logger) {
  parser::ParseOptions options;
  options.input_shapes = config.input_shapes;
  options.input_values = config.input_values;
  options.target_opset = config.target_opset;
  options.logger = logger;
  options.limits = LimitsOf(config);
  return options;
}

// What the plan header records of where the engine came from; the
// calibration fields are filled by Build once the INT8 phase ran.
codegen::PlanProvenance Provenance(const std::string& bytes, const std::string& name,
                                   const BuilderConfig& config) {
  codegen::PlanProvenance p;
  p.source_model = std::filesystem::path(name).filename().string();
  p.source_hash = Fnv1a64Hex(bytes);
  p.precision = PrecisionName(config.precision);
  p.opt_level = config.opt_level;
  return p;
}

// "branch-order" (codegen/schedule_order.h): an execution order of the
// independent branches with a lower peak of live activations, kept when the
// whole program's modeled objective (the one the layer groups minimize) is
// not worse than with the original order; then `code` and the graph's
// schedule are those of the new order. Recorded in result.passes with its
// counters. Dynamic-shape builds keep the imported order (`dynamic`: every
// shape bucket's program and the host graph must run the same schedule).
absl::Status OrderBranches(ir::Graph& graph, const BuilderConfig& config,
                           const codegen::ResidencyOptions& residency, bool dynamic, Logger* logger,
                           BuildResult& result, codegen::DeviceCode& code) {
  const auto t0 = std::chrono::steady_clock::now();
  const int nodes = static_cast<int>(graph.nodes().size());
  PassSummary summary{"branch-order", false, 0.0, nodes, nodes, {}};
  auto& counters = summary.counters;
  auto done = [&]() {
    summary.ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    result.passes.push_back(summary);
    return absl::OkStatus();
  };
  if (dynamic) {
    counters["kept.dynamic_shapes"] = 1;
    return done();
  }
  ENGINE_ASSIGN_OR_RETURN(codegen::ScheduleProblem problem, codegen::ScheduleProblemOf(graph));
  const codegen::ScheduleOrder order = codegen::ChooseScheduleOrder(problem);
  counters["segments"] = order.segments;
  counters["segments.exact"] = order.exact_segments;
  counters["segments.greedy"] = order.greedy_segments;
  counters["segments.reordered"] = order.reordered_segments;
  counters["states"] = order.states;
  counters["peak-live-bytes.before"] = order.before.peak_bytes;
  counters["peak-live-bytes.after"] = order.after.peak_bytes;
  if (!order.changed) {
    counters["kept.no_lower_peak"] = 1;
    return done();
  }
  std::vector<ir::Node*> original, reordered;
  for (const auto& n : graph.nodes()) original.push_back(n.get());
  for (int i : order.order) reordered.push_back(original[static_cast<size_t>(i)]);
  const codegen::GroupObjective objective =
      residency.group_objective.value_or(codegen::ToGroupObjective(config.objective));
  int64_t cycles[2] = {0, 0}, dram[2] = {0, 0};
  double energy[2] = {0, 0};
  const absl::StatusOr<double> before = codegen::ProgramObjective(
      config.hardware, code.program, static_cast<int>(code.mappings.size()), objective,
      &cycles[0], &energy[0], &dram[0]);
  if (!before.ok()) {
    // The original program cannot be simulated (past hw::Simulate's limits):
    // nothing to compare with, the original order stays.
    counters["kept.simulation_failed"] = 1;
    return done();
  }
  ENGINE_RETURN_IF_ERROR(graph.SetSchedule(reordered));
  counters["orders-considered"] = 2;
  auto candidate = codegen::GenerateDeviceCode(graph, config.hardware, config.objective,
                                               config.max_instructions, residency);
  absl::StatusOr<double> after = absl::UnknownError("not simulated");
  if (candidate.ok()) {
    after = codegen::ProgramObjective(config.hardware, candidate->program,
                                      static_cast<int>(candidate->mappings.size()), objective,
                                      &cycles[1], &energy[1], &dram[1]);
  }
  counters["cycles.before"] = cycles[0];
  counters["dram-bytes.before"] = dram[0];
  if (after.ok()) {
    counters["cycles.after"] = cycles[1];
    counters["dram-bytes.after"] = dram[1];
  }
  if (!candidate.ok() || !after.ok()) {
    // The new order's program cannot be built or simulated (an instruction
    // budget reached in another order): the original stays.
    ENGINE_RETURN_IF_ERROR(graph.SetSchedule(original));
    counters["kept.codegen_failed"] = 1;
    logger->Log(Severity::kInfo,
                absl::StrCat("branch-order: the reordered program failed (",
                             (!candidate.ok() ? candidate.status() : after.status()).message(),
                             "); the original order is kept"));
    return done();
  }
  if (!(*after <= *before)) {
    ENGINE_RETURN_IF_ERROR(graph.SetSchedule(original));
    counters["kept.no_gain"] = 1;
    return done();
  }
  code = std::move(*candidate);
  summary.changed = true;
  // BuildResult::layer_precisions lists the layers in execution order.
  absl::flat_hash_map<std::string, size_t> position;
  for (size_t i = 0; i < reordered.size(); ++i) position.emplace(reordered[i]->name, i);
  auto at = [&](const LayerPrecisionInfo& l) {
    auto it = position.find(l.layer);
    return it == position.end() ? reordered.size() : it->second;
  };
  std::stable_sort(result.layer_precisions.begin(), result.layer_precisions.end(),
                   [&](const LayerPrecisionInfo& a, const LayerPrecisionInfo& b) {
                     return at(a) < at(b);
                   });
  counters["reordered"] = 1;
  logger->Log(Severity::kInfo,
              absl::StrCat("branch-order: ", order.reordered_segments,
                           " segment(s) reordered, peak live activations ",
                           order.before.peak_bytes, " -> ", order.after.peak_bytes,
                           " bytes, modeled ", cycles[0], " -> ", cycles[1], " cycles, DRAM ",
                           dram[0], " -> ", dram[1], " bytes"));
  return done();
}

absl::Status Build(std::unique_ptr<ir::Graph> graph, const BuilderConfig& config, Logger* logger,
                   const std::set<std::string>& known_tensors, BuildResult& result,
                   PhaseTimer& timer, codegen::PlanProvenance provenance,
                   const DynamicBuild& dyn = {}) {
  ENGINE_ASSIGN_OR_RETURN(
      std::unique_ptr<opt::PassManager> pm,
      opt::BuildPipeline(config.opt_level,
                         dyn.keep_shape_subgraphs ? DynamicPasses(config) : config.passes));
  pm->set_logger(logger);
  if (!config.dump_ir_after.empty()) {
    const std::vector<std::string> names = pm->PassNames();
    if (config.dump_ir_after != "*" &&
        std::find(names.begin(), names.end(), config.dump_ir_after) == names.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--dumpIrAfter: pass '", config.dump_ir_after, "' is not in the pipeline (",
          absl::StrJoin(names, ", "), ")"));
    }
    pm->DumpAfter(config.dump_ir_after, [&](const std::string& pass, const ir::Graph& g) {
      result.ir_dumps.push_back({pass, "text", g.ToText()});
      if (config.dump_dot) result.ir_dumps.push_back({pass, "dot", g.ToDot()});
    });
  }
  // Explicit quantization: a QDQ model's Q/DQ nodes become data (scales, zero
  // points, weight scales) before the optimizer, which then sees a float graph
  // (builder/explicit_quantization.h).
  std::optional<builder::ExplicitQuantization> explicit_q;
  builder::Float16SqnrMap float16_sqnr;  // --best's float16 accuracy guard (float16_guard.h)
  if (builder::HasQdqNodes(*graph)) {
    std::map<std::string, int64_t> counters;
    const auto t0 = std::chrono::steady_clock::now();
    const int before = static_cast<int>(graph->nodes().size());
    ENGINE_ASSIGN_OR_RETURN(builder::ExplicitQuantization eq,
                            builder::ExtractExplicitQuantization(*graph, counters));
    ENGINE_RETURN_IF_ERROR(graph->Verify());
    const int after = static_cast<int>(graph->nodes().size());
    result.passes.push_back(
        {"explicit-quantization", after != before,
         std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
         before, after, counters});
    for (const auto& [node, reason] : eq.not_folded) {
      logger->Log(Severity::kInfo, absl::StrCat("explicit-quantization: '", node,
                                                "' is not folded and runs in float32: ", reason));
    }
    if (!eq.scales.empty()) explicit_q = std::move(eq);
  }
  opt::PassContext context;
  context.accept_fusion =
      codegen::MakeFusionVerdict(config.hardware, config.objective, config.max_instructions);
  context.limits = LimitsOf(config);
  pm->set_context(std::move(context));
  ENGINE_RETURN_IF_ERROR(pm->Run(*graph));
  result.optimizer_report = pm->Report();
  for (const opt::PassRecord& r : pm->records()) {
    result.passes.push_back(
        {r.name, r.changed, r.ms, r.nodes_before, r.nodes_after, r.counters});
  }
  timer.Done("optimize");
  if (config.mark_all_outputs) builder::MarkAllOutputs(*graph);
  if (explicit_q) {
    // A QDQ model is an INT8 engine whatever the precision flags (as in
    // TensorRT, explicit quantization needs no calibrator): --int8 adds
    // nothing (no calibration runs; a calibrator or cache is ignored), and the
    // layers the model does not quantize run in FP32.
    if (config.precision == Precision::kInt8) {
      logger->Log(Severity::kInfo,
                  "explicit quantization (QDQ model): the model's scales are used; INT8 "
                  "calibration is not run");
    }
    // Layer precisions pin layers of a QDQ model too (unlike TensorRT's
    // explicit mode, which ignores them): a pinned layer runs in float on the
    // dequantized weights, between the model's scales.
    ENGINE_ASSIGN_OR_RETURN(auto keep_float, builder::FloatPinnedLayers(*graph, config));
    ENGINE_ASSIGN_OR_RETURN(result.layer_precisions,
                            opt::QuantizeGraphInt8(*graph, explicit_q->scales, keep_float,
                                                   explicit_q->options));
    std::map<std::string, std::string> left(explicit_q->not_folded.begin(),
                                            explicit_q->not_folded.end());
    for (LayerPrecisionInfo& info : result.layer_precisions) {
      auto it = left.find(info.layer);
      if (it != left.end() && info.reason.empty()) {
        info.reason = absl::StrCat("Q/DQ not folded: ", it->second);
      }
      if (!info.reason.empty()) {
        logger->Log(Severity::kInfo, absl::StrCat("explicit quantization: layer '", info.layer,
                                                  "' (", info.type, ") runs in FP32: ",
                                                  info.reason));
      }
    }
    ENGINE_RETURN_IF_ERROR(graph->Verify());
    timer.Done("quantize");
  } else if (config.precision == Precision::kInt8) {
    ENGINE_RETURN_IF_ERROR(
        builder::QuantizeForInt8(*graph, config, known_tensors, logger, result, dyn.int8,
                                 &float16_sqnr));
    ENGINE_RETURN_IF_ERROR(graph->Verify());
    timer.Done("quantize");
  }
  if (dyn.calibrate_only) return absl::OkStatus();
  {
    // fp16 / bf16 layers: the whole engine, the layers INT8 leaves in float,
    // or pinned layers (builder/fp16_phase.h).
    ENGINE_ASSIGN_OR_RETURN(std::optional<Precision> fallback,
                            builder::FloatFallbackPrecision(config));
    bool pins_float16 = false;
    for (const auto& [name, p] : config.layer_precisions) {
      pins_float16 |= p == Precision::kFp16 || p == Precision::kBf16 ||
                      (p == Precision::kFp32 && fallback.has_value());
    }
    if (fallback || pins_float16) {
      const bool float16_guard = config.best && config.accuracy_guard_db > 0 &&
                                 config.precision == Precision::kInt8 && !explicit_q.has_value();
      ENGINE_RETURN_IF_ERROR(builder::ApplyFloatPrecisions(
          *graph, config, fallback, result, float16_guard ? &float16_sqnr : nullptr));
      ENGINE_RETURN_IF_ERROR(graph->Verify());
      timer.Done("float16");
    }
  }
  // A plugin whose kernel cannot be prepared fails here, not at plan load.
  ENGINE_RETURN_IF_ERROR(builder::PreparePluginLayers(*graph));
  // Data-dependent shapes (NonZero, NonMaxSuppression, TopK with a run-time
  // K): every consumer must take the run-time extent (builder/extent_check.h).
  ENGINE_RETURN_IF_ERROR(builder::CheckDataDependentExtents(*graph));
  result.engine_layers = static_cast<int>(graph->nodes().size());
  // Every tensor the passes (fusions, INT8 quantization) left, before the
  // arena and the program are sized from them.
  for (const ir::Value* v : graph->values()) {
    ENGINE_RETURN_IF_ERROR(CheckTensorSize(
        absl::StrCat("tensor '", v->name, "'"), v->shape, v->dtype,
        v->is_constant() ? config.max_constant_bytes : config.max_tensor_bytes,
        v->is_constant() ? "max_constant_bytes" : "max_tensor_bytes"));
  }
  codegen::ResidencyOptions residency_options;
  residency_options.residency = config.onchip_residency;
  residency_options.prefetch = config.cross_layer_prefetch;
  residency_options.layer_groups = config.layer_groups;
  if (!config.group_objective.empty() || config.energy_budget_pj > 0) {
    codegen::GroupObjective group = codegen::ToGroupObjective(config.objective);
    if (!config.group_objective.empty()) {
      ENGINE_ASSIGN_OR_RETURN(group, codegen::ParseGroupObjective(config.group_objective));
    }
    if (!(config.energy_budget_pj >= 0) || !std::isfinite(config.energy_budget_pj)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BuilderConfig::energy_budget_pj is ", config.energy_budget_pj, ", must be >= 0"));
    }
    group.energy_budget_pj = config.energy_budget_pj;
    residency_options.group_objective = group;
  }
  ENGINE_ASSIGN_OR_RETURN(codegen::DeviceCode code,
                          codegen::GenerateDeviceCode(
                              *graph, config.hardware, config.objective, config.max_instructions,
                              residency_options));
  if (config.branch_order) {
    ENGINE_RETURN_IF_ERROR(OrderBranches(*graph, config, residency_options,
                                         dyn.program_only || dyn.keep_shape_subgraphs, logger,
                                         result, code));
  }
  result.layer_group_report = codegen::LayerGroupReport(*graph, code.groups);
  code.arena = codegen::PlanActivationArena(*graph, config.arena_alignment, config.plan_memory);
  if (config.max_arena_bytes > 0 && code.arena.plan.arena_bytes > config.max_arena_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the activation arena needs ", code.arena.plan.arena_bytes,
        " bytes per execution context, above the limit of ", config.max_arena_bytes,
        " bytes (BuilderConfig::max_arena_bytes, --maxArenaBytes or "
        "--memPoolSize=workspace:SIZE; lower bound ",
        code.arena.plan.lower_bound_bytes, " bytes",
        config.plan_memory ? "" : "; memory reuse is off", ")"));
  }
  if (config.precision == Precision::kInt8) {
    provenance.calibrator = result.calibration.from_cache ? "cache" : result.calibration.algorithm;
    provenance.calibration_batches = result.calibration.batches;
    if (!result.calibration.from_cache && config.calibrator != nullptr) {
      provenance.calibration_data = config.calibrator->Describe();
      provenance.preprocess = config.calibrator->Preprocessing();
    }
  }
  code.provenance = std::move(provenance);
  ENGINE_ASSIGN_OR_RETURN(result.plan,
                          codegen::SerializePlan(*graph, code, dyn.shapes, dyn.program_only));
  timer.Done("codegen");
  return absl::OkStatus();
}

}  // namespace

Builder::Builder(Logger* logger) : logger_(logger != nullptr ? logger : &DefaultLogger()) {}

absl::StatusOr<BuildResult> Builder::BuildFromOnnxFile(const std::string& onnx_path,
                                                       const BuilderConfig& config) const {
  ENGINE_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(onnx_path));
  return BuildFromOnnxBytes(bytes, onnx_path, config);
}

absl::StatusOr<BuildResult> Builder::BuildFromOnnxBytes(const std::string& bytes,
                                                        const std::string& name,
                                                        const BuilderConfig& config) const {
  // The last resort under the limits checked before each allocation: no
  // exception leaves the library (a service embedding the builder must not
  // abort on a hostile model).
  try {
    return BuildFromOnnxBytesUnchecked(bytes, name, config);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(
        name, ": out of memory while building (std::bad_alloc); lower the model's sizes or the "
              "BuilderConfig limits (max_tensor_bytes, max_constant_bytes, max_instructions)"));
  } catch (const std::length_error& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat(name, ": a size too large to represent while building (std::length_error: ",
                     e.what(), ")"));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat(name, ": unexpected exception while building: ", e.what()));
  }
}

absl::StatusOr<BuildResult> Builder::BuildFromOnnxBytesUnchecked(
    const std::string& bytes, const std::string& name, const BuilderConfig& config) const {
  ENGINE_RETURN_IF_ERROR(CheckLimits(config));
  ENGINE_RETURN_IF_ERROR(ValidateHardwareConfig(config.hardware));
  const int64_t a = config.arena_alignment;
  if (a < 8 || a > 4096 || (a & (a - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("arena alignment must be a power of two in [8, 4096] bytes, got ", a));
  }
  ENGINE_RETURN_IF_ERROR(LoadPlugins(config.plugins));
  if (!config.profiles.empty()) return BuildDynamic(bytes, name, config);
  BuildResult result;
  PhaseTimer timer(&result.phases);
  parser::ParseOptions options = ParseOptionsOf(config, logger_);
  ENGINE_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> graph,
                          parser::ParseOnnxBytes(bytes, name, options));
  result.onnx_nodes = graph->source_node_count;
  timer.Done("parse");
  std::set<std::string> known_tensors;
  for (const ir::Value* v : graph->values()) known_tensors.insert(v->name);
  absl::Status built = Build(std::move(graph), config, logger_, known_tensors, result, timer,
                             Provenance(bytes, name, config));
  if (!built.ok()) return Annotate(built, name);
  return result;
}

absl::StatusOr<BuildResult> Builder::BuildDynamic(const std::string& bytes,
                                                  const std::string& name,
                                                  const BuilderConfig& config) const {
  ENGINE_RETURN_IF_ERROR(builder::ValidateProfiles(config));
  BuildResult result;
  PhaseTimer timer(&result.phases);
  // INT8: calibrate once, on a fixed-shape graph at the first profile's opt
  // shape (TensorRT's default calibration profile); the calibrator's batches
  // have that shape (batch N = the opt batch). Every later build (each shape
  // bucket, the host graph) quantizes with these scales, and a calibration
  // cache is read or written once, by this build, for the whole plan.
  builder::SharedInt8 int8;
  if (config.precision == Precision::kInt8) {
    BuilderConfig fixed = config;
    fixed.profiles.clear();
    for (const auto& [input, dims] : config.profiles[0].opt) fixed.input_shapes[input] = dims;
    auto graph = parser::ParseOnnxBytes(bytes, name, ParseOptionsOf(fixed, logger_));
    if (!graph.ok()) return Annotate(graph.status(), absl::StrCat(name, ": INT8 calibration build"));
    std::set<std::string> known_tensors;
    for (const ir::Value* v : (*graph)->values()) known_tensors.insert(v->name);
    BuildResult calibration;
    PhaseTimer calibration_timer(&calibration.phases);
    DynamicBuild dyn;
    dyn.int8 = &int8;
    dyn.calibrate_only = true;
    absl::Status s = Build(std::move(*graph), fixed, logger_, known_tensors, calibration,
                           calibration_timer, /*provenance=*/{}, dyn);
    if (!s.ok()) {
      return Annotate(s, absl::StrCat(name, ": INT8 calibration at the opt shape ",
                                      builder::ShapesToString(config.profiles[0].opt)));
    }
    timer.Done("calibrate");
  }
  builder::ShapeMap min_shapes;
  const builder::ShapeMap build_shape = builder::BuildShape(config, &min_shapes);
  parser::ParseOptions options = ParseOptionsOf(config, logger_);
  for (const auto& [input, dims] : build_shape) options.input_shapes[input] = dims;
  options.input_min_shapes = min_shapes;
  options.keep_shape_subgraphs = true;
  ENGINE_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> graph,
                          parser::ParseOnnxBytes(bytes, name, options));
  result.onnx_nodes = graph->source_node_count;
  timer.Done("parse");
  // The accelerator program of each shape bucket: a fixed-shape build at that
  // shape, serialized without constant data.
  codegen::DynamicShapes dynamic;
  for (size_t p = 0; p < config.profiles.size(); ++p) {
    const OptimizationProfile& prof = config.profiles[p];
    std::vector<codegen::ProfileRange> ranges;
    for (const auto& [input, max] : prof.max) {
      ranges.push_back({input, prof.min.at(input), prof.opt.at(input), max});
    }
    dynamic.profiles.push_back(std::move(ranges));
    for (const builder::ShapeMap& shape : builder::BucketShapes(prof, config.shape_buckets)) {
      BuilderConfig fixed = config;
      fixed.profiles.clear();
      for (const auto& [input, dims] : shape) fixed.input_shapes[input] = dims;
      const parser::ParseOptions options = ParseOptionsOf(fixed, logger_);
      auto graph = parser::ParseOnnxBytes(bytes, name, options);
      if (!graph.ok()) {
        return Annotate(graph.status(), absl::StrCat("shape bucket ", builder::ShapesToString(shape)));
      }
      BuildResult bucket;
      PhaseTimer bucket_timer(&bucket.phases);
      DynamicBuild dyn;
      dyn.program_only = true;
      if (int8.calibrated) dyn.int8 = &int8;
      absl::Status s = Build(std::move(*graph), fixed, logger_, {}, bucket, bucket_timer,
                             /*provenance=*/{}, dyn);
      if (!s.ok()) {
        return Annotate(s, absl::StrCat(name, ": shape bucket ", builder::ShapesToString(shape)));
      }
      codegen::ShapeBucketPlan bp;
      bp.profile = static_cast<int>(p);
      bp.shapes.assign(shape.begin(), shape.end());
      bp.plan = std::move(bucket.plan);
      dynamic.buckets.push_back(std::move(bp));
    }
  }
  timer.Done("buckets");
  DynamicBuild dyn;
  dyn.keep_shape_subgraphs = true;
  dyn.shapes = &dynamic;
  if (int8.calibrated) dyn.int8 = &int8;
  absl::Status built =
      Build(std::move(graph), config, logger_, {}, result, timer, Provenance(bytes, name, config), dyn);
  if (!built.ok()) return Annotate(built, name);
  return result;
}

std::vector<std::pair<std::string, std::string>> ListOptimizerPasses() {
  return opt::ListPasses();
}

absl::Status ExportQdqFile(const std::string& onnx_path, const BuildResult& built,
                           const std::string& out_path) {
  ENGINE_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(onnx_path));
  ENGINE_ASSIGN_OR_RETURN(std::string qdq,
                          builder::ExportQdqModel(bytes, onnx_path, built.int8_tensor_scales));
  return WriteFileAtomically(out_path, qdq);
}

absl::Status WritePlanFile(const std::string& path, const std::string& plan) {
  return WriteFileAtomically(path, plan);
}

}  // namespace engine
