#include "codegen/plan_writer.h"

#include <zlib.h>

#include <map>
#include <optional>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/plan_generated.h"
#include "common/version.h"
#include "ops/plugin_ops.h"

namespace engine::codegen {
namespace {

namespace fb = ::engine::plan;

constexpr uint64_t kMaxPlanBytes = (uint64_t{1} << 31) - (uint64_t{1} << 20);

// Pads `b` so that the byte vector of `bytes` bytes created next starts at a
// multiple of `alignment`. FlatBufferBuilder::ForceVectorAlignment does the
// same but asserts alignment <= FLATBUFFERS_MAX_ALIGNMENT (32 in Debian's
// FlatBuffers 2.0), so with assertions on it aborted every build.
void AlignNextVector(flatbuffers::FlatBufferBuilder& b, size_t bytes, size_t alignment) {
  if (bytes > 0) b.PreAlign(bytes, alignment);
}

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

flatbuffers::Offset<fb::LayerMapping> WriteMapping(flatbuffers::FlatBufferBuilder& b,
                                                  const LayerMapping& m, uint32_t first,
                                                  uint32_t count, int32_t group_layer) {
  std::vector<flatbuffers::Offset<fb::TacticCost>> rejected;
  for (const TacticCost& t : m.rejected) {
    rejected.push_back(fb::CreateTacticCost(b, b.CreateString(t.tactic), b.CreateString(t.tiling),
                                            t.cycles, t.energy_pj, t.objective));
  }
  return fb::CreateLayerMapping(
      b, static_cast<uint8_t>(m.kind), m.on_array, b.CreateString(m.chosen.tactic),
      b.CreateString(m.chosen.tiling), static_cast<uint8_t>(m.precision),
      static_cast<uint8_t>(m.array.dataflow), static_cast<uint8_t>(m.array.order), m.array.gt,
      m.array.kt, m.array.mt, m.array.pt, m.vector.tile_elements, m.macs, m.vector_ops,
      m.min_dram_bytes, m.estimated_cycles, first, count, b.CreateVector(rejected), group_layer);
}

}  // namespace

absl::StatusOr<std::string> SerializePlan(const ir::Graph& graph, const DeviceCode& code,
                                          const DynamicShapes* dynamic, bool program_only) {
  uint64_t weight_bytes = 0;
  for (const ir::Value* v : graph.values()) {
    if (v->is_constant() && !program_only) weight_bytes += v->constant->byte_size();
  }
  uint64_t bucket_bytes = 0;
  if (dynamic != nullptr) {
    for (const ShapeBucketPlan& bp : dynamic->buckets) bucket_bytes += bp.plan.size() + 1024;
  }
  weight_bytes += bucket_bytes;
  if (weight_bytes > kMaxPlanBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the model's constants take ", weight_bytes, " bytes; a plan holds at most ", kMaxPlanBytes));
  }

  flatbuffers::FlatBufferBuilder b(1024 + weight_bytes * 11 / 10 +
                                   code.program.size() * sizeof(fb::Instruction));
  // Tensors in the order of AssignTensorIndices, which the program's tensor
  // fields refer to.
  std::vector<const ir::Value*> by_index(code.tensors.size(), nullptr);
  for (const auto& [v, i] : code.tensors) by_index[static_cast<size_t>(i)] = v;
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  for (const ir::Value* v : by_index) {
    auto name = b.CreateString(v->name);
    auto shape = b.CreateVector(v->shape);
    flatbuffers::Offset<flatbuffers::Vector<uint8_t>> data = 0;
    if (v->is_constant() && !program_only) {
      // Constant payloads are 64-byte aligned inside the plan so a future
      // zero-copy loader can use them in place.
      AlignNextVector(b, v->constant->byte_size(), 64);
      data = b.CreateVector(static_cast<const uint8_t*>(v->constant->data()),
                            v->constant->byte_size());
    }
    auto placed = code.arena.values.find(v);
    const int64_t offset = placed == code.arena.values.end() ? -1 : placed->second.offset;
    tensors.push_back(fb::CreateTensor(b, name, static_cast<fb::DataType>(v->dtype), shape, data,
                                       v->is_constant(), offset));
  }
  auto tensor_index = [&](const ir::Value* v) -> int32_t {
    return v == nullptr ? -1 : code.tensors.at(v);
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
    const size_t li = layers.size();
    auto mapping = WriteMapping(b, code.mappings.at(li), code.first_instruction.at(li),
                                code.num_instructions.at(li),
                                li < code.group_layer.size() ? code.group_layer[li] : -1);
    layers.push_back(fb::CreateLayer(b, b.CreateString(node->name), b.CreateString(node->op_type),
                                     b.CreateVector(onnx_nodes), b.CreateVector(ins),
                                     b.CreateVector(outs), b.CreateVector(attrs), mapping));
  }
  for (const ir::Value* v : graph.outputs()) outputs.push_back(tensor_index(v));

  std::vector<fb::Instruction> program;
  program.reserve(code.program.size());
  for (const hw::Instruction& in : code.program) {
    program.emplace_back(static_cast<uint8_t>(in.opcode), static_cast<uint8_t>(in.dataflow),
                         static_cast<uint8_t>(in.precision), in.flags, in.layer, in.deps[0],
                         in.deps[1], in.deps[2], in.tensor, in.dram_offset, in.bytes,
                         in.aux_bytes, in.addr, in.weight_addr, in.acc_addr, in.k, in.m, in.p,
                         in.repeat, in.ops);
  }
  auto program_offset = b.CreateVectorOfStructs(program);
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::OptimizationProfile>>> profiles = 0;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::ShapeBucket>>> buckets = 0;
  if (dynamic != nullptr) {
    std::vector<flatbuffers::Offset<fb::OptimizationProfile>> ps;
    for (const auto& profile : dynamic->profiles) {
      std::vector<flatbuffers::Offset<fb::ProfileInput>> ins;
      for (const ProfileRange& r : profile) {
        ins.push_back(fb::CreateProfileInput(b, b.CreateString(r.name), b.CreateVector(r.min),
                                             b.CreateVector(r.opt), b.CreateVector(r.max)));
      }
      ps.push_back(fb::CreateOptimizationProfile(b, b.CreateVector(ins)));
    }
    profiles = b.CreateVector(ps);
    std::vector<flatbuffers::Offset<fb::ShapeBucket>> bs;
    for (const ShapeBucketPlan& bp : dynamic->buckets) {
      std::vector<flatbuffers::Offset<fb::BucketShape>> shapes;
      for (const auto& [name, dims] : bp.shapes) {
        shapes.push_back(fb::CreateBucketShape(b, b.CreateString(name), b.CreateVector(dims)));
      }
      auto shapes_offset = b.CreateVector(shapes);
      AlignNextVector(b, bp.plan.size(), 64);
      auto nested = b.CreateVector(reinterpret_cast<const uint8_t*>(bp.plan.data()), bp.plan.size());
      bs.push_back(fb::CreateShapeBucket(b, bp.profile, shapes_offset, nested));
    }
    buckets = b.CreateVector(bs);
  }
  // Plugins whose ops the layers use (name, version, layer types), by name.
  std::map<std::string, std::pair<std::string, std::set<std::string>>> used_plugins;
  for (const auto& node : graph.nodes()) {
    if (std::optional<PluginInfo> p = ops::PluginOfType(node->op_type)) {
      auto& entry = used_plugins[p->name];
      entry.first = p->version;
      entry.second.insert(node->op_type);
    }
  }
  std::vector<flatbuffers::Offset<fb::PluginRef>> plugin_refs;
  for (const auto& [name, entry] : used_plugins) {
    std::vector<std::string> types(entry.second.begin(), entry.second.end());
    plugin_refs.push_back(fb::CreatePluginRef(b, b.CreateString(name),
                                              b.CreateString(entry.first),
                                              b.CreateVectorOfStrings(types)));
  }
  auto plugins_offset = plugin_refs.empty() ? 0 : b.CreateVector(plugin_refs);
  auto network = fb::CreateNetwork(b, b.CreateString(graph.name), b.CreateString(graph.producer),
                                   b.CreateVector(tensors), b.CreateVector(inputs),
                                   b.CreateVector(outputs), b.CreateVector(layers),
                                   b.CreateString(code.hardware_json),
                                   b.CreateString(ObjectiveName(code.objective)), program_offset,
                                   fb::CreateActivationArena(
                                       b, code.arena.plan.arena_bytes, code.arena.alignment,
                                       code.arena.plan.no_reuse_bytes,
                                       code.arena.plan.lower_bound_bytes,
                                       b.CreateString(code.arena.plan.strategy)),
                                   profiles, buckets, program_only, plugins_offset);
  b.Finish(network);
  if (b.GetSize() > kMaxPlanBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the plan would take ", b.GetSize(), " bytes; at most ", kMaxPlanBytes));
  }

  // Outer header around the payload.
  flatbuffers::FlatBufferBuilder outer(b.GetSize() + 1024);
  uint32_t crc = static_cast<uint32_t>(crc32(0L, b.GetBufferPointer(), b.GetSize()));
  AlignNextVector(outer, b.GetSize(), 64);
  auto payload = outer.CreateVector(b.GetBufferPointer(), b.GetSize());
  const PlanProvenance& pv = code.provenance;
  auto build_info = fb::CreateBuildInfo(
      outer, outer.CreateString(pv.source_model), outer.CreateString(pv.source_hash),
      outer.CreateString(pv.precision), outer.CreateString(pv.calibrator),
      outer.CreateString(pv.calibration_data), pv.calibration_batches,
      outer.CreateString(pv.preprocess), pv.opt_level);
  auto plan = fb::CreatePlan(outer, kPlanSchemaVersion, outer.CreateString(kEngineVersion), crc,
                             payload, build_info);
  outer.Finish(plan, fb::PlanIdentifier());
  return std::string(reinterpret_cast<const char*>(outer.GetBufferPointer()), outer.GetSize());
}

}  // namespace engine::codegen
