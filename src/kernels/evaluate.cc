// EvaluateKernel: one kernel run on constant inputs (kernel.h).
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/kernel.h"

namespace engine::kernels {

absl::StatusOr<std::vector<Tensor>> EvaluateKernel(const KernelDef& def, const Attributes& attrs,
                                                   std::span<const Tensor* const> inputs) {
  std::vector<TensorInfo> in_info;
  for (const Tensor* t : inputs) {
    TensorInfo info;
    if (t == nullptr) {
      info.present = false;
    } else {
      info.dtype = t->dtype();
      info.shape = t->shape();
      info.constant = t;
    }
    in_info.push_back(std::move(info));
  }
  ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out_info, def.infer(attrs, in_info));
  std::unique_ptr<Kernel> kernel = def.create();
  ENGINE_RETURN_IF_ERROR(kernel->Prepare(attrs, in_info, out_info));
  std::vector<Tensor> outputs;
  outputs.reserve(out_info.size());
  for (const TensorInfo& info : out_info) outputs.emplace_back(info.dtype, info.shape);
  std::vector<const void*> in_ptrs;
  for (const Tensor* t : inputs) in_ptrs.push_back(t == nullptr ? nullptr : t->data());
  std::vector<void*> out_ptrs;
  for (Tensor& t : outputs) out_ptrs.push_back(t.data());
  Tensor scratch(DataType::kUint8, {static_cast<int64_t>(kernel->ScratchBytes(1))});
  RunContext ctx{static_cast<std::byte*>(scratch.data()), scratch.byte_size()};
  kernel->Run(ctx, in_ptrs, out_ptrs);
  return outputs;
}

absl::StatusOr<std::vector<Tensor>> EvaluateOnShapes(const KernelDef& def, const Attributes& attrs,
                                                     std::span<const TensorInfo> inputs) {
  if (!def.data_independent) {
    return absl::FailedPreconditionError(
        absl::StrCat("layer type '", def.type, "' reads its input values"));
  }
  ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out_info, def.infer(attrs, inputs));
  std::unique_ptr<Kernel> kernel = def.create();
  ENGINE_RETURN_IF_ERROR(kernel->Prepare(attrs, inputs, out_info));
  std::vector<Tensor> outputs;
  outputs.reserve(out_info.size());
  for (const TensorInfo& info : out_info) outputs.emplace_back(info.dtype, info.shape);
  const std::vector<const void*> in_ptrs(inputs.size(), nullptr);
  std::vector<void*> out_ptrs;
  for (Tensor& t : outputs) out_ptrs.push_back(t.data());
  Tensor scratch(DataType::kUint8, {static_cast<int64_t>(kernel->ScratchBytes(1))});
  RunContext ctx{static_cast<std::byte*>(scratch.data()), scratch.byte_size()};
  kernel->Run(ctx, in_ptrs, out_ptrs);
  return outputs;
}

}  // namespace engine::kernels
