// ONNX front end: .onnx bytes -> ir::Graph with static shapes.
//
// Steps, each failing with an error that names the file (and the node or
// tensor where there is one):
//  1. protobuf parse of the ModelProto (truncated/malformed -> InvalidArgument);
//  2. every node's op checked against the import registry; all unsupported
//     ops are listed in one Unimplemented error (node index, name, op, opset);
//  3. input shapes pinned from ParseOptions::input_shapes (trtexec --shapes);
//  4. ONNX checker;
//  5. ONNX version converter to `target_opset` when the model is older;
//  6. ONNX shape inference;
//  7. import into the IR through the op registry;
//  8. static shape propagation with the kernels' shape functions, folding
//     integer shape computations (Shape/Gather/Unsqueeze/Concat chains);
//     any dimension still unknown -> InvalidArgument naming the tensor.
#ifndef ENGINE_PARSER_ONNX_PARSER_H_
#define ENGINE_PARSER_ONNX_PARSER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/limits.h"
#include "engine/logger.h"
#include "engine/tensor.h"
#include "engine/types.h"
#include "ir/graph.h"

namespace engine::parser {

struct ParseOptions {
  /// Static shapes for graph inputs by name (pins dynamic dimensions).
  std::map<std::string, Dims> input_shapes;
  /// Dynamic-shape builds: the smallest shape of each input over the
  /// optimization profiles (input_shapes then holds the largest). A dimension
  /// whose smallest and largest values differ must be dynamic in the model
  /// (InvalidArgument naming the input and dimension otherwise).
  std::map<std::string, Dims> input_min_shapes;
  /// Keep the shape computations of dynamic inputs as layers (see
  /// PropagateShapes) instead of folding them for one size.
  bool keep_shape_subgraphs = false;
  /// Graph inputs bound to constant values at build time (see
  /// BuilderConfig::input_values).
  std::map<std::string, Tensor> input_values;
  /// Default-domain opset older models are converted to.
  int target_opset = 13;
  /// Receives warnings and verbose progress; nullptr = DefaultLogger().
  Logger* logger = nullptr;
  /// Size limits checked while parsing (see common/limits.h): graph inputs
  /// (after --shapes pins) and inferred activations against
  /// max_tensor_bytes, initializers (from their dims, before decoding) and
  /// constants folded during shape propagation against max_constant_bytes.
  BuildLimits limits;
};

/// Parses the `.onnx` file at `path`. Errors: NotFound (missing file), and as
/// ParseOnnxBytes.
absl::StatusOr<std::unique_ptr<ir::Graph>> ParseOnnxFile(const std::string& path,
                                                         const ParseOptions& options);

/// Parses a serialized ModelProto; `name` (usually the file path) prefixes
/// every error message. Errors: InvalidArgument (malformed model, checker or
/// shape inference failure, unpinned dynamic dimension, bad pinned shape, a
/// graph that is not single-assignment: see below), Unimplemented
/// (unsupported ops, attributes or dtypes; all ops listed), ResourceExhausted
/// (a tensor or constant above `options.limits`).
///
/// The project's own structural checks run first, whatever the model's IR
/// version (the ONNX checker is skipped for models newer than the ONNX
/// library): every tensor is defined once (two nodes writing one tensor, a
/// node writing a graph input or an initializer, two initializers or two graph
/// inputs with one name are errors naming the tensor and both definitions),
/// every node input is defined by a graph input, an initializer or an earlier
/// node, and every graph output is defined.
absl::StatusOr<std::unique_ptr<ir::Graph>> ParseOnnxBytes(const std::string& bytes,
                                                          const std::string& name,
                                                          const ParseOptions& options);

}  // namespace engine::parser

#endif  // ENGINE_PARSER_ONNX_PARSER_H_
