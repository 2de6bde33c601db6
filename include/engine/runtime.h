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

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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
class Profiler {
 public:
  virtual ~Profiler() = default;
  virtual void ReportLayerTime(std::string_view layer_name, double host_ms) = 0;
};

class ExecutionContext;

/// A loaded, verified, immutable engine. Thread-safe: share one Engine (via
/// shared_ptr) across threads and give each thread its own ExecutionContext.
class Engine {
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

  /// Creates an execution context with its own activation buffers. The
  /// context keeps the engine alive. Errors: ResourceExhausted when the
  /// buffers cannot be allocated.
  absl::StatusOr<std::unique_ptr<ExecutionContext>> CreateExecutionContext() const;

  struct Impl;  // defined in src/executor

 private:
  friend class Runtime;
  explicit Engine(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

/// Per-thread state for running an engine: owns the activation memory and the
/// output tensors. Not thread-safe: use one context per thread. Steady-state
/// Execute() calls do not reallocate.
class ExecutionContext {
 public:
  ~ExecutionContext();
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  /// Copies `value` into the input named `name`.
  /// Errors: NotFound (no such input; the message lists the engine's inputs),
  /// InvalidArgument (dtype or shape differs from the engine's TensorDesc;
  /// both are named in the message).
  absl::Status SetInput(std::string_view name, const Tensor& value);

  /// Runs all layers synchronously on the host. Inputs not set since the
  /// context was created are an error (FailedPrecondition naming them).
  absl::Status Execute();

  /// The output named `name` after the last Execute(); the pointer stays valid
  /// until the next Execute() or the context's destruction.
  /// Errors: NotFound (no such output), FailedPrecondition (not executed yet).
  absl::StatusOr<const Tensor*> GetOutput(std::string_view name) const;

  /// Convenience: sets every input in `inputs` (by name), executes and returns
  /// copies of all outputs in engine order. Same errors as the calls above.
  absl::StatusOr<std::vector<NamedTensor>> Infer(const std::vector<NamedTensor>& inputs);

  /// Sets or clears (nullptr) the per-layer profiler. `profiler` must outlive
  /// its use by this context.
  void SetProfiler(Profiler* profiler);

  struct Impl;  // defined in src/executor

 private:
  friend class Engine;
  explicit ExecutionContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Deserializes plans into engines.
class Runtime {
 public:
  /// Verifies and loads a plan held in memory (the bytes are copied; the
  /// caller may free them afterwards).
  /// Errors: InvalidArgument (not a plan: wrong magic or unreadable header),
  /// FailedPrecondition (plan schema version not accepted; the message gives
  /// the accepted range), DataLoss (truncated or corrupt: checksum or
  /// FlatBuffers verification failure, inconsistent tensor sizes),
  /// Unimplemented (a layer type this runtime does not know).
  static absl::StatusOr<std::shared_ptr<const Engine>> DeserializeEngine(
      std::string_view plan, Logger* logger = nullptr);

  /// Reads the file at `path` and deserializes it. Errors: NotFound when the
  /// file cannot be opened, otherwise as DeserializeEngine, with the path in
  /// the message.
  static absl::StatusOr<std::shared_ptr<const Engine>> LoadEngineFile(
      const std::string& path, Logger* logger = nullptr);
};

}  // namespace engine

#endif  // ENGINE_RUNTIME_H_
