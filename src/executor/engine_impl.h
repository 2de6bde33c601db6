// In-memory form of a loaded engine and of an execution context.
#ifndef ENGINE_EXECUTOR_ENGINE_IMPL_H_
#define ENGINE_EXECUTOR_ENGINE_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/runtime.h"
#include "kernels/kernel.h"
#include "kernels/thread_pool.h"
#include "hw/program.h"
#include "hw/simulator.h"

namespace engine {

/// Immutable after ReadPlan; shared by every context of the engine.
struct Engine::Impl {
  struct TensorSlot {
    std::string name;
    DataType dtype = DataType::kUndefined;
    Dims shape;
    size_t bytes = 0;
    /// Index into `constants`, or -1 for activations/inputs.
    int constant = -1;
    /// Offset in the activation arena (non-constants), bytes.
    int64_t arena_offset = -1;
  };
  struct LayerExec {
    std::unique_ptr<kernels::Kernel> kernel;
    std::vector<int> inputs;   ///< tensor indices, -1 = absent optional
    std::vector<int> outputs;  ///< tensor indices
    // Dynamic-shape engines re-prepare layers per context (shape_resolver.h).
    // A copy: fp16/bf16 layers' definition is a wrapper made per layer
    // (ops::HostKernelDef), not the registry's record.
    std::optional<kernels::KernelDef> def;
    Attributes attrs;
    /// A shape-subgraph layer (Shape/Size, or integer work on shape values
    /// and constants): evaluated while shapes are resolved, so that its
    /// values reach the shape functions of later layers (Reshape's target).
    bool shape_valued = false;
  };

  std::vector<TensorDesc> inputs;
  std::vector<TensorDesc> outputs;
  std::vector<LayerInfo> layers;
  PlanInfo info;

  std::vector<TensorSlot> tensors;
  std::vector<Tensor> constants;
  std::vector<LayerExec> exec;
  std::vector<int> input_index;   ///< tensor index of each engine input
  std::vector<int> output_index;  ///< tensor index of each engine output

  // The accelerator side: target, program, and its simulated schedule.
  HardwareConfig hardware;
  std::string hardware_json;      ///< canonical JSON as stored in the plan
  hw::Program program;
  hw::SimulationResult simulation;
  DeviceProfile device;
  MemoryPlanInfo memory;

  // Dynamic shapes (empty for a fixed-shape engine). Tensor shapes above are
  // those of the profiles' largest shapes; TensorSlot::bytes bounds each
  // tensor's size at any admitted shape (its arena slot).
  std::vector<OptimizationProfileInfo> profiles;
  std::vector<ShapeBucketInfo> buckets;

  // Data-dependent shapes (ops/extent.h, whose ExtentDim this mirrors): by
  // tensor index, the bounded dimension whose actual extent (count of layer
  // `symbol` * scale) a producer layer reports at run time (computed at
  // load, at the build shape); empty when no layer is data-dependent.
  // `extent_producers`: those layers.
  struct TensorExtent {
    int symbol = -1;
    int dim = -1;
    int64_t scale = 1;
    bool any() const { return symbol >= 0; }
  };
  std::vector<TensorExtent> extent;
  std::vector<int> extent_producers;
};

/// Per-context state: one buffer per non-constant tensor.
struct ExecutionContext::Impl {
  ~Impl();  // stops and joins `worker`

  std::shared_ptr<const Engine::Impl> engine;
  Tensor arena;                      ///< memory.arena_bytes, allocated once
  std::vector<Tensor> buffers;       ///< by tensor index: views into `arena` (empty for constants)
  std::vector<const void*> in_ptrs;  ///< by tensor index: data pointer
  std::vector<bool> input_set;
  Tensor scratch;                    ///< kernel scratch for `run_threads` threads
  int threads = 1;                   ///< ExecutionContext::threads()
  int run_threads = 1;               ///< threads a layer may really use (<= pool workers + 1)
  exec::ThreadPool* pool = nullptr;  ///< the shared pool when run_threads > 1
  bool executed = false;
  Profiler* profiler = nullptr;
  // Reused per layer to avoid allocation in Execute().
  std::vector<const void*> layer_in;
  std::vector<void*> layer_out;

  // SetTensorAddress: the caller's buffer bound to each engine input / output
  // (nullptr: none). A bound input or output tensor's `buffers` entry is a
  // view of the caller's buffer and `in_ptrs` points there; an output whose
  // tensor no layer writes into (a constant, or an engine input) is copied
  // into its buffer at the end of Execute() instead (`copy_out`).
  std::vector<void*> input_address;
  std::vector<void*> output_address;
  std::vector<bool> copy_out;

  // Dynamic shapes: the shape set for each engine input, whether the layers
  // must be re-prepared for them, and the result of the last resolution
  // (`shapes` by tensor index and `kernels` by layer; empty: the engine's own,
  // prepared at the build shape).
  std::vector<Dims> input_shapes;
  bool shapes_dirty = false;
  std::vector<Dims> shapes;
  std::vector<std::unique_ptr<kernels::Kernel>> kernels;
  int profile = 0;
  int bucket = -1;

  // Data-dependent shapes: the count each producer layer reported in the
  // last Execute() (by layer index), and each data-dependent engine output
  // viewed at its actual shape (by output index; compacted in place).
  std::vector<int64_t> extents;
  std::vector<Tensor> trimmed;

  // One request at a time: set by Execute()/Enqueue() while one runs.
  std::atomic<bool> busy{false};
  // Enqueue's worker thread, started on first use: runs `job` when set.
  std::mutex mu;
  std::condition_variable cv;
  std::function<void()> job;
  bool stop = false;
  std::thread worker;
};

}  // namespace engine

#endif  // ENGINE_EXECUTOR_ENGINE_IMPL_H_
