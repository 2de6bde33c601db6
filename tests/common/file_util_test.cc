// Hostile files for the one reader (ReadFileToString) and the one atomic
// writer (WriteFileAtomically): directories, FIFOs without a writer, sockets,
// character devices, files over the size cap, writes that fail midway or are
// killed. Every case must end with a specific error naming the file, promptly,
// and leave nothing behind.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/file_util.h"

using namespace engine;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("engine_file_util_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// Names of the entries in the directory (hidden ones included).
  std::set<std::string> Entries() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.insert(e.path().filename().string());
    return names;
  }

 private:
  fs::path path_;
};

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool Contains(absl::string_view haystack, absl::string_view needle) {
  return haystack.find(needle) != absl::string_view::npos;
}

/// Runs `fn` in a forked child (which exits with fn's result) and returns the
/// raw wait status.
template <typename Fn>
int RunInChild(Fn fn) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(fn());
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

}  // namespace

// ---- ReadFileToString ---------------------------------------------------------

TEST_CASE("ReadFileToString reads regular files, also empty and through symlinks", "[file_util]") {
  TempDir dir;
  std::string bytes(100000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  WriteBytes(dir.file("a.bin"), bytes);
  auto r = ReadFileToString(dir.file("a.bin"));
  REQUIRE(r.ok());
  CHECK(*r == bytes);

  WriteBytes(dir.file("empty"), "");
  auto e = ReadFileToString(dir.file("empty"));
  REQUIRE(e.ok());
  CHECK(e->empty());

  fs::create_symlink(dir.file("a.bin"), dir.file("link"));
  auto l = ReadFileToString(dir.file("link"));
  REQUIRE(l.ok());
  CHECK(*l == bytes);
}

TEST_CASE("ReadFileToString: a missing file is NotFound naming it", "[file_util]") {
  TempDir dir;
  auto r = ReadFileToString(dir.file("missing.onnx"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kNotFound);
  CHECK(Contains(r.status().message(), dir.file("missing.onnx")));
  CHECK(Contains(r.status().message(), "No such file"));
}

TEST_CASE("ReadFileToString refuses a directory", "[file_util]") {
  TempDir dir;
  auto r = ReadFileToString(dir.str());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(r.status().message() ==
        dir.str() + ": is a directory, not a regular file; refusing to read it");
}

TEST_CASE("ReadFileToString refuses a FIFO without a writer promptly", "[file_util]") {
  TempDir dir;
  const std::string fifo = dir.file("pipe");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto future = std::async(std::launch::async, [&] { return ReadFileToString(fifo); });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    // Unblock the reader so the test can end, then fail.
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    FAIL("ReadFileToString blocked on a FIFO without a writer");
  }
  auto r = future.get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Contains(r.status().message(), fifo + ": is a FIFO"));
}

TEST_CASE("ReadFileToString refuses character devices and sockets", "[file_util]") {
  for (const char* device : {"/dev/zero", "/dev/null", "/dev/urandom"}) {
    INFO(device);
    auto r = ReadFileToString(device);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(r.status().message() ==
          std::string(device) + ": is a character device, not a regular file; refusing to read it");
  }
  TempDir dir;
  fs::create_symlink("/dev/zero", dir.file("zero.plan"));
  auto l = ReadFileToString(dir.file("zero.plan"));
  REQUIRE_FALSE(l.ok());
  CHECK(Contains(l.status().message(), dir.file("zero.plan") + ": is a character device"));

  const std::string sock = dir.file("s");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(sock.size() < sizeof(addr.sun_path));
  std::strcpy(addr.sun_path, sock.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  auto s = ReadFileToString(sock);
  ::close(fd);
  REQUIRE_FALSE(s.ok());
  CHECK(Contains(s.status().message(), sock + ": is a socket"));
}

TEST_CASE("ReadFileToString refuses a file over the size cap before reading it", "[file_util]") {
  TempDir dir;
  WriteBytes(dir.file("big.plan"), std::string(1000, 'x'));
  ReadFileOptions options;
  options.max_bytes = 999;
  auto r = ReadFileToString(dir.file("big.plan"), options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(r.status().message() ==
        dir.file("big.plan") + ": file is 1000 bytes, over the limit of 999 bytes");
  options.max_bytes = 1000;
  auto ok = ReadFileToString(dir.file("big.plan"), options);
  REQUIRE(ok.ok());
  CHECK(ok->size() == 1000);
  // The default cap is what protobuf and FlatBuffers can parse.
  CHECK(ReadFileOptions{}.max_bytes == (uint64_t{1} << 31) - 1);
}

TEST_CASE("ReadFileToString caps files whose size is not known up front", "[file_util]") {
  // /proc files report size 0; the cap applies while reading.
  ReadFileOptions options;
  options.max_bytes = 4;
  auto r = ReadFileToString("/proc/self/status", options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(Contains(r.status().message(), "/proc/self/status: file is more than 4 bytes"));
  auto whole = ReadFileToString("/proc/self/status");
  REQUIRE(whole.ok());
  CHECK(Contains(*whole, "Name:"));
}

// ---- WriteFileAtomically ------------------------------------------------------

TEST_CASE("WriteFileAtomically creates and replaces regular files, nothing left over",
          "[file_util]") {
  for (bool unnamed : {true, false}) {
    INFO("unnamed_temp " << unnamed);
    TempDir dir;
    WriteFileOptions options;
    options.unnamed_temp = unnamed;
    const std::string target = dir.file("model.plan");
    REQUIRE(WriteFileAtomically(target, "first", options).ok());
    CHECK(Slurp(target) == "first");
    CHECK(dir.Entries() == std::set<std::string>{"model.plan"});

    REQUIRE(::chmod(target.c_str(), 0640) == 0);
    REQUIRE(WriteFileAtomically(target, std::string(300000, 'z'), options).ok());
    CHECK(Slurp(target) == std::string(300000, 'z'));
    struct stat st;
    REQUIRE(::stat(target.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);  // permissions kept
    CHECK(dir.Entries() == std::set<std::string>{"model.plan"});

    // Through a symlink: the link stays, its target is replaced.
    fs::create_symlink(target, dir.file("link.plan"));
    REQUIRE(WriteFileAtomically(dir.file("link.plan"), "via link", options).ok());
    CHECK(fs::is_symlink(dir.file("link.plan")));
    CHECK(Slurp(target) == "via link");
    CHECK(dir.Entries() == std::set<std::string>{"link.plan", "model.plan"});
  }
}

TEST_CASE("WriteFileAtomically refuses directories, FIFOs, sockets and devices", "[file_util]") {
  TempDir dir;
  const std::string sub = dir.file("sub");
  fs::create_directories(sub);
  absl::Status s = WriteFileAtomically(sub, "x");
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message() == sub + ": is a directory, not a regular file; refusing to replace it");
  CHECK(fs::is_directory(sub));

  const std::string fifo = dir.file("trace.json");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (bool unnamed : {true, false}) {
    WriteFileOptions options;
    options.unnamed_temp = unnamed;
    s = WriteFileAtomically(fifo, "x", options);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(s.message() == fifo + ": is a FIFO, not a regular file; refusing to replace it");
    struct stat st;
    REQUIRE(::lstat(fifo.c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));  // the node is untouched
  }
  // A symlink to a character device (like --saveEngine=/dev/null) is refused
  // without touching either.
  fs::create_symlink("/dev/null", dir.file("null.plan"));
  s = WriteFileAtomically(dir.file("null.plan"), "x");
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Contains(s.message(), dir.file("null.plan") + ": is a character device"));
  CHECK(fs::is_symlink(dir.file("null.plan")));
  struct stat null_st;
  REQUIRE(::stat("/dev/null", &null_st) == 0);
  CHECK(S_ISCHR(null_st.st_mode));

  fs::create_symlink(dir.file("nowhere/x"), dir.file("dangling"));
  s = WriteFileAtomically(dir.file("dangling"), "x");
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Contains(s.message(), "dangling symbolic link"));

  s = WriteFileAtomically(dir.file("no/such/dir/out.plan"), "x");
  CHECK(s.code() == absl::StatusCode::kNotFound);
  CHECK(Contains(s.message(), dir.file("no/such/dir/out.plan")));

  CHECK(dir.Entries() == std::set<std::string>{"dangling", "null.plan", "sub", "trace.json"});
}

TEST_CASE("WriteFileAtomically: a write failing midway leaves no file and the old one intact",
          "[file_util]") {
  for (bool unnamed : {true, false}) {
    for (bool existing : {false, true}) {
      INFO("unnamed_temp " << unnamed << ", existing target " << existing);
      TempDir dir;
      const std::string target = dir.file("engine.plan");
      if (existing) WriteBytes(target, "old contents");
      // In a child with a 64 KiB file size limit, a 1 MiB write fails with EFBIG.
      const int status = RunInChild([&] {
        ::signal(SIGXFSZ, SIG_IGN);
        rlimit limit{65536, 65536};
        if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 10;
        WriteFileOptions options;
        options.unnamed_temp = unnamed;
        absl::Status s = WriteFileAtomically(target, std::string(1 << 20, 'a'), options);
        if (s.ok()) return 11;
        if (s.code() != absl::StatusCode::kResourceExhausted) return 12;
        if (!Contains(s.message(), target + ": write failed after 65536 of 1048576 bytes")) return 13;
        return 0;
      });
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
      if (existing) {
        CHECK(dir.Entries() == std::set<std::string>{"engine.plan"});
        CHECK(Slurp(target) == "old contents");
      } else {
        CHECK(dir.Entries().empty());
      }
    }
  }
}

TEST_CASE("WriteFileAtomically: SIGKILL during unnamed-temp writes leaves only complete files",
          "[file_util]") {
  TempDir dir;
  constexpr size_t kSize = 8 << 20;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    const std::string data(kSize, 'k');
    WriteFileOptions options;
    options.sync = false;
    // New names only (replacing goes through a named link for an instant);
    // older files are removed to bound the disk use.
    for (int i = 0;; ++i) {
      if (!WriteFileAtomically(dir.file("out" + std::to_string(i)), data, options).ok()) {
        ::_exit(1);
      }
      if (i >= 2) ::unlink(dir.file("out" + std::to_string(i - 2)).c_str());
      if (i == 0) (void)!::write(ready[1], "r", 1);
    }
  }
  ::close(ready[1]);
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  ::kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  for (const std::string& name : dir.Entries()) {
    INFO(name);
    CHECK(name.rfind("out", 0) == 0);
    CHECK(name.find_first_not_of("0123456789", 3) == std::string::npos);
    CHECK(fs::file_size(dir.file(name)) == kSize);
  }
}

TEST_CASE("WriteFileAtomically: SIGTERM removes a named temporary file", "[file_util]") {
  TempDir dir;
  constexpr size_t kSize = 8 << 20;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    ::signal(SIGTERM, SIG_DFL);
    const std::string data(kSize, 't');
    WriteFileOptions options;
    options.unnamed_temp = false;
    options.sync = false;
    for (int i = 0;; ++i) {
      if (!WriteFileAtomically(dir.file("report.json"), data, options).ok()) ::_exit(1);
      if (i == 0) (void)!::write(ready[1], "r", 1);
    }
  }
  ::close(ready[1]);
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  ::kill(pid, SIGTERM);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  // The handler removed the temporary file, then the default action ended it.
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  CHECK(dir.Entries() == std::set<std::string>{"report.json"});
  CHECK(fs::file_size(dir.file("report.json")) == kSize);
}
