#include "test_models.h"

#include <random>

#include "absl/strings/str_cat.h"

namespace engine::testing {

ModelBuilder::ModelBuilder(int opset, const std::string& name) {
  model_.set_ir_version(7);
  model_.set_producer_name("engine-tests");
  auto* op = model_.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  model_.mutable_graph()->set_name(name);
}

namespace {

// Fills a ValueInfoProto with a tensor type; a dimension < 0 becomes "N".
void SetTensorType(onnx::ValueInfoProto* vi, const std::string& name,
                   const std::vector<int64_t>& dims, int elem_type) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d < 0) {
      shape->add_dim()->set_dim_param("N");
    } else {
      shape->add_dim()->set_dim_value(d);
    }
  }
}

}  // namespace

ModelBuilder& ModelBuilder::Input(const std::string& name, const std::vector<int64_t>& dims,
                                  int elem_type) {
  SetTensorType(model_.mutable_graph()->add_input(), name, dims, elem_type);
  return *this;
}

ModelBuilder& ModelBuilder::Output(const std::string& name, const std::vector<int64_t>& dims) {
  SetTensorType(model_.mutable_graph()->add_output(), name, dims, onnx::TensorProto::FLOAT);
  return *this;
}

ModelBuilder& ModelBuilder::Initializer(const std::string& name, const Tensor& value) {
  auto* t = model_.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(static_cast<int>(value.dtype()));
  for (int64_t d : value.shape()) t->add_dims(d);
  t->set_raw_data(value.data(), value.byte_size());
  return *this;
}

onnx::NodeProto& ModelBuilder::Node(const std::string& op, const std::vector<std::string>& inputs,
                                    const std::vector<std::string>& outputs,
                                    const std::string& name) {
  auto* n = model_.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name.empty() ? absl::StrCat(op, "_", model_.graph().node_size() - 1) : name);
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
  return *n;
}

void ModelBuilder::SetInts(onnx::NodeProto& n, const std::string& name,
                           const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void ModelBuilder::SetInt(onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void ModelBuilder::SetFloat(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

std::string ModelBuilder::Serialize() const {
  std::string s;
  model_.SerializeToString(&s);
  return s;
}

namespace {

Tensor RandomTensor(Dims shape, uint32_t seed) {
  Tensor t(DataType::kFloat32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data_as<float>()[i] = d(rng);
  return t;
}

}  // namespace

std::string SmallConvModel(int64_t batch) {
  ModelBuilder b;
  b.Input("x", {batch, 2, 4, 4});
  b.Initializer("w", RandomTensor({4, 2, 3, 3}, 1));
  b.Initializer("bias", RandomTensor({4}, 2));
  b.Initializer("fc_w", RandomTensor({3, 64}, 3));
  b.Initializer("fc_b", RandomTensor({3}, 4));
  Tensor shape(DataType::kInt64, {2});
  shape.data_as<int64_t>()[0] = batch < 0 ? 1 : batch;
  shape.data_as<int64_t>()[1] = 64;
  if (batch < 0) shape.data_as<int64_t>()[0] = -1;
  b.Initializer("shape", shape);
  auto& conv = b.Node("Conv", {"x", "w", "bias"}, {"c"}, "conv1");
  ModelBuilder::SetInts(conv, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c"}, {"r"}, "relu1");
  b.Node("Reshape", {"r", "shape"}, {"f"}, "flatten");
  auto& gemm = b.Node("Gemm", {"f", "fc_w", "fc_b"}, {"y"}, "fc");
  ModelBuilder::SetInt(gemm, "transB", 1);
  b.Output("y", {batch, 3});
  return b.Serialize();
}

}  // namespace engine::testing
