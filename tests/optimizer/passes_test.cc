#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "optimizer/pass.h"
#include "optimizer/passes.h"
#include "parser/onnx_parser.h"
#include "test_models.h"
#include "test_util.h"
#include "optimizer_test_util.h"

using namespace engine;
using engine::testing::ModelBuilder;
using engine::testing::Count;
using engine::testing::Parse;

namespace {


}  // namespace

TEST_CASE("Pass names are kebab-case, unique and creatable", "[optimizer]") {
  auto passes = opt::ListPasses();
  REQUIRE_FALSE(passes.empty());
  for (const auto& [name, desc] : passes) {
    CHECK_FALSE(desc.empty());
    for (char c : name) CHECK(((c >= 'a' && c <= 'z') || c == '-'));
  }
  auto unknown = opt::CreatePass("no-such-pass");
  REQUIRE_FALSE(unknown.ok());
  CHECK(absl::StrContains(unknown.status().message(), "fold-constants"));
  CHECK_FALSE(opt::BuildPipeline(4, {}).ok());
}

TEST_CASE("fold-constants evaluates constant subgraphs, dead nodes go", "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {2, 3});
  b.Initializer("a", testing::MakeFloat({2, 3}, {1, 2, 3, 4, 5, 6}));
  b.Initializer("c", testing::MakeFloat({2, 3}, {1, 1, 1, 1, 1, 1}));
  b.Node("Add", {"a", "c"}, {"ac"}, "const_add");
  b.Node("Relu", {"ac"}, {"r"}, "const_relu");
  b.Node("Mul", {"x", "r"}, {"y"}, "mul");
  b.Node("Sigmoid", {"x"}, {"unused"}, "dead");
  b.Output("y", {2, 3});
  auto g = Parse(b.Serialize());
  REQUIRE(g->nodes().size() == 4);
  auto pm = opt::BuildPipeline(1, {});
  REQUIRE(pm.ok());
  REQUIRE((*pm)->Run(*g).ok());
  REQUIRE(g->nodes().size() == 1);
  CHECK(g->nodes()[0]->op_type == "Mul");
  const ir::Value* folded = g->nodes()[0]->inputs[1];
  REQUIRE(folded->is_constant());
  CHECK(testing::ToVector(*folded->constant) == std::vector<float>{2, 3, 4, 5, 6, 7});
  const auto& records = (*pm)->records();
  CHECK(records[0].counters.at("folded.Add") == 1);
  CHECK(records[0].counters.at("folded.Relu") == 1);
  CHECK(records[2].counters.at("removed.Sigmoid") == 1);
}

TEST_CASE("eliminate-identity removes Dropout/Identity but keeps graph output names",
          "[optimizer]") {
  ModelBuilder b;
  b.Input("x", {1, 4});
  b.Node("Dropout", {"x"}, {"d"}, "drop");
  b.Node("Relu", {"d"}, {"r"}, "relu");
  b.Node("Identity", {"r"}, {"y"}, "id_out");
  b.Output("y", {1, 4});
  auto g = Parse(b.Serialize());
  CHECK(Count(*g, "Identity") == 2);
  auto pm = opt::BuildPipeline(0, {"eliminate-identity"});
  REQUIRE(pm.ok());
  REQUIRE((*pm)->Run(*g).ok());
  CHECK(Count(*g, "Identity") == 1);
  CHECK(g->outputs()[0]->name == "y");
  const auto& counters = (*pm)->records()[0].counters;
  CHECK(counters.at("fired") == 1);
  CHECK(counters.at("skipped.output_is_graph_output") == 1);
}

TEST_CASE("Optimization level 0 keeps every layer", "[optimizer]") {
  auto g = Parse(testing::SmallConvModel());
  const size_t before = g->nodes().size();
  auto pm = opt::BuildPipeline(0, {});
  REQUIRE(pm.ok());
  REQUIRE((*pm)->Run(*g).ok());
  CHECK(g->nodes().size() == before);
}
