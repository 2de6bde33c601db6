#include "builder/fp16_phase.h"

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/reduced_float.h"
#include "common/status_macros.h"
#include "ops/op_registry.h"

namespace engine::builder {
namespace {

absl::Status Unsupported(const HardwareConfig& hw, Precision p, const std::string& why) {
  std::vector<std::string> names;
  for (Precision q : hw.precisions) names.push_back(PrecisionName(q));
  return absl::InvalidArgumentError(absl::StrCat(
      "hardware '", hw.name, "' does not support precision ", PrecisionName(p), " (", why,
      "); it supports ", absl::StrJoin(names, ", ")));
}

bool IsReducedFloat(Precision p) { return p == Precision::kFp16 || p == Precision::kBf16; }
FloatStorage StorageOf(Precision p) {
  return p == Precision::kBf16 ? FloatStorage::kBf16 : FloatStorage::kFp16;
}

DataType StorageDtype(Precision p) {
  return p == Precision::kBf16 ? DataType::kBFloat16 : DataType::kFloat16;
}

// A float32 tensor converted to fp16 / bf16 storage (RNE).
std::shared_ptr<const Tensor> ToStorage(const Tensor& t, Precision p) {
  auto out = std::make_shared<Tensor>(StorageDtype(p), t.shape());
  const float* src = t.data_as<float>();
  auto* dst = out->data_as<uint16_t>();
  for (int64_t i = 0; i < t.num_elements(); ++i) dst[i] = EncodeStorage(src[i], StorageOf(p));
  return out;
}

bool Matches(const ir::Node& node, const std::string& name) {
  return node.name == name ||
         std::find(node.onnx_nodes.begin(), node.onnx_nodes.end(), name) != node.onnx_nodes.end();
}

// --best's accuracy guard for one layer that would run in `p` (the cheaper
// 16-bit float): the candidates are `p`, then the other 16-bit float when
// the hardware supports it; the first whose isolated SQNR (guard_sqnr) is at
// least config.accuracy_guard_db is taken, otherwise the layer stays FP32
// (p = nullopt). A layer or precision the guard did not measure keeps the
// cost model's choice. Rewrites `reason` and counts in `counters`:
// "checked", "accepted.<p>", "rejected.<p>.sqnr-below-threshold",
// "fp32.every-16-bit-float-rejected".
void GuardFloat16(const ir::Node& node, const BuilderConfig& config,
                  const Float16SqnrMap& guard_sqnr, std::optional<Precision>& p,
                  std::string& reason, std::map<std::string, int64_t>& counters) {
  auto layer = guard_sqnr.find(node.name);
  if (layer == guard_sqnr.end()) return;
  std::vector<Precision> order = {*p};
  const Precision other = *p == Precision::kFp16 ? Precision::kBf16 : Precision::kFp16;
  if (config.hardware.Supports(other)) order.push_back(other);
  const double threshold = config.accuracy_guard_db;
  ++counters["checked"];
  std::vector<std::string> rejected;
  for (Precision q : order) {
    auto m = layer->second.find(q);
    const double db = m == layer->second.end() ? NAN : m->second;
    if (std::isnan(db) || db >= threshold) {
      if (!rejected.empty()) {
        reason = absl::StrFormat("--best accuracy guard: %s; %s isolated SQNR %.1f dB >= %.1f dB",
                                 absl::StrJoin(rejected, "; "), PrecisionName(q), db, threshold);
      } else if (!std::isnan(db)) {
        absl::StrAppendFormat(&reason, " (accuracy guard: isolated SQNR %.1f dB >= %.1f dB)", db,
                              threshold);
      }
      ++counters[absl::StrCat("accepted.", PrecisionName(q))];
      p = q;
      return;
    }
    rejected.push_back(absl::StrFormat("%s rejected (isolated SQNR %.1f dB < %.1f dB)",
                                       PrecisionName(q), db, threshold));
    ++counters[absl::StrCat("rejected.", PrecisionName(q), ".sqnr-below-threshold")];
  }
  reason = absl::StrCat("--best accuracy guard: ", absl::StrJoin(rejected, "; "), "; runs in fp32");
  ++counters["fp32.every-16-bit-float-rejected"];
  p = std::nullopt;
}

}  // namespace

bool IsFloatLayer(const ir::Node& node) {
  for (const ir::Value* v : node.inputs) {
    if (v != nullptr && !v->is_constant() &&
        (v->dtype == DataType::kFloat16 || v->dtype == DataType::kBFloat16)) {
      return false;
    }
  }
  bool any = false;
  for (const ir::Value* v : node.outputs) {
    if (v == nullptr) continue;
    if (v->dtype != DataType::kFloat32) return false;
    any = true;
  }
  return any;
}

absl::StatusOr<std::optional<Precision>> FloatFallbackPrecision(const BuilderConfig& config) {
  const HardwareConfig& hw = config.hardware;
  if (config.precision == Precision::kFp16 || config.precision == Precision::kBf16) {
    if (!hw.Supports(config.precision)) {
      return Unsupported(hw, config.precision, "requested engine precision");
    }
    return std::optional<Precision>(config.precision);
  }
  std::vector<Precision> candidates;
  for (auto [allowed, p] : {std::pair{config.allow_fp16 || config.best, Precision::kFp16},
                            std::pair{config.allow_bf16 || config.best, Precision::kBf16}}) {
    if (!allowed) continue;
    if (!hw.Supports(p)) {
      // --best considers only what the hardware has; an explicit flag is an error.
      const bool explicit_flag = p == Precision::kFp16 ? config.allow_fp16 : config.allow_bf16;
      if (explicit_flag) return Unsupported(hw, p, "allowed by --fp16/--bf16");
      continue;
    }
    candidates.push_back(p);
  }
  if (candidates.empty()) return std::optional<Precision>();
  Precision best = candidates[0];
  for (Precision p : candidates) {
    if (hw.energy.MacPj(p) < hw.energy.MacPj(best)) best = p;
  }
  return std::optional<Precision>(best);
}

absl::Status ApplyFloatPrecisions(ir::Graph& graph, const BuilderConfig& config,
                                  std::optional<Precision> fallback, BuildResult& result,
                                  const Float16SqnrMap* guard_sqnr) {
  const auto t0 = std::chrono::steady_clock::now();
  std::map<std::string, int64_t> counters;
  const HardwareConfig& hw = config.hardware;
  const ops::OpRegistry& registry = ops::OpRegistry::Builtin();
  const bool int8_build = config.precision == Precision::kInt8;

  // Pinned layers: node -> (precision, reason).
  std::map<const ir::Node*, std::pair<Precision, std::string>> pinned;
  std::vector<std::string> unmatched;
  for (const auto& [name, precision] : config.layer_precisions) {
    bool matched = false;
    for (const auto& node : graph.nodes()) {
      if (!Matches(*node, name)) continue;
      matched = true;
      if (precision == Precision::kInt8) continue;  // the INT8 phase's
      if (IsReducedFloat(precision) && !hw.Supports(precision)) {
        return Unsupported(hw, precision, absl::StrCat("layer precisions pin '", name, "'"));
      }
      pinned[node.get()] = {precision, absl::StrCat("pinned to ", PrecisionName(precision),
                                                    " by layer precisions ('", name, "')")};
    }
    if (!matched) unmatched.push_back(name);
  }
  if (!unmatched.empty() && !int8_build) {
    return absl::InvalidArgumentError(absl::StrCat("layer precisions name no layer of the engine: ",
                                                   absl::StrJoin(unmatched, ", ")));
  }

  std::map<std::string, size_t> info_of;  // INT8 builds: layer -> result.layer_precisions index
  for (size_t i = 0; i < result.layer_precisions.size(); ++i) {
    info_of[result.layer_precisions[i].layer] = i;
  }
  const std::string fallback_reason =
      !fallback ? std::string()
      : config.precision == *fallback
          ? absl::StrCat(PrecisionName(*fallback), " engine")
          : config.best
              ? absl::StrFormat("--best: no INT8 form or kept from INT8; %s is the cheaper "
                                "16-bit float on '%s' (MAC %.2f pJ)",
                                PrecisionName(*fallback), hw.name, hw.energy.MacPj(*fallback))
              : absl::StrCat("not INT8; ", PrecisionName(*fallback), " allowed");

  std::vector<ir::Node*> nodes;
  for (const auto& n : graph.nodes()) nodes.push_back(n.get());
  std::map<ir::Node*, Precision> chosen;
  for (ir::Node* node : nodes) {
    if (!IsFloatLayer(*node)) continue;
    std::optional<Precision> p = fallback;
    std::string reason = fallback_reason;
    auto pin = pinned.find(node);
    if (pin != pinned.end()) {
      p = pin->second.first == Precision::kFp32 ? std::nullopt
                                                : std::optional<Precision>(pin->second.first);
      reason = pin->second.second;
    }
    auto it = info_of.find(node->name);
    if (pin == pinned.end() && p && IsReducedFloat(*p) && guard_sqnr != nullptr) {
      GuardFloat16(*node, config, *guard_sqnr, p, reason, counters);
      if (!p && it != info_of.end()) {
        LayerPrecisionInfo& info = result.layer_precisions[it->second];
        info.reason = info.reason.empty() ? reason : absl::StrCat(info.reason, "; ", reason);
      }
    }
    if (!p || !IsReducedFloat(*p)) {
      if (it == info_of.end() && !int8_build && (pin != pinned.end() || fallback)) {
        result.layer_precisions.push_back({node->name, node->op_type, Precision::kFp32,
                                           pin != pinned.end() || fallback ? reason : "", 0.0});
      }
      continue;
    }
    chosen[node] = *p;
    node->attrs.Set(kPrecisionAttr, std::string(PrecisionName(*p)));
    if (it != info_of.end()) {
      LayerPrecisionInfo& info = result.layer_precisions[it->second];
      info.precision = *p;
      info.reason = info.reason.empty() || pin != pinned.end()
                        ? reason
                        : absl::StrCat(info.reason, "; ", PrecisionName(*p), " instead of fp32");
    } else {
      result.layer_precisions.push_back({node->name, node->op_type, *p, reason, 0.0});
    }
  }

  // Weights and biases of array layers in the storage type.
  for (auto& [node, p] : chosen) {
    const ops::OpDef* def = registry.Find(node->op_type);
    if (def == nullptr || !def->device.unit || *def->device.unit != hw::LayerKind::kArray) continue;
    for (ir::Value*& v : node->inputs) {
      if (v == nullptr || !v->is_constant() || v->dtype != DataType::kFloat32) continue;
      std::shared_ptr<const Tensor> stored = ToStorage(*v->constant, p);
      const std::vector<ir::Node*> users = graph.Consumers(v);
      if (users.size() == 1 && !graph.IsGraphOutput(v)) {
        v->constant = std::move(stored);
        v->dtype = StorageDtype(p);
      } else {
        std::string name = absl::StrCat(v->name, "_", PrecisionName(p));
        for (int k = 1; graph.FindValue(name) != nullptr; ++k) {
          name = absl::StrCat(v->name, "_", PrecisionName(p), "_", k);
        }
        v = graph.AddConstant(name, std::move(stored));
      }
    }
  }
  graph.RemoveUnusedValues();
  if (guard_sqnr != nullptr) {
    bool changed = false;
    for (const auto& [key, count] : counters) changed |= absl::StartsWith(key, "rejected.");
    const int n = static_cast<int>(graph.nodes().size());
    result.passes.push_back(
        {"float16-accuracy-guard", changed,
         std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
         n, n, counters});
  }
  return absl::OkStatus();
}

}  // namespace engine::builder
