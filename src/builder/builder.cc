// engine::Builder: parse -> optimize -> codegen -> plan bytes.
#include "engine/builder.h"

#include <algorithm>
#include <chrono>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codegen/arena.h"
#include "codegen/device_code.h"
#include "codegen/fusion_cost.h"
#include "builder/fp16_phase.h"
#include "builder/int8_phase.h"
#include "codegen/plan_writer.h"
#include "common/file_util.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "optimizer/pass.h"
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

absl::Status Build(std::unique_ptr<ir::Graph> graph, const BuilderConfig& config, Logger* logger,
                   const std::set<std::string>& known_tensors, BuildResult& result,
                   PhaseTimer& timer) {
  ENGINE_ASSIGN_OR_RETURN(std::unique_ptr<opt::PassManager> pm,
                          opt::BuildPipeline(config.opt_level, config.passes));
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
  if (config.precision == Precision::kInt8) {
    ENGINE_RETURN_IF_ERROR(builder::QuantizeForInt8(*graph, config, known_tensors, logger, result));
    ENGINE_RETURN_IF_ERROR(graph->Verify());
    timer.Done("quantize");
  }
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
      ENGINE_RETURN_IF_ERROR(builder::ApplyFloatPrecisions(*graph, config, fallback, result));
      ENGINE_RETURN_IF_ERROR(graph->Verify());
      timer.Done("float16");
    }
  }
  result.engine_layers = static_cast<int>(graph->nodes().size());
  // Every tensor the passes (fusions, INT8 quantization) left, before the
  // arena and the program are sized from them.
  for (const ir::Value* v : graph->values()) {
    ENGINE_RETURN_IF_ERROR(CheckTensorSize(
        absl::StrCat("tensor '", v->name, "'"), v->shape, v->dtype,
        v->is_constant() ? config.max_constant_bytes : config.max_tensor_bytes,
        v->is_constant() ? "max_constant_bytes" : "max_tensor_bytes"));
  }
  ENGINE_ASSIGN_OR_RETURN(codegen::DeviceCode code,
                          codegen::GenerateDeviceCode(*graph, config.hardware, config.objective,
                                                      config.max_instructions));
  code.arena = codegen::PlanActivationArena(*graph, config.arena_alignment, config.plan_memory);
  if (config.max_arena_bytes > 0 && code.arena.plan.arena_bytes > config.max_arena_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the activation arena needs ", code.arena.plan.arena_bytes,
        " bytes per execution context, above the limit of ", config.max_arena_bytes,
        " bytes (BuilderConfig::max_arena_bytes, --maxArenaBytes; lower bound ", code.arena.plan.lower_bound_bytes,
        " bytes", config.plan_memory ? "" : "; memory reuse is off", ")"));
  }
  ENGINE_ASSIGN_OR_RETURN(result.plan, codegen::SerializePlan(*graph, code));
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
  BuildResult result;
  PhaseTimer timer(&result.phases);
  parser::ParseOptions options;
  options.input_shapes = config.input_shapes;
  options.input_values = config.input_values;
  options.target_opset = config.target_opset;
  options.logger = logger_;
  options.limits = LimitsOf(config);
  ENGINE_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> graph,
                          parser::ParseOnnxBytes(bytes, name, options));
  result.onnx_nodes = graph->source_node_count;
  timer.Done("parse");
  std::set<std::string> known_tensors;
  for (const ir::Value* v : graph->values()) known_tensors.insert(v->name);
  absl::Status built = Build(std::move(graph), config, logger_, known_tensors, result, timer);
  if (!built.ok()) return Annotate(built, name);
  return result;
}

std::vector<std::pair<std::string, std::string>> ListOptimizerPasses() {
  return opt::ListPasses();
}

absl::Status WritePlanFile(const std::string& path, const std::string& plan) {
  return WriteFileAtomically(path, plan);
}

}  // namespace engine
