// Verifies plan bytes and turns them into the executor's in-memory engine.
#ifndef ENGINE_EXECUTOR_PLAN_READER_H_
#define ENGINE_EXECUTOR_PLAN_READER_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "executor/engine_impl.h"

namespace engine::exec {

/// Reads `plan` (the bytes of a plan file; any alignment) into an engine, in
/// steps, each with its own checks:
///  1. header: file identifier "ENGP" (InvalidArgument: not a plan), size
///     below FlatBuffers' 2 GiB, the outer table (DataLoss: "truncated"),
///     schema version (FailedPrecondition, naming the accepted range), CRC-32
///     of the payload (DataLoss: "checksum mismatch"), no data appended after
///     the payload, FlatBuffers verification of the payload;
///  2. tensors: unique names, known dtypes, sizes up to 1 TiB computed without
///     overflow, each constant's data exactly its size; engine inputs and
///     outputs in range and listed once, inputs not constants;
///  3. layers: tensor indices in range and in definition order, kernels known
///     (Unimplemented otherwise), output shapes and dtypes re-inferred and
///     compared, kernels prepared, accelerator mappings with known enums;
///  4. the activation arena: offsets inside it, no two live tensors sharing
///     bytes;
///  5. program: hardware description, a known objective, each instruction's
///     enums, layer, tensor, dependencies and MATMUL tile;
///  6. device profile: figures bounded, the program simulated within
///     hw::kMaxExpandedInstructions and hw::kMaxSerialCycles.
/// Errors after step 1 are DataLoss "plan is corrupt: ..." naming the tensor,
/// layer or instruction index; ResourceExhausted if the host runs out of
/// memory. Never reads out of bounds of `plan`; allocates in proportion to
/// the plan's size, never to a count or size read from it unchecked.
/// Callers that read a file prefix errors with its path
/// (Runtime::LoadEngineFile).
/// `max_activation_bytes` bounds every non-constant tensor and the arena
/// (0: the host's physical memory): a larger one is ResourceExhausted naming
/// it, so that preparing the kernels (tables in proportion to the shapes)
/// cannot exhaust memory.
absl::StatusOr<std::shared_ptr<const Engine::Impl>> ReadPlan(std::string_view plan,
                                                             int64_t max_activation_bytes = 0);

}  // namespace engine::exec

#endif  // ENGINE_EXECUTOR_PLAN_READER_H_
