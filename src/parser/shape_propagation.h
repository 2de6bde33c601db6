// Static shape propagation over an imported graph.
#ifndef ENGINE_PARSER_SHAPE_PROPAGATION_H_
#define ENGINE_PARSER_SHAPE_PROPAGATION_H_

#include "absl/status/status.h"
#include "common/limits.h"
#include "ir/graph.h"

namespace engine::parser {

/// Walks the schedule once and gives every value a static dtype and shape
/// with the kernels' shape functions. Along the way it folds the integer
/// shape computations exporters emit (a Shape of a statically shaped tensor,
/// and any node whose inputs are all constant and whose outputs are integer
/// or bool, or float scalars/vectors of at most kMaxFoldedFloatElements
/// elements: Range limits and Resize scales computed in float), so that
/// Reshape/Expand/Range/Resize operands become constants. Other float work is
/// left to the optimizer's fold-constants pass.
/// Errors carry the node ("node #12 'x' (Reshape): ..."): InvalidArgument for
/// inconsistent shapes or a negative inferred dimension, Unimplemented for a
/// shape that depends on run-time data, ResourceExhausted for an output above
/// `limits.max_tensor_bytes` (or above 2^62 bytes) or a folded constant above
/// `limits.max_constant_bytes`: each output's size is checked right after the
/// node's shape inference, before anything of that size is allocated.
inline constexpr int64_t kMaxFoldedFloatElements = 16;

///
/// With `keep_shape_subgraphs` (dynamic-shape builds) a Shape/Size of an
/// activation, and every integer node computed from such values and
/// constants, is evaluated for the current (build) shapes into
/// Value::shape_value but NOT folded: the nodes stay in the graph so that the
/// executor evaluates them again for each run-time input shape.
absl::Status PropagateShapes(ir::Graph& graph, const BuildLimits& limits = {},
                             bool keep_shape_subgraphs = false);

}  // namespace engine::parser

#endif  // ENGINE_PARSER_SHAPE_PROPAGATION_H_
