// The ONNX import registry: which (domain, op type, opset range) the engine
// accepts, and how each is turned into IR nodes. One explicit list in
// op_registry.cc (TFLite's resolver style, no static self-registration).
#ifndef ENGINE_PARSER_OP_REGISTRY_H_
#define ENGINE_PARSER_OP_REGISTRY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "ir/graph.h"
#include "onnx/onnx_pb.h"

namespace engine::parser {

/// State shared by the importers of one model.
class ImportContext {
 public:
  ImportContext(ir::Graph* graph, int opset, int source_opset, int node_index,
                const absl::flat_hash_map<std::string, int>* ranks)
      : graph_(graph),
        opset_(opset),
        source_opset_(source_opset),
        node_index_(node_index),
        ranks_(ranks) {}

  ir::Graph& graph() { return *graph_; }
  /// Default-domain opset of the model (after conversion).
  int opset() const { return opset_; }
  /// Default-domain opset of the model as written, before conversion (for
  /// semantics the ONNX version converter does not adapt).
  int source_opset() const { return source_opset_; }
  /// Rank of an ONNX tensor per ONNX shape inference; -1 when unknown.
  int RankOf(const std::string& name) const {
    auto it = ranks_->find(name);
    return it == ranks_->end() ? -1 : it->second;
  }
  int node_index() const { return node_index_; }

  /// The IR value for an ONNX tensor name; nullptr for "" (absent optional).
  /// Error: InvalidArgument when the name was never defined.
  absl::StatusOr<ir::Value*> Input(const std::string& name);
  /// Defines the IR value for an ONNX output name.
  ir::Value* Output(const std::string& name);

 private:
  ir::Graph* graph_;
  int opset_;
  int source_opset_;
  int node_index_;
  const absl::flat_hash_map<std::string, int>* ranks_;
};

/// Converts one ONNX node into IR. The default importer maps the node 1:1 to
/// an IR node of the same op type with its attributes converted.
using ImportFn = std::function<absl::Status(const onnx::NodeProto& node, ImportContext& ctx)>;

struct OpImporter {
  std::string domain;  ///< "" for the default ONNX domain
  std::string op_type;
  int min_opset = 1;   ///< oldest opset accepted (older ones are converted first)
  int max_opset = 25;  ///< newest opset whose semantics the engine implements
  ImportFn import;
};

/// nullptr when (domain, op_type) is not supported at `opset`. `why` receives
/// the reason (unknown op, or the supported opset range).
const OpImporter* FindImporter(const std::string& domain, const std::string& op_type, int opset,
                               std::string* why);

/// All importers, in registration order.
const std::vector<OpImporter>& AllImporters();

/// Converts an ONNX attribute to the engine's typed attribute value.
/// Unimplemented for TENSOR, GRAPH, SPARSE_TENSOR and TYPE_PROTO kinds.
absl::StatusOr<AttrValue> ConvertAttribute(const onnx::AttributeProto& attr);

}  // namespace engine::parser

#endif  // ENGINE_PARSER_OP_REGISTRY_H_
