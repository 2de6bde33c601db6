#include "trtexec_like/layer_join.h"

#include <string_view>
#include <unordered_map>

namespace trtexec_like {

const engine::LayerDeviceProfile& JoinedLayer::device_or_empty() const {
  static const engine::LayerDeviceProfile kEmpty;
  return device != nullptr ? *device : kEmpty;
}

std::vector<JoinedLayer> JoinLayers(const std::vector<engine::LayerInfo>& layers,
                                    const engine::DeviceProfile& profile) {
  // First row of each name, built only when a layer is out of position.
  std::unordered_map<std::string_view, const engine::LayerDeviceProfile*> by_name;
  bool indexed = false;
  std::vector<JoinedLayer> out;
  out.reserve(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    JoinedLayer j;
    j.info = &layers[i];
    if (i < profile.layers.size() && profile.layers[i].name == layers[i].name) {
      j.device = &profile.layers[i];
    } else {
      if (!indexed) {
        for (const engine::LayerDeviceProfile& row : profile.layers) by_name.emplace(row.name, &row);
        indexed = true;
      }
      auto it = by_name.find(layers[i].name);
      if (it != by_name.end()) j.device = it->second;
    }
    out.push_back(j);
  }
  return out;
}

std::vector<JoinedLayer> JoinLayers(const engine::Engine& eng) {
  return JoinLayers(eng.layers(), eng.device_profile());
}

}  // namespace trtexec_like
