// Build-time check of data-dependent (bounded) dimensions: walks the graph
// with ops::PropagateExtent so that a layer that cannot take the run-time
// extent of a NonZero / NonMaxSuppression / run-time-K TopK output fails the
// build, naming the layer, the tensor and why (docs/dynamic_shapes.md,
// "Data-dependent shapes").
#ifndef ENGINE_BUILDER_EXTENT_CHECK_H_
#define ENGINE_BUILDER_EXTENT_CHECK_H_

#include "absl/status/status.h"
#include "ir/graph.h"

namespace engine::builder {

/// Propagates the data-dependent dimensions through every layer of `graph`
/// (nodes in order). Errors: Unimplemented from ops::PropagateExtent (a
/// consumer that needs a static extent), naming the layer, the tensor, the
/// dimension, its bound and the producing layer.
absl::Status CheckDataDependentExtents(const ir::Graph& graph);

}  // namespace engine::builder

#endif  // ENGINE_BUILDER_EXTENT_CHECK_H_
