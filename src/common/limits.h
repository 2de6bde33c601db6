// Resource limits of a build, and the overflow-checked size arithmetic every
// limit check uses. Sizes are computed from shapes before anything is
// allocated, so a hostile shape (ConstantOfShape to [1e6, 1e6], pads of
// 2^62, --shapes=x:100000x3x224x224) is refused with ResourceExhausted naming
// the node, the tensor and the size instead of allocating until std::bad_alloc.
//
// The limits themselves are BuilderConfig fields (include/engine/builder.h,
// with their defaults and CLI flags); this header carries them through the
// parser, the optimizer and code generation without depending on the builder.
#ifndef ENGINE_COMMON_LIMITS_H_
#define ENGINE_COMMON_LIMITS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/types.h"

namespace engine {

/// Largest element count or byte size the size arithmetic represents: 2^62,
/// so that sums of two sizes still fit in int64.
inline constexpr int64_t kMaxRepresentableSize = int64_t{1} << 62;

/// The limits of one build, in bytes and instructions; 0 = no limit (the
/// size arithmetic still refuses anything above kMaxRepresentableSize).
struct BuildLimits {
  int64_t max_tensor_bytes = 0;    ///< any one tensor (activation, input, output)
  int64_t max_constant_bytes = 0;  ///< any one constant (initializer or folded)
  int64_t max_instructions = 0;    ///< the whole accelerator program
  int64_t max_arena_bytes = 0;     ///< one execution context's activation arena
};

/// Product of `dims`, or nullopt when a dimension is negative or the product
/// exceeds kMaxRepresentableSize (checked before each multiplication, so it
/// never overflows). An empty `dims` (a scalar) gives 1.
std::optional<int64_t> CheckedElementCount(const Dims& dims);

/// CheckedElementCount(dims) * DataTypeSize(dtype), or nullopt as above.
std::optional<int64_t> CheckedByteSize(const Dims& dims, DataType dtype);

/// `a * b` for a, b >= 0, saturating at kMaxRepresentableSize (never
/// overflows); for counts compared with a limit.
int64_t SaturatingMul(int64_t a, int64_t b);
/// `a + b` for a, b >= 0, saturating at kMaxRepresentableSize.
int64_t SaturatingAdd(int64_t a, int64_t b);

/// Checks the size of one tensor against `limit` (0 = none) before it is
/// allocated. `what` names it in the error ("node #3 'fill' (ConstantOfShape):
/// output 'big'"), `limit_name` names the setting ("max_tensor_bytes"; the
/// message also gives the CLI flag). Errors: ResourceExhausted "<what>
/// [1000000x1000000] float needs 4000000000000 bytes, above the limit of
/// ... bytes (BuilderConfig::max_tensor_bytes, --maxTensorBytes)", or, for a
/// shape whose size is not representable, "... has more than 2^62 elements";
/// InvalidArgument for a negative dimension.
absl::Status CheckTensorSize(const std::string& what, const Dims& dims, DataType dtype,
                             int64_t limit, const std::string& limit_name);

/// The CLI flag of a BuilderConfig limit field ("max_tensor_bytes" ->
/// "--maxTensorBytes"); the field name itself when it has none.
std::string LimitFlag(const std::string& limit_name);

}  // namespace engine

#endif  // ENGINE_COMMON_LIMITS_H_
