// Property tests of the memory planner on random lifetimes, and hand cases.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "codegen/memory_planner.h"

namespace engine::codegen {
namespace {

bool Live(const BufferRequest& a, const BufferRequest& b) {
  return a.first <= b.last && b.first <= a.last;
}

void CheckPlan(const std::vector<BufferRequest>& req, const MemoryPlan& plan, int64_t alignment) {
  REQUIRE(plan.offsets.size() == req.size());
  int64_t top = 0;
  for (size_t i = 0; i < req.size(); ++i) {
    CHECK(plan.offsets[i] >= 0);
    CHECK(plan.offsets[i] % alignment == 0);
    top = std::max(top, plan.offsets[i] + req[i].size);
    for (size_t j = i + 1; j < req.size(); ++j) {
      if (!Live(req[i], req[j]) || req[i].size == 0 || req[j].size == 0) continue;
      const bool disjoint = plan.offsets[i] + req[i].size <= plan.offsets[j] ||
                            plan.offsets[j] + req[j].size <= plan.offsets[i];
      CAPTURE(i, j);
      CHECK(disjoint);
    }
  }
  CHECK(plan.arena_bytes >= top);
  CHECK(plan.arena_bytes % alignment == 0);
  CHECK(plan.arena_bytes >= plan.lower_bound_bytes);
  CHECK(plan.arena_bytes <= plan.no_reuse_bytes);
}

TEST_CASE("Random lifetimes: live buffers never share a byte, offsets aligned, arena >= bound",
          "[codegen]") {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    const int steps = 1 + static_cast<int>(rng() % 40);
    const int n = 1 + static_cast<int>(rng() % 60);
    const int64_t alignment = int64_t{1} << (rng() % 8);  // 1 .. 128
    std::vector<BufferRequest> req;
    for (int i = 0; i < n; ++i) {
      const int a = static_cast<int>(rng() % steps), b = static_cast<int>(rng() % steps);
      const int64_t size = (rng() % 10 == 0) ? 0 : 1 + static_cast<int64_t>(rng() % 5000);
      req.push_back({size, std::min(a, b), std::max(a, b)});
    }
    CAPTURE(trial, alignment);
    const MemoryPlan plan = PlanMemory(req, alignment);
    CheckPlan(req, plan, alignment);
    CHECK_FALSE(plan.strategy.empty());
    const MemoryPlan flat = PlanMemory(req, alignment, /*reuse=*/false);
    CheckPlan(req, flat, alignment);
    CHECK(flat.arena_bytes == flat.no_reuse_bytes);
    CHECK(plan.arena_bytes <= flat.arena_bytes);
  }
}

TEST_CASE("A chain of layers reaches the lower bound", "[codegen]") {
  // x0 -> x1 -> ... -> x9: each tensor lives for two steps, so two buffers
  // ping-pong; the bound is the largest adjacent pair (300 + 800).
  std::vector<BufferRequest> req;
  const int64_t sizes[] = {100, 400, 300, 800, 200, 600, 100, 900, 50, 10};
  for (int i = 0; i < 10; ++i) req.push_back({sizes[i], i, i + 1});
  const MemoryPlan plan = PlanMemory(req, 1);
  CheckPlan(req, plan, 1);
  CHECK(plan.lower_bound_bytes == 300 + 800);
  CHECK(plan.arena_bytes == plan.lower_bound_bytes);
  CHECK(plan.no_reuse_bytes == 3460);
}

TEST_CASE("A buffer freed early is reused by a later one of the same size", "[codegen]") {
  std::vector<BufferRequest> req = {
      {1000, 0, 9},  // lives throughout
      {256, 0, 1},   // freed after step 1
      {256, 5, 9},   // takes its bytes
  };
  const MemoryPlan plan = PlanMemory(req, 1);
  CheckPlan(req, plan, 1);
  CHECK(plan.offsets[2] == plan.offsets[1]);
  CHECK(plan.arena_bytes == 1256);
  CHECK(plan.lower_bound_bytes == 1256);
}

TEST_CASE("Alignment pads offsets, not the bound", "[codegen]") {
  std::vector<BufferRequest> req = {{10, 0, 0}, {10, 0, 0}, {10, 0, 0}};
  const MemoryPlan plan = PlanMemory(req, 64);
  CheckPlan(req, plan, 64);
  CHECK(plan.lower_bound_bytes == 30);
  CHECK(plan.arena_bytes == 192);
}

}  // namespace
}  // namespace engine::codegen
