// SCALE-Sim's stall-free timing (docs/accelerator_model.md, "Compute timing"): fold counts, cycles
// per fold, totals, utilization and mapping efficiency.
#include <catch2/catch.hpp>

#include "hw/systolic.h"

namespace engine::hw {
namespace {

constexpr auto kWs = Dataflow::kWeightStationary;
constexpr auto kOs = Dataflow::kOutputStationary;
constexpr auto kIs = Dataflow::kInputStationary;

TEST_CASE("AlexNet conv1 on a 32x32 weight-stationary array matches SCALE-Sim's golden output",
          "[hw]") {
  // 224x224x3 input, 11x11 kernel, stride 4, 96 filters; SCALE-Sim's output
  // size ceil((224 - 11 + 4) / 4) = 55.
  const int64_t out = ScaleSimOutputSize(224, 11, 4);
  REQUIRE(out == 55);
  const int64_t k = 11 * 11 * 3, m = 96, p = out * out;
  const FoldPlan f = MapGemm(32, 32, kWs, k, m, p);
  CHECK(f.row_folds == 12);
  CHECK(f.col_folds == 3);
  CHECK(f.folds == 36);
  CHECK(f.cycles_per_fold == 3119);
  CHECK(f.ScaleSimCycles() == 112283);
  CHECK(ScaleSimStallFreeCycles(32, 32, kWs, k, m, p) == 112283);
  // Overall utilization 91.68 %, mapping efficiency 94.53 % (SCALE-Sim CI).
  const double util = static_cast<double>(k * m * p) / (112283.0 * 32 * 32);
  CHECK(util == Approx(0.9168).margin(5e-5));
  const double mapping = static_cast<double>(f.UsedPeSlots()) / (f.folds * 32.0 * 32.0);
  CHECK(mapping == Approx(0.9453).margin(5e-5));
}

TEST_CASE("Stall-free cycles follow the per-dataflow table for several shapes", "[hw]") {
  struct Case {
    int rows, cols;
    Dataflow d;
    int64_t k, m, p;
    int64_t row_folds, col_folds, cycles_per_fold;
  };
  // Each expectation is worked out by hand from the table:
  //   ws: Sr=K Sc=M T=P, 2R+C+T-2;  is: Sr=K Sc=P T=M, 2R+C+T-2;
  //   os: Sr=P Sc=M T=K,  R+C+T-2.
  const Case cases[] = {
      // AlexNet conv1 on the other dataflows (32x32).
      {32, 32, kOs, 363, 96, 3025, 95, 3, 32 + 32 + 363 - 2},
      {32, 32, kIs, 363, 96, 3025, 12, 95, 64 + 32 + 96 - 2},
      // ResNet-50 layer-3 3x3 conv (K = 3*3*256, M = 256, P = 14*14) on 16x16 (Gemmini).
      {16, 16, kWs, 2304, 256, 196, 144, 16, 32 + 16 + 196 - 2},
      {16, 16, kOs, 2304, 256, 196, 13, 16, 16 + 16 + 2304 - 2},
      {16, 16, kIs, 2304, 256, 196, 144, 13, 32 + 16 + 256 - 2},
      // Partial folds on both sides of a non-square array (8 x 4).
      {8, 4, kWs, 9, 5, 10, 2, 2, 16 + 4 + 10 - 2},
      {8, 4, kOs, 9, 5, 10, 2, 2, 8 + 4 + 9 - 2},
      {8, 4, kIs, 9, 5, 10, 2, 3, 16 + 4 + 5 - 2},
      // A fully-connected layer: P = 1 (batch 1) on TPU v1's 256x256.
      {256, 256, kWs, 2048, 1000, 1, 8, 4, 512 + 256 + 1 - 2},
      // Everything fits in one fold.
      {32, 32, kWs, 27, 16, 1, 1, 1, 64 + 32 + 1 - 2},
  };
  for (const Case& c : cases) {
    CAPTURE(c.rows, c.cols, DataflowName(c.d), c.k, c.m, c.p);
    const FoldPlan f = MapGemm(c.rows, c.cols, c.d, c.k, c.m, c.p);
    CHECK(f.row_folds == c.row_folds);
    CHECK(f.col_folds == c.col_folds);
    CHECK(f.folds == c.row_folds * c.col_folds);
    CHECK(f.cycles_per_fold == c.cycles_per_fold);
    CHECK(f.Cycles() == c.row_folds * c.col_folds * c.cycles_per_fold);
    CHECK(f.ScaleSimCycles() == f.Cycles() - 1);
    // Mapping efficiency never exceeds 1 and is exactly 1 when the extents
    // are multiples of the array.
    const double eff = static_cast<double>(f.UsedPeSlots()) / (f.folds * c.rows * c.cols);
    CHECK(eff <= 1.0);
    CHECK(eff > 0.0);
  }
}

TEST_CASE("Output-stationary wins on deep reductions, weight-stationary on long streams", "[hw]") {
  // A 1x1 conv with many pixels: ws streams P once per fold.
  CHECK(MapGemm(32, 32, kWs, 64, 64, 3136).Cycles() < MapGemm(32, 32, kOs, 64, 64, 3136).Cycles());
  // FC layer (P = 1): os keeps the single output row, streams K.
  CHECK(MapGemm(32, 32, kOs, 4096, 32, 32).Cycles() <
        MapGemm(32, 32, kWs, 4096, 32, 32).Cycles());
}

}  // namespace
}  // namespace engine::hw
