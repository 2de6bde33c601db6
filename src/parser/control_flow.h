// ONNX control flow (If, Loop, Scan) compiled into a static graph before
// import. The engine builds a static dataflow program for the accelerator, so
// subgraphs are not interpreted at run time; instead the parser rewrites each
// control-flow node of the main graph, at the model's own opset (before the
// version converter, which does not convert subgraph bodies), into plain
// nodes:
//
//  - If with a build-time-constant condition: the taken branch is inlined;
//  - If with a run-time condition (opset >= 9): both branches are inlined and
//    each output is Where(cond, then_output, else_output) ("if-conversion",
//    the predicated form of Allen et al., "Conversion of Control Dependence
//    to Data Dependence", POPL 1983). Both branches run; it needs the two
//    branches' outputs to have one static shape each;
//  - Loop with a build-time-constant trip count (and a condition that is
//    absent, constant, or passed through the body unchanged): unrolled, one
//    copy of the body per iteration, loop-carried values chained, scan
//    outputs stacked with Unsqueeze + Concat along a new axis 0;
//  - Scan (opset 8 with its batch axis, and opset >= 9 with scan axes and
//    directions): unrolled over the static length of its scan inputs, each
//    element a Slice + Squeeze of the scan input, scan outputs stacked along
//    their axis in their direction.
// Anything else is Unimplemented with the reason (a while loop, a trip count
// or length not known at build time, branches of different shapes, ...).
// Unrolling is bounded (ControlFlowLimits) so that a hostile trip count
// cannot exhaust memory.
#ifndef ENGINE_PARSER_CONTROL_FLOW_H_
#define ENGINE_PARSER_CONTROL_FLOW_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "onnx/onnx_pb.h"

namespace engine::parser {

/// Static shapes by tensor name, as ONNX shape inference finds them, for the
/// main graph and every subgraph (-1 for an unknown dim). Tensors whose rank
/// is unknown are absent.
using ShapeMap = absl::flat_hash_map<std::string, std::vector<int64_t>>;
/// Runs shape inference on (a copy of) a model and returns its ShapeMap.
using ShapeOracle = std::function<ShapeMap(const onnx::ModelProto&)>;

/// Evaluates tensor `name` of a model at build time when it is computed from
/// initializers and static shapes only (the engine's own import and constant
/// propagation on the nodes it depends on), returning its single element as
/// an integer (bool and float: 0 or 1 as a condition); nullopt when it is not
/// a build-time constant or not a single value.
using ScalarOracle = std::function<std::optional<int64_t>(const onnx::ModelProto&,
                                                          const std::string& name)>;

/// Bounds of the unrolling (hostile models: a trip count of 2^62).
struct ControlFlowLimits {
  /// Most iterations one Loop or Scan may unroll to.
  int64_t max_iterations = 4096;
  /// Most nodes the main graph may hold after lowering.
  int64_t max_nodes = 200000;
};

/// What LowerControlFlow did, for the log.
struct ControlFlowStats {
  int ifs_folded = 0;     ///< If with a constant condition: the branch inlined
  int ifs_converted = 0;  ///< If with a run-time condition: both branches + Where
  int loops_unrolled = 0;
  int scans_unrolled = 0;
  int64_t iterations = 0;  ///< body copies made by Loop and Scan unrolling

  int total() const { return ifs_folded + ifs_converted + loops_unrolled + scans_unrolled; }
};

/// Rewrites every If, Loop and Scan node of `model`'s main graph (and those
/// its bodies bring in, until none is left) as described above. `shapes` is
/// called, on the model as rewritten so far, only when a static shape is
/// needed (a Scan's length, the branch shapes of a run-time If); `scalars`
/// when a Loop's trip count or condition, or an If's condition, is computed
/// by nodes (e.g. from a Shape) rather than stored.
/// Inlined names: body-local names that clash with the graph's get the
/// prefix "<node name>/" ("<node name>/i<k>/" for iteration k), constants
/// made by the rewrite are initializers named "<node name>/...".
/// Errors (naming the node): Unimplemented for a form that cannot be made
/// static (with the reason); InvalidArgument for a malformed node (missing
/// body or branch, input/output counts that disagree with the body, scan
/// inputs of different lengths); ResourceExhausted when unrolling would pass
/// `limits`.
absl::StatusOr<ControlFlowStats> LowerControlFlow(onnx::ModelProto& model,
                                                  const ShapeOracle& shapes,
                                                  const ScalarOracle& scalars,
                                                  const ControlFlowLimits& limits = {});

}  // namespace engine::parser

#endif  // ENGINE_PARSER_CONTROL_FLOW_H_
