#include "ops/layer_precision.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/reduced_float.h"
#include "kernels/reduced_precision.h"

namespace engine::ops {

absl::StatusOr<kernels::KernelDef> HostKernelDef(const OpRegistry& registry,
                                                 std::string_view type, const Attributes& attrs) {
  const OpDef* op = registry.Find(type);
  const kernels::KernelDef* def = registry.FindKernel(type);
  if (op == nullptr || def == nullptr) {
    return absl::NotFoundError(absl::StrCat("layer type '", std::string(type), "' has no host kernel"));
  }
  ENGINE_ASSIGN_OR_RETURN(std::optional<FloatStorage> precision,
                          kernels::LayerStoragePrecision(attrs));
  const bool data_movement = op->device.unit && *op->device.unit == hw::LayerKind::kDma;
  if (!precision || data_movement) return *def;
  return kernels::ReducedPrecisionDef(*def, *precision, /*round_outputs=*/true);
}

}  // namespace engine::ops
