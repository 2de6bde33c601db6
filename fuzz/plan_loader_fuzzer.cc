// libFuzzer target: arbitrary bytes -> Runtime::DeserializeEngine and, when a
// plan loads, one ExecutionContext that executes on all-zero inputs. Errors
// are expected; crashes, sanitizer reports, leaks and hangs are bugs.
//
// A mutated plan almost never keeps its payload CRC-32 right, so each input
// is tried twice: as is (the header, version and checksum checks) and, when
// its header verifies, with the checksum recomputed, so that the fuzzer
// reaches the payload verifier, the reader's consistency checks, the device
// simulation and the kernels.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/plan_generated.h"
#include "engine/logger.h"
#include "engine/runtime.h"
#include "fuzz_plugins.h"
#include "engine/tensor.h"

namespace {

class SilentLogger : public engine::Logger {
 public:
  void Log(engine::Severity, std::string_view) override {}
};

// Host memory one plan may make the harness allocate (arena, inputs). A plan
// may legitimately ask for more; the harness skips executing it rather than
// have libFuzzer's malloc limit report it.
constexpr int64_t kMaxBytes = int64_t{64} << 20;

void LoadAndRun(std::string_view bytes) {
  static SilentLogger logger;
  // The harness's budget also bounds what loading may allocate (kernel
  // tables in proportion to the declared shapes), under libFuzzer's limit.
  engine::RuntimeOptions options;
  options.logger = &logger;
  options.max_activation_bytes = kMaxBytes;
  auto engine = engine::Runtime::DeserializeEngine(bytes, options);
  if (!engine.ok()) return;
  const engine::Engine& e = **engine;
  // Exercise the read-only accessors too.
  (void)e.DeviceTimeline();
  (void)e.CheckHardware(e.hardware());
  if (e.memory_plan().arena_bytes > kMaxBytes) return;
  int64_t input_bytes = 0;
  for (const engine::TensorDesc& d : e.inputs()) {
    int64_t n = engine::DataTypeSize(d.dtype);
    for (int64_t dim : d.shape) {
      if (dim != 0 && n > kMaxBytes / dim) return;
      n *= dim;
    }
    input_bytes += n;
    if (input_bytes > kMaxBytes) return;
  }
  auto ctx = e.CreateExecutionContext();
  if (!ctx.ok()) return;
  if (!(*ctx)->SetThreads(1).ok()) return;  // deterministic coverage
  for (const engine::TensorDesc& d : e.inputs()) {
    if (!(*ctx)->SetInput(d.name, engine::Tensor(d.dtype, d.shape)).ok()) return;
  }
  if (!(*ctx)->Execute().ok()) return;
  for (const engine::TensorDesc& d : e.outputs()) (void)(*ctx)->GetOutput(d.name);
}

// Returns `data` with the payload CRC-32 recomputed, or "" when the outer
// table does not verify or stores no checksum field.
std::string WithFixedChecksum(const uint8_t* data, size_t size) {
  namespace fb = engine::plan;
  if (size < 8 || !flatbuffers::BufferHasIdentifier(data, fb::PlanIdentifier())) return "";
  flatbuffers::Verifier verifier(data, size, 64, 1u << 20);
  const fb::Plan* outer = flatbuffers::GetRoot<fb::Plan>(data);
  const auto* t = reinterpret_cast<const flatbuffers::Table*>(outer);
  if (!t->VerifyTableStart(verifier) ||
      !t->VerifyField<uint32_t>(verifier, fb::Plan::VT_PAYLOAD_CRC32, 4) ||
      !t->VerifyOffset(verifier, fb::Plan::VT_PAYLOAD) || !verifier.VerifyVector(outer->payload()) ||
      outer->payload() == nullptr) {
    return "";
  }
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0L, outer->payload()->data(), static_cast<uInt>(outer->payload()->size())));
  if (crc == outer->payload_crc32()) return "";  // already right: nothing new to try
  const flatbuffers::voffset_t field = t->GetOptionalFieldOffset(fb::Plan::VT_PAYLOAD_CRC32);
  if (field == 0) return "";  // not stored (a zero checksum)
  std::string fixed(reinterpret_cast<const char*>(data), size);
  const size_t at = static_cast<size_t>(reinterpret_cast<const uint8_t*>(t) - data) + field;
  flatbuffers::WriteScalar<uint32_t>(fixed.data() + at, crc);
  return fixed;
}

}  // namespace

// Loads the fuzz plugins (fuzz_plugins.h) once, before the first input.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  engine::fuzz::LoadFuzzPlugins();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  LoadAndRun(std::string_view(reinterpret_cast<const char*>(data), size));
  const std::string fixed = WithFixedChecksum(data, size);
  if (!fixed.empty()) LoadAndRun(fixed);
  return 0;
}
