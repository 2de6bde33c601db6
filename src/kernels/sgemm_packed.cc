#include "kernels/sgemm_packed.h"

// GCC 12's AVX-512 intrinsics return intentionally uninitialized vectors that
// -Wmaybe-uninitialized flags once inlined (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#if defined(__AVX512F__)
#define ENGINE_SGEMM_AVX512 1
#include <immintrin.h>
#elif defined(__AVX2__) && defined(__FMA__)
#define ENGINE_SGEMM_AVX2 1
#include <immintrin.h>
#else
#define ENGINE_SGEMM_SCALAR 1
#endif

namespace engine::kernels {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
// Splits `total` into equal parts of at most `cap`; returns the part size.
int64_t Balanced(int64_t total, int64_t cap) {
  cap = std::max<int64_t>(cap, 1);
  return CeilDiv(total, CeilDiv(total, cap));
}

// ---------------------------------------------------------------------------
// Instruction-set layer: a vector V of kLanes floats with Load/Store (full or
// first n lanes), Set1, Fma(a, b, c) = a * b + c rounded once, Add, and the
// activations' Max/Min with the semantics of ReluOf/ClipOf: Max(lo, x) =
// lo > x ? lo : x and Min(hi, x) = hi < x ? hi : x, so a NaN x passes
// (vmaxps/vminps return their second operand when either is NaN).
// Tiles: column kernel kMr rows x kNv vectors; row kernel kTv vectors of
// rows x up to kMaxCols columns.

#if defined(ENGINE_SGEMM_AVX512)

struct Isa {
  using V = __m512;
  static constexpr const char* kName = "avx512";
  static constexpr int kLanes = 16;
  static constexpr int kMr = 8;
  static constexpr int kNv = 3;
  static constexpr int kTv = 2;
  static constexpr int kMaxCols = 14;

  static V Zero() { return _mm512_setzero_ps(); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static V Set1(float x) { return _mm512_set1_ps(x); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V Add(V a, V b) { return _mm512_add_ps(a, b); }
  static V Max(V lo, V x) { return _mm512_max_ps(lo, x); }
  static V Min(V hi, V x) { return _mm512_min_ps(hi, x); }
  static __mmask16 Mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  static V LoadN(const float* p, int n) {
    return n == kLanes ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(Mask(n), p);
  }
  static void StoreN(float* p, V v, int n) {
    if (n == kLanes) {
      _mm512_storeu_ps(p, v);
    } else {
      _mm512_mask_storeu_ps(p, Mask(n), v);
    }
  }
  static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
};

#elif defined(ENGINE_SGEMM_AVX2)

struct Isa {
  using V = __m256;
  static constexpr const char* kName = "avx2";
  static constexpr int kLanes = 8;
  static constexpr int kMr = 4;
  static constexpr int kNv = 3;
  static constexpr int kTv = 2;
  static constexpr int kMaxCols = 6;

  static V Zero() { return _mm256_setzero_ps(); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  static V Set1(float x) { return _mm256_set1_ps(x); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V Add(V a, V b) { return _mm256_add_ps(a, b); }
  static V Max(V lo, V x) { return _mm256_max_ps(lo, x); }
  static V Min(V hi, V x) { return _mm256_min_ps(hi, x); }
  static __m256i Mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V LoadN(const float* p, int n) {
    return n == kLanes ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, Mask(n));
  }
  static void StoreN(float* p, V v, int n) {
    if (n == kLanes) {
      _mm256_storeu_ps(p, v);
    } else {
      _mm256_maskstore_ps(p, Mask(n), v);
    }
  }
  static void Store(float* p, V v) { _mm256_storeu_ps(p, v); }
};

#else  // scalar

struct Isa {
  using V = float;
  static constexpr const char* kName = "scalar";
  static constexpr int kLanes = 1;
  static constexpr int kMr = 4;
  static constexpr int kNv = 4;
  static constexpr int kTv = 1;
  static constexpr int kMaxCols = 4;

  static V Zero() { return 0.0f; }
  static V Load(const float* p) { return *p; }
  static V Set1(float x) { return x; }
  static V Fma(V a, V b, V c) { return std::fma(a, b, c); }
  static V Add(V a, V b) { return a + b; }
  static V Max(V lo, V x) { return lo > x ? lo : x; }
  static V Min(V hi, V x) { return hi < x ? hi : x; }
  static V LoadN(const float* p, int) { return *p; }
  static void StoreN(float* p, V v, int) { *p = v; }
  static void Store(float* p, V v) { *p = v; }
};

#endif

using V = Isa::V;
constexpr int kLanes = Isa::kLanes;
constexpr int kMr = Isa::kMr;
constexpr int64_t kPanel = int64_t{Isa::kNv} * kLanes;
constexpr int64_t kBlock = kSgemmBlockRows;
static_assert(kBlock % kMr == 0, "row tiles must not straddle A blocks");
static_assert(kBlock % kLanes == 0 || kLanes % kBlock == 0);

// Blocking of the column kernel: K blocks of at most kKc (a B micro-panel,
// kKc x kPanel floats, is reused by every row tile of the row block), row
// blocks of at most kMc rows (their A block, kMc x kKc floats, stays in L2).
// Measured on ResNet-50's convolutions (bench/conv_bench): kKc 192..384 and
// kMc 128..512 are within 1% of each other.
constexpr int64_t kKc = 256;
constexpr int64_t kMc = 256;
// Columns per B block callers should pack (SgemmBlockCols): kKc x kNc floats
// = 384 KiB, a good part of L2.
constexpr int64_t kNc = 384 / kPanel * kPanel;

// Activation kinds applied inside the tiles; the others run on the stored
// rows (ApplyActivation) after the last K block.
bool InTile(const Activation& act) {
  return act.kind == Activation::Kind::kNone || act.kind == Activation::Kind::kRelu ||
         act.kind == Activation::Kind::kClip;
}

// The in-tile activations on one float (the row kernel's scalar stores).
[[maybe_unused]] float ActScalar(const Activation& act, float x) {
  switch (act.kind) {
    case Activation::Kind::kRelu:
      return ReluOf(x);
    case Activation::Kind::kClip:
      return ClipOf(x, act.alpha, act.beta);
    default:
      return x;
  }
}

// ---------------------------------------------------------------------------
// Column kernel: kMr rows x NV vectors of columns; A broadcast, B loaded.

struct NTile {
  const float* a;  // packed A: row r0, depth k0 (stride kBlock per depth)
  const float* b;  // B panel: depth k0, the tile's first column (stride bw per depth)
  int64_t kc;
  int64_t bw;
  float* c;  // C[r0][j]
  int64_t ldc;
  int rs, re;  // rows of the tile to store: [rs, re) within [0, kMr)
  int cols;    // valid columns (<= NV * kLanes)
  bool first, last;
  const float* bias;  // bias + r0, or null
  const float* cbias;  // column bias at j, or null
  const float* res;   // residual at (r0, j), or null
  int64_t ldr;
  const Activation* act;
};

// kMaskB: B is read in place (not a zero-padded panel): its last vector
// is loaded masked to the tile's columns.
template <int NV, bool kMaskB>
void KernelN(const NTile& t) {
  V acc[kMr][NV];
  const int last_cols = t.cols - (NV - 1) * kLanes;
  if (t.first) {
#pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = Isa::Zero();
    }
  } else {
#pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        acc[r][v] = r >= t.rs && r < t.re
                        ? Isa::LoadN(t.c + r * t.ldc + v * kLanes, v == NV - 1 ? last_cols : kLanes)
                        : Isa::Zero();
      }
    }
  }
#if defined(ENGINE_SGEMM_AVX512) || defined(ENGINE_SGEMM_AVX2)
  // The epilogue's residual and the output lines, fetched while the tile
  // multiplies (a shallow product would otherwise wait for them at the end).
  if (t.last) {
#pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) {
      if (r < t.rs || r >= t.re) continue;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        if (t.res != nullptr) {
          _mm_prefetch(reinterpret_cast<const char*>(t.res + r * t.ldr + v * kLanes), _MM_HINT_T0);
        }
        _mm_prefetch(reinterpret_cast<const char*>(t.c + r * t.ldc + v * kLanes), _MM_HINT_T0);
      }
    }
  }
#endif
  const float* a = t.a;
  const float* b = t.b;
  for (int64_t k = 0; k < t.kc; ++k, a += kBlock, b += t.bw) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      bv[v] =
          kMaskB && v == NV - 1 ? Isa::LoadN(b + v * kLanes, last_cols) : Isa::Load(b + v * kLanes);
    }
#pragma GCC unroll 16
    for (int r = 0; r < kMr; ++r) {
      const V av = Isa::Set1(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = Isa::Fma(av, bv[v], acc[r][v]);
    }
  }
  if (t.last) {
    if (t.bias != nullptr) {
#pragma GCC unroll 16
      for (int r = 0; r < kMr; ++r) {
        const V bias = Isa::Set1(r >= t.rs && r < t.re ? t.bias[r] : 0.0f);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = Isa::Add(acc[r][v], bias);
      }
    }
    if (t.cbias != nullptr) {
      V cb[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        cb[v] = Isa::LoadN(t.cbias + v * kLanes, v == NV - 1 ? last_cols : kLanes);
      }
#pragma GCC unroll 16
      for (int r = 0; r < kMr; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = Isa::Add(acc[r][v], cb[v]);
      }
    }
    if (t.res != nullptr) {
#pragma GCC unroll 16
      for (int r = 0; r < kMr; ++r) {
        if (r < t.rs || r >= t.re) continue;
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          acc[r][v] = Isa::Add(acc[r][v], Isa::LoadN(t.res + r * t.ldr + v * kLanes,
                                                     v == NV - 1 ? last_cols : kLanes));
        }
      }
    }
    if (t.act->kind == Activation::Kind::kRelu) {
      const V zero = Isa::Zero();
#pragma GCC unroll 16
      for (int r = 0; r < kMr; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = Isa::Max(zero, acc[r][v]);
      }
    } else if (t.act->kind == Activation::Kind::kClip) {
      const V lo = Isa::Set1(t.act->alpha), hi = Isa::Set1(t.act->beta);
#pragma GCC unroll 16
      for (int r = 0; r < kMr; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = Isa::Min(hi, Isa::Max(lo, acc[r][v]));
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < kMr; ++r) {
    if (r < t.rs || r >= t.re) continue;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      Isa::StoreN(t.c + r * t.ldc + v * kLanes, acc[r][v], v == NV - 1 ? last_cols : kLanes);
    }
  }
  if (t.last && !InTile(*t.act)) {
    for (int r = t.rs; r < t.re; ++r) ApplyActivation(*t.act, t.c + r * t.ldc, t.cols);
  }
}

using NKernelFn = void (*)(const NTile&);

template <bool kMaskB, int... I>
constexpr auto NKernelTable(std::integer_sequence<int, I...>) {
  return std::array<NKernelFn, sizeof...(I)>{&KernelN<I + 1, kMaskB>...};
}
constexpr auto kNKernels = NKernelTable<false>(std::make_integer_sequence<int, Isa::kNv>());
constexpr auto kNKernelsDirect = NKernelTable<true>(std::make_integer_sequence<int, Isa::kNv>());

// ---------------------------------------------------------------------------
// Row kernel: TV vectors of rows x NC columns, over the whole depth; A
// loaded, B broadcast. The result is transposed through a buffer.

constexpr int kMaxRowTile = Isa::kTv * kLanes;

#if defined(ENGINE_SGEMM_AVX512)
// In-register transpose: r[j] element l becomes r[l] element j.
inline void Transpose16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4i + k], 128-bit lane L: row 4L + k of columns 4i .. 4i + 3.
  __m512 u[16];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);
    const __m512 v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
    const __m512 v3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
    r[k] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    r[4 + k] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    r[12 + k] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}
#endif

struct MTile {
  const float* a[Isa::kTv];  // packed A at depth 0 for each row vector
  const float* b;            // B[0][j]
  int64_t ldb;
  int64_t k;
  float* c;  // C[r0][j]
  int64_t ldc;
  int rs, re;         // rows of the tile to store: [rs, re) within [0, TV * kLanes)
  const float* bias;  // bias + r0, or null
  const float* cbias;  // column bias at j, or null
  const float* res;   // residual at (r0, j), or null
  int64_t ldr;
  const Activation* act;
  float* buf;  // kMaxRowTile * kMaxCols floats
};

template <int TV, int NC>
void KernelM(const MTile& t) {
  V acc[TV][NC];
#pragma GCC unroll 4
  for (int v = 0; v < TV; ++v) {
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) acc[v][j] = Isa::Zero();
  }
  const float* ap[TV];
#pragma GCC unroll 4
  for (int v = 0; v < TV; ++v) ap[v] = t.a[v];
  const float* b = t.b;
  for (int64_t k = 0; k < t.k; ++k, b += t.ldb) {
    V av[TV];
#pragma GCC unroll 4
    for (int v = 0; v < TV; ++v) av[v] = Isa::Load(ap[v] + k * kBlock);
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) {
      const V bj = Isa::Set1(b[j]);
#pragma GCC unroll 4
      for (int v = 0; v < TV; ++v) acc[v][j] = Isa::Fma(av[v], bj, acc[v][j]);
    }
  }
#if defined(ENGINE_SGEMM_AVX512)
  // Per vector of 16 rows: transpose the NC column vectors into 16 row
  // vectors, then bias, residual and activation on whole rows.
  const __mmask16 cols = Isa::Mask(NC);
  const bool in_tile = InTile(*t.act);
#pragma GCC unroll 4
  for (int v = 0; v < TV; ++v) {
    if (v * kLanes >= t.re) break;
    __m512 r[16];
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) r[j] = j < NC ? acc[v][j] : _mm512_setzero_ps();
    Transpose16(r);
#pragma GCC unroll 16
    for (int l = 0; l < 16; ++l) {
      const int row = v * kLanes + l;
      if (row < t.rs || row >= t.re) continue;
      __m512 x = r[l];
      if (t.bias != nullptr) x = _mm512_add_ps(x, _mm512_set1_ps(t.bias[row]));
      if (t.cbias != nullptr) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(cols, t.cbias));
      if (t.res != nullptr) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(cols, t.res + row * t.ldr));
      if (t.act->kind == Activation::Kind::kRelu) {
        x = _mm512_max_ps(_mm512_setzero_ps(), x);
      } else if (t.act->kind == Activation::Kind::kClip) {
        x = _mm512_min_ps(_mm512_set1_ps(t.act->beta),
                          _mm512_max_ps(_mm512_set1_ps(t.act->alpha), x));
      }
      float* out = t.c + row * t.ldc;
      _mm512_mask_storeu_ps(out, cols, x);
      if (!in_tile) ApplyActivation(*t.act, out, NC);
    }
  }
#else
  constexpr int kRows = TV * kLanes;
  float* __restrict buf = t.buf;
#pragma GCC unroll 4
  for (int v = 0; v < TV; ++v) {
#pragma GCC unroll 16
    for (int j = 0; j < NC; ++j) Isa::Store(buf + j * kRows + v * kLanes, acc[v][j]);
  }
  const bool in_tile = InTile(*t.act);
  for (int r = t.rs; r < t.re; ++r) {
    float* row = t.c + r * t.ldc;
    const float bias = t.bias != nullptr ? t.bias[r] : 0.0f;
    const float* res = t.res != nullptr ? t.res + r * t.ldr : nullptr;
    for (int j = 0; j < NC; ++j) {
      float x = buf[j * kRows + r];
      if (t.bias != nullptr) x = x + bias;
      if (t.cbias != nullptr) x = x + t.cbias[j];
      if (res != nullptr) x = x + res[j];
      row[j] = ActScalar(*t.act, x);
    }
    if (!in_tile) ApplyActivation(*t.act, row, NC);
  }
#endif
}

using MKernelFn = void (*)(const MTile&);

template <int TV, int... I>
constexpr auto MKernelTable(std::integer_sequence<int, I...>) {
  return std::array<MKernelFn, sizeof...(I)>{&KernelM<TV, I + 1>...};
}

}  // namespace

const char* SgemmPackedPath() { return Isa::kName; }
static_assert(kSgemmPanelCols == kPanel && kSgemmPanelAlign == kLanes,
              "sgemm_packed.h's panel constants disagree with the compiled path");

void PackA(const float* a, int64_t m, int64_t k, int64_t row_stride, int64_t col_stride,
           float* out) {
  const int64_t padded = CeilDiv(m, kBlock) * kBlock;
  for (int64_t b0 = 0; b0 < padded; b0 += kBlock) {
    float* block = out + b0 * k;
    int64_t kk = 0;
#if defined(ENGINE_SGEMM_AVX512)
    // 16-row blocks of a row-major A: 16 x 16 squares through
    // registers (load 16 row pieces, transpose, store 16 depths); the last,
    // partial block (e.g. rows 192..196 of ViT's 197 tokens) with zeros for
    // its rows past m. A copy, so the same floats as the element loop below.
    static_assert(kBlock == 16, "the transpose packs 16-row blocks");
    if (col_stride == 1) {
      const int64_t valid = std::min(kBlock, m - b0);
      for (; kk + 16 <= k; kk += 16) {
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i) {
          r[i] = i < valid ? _mm512_loadu_ps(a + (b0 + i) * row_stride + kk) : _mm512_setzero_ps();
        }
        Transpose16(r);
#pragma GCC unroll 16
        for (int l = 0; l < 16; ++l) _mm512_storeu_ps(block + (kk + l) * kBlock, r[l]);
      }
    }
#endif
    for (; kk < k; ++kk) {
      for (int64_t i = 0; i < kBlock; ++i) {
        const int64_t row = b0 + i;
        block[kk * kBlock + i] = row < m ? a[row * row_stride + kk * col_stride] : 0.0f;
      }
    }
  }
}

int64_t PackedBFloats(int64_t depth, int64_t j0, int64_t j1) {
  if (depth <= 0 || j1 <= j0) return 0;
  const int64_t last = j0 + (j1 - j0 - 1) / kPanel * kPanel;  // last panel's first column
  return depth * (last - j0 + SgemmPanelWidth(j1, last));
}

int64_t SgemmBlockDepth(int64_t k) { return Balanced(k, kKc); }
int64_t SgemmBlockCols() { return kNc; }

void PackB(const float* b, int64_t row_stride, int64_t col_stride, int64_t k0, int64_t k1,
           int64_t j0, int64_t j1, float* out) {
  const int64_t depth = k1 - k0;
  for (int64_t p0 = j0; p0 < j1; p0 += kPanel) {
    const int64_t w = SgemmPanelWidth(j1, p0);
    const int64_t cols = std::min(kPanel, j1 - p0);
    float* panel = out + (p0 - j0) * depth;
    for (int64_t kk = k0; kk < k1; ++kk) {
      float* dst = panel + (kk - k0) * w;
      const float* src = b + kk * row_stride + p0 * col_stride;
      if (col_stride == 1) {
        std::memcpy(dst, src, static_cast<size_t>(cols) * sizeof(float));
      } else {
        for (int64_t j = 0; j < cols; ++j) dst[j] = src[j * col_stride];
      }
      std::fill(dst + cols, dst + w, 0.0f);
    }
  }
}

void SgemmPanels(const float* a, int64_t m, int64_t k, int64_t k0, int64_t k1, int64_t m0,
                 int64_t m1, const float* b, int64_t j0, int64_t j1, float* c, int64_t ldc,
                 const SgemmEpilogue& ep) {
  if (m0 >= m1 || j0 >= j1) return;
  NTile t{};
  t.ldc = ldc;
  t.ldr = ep.ldr;
  t.act = &ep.activation;
  const int64_t depth = k1 - k0;
  const int64_t kc = depth == 0 ? 0 : Balanced(depth, kKc);
  const int64_t first_row = m0 / kMr * kMr;
  // k == 0 (or an empty block): one pass of depth 0.
  int64_t kb = k0;
  do {
    const int64_t kcur = std::min(kc, k1 - kb);
    t.kc = kcur;
    t.first = kb == 0;
    t.last = kb + kcur == k;
    for (int64_t i0 = first_row; i0 < m1; i0 += kMc) {
      const int64_t i1 = std::min(i0 + kMc, m1);
      for (int64_t p0 = j0; p0 < j1; p0 += kPanel) {
        const int64_t w = SgemmPanelWidth(j1, p0);
        t.bw = w;
        t.b = b + (p0 - j0) * depth + (kb - k0) * w;
        t.cols = static_cast<int>(std::min(kPanel, j1 - p0));
        const NKernelFn kernel = kNKernels[w / kLanes - 1];
        for (int64_t r0 = i0; r0 < i1; r0 += kMr) {
          // The whole tile is computed (rows past m are zeros in packed A);
          // rows [max(r0, m0), min(r0 + kMr, m1)) are stored.
          t.a = a + (r0 / kBlock) * kBlock * k + kb * kBlock + r0 % kBlock;
          t.c = c + r0 * ldc + p0;
          t.rs = static_cast<int>(std::max(r0, m0) - r0);
          t.re = static_cast<int>(std::min(r0 + kMr, m1) - r0);
          t.bias = ep.bias != nullptr ? ep.bias + r0 : nullptr;
          t.cbias = ep.col_bias != nullptr ? ep.col_bias + p0 : nullptr;
          t.res = ep.residual != nullptr ? ep.residual + r0 * ep.ldr + p0 : nullptr;
          kernel(t);
        }
      }
    }
    kb += kcur;
  } while (kb < k1);
}

int64_t SgemmRowsCols() { return Isa::kMaxCols; }

void SgemmPanelsDirect(const float* a, int64_t m, int64_t k, int64_t m0, int64_t m1, const float* b,
                       int64_t ldb, int64_t j0, int64_t j1, float* c, int64_t ldc,
                       const SgemmEpilogue& ep) {
  if (m0 >= m1 || j0 >= j1) return;
  NTile t{};
  t.ldc = ldc;
  t.ldr = ep.ldr;
  t.act = &ep.activation;
  t.bw = ldb;
  const int64_t kc = k == 0 ? 0 : Balanced(k, kKc);
  const int64_t first_row = m0 / kMr * kMr;
  int64_t kb = 0;
  do {
    const int64_t kcur = std::min(kc, k - kb);
    t.kc = kcur;
    t.first = kb == 0;
    t.last = kb + kcur == k;
    for (int64_t i0 = first_row; i0 < m1; i0 += kMc) {
      const int64_t i1 = std::min(i0 + kMc, m1);
      for (int64_t p0 = j0; p0 < j1; p0 += kPanel) {
        const int64_t cols = std::min(kPanel, j1 - p0);
        t.b = b + kb * ldb + p0;
        t.cols = static_cast<int>(cols);
        const NKernelFn kernel = kNKernelsDirect[CeilDiv(cols, kLanes) - 1];
        for (int64_t r0 = i0; r0 < i1; r0 += kMr) {
          t.a = a + (r0 / kBlock) * kBlock * k + kb * kBlock + r0 % kBlock;
          t.c = c + r0 * ldc + p0;
          t.rs = static_cast<int>(std::max(r0, m0) - r0);
          t.re = static_cast<int>(std::min(r0 + kMr, m1) - r0);
          t.bias = ep.bias != nullptr ? ep.bias + r0 : nullptr;
          t.cbias = ep.col_bias != nullptr ? ep.col_bias + p0 : nullptr;
          t.res = ep.residual != nullptr ? ep.residual + r0 * ep.ldr + p0 : nullptr;
          kernel(t);
        }
      }
    }
    kb += kcur;
  } while (kb < k);
}

bool SgemmPreferRows(int64_t m, int64_t n, int64_t k) {
  if (Isa::kLanes == 1) return false;
  // Column tiles pad n to whole vectors, row tiles pad m to whole vectors.
  const double col_use = static_cast<double>(n) / static_cast<double>(CeilDiv(n, kLanes) * kLanes);
  const double row_use = static_cast<double>(m) / static_cast<double>(CeilDiv(m, kLanes) * kLanes);
  if (row_use < col_use) return false;
  // Narrow products whose column tiles waste more than ~1/8.
  if (n <= 64 && col_use * 9 < 8) return true;
  // Otherwise the row kernel (C in registers over the whole depth, B
  // broadcast) is faster for deep products, and for mid-deep ones with few
  // columns; for shallow ones its transposed stores cost more than the
  // column kernel's K blocks (measured with bench/conv_bench --gemm on
  // ResNet-50's and MobileNetV2's shapes, against SgemmPanelsDirect).
  return k >= 512 || (n < 512 && k > 128);
}

void SgemmRows(const float* a, int64_t m, int64_t k, int64_t m0, int64_t m1, const float* b,
               int64_t ldb, int64_t j0, int64_t j1, float* c, int64_t ldc,
               const SgemmEpilogue& ep) {
  if (m0 >= m1 || j0 >= j1) return;
  static constexpr auto full =
      MKernelTable<Isa::kTv>(std::make_integer_sequence<int, Isa::kMaxCols>());
  static constexpr auto half =
      MKernelTable<std::max(Isa::kTv / 2, 1)>(std::make_integer_sequence<int, Isa::kMaxCols>());
  alignas(64) float buf[kMaxRowTile * Isa::kMaxCols];
  MTile t{};
  t.ldb = ldb;
  t.k = k;
  t.ldc = ldc;
  t.ldr = ep.ldr;
  t.act = &ep.activation;
  t.buf = buf;
  const int64_t n = j1 - j0;
  const int64_t groups = CeilDiv(n, Isa::kMaxCols);
  // Row tiles of kTv vectors (the last one of half as many when that
  // covers the rest); rows are computed from a multiple of kLanes, padded A
  // rows are zeros, and only rows [m0, m1) are stored.
  const int64_t padded_m = CeilDiv(m, kBlock) * kBlock;
  int64_t tile = 0;
  for (int64_t r0 = m0 / kLanes * kLanes; r0 < m1; r0 += tile) {
    // Two row vectors, or one when that covers the rest (or two would pass
    // the end of packed A).
    int tv = Isa::kTv;
    if (tv > 1 && (r0 + tv * kLanes > padded_m || r0 + tv / 2 * kLanes >= m1)) tv /= 2;
    tile = tv * kLanes;
    for (int v = 0; v < tv; ++v) {
      const int64_t row = r0 + v * kLanes;
      // k == 0: A and B hold nothing (may be null) and are not read.
      t.a[v] = k > 0 ? a + (row / kBlock) * kBlock * k + row % kBlock : a;
    }
    t.rs = static_cast<int>(std::max(r0, m0) - r0);
    t.re = static_cast<int>(std::min(r0 + tile, m1) - r0);
    for (int64_t g = 0, jj = j0; g < groups; ++g) {
      const int64_t nc = n / groups + (g < n % groups ? 1 : 0);
      t.b = k > 0 ? b + jj : b;
      t.c = c + r0 * ldc + jj;
      t.bias = ep.bias != nullptr ? ep.bias + r0 : nullptr;
      t.cbias = ep.col_bias != nullptr ? ep.col_bias + jj : nullptr;
      t.res = ep.residual != nullptr ? ep.residual + r0 * ep.ldr + jj : nullptr;
      if (tv == Isa::kTv) {
        full[nc - 1](t);
      } else {
        half[nc - 1](t);
      }
      jj += nc;
    }
  }
}

int64_t SgemmActivationsFloats(int64_t m, int64_t n, int64_t k, bool trans_b) {
  return PackedAFloats(m, k) + (trans_b ? k * n : 0);
}

void SgemmActivations(bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                      const float* b, int64_t ldb, float* c, int64_t ldc, float* workspace) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  float* a_packed = workspace;
  PackA(a, m, k, lda, 1, a_packed);
  if (trans_b) {
    // B [k, n] = the transpose of the [n, k] rows at b, written row-major
    // (blocks of 16 x 16 so both sides stay in L1).
    float* bt = workspace + PackedAFloats(m, k);
    constexpr int64_t kT = 16;
    for (int64_t j0 = 0; j0 < n; j0 += kT) {
      const int64_t j1 = std::min(j0 + kT, n);
      int64_t k0 = 0;
#if defined(ENGINE_SGEMM_AVX512)
      // Whole 16 x 16 squares through registers (a copy: the same floats).
      if (j1 - j0 == kT) {
        for (; k0 + kT <= k; k0 += kT) {
          __m512 r[16];
#pragma GCC unroll 16
          for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(b + (j0 + i) * ldb + k0);
          Transpose16(r);
#pragma GCC unroll 16
          for (int l = 0; l < 16; ++l) _mm512_storeu_ps(bt + (k0 + l) * n + j0, r[l]);
        }
      }
#endif
      for (; k0 < k; k0 += kT) {
        const int64_t k1 = std::min(k0 + kT, k);
        for (int64_t j = j0; j < j1; ++j) {
          for (int64_t kk = k0; kk < k1; ++kk) bt[kk * n + j] = b[j * ldb + kk];
        }
      }
    }
    b = bt;
    ldb = n;
  }
  const SgemmEpilogue ep;
  if (SgemmPreferRows(m, n, k)) {
    SgemmRows(a_packed, m, k, 0, m, b, ldb, 0, n, c, ldc, ep);
  } else {
    SgemmPanelsDirect(a_packed, m, k, 0, m, b, ldb, 0, n, c, ldc, ep);
  }
}

}  // namespace engine::kernels
