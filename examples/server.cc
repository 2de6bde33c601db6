// engine_server: a minimal multi-threaded inference service over the engine's
// public API (the installed package: find_package(engine), engine::engine).
//
//   engine_server PLAN [--host=127.0.0.1] [--port=8080] [--workers=N] [--threads=N]
//
// Loads the plan once (Runtime::LoadEngineFile; the Engine is immutable and
// shared by every request) and answers over HTTP/1.1 (cpp-httplib, keep-alive):
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
//                    answer {"outputs": {"<name>": {"dtype", "shape", "data"}}}.
//
// Errors are JSON {"error": "<message>"}: 400 for what the request got wrong
// (body size, with the expected bytes; the engine's InvalidArgument, NotFound,
// FailedPrecondition messages), 503 ResourceExhausted, 500 otherwise.
//
// Threads: httplib's pool of --workers threads serves connections (a
// keep-alive connection holds its worker while open). A request borrows an
// ExecutionContext from a pool: contexts are created on first need and reused,
// so there are at most as many as requests running at once (<= workers), each
// used by one thread at a time. --threads sets every context's intra-op
// threads (ExecutionContext::SetThreads; default: the engine's default, all
// cores, shared between contexts by the engine's process-wide worker pool).
//
// The server has no authentication: it binds the loopback address unless
// --host says otherwise. SIGINT/SIGTERM stop it.
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
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

namespace {

using nlohmann::json;

struct Options {
  std::string plan;
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (printed)
  int workers = 0;  // 0: max(8, hardware threads)
  int threads = 0;  // 0: ExecutionContext::DefaultThreads()
};

[[noreturn]] void Usage(const char* msg) {
  if (msg != nullptr) std::fprintf(stderr, "engine_server: %s\n", msg);
  std::fprintf(stderr,
               "usage: engine_server PLAN [--host=127.0.0.1] [--port=8080] [--workers=N] "
               "[--threads=N]\n"
               "  --port=0 binds any free port; the chosen one is printed.\n");
  std::exit(2);
}

int ParseInt(const std::string& flag, const std::string& value) {
  char* end = nullptr;
  long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || v < 0 || v > 1 << 20) {
    Usage(("bad value for " + flag + ": '" + value + "'").c_str());
  }
  return static_cast<int>(v);
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
    if (key == "--plan") {
      o.plan = value;
    } else if (key == "--host") {
      o.host = value;
    } else if (key == "--port") {
      o.port = ParseInt(key, value);
    } else if (key == "--workers") {
      o.workers = ParseInt(key, value);
    } else if (key == "--threads") {
      o.threads = ParseInt(key, value);
    } else {
      Usage(("unknown flag " + key).c_str());
    }
  }
  if (o.plan.empty()) Usage("no plan given");
  if (o.port > 65535) Usage("--port must be in [0, 65535]");
  if (o.workers == 0) {
    o.workers = std::max(8, static_cast<int>(std::thread::hardware_concurrency()));
  }
  return o;
}

// Execution contexts for the requests in flight: Acquire() hands out a free
// context or creates one; the lease gives it back when the request is done.
class ContextPool {
 public:
  ContextPool(std::shared_ptr<const engine::Engine> engine, int threads)
      : engine_(std::move(engine)), threads_(threads) {}

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
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        std::unique_ptr<engine::ExecutionContext> ctx = std::move(free_.back());
        free_.pop_back();
        return Lease(this, std::move(ctx));
      }
    }
    // Created outside the lock: allocating an arena may take a while.
    absl::StatusOr<std::unique_ptr<engine::ExecutionContext>> ctx =
        engine_->CreateExecutionContext();
    if (!ctx.ok()) return ctx.status();
    if (threads_ > 0) {
      absl::Status s = (*ctx)->SetThreads(threads_);
      if (!s.ok()) return s;
    }
    created_.fetch_add(1, std::memory_order_relaxed);
    return Lease(this, *std::move(ctx));
  }

  int created() const { return created_.load(std::memory_order_relaxed); }

 private:
  void Release(std::unique_ptr<engine::ExecutionContext> ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(ctx));
  }

  std::shared_ptr<const engine::Engine> engine_;
  int threads_;
  std::mutex mu_;
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

void SendError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump() + "\n", "application/json");
}

void SendError(httplib::Response& res, const absl::Status& s) {
  SendError(res, HttpStatus(s), s.ToString());
}

std::string Describe(const engine::TensorDesc& d) {
  return "'" + d.name + "' " + engine::DataTypeName(d.dtype) + " " +
         engine::DimsToString(d.shape) + " (" + std::to_string(d.ByteSize()) + " bytes)";
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

// --- JSON tensors -----------------------------------------------------------

template <typename T>
absl::Status FillFromJson(const json& values, engine::Tensor& t) {
  T* out = t.data_as<T>();
  int64_t i = 0;
  for (const json& v : values) {
    if (!v.is_number() && !v.is_boolean()) {
      return absl::InvalidArgumentError("element " + std::to_string(i) + " is not a number");
    }
    out[i++] = v.is_boolean() ? static_cast<T>(v.get<bool>()) : v.get<T>();
  }
  return absl::OkStatus();
}

template <typename T>
json ToJsonArray(const engine::Tensor& t) {
  const T* p = t.data_as<T>();
  json a = json::array();
  for (int64_t i = 0; i < t.num_elements(); ++i) a.push_back(p[i]);
  return a;
}

absl::StatusOr<engine::Tensor> TensorFromJson(const engine::TensorDesc& d, const json& values) {
  if (!values.is_array()) {
    return absl::InvalidArgumentError("input '" + d.name + "': expected a flat array of numbers");
  }
  if (static_cast<int64_t>(values.size()) != engine::NumElements(d.shape)) {
    return absl::InvalidArgumentError(
        "input " + Describe(d) + ": expected " + std::to_string(engine::NumElements(d.shape)) +
        " elements, got " + std::to_string(values.size()));
  }
  engine::Tensor t(d.dtype, d.shape);
  absl::Status s;
  switch (d.dtype) {
    case engine::DataType::kFloat32: s = FillFromJson<float>(values, t); break;
    case engine::DataType::kInt64: s = FillFromJson<int64_t>(values, t); break;
    case engine::DataType::kInt32: s = FillFromJson<int32_t>(values, t); break;
    case engine::DataType::kInt8: s = FillFromJson<int8_t>(values, t); break;
    case engine::DataType::kUint8: s = FillFromJson<uint8_t>(values, t); break;
    case engine::DataType::kBool: s = FillFromJson<bool>(values, t); break;
    default:
      return absl::UnimplementedError("input " + Describe(d) +
                                      ": dtype not supported in JSON requests; send raw bytes");
  }
  if (!s.ok()) return absl::InvalidArgumentError("input '" + d.name + "': " + s.ToString());
  return t;
}

absl::StatusOr<json> TensorToJson(const engine::Tensor& t) {
  json data;
  switch (t.dtype()) {
    case engine::DataType::kFloat32: data = ToJsonArray<float>(t); break;
    case engine::DataType::kInt64: data = ToJsonArray<int64_t>(t); break;
    case engine::DataType::kInt32: data = ToJsonArray<int32_t>(t); break;
    case engine::DataType::kInt8: data = ToJsonArray<int8_t>(t); break;
    case engine::DataType::kUint8: data = ToJsonArray<uint8_t>(t); break;
    case engine::DataType::kBool: data = ToJsonArray<bool>(t); break;
    default:
      return absl::UnimplementedError(std::string("output dtype ") +
                                      engine::DataTypeName(t.dtype()) +
                                      " not supported in JSON answers; send raw bytes");
  }
  return json{{"dtype", engine::DataTypeName(t.dtype())}, {"shape", t.shape()}, {"data", data}};
}

// --- /v1/infer ----------------------------------------------------------------

class InferHandler {
 public:
  InferHandler(std::shared_ptr<const engine::Engine> engine, ContextPool* pool)
      : engine_(std::move(engine)), pool_(pool) {
    for (const engine::TensorDesc& d : engine_->inputs()) input_bytes_ += d.ByteSize();
  }

  void operator()(const httplib::Request& req, httplib::Response& res) const {
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<ContextPool::Lease> lease = pool_->Acquire();
    if (!lease.ok()) return SendError(res, lease.status());
    const std::string content_type = req.get_header_value("Content-Type");
    bool json_mode = content_type.rfind("application/json", 0) == 0;
    absl::Status s = json_mode ? SetJsonInputs(req.body, *lease) : SetRawInputs(req.body, *lease);
    if (s.ok()) s = (*lease)->Execute();
    if (!s.ok()) return SendError(res, s);

    std::string body;
    json outputs = json::object();
    if (!json_mode) body.reserve(output_bytes());
    for (const engine::TensorDesc& d : engine_->outputs()) {
      absl::StatusOr<const engine::Tensor*> out = (*lease)->GetOutput(d.name);
      if (!out.ok()) return SendError(res, out.status());
      if (json_mode) {
        absl::StatusOr<json> j = TensorToJson(**out);
        if (!j.ok()) return SendError(res, j.status());
        outputs[d.name] = *std::move(j);
      } else {
        body.append(static_cast<const char*>((*out)->data()), (*out)->byte_size());
      }
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                          start).count();
    res.set_header("Server-Timing", "infer;dur=" + std::to_string(ms));
    if (json_mode) {
      res.set_content(json{{"outputs", outputs}}.dump() + "\n", "application/json");
    } else {
      res.set_content(std::move(body), "application/octet-stream");
    }
  }

 private:
  size_t output_bytes() const {
    size_t n = 0;
    for (const engine::TensorDesc& d : engine_->outputs()) n += d.ByteSize();
    return n;
  }

  absl::Status SetRawInputs(const std::string& body, ContextPool::Lease& ctx) const {
    if (body.size() != input_bytes_) {
      std::string expected;
      for (const engine::TensorDesc& d : engine_->inputs()) {
        expected += (expected.empty() ? "" : ", ") + Describe(d);
      }
      return absl::InvalidArgumentError(
          "request body has " + std::to_string(body.size()) + " bytes; expected " +
          std::to_string(input_bytes_) + " bytes: the raw little-endian bytes of input " +
          expected + (engine_->inputs().size() > 1 ? ", concatenated in this order" : ""));
    }
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

  absl::Status SetJsonInputs(const std::string& body, ContextPool::Lease& ctx) const {
    json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("inputs") ||
        !doc["inputs"].is_object()) {
      return absl::InvalidArgumentError(
          "expected a JSON body {\"inputs\": {\"<name>\": [numbers...]}}");
    }
    const json& inputs = doc["inputs"];
    for (const auto& [name, values] : inputs.items()) {
      const engine::TensorDesc* desc = nullptr;
      for (const engine::TensorDesc& d : engine_->inputs()) {
        if (d.name == name) desc = &d;
      }
      if (desc == nullptr) {
        // SetInput's NotFound message lists the engine's inputs.
        return ctx->SetInput(name, engine::Tensor());
      }
      absl::StatusOr<engine::Tensor> t = TensorFromJson(*desc, values);
      if (!t.ok()) return t.status();
      absl::Status s = ctx->SetInput(name, *t);
      if (!s.ok()) return s;
    }
    for (const engine::TensorDesc& d : engine_->inputs()) {
      if (!inputs.contains(d.name)) {
        return absl::InvalidArgumentError("missing input " + Describe(d));
      }
    }
    return absl::OkStatus();
  }

  std::shared_ptr<const engine::Engine> engine_;
  ContextPool* pool_;
  size_t input_bytes_ = 0;
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
    std::fprintf(stderr, "engine_server: %s\n", loaded.status().ToString().c_str());
    return 1;
  }
  std::shared_ptr<const engine::Engine> eng = *std::move(loaded);
  ContextPool pool(eng, opt.threads);
  // One context up front: a plan whose arena cannot be allocated fails here,
  // not on the first request.
  {
    absl::StatusOr<ContextPool::Lease> first = pool.Acquire();
    if (!first.ok()) {
      std::fprintf(stderr, "engine_server: %s\n", first.status().ToString().c_str());
      return 1;
    }
  }

  const std::string model_json = ModelJson(*eng).dump(2) + "\n";
  std::atomic<uint64_t> served{0};

  httplib::Server svr;
  const int workers = opt.workers;
  svr.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_max_count(1u << 20);
  svr.set_keep_alive_timeout(5);
  svr.set_read_timeout(30);
  svr.set_write_timeout(30);
  svr.set_payload_max_length(size_t{1} << 30);

  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  svr.Get("/v1/model", [&model_json](const httplib::Request&, httplib::Response& res) {
    res.set_content(model_json, "application/json");
  });
  InferHandler infer(eng, &pool);
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
  bool bound = port == 0 ? (port = svr.bind_to_any_port(opt.host)) > 0
                         : svr.bind_to_port(opt.host, port);
  if (!bound) {
    std::fprintf(stderr, "engine_server: cannot bind %s:%d\n", opt.host.c_str(), opt.port);
    return 1;
  }

  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stopping = true;
    svr.stop();
  });

  std::printf("engine_server: model '%s' (%zu inputs, %zu outputs, %zu layers), %d workers\n",
              eng->plan_info().model_name.c_str(), eng->inputs().size(), eng->outputs().size(),
              eng->layers().size(), workers);
  std::printf("engine_server: listening on http://%s:%d\n", opt.host.c_str(), port);
  std::fflush(stdout);

  bool ok = svr.listen_after_bind();
  if (!stopping) kill(getpid(), SIGTERM);  // wakes the signal thread
  signal_thread.join();
  std::printf("engine_server: stopped after %llu inference requests (%d execution contexts)\n",
              static_cast<unsigned long long>(served.load()), pool.created());
  return ok || stopping ? 0 : 1;
}
