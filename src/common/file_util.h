// Whole-file reads and atomic writes.
#ifndef ENGINE_COMMON_FILE_UTIL_H_
#define ENGINE_COMMON_FILE_UTIL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace engine {

/// Reads the whole file. Errors: NotFound (missing or unreadable, naming the
/// path and the OS reason).
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

/// Writes `contents` to `path` through a temporary file in the same directory
/// that is renamed over `path` only after a successful write and flush; on any
/// failure the temporary is removed and `path` is untouched.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

}  // namespace engine

#endif  // ENGINE_COMMON_FILE_UTIL_H_
