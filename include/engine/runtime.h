// The runtime side of the API: load a plan into an immutable Engine, create
// one ExecutionContext per thread, bind inputs and outputs by name, execute.
//
//   auto engine = engine::Runtime::LoadEngineFile("m.plan");      // once
//   auto ctx = (*engine)->CreateExecutionContext();               // per thread
//   (*ctx)->SetInput("data", input_tensor);
//   (*ctx)->Execute();
//   const engine::Tensor* out = *(*ctx)->GetOutput("prob");
#ifndef ENGINE_RUNTIME_H_
#define ENGINE_RUNTIME_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/export.h"
#include "engine/hardware.h"
#include "engine/logger.h"
#include "engine/tensor.h"
#include "engine/tensor_io.h"
#include "engine/types.h"

namespace engine {

/// Identity of a plan: versions and sizes, as stored in its header.
struct PlanInfo {
  uint32_t schema_version = 0;  ///< plan schema version (src/common/plan.fbs)
  std::string engine_version;   ///< version of the engine that built the plan
  std::string model_name;       ///< ONNX graph name
  uint64_t plan_bytes = 0;      ///< size of the serialized plan, bytes
  uint64_t weight_bytes = 0;    ///< total size of constant tensors, bytes
  std::string objective;        ///< builder objective: "latency", "energy" or "edp"
  uint64_t instructions = 0;    ///< length of the accelerator program
  /// CRC-32 (zlib) of the plan's payload, checked at load: the engine itself
  /// (layers, weights, program, arena) without the provenance below. Two
  /// plans of the same engine have the same payload_crc32 even when one was
  /// calibrated and the other rebuilt from its calibration cache, or built
  /// from bytes instead of a path.
  uint32_t payload_crc32 = 0;
  // Provenance, as the builder recorded it in the plan header (empty / -1 in plans that predate
  // it): reports show it and `compare` checks it.
  std::string source_model;      ///< file name of the source model
  std::string source_hash;       ///< FNV-1a 64 of the source ONNX bytes, 16 hex digits
  std::string precision;         ///< requested precision: "fp32", "int8", ...
  std::string calibrator;        ///< "entropy", "minmax", "percentile", "cache" or ""
  std::string calibration_data;  ///< Calibrator::Describe() of the calibration set
  int64_t calibration_batches = 0;
  std::string preprocess;        ///< input preprocessing of the calibration data ("" unknown)
  int opt_level = -1;            ///< optimizer level (-1 unknown)
};

/// Where one non-constant tensor lives in an execution context's arena.
struct TensorPlacement {
  std::string name;
  int64_t offset = 0;  ///< bytes from the arena's start
  int64_t bytes = 0;
  int first_layer = 0;  ///< first layer that writes or reads it (graph inputs: 0)
  int last_layer = 0;   ///< last layer that reads it (graph inputs and outputs: the layer count)
};

/// The activation memory plan stored in the plan (see
/// BuilderConfig::plan_memory). Each execution context allocates
/// `arena_bytes` once; tensors whose lifetimes do not overlap share bytes.
struct MemoryPlanInfo {
  int64_t arena_bytes = 0;        ///< the arena one context allocates, bytes
  int64_t no_reuse_bytes = 0;     ///< sum of all activation tensors (no sharing), bytes
  int64_t lower_bound_bytes = 0;  ///< largest total live at one step, bytes
  int64_t alignment = 64;         ///< every offset is a multiple of it, bytes
  std::string strategy;           ///< placement order that won, or "no-reuse"
  std::vector<TensorPlacement> tensors;  ///< every non-constant tensor, by offset
};

/// A tactic the builder considered for a layer and rejected, with its cost
/// when simulated alone.
struct RejectedTactic {
  std::string tactic;  ///< "array-ws", "array-os", "array-is", "vector", ...
  std::string tiling;  ///< e.g. "os m,p,k g1 k576 m64 p196"
  int64_t cycles = 0;
  double energy_pj = 0;
};

/// Modeled figures of one layer for one inference on the accelerator.
/// Cycles are at HardwareConfig::clock_mhz. Roofline after Williams et al.
/// (CACM 2009): compute bound = ceil(MACs / (R x C)) for array layers, ceil(ops
/// / (lanes x ops per cycle)) for vector layers; memory bound = ceil(every
/// input, weight and output byte once / DRAM bytes per cycle).
struct LayerDeviceProfile {
  std::string name;       ///< layer name; a fused layer joins its ONNX node names with " + "
  std::string type;       ///< layer type
  std::string unit;       ///< "array", "vector", "dma" or "view" (no device work)
  std::string tactic;     ///< chosen tactic: "array-ws", "array-os", "array-is", "vector", "dma", "view"
  std::string dataflow;   ///< "ws", "os", "is" for array layers, "" otherwise
  std::string tiling;     ///< chosen tile sizes and loop order
  std::string precision;  ///< "fp32", "int8", ...
  int64_t start_cycle = 0;     ///< when the layer starts in the inference
  int64_t cycles = 0;          ///< layer latency: start to last completion
  /// Cycles the layer's main unit (array or vector) computes; a composite
  /// layer (pieces run in turn): array + vector busy cycles.
  int64_t compute_cycles = 0;
  int64_t stall_cycles = 0;    ///< cycles - compute_cycles: waiting on memory, fill and drain
  double time_ms = 0;          ///< cycles at the clock, milliseconds
  /// Busy fraction of the layer's unit: MACs / (cycles x R x C) for the array,
  /// ops / (cycles x lanes x ops per cycle) for the vector unit; a composite
  /// layer: the array's when it has array pieces, else the vector unit's; 0
  /// otherwise (views, DMA).
  double utilization = 0;
  /// Array layers: useful PE slots / occupied PE slots over all folds
  /// (SCALE-Sim's mapping efficiency); 0 otherwise.
  double mapping_efficiency = 0;
  int64_t macs = 0;
  int64_t vector_ops = 0;
  int64_t dram_bytes_read = 0, dram_bytes_written = 0;
  int64_t sram_bytes_read = 0, sram_bytes_written = 0;  ///< scratchpad and weight buffer
  int64_t acc_bytes_read = 0, acc_bytes_written = 0;    ///< accumulator
  double energy_compute_pj = 0, energy_sram_pj = 0, energy_dram_pj = 0;
  int64_t roofline_compute_cycles = 0;
  int64_t roofline_memory_cycles = 0;
  /// cycles / max(roofline_compute_cycles, roofline_memory_cycles); 0 when
  /// both bounds are 0 (views).
  double roofline_ratio = 0;
  /// "compute" or "memory": the larger bound; "-" for views.
  std::string bound;
  int64_t estimated_cycles = 0;  ///< the builder's analytical estimate
  int instructions = 0;
  std::vector<RejectedTactic> rejected;
  /// Residency (docs/accelerator_model.md, "Residency and prefetch"): where
  /// the layer's inputs, outputs and weights lived: "dram", "scratchpad"
  /// (kept on chip between layers), "dram+scratchpad" when both, "-" when it
  /// has none. Weights always stream from DRAM: "dram" (into the weight
  /// buffer or scratchpad, named by `hardware`).
  std::string input_location;
  std::string output_location;
  std::string weight_location;
  /// DRAM bytes the layer did not move because its tensors were resident:
  /// its on-chip loads and stores (kFlagResident), bytes.
  int64_t residency_bytes_saved = 0;
  /// Loads that started during the previous layer (kFlagPrefetch).
  int prefetched_loads = 0;
  /// Why the layer is above its physical limit (issue 21), from the program:
  /// its cycles simulated with memory=ideal (a group member: its share of
  /// the group's, as `cycles`); the LOAD_WEIGHT bytes it moves, reloads
  /// included, and each weight tile once; the bytes of activation tensors
  /// it reads or writes through DRAM (not resident; engine inputs and
  /// outputs excluded): bytes moved, so a tile read again counts again; its
  /// compulsory DRAM bytes (weight tiles
  /// loaded for the first time in the program, and the bytes it moves of
  /// engine inputs and outputs, at most each tensor's size).
  int64_t ideal_compute_cycles = 0;
  int64_t weight_bytes_loaded = 0;
  int64_t weight_bytes_unique = 0;
  int64_t spilled_input_bytes = 0;
  int64_t spilled_output_bytes = 0;
  int64_t compulsory_dram_bytes = 0;
  /// The owner layer (index) of the layer group it belongs to (the owner
  /// itself included), or -1.
  int group_owner = -1;

  double energy_pj() const { return energy_compute_pj + energy_sram_pj + energy_dram_pj; }
};

/// Modeled figures of one inference. The model is deterministic for a plan,
/// so these are the same for every inference; they are simulated once, when
/// the engine is loaded.
struct DeviceProfile {
  std::string hardware;         ///< HardwareSummary of the target
  double clock_mhz = 0;
  int64_t total_cycles = 0;     ///< whole inference, cycles (layers run back to back)
  double latency_ms = 0;        ///< total_cycles at the clock
  double throughput_qps = 0;    ///< 1000 / latency_ms (one inference at a time)
  double energy_compute_pj = 0, energy_sram_pj = 0, energy_dram_pj = 0;
  int64_t macs = 0;
  int64_t dram_bytes_read = 0, dram_bytes_written = 0;
  /// MACs / (total_cycles x R x C).
  double utilization = 0;
  /// Sum over layers of max(compute bound, memory bound), cycles, and
  /// total_cycles divided by it.
  int64_t roofline_cycles = 0;
  double roofline_ratio = 0;
  std::vector<LayerDeviceProfile> layers;  ///< in execution order
  /// The whole network's physical limit: max(ideal_compute_cycles,
  /// compulsory_dram_bytes / DRAM bytes per cycle), cycles, and
  /// total_cycles / it. ideal_compute_cycles: the same program simulated with
  /// memory=ideal (DMA free, only compute and its dependencies);
  /// compulsory_dram_bytes: every weight byte the program loads (LOAD_WEIGHT, and the vector
  /// unit's LOAD_INPUTs of constants, tensors no instruction stores), the engine
  /// inputs and outputs, each once.
  int64_t ideal_compute_cycles = 0;
  int64_t compulsory_dram_bytes = 0;
  int64_t physical_limit_cycles = 0;
  double physical_limit_ratio = 0;
  /// DRAM bytes not moved thanks to residency (sum over layers).
  int64_t residency_bytes_saved = 0;
  /// Highest on-chip byte the program touches, per buffer (bytes), and its
  /// fraction of the capacity (occupancy ratio).
  int64_t scratchpad_peak_bytes = 0, weight_buffer_peak_bytes = 0, accumulator_peak_bytes = 0;
  double scratchpad_occupancy = 0, weight_buffer_occupancy = 0, accumulator_occupancy = 0;

  double energy_pj() const { return energy_compute_pj + energy_sram_pj + energy_dram_pj; }
};

/// One instruction on the modeled timeline (for Chrome trace / Perfetto).
struct DeviceEvent {
  const char* track = "";  ///< "DMA load", "DMA store", "Systolic array", "Vector unit"
  const char* name = "";   ///< opcode: "LOAD_INPUT", "LOAD_WEIGHT", "MATMUL", "VECTOR", "STORE"
  int layer = 0;           ///< engine layer index
  int64_t start_cycle = 0;
  int64_t end_cycle = 0;   ///< completion (DMA: including DRAM latency)
  int64_t bytes = 0;       ///< DMA bytes (0 for compute)
  int64_t macs = 0;        ///< MATMUL MACs, VECTOR ops
};

/// One layer of an engine, in execution order.
struct LayerInfo {
  std::string name;                    ///< engine layer name; a fused layer joins
                                       ///< its ONNX node names with " + "
  std::string type;                    ///< layer type ("Conv", "Gemm", ...)
  std::vector<std::string> onnx_nodes; ///< ONNX node names the layer covers
  std::vector<std::string> inputs;     ///< input tensor names
  std::vector<std::string> outputs;    ///< output tensor names
};

/// Receives per-layer host timings from ExecutionContext::Execute when set
/// (as TensorRT's IProfiler). Called on the executing thread, once per layer
/// in execution order; `host_ms` is the host wall-clock time of the layer in
/// milliseconds.
class ENGINE_API Profiler {
 public:
  virtual ~Profiler() = default;
  virtual void ReportLayerTime(std::string_view layer_name, double host_ms) = 0;
};

/// One input's range in an optimization profile of a dynamic-shape engine
/// (BuilderConfig::profiles): every run-time shape s satisfies min <= s <= max
/// element by element; `opt` is the shape the builder tuned for.
struct ProfileInputInfo {
  std::string name;
  Dims min, opt, max;
};

/// One optimization profile: the ranges of the inputs with dynamic dimensions
/// (the other inputs keep their static shape).
struct OptimizationProfileInfo {
  std::vector<ProfileInputInfo> inputs;
};

/// A shape bucket of a dynamic engine: the input shapes its accelerator
/// program was compiled for (docs/dynamic_shapes.md).
struct ShapeBucketInfo {
  int profile = 0;
  std::vector<std::pair<std::string, Dims>> shapes;  ///< by input name
  /// Modeled device profile of the bucket's program (the program simulated
  /// on the hardware model).
  DeviceProfile device;
};

class ExecutionContext;

/// A loaded, verified, immutable engine. Thread-safe: share one Engine (via
/// shared_ptr) across threads and give each thread its own ExecutionContext.
class ENGINE_API Engine {
 public:
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Engine inputs and outputs, in the order of the ONNX graph.
  const std::vector<TensorDesc>& inputs() const;
  const std::vector<TensorDesc>& outputs() const;
  /// Layers in execution order.
  const std::vector<LayerInfo>& layers() const;
  const PlanInfo& plan_info() const;

  /// The accelerator the engine was built for.
  const HardwareConfig& hardware() const;

  /// The activation arena layout every execution context uses.
  const MemoryPlanInfo& memory_plan() const;

  /// Modeled per-layer and total device figures of one inference.
  const DeviceProfile& device_profile() const;

  /// Every instruction of one inference on the modeled timeline, in program
  /// order (SYNC fences omitted). O(program length); build it when needed.
  std::vector<DeviceEvent> DeviceTimeline() const;

  /// Dynamic-shape engines: the optimization profiles (empty for a
  /// fixed-shape engine) and the shape buckets of the accelerator program,
  /// smallest first within each profile. inputs()/outputs() give the shapes
  /// at the profiles' largest shapes (the build shape, which a new context
  /// starts at).
  const std::vector<OptimizationProfileInfo>& profiles() const;
  const std::vector<ShapeBucketInfo>& shape_buckets() const;
  bool has_dynamic_shapes() const { return !profiles().empty(); }

  /// OK when `expected` describes the same hardware the plan was built for
  /// (equal canonical JSON); FailedPrecondition naming both otherwise. Use it
  /// when a user loads a plan and also names a --hw.
  absl::Status CheckHardware(const HardwareConfig& expected) const;

  /// Creates an execution context with its own activation arena
  /// (memory_plan().arena_bytes, allocated once here; Execute() does not
  /// allocate it again) and scratch memory for its host kernels. It uses
  /// ExecutionContext::DefaultThreads() threads per layer until
  /// ExecutionContext::SetThreads says otherwise. The context keeps the
  /// engine alive.
  /// Errors: ResourceExhausted when the arena cannot be allocated.
  absl::StatusOr<std::unique_ptr<ExecutionContext>> CreateExecutionContext() const;

  struct Impl;  // defined in src/executor

 private:
  friend class Runtime;
  explicit Engine(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

/// Per-thread state for running an engine: owns the activation memory and the
/// output tensors. Steady-state Execute() calls do not reallocate.
///
/// Thread-safety: a context runs one request at a time. Use one context per
/// concurrent request (several contexts of one Engine may run at once, on any
/// threads). Execute() and Enqueue() on a context that is already running a
/// request (an Enqueue not yet completed, or an Execute on another thread)
/// fail with FailedPrecondition ("busy") instead of racing; the other calls
/// (SetInput, SetTensorAddress, GetOutput, SetThreads, SetProfiler) must not
/// be made while a request runs (SetInput, SetTensorAddress and GetOutput
/// check it and fail with FailedPrecondition too).
///
/// Zero-copy I/O (TensorRT's setTensorAddress): SetTensorAddress binds a
/// caller-owned buffer to an input or output; Execute() and Enqueue() then
/// read that input from it and write that output into it, with no copy.
///
/// Host execution is multi-threaded within each layer (intra-op parallelism,
/// see SetThreads). The worker threads belong to one pool shared by every
/// context of the process, so several contexts executing at once do not
/// oversubscribe the cores.
class ENGINE_API ExecutionContext {
 public:
  ~ExecutionContext();
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  /// The default thread count of a new context: the hardware threads this
  /// process may run on (its CPU affinity mask), at least 1.
  static int DefaultThreads();

  /// Sets how many threads Execute() may use per layer, the calling thread
  /// included: the calling thread plus up to `threads` - 1 workers of the
  /// process-wide pool (DefaultThreads() - 1 workers, started on first use).
  /// A layer takes only workers that are idle at that moment and does the
  /// rest of its work itself, so contexts executing at once share the workers
  /// instead of oversubscribing the cores; values above DefaultThreads()
  /// behave as DefaultThreads(). 1 runs everything on the calling thread.
  /// Outputs are bit-identical for every thread count. Resizes the context's
  /// kernel scratch memory (one GEMM workspace per thread) here, so
  /// steady-state Execute() calls still do not allocate. Not to be called
  /// during Execute(). Default: DefaultThreads().
  /// Errors: InvalidArgument when `threads` < 1; ResourceExhausted when the
  /// scratch memory cannot be allocated (the previous setting stays).
  absl::Status SetThreads(int threads);

  /// The thread count last set (DefaultThreads() until SetThreads succeeds).
  int threads() const;

  /// Copies `value` into the input named `name`.
  /// Errors: NotFound (no such input; the message lists the engine's inputs),
  /// InvalidArgument (dtype or shape differs from the engine's TensorDesc;
  /// both are named in the message). In a dynamic-shape engine a shape that
  /// differs from the input's current one calls SetInputShape first (same
  /// errors).
  absl::Status SetInput(std::string_view name, const Tensor& value);

  /// Dynamic-shape engines (TensorRT's IExecutionContext::setInputShape):
  /// selects the run-time shape of input `name`. Checked here against the
  /// ranges of every optimization profile (InvalidArgument naming the input,
  /// the shape and every profile's range when no profile admits it; a static
  /// input must keep its shape). The layers are re-prepared for the new
  /// shapes (shape inference through every layer, the shape subgraphs
  /// evaluated, host kernels prepared again) by the next InferShapes(),
  /// GetTensorShape() or Execute(): set every input's shape first. Those
  /// re-preparations allocate (kernel tables); Execute() at unchanged shapes
  /// never does, and the activation arena, sized for the profiles' largest
  /// shapes, is never reallocated.
  /// Errors: NotFound (no such input), InvalidArgument (above),
  /// FailedPrecondition (a request is running).
  absl::Status SetInputShape(std::string_view name, const Dims& shape);

  /// Resolves the shapes set by SetInputShape now: picks the first profile
  /// that admits every input shape, infers every tensor's shape, prepares the
  /// host kernels, selects the shape bucket of the device profile.
  /// Errors: InvalidArgument (no profile admits the combination of input
  /// shapes, naming the ranges; inconsistent shapes between inputs, naming
  /// the layer), ResourceExhausted (a tensor larger than its arena slot).
  absl::Status InferShapes();

  /// The current shape of input or output `name` (outputs: inferred from the
  /// input shapes, resolving them first as InferShapes()). Errors: NotFound,
  /// and those of InferShapes().
  absl::StatusOr<Dims> GetTensorShape(std::string_view name);

  /// The modeled device profile for the current input shapes: for a
  /// dynamic-shape engine, that of the smallest shape bucket of the active
  /// profile covering every input shape (the program compiled for that
  /// bucket, which processes the input padded to the bucket's shape); for a
  /// fixed-shape engine, Engine::device_profile(). `bucket` receives the
  /// bucket's index in Engine::shape_buckets() (-1 for a fixed-shape engine).
  const DeviceProfile& device_profile(int* bucket = nullptr) const;

  /// The active optimization profile (0 for a fixed-shape engine).
  int active_profile() const;

  /// Binds the caller-owned buffer `data` of `bytes` bytes to the engine input
  /// or output named `name` (TensorRT's IExecutionContext::setTensorAddress).
  /// The buffer holds the tensor densely, row-major, in the engine's dtype and
  /// shape (inputs()/outputs()); `bytes` must be exactly its TensorDesc's
  /// ByteSize() and `data` aligned to the element size (64 bytes is best).
  /// Execute() and Enqueue() then read a bound input from `data` (never
  /// writing it) and write a bound output into `data`, with no copy; layers
  /// after the one that writes a bound output read it there too. The caller
  /// keeps the buffer alive and does not touch it while a request runs. The
  /// binding stays until changed: a bound input counts as set; SetInput on it
  /// copies into the context's own memory again and unbinds it. `data` ==
  /// nullptr (with any `bytes`) unbinds: an input becomes unset, an output is
  /// written to the context's memory again. An output no layer writes (a
  /// constant, or an engine input passed through) is copied into `data` at
  /// the end of each execution.
  /// Errors: NotFound (no such input or output; the message lists them),
  /// InvalidArgument (`bytes` differs from the tensor's size, or `data` is
  /// misaligned; both named), FailedPrecondition (a request is running).
  absl::Status SetTensorAddress(std::string_view name, void* data, size_t bytes);

  /// The buffer bound to input or output `name` by SetTensorAddress, or
  /// nullptr when none is. Errors: NotFound (no such input or output).
  absl::StatusOr<void*> GetTensorAddress(std::string_view name) const;

  /// Runs all layers synchronously on the calling thread (plus the intra-op
  /// workers), reading the inputs from SetInput copies or bound buffers and
  /// writing outputs to the context's memory or to bound buffers. Errors:
  /// FailedPrecondition when an input has been neither set nor bound (naming
  /// it) or when the context is busy with another request.
  absl::Status Execute();

  /// Asynchronous Execute(): returns at once and runs the request on the
  /// context's own worker thread (started on the first Enqueue, joined by the
  /// destructor, which waits for a running request). The future becomes
  /// ready with Execute()'s status when the outputs are written; after that
  /// the context accepts the next request. A context that is already busy
  /// gives a future that is ready at once with FailedPrecondition ("busy"),
  /// and the running request is not disturbed. Inputs and bound buffers must
  /// stay unchanged until the future is ready.
  std::future<absl::Status> Enqueue();

  /// As Enqueue(), calling `on_done` with Execute()'s status on the context's
  /// worker thread when the request completes (the context is idle again by
  /// then, so `on_done` may enqueue the next request). Returns
  /// FailedPrecondition at once, without calling `on_done`, when the context
  /// is busy; InvalidArgument when `on_done` is empty.
  absl::Status Enqueue(std::function<void(absl::Status)> on_done);

  /// The output named `name` after the last Execute(); the pointer stays valid
  /// until the next Execute() or the context's destruction (for a bound
  /// output, a view of the bound buffer, or the context's tensor whose bytes
  /// Execute() copied there when no layer writes that output).
  /// Errors: NotFound (no such output), FailedPrecondition (not executed yet,
  /// or a request is running).
  absl::StatusOr<const Tensor*> GetOutput(std::string_view name) const;

  /// Convenience: sets every input in `inputs` (by name), executes and returns
  /// copies of all outputs in engine order. Same errors as the calls above.
  absl::StatusOr<std::vector<NamedTensor>> Infer(const std::vector<NamedTensor>& inputs);

  /// Sets or clears (nullptr) the per-layer profiler. `profiler` must outlive
  /// its use by this context. It is called on the thread that executes: the
  /// caller of Execute(), the context's worker thread for Enqueue().
  void SetProfiler(Profiler* profiler);

  struct Impl;  // defined in src/executor

 private:
  friend class Engine;
  explicit ExecutionContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// What a plan may ask of this host when it loads. A plan declares the shape
/// of every activation tensor; loading prepares each layer's kernel (index
/// tables, packed weights) in proportion to those shapes, and every
/// execution context allocates the activation arena. A corrupt or hostile
/// plan that declares more than the host can hold is refused at load with
/// ResourceExhausted, instead of exhausting memory later.
struct RuntimeOptions {
  Logger* logger = nullptr;  ///< nullptr: the default logger
  /// Largest activation tensor (engine input, output or intermediate) and
  /// largest activation arena a plan may declare, bytes. 0: the host's
  /// physical memory (sysconf _SC_PHYS_PAGES x _SC_PAGE_SIZE). A service
  /// loading untrusted plans sets its own budget.
  int64_t max_activation_bytes = 0;
};

/// Deserializes plans into engines.
class ENGINE_API Runtime {
 public:
  /// Verifies and loads a plan held in memory (the bytes are copied; the
  /// caller may free them afterwards).
  /// Errors: InvalidArgument (not a plan: wrong magic or unreadable header),
  /// FailedPrecondition (plan schema version not accepted; the message gives
  /// the accepted range), DataLoss (truncated or corrupt: checksum or
  /// FlatBuffers verification failure, inconsistent tensor sizes, an invalid
  /// hardware description or program), Unimplemented (a layer type this
  /// runtime does not know).
  /// ResourceExhausted when an activation tensor or the arena is larger than
  /// RuntimeOptions::max_activation_bytes (default: the host's physical
  /// memory), naming the tensor.
  static absl::StatusOr<std::shared_ptr<const Engine>> DeserializeEngine(
      std::string_view plan, Logger* logger = nullptr);
  /// As above, with the load limits of `options`.
  static absl::StatusOr<std::shared_ptr<const Engine>> DeserializeEngine(
      std::string_view plan, const RuntimeOptions& options);

  /// Reads the file at `path` and deserializes it. Errors: NotFound when the
  /// file cannot be opened, otherwise as DeserializeEngine, with the path in
  /// the message.
  static absl::StatusOr<std::shared_ptr<const Engine>> LoadEngineFile(
      const std::string& path, Logger* logger = nullptr);
  /// As above, with the load limits of `options`.
  static absl::StatusOr<std::shared_ptr<const Engine>> LoadEngineFile(
      const std::string& path, const RuntimeOptions& options);

  /// Loads the plugin library at `path` into the process-wide plugin registry
  /// (engine::LoadPlugin, plugin_registry.h), so that plans using its ops can
  /// be deserialized. Errors: those of LoadPlugin.
  static absl::Status LoadPlugin(const std::string& path);
};

}  // namespace engine

#endif  // ENGINE_RUNTIME_H_
