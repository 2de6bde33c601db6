// Turns ONNX nodes into IR layers through the op library's importers
// (ops::OpDef::import). The parser converts each NodeProto into an IR-free
// ops::ImportNode and hands the importer a GraphImportSink over the IR being
// built; which ops exist and how each imports is defined once, in src/ops/.
#ifndef ENGINE_PARSER_IMPORT_H_
#define ENGINE_PARSER_IMPORT_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "onnx/onnx_pb.h"
#include "ops/op_def.h"

namespace engine::parser {

/// Converts an ONNX attribute to the engine's typed attribute value.
/// Unimplemented for TENSOR, GRAPH, SPARSE_TENSOR and TYPE_PROTO kinds.
absl::StatusOr<AttrValue> ConvertAttribute(const onnx::AttributeProto& attr);

/// The importer's view of `node`, the `index`-th node of its graph: name
/// ("<op_type>_<index>" when unnamed), attributes (TENSOR ones decoded into
/// tensor_attrs), input and output names. Errors: Unimplemented for GRAPH,
/// SPARSE_TENSOR and TYPE_PROTO attributes; those of TensorFromProto.
absl::StatusOr<ops::ImportNode> MakeImportNode(const onnx::NodeProto& node, int index, int opset,
                                               int source_opset);

/// ops::ImportSink over an IR graph under construction. Every layer it adds
/// records the ONNX node being imported (`onnx_index`, `onnx_nodes`).
class GraphImportSink : public ops::ImportSink {
 public:
  /// `ranks`: tensor ranks from ONNX shape inference (not owned; must outlive
  /// the sink).
  GraphImportSink(ir::Graph* graph, const ops::ImportNode* node, int node_index,
                  const absl::flat_hash_map<std::string, int>* ranks)
      : graph_(graph), node_(node), node_index_(node_index), ranks_(ranks) {}

  const Tensor* ConstantValue(const std::string& name) override;
  int RankOf(const std::string& name) override;
  /// Errors: InvalidArgument naming an input that no earlier node,
  /// initializer or graph input defines.
  absl::Status AddLayer(const std::string& name, const std::string& type, Attributes attrs,
                        const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) override;
  void AddConstant(const std::string& name, Tensor value) override;

 private:
  ir::Graph* graph_;
  const ops::ImportNode* node_;
  int node_index_;
  const absl::flat_hash_map<std::string, int>* ranks_;
};

}  // namespace engine::parser

#endif  // ENGINE_PARSER_IMPORT_H_
