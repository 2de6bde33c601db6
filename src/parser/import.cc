#include "parser/import.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/tensor_proto.h"

namespace engine::parser {

absl::StatusOr<AttrValue> ConvertAttribute(const onnx::AttributeProto& attr) {
  switch (attr.type()) {
    case onnx::AttributeProto::INT: return AttrValue(static_cast<int64_t>(attr.i()));
    case onnx::AttributeProto::FLOAT: return AttrValue(attr.f());
    case onnx::AttributeProto::STRING: return AttrValue(attr.s());
    case onnx::AttributeProto::INTS:
      return AttrValue(std::vector<int64_t>(attr.ints().begin(), attr.ints().end()));
    case onnx::AttributeProto::FLOATS:
      return AttrValue(std::vector<float>(attr.floats().begin(), attr.floats().end()));
    case onnx::AttributeProto::STRINGS:
      // One comma-separated string (AttrValue has no string list; the one
      // user, the recurrent ops' `activations`, names never hold a comma).
      return AttrValue(absl::StrJoin(attr.strings(), ","));
    default:
      return absl::UnimplementedError(absl::StrCat(
          "attribute '", attr.name(), "' has kind ",
          onnx::AttributeProto::AttributeType_Name(attr.type()), ", which is not supported"));
  }
}

absl::StatusOr<ops::ImportNode> MakeImportNode(const onnx::NodeProto& node, int index, int opset,
                                               int source_opset) {
  ops::ImportNode n;
  n.name = node.name().empty() ? absl::StrCat(node.op_type(), "_", index) : node.name();
  n.domain = node.domain() == "ai.onnx" ? "" : node.domain();
  n.op_type = node.op_type();
  n.opset = opset;
  n.source_opset = source_opset;
  for (const auto& attr : node.attribute()) {
    if (attr.type() == onnx::AttributeProto::TENSOR) {
      ENGINE_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(attr.t()));
      n.tensor_attrs.insert_or_assign(attr.name(), std::move(t));
      continue;
    }
    ENGINE_ASSIGN_OR_RETURN(AttrValue v, ConvertAttribute(attr));
    n.attrs.Set(attr.name(), std::move(v));
  }
  n.inputs.assign(node.input().begin(), node.input().end());
  n.outputs.assign(node.output().begin(), node.output().end());
  return n;
}

const Tensor* GraphImportSink::ConstantValue(const std::string& name) {
  const ir::Value* v = name.empty() ? nullptr : graph_->FindValue(name);
  return v != nullptr && v->is_constant() ? v->constant.get() : nullptr;
}

int GraphImportSink::RankOf(const std::string& name) {
  auto it = ranks_->find(name);
  return it == ranks_->end() ? -1 : it->second;
}

absl::Status GraphImportSink::AddLayer(const std::string& name, const std::string& type,
                                       Attributes attrs, const std::vector<std::string>& inputs,
                                       const std::vector<std::string>& outputs) {
  auto n = std::make_unique<ir::Node>();
  n->name = name;
  n->op_type = type;
  n->onnx_index = node_index_;
  n->onnx_nodes = {node_->name};
  n->attrs = std::move(attrs);
  for (const std::string& in : inputs) {
    if (in.empty()) {
      n->inputs.push_back(nullptr);
      continue;
    }
    ir::Value* v = graph_->FindValue(in);
    if (v == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", in, "' is not defined by any earlier node, initializer or "
                                      "graph input (is the graph topologically sorted?)"));
    }
    n->inputs.push_back(v);
  }
  for (const std::string& out : outputs) n->outputs.push_back(graph_->AddValue(out));
  graph_->AddNode(std::move(n));
  return absl::OkStatus();
}

void GraphImportSink::AddConstant(const std::string& name, Tensor value) {
  graph_->AddConstant(name, std::make_shared<Tensor>(std::move(value)));
}

}  // namespace engine::parser
