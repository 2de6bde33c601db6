// A host interpreter of the IR: runs an optimized ir::Graph's schedule
// through the op library's host kernels, without codegen, a plan or the
// executor. The build uses it to run the FP32 graph over calibration batches
// (histograms of the tensors INT8 layers read and write) and to capture the
// FP32 values the accuracy guard compares with.
//
// What it does is what the executor does with a plan of the same graph
// (src/executor/runtime.cc): one kernel per node, prepared once with the
// node's static shapes, run in schedule order with the shared thread pool and
// the same thread-count rule, so the values it computes are bit-identical to
// the engine's. What it skips is everything the device needs: mapping,
// lowering, the plan's serialization, verification and the simulation.
//
// Memory: one buffer per live value, taken when its producer runs and
// returned after its last reader (a free list by exact byte size, planned once
// at Create); graph inputs, graph outputs and the tensors asked to be kept
// stay live for the whole run and are readable afterwards. Constants are read
// in place (the runner shares ownership of them, so it does not need the
// graph after Create).
#ifndef ENGINE_BUILDER_GRAPH_RUNNER_H_
#define ENGINE_BUILDER_GRAPH_RUNNER_H_

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/tensor.h"
#include "engine/types.h"
#include "ir/graph.h"
#include "kernels/kernel.h"

namespace engine::exec {
class ThreadPool;
}  // namespace engine::exec

namespace engine::builder {

class GraphRunner {
 public:
  /// Prepares a kernel for every node of `graph` (schedule order, static
  /// shapes; the kernel of each op type from ops::OpRegistry::Builtin()),
  /// checks that each node's output dtypes and shapes are what its kernel
  /// infers, and plans the buffers. `keep` names tensors (graph inputs,
  /// activations or constants) whose values Run leaves readable through Get,
  /// besides the graph's inputs and outputs. `threads` (>= 1) is the most
  /// threads a kernel may use, with ExecutionContext::SetThreads' rule: more
  /// than one only when the process may run more than one hardware thread,
  /// and at most the shared pool's workers + 1 (outputs do not depend on it).
  /// Errors: InvalidArgument (threads < 1, a node input without a shape or
  /// value, or an output that differs from what its kernel infers, naming
  /// the node), NotFound (a `keep` name the graph does not have),
  /// Unimplemented (an op type without a host kernel, naming the node),
  /// ResourceExhausted (buffers cannot be allocated), and the errors of a
  /// kernel's inference and Prepare, annotated with the node.
  static absl::StatusOr<std::unique_ptr<GraphRunner>> Create(const ir::Graph& graph,
                                                             std::span<const std::string> keep,
                                                             int threads);

  GraphRunner(const GraphRunner&) = delete;
  GraphRunner& operator=(const GraphRunner&) = delete;
  ~GraphRunner();

  /// The graph's inputs (name, dtype, static shape), in graph order.
  const std::vector<TensorDesc>& inputs() const { return inputs_; }

  /// Copies every graph input from `inputs` (by name; extra entries are
  /// ignored) and runs every node once. Errors: InvalidArgument when an input
  /// is missing or its dtype or shape differs from the graph's, naming it.
  /// Not thread-safe: one Run at a time per runner.
  absl::Status Run(const std::map<std::string, Tensor>& inputs);

  /// The value of a graph input, graph output, kept tensor or constant after
  /// the last Run (a view valid until the next Run or the runner's
  /// destruction). Errors: NotFound (a tensor that is none of these),
  /// FailedPrecondition (an activation read before the first Run).
  absl::StatusOr<const Tensor*> Get(std::string_view name) const;

  /// The pool the kernels run on (nullptr: everything on the calling thread)
  /// and the most threads a kernel uses, the caller included (>= 1), as
  /// derived from Create's `threads`; for work the caller does between runs.
  exec::ThreadPool* pool() const { return pool_; }
  int threads() const { return run_threads_; }

  /// Bytes of the activation buffers (the planned free-list reuse), for
  /// reports and tests.
  size_t activation_bytes() const { return activation_bytes_; }

 private:
  GraphRunner() = default;

  struct Step {
    std::unique_ptr<kernels::Kernel> kernel;
    std::vector<int> inputs;   // value indices, -1 = absent optional input
    std::vector<int> outputs;  // value indices
    std::string name;          // "node 'n' (Type)", for errors at run time
  };

  std::vector<TensorDesc> inputs_;
  std::vector<int> input_values_;  // value index of each graph input
  // By value index: a view of the value's buffer or of its constant.
  std::vector<Tensor> values_;
  std::vector<const void*> data_;  // by value index: values_[i].data()
  std::vector<bool> constant_;      // by value index
  std::vector<std::shared_ptr<const Tensor>> constants_;  // kept alive
  std::vector<Tensor> buffers_;  // the activation buffers, owned
  absl::flat_hash_map<std::string, int> readable_;  // name -> value index
  std::vector<Step> steps_;
  Tensor scratch_;
  exec::ThreadPool* pool_ = nullptr;
  int run_threads_ = 1;
  size_t activation_bytes_ = 0;
  bool ran_ = false;
  // Reused per step so that Run does not allocate.
  std::vector<const void*> step_in_;
  std::vector<void*> step_out_;
};

}  // namespace engine::builder

#endif  // ENGINE_BUILDER_GRAPH_RUNNER_H_
