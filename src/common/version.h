// Engine and plan schema versions.
#ifndef ENGINE_COMMON_VERSION_H_
#define ENGINE_COMMON_VERSION_H_

#include <cstdint>

namespace engine {

/// Version of this engine, written into every plan it builds.
inline constexpr const char* kEngineVersion = "0.2.0";

/// Version of the plan's Network payload layout (src/common/plan.fbs). Bump on
/// any change a previous runtime cannot read; the runtime accepts plans whose
/// schema version lies in [kMinPlanSchemaVersion, kPlanSchemaVersion].
/// History: 1 = host layers only; 2 = adds the hardware description, the
/// accelerator program and per-layer mappings (plans of version 1 carry no
/// program, so they must be rebuilt); 3 = adds DataType FLOAT64 (11) for the
/// I/O of float64 models (a version-2 runtime would call such a plan
/// corrupt; version-2 plans are a subset of version 3 and still load);
/// 4 = adds DataType UINT16 (4), INT16 (5), UINT32 (12), UINT64 (13) for
/// integer tensors of those types, and layer mapping kind 4 (composite: the
/// Attention layer's array and vector pieces in sequence); versions 2 and 3
/// still load; 5 = adds optimization profiles and shape buckets (dynamic
/// shapes, docs/dynamic_shapes.md) and Network.plugins (PluginRef: the name
/// and version of each plugin whose ops the layers use) at the end of
/// Network; versions 2-4 still load.
inline constexpr uint32_t kPlanSchemaVersion = 6;
inline constexpr uint32_t kMinPlanSchemaVersion = 2;

}  // namespace engine

#endif  // ENGINE_COMMON_VERSION_H_
