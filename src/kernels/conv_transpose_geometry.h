// Geometry of a transposed convolution (ONNX ConvTranspose, opset 11+), shared
// by the float32 kernel "ConvTranspose" (conv_transpose.cc), the integer layer
// "Int8ConvTranspose" (int8_layers.cc) and the builder's INT8 rewrite (which
// asks whether kernel taps overlap, builder/quantize_int8.cc).
//
//   X [N, C, D1, ..., Dk]  (k = 1, 2 or 3 spatial dims), W [C, M/group, k1, ..., kk],
//   B [M] (optional), Y [N, M, O1, ..., Ok]
//   Y[n, m, o] = B[m] + sum over c in m's group and kernel offsets t with
//                o = i * s - pad_begin + t * d of X[n, c, i] * W[c, m mod M/g, t]
// Output sizes and pads: see conv_transpose.cc (ONNX Operators.md#ConvTranspose
// and the reference implementation op_conv_transpose.py).
#ifndef ENGINE_KERNELS_CONV_TRANSPOSE_GEOMETRY_H_
#define ENGINE_KERNELS_CONV_TRANSPOSE_GEOMETRY_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/attributes.h"
#include "kernels/kernel.h"

namespace engine::kernels {

/// Parsed geometry; spatial axes right-aligned into 3 (missing leading axes
/// are 1): in/out are the input/output sizes, k the kernel, s the strides,
/// d the dilations, pb the begin pads (may be negative with output_shape).
struct ConvTransposeGeometry {
  int spatial = 2;
  int64_t n = 1, c = 1, m = 1, group = 1;
  std::array<int64_t, 3> in{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0},
      out{1, 1, 1};
  bool has_bias = false;
  Dims out_shape;  ///< [N, M, O1..Ok]

  int64_t InPlane() const { return in[0] * in[1] * in[2]; }
  int64_t OutPlane() const { return out[0] * out[1] * out[2]; }
  int64_t KernelSize() const { return k[0] * k[1] * k[2]; }

  /// Whether two different kernel taps can add into the same output element
  /// (some axis has taps t1 != t2 and inputs i1, i2 in range with
  /// i1 * s + t1 * d == i2 * s + t2 * d). Without overlap every output element
  /// is one element of the per-position product W^T X (or only the bias).
  bool TapsOverlap() const;
};

/// One output phase of one spatial axis of a transposed convolution: the
/// output positions o = phase + q * s (q = 0 .. outputs - 1) and the kernel
/// taps that land on them. Sub-pixel decomposition (Shi et al., "Real-Time
/// Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
/// Convolutional Neural Network", CVPR 2016, section 2.2: a stride-s
/// transposed convolution equals s^d stride-1 convolutions with the kernel
/// taps of each output phase, whose outputs interleave): along this axis
///   Y[phase + q * s] = sum_{u = 0 .. taps - 1} X[q + first_input - u * input_dilation]
///                      * W[first_tap + u * tap_step]
/// (input indices outside [0, in) contribute nothing: the convolution's
/// padding). Every output element of the phase is one complete sum.
struct TransposedConvAxisPhase {
  int64_t phase = 0;           ///< output residue modulo the stride, in [0, s)
  int64_t outputs = 0;         ///< output positions of this phase, ceil((O - phase) / s)
  int64_t taps = 0;            ///< kernel taps landing on it (0: the outputs are the bias)
  int64_t first_tap = 0;       ///< smallest such tap index
  int64_t tap_step = 1;        ///< distance between them, s / gcd(s, d)
  int64_t first_input = 0;     ///< input index of q = 0 at first_tap, (phase + pb - first_tap * d) / s
  int64_t input_dilation = 1;  ///< input distance between taps, d / gcd(s, d)
};

/// The s[axis] phases of spatial axis `axis` (0..2, right-aligned as in
/// ConvTransposeGeometry) in phase order. Sum over phases of outputs = out[axis];
/// sum of taps = k[axis] (each tap lands on exactly one phase).
std::vector<TransposedConvAxisPhase> AxisPhases(const ConvTransposeGeometry& g, int axis);

/// Parses the ConvTranspose attributes (auto_pad, dilations, group,
/// kernel_shape, output_padding, output_shape, pads, strides) against the
/// input descriptors X, W and optional B ("" dtypes are not checked here: the
/// float and integer layers check their own). `op` names the layer type in
/// messages. Errors: InvalidArgument for inconsistent ranks, channels,
/// kernel_shape, output_shape or a non-positive output size; Unimplemented
/// for more than 3 spatial axes.
absl::StatusOr<ConvTransposeGeometry> ParseConvTransposeGeometry(const Attributes& attrs,
                                                                 std::span<const TensorInfo> inputs,
                                                                 const std::string& op);

/// Scatter-adds (col2im) the KernelSize() rows of one output channel's
/// product block `col` ([K kernel offsets, cols] row-major, cols = (r1 - r0)
/// * in[2] positions: input rows [r0, r1) of the image, a row being one
/// (d1, d2) pair) into that channel's output plane `plane` ([O1*O2*O3]).
/// T is float (float32 layer) or uint32_t (int32 accumulators added in
/// two's complement without signed overflow). Offsets whose output position
/// falls outside the plane are dropped (pads).
template <typename T>
void Col2ImPlane(const ConvTransposeGeometry& p, const T* col, int64_t cols, int64_t r0, int64_t r1,
                 T* plane) {
  const int64_t OD = p.out[0], OH = p.out[1], OW = p.out[2];
  const int64_t IH = p.in[1], IW = p.in[2];
  const int64_t sw = p.s[2];
  int64_t t = 0;
  for (int64_t kd = 0; kd < p.k[0]; ++kd) {
    for (int64_t kh = 0; kh < p.k[1]; ++kh) {
      for (int64_t kw = 0; kw < p.k[2]; ++kw, ++t) {
        const T* crow = col + t * cols;
        const int64_t off_w = kw * p.d[2] - p.pb[2];
        // iw range with 0 <= iw * sw + off_w < OW.
        const int64_t iw0 = off_w >= 0 ? 0 : (-off_w + sw - 1) / sw;
        const int64_t iw1 = OW - off_w <= 0 ? 0 : std::min(IW, (OW - off_w + sw - 1) / sw);
        if (iw0 >= iw1) continue;
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t id = r / IH, ih = r % IH;
          const int64_t od = id * p.s[0] - p.pb[0] + kd * p.d[0];
          const int64_t oh = ih * p.s[1] - p.pb[1] + kh * p.d[1];
          if (od < 0 || od >= OD || oh < 0 || oh >= OH) continue;
          const T* src = crow + (r - r0) * IW;
          T* dst = plane + (od * OH + oh) * OW;
          if (sw == 1) {
            for (int64_t iw = iw0; iw < iw1; ++iw) dst[iw + off_w] += src[iw];
          } else {
            for (int64_t iw = iw0; iw < iw1; ++iw) dst[iw * sw + off_w] += src[iw];
          }
        }
      }
    }
  }
}

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_CONV_TRANSPOSE_GEOMETRY_H_
