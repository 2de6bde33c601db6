// Dynamic shapes at run time: shape inference through the layers of a loaded
// engine for new input shapes, evaluation of the shape subgraphs, and host
// kernels prepared for the result (docs/dynamic_shapes.md).
#ifndef ENGINE_EXECUTOR_SHAPE_RESOLVER_H_
#define ENGINE_EXECUTOR_SHAPE_RESOLVER_H_

#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "executor/engine_impl.h"
#include "kernels/kernel.h"

namespace engine::exec {

/// Whether a layer of a dynamic engine is a shape-subgraph layer
/// (Engine::Impl::LayerExec::shape_valued): a data-independent kernel
/// (Shape, Size), or every present input has a value at prepare time (a
/// constant or a shape value) and every output is integer/bool or a float
/// vector of at most 16 elements (Range limits, Resize scales).
bool IsShapeValued(const kernels::KernelDef& def, std::span<const kernels::TensorInfo> inputs,
                   std::span<const kernels::TensorInfo> outputs);

/// Runs a prepared shape-subgraph layer once on its input values
/// (`inputs[i].constant`, nullptr for a data-independent kernel) with one
/// thread, returning its outputs. Allocates them and the kernel's scratch.
std::vector<Tensor> EvaluateLayer(const kernels::Kernel& kernel,
                                  std::span<const kernels::TensorInfo> inputs,
                                  std::span<const kernels::TensorInfo> outputs);

/// The shapes of every tensor (by tensor index) and a kernel per layer,
/// prepared for one set of input shapes.
struct ResolvedShapes {
  std::vector<Dims> shapes;
  std::vector<std::unique_ptr<kernels::Kernel>> kernels;
};

/// Infers every tensor's shape from `input_shapes` (by engine input, in
/// Engine::Impl::input_index order) through the layers' shape functions,
/// evaluating shape-subgraph layers so that their values feed later shape
/// functions, and prepares a fresh kernel per layer.
/// Errors: InvalidArgument naming the layer when a shape function or Prepare
/// refuses the shapes (inputs inconsistent with each other);
/// ResourceExhausted naming the tensor when a tensor would need more bytes
/// than its arena slot (planned for the profiles' largest shapes).
absl::StatusOr<ResolvedShapes> ResolveShapes(const Engine::Impl& engine,
                                             const std::vector<Dims>& input_shapes);

}  // namespace engine::exec

#endif  // ENGINE_EXECUTOR_SHAPE_RESOLVER_H_
