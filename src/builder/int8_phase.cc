#include "builder/int8_phase.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "builder/calibration.h"
#include "builder/float16_guard.h"
#include "builder/fp16_phase.h"
#include "builder/graph_runner.h"
#include "builder/quantize_int8.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "kernels/kernel.h"
#include "kernels/thread_pool.h"
#include "ops/op_registry.h"

namespace engine {

namespace builder {
namespace {

opt::CalibrationAlgorithm ToOpt(CalibrationAlgorithm a) {
  switch (a) {
    case CalibrationAlgorithm::kMinMax: return opt::CalibrationAlgorithm::kMinMax;
    case CalibrationAlgorithm::kPercentile: return opt::CalibrationAlgorithm::kPercentile;
    default: return opt::CalibrationAlgorithm::kEntropy;
  }
}

// FP32 values of the calibration tensors for the first samples (accuracy
// guard), one map per batch.
using Captured = CapturedBatches;

// Runs the FP32 graph over every batch of config.calibrator on the host
// kernels (GraphRunner, the default thread count as an execution context's),
// adding the values of `tensors` to `histograms` (when it has an entry for
// them) and copying them and `extra` (no histogram: the float16 guard's
// tensors) into `captured` for the first `guard_samples` samples.
// Errors: InvalidArgument naming the batch (a missing input, a wrong dtype
// or shape, no batch at all), and those of the calibrator.
absl::Status RunCalibration(const ir::Graph& graph, const std::vector<std::string>& tensors,
                            const BuilderConfig& config, int guard_samples, Logger* logger,
                            std::map<std::string, opt::TensorHistogram>& histograms,
                            Captured& captured, int64_t* batches,
                            const std::vector<std::string>& extra = {}) {
  std::vector<std::string> keep = tensors;
  for (const std::string& t : extra) {
    if (std::find(tensors.begin(), tensors.end(), t) == tensors.end()) keep.push_back(t);
  }
  ENGINE_ASSIGN_OR_RETURN(
      std::unique_ptr<GraphRunner> runner,
      GraphRunner::Create(graph, keep, exec::ThreadPool::HardwareThreads()));
  ENGINE_RETURN_IF_ERROR(config.calibrator->Begin(runner->inputs()));
  for (const std::string& t : tensors) histograms.emplace(t, opt::TensorHistogram());
  std::vector<opt::TensorHistogram*> hist;
  for (const std::string& t : tensors) hist.push_back(&histograms.at(t));
  std::vector<const Tensor*> values(tensors.size(), nullptr);
  // Histogram work in threads * ThreadPool::kChunksPerThread groups of about
  // equal element counts (largest tensor first into the lightest group), so
  // that each ParallelFor chunk is one group.
  std::vector<std::vector<size_t>> groups(static_cast<size_t>(
      std::max<int64_t>(1, std::min<int64_t>(static_cast<int64_t>(tensors.size()),
                                             int64_t{runner->threads()} *
                                                 exec::ThreadPool::kChunksPerThread))));
  {
    std::vector<std::pair<int64_t, size_t>> by_size;
    for (size_t k = 0; k < tensors.size(); ++k) {
      const ir::Value* v = graph.FindValue(tensors[k]);
      by_size.emplace_back(v != nullptr ? NumElements(v->shape) : 0, k);
    }
    std::stable_sort(by_size.begin(), by_size.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<int64_t> load(groups.size(), 0);
    for (const auto& [size, k] : by_size) {
      const size_t g = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      groups[g].push_back(k);
      load[g] += size;
    }
  }
  const int64_t total = config.calibrator->BatchCount();
  int samples = 0;
  for (*batches = 0;; ++*batches) {
    std::map<std::string, Tensor> inputs;
    ENGINE_ASSIGN_OR_RETURN(bool more, config.calibrator->NextBatch(inputs));
    if (!more) break;
    absl::Status ran = runner->Run(inputs);
    if (!ran.ok()) return Annotate(ran, absl::StrCat("calibration batch ", *batches));
    const bool capture = samples < guard_samples;
    if (capture) captured.emplace_back();
    for (size_t k = 0; k < tensors.size(); ++k) {
      ENGINE_ASSIGN_OR_RETURN(values[k], runner->Get(tensors[k]));
      if (capture) captured.back().emplace(tensors[k], *values[k]);
    }
    for (size_t k = tensors.size(); capture && k < keep.size(); ++k) {
      ENGINE_ASSIGN_OR_RETURN(const Tensor* value, runner->Get(keep[k]));
      captured.back().emplace(keep[k], *value);
    }
    // Each histogram is filled by one thread, batch after batch, so the
    // counts do not depend on the split.
    auto add = [&](int64_t begin, int64_t end, int) {
      for (int64_t g = begin; g < end; ++g) {
        for (size_t k : groups[static_cast<size_t>(g)]) {
          hist[k]->Add(values[k]->data_as<float>(), values[k]->num_elements());
        }
      }
    };
    if (runner->pool() != nullptr) {
      runner->pool()->ParallelFor(runner->threads(), static_cast<int64_t>(groups.size()), add);
    } else {
      add(0, static_cast<int64_t>(groups.size()), 0);
    }
    if (capture && !runner->inputs().empty()) {
      const Dims& shape = runner->inputs()[0].shape;
      samples += static_cast<int>(std::max<int64_t>(1, shape.empty() ? 1 : shape[0]));
    }
    if (config.progress) config.progress("calibrate", *batches + 1, total);
  }
  if (*batches == 0) {
    return absl::InvalidArgumentError("INT8 calibration: the calibrator delivered no batch");
  }
  logger->Log(Severity::kInfo, absl::StrCat("calibrated ", tensors.size(), " tensors on ",
                                            *batches, " batches"));
  return absl::OkStatus();
}

Tensor QuantizeTensor(const Tensor& x, float scale) {
  Tensor q(DataType::kInt8, x.shape());
  const float* src = x.data_as<float>();
  int8_t* dst = q.data_as<int8_t>();
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const float v = std::nearbyint(src[i] / scale);
    dst[i] = static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f));
  }
  return q;
}

// The isolated INT8 SQNR of `node` on the captured samples: its FP32 inputs
// quantized, the INT8 layer run alone, its output dequantized and compared
// with the FP32 output.
// `type` receives the INT8 layer type ("Int8Conv", ...).
absl::StatusOr<double> IsolatedSqnr(const ir::Node& node, const opt::ScaleMap& scales,
                                    const Captured& captured, std::string* type) {
  ENGINE_ASSIGN_OR_RETURN(opt::Int8Layer layer, opt::MakeInt8Layer(node, scales));
  // A fused activation without an exact integer form (GELU, Sigmoid, ...) is
  // applied in float32 in the epilogue, as the rewrite builds the layer with
  // an int8 output (without it the isolated output would lack the activation).
  if (!layer.float_activation.empty()) opt::MakeFloatEpilogueOutput(layer);
  *type = layer.type;
  double signal = 0, noise = 0;
  for (const auto& batch : captured) {
    auto x = batch.find(node.inputs[0]->name);
    auto y = batch.find(node.outputs[0]->name);
    if (x == batch.end() || y == batch.end()) continue;
    const Tensor xq = QuantizeTensor(x->second, layer.input_scale);
    std::vector<const Tensor*> inputs = {&xq, layer.weights.get(), layer.bias.get()};
    Tensor rq;
    if ((layer.type == "Int8Conv" || layer.type == "Int8Gemm") && node.inputs.size() > 3 &&
        node.inputs[3] != nullptr) {
      auto r = batch.find(node.inputs[3]->name);
      if (r == batch.end()) continue;
      rq = QuantizeTensor(r->second, layer.residual_scale);
      inputs.push_back(&rq);
    }
    while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();
    ENGINE_ASSIGN_OR_RETURN(std::vector<Tensor> out,
                            ops::EvaluateLayer(ops::OpRegistry::Builtin(), layer.type,
                                                   layer.attrs, inputs));
    const int8_t* q = out[0].data_as<int8_t>();
    const float* ref = y->second.data_as<float>();
    for (int64_t i = 0; i < out[0].num_elements(); ++i) {
      const double d = static_cast<double>(ref[i]) - q[i] * static_cast<double>(layer.output_scale);
      signal += static_cast<double>(ref[i]) * ref[i];
      noise += d * d;
    }
  }
  if (noise == 0) return INFINITY;
  if (signal == 0) return -INFINITY;
  return 10.0 * std::log10(signal / noise);
}

// The isolated INT8 SQNR of Attention `node` (opt::IsInt8AttentionCandidate)
// on the captured samples: its FP32 Q, K and V quantized at their
// calibrated scales, Int8Attention run alone (the float mask as captured),
// its int8 output at Y's calibrated scale dequantized and compared with the
// FP32 output. NotFound when a scale is missing; InvalidArgument when the
// score scale is not finite and > 0 (opt::Int8AttentionAttrs).
absl::StatusOr<double> IsolatedAttentionSqnr(const ir::Node& node, const opt::ScaleMap& scales,
                                             const Captured& captured) {
  float s[4];
  const ir::Value* io[4] = {node.inputs[0], node.inputs[1], node.inputs[2], node.outputs[0]};
  for (int i = 0; i < 4; ++i) {
    auto it = scales.find(io[i]->name);
    if (it == scales.end()) {
      return absl::NotFoundError(absl::StrCat("accuracy guard: no INT8 scale for tensor '",
                                              io[i]->name, "' of ", node.Describe()));
    }
    s[i] = it->second;
  }
  ENGINE_ASSIGN_OR_RETURN(Attributes attrs, opt::Int8AttentionAttrs(node, s[0], s[1], s[2], s[3]));
  const ir::Value* mask = node.inputs.size() > 3 ? node.inputs[3] : nullptr;
  double signal = 0, noise = 0;
  for (const auto& batch : captured) {
    Tensor q[3];
    bool complete = true;
    for (int i = 0; i < 3 && complete; ++i) {
      auto x = batch.find(io[i]->name);
      complete = x != batch.end();
      if (complete) q[i] = QuantizeTensor(x->second, s[i]);
    }
    auto y = batch.find(io[3]->name);
    if (!complete || y == batch.end()) continue;
    std::vector<const Tensor*> inputs = {&q[0], &q[1], &q[2]};
    if (mask != nullptr) {
      auto m = batch.find(mask->name);
      if (m != batch.end()) {
        inputs.push_back(&m->second);
      } else if (mask->is_constant()) {
        inputs.push_back(mask->constant.get());
      } else {
        continue;
      }
    }
    ENGINE_ASSIGN_OR_RETURN(std::vector<Tensor> out,
                            ops::EvaluateLayer(ops::OpRegistry::Builtin(), "Int8Attention", attrs,
                                               inputs));
    const int8_t* got = out[0].data_as<int8_t>();
    const float* ref = y->second.data_as<float>();
    for (int64_t i = 0; i < out[0].num_elements(); ++i) {
      const double d = static_cast<double>(ref[i]) - got[i] * static_cast<double>(s[3]);
      signal += static_cast<double>(ref[i]) * ref[i];
      noise += d * d;
    }
  }
  if (noise == 0) return INFINITY;
  if (signal == 0) return -INFINITY;
  return 10.0 * std::log10(signal / noise);
}

}  // namespace

void MarkAllOutputs(ir::Graph& graph) {
  for (const auto& node : graph.nodes()) {
    for (ir::Value* v : node->outputs) {
      if (v != nullptr && !v->is_constant() && v->dtype == DataType::kFloat32 &&
          !graph.IsGraphOutput(v)) {
        graph.outputs().push_back(v);
      }
    }
  }
}

namespace {

// `known` completed for `tensors`: a tensor `known` has no scale for takes
// the scale of the tensor a chain of pass-through layers (a copy or a
// permutation of its input: same values, same scale; OpDef int8 role
// kPassThrough, at most 8 layers) connects it to, up through producers or
// down through consumers; a tensor with no such neighbour stays absent.
opt::ScaleMap InheritPassThroughScales(const ir::Graph& graph, const opt::ScaleMap& known,
                                       const std::vector<std::string>& tensors) {
  opt::ScaleMap inherited = known;
  auto pass_through = [](const ir::Node* n) {
    const ops::OpDef* def = n == nullptr ? nullptr : ops::OpRegistry::Builtin().Find(n->op_type);
    return def != nullptr && def->int8.role == ops::Int8Role::kPassThrough &&
           (!def->int8.pass_through_if || def->int8.pass_through_if(n->attrs)) &&
           !n->inputs.empty() && n->inputs[0] != nullptr && n->outputs.size() == 1;
  };
  auto up = [&](const ir::Value* v) -> const float* {
    for (int hops = 0; hops < 8 && v != nullptr && pass_through(v->producer); ++hops) {
      v = v->producer->inputs[0];
      if (auto it = known.find(v->name); it != known.end()) return &it->second;
    }
    return nullptr;
  };
  auto down = [&](const ir::Value* v) -> const float* {
    for (int hops = 0; hops < 8 && v != nullptr; ++hops) {
      const ir::Value* next = nullptr;
      for (const ir::Node* c : graph.Consumers(v)) {
        if (pass_through(c) && c->inputs[0] == v) next = c->outputs[0];
      }
      if (next == nullptr) return nullptr;
      if (auto it = known.find(next->name); it != known.end()) return &it->second;
      v = next;
    }
    return nullptr;
  };
  for (const std::string& t : tensors) {
    if (inherited.contains(t)) continue;
    const ir::Value* v = graph.FindValue(t);
    if (v == nullptr) continue;
    const float* scale = up(v);
    if (scale == nullptr) scale = down(v);
    if (scale != nullptr) inherited[t] = *scale;
  }
  return inherited;
}

}  // namespace

absl::StatusOr<std::map<const ir::Node*, std::string>> FloatPinnedLayers(
    const ir::Graph& graph, const BuilderConfig& config) {
  std::map<const ir::Node*, std::string> keep_fp32;
  std::vector<std::string> unmatched;
  for (const auto& [name, precision] : config.layer_precisions) {
    bool matched = false;
    for (const auto& node : graph.nodes()) {
      const bool hit = node->name == name || std::find(node->onnx_nodes.begin(),
                                                       node->onnx_nodes.end(),
                                                       name) != node->onnx_nodes.end();
      if (!hit) continue;
      matched = true;
      if (precision != Precision::kInt8) {
        // fp32, or fp16 / bf16 (applied afterwards by the fp16 phase).
        keep_fp32[node.get()] = absl::StrCat("pinned to ", PrecisionName(precision),
                                             " by layer precisions ('", name, "')");
      }
    }
    if (!matched) unmatched.push_back(name);
  }
  if (!unmatched.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("layer precisions name no layer of the engine: ",
                                                   absl::StrJoin(unmatched, ", ")));
  }
  return keep_fp32;
}

absl::Status QuantizeForInt8(ir::Graph& graph, const BuilderConfig& config,
                             const std::set<std::string>& known_tensors, Logger* logger,
                             BuildResult& result, SharedInt8* shared,
                             Float16SqnrMap* float16_sqnr) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> tensors = opt::Int8ScaleTensors(graph);
  CalibrationSummary& summary = result.calibration;
  summary.algorithm = CalibrationAlgorithmName(config.calibration_algorithm);
  opt::ScaleMap scales;
  Captured captured;
  const std::string& cache_path = config.calibration_cache;
  const bool reuse = shared != nullptr && shared->calibrated;
  const bool guard = config.accuracy_guard_db > 0 && !reuse;
  // --best: the layers that may run in fp16 / bf16 are checked too
  // (float16_guard.h); their inputs and outputs are captured as well.
  const bool float16_guard = guard && config.best;
  std::vector<std::string> float16_tensors;
  std::vector<IsolatedFloatLayer> float16_layers;
  if (float16_guard) float16_layers = Float16GuardCandidates(graph, float16_tensors);
  // Captured besides the scale tensors: the float16 guard's, and the mask of
  // every Int8Attention candidate (the isolated run reads it as it is).
  std::vector<std::string> extra_tensors = float16_tensors;
  if (guard) {
    for (const auto& node : graph.nodes()) {
      if (!opt::IsInt8AttentionCandidate(*node) || node->inputs.size() < 4 ||
          node->inputs[3] == nullptr || node->inputs[3]->is_constant()) {
        continue;
      }
      if (std::find(extra_tensors.begin(), extra_tensors.end(), node->inputs[3]->name) ==
          extra_tensors.end()) {
        extra_tensors.push_back(node->inputs[3]->name);
      }
    }
  }
  bool calibrate = !reuse;
  if (reuse) {
    // A later build of a dynamic-shape plan: the calibration build's scales
    // (InheritPassThroughScales: a tensor the calibration graph did not have,
    // its optimizer folded a layout layer this shape's graph keeps, e.g.
    // attention heads' Reshape / Transpose).
    opt::ScaleMap inherited = InheritPassThroughScales(graph, shared->scales, tensors);
    std::vector<std::string> missing;
    for (const std::string& t : tensors) {
      if (!inherited.contains(t)) missing.push_back(t);
    }
    if (!missing.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "INT8 with optimization profiles: this shape's graph needs scales for ", missing.size(),
          " tensor(s) the calibration build (at the opt shape) did not have: ",
          absl::StrJoin(missing, ", ")));
    }
    scales = std::move(inherited);
    summary = shared->summary;
  } else if (!cache_path.empty() && std::filesystem::exists(cache_path)) {
    ENGINE_ASSIGN_OR_RETURN(std::string text, ReadFileToString(cache_path));
    ENGINE_ASSIGN_OR_RETURN(opt::CalibrationCache cache,
                            opt::ParseCalibrationCache(text, cache_path));
    // A cache written by a build whose fusions differ (another --hw preset
    // or objective: the cost model accepts other fusions) may lack a tensor
    // only a pass-through layer separates from one it has.
    opt::ScaleMap inherited = InheritPassThroughScales(graph, cache.scales, tensors);
    std::vector<std::string> missing, unknown;
    for (const std::string& t : tensors) {
      if (!inherited.contains(t)) missing.push_back(t);
    }
    for (const auto& [name, scale] : cache.scales) {
      if (!known_tensors.contains(name)) unknown.push_back(name);
    }
    if (!missing.empty() || !unknown.empty()) {
      std::string msg = absl::StrCat("calibration cache '", cache_path,
                                     "' does not match the network");
      if (!missing.empty()) {
        absl::StrAppend(&msg, "; it has no scale for ", missing.size(), " tensor(s): ",
                        absl::StrJoin(missing, ", "));
      }
      if (!unknown.empty()) {
        absl::StrAppend(&msg, "; it names ", unknown.size(),
                        " tensor(s) the network does not have: ", absl::StrJoin(unknown, ", "));
      }
      if (config.calibrator == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            msg, " (a cache written for another hardware preset or objective lacks the "
                 "tensors its fusions removed; give calibration data to recalibrate)"));
      }
      // As TensorRT does with a cache it cannot use: calibrate again with the
      // calibrator given, and rewrite the cache.
      logger->Log(Severity::kWarning,
                  absl::StrCat(msg, "; recalibrating with the calibration data and rewriting it"));
      summary.cache_mismatch = true;
    } else {
      calibrate = false;
      scales = std::move(inherited);
      summary.from_cache = true;
      summary.algorithm = opt::CalibrationAlgorithmName(cache.algorithm);
      if (guard && config.calibrator == nullptr) {
        return absl::FailedPreconditionError(
            "the INT8 accuracy guard needs calibration data (a calibrator), even with a cache");
      }
      if (guard) {
        std::map<std::string, opt::TensorHistogram> unused;
        ENGINE_RETURN_IF_ERROR(RunCalibration(graph, tensors, config,
                                              config.accuracy_guard_samples, logger, unused,
                                              captured, &summary.batches, extra_tensors));
      }
    }
  }
  if (calibrate) {
    if (config.calibrator == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "an INT8 build needs calibration data (a Calibrator, trtexec_like --calibData) or an "
          "existing calibration cache",
          cache_path.empty() ? "" : absl::StrCat(" ('", cache_path, "' does not exist)")));
    }
    if (config.calibration_algorithm == CalibrationAlgorithm::kPercentile) {
      ENGINE_RETURN_IF_ERROR(opt::ValidatePercentile(config.calibration_percentile));
    }
    std::map<std::string, opt::TensorHistogram> histograms;
    ENGINE_RETURN_IF_ERROR(RunCalibration(graph, tensors, config,
                                          guard ? config.accuracy_guard_samples : 0, logger,
                                          histograms, captured, &summary.batches,
                                          extra_tensors));
    for (const auto& [name, h] : histograms) {
      scales[name] = opt::ScaleFromAmax(opt::ComputeAmax(h, ToOpt(config.calibration_algorithm),
                                                         config.calibration_percentile));
    }
    if (!cache_path.empty()) {
      opt::CalibrationCache cache;
      cache.algorithm = ToOpt(config.calibration_algorithm);
      cache.scales = scales;
      ENGINE_RETURN_IF_ERROR(WriteFileAtomically(cache_path, opt::SerializeCalibrationCache(cache)));
      summary.cache_written = true;
    }
  }
  summary.tensors = static_cast<int64_t>(scales.size());

  // Pinned layers.
  ENGINE_ASSIGN_OR_RETURN(auto keep_fp32, FloatPinnedLayers(graph, config));

  // Accuracy guard.
  std::map<std::string, double> sqnr;
  if (reuse) {
    for (const auto& node : graph.nodes()) {
      auto it = shared->guard_reasons.find(node->name);
      if (it != shared->guard_reasons.end() && !keep_fp32.contains(node.get())) {
        keep_fp32[node.get()] = it->second;
      }
    }
    sqnr = shared->sqnr_db;
  }
  if (guard) {
    // Counters of the "int8-accuracy-guard" entry of result.passes, per INT8
    // layer type: "checked[.<type>]", "accepted.<type>",
    // "rejected.<type>.sqnr-below-threshold" and
    // "skipped.<type>.score-scale-not-finite" (an Attention the rewrite
    // leaves FP32 anyway).
    const auto guard_start = std::chrono::steady_clock::now();
    std::map<std::string, int64_t> counters;
    for (const auto& node : graph.nodes()) {
      if (keep_fp32.contains(node.get())) continue;
      const bool attention = opt::IsInt8AttentionCandidate(*node);
      if (!attention && !opt::HasInt8Form(*node)) continue;
      std::string type = "Int8Attention";
      double db = 0;
      if (attention) {
        absl::StatusOr<double> measured = IsolatedAttentionSqnr(*node, scales, captured);
        if (absl::IsInvalidArgument(measured.status())) {
          ++counters["skipped.Int8Attention.score-scale-not-finite"];
          continue;
        }
        ENGINE_RETURN_IF_ERROR(measured.status());
        db = *measured;
      } else {
        ENGINE_ASSIGN_OR_RETURN(db, IsolatedSqnr(*node, scales, captured, &type));
      }
      ++counters["checked"];
      ++counters[absl::StrCat("checked.", type)];
      sqnr[node->name] = db;
      if (db < config.accuracy_guard_db) {
        keep_fp32[node.get()] = absl::StrFormat("accuracy guard: isolated INT8 SQNR %.1f dB < %.1f dB",
                                                db, config.accuracy_guard_db);
        ++counters[absl::StrCat("rejected.", type, ".sqnr-below-threshold")];
        logger->Log(Severity::kInfo, absl::StrCat(node->Describe(), " stays FP32: ",
                                                  keep_fp32[node.get()]));
      } else {
        ++counters[absl::StrCat("accepted.", type)];
      }
    }
    bool changed = false;
    for (const auto& [key, count] : counters) changed |= absl::StartsWith(key, "rejected.");
    const int n = static_cast<int>(graph.nodes().size());
    result.passes.push_back(
        {"int8-accuracy-guard", changed,
         std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - guard_start)
             .count(),
         n, n, counters});
  }

  ENGINE_ASSIGN_OR_RETURN(result.layer_precisions, opt::QuantizeGraphInt8(graph, scales, keep_fp32, {},
                                                                       &result.int8_tensor_scales));
  for (LayerPrecisionInfo& info : result.layer_precisions) {
    auto it = sqnr.find(info.layer);
    if (it != sqnr.end()) info.sqnr_db = it->second;
  }
  if (reuse && float16_sqnr != nullptr) *float16_sqnr = shared->float16_sqnr_db;
  if (float16_guard) {
    // The layers left in float by the INT8 rewrite, each in every 16-bit
    // float the hardware supports (fp16_phase.h's ApplyFloatPrecisions picks).
    std::map<std::string, const ir::Node*> by_name;
    for (const auto& node : graph.nodes()) by_name[node->name] = node.get();
    Float16SqnrMap measured;
    for (const IsolatedFloatLayer& layer : float16_layers) {
      auto node = by_name.find(layer.name);
      if (node == by_name.end() || !IsFloatLayer(*node->second)) continue;
      bool pinned = false;
      for (const auto& [name, p] : config.layer_precisions) {
        pinned |= name == layer.name || std::find(node->second->onnx_nodes.begin(),
                                                  node->second->onnx_nodes.end(),
                                                  name) != node->second->onnx_nodes.end();
      }
      if (pinned) continue;
      for (Precision p : {Precision::kFp16, Precision::kBf16}) {
        if (!config.hardware.Supports(p)) continue;
        // A layer whose kernel cannot run alone on the captured values is
        // left unmeasured (the cost model's choice stands), with a warning.
        absl::StatusOr<double> db = IsolatedFloat16Sqnr(layer, p, captured);
        if (!db.ok()) {
          logger->Log(Severity::kWarning, absl::StrCat("float16 accuracy guard: not measured: ",
                                                       db.status().message()));
          break;
        }
        measured[layer.name][p] = *db;
      }
    }
    logger->Log(Severity::kInfo, absl::StrCat("float16 accuracy guard: measured ", measured.size(),
                                              " float layer(s) in fp16/bf16"));
    if (float16_sqnr != nullptr) *float16_sqnr = measured;
    if (shared != nullptr) shared->float16_sqnr_db = std::move(measured);
  }
  if (shared != nullptr && !reuse) {
    shared->calibrated = true;
    shared->scales = scales;
    shared->sqnr_db = sqnr;
    for (const auto& [node, reason] : keep_fp32) {
      if (absl::StartsWith(reason, "accuracy guard")) {
        shared->guard_fp32.insert(node->name);
        shared->guard_reasons[node->name] = reason;
      }
    }
  }
  if (reuse) return absl::OkStatus();  // the calibration build's summary, time included
  summary.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                   .count();
  if (shared != nullptr) shared->summary = summary;
  return absl::OkStatus();
}

}  // namespace builder
}  // namespace engine
