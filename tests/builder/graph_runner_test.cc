// The host graph interpreter (src/builder/graph_runner.h): values equal, bit
// for bit, to running each node alone through its kernel (ops::EvaluateLayer,
// one thread) on hand-built graphs, the small test model and mnist-8 after
// the optimizer; the same bits at every thread count; kept tensors readable;
// buffers reused after their last reader; and its errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "optimizer/optimizer_test_util.h"
#include "builder/graph_runner.h"
#include "ir/graph.h"
#include "kernels/thread_pool.h"
#include "ops/op_registry.h"
#include "optimizer/pass.h"
#include "parser/onnx_parser.h"
#include "test_models.h"
#include "test_util.h"

namespace engine::builder {
namespace {

using engine::testing::Act;

ir::Value* Const(ir::Graph& g, const std::string& name, Dims shape, float base) {
  auto t = std::make_shared<Tensor>(DataType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t->num_elements(); ++i) {
    t->data_as<float>()[i] = base * std::sin(0.37f * static_cast<float>(i) + 0.1f);
  }
  return g.AddConstant(name, t);
}

ir::Node* AddNode(ir::Graph& g, const std::string& type, const std::string& name,
                  std::vector<ir::Value*> in, std::vector<ir::Value*> out, Attributes attrs = {}) {
  auto n = std::make_unique<ir::Node>();
  n->op_type = type;
  n->name = name;
  n->onnx_nodes = {name};
  n->inputs = std::move(in);
  n->outputs = std::move(out);
  n->attrs = std::move(attrs);
  return g.AddNode(std::move(n));
}

// Every value of `g` computed node by node with ops::EvaluateLayer (one
// thread, a fresh kernel per node): the reference the runner must match.
std::map<std::string, Tensor> Reference(const ir::Graph& g,
                                        const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, Tensor> values = inputs;
  for (const auto& node : g.nodes()) {
    std::vector<const Tensor*> in;
    for (const ir::Value* v : node->inputs) {
      if (v == nullptr) {
        in.push_back(nullptr);
      } else if (v->is_constant()) {
        in.push_back(v->constant.get());
      } else {
        in.push_back(&values.at(v->name));
      }
    }
    auto out = ops::EvaluateLayer(ops::OpRegistry::Builtin(), node->op_type, node->attrs, in);
    INFO(node->Describe() << ": " << out.status().ToString());
    REQUIRE(out.ok());
    REQUIRE(out->size() == node->outputs.size());
    for (size_t i = 0; i < out->size(); ++i) values[node->outputs[i]->name] = std::move((*out)[i]);
  }
  return values;
}

bool SameBits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.byte_size() == b.byte_size() &&
         std::memcmp(a.data(), b.data(), a.byte_size()) == 0;
}

// Names of every value a node produces, in schedule order.
std::vector<std::string> ProducedNames(const ir::Graph& g) {
  std::vector<std::string> names;
  for (const auto& node : g.nodes()) {
    for (const ir::Value* v : node->outputs) names.push_back(v->name);
  }
  return names;
}

std::map<std::string, Tensor> RandomInputs(const ir::Graph& g, uint32_t seed) {
  std::mt19937 rng(seed);
  std::map<std::string, Tensor> inputs;
  for (const ir::Value* v : g.inputs()) {
    REQUIRE(v->dtype == DataType::kFloat32);
    inputs.emplace(v->name, testing::RandomTensor(v->shape, rng));
  }
  return inputs;
}

// Runs `g` with every produced value kept, at 1 thread and at the hardware
// threads, over two different input sets, and checks each value against the
// reference.
void CheckAgainstReference(const ir::Graph& g) {
  const std::vector<std::string> kept = ProducedNames(g);
  REQUIRE(!kept.empty());
  for (int threads : {1, exec::ThreadPool::HardwareThreads()}) {
    CAPTURE(threads);
    auto runner = GraphRunner::Create(g, kept, threads);
    INFO(runner.status().ToString());
    REQUIRE(runner.ok());
    REQUIRE((*runner)->inputs().size() == g.inputs().size());
    for (uint32_t seed : {1u, 2u}) {
      const std::map<std::string, Tensor> inputs = RandomInputs(g, seed);
      const std::map<std::string, Tensor> ref = Reference(g, inputs);
      REQUIRE((*runner)->Run(inputs).ok());
      for (const std::string& name : kept) {
        CAPTURE(name);
        auto got = (*runner)->Get(name);
        REQUIRE(got.ok());
        CHECK(SameBits(**got, ref.at(name)));
      }
      for (const ir::Value* v : g.inputs()) {
        auto got = (*runner)->Get(v->name);
        REQUIRE(got.ok());
        CHECK(SameBits(**got, inputs.at(v->name)));
      }
    }
  }
}

// x -> Relu -> Relu -> Relu -> Relu -> y: four values of one size, of which
// at most two are live at once besides the input.
std::unique_ptr<ir::Graph> ReluChain() {
  auto g = std::make_unique<ir::Graph>();
  ir::Value* x = Act(*g, "x", {1, 4, 8, 8});
  g->inputs().push_back(x);
  ir::Value* prev = x;
  for (int i = 0; i < 4; ++i) {
    ir::Value* out = Act(*g, i == 3 ? "y" : "r" + std::to_string(i), {1, 4, 8, 8});
    AddNode(*g, "Relu", "relu" + std::to_string(i), {prev}, {out});
    prev = out;
  }
  g->outputs().push_back(prev);
  return g;
}

TEST_CASE("GraphRunner matches node-by-node kernels on a residual graph with fan-out",
          "[builder][graph_runner]") {
  // x -> Conv(w, b) -> c; c -> Relu -> r; Add(c, r) -> s; Conv(s, w2) -> y;
  // Add(s, y) -> z. c and s are read twice, one reader far from the producer.
  ir::Graph g;
  ir::Value* x = Act(g, "x", {1, 3, 6, 6});
  g.inputs().push_back(x);
  Attributes conv_attrs;
  conv_attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ir::Value* c = Act(g, "c", {1, 4, 6, 6});
  AddNode(g, "Conv", "conv1", {x, Const(g, "w", {4, 3, 3, 3}, 0.4f), Const(g, "b", {4}, 0.1f)},
          {c}, conv_attrs);
  ir::Value* r = Act(g, "r", {1, 4, 6, 6});
  AddNode(g, "Relu", "relu", {c}, {r});
  ir::Value* s = Act(g, "s", {1, 4, 6, 6});
  AddNode(g, "Add", "add1", {c, r}, {s});
  ir::Value* y = Act(g, "y", {1, 4, 6, 6});
  AddNode(g, "Conv", "conv2", {s, Const(g, "w2", {4, 4, 3, 3}, 0.3f), nullptr}, {y}, conv_attrs);
  ir::Value* z = Act(g, "z", {1, 4, 6, 6});
  AddNode(g, "Add", "add2", {s, y}, {z});
  g.outputs().push_back(z);
  REQUIRE(g.Verify().ok());
  CheckAgainstReference(g);
}

TEST_CASE("GraphRunner matches node-by-node kernels on the optimized small model",
          "[builder][graph_runner]") {
  auto g = parser::ParseOnnxBytes(testing::SmallConvModel(), "small", parser::ParseOptions{});
  REQUIRE(g.ok());
  auto pm = opt::BuildPipeline(2, {});
  REQUIRE(pm.ok());
  REQUIRE((*pm)->Run(**g).ok());
  CheckAgainstReference(**g);
}

TEST_CASE("GraphRunner matches node-by-node kernels on mnist-8", "[builder][graph_runner]") {
  const std::string path = testing::SharedPath("models/mnist/mnist-8.onnx");
  if (!std::filesystem::exists(path)) {
    WARN("SKIPPED: " << path << " missing");
    return;
  }
  auto g = parser::ParseOnnxFile(path, parser::ParseOptions{});
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  auto pm = opt::BuildPipeline(2, {});
  REQUIRE(pm.ok());
  REQUIRE((*pm)->Run(**g).ok());
  CheckAgainstReference(**g);
}

TEST_CASE("GraphRunner reuses a buffer after its last reader and keeps what it is asked to",
          "[builder][graph_runner]") {
  auto g = ReluChain();
  const size_t bytes = static_cast<size_t>(4 * 8 * 8) * sizeof(float);
  {
    // Input x, then r0/r2 and r1/y share two buffers.
    auto runner = GraphRunner::Create(*g, {}, 1);
    REQUIRE(runner.ok());
    CHECK((*runner)->activation_bytes() == 3 * bytes);
    const std::map<std::string, Tensor> inputs = RandomInputs(*g, 7);
    REQUIRE((*runner)->Run(inputs).ok());
    auto y = (*runner)->Get("y");
    REQUIRE(y.ok());
    const float* in = inputs.at("x").data_as<float>();
    const float* out = (*y)->data_as<float>();
    for (int64_t i = 0; i < (*y)->num_elements(); ++i) CHECK(out[i] == std::max(in[i], 0.0f));
    // r1 was not kept: its buffer went to y.
    auto r1 = (*runner)->Get("r1");
    REQUIRE(!r1.ok());
    CHECK(r1.status().code() == absl::StatusCode::kNotFound);
  }
  {
    // Keeping every intermediate: one buffer each.
    const std::vector<std::string> keep = {"r0", "r1", "r2"};
    auto runner = GraphRunner::Create(*g, keep, 1);
    REQUIRE(runner.ok());
    CHECK((*runner)->activation_bytes() == 5 * bytes);
    const std::map<std::string, Tensor> inputs = RandomInputs(*g, 8);
    REQUIRE((*runner)->Run(inputs).ok());
    auto r0 = (*runner)->Get("r0");
    REQUIRE(r0.ok());
    const float* in = inputs.at("x").data_as<float>();
    const float* out = (*r0)->data_as<float>();
    for (int64_t i = 0; i < (*r0)->num_elements(); ++i) CHECK(out[i] == std::max(in[i], 0.0f));
    for (const char* name : {"r1", "r2", "y"}) {
      CAPTURE(name);
      auto t = (*runner)->Get(name);
      REQUIRE(t.ok());
      CHECK(SameBits(**t, **r0));  // Relu is idempotent
    }
  }
}

TEST_CASE("GraphRunner errors name the tensor or node", "[builder][graph_runner]") {
  auto g = ReluChain();
  SECTION("thread count") {
    auto r = GraphRunner::Create(*g, {}, 0);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("unknown tensor to keep") {
    const std::vector<std::string> keep = {"nope"};
    auto r = GraphRunner::Create(*g, keep, 1);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == absl::StatusCode::kNotFound);
    CHECK(absl::StrContains(r.status().message(), "'nope'"));
  }
  SECTION("op type without a kernel") {
    g->nodes()[1]->op_type = "NoSuchOp";
    auto r = GraphRunner::Create(*g, {}, 1);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == absl::StatusCode::kUnimplemented);
    CHECK(absl::StrContains(r.status().message(), "'relu1'"));
  }
  SECTION("output shape that its kernel does not compute") {
    g->FindValue("r1")->shape = {1, 4, 8, 7};
    auto r = GraphRunner::Create(*g, {}, 1);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(r.status().message(), "'relu1'"));
    CHECK(absl::StrContains(r.status().message(), "1x4x8x7"));
  }
  SECTION("inputs: missing, wrong dtype, wrong shape; reads before the first run") {
    auto r = GraphRunner::Create(*g, {}, 1);
    REQUIRE(r.ok());
    auto early = (*r)->Get("y");
    REQUIRE(!early.ok());
    CHECK(early.status().code() == absl::StatusCode::kFailedPrecondition);
    absl::Status missing = (*r)->Run({});
    CHECK(missing.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(missing.message(), "'x'"));
    std::map<std::string, Tensor> bad;
    bad.emplace("x", Tensor(DataType::kInt64, {1, 4, 8, 8}));
    absl::Status dtype = (*r)->Run(bad);
    CHECK(dtype.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(dtype.message(), "dtype"));
    bad.clear();
    bad.emplace("x", Tensor(DataType::kFloat32, {1, 4, 8, 9}));
    absl::Status shape = (*r)->Run(bad);
    CHECK(shape.code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(shape.message(), "1x4x8x9"));
  }
}

}  // namespace
}  // namespace engine::builder
