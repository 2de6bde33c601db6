// Runtime, Engine and ExecutionContext (public API, include/engine/runtime.h).
#include "engine/runtime.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "executor/engine_impl.h"
#include "hw/instruction_cost.h"
#include "executor/plan_reader.h"

namespace engine {

// ---------------------------------------------------------------- Runtime

absl::StatusOr<std::shared_ptr<const Engine>> Runtime::DeserializeEngine(std::string_view plan,
                                                                        Logger* logger) {
  RuntimeOptions options;
  options.logger = logger;
  return DeserializeEngine(plan, options);
}

absl::StatusOr<std::shared_ptr<const Engine>> Runtime::DeserializeEngine(
    std::string_view plan, const RuntimeOptions& options) {
  ENGINE_ASSIGN_OR_RETURN(std::shared_ptr<const Engine::Impl> impl,
                          exec::ReadPlan(plan, options.max_activation_bytes));
  Logger& log = options.logger != nullptr ? *options.logger : DefaultLogger();
  log.Log(Severity::kVerbose,
          absl::StrCat("loaded engine '", impl->info.model_name, "': ", impl->layers.size(),
                       " layers, ", impl->info.weight_bytes, " weight bytes, plan schema v",
                       impl->info.schema_version, " built by engine ", impl->info.engine_version));
  return std::shared_ptr<const Engine>(new Engine(std::move(impl)));
}

absl::StatusOr<std::shared_ptr<const Engine>> Runtime::LoadEngineFile(const std::string& path,
                                                                     Logger* logger) {
  RuntimeOptions options;
  options.logger = logger;
  return LoadEngineFile(path, options);
}

absl::StatusOr<std::shared_ptr<const Engine>> Runtime::LoadEngineFile(
    const std::string& path, const RuntimeOptions& options) {
  ENGINE_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  auto engine = DeserializeEngine(bytes, options);
  if (!engine.ok()) return Annotate(engine.status(), path);
  return engine;
}

// ---------------------------------------------------------------- Engine

Engine::Engine(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

const std::vector<TensorDesc>& Engine::inputs() const { return impl_->inputs; }
const std::vector<TensorDesc>& Engine::outputs() const { return impl_->outputs; }
const std::vector<LayerInfo>& Engine::layers() const { return impl_->layers; }
const PlanInfo& Engine::plan_info() const { return impl_->info; }
const HardwareConfig& Engine::hardware() const { return impl_->hardware; }
const MemoryPlanInfo& Engine::memory_plan() const { return impl_->memory; }
const DeviceProfile& Engine::device_profile() const { return impl_->device; }

std::vector<DeviceEvent> Engine::DeviceTimeline() const {
  std::vector<DeviceEvent> events;
  events.reserve(impl_->program.size());
  for (size_t i = 0; i < impl_->program.size(); ++i) {
    const hw::Instruction& in = impl_->program[i];
    if (in.opcode == hw::Opcode::kSync) continue;
    const hw::InstructionCost c = hw::CostOf(impl_->hardware, in);
    DeviceEvent e;
    e.track = hw::UnitName(hw::UnitOf(in.opcode));
    e.name = hw::OpcodeName(in.opcode);
    e.layer = static_cast<int>(in.layer);
    e.start_cycle = impl_->simulation.schedule[i].start;
    e.end_cycle = impl_->simulation.schedule[i].end;
    e.bytes = c.dram_read + c.dram_write;
    e.macs = in.opcode == hw::Opcode::kVector ? c.vector_ops : c.macs;
    events.push_back(e);
  }
  return events;
}

absl::Status Engine::CheckHardware(const HardwareConfig& expected) const {
  const std::string json = HardwareConfigToJson(expected);
  if (json == impl_->hardware_json) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the plan was built for hardware '", impl_->hardware.name, "' (",
      HardwareSummary(impl_->hardware), ") but --hw describes '", expected.name, "' (",
      HardwareSummary(expected), "); rebuild the engine for it"));
}

absl::StatusOr<std::unique_ptr<ExecutionContext>> Engine::CreateExecutionContext() const {
  auto ctx = std::make_unique<ExecutionContext::Impl>();
  ctx->engine = impl_;
  const size_t n = impl_->tensors.size();
  ctx->buffers.resize(n);
  ctx->in_ptrs.resize(n, nullptr);
  try {
    ctx->arena = Tensor(DataType::kUint8, {impl_->memory.arena_bytes});
    auto* base = static_cast<std::byte*>(ctx->arena.data());
    for (size_t i = 0; i < n; ++i) {
      const auto& slot = impl_->tensors[i];
      if (slot.constant >= 0) {
        ctx->in_ptrs[i] = impl_->constants[slot.constant].data();
      } else {
        ctx->buffers[i] = Tensor::View(slot.dtype, slot.shape,
                                       slot.bytes > 0 ? base + slot.arena_offset : nullptr);
        ctx->in_ptrs[i] = ctx->buffers[i].data();
      }
    }
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("cannot allocate the execution context's buffers");
  }
  ctx->input_set.assign(impl_->input_index.size(), false);
  auto context = std::unique_ptr<ExecutionContext>(new ExecutionContext(std::move(ctx)));
  ENGINE_RETURN_IF_ERROR(context->SetThreads(ExecutionContext::DefaultThreads()));
  return context;
}

// ---------------------------------------------------------------- ExecutionContext

int ExecutionContext::DefaultThreads() { return exec::ThreadPool::HardwareThreads(); }

absl::Status ExecutionContext::SetThreads(int threads) {
  if (threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("SetThreads: the thread count must be >= 1, got ", threads));
  }
  // A layer runs on the calling thread plus idle workers of the shared pool,
  // so it never has more than workers + 1 threads; size the scratch for that.
  exec::ThreadPool* pool = nullptr;
  int run_threads = 1;
  if (threads > 1 && DefaultThreads() > 1) {
    pool = &exec::ThreadPool::Shared();
    run_threads = std::min(threads, pool->workers() + 1);
  }
  size_t bytes = 0;
  for (const auto& layer : impl_->engine->exec) {
    bytes = std::max(bytes, layer.kernel->ScratchBytes(run_threads));
  }
  if (impl_->scratch.byte_size() != bytes) {
    try {
      impl_->scratch = Tensor(DataType::kUint8, {static_cast<int64_t>(bytes)});
    } catch (const std::bad_alloc&) {
      return absl::ResourceExhaustedError(
          absl::StrCat("SetThreads(", threads, "): cannot allocate ", bytes,
                       " bytes of kernel scratch memory"));
    }
  }
  impl_->threads = threads;
  impl_->run_threads = run_threads;
  impl_->pool = run_threads > 1 ? pool : nullptr;
  return absl::OkStatus();
}

int ExecutionContext::threads() const { return impl_->threads; }

ExecutionContext::ExecutionContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ExecutionContext::~ExecutionContext() = default;

void ExecutionContext::SetProfiler(Profiler* profiler) { impl_->profiler = profiler; }

absl::Status ExecutionContext::SetInput(std::string_view name, const Tensor& value) {
  const Engine::Impl& e = *impl_->engine;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    const TensorDesc& d = e.inputs[i];
    if (d.name != name) continue;
    if (value.dtype() != d.dtype) {
      return absl::InvalidArgumentError(absl::StrCat("input '", d.name, "': expected dtype ",
                                                     DataTypeName(d.dtype), ", got ",
                                                     DataTypeName(value.dtype())));
    }
    if (value.shape() != d.shape) {
      return absl::InvalidArgumentError(absl::StrCat("input '", d.name, "': expected shape ",
                                                     DimsToString(d.shape), ", got ",
                                                     DimsToString(value.shape())));
    }
    Tensor& buf = impl_->buffers[e.input_index[i]];
    if (buf.byte_size() > 0) std::memcpy(buf.data(), value.data(), buf.byte_size());
    impl_->input_set[i] = true;
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (const TensorDesc& d : e.inputs) names.push_back(d.name);
  return absl::NotFoundError(absl::StrCat("no input named '", std::string(name),
                                          "'; the engine's inputs are: ",
                                          absl::StrJoin(names, ", ")));
}

absl::Status ExecutionContext::Execute() {
  const Engine::Impl& e = *impl_->engine;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    if (!impl_->input_set[i]) {
      return absl::FailedPreconditionError(
          absl::StrCat("input '", e.inputs[i].name, "' has not been set"));
    }
  }
  kernels::RunContext rc;
  rc.scratch = static_cast<std::byte*>(impl_->scratch.data());
  rc.scratch_bytes = impl_->scratch.byte_size();
  rc.pool = impl_->pool;
  rc.threads = impl_->run_threads;
  auto& in = impl_->layer_in;
  auto& out = impl_->layer_out;
  for (size_t l = 0; l < e.exec.size(); ++l) {
    const auto& layer = e.exec[l];
    in.clear();
    out.clear();
    for (int idx : layer.inputs) in.push_back(idx < 0 ? nullptr : impl_->in_ptrs[idx]);
    for (int idx : layer.outputs) out.push_back(impl_->buffers[idx].data());
    if (impl_->profiler != nullptr) {
      auto t0 = std::chrono::steady_clock::now();
      layer.kernel->Run(rc, in, out);
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      impl_->profiler->ReportLayerTime(e.layers[l].name, ms);
    } else {
      layer.kernel->Run(rc, in, out);
    }
  }
  impl_->executed = true;
  return absl::OkStatus();
}

absl::StatusOr<const Tensor*> ExecutionContext::GetOutput(std::string_view name) const {
  const Engine::Impl& e = *impl_->engine;
  for (size_t i = 0; i < e.outputs.size(); ++i) {
    if (e.outputs[i].name != name) continue;
    if (!impl_->executed) {
      return absl::FailedPreconditionError(
          absl::StrCat("output '", std::string(name), "' read before Execute()"));
    }
    const int idx = e.output_index[i];
    const auto& slot = e.tensors[idx];
    return slot.constant >= 0 ? &e.constants[slot.constant] : &impl_->buffers[idx];
  }
  std::vector<std::string> names;
  for (const TensorDesc& d : e.outputs) names.push_back(d.name);
  return absl::NotFoundError(absl::StrCat("no output named '", std::string(name),
                                          "'; the engine's outputs are: ",
                                          absl::StrJoin(names, ", ")));
}

absl::StatusOr<std::vector<NamedTensor>> ExecutionContext::Infer(
    const std::vector<NamedTensor>& inputs) {
  for (const NamedTensor& in : inputs) ENGINE_RETURN_IF_ERROR(SetInput(in.name, in.tensor));
  ENGINE_RETURN_IF_ERROR(Execute());
  std::vector<NamedTensor> outputs;
  for (const TensorDesc& d : impl_->engine->outputs) {
    ENGINE_ASSIGN_OR_RETURN(const Tensor* t, GetOutput(d.name));
    outputs.push_back(NamedTensor{d.name, *t});
  }
  return outputs;
}

}  // namespace engine
