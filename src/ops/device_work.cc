// DescribeDeviceWork: the generic part of every op's accelerator mapping.
// Op-specific parts (product geometry, ops per element, tile unit) come from
// the op's DeviceSpec.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include <optional>
#include <string>

#include "common/reduced_float.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

Precision PrecisionOf(DataType t) {
  switch (t) {
    case DataType::kInt8:
    case DataType::kUint8: return Precision::kInt8;
    case DataType::kFloat16:
    case DataType::kBFloat16: return Precision::kFp16;  // 16-bit float datapath
    default: return Precision::kFp32;
  }
}

}  // namespace

absl::StatusOr<hw::LayerWorkload> DescribeDeviceWork(const OpDef& def, const LayerView& layer,
                                                     const OpDef* activation_def) {
  const DeviceSpec& spec = def.device;
  if (!spec.unit) {
    return absl::InternalError(absl::StrCat(layer.name, " (", std::string(layer.type),
                                            "): layer type has no accelerator mapping"));
  }
  if (spec.validate) {
    absl::Status valid = spec.validate(layer);
    if (!valid.ok()) return valid;
  }
  hw::LayerWorkload w;
  w.name = layer.name;
  w.type = std::string(layer.type);
  w.kind = *spec.unit;
  const kernels::TensorInfo* out = layer.outputs.empty() ? nullptr : &layer.outputs[0];
  Precision precision =
      spec.int8_operands ? Precision::kInt8 : PrecisionOf(out ? out->dtype : DataType::kFloat32);
  // A vector layer writing float16 from a float32 input (the Cast at the
  // output of a float16 model computed in float32) converts on the fp32
  // datapath; only its stored bytes are half-width.
  if (precision == Precision::kFp16 && *spec.unit != hw::LayerKind::kArray) {
    for (const kernels::TensorInfo& in : layer.inputs) {
      if (in.present && in.dtype == DataType::kFloat32) precision = Precision::kFp32;
    }
  }
  // An fp16/bf16 layer (attribute "precision", set by the builder's fp16
  // phase): its float32 tensors are 2-byte storage values on the device.
  std::optional<FloatStorage> storage;
  if (layer.attrs.Has(kPrecisionAttr)) {
    absl::StatusOr<std::string> name = layer.attrs.GetString(kPrecisionAttr, "");
    if (name.ok()) storage = StoragePrecision(*name);
    if (!storage) {
      return absl::InvalidArgumentError(absl::StrCat(layer.name, " (", std::string(layer.type),
                                                     "): attribute 'precision' must be fp16 or bf16"));
    }
    if (!spec.int8_operands) {
      precision = *storage == FloatStorage::kBf16 ? Precision::kBf16 : Precision::kFp16;
    }
  }
  auto ByteSize = [&storage](const kernels::TensorInfo& t) -> int64_t {
    if (storage && t.dtype == DataType::kFloat32) return NumElements(t.shape) * 2;
    return ops::ByteSize(t);
  };
  // Views move no data; their precision is reported (the tensor's), not costed.
  w.vector.precision = precision;
  if (w.kind == hw::LayerKind::kComposite) {
    if (!spec.composite) {
      return absl::InternalError(absl::StrCat(layer.name, " (", std::string(layer.type),
                                              "): composite layer without pieces"));
    }
    absl::Status st = spec.composite(layer, precision, w);
    if (!st.ok()) return st;
    for (hw::LayerWorkload& part : w.parts) {
      part.name = absl::StrCat(layer.name, "/", part.name);
      part.type = w.type;
    }
    return w;
  }
  if (w.kind == hw::LayerKind::kArray) {
    const size_t wi = static_cast<size_t>(spec.weight_input);
    if (!spec.gemm || out == nullptr || !layer.Has(0) || !layer.Has(wi)) {
      return absl::InternalError(absl::StrCat(layer.name, " (", std::string(layer.type),
                                              "): array layer without input, weights or output"));
    }
    hw::GemmWorkload& g = w.gemm;
    g.precision = precision;
    spec.gemm(layer, g);
    g.input_tensor = layer.InputTensor(0);
    g.weight_tensor = layer.InputTensor(wi);
    g.output_tensor = layer.OutputTensor(0);
    // Fused epilogue, as the optimizer's fusion passes write it: attribute
    // "activation" names an activation layer type applied to the output.
    if (activation_def != nullptr && activation_def->device.ops_per_element) {
      g.epilogue_ops_per_element += activation_def->device.ops_per_element(layer);
    }
    if (spec.requantizes) g.epilogue_ops_per_element += 2;
    if (spec.residual_input >= 0 && layer.Has(static_cast<size_t>(spec.residual_input))) {
      const size_t ri = static_cast<size_t>(spec.residual_input);
      g.residual_tensor = layer.InputTensor(ri);
      g.residual_bytes = ByteSize(layer.inputs[ri]);
      g.epilogue_ops_per_element += 1;
    }
    g.input_bytes = ByteSize(layer.inputs[0]);
    g.weight_bytes = ByteSize(layer.inputs[wi]) + g.bias_bytes * g.groups;
    g.output_bytes = ByteSize(*out);
    if (spec.depthwise_vector_alternative && g.groups > 1 && g.m == 1) {
      w.vector_alternative = true;
      hw::VectorWorkload& v = w.vector;
      v.inputs = {{g.input_tensor, g.input_bytes}, {g.weight_tensor, g.weight_bytes}};
      v.outputs = {{g.output_tensor, g.output_bytes}};
      v.out_elements = NumElements(out->shape);
      v.ops_per_element = static_cast<double>(g.k);
      v.tile_unit = std::max<int64_t>(1, g.out_w);
      v.precision = precision;
    }
    return w;
  }
  if (w.kind == hw::LayerKind::kVector || w.kind == hw::LayerKind::kDma) {
    hw::VectorWorkload& v = w.vector;
    for (size_t i = 0; i < layer.inputs.size(); ++i) {
      const kernels::TensorInfo& in = layer.inputs[i];
      if (!in.present) continue;
      // Shape-only inputs (Reshape targets, Slice bounds, Pad amounts) are
      // read by the host at build time, not moved by the device.
      if (in.constant != nullptr && in.dtype == DataType::kInt64 &&
          w.kind == hw::LayerKind::kDma) {
        continue;
      }
      v.inputs.push_back({layer.InputTensor(i), ByteSize(in)});
    }
    // Every output is written to DRAM (Split's parts, TopK's values and
    // indices, LayerNormalization's Mean and InvStdDev, ...); tiles run over
    // the first output's elements and store each output's share.
    for (size_t i = 0; i < layer.outputs.size(); ++i) {
      if (!layer.outputs[i].present) continue;
      v.outputs.push_back({layer.OutputTensor(i), ByteSize(layer.outputs[i])});
    }
    v.out_elements = out ? NumElements(out->shape) : 0;
    v.ops_per_element = spec.ops_per_element ? spec.ops_per_element(layer) : 0.0;
    v.tile_unit = spec.tile_unit ? spec.tile_unit(layer) : 1;
    v.stats_ops_per_element = std::min(spec.stats_ops_per_element, v.ops_per_element);
    v.precision = precision;
  }
  return w;
}

}  // namespace engine::ops
