// config.json of the model repository (src/serving/model_config.h).
#include <catch2/catch.hpp>

#include <string>

#include "serving/model_config.h"

using namespace engine::serving;

namespace {
std::string ErrorOf(const std::string& text) {
  auto c = ParseModelConfig(text, "repo/m/config.json");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
  std::string m(c.status().message());
  CHECK_THAT(m, Catch::StartsWith("repo/m/config.json: "));
  return m;
}
}  // namespace

TEST_CASE("A model config parses every field", "[serving]") {
  auto c = ParseModelConfig(R"({"max_batch_size": 8, "instance_count": 2, "threads": 0,
      "max_queue_size": 5, "default_timeout_us": 1000,
      "dynamic_batching": {"max_queue_delay_us": 250, "preferred_batch_size": [4, 8]}})",
                            "c.json");
  INFO(c.status().message());
  REQUIRE(c.ok());
  CHECK(c->max_batch_size == 8);
  CHECK(c->instance_count == 2);
  CHECK(c->threads == 0);
  CHECK(c->max_queue_size == 5);
  CHECK(c->default_timeout_us == 1000);
  CHECK(c->dynamic_batching);
  CHECK(c->max_queue_delay_us == 250);
  CHECK(c->preferred_batch_size == std::vector<int>{4, 8});

  auto d = ParseModelConfig("{}", "c.json");
  REQUIRE(d.ok());
  CHECK(d->max_batch_size == 0);
  CHECK_FALSE(d->dynamic_batching);
  CHECK(d->instance_count == 1);
}

TEST_CASE("A wrong model config is refused naming the file and key", "[serving]") {
  CHECK_THAT(ErrorOf("{"), Catch::Contains("not valid JSON"));
  CHECK_THAT(ErrorOf("[]"), Catch::Contains("not a JSON object"));
  CHECK_THAT(ErrorOf(R"({"max_batch":4})"), Catch::Contains("unknown key \"max_batch\""));
  CHECK_THAT(ErrorOf(R"({"max_batch_size":-1})"), Catch::Contains("[0, 1024]"));
  CHECK_THAT(ErrorOf(R"({"instance_count":0})"), Catch::Contains("\"instance_count\" is 0"));
  CHECK_THAT(ErrorOf(R"({"threads":"2"})"), Catch::Contains("\"threads\""));
  CHECK_THAT(ErrorOf(R"({"dynamic_batching":{}})"), Catch::Contains("needs \"max_batch_size\" > 0"));
  CHECK_THAT(ErrorOf(R"({"max_batch_size":4,"dynamic_batching":{"preferred_batch_size":[8]}})"),
             Catch::Contains("preferred batch size 8 exceeds max_batch_size 4"));
  CHECK_THAT(ErrorOf(R"({"max_batch_size":4,"dynamic_batching":{"delay":1}})"),
             Catch::Contains("unknown key \"dynamic_batching.delay\""));
}
