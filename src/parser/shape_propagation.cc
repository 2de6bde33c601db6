#include "parser/shape_propagation.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/data_dependent.h"
#include "kernels/kernel.h"
#include "ops/op_registry.h"

namespace engine::parser {
namespace {

bool IsIntegral(DataType t) {
  return t == DataType::kInt64 || t == DataType::kInt32 || t == DataType::kBool ||
         t == DataType::kInt8 || t == DataType::kUint8;
}

// A float output small enough to be a shape operand (a Range limit, Resize
// scales): rank <= 1, at most kMaxFoldedFloatElements elements.
bool ShapeLikeFloat(DataType t, const Dims& shape) {
  const bool is_float =
      t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kFloat64;
  return is_float && shape.size() <= 1 && NumElements(shape) <= kMaxFoldedFloatElements;
}

}  // namespace

absl::Status PropagateShapes(ir::Graph& graph, const BuildLimits& limits,
                             bool keep_shape_subgraphs) {
  const auto& registry = ops::OpRegistry::Builtin();
  std::vector<ir::Node*> folded;
  std::set<const ir::Value*> tainted;  // values with a data-dependent dimension
  for (const auto& node_ptr : graph.nodes()) {
    ir::Node& node = *node_ptr;
    const std::string where = node.Describe();
    const kernels::KernelDef* def = registry.FindKernel(node.op_type);
    if (def == nullptr) {
      return absl::InternalError(absl::StrCat(where, ": no kernel for this op"));
    }
    std::vector<kernels::TensorInfo> inputs;
    std::vector<const Tensor*> constants;
    bool all_constant = true;
    bool any_shape_value = false;
    for (const ir::Value* in : node.inputs) {
      kernels::TensorInfo info;
      if (in == nullptr) {
        info.present = false;
        constants.push_back(nullptr);
      } else {
        if (!in->has_shape) {
          return absl::InternalError(absl::StrCat(where, ": input '", in->name, "' has no shape"));
        }
        info.dtype = in->dtype;
        info.shape = in->shape;
        const Tensor* value = in->is_constant() ? in->constant.get() : in->shape_value.get();
        info.constant = value;
        all_constant = all_constant && value != nullptr;
        any_shape_value = any_shape_value || (!in->is_constant() && value != nullptr);
        constants.push_back(value);
      }
      inputs.push_back(std::move(info));
    }
    // Data-dependent shapes: a value computed from a NonZero /
    // NonMaxSuppression / run-time-K TopK output has a bounded dimension
    // (ops/extent.h); its shape is the bound, not the run-time extent.
    const ir::Value* tainted_in = nullptr;
    for (const ir::Value* in : node.inputs) {
      if (in != nullptr && tainted.count(in) > 0) tainted_in = in;
    }
    // Layers whose outputs depend only on static input shapes (Shape, Size)
    // fold whatever their inputs are.
    if (def->data_independent) {
      if (tainted_in != nullptr) {
        return absl::UnimplementedError(absl::StrCat(
            where, ": reads the shape of '", tainted_in->name,
            "', which has a data-dependent dimension (NonZero, NonMaxSuppression or TopK with a "
            "run-time K upstream); its extent is only known at run time and shape computations "
            "on it are not supported"));
      }
      auto values = kernels::EvaluateOnShapes(*def, node.attrs, inputs);
      if (!values.ok()) return Annotate(values.status(), where);
      if (values->size() != node.outputs.size()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": has ", node.outputs.size(),
                                                       " outputs, the op produces ",
                                                       values->size()));
      }
      // Dynamic builds keep a Shape of an activation: its value changes with
      // the input shapes.
      bool keep = false;
      if (keep_shape_subgraphs) {
        for (const ir::Value* in : node.inputs) keep = keep || (in != nullptr && !in->is_constant());
      }
      for (size_t i = 0; i < values->size(); ++i) {
        ir::Value* out = node.outputs[i];
        out->dtype = (*values)[i].dtype();
        out->shape = (*values)[i].shape();
        out->has_shape = true;
        auto value = std::make_shared<Tensor>(std::move((*values)[i]));
        if (keep) {
          out->shape_value = std::move(value);
        } else {
          out->constant = std::move(value);
        }
      }
      if (!keep) folded.push_back(&node);
      continue;
    }
    auto outputs = def->infer(node.attrs, inputs);
    if (!outputs.ok()) return Annotate(outputs.status(), where);
    if (tainted_in != nullptr ||
        !kernels::DataDependentDims(node.op_type, node.attrs, inputs).empty()) {
      for (const ir::Value* out : node.outputs) tainted.insert(out);
    }
    if (outputs->size() != node.outputs.size()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": has ", node.outputs.size(),
                                                     " outputs, the op produces ",
                                                     outputs->size()));
    }
    bool integral = true;
    for (size_t i = 0; i < outputs->size(); ++i) {
      ir::Value* out = node.outputs[i];
      // Sizes before anything of this shape exists (a later pass, the arena
      // or the host kernels would allocate it).
      ENGINE_RETURN_IF_ERROR(CheckTensorSize(absl::StrCat(where, ": output '", out->name, "'"),
                                             (*outputs)[i].shape, (*outputs)[i].dtype,
                                             limits.max_tensor_bytes, "max_tensor_bytes"));
      out->dtype = (*outputs)[i].dtype;
      out->shape = (*outputs)[i].shape;
      out->has_shape = true;
      integral = integral && (IsIntegral(out->dtype) || ShapeLikeFloat(out->dtype, out->shape));
    }
    if (all_constant && integral && def->foldable) {
      for (const ir::Value* out : node.outputs) {
        ENGINE_RETURN_IF_ERROR(CheckTensorSize(
            absl::StrCat(where, ": folded constant '", out->name, "'"), out->shape, out->dtype,
            limits.max_constant_bytes, "max_constant_bytes"));
      }
      auto values = kernels::EvaluateKernel(*def, node.attrs, constants);
      if (!values.ok()) return Annotate(values.status(), where);
      for (size_t i = 0; i < values->size(); ++i) {
        auto value = std::make_shared<Tensor>(std::move((*values)[i]));
        if (any_shape_value) {
          node.outputs[i]->shape_value = std::move(value);  // stays a layer (dynamic build)
        } else {
          node.outputs[i]->constant = std::move(value);
        }
      }
      if (!any_shape_value) folded.push_back(&node);
    }
  }
  for (ir::Node* n : folded) graph.RemoveNode(n);
  graph.RemoveUnusedValues();
  return absl::OkStatus();
}

}  // namespace engine::parser
