// A deliberately misbehaving plugin for the containment tests
// (tests/e2e/plugin_test.sh, tests/ops/plugin_ops_test.cc):
// com.test::Misbehave copies its float32 input to its output, except as its
// string attribute "mode" says:
//   ok            behaves;
//   import_error  serialize_attributes throws (import);
//   infer_error   infer reports an error;
//   wrong_shape   infer gives the output a negative dim;
//   many_outputs  infer returns 17 outputs (more than the 16 the host allows);
//   prepare_error prepare throws;
//   run_error     run reports an error;
//   run_throw     run throws (caught by the C++ layer: an error return);
//   raw_throw     run throws straight through the C ABI (a plugin without the
//                 C++ layer); the host's guard catches it;
//   bad_cost      device_work gives a negative cost.
#include <cstring>
#include <stdexcept>
#include <string>

#include "engine/plugin.h"

namespace {

std::string Mode(std::string_view blob) { return std::string(blob); }

class CopyKernel final : public engine::plugin::Kernel {
 public:
  CopyKernel(std::string mode, int64_t n) : mode_(std::move(mode)), n_(n) {}
  void Run(const EnginePluginRunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    if (mode_ == "run_throw") throw std::runtime_error("kernel exploded (run_throw)");
    std::memcpy(out[0], in[0], static_cast<size_t>(n_) * sizeof(float));
  }

 private:
  std::string mode_;
  int64_t n_;
};

class Misbehave final : public engine::plugin::Op {
 public:
  const char* domain() const override { return "com.test"; }
  const char* op_type() const override { return "Misbehave"; }
  std::string SerializeAttributes(engine::plugin::Attributes attrs) const override {
    const EnginePluginAttribute* a = engine::plugin::FindAttribute(attrs, "mode");
    std::string mode = a && a->kind == ENGINE_PLUGIN_ATTR_STRING ? std::string(a->s, a->count) : "ok";
    if (mode == "import_error") throw std::invalid_argument("bad attributes (import_error)");
    return mode;
  }
  std::vector<engine::plugin::TensorDesc> Infer(
      std::string_view blob, std::span<const engine::plugin::TensorDesc> in) const override {
    const std::string mode = Mode(blob);
    if (mode == "infer_error") throw std::invalid_argument("cannot infer (infer_error)");
    // A plan's layer may name any number of inputs (the plan-loader fuzzer
    // found that this check was missing).
    if (in.size() != 1 || in[0].dtype != 1) throw std::invalid_argument("expects one float32 input");
    engine::plugin::TensorDesc out{1, in[0].shape, nullptr, true};
    if (mode == "wrong_shape") out.shape[0] = -3;
    if (mode == "many_outputs") return std::vector<engine::plugin::TensorDesc>(17, out);
    return {out};
  }
  std::unique_ptr<engine::plugin::Kernel> Prepare(
      std::string_view blob, std::span<const engine::plugin::TensorDesc> in,
      std::span<const engine::plugin::TensorDesc>) const override {
    const std::string mode = Mode(blob);
    if (mode == "prepare_error") throw std::runtime_error("cannot prepare (prepare_error)");
    if (in.size() != 1) throw std::invalid_argument("expects one input");
    return std::make_unique<CopyKernel>(mode, in[0].elements());
  }
  EnginePluginDeviceWork DeviceWork(std::string_view blob,
                                    std::span<const engine::plugin::TensorDesc>,
                                    std::span<const engine::plugin::TensorDesc>) const override {
    return EnginePluginDeviceWork{Mode(blob) == "bad_cost" ? -1.0 : 1.0, 1};
  }
};

Misbehave g_misbehave;

// The C++ layer's prepare and run, wrapped by the C-level ones below.
int (*g_cpp_run)(void*, const void*, const EnginePluginRunContext*, const void* const*, size_t,
                 void* const*, size_t, char*, size_t) = nullptr;

}  // namespace

// The main table: Misbehave, with run wrapped so that modes run_error and
// raw_throw act at the C level.
namespace {
struct Tables {
  EnginePluginOp misbehave;
  EnginePlugin plugin;
};

// The C-level kernel: the C++ kernel and the mode.
int (*g_cpp_prepare)(void*, const void*, size_t, const EnginePluginTensorDesc*, size_t,
                     const EnginePluginTensorDesc*, size_t, void**, char*, size_t) = nullptr;

struct Wrapped {
  void* cpp_kernel;
  std::string mode;
};

int CPrepare(void* self, const void* blob, size_t blob_size, const EnginePluginTensorDesc* in,
             size_t nin, const EnginePluginTensorDesc* out, size_t nout, void** kernel, char* err,
             size_t cap) {
  void* k = nullptr;
  int rc = g_cpp_prepare(self, blob, blob_size, in, nin, out, nout, &k, err, cap);
  if (rc != ENGINE_PLUGIN_OK) return rc;
  *kernel = new Wrapped{k, std::string(static_cast<const char*>(blob), blob_size)};
  return ENGINE_PLUGIN_OK;
}

void CDestroy(void* self, void* kernel) {
  auto* w = static_cast<Wrapped*>(kernel);
  engine::plugin::detail::Destroy(self, w->cpp_kernel);
  delete w;
}

int CRun(void* self, const void* kernel, const EnginePluginRunContext* ctx, const void* const* in,
         size_t nin, void* const* out, size_t nout, char* err, size_t cap) {
  const auto* w = static_cast<const Wrapped*>(kernel);
  if (w->mode == "run_error") {
    engine::plugin::detail::SetError(err, cap, "the device is on fire (run_error)");
    return ENGINE_PLUGIN_ERROR;
  }
  if (w->mode == "raw_throw") throw std::runtime_error("thrown through the C ABI (raw_throw)");
  return g_cpp_run(self, w->cpp_kernel, ctx, in, nin, out, nout, err, cap);
}

size_t CScratch(void*, const void*, int32_t) { return 0; }

Tables MakeTables() {
  Tables t{};
  t.misbehave = engine::plugin::MakeOpTable(g_misbehave);
  g_cpp_prepare = t.misbehave.prepare;
  g_cpp_run = t.misbehave.run;
  t.misbehave.prepare = &CPrepare;
  t.misbehave.run = &CRun;
  t.misbehave.destroy_kernel = &CDestroy;
  t.misbehave.scratch_bytes = &CScratch;
  return t;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const EnginePlugin* engine_plugin_get(
    uint32_t host_abi_version) {
  if (host_abi_version != ENGINE_PLUGIN_ABI_VERSION) return nullptr;
  static Tables t = MakeTables();
  static const EnginePlugin plugin{ENGINE_PLUGIN_ABI_VERSION, "misbehaving", "0.1", 1,
                                   &t.misbehave};
  return &plugin;
}
