#include "builder/qdq_export.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/requant.h"
#include "common/status_macros.h"
#include "common/tensor_proto.h"
#include "onnx/onnx_pb.h"

namespace engine::builder {
namespace {

// Ops whose semantics do not change between their opset <= 12 versions still
// in use and opset 13 (ONNX Changelog), so that raising the opset is exact.
const std::set<std::string>& SameAt13() {
  static const std::set<std::string> ops = {
      "Conv", "MatMul", "Gemm", "Add", "Sub", "Mul", "Relu", "MaxPool", "AveragePool",
      "GlobalAveragePool", "Reshape", "Flatten", "Transpose", "Concat", "Identity", "Sigmoid",
      "Tanh", "QuantizeLinear", "DequantizeLinear"};
  return ops;
}

onnx::NodeProto MakeNode(const std::string& op, const std::string& name,
                         std::vector<std::string> inputs, const std::string& output) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const std::string& i : inputs) n.add_input(i);
  n.add_output(output);
  return n;
}

void SetAxis(onnx::NodeProto& n, int64_t axis) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name("axis");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(axis);
}

}  // namespace

absl::StatusOr<std::string> ExportQdqModel(const std::string& onnx_bytes, const std::string& name,
                                           const std::map<std::string, float>& scales) {
  if (scales.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        name, ": --exportQdq needs an INT8 engine (no tensor of the engine is int8)"));
  }
  onnx::ModelProto model;
  if (!model.ParseFromString(onnx_bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": not a valid ONNX ModelProto"));
  }
  onnx::GraphProto* g = model.mutable_graph();
  // The default-domain opset: per-axis DequantizeLinear needs 13.
  onnx::OperatorSetIdProto* opset = nullptr;
  for (auto& o : *model.mutable_opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = &o;
  }
  if (opset == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": no ai.onnx opset import"));
  }
  if (opset->version() < 13) {
    for (const auto& n : g->node()) {
      if (!n.domain().empty() || !SameAt13().contains(n.op_type())) {
        return absl::UnimplementedError(absl::StrCat(
            name, ": opset ", opset->version(), " model with node '", n.name(), "' (",
            n.op_type(), "): the QDQ export raises the opset to 13 (per-axis DequantizeLinear) "
            "only for ops whose semantics do not change"));
      }
    }
    opset->set_version(13);
  }
  // Opset 13 needs IR version 7 (ONNX Versioning.md); from IR 4 on,
  // initializers need not be graph inputs (the ones listed stay listed).
  if (model.ir_version() < 7) model.set_ir_version(7);
  std::set<std::string> tensors;
  for (const auto& i : g->input()) tensors.insert(i.name());
  for (const auto& n : g->node()) {
    for (const auto& o : n.output()) tensors.insert(o);
  }
  std::map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : g->initializer()) inits[t.name()] = &t;
  std::map<std::string, const onnx::NodeProto*> producer;
  for (const auto& n : g->node()) {
    for (const auto& o : n.output()) producer[o] = &n;
  }
  for (const auto& [t, s] : scales) {
    if (!tensors.contains(t)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": int8 tensor '", t, "' is not a tensor of the model's graph"));
    }
    if (!(s > 0.0f) || !std::isfinite(s)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": scale ", s, " of tensor '", t, "' is not finite and > 0"));
    }
  }
  auto unique = [&](const std::string& want) {
    std::string n = want;
    for (int i = 1; tensors.contains(n) || inits.contains(n); ++i) n = absl::StrCat(want, "_", i);
    tensors.insert(n);
    return n;
  };
  std::vector<onnx::TensorProto> new_inits;
  std::vector<onnx::NodeProto> new_nodes;  // prepended: they read initializers only
  std::map<std::string, std::string> dq_of;  // weight initializer -> its DequantizeLinear output

  // Weights of the product layers whose data input is int8.
  for (const auto& n : g->node()) {
    const std::string& op = n.op_type();
    if (!n.domain().empty() ||
        (op != "Conv" && op != "ConvTranspose" && op != "MatMul" && op != "Gemm") ||
        n.input_size() < 2 || !scales.contains(n.input(0))) {
      continue;
    }
    if (dq_of.contains(n.input(1))) continue;
    auto it = inits.find(n.input(1));
    Tensor w;
    if (it != inits.end()) {
      ENGINE_ASSIGN_OR_RETURN(w, TensorFromProto(*it->second));
    } else {
      // A Reshape of an initializer by a constant shape (mnist-8's MatMul
      // weights): the reshaped values.
      auto p = producer.find(n.input(1));
      if (p == producer.end() || p->second->op_type() != "Reshape" || p->second->input_size() < 2 ||
          !inits.contains(p->second->input(0)) || !inits.contains(p->second->input(1))) {
        continue;
      }
      ENGINE_ASSIGN_OR_RETURN(Tensor data, TensorFromProto(*inits.at(p->second->input(0))));
      ENGINE_ASSIGN_OR_RETURN(Tensor shape, TensorFromProto(*inits.at(p->second->input(1))));
      if (shape.dtype() != DataType::kInt64 || shape.shape().size() != 1) continue;
      Dims dims;
      int64_t known = 1, infer = -1;
      for (int64_t i = 0; i < shape.num_elements(); ++i) {
        int64_t d = shape.data_as<int64_t>()[i];
        if (d == 0 && static_cast<size_t>(i) < data.shape().size()) d = data.shape()[i];
        if (d == -1) infer = i;
        else known *= d;
        dims.push_back(d);
      }
      if (infer >= 0 && known > 0) dims[infer] = data.num_elements() / known;
      if (NumElements(dims) != data.num_elements()) continue;
      w = Tensor(data.dtype(), dims);
      std::memcpy(w.data(), data.data(), data.byte_size());
    }
    if (w.dtype() != DataType::kFloat32) continue;
    int64_t axis = 0;
    // ConvTranspose's W [C, M/group, k...]: ONNX quantizes it per index of
    // axis 1 (the output channel within a group).
    if (op == "MatMul" || op == "ConvTranspose") axis = 1;
    if (op == "Gemm") {
      int64_t trans_b = 0;
      for (const auto& a : n.attribute()) {
        if (a.name() == "transB") trans_b = a.i();
      }
      axis = trans_b != 0 ? 0 : 1;
    }
    const bool conv_like = op == "Conv" || op == "ConvTranspose";
    if (w.shape().size() < 2 || (!conv_like && w.shape().size() != 2)) continue;
    const int64_t channels = w.shape()[axis];
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(axis) + 1; d < w.shape().size(); ++d) inner *= w.shape()[d];
    const float* wf = w.data_as<float>();
    std::vector<float> s(static_cast<size_t>(channels), 0.0f);
    for (int64_t i = 0; i < w.num_elements(); ++i) {
      float& m = s[(i / inner) % channels];
      m = std::max(m, std::fabs(wf[i]));
    }
    // quantize_int8.cc QuantizeRows / QuantizeTransposedConvWeights (for a
    // ConvTranspose with group > 1 the scale of index j is the largest over
    // the groups, where the engine's calibrated build has one per group).
    for (float& v : s) v = v > 0.0f ? v / 127.0f : 1.0f;
    Tensor q(DataType::kInt8, w.shape());
    for (int64_t i = 0; i < w.num_elements(); ++i) {
      q.data_as<int8_t>()[i] = QuantizeWeight(wf[i], s[(i / inner) % channels]);
    }
    Tensor st(DataType::kFloat32, {channels});
    std::copy(s.begin(), s.end(), st.data_as<float>());
    Tensor zt(DataType::kInt8, {channels});
    std::fill(zt.data_as<int8_t>(), zt.data_as<int8_t>() + channels, int8_t{0});
    const std::string base = n.input(1);
    const std::string qn = unique(base + "_quantized"), sn = unique(base + "_scale"),
                      zn = unique(base + "_zero_point"), dn = unique(base + "_dequantized");
    new_inits.push_back(TensorToProto(q, qn));
    new_inits.push_back(TensorToProto(st, sn));
    new_inits.push_back(TensorToProto(zt, zn));
    onnx::NodeProto dq = MakeNode("DequantizeLinear", base + "_DequantizeLinear", {qn, sn, zn}, dn);
    SetAxis(dq, axis);
    new_nodes.push_back(std::move(dq));
    dq_of[base] = dn;
  }

  // Activations: T -> Q -> DQ -> T's readers.
  std::map<std::string, std::string> act_dq;  // tensor -> its dequantized name
  std::map<std::string, std::vector<onnx::NodeProto>> after;  // producer output -> Q, DQ
  std::vector<onnx::NodeProto> for_inputs;
  for (const auto& [t, s] : scales) {
    Tensor st(DataType::kFloat32, {});
    *st.data_as<float>() = s;
    Tensor zt(DataType::kInt8, {});
    *zt.data_as<int8_t>() = 0;
    const std::string sn = unique(t + "_scale"), zn = unique(t + "_zero_point"),
                      qn = unique(t + "_quantized"), dn = unique(t + "_dequantized");
    new_inits.push_back(TensorToProto(st, sn));
    new_inits.push_back(TensorToProto(zt, zn));
    std::vector<onnx::NodeProto> pair = {
        MakeNode("QuantizeLinear", t + "_QuantizeLinear", {t, sn, zn}, qn),
        MakeNode("DequantizeLinear", t + "_DequantizeLinear", {qn, sn, zn}, dn)};
    act_dq[t] = dn;
    bool is_input = false;
    for (const auto& i : g->input()) is_input = is_input || i.name() == t;
    if (is_input) {
      for (auto& p : pair) for_inputs.push_back(std::move(p));
    } else {
      after[t] = std::move(pair);
    }
  }
  // Rebuild the node list: weight DQs and input Q/DQs first, then every node
  // with its readers rewired, each followed by its outputs' Q/DQ.
  std::vector<onnx::NodeProto> nodes(new_nodes.begin(), new_nodes.end());
  for (auto& p : for_inputs) nodes.push_back(std::move(p));
  for (const auto& n : g->node()) {
    onnx::NodeProto copy = n;
    for (int i = 0; i < copy.input_size(); ++i) {
      if (auto w = dq_of.find(copy.input(i)); w != dq_of.end() && i == 1) {
        copy.set_input(i, w->second);
      } else if (auto a = act_dq.find(copy.input(i)); a != act_dq.end()) {
        copy.set_input(i, a->second);
      }
    }
    nodes.push_back(std::move(copy));
    for (const auto& o : n.output()) {
      auto it = after.find(o);
      if (it == after.end()) continue;
      for (auto& p : it->second) nodes.push_back(std::move(p));
    }
  }
  g->clear_node();
  for (auto& n : nodes) *g->add_node() = std::move(n);
  // Weights now only read through their DequantizeLinear: drop the float
  // copies nobody else reads.
  std::set<std::string> read;
  for (const auto& n : g->node()) {
    for (const auto& i : n.input()) read.insert(i);
  }
  auto* init_list = g->mutable_initializer();
  std::set<std::string> dropped;
  for (int i = init_list->size() - 1; i >= 0; --i) {
    if (dq_of.contains(init_list->Get(i).name()) && !read.contains(init_list->Get(i).name())) {
      dropped.insert(init_list->Get(i).name());
      init_list->DeleteSubrange(i, 1);
    }
  }
  // IR < 4 lists initializers as graph inputs too: the dropped ones go.
  auto* inputs = g->mutable_input();
  for (int i = inputs->size() - 1; i >= 0; --i) {
    if (dropped.contains(inputs->Get(i).name())) inputs->DeleteSubrange(i, 1);
  }
  for (auto& t : new_inits) *g->add_initializer() = std::move(t);
  // Stale value_info of the rewired tensors would still be right (same
  // tensors, same types); new tensors get none (ONNX infers them).
  model.set_producer_name("engine --exportQdq");
  std::string out;
  if (!model.SerializeToString(&out)) {
    return absl::InternalError(absl::StrCat(name, ": cannot serialize the QDQ model"));
  }
  return out;
}

}  // namespace engine::builder
