#include "ops/plugin_ops.h"
#include "engine/plugin_registry.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "ops/op_registry.h"

namespace engine::ops {
namespace {

constexpr size_t kErrCap = 1024;
// Most outputs a plugin op may infer; more is a "wrong shape" error.
constexpr size_t kMaxOutputs = 16;
// Largest serialized attribute blob, bytes (the plan stays far below 2 GiB).
constexpr size_t kMaxBlobBytes = size_t{16} << 20;

// One registered plugin op.
struct Binding {
  const EnginePluginOp* op = nullptr;
  std::string plugin;
  std::string version;
  std::string type;
  // "plugin 'P' op 'domain::type'": the prefix of every message.
  std::string label;
};

struct Table {
  std::shared_mutex mu;
  std::map<std::string, std::unique_ptr<OpDef>, std::less<>> defs;
  std::map<std::string, std::string, std::less<>> plugin_of_type;  // type -> plugin name
  std::vector<PluginInfo> plugins;
};

Table& Plugins() {
  static Table* t = new Table();
  return *t;
}

std::string Hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

absl::StatusOr<std::string> Unhex(std::string_view hex, const Binding& b) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(b.label, ": attribute '", kPluginDataAttr,
                                                   "' is not hex (odd length)"));
  }
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(b.label, ": attribute '", kPluginDataAttr, "' is not lowercase hex"));
    }
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

absl::StatusOr<std::string> BlobOf(const Attributes& attrs, const Binding& b) {
  absl::StatusOr<std::string> hex = attrs.GetString(kPluginDataAttr, "");
  if (!hex.ok()) return hex.status();
  return Unhex(*hex, b);
}

// The message of a failed call into the plugin.
absl::Status CallFailed(const Binding& b, const char* fn, const char* err) {
  std::string msg(err, strnlen(err, kErrCap));
  if (msg.empty()) msg = "(no message)";
  return absl::InternalError(absl::StrCat(b.label, ": ", fn, " failed: ", msg));
}

// Calls `f` (a call into the plugin returning ENGINE_PLUGIN_OK / _ERROR),
// containing a C++ exception that escaped the C ABI.
template <typename F>
absl::Status Call(const Binding& b, const char* fn, F&& f) {
  char err[kErrCap] = {0};
  int rc = ENGINE_PLUGIN_ERROR;
  try {
    rc = f(err);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat(b.label, ": ", fn, " threw an exception across the C ABI: ", e.what()));
  } catch (...) {
    return absl::InternalError(
        absl::StrCat(b.label, ": ", fn, " threw an exception across the C ABI"));
  }
  if (rc != ENGINE_PLUGIN_OK) return CallFailed(b, fn, err);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EnginePluginTensorDesc>> Descs(
    std::span<const kernels::TensorInfo> infos, const Binding& b) {
  std::vector<EnginePluginTensorDesc> out(infos.size());
  for (size_t i = 0; i < infos.size(); ++i) {
    const kernels::TensorInfo& t = infos[i];
    EnginePluginTensorDesc& d = out[i];
    d = EnginePluginTensorDesc{};
    d.present = t.present ? 1 : 0;
    if (!t.present) continue;
    if (t.shape.size() > ENGINE_PLUGIN_MAX_RANK) {
      return absl::UnimplementedError(absl::StrCat(b.label, ": tensor ", i, " has rank ",
                                                   t.shape.size(), " > ",
                                                   ENGINE_PLUGIN_MAX_RANK));
    }
    d.dtype = static_cast<EnginePluginDataType>(t.dtype);
    d.rank = static_cast<int32_t>(t.shape.size());
    for (size_t k = 0; k < t.shape.size(); ++k) d.dims[k] = t.shape[k];
    d.data = t.constant != nullptr ? t.constant->data() : nullptr;
  }
  return out;
}

// ---------------------------------------------------------------------------
// The record's parts

absl::Status Import(const Binding& b, const ImportNode& node, ImportSink& sink) {
  if (!node.tensor_attrs.empty()) {
    return absl::UnimplementedError(
        absl::StrCat(b.label, ": tensor-valued attributes are not passed to plugins ('",
                     node.tensor_attrs.begin()->first, "')"));
  }
  std::vector<EnginePluginAttribute> attrs;
  for (const auto& [name, value] : node.attrs.values()) {
    EnginePluginAttribute a{};
    a.name = name.c_str();
    if (const auto* i = std::get_if<int64_t>(&value)) {
      a.kind = ENGINE_PLUGIN_ATTR_INT;
      a.i = *i;
    } else if (const auto* f = std::get_if<float>(&value)) {
      a.kind = ENGINE_PLUGIN_ATTR_FLOAT;
      a.f = *f;
    } else if (const auto* s = std::get_if<std::string>(&value)) {
      a.kind = ENGINE_PLUGIN_ATTR_STRING;
      a.s = s->data();
      a.count = s->size();
    } else if (const auto* is = std::get_if<std::vector<int64_t>>(&value)) {
      a.kind = ENGINE_PLUGIN_ATTR_INTS;
      a.ints = is->data();
      a.count = is->size();
    } else if (const auto* fs = std::get_if<std::vector<float>>(&value)) {
      a.kind = ENGINE_PLUGIN_ATTR_FLOATS;
      a.floats = fs->data();
      a.count = fs->size();
    }
    attrs.push_back(a);
  }
  std::string blob(256, '\0');
  size_t size = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::Status st = Call(b, "serialize_attributes", [&](char* err) {
      return b.op->serialize_attributes(b.op->self, attrs.data(), attrs.size(), blob.data(),
                                        blob.size(), &size, err, kErrCap);
    });
    if (!st.ok()) return st;
    if (size > kMaxBlobBytes) {
      return absl::InvalidArgumentError(absl::StrCat(b.label, ": serialized attributes of ",
                                                     size, " bytes (most ", kMaxBlobBytes, ")"));
    }
    if (size <= blob.size()) break;
    if (attempt == 1) {
      return absl::InternalError(
          absl::StrCat(b.label, ": serialize_attributes keeps asking for a larger buffer"));
    }
    blob.resize(size);
  }
  blob.resize(size);
  Attributes layer_attrs;
  layer_attrs.Set(kPluginDataAttr, Hex(blob));
  return sink.AddLayer(node.name, b.type, std::move(layer_attrs), node.inputs, node.outputs);
}

absl::StatusOr<std::vector<kernels::TensorInfo>> Infer(const Binding& b, const Attributes& attrs,
                                                       std::span<const kernels::TensorInfo> in) {
  ENGINE_ASSIGN_OR_RETURN(std::string blob, BlobOf(attrs, b));
  ENGINE_ASSIGN_OR_RETURN(std::vector<EnginePluginTensorDesc> descs, Descs(in, b));
  EnginePluginTensorDesc out[kMaxOutputs] = {};
  size_t n = 0;
  ENGINE_RETURN_IF_ERROR(Call(b, "infer", [&](char* err) {
    return b.op->infer(b.op->self, blob.data(), blob.size(), descs.data(), descs.size(), out,
                       kMaxOutputs, &n, err, kErrCap);
  }));
  if (n == 0 || n > kMaxOutputs) {
    return absl::InternalError(
        absl::StrCat(b.label, ": infer returned ", n, " outputs (wrong shape; 1..", kMaxOutputs,
                     " expected)"));
  }
  std::vector<kernels::TensorInfo> result(n);
  for (size_t i = 0; i < n; ++i) {
    const EnginePluginTensorDesc& d = out[i];
    std::optional<DataType> dtype = DataTypeFromCode(d.dtype);
    if (!dtype || *dtype == DataType::kUndefined) {
      return absl::InternalError(
          absl::StrCat(b.label, ": infer gave output ", i, " the unknown dtype code ", d.dtype));
    }
    if (d.rank < 0 || d.rank > ENGINE_PLUGIN_MAX_RANK) {
      return absl::InternalError(
          absl::StrCat(b.label, ": infer gave output ", i, " the invalid rank ", d.rank));
    }
    Dims shape(d.dims, d.dims + d.rank);
    for (int64_t dim : shape) {
      // 2^40 elements per dim at most: products are then checked by the
      // builder's tensor-size limit without overflowing first.
      if (dim < 0 || dim > (int64_t{1} << 40)) {
        return absl::InternalError(absl::StrCat(b.label, ": infer gave output ", i,
                                                " the wrong shape ", DimsToString(shape)));
      }
    }
    result[i].dtype = *dtype;
    result[i].shape = std::move(shape);
  }
  return result;
}

class PluginKernel final : public kernels::Kernel {
 public:
  explicit PluginKernel(std::shared_ptr<const Binding> b) : b_(std::move(b)) {}
  ~PluginKernel() override {
    if (kernel_ != nullptr) {
      try {
        b_->op->destroy_kernel(b_->op->self, kernel_);
      } catch (...) {  // contained: nothing to report from a destructor
      }
    }
  }

  absl::Status Prepare(const Attributes& attrs, std::span<const kernels::TensorInfo> inputs,
                       std::span<const kernels::TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::string blob, BlobOf(attrs, *b_));
    ENGINE_ASSIGN_OR_RETURN(std::vector<EnginePluginTensorDesc> in, Descs(inputs, *b_));
    ENGINE_ASSIGN_OR_RETURN(std::vector<EnginePluginTensorDesc> out, Descs(outputs, *b_));
    void* k = nullptr;
    ENGINE_RETURN_IF_ERROR(Call(*b_, "prepare", [&](char* err) {
      return b_->op->prepare(b_->op->self, blob.data(), blob.size(), in.data(), in.size(),
                             out.data(), out.size(), &k, err, kErrCap);
    }));
    kernel_ = k;
    if (b_->op->scratch_bytes != nullptr) {
      try {
        scratch_ = b_->op->scratch_bytes(b_->op->self, kernel_, 1);
      } catch (...) {
        return absl::InternalError(absl::StrCat(b_->label, ": scratch_bytes threw"));
      }
      if (scratch_ > (size_t{1} << 32)) {
        return absl::ResourceExhaustedError(
            absl::StrCat(b_->label, ": asks for ", scratch_, " scratch bytes (most 4 GiB)"));
      }
    }
    return absl::OkStatus();
  }

  // ABI version 1 runs a plugin call on one thread: its scratch does not grow.
  size_t ScratchBytes(int) const override { return scratch_; }

  void Run(const kernels::RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    (void)TryRun(ctx, in, out);
  }

  absl::Status TryRun(const kernels::RunContext& ctx, std::span<const void* const> in,
                      std::span<void* const> out) const override {
    EnginePluginRunContext rc{ctx.scratch, ctx.scratch_bytes, 1};
    return Call(*b_, "run", [&](char* err) {
      return b_->op->run(b_->op->self, kernel_, &rc, in.data(), in.size(), out.data(),
                         out.size(), err, kErrCap);
    });
  }

 private:
  std::shared_ptr<const Binding> b_;
  void* kernel_ = nullptr;
  size_t scratch_ = 0;
};

absl::StatusOr<EnginePluginDeviceWork> Work(const Binding& b, const LayerView& layer) {
  ENGINE_ASSIGN_OR_RETURN(std::string blob, BlobOf(layer.attrs, b));
  ENGINE_ASSIGN_OR_RETURN(std::vector<EnginePluginTensorDesc> in, Descs(layer.inputs, b));
  ENGINE_ASSIGN_OR_RETURN(std::vector<EnginePluginTensorDesc> out, Descs(layer.outputs, b));
  EnginePluginDeviceWork w{};  // zero-filled: a version-1 plugin writes only the first members
  w.tile_unit = 1;
  ENGINE_RETURN_IF_ERROR(Call(b, "device_work", [&](char* err) {
    return b.op->device_work(b.op->self, blob.data(), blob.size(), in.data(), in.size(),
                             out.data(), out.size(), &w, err, kErrCap);
  }));
  if (!std::isfinite(w.ops_per_element) || w.ops_per_element < 0 || w.ops_per_element > 1e6 ||
      w.tile_unit < 1) {
    return absl::InternalError(absl::StrCat(b.label, ": device_work gave an invalid cost (",
                                            w.ops_per_element, " ops per element, tile unit ",
                                            w.tile_unit, ")"));
  }
  if (b.op->device_unit == ENGINE_PLUGIN_UNIT_ARRAY) {
    constexpr int64_t kMaxDim = int64_t{1} << 31;
    const int64_t dims[] = {w.gemm_groups, w.gemm_m, w.gemm_k, w.gemm_p};
    bool ok = std::isfinite(w.epilogue_ops_per_element) && w.epilogue_ops_per_element >= 0 &&
              w.epilogue_ops_per_element <= 1e6;
    double macs = 1;
    for (int64_t d : dims) {
      ok = ok && d >= 1 && d < kMaxDim;
      macs *= static_cast<double>(d);
    }
    if (!ok || macs > std::ldexp(1.0, 50) || layer.inputs.size() < 2 || !layer.Has(0) ||
        !layer.Has(1) || layer.outputs.empty()) {
      return absl::InternalError(absl::StrCat(
          b.label, ": device_work gave an invalid array product (", w.gemm_groups, " x [",
          w.gemm_p, " x ", w.gemm_k, "] x [", w.gemm_k, " x ", w.gemm_m, "], epilogue ",
          w.epilogue_ops_per_element,
          " ops per element; each dim in [1, 2^31), at most 2^50 MACs, inputs 0 and 1 present)"));
    }
  }
  return w;
}

// The OpDef of one plugin op.
OpDef MakeDef(std::shared_ptr<const Binding> b) {
  const EnginePluginOp& op = *b->op;
  OpDef def;
  def.type = b->type;
  def.domain = op.domain;
  def.min_opset = op.min_opset;
  def.max_opset = op.max_opset;
  def.import = [b](const ImportNode& node, ImportSink& sink) { return Import(*b, node, sink); };
  def.host.type = b->type;
  def.host.infer = [b](const Attributes& attrs, std::span<const kernels::TensorInfo> in) {
    return Infer(*b, attrs, in);
  };
  def.host.create = [b]() -> std::unique_ptr<kernels::Kernel> {
    return std::make_unique<PluginKernel>(b);
  };
  // A plugin may be impure or fail: never evaluated at build time.
  def.host.foldable = false;
  def.device.unit = op.device_unit == ENGINE_PLUGIN_UNIT_ARRAY ? hw::LayerKind::kArray
                    : op.device_unit == ENGINE_PLUGIN_UNIT_DMA ? hw::LayerKind::kDma
                                                                : hw::LayerKind::kVector;
  def.device.validate = [b](const LayerView& layer) { return Work(*b, layer).status(); };
  // ARRAY: the product the plugin declares, input 1 the stationary operand
  // (DescribeDeviceWork adds the operands' tensors and bytes).
  def.device.weight_input = 1;
  if (op.device_unit == ENGINE_PLUGIN_UNIT_ARRAY) def.device.gemm = [b](const LayerView& layer, hw::GemmWorkload& g) {
    auto w = Work(*b, layer);  // validated first by DescribeDeviceWork
    if (!w.ok()) return;
    g.groups = w->gemm_groups;
    g.m = w->gemm_m;
    g.k = w->gemm_k;
    g.p = w->gemm_p;
    g.out_w = g.p;
    g.epilogue_ops_per_element += w->epilogue_ops_per_element;
  };
  def.device.ops_per_element = [b](const LayerView& layer) {
    auto w = Work(*b, layer);  // validated first by DescribeDeviceWork
    return w.ok() ? w->ops_per_element : 0.0;
  };
  def.device.tile_unit = [b](const LayerView& layer) -> int64_t {
    auto w = Work(*b, layer);
    return w.ok() ? w->tile_unit : 1;
  };
  def.int8 = Int8Spec(op.int8_behaviour == ENGINE_PLUGIN_INT8_PASS_THROUGH
                          ? Int8Role::kPassThrough
                          : Int8Role::kFloat);
  return def;
}

bool IsIdentifier(const char* s) {
  if (s == nullptr || *s == '\0') return false;
  for (const char* p = s; *p != '\0'; ++p) {
    const char c = *p;
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
      return false;
    }
    if (p - s > 128) return false;
  }
  return true;
}

absl::Status CheckTable(const EnginePlugin* t, const std::string& origin) {
  const std::string where = absl::StrCat("plugin ", origin);
  if (t == nullptr) return absl::InvalidArgumentError(absl::StrCat(where, ": no plugin table"));
  if (t->abi_version < ENGINE_PLUGIN_MIN_ABI_VERSION || t->abi_version > ENGINE_PLUGIN_ABI_VERSION) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": built for plugin ABI version ", t->abi_version, ", this engine loads versions ",
        ENGINE_PLUGIN_MIN_ABI_VERSION, "..", ENGINE_PLUGIN_ABI_VERSION));
  }
  if (!IsIdentifier(t->name) || !IsIdentifier(t->version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": name and version must be non-empty [A-Za-z0-9_.-] strings"));
  }
  const std::string label = absl::StrCat("plugin '", t->name, "' (", origin, ")");
  if (t->num_ops == 0 || t->num_ops > 1024 || t->ops == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": 1..1024 ops expected, got ",
                                                   t->num_ops));
  }
  for (size_t i = 0; i < t->num_ops; ++i) {
    const EnginePluginOp& op = t->ops[i];
    const std::string which = absl::StrCat(label, " op ", i);
    if (!IsIdentifier(op.domain) || !IsIdentifier(op.op_type)) {
      return absl::InvalidArgumentError(
          absl::StrCat(which, ": domain and op type must be non-empty identifiers"));
    }
    if (std::string_view(op.domain) == "ai.onnx") {
      return absl::InvalidArgumentError(absl::StrCat(
          which, " (", op.op_type, "): a plugin op needs its own domain, not ai.onnx"));
    }
    if (op.min_opset < 1 || op.max_opset < op.min_opset) {
      return absl::InvalidArgumentError(absl::StrCat(which, " (", op.op_type,
                                                     "): empty opset range ", op.min_opset,
                                                     "..", op.max_opset));
    }
    if (!op.serialize_attributes || !op.infer || !op.prepare || !op.run || !op.destroy_kernel ||
        !op.device_work) {
      return absl::InvalidArgumentError(
          absl::StrCat(which, " (", op.op_type, "): a required function is NULL"));
    }
    const bool array = op.device_unit == ENGINE_PLUGIN_UNIT_ARRAY && t->abi_version >= 2;
    if (op.device_unit != ENGINE_PLUGIN_UNIT_VECTOR && op.device_unit != ENGINE_PLUGIN_UNIT_DMA &&
        !array) {
      return absl::InvalidArgumentError(absl::StrCat(which, " (", op.op_type,
                                                     "): unknown device unit ", op.device_unit,
                                                     " for plugin ABI version ", t->abi_version));
    }
    if (array && op.int8_behaviour != ENGINE_PLUGIN_INT8_FLOAT_ONLY) {
      return absl::InvalidArgumentError(absl::StrCat(
          which, " (", op.op_type, "): an array-unit op must be INT8 FLOAT_ONLY"));
    }
    if (op.int8_behaviour != ENGINE_PLUGIN_INT8_FLOAT_ONLY &&
        op.int8_behaviour != ENGINE_PLUGIN_INT8_PASS_THROUGH) {
      return absl::InvalidArgumentError(absl::StrCat(
          which, " (", op.op_type, "): unknown INT8 behaviour ", op.int8_behaviour));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const OpDef* FindPluginOp(std::string_view type) {
  Table& t = Plugins();
  std::shared_lock lock(t.mu);
  auto it = t.defs.find(type);
  return it == t.defs.end() ? nullptr : it->second.get();
}

std::vector<const OpDef*> PluginOps() {
  Table& t = Plugins();
  std::shared_lock lock(t.mu);
  std::vector<const OpDef*> out;
  for (const auto& [type, def] : t.defs) out.push_back(def.get());
  return out;
}

std::optional<PluginInfo> PluginOfType(std::string_view type) {
  Table& t = Plugins();
  std::shared_lock lock(t.mu);
  auto it = t.plugin_of_type.find(type);
  if (it == t.plugin_of_type.end()) return std::nullopt;
  for (const PluginInfo& p : t.plugins) {
    if (p.name == it->second) return p;
  }
  return std::nullopt;
}

absl::Status CheckPluginAvailable(const std::string& name, const std::string& version) {
  Table& t = Plugins();
  std::shared_lock lock(t.mu);
  for (const PluginInfo& p : t.plugins) {
    if (p.name != name) continue;
    if (p.version == version) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("the plan needs plugin '", name, "' version ", version, ", but version ",
                     p.version, " is loaded (", p.path, ")"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("the plan needs plugin '", name, "' version ", version,
                   ", which is not loaded (load it first: trtexec_like --plugins=<lib.so>, "
                   "engine::LoadPlugin, or engine.load_plugin in Python)"));
}

}  // namespace engine::ops

namespace engine {

absl::StatusOr<PluginInfo> RegisterPlugin(const EnginePlugin* table, const std::string& origin) {
  ENGINE_RETURN_IF_ERROR(ops::CheckTable(table, origin));
  const std::string name = table->name;
  const std::string version = table->version;
  PluginInfo info{name, version, origin, {}};
  for (size_t i = 0; i < table->num_ops; ++i) {
    info.ops.push_back(absl::StrCat(table->ops[i].domain, "::", table->ops[i].op_type));
  }
  // Built-in records are immutable: look them up before taking the lock
  // (OpRegistry::Find also reads the plugin table).
  const ops::OpRegistry& builtin = ops::OpRegistry::Builtin();
  for (size_t i = 0; i < table->num_ops; ++i) {
    const std::string type = table->ops[i].op_type;
    const ops::OpDef* def = builtin.Find(type);
    if (def != nullptr && def != ops::FindPluginOp(type)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "plugin '", name, "' (", origin, "): op type '", type,
          "' is a built-in layer type; a plugin cannot replace a built-in op (rename it)"));
    }
  }
  ops::Table& t = ops::Plugins();
  std::unique_lock lock(t.mu);
  for (const PluginInfo& p : t.plugins) {
    if (p.name != name) continue;
    if (p.version == version) return p;  // loaded already: a no-op
    return absl::AlreadyExistsError(absl::StrCat("plugin '", name, "' version ", version, " (",
                                                 origin, "): version ", p.version,
                                                 " is already loaded (", p.path, ")"));
  }
  for (size_t i = 0; i < table->num_ops; ++i) {
    const std::string type = table->ops[i].op_type;
    auto taken = t.plugin_of_type.find(type);
    if (taken != t.plugin_of_type.end()) {
      return absl::AlreadyExistsError(absl::StrCat("plugin '", name, "' (", origin, "): op type '",
                                                   type, "' is already registered by plugin '",
                                                   taken->second, "'"));
    }
  }
  for (size_t i = 0; i < table->num_ops; ++i) {
    auto b = std::make_shared<ops::Binding>();
    b->op = &table->ops[i];
    b->plugin = name;
    b->version = version;
    b->type = table->ops[i].op_type;
    b->label = absl::StrCat("plugin '", name, "' op '", table->ops[i].domain, "::", b->type, "'");
    t.defs.emplace(b->type, std::make_unique<ops::OpDef>(ops::MakeDef(b)));
    t.plugin_of_type.emplace(b->type, name);
  }
  t.plugins.push_back(info);
  return info;
}

absl::StatusOr<PluginInfo> LoadPlugin(const std::string& path) {
  struct stat sb;
  if (path.find('/') != std::string::npos && ::stat(path.c_str(), &sb) != 0) {
    return absl::NotFoundError(absl::StrCat("plugin library '", path, "' does not exist"));
  }
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* e = dlerror();
    return absl::InvalidArgumentError(
        absl::StrCat("plugin library '", path, "' cannot be loaded: ", e ? e : "dlopen failed"));
  }
  auto get = reinterpret_cast<EnginePluginGetFn>(dlsym(handle, ENGINE_PLUGIN_ENTRY_POINT));
  if (get == nullptr) {
    dlclose(handle);
    return absl::InvalidArgumentError(absl::StrCat("plugin library '", path, "' has no ",
                                                   ENGINE_PLUGIN_ENTRY_POINT,
                                                   " entry point (extern \"C\")"));
  }
  // This host's ABI version first, then each older one it still loads.
  const EnginePlugin* table = nullptr;
  for (uint32_t v = ENGINE_PLUGIN_ABI_VERSION; table == nullptr && v >= ENGINE_PLUGIN_MIN_ABI_VERSION;
       --v) {
    try {
      table = get(v);
    } catch (...) {
      return absl::InvalidArgumentError(
          absl::StrCat("plugin library '", path, "': ", ENGINE_PLUGIN_ENTRY_POINT, " threw"));
    }
  }
  if (table == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plugin library '", path, "': ", ENGINE_PLUGIN_ENTRY_POINT,
        " returned no table for plugin ABI versions ", ENGINE_PLUGIN_MIN_ABI_VERSION, "..",
        ENGINE_PLUGIN_ABI_VERSION, " (built for a newer engine?)"));
  }
  // The library stays loaded (its ops may be referenced by any engine).
  return RegisterPlugin(table, path);
}

absl::Status LoadPlugins(const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    absl::StatusOr<PluginInfo> info = LoadPlugin(p);
    if (!info.ok()) return info.status();
  }
  return absl::OkStatus();
}

std::vector<PluginInfo> LoadedPlugins() {
  ops::Table& t = ops::Plugins();
  std::shared_lock lock(t.mu);
  return t.plugins;
}

}  // namespace engine
