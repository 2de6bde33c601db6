// engine_example_server: a minimal multi-threaded inference service over the
// engine's public API, built from the installed package (find_package(engine))
// against engine::runtime: it loads plans and never links the builder or ONNX.
// It shows how a service embeds the runtime (one immutable Engine, a pool of
// ExecutionContexts, engine errors turned into HTTP answers); the product
// server, with the Open Inference Protocol, a model repository, dynamic
// batching, metrics and hardened connection handling, is engine_server
// (tools/engine_server, README "Serving").
//
//   engine_example_server PLAN [--host=127.0.0.1] [--port=8080] [--workers=N]
//                         [--threads=N] [--max-queued=N] [--connections=N]
//                         [--keep-alive-timeout=S] [--read-timeout=S]
//                         [--write-timeout=S] [--max-body-bytes=N]
//
// Loads the plan once (Runtime::LoadEngineFile; the Engine is immutable and
// shared by every request) and answers over HTTP/1.1 (keep-alive):
//
//   GET  /healthz    200 "ok"
//   GET  /v1/model   JSON: model name, engine version, hardware, inputs and
//                    outputs with name, dtype, shape and bytes
//   POST /v1/infer   body: the raw little-endian bytes of every input, in
//                    engine order (one input: just its bytes, e.g. float32
//                    NCHW), Content-Type application/octet-stream; answers the
//                    raw bytes of every output, in engine order.
//                    With Content-Type application/json the body is
//                    {"inputs": {"<name>": [flat list of numbers], ...}} and the
//                    answer {"outputs": {"<name>": {"dtype", "shape", "data"}}}
//                    (json_tensors.h: finite numbers only in requests; a
//                    non-finite output element is the string "nan", "inf" or
//                    "-inf").
//
// Errors are JSON {"error": "<message>"}: 400 for what the request got wrong
// (body size, with the expected bytes; JSON rules; the engine's
// InvalidArgument, NotFound, FailedPrecondition messages), 413 for a body over
// --max-body-bytes (cpp-httplib), 503 with Retry-After when --workers requests
// run inference and --max-queued more wait, or the engine reports
// ResourceExhausted, 500 otherwise.
//
// Threads: cpp-httplib serves connections from a pool of --connections
// threads (a keep-alive connection holds its thread until it closes or idles
// past --keep-alive-timeout). At most --workers requests run inference at
// once, each with an ExecutionContext from a pool (created on first need,
// reused, one thread at a time); up to --max-queued more wait for one, past
// that a request gets 503. --threads sets every context's intra-op threads
// (default: the engine's default, all cores, shared between contexts by the
// engine's process-wide worker pool).
//
// The server has no authentication: it binds the loopback address unless
// --host says otherwise. SIGINT/SIGTERM stop it (requests in flight finish).
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "engine/runtime.h"
#include "json_tensors.h"

namespace {

using engine_example::DescribeTensor;
using nlohmann::json;

struct Options {
  std::string plan;
  std::string host = "127.0.0.1";
  int port = 8080;      // 0: any free port (printed)
  int workers = 0;      // 0: max(8, hardware threads)
  int threads = 0;      // 0: ExecutionContext::DefaultThreads()
  int max_queued = -1;  // -1: 4 * workers
  int connections = 64;           // cpp-httplib worker threads
  double keep_alive_timeout = 5;  // seconds
  double read_timeout = 5;        // seconds
  double write_timeout = 30;      // seconds
  size_t max_body_bytes = 0;      // 0: 16 x the engine's input bytes + 1 MiB
};

[[noreturn]] void Usage(const char* msg) {
  if (msg != nullptr) std::fprintf(stderr, "engine_example_server: %s\n", msg);
  std::fprintf(
      stderr,
      "usage: engine_example_server PLAN [flags]\n"
      "  --host=127.0.0.1          address to listen on\n"
      "  --port=8080               port; 0 binds any free port (printed)\n"
      "  --workers=N               requests running inference at once (default max(8, cores))"
      " [1, 1024]\n"
      "  --threads=N               intra-op threads per request (default: all cores) [0, 1024]\n"
      "  --max-queued=N            requests waiting for a worker; more get 503 (default 4 x"
      " workers) [0, 65536]\n"
      "  --connections=N           connections served at once, one thread each (default 64)"
      " [1, 1024]\n"
      "  --keep-alive-timeout=S    close a keep-alive connection idle this long (default 5 s)\n"
      "  --read-timeout=S          longest silence while receiving a request (default 5 s)\n"
      "  --write-timeout=S         longest stall while sending an answer (default 30 s)\n"
      "  --max-body-bytes=N        largest request body; more gets 413 (default 16 x the\n"
      "                            engine's input bytes + 1 MiB) [1, 2^34]\n"
      "  Times S are whole seconds in [1, 3600]. For untrusted networks use engine_server\n"
      "  (per-phase deadlines, connection limits, /v2/health answered past the limit).\n");
  std::exit(2);
}

// A number within [lo, hi]; `integer`: whole numbers only.
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

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") Usage(nullptr);
    if (arg.rfind("--", 0) != 0) {
      if (!o.plan.empty()) Usage("more than one plan given");
      o.plan = arg;
      continue;
    }
    size_t eq = arg.find('=');
    if (eq == std::string::npos) Usage(("flag needs a value: " + arg).c_str());
    std::string key = arg.substr(0, eq), value = arg.substr(eq + 1);
    auto integer = [&](double lo, double hi) {
      return static_cast<int>(ParseNumber(key, value, lo, hi, true));
    };
    if (key == "--plan") {
      o.plan = value;
    } else if (key == "--host") {
      o.host = value;
    } else if (key == "--port") {
      o.port = integer(0, 65535);
    } else if (key == "--workers") {
      o.workers = integer(1, 1024);
    } else if (key == "--threads") {
      o.threads = integer(0, 1024);
    } else if (key == "--max-queued") {
      o.max_queued = integer(0, 65536);
    } else if (key == "--connections") {
      o.connections = integer(1, 1024);
    } else if (key == "--keep-alive-timeout") {
      o.keep_alive_timeout = integer(1, 3600);
    } else if (key == "--read-timeout") {
      o.read_timeout = integer(1, 3600);
    } else if (key == "--write-timeout") {
      o.write_timeout = integer(1, 3600);
    } else if (key == "--max-body-bytes") {
      o.max_body_bytes = static_cast<size_t>(ParseNumber(key, value, 1, 0x1p34, true));
    } else {
      Usage(("unknown flag " + key).c_str());
    }
  }
  if (o.plan.empty()) Usage("no plan given");
  if (o.workers == 0) {
    o.workers = std::max(8, static_cast<int>(std::thread::hardware_concurrency()));
  }
  if (o.max_queued < 0) o.max_queued = 4 * o.workers;
  return o;
}

// Execution contexts for the requests in flight. At most `max_running`
// leases are out at once; Acquire() waits for one when they are (with at most
// `max_queued` others) and refuses with ResourceExhausted past that. A lease
// gives its context back when the request is done; contexts are created on
// first need and reused, so there are at most `max_running` of them.
class ContextPool {
 public:
  ContextPool(std::shared_ptr<const engine::Engine> engine, int threads, int max_running,
              int max_queued)
      : engine_(std::move(engine)),
        threads_(threads),
        max_running_(max_running),
        max_queued_(max_queued) {}

  class Lease {
   public:
    Lease(ContextPool* pool, std::unique_ptr<engine::ExecutionContext> ctx)
        : pool_(pool), ctx_(std::move(ctx)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (ctx_ != nullptr) pool_->Release(std::move(ctx_));
    }
    engine::ExecutionContext* operator->() const { return ctx_.get(); }

   private:
    ContextPool* pool_;
    std::unique_ptr<engine::ExecutionContext> ctx_;
  };

  absl::StatusOr<Lease> Acquire() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (running_ >= max_running_) {
        if (waiting_ >= max_queued_) {
          return absl::ResourceExhaustedError(
              "server busy: " + std::to_string(running_) + " requests running inference and " +
              std::to_string(waiting_) + " waiting (--workers=" + std::to_string(max_running_) +
              ", --max-queued=" + std::to_string(max_queued_) + ")");
        }
        ++waiting_;
        free_slot_.wait(lock, [&] { return running_ < max_running_; });
        --waiting_;
      }
      ++running_;
      if (!free_.empty()) {
        std::unique_ptr<engine::ExecutionContext> ctx = std::move(free_.back());
        free_.pop_back();
        return Lease(this, std::move(ctx));
      }
    }
    // Created outside the lock: allocating an arena may take a while.
    absl::StatusOr<std::unique_ptr<engine::ExecutionContext>> ctx =
        engine_->CreateExecutionContext();
    absl::Status s = ctx.status();
    if (s.ok() && threads_ > 0) s = (*ctx)->SetThreads(threads_);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
      free_slot_.notify_one();
      return s;
    }
    created_.fetch_add(1, std::memory_order_relaxed);
    return Lease(this, *std::move(ctx));
  }

  int created() const { return created_.load(std::memory_order_relaxed); }

 private:
  void Release(std::unique_ptr<engine::ExecutionContext> ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(ctx));
    --running_;
    free_slot_.notify_one();
  }

  std::shared_ptr<const engine::Engine> engine_;
  const int threads_, max_running_, max_queued_;
  std::mutex mu_;
  std::condition_variable free_slot_;
  int running_ = 0, waiting_ = 0;
  std::vector<std::unique_ptr<engine::ExecutionContext>> free_;
  std::atomic<int> created_{0};
};

int HttpStatus(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
      return 400;
    case absl::StatusCode::kResourceExhausted:
      return 503;
    default:
      return 500;
  }
}

std::string ErrorBody(const std::string& message) {
  std::string body = "{\"error\":";
  engine_example::AppendJsonString(message, &body);
  return body + "}\n";
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  if (status == 503) res.set_header("Retry-After", "1");
  res.set_content(ErrorBody(message), "application/json");
}

void SendError(httplib::Response& res, const absl::Status& s) {
  SendError(res, HttpStatus(s), s.ToString());
}

json DescJson(const engine::TensorDesc& d) {
  return json{{"name", d.name},
              {"dtype", engine::DataTypeName(d.dtype)},
              {"shape", d.shape},
              {"bytes", d.ByteSize()}};
}

json ModelJson(const engine::Engine& e) {
  json inputs = json::array(), outputs = json::array();
  for (const engine::TensorDesc& d : e.inputs()) inputs.push_back(DescJson(d));
  for (const engine::TensorDesc& d : e.outputs()) outputs.push_back(DescJson(d));
  return json{{"model", e.plan_info().model_name},
              {"engine_version", e.plan_info().engine_version},
              {"plan_bytes", e.plan_info().plan_bytes},
              {"hardware", e.hardware().name},
              {"modeled_device_latency_ms", e.device_profile().latency_ms},
              {"inputs", inputs},
              {"outputs", outputs}};
}

// --- /v1/infer ----------------------------------------------------------------

class InferHandler {
 public:
  InferHandler(std::shared_ptr<const engine::Engine> engine, ContextPool* pool)
      : engine_(std::move(engine)), pool_(pool) {
    for (const engine::TensorDesc& d : engine_->inputs()) input_bytes_ += d.ByteSize();
    for (const engine::TensorDesc& d : engine_->outputs()) output_bytes_ += d.ByteSize();
  }

  size_t input_bytes() const { return input_bytes_; }

  void operator()(const httplib::Request& req, httplib::Response& res) const {
    auto start = std::chrono::steady_clock::now();
    const std::string content_type = req.get_header_value("Content-Type");
    const bool json_mode = content_type.rfind("application/json", 0) == 0;
    // The body is checked before a worker is taken: a bad request costs none.
    std::vector<engine::Tensor> parsed;
    if (json_mode) {
      absl::StatusOr<std::vector<engine::Tensor>> t =
          engine_example::ParseJsonInputs(req.body, engine_->inputs());
      if (!t.ok()) return SendError(res, t.status());
      parsed = *std::move(t);
    } else if (absl::Status s = CheckRawSize(req.body); !s.ok()) {
      return SendError(res, s);
    }

    absl::StatusOr<ContextPool::Lease> lease = pool_->Acquire();
    if (!lease.ok()) return SendError(res, lease.status());
    absl::Status s = json_mode ? SetInputs(parsed, *lease) : SetRawInputs(req.body, *lease);
    if (s.ok()) s = (*lease)->Execute();
    if (!s.ok()) return SendError(res, s);

    std::string body;
    if (json_mode) {
      body = "{\"outputs\":{";
    } else {
      body.reserve(output_bytes_);
    }
    bool first = true;
    for (const engine::TensorDesc& d : engine_->outputs()) {
      absl::StatusOr<const engine::Tensor*> out = (*lease)->GetOutput(d.name);
      if (!out.ok()) return SendError(res, out.status());
      if (json_mode) {
        if (!first) body.push_back(',');
        first = false;
        engine_example::AppendJsonString(d.name, &body);
        body.push_back(':');
        absl::Status e = engine_example::AppendJsonTensor(**out, &body);
        if (!e.ok()) {
          return SendError(res, absl::Status(e.code(), "output " + DescribeTensor(d) + ": " +
                                                           std::string(e.message())));
        }
      } else {
        body.append(static_cast<const char*>((*out)->data()), (*out)->byte_size());
      }
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                          start).count();
    res.set_header("Server-Timing", "infer;dur=" + std::to_string(ms));
    if (json_mode) {
      body += "}}\n";
      res.set_content(std::move(body), "application/json");
    } else {
      res.set_content(std::move(body), "application/octet-stream");
    }
  }

 private:
  absl::Status CheckRawSize(const std::string& body) const {
    if (body.size() == input_bytes_) return absl::OkStatus();
    std::string expected;
    for (const engine::TensorDesc& d : engine_->inputs()) {
      expected += (expected.empty() ? "" : ", ") + DescribeTensor(d);
    }
    return absl::InvalidArgumentError(
        "request body has " + std::to_string(body.size()) + " bytes; expected " +
        std::to_string(input_bytes_) + " bytes: the raw little-endian bytes of input " +
        expected + (engine_->inputs().size() > 1 ? ", concatenated in this order" : ""));
  }

  absl::Status SetRawInputs(const std::string& body, ContextPool::Lease& ctx) const {
    size_t offset = 0;
    for (const engine::TensorDesc& d : engine_->inputs()) {
      const char* p = body.data() + offset;
      absl::Status s;
      if (reinterpret_cast<uintptr_t>(p) % std::max<size_t>(engine::DataTypeSize(d.dtype), 1) ==
          0) {
        // No copy: a view of the request body (SetInput copies it into the arena).
        s = ctx->SetInput(d.name,
                          engine::Tensor::View(d.dtype, d.shape, const_cast<char*>(p)));
      } else {
        s = ctx->SetInput(d.name, engine::Tensor(d.dtype, d.shape,
                                                 std::as_bytes(std::span(p, d.ByteSize()))));
      }
      if (!s.ok()) return s;
      offset += d.ByteSize();
    }
    return absl::OkStatus();
  }

  // `tensors`: one per engine input, in engine order (ParseJsonInputs).
  absl::Status SetInputs(const std::vector<engine::Tensor>& tensors,
                         ContextPool::Lease& ctx) const {
    for (size_t i = 0; i < tensors.size(); ++i) {
      absl::Status s = ctx->SetInput(engine_->inputs()[i].name, tensors[i]);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  std::shared_ptr<const engine::Engine> engine_;
  ContextPool* pool_;
  size_t input_bytes_ = 0, output_bytes_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt = ParseArgs(argc, argv);

  // SIGINT/SIGTERM are handled by one thread (sigwait), so every thread
  // created from here on must have them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  engine::StderrLogger logger(engine::Severity::kWarning);
  absl::StatusOr<std::shared_ptr<const engine::Engine>> loaded =
      engine::Runtime::LoadEngineFile(opt.plan, &logger);
  if (!loaded.ok()) {
    std::fprintf(stderr, "engine_example_server: %s\n", loaded.status().ToString().c_str());
    return 1;
  }
  std::shared_ptr<const engine::Engine> eng = *std::move(loaded);
  ContextPool pool(eng, opt.threads, opt.workers, opt.max_queued);
  // One context up front: a plan whose arena cannot be allocated fails here,
  // not on the first request.
  {
    absl::StatusOr<ContextPool::Lease> first = pool.Acquire();
    if (!first.ok()) {
      std::fprintf(stderr, "engine_example_server: %s\n", first.status().ToString().c_str());
      return 1;
    }
  }
  InferHandler infer(eng, &pool);
  if (opt.max_body_bytes == 0) {
    // Room for the inputs as JSON text (about 5-7 bytes of text per byte of
    // float32, int8 or bool data), with a floor for small models.
    opt.max_body_bytes = 16 * infer.input_bytes() + (size_t{1} << 20);
  }

  const std::string model_json = ModelJson(*eng).dump(2) + "\n";
  std::atomic<uint64_t> served{0};

  httplib::Server svr;
  const size_t connections = static_cast<size_t>(opt.connections);
  svr.new_task_queue = [connections] { return new httplib::ThreadPool(connections); };
  svr.set_keep_alive_timeout(static_cast<time_t>(opt.keep_alive_timeout));
  svr.set_read_timeout(static_cast<time_t>(opt.read_timeout), 0);
  svr.set_write_timeout(static_cast<time_t>(opt.write_timeout), 0);
  svr.set_payload_max_length(opt.max_body_bytes);
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  svr.Get("/v1/model", [&model_json](const httplib::Request&, httplib::Response& res) {
    res.set_content(model_json, "application/json");
  });
  svr.Post("/v1/infer", [&infer, &served](const httplib::Request& req, httplib::Response& res) {
    infer(req, res);
    served.fetch_add(1, std::memory_order_relaxed);
  });
  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, 500, "internal error: " + what);
      });

  int port = opt.port;
  if (port == 0) {
    port = svr.bind_to_any_port(opt.host);
  } else if (!svr.bind_to_port(opt.host, port)) {
    port = -1;
  }
  if (port < 0) {
    std::fprintf(stderr, "engine_example_server: cannot listen on %s:%d\n", opt.host.c_str(),
                 opt.port);
    return 1;
  }

  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stopping = true;
    svr.stop();
  });

  std::printf("engine_example_server: model '%s' (%zu inputs, %zu outputs, %zu layers), "
              "%d workers, %d queued, %d connections, body <= %zu bytes\n",
              eng->plan_info().model_name.c_str(), eng->inputs().size(), eng->outputs().size(),
              eng->layers().size(), opt.workers, opt.max_queued, opt.connections,
              opt.max_body_bytes);
  std::printf("engine_example_server: listening on http://%s:%d\n", opt.host.c_str(), port);
  std::fflush(stdout);

  const bool listened = svr.listen_after_bind();  // returns after stop()
  const bool failed = !stopping || !listened;
  if (!stopping) kill(getpid(), SIGTERM);  // the accept loop failed: wake the signal thread
  signal_thread.join();
  std::printf("engine_example_server: stopped after %llu inference requests (%d execution "
              "contexts)\n",
              static_cast<unsigned long long>(served.load()), pool.created());
  return failed ? 1 : 0;
}
