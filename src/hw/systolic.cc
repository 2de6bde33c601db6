#include "hw/systolic.h"
#include "hw/int_math.h"

namespace engine::hw {
namespace {
}  // namespace

FoldPlan MapGemm(int rows, int cols, Dataflow dataflow, int64_t k, int64_t m, int64_t p) {
  FoldPlan f;
  const int64_t r = rows;
  const int64_t c = cols;
  switch (dataflow) {
    case Dataflow::kWeightStationary:
      f.sr = k, f.sc = m, f.t = p;
      f.cycles_per_fold = 2 * r + c + f.t - 2;
      break;
    case Dataflow::kInputStationary:
      f.sr = k, f.sc = p, f.t = m;
      f.cycles_per_fold = 2 * r + c + f.t - 2;
      break;
    case Dataflow::kOutputStationary:
      f.sr = p, f.sc = m, f.t = k;
      f.cycles_per_fold = r + c + f.t - 2;
      break;
  }
  f.row_folds = CeilDiv(f.sr, r);
  f.col_folds = CeilDiv(f.sc, c);
  f.folds = f.row_folds * f.col_folds;
  return f;
}

}  // namespace engine::hw
