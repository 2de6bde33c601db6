// BoundedHttpServer: cpp-httplib's request parsing and routing (httplib::Server)
// behind a connection front end that no client can starve:
//
//  - one accept thread owns the listening socket. While fewer than
//    max_connections connections are being served, a new connection gets a
//    thread of its own (httplib parses and routes its requests). Past that,
//    the accept thread itself keeps it (up to max_pending of them, oldest
//    closed first when more arrive), reads its request head without blocking
//    and answers a `GET` of a health path (SetHealthProbe: /v2/health/live,
//    /v2/health/ready) itself, and anything else with 503, a JSON error and
//    `Retry-After`; so health checks answer even when every connection slot
//    is held by idle or slow clients;
//  - every read and write of a served connection is bounded: a keep-alive
//    connection with no request for idle_timeout is closed, a request head
//    must be complete within header_timeout, a body within body_timeout of
//    its head (and never silent for read_timeout), an answer must be sent
//    within write_timeout; a body over max_body_bytes is refused with 413
//    before it is read, a head over max_header_bytes with 431. A request that
//    runs out of time gets 408 and its connection is closed.
//
// Handlers are registered on the httplib::Server base (Get, Post, ...), as
// usual; Listen() and Run() replace httplib's bind/listen (httplib 0.11 has
// no connection limit and holds a pool thread per open connection).
#ifndef ENGINE_SERVING_BOUNDED_HTTP_H_
#define ENGINE_SERVING_BOUNDED_HTTP_H_

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace engine::serving {

/// Limits of BoundedHttpServer; every one is a command-line flag of
/// engine_server (same name, dashes for underscores). Times in seconds.
struct HttpLimits {
  /// Connections served at once, one thread each (idle keep-alive ones
  /// included). Range [1, 900].
  int max_connections = 256;
  /// Connections kept past max_connections by the accept thread only to
  /// answer a health path (SetHealthProbe) or 503; more arrivals close the oldest. [1, 100].
  int max_pending = 64;
  /// A keep-alive connection with no request for this long is closed.
  double idle_timeout = 5;
  /// Request line and headers must be complete within this long after the
  /// idle wait ends (their first byte arrived).
  double header_timeout = 10;
  /// Longest silence while a request is being received.
  double read_timeout = 5;
  /// The body must be complete within this long after the headers.
  double body_timeout = 30;
  /// An answer must be sent within this long (slow readers are cut off).
  double write_timeout = 30;
  /// Requests per connection; the last answer carries `Connection: close`.
  int keep_alive_max = 1000;
  /// Largest request body in bytes; larger ones get 413.
  size_t max_body_bytes = size_t{64} << 20;
  /// Largest request head (request line and headers) in bytes; larger ones
  /// get 431. Range [1024, 1 MiB]. (httplib reads a line of any length.)
  size_t max_header_bytes = size_t{64} << 10;
  /// Seconds a 503 answer tells the client to wait (`Retry-After`).
  int retry_after = 1;
  /// listen(2) backlog: connections the kernel queues before accept.
  int backlog = 1024;
};

/// Counters, for the log line at exit.
struct HttpStats {
  std::atomic<uint64_t> accepted{0};        // connections accepted
  std::atomic<uint64_t> served{0};          // ... of which given a thread
  std::atomic<uint64_t> busy_answers{0};    // 503 answered by the accept thread
  std::atomic<uint64_t> busy_healthz{0};    // health paths answered by the accept thread
  std::atomic<uint64_t> evicted{0};         // pending connections closed unanswered
  std::atomic<uint64_t> idle_closed{0};     // keep-alive connections closed idle
  std::atomic<uint64_t> timed_out{0};       // requests cut by a deadline (408 or closed)
};

struct PendingConnection;

class BoundedHttpServer : public httplib::Server {
 public:
  explicit BoundedHttpServer(const HttpLimits& limits);
  ~BoundedHttpServer() override;
  BoundedHttpServer(const BoundedHttpServer&) = delete;
  BoundedHttpServer& operator=(const BoundedHttpServer&) = delete;

  /// Binds and listens on host:port (port 0: a free port). Returns the port.
  /// Errors: InvalidArgument for an unknown host, Unavailable when the
  /// address cannot be bound (the message has errno's text).
  absl::StatusOr<int> Listen(const std::string& host, int port);

  /// Accepts and serves connections until Stop(); then waits for the
  /// requests in flight (bounded by the limits' timeouts) and returns.
  void Run();

  /// Makes Run() return. Thread-safe; callable before Run().
  void Stop();

  /// Health paths the accept thread answers itself when every connection
  /// slot is taken (a `GET <path>` with an optional query): 200 `{}` when
  /// `healthy(path)` is true, 400 {"error": "..."} otherwise (the Open
  /// Inference Protocol's "4xx means false"). `healthy` is called on the
  /// accept thread and must not block. Default: only `GET /healthz`, always
  /// healthy. Call before Listen().
  void SetHealthProbe(std::vector<std::string> paths,
                      std::function<bool(const std::string& path)> healthy);
  /// The endpoint list a 404 answer names ("GET /v2, POST /v2/models/...").
  void SetEndpointHint(std::string hint) { endpoint_hint_ = std::move(hint); }

  const HttpLimits& limits() const { return limits_; }
  const HttpStats& stats() const { return stats_; }
  /// Connections currently served by their own thread.
  int open_connections() const { return open_.load(); }

 private:
  void AcceptLoop();
  void Dispatch(int fd, std::deque<PendingConnection>& pending);
  void ServeConnection(int fd);
  /// The health path `head` (a request head) asks for, or "" for none.
  std::string HealthPathOf(const std::string& head) const;
  std::string BusyAnswer(const std::string& health_path) const;

  HttpLimits limits_;
  HttpStats stats_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};  // readable once Stop() was called
  std::atomic<bool> stopping_{false};
  std::atomic<int> open_{0};
  std::mutex mu_;
  std::condition_variable all_closed_;
  std::vector<std::string> health_paths_{"/healthz"};
  std::function<bool(const std::string&)> healthy_ = [](const std::string&) { return true; };
  std::string endpoint_hint_ = "GET /healthz";
};

}  // namespace engine::serving

#endif  // ENGINE_SERVING_BOUNDED_HTTP_H_
