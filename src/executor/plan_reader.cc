#include "executor/plan_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "ops/op_registry.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/plan_generated.h"
#include "common/status_macros.h"
#include "common/version.h"
#include "executor/device_model.h"
#include "hw/tiling.h"

namespace engine::exec {
namespace {

namespace fb = ::engine::plan;

bool ValidDataType(fb::DataType t) {
  switch (t) {
    case fb::DataType::FLOAT32:
    case fb::DataType::UINT8:
    case fb::DataType::INT8:
    case fb::DataType::INT32:
    case fb::DataType::INT64:
    case fb::DataType::BOOL:
    case fb::DataType::FLOAT16:
      return true;
    default:
      return false;
  }
}

absl::Status Corrupt(const std::string& what) {
  return absl::DataLossError(absl::StrCat("plan is corrupt: ", what));
}

// FlatBuffers' verifier checks a vector's 4-byte length field but not that
// 8-byte elements are 8-byte aligned, and reading them misaligned is
// undefined: the reader checks the vectors of 8-byte elements it reads.
template <typename Vector>
bool ElementsAligned(const Vector* v) {
  return v == nullptr || v->size() == 0 ||
         reinterpret_cast<uintptr_t>(v->Data()) % alignof(uint64_t) == 0;
}

absl::StatusOr<Attributes> ReadAttributes(const fb::Layer& layer) {
  Attributes attrs;
  if (layer.attributes() == nullptr) return attrs;
  for (const fb::Attribute* a : *layer.attributes()) {
    const std::string name = a->name()->str();
    switch (a->kind()) {
      case fb::AttrKind::INT: attrs.Set(name, static_cast<int64_t>(a->i())); break;
      case fb::AttrKind::FLOAT: attrs.Set(name, a->f()); break;
      case fb::AttrKind::STRING: attrs.Set(name, a->s() ? a->s()->str() : std::string()); break;
      case fb::AttrKind::INTS:
        if (!ElementsAligned(a->ints())) {
          return Corrupt(absl::StrCat("layer '", layer.name()->str(), "' attribute '", name,
                                      "' is misaligned"));
        }
        attrs.Set(name, a->ints() ? std::vector<int64_t>(a->ints()->begin(), a->ints()->end())
                                  : std::vector<int64_t>{});
        break;
      case fb::AttrKind::FLOATS:
        attrs.Set(name, a->floats()
                            ? std::vector<float>(a->floats()->begin(), a->floats()->end())
                            : std::vector<float>{});
        break;
      default:
        return Corrupt(absl::StrCat("layer '", layer.name()->str(), "' attribute '", name,
                                    "' has unknown kind"));
    }
  }
  return attrs;
}

// Reads and checks the activation arena: every non-constant tensor inside the
// arena at an aligned offset, and no two tensors whose lifetimes overlap
// sharing a byte (a corrupt plan would otherwise compute wrong results).
absl::Status ReadArena(const fb::Network& net, Engine::Impl& impl) {
  const fb::ActivationArena* a = net.arena();
  if (a == nullptr) return Corrupt("no activation arena");
  MemoryPlanInfo& m = impl.memory;
  m.arena_bytes = a->bytes();
  m.alignment = a->alignment();
  m.no_reuse_bytes = a->no_reuse_bytes();
  m.lower_bound_bytes = a->lower_bound_bytes();
  m.strategy = a->strategy() ? a->strategy()->str() : "";
  if (m.arena_bytes < 0 || m.arena_bytes > (int64_t{1} << 40) || m.alignment < 8 ||
      (m.alignment & (m.alignment - 1)) != 0) {
    return Corrupt("invalid activation arena header");
  }
  // Lifetimes from the layer list, as the builder computed them.
  const int n = static_cast<int>(impl.tensors.size());
  std::vector<int> first(n, -1), last(n, -1);
  for (int32_t idx : impl.input_index) first[idx] = last[idx] = 0;
  for (size_t l = 0; l < impl.exec.size(); ++l) {
    const int step = static_cast<int>(l);
    for (int idx : impl.exec[l].inputs) {
      if (idx >= 0) last[idx] = std::max(last[idx], step);
    }
    for (int idx : impl.exec[l].outputs) {
      if (first[idx] < 0) first[idx] = step;
      last[idx] = std::max(last[idx], step);
    }
  }
  for (int32_t idx : impl.input_index) last[idx] = static_cast<int>(impl.exec.size());
  for (int32_t idx : impl.output_index) last[idx] = static_cast<int>(impl.exec.size());
  std::vector<int> placed;
  for (int i = 0; i < n; ++i) {
    const auto& t = impl.tensors[i];
    if (t.constant >= 0) continue;
    if (t.arena_offset < 0 || t.arena_offset % m.alignment != 0 ||
        t.arena_offset + static_cast<int64_t>(t.bytes) > m.arena_bytes) {
      return Corrupt(absl::StrCat("tensor '", t.name, "' has arena offset ", t.arena_offset,
                                  " outside the ", m.arena_bytes, "-byte arena or unaligned"));
    }
    if (first[i] < 0) first[i] = last[i] = 0;
    placed.push_back(i);
  }
  std::sort(placed.begin(), placed.end(), [&](int a, int b) {
    return impl.tensors[a].arena_offset < impl.tensors[b].arena_offset;
  });
  for (size_t x = 0; x < placed.size(); ++x) {
    const auto& tx = impl.tensors[placed[x]];
    const int64_t end_x = tx.arena_offset + static_cast<int64_t>(tx.bytes);
    for (size_t y = x + 1; y < placed.size(); ++y) {
      const auto& ty = impl.tensors[placed[y]];
      if (ty.arena_offset >= end_x) break;  // sorted by offset: no more byte overlap
      if (ty.bytes == 0 || tx.bytes == 0) continue;
      if (first[placed[x]] <= last[placed[y]] && first[placed[y]] <= last[placed[x]]) {
        return Corrupt(absl::StrCat("tensors '", tx.name, "' and '", ty.name,
                                    "' are live together but share arena bytes"));
      }
    }
  }
  for (int i : placed) {
    const auto& t = impl.tensors[i];
    m.tensors.push_back({t.name, t.arena_offset, static_cast<int64_t>(t.bytes), first[i], last[i]});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Engine::Impl>> ReadPlan(std::string_view plan) {
  // FlatBuffers reads scalars in place, so the plan and its payload must be
  // aligned for their widest fields (8 bytes): the builder aligns the payload
  // within the plan, but the caller's bytes (or a crafted plan) may put either
  // anywhere; such bytes are read from an aligned copy.
  std::vector<uint64_t> aligned_plan, aligned_payload;
  if (reinterpret_cast<uintptr_t>(plan.data()) % alignof(uint64_t) != 0) {
    aligned_plan.resize(plan.size() / sizeof(uint64_t) + 1);
    std::memcpy(aligned_plan.data(), plan.data(), plan.size());
    plan = std::string_view(reinterpret_cast<const char*>(aligned_plan.data()), plan.size());
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(plan.data());
  if (plan.size() < 8 || !flatbuffers::BufferHasIdentifier(bytes, fb::PlanIdentifier())) {
    return absl::InvalidArgumentError(
        "not an engine plan (the file identifier 'ENGP' is missing; was the file written by "
        "--saveEngine?)");
  }
  {
    flatbuffers::Verifier verifier(bytes, plan.size(), /*max_depth=*/64,
                                   /*max_tables=*/1u << 30);
    // Verify the outer table only; the payload is checked after its CRC and
    // version, so that a newer payload layout is reported as a version error.
    const fb::Plan* outer = flatbuffers::GetRoot<fb::Plan>(bytes);
    const auto* t = reinterpret_cast<const flatbuffers::Table*>(outer);
    if (!t->VerifyTableStart(verifier) ||
        !t->VerifyField<uint32_t>(verifier, fb::Plan::VT_SCHEMA_VERSION, 4) ||
        !t->VerifyOffset(verifier, fb::Plan::VT_ENGINE_VERSION) ||
        !verifier.VerifyString(outer->engine_version()) ||
        !t->VerifyField<uint32_t>(verifier, fb::Plan::VT_PAYLOAD_CRC32, 4) ||
        !t->VerifyOffset(verifier, fb::Plan::VT_PAYLOAD) ||
        !verifier.VerifyVector(outer->payload())) {
      return absl::DataLossError(absl::StrCat(
          "plan is truncated or corrupt: its header does not verify (", plan.size(), " bytes)"));
    }
  }
  const fb::Plan* outer = flatbuffers::GetRoot<fb::Plan>(bytes);
  const uint32_t version = outer->schema_version();
  const std::string built_by = outer->engine_version() ? outer->engine_version()->str() : "?";
  if (version < kMinPlanSchemaVersion || version > kPlanSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "plan schema version ", version, " (built by engine ", built_by,
        ") is not supported: this runtime (engine ", kEngineVersion, ") accepts versions ",
        kMinPlanSchemaVersion, "..", kPlanSchemaVersion, "; rebuild the engine"));
  }
  if (outer->payload() == nullptr || outer->payload()->size() == 0) {
    return Corrupt("empty payload");
  }
  const uint8_t* payload = outer->payload()->data();
  const size_t payload_size = outer->payload()->size();
  uint32_t crc = static_cast<uint32_t>(crc32(0L, payload, static_cast<uInt>(payload_size)));
  if (crc != outer->payload_crc32()) {
    return absl::DataLossError(absl::StrCat("plan is corrupt: payload checksum mismatch (stored ",
                                            outer->payload_crc32(), ", computed ", crc, ")"));
  }
  if (reinterpret_cast<uintptr_t>(payload) % alignof(uint64_t) != 0) {
    aligned_payload.resize(payload_size / sizeof(uint64_t) + 1);
    std::memcpy(aligned_payload.data(), payload, payload_size);
    payload = reinterpret_cast<const uint8_t*>(aligned_payload.data());
  }
  flatbuffers::Verifier payload_verifier(payload, payload_size, 64, 1u << 30);
  if (!payload_verifier.VerifyBuffer<fb::Network>(nullptr)) {
    return Corrupt("payload does not verify");
  }
  const fb::Network* net = flatbuffers::GetRoot<fb::Network>(payload);
  if (net->tensors() == nullptr || net->layers() == nullptr || net->inputs() == nullptr ||
      net->outputs() == nullptr) {
    return Corrupt("missing tensors, layers, inputs or outputs");
  }

  auto impl = std::make_shared<Engine::Impl>();
  impl->info.schema_version = version;
  impl->info.engine_version = built_by;
  impl->info.model_name = net->name() ? net->name()->str() : "";
  impl->info.plan_bytes = plan.size();

  const int num_tensors = static_cast<int>(net->tensors()->size());
  for (int i = 0; i < num_tensors; ++i) {
    const fb::Tensor* t = net->tensors()->Get(i);
    Engine::Impl::TensorSlot slot;
    slot.name = t->name()->str();
    if (!ValidDataType(t->dtype())) {
      return Corrupt(absl::StrCat("tensor '", slot.name, "' has unknown dtype"));
    }
    slot.dtype = static_cast<DataType>(t->dtype());
    if (!ElementsAligned(t->shape())) {
      return Corrupt(absl::StrCat("tensor '", slot.name, "' has a misaligned shape"));
    }
    if (t->shape() != nullptr) {
      for (int64_t d : *t->shape()) {
        if (d < 0 || d > (int64_t{1} << 40)) {
          return Corrupt(absl::StrCat("tensor '", slot.name, "' has dimension ", d));
        }
        slot.shape.push_back(d);
      }
    }
    // Overflow-safe element count.
    __int128 bytes128 = DataTypeSize(slot.dtype);
    for (int64_t d : slot.shape) {
      bytes128 *= d;
      if (bytes128 > (__int128{1} << 40)) return Corrupt(absl::StrCat("tensor '", slot.name, "' is too large"));
    }
    slot.bytes = static_cast<size_t>(bytes128);
    slot.arena_offset = t->arena_offset();
    if (t->is_constant()) {
      size_t have = t->data() ? t->data()->size() : 0;
      if (have != slot.bytes) {
        return Corrupt(absl::StrCat("constant '", slot.name, "' holds ", have, " bytes, its shape ",
                                    DimsToString(slot.shape), " needs ", slot.bytes));
      }
      impl->constants.emplace_back(
          slot.dtype, slot.shape,
          std::span<const std::byte>(
              have > 0 ? reinterpret_cast<const std::byte*>(t->data()->data()) : nullptr, have));
      impl->info.weight_bytes += have;
      slot.constant = static_cast<int>(impl->constants.size() - 1);
    }
    impl->tensors.push_back(std::move(slot));
  }
  auto check_index = [&](int idx, const std::string& what) -> absl::Status {
    if (idx < 0 || idx >= num_tensors) {
      return Corrupt(absl::StrCat(what, " refers to tensor ", idx, " of ", num_tensors));
    }
    return absl::OkStatus();
  };
  auto desc = [&](int idx) {
    const auto& s = impl->tensors[idx];
    return TensorDesc{s.name, s.dtype, s.shape};
  };
  std::vector<bool> available(num_tensors, false);
  for (int i = 0; i < num_tensors; ++i) available[i] = impl->tensors[i].constant >= 0;
  for (int32_t idx : *net->inputs()) {
    ENGINE_RETURN_IF_ERROR(check_index(idx, "engine input"));
    impl->input_index.push_back(idx);
    impl->inputs.push_back(desc(idx));
    available[idx] = true;
  }

  const auto& registry = ops::OpRegistry::Builtin();
  std::vector<LayerDeviceProfile> device_layers;
  std::vector<int64_t> min_dram_bytes;
  if (!ElementsAligned(net->program())) return Corrupt("the program is misaligned");
  const uint32_t program_size = net->program() ? net->program()->size() : 0;
  for (const fb::Layer* layer : *net->layers()) {
    const std::string name = layer->name()->str();
    const std::string type = layer->type()->str();
    const std::string where = absl::StrCat("layer '", name, "' (", type, ")");
    LayerInfo info;
    info.name = name;
    info.type = type;
    if (layer->onnx_nodes()) {
      for (const auto* s : *layer->onnx_nodes()) info.onnx_nodes.push_back(s->str());
    }
    Engine::Impl::LayerExec ex;
    std::vector<kernels::TensorInfo> in_info, out_info;
    if (layer->inputs()) {
      for (int32_t idx : *layer->inputs()) {
        kernels::TensorInfo ti;
        if (idx == -1) {
          ti.present = false;
        } else {
          ENGINE_RETURN_IF_ERROR(check_index(idx, where));
          if (!available[idx]) {
            return Corrupt(absl::StrCat(where, " reads tensor '", impl->tensors[idx].name,
                                        "' before it is produced"));
          }
          const auto& slot = impl->tensors[idx];
          ti.dtype = slot.dtype;
          ti.shape = slot.shape;
          ti.constant = slot.constant >= 0 ? &impl->constants[slot.constant] : nullptr;
          info.inputs.push_back(slot.name);
        }
        ex.inputs.push_back(idx);
        in_info.push_back(std::move(ti));
      }
    }
    if (layer->outputs()) {
      for (int32_t idx : *layer->outputs()) {
        ENGINE_RETURN_IF_ERROR(check_index(idx, where));
        if (available[idx]) {
          return Corrupt(absl::StrCat(where, " writes tensor '", impl->tensors[idx].name,
                                      "', which is already defined"));
        }
        available[idx] = true;
        const auto& slot = impl->tensors[idx];
        out_info.push_back(kernels::TensorInfo{slot.dtype, slot.shape, nullptr, true});
        ex.outputs.push_back(idx);
        info.outputs.push_back(slot.name);
      }
    }
    const kernels::KernelDef* def = registry.FindKernel(type);
    if (def == nullptr) {
      return absl::UnimplementedError(absl::StrCat(
          where, ": layer type unknown to this runtime (engine ", kEngineVersion, ")"));
    }
    ENGINE_ASSIGN_OR_RETURN(Attributes attrs, ReadAttributes(*layer));
    auto inferred = def->infer(attrs, in_info);
    if (!inferred.ok()) return Corrupt(absl::StrCat(where, ": ", inferred.status().message()));
    if (inferred->size() != out_info.size()) {
      return Corrupt(absl::StrCat(where, ": has ", out_info.size(), " outputs, expected ",
                                  inferred->size()));
    }
    for (size_t i = 0; i < out_info.size(); ++i) {
      if ((*inferred)[i].dtype != out_info[i].dtype || (*inferred)[i].shape != out_info[i].shape) {
        return Corrupt(absl::StrCat(where, ": output ", i, " is stored as ",
                                    DataTypeName(out_info[i].dtype), " ",
                                    DimsToString(out_info[i].shape), " but the layer computes ",
                                    DataTypeName((*inferred)[i].dtype), " ",
                                    DimsToString((*inferred)[i].shape)));
      }
    }
    ex.kernel = def->create();
    absl::Status prepared = ex.kernel->Prepare(attrs, in_info, out_info);
    if (!prepared.ok()) return Corrupt(absl::StrCat(where, ": ", prepared.message()));
    impl->exec.push_back(std::move(ex));

    // The layer's accelerator mapping.
    const fb::LayerMapping* mapping = layer->mapping();
    if (mapping == nullptr) return Corrupt(absl::StrCat(where, ": no accelerator mapping"));
    if (mapping->kind() > static_cast<uint8_t>(hw::LayerKind::kDma) ||
        mapping->dataflow() > static_cast<uint8_t>(Dataflow::kInputStationary) ||
        mapping->precision() > static_cast<uint8_t>(Precision::kFp32) ||
        uint64_t{mapping->first_instruction()} + mapping->num_instructions() > program_size) {
      return Corrupt(absl::StrCat(where, ": invalid accelerator mapping"));
    }
    LayerDeviceProfile d;
    d.name = name;
    d.type = type;
    d.unit = hw::LayerKindName(static_cast<hw::LayerKind>(mapping->kind()));
    if (mapping->kind() == static_cast<uint8_t>(hw::LayerKind::kArray) && !mapping->on_array()) {
      d.unit = "vector";  // e.g. a depthwise convolution on the vector unit
    }
    d.tactic = mapping->tactic() ? mapping->tactic()->str() : "";
    d.tiling = mapping->tiling() ? mapping->tiling()->str() : "";
    if (mapping->on_array()) d.dataflow = DataflowName(static_cast<Dataflow>(mapping->dataflow()));
    d.precision = PrecisionName(static_cast<Precision>(mapping->precision()));
    d.macs = mapping->macs();
    d.vector_ops = mapping->vector_ops();
    d.estimated_cycles = mapping->estimated_cycles();
    if (mapping->rejected()) {
      for (const fb::TacticCost* t : *mapping->rejected()) {
        d.rejected.push_back({t->tactic() ? t->tactic()->str() : "",
                              t->tiling() ? t->tiling()->str() : "", t->cycles(), t->energy_pj()});
      }
    }
    device_layers.push_back(std::move(d));
    min_dram_bytes.push_back(mapping->min_dram_bytes());
    impl->layers.push_back(std::move(info));
  }
  for (int32_t idx : *net->outputs()) {
    ENGINE_RETURN_IF_ERROR(check_index(idx, "engine output"));
    if (!available[idx]) {
      return Corrupt(absl::StrCat("engine output '", impl->tensors[idx].name, "' is never produced"));
    }
    impl->output_index.push_back(idx);
    impl->outputs.push_back(desc(idx));
  }

  ENGINE_RETURN_IF_ERROR(ReadArena(*net, *impl));

  // The accelerator: its description, the program, and the simulated profile.
  if (net->hardware_json() == nullptr) return Corrupt("no hardware description");
  impl->hardware_json = net->hardware_json()->str();
  auto hardware = ParseHardwareJson(impl->hardware_json, "plan hardware description");
  if (!hardware.ok()) return Corrupt(std::string(hardware.status().message()));
  impl->hardware = *hardware;
  impl->info.objective = net->objective() ? net->objective()->str() : "";
  impl->info.instructions = program_size;
  impl->program.reserve(program_size);
  const uint32_t num_layers = static_cast<uint32_t>(impl->layers.size());
  for (uint32_t i = 0; i < program_size; ++i) {
    const fb::Instruction* f = net->program()->Get(i);
    hw::Instruction in;
    if (f->opcode() > static_cast<uint8_t>(hw::Opcode::kSync) ||
        f->dataflow() > static_cast<uint8_t>(Dataflow::kInputStationary) ||
        f->precision() > static_cast<uint8_t>(Precision::kFp32) || f->layer() >= num_layers ||
        f->tensor() < -1 || f->tensor() >= num_tensors) {
      return Corrupt(absl::StrCat("program instruction #", i, " is invalid"));
    }
    in.opcode = static_cast<hw::Opcode>(f->opcode());
    in.dataflow = static_cast<Dataflow>(f->dataflow());
    in.precision = static_cast<Precision>(f->precision());
    in.flags = f->flags();
    in.layer = f->layer();
    in.deps[0] = f->dep0();
    in.deps[1] = f->dep1();
    in.deps[2] = f->dep2();
    in.tensor = f->tensor();
    in.dram_offset = f->dram_offset();
    in.bytes = f->bytes();
    in.aux_bytes = f->aux_bytes();
    in.addr = f->addr();
    in.weight_addr = f->weight_addr();
    in.acc_addr = f->acc_addr();
    in.k = f->k();
    in.m = f->m();
    in.p = f->p();
    in.repeat = f->repeat();
    in.ops = f->ops();
    impl->program.push_back(in);
  }
  // The per-layer figures the device profile adds up and divides by the
  // hardware's rates (int64 sums, double -> int64 conversions): bounded like
  // the program's in hw::Simulate.
  {
    constexpr double kMaxTotal = 0x1p58;
    const double transfer = impl->hardware.TransferBytesPerCycle();
    const double vector_rate =
        static_cast<double>(impl->hardware.vector_lanes) * impl->hardware.vector_ops_per_cycle;
    double total = 0;
    for (size_t i = 0; i < device_layers.size(); ++i) {
      const LayerDeviceProfile& d = device_layers[i];
      if (d.macs < 0 || d.vector_ops < 0 || min_dram_bytes[i] < 0 || d.estimated_cycles < 0) {
        return Corrupt(absl::StrCat("layer '", d.name, "': negative accelerator figures"));
      }
      const double bytes = static_cast<double>(min_dram_bytes[i]);
      const double ops = static_cast<double>(d.vector_ops);
      total += static_cast<double>(d.macs) + ops + ops / vector_rate + bytes + bytes / transfer +
               static_cast<double>(d.estimated_cycles);
      if (!(total <= kMaxTotal)) {
        return Corrupt(absl::StrCat("layer '", d.name, "': accelerator figures out of range"));
      }
    }
  }
  auto device = SimulateDevice(impl->hardware, impl->program, std::move(device_layers),
                               min_dram_bytes, &impl->simulation);
  if (!device.ok()) return Corrupt(std::string(device.status().message()));
  impl->device = std::move(*device);
  return std::shared_ptr<const Engine::Impl>(std::move(impl));
}

}  // namespace engine::exec
