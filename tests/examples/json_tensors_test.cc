// The example server's JSON request parser and answer encoder
// (examples/json_tensors.cc): what a request may hold, what is refused and
// with which message, and how non-finite outputs are spelled.
#include "json_tensors.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

using engine::DataType;
using engine::TensorDesc;
using engine_example::AppendJsonTensor;
using engine_example::ParseJsonInputs;

const std::vector<TensorDesc> kFloatInput = {{"x", DataType::kFloat32, {1, 3}}};

// The error message of parsing `body` against `descs` (fails if it parses).
std::string Refusal(const std::string& body, const std::vector<TensorDesc>& descs = kFloatInput) {
  auto r = ParseJsonInputs(body, descs);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string Encode(const engine::Tensor& t) {
  std::string out;
  REQUIRE(AppendJsonTensor(t, &out).ok());
  return out;
}

}  // namespace

TEST_CASE("ParseJsonInputs reads every supported dtype, in the engine's order") {
  std::vector<TensorDesc> descs = {{"f", DataType::kFloat32, {2}},
                                   {"i64", DataType::kInt64, {2}},
                                   {"i32", DataType::kInt32, {1}},
                                   {"i8", DataType::kInt8, {2}},
                                   {"u8", DataType::kUint8, {1}},
                                   {"b", DataType::kBool, {4}},
                                   {"s", DataType::kFloat32, {}}};
  auto r = ParseJsonInputs(
      R"({"inputs": {"b": [true, false, 0, 1], "u8": [255], "i8": [-128, 2.0],
          "i32": [-7], "i64": [-9223372036854775808, 9223372036854775807],
          "f": [1.5, -2], "s": [3.4028234663852886e38]}})",
      descs);
  REQUIRE(r.ok());
  REQUIRE(r->size() == descs.size());
  CHECK((*r)[0].data_as<float>()[0] == 1.5f);
  CHECK((*r)[0].data_as<float>()[1] == -2.0f);
  CHECK((*r)[1].data_as<int64_t>()[0] == std::numeric_limits<int64_t>::min());
  CHECK((*r)[1].data_as<int64_t>()[1] == std::numeric_limits<int64_t>::max());
  CHECK((*r)[2].data_as<int32_t>()[0] == -7);
  CHECK((*r)[3].data_as<int8_t>()[0] == -128);
  CHECK((*r)[3].data_as<int8_t>()[1] == 2);
  CHECK((*r)[4].data_as<uint8_t>()[0] == 255);
  CHECK((*r)[5].data_as<bool>()[0]);
  CHECK_FALSE((*r)[5].data_as<bool>()[1]);
  CHECK_FALSE((*r)[5].data_as<bool>()[2]);
  CHECK((*r)[5].data_as<bool>()[3]);
  CHECK((*r)[6].data_as<float>()[0] == std::numeric_limits<float>::max());
  for (size_t i = 0; i < descs.size(); ++i) CHECK((*r)[i].shape() == descs[i].shape);
}

TEST_CASE("ParseJsonInputs refuses non-finite numbers with a clear message") {
  for (const char* body : {R"({"inputs": {"x": [1, NaN, 2]}})",
                           R"({"inputs": {"x": [1, Infinity, 2]}})",
                           R"({"inputs": {"x": [1, -Infinity, 2]}})",
                           R"({"inputs": {"x": [1, inf, 2]}})", R"({"inputs": {"x": [1, nan, 2]}})"}) {
    INFO(body);
    std::string m = Refusal(body);
    CHECK(Contains(m, "input 'x': element 1"));
    CHECK(Contains(m, "NaN and Infinity are not valid JSON"));
    CHECK(Contains(m, "application/octet-stream"));
  }
  std::string m = Refusal(R"({"inputs": {"x": [1, 2, 1e999]}})");
  CHECK(Contains(m, "element 2"));
  CHECK(Contains(m, "1e999 overflows a double"));
  m = Refusal(R"({"inputs": {"x": [1, 2, -1e400]}})");
  CHECK(Contains(m, "overflows a double"));
  m = Refusal(R"({"inputs": {"x": ["nan", 2, 3]}})");
  CHECK(Contains(m, "element 0 is a string (\"nan\"), not a number"));
  CHECK(Contains(m, "non-finite values are not accepted"));
}

TEST_CASE("ParseJsonInputs refuses values out of the dtype's range") {
  CHECK(Contains(Refusal(R"({"inputs": {"x": [1, 2, 1e39]}})"),
                 "element 2 (1e39) is out of range for float"));
  std::vector<TensorDesc> i8 = {{"q", DataType::kInt8, {1}}};
  CHECK(Contains(Refusal(R"({"inputs": {"q": [128]}})", i8), "(128) is out of range for int8 [-128, 127]"));
  CHECK(Contains(Refusal(R"({"inputs": {"q": [1.5]}})", i8), "(1.5) is not an integer"));
  CHECK(Contains(Refusal(R"({"inputs": {"q": [true]}})", i8), "is a boolean"));
  std::vector<TensorDesc> u8 = {{"u", DataType::kUint8, {1}}};
  CHECK(Contains(Refusal(R"({"inputs": {"u": [-1]}})", u8), "out of range for uint8 [0, 255]"));
  std::vector<TensorDesc> i64 = {{"l", DataType::kInt64, {1}}};
  CHECK(Contains(Refusal(R"({"inputs": {"l": [9223372036854775808]}})", i64), "out of range for int64"));
  CHECK(Contains(Refusal(R"({"inputs": {"l": [9.3e18]}})", i64), "out of range for int64"));
  CHECK(Contains(Refusal(R"({"inputs": {"l": [-1e300]}})", i64), "out of range for int64"));
  std::vector<TensorDesc> b = {{"b", DataType::kBool, {1}}};
  CHECK(Contains(Refusal(R"({"inputs": {"b": [2]}})", b), "is not a boolean (true, false, 0 or 1)"));
  CHECK(Contains(Refusal(R"({"inputs": {"x": [1, null, 2]}})"), "element 1 is null"));
}

TEST_CASE("ParseJsonInputs refuses requests of the wrong shape") {
  CHECK(Contains(Refusal(R"({"inputs": {"x": [1, 2]}})"),
                 "input 'x' float 1x3 (12 bytes): expected 3 elements, got 2"));
  CHECK(Contains(Refusal(R"({"inputs": {"x": [1, 2, 3, 4, 5]}})"), "expected 3 elements, got 5"));
  CHECK(Contains(Refusal(R"({"inputs": {"x": [[1, 2, 3]]}})"), "element 0 is an array"));
  CHECK(Contains(Refusal(R"({"inputs": {"x": [1, {"a": 1}, 3]}})"), "element 1 is an object"));
  CHECK(Contains(Refusal(R"({"inputs": {"x": 5}})"), "input 'x' is a number; expected a flat list of 3"));
  CHECK(Contains(Refusal(R"({"inputs": {"y": [1, 2, 3]}})"),
                 "unknown input 'y'; the engine's inputs: 'x' float 1x3 (12 bytes)"));
  CHECK(Contains(Refusal(R"({"inputs": {"x": [1, 2, 3], "x": [1, 2, 3]}})"), "input 'x' given twice"));
  CHECK(Contains(Refusal(R"({"inputs": {}})"), "missing input 'x' float 1x3"));
  CHECK(Contains(Refusal(R"({"inputs": {"x": [1, 2, 3]}, "id": 7})"), "unknown key 'id'"));
  CHECK(Contains(Refusal(R"({})"), "no 'inputs' in the request"));
  CHECK(Contains(Refusal(R"([1, 2, 3])"), "the request is an array"));
  CHECK(Contains(Refusal(R"({"inputs": [1, 2, 3]})"), "'inputs' is an array"));
  CHECK(Contains(Refusal(R"({"inputs": {"x": [1, 2, 3]}} trailing)"), "invalid JSON at byte"));
  CHECK(Contains(Refusal(""), "invalid JSON at byte"));
  // Bytes that are not printable come back escaped, and cut.
  std::string m = Refusal("{\"inputs\": {\"\xc3\xa9" + std::string(200, 'a') + "\": [1]}}");
  CHECK(Contains(m, "unknown input '\\xc3\\xa9aaa"));
  CHECK(Contains(m, "...'"));
  // A deep nest is refused at its second level, not parsed.
  CHECK(Contains(Refusal("{\"inputs\": {\"x\": " + std::string(100000, '[')), "element 0 is an array"));
}

TEST_CASE("ParseJsonInputs: float16 inputs are Unimplemented (raw bytes only)") {
  auto r = ParseJsonInputs(R"({"inputs": {"h": [1]}})", {{"h", DataType::kFloat16, {1}}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(Contains(std::string(r.status().message()), "send raw bytes"));
}

TEST_CASE("AppendJsonTensor spells non-finite floats as strings, never null") {
  engine::Tensor t(DataType::kFloat32, {1, 6});
  float* p = t.data_as<float>();
  p[0] = std::numeric_limits<float>::quiet_NaN();
  p[1] = std::numeric_limits<float>::infinity();
  p[2] = -std::numeric_limits<float>::infinity();
  p[3] = -0.0f;
  p[4] = 0.1f;
  p[5] = std::numeric_limits<float>::denorm_min();
  std::string out = Encode(t);
  CHECK(out.rfind(R"({"dtype":"float","shape":[1,6],"data":["nan","inf","-inf",-0.0,)", 0) == 0);
  CHECK(out.find("null") == std::string::npos);
  nlohmann::json j = nlohmann::json::parse(out);
  for (int i = 3; i < 6; ++i) {
    float back = static_cast<float>(j["data"][i].get<double>());
    CHECK(std::memcmp(&back, &p[i], sizeof(float)) == 0);  // exact, sign of zero included
  }
}

TEST_CASE("AppendJsonTensor encodes integers and booleans, not float16 (Unimplemented)") {
  engine::Tensor i(DataType::kInt64, {2});
  i.data_as<int64_t>()[0] = std::numeric_limits<int64_t>::min();
  i.data_as<int64_t>()[1] = 42;
  CHECK(Encode(i) == R"({"dtype":"int64","shape":[2],"data":[-9223372036854775808,42]})");
  engine::Tensor b(DataType::kBool, {2});
  b.data_as<bool>()[1] = true;
  CHECK(Encode(b) == R"({"dtype":"bool","shape":[2],"data":[false,true]})");
  engine::Tensor h(DataType::kFloat16, {1});
  std::string out = "unchanged";
  CHECK(AppendJsonTensor(h, &out).code() == absl::StatusCode::kUnimplemented);
  CHECK(out == "unchanged");
}

// tests/data/fuzz_regressions/request/: requests that once misbehaved (issue
// 16: infinities answered as null with 200) or stress the parser, in the fuzz
// target's format (first byte: the input signature; here only the body is
// replayed, against a float input). Each must be refused with a printable
// message: none of them is a valid request for any signature.
TEST_CASE("ParseJsonInputs refuses the request fuzz regressions cleanly") {
  std::filesystem::path dir = std::filesystem::path(ENGINE_SOURCE_DIR) / "tests" / "data" /
                              "fuzz_regressions" / "request";
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream f(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() > 1);
    INFO(entry.path().filename().string());
    for (const auto& descs : {kFloatInput, std::vector<TensorDesc>{{"a", DataType::kInt64, {2}},
                                                                   {"x", DataType::kInt8, {1}}}}) {
      auto r = ParseJsonInputs(std::string_view(bytes).substr(1), descs);
      REQUIRE_FALSE(r.ok());
      for (char c : r.status().message()) CHECK((c >= 0x20 && c < 0x7f));
    }
    ++n;
  }
  CHECK(n >= 4);
}
