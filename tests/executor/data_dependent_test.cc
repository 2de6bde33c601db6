// Data-dependent output shapes (NonZero, NonMaxSuppression, TopK with a
// run-time K): outputs computed at their bound, the actual extent through the
// consumers to the engine outputs, one plan for every extent; the clear
// errors (a consumer that needs a static extent, a Shape of such a tensor,
// a run-time K out of range); a hostile bound clamped at build time.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "test_models.h"

using namespace engine;

namespace {

Tensor I64(Dims shape, std::vector<int64_t> v) {
  Tensor t(DataType::kInt64, std::move(shape));
  std::memcpy(t.data(), v.data(), v.size() * sizeof(int64_t));
  return t;
}
Tensor F32(Dims shape, std::vector<float> v) {
  Tensor t(DataType::kFloat32, std::move(shape));
  std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
  return t;
}

void SetOutputType(testing::ModelBuilder& b, int elem_type) {
  for (auto& o : *b.model().mutable_graph()->mutable_output()) {
    o.mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
  }
}

std::shared_ptr<const Engine> Load(const std::string& model) {
  auto built = Builder().BuildFromOnnxBytes(model, "m.onnx", BuilderConfig());
  INFO(built.status().message());
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  INFO(engine.status().message());
  REQUIRE(engine.ok());
  return *engine;
}

// NonZero(X [3, 4]) -> Transpose -> Reshape [-1] (extent * 2) -> output.
std::string NonZeroReshapeModel() {
  testing::ModelBuilder b(13, "nz");
  b.Input("x", {3, 4});
  b.Initializer("flat", I64({1}, {-1}));
  b.Node("NonZero", {"x"}, {"nz"}, "nonzero");
  testing::ModelBuilder::SetInts(b.Node("Transpose", {"nz"}, {"t"}, "transpose"), "perm", {1, 0});
  b.Node("Reshape", {"t", "flat"}, {"y"}, "flatten_coords");
  b.Output("y", {-1});
  SetOutputType(b, onnx::TensorProto::INT64);
  return b.Serialize();
}

}  // namespace

TEST_CASE("NonZero: one plan, the actual extent per run, through Transpose and Reshape",
          "[executor][data_dependent]") {
  auto engine = Load(NonZeroReshapeModel());
  REQUIRE(engine->outputs().size() == 1);
  CHECK(engine->outputs()[0].shape == Dims{24});  // bound: 12 elements * 2 coordinates
  auto ctx = engine->CreateExecutionContext();
  REQUIRE(ctx.ok());
  // Non-zeros at (0,1), (2,0), (2,3) (-0.0 is zero).
  std::vector<float> x(12, 0.0f);
  x[1] = 1.5f;
  x[8] = -2.0f;
  x[11] = 3.0f;
  x[5] = -0.0f;
  REQUIRE((*ctx)->SetInput("x", F32({3, 4}, x)).ok());
  REQUIRE((*ctx)->Execute().ok());
  auto y = (*ctx)->GetOutput("y");
  REQUIRE(y.ok());
  CHECK((*y)->shape() == Dims{6});
  const int64_t* v = (*y)->data_as<int64_t>();
  CHECK(std::vector<int64_t>(v, v + 6) == std::vector<int64_t>{0, 1, 2, 0, 2, 3});
  CHECK(*(*ctx)->GetTensorShape("y") == Dims{6});
  // Another input, same context: another extent (no non-zero: empty).
  REQUIRE((*ctx)->SetInput("x", F32({3, 4}, std::vector<float>(12, 0.0f))).ok());
  REQUIRE((*ctx)->Execute().ok());
  CHECK((*(*ctx)->GetOutput("y"))->shape() == Dims{0});
  // All non-zero: the bound itself.
  REQUIRE((*ctx)->SetInput("x", F32({3, 4}, std::vector<float>(12, 1.0f))).ok());
  REQUIRE((*ctx)->Execute().ok());
  CHECK((*(*ctx)->GetOutput("y"))->shape() == Dims{24});
}

TEST_CASE("NonZero output [rank, n]: the valid columns are compacted row by row",
          "[executor][data_dependent]") {
  testing::ModelBuilder b(13, "nz2");
  b.Input("x", {2, 3});
  b.Node("NonZero", {"x"}, {"y"}, "nonzero");
  b.Output("y", {2, -1});
  SetOutputType(b, onnx::TensorProto::INT64);
  auto engine = Load(b.Serialize());
  auto ctx = engine->CreateExecutionContext();
  REQUIRE(ctx.ok());
  REQUIRE((*ctx)->SetInput("x", F32({2, 3}, {0, 7, 0, 1, 0, 2})).ok());
  REQUIRE((*ctx)->Execute().ok());
  auto y = (*ctx)->GetOutput("y");
  REQUIRE(y.ok());
  REQUIRE((*y)->shape() == Dims{2, 3});
  const int64_t* v = (*y)->data_as<int64_t>();
  // numpy.nonzero: rows [0, 1, 1], columns [1, 0, 2].
  CHECK(std::vector<int64_t>(v, v + 6) == std::vector<int64_t>{0, 1, 1, 1, 0, 2});
}

TEST_CASE("A consumer that needs a static extent fails the build naming it and the tensor",
          "[executor][data_dependent]") {
  testing::ModelBuilder b(13, "bad");
  b.Input("x", {3, 4});
  b.Node("NonZero", {"x"}, {"nz"}, "nonzero");
  b.Node("Cast", {"nz"}, {"nzf"}, "to_float");
  b.model().mutable_graph()->mutable_node(1)->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("to");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(onnx::TensorProto::FLOAT);
    return a;
  }());
  testing::ModelBuilder::SetInt(b.Node("Softmax", {"nzf"}, {"y"}, "softmax_over_hits"), "axis",
                                1);
  b.Output("y", {2, -1});
  auto built = Builder().BuildFromOnnxBytes(b.Serialize(), "bad.onnx", BuilderConfig());
  REQUIRE_FALSE(built.ok());
  const std::string msg(built.status().message());
  INFO(msg);
  CHECK(built.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(absl::StrContains(msg, "softmax_over_hits"));
  CHECK(absl::StrContains(msg, "'nzf'"));
  CHECK(absl::StrContains(msg, "upper bound 12"));
  CHECK(absl::StrContains(msg, "data-dependent since layer 'nonzero'"));
  CHECK(absl::StrContains(msg, "static extent"));
}

TEST_CASE("Shape of a data-dependent tensor is a clear error", "[executor][data_dependent]") {
  testing::ModelBuilder b(13, "shape");
  b.Input("x", {3, 4});
  b.Node("NonZero", {"x"}, {"nz"}, "nonzero");
  b.Node("Shape", {"nz"}, {"y"}, "shape_of_hits");
  b.Output("y", {2});
  SetOutputType(b, onnx::TensorProto::INT64);
  auto built = Builder().BuildFromOnnxBytes(b.Serialize(), "shape.onnx", BuilderConfig());
  REQUIRE_FALSE(built.ok());
  const std::string msg(built.status().message());
  INFO(msg);
  CHECK(absl::StrContains(msg, "shape_of_hits"));
  CHECK(absl::StrContains(msg, "data-dependent dimension"));
}

TEST_CASE("TopK with a run-time K: the extent follows K, and K out of range names the layer",
          "[executor][data_dependent]") {
  testing::ModelBuilder b(13, "topk");
  b.Input("x", {2, 5});
  b.Input("k", {1}, onnx::TensorProto::INT64);
  testing::ModelBuilder::SetInt(b.Node("TopK", {"x", "k"}, {"v", "i"}, "topk"), "axis", 1);
  b.Output("v", {2, -1});
  b.Output("i", {2, -1});
  b.model().mutable_graph()->mutable_output(1)->mutable_type()->mutable_tensor_type()
      ->set_elem_type(onnx::TensorProto::INT64);
  auto engine = Load(b.Serialize());
  CHECK(engine->outputs()[0].shape == Dims{2, 5});
  auto ctx = engine->CreateExecutionContext();
  REQUIRE(ctx.ok());
  REQUIRE((*ctx)->SetInput("x", F32({2, 5}, {1, 5, 3, 2, 4, 9, 8, 7, 6, 0})).ok());
  REQUIRE((*ctx)->SetInput("k", I64({1}, {2})).ok());
  REQUIRE((*ctx)->Execute().ok());
  auto v = (*ctx)->GetOutput("v");
  auto i = (*ctx)->GetOutput("i");
  REQUIRE((*v)->shape() == Dims{2, 2});
  CHECK(std::vector<float>((*v)->data_as<float>(), (*v)->data_as<float>() + 4) ==
        std::vector<float>{5, 4, 9, 8});
  CHECK(std::vector<int64_t>((*i)->data_as<int64_t>(), (*i)->data_as<int64_t>() + 4) ==
        std::vector<int64_t>{1, 4, 0, 1});
  REQUIRE((*ctx)->SetInput("k", I64({1}, {4})).ok());
  REQUIRE((*ctx)->Execute().ok());
  CHECK((*(*ctx)->GetOutput("v"))->shape() == Dims{2, 4});
  REQUIRE((*ctx)->SetInput("k", I64({1}, {6})).ok());
  absl::Status s = (*ctx)->Execute();
  INFO(s.message());
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(s.message(), "layer 'topk' (TopK)"));
}

TEST_CASE("NonMaxSuppression: a hostile max_output_boxes_per_class is clamped to the boxes",
          "[executor][data_dependent]") {
  // max_output_boxes_per_class = 2^62 (constant): the bound is
  // batches * classes * boxes = 2 * 3 * 4 rows, not 2^62 * 6.
  testing::ModelBuilder b(13, "nms");
  b.Input("boxes", {2, 4, 4});
  b.Input("scores", {2, 3, 4});
  b.Initializer("max_out", I64({1}, {int64_t{1} << 62}));
  b.Node("NonMaxSuppression", {"boxes", "scores", "max_out"}, {"sel"}, "nms_hostile");
  b.Output("sel", {-1, 3});
  SetOutputType(b, onnx::TensorProto::INT64);
  auto built = Builder().BuildFromOnnxBytes(b.Serialize(), "nms.onnx", BuilderConfig());
  INFO(built.status().message());
  REQUIRE(built.ok());
  CHECK(built->plan.size() < 1u << 20);
  auto engine = Runtime::DeserializeEngine(built->plan);
  REQUIRE(engine.ok());
  CHECK((*engine)->outputs()[0].shape == Dims{24, 3});
  // A run-time max_output_boxes_per_class: the same bound, the count at run time.
  testing::ModelBuilder r(13, "nms_rt");
  r.Input("boxes", {1, 3, 4});
  r.Input("scores", {1, 1, 3});
  r.Input("max_out", {1}, onnx::TensorProto::INT64);
  r.Node("NonMaxSuppression", {"boxes", "scores", "max_out"}, {"sel"}, "nms_rt");
  r.Output("sel", {-1, 3});
  SetOutputType(r, onnx::TensorProto::INT64);
  auto e2 = Load(r.Serialize());
  CHECK(e2->outputs()[0].shape == Dims{3, 3});
  auto ctx = e2->CreateExecutionContext();
  REQUIRE(ctx.ok());
  // Three disjoint boxes, scores 0.9, 0.1, 0.5; the hostile run-time max is clamped too.
  REQUIRE((*ctx)->SetInput("boxes", F32({1, 3, 4}, {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5})).ok());
  REQUIRE((*ctx)->SetInput("scores", F32({1, 1, 3}, {0.9f, 0.1f, 0.5f})).ok());
  REQUIRE((*ctx)->SetInput("max_out", I64({1}, {int64_t{1} << 62})).ok());
  REQUIRE((*ctx)->Execute().ok());
  auto sel = (*ctx)->GetOutput("sel");
  REQUIRE((*sel)->shape() == Dims{3, 3});
  CHECK(std::vector<int64_t>((*sel)->data_as<int64_t>(), (*sel)->data_as<int64_t>() + 9) ==
        std::vector<int64_t>{0, 0, 0, 0, 0, 2, 0, 0, 1});
  REQUIRE((*ctx)->SetInput("max_out", I64({1}, {1})).ok());
  REQUIRE((*ctx)->Execute().ok());
  CHECK((*(*ctx)->GetOutput("sel"))->shape() == Dims{1, 3});
}

TEST_CASE("NonZero whose bound exceeds max_tensor_bytes is refused at build time, naming it",
          "[executor][data_dependent]") {
  // uint8 X [4, 2^26] (256 MiB, under the limit set below): NonZero's bound
  // [2, 2^28] int64 = 4 GiB. Refused before anything of that size exists.
  testing::ModelBuilder b(13, "nz_huge");
  b.Input("x", {4, int64_t{1} << 26}, onnx::TensorProto::UINT8);
  b.Node("NonZero", {"x"}, {"nz"}, "nonzero_huge");
  b.Output("nz", {2, -1});
  SetOutputType(b, onnx::TensorProto::INT64);
  BuilderConfig config;
  config.max_tensor_bytes = int64_t{1} << 30;
  auto built = Builder().BuildFromOnnxBytes(b.Serialize(), "nz_huge.onnx", config);
  REQUIRE_FALSE(built.ok());
  const std::string msg(built.status().message());
  INFO(msg);
  CHECK(absl::StrContains(msg, "nonzero_huge"));
  CHECK(absl::StrContains(msg, "max_tensor_bytes"));
}
