// Host kernels with a data-dependent output shape (NonZero,
// NonMaxSuppression, Compress, TopK with a run-time K; docs/dynamic_shapes.md,
// "Data-dependent shapes").
//
// Such a kernel's InferFn gives each output its upper bound (known at build
// time); Run lays the output out at that bound, the first `extent` entries
// along the one data-dependent dimension valid and the rest zero (so indices
// past the extent stay in range for a consumer that gathers by them), and
// reports the actual extent with ReportExtent. These kernels are not foldable.
#ifndef ENGINE_KERNELS_DATA_DEPENDENT_H_
#define ENGINE_KERNELS_DATA_DEPENDENT_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/attributes.h"
#include "kernels/kernel.h"

namespace engine::kernels {

/// NonZero (opsets 9, 13): X of any numeric or bool dtype -> int64
/// [rank(X), numel(X)] at the bound; the actual [rank(X), count].
KernelDef MakeNonZeroDef();
/// NonMaxSuppression (opsets 10, 11): selected_indices int64 [bound, 3]
/// (see data_dependent.cc for the bound and the algorithm).
KernelDef MakeNonMaxSuppressionDef();
/// Compress (opsets 9, 11): [.., min(len(condition), dim), ..] along `axis`
/// (or [min(len(condition), numel)] flattened) at the bound.
KernelDef MakeCompressDef();

/// The one list of data-dependent layer types: for a layer of `type` with
/// these attributes and inputs, the data-dependent dimension of each output
/// (-1: none), or empty when no output is data-dependent (every other type;
/// TopK with a constant K).
std::vector<int> DataDependentDims(std::string_view type, const Attributes& attrs,
                                   std::span<const TensorInfo> inputs);

/// TopK's part of DataDependentDims (reduce.cc): {axis, axis} when K is an
/// input that is not a build-time constant, else empty.
std::vector<int> TopKDataDependentDims(const Attributes& attrs, std::span<const TensorInfo> inputs);

/// Reports the actual extent (elements along the data-dependent dimension,
/// 0..bound), or -1 when a run-time input is invalid (TopK's K outside
/// [0, axis dim]), from a data-dependent kernel's Run, on the thread that
/// called Run. Goes to the slot of the innermost live ExtentScope of that
/// thread; ignored when there is none (constant folding, the builder's graph
/// runner).
void ReportExtent(int64_t extent);

/// While alive, ReportExtent calls on this thread write to `*slot` (the
/// executor opens one around each data-dependent layer's Run). Sets `*slot`
/// to 0 first. Not copyable; scopes nest (the previous slot is restored).
class ExtentScope {
 public:
  explicit ExtentScope(int64_t* slot);
  ~ExtentScope();
  ExtentScope(const ExtentScope&) = delete;
  ExtentScope& operator=(const ExtentScope&) = delete;

 private:
  int64_t* previous_;
};

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_DATA_DEPENDENT_H_
