// A fixed pool of worker threads for intra-op parallelism of the host
// kernels, shared by every execution context of the process.
//
// ParallelFor(threads, n, fn) splits [0, n) into contiguous chunks and runs
// them on the calling thread plus up to threads - 1 idle workers, returning
// when all chunks are done. The threads claim the chunks (a couple per
// thread) as they get free, so a thread that is slower (preempted, or on a
// busier core) does less of the work instead of holding the others up.
//
// Workers are a counted resource (a semaphore of idle workers): a call takes
// only workers idle at that moment, never waits for one, and does the rest of
// the work itself. Several contexts executing at once thus share the pool:
// the process never runs more than its calling threads plus the workers, and
// the shared pool has hardware threads - 1 workers. A call that finds no idle
// worker runs all of [0, n) itself as one chunk.
//
// Determinism is the caller's job: the chunk boundaries depend on how many
// workers were idle, so a kernel must compute each output element the same
// way whatever the split (e.g. parallelize over a fixed, thread-count
// independent list of blocks).
//
// ParallelFor does not allocate: the job lives on the caller's stack and each
// worker has a preallocated slot. Workers spin briefly after a job (so the
// next layer's call finds them awake) and then sleep on a futex.
#ifndef ENGINE_KERNELS_THREAD_POOL_H_
#define ENGINE_KERNELS_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace engine::exec {

class ThreadPool {
 public:
  /// fn(arg, begin, end, slot): processes [begin, end). `slot` identifies
  /// the thread running the chunk within the call: it is < the `threads` of
  /// the call and no two threads of one call share it, while one thread may
  /// run several chunks (use it to index per-thread scratch).
  using ChunkFn = void (*)(void* arg, int64_t begin, int64_t end, int slot);

  /// Starts `workers` threads (0 is valid: every call then runs inline).
  explicit ThreadPool(int workers);
  /// Joins the workers; no ParallelFor may be running.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// The process-wide pool: HardwareThreads() - 1 workers, created on first
  /// use and never destroyed.
  static ThreadPool& Shared();

  /// The hardware threads this process may run on: its CPU affinity mask
  /// where available, else std::thread::hardware_concurrency(); at least 1.
  /// Computed once.
  static int HardwareThreads();

  int workers() const { return static_cast<int>(slots_.size()); }

  /// Runs fn over [0, n) on this thread (slot 0) and up to
  /// min(threads, n, 65) - 1 workers that are idle now (slots 1, 2, ...), in
  /// contiguous chunks of near-equal size, kChunksPerThread per thread, that
  /// the threads claim in order as they get free; returns when every chunk
  /// has run. Without an idle worker, fn(arg, 0, n, 0) runs inline. n <= 0
  /// does nothing. Thread-safe: any number of threads may call it at once.
  /// Must not be called from inside `fn` (no nesting).
  void ParallelFor(int threads, int64_t n, ChunkFn fn, void* arg);

  /// Chunks per participating thread (fewer when n is smaller).
  static constexpr int kChunksPerThread = 2;

  /// Convenience: f(begin, end, slot) with any callable (not copied).
  template <typename F>
  void ParallelFor(int threads, int64_t n, const F& f) {
    ParallelFor(threads, n, &Trampoline<F>, const_cast<void*>(static_cast<const void*>(&f)));
  }

 private:
  struct Job;
  struct alignas(64) Slot {
    std::atomic<Job*> job{nullptr};   // set by a caller, taken by the worker
    std::atomic<uint32_t> signal{0};  // futex word: bumped when `job` is set
    int participant = 0;              // the worker's `slot` in `job` (set before `job`)
  };

  template <typename F>
  static void Trampoline(void* arg, int64_t begin, int64_t end, int slot) {
    (*static_cast<const F*>(arg))(begin, end, slot);
  }

  void WorkerLoop(int index);
  // Runs chunks of `job` as thread `participant` until none is left.
  static void RunChunks(Job& job, int participant);
  // Marks `worker` idle again and counts it out of `job` (under mu_).
  void Release(int worker, Job& job);

  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};

  // The idle workers (a stack of indices): the semaphore callers take from.
  std::mutex mu_;
  std::condition_variable done_cv_;  // a job's helpers all released
  std::vector<int> idle_;            // capacity workers(), never reallocated
};

}  // namespace engine::exec

#endif  // ENGINE_KERNELS_THREAD_POOL_H_
