#include "serving/grpc_service.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cstring>
#include <limits>
#include <span>

#include "grpc_predict_v2.grpc.pb.h"
#include "serving/json_util.h"
#include "serving/oip_codec.h"

#ifndef ENGINE_SERVING_VERSION
#define ENGINE_SERVING_VERSION "unknown"
#endif

namespace engine::serving {
namespace {

using Clock = std::chrono::steady_clock;

// absl::StatusCode and grpc::StatusCode share the numbering of
// google.rpc.Code (0 OK ... 16 UNAUTHENTICATED).
grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

constexpr int64_t kMaxElements = int64_t{1} << 31;

// Narrow integer contents (int_contents, uint_contents) into a tensor of T,
// each checked against T's range.
template <typename T, typename Src>
absl::Status FillChecked(const google::protobuf::RepeatedField<Src>& src, engine::Tensor& t,
                         const std::string& input) {
  T* dst = t.data_as<T>();
  for (int i = 0; i < src.size(); ++i) {
    const Src v = src.Get(i);
    if constexpr (!std::is_same_v<T, Src>) {
      if (v < static_cast<Src>(std::numeric_limits<T>::lowest()) ||
          v > static_cast<Src>(std::numeric_limits<T>::max())) {
        return absl::InvalidArgumentError(input + " element " + std::to_string(i) + ": " +
                                          std::to_string(v) +
                                          " is out of the datatype's range");
      }
    }
    dst[i] = static_cast<T>(v);
  }
  return absl::OkStatus();
}

// The typed contents of `in` for `dtype`: its element count and a filler.
absl::Status FillFromContents(const inference::InferTensorContents& c, engine::Tensor& t,
                              const std::string& input) {
  const int64_t n = t.num_elements();
  auto count = [&](int size, const char* field) -> absl::Status {
    if (size != n) {
      return absl::InvalidArgumentError(input + ": contents." + field + " has " +
                                        std::to_string(size) + " elements but the shape has " +
                                        std::to_string(n));
    }
    return absl::OkStatus();
  };
  absl::Status s;
  switch (t.dtype()) {
    case engine::DataType::kFloat32:
      if (!(s = count(c.fp32_contents_size(), "fp32_contents")).ok()) return s;
      if (n > 0) std::memcpy(t.data(), c.fp32_contents().data(), n * sizeof(float));
      return absl::OkStatus();
    case engine::DataType::kFloat64:
      if (!(s = count(c.fp64_contents_size(), "fp64_contents")).ok()) return s;
      if (n > 0) std::memcpy(t.data(), c.fp64_contents().data(), n * sizeof(double));
      return absl::OkStatus();
    case engine::DataType::kInt64:
      if (!(s = count(c.int64_contents_size(), "int64_contents")).ok()) return s;
      return FillChecked<int64_t>(c.int64_contents(), t, input);
    case engine::DataType::kUint64:
      if (!(s = count(c.uint64_contents_size(), "uint64_contents")).ok()) return s;
      return FillChecked<uint64_t>(c.uint64_contents(), t, input);
    case engine::DataType::kInt32:
      if (!(s = count(c.int_contents_size(), "int_contents")).ok()) return s;
      return FillChecked<int32_t>(c.int_contents(), t, input);
    case engine::DataType::kInt16:
      if (!(s = count(c.int_contents_size(), "int_contents")).ok()) return s;
      return FillChecked<int16_t>(c.int_contents(), t, input);
    case engine::DataType::kInt8:
      if (!(s = count(c.int_contents_size(), "int_contents")).ok()) return s;
      return FillChecked<int8_t>(c.int_contents(), t, input);
    case engine::DataType::kUint32:
      if (!(s = count(c.uint_contents_size(), "uint_contents")).ok()) return s;
      return FillChecked<uint32_t>(c.uint_contents(), t, input);
    case engine::DataType::kUint16:
      if (!(s = count(c.uint_contents_size(), "uint_contents")).ok()) return s;
      return FillChecked<uint16_t>(c.uint_contents(), t, input);
    case engine::DataType::kUint8:
      if (!(s = count(c.uint_contents_size(), "uint_contents")).ok()) return s;
      return FillChecked<uint8_t>(c.uint_contents(), t, input);
    case engine::DataType::kBool: {
      if (!(s = count(c.bool_contents_size(), "bool_contents")).ok()) return s;
      for (int64_t i = 0; i < n; ++i) t.data_as<bool>()[i] = c.bool_contents(static_cast<int>(i));
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(input + ": datatype " +
                                        std::string(OipDatatype(t.dtype())) +
                                        " has no typed contents; send raw_input_contents");
  }
}

// The protocol request as the library's InferRequest (oip_codec.h).
absl::StatusOr<InferRequest> FromProto(const inference::ModelInferRequest& p) {
  InferRequest r;
  r.id = p.id();
  if (auto t = p.parameters().find("timeout"); t != p.parameters().end()) {
    if (t->second.parameter_choice_case() != inference::InferParameter::kInt64Param ||
        t->second.int64_param() <= 0) {
      return absl::InvalidArgumentError(
          "parameter \"timeout\" is not a positive int64_param (microseconds)");
    }
    r.timeout_us = t->second.int64_param();
  }
  const bool raw = p.raw_input_contents_size() > 0;
  if (raw && p.raw_input_contents_size() != p.inputs_size()) {
    return absl::InvalidArgumentError(
        "raw_input_contents has " + std::to_string(p.raw_input_contents_size()) +
        " entries for " + std::to_string(p.inputs_size()) + " inputs (one per input, in order)");
  }
  if (p.inputs_size() == 0) return absl::InvalidArgumentError("request has no inputs");
  for (int i = 0; i < p.inputs_size(); ++i) {
    const inference::ModelInferRequest::InferInputTensor& in = p.inputs(i);
    const std::string input = "input '" + Printable(in.name()) + "'";
    std::optional<engine::DataType> dtype = DataTypeFromOip(in.datatype());
    if (!dtype.has_value()) {
      return absl::InvalidArgumentError(input + ": unknown or unsupported datatype \"" +
                                        Printable(in.datatype(), 16) + "\"");
    }
    if (in.shape_size() > 16) {
      return absl::InvalidArgumentError(input + ": shape has more than 16 dimensions");
    }
    engine::Dims shape;
    int64_t n = 1;
    for (int64_t d : in.shape()) {
      if (d < 0 || d > kMaxElements) {
        return absl::InvalidArgumentError(input + ": shape dimension " + std::to_string(d) +
                                          " is not in [0, 2^31]");
      }
      shape.push_back(d);
      n *= std::max<int64_t>(d, 1);
      if (n > kMaxElements) {
        return absl::InvalidArgumentError(input + ": shape has more than 2^31 elements");
      }
    }
    const size_t bytes =
        static_cast<size_t>(engine::NumElements(shape)) * engine::DataTypeSize(*dtype);
    if (raw) {
      const std::string& data = p.raw_input_contents(i);
      if (data.size() != bytes) {
        return absl::InvalidArgumentError(input + ": raw_input_contents has " +
                                          std::to_string(data.size()) + " bytes; " +
                                          std::string(OipDatatype(*dtype)) + " of " +
                                          std::to_string(engine::NumElements(shape)) +
                                          " elements is " + std::to_string(bytes));
      }
      r.inputs.push_back(
          {in.name(), engine::Tensor(*dtype, shape, std::as_bytes(std::span(data.data(), bytes)))});
      continue;
    }
    if (!in.has_contents()) {
      return absl::InvalidArgumentError(input + " has neither contents nor raw_input_contents");
    }
    // Checked before allocating: the contents bound the tensor's size.
    const auto& c = in.contents();
    const int64_t given = c.bool_contents_size() + c.int_contents_size() +
                          c.int64_contents_size() + c.uint_contents_size() +
                          c.uint64_contents_size() + c.fp32_contents_size() +
                          c.fp64_contents_size();
    if (given != engine::NumElements(shape)) {
      return absl::InvalidArgumentError(input + ": contents hold " + std::to_string(given) +
                                        " elements but the shape has " +
                                        std::to_string(engine::NumElements(shape)));
    }
    engine::Tensor t(*dtype, shape);
    if (absl::Status s = FillFromContents(c, t, input); !s.ok()) return s;
    r.inputs.push_back({in.name(), std::move(t)});
  }
  for (const auto& o : p.outputs()) r.outputs.push_back({o.name(), true});
  return r;
}

void FillMetadata(const std::string& json, inference::ModelMetadataResponse* out);

}  // namespace

struct GrpcEndpoint::Impl final : public inference::GRPCInferenceService::Service {
  explicit Impl(InferenceServer* s) : server(s) {}

  grpc::Status ServerLive(grpc::ServerContext*, const inference::ServerLiveRequest*,
                          inference::ServerLiveResponse* out) override {
    out->set_live(true);
    return grpc::Status::OK;
  }
  grpc::Status ServerReady(grpc::ServerContext*, const inference::ServerReadyRequest*,
                           inference::ServerReadyResponse* out) override {
    out->set_ready(server->ready());
    return grpc::Status::OK;
  }
  grpc::Status ModelReady(grpc::ServerContext*, const inference::ModelReadyRequest* in,
                          inference::ModelReadyResponse* out) override {
    absl::StatusOr<std::shared_ptr<ServedModel>> m =
        server->repository().Find(in->name(), in->version());
    if (!m.ok()) return ToGrpc(m.status());
    out->set_ready((*m)->ready() && !server->shutting_down());
    return grpc::Status::OK;
  }
  grpc::Status ServerMetadata(grpc::ServerContext*, const inference::ServerMetadataRequest*,
                              inference::ServerMetadataResponse* out) override {
    out->set_name("engine_server");
    out->set_version(ENGINE_SERVING_VERSION);
    out->add_extensions("model_repository");
    return grpc::Status::OK;
  }
  grpc::Status ModelMetadata(grpc::ServerContext*, const inference::ModelMetadataRequest* in,
                             inference::ModelMetadataResponse* out) override {
    absl::StatusOr<std::shared_ptr<ServedModel>> m =
        server->repository().Find(in->name(), in->version());
    if (!m.ok()) return ToGrpc(m.status());
    if (!(*m)->ready()) {
      return ToGrpc(absl::FailedPreconditionError("model '" + (*m)->name() + "' version " +
                                                  (*m)->version() +
                                                  " is not ready: " + (*m)->reason()));
    }
    FillMetadata((*m)->MetadataJson(), out);
    return grpc::Status::OK;
  }
  grpc::Status ModelInfer(grpc::ServerContext*, const inference::ModelInferRequest* in,
                          inference::ModelInferResponse* out) override {
    const Clock::time_point start = Clock::now();
    absl::StatusOr<std::shared_ptr<ServedModel>> found =
        server->repository().Find(in->model_name(), in->model_version());
    if (!found.ok()) return ToGrpc(found.status());
    ServedModel& model = **found;
    auto fail = [&](const absl::Status& s) {
      model.stats().RecordFailure(FailureReasonOf(s.code()));
      return ToGrpc(s);
    };
    if (server->shutting_down()) return fail(absl::UnavailableError("server is shutting down"));
    absl::StatusOr<InferRequest> request = FromProto(*in);
    if (!request.ok()) return fail(request.status());
    absl::StatusOr<PreparedInputs> prepared = model.Prepare(*request);
    if (!prepared.ok()) return fail(prepared.status());
    int64_t timeout_us = request->timeout_us.value_or(model.config().default_timeout_us);
    if (timeout_us == 0) timeout_us = server->default_timeout_us();
    absl::StatusOr<InferResult> result = model.Infer(*std::move(prepared), timeout_us);
    if (!result.ok()) return fail(result.status());
    out->set_model_name(model.name());
    out->set_model_version(model.version());
    out->set_id(request->id);
    const std::vector<engine::TensorDesc>& descs = model.engine()->outputs();
    for (size_t k = 0; k < descs.size(); ++k) {
      bool wanted = request->outputs.empty();
      for (const RequestedOutput& o : request->outputs) wanted = wanted || o.name == descs[k].name;
      if (!wanted) continue;
      const engine::Tensor& t = result->outputs[k];
      auto* o = out->add_outputs();
      o->set_name(descs[k].name);
      o->set_datatype(std::string(OipDatatype(t.dtype())));
      for (int64_t d : t.shape()) o->add_shape(d);
      out->add_raw_output_contents(static_cast<const char*>(t.data()), t.byte_size());
    }
    model.stats().RecordSuccess(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count()));
    return grpc::Status::OK;
  }

  grpc::Status RepositoryIndex(grpc::ServerContext*, const inference::RepositoryIndexRequest* in,
                               inference::RepositoryIndexResponse* out) override {
    if (absl::Status s = CheckRepository(in->repository_name()); !s.ok()) return ToGrpc(s);
    for (const auto& m : server->repository().All()) {
      if (in->ready() && !m->ready()) continue;
      auto* index = out->add_models();
      index->set_name(m->name());
      index->set_version(m->version());
      index->set_state(m->ready() ? "READY" : "UNAVAILABLE");
      index->set_reason(m->reason());
    }
    return grpc::Status::OK;
  }
  grpc::Status RepositoryModelLoad(grpc::ServerContext*,
                                   const inference::RepositoryModelLoadRequest* in,
                                   inference::RepositoryModelLoadResponse*) override {
    if (absl::Status s = CheckRepository(in->repository_name()); !s.ok()) return ToGrpc(s);
    if (!in->parameters().empty()) {
      return ToGrpc(absl::InvalidArgumentError(
          "load parameters (" + in->parameters().begin()->first +
          ") are not supported: the model's config.json and plans are read from the repository"));
    }
    return ToGrpc(server->repository().Load(in->model_name()));
  }
  grpc::Status RepositoryModelUnload(grpc::ServerContext*,
                                     const inference::RepositoryModelUnloadRequest* in,
                                     inference::RepositoryModelUnloadResponse*) override {
    if (absl::Status s = CheckRepository(in->repository_name()); !s.ok()) return ToGrpc(s);
    if (!in->parameters().empty()) {
      return ToGrpc(absl::InvalidArgumentError("unload parameters (" +
                                               in->parameters().begin()->first +
                                               ") are not supported"));
    }
    return ToGrpc(server->repository().Unload(in->model_name()));
  }

  // The server has one repository: "" names it; anything else is unknown.
  static absl::Status CheckRepository(const std::string& name) {
    if (name.empty()) return absl::OkStatus();
    return absl::NotFoundError("repository '" + name +
                               "': this server has one repository, named \"\"");
  }

  InferenceServer* server;
  std::unique_ptr<grpc::Server> grpc_server;
};

namespace {

// The REST metadata JSON (ServedModel::MetadataJson) as the gRPC message.
void FillMetadata(const std::string& json, inference::ModelMetadataResponse* out) {
  // MetadataJson is produced by this library: parse it back with the
  // protobuf JSON reader rather than keeping two encoders of the metadata.
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  (void)google::protobuf::util::JsonStringToMessage(json, out, options);
}

}  // namespace

GrpcEndpoint::GrpcEndpoint(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

GrpcEndpoint::~GrpcEndpoint() { Shutdown(); }

absl::StatusOr<std::unique_ptr<GrpcEndpoint>> GrpcEndpoint::Start(InferenceServer* server,
                                                                 const std::string& host,
                                                                 int port, int max_threads) {
  auto impl = std::make_unique<Impl>(server);
  grpc::ServerBuilder builder;
  int bound = 0;
  const std::string address =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(impl.get());
  grpc::ResourceQuota quota("engine_server_grpc");
  quota.SetMaxThreads(std::max(max_threads, 2));
  builder.SetResourceQuota(quota);
  builder.SetMaxReceiveMessageSize(256 << 20);
  impl->grpc_server = builder.BuildAndStart();
  if (impl->grpc_server == nullptr || bound == 0) {
    return absl::UnavailableError("gRPC: cannot listen on " + address);
  }
  return std::unique_ptr<GrpcEndpoint>(new GrpcEndpoint(std::move(impl), bound));
}

void GrpcEndpoint::Shutdown() {
  if (impl_ != nullptr && impl_->grpc_server != nullptr) {
    impl_->grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(30));
    impl_->grpc_server->Wait();
    impl_->grpc_server.reset();
  }
}

}  // namespace engine::serving
