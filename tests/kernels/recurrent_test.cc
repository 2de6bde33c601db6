// Tests of the recurrent host kernels LSTM, GRU, RNN (src/kernels/
// recurrent.cc): hand-computed one-unit cases (every branch that the ONNX
// node tests leave out: reverse and bidirectional directions, sequence
// lengths, layout, non-default activations with alpha, clip, input_forget,
// linear_before_reset), and the ONNX node test data (Debian libonnx-testdata,
// expected outputs computed by ONNX's numpy reference) at rtol 1e-4 / atol
// 1e-5.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/compare.h"
#include "engine/tensor.h"
#include "engine/tensor_io.h"
#include "kernels/kernel_test_util.h"
#include "test_util.h"

namespace engine::kernels {
namespace {

using engine::kernels::testing::Eval;
using engine::testing::MakeFloat;
using engine::testing::MakeTyped;
using engine::testing::ToVector;

Attributes Attr(std::initializer_list<std::pair<std::string, AttrValue>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.Set(k, v);
  return a;
}

std::vector<Tensor> Run(const std::string& type, const Attributes& attrs,
                        std::vector<const Tensor*> in) {
  auto out = Eval(type, attrs, in);
  INFO(type << ": " << out.status().ToString());
  REQUIRE(out.ok());
  return std::move(*out);
}

void CheckClose(const Tensor& t, const std::vector<float>& expect) {
  std::vector<float> v = ToVector(t);
  REQUIRE(v.size() == expect.size());
  for (size_t i = 0; i < v.size(); ++i) {
    INFO("element " << i);
    CHECK(v[i] == Approx(expect[i]).epsilon(1e-5).margin(1e-6));
  }
}

float Sig(float x) { return 1.0f / (1.0f + std::exp(-x)); }

TEST_CASE("RNN: one unit, Relu, bidirectional with sequence lengths and batch-first layout") {
  // x_t: batch 0 = [1, 2], batch 1 = [3, (pad) 4]; W = 1, R = 0.5, no bias.
  Tensor w = MakeFloat({2, 1, 1}, {1, 1});
  Tensor r = MakeFloat({2, 1, 1}, {0.5f, 0.5f});
  Tensor x = MakeFloat({2, 2, 1}, {1, 3, 2, 4});  // [seq, batch, input]
  Tensor lens = MakeTyped<int32_t>(DataType::kInt32, {2}, {2, 1});
  Tensor none;
  Attributes a = Attr({{"direction", std::string("bidirectional")},
                       {"hidden_size", int64_t{1}},
                       {"activations", std::string("Relu,Relu")}});
  std::vector<Tensor> out = Run("RNN", a, {&x, &w, &r, nullptr, &lens});
  REQUIRE(out.size() == 2);
  REQUIRE(out[0].shape() == Dims{2, 2, 2, 1});
  // Forward b0: h1 = 1, h2 = 2 + 0.5 = 2.5. Reverse b0: t1: 2, t0: 1 + 1 = 2.
  // b1 (length 1): forward t0: 3; reverse t0: 3; t1 padded: zeros.
  // Y[t, d, b]: t0: f(b0 1, b1 3), r(b0 2, b1 3); t1: f(2.5, 0), r(2, 0).
  CheckClose(out[0], {1, 3, 2, 3, 2.5f, 0, 2, 0});
  // Y_h[d, b]: forward (2.5, 3), reverse (2, 3) (the state after t = 0).
  CheckClose(out[1], {2.5f, 3, 2, 3});

  // Same data batch-first (layout 1): X [batch, seq, input].
  Tensor xb = MakeFloat({2, 2, 1}, {1, 2, 3, 4});
  Attributes ab = a;
  ab.Set("layout", int64_t{1});
  std::vector<Tensor> outb = Run("RNN", ab, {&xb, &w, &r, nullptr, &lens});
  REQUIRE(outb[0].shape() == Dims{2, 2, 2, 1});  // [batch, seq, dirs, hidden]
  CheckClose(outb[0], {1, 2, 2.5f, 2, 3, 3, 0, 0});
  REQUIRE(outb[1].shape() == Dims{2, 2, 1});  // [batch, dirs, hidden]
  CheckClose(outb[1], {2.5f, 2, 3, 3});
}

TEST_CASE("RNN: reverse, LeakyRelu alpha, clip and initial_h") {
  Tensor w = MakeFloat({1, 1, 1}, {1});
  Tensor r = MakeFloat({1, 1, 1}, {1});
  Tensor b = MakeFloat({1, 2}, {-1, 0});  // Wb = -1
  Tensor x = MakeFloat({2, 1, 1}, {-2, 5});
  Tensor h0 = MakeFloat({1, 1, 1}, {1});
  Attributes a = Attr({{"direction", std::string("reverse")},
                       {"hidden_size", int64_t{1}},
                       {"activations", std::string("LeakyRelu")},
                       {"activation_alpha", std::vector<float>{0.5f}},
                       {"clip", 3.0f}});
  std::vector<Tensor> out = Run("RNN", a, {&x, &w, &r, &b, nullptr, &h0});
  // t1: 5 + 1 - 1 = 5, clipped to 3 -> 3. t0: -2 + 3 - 1 = 0 -> 0.
  CheckClose(out[0], {0, 3});
  CheckClose(out[1], {0});
}

TEST_CASE("LSTM: constant gates, input_forget, peepholes, Y_c") {
  // W = R = 0; biases make i, o, f ~ 1 (sigmoid(30)) and c~ = tanh(0.5).
  Tensor x = MakeFloat({2, 1, 1}, {0.3f, -0.7f});
  Tensor w = MakeFloat({1, 4, 1}, {0, 0, 0, 0});
  Tensor r = MakeFloat({1, 4, 1}, {0, 0, 0, 0});
  Tensor b = MakeFloat({1, 8}, {30, 30, 30, 0.5f, 0, 0, 0, 0});  // i o f c (W), then R
  const float g = std::tanh(0.5f);
  const float s = Sig(30.0f);
  std::vector<Tensor> out = Run("LSTM", Attr({{"hidden_size", int64_t{1}}}), {&x, &w, &r, &b});
  REQUIRE(out.size() == 3);
  const float c1 = s * g, c2 = s * c1 + s * g;
  CheckClose(out[0], {s * std::tanh(c1), s * std::tanh(c2)});
  CheckClose(out[1], {s * std::tanh(c2)});
  CheckClose(out[2], {c2});

  // input_forget: f = 1 - i ~ 0, so Ct = i.c~ at every step.
  std::vector<Tensor> cif = Run(
      "LSTM", Attr({{"hidden_size", int64_t{1}}, {"input_forget", int64_t{1}}}), {&x, &w, &r, &b});
  const float c2f = (1 - s) * c1 + s * g;
  CheckClose(cif[2], {c2f});

  // Peepholes with zero gate biases: i = f = sigmoid(p * Ct-1), o = sigmoid(p * Ct).
  Tensor b0 = MakeFloat({1, 8}, {0, 0, 0, 0.5f, 0, 0, 0, 0});
  Tensor p = MakeFloat({1, 3}, {2, 3, 4});  // i, o, f
  Tensor c0 = MakeFloat({1, 1, 1}, {1});
  std::vector<Tensor> pp = Run("LSTM", Attr({{"hidden_size", int64_t{1}}}),
                               {&x, &w, &r, &b0, nullptr, nullptr, &c0, &p});
  const float i1 = Sig(2 * 1.0f), f1 = Sig(4 * 1.0f);
  const float cc1 = f1 * 1.0f + i1 * g;
  const float o1 = Sig(3 * cc1);
  const float i2 = Sig(2 * cc1), f2 = Sig(4 * cc1);
  const float cc2 = f2 * cc1 + i2 * g;
  const float o2 = Sig(3 * cc2);
  CheckClose(pp[0], {o1 * std::tanh(cc1), o2 * std::tanh(cc2)});
  CheckClose(pp[2], {cc2});
}

TEST_CASE("GRU: linear_before_reset changes where the reset gate applies") {
  // z ~ 0 (bias -30), r = sigmoid(0) = 0.5, Rh = 1, Rbh = 1, h0 = 1, x = 0.
  Tensor x = MakeFloat({1, 1, 1}, {0});
  Tensor w = MakeFloat({1, 3, 1}, {0, 0, 0});
  Tensor r = MakeFloat({1, 3, 1}, {0, 0, 1});
  Tensor b = MakeFloat({1, 6}, {-30, 0, 0, 0, 0, 1});
  Tensor h0 = MakeFloat({1, 1, 1}, {1});
  const float z = Sig(-30.0f);
  auto y_h = [&](int64_t lbr) {
    return Run("GRU", Attr({{"hidden_size", int64_t{1}}, {"linear_before_reset", lbr}}),
               {&x, &w, &r, &b, nullptr, &h0})[1];
  };
  // lbr 0: h~ = tanh((r.h0) Rh + Rbh) = tanh(1.5); lbr 1: tanh(r.(h0 Rh + Rbh)) = tanh(1).
  CheckClose(y_h(0), {(1 - z) * std::tanh(1.5f) + z});
  CheckClose(y_h(1), {(1 - z) * std::tanh(1.0f) + z});
}

TEST_CASE("Recurrent: malformed inputs and attributes are refused") {
  Tensor x = MakeFloat({1, 1, 2}, {0, 0});
  Tensor w = MakeFloat({1, 4, 2}, std::vector<float>(8, 0));
  Tensor r = MakeFloat({1, 4, 1}, std::vector<float>(4, 0));
  auto code = [&](const std::string& type, const Attributes& a) {
    return Eval(type, a, {&x, &w, &r}).status().code();
  };
  CHECK(code("LSTM", Attr({{"hidden_size", int64_t{2}}})) == absl::StatusCode::kInvalidArgument);
  CHECK(code("LSTM", Attr({{"direction", std::string("sideways")}})) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code("LSTM", Attr({{"activations", std::string("Sigmoid,Tanh,Gelu")}})) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code("LSTM", Attr({{"direction", std::string("bidirectional")}})) ==
        absl::StatusCode::kInvalidArgument);                               // W has one direction
  CHECK(code("GRU", Attributes()) == absl::StatusCode::kInvalidArgument);  // 4 rows, not 3k
  Tensor lens = MakeTyped<int32_t>(DataType::kInt32, {1}, {2});
  CHECK(Eval("LSTM", Attributes(), {&x, &w, &r, nullptr, &lens}).status().code() ==
        absl::StatusCode::kInvalidArgument);  // length 2 > seq 1
}

// The ONNX node tests: inputs and expected outputs from the test data,
// attributes as in each model (read from the ONNX files by hand).
struct NodeCase {
  const char* dir;
  const char* type;
  std::vector<std::pair<std::string, AttrValue>> attrs;
  std::vector<int> input_slots;   // layer input position of each input_i.pb
  std::vector<int> output_slots;  // layer output position of each output_i.pb
};

TEST_CASE("Recurrent: ONNX node test data") {
  const std::string root = ENGINE_ONNX_TESTDATA_DIR "/node/";
  if (!std::filesystem::exists(root + "test_lstm_defaults")) {
    WARN("SKIPPED: ONNX node test data not found at " << root);
    return;
  }
  const std::vector<NodeCase> cases = {
      {"test_lstm_defaults", "LSTM", {{"hidden_size", int64_t{3}}}, {0, 1, 2}, {1}},
      {"test_lstm_with_initial_bias", "LSTM", {{"hidden_size", int64_t{4}}}, {0, 1, 2, 3}, {1}},
      {"test_lstm_with_peepholes",
       "LSTM",
       {{"hidden_size", int64_t{3}}},
       {0, 1, 2, 3, 4, 5, 6, 7},
       {1}},
      {"test_lstm_batchwise",
       "LSTM",
       {{"hidden_size", int64_t{7}}, {"layout", int64_t{1}}},
       {0, 1, 2},
       {0, 1}},
      {"test_gru_defaults", "GRU", {{"hidden_size", int64_t{5}}}, {0, 1, 2}, {1}},
      {"test_gru_seq_length", "GRU", {{"hidden_size", int64_t{5}}}, {0, 1, 2, 3}, {1}},
      {"test_gru_with_initial_bias", "GRU", {{"hidden_size", int64_t{3}}}, {0, 1, 2, 3}, {1}},
      {"test_gru_batchwise",
       "GRU",
       {{"hidden_size", int64_t{6}}, {"layout", int64_t{1}}},
       {0, 1, 2},
       {0, 1}},
      {"test_simple_rnn_defaults", "RNN", {{"hidden_size", int64_t{4}}}, {0, 1, 2}, {1}},
      {"test_simple_rnn_with_initial_bias",
       "RNN",
       {{"hidden_size", int64_t{5}}},
       {0, 1, 2, 3},
       {1}},
      {"test_simple_rnn_batchwise",
       "RNN",
       {{"hidden_size", int64_t{4}}, {"layout", int64_t{1}}},
       {0, 1, 2},
       {0, 1}},
      {"test_rnn_seq_length", "RNN", {{"hidden_size", int64_t{5}}}, {0, 1, 2, 3}, {1}},
  };
  for (const NodeCase& c : cases) {
    INFO(c.dir);
    const std::string dir = root + c.dir + "/test_data_set_0/";
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < c.input_slots.size(); ++i) {
      auto t = LoadTensorFile(dir + "input_" + std::to_string(i) + ".pb");
      REQUIRE(t.ok());
      inputs.push_back(std::move(t->tensor));
    }
    std::vector<const Tensor*> in(8, nullptr);
    size_t used = 0;
    for (size_t i = 0; i < c.input_slots.size(); ++i) {
      in[c.input_slots[i]] = &inputs[i];
      used = std::max(used, static_cast<size_t>(c.input_slots[i]) + 1);
    }
    in.resize(used);
    Attributes a;
    for (const auto& [k, v] : c.attrs) a.Set(k, v);
    std::vector<Tensor> out = Run(c.type, a, in);
    for (size_t i = 0; i < c.output_slots.size(); ++i) {
      auto expected = LoadTensorFile(dir + "output_" + std::to_string(i) + ".pb");
      REQUIRE(expected.ok());
      CompareResult r = CompareTensors(out[c.output_slots[i]], expected->tensor, 1e-4, 1e-5);
      INFO("output " << i << ": " << r.message);
      CHECK(r.passed);
    }
  }
}

}  // namespace
}  // namespace engine::kernels
