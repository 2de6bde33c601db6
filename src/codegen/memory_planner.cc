#include "codegen/memory_planner.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>

namespace engine::codegen {
namespace {

int64_t AlignUp(int64_t x, int64_t a) { return (x + a - 1) / a * a; }

bool Overlap(const BufferRequest& a, const BufferRequest& b) {
  return a.first <= b.last && b.first <= a.last;
}

// Best-fit placement in `order` (TFLite's ArenaPlanner / simple_memory_arena
// logic): among the placed buffers that overlap in time, sorted by offset,
// take the smallest gap that holds the buffer, else go above the highest.
std::vector<int64_t> PlaceInOrder(const std::vector<BufferRequest>& req,
                                  const std::vector<size_t>& order, int64_t alignment) {
  std::vector<int64_t> offsets(req.size(), -1);
  std::vector<size_t> placed;
  placed.reserve(req.size());
  std::vector<std::pair<int64_t, int64_t>> busy;  // (offset, end) of conflicting buffers
  for (size_t i : order) {
    const BufferRequest& r = req[i];
    busy.clear();
    for (size_t j : placed) {
      if (Overlap(r, req[j])) busy.emplace_back(offsets[j], offsets[j] + req[j].size);
    }
    std::sort(busy.begin(), busy.end());
    int64_t best = -1, best_gap = INT64_MAX, cursor = 0;
    for (const auto& [start, end] : busy) {
      const int64_t candidate = AlignUp(cursor, alignment);
      const int64_t gap = start - candidate;
      if (gap >= r.size && gap < best_gap) {
        best = candidate;
        best_gap = gap;
      }
      cursor = std::max(cursor, end);
    }
    offsets[i] = best >= 0 ? best : AlignUp(cursor, alignment);
    placed.push_back(i);
  }
  return offsets;
}

int64_t ArenaOf(const std::vector<BufferRequest>& req, const std::vector<int64_t>& offsets,
                int64_t alignment) {
  int64_t top = 0;
  for (size_t i = 0; i < req.size(); ++i) top = std::max(top, offsets[i] + req[i].size);
  return AlignUp(top, alignment);
}

}  // namespace

MemoryPlan PlanMemory(const std::vector<BufferRequest>& requests, int64_t alignment, bool reuse) {
  alignment = std::max<int64_t>(alignment, 1);
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  for (const BufferRequest& r : requests) plan.no_reuse_bytes += AlignUp(r.size, alignment);

  // Lower bound: the largest sum of sizes live at one step (sweep over events).
  std::map<int, int64_t> delta;
  for (const BufferRequest& r : requests) {
    delta[r.first] += r.size;
    delta[r.last + 1] -= r.size;
  }
  int64_t live = 0;
  for (const auto& [step, d] : delta) {
    live += d;
    plan.lower_bound_bytes = std::max(plan.lower_bound_bytes, live);
  }

  if (!reuse) {
    int64_t cursor = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
      plan.offsets[i] = cursor;
      cursor += AlignUp(requests[i].size, alignment);
    }
    plan.arena_bytes = cursor;
    plan.strategy = "no-reuse";
    return plan;
  }

  using Less = std::function<bool(size_t, size_t)>;
  const auto& r = requests;
  auto length = [&](size_t i) { return int64_t{r[i].last} - r[i].first + 1; };
  // Every order breaks ties by index, so plans are deterministic.
  const std::vector<std::pair<const char*, Less>> orders = {
      {"greedy-by-size",
       [&](size_t a, size_t b) {
         return r[a].size != r[b].size ? r[a].size > r[b].size : a < b;
       }},
      {"greedy-by-size-x-lifetime",
       [&](size_t a, size_t b) {
         const int64_t x = r[a].size * length(a), y = r[b].size * length(b);
         return x != y ? x > y : a < b;
       }},
      {"greedy-by-lifetime",
       [&](size_t a, size_t b) {
         return length(a) != length(b) ? length(a) > length(b)
                : r[a].size != r[b].size ? r[a].size > r[b].size
                                         : a < b;
       }},
      {"greedy-by-first-use",
       [&](size_t a, size_t b) {
         return r[a].first != r[b].first ? r[a].first < r[b].first
                : r[a].size != r[b].size ? r[a].size > r[b].size
                                         : a < b;
       }},
  };
  std::vector<size_t> order(requests.size());
  plan.arena_bytes = -1;
  for (const auto& [name, less] : orders) {
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), less);
    std::vector<int64_t> offsets = PlaceInOrder(requests, order, alignment);
    const int64_t arena = ArenaOf(requests, offsets, alignment);
    if (plan.arena_bytes < 0 || arena < plan.arena_bytes) {
      plan.arena_bytes = arena;
      plan.offsets = std::move(offsets);
      plan.strategy = name;
    }
  }
  if (requests.empty()) plan.arena_bytes = 0;
  return plan;
}

}  // namespace engine::codegen
