// Size: the number of elements of the input, as an int64 scalar (ONNX Size,
// opsets 1, 13, 19, 21; the semantics never changed). Data-independent: the
// value follows from the input's static shape, so shape propagation folds
// every Size layer at build time.
#include <cstring>

#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

// Output: int64 scalar, shape [].
absl::StatusOr<std::vector<TensorInfo>> InferSize(const Attributes&,
                                                  std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "Size"));
  if (!inputs[0].present) return absl::InvalidArgumentError("Size: input 'data' is absent");
  return std::vector<TensorInfo>{MakeInfo(DataType::kInt64, {})};
}

class SizeKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferSize(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Size"));
    elements_ = NumElements(inputs[0].shape);
    return absl::OkStatus();
  }

  // Reads no input data (KernelDef::data_independent).
  void Run(const RunContext&, std::span<const void* const>,
           std::span<void* const> out) const override {
    std::memcpy(out[0], &elements_, sizeof(elements_));
  }

 private:
  int64_t elements_ = 0;
};

}  // namespace

KernelDef MakeSizeDef() {
  KernelDef def = MakeDef<SizeKernel>("Size", InferSize);
  def.data_independent = true;
  return def;
}

}  // namespace engine::kernels
