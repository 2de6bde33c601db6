#include "trtexec_like/int8.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/dataset.h"
#include "common/half.h"
#include "trtexec_like/progress.h"

namespace trtexec_like {
namespace {

using engine::data::Dataset;

}  // namespace

absl::StatusOr<engine::data::ImagePreprocess> ResolvePreprocess(
    const std::optional<engine::data::ImagePreprocess>& given, const engine::TensorDesc& input,
    const std::string& plan_preprocess, const char* flag) {
  if (given.has_value()) return *given;
  if (!plan_preprocess.empty()) {
    auto pp = engine::data::ParseImagePreprocess(plan_preprocess);
    if (!pp.ok()) {
      return absl::DataLossError(absl::StrCat("the plan records an unreadable preprocessing '",
                                              plan_preprocess, "': ", pp.status().message(),
                                              "; give --preprocess"));
    }
    std::printf("[I] %s: --preprocess not given: using the plan's (its calibration data's): %s\n",
                flag, engine::data::ImagePreprocessName(*pp).c_str());
    return *pp;
  }
  const bool one_channel = input.shape.size() == 4 && (input.shape[1] == 1 || input.shape[3] == 1);
  const engine::data::ImagePreprocess pp =
      one_channel ? engine::data::RawPreprocess() : engine::data::ImagenetPreprocess();
  std::printf("[I] %s: --preprocess not given: %s for input '%s' %s\n", flag,
              one_channel ? "raw (pixels 0..255)" : "imagenet", input.name.c_str(),
              engine::DimsToString(input.shape).c_str());
  return pp;
}

namespace {

engine::data::DatasetOptions DatasetOptionsFor(const Options& opt,
                                               const engine::data::ImagePreprocess& preprocess,
                                               int64_t limit, const std::string& labels) {
  engine::data::DatasetOptions options;
  options.preprocess = preprocess;
  options.limit = limit > 0 ? limit : -1;
  options.skip_unreadable = opt.skip_unreadable;
  options.labels_path = labels;
  return options;
}

// A Calibrator over a Dataset, one engine batch at a time, with a progress bar.
class DatasetCalibrator final : public engine::Calibrator {
 public:
  DatasetCalibrator(std::string path, const Options& opt, const ValidatedOptions& v)
      : path_(std::move(path)), opt_(opt), given_(v.preprocess), max_batches_(opt.calib_batches) {}

  absl::Status Begin(const std::vector<engine::TensorDesc>& inputs) override {
    if (inputs.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--calibData feeds one input; the network has ", inputs.size(),
          " (implement engine::Calibrator to calibrate multi-input networks)"));
    }
    input_ = inputs[0];
    auto pp = ResolvePreprocess(given_, input_, "", "--calibData");
    if (!pp.ok()) return pp.status();
    preprocess_ = *pp;
    auto ds = Dataset::Open(path_, input_, DatasetOptionsFor(opt_, preprocess_, opt_.calib_images, ""));
    if (!ds.ok()) return absl::Status(ds.status().code(), absl::StrCat("--calibData: ", ds.status().message()));
    dataset_ = std::move(*ds);
    batches_ = dataset_->num_batches();
    if (max_batches_ > 0) batches_ = std::min(batches_, max_batches_);
    std::printf("[I] Calibrating on %s: %lld batch(es) of %lld\n", dataset_->Describe().c_str(),
                static_cast<long long>(batches_), static_cast<long long>(dataset_->batch_size()));
    for (size_t i = 0; i < dataset_->skipped().size(); ++i) {
      std::printf("[W] --calibData: skipped unreadable file %s (%s)\n",
                  dataset_->skipped()[i].c_str(), dataset_->skip_reasons()[i].c_str());
    }
    bar_ = std::make_unique<ProgressBar>("calibrate", batches_);
    return absl::OkStatus();
  }

  absl::StatusOr<bool> NextBatch(std::map<std::string, engine::Tensor>& inputs) override {
    if (dataset_ == nullptr || next_ >= batches_) {
      if (bar_) bar_->Finish();
      return false;
    }
    auto batch = dataset_->GetBatch(next_);
    if (!batch.ok()) return batch.status();
    inputs[input_.name] = std::move(batch->input);
    ++next_;
    bar_->Update(next_);
    return true;
  }

  int64_t BatchCount() const override { return batches_; }

  std::string Preprocessing() const override {
    if (dataset_ == nullptr || dataset_->kind() == engine::data::DatasetKind::kTensors) return "";
    return engine::data::ImagePreprocessToString(preprocess_);
  }

  std::string Describe() const override {
    if (dataset_ == nullptr) return path_;
    return absl::StrCat(dataset_->Describe(), "; ", batches_, " batch(es) of ",
                        dataset_->batch_size());
  }

 private:
  std::string path_;
  Options opt_;
  std::optional<engine::data::ImagePreprocess> given_;  // --preprocess
  engine::data::ImagePreprocess preprocess_;
  int64_t max_batches_ = 0;
  engine::TensorDesc input_;
  std::unique_ptr<Dataset> dataset_;
  int64_t batches_ = 0;
  int64_t next_ = 0;
  std::unique_ptr<ProgressBar> bar_;
};

// Index of the largest of `n` floats.
int64_t ArgMax(const float* v, int64_t n) {
  return std::max_element(v, v + n) - v;
}

// The elements of a float32 tensor, or of a float16 one (a float16 model's
// output) widened; `storage` holds the widened copy.
const float* FloatData(const engine::Tensor& t, std::vector<float>* storage) {
  if (t.dtype() != engine::DataType::kFloat16) return t.data_as<float>();
  const uint16_t* h = t.data_as<uint16_t>();
  storage->resize(static_cast<size_t>(t.num_elements()));
  for (int64_t k = 0; k < t.num_elements(); ++k) (*storage)[k] = engine::HalfToFloat(h[k]);
  return storage->data();
}

// Top-1 class of each of the first `count` rows of output `t` ([N, classes]
// or [N, classes, 1, 1]; float32, or float16).
std::vector<int64_t> Top1(const engine::Tensor& t, int64_t count) {
  std::vector<int64_t> out;
  const int64_t n = t.shape().empty() ? 1 : t.shape()[0];
  const int64_t classes = n > 0 ? t.num_elements() / n : 0;
  std::vector<float> storage;
  const float* v = FloatData(t, &storage);
  for (int64_t i = 0; i < std::min(count, n); ++i) {
    out.push_back(ArgMax(v + i * classes, classes));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenEvalData(const Options& opt,
                                                      const ValidatedOptions& v,
                                                      const engine::TensorDesc& input,
                                                      const std::string& plan_preprocess) {
  const std::string& path = opt.eval_data.empty() ? opt.calib_data : opt.eval_data;
  if (path.empty()) return absl::InvalidArgumentError("--evalData: no dataset given");
  auto pp = ResolvePreprocess(v.preprocess, input, plan_preprocess, "--evalData");
  if (!pp.ok()) return pp.status();
  auto ds = Dataset::Open(path, input, DatasetOptionsFor(opt, *pp, opt.eval_images, opt.eval_labels));
  if (!ds.ok()) {
    return absl::Status(ds.status().code(), absl::StrCat("--evalData: ", ds.status().message()));
  }
  for (size_t i = 0; i < (*ds)->skipped().size(); ++i) {
    std::printf("[W] --evalData: skipped unreadable file %s (%s)\n", (*ds)->skipped()[i].c_str(),
                (*ds)->skip_reasons()[i].c_str());
  }
  return ds;
}

// Running comparison of one tensor between the FP32 and the INT8 engine.
struct TensorError {
  double dot = 0, ref2 = 0, test2 = 0, noise = 0, max_abs = 0;
  void Add(const float* ref, const float* test, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const double a = ref[i], b = test[i];
      dot += a * b;
      ref2 += a * a;
      test2 += b * b;
      noise += (a - b) * (a - b);
      max_abs = std::max(max_abs, std::fabs(a - b));
    }
  }
  double Cosine() const {
    if (ref2 == 0 || test2 == 0) return ref2 == test2 ? 1.0 : 0.0;
    return dot / std::sqrt(ref2 * test2);
  }
  double SqnrDb() const {
    if (noise == 0) return INFINITY;
    if (ref2 == 0) return -INFINITY;
    return 10 * std::log10(ref2 / noise);
  }
};

}  // namespace

void ConfigureInt8(const Options& opt, const ValidatedOptions& v, engine::BuilderConfig& config,
                   Int8Setup& setup) {
  // FP16 / BF16 (builder/fp16_phase.h): alone, the engine's precision; with
  // INT8 (or --best), the precision of the layers INT8 leaves in float.
  config.allow_fp16 = opt.fp16;
  config.allow_bf16 = opt.bf16;
  config.best = opt.best;
  config.layer_precisions = v.layer_precisions;
  const bool int8 = opt.int8 || opt.compare_int8 ||
                    (opt.best && (!opt.calib_data.empty() || !opt.calib_cache.empty()));
  if (!int8) {
    if (opt.fp16 != opt.bf16 && !opt.best) {
      config.precision = opt.fp16 ? engine::Precision::kFp16 : engine::Precision::kBf16;
    }
    return;
  }
  config.precision = engine::Precision::kInt8;
  config.calibration_algorithm = v.calibrator;
  config.calibration_percentile = opt.calib_percentile;
  config.calibration_cache = opt.calib_cache;
  config.accuracy_guard_db = opt.accuracy_guard_db;
  config.layer_precisions = v.layer_precisions;
  if (!opt.calib_data.empty()) {
    setup.calibrator = std::make_unique<DatasetCalibrator>(opt.calib_data, opt, v);
    config.calibrator = setup.calibrator.get();
  }
}

PrecisionCounts CountPrecisions(const engine::BuildResult& built) {
  PrecisionCounts n;
  for (const auto& l : built.layer_precisions) {
    if (l.type == "QuantizeLinear" || l.type == "DequantizeLinear") {
      ++n.boundary;
    } else if (l.precision == engine::Precision::kInt8) {
      ++n.int8;
    } else if (l.precision == engine::Precision::kFp16) {
      ++n.fp16;
    } else if (l.precision == engine::Precision::kBf16) {
      ++n.bf16;
    } else {
      ++n.fp32;
    }
  }
  return n;
}

void PrintInt8Summary(const engine::BuildResult& built) {
  if (built.layer_precisions.empty()) return;
  const engine::CalibrationSummary& c = built.calibration;
  const bool explicit_q =
      std::any_of(built.passes.begin(), built.passes.end(),
                  [](const engine::PassSummary& p) { return p.name == "explicit-quantization"; });
  if (explicit_q) {
    std::printf("[I] Explicit quantization (QDQ model): INT8 with the model's scales and zero "
                "points, no calibration\n");
  } else if (c.from_cache) {
    std::printf("[I] INT8 scales of %lld tensors read from the calibration cache (%s)\n",
                static_cast<long long>(c.tensors), c.algorithm.c_str());
  } else {
    std::printf("[I] INT8 calibration (%s): %lld tensors on %lld batches in %.1f s%s\n",
                c.algorithm.c_str(), static_cast<long long>(c.tensors),
                static_cast<long long>(c.batches), c.ms / 1000.0,
                c.cache_written ? ", calibration cache written" : "");
  }
  const PrecisionCounts n = CountPrecisions(built);
  if (n.fp16 + n.bf16 > 0) {
    std::printf("[I] Layer precisions: %d int8, %d fp16, %d bf16, %d fp32, %d quantize/dequantize\n",
                n.int8, n.fp16, n.bf16, n.fp32, n.boundary);
  } else {
    std::printf("[I] Layer precisions: %d int8, %d fp32, %d quantize/dequantize\n", n.int8, n.fp32,
                n.boundary);
  }
  for (const auto& l : built.layer_precisions) {
    if (l.reason.empty()) continue;
    std::printf("[I]   %s %s: %s (%s): %s\n",
                l.precision == engine::Precision::kFp32 ? "kept" : "runs in",
                engine::PrecisionName(l.precision), l.layer.c_str(), l.type.c_str(),
                l.reason.c_str());
  }
}

absl::Status RunEvaluation(const Options& opt, const ValidatedOptions& v,
                           const engine::Engine& eng) {
  if (eng.inputs().size() != 1 || eng.outputs().empty()) {
    return absl::InvalidArgumentError("--evalData needs an engine with one input");
  }
  auto ds = OpenEvalData(opt, v, eng.inputs()[0], eng.plan_info().preprocess);
  if (!ds.ok()) return ds.status();
  auto ctx = eng.CreateExecutionContext();
  if (!ctx.ok()) return ctx.status();
  if (opt.threads.has_value()) {
    absl::Status s = (*ctx)->SetThreads(*opt.threads);
    if (!s.ok()) return s;
  }
  std::printf("\n=== Evaluation on %s ===\n", (*ds)->Describe().c_str());
  const std::string out_name = eng.outputs()[0].name;
  int64_t seen = 0, correct = 0;
  ProgressBar bar("evaluate", (*ds)->num_batches());
  for (int64_t b = 0; b < (*ds)->num_batches(); ++b) {
    auto batch = (*ds)->GetBatch(b);
    if (!batch.ok()) return batch.status();
    absl::Status s = (*ctx)->SetInput(eng.inputs()[0].name, batch->input);
    if (!s.ok()) return s;
    s = (*ctx)->Execute();
    if (!s.ok()) return s;
    auto out = (*ctx)->GetOutput(out_name);
    if (!out.ok()) return out.status();
    const std::vector<int64_t> top = Top1(**out, batch->count);
    for (size_t i = 0; i < top.size(); ++i) correct += top[i] == batch->labels[i];
    seen += static_cast<int64_t>(top.size());
    bar.Update(b + 1);
  }
  bar.Finish();
  if ((*ds)->has_labels()) {
    std::printf("top-1 accuracy: %.2f%% (%lld images)\n", seen ? 100.0 * correct / seen : 0.0,
                static_cast<long long>(seen));
  } else {
    std::printf("[I] %lld images run; no labels, so no accuracy (give --evalLabels)\n",
                static_cast<long long>(seen));
  }
  return absl::OkStatus();
}

absl::Status RunCompareInt8(const Options& opt, const ValidatedOptions& v,
                            const engine::BuilderConfig& int8_config) {
  engine::StderrLogger logger(engine::Severity::kWarning);
  engine::Builder builder(&logger);
  engine::BuilderConfig fp32_config = int8_config;
  fp32_config.precision = engine::Precision::kFp32;
  fp32_config.calibrator = nullptr;
  fp32_config.mark_all_outputs = true;
  engine::BuilderConfig q_config = int8_config;
  q_config.mark_all_outputs = true;
  auto fp32_built = builder.BuildFromOnnxFile(opt.onnx, fp32_config);
  if (!fp32_built.ok()) return fp32_built.status();
  auto q_built = builder.BuildFromOnnxFile(opt.onnx, q_config);
  if (!q_built.ok()) return q_built.status();
  PrintInt8Summary(*q_built);
  auto fp32 = engine::Runtime::DeserializeEngine(fp32_built->plan, &logger);
  if (!fp32.ok()) return fp32.status();
  auto q = engine::Runtime::DeserializeEngine(q_built->plan, &logger);
  if (!q.ok()) return q.status();
  if ((*fp32)->inputs().size() != 1) {
    return absl::InvalidArgumentError("--compareInt8 needs a network with one input");
  }
  auto ds = OpenEvalData(opt, v, (*fp32)->inputs()[0], (*q)->plan_info().preprocess);
  if (!ds.ok()) return ds.status();
  auto fctx = (*fp32)->CreateExecutionContext();
  if (!fctx.ok()) return fctx.status();
  auto qctx = (*q)->CreateExecutionContext();
  if (!qctx.ok()) return qctx.status();

  // Tensors of both engines, in FP32 layer order; the producing layer of each.
  std::map<std::string, std::string> producer;
  std::map<std::string, std::string> producer_type;
  for (const engine::LayerInfo& l : (*fp32)->layers()) {
    for (const std::string& o : l.outputs) {
      producer[o] = l.name;
      producer_type[o] = l.type;
    }
  }
  std::set<std::string> q_outputs;
  for (const auto& d : (*q)->outputs()) q_outputs.insert(d.name);
  std::vector<std::string> names;
  for (const auto& d : (*fp32)->outputs()) {
    if (q_outputs.contains(d.name) && d.dtype == engine::DataType::kFloat32) names.push_back(d.name);
  }
  const std::string model_output = (*fp32)->outputs()[0].name;
  std::map<std::string, TensorError> errors;
  int64_t seen = 0, agree = 0, fp32_correct = 0, int8_correct = 0;
  ProgressBar bar("compare", (*ds)->num_batches());
  for (int64_t b = 0; b < (*ds)->num_batches(); ++b) {
    auto batch = (*ds)->GetBatch(b);
    if (!batch.ok()) return batch.status();
    for (auto* ctx : {fctx->get(), qctx->get()}) {
      absl::Status s = ctx->SetInput((*fp32)->inputs()[0].name, batch->input);
      if (!s.ok()) return s;
      s = ctx->Execute();
      if (!s.ok()) return s;
    }
    for (const std::string& name : names) {
      auto a = (*fctx)->GetOutput(name);
      auto c = (*qctx)->GetOutput(name);
      if (!a.ok()) return a.status();
      if (!c.ok()) return c.status();
      // Only the real rows of a padded last batch.
      const int64_t n = (*a)->shape().empty() ? 1 : (*a)->shape()[0];
      const int64_t per_row = n > 0 ? (*a)->num_elements() / n : 0;
      errors[name].Add((*a)->data_as<float>(), (*c)->data_as<float>(),
                       per_row * std::min<int64_t>(batch->count, n));
    }
    auto fa = (*fctx)->GetOutput(model_output);
    auto qa = (*qctx)->GetOutput(model_output);
    const std::vector<int64_t> ft = Top1(**fa, batch->count), qt = Top1(**qa, batch->count);
    for (size_t i = 0; i < ft.size(); ++i) {
      agree += ft[i] == qt[i];
      if ((*ds)->has_labels()) {
        fp32_correct += ft[i] == batch->labels[i];
        int8_correct += qt[i] == batch->labels[i];
      }
    }
    seen += static_cast<int64_t>(ft.size());
    bar.Update(b + 1);
  }
  bar.Finish();

  // Execution order (the FP32 engine's layer order), each tensor's SQNR drop
  // against the worst of its producing layer's measured inputs: accumulated
  // error falls layer after layer, so the layer that breaks accuracy is the one
  // with the large drop, not the one with the lowest SQNR (that is the last).
  std::map<std::string, size_t> layer_of;   // tensor -> index of its producing layer
  const auto& layers = (*fp32)->layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    for (const std::string& o : layers[i].outputs) layer_of[o] = i;
  }
  std::vector<std::string> order = names;
  std::stable_sort(order.begin(), order.end(), [&](const std::string& x, const std::string& y) {
    const size_t lx = layer_of.count(x) ? layer_of[x] : layers.size();
    const size_t ly = layer_of.count(y) ? layer_of[y] : layers.size();
    return lx < ly;
  });
  std::map<std::string, double> input_sqnr, drop;  // dB; inputs: +inf when exact or unmeasured
  for (const std::string& name : order) {
    double in = INFINITY;
    auto l = layer_of.find(name);
    if (l != layer_of.end()) {
      for (const std::string& i : layers[l->second].inputs) {
        auto e = errors.find(i);
        if (e != errors.end()) in = std::min(in, e->second.SqnrDb());
      }
    }
    input_sqnr[name] = in;
    const double own = errors[name].SqnrDb();
    // From exact inputs (the model input) the drop is undefined ("-"): the
    // layer's own SQNR is the whole story.
    drop[name] = std::isinf(in) || std::isinf(own) ? 0.0 : in - own;
  }
  std::vector<std::string> by_drop;
  for (const std::string& name : order) {
    if (!std::isinf(input_sqnr[name])) by_drop.push_back(name);  // the first layers drop from "exact"
  }
  std::stable_sort(by_drop.begin(), by_drop.end(),
                   [&](const std::string& x, const std::string& y) { return drop[x] > drop[y]; });
  std::printf("\n=== INT8 vs FP32, per layer output (%lld images of %s), in execution order ===\n",
              static_cast<long long>(seen), (*ds)->Describe().c_str());
  if (!by_drop.empty()) {
    std::vector<std::string> worst;
    for (size_t i = 0; i < by_drop.size() && i < 3; ++i) {
      worst.push_back(absl::StrFormat("'%s' %.2f dB", by_drop[i], drop[by_drop[i]]));
    }
    std::printf("Largest SQNR drops against the layer's inputs: %s\n", absl::StrJoin(worst, ", ").c_str());
  }
  std::printf("%4s %-16s %10s %10s %10s %10s %12s  %s\n", "#", "FP32 type", "cosine", "SQNR dB",
              "in dB", "drop dB", "max |err|", "Tensor (layer)");
  const size_t limit = opt.compare_top == 0 ? order.size() : static_cast<size_t>(opt.compare_top);
  for (size_t r = 0; r < order.size() && r < limit; ++r) {
    const std::string& name = order[r];
    const TensorError& e = errors[name];
    std::string label = name;
    auto p = producer.find(name);
    if (p != producer.end() && p->second != name) label = absl::StrCat(name, " (", p->second, ")");
    const bool flagged = !by_drop.empty() && !std::isinf(input_sqnr[name]) && drop[name] >= 10.0;
    const bool exact_in = std::isinf(input_sqnr[name]);
    std::printf("%4zu %-16s %10.6f %10.2f %10s %10s %12.5g  %s%s\n", r,
                producer_type.count(name) ? producer_type[name].c_str() : "-", e.Cosine(),
                e.SqnrDb(), exact_in ? "exact" : absl::StrFormat("%.2f", input_sqnr[name]).c_str(),
                exact_in ? "-" : absl::StrFormat("%.2f", drop[name]).c_str(), e.max_abs,
                label.c_str(), flagged ? "   <-- drop >= 10 dB" : "");
  }
  if (order.size() > limit) {
    std::printf("... %zu more (--compareTop=N shows more, 0 all)\n", order.size() - limit);
  }
  const TensorError& out = errors[model_output];
  std::printf("Model output '%s': cosine %.6f, SQNR %.2f dB, max |err| %.5g\n",
              model_output.c_str(), out.Cosine(), out.SqnrDb(), out.max_abs);
  std::printf("top-1 agreement INT8 vs FP32: %.2f%% (%lld images)\n",
              seen ? 100.0 * agree / seen : 0.0, static_cast<long long>(seen));
  if ((*ds)->has_labels()) {
    std::printf("top-1 accuracy FP32: %.2f%%, INT8: %.2f%% (%lld images)\n",
                seen ? 100.0 * fp32_correct / seen : 0.0, seen ? 100.0 * int8_correct / seen : 0.0,
                static_cast<long long>(seen));
  }
  return absl::OkStatus();
}

}  // namespace trtexec_like
