// Example plugin: com.example::ChannelShuffle, a data-movement op that runs
// in INT8 engines on int8 data (INT8 pass-through)
//
//   X [N, C, d2, ...] -> Y [N, C, d2, ...], with C = groups * k:
//   Y[n, j * groups + g, ...] = X[n, g * k + j, ...]   for g < groups, j < k
//
// attribute: groups (int, >= 1, dividing C; default 2). It is the channel
// shuffle of ShuffleNet (Zhang et al., "ShuffleNet: An Extremely Efficient
// Convolutional Neural Network for Mobile Devices", CVPR 2018, section 3.1),
// which ONNX exporters spell as three nodes, Reshape [N, g, k, ...] ->
// Transpose(0, 2, 1, 3, ...) -> Reshape [N, C, ...].
//
// A permutation commutes with any positive scale (shuffle(s * x) =
// s * shuffle(x)), so the op declares ENGINE_PLUGIN_INT8_PASS_THROUGH: in an
// INT8 engine its input and output stay int8 at the input's scale and the
// kernel moves bytes, whatever their type (float32, int8, uint8, ...). On the
// accelerator it is pure data movement (ENGINE_PLUGIN_UNIT_DMA): loads and
// stores, 4 or 1 bytes per element.
//
// Built against the installed engine package only (CMakeLists.txt); loaded
// with trtexec_like --plugins=libchannel_shuffle.so. See docs/plugins.md.
#include <cstring>
#include <stdexcept>
#include <string>

#include "engine/plugin.h"

namespace {

// Bytes per element of the ONNX element types the kernel moves.
size_t ElementBytes(int32_t dtype) {
  switch (dtype) {
    case 1:   // FLOAT
    case 6:   // INT32
      return 4;
    case 2:   // UINT8
    case 3:   // INT8
    case 9:   // BOOL
      return 1;
    case 10:  // FLOAT16
    case 16:  // BFLOAT16
      return 2;
    default:
      throw std::invalid_argument("X has element type " + std::to_string(dtype) +
                                  "; float32, float16, bfloat16, int32, int8, uint8 or bool expected");
  }
}

// The serialized `groups` (SerializeAttributes). A plan carries the blob
// as its writer left it, so a corrupt plan's may hold any value: it is
// checked again here (groups >= 1) before anything divides by it.
int64_t Decode(std::string_view blob) {
  int64_t groups = 0;
  if (blob.size() != sizeof(groups)) throw std::invalid_argument("bad serialized attributes");
  std::memcpy(&groups, blob.data(), sizeof(groups));
  if (groups < 1) {
    throw std::invalid_argument("bad serialized attributes: groups " + std::to_string(groups) +
                                " (must be >= 1)");
  }
  return groups;
}

// Checks X against `groups` and returns the channel count.
int64_t Channels(const engine::plugin::TensorDesc& x, int64_t groups) {
  if (x.shape.size() < 2) throw std::invalid_argument("X must have rank >= 2 ([N, C, ...])");
  const int64_t c = x.shape[1];
  if (c % groups != 0) {
    throw std::invalid_argument("groups " + std::to_string(groups) + " does not divide C = " +
                                std::to_string(c));
  }
  return c;
}

class ChannelShuffleKernel final : public engine::plugin::Kernel {
 public:
  // n images of c channels of `inner` elements of `bytes` bytes.
  ChannelShuffleKernel(int64_t n, int64_t c, int64_t inner, int64_t groups, size_t bytes)
      : n_(n), c_(c), groups_(groups), plane_(static_cast<size_t>(inner) * bytes) {}

  // One memcpy per channel plane; no scratch.
  void Run(const EnginePluginRunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const char* x = static_cast<const char*>(in[0]);
    char* y = static_cast<char*>(out[0]);
    const int64_t k = c_ / groups_;
    for (int64_t b = 0; b < n_; ++b) {
      const size_t image = static_cast<size_t>(b * c_) * plane_;
      for (int64_t g = 0; g < groups_; ++g) {
        for (int64_t j = 0; j < k; ++j) {
          std::memcpy(y + image + static_cast<size_t>(j * groups_ + g) * plane_,
                      x + image + static_cast<size_t>(g * k + j) * plane_, plane_);
        }
      }
    }
  }

 private:
  int64_t n_, c_, groups_;
  size_t plane_;
};

class ChannelShuffle final : public engine::plugin::Op {
 public:
  const char* domain() const override { return "com.example"; }
  const char* op_type() const override { return "ChannelShuffle"; }
  // A permutation: int8 in, int8 out at the same scale in INT8 engines.
  int int8_behaviour() const override { return ENGINE_PLUGIN_INT8_PASS_THROUGH; }
  int device_unit() const override { return ENGINE_PLUGIN_UNIT_DMA; }

  std::string SerializeAttributes(engine::plugin::Attributes attrs) const override {
    int64_t groups = 2;
    for (const EnginePluginAttribute& a : attrs) {
      if (std::string(a.name) != "groups") {
        throw std::invalid_argument("unknown attribute '" + std::string(a.name) + "'");
      }
      if (a.kind != ENGINE_PLUGIN_ATTR_INT) throw std::invalid_argument("groups must be an int");
      groups = a.i;
    }
    if (groups < 1) throw std::invalid_argument("groups must be >= 1");
    return std::string(reinterpret_cast<const char*>(&groups), sizeof(groups));
  }

  std::vector<engine::plugin::TensorDesc> Infer(
      std::string_view blob, std::span<const engine::plugin::TensorDesc> in) const override {
    if (in.size() != 1 || !in[0].present) throw std::invalid_argument("expects one input X");
    ElementBytes(in[0].dtype);
    Channels(in[0], Decode(blob));
    return {engine::plugin::TensorDesc{in[0].dtype, in[0].shape, nullptr, true}};
  }

  std::unique_ptr<engine::plugin::Kernel> Prepare(
      std::string_view blob, std::span<const engine::plugin::TensorDesc> in,
      std::span<const engine::plugin::TensorDesc> out) const override {
    const int64_t groups = Decode(blob);
    if (in.size() != 1 || out.size() != 1 || in[0].shape != out[0].shape ||
        in[0].dtype != out[0].dtype) {
      throw std::invalid_argument("expects one input and an output of its shape and type");
    }
    const int64_t c = Channels(in[0], groups);
    const int64_t n = in[0].shape[0];
    const int64_t inner = n * c == 0 ? 0 : in[0].elements() / (n * c);
    return std::make_unique<ChannelShuffleKernel>(n, c, inner, groups, ElementBytes(in[0].dtype));
  }

  // DMA: no operations; a tile holds whole channel planes (the elements
  // after the channel axis), so each plane moves as one burst.
  EnginePluginDeviceWork DeviceWork(std::string_view blob,
                                    std::span<const engine::plugin::TensorDesc> in,
                                    std::span<const engine::plugin::TensorDesc>) const override {
    if (in.size() != 1) throw std::invalid_argument("expects one input X");
    const int64_t c = Channels(in[0], Decode(blob));
    const int64_t n = in[0].shape[0];
    const int64_t inner = n * c == 0 ? 1 : in[0].elements() / (n * c);
    return EnginePluginDeviceWork{0.0, inner > 0 ? inner : 1};
  }
};

ChannelShuffle g_channel_shuffle;

}  // namespace

ENGINE_PLUGIN_EXPORT("example_layout", "1.0.0", &g_channel_shuffle)
