// TEMPORARY PLACEHOLDER: to be replaced by the real implementation.
#include "executor/kernels/defs.h"

namespace engine::kernels {

KernelDef MakeGemmDef() {
  KernelDef d;
  d.type = "Gemm";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

KernelDef MakeMatMulDef() {
  KernelDef d;
  d.type = "MatMul";
  d.infer = [](const Attributes&, std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> { return absl::UnimplementedError("not implemented yet"); };
  return d;
}

}  // namespace engine::kernels
