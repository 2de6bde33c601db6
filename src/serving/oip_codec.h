// The Open Inference Protocol v2 (KServe v2) REST encoding of inference
// requests and answers: JSON tensors and the binary tensor extension.
//
// Request body (protocol "Inference Request JSON Object"):
//   {"id": "...", "parameters": {...},
//    "inputs":  [{"name", "shape": [..], "datatype": "FP32", "parameters"?, "data": [..]}],
//    "outputs": [{"name", "parameters": {"binary_data": true}}]}
// Binary tensor extension (Triton's binary_data extension, which KServe
// clients speak): the HTTP header `Inference-Header-Content-Length: N` says
// the first N bytes of the body are the JSON above; an input with
// "parameters": {"binary_data_size": B} has no "data" and takes the next B
// bytes after the JSON (inputs in request order), raw little-endian,
// row-major. Outputs asked with "binary_data": true (or every output when the
// request's parameters say "binary_data_output": true) are appended the same
// way to the answer, each carrying "parameters": {"binary_data_size": B}.
#ifndef ENGINE_SERVING_OIP_CODEC_H_
#define ENGINE_SERVING_OIP_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/tensor.h"
#include "engine/types.h"

namespace engine::serving {

/// The protocol's datatype name of `dtype` ("FP32", "INT64", "BOOL", "FP16",
/// "BF16", ...), or "" for kUndefined.
std::string_view OipDatatype(engine::DataType dtype);
/// The engine DataType of an OIP datatype name; nullopt for an unknown name
/// or one the engine has no type for ("BYTES").
std::optional<engine::DataType> DataTypeFromOip(std::string_view name);

/// One input tensor of a request, as sent (not yet checked against a model).
struct InferInput {
  std::string name;
  engine::Tensor tensor;  ///< dtype and shape as the request declares them
};

/// One output the request asks for.
struct RequestedOutput {
  std::string name;
  bool binary = false;  ///< "parameters": {"binary_data": true}
};

/// A parsed inference request.
struct InferRequest {
  std::string id;                        ///< echoed in the answer ("" when absent)
  std::vector<InferInput> inputs;        ///< in request order
  std::vector<RequestedOutput> outputs;  ///< empty: every output of the model
  bool binary_output = false;            ///< parameters.binary_data_output
  std::optional<int64_t> timeout_us;     ///< parameters.timeout, microseconds (Triton's name)
};

/// Largest nesting depth of a request's JSON (objects and arrays); deeper
/// bodies are refused before they are parsed.
inline constexpr int kMaxJsonDepth = 32;
/// Most JSON values (numbers, strings, arrays, objects) in a request: the
/// parsed document costs 16 bytes per value (nlohmann::json), so at most
/// 64 MiB besides the tensors. Larger tensors go as binary data.
inline constexpr int64_t kMaxJsonValues = int64_t{1} << 22;

/// Parses a request body. `header_length`: the value of the
/// Inference-Header-Content-Length header (nullopt when absent: the whole
/// body is JSON). Checks: the JSON (RFC 8259, depth <= kMaxJsonDepth, at most
/// kMaxJsonValues values), the
/// protocol's fields and types, each input's datatype known, its shape
/// non-negative with at most 2^31 elements, its data either "data" (a flat or
/// nested array of NumElements(shape) numbers; integers within the
/// datatype's range; BOOL true/false; FP16/BF16 only as binary data) or
/// binary_data_size bytes equal to the tensor's size, and the binary bytes
/// accounted for exactly. Errors: InvalidArgument naming the input (or the
/// field) and what is wrong; never crashes on hostile bodies.
absl::StatusOr<InferRequest> ParseInferRequest(std::string_view body,
                                               std::optional<size_t> header_length);

/// One output tensor of an answer.
struct InferOutput {
  std::string name;
  const engine::Tensor* tensor = nullptr;  ///< not owned
  bool binary = false;                     ///< send as binary data after the JSON
};

/// An encoded answer: `body` is the JSON followed by the binary outputs;
/// `header_length` the JSON's length when there is binary data (the value of
/// the answer's Inference-Header-Content-Length header), nullopt otherwise.
struct EncodedResponse {
  std::string body;
  std::optional<size_t> header_length;
};

/// Encodes {"model_name", "model_version", "id"?, "outputs": [{"name",
/// "datatype", "shape", "data" | "parameters": {"binary_data_size"}}]}.
/// JSON numbers: FP32 the shortest decimal that reads back as the same float
/// (std::to_chars), FP64 likewise for double; a non-finite element is the
/// string "NaN", "Infinity" or "-Infinity" (JSON has no literal for them);
/// integers decimal; BOOL true/false. Errors: Unimplemented for an output
/// whose datatype has no JSON form (FP16, BF16) unless it is binary.
absl::StatusOr<EncodedResponse> EncodeInferResponse(std::string_view model_name,
                                                    std::string_view model_version,
                                                    std::string_view id,
                                                    const std::vector<InferOutput>& outputs);

}  // namespace engine::serving

#endif  // ENGINE_SERVING_OIP_CODEC_H_
