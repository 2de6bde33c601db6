// Verifies plan bytes and turns them into the executor's in-memory engine.
#ifndef ENGINE_EXECUTOR_PLAN_READER_H_
#define ENGINE_EXECUTOR_PLAN_READER_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "executor/engine_impl.h"

namespace engine::exec {

/// Checks, in order: size and file identifier "ENGP" (InvalidArgument: not a
/// plan), FlatBuffers verification of the header (DataLoss: truncated),
/// schema version (FailedPrecondition, naming the accepted range), CRC-32 of
/// the payload (DataLoss: corrupt), FlatBuffers verification of the payload,
/// then every tensor and layer (indices in range, constant sizes, shapes and
/// dtypes re-inferred and compared, kernels prepared). Never reads out of
/// bounds of `plan`.
absl::StatusOr<std::shared_ptr<const Engine::Impl>> ReadPlan(std::string_view plan);

}  // namespace engine::exec

#endif  // ENGINE_EXECUTOR_PLAN_READER_H_
