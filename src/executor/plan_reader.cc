#include "executor/plan_reader.h"
#include "executor/shape_resolver.h"

#include <zlib.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ops/plugin_ops.h"
#include "common/limits.h"
#include "common/plan_generated.h"
#include "common/status_macros.h"
#include "kernels/data_dependent.h"
#include "ops/extent.h"
#include "ops/layer_precision.h"
#include "ops/op_registry.h"
#include "common/version.h"
#include "engine/hardware.h"
#include "executor/device_model.h"
#include "hw/tiling.h"

namespace engine::exec {
namespace {

namespace fb = ::engine::plan;

// The plan stores DataType codes as plan.fbs declares them; the reader turns
// them into engine::DataType with DataTypeFromCode, so both must agree.
static_assert(static_cast<int>(fb::DataType::UNDEFINED) == static_cast<int>(DataType::kUndefined));
static_assert(static_cast<int>(fb::DataType::FLOAT32) == static_cast<int>(DataType::kFloat32));
static_assert(static_cast<int>(fb::DataType::UINT8) == static_cast<int>(DataType::kUint8));
static_assert(static_cast<int>(fb::DataType::INT8) == static_cast<int>(DataType::kInt8));
static_assert(static_cast<int>(fb::DataType::INT32) == static_cast<int>(DataType::kInt32));
static_assert(static_cast<int>(fb::DataType::INT64) == static_cast<int>(DataType::kInt64));
static_assert(static_cast<int>(fb::DataType::BOOL) == static_cast<int>(DataType::kBool));
static_assert(static_cast<int>(fb::DataType::FLOAT16) == static_cast<int>(DataType::kFloat16));
static_assert(static_cast<int>(fb::DataType::FLOAT64) == static_cast<int>(DataType::kFloat64));
static_assert(static_cast<int>(fb::DataType::BFLOAT16) == static_cast<int>(DataType::kBFloat16));
static_assert(static_cast<int>(fb::DataType::UINT16) == static_cast<int>(DataType::kUint16));
static_assert(static_cast<int>(fb::DataType::INT16) == static_cast<int>(DataType::kInt16));
static_assert(static_cast<int>(fb::DataType::UINT32) == static_cast<int>(DataType::kUint32));
static_assert(static_cast<int>(fb::DataType::UINT64) == static_cast<int>(DataType::kUint64));

// Largest dimension and tensor size a plan may declare, bytes (1 TiB; the
// activation arena holding every non-constant tensor has the same limit).
constexpr int64_t kMaxTensorBytes = int64_t{1} << 40;
// Bytes a plan may carry after the end of its payload: the writer puts the
// payload last, so only alignment padding and, from another writer, the
// small outer table fields may follow. More is appended data.
constexpr size_t kMaxTrailingBytes = 256;

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

// Aligned copies of the caller's bytes, when they are not 8-byte aligned; they
// must outlive every pointer into the plan (until ReadPlan returns: the
// engine keeps no pointer into the plan, constants are copied).
struct AlignedCopies {
  std::vector<uint64_t> plan;
  std::vector<uint64_t> payload;
};

// One layer's accelerator mapping as far as the program step checks it: its
// instruction range and its array tile (the bounds of its MATMULs).
struct LayerSpan {
  uint32_t first = 0;
  uint32_t count = 0;
  bool on_array = false;
  int64_t tile_g = 0, tile_k = 0, tile_m = 0, tile_p = 0;
  /// Schema 6: the layer group's owner whose range holds this layer's
  /// instructions (codegen/layer_group.h), or -1.
  int32_t group_layer = -1;
};

// What the steps hand on to each other besides the engine being filled.
struct ReadState {
  Engine::Impl& impl;
  /// RuntimeOptions::max_activation_bytes, resolved (never 0).
  int64_t max_activation_bytes = 0;
  /// By tensor index: defined so far (constants, engine inputs, outputs of
  /// the layers read so far).
  std::vector<bool> available;
  /// By layer: the static device profile, compulsory DRAM bytes, mapping.
  std::vector<LayerDeviceProfile> device_layers;
  std::vector<int64_t> min_dram_bytes;
  std::vector<LayerSpan> spans;
  /// Dynamic-shape engine (Network.profiles present): shape-subgraph layers
  /// are evaluated while reading so that their values reach later layers'
  /// shape functions; `known` holds those values by tensor index.
  bool dynamic = false;
  std::vector<std::shared_ptr<const Tensor>> known;
  /// A shape bucket's program-only plan: constants carry no data, layers are
  /// not prepared, there is no arena.
  bool program_only = false;
};

std::string LayerWhere(const ReadState& st, size_t layer) {
  const LayerInfo& l = st.impl.layers[layer];
  return absl::StrCat("layer #", layer, " '", l.name, "' (", l.type, ")");
}

// --- Step 1: the header --------------------------------------------------

// Checks the outer table and returns the verified payload. `plan` is replaced
// by an aligned copy in `copies` when the caller's bytes are misaligned.
// Checks, in order: the file identifier (InvalidArgument: not a plan), the
// size (DataLoss past FlatBuffers' 2 GiB), the outer table (DataLoss:
// truncated), the schema version (FailedPrecondition, naming the accepted
// range), the payload's CRC-32 (DataLoss: checksum mismatch), appended data
// (DataLoss), the payload's FlatBuffers verification and required vectors
// (DataLoss). Fills info.schema_version, engine_version, model_name, plan_bytes,
// payload_crc32 and the provenance fields (the header's BuildInfo, when present).
absl::StatusOr<const fb::Network*> ReadHeader(std::string_view& plan, AlignedCopies& copies,
                                              PlanInfo& info) {
  // FlatBuffers reads scalars in place, so the plan and its payload must be
  // aligned for their widest fields (8 bytes): the builder aligns the payload
  // within the plan, but the caller's bytes (or a crafted plan) may put either
  // anywhere; such bytes are read from an aligned copy.
  if (plan.size() < 8 ||
      !flatbuffers::BufferHasIdentifier(plan.data(), fb::PlanIdentifier())) {
    return absl::InvalidArgumentError(
        "not an engine plan (the file identifier 'ENGP' is missing; was the file written by "
        "--saveEngine?)");
  }
  if (plan.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return Corrupt(absl::StrCat("the plan is ", plan.size(),
                                " bytes, more than a plan can hold (", FLATBUFFERS_MAX_BUFFER_SIZE,
                                " bytes)"));
  }
  if (reinterpret_cast<uintptr_t>(plan.data()) % alignof(uint64_t) != 0) {
    copies.plan.resize(plan.size() / sizeof(uint64_t) + 1);
    std::memcpy(copies.plan.data(), plan.data(), plan.size());
    plan = std::string_view(reinterpret_cast<const char*>(copies.plan.data()), plan.size());
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(plan.data());
  const fb::Plan* outer = flatbuffers::GetRoot<fb::Plan>(bytes);
  {
    flatbuffers::Verifier verifier(bytes, plan.size(), /*max_depth=*/64,
                                   /*max_tables=*/1u << 30);
    // Verify the outer table only; the payload is checked after its CRC and
    // version, so that a newer payload layout is reported as a version error.
    const auto* t = reinterpret_cast<const flatbuffers::Table*>(outer);
    if (!t->VerifyTableStart(verifier) ||
        !t->VerifyField<uint32_t>(verifier, fb::Plan::VT_SCHEMA_VERSION, 4) ||
        !t->VerifyOffset(verifier, fb::Plan::VT_ENGINE_VERSION) ||
        !verifier.VerifyString(outer->engine_version()) ||
        !t->VerifyField<uint32_t>(verifier, fb::Plan::VT_PAYLOAD_CRC32, 4) ||
        !t->VerifyOffset(verifier, fb::Plan::VT_PAYLOAD) ||
        !verifier.VerifyVector(outer->payload()) ||
        !t->VerifyOffset(verifier, fb::Plan::VT_BUILD_INFO) ||
        !verifier.VerifyTable(outer->build_info())) {
      return absl::DataLossError(absl::StrCat(
          "plan is truncated or corrupt: its header does not verify (", plan.size(), " bytes)"));
    }
  }
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
  const uint32_t crc = static_cast<uint32_t>(crc32(0L, payload, static_cast<uInt>(payload_size)));
  if (crc != outer->payload_crc32()) {
    return absl::DataLossError(absl::StrCat("plan is corrupt: payload checksum mismatch (stored ",
                                            outer->payload_crc32(), ", computed ", crc, ")"));
  }
  const size_t payload_end = static_cast<size_t>(payload - bytes) + payload_size;
  if (plan.size() - payload_end > kMaxTrailingBytes) {
    return Corrupt(absl::StrCat(plan.size() - payload_end, " bytes follow the payload, which ends ",
                                "at byte ", payload_end, " of ", plan.size(),
                                " (data appended to a plan?)"));
  }
  if (reinterpret_cast<uintptr_t>(payload) % alignof(uint64_t) != 0) {
    copies.payload.resize(payload_size / sizeof(uint64_t) + 1);
    std::memcpy(copies.payload.data(), payload, payload_size);
    payload = reinterpret_cast<const uint8_t*>(copies.payload.data());
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
  info.schema_version = version;
  info.engine_version = built_by;
  info.model_name = net->name() ? net->name()->str() : "";
  info.plan_bytes = plan.size();
  info.payload_crc32 = outer->payload_crc32();
  if (const fb::BuildInfo* bi = outer->build_info()) {  // absent in older plans
    auto str = [](const flatbuffers::String* v) { return v ? v->str() : std::string(); };
    info.source_model = str(bi->source_model());
    info.source_hash = str(bi->source_hash());
    info.precision = str(bi->precision());
    info.calibrator = str(bi->calibrator());
    info.calibration_data = str(bi->calibration_data());
    info.calibration_batches = std::max<int64_t>(0, bi->calibration_batches());
    info.preprocess = str(bi->preprocess());
    info.opt_level = bi->opt_level();
  }
  return net;
}

// --- Step 2: the tensors -------------------------------------------------

// The host's physical memory, bytes (the default load limit); 2^40 when
// sysconf cannot tell.
int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return kMaxTensorBytes;
  return SaturatingMul(static_cast<int64_t>(pages), static_cast<int64_t>(page));
}

// An activation tensor's size against the load limit.
absl::Status CheckActivationBytes(const ReadState& st, const std::string& where,
                                  const Engine::Impl::TensorSlot& slot) {
  if (static_cast<int64_t>(slot.bytes) <= st.max_activation_bytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      where, " ", DataTypeName(slot.dtype), " ", DimsToString(slot.shape), " needs ", slot.bytes,
      " bytes, more than the ", st.max_activation_bytes,
      " bytes this runtime allows for an activation tensor (RuntimeOptions::"
      "max_activation_bytes; default: the host's physical memory)"));
}

// Reads every tensor: a unique name, a known concrete dtype, dimensions and
// size at most kMaxTensorBytes (computed without overflow), a constant's data
// exactly its size, no data on an activation. Constants are copied into the
// engine (memory: the plan's own constant bytes). Errors: DataLoss naming the
// tensor.
absl::Status ReadTensors(const fb::Network& net, ReadState& st) {
  Engine::Impl& impl = st.impl;
  const auto& tensors = *net.tensors();
  impl.tensors.reserve(tensors.size());
  std::unordered_map<std::string_view, size_t> index_of;
  index_of.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const fb::Tensor* t = tensors.Get(static_cast<flatbuffers::uoffset_t>(i));
    Engine::Impl::TensorSlot slot;
    const std::string_view name = t->name()->string_view();
    slot.name = std::string(name);
    const std::string where = absl::StrCat("tensor #", i, " '", slot.name, "'");
    if (auto [it, inserted] = index_of.emplace(name, i); !inserted) {
      return Corrupt(absl::StrCat(where, " has the name of tensor #", it->second,
                                  "; tensor names must be unique"));
    }
    const std::optional<DataType> dtype = DataTypeFromCode(static_cast<int64_t>(t->dtype()));
    if (!dtype || *dtype == DataType::kUndefined) {
      return Corrupt(absl::StrCat(where, " has unknown dtype ", static_cast<int64_t>(t->dtype())));
    }
    slot.dtype = *dtype;
    if (!ElementsAligned(t->shape())) return Corrupt(absl::StrCat(where, " has a misaligned shape"));
    if (t->shape() != nullptr) {
      slot.shape.reserve(t->shape()->size());
      for (int64_t d : *t->shape()) {
        if (d < 0 || d > kMaxTensorBytes) {
          return Corrupt(absl::StrCat(where, " has dimension ", d));
        }
        slot.shape.push_back(d);
      }
    }
    // Overflow-safe: every factor is at most 2^40 and the product is checked
    // against 2^40 after each one, so it stays below 2^80.
    __int128 bytes = DataTypeSize(slot.dtype);
    for (int64_t d : slot.shape) {
      bytes *= d;
      if (bytes > kMaxTensorBytes) {
        return Corrupt(absl::StrCat(where, " of shape ", DimsToString(slot.shape), " is too large (",
                                    "more than ", kMaxTensorBytes, " bytes)"));
      }
    }
    slot.bytes = static_cast<size_t>(bytes);
    slot.arena_offset = t->arena_offset();
    const size_t have = t->data() ? t->data()->size() : 0;
    if (t->is_constant() && st.program_only && have == 0) {
      slot.constant = -2;  // a constant whose data the program-only plan omits
    } else if (t->is_constant()) {
      if (have != slot.bytes) {
        return Corrupt(absl::StrCat("constant '", slot.name, "' holds ", have, " bytes, its shape ",
                                    DimsToString(slot.shape), " needs ", slot.bytes));
      }
      impl.constants.emplace_back(
          slot.dtype, slot.shape,
          std::span<const std::byte>(
              have > 0 ? reinterpret_cast<const std::byte*>(t->data()->data()) : nullptr, have));
      impl.info.weight_bytes += have;
      slot.constant = static_cast<int>(impl.constants.size() - 1);
    } else if (have != 0) {
      return Corrupt(absl::StrCat(where, " is not a constant but carries ", have, " bytes of data"));
    } else {
      ENGINE_RETURN_IF_ERROR(CheckActivationBytes(st, where, slot));
    }
    impl.tensors.push_back(std::move(slot));
  }
  st.available.assign(impl.tensors.size(), false);
  for (size_t i = 0; i < impl.tensors.size(); ++i) st.available[i] = impl.tensors[i].constant != -1;
  st.known.assign(impl.tensors.size(), nullptr);
  return absl::OkStatus();
}

// Checks a tensor index read from the plan; `what` names its holder.
absl::Status CheckTensorIndex(const ReadState& st, int64_t idx, const std::string& what) {
  const size_t n = st.impl.tensors.size();
  if (idx < 0 || static_cast<uint64_t>(idx) >= n) {
    return Corrupt(absl::StrCat(what, " refers to tensor ", idx, " of ", n));
  }
  return absl::OkStatus();
}

TensorDesc Desc(const ReadState& st, int idx) {
  const auto& s = st.impl.tensors[idx];
  return TensorDesc{s.name, s.dtype, s.shape};
}

// Reads the engine's inputs (`outputs` false) or outputs (true): tensor
// indices in range and each listed once; an input is not a constant (it would
// alias a weight); an output is produced by a layer, an input or a constant.
// A constant output is valid: the builder writes one for a model output that
// folds to a constant (tests/data/fuzz_regressions/onnx/
// empty_program_and_shapes_roundtrip.onnx) and the context serves it from the
// constant. Errors: DataLoss naming the tensor.
absl::Status ReadEngineIo(const fb::Network& net, bool outputs, ReadState& st) {
  Engine::Impl& impl = st.impl;
  const char* role = outputs ? "engine output" : "engine input";
  std::vector<int>& index = outputs ? impl.output_index : impl.input_index;
  std::vector<TensorDesc>& descs = outputs ? impl.outputs : impl.inputs;
  const auto& list = outputs ? *net.outputs() : *net.inputs();
  for (size_t i = 0; i < list.size(); ++i) {
    const int32_t idx = list.Get(static_cast<flatbuffers::uoffset_t>(i));
    ENGINE_RETURN_IF_ERROR(CheckTensorIndex(st, idx, absl::StrCat(role, " #", i)));
    const auto& slot = impl.tensors[idx];
    if (!outputs && slot.constant >= 0) {
      return Corrupt(absl::StrCat(role, " #", i, " is constant '", slot.name,
                                  "'; an engine input is set by the caller"));
    }
    if (std::find(index.begin(), index.end(), idx) != index.end()) {
      return Corrupt(absl::StrCat(role, " '", slot.name, "' is listed twice"));
    }
    if (outputs && !st.available[idx]) {
      return Corrupt(absl::StrCat(role, " '", slot.name, "' is never produced"));
    }
    index.push_back(idx);
    descs.push_back(Desc(st, idx));
    st.available[idx] = true;
  }
  return absl::OkStatus();
}

// --- Step 3: the layers --------------------------------------------------

absl::StatusOr<Attributes> ReadAttributes(const fb::Layer& layer, const std::string& where) {
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
          return Corrupt(absl::StrCat(where, " attribute '", name, "' is misaligned"));
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
        return Corrupt(absl::StrCat(where, " attribute '", name, "' has unknown kind ",
                                    static_cast<int>(a->kind())));
    }
  }
  return attrs;
}

// Reads a layer's accelerator mapping into its static device profile:
// kind, dataflow and precision known (the enums' FromCode), its instruction
// range inside the program of `program_size` instructions, figures >= 0.
absl::Status ReadLayerMapping(const fb::Layer& layer, const std::string& where,
                              uint32_t program_size, ReadState& st) {
  const fb::LayerMapping* mapping = layer.mapping();
  if (mapping == nullptr) return Corrupt(absl::StrCat(where, ": no accelerator mapping"));
  const std::optional<hw::LayerKind> kind = hw::LayerKindFromCode(mapping->kind());
  const std::optional<Dataflow> dataflow = DataflowFromCode(mapping->dataflow());
  const std::optional<Precision> precision = PrecisionFromCode(mapping->precision());
  if (!kind || !dataflow || !precision) {
    return Corrupt(absl::StrCat(where, ": invalid accelerator mapping (unit ",
                                int{mapping->kind()}, ", dataflow ", int{mapping->dataflow()},
                                ", precision ", int{mapping->precision()}, ")"));
  }
  if (uint64_t{mapping->first_instruction()} + mapping->num_instructions() > program_size) {
    return Corrupt(absl::StrCat(where, ": invalid accelerator mapping (instructions ",
                                mapping->first_instruction(), " + ", mapping->num_instructions(),
                                " of a program of ", program_size, ")"));
  }
  if (mapping->macs() < 0 || mapping->vector_ops() < 0 || mapping->min_dram_bytes() < 0 ||
      mapping->estimated_cycles() < 0) {
    return Corrupt(absl::StrCat("layer '", layer.name()->str(), "': negative accelerator figures"));
  }
  LayerDeviceProfile d;
  d.name = layer.name()->str();
  d.type = layer.type()->str();
  d.unit = hw::LayerKindName(*kind);
  if (*kind == hw::LayerKind::kArray && !mapping->on_array()) {
    d.unit = "vector";  // e.g. a depthwise convolution on the vector unit
  }
  d.tactic = mapping->tactic() ? mapping->tactic()->str() : "";
  d.tiling = mapping->tiling() ? mapping->tiling()->str() : "";
  if (mapping->on_array()) d.dataflow = DataflowName(*dataflow);
  d.precision = PrecisionName(*precision);
  d.macs = mapping->macs();
  d.vector_ops = mapping->vector_ops();
  d.estimated_cycles = mapping->estimated_cycles();
  if (mapping->rejected()) {
    for (const fb::TacticCost* t : *mapping->rejected()) {
      d.rejected.push_back({t->tactic() ? t->tactic()->str() : "",
                            t->tiling() ? t->tiling()->str() : "", t->cycles(), t->energy_pj()});
    }
  }
  st.device_layers.push_back(std::move(d));
  st.min_dram_bytes.push_back(mapping->min_dram_bytes());
  st.spans.push_back({mapping->first_instruction(), mapping->num_instructions(),
                      // A composite layer with array pieces (Attention) carries the
                      // largest tile of its pieces, bounding each MATMUL.
                      (*kind == hw::LayerKind::kArray || *kind == hw::LayerKind::kComposite) &&
                          mapping->on_array(),
                      mapping->tile_g(),
                      mapping->tile_k(), mapping->tile_m(), mapping->tile_p(),
                      mapping->group_layer()});
  if (mapping->group_layer() != -1 &&
      (mapping->group_layer() < 0 || mapping->num_instructions() != 0)) {
    return Corrupt(absl::StrCat(where, ": invalid layer group (owner ", mapping->group_layer(),
                                ", ", mapping->num_instructions(), " instructions of its own)"));
  }
  return absl::OkStatus();
}

// Reads every layer in execution order: tensor indices in range, inputs
// defined before they are read, outputs written once, a layer type the kernel
// registry knows (Unimplemented otherwise), attributes, output dtypes and
// shapes equal to what the layer computes from its inputs, the kernel
// prepared, then the accelerator mapping. Errors: DataLoss naming the layer.
absl::Status ReadLayers(const fb::Network& net, ReadState& st) {
  Engine::Impl& impl = st.impl;
  const auto& registry = ops::OpRegistry::Builtin();
  if (!ElementsAligned(net.program())) return Corrupt("the program is misaligned");
  const uint32_t program_size = net.program() ? net.program()->size() : 0;
  const size_t num_layers = net.layers()->size();
  impl.layers.reserve(num_layers);
  impl.exec.reserve(num_layers);
  for (size_t l = 0; l < num_layers; ++l) {
    const fb::Layer* layer = net.layers()->Get(static_cast<flatbuffers::uoffset_t>(l));
    LayerInfo info;
    info.name = layer->name()->str();
    info.type = layer->type()->str();
    const std::string where = absl::StrCat("layer '", info.name, "' (", info.type, ")");
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
          ENGINE_RETURN_IF_ERROR(CheckTensorIndex(st, idx, where));
          const auto& slot = impl.tensors[idx];
          if (!st.available[idx]) {
            return Corrupt(absl::StrCat(where, " reads tensor '", slot.name,
                                        "' before it is produced"));
          }
          ti.dtype = slot.dtype;
          ti.shape = slot.shape;
          ti.constant = slot.constant >= 0 ? &impl.constants[slot.constant] : st.known[idx].get();
          info.inputs.push_back(slot.name);
        }
        ex.inputs.push_back(idx);
        in_info.push_back(std::move(ti));
      }
    }
    if (layer->outputs()) {
      for (int32_t idx : *layer->outputs()) {
        ENGINE_RETURN_IF_ERROR(CheckTensorIndex(st, idx, where));
        const auto& slot = impl.tensors[idx];
        if (st.available[idx]) {
          return Corrupt(absl::StrCat(where, " writes tensor '", slot.name,
                                      "', which is already defined"));
        }
        st.available[idx] = true;
        out_info.push_back(kernels::TensorInfo{slot.dtype, slot.shape, nullptr, true});
        ex.outputs.push_back(idx);
        info.outputs.push_back(slot.name);
      }
    }
    if (registry.FindKernel(info.type) == nullptr) {
      return absl::UnimplementedError(absl::StrCat(
          where, ": layer type unknown to this runtime (engine ", kEngineVersion, ")"));
    }
    ENGINE_ASSIGN_OR_RETURN(Attributes attrs, ReadAttributes(*layer, where));
    if (st.program_only) {  // a bucket's program: the mapping only
      impl.exec.push_back(std::move(ex));
      ENGINE_RETURN_IF_ERROR(ReadLayerMapping(*layer, where, program_size, st));
      impl.layers.push_back(std::move(info));
      continue;
    }
    // fp16/bf16 layers run through the reduced-precision wrapper.
    auto host_def = ops::HostKernelDef(registry, info.type, attrs);
    if (!host_def.ok()) return Corrupt(absl::StrCat(where, ": ", host_def.status().message()));
    const kernels::KernelDef* def = &*host_def;
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
    if (st.dynamic) {
      ex.def = *def;
      ex.shape_valued = IsShapeValued(*def, in_info, out_info);
      if (ex.shape_valued) {
        std::vector<Tensor> values = EvaluateLayer(*ex.kernel, in_info, out_info);
        for (size_t o = 0; o < values.size(); ++o) {
          st.known[ex.outputs[o]] = std::make_shared<const Tensor>(std::move(values[o]));
        }
      }
      ex.attrs = std::move(attrs);
    }
    // Data-dependent shapes: where each layer puts the bounded dimension.
    const Attributes& layer_attrs = ex.def ? ex.attrs : attrs;
    bool any_extent = !kernels::DataDependentDims(info.type, layer_attrs, in_info).empty();
    for (int idx : ex.inputs) {
      any_extent = any_extent || (idx >= 0 && !impl.extent.empty() && impl.extent[idx].any());
    }
    if (any_extent) {
      if (impl.extent.empty()) impl.extent.resize(impl.tensors.size());
      std::vector<ops::ExtentDim> in_extent;
      for (int idx : ex.inputs) {
        const Engine::Impl::TensorExtent x = idx >= 0 ? impl.extent[idx] : Engine::Impl::TensorExtent{};
        in_extent.push_back(ops::ExtentDim{x.symbol, x.dim, x.scale});
      }
      ops::LayerView view{info.name, info.type, layer_attrs, in_info, out_info, {}, {}};
      const int index = static_cast<int>(impl.exec.size());
      std::vector<std::string> in_names;
      for (int idx : ex.inputs) in_names.push_back(idx >= 0 ? impl.tensors[idx].name : "");
      auto out_extent = ops::PropagateExtent(
          ops::ExtentLayer{view, in_names, index},
          in_extent, [&](int s) {
            return s >= 0 && static_cast<size_t>(s) < impl.layers.size() ? impl.layers[s].name
                                                                         : info.name;
          });
      if (!out_extent.ok()) return Corrupt(absl::StrCat(where, ": ", out_extent.status().message()));
      bool produces = false;
      for (size_t o = 0; o < out_extent->size() && o < ex.outputs.size(); ++o) {
        const ops::ExtentDim& x = (*out_extent)[o];
        impl.extent[ex.outputs[o]] = Engine::Impl::TensorExtent{x.symbol, x.dim, x.scale};
        produces = produces || (*out_extent)[o].symbol == index;
      }
      if (produces) impl.extent_producers.push_back(index);
    }
    impl.exec.push_back(std::move(ex));
    ENGINE_RETURN_IF_ERROR(ReadLayerMapping(*layer, where, program_size, st));
    impl.layers.push_back(std::move(info));
  }
  return absl::OkStatus();
}

// --- Step 4: the activation arena ----------------------------------------

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
  if (m.arena_bytes < 0 || m.arena_bytes > kMaxTensorBytes || m.alignment < 8 ||
      (m.alignment & (m.alignment - 1)) != 0) {
    return Corrupt(absl::StrCat("invalid activation arena header (", m.arena_bytes,
                                " bytes, alignment ", m.alignment, ")"));
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

// --- Step 5: the accelerator program -------------------------------------

// Reads the hardware description, the objective and the instruction stream.
// Each instruction: opcode, dataflow and precision known (the enums'
// FromCode), its layer in range and its index inside that layer's mapping
// range, its tensor -1 or in range (and, for a load or STORE, one of its
// layer's inputs or outputs respectively), each dependency -1 or an earlier
// instruction; a MATMUL only on a layer mapped to the array, within that
// layer's tile (1 <= repeat <= tile_g, k <= tile_k, m <= tile_m, p <= tile_p).
// The program's size limits (hw::kMaxExpandedInstructions,
// hw::kMaxSerialCycles) are checked by the device step, before it simulates.
// Errors: DataLoss naming the instruction index and its layer.
absl::Status ReadProgram(const fb::Network& net, ReadState& st) {
  Engine::Impl& impl = st.impl;
  if (net.hardware_json() == nullptr) return Corrupt("no hardware description");
  impl.hardware_json = net.hardware_json()->str();
  auto hardware = ParseHardwareJson(impl.hardware_json, "plan hardware description");
  if (!hardware.ok()) return Corrupt(std::string(hardware.status().message()));
  impl.hardware = *hardware;
  if (net.objective() == nullptr) return Corrupt("no objective");
  impl.info.objective = net.objective()->str();
  if (!ObjectiveFromName(impl.info.objective)) {
    return Corrupt(absl::StrCat("unknown objective '", impl.info.objective,
                                "' (expected latency, energy or edp)"));
  }
  // The layer owning each instruction, from the mappings' ranges (each
  // instruction belongs to at most one layer).
  const uint32_t program_size = net.program() ? net.program()->size() : 0;
  constexpr uint32_t kNoLayer = ~uint32_t{0};
  std::vector<uint32_t> owner(program_size, kNoLayer);
  for (size_t l = 0; l < st.spans.size(); ++l) {
    const LayerSpan& s = st.spans[l];
    for (uint32_t i = s.first; i < s.first + s.count; ++i) {
      if (owner[i] != kNoLayer) {
        return Corrupt(absl::StrCat(LayerWhere(st, l), ": its instructions ", s.first, " + ",
                                    s.count, " overlap those of ", LayerWhere(st, owner[i])));
      }
      owner[i] = static_cast<uint32_t>(l);
    }
  }
  impl.info.instructions = program_size;
  impl.program.reserve(program_size);
  const uint64_t num_layers = impl.layers.size();
  const int64_t num_tensors = static_cast<int64_t>(impl.tensors.size());
  for (uint32_t i = 0; i < program_size; ++i) {
    const fb::Instruction* f = net.program()->Get(i);
    const std::string at = absl::StrCat("program instruction #", i);
    const std::optional<hw::Opcode> opcode = hw::OpcodeFromCode(f->opcode());
    const std::optional<Dataflow> dataflow = DataflowFromCode(f->dataflow());
    const std::optional<Precision> precision = PrecisionFromCode(f->precision());
    if (!opcode || !dataflow || !precision) {
      return Corrupt(absl::StrCat(at, " is invalid (opcode ", int{f->opcode()}, ", dataflow ",
                                  int{f->dataflow()}, ", precision ", int{f->precision()}, ")"));
    }
    if (f->layer() >= num_layers) {
      return Corrupt(absl::StrCat(at, " is invalid: layer ", f->layer(), " of ", num_layers));
    }
    // A layer of a layer group has its instructions in its owner's range.
    if (owner[i] != f->layer() &&
        (f->layer() >= st.spans.size() || st.spans[f->layer()].group_layer < 0 ||
         static_cast<uint32_t>(st.spans[f->layer()].group_layer) != owner[i])) {
      return Corrupt(absl::StrCat(at, " is invalid: it belongs to ", LayerWhere(st, f->layer()),
                                  " but lies outside that layer's instructions"));
    }
    const std::string where = absl::StrCat(at, " (", LayerWhere(st, f->layer()), ")");
    if (f->tensor() < -1 || f->tensor() >= num_tensors) {
      return Corrupt(absl::StrCat(where, " is invalid: tensor ", f->tensor(), " of ", num_tensors));
    }
    // DRAM transfers move the layer's own tensors: a load reads one of its
    // inputs, a STORE writes one of its outputs (a layer with several
    // outputs stores each of them).
    if (f->tensor() >= 0 && (*opcode == hw::Opcode::kLoadInput ||
                             *opcode == hw::Opcode::kLoadWeight ||
                             *opcode == hw::Opcode::kStore)) {
      const Engine::Impl::LayerExec& ex = impl.exec[f->layer()];
      const bool store = *opcode == hw::Opcode::kStore;
      const std::vector<int>& own = store ? ex.outputs : ex.inputs;
      if (std::find(own.begin(), own.end(), f->tensor()) == own.end()) {
        return Corrupt(absl::StrCat(where, " is invalid: it ", store ? "stores" : "loads",
                                    " tensor '", impl.tensors[f->tensor()].name, "', not ",
                                    store ? "an output" : "an input", " of its layer"));
      }
    }
    for (int32_t d : {f->dep0(), f->dep1(), f->dep2()}) {
      if (d < -1 || d >= static_cast<int64_t>(i)) {
        return Corrupt(absl::StrCat(where, " is invalid: it depends on instruction #", d,
                                    ", not an earlier one"));
      }
    }
    if (*opcode == hw::Opcode::kMatmul) {
      const LayerSpan& s = st.spans[f->layer()];
      if (!s.on_array) {
        return Corrupt(absl::StrCat(where, ": a MATMUL in a layer not mapped to the array"));
      }
      if (f->repeat() < 1 || f->repeat() > s.tile_g || f->k() > s.tile_k || f->m() > s.tile_m ||
          f->p() > s.tile_p) {
        return Corrupt(absl::StrCat(where, ": MATMUL of ", f->repeat(), " x ", f->k(), "x", f->m(),
                                    "x", f->p(), " does not fit the layer's tile of ", s.tile_g,
                                    " groups x ", s.tile_k, "x", s.tile_m, "x", s.tile_p));
      }
    }
    hw::Instruction in;
    in.opcode = *opcode;
    in.dataflow = *dataflow;
    in.precision = *precision;
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
    impl.program.push_back(in);
  }
  return absl::OkStatus();
}

// --- Step 6: the device profile ------------------------------------------

// Bounds the per-layer figures the device profile adds up and divides by the
// hardware's rates (int64 sums, double -> int64 conversions) like the
// program's in hw::Simulate, then simulates the program (which checks its
// limits, hw::kMaxExpandedInstructions and hw::kMaxSerialCycles, before
// scheduling) into the engine's DeviceProfile. Errors: DataLoss naming the
// layer or the instruction.
absl::Status ReadDeviceProfile(ReadState& st) {
  Engine::Impl& impl = st.impl;
  constexpr double kMaxTotal = 0x1p58;
  const double transfer = impl.hardware.TransferBytesPerCycle();
  const double vector_rate =
      static_cast<double>(impl.hardware.vector_lanes) * impl.hardware.vector_ops_per_cycle;
  double total = 0;
  for (size_t i = 0; i < st.device_layers.size(); ++i) {
    const LayerDeviceProfile& d = st.device_layers[i];
    const double bytes = static_cast<double>(st.min_dram_bytes[i]);
    const double ops = static_cast<double>(d.vector_ops);
    total += static_cast<double>(d.macs) + ops + ops / vector_rate + bytes + bytes / transfer +
             static_cast<double>(d.estimated_cycles);
    if (!(total <= kMaxTotal)) {
      return Corrupt(absl::StrCat("layer '", d.name, "': accelerator figures out of range"));
    }
  }
  std::vector<int32_t> group_owner;
  for (const LayerSpan& s : st.spans) group_owner.push_back(s.group_layer);
  std::vector<int64_t> tensor_bytes(impl.tensors.size());
  for (size_t t = 0; t < impl.tensors.size(); ++t) {
    tensor_bytes[t] = static_cast<int64_t>(impl.tensors[t].bytes);
  }
  auto device = SimulateDevice(impl.hardware, impl.program, std::move(st.device_layers),
                               st.min_dram_bytes, &impl.simulation, impl.input_index,
                               impl.output_index, group_owner, tensor_bytes);
  if (!device.ok()) return Corrupt(std::string(device.status().message()));
  impl.device = std::move(*device);
  return absl::OkStatus();
}

// Every plugin the plan records (schema 5) must be loaded at the recorded
// version: FailedPrecondition naming the plugin and the layer types it
// provides otherwise (ops::CheckPluginAvailable).
absl::Status CheckPlugins(const fb::Network& net) {
  if (net.plugins() == nullptr) return absl::OkStatus();
  for (const fb::PluginRef* p : *net.plugins()) {
    std::vector<std::string> types;
    if (p->ops()) {
      for (const auto* s : *p->ops()) types.push_back(s->str());
    }
    absl::Status s = ops::CheckPluginAvailable(p->name()->str(), p->version()->str());
    if (!s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          s.message(), "; its layer types: ", absl::StrJoin(types, ", ")));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Engine::Impl>> ReadPlanSteps(std::string_view plan,
                                                                  int64_t max_activation_bytes,
                                                                  bool program_only);

// --- Step 7: optimization profiles and shape buckets (dynamic shapes) ---

// Index of the engine input named `name`, or -1.
int InputNamed(const Engine::Impl& impl, std::string_view name) {
  for (size_t i = 0; i < impl.inputs.size(); ++i) {
    if (impl.inputs[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<Dims> ReadDims(const flatbuffers::Vector<int64_t>* v, const std::string& where) {
  if (v == nullptr) return Corrupt(absl::StrCat(where, " is missing"));
  if (!ElementsAligned(v)) return Corrupt(absl::StrCat(where, " is misaligned"));
  Dims d(v->begin(), v->end());
  for (int64_t x : d) {
    if (x < 0 || x > kMaxTensorBytes) return Corrupt(absl::StrCat(where, " has dimension ", x));
  }
  return d;
}

// Each profile names engine inputs with ranges of the input's rank,
// 0 <= min <= opt <= max <= the stored (build) shape; each bucket names
// engine inputs with shapes inside its profile, and its program-only plan
// reads and simulates (its device profile). Errors: DataLoss.
absl::Status ReadProfiles(const fb::Network& net, ReadState& st) {
  Engine::Impl& impl = st.impl;
  for (size_t p = 0; p < net.profiles()->size(); ++p) {
    const fb::OptimizationProfile* fp = net.profiles()->Get(static_cast<flatbuffers::uoffset_t>(p));
    OptimizationProfileInfo info;
    if (fp->inputs() == nullptr || fp->inputs()->size() == 0) {
      return Corrupt(absl::StrCat("optimization profile ", p, " has no inputs"));
    }
    for (const fb::ProfileInput* in : *fp->inputs()) {
      const std::string where = absl::StrCat("optimization profile ", p, " input '",
                                             in->name()->str(), "'");
      const int i = InputNamed(impl, in->name()->string_view());
      if (i < 0) return Corrupt(absl::StrCat(where, " is not an engine input"));
      ProfileInputInfo r;
      r.name = in->name()->str();
      ENGINE_ASSIGN_OR_RETURN(r.min, ReadDims(in->min(), where + " min"));
      ENGINE_ASSIGN_OR_RETURN(r.opt, ReadDims(in->opt(), where + " opt"));
      ENGINE_ASSIGN_OR_RETURN(r.max, ReadDims(in->max(), where + " max"));
      const Dims& built = impl.inputs[i].shape;
      if (r.min.size() != built.size() || r.opt.size() != built.size() ||
          r.max.size() != built.size()) {
        return Corrupt(absl::StrCat(where, " has a range of another rank than the input"));
      }
      for (size_t d = 0; d < built.size(); ++d) {
        if (!(r.min[d] <= r.opt[d] && r.opt[d] <= r.max[d] && r.max[d] <= built[d])) {
          return Corrupt(absl::StrCat(where, " has an invalid range in dimension ", d));
        }
      }
      info.inputs.push_back(std::move(r));
    }
    impl.profiles.push_back(std::move(info));
  }
  if (net.buckets() == nullptr) return absl::OkStatus();
  for (size_t b = 0; b < net.buckets()->size(); ++b) {
    const fb::ShapeBucket* fbk = net.buckets()->Get(static_cast<flatbuffers::uoffset_t>(b));
    const std::string where = absl::StrCat("shape bucket ", b);
    ShapeBucketInfo info;
    info.profile = fbk->profile();
    if (info.profile < 0 || static_cast<size_t>(info.profile) >= impl.profiles.size()) {
      return Corrupt(absl::StrCat(where, " names profile ", info.profile));
    }
    if (fbk->shapes() != nullptr) {
      for (const fb::BucketShape* sh : *fbk->shapes()) {
        if (InputNamed(impl, sh->name()->string_view()) < 0) {
          return Corrupt(absl::StrCat(where, " names '", sh->name()->str(), "', not an input"));
        }
        ENGINE_ASSIGN_OR_RETURN(Dims d, ReadDims(sh->shape(), where + " shape"));
        info.shapes.emplace_back(sh->name()->str(), std::move(d));
      }
    }
    if (fbk->plan() == nullptr) return Corrupt(absl::StrCat(where, " has no program"));
    const std::string_view nested(reinterpret_cast<const char*>(fbk->plan()->data()),
                                  fbk->plan()->size());
    auto bucket = ReadPlanSteps(nested, st.max_activation_bytes, /*program_only=*/true);
    if (!bucket.ok()) {
      return Corrupt(absl::StrCat(where, ": ", bucket.status().message()));
    }
    info.device = (*bucket)->device;
    impl.buckets.push_back(std::move(info));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Engine::Impl>> ReadPlanSteps(std::string_view plan,
                                                                  int64_t max_activation_bytes,
                                                                  bool program_only) {
  AlignedCopies copies;
  auto impl = std::make_shared<Engine::Impl>();
  ENGINE_ASSIGN_OR_RETURN(const fb::Network* net, ReadHeader(plan, copies, impl->info));
  ReadState st{*impl, max_activation_bytes > 0 ? max_activation_bytes : PhysicalMemoryBytes(),
               {}, {}, {}, {}};
  if (net->program_only() != program_only) {
    return Corrupt(program_only ? "a shape bucket holds a complete plan"
                                : "a program-only plan (a shape bucket's) cannot be executed");
  }
  st.program_only = program_only;
  st.dynamic = net->profiles() != nullptr && net->profiles()->size() > 0;
  ENGINE_RETURN_IF_ERROR(ReadTensors(*net, st));
  ENGINE_RETURN_IF_ERROR(ReadEngineIo(*net, /*outputs=*/false, st));
  ENGINE_RETURN_IF_ERROR(CheckPlugins(*net));
  ENGINE_RETURN_IF_ERROR(ReadLayers(*net, st));
  ENGINE_RETURN_IF_ERROR(ReadEngineIo(*net, /*outputs=*/true, st));
  if (!program_only) ENGINE_RETURN_IF_ERROR(ReadArena(*net, *impl));
  if (impl->memory.arena_bytes > st.max_activation_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the plan's activation arena needs ", impl->memory.arena_bytes,
        " bytes per execution context, more than the ", st.max_activation_bytes,
        " bytes this runtime allows (RuntimeOptions::max_activation_bytes; default: the host's "
        "physical memory)"));
  }
  ENGINE_RETURN_IF_ERROR(ReadProgram(*net, st));
  ENGINE_RETURN_IF_ERROR(ReadDeviceProfile(st));
  if (st.dynamic && !program_only) ENGINE_RETURN_IF_ERROR(ReadProfiles(*net, st));
  return std::shared_ptr<const Engine::Impl>(std::move(impl));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Engine::Impl>> ReadPlan(std::string_view plan,
                                                             int64_t max_activation_bytes) {
  // Every allocation above is bounded by the plan's size or by a checked
  // limit; a kernel's Prepare may still allocate per its shapes, so a host
  // out of memory is reported, not thrown.
  try {
    return ReadPlanSteps(plan, max_activation_bytes, /*program_only=*/false);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory loading a ", plan.size(), "-byte plan"));
  } catch (const std::length_error& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory loading a ", plan.size(), "-byte plan (", e.what(), ")"));
  }
}

}  // namespace engine::exec
