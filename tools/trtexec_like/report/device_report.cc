#include "trtexec_like/report/device_report.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/builder.h"
#include "engine/hardware.h"
#include "trtexec_like/format.h"
#include "trtexec_like/layer_join.h"
#include "trtexec_like/report/json_file.h"

namespace trtexec_like {
namespace {

using Json = nlohmann::json;

// Track ids of the trace; unit tracks follow in the order below, any track
// name the engine reports beyond these gets the next free id.
constexpr int kLayersTid = 1;
constexpr const char* kUnitTracks[] = {"DMA load", "DMA store", "Systolic array", "Vector unit"};

// "memory 1.30x", "compute 1.00x", or "-" for layers without device work.
std::string FormatBound(const std::string& bound, double ratio) {
  if (bound.empty() || bound == "-") return "-";
  return absl::StrFormat("%s %.2fx", bound, ratio);
}

Json ProfileLayerJson(const engine::LayerDeviceProfile& l, int count, double total_ms) {
  return Json{
      {"name", l.name},
      {"timeMs", l.time_ms * count},
      {"averageMs", l.time_ms},
      {"medianMs", l.time_ms},
      {"percentage", Percent(l.time_ms, total_ms)},
      {"cycles", l.cycles},
      {"computeCycles", l.compute_cycles},
      {"stallCycles", l.stall_cycles},
      {"utilization", l.utilization},
      {"mappingEfficiency", l.mapping_efficiency},
      {"dramBytesRead", l.dram_bytes_read},
      {"dramBytesWritten", l.dram_bytes_written},
      {"energyPj", l.energy_pj()},
      {"energyComputePj", l.energy_compute_pj},
      {"energySramPj", l.energy_sram_pj},
      {"energyDramPj", l.energy_dram_pj},
      {"dataflow", l.dataflow},
      {"tactic", l.tactic},
      {"tiling", l.tiling},
      {"unit", l.unit},
      {"type", l.type},
      {"rooflineComputeCycles", l.roofline_compute_cycles},
      {"rooflineMemoryCycles", l.roofline_memory_cycles},
      {"rooflineRatio", l.roofline_ratio},
      {"bound", l.bound},
      {"inputLocation", l.input_location},
      {"outputLocation", l.output_location},
      {"weightLocation", l.weight_location},
      {"residencyBytesSaved", l.residency_bytes_saved},
      {"prefetchedLoads", l.prefetched_loads},
  };
}

Json ThreadNameEvent(int tid, const std::string& name) {
  return Json{{"ph", "M"}, {"pid", 1}, {"tid", tid}, {"name", "thread_name"},
              {"args", {{"name", name}}}};
}

Json ThreadSortEvent(int tid) {
  return Json{{"ph", "M"}, {"pid", 1}, {"tid", tid}, {"name", "thread_sort_index"},
              {"args", {{"sort_index", tid}}}};
}

// Trace tracks: one per unit, and one per concurrent transfer on a unit
// whose events overlap (several DMA loads in flight). Chrome's trace format
// requires the complete ("X") events of one tid to nest; overlapping ones are
// drawn wrongly by Perfetto. Events of a unit are placed greedily, in start
// order, on the first lane whose previous event has ended (interval
// partitioning: the lane count is the unit's peak concurrency); lane k > 0
// is the track "<unit> #<k+1>".
struct TraceLanes {
  std::vector<int> tid_of_event;  // parallel to the events
};

TraceLanes AssignTraceTracks(const std::vector<engine::DeviceEvent>& events, Json& trace_events) {
  std::map<std::string, std::vector<size_t>> by_track;
  for (const char* name : kUnitTracks) by_track[name];
  for (size_t i = 0; i < events.size(); ++i) by_track[events[i].track].push_back(i);

  std::vector<std::pair<std::string, int>> named;  // track name, tid
  TraceLanes lanes;
  lanes.tid_of_event.assign(events.size(), kLayersTid);
  int next = kLayersTid + 1;
  auto order = [&](const std::string& name) {  // the units first, in kUnitTracks order
    for (size_t u = 0; u < std::size(kUnitTracks); ++u) {
      if (name == kUnitTracks[u]) return static_cast<int>(u);
    }
    return static_cast<int>(std::size(kUnitTracks));
  };
  std::vector<std::string> track_names;
  for (const auto& [name, idx] : by_track) track_names.push_back(name);
  std::stable_sort(track_names.begin(), track_names.end(),
                   [&](const std::string& a, const std::string& b) { return order(a) < order(b); });
  for (const std::string& name : track_names) {
    std::vector<size_t> idx = by_track[name];
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      return events[a].start_cycle < events[b].start_cycle;
    });
    std::vector<int64_t> lane_end;  // end cycle of each lane's last event
    std::vector<int> lane_tid;
    for (size_t i : idx) {
      const engine::DeviceEvent& e = events[i];
      const int64_t end = std::max(e.start_cycle, e.end_cycle);
      size_t lane = 0;
      while (lane < lane_end.size() && lane_end[lane] > e.start_cycle) ++lane;
      if (lane == lane_end.size()) {
        lane_end.push_back(end);
        lane_tid.push_back(next);
        named.emplace_back(lane == 0 ? name : absl::StrCat(name, " #", lane + 1), next++);
      }
      lane_end[lane] = end;
      lanes.tid_of_event[i] = lane_tid[lane];
    }
    if (lane_end.empty()) named.emplace_back(name, next++);  // an idle unit keeps its track
  }
  trace_events.push_back(ThreadNameEvent(kLayersTid, "Layers"));
  trace_events.push_back(ThreadSortEvent(kLayersTid));
  for (const auto& [name, tid] : named) {
    trace_events.push_back(ThreadNameEvent(tid, name));
    trace_events.push_back(ThreadSortEvent(tid));
  }
  return lanes;
}

Json RejectedJson(const std::vector<engine::RejectedTactic>& rejected) {
  Json out = Json::array();
  for (const auto& r : rejected) {
    out.push_back(Json{{"tactic", r.tactic}, {"tiling", r.tiling}, {"cycles", r.cycles},
                       {"energyPj", r.energy_pj}});
  }
  return out;
}

}  // namespace

void PrintHardwareLine(const engine::Engine& eng) {
  const engine::PlanInfo& info = eng.plan_info();
  std::printf("[I] Hardware: %s; objective %s, %llu accelerator instructions\n",
              engine::HardwareSummary(eng.hardware()).c_str(), info.objective.c_str(),
              static_cast<unsigned long long>(info.instructions));
}

void PrintLayerInfo(const engine::Engine& eng) {
  std::printf("\n=== Layer information (%zu layers) ===\n", eng.layers().size());
  for (const JoinedLayer& joined : JoinLayers(eng)) {
    const engine::LayerInfo& l = *joined.info;
    const engine::LayerDeviceProfile* d = joined.device;
    std::printf("%-20s %s  [%s] -> [%s]  tactic: %s  tiling: %s\n", l.type.c_str(),
                l.name.c_str(), absl::StrJoin(l.inputs, ", ").c_str(),
                absl::StrJoin(l.outputs, ", ").c_str(), d ? d->tactic.c_str() : "?",
                d && !d->tiling.empty() ? d->tiling.c_str() : "-");
  }
  const engine::MemoryPlanInfo& m = eng.memory_plan();
  std::printf("\n=== Activation arena: %lld bytes (lower bound %lld, no reuse %lld; %s) ===\n",
              static_cast<long long>(m.arena_bytes), static_cast<long long>(m.lower_bound_bytes),
              static_cast<long long>(m.no_reuse_bytes), m.strategy.c_str());
  std::printf("%12s %12s %7s  %s\n", "Offset", "Bytes", "Layers", "Tensor");
  for (const engine::TensorPlacement& t : m.tensors) {
    std::printf("%12lld %12lld %3d-%-3d  %s\n", static_cast<long long>(t.offset),
                static_cast<long long>(t.bytes), t.first_layer, t.last_layer, t.name.c_str());
  }
}

void PrintMemoryLine(const engine::Engine& eng) {
  const engine::MemoryPlanInfo& m = eng.memory_plan();
  std::printf("[I] Activation memory: arena %s per execution context (lower bound %s, %.1f%% "
              "above it; no reuse %s; %s, %lld-byte alignment)\n",
              FormatBytes(m.arena_bytes).c_str(), FormatBytes(m.lower_bound_bytes).c_str(),
              m.lower_bound_bytes > 0
                  ? 100.0 * (m.arena_bytes - m.lower_bound_bytes) / m.lower_bound_bytes
                  : 0.0,
              FormatBytes(m.no_reuse_bytes).c_str(), m.strategy.c_str(),
              static_cast<long long>(m.alignment));
}

void PrintDeviceSummary(const engine::DeviceProfile& p, const std::string& hardware_name) {
  const Unit eu = EnergyUnit(p.energy_pj());
  std::printf("\n=== Modeled device (%s) ===\n", hardware_name.c_str());
  std::printf("Device Latency (modeled): %s (%lld cycles at %g MHz)\n",
              FormatMs(p.latency_ms).c_str(), static_cast<long long>(p.total_cycles),
              p.clock_mhz);
  std::printf("Device Throughput (modeled): %.1f qps\n", p.throughput_qps);
  std::printf("Energy per inference (modeled): %.4g %s (compute %.4g %s, SRAM %.4g %s, "
              "DRAM %.4g %s)\n",
              p.energy_pj() / eu.scale, eu.name, p.energy_compute_pj / eu.scale,
              eu.name, p.energy_sram_pj / eu.scale, eu.name,
              p.energy_dram_pj / eu.scale, eu.name);
  std::printf("Array utilization (modeled): %.1f %%   DRAM traffic: %s read, %s written\n",
              100.0 * p.utilization, FormatBytes(p.dram_bytes_read).c_str(),
              FormatBytes(p.dram_bytes_written).c_str());
  std::printf("Roofline (modeled): bound %lld cycles; modeled / bound = %.2fx\n",
              static_cast<long long>(p.roofline_cycles), p.roofline_ratio);
  std::printf("Physical limit (modeled): %lld cycles = max(ideal-memory compute %lld, "
              "compulsory DRAM %s (weights + inputs + outputs) / bandwidth); modeled / limit = "
              "%.2fx\n",
              static_cast<long long>(p.physical_limit_cycles),
              static_cast<long long>(p.ideal_compute_cycles),
              FormatBytes(p.compulsory_dram_bytes).c_str(), p.physical_limit_ratio);
  std::printf("Residency (modeled): %s of DRAM traffic kept on chip; peak occupancy scratchpad "
              "%.1f %%, weight buffer %.1f %%, accumulator %.1f %%\n",
              FormatBytes(p.residency_bytes_saved).c_str(), 100.0 * p.scratchpad_occupancy,
              100.0 * p.weight_buffer_occupancy, 100.0 * p.accumulator_occupancy);
  std::printf("Note: device figures are modeled for one inference on the accelerator; "
              "they are not host measurements.\n");
}

std::string LimitGapReport(const engine::DeviceProfile& p, const engine::HardwareConfig& hw,
                           double threshold, int top) {
  auto KiB = [](int64_t bytes) { return absl::StrCat(bytes / 1024, " KiB"); };
  if (p.physical_limit_cycles <= 0 || !(p.physical_limit_ratio > threshold)) return "";
  const double bw = hw.TransferBytesPerCycle();
  // Units: a layer group (its members summed) or one layer.
  struct Unit {
    std::string name;
    int layers = 0;
    int64_t cycles = 0, ideal = 0, compulsory = 0, dram = 0;
    int64_t weights_loaded = 0, weights_unique = 0, spilled_in = 0, spilled_out = 0;
  };
  std::vector<Unit> units;
  std::map<int, size_t> group_unit;
  int64_t reloaded = 0, spilled_read = 0, spilled_written = 0, moved = 0;
  for (const auto& l : p.layers) {
    if (l.unit == "view") continue;
    Unit* u = nullptr;
    if (l.group_owner >= 0) {
      auto [it, fresh] = group_unit.emplace(l.group_owner, units.size());
      if (fresh) units.emplace_back();
      u = &units[it->second];
      u->name = u->layers == 0 ? l.name.substr(0, l.name.find(" + "))
                               : u->name.substr(0, u->name.find(" .. ")) + " .. " +
                                     l.name.substr(0, l.name.find(" + "));
    } else {
      units.emplace_back();
      u = &units.back();
      u->name = l.name.substr(0, l.name.find(" + "));
    }
    ++u->layers;
    u->cycles += l.cycles;
    u->ideal += l.ideal_compute_cycles;
    u->compulsory += l.compulsory_dram_bytes;
    u->dram += l.dram_bytes_read + l.dram_bytes_written;
    u->weights_loaded += l.weight_bytes_loaded;
    u->weights_unique += l.weight_bytes_unique;
    u->spilled_in += l.spilled_input_bytes;
    u->spilled_out += l.spilled_output_bytes;
    reloaded += l.weight_bytes_loaded - l.weight_bytes_unique;
    moved += l.dram_bytes_read + l.dram_bytes_written;
  }
  const int64_t compulsory = p.compulsory_dram_bytes;
  const int64_t act_moved = std::max<int64_t>(0, moved - compulsory - reloaded);
  for (const auto& l : p.layers) {
    spilled_read += l.spilled_input_bytes;
    spilled_written += l.spilled_output_bytes;
  }
  auto cyc = [&](int64_t bytes) {
    return bw > 0 ? static_cast<int64_t>(static_cast<double>(bytes) / bw) : 0;
  };
  auto limit = [&](const Unit& u) { return std::max(u.ideal, cyc(u.compulsory)); };
  std::string out = absl::StrFormat(
      "Above %.2fx the physical limit (modeled): %lld cycles vs limit %lld (%s); DRAM moved %s vs "
      "compulsory %s (= %lld cycles at %g B/cycle): weight reloads %s, activations through DRAM "
      "%s (tensors of %s read, %s written that stay off chip: scratchpad %s)\n",
      threshold, static_cast<long long>(p.total_cycles),
      static_cast<long long>(p.physical_limit_cycles),
      p.ideal_compute_cycles >= cyc(compulsory) ? "compute-bound" : "DRAM-bound",
      FormatBytes(moved), FormatBytes(compulsory), static_cast<long long>(cyc(moved)), bw,
      FormatBytes(reloaded), FormatBytes(act_moved), FormatBytes(spilled_read),
      FormatBytes(spilled_written), KiB(static_cast<int64_t>(hw.scratchpad.bytes)));
  // The bound if each layer (group) overlapped its own DRAM stream with its
  // compute perfectly but layers ran one after another.
  int64_t per_layer_bound = 0, dram_dominated = 0;
  for (const Unit& u : units) {
    per_layer_bound += std::max(u.ideal, cyc(u.dram));
    if (cyc(u.dram) > u.ideal) dram_dominated += cyc(u.dram) - u.ideal;
  }
  absl::StrAppendFormat(
      &out,
      "  sum over layers (groups) of max(ideal-memory cycles, own DRAM stream) = %lld cycles "
      "(%.2fx the limit), of which %lld cycles where a layer's DRAM stream exceeds its compute; "
      "the rest of the excess is fill, drain and DMA latency not overlapped\n",
      static_cast<long long>(per_layer_bound),
      static_cast<double>(per_layer_bound) / static_cast<double>(p.physical_limit_cycles),
      static_cast<long long>(dram_dominated));
  std::vector<size_t> order(units.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return units[a].cycles - limit(units[a]) > units[b].cycles - limit(units[b]);
  });
  const int64_t excess = p.total_cycles - p.physical_limit_cycles;
  for (size_t k = 0; k < order.size() && static_cast<int>(k) < top; ++k) {
    const Unit& u = units[order[k]];
    const int64_t over = u.cycles - limit(u);
    if (over <= 0) break;
    const int64_t stream = cyc(u.dram);
    const int64_t working = u.weights_unique + u.spilled_in + u.spilled_out;
    const auto capacity = static_cast<int64_t>(hw.scratchpad.bytes);
    absl::StrAppendFormat(
        &out,
        "  +%lld cycles (%.0f %% of the excess) %s%s: %lld cycles vs own limit %lld (ideal-memory "
        "%lld, compulsory %s); bound: %s; weights %s loaded for %s unique; activations through "
        "DRAM: in %s, out %s; weights + those activations %s %s %s scratchpad\n",
        static_cast<long long>(over), excess > 0 ? 100.0 * over / excess : 0.0,
        u.layers > 1 ? absl::StrCat("group of ", u.layers, " '").c_str() : "'", 
        absl::StrCat(u.name, "'").c_str(), static_cast<long long>(u.cycles),
        static_cast<long long>(limit(u)), static_cast<long long>(u.ideal),
        FormatBytes(u.compulsory),
        stream >= u.ideal
            ? absl::StrFormat("DRAM stream %s = %lld cycles >= ideal-memory %lld",
                              FormatBytes(u.dram), static_cast<long long>(stream),
                              static_cast<long long>(u.ideal))
                  .c_str()
            : absl::StrFormat("compute and stalls (DRAM stream %lld cycles < ideal-memory %lld)",
                              static_cast<long long>(stream), static_cast<long long>(u.ideal))
                  .c_str(),
        FormatBytes(u.weights_loaded), FormatBytes(u.weights_unique), FormatBytes(u.spilled_in),
        FormatBytes(u.spilled_out), FormatBytes(working), working > capacity ? "exceed" : "fit",
        KiB(capacity));
  }
  return out;
}

void PrintDeviceProfile(const engine::DeviceProfile& p, const std::string& hardware_name) {
  std::printf("\n=== Profile (modeled device %s, per inference) ===\n", hardware_name.c_str());
  bool grouped = false;
  for (const auto& l : p.layers) grouped = grouped || l.tactic.starts_with("group-");
  if (grouped) {
    std::printf("Note: the layers of a layer group (tactic group-*) run band by band, "
                "interleaved; the group's time is divided among them in proportion to their "
                "work (array + vector + DMA busy cycles), so Time(%%) sums to 100 %%.\n");
  }
  const char* kRow = "%12s %8s %12s %8s %8s %10s %11s  %-15s %-13s %s\n";
  std::printf(kRow, "Time(ms)", "Time(%)", "Cycles", "Util(%)", "Stall(%)", "DRAM(KB)",
              "Energy(uJ)", "Dataflow/tactic", "Bound", "Layer");
  int64_t cycles = 0, stall = 0, dram = 0;
  double ms = 0, energy = 0;
  for (const auto& l : p.layers) {
    const int64_t layer_dram = l.dram_bytes_read + l.dram_bytes_written;
    std::printf(kRow, absl::StrFormat("%.5f", l.time_ms).c_str(),
                absl::StrFormat("%.2f", Percent(l.time_ms, p.latency_ms)).c_str(),
                absl::StrCat(l.cycles).c_str(),
                absl::StrFormat("%.1f", 100.0 * l.utilization).c_str(),
                absl::StrFormat("%.1f", Percent(l.stall_cycles, l.cycles)).c_str(),
                absl::StrFormat("%.1f", layer_dram / 1e3).c_str(),
                absl::StrFormat("%.3f", l.energy_pj() / 1e6).c_str(), l.tactic.c_str(),
                FormatBound(l.bound, l.roofline_ratio).c_str(), l.name.c_str());
    cycles += l.cycles;
    stall += l.stall_cycles;
    dram += layer_dram;
    ms += l.time_ms;
    energy += l.energy_pj();
  }
  std::printf(kRow, absl::StrFormat("%.5f", ms).c_str(),
              absl::StrFormat("%.2f", Percent(ms, p.latency_ms)).c_str(),
              absl::StrCat(cycles).c_str(), absl::StrFormat("%.1f", 100.0 * p.utilization).c_str(),
              absl::StrFormat("%.1f", Percent(stall, cycles)).c_str(),
              absl::StrFormat("%.1f", dram / 1e3).c_str(),
              absl::StrFormat("%.3f", energy / 1e6).c_str(), "-",
              absl::StrFormat("%.2fx", p.roofline_ratio).c_str(), "Total");
  std::printf("Note: Util(%%) is the busy fraction of the layer's unit (array or vector); the "
              "Total row's is the array's.\n");
  std::printf("\n=== Residency (modeled device %s) ===\n", hardware_name.c_str());
  const char* kRes = "%-16s %-16s %-8s %12s %9s  %s\n";
  std::printf(kRes, "Input", "Output", "Weights", "Saved(KB)", "Prefetch", "Layer");
  for (const auto& l : p.layers) {
    if (l.unit == "view") continue;
    std::printf(kRes, l.input_location.c_str(), l.output_location.c_str(),
                l.weight_location.c_str(),
                absl::StrFormat("%.1f", l.residency_bytes_saved / 1e3).c_str(),
                absl::StrCat(l.prefetched_loads).c_str(), l.name.c_str());
  }
}

Json DeviceProfileJson(const engine::Engine& eng, int count,
                       const std::map<std::string, double>* host_avg_ms) {
  const engine::DeviceProfile& p = eng.device_profile();
  Json out = Json::array();
  out.push_back(Json{{"count", count}});
  for (const JoinedLayer& joined : JoinLayers(eng)) {
    const engine::LayerInfo& info = *joined.info;
    if (joined.device == nullptr) {
      engine::LayerDeviceProfile missing;
      missing.name = info.name;
      missing.type = info.type;
      out.push_back(ProfileLayerJson(missing, count, p.latency_ms));
    } else {
      out.push_back(ProfileLayerJson(*joined.device, count, p.latency_ms));
    }
    if (host_avg_ms != nullptr) {
      auto it = host_avg_ms->find(info.name);
      if (it != host_avg_ms->end()) out.back()["hostAverageMs"] = it->second;
    }
  }
  return out;
}

Json DeviceTraceJson(const engine::Engine& eng) {
  const engine::DeviceProfile& p = eng.device_profile();
  const double mhz = p.clock_mhz > 0 ? p.clock_mhz : eng.hardware().clock_mhz;
  const std::vector<engine::DeviceEvent> events = eng.DeviceTimeline();
  Json trace = Json::array();
  trace.push_back(Json{{"ph", "M"}, {"pid", 1}, {"name", "process_name"},
                       {"args", {{"name", absl::StrCat("Modeled accelerator: ",
                                                       eng.hardware().name)}}}});
  const TraceLanes lanes = AssignTraceTracks(events, trace);
  for (const auto& l : p.layers) {
    trace.push_back(Json{{"name", l.name},
                         {"cat", l.type},
                         {"ph", "X"},
                         {"pid", 1},
                         {"tid", kLayersTid},
                         {"ts", CyclesToUs(l.start_cycle, mhz)},
                         {"dur", CyclesToUs(l.cycles, mhz)},
                         {"args",
                          {{"cycles", l.cycles},
                           {"tactic", l.tactic},
                           {"tiling", l.tiling},
                           {"bound", FormatBound(l.bound, l.roofline_ratio)},
                           {"energyPj", l.energy_pj()}}}});
  }
  for (size_t i = 0; i < events.size(); ++i) {
    const engine::DeviceEvent& e = events[i];
    const bool known = e.layer >= 0 && static_cast<size_t>(e.layer) < p.layers.size();
    const int64_t cycles = std::max<int64_t>(0, e.end_cycle - e.start_cycle);
    trace.push_back(Json{{"name", e.name},
                         {"cat", known ? p.layers[e.layer].type : std::string("?")},
                         {"ph", "X"},
                         {"pid", 1},
                         {"tid", lanes.tid_of_event[i]},
                         {"ts", CyclesToUs(e.start_cycle, mhz)},
                         {"dur", CyclesToUs(cycles, mhz)},
                         {"args",
                          {{"layer", known ? p.layers[e.layer].name : absl::StrCat(e.layer)},
                           {"cycles", cycles},
                           {"bytes", e.bytes},
                           {"macs", e.macs}}}});
  }
  return Json{{"traceEvents", std::move(trace)}, {"displayTimeUnit", "ns"}};
}

Json LayerMappingJson(const JoinedLayer& layer) {
  const engine::LayerInfo& info = *layer.info;
  const engine::LayerDeviceProfile& l = layer.device_or_empty();
  return Json{{"name", info.name},       {"onnxNodes", info.onnx_nodes}, {"type", info.type},
              {"precision", l.precision}, {"unit", l.unit},              {"tactic", l.tactic},
              {"dataflow", l.dataflow},   {"tiling", l.tiling},          {"cycles", l.cycles},
              {"energyPj", l.energy_pj()}};
}

Json LayerInfoJson(const engine::Engine& eng) {
  Json layers = Json::array();
  for (const JoinedLayer& joined : JoinLayers(eng)) {
    const engine::LayerDeviceProfile& l = joined.device_or_empty();
    Json layer = LayerMappingJson(joined);
    layer["estimatedCycles"] = l.estimated_cycles;
    layer["inputs"] = joined.info->inputs;
    layer["outputs"] = joined.info->outputs;
    layer["rejected"] = RejectedJson(l.rejected);
    layers.push_back(std::move(layer));
  }
  const engine::MemoryPlanInfo& m = eng.memory_plan();
  Json tensors = Json::array();
  for (const engine::TensorPlacement& t : m.tensors) {
    tensors.push_back(Json{{"name", t.name},
                           {"offset", t.offset},
                           {"bytes", t.bytes},
                           {"firstLayer", t.first_layer},
                           {"lastLayer", t.last_layer}});
  }
  Json memory{{"arenaBytes", m.arena_bytes},     {"noReuseBytes", m.no_reuse_bytes},
              {"lowerBoundBytes", m.lower_bound_bytes}, {"alignment", m.alignment},
              {"strategy", m.strategy},          {"tensors", std::move(tensors)}};
  Json out{{"hardware", engine::HardwareSummary(eng.hardware())},
           {"objective", eng.plan_info().objective},
           {"memory", std::move(memory)},
           {"layers", std::move(layers)}};
  Json config = Json::parse(engine::HardwareConfigToJson(eng.hardware()), nullptr,
                            /*allow_exceptions=*/false);
  if (!config.is_discarded()) out["hardwareConfig"] = std::move(config);
  return out;
}

absl::Status ReportModeledDevice(const Options& opt, const engine::Engine& eng, int count,
                                 const LayerProfiler* host) {
  const engine::DeviceProfile& profile = eng.device_profile();
  PrintDeviceSummary(profile, eng.hardware().name);
  std::printf("%s", LimitGapReport(profile, eng.hardware()).c_str());
  if (opt.dump_profile && host != nullptr) host->Print(count);
  if (opt.dump_profile) PrintDeviceProfile(profile, eng.hardware().name);
  if (!opt.export_profile.empty()) {
    std::map<std::string, double> host_ms;
    if (host != nullptr && !host->empty()) host_ms = host->AverageMs();
    const auto* host_arg = host_ms.empty() ? nullptr : &host_ms;
    absl::Status s = WriteJsonFile("--exportProfile", opt.export_profile,
                                   DeviceProfileJson(eng, count, host_arg));
    if (!s.ok()) return s;
    std::printf("[I] Profile (modeled, %d inferences) written to %s\n", count,
                opt.export_profile.c_str());
  }
  if (!opt.export_trace.empty()) {
    absl::Status s = WriteJsonFile("--exportTrace", opt.export_trace, DeviceTraceJson(eng),
                                   /*indent=*/-1);
    if (!s.ok()) return s;
    std::printf("[I] Modeled device trace written to %s (open in Perfetto or chrome://tracing)\n",
                opt.export_trace.c_str());
  }
  if (!opt.export_layer_info.empty()) {
    absl::Status s = WriteJsonFile("--exportLayerInfo", opt.export_layer_info, LayerInfoJson(eng));
    if (!s.ok()) return s;
    std::printf("[I] Layer information written to %s\n", opt.export_layer_info.c_str());
  }
  return absl::OkStatus();
}

}  // namespace trtexec_like
