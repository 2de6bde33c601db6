// Layer-group (depth-first, fused-layer) execution for the accelerator
// program (issue 21): a chain of consecutive convolutions (conv -> conv,
// depthwise -> pointwise, pointwise -> depthwise -> pointwise as in
// MobileNetV2's inverted residual, ResNet's bottleneck) runs band by band:
// for each band of output rows of the chain's last layer, every layer of the
// chain computes the rows the next one needs (with the halo of its kernel),
// and the intermediate bands stay in scratchpad buffers reserved for them, so
// the intermediates never reach DRAM. The recompute strategy of Alwani et
// al., "Fused-Layer CNN Accelerators", MICRO 2016, section 3: a layer with
// kernel K, stride S and dilation D needs, for R output rows, the input rows
//   rows_in(R) = min(H_in, (R - 1) * S + (K - 1) * D + 1)        (eq. 1)
// so the rows of the halo, (K - 1) * D + 1 - S per band boundary, are
// computed again by the next band (recompute, no cache of the overlap);
// every band reloads the chain's weights.
//
// Whole-graph choice: dynamic programming over the layers in schedule order
// (the CANN graph-compilation cost model cited in /work/shared/docs/
// ANCHORS.md): F(v_j) = min_i F(v_i) + ΔC(v_i, v_j), where ΔC is the cost of
// running layers i+1..j as one group (or one layer alone when j = i + 1),
// each group simulated on its own (hw::Simulate) and costed with the build's
// objective (GroupObjective). A group is a candidate only when its band
// buffers and its layers' tiles fit the scratchpad.
#ifndef ENGINE_CODEGEN_LAYER_GROUP_H_
#define ENGINE_CODEGEN_LAYER_GROUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "codegen/mapper.h"
#include "engine/hardware.h"
#include "hw/program.h"
#include "hw/workload.h"
#include "ir/graph.h"

namespace engine::codegen {

/// The objective the group choice minimizes (per group: its simulated
/// cycles, energy in pJ and DRAM bytes).
///  - kLatency / kEnergy / kEdp: as the build's Objective (edp: cycles x pJ,
///    summed over the groups as fusion_cost.h does);
///  - kWeighted: C = alpha * cycles + beta * DRAM bytes, the CANN cost
///    C(G') = α·Σcompute + β·Σtraffic.
/// `energy_budget_pj` > 0: when the chosen schedule's summed energy exceeds
/// it, the choice is made again minimizing energy (if that meets the budget
/// it is taken; otherwise the lowest-energy schedule is taken and reported).
struct GroupObjective {
  enum class Kind : uint8_t { kLatency, kEnergy, kEdp, kWeighted };
  Kind kind = Kind::kLatency;
  double alpha = 1.0;  ///< weight of cycles (kWeighted)
  double beta = 0.0;   ///< weight of DRAM bytes (kWeighted)
  double energy_budget_pj = 0;  ///< 0 = none
};
/// Parses "latency", "energy", "edp" or "weighted:alpha=A,beta=B" (alpha,
/// beta >= 0, not both 0). Errors: InvalidArgument naming the text.
absl::StatusOr<GroupObjective> ParseGroupObjective(std::string_view text);
/// The GroupObjective of a plain Objective.
GroupObjective ToGroupObjective(Objective objective);

/// The value `objective` gives the whole program of `code`-like inputs:
/// `program` simulated (hw::Simulate) for `num_layers` layers, C = cycles,
/// energy (pJ), cycles x energy, or alpha x cycles + beta x DRAM bytes
/// (GroupObjective, the CANN cost). `cycles`, `energy_pj` and `dram_bytes`
/// (optional) receive the figures. Errors: those of hw::Simulate.
absl::StatusOr<double> ProgramObjective(const HardwareConfig& hw, const hw::Program& program,
                                        int num_layers, const GroupObjective& objective,
                                        int64_t* cycles = nullptr, double* energy_pj = nullptr,
                                        int64_t* dram_bytes = nullptr);

/// Tensor index of a group's intermediate band (lowered into a scratchpad
/// band buffer, never a plan tensor).
inline constexpr int32_t kBandTensor = -3;

/// Row geometry of a windowed pool run on the vector unit (MaxPool,
/// AveragePool, Int8AveragePool over NCHW, batch 1), which the vector
/// workload does not carry: what the band math of a conv -> pool group needs.
/// Output row o reads input rows [o * stride_h - pad_top, o * stride_h -
/// pad_top + (kernel_h - 1) * dilation_h] (ONNX MaxPool / AveragePool), rows
/// outside [0, in_h) being padding. Default (out_h 0): not a pool.
struct PoolRows {
  int64_t in_h = 0, out_h = 0;
  int64_t kernel_h = 1, stride_h = 1, dilation_h = 1, pad_top = 0;
  bool Valid() const {
    return in_h > 0 && out_h > 0 && kernel_h > 0 && stride_h > 0 && dilation_h > 0;
  }
};

/// Whether `consumer` may follow `producer` in a group: both convolutions
/// on the array (batch 1, groups any: depthwise included), `consumer` reads
/// exactly `producer`'s output (same tensor, same bytes, in_h equal to
/// producer's out_h) as its input and not as a residual. A layer whose
/// PoolRows is valid is a pool (a kVector layer of one input and one output,
/// its rows given by the PoolRows): conv -> pool and pool -> conv are
/// chainable under the same conditions (pool -> pool is not).
bool Chainable(const hw::LayerWorkload& producer, const hw::LayerWorkload& consumer,
               const PoolRows& producer_pool = {}, const PoolRows& consumer_pool = {});

/// The band workloads of `chain` (Chainable pairs) split into `bands` bands
/// of the last layer's output rows (bands <= its out_h): result[b][q] is
/// layer q in band b. Layer q's band computes rows_in (eq. 1) of layer
/// q + 1's band; DRAM operands (the first layer's input, the last layer's
/// output and residual) keep their tensor, with bytes scaled to the band's
/// rows; intermediates carry kBandTensor. Weights are whole in every band.
/// `first_row` (optional) receives per band and layer the first output row
/// and input row (for DRAM offsets). `pools` (empty, or one per layer of `chain`) marks
/// the pools: a pool's band computes out_rows output rows from the input
/// rows its windows touch, clipped to [0, in_h) (padding rows are not
/// stored), and its vector work (out_elements, operand bytes) scales with
/// the rows.
struct BandRows {
  int64_t out_row0 = 0, out_rows = 0, in_row0 = 0, in_rows = 0;
};
std::vector<std::vector<hw::LayerWorkload>> BandWorkloads(
    const std::vector<hw::LayerWorkload>& chain, int64_t bands,
    std::vector<std::vector<BandRows>>* rows = nullptr, const std::vector<PoolRows>& pools = {});

/// One group: layers [first, first + count) of the schedule.
struct LayerGroup {
  int first = 0;
  int count = 1;
  int64_t bands = 1;
  int64_t band_buffer_bytes = 0;  ///< scratchpad bytes of the band buffers
  int64_t cycles = 0;             ///< simulated alone
  double energy_pj = 0;
  int64_t dram_bytes = 0;
  int64_t recompute_macs = 0;     ///< MACs above the separate layers' (halo rows)
  int64_t separate_cycles = 0;    ///< the layers run one by one, simulated alone
  double separate_energy_pj = 0;
  int64_t separate_dram_bytes = 0;
  /// Marginal efficiency of the fusion: ΔP / ΔE, the performance gained
  /// (cycles saved) per pJ of energy spent more (negative ΔE, energy also
  /// saved: reported as +inf as a fusion that wins both).
  double eta = 0;
  std::vector<LayerMapping> mappings;  ///< per layer of the group, for the plan
  hw::Program program;                  ///< the group's instructions (layer = schedule index)
};

/// The whole-graph choice.
struct GroupPlan {
  std::vector<LayerGroup> groups;  ///< accepted groups of >= 2 layers, in schedule order
  int candidates = 0;              ///< groups costed
  int rejected_no_fit = 0;         ///< candidates whose tiles / band buffers do not fit
  int rejected_cost = 0;           ///< candidates not on the DP's optimum
  double objective_before = 0;     ///< the objective with no groups
  double objective_after = 0;
  bool over_energy_budget = false; ///< no schedule met GroupObjective::energy_budget_pj
  /// The grouped program would exceed BuilderConfig::max_instructions: the
  /// groups were dropped (GenerateDeviceCode).
  bool over_instruction_limit = false;
};

/// Chooses groups for `layers` (workloads in schedule order, each mapped
/// alone as `mappings`; `single_use[l]` when layer l's output is read only
/// by layer l + 1 and is no graph output; `pools`, empty or one per layer,
/// the pools' rows, see PoolRows). Groups of 2..max_layers layers
/// are costed for bands in {2, 3, 4, 6, 8, 12, 16, ...} <= the last layer's
/// out_h, and only when the intermediates (whole) do not fit half the
/// scratchpad (else residency keeps them). Errors: those of ChooseMapping
/// other than ResourceExhausted (a group that does not fit is no candidate).
absl::StatusOr<GroupPlan> ChooseLayerGroups(const HardwareConfig& hw,
                                            const std::vector<hw::LayerWorkload>& layers,
                                            const std::vector<LayerMapping>& mappings,
                                            const std::vector<bool>& single_use,
                                            const GroupObjective& objective, Objective mapping_objective,
                                            int max_layers = 3,
                                            const std::vector<PoolRows>& pools = {});

/// The build's report of `plan` (BuildResult::layer_group_report): a
/// summary line and one line per group naming its first and last layers
/// (`graph`'s nodes in schedule order).
std::string LayerGroupReport(const ir::Graph& graph, const GroupPlan& plan);

/// Lowers `chain` as a group of `bands` bands whose first layer has
/// schedule index `first_layer`: per band, each layer's band workload mapped
/// in the scratchpad minus the band buffers (placed at its bottom, one per
/// intermediate) and lowered in turn (each closed by its kSync); the
/// intermediate STOREs and loads become kFlagResident moves into the band
/// buffers. Fills `group` (program, mappings, band_buffer_bytes, figures
/// simulated alone). Errors: ResourceExhausted when the band buffers exceed
/// 7/8 of the scratchpad or a band layer has no
/// tiling that fits; others of ChooseMapping / hw::Simulate. `pools` as
/// for BandWorkloads.
absl::Status LowerGroup(const HardwareConfig& hw, const std::vector<hw::LayerWorkload>& chain,
                        int64_t bands, int first_layer, Objective mapping_objective,
                        LayerGroup& group, const std::vector<PoolRows>& pools = {});

}  // namespace engine::codegen

#endif  // ENGINE_CODEGEN_LAYER_GROUP_H_
