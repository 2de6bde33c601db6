// Small helpers shared by the kernel files.
#ifndef ENGINE_EXECUTOR_KERNELS_KERNEL_UTIL_H_
#define ENGINE_EXECUTOR_KERNELS_KERNEL_UTIL_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "executor/kernels/kernel.h"

namespace engine::kernels {

/// Multidirectional (numpy) broadcast of two shapes (ONNX Broadcasting.md).
/// Errors: InvalidArgument naming both shapes when they are incompatible.
absl::StatusOr<Dims> BroadcastShapes(const Dims& a, const Dims& b);

/// Row-major element strides of `shape`, in elements.
std::vector<int64_t> RowMajorStrides(const Dims& shape);

/// Strides for reading an input of shape `in` broadcast to `out` (rank of
/// `out`, right-aligned): 0 on broadcast dimensions.
std::vector<int64_t> BroadcastStrides(const Dims& in, const Dims& out);

/// Normalizes a possibly negative `axis` against `rank` (valid range
/// [-rank, rank - 1], or [-rank-1, rank] when `inclusive_end`).
absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, bool inclusive_end = false);

/// Reads a constant integer tensor (int32 or int64) as int64 values.
/// Errors: InvalidArgument when `info` is not a constant or not integral;
/// `what` names the input in the message.
absl::StatusOr<std::vector<int64_t>> ConstantInts(const TensorInfo& info, const std::string& what);

/// Checks the input count is within [min, max] (absent optionals counted).
absl::Status CheckInputCount(std::span<const TensorInfo> inputs, size_t min, size_t max,
                             const std::string& type);

/// An output descriptor.
inline TensorInfo MakeInfo(DataType dtype, Dims shape) {
  TensorInfo t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

/// Builds a KernelDef from an infer function and a kernel class.
template <typename KernelT>
KernelDef MakeDef(std::string type, InferFn infer, bool foldable = true) {
  KernelDef def;
  def.type = std::move(type);
  def.infer = std::move(infer);
  def.create = [] { return std::unique_ptr<Kernel>(new KernelT()); };
  def.foldable = foldable;
  return def;
}

}  // namespace engine::kernels

#endif  // ENGINE_EXECUTOR_KERNELS_KERNEL_UTIL_H_
