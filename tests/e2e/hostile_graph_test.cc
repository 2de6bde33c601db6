// Hostile graphs (issue 16, items 1, 2 and the graph part of 9): each model
// is crafted in memory and must be refused with its specific error, quickly
// and before anything of the hostile size is allocated, or (zero-size
// products, which are valid ONNX) build, load and compute the right output.
//
// The crashers are also kept as files in tests/data/fuzz_regressions/onnx/
// (replayed by tests/executor/fuzz_regression_test.cc); run this binary with
// "[.write_regressions]" to rewrite them. bench/hostile_limits.sh measures
// the refusals' wall time and peak RSS through trtexec_like.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "test_models.h"

using namespace engine;
using engine::testing::ModelBuilder;

namespace {

constexpr int kNewerIrVersion = 100;  // newer than any ONNX library: the checker is skipped

Tensor Int64Tensor(const std::vector<int64_t>& values) {
  Tensor t(DataType::kInt64, {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) t.data_as<int64_t>()[i] = values[i];
  return t;
}

Tensor FloatTensor(const Dims& shape, const std::vector<float>& values) {
  Tensor t(DataType::kFloat32, shape);
  for (size_t i = 0; i < values.size(); ++i) t.data_as<float>()[i] = values[i];
  return t;
}

void SetTensorAttr(onnx::NodeProto& n, const std::string& name, int elem_type, float value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::TENSOR);
  auto* t = a->mutable_t();
  t->set_data_type(elem_type);
  t->add_dims(1);
  if (elem_type == onnx::TensorProto::FLOAT) {
    t->add_float_data(value);
  } else {
    t->add_int64_data(static_cast<int64_t>(value));
  }
}

struct Outcome {
  absl::StatusOr<BuildResult> built;
  double seconds = 0;
};

Outcome Build(const std::string& bytes, const BuilderConfig& config = {}) {
  StderrLogger quiet(Severity::kError);
  const auto start = std::chrono::steady_clock::now();
  Outcome o{Builder(&quiet).BuildFromOnnxBytes(bytes, "hostile.onnx", config)};
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return o;
}

// The build is refused with `code` and a message containing every `parts`,
// in well under the time a hostile allocation takes (the benchmark checks
// < 1 s and < 200 MB on an idle machine; this bound leaves room for a loaded
// CI machine).
void ExpectRefused(const Outcome& o, absl::StatusCode code, const std::vector<std::string>& parts) {
  INFO(o.built.status().ToString());
  REQUIRE_FALSE(o.built.ok());
  CHECK(o.built.status().code() == code);
  for (const std::string& p : parts) CHECK(absl::StrContains(o.built.status().message(), p));
  CHECK(o.seconds < 10.0);
}

// Builds, loads and runs `bytes` with `inputs`; returns output `name`.
Tensor BuildAndRun(const std::string& bytes, const std::map<std::string, Tensor>& inputs,
                   const std::string& name) {
  Outcome o = Build(bytes);
  INFO(o.built.status().ToString());
  REQUIRE(o.built.ok());
  StderrLogger quiet(Severity::kError);
  auto engine = Runtime::DeserializeEngine(o.built->plan, &quiet);
  INFO(engine.status().ToString());
  REQUIRE(engine.ok());
  auto ctx = (*engine)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  for (const auto& [n, t] : inputs) REQUIRE((*ctx)->SetInput(n, t).ok());
  absl::Status run = (*ctx)->Execute();
  INFO(run.ToString());
  REQUIRE(run.ok());
  auto out = (*ctx)->GetOutput(name);
  REQUIRE(out.ok());
  return **out;
}

// --- the models -------------------------------------------------------------

std::string ZeroKMatMul() {
  ModelBuilder b(13, "zero_k_matmul");
  b.Input("a", {3, 0}).Input("b", {0, 5}).Output("y", {3, 5});
  b.Node("MatMul", {"a", "b"}, {"y"}, "mm");
  return b.Serialize();
}

std::string ZeroChannelConv() {
  ModelBuilder b(13, "zero_channel_conv");
  b.Input("x", {1, 0, 4, 4}).Output("y", {1, 2, 2, 2});
  b.Initializer("w", Tensor(DataType::kFloat32, {2, 0, 3, 3}));
  b.Initializer("bias", FloatTensor({2}, {1.5f, -2.0f}));
  b.Node("Conv", {"x", "w", "bias"}, {"y"}, "conv");
  return b.Serialize();
}

std::string EmptyOutputMatMul() {
  ModelBuilder b(13, "empty_output_matmul");
  b.Input("a", {3, 4}).Output("y", {3, 0});
  b.Initializer("w", Tensor(DataType::kFloat32, {4, 0}));
  b.Node("MatMul", {"a", "w"}, {"y"}, "mm");
  return b.Serialize();
}

// y = x + ConstantOfShape([1e6, 1e6]): a 4 TB constant.
std::string ConstantOfShapeBomb(int elem_type = onnx::TensorProto::FLOAT) {
  ModelBuilder b(13, "constant_of_shape_bomb");
  b.Input("x", {1}, elem_type).Output("y", {1000000, 1000000});
  b.model().mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      elem_type);
  b.Initializer("shape", Int64Tensor({1000000, 1000000}));
  auto& fill = b.Node("ConstantOfShape", {"shape"}, {"big"}, "fill");
  SetTensorAttr(fill, "value", elem_type, 1.0f);
  b.Node("Add", {"x", "big"}, {"y"}, "add");
  return b.Serialize();
}

// [1e6, 1] + [1, 1e6]: a 10^12-element broadcast.
std::string BroadcastAddBomb() {
  ModelBuilder b(13, "broadcast_add_bomb");
  b.Input("a", {1000000, 1}).Input("b", {1, 1000000}).Output("y", {1000000, 1000000});
  b.Node("Add", {"a", "b"}, {"y"}, "add");
  return b.Serialize();
}

// [1e6, 1] x [1, 1e6]: a 10^12-element product.
std::string MatMulBomb() {
  ModelBuilder b(13, "matmul_bomb");
  b.Input("a", {1000000, 1}).Input("b", {1, 1000000}).Output("y", {1000000, 1000000});
  b.Node("MatMul", {"a", "b"}, {"y"}, "mm");
  return b.Serialize();
}

// Pad [1, 4] by 2^62 on both sides of axis 1 (the extent overflows int64),
// or by `pad` on one side.
std::string PadBomb(int64_t begin, int64_t end) {
  ModelBuilder b(13, "pad_bomb");
  b.Input("x", {1, 4}).Output("y", {-1, -1});
  b.Initializer("pads", Int64Tensor({0, begin, 0, end}));
  b.Node("Pad", {"x", "pads"}, {"y"}, "pad");
  return b.Serialize();
}

// A 1x1 Conv padded by 10^5 on each side: output [1, 1, 200001, 200001],
// 4 x 10^10 elements.
std::string ConvBomb() {
  ModelBuilder b(13, "conv_bomb");
  b.Input("x", {1, 1, 1, 1}).Output("y", {1, 1, 200001, 200001});
  b.Initializer("w", FloatTensor({1, 1, 1, 1}, {1.0f}));
  auto& conv = b.Node("Conv", {"x", "w"}, {"y"}, "conv");
  ModelBuilder::SetInts(conv, "pads", {100000, 100000, 100000, 100000});
  return b.Serialize();
}

// Conv 3 -> 8 channels on a dynamic-batch 224x224 input.
std::string DynamicBatchConv() {
  ModelBuilder b(13, "dynamic_batch_conv");
  b.Input("x", {-1, 3, 224, 224}).Output("y", {-1, 8, 224, 224});
  b.Initializer("w", Tensor(DataType::kFloat32, {8, 3, 1, 1}));
  b.Node("Conv", {"x", "w"}, {"y"}, "conv");
  return b.Serialize();
}

void SetIrVersion(std::string& bytes, int ir_version) {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(bytes));
  m.set_ir_version(ir_version);
  bytes = m.SerializeAsString();
}

std::string TwoProducers() {
  ModelBuilder b(13, "two_producers");
  b.Input("x", {1, 4}).Output("y", {1, 4});
  b.Node("Relu", {"x"}, {"t"}, "first");
  b.Node("Sigmoid", {"x"}, {"t"}, "second");
  b.Node("Relu", {"t"}, {"y"}, "last");
  return b.Serialize();
}

std::string DuplicateInitializers(bool same_shape) {
  ModelBuilder b(13, "duplicate_initializers");
  b.Input("x", {1, 4}).Output("y", {1, 4});
  b.Initializer("c", FloatTensor({1, 4}, {1, 2, 3, 4}));
  b.Initializer("c", same_shape ? FloatTensor({1, 4}, {5, 6, 7, 8}) : FloatTensor({4}, {5, 6, 7, 8}));
  b.Node("Add", {"x", "c"}, {"y"}, "add");
  return b.Serialize();
}

std::string DanglingInput() {
  ModelBuilder b(13, "dangling_input");
  b.Input("x", {1, 4}).Output("y", {1, 4});
  b.Node("Add", {"x", "ghost"}, {"y"}, "add");
  return b.Serialize();
}

std::string UnproducedOutput() {
  ModelBuilder b(13, "unproduced_output");
  b.Input("x", {1, 4}).Output("y", {1, 4}).Output("z", {1, 4});
  b.Node("Relu", {"x"}, {"y"}, "relu");
  return b.Serialize();
}

std::string OverwritesInitializer() {
  ModelBuilder b(13, "overwrites_initializer");
  b.Input("x", {1, 4}).Output("y", {1, 4});
  b.Initializer("c", FloatTensor({1, 4}, {1, 2, 3, 4}));
  b.Node("Relu", {"x"}, {"c"}, "relu");
  b.Node("Add", {"x", "c"}, {"y"}, "add");
  return b.Serialize();
}

std::string ReadBeforeWrite() {
  ModelBuilder b(13, "read_before_write");
  b.Input("x", {1, 4}).Output("y", {1, 4});
  b.Node("Relu", {"t"}, {"y"}, "relu");
  b.Node("Sigmoid", {"x"}, {"t"}, "sig");
  return b.Serialize();
}

}  // namespace

// --- 1. zero-size products --------------------------------------------------

TEST_CASE("A MatMul [3,0]x[0,5] builds and computes zeros (no SIGFPE in codegen)",
          "[e2e][hostile]") {
  const Tensor y = BuildAndRun(ZeroKMatMul(),
                               {{"a", Tensor(DataType::kFloat32, {3, 0})},
                                {"b", Tensor(DataType::kFloat32, {0, 5})}},
                               "y");
  REQUIRE(y.shape() == Dims{3, 5});
  for (int64_t i = 0; i < y.num_elements(); ++i) CHECK(y.data_as<float>()[i] == 0.0f);
}

TEST_CASE("A Conv with 0 input channels builds and outputs its bias", "[e2e][hostile]") {
  const Tensor y =
      BuildAndRun(ZeroChannelConv(), {{"x", Tensor(DataType::kFloat32, {1, 0, 4, 4})}}, "y");
  REQUIRE(y.shape() == Dims{1, 2, 2, 2});
  for (int64_t i = 0; i < 4; ++i) CHECK(y.data_as<float>()[i] == 1.5f);
  for (int64_t i = 4; i < 8; ++i) CHECK(y.data_as<float>()[i] == -2.0f);
}

TEST_CASE("A MatMul with an empty output builds and runs", "[e2e][hostile]") {
  const Tensor a = FloatTensor({3, 4}, std::vector<float>(12, 1.0f));
  const Tensor y = BuildAndRun(EmptyOutputMatMul(), {{"a", a}}, "y");
  CHECK(y.shape() == Dims{3, 0});
}

// --- 2. memory bombs ----------------------------------------------------------

TEST_CASE("ConstantOfShape to [1e6,1e6] is refused from its shape", "[e2e][hostile]") {
  // Default limits: the 4 TB activation, at shape propagation.
  ExpectRefused(Build(ConstantOfShapeBomb()), absl::StatusCode::kResourceExhausted,
                {"'fill' (ConstantOfShape)", "'big'", "1000000x1000000", "4000000000000 bytes",
                 "max_tensor_bytes", "--maxTensorBytes"});
  // Without a tensor limit: the constant limit, in fold-constants, before
  // the kernel allocates.
  BuilderConfig no_tensor_limit;
  no_tensor_limit.max_tensor_bytes = 0;
  ExpectRefused(Build(ConstantOfShapeBomb(), no_tensor_limit),
                absl::StatusCode::kResourceExhausted,
                {"'fill' (ConstantOfShape)", "folded constant 'big'", "4000000000000 bytes",
                 "max_constant_bytes", "--maxConstantBytes"});
  // int64: folded during shape propagation, same check.
  ExpectRefused(Build(ConstantOfShapeBomb(onnx::TensorProto::INT64), no_tensor_limit),
                absl::StatusCode::kResourceExhausted,
                {"'fill' (ConstantOfShape)", "folded constant 'big'", "8000000000000 bytes",
                 "max_constant_bytes"});
}

TEST_CASE("A 10^12-element broadcast Add or MatMul is refused before lowering", "[e2e][hostile]") {
  ExpectRefused(Build(BroadcastAddBomb()), absl::StatusCode::kResourceExhausted,
                {"'add' (Add)", "output 'y'", "4000000000000 bytes", "max_tensor_bytes"});
  ExpectRefused(Build(MatMulBomb()), absl::StatusCode::kResourceExhausted,
                {"'mm' (MatMul)", "output 'y'", "4000000000000 bytes", "max_tensor_bytes"});
  // Without the tensor and arena limits, the instruction budget refuses each
  // from its tiling, before an instruction list grows.
  BuilderConfig only_instructions;
  only_instructions.max_tensor_bytes = 0;
  only_instructions.max_arena_bytes = 0;
  ExpectRefused(Build(BroadcastAddBomb(), only_instructions), absl::StatusCode::kResourceExhausted,
                {"layer 'add' (Add)", "instructions", "max_instructions", "--maxInstructions"});
  ExpectRefused(Build(MatMulBomb(), only_instructions), absl::StatusCode::kResourceExhausted,
                {"layer 'mm' (MatMul)", "instructions", "max_instructions"});
}

TEST_CASE("Pad by 2^62 is refused without length_error", "[e2e][hostile]") {
  // Both sides: the extent overflows int64.
  ExpectRefused(Build(PadBomb(int64_t{1} << 62, int64_t{1} << 62)),
                absl::StatusCode::kInvalidArgument, {"'pad' (Pad)", "larger than 2^63"});
  // One side: 2^62 + 4 floats is not representable.
  ExpectRefused(Build(PadBomb(int64_t{1} << 62, 0)), absl::StatusCode::kResourceExhausted,
                {"'pad' (Pad)", "output 'y'", "more than 2^62 bytes"});
  // 2^33 floats: representable, above the limit, refused before the kernel
  // would build its 2^33-entry index table.
  ExpectRefused(Build(PadBomb(int64_t{1} << 33, 0)), absl::StatusCode::kResourceExhausted,
                {"'pad' (Pad)", "output 'y'", "34359738384 bytes", "max_tensor_bytes"});
  // Pads beyond 2^62 (and INT64_MIN, whose negation overflows).
  ExpectRefused(Build(PadBomb(INT64_MIN, 0)), absl::StatusCode::kInvalidArgument,
                {"'pad' (Pad)", "exceed"});
}

TEST_CASE("A Conv with a 4x10^10-element output is refused at once", "[e2e][hostile]") {
  ExpectRefused(Build(ConvBomb()), absl::StatusCode::kResourceExhausted,
                {"'conv' (Conv)", "output 'y'", "1x1x200001x200001", "160001600004 bytes",
                 "max_tensor_bytes"});
}

TEST_CASE("An input pinned by --shapes to 100000x3x224x224 is refused at the input", "[e2e][hostile]") {
  BuilderConfig config;
  config.input_shapes["x"] = {100000, 3, 224, 224};
  ExpectRefused(Build(DynamicBatchConv(), config), absl::StatusCode::kResourceExhausted,
                {"input 'x'", "100000x3x224x224", "60211200000 bytes", "max_tensor_bytes"});
  // A modest batch still builds.
  config.input_shapes["x"] = {2, 3, 224, 224};
  Outcome ok = Build(DynamicBatchConv(), config);
  INFO(ok.built.status().ToString());
  CHECK(ok.built.ok());
}

TEST_CASE("Limits are configurable and validated", "[e2e][hostile]") {
  const std::string model = engine::testing::SmallConvModel();
  // A tiny instruction budget refuses the first layer, naming it.
  BuilderConfig few;
  few.max_instructions = 3;
  ExpectRefused(Build(model, few), absl::StatusCode::kResourceExhausted,
                {"layer '", "instructions", "--maxInstructions"});
  // A tensor limit below the model's activations.
  BuilderConfig small;
  small.max_tensor_bytes = 16;
  ExpectRefused(Build(model, small), absl::StatusCode::kResourceExhausted,
                {"input 'x'", "128 bytes", "above the limit of 16 bytes"});
  // An initializer above the constant limit, from its dims.
  BuilderConfig tiny_constants;
  tiny_constants.max_constant_bytes = 8;
  ExpectRefused(Build(model, tiny_constants), absl::StatusCode::kResourceExhausted,
                {"initializer '", "max_constant_bytes"});
  BuilderConfig negative;
  negative.max_tensor_bytes = -1;
  ExpectRefused(Build(model, negative), absl::StatusCode::kInvalidArgument,
                {"max_tensor_bytes", "--maxTensorBytes", "-1"});
  // The defaults build it; so do limits turned off.
  CHECK(Build(model).built.ok());
  BuilderConfig off;
  off.max_tensor_bytes = off.max_constant_bytes = off.max_instructions = off.max_arena_bytes = 0;
  CHECK(Build(model, off).built.ok());
}

TEST_CASE("An allocation past every limit is ResourceExhausted, not an exception",
          "[e2e][hostile]") {
  // Every limit off: ConstantOfShape to 2^60 bytes reaches the kernel, whose
  // allocation fails; the builder returns the std::bad_alloc as a status.
  ModelBuilder b(13, "bad_alloc");
  b.Input("x", {1}).Output("y", {int64_t{1} << 30, int64_t{1} << 28});
  b.Initializer("shape", Int64Tensor({int64_t{1} << 30, int64_t{1} << 28}));
  auto& fill = b.Node("ConstantOfShape", {"shape"}, {"big"}, "fill");
  SetTensorAttr(fill, "value", onnx::TensorProto::FLOAT, 1.0f);
  b.Node("Add", {"x", "big"}, {"y"}, "add");
  BuilderConfig off;
  off.max_tensor_bytes = off.max_constant_bytes = off.max_instructions = off.max_arena_bytes = 0;
#if defined(__SANITIZE_ADDRESS__)
  // ASan aborts on an allocation this size instead of failing it.
  SUCCEED("skipped under AddressSanitizer");
#else
  ExpectRefused(Build(b.Serialize(), off), absl::StatusCode::kResourceExhausted,
                {"std::bad_alloc"});
#endif
}

// --- 9. structural checks, whatever the IR version ----------------------------

TEST_CASE("Graph structure is checked whatever the IR version", "[e2e][hostile]") {
  for (int ir : {7, kNewerIrVersion}) {
    DYNAMIC_SECTION("ir_version " << ir) {
      auto build = [&](std::string bytes) {
        SetIrVersion(bytes, ir);
        return Build(bytes);
      };
      ExpectRefused(build(TwoProducers()), absl::StatusCode::kInvalidArgument,
                    {"tensor 't'", "'second' (Sigmoid)", "'first' (Relu)", "one producer"});
      ExpectRefused(build(DuplicateInitializers(false)), absl::StatusCode::kInvalidArgument,
                    {"initializer 'c' is defined twice", "[1,4]", "[4]"});
      ExpectRefused(build(DuplicateInitializers(true)), absl::StatusCode::kInvalidArgument,
                    {"initializer 'c' is defined twice", "#0 [1,4] and #1 [1,4]"});
      ExpectRefused(build(DanglingInput()), absl::StatusCode::kInvalidArgument,
                    {"'add' (Add)", "reads 'ghost'", "no node, initializer or graph input"});
      ExpectRefused(build(UnproducedOutput()), absl::StatusCode::kInvalidArgument,
                    {"graph output 'z'", "not produced"});
      ExpectRefused(build(OverwritesInitializer()), absl::StatusCode::kInvalidArgument,
                    {"tensor 'c'", "'relu' (Relu)", "an initializer"});
      ExpectRefused(build(ReadBeforeWrite()), absl::StatusCode::kInvalidArgument,
                    {"'relu' (Relu) reads 't' before", "'sig' (Sigmoid)", "topological"});
    }
  }
}

TEST_CASE("A bound input value replaces the input's default initializer", "[e2e][hostile]") {
  // Before: a second initializer of the same name was added and the first
  // (the model's default) silently won.
  ModelBuilder b(13, "bound_default");
  b.Input("x", {1, 4}).Input("c", {1, 4}).Output("y", {1, 4});
  b.Initializer("c", FloatTensor({1, 4}, {1, 1, 1, 1}));
  b.Node("Add", {"x", "c"}, {"y"}, "add");
  BuilderConfig config;
  config.input_values.emplace("c", FloatTensor({1, 4}, {10, 20, 30, 40}));
  StderrLogger quiet(Severity::kError);
  auto built = Builder(&quiet).BuildFromOnnxBytes(b.Serialize(), "bound.onnx", config);
  INFO(built.status().ToString());
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan, &quiet);
  REQUIRE(engine.ok());
  auto ctx = (*engine)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  REQUIRE((*ctx)->SetInput("x", FloatTensor({1, 4}, {0, 0, 0, 0})).ok());
  REQUIRE((*ctx)->Execute().ok());
  auto y = (*ctx)->GetOutput("y");
  REQUIRE(y.ok());
  CHECK((*y)->data_as<float>()[0] == 10.0f);
  CHECK((*y)->data_as<float>()[3] == 40.0f);
}

// Rewrites the crashers of this file into tests/data/fuzz_regressions/onnx/.
TEST_CASE("Write the hostile graphs as fuzz regressions", "[.write_regressions]") {
  const std::filesystem::path dir =
      std::filesystem::path(ENGINE_SOURCE_DIR) / "tests" / "data" / "fuzz_regressions" / "onnx";
  auto newer = [](std::string bytes) {
    SetIrVersion(bytes, kNewerIrVersion);
    return bytes;
  };
  const std::vector<std::pair<std::string, std::string>> files = {
      {"zero_k_matmul_sigfpe.onnx", ZeroKMatMul()},
      {"zero_channel_conv_sigfpe.onnx", ZeroChannelConv()},
      {"constant_of_shape_bad_alloc.onnx", ConstantOfShapeBomb()},
      {"broadcast_add_instruction_bomb.onnx", BroadcastAddBomb()},
      {"matmul_instruction_bomb.onnx", MatMulBomb()},
      {"pad_2p62_length_error.onnx", PadBomb(int64_t{1} << 62, int64_t{1} << 62)},
      {"conv_4e10_output.onnx", ConvBomb()},
      // Valid, with a dynamic batch: the vehicle of --shapes=x:100000x3x224x224.
      {"dynamic_batch_input_needs_shapes.onnx", DynamicBatchConv()},
      {"newer_ir_two_producers.onnx", newer(TwoProducers())},
      {"newer_ir_duplicate_initializers.onnx", newer(DuplicateInitializers(false))},
      {"newer_ir_dangling_input.onnx", newer(DanglingInput())},
  };
  for (const auto& [name, bytes] : files) {
    std::ofstream out(dir / name, std::ios::binary);
    out << bytes;
    REQUIRE(out.good());
  }
}
