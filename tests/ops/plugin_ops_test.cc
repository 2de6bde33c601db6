// Plugin registration and containment at the op-library level
// (src/ops/plugin_registry.cc): the loader's checks, the refusal to replace a
// built-in op, version clashes, and the misbehaving plugin's errors turned
// into statuses naming the plugin and op.
#include <catch2/catch.hpp>

#include <cstring>
#include <limits>

#include <string>
#include <vector>

#include "engine/plugin.h"
#include "engine/plugin_registry.h"
#include "ops/op_registry.h"
#include "ops/plugin_ops.h"

namespace engine::ops {
namespace {

using Catch::Matchers::Contains;

// An in-process op: copies X; its type and version are set per test.
class CopyOp final : public plugin::Op {
 public:
  explicit CopyOp(const char* type) : type_(type) {}
  const char* domain() const override { return "com.unit"; }
  const char* op_type() const override { return type_; }
  std::string SerializeAttributes(plugin::Attributes) const override { return "x"; }
  std::vector<plugin::TensorDesc> Infer(std::string_view,
                                        std::span<const plugin::TensorDesc> in) const override {
    return {in[0]};
  }
  std::unique_ptr<plugin::Kernel> Prepare(std::string_view, std::span<const plugin::TensorDesc>,
                                          std::span<const plugin::TensorDesc>) const override {
    throw std::runtime_error("not used");
  }
  EnginePluginDeviceWork DeviceWork(std::string_view, std::span<const plugin::TensorDesc>,
                                    std::span<const plugin::TensorDesc>) const override {
    return {1.0, 1};
  }

 private:
  const char* type_;
};

TEST_CASE("a plugin cannot replace a built-in op") {
  static CopyOp relu("Relu");
  static const EnginePluginOp table = plugin::MakeOpTable(relu);
  static const EnginePlugin p{ENGINE_PLUGIN_ABI_VERSION, "clash", "1", 1, &table};
  auto info = RegisterPlugin(&p, "unit");
  REQUIRE_FALSE(info.ok());
  CHECK(info.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK_THAT(std::string(info.status().message()), Contains("built-in"));
  CHECK_THAT(std::string(info.status().message()), Contains("'Relu'"));
  // The built-in record is untouched.
  CHECK(OpRegistry::Builtin().Find("Relu")->domain.empty());
}

TEST_CASE("plugin tables are checked: ABI version, names, functions") {
  static CopyOp op("UnitCheckedOp");
  static EnginePluginOp table = plugin::MakeOpTable(op);
  EnginePlugin p{ENGINE_PLUGIN_ABI_VERSION + 1, "checked", "1", 1, &table};
  auto info = RegisterPlugin(&p, "unit");
  REQUIRE_FALSE(info.ok());
  CHECK_THAT(std::string(info.status().message()), Contains("ABI version"));
  p.abi_version = ENGINE_PLUGIN_ABI_VERSION;
  EnginePluginOp no_run = table;
  no_run.run = nullptr;
  p.ops = &no_run;
  info = RegisterPlugin(&p, "unit");
  REQUIRE_FALSE(info.ok());
  CHECK_THAT(std::string(info.status().message()), Contains("NULL"));
  EnginePluginOp onnx_domain = table;
  onnx_domain.domain = "ai.onnx";
  p.ops = &onnx_domain;
  CHECK_FALSE(RegisterPlugin(&p, "unit").ok());
  CHECK(FindPluginOp("UnitCheckedOp") == nullptr);
  CHECK_FALSE(RegisterPlugin(nullptr, "unit").ok());
}

TEST_CASE("plugin ABI versions: version 1 tables still load, the array unit needs version 2") {
  static CopyOp v1_op("UnitAbiOneOp");
  static const EnginePluginOp v1_table = plugin::MakeOpTable(v1_op);
  static const EnginePlugin v1{1, "abi_one", "1", 1, &v1_table};
  auto info = RegisterPlugin(&v1, "unit");
  REQUIRE(info.ok());
  CHECK(OpRegistry::Builtin().Find("UnitAbiOneOp")->device.unit == hw::LayerKind::kVector);
  // An array op in a version-1 table: version 1 has no such unit.
  static CopyOp array_op("UnitArrayOp");
  static EnginePluginOp array_table = plugin::MakeOpTable(array_op);
  array_table.device_unit = ENGINE_PLUGIN_UNIT_ARRAY;
  EnginePlugin p{1, "array_v1", "1", 1, &array_table};
  info = RegisterPlugin(&p, "unit");
  REQUIRE_FALSE(info.ok());
  CHECK_THAT(std::string(info.status().message()), Contains("unknown device unit 1"));
  // Nor may it claim INT8 pass-through (its products are float).
  p.abi_version = 2;
  array_table.int8_behaviour = ENGINE_PLUGIN_INT8_PASS_THROUGH;
  info = RegisterPlugin(&p, "unit");
  REQUIRE_FALSE(info.ok());
  CHECK_THAT(std::string(info.status().message()), Contains("FLOAT_ONLY"));
  array_table.int8_behaviour = ENGINE_PLUGIN_INT8_FLOAT_ONLY;
  REQUIRE(RegisterPlugin(&p, "unit").ok());
  const OpDef* def = OpRegistry::Builtin().Find("UnitArrayOp");
  REQUIRE(def != nullptr);
  CHECK(def->device.unit == hw::LayerKind::kArray);
  CHECK(static_cast<bool>(def->device.gemm));
  CHECK(def->device.weight_input == 1);
}

TEST_CASE("a plugin built for plugin ABI 2 loads from its library and runs on the array") {
  auto info = LoadPlugin(ENGINE_ARRAY_PLUGIN);
  REQUIRE(info.ok());
  CHECK(info->name == "test_array");
  const OpDef* def = OpRegistry::Builtin().Find("PluginMatMul");
  REQUIRE(def != nullptr);
  CHECK(def->device.unit == hw::LayerKind::kArray);
}

TEST_CASE("a second version of a loaded plugin is refused, the same one is a no-op") {
  static CopyOp op("UnitVersionedOp");
  static const EnginePluginOp table = plugin::MakeOpTable(op);
  static const EnginePlugin v1{ENGINE_PLUGIN_ABI_VERSION, "versioned", "1.0", 1, &table};
  static const EnginePlugin v2{ENGINE_PLUGIN_ABI_VERSION, "versioned", "2.0", 1, &table};
  REQUIRE(RegisterPlugin(&v1, "unit").ok());
  CHECK(RegisterPlugin(&v1, "unit").ok());
  auto again = RegisterPlugin(&v2, "unit");
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(std::string(again.status().message()), Contains("version 1.0"));
  CHECK(CheckPluginAvailable("versioned", "1.0").ok());
  absl::Status other = CheckPluginAvailable("versioned", "2.0");
  CHECK(other.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(other.message()), Contains("1.0 is loaded"));
  CHECK_THAT(std::string(CheckPluginAvailable("absent", "3").message()),
             Contains("not loaded"));
  // Its op is now a layer type of the registry, importable from its domain only.
  const OpDef* def = OpRegistry::Builtin().Find("UnitVersionedOp");
  REQUIRE(def != nullptr);
  CHECK(def->domain == "com.unit");
  CHECK(OpRegistry::Builtin().FindImport("com.unit", "UnitVersionedOp", 1, nullptr) == def);
  CHECK(OpRegistry::Builtin().FindImport("", "UnitVersionedOp", 13, nullptr) == nullptr);
  CHECK(OpRegistry::Builtin().FindImport("com.unit", "UnitVersionedOp", 2, nullptr) == nullptr);
  CHECK(PluginOfType("UnitVersionedOp")->name == "versioned");
  CHECK_FALSE(PluginOfType("Relu").has_value());
}

TEST_CASE("loading a missing or non-plugin library fails clearly") {
  auto missing = LoadPlugin("/nonexistent/libnothing.so");
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  auto not_lib = LoadPlugin(ENGINE_SOURCE_DIR "/README.md");
  CHECK(not_lib.status().code() == absl::StatusCode::kInvalidArgument);
}

// The misbehaving plugin's layer evaluated through the record: each mode's
// failure is a status naming the plugin and the op, and nothing crashes.
TEST_CASE("a misbehaving plugin's errors are contained") {
  auto info = LoadPlugin(ENGINE_MISBEHAVING_PLUGIN);
  REQUIRE(info.ok());
  CHECK(info->name == "misbehaving");
  const OpDef* def = OpRegistry::Builtin().Find("Misbehave");
  REQUIRE(def != nullptr);
  Tensor x(DataType::kFloat32, {2, 3});
  for (int i = 0; i < 6; ++i) static_cast<float*>(x.data())[i] = static_cast<float>(i);
  const Tensor* inputs[] = {&x};
  auto run = [&](const std::string& mode) {
    // The layer attribute as the importer writes it: the hex of the blob.
    std::string hex;
    for (unsigned char c : mode) {
      hex.push_back("0123456789abcdef"[c >> 4]);
      hex.push_back("0123456789abcdef"[c & 15]);
    }
    Attributes attrs;
    attrs.Set(kPluginDataAttr, hex);
    // EvaluateKernel: infer, Prepare, Run (Run drops errors; TryRun reports them).
    auto outs = kernels::EvaluateKernel(def->host, attrs, inputs);
    if (!outs.ok()) return outs.status();
    auto kernel = def->host.create();
    std::vector<kernels::TensorInfo> in{{DataType::kFloat32, {2, 3}, nullptr, true}};
    std::vector<kernels::TensorInfo> out{{DataType::kFloat32, {2, 3}, nullptr, true}};
    absl::Status st = kernel->Prepare(attrs, in, out);
    if (!st.ok()) return st;
    Tensor y(DataType::kFloat32, {2, 3});
    const void* ins[] = {x.data()};
    void* outs_p[] = {y.data()};
    kernels::RunContext rc;
    st = kernel->TryRun(rc, ins, outs_p);
    if (st.ok() && std::memcmp(x.data(), y.data(), x.byte_size()) != 0) {
      return absl::InternalError("copy differs");
    }
    return st;
  };
  CHECK(run("ok").ok());
  for (const char* mode : {"infer_error", "wrong_shape", "many_outputs", "prepare_error",
                           "run_error", "run_throw", "raw_throw"}) {
    INFO(mode);
    absl::Status st = run(mode);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(std::string(st.message()), Contains("plugin 'misbehaving'"));
    CHECK_THAT(std::string(st.message()), Contains("com.test::Misbehave"));
  }
  CHECK_THAT(std::string(run("wrong_shape").message()), Contains("wrong shape"));
  CHECK_THAT(std::string(run("raw_throw").message()), Contains("C ABI"));
  CHECK_THAT(std::string(run("run_error").message()), Contains("on fire"));
}

// The example ChannelShuffle plugin (examples/plugins/channel_shuffle.cc)
// reads `groups` from the blob a plan stores: plan_loader_fuzzer found that a
// corrupt plan's groups 0 reached `C % groups` in its shape inference
// (SIGFPE; tests/data/fuzz_regressions/plan/channel_shuffle_groups_zero.plan).
// A blob with groups < 1 is an error naming the plugin and op; a valid one
// shuffles Y[n, j * groups + g] = X[n, g * k + j].
TEST_CASE("the example ChannelShuffle plugin refuses a stored groups below 1") {
  auto info = LoadPlugin(ENGINE_CHANNEL_SHUFFLE_PLUGIN);
  REQUIRE(info.ok());
  const OpDef* def = OpRegistry::Builtin().Find("ChannelShuffle");
  REQUIRE(def != nullptr);
  Tensor x(DataType::kFloat32, {1, 4, 1, 2});
  for (int i = 0; i < 8; ++i) static_cast<float*>(x.data())[i] = static_cast<float>(i);
  const Tensor* inputs[] = {&x};
  auto shuffle = [&](int64_t groups) {
    // The layer attribute as the importer writes it: the hex of the blob
    // (the int64 groups, little-endian).
    unsigned char blob[sizeof(groups)];
    std::memcpy(blob, &groups, sizeof(groups));
    std::string hex;
    for (unsigned char c : blob) {
      hex.push_back("0123456789abcdef"[c >> 4]);
      hex.push_back("0123456789abcdef"[c & 15]);
    }
    Attributes attrs;
    attrs.Set(kPluginDataAttr, hex);
    return kernels::EvaluateKernel(def->host, attrs, inputs);
  };
  auto two = shuffle(2);
  REQUIRE(two.ok());
  REQUIRE(two->size() == 1);
  const float* y = static_cast<const float*>((*two)[0].data());
  // Channels 0, 2, 1, 3 of X, two elements each.
  CHECK(std::vector<float>(y, y + 8) == std::vector<float>{0, 1, 4, 5, 2, 3, 6, 7});
  for (int64_t groups : {int64_t{0}, int64_t{-2}, std::numeric_limits<int64_t>::min()}) {
    INFO(groups);
    auto bad = shuffle(groups);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(std::string(bad.status().message()), Contains("ChannelShuffle"));
    CHECK_THAT(std::string(bad.status().message()), Contains("must be >= 1"));
  }
}

}  // namespace
}  // namespace engine::ops
