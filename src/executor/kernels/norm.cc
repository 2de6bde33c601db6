// TEMPORARY PLACEHOLDER: to be replaced by the real implementation.
#include "executor/kernels/defs.h"

namespace engine::kernels {

KernelDef MakeBatchNormalizationDef() {
  KernelDef d;
  d.type = "BatchNormalization";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeSoftmaxDef() {
  KernelDef d;
  d.type = "Softmax";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeLrnDef() {
  KernelDef d;
  d.type = "Lrn";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

}  // namespace engine::kernels
