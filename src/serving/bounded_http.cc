#include "bounded_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "serving/json_util.h"

namespace engine::serving {
namespace {

using Clock = std::chrono::steady_clock;

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s", s);
  return buf;
}

std::string JsonError(const std::string& message) {
  std::string body = "{\"error\":";
  AppendJsonString(message, &body);
  body += "}\n";
  return body;
}

// Milliseconds until `deadline`, at most `cap_ms`, never negative.
int MsUntil(Clock::time_point deadline, int cap_ms) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, cap_ms));
}

int ToMs(double seconds) {
  return static_cast<int>(std::min(seconds * 1000.0, 1e9));
}

// poll(2) on one descriptor, retried on EINTR: >0 ready, 0 timed out, <0 error.
int PollOne(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  Clock::time_point end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r >= 0 || errno != EINTR) return r;
    timeout_ms = MsUntil(end, timeout_ms);
  }
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void AddressOf(const sockaddr_storage& ss, std::string& ip, int& port) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
    port = ntohs(a->sin6_port);
  }
  ip = buf;
}

}  // namespace


// A connection past max_connections, kept by the accept thread until its
// request head is read and answered (non-blocking socket).
struct PendingConnection {
  enum class State { kReading, kWriting, kDraining } state = State::kReading;
  int fd = -1;
  Clock::time_point deadline;
  std::string in, out;
  size_t sent = 0;
};

namespace {

// The socket of one served connection as an httplib::Stream: every read and
// write waits at most the per-operation timeout and never past the current
// deadline (head, body or answer); reads are buffered like httplib's own
// SocketStream (the request line is read a byte at a time).
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(int fd, const HttpLimits& limits) : fd_(fd), limits_(limits) {}

  // Starts a phase: reads must be done within `seconds` from now; `flag`
  // names the limit in the timeout message. `max_bytes`: how much the phase
  // may read (0: no limit of the stream's own; httplib reads a body's
  // Content-Length exactly).
  void SetReadDeadline(double seconds, const char* what, const char* flag, size_t max_bytes) {
    read_deadline_ = Clock::now() + std::chrono::milliseconds(ToMs(seconds));
    read_what_ = what;
    read_flag_ = flag;
    read_limit_ = seconds;
    read_budget_ = max_bytes;
    read_count_ = 0;
  }
  void SetWriteDeadline(double seconds) {
    write_deadline_ = Clock::now() + std::chrono::milliseconds(ToMs(seconds));
  }
  void NewRequest() {
    timeout_.clear();
    failure_status_ = 0;
    write_deadline_.reset();
  }
  // Why the last read or write gave up ("" if none did), and the status
  // that says so: 408 (out of time) or 431 (head too large).
  const std::string& timeout() const { return timeout_; }
  int failure_status() const { return failure_status_; }
  bool has_buffered() const { return pos_ < len_; }

  bool is_readable() const override {
    return has_buffered() || WaitRead() > 0;
  }
  bool is_writable() const override { return WaitWrite() > 0; }

  ssize_t read(char* ptr, size_t size) override {
    if (size == 0) return 0;
    if (read_budget_ > 0) {
      if (read_count_ >= read_budget_) {
        timeout_ = "request head larger than --max-header-bytes=" + std::to_string(read_budget_);
        failure_status_ = 431;
        return -1;
      }
      size = std::min(size, read_budget_ - read_count_);
    }
    ssize_t n = ReadSome(ptr, size);
    if (n > 0) read_count_ += static_cast<size_t>(n);
    return n;
  }

 private:
  ssize_t ReadSome(char* ptr, size_t size) {
    if (!has_buffered()) {
      if (WaitRead() <= 0) return -1;
      if (size >= sizeof(buf_)) return Recv(ptr, size);
      ssize_t n = Recv(buf_, sizeof(buf_));
      if (n <= 0) return n;
      pos_ = 0;
      len_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, len_ - pos_);
    std::memcpy(ptr, buf_ + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

 public:
  ssize_t write(const char* ptr, size_t size) override {
    if (WaitWrite() <= 0) return -1;
    for (;;) {
      ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0 || errno != EINTR) return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) AddressOf(ss, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) AddressOf(ss, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  ssize_t Recv(char* p, size_t n) {
    for (;;) {
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r >= 0 || errno != EINTR) return r;
    }
  }

  // Waits for input up to the read timeout and the phase's deadline;
  // records which one ran out.
  int WaitRead() const {
    int per_op = ToMs(limits_.read_timeout);
    int ms = read_deadline_ ? MsUntil(*read_deadline_, per_op) : per_op;
    int r = PollOne(fd_, POLLIN, ms);
    if (r == 0) {
      timeout_ = ms < per_op ? std::string("request ") + read_what_ + " not complete within " +
                                   read_flag_ + "=" + Seconds(read_limit_)
                             : "no request data for --read-timeout=" +
                                   Seconds(limits_.read_timeout);
      failure_status_ = 408;
    }
    return r;
  }
  int WaitWrite() const {
    int per_op = ToMs(limits_.write_timeout);
    int ms = write_deadline_ ? MsUntil(*write_deadline_, per_op) : per_op;
    int r = PollOne(fd_, POLLOUT, ms);
    if (r == 0) {
      timeout_ = "answer not sent within --write-timeout=" + Seconds(limits_.write_timeout);
      failure_status_ = 408;
    }
    return r;
  }

  int fd_;
  const HttpLimits& limits_;
  char buf_[4096];
  size_t pos_ = 0, len_ = 0;
  std::optional<Clock::time_point> read_deadline_, write_deadline_;
  const char* read_what_ = "head";
  const char* read_flag_ = "--header-timeout";
  double read_limit_ = 0;
  size_t read_budget_ = 0, read_count_ = 0;
  mutable std::string timeout_;
  mutable int failure_status_ = 0;
};

// The connection the calling thread serves (set by ServeConnection), for the
// routing hooks, which httplib calls on that thread.
struct Connection {
  DeadlineStream* stream = nullptr;
  bool close_after = false;  // the request's bytes were not all read
};
thread_local Connection* tls_connection = nullptr;


}  // namespace

BoundedHttpServer::BoundedHttpServer(const HttpLimits& limits) : limits_(limits) {
  if (::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe2");
  }
  set_keep_alive_max_count(static_cast<size_t>(limits_.keep_alive_max));
  // Announced in the Keep-Alive header; ServeConnection enforces it.
  set_keep_alive_timeout(static_cast<time_t>(std::ceil(limits_.idle_timeout)));
  set_payload_max_length(limits_.max_body_bytes);

  // Headers are in. A body must announce its length (httplib would read a
  // chunked body, or one up to the end of the stream, without a size limit),
  // within max_body_bytes; then it gets its own deadline.
  set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    Connection* c = tls_connection;
    if (c == nullptr) return HandlerResponse::Unhandled;
    auto refuse = [&](int status, const std::string& message) {
      res.status = status;
      res.set_content(JsonError(message), "application/json");
      res.set_header("Connection", "close");
      c->close_after = true;  // the body is left unread
      return HandlerResponse::Handled;
    };
    const bool has_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (req.has_header("Transfer-Encoding")) {
      return refuse(411, "Transfer-Encoding is not accepted; send the body with Content-Length");
    }
    if (req.get_header_value_count("Content-Length") > 1) {
      return refuse(400, "more than one Content-Length header");
    }
    if (has_body || req.has_header("Content-Length")) {
      const std::string len = req.get_header_value("Content-Length");
      if (len.empty()) return refuse(411, "a request body needs a Content-Length header");
      if (len.size() > 19 || len.find_first_not_of("0123456789") != std::string::npos) {
        return refuse(400, "Content-Length '" + Printable(len, 24) + "' is not a byte count");
      }
      if (std::stoull(len) > limits_.max_body_bytes) {
        return refuse(413, "request body of " + len + " bytes is larger than --max-body-bytes=" +
                               std::to_string(limits_.max_body_bytes));
      }
    }
    c->stream->SetReadDeadline(limits_.body_timeout, "body", "--body-timeout", 0);
    return HandlerResponse::Unhandled;
  });
  // `Expect: 100-continue`: an oversized body is refused before the client
  // sends it. (httplib writes `res` as it is for any status but 100 and 417.)
  set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::string len = req.get_header_value("Content-Length");
    if (!len.empty() && len.size() <= 19 &&
        len.find_first_not_of("0123456789") == std::string::npos &&
        std::stoull(len) > limits_.max_body_bytes) {
      res.status = 413;
      res.set_content(JsonError("request body of " + len +
                                " bytes is larger than --max-body-bytes=" +
                                std::to_string(limits_.max_body_bytes)),
                      "application/json");
      res.set_header("Connection", "close");
      if (tls_connection != nullptr) tls_connection->close_after = true;
      return 413;
    }
    return 100;
  });
  // The answer is ready: it must be sent within write_timeout.
  set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    if (tls_connection != nullptr) tls_connection->stream->SetWriteDeadline(limits_.write_timeout);
    if (res.status == 503 && !res.has_header("Retry-After")) {
      res.set_header("Retry-After", std::to_string(limits_.retry_after));
    }
  });
  // Errors httplib answers on its own (no body yet) get a JSON message; a
  // read that ran out of time becomes 408 and closes the connection.
  set_error_handler(HandlerWithResponse([this](const httplib::Request& req,
                                               httplib::Response& res) {
    if (!res.body.empty()) return HandlerResponse::Unhandled;  // a handler's own error
    Connection* c = tls_connection;
    std::string message;
    if (c != nullptr && !c->stream->timeout().empty()) {
      res.status = c->stream->failure_status();
      message = c->stream->timeout();
      if (res.status == 408) stats_.timed_out.fetch_add(1, std::memory_order_relaxed);
    } else if (res.status == 413) {
      message = "request body larger than --max-body-bytes=" +
                std::to_string(limits_.max_body_bytes);
    } else if (res.status == 414) {
      message = "request line longer than " + std::to_string(CPPHTTPLIB_REQUEST_URI_MAX_LENGTH) +
                " bytes";
    } else if (res.status == 404) {
      message = "no endpoint " + Printable(req.method, 16) + " " + Printable(req.path) +
                "; endpoints: " + endpoint_hint_;
    } else if (res.status == 400) {
      message = "malformed HTTP request";
    } else {
      message = "HTTP " + std::to_string(res.status);
    }
    if (c != nullptr && (res.status == 408 || res.status == 413 || res.status == 431 ||
                         res.status == 400)) {
      c->close_after = true;
      res.set_header("Connection", "close");
    }
    res.set_content(JsonError(message), "application/json");
    return HandlerResponse::Handled;
  }));
}

BoundedHttpServer::~BoundedHttpServer() {
  for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

absl::StatusOr<int> BoundedHttpServer::Listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &result);
  if (rc != 0) {
    return absl::InvalidArgumentError("cannot resolve host '" + host + "': " + gai_strerror(rc));
  }
  std::string error = "no address";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        ::listen(fd, limits_.backlog) != 0) {
      error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    std::string ip;
    int bound_port = 0;
    AddressOf(ss, ip, bound_port);
    SetNonBlocking(fd);
    listen_fd_ = fd;
    ::freeaddrinfo(result);
    return bound_port;
  }
  ::freeaddrinfo(result);
  return absl::UnavailableError("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                                error);
}

void BoundedHttpServer::Stop() {
  stopping_.store(true);
  char c = 's';
  [[maybe_unused]] ssize_t n = ::write(stop_pipe_[1], &c, 1);
}

void BoundedHttpServer::Run() {
  AcceptLoop();
  std::unique_lock<std::mutex> lock(mu_);
  all_closed_.wait(lock, [&] { return open_.load() == 0; });
}

void BoundedHttpServer::SetHealthProbe(std::vector<std::string> paths,
                                       std::function<bool(const std::string& path)> healthy) {
  health_paths_ = std::move(paths);
  healthy_ = std::move(healthy);
}

std::string BoundedHttpServer::HealthPathOf(const std::string& head) const {
  for (const std::string& path : health_paths_) {
    for (const char* end : {" ", "?"}) {
      if (head.rfind("GET " + path + end, 0) == 0) return path;
    }
  }
  return "";
}

std::string BoundedHttpServer::BusyAnswer(const std::string& health_path) const {
  if (!health_path.empty()) {
    if (healthy_(health_path)) {
      return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3\r\n"
             "Connection: close\r\n\r\n{}\n";
    }
    std::string body = JsonError("not ready: " + health_path);
    return "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }
  std::string body = JsonError(
      "server busy: all " + std::to_string(limits_.max_connections) +
      " connections are in use (--max-connections=" + std::to_string(limits_.max_connections) +
      "); retry after " + std::to_string(limits_.retry_after) + " s");
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
         "Content-Length: " + std::to_string(body.size()) +
         "\r\nRetry-After: " + std::to_string(limits_.retry_after) +
         "\r\nConnection: close\r\n\r\n" + body;
}

void BoundedHttpServer::AcceptLoop() {
  std::deque<PendingConnection> pending;
  std::vector<pollfd> fds;
  auto close_pending = [&](PendingConnection& p) {
    if (p.state == PendingConnection::State::kReading) {
      stats_.evicted.fetch_add(1, std::memory_order_relaxed);
    }
    ::close(p.fd);
    p.fd = -1;
  };
  while (!stopping_.load()) {
    fds.clear();
    fds.push_back({listen_fd_, POLLIN, 0});
    fds.push_back({stop_pipe_[0], POLLIN, 0});
    Clock::time_point next = Clock::now() + std::chrono::seconds(60);
    for (const PendingConnection& p : pending) {
      short events = p.state == PendingConnection::State::kWriting ? POLLOUT : POLLIN;
      fds.push_back({p.fd, events, 0});
      next = std::min(next, p.deadline);
    }
    int r = ::poll(fds.data(), fds.size(), MsUntil(next, 60000));
    if (r < 0 && errno != EINTR) {
      std::perror("engine_server: poll");
      break;
    }
    if (stopping_.load()) break;

    // Pending connections first (their poll entries match the deque's order).
    Clock::time_point now = Clock::now();
    for (size_t i = 0; i < pending.size(); ++i) {
      PendingConnection& p = pending[i];
      short revents = r > 0 ? fds[i + 2].revents : 0;
      if (revents != 0) {
        if (p.state == PendingConnection::State::kReading) {
          char buf[2048];
          ssize_t n = ::recv(p.fd, buf, sizeof(buf), 0);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close_pending(p);
            continue;
          }
          if (n > 0) p.in.append(buf, static_cast<size_t>(n));
          if (p.in.find("\r\n\r\n") != std::string::npos ||
              p.in.find("\n\n") != std::string::npos || p.in.size() >= 8192) {
            std::string health = HealthPathOf(p.in);
            (!health.empty() ? stats_.busy_healthz : stats_.busy_answers)
                .fetch_add(1, std::memory_order_relaxed);
            p.out = BusyAnswer(health);
            p.in.clear();
            p.state = PendingConnection::State::kWriting;
            p.deadline = now + std::chrono::milliseconds(ToMs(limits_.write_timeout));
          }
        }
        if (p.state == PendingConnection::State::kWriting) {
          ssize_t n = ::send(p.fd, p.out.data() + p.sent, p.out.size() - p.sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
          if (n < 0 && errno != EAGAIN && errno != EINTR) {
            close_pending(p);
            continue;
          }
          if (n > 0) p.sent += static_cast<size_t>(n);
          if (p.sent == p.out.size()) {
            // Answered. Reading on until the client closes (briefly) lets it
            // see the answer: closing with unread bytes would send a reset.
            ::shutdown(p.fd, SHUT_WR);
            p.state = PendingConnection::State::kDraining;
            p.deadline = now + std::chrono::seconds(1);
          }
        } else if (p.state == PendingConnection::State::kDraining) {
          char buf[4096];
          ssize_t n = ::recv(p.fd, buf, sizeof(buf), 0);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close_pending(p);
            continue;
          }
        }
      }
      if (p.fd >= 0 && now >= p.deadline) close_pending(p);
    }
    std::erase_if(pending, [](const PendingConnection& p) { return p.fd < 0; });

    // New connections.
    if (r > 0 && (fds[0].revents & POLLIN) != 0) {
      for (int i = 0; i < 64; ++i) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EMFILE || errno == ENFILE) {
            // Out of descriptors: let the timeouts free some.
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
          break;
        }
        stats_.accepted.fetch_add(1, std::memory_order_relaxed);
        Dispatch(fd, pending);
      }
    }
  }
  for (PendingConnection& p : pending) ::close(p.fd);
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void BoundedHttpServer::Dispatch(int fd, std::deque<PendingConnection>& pending) {
  int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  if (open_.load() < limits_.max_connections) {
    open_.fetch_add(1);
    try {
      std::thread([this, fd] { ServeConnection(fd); }).detach();
      stats_.served.fetch_add(1, std::memory_order_relaxed);
      return;
    } catch (const std::system_error&) {
      open_.fetch_sub(1);  // no thread to be had: answered like a busy server
    }
  }
  if (static_cast<int>(pending.size()) >= limits_.max_pending) {
    PendingConnection& oldest = pending.front();
    if (oldest.state == PendingConnection::State::kReading) {
      stats_.evicted.fetch_add(1, std::memory_order_relaxed);
    }
    ::close(oldest.fd);
    pending.pop_front();
  }
  SetNonBlocking(fd);
  PendingConnection p;
  p.fd = fd;
  p.deadline = Clock::now() + std::chrono::milliseconds(ToMs(limits_.header_timeout));
  pending.push_back(std::move(p));
}

void BoundedHttpServer::ServeConnection(int fd) {
  {
    DeadlineStream stream(fd, limits_);
    Connection connection;
    connection.stream = &stream;
    tls_connection = &connection;
    for (int n = 0; n < limits_.keep_alive_max && !stopping_.load(); ++n) {
      // Idle: wait for the next request (or Stop()).
      if (!stream.has_buffered()) {
        pollfd p[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        int r;
        do {
          r = ::poll(p, 2, ToMs(limits_.idle_timeout));
        } while (r < 0 && errno == EINTR);
        if (r == 0) stats_.idle_closed.fetch_add(1, std::memory_order_relaxed);
        if (r <= 0 || (p[1].revents & POLLIN) != 0) break;
      }
      stream.NewRequest();
      stream.SetReadDeadline(limits_.header_timeout, "head", "--header-timeout",
                             limits_.max_header_bytes);
      bool last = n + 1 == limits_.keep_alive_max;
      bool connection_closed = false;
      bool ok = process_request(stream, last, connection_closed, nullptr);
      if (!ok && stream.failure_status() == 408 && !connection.close_after) {
        // Timed out before anything could be answered (e.g. mid request line).
        stats_.timed_out.fetch_add(1, std::memory_order_relaxed);
      }
      if (!ok || connection_closed || connection.close_after) break;
    }
    tls_connection = nullptr;
    ::close(fd);
  }
  std::lock_guard<std::mutex> lock(mu_);
  open_.fetch_sub(1);
  all_closed_.notify_all();
}

}  // namespace engine::serving
