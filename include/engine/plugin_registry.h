// Loading and registering plugins in the host process (the engine side of
// plugin.h). Plugins live in one process-wide registry, as TensorRT's
// getPluginRegistry(): once loaded, a plugin's ops are known to every later
// build (parser, optimizer, codegen) and plan load of the process. Libraries
// are never unloaded. Thread-safe.
//
// Rules (docs/plugins.md):
//  - a plugin op may not take the layer type of a built-in op or of another
//    plugin's op: registration fails with AlreadyExists naming both (a plugin
//    never overrides a built-in op, silently or not);
//  - loading a plugin of the same name and version again is a no-op; another
//    version of a loaded plugin is refused (AlreadyExists);
//  - a plan records the name and version of every plugin its layers use;
//    loading it needs those plugins loaded at those versions.
#ifndef ENGINE_PLUGIN_REGISTRY_H_
#define ENGINE_PLUGIN_REGISTRY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/export.h"
#include "engine/plugin.h"

namespace engine {

/// A registered plugin.
struct PluginInfo {
  std::string name;     ///< EnginePlugin::name
  std::string version;  ///< EnginePlugin::version
  std::string path;     ///< library path, or the origin given to RegisterPlugin
  std::vector<std::string> ops;  ///< "domain::op_type" of each op
};

/// dlopen()s the shared library at `path`, calls its engine_plugin_get entry
/// point with ENGINE_PLUGIN_ABI_VERSION and registers the table it returns.
/// Errors: NotFound (no such file), InvalidArgument (not a loadable library,
/// no entry point, NULL table, another ABI version, an inconsistent op: empty
/// or default domain, missing function, bad opset range, unknown unit),
/// AlreadyExists (op type taken by a built-in op or another plugin; another
/// version of the plugin loaded). Each message names the path and plugin.
ENGINE_API absl::StatusOr<PluginInfo> LoadPlugin(const std::string& path);

/// Registers a table linked into the process (no dlopen), e.g. a plugin
/// compiled into the application; `origin` is reported as its path. `table`
/// must stay valid for the life of the process. Errors as LoadPlugin.
ENGINE_API absl::StatusOr<PluginInfo> RegisterPlugin(const EnginePlugin* table,
                                                     const std::string& origin);

/// Loads each path of `paths` in order (LoadPlugin); stops at the first error.
ENGINE_API absl::Status LoadPlugins(const std::vector<std::string>& paths);

/// Every registered plugin, in registration order.
ENGINE_API std::vector<PluginInfo> LoadedPlugins();

}  // namespace engine

#endif  // ENGINE_PLUGIN_REGISTRY_H_
