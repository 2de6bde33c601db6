// Einsum equation analysis, shared by the Einsum kernel (einsum.cc) and the
// op record's importer (src/ops/indexing.cc), which picks the accelerator
// unit from the equation's form.
#ifndef ENGINE_KERNELS_EINSUM_H_
#define ENGINE_KERNELS_EINSUM_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tensor.h"

namespace engine::kernels {

/// A parsed Einsum equation bound to its input shapes. Labels are ids: a-z
/// 0..25, A-Z 26..51, ellipsis dimensions 52 + j (j-th of the broadcast
/// ellipsis dimensions, right-aligned across operands).
struct EinsumSpec {
  struct Operand {
    std::vector<int> labels;  ///< one per input dimension (repeats = diagonal)
    std::vector<int64_t>
        strides;  ///< element stride per loop label (output, then summed); 0 = broadcast
  };
  std::vector<Operand> operands;
  std::vector<int> output;  ///< output labels in output order
  Dims out_shape;
  std::vector<int> summed;  ///< labels summed over (absent from the output)
  Dims summed_shape;
  bool has_diagonal = false;   ///< a label repeats within one operand
  bool has_broadcast = false;  ///< a dimension of size 1 broadcasts against a larger one
};

/// Parses `equation` (numpy.einsum syntax, ONNX Einsum-12; spaces ignored;
/// explicit "->" or implicit output) against the input shapes. Errors:
/// InvalidArgument naming the equation when a term does not match its
/// input's rank, sizes of one label disagree, a character is not a letter,
/// or an output label is repeated or appears in no input.
absl::StatusOr<EinsumSpec> ParseEinsum(const std::string& equation,
                                       const std::vector<Dims>& shapes);

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_EINSUM_H_
