// The plugin interface: custom operators loaded into the engine at run time
// (TensorRT's IPluginV3 + `--dynamicPlugins`, MagicMind's custom operators).
//
// A plugin is a shared library that exports one C function,
//
//   extern "C" const EnginePlugin* engine_plugin_get(uint32_t host_abi_version);
//
// returning a static table: the plugin's name and version and its ops. Each op
// (EnginePluginOp) is the public counterpart of the engine's own
// one-definition-per-op record (src/ops/op_def.h): ONNX identity (domain, op
// type, opset range), shape/dtype inference, a host kernel with the built-in
// kernels' Prepare/Run split and scratch memory, the accelerator mapping (a
// decomposition into systolic-array, vector-unit or DMA work that the codegen
// tiles, lowers and costs like any built-in layer, so the layer has modeled
// cycles, bytes and energy), its INT8 behaviour, and the serialization of its
// attributes into the plan.
//
// The C table is the ABI: plain C types, no exceptions across it, versioned by
// ENGINE_PLUGIN_ABI_VERSION. The host calls the entry point with its own
// version and, when the plugin returns NULL, with each older version it
// still loads (down to ENGINE_PLUGIN_MIN_ABI_VERSION); it refuses a table of
// a version outside that range.
// No engine-internal, IR, FlatBuffers or ONNX type appears here, and a
// plugin needs neither absl nor the engine's libraries: this header alone.
// C++ authors normally write an engine::plugin::Op subclass (below) and export
// it with ENGINE_PLUGIN_EXPORT, which builds the table and turns every C++
// exception into an error return. See docs/plugins.md and
// examples/plugins/.
#ifndef ENGINE_PLUGIN_H_
#define ENGINE_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Version of the C table layout this header describes.
///   1: vector-unit and DMA layers.
///   2: adds the systolic-array unit (ENGINE_PLUGIN_UNIT_ARRAY) and the
///      product fields at the end of EnginePluginDeviceWork; every other
///      layout is version 1's, so a version-2 host loads version-1 plugins.
#define ENGINE_PLUGIN_ABI_VERSION 2u
/// The oldest plugin ABI version this host loads.
#define ENGINE_PLUGIN_MIN_ABI_VERSION 1u
/// Largest tensor rank the interface carries.
#define ENGINE_PLUGIN_MAX_RANK 8
/// Name of the exported entry point (what dlsym looks up).
#define ENGINE_PLUGIN_ENTRY_POINT "engine_plugin_get"

/// Return codes of every table function.
#define ENGINE_PLUGIN_OK 0
#define ENGINE_PLUGIN_ERROR 1

/// Element types: the ONNX TensorProto.DataType codes (1 float32, 3 int8,
/// 6 int32, 7 int64, 9 bool, ...), as engine::DataType.
typedef int32_t EnginePluginDataType;

/// One input or output of a layer. `shape` is static (every dim >= 0).
/// `data` is the value of a constant input during infer / prepare (dense,
/// row-major; valid only during the call), else NULL. `present` is 0 for an
/// absent optional input.
typedef struct EnginePluginTensorDesc {
  EnginePluginDataType dtype;
  int32_t rank;
  int64_t dims[ENGINE_PLUGIN_MAX_RANK];
  const void* data;
  int32_t present;
} EnginePluginTensorDesc;

/// Attribute kinds (ONNX's INT, FLOAT, STRING, INTS, FLOATS).
#define ENGINE_PLUGIN_ATTR_INT 0
#define ENGINE_PLUGIN_ATTR_FLOAT 1
#define ENGINE_PLUGIN_ATTR_STRING 2
#define ENGINE_PLUGIN_ATTR_INTS 3
#define ENGINE_PLUGIN_ATTR_FLOATS 4

/// One ONNX node attribute as the importer hands it to the plugin; only the
/// members of `kind` are meaningful (`count` elements of `ints` / `floats`,
/// `s` of `count` bytes, not NUL-terminated).
typedef struct EnginePluginAttribute {
  const char* name;
  int32_t kind;
  int64_t i;
  float f;
  const char* s;
  const int64_t* ints;
  const float* floats;
  size_t count;
} EnginePluginAttribute;

/// Accelerator units a plugin layer may run on.
/// ARRAY (ABI >= 2): a matrix product on the systolic array, as a built-in
///   MatMul / Conv: per call `gemm_groups` independent products
///   [gemm_p x gemm_k] x [gemm_k x gemm_m] (P rows streamed from input 0, the
///   activation; K the reduction; M the columns of the stationary operand,
///   input 1, e.g. the weights), plus `epilogue_ops_per_element` vector
///   operations per output element applied to each finished accumulator tile
///   (a fused bias, activation or scale). The codegen chooses the dataflow
///   and tiling and times the fill, compute and drain of each fold as for the
///   built-in products (Samajdar et al., "A Systematic Methodology for
///   Characterizing Scalability of DNN Accelerators using SCALE-Sim", ISPASS
///   2020); bytes are input 0, input 1 and output 0 (fp32, fp16/bf16 or int8
///   by the output's type). Inputs 0 and 1 must be present.
/// VECTOR: `ops_per_element` operations per output element on the vector
///   unit, tiled in whole multiples of `tile_unit` output elements (e.g. a
///   row); every input and output is moved between DRAM and the buffers once.
///   The codegen lowers it to LOAD / VECTOR / STORE instructions and the
///   device model gives its cycles, DRAM/SRAM bytes and energy
///   (docs/accelerator_model.md).
/// DMA: pure data movement (a copy or permutation): loads and stores only.
#define ENGINE_PLUGIN_UNIT_ARRAY 1
#define ENGINE_PLUGIN_UNIT_VECTOR 2
#define ENGINE_PLUGIN_UNIT_DMA 3

/// The accelerator mapping of one layer (the cost of one call) on the op's
/// EnginePluginOp::device_unit.
/// The host zero-fills it before the call, so a version-1 plugin (which
/// writes only the first two members) leaves the array members 0.
typedef struct EnginePluginDeviceWork {
  double ops_per_element;  ///< VECTOR: operations per output element, in [0, 1e6]; DMA: ignored
  int64_t tile_unit;       ///< output elements a tile holds a multiple of (>= 1)
  // ABI >= 2, ARRAY only (see ENGINE_PLUGIN_UNIT_ARRAY); each product dim in
  // [1, 2^31), gemm_groups * gemm_m * gemm_k * gemm_p <= 2^50 MACs.
  int64_t gemm_groups;              ///< independent products per call (>= 1)
  int64_t gemm_m;                   ///< columns of the stationary operand (input 1)
  int64_t gemm_k;                   ///< reduction length
  int64_t gemm_p;                   ///< rows streamed from input 0 (all images of the batch)
  double epilogue_ops_per_element;  ///< vector ops per output element after the product, [0, 1e6]
} EnginePluginDeviceWork;

/// INT8 behaviour in implicit-quantization (INT8) builds.
/// FLOAT_ONLY: the layer stays float32 (dequantized inputs, float outputs).
/// PASS_THROUGH: the op commutes with a positive per-tensor scale
///   (f(s*x) = s*f(x), e.g. a max or a copy): it runs on int8 data at its
///   input's scale; the kernel then also accepts dtype int8 (3).
#define ENGINE_PLUGIN_INT8_FLOAT_ONLY 0
#define ENGINE_PLUGIN_INT8_PASS_THROUGH 1

/// Per-call resources for run: `scratch` holds at least scratch_bytes(kernel,
/// threads) bytes, 64-byte aligned, private to the call.
typedef struct EnginePluginRunContext {
  void* scratch;
  size_t scratch_bytes;
  int32_t threads;  ///< always 1 in ABI version 1 (the call runs on one thread)
} EnginePluginRunContext;

/// One custom operator. Every function receives `self` (the op's own
/// pointer), returns ENGINE_PLUGIN_OK or ENGINE_PLUGIN_ERROR and, on error,
/// writes a NUL-terminated message of at most `err_cap` bytes into `err`.
/// `blob`/`blob_size` are the op's attributes as serialize_attributes wrote
/// them (stored in the plan; the only attribute data later calls see).
typedef struct EnginePluginOp {
  void* self;
  const char* domain;   ///< ONNX domain, e.g. "com.example" (never "" or "ai.onnx")
  const char* op_type;  ///< ONNX op type; also the engine's layer type
  int32_t min_opset;    ///< opsets of `domain` implemented
  int32_t max_opset;
  int32_t int8_behaviour;  ///< ENGINE_PLUGIN_INT8_*
  int32_t device_unit;     ///< ENGINE_PLUGIN_UNIT_* (ARRAY needs abi_version >= 2)

  /// Turns the node's ONNX attributes into the op's own bytes (validating
  /// them): writes at most `cap` bytes into `out` and the needed size into
  /// `*size`; when *size > cap the host calls again with a larger buffer.
  int (*serialize_attributes)(void* self, const EnginePluginAttribute* attrs, size_t num_attrs,
                              void* out, size_t cap, size_t* size, char* err, size_t err_cap);
  /// Shape and dtype inference: fills out[0..*num_outputs) (at most
  /// `max_outputs`) from the inputs (`data` set for constant inputs).
  int (*infer)(void* self, const void* blob, size_t blob_size, const EnginePluginTensorDesc* in,
               size_t num_inputs, EnginePluginTensorDesc* out, size_t max_outputs,
               size_t* num_outputs, char* err, size_t err_cap);
  /// Prepare: validates and precomputes, returning a kernel object in
  /// `*kernel` (any pointer, owned by the plugin until destroy_kernel).
  int (*prepare)(void* self, const void* blob, size_t blob_size, const EnginePluginTensorDesc* in,
                 size_t num_inputs, const EnginePluginTensorDesc* out, size_t num_outputs,
                 void** kernel, char* err, size_t err_cap);
  /// Scratch bytes run needs with `threads` threads (may be NULL: none).
  size_t (*scratch_bytes)(void* self, const void* kernel, int32_t threads);
  /// Run: reads `in` (NULL for an absent input), writes `out` (dense,
  /// row-major, the shapes given to prepare). May be called from several
  /// threads at once on one kernel: must not mutate it.
  int (*run)(void* self, const void* kernel, const EnginePluginRunContext* ctx,
             const void* const* in, size_t num_inputs, void* const* out, size_t num_outputs,
             char* err, size_t err_cap);
  void (*destroy_kernel)(void* self, void* kernel);
  /// The accelerator mapping of a layer with these inputs and outputs.
  int (*device_work)(void* self, const void* blob, size_t blob_size,
                     const EnginePluginTensorDesc* in, size_t num_inputs,
                     const EnginePluginTensorDesc* out, size_t num_outputs,
                     EnginePluginDeviceWork* work, char* err, size_t err_cap);
} EnginePluginOp;

/// What engine_plugin_get returns; static, valid while the library is loaded
/// (the host never unloads it).
typedef struct EnginePlugin {
  uint32_t abi_version;  ///< the table's layout version (the plugin's ENGINE_PLUGIN_ABI_VERSION)
  const char* name;      ///< unique plugin name, e.g. "example_activations"
  const char* version;   ///< plugin version; a plan records it and must match it
  size_t num_ops;
  const EnginePluginOp* ops;
} EnginePlugin;

/// The entry point's type. `host_abi_version` is the ABI version the host asks
/// for (its own first, then older ones it loads); a plugin returns NULL when
/// it cannot serve that version.
typedef const EnginePlugin* (*EnginePluginGetFn)(uint32_t host_abi_version);

#ifdef __cplusplus
}  // extern "C"

// ---------------------------------------------------------------------------
// C++ authoring layer (header-only, compiled into the plugin): subclass Op,
// throw std::exception (e.g. std::invalid_argument) for errors, and export
// the ops with ENGINE_PLUGIN_EXPORT(name, version, op_objects...).

#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace engine::plugin {

/// A tensor descriptor on the C++ side: dtype (ONNX code), static shape,
/// constant value or nullptr, present flag.
struct TensorDesc {
  EnginePluginDataType dtype = 0;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  bool present = true;

  /// Number of elements (product of the dims; 1 for a scalar).
  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

/// The ONNX node's attributes, as handed to Op::SerializeAttributes.
using Attributes = std::span<const EnginePluginAttribute>;

/// Finds attribute `name`, or nullptr.
inline const EnginePluginAttribute* FindAttribute(Attributes attrs, std::string_view name) {
  for (const EnginePluginAttribute& a : attrs) {
    if (a.name != nullptr && name == a.name) return &a;
  }
  return nullptr;
}

/// A prepared kernel (the Prepare/Run split of the built-in kernels).
class Kernel {
 public:
  virtual ~Kernel() = default;
  /// Scratch bytes Run needs with `threads` threads; non-decreasing.
  virtual size_t ScratchBytes(int threads) const { return 0; }
  /// Computes the outputs; const: may run on several threads at once.
  /// Throws on failure (reported as an error naming the plugin and layer).
  virtual void Run(const EnginePluginRunContext& ctx, std::span<const void* const> in,
                   std::span<void* const> out) const = 0;
};

/// One custom operator. Every method may throw std::exception to report an
/// error (its what() becomes the message).
class Op {
 public:
  virtual ~Op() = default;
  virtual const char* domain() const = 0;
  virtual const char* op_type() const = 0;
  virtual int min_opset() const { return 1; }
  virtual int max_opset() const { return 1; }
  virtual int int8_behaviour() const { return ENGINE_PLUGIN_INT8_FLOAT_ONLY; }
  virtual int device_unit() const { return ENGINE_PLUGIN_UNIT_VECTOR; }
  /// The op's own attribute bytes, stored in the plan.
  virtual std::string SerializeAttributes(Attributes attrs) const = 0;
  virtual std::vector<TensorDesc> Infer(std::string_view blob,
                                        std::span<const TensorDesc> in) const = 0;
  virtual std::unique_ptr<Kernel> Prepare(std::string_view blob, std::span<const TensorDesc> in,
                                          std::span<const TensorDesc> out) const = 0;
  virtual EnginePluginDeviceWork DeviceWork(std::string_view blob, std::span<const TensorDesc> in,
                                            std::span<const TensorDesc> out) const = 0;
};

namespace detail {

inline void SetError(char* err, size_t cap, const char* msg) {
  if (err == nullptr || cap == 0) return;
  std::strncpy(err, msg, cap - 1);
  err[cap - 1] = '\0';
}

// Runs `f`, turning any exception into ENGINE_PLUGIN_ERROR with its message.
template <typename F>
int Guard(char* err, size_t cap, F&& f) {
  try {
    f();
    return ENGINE_PLUGIN_OK;
  } catch (const std::exception& e) {
    SetError(err, cap, e.what());
  } catch (...) {
    SetError(err, cap, "unknown exception");
  }
  return ENGINE_PLUGIN_ERROR;
}

inline std::vector<TensorDesc> ToCpp(const EnginePluginTensorDesc* d, size_t n) {
  std::vector<TensorDesc> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i].dtype = d[i].dtype;
    v[i].shape.assign(d[i].dims, d[i].dims + (d[i].rank > 0 ? d[i].rank : 0));
    v[i].data = d[i].data;
    v[i].present = d[i].present != 0;
  }
  return v;
}

inline Op* Self(void* self) { return static_cast<Op*>(self); }
inline std::string_view Blob(const void* b, size_t n) {
  return n == 0 ? std::string_view() : std::string_view(static_cast<const char*>(b), n);
}

inline int Serialize(void* self, const EnginePluginAttribute* attrs, size_t n, void* out,
                     size_t cap, size_t* size, char* err, size_t err_cap) {
  return Guard(err, err_cap, [&] {
    std::string s = Self(self)->SerializeAttributes(Attributes(attrs, n));
    *size = s.size();
    if (s.size() <= cap && !s.empty()) std::memcpy(out, s.data(), s.size());
  });
}

inline int Infer(void* self, const void* blob, size_t blob_size, const EnginePluginTensorDesc* in,
                 size_t nin, EnginePluginTensorDesc* out, size_t max_out, size_t* nout, char* err,
                 size_t err_cap) {
  return Guard(err, err_cap, [&] {
    std::vector<TensorDesc> r = Self(self)->Infer(Blob(blob, blob_size), ToCpp(in, nin));
    if (r.size() > max_out) throw std::length_error("more outputs than the host allows (" + std::to_string(r.size()) + ")");
    for (size_t i = 0; i < r.size(); ++i) {
      if (r[i].shape.size() > ENGINE_PLUGIN_MAX_RANK) throw std::length_error("rank > 8");
      out[i] = EnginePluginTensorDesc{};
      out[i].dtype = r[i].dtype;
      out[i].rank = static_cast<int32_t>(r[i].shape.size());
      for (size_t d = 0; d < r[i].shape.size(); ++d) out[i].dims[d] = r[i].shape[d];
      out[i].present = 1;
    }
    *nout = r.size();
  });
}

inline int Prepare(void* self, const void* blob, size_t blob_size, const EnginePluginTensorDesc* in,
                   size_t nin, const EnginePluginTensorDesc* out, size_t nout, void** kernel,
                   char* err, size_t err_cap) {
  return Guard(err, err_cap, [&] {
    *kernel = Self(self)
                  ->Prepare(Blob(blob, blob_size), ToCpp(in, nin), ToCpp(out, nout))
                  .release();
  });
}

inline size_t Scratch(void*, const void* kernel, int32_t threads) {
  try {
    return static_cast<const Kernel*>(kernel)->ScratchBytes(threads);
  } catch (...) {
    return 0;
  }
}

inline int Run(void*, const void* kernel, const EnginePluginRunContext* ctx, const void* const* in,
               size_t nin, void* const* out, size_t nout, char* err, size_t err_cap) {
  return Guard(err, err_cap, [&] {
    static_cast<const Kernel*>(kernel)->Run(*ctx, std::span<const void* const>(in, nin),
                                            std::span<void* const>(out, nout));
  });
}

inline void Destroy(void*, void* kernel) { delete static_cast<Kernel*>(kernel); }

inline int Work(void* self, const void* blob, size_t blob_size, const EnginePluginTensorDesc* in,
                size_t nin, const EnginePluginTensorDesc* out, size_t nout,
                EnginePluginDeviceWork* work, char* err, size_t err_cap) {
  return Guard(err, err_cap, [&] {
    *work = Self(self)->DeviceWork(Blob(blob, blob_size), ToCpp(in, nin), ToCpp(out, nout));
  });
}

}  // namespace detail

/// The C table entry of `op` (which must outlive the library: make it static).
inline EnginePluginOp MakeOpTable(Op& op) {
  EnginePluginOp t{};
  t.self = &op;
  t.domain = op.domain();
  t.op_type = op.op_type();
  t.min_opset = op.min_opset();
  t.max_opset = op.max_opset();
  t.int8_behaviour = op.int8_behaviour();
  t.device_unit = op.device_unit();
  t.serialize_attributes = &detail::Serialize;
  t.infer = &detail::Infer;
  t.prepare = &detail::Prepare;
  t.scratch_bytes = &detail::Scratch;
  t.run = &detail::Run;
  t.destroy_kernel = &detail::Destroy;
  t.device_work = &detail::Work;
  return t;
}

}  // namespace engine::plugin

/// Defines the plugin's entry point for C++ ops: ENGINE_PLUGIN_EXPORT("name",
/// "1.0.0", op1, op2) where op1, op2 are objects of engine::plugin::Op
/// subclasses with static storage duration. The table (of this header's ABI
/// version) is served to hosts of that version or newer; an older host gets
/// NULL and reports the plugin as built for a newer ABI.
#define ENGINE_PLUGIN_EXPORT(NAME, VERSION, ...)                                        \
  extern "C" __attribute__((visibility("default"))) const EnginePlugin* engine_plugin_get( \
      uint32_t host_abi_version) {                                                      \
    if (host_abi_version < ENGINE_PLUGIN_ABI_VERSION) return nullptr; /* host too old */ \
    static ::engine::plugin::Op* const kOps[] = {__VA_ARGS__};                          \
    static const std::vector<EnginePluginOp> kTables = [] {                             \
      std::vector<EnginePluginOp> v;                                                    \
      for (::engine::plugin::Op* op : kOps) v.push_back(::engine::plugin::MakeOpTable(*op)); \
      return v;                                                                         \
    }();                                                                                \
    static const EnginePlugin kPlugin{ENGINE_PLUGIN_ABI_VERSION, NAME, VERSION,         \
                                      kTables.size(), kTables.data()};                  \
    return &kPlugin;                                                                    \
  }

#endif  // __cplusplus

#endif  // ENGINE_PLUGIN_H_
