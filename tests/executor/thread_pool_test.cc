// The intra-op thread pool: every index runs exactly once, chunk ids index
// per-thread scratch safely, concurrent callers share the workers without
// exceeding them, and a pool without workers runs inline.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <map>
#include <thread>
#include <vector>

#include "kernels/thread_pool.h"

namespace engine::exec {
namespace {

// Runs ParallelFor(threads, n) and checks that each index in [0, n) is
// visited once, that slots are < threads and that no two threads share a
// slot. Returns the number of distinct slots used.
int CheckCoverage(ThreadPool& pool, int threads, int64_t n) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::mutex mu;
  std::map<int, std::thread::id> slot_thread;
  bool ok = true;
  pool.ParallelFor(threads, n, [&](int64_t begin, int64_t end, int slot) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ok = ok && begin < end && slot >= 0 && slot < std::max(threads, 1);
      auto [it, inserted] = slot_thread.emplace(slot, std::this_thread::get_id());
      ok = ok && (inserted || it->second == std::this_thread::get_id());
    }
    for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
  });
  CHECK(ok);
  for (int64_t i = 0; i < n; ++i) REQUIRE(hits[i].load() == 1);
  return static_cast<int>(slot_thread.size());
}

TEST_CASE("ParallelFor visits every index once on at most `threads` threads", "[executor][pool]") {
  ThreadPool pool(3);
  CHECK(pool.workers() == 3);
  for (int threads : {1, 2, 3, 4, 8}) {
    for (int64_t n : {0, 1, 2, 3, 7, 100, 100000}) {
      CAPTURE(threads, n);
      const int slots = CheckCoverage(pool, threads, n);
      CHECK(slots <= std::min<int64_t>(std::min(threads, pool.workers() + 1), std::max<int64_t>(n, 1)));
      if (n == 0) CHECK(slots == 0);
    }
  }
  // Chunks are smaller than an even split per thread: a slow thread does less.
  std::atomic<int> calls{0};
  pool.ParallelFor(2, 1000, [&](int64_t, int64_t, int) { calls.fetch_add(1); });
  CHECK(calls.load() >= 1);
  CHECK(calls.load() <= 2 * ThreadPool::kChunksPerThread);
  // A single thread never leaves the caller.
  const std::thread::id caller = std::this_thread::get_id();
  bool inline_only = true;
  pool.ParallelFor(1, 1000, [&](int64_t, int64_t, int) {
    inline_only = inline_only && std::this_thread::get_id() == caller;
  });
  CHECK(inline_only);
}

TEST_CASE("A pool without workers runs everything on the caller", "[executor][pool]") {
  ThreadPool pool(0);
  CHECK(pool.workers() == 0);
  CHECK(CheckCoverage(pool, 4, 1000) == 1);
}

TEST_CASE("Concurrent callers share the workers and never exceed them", "[executor][pool]") {
  constexpr int kWorkers = 2;
  constexpr int kCallers = 4;
  ThreadPool pool(kWorkers);
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 200; ++rep) {
        pool.ParallelFor(4, 64, [&](int64_t begin, int64_t end, int) {
          const int now = running.fetch_add(1) + 1;
          int old = peak.load();
          while (now > old && !peak.compare_exchange_weak(old, now)) {
          }
          for (int64_t i = begin; i < end; ++i) total.fetch_add(1);
          std::this_thread::yield();
          running.fetch_sub(1);
        });
      }
    });
  }
  for (std::thread& t : callers) t.join();
  CHECK(total.load() == int64_t{kCallers} * 200 * 64);
  // Each caller runs one chunk at a time; the workers add at most kWorkers.
  CHECK(peak.load() <= kCallers + kWorkers);
}

TEST_CASE("The shared pool has one worker less than the hardware threads", "[executor][pool]") {
  CHECK(ThreadPool::HardwareThreads() >= 1);
  CHECK(ThreadPool::Shared().workers() == ThreadPool::HardwareThreads() - 1);
  CHECK(&ThreadPool::Shared() == &ThreadPool::Shared());
}

}  // namespace
}  // namespace engine::exec
