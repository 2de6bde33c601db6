// Plugin ops: op records (OpDef) made from the C tables of plugins
// (include/engine/plugin.h), in one process-wide table next to the built-in
// registry. OpRegistry::Builtin() consults it after its own records, so the
// parser, optimizer, codegen and executor see a plugin op like a built-in one.
// The loader (LoadPlugin, RegisterPlugin of include/engine/plugin_registry.h)
// lives here too.
//
// Every call into a plugin is contained: an error return, a C++ exception
// escaping the C ABI, or an invalid result (a shape with a negative dim, an
// unknown dtype, too many outputs, a negative cost) becomes an absl::Status
// naming the plugin and the op (callers add the node or layer), never a crash.
// What a plugin's own code does to memory cannot be contained in-process.
#ifndef ENGINE_OPS_PLUGIN_OPS_H_
#define ENGINE_OPS_PLUGIN_OPS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/plugin_registry.h"
#include "ops/op_def.h"

namespace engine::ops {

/// The layer attribute holding a plugin layer's serialized attributes
/// (EnginePluginOp::serialize_attributes), hex-encoded (two lowercase digits
/// per byte) so that IR dumps and the plan's string attribute stay text.
inline constexpr const char* kPluginDataAttr = "plugin_data";

/// The record of plugin layer type `type`, or nullptr.
const OpDef* FindPluginOp(std::string_view type);

/// Every plugin op record, sorted by type.
std::vector<const OpDef*> PluginOps();

/// The plugin that registered layer type `type`, or nullopt for a built-in or
/// unknown type.
std::optional<PluginInfo> PluginOfType(std::string_view type);

/// OK when plugin `name` is registered at `version`; otherwise
/// FailedPrecondition naming the plugin, the version the plan needs, and
/// either the loaded version or that it is not loaded (with the hint to load
/// it: --plugins / LoadPlugin).
absl::Status CheckPluginAvailable(const std::string& name, const std::string& version);

}  // namespace engine::ops

#endif  // ENGINE_OPS_PLUGIN_OPS_H_
