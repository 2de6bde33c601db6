// Tests of the exact int8 GEMM (igemm.h) against a naive int32 triple loop:
// ragged shapes, N = 1 and K = 1, extreme values up to K = 65536, row and
// column sub-ranges, the exact and the minimum workspace, and concurrent
// calls on one packed matrix.
#include "kernels/igemm.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace engine::kernels {
namespace {

constexpr size_t kGuardBytes = 256;
constexpr uint8_t kGuard = 0xA5;
constexpr int32_t kSentinel = 0x5EED1234;

std::vector<int8_t> RandomInt8(size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(-128, 127);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(dist(rng));
  return v;
}

// C [m, n] (leading dimension n) = A [m, k] (lda) * B [k, n] (ldb), in int64
// then checked to fit int32.
std::vector<int32_t> Naive(const int8_t* a, int64_t m, int64_t k, int64_t lda, const int8_t* b,
                           int64_t n, int64_t ldb) {
  std::vector<int64_t> acc(static_cast<size_t>(m * n), 0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t l = 0; l < k; ++l) {
      const int64_t av = a[i * lda + l];
      const int8_t* brow = b + l * ldb;
      int64_t* crow = acc.data() + i * n;
      for (int64_t j = 0; j < n; ++j) crow[j] += av * brow[j];
    }
  }
  std::vector<int32_t> c(acc.size());
  for (size_t i = 0; i < acc.size(); ++i) {
    REQUIRE(acc[i] >= INT32_MIN);
    REQUIRE(acc[i] <= INT32_MAX);
    c[i] = static_cast<int32_t>(acc[i]);
  }
  return c;
}

// Igemm with a workspace of `bytes` (default: exactly IgemmWorkspaceBytes
// for the whole product) followed by guard bytes that must stay untouched.
void RunIgemm(const PackedInt8Matrix& a, int64_t m0, int64_t m1, int64_t n, const int8_t* b,
              int64_t ldb, int32_t* c, int64_t ldc, size_t bytes = SIZE_MAX) {
  if (bytes == SIZE_MAX) bytes = IgemmWorkspaceBytes(a.rows(), n, a.depth());
  std::vector<uint8_t> ws(bytes + kGuardBytes, kGuard);
  Igemm(a, m0, m1, n, b, ldb, c, ldc, bytes == 0 ? nullptr : ws.data(), bytes);
  for (size_t i = bytes; i < ws.size(); ++i) REQUIRE(ws[i] == kGuard);
}

// Full product of a random m x k x n problem with padded leading dimensions,
// compared with Naive; C's padding columns must stay untouched.
void CheckShape(int64_t m, int64_t k, int64_t n, std::mt19937& rng, int64_t pad = 0) {
  CAPTURE(m, k, n, pad);
  const int64_t lda = k + pad, ldb = n + pad, ldc = n + pad;
  const std::vector<int8_t> a = RandomInt8(static_cast<size_t>(std::max<int64_t>(m * lda, 1)), rng);
  const std::vector<int8_t> b = RandomInt8(static_cast<size_t>(std::max<int64_t>(k * ldb, 1)), rng);
  const std::vector<int32_t> want = Naive(a.data(), m, k, lda, b.data(), n, ldb);
  const PackedInt8Matrix packed = PackedInt8Matrix::Pack(a.data(), m, k, lda);
  REQUIRE(packed.rows() == m);
  REQUIRE(packed.depth() == k);
  std::vector<int32_t> c(static_cast<size_t>(m * ldc), kSentinel);
  RunIgemm(packed, 0, m, n, b.data(), ldb, c.data(), ldc);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const int32_t got = c[static_cast<size_t>(i * ldc + j)];
      if (j < n) {
        if (got != want[static_cast<size_t>(i * n + j)]) {
          CAPTURE(i, j, got, want[static_cast<size_t>(i * n + j)]);
          FAIL("mismatch");
        }
      } else {
        REQUIRE(got == kSentinel);
      }
    }
  }
}

TEST_CASE("Igemm reports the compiled path", "[igemm]") {
  const std::string path = IgemmPath();
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  CHECK(path == "avx512-vnni");
#elif defined(__AVX2__)
  CHECK(path == "avx2");
#else
  CHECK(path == "scalar");
#endif
  WARN("Igemm path: " << path);
}

TEST_CASE("Igemm matches the naive product on ragged shapes", "[igemm]") {
  std::mt19937 rng(1234);
  const int64_t sizes[] = {1, 3, 17, 63, 65, 257};
  for (int64_t m : sizes) {
    for (int64_t n : sizes) {
      for (int64_t k : {int64_t{1}, int64_t{5}, int64_t{63}, int64_t{257}})
        CheckShape(m, k, n, rng);
    }
  }
  for (int64_t k : {2, 3, 4, 7, 8, 9, 16, 17, 65, 511, 512, 513, 1000, 2049})
    CheckShape(19, k, 50, rng);
}

TEST_CASE("Igemm handles N = 1, K = 1 and padded leading dimensions", "[igemm]") {
  std::mt19937 rng(99);
  for (int64_t m : {1, 15, 16, 17, 33, 100, 1000}) {
    CheckShape(m, 2048, 1, rng);
    CheckShape(m, 1, 1, rng);
    CheckShape(m, 1, 300, rng);
  }
  for (int64_t n : {1, 2, 11, 12, 13, 24, 25, 48, 49, 64, 65, 97, 1000}) {
    CheckShape(40, 37, n, rng, /*pad=*/5);
    CheckShape(64, 300, n, rng);
  }
}

TEST_CASE("Igemm on ResNet-50-like shapes", "[igemm]") {
  std::mt19937 rng(50);
  CheckShape(64, 147, 700, rng);
  CheckShape(64, 576, 3136, rng);
  CheckShape(256, 64, 3136, rng);
  CheckShape(128, 1152, 784, rng);
  CheckShape(512, 4608, 49, rng);
  CheckShape(2048, 512, 49, rng);
  CheckShape(1000, 2048, 1, rng);
}

TEST_CASE("Igemm is exact at the extremes of int8 with K = 65536", "[igemm]") {
  const int64_t k = 65536;
  struct Case {
    int8_t a, b;
  };
  for (const Case& cs : {Case{-128, -128}, Case{-128, 127}, Case{127, -128}, Case{127, 127}}) {
    CAPTURE(int{cs.a}, int{cs.b});
    for (int64_t n : {1, 3, 49, 70}) {
      const int64_t m = 19;
      std::vector<int8_t> a(static_cast<size_t>(m * k), cs.a);
      std::vector<int8_t> b(static_cast<size_t>(k * n), cs.b);
      const PackedInt8Matrix packed = PackedInt8Matrix::Pack(a.data(), m, k, k);
      std::vector<int32_t> c(static_cast<size_t>(m * n), kSentinel);
      RunIgemm(packed, 0, m, n, b.data(), n, c.data(), n);
      const int32_t want = static_cast<int32_t>(int64_t{cs.a} * cs.b * k);
      for (int32_t x : c) REQUIRE(x == want);
      for (int64_t i = 0; i < m; ++i) REQUIRE(packed.row_sums()[i] == int32_t{cs.a} * 65536);
    }
  }
  // Mixed: A rows of -128 and 127, B alternating in rows and columns, so
  // that partial sums swing to both ends.
  std::mt19937 rng(7);
  const int64_t m = 21, n = 37;
  std::vector<int8_t> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t l = 0; l < k; ++l) {
      a[static_cast<size_t>(i * k + l)] = (i % 3 == 0)   ? -128
                                          : (i % 3 == 1) ? 127
                                                         : ((l / 8) % 2 ? -128 : 127);
    }
  }
  for (int64_t l = 0; l < k; ++l) {
    for (int64_t j = 0; j < n; ++j) {
      b[static_cast<size_t>(l * n + j)] = ((l + j) % 5 == 0) ? 127 : (j % 2 ? -128 : 127);
    }
  }
  const std::vector<int32_t> want = Naive(a.data(), m, k, k, b.data(), n, n);
  const PackedInt8Matrix packed = PackedInt8Matrix::Pack(a.data(), m, k, k);
  std::vector<int32_t> c(static_cast<size_t>(m * n), kSentinel);
  RunIgemm(packed, 0, m, n, b.data(), n, c.data(), n);
  CHECK(c == want);
  // Random values at full depth, N = 1 and wide.
  for (int64_t nn : {1, 50}) CheckShape(5, k, nn, rng);
}

TEST_CASE("Igemm row and column sub-ranges equal the full product", "[igemm]") {
  std::mt19937 rng(2024);
  for (int64_t n : {1, 7, 49, 130}) {
    const int64_t m = 75, k = 601;
    CAPTURE(n);
    const std::vector<int8_t> a = RandomInt8(static_cast<size_t>(m * k), rng);
    const std::vector<int8_t> b = RandomInt8(static_cast<size_t>(k * n), rng);
    const PackedInt8Matrix packed = PackedInt8Matrix::Pack(a.data(), m, k, k);
    std::vector<int32_t> full(static_cast<size_t>(m * n), kSentinel);
    RunIgemm(packed, 0, m, n, b.data(), n, full.data(), n);
    REQUIRE(full == Naive(a.data(), m, k, k, b.data(), n, n));
    // Rows [m0, m1): C indexed by absolute row; the other rows untouched.
    for (auto [m0, m1] : {std::pair<int64_t, int64_t>{0, 1},
                          {3, 4},
                          {5, 13},
                          {8, 16},
                          {13, 40},
                          {16, 48},
                          {31, 75},
                          {74, 75},
                          {20, 20}}) {
      CAPTURE(m0, m1);
      std::vector<int32_t> c(static_cast<size_t>(m * n), kSentinel);
      RunIgemm(packed, m0, m1, n, b.data(), n, c.data(), n);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          const size_t at = static_cast<size_t>(i * n + j);
          REQUIRE(c[at] == (i >= m0 && i < m1 ? full[at] : kSentinel));
        }
      }
    }
    // Columns [j0, j1): b and c offset by j0, width j1 - j0.
    for (int64_t j0 = 0; j0 < n; j0 += std::max<int64_t>(n / 3, 1)) {
      for (int64_t j1 : {j0 + 1, std::min(n, j0 + 17), n}) {
        if (j1 <= j0 || j1 > n) continue;
        CAPTURE(j0, j1);
        std::vector<int32_t> c(static_cast<size_t>(m * n), kSentinel);
        RunIgemm(packed, 0, m, j1 - j0, b.data() + j0, n, c.data() + j0, n);
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            const size_t at = static_cast<size_t>(i * n + j);
            REQUIRE(c[at] == (j >= j0 && j < j1 ? full[at] : kSentinel));
          }
        }
      }
    }
  }
}

TEST_CASE("Igemm workspace: exact size, smaller workspaces, K = 0", "[igemm]") {
  std::mt19937 rng(5);
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{33, 1500, 1},
                         {33, 1500, 20},
                         {33, 1500, 49},
                         {70, 700, 200},
                         {70, 3000, 1500},
                         {20, 9, 5000}}) {
    CAPTURE(m, k, n);
    const size_t need = IgemmWorkspaceBytes(m, n, k);
    REQUIRE(need >= kIgemmMinWorkspaceBytes);
    // Nondecreasing in n: a workspace for n serves any narrower call.
    for (int64_t n2 = 1; n2 <= n; n2 += std::max<int64_t>(n / 40, 1)) {
      REQUIRE(IgemmWorkspaceBytes(m, n2, k) <= need);
    }
    const std::vector<int8_t> a = RandomInt8(static_cast<size_t>(m * k), rng);
    const std::vector<int8_t> b = RandomInt8(static_cast<size_t>(k * n), rng);
    const std::vector<int32_t> want = Naive(a.data(), m, k, k, b.data(), n, n);
    const PackedInt8Matrix packed = PackedInt8Matrix::Pack(a.data(), m, k, k);
    for (size_t bytes : {need, need / 2 + 1, need / 7 + 100, kIgemmMinWorkspaceBytes}) {
      if (bytes > need || bytes < kIgemmMinWorkspaceBytes) continue;
      CAPTURE(bytes);
      std::vector<int32_t> c(static_cast<size_t>(m * n), kSentinel);
      RunIgemm(packed, 0, m, n, b.data(), n, c.data(), n, bytes);
      REQUIRE(c == want);
    }
  }
  CHECK(IgemmWorkspaceBytes(0, 5, 5) == 0);
  CHECK(IgemmWorkspaceBytes(5, 0, 5) == 0);
  CHECK(IgemmWorkspaceBytes(5, 5, 0) == 0);
  // K = 0: C = 0 without a workspace.
  const PackedInt8Matrix empty = PackedInt8Matrix::Pack(nullptr, 4, 0, 0);
  std::vector<int32_t> c(4 * 3, kSentinel);
  Igemm(empty, 1, 3, 3, nullptr, 3, c.data(), 3, nullptr, 0);
  for (int64_t i = 0; i < 4; ++i) {
    for (int64_t j = 0; j < 3; ++j)
      CHECK(c[static_cast<size_t>(i * 3 + j)] == (i >= 1 && i < 3 ? 0 : kSentinel));
  }
}

TEST_CASE("PackedInt8Matrix copies, moves and row sums", "[igemm]") {
  std::mt19937 rng(11);
  const int64_t m = 37, k = 91, n = 29;
  const std::vector<int8_t> a = RandomInt8(static_cast<size_t>(m * k), rng);
  const std::vector<int8_t> b = RandomInt8(static_cast<size_t>(k * n), rng);
  const std::vector<int32_t> want = Naive(a.data(), m, k, k, b.data(), n, n);
  PackedInt8Matrix original = PackedInt8Matrix::Pack(a.data(), m, k, k);
  for (int64_t i = 0; i < m; ++i) {
    int32_t sum = 0;
    for (int64_t l = 0; l < k; ++l) sum += a[static_cast<size_t>(i * k + l)];
    REQUIRE(original.row_sums()[i] == sum);
  }
  PackedInt8Matrix copy = original;
  PackedInt8Matrix moved = std::move(original);
  original = copy;  // assign back into the moved-from object
  for (const PackedInt8Matrix* p : {&copy, &moved, &original}) {
    std::vector<int32_t> c(static_cast<size_t>(m * n), kSentinel);
    RunIgemm(*p, 0, m, n, b.data(), n, c.data(), n);
    CHECK(c == want);
  }
  const PackedInt8Matrix none;
  CHECK(none.rows() == 0);
  CHECK(none.depth() == 0);
}

TEST_CASE("Igemm runs concurrently on one packed matrix", "[igemm]") {
  std::mt19937 rng(77);
  for (int64_t n : {1, 49, 600}) {
    const int64_t m = 130, k = 777;
    CAPTURE(n);
    const std::vector<int8_t> a = RandomInt8(static_cast<size_t>(m * k), rng);
    const std::vector<int8_t> b = RandomInt8(static_cast<size_t>(k * n), rng);
    const std::vector<int32_t> want = Naive(a.data(), m, k, k, b.data(), n, n);
    const PackedInt8Matrix packed = PackedInt8Matrix::Pack(a.data(), m, k, k);
    constexpr int kThreads = 4;
    const size_t bytes = IgemmWorkspaceBytes(m, n, k);
    std::vector<std::vector<uint8_t>> ws(kThreads, std::vector<uint8_t>(bytes));
    for (bool split_rows : {true, false}) {
      std::vector<int32_t> c(static_cast<size_t>(m * n), kSentinel);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int rep = 0; rep < 3; ++rep) {  // repeated, to overlap with the others
            if (split_rows || n < kThreads) {
              const int64_t m0 = m * t / kThreads, m1 = m * (t + 1) / kThreads;
              Igemm(packed, m0, m1, n, b.data(), n, c.data(), n, ws[t].data(), bytes);
            } else {
              const int64_t j0 = n * t / kThreads, j1 = n * (t + 1) / kThreads;
              Igemm(packed, 0, m, j1 - j0, b.data() + j0, n, c.data() + j0, n, ws[t].data(), bytes);
            }
          }
        });
      }
      for (std::thread& th : threads) th.join();
      CHECK(c == want);
    }
  }
}

}  // namespace
}  // namespace engine::kernels
