// The plugins the parser and plan-loader fuzzers load before fuzzing
// (fuzz/CMakeLists.txt sets ENGINE_FUZZ_PLUGINS to their paths, ':'
// separated), so that fuzzed models and plans reach the plugin path:
// attribute serialization, shape inference, the device cost, prepare and run
// through the C ABI, and the host's containment of a plugin's errors.
#ifndef ENGINE_FUZZ_FUZZ_PLUGINS_H_
#define ENGINE_FUZZ_FUZZ_PLUGINS_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/plugin_registry.h"

namespace engine::fuzz {

/// Loads every plugin of ENGINE_FUZZ_PLUGINS; aborts (a broken fuzz build,
/// not a finding) when one does not load.
inline void LoadFuzzPlugins() {
#ifdef ENGINE_FUZZ_PLUGINS
  std::string_view paths = ENGINE_FUZZ_PLUGINS;
  while (!paths.empty()) {
    const size_t end = paths.find(':');
    const std::string path(paths.substr(0, end));
    paths = end == std::string_view::npos ? std::string_view() : paths.substr(end + 1);
    auto info = engine::LoadPlugin(path);
    if (!info.ok()) {
      std::fprintf(stderr, "fuzz harness: cannot load plugin %s: %s\n", path.c_str(),
                   info.status().ToString().c_str());
      std::abort();
    }
  }
#endif
}

}  // namespace engine::fuzz

#endif  // ENGINE_FUZZ_FUZZ_PLUGINS_H_
