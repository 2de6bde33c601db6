// The one integer division helper of the cost model and code generation.
//
// Every division by an extent or a tile size in src/hw and src/codegen goes
// through these, so a zero extent (a MatMul [3,0]x[0,5], a Conv with 0 input
// channels) cannot trap with SIGFPE whatever path reaches it: a
// non-positive divisor gives 0 ("no tiles"). Callers still validate their
// workloads (hw::ValidateWorkload) so that a zero never reaches them
// silently; this is the floor under that check, not a substitute for it.
#ifndef ENGINE_HW_INT_MATH_H_
#define ENGINE_HW_INT_MATH_H_

#include <cstdint>

namespace engine::hw {

/// ceil(a / b) for a >= 0, b > 0, without forming a + b - 1 (no overflow
/// near INT64_MAX); 0 when a <= 0 or b <= 0.
constexpr int64_t CeilDiv(int64_t a, int64_t b) {
  if (a <= 0 || b <= 0) return 0;
  return a / b + (a % b != 0 ? 1 : 0);
}

/// floor(a / b) for b > 0; 0 when b <= 0.
constexpr int64_t FloorDiv(int64_t a, int64_t b) { return b > 0 ? a / b : 0; }

/// x rounded up to a multiple of a (a > 0); 0 when a <= 0 or x <= 0.
constexpr int64_t RoundUp(int64_t x, int64_t a) { return CeilDiv(x, a) * a; }

}  // namespace engine::hw

#endif  // ENGINE_HW_INT_MATH_H_
