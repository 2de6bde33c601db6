// A plugin whose layer runs on the systolic array (plugin ABI 2,
// ENGINE_PLUGIN_UNIT_ARRAY), for tests/e2e/plugin_example.sh and
// tests/ops/plugin_ops_test.cc: com.test::PluginMatMul,
//
//   Y [P, M] = X [P, K] x W [K, M]       (float32; W usually a constant)
//
// declared to the accelerator as the product a built-in MatMul of the same
// shapes is, so the two layers must get the same modeled cycles, bytes and
// energy. Attribute "epilogue" (float, default 0): vector operations per
// output element after the product.
#include <cstring>
#include <stdexcept>
#include <string>

#include "engine/plugin.h"

namespace {

class MatMulKernel final : public engine::plugin::Kernel {
 public:
  MatMulKernel(int64_t p, int64_t k, int64_t m) : p_(p), k_(k), m_(m) {}
  void Run(const EnginePluginRunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    const float* w = static_cast<const float*>(in[1]);
    float* y = static_cast<float*>(out[0]);
    for (int64_t r = 0; r < p_; ++r) {
      for (int64_t c = 0; c < m_; ++c) {
        float acc = 0.0f;
        for (int64_t i = 0; i < k_; ++i) acc += x[r * k_ + i] * w[i * m_ + c];
        y[r * m_ + c] = acc;
      }
    }
  }

 private:
  int64_t p_, k_, m_;
};

class PluginMatMul final : public engine::plugin::Op {
 public:
  const char* domain() const override { return "com.test"; }
  const char* op_type() const override { return "PluginMatMul"; }
  int device_unit() const override { return ENGINE_PLUGIN_UNIT_ARRAY; }

  std::string SerializeAttributes(engine::plugin::Attributes attrs) const override {
    float epilogue = 0.0f;
    if (const EnginePluginAttribute* a = engine::plugin::FindAttribute(attrs, "epilogue")) {
      if (a->kind != ENGINE_PLUGIN_ATTR_FLOAT) throw std::invalid_argument("epilogue must be a float");
      epilogue = a->f;
    }
    return std::string(reinterpret_cast<const char*>(&epilogue), sizeof(epilogue));
  }
  std::vector<engine::plugin::TensorDesc> Infer(
      std::string_view, std::span<const engine::plugin::TensorDesc> in) const override {
    if (in.size() != 2 || in[0].shape.size() != 2 || in[1].shape.size() != 2 ||
        in[0].shape[1] != in[1].shape[0] || in[0].dtype != 1 || in[1].dtype != 1) {
      throw std::invalid_argument("expects float32 X [P, K] and W [K, M]");
    }
    return {engine::plugin::TensorDesc{1, {in[0].shape[0], in[1].shape[1]}, nullptr, true}};
  }
  std::unique_ptr<engine::plugin::Kernel> Prepare(
      std::string_view, std::span<const engine::plugin::TensorDesc> in,
      std::span<const engine::plugin::TensorDesc>) const override {
    Infer({}, in);  // the same checks
    return std::make_unique<MatMulKernel>(in[0].shape[0], in[0].shape[1], in[1].shape[1]);
  }
  EnginePluginDeviceWork DeviceWork(std::string_view blob,
                                    std::span<const engine::plugin::TensorDesc> in,
                                    std::span<const engine::plugin::TensorDesc>) const override {
    float epilogue = 0.0f;
    if (blob.size() == sizeof(epilogue)) std::memcpy(&epilogue, blob.data(), sizeof(epilogue));
    Infer({}, in);  // the same checks
    EnginePluginDeviceWork w{};
    w.tile_unit = 1;
    w.gemm_groups = 1;
    w.gemm_p = in[0].shape[0];
    w.gemm_k = in[0].shape[1];
    w.gemm_m = in[1].shape[1];
    w.epilogue_ops_per_element = epilogue;
    return w;
  }
};

PluginMatMul g_matmul;

}  // namespace

ENGINE_PLUGIN_EXPORT("test_array", "2.0", &g_matmul)
