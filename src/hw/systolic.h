// Stall-free timing of a matrix product on an R x C systolic array.
//
// A layer is mapped as G independent products of a K x M weight matrix with a
// K x P input matrix (K = R_f * S_f * C_in/G window size, M filters per group,
// P output pixels). The dataflow decides which dimension is mapped on the
// array's rows (Sr), which on its columns (Sc) and which streams through (T)
// (SCALE-Sim v2, Samajdar et al., ISPASS 2020; scalesim-project/scale-sim-v2,
// compute/systolic_compute_{ws,os,is}.py; docs/accelerator_model.md, "Compute timing"):
//
//   dataflow | Sr | Sc | T | cycles per fold
//   ws       | K  | M  | P | 2R + C + T - 2
//   is       | K  | P  | M | 2R + C + T - 2
//   os       | P  | M  | K |  R + C + T - 2
//
// folds = ceil(Sr / R) * ceil(Sc / C); a partial fold occupies the full array.
// SCALE-Sim reports folds * cycles_per_fold - 1 (the index of the last cycle);
// the engine counts durations, folds * cycles_per_fold, one more.
#ifndef ENGINE_HW_SYSTOLIC_H_
#define ENGINE_HW_SYSTOLIC_H_

#include <cstdint>

#include "engine/hardware.h"

namespace engine::hw {

/// The fold structure of one K x M by K x P product on an R x C array.
struct FoldPlan {
  int64_t sr = 0;               ///< extent mapped on the rows
  int64_t sc = 0;               ///< extent mapped on the columns
  int64_t t = 0;                ///< extent streamed through the array
  int64_t row_folds = 0;        ///< ceil(sr / R)
  int64_t col_folds = 0;        ///< ceil(sc / C)
  int64_t folds = 0;            ///< row_folds * col_folds
  int64_t cycles_per_fold = 0;  ///< per the table above, cycles

  /// Cycles the array is busy: folds * cycles_per_fold.
  int64_t Cycles() const { return folds * cycles_per_fold; }
  /// SCALE-Sim's reported total (last cycle index): Cycles() - 1.
  int64_t ScaleSimCycles() const { return Cycles() - 1; }
  /// PE slots holding useful work summed over folds (sr * sc), and all PE
  /// slots occupied (folds * R * C): their ratio is SCALE-Sim's mapping
  /// efficiency.
  int64_t UsedPeSlots() const { return sr * sc; }
};

/// Maps a K x M (weights) by K x P (inputs) product onto `rows` x `cols`.
/// Requires k, m, p, rows, cols >= 1.
FoldPlan MapGemm(int rows, int cols, Dataflow dataflow, int64_t k, int64_t m, int64_t p);

/// SCALE-Sim's stall-free total cycles of the product (folds * cycles per
/// fold - 1), e.g. 112283 for AlexNet conv1 (K = 363, M = 96, P = 3025) on a
/// 32 x 32 weight-stationary array.
inline int64_t ScaleSimStallFreeCycles(int rows, int cols, Dataflow dataflow, int64_t k,
                                       int64_t m, int64_t p) {
  return MapGemm(rows, cols, dataflow, k, m, p).ScaleSimCycles();
}

/// Output extent of a convolution without padding, as SCALE-Sim computes it:
/// ceil((in - kernel + stride) / stride).
inline int64_t ScaleSimOutputSize(int64_t in, int64_t kernel, int64_t stride) {
  return (in - kernel + stride + stride - 1) / stride;
}

}  // namespace engine::hw

#endif  // ENGINE_HW_SYSTOLIC_H_
