// Error propagation helpers for absl::Status / absl::StatusOr.
#ifndef ENGINE_COMMON_STATUS_MACROS_H_
#define ENGINE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ENGINE_CONCAT_IMPL_(a, b) a##b
#define ENGINE_CONCAT_(a, b) ENGINE_CONCAT_IMPL_(a, b)

/// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define ENGINE_RETURN_IF_ERROR(expr)                  \
  do {                                                \
    ::absl::Status engine_status_ = (expr);           \
    if (!engine_status_.ok()) return engine_status_;  \
  } while (0)

/// `ENGINE_ASSIGN_OR_RETURN(auto x, MakeX());` assigns the value of an
/// absl::StatusOr or returns its error from the enclosing function.
#define ENGINE_ASSIGN_OR_RETURN(lhs, expr) \
  ENGINE_ASSIGN_OR_RETURN_IMPL_(ENGINE_CONCAT_(engine_statusor_, __LINE__), lhs, expr)

#define ENGINE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

namespace engine {

/// Returns `status` with `prefix + ": "` prepended to its message (same code).
absl::Status Annotate(const absl::Status& status, std::string_view prefix);

}  // namespace engine

#endif  // ENGINE_COMMON_STATUS_MACROS_H_
