// Runtime, Engine and ExecutionContext (public API, include/engine/runtime.h).
#include "engine/runtime.h"
#include "engine/plugin_registry.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "executor/engine_impl.h"
#include "kernels/data_dependent.h"
#include "hw/instruction_cost.h"
#include "executor/plan_reader.h"
#include "executor/shape_resolver.h"

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

absl::Status Runtime::LoadPlugin(const std::string& path) {
  return engine::LoadPlugin(path).status();
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
const std::vector<OptimizationProfileInfo>& Engine::profiles() const { return impl_->profiles; }
const std::vector<ShapeBucketInfo>& Engine::shape_buckets() const { return impl_->buckets; }

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
  ctx->input_address.assign(impl_->inputs.size(), nullptr);
  ctx->output_address.assign(impl_->outputs.size(), nullptr);
  ctx->copy_out.assign(impl_->outputs.size(), false);
  ctx->extents.assign(impl_->exec.size(), 0);
  ctx->trimmed.resize(impl_->outputs.size());
  for (const TensorDesc& d : impl_->inputs) ctx->input_shapes.push_back(d.shape);
  if (!impl_->profiles.empty()) {
    // The build shape is the largest of every profile: the bucket of the
    // profile whose max it is, else the largest bucket.
    ctx->bucket = impl_->buckets.empty() ? -1 : static_cast<int>(impl_->buckets.size()) - 1;
  }
  auto context = std::unique_ptr<ExecutionContext>(new ExecutionContext(std::move(ctx)));
  ENGINE_RETURN_IF_ERROR(context->SetThreads(ExecutionContext::DefaultThreads()));
  return context;
}

// ---------------------------------------------------------------- ExecutionContext

namespace {

absl::Status Busy(std::string_view call, std::string_view name) {
  return absl::FailedPreconditionError(absl::StrCat(
      std::string(call), name.empty() ? "" : absl::StrCat("('", std::string(name), "')"),
      ": the execution context is busy with another request (one request at a time per "
      "context; wait for the running Execute/Enqueue, or use one context per concurrent request)"));
}

absl::Status NoSuchTensor(const Engine::Impl& e, std::string_view name) {
  std::vector<std::string> ins, outs;
  for (const TensorDesc& d : e.inputs) ins.push_back(d.name);
  for (const TensorDesc& d : e.outputs) outs.push_back(d.name);
  return absl::NotFoundError(absl::StrCat("no input or output named '", std::string(name),
                                          "'; the engine's inputs are: ", absl::StrJoin(ins, ", "),
                                          "; its outputs are: ", absl::StrJoin(outs, ", ")));
}

// The current shape of tensor `idx` (dynamic shapes: the last resolved).
const Dims& ShapeOf(const ExecutionContext::Impl& c, int idx) {
  return c.shapes.empty() ? c.engine->tensors[idx].shape : c.shapes[idx];
}

// Tensor `idx` (an activation) lives in the caller's buffer `data` from now on.
void UseCallerMemory(ExecutionContext::Impl& c, int idx, void* data) {
  const auto& slot = c.engine->tensors[idx];
  c.buffers[idx] = Tensor::View(slot.dtype, ShapeOf(c, idx), data);
  c.in_ptrs[idx] = data;
}

// Tensor `idx` (an activation) lives in the context's arena again.
void UseContextMemory(ExecutionContext::Impl& c, int idx) {
  const auto& slot = c.engine->tensors[idx];
  auto* base = static_cast<std::byte*>(c.arena.data());
  c.buffers[idx] = Tensor::View(slot.dtype, ShapeOf(c, idx),
                                slot.bytes > 0 ? base + slot.arena_offset : nullptr);
  c.in_ptrs[idx] = c.buffers[idx].data();
}

// The kernel of layer `l` for the context's current shapes.
const kernels::Kernel& KernelOf(const ExecutionContext::Impl& c, size_t l) {
  return c.kernels.empty() ? *c.engine->exec[l].kernel : *c.kernels[l];
}

// Largest scratch the current kernels need with `threads` threads.
size_t ScratchFor(const ExecutionContext::Impl& c, int threads) {
  size_t bytes = 0;
  for (size_t l = 0; l < c.engine->exec.size(); ++l) {
    bytes = std::max(bytes, KernelOf(c, l).ScratchBytes(threads));
  }
  return bytes;
}

std::string RangeText(const Engine::Impl& e) {
  std::vector<std::string> profiles;
  for (size_t p = 0; p < e.profiles.size(); ++p) {
    std::vector<std::string> ins;
    for (const ProfileInputInfo& r : e.profiles[p].inputs) {
      ins.push_back(absl::StrCat(r.name, " min ", DimsToString(r.min), " opt ",
                                 DimsToString(r.opt), " max ", DimsToString(r.max)));
    }
    profiles.push_back(absl::StrCat("profile ", p, ": ", absl::StrJoin(ins, ", ")));
  }
  return absl::StrJoin(profiles, "; ");
}

// Whether profile `p` admits `shape` for engine input `i` (an input the
// profile does not name keeps its built shape).
bool Admits(const Engine::Impl& e, size_t p, size_t i, const Dims& shape) {
  for (const ProfileInputInfo& r : e.profiles[p].inputs) {
    if (r.name != e.inputs[i].name) continue;
    if (shape.size() != r.min.size()) return false;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] < r.min[d] || shape[d] > r.max[d]) return false;
    }
    return true;
  }
  return shape == e.inputs[i].shape;
}

// Re-prepares context `c` for its input shapes (the caller holds no request).
absl::Status Resolve(ExecutionContext::Impl& c) {
  const Engine::Impl& e = *c.engine;
  int profile = -1;
  for (size_t p = 0; p < e.profiles.size() && profile < 0; ++p) {
    bool all = true;
    for (size_t i = 0; i < e.inputs.size(); ++i) all = all && Admits(e, p, i, c.input_shapes[i]);
    if (all) profile = static_cast<int>(p);
  }
  if (profile < 0) {
    std::vector<std::string> given;
    for (size_t i = 0; i < e.inputs.size(); ++i) {
      given.push_back(absl::StrCat(e.inputs[i].name, " ", DimsToString(c.input_shapes[i])));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "no optimization profile admits the input shapes (", absl::StrJoin(given, ", "),
        ") together; the engine's profiles: ", RangeText(e)));
  }
  bool at_build_shape = true;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    at_build_shape = at_build_shape && c.input_shapes[i] == e.inputs[i].shape;
  }
  if (at_build_shape) {
    c.kernels.clear();
    c.shapes.clear();
  } else {
    ENGINE_ASSIGN_OR_RETURN(exec::ResolvedShapes r, exec::ResolveShapes(e, c.input_shapes));
    c.kernels = std::move(r.kernels);
    c.shapes = std::move(r.shapes);
  }
  // Views at the new shapes, same offsets (or the caller's bound buffers).
  for (size_t i = 0; i < e.tensors.size(); ++i) {
    if (e.tensors[i].constant >= 0) continue;
    UseContextMemory(c, static_cast<int>(i));
  }
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    if (c.input_address[i] != nullptr) UseCallerMemory(c, e.input_index[i], c.input_address[i]);
  }
  for (size_t o = 0; o < e.outputs.size(); ++o) {
    if (c.output_address[o] != nullptr && !c.copy_out[o]) {
      UseCallerMemory(c, e.output_index[o], c.output_address[o]);
    }
  }
  const size_t scratch = ScratchFor(c, c.run_threads);
  if (scratch > c.scratch.byte_size()) {
    try {
      c.scratch = Tensor(DataType::kUint8, {static_cast<int64_t>(scratch)});
    } catch (const std::bad_alloc&) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate ", scratch, " bytes of kernel scratch memory"));
    }
  }
  // The smallest bucket of the profile covering every input shape.
  c.profile = profile;
  c.bucket = -1;
  for (size_t b = 0; b < e.buckets.size() && c.bucket < 0; ++b) {
    const ShapeBucketInfo& bk = e.buckets[b];
    if (bk.profile != profile) continue;
    bool covers = true;
    for (const auto& [name, dims] : bk.shapes) {
      for (size_t i = 0; i < e.inputs.size(); ++i) {
        if (e.inputs[i].name != name) continue;
        const Dims& s = c.input_shapes[i];
        if (s.size() != dims.size()) covers = false;
        for (size_t d = 0; covers && d < s.size(); ++d) covers = s[d] <= dims[d];
      }
    }
    if (covers) c.bucket = static_cast<int>(b);
  }
  c.shapes_dirty = false;
  return absl::OkStatus();
}

}  // namespace

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
  const size_t bytes = ScratchFor(*impl_, run_threads);
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
    if (value.shape() != impl_->input_shapes[i]) {
      if (e.profiles.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("input '", d.name, "': expected shape ",
                                                       DimsToString(d.shape), ", got ",
                                                       DimsToString(value.shape())));
      }
      ENGINE_RETURN_IF_ERROR(SetInputShape(name, value.shape()));
    }
    if (impl_->busy.load()) return Busy("SetInput", name);
    if (impl_->input_address[i] != nullptr) {  // copy into the context's memory again
      UseContextMemory(*impl_, e.input_index[i]);
      impl_->input_address[i] = nullptr;
    }
    Tensor& buf = impl_->buffers[e.input_index[i]];
    // Dynamic shapes: the view may still have the previous shape; the arena
    // slot holds the largest.
    if (value.byte_size() > 0) std::memcpy(buf.data(), value.data(), value.byte_size());
    impl_->input_set[i] = true;
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (const TensorDesc& d : e.inputs) names.push_back(d.name);
  return absl::NotFoundError(absl::StrCat("no input named '", std::string(name),
                                          "'; the engine's inputs are: ",
                                          absl::StrJoin(names, ", ")));
}

namespace {

// Runs layer `l` (TryRun: a plugin layer may fail); errors name the layer.
absl::Status RunLayer(const Engine::Impl& e, size_t l, const kernels::Kernel& kernel,
                      const kernels::RunContext& rc, std::span<const void* const> in,
                      std::span<void* const> out) {
  absl::Status s = kernel.TryRun(rc, in, out);
  if (s.ok()) return s;
  return Annotate(s, absl::StrCat("layer '", e.layers[l].name, "' (", e.layers[l].type, ")"));
}

// Data-dependent engine outputs (ops/extent.h): each is computed at its
// bound; the valid entries (the first count * scale along its bounded
// dimension) are moved to the front in row-major order (in place: every
// destination lies at or before its source) and `trimmed[o]` views them at
// the actual shape. Errors: Internal when a count exceeds the bound.
absl::Status TrimOutputs(ExecutionContext::Impl& c) {
  const Engine::Impl& e = *c.engine;
  for (size_t o = 0; o < e.outputs.size(); ++o) {
    const int idx = e.output_index[o];
    const Engine::Impl::TensorExtent& x = e.extent[idx];
    if (!x.any()) continue;
    Dims shape = ShapeOf(c, idx);
    const size_t d = static_cast<size_t>(x.dim);
    const int64_t bound = shape[d];
    const int64_t valid = c.extents[static_cast<size_t>(x.symbol)] * x.scale;
    if (valid < 0 || valid > bound) {
      return absl::InternalError(absl::StrCat("output '", e.outputs[o].name, "': extent ", valid,
                                              " outside its bound ", bound));
    }
    int64_t outer = 1, inner = 1;
    for (size_t k = 0; k < d; ++k) outer *= shape[k];
    for (size_t k = d + 1; k < shape.size(); ++k) inner *= shape[k];
    const size_t es = DataTypeSize(e.outputs[o].dtype);
    auto* base = static_cast<std::byte*>(c.buffers[idx].data());
    const size_t row = static_cast<size_t>(valid * inner) * es;
    for (int64_t p = 1; p < outer && row > 0; ++p) {
      std::memmove(base + static_cast<size_t>(p) * row,
                   base + static_cast<size_t>(p * bound * inner) * es, row);
    }
    shape[d] = valid;
    c.trimmed[o] = Tensor::View(e.outputs[o].dtype, std::move(shape), base);
  }
  return absl::OkStatus();
}

// Runs every layer of context `c`; the caller holds c.busy.
absl::Status RunLayers(ExecutionContext::Impl& c) {
  ExecutionContext::Impl* impl_ = &c;
  const Engine::Impl& e = *impl_->engine;
  if (c.shapes_dirty) ENGINE_RETURN_IF_ERROR(Resolve(c));
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
    const kernels::Kernel& kernel = KernelOf(c, l);
    in.clear();
    out.clear();
    for (int idx : layer.inputs) in.push_back(idx < 0 ? nullptr : impl_->in_ptrs[idx]);
    for (int idx : layer.outputs) out.push_back(impl_->buffers[idx].data());
    // A data-dependent layer reports its actual extent (kernels/data_dependent.h).
    kernels::ExtentScope extent_scope(e.extent.empty() ? nullptr : &impl_->extents[l]);
    if (impl_->profiler != nullptr) {
      auto t0 = std::chrono::steady_clock::now();
      ENGINE_RETURN_IF_ERROR(RunLayer(e, l, kernel, rc, in, out));
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      impl_->profiler->ReportLayerTime(e.layers[l].name, ms);
    } else {
      ENGINE_RETURN_IF_ERROR(RunLayer(e, l, kernel, rc, in, out));
    }
    if (!e.extent.empty() && impl_->extents[l] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "layer '", e.layers[l].name, "' (", e.layers[l].type,
          "): a run-time input is out of range, so its data-dependent output has no valid "
          "extent (TopK: K must be in [0, the axis dimension])"));
    }
  }
  if (!e.extent.empty()) ENGINE_RETURN_IF_ERROR(TrimOutputs(c));
  // Bound outputs no layer writes into: copy the constant / input there.
  for (size_t o = 0; o < e.outputs.size(); ++o) {
    if (impl_->output_address[o] == nullptr || !impl_->copy_out[o]) continue;
    const void* src = impl_->in_ptrs[e.output_index[o]];
    const size_t bytes = static_cast<size_t>(NumElements(ShapeOf(c, e.output_index[o]))) *
                         DataTypeSize(e.outputs[o].dtype);
    if (bytes > 0 && src != impl_->output_address[o]) std::memmove(impl_->output_address[o], src, bytes);
  }
  impl_->executed = true;
  return absl::OkStatus();
}

}  // namespace

ExecutionContext::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  cv.notify_all();
  if (worker.joinable()) worker.join();  // runs a pending request first
}

absl::Status ExecutionContext::Execute() {
  bool idle = false;
  if (!impl_->busy.compare_exchange_strong(idle, true)) return Busy("Execute", "");
  absl::Status s = RunLayers(*impl_);
  impl_->busy.store(false);
  return s;
}

absl::Status ExecutionContext::Enqueue(std::function<void(absl::Status)> on_done) {
  if (!on_done) return absl::InvalidArgumentError("Enqueue: the completion callback is empty");
  bool idle = false;
  if (!impl_->busy.compare_exchange_strong(idle, true)) return Busy("Enqueue", "");
  Impl* c = impl_.get();
  try {
    std::lock_guard<std::mutex> lock(c->mu);
    if (!c->worker.joinable()) {
      c->worker = std::thread([c] {
        for (;;) {
          std::function<void()> job;
          {
            std::unique_lock<std::mutex> lock(c->mu);
            c->cv.wait(lock, [c] { return c->stop || c->job != nullptr; });
            if (c->job == nullptr) return;  // stopping, nothing pending
            job = std::move(c->job);
            c->job = nullptr;
          }
          job();
        }
      });
    }
    c->job = [c, on_done = std::move(on_done)] {
      absl::Status s = RunLayers(*c);
      c->busy.store(false);  // idle before on_done: it may enqueue again
      on_done(std::move(s));
    };
  } catch (const std::exception& ex) {  // std::system_error (no thread), std::bad_alloc
    c->busy.store(false);
    return absl::ResourceExhaustedError(
        absl::StrCat("Enqueue: cannot start the context's worker thread: ", ex.what()));
  }
  c->cv.notify_one();
  return absl::OkStatus();
}

std::future<absl::Status> ExecutionContext::Enqueue() {
  auto promise = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> done = promise->get_future();
  absl::Status s = Enqueue([promise](absl::Status st) { promise->set_value(std::move(st)); });
  if (!s.ok()) promise->set_value(std::move(s));
  return done;
}

absl::Status ExecutionContext::SetTensorAddress(std::string_view name, void* data, size_t bytes) {
  const Engine::Impl& e = *impl_->engine;
  int in = -1, out = -1;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    if (e.inputs[i].name == name) in = static_cast<int>(i);
  }
  for (size_t o = 0; o < e.outputs.size(); ++o) {
    if (e.outputs[o].name == name) out = static_cast<int>(o);
  }
  if (in < 0 && out < 0) return NoSuchTensor(e, name);
  if (impl_->busy.load()) return Busy("SetTensorAddress", name);
  const TensorDesc& d = in >= 0 ? e.inputs[in] : e.outputs[out];
  if (data != nullptr) {
    // Dynamic shapes: a buffer for the largest shape serves every shape.
    if (e.profiles.empty() ? bytes != d.ByteSize() : bytes < d.ByteSize()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SetTensorAddress: '", d.name, "' (", DataTypeName(d.dtype), " ", DimsToString(d.shape),
          ") needs a buffer of ", d.ByteSize(), " bytes, got ", bytes));
    }
    const size_t align = std::max<size_t>(1, DataTypeSize(d.dtype));
    if (reinterpret_cast<uintptr_t>(data) % align != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SetTensorAddress: the buffer of '", d.name, "' at ", absl::Hex(reinterpret_cast<uintptr_t>(data)),
          " is not aligned to its element size (", align, " bytes for ", DataTypeName(d.dtype), ")"));
    }
  }
  if (in >= 0) {
    const int idx = e.input_index[in];
    if (data != nullptr) {
      UseCallerMemory(*impl_, idx, data);
      impl_->input_set[in] = true;
    } else if (impl_->input_address[in] != nullptr) {
      UseContextMemory(*impl_, idx);
      impl_->input_set[in] = false;
    }
    impl_->input_address[in] = data;
  }
  if (out >= 0) {
    const int idx = e.output_index[out];
    bool written_by_layer = e.tensors[idx].constant < 0;
    for (int i : e.input_index) written_by_layer = written_by_layer && i != idx;
    if (written_by_layer) {
      if (data != nullptr) {
        UseCallerMemory(*impl_, idx, data);
      } else if (impl_->output_address[out] != nullptr) {
        UseContextMemory(*impl_, idx);
      }
    }
    impl_->copy_out[out] = data != nullptr && !written_by_layer;
    impl_->output_address[out] = data;
  }
  return absl::OkStatus();
}

absl::StatusOr<void*> ExecutionContext::GetTensorAddress(std::string_view name) const {
  const Engine::Impl& e = *impl_->engine;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    if (e.inputs[i].name == name) return impl_->input_address[i];
  }
  for (size_t o = 0; o < e.outputs.size(); ++o) {
    if (e.outputs[o].name == name) return impl_->output_address[o];
  }
  return NoSuchTensor(e, name);
}



absl::StatusOr<const Tensor*> ExecutionContext::GetOutput(std::string_view name) const {
  const Engine::Impl& e = *impl_->engine;
  for (size_t i = 0; i < e.outputs.size(); ++i) {
    if (e.outputs[i].name != name) continue;
    if (impl_->busy.load()) return Busy("GetOutput", name);
    if (!impl_->executed) {
      return absl::FailedPreconditionError(
          absl::StrCat("output '", std::string(name), "' read before Execute()"));
    }
    const int idx = e.output_index[i];
    const auto& slot = e.tensors[idx];
    if (!e.extent.empty() && e.extent[idx].any()) return &impl_->trimmed[i];
    return slot.constant >= 0 ? &e.constants[slot.constant] : &impl_->buffers[idx];
  }
  std::vector<std::string> names;
  for (const TensorDesc& d : e.outputs) names.push_back(d.name);
  return absl::NotFoundError(absl::StrCat("no output named '", std::string(name),
                                          "'; the engine's outputs are: ",
                                          absl::StrJoin(names, ", ")));
}

absl::Status ExecutionContext::SetInputShape(std::string_view name, const Dims& shape) {
  const Engine::Impl& e = *impl_->engine;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    if (e.inputs[i].name != name) continue;
    if (impl_->busy.load()) return Busy("SetInputShape", name);
    bool admitted = e.profiles.empty() && shape == e.inputs[i].shape;
    for (size_t p = 0; p < e.profiles.size() && !admitted; ++p) admitted = Admits(e, p, i, shape);
    if (!admitted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SetInputShape: input '", e.inputs[i].name, "' shape ", DimsToString(shape),
          e.profiles.empty()
              ? absl::StrCat(" differs from the engine's fixed shape ",
                             DimsToString(e.inputs[i].shape),
                             " (the engine has no optimization profiles; rebuild it with "
                             "--minShapes/--optShapes/--maxShapes)")
              : absl::StrCat(" is outside every optimization profile (", RangeText(e), ")")));
    }
    if (impl_->input_shapes[i] != shape) {
      impl_->input_shapes[i] = shape;
      impl_->shapes_dirty = true;
    }
    return absl::OkStatus();
  }
  return NoSuchTensor(e, name);
}

absl::Status ExecutionContext::InferShapes() {
  if (impl_->busy.load()) return Busy("InferShapes", "");
  if (!impl_->shapes_dirty) return absl::OkStatus();
  return Resolve(*impl_);
}

absl::StatusOr<Dims> ExecutionContext::GetTensorShape(std::string_view name) {
  const Engine::Impl& e = *impl_->engine;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    if (e.inputs[i].name == name) return impl_->input_shapes[i];
  }
  for (size_t o = 0; o < e.outputs.size(); ++o) {
    if (e.outputs[o].name != name) continue;
    ENGINE_RETURN_IF_ERROR(InferShapes());
    // A data-dependent output: its actual shape after Execute(), its upper
    // bound before.
    const int idx = e.output_index[o];
    if (impl_->executed && !e.extent.empty() && e.extent[idx].any()) {
      return impl_->trimmed[o].shape();
    }
    return ShapeOf(*impl_, idx);
  }
  return NoSuchTensor(e, name);
}

const DeviceProfile& ExecutionContext::device_profile(int* bucket) const {
  const Engine::Impl& e = *impl_->engine;
  if (bucket != nullptr) *bucket = impl_->bucket;
  if (impl_->bucket >= 0) return e.buckets[impl_->bucket].device;
  return e.device;
}

int ExecutionContext::active_profile() const { return impl_->profile; }

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
