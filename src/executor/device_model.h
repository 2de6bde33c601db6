// Runs a loaded engine's accelerator program on the hardware model and turns
// the schedule into the public DeviceProfile (per-layer cycles, stalls,
// utilization, traffic, energy, roofline).
#ifndef ENGINE_EXECUTOR_DEVICE_MODEL_H_
#define ENGINE_EXECUTOR_DEVICE_MODEL_H_

#include <utility>
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
/// engine's inputs and outputs and `io_tensor_bytes` (by tensor index, bytes;
/// 0 or absent = unknown) their sizes: each engine input or output counts
/// toward the compulsory DRAM bytes (a layer's and the physical limit's) with
/// the bytes its loads or stores move, at most its size once (re-reads and
/// halo rows are not compulsory). The residency fields and the
/// physical limit (a second simulation with memory=ideal) are derived from
/// the program.
/// `group_owner[l]` (optional, empty = no groups): the owner layer of the
/// layer group (codegen/layer_group.h) whose instructions hold layer l's, or
/// -1. The members of a group (its owner and every layer naming it) run band
/// by band, so their simulated spans overlap; the group's span (first start
/// to last completion, cycles) is divided among its members in proportion
/// to each member's work (array + vector + DMA load + DMA store busy
/// cycles, hw::LayerTiming), so that the layers' cycles sum to the
/// network's as for ungrouped layers (GroupTimeShares).
/// Errors: InvalidArgument from the simulator for a malformed program.
absl::StatusOr<DeviceProfile> SimulateDevice(const HardwareConfig& hw, const hw::Program& program,
                                             std::vector<LayerDeviceProfile> layers,
                                             const std::vector<int64_t>& min_dram_bytes,
                                             hw::SimulationResult* simulation,
                                             const std::vector<int>& input_tensors = {},
                                             const std::vector<int>& output_tensors = {},
                                             const std::vector<int32_t>& group_owner = {},
                                             const std::vector<int64_t>& io_tensor_bytes = {});

/// The (start cycle, cycles) attributed to each layer of `timing` (by layer
/// index): a layer outside any group keeps its simulated span; the members
/// of a group (`group_owner` as for SimulateDevice; an owner index out of
/// range is ignored) share the group's span [min start, max end] in
/// proportion to their work (array_busy + vector_busy + load_busy +
/// store_busy; equal shares when all are 0), laid out back to back from the
/// group's start in layer order; the shares sum exactly to the span (the
/// remainder of the integer division goes to the last member).
std::vector<std::pair<int64_t, int64_t>> GroupTimeShares(
    const std::vector<hw::LayerTiming>& timing, const std::vector<int32_t>& group_owner);

}  // namespace engine::exec

#endif  // ENGINE_EXECUTOR_DEVICE_MODEL_H_
