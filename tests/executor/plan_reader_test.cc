// The plan reader's checks, step by step: a good plan from a small generated
// model is edited in place (FlatBuffers tables and structs at their
// addresses), its payload CRC-32 recomputed, and the reader must refuse it
// with the specific error. Also the enum code helpers the reader relies on.
//
// The edited plans are also kept in tests/data/fuzz_regressions/plan/ (with
// the stale checksum, as the fuzzer finds them): regenerate them with
//   build/bin/executor_test '[.write_regressions]'
#include <catch2/catch.hpp>
#include <sys/mman.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/plan_generated.h"
#include "engine/builder.h"
#include "engine/runtime.h"
#include "hw/program.h"
#include "hw/simulator.h"
#include "hw/workload.h"
#include "test_models.h"

using namespace engine;

namespace {

namespace fb = ::engine::plan;

const std::string& SmallPlan() {
  static const std::string plan = [] {
    StderrLogger quiet(Severity::kError);
    auto built = Builder(&quiet).BuildFromOnnxBytes(testing::SmallConvModel(), "small.onnx",
                                                    BuilderConfig{});
    if (!built.ok()) FAIL(built.status().ToString());
    return built->plan;
  }();
  return plan;
}

absl::Status Load(std::string_view plan) {
  StderrLogger quiet(Severity::kError);
  return Runtime::DeserializeEngine(plan, &quiet).status();
}

// Byte offsets of fb::Instruction's fields (plan.fbs: FlatBuffers lays a
// struct out in declaration order with natural alignment). Every write is
// read back through the generated accessor, so a wrong offset fails the test.
static_assert(sizeof(fb::Instruction) == 96);
constexpr size_t kInstrDataflow = 1, kInstrLayer = 4, kInstrDep0 = 8, kInstrTensor = 20,
                 kInstrDramOffset = 24, kInstrBytes = 32, kInstrRepeat = 84;

// A plan edited in place; Fixed() returns it with the payload CRC-32
// recomputed, Stale() with the original one.
class PlanEditor {
 public:
  explicit PlanEditor(const std::string& plan) : plan_(plan) {}

  const fb::Plan& outer() const { return *flatbuffers::GetRoot<fb::Plan>(plan_.data()); }
  const fb::Network& net() const {
    return *flatbuffers::GetRoot<fb::Network>(outer().payload()->data());
  }

  /// Writes `value` at `at`, an address inside the plan.
  template <typename T>
  void Write(const void* at, T value) {
    const auto* p = static_cast<const char*>(at);
    REQUIRE(p >= plan_.data());
    REQUIRE(p + sizeof(T) <= plan_.data() + plan_.size());
    flatbuffers::WriteScalar<T>(&plan_[static_cast<size_t>(p - plan_.data())], value);
  }
  /// Writes the scalar field `field` (a VT_ constant) of `table`, which must
  /// store it (FlatBuffers omits fields equal to their default).
  template <typename T>
  void WriteField(const void* table, flatbuffers::voffset_t field, T value) {
    const auto* t = static_cast<const flatbuffers::Table*>(table);
    const flatbuffers::voffset_t at = t->GetOptionalFieldOffset(field);
    REQUIRE(at != 0);
    Write<T>(reinterpret_cast<const uint8_t*>(t) + at, value);
  }
  /// Points string field `field` of `table` at `target` (a string stored at a
  /// higher address, as FlatBuffers offsets only point forward).
  void PointStringField(const void* table, flatbuffers::voffset_t field,
                        const flatbuffers::String* target) {
    const auto* t = static_cast<const flatbuffers::Table*>(table);
    const flatbuffers::voffset_t at = t->GetOptionalFieldOffset(field);
    REQUIRE(at != 0);
    const auto* where = reinterpret_cast<const uint8_t*>(t) + at;
    const auto* to = reinterpret_cast<const uint8_t*>(target);
    REQUIRE(to > where);
    Write<flatbuffers::uoffset_t>(where, static_cast<flatbuffers::uoffset_t>(to - where));
  }
  const fb::Instruction& instruction(size_t i) const {
    REQUIRE(net().program() != nullptr);
    REQUIRE(i < net().program()->size());
    return *net().program()->Get(static_cast<flatbuffers::uoffset_t>(i));
  }
  template <typename T>
  void WriteInstruction(size_t i, size_t offset, T value) {
    Write<T>(reinterpret_cast<const uint8_t*>(&instruction(i)) + offset, value);
  }
  /// Index of the first instruction with `opcode`.
  size_t Find(hw::Opcode opcode) const {
    for (size_t i = 0; i < net().program()->size(); ++i) {
      if (instruction(i).opcode() == static_cast<uint8_t>(opcode)) return i;
    }
    FAIL("no such instruction");
    return 0;
  }

  std::string Stale() const { return plan_; }
  std::string Fixed() const {
    PlanEditor copy(plan_);
    const auto* payload = copy.outer().payload();
    const uint32_t crc =
        static_cast<uint32_t>(crc32(0L, payload->data(), static_cast<uInt>(payload->size())));
    copy.WriteField<uint32_t>(&copy.outer(), fb::Plan::VT_PAYLOAD_CRC32, crc);
    return copy.plan_;
  }

 private:
  std::string plan_;
};

// One crafted bad plan: its name (the regression file's), how to make it from
// the good plan, and what the reader must say.
struct BadPlan {
  std::string name;
  std::function<void(PlanEditor&)> edit;
  std::string message;
};

int FirstConstant(const fb::Network& net) {
  for (size_t i = 0; i < net.tensors()->size(); ++i) {
    if (net.tensors()->Get(static_cast<flatbuffers::uoffset_t>(i))->is_constant()) {
      return static_cast<int>(i);
    }
  }
  FAIL("the plan has no constant");
  return -1;
}

std::vector<BadPlan> BadPlans() {
  std::vector<BadPlan> bad;
  bad.push_back({"unknown_objective.plan",
                 [](PlanEditor& e) {
                   const flatbuffers::String* o = e.net().objective();
                   REQUIRE(o != nullptr);
                   REQUIRE(o->size() > 0);
                   e.Write<char>(o->c_str() + o->size() - 1, 'z');
                 },
                 "unknown objective '"});
  bad.push_back({"duplicate_tensor_names.plan",
                 [](PlanEditor& e) {
                   // Point a later tensor's name at an earlier tensor's name
                   // (names are stored after the tables that refer to them).
                   const auto& tensors = *e.net().tensors();
                   for (size_t j = 1; j < tensors.size(); ++j) {
                     for (size_t i = 0; i < j; ++i) {
                       const auto* ti = tensors.Get(static_cast<flatbuffers::uoffset_t>(i));
                       const auto* tj = tensors.Get(static_cast<flatbuffers::uoffset_t>(j));
                       if (reinterpret_cast<const uint8_t*>(ti->name()) >
                           reinterpret_cast<const uint8_t*>(tj) + 64) {
                         e.PointStringField(tj, fb::Tensor::VT_NAME, ti->name());
                         REQUIRE(tj->name()->str() == ti->name()->str());
                         return;
                       }
                     }
                   }
                   FAIL("no tensor pair to rename");
                 },
                 "has the name of tensor #"});
  bad.push_back({"constant_as_input.plan",
                 [](PlanEditor& e) {
                   e.Write<int32_t>(e.net().inputs()->Data(), FirstConstant(e.net()));
                 },
                 "engine input #0 is constant '"});
  bad.push_back({"matmul_repeat_int32_max.plan",
                 [](PlanEditor& e) {
                   const size_t i = e.Find(hw::Opcode::kMatmul);
                   e.WriteInstruction<uint32_t>(i, kInstrRepeat, 0x7fffffffu);
                   REQUIRE(e.instruction(i).repeat() == 0x7fffffffu);
                 },
                 "MATMUL of 2147483647 x "});
  bad.push_back({"matmul_repeat_int32_max_in_tile.plan",
                 [](PlanEditor& e) {
                   // The layer's group tile grows with it: only the program's
                   // expanded-instruction limit is left to refuse it.
                   const size_t i = e.Find(hw::Opcode::kMatmul);
                   e.WriteInstruction<uint32_t>(i, kInstrRepeat, 0x7fffffffu);
                   const fb::Layer* layer = e.net().layers()->Get(e.instruction(i).layer());
                   e.WriteField<int64_t>(layer->mapping(), fb::LayerMapping::VT_TILE_G, 0x7fffffff);
                   REQUIRE(layer->mapping()->tile_g() == 0x7fffffff);
                 },
                 absl::StrCat("expands to more than ", hw::kMaxExpandedInstructions,
                              " instructions")});
  bad.push_back({"program_serial_cycles.plan",
                 [](PlanEditor& e) {
                   // A load of 2^55 bytes: within the overflow bound (2^58),
                   // but 2^51 cycles at the edge preset's 16 bytes per cycle.
                   const size_t i = e.Find(hw::Opcode::kLoadInput);
                   e.WriteInstruction<uint64_t>(i, kInstrBytes, uint64_t{1} << 55);
                   REQUIRE(e.instruction(i).bytes() == uint64_t{1} << 55);
                 },
                 absl::StrCat("take more than ", hw::kMaxSerialCycles, " cycles")});
  bad.push_back({"load_input_dram_offset_near_2p64.plan",
                 [](PlanEditor& e) {
                   // The CI fuzz stage (plan_loader_fuzzer): a LOAD_INPUT of
                   // an engine input at DRAM offset 2^64 - 9. Its extent
                   // (offset + bytes) became the engine input's compulsory
                   // bytes, and the physical limit's bytes / bandwidth a
                   // double past int64 (UBSan float-cast-overflow in the
                   // device model); the simulator bounds the extent now.
                   const auto& inputs = *e.net().inputs();
                   for (size_t i = 0; i < e.net().program()->size(); ++i) {
                     const fb::Instruction& in = e.instruction(i);
                     if (in.opcode() != static_cast<uint8_t>(hw::Opcode::kLoadInput) ||
                         std::find(inputs.begin(), inputs.end(), in.tensor()) == inputs.end()) {
                       continue;
                     }
                     e.WriteInstruction<uint64_t>(i, kInstrDramOffset, ~uint64_t{0} - 8);
                     REQUIRE(e.instruction(i).dram_offset() == ~uint64_t{0} - 8);
                     return;
                   }
                   FAIL("no LOAD_INPUT of an engine input");
                 },
                 "its sizes are out of range"});
  bad.push_back({"instruction_unknown_dataflow.plan",
                 [](PlanEditor& e) {
                   const size_t i = e.Find(hw::Opcode::kMatmul);
                   e.WriteInstruction<uint8_t>(i, kInstrDataflow, 3);
                   REQUIRE(e.instruction(i).dataflow() == 3);
                 },
                 ", dataflow 3, "});
  bad.push_back({"instruction_depends_on_itself.plan",
                 [](PlanEditor& e) {
                   const size_t i = e.Find(hw::Opcode::kMatmul);
                   e.WriteInstruction<int32_t>(i, kInstrDep0, static_cast<int32_t>(i));
                   REQUIRE(e.instruction(i).dep0() == static_cast<int32_t>(i));
                 },
                 "not an earlier one"});
  bad.push_back({"instruction_tensor_out_of_range.plan",
                 [](PlanEditor& e) {
                   const size_t i = e.Find(hw::Opcode::kLoadInput);
                   e.WriteInstruction<int32_t>(i, kInstrTensor, 1 << 30);
                   REQUIRE(e.instruction(i).tensor() == 1 << 30);
                 },
                 "is invalid: tensor 1073741824 of "});
  bad.push_back({"instruction_outside_its_layer.plan",
                 [](PlanEditor& e) {
                   // The first instruction claims the last layer.
                   const uint32_t last = e.net().layers()->size() - 1;
                   REQUIRE(e.instruction(0).layer() != last);
                   e.WriteInstruction<uint32_t>(0, kInstrLayer, last);
                   REQUIRE(e.instruction(0).layer() == last);
                 },
                 "lies outside that layer's instructions"});
  bad.push_back({"layer_instructions_overlap.plan",
                 [](PlanEditor& e) {
                   // A later layer's instruction range moved onto an earlier one's.
                   const auto& layers = *e.net().layers();
                   for (uint32_t b = 1; b < layers.size(); ++b) {
                     const fb::LayerMapping* mb = layers.Get(b)->mapping();
                     if (mb->num_instructions() == 0 || mb->first_instruction() == 0) continue;
                     for (uint32_t a = 0; a < b; ++a) {
                       const fb::LayerMapping* ma = layers.Get(a)->mapping();
                       if (ma->num_instructions() == 0) continue;
                       e.WriteField<uint32_t>(mb, fb::LayerMapping::VT_FIRST_INSTRUCTION,
                                              ma->first_instruction());
                       return;
                     }
                   }
                   FAIL("no two layers with instructions");
                 },
                 "overlap those of layer #"});
  bad.push_back({"mapping_unknown_unit.plan",
                 [](PlanEditor& e) {
                   for (const fb::Layer* l : *e.net().layers()) {
                     if (l->mapping()->kind() != 0) {
                       e.WriteField<uint8_t>(l->mapping(), fb::LayerMapping::VT_KIND, 9);
                       return;
                     }
                   }
                   FAIL("no layer with a device unit");
                 },
                 "invalid accelerator mapping (unit 9, "});
  bad.push_back({"tensor_unknown_dtype.plan",
                 [](PlanEditor& e) {
                   const fb::Tensor* t = e.net().tensors()->Get(0);
                   e.WriteField<int32_t>(t, fb::Tensor::VT_DTYPE, 8);  // STRING
                 },
                 "has unknown dtype 8"});
  return bad;
}

std::filesystem::path RegressionPath(const std::string& name) {
  return std::filesystem::path(ENGINE_SOURCE_DIR) / "tests" / "data" / "fuzz_regressions" /
         "plan" / name;
}

}  // namespace

TEST_CASE("Enum code helpers accept every enumerator and nothing else", "[executor][plan]") {
  for (Dataflow d : {Dataflow::kWeightStationary, Dataflow::kOutputStationary,
                     Dataflow::kInputStationary}) {
    CHECK(DataflowFromCode(static_cast<int>(d)) == d);
  }
  for (int64_t bad : {-1, 3, 255, 256, 1 << 20}) CHECK_FALSE(DataflowFromCode(bad));
  for (Precision p : {Precision::kInt8, Precision::kFp16, Precision::kFp32, Precision::kBf16}) {
    CHECK(PrecisionFromCode(static_cast<int>(p)) == p);
  }
  for (int64_t bad : {-1, 4, 255, 258}) CHECK_FALSE(PrecisionFromCode(bad));
  for (int code = 0; code <= 5; ++code) {
    REQUIRE(hw::OpcodeFromCode(code));
    CHECK(static_cast<int>(*hw::OpcodeFromCode(code)) == code);
  }
  for (int64_t bad : {-1, 6, 255, 256 + 2}) CHECK_FALSE(hw::OpcodeFromCode(bad));
  for (int code = 0; code <= 4; ++code) REQUIRE(hw::LayerKindFromCode(code));  // 4: composite
  for (int64_t bad : {-1, 5, 257}) CHECK_FALSE(hw::LayerKindFromCode(bad));
  for (DataType t : {DataType::kUndefined, DataType::kFloat32, DataType::kUint8, DataType::kInt8,
                     DataType::kInt32, DataType::kInt64, DataType::kBool, DataType::kFloat16,
                     DataType::kFloat64, DataType::kBFloat16, DataType::kUint16,
                     DataType::kInt16, DataType::kUint32, DataType::kUint64}) {
    CHECK(DataTypeFromCode(static_cast<int>(t)) == t);
  }
  for (int64_t bad : {int64_t{-1}, int64_t{8}, int64_t{14}, int64_t{15}, int64_t{17}, int64_t{1} << 32 | 1}) CHECK_FALSE(DataTypeFromCode(bad));
  for (Objective o : {Objective::kLatency, Objective::kEnergy, Objective::kEdp}) {
    CHECK(ObjectiveFromName(ObjectiveName(o)) == o);
  }
  for (const char* bad : {"", "Latency", "latency ", "throughput"}) {
    CHECK_FALSE(ObjectiveFromName(bad));
  }
}

TEST_CASE("Each bad plan is refused with its specific error despite a valid checksum",
          "[executor][plan]") {
  REQUIRE(Load(SmallPlan()).ok());
  for (const BadPlan& b : BadPlans()) {
    INFO(b.name);
    PlanEditor e(SmallPlan());
    b.edit(e);
    // The stale checksum is caught first; with it fixed, the specific check.
    absl::Status stale = Load(e.Stale());
    CHECK(stale.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(stale.message(), "checksum mismatch"));
    absl::Status s = Load(e.Fixed());
    INFO(s.ToString());
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StartsWith(s.message(), "plan is corrupt: "));
    CHECK(absl::StrContains(s.message(), b.message));
  }
}

TEST_CASE("The kept regression plans get the same specific errors", "[executor][plan][fuzz]") {
  // The files are the edits above with their stale checksum, as the fuzz
  // target meets them: it recomputes the checksum, and so does this test.
  for (const BadPlan& b : BadPlans()) {
    INFO(b.name);
    std::ifstream in(RegressionPath(b.name), std::ios::binary);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    PlanEditor e(ss.str());
    absl::Status s = Load(e.Fixed());
    INFO(s.ToString());
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(s.message(), b.message));
  }
}

TEST_CASE("A load or STORE naming a tensor that is not its layer's is refused", "[executor][plan]") {
  // The first STORE writes its layer's output and the first LOAD_INPUT reads
  // its layer's input; swapping in the other's tensor keeps it in range.
  PlanEditor probe(SmallPlan());
  const size_t store = probe.Find(hw::Opcode::kStore);
  const size_t load = probe.Find(hw::Opcode::kLoadInput);
  REQUIRE(probe.instruction(store).layer() == probe.instruction(load).layer());
  const int32_t output = probe.instruction(store).tensor();
  const int32_t input = probe.instruction(load).tensor();
  REQUIRE(output >= 0);
  REQUIRE(input >= 0);
  REQUIRE(output != input);
  SECTION("a STORE to the layer's input") {
    PlanEditor e(SmallPlan());
    e.WriteInstruction<int32_t>(store, kInstrTensor, input);
    REQUIRE(e.instruction(store).tensor() == input);
    absl::Status s = Load(e.Fixed());
    INFO(s.ToString());
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(s.message(), "', not an output of its layer"));
  }
  SECTION("a load of the layer's output") {
    PlanEditor e(SmallPlan());
    e.WriteInstruction<int32_t>(load, kInstrTensor, output);
    REQUIRE(e.instruction(load).tensor() == output);
    absl::Status s = Load(e.Fixed());
    INFO(s.ToString());
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(s.message(), "', not an input of its layer"));
  }
}

TEST_CASE("Data appended to a plan is refused, a plan of 2 GiB or more before it is read",
          "[executor][plan]") {
  const std::string& plan = SmallPlan();
  SECTION("trailing zeros") {
    absl::Status s = Load(plan + std::string(4096, '\0'));
    INFO(s.ToString());
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(s.message(), "4096 bytes follow the payload"));
    // Alignment padding is not appended data.
    CHECK(Load(plan + std::string(8, '\0')).ok());
  }
  SECTION("3 GiB: a valid plan followed by zeros (untouched pages cost no memory)") {
    const size_t size = size_t{3} << 30;
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(p != MAP_FAILED);
    std::memcpy(p, plan.data(), plan.size());
    absl::Status s = Load(std::string_view(static_cast<const char*>(p), size));
    munmap(p, size);
    INFO(s.ToString());
    CHECK(s.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(s.message(), "more than a plan can hold"));
  }
}

TEST_CASE("A plan asking for more activation memory than the runtime allows is refused at load",
          "[executor][plan]") {
  // Found by the fuzz stage: a plan declaring a LayerNormalization over a
  // 400 GB tensor made its kernel's Prepare allocate an index table of that
  // size at load. The load limit bounds every activation tensor and the
  // arena before any kernel is prepared.
  const std::string& plan = SmallPlan();
  StderrLogger quiet(Severity::kError);
  auto engine = Runtime::DeserializeEngine(plan, &quiet);
  REQUIRE(engine.ok());
  int64_t largest = 0;
  for (const auto& d : (*engine)->inputs()) {
    int64_t n = DataTypeSize(d.dtype);
    for (int64_t dim : d.shape) n *= dim;
    largest = std::max(largest, n);
  }
  const int64_t arena = (*engine)->memory_plan().arena_bytes;
  REQUIRE(largest > 0);
  REQUIRE(arena >= largest);
  RuntimeOptions options;
  options.logger = &quiet;
  options.max_activation_bytes = largest - 1;
  absl::Status s = Runtime::DeserializeEngine(plan, options).status();
  INFO(s.ToString());
  CHECK(s.code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(s.message(), "RuntimeOptions::max_activation_bytes"));
  CHECK(absl::StrContains(s.message(), "tensor #"));
  options.max_activation_bytes = arena;
  CHECK(Runtime::DeserializeEngine(plan, options).ok());
}

TEST_CASE("Write the crafted bad plans to tests/data/fuzz_regressions/plan",
          "[.write_regressions]") {
  for (const BadPlan& b : BadPlans()) {
    PlanEditor e(SmallPlan());
    b.edit(e);
    std::ofstream out(RegressionPath(b.name), std::ios::binary | std::ios::trunc);
    out << e.Stale();
    REQUIRE(out.good());
  }
}
