// The quantize-int8 rewrite (src/builder/quantize_int8.h) on a small
// hand-built graph: which layers become int8, where QuantizeLinear /
// DequantizeLinear go, per-channel weight scales, requantization attributes,
// the activation folded into the clamp, pinned layers, and a missing scale.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>

#include "common/requant.h"
#include "ir/graph.h"
#include "optimizer/optimizer_test_util.h"
#include "builder/quantize_int8.h"

namespace engine::opt {
namespace {

using engine::testing::Count;
using engine::testing::FindOp;

using engine::testing::Act;

ir::Value* Const(ir::Graph& g, const std::string& name, Dims shape, float base) {
  auto t = std::make_shared<Tensor>(DataType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t->num_elements(); ++i) {
    t->data_as<float>()[i] = base * std::sin(0.37f * static_cast<float>(i) + 0.1f);
  }
  return g.AddConstant(name, t);
}

ir::Node* Add(ir::Graph& g, const std::string& type, const std::string& name,
              std::vector<ir::Value*> in, ir::Value* out) {
  auto n = std::make_unique<ir::Node>();
  n->op_type = type;
  n->name = name;
  n->onnx_nodes = {name};
  n->inputs = std::move(in);
  n->outputs = {out};
  return g.AddNode(std::move(n));
}

// x -> Conv(+bias, Relu) -> MaxPool -> Flatten -> Gemm(+bias) -> Softmax -> out
struct SmallNet {
  ir::Graph g;
  ScaleMap scales;
  SmallNet() {
    ir::Value* x = Act(g, "x", {1, 3, 8, 8});
    g.inputs().push_back(x);
    ir::Value* c = Act(g, "conv_out", {1, 4, 8, 8});
    ir::Node* conv = Add(g, "Conv", "conv", {x, Const(g, "w", {4, 3, 3, 3}, 0.5f),
                                             Const(g, "b", {4}, 0.1f)}, c);
    conv->attrs.Set("pads", std::vector<int64_t>{1, 1, 1, 1});
    conv->attrs.Set("activation", std::string("Relu"));
    ir::Value* p = Act(g, "pool_out", {1, 4, 4, 4});
    ir::Node* pool = Add(g, "MaxPool", "pool", {c}, p);
    pool->attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
    pool->attrs.Set("strides", std::vector<int64_t>{2, 2});
    ir::Value* f = Act(g, "flat", {1, 64});
    Add(g, "Flatten", "flatten", {p}, f);
    ir::Value* logits = Act(g, "logits", {1, 10});
    Add(g, "Gemm", "fc", {f, Const(g, "fc_w", {64, 10}, 0.2f), Const(g, "fc_b", {10}, 0.05f)},
        logits);
    ir::Value* out = Act(g, "prob", {1, 10});
    Add(g, "Softmax", "softmax", {logits}, out);
    g.outputs().push_back(out);
    scales = {{"x", 0.02f}, {"conv_out", 0.05f}, {"pool_out", 0.07f}, {"flat", 0.09f},
              {"logits", 0.1f}};
  }
};

TEST_CASE("quantize-int8 asks for the scales of the tensors int8 layers read and write",
          "[optimizer][int8]") {
  SmallNet net;
  const std::vector<std::string> want = {"x", "conv_out", "flat", "logits"};
  CHECK(Int8ScaleTensors(net.g) == want);
  std::string reason;
  CHECK_FALSE(HasInt8Form(*FindOp(net.g, "Softmax"), &reason));
  CHECK(reason == "Softmax has no INT8 form");
}

TEST_CASE("quantize-int8 gives a Gemm holding a fused residual an int8 residual input",
          "[optimizer][int8]") {
  ir::Graph g;
  ir::Value* x = Act(g, "x", {4, 8});
  ir::Value* r = Act(g, "r", {4, 8});
  g.inputs().push_back(x);
  g.inputs().push_back(r);
  ir::Value* h = Act(g, "h", {4, 8});
  ir::Value* y = Act(g, "y", {4, 8});
  ir::Node* gemm = Add(g, "Gemm", "dense + residual",
                       {x, Const(g, "w", {8, 8}, 0.3f), Const(g, "b", {8}, 0.1f), r}, h);
  Add(g, "Relu", "relu", {h}, y);  // an int8 reader: the Int8Gemm requantizes
  g.outputs().push_back(y);
  std::string reason;
  CHECK(HasInt8Form(*gemm, &reason));
  const std::vector<std::string> tensors = Int8ScaleTensors(g);
  CHECK(std::find(tensors.begin(), tensors.end(), "r") != tensors.end());
  const ScaleMap scales{{"x", 0.02f}, {"r", 0.05f}, {"h", 0.1f}, {"y", 0.1f}};
  auto report = QuantizeGraphInt8(g, scales, {});
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  REQUIRE(g.Verify().ok());
  const ir::Node* q = FindOp(g, "Int8Gemm");
  REQUIRE(q != nullptr);
  REQUIRE(q->inputs.size() == 4);
  CHECK(q->inputs[3]->dtype == DataType::kInt8);
  CHECK(q->inputs[3]->name == "r:int8");
  // residual multiplier = r_scale / y_scale = 0.5
  const double rm = std::ldexp(static_cast<double>(q->attrs.Int("residual_multiplier", 0)),
                               -static_cast<int>(q->attrs.Int("residual_shift", 0)));
  CHECK(std::fabs(rm - 0.5) < 1e-9);
  CHECK(Count(g, "Gemm") == 0);

  // A residual that is a constant, not an activation: stays FP32, says why.
  ir::Graph g2;
  ir::Value* x2 = Act(g2, "x", {4, 8});
  g2.inputs().push_back(x2);
  ir::Node* gemm2 = Add(g2, "Gemm", "dense + const",
                        {x2, Const(g2, "w", {8, 8}, 0.3f), Const(g2, "b", {8}, 0.1f),
                         Const(g2, "c", {4, 8}, 1.0f)},
                        Act(g2, "y", {4, 8}));
  reason.clear();
  CHECK_FALSE(HasInt8Form(*gemm2, &reason));
  CHECK(reason.find("residual") != std::string::npos);
}

TEST_CASE("quantize-int8 turns Attention into Int8Attention on int8 Q, K, V",
          "[optimizer][int8]") {
  ir::Graph g;
  ir::Value* q = Act(g, "q", {1, 2, 4, 8});
  ir::Value* k = Act(g, "k", {1, 2, 4, 8});
  ir::Value* v = Act(g, "v", {1, 2, 4, 8});
  ir::Value* m = Act(g, "mask", {1, 1, 1, 4});
  for (ir::Value* in : {q, k, v, m}) g.inputs().push_back(in);
  ir::Value* y = Act(g, "y", {1, 2, 4, 8});
  ir::Node* attn = Add(g, "Attention", "attn", {q, k, v, m}, y);
  attn->attrs.Set("scale", std::sqrt(8.0f));
  attn->attrs.Set("scale_mode", std::string("div"));
  g.outputs().push_back(y);
  const std::vector<std::string> tensors = Int8ScaleTensors(g);
  for (const char* t : {"q", "k", "v", "y"}) {
    CHECK(std::find(tensors.begin(), tensors.end(), t) != tensors.end());
  }
  CHECK(std::find(tensors.begin(), tensors.end(), "mask") == tensors.end());
  const ScaleMap scales{{"q", 0.02f}, {"k", 0.03f}, {"v", 0.05f}, {"y", 0.01f}};
  auto report = QuantizeGraphInt8(g, scales, {});
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  REQUIRE(g.Verify().ok());
  const ir::Node* a = FindOp(g, "Int8Attention");
  REQUIRE(a != nullptr);
  CHECK(Count(g, "Attention") == 0);
  CHECK(Count(g, "QuantizeLinear") == 3);  // Q, K, V; the mask stays float
  REQUIRE(a->inputs.size() == 4);
  for (int i = 0; i < 3; ++i) CHECK(a->inputs[i]->dtype == DataType::kInt8);
  CHECK(a->inputs[3] == m);
  // score_scale = s_q s_k / sqrt(8); the engine output is read as float:
  // output_factor = s_v / 127, float32 Y.
  CHECK(a->attrs.Float("score_scale", 0) ==
        Approx(0.02 * 0.03 / std::sqrt(8.0)).epsilon(1e-6));
  CHECK(a->attrs.Float("output_factor", 0) == Approx(0.05 / 127).epsilon(1e-6));
  CHECK(a->attrs.Int("int8_output", 0) == 0);
  CHECK(a->outputs[0] == y);
  bool reported = false;
  for (const LayerPrecisionInfo& info : *report) {
    if (info.type == "Int8Attention") reported = info.precision == Precision::kInt8;
  }
  CHECK(reported);
}

TEST_CASE("quantize-int8 rewrites Conv, MaxPool, Flatten and Gemm into one int8 chain",
          "[optimizer][int8]") {
  SmallNet net;
  const SmallNet original;  // the FP32 weights, for reference
  auto report = QuantizeGraphInt8(net.g, net.scales, {});
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  REQUIRE(net.g.Verify().ok());
  // Q at the input, the int8 chain; the Gemm, read only by the float
  // Softmax, dequantizes in its epilogue (no DequantizeLinear).
  CHECK(Count(net.g, "QuantizeLinear") == 1);
  CHECK(Count(net.g, "Int8Conv") == 1);
  CHECK(Count(net.g, "Int8Gemm") == 1);
  CHECK(Count(net.g, "DequantizeLinear") == 0);
  CHECK(Count(net.g, "Conv") == 0);
  const ir::Node* pool = FindOp(net.g, "MaxPool");
  REQUIRE(pool != nullptr);
  CHECK(pool->inputs[0]->dtype == DataType::kInt8);
  CHECK(pool->outputs[0]->name == "pool_out:int8");
  CHECK(net.g.outputs()[0]->dtype == DataType::kFloat32);

  const ir::Node* conv = FindOp(net.g, "Int8Conv");
  CHECK(conv->attrs.Int("output_min", -128) == 0);  // Relu folded into the clamp
  CHECK_FALSE(conv->attrs.Has("activation"));
  CHECK(conv->inputs[1]->dtype == DataType::kInt8);
  CHECK(conv->inputs[2]->dtype == DataType::kInt32);
  // Per output channel: the largest |w| of each row maps to +-127, and the
  // multiplier is x_scale * w_scale[m] / y_scale.
  const Tensor& wq = *conv->inputs[1]->constant;
  const auto mult = conv->attrs.Ints("multiplier");
  const auto shift = conv->attrs.Ints("shift");
  REQUIRE(mult.size() == 4);
  for (int64_t m = 0; m < 4; ++m) {
    int amax = 0;
    for (int64_t i = 0; i < 27; ++i) amax = std::max(amax, std::abs(int{wq.data_as<int8_t>()[m * 27 + i]}));
    CHECK(amax == 127);
    const double real = std::ldexp(static_cast<double>(mult[m]), -static_cast<int>(shift[m]));
    const double wmax = [&] {
      double v = 0;
      const Tensor& w = *original.g.FindValue("w")->constant;
      for (int64_t i = 0; i < 27; ++i) v = std::max(v, std::fabs(double{w.data_as<float>()[m * 27 + i]}));
      return v;
    }();
    CHECK(real == Approx(0.02 * (wmax / 127) / 0.05).epsilon(1e-6));
  }
  // The Gemm reads the int8 Flatten output with the scale it inherited from
  // the Conv (0.05), not the one calibration measured for "flat" (0.09).
  const ir::Node* fc = FindOp(net.g, "Int8Gemm");
  CHECK(fc->inputs[0]->name == "flat:int8");
  CHECK(fc->inputs[1]->shape == Dims{10, 64});  // [N, K]
  CHECK(fc->outputs[0]->name == "logits");  // float tensors keep their names
  CHECK(fc->outputs[0]->dtype == DataType::kFloat32);
  CHECK_FALSE(fc->attrs.Has("multiplier"));
  const Tensor& fw = *original.g.FindValue("fc_w")->constant;
  double wmax0 = 0;
  for (int64_t k = 0; k < 64; ++k) wmax0 = std::max(wmax0, std::fabs(double{fw.data_as<float>()[k * 10]}));
  auto out_scale = fc->attrs.GetFloats("output_scale");
  REQUIRE(out_scale.ok());
  REQUIRE(out_scale->size() == 10);
  CHECK((*out_scale)[0] == Approx(0.05 * (wmax0 / 127)).epsilon(1e-6));

  int int8_layers = 0;
  for (const LayerPrecisionInfo& l : *report) int8_layers += l.precision == Precision::kInt8;
  CHECK(int8_layers == 5);  // Q, Int8Conv, MaxPool, Flatten, Int8Gemm
}

TEST_CASE("quantize-int8 keeps pinned layers in FP32 with the reason", "[optimizer][int8]") {
  SmallNet net;
  std::map<const ir::Node*, std::string> keep = {{FindOp(net.g, "Gemm"), "pinned"}};
  auto report = QuantizeGraphInt8(net.g, net.scales, keep);
  REQUIRE(report.ok());
  REQUIRE(net.g.Verify().ok());
  CHECK(Count(net.g, "Gemm") == 1);
  CHECK(Count(net.g, "Int8Gemm") == 0);
  // MaxPool and Flatten stay int8; the FP32 Gemm reads a dequantized "flat";
  // the Conv writes int8 because the MaxPool passes int8 on.
  const ir::Node* gemm = FindOp(net.g, "Gemm");
  CHECK(gemm->inputs[0]->name == "flat");
  CHECK(gemm->inputs[0]->producer->op_type == "DequantizeLinear");
  bool found = false;
  for (const LayerPrecisionInfo& l : *report) {
    if (l.type == "Gemm") {
      found = true;
      CHECK(l.precision == Precision::kFp32);
      CHECK(l.reason == "pinned");
    }
  }
  CHECK(found);
}

// Runs the rewrite, which must succeed and leave a valid graph, and checks
// that exactly one QuantizeLinear (at the input) and no DequantizeLinear
// remain: the whole graph is int8.
std::vector<LayerPrecisionInfo> QuantizeAllInt8(ir::Graph& g, const ScaleMap& scales) {
  auto report = QuantizeGraphInt8(g, scales, {});
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  REQUIRE(g.Verify().ok());
  CHECK(Count(g, "QuantizeLinear") == 1);
  CHECK(Count(g, "DequantizeLinear") == 0);
  return *report;
}

// x -> ConvA, ConvB (Relu) -> cat1 = Concat(a, b); x -> ConvC -> cat2 =
// Concat(cat1, c) -> ConvD -> d (graph output). With `raw_input`, cat2 also
// concatenates x itself.
struct ConcatNet {
  ir::Graph g;
  ScaleMap scales;
  explicit ConcatNet(bool raw_input = false) {
    ir::Value* x = Act(g, "x", {1, 2, 6, 6});
    g.inputs().push_back(x);
    auto conv = [&](const std::string& name, ir::Value* in, int64_t cin, int64_t cout, float base) {
      ir::Value* out = Act(g, name + "_out", {1, cout, 6, 6});
      ir::Node* n = Add(g, "Conv", name, {in, Const(g, name + "_w", {cout, cin, 1, 1}, base)}, out);
      n->attrs.Set("activation", std::string("Relu"));
      return out;
    };
    ir::Value* a = conv("a", x, 2, 3, 0.5f);
    ir::Value* b = conv("b", x, 2, 4, 0.7f);
    ir::Value* cat1 = Act(g, "cat1", {1, 7, 6, 6});
    Add(g, "Concat", "concat1", {a, b}, cat1)->attrs.Set("axis", int64_t{1});
    ir::Value* c = conv("c", x, 2, 2, 0.3f);
    std::vector<ir::Value*> parts = {cat1, c};
    if (raw_input) parts.push_back(x);
    ir::Value* cat2 = Act(g, "cat2", {1, raw_input ? 11 : 9, 6, 6});
    Add(g, "Concat", "concat2", parts, cat2)->attrs.Set("axis", int64_t{1});
    ir::Value* d = conv("d", cat2, raw_input ? 11 : 9, 2, 0.4f);
    g.outputs().push_back(d);
    scales = {{"x", 0.02f},    {"a_out", 0.05f}, {"b_out", 0.08f}, {"c_out", 0.03f},
              {"cat1", 0.06f}, {"cat2", 0.07f},  {"d_out", 0.1f}};
  }
};

TEST_CASE("quantize-int8 runs Concats of int8 layers in int8 at one shared scale",
          "[optimizer][int8]") {
  SECTION("chained Concats form one group with the largest scale") {
    ConcatNet net;
    const std::vector<LayerPrecisionInfo> report = QuantizeAllInt8(net.g, net.scales);
    CHECK(Count(net.g, "Int8Conv") == 4);
    CHECK(Count(net.g, "Concat") == 2);
    for (const auto& n : net.g.nodes()) {
      if (n->op_type != "Concat") continue;
      CAPTURE(n->name);
      CHECK(n->outputs[0]->dtype == DataType::kInt8);
      for (const ir::Value* in : n->inputs) CHECK(in->dtype == DataType::kInt8);
    }
    // Every producer requantizes to the group's scale, max(0.05, 0.08, 0.03,
    // 0.06, 0.07) = 0.08; ConvD reads cat2 at that scale.
    for (const auto& n : net.g.nodes()) {
      if (n->op_type != "Int8Conv") continue;
      CAPTURE(n->name);
      const Tensor& w = *n->inputs[1]->constant;
      REQUIRE(w.num_elements() > 0);
      if (n->name == "d") {
        auto out_scale = n->attrs.GetFloats("output_scale");  // float graph output
        REQUIRE(out_scale.ok());
        CHECK(n->inputs[0]->name == "cat2:int8");
        // output_scale[m] = x_scale * w_scale[m]: recover w_scale from it.
        const double w_scale0 = (*out_scale)[0] / 0.08;
        CHECK(w_scale0 > 0);
        continue;
      }
      const auto mult = n->attrs.Ints("multiplier");
      const auto shift = n->attrs.Ints("shift");
      REQUIRE(!mult.empty());
      const double real = std::ldexp(static_cast<double>(mult[0]), -static_cast<int>(shift[0]));
      // real = 0.02 * w_scale[0] / 0.08, and w_scale[0] = max|w row 0| / 127.
      double wmax = 0;
      const int64_t cols = w.num_elements() / w.shape()[0];
      const ConcatNet original;
      const Tensor& fw = *original.g.FindValue(n->name + "_w")->constant;
      for (int64_t i = 0; i < cols; ++i) wmax = std::max(wmax, std::fabs(double{fw.data_as<float>()[i]}));
      CHECK(real == Approx(0.02 * (wmax / 127) / 0.08).epsilon(1e-6));
    }
    int int8_concats = 0;
    for (const LayerPrecisionInfo& l : report) {
      int8_concats += l.type == "Concat" && l.precision == Precision::kInt8;
    }
    CHECK(int8_concats == 2);
  }
  SECTION("a Concat of a graph input stays FP32, and so does its whole group") {
    ConcatNet net(/*raw_input=*/true);
    auto report = QuantizeGraphInt8(net.g, net.scales, {});
    REQUIRE(report.ok());
    REQUIRE(net.g.Verify().ok());
    for (const auto& n : net.g.nodes()) {
      if (n->op_type != "Concat") continue;
      CAPTURE(n->name);
      CHECK(n->outputs[0]->dtype == DataType::kFloat32);
    }
  }
  SECTION("a pinned Concat stays FP32, and so does a group no int8 layer reads") {
    ConcatNet net;
    std::map<const ir::Node*, std::string> keep;
    for (const auto& n : net.g.nodes()) {
      if (n->name == "concat2") keep[n.get()] = "pinned";
    }
    auto report = QuantizeGraphInt8(net.g, net.scales, keep);
    REQUIRE(report.ok());
    REQUIRE(net.g.Verify().ok());
    for (const auto& n : net.g.nodes()) {
      if (n->op_type != "Concat") continue;
      CAPTURE(n->name);
      // concat1 alone is a group whose producers are int8 layers, but only
      // the FP32 concat2 reads it: int8 would only add a dequantization.
      CHECK(n->outputs[0]->dtype == DataType::kFloat32);
    }
  }
}

TEST_CASE("quantize-int8 passes int8 through Transpose and Slice (channel shuffles)",
          "[optimizer][int8]") {
  // x -> Conv -> Transpose -> Slice -> Conv -> y
  ir::Graph g;
  ir::Value* x = Act(g, "x", {1, 4, 4, 4});
  g.inputs().push_back(x);
  ir::Value* c = Act(g, "c", {1, 4, 4, 4});
  Add(g, "Conv", "conv1", {x, Const(g, "w1", {4, 4, 1, 1}, 0.5f)}, c);
  ir::Value* t = Act(g, "t", {1, 4, 4, 4});
  Add(g, "Transpose", "shuffle", {c}, t)->attrs.Set("perm", std::vector<int64_t>{0, 1, 3, 2});
  ir::Value* sl = Act(g, "sl", {1, 2, 4, 4});
  auto ints = [&](const std::string& name, std::vector<int64_t> v) {
    auto tensor = std::make_shared<Tensor>(DataType::kInt64, Dims{static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), tensor->data_as<int64_t>());
    return g.AddConstant(name, tensor);
  };
  Add(g, "Slice", "half", {t, ints("starts", {0}), ints("ends", {2}), ints("axes", {1})}, sl);
  ir::Value* y = Act(g, "y", {1, 3, 4, 4});
  Add(g, "Conv", "conv2", {sl, Const(g, "w2", {3, 2, 1, 1}, 0.4f)}, y);
  g.outputs().push_back(y);
  ScaleMap scales = {{"x", 0.02f}, {"c", 0.05f}, {"t", 0.5f}, {"sl", 0.9f}, {"y", 0.1f}};
  QuantizeAllInt8(g, scales);
  const ir::Node* tr = FindOp(g, "Transpose");
  const ir::Node* slice = FindOp(g, "Slice");
  REQUIRE(tr != nullptr);
  REQUIRE(slice != nullptr);
  CHECK(tr->outputs[0]->dtype == DataType::kInt8);
  CHECK(slice->outputs[0]->dtype == DataType::kInt8);
  CHECK(slice->inputs[1]->dtype == DataType::kInt64);  // starts stay as they were
  // conv2 reads the Slice output at conv1's scale (0.05), not the calibrated 0.9.
  for (const auto& n : g.nodes()) {
    if (n->name != "conv2") continue;
    CHECK(n->inputs[0]->name == "sl:int8");
    auto out_scale = n->attrs.GetFloats("output_scale");
    REQUIRE(out_scale.ok());
    double wmax = 0;
    ir::Graph ref;
    const Tensor& fw = *Const(ref, "w2", {3, 2, 1, 1}, 0.4f)->constant;
    for (int64_t i = 0; i < 2; ++i) wmax = std::max(wmax, std::fabs(double{fw.data_as<float>()[i]}));
    CHECK((*out_scale)[0] == Approx(0.05 * wmax / 127).epsilon(1e-6));
  }
}

TEST_CASE("quantize-int8 passes int8 through Split: every part keeps the input's scale",
          "[optimizer][int8]") {
  // x -> Conv -> Split -> (Conv, float output): ShuffleNet's channel split.
  ir::Graph g;
  ir::Value* x = Act(g, "x", {1, 4, 4, 4});
  g.inputs().push_back(x);
  ir::Value* c = Act(g, "c", {1, 4, 4, 4});
  Add(g, "Conv", "conv1", {x, Const(g, "w1", {4, 4, 1, 1}, 0.5f)}, c);
  ir::Value* a = Act(g, "a", {1, 2, 4, 4});
  ir::Value* b = Act(g, "b", {1, 2, 4, 4});
  ir::Node* split = Add(g, "Split", "split", {c}, a);
  split->outputs = {a, b};
  split->attrs.Set("axis", int64_t{1});
  split->attrs.Set("split", std::vector<int64_t>{2, 2});
  ir::Value* y = Act(g, "y", {1, 3, 4, 4});
  Add(g, "Conv", "conv2", {a, Const(g, "w2", {3, 2, 1, 1}, 0.4f)}, y);
  g.outputs().push_back(y);
  g.outputs().push_back(b);
  ScaleMap scales = {{"x", 0.02f}, {"c", 0.05f}, {"a", 0.5f}, {"b", 0.7f}, {"y", 0.1f}};
  auto report = QuantizeGraphInt8(g, scales, {});
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  REQUIRE(g.Verify().ok());
  CHECK(Count(g, "DequantizeLinear") == 1);  // part b, a graph output
  const ir::Node* s8 = FindOp(g, "Split");
  REQUIRE(s8 != nullptr);
  REQUIRE(s8->outputs.size() == 2);
  CHECK(s8->inputs[0]->dtype == DataType::kInt8);
  CHECK(s8->outputs[0]->dtype == DataType::kInt8);
  CHECK(s8->outputs[1]->dtype == DataType::kInt8);
  // conv2 reads part a as int8; the float graph output b is the
  // DequantizeLinear of part b at conv1's output scale (0.05), not 0.7.
  bool conv2_int8 = false, b_dequantized = false;
  for (const auto& n : g.nodes()) {
    if (n->name == "conv2") conv2_int8 = n->inputs[0] == s8->outputs[0];
    if (n->op_type == "DequantizeLinear" && n->outputs[0] == b) {
      b_dequantized = n->inputs[0] == s8->outputs[1] &&
                      n->inputs[1]->constant->data_as<float>()[0] == 0.05f;
    }
  }
  CHECK(conv2_int8);
  CHECK(b_dequantized);
}

TEST_CASE("quantize-int8 keeps a Conv with fused SiLU in INT8 with a float epilogue",
          "[optimizer][int8]") {
  // x -> Conv{Swish} -> c -> Conv -> y. The first layer has no exact integer
  // epilogue: it dequantizes, applies Swish in float32 and quantizes to c's
  // scale in the same epilogue when an int8 layer reads c; when only an FP32
  // layer (Softmax) reads c it writes float32.
  for (bool int8_reader : {true, false}) {
    DYNAMIC_SECTION((int8_reader ? "read by an INT8 Conv" : "read by an FP32 layer")) {
      ir::Graph g;
      ir::Value* x = Act(g, "x", {1, 4, 4, 4});
      g.inputs().push_back(x);
      ir::Value* c = Act(g, "c", {1, 4, 4, 4});
      ir::Node* conv1 = Add(g, "Conv", "conv1", {x, Const(g, "w1", {4, 4, 1, 1}, 0.5f)}, c);
      conv1->attrs.Set("activation", std::string("Swish"));
      conv1->attrs.Set("activation_alpha", 1.0f);
      ir::Value* y = Act(g, "y", {1, int8_reader ? 3 : 4, 4, 4});
      if (int8_reader) {
        Add(g, "Conv", "conv2", {c, Const(g, "w2", {3, 4, 1, 1}, 0.4f)}, y);
      } else {
        Add(g, "Softmax", "softmax", {c}, y)->attrs.Set("axis", int64_t{1});
      }
      g.outputs().push_back(y);
      ScaleMap scales = {{"x", 0.02f}, {"c", 0.05f}, {"y", 0.1f}};
      auto report = QuantizeGraphInt8(g, scales, {});
      INFO(report.status().ToString());
      REQUIRE(report.ok());
      REQUIRE(g.Verify().ok());
      CHECK(Count(g, "Conv") == 0);
      CHECK(Count(g, "QuantizeLinear") == 1);  // the graph input only
      CHECK(Count(g, "DequantizeLinear") == 0);
      const ir::Node* first = nullptr;
      for (const auto& n : g.nodes()) {
        if (n->name == "conv1") first = n.get();
      }
      REQUIRE(first != nullptr);
      CHECK(first->op_type == "Int8Conv");
      CHECK(first->attrs.GetString("activation", "").value_or("") == "Swish");
      if (int8_reader) {
        CHECK(first->outputs[0]->dtype == DataType::kInt8);
        CHECK(first->attrs.Has("epilogue_scale"));
        CHECK(first->attrs.Float("y_scale", 0) == 0.05f);
        CHECK_FALSE(first->attrs.Has("multiplier"));
        CHECK(Count(g, "Int8Conv") == 2);
      } else {
        CHECK(first->outputs[0]->dtype == DataType::kFloat32);
        CHECK(first->attrs.Has("output_scale"));
      }
      for (const LayerPrecisionInfo& l : *report) {
        if (l.layer == "conv1") CHECK(l.precision == Precision::kInt8);
      }
    }
  }
}

TEST_CASE("quantize-int8 runs average pooling in int8 (ResNet's head)", "[optimizer][int8]") {
  // x -> Conv(Relu) -> GlobalAveragePool -> Flatten -> Gemm -> logits
  // (graph output); pool -> AveragePool -> out2 (graph output, float reader).
  ir::Graph g;
  ir::Value* x = Act(g, "x", {1, 2, 4, 4});
  g.inputs().push_back(x);
  ir::Value* c = Act(g, "c", {1, 4, 4, 4});
  Add(g, "Conv", "conv", {x, Const(g, "w", {4, 2, 1, 1}, 0.5f)}, c)
      ->attrs.Set("activation", std::string("Relu"));
  ir::Value* gap = Act(g, "gap", {1, 4, 1, 1});
  Add(g, "GlobalAveragePool", "gap", {c}, gap);
  ir::Value* flat = Act(g, "flat", {1, 4});
  Add(g, "Flatten", "flatten", {gap}, flat);
  ir::Value* logits = Act(g, "logits", {1, 3});
  Add(g, "Gemm", "fc", {flat, Const(g, "fc_w", {4, 3}, 0.3f)}, logits);
  g.outputs().push_back(logits);
  ir::Value* avg = Act(g, "avg", {1, 4, 2, 2});
  ir::Node* ap = Add(g, "AveragePool", "avgpool", {c}, avg);
  ap->attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
  ap->attrs.Set("strides", std::vector<int64_t>{2, 2});
  g.outputs().push_back(avg);
  const std::vector<std::string> wanted = Int8ScaleTensors(g);
  CHECK(std::find(wanted.begin(), wanted.end(), "gap") != wanted.end());
  ScaleMap scales = {{"x", 0.02f}, {"c", 0.05f}, {"gap", 0.01f}, {"flat", 0.3f},
                     {"logits", 0.1f}, {"avg", 0.04f}};
  QuantizeAllInt8(g, scales);
  const ir::Node* gp = FindOp(g, "Int8GlobalAveragePool");
  REQUIRE(gp != nullptr);
  CHECK(gp->inputs[0]->name == "c:int8");
  CHECK(gp->outputs[0]->dtype == DataType::kInt8);
  CHECK(gp->attrs.Float("x_scale", 0) == 0.05f);
  CHECK(gp->attrs.Float("y_scale", 0) == 0.01f);  // the pool output's own scale
  // The FC reads the Flatten of the int8 pool output at the pool's scale.
  const ir::Node* fc = FindOp(g, "Int8Gemm");
  REQUIRE(fc != nullptr);
  CHECK(fc->inputs[0]->name == "flat:int8");
  // Read only as an engine output: the AveragePool dequantizes (no y_scale).
  const ir::Node* apq = FindOp(g, "Int8AveragePool");
  REQUIRE(apq != nullptr);
  CHECK_FALSE(apq->attrs.Has("y_scale"));
  CHECK(apq->outputs[0]->name == "avg");
  CHECK(apq->outputs[0]->dtype == DataType::kFloat32);
}

TEST_CASE("quantize-int8: an average pool feeds an int8 Concat, Relu passes int8 through",
          "[optimizer][int8]") {
  // ShuffleNet's stride-2 unit: x -> Conv(Relu) -> AveragePool -> ap;
  // x -> Conv -> b; Concat(ap, b) -> Relu -> Conv -> y.
  ir::Graph g;
  ir::Value* x = Act(g, "x", {1, 2, 4, 4});
  g.inputs().push_back(x);
  ir::Value* a = Act(g, "a", {1, 2, 4, 4});
  Add(g, "Conv", "conv_a", {x, Const(g, "wa", {2, 2, 1, 1}, 0.5f)}, a)
      ->attrs.Set("activation", std::string("Relu"));
  ir::Value* ap = Act(g, "ap", {1, 2, 2, 2});
  ir::Node* pool = Add(g, "AveragePool", "pool", {a}, ap);
  pool->attrs.Set("kernel_shape", std::vector<int64_t>{2, 2});
  pool->attrs.Set("strides", std::vector<int64_t>{2, 2});
  ir::Value* b = Act(g, "b", {1, 3, 2, 2});
  Add(g, "Conv", "conv_b", {x, Const(g, "wb", {3, 2, 1, 1}, 0.6f)}, b)
      ->attrs.Set("strides", std::vector<int64_t>{2, 2});
  ir::Value* cat = Act(g, "cat", {1, 5, 2, 2});
  Add(g, "Concat", "concat", {ap, b}, cat)->attrs.Set("axis", int64_t{1});
  ir::Value* r = Act(g, "r", {1, 5, 2, 2});
  Add(g, "Relu", "relu", {cat}, r);
  ir::Value* y = Act(g, "y", {1, 2, 2, 2});
  Add(g, "Conv", "conv_y", {r, Const(g, "wy", {2, 5, 1, 1}, 0.4f)}, y);
  g.outputs().push_back(y);
  ScaleMap scales = {{"x", 0.02f}, {"a", 0.05f},  {"ap", 0.03f}, {"b", 0.06f},
                     {"cat", 0.07f}, {"r", 0.5f}, {"y", 0.1f}};
  QuantizeAllInt8(g, scales);
  const ir::Node* p = FindOp(g, "Int8AveragePool");
  REQUIRE(p != nullptr);
  CHECK(p->attrs.Float("y_scale", 0) == 0.07f);  // the group's: max(0.03, 0.06, 0.07)
  const ir::Node* c = FindOp(g, "Concat");
  REQUIRE(c != nullptr);
  CHECK(c->outputs[0]->dtype == DataType::kInt8);
  const ir::Node* relu = FindOp(g, "Relu");
  REQUIRE(relu != nullptr);
  CHECK(relu->inputs[0]->name == "cat:int8");
  CHECK(relu->outputs[0]->dtype == DataType::kInt8);
  for (const auto& n : g.nodes()) {
    if (n->name != "conv_y") continue;
    CHECK(n->inputs[0]->name == "r:int8");  // read at the Concat's scale, not 0.5
    auto out_scale = n->attrs.GetFloats("output_scale");
    REQUIRE(out_scale.ok());
    ir::Graph ref;
    const Tensor& fw = *Const(ref, "wy", {2, 5, 1, 1}, 0.4f)->constant;
    double wmax = 0;
    for (int64_t i = 0; i < 5; ++i) wmax = std::max(wmax, std::fabs(double{fw.data_as<float>()[i]}));
    CHECK((*out_scale)[0] == Approx(0.07 * wmax / 127).epsilon(1e-6));
  }
}

TEST_CASE("quantize-int8 names the tensor whose scale is missing", "[optimizer][int8]") {
  SmallNet net;
  net.scales.erase("conv_out");
  auto report = QuantizeGraphInt8(net.g, net.scales, {});
  REQUIRE(!report.ok());
  CHECK(report.status().code() == absl::StatusCode::kNotFound);
  CHECK(report.status().message().find("'conv_out'") != std::string::npos);
  CHECK(report.status().message().find("conv") != std::string::npos);
}

TEST_CASE("quantize-int8 rewrites ConvTranspose (overlapping taps too) into Int8ConvTranspose",
          "[optimizer][int8]") {
  // x -> Conv -> ConvTranspose 2x2/2 (group 2) -> Relu -> ConvTranspose 3x3/2 -> out:
  // the upsampling layer becomes int8 (the Relu passes its int8 through);
  // so does the overlapping 3x3 stride-2 one (the accelerator's per-phase
  // convolutions, ops/resample.cc). A fused activation keeps FP32 with the
  // reason.
  ir::Graph g;
  ir::Value* x = Act(g, "x", {1, 4, 4, 4});
  g.inputs().push_back(x);
  ir::Value* c = Act(g, "c", {1, 4, 4, 4});
  Add(g, "Conv", "conv", {x, Const(g, "w", {4, 4, 1, 1}, 0.5f)}, c);
  ir::Value* u = Act(g, "u", {1, 6, 8, 8});
  ir::Node* up = Add(g, "ConvTranspose", "up",
                     {c, Const(g, "wt", {4, 3, 2, 2}, 0.3f), Const(g, "bt", {6}, 0.1f)}, u);
  up->attrs.Set("strides", std::vector<int64_t>{2, 2});
  up->attrs.Set("group", int64_t{2});
  ir::Value* r = Act(g, "r", {1, 6, 8, 8});
  Add(g, "Relu", "relu", {u}, r);
  ir::Value* y = Act(g, "y", {1, 2, 17, 17});
  ir::Node* up2 = Add(g, "ConvTranspose", "up2", {r, Const(g, "wt2", {6, 2, 3, 3}, 0.2f)}, y);
  up2->attrs.Set("strides", std::vector<int64_t>{2, 2});
  g.outputs().push_back(y);
  std::string reason;
  CHECK(HasInt8Form(*up));
  CHECK(HasInt8Form(*up2, &reason));
  {
    ir::Graph g2;
    ir::Value* x2 = Act(g2, "x2", {1, 6, 8, 8});
    g2.inputs().push_back(x2);
    ir::Node* act = Add(g2, "ConvTranspose", "act", {x2, Const(g2, "w2", {6, 2, 3, 3}, 0.2f)},
                        Act(g2, "y2", {1, 2, 17, 17}));
    act->attrs.Set("strides", std::vector<int64_t>{2, 2});
    act->attrs.Set("activation", std::string("Relu"));
    CHECK_FALSE(HasInt8Form(*act, &reason));
    CHECK(reason.find("fused activation") != std::string::npos);
  }
  CHECK(Int8ScaleTensors(g) == std::vector<std::string>{"x", "c", "u", "r", "y"});
  const Tensor wt = *g.FindValue("wt")->constant;  // FP32 weights before the rewrite
  ScaleMap scales = {{"x", 0.02f}, {"c", 0.05f}, {"u", 0.08f}, {"r", 0.08f}, {"y", 0.3f}};
  auto report = QuantizeGraphInt8(g, scales, {});
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  REQUIRE(g.Verify().ok());
  CHECK(Count(g, "ConvTranspose") == 0);
  CHECK(Count(g, "Int8ConvTranspose") == 2);
  const ir::Node* q = nullptr;
  const ir::Node* q2 = nullptr;
  for (const auto& n : g.nodes()) {
    if (n->op_type == "Int8ConvTranspose") (n->name == "up2" ? q2 : q) = n.get();
  }
  REQUIRE(q != nullptr);
  REQUIRE(q2 != nullptr);
  CHECK(q2->inputs[0]->dtype == DataType::kInt8);  // the Relu's int8 output
  CHECK(q2->inputs[1]->dtype == DataType::kInt8);
  CHECK(q2->inputs[1]->shape == Dims{6, 2, 3, 3});
  // The engine output reads it: the float-output form, x_scale * w_scale[m].
  CHECK(q2->outputs[0]->dtype == DataType::kFloat32);
  CHECK(q2->attrs.GetFloats("output_scale").value_or(std::vector<float>{}).size() == 2);
  CHECK(q->inputs[0]->dtype == DataType::kInt8);
  CHECK(q->inputs[1]->dtype == DataType::kInt8);
  CHECK(q->inputs[1]->shape == Dims{4, 3, 2, 2});
  CHECK(q->inputs[2]->dtype == DataType::kInt32);
  CHECK(q->outputs[0]->dtype == DataType::kInt8);  // the Relu reads it as int8
  CHECK(q->attrs.Int("group", 1) == 2);
  // Per output channel m = g * 3 + j over W[c in group g, j, :, :]: the
  // largest |w| maps to 127 and the multiplier is x * w[m] / y.
  const Tensor& wq = *q->inputs[1]->constant;
  const auto mult = q->attrs.Ints("multiplier");
  const auto shift = q->attrs.Ints("shift");
  REQUIRE(mult.size() == 6);
  for (int64_t m = 0; m < 6; ++m) {
    const int64_t grp = m / 3, j = m % 3;
    int qmax = 0;
    double wmax = 0;
    for (int64_t ci = grp * 2; ci < grp * 2 + 2; ++ci) {
      for (int64_t t = 0; t < 4; ++t) {
        const int64_t i = (ci * 3 + j) * 4 + t;
        qmax = std::max(qmax, std::abs(int{wq.data_as<int8_t>()[i]}));
        wmax = std::max(wmax, std::fabs(double{wt.data_as<float>()[i]}));
      }
    }
    CHECK(qmax == 127);
    const double real = std::ldexp(static_cast<double>(mult[m]), -static_cast<int>(shift[m]));
    CHECK(real == Approx(0.05 * (wmax / 127) / 0.08).epsilon(1e-6));
  }
  const ir::Node* relu = FindOp(g, "Relu");
  REQUIRE(relu != nullptr);
  CHECK(relu->inputs[0] == q->outputs[0]);
  int int8_layers = 0;
  for (const LayerPrecisionInfo& l : *report) {
    if (l.layer == "up" || l.layer == "up2") int8_layers += l.precision == Precision::kInt8;
  }
  CHECK(int8_layers == 2);
}

TEST_CASE("quantize-int8 runs Max of int8 activations as Int8Max at the output's scale",
          "[optimizer][int8]") {
  // x -> Conv a, Conv b -> Max(a, b) -> Conv -> y: the Max reads both convs'
  // int8 outputs and requantizes each to its own output scale; a Min whose
  // second input is a float Sigmoid output stays FP32 with the reason.
  ir::Graph g;
  ir::Value* x = Act(g, "x", {1, 4, 4, 4});
  g.inputs().push_back(x);
  ir::Value* a = Act(g, "a", {1, 4, 4, 4});
  ir::Value* b = Act(g, "b", {1, 4, 4, 4});
  Add(g, "Conv", "conv_a", {x, Const(g, "wa", {4, 4, 1, 1}, 0.5f)}, a);
  Add(g, "Conv", "conv_b", {x, Const(g, "wb", {4, 4, 1, 1}, 0.4f)}, b);
  ir::Value* m = Act(g, "m", {1, 4, 4, 4});
  Add(g, "Max", "max", {a, b}, m);
  ir::Value* y = Act(g, "y", {1, 4, 4, 4});
  Add(g, "Conv", "conv_y", {m, Const(g, "wy", {4, 4, 1, 1}, 0.3f)}, y);
  ir::Value* s = Act(g, "s", {1, 4, 4, 4});
  Add(g, "Sigmoid", "sig", {y}, s);
  ir::Value* n = Act(g, "n", {1, 4, 4, 4});
  Add(g, "Min", "min", {y, s}, n);
  ir::Value* z = Act(g, "z", {1, 4, 4, 4});
  Add(g, "Conv", "conv_z", {n, Const(g, "wz", {4, 4, 1, 1}, 0.3f)}, z);
  g.outputs().push_back(z);
  const std::vector<std::string> tensors = Int8ScaleTensors(g);
  CHECK(std::find(tensors.begin(), tensors.end(), "m") != tensors.end());
  ScaleMap scales = {{"x", 0.02f}, {"a", 0.05f}, {"b", 0.03f}, {"m", 0.06f},
                     {"y", 0.1f},  {"n", 0.1f},  {"z", 0.1f}};
  auto report = QuantizeGraphInt8(g, scales, {});
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  REQUIRE(g.Verify().ok());
  const ir::Node* mx = FindOp(g, "Int8Max");
  REQUIRE(mx != nullptr);
  CHECK(Count(g, "Max") == 0);
  CHECK(mx->inputs[0]->name == "a:int8");
  CHECK(mx->inputs[1]->name == "b:int8");
  CHECK(mx->outputs[0]->dtype == DataType::kInt8);
  const auto mult = mx->attrs.Ints("multiplier");
  const auto shift = mx->attrs.Ints("shift");
  REQUIRE(mult.size() == 2);
  CHECK(std::ldexp(static_cast<double>(mult[0]), -static_cast<int>(shift[0])) ==
        Approx(double{0.05f} / double{0.06f}).epsilon(1e-8));
  CHECK(std::ldexp(static_cast<double>(mult[1]), -static_cast<int>(shift[1])) ==
        Approx(double{0.03f} / double{0.06f}).epsilon(1e-8));
  // conv_y reads the Int8Max output with its scale.
  bool conv_y_reads = false;
  for (const auto& node : g.nodes()) {
    if (node->name == "conv_y") conv_y_reads = node->inputs[0] == mx->outputs[0];
  }
  CHECK(conv_y_reads);
  CHECK(Count(g, "Min") == 1);
  bool min_reason = false;
  for (const LayerPrecisionInfo& l : *report) {
    if (l.layer == "max") CHECK(l.precision == Precision::kInt8);
    if (l.layer == "min") {
      CHECK(l.precision == Precision::kFp32);
      min_reason = l.reason == "Min stays FP32: input 'y' is not int8";
    }
  }
  CHECK(min_reason);
}

}  // namespace
}  // namespace engine::opt
