// Runs a loaded engine's accelerator program on the hardware model and turns
// the schedule into the public DeviceProfile (per-layer cycles, stalls,
// utilization, traffic, energy, roofline).
#ifndef ENGINE_EXECUTOR_DEVICE_MODEL_H_
#define ENGINE_EXECUTOR_DEVICE_MODEL_H_

#include <vector>

#include "absl/status/statusor.h"
#include "engine/hardware.h"
#include "engine/runtime.h"
#include "hw/program.h"
#include "hw/simulator.h"

namespace engine::exec {

/// `layers` holds each layer's static fields as read from the plan (name,
/// type, unit, tactic, dataflow, tiling, precision, macs, vector_ops,
/// estimated_cycles, instructions, rejected) and `min_dram_bytes` its
/// compulsory traffic; the simulated fields are filled in.
/// `input_tensors` / `output_tensors` are the plan tensor indices of the
/// engine's inputs and outputs (for the physical limit's compulsory bytes:
/// the extent of their loads and stores). The residency fields and the
/// physical limit (a second simulation with memory=ideal) are derived from
/// the program.
/// Errors: InvalidArgument from the simulator for a malformed program.
absl::StatusOr<DeviceProfile> SimulateDevice(const HardwareConfig& hw, const hw::Program& program,
                                             std::vector<LayerDeviceProfile> layers,
                                             const std::vector<int64_t>& min_dram_bytes,
                                             hw::SimulationResult* simulation,
                                             const std::vector<int>& input_tensors = {},
                                             const std::vector<int>& output_tensors = {});

}  // namespace engine::exec

#endif  // ENGINE_EXECUTOR_DEVICE_MODEL_H_
