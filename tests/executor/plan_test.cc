// Plan loading: verification, versioning, integrity, and run-time checks.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/plan_generated.h"
#include "common/version.h"
#include "engine/builder.h"
#include "engine/compare.h"
#include "engine/runtime.h"
#include "test_models.h"
#include "test_util.h"

using namespace engine;

namespace {

std::string BuildSmallPlan() {
  StderrLogger quiet(Severity::kError);
  auto built = Builder(&quiet).BuildFromOnnxBytes(testing::SmallConvModel(), "small.onnx",
                                                  BuilderConfig{});
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  return built->plan;
}

absl::Status Load(const std::string& plan) {
  StderrLogger quiet(Severity::kError);
  return Runtime::DeserializeEngine(plan, &quiet).status();
}

// Re-wraps the payload of `plan` in a header with another schema version.
std::string WithVersion(const std::string& plan, uint32_t version) {
  const auto* outer = flatbuffers::GetRoot<engine::plan::Plan>(plan.data());
  flatbuffers::FlatBufferBuilder b;
  auto payload = b.CreateVector(outer->payload()->data(), outer->payload()->size());
  auto root = engine::plan::CreatePlan(b, version, b.CreateString("9.9.9"), outer->payload_crc32(),
                                       payload);
  b.Finish(root, engine::plan::PlanIdentifier());
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

}  // namespace

TEST_CASE("A plan round-trips and runs", "[executor]") {
  const std::string plan = BuildSmallPlan();
  auto eng = Runtime::DeserializeEngine(plan);
  REQUIRE(eng.ok());
  CHECK((*eng)->inputs().size() == 1);
  CHECK((*eng)->inputs()[0].shape == Dims{1, 2, 4, 4});
  CHECK((*eng)->outputs()[0].shape == Dims{1, 3});
  CHECK((*eng)->plan_info().schema_version == kPlanSchemaVersion);
  // Conv, Relu, Reshape, Gemm: every ONNX node is covered by exactly one
  // layer (Conv and Relu may be fused into one).
  size_t covered = 0;
  for (const LayerInfo& l : (*eng)->layers()) covered += l.onnx_nodes.size();
  CHECK(covered == 4);
  auto ctx = (*eng)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  Tensor x(DataType::kFloat32, {1, 2, 4, 4});
  for (int i = 0; i < 32; ++i) x.data_as<float>()[i] = 0.1f * i - 1.0f;
  auto a = (*ctx)->Infer({{"x", x}});
  REQUIRE(a.ok());
  auto b = (*ctx)->Infer({{"x", x}});
  REQUIRE(b.ok());
  CHECK(CompareTensors((*a)[0].tensor, (*b)[0].tensor, 0, 0).passed);
}

TEST_CASE("Not-a-plan, truncated, corrupt and wrong-version plans get distinct errors",
          "[executor]") {
  const std::string plan = BuildSmallPlan();
  SECTION("not a plan") {
    absl::Status s = Load("hello world, not a plan at all");
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(s.message(), "not an engine plan"));
    CHECK(Load("").code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("truncated at many lengths") {
    for (size_t cut = 8; cut < plan.size(); cut += std::max<size_t>(1, plan.size() / 97)) {
      absl::Status s = Load(plan.substr(0, cut));
      INFO("cut at " << cut << ": " << s.ToString());
      CHECK(s.code() == absl::StatusCode::kDataLoss);
      CHECK(absl::StrContains(s.message(), "truncated"));
    }
    // Shorter than the file identifier: not recognizable as a plan at all.
    for (size_t cut : {size_t{0}, size_t{4}, size_t{7}}) {
      absl::Status s = Load(plan.substr(0, cut));
      CHECK(s.code() == absl::StatusCode::kInvalidArgument);
      CHECK(absl::StrContains(s.message(), "not an engine plan"));
    }
  }
  SECTION("flipped byte in the weights") {
    // Find the bytes of a constant (the conv weights) inside the plan's
    // payload and flip one in the middle: only the checksum can tell.
    const auto* outer = flatbuffers::GetRoot<engine::plan::Plan>(plan.data());
    const auto* net = flatbuffers::GetRoot<engine::plan::Network>(outer->payload()->data());
    size_t offset = 0, size = 0;
    for (const engine::plan::Tensor* t : *net->tensors()) {
      if (t->is_constant() && t->data() != nullptr && t->data()->size() > size) {
        size = t->data()->size();
        offset = static_cast<size_t>(t->data()->data() -
                                     reinterpret_cast<const uint8_t*>(plan.data()));
      }
    }
    REQUIRE(size >= 16);
    std::string bad = plan;
    bad[offset + size / 2] ^= 0x01;
    absl::Status s = Load(bad);
    INFO(s.ToString());
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(s.message(), "checksum mismatch"));
  }
  SECTION("every single flipped byte is rejected or harmless, never a crash") {
    for (size_t i = 0; i < plan.size(); i += 7) {
      std::string bad = plan;
      bad[i] ^= 0xff;
      absl::Status s = Load(bad);
      // Bytes outside the payload (padding, version string) may not matter;
      // what matters is that nothing crashes and errors are typed.
      if (!s.ok()) {
        CHECK((s.code() == absl::StatusCode::kDataLoss ||
               s.code() == absl::StatusCode::kInvalidArgument ||
               s.code() == absl::StatusCode::kFailedPrecondition));
      }
    }
  }
  SECTION("newer schema version") {
    const std::string accepted =
        absl::StrCat("accepts versions ", kMinPlanSchemaVersion, "..", kPlanSchemaVersion);
    absl::Status s = Load(WithVersion(plan, kPlanSchemaVersion + 1));
    CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(absl::StrContains(s.message(), accepted));
    CHECK(absl::StrContains(s.message(), absl::StrCat("plan schema version ", kPlanSchemaVersion + 1)));
    s = Load(WithVersion(plan, kMinPlanSchemaVersion - 1));
    CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(absl::StrContains(s.message(), accepted));
    CHECK(Load(WithVersion(plan, kPlanSchemaVersion)).ok());
    // Every version of the accepted range loads (version 3 only added an
    // enumerator, so version-2 plans are still read).
    for (uint32_t v = kMinPlanSchemaVersion; v <= kPlanSchemaVersion; ++v) {
      INFO("version " << v);
      CHECK(Load(WithVersion(plan, v)).ok());
    }
  }
}

TEST_CASE("Execution checks input names, dtypes and shapes", "[executor]") {
  auto eng = Runtime::DeserializeEngine(BuildSmallPlan());
  REQUIRE(eng.ok());
  auto ctx = (*eng)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  CHECK((*ctx)->Execute().code() == absl::StatusCode::kFailedPrecondition);
  CHECK((*ctx)->GetOutput("y").status().code() == absl::StatusCode::kFailedPrecondition);
  absl::Status s = (*ctx)->SetInput("x", Tensor(DataType::kFloat32, {1, 2, 4, 5}));
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(s.message(), "expected shape 1x2x4x4, got 1x2x4x5"));
  s = (*ctx)->SetInput("x", Tensor(DataType::kInt64, {1, 2, 4, 4}));
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(s.message(), "expected dtype float"));
  s = (*ctx)->SetInput("nope", Tensor(DataType::kFloat32, {1, 2, 4, 4}));
  CHECK(s.code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(s.message(), "inputs are: x"));
  CHECK((*ctx)->GetOutput("nope").status().code() == absl::StatusCode::kNotFound);
}
