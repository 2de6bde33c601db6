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
#include "absl/strings/str_split.h"
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

// The datasets of --calibData by input name. `spec` is either one dataset
// path (a single-input network; the historical syntax) or, as trtexec's
// --loadInputs, comma-separated `name:path` items, one per engine input
// (e.g. "input_ids:ids_dir,attention_mask:mask_dir", each a directory of
// .npy/.pb tensor files or one tensor file holding a whole batch). Errors:
// InvalidArgument naming the unknown or missing input.
absl::StatusOr<std::map<std::string, std::string>> CalibDataPaths(
    const std::string& spec, const std::vector<engine::TensorDesc>& inputs) {
  std::set<std::string> names;
  for (const engine::TensorDesc& d : inputs) names.insert(d.name);
  std::map<std::string, std::string> paths;
  const std::vector<std::string> items = absl::StrSplit(spec, ',');
  auto named = [&](const std::string& item) {
    const size_t colon = item.find(':');
    return colon != std::string::npos && names.contains(item.substr(0, colon));
  };
  if (items.size() == 1 && !named(items[0])) {
    if (inputs.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--calibData=PATH feeds one input; the network has ", inputs.size(),
          ": give one dataset per input as --calibData=name:path,name2:path2 (inputs: ",
          absl::StrJoin(names, ", "), ")"));
    }
    paths[inputs[0].name] = spec;
    return paths;
  }
  for (const std::string& item : items) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos || !names.contains(item.substr(0, colon))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--calibData: '", item, "' is not name:path with name an engine input (inputs: ",
          absl::StrJoin(names, ", "), ")"));
    }
    if (!paths.emplace(item.substr(0, colon), item.substr(colon + 1)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--calibData: input '", item.substr(0, colon), "' is given twice"));
    }
  }
  for (const std::string& name : names) {
    if (!paths.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--calibData: no dataset for input '", name, "' (give name:path for every input: ",
          absl::StrJoin(names, ", "), ")"));
    }
  }
  return paths;
}

// A Calibrator over one Dataset per engine input, one engine batch at a
// time (batch N = the engine input's dimension 0: the --shapes batch, or the
// profile's opt batch of a dynamic-shape build), with a progress bar.
class DatasetCalibrator final : public engine::Calibrator {
 public:
  DatasetCalibrator(std::string path, const Options& opt, const ValidatedOptions& v)
      : path_(std::move(path)), opt_(opt), given_(v.preprocess), max_batches_(opt.calib_batches) {}

  absl::Status Begin(const std::vector<engine::TensorDesc>& inputs) override {
    auto paths = CalibDataPaths(path_, inputs);
    if (!paths.ok()) return paths.status();
    datasets_.clear();
    for (const engine::TensorDesc& input : inputs) {
      const std::string& path = paths->at(input.name);
      // Image preprocessing only concerns rank-4 (image) inputs; tensor files
      // (token ids, masks) are read as they are.
      auto pp = input.shape.size() == 4 || given_.has_value()
                    ? ResolvePreprocess(given_, input, "", "--calibData")
                    : absl::StatusOr<engine::data::ImagePreprocess>(engine::data::RawPreprocess());
      if (!pp.ok()) return pp.status();
      auto ds = Dataset::Open(path, input, DatasetOptionsFor(opt_, *pp, opt_.calib_images, ""));
      if (!ds.ok()) {
        return absl::Status(ds.status().code(),
                            absl::StrCat("--calibData", inputs.size() > 1 ? " for input '" : "",
                                         inputs.size() > 1 ? input.name + "'" : "", ": ",
                                         ds.status().message()));
      }
      if (!datasets_.empty() && (*ds)->size() != datasets_.front().second->size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--calibData: input '", input.name, "' has ", (*ds)->size(), " samples but input '",
            datasets_.front().first, "' has ", datasets_.front().second->size(),
            "; every input needs one sample per calibration sample"));
      }
      for (size_t i = 0; i < (*ds)->skipped().size(); ++i) {
        std::printf("[W] --calibData: skipped unreadable file %s (%s)\n",
                    (*ds)->skipped()[i].c_str(), (*ds)->skip_reasons()[i].c_str());
      }
      if (datasets_.empty()) preprocess_ = *pp;
      datasets_.emplace_back(input.name, std::move(*ds));
    }
    const Dataset& first = *datasets_.front().second;
    batches_ = first.num_batches();
    if (max_batches_ > 0) batches_ = std::min(batches_, max_batches_);
    std::printf("[I] Calibrating on %s: %lld batch(es) of %lld\n", DescribeData().c_str(),
                static_cast<long long>(batches_), static_cast<long long>(first.batch_size()));
    bar_ = std::make_unique<ProgressBar>("calibrate", batches_);
    return absl::OkStatus();
  }

  absl::StatusOr<bool> NextBatch(std::map<std::string, engine::Tensor>& inputs) override {
    if (datasets_.empty() || next_ >= batches_) {
      if (bar_) bar_->Finish();
      return false;
    }
    for (const auto& [name, dataset] : datasets_) {
      auto batch = dataset->GetBatch(next_);
      if (!batch.ok()) return batch.status();
      inputs[name] = std::move(batch->input);
    }
    ++next_;
    bar_->Update(next_);
    return true;
  }

  int64_t BatchCount() const override { return batches_; }

  std::string Preprocessing() const override {
    if (datasets_.size() != 1 ||
        datasets_.front().second->kind() == engine::data::DatasetKind::kTensors) {
      return "";
    }
    return engine::data::ImagePreprocessToString(preprocess_);
  }

  std::string Describe() const override {
    if (datasets_.empty()) return path_;
    return absl::StrCat(DescribeData(), "; ", batches_, " batch(es) of ",
                        datasets_.front().second->batch_size());
  }

 private:
  // The datasets, "name: description" each when there are several.
  std::string DescribeData() const {
    std::vector<std::string> parts;
    for (const auto& [name, dataset] : datasets_) {
      parts.push_back(datasets_.size() == 1 ? dataset->Describe()
                                            : absl::StrCat(name, ": ", dataset->Describe()));
    }
    return absl::StrJoin(parts, "; ");
  }

  std::string path_;
  Options opt_;
  std::optional<engine::data::ImagePreprocess> given_;  // --preprocess
  engine::data::ImagePreprocess preprocess_;            // the first input's
  int64_t max_batches_ = 0;
  std::vector<std::pair<std::string, std::unique_ptr<Dataset>>> datasets_;  // by input, in order
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

}  // namespace

std::vector<int64_t> Top1Classes(const engine::Tensor& t, int64_t count) {
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

absl::StatusOr<EvalResult> RunEvaluation(const Options& opt, const ValidatedOptions& v,
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
    const std::vector<int64_t> top = Top1Classes(**out, batch->count);
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
  EvalResult result;
  result.dataset = (*ds)->Describe();
  result.images = seen;
  result.has_labels = (*ds)->has_labels();
  result.correct = (*ds)->has_labels() ? correct : 0;
  return result;
}

}  // namespace trtexec_like
