// Data movement and shape computations: DMA-only layers (Transpose, Concat,
// Pad, Slice, Gather, ConstantOfShape), views whose output aliases the input
// (Identity, Flatten, Reshape, Squeeze, Unsqueeze, Shape), constants folded
// from static shapes (Size, EyeLike), and the import-only ops Constant and
// Dropout, which their importers rewrite.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

OpDef View(const std::string& type, kernels::KernelDef host) {
  OpDef op;
  op.type = type;
  op.host = std::move(host);
  op.device = ViewDevice();
  op.int8.role = Int8Role::kPassThrough;  // a view of int8 values is int8
  return op;
}

absl::Status ImportConstant(const ImportNode& node, ImportSink& sink) {
  if (node.attrs.values().size() + node.tensor_attrs.size() != 1 || node.outputs.empty()) {
    return absl::InvalidArgumentError("Constant must have exactly one attribute");
  }
  if (auto it = node.tensor_attrs.find("value"); it != node.tensor_attrs.end()) {
    sink.AddConstant(node.outputs[0], it->second);
    return absl::OkStatus();
  }
  if (!node.tensor_attrs.empty()) {
    return absl::UnimplementedError(absl::StrCat("Constant attribute '",
                                                 node.tensor_attrs.begin()->first,
                                                 "' is not supported"));
  }
  const auto& [name, value] = *node.attrs.values().begin();
  Tensor t;
  if (name == "value_float" && std::holds_alternative<float>(value)) {
    t = Tensor(DataType::kFloat32, Dims{});
    *t.data_as<float>() = std::get<float>(value);
  } else if (name == "value_floats" && std::holds_alternative<std::vector<float>>(value)) {
    const auto& v = std::get<std::vector<float>>(value);
    t = Tensor(DataType::kFloat32, Dims{static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data_as<float>());
  } else if (name == "value_int" && std::holds_alternative<int64_t>(value)) {
    t = Tensor(DataType::kInt64, Dims{});
    *t.data_as<int64_t>() = std::get<int64_t>(value);
  } else if (name == "value_ints" && std::holds_alternative<std::vector<int64_t>>(value)) {
    const auto& v = std::get<std::vector<int64_t>>(value);
    t = Tensor(DataType::kInt64, Dims{static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data_as<int64_t>());
  } else {
    return absl::UnimplementedError(absl::StrCat("Constant attribute '", name,
                                                 "' is not supported"));
  }
  sink.AddConstant(node.outputs[0], std::move(t));
  return absl::OkStatus();
}

// The optional `value` tensor attribute becomes typed scalar attributes
// (dtype, value_float, value_int) of the ConstantOfShape layer.
absl::Status ImportConstantOfShape(const ImportNode& node, ImportSink& sink) {
  Attributes attrs = node.attrs;
  attrs.Set("dtype", int64_t{1});
  attrs.Set("value_float", 0.0f);
  attrs.Set("value_int", int64_t{0});
  if (auto it = node.tensor_attrs.find("value"); it != node.tensor_attrs.end()) {
    const Tensor& v = it->second;
    if (v.num_elements() != 1) {
      return absl::InvalidArgumentError("ConstantOfShape value must have one element");
    }
    attrs.Set("dtype", static_cast<int64_t>(v.dtype()));
    switch (v.dtype()) {
      case DataType::kFloat32: attrs.Set("value_float", *v.data_as<float>()); break;
      case DataType::kInt64: attrs.Set("value_int", *v.data_as<int64_t>()); break;
      case DataType::kInt32: attrs.Set("value_int", int64_t{*v.data_as<int32_t>()}); break;
      case DataType::kInt8: attrs.Set("value_int", int64_t{*v.data_as<int8_t>()}); break;
      case DataType::kUint8:
      case DataType::kBool: attrs.Set("value_int", int64_t{*v.data_as<uint8_t>()}); break;
      default:
        return absl::UnimplementedError(absl::StrCat("ConstantOfShape value of type ",
                                                     DataTypeName(v.dtype()),
                                                     " is not supported"));
    }
  }
  return sink.AddLayer(node.name, "ConstantOfShape", std::move(attrs), node.inputs, node.outputs);
}

// Dropout (opsets 1-22) is the identity, with an all-true mask output when
// used (ConstantOfShape(Shape(x), value=true)), whenever no element can be
// dropped: training_mode absent or false (inference), or ratio 0 (opset 12+
// inputs; the older `is_test`/`ratio` attributes are inference forms). Both
// inputs must then be build-time constants (an initializer, a Constant, or a
// graph input bound with BuilderConfig::input_values). training_mode true
// with a ratio > 0 draws a random mask: Unimplemented, naming the ratio (the
// engine compiles inference graphs and has no random-number layers).
absl::Status ImportDropout(const ImportNode& node, ImportSink& sink) {
  auto input = [&](size_t i) -> std::string {
    return node.inputs.size() > i ? node.inputs[i] : std::string();
  };
  auto scalar = [&](size_t i, const char* what) -> absl::StatusOr<const Tensor*> {
    const Tensor* t = sink.ConstantValue(input(i));
    if (t == nullptr) {
      return absl::UnimplementedError(absl::StrCat(
          "Dropout: input '", what, "' ('", input(i),
          "') must be a constant tensor: the engine compiles a static inference graph"));
    }
    if (t->num_elements() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Dropout: input '", what, "' must be a scalar, got shape ", DimsToString(t->shape())));
    }
    return t;
  };
  bool training = false;
  if (!input(2).empty()) {
    ENGINE_ASSIGN_OR_RETURN(const Tensor* t, scalar(2, "training_mode"));
    if (t->dtype() != DataType::kBool) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Dropout: input 'training_mode' must be bool, got ", DataTypeName(t->dtype())));
    }
    training = *static_cast<const uint8_t*>(t->data()) != 0;
  }
  if (training) {
    float ratio = 0.5f;  // the default when the input is absent
    if (!input(1).empty()) {
      ENGINE_ASSIGN_OR_RETURN(const Tensor* r, scalar(1, "ratio"));
      if (r->dtype() != DataType::kFloat32) {
        return absl::UnimplementedError(absl::StrCat(
            "Dropout: input 'ratio' of dtype ", DataTypeName(r->dtype()), " is not supported"));
      }
      ratio = *r->data_as<float>();
    }
    if (ratio != 0.0f) {
      return absl::UnimplementedError(absl::StrCat(
          "Dropout: training_mode true with ratio ", ratio,
          " drops random elements; only ratio 0 or training_mode false (the identity) is "
          "supported"));
    }
  }
  ENGINE_RETURN_IF_ERROR(
      sink.AddLayer(node.name, "Identity", Attributes(), {node.inputs[0]}, {node.outputs[0]}));
  if (node.outputs.size() >= 2 && !node.outputs[1].empty()) {
    const std::string shape = node.outputs[1] + "__shape";
    ENGINE_RETURN_IF_ERROR(
        sink.AddLayer(node.name + "/mask_shape", "Shape", Attributes(), {node.inputs[0]}, {shape}));
    Attributes mask;
    mask.Set("dtype", static_cast<int64_t>(DataType::kBool));
    mask.Set("value_int", int64_t{1});
    mask.Set("value_float", 1.0f);
    ENGINE_RETURN_IF_ERROR(sink.AddLayer(node.name + "/mask", "ConstantOfShape",
                                             std::move(mask), {shape}, {node.outputs[1]}));
  }
  return absl::OkStatus();
}

}  // namespace

OpDef TransposeOp() {
  OpDef op = Dma("Transpose", kernels::MakeTransposeDef());
  op.int8.role = Int8Role::kPassThrough;
  op.extent = ExtentRule::kTranspose;
  return op;
}
OpDef ConcatOp() {
  OpDef op = Dma("Concat", kernels::MakeConcatDef());
  op.int8.role = Int8Role::kConcat;
  op.extent = ExtentRule::kOtherAxes;
  return op;
}
OpDef PadOp() { return Dma("Pad", kernels::MakePadDef()); }
OpDef SliceOp() {
  OpDef op = Dma("Slice", kernels::MakeSliceDef());
  op.int8.role = Int8Role::kPassThrough;
  op.extent = ExtentRule::kOtherAxes;
  return op;
}
OpDef GatherOp() {
  OpDef op = Dma("Gather", kernels::MakeGatherDef());
  op.extent = ExtentRule::kGather;
  return op;
}
OpDef ConstantOfShapeOp() {
  OpDef op = Dma("ConstantOfShape", kernels::MakeConstantOfShapeDef());
  op.import = ImportConstantOfShape;
  return op;
}

namespace {
// The reshaping views keep a data-dependent dimension as a leading block
// (ExtentRule::kReshape); Shape refuses it (a shape of a bound).
OpDef ReshapeView(const std::string& type, kernels::KernelDef host) {
  OpDef op = View(type, std::move(host));
  op.extent = ExtentRule::kReshape;
  return op;
}
}  // namespace
OpDef IdentityOp() { return ReshapeView("Identity", kernels::MakeIdentityDef()); }
OpDef FlattenOp() { return ReshapeView("Flatten", kernels::MakeFlattenDef()); }
OpDef ReshapeOp() { return ReshapeView("Reshape", kernels::MakeReshapeDef()); }
OpDef SqueezeOp() { return ReshapeView("Squeeze", kernels::MakeSqueezeDef()); }
OpDef UnsqueezeOp() { return ReshapeView("Unsqueeze", kernels::MakeUnsqueezeDef()); }
OpDef ShapeOp() {
  OpDef op = View("Shape", kernels::MakeShapeDef());
  op.int8.role = Int8Role::kFloat;  // an int64 shape, not a scaled value
  return op;
}

// Size: folded at build time from the input's static shape (the kernel is
// data-independent), so it never reaches the accelerator; were it to, it is
// a scalar known from the shape: a view.
OpDef SizeOp() {
  OpDef op;
  op.type = "Size";
  op.host = kernels::MakeSizeDef();
  op.device = ViewDevice();
  return op;
}

// EyeLike: like Size, folded at build time from the input's static shape
// (the kernel is data-independent, the input's values are never read), so it
// never reaches the accelerator: a view.
OpDef EyeLikeOp() {
  OpDef op;
  op.type = "EyeLike";
  op.min_opset = 9;
  op.host = kernels::MakeEyeLikeDef();
  op.device = ViewDevice();
  return op;
}

OpDef ConstantOp() {
  OpDef op;
  op.type = "Constant";
  op.import = ImportConstant;  // defines a constant; no layer
  return op;
}

OpDef DropoutOp() {
  OpDef op;
  op.type = "Dropout";
  op.import = ImportDropout;  // Identity (+ the all-true mask)
  return op;
}

}  // namespace engine::ops
