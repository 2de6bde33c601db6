// libFuzzer target: the request parsers of both servers. Inputs whose first
// byte is below 0x80 go to the example server's JSON request parser and
// answer encoder (examples/json_tensors.cc); the others to engine_server's
// Open Inference Protocol codec (src/serving/oip_codec.cc: JSON tensors and
// the binary tensor extension), described at FuzzOip below. Errors are expected; crashes, sanitizer reports (a float to
// integer conversion out of range included), leaks, hangs and broken
// invariants are bugs.
//
// Input: the first byte picks the engine's input signature (kSignatures:
// every dtype the parser takes, a scalar, an empty tensor, an unsupported
// dtype); the rest is the request body. Invariants checked:
//  - a parsed request has one tensor per input, with its dtype and shape, and
//    no non-finite float;
//  - re-encoding the parsed tensors (AppendJsonTensor) and parsing the
//    result again gives the same bytes;
//  - an error message is printable ASCII and at most 2 KiB, whatever the body;
//  - the body's bytes read as float32 and as int64 tensors encode to valid
//    JSON that reads back to the same values ("nan"/"inf"/"-inf" strings for
//    the non-finite ones).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tensor.h"
#include "engine/types.h"
#include "json_tensors.h"
#include "serving/oip_codec.h"

namespace {

using engine::DataType;
using engine::TensorDesc;

const std::vector<std::vector<TensorDesc>>& Signatures() {
  static const auto* kSignatures = new std::vector<std::vector<TensorDesc>>{
      {{"input", DataType::kFloat32, {1, 3, 4, 4}}},
      {{"a", DataType::kInt64, {2}}, {"b", DataType::kBool, {3}}, {"c", DataType::kUint8, {2, 2}}},
      {{"x", DataType::kInt8, {4}}, {"y", DataType::kInt32, {1}}, {"z", DataType::kFloat32, {2}}},
      {{"s", DataType::kFloat32, {}}},
      {{"e", DataType::kFloat32, {0}}, {"i", DataType::kInt64, {1}}},
      {{"h", DataType::kFloat16, {2}}},
  };
  return *kSignatures;
}

[[noreturn]] void Die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "request_parser_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

void CheckMessage(const absl::Status& s) {
  std::string m(s.message());
  if (m.empty() || m.size() > 2048) Die("error message empty or over 2 KiB", m.substr(0, 200));
  for (char c : m) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      Die("error message with a raw byte", engine_example::Printable(m, 300));
    }
  }
}

// Parses what AppendJsonTensor wrote for `tensors` as a request again.
void CheckRoundTrip(const std::vector<TensorDesc>& descs,
                    const std::vector<engine::Tensor>& tensors) {
  std::string request = "{\"inputs\":{";
  for (size_t i = 0; i < descs.size(); ++i) {
    std::string encoded;
    absl::Status s = engine_example::AppendJsonTensor(tensors[i], &encoded);
    if (!s.ok()) Die("a parsed tensor does not encode", s.ToString());
    nlohmann::json j = nlohmann::json::parse(encoded, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("data")) Die("encoded tensor is not JSON", encoded);
    if (i > 0) request += ",";
    engine_example::AppendJsonString(descs[i].name, &request);
    request += ":" + j["data"].dump();
  }
  request += "}}";
  auto again = engine_example::ParseJsonInputs(request, descs);
  if (!again.ok()) Die("re-encoded request refused", again.status().ToString());
  for (size_t i = 0; i < descs.size(); ++i) {
    const engine::Tensor& a = tensors[i];
    const engine::Tensor& b = (*again)[i];
    if (a.byte_size() != b.byte_size() ||
        (a.byte_size() > 0 && std::memcmp(a.data(), b.data(), a.byte_size()) != 0)) {
      Die("round trip changed input", descs[i].name);
    }
  }
}

void CheckParsed(const std::vector<TensorDesc>& descs,
                 const std::vector<engine::Tensor>& tensors) {
  if (tensors.size() != descs.size()) Die("tensor count", std::to_string(tensors.size()));
  for (size_t i = 0; i < descs.size(); ++i) {
    if (tensors[i].dtype() != descs[i].dtype || tensors[i].shape() != descs[i].shape) {
      Die("dtype or shape differs from the input's", descs[i].name);
    }
    if (descs[i].dtype == DataType::kFloat32) {
      const float* p = tensors[i].data_as<float>();
      for (int64_t k = 0; k < tensors[i].num_elements(); ++k) {
        if (!std::isfinite(p[k])) Die("non-finite value accepted", descs[i].name);
      }
    }
  }
  CheckRoundTrip(descs, tensors);
}

// The bytes as a float32 or int64 tensor, encoded and read back by nlohmann.
void CheckEncoder(std::string_view bytes) {
  for (DataType dtype : {DataType::kFloat32, DataType::kInt64}) {
    const int64_t n = static_cast<int64_t>(bytes.size() / engine::DataTypeSize(dtype));
    engine::Tensor t(dtype, {n});
    if (t.byte_size() > 0) std::memcpy(t.data(), bytes.data(), t.byte_size());
    std::string encoded;
    absl::Status s = engine_example::AppendJsonTensor(t, &encoded);
    if (!s.ok()) Die("encode", s.ToString());
    nlohmann::json j = nlohmann::json::parse(encoded, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) Die("encoder wrote invalid JSON", encoded.substr(0, 200));
    const nlohmann::json& data = j["data"];
    if (!data.is_array() || static_cast<int64_t>(data.size()) != n) Die("element count", encoded);
    for (int64_t k = 0; k < n; ++k) {
      const nlohmann::json& v = data[static_cast<size_t>(k)];
      if (dtype == DataType::kInt64) {
        if (!v.is_number_integer() || v.get<int64_t>() != t.data_as<int64_t>()[k]) {
          Die("int64 element differs", v.dump());
        }
        continue;
      }
      float f = t.data_as<float>()[k];
      if (std::isnan(f)) {
        if (v != "nan") Die("NaN not encoded as \"nan\"", v.dump());
      } else if (std::isinf(f)) {
        if (v != (f > 0 ? "inf" : "-inf")) Die("infinity not encoded as \"inf\"", v.dump());
      } else {
        if (!v.is_number()) Die("finite float not a number", v.dump());
        float back = static_cast<float>(v.get<double>());
        if (std::memcmp(&back, &f, sizeof(f)) != 0) Die("float element differs", v.dump());
      }
    }
  }
}

// engine_server's OIP codec. Selector byte `sel` (>= 0x80): bit 0x40 set
// means the next two bytes (little endian) are the
// Inference-Header-Content-Length value, else the whole body is JSON; bit
// 0x20 asks every re-encoded output as binary data. Invariants: an error has
// a message; a parsed request's inputs encode as an answer (binary for
// FP16/BF16, which have no JSON form), whose JSON part parses and lists one
// output per input, followed by exactly the tensors' bytes when binary.
void FuzzOip(uint8_t sel, std::string_view rest) {
  std::optional<size_t> header_length;
  if ((sel & 0x40) != 0) {
    if (rest.size() < 2) return;
    header_length = static_cast<uint8_t>(rest[0]) | (static_cast<size_t>(static_cast<uint8_t>(rest[1])) << 8);
    rest.remove_prefix(2);
  }
  auto parsed = engine::serving::ParseInferRequest(rest, header_length);
  if (!parsed.ok()) {
    if (parsed.status().message().empty()) Die("OIP error without a message", "");
    return;
  }
  std::vector<engine::serving::InferOutput> outputs;
  size_t binary_bytes = 0;
  for (const auto& in : parsed->inputs) {
    const bool binary = (sel & 0x20) != 0 || in.tensor.dtype() == DataType::kFloat16 ||
                        in.tensor.dtype() == DataType::kBFloat16;
    if (binary) binary_bytes += in.tensor.byte_size();
    outputs.push_back({in.name, &in.tensor, binary});
  }
  auto encoded = engine::serving::EncodeInferResponse("m", "1", parsed->id, outputs);
  if (!encoded.ok()) Die("parsed OIP inputs do not encode", encoded.status().ToString());
  const size_t json_size = encoded->header_length.value_or(encoded->body.size());
  if (json_size > encoded->body.size() || encoded->body.size() - json_size != binary_bytes) {
    Die("OIP answer's binary part has the wrong size", std::to_string(encoded->body.size()));
  }
  nlohmann::json j = nlohmann::json::parse(encoded->body.substr(0, json_size), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("outputs") || !j["outputs"].is_array() ||
      j["outputs"].size() != outputs.size()) {
    Die("OIP answer is not JSON with one output per input", encoded->body.substr(0, 200));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] >= 0x80) {
    FuzzOip(data[0], std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    return 0;
  }
  const std::vector<TensorDesc>& descs = Signatures()[data[0] % Signatures().size()];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parsed = engine_example::ParseJsonInputs(body, descs);
  if (parsed.ok()) {
    CheckParsed(descs, *parsed);
  } else {
    CheckMessage(parsed.status());
  }
  CheckEncoder(body);
  return 0;
}
