// Zero extents and instruction bounds in the cost model and code generation
// (issue 16): no division by a zero extent can trap, malformed workloads are
// Internal errors before any mapping arithmetic, zero-extent layers do no
// array work, and the instruction bounds the mapper budgets with are upper
// bounds of what lowering emits.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "codegen/lowering.h"
#include "codegen/mapper.h"
#include "codegen/workload.h"
#include "hw/int_math.h"
#include "hw/tiling.h"

namespace engine::codegen {
namespace {

HardwareConfig Preset(const char* spec) {
  auto hw = ParseHardwareSpec(spec);
  REQUIRE(hw.ok());
  return *hw;
}

hw::GemmWorkload Fc(int64_t k, int64_t m, int64_t p) {
  hw::GemmWorkload g;
  g.k = k, g.m = m, g.p = p;
  g.out_w = p;
  g.input_tensor = 0, g.weight_tensor = 1, g.output_tensor = 2;
  g.input_bytes = k * p * 4, g.weight_bytes = k * m * 4, g.output_bytes = m * p * 4;
  return g;
}

hw::LayerWorkload Array(const hw::GemmWorkload& g) {
  return hw::LayerWorkload{"mm", "MatMul", hw::LayerKind::kArray, g, {}, false};
}

TEST_CASE("CeilDiv and friends never trap", "[codegen][hostile]") {
  STATIC_REQUIRE(hw::CeilDiv(7, 2) == 4);
  STATIC_REQUIRE(hw::CeilDiv(8, 2) == 4);
  STATIC_REQUIRE(hw::CeilDiv(0, 3) == 0);
  STATIC_REQUIRE(hw::CeilDiv(5, 0) == 0);
  STATIC_REQUIRE(hw::CeilDiv(INT64_MAX, 1) == INT64_MAX);  // no a + b - 1 overflow
  STATIC_REQUIRE(hw::CeilDiv(INT64_MAX, 2) == INT64_MAX / 2 + 1);
  STATIC_REQUIRE(hw::FloorDiv(7, 0) == 0);
  STATIC_REQUIRE(hw::RoundUp(65, 64) == 128);
  STATIC_REQUIRE(hw::RoundUp(65, 0) == 0);
}

TEST_CASE("A workload with a zero extent is an Internal error, not SIGFPE", "[codegen][hostile]") {
  const HardwareConfig hw = Preset("edge");
  for (int field = 0; field < 4; ++field) {
    hw::GemmWorkload g = Fc(16, 16, 16);
    int64_t* f[] = {&g.k, &g.m, &g.p, &g.groups};
    *f[field] = 0;
    auto m = ChooseMapping(hw, Array(g), Objective::kLatency);
    INFO(m.status().ToString());
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().code() == absl::StatusCode::kInternal);
    CHECK(absl::StrContains(m.status().message(), "layer 'mm' (MatMul)"));
    CHECK(absl::StrContains(m.status().message(), "must be"));
  }
  hw::GemmWorkload g = Fc(16, 16, 16);
  g.p = 15;  // inconsistent with batch * out_h * out_w
  CHECK(ChooseMapping(hw, Array(g), Objective::kLatency).status().code() ==
        absl::StatusCode::kInternal);
}

TEST_CASE("Zero-extent products do no array work", "[codegen][hostile]") {
  const HardwareConfig hw = Preset("gemmini");
  // [3,0] x [0,5]: the output is written (zeros or the bias) by the vector unit.
  hw::LayerWorkload empty_k = Array(Fc(0, 5, 3));
  ResolveZeroExtents(empty_k);
  REQUIRE(empty_k.kind == hw::LayerKind::kVector);
  CHECK(empty_k.vector.out_elements == 15);
  CHECK(empty_k.vector.OutputBytes() == 60);
  CHECK(empty_k.vector.inputs.empty());
  auto m = ChooseMapping(hw, empty_k, Objective::kLatency);
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  CHECK_FALSE(m->on_array);
  hw::Program program;
  LowerLayer(hw, empty_k, *m, 0, program);
  for (const hw::Instruction& in : program) CHECK(in.opcode != hw::Opcode::kMatmul);
  // An empty output: no device work at all.
  for (const hw::GemmWorkload& g : {Fc(4, 0, 3), Fc(4, 5, 0), Fc(0, 0, 0)}) {
    hw::LayerWorkload w = Array(g);
    ResolveZeroExtents(w);
    CHECK(w.kind == hw::LayerKind::kView);
  }
  // A non-empty product is left alone.
  hw::LayerWorkload full = Array(Fc(4, 5, 3));
  ResolveZeroExtents(full);
  CHECK(full.kind == hw::LayerKind::kArray);
}

TEST_CASE("Instruction bounds hold for what lowering emits", "[codegen][hostile]") {
  for (const char* spec : {"gemmini", "edge"}) {
    const HardwareConfig hw = Preset(spec);
    for (const hw::GemmWorkload& g : {Fc(256, 256, 16), Fc(1000, 37, 300), Fc(3, 3, 3)}) {
      for (int64_t kt : {1, 7, 64, 256}) {
        for (int64_t mt : {1, 16, 256}) {
          for (hw::LoopOrder order : {hw::LoopOrder::kMPK, hw::LoopOrder::kPMK}) {
            const hw::ArrayTiling t{Dataflow::kWeightStationary, order, 1, std::min(kt, g.k),
                                    std::min(mt, g.m), std::min<int64_t>(16, g.p)};
            hw::Program program;
            LowerArrayLayer(hw, g, t, 0, program);
            CHECK(static_cast<int64_t>(program.size()) <= hw::ArrayInstructionBound(g, t));
          }
        }
      }
    }
    hw::VectorWorkload v;
    v.inputs = {{0, 4000}, {1, 4000}};
    v.outputs = {{2, 4000}};
    v.out_elements = 1000, v.ops_per_element = 1;
    for (int64_t tile : {1, 7, 100, 1000}) {
      hw::Program program;
      LowerVectorLayer(hw, v, {tile}, 0, program);
      CHECK(static_cast<int64_t>(program.size()) <= hw::VectorInstructionBound(v, {tile}));
    }
  }
  // Saturating, never overflowing, for a 10^12-element layer.
  const hw::GemmWorkload huge = Fc(1, 1000000, 1000000);
  const hw::ArrayTiling one{Dataflow::kWeightStationary, hw::LoopOrder::kMPK, 1, 1, 1, 1};
  CHECK(hw::ArrayInstructionBound(huge, one) == 6 * int64_t{1000000000000} + 1);
  hw::GemmWorkload beyond;
  beyond.k = 1, beyond.m = beyond.p = beyond.out_w = int64_t{1} << 40;
  CHECK(hw::ArrayInstructionBound(beyond, one) == int64_t{1} << 62);
}

TEST_CASE("The mapper refuses a layer above its instruction budget before lowering it",
          "[codegen][hostile]") {
  const HardwareConfig hw = Preset("edge");
  auto ok = ChooseMapping(hw, Array(Fc(256, 256, 256)), Objective::kLatency, 1 << 20);
  REQUIRE(ok.ok());
  auto refused = ChooseMapping(hw, Array(Fc(256, 256, 256)), Objective::kLatency, 2);
  INFO(refused.status().ToString());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(refused.status().message(), "layer 'mm' (MatMul)"));
  CHECK(absl::StrContains(refused.status().message(), "above the 2 the program has left"));
}

}  // namespace
}  // namespace engine::codegen
