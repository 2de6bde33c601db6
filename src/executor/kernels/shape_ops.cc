// TEMPORARY PLACEHOLDER: to be replaced by the real implementation.
#include "executor/kernels/defs.h"

namespace engine::kernels {

KernelDef MakeIdentityDef() {
  KernelDef d;
  d.type = "Identity";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeFlattenDef() {
  KernelDef d;
  d.type = "Flatten";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeReshapeDef() {
  KernelDef d;
  d.type = "Reshape";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeTransposeDef() {
  KernelDef d;
  d.type = "Transpose";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeSqueezeDef() {
  KernelDef d;
  d.type = "Squeeze";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeUnsqueezeDef() {
  KernelDef d;
  d.type = "Unsqueeze";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeConcatDef() {
  KernelDef d;
  d.type = "Concat";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakePadDef() {
  KernelDef d;
  d.type = "Pad";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeShapeDef() {
  KernelDef d;
  d.type = "Shape";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeGatherDef() {
  KernelDef d;
  d.type = "Gather";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeConstantOfShapeDef() {
  KernelDef d;
  d.type = "ConstantOfShape";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeCastDef() {
  KernelDef d;
  d.type = "Cast";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeSliceDef() {
  KernelDef d;
  d.type = "Slice";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

}  // namespace engine::kernels
