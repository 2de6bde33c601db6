// libFuzzer target: the example server's JSON request parser and answer
// encoder (examples/json_tensors.cc, the code engine_server runs on every
// JSON request). Errors are expected; crashes, sanitizer reports (a float to
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
#include <string>
#include <string_view>
#include <vector>

#include "engine/tensor.h"
#include "engine/types.h"
#include "json_tensors.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
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
