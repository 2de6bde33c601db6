#include "codegen/schedule_order.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "codegen/workload.h"

namespace engine::codegen {
namespace {

int64_t SatAdd(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

// Per node: the buffers it produces and the buffers it reads (distinct).
struct Incidence {
  std::vector<std::vector<int>> produces, reads;
  std::vector<int64_t> produced_bytes;  // allocated at the node's step
};

Incidence IncidenceOf(const ScheduleProblem& p) {
  Incidence in;
  const int n = p.size();
  in.produces.assign(n, {});
  in.reads.assign(n, {});
  in.produced_bytes.assign(n, 0);
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    const auto& buf = p.buffers[b];
    in.produces[buf.producer].push_back(static_cast<int>(b));
    in.produced_bytes[buf.producer] = SatAdd(in.produced_bytes[buf.producer], buf.bytes);
    for (int c : buf.consumers) in.reads[c].push_back(static_cast<int>(b));
  }
  return in;
}

// Footprint of `order` restricted to steps [from, to) given the nodes
// before `from` already scheduled; `remaining[b]` is the count of b's
// consumers not yet scheduled and `live` the live bytes, both updated.
OrderFootprint Walk(const ScheduleProblem& p, const Incidence& inc, const std::vector<int>& order,
                    size_t from, size_t to, std::vector<int>& remaining, int64_t& live) {
  OrderFootprint f;
  for (size_t t = from; t < to; ++t) {
    const int u = order[t];
    live = SatAdd(live, inc.produced_bytes[u]);
    f.peak_bytes = std::max(f.peak_bytes, live);
    f.sum_bytes = SatAdd(f.sum_bytes, live);
    for (int b : inc.reads[u]) {
      if (--remaining[b] == 0) live -= p.buffers[b].bytes;
    }
    for (int b : inc.produces[u]) {
      if (remaining[b] == 0) live -= p.buffers[b].bytes;  // no consumer: freed at once
    }
  }
  return f;
}

std::vector<int> ConsumerCounts(const ScheduleProblem& p) {
  std::vector<int> remaining(p.buffers.size());
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    remaining[b] = static_cast<int>(p.buffers[b].consumers.size());
  }
  return remaining;
}

bool Better(const OrderFootprint& a, const OrderFootprint& b) {
  return a.peak_bytes < b.peak_bytes ||
         (a.peak_bytes == b.peak_bytes && a.sum_bytes < b.sum_bytes);
}

// One segment [begin, end) of the original order (end - begin <= 64): its
// nodes' local predecessor sets and, per buffer they touch, the consumers
// inside the segment and whether others remain after it.
struct Segment {
  int begin = 0, end = 0;
  std::vector<uint64_t> pred_mask;           // local
  std::vector<std::vector<int>> frees;       // per local node: buffers it may free
  absl::flat_hash_map<int, uint64_t> local_consumers;  // buffer -> local consumer mask
  absl::flat_hash_map<int, bool> escapes;    // buffer -> consumers after the segment
};

Segment MakeSegment(const ScheduleProblem& p, const Incidence& inc, int begin, int end) {
  Segment s;
  s.begin = begin;
  s.end = end;
  const int m = end - begin;
  s.pred_mask.assign(m, 0);
  s.frees.assign(m, {});
  for (int i = 0; i < m; ++i) {
    for (int q : p.preds[begin + i]) {
      if (q >= begin) s.pred_mask[i] |= uint64_t{1} << (q - begin);
    }
    std::vector<int> touched = inc.reads[begin + i];
    touched.insert(touched.end(), inc.produces[begin + i].begin(), inc.produces[begin + i].end());
    for (int b : touched) {
      if (!s.local_consumers.contains(b)) {
        uint64_t mask = 0;
        bool escapes = false;
        for (int c : p.buffers[b].consumers) {
          if (c >= begin && c < end) {
            mask |= uint64_t{1} << (c - begin);
          } else if (c >= end) {
            escapes = true;
          }
        }
        s.local_consumers[b] = mask;
        s.escapes[b] = escapes;
      }
      s.frees[i].push_back(b);
    }
  }
  return s;
}

// Live bytes after scheduling local node `u` on top of `set` (u not in
// set), given `live` before it.
int64_t LiveAfter(const ScheduleProblem& p, const Incidence& inc, const Segment& s, uint64_t set,
                  int u, int64_t live) {
  live = SatAdd(live, inc.produced_bytes[s.begin + u]);
  const uint64_t after = set | (uint64_t{1} << u);
  for (int b : s.frees[u]) {
    if (s.escapes.at(b)) continue;
    const uint64_t consumers = s.local_consumers.at(b);
    const bool produced_here = p.buffers[b].producer == s.begin + u;
    // Freed now when u was its last consumer (or, produced by u, it has none).
    if ((consumers & ~after) == 0 &&
        ((consumers >> u) & 1 || (produced_here && consumers == 0))) {
      live -= p.buffers[b].bytes;
    }
  }
  return live;
}

// Exact dynamic program over the downward-closed sets of the segment.
// Returns false when the state cap was reached.
bool SolveExact(const ScheduleProblem& p, const Incidence& inc, const Segment& s, int64_t live0,
                int64_t cap, std::vector<int>& order, OrderFootprint& footprint, int64_t& states) {
  const int m = s.end - s.begin;
  struct State {
    uint64_t set;
    int64_t live;   // live bytes after the set
    OrderFootprint f;
    int parent;     // index in the previous level
    int node;       // local node added last
  };
  std::vector<std::vector<State>> levels(1);
  levels[0].push_back({0, live0, {}, -1, -1});
  int64_t visited = 1;
  for (int k = 0; k < m; ++k) {
    std::vector<State> next;
    absl::flat_hash_map<uint64_t, int> index;
    const std::vector<State>& level = levels[k];
    for (int si = 0; si < static_cast<int>(level.size()); ++si) {
      const State& st = level[si];
      for (int u = 0; u < m; ++u) {
        if ((st.set >> u) & 1 || (s.pred_mask[u] & ~st.set) != 0) continue;
        const int64_t step = SatAdd(st.live, inc.produced_bytes[s.begin + u]);
        OrderFootprint f{std::max(st.f.peak_bytes, step), SatAdd(st.f.sum_bytes, step)};
        const uint64_t set = st.set | (uint64_t{1} << u);
        auto [it, inserted] = index.emplace(set, static_cast<int>(next.size()));
        if (inserted) {
          if (++visited > cap) {
            states += visited;
            return false;
          }
          next.push_back({set, LiveAfter(p, inc, s, st.set, u, st.live), f, si, u});
        } else if (Better(f, next[it->second].f)) {
          State& old = next[it->second];
          old.f = f;
          old.parent = si;
          old.node = u;
        }
      }
    }
    levels.push_back(std::move(next));
  }
  states += visited;
  order.assign(m, -1);
  footprint = levels[m][0].f;
  int si = 0;
  for (int k = m; k > 0; --k) {
    const State& st = levels[k][si];
    order[k - 1] = s.begin + st.node;
    si = st.parent;
  }
  return true;
}

// Greedy list schedule of the segment: the ready node with the smallest
// footprint, then the smallest live bytes after it, then the earliest.
std::vector<int> SolveGreedy(const ScheduleProblem& p, const Incidence& inc, const Segment& s,
                             int64_t live, OrderFootprint& footprint) {
  footprint = {};
  const int m = s.end - s.begin;
  std::vector<int> order;
  uint64_t set = 0;
  for (int k = 0; k < m; ++k) {
    int best = -1;
    int64_t best_step = 0, best_after = 0;
    for (int u = 0; u < m; ++u) {
      if ((set >> u) & 1 || (s.pred_mask[u] & ~set) != 0) continue;
      const int64_t step = SatAdd(live, inc.produced_bytes[s.begin + u]);
      const int64_t after = LiveAfter(p, inc, s, set, u, live);
      if (best < 0 || step < best_step || (step == best_step && after < best_after)) {
        best = u;
        best_step = step;
        best_after = after;
      }
    }
    footprint.peak_bytes = std::max(footprint.peak_bytes, best_step);
    footprint.sum_bytes = SatAdd(footprint.sum_bytes, best_step);
    live = best_after;
    set |= uint64_t{1} << best;
    order.push_back(s.begin + best);
  }
  return order;
}

}  // namespace

absl::StatusOr<ScheduleProblem> ScheduleProblemOf(const ir::Graph& graph) {
  ScheduleProblem p;
  const auto& nodes = graph.nodes();
  const int n = static_cast<int>(nodes.size());
  absl::flat_hash_map<const ir::Node*, int> position;
  for (int i = 0; i < n; ++i) position[nodes[i].get()] = i;
  const TensorIndex tensors = AssignTensorIndices(graph);
  // Each activation's buffer: its own, or (a view's output) its input's.
  absl::flat_hash_map<const ir::Value*, int> buffer_of;
  p.preds.assign(n, {});
  for (int i = 0; i < n; ++i) {
    const ir::Node& node = *nodes[i];
    for (const ir::Value* v : node.inputs) {
      if (v == nullptr || v->is_constant() || v->producer == nullptr) continue;
      auto it = position.find(v->producer);
      if (it == position.end() || it->second >= i) {
        return absl::InvalidArgumentError(absl::StrCat(
            node.Describe(), " reads '", v->name, "', not produced by an earlier node"));
      }
      if (std::find(p.preds[i].begin(), p.preds[i].end(), it->second) == p.preds[i].end()) {
        p.preds[i].push_back(it->second);
      }
      auto b = buffer_of.find(v);
      if (b != buffer_of.end()) {
        auto& consumers = p.buffers[b->second].consumers;
        if (std::find(consumers.begin(), consumers.end(), i) == consumers.end()) {
          consumers.push_back(i);
        }
      }
    }
    auto w = DescribeLayer(node, tensors);
    const bool view = w.ok() && w->kind == hw::LayerKind::kView && !node.inputs.empty() &&
                      node.inputs[0] != nullptr && buffer_of.contains(node.inputs[0]);
    for (const ir::Value* out : node.outputs) {
      if (out == nullptr) continue;
      if (view && out == node.outputs[0]) {
        buffer_of[out] = buffer_of.at(node.inputs[0]);
        continue;
      }
      ScheduleProblem::Buffer buf;
      buf.bytes = static_cast<int64_t>(std::min<size_t>(
          out->ByteSize(), static_cast<size_t>(std::numeric_limits<int64_t>::max() / 4)));
      buf.producer = i;
      buffer_of[out] = static_cast<int>(p.buffers.size());
      p.buffers.push_back(std::move(buf));
    }
  }
  // Graph outputs reach DRAM: they count at their producer's step only
  // (their later readers read DRAM), and so do the views of them.
  for (const ir::Value* v : graph.outputs()) {
    auto b = buffer_of.find(v);
    if (b != buffer_of.end()) p.buffers[b->second].consumers.clear();
  }
  return p;
}

absl::StatusOr<OrderFootprint> Footprint(const ScheduleProblem& problem,
                                         const std::vector<int>& order) {
  const int n = problem.size();
  if (static_cast<int>(order.size()) != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("order has ", order.size(), " nodes, the problem ", n));
  }
  std::vector<int> step(n, -1);
  for (int t = 0; t < n; ++t) {
    if (order[t] < 0 || order[t] >= n || step[order[t]] >= 0) {
      return absl::InvalidArgumentError(absl::StrCat("order step ", t, ": node ", order[t],
                                                     " out of range or repeated"));
    }
    step[order[t]] = t;
  }
  for (int t = 0; t < n; ++t) {
    for (int q : problem.preds[order[t]]) {
      if (step[q] > t) {
        return absl::InvalidArgumentError(absl::StrCat("order step ", t, ": node ", order[t],
                                                       " runs before its predecessor ", q));
      }
    }
  }
  const Incidence inc = IncidenceOf(problem);
  std::vector<int> remaining = ConsumerCounts(problem);
  int64_t live = 0;
  return Walk(problem, inc, order, 0, order.size(), remaining, live);
}

ScheduleOrder ChooseScheduleOrder(const ScheduleProblem& problem,
                                  const ScheduleOrderOptions& options) {
  ScheduleOrder result;
  const int n = problem.size();
  const int max_segment = std::clamp(options.max_segment_nodes, 1, 64);
  std::vector<int> original(n);
  for (int i = 0; i < n; ++i) original[i] = i;
  const Incidence inc = IncidenceOf(problem);
  {
    std::vector<int> remaining = ConsumerCounts(problem);
    int64_t live = 0;
    result.before = Walk(problem, inc, original, 0, n, remaining, live);
  }
  // Cut the original order into segments at its sequence points: node i
  // such that every earlier node is an ancestor of i and every later node a
  // descendant, so every topological order runs the same nodes before it.
  // i is one when no edge spans it (p < i < j), no earlier node lacks a
  // descendant at or after i (max descendant position >= i) and no later
  // node lacks an ancestor at or before i (min ancestor position <= i).
  // A region between sequence points longer than max_segment is chopped.
  std::vector<int> remaining = ConsumerCounts(problem);
  std::vector<int> span(n + 1, 0), min_anc(n, n), max_desc(n, -1);
  for (int j = 0; j < n; ++j) {
    for (int q : problem.preds[j]) {
      min_anc[j] = std::min({min_anc[j], q, min_anc[q]});
      if (j > q + 1) {
        ++span[q + 1];
        --span[j];
      }
    }
  }
  for (int j = n - 1; j >= 0; --j) {
    for (int q : problem.preds[j]) max_desc[q] = std::max({max_desc[q], j, max_desc[j]});
  }
  std::vector<int> suffix_max_anc(n + 1, -1);  // over j > i: max of min_anc[j]
  for (int j = n - 1; j >= 0; --j) {
    suffix_max_anc[j] = std::max(suffix_max_anc[j + 1], min_anc[j] == n ? n : min_anc[j]);
  }
  std::vector<std::pair<int, int>> segments;
  int begin = 0, spanning = 0, prefix_min_desc = n;
  for (int i = 0; i < n; ++i) {
    spanning += span[i];
    const bool sequence_point =
        spanning == 0 && prefix_min_desc >= i && suffix_max_anc[i + 1] <= i;
    if (sequence_point || i + 1 - begin >= max_segment || i + 1 == n) {
      segments.emplace_back(begin, i + 1);
      begin = i + 1;
    }
    prefix_min_desc = std::min(prefix_min_desc, max_desc[i]);
  }
  // Solve each segment on top of the live bytes the earlier ones leave.
  int64_t live = 0;
  int64_t states = 0;
  result.order.reserve(n);
  for (const auto& [b, e] : segments) {
    const int64_t live_before = live;
    const OrderFootprint kept = Walk(problem, inc, original, b, e, remaining, live);
    if (e - b < 2) {
      result.order.push_back(b);
      continue;
    }
    ++result.segments;
    const Segment seg = MakeSegment(problem, inc, b, e);
    std::vector<int> candidate;
    OrderFootprint f;
    const int64_t cap = std::min(options.max_states_per_segment, options.max_total_states - states);
    const bool exact =
        cap > 0 && SolveExact(problem, inc, seg, live_before, cap, candidate, f, states);
    if (exact) {
      ++result.exact_segments;
    } else {
      ++result.greedy_segments;
      candidate = SolveGreedy(problem, inc, seg, live_before, f);
    }
    if (Better(f, kept)) {
      result.order.insert(result.order.end(), candidate.begin(), candidate.end());
      ++result.reordered_segments;
    } else {
      for (int i = b; i < e; ++i) result.order.push_back(i);
    }
  }
  result.states = states;
  result.changed = result.order != original;
  {
    std::vector<int> rem = ConsumerCounts(problem);
    int64_t l = 0;
    result.after = Walk(problem, inc, result.order, 0, n, rem, l);
  }
  return result;
}

}  // namespace engine::codegen
