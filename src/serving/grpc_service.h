// The Open Inference Protocol v2 gRPC endpoint (service
// inference.GRPCInferenceService of grpc_predict_v2.proto) over the same
// model repository, schedulers and statistics as the REST API of
// InferenceServer. Built when Debian's libgrpc++-dev and
// protobuf-compiler-grpc are installed (ENGINE_SERVING_HAS_GRPC).
//
// ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata answer
// as their REST counterparts. ModelInfer takes each input either as typed
// contents (InferTensorContents: fp32_contents for FP32, int_contents for
// INT8/INT16/INT32, uint_contents for UINT8/UINT16/UINT32, int64_contents,
// uint64_contents, fp64_contents, bool_contents) or, for every input at
// once, as raw_input_contents (little-endian row-major bytes); it answers
// raw_output_contents. RepositoryIndex, RepositoryModelLoad and
// RepositoryModelUnload (Triton's model repository extension) list, load and
// unload as POST /v2/repository/...: repository_name must be "" (NOT_FOUND
// otherwise), load/unload parameters are refused (INVALID_ARGUMENT), the
// repository's errors map as below (NOT_FOUND for a model directory that does
// not exist or is not loaded, FAILED_PRECONDITION when no version is ready).
// Request parameter "timeout" (int64, microseconds) is
// the queue timeout. Errors are gRPC statuses with the absl code of the
// serving library (the numbering is the same): INVALID_ARGUMENT for what the
// request gets wrong, NOT_FOUND for an unknown model or version,
// FAILED_PRECONDITION for a model that is not ready, RESOURCE_EXHAUSTED for
// a full queue, DEADLINE_EXCEEDED for a queue timeout, UNAVAILABLE while
// shutting down.
#ifndef ENGINE_SERVING_GRPC_SERVICE_H_
#define ENGINE_SERVING_GRPC_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "serving/server.h"

namespace engine::serving {

class GrpcEndpoint {
 public:
  /// Starts serving on host:port (port 0: any free port) with at most
  /// `max_threads` gRPC worker threads (grpc::ResourceQuota). `server`
  /// (its repository, readiness and timeouts) must outlive the endpoint.
  /// Errors: Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<GrpcEndpoint>> Start(InferenceServer* server,
                                                            const std::string& host, int port,
                                                            int max_threads);
  ~GrpcEndpoint();

  /// The bound port.
  int port() const { return port_; }

  /// Stops accepting calls; calls in flight finish (at most 30 s).
  void Shutdown();

  struct Impl;

 private:
  explicit GrpcEndpoint(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace engine::serving

#endif  // ENGINE_SERVING_GRPC_SERVICE_H_
