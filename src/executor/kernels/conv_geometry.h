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
#ifndef ENGINE_EXECUTOR_KERNELS_CONV_GEOMETRY_H_
#define ENGINE_EXECUTOR_KERNELS_CONV_GEOMETRY_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "absl/status/statusor.h"
#include "common/attributes.h"
#include "engine/types.h"

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
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t c = r / kernel_size;
    const int64_t kk = r % kernel_size;
    const int64_t t0 = kk / (p.kernel[1] * p.kernel[2]);
    const int64_t t1 = (kk / p.kernel[2]) % p.kernel[1];
    const int64_t t2 = kk % p.kernel[2];
    const int64_t off0 = t0 * p.dilation[0] - p.pad_begin[0];
    const int64_t off1 = t1 * p.dilation[1] - p.pad_begin[1];
    const int64_t off2 = t2 * p.dilation[2] - p.pad_begin[2];
    // Output columns o2 in [lo2, hi2) read inside the input along axis 2:
    // 0 <= o2 * s2 + off2 < in2.
    const int64_t lo2 = std::min(out2, off2 >= 0 ? 0 : (-off2 + s2 - 1) / s2);
    const int64_t hi2 =
        std::clamp<int64_t>(in2 - off2 <= 0 ? 0 : (in2 - off2 + s2 - 1) / s2, lo2, out2);
    const T* xc = xg + c * in_plane;
    T* dst = col + r * len;
    int64_t pos = p0;
    const int64_t end = p0 + len;
    int64_t o2 = pos % out2;
    int64_t o1 = (pos / out2) % out1;
    int64_t o0 = pos / (out2 * out1);
    while (pos < end) {
      const int64_t n = std::min(out2 - o2, end - pos);
      const int64_t i0 = o0 * p.stride[0] + off0;
      const int64_t i1 = o1 * p.stride[1] + off1;
      if (i0 < 0 || i0 >= in0 || i1 < 0 || i1 >= in1) {
        std::fill(dst, dst + n, pad);
      } else {
        const T* src = xc + (i0 * in1 + i1) * in2;
        const int64_t a = std::clamp(lo2, o2, o2 + n);  // first valid column
        const int64_t z = std::clamp(hi2, a, o2 + n);   // end of valid columns
        T* d = dst;
        std::fill(d, d + (a - o2), pad);
        d += a - o2;
        if (s2 == 1) {
          std::memcpy(d, src + a + off2, static_cast<size_t>(z - a) * sizeof(T));
        } else {
          const T* s = src + a * s2 + off2;
          for (int64_t i = 0; i < z - a; ++i) d[i] = s[i * s2];
        }
        d += z - a;
        std::fill(d, d + (o2 + n - z), pad);
      }
      dst += n;
      pos += n;
      o2 = 0;
      if (++o1 == out1) {
        o1 = 0;
        ++o0;
      }
    }
  }
}

}  // namespace engine::kernels

#endif  // ENGINE_EXECUTOR_KERNELS_CONV_GEOMETRY_H_
