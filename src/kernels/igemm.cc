#include "kernels/igemm.h"

// GCC 12's AVX-512 intrinsics (_mm512_shuffle_i32x4 and others) return an
// intentionally uninitialized vector that -Wmaybe-uninitialized flags once
// inlined (GCC bug 105593, fixed in GCC 13). The warning is reported at the
// header's lines, so it is silenced before the header is read.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define ENGINE_IGEMM_VNNI 1
#include <immintrin.h>
#elif defined(__AVX2__)
#define ENGINE_IGEMM_AVX2 1
#include <immintrin.h>
#else
#define ENGINE_IGEMM_SCALAR 1
#endif

namespace engine::kernels {
namespace {

// Packed A: blocks of kBlockRows rows; per block and unit (4 bytes holding
// kKPerUnit consecutive K values of one row), the 16 rows' units are
// contiguous: 64 bytes, one cache line.
constexpr int64_t kBlockRows = 16;
constexpr int64_t kUnitBytes = 4;
constexpr int64_t kBlockUnitBytes = kBlockRows * kUnitBytes;

// Blocking (in units of depth and columns), common to the paths:
//  - kKcUnits: depth of a K block. A column micro-panel of B (kKcUnits x 48
//    columns x 4 bytes = 24 KiB with AVX-512) stays in L1 while it meets
//    every row tile of the row block, and a row micro-panel of A (32 rows x
//    kKcUnits x 4 = 16 KiB) while it meets every column group.
//  - kMcRows: rows per row block (A block kMcRows x kKcUnits x 4 = 256 KiB,
//    read from L2 once per column panel).
//  - kBBlockBytes: packed B block (the workspace), about half of L2.
//  - kMaxMvecN: widest product that may use the row-vectorized kernel.
constexpr int64_t kKcUnits = 128;
constexpr int64_t kMcRows = 512;
constexpr int64_t kBBlockBytes = int64_t{512} << 10;
constexpr int64_t kMaxMvecN = 64;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t RoundUp(int64_t a, int64_t b) { return CeilDiv(a, b) * b; }
// Splits `total` into equal parts of at most `cap`; returns the part size.
int64_t Balanced(int64_t total, int64_t cap) {
  cap = std::max<int64_t>(cap, 1);
  return CeilDiv(total, CeilDiv(total, cap));
}

int32_t LoadUnit(const uint8_t* p) {
  int32_t x;
  std::memcpy(&x, p, sizeof(x));
  return x;
}

// ---------------------------------------------------------------------------
// Instruction-set layer. Each Isa provides a vector V of kLanes int32 lanes,
// the unit format (kKPerUnit K values in 4 bytes) and:
//   Load(p): kLanes consecutive units; Bcast(p): one unit in every lane;
//   Madd(acc, b, a): acc + per-lane dot product of the unit of B (b) and of
//     A (a); Add/Sub/Set1; LoadN/StoreN: the first n int32 lanes;
//   PackBRowsFast: interleaves B rows into units (see PackB).
// kShiftB: B is stored as b + 128 (u8) and 128 * rowsum(A) is subtracted.
// Tiles: column-vectorized kMr rows x kNv vectors; row-vectorized kMTileVecs
// vectors of rows x up to kMaxCols columns (0: no such kernel), kGemvVecs
// vectors of rows for N = 1.

#if defined(ENGINE_IGEMM_VNNI)

struct Isa {
  using V = __m512i;
  static constexpr const char* kName = "avx512-vnni";
  static constexpr int kLanes = 16;
  static constexpr int kKPerUnit = 4;
  static constexpr bool kShiftB = true;
  static constexpr int kMr = 8;
  static constexpr int kNv = 3;
  static constexpr int kMTileVecs = 2;
  static constexpr int kMaxCols = 12;
  static constexpr int kGemvVecs = 4;

  static V Zero() { return _mm512_setzero_si512(); }
  static V Load(const void* p) { return _mm512_loadu_si512(p); }
  static V Bcast(const uint8_t* p) { return _mm512_set1_epi32(LoadUnit(p)); }
  static V Madd(V acc, V b, V a) { return _mm512_dpbusd_epi32(acc, b, a); }
  static V Add(V x, V y) { return _mm512_add_epi32(x, y); }
  static V Sub(V x, V y) { return _mm512_sub_epi32(x, y); }
  static V Set1(int32_t x) { return _mm512_set1_epi32(x); }
  static __mmask16 Mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  static V LoadN(const int32_t* p, int n) {
    return n == kLanes ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi32(Mask(n), p);
  }
  static void StoreN(int32_t* p, V v, int n) {
    if (n == kLanes) {
      _mm512_storeu_si512(p, v);
    } else {
      _mm512_mask_storeu_epi32(p, Mask(n), v);
    }
  }
};

#elif defined(ENGINE_IGEMM_AVX2)

struct Isa {
  using V = __m256i;
  static constexpr const char* kName = "avx2";
  static constexpr int kLanes = 8;
  static constexpr int kKPerUnit = 2;
  static constexpr bool kShiftB = false;
  static constexpr int kMr = 4;
  static constexpr int kNv = 2;
  static constexpr int kMTileVecs = 2;
  static constexpr int kMaxCols = 4;
  static constexpr int kGemvVecs = 4;

  static V Zero() { return _mm256_setzero_si256(); }
  static V Load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static V Bcast(const uint8_t* p) { return _mm256_set1_epi32(LoadUnit(p)); }
  static V Madd(V acc, V b, V a) { return _mm256_add_epi32(acc, _mm256_madd_epi16(b, a)); }
  static V Add(V x, V y) { return _mm256_add_epi32(x, y); }
  static V Sub(V x, V y) { return _mm256_sub_epi32(x, y); }
  static V Set1(int32_t x) { return _mm256_set1_epi32(x); }
  static V Mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V LoadN(const int32_t* p, int n) {
    return n == kLanes ? Load(p) : _mm256_maskload_epi32(p, Mask(n));
  }
  static void StoreN(int32_t* p, V v, int n) {
    if (n == kLanes) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
    } else {
      _mm256_maskstore_epi32(p, Mask(n), v);
    }
  }
};

#else  // scalar

struct Isa {
  using V = int32_t;  // one lane: the 4 bytes of a unit, or an int32 sum
  static constexpr const char* kName = "scalar";
  static constexpr int kLanes = 1;
  static constexpr int kKPerUnit = 4;
  static constexpr bool kShiftB = false;
  static constexpr int kMr = 4;
  static constexpr int kNv = 4;
  static constexpr int kMTileVecs = 16;
  static constexpr int kMaxCols = 0;
  static constexpr int kGemvVecs = 16;

  static V Zero() { return 0; }
  static V Load(const void* p) { return LoadUnit(static_cast<const uint8_t*>(p)); }
  static V Bcast(const uint8_t* p) { return LoadUnit(p); }
  static V Madd(V acc, V b, V a) {
    const auto ub = static_cast<uint32_t>(b), ua = static_cast<uint32_t>(a);
    for (int q = 0; q < 4; ++q) {
      acc += static_cast<int8_t>(ub >> (8 * q)) * static_cast<int8_t>(ua >> (8 * q));
    }
    return acc;
  }
  static V Add(V x, V y) { return x + y; }
  static V Sub(V x, V y) { return x - y; }
  static V Set1(int32_t x) { return x; }
  static V LoadN(const int32_t* p, int) { return *p; }
  static void StoreN(int32_t* p, V v, int) { *p = v; }
};

#endif

constexpr int kLanes = Isa::kLanes;
constexpr int kKPerUnit = Isa::kKPerUnit;
constexpr int64_t kNr = int64_t{Isa::kNv} * kLanes;  // column panel width
static_assert(kBlockRows % Isa::kMr == 0, "row tiles must not straddle A blocks");
static_assert(kMcRows % Isa::kMr == 0);
static_assert(Isa::kMaxCols == 0 || (Isa::kMTileVecs * kLanes) % kBlockRows == 0);

// One K value of B (or of A) as stored in its unit: byte q of a quad, or the
// int16 of a pair.
void StoreValue(uint8_t* unit, int q, int8_t v, bool shift) {
  if constexpr (kKPerUnit == 4) {
    unit[q] = static_cast<uint8_t>(v) ^ (shift ? 0x80 : 0x00);
  } else {
    const int16_t w = v;
    std::memcpy(unit + 2 * q, &w, sizeof(w));
  }
}

// ---------------------------------------------------------------------------
// Packed B. Columns [0, ncols) of B rows [u0 * kKPerUnit, (u0 + units) *
// kKPerUnit) (rows >= K read as 0) are stored in panels of `w` columns; the
// last panel is PanelWidth(rest, w) wide (w, or the rest rounded up to whole
// vectors). Panel p starts at out + p * units * w * 4 and is [units][width][4
// bytes]: the unit of column j and unit u at u * width * 4 + j * 4. Columns
// past ncols inside the last panel hold B = 0.

int64_t PanelWidth(int64_t rest, int64_t w) { return std::min(w, RoundUp(rest, kLanes)); }

size_t PackedBBytes(int64_t units, int64_t ncols, int64_t w) {
  return static_cast<size_t>(
      units * kUnitBytes *
      ((CeilDiv(ncols, w) - 1) * w + PanelWidth(ncols - (CeilDiv(ncols, w) - 1) * w, w)));
}

void PackBGeneric(const int8_t* b, int64_t ldb, int64_t k, int64_t u0, int64_t units, int64_t ncols,
                  int64_t w, uint8_t* out) {
  for (int64_t p0 = 0; p0 < ncols; p0 += w) {
    const int64_t width = PanelWidth(ncols - p0, w);
    uint8_t* panel = out + p0 * units * kUnitBytes;
    for (int64_t u = 0; u < units; ++u) {
      uint8_t* row = panel + u * width * kUnitBytes;
      for (int64_t j = 0; j < width; ++j) {
        for (int q = 0; q < kKPerUnit; ++q) {
          const int64_t kk = (u0 + u) * kKPerUnit + q;
          const int64_t col = p0 + j;
          const int8_t v = (kk < k && col < ncols) ? b[kk * ldb + col] : int8_t{0};
          StoreValue(row + j * kUnitBytes, q, v, Isa::kShiftB);
        }
      }
    }
  }
}

#if defined(ENGINE_IGEMM_VNNI) || defined(ENGINE_IGEMM_AVX2)

// Vectorized packing for panel widths that are whole vectors: a chunk is
// kLanes columns of one unit (one vector of the micro-kernel). Columns are
// taken kGroup at a time, all units of a group before the next group, each
// chunk going to the panel that holds it.
#if defined(ENGINE_IGEMM_VNNI)
constexpr int64_t kGroup = 64;  // 4 rows x 64 bytes -> 4 chunks of 16 columns
#else
constexpr int64_t kGroup = 16;  // 2 rows x 16 bytes -> 2 chunks of 8 columns
#endif
constexpr int kChunks = static_cast<int>(kGroup / kLanes);

void PackBFast(const int8_t* b, int64_t ldb, int64_t k, int64_t u0, int64_t units, int64_t ncols,
               int64_t w, uint8_t* out) {
  for (int64_t c = 0; c < ncols; c += kGroup) {
    const int64_t cnt = std::min(kGroup, ncols - c);
    uint8_t* dst[kChunks];
    int64_t stride[kChunks];
    for (int t = 0; t < kChunks; ++t) {
      const int64_t col = std::min(c + t * kLanes, ncols - 1);  // unused when past ncols
      const int64_t p0 = col / w * w;
      stride[t] = PanelWidth(ncols - p0, w) * kUnitBytes;
      dst[t] = out + p0 * units * kUnitBytes + (col - p0) * kUnitBytes;
    }
    const int live = static_cast<int>(CeilDiv(cnt, kLanes));
#if defined(ENGINE_IGEMM_VNNI)
    const __mmask64 mask = cnt == 64 ? ~__mmask64{0} : (__mmask64{1} << cnt) - 1;
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int64_t u = 0; u < units; ++u) {
      __m512i x[4];
      for (int q = 0; q < 4; ++q) {
        const int64_t kk = (u0 + u) * 4 + q;
        x[q] = kk < k ? _mm512_maskz_loadu_epi8(mask, b + kk * ldb + c) : _mm512_setzero_si512();
        x[q] = _mm512_xor_si512(x[q], flip);
      }
      // Per 128-bit lane l (columns 16l..16l+15): bytes of rows 0/1 and 2/3
      // interleaved, then 16-bit pairs interleaved into 4-byte units:
      // q0 = columns 16l+0..3, q1 = 4..7, q2 = 8..11, q3 = 12..15.
      const __m512i t0 = _mm512_unpacklo_epi8(x[0], x[1]);
      const __m512i t1 = _mm512_unpackhi_epi8(x[0], x[1]);
      const __m512i t2 = _mm512_unpacklo_epi8(x[2], x[3]);
      const __m512i t3 = _mm512_unpackhi_epi8(x[2], x[3]);
      const __m512i q0 = _mm512_unpacklo_epi16(t0, t2);
      const __m512i q1 = _mm512_unpackhi_epi16(t0, t2);
      const __m512i q2 = _mm512_unpacklo_epi16(t1, t3);
      const __m512i q3 = _mm512_unpackhi_epi16(t1, t3);
      // 4 x 4 transpose of 128-bit lanes: chunk l = [q0.l, q1.l, q2.l, q3.l].
      const __m512i s0 = _mm512_shuffle_i32x4(q0, q1, 0x44);
      const __m512i s1 = _mm512_shuffle_i32x4(q2, q3, 0x44);
      const __m512i s2 = _mm512_shuffle_i32x4(q0, q1, 0xEE);
      const __m512i s3 = _mm512_shuffle_i32x4(q2, q3, 0xEE);
      const __m512i o[4] = {_mm512_shuffle_i32x4(s0, s1, 0x88), _mm512_shuffle_i32x4(s0, s1, 0xDD),
                            _mm512_shuffle_i32x4(s2, s3, 0x88), _mm512_shuffle_i32x4(s2, s3, 0xDD)};
      for (int t = 0; t < live; ++t) _mm512_storeu_si512(dst[t] + u * stride[t], o[t]);
    }
#else
    for (int64_t u = 0; u < units; ++u) {
      __m256i x[2];
      for (int q = 0; q < 2; ++q) {
        const int64_t kk = (u0 + u) * 2 + q;
        __m128i bytes = _mm_setzero_si128();
        if (kk < k) {
          if (cnt == 16) {
            bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + kk * ldb + c));
          } else {
            alignas(16) int8_t tmp[16] = {};
            std::memcpy(tmp, b + kk * ldb + c, static_cast<size_t>(cnt));
            bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
          }
        }
        x[q] = _mm256_cvtepi8_epi16(bytes);
      }
      // lo: columns 0..3 | 8..11, hi: 4..7 | 12..15 (pairs of rows 0/1).
      const __m256i lo = _mm256_unpacklo_epi16(x[0], x[1]);
      const __m256i hi = _mm256_unpackhi_epi16(x[0], x[1]);
      const __m256i o[2] = {_mm256_permute2x128_si256(lo, hi, 0x20),
                            _mm256_permute2x128_si256(lo, hi, 0x31)};
      for (int t = 0; t < live; ++t) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst[t] + u * stride[t]), o[t]);
      }
    }
#endif
  }
}

#endif

void PackB(const int8_t* b, int64_t ldb, int64_t k, int64_t u0, int64_t units, int64_t ncols,
           int64_t w, uint8_t* out) {
#if defined(ENGINE_IGEMM_VNNI) || defined(ENGINE_IGEMM_AVX2)
  if (w % kLanes == 0) {
    PackBFast(b, ldb, k, u0, units, ncols, w, out);
    return;
  }
#endif
  PackBGeneric(b, ldb, k, u0, units, ncols, w, out);
}

// ---------------------------------------------------------------------------
// Micro-kernels. A tile of C: rows r0 + [0, rows) (r0 aligned to the tile
// height), of which [rs, re) are stored, and its columns; depth `units`.

struct Tile {
  const uint8_t* a;        // unit u0 of row r0 in packed A
  int64_t a_block_stride;  // bytes between 16-row blocks of packed A
  const uint8_t* b;        // unit u0 of the tile's first column in packed B
  int64_t b_unit_stride;   // bytes per unit in the B panel (row-vectorized kernel)
  int64_t units;
  int32_t* c;  // C row r0, tile's first column
  int64_t ldc;
  int rs, re;               // rows of the tile to store
  int cols;                 // column-vectorized: valid columns of the tile
  bool first;               // first K block: C = result, else C += result
  const int32_t* row_sums;  // A row sums from row r0 (padded with zeros)
  // Row-vectorized kernel: room for its transposition, kMaxTile int32 (the
  // caller's: a local array here would keep GCC from holding the
  // accumulators in registers).
  int32_t* buf;
};

// Largest row-vectorized tile, in int32.
constexpr int kMaxTile = std::max(Isa::kMaxCols * Isa::kMTileVecs, Isa::kGemvVecs) * kLanes;

// Column-vectorized: kMr rows x NV vectors of columns; A broadcast, B loaded.
template <int NV>
void KernelN(const Tile& t) {
  using V = Isa::V;
  constexpr int kMr = Isa::kMr;
  V acc[kMr][NV];
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = Isa::Zero();
  }
  const uint8_t* a = t.a;
  const uint8_t* b = t.b;
  for (int64_t u = 0; u < t.units; ++u, a += kBlockUnitBytes, b += NV * kLanes * kUnitBytes) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = Isa::Load(b + v * kLanes * kUnitBytes);
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) {
      const V av = Isa::Bcast(a + r * kUnitBytes);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = Isa::Madd(acc[r][v], bv[v], av);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r) {
    if (r < t.rs || r >= t.re) continue;
    int32_t* row = t.c + r * t.ldc;
    const V comp = Isa::Set1(Isa::kShiftB && t.first ? t.row_sums[r] * 128 : 0);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const int n = std::min(kLanes, t.cols - v * kLanes);
      const V x = t.first ? Isa::Sub(acc[r][v], comp)
                          : Isa::Add(acc[r][v], Isa::LoadN(row + v * kLanes, n));
      Isa::StoreN(row + v * kLanes, x, n);
    }
  }
}

// Row-vectorized: TV vectors of rows x NC columns; A loaded, B broadcast.
// The result is transposed through a buffer into C's rows.
template <int TV, int NC>
void KernelM(const Tile& t) {
  using V = Isa::V;
  V acc[TV][NC];
  const uint8_t* ap[TV];
#pragma GCC unroll 4
  for (int v = 0; v < TV; ++v) {
    const int row = v * kLanes;  // r0 is 16-aligned
    ap[v] = t.a + row / kBlockRows * t.a_block_stride + row % kBlockRows * kUnitBytes;
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) acc[v][j] = Isa::Zero();
  }
  const uint8_t* b = t.b;
  for (int64_t u = 0; u < t.units; ++u, b += t.b_unit_stride) {
    V av[TV];
#pragma GCC unroll 4
    for (int v = 0; v < TV; ++v) av[v] = Isa::Load(ap[v] + u * kBlockUnitBytes);
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) {
      const V bj = Isa::Bcast(b + j * kUnitBytes);
#pragma GCC unroll 4
      for (int v = 0; v < TV; ++v) acc[v][j] = Isa::Madd(acc[v][j], bj, av[v]);
    }
  }
  // buf[j * kRows + r]: column j, row r of the tile. The compensation is
  // applied in the scalar transposition (vector code after the loop makes
  // GCC 12 copy every accumulator at every step).
  constexpr int kRows = TV * kLanes;
  static_assert(NC * kRows <= kMaxTile);
  int32_t* __restrict buf = t.buf;
#pragma GCC unroll 4
  for (int v = 0; v < TV; ++v) {
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) Isa::StoreN(buf + j * kRows + v * kLanes, acc[v][j], kLanes);
  }
  for (int r = t.rs; r < t.re; ++r) {
    int32_t* row = t.c + r * t.ldc;
    if (t.first) {
      const int32_t comp = Isa::kShiftB ? t.row_sums[r] * 128 : 0;
      for (int j = 0; j < NC; ++j) row[j] = buf[j * kRows + r] - comp;
    } else {
      for (int j = 0; j < NC; ++j) row[j] += buf[j * kRows + r];
    }
  }
}

using KernelFn = void (*)(const Tile&);

template <int... I>
constexpr std::array<KernelFn, sizeof...(I)> KernelNTable(std::integer_sequence<int, I...>) {
  return {&KernelN<I + 1>...};
}
constexpr auto kKernelN = KernelNTable(std::make_integer_sequence<int, Isa::kNv>());

template <int TV, int... I>
constexpr std::array<KernelFn, sizeof...(I)> KernelMTable(std::integer_sequence<int, I...>) {
  return {&KernelM<TV, I + 1>...};
}

// Row-vectorized kernel for TV vectors of rows and nc columns (1..kMaxCols);
// TV is kGemvVecs (nc == 1 only), kMTileVecs or a power-of-2 fraction of it
// down to one 16-row block.
void RunKernelM(int tv, int nc, const Tile& t) {
  if constexpr (Isa::kMaxCols > 0) {
    constexpr int kFull = Isa::kMTileVecs, kHalf = std::max(Isa::kMTileVecs / 2, 1);
    static constexpr auto full =
        KernelMTable<kFull>(std::make_integer_sequence<int, Isa::kMaxCols>());
    static constexpr auto half =
        KernelMTable<kHalf>(std::make_integer_sequence<int, Isa::kMaxCols>());
    if (tv == Isa::kGemvVecs && nc == 1) {
      KernelM<Isa::kGemvVecs, 1>(t);
    } else if (tv == kFull) {
      full[nc - 1](t);
    } else {
      half[nc - 1](t);
    }
  }
}

// ---------------------------------------------------------------------------
// Block plans. Both depend on the number of columns n and units of depth
// only (and on the workspace when it is smaller than IgemmWorkspaceBytes).

constexpr int64_t kMinTileVecs = std::max<int64_t>(kBlockRows / kLanes, 1);

struct NPlan {
  int64_t kcu;  // units per K block
  int64_t nc;   // columns per column block (a multiple of kNr, or all columns)
};

size_t NPlanBytes(const NPlan& p, int64_t n) { return PackedBBytes(p.kcu, std::min(p.nc, n), kNr); }

int64_t ClampBytes(size_t bytes) {
  return static_cast<int64_t>(std::min<size_t>(bytes, std::numeric_limits<int64_t>::max()));
}

NPlan PlanN(int64_t n, int64_t units, size_t workspace_bytes) {
  NPlan p;
  p.kcu = Balanced(units, kKcUnits);
  p.nc = std::max(kNr, kBBlockBytes / (p.kcu * kUnitBytes) / kNr * kNr);
  if (p.nc >= n) p.nc = n;
  if (NPlanBytes(p, n) > workspace_bytes) {
    const int64_t ws = ClampBytes(workspace_bytes);
    p.nc = std::max(kNr, ws / (p.kcu * kUnitBytes) / kNr * kNr);
    if (p.nc >= n) p.nc = n;
    if (NPlanBytes(p, n) > workspace_bytes) {  // one panel: shorten the K blocks
      p.kcu = Balanced(units, std::max<int64_t>(ws / (kNr * kUnitBytes), 1));
    }
  }
  return p;
}

struct MPlan {
  int64_t kcu;  // units per K block
  int64_t w;    // packed B width (all n columns in one panel)
};

MPlan PlanM(int64_t n, int64_t units, size_t workspace_bytes) {
  MPlan p;
  p.w = n >= kLanes ? RoundUp(n, kLanes) : n;
  // One column group: no reuse of A across groups to keep in L1, so no K
  // blocking beyond the workspace budget.
  int64_t cap = n <= Isa::kMaxCols ? units : kKcUnits;
  cap = std::min(cap, kBBlockBytes / (p.w * kUnitBytes));
  cap = std::min(cap, ClampBytes(workspace_bytes) / (p.w * kUnitBytes));
  p.kcu = Balanced(units, cap);
  return p;
}

// Whether rows [m0, m1) x n columns go to the row-vectorized kernel: the
// one that pads less (column tiles pad n to whole vectors, row tiles pad the
// rows to 16) after a 1/8 surcharge for its transposed stores.
bool UseKernelM(int64_t m0, int64_t m1, int64_t n) {
  if (Isa::kMaxCols == 0 || n > kMaxMvecN) return false;
  const int64_t rows_n = (CeilDiv(m1, Isa::kMr) - m0 / Isa::kMr) * Isa::kMr;
  const int64_t rows_m = (CeilDiv(m1, kBlockRows) - m0 / kBlockRows) * kBlockRows;
  return rows_m * n * 9 < rows_n * RoundUp(n, kLanes) * 8;
}

void RunColumnTiles(const PackedInt8Matrix& a, int64_t m0, int64_t m1, int64_t n, const int8_t* b,
                    int64_t ldb, int32_t* c, int64_t ldc, uint8_t* ws, size_t workspace_bytes) {
  const int64_t k = a.depth(), units = a.units();
  const NPlan plan = PlanN(n, units, workspace_bytes);
  const int64_t first_row = m0 / Isa::kMr * Isa::kMr;
  Tile t{};
  t.a_block_stride = units * kBlockUnitBytes;
  t.ldc = ldc;
  for (int64_t j0 = 0; j0 < n; j0 += plan.nc) {
    const int64_t ncols = std::min(plan.nc, n - j0);
    for (int64_t u0 = 0; u0 < units; u0 += plan.kcu) {
      const int64_t uc = std::min(plan.kcu, units - u0);
      PackB(b + j0, ldb, k, u0, uc, ncols, kNr, ws);
      t.units = uc;
      t.first = u0 == 0;
      for (int64_t ic = first_row; ic < m1; ic += kMcRows) {
        const int64_t ic_end = std::min(ic + kMcRows, m1);
        for (int64_t p0 = 0; p0 < ncols; p0 += kNr) {
          const int64_t width = PanelWidth(ncols - p0, kNr);
          const KernelFn kernel = kKernelN[width / kLanes - 1];
          t.b = ws + p0 * uc * kUnitBytes;
          t.cols = static_cast<int>(std::min(kNr, ncols - p0));
          for (int64_t r0 = ic; r0 < ic_end; r0 += Isa::kMr) {
            t.a = a.data() + ((r0 / kBlockRows) * units + u0) * kBlockUnitBytes +
                  (r0 % kBlockRows) * kUnitBytes;
            t.c = c + r0 * ldc + j0 + p0;
            t.rs = static_cast<int>(std::max<int64_t>(m0 - r0, 0));
            t.re = static_cast<int>(std::min<int64_t>(m1 - r0, Isa::kMr));
            t.row_sums = a.row_sums() + r0;
            kernel(t);
          }
        }
      }
    }
  }
}

void RunRowTiles(const PackedInt8Matrix& a, int64_t m0, int64_t m1, int64_t n, const int8_t* b,
                 int64_t ldb, int32_t* c, int64_t ldc, uint8_t* ws, size_t workspace_bytes) {
  const int64_t k = a.depth(), units = a.units();
  const MPlan plan = PlanM(n, units, workspace_bytes);
  const int64_t padded_rows = RoundUp(a.rows(), kBlockRows);
  const int64_t groups = CeilDiv(n, Isa::kMaxCols);
  alignas(64) int32_t buf[kMaxTile];
  Tile t{};
  t.buf = buf;
  t.a_block_stride = units * kBlockUnitBytes;
  t.b_unit_stride = plan.w * kUnitBytes;
  t.ldc = ldc;
  for (int64_t u0 = 0; u0 < units; u0 += plan.kcu) {
    const int64_t uc = std::min(plan.kcu, units - u0);
    PackB(b, ldb, k, u0, uc, n, plan.w, ws);
    t.units = uc;
    t.first = u0 == 0;
    int64_t tile_rows = 0;
    for (int64_t r0 = m0 / kBlockRows * kBlockRows; r0 < m1; r0 += tile_rows) {
      // Largest tile that stays inside packed A, halved while its half
      // still covers the remaining rows.
      int64_t tv = n == 1 ? Isa::kGemvVecs : Isa::kMTileVecs;
      while (tv > kMinTileVecs && (r0 + tv * kLanes > padded_rows || r0 + tv / 2 * kLanes >= m1)) {
        tv /= 2;
      }
      tile_rows = tv * kLanes;
      t.a = a.data() + ((r0 / kBlockRows) * units + u0) * kBlockUnitBytes;
      t.rs = static_cast<int>(std::max<int64_t>(m0 - r0, 0));
      t.re = static_cast<int>(std::min<int64_t>(m1 - r0, tile_rows));
      t.row_sums = a.row_sums() + r0;
      for (int64_t g = 0, j0 = 0; g < groups; ++g) {
        const int64_t nc = n / groups + (g < n % groups ? 1 : 0);
        t.b = ws + j0 * kUnitBytes;
        t.c = c + r0 * ldc + j0;
        RunKernelM(static_cast<int>(tv), static_cast<int>(nc), t);
        j0 += nc;
      }
    }
  }
}

}  // namespace

const char* IgemmPath() { return Isa::kName; }

// ---------------------------------------------------------------------------
// PackedInt8Matrix

void PackedInt8Matrix::AlignedFree::operator()(uint8_t* p) const {
  ::operator delete[](p, std::align_val_t{64});
}

void PackedInt8Matrix::Allocate(int64_t rows, int64_t depth) {
  rows_ = rows;
  depth_ = depth;
  units_ = CeilDiv(depth, kKPerUnit);
  padded_rows_ = RoundUp(rows, kBlockRows);
  const auto bytes = static_cast<size_t>(padded_rows_ * units_ * kUnitBytes);
  data_.reset(bytes == 0 ? nullptr
                         : static_cast<uint8_t*>(::operator new[](bytes, std::align_val_t{64})));
  row_sums_.reset(padded_rows_ == 0 ? nullptr : new int32_t[static_cast<size_t>(padded_rows_)]);
}

PackedInt8Matrix::PackedInt8Matrix(const PackedInt8Matrix& other) { *this = other; }

PackedInt8Matrix& PackedInt8Matrix::operator=(const PackedInt8Matrix& other) {
  if (this == &other) return *this;
  Allocate(other.rows_, other.depth_);
  const auto bytes = static_cast<size_t>(padded_rows_ * units_ * kUnitBytes);
  if (bytes > 0) std::memcpy(data_.get(), other.data_.get(), bytes);
  if (padded_rows_ > 0) {
    std::memcpy(row_sums_.get(), other.row_sums_.get(),
                static_cast<size_t>(padded_rows_) * sizeof(int32_t));
  }
  return *this;
}

PackedInt8Matrix PackedInt8Matrix::Pack(const int8_t* a, int64_t m, int64_t k, int64_t lda) {
  if (m < 0 || k < 0 || k > 65536 || (m > 0 && k > 0 && lda < k)) {
    std::fprintf(stderr, "PackedInt8Matrix::Pack: bad shape m=%lld k=%lld lda=%lld\n",
                 static_cast<long long>(m), static_cast<long long>(k), static_cast<long long>(lda));
    std::abort();
  }
  PackedInt8Matrix p;
  p.Allocate(m, k);
  const auto bytes = static_cast<size_t>(p.padded_rows_ * p.units_ * kUnitBytes);
  if (bytes > 0) std::memset(p.data_.get(), 0, bytes);
  for (int64_t i = 0; i < p.padded_rows_; ++i) {
    int32_t sum = 0;
    if (i < m && k > 0) {  // k == 0: no bytes (data_ is null), sum 0
      const int8_t* row = a + i * lda;
      uint8_t* block = p.data_.get() + (i / kBlockRows) * p.units_ * kBlockUnitBytes +
                       (i % kBlockRows) * kUnitBytes;
      for (int64_t kk = 0; kk < k; ++kk) {
        StoreValue(block + kk / kKPerUnit * kBlockUnitBytes, static_cast<int>(kk % kKPerUnit),
                   row[kk], false);
        sum += row[kk];
      }
    }
    p.row_sums_[static_cast<size_t>(i)] = sum;
  }
  return p;
}

// ---------------------------------------------------------------------------

size_t IgemmWorkspaceBytes(int64_t m, int64_t n, int64_t k) {
  if (m <= 0 || n <= 0 || k <= 0) return 0;
  const int64_t units = CeilDiv(k, kKPerUnit);
  const size_t unlimited = std::numeric_limits<size_t>::max();
  size_t bytes = NPlanBytes(PlanN(n, units, unlimited), n);
  if (Isa::kMaxCols > 0 && n <= kMaxMvecN) {
    // Bounded by a value nondecreasing in n (PlanM's K blocks shrink when n
    // passes kMaxCols).
    const MPlan p = PlanM(n, units, unlimited);
    bytes = std::max(bytes, static_cast<size_t>(std::min(units * p.w * kUnitBytes, kBBlockBytes)));
  }
  return std::max(bytes, kIgemmMinWorkspaceBytes);
}

void Igemm(const PackedInt8Matrix& a, int64_t m0, int64_t m1, int64_t n, const int8_t* b,
           int64_t ldb, int32_t* c, int64_t ldc, void* workspace, size_t workspace_bytes) {
  if (m0 < 0 || m1 > a.rows() || m0 > m1 || n < 0 || (n > 0 && (ldb < n || ldc < n))) {
    std::fprintf(
        stderr, "Igemm: bad arguments m0=%lld m1=%lld rows=%lld n=%lld ldb=%lld ldc=%lld\n",
        static_cast<long long>(m0), static_cast<long long>(m1), static_cast<long long>(a.rows()),
        static_cast<long long>(n), static_cast<long long>(ldb), static_cast<long long>(ldc));
    std::abort();
  }
  if (m0 == m1 || n == 0) return;
  if (a.depth() == 0) {
    for (int64_t i = m0; i < m1; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0);
    return;
  }
  if (workspace == nullptr || workspace_bytes < kIgemmMinWorkspaceBytes) {
    std::fprintf(stderr, "Igemm: workspace of %zu bytes, below kIgemmMinWorkspaceBytes\n",
                 workspace_bytes);
    std::abort();
  }
  auto* ws = static_cast<uint8_t*>(workspace);
  if (UseKernelM(m0, m1, n)) {
    RunRowTiles(a, m0, m1, n, b, ldb, c, ldc, ws, workspace_bytes);
  } else {
    RunColumnTiles(a, m0, m1, n, b, ldb, c, ldc, ws, workspace_bytes);
  }
}

}  // namespace engine::kernels
