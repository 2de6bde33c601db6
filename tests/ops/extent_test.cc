// ops::PropagateExtent: where a data-dependent (bounded) dimension goes
// through each rule, and the refusals (docs/dynamic_shapes.md).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "ops/extent.h"
#include "ops/op_registry.h"

using namespace engine;
using ops::ExtentDim;

namespace {

kernels::TensorInfo Info(Dims shape, DataType t = DataType::kFloat32) {
  kernels::TensorInfo i;
  i.dtype = t;
  i.shape = std::move(shape);
  return i;
}

absl::StatusOr<std::vector<ExtentDim>> Run(const std::string& type, const Attributes& attrs,
                                           std::vector<kernels::TensorInfo> in,
                                           std::vector<kernels::TensorInfo> out,
                                           std::vector<ExtentDim> dd) {
  std::vector<std::string> names;
  for (size_t i = 0; i < in.size(); ++i) names.push_back("in" + std::to_string(i));
  ops::LayerView v{"layer", type, attrs, in, out, {}, {}};
  return ops::PropagateExtent(ops::ExtentLayer{v, names, 7}, dd,
                              [](int) { return std::string("producer"); });
}

}  // namespace

TEST_CASE("Extent: producers start a symbol, and reshape keeps or scales the extent",
          "[ops][extent]") {
  Attributes none;
  auto nz = Run("NonZero", none, {Info({3, 4})}, {Info({2, 12}, DataType::kInt64)}, {{}});
  REQUIRE(nz.ok());
  CHECK((*nz)[0] == ExtentDim{7, 1, 1});
  // [n, 2] -> [-1] = [2n]: the extent scales by 2.
  auto flat = Run("Reshape", none, {Info({12, 2}), Info({1}, DataType::kInt64)}, {Info({24})},
                  {{0, 0, 1}, {}});
  REQUIRE(flat.ok());
  CHECK((*flat)[0] == ExtentDim{0, 0, 2});
  // [1, n, 4] -> [n, 4]: same extent, dimension 0.
  auto sq = Run("Reshape", none, {Info({1, 5, 4}), Info({2}, DataType::kInt64)}, {Info({5, 4})},
                {{0, 1, 1}, {}});
  REQUIRE(sq.ok());
  CHECK((*sq)[0] == ExtentDim{0, 0, 1});
  // [2, n] -> [2n]: the valid entries would be scattered: refused.
  auto bad = Run("Reshape", none, {Info({2, 6}), Info({1}, DataType::kInt64)}, {Info({12})},
                 {{0, 1, 1}, {}});
  REQUIRE_FALSE(bad.ok());
  CHECK(absl::StrContains(bad.status().message(), "leading block"));
}

TEST_CASE("Extent: elementwise, gather and transpose rules", "[ops][extent]") {
  Attributes none;
  // Broadcast from 1 is fine; a static extent on that dimension is not.
  auto ok = Run("Add", none, {Info({6, 4}), Info({1, 4})}, {Info({6, 4})}, {{0, 0, 1}, {}});
  REQUIRE(ok.ok());
  CHECK((*ok)[0] == ExtentDim{0, 0, 1});
  auto clash = Run("Add", none, {Info({6, 4}), Info({6, 4})}, {Info({6, 4})}, {{0, 0, 1}, {}});
  REQUIRE_FALSE(clash.ok());
  CHECK(absl::StrContains(clash.status().message(), "static extent"));
  // Gather by data-dependent indices: the output dimension at axis.
  Attributes axis0;
  axis0.Set("axis", int64_t{0});
  auto g = Run("Gather", axis0, {Info({10, 4}), Info({6}, DataType::kInt64)}, {Info({6, 4})},
               {{}, {3, 0, 1}});
  REQUIRE(g.ok());
  CHECK((*g)[0] == ExtentDim{3, 0, 1});
  // Gathering along the data-dependent axis of data is refused.
  auto ga = Run("Gather", axis0, {Info({6, 4}), Info({2}, DataType::kInt64)}, {Info({2, 4})},
                {{3, 0, 1}, {}});
  REQUIRE_FALSE(ga.ok());
  CHECK(absl::StrContains(ga.status().message(), "gathers along the data-dependent axis"));
  Attributes perm;
  perm.Set("perm", std::vector<int64_t>{1, 0});
  auto t = Run("Transpose", perm, {Info({2, 12})}, {Info({12, 2})}, {{3, 1, 1}});
  REQUIRE(t.ok());
  CHECK((*t)[0] == ExtentDim{3, 0, 1});
  // A reduction refuses, naming the layer, input, bound and producer.
  auto r = Run("ReduceSum", none, {Info({6, 4})}, {Info({1, 4})}, {{3, 0, 1}});
  REQUIRE_FALSE(r.ok());
  CHECK(absl::StrContains(r.status().message(), "layer 'layer' (ReduceSum)"));
  CHECK(absl::StrContains(r.status().message(), "'in0' (dimension 0, upper bound 6"));
  CHECK(absl::StrContains(r.status().message(), "since layer 'producer'"));
}

TEST_CASE("Extent: each op record carries its rule, unknown types and the rest refuse",
          "[ops][extent]") {
  using ops::ExtentRule;
  // The types that took a data-dependent extent when the rules were one list
  // (issue 19); each record now says so itself (OpDef::extent).
  for (const char* t :
       {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Swish",
        "Add", "Sub", "Mul", "Div", "PRelu", "Sum", "Cast", "CastLike", "Exp", "Log", "Sqrt",
        "Reciprocal", "Neg", "Abs", "Floor", "Ceil", "Round", "Sign", "Erf", "Sin", "Cos",
        "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "IsNaN",
        "IsInf", "Not", "Elu", "Selu", "Celu", "Softplus", "Softsign", "ThresholdedRelu",
        "Mish", "Gelu", "Shrink", "Pow", "Mod", "Equal", "Greater", "GreaterOrEqual", "Less",
        "LessOrEqual", "And", "Or", "Xor", "BitShift", "Where", "Min", "Max", "Mean"}) {
    INFO(t);
    CHECK(ops::ExtentRuleOf(t) == ExtentRule::kElementwise);
  }
  for (const char* t : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"}) {
    INFO(t);
    CHECK(ops::ExtentRuleOf(t) == ExtentRule::kReshape);
  }
  CHECK(ops::ExtentRuleOf("Gather") == ExtentRule::kGather);
  CHECK(ops::ExtentRuleOf("Transpose") == ExtentRule::kTranspose);
  CHECK(ops::ExtentRuleOf("Slice") == ExtentRule::kOtherAxes);
  CHECK(ops::ExtentRuleOf("Concat") == ExtentRule::kOtherAxes);
  for (const char* t : {"Shape", "Size", "Softmax", "ReduceSum", "MatMul", "Conv", "Int8Conv",
                        "NonZero", "TopK", "Hardmax", "LogSoftmax", "NoSuchOp"}) {
    INFO(t);
    CHECK(ops::ExtentRuleOf(t) == ExtentRule::kRefuse);
  }
  // Every elementwise rule sits on a vector-unit record, and no engine-internal
  // integer layer takes an extent (the INT8 rewrite never sees one).
  for (const ops::OpDef* def : ops::OpRegistry::Builtin().All()) {
    INFO(def->type);
    if (def->extent == ExtentRule::kElementwise) {
      CHECK(def->device.unit == hw::LayerKind::kVector);
    }
    if (!def->importable) CHECK(def->extent == ExtentRule::kRefuse);
  }
}
