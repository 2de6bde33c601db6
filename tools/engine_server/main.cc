// engine_server: serves a model repository over the Open Inference Protocol
// v2 REST API (KServe v2), with dynamic batching and Prometheus metrics.
//
//   engine_server --model-repository=DIR [--host=127.0.0.1] [--port=8000] [flags]
//
// The library does the work (src/serving/server.h lists the endpoints,
// repository.h the layout, model_config.h config.json); this file parses
// flags and turns SIGINT/SIGTERM into a graceful shutdown (readiness false at
// once, requests in flight and queued finish, then exit 0).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "engine/logger.h"
#include "serving/server.h"
#ifdef ENGINE_SERVING_HAS_GRPC
#include "serving/grpc_service.h"
#endif

namespace {

using engine::serving::HttpLimits;
using engine::serving::ServerOptions;

[[noreturn]] void Usage(const char* msg) {
  if (msg != nullptr) std::fprintf(stderr, "engine_server: %s\n", msg);
  const HttpLimits d;
  std::fprintf(
      stderr,
      "usage: engine_server --model-repository=DIR [flags]\n"
      "  --model-repository=DIR  <DIR>/<model>/<version>/model.plan (+ <model>/config.json)\n"
      "  --host=127.0.0.1        address to listen on (no authentication: loopback by default)\n"
      "  --port=8000             port; 0 binds any free port (printed)\n"
      "  --grpc-port=N           also serve the OIP gRPC API on this port (0: any free port;\n"
      "                          default: no gRPC; needs a build with libgrpc++-dev)\n"
      "  --grpc-threads=16       most gRPC worker threads\n"
      "  --strict-readiness=0|1  /v2/health/ready only when every model version is ready (0)\n"
      "  --default-timeout-us=N  queue timeout of requests that set none (0: none)\n"
      "  --max-activation-bytes=N  largest activation tensor/arena a plan may declare (0: RAM)\n"
      "  --max-connections=N     connections served at once, one thread each (default %d) [1, 900]\n"
      "  --max-pending=N         connections past that kept to answer health / 503 (default %d)\n"
      "  --idle-timeout=S        close a keep-alive connection idle this long (default %g s)\n"
      "  --header-timeout=S      request line + headers complete within (default %g s)\n"
      "  --read-timeout=S        longest silence while receiving a request (default %g s)\n"
      "  --body-timeout=S        body complete within, after the headers (default %g s)\n"
      "  --write-timeout=S       answer sent within (default %g s)\n"
      "  --keep-alive-max=N      requests per connection (default %d)\n"
      "  --max-body-bytes=N      largest request body; more gets 413 (default %zu)\n"
      "  --max-header-bytes=N    largest request head; more gets 431 (default %zu)\n"
      "  --backlog=N             listen(2) backlog (default %d)\n",
      d.max_connections, d.max_pending, d.idle_timeout, d.header_timeout, d.read_timeout,
      d.body_timeout, d.write_timeout, d.keep_alive_max, d.max_body_bytes, d.max_header_bytes,
      d.backlog);
  std::exit(2);
}

double ParseNumber(const std::string& flag, const std::string& value, double lo, double hi,
                   bool integer) {
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi ||
      (integer && std::trunc(v) != v)) {
    char range[96];
    std::snprintf(range, sizeof(range), "%s in [%.15g, %.15g]",
                  integer ? "an integer" : "a number", lo, hi);
    Usage(("bad value for " + flag + ": '" + value + "' (expected " + range + ")").c_str());
  }
  return v;
}

// Flags of the gRPC endpoint (serving/grpc_service.h).
int grpc_port = -1;  // -1: no gRPC endpoint
int grpc_threads = 16;

ServerOptions ParseArgs(int argc, char** argv) {
  ServerOptions o;
  HttpLimits& l = o.limits;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") Usage(nullptr);
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      Usage(("expected --flag=value, got '" + arg + "'").c_str());
    }
    std::string key = arg.substr(0, eq), value = arg.substr(eq + 1);
    auto integer = [&](double lo, double hi) {
      return static_cast<int64_t>(ParseNumber(key, value, lo, hi, true));
    };
    auto seconds = [&] {
      double v = ParseNumber(key, value, 0, 3600, false);
      if (v <= 0) Usage(("bad value for " + key + ": must be more than 0 seconds").c_str());
      return v;
    };
    if (key == "--model-repository") {
      o.repository = value;
    } else if (key == "--host") {
      o.host = value;
    } else if (key == "--port") {
      o.port = static_cast<int>(integer(0, 65535));
    } else if (key == "--grpc-port") {
      grpc_port = static_cast<int>(integer(0, 65535));
    } else if (key == "--grpc-threads") {
      grpc_threads = static_cast<int>(integer(2, 1024));
    } else if (key == "--strict-readiness") {
      o.strict_readiness = integer(0, 1) == 1;
    } else if (key == "--default-timeout-us") {
      o.default_timeout_us = integer(0, 3.6e9);
    } else if (key == "--max-activation-bytes") {
      o.load.max_activation_bytes = integer(0, 0x1p40);
    } else if (key == "--max-connections") {
      l.max_connections = static_cast<int>(integer(1, 900));
    } else if (key == "--max-pending") {
      l.max_pending = static_cast<int>(integer(1, 100));
    } else if (key == "--idle-timeout") {
      l.idle_timeout = seconds();
    } else if (key == "--header-timeout") {
      l.header_timeout = seconds();
    } else if (key == "--read-timeout") {
      l.read_timeout = seconds();
    } else if (key == "--body-timeout") {
      l.body_timeout = seconds();
    } else if (key == "--write-timeout") {
      l.write_timeout = seconds();
    } else if (key == "--keep-alive-max") {
      l.keep_alive_max = static_cast<int>(integer(1, 1e6));
    } else if (key == "--max-body-bytes") {
      l.max_body_bytes = static_cast<size_t>(integer(1, 0x1p34));
    } else if (key == "--max-header-bytes") {
      l.max_header_bytes = static_cast<size_t>(integer(1024, 1 << 20));
    } else if (key == "--backlog") {
      l.backlog = static_cast<int>(integer(1, 65535));
    } else {
      Usage(("unknown flag " + key).c_str());
    }
  }
  if (o.repository.empty()) Usage("no --model-repository given");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  ServerOptions opt = ParseArgs(argc, argv);
  // SIGINT/SIGTERM are handled by one thread (sigwait): block them in every
  // thread created from here on.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  engine::StderrLogger logger(engine::Severity::kWarning);
  opt.load.logger = &logger;
  engine::serving::InferenceServer server(opt);
  absl::StatusOr<int> port = server.Start();
  if (!port.ok()) {
    std::fprintf(stderr, "engine_server: %s\n", port.status().ToString().c_str());
    return 1;
  }
  for (const auto& m : server.repository().All()) {
    std::printf("engine_server: model '%s' version %s: %s%s\n", m->name().c_str(),
                m->version().c_str(), m->ready() ? "READY" : "UNAVAILABLE: ",
                m->reason().c_str());
  }
  std::printf("engine_server: listening on http://%s:%d\n", opt.host.c_str(), *port);
#ifdef ENGINE_SERVING_HAS_GRPC
  std::unique_ptr<engine::serving::GrpcEndpoint> grpc;
  if (grpc_port >= 0) {
    absl::StatusOr<std::unique_ptr<engine::serving::GrpcEndpoint>> g =
        engine::serving::GrpcEndpoint::Start(&server, opt.host, grpc_port, grpc_threads);
    if (!g.ok()) {
      std::fprintf(stderr, "engine_server: %s\n", g.status().ToString().c_str());
      return 1;
    }
    grpc = *std::move(g);
    std::printf("engine_server: gRPC listening on %s:%d\n", opt.host.c_str(), grpc->port());
  }
#else
  if (grpc_port >= 0) {
    std::fprintf(stderr, "engine_server: built without gRPC (install libgrpc++-dev and "
                         "protobuf-compiler-grpc, then rebuild)\n");
    return 1;
  }
#endif
  std::fflush(stdout);

  std::atomic<bool> stopped_by_signal{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stopped_by_signal = sig != 0;
    server.Shutdown();
#ifdef ENGINE_SERVING_HAS_GRPC
    if (grpc != nullptr) grpc->Shutdown();  // calls in flight finish
#endif
  });
  server.Run();  // returns after Shutdown() and the requests in flight
  if (!stopped_by_signal) kill(getpid(), SIGTERM);  // the accept loop failed: wake the thread
  signal_thread.join();
  const auto& st = server.http().stats();
  std::printf("engine_server: stopped; connections: %llu accepted, %llu answered busy (503), "
              "%llu health answers past the limit, %llu closed idle, %llu requests timed out\n",
              static_cast<unsigned long long>(st.accepted.load()),
              static_cast<unsigned long long>(st.busy_answers.load()),
              static_cast<unsigned long long>(st.busy_healthz.load()),
              static_cast<unsigned long long>(st.idle_closed.load()),
              static_cast<unsigned long long>(st.timed_out.load()));
  return 0;
}
