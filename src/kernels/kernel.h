// Host kernels: the reference implementation of every engine layer type.
//
// A kernel is created per layer and used in two phases (TFLite's Prepare/Eval
// split):
//  1. Prepare(attrs, inputs, outputs), once, when a plan is loaded or when the
//     optimizer folds a constant: validates attributes, shapes and dtypes and
//     precomputes everything that depends only on them (and on constant
//     inputs, e.g. packed weights). Errors are returned here, never later.
//  2. Run(ctx, in, out), any number of times, possibly from several threads
//     at once on the same kernel object (Run is const and must not mutate the
//     kernel): reads input buffers, writes output buffers. Shapes are those
//     given to Prepare; buffers are dense row-major. Run cannot fail. Run may
//     split its work over ctx.threads threads of ctx.pool (intra-op
//     parallelism); its outputs are bit-identical for every thread count.
//
// Shape inference is separate from the kernel object: each registered layer
// type has an InferFn that computes output dtypes and shapes from attributes
// and input descriptors (with the values of constant inputs, needed e.g. by
// Reshape's target shape). The optimizer uses it to propagate static shapes;
// Prepare re-validates.
//
// This library depends only on src/common (no IR, no FlatBuffers). The op
// library (src/ops/) bundles each KernelDef with the op's importer,
// accelerator mapping and INT8 behaviour, and is what the parser, optimizer,
// builder and executor look layer types up in.
#ifndef ENGINE_KERNELS_KERNEL_H_
#define ENGINE_KERNELS_KERNEL_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/attributes.h"
#include "engine/tensor.h"
#include "engine/types.h"

namespace engine::exec {
class ThreadPool;
}  // namespace engine::exec

namespace engine::kernels {

/// Build-time description of a layer input or output.
struct TensorInfo {
  DataType dtype = DataType::kUndefined;
  Dims shape;
  /// Value of the tensor when it is a constant (initializer or folded), else
  /// nullptr. Not owned; valid only during the InferFn / Prepare call, so a
  /// kernel that needs the data later must copy or pack it.
  const Tensor* constant = nullptr;
  /// false for an absent optional input (ONNX's empty input name).
  bool present = true;
};

/// Per-call resources handed to Run. `scratch` points to at least
/// Kernel::ScratchBytes(threads) bytes, 64-byte aligned, private to this call.
struct RunContext {
  std::byte* scratch = nullptr;
  size_t scratch_bytes = 0;
  /// Pool for intra-op parallelism, or nullptr: everything runs on the
  /// calling thread. Kernels use it through ParallelFor (kernel_util.h).
  exec::ThreadPool* pool = nullptr;
  /// Most threads Run may use at once, the calling thread included (>= 1).
  /// Outputs must not depend on it: a kernel run with any thread count gives
  /// the same bits.
  int threads = 1;
};

class Kernel {
 public:
  virtual ~Kernel() = default;

  /// Validates and precomputes; see the file comment. `inputs` and `outputs`
  /// are in layer order (absent optional inputs have present == false).
  /// Errors: InvalidArgument (bad attribute, shape or dtype), Unimplemented
  /// (valid ONNX that this kernel does not support, e.g. a dtype).
  virtual absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                               std::span<const TensorInfo> outputs) = 0;

  /// Scratch memory Run needs when it may use up to `threads` threads
  /// (RunContext::threads), in bytes (e.g. an im2col buffer and one GEMM
  /// workspace per thread); valid after Prepare. Non-decreasing in `threads`.
  virtual size_t ScratchBytes(int threads) const { return 0; }

  /// Computes the outputs. `in[i]` is nullptr for an absent optional input.
  virtual void Run(const RunContext& ctx, std::span<const void* const> in,
                   std::span<void* const> out) const = 0;

  /// Run for kernels that wrap foreign code (plugin ops, src/ops/plugin_registry.cc)
  /// and so can fail at run time: the executor and the graph runner call this;
  /// the default runs Run and returns OK. Errors: Internal with the plugin's
  /// message (the caller adds the layer).
  virtual absl::Status TryRun(const RunContext& ctx, std::span<const void* const> in,
                              std::span<void* const> out) const {
    Run(ctx, in, out);
    return absl::OkStatus();
  }
};

/// Computes output descriptors (dtype and static shape; `constant` left
/// nullptr) from attributes and inputs. Errors as Kernel::Prepare.
using InferFn = std::function<absl::StatusOr<std::vector<TensorInfo>>(
    const Attributes& attrs, std::span<const TensorInfo> inputs)>;

using KernelFactory = std::function<std::unique_ptr<Kernel>()>;

/// Everything the engine knows about one layer type.
struct KernelDef {
  std::string type;      ///< layer type, e.g. "Conv"
  InferFn infer;         ///< shape/dtype inference
  KernelFactory create;  ///< makes an unprepared kernel
  /// Whether the optimizer may evaluate the layer at build time when all its
  /// inputs are constant (true for every pure op).
  bool foldable = true;
  /// The outputs depend only on the static shapes of the inputs, never on
  /// their values (Shape, Size): Run is called with null input pointers, and
  /// shape propagation folds the layer whatever its inputs are.
  bool data_independent = false;
};

/// For a data-independent kernel (KernelDef::data_independent): infers,
/// prepares and runs it once on input descriptors alone (no input data),
/// returning the outputs. Errors: FailedPrecondition when `def` is not
/// data-independent; those of def.infer and Prepare.
absl::StatusOr<std::vector<Tensor>> EvaluateOnShapes(const KernelDef& def, const Attributes& attrs,
                                                     std::span<const TensorInfo> inputs);

/// Infers output shapes, prepares a kernel of `def` and runs it once on
/// constant inputs (`inputs[i]` nullptr for an absent optional input) with one
/// thread, returning the outputs. Errors: those of def.infer and Prepare.
absl::StatusOr<std::vector<Tensor>> EvaluateKernel(const KernelDef& def, const Attributes& attrs,
                                                   std::span<const Tensor* const> inputs);

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_KERNEL_H_
