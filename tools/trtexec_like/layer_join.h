// The one place that pairs an engine layer (Engine::layers(), what the plan
// holds) with its row of the modeled device profile
// (Engine::device_profile().layers, what the accelerator model computed).
// Every report of the tool (--dumpLayerInfo, --exportProfile,
// --exportLayerInfo, --exportReport, `inspect`) reads layers through it.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_LAYER_JOIN_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_LAYER_JOIN_H_

#include <vector>

#include "engine/runtime.h"

namespace trtexec_like {

/// One engine layer and its device profile row.
struct JoinedLayer {
  const engine::LayerInfo* info = nullptr;             ///< never null
  const engine::LayerDeviceProfile* device = nullptr;  ///< nullptr: no row for this layer

  /// `*device`, or a default-constructed profile (zero cycles and energy,
  /// empty strings) when the layer has no row.
  const engine::LayerDeviceProfile& device_or_empty() const;
};

/// Pairs every layer of `layers`, in order, with its row of `profile`: the row
/// at the same position when its name is the layer's (the usual case, one row
/// per layer in execution order), otherwise the first row of that name, or
/// none. O(layers + rows). The result points into `layers` and `profile`.
std::vector<JoinedLayer> JoinLayers(const std::vector<engine::LayerInfo>& layers,
                                    const engine::DeviceProfile& profile);

/// JoinLayers(eng.layers(), eng.device_profile()).
std::vector<JoinedLayer> JoinLayers(const engine::Engine& eng);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_LAYER_JOIN_H_
