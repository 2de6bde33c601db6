// The Open Inference Protocol codec (src/serving/oip_codec.h): JSON tensors,
// the binary tensor extension, and every refusal of a malformed request.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "serving/oip_codec.h"

using namespace engine;
using namespace engine::serving;

namespace {

absl::StatusOr<InferRequest> Parse(const std::string& body) {
  return ParseInferRequest(body, std::nullopt);
}

std::string ErrorOf(const std::string& body, std::optional<size_t> header = std::nullopt) {
  absl::StatusOr<InferRequest> r = ParseInferRequest(body, header);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

}  // namespace

TEST_CASE("OIP datatypes map both ways", "[serving]") {
  CHECK(OipDatatype(DataType::kFloat32) == "FP32");
  CHECK(OipDatatype(DataType::kInt64) == "INT64");
  CHECK(OipDatatype(DataType::kBool) == "BOOL");
  CHECK(DataTypeFromOip("FP16") == DataType::kFloat16);
  CHECK(DataTypeFromOip("UINT8") == DataType::kUint8);
  CHECK_FALSE(DataTypeFromOip("BYTES").has_value());
  CHECK_FALSE(DataTypeFromOip("fp32").has_value());
}

TEST_CASE("A JSON request parses flat and nested data into tensors", "[serving]") {
  auto r = Parse(R"({"id":"r1","parameters":{"timeout":2500,"binary_data_output":true},
    "inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1.5,-2],[3,4e-3]]},
              {"name":"k","shape":[3],"datatype":"INT64","data":[-9007199254740993,0,7]},
              {"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]}],
    "outputs":[{"name":"y","parameters":{"binary_data":false}},{"name":"z"}]})");
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->id == "r1");
  CHECK(r->timeout_us == 2500);
  CHECK(r->binary_output);
  REQUIRE(r->inputs.size() == 3);
  CHECK(r->inputs[0].tensor.shape() == Dims{2, 2});
  const float* x = r->inputs[0].tensor.data_as<float>();
  CHECK(x[0] == 1.5f);
  CHECK(x[1] == -2.0f);
  CHECK(x[3] == 4e-3f);
  CHECK(r->inputs[1].tensor.data_as<int64_t>()[0] == -9007199254740993LL);
  CHECK(r->inputs[2].tensor.data_as<bool>()[0]);
  CHECK_FALSE(r->inputs[2].tensor.data_as<bool>()[1]);
  REQUIRE(r->outputs.size() == 2);
  CHECK_FALSE(r->outputs[0].binary);  // its own parameter wins
  CHECK(r->outputs[1].binary);        // binary_data_output
}

TEST_CASE("The binary tensor extension takes input bytes after the JSON header", "[serving]") {
  const std::string json =
      R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},)"
      R"({"name":"b","shape":[1],"datatype":"INT8","data":[-128]}]})";
  float values[2] = {0.25f, -7.0f};
  std::string body = json + std::string(reinterpret_cast<const char*>(values), 8);
  auto r = ParseInferRequest(body, json.size());
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->inputs[0].tensor.data_as<float>()[1] == -7.0f);
  CHECK(r->inputs[1].tensor.data_as<int8_t>()[0] == -128);

  CHECK_THAT(ErrorOf(body, body.size() + 1),
             Catch::Contains("larger than the request body"));
  CHECK_THAT(ErrorOf(body + "x", json.size()), Catch::Contains("1 bytes of binary data"));
  CHECK_THAT(ErrorOf(json + "abc", json.size()), Catch::Contains("binary data ends early"));
  CHECK_THAT(ErrorOf(body), Catch::Contains("not valid JSON"));  // no header: all JSON
  const std::string wrong_size =
      R"({"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":4}}]})";
  CHECK_THAT(ErrorOf(wrong_size + "abcd", wrong_size.size()),
             Catch::Contains("binary_data_size 4 but FP32 [2] is 8 bytes"));
  CHECK_THAT(ErrorOf(wrong_size), Catch::Contains("no Inference-Header-Content-Length"));
}

TEST_CASE("Malformed requests are refused with a message naming the problem", "[serving]") {
  CHECK_THAT(ErrorOf("{"), Catch::Contains("not valid JSON"));
  CHECK_THAT(ErrorOf("[1]"), Catch::Contains("not an object"));
  CHECK_THAT(ErrorOf(std::string(100000, '[')), Catch::Contains("nests deeper"));
  // 4M + 1 numbers: refused before a document tree is built.
  std::string many = R"({"inputs":[{"name":"x","shape":[4194305],"datatype":"UINT8","data":[0)";
  for (int i = 0; i < (1 << 22); ++i) many += ",0";
  CHECK_THAT(ErrorOf(many + "]}]}"), Catch::Contains("send large tensors as binary data"));
  CHECK_THAT(ErrorOf(R"({"inputs":[]})"), Catch::Contains("no \"inputs\""));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]})"),
             Catch::Contains("no \"name\""));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":[1]}]})"),
             Catch::Contains("unsupported datatype \"BYTES\""));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1]}]})"),
             Catch::Contains("\"data\" has 1 elements but shape [2] has 2"));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[]}]})"),
             Catch::Contains("not an integer in [0, 2^31]"));
  // A huge shape with little data is refused before anything is allocated.
  CHECK_THAT(
      ErrorOf(R"({"inputs":[{"name":"x","shape":[65536,65536],"datatype":"FP32","data":[1]}]})"),
      Catch::Contains("more than 2^31 elements"));
  CHECK_THAT(
      ErrorOf(R"({"inputs":[{"name":"x","shape":[2147483647],"datatype":"FP32","data":[1]}]})"),
      Catch::Contains("\"data\" has 1 elements"));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[128]}]})"),
             Catch::Contains("not an integer within the datatype's range"));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","data":[-1]}]})"),
             Catch::Contains("not an integer within"));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1.5]}]})"),
             Catch::Contains("not an integer within"));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["nan"]}]})"),
             Catch::Contains("holds something other than numbers"));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1e300]}]})"),
             Catch::Contains("out of FP32's range"));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP16","data":[1]}]})"),
             Catch::Contains("no JSON form"));
  CHECK_THAT(ErrorOf(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"x":1})"),
             Catch::Contains("unknown request field \"x\""));
  CHECK_THAT(ErrorOf(R"({"parameters":{"timeout":-5},"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})"),
             Catch::Contains("parameters.timeout"));
}

TEST_CASE("Answers encode JSON numbers exactly and binary outputs after the header",
          "[serving]") {
  Tensor a(DataType::kFloat32, {1, 4});
  float* p = a.data_as<float>();
  p[0] = 0.1f;
  p[1] = -3.0e-38f;
  p[2] = std::numeric_limits<float>::quiet_NaN();
  p[3] = -std::numeric_limits<float>::infinity();
  Tensor b(DataType::kInt64, {2});
  b.data_as<int64_t>()[0] = -5;
  b.data_as<int64_t>()[1] = 1LL << 60;
  auto r = EncodeInferResponse("m", "3", "id7", {{"a", &a, false}, {"b", &b, false}});
  REQUIRE(r.ok());
  CHECK_FALSE(r->header_length.has_value());
  CHECK(r->body ==
        R"({"model_name":"m","model_version":"3","id":"id7","outputs":[)"
        R"({"name":"a","datatype":"FP32","shape":[1,4],"data":[0.1,-3e-38,"NaN","-Infinity"]},)"
        R"({"name":"b","datatype":"INT64","shape":[2],"data":[-5,1152921504606846976]}]})");

  auto bin = EncodeInferResponse("m", "1", "", {{"b", &b, true}});
  REQUIRE(bin.ok());
  REQUIRE(bin->header_length.has_value());
  const std::string header = bin->body.substr(0, *bin->header_length);
  CHECK_THAT(header, Catch::Contains(R"("parameters":{"binary_data_size":16})"));
  REQUIRE(bin->body.size() == *bin->header_length + 16);
  CHECK(std::memcmp(bin->body.data() + *bin->header_length, b.data(), 16) == 0);

  Tensor h(DataType::kFloat16, {1});
  auto half = EncodeInferResponse("m", "1", "", {{"h", &h, false}});
  CHECK(half.status().code() == absl::StatusCode::kUnimplemented);
}
