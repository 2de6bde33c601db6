#include "kernels/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace engine::exec {
namespace {

// How long an idle worker, or a caller waiting for its helpers, polls before
// sleeping. Layers follow each other within microseconds, so a worker that
// just finished usually gets the next layer's chunk without a futex wake-up.
constexpr auto kSpin = std::chrono::microseconds(100);

// Most workers one call takes (a call runs on at most kMaxHelpers + 1 threads).
constexpr int kMaxHelpers = 64;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Polls `ready` (a predicate) for up to kSpin; true when it became true.
template <typename Ready>
bool SpinUntil(const Ready& ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      CpuRelax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

}  // namespace

// One ParallelFor call; lives on the caller's stack until every helper it
// woke has released it.
struct ThreadPool::Job {
  ChunkFn fn = nullptr;
  void* arg = nullptr;
  int64_t n = 0;
  int64_t chunks = 0;
  std::atomic<int64_t> next{0};  // next chunk to claim
  std::atomic<int> helpers{0};  // workers still holding the job (changed under mu_)
};

ThreadPool::ThreadPool(int workers) {
  workers = std::max(workers, 0);
  slots_.reserve(workers);
  idle_.reserve(workers);
  for (int i = 0; i < workers; ++i) slots_.push_back(std::make_unique<Slot>());
  for (int i = workers - 1; i >= 0; --i) idle_.push_back(i);
  threads_.reserve(workers);
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  for (auto& slot : slots_) {
    slot->signal.fetch_add(1);
    slot->signal.notify_one();
  }
  for (std::thread& t : threads_) t.join();
}

int ThreadPool::HardwareThreads() {
  static const int threads = [] {
#if defined(__linux__)
    // The CPUs this process may run on (taskset, cpusets), not the machine's.
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
      return CPU_COUNT(&set);
    }
#endif
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }();
  return threads;
}

ThreadPool& ThreadPool::Shared() {
  static ThreadPool* const pool = new ThreadPool(HardwareThreads() - 1);
  return *pool;
}

void ThreadPool::RunChunks(Job& job, int participant) {
  for (;;) {
    const int64_t c = job.next.fetch_add(1, std::memory_order_relaxed);
    if (c >= job.chunks) return;
    const int64_t begin = job.n * c / job.chunks;
    const int64_t end = job.n * (c + 1) / job.chunks;
    job.fn(job.arg, begin, end, participant);
  }
}

void ThreadPool::Release(int worker, Job& job) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(worker);
  // The last access to `job`: once helpers reaches 0 the caller may return.
  if (job.helpers.fetch_sub(1, std::memory_order_acq_rel) == 1) done_cv_.notify_all();
}

void ThreadPool::WorkerLoop(int index) {
  Slot& slot = *slots_[index];
  for (;;) {
    uint32_t signal = slot.signal.load(std::memory_order_acquire);
    auto has_work = [&] {
      return slot.job.load(std::memory_order_acquire) != nullptr ||
             stop_.load(std::memory_order_relaxed);
    };
    if (!SpinUntil(has_work)) {
      while (!has_work()) {
        slot.signal.wait(signal, std::memory_order_acquire);
        signal = slot.signal.load(std::memory_order_acquire);
      }
    }
    if (stop_.load()) return;
    // The caller may have taken the job back (it ran every chunk itself).
    Job* job = slot.job.exchange(nullptr, std::memory_order_acq_rel);
    if (job == nullptr) continue;
    RunChunks(*job, slot.participant);
    Release(index, *job);
  }
}

void ThreadPool::ParallelFor(int threads, int64_t n, ChunkFn fn, void* arg) {
  if (n <= 0) return;
  const int want = static_cast<int>(std::min<int64_t>(std::max(threads, 1), n)) - 1;
  int taken[kMaxHelpers];
  int helpers = 0;
  if (want > 0 && !slots_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    const int k = std::min({want, static_cast<int>(idle_.size()), kMaxHelpers});
    for (int i = 0; i < k; ++i) {
      taken[i] = idle_.back();
      idle_.pop_back();
    }
    helpers = k;
  }
  if (helpers == 0) {
    fn(arg, 0, n, 0);
    return;
  }
  Job job;
  job.fn = fn;
  job.arg = arg;
  job.n = n;
  job.chunks = std::min<int64_t>(n, int64_t{helpers + 1} * kChunksPerThread);
  job.helpers.store(helpers, std::memory_order_relaxed);
  for (int i = 0; i < helpers; ++i) {
    Slot& slot = *slots_[taken[i]];
    slot.participant = i + 1;
    slot.job.store(&job, std::memory_order_release);
    slot.signal.fetch_add(1, std::memory_order_release);
    slot.signal.notify_one();
  }
  RunChunks(job, 0);
  // Take back the job from helpers that have not picked it up yet: every
  // chunk is claimed, so waiting for them to wake up would only add latency.
  for (int i = 0; i < helpers; ++i) {
    Job* expected = &job;
    if (slots_[taken[i]]->job.compare_exchange_strong(expected, nullptr,
                                                      std::memory_order_acq_rel)) {
      Release(taken[i], job);
    }
  }
  auto done = [&] { return job.helpers.load(std::memory_order_acquire) == 0; };
  if (!SpinUntil(done)) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, done);
  }
}

}  // namespace engine::exec
