#include "parser/op_registry.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tensor_proto.h"

namespace engine::parser {

absl::StatusOr<ir::Value*> ImportContext::Input(const std::string& name) {
  if (name.empty()) return nullptr;
  ir::Value* v = graph_->FindValue(name);
  if (v == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", name, "' is not defined by any earlier node, initializer or "
                                      "graph input (is the graph topologically sorted?)"));
  }
  return v;
}

ir::Value* ImportContext::Output(const std::string& name) { return graph_->AddValue(name); }

absl::StatusOr<AttrValue> ConvertAttribute(const onnx::AttributeProto& attr) {
  switch (attr.type()) {
    case onnx::AttributeProto::INT: return AttrValue(static_cast<int64_t>(attr.i()));
    case onnx::AttributeProto::FLOAT: return AttrValue(attr.f());
    case onnx::AttributeProto::STRING: return AttrValue(attr.s());
    case onnx::AttributeProto::INTS:
      return AttrValue(std::vector<int64_t>(attr.ints().begin(), attr.ints().end()));
    case onnx::AttributeProto::FLOATS:
      return AttrValue(std::vector<float>(attr.floats().begin(), attr.floats().end()));
    default:
      return absl::UnimplementedError(absl::StrCat(
          "attribute '", attr.name(), "' has kind ",
          onnx::AttributeProto::AttributeType_Name(attr.type()), ", which is not supported"));
  }
}

namespace {

std::string NodeName(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? absl::StrCat(node.op_type(), "_", index) : node.name();
}

// Creates the IR node for `node` with `op_type`, its inputs, outputs and the
// attributes not listed in `skip_attrs`.
absl::StatusOr<ir::Node*> AddNode(const onnx::NodeProto& node, ImportContext& ctx,
                                  const std::string& op_type, int num_outputs = -1,
                                  std::initializer_list<const char*> skip_attrs = {}) {
  auto n = std::make_unique<ir::Node>();
  n->name = NodeName(node, ctx.node_index());
  n->op_type = op_type;
  n->onnx_index = ctx.node_index();
  n->onnx_nodes = {n->name};
  for (const auto& attr : node.attribute()) {
    bool skip = false;
    for (const char* s : skip_attrs) skip = skip || attr.name() == s;
    if (skip) continue;
    ENGINE_ASSIGN_OR_RETURN(AttrValue v, ConvertAttribute(attr));
    n->attrs.Set(attr.name(), std::move(v));
  }
  for (const std::string& in : node.input()) {
    ENGINE_ASSIGN_OR_RETURN(ir::Value * v, ctx.Input(in));
    n->inputs.push_back(v);
  }
  int outs = num_outputs < 0 ? node.output_size() : std::min(num_outputs, node.output_size());
  for (int i = 0; i < outs; ++i) n->outputs.push_back(ctx.Output(node.output(i)));
  return ctx.graph().AddNode(std::move(n));
}

absl::Status ImportDefault(const onnx::NodeProto& node, ImportContext& ctx) {
  return AddNode(node, ctx, node.op_type()).status();
}

// Optional outputs beyond `supported` must be unused (empty names).
absl::Status CheckNoExtraOutputs(const onnx::NodeProto& node, int supported) {
  for (int i = supported; i < node.output_size(); ++i) {
    if (!node.output(i).empty()) {
      return absl::UnimplementedError(absl::StrCat("output ", i, " ('", node.output(i),
                                                   "') is not supported at inference"));
    }
  }
  return absl::OkStatus();
}

absl::Status ImportConstant(const onnx::NodeProto& node, ImportContext& ctx) {
  if (node.attribute_size() != 1) {
    return absl::InvalidArgumentError("Constant must have exactly one attribute");
  }
  const onnx::AttributeProto& a = node.attribute(0);
  std::shared_ptr<Tensor> t;
  if (a.name() == "value") {
    ENGINE_ASSIGN_OR_RETURN(Tensor v, TensorFromProto(a.t()));
    t = std::make_shared<Tensor>(std::move(v));
  } else if (a.name() == "value_float") {
    t = std::make_shared<Tensor>(DataType::kFloat32, Dims{});
    *t->data_as<float>() = a.f();
  } else if (a.name() == "value_floats") {
    t = std::make_shared<Tensor>(DataType::kFloat32, Dims{a.floats_size()});
    std::copy(a.floats().begin(), a.floats().end(), t->data_as<float>());
  } else if (a.name() == "value_int") {
    t = std::make_shared<Tensor>(DataType::kInt64, Dims{});
    *t->data_as<int64_t>() = a.i();
  } else if (a.name() == "value_ints") {
    t = std::make_shared<Tensor>(DataType::kInt64, Dims{a.ints_size()});
    std::copy(a.ints().begin(), a.ints().end(), t->data_as<int64_t>());
  } else {
    return absl::UnimplementedError(absl::StrCat("Constant attribute '", a.name(),
                                                 "' is not supported"));
  }
  ctx.graph().AddConstant(node.output(0), std::move(t));
  return absl::OkStatus();
}

absl::Status ImportConstantOfShape(const onnx::NodeProto& node, ImportContext& ctx) {
  ENGINE_ASSIGN_OR_RETURN(ir::Node * n, AddNode(node, ctx, "ConstantOfShape", -1, {"value"}));
  n->attrs.Set("dtype", int64_t{1});
  n->attrs.Set("value_float", 0.0f);
  n->attrs.Set("value_int", int64_t{0});
  for (const auto& a : node.attribute()) {
    if (a.name() != "value") continue;
    ENGINE_ASSIGN_OR_RETURN(Tensor v, TensorFromProto(a.t()));
    if (v.num_elements() != 1) {
      return absl::InvalidArgumentError("ConstantOfShape value must have one element");
    }
    n->attrs.Set("dtype", static_cast<int64_t>(v.dtype()));
    switch (v.dtype()) {
      case DataType::kFloat32: n->attrs.Set("value_float", *v.data_as<float>()); break;
      case DataType::kInt64: n->attrs.Set("value_int", *v.data_as<int64_t>()); break;
      case DataType::kInt32: n->attrs.Set("value_int", int64_t{*v.data_as<int32_t>()}); break;
      case DataType::kInt8: n->attrs.Set("value_int", int64_t{*v.data_as<int8_t>()}); break;
      case DataType::kUint8:
      case DataType::kBool: n->attrs.Set("value_int", int64_t{*v.data_as<uint8_t>()}); break;
      default:
        return absl::UnimplementedError(absl::StrCat("ConstantOfShape value of type ",
                                                     DataTypeName(v.dtype()), " is not supported"));
    }
  }
  return absl::OkStatus();
}

// Inference-mode Dropout is the identity; its mask output, when used, is all
// true: ConstantOfShape(Shape(x), value=true).
absl::Status ImportDropout(const onnx::NodeProto& node, ImportContext& ctx) {
  if (node.input_size() >= 3 && !node.input(2).empty()) {
    ENGINE_ASSIGN_OR_RETURN(ir::Value * training, ctx.Input(node.input(2)));
    bool is_false = training->is_constant() && training->constant->num_elements() == 1 &&
                    *static_cast<const uint8_t*>(training->constant->data()) == 0;
    if (!is_false) {
      return absl::UnimplementedError("Dropout with training_mode other than constant false");
    }
  }
  ENGINE_ASSIGN_OR_RETURN(ir::Value * x, ctx.Input(node.input(0)));
  const std::string name = NodeName(node, ctx.node_index());
  auto id = std::make_unique<ir::Node>();
  id->name = name;
  id->op_type = "Identity";
  id->onnx_index = ctx.node_index();
  id->onnx_nodes = {name};
  id->inputs = {x};
  id->outputs = {ctx.Output(node.output(0))};
  ctx.graph().AddNode(std::move(id));
  if (node.output_size() >= 2 && !node.output(1).empty()) {
    ir::Value* shape = ctx.Output(node.output(1) + "__shape");
    auto shape_node = std::make_unique<ir::Node>();
    shape_node->name = name + "/mask_shape";
    shape_node->op_type = "Shape";
    shape_node->onnx_index = ctx.node_index();
    shape_node->onnx_nodes = {name};
    shape_node->inputs = {x};
    shape_node->outputs = {shape};
    ctx.graph().AddNode(std::move(shape_node));
    auto mask = std::make_unique<ir::Node>();
    mask->name = name + "/mask";
    mask->op_type = "ConstantOfShape";
    mask->onnx_index = ctx.node_index();
    mask->onnx_nodes = {name};
    mask->attrs.Set("dtype", static_cast<int64_t>(DataType::kBool));
    mask->attrs.Set("value_int", int64_t{1});
    mask->attrs.Set("value_float", 1.0f);
    mask->inputs = {shape};
    mask->outputs = {ctx.Output(node.output(1))};
    ctx.graph().AddNode(std::move(mask));
  }
  return absl::OkStatus();
}

absl::Status ImportBatchNormalization(const onnx::NodeProto& node, ImportContext& ctx) {
  for (const auto& a : node.attribute()) {
    if (a.name() == "training_mode" && a.i() != 0) {
      return absl::UnimplementedError("BatchNormalization with training_mode=1");
    }
  }
  ENGINE_RETURN_IF_ERROR(CheckNoExtraOutputs(node, 1));
  return AddNode(node, ctx, "BatchNormalization", 1, {"momentum", "training_mode", "spatial"})
      .status();
}

absl::Status ImportMaxPool(const onnx::NodeProto& node, ImportContext& ctx) {
  ENGINE_RETURN_IF_ERROR(CheckNoExtraOutputs(node, 1));
  return AddNode(node, ctx, "MaxPool", 1).status();
}

// PRelu before opset 7 applied a 1-D slope per channel (axis 1); the version
// converter keeps the slope as is, which numpy broadcasting would apply to the
// last axis. Reshape the constant slope to [C, 1, ..., 1].
absl::Status ImportPRelu(const onnx::NodeProto& node, ImportContext& ctx) {
  ENGINE_ASSIGN_OR_RETURN(ir::Node * n, AddNode(node, ctx, "PRelu"));
  ir::Value* slope = n->inputs.size() == 2 ? n->inputs[1] : nullptr;
  const int rank = ctx.RankOf(node.input(0));
  if (ctx.source_opset() < 7 && slope != nullptr && slope->is_constant() &&
      slope->constant->shape().size() == 1 && slope->constant->num_elements() > 1 && rank >= 2) {
    auto t = std::make_shared<Tensor>(*slope->constant);
    Dims shape(static_cast<size_t>(rank - 1), 1);
    shape[0] = t->num_elements();
    t->Reshape(shape);
    n->inputs[1] = ctx.graph().AddConstant(slope->name + "__per_channel", std::move(t));
  }
  return absl::OkStatus();
}

std::vector<OpImporter> BuildImporters() {
  std::vector<OpImporter> v;
  auto add = [&](const char* op, ImportFn fn = ImportDefault) {
    v.push_back(OpImporter{"", op, 1, 25, std::move(fn)});
  };
  // The one list of supported ONNX ops (default domain). Semantics follow the
  // newest opset <= 25; older models are converted to opset 13 first.
  add("Conv");
  add("BatchNormalization", ImportBatchNormalization);
  add("Relu");
  add("LeakyRelu");
  add("PRelu", ImportPRelu);
  add("Clip");
  add("Sigmoid");
  add("Tanh");
  add("HardSigmoid");
  add("HardSwish");
  add("Add");
  add("Sub");
  add("Mul");
  add("Div");
  add("Sum");
  add("MaxPool", ImportMaxPool);
  add("AveragePool");
  add("GlobalAveragePool");
  add("GlobalMaxPool");
  add("Gemm");
  add("MatMul");
  add("Flatten");
  add("Reshape");
  add("Transpose");
  add("Squeeze");
  add("Unsqueeze");
  add("Concat");
  add("Softmax");
  add("LRN");
  add("Pad");
  add("Dropout", ImportDropout);
  add("Identity");
  add("Constant", ImportConstant);
  add("ConstantOfShape", ImportConstantOfShape);
  add("Shape");
  add("Gather");
  add("Cast");
  add("Slice");
  // Quantization (opsets 10-25; the kernels reject the 16-bit, 4-bit and float8
  // types of opsets 19+ and float16 scales as Unimplemented).
  add("QuantizeLinear");
  add("DequantizeLinear");
  add("QLinearConv");
  add("QLinearMatMul");
  add("ConvInteger");
  add("MatMulInteger");
  return v;
}

}  // namespace

const std::vector<OpImporter>& AllImporters() {
  static const std::vector<OpImporter>* importers = new std::vector<OpImporter>(BuildImporters());
  return *importers;
}

const OpImporter* FindImporter(const std::string& domain, const std::string& op_type, int opset,
                               std::string* why) {
  const std::string d = domain == "ai.onnx" ? "" : domain;
  for (const OpImporter& imp : AllImporters()) {
    if (imp.domain != d || imp.op_type != op_type) continue;
    if (opset > imp.max_opset) {
      if (why) *why = absl::StrCat("opset ", opset, " is newer than the supported ", imp.max_opset);
      return nullptr;
    }
    return &imp;
  }
  if (why) *why = d.empty() ? "op not supported" : absl::StrCat("domain '", d, "' not supported");
  return nullptr;
}

}  // namespace engine::parser
