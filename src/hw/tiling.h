// The analytical cost model: tile geometry, buffer needs, and the estimated
// cycles, DRAM traffic and energy of a tiled mapping, computed from the same
// per-instruction costs the simulator uses (instruction_cost.h). Code
// generation ranks candidate mappings with it and then simulates the best
// few exactly (as TensorRT times its best tactics).
//
// Loop nest of an array layer (outermost first): group tiles, then M and P
// tiles in `order`, then K tiles innermost, so each output tile is finished
// in the accumulator and stored once. An operand tile is loaded again
// whenever its tile index changes between consecutive iterations: with
// order M,P,K the weights of an M tile stay on chip across all P tiles when K
// fits in one tile; with P,M,K the input tile stays across all M tiles.
#ifndef ENGINE_HW_TILING_H_
#define ENGINE_HW_TILING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/hardware.h"
#include "absl/status/status.h"
#include "hw/instruction_cost.h"
#include "hw/workload.h"

namespace engine::hw {

enum class LoopOrder : uint8_t {
  kMPK = 0,  ///< M tiles outer: weights reused across P tiles
  kPMK = 1,  ///< P tiles outer: inputs reused across M tiles
};
const char* LoopOrderName(LoopOrder order);  ///< "m,p,k" / "p,m,k"

/// A tiled mapping of a GemmWorkload: tile sizes in elements.
struct ArrayTiling {
  Dataflow dataflow = Dataflow::kWeightStationary;
  LoopOrder order = LoopOrder::kMPK;
  int64_t gt = 1;  ///< groups per tile (only when one tile covers a whole group)
  int64_t kt = 1;  ///< K per tile (whole input channels for convolutions)
  int64_t mt = 1;  ///< M (filters) per tile
  int64_t pt = 1;  ///< output pixels per tile, within one image

  std::string ToString() const;  ///< e.g. "ws m,p,k g1 k288 m64 p196"
};

/// One extent split into tiles: `count` tiles of `size` and, if the extent
/// is not a multiple, one more of `rem`.
struct Split {
  int64_t size = 0, count = 0, rem = 0;
  int64_t Tiles() const { return count + (rem > 0 ? 1 : 0); }
};
Split SplitExtent(int64_t extent, int64_t tile);

/// Bytes of the input window a K tile of `kt` by a P tile of `pt` output
/// pixels needs (rows of the input plane for convolutions, capped at the
/// im2col size kt * pt * e).
int64_t InputTileBytes(const GemmWorkload& w, int64_t kt, int64_t pt);
/// Bytes of a kt x mt weight tile.
int64_t WeightTileBytes(const GemmWorkload& w, int64_t kt, int64_t mt);
/// Bytes of an mt x pt accumulator tile (4-byte partial sums).
int64_t AccTileBytes(int64_t mt, int64_t pt);

/// On-chip space a tiling needs. Buffers are double-buffered (two slots)
/// unless the whole layer is one tile.
struct BufferNeeds {
  int64_t input_slot = 0;   ///< bytes per input slot (gt groups)
  int64_t weight_slot = 0;  ///< bytes per weight slot (gt groups, with bias)
  int64_t acc_slot = 0;     ///< bytes per accumulator slot
  int64_t residual_slot = 0;  ///< bytes per fused-residual slot (scratchpad)
  int slots = 2;            ///< 1 or 2
  int64_t scratchpad = 0;   ///< total scratchpad bytes (inputs, + weights without a weight buffer)
  int64_t weight_buffer = 0;
  int64_t accumulator = 0;
};
BufferNeeds ArrayBufferNeeds(const HardwareConfig& hw, const GemmWorkload& w, const ArrayTiling& t);
/// Whether the needs fit the hardware's buffers (always true with ideal memory).
bool Fits(const HardwareConfig& hw, const BufferNeeds& needs);
/// "scratchpad 300 KiB > 256 KiB, accumulator ..." for error messages.
std::string DescribeNeeds(const HardwareConfig& hw, const BufferNeeds& needs);

/// Estimated figures of a mapping.
struct Estimate {
  int64_t cycles = 0;          ///< estimated layer cycles
  int64_t compute_cycles = 0;  ///< busy cycles of the layer's main unit
  int64_t instructions = 0;
  InstructionCost totals;      ///< summed instruction costs (bytes, MACs, energy)
};

/// Estimate of an array mapping: exact compute cycles, DRAM bytes and
/// energy; cycles = max(array, DMA) + the first tile's load and the last
/// tile's store (double-buffering overlaps the rest).
Estimate EstimateArray(const HardwareConfig& hw, const GemmWorkload& w, const ArrayTiling& t);

/// A tiling of a VectorWorkload: output elements per tile.
struct VectorTiling {
  int64_t tile_elements = 1;
  /// 0: every tile is loaded, computed and stored whole. > 0 (only for a
  /// workload with stats_ops_per_element > 0, and then tile_elements is one
  /// tile unit): each tile is streamed through the scratchpad in chunks of
  /// this many elements, twice (statistics pass, then output pass).
  int64_t chunk_elements = 0;

  bool streamed() const { return chunk_elements > 0; }
};
/// Scratchpad bytes of one tile (inputs + output; of one chunk when
/// streamed) and in total (x2 slots when there is more than one tile or
/// chunk).
BufferNeeds VectorBufferNeeds(const HardwareConfig& hw, const VectorWorkload& w,
                              const VectorTiling& t);
/// The largest tile that fits (whole multiples of tile_unit). When even one
/// unit does not fit and the workload may be streamed
/// (stats_ops_per_element > 0): one unit per tile, streamed in the largest
/// chunk that fits. tile_elements 0 when nothing fits.
VectorTiling ChooseVectorTiling(const HardwareConfig& hw, const VectorWorkload& w);
/// Estimate of a vector mapping; a streamed tiling loads its inputs twice
/// (two passes) and stores its output once.
Estimate EstimateVector(const HardwareConfig& hw, const VectorWorkload& w, const VectorTiling& t);

/// Upper bounds of the instructions LowerArrayLayer / LowerVectorLayer emit
/// for a mapping, computed from the tile counts without lowering (saturating
/// at 2^62, never overflowing): per (group, M, image, P) tile at most three
/// per K tile (weight load, input load, MATMUL) and three per output tile
/// (residual load, epilogue, store); per vector tile one load per input, one
/// VECTOR and one STORE (per streamed chunk two loads per input, two VECTORs
/// and one STORE); plus the layer's SYNC. The mapper compares them with
/// the program's instruction budget before it lowers anything, so a layer
/// with a 10^12-element output is refused before its instruction list grows.
int64_t ArrayInstructionBound(const GemmWorkload& w, const ArrayTiling& t);
int64_t VectorInstructionBound(const VectorWorkload& w, const VectorTiling& t);

/// Checks a workload before any mapping arithmetic: an array workload has
/// every extent >= 1 (groups, K, M, P, batch, input and output sizes, kernel,
/// strides, dilations) and P = batch * out_h * out_w; a vector or DMA
/// workload has out_elements >= 0, tile_unit >= 1 and no negative byte
/// count. codegen::DescribeLayer turns zero-extent products into layers
/// without array work first, so a failure is a bug of the layer's
/// description: Internal naming the layer, the field and its value.
absl::Status ValidateWorkload(const LayerWorkload& w);

/// Bytes an operand of `bytes` contributes to a tile of `tile_elements` of
/// `out_elements` output elements (proportional, at least 1 byte, at most all).
int64_t ProportionalBytes(int64_t bytes, int64_t tile_elements, int64_t out_elements);

}  // namespace engine::hw

#endif  // ENGINE_HW_TILING_H_
