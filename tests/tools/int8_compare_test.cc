// trtexec_like --compareInt8 (tools/trtexec_like/int8_compare.h): the error
// and range arithmetic, the calibrator hints, the grouping of layers for the
// isolated errors, the calibration-cache rewrite, and on mnist-8 (skipped with
// a message when ../shared is absent) the isolated errors against the
// accumulated ones and the report written with them.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "test_util.h"
#include "trtexec_like/int8.h"
#include "trtexec_like/int8_compare.h"
#include "trtexec_like/options.h"
#include "trtexec_like/report/schema.h"

namespace trtexec_like {
namespace {

TEST_CASE("TensorError: SQNR, cosine and max error of a known pair", "[tools][int8]") {
  TensorError e;
  const float ref[] = {1.0f, 2.0f, -2.0f};
  const float test[] = {1.0f, 2.1f, -2.0f};
  e.Add(ref, test, 3);
  CHECK(e.count == 3);
  // 10 log10(9 / 0.01) = 29.542 dB.
  CHECK(e.SqnrDb() == Approx(10 * std::log10(9.0 / (0.1 * 0.1))).epsilon(1e-5));
  CHECK(e.max_abs == Approx(0.1).epsilon(1e-5));
  CHECK(e.Cosine() < 1.0);
  TensorError exact;
  exact.Add(ref, ref, 3);
  CHECK(std::isinf(exact.SqnrDb()));
  CHECK(exact.SqnrDb() > 0);
  CHECK(exact.Cosine() == Approx(1.0));
}

TEST_CASE("RangeStats counts the values a scale saturates, FakeQuantize rounds and clamps",
          "[tools][int8]") {
  // scale 0.1: representable -12.8 .. 12.7; 12.76 rounds to 128 (clipped),
  // 12.74 to 127 (not), -12.86 to -129 (clipped), -12.84 to -128 (not).
  const float x[] = {0.0f, 12.74f, 12.76f, -12.84f, -12.86f, 100.0f};
  RangeStats r;
  r.Add(x, 6, 0.1f);
  CHECK(r.count == 6);
  CHECK(r.clipped == 3);
  CHECK(r.amax == Approx(100.0));
  CHECK(r.ClippedFraction() == Approx(0.5));
  RangeStats no_scale;
  no_scale.Add(x, 6, 0.0f);
  CHECK(no_scale.clipped == 0);

  float y[] = {0.04f, 0.06f, 12.76f, -20.0f, 0.25f};
  FakeQuantize(y, 5, 0.1f);
  CHECK(y[0] == Approx(0.0f));
  CHECK(y[1] == Approx(0.1f));
  CHECK(y[2] == Approx(12.7f));
  CHECK(y[3] == Approx(-12.8f));
  CHECK(y[4] == Approx(0.2f));  // 2.5 rounds half to even
}

Int8CompareRow HintRow(double iso_db, double clip, double range_over_rms) {
  Int8CompareRow row;
  row.layer = "conv7";
  row.scale = 1.0f / 127.0f;  // range 1
  row.rms = 1.0 / range_over_rms;
  row.range.count = 1000;
  row.range.clipped = static_cast<int64_t>(clip * 1000);
  row.range.amax = clip > 0 ? 3.0 : 1.0;
  TensorError e;  // ref2 / noise = 10^(iso_db / 10)
  e.ref2 = std::pow(10.0, iso_db / 10);
  e.noise = 1.0;
  row.isolated = e;
  return row;
}

TEST_CASE("CalibratorHint names the likely cure for the worst layers", "[tools][int8]") {
  // Fine layers get no hint.
  CHECK(CalibratorHint(HintRow(35, 0.05, 2), "entropy").empty());
  Int8CompareRow no_iso = HintRow(5, 0.05, 2);
  no_iso.isolated.reset();
  CHECK(CalibratorHint(no_iso, "entropy").empty());
  // Clipping: a calibrator with a wider range.
  const std::string clip = CalibratorHint(HintRow(12, 0.031, 2), "entropy");
  CHECK(absl::StrContains(clip, "clip 3.1%"));
  CHECK(absl::StrContains(clip, "minmax"));
  // minmax clipping: the calibration data did not cover these samples.
  CHECK(absl::StrContains(CalibratorHint(HintRow(12, 0.031, 2), "minmax"), "calibrate on data"));
  // An input that clips: its range is to blame, not this layer's.
  Int8CompareRow reads_clipped = HintRow(5, 0.0, 3);
  reads_clipped.clipped_input = "relu1";
  reads_clipped.clipped_input_fraction = 0.046;
  CHECK(absl::StrContains(CalibratorHint(reads_clipped, "entropy"),
                          "its input 'relu1' clips 4.6%"));
  // A range far above the rms with minmax: clip outliers.
  const std::string outliers = CalibratorHint(HintRow(20, 0.0, 40), "minmax");
  CHECK(absl::StrContains(outliers, "percentile or entropy"));
  CHECK(absl::StrContains(outliers, "40x the rms"));
  // Neither: keep the layer in a float precision.
  const std::string keep = CalibratorHint(HintRow(20, 0.0, 3), "entropy");
  CHECK(absl::StrContains(keep, "keep in FP16/FP32 (--layerPrecisions='conv7':fp16)"));
  // Float output (no scale): the error is the inputs' and the weights'.
  Int8CompareRow logits = HintRow(20, 0.0, 3);
  logits.scale.reset();
  CHECK(absl::StrContains(CalibratorHint(logits, "entropy"), "its output is float"));
}

engine::LayerInfo Layer(const std::string& name, std::vector<std::string> in,
                        std::vector<std::string> out) {
  engine::LayerInfo l;
  l.name = name;
  l.inputs = std::move(in);
  l.outputs = std::move(out);
  return l;
}

TEST_CASE("IsolationGroups never puts a layer with one it reads", "[tools][int8]") {
  // x -> a -> b -> c (chain): one group per layer.
  const std::vector<engine::LayerInfo> chain = {Layer("a", {"x"}, {"ta"}), Layer("b", {"ta"}, {"tb"}),
                                                Layer("c", {"tb"}, {"tc"})};
  CHECK(IsolationGroups(chain, {0, 1, 2}).size() == 3);
  // Skipping b (FP32): c still reads a through b.
  CHECK(IsolationGroups(chain, {0, 2}).size() == 2);
  // Two branches from x joined by an add: a and b together, then the add.
  const std::vector<engine::LayerInfo> branches = {
      Layer("a", {"x"}, {"ta"}), Layer("b", {"x"}, {"tb"}), Layer("p", {"ta"}, {"tp"}),
      Layer("add", {"tp", "tb"}, {"y"})};
  const auto g = IsolationGroups(branches, {0, 1, 2, 3});
  REQUIRE(g.size() == 3);
  CHECK(g[0] == std::vector<size_t>{0, 1});
  CHECK(g[1] == std::vector<size_t>{2});  // reads a
  CHECK(g[2] == std::vector<size_t>{3});
}

TEST_CASE("OverrideCacheScales puts in the engine's scales and keeps the rest", "[tools][int8]") {
  const std::string cache = "TRT-8601-EntropyCalibration2\nInput3: 3c010204\nconv: 3f800000\n";
  const float s = 0.5f;
  const std::string out = OverrideCacheScales(cache, {{"conv", s}, {"absent", 2.0f}});
  CHECK(out == "TRT-8601-EntropyCalibration2\nInput3: 3c010204\nconv: 3f000000\n");
}

// The rows of the layers that compute in INT8 (Int8Conv, Int8Gemm, ...).
std::vector<const Int8CompareRow*> ComputeRows(const Int8Comparison& c) {
  std::vector<const Int8CompareRow*> out;
  for (const Int8CompareRow& r : c.rows) {
    if (absl::StartsWith(r.int8_type, "Int8") && r.precision == "int8") out.push_back(&r);
  }
  return out;
}

TEST_CASE("compareInt8 on mnist-8: isolated errors beside the accumulated ones, in the report",
          "[tools][int8]") {
  const std::string model = engine::testing::SharedPath("models/mnist/mnist-8.onnx");
  const std::string images =
      engine::testing::SharedPath("datasets/mnist_test/t10k-images-idx3-ubyte.gz");
  if (model.empty() || images.empty()) {
    WARN("SKIPPED: mnist-8 or the MNIST test set not found under ../shared");
    return;
  }
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("engine_int8_compare_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string report = (dir / "cmp.json").string();
  ParsedCommandLine<Options> parsed = ParseCommandLine(
      {"--onnx=" + model, "--compareInt8", "--calibData=" + images, "--calibImages=200",
       "--preprocess=raw", "--evalData=" + images, "--evalImages=200", "--exportReport=" + report});
  INFO(parsed.message);
  REQUIRE_FALSE(parsed.exit_code.has_value());
  const Options& opt = parsed.options;
  auto v = ValidateOptions(opt);
  REQUIRE(v.ok());
  engine::BuilderConfig config;
  config.hardware = *v->hardware;
  Int8Setup setup;
  ConfigureInt8(opt, *v, config, setup);
  std::shared_ptr<const engine::Engine> q;
  auto c = CompareInt8(opt, *v, config, &q);
  INFO(c.status().message());
  REQUIRE(c.ok());
  INFO(c->isolated_error);
  REQUIRE(c->isolated_error.empty());
  CHECK(c->images == 200);
  // mnist-8: two Int8Conv and one Int8Gemm, each in a chain: three engines.
  const auto compute = ComputeRows(*c);
  REQUIRE(compute.size() == 3);
  CHECK(c->isolated_builds == 3);
  for (const Int8CompareRow* r : compute) {
    INFO(r->tensor << ": accumulated " << r->accumulated.SqnrDb() << " dB, isolated "
                   << (r->isolated ? r->isolated->SqnrDb() : NAN) << " dB");
    REQUIRE(r->isolated.has_value());
    CHECK(r->isolated->count == r->accumulated.count);
    CHECK(std::isfinite(r->isolated->SqnrDb()));
    CHECK(r->isolated->SqnrDb() > 10.0);
  }
  // The first layer reads the exact model input: alone or in the engine, the
  // same computation (up to the Q31 requantization's rounding of ties).
  REQUIRE(std::isinf(compute[0]->input_sqnr_db));
  CHECK(std::fabs(compute[0]->isolated->SqnrDb() - compute[0]->accumulated.SqnrDb()) < 0.05);
  // Downstream layers inherit their inputs' error in the engine, not alone:
  // the isolated error is at most the accumulated one (SQNR at least).
  for (size_t i = 1; i < compute.size(); ++i) {
    INFO(compute[i]->tensor);
    CHECK(compute[i]->isolated->SqnrDb() >= compute[i]->accumulated.SqnrDb() - 0.05);
  }
  // The range columns: the engine's scales, values within [0, 1].
  for (const Int8CompareRow& r : c->rows) {
    if (r.scale) {
      CHECK(*r.scale > 0);
      CHECK(r.range.ClippedFraction() >= 0.0);
      CHECK(r.range.ClippedFraction() <= 1.0);
      CHECK(r.range.amax > 0);
    }
  }
  // The exported report carries the comparison and the INT8 accuracy.
  REQUIRE(WriteCompareReport(opt, "trtexec_like --compareInt8", *q, *c).ok());
  auto read = ReadReport(report);
  INFO(read.status().message());
  REQUIRE(read.ok());
  REQUIRE(read->evaluation.has_value());
  CHECK(read->evaluation->images == 200);
  REQUIRE(read->evaluation->top1_percent.has_value());
  CHECK(*read->evaluation->top1_percent == Approx(100.0 * c->int8_correct / 200));
  const nlohmann::json& cmp = read->json.at("int8Comparison");
  CHECK(cmp.at("isolatedBuilds") == 3);
  CHECK(cmp.at("layers").size() == c->rows.size());
  int with_isolated = 0;
  for (const auto& row : cmp.at("layers")) {
    if (row.at("isolated").is_null()) continue;
    ++with_isolated;
    CHECK(row.at("isolated").at("sqnrDb").is_number());
    if (row.at("scale").is_null()) {  // the logits: dequantized in the Gemm's epilogue
      CHECK(row.at("dynamicRange").is_null());
      CHECK(row.at("clippedFraction").is_null());
    } else {
      CHECK(row.at("dynamicRange").get<double>() ==
            Approx(127.0 * row.at("scale").get<double>()));
    }
  }
  CHECK(with_isolated == 3);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trtexec_like
