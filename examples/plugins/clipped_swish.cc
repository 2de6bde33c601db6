// Example plugin: com.example::ClippedSwish, a fused custom activation
//
//   y = min(max(x * sigmoid(beta * x), lo), hi)        (elementwise, float32)
//
// attributes: beta (float, default 1), lo (float, default -inf), hi (float,
// default 6). It is the Swish / SiLU activation (Ramachandran et al.,
// "Searching for Activation Functions", 2017) with the clip that int8-friendly
// mobile networks add (as ReLU6 bounds ReLU), fused into one layer instead of
// the four ONNX nodes Mul(x, Sigmoid(Mul(x, beta))) + Clip.
//
// Built against the installed engine package only (CMakeLists.txt:
// find_package(engine) and the header-only engine::plugin_api target); loaded
// with trtexec_like --plugins=libclipped_swish.so, engine::LoadPlugin or
// engine.load_plugin in Python. See docs/plugins.md.
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "engine/plugin.h"

namespace {

constexpr int32_t kFloat32 = 1;  // ONNX TensorProto.FLOAT

// The op's own attributes: what serialize_attributes stores in the plan.
struct Params {
  float beta = 1.0f;
  float lo = -std::numeric_limits<float>::infinity();
  float hi = 6.0f;
};

Params Decode(std::string_view blob) {
  Params p;
  if (blob.size() != sizeof(Params)) {
    throw std::invalid_argument("serialized attributes of " + std::to_string(blob.size()) +
                                " bytes, expected " + std::to_string(sizeof(Params)));
  }
  std::memcpy(&p, blob.data(), sizeof(Params));
  return p;
}

class ClippedSwishKernel final : public engine::plugin::Kernel {
 public:
  ClippedSwishKernel(Params p, int64_t n) : p_(p), n_(n) {}

  // One pass over the elements; no scratch.
  void Run(const EnginePluginRunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    float* y = static_cast<float*>(out[0]);
    for (int64_t i = 0; i < n_; ++i) {
      const float v = x[i] / (1.0f + std::exp(-p_.beta * x[i]));
      y[i] = std::fmin(std::fmax(v, p_.lo), p_.hi);
    }
  }

 private:
  Params p_;
  int64_t n_;
};

class ClippedSwish final : public engine::plugin::Op {
 public:
  const char* domain() const override { return "com.example"; }
  const char* op_type() const override { return "ClippedSwish"; }
  int min_opset() const override { return 1; }
  int max_opset() const override { return 1; }
  // Not scale-commuting (the sigmoid): stays float32 in INT8 builds.
  int int8_behaviour() const override { return ENGINE_PLUGIN_INT8_FLOAT_ONLY; }
  int device_unit() const override { return ENGINE_PLUGIN_UNIT_VECTOR; }

  std::string SerializeAttributes(engine::plugin::Attributes attrs) const override {
    Params p;
    for (const EnginePluginAttribute& a : attrs) {
      const std::string name = a.name;
      if (name != "beta" && name != "lo" && name != "hi") {
        throw std::invalid_argument("unknown attribute '" + name + "'");
      }
      if (a.kind != ENGINE_PLUGIN_ATTR_FLOAT) {
        throw std::invalid_argument("attribute '" + name + "' must be a float");
      }
      (name == "beta" ? p.beta : name == "lo" ? p.lo : p.hi) = a.f;
    }
    if (!(p.lo <= p.hi)) throw std::invalid_argument("attribute lo must be <= hi");
    return std::string(reinterpret_cast<const char*>(&p), sizeof(p));
  }

  std::vector<engine::plugin::TensorDesc> Infer(
      std::string_view blob, std::span<const engine::plugin::TensorDesc> in) const override {
    Decode(blob);
    if (in.size() != 1 || !in[0].present) throw std::invalid_argument("expects one input X");
    if (in[0].dtype != kFloat32) throw std::invalid_argument("X must be float32");
    return {engine::plugin::TensorDesc{kFloat32, in[0].shape, nullptr, true}};
  }

  std::unique_ptr<engine::plugin::Kernel> Prepare(
      std::string_view blob, std::span<const engine::plugin::TensorDesc> in,
      std::span<const engine::plugin::TensorDesc> out) const override {
    const Params p = Decode(blob);
    if (in.size() != 1 || out.size() != 1 || in[0].shape != out[0].shape ||
        in[0].dtype != kFloat32 || out[0].dtype != kFloat32) {
      throw std::invalid_argument("expects one float32 input and an output of its shape");
    }
    return std::make_unique<ClippedSwishKernel>(p, in[0].elements());
  }

  // Vector-unit cost per output element: the multiply beta * x (1), the
  // sigmoid (4, as the built-in Sigmoid record costs it, src/ops/elementwise.cc),
  // the multiply by x (1) and the two clip compares (2, as Clip) = 8
  // operations; elementwise, so any tile size (tile unit 1).
  EnginePluginDeviceWork DeviceWork(std::string_view blob,
                                    std::span<const engine::plugin::TensorDesc>,
                                    std::span<const engine::plugin::TensorDesc>) const override {
    Decode(blob);
    return EnginePluginDeviceWork{8.0, 1};
  }
};

ClippedSwish g_clipped_swish;

}  // namespace

ENGINE_PLUGIN_EXPORT("example_activations", "1.0.0", &g_clipped_swish)
