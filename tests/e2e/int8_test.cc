// INT8 end to end through trtexec_like on mnist-8 (real trained weights) and
// the MNIST test set: calibration on the first 1,000 images, top-1 accuracy
// over all 10,000 (>= 98.8%; FP32 98.91%), the calibration cache reused by a
// second build (which then gives the same engine: equal plan payloads), cache
// mismatches, pinned layers, the accuracy guard and the per-layer comparison.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <regex>
#include <string>

#include "e2e/cli_util.h"
#include "test_util.h"

namespace engine::testing {
namespace {

struct Mnist {
  std::string model, images;
};

bool FindMnist(Mnist* m) {
  m->model = SharedPath("models/mnist/mnist-8.onnx");
  m->images = SharedPath("datasets/mnist_test/t10k-images-idx3-ubyte.gz");
  return !m->model.empty() && !m->images.empty();
}

// The percentage of a line "<prefix> X%".
double Percent(const std::string& output, const std::string& prefix) {
  std::smatch m;
  const std::regex re(prefix + R"(\s*([0-9.]+)%)");
  if (!std::regex_search(output, m, re)) return -1;
  return std::stod(m[1]);
}

TEST_CASE("INT8 mnist-8: calibrate on 1,000 images, >= 98.8% top-1 on 10,000, cache reused",
          "[e2e][int8]") {
  Mnist m;
  if (!FindMnist(&m)) {
    WARN("SKIPPED: mnist-8 or the MNIST test set not found under ../shared");
    return;
  }
  const auto dir = TempDir("int8_mnist");
  const std::string cache = (dir / "mnist.cache").string();
  const std::string plan1 = (dir / "a.plan").string(), plan2 = (dir / "b.plan").string();
  std::filesystem::remove(cache);
  RunResult built = RunCli("--onnx=" + m.model + " --int8 --calibData=" + m.images +
                           " --calibImages=1000 --preprocess=raw --calib=" + cache +
                           " --saveEngine=" + plan1 + " --skipInference");
  INFO(built.output);
  REQUIRE(built.exit_code == 0);
  CHECK(built.output.find("Calibrating on 1000 images") != std::string::npos);
  CHECK(built.output.find("calibration cache written") != std::string::npos);
  CHECK(built.output.find("Layer precisions: 6 int8, 0 fp32, 1 quantize/dequantize") != std::string::npos);
  const std::string cache_text = ReadFile(cache);
  CHECK(cache_text.rfind("TRT-8601-EntropyCalibration2\n", 0) == 0);
  CHECK(std::regex_search(cache_text, std::regex(R"(\nInput3: [0-9a-f]{8}\n)")));

  // All 10,000 test images through the saved INT8 plan.
  // No --preprocess: the plan's (raw, recorded by the calibrator) is used.
  RunResult eval = RunCli("--loadEngine=" + plan1 + " --evalData=" + m.images +
                          " --skipInference --exportReport=" + (dir / "int8.json").string());
  INFO(eval.output);
  REQUIRE(eval.exit_code == 0);
  CHECK(eval.output.find("--preprocess not given: using the plan's (its calibration data's): raw") !=
        std::string::npos);
  CHECK(eval.output.find("(10000 images)") != std::string::npos);
  const double acc = Percent(eval.output, "top-1 accuracy:");
  CHECK(acc >= 98.8);
  // The colour normalization of imagenet on the 1-channel input is refused.
  RunResult wrong = RunCli("--loadEngine=" + plan1 + " --evalData=" + m.images +
                           " --evalImages=10 --preprocess=imagenet --skipInference");
  INFO(wrong.output);
  CHECK(wrong.exit_code != 0);
  CHECK(wrong.output.find("has 1 channel, but the preprocessing imagenet") != std::string::npos);
  // The plan records how it was built; compare warns that FP32 and INT8 differ.
  RunResult fp32 = RunCli("--onnx=" + m.model + " --skipInference --exportReport=" +
                          (dir / "fp32.json").string());
  REQUIRE(fp32.exit_code == 0);
  RunResult cmp = RunCli("compare " + (dir / "fp32.json").string() + " " +
                         (dir / "int8.json").string());
  INFO(cmp.output);
  REQUIRE(cmp.exit_code == 0);
  CHECK(cmp.output.find("precisions differ: [2] is int8, [1] is fp32") != std::string::npos);
  CHECK(cmp.output.find("precision int8 (entropy)") != std::string::npos);
  CHECK(cmp.output.find("different model") == std::string::npos);
  CHECK(cmp.output.find("cannot check") == std::string::npos);
  // The INT8 report recorded its evaluation: compare shows its top-1.
  CHECK(cmp.output.find("Top-1(%)") != std::string::npos);
  CHECK(cmp.output.find("evaluated on 10000 samples") != std::string::npos);
  CHECK(std::regex_search(cmp.output, std::regex(R"(top-1 9[89]\.[0-9]{2}%)")));
  // The log ends with the summary, the accuracy in it.
  CHECK(std::regex_search(eval.output, std::regex(R"(=== Summary ===\nModeled device \(edge\): latency [0-9.]+ ms, [0-9.]+ [mun]?J per inference\nHost emulation: not run \(--skipInference\)\nAccuracy: top-1 9[89]\.[0-9]{2}% \(10000 images)")));

  // A rebuild reads the cache instead of calibrating, and gives the same plan.
  RunResult rebuilt = RunCli("--onnx=" + m.model + " --int8 --calib=" + cache + " --saveEngine=" +
                             plan2 + " --skipInference");
  INFO(rebuilt.output);
  REQUIRE(rebuilt.exit_code == 0);
  CHECK(rebuilt.output.find("read from the calibration cache") != std::string::npos);
  CHECK(rebuilt.output.find("Calibrating on") == std::string::npos);
  // The same engine (payload); the headers differ in provenance (calibrated vs "cache").
  CHECK(PayloadCrc(ReadFile(plan1)) == PayloadCrc(ReadFile(plan2)));
  auto cached = Runtime::DeserializeEngine(ReadFile(plan2));
  REQUIRE(cached.ok());
  CHECK((*cached)->plan_info().calibrator == "cache");

  // A cache for another network: a missing tensor and an unknown one, both named.
  std::string bad = std::regex_replace(cache_text, std::regex(R"(Input3: [0-9a-f]{8}\n)"), "");
  bad += "not_a_tensor: 3f800000\n";
  const std::string bad_cache = (dir / "bad.cache").string();
  WriteFile(bad_cache, bad);
  RunResult mismatch = RunCli("--onnx=" + m.model + " --int8 --calib=" + bad_cache +
                              " --skipInference");
  INFO(mismatch.output);
  CHECK(mismatch.exit_code != 0);
  CHECK(mismatch.output.find("does not match the network") != std::string::npos);
  CHECK(mismatch.output.find("Input3") != std::string::npos);
  CHECK(mismatch.output.find("not_a_tensor") != std::string::npos);
  CHECK(mismatch.output.find("give calibration data to recalibrate") != std::string::npos);
  // With calibration data, as TensorRT does: a warning, calibration again,
  // the cache rewritten for this network.
  RunResult recalibrated = RunCli("--onnx=" + m.model + " --int8 --calibData=" + m.images +
                                  " --calibImages=100 --preprocess=raw --calib=" + bad_cache +
                                  " --skipInference");
  INFO(recalibrated.output);
  CHECK(recalibrated.exit_code == 0);
  CHECK(recalibrated.output.find("recalibrating with the calibration data and rewriting it") !=
        std::string::npos);
  CHECK(recalibrated.output.find("calibration cache rewritten (it did not match the network)") !=
        std::string::npos);
  const std::string rewritten = ReadFile(bad_cache);
  CHECK(std::regex_search(rewritten, std::regex(R"(\nInput3: [0-9a-f]{8}\n)")));
  CHECK(rewritten.find("not_a_tensor") == std::string::npos);

  // A corrupt cache line names the file and line.
  WriteFile(bad_cache, "TRT-8601-EntropyCalibration2\nInput3 3f800000\n");
  RunResult corrupt = RunCli("--onnx=" + m.model + " --int8 --calib=" + bad_cache +
                             " --skipInference");
  CHECK(corrupt.exit_code != 0);
  CHECK(corrupt.output.find("bad.cache:2") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("INT8 layer pins, the accuracy guard and the per-layer comparison", "[e2e][int8]") {
  Mnist m;
  if (!FindMnist(&m)) {
    WARN("SKIPPED: mnist-8 or the MNIST test set not found under ../shared");
    return;
  }
  const std::string calib = " --int8 --calibData=" + m.images + " --calibImages=200 --preprocess=raw";
  SECTION("a layer pinned to fp32 by its ONNX node name stays FP32") {
    RunResult r = RunCli("--onnx=" + m.model + calib + " --layerPrecisions=Times212:fp32 --skipInference");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("Layer precisions: 5 int8, 1 fp32") != std::string::npos);
    CHECK(r.output.find("kept fp32: Times212 + Plus214 (Gemm): pinned to fp32") != std::string::npos);
  }
  SECTION("an unknown layer name is an error naming it") {
    RunResult r = RunCli("--onnx=" + m.model + calib + " --layerPrecisions=nope:fp32 --skipInference");
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("layer precisions name no layer of the engine: nope") != std::string::npos);
  }
  SECTION("the accuracy guard keeps layers below the SQNR threshold in FP32 and says why") {
    RunResult r = RunCli("--onnx=" + m.model + calib + " --accuracyGuard=80 --skipInference");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    // No layer reaches 80 dB in int8: the convolutions and the Gemm stay FP32,
    // so the pooling and reshape layers between them have no int8 to pass on.
    CHECK(r.output.find("Layer precisions: 0 int8, 6 fp32") != std::string::npos);
    CHECK(std::regex_search(r.output, std::regex(R"(accuracy guard: isolated INT8 SQNR [0-9.]+ dB < 80\.0 dB)")));
    RunResult low = RunCli("--onnx=" + m.model + calib + " --accuracyGuard=5 --skipInference");
    CHECK(low.output.find("Layer precisions: 6 int8, 0 fp32") != std::string::npos);
  }
  SECTION("--compareInt8 prints per-layer errors in execution order with the SQNR drop, and top-1 agreement") {
    RunResult r = RunCli("--onnx=" + m.model + calib + " --compareInt8 --compareTop=0 --evalData=" +
                         m.images + " --evalImages=300");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("INT8 vs FP32, per layer output (300 images") != std::string::npos);
    CHECK(r.output.find("in execution order") != std::string::npos);
    CHECK(r.output.find("Largest SQNR drops against the layer's inputs: '") != std::string::npos);
    // Rows numbered in execution order; the first reads the exact model input;
    // every other row's drop is its inputs' SQNR minus its own.
    std::regex row(R"(\n\s*([0-9]+) (\S+)\s+([0-9.]+)\s+(-?[0-9.]+|inf)\s+(exact|-?[0-9.]+)\s+(-|-?[0-9.]+)\s)");
    std::vector<int> index;
    std::vector<std::string> in_db;
    for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), row);
         it != std::sregex_iterator(); ++it) {
      index.push_back(std::stoi((*it)[1]));
      in_db.push_back((*it)[5]);
      const std::string own = (*it)[4], in = (*it)[5], drop = (*it)[6];
      if (in != "exact" && own != "inf") {
        CHECK(std::fabs(std::stod(in) - std::stod(own) - std::stod(drop)) < 0.02);
      }
    }
    REQUIRE(index.size() >= 4);
    for (size_t i = 0; i < index.size(); ++i) CHECK(index[i] == static_cast<int>(i));
    CHECK(in_db[0] == "exact");
    CHECK(r.output.find("... ") == std::string::npos);  // --compareTop=0: every row
    CHECK(Percent(r.output, "top-1 agreement INT8 vs FP32:") >= 98.0);
    CHECK(r.output.find("top-1 accuracy FP32:") != std::string::npos);
    // Isolated errors beside the accumulated ones (tests/tools/int8_compare_test.cc checks them).
    CHECK(r.output.find("iso dB") != std::string::npos);
    CHECK(r.output.find("Isolated INT8 errors: 3 engine(s)") != std::string::npos);
    CHECK(r.output.find("Worst layers in isolation") != std::string::npos);
  }
}

TEST_CASE("INT8 comparison on MobileNetV2 names the first bad layer in its first rows", "[e2e][int8]") {
  // Issue 23's case: with entropy calibration MobileNetV2's first depthwise
  // block (features.1) clips its input range and drops ~31 dB right after the
  // stem. In execution order it is row 1, it leads the largest drops, and its
  // isolated SQNR (measured here for the 2 largest drops only,
  // --compareIsolated=2, to keep the test to 4 builds) comes with the
  // minmax/percentile hint.
  namespace fs = std::filesystem;
  const fs::path model = fs::path(ENGINE_SOURCE_DIR) / "models" / "out" / "mobilenetv2.onnx";
  const std::string photos = SharedPath("datasets/imagenet_sample_450");
  if (!fs::exists(model) || !fs::exists(photos)) {
    WARN("SKIPPED: " << model << " (models/generate.py) or " << photos << " missing");
    return;
  }
  RunResult r = RunCli("--onnx=" + model.string() + " --int8 --calibData=" + photos +
                       " --calibImages=20 --compareInt8 --evalData=" + photos +
                       " --evalImages=20 --compareIsolated=2 --compareTop=6");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("Largest SQNR drops against the layer's inputs: '/features/features.1/") !=
        std::string::npos);
  std::smatch row1;
  REQUIRE(std::regex_search(r.output, row1,
                            std::regex(R"(\n\s*1 Conv\s+[0-9.]+\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s.*features\.1/)")));
  CHECK(std::stod(row1[3]) >= 10.0);  // the drop
  CHECK(std::stod(row1[4]) < 30.0);   // isolated: the layer's own error, not inherited
  CHECK(r.output.find("Isolated INT8 errors: 2 engine(s)") != std::string::npos);
  CHECK(r.output.find("try --calibrator=minmax or percentile") != std::string::npos);
}

}  // namespace
}  // namespace engine::testing
