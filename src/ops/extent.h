// Data-dependent (bounded) dimensions: how the actual extent of a
// NonZero / NonMaxSuppression / run-time-K TopK output travels through the
// layers that consume it (docs/dynamic_shapes.md, "Data-dependent shapes").
//
// A data-dependent tensor is stored at its upper bound (the InferFn's shape);
// along its one data-dependent dimension only the first `extent` entries are
// valid, where extent = (the producing layer's run-time count) * scale.
// Consumers run at the bound; each layer type's ExtentRule (its OpDef's `extent`,
// ops/op_def.h) says where the dimension lands in its outputs, or refuses. The builder runs this over the
// graph (a refusal fails the build naming the layer and tensor); the executor
// runs it again when it loads a plan, to know which outputs to trim.
#ifndef ENGINE_OPS_EXTENT_H_
#define ENGINE_OPS_EXTENT_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/op_def.h"

namespace engine::ops {

/// The rule of a layer type: its record's `extent` (OpDef::extent, in the
/// built-in registry with the loaded plugins' ops); kRefuse for a type no
/// record names.
ExtentRule ExtentRuleOf(std::string_view type);

/// The data-dependent dimension of one tensor (symbol -1: none).
struct ExtentDim {
  int symbol = -1;     ///< index of the producing layer (its run-time count)
  int dim = -1;        ///< which dimension of the tensor
  int64_t scale = 1;   ///< valid entries along `dim` = count * scale
  bool any() const { return symbol >= 0; }
  bool operator==(const ExtentDim&) const = default;
};

/// One layer as PropagateExtent sees it: its view (static shapes at the
/// bound), the names of its input tensors (for messages) and its index.
struct ExtentLayer {
  const LayerView& view;
  std::span<const std::string> input_names;
  int index = 0;
};

/// The ExtentDim of each output of `layer` given those of its inputs (`in`,
/// one per input; absent inputs none). A data-dependent producer
/// (kernels::DataDependentDims) starts a new symbol = layer.index.
/// `producer` names the layer of a symbol, for messages.
/// Errors: Unimplemented "layer 'L' (Type) cannot take the data-dependent
/// extent of input 'T' (dimension d, upper bound B, data-dependent since layer
/// 'P'): <why>" when the layer's rule refuses (kRefuse, the gathered or sliced
/// axis, a reshape that scatters the valid entries, two data-dependent
/// dimensions, a producer fed by a data-dependent tensor).
absl::StatusOr<std::vector<ExtentDim>> PropagateExtent(
    const ExtentLayer& layer, std::span<const ExtentDim> in,
    const std::function<std::string(int symbol)>& producer);

}  // namespace engine::ops

#endif  // ENGINE_OPS_EXTENT_H_
