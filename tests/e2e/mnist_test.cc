// mnist-8 (real trained weights) classifies the 10,000 MNIST test images
// through a saved and reloaded plan with top-1 accuracy >= 98.9% (ONNX
// Runtime: 98.91%). Also checks the four derived sample digits.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <filesystem>

#include "engine/builder.h"
#include "engine/compare.h"
#include "engine/runtime.h"
#include "engine/tensor_io.h"
#include "test_util.h"

using namespace engine;
namespace fs = std::filesystem;

namespace {

// Reads a gzip-compressed IDX file (http://yann.lecun.com/exdb/mnist/ format).
std::vector<uint8_t> ReadGzip(const std::string& path) {
  std::vector<uint8_t> out;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  return out;
}

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

TEST_CASE("mnist-8 reaches >= 98.9% top-1 on the 10,000 MNIST test images", "[e2e]") {
  const std::string model = testing::SharedPath("models/mnist/mnist-8.onnx");
  const std::string images_path = testing::SharedPath("datasets/mnist_test/t10k-images-idx3-ubyte.gz");
  const std::string labels_path = testing::SharedPath("datasets/mnist_test/t10k-labels-idx1-ubyte.gz");
  if (model.empty() || images_path.empty() || labels_path.empty()) {
    WARN("SKIPPED: mnist-8 or the MNIST test set not found under ../shared");
    return;
  }
  Builder builder;
  auto built = builder.BuildFromOnnxFile(model, BuilderConfig{});
  REQUIRE(built.ok());
  const std::string plan_path = (fs::temp_directory_path() / "mnist8_e2e.plan").string();
  REQUIRE(WritePlanFile(plan_path, built->plan).ok());
  auto eng = Runtime::LoadEngineFile(plan_path);
  fs::remove(plan_path);
  REQUIRE(eng.ok());
  auto ctx = (*eng)->CreateExecutionContext();
  REQUIRE(ctx.ok());

  std::vector<uint8_t> images = ReadGzip(images_path);
  std::vector<uint8_t> labels = ReadGzip(labels_path);
  REQUIRE(images.size() == 16 + 10000 * 28 * 28);
  REQUIRE(labels.size() == 8 + 10000);
  REQUIRE(BigEndian32(images.data()) == 2051);
  REQUIRE(BigEndian32(labels.data()) == 2049);

  const std::string in_name = (*eng)->inputs()[0].name;
  const std::string out_name = (*eng)->outputs()[0].name;
  Tensor input(DataType::kFloat32, {1, 1, 28, 28});
  int correct = 0;
  for (int i = 0; i < 10000; ++i) {
    // mnist-8 takes raw pixel values 0..255 (no normalization).
    const uint8_t* px = images.data() + 16 + i * 784;
    for (int j = 0; j < 784; ++j) input.data_as<float>()[j] = px[j];
    REQUIRE((*ctx)->SetInput(in_name, input).ok());
    REQUIRE((*ctx)->Execute().ok());
    const float* logits = (*(*ctx)->GetOutput(out_name))->data_as<float>();
    int best = 0;
    for (int k = 1; k < 10; ++k) {
      if (logits[k] > logits[best]) best = k;
    }
    correct += best == labels[8 + i];
  }
  const double accuracy = correct / 100.0;
  WARN("mnist-8 top-1 accuracy on 10,000 test images: " << accuracy << "% (" << correct << "/10000)");
  CHECK(accuracy >= 98.9);
}

TEST_CASE("mnist-8 sample digits match the derived reference logits", "[e2e]") {
  const std::string model = testing::SharedPath("models/mnist/mnist-8.onnx");
  const std::string data = testing::SharedPath("models/mnist/derived_test_data");
  if (model.empty() || data.empty()) {
    WARN("SKIPPED: mnist-8 derived test data not found under ../shared");
    return;
  }
  auto built = Builder().BuildFromOnnxFile(model, BuilderConfig{});
  REQUIRE(built.ok());
  auto eng = Runtime::DeserializeEngine(built->plan);
  REQUIRE(eng.ok());
  auto ctx = (*eng)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  for (int digit : {0, 3, 5, 7}) {
    const std::string dir = data + "/digit_" + std::to_string(digit);
    auto in = LoadTensorFile(dir + "/input_0.pb");
    auto ref = LoadTensorFile(dir + "/output_0.pb");
    REQUIRE(in.ok());
    REQUIRE(ref.ok());
    auto out = (*ctx)->Infer({{(*eng)->inputs()[0].name, in->tensor}});
    REQUIRE(out.ok());
    const Tensor& logits = (*out)[0].tensor;
    CompareResult r = CompareTensors(logits, ref->tensor, 1e-3, 1e-3);
    INFO("digit " << digit << ": " << r.message);
    CHECK(r.passed);
    int best = 0;
    for (int k = 1; k < 10; ++k) {
      if (logits.data_as<float>()[k] > logits.data_as<float>()[best]) best = k;
    }
    CHECK(best == digit);
  }
}
