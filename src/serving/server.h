// InferenceServer: the Open Inference Protocol v2 REST API (KServe v2) over a
// model repository, with Prometheus metrics, on BoundedHttpServer.
//
//   GET  /v2/health/live                    200 while the process serves
//   GET  /v2/health/ready                   200 when ready (not shutting down;
//                                           with strict readiness: every
//                                           loaded model version ready), else 400
//   GET  /v2                                server metadata {"name", "version", "extensions"}
//   GET  /v2/models/<m>[/versions/<v>]      model metadata
//   GET  /v2/models/<m>[/versions/<v>]/ready  200 ready, 400 not ready
//   POST /v2/models/<m>[/versions/<v>]/infer  inference (oip_codec.h: JSON
//                                           tensors, binary tensor extension)
//   POST /v2/repository/index               [{"name", "version", "state", "reason"}]
//   POST /v2/repository/models/<m>/load     (re)load from the repository
//   POST /v2/repository/models/<m>/unload
//   GET  /metrics                           Prometheus text format (metrics.h)
//
// Errors are {"error": "<message>"}: 400 for a request the model cannot take
// (JSON, datatypes, shapes, names, a model not ready), 404 for an unknown
// model, version or endpoint, 503 (Retry-After) when a model's queue is full,
// a request timed out in the queue, or the server is shutting down, 500 when
// the engine fails; the HTTP layer's own 408/411/413/431 (bounded_http.h).
// Health and metadata are answered on the connection threads, never behind
// the inference queues, so they answer while every worker is busy; past the
// connection limit the accept thread answers the health paths itself.
#ifndef ENGINE_SERVING_SERVER_H_
#define ENGINE_SERVING_SERVER_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "serving/bounded_http.h"
#include "serving/repository.h"

namespace engine::serving {

struct ServerOptions {
  std::string repository;          ///< model repository root (repository.h)
  std::string host = "127.0.0.1";  ///< address to bind; the server has no authentication
  int port = 8000;                 ///< 0: any free port
  HttpLimits limits;               ///< connection limits and timeouts
  LoadOptions load;                ///< plan loading limits
  /// Ready only when every loaded model version is ready (Triton's
  /// --strict-readiness); otherwise ready while not shutting down.
  bool strict_readiness = false;
  /// Queue timeout for requests without parameters.timeout whose model sets
  /// no default_timeout_us, microseconds; 0: none.
  int64_t default_timeout_us = 0;
};

class InferenceServer {
 public:
  explicit InferenceServer(ServerOptions options);
  ~InferenceServer();

  /// Loads the repository, registers the routes, binds. Returns the port.
  /// Errors: NotFound (repository root), those of BoundedHttpServer::Listen.
  absl::StatusOr<int> Start();

  /// Serves until Shutdown(); then waits for the requests in flight and
  /// drains every model's queue.
  void Run();

  /// Graceful shutdown: readiness turns false at once, new connections are
  /// refused, requests in flight finish. Thread-safe; async-signal-unsafe.
  void Shutdown();

  bool ready() const;
  /// Shutdown() was called.
  bool shutting_down() const { return shutting_down_.load(); }
  /// ServerOptions::default_timeout_us.
  int64_t default_timeout_us() const { return options_.default_timeout_us; }
  ModelRepository& repository() { return *repository_; }
  const BoundedHttpServer& http() const { return *http_; }

  /// The Prometheus exposition of every model's statistics (metrics.h).
  std::string Metrics() const;

 private:
  void RegisterRoutes();

  ServerOptions options_;
  std::unique_ptr<ModelRepository> repository_;
  std::unique_ptr<BoundedHttpServer> http_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace engine::serving

#endif  // ENGINE_SERVING_SERVER_H_
