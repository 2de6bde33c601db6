#include "serving/server.h"

#include <chrono>
#include <cstdlib>
#include <exception>

#include "serving/json_util.h"
#include "serving/oip_codec.h"

#ifndef ENGINE_SERVING_VERSION
#define ENGINE_SERVING_VERSION "unknown"
#endif

namespace engine::serving {
namespace {

using Clock = std::chrono::steady_clock;

struct HttpError {
  int status;
  FailureReason reason;
};

// The protocol's status for an error of the serving library.
HttpError HttpErrorOf(const absl::Status& s) {
  const FailureReason reason = FailureReasonOf(s.code());
  switch (reason) {
    case FailureReason::kBadRequest:
      return {s.code() == absl::StatusCode::kNotFound ? 404 : 400, reason};
    case FailureReason::kQueueFull:
    case FailureReason::kTimeout:
    case FailureReason::kUnavailable:
      return {503, reason};
    default:
      return {500, reason};
  }
}

void SendError(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  if (status == 503) res.set_header("Retry-After", "1");
  res.set_content(JsonError(message), "application/json");
}

void SendError(httplib::Response& res, const absl::Status& s) {
  SendError(res, HttpErrorOf(s).status, std::string(s.message()));
}

void SendJson(httplib::Response& res, std::string body) {
  res.status = 200;
  res.set_content(std::move(body), "application/json");
}

// The model and version of a /v2/models/<m>[/versions/<v>]... route.
struct ModelRef {
  std::string name, version;
};
ModelRef RefOf(const httplib::Request& req) {
  ModelRef r;
  if (req.matches.size() > 1) r.name = req.matches[1].str();
  if (req.matches.size() > 2 && req.matches[2].matched) r.version = req.matches[2].str();
  return r;
}

// The Inference-Header-Content-Length header: absent, or a decimal byte count.
absl::StatusOr<std::optional<size_t>> HeaderLength(const httplib::Request& req) {
  if (!req.has_header("Inference-Header-Content-Length")) return std::optional<size_t>();
  const std::string v = req.get_header_value("Inference-Header-Content-Length");
  if (v.empty() || v.size() > 15 || v.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError("Inference-Header-Content-Length '" + Printable(v, 24) +
                                      "' is not a byte count");
  }
  return std::optional<size_t>(std::stoull(v));
}

constexpr char kEndpoints[] =
    "GET /v2/health/live, GET /v2/health/ready, GET /v2, GET /v2/models/<m>[/versions/<v>], "
    "GET /v2/models/<m>[/versions/<v>]/ready, POST /v2/models/<m>[/versions/<v>]/infer, "
    "POST /v2/repository/index, POST /v2/repository/models/<m>/load|unload, GET /metrics";

}  // namespace

InferenceServer::InferenceServer(ServerOptions options)
    : options_(std::move(options)),
      repository_(std::make_unique<ModelRepository>(options_.repository, options_.load)),
      http_(std::make_unique<BoundedHttpServer>(options_.limits)) {}

InferenceServer::~InferenceServer() { repository_->StopAll(); }

bool InferenceServer::ready() const {
  if (shutting_down_.load()) return false;
  if (!options_.strict_readiness) return true;
  for (const auto& m : repository_->All()) {
    if (!m->ready()) return false;
  }
  return true;
}

absl::StatusOr<int> InferenceServer::Start() {
  if (absl::Status s = repository_->LoadAll(); !s.ok()) return s;
  RegisterRoutes();
  return http_->Listen(options_.host, options_.port);
}

void InferenceServer::Run() {
  http_->Run();
  repository_->StopAll();
}

void InferenceServer::Shutdown() {
  shutting_down_.store(true);
  http_->Stop();
}

std::string InferenceServer::Metrics() const {
  std::string samples;
  for (const auto& m : repository_->All()) {
    m->stats().AppendPrometheus(m->name(), m->version(), m->queued(), &samples);
  }
  return PrometheusExposition(samples);
}

void InferenceServer::RegisterRoutes() {
  BoundedHttpServer& svr = *http_;
  svr.SetEndpointHint(kEndpoints);
  // Answered by the accept thread too, past the connection limit (must not block:
  // ready() takes the repository's lock only for a copy of the model list).
  svr.SetHealthProbe({"/v2/health/live", "/v2/health/ready"}, [this](const std::string& path) {
    return path == "/v2/health/live" || ready();
  });

  svr.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, "{}\n");
  });
  svr.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
    if (ready()) return SendJson(res, "{}\n");
    SendError(res, 400, shutting_down_.load() ? "server is shutting down"
                                              : "a loaded model version is not ready "
                                                "(POST /v2/repository/index says which)");
  });
  svr.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, "{\"name\":\"engine_server\",\"version\":\"" ENGINE_SERVING_VERSION
                  "\",\"extensions\":[\"binary_tensor_data\",\"model_repository\"]}\n");
  });

  const std::string model_re = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";
  svr.Get(model_re, [this](const httplib::Request& req, httplib::Response& res) {
    ModelRef ref = RefOf(req);
    absl::StatusOr<std::shared_ptr<ServedModel>> m = repository_->Find(ref.name, ref.version);
    if (!m.ok()) return SendError(res, m.status());
    if (!(*m)->ready()) {
      return SendError(res, 400, "model '" + ref.name + "' version " + (*m)->version() +
                                     " is not ready: " + (*m)->reason());
    }
    SendJson(res, (*m)->MetadataJson() + "\n");
  });
  svr.Get(model_re + "/ready", [this](const httplib::Request& req, httplib::Response& res) {
    ModelRef ref = RefOf(req);
    absl::StatusOr<std::shared_ptr<ServedModel>> m = repository_->Find(ref.name, ref.version);
    if (!m.ok()) return SendError(res, m.status());
    if (!(*m)->ready() || shutting_down_.load()) {
      return SendError(res, 400, "model '" + ref.name + "' version " + (*m)->version() +
                                     " is not ready: " +
                                     ((*m)->ready() ? "server shutting down" : (*m)->reason()));
    }
    SendJson(res, "{}\n");
  });
  svr.Post(model_re + "/infer", [this](const httplib::Request& req, httplib::Response& res) {
    const Clock::time_point start = Clock::now();
    ModelRef ref = RefOf(req);
    absl::StatusOr<std::shared_ptr<ServedModel>> found = repository_->Find(ref.name, ref.version);
    if (!found.ok()) return SendError(res, found.status());
    ServedModel& model = **found;
    auto fail = [&](const absl::Status& s) {
      model.stats().RecordFailure(HttpErrorOf(s).reason);
      SendError(res, s);
    };
    if (shutting_down_.load()) return fail(absl::UnavailableError("server is shutting down"));
    absl::StatusOr<std::optional<size_t>> header_length = HeaderLength(req);
    if (!header_length.ok()) return fail(header_length.status());
    absl::StatusOr<InferRequest> request = ParseInferRequest(req.body, *header_length);
    if (!request.ok()) return fail(request.status());
    absl::StatusOr<PreparedInputs> prepared = model.Prepare(*request);
    if (!prepared.ok()) return fail(prepared.status());
    int64_t timeout_us = request->timeout_us.value_or(model.config().default_timeout_us);
    if (timeout_us == 0) timeout_us = options_.default_timeout_us;
    absl::StatusOr<InferResult> result = model.Infer(*std::move(prepared), timeout_us);
    if (!result.ok()) return fail(result.status());

    std::vector<InferOutput> outputs;
    const std::vector<engine::TensorDesc>& descs = model.engine()->outputs();
    if (request->outputs.empty()) {
      for (size_t k = 0; k < descs.size(); ++k) {
        outputs.push_back({descs[k].name, &result->outputs[k], request->binary_output});
      }
    } else {
      for (const RequestedOutput& o : request->outputs) {
        for (size_t k = 0; k < descs.size(); ++k) {
          if (descs[k].name == o.name) outputs.push_back({o.name, &result->outputs[k], o.binary});
        }
      }
    }
    absl::StatusOr<EncodedResponse> encoded =
        EncodeInferResponse(model.name(), model.version(), request->id, outputs);
    if (!encoded.ok()) return fail(encoded.status());
    res.status = 200;
    res.set_header("Server-Timing", "queue;dur=" + std::to_string(result->queue_us / 1000.0) +
                                        ", compute;dur=" +
                                        std::to_string(result->compute_us / 1000.0));
    res.set_header("X-Batch-Size", std::to_string(result->executed_batch));
    if (encoded->header_length.has_value()) {
      res.set_header("Inference-Header-Content-Length", std::to_string(*encoded->header_length));
      res.set_content(std::move(encoded->body), "application/octet-stream");
    } else {
      res.set_content(std::move(encoded->body), "application/json");
    }
    model.stats().RecordSuccess(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count()));
  });

  auto index = [this](const httplib::Request&, httplib::Response& res) {
    std::string s = "[";
    bool first = true;
    for (const auto& m : repository_->All()) {
      if (!first) s.push_back(',');
      first = false;
      s += "{\"name\":";
      AppendJsonString(m->name(), &s);
      s += ",\"version\":";
      AppendJsonString(m->version(), &s);
      s += m->ready() ? ",\"state\":\"READY\"" : ",\"state\":\"UNAVAILABLE\"";
      s += ",\"reason\":";
      AppendJsonString(m->reason(), &s);
      s += "}";
    }
    SendJson(res, s + "]\n");
  };
  svr.Post("/v2/repository/index", index);
  svr.Get("/v2/repository/index", index);
  svr.Post(R"(/v2/repository/models/([^/]+)/(load|unload))",
           [this](const httplib::Request& req, httplib::Response& res) {
             const std::string name = req.matches[1].str();
             absl::Status s = req.matches[2].str() == "load" ? repository_->Load(name)
                                                             : repository_->Unload(name);
             if (!s.ok()) return SendError(res, s);
             SendJson(res, "{}\n");
           });
  svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(Metrics(), "text/plain; version=0.0.4; charset=utf-8");
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
}

}  // namespace engine::serving
