#include "serving/oip_codec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>

#include "serving/json_util.h"

namespace engine::serving {
namespace {

using nlohmann::json;

struct DatatypeName {
  engine::DataType dtype;
  const char* name;
};
// Protocol datatypes (KServe v2 "Tensor Data Types"; BF16 is Triton's addition).
constexpr DatatypeName kDatatypes[] = {
    {engine::DataType::kBool, "BOOL"},     {engine::DataType::kUint8, "UINT8"},
    {engine::DataType::kUint16, "UINT16"}, {engine::DataType::kUint32, "UINT32"},
    {engine::DataType::kUint64, "UINT64"}, {engine::DataType::kInt8, "INT8"},
    {engine::DataType::kInt16, "INT16"},   {engine::DataType::kInt32, "INT32"},
    {engine::DataType::kInt64, "INT64"},   {engine::DataType::kFloat16, "FP16"},
    {engine::DataType::kFloat32, "FP32"},  {engine::DataType::kFloat64, "FP64"},
    {engine::DataType::kBFloat16, "BF16"},
};

// Largest element count of one tensor in a request.
constexpr int64_t kMaxElements = int64_t{1} << 31;

// Nesting depth of `text` (brackets outside strings) and an upper bound of
// its JSON values (commas and opening brackets outside strings, plus one).
struct JsonExtent {
  int depth = 0;
  int64_t values = 1;
};
JsonExtent MeasureJson(std::string_view text) {
  JsonExtent e;
  int depth = 0;
  bool in_string = false, escape = false;
  for (char c : text) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      e.depth = std::max(e.depth, ++depth);
      ++e.values;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',') {
      ++e.values;
    }
  }
  return e;
}

// "[2,3]": a shape as the protocol writes it.
std::string ShapeText(const engine::Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s.push_back(',');
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

std::string InputName(const std::string& name) { return "input '" + Printable(name) + "'"; }

// Counts the numbers of a flat or nested array, stopping past `limit`.
// Returns -1 when an element is neither a number, a boolean nor an array.
int64_t CountElements(const json& data, int64_t limit) {
  if (!data.is_array()) return (data.is_number() || data.is_boolean()) ? 1 : -1;
  int64_t n = 0;
  for (const json& e : data) {
    int64_t c = CountElements(e, limit);
    if (c < 0) return -1;
    n += c;
    if (n > limit) return n;
  }
  return n;
}

template <typename T>
absl::Status StoreInteger(const json& v, T* dst, const std::string& what) {
  if (v.is_boolean()) {
    *dst = static_cast<T>(v.get<bool>());
    return absl::OkStatus();
  }
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      *dst = static_cast<T>(u);
      return absl::OkStatus();
    }
  } else if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if ((std::is_signed_v<T> || i >= 0) &&
        (!std::is_signed_v<T> || (i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                  i <= static_cast<int64_t>(std::numeric_limits<T>::max()))) &&
        (std::is_signed_v<T> || static_cast<uint64_t>(i) <= std::numeric_limits<T>::max())) {
      *dst = static_cast<T>(i);
      return absl::OkStatus();
    }
  } else if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::trunc(d) == d && d >= static_cast<double>(std::numeric_limits<T>::lowest()) &&
        d <= static_cast<double>(std::numeric_limits<T>::max())) {
      *dst = static_cast<T>(d);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(what + ": " + Printable(v.dump(), 32) +
                                    " is not an integer within the datatype's range");
}

// Writes the numbers of `data` (flat or nested, row-major) into `t`.
absl::Status FillFromJson(const json& data, engine::Tensor& t, int64_t& index,
                          const std::string& input) {
  if (data.is_array()) {
    for (const json& e : data) {
      if (absl::Status s = FillFromJson(e, t, index, input); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  const std::string what = input + " element " + std::to_string(index);
  const int64_t i = index++;
  switch (t.dtype()) {
    case engine::DataType::kFloat32:
    case engine::DataType::kFloat64: {
      if (!data.is_number()) {
        return absl::InvalidArgumentError(what + ": " + Printable(data.dump(), 32) +
                                          " is not a number");
      }
      double d = data.get<double>();
      if (!std::isfinite(d)) {
        return absl::InvalidArgumentError(what + " overflows a double");
      }
      if (t.dtype() == engine::DataType::kFloat64) {
        t.data_as<double>()[i] = d;
      } else {
        if (std::fabs(d) > std::numeric_limits<float>::max()) {
          return absl::InvalidArgumentError(what + ": " + Printable(data.dump(), 32) +
                                            " is out of FP32's range");
        }
        t.data_as<float>()[i] = static_cast<float>(d);
      }
      return absl::OkStatus();
    }
    case engine::DataType::kBool: {
      if (data.is_boolean()) {
        t.data_as<bool>()[i] = data.get<bool>();
        return absl::OkStatus();
      }
      if (data.is_number_unsigned() && data.get<uint64_t>() <= 1) {
        t.data_as<bool>()[i] = data.get<uint64_t>() == 1;
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(what + ": " + Printable(data.dump(), 32) +
                                        " is not a boolean");
    }
    case engine::DataType::kUint8: return StoreInteger(data, t.data_as<uint8_t>() + i, what);
    case engine::DataType::kUint16: return StoreInteger(data, t.data_as<uint16_t>() + i, what);
    case engine::DataType::kUint32: return StoreInteger(data, t.data_as<uint32_t>() + i, what);
    case engine::DataType::kUint64: return StoreInteger(data, t.data_as<uint64_t>() + i, what);
    case engine::DataType::kInt8: return StoreInteger(data, t.data_as<int8_t>() + i, what);
    case engine::DataType::kInt16: return StoreInteger(data, t.data_as<int16_t>() + i, what);
    case engine::DataType::kInt32: return StoreInteger(data, t.data_as<int32_t>() + i, what);
    case engine::DataType::kInt64: return StoreInteger(data, t.data_as<int64_t>() + i, what);
    default:
      return absl::InvalidArgumentError(input + ": datatype " +
                                        std::string(OipDatatype(t.dtype())) +
                                        " has no JSON form; send it as binary data "
                                        "(parameters.binary_data_size)");
  }
}

absl::StatusOr<engine::Dims> ParseShape(const json& shape, const std::string& input) {
  if (!shape.is_array()) return absl::InvalidArgumentError(input + ": \"shape\" is not an array");
  if (shape.size() > 16) {
    return absl::InvalidArgumentError(input + ": \"shape\" has " + std::to_string(shape.size()) +
                                      " dimensions (at most 16)");
  }
  engine::Dims dims;
  int64_t n = 1;
  for (const json& d : shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > kMaxElements) {
      return absl::InvalidArgumentError(input + ": shape dimension " + Printable(d.dump(), 24) +
                                        " is not an integer in [0, 2^31]");
    }
    dims.push_back(d.get<int64_t>());
    n *= std::max<int64_t>(dims.back(), 1);
    if (n > kMaxElements) {
      return absl::InvalidArgumentError(input + ": shape " + ShapeText(dims) +
                                        "... has more than 2^31 elements");
    }
  }
  return dims;
}

template <typename T>
void AppendInts(const engine::Tensor& t, std::string* s) {
  const T* p = t.data_as<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (i > 0) s->push_back(',');
    if constexpr (std::is_same_v<T, bool>) {
      s->append(p[i] ? "true" : "false");
    } else {
      s->append(std::to_string(p[i]));
    }
  }
}

template <typename T>
void AppendReals(const engine::Tensor& t, std::string* s) {
  const T* p = t.data_as<T>();
  char buf[64];
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (i > 0) s->push_back(',');
    T v = p[i];
    if (std::isnan(v)) {
      s->append("\"NaN\"");
    } else if (std::isinf(v)) {
      s->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else {
      auto r = std::to_chars(buf, buf + sizeof(buf), v);
      s->append(buf, r.ptr);
    }
  }
}

}  // namespace

std::string_view OipDatatype(engine::DataType dtype) {
  for (const DatatypeName& d : kDatatypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "";
}

std::optional<engine::DataType> DataTypeFromOip(std::string_view name) {
  for (const DatatypeName& d : kDatatypes) {
    if (name == d.name) return d.dtype;
  }
  return std::nullopt;
}

absl::StatusOr<InferRequest> ParseInferRequest(std::string_view body,
                                               std::optional<size_t> header_length) {
  std::string_view text = body, binary;
  if (header_length.has_value()) {
    if (*header_length > body.size()) {
      return absl::InvalidArgumentError(
          "Inference-Header-Content-Length " + std::to_string(*header_length) +
          " is larger than the request body (" + std::to_string(body.size()) + " bytes)");
    }
    text = body.substr(0, *header_length);
    binary = body.substr(*header_length);
  }
  const JsonExtent extent = MeasureJson(text);
  if (extent.depth > kMaxJsonDepth) {
    return absl::InvalidArgumentError("request JSON nests deeper than " +
                                      std::to_string(kMaxJsonDepth) + " levels");
  }
  if (extent.values > kMaxJsonValues) {
    return absl::InvalidArgumentError(
        "request JSON holds more than " + std::to_string(kMaxJsonValues) +
        " values; send large tensors as binary data (parameters.binary_data_size with the "
        "Inference-Header-Content-Length header)");
  }
  // nlohmann's lexer takes a NUL byte for the end of the input; JSON has none
  // (not even in strings, where control characters must be escaped).
  json doc = text.find('\0') == std::string_view::npos
                 ? json::parse(text, nullptr, /*allow_exceptions=*/false)
                 : json(json::value_t::discarded);
  if (doc.is_discarded()) {
    return absl::InvalidArgumentError(
        "request body is not valid JSON (RFC 8259)" +
        std::string(header_length.has_value() ? "" : "; binary tensor data needs the "
                                                      "Inference-Header-Content-Length header"));
  }
  if (!doc.is_object()) return absl::InvalidArgumentError("request JSON is not an object");
  InferRequest req;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    if (key == "id") {
      if (!it->is_string()) return absl::InvalidArgumentError("\"id\" is not a string");
      req.id = it->get<std::string>();
    } else if (key == "parameters") {
      if (!it->is_object()) return absl::InvalidArgumentError("\"parameters\" is not an object");
      if (auto b = it->find("binary_data_output"); b != it->end()) {
        if (!b->is_boolean()) {
          return absl::InvalidArgumentError("parameters.binary_data_output is not a boolean");
        }
        req.binary_output = b->get<bool>();
      }
      if (auto t = it->find("timeout"); t != it->end()) {
        if (!t->is_number_integer() || t->get<int64_t>() <= 0) {
          return absl::InvalidArgumentError(
              "parameters.timeout is not a positive integer (microseconds)");
        }
        req.timeout_us = t->get<int64_t>();
      }
    } else if (key != "inputs" && key != "outputs") {
      return absl::InvalidArgumentError("unknown request field \"" + Printable(key, 32) +
                                        "\" (expected id, parameters, inputs, outputs)");
    }
  }
  auto inputs = doc.find("inputs");
  if (inputs == doc.end() || !inputs->is_array() || inputs->empty()) {
    return absl::InvalidArgumentError("request has no \"inputs\" array");
  }
  size_t binary_used = 0;
  for (const json& in : *inputs) {
    if (!in.is_object()) return absl::InvalidArgumentError("an entry of \"inputs\" is not an object");
    auto name = in.find("name");
    if (name == in.end() || !name->is_string()) {
      return absl::InvalidArgumentError("an input has no \"name\" string");
    }
    const std::string input = InputName(name->get<std::string>());
    auto datatype = in.find("datatype");
    if (datatype == in.end() || !datatype->is_string()) {
      return absl::InvalidArgumentError(input + " has no \"datatype\" string");
    }
    std::optional<engine::DataType> dtype = DataTypeFromOip(datatype->get<std::string>());
    if (!dtype.has_value()) {
      return absl::InvalidArgumentError(input + ": unknown or unsupported datatype \"" +
                                        Printable(datatype->get<std::string>(), 16) + "\"");
    }
    auto shape_field = in.find("shape");
    if (shape_field == in.end()) return absl::InvalidArgumentError(input + " has no \"shape\"");
    absl::StatusOr<engine::Dims> shape = ParseShape(*shape_field, input);
    if (!shape.ok()) return shape.status();
    const int64_t elements = engine::NumElements(*shape);
    const size_t bytes = static_cast<size_t>(elements) * engine::DataTypeSize(*dtype);
    std::optional<size_t> binary_size;
    if (auto p = in.find("parameters"); p != in.end()) {
      if (!p->is_object()) return absl::InvalidArgumentError(input + ": \"parameters\" is not an object");
      if (auto b = p->find("binary_data_size"); b != p->end()) {
        if (!b->is_number_integer() || b->get<int64_t>() < 0) {
          return absl::InvalidArgumentError(input + ": binary_data_size is not a byte count");
        }
        binary_size = static_cast<size_t>(b->get<int64_t>());
      }
    }
    auto data = in.find("data");
    if (binary_size.has_value()) {
      if (data != in.end()) {
        return absl::InvalidArgumentError(input + " has both \"data\" and binary_data_size");
      }
      if (!header_length.has_value()) {
        return absl::InvalidArgumentError(input + " has binary_data_size but the request has no "
                                          "Inference-Header-Content-Length header");
      }
      if (*binary_size != bytes) {
        return absl::InvalidArgumentError(
            input + ": binary_data_size " + std::to_string(*binary_size) + " but " +
            std::string(OipDatatype(*dtype)) + " " + ShapeText(*shape) + " is " +
            std::to_string(bytes) + " bytes");
      }
      if (binary.size() - binary_used < bytes) {
        return absl::InvalidArgumentError(
            input + ": binary data ends early (" + std::to_string(binary.size() - binary_used) +
            " bytes left after the JSON header and earlier inputs, " + std::to_string(bytes) +
            " needed)");
      }
      req.inputs.push_back(
          {name->get<std::string>(),
           engine::Tensor(*dtype, *shape,
                          std::as_bytes(std::span(binary.data() + binary_used, bytes)))});
      binary_used += bytes;
      continue;
    }
    if (data == in.end()) {
      return absl::InvalidArgumentError(input + " has neither \"data\" nor binary_data_size");
    }
    int64_t count = CountElements(*data, elements);
    if (count < 0) {
      return absl::InvalidArgumentError(input + ": \"data\" holds something other than numbers, "
                                        "booleans and arrays");
    }
    if (count != elements) {
      return absl::InvalidArgumentError(
          input + ": \"data\" has " + (count > elements ? "more than " : "") +
          std::to_string(count) + " elements but shape " + ShapeText(*shape) +
          " has " + std::to_string(elements));
    }
    engine::Tensor t(*dtype, *shape);
    int64_t index = 0;
    if (absl::Status s = FillFromJson(*data, t, index, input); !s.ok()) return s;
    req.inputs.push_back({name->get<std::string>(), std::move(t)});
  }
  if (binary_used != binary.size()) {
    return absl::InvalidArgumentError(
        "request has " + std::to_string(binary.size() - binary_used) +
        " bytes of binary data that no input's binary_data_size accounts for");
  }
  if (auto outputs = doc.find("outputs"); outputs != doc.end()) {
    if (!outputs->is_array()) return absl::InvalidArgumentError("\"outputs\" is not an array");
    for (const json& out : *outputs) {
      if (!out.is_object() || !out.contains("name") || !out["name"].is_string()) {
        return absl::InvalidArgumentError("an entry of \"outputs\" has no \"name\" string");
      }
      RequestedOutput r{out["name"].get<std::string>(), req.binary_output};
      if (auto p = out.find("parameters"); p != out.end() && p->is_object()) {
        if (auto b = p->find("binary_data"); b != p->end()) {
          if (!b->is_boolean()) {
            return absl::InvalidArgumentError("output '" + Printable(r.name) +
                                              "': parameters.binary_data is not a boolean");
          }
          r.binary = b->get<bool>();
        }
      }
      req.outputs.push_back(std::move(r));
    }
  }
  return req;
}

absl::StatusOr<EncodedResponse> EncodeInferResponse(std::string_view model_name,
                                                    std::string_view model_version,
                                                    std::string_view id,
                                                    const std::vector<InferOutput>& outputs) {
  EncodedResponse r;
  std::string& s = r.body;
  std::string binary;
  s = "{\"model_name\":";
  AppendJsonString(model_name, &s);
  s += ",\"model_version\":";
  AppendJsonString(model_version, &s);
  if (!id.empty()) {
    s += ",\"id\":";
    AppendJsonString(id, &s);
  }
  s += ",\"outputs\":[";
  for (size_t k = 0; k < outputs.size(); ++k) {
    const InferOutput& o = outputs[k];
    const engine::Tensor& t = *o.tensor;
    if (k > 0) s.push_back(',');
    s += "{\"name\":";
    AppendJsonString(o.name, &s);
    s += ",\"datatype\":\"";
    s += OipDatatype(t.dtype());
    s += "\",\"shape\":[";
    for (size_t i = 0; i < t.shape().size(); ++i) {
      if (i > 0) s.push_back(',');
      s += std::to_string(t.shape()[i]);
    }
    s += "]";
    if (o.binary) {
      s += ",\"parameters\":{\"binary_data_size\":" + std::to_string(t.byte_size()) + "}}";
      binary.append(static_cast<const char*>(t.data()), t.byte_size());
      continue;
    }
    s += ",\"data\":[";
    switch (t.dtype()) {
      case engine::DataType::kFloat32: AppendReals<float>(t, &s); break;
      case engine::DataType::kFloat64: AppendReals<double>(t, &s); break;
      case engine::DataType::kBool: AppendInts<bool>(t, &s); break;
      case engine::DataType::kUint8: AppendInts<uint8_t>(t, &s); break;
      case engine::DataType::kUint16: AppendInts<uint16_t>(t, &s); break;
      case engine::DataType::kUint32: AppendInts<uint32_t>(t, &s); break;
      case engine::DataType::kUint64: AppendInts<uint64_t>(t, &s); break;
      case engine::DataType::kInt8: AppendInts<int8_t>(t, &s); break;
      case engine::DataType::kInt16: AppendInts<int16_t>(t, &s); break;
      case engine::DataType::kInt32: AppendInts<int32_t>(t, &s); break;
      case engine::DataType::kInt64: AppendInts<int64_t>(t, &s); break;
      default:
        return absl::UnimplementedError("output '" + Printable(o.name) + "': datatype " +
                                        std::string(OipDatatype(t.dtype())) +
                                        " has no JSON form; ask for it as binary data "
                                        "(\"parameters\": {\"binary_data\": true})");
    }
    s += "]}";
  }
  s += "]}";
  if (!binary.empty() || std::any_of(outputs.begin(), outputs.end(),
                                     [](const InferOutput& o) { return o.binary; })) {
    r.header_length = s.size();
    s += binary;
  }
  return r;
}

}  // namespace engine::serving
