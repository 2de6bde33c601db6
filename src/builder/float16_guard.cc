#include "builder/float16_guard.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "builder/fp16_phase.h"
#include "common/reduced_float.h"
#include "common/status_macros.h"
#include "kernels/kernel.h"
#include "ops/layer_precision.h"
#include "ops/op_registry.h"

namespace engine::builder {
namespace {

FloatStorage StorageOf(Precision p) {
  return p == Precision::kBf16 ? FloatStorage::kBf16 : FloatStorage::kFp16;
}

// `t` (float32) rounded to the storage type, as a float32 tensor (what the
// wrapper kernel reads for an activation at the layer boundary).
Tensor Rounded(const Tensor& t, FloatStorage p) {
  Tensor out(DataType::kFloat32, t.shape());
  RoundToStorage(t.data_as<float>(), out.data_as<float>(), t.num_elements(), p);
  return out;
}

// `t` (float32) stored in the storage type (what the fp16 phase writes into
// the plan for an array layer's weights and biases).
Tensor Stored(const Tensor& t, FloatStorage p) {
  Tensor out(p == FloatStorage::kBf16 ? DataType::kBFloat16 : DataType::kFloat16, t.shape());
  const float* src = t.data_as<float>();
  auto* dst = out.data_as<uint16_t>();
  for (int64_t i = 0; i < t.num_elements(); ++i) dst[i] = EncodeStorage(src[i], p);
  return out;
}

}  // namespace

std::vector<IsolatedFloatLayer> Float16GuardCandidates(const ir::Graph& graph,
                                                       std::vector<std::string>& capture) {
  const ops::OpRegistry& registry = ops::OpRegistry::Builtin();
  std::set<std::string> seen(capture.begin(), capture.end());
  auto add = [&](const std::string& name) {
    if (seen.insert(name).second) capture.push_back(name);
  };
  std::vector<IsolatedFloatLayer> layers;
  for (const auto& node : graph.nodes()) {
    if (!IsFloatLayer(*node)) continue;
    const ops::OpDef* def = registry.Find(node->op_type);
    if (def == nullptr || !def->has_kernel() || !def->device.unit ||
        *def->device.unit == hw::LayerKind::kDma) {
      continue;
    }
    bool float_inputs = true;
    for (const ir::Value* v : node->inputs) {
      if (v != nullptr && !v->is_constant() && v->dtype != DataType::kFloat32) float_inputs = false;
    }
    if (!float_inputs) continue;
    IsolatedFloatLayer layer{node->name, node->op_type, node->attrs, {}, {}, {}};
    for (const ir::Value* v : node->inputs) {
      layer.constants.push_back(v != nullptr && v->is_constant() ? v->constant : nullptr);
      layer.activations.push_back(v != nullptr && !v->is_constant() ? v->name : std::string());
      if (v != nullptr && !v->is_constant()) add(v->name);
    }
    for (const ir::Value* v : node->outputs) {
      layer.outputs.push_back(v != nullptr ? v->name : std::string());
      if (v != nullptr) add(v->name);
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

absl::StatusOr<double> IsolatedFloat16Sqnr(const IsolatedFloatLayer& layer, Precision precision,
                                           const CapturedBatches& captured) {
  const ops::OpRegistry& registry = ops::OpRegistry::Builtin();
  const FloatStorage storage = StorageOf(precision);
  Attributes attrs = layer.attrs;
  attrs.Set(kPrecisionAttr, std::string(PrecisionName(precision)));
  ENGINE_ASSIGN_OR_RETURN(kernels::KernelDef def, ops::HostKernelDef(registry, layer.type, attrs));
  const ops::OpDef* op = registry.Find(layer.type);
  const bool array = op != nullptr && op->device.unit && *op->device.unit == hw::LayerKind::kArray;
  // Constants as the build stores them: array layers' float32 weights and
  // biases in the storage type, other constants unchanged.
  std::vector<Tensor> stored(layer.constants.size());
  std::vector<bool> is_stored(layer.constants.size(), false);
  for (size_t i = 0; i < layer.constants.size(); ++i) {
    const Tensor* c = layer.constants[i].get();
    if (c != nullptr && array && c->dtype() == DataType::kFloat32) {
      stored[i] = Stored(*c, storage);
      is_stored[i] = true;
    }
  }
  double signal = 0, noise = 0;
  bool measured = false, broken = false;
  for (const auto& batch : captured) {
    std::vector<Tensor> rounded(layer.activations.size());
    std::vector<const Tensor*> inputs(layer.activations.size(), nullptr);
    bool complete = true;
    for (size_t i = 0; i < layer.activations.size(); ++i) {
      if (layer.constants[i] != nullptr) {
        inputs[i] = is_stored[i] ? &stored[i] : layer.constants[i].get();
        continue;
      }
      if (layer.activations[i].empty()) continue;
      auto it = batch.find(layer.activations[i]);
      if (it == batch.end()) { complete = false; break; }
      rounded[i] = Rounded(it->second, storage);
      inputs[i] = &rounded[i];
    }
    std::vector<const Tensor*> refs(layer.outputs.size(), nullptr);
    for (size_t o = 0; complete && o < layer.outputs.size(); ++o) {
      if (layer.outputs[o].empty()) continue;
      auto it = batch.find(layer.outputs[o]);
      if (it == batch.end()) { complete = false; break; }
      refs[o] = &it->second;
    }
    if (!complete) continue;
    while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();
    absl::StatusOr<std::vector<Tensor>> out = kernels::EvaluateKernel(def, attrs, inputs);
    if (!out.ok()) {
      return Annotate(out.status(), absl::StrCat("float16 accuracy guard: layer '", layer.name,
                                                 "' (", layer.type, ") in ",
                                                 PrecisionName(precision)));
    }
    for (size_t o = 0; o < refs.size() && o < out->size(); ++o) {
      if (refs[o] == nullptr || refs[o]->dtype() != DataType::kFloat32 ||
          (*out)[o].dtype() != DataType::kFloat32 ||
          (*out)[o].num_elements() != refs[o]->num_elements()) {
        continue;
      }
      measured = true;
      const float* ref = refs[o]->data_as<float>();
      const float* got = (*out)[o].data_as<float>();
      for (int64_t i = 0; i < refs[o]->num_elements(); ++i) {
        if (!std::isfinite(ref[i])) continue;  // FP32 itself is not finite here
        if (!std::isfinite(got[i])) {
          broken = true;  // overflow (fp16 beyond 65504) or NaN
          continue;
        }
        const double d = static_cast<double>(ref[i]) - got[i];
        signal += static_cast<double>(ref[i]) * ref[i];
        noise += d * d;
      }
    }
  }
  if (!measured) return NAN;
  if (broken) return -INFINITY;
  if (noise == 0) return INFINITY;
  if (signal == 0) return -INFINITY;
  return 10.0 * std::log10(signal / noise);
}

}  // namespace engine::builder
