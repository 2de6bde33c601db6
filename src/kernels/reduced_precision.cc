#include "kernels/reduced_precision.h"

#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/reduced_float.h"
#include "common/status_macros.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

bool IsStorageDtype(DataType t) { return t == DataType::kFloat16 || t == DataType::kBFloat16; }

// Float32 copy of a constant fp16 / bf16 tensor (exact).
Tensor DecodeConstant(const Tensor& t) {
  Tensor out(DataType::kFloat32, t.shape());
  const auto* src = t.data_as<uint16_t>();
  float* dst = out.data_as<float>();
  const FloatStorage p = t.dtype() == DataType::kBFloat16 ? FloatStorage::kBf16 : FloatStorage::kFp16;
  for (int64_t i = 0; i < t.num_elements(); ++i) dst[i] = DecodeStorage(src[i], p);
  return out;
}

class ReducedPrecisionKernel final : public Kernel {
 public:
  ReducedPrecisionKernel(std::unique_ptr<Kernel> inner, FloatStorage precision, bool round_outputs)
      : inner_(std::move(inner)), precision_(precision), round_outputs_(round_outputs) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    std::vector<TensorInfo> infos(inputs.begin(), inputs.end());
    decoded_.assign(inputs.size(), Tensor());
    rounded_offset_.assign(inputs.size(), -1);
    rounded_count_.assign(inputs.size(), 0);
    rounded_bytes_ = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const TensorInfo& in = inputs[i];
      if (!in.present) continue;
      if (IsStorageDtype(in.dtype)) {
        if (in.constant == nullptr) {
          return absl::InvalidArgumentError(absl::StrCat(
              "fp16/bf16 layer: input ", i, " is a non-constant ", DataTypeName(in.dtype),
              " tensor; only weights are stored in the storage type"));
        }
        decoded_[i] = DecodeConstant(*in.constant);
        infos[i].dtype = DataType::kFloat32;
        infos[i].constant = &decoded_[i];
      } else if (in.dtype == DataType::kFloat32 && in.constant == nullptr) {
        rounded_offset_[i] = static_cast<int64_t>(rounded_bytes_);
        rounded_count_[i] = NumElements(in.shape);
        rounded_bytes_ += ScratchLayout::Align(static_cast<size_t>(rounded_count_[i]) * 4);
      }
    }
    round_output_.assign(outputs.size(), false);
    for (size_t o = 0; o < outputs.size(); ++o) {
      round_output_[o] = round_outputs_ && outputs[o].present && outputs[o].dtype == DataType::kFloat32;
    }
    output_count_.clear();
    for (const TensorInfo& o : outputs) output_count_.push_back(NumElements(o.shape));
    return inner_->Prepare(attrs, infos, outputs);
  }

  size_t ScratchBytes(int threads) const override {
    return rounded_bytes_ + ScratchLayout::Align(inner_->ScratchBytes(threads));
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    std::vector<const void*> args(in.begin(), in.end());
    for (size_t i = 0; i < args.size(); ++i) {
      if (decoded_[i].dtype() == DataType::kFloat32) {
        args[i] = decoded_[i].data();
      } else if (rounded_offset_[i] >= 0 && args[i] != nullptr) {
        auto* dst = reinterpret_cast<float*>(ctx.scratch + rounded_offset_[i]);
        const auto* src = static_cast<const float*>(args[i]);
        RoundToStorage(src, dst, rounded_count_[i], precision_);
        args[i] = dst;
      }
    }
    RunContext inner_ctx = ctx;
    inner_ctx.scratch = ctx.scratch + rounded_bytes_;
    inner_ctx.scratch_bytes = ctx.scratch_bytes - rounded_bytes_;
    inner_->Run(inner_ctx, args, out);
    for (size_t o = 0; o < out.size(); ++o) {
      if (round_output_[o] && out[o] != nullptr) {
        RoundToStorage(static_cast<float*>(out[o]), output_count_[o], precision_);
      }
    }
  }

 private:
  std::unique_ptr<Kernel> inner_;
  FloatStorage precision_;
  bool round_outputs_;
  std::vector<Tensor> decoded_;          // per input: float32 copy of a storage constant
  std::vector<int64_t> rounded_offset_;  // per input: scratch offset of its rounded copy, or -1
  std::vector<int64_t> rounded_count_;
  size_t rounded_bytes_ = 0;
  std::vector<bool> round_output_;
  std::vector<int64_t> output_count_;
};

}  // namespace

absl::StatusOr<std::optional<FloatStorage>> LayerStoragePrecision(const Attributes& attrs) {
  if (!attrs.Has(kPrecisionAttr)) return std::optional<FloatStorage>();
  ENGINE_ASSIGN_OR_RETURN(std::string name, attrs.GetString(kPrecisionAttr, ""));
  std::optional<FloatStorage> p = StoragePrecision(name);
  if (!p) {
    return absl::InvalidArgumentError(absl::StrCat("attribute '", kPrecisionAttr, "' is '", name,
                                                   "'; expected fp16 or bf16"));
  }
  return p;
}

KernelDef ReducedPrecisionDef(const KernelDef& inner, FloatStorage precision, bool round_outputs) {
  KernelDef def = inner;
  InferFn inner_infer = inner.infer;
  def.infer = [inner_infer](const Attributes& attrs, std::span<const TensorInfo> inputs)
      -> absl::StatusOr<std::vector<TensorInfo>> {
    std::vector<TensorInfo> infos(inputs.begin(), inputs.end());
    std::vector<Tensor> decoded(inputs.size());
    for (size_t i = 0; i < infos.size(); ++i) {
      if (!infos[i].present || !IsStorageDtype(infos[i].dtype)) continue;
      infos[i].dtype = DataType::kFloat32;
      if (infos[i].constant != nullptr) {
        decoded[i] = DecodeConstant(*infos[i].constant);
        infos[i].constant = &decoded[i];
      }
    }
    return inner_infer(attrs, infos);
  };
  KernelFactory inner_create = inner.create;
  def.create = [inner_create, precision, round_outputs]() -> std::unique_ptr<Kernel> {
    return std::make_unique<ReducedPrecisionKernel>(inner_create(), precision, round_outputs);
  };
  def.foldable = false;
  return def;
}

}  // namespace engine::kernels
