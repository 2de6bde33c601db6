// TEMPORARY PLACEHOLDER: to be replaced by the real implementation.
#include "executor/kernels/defs.h"

namespace engine::kernels {

KernelDef MakeUnaryDef(const std::string& type) {
  KernelDef d;
  d.type = type;
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeBinaryDef(const std::string& type) {
  KernelDef d;
  d.type = type;
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeSumDef() {
  KernelDef d;
  d.type = "Sum";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

}  // namespace engine::kernels
