#include "trtexec_like/int8.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
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

// Where one engine input's samples come from: a dataset path, and for one
// input of a multi-input directory, its files there.
struct DataSource {
  std::string path;
  std::vector<std::string> files;
};

// The sources of --calibData / --evalData (`flag`) by input name; see
// OpenInputData for the accepted forms. Errors: InvalidArgument naming the
// unknown or missing input, GroupTensorFilesByInput's.
absl::StatusOr<std::map<std::string, DataSource>> DataSources(
    const std::string& spec, const char* flag, const std::vector<engine::TensorDesc>& inputs) {
  std::set<std::string> names;
  std::vector<std::string> ordered;
  for (const engine::TensorDesc& d : inputs) {
    names.insert(d.name);
    ordered.push_back(d.name);
  }
  std::map<std::string, DataSource> sources;
  const std::vector<std::string> items = absl::StrSplit(spec, ',');
  auto named = [&](const std::string& item) {
    const size_t colon = item.find(':');
    return colon != std::string::npos && names.contains(item.substr(0, colon));
  };
  if (items.size() == 1 && !named(items[0])) {
    if (inputs.size() == 1) {
      sources[inputs[0].name].path = spec;
      return sources;
    }
    const std::string usage = absl::StrCat(
        flag, "=PATH feeds one input; the network has ", inputs.size(),
        ": give one directory of <sample>_<input>.pb|.npy files (one per input per sample) or "
        "one dataset per input as ", flag, "=name:path,name2:path2 (inputs: ",
        absl::StrJoin(ordered, ", "), ")");
    std::error_code ec;
    if (!std::filesystem::is_directory(spec, ec)) {
      return absl::InvalidArgumentError(absl::StrCat(usage, "; ", spec, " is not a directory"));
    }
    auto grouped = engine::data::GroupTensorFilesByInput(spec, ordered);
    if (!grouped.ok()) {
      // A directory that is not laid out per input at all (e.g. one input's
      // samples) gets the usage; a layout error (a missing input) stands alone.
      const bool stray =
          grouped.status().GetPayload(engine::data::kUnmatchedFilePayload).has_value();
      return absl::Status(grouped.status().code(),
                          absl::StrCat(stray ? usage : std::string(flag), ": ",
                                       grouped.status().message()));
    }
    for (const std::string& name : ordered) {
      sources[name] = DataSource{spec, std::move(grouped->files[name])};
    }
    return sources;
  }
  for (const std::string& item : items) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos || !names.contains(item.substr(0, colon))) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": '", item, "' is not name:path with name an engine input (inputs: ",
          absl::StrJoin(ordered, ", "), ")"));
    }
    if (!sources.emplace(item.substr(0, colon), DataSource{item.substr(colon + 1), {}}).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": input '", item.substr(0, colon), "' is given twice"));
    }
  }
  for (const std::string& name : ordered) {
    if (!sources.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": no dataset for input '", name, "' (give name:path for every input: ",
          absl::StrJoin(ordered, ", "), ")"));
    }
  }
  return sources;
}

// A Calibrator over one Dataset per engine input, one engine batch at a
// time (batch N = the engine input's dimension 0: the --shapes batch, or the
// profile's opt batch of a dynamic-shape build), with a progress bar.
class DatasetCalibrator final : public engine::Calibrator {
 public:
  DatasetCalibrator(std::string path, const Options& opt, const ValidatedOptions& v)
      : path_(std::move(path)), opt_(opt), v_(v), max_batches_(opt.calib_batches) {}

  absl::Status Begin(const std::vector<engine::TensorDesc>& inputs) override {
    auto data = OpenInputData(path_, "--calibData", inputs, opt_, v_, opt_.calib_images, "", "");
    if (!data.ok()) return data.status();
    data_ = std::move(*data);
    const engine::data::Dataset& first = data_.first();
    batches_ = first.num_batches();
    if (max_batches_ > 0) batches_ = std::min(batches_, max_batches_);
    std::printf("[I] Calibrating on %s: %lld batch(es) of %lld\n", data_.Describe().c_str(),
                static_cast<long long>(batches_), static_cast<long long>(first.batch_size()));
    bar_ = std::make_unique<ProgressBar>("calibrate", batches_);
    return absl::OkStatus();
  }

  absl::StatusOr<bool> NextBatch(std::map<std::string, engine::Tensor>& inputs) override {
    if (data_.sets.empty() || next_ >= batches_) {
      if (bar_) bar_->Finish();
      return false;
    }
    auto batch = data_.GetBatch(next_, &inputs);
    if (!batch.ok()) return batch.status();
    ++next_;
    bar_->Update(next_);
    return true;
  }

  int64_t BatchCount() const override { return batches_; }

  std::string Preprocessing() const override {
    if (data_.sets.size() != 1 || data_.first().kind() == engine::data::DatasetKind::kTensors) {
      return "";
    }
    return engine::data::ImagePreprocessToString(data_.preprocess);
  }

  std::string Describe() const override {
    if (data_.sets.empty()) return path_;
    return absl::StrCat(data_.Describe(), "; ", batches_, " batch(es) of ",
                        data_.first().batch_size());
  }

 private:
  std::string path_;
  Options opt_;
  ValidatedOptions v_;
  int64_t max_batches_ = 0;
  InputData data_;
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

const engine::TensorDesc& ClassScoresOutput(const std::vector<engine::TensorDesc>& outputs) {
  for (const engine::TensorDesc& d : outputs) {
    const engine::Dims& s = d.shape;
    if (s.size() == 2 || (s.size() == 4 && s[2] == 1 && s[3] == 1)) return d;
  }
  return outputs.front();
}

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

absl::StatusOr<engine::data::SampleBatch> InputData::GetBatch(
    int64_t b, std::map<std::string, engine::Tensor>* inputs) const {
  engine::data::SampleBatch first_batch;
  for (size_t i = 0; i < sets.size(); ++i) {
    auto batch = sets[i].second->GetBatch(b);
    if (!batch.ok()) return batch.status();
    (*inputs)[sets[i].first] = std::move(batch->input);
    if (i == 0) first_batch = std::move(*batch);
  }
  return first_batch;
}

std::string InputData::Describe() const {
  if (!directory.empty() && !sets.empty()) {
    std::vector<std::string> names;
    for (const auto& set : sets) names.push_back(set.first);
    return absl::StrCat(size(), " samples of ", absl::StrJoin(names, ", "),
                        " (one tensor file per input per sample) from ", directory);
  }
  std::vector<std::string> parts;
  for (const auto& [name, dataset] : sets) {
    parts.push_back(sets.size() == 1 ? dataset->Describe()
                                     : absl::StrCat(name, ": ", dataset->Describe()));
  }
  return absl::StrJoin(parts, "; ");
}

absl::StatusOr<InputData> OpenInputData(const std::string& spec, const char* flag,
                                        const std::vector<engine::TensorDesc>& inputs,
                                        const Options& opt, const ValidatedOptions& v,
                                        int64_t limit, const std::string& labels,
                                        const std::string& plan_preprocess) {
  if (inputs.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": the network has no inputs"));
  auto sources = DataSources(spec, flag, inputs);
  if (!sources.ok()) return sources.status();
  InputData data;
  if (inputs.size() > 1 && !sources->begin()->second.files.empty()) {
    data.directory = sources->begin()->second.path;
  }
  for (const engine::TensorDesc& input : inputs) {
    const DataSource& source = sources->at(input.name);
    // Image preprocessing only concerns rank-4 (image) inputs; tensor files
    // (token ids, masks) are read as they are.
    auto pp = input.shape.size() == 4 || v.preprocess.has_value()
                  ? ResolvePreprocess(v.preprocess, input, plan_preprocess, flag)
                  : absl::StatusOr<engine::data::ImagePreprocess>(engine::data::RawPreprocess());
    if (!pp.ok()) return pp.status();
    engine::data::DatasetOptions options =
        DatasetOptionsFor(opt, *pp, limit, data.sets.empty() ? labels : "");
    options.tensor_files = source.files;
    auto ds = Dataset::Open(source.path, input, options);
    if (!ds.ok()) {
      return absl::Status(ds.status().code(),
                          absl::StrCat(flag, inputs.size() > 1 ? " for input '" : "",
                                       inputs.size() > 1 ? input.name + "'" : "", ": ",
                                       ds.status().message()));
    }
    if (!data.sets.empty() && (*ds)->size() != data.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": input '", input.name, "' has ", (*ds)->size(), " samples but input '",
          data.sets.front().first, "' has ", data.size(),
          "; every input needs one sample per network sample"));
    }
    for (size_t i = 0; i < (*ds)->skipped().size(); ++i) {
      std::printf("[W] %s: skipped unreadable file %s (%s)\n", flag, (*ds)->skipped()[i].c_str(),
                  (*ds)->skip_reasons()[i].c_str());
    }
    if (data.sets.empty()) data.preprocess = *pp;
    data.sets.emplace_back(input.name, std::move(*ds));
  }
  return data;
}

absl::StatusOr<InputData> OpenEvalInputs(const Options& opt, const ValidatedOptions& v,
                                         const std::vector<engine::TensorDesc>& inputs,
                                         const std::string& plan_preprocess) {
  const std::string& path = opt.eval_data.empty() ? opt.calib_data : opt.eval_data;
  if (path.empty()) return absl::InvalidArgumentError("--evalData: no dataset given");
  return OpenInputData(path, "--evalData", inputs, opt, v, opt.eval_images, opt.eval_labels,
                       plan_preprocess);
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
                !c.cache_written  ? ""
                : c.cache_mismatch ? ", calibration cache rewritten (it did not match the network)"
                                   : ", calibration cache written");
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
  if (eng.inputs().empty() || eng.outputs().empty()) {
    return absl::InvalidArgumentError("--evalData needs an engine with inputs and outputs");
  }
  auto ds = OpenEvalInputs(opt, v, eng.inputs(), eng.plan_info().preprocess);
  if (!ds.ok()) return ds.status();
  auto ctx = eng.CreateExecutionContext();
  if (!ctx.ok()) return ctx.status();
  if (opt.threads.has_value()) {
    absl::Status s = (*ctx)->SetThreads(*opt.threads);
    if (!s.ok()) return s;
  }
  std::printf("\n=== Evaluation on %s ===\n", ds->Describe().c_str());
  const std::string out_name = ClassScoresOutput(eng.outputs()).name;
  int64_t seen = 0, correct = 0;
  ProgressBar bar("evaluate", ds->num_batches());
  std::map<std::string, engine::Tensor> inputs;
  for (int64_t b = 0; b < ds->num_batches(); ++b) {
    auto batch = ds->GetBatch(b, &inputs);
    if (!batch.ok()) return batch.status();
    for (const auto& [name, value] : inputs) {
      absl::Status s = (*ctx)->SetInput(name, value);
      if (!s.ok()) return s;
    }
    absl::Status s = (*ctx)->Execute();
    if (!s.ok()) return s;
    auto out = (*ctx)->GetOutput(out_name);
    if (!out.ok()) return out.status();
    const std::vector<int64_t> top = Top1Classes(**out, batch->count);
    for (size_t i = 0; i < top.size(); ++i) correct += top[i] == batch->labels[i];
    seen += static_cast<int64_t>(top.size());
    bar.Update(b + 1);
  }
  bar.Finish();
  const bool has_labels = ds->first().has_labels();
  if (has_labels) {
    std::printf("top-1 accuracy: %.2f%% (%lld %s)\n", seen ? 100.0 * correct / seen : 0.0,
                static_cast<long long>(seen), ds->SampleNoun());
  } else {
    std::printf("[I] %lld %s run; no labels, so no accuracy (give --evalLabels)\n",
                static_cast<long long>(seen), ds->SampleNoun());
  }
  EvalResult result;
  result.dataset = ds->Describe();
  result.images = seen;
  result.noun = ds->SampleNoun();
  result.has_labels = has_labels;
  result.correct = has_labels ? correct : 0;
  return result;
}

}  // namespace trtexec_like
