#include "common/status_macros.h"
#include "executor/kernels/defs.h"
#include "executor/kernels/kernel.h"

#include "absl/strings/str_cat.h"

namespace engine::kernels {

void KernelRegistry::Register(KernelDef def) {
  std::string type = def.type;
  defs_.insert_or_assign(std::move(type), std::move(def));
}

const KernelDef* KernelRegistry::Find(std::string_view type) const {
  auto it = defs_.find(type);
  return it == defs_.end() ? nullptr : &it->second;
}

std::vector<std::string> KernelRegistry::Types() const {
  std::vector<std::string> out;
  for (const auto& [name, def] : defs_) out.push_back(name);
  return out;
}

const KernelRegistry& KernelRegistry::Builtin() {
  static const KernelRegistry* registry = [] {
    auto* r = new KernelRegistry();
    RegisterBuiltinKernels(*r);
    return r;
  }();
  return *registry;
}

// The one list of host layer types.
void RegisterBuiltinKernels(KernelRegistry& r) {
  // Matrix work: convolution and matrix products.
  r.Register(MakeConvDef());
  r.Register(MakeGemmDef());
  r.Register(MakeInt8ConvDef());
  r.Register(MakeInt8GemmDef());
  r.Register(MakeMatMulDef());
  // Imported ONNX quantized products (qlinear.cc).
  r.Register(MakeQLinearConvDef());
  r.Register(MakeConvIntegerDef());
  r.Register(MakeQLinearMatMulDef());
  r.Register(MakeMatMulIntegerDef());
  // Pooling.
  for (const char* t : {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                        "Int8AveragePool", "Int8GlobalAveragePool"}) {
    r.Register(MakePoolDef(t));
  }
  // Normalization.
  r.Register(MakeBatchNormalizationDef());
  r.Register(MakeSoftmaxDef());
  r.Register(MakeLrnDef());
  // Elementwise.
  for (const char* t : {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish"}) {
    r.Register(MakeUnaryDef(t));
  }
  for (const char* t : {"Add", "Sub", "Mul", "Div", "PRelu"}) r.Register(MakeBinaryDef(t));
  r.Register(MakeSumDef());
  r.Register(MakeQuantizeLinearDef());
  r.Register(MakeDequantizeLinearDef());
  // Data movement and shape computations.
  r.Register(MakeIdentityDef());
  r.Register(MakeFlattenDef());
  r.Register(MakeReshapeDef());
  r.Register(MakeTransposeDef());
  r.Register(MakeSqueezeDef());
  r.Register(MakeUnsqueezeDef());
  r.Register(MakeConcatDef());
  r.Register(MakePadDef());
  r.Register(MakeShapeDef());
  r.Register(MakeGatherDef());
  r.Register(MakeConstantOfShapeDef());
  r.Register(MakeCastDef());
  r.Register(MakeSliceDef());
}

absl::StatusOr<std::vector<Tensor>> EvaluateLayer(const KernelRegistry& registry,
                                                  std::string_view type, const Attributes& attrs,
                                                  std::span<const Tensor* const> inputs) {
  const KernelDef* def = registry.Find(type);
  if (def == nullptr) {
    return absl::UnimplementedError(absl::StrCat("no kernel for layer type '", std::string(type), "'"));
  }
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
  ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out_info, def->infer(attrs, in_info));
  std::unique_ptr<Kernel> kernel = def->create();
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

}  // namespace engine::kernels
