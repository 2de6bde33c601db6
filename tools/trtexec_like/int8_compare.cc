#include "trtexec_like/int8_compare.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/dataset.h"
#include "common/file_util.h"
#include "trtexec_like/int8.h"
#include "trtexec_like/log.h"
#include "trtexec_like/progress.h"
#include "trtexec_like/report/run_report.h"

namespace trtexec_like {

using Json = nlohmann::json;

void TensorError::Add(const float* ref, const float* test, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double a = ref[i], b = test[i];
    dot += a * b;
    ref2 += a * a;
    test2 += b * b;
    noise += (a - b) * (a - b);
    max_abs = std::max(max_abs, std::fabs(a - b));
  }
  count += n;
}

double TensorError::Cosine() const {
  if (ref2 == 0 || test2 == 0) return ref2 == test2 ? 1.0 : 0.0;
  return dot / std::sqrt(ref2 * test2);
}

double TensorError::SqnrDb() const {
  if (noise == 0) return INFINITY;
  if (ref2 == 0) return -INFINITY;
  return 10 * std::log10(ref2 / noise);
}

void RangeStats::Add(const float* x, int64_t n, float scale) {
  for (int64_t i = 0; i < n; ++i) {
    amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
    if (scale > 0) {
      const double q = static_cast<double>(x[i]) / scale;
      clipped += q >= 127.5 || q <= -128.5;
    }
  }
  count += n;
}

void FakeQuantize(float* y, int64_t n, float scale) {
  if (!(scale > 0)) return;
  for (int64_t i = 0; i < n; ++i) {
    const float q = std::clamp(std::nearbyint(y[i] / scale), -128.0f, 127.0f);
    y[i] = q * scale;
  }
}

std::string CalibratorHint(const Int8CompareRow& row, const std::string& calibrator) {
  if (!row.isolated.has_value()) return "";
  const double db = row.isolated->SqnrDb();
  if (!(db < kHintBelowDb)) return "";
  const std::string keep =
      absl::StrFormat("keep in FP16/FP32 (--layerPrecisions='%s':fp16)", row.layer);
  if (!row.scale.has_value()) {
    return absl::StrCat(keep, ": its output is float, the error comes from its int8 inputs "
                              "and weights");
  }
  const double range = 127.0 * *row.scale;
  const double clip = row.range.ClippedFraction();
  if (clip >= kHintClipFraction) {
    if (calibrator == "minmax") {
      return absl::StrFormat("clip %.1f%% (amax %.4g > range %.4g) — calibrate on data like "
                             "these samples (more or other images)",
                             100 * clip, row.range.amax, range);
    }
    return absl::StrFormat("clip %.1f%% (amax %.4g, range %.4g) — try --calibrator=minmax or "
                           "percentile (--calibPercentile=99.999)",
                           100 * clip, row.range.amax, range);
  }
  if (row.clipped_input_fraction >= kHintClipFraction) {
    return absl::StrFormat("its input '%s' clips %.1f%% — fix that tensor's range first (try "
                           "--calibrator=%s)",
                           row.clipped_input, 100 * row.clipped_input_fraction,
                           calibrator == "minmax" ? "minmax on data like these samples"
                                                  : "minmax or percentile");
  }
  const double ratio = row.rms > 0 ? range / row.rms : 0;
  if (ratio >= kHintOutlierRatio && calibrator != "entropy") {
    return absl::StrFormat("range %.4g is %.0fx the rms, little clipping — try --calibrator=%s",
                           range, ratio,
                           calibrator == "percentile" ? "entropy or a lower --calibPercentile"
                                                      : "percentile or entropy");
  }
  return absl::StrFormat("%s: no clipping to blame (clip %.2f%%, range %.0fx the rms)", keep,
                         100 * clip, ratio);
}

std::vector<std::vector<size_t>> IsolationGroups(const std::vector<engine::LayerInfo>& layers,
                                                 const std::vector<size_t>& candidates) {
  // ancestors[i]: the layers whose outputs layer i reads, directly or not
  // (layers are in execution order, so producers come first).
  const size_t n = layers.size();
  std::map<std::string, size_t> producer;
  std::vector<std::vector<bool>> ancestors(n, std::vector<bool>(n, false));
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& in : layers[i].inputs) {
      auto p = producer.find(in);
      if (p == producer.end() || p->second >= i) continue;
      ancestors[i][p->second] = true;
      const std::vector<bool>& up = ancestors[p->second];
      for (size_t k = 0; k < n; ++k) {
        if (up[k]) ancestors[i][k] = true;
      }
    }
    for (const std::string& out : layers[i].outputs) producer.emplace(out, i);
  }
  std::vector<size_t> order = candidates;
  std::sort(order.begin(), order.end());
  std::vector<std::vector<size_t>> groups;
  for (size_t c : order) {
    if (c >= n) continue;
    bool placed = false;
    for (auto& g : groups) {
      // Members come earlier in execution order: only c can read them.
      const bool independent =
          std::none_of(g.begin(), g.end(), [&](size_t m) { return ancestors[c][m]; });
      if (independent) {
        g.push_back(c);
        placed = true;
        break;
      }
    }
    if (!placed) groups.push_back({c});
  }
  return groups;
}

std::string OverrideCacheScales(const std::string& cache_text,
                                const std::map<std::string, float>& scales) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(cache_text, '\n')) {
    const size_t colon = line.rfind(": ");
    if (colon != absl::string_view::npos && !out.empty()) {
      auto it = scales.find(std::string(line.substr(0, colon)));
      if (it != scales.end()) {
        uint32_t bits = 0;
        std::memcpy(&bits, &it->second, sizeof(bits));
        absl::StrAppend(&out, line.substr(0, colon), ": ", absl::StrFormat("%08x", bits), "\n");
        continue;
      }
    }
    if (!line.empty()) absl::StrAppend(&out, line, "\n");
  }
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;

// Real rows of a batch's tensor (a padded last batch has fewer samples).
int64_t RealElements(const engine::Tensor& t, int64_t samples) {
  const int64_t n = t.shape().empty() ? 1 : t.shape()[0];
  const int64_t per_row = n > 0 ? t.num_elements() / n : 0;
  return per_row * std::min<int64_t>(samples, n);
}

// A fresh path in the temporary directory for a calibration cache.
std::string TempCachePath(const char* what) {
  static std::atomic<int> counter{0};
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) dir = ".";
  return (dir / absl::StrCat("trtexec_like_", what, "_", getpid(), "_", counter++, ".cache"))
      .string();
}

// Removes a file when it goes out of scope.
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove(path, ec);
  }
};

// Runs `ctx` on one batch's inputs (by input name).
absl::Status RunOn(engine::ExecutionContext& ctx,
                   const std::map<std::string, engine::Tensor>& inputs) {
  for (const auto& [name, value] : inputs) {
    absl::Status s = ctx.SetInput(name, value);
    if (!s.ok()) return s;
  }
  return ctx.Execute();
}

// Measures the isolated errors into `c.rows` (see int8_compare.h).
absl::Status MeasureIsolated(const Options& opt, const engine::BuilderConfig& q_config,
                             const engine::BuildResult& q_built, const engine::Engine& fp32,
                             const InputData& ds, Int8Comparison& c) {
  const auto t0 = Clock::now();
  const std::vector<engine::LayerInfo>& layers = fp32.layers();
  std::map<std::string, const engine::LayerPrecisionInfo*> q_layer;
  for (const auto& l : q_built.layer_precisions) q_layer[l.layer] = &l;
  std::map<std::string, size_t> layer_index;
  for (size_t i = 0; i < layers.size(); ++i) layer_index[layers[i].name] = i;
  // Candidates: layers that compute in INT8 (Int8Conv, Int8Gemm, ...), not
  // the pass-through ones (their int8 output is their input's).
  std::set<size_t> candidate_set;
  for (Int8CompareRow& row : c.rows) {
    auto q = q_layer.find(row.layer);
    if (q == q_layer.end()) {
      row.isolated_note = "no INT8 engine layer of this name";
    } else if (q->second->precision != engine::Precision::kInt8) {
      row.isolated_note = absl::StrCat(engine::PrecisionName(q->second->precision),
                                       " in the INT8 engine");
    } else if (!absl::StartsWith(q->second->type, "Int8")) {
      row.isolated_note = "pass-through (no error of its own)";
    } else if (layer_index.count(row.layer)) {
      candidate_set.insert(layer_index[row.layer]);
    }
  }
  if (opt.compare_isolated > 0 && candidate_set.size() > static_cast<size_t>(opt.compare_isolated)) {
    // --compareIsolated=N: the N candidates with the largest drops.
    std::vector<const Int8CompareRow*> ranked;
    for (const Int8CompareRow& row : c.rows) {
      auto it = layer_index.find(row.layer);
      if (it != layer_index.end() && candidate_set.count(it->second)) ranked.push_back(&row);
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) {
      return a->drop_db > b->drop_db;
    });
    std::set<std::string> keep;
    for (size_t i = 0; i < ranked.size() && keep.size() < static_cast<size_t>(opt.compare_isolated); ++i) {
      keep.insert(ranked[i]->layer);
    }
    for (Int8CompareRow& row : c.rows) {
      auto it = layer_index.find(row.layer);
      if (it == layer_index.end() || !candidate_set.count(it->second) || keep.count(row.layer)) {
        continue;
      }
      row.isolated_note = absl::StrCat("not measured (--compareIsolated=", opt.compare_isolated, ")");
    }
    for (auto it = candidate_set.begin(); it != candidate_set.end();) {
      it = keep.count(layers[*it].name) ? std::next(it) : candidate_set.erase(it);
    }
  }
  const std::vector<std::vector<size_t>> groups =
      IsolationGroups(layers, std::vector<size_t>(candidate_set.begin(), candidate_set.end()));

  // The INT8 engine's scales in effect (after pass-through and Concat
  // propagation), so each layer alone quantizes as it does in the engine.
  engine::BuilderConfig iso = q_config;
  RemoveOnExit iso_cache;
  const bool explicit_q =
      std::any_of(q_built.passes.begin(), q_built.passes.end(),
                  [](const engine::PassSummary& p) { return p.name == "explicit-quantization"; });
  if (!explicit_q) {
    auto text = engine::ReadFileToString(q_config.calibration_cache);
    if (!text.ok()) return text.status();
    iso_cache.path = TempCachePath("isolated");
    absl::Status s = engine::WriteFileAtomically(
        iso_cache.path, OverrideCacheScales(*text, q_built.int8_tensor_scales));
    if (!s.ok()) return s;
    iso.calibration_cache = iso_cache.path;
  }
  iso.calibrator = nullptr;
  iso.accuracy_guard_db = 0;
  iso.allow_fp16 = iso.allow_bf16 = iso.best = false;
  iso.mark_all_outputs = true;
  iso.progress = nullptr;

  ToolLogger logger(engine::Severity::kError);
  engine::Builder builder(&logger);
  auto fctx = fp32.CreateExecutionContext();
  if (!fctx.ok()) return fctx.status();
  std::map<std::string, Int8CompareRow*> row_of;
  for (Int8CompareRow& row : c.rows) row_of[row.tensor] = &row;
  ProgressBar bar("isolate", static_cast<int64_t>(groups.size()));
  std::vector<float> buffer;
  for (size_t g = 0; g < groups.size(); ++g) {
    std::set<std::string> members;
    for (size_t i : groups[g]) members.insert(layers[i].name);
    iso.layer_precisions.clear();
    for (const engine::LayerInfo& l : layers) {
      if (!members.contains(l.name)) iso.layer_precisions[l.name] = engine::Precision::kFp32;
    }
    auto built = builder.BuildFromOnnxFile(opt.onnx, iso);
    if (!built.ok()) {
      return absl::Status(built.status().code(),
                          absl::StrCat("building the engine with only ",
                                       absl::StrJoin(members, ", "), " in INT8: ",
                                       built.status().message()));
    }
    ++c.isolated_builds;
    std::set<std::string> int8_alone;
    for (const auto& l : built->layer_precisions) {
      if (l.precision == engine::Precision::kInt8 && absl::StartsWith(l.type, "Int8")) {
        int8_alone.insert(l.layer);
      }
    }
    std::vector<std::string> tensors;
    for (size_t i : groups[g]) {
      for (const std::string& t : layers[i].outputs) {
        auto r = row_of.find(t);
        if (r == row_of.end()) continue;
        if (!int8_alone.contains(layers[i].name)) {
          r->second->isolated_note = "not INT8 when alone";
          continue;
        }
        r->second->isolated = TensorError();
        tensors.push_back(t);
      }
    }
    if (tensors.empty()) continue;
    auto eng = engine::Runtime::DeserializeEngine(built->plan, &logger);
    if (!eng.ok()) return eng.status();
    auto ictx = (*eng)->CreateExecutionContext();
    if (!ictx.ok()) return ictx.status();
    for (engine::ExecutionContext* ctx : {fctx->get(), ictx->get()}) {
      if (opt.threads.has_value()) {
        absl::Status s = ctx->SetThreads(*opt.threads);
        if (!s.ok()) return s;
      }
    }
    std::map<std::string, engine::Tensor> inputs;
    for (int64_t b = 0; b < ds.num_batches(); ++b) {
      auto batch = ds.GetBatch(b, &inputs);
      if (!batch.ok()) return batch.status();
      absl::Status s = RunOn(**fctx, inputs);
      if (!s.ok()) return s;
      s = RunOn(**ictx, inputs);
      if (!s.ok()) return s;
      for (const std::string& t : tensors) {
        auto ref = (*fctx)->GetOutput(t);
        if (!ref.ok()) return ref.status();
        auto test = (*ictx)->GetOutput(t);
        if (!test.ok()) return test.status();
        const int64_t n = RealElements(**ref, batch->count);
        buffer.assign((*test)->data_as<float>(), (*test)->data_as<float>() + n);
        Int8CompareRow& row = *row_of[t];
        if (row.scale.has_value()) FakeQuantize(buffer.data(), n, *row.scale);
        row.isolated->Add((*ref)->data_as<float>(), buffer.data(), n);
      }
    }
    bar.Update(static_cast<int64_t>(g) + 1);
  }
  bar.Finish();
  c.isolated_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return absl::OkStatus();
}

// A percentage with 3 significant digits ("0" for none, "0.0133").
std::string Pct(double fraction) {
  return fraction == 0 ? "0" : absl::StrFormat("%.3g", 100 * fraction);
}

// "12.34", "inf", "-inf".
std::string Db(double db) {
  if (std::isinf(db)) return db > 0 ? "inf" : "-inf";
  return absl::StrFormat("%.2f", db);
}

Json DbJson(double db) { return std::isfinite(db) ? Json(db) : Json(nullptr); }

Json ErrorJson(const TensorError& e) {
  return Json{{"cosine", e.Cosine()}, {"sqnrDb", DbJson(e.SqnrDb())}, {"maxAbsError", e.max_abs}};
}

}  // namespace

absl::StatusOr<Int8Comparison> CompareInt8(const Options& opt, const ValidatedOptions& v,
                                           const engine::BuilderConfig& int8_config,
                                           std::shared_ptr<const engine::Engine>* int8_out) {
  ToolLogger logger(engine::Severity::kWarning);
  engine::Builder builder(&logger);
  // The reference: an FP32 engine, no fp16/bf16 layers or pins.
  engine::BuilderConfig fp32_config = int8_config;
  fp32_config.precision = engine::Precision::kFp32;
  fp32_config.calibrator = nullptr;
  fp32_config.allow_fp16 = fp32_config.allow_bf16 = fp32_config.best = false;
  fp32_config.layer_precisions.clear();
  fp32_config.accuracy_guard_db = 0;
  fp32_config.mark_all_outputs = true;
  engine::BuilderConfig q_config = int8_config;
  q_config.mark_all_outputs = true;
  // The isolated engines read the scales from a cache: one is written when
  // --calib did not name one.
  RemoveOnExit temp_cache;
  if (q_config.calibration_cache.empty() && q_config.calibrator != nullptr) {
    temp_cache.path = TempCachePath("compare");
    q_config.calibration_cache = temp_cache.path;
  }
  auto fp32_built = builder.BuildFromOnnxFile(opt.onnx, fp32_config);
  if (!fp32_built.ok()) return fp32_built.status();
  auto q_built = builder.BuildFromOnnxFile(opt.onnx, q_config);
  if (!q_built.ok()) return q_built.status();
  // The temporary cache is ours, not one --calib asked for: not "written".
  if (!temp_cache.path.empty()) q_built->calibration.cache_written = false;
  PrintInt8Summary(*q_built);
  auto fp32 = engine::Runtime::DeserializeEngine(fp32_built->plan, &logger);
  if (!fp32.ok()) return fp32.status();
  auto q = engine::Runtime::DeserializeEngine(q_built->plan, &logger);
  if (!q.ok()) return q.status();
  auto ds = OpenEvalInputs(opt, v, (*fp32)->inputs(), (*q)->plan_info().preprocess);
  if (!ds.ok()) return ds.status();
  auto fctx = (*fp32)->CreateExecutionContext();
  if (!fctx.ok()) return fctx.status();
  auto qctx = (*q)->CreateExecutionContext();
  if (!qctx.ok()) return qctx.status();
  for (engine::ExecutionContext* ctx : {fctx->get(), qctx->get()}) {
    if (opt.threads.has_value()) {
      absl::Status s = ctx->SetThreads(*opt.threads);
      if (!s.ok()) return s;
    }
  }

  Int8Comparison c;
  c.dataset = ds->Describe();
  c.noun = ds->SampleNoun();
  c.has_labels = ds->first().has_labels();
  const bool explicit_q =
      std::any_of(q_built->passes.begin(), q_built->passes.end(),
                  [](const engine::PassSummary& p) { return p.name == "explicit-quantization"; });
  c.calibrator = explicit_q ? "explicit" : q_built->calibration.algorithm;
  // Rows: float tensors of both engines, in the FP32 engine's execution order.
  const auto& layers = (*fp32)->layers();
  std::map<std::string, size_t> layer_of;  // tensor -> producing layer
  for (size_t i = 0; i < layers.size(); ++i) {
    for (const std::string& o : layers[i].outputs) layer_of[o] = i;
  }
  std::map<std::string, const engine::LayerPrecisionInfo*> q_layer;
  for (const auto& l : q_built->layer_precisions) q_layer[l.layer] = &l;
  std::set<std::string> q_outputs;
  for (const auto& d : (*q)->outputs()) q_outputs.insert(d.name);
  for (const auto& d : (*fp32)->outputs()) {
    if (!q_outputs.contains(d.name) || d.dtype != engine::DataType::kFloat32) continue;
    Int8CompareRow row;
    row.tensor = d.name;
    auto l = layer_of.find(d.name);
    if (l != layer_of.end()) {
      row.layer = layers[l->second].name;
      row.fp32_type = layers[l->second].type;
    }
    auto ql = q_layer.find(row.layer);
    if (ql != q_layer.end()) {
      row.int8_type = ql->second->type;
      row.precision = engine::PrecisionName(ql->second->precision);
    }
    auto s = q_built->int8_tensor_scales.find(d.name);
    if (s != q_built->int8_tensor_scales.end()) row.scale = s->second;
    c.rows.push_back(std::move(row));
  }
  std::stable_sort(c.rows.begin(), c.rows.end(),
                   [&](const Int8CompareRow& x, const Int8CompareRow& y) {
                     const size_t lx = layer_of.count(x.tensor) ? layer_of[x.tensor] : layers.size();
                     const size_t ly = layer_of.count(y.tensor) ? layer_of[y.tensor] : layers.size();
                     return lx < ly;
                   });
  c.model_output = ClassScoresOutput((*fp32)->outputs()).name;

  ProgressBar bar("compare", ds->num_batches());
  std::map<std::string, engine::Tensor> inputs;
  for (int64_t b = 0; b < ds->num_batches(); ++b) {
    auto batch = ds->GetBatch(b, &inputs);
    if (!batch.ok()) return batch.status();
    for (engine::ExecutionContext* ctx : {fctx->get(), qctx->get()}) {
      absl::Status s = RunOn(*ctx, inputs);
      if (!s.ok()) return s;
    }
    for (Int8CompareRow& row : c.rows) {
      auto a = (*fctx)->GetOutput(row.tensor);
      if (!a.ok()) return a.status();
      auto t = (*qctx)->GetOutput(row.tensor);
      if (!t.ok()) return t.status();
      const int64_t n = RealElements(**a, batch->count);
      row.accumulated.Add((*a)->data_as<float>(), (*t)->data_as<float>(), n);
      row.range.Add((*a)->data_as<float>(), n, row.scale.value_or(0.0f));
    }
    auto fa = (*fctx)->GetOutput(c.model_output);
    auto qa = (*qctx)->GetOutput(c.model_output);
    if (!fa.ok()) return fa.status();
    if (!qa.ok()) return qa.status();
    const std::vector<int64_t> ft = Top1Classes(**fa, batch->count);
    const std::vector<int64_t> qt = Top1Classes(**qa, batch->count);
    for (size_t i = 0; i < ft.size(); ++i) {
      c.agree += ft[i] == qt[i];
      if (c.has_labels) {
        c.fp32_correct += ft[i] == batch->labels[i];
        c.int8_correct += qt[i] == batch->labels[i];
      }
    }
    c.images += static_cast<int64_t>(ft.size());
    bar.Update(b + 1);
  }
  bar.Finish();

  // Each tensor's SQNR drop against the worst of its producing layer's
  // measured inputs: accumulated error falls layer after layer, so the layer
  // that breaks accuracy is the one with the large drop, not the last one.
  std::map<std::string, double> sqnr;
  for (const Int8CompareRow& row : c.rows) sqnr[row.tensor] = row.accumulated.SqnrDb();
  for (Int8CompareRow& row : c.rows) {
    double in = INFINITY;
    auto l = layer_of.find(row.tensor);
    if (l != layer_of.end()) {
      for (const std::string& i : layers[l->second].inputs) {
        auto e = sqnr.find(i);
        if (e != sqnr.end()) in = std::min(in, e->second);
      }
    }
    row.input_sqnr_db = in;
    const double own = row.accumulated.SqnrDb();
    row.drop_db = std::isinf(in) || std::isinf(own) ? 0.0 : in - own;
    row.rms = row.accumulated.count > 0
                  ? std::sqrt(row.accumulated.ref2 / static_cast<double>(row.accumulated.count))
                  : 0.0;
  }

  // The most clipped input of each layer (for the hints).
  std::map<std::string, const Int8CompareRow*> by_tensor;
  for (const Int8CompareRow& row : c.rows) by_tensor[row.tensor] = &row;
  for (Int8CompareRow& row : c.rows) {
    auto l = layer_of.find(row.tensor);
    if (l == layer_of.end()) continue;
    for (const std::string& i : layers[l->second].inputs) {
      auto in = by_tensor.find(i);
      if (in == by_tensor.end() || !in->second->scale) continue;
      const double f = in->second->range.ClippedFraction();
      if (f > row.clipped_input_fraction) {
        row.clipped_input_fraction = f;
        row.clipped_input = i;
      }
    }
  }

  // Isolated errors; their failure does not fail the comparison.
  if (!q_built->layer_precisions.empty()) {
    absl::Status s = MeasureIsolated(opt, q_config, *q_built, **fp32, *ds, c);
    if (!s.ok()) {
      c.isolated_error = std::string(s.message());
      for (Int8CompareRow& row : c.rows) row.isolated.reset();
    }
  } else {
    c.isolated_error = "the INT8 build has no layer precisions";
  }
  for (Int8CompareRow& row : c.rows) row.hint = CalibratorHint(row, c.calibrator);
  if (int8_out != nullptr) *int8_out = *q;
  return c;
}

void PrintInt8Comparison(const Int8Comparison& c, int top) {
  std::printf("\n=== INT8 vs FP32, per layer output (%lld %s of %s), in execution order ===\n",
              static_cast<long long>(c.images), c.noun, c.dataset.c_str());
  std::vector<const Int8CompareRow*> by_drop;
  for (const Int8CompareRow& row : c.rows) {
    if (!std::isinf(row.input_sqnr_db)) by_drop.push_back(&row);  // not from "exact" inputs
  }
  std::stable_sort(by_drop.begin(), by_drop.end(),
                   [](const Int8CompareRow* x, const Int8CompareRow* y) {
                     return x->drop_db > y->drop_db;
                   });
  if (!by_drop.empty()) {
    std::vector<std::string> worst;
    for (size_t i = 0; i < by_drop.size() && i < 3; ++i) {
      worst.push_back(absl::StrFormat("'%s' %.2f dB", by_drop[i]->tensor, by_drop[i]->drop_db));
    }
    std::printf("Largest SQNR drops against the layer's inputs: %s\n",
                absl::StrJoin(worst, ", ").c_str());
  }
  std::printf("%4s %-16s %10s %10s %10s %10s %10s %12s %10s %10s %7s  %s\n", "#", "FP32 type",
              "cosine", "SQNR dB", "in dB", "drop dB", "iso dB", "max |err|", "amax", "range",
              "clip%", "Tensor (layer)");
  const size_t limit = top == 0 ? c.rows.size() : static_cast<size_t>(top);
  for (size_t r = 0; r < c.rows.size() && r < limit; ++r) {
    const Int8CompareRow& row = c.rows[r];
    const TensorError& e = row.accumulated;
    std::string label = row.tensor;
    if (!row.layer.empty() && row.layer != row.tensor) {
      label = absl::StrCat(row.tensor, " (", row.layer, ")");
    }
    const bool exact_in = std::isinf(row.input_sqnr_db);
    const bool flagged = !exact_in && row.drop_db >= 10.0;
    std::printf("%4zu %-16s %10.6f %10.2f %10s %10s %10s %12.5g %10.4g %10s %7s  %s%s\n", r,
                row.fp32_type.empty() ? "-" : row.fp32_type.c_str(), e.Cosine(), e.SqnrDb(),
                exact_in ? "exact" : Db(row.input_sqnr_db).c_str(),
                exact_in ? "-" : absl::StrFormat("%.2f", row.drop_db).c_str(),
                row.isolated ? Db(row.isolated->SqnrDb()).c_str() : "-", e.max_abs,
                row.range.amax,
                row.scale ? absl::StrFormat("%.4g", 127.0 * *row.scale).c_str() : "float",
                row.scale ? Pct(row.range.ClippedFraction()).c_str() : "-",
                label.c_str(), flagged ? "   <-- drop >= 10 dB" : "");
  }
  if (c.rows.size() > limit) {
    std::printf("... %zu more (--compareTop=N shows more, 0 all)\n", c.rows.size() - limit);
  }
  std::printf("Columns: SQNR = accumulated (INT8 engine vs FP32); iso = the layer alone in INT8 "
              "on FP32 inputs; range = calibrated dynamic range (127 x scale); clip%% = values "
              "beyond it.\n");
  if (!c.isolated_error.empty()) {
    std::printf("[W] Isolated INT8 errors not measured: %s\n", c.isolated_error.c_str());
  } else {
    std::printf("[I] Isolated INT8 errors: %d engine(s) built and run in %.1f s\n",
                c.isolated_builds, c.isolated_ms / 1000.0);
    std::vector<const Int8CompareRow*> iso;
    for (const Int8CompareRow& row : c.rows) {
      if (row.isolated) iso.push_back(&row);
    }
    std::stable_sort(iso.begin(), iso.end(), [](const Int8CompareRow* x, const Int8CompareRow* y) {
      return x->isolated->SqnrDb() < y->isolated->SqnrDb();
    });
    if (!iso.empty()) {
      std::printf("Worst layers in isolation (INT8 alone on FP32 inputs; %s calibration):\n",
                  c.calibrator.c_str());
    }
    for (size_t i = 0; i < iso.size() && i < 3; ++i) {
      const Int8CompareRow& row = *iso[i];
      std::printf("  %s (%s): isolated %s dB, accumulated %s dB; amax %.4g, range %s, clip "
                  "%s%%%s%s\n",
                  row.layer.c_str(), row.int8_type.c_str(), Db(row.isolated->SqnrDb()).c_str(),
                  Db(row.accumulated.SqnrDb()).c_str(), row.range.amax,
                  row.scale ? absl::StrFormat("%.4g", 127.0 * *row.scale).c_str() : "float",
                  Pct(row.range.ClippedFraction()).c_str(), row.hint.empty() ? "" : " — ",
                  row.hint.c_str());
    }
  }
  for (const Int8CompareRow& row : c.rows) {
    if (row.tensor != c.model_output) continue;
    std::printf("Model output '%s': cosine %.6f, SQNR %.2f dB, max |err| %.5g\n",
                row.tensor.c_str(), row.accumulated.Cosine(), row.accumulated.SqnrDb(),
                row.accumulated.max_abs);
  }
  std::printf("top-1 agreement INT8 vs FP32: %.2f%% (%lld %s)\n",
              c.images ? 100.0 * c.agree / c.images : 0.0, static_cast<long long>(c.images),
              c.noun);
  if (c.has_labels) {
    std::printf("top-1 accuracy FP32: %.2f%%, INT8: %.2f%% (%lld %s)\n",
                c.images ? 100.0 * c.fp32_correct / c.images : 0.0,
                c.images ? 100.0 * c.int8_correct / c.images : 0.0,
                static_cast<long long>(c.images), c.noun);
  }
}

Json Int8ComparisonJson(const Int8Comparison& c) {
  Json rows = Json::array();
  for (const Int8CompareRow& row : c.rows) {
    const bool exact_in = std::isinf(row.input_sqnr_db);
    Json j = ErrorJson(row.accumulated);
    j["tensor"] = row.tensor;
    j["layer"] = row.layer;
    j["fp32Type"] = row.fp32_type;
    j["int8Type"] = row.int8_type;
    j["precision"] = row.precision;
    j["inputSqnrDb"] = exact_in ? Json(nullptr) : DbJson(row.input_sqnr_db);
    j["dropDb"] = exact_in ? Json(nullptr) : Json(row.drop_db);
    j["isolated"] = row.isolated ? ErrorJson(*row.isolated) : Json(nullptr);
    j["isolatedNote"] = row.isolated_note;
    j["elements"] = row.accumulated.count;
    j["amax"] = row.range.amax;
    j["rms"] = row.rms;
    j["scale"] = row.scale ? Json(*row.scale) : Json(nullptr);
    j["dynamicRange"] = row.scale ? Json(127.0 * *row.scale) : Json(nullptr);
    j["clippedFraction"] = row.scale ? Json(row.range.ClippedFraction()) : Json(nullptr);
    j["clippedInput"] = row.clipped_input.empty() ? Json(nullptr) : Json(row.clipped_input);
    j["clippedInputFraction"] = row.clipped_input_fraction;
    j["hint"] = row.hint.empty() ? Json(nullptr) : Json(row.hint);
    rows.push_back(std::move(j));
  }
  Json accuracy = nullptr;
  if (c.has_labels && c.images > 0) {
    accuracy = Json{{"fp32Top1Percent", 100.0 * c.fp32_correct / c.images},
                    {"int8Top1Percent", 100.0 * c.int8_correct / c.images}};
  }
  return Json{{"dataset", c.dataset},
              {"images", c.images},
              {"calibrator", c.calibrator},
              {"modelOutput", c.model_output},
              {"top1AgreementPercent", c.images ? 100.0 * c.agree / c.images : 0.0},
              {"accuracy", std::move(accuracy)},
              {"isolatedBuilds", c.isolated_builds},
              {"isolatedMs", c.isolated_ms},
              {"isolatedError", c.isolated_error.empty() ? Json(nullptr) : Json(c.isolated_error)},
              {"layers", std::move(rows)}};
}

absl::Status RunCompareInt8(const Options& opt, const ValidatedOptions& v,
                            const engine::BuilderConfig& int8_config, const std::string& command) {
  std::shared_ptr<const engine::Engine> q;
  auto c = CompareInt8(opt, v, int8_config, &q);
  if (!c.ok()) return c.status();
  if (!opt.export_report.empty()) {
    // Written before the table, so that the log ends with the accuracy lines.
    absl::Status s = WriteCompareReport(opt, command, *q, *c);
    if (!s.ok()) return s;
  }
  PrintInt8Comparison(*c, opt.compare_top);
  return absl::OkStatus();
}

absl::Status WriteCompareReport(const Options& opt, const std::string& command,
                                const engine::Engine& q, const Int8Comparison& c) {
  ReportExtras extras;
  EvalResult eval;
  eval.dataset = c.dataset;
  eval.images = c.images;
  eval.noun = c.noun;
  eval.has_labels = c.has_labels;
  eval.correct = c.int8_correct;
  extras.evaluation = eval;
  extras.int8_comparison = Int8ComparisonJson(c);
  return WriteRunReport(opt, command, q, /*host=*/nullptr, extras);
}

}  // namespace trtexec_like
