// libFuzzer target: arbitrary bytes -> Builder::BuildFromOnnxBytes (protobuf
// parse, ONNX checker, version converter, shape inference, import, optimizer
// passes with constant folding, code generation, plan writer) with a small
// default configuration, with the fuzz plugins loaded (fuzz_plugins.h).
// Errors are expected; crashes, sanitizer reports, leaks and hangs are bugs,
// and so is
// a plan the builder writes that the runtime does not load.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/builder.h"
#include "engine/logger.h"
#include "engine/runtime.h"
#include "fuzz_plugins.h"

namespace {

class SilentLogger : public engine::Logger {
 public:
  void Log(engine::Severity, std::string_view) override {}
};

}  // namespace

// Loads the fuzz plugins (fuzz_plugins.h) once, before the first input.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  engine::fuzz::LoadFuzzPlugins();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static SilentLogger logger;
  static const engine::Builder builder(&logger);
  static const engine::BuilderConfig config = [] {
    engine::BuilderConfig c;  // the "edge" preset, opt level 2: every pass runs
    return c;
  }();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto built = builder.BuildFromOnnxBytes(bytes, "fuzz.onnx", config);
  if (!built.ok()) return 0;
  // Whatever the builder writes, the runtime must load.
  auto engine = engine::Runtime::DeserializeEngine(built->plan, &logger);
  if (!engine.ok()) {
    std::fprintf(stderr, "the builder wrote a plan the runtime rejects: %s\n",
                 engine.status().ToString().c_str());
    std::abort();
  }
  return 0;
}
