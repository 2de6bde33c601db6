// What one engine layer asks of the accelerator, independent of the IR:
// code generation (src/codegen/workload.cc) describes each layer this way,
// the cost model (tiling.h) prices mappings of it, and lowering emits its
// instructions.
#ifndef ENGINE_HW_WORKLOAD_H_
#define ENGINE_HW_WORKLOAD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/hardware.h"

namespace engine::hw {

/// Which unit does a layer's work.
enum class LayerKind : uint8_t {
  kView = 0,    ///< no device work: the output aliases the input (Reshape, Flatten, ...)
  kArray = 1,   ///< matrix work on the systolic array (Conv, Gemm, MatMul)
  kVector = 2,  ///< the vector unit (activations, pooling, normalization, elementwise)
  kDma = 3,     ///< data movement only (Concat, Transpose, Slice, Pad, ...)
  /// A sequence of array / vector pieces run one after the other inside one
  /// layer (LayerWorkload::parts), e.g. the fused Attention: per head Q·Kᵀ on
  /// the array, the softmax on the vector unit, P·V on the array.
  kComposite = 4,
};
const char* LayerKindName(LayerKind kind);
/// The LayerKind whose numeric value is `code` (plans store it as a byte), or
/// nullopt when no enumerator has that value: the one range check of the
/// enum (-Wswitch flags the switch when a kind is added without its case).
constexpr std::optional<LayerKind> LayerKindFromCode(int64_t code) {
  if (code < 0 || code > 0xff) return std::nullopt;
  switch (static_cast<LayerKind>(code)) {
    case LayerKind::kView:
    case LayerKind::kArray:
    case LayerKind::kVector:
    case LayerKind::kDma:
    case LayerKind::kComposite:
      return static_cast<LayerKind>(code);
  }
  return std::nullopt;
}

/// A convolution or matrix product as `groups` independent products of a
/// K x M weight matrix by a K x P input matrix (im2col view: K = kernel_h *
/// kernel_w * C_in/groups, M = C_out/groups, P = batch * out_h * out_w).
/// Tensors are NCHW; weights [M*groups, K] row-major.
struct GemmWorkload {
  int64_t groups = 1;
  int64_t k = 0, m = 0, p = 0;
  /// Convolution geometry, used for the bytes of an input tile (a tile of
  /// output pixels needs a window of input rows, not its im2col expansion).
  /// A Gemm/MatMul is a 1x1 "convolution" with in_h = out_h = 1 and
  /// in_w = out_w = P / batch.
  bool conv = false;
  int64_t batch = 1;
  int64_t in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t bias_bytes = 0;  ///< per group, loaded with the first K tile of each M tile
  /// Fused epilogue run by the vector unit on each finished accumulator tile
  /// before it is stored: operations per output element (a fused activation,
  /// a residual add); 0 = none.
  double epilogue_ops_per_element = 0;
  /// Fused residual operand (same shape as the output), loaded per output
  /// tile; -1 = none.
  int32_t residual_tensor = -1;
  int64_t residual_bytes = 0;
  Precision precision = Precision::kFp32;
  /// DRAM operands (plan tensor indices) and their sizes in bytes.
  int32_t input_tensor = -1, weight_tensor = -1, output_tensor = -1;
  int64_t input_bytes = 0, weight_bytes = 0, output_bytes = 0;

  int64_t Macs() const { return groups * k * m * p; }
  int64_t PixelsPerImage() const { return out_h * out_w; }
};

/// A layer for the vector unit or the DMA engine: reads `inputs`, writes
/// every one of `outputs`, `ops_per_element` operations per output element
/// (0 for pure data movement).
///
/// Tiling runs over `out_elements`, the elements of the layer's first output;
/// every operand, input or output, moves in proportion to a tile's share of
/// them (hw::ProportionalBytes). A layer with several outputs (Split's parts,
/// TopK's values and indices, LayerNormalization's Y / Mean / InvStdDev, ...)
/// stores each output's share of every tile, so the DRAM bytes it writes are
/// the sum of its outputs' bytes (OutputBytes()).
struct VectorWorkload {
  /// One DRAM operand: plan tensor index (-1 when the plan has none yet, e.g.
  /// while costing a fusion) and its size in bytes.
  struct Operand {
    int32_t tensor = -1;
    int64_t bytes = 0;
  };
  std::vector<Operand> inputs;
  /// Every output the layer writes, in the layer's output order (absent
  /// optional outputs left out). Empty only for a layer that writes nothing.
  std::vector<Operand> outputs;
  /// Elements of the first output: the extent tiles are cut from.
  int64_t out_elements = 0;
  double ops_per_element = 0;
  /// Tiles hold whole multiples of this many output elements (e.g. a softmax
  /// row); >= 1.
  int64_t tile_unit = 1;
  /// Statistics normalizations (InstanceNormalization, ...): operations per
  /// element of the statistics part of ops_per_element (sums of x and x^2).
  /// When > 0, a tile unit too large for the on-chip buffers may be streamed
  /// in chunks with two passes over its inputs: a statistics pass
  /// (stats_ops_per_element per element, loads and vector work, nothing
  /// stored), then the output pass (the remaining ops_per_element -
  /// stats_ops_per_element), which loads each chunk again and stores it.
  /// 0 = a tile unit is never split. Must be <= ops_per_element.
  double stats_ops_per_element = 0;
  /// kDma layers with several inputs (Concat) copy each input separately.
  bool copy_each_input = false;
  Precision precision = Precision::kFp32;

  /// Bytes of all inputs.
  int64_t InputBytes() const;
  /// Bytes of all outputs: what the layer writes to DRAM.
  int64_t OutputBytes() const;
  /// Vector operations of the layer: ceil(ops_per_element * out_elements).
  int64_t Ops() const;
};

/// A layer's device work: exactly one of `gemm` / `vector` is meaningful by
/// `kind` (none for kView).
struct LayerWorkload {
  std::string name;  ///< engine layer name, for errors
  std::string type;  ///< layer type, for errors
  LayerKind kind = LayerKind::kView;
  GemmWorkload gemm;
  VectorWorkload vector;
  /// Depthwise-like grouped convolutions may also run on the vector unit;
  /// then `vector` describes that alternative.
  bool vector_alternative = false;
  /// kComposite only: the pieces, in execution order, each of kind kArray,
  /// kVector or kDma (never nested). Each piece is mapped, lowered and
  /// simulated like a layer of its own kind, under this layer's index, with
  /// a barrier between pieces (a piece reads what the previous one stored).
  /// Intermediates that have no plan tensor carry tensor index -1.
  std::vector<LayerWorkload> parts;
  /// kComposite only: bytes of the intermediates between pieces (operands
  /// whose tensor is kOnChipTensor, e.g. Attention's scores) when all of them
  /// stay in the scratchpad; 0 = they can only be spilled to DRAM.
  int64_t resident_bytes = 0;
  /// kComposite only: the pieces may be streamed in chunks (flash-attention-
  /// style; codegen/mapper.cc) when `resident_bytes` do not fit half the
  /// scratchpad: every array piece is `stream_groups` independent products
  /// (gemm.groups) of `stream_rows` rows (gemm.p, = out_w), and every vector
  /// piece's out_elements are stream_groups * stream_rows whole tile units.
  /// A chunk of g groups x r rows is each piece with groups g, p = out_w = r,
  /// its input / output bytes (and a vector piece's operands and elements)
  /// scaled by (g / stream_groups) * (r / stream_rows) and its weight bytes
  /// by g / stream_groups (an array piece's weights, e.g. Attention's K and V,
  /// are read again by every row chunk). 0 = not streamable.
  int64_t stream_groups = 0;
  int64_t stream_rows = 0;
};

/// Tensor index of a composite layer's intermediate operand (no plan
/// tensor) that may stay on chip: the mapper either drops its loads and
/// stores (resident variant) or turns it into -1 (spilled); it never reaches
/// a plan.
inline constexpr int32_t kOnChipTensor = -2;

}  // namespace engine::hw

#endif  // ENGINE_HW_WORKLOAD_H_
