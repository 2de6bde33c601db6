// Description of the modeled systolic-array accelerator an engine is built for.
//
// The accelerator does not exist as silicon: it is an R x C array of
// multiply-accumulate processing elements (PEs) fed from on-chip buffers by a
// DMA engine, plus a vector unit for activations, pooling and elementwise
// work, in the style of Google's TPU v1 (Jouppi et al., ISCA 2017) and UC
// Berkeley's Gemmini (Genc et al., DAC 2021). A HardwareConfig is read from a
// JSON file or a named preset, optionally with KEY=VALUE overrides, and is
// stored in every plan built for it.
//
// JSON file format (all sizes in bytes, all times in cycles of `clock_mhz`;
// every field is required unless marked optional):
//   {
//     "name": "edge",                          // optional, default: file stem
//     "array": {"rows": 32, "cols": 32},
//     "dataflows": ["ws", "os", "is"],          // weight/output/input stationary
//     "clock_mhz": 800,
//     "scratchpad":    {"bytes": 524288, "banks": 4},   // inputs (+ weights)
//     "weight_buffer": {"bytes": 0, "banks": 1},        // optional; 0 = weights
//                                                       // share the scratchpad
//     "accumulator":   {"bytes": 131072, "banks": 2},   // 32-bit partial sums
//     "dram": {"bytes_per_cycle": 16, "latency_cycles": 100},
//             // or {"bandwidth_gbps": 12.8, ...}: GB/s (1e9 bytes/s) at clock_mhz
//     "dma": {"bytes_per_cycle": 16},           // optional; on-chip bus width,
//                                               // default: unlimited
//     "vector": {"lanes": 32, "ops_per_cycle": 1},
//     "precisions": ["int8", "fp16", "bf16", "fp32"],
//     "energy_pj": {"mac": {"int8": 0.23, "fp16": 2.0, "bf16": 1.48, "fp32": 4.6},
//                   "sram_byte": 1.25, "accumulator_byte": 1.25,
//                   "dram_byte": 64, "vector_op": 0.9}
//   }
// Ranges (checked by ParseHardwareJson, ApplyHardwareOverride and
// ValidateHardwareConfig; a value outside is an InvalidArgument error naming
// the field, the value and the range):
//   array.rows, array.cols         1 to 4096
//   clock_mhz                      1 to 100000 (MHz)
//   *.bytes (buffers)              0 to 2^40 (1 TiB); scratchpad and
//                                  accumulator > 0 unless memory=ideal
//   *.banks                        1 to 1024
//   dram.bytes_per_cycle           0.001 to 65536 (also the value derived from
//                                  dram.bandwidth_gbps, 0.001 to 1e6 GB/s)
//   dram.latency_cycles            0 to 1000000
//   dma.bytes_per_cycle            0 (no limit) or 0.001 to 65536
//   vector.lanes                   1 to 65536
//   vector.ops_per_cycle           0.001 to 1024
//   energy_pj.*                    0 to 1e6 (pJ)
// Non-finite numbers (NaN, infinities, 1e400) are never accepted. The JSON
// text may nest arrays and objects at most kMaxHardwareJsonDepth deep.
//
// Default energies follow Horowitz (ISSCC 2014, 45 nm): an 8-bit MAC is an
// 8-bit multiply (0.2 pJ) plus an 8-bit add (0.03 pJ); an FP32 MAC 3.7 + 0.9
// pJ; an FP16 MAC an FP16 multiply (1.1 pJ) plus the FP32 add of the
// accumulator (0.9 pJ) = 2.0 pJ; a BF16 MAC 0.58 + 0.9 = 1.48 pJ, where the
// BF16 multiply is not in Horowitz's table and is derived from it: the
// 11x11-bit significand product of FP16 (1.1 pJ) scaled by the significand
// area ratio (8/11)^2 of bfloat16's 8x8-bit product (integer multiplier
// energy grows with the square of the width in the same table: 8-bit 0.2 pJ,
// 32-bit 3.1 pJ, ratio 15.5 ~ 4^2); SRAM 5 pJ per 32-bit word of an 8 KB array = 1.25 pJ/byte; DRAM per bit
// by type from Accelergy's CACTI plug-in (LPDDR4 8 pJ/bit, DDR3 70 pJ/bit).
#ifndef ENGINE_HARDWARE_H_
#define ENGINE_HARDWARE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/export.h"

namespace engine {

/// How a matrix product is mapped onto the systolic array (SCALE-Sim's
/// terms, Samajdar et al., ISPASS 2020): which operand stays in the PEs while
/// the other one streams through.
enum class Dataflow : uint8_t {
  kWeightStationary = 0,  ///< "ws": weights held in the PEs, inputs stream
  kOutputStationary = 1,  ///< "os": partial sums held in the PEs
  kInputStationary = 2,   ///< "is": input windows held in the PEs, weights stream
};

/// The Dataflow whose numeric value is `code` (plans store it as a byte), or
/// nullopt when no enumerator has that value. The one range check of the enum:
/// a new enumerator gets its case here (-Wswitch flags the switch until then).
constexpr std::optional<Dataflow> DataflowFromCode(int64_t code) {
  if (code < 0 || code > 0xff) return std::nullopt;
  switch (static_cast<Dataflow>(code)) {
    case Dataflow::kWeightStationary:
    case Dataflow::kOutputStationary:
    case Dataflow::kInputStationary:
      return static_cast<Dataflow>(code);
  }
  return std::nullopt;
}

/// "ws", "os" or "is".
ENGINE_API const char* DataflowName(Dataflow dataflow);
/// Parses "ws"/"os"/"is" (also "weight_stationary" etc.); nullopt otherwise.
ENGINE_API std::optional<Dataflow> ParseDataflow(std::string_view name);

/// Arithmetic precision of the array's operands. kFp16 (IEEE 754 binary16)
/// and kBf16 (bfloat16: float32's sign, 8-bit exponent and top 7 fraction
/// bits) are 2-byte storage formats whose products are accumulated in FP32
/// (see src/common/reduced_float.h for the exact arithmetic).
enum class Precision : uint8_t { kInt8 = 0, kFp16 = 1, kFp32 = 2, kBf16 = 3 };
/// The Precision whose numeric value is `code` (plans store it as a byte), or
/// nullopt when no enumerator has that value (-Wswitch flags a missing case).
constexpr std::optional<Precision> PrecisionFromCode(int64_t code) {
  if (code < 0 || code > 0xff) return std::nullopt;
  switch (static_cast<Precision>(code)) {
    case Precision::kInt8:
    case Precision::kFp16:
    case Precision::kFp32:
    case Precision::kBf16:
      return static_cast<Precision>(code);
  }
  return std::nullopt;
}
/// "int8", "fp16", "fp32" or "bf16".
ENGINE_API const char* PrecisionName(Precision precision);
ENGINE_API std::optional<Precision> ParsePrecision(std::string_view name);
/// Parses "int8", "fp16"/"float16", "fp32"/"float32", "bf16"/"bfloat16";
/// nullopt otherwise.
/// Bytes per operand element: 1 (int8), 2 (fp16, bf16) or 4 (fp32).
ENGINE_API int PrecisionBytes(Precision precision);

/// What the builder minimizes when it chooses a layer's mapping (dataflow,
/// tile sizes, loop order, unit) on the modeled accelerator.
enum class Objective : uint8_t {
  kLatency = 0,  ///< modeled cycles
  kEnergy = 1,   ///< modeled energy, pJ
  kEdp = 2,      ///< energy-delay product (pJ x cycles)
};
/// "latency", "energy", "edp".
ENGINE_API const char* ObjectiveName(Objective objective);
/// The inverse of ObjectiveName: the Objective named exactly `name` (plans
/// store the objective by this name), nullopt for any other string. Inline so
/// that the plan reader checks a plan's objective without linking the
/// builder; tests check that it inverts ObjectiveName for every enumerator.
inline std::optional<Objective> ObjectiveFromName(std::string_view name) {
  if (name == "latency") return Objective::kLatency;
  if (name == "energy") return Objective::kEnergy;
  if (name == "edp") return Objective::kEdp;
  return std::nullopt;
}

/// One on-chip SRAM.
struct BufferConfig {
  uint64_t bytes = 0;  ///< capacity, bytes
  int banks = 1;       ///< number of banks (>= 1); double buffering uses halves
};

/// Energy per action, picojoules. Energy of a layer = sum over actions of
/// (count x energy per action), as Timeloop/Accelergy compute it.
struct ENGINE_API EnergyTable {
  double mac_int8_pj = 0.23;         ///< one 8-bit multiply-accumulate
  double mac_fp16_pj = 2.0;          ///< one FP16 multiply, FP32 accumulate
  double mac_bf16_pj = 1.48;         ///< one BF16 multiply, FP32 accumulate
  double mac_fp32_pj = 4.6;          ///< one FP32 multiply-accumulate
  double sram_pj_per_byte = 1.25;    ///< scratchpad / weight buffer read or write
  double accumulator_pj_per_byte = 1.25;  ///< accumulator read or write
  double dram_pj_per_byte = 64.0;    ///< DRAM read or write (LPDDR4: 8 pJ/bit)
  double vector_op_pj = 0.9;         ///< one vector-unit operation (FP32 add)

  /// pJ per MAC at `precision`.
  double MacPj(Precision precision) const;
};

/// The accelerator an engine is built for. Plain data; validate with
/// ValidateHardwareConfig. Every plan stores the config it was built for.
struct ENGINE_API HardwareConfig {
  std::string name = "edge";  ///< preset name, or the file's "name"
  int array_rows = 32;        ///< R: PE rows
  int array_cols = 32;        ///< C: PE columns
  /// Dataflows the array supports; the builder chooses among them per layer.
  std::vector<Dataflow> dataflows = {Dataflow::kWeightStationary,
                                     Dataflow::kOutputStationary,
                                     Dataflow::kInputStationary};
  /// When set (override `dataflow=ws`), every array layer uses this dataflow
  /// instead of the builder's choice. Must be one of `dataflows`.
  std::optional<Dataflow> pinned_dataflow;
  double clock_mhz = 800.0;  ///< array and DMA clock, MHz
  BufferConfig scratchpad{512 * 1024, 4};   ///< input (and weight) scratchpad
  BufferConfig weight_buffer{0, 1};         ///< separate weight buffer; 0 bytes = none
  BufferConfig accumulator{128 * 1024, 2};  ///< 32-bit accumulators
  double dram_bytes_per_cycle = 16.0;  ///< DRAM bandwidth, bytes per cycle
  int dram_latency_cycles = 100;       ///< DRAM access latency, cycles
  /// On-chip DMA bus width, bytes per cycle; 0 = not a limit. The effective
  /// transfer rate is min(dram_bytes_per_cycle, dma_bytes_per_cycle).
  double dma_bytes_per_cycle = 0.0;
  int vector_lanes = 32;             ///< vector unit lanes
  double vector_ops_per_cycle = 1.0; ///< operations per lane per cycle
  std::vector<Precision> precisions = {Precision::kInt8, Precision::kFp16, Precision::kBf16,
                                       Precision::kFp32};
  EnergyTable energy;
  /// Override `memory=ideal`: unlimited on-chip buffers and DRAM bandwidth,
  /// zero DMA latency; only compute cycles remain.
  bool ideal_memory = false;

  /// Effective bytes per cycle of a DRAM <-> on-chip transfer.
  double TransferBytesPerCycle() const;
  /// DRAM bandwidth in GB/s (1e9 bytes/s) at clock_mhz.
  double DramGBps() const { return dram_bytes_per_cycle * clock_mhz / 1000.0; }
  /// Peak MACs per cycle: rows x cols.
  int64_t PeakMacsPerCycle() const { return int64_t{array_rows} * array_cols; }
  /// Converts cycles to milliseconds at clock_mhz.
  double CyclesToMs(double cycles) const { return cycles / (clock_mhz * 1000.0); }
  bool Supports(Dataflow dataflow) const;
  bool Supports(Precision precision) const;
};

/// Names of the built-in presets: "edge" (the default), "gemmini", "tpu-v1".
///  - tpu-v1: 256x256 at 700 MHz, ws only, 24 MiB unified buffer as the
///    scratchpad, 256 KiB weight FIFO (4 x 64 KiB tiles), 4 MiB accumulators,
///    34 GB/s DDR3 (Jouppi et al., ISCA 2017; DDR3 70 pJ/bit).
///  - gemmini: 16x16 at 1 GHz, ws and os, 256 KiB scratchpad in 4 banks,
///    64 KiB accumulator in 2 banks, 128-bit DMA bus = 16 B/cycle
///    (ucb-bar/gemmini default config).
///  - edge: 32x32 at 800 MHz, ws/os/is, 512 KiB scratchpad, 128 KiB
///    accumulator, LPDDR4 at 12.8 GB/s (8 pJ/bit).
/// The presets list fp32 beside int8 so FP32 engines can be modeled as a
/// what-if (4-byte operands, FP32 MAC energy) before INT8 is used. edge and
/// gemmini also list fp16 and bf16 (Gemmini generates FP datapaths from its
/// config, e.g. its bf16 configs); tpu-v1 does not: TPU v1's matrix unit is
/// 8-bit integer only (Jouppi et al. 2017, section 2), so an fp16 or bf16
/// engine for it is an error naming the preset and the precision.
ENGINE_API std::vector<std::string> HardwarePresetNames();

/// The preset named `name`. Errors: NotFound listing the preset names.
ENGINE_API absl::StatusOr<HardwareConfig> HardwarePreset(std::string_view name);

/// Deepest nesting of arrays and objects accepted in hardware JSON (the
/// format needs 3). Deeper text is refused before it is parsed, so hostile
/// input cannot exhaust the stack.
inline constexpr int kMaxHardwareJsonDepth = 64;

/// Parses the JSON text of a hardware file (format above). `source` names the
/// file in error messages. Errors: InvalidArgument naming the field, e.g.
/// "gemmini.json: field 'array.rows': expected a positive integer, got -3",
/// or "npu.json: field 'clock_mhz': expected a number from 1 to 100000 (MHz),
/// got 1e+308" (the ranges above); unknown fields are errors too (they are
/// usually typos); nesting deeper than kMaxHardwareJsonDepth ("nested deeper
/// than 64 levels at line L, column C"); invalid JSON (with line and column).
/// Values quoted in messages are shortened (containers are described by their
/// size, never serialized).
ENGINE_API absl::StatusOr<HardwareConfig> ParseHardwareJson(std::string_view json,
                                                        std::string_view source);

/// Reads and parses a hardware JSON file (with ReadFileToString: a regular
/// file of at most 64 MiB). Errors: NotFound when the file cannot be opened,
/// InvalidArgument when it is not a regular file (directory, FIFO, device),
/// ResourceExhausted when it is larger than 64 MiB, otherwise as
/// ParseHardwareJson.
ENGINE_API absl::StatusOr<HardwareConfig> LoadHardwareFile(const std::string& path);

/// Applies one KEY=VALUE override. Keys: array=RxC, rows=R, cols=C,
/// dataflow=ws|os|is, memory=ideal|real, clock=MHz, scratchpad=SIZE,
/// weight_buffer=SIZE, accumulator=SIZE, dram_bw=GB/s,
/// dram_bytes_per_cycle=N, dram_latency=CYCLES, dma_bytes_per_cycle=N,
/// vector_lanes=N, name=NAME. SIZE takes B, KiB, MiB suffixes (also K, M,
/// KB, MB meaning KiB/MiB). Values must be within the ranges above (dram_bw in
/// GB/s: 0.001 to 1e6, and the resulting bytes per cycle at the current clock
/// within dram.bytes_per_cycle's range). Errors: InvalidArgument naming the
/// key, the value and the expected range.
ENGINE_API absl::Status ApplyHardwareOverride(HardwareConfig& config, std::string_view key,
                                              std::string_view value);

/// Parses the value of `--hw`: "PRESET_OR_FILE[,KEY=VALUE,...]". The first
/// item is a preset name if one matches, otherwise a path to a JSON file.
/// Overrides are applied in order, then the result is validated.
/// Errors: as HardwarePreset, LoadHardwareFile, ApplyHardwareOverride and
/// ValidateHardwareConfig.
ENGINE_API absl::StatusOr<HardwareConfig> ParseHardwareSpec(std::string_view spec);

/// Checks the ranges above and consistency (positive buffer sizes unless
/// memory=ideal, the pinned dataflow is supported, at least one dataflow and
/// precision, no duplicates). Errors: InvalidArgument naming the hardware, the
/// field, the expected range and the value.
ENGINE_API absl::Status ValidateHardwareConfig(const HardwareConfig& config);

/// Canonical JSON of the config (the file format above plus "pinned_dataflow"
/// and "ideal_memory"). ParseHardwareJson(HardwareConfigToJson(c)) == c. Two
/// configs describe the same hardware iff their canonical JSON is equal; this
/// is what a plan stores and what loading a plan with `--hw` compares.
ENGINE_API std::string HardwareConfigToJson(const HardwareConfig& config);

/// One-line human description, e.g. "gemmini: 16x16 array (ws,os) at 1000
/// MHz, scratchpad 256 KiB x4 banks, accumulator 64 KiB x2, DRAM 16 B/cycle
/// (16 GB/s, 100 cycles latency), vector 16 lanes".
ENGINE_API std::string HardwareSummary(const HardwareConfig& config);

}  // namespace engine

#endif  // ENGINE_HARDWARE_H_
