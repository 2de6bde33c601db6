// A batch runs its images in parallel (the dynamic batcher's case): a
// dynamic-batch engine whose late convolutions use the shared-im2col path
// (narrow outputs, kernels/conv.cc) splits a batch of N >= threads images one
// image per task instead of splitting each image's layer over the threads.
// The outputs must be the same bits as N runs at batch 1, at 1 and 2 threads.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/builder.h"
#include "engine/runtime.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;

namespace {

// x [N, 64, 14, 14] -> Conv 3x3 pad 1 (128) + Relu -> Conv 3x3 stride 2 pad 1
// (128, 7 x 7 out) + Relu -> Conv 1x1 (256) -> y [N, 256, 7, 7]: ResNet-50's
// late-stage shapes scaled down (the first two take the shared-im2col path,
// the last the pointwise one).
std::string LateConvModel() {
  std::mt19937 rng(24);
  testing::ModelBuilder b(13, "late_convs");
  b.Input("x", {-1, 64, 14, 14});
  b.Initializer("w1", testing::RandomTensor({128, 64, 3, 3}, rng, -0.1f, 0.1f));
  b.Initializer("b1", testing::RandomTensor({128}, rng));
  b.Initializer("w2", testing::RandomTensor({128, 128, 3, 3}, rng, -0.1f, 0.1f));
  b.Initializer("b2", testing::RandomTensor({128}, rng));
  b.Initializer("w3", testing::RandomTensor({256, 128, 1, 1}, rng, -0.1f, 0.1f));
  auto& c1 = b.Node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1");
  testing::ModelBuilder::SetInts(c1, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c1"}, {"r1"}, "relu1");
  auto& c2 = b.Node("Conv", {"r1", "w2", "b2"}, {"c2"}, "conv2");
  testing::ModelBuilder::SetInts(c2, "pads", {1, 1, 1, 1});
  testing::ModelBuilder::SetInts(c2, "strides", {2, 2});
  b.Node("Relu", {"c2"}, {"r2"}, "relu2");
  b.Node("Conv", {"r2", "w3"}, {"y"}, "conv3");
  b.Output("y", {-1, 256, 7, 7});
  return b.Serialize();
}

}  // namespace

TEST_CASE("A batch gives the same bits as its images run one by one, at 1 and 2 threads",
          "[dynamic][parallel]") {
  BuilderConfig config;
  OptimizationProfile p;
  p.min["x"] = {1, 64, 14, 14};
  p.opt["x"] = {4, 64, 14, 14};
  p.max["x"] = {5, 64, 14, 14};
  config.profiles.push_back(p);
  auto built = Builder().BuildFromOnnxBytes(LateConvModel(), "late_convs", config);
  INFO(built.status().message());
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  REQUIRE(engine.ok());
  auto single = (*engine)->CreateExecutionContext();
  auto batched = (*engine)->CreateExecutionContext();
  REQUIRE(single.ok());
  REQUIRE(batched.ok());
  const size_t image_in = 64 * 14 * 14, image_out = 256 * 7 * 7;
  // 4 and 2: whole images per thread; 5 and 3: one image left over, run
  // layer-split (kernels/conv.cc).
  for (int64_t batch : {4, 5, 3, 2}) {
    std::mt19937 rng(static_cast<uint32_t>(100 + batch));
    Tensor x = testing::RandomTensor({batch, 64, 14, 14}, rng);
    // The reference: each image alone, one thread.
    std::vector<float> want(static_cast<size_t>(batch) * image_out);
    REQUIRE((*single)->SetThreads(1).ok());
    for (int64_t i = 0; i < batch; ++i) {
      Tensor xi(DataType::kFloat32, {1, 64, 14, 14});
      std::memcpy(xi.data(), x.data_as<float>() + i * image_in, image_in * sizeof(float));
      auto y = (*single)->Infer({{"x", xi}});
      REQUIRE(y.ok());
      REQUIRE((*y)[0].tensor.shape() == Dims{1, 256, 7, 7});
      std::memcpy(want.data() + i * image_out, (*y)[0].tensor.data(), image_out * sizeof(float));
    }
    for (int threads : {2, 1}) {
      CAPTURE(batch, threads);
      // Each image alone at this thread count.
      REQUIRE((*single)->SetThreads(threads).ok());
      Tensor x0(DataType::kFloat32, {1, 64, 14, 14});
      std::memcpy(x0.data(), x.data(), image_in * sizeof(float));
      auto y0 = (*single)->Infer({{"x", x0}});
      REQUIRE(y0.ok());
      CHECK(std::memcmp((*y0)[0].tensor.data(), want.data(), image_out * sizeof(float)) == 0);
      // The whole batch.
      REQUIRE((*batched)->SetThreads(threads).ok());
      auto y = (*batched)->Infer({{"x", x}});
      REQUIRE(y.ok());
      REQUIRE((*y)[0].tensor.shape() == Dims{batch, 256, 7, 7});
      CHECK(std::memcmp((*y)[0].tensor.data(), want.data(), want.size() * sizeof(float)) == 0);
    }
  }
}
