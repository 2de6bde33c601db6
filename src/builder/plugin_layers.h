// Build-time check of plugin layers: each one's host kernel is prepared for
// the shapes it will run at, as the runtime does when it loads the plan, so
// that a plugin whose prepare fails stops the build (naming the plugin and
// the layer) instead of producing a plan no runtime loads. TensorRT likewise
// configures every plugin during the build.
#ifndef ENGINE_BUILDER_PLUGIN_LAYERS_H_
#define ENGINE_BUILDER_PLUGIN_LAYERS_H_

#include "absl/status/status.h"
#include "ir/graph.h"

namespace engine::builder {

/// Prepares (and discards) the host kernel of every layer whose type comes
/// from a loaded plugin (ops::PluginOfType), with the layer's input and
/// output dtypes and static shapes and its constant inputs' data. Built-in
/// layers are not touched. Errors: the plugin's prepare error (a status
/// naming the plugin and the op, as ops/plugin_registry.cc words it),
/// prefixed with the layer's description.
absl::Status PreparePluginLayers(const ir::Graph& graph);

}  // namespace engine::builder

#endif  // ENGINE_BUILDER_PLUGIN_LAYERS_H_
