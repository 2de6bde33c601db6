// The engine's graph IR: values (tensors with static shape and dtype), nodes
// (layers in ONNX semantics, later fused), initializers kept as constants, and
// the original ONNX node names for reporting.
//
// Ownership: a Graph owns its Values and Nodes; raw pointers between them stay
// valid until the pointee is removed from the graph. Nodes are kept in a
// topological order (the execution order). Not thread-safe.
#ifndef ENGINE_IR_GRAPH_H_
#define ENGINE_IR_GRAPH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/attributes.h"
#include "engine/tensor.h"
#include "engine/types.h"

namespace engine::ir {

class Node;

/// A tensor of the graph: an edge between nodes, a graph input or output, or
/// a constant (initializer or folded).
struct Value {
  std::string name;
  DataType dtype = DataType::kUndefined;
  Dims shape;
  /// Whether `shape` is known (static); false only during import.
  bool has_shape = false;
  /// Constant value (initializer or folded), shared because folding and
  /// rewrites often alias it; nullptr for activations.
  std::shared_ptr<const Tensor> constant;
  /// Dynamic-shape builds (BuilderConfig::profiles): the value of a small
  /// integer tensor computed from input shapes (a Shape/Gather/Concat chain)
  /// at the build shape. It is NOT a constant (the node stays in the graph
  /// and is evaluated again at run time for each input shape); shape
  /// propagation hands it to shape functions (Reshape's target) only.
  std::shared_ptr<const Tensor> shape_value;
  /// Node producing this value; nullptr for graph inputs and constants.
  Node* producer = nullptr;

  bool is_constant() const { return constant != nullptr; }
  size_t ByteSize() const { return static_cast<size_t>(NumElements(shape)) * DataTypeSize(dtype); }
};

/// One operation. `op_type` is the layer type (kernel registry key); for
/// imported nodes it is the ONNX op type with opset-13+ semantics.
class Node {
 public:
  std::string name;
  std::string op_type;
  std::string domain;
  /// Index of the node in the ONNX graph (-1 for nodes created by passes).
  int onnx_index = -1;
  /// Names of the ONNX nodes this node implements (itself, or a fused group).
  std::vector<std::string> onnx_nodes;
  /// Inputs in op order; nullptr marks an absent optional input.
  std::vector<Value*> inputs;
  std::vector<Value*> outputs;
  Attributes attrs;

  /// "node #12 'conv1' (Conv)" for error messages.
  std::string Describe() const;
};

/// A computation graph with static shapes.
class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  std::string name;
  std::string producer;
  /// Number of nodes in the source ONNX graph (for reports).
  int source_node_count = 0;

  /// Creates a value with a unique name (a suffix is appended if `name` is
  /// taken). The graph owns it.
  Value* AddValue(const std::string& name);
  /// Creates a constant value holding `tensor`.
  Value* AddConstant(const std::string& name, std::shared_ptr<const Tensor> tensor);
  /// nullptr when absent.
  Value* FindValue(const std::string& name) const;

  /// Appends a node at the end of the schedule and sets its outputs'
  /// producers. Returns the node (owned by the graph).
  Node* AddNode(std::unique_ptr<Node> node);
  /// Inserts a node right before `before` in the schedule.
  Node* InsertNodeBefore(Node* before, std::unique_ptr<Node> node);
  /// Removes `node` from the schedule; its outputs lose their producer.
  void RemoveNode(Node* node);
  /// Nodes in schedule (topological) order.
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  /// Replaces the schedule by `order`, which must hold every node of the
  /// graph exactly once and be a topological order (each node input a graph
  /// input, a constant or produced by an earlier node). Nodes, values and
  /// pointers are unchanged. Errors: InvalidArgument naming the offending
  /// node; the schedule is then left as it was.
  absl::Status SetSchedule(const std::vector<Node*>& order);

  std::vector<Value*>& inputs() { return inputs_; }
  const std::vector<Value*>& inputs() const { return inputs_; }
  std::vector<Value*>& outputs() { return outputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }

  bool IsGraphOutput(const Value* v) const;
  bool IsGraphInput(const Value* v) const;
  /// Nodes that read `v`, in schedule order (a node reading it twice appears
  /// once). O(number of nodes).
  std::vector<Node*> Consumers(const Value* v) const;
  /// Rewires every reader of `from` (nodes and graph outputs) to `to`.
  void ReplaceAllUsesWith(Value* from, Value* to);
  /// Drops values that no node, input or output references.
  void RemoveUnusedValues();
  /// All values, in creation order.
  std::vector<Value*> values() const;

  /// Checks structural invariants: every node input is a graph input, a
  /// constant or produced by an earlier node; producers match; names unique;
  /// all shapes known. Errors: Internal, naming the node and value.
  absl::Status Verify() const;

  /// Human-readable listing, one node per line:
  /// `%out[1x64x56x56:float] = Conv(%in, %w) {strides=[1,1]}  # conv1`.
  std::string ToText() const;
  /// Graphviz DOT rendering.
  std::string ToDot() const;

 private:
  std::vector<std::unique_ptr<Value>> values_;
  absl::flat_hash_map<std::string, Value*> by_name_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
};

}  // namespace engine::ir

#endif  // ENGINE_IR_GRAPH_H_
