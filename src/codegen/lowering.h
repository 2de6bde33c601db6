// Lowers one layer with a chosen mapping to accelerator instructions
// (hw/program.h): DMA loads into double-buffered halves of the scratchpad
// (and weight buffer), matrix-multiply tiles accumulating in the accumulator,
// vector operations, and stores, with explicit on-chip addresses and the
// dependencies that make double buffering safe.
#ifndef ENGINE_CODEGEN_LOWERING_H_
#define ENGINE_CODEGEN_LOWERING_H_

#include <cstdint>

#include "engine/hardware.h"
#include "hw/program.h"
#include "hw/tiling.h"
#include "hw/workload.h"

namespace engine::codegen {

/// Appends the instructions of an array layer (tiled as `t`, see the loop
/// nest in hw/tiling.h) to `program`, tagged with `layer`, followed by a
/// kSync. Dependency indices are absolute positions in `program`.
void LowerArrayLayer(const HardwareConfig& hw, const hw::GemmWorkload& w,
                     const hw::ArrayTiling& t, uint32_t layer, hw::Program& program);

/// Appends the instructions of a vector or DMA-only layer, tiled as `t`,
/// followed by a kSync. Per tile: one load per input, a VECTOR (compute
/// layers) and a STORE. A streamed tiling (t.chunk_elements > 0) runs each
/// tile as two passes over its chunks: loads and a statistics VECTOR per
/// chunk (nothing stored), then loads, the output VECTOR (depending on the
/// last statistics VECTOR) and a STORE per chunk.
void LowerVectorLayer(const HardwareConfig& hw, const hw::VectorWorkload& w,
                      const hw::VectorTiling& t, uint32_t layer, hw::Program& program);

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_LOWERING_H_
