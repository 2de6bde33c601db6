// The one file reader and the one atomic file writer of the project. Every
// path the library or the tools read (models, plans, tensors, images, label
// files, hardware JSON, calibration caches) goes through ReadFileToString, and
// every file they write goes through WriteFileAtomically, so that hostile
// paths (directories, FIFOs, sockets, devices such as /dev/zero or /dev/null,
// huge files) give a clear error naming the file instead of a hang, a crash,
// an exception or a destroyed device node.
#ifndef ENGINE_COMMON_FILE_UTIL_H_
#define ENGINE_COMMON_FILE_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace engine {

/// Default size cap of ReadFileToString, in bytes: 2 GiB - 1 (2^31 - 1), the
/// largest buffer protobuf (ONNX models, TensorProto files) and FlatBuffers
/// (plans) can parse, so nothing a caller could use is refused.
inline constexpr uint64_t kDefaultMaxFileBytes = (uint64_t{1} << 31) - 1;

/// Size cap for small text files (hardware JSON, calibration caches, label
/// files), in bytes: 64 MiB.
inline constexpr uint64_t kMaxTextFileBytes = uint64_t{64} << 20;

/// Options of ReadFileToString.
struct ReadFileOptions {
  /// Files larger than this many bytes are refused before anything is read
  /// (and a file that grows past it while it is read is refused too).
  uint64_t max_bytes = kDefaultMaxFileBytes;
};

/// Reads the whole regular file at `path` (symbolic links are followed).
///
/// The file is checked with stat() before it is opened and with fstat() on
/// the descriptor after it is opened (O_RDONLY | O_NONBLOCK | O_CLOEXEC, so a
/// FIFO without a writer never blocks); only regular files are read. The size
/// is checked against options.max_bytes before any allocation; reads loop over
/// short reads and EINTR. Never throws (allocation failure is an error).
///
/// Errors (each message starts with `path`):
///  - NotFound: the path does not exist or cannot be opened (the OS reason);
///  - InvalidArgument: not a regular file ("is a directory", "is a FIFO",
///    "is a socket", "is a character device", "is a block device");
///  - ResourceExhausted: larger than options.max_bytes (both sizes named), or
///    the buffer cannot be allocated;
///  - DataLoss: a read error (the OS reason).
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             const ReadFileOptions& options);

/// ReadFileToString(path, ReadFileOptions{}): the default cap
/// kDefaultMaxFileBytes.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

/// Options of WriteFileAtomically.
struct WriteFileOptions {
  /// true: write into an unnamed O_TMPFILE in the target's directory and link
  /// it into place at the end, so that nothing is left behind even on
  /// SIGKILL. false (or when the file system does not support O_TMPFILE):
  /// write a named temporary file "<dir>/.<name>.tmp.<pid>.<n>" that is
  /// removed on failure and by the SIGINT/SIGTERM handlers (see below).
  bool unnamed_temp = true;
  /// fsync() the file before it is linked into place and the directory after.
  bool sync = true;
};

/// Writes `contents` to `path` atomically: readers see either the old file
/// (or no file) or the whole new one, never a partial one.
///
/// Only a regular file (a symbolic link to one: the link's target is
/// replaced) or a path that does not exist is replaced; a directory, FIFO,
/// socket or device (e.g. /dev/null) is refused and left untouched. An
/// existing file keeps its permission bits; a new one gets 0666 & ~umask.
///
/// The data goes to an unnamed O_TMPFILE in the target's directory, fsync'd,
/// then linked to `path` when it does not exist (linkat through
/// /proc/self/fd), or linked to a unique temporary name and renamed over
/// `path`. Where O_TMPFILE or the linking is unsupported, a named temporary
/// file is used; while it exists its name is registered with handlers for
/// SIGINT and SIGTERM (installed once, unless the signal is ignored; they
/// unlink the registered names with async-signal-safe calls, then chain to
/// the previous handler or re-raise with the default action). On any error
/// nothing is left behind and `path` is untouched.
///
/// Errors (each message starts with `path`): InvalidArgument (not a regular
/// file, a dangling symbolic link), PermissionDenied (the directory or file
/// cannot be created), NotFound (the directory does not exist),
/// ResourceExhausted (no space, file size limit), Internal (other write,
/// sync, link or rename failures), all with the OS reason.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                 const WriteFileOptions& options);

/// WriteFileAtomically(path, contents, WriteFileOptions{}).
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

/// "a directory", "a FIFO", "a socket", "a character device", "a block
/// device", "a symbolic link", "a regular file" or "not a regular file" for a
/// st_mode value (for error messages).
const char* FileTypeName(unsigned int st_mode);

/// The OS error text of `err` (thread-safe strerror).
std::string ErrnoMessage(int err);

}  // namespace engine

#endif  // ENGINE_COMMON_FILE_UTIL_H_
