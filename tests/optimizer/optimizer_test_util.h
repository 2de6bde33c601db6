// Helpers shared by the optimizer tests: parse a model into the IR, count and
// find ops, make activation values.
#ifndef ENGINE_TESTS_OPTIMIZER_OPTIMIZER_TEST_UTIL_H_
#define ENGINE_TESTS_OPTIMIZER_OPTIMIZER_TEST_UTIL_H_

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "engine/logger.h"
#include "ir/graph.h"
#include "parser/onnx_parser.h"

namespace engine::testing {

/// Parses ONNX bytes into the IR (REQUIREs success).
inline std::unique_ptr<ir::Graph> Parse(const std::string& bytes) {
  static StderrLogger quiet(Severity::kError);
  parser::ParseOptions o;
  o.logger = &quiet;
  auto g = parser::ParseOnnxBytes(bytes, "t.onnx", o);
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  return std::move(g).value();
}

/// Number of nodes of type `op`.
inline int Count(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes()) n += node->op_type == op;
  return n;
}

/// The first node of type `op`, or nullptr.
inline const ir::Node* FindOp(const ir::Graph& g, const std::string& op) {
  for (const auto& node : g.nodes()) {
    if (node->op_type == op) return node.get();
  }
  return nullptr;
}

/// Adds a float32 activation value `name` of static `shape` (no producer yet).
inline ir::Value* Act(ir::Graph& g, const std::string& name, Dims shape) {
  ir::Value* v = g.AddValue(name);
  v->dtype = DataType::kFloat32;
  v->shape = std::move(shape);
  v->has_shape = true;
  return v;
}

}  // namespace engine::testing

#endif  // ENGINE_TESTS_OPTIMIZER_OPTIMIZER_TEST_UTIL_H_
