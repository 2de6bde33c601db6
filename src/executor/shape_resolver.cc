#include "executor/shape_resolver.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace engine::exec {
namespace {

bool IsIntegral(DataType t) {
  return t == DataType::kInt64 || t == DataType::kInt32 || t == DataType::kBool ||
         t == DataType::kInt8 || t == DataType::kUint8;
}

}  // namespace

bool IsShapeValued(const kernels::KernelDef& def, std::span<const kernels::TensorInfo> inputs,
                   std::span<const kernels::TensorInfo> outputs) {
  if (def.data_independent) return true;
  if (!def.foldable) return false;
  for (const kernels::TensorInfo& in : inputs) {
    if (in.present && in.constant == nullptr) return false;
  }
  for (const kernels::TensorInfo& out : outputs) {
    const bool small_float = (out.dtype == DataType::kFloat32 || out.dtype == DataType::kFloat64 ||
                              out.dtype == DataType::kFloat16) &&
                             out.shape.size() <= 1 && NumElements(out.shape) <= 16;
    if (!IsIntegral(out.dtype) && !small_float) return false;
  }
  return true;
}

std::vector<Tensor> EvaluateLayer(const kernels::Kernel& kernel,
                                  std::span<const kernels::TensorInfo> inputs,
                                  std::span<const kernels::TensorInfo> outputs) {
  std::vector<Tensor> values;
  values.reserve(outputs.size());
  for (const kernels::TensorInfo& o : outputs) values.emplace_back(o.dtype, o.shape);
  std::vector<const void*> in;
  for (const kernels::TensorInfo& i : inputs) {
    in.push_back(i.present && i.constant != nullptr ? i.constant->data() : nullptr);
  }
  std::vector<void*> out;
  for (Tensor& t : values) out.push_back(t.data());
  Tensor scratch(DataType::kUint8, {static_cast<int64_t>(kernel.ScratchBytes(1))});
  kernels::RunContext rc;
  rc.scratch = static_cast<std::byte*>(scratch.data());
  rc.scratch_bytes = scratch.byte_size();
  kernel.Run(rc, in, out);
  return values;
}

absl::StatusOr<ResolvedShapes> ResolveShapes(const Engine::Impl& e,
                                             const std::vector<Dims>& input_shapes) {
  const size_t n = e.tensors.size();
  ResolvedShapes r;
  r.shapes.resize(n);
  for (size_t i = 0; i < n; ++i) r.shapes[i] = e.tensors[i].shape;
  for (size_t i = 0; i < e.input_index.size() && i < input_shapes.size(); ++i) {
    r.shapes[e.input_index[i]] = input_shapes[i];
  }
  std::vector<std::shared_ptr<const Tensor>> known(n);
  r.kernels.reserve(e.exec.size());
  for (size_t l = 0; l < e.exec.size(); ++l) {
    const Engine::Impl::LayerExec& ex = e.exec[l];
    const std::string where =
        absl::StrCat("layer '", e.layers[l].name, "' (", e.layers[l].type, ")");
    std::vector<kernels::TensorInfo> in_info, out_info;
    for (int idx : ex.inputs) {
      kernels::TensorInfo ti;
      if (idx < 0) {
        ti.present = false;
      } else {
        const auto& slot = e.tensors[idx];
        ti.dtype = slot.dtype;
        ti.shape = r.shapes[idx];
        ti.constant = slot.constant >= 0 ? &e.constants[slot.constant] : known[idx].get();
      }
      in_info.push_back(std::move(ti));
    }
    auto inferred = ex.def->infer(ex.attrs, in_info);
    if (!inferred.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " refuses the input shapes: ", inferred.status().message(),
          " (are the shapes of the engine's inputs consistent with each other?)"));
    }
    if (inferred->size() != ex.outputs.size()) {
      return absl::InternalError(absl::StrCat(where, ": output count changed"));
    }
    for (size_t o = 0; o < ex.outputs.size(); ++o) {
      const int idx = ex.outputs[o];
      const auto& slot = e.tensors[idx];
      const kernels::TensorInfo& t = (*inferred)[o];
      const size_t bytes = static_cast<size_t>(NumElements(t.shape)) * DataTypeSize(t.dtype);
      if (t.dtype != slot.dtype) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": output '", slot.name,
                                                       "' changes dtype at these shapes"));
      }
      if (bytes > slot.bytes) {
        return absl::ResourceExhaustedError(absl::StrCat(
            where, ": output '", slot.name, "' ", DimsToString(t.shape), " needs ", bytes,
            " bytes at these input shapes, more than the ", slot.bytes,
            " bytes of its arena slot (planned at the profiles' largest shapes, where it is ",
            DimsToString(slot.shape), ")"));
      }
      r.shapes[idx] = t.shape;
      out_info.push_back(kernels::TensorInfo{t.dtype, t.shape, nullptr, true});
    }
    std::unique_ptr<kernels::Kernel> kernel = ex.def->create();
    absl::Status prepared = kernel->Prepare(ex.attrs, in_info, out_info);
    if (!prepared.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " refuses the input shapes: ", prepared.message()));
    }
    if (ex.shape_valued) {
      std::vector<Tensor> values = EvaluateLayer(*kernel, in_info, out_info);
      for (size_t o = 0; o < values.size(); ++o) {
        known[ex.outputs[o]] = std::make_shared<const Tensor>(std::move(values[o]));
      }
    }
    r.kernels.push_back(std::move(kernel));
  }
  return r;
}

}  // namespace engine::exec
