// The --hwSweep grammar: a sweep specification parsed into the cross product
// of hardware configurations, each a --hw value, checked before anything is
// built.
//
// SPEC grammar (docs/report_schema.md, "Sweeps"):
//   SPEC  := AXIS (';' AXIS)*
//   AXIS  := KEY '=' VALUE ('|' VALUE)*
// KEY is a --hw override key (ApplyHardwareOverride in engine/hardware.h:
// array, rows, cols, dataflow, memory, clock, scratchpad, weight_buffer,
// accumulator, dram_bw, dram_bytes_per_cycle, dram_latency,
// dma_bytes_per_cycle, vector_lanes) or `bandwidth`, an alias of dram_bw
// (GB/s). Each configuration is `--hw=BASE,KEY1=V1,KEY2=V2,...` (BASE: --hw,
// default edge); the first axis varies slowest, as in nested loops written in
// SPEC order. Example: "dram_bw=12.8|51.2;array=16x16|32x32|64x64|128x128".
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_SWEEP_SPEC_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_SWEEP_SPEC_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace trtexec_like {

/// One configuration of a sweep.
struct SweepPoint {
  /// (key, value) in SPEC order; keys canonical (`bandwidth` -> `dram_bw`).
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string hw_spec;    ///< the --hw value of this configuration
  std::string file_name;  ///< report file name, e.g. "p03_dram_bw-12.8_array-64x64.json"
};

/// Configurations above this count are refused (a typo should not start
/// thousands of builds).
inline constexpr size_t kMaxSweepPoints = 256;

/// Parses SPEC into the cross product on top of `base_hw` ("" = edge). Every
/// value is checked with ApplyHardwareOverride and every configuration with
/// ParseHardwareSpec, so nothing is built when one is bad. Errors:
/// InvalidArgument starting with "--hwSweep" and naming the bad item (the
/// "KEY=V1|V2" text) and, for a bad value, the value.
absl::StatusOr<std::vector<SweepPoint>> ParseHwSweep(const std::string& spec,
                                                     const std::string& base_hw);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_SWEEP_SPEC_H_
