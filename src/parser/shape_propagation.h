// Static shape propagation over an imported graph.
#ifndef ENGINE_PARSER_SHAPE_PROPAGATION_H_
#define ENGINE_PARSER_SHAPE_PROPAGATION_H_

#include "absl/status/status.h"
#include "ir/graph.h"

namespace engine::parser {

/// Walks the schedule once and gives every value a static dtype and shape
/// with the kernels' shape functions. Along the way it folds the integer
/// shape computations exporters emit (a Shape of a statically shaped tensor,
/// and any node whose inputs are all constant and whose outputs are integer
/// or bool), so that Reshape/Expand targets become constants. Float work is
/// left to the optimizer's fold-constants pass.
/// Errors carry the node ("node #12 'x' (Reshape): ..."): InvalidArgument for
/// inconsistent shapes, Unimplemented for a shape that depends on run-time
/// data.
absl::Status PropagateShapes(ir::Graph& graph);

}  // namespace engine::parser

#endif  // ENGINE_PARSER_SHAPE_PROPAGATION_H_
