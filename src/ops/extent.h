// Data-dependent (bounded) dimensions: how the actual extent of a
// NonZero / NonMaxSuppression / run-time-K TopK output travels through the
// layers that consume it (docs/dynamic_shapes.md, "Data-dependent shapes").
//
// A data-dependent tensor is stored at its upper bound (the InferFn's shape);
// along its one data-dependent dimension only the first `extent` entries are
// valid, where extent = (the producing layer's run-time count) * scale.
// Consumers run at the bound; each layer type's ExtentRule (ExtentRuleOf, the
// one list) says where the dimension lands in its outputs, or refuses. The builder runs this over the
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

/// How a layer treats an input tensor one of whose dimensions is
/// data-dependent (stored at its upper bound; only the first `extent` entries
/// along it are valid). The layer runs at the bound; the rule says where the
/// dimension goes in its outputs, and PropagateExtent checks the conditions
/// under which running at the bound gives the valid entries exactly.
enum class ExtentRule : uint8_t {
  /// The layer needs the static extent (a reduction, softmax, product over
  /// or beside it, ...): the build fails naming the layer and the tensor.
  kRefuse = 0,
  /// Elementwise with broadcasting (unary, binary, variadic, Cast, Where):
  /// the dimension stays in place (aligned from the right); every other input
  /// has 1 there or the same data-dependent dimension.
  kElementwise,
  /// Gather: data's dimension off `axis` moves to its output position, or an
  /// indices dimension does (the indices past the extent are zero: in
  /// range); data's gathered axis refuses.
  kGather,
  /// Transpose: follows `perm`.
  kTranspose,
  /// Reshape / Flatten / Squeeze / Unsqueeze / Identity: the valid entries
  /// must stay a leading block: either the dimension keeps its size with the
  /// same element counts before and after it, or nothing non-unit precedes
  /// it in the input nor in the output (the extent then scales by the ratio
  /// of the trailing element counts: [n, 3] -> [-1] has extent 3n).
  kReshape,
  /// Slice and Concat: on other axes only (Slice's axes a build-time
  /// constant; Concat: every input with the same data-dependent dimension).
  kOtherAxes,
};

/// The rule of a layer type: the one list of types that take a
/// data-dependent extent (every other type: kRefuse).
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
