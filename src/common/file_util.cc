#include "common/file_util.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <new>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace engine {
namespace {

std::string Shown(const std::string& path) { return path.empty() ? "''" : path; }

/// Closes a descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() { Close(); }
  int get() const { return fd_; }
  /// Closes now; returns 0 or the errno of close().
  int Close() {
    if (fd_ < 0) return 0;
    const int r = ::close(fd_);
    fd_ = -1;
    return r == 0 || errno == EINTR ? 0 : errno;
  }

 private:
  int fd_;
};

/// Status code for an errno of an open/create/write call.
absl::Status ErrnoStatus(int err, const std::string& message) {
  const std::string text = absl::StrCat(message, ": ", ErrnoMessage(err));
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(text);
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(text);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case ENOMEM:
      return absl::ResourceExhaustedError(text);
    default:
      return absl::InternalError(text);
  }
}

absl::Status NotRegular(const std::string& path, unsigned int mode, const char* action) {
  return absl::InvalidArgumentError(absl::StrCat(Shown(path), ": is ", FileTypeName(mode),
                                                 ", not a regular file; refusing to ", action,
                                                 " it"));
}

absl::Status TooLarge(const std::string& path, uint64_t size, uint64_t max, bool at_least) {
  return absl::ResourceExhaustedError(absl::StrCat(Shown(path), ": file is ",
                                                   at_least ? "more than " : "", size,
                                                   " bytes, over the limit of ", max, " bytes"));
}

// ---- Named temporary files removed by SIGINT / SIGTERM ------------------------

// A fixed table the signal handler can walk without locks or allocation. A
// slot is 0 (free), 1 (claimed, path being written) or 2 (path ready).
constexpr int kCleanupSlots = 64;
struct CleanupSlot {
  std::atomic<int> state{0};
  char path[PATH_MAX];
};
CleanupSlot g_cleanup[kCleanupSlots];
struct sigaction g_previous_int;
struct sigaction g_previous_term;
std::atomic<bool> g_int_installed{false};
std::atomic<bool> g_term_installed{false};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void EngineTempFileSignalHandler(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  for (CleanupSlot& slot : g_cleanup) {
    if (slot.state.load(std::memory_order_acquire) == 2) ::unlink(slot.path);
  }
  errno = saved_errno;
  const struct sigaction& previous = sig == SIGINT ? g_previous_int : g_previous_term;
  if ((previous.sa_flags & SA_SIGINFO) != 0) {
    if (previous.sa_sigaction != nullptr) previous.sa_sigaction(sig, info, context);
    return;
  }
  if (previous.sa_handler == SIG_IGN) return;
  if (previous.sa_handler == SIG_DFL) {
    // Restore the default action and re-raise: the signal is blocked while
    // this handler runs, so it is delivered (and ends the process) on return.
    ::sigaction(sig, &previous, nullptr);
    ::raise(sig);
    return;
  }
  previous.sa_handler(sig);
}

void InstallOne(int sig, struct sigaction* previous, std::atomic<bool>* installed) {
  struct sigaction current;
  if (::sigaction(sig, nullptr, &current) != 0) return;
  if ((current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_IGN) return;  // keep ignoring
  *previous = current;
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_sigaction = EngineTempFileSignalHandler;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  if (::sigaction(sig, &action, nullptr) == 0) installed->store(true);
}

void InstallCleanupHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    InstallOne(SIGINT, &g_previous_int, &g_int_installed);
    InstallOne(SIGTERM, &g_previous_term, &g_term_installed);
  });
}

/// Registers a temporary file name for removal by the signal handlers for its
/// lifetime (a no-op when every slot is taken or the name is too long).
class CleanupRegistration {
 public:
  explicit CleanupRegistration(const std::string& path) {
    if (path.size() >= PATH_MAX) return;
    InstallCleanupHandlers();
    for (int i = 0; i < kCleanupSlots; ++i) {
      int expected = 0;
      if (g_cleanup[i].state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
        std::memcpy(g_cleanup[i].path, path.c_str(), path.size() + 1);
        g_cleanup[i].state.store(2, std::memory_order_release);
        slot_ = i;
        return;
      }
    }
  }
  CleanupRegistration(const CleanupRegistration&) = delete;
  CleanupRegistration& operator=(const CleanupRegistration&) = delete;
  ~CleanupRegistration() {
    if (slot_ >= 0) g_cleanup[slot_].state.store(0, std::memory_order_release);
  }

 private:
  int slot_ = -1;
};

/// "<dir>/.<name>.tmp.<pid>.<n>", unique within the process.
std::string TempName(const std::filesystem::path& dir, const std::string& name) {
  static std::atomic<uint64_t> counter{0};
  std::string base = name.size() > 180 ? name.substr(0, 180) : name;
  return (dir / absl::StrCat(".", base, ".tmp.", ::getpid(), ".", counter++)).string();
}

absl::Status WriteAll(int fd, std::string_view contents, const std::string& path) {
  size_t done = 0;
  while (done < contents.size()) {
    const size_t chunk = std::min<size_t>(contents.size() - done, size_t{1} << 30);
    const ssize_t n = ::write(fd, contents.data() + done, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat(Shown(path), ": write failed after ", done, " of ",
                                             contents.size(), " bytes"));
    }
    if (n == 0) {
      return absl::InternalError(absl::StrCat(Shown(path), ": write made no progress after ",
                                              done, " of ", contents.size(), " bytes"));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SyncFd(int fd, const std::string& path) {
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    return ErrnoStatus(errno, absl::StrCat(Shown(path), ": fsync failed"));
  }
  return absl::OkStatus();
}

void SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

/// The target, checked: a regular file or a path that does not exist.
struct Target {
  std::string path;        // the file to create or replace (symlinks resolved)
  bool exists = false;
  mode_t mode = 0;         // permission bits of the existing file
};

absl::StatusOr<Target> ResolveTarget(const std::string& path) {
  Target t;
  t.path = path;
  if (path.empty()) return absl::InvalidArgumentError("'': an empty path is not a file name");
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return t;
    return ErrnoStatus(errno, absl::StrCat(path, ": cannot write"));
  }
  if (S_ISLNK(st.st_mode)) {
    char* real = ::realpath(path.c_str(), nullptr);
    if (real == nullptr) {
      if (errno == ENOENT) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": is a dangling symbolic link; refusing to write through it"));
      }
      return ErrnoStatus(errno, absl::StrCat(path, ": cannot resolve symbolic link"));
    }
    t.path = real;
    std::free(real);
    if (::stat(t.path.c_str(), &st) != 0) {
      return ErrnoStatus(errno, absl::StrCat(path, ": cannot write"));
    }
  }
  if (!S_ISREG(st.st_mode)) return NotRegular(path, st.st_mode, "replace");
  t.exists = true;
  t.mode = st.st_mode & 07777;
  return t;
}

/// After the data is complete: fails when `path` has meanwhile become
/// something other than a regular file (or a symlink to one).
absl::Status RecheckTarget(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return absl::OkStatus();  // gone or dangling: created anew
  if (!S_ISREG(st.st_mode)) return NotRegular(path, st.st_mode, "replace");
  return absl::OkStatus();
}

/// Gives the unnamed file `fd` the name `name`; returns 0 or an errno.
int LinkUnnamed(int fd, const std::string& name) {
  char proc[64];
  std::snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  if (::linkat(AT_FDCWD, proc, AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
  const int err = errno;
  if (err == EEXIST) return err;
  // Without /proc: AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH).
  if (::linkat(fd, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0) return 0;
  return errno == EEXIST ? EEXIST : err;
}

enum class Route { kDone, kFallBack };

/// The O_TMPFILE route. Returns kFallBack when the file system or kernel does
/// not support it (nothing was created then).
absl::StatusOr<Route> WriteViaTmpfile(const Target& target, const std::string& shown,
                                      std::string_view contents, const WriteFileOptions& options) {
  const std::filesystem::path file(target.path);
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  int raw = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  if (raw < 0) {
    const int err = errno;
    if (err == EOPNOTSUPP || err == EISDIR || err == EINVAL || err == ENOSYS) return Route::kFallBack;
    return ErrnoStatus(err, absl::StrCat(shown, ": cannot create a file in ", dir.string()));
  }
  FdCloser fd(raw);
  if (target.exists) (void)::fchmod(fd.get(), target.mode);
  if (absl::Status s = WriteAll(fd.get(), contents, shown); !s.ok()) return s;
  if (options.sync) {
    if (absl::Status s = SyncFd(fd.get(), shown); !s.ok()) return s;
  }
  if (absl::Status s = RecheckTarget(target.path); !s.ok()) return s;
  if (!target.exists) {
    const int err = LinkUnnamed(fd.get(), target.path);
    if (err == 0) {
      if (options.sync) SyncDirectory(dir);
      return Route::kDone;
    }
    if (err != EEXIST) return Route::kFallBack;  // linking unsupported: nothing was created
    // Created meanwhile: replace it if it is a regular file.
    if (absl::Status s = RecheckTarget(target.path); !s.ok()) return s;
  }
  const std::string temp = TempName(dir, file.filename().string());
  CleanupRegistration registration(temp);
  const int err = LinkUnnamed(fd.get(), temp);
  if (err != 0) return Route::kFallBack;
  absl::Status status = RecheckTarget(target.path);
  if (status.ok() && ::rename(temp.c_str(), target.path.c_str()) != 0) {
    status = ErrnoStatus(errno, absl::StrCat(shown, ": cannot rename the new file into place"));
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  if (options.sync) SyncDirectory(dir);
  return Route::kDone;
}

/// The named-temporary-file route.
absl::Status WriteViaNamedTemp(const Target& target, const std::string& shown,
                               std::string_view contents, const WriteFileOptions& options) {
  const std::filesystem::path file(target.path);
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  for (int attempt = 0;; ++attempt) {
    const std::string temp = TempName(dir, file.filename().string());
    // Registered before it exists, so no signal finds it unregistered.
    CleanupRegistration registration(temp);
    const int raw = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (raw < 0) {
      if (errno == EEXIST && attempt < 16) continue;
      return ErrnoStatus(errno, absl::StrCat(shown, ": cannot create a temporary file in ",
                                             dir.string()));
    }
    FdCloser fd(raw);
    if (target.exists) (void)::fchmod(fd.get(), target.mode);
    absl::Status status = WriteAll(fd.get(), contents, shown);
    if (status.ok() && options.sync) status = SyncFd(fd.get(), shown);
    if (status.ok()) {
      if (const int err = fd.Close(); err != 0) {
        status = ErrnoStatus(err, absl::StrCat(shown, ": close failed"));
      }
    }
    if (status.ok()) status = RecheckTarget(target.path);
    if (status.ok() && ::rename(temp.c_str(), target.path.c_str()) != 0) {
      status = ErrnoStatus(errno, absl::StrCat(shown, ": cannot rename the new file into place"));
    }
    if (!status.ok()) {
      ::unlink(temp.c_str());
      return status;
    }
    if (options.sync) SyncDirectory(dir);
    return absl::OkStatus();
  }
}

}  // namespace

const char* FileTypeName(unsigned int st_mode) {
  const mode_t mode = static_cast<mode_t>(st_mode);
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

std::string ErrnoMessage(int err) {
  char buf[256];
  // GNU strerror_r: returns a pointer to the message (maybe not `buf`).
  const char* msg = ::strerror_r(err, buf, sizeof(buf));
  return msg != nullptr ? std::string(msg) : absl::StrCat("errno ", err);
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             const ReadFileOptions& options) {
  const std::string shown = Shown(path);
  const uint64_t max = options.max_bytes;
  // stat() first, so that devices and FIFOs are never even opened.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return absl::NotFoundError(absl::StrCat(shown, ": cannot open file: ", ErrnoMessage(err)));
  }
  if (!S_ISREG(st.st_mode)) return NotRegular(path, st.st_mode, "read");
  if (static_cast<uint64_t>(st.st_size) > max) {
    return TooLarge(path, static_cast<uint64_t>(st.st_size), max, false);
  }
  int raw;
  do {
    raw = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) {
    const int err = errno;
    return absl::NotFoundError(absl::StrCat(shown, ": cannot open file: ", ErrnoMessage(err)));
  }
  FdCloser fd(raw);
  // The path may have been replaced between stat() and open().
  if (::fstat(fd.get(), &st) != 0) {
    return absl::DataLossError(absl::StrCat(shown, ": fstat failed: ", ErrnoMessage(errno)));
  }
  if (!S_ISREG(st.st_mode)) return NotRegular(path, st.st_mode, "read");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max) return TooLarge(path, size, max, false);

  std::string data;
  try {
    data.resize(static_cast<size_t>(size));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(shown, ": cannot allocate ", size, " bytes to read the file"));
  } catch (const std::length_error&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(shown, ": cannot allocate ", size, " bytes to read the file"));
  }
  size_t total = 0;
  // Reads into data[total, end); returns bytes read (0 at end of file).
  auto read_some = [&](size_t end) -> absl::StatusOr<size_t> {
    while (true) {
      const size_t want = std::min<size_t>(end - total, size_t{1} << 30);
      const ssize_t n = ::read(fd.get(), data.data() + total, want);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      return absl::DataLossError(absl::StrCat(shown, ": read error after ", total, " bytes: ",
                                              ErrnoMessage(errno)));
    }
  };
  while (total < data.size()) {
    absl::StatusOr<size_t> n = read_some(data.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;  // the file shrank
    total += *n;
  }
  if (total == data.size()) {
    // The file may have grown since fstat() (or report size 0, as /proc
    // files do): read on in chunks, within the cap.
    constexpr size_t kChunk = size_t{1} << 16;
    while (true) {
      const uint64_t room = max - std::min<uint64_t>(max, total);
      const size_t step = room >= kChunk ? kChunk : static_cast<size_t>(room + 1);
      try {
        data.resize(total + step);
      } catch (const std::exception&) {
        return absl::ResourceExhaustedError(
            absl::StrCat(shown, ": cannot allocate memory to read the file"));
      }
      absl::StatusOr<size_t> n = read_some(data.size());
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      total += *n;
      if (total > max) return TooLarge(path, max, max, true);
    }
  }
  data.resize(total);
  return data;
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  return ReadFileToString(path, ReadFileOptions{});
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                 const WriteFileOptions& options) {
  absl::StatusOr<Target> target = ResolveTarget(path);
  if (!target.ok()) return target.status();
  if (std::filesystem::path(target->path).filename().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a file name"));
  }
  if (options.unnamed_temp) {
    absl::StatusOr<Route> route = WriteViaTmpfile(*target, path, contents, options);
    if (!route.ok()) return route.status();
    if (*route == Route::kDone) return absl::OkStatus();
  }
  return WriteViaNamedTemp(*target, path, contents, options);
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  return WriteFileAtomically(path, contents, WriteFileOptions{});
}

}  // namespace engine
