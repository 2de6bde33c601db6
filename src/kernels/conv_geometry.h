// Convolution geometry shared by the float (conv.cc) and integer
// (int8_conv.cc, qlinear.cc) convolution kernels: attribute parsing with
// ONNX's output-size rules and the im2col transform.
//
//   X [N, C, D1, ..., Dk]      (k = 1, 2 or 3 spatial dims)
//   W [M, C/group, k1, ..., kk]
//   Y [N, M, O1, ..., Ok]
//
// Attributes (ONNX Operators.md#Conv): auto_pad (NOTSET, SAME_UPPER,
// SAME_LOWER, VALID), dilations, group, kernel_shape (must agree with W),
// pads [x1_begin, ..., xk_begin, x1_end, ..., xk_end], strides.
//
// Output size per spatial axis i (effective kernel ek = (k - 1) * d + 1):
//   NOTSET:          O = floor((D + pad_begin + pad_end - ek) / s) + 1
//   VALID:           O = floor((D - ek) / s) + 1 (no padding)
//   SAME_UPPER/LOWER: O = ceil(D / s); total pad = max(0, (O - 1) * s + ek - D),
//                    split evenly with the odd unit at the end (UPPER) or at
//                    the beginning (LOWER).
#ifndef ENGINE_KERNELS_CONV_GEOMETRY_H_
#define ENGINE_KERNELS_CONV_GEOMETRY_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "absl/status/statusor.h"
#include "common/attributes.h"
#include "engine/types.h"
#include "kernels/simd.h"

namespace engine::kernels {

// Largest number of spatial dimensions supported; smaller convolutions are
// normalized to 3-D by prepending unit dimensions.
inline constexpr int kMaxSpatial = 3;
using Dims3 = std::array<int64_t, kMaxSpatial>;

/// Everything derived from a convolution's attributes and the shapes of X
/// and W. Spatial geometry is normalized to 3-D: the k real spatial axes are
/// the last k entries; the leading ones are unit axes (size 1, kernel 1,
/// stride 1).
struct ConvGeometry {
  int64_t batch = 0;         // N
  int64_t in_channels = 0;   // C
  int64_t out_channels = 0;  // M
  int64_t group = 1;
  Dims3 in{1, 1, 1};
  Dims3 out{1, 1, 1};
  Dims3 kernel{1, 1, 1};
  Dims3 stride{1, 1, 1};
  Dims3 dilation{1, 1, 1};
  Dims3 pad_begin{0, 0, 0};
  Dims3 pad_end{0, 0, 0};
  Dims y_shape;

  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  int64_t out_plane() const { return out[0] * out[1] * out[2]; }
  /// K of the per-group GEMM: C/group * k1 * ... * kk.
  int64_t col_rows() const { return in_channels / group * kernel_size(); }
  /// 1x1 kernel, stride 1, no padding: X_g is its own im2col matrix.
  bool pointwise() const;
};

/// Parses the attributes of a convolution `op` ("Conv", "Int8Conv", ...) with
/// input shape `x` and weight shape `w`. Errors: InvalidArgument naming `op`
/// (bad ranks, group not dividing C and M, kernel_shape disagreeing with W,
/// an input smaller than the dilated kernel, ...), Unimplemented for more than
/// 3 spatial dims.
absl::StatusOr<ConvGeometry> ParseConvGeometry(const Attributes& attrs, const Dims& x,
                                               const Dims& w, const std::string& op);

/// The output positions o in [0, out) whose input index o * stride + offset
/// lies in [0, in): [lo, hi) with 0 <= lo <= hi <= out (stride >= 1).
struct OutputRange {
  int64_t lo = 0;
  int64_t hi = 0;
};
inline OutputRange InsideOutputs(int64_t offset, int64_t stride, int64_t in, int64_t out) {
  OutputRange r;
  r.lo = std::min(out, offset >= 0 ? 0 : (-offset + stride - 1) / stride);
  r.hi = std::clamp<int64_t>(in - offset <= 0 ? 0 : (in - offset + stride - 1) / stride, r.lo, out);
  return r;
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
/// Bits [a, b) ∩ [0, 64) of a 64-bit mask (empty when a >= b).
inline uint64_t BitRange(int64_t a, int64_t b) {
  a = std::clamp<int64_t>(a, 0, 64);
  b = std::clamp<int64_t>(b, 0, 64);
  if (a >= b) return 0;
  const uint64_t upto_b = b >= 64 ? ~uint64_t{0} : (uint64_t{1} << b) - 1;
  const uint64_t below_a = a >= 64 ? ~uint64_t{0} : (uint64_t{1} << a) - 1;
  return upto_b & ~below_a;
}
#endif

/// One run of an im2col row: dst[j] = row[(o + j) * stride + offset] when o + j
/// is in `inside` (InsideOutputs of that offset and stride), else `pad`, for
/// j < n. Only the elements of inside positions are read.
///
/// One-byte types with AVX-512BW (the 7- to 56-element runs of late layers
/// are one or two vector steps instead of a library call): stride 1 takes 64
/// positions per step, a zero-masked load of the inside ones; stride 2 takes
/// 32, the even bytes of 64 loaded zero-extended to 16 bits (inside ones
/// only) and narrowed with vpmovwb; a nonzero pad is then blended into the
/// outside ones. Masked-off lanes are never read, so positions outside the
/// input may lie outside the buffer. A pad of 0 (symmetric int8) needs no
/// blend: the masked loads zero the outside lanes.
template <typename T>
inline void GatherRun(const T* row, int64_t offset, int64_t o, int64_t n, int64_t stride,
                      OutputRange inside, T pad, T* dst) {
#if defined(__AVX512F__) && defined(__AVX512BW__)
  if constexpr (sizeof(T) == 1) {
    const char fill = static_cast<char>(pad);
    const char* src = reinterpret_cast<const char*>(row) + offset;
    char* out = reinterpret_cast<char*>(dst);
    if (stride == 1) {
      const __m512i padv = _mm512_set1_epi8(fill);
      for (int64_t j = 0; j < n; j += 64) {
        const __mmask64 all = BitRange(0, n - j);
        const __mmask64 in = BitRange(inside.lo - o - j, inside.hi - o - j) & all;
        __m512i v = _mm512_maskz_loadu_epi8(in, src + o + j);
        if (fill != 0) v = _mm512_mask_blend_epi8(in, padv, v);
        _mm512_mask_storeu_epi8(out + j, all, v);
      }
      return;
    }
    if (stride == 2) {
      constexpr uint64_t kEven = 0x5555555555555555ull;
      const __m256i padv = _mm256_set1_epi8(fill);
      for (int64_t j = 0; j < n; j += 32) {
        const int64_t k = std::min<int64_t>(32, n - j);
        const int64_t a = std::clamp<int64_t>(inside.lo - o - j, 0, k);
        const int64_t z = std::clamp<int64_t>(inside.hi - o - j, a, k);
        const __m512i w =
            _mm512_maskz_loadu_epi8(BitRange(2 * a, 2 * z) & kEven, src + 2 * (o + j));
        __m256i v = _mm512_cvtepi16_epi8(w);
        if (fill != 0) v = _mm256_mask_blend_epi8(static_cast<__mmask32>(BitRange(a, z)), padv, v);
        _mm256_mask_storeu_epi8(out + j, static_cast<__mmask32>(BitRange(0, k)), v);
      }
      return;
    }
  }
#endif
  const int64_t a = std::clamp(inside.lo, o, o + n);  // first inside position
  const int64_t z = std::clamp(inside.hi, a, o + n);  // end of inside positions
  std::fill(dst, dst + (a - o), pad);
  T* d = dst + (a - o);
  const T* s = row + a * stride + offset;
  if (stride == 1) {
    std::memcpy(d, s, static_cast<size_t>(z - a) * sizeof(T));
  } else {
    for (int64_t i = 0; i < z - a; ++i) d[i] = s[i * stride];
  }
  std::fill(d + (z - a), dst + n, pad);
}

/// Writes rows [r0, r1) x columns [p0, p0 + len) of the im2col matrix of one
/// image and group into `col` ([col_rows, len], row-major). `xg` points at the
/// group's first input channel. Row r = (c * k0 + t0) * k1 * k2 + t1 * k2 + t2
/// holds, for each output position o,
/// X[c, o0*s0 + t0*d0 - pb0, o1*s1 + t1*d1 - pb1, o2*s2 + t2*d2 - pb2], and
/// `pad` outside the input (0 for float and symmetric int8; the zero point
/// for asymmetric quantized inputs).
template <typename T>
void Im2Col(const ConvGeometry& p, const T* xg, int64_t p0, int64_t len, int64_t r0, int64_t r1,
            T* col, T pad) {
  const int64_t kernel_size = p.kernel_size();
  const int64_t in_plane = p.in_plane();
  const int64_t in0 = p.in[0], in1 = p.in[1], in2 = p.in[2];
  const int64_t out1 = p.out[1], out2 = p.out[2];
  const int64_t s2 = p.stride[2];
  const int64_t k1 = p.kernel[1], k2 = p.kernel[2];
  // Row r's channel and tap, counted up from r0's instead of divided out.
  int64_t c = r0 / kernel_size;
  int64_t t0 = r0 % kernel_size / (k1 * k2);
  int64_t t1 = r0 % (k1 * k2) / k2;
  int64_t t2 = r0 % k2;
  const int64_t first2 = p0 % out2, first1 = (p0 / out2) % out1, first0 = p0 / (out2 * out1);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t off0 = t0 * p.dilation[0] - p.pad_begin[0];
    const int64_t off1 = t1 * p.dilation[1] - p.pad_begin[1];
    const int64_t off2 = t2 * p.dilation[2] - p.pad_begin[2];
    const OutputRange inside = InsideOutputs(off2, s2, in2, out2);
    const T* xc = xg + c * in_plane;
    T* dst = col + r * len;
    int64_t pos = p0;
    const int64_t end = p0 + len;
    int64_t o2 = first2, o1 = first1, o0 = first0;
    while (pos < end) {
      const int64_t n = std::min(out2 - o2, end - pos);
      const int64_t i0 = o0 * p.stride[0] + off0;
      const int64_t i1 = o1 * p.stride[1] + off1;
      if (i0 < 0 || i0 >= in0 || i1 < 0 || i1 >= in1) {
        std::fill(dst, dst + n, pad);
      } else {
        GatherRun(xc + (i0 * in1 + i1) * in2, off2, o2, n, s2, inside, pad, dst);
      }
      dst += n;
      pos += n;
      o2 = 0;
      if (++o1 == out1) {
        o1 = 0;
        ++o0;
      }
    }
    if (++t2 == k2) {
      t2 = 0;
      if (++t1 == k1) {
        t1 = 0;
        if (++t0 == p.kernel[0]) {
          t0 = 0;
          ++c;
        }
      }
    }
  }
}

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_CONV_GEOMETRY_H_
