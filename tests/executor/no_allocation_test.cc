// Steady-state inference allocates nothing on the heap: the arena, scratch
// and per-layer pointer lists are sized when the execution context is made.
#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <vector>
#include <filesystem>
#include <new>
#include <random>

#include "engine/builder.h"
#include "engine/runtime.h"
#include "test_models.h"
#include "test_util.h"

// Sanitizers replace the allocator: interposing malloc/free here would mix
// theirs with glibc's (scripts/run_sanitizers.sh builds this binary).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ENGINE_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define ENGINE_SANITIZER_ALLOCATOR 1
#endif
#endif

#ifdef ENGINE_SANITIZER_ALLOCATOR
TEST_CASE("Steady-state Execute() makes no heap allocation", "[executor]") {
  WARN("SKIPPED: the allocation counter does not work under a sanitizer's allocator");
}
#else
namespace {
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_allocations{0};
inline void Count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
}
}  // namespace

// Every heap allocation of this test binary counts: the C allocator (used by
// Tensor, Eigen and the C++ allocator below) is interposed, forwarding to
// glibc's own entry points.
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);

void* malloc(size_t n) {
  Count();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  Count();
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  Count();
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t a, size_t n) {
  Count();
  return __libc_memalign(a, n);
}
void* memalign(size_t a, size_t n) {
  Count();
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, size_t a, size_t n) {
  Count();
  *out = __libc_memalign(a, n);
  return *out == nullptr && n > 0 ? ENOMEM : 0;
}
void free(void* p) { __libc_free(p); }
}

namespace {
void* CountedNew(std::size_t n, std::size_t align) {
  void* p = align > alignof(std::max_align_t) ? aligned_alloc(align, (n + align - 1) / align * align)
                                              : malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return CountedNew(n, 0); }
void* operator new[](std::size_t n) { return CountedNew(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) {
  return CountedNew(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return CountedNew(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, std::size_t) noexcept { free(p); }
void operator delete[](void* p, std::size_t) noexcept { free(p); }
void operator delete(void* p, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { free(p); }

namespace engine {
namespace {

int64_t AllocationsDuringExecute(const std::string& model_bytes_or_path, bool is_path,
                                 int threads = 0) {
  BuilderConfig config;
  auto built = is_path ? Builder().BuildFromOnnxFile(model_bytes_or_path, config)
                       : Builder().BuildFromOnnxBytes(model_bytes_or_path, "m", config);
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  REQUIRE(engine.ok());
  auto ctx = (*engine)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  if (threads > 0) REQUIRE((*ctx)->SetThreads(threads).ok());
  std::mt19937 rng(3);
  for (const TensorDesc& d : (*engine)->inputs()) {
    REQUIRE((*ctx)->SetInput(d.name, testing::RandomTensor(d.shape, rng)).ok());
  }
  REQUIRE((*ctx)->Execute().ok());  // first run may warm caches
  g_allocations = 0;
  g_counting = true;
  absl::Status s;
  for (int i = 0; i < 3 && s.ok(); ++i) s = (*ctx)->Execute();
  g_counting = false;
  REQUIRE(s.ok());
  return g_allocations.load();
}

TEST_CASE("The allocation counter sees C and C++ allocations", "[executor]") {
  g_allocations = 0;
  g_counting = true;
  void* a = malloc(100);
  int* b = new int(3);
  std::vector<float> c(1000);
  void* d = aligned_alloc(64, 4096);
  g_counting = false;
  free(a);
  delete b;
  free(d);
  CHECK(g_allocations.load() == 4);
  CHECK(c.size() == 1000);
}

TEST_CASE("Steady-state Execute() makes no heap allocation", "[executor]") {
  CHECK(AllocationsDuringExecute(testing::SmallConvModel(), false) == 0);
  const std::string path =
      (std::filesystem::path(ENGINE_SOURCE_DIR) / "models" / "out" / "tiny_cnn.onnx").string();
  if (std::filesystem::exists(path)) {
    CHECK(AllocationsDuringExecute(path, true) == 0);
  } else {
    WARN("SKIPPED: " << path << " missing (run /usr/bin/python3 models/generate.py)");
  }
  const std::string resnet =
      (std::filesystem::path(ENGINE_SOURCE_DIR) / "models" / "out" / "resnet50.onnx").string();
  if (std::filesystem::exists(resnet)) {
    CHECK(AllocationsDuringExecute(resnet, true) == 0);
  } else {
    WARN("SKIPPED: " << resnet << " missing (run /usr/bin/python3 models/generate.py)");
  }
}

TEST_CASE("Steady-state Execute() makes no heap allocation with several threads", "[executor]") {
  // Per-thread scratch is sized by SetThreads and the pool is started before
  // Execute(); dispatching work to the pool's workers must not allocate.
  // (With one hardware thread the pool has no worker and this is the serial
  // path again.)
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    CHECK(AllocationsDuringExecute(testing::SmallConvModel(), false, threads) == 0);
  }
  const std::string resnet =
      (std::filesystem::path(ENGINE_SOURCE_DIR) / "models" / "out" / "resnet50.onnx").string();
  if (std::filesystem::exists(resnet)) {
    CHECK(AllocationsDuringExecute(resnet, true, /*threads=*/2) == 0);
  } else {
    WARN("SKIPPED: " << resnet << " missing (run /usr/bin/python3 models/generate.py)");
  }
}

TEST_CASE("Execute() makes no heap allocation at any shape of a dynamic engine", "[executor]") {
  // The arena is sized for the profile's largest shape when the context is
  // made; a shape change re-prepares the kernels in InferShapes(), so the
  // Execute() calls after it allocate nothing (docs/dynamic_shapes.md).
  BuilderConfig config;
  OptimizationProfile p;
  p.min["x"] = {1, 2, 4, 4};
  p.opt["x"] = {2, 2, 4, 4};
  p.max["x"] = {6, 2, 4, 4};
  config.profiles.push_back(p);
  config.shape_buckets = 2;
  auto built = Builder().BuildFromOnnxBytes(testing::SmallConvModel(-1), "m", config);
  REQUIRE(built.ok());
  auto engine = Runtime::DeserializeEngine(built->plan);
  REQUIRE(engine.ok());
  auto ctx = (*engine)->CreateExecutionContext();
  REQUIRE(ctx.ok());
  std::mt19937 rng(5);
  for (int64_t batch : {1, 6, 3, 2}) {
    CAPTURE(batch);
    REQUIRE((*ctx)->SetInput("x", testing::RandomTensor({batch, 2, 4, 4}, rng)).ok());
    REQUIRE((*ctx)->InferShapes().ok());
    REQUIRE((*ctx)->Execute().ok());  // first run may warm caches
    g_allocations = 0;
    g_counting = true;
    absl::Status s;
    for (int i = 0; i < 3 && s.ok(); ++i) s = (*ctx)->Execute();
    g_counting = false;
    REQUIRE(s.ok());
    CHECK(g_allocations.load() == 0);
  }
}

}  // namespace
}  // namespace engine
#endif  // ENGINE_SANITIZER_ALLOCATOR
