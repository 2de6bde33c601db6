// The op library's registry: every OpDef by layer type and by ONNX identity.
// Built once from the one explicit registration list (RegisterBuiltinOps in
// op_registry.cc, TFLite's resolver style: no static self-registration);
// immutable afterwards and safe to read from several threads.
#ifndef ENGINE_OPS_OP_REGISTRY_H_
#define ENGINE_OPS_OP_REGISTRY_H_

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/op_def.h"

namespace engine::ops {

class OpRegistry {
 public:
  /// Adds `def`. Errors: AlreadyExists when a record of the same type is
  /// registered; InvalidArgument when the record is inconsistent (a kernel
  /// without inference, an array unit without product geometry, an empty
  /// opset range).
  absl::Status Register(OpDef def);

  /// The record of a layer type; nullptr when unknown.
  const OpDef* Find(std::string_view type) const;

  /// The host kernel of a layer type; nullptr when the type is unknown or
  /// has no kernel (an import-only op).
  const kernels::KernelDef* FindKernel(std::string_view type) const {
    const OpDef* def = Find(type);
    return def != nullptr && def->has_kernel() ? &def->host : nullptr;
  }

  /// The record that imports (domain, op_type) at `opset` ("ai.onnx" is the
  /// default domain); nullptr when none, with the reason (unknown op, unknown
  /// domain, or the supported opset range) in `why`.
  const OpDef* FindImport(std::string_view domain, std::string_view op_type, int opset,
                          std::string* why) const;

  /// Every record, sorted by type.
  std::vector<const OpDef*> All() const;
  /// Layer types with a host kernel, sorted.
  std::vector<std::string> KernelTypes() const;

  /// The registry of every built-in op (RegisterBuiltinOps), built on first
  /// use.
  static const OpRegistry& Builtin();

 private:
  std::map<std::string, OpDef, std::less<>> defs_;
  /// Builtin() only: Find, FindImport and All also see the ops of loaded
  /// plugins (ops/plugin_ops.h), after the built-in records.
  bool with_plugins_ = false;
};

/// Registers every built-in op: the one list (op_registry.cc). Aborts on an
/// inconsistent record (a programming error caught by every test).
void RegisterBuiltinOps(OpRegistry& registry);

/// Infers output shapes, prepares the host kernel of `type` and runs it once
/// on `inputs` (constants; nullptr for an absent optional input), returning
/// the outputs. Used by constant folding, calibration checks and tests.
/// Errors: Unimplemented for a type without a kernel; those of the kernel's
/// inference and Prepare.
absl::StatusOr<std::vector<Tensor>> EvaluateLayer(const OpRegistry& registry,
                                                  std::string_view type, const Attributes& attrs,
                                                  std::span<const Tensor* const> inputs);

}  // namespace engine::ops

#endif  // ENGINE_OPS_OP_REGISTRY_H_
