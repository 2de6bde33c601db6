#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/hardware.h"

using namespace engine;

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * 1024;

/// A complete, valid hardware file; tests replace parts of it.
const char* kCustomJson = R"({
  "name": "my_npu",
  "array": {"rows": 64, "cols": 48},
  "dataflows": ["os", "ws"],
  "clock_mhz": 500,
  "scratchpad":    {"bytes": 1048576, "banks": 8},
  "weight_buffer": {"bytes": 65536, "banks": 2},
  "accumulator":   {"bytes": 262144, "banks": 2},
  "dram": {"bytes_per_cycle": 32, "latency_cycles": 150},
  "dma": {"bytes_per_cycle": 8},
  "vector": {"lanes": 64, "ops_per_cycle": 2},
  "precisions": ["int8", "fp16"],
  "energy_pj": {"mac": {"int8": 0.3}, "dram_byte": 100}
})";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  return text.replace(pos, from.size(), to);
}

/// The error message of `r` (which must have failed with `code`).
template <typename T>
std::string ErrorOf(const absl::StatusOr<T>& r,
                    absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == code);
  return std::string(r.status().message());
}

std::string ErrorOf(const absl::Status& s,
                    absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == code);
  return std::string(s.message());
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string TempPath(const std::string& file) {
  return (std::filesystem::temp_directory_path() /
          (std::to_string(::getpid()) + "_" + file))
      .string();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("tpu-v1 preset matches the ISCA 2017 paper", "[hw]") {
  auto r = HardwarePreset("tpu-v1");
  REQUIRE(r.ok());
  const HardwareConfig& c = *r;
  CHECK(c.name == "tpu-v1");
  CHECK(c.array_rows == 256);
  CHECK(c.array_cols == 256);
  CHECK(c.PeakMacsPerCycle() == 65536);
  CHECK(c.clock_mhz == 700.0);
  CHECK(c.dataflows == std::vector<Dataflow>{Dataflow::kWeightStationary});
  CHECK(c.scratchpad.bytes == 24 * kMiB);
  CHECK(c.scratchpad.banks == 1);
  CHECK(c.weight_buffer.bytes == 256 * kKiB);
  CHECK(c.weight_buffer.banks == 4);
  CHECK(c.accumulator.bytes == 4 * kMiB);
  CHECK(c.accumulator.banks == 2);
  CHECK(std::fabs(c.DramGBps() - 34.0) < 1e-9);
  CHECK(c.dram_latency_cycles == 100);
  CHECK(c.vector_lanes == 256);
  CHECK(c.energy.dram_pj_per_byte == 560.0);
  CHECK(c.precisions == std::vector<Precision>{Precision::kInt8, Precision::kFp32});
  CHECK(c.Supports(Dataflow::kWeightStationary));
  CHECK_FALSE(c.Supports(Dataflow::kOutputStationary));
  CHECK(ValidateHardwareConfig(c).ok());
}

TEST_CASE("gemmini preset matches the ucb-bar default config", "[hw]") {
  auto r = HardwarePreset("gemmini");
  REQUIRE(r.ok());
  const HardwareConfig& c = *r;
  CHECK(c.array_rows == 16);
  CHECK(c.array_cols == 16);
  CHECK(c.PeakMacsPerCycle() == 256);
  CHECK(c.clock_mhz == 1000.0);
  CHECK(c.dataflows ==
        std::vector<Dataflow>{Dataflow::kWeightStationary, Dataflow::kOutputStationary});
  CHECK(c.scratchpad.bytes == 256 * kKiB);
  CHECK(c.scratchpad.banks == 4);
  CHECK(c.weight_buffer.bytes == 0);
  CHECK(c.accumulator.bytes == 64 * kKiB);
  CHECK(c.accumulator.banks == 2);
  CHECK(c.dram_bytes_per_cycle == 16.0);
  CHECK(c.dma_bytes_per_cycle == 16.0);
  CHECK(c.TransferBytesPerCycle() == 16.0);
  CHECK(c.vector_lanes == 16);
  CHECK(c.energy.dram_pj_per_byte == 560.0);
  CHECK(ValidateHardwareConfig(c).ok());
}

TEST_CASE("edge preset is the struct defaults", "[hw]") {
  auto r = HardwarePreset("edge");
  REQUIRE(r.ok());
  const HardwareConfig& c = *r;
  CHECK(c.name == "edge");
  CHECK(c.array_rows == 32);
  CHECK(c.array_cols == 32);
  CHECK(c.clock_mhz == 800.0);
  CHECK(c.dataflows.size() == 3);
  CHECK(c.Supports(Dataflow::kInputStationary));
  CHECK(c.scratchpad.bytes == 512 * kKiB);
  CHECK(c.scratchpad.banks == 4);
  CHECK(c.accumulator.bytes == 128 * kKiB);
  CHECK(c.accumulator.banks == 2);
  CHECK(c.dram_bytes_per_cycle == 16.0);
  CHECK(std::fabs(c.DramGBps() - 12.8) < 1e-9);
  CHECK(c.vector_lanes == 32);
  CHECK(c.energy.dram_pj_per_byte == 64.0);
  CHECK(c.energy.MacPj(Precision::kInt8) == 0.23);
  CHECK(c.energy.MacPj(Precision::kFp32) == 4.6);
  CHECK(HardwareConfigToJson(c) == HardwareConfigToJson(HardwareConfig{}));
  CHECK(HardwarePresetNames() == std::vector<std::string>{"edge", "gemmini", "tpu-v1"});
}

TEST_CASE("Unknown preset is NotFound listing the presets", "[hw]") {
  std::string msg = ErrorOf(HardwarePreset("tpu-v9"), absl::StatusCode::kNotFound);
  CHECK(msg == "unknown hardware preset 'tpu-v9'; presets: edge, gemmini, tpu-v1");
}

TEST_CASE("Canonical JSON round-trips byte-identically for every preset", "[hw]") {
  for (const std::string& name : HardwarePresetNames()) {
    INFO(name);
    auto preset = HardwarePreset(name);
    REQUIRE(preset.ok());
    for (int variant = 0; variant < 2; ++variant) {
      HardwareConfig c = *preset;
      if (variant == 1) {
        c.pinned_dataflow = Dataflow::kWeightStationary;
        c.ideal_memory = true;
        c.clock_mhz = 812.345678901;
        c.energy.sram_pj_per_byte = 0.1 + 0.2;  // not exactly representable
      }
      std::string json = HardwareConfigToJson(c);
      auto parsed = ParseHardwareJson(json, "x");
      REQUIRE(parsed.ok());
      CHECK(HardwareConfigToJson(*parsed) == json);
      CHECK(parsed->name == c.name);
      CHECK(parsed->dram_bytes_per_cycle == c.dram_bytes_per_cycle);
      CHECK(parsed->clock_mhz == c.clock_mhz);
      CHECK(parsed->pinned_dataflow == c.pinned_dataflow);
      CHECK(parsed->ideal_memory == c.ideal_memory);
      CHECK(HardwareSummary(*parsed) == HardwareSummary(c));
    }
  }
  // Deterministic and different for different hardware.
  CHECK(HardwareConfigToJson(*HardwarePreset("gemmini")) ==
        HardwareConfigToJson(*HardwarePreset("gemmini")));
  CHECK(HardwareConfigToJson(*HardwarePreset("gemmini")) !=
        HardwareConfigToJson(*HardwarePreset("edge")));
}

TEST_CASE("A custom hardware file is loaded with every field", "[hw]") {
  std::string path = TempPath("custom_hw.json");
  WriteFile(path, kCustomJson);
  auto r = LoadHardwareFile(path);
  std::filesystem::remove(path);
  REQUIRE(r.ok());
  const HardwareConfig& c = *r;
  CHECK(c.name == "my_npu");
  CHECK(c.array_rows == 64);
  CHECK(c.array_cols == 48);
  CHECK(c.dataflows ==
        std::vector<Dataflow>{Dataflow::kOutputStationary, Dataflow::kWeightStationary});
  CHECK_FALSE(c.pinned_dataflow.has_value());
  CHECK(c.clock_mhz == 500.0);
  CHECK(c.scratchpad.bytes == 1 * kMiB);
  CHECK(c.scratchpad.banks == 8);
  CHECK(c.weight_buffer.bytes == 64 * kKiB);
  CHECK(c.weight_buffer.banks == 2);
  CHECK(c.accumulator.bytes == 256 * kKiB);
  CHECK(c.dram_bytes_per_cycle == 32.0);
  CHECK(c.dram_latency_cycles == 150);
  CHECK(c.dma_bytes_per_cycle == 8.0);
  CHECK(c.TransferBytesPerCycle() == 8.0);
  CHECK(c.vector_lanes == 64);
  CHECK(c.vector_ops_per_cycle == 2.0);
  CHECK(c.precisions == std::vector<Precision>{Precision::kInt8, Precision::kFp16});
  CHECK(c.Supports(Precision::kFp16));
  CHECK_FALSE(c.Supports(Precision::kFp32));
  // Given energies replace the defaults; the others keep them.
  CHECK(c.energy.mac_int8_pj == 0.3);
  CHECK(c.energy.mac_fp32_pj == EnergyTable{}.mac_fp32_pj);
  CHECK(c.energy.dram_pj_per_byte == 100.0);
  CHECK(c.energy.sram_pj_per_byte == EnergyTable{}.sram_pj_per_byte);
  CHECK_FALSE(c.ideal_memory);
}

TEST_CASE("Hardware file defaults: name from the file stem, optional sections", "[hw]") {
  std::string text = Replace(kCustomJson, R"("name": "my_npu",)", "");
  text = Replace(text, R"("dma": {"bytes_per_cycle": 8},)", "");
  text = Replace(text, R"("weight_buffer": {"bytes": 65536, "banks": 2},)", "");
  text = Replace(text, R"(,
  "energy_pj": {"mac": {"int8": 0.3}, "dram_byte": 100})", "");
  // bandwidth_gbps converts with clock_mhz: 12 GB/s at 500 MHz = 24 B/cycle.
  text = Replace(text, R"("bytes_per_cycle": 32)", R"("bandwidth_gbps": 12)");
  std::string path = TempPath("stem_npu.json");
  WriteFile(path, text);
  auto r = LoadHardwareFile(path);
  std::filesystem::remove(path);
  REQUIRE(r.ok());
  CHECK(r->name == std::to_string(::getpid()) + "_stem_npu");
  CHECK(std::fabs(r->dram_bytes_per_cycle - 24.0) < 1e-12);
  CHECK(std::fabs(r->DramGBps() - 12.0) < 1e-12);
  CHECK(r->dma_bytes_per_cycle == 0.0);
  CHECK(r->TransferBytesPerCycle() == r->dram_bytes_per_cycle);
  CHECK(r->weight_buffer.bytes == 0);
  CHECK(HardwareConfigToJson(HardwareConfig{}).find("\"energy_pj\"") != std::string::npos);
  CHECK(r->energy.dram_pj_per_byte == EnergyTable{}.dram_pj_per_byte);

  auto named = ParseHardwareJson(text, "/x/y/my_npu.json");
  REQUIRE(named.ok());
  CHECK(named->name == "my_npu");
}

TEST_CASE("Loading a missing hardware file is NotFound", "[hw]") {
  std::string msg = ErrorOf(LoadHardwareFile("/nonexistent/dir/hw.json"),
                            absl::StatusCode::kNotFound);
  CHECK(Contains(msg, "/nonexistent/dir/hw.json"));
}

TEST_CASE("Hardware JSON errors name the source and the field", "[hw]") {
  SECTION("missing field") {
    std::string text = Replace(kCustomJson, R"("rows": 64, )", "");
    std::string msg = ErrorOf(ParseHardwareJson(text, "npu.json"));
    CHECK(msg == "npu.json: missing required field 'array.rows'");
  }
  SECTION("missing top-level section") {
    std::string text = Replace(kCustomJson, R"("clock_mhz": 500,)", "");
    CHECK(ErrorOf(ParseHardwareJson(text, "npu.json")) ==
          "npu.json: missing required field 'clock_mhz'");
  }
  SECTION("negative rows") {
    std::string text = Replace(kCustomJson, R"("rows": 64)", R"("rows": -3)");
    std::string msg = ErrorOf(ParseHardwareJson(text, "gemmini.json"));
    CHECK(Contains(msg, "gemmini.json: field 'array.rows': expected a positive integer"));
    CHECK(Contains(msg, "got -3"));
  }
  SECTION("rows beyond the limit") {
    std::string text = Replace(kCustomJson, R"("rows": 64)", R"("rows": 5000)");
    std::string msg = ErrorOf(ParseHardwareJson(text, "npu.json"));
    CHECK(Contains(msg, "'array.rows'"));
    CHECK(Contains(msg, "5000"));
  }
  SECTION("wrong type") {
    std::string text = Replace(kCustomJson, R"("clock_mhz": 500)", R"("clock_mhz": "fast")");
    std::string msg = ErrorOf(ParseHardwareJson(text, "npu.json"));
    CHECK(msg ==
          "npu.json: field 'clock_mhz': expected a number from 1 to 100000 (MHz), got \"fast\"");
  }
  SECTION("string where an object is expected") {
    std::string text = Replace(kCustomJson, R"({"lanes": 64, "ops_per_cycle": 2})", "64");
    CHECK(ErrorOf(ParseHardwareJson(text, "npu.json")) ==
          "npu.json: field 'vector': expected an object, got 64");
  }
  SECTION("unknown top-level field") {
    std::string text = Replace(kCustomJson, R"("scratchpad":)", R"("scrachpad":)");
    std::string msg = ErrorOf(ParseHardwareJson(text, "npu.json"));
    CHECK(Contains(msg, "npu.json: unknown field 'scrachpad'"));
    CHECK(Contains(msg, "scratchpad"));  // the accepted fields are listed
    CHECK(Contains(msg, "energy_pj"));
  }
  SECTION("unknown nested field") {
    std::string text = Replace(kCustomJson, R"("mac": {"int8": 0.3})",
                               R"("mac": {"int4": 0.1})");
    std::string msg = ErrorOf(ParseHardwareJson(text, "npu.json"));
    CHECK(Contains(msg, "unknown field 'energy_pj.mac.int4'"));
    CHECK(Contains(msg, "int8, fp16, bf16, fp32"));
  }
  SECTION("negative energy") {
    std::string text = Replace(kCustomJson, R"("dram_byte": 100)", R"("dram_byte": -1)");
    CHECK(ErrorOf(ParseHardwareJson(text, "npu.json")) ==
          "npu.json: field 'energy_pj.dram_byte': expected a number from 0 to 1e+06 (pJ), got -1");
  }
  SECTION("invalid JSON") {
    std::string text = Replace(kCustomJson, R"("clock_mhz": 500,)", R"("clock_mhz": 500,,)");
    std::string msg = ErrorOf(ParseHardwareJson(text, "npu.json"));
    CHECK(Contains(msg, "npu.json: not valid JSON"));
    CHECK(Contains(msg, "line 5"));
  }
  SECTION("not an object") {
    CHECK(Contains(ErrorOf(ParseHardwareJson("[1, 2]", "npu.json")),
                   "npu.json: expected a JSON object at the top level"));
  }
  SECTION("unknown dataflow inside the array") {
    std::string text = Replace(kCustomJson, R"(["os", "ws"])", R"(["os", "xs"])");
    std::string msg = ErrorOf(ParseHardwareJson(text, "npu.json"));
    CHECK(msg == "npu.json: field 'dataflows[1]': expected one of ws, os, is, got \"xs\"");
  }
  SECTION("duplicate dataflow") {
    std::string text = Replace(kCustomJson, R"(["os", "ws"])", R"(["os", "os"])");
    CHECK(Contains(ErrorOf(ParseHardwareJson(text, "npu.json")), "'dataflows[1]'"));
  }
  SECTION("empty precisions") {
    std::string text = Replace(kCustomJson, R"(["int8", "fp16"])", "[]");
    CHECK(Contains(ErrorOf(ParseHardwareJson(text, "npu.json")), "field 'precisions'"));
  }
  SECTION("both DRAM bandwidth keys") {
    std::string text = Replace(kCustomJson, R"("bytes_per_cycle": 32)",
                               R"("bytes_per_cycle": 32, "bandwidth_gbps": 16)");
    std::string msg = ErrorOf(ParseHardwareJson(text, "npu.json"));
    CHECK(Contains(msg, "npu.json: field 'dram'"));
    CHECK(Contains(msg, "exactly one of 'dram.bytes_per_cycle' and 'dram.bandwidth_gbps'"));
    CHECK(Contains(msg, "both"));
  }
  SECTION("neither DRAM bandwidth key") {
    std::string text = Replace(kCustomJson, R"("bytes_per_cycle": 32, )", "");
    std::string msg = ErrorOf(ParseHardwareJson(text, "npu.json"));
    CHECK(Contains(msg, "exactly one of 'dram.bytes_per_cycle' and 'dram.bandwidth_gbps'"));
    CHECK(Contains(msg, "neither"));
  }
  SECTION("zero scratchpad without ideal memory") {
    std::string text = Replace(kCustomJson, R"("bytes": 1048576)", R"("bytes": 0)");
    std::string msg = ErrorOf(ParseHardwareJson(text, "npu.json"));
    CHECK(Contains(msg, "npu.json"));
    CHECK(Contains(msg, "'scratchpad.bytes'"));
  }
  SECTION("pinned dataflow must be supported") {
    std::string text =
        Replace(kCustomJson, R"("clock_mhz": 500,)", R"("clock_mhz": 500, "pinned_dataflow": "is",)");
    CHECK(Contains(ErrorOf(ParseHardwareJson(text, "npu.json")),
                   "dataflow=is: hardware 'my_npu' supports os, ws"));
  }
}

TEST_CASE("Hardware spec applies overrides in order and validates", "[hw]") {
  auto r = ParseHardwareSpec("gemmini,array=32x32,dataflow=ws,memory=ideal");
  REQUIRE(r.ok());
  CHECK(r->name == "gemmini");
  CHECK(r->array_rows == 32);
  CHECK(r->array_cols == 32);
  CHECK(r->pinned_dataflow == Dataflow::kWeightStationary);
  CHECK(r->ideal_memory);
  CHECK(std::isinf(r->TransferBytesPerCycle()));
  std::string summary = HardwareSummary(*r);
  CHECK(Contains(summary, "ideal memory"));
  CHECK(Contains(summary, "pinned ws"));

  auto sizes = ParseHardwareSpec(
      "tpu-v1,scratchpad=64KiB,accumulator=1M,weight_buffer=4096B,clock=1000,dram_bw=32,"
      "rows=8,cols=4,dram_latency=7,dma_bytes_per_cycle=4,vector_lanes=8,name=tiny,"
      "memory=real");
  REQUIRE(sizes.ok());
  CHECK(sizes->scratchpad.bytes == 64 * kKiB);
  CHECK(sizes->accumulator.bytes == 1 * kMiB);
  CHECK(sizes->weight_buffer.bytes == 4096);
  CHECK(sizes->clock_mhz == 1000.0);
  CHECK(sizes->dram_bytes_per_cycle == 32.0);  // 32 GB/s at the new 1000 MHz
  CHECK(sizes->array_rows == 8);
  CHECK(sizes->array_cols == 4);
  CHECK(sizes->dram_latency_cycles == 7);
  CHECK(sizes->TransferBytesPerCycle() == 4.0);
  CHECK(sizes->vector_lanes == 8);
  CHECK(sizes->name == "tiny");
  CHECK_FALSE(sizes->ideal_memory);

  HardwareConfig c;
  for (const char* size : {"256KiB", "256K", "256KB", "262144", "262144B", "256kib"}) {
    INFO(size);
    REQUIRE(ApplyHardwareOverride(c, "scratchpad", size).ok());
    CHECK(c.scratchpad.bytes == 256 * kKiB);
  }
  for (const char* size : {"1MiB", "1M", "1MB"}) {
    REQUIRE(ApplyHardwareOverride(c, "accumulator", size).ok());
    CHECK(c.accumulator.bytes == kMiB);
  }
  REQUIRE(ApplyHardwareOverride(c, "array", "8X16").ok());
  CHECK(c.array_rows == 8);
  CHECK(c.array_cols == 16);
  REQUIRE(ApplyHardwareOverride(c, "dram_bytes_per_cycle", "12.5").ok());
  CHECK(c.dram_bytes_per_cycle == 12.5);
}

TEST_CASE("A JSON file is accepted as the --hw base", "[hw]") {
  std::string path = TempPath("spec_npu.json");
  WriteFile(path, kCustomJson);
  auto r = ParseHardwareSpec(path + ",dataflow=os,scratchpad=2MiB");
  std::filesystem::remove(path);
  REQUIRE(r.ok());
  CHECK(r->name == "my_npu");
  CHECK(r->pinned_dataflow == Dataflow::kOutputStationary);
  CHECK(r->scratchpad.bytes == 2 * kMiB);
}

TEST_CASE("Hardware spec errors", "[hw]") {
  SECTION("pinned dataflow the hardware lacks") {
    std::string msg = ErrorOf(ParseHardwareSpec("gemmini,dataflow=is"));
    CHECK(Contains(msg, "dataflow=is: hardware 'gemmini' supports ws, os"));
  }
  SECTION("neither preset nor file") {
    std::string msg = ErrorOf(ParseHardwareSpec("foo"), absl::StatusCode::kNotFound);
    CHECK(msg == "--hw 'foo': not a preset (edge, gemmini, tpu-v1) and no such file");
  }
  SECTION("unknown override key") {
    std::string msg = ErrorOf(ParseHardwareSpec("edge,banks=3"));
    CHECK(Contains(msg, "'banks'"));
    CHECK(Contains(msg, "array, rows, cols, dataflow, memory"));
  }
  SECTION("bad override value") {
    CHECK(Contains(ErrorOf(ParseHardwareSpec("edge,array=abc")),
                   "override 'array=abc': expected RxC, e.g. 32x32"));
    CHECK(Contains(ErrorOf(ParseHardwareSpec("edge,scratchpad=12XB")),
                   "override 'scratchpad=12XB'"));
    CHECK(Contains(ErrorOf(ParseHardwareSpec("edge,memory=huge")), "override 'memory=huge'"));
    CHECK(Contains(ErrorOf(ParseHardwareSpec("edge,dataflow=zz")), "override 'dataflow=zz'"));
    CHECK(Contains(ErrorOf(ParseHardwareSpec("edge,clock=-5")), "override 'clock=-5'"));
    CHECK(Contains(ErrorOf(ParseHardwareSpec("edge,dram_bw=nan")), "override 'dram_bw=nan'"));
    CHECK(Contains(ErrorOf(ParseHardwareSpec("edge,rows=0")), "override 'rows=0'"));
  }
  SECTION("item without '='") {
    CHECK(Contains(ErrorOf(ParseHardwareSpec("edge,ideal")), "'ideal' is not KEY=VALUE"));
  }
  SECTION("ideal memory allows zero-sized buffers, real memory does not") {
    CHECK(ParseHardwareSpec("edge,memory=ideal,scratchpad=0").ok());
    std::string msg = ErrorOf(ParseHardwareSpec("edge,scratchpad=0"));
    CHECK(Contains(msg, "hardware 'edge'"));
    CHECK(Contains(msg, "'scratchpad.bytes'"));
  }
}

TEST_CASE("ValidateHardwareConfig names the field and the hardware", "[hw]") {
  HardwareConfig c;
  c.name = "bad";
  c.array_cols = 5000;
  std::string msg = ErrorOf(ValidateHardwareConfig(c));
  CHECK(Contains(msg, "hardware 'bad'"));
  CHECK(Contains(msg, "'array.cols'"));
  CHECK(Contains(msg, "5000"));

  c = HardwareConfig{};
  c.dataflows.clear();
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'dataflows'"));
  c = HardwareConfig{};
  c.dataflows = {Dataflow::kWeightStationary, Dataflow::kWeightStationary};
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'dataflows[1]'"));
  c = HardwareConfig{};
  c.precisions.clear();
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'precisions'"));
  c = HardwareConfig{};
  c.clock_mhz = 0;
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'clock_mhz'"));
  c = HardwareConfig{};
  c.accumulator.banks = 0;
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'accumulator.banks'"));
  c = HardwareConfig{};
  c.dram_bytes_per_cycle = std::numeric_limits<double>::quiet_NaN();
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'dram.bytes_per_cycle'"));
  c = HardwareConfig{};
  c.dram_latency_cycles = -1;
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'dram.latency_cycles'"));
  c = HardwareConfig{};
  c.vector_lanes = 0;
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'vector.lanes'"));
  c = HardwareConfig{};
  c.vector_ops_per_cycle = 0;
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'vector.ops_per_cycle'"));
  c = HardwareConfig{};
  c.energy.mac_fp32_pj = -1;
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'energy_pj.mac.fp32'"));
  CHECK(ValidateHardwareConfig(HardwareConfig{}).ok());
}

TEST_CASE("HardwareSummary is one readable line", "[hw]") {
  CHECK(HardwareSummary(*HardwarePreset("gemmini")) ==
        "gemmini: 16x16 array (ws,os) at 1000 MHz, scratchpad 256 KiB x4 banks, accumulator "
        "64 KiB x2, DRAM 16 B/cycle (16 GB/s, 100 cycles latency), vector 16 lanes");
  std::string tpu = HardwareSummary(*HardwarePreset("tpu-v1"));
  CHECK(Contains(tpu, "tpu-v1: 256x256 array (ws) at 700 MHz"));
  CHECK(Contains(tpu, "scratchpad 24 MiB x1 banks"));
  CHECK(Contains(tpu, "weight buffer 256 KiB x4"));
  CHECK(Contains(tpu, "accumulator 4 MiB x2"));
  CHECK(Contains(tpu, "(34 GB/s, 100 cycles latency)"));
  CHECK_FALSE(Contains(tpu, "ideal memory"));
  HardwareConfig c;
  c.scratchpad.bytes = 512;
  CHECK(Contains(HardwareSummary(c), "scratchpad 512 B x4 banks"));
  CHECK(Contains(HardwareSummary(c), "(12.8 GB/s,"));
}

TEST_CASE("Dataflow and precision names", "[hw]") {
  for (Dataflow d : {Dataflow::kWeightStationary, Dataflow::kOutputStationary,
                     Dataflow::kInputStationary}) {
    CHECK(ParseDataflow(DataflowName(d)) == d);
  }
  CHECK(std::string(DataflowName(Dataflow::kOutputStationary)) == "os");
  CHECK(ParseDataflow("weight_stationary") == Dataflow::kWeightStationary);
  CHECK(ParseDataflow("input_stationary") == Dataflow::kInputStationary);
  CHECK_FALSE(ParseDataflow("xs").has_value());
  for (Precision p : {Precision::kInt8, Precision::kFp16, Precision::kFp32, Precision::kBf16}) {
    CHECK(ParsePrecision(PrecisionName(p)) == p);
  }
  CHECK(ParsePrecision("bfloat16") == Precision::kBf16);
  CHECK_FALSE(ParsePrecision("int4").has_value());
  CHECK(PrecisionBytes(Precision::kInt8) == 1);
  CHECK(PrecisionBytes(Precision::kFp16) == 2);
  CHECK(PrecisionBytes(Precision::kFp32) == 4);
  CHECK(PrecisionBytes(Precision::kBf16) == 2);
  EnergyTable e;
  CHECK(e.MacPj(Precision::kFp16) == 2.0);   // FP16 multiply 1.1 + FP32 add 0.9 (Horowitz)
  CHECK(e.MacPj(Precision::kBf16) == 1.48);  // 1.1 x (8/11)^2 + 0.9
  // Presets: tpu-v1 has no fp16/bf16 datapath; edge and gemmini have both.
  CHECK_FALSE(HardwarePreset("tpu-v1")->Supports(Precision::kFp16));
  CHECK_FALSE(HardwarePreset("tpu-v1")->Supports(Precision::kBf16));
  CHECK(HardwarePreset("gemmini")->Supports(Precision::kBf16));
  CHECK(HardwarePreset("edge")->Supports(Precision::kFp16));
}

TEST_CASE("Deeply nested hardware JSON is refused before parsing, without recursion", "[hw][hostile]") {
  // 100,000 levels used to overflow the stack in nlohmann's dump() while the
  // error message was built.
  for (const char* open_close : {"[]", "{}"}) {
    std::string deep;
    const int levels = 100000;
    for (int i = 0; i < levels; ++i) {
      deep += open_close[0];
      if (open_close[0] == '{') deep += "\"a\":";
    }
    if (open_close[0] == '{') deep += "1";
    deep += std::string(levels, open_close[1]);
    std::string msg = ErrorOf(ParseHardwareJson(deep, "deep.json"));
    CHECK(msg.rfind("deep.json: not valid hardware JSON: nested deeper than 64 levels at line 1, column ", 0) == 0);
    // Inside a field, too.
    std::string nested = Replace(kCustomJson, R"("clock_mhz": 500)", "\"clock_mhz\": " + deep);
    CHECK(Contains(ErrorOf(ParseHardwareJson(nested, "npu.json")), "nested deeper than 64 levels at line 5"));
  }
  // Exactly 64 levels parse (and fail on the field, describing the value by its size).
  std::string ok_depth = std::string(63, '[') + std::string(63, ']');
  std::string msg = ErrorOf(ParseHardwareJson(Replace(kCustomJson, R"("clock_mhz": 500)",
                                                      "\"clock_mhz\": " + ok_depth),
                                              "npu.json"));
  CHECK(msg == "npu.json: field 'clock_mhz': expected a number from 1 to 100000 (MHz), got an "
               "array of 1 element");
  // Brackets inside strings (with escaped quotes) do not count.
  std::string in_string = Replace(kCustomJson, R"("name": "my_npu")",
                                  "\"name\": \"\\\"" + std::string(1000, '[') + "\"");
  auto named = ParseHardwareJson(in_string, "npu.json");
  REQUIRE(named.ok());
  CHECK(named->name == "\"" + std::string(1000, '['));
  // A huge top-level array is described, not serialized.
  std::string big = "[" + std::string(200000, '[') + "1" + std::string(200000, ']') + "]";
  CHECK(Contains(ErrorOf(ParseHardwareJson(big, "npu.json")), "nested deeper than 64"));
  big = "[";
  for (int i = 0; i < 200000; ++i) big += "[1,2],";
  big += "3]";
  CHECK(ErrorOf(ParseHardwareJson(big, "npu.json")) ==
        "npu.json: expected a JSON object at the top level, got an array of 200001 elements");
  // A syntax error quotes at most a short piece of a huge token.
  big = "[" + std::string(2000000, '1') + "]";
  msg = ErrorOf(ParseHardwareJson(big, "npu.json"));
  CHECK(Contains(msg, "npu.json: not valid JSON: number overflow parsing '1111"));
  CHECK(msg.size() < 300);
  CHECK(ErrorOf(ParseHardwareJson("[" + std::string(2000000, ' ') + "1]", "npu.json")) ==
        "npu.json: expected a JSON object at the top level, got an array of 1 element");
  // Long strings are cut, also inside a UTF-8 sequence, without throwing.
  std::string utf8;
  for (int i = 0; i < 100; ++i) utf8 += "\xc3\xa9";  // é
  msg = ErrorOf(ParseHardwareJson(Replace(kCustomJson, R"("clock_mhz": 500)",
                                          "\"clock_mhz\": \"" + utf8 + "\""),
                                  "npu.json"));
  CHECK(Contains(msg, "got \"\xc3\xa9"));
  CHECK(msg.size() < 200);
}

TEST_CASE("Every hardware field is range-checked, naming the field, value and range", "[hw][hostile]") {
  struct Case {
    const char* from;
    const char* to;
    const char* message;
  };
  const Case cases[] = {
      {R"("clock_mhz": 500)", R"("clock_mhz": 1e308)",
       "field 'clock_mhz': expected a number from 1 to 100000 (MHz), got 1e+308"},
      {R"("clock_mhz": 500)", R"("clock_mhz": 1e400)", "not valid JSON: number overflow parsing '1e400'"},
      {R"("clock_mhz": 500)", R"("clock_mhz": 0)", "field 'clock_mhz': expected a number from 1 to 100000 (MHz), got 0"},
      {R"("clock_mhz": 500)", R"("clock_mhz": -800)", "field 'clock_mhz': expected a number from 1 to 100000 (MHz), got -800"},
      {R"("bytes_per_cycle": 32)", R"("bandwidth_gbps": 1e300)",
       "field 'dram.bandwidth_gbps': expected a number from 0.001 to 1e+06 (GB/s), got 1e+300"},
      {R"("bytes_per_cycle": 32)", R"("bandwidth_gbps": 900000)",
       "field 'dram.bandwidth_gbps': expected a bandwidth that is a number from 0.001 to 65536 "
       "(bytes per cycle) at 500 MHz, got 900000"},
      {R"("bytes_per_cycle": 32)", R"("bytes_per_cycle": 1e300)",
       "field 'dram.bytes_per_cycle': expected a number from 0.001 to 65536 (bytes per cycle), got 1e+300"},
      {R"("bytes_per_cycle": 32)", R"("bytes_per_cycle": 0)", "field 'dram.bytes_per_cycle'"},
      {R"("latency_cycles": 150)", R"("latency_cycles": 2000000000)",
       "field 'dram.latency_cycles': expected an integer from 0 to 1000000 (cycles), got 2000000000"},
      {R"("bytes": 1048576, "banks": 8)", R"("bytes": 1e300, "banks": 8)",
       "field 'scratchpad.bytes': expected an integer number of bytes from 0 to 1099511627776 (1 TiB), got 1e+300"},
      {R"("bytes": 1048576, "banks": 8)", R"("bytes": -1, "banks": 8)", "field 'scratchpad.bytes'"},
      {R"("bytes": 1048576, "banks": 8)", R"("bytes": 1048576, "banks": 0)",
       "field 'scratchpad.banks': expected an integer from 1 to 1024, got 0"},
      {R"("bytes": 1048576, "banks": 8)", R"("bytes": 1048576, "banks": 1e9)", "field 'scratchpad.banks'"},
      {R"("dma": {"bytes_per_cycle": 8})", R"("dma": {"bytes_per_cycle": 1e-9})",
       "field 'dma.bytes_per_cycle': expected 0 or a number from 0.001 to 65536"},
      {R"("lanes": 64)", R"("lanes": 100000000)", "field 'vector.lanes': expected an integer from 1 to 65536"},
      {R"("ops_per_cycle": 2)", R"("ops_per_cycle": 1e10)", "field 'vector.ops_per_cycle'"},
      {R"("dram_byte": 100)", R"("dram_byte": 1e300)",
       "field 'energy_pj.dram_byte': expected a number from 0 to 1e+06 (pJ), got 1e+300"},
  };
  for (const Case& c : cases) {
    INFO(c.to);
    std::string msg = ErrorOf(ParseHardwareJson(Replace(kCustomJson, c.from, c.to), "npu.json"));
    CHECK(Contains(msg, std::string("npu.json: ") + c.message));
  }
  // JSON has no NaN: the literal is a syntax error.
  CHECK(Contains(ErrorOf(ParseHardwareJson(Replace(kCustomJson, R"("clock_mhz": 500)",
                                                   R"("clock_mhz": NaN)"),
                                           "npu.json")),
                 "npu.json: not valid JSON"));

  // Overrides: the key, the value and the range.
  const std::pair<const char*, const char*> overrides[] = {
      {"edge,clock=1e308", "override 'clock=1e308': expected a clock in MHz, e.g. 800: a number from 1 to 100000 (MHz)"},
      {"edge,clock=nan", "override 'clock=nan'"},
      {"edge,clock=inf", "override 'clock=inf'"},
      {"edge,dram_bw=1e300", "override 'dram_bw=1e300': expected a DRAM bandwidth in GB/s, e.g. 12.8: a number from 0.001 to 1e+06 (GB/s)"},
      {"edge,dram_bw=900000", "override 'dram_bw=900000': expected a bandwidth that is a number from 0.001 to 65536 (bytes per cycle) at 800 MHz (got 1.125e+06)"},
      {"edge,dram_bytes_per_cycle=1e300", "override 'dram_bytes_per_cycle=1e300'"},
      {"edge,dram_latency=2000000000", "override 'dram_latency=2000000000': expected an integer from 0 to 1000000 (cycles)"},
      {"edge,dma_bytes_per_cycle=-1", "override 'dma_bytes_per_cycle=-1'"},
      {"edge,vector_lanes=0", "override 'vector_lanes=0': expected an integer from 1 to 65536"},
      {"edge,scratchpad=2048G", "override 'scratchpad=2048G': expected a size from 0 to 1 TiB"},
  };
  for (const auto& [spec, message] : overrides) {
    INFO(spec);
    CHECK(Contains(ErrorOf(ParseHardwareSpec(spec)), message));
  }
  CHECK(ParseHardwareSpec("edge,clock=100000,dram_bw=1e6,scratchpad=1024G,vector_lanes=65536").ok());

  // ValidateHardwareConfig states the range for values set in code.
  HardwareConfig c;
  c.clock_mhz = 1e308;
  CHECK(ErrorOf(ValidateHardwareConfig(c)) ==
        "hardware 'edge': field 'clock_mhz': expected a number from 1 to 100000 (MHz), got 1e+308");
  c = HardwareConfig{};
  c.scratchpad.bytes = uint64_t{1} << 50;
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'scratchpad.bytes': expected at most 1099511627776 bytes (1 TiB)"));
  c = HardwareConfig{};
  c.vector_ops_per_cycle = std::numeric_limits<double>::quiet_NaN();
  CHECK(Contains(ErrorOf(ValidateHardwareConfig(c)), "'vector.ops_per_cycle'"));
  for (const std::string& preset : HardwarePresetNames()) {
    CHECK(ValidateHardwareConfig(*HardwarePreset(preset)).ok());
  }
}

TEST_CASE("Hardware files that are not regular files are refused promptly", "[hw][hostile]") {
  const std::string dir = TempPath("hw_dir.json");
  std::filesystem::create_directories(dir);
  std::string msg = ErrorOf(ParseHardwareSpec(dir));
  CHECK(msg == dir + ": is a directory, not a regular file; refusing to read it");
  std::filesystem::remove_all(dir);
  const std::string fifo = TempPath("hw_fifo.json");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(Contains(ErrorOf(LoadHardwareFile(fifo)), fifo + ": is a FIFO"));
  std::filesystem::remove(fifo);
  CHECK(Contains(ErrorOf(ParseHardwareSpec("/dev/zero")), "/dev/zero: is a character device"));
}
