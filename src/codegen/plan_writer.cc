#include "codegen/plan_writer.h"

#include <zlib.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/plan_generated.h"
#include "common/version.h"

namespace engine::codegen {
namespace {

namespace fb = ::engine::plan;

constexpr uint64_t kMaxPlanBytes = (uint64_t{1} << 31) - (uint64_t{1} << 20);

flatbuffers::Offset<fb::Attribute> WriteAttribute(flatbuffers::FlatBufferBuilder& b,
                                                  const std::string& name, const AttrValue& v) {
  auto n = b.CreateString(name);
  if (const auto* i = std::get_if<int64_t>(&v)) {
    return fb::CreateAttribute(b, n, fb::AttrKind::INT, *i);
  }
  if (const auto* f = std::get_if<float>(&v)) {
    return fb::CreateAttribute(b, n, fb::AttrKind::FLOAT, 0, *f);
  }
  if (const auto* s = std::get_if<std::string>(&v)) {
    auto so = b.CreateString(*s);
    return fb::CreateAttribute(b, n, fb::AttrKind::STRING, 0, 0, so);
  }
  if (const auto* is = std::get_if<std::vector<int64_t>>(&v)) {
    auto iv = b.CreateVector(*is);
    return fb::CreateAttribute(b, n, fb::AttrKind::INTS, 0, 0, 0, iv);
  }
  const auto& fs = std::get<std::vector<float>>(v);
  auto fv = b.CreateVector(fs);
  return fb::CreateAttribute(b, n, fb::AttrKind::FLOATS, 0, 0, 0, 0, fv);
}

}  // namespace

absl::StatusOr<std::string> SerializePlan(const ir::Graph& graph) {
  uint64_t weight_bytes = 0;
  for (const ir::Value* v : graph.values()) {
    if (v->is_constant()) weight_bytes += v->constant->byte_size();
  }
  if (weight_bytes > kMaxPlanBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the model's constants take ", weight_bytes, " bytes; a plan holds at most ", kMaxPlanBytes));
  }

  flatbuffers::FlatBufferBuilder b(1024 + weight_bytes * 11 / 10);
  absl::flat_hash_map<const ir::Value*, int32_t> index;
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  auto tensor_index = [&](const ir::Value* v) -> int32_t {
    if (v == nullptr) return -1;
    auto it = index.find(v);
    if (it != index.end()) return it->second;
    auto name = b.CreateString(v->name);
    auto shape = b.CreateVector(v->shape);
    flatbuffers::Offset<flatbuffers::Vector<uint8_t>> data = 0;
    if (v->is_constant()) {
      // Constant payloads are 64-byte aligned inside the plan so a future
      // zero-copy loader can use them in place.
      b.ForceVectorAlignment(v->constant->byte_size(), sizeof(uint8_t), 64);
      data = b.CreateVector(static_cast<const uint8_t*>(v->constant->data()),
                            v->constant->byte_size());
    }
    tensors.push_back(fb::CreateTensor(b, name, static_cast<fb::DataType>(v->dtype), shape, data,
                                       v->is_constant()));
    int32_t i = static_cast<int32_t>(tensors.size() - 1);
    index[v] = i;
    return i;
  };

  std::vector<int32_t> inputs, outputs;
  for (const ir::Value* v : graph.inputs()) inputs.push_back(tensor_index(v));
  std::vector<flatbuffers::Offset<fb::Layer>> layers;
  for (const auto& node : graph.nodes()) {
    std::vector<int32_t> ins, outs;
    for (const ir::Value* v : node->inputs) ins.push_back(tensor_index(v));
    for (const ir::Value* v : node->outputs) outs.push_back(tensor_index(v));
    std::vector<flatbuffers::Offset<fb::Attribute>> attrs;
    for (const auto& [name, value] : node->attrs.values()) attrs.push_back(WriteAttribute(b, name, value));
    std::vector<flatbuffers::Offset<flatbuffers::String>> onnx_nodes;
    for (const std::string& n : node->onnx_nodes) onnx_nodes.push_back(b.CreateString(n));
    layers.push_back(fb::CreateLayer(b, b.CreateString(node->name), b.CreateString(node->op_type),
                                     b.CreateVector(onnx_nodes), b.CreateVector(ins),
                                     b.CreateVector(outs), b.CreateVector(attrs)));
  }
  for (const ir::Value* v : graph.outputs()) outputs.push_back(tensor_index(v));

  auto network = fb::CreateNetwork(b, b.CreateString(graph.name), b.CreateString(graph.producer),
                                   b.CreateVector(tensors), b.CreateVector(inputs),
                                   b.CreateVector(outputs), b.CreateVector(layers));
  b.Finish(network);
  if (b.GetSize() > kMaxPlanBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the plan would take ", b.GetSize(), " bytes; at most ", kMaxPlanBytes));
  }

  // Outer header around the payload.
  flatbuffers::FlatBufferBuilder outer(b.GetSize() + 1024);
  uint32_t crc = static_cast<uint32_t>(crc32(0L, b.GetBufferPointer(), b.GetSize()));
  outer.ForceVectorAlignment(b.GetSize(), sizeof(uint8_t), 64);
  auto payload = outer.CreateVector(b.GetBufferPointer(), b.GetSize());
  auto plan = fb::CreatePlan(outer, kPlanSchemaVersion, outer.CreateString(kEngineVersion), crc,
                             payload);
  outer.Finish(plan, fb::PlanIdentifier());
  return std::string(reinterpret_cast<const char*>(outer.GetBufferPointer()), outer.GetSize());
}

}  // namespace engine::codegen
