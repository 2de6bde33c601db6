// The engine's INT8 layers, created by the builder's quantization pass
// (src/optimizer/passes/quantize_int8.cc) and executed exactly as the modeled
// accelerator computes them (src/common/requant.h defines the arithmetic).
//
// Int8Conv: a convolution (geometry and attributes as ONNX Conv, see
// conv_geometry.h) in integer arithmetic:
//   X int8 [N, C, D1..Dk], W int8 [M, C/group, k1..kk] (constant),
//   B int32 [M] (optional), R int8 [N, M, O1..Ok] (optional input 3: residual)
//   acc[n, m, o] = B[m] + sum_{c, t} X[n, c, o*s + t*d - pad] * W[m, c, t]   (int32)
//   Y[n, m, o]   = clamp(Requantize(acc, multiplier[m], shift[m])
//                        + Requantize(R[n, m, o], residual_multiplier, residual_shift),
//                        output_min, output_max)                             (int8)
// Attributes: the Conv attributes plus "multiplier" and "shift" (ints, one per
// output channel M: the Q31 multiplier and right shift of x_scale * w_scale[m]
// / y_scale), "residual_multiplier" / "residual_shift" (ints, r_scale /
// y_scale; required with R), "output_min" / "output_max" (ints in [-128, 127],
// default the full range; a fused Relu sets output_min = 0, a fused Clip its
// quantized bounds). Padding reads "x_zero_point" (int in [-128, 127], default
// 0: symmetric int8), the input's zero point, so that a padded tap is the real
// value 0; the builder folds -x_zero_point * sum(W[m]) into B[m], so acc is
// sum((X - x_zero_point) * W) + B exactly. "y_zero_point" (int in [-128, 127],
// default 0) is added to every requantized (or float-epilogue quantized)
// value before the output_min/output_max clamp, which is in the same int8
// units (explicit quantization, builder/explicit_quantization.h).
//
// Float output: with the attribute "output_scale" (floats, one per output
// channel: x_scale * w_scale[m]) the accumulators are dequantized instead:
//   Y[n, m, o] = min(max(float(acc) * output_scale[m]
//                        + float(R[n, m, o]) * residual_scale, output_min_float),
//                    output_max_float)                                      (float32)
// then, for a fused activation without an exact integer form (attribute
// "activation": Sigmoid, Tanh, LeakyRelu, HardSigmoid, HardSwish, Swish, Gelu, with
// "activation_alpha"/"activation_beta" as on Conv), that activation in float32
// (kernel_util.h, ApplyActivation), in float32 arithmetic (the builder uses it for layers whose output only
// FP32 layers or engine outputs read: no output clipping, no dequantize layer).
//
// Float epilogue with an int8 output (attributes "epilogue_scale", per output
// channel x_scale * w_scale[m], and "y_scale"), for a fused activation
// without an exact integer form:
//   v = act(float(acc) * epilogue_scale[m] + float(R) * residual_scale)     (float32)
//   Y = clamp(saturate(round_half_even(v / y_scale)), output_min, output_max) (int8)
// bit-identical to the float output form followed by the activation layer
// and a QuantizeLinear (kernels/quantize.h).
//
// Int8Gemm: a fully connected layer in integer arithmetic:
//   X int8 [R0, ..., K] (leading dims flattened to rows), W int8 [N, K]
//   (constant, one row per output channel), B int32 [N] (optional),
//   R int8 [R0, ..., N] (optional input 3: the residual fuse-residual folds
//   into a Gemm, e.g. BERT's x + Dense(...) before each LayerNorm)
//   Y int8 [R0, ..., N] = clamp(Requantize(B + X * W^T, multiplier[n], shift[n])
//                               + Requantize(R, residual_multiplier, residual_shift)
//                               + y_zero_point, output_min, output_max)
// with the same attributes as Int8Conv, the residual included: the residual
// is requantized from its own scale to the output's (r_scale / y_scale as a
// Q31 multiplier and shift) and added to the requantized product before the
// one clamp, as Int8Conv's epilogue (float output / float epilogue forms:
// + float(R) * residual_scale before the clamp or activation).
//
// Int8ConvTranspose: a transposed convolution (geometry and attributes as
// ONNX ConvTranspose, conv_transpose_geometry.h) in integer arithmetic:
//   X int8 [N, C, D1..Dk], W int8 [C, M/group, k1..kk] (constant, one scale per
//   output channel g * M/group + j over W[c in group g, j, ...]), B int32 [M]
//   acc[n, m, o] = B[m] + sum over c in m's group and taps t with
//                  o = i * s - pad_begin + t * d of X[n, c, i] * W[c, m mod M/g, t]  (int32)
//   Y[n, m, o]   = clamp(Requantize(acc, multiplier[m], shift[m]) + y_zero_point,
//                        output_min, output_max)                               (int8)
// with Int8Conv's epilogue attributes (float output "output_scale", float
// epilogue "epilogue_scale"; no residual, no input zero point). The sum is
// complete before the single requantization, so overlapping taps (kernel >
// stride) are exact too. (The modeled accelerator computes the same int32
// sums as one convolution per output phase, ops/resample.cc; integer sums
// do not depend on the order, so the outputs are identical.)
//
// Both pack W once at Prepare (igemm.h) and compute the int32 products with
// Igemm; the convolution builds int8 im2col tiles in the scratch (a 1x1,
// stride-1, unpadded convolution reads X directly) and requantizes each int32
// tile while it is hot in cache. Depthwise convolutions (one input channel per
// group) accumulate tap by tap over the zero-padded input plane split into
// stride phases, one contiguous int16 x int32 multiply-add per tap. Work is split
// over output tiles and row blocks; integer results do not depend on the split.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/requant.h"
#include "common/status_macros.h"
#include "kernels/conv_geometry.h"
#include "kernels/conv_transpose_geometry.h"
#include "kernels/defs.h"
#include "kernels/igemm.h"
#include "kernels/kernel_util.h"
#include "kernels/quantize.h"
#include "kernels/simd.h"

namespace engine::kernels {
namespace {

// Output positions per im2col tile (columns of one Igemm call).
constexpr int64_t kTileColumns = 512;
// Fewest output positions a thread takes when Int8Conv splits a tile's
// columns over threads.
constexpr int64_t kMinSplitColumns = 16;
// Rows of one work item when a layer has too few tiles to keep threads busy.
constexpr int64_t kMinRowBlock = 64;

// Igemm computes rows in blocks of 16: row ranges start on them.
inline int64_t RoundUp16(int64_t v) { return (v + 15) / 16 * 16; }

// The requantization attributes shared by Int8Conv and Int8Gemm.
struct Requant {
  std::vector<int32_t> multiplier;  // per output channel
  std::vector<int32_t> shift;
  int32_t residual_multiplier = 0;
  int32_t residual_shift = 1;
  int32_t lo = -128, hi = 127;
  // Output zero point (attribute "y_zero_point", in [-128, 127], default 0):
  // added to the requantized value before the [lo, hi] clamp (explicit
  // quantization with an asymmetric output; ONNX QuantizeLinear's "+ zp").
  int32_t y_zero_point = 0;
  // Float output (attribute "output_scale"): the accumulators are dequantized
  // instead of requantized.
  bool float_out = false;
  std::vector<float> out_scale;  // per output channel: x_scale * w_scale[c]
  float residual_scale = 0.0f;
  float fmin = -INFINITY, fmax = INFINITY;
  // Float output only: a fused activation without an exact integer form
  // (Sigmoid, Tanh, LeakyRelu, HardSigmoid, HardSwish, Swish), applied in
  // float32 after the clamp; Relu and Clip are the clamp itself.
  Activation act;
  bool float_act = false;
  // Int8 output through a float epilogue (attribute "epilogue_scale"): the
  // accumulators are dequantized (epilogue_scale[c] = x_scale * w_scale[c]),
  // the float activation applied, and the result quantized to y_scale as
  // QuantizeLinear does (kernels/quantize.h), then clamped to [lo, hi].
  bool float_epilogue = false;
  float y_scale = 1.0f;
};

// Per-channel float scales (> 0, finite), one per output channel.
absl::StatusOr<std::vector<float>> ParseChannelScales(const Attributes& attrs,
                                                      const std::string& name, int64_t channels,
                                                      const std::string& op) {
  ENGINE_ASSIGN_OR_RETURN(std::vector<float> v, attrs.GetFloats(name));
  if (static_cast<int64_t>(v.size()) != channels) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": attribute ", name,
                                                   " needs one value per output channel (",
                                                   channels, "), got ", v.size()));
  }
  for (float x : v) {
    if (!(x > 0.0f) || !std::isfinite(x)) {
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": ", name, " ", x, " is not finite and > 0"));
    }
  }
  return v;
}

// residual_scale (> 0, finite), required with a residual input in the
// float-output and float-epilogue forms.
absl::StatusOr<float> ParseResidualScale(const Attributes& attrs, const std::string& op) {
  ENGINE_ASSIGN_OR_RETURN(float scale, attrs.GetFloat("residual_scale", -1.0f));
  if (!(scale > 0.0f) || !std::isfinite(scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": a residual input needs residual_scale > 0"));
  }
  return scale;
}

// The fused activation; float_act when it has no exact integer form (Relu and
// Clip are the output clamp).
absl::Status ParseFloatActivation(const Attributes& attrs, Requant& r) {
  ENGINE_ASSIGN_OR_RETURN(r.act, ParseActivation(attrs));
  using Kind = Activation::Kind;
  r.float_act = r.act.kind != Kind::kNone && r.act.kind != Kind::kRelu && r.act.kind != Kind::kClip;
  return absl::OkStatus();
}

// output_min / output_max: the int8 output clamp within [-128, 127].
absl::Status ParseOutputRange(const Attributes& attrs, const std::string& op, Requant& r) {
  ENGINE_ASSIGN_OR_RETURN(int64_t lo, attrs.GetInt("output_min", -128));
  ENGINE_ASSIGN_OR_RETURN(int64_t hi, attrs.GetInt("output_max", 127));
  if (lo < -128 || hi > 127 || lo > hi) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": output range [", lo, ", ", hi,
                                                   "] is not within [-128, 127]"));
  }
  r.lo = static_cast<int32_t>(lo);
  r.hi = static_cast<int32_t>(hi);
  ENGINE_ASSIGN_OR_RETURN(int64_t zp, attrs.GetInt("y_zero_point", 0));
  if (zp < -128 || zp > 127) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": y_zero_point ", zp, " is not within [-128, 127]"));
  }
  r.y_zero_point = static_cast<int32_t>(zp);
  return absl::OkStatus();
}

absl::StatusOr<Requant> ParseRequant(const Attributes& attrs, int64_t channels, bool residual,
                                     const std::string& op) {
  Requant r;
  if (attrs.Has("epilogue_scale")) {
    r.float_epilogue = true;
    ENGINE_ASSIGN_OR_RETURN(r.out_scale, ParseChannelScales(attrs, "epilogue_scale", channels, op));
    ENGINE_ASSIGN_OR_RETURN(r.y_scale, attrs.GetFloat("y_scale", -1.0f));
    if (!(r.y_scale > 0.0f) || !std::isfinite(r.y_scale)) {
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": a float epilogue needs y_scale > 0, got ", r.y_scale));
    }
    if (residual) {
      ENGINE_ASSIGN_OR_RETURN(r.residual_scale, ParseResidualScale(attrs, op));
    }
    ENGINE_RETURN_IF_ERROR(ParseFloatActivation(attrs, r));
    ENGINE_RETURN_IF_ERROR(ParseOutputRange(attrs, op, r));
    return r;
  }
  if (attrs.Has("output_scale")) {
    r.float_out = true;
    ENGINE_ASSIGN_OR_RETURN(r.out_scale, ParseChannelScales(attrs, "output_scale", channels, op));
    if (residual) {
      ENGINE_ASSIGN_OR_RETURN(r.residual_scale, ParseResidualScale(attrs, op));
    }
    ENGINE_ASSIGN_OR_RETURN(r.fmin, attrs.GetFloat("output_min_float", -INFINITY));
    ENGINE_ASSIGN_OR_RETURN(r.fmax, attrs.GetFloat("output_max_float", INFINITY));
    ENGINE_RETURN_IF_ERROR(ParseFloatActivation(attrs, r));
    return r;
  }
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> m, attrs.GetInts("multiplier", {}));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> s, attrs.GetInts("shift", {}));
  if (static_cast<int64_t>(m.size()) != channels || static_cast<int64_t>(s.size()) != channels) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": attributes multiplier and shift need one value per output channel (", channels,
        "), got ", m.size(), " and ", s.size()));
  }
  for (int64_t c = 0; c < channels; ++c) {
    if (m[c] < 0 || m[c] > INT32_MAX || s[c] < 1 || s[c] > 62) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": requantization of channel ", c, " (multiplier ", m[c], ", shift ", s[c],
          ") is outside multiplier in [0, 2^31), shift in [1, 62]"));
    }
    r.multiplier.push_back(static_cast<int32_t>(m[c]));
    r.shift.push_back(static_cast<int32_t>(s[c]));
  }
  if (residual) {
    ENGINE_ASSIGN_OR_RETURN(int64_t rm, attrs.GetInt("residual_multiplier", -1));
    ENGINE_ASSIGN_OR_RETURN(int64_t rs, attrs.GetInt("residual_shift", -1));
    if (rm < 0 || rm > INT32_MAX || rs < 1 || rs > 62) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": a residual input needs residual_multiplier in [0, 2^31) and residual_shift in "
              "[1, 62], got ",
          rm, " and ", rs));
    }
    r.residual_multiplier = static_cast<int32_t>(rm);
    r.residual_shift = static_cast<int32_t>(rs);
  }
  ENGINE_RETURN_IF_ERROR(ParseOutputRange(attrs, op, r));
  return r;
}

// a + b in 32-bit two's complement, as the accumulator adds (no UB on overflow).
inline int32_t AddWrapping(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
// Requantize of 8 int32 lanes (sign-extended to int64) by (m, s): the same
// 64-bit product, rounding constant and arithmetic shift as Requantize
// (vpmuldq multiplies the low signed 32 bits of each 64-bit lane exactly).
inline __m512i RequantizeLanes(__m512i v64, __m512i m, __m512i round, __m128i shift) {
  return _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(v64, m), round), shift);
}
#endif

// y[r][i] = clamp(Requantize(acc[r][i] + bias) [+ Requantize(res[r][i])], lo,
// hi) for r < rows, i < n, output channel c; row r of acc, res and y starts
// at acc + r * acc_stride, res + r * res_stride, y + r * y_stride; `res` may
// be nullptr. With AVX-512 16 elements per step in the same 64-bit integer
// arithmetic (bit-identical to the scalar loop, the path without AVX-512),
// the constants set up once for all rows (a depthwise plane is 7 to 112
// short rows).
inline void RequantizeRows(const Requant& q, int64_t c, int32_t bias, const int32_t* acc,
                           int64_t acc_stride, const int8_t* res, int64_t res_stride, int8_t* y,
                           int64_t y_stride, int64_t rows, int64_t n) {
  const int32_t m = q.multiplier[c], s = q.shift[c];
  const int32_t rm = q.residual_multiplier, rs = q.residual_shift;
  const int32_t lo = q.lo, hi = q.hi, zp = q.y_zero_point;
#if defined(__AVX512F__) && defined(__AVX512BW__)
  const __m512i vzp = _mm512_set1_epi64(zp);
  const __m512i vm = _mm512_set1_epi64(m);
  const __m512i vround = _mm512_set1_epi64(int64_t{1} << (s - 1));
  const __m128i vs = _mm_cvtsi32_si128(s);
  const __m512i vrm = _mm512_set1_epi64(rm);
  const __m512i vrround = _mm512_set1_epi64(int64_t{1} << (rs - 1));
  const __m128i vrs = _mm_cvtsi32_si128(rs);
  const __m512i vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
  const __m512i vbias = _mm512_set1_epi32(bias);
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a_row = acc + r * acc_stride;
    const int8_t* r_row = res != nullptr ? res + r * res_stride : nullptr;
    int8_t* y_row = y + r * y_stride;
    // The last step is masked: rows of 7 or 14 columns are one step.
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 k = static_cast<__mmask16>(n - i >= 16 ? 0xffff : (1u << (n - i)) - 1);
      // acc + bias wraps in int32, as AddWrapping.
      const __m512i a = _mm512_add_epi32(_mm512_maskz_loadu_epi32(k, a_row + i), vbias);
      __m512i v0 =
          RequantizeLanes(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(a)), vm, vround, vs);
      __m512i v1 =
          RequantizeLanes(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(a, 1)), vm, vround, vs);
      if (r_row != nullptr) {
        const __m128i rv = _mm_maskz_loadu_epi8(k, r_row + i);
        v0 = _mm512_add_epi64(v0, RequantizeLanes(_mm512_cvtepi8_epi64(rv), vrm, vrround, vrs));
        v1 = _mm512_add_epi64(
            v1, RequantizeLanes(_mm512_cvtepi8_epi64(_mm_srli_si128(rv, 8)), vrm, vrround, vrs));
      }
      v0 = _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(v0, vzp), vlo), vhi);
      v1 = _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(v1, vzp), vlo), vhi);
      // Each lane is in [lo, hi] within [-128, 127]: narrowing keeps it.
      const __m128i b0 = _mm512_cvtepi64_epi8(v0);
      const __m128i b1 = _mm512_cvtepi64_epi8(v1);
      _mm_mask_storeu_epi8(y_row + i, k, _mm_unpacklo_epi64(b0, b1));
    }
  }
#else
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a_row = acc + r * acc_stride;
    int8_t* y_row = y + r * y_stride;
    if (res == nullptr) {
      for (int64_t i = 0; i < n; ++i) {
        y_row[i] = static_cast<int8_t>(
            std::clamp<int64_t>(Requantize(AddWrapping(a_row[i], bias), m, s) + zp, lo, hi));
      }
      continue;
    }
    const int8_t* r_row = res + r * res_stride;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v =
          Requantize(AddWrapping(a_row[i], bias), m, s) + Requantize(r_row[i], rm, rs) + zp;
      y_row[i] = static_cast<int8_t>(std::clamp<int64_t>(v, lo, hi));
    }
  }
#endif
}

// The float-output form: y[i] = min(max(float(acc[i] + bias) * out_scale[c]
// [+ float(res[i]) * residual_scale], fmin), fmax), in float32 arithmetic.
inline void DequantizeRow(const Requant& q, int64_t c, int32_t bias, const int32_t* __restrict acc,
                          const int8_t* __restrict res, float* __restrict y, int64_t n) {
  const float s = q.out_scale[c];
  for (int64_t i = 0; i < n; ++i) {
    float v = static_cast<float>(AddWrapping(acc[i], bias)) * s;
    if (res != nullptr) v += static_cast<float>(res[i]) * q.residual_scale;
    y[i] = std::min(std::max(v, q.fmin), q.fmax);
  }
  if (q.float_act) ApplyActivation(q.act, y, y, n);
}

// The float epilogue with an int8 output: v = float(acc[i] + bias) *
// out_scale[c] [+ float(res[i]) * residual_scale], the activation in float32,
// then y[i] = clamp(saturate(round_half_even(v / y_scale)), lo, hi), as a
// DequantizeLinear, the activation layer and a QuantizeLinear would compute.
inline void FloatEpilogueRow(const Requant& q, int64_t c, int32_t bias,
                             const int32_t* __restrict acc, const int8_t* __restrict res,
                             int8_t* __restrict y, int64_t n) {
  constexpr int64_t kChunk = 256;
  float v[kChunk];
  const float s = q.out_scale[c];
  for (int64_t b = 0; b < n; b += kChunk) {
    const int64_t m = std::min(kChunk, n - b);
    for (int64_t i = 0; i < m; ++i) {
      v[i] = static_cast<float>(AddWrapping(acc[b + i], bias)) * s;
      if (res != nullptr) v[i] += static_cast<float>(res[b + i]) * q.residual_scale;
    }
    if (q.float_act) ApplyActivation(q.act, v, v, m);
    QuantizeInt8(v, m, q.y_scale, q.y_zero_point, y + b);
    for (int64_t i = 0; i < m; ++i) {
      y[b + i] = static_cast<int8_t>(std::clamp<int32_t>(y[b + i], q.lo, q.hi));
    }
  }
}

// The epilogue of `rows` rows of n outputs of channel c: requantized int8,
// dequantized float32, or int8 through a float epilogue into `y` (the
// layer's output) at element offset `off`, row r at off + r * y_stride; acc
// and res rows as in RequantizeRows.
inline void StoreRows(const Requant& q, int64_t c, int32_t bias, const int32_t* acc,
                      int64_t acc_stride, const int8_t* res, int64_t res_stride, void* y,
                      int64_t off, int64_t y_stride, int64_t rows, int64_t n) {
  if (q.float_out) {
    for (int64_t r = 0; r < rows; ++r) {
      DequantizeRow(q, c, bias, acc + r * acc_stride,
                    res != nullptr ? res + r * res_stride : nullptr,
                    static_cast<float*>(y) + off + r * y_stride, n);
    }
  } else if (q.float_epilogue) {
    for (int64_t r = 0; r < rows; ++r) {
      FloatEpilogueRow(q, c, bias, acc + r * acc_stride,
                       res != nullptr ? res + r * res_stride : nullptr,
                       static_cast<int8_t*>(y) + off + r * y_stride, n);
    }
  } else {
    RequantizeRows(q, c, bias, acc, acc_stride, res, res_stride, static_cast<int8_t*>(y) + off,
                   y_stride, rows, n);
  }
}

// One output row (StoreRows with rows = 1).
inline void StoreRow(const Requant& q, int64_t c, int32_t bias, const int32_t* acc,
                     const int8_t* res, void* y, int64_t off, int64_t n) {
  StoreRows(q, c, bias, acc, 0, res, 0, y, off, 0, 1, n);
}

absl::Status CheckDtype(const TensorInfo& t, DataType want, const std::string& op,
                        const char* what) {
  if (t.dtype != want) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": ", what, " must be ",
                                                   DataTypeName(want), ", got ",
                                                   DataTypeName(t.dtype)));
  }
  return absl::OkStatus();
}

// dst[j] = from[j * kStride] for j < n, int8 widened to int16 (kStride 1 or
// 2). With AVX-512BW 32 elements per step under a mask, so that the short rows
// of late layers (7 to 28 columns) are one step too; stride 2 loads the
// 2n - 1 bytes as 16-bit words and sign-extends their low bytes.
template <int kStride>
inline void WidenRow(const int8_t* __restrict from, int16_t* __restrict dst, int64_t n) {
  static_assert(kStride == 1 || kStride == 2);
#if defined(__AVX512F__) && defined(__AVX512BW__)
  for (int64_t j = 0; j < n; j += 32) {
    const int64_t k = std::min<int64_t>(32, n - j);
    const __mmask32 m = static_cast<__mmask32>(k == 32 ? ~uint32_t{0} : (uint32_t{1} << k) - 1);
    __m512i v;
    if constexpr (kStride == 1) {
      v = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, from + j));
    } else {
      const __mmask64 mb = static_cast<__mmask64>((uint64_t{1} << (2 * k - 1)) - 1);
      const __m512i w = _mm512_maskz_loadu_epi8(mb, from + 2 * j);
      v = _mm512_srai_epi16(_mm512_slli_epi16(w, 8), 8);
    }
    _mm512_mask_storeu_epi16(dst + j, m, v);
  }
#else
  for (int64_t j = 0; j < n; ++j) dst[j] = from[j * kStride];
#endif
}

// acc[i] = bias + sum over the nine taps of w[t] * tap[t][i], exactly: every
// product of an int8 weight in [-127, 127] and an int8 input fits in int16
// (|w x| <= 16256), and so does the sum of two (<= 32512), so the taps are
// multiplied and added in pairs in 16-bit lanes and widened once per pair.
void Taps3x3Int8(const int16_t* const* tap, const int16_t* w, int32_t bias, int32_t* __restrict acc,
                 int64_t n) {
  const int16_t* __restrict t0 = tap[0];
  const int16_t* __restrict t1 = tap[1];
  const int16_t* __restrict t2 = tap[2];
  const int16_t* __restrict t3 = tap[3];
  const int16_t* __restrict t4 = tap[4];
  const int16_t* __restrict t5 = tap[5];
  const int16_t* __restrict t6 = tap[6];
  const int16_t* __restrict t7 = tap[7];
  const int16_t* __restrict t8 = tap[8];
  const int16_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6],
                w7 = w[7], w8 = w[8];
  auto pair = [](int16_t wa, int16_t a, int16_t wb, int16_t b) {
    return static_cast<int16_t>(static_cast<int16_t>(wa * a) + static_cast<int16_t>(wb * b));
  };
  for (int64_t i = 0; i < n; ++i) {
    acc[i] = bias + pair(w0, t0[i], w1, t1[i]) + pair(w2, t2[i], w3, t3[i]) +
             pair(w4, t4[i], w5, t5[i]) + pair(w6, t6[i], w7, t7[i]) +
             static_cast<int16_t>(w8 * t8[i]);
  }
}

// Prepare's checks shared by both layers: one output of the inferred shape
// and dtype, constant weights (input 1).
absl::Status CheckPrepared(const std::string& op, const Requant& q, const Dims& y_shape,
                           std::span<const TensorInfo> inputs,
                           std::span<const TensorInfo> outputs) {
  const DataType out_dtype = q.float_out ? DataType::kFloat32 : DataType::kInt8;
  if (outputs.size() != 1 || outputs[0].shape != y_shape || outputs[0].dtype != out_dtype) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": the output must be ", DataTypeName(out_dtype), " ", ShapeString(y_shape)));
  }
  if (inputs[1].constant == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": W must be a constant"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Int8Conv

struct Int8ConvParams : ConvGeometry {
  bool has_bias = false;
  bool has_residual = false;
  // The value padding reads (attribute "x_zero_point", in [-128, 127],
  // default 0): the input's zero point, so that a padded position is the real
  // value 0 (explicit quantization with an asymmetric input).
  int8_t x_zero_point = 0;
  Requant requant;
};

absl::StatusOr<Int8ConvParams> ParseInt8Conv(const Attributes& attrs,
                                             std::span<const TensorInfo> inputs) {
  const std::string op = "Int8Conv";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 4, op));
  ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[0], DataType::kInt8, op, "X"));
  ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[1], DataType::kInt8, op, "W"));
  Int8ConvParams p;
  ENGINE_ASSIGN_OR_RETURN(static_cast<ConvGeometry&>(p),
                          ParseConvGeometry(attrs, inputs[0].shape, inputs[1].shape, op));
  p.has_bias = inputs.size() > 2 && inputs[2].present;
  if (p.has_bias) {
    ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[2], DataType::kInt32, op, "B"));
    if (inputs[2].shape != Dims{p.out_channels}) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": B has shape ",
                                                     ShapeString(inputs[2].shape), ", expected [",
                                                     p.out_channels, "]"));
    }
  }
  p.has_residual = inputs.size() > 3 && inputs[3].present;
  if (p.has_residual) {
    ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[3], DataType::kInt8, op, "residual (input 3)"));
    if (inputs[3].shape != p.y_shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": residual (input 3) has shape ", ShapeString(inputs[3].shape), ", expected ",
          ShapeString(p.y_shape)));
    }
  }
  ENGINE_ASSIGN_OR_RETURN(p.requant, ParseRequant(attrs, p.out_channels, p.has_residual, op));
  ENGINE_ASSIGN_OR_RETURN(int64_t xzp, attrs.GetInt("x_zero_point", 0));
  if (xzp < -128 || xzp > 127) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": x_zero_point ", xzp, " is not within [-128, 127]"));
  }
  p.x_zero_point = static_cast<int8_t>(xzp);
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferInt8Conv(const Attributes& attrs,
                                                      std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(Int8ConvParams p, ParseInt8Conv(attrs, inputs));
  return std::vector<TensorInfo>{
      MakeInfo(p.requant.float_out ? DataType::kFloat32 : DataType::kInt8, p.y_shape)};
}

class Int8ConvKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseInt8Conv(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckPrepared("Int8Conv", p_.requant, p_.y_shape, inputs, outputs));
    cg_ = p_.in_channels / p_.group;
    mg_ = p_.out_channels / p_.group;
    k_ = p_.col_rows();
    plane_ = p_.out_plane();
    in_plane_ = p_.in_plane();
    pointwise_ = p_.pointwise();
    depthwise_ = p_.group > 1 && cg_ == 1 && p_.in[0] == 1 && p_.kernel[0] == 1 &&
                 p_.pad_begin[0] == 0 && p_.pad_end[0] == 0;
    const int8_t* w = inputs[1].constant->data_as<int8_t>();
    if (depthwise_) {
      weights_.assign(w, w + p_.out_channels * k_);
      // The zero-padded input plane split into stride[1] x stride[2] phases
      // (every stride-th row and column), dw_rows_ x dw_cols_ each, so that
      // every tap is one contiguous multiply-add over the output plane
      // (computed dw_cols_ wide; the extra columns are dropped), as the FP32
      // depthwise kernel does.
      const int64_t padded1 = p_.in[1] + p_.pad_begin[1] + p_.pad_end[1];
      const int64_t padded2 = p_.in[2] + p_.pad_begin[2] + p_.pad_end[2];
      dw_rows_ = (padded1 + p_.stride[1] - 1) / p_.stride[1];
      dw_cols_ = (padded2 + p_.stride[2] - 1) / p_.stride[2];
      padded_rows_ = p_.stride[1] * p_.stride[2] * dw_rows_;  // phase rows, all phases
      padded_cols_ = dw_cols_;
      dw_col_range_.clear();
      for (int64_t r2 = 0; r2 < p_.stride[2]; ++r2) {
        dw_col_range_.push_back(
            InsideOutputs(r2 - p_.pad_begin[2], p_.stride[2], p_.in[2], dw_cols_));
      }
      // Per thread: the padded plane (int16) and the int32 accumulators.
      scratch_.per_thread = ScratchLayout::Align(padded_rows_ * padded_cols_ * sizeof(int16_t)) +
                            static_cast<size_t>(p_.out[1] * dw_cols_) * sizeof(int32_t);
      return absl::OkStatus();
    }
    packed_.clear();
    for (int64_t g = 0; g < p_.group; ++g) {
      packed_.push_back(PackedInt8Matrix::Pack(w + g * mg_ * k_, mg_, k_, k_));
    }
    // Equal tiles of at most kTileColumns output positions (a multiple of 16
    // when there are several).
    tiles_ = plane_ == 0 ? 0 : (plane_ + kTileColumns - 1) / kTileColumns;
    tile_ = tiles_ <= 1 ? std::max<int64_t>(plane_, 1) : RoundUp16((plane_ + tiles_ - 1) / tiles_);
    tiles_ = plane_ == 0 ? 0 : (plane_ + tile_ - 1) / tile_;
    // Too few tiles for the threads: Run splits each tile's columns (each
    // thread builds and packs only its own columns). Planes too small for
    // that split the rows (output channels) instead.
    row_block_ = mg_;
    if (tiles_ * p_.batch * p_.group < 8 && plane_ < 2 * kMinSplitColumns &&
        mg_ >= 2 * kMinRowBlock) {
      const int64_t blocks = std::min<int64_t>(8, mg_ / kMinRowBlock);
      row_block_ = RoundUp16((mg_ + blocks - 1) / blocks);
    }
    row_blocks_ = mg_ == 0 ? 0 : (mg_ + row_block_ - 1) / row_block_;
    const size_t col = pointwise_ ? 0 : static_cast<size_t>(k_ * tile_);
    scratch_.per_thread = ScratchLayout::Align(col) +
                          ScratchLayout::Align(static_cast<size_t>(mg_ * tile_) * sizeof(int32_t)) +
                          IgemmWorkspaceBytes(mg_, tile_, k_);
    return absl::OkStatus();
  }

  size_t ScratchBytes(int threads) const override { return scratch_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const int8_t* x = static_cast<const int8_t*>(in[0]);
    const int32_t* bias = p_.has_bias ? static_cast<const int32_t*>(in[2]) : nullptr;
    const int8_t* res = p_.has_residual ? static_cast<const int8_t*>(in[3]) : nullptr;
    void* y = out[0];
    if (plane_ == 0 || mg_ == 0) return;
    if (depthwise_) {
      ParallelFor(ctx, p_.batch * p_.group, [&](int64_t begin, int64_t end, int slot) {
        for (int64_t i = begin; i < end; ++i) {
          RunDepthwise(x, bias, res, y, i / p_.group, i % p_.group, scratch_.Slot(ctx, slot));
        }
      });
      return;
    }
    // Work items: (image, group, tile, column part, row block). With fewer
    // tiles than a few per thread, each tile is split into `parts` column
    // ranges so that the item count is a multiple of the thread count: every
    // thread builds the im2col of, and packs, only its own columns. The
    // split never changes a result (Igemm is exact for any column range).
    const int64_t tile_items = p_.batch * p_.group * tiles_;
    int64_t parts = 1;
    const int64_t threads = std::max(ctx.threads, 1);
    if (row_blocks_ == 1 && threads > 1 && tile_items < 4 * threads) {
      parts = threads / std::gcd(tile_items, threads);
      parts = std::clamp<int64_t>(parts, 1, std::max<int64_t>(1, tile_ / kMinSplitColumns));
    }
    const int64_t items = tile_items * parts * row_blocks_;
    ParallelFor(ctx, items, [&](int64_t begin, int64_t end, int slot) {
      std::byte* mine = scratch_.Slot(ctx, slot);
      int8_t* col = reinterpret_cast<int8_t*>(mine);
      const size_t col_bytes = pointwise_ ? 0 : ScratchLayout::Align(static_cast<size_t>(k_ * tile_));
      int32_t* acc = reinterpret_cast<int32_t*>(mine + col_bytes);
      std::byte* ws = mine + col_bytes +
                      ScratchLayout::Align(static_cast<size_t>(mg_ * tile_) * sizeof(int32_t));
      const size_t ws_bytes = IgemmWorkspaceBytes(mg_, tile_, k_);
      int64_t built_for = -1;  // the (image, group, tile) whose im2col `col` holds
      for (int64_t i = begin; i < end; ++i) {
        const int64_t rb = i % row_blocks_;
        const int64_t part = (i / row_blocks_) % parts;
        const int64_t tile_item = i / (row_blocks_ * parts);
        const int64_t t = tile_item % tiles_;
        const int64_t g = (tile_item / tiles_) % p_.group;
        const int64_t n = tile_item / (tiles_ * p_.group);
        const int64_t tile_len = std::min(tile_, plane_ - t * tile_);
        const int64_t chunk = (tile_len + parts - 1) / parts;
        const int64_t p0 = t * tile_ + part * chunk;
        const int64_t len = std::min(chunk, tile_len - part * chunk);
        if (len <= 0) continue;
        const int8_t* xg = x + (n * p_.in_channels + g * cg_) * in_plane_;
        const int8_t* b;
        int64_t ldb;
        if (pointwise_) {
          b = xg + p0;
          ldb = plane_;
        } else {
          const int64_t key = i / row_blocks_;
          if (key != built_for) {
            Im2Col<int8_t>(p_, xg, p0, len, 0, k_, col, p_.x_zero_point);
            built_for = key;
          }
          b = col;
          ldb = len;
        }
        const int64_t m0 = rb * row_block_;
        const int64_t m1 = std::min(mg_, m0 + row_block_);
        // acc row m (in [m0, m1)) at acc + m * len.
        Igemm(packed_[g], m0, m1, len, b, ldb, acc, len, ws, ws_bytes);
        for (int64_t m = m0; m < m1; ++m) {
          const int64_t oc = g * mg_ + m;
          const int64_t off = (n * p_.out_channels + oc) * plane_ + p0;
          StoreRow(p_.requant, oc, bias != nullptr ? bias[oc] : 0, acc + m * len,
                   res != nullptr ? res + off : nullptr, y, off, len);
        }
      }
    });
  }

 private:
  // Image n, group g of a depthwise convolution: output channels g * M/g ...
  // read input channel g.
  void RunDepthwise(const int8_t* x, const int32_t* bias, const int8_t* res, void* y, int64_t n,
                    int64_t g, std::byte* scratch) const {
    int16_t* phases = reinterpret_cast<int16_t*>(scratch);
    int32_t* acc = reinterpret_cast<int32_t*>(
        scratch + ScratchLayout::Align(padded_rows_ * padded_cols_ * sizeof(int16_t)));
    const int64_t in1 = p_.in[1], in2 = p_.in[2], pb1 = p_.pad_begin[1], pb2 = p_.pad_begin[2];
    const int64_t s1 = p_.stride[1], s2 = p_.stride[2], d1 = p_.dilation[1], d2 = p_.dilation[2];
    const int64_t phase_size = dw_rows_ * dw_cols_;
    const int16_t pad = p_.x_zero_point;
    const int8_t* xc = x + (n * p_.in_channels + g) * in_plane_;
    // Phase (r1, r2) holds padded[i * s1 + r1][j * s2 + r2] at [i][j].
    for (int64_t r1 = 0; r1 < s1; ++r1) {
      for (int64_t i = 0; i < dw_rows_; ++i) {
        const int64_t row = i * s1 + r1 - pb1;
        const int8_t* src = row >= 0 && row < in1 ? xc + row * in2 : nullptr;
        for (int64_t r2 = 0; r2 < s2; ++r2) {
          int16_t* dst = phases + (r1 * s2 + r2) * phase_size + i * dw_cols_;
          if (src == nullptr) {
            std::fill(dst, dst + dw_cols_, pad);
            continue;
          }
          // Column j reads input column j * s2 + r2 - pb2, inside [0, in2)
          // for j in [lo, hi).
          const int64_t lo = dw_col_range_[r2].lo, hi = dw_col_range_[r2].hi;
          std::fill(dst, dst + lo, pad);
          const int8_t* from = src + lo * s2 + r2 - pb2;
          if (s2 == 1) {
            WidenRow<1>(from, dst + lo, hi - lo);
          } else if (s2 == 2) {
            WidenRow<2>(from, dst + lo, hi - lo);
          } else {
            for (int64_t j = 0; j < hi - lo; ++j) dst[lo + j] = from[j * s2];
          }
          std::fill(dst + hi, dst + dw_cols_, pad);
        }
      }
    }
    const int64_t out1 = p_.out[1], out2 = p_.out[2];
    const int64_t k1 = p_.kernel[1], k2 = p_.kernel[2];
    // Output (o1, o2) sits at acc[o1 * dw_cols_ + o2]; no tap reads past its
    // phase for the last one (the output size formula guarantees it).
    const int64_t len = (out1 - 1) * dw_cols_ + out2;
    for (int64_t m = 0; m < mg_; ++m) {
      const int64_t oc = g * mg_ + m;
      const int8_t* wk = weights_.data() + oc * k_;
      const int32_t b = bias != nullptr ? bias[oc] : 0;
      if (k1 == 3 && k2 == 3) {
        const int16_t* taps[9];
        int16_t w[9];
        for (int64_t t = 0; t < 9; ++t) {
          const int64_t e1 = (t / 3) * d1, e2 = (t % 3) * d2;
          taps[t] = phases + ((e1 % s1) * s2 + e2 % s2) * phase_size + (e1 / s1) * dw_cols_ + e2 / s2;
          w[t] = wk[t];
        }
        Taps3x3Int8(taps, w, b, acc, len);
      } else {
      std::fill(acc, acc + len, b);
      for (int64_t t1 = 0; t1 < k1; ++t1) {
        for (int64_t t2 = 0; t2 < k2; ++t2) {
          const int32_t wv = wk[t1 * k2 + t2];
          const int64_t e1 = t1 * d1, e2 = t2 * d2;
          const int16_t* __restrict tap =
              phases + ((e1 % s1) * s2 + e2 % s2) * phase_size + (e1 / s1) * dw_cols_ + e2 / s2;
          int32_t* __restrict a = acc;
          for (int64_t i = 0; i < len; ++i) a[i] += wv * tap[i];
        }
      }
      }
      const int64_t off = (n * p_.out_channels + oc) * plane_;
      StoreRows(p_.requant, oc, 0, acc, dw_cols_, res != nullptr ? res + off : nullptr, out2, y,
                off, out2, out1, out2);
    }
  }

  Int8ConvParams p_;
  int64_t cg_ = 0, mg_ = 0, k_ = 0, plane_ = 0, in_plane_ = 0;
  bool pointwise_ = false;
  bool depthwise_ = false;
  std::vector<PackedInt8Matrix> packed_;  // one per group
  std::vector<int8_t> weights_;           // depthwise: W as given
  int64_t padded_rows_ = 0, padded_cols_ = 0;  // depthwise: the phases, as one block
  int64_t dw_rows_ = 0, dw_cols_ = 0;            // depthwise: one phase
  // depthwise: phase column r2 holds input columns for j in dw_col_range_[r2]
  std::vector<OutputRange> dw_col_range_;
  int64_t tile_ = 0, tiles_ = 0, row_block_ = 0, row_blocks_ = 0;
  ScratchLayout scratch_;
};

// ---------------------------------------------------------------------------
// Int8Gemm

struct Int8GemmParams {
  int64_t rows = 0, k = 0, n = 0;
  bool has_bias = false;
  bool has_residual = false;
  Dims y_shape;
  Requant requant;
};

absl::StatusOr<Int8GemmParams> ParseInt8Gemm(const Attributes& attrs,
                                             std::span<const TensorInfo> inputs) {
  const std::string op = "Int8Gemm";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 4, op));
  ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[0], DataType::kInt8, op, "X"));
  ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[1], DataType::kInt8, op, "W"));
  const Dims& x = inputs[0].shape;
  const Dims& w = inputs[1].shape;
  if (x.empty() || w.size() != 2 || x.back() != w[1]) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": X ", ShapeString(x), " and W ",
                                                   ShapeString(w),
                                                   " do not make X [..., K] * W[N, K]^T"));
  }
  Int8GemmParams p;
  p.k = w[1];
  p.n = w[0];
  p.rows = NumElements(x) / std::max<int64_t>(p.k, 1);
  if (p.k == 0) p.rows = NumElements(Dims(x.begin(), x.end() - 1));
  p.y_shape = x;
  p.y_shape.back() = p.n;
  p.has_bias = inputs.size() > 2 && inputs[2].present;
  if (p.has_bias) {
    ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[2], DataType::kInt32, op, "B"));
    if (inputs[2].shape != Dims{p.n}) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": B has shape ", ShapeString(inputs[2].shape), ", expected [", p.n, "]"));
    }
  }
  p.has_residual = inputs.size() > 3 && inputs[3].present;
  if (p.has_residual) {
    ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[3], DataType::kInt8, op, "residual (input 3)"));
    if (inputs[3].shape != p.y_shape) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": residual (input 3) has shape ",
                                                     ShapeString(inputs[3].shape), ", expected ",
                                                     ShapeString(p.y_shape)));
    }
  }
  ENGINE_ASSIGN_OR_RETURN(p.requant, ParseRequant(attrs, p.n, p.has_residual, op));
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferInt8Gemm(const Attributes& attrs,
                                                      std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(Int8GemmParams p, ParseInt8Gemm(attrs, inputs));
  return std::vector<TensorInfo>{
      MakeInfo(p.requant.float_out ? DataType::kFloat32 : DataType::kInt8, p.y_shape)};
}

class Int8GemmKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseInt8Gemm(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckPrepared("Int8Gemm", p_.requant, p_.y_shape, inputs, outputs));
    packed_ = PackedInt8Matrix::Pack(inputs[1].constant->data_as<int8_t>(), p_.n, p_.k, p_.k);
    row_block_ = RoundUp16(std::max<int64_t>(kMinRowBlock, (p_.n + 7) / 8));
    row_blocks_ = p_.n == 0 ? 0 : (p_.n + row_block_ - 1) / row_block_;
    // Shared: X transposed [K, rows] (unless rows == 1) and the int32 product
    // Y^T [N, rows]; per thread: an Igemm workspace.
    scratch_.shared = ScratchLayout::Align(p_.rows > 1 ? static_cast<size_t>(p_.k * p_.rows) : 0) +
                      static_cast<size_t>(p_.n * p_.rows) * sizeof(int32_t);
    scratch_.per_thread = IgemmWorkspaceBytes(row_block_, p_.rows, p_.k);
    return absl::OkStatus();
  }

  size_t ScratchBytes(int threads) const override { return scratch_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const int8_t* x = static_cast<const int8_t*>(in[0]);
    const int32_t* bias = p_.has_bias ? static_cast<const int32_t*>(in[2]) : nullptr;
    const int8_t* res = p_.has_residual ? static_cast<const int8_t*>(in[3]) : nullptr;
    void* y = out[0];
    if (p_.rows == 0 || p_.n == 0) return;
    std::byte* shared = scratch_.Shared(ctx);
    const int8_t* xt = x;  // X^T [K, rows]
    if (p_.rows > 1) {
      int8_t* t = reinterpret_cast<int8_t*>(shared);
      for (int64_t r = 0; r < p_.rows; ++r) {
        for (int64_t k = 0; k < p_.k; ++k) t[k * p_.rows + r] = x[r * p_.k + k];
      }
      xt = t;
    }
    int32_t* acc = reinterpret_cast<int32_t*>(
        shared + ScratchLayout::Align(p_.rows > 1 ? static_cast<size_t>(p_.k * p_.rows) : 0));
    ParallelFor(ctx, row_blocks_, [&](int64_t begin, int64_t end, int slot) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t m0 = b * row_block_, m1 = std::min(p_.n, m0 + row_block_);
        Igemm(packed_, m0, m1, p_.rows, xt, p_.rows, acc, p_.rows, scratch_.Slot(ctx, slot),
              scratch_.per_thread);
        const Requant& q = p_.requant;
        for (int64_t c = m0; c < m1; ++c) {
          const int32_t bc = bias != nullptr ? bias[c] : 0;
          if (q.float_out) {
            float* yf = static_cast<float*>(y);
            for (int64_t r = 0; r < p_.rows; ++r) {
              float v = static_cast<float>(AddWrapping(acc[c * p_.rows + r], bc)) * q.out_scale[c];
              if (res != nullptr) v += static_cast<float>(res[r * p_.n + c]) * q.residual_scale;
              yf[r * p_.n + c] = std::min(std::max(v, q.fmin), q.fmax);
              if (q.float_act) ApplyActivation(q.act, &yf[r * p_.n + c], &yf[r * p_.n + c], 1);
            }
            continue;
          }
          int8_t* yq = static_cast<int8_t*>(y);
          if (q.float_epilogue) {
            for (int64_t r = 0; r < p_.rows; ++r) {
              FloatEpilogueRow(q, c, bc, &acc[c * p_.rows + r],
                               res != nullptr ? &res[r * p_.n + c] : nullptr, &yq[r * p_.n + c],
                               1);
            }
            continue;
          }
          for (int64_t r = 0; r < p_.rows; ++r) {
            int64_t v =
                Requantize(AddWrapping(acc[c * p_.rows + r], bc), q.multiplier[c], q.shift[c]);
            if (res != nullptr) {
              v += Requantize(res[r * p_.n + c], q.residual_multiplier, q.residual_shift);
            }
            yq[r * p_.n + c] = static_cast<int8_t>(std::clamp<int64_t>(v + q.y_zero_point, q.lo, q.hi));
          }
        }
      }
    });
  }

 private:
  Int8GemmParams p_;
  PackedInt8Matrix packed_;
  int64_t row_block_ = 0, row_blocks_ = 0;
  ScratchLayout scratch_;
};

// ---------------------------------------------------------------------------
// Int8ConvTranspose

struct Int8ConvTransposeParams {
  ConvTransposeGeometry geo;
  Requant requant;
};

absl::StatusOr<Int8ConvTransposeParams> ParseInt8ConvTranspose(const Attributes& attrs,
                                                               std::span<const TensorInfo> inputs) {
  const std::string op = "Int8ConvTranspose";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 3, op));
  ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[0], DataType::kInt8, op, "X"));
  ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[1], DataType::kInt8, op, "W"));
  Int8ConvTransposeParams p;
  if (inputs.size() > 2 && inputs[2].present) {
    ENGINE_RETURN_IF_ERROR(CheckDtype(inputs[2], DataType::kInt32, op, "B"));
  }
  ENGINE_ASSIGN_OR_RETURN(p.geo, ParseConvTransposeGeometry(attrs, inputs, op));
  if (p.geo.c / p.geo.group > 65536) {
    return absl::UnimplementedError(absl::StrCat(op, ": ", p.geo.c / p.geo.group,
                                                 " input channels per group exceed the exact "
                                                 "int32 product bound of 65536"));
  }
  if (attrs.Has("x_zero_point")) {
    // A zero point would add -zx * W to every output position an input
    // position reaches, a count that varies at the borders: no per-channel
    // bias folds it.
    return absl::UnimplementedError(absl::StrCat(op, ": an input zero point is not supported"));
  }
  ENGINE_ASSIGN_OR_RETURN(p.requant, ParseRequant(attrs, p.geo.m, false, op));
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferInt8ConvTranspose(const Attributes& attrs,
                                                               std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(Int8ConvTransposeParams p, ParseInt8ConvTranspose(attrs, inputs));
  return std::vector<TensorInfo>{
      MakeInfo(p.requant.float_out ? DataType::kFloat32 : DataType::kInt8, p.geo.out_shape)};
}

// Per image and group: col [M/g * K, P_chunk] = W_g^T [M/g * K, C/g] * X_g
// [C/g, P_chunk] exactly in int32 (Igemm, W_g^T packed at Prepare), chunks of
// whole input rows keeping col under 16 MiB; col scatter-added (col2im) into
// int32 output planes in two's complement; then every output element
// requantized (or dequantized) once, with its channel's bias, by the same
// epilogue as Int8Conv (StoreRow). Integer sums do not depend on the order,
// so the result is the same for any thread count or chunking.
class Int8ConvTransposeKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseInt8ConvTranspose(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(
        CheckPrepared("Int8ConvTranspose", p_.requant, p_.geo.out_shape, inputs, outputs));
    const ConvTransposeGeometry& g = p_.geo;
    cg_ = g.c / g.group;
    mg_ = g.m / g.group;
    kk_ = g.KernelSize();
    rows_ = mg_ * kk_;
    // W [C, M/g, K] -> per group A_g [M/g * K, C/g]: A_g[j * K + t][c] = W[g * C/g + c][j][t].
    const int8_t* w = inputs[1].constant->data_as<int8_t>();
    std::vector<int8_t> a(static_cast<size_t>(rows_ * cg_));
    packed_.clear();
    for (int64_t gi = 0; gi < g.group; ++gi) {
      for (int64_t c = 0; c < cg_; ++c) {
        const int8_t* wc = w + (gi * cg_ + c) * rows_;
        for (int64_t r = 0; r < rows_; ++r) a[static_cast<size_t>(r * cg_ + c)] = wc[r];
      }
      packed_.push_back(PackedInt8Matrix::Pack(a.data(), rows_, cg_, cg_));
    }
    const int64_t row_len = g.in[2];
    const int64_t in_rows = g.in[0] * g.in[1];
    chunk_rows_ = std::clamp<int64_t>(kColChunkInts / std::max<int64_t>(1, rows_ * row_len), 1,
                                      std::max<int64_t>(1, in_rows));
    row_block_ = RoundUp16(std::max<int64_t>(kMinRowBlock, (rows_ + 7) / 8));
    row_blocks_ = rows_ == 0 ? 0 : (rows_ + row_block_ - 1) / row_block_;
    const int64_t full_cols = chunk_rows_ * row_len;
    col_bytes_ = ScratchLayout::Align(static_cast<size_t>(rows_ * full_cols) * sizeof(int32_t));
    scratch_.shared = col_bytes_ + static_cast<size_t>(mg_ * g.OutPlane()) * sizeof(int32_t);
    scratch_.per_thread = IgemmWorkspaceBytes(row_block_, full_cols, cg_);
    return absl::OkStatus();
  }

  size_t ScratchBytes(int threads) const override { return scratch_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const ConvTransposeGeometry& g = p_.geo;
    const int8_t* x = static_cast<const int8_t*>(in[0]);
    const int32_t* bias = g.has_bias && in.size() > 2 ? static_cast<const int32_t*>(in[2]) : nullptr;
    void* y = out[0];
    std::byte* shared = scratch_.Shared(ctx);
    int32_t* col = reinterpret_cast<int32_t*>(shared);
    uint32_t* acc = reinterpret_cast<uint32_t*>(shared + col_bytes_);
    const int64_t in_plane = g.InPlane(), out_plane = g.OutPlane();
    const int64_t row_len = g.in[2];
    const int64_t in_rows = g.in[0] * g.in[1];
    if (rows_ == 0 || out_plane == 0) return;
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t gi = 0; gi < g.group; ++gi) {
        std::fill(acc, acc + mg_ * out_plane, 0u);
        const int8_t* xg = x + (n * g.c + gi * cg_) * in_plane;
        const PackedInt8Matrix& a = packed_[static_cast<size_t>(gi)];
        for (int64_t r0 = 0; r0 < in_rows; r0 += chunk_rows_) {
          const int64_t r1 = std::min(in_rows, r0 + chunk_rows_);
          const int64_t cols = (r1 - r0) * row_len;
          if (cg_ == 0) {  // no input channels: every product is 0
            std::fill(col, col + rows_ * cols, 0);
          } else {
            ParallelFor(ctx, row_blocks_, [&](int64_t b, int64_t e, int slot) {
              for (int64_t i = b; i < e; ++i) {
                const int64_t m0 = i * row_block_, m1 = std::min(rows_, m0 + row_block_);
                Igemm(a, m0, m1, cols, xg + r0 * row_len, in_plane, col, cols,
                      scratch_.Slot(ctx, slot), scratch_.per_thread);
              }
            });
          }
          ParallelFor(ctx, mg_, [&](int64_t b, int64_t e, int) {
            for (int64_t j = b; j < e; ++j) {
              Col2ImPlane(g, reinterpret_cast<const uint32_t*>(col) + j * kk_ * cols, cols, r0, r1,
                          acc + j * out_plane);
            }
          });
        }
        ParallelFor(ctx, mg_, [&](int64_t b, int64_t e, int) {
          for (int64_t j = b; j < e; ++j) {
            const int64_t c = gi * mg_ + j;
            StoreRow(p_.requant, c, bias != nullptr ? bias[c] : 0,
                     reinterpret_cast<const int32_t*>(acc + j * out_plane), nullptr, y,
                     (n * g.m + c) * out_plane, out_plane);
          }
        });
      }
    }
  }

 private:
  // Target size of one col chunk, in int32 (16 MiB).
  static constexpr int64_t kColChunkInts = int64_t{1} << 22;

  Int8ConvTransposeParams p_;
  std::vector<PackedInt8Matrix> packed_;  // one per group
  int64_t cg_ = 1, mg_ = 1, kk_ = 1, rows_ = 1, chunk_rows_ = 1, row_block_ = 16, row_blocks_ = 0;
  size_t col_bytes_ = 0;
  ScratchLayout scratch_;
};

}  // namespace

KernelDef MakeInt8ConvDef() { return MakeDef<Int8ConvKernel>("Int8Conv", InferInt8Conv); }
KernelDef MakeInt8GemmDef() { return MakeDef<Int8GemmKernel>("Int8Gemm", InferInt8Gemm); }
KernelDef MakeInt8ConvTransposeDef() {
  return MakeDef<Int8ConvTransposeKernel>("Int8ConvTranspose", InferInt8ConvTranspose);
}

}  // namespace engine::kernels
