// Data movement and shape computation host kernels.
//
// Semantics are those of the ONNX operators at opset 13 or later (inputs in
// ONNX order). Every data-movement op works on raw bytes, so it supports all
// engine dtypes (float32, float16, int64, int32, int8, uint8, bool).
//
//  - Identity: copy.
//  - Flatten: `axis` (default 1, in [-r, r]); output [prod(d[:axis]), prod(d[axis:])].
//  - Reshape: input `shape` must be a constant int tensor; 0 copies the input
//    dimension at the same index unless allowzero=1 (then 0 is a real 0 and
//    -1 may not appear with it); at most one -1, inferred from the others.
//  - Transpose: `perm` (default reversed).
//  - Squeeze: optional constant input `axes` (Squeeze-13; the Squeeze-1
//    attribute is honoured when the input is absent); without axes every
//    dimension of size 1 is removed. Squeezing a dimension != 1 is an error.
//  - Unsqueeze: constant input `axes` (required; attribute fallback as
//    Squeeze); negative axes count from the end of the output rank.
//  - Concat: `axis` (required, may be negative), 1..N inputs.
//  - Pad (Pad-13/18/19): data, constant `pads` ([x1_begin, x2_begin, ...,
//    x1_end, x2_end, ...]), optional scalar `constant_value` (read at run
//    time), optional constant `axes` (Pad-18). Modes "constant", "reflect",
//    "edge", "wrap" (Pad-19; periodic, "as if the data forms a torus", which
//    differs from numpy.pad's iterative wrap only when a pad exceeds the axis
//    and both sides are padded). Negative pads crop: each axis is first cropped by
//    its negative pads, then padded by its positive pads (reflect/edge/wrap
//    refer to the cropped data).
//  - Shape (Shape-15): int64 output, `start`/`end` attributes, negative values
//    count from the end and both are clamped to [0, rank].
//  - Gather: `axis` (default 0); int32/int64 indices, negative indices count
//    from the end of the axis. Indices known at build time are range-checked;
//    at run time an out-of-range index yields zeros (Run cannot fail).
//  - ConstantOfShape: constant int shape input; attributes `dtype` (ONNX type
//    code, default 1 = float) and `value_float` / `value_int` (the importer's
//    form of ONNX's tensor-valued `value`, default 0).
//  - Cast: attribute `to`; between float32, float16, bfloat16, float64
//    (double), int32, int64, int8, uint8, int16, uint16, uint32, uint64 and
//    bool (uint64 to float: one rounding to nearest even, also to
//    float16/bfloat16 through a round-to-odd float32; float to uint64:
//    truncation, values at or above 2^64 saturate, negative values go
//    through int64 and wrap, as numpy's astype does on x86-64; uint64 to
//    and from the other integers wraps modulo 2^bits) (to float16/bfloat16, and
//    float64 to float32: one rounding to nearest even, NaN and infinities
//    kept, overflow to infinity; float32 to float64 is exact; float64 models
//    compute in float32, so this Cast is met at their graph inputs and
//    outputs). Float to integer truncates
//    toward zero (numpy astype);
//    NaN gives 0, values beyond int64 saturate and narrower integer types
//    then wrap (out-of-range conversions are undefined in ONNX). Integer
//    narrowing wraps; anything to bool is x != 0.
//  - CastLike (opsets 15, 19, 21): Cast to the dtype of the second input
//    `target_type`, whose values are never read (same types and conversions
//    as Cast); the opset-19 attribute `saturate` only concerns float8 types,
//    which the engine does not have, and is ignored.
//  - EyeLike (opsets 9, 22): a 2-D tensor of the input's shape with ones on
//    the k-th diagonal (column - row == k, attribute `k`, default 0; k > 0 is
//    above the main diagonal) and zeros elsewhere, of type `dtype` (ONNX type
//    code; default: the input's dtype; the Cast dtypes). The input's values
//    are never read (data-independent): shape propagation folds every
//    EyeLike layer into a constant.
//  - Slice (Slice-13): data, constant starts, ends, optional axes, optional
//    steps. Per the spec, negative starts/ends add the dimension; then for
//    step > 0 both clamp to [0, dim], for step < 0 start clamps to [0, dim-1]
//    and end to [-1, dim-1] (so INT64_MIN / INT64_MAX ends mean "to the
//    beginning / end").
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/half.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

using Infos = std::vector<TensorInfo>;
using InferImpl = absl::StatusOr<Infos> (*)(const Attributes&, std::span<const TensorInfo>);


// Data inputs of data-movement ops must have a known element size.
absl::Status CheckDataDtype(const TensorInfo& t, const std::string& type) {
  if (DataTypeSize(t.dtype) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": unsupported data dtype ", DataTypeName(t.dtype)));
  }
  return absl::OkStatus();
}

absl::Status CheckNoDuplicateAxes(const std::vector<int64_t>& axes, const std::string& type) {
  std::vector<int64_t> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": repeated axis in [", absl::StrJoin(axes, ","), "]"));
  }
  return absl::OkStatus();
}

// Normalizes every axis of `axes` against `rank`, naming `type` in errors.
absl::StatusOr<std::vector<int64_t>> NormalizeAxes(std::vector<int64_t> axes, int64_t rank,
                                                   const std::string& type) {
  for (int64_t& a : axes) {
    absl::StatusOr<int64_t> n = NormalizeAxis(a, rank);
    if (!n.ok()) return Annotate(n.status(), type);
    a = *n;
  }
  ENGINE_RETURN_IF_ERROR(CheckNoDuplicateAxes(axes, type));
  return axes;
}

// ---------------------------------------------------------------------------
// Byte-level element copies. Element sizes are 1, 2, 4 or 8 bytes; the
// fixed-size memcpy compiles to a single load/store and is aliasing-safe.

template <size_t kSize>
inline void CopyElem(std::byte* dst, const std::byte* src) {
  std::memcpy(dst, src, kSize);
}

// out[i] = in[i * stride] for i < n (strides in elements, may be negative:
// byte offsets are computed in int64_t, never in size_t).
template <size_t kSize>
void Copy1D(int64_t n, const std::byte* in, int64_t stride, std::byte* out) {
  if (stride == 1) {
    std::memcpy(out, in, static_cast<size_t>(n) * kSize);
    return;
  }
  const int64_t step = stride * static_cast<int64_t>(kSize);
  for (int64_t i = 0; i < n; ++i) CopyElem<kSize>(out + i * kSize, in + i * step);
}

// out[r][c] = in[r * sr + c * sc], out dense [rows, cols]. Tiled when the
// inner input stride is not 1 (a transpose) so both sides stay in cache.
template <size_t kSize>
void Copy2D(int64_t rows, int64_t cols, const std::byte* in, int64_t sr, int64_t sc,
            std::byte* out) {
  if (sc == 1) {
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(out + r * cols * kSize, in + r * sr * static_cast<int64_t>(kSize),
                  static_cast<size_t>(cols) * kSize);
    }
    return;
  }
  constexpr int64_t kTile = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    const int64_t r1 = std::min(rows, r0 + kTile);
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t c1 = std::min(cols, c0 + kTile);
      for (int64_t r = r0; r < r1; ++r) {
        std::byte* o = out + r * cols * kSize;
        const std::byte* i = in + r * sr * static_cast<int64_t>(kSize);
        for (int64_t c = c0; c < c1; ++c) {
          CopyElem<kSize>(o + c * kSize, i + c * sc * static_cast<int64_t>(kSize));
        }
      }
    }
  }
}

// A dense output gathered from an input through per-dimension element
// strides (Transpose, Slice). Size-1 dimensions are dropped and adjacent
// dimensions merged when the input is contiguous across them, so e.g. an
// NCHW->NHWC transpose becomes a batch of [H*W, C] <- [C, H*W] 2-D
// transposes and a slice along the outermost axis a single memcpy.
struct StridedCopy {
  std::vector<int64_t> dims;         // merged output dims (>= 1 entry)
  std::vector<int64_t> in_strides;   // input element stride per merged dim
  std::vector<int64_t> out_strides;  // row-major output strides
  int64_t in_offset = 0;             // first input element
  size_t elem = 0;                   // element size in bytes
  int64_t count = 0;                 // output elements
};

StridedCopy MakeStridedCopy(const Dims& out_dims, const std::vector<int64_t>& in_strides,
                            int64_t in_offset, size_t elem) {
  StridedCopy p;
  p.elem = elem;
  p.in_offset = in_offset;
  p.count = NumElements(out_dims);
  for (size_t i = 0; i < out_dims.size(); ++i) {
    if (out_dims[i] == 1) continue;
    if (!p.dims.empty() && p.in_strides.back() == in_strides[i] * out_dims[i]) {
      p.dims.back() *= out_dims[i];
      p.in_strides.back() = in_strides[i];
      continue;
    }
    p.dims.push_back(out_dims[i]);
    p.in_strides.push_back(in_strides[i]);
  }
  if (p.dims.empty()) {
    p.dims = {1};
    p.in_strides = {1};
  }
  p.out_strides = RowMajorStrides(p.dims);
  return p;
}

template <size_t kSize>
void WalkStrided(const StridedCopy& p, size_t d, const std::byte* in, std::byte* out) {
  const size_t rank = p.dims.size();
  if (rank == 1) {
    Copy1D<kSize>(p.dims[0], in, p.in_strides[0], out);
    return;
  }
  if (d + 2 == rank) {
    Copy2D<kSize>(p.dims[d], p.dims[d + 1], in, p.in_strides[d], p.in_strides[d + 1], out);
    return;
  }
  const int64_t si = p.in_strides[d] * static_cast<int64_t>(kSize);
  const int64_t so = p.out_strides[d] * static_cast<int64_t>(kSize);
  for (int64_t i = 0; i < p.dims[d]; ++i) WalkStrided<kSize>(p, d + 1, in + i * si, out + i * so);
}

void RunStridedCopy(const StridedCopy& p, const void* in, void* out) {
  if (p.count == 0) return;
  const std::byte* src =
      static_cast<const std::byte*>(in) + p.in_offset * static_cast<int64_t>(p.elem);
  std::byte* dst = static_cast<std::byte*>(out);
  switch (p.elem) {
    case 1: WalkStrided<1>(p, 0, src, dst); break;
    case 2: WalkStrided<2>(p, 0, src, dst); break;
    case 4: WalkStrided<4>(p, 0, src, dst); break;
    case 8: WalkStrided<8>(p, 0, src, dst); break;
    default: break;
  }
}

// Fills n elements of size `elem` with the bytes at `value`.
void FillElems(std::byte* out, int64_t n, const std::byte* value, size_t elem) {
  if (n <= 0) return;
  bool zero = true;
  for (size_t i = 0; i < elem; ++i) zero = zero && value[i] == std::byte{0};
  if (zero || elem == 1) {
    std::memset(out, static_cast<int>(value[0]), static_cast<size_t>(n) * elem);
    return;
  }
  for (int64_t i = 0; i < n; ++i) std::memcpy(out + i * elem, value, elem);
}

// ---------------------------------------------------------------------------
// float16 and dtype conversions (Cast, ConstantOfShape).

// Float to int64 truncating toward zero; NaN -> 0, saturating beyond int64.
int64_t TruncToInt64(float v) {
  if (std::isnan(v)) return 0;
  if (v >= 9.2233720368547758e18f) return std::numeric_limits<int64_t>::max();
  if (v <= -9.2233720368547758e18f) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// Double to int64 truncating toward zero; NaN -> 0, saturating beyond int64.
int64_t TruncToInt64(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
  if (v <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// double -> float rounding to odd (the float nearest toward zero, its last bit
// set when inexact): a float64 value converted to float16/bfloat16 through
// it rounds once to nearest even, as a direct conversion would (24 bits >=
// 11 + 2). NaN and infinities are kept; beyond the float range: infinity.
float DoubleToFloatRoundOdd(double d) {
  float f = static_cast<float>(d);  // nearest even
  if (!std::isfinite(f) || static_cast<double>(f) == d) return f;
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 1u) == 0) f = std::nextafter(f, d > f ? INFINITY : -INFINITY);  // the odd neighbour
  return f;
}

// Per-dtype conversion traits: storage type, whether values are read as
// float (float32/float16/bfloat16; float64 as double) or int64 (integers,
// bool), and constructors from float, int64 and double (FromD: one rounding).
template <DataType DT>
struct Elem;
template <>
struct Elem<DataType::kFloat32> {
  using S = float;
  static constexpr bool kFloat = true;
  static float Get(S v) { return v; }
  static S FromF(float v) { return v; }
  static S FromI(int64_t v) { return static_cast<float>(v); }
  static S FromD(double v) { return static_cast<float>(v); }  // nearest even
};
template <>
struct Elem<DataType::kFloat16> {
  using S = uint16_t;
  static constexpr bool kFloat = true;
  static float Get(S v) { return HalfToFloat(v); }
  static S FromF(float v) { return FloatToHalf(v); }
  static S FromI(int64_t v) { return FloatToHalf(static_cast<float>(v)); }
  static S FromD(double v) { return FloatToHalf(DoubleToFloatRoundOdd(v)); }
};
template <>
struct Elem<DataType::kBFloat16> {
  using S = uint16_t;
  static constexpr bool kFloat = true;
  static float Get(S v) { return BFloat16ToFloat(v); }
  static S FromF(float v) { return FloatToBFloat16(v); }
  static S FromI(int64_t v) { return FloatToBFloat16(static_cast<float>(v)); }
  static S FromD(double v) { return FloatToBFloat16(DoubleToFloatRoundOdd(v)); }
};
template <>
struct Elem<DataType::kFloat64> {
  using S = double;
  static constexpr bool kFloat = true;
  static double Get(S v) { return v; }
  static S FromF(float v) { return v; }  // exact
  static S FromI(int64_t v) { return static_cast<double>(v); }
  static S FromD(double v) { return v; }
};
template <>
struct Elem<DataType::kBool> {
  using S = uint8_t;
  static constexpr bool kFloat = false;
  static int64_t Get(S v) { return v != 0; }
  static S FromF(float v) { return v != 0.0f; }
  static S FromI(int64_t v) { return v != 0; }
  static S FromD(double v) { return v != 0.0; }
};
template <typename T>
struct IntElem {
  using S = T;
  static constexpr bool kFloat = false;
  static int64_t Get(S v) { return v; }
  static S FromF(float v) { return static_cast<T>(TruncToInt64(v)); }
  static S FromI(int64_t v) { return static_cast<T>(v); }  // wraps (C++20)
  static S FromD(double v) { return static_cast<T>(TruncToInt64(v)); }
};
// uint64: read as its bits reinterpreted in int64 (so integer narrowing and
// int64 wrap modulo 2^64); CastLoop converts it to floats as unsigned.
template <>
struct Elem<DataType::kUint64> {
  using S = uint64_t;
  static constexpr bool kFloat = false;
  static int64_t Get(S v) { return static_cast<int64_t>(v); }  // wraps (C++20)
  static S FromF(float v) { return FromD(static_cast<double>(v)); }  // exact widening
  static S FromI(int64_t v) { return static_cast<S>(v); }           // wraps
  static S FromD(double v) {
    if (std::isnan(v)) return 0;
    if (v >= 18446744073709551616.0) return std::numeric_limits<uint64_t>::max();
    if (v >= 9223372036854775808.0) return static_cast<uint64_t>(v);  // [2^63, 2^64): exact
    return static_cast<uint64_t>(TruncToInt64(v));  // negative: through int64, wraps
  }
};

// uint64 -> float32 rounding to odd (as DoubleToFloatRoundOdd): a float16 or
// bfloat16 made from it rounds once to nearest even.
float U64ToFloatRoundOdd(uint64_t v) {
  float f = static_cast<float>(v);  // nearest even
  // f == 2^64 (v rounded up past the uint64 range) is inexact.
  const bool exact = f < 18446744073709551616.0f && static_cast<uint64_t>(f) == v;
  if (exact) return f;
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 1u) == 0) {
    const bool above = f >= 18446744073709551616.0f || static_cast<uint64_t>(f) > v;
    f = std::nextafter(f, above ? 0.0f : INFINITY);
  }
  return f;
}

template <>
struct Elem<DataType::kInt32> : IntElem<int32_t> {};
template <>
struct Elem<DataType::kInt64> : IntElem<int64_t> {};
template <>
struct Elem<DataType::kInt8> : IntElem<int8_t> {};
template <>
struct Elem<DataType::kUint8> : IntElem<uint8_t> {};
template <>
struct Elem<DataType::kInt16> : IntElem<int16_t> {};
template <>
struct Elem<DataType::kUint16> : IntElem<uint16_t> {};
template <>
struct Elem<DataType::kUint32> : IntElem<uint32_t> {};

bool IsCastDtype(DataType t) {
  switch (t) {
    case DataType::kFloat32:
    case DataType::kFloat16:
    case DataType::kBFloat16:
    case DataType::kFloat64:
    case DataType::kInt32:
    case DataType::kInt64:
    case DataType::kInt8:
    case DataType::kUint8:
    case DataType::kInt16:
    case DataType::kUint16:
    case DataType::kUint32:
    case DataType::kUint64:
    case DataType::kBool: return true;
    default: return false;
  }
}

template <DataType From, DataType To>
void CastLoop(const void* in, void* out, int64_t n) {
  using Src = Elem<From>;
  using Dst = Elem<To>;
  const auto* x = static_cast<const typename Src::S*>(in);
  auto* y = static_cast<typename Dst::S*>(out);
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (From == DataType::kUint64 && To == DataType::kFloat32) {
      y[i] = static_cast<float>(x[i]);  // unsigned, nearest even
    } else if constexpr (From == DataType::kUint64 && To == DataType::kFloat64) {
      y[i] = static_cast<double>(x[i]);
    } else if constexpr (From == DataType::kUint64 && Dst::kFloat) {
      y[i] = Dst::FromF(U64ToFloatRoundOdd(x[i]));  // float16 / bfloat16
    } else if constexpr (From == DataType::kFloat64) {
      y[i] = Dst::FromD(x[i]);
    } else if constexpr (Src::kFloat) {
      y[i] = Dst::FromF(Src::Get(x[i]));
    } else {
      y[i] = Dst::FromI(Src::Get(x[i]));
    }
  }
}

template <DataType From>
void CastFrom(DataType to, const void* in, void* out, int64_t n) {
  switch (to) {
    case DataType::kFloat32: CastLoop<From, DataType::kFloat32>(in, out, n); break;
    case DataType::kFloat16: CastLoop<From, DataType::kFloat16>(in, out, n); break;
    case DataType::kBFloat16: CastLoop<From, DataType::kBFloat16>(in, out, n); break;
    case DataType::kFloat64: CastLoop<From, DataType::kFloat64>(in, out, n); break;
    case DataType::kInt32: CastLoop<From, DataType::kInt32>(in, out, n); break;
    case DataType::kInt64: CastLoop<From, DataType::kInt64>(in, out, n); break;
    case DataType::kInt8: CastLoop<From, DataType::kInt8>(in, out, n); break;
    case DataType::kUint8: CastLoop<From, DataType::kUint8>(in, out, n); break;
    case DataType::kInt16: CastLoop<From, DataType::kInt16>(in, out, n); break;
    case DataType::kUint16: CastLoop<From, DataType::kUint16>(in, out, n); break;
    case DataType::kUint32: CastLoop<From, DataType::kUint32>(in, out, n); break;
    case DataType::kUint64: CastLoop<From, DataType::kUint64>(in, out, n); break;
    case DataType::kBool: CastLoop<From, DataType::kBool>(in, out, n); break;
    default: break;
  }
}

void CastBuffer(DataType from, DataType to, const void* in, void* out, int64_t n) {
  switch (from) {
    case DataType::kFloat32: CastFrom<DataType::kFloat32>(to, in, out, n); break;
    case DataType::kFloat16: CastFrom<DataType::kFloat16>(to, in, out, n); break;
    case DataType::kBFloat16: CastFrom<DataType::kBFloat16>(to, in, out, n); break;
    case DataType::kFloat64: CastFrom<DataType::kFloat64>(to, in, out, n); break;
    case DataType::kInt32: CastFrom<DataType::kInt32>(to, in, out, n); break;
    case DataType::kInt64: CastFrom<DataType::kInt64>(to, in, out, n); break;
    case DataType::kInt8: CastFrom<DataType::kInt8>(to, in, out, n); break;
    case DataType::kUint8: CastFrom<DataType::kUint8>(to, in, out, n); break;
    case DataType::kInt16: CastFrom<DataType::kInt16>(to, in, out, n); break;
    case DataType::kUint16: CastFrom<DataType::kUint16>(to, in, out, n); break;
    case DataType::kUint32: CastFrom<DataType::kUint32>(to, in, out, n); break;
    case DataType::kUint64: CastFrom<DataType::kUint64>(to, in, out, n); break;
    case DataType::kBool: CastFrom<DataType::kBool>(to, in, out, n); break;
    default: break;
  }
}

// ---------------------------------------------------------------------------
// Ops whose output is the input's bytes: Identity, Flatten, Reshape, Squeeze,
// Unsqueeze.

absl::StatusOr<Infos> InferIdentity(const Attributes&, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "Identity"));
  ENGINE_RETURN_IF_ERROR(CheckDataDtype(inputs[0], "Identity"));
  return Infos{MakeInfo(inputs[0].dtype, inputs[0].shape)};
}

absl::StatusOr<Infos> InferFlatten(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "Flatten"));
  ENGINE_RETURN_IF_ERROR(CheckDataDtype(inputs[0], "Flatten"));
  const Dims& in = inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  ENGINE_ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis", 1));
  // Flatten-13: axis in [-r, r], negative counts from the back (-1 is r - 1).
  if (axis < -rank || axis > rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("Flatten: axis ", axis, " is out of range for rank ", rank));
  }
  if (axis < 0) axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= in[i];
  return Infos{MakeInfo(inputs[0].dtype, {outer, inner})};
}

absl::StatusOr<Infos> InferReshape(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "Reshape"));
  ENGINE_RETURN_IF_ERROR(CheckDataDtype(inputs[0], "Reshape"));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> target, ConstantInts(inputs[1], "Reshape: shape"));
  ENGINE_ASSIGN_OR_RETURN(int64_t allowzero, attrs.GetInt("allowzero", 0));
  const Dims& in = inputs[0].shape;
  const int64_t total = NumElements(in);
  auto fail = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("Reshape: cannot reshape ", total, " elements to ", ShapeString(target), why));
  };
  Dims out(target.size());
  int64_t infer_at = -1;
  int64_t known = 1;
  bool has_zero = false;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == -1) {
      if (infer_at >= 0) return fail(" (more than one -1)");
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    if (d < -1) return fail(absl::StrCat(" (invalid dimension ", d, ")"));
    if (d == 0) {
      has_zero = true;
      if (allowzero == 0) {
        // Reshape: 0 copies the corresponding input dimension.
        if (i >= in.size()) {
          return fail(absl::StrCat(" (0 at index ", i, " has no input dimension)"));
        }
        d = in[i];
      }
    }
    out[i] = d;
    // Overflow-checked: a product past int64 cannot equal any real size.
    if (d != 0 && known > std::numeric_limits<int64_t>::max() / d) {
      return fail(absl::StrCat(" (the dimensions' product overflows int64)"));
    }
    known *= d;
  }
  if (infer_at >= 0) {
    if (allowzero != 0 && has_zero) return fail(" (allowzero=1 with both 0 and -1)");
    if (known == 0 || total % known != 0) return fail("");
    out[infer_at] = total / known;
  } else if (known != total) {
    return fail("");
  }
  return Infos{MakeInfo(inputs[0].dtype, std::move(out))};
}

// Squeeze/Unsqueeze axes: the constant input 1 (opset 13), else the legacy
// attribute. `found` tells whether either was given.
absl::StatusOr<std::vector<int64_t>> AxesOperand(const Attributes& attrs,
                                                 std::span<const TensorInfo> inputs,
                                                 const std::string& type, bool* found) {
  *found = false;
  if (inputs.size() > 1 && inputs[1].present) {
    *found = true;
    return ConstantInts(inputs[1], absl::StrCat(type, ": axes"));
  }
  if (attrs.Has("axes")) {
    *found = true;
    return attrs.GetInts("axes");
  }
  return std::vector<int64_t>{};
}

absl::StatusOr<Infos> InferSqueeze(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 2, "Squeeze"));
  ENGINE_RETURN_IF_ERROR(CheckDataDtype(inputs[0], "Squeeze"));
  const Dims& in = inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  bool found = false;
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> axes, AxesOperand(attrs, inputs, "Squeeze", &found));
  std::vector<bool> drop(in.size(), false);
  if (!found) {
    for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
  } else {
    ENGINE_ASSIGN_OR_RETURN(axes, NormalizeAxes(std::move(axes), rank, "Squeeze"));
    for (int64_t a : axes) {
      if (in[a] != 1) {
        return absl::InvalidArgumentError(absl::StrCat("Squeeze: cannot squeeze axis ", a,
                                                       " of size ", in[a], " in ", ShapeString(in)));
      }
      drop[a] = true;
    }
  }
  Dims out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!drop[i]) out.push_back(in[i]);
  }
  return Infos{MakeInfo(inputs[0].dtype, std::move(out))};
}

absl::StatusOr<Infos> InferUnsqueeze(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 2, "Unsqueeze"));
  ENGINE_RETURN_IF_ERROR(CheckDataDtype(inputs[0], "Unsqueeze"));
  const Dims& in = inputs[0].shape;
  bool found = false;
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> axes,
                          AxesOperand(attrs, inputs, "Unsqueeze", &found));
  if (!found) return absl::InvalidArgumentError("Unsqueeze: axes are required");
  const int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  // Unsqueeze-13: axes are relative to the output rank.
  ENGINE_ASSIGN_OR_RETURN(axes, NormalizeAxes(std::move(axes), out_rank, "Unsqueeze"));
  std::vector<bool> inserted(out_rank, false);
  for (int64_t a : axes) inserted[a] = true;
  Dims out(out_rank);
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) out[i] = inserted[i] ? 1 : in[next++];
  return Infos{MakeInfo(inputs[0].dtype, std::move(out))};
}

class CopyKernel : public Kernel {
 public:
  CopyKernel(std::string type, InferImpl infer) : type_(std::move(type)), infer_(infer) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    absl::StatusOr<Infos> out = infer_(attrs, inputs);
    if (out.ok()) {
      ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, *out, type_));
    } else if (out.status().code() == absl::StatusCode::kUnimplemented && outputs.size() == 1 &&
               !inputs.empty() && inputs[0].present && outputs[0].dtype == inputs[0].dtype &&
               NumElements(outputs[0].shape) == NumElements(inputs[0].shape)) {
      // The shape operand is not constant here, but build-time inference
      // already fixed the output shape; the op only copies bytes.
    } else {
      return out.status();
    }
    bytes_ = static_cast<size_t>(NumElements(inputs[0].shape)) * DataTypeSize(inputs[0].dtype);
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    if (bytes_ > 0 && out[0] != in[0]) std::memcpy(out[0], in[0], bytes_);
  }

 private:
  std::string type_;
  InferImpl infer_;
  size_t bytes_ = 0;
};

KernelDef MakeCopyDef(const std::string& type, InferImpl infer) {
  KernelDef d;
  d.type = type;
  d.infer = infer;
  d.create = [type, infer] { return std::unique_ptr<Kernel>(new CopyKernel(type, infer)); };
  return d;
}

// ---------------------------------------------------------------------------
// Transpose.

absl::StatusOr<std::vector<int64_t>> TransposePerm(const Attributes& attrs, size_t rank) {
  std::vector<int64_t> def(rank);
  for (size_t i = 0; i < rank; ++i) def[i] = static_cast<int64_t>(rank - 1 - i);
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> perm, attrs.GetInts("perm", def));
  std::vector<bool> seen(rank, false);
  bool ok = perm.size() == rank;
  for (size_t i = 0; ok && i < perm.size(); ++i) {
    ok = perm[i] >= 0 && perm[i] < static_cast<int64_t>(rank) && !seen[perm[i]];
    if (ok) seen[perm[i]] = true;
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat("Transpose: perm [", absl::StrJoin(perm, ","),
                                                   "] is not a permutation of rank ", rank));
  }
  return perm;
}

absl::StatusOr<Infos> InferTranspose(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "Transpose"));
  ENGINE_RETURN_IF_ERROR(CheckDataDtype(inputs[0], "Transpose"));
  const Dims& in = inputs[0].shape;
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> perm, TransposePerm(attrs, in.size()));
  Dims out(in.size());
  for (size_t i = 0; i < in.size(); ++i) out[i] = in[perm[i]];
  return Infos{MakeInfo(inputs[0].dtype, std::move(out))};
}

class TransposeKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferTranspose(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Transpose"));
    const Dims& in = inputs[0].shape;
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> perm, TransposePerm(attrs, in.size()));
    std::vector<int64_t> in_strides = RowMajorStrides(in);
    std::vector<int64_t> strides(in.size());
    for (size_t i = 0; i < in.size(); ++i) strides[i] = in_strides[perm[i]];
    plan_ = MakeStridedCopy(out[0].shape, strides, 0, DataTypeSize(inputs[0].dtype));
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    RunStridedCopy(plan_, in[0], out[0]);
  }

 private:
  StridedCopy plan_;
};

// ---------------------------------------------------------------------------
// Concat.

absl::StatusOr<Infos> InferConcat(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  if (inputs.empty()) return absl::InvalidArgumentError("Concat expects at least 1 input");
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, inputs.size(), inputs.size(), "Concat"));
  ENGINE_RETURN_IF_ERROR(CheckDataDtype(inputs[0], "Concat"));
  if (!attrs.Has("axis")) return absl::InvalidArgumentError("Concat: attribute 'axis' is required");
  ENGINE_ASSIGN_OR_RETURN(int64_t axis_attr, attrs.GetInt("axis", 0));
  const Dims& first = inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(first.size());
  if (rank == 0) return absl::InvalidArgumentError("Concat: inputs must have rank >= 1");
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, rank);
  if (!axis.ok()) return Annotate(axis.status(), "Concat");
  Dims out = first;
  out[*axis] = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const TensorInfo& t = inputs[k];
    if (t.dtype != inputs[0].dtype) {
      return absl::InvalidArgumentError(absl::StrCat("Concat: input ", k, " has dtype ",
                                                     DataTypeName(t.dtype), ", expected ",
                                                     DataTypeName(inputs[0].dtype)));
    }
    bool ok = static_cast<int64_t>(t.shape.size()) == rank;
    for (int64_t i = 0; ok && i < rank; ++i) ok = i == *axis || t.shape[i] == first[i];
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("Concat: input ", k, " shape ",
                                                     ShapeString(t.shape), " does not match ",
                                                     ShapeString(first), " outside axis ", *axis));
    }
    out[*axis] += t.shape[*axis];
  }
  return Infos{MakeInfo(inputs[0].dtype, std::move(out))};
}

class ConcatKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferConcat(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Concat"));
    const int64_t axis = *NormalizeAxis(attrs.Int("axis", 0), out[0].shape.size());
    const Dims& shape = out[0].shape;
    const size_t elem = DataTypeSize(inputs[0].dtype);
    outer_ = 1;
    for (int64_t i = 0; i < axis; ++i) outer_ *= shape[i];
    int64_t inner = 1;
    for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
    chunk_bytes_.clear();
    for (const TensorInfo& t : inputs) {
      chunk_bytes_.push_back(static_cast<size_t>(t.shape[axis] * inner) * elem);
    }
    row_bytes_ = static_cast<size_t>(shape[axis] * inner) * elem;
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    std::byte* dst = static_cast<std::byte*>(out[0]);
    for (int64_t o = 0; o < outer_; ++o) {
      std::byte* row = dst + o * row_bytes_;
      for (size_t k = 0; k < chunk_bytes_.size(); ++k) {
        const size_t n = chunk_bytes_[k];
        if (n == 0) continue;
        std::memcpy(row, static_cast<const std::byte*>(in[k]) + o * n, n);
        row += n;
      }
    }
  }

 private:
  int64_t outer_ = 0;
  size_t row_bytes_ = 0;
  std::vector<size_t> chunk_bytes_;
};

// ---------------------------------------------------------------------------
// Pad.

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

// Per-axis description of Pad: output extent and the source index (in the
// uncropped input) of each output position, -1 for the constant.
struct PadAxis {
  int64_t out_dim = 0;
  std::vector<int64_t> src;
};

struct PadSetup {
  PadMode mode = PadMode::kConstant;
  std::vector<PadAxis> axes;  // one per input dimension
  Dims out_shape;
};

// `with_sources`: also build each axis's source table (Prepare); shape
// inference needs only the output shape, so a hostile pad of 2^40 is refused
// from the shape by the builder's limits, not by building a 2^40-entry table.
absl::StatusOr<PadSetup> ComputePad(const Attributes& attrs, std::span<const TensorInfo> inputs,
                                    bool with_sources = true) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 4, "Pad"));
  const TensorInfo& data = inputs[0];
  ENGINE_RETURN_IF_ERROR(CheckDataDtype(data, "Pad"));
  const Dims& in = data.shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  PadSetup s;
  ENGINE_ASSIGN_OR_RETURN(std::string mode, attrs.GetString("mode", "constant"));
  if (mode == "constant") {
    s.mode = PadMode::kConstant;
  } else if (mode == "reflect") {
    s.mode = PadMode::kReflect;
  } else if (mode == "edge") {
    s.mode = PadMode::kEdge;
  } else if (mode == "wrap") {
    s.mode = PadMode::kWrap;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("Pad: unknown mode '", mode, "'"));
  }
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> pads, ConstantInts(inputs[1], "Pad: pads"));
  if (inputs.size() > 2 && inputs[2].present) {
    const TensorInfo& cv = inputs[2];
    if (cv.dtype != data.dtype) {
      return absl::InvalidArgumentError(absl::StrCat("Pad: constant_value has dtype ",
                                                     DataTypeName(cv.dtype), ", expected ",
                                                     DataTypeName(data.dtype)));
    }
    if (NumElements(cv.shape) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("Pad: constant_value must be a scalar, got shape ", ShapeString(cv.shape)));
    }
  }
  std::vector<int64_t> axes;
  if (inputs.size() > 3 && inputs[3].present) {
    ENGINE_ASSIGN_OR_RETURN(axes, ConstantInts(inputs[3], "Pad: axes"));
    ENGINE_ASSIGN_OR_RETURN(axes, NormalizeAxes(std::move(axes), rank, "Pad"));
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Pad: expected ", 2 * axes.size(), " pads, got ", pads.size()));
  }
  std::vector<int64_t> begin(rank, 0), end(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    begin[axes[i]] = pads[i];
    end[axes[i]] = pads[i + axes.size()];
  }
  s.axes.resize(rank);
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t n = in[d];
    // Negative pads crop [lo, hi) of the input first; positive pads then
    // extend the cropped range.
    // Pads beyond +-2^62 overflow the extent arithmetic (and any tensor).
    constexpr int64_t kMaxPad = int64_t{1} << 62;
    if (begin[d] < -kMaxPad || begin[d] > kMaxPad || end[d] < -kMaxPad || end[d] > kMaxPad) {
      return absl::InvalidArgumentError(absl::StrCat("Pad: pads ", begin[d], ",", end[d],
                                                     " of axis ", d, " exceed +-2^62"));
    }
    const int64_t lo = std::max<int64_t>(0, -begin[d]);
    const int64_t hi = n - std::max<int64_t>(0, -end[d]);
    const int64_t kept = hi - lo;
    const int64_t before = std::max<int64_t>(0, begin[d]);
    const int64_t after = std::max<int64_t>(0, end[d]);
    if (kept < 0) {
      return absl::InvalidArgumentError(absl::StrCat("Pad: pads ", begin[d], ",", end[d],
                                                     " crop more than axis ", d, " of size ", n));
    }
    PadAxis& ax = s.axes[d];
    if (__builtin_add_overflow(kept, before, &ax.out_dim) ||
        __builtin_add_overflow(ax.out_dim, after, &ax.out_dim)) {
      return absl::InvalidArgumentError(absl::StrCat("Pad: pads ", begin[d], ",", end[d],
                                                     " make axis ", d, " larger than 2^63"));
    }
    if (kept == 0 && ax.out_dim > 0 && s.mode != PadMode::kConstant) {
      return absl::InvalidArgumentError(
          absl::StrCat("Pad: mode '", mode, "' cannot pad empty axis ", d));
    }
    s.out_shape.push_back(ax.out_dim);
    if (!with_sources) continue;
    ax.src.resize(ax.out_dim);
    for (int64_t o = 0; o < ax.out_dim; ++o) {
      int64_t i = o - before;  // index into the cropped range
      if (i < 0 || i >= kept) {
        switch (s.mode) {
          case PadMode::kConstant: i = -1; break;
          case PadMode::kEdge: i = std::clamp<int64_t>(i, 0, kept - 1); break;
          case PadMode::kWrap: i = ((i % kept) + kept) % kept; break;
          case PadMode::kReflect:
            // numpy.pad "reflect" (edge not repeated), periodic with 2(n-1).
            if (kept == 1) {
              i = 0;
            } else {
              const int64_t period = 2 * (kept - 1);
              i = ((i % period) + period) % period;
              if (i >= kept) i = period - i;
            }
            break;
        }
      }
      ax.src[o] = i < 0 ? -1 : lo + i;
    }
  }
  return s;
}

absl::StatusOr<Infos> InferPad(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(PadSetup s, ComputePad(attrs, inputs, /*with_sources=*/false));
  return Infos{MakeInfo(inputs[0].dtype, std::move(s.out_shape))};
}

class PadKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(PadSetup s, ComputePad(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(
        CheckOutputs(outputs, Infos{MakeInfo(inputs[0].dtype, s.out_shape)}, "Pad"));
    elem_ = DataTypeSize(inputs[0].dtype);
    const Dims& in = inputs[0].shape;
    const int64_t rank = static_cast<int64_t>(in.size());
    count_ = NumElements(s.out_shape);
    in_bytes_ = static_cast<size_t>(NumElements(in)) * elem_;
    // Trailing axes that are not padded are folded into a contiguous block.
    last_ = -1;
    for (int64_t d = 0; d < rank; ++d) {
      const PadAxis& ax = s.axes[d];
      bool identity = ax.out_dim == in[d];
      for (int64_t o = 0; identity && o < ax.out_dim; ++o) identity = ax.src[o] == o;
      if (!identity) last_ = d;
    }
    std::vector<int64_t> in_strides = RowMajorStrides(in);
    std::vector<int64_t> out_strides = RowMajorStrides(s.out_shape);
    in_strides_.assign(in_strides.begin(), in_strides.begin() + (last_ + 1));
    out_strides_.assign(out_strides.begin(), out_strides.begin() + (last_ + 1));
    // Runs of consecutive output positions that copy consecutive source
    // positions (or are all constant) become one segment.
    segments_.assign(last_ + 1, {});
    for (int64_t d = 0; d <= last_; ++d) {
      const std::vector<int64_t>& src = s.axes[d].src;
      std::vector<Segment>& segs = segments_[d];
      for (int64_t o = 0; o < static_cast<int64_t>(src.size()); ++o) {
        if (!segs.empty()) {
          Segment& b = segs.back();
          const bool extends = b.src < 0 ? src[o] < 0 : src[o] == b.src + b.len;
          if (extends) {
            ++b.len;
            continue;
          }
        }
        segs.push_back(Segment{o, 1, src[o]});
      }
    }
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    if (count_ == 0) return;
    const auto* src = static_cast<const std::byte*>(in[0]);
    auto* dst = static_cast<std::byte*>(out[0]);
    if (last_ < 0) {
      std::memcpy(dst, src, in_bytes_);
      return;
    }
    std::byte value[8] = {};
    if (in.size() > 2 && in[2] != nullptr) std::memcpy(value, in[2], elem_);
    Walk(0, src, dst, value);
  }

 private:
  struct Segment {
    int64_t out_begin;
    int64_t len;
    int64_t src;  // first source index, -1 for constant
  };

  void Walk(int64_t d, const std::byte* in, std::byte* out, const std::byte* value) const {
    const int64_t so = out_strides_[d] * static_cast<int64_t>(elem_);
    const int64_t si = in_strides_[d] * static_cast<int64_t>(elem_);
    for (const Segment& s : segments_[d]) {
      std::byte* o = out + s.out_begin * so;
      if (s.src < 0) {
        FillElems(o, s.len * out_strides_[d], value, elem_);
      } else if (d == last_) {
        // Dimensions after last_ are identical in input and output.
        std::memcpy(o, in + s.src * si, static_cast<size_t>(s.len * so));
      } else {
        for (int64_t j = 0; j < s.len; ++j) Walk(d + 1, in + (s.src + j) * si, o + j * so, value);
      }
    }
  }

  size_t elem_ = 0;
  int64_t count_ = 0;
  size_t in_bytes_ = 0;
  int64_t last_ = -1;
  std::vector<int64_t> in_strides_;
  std::vector<int64_t> out_strides_;
  std::vector<std::vector<Segment>> segments_;
};

// ---------------------------------------------------------------------------
// Shape.

absl::StatusOr<Dims> ShapeSlice(const Attributes& attrs, const TensorInfo& input) {
  const int64_t rank = static_cast<int64_t>(input.shape.size());
  ENGINE_ASSIGN_OR_RETURN(int64_t start, attrs.GetInt("start", 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t end, attrs.GetInt("end", rank));
  // Shape-15: negative values count from the back; both clamp to [0, rank].
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  Dims out;
  for (int64_t i = start; i < end; ++i) out.push_back(input.shape[i]);
  return out;
}

absl::StatusOr<Infos> InferShape(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "Shape"));
  ENGINE_ASSIGN_OR_RETURN(Dims dims, ShapeSlice(attrs, inputs[0]));
  return Infos{MakeInfo(DataType::kInt64, {static_cast<int64_t>(dims.size())})};
}

class ShapeKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferShape(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Shape"));
    ENGINE_ASSIGN_OR_RETURN(dims_, ShapeSlice(attrs, inputs[0]));
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const>,
           std::span<void* const> out) const override {
    if (!dims_.empty()) std::memcpy(out[0], dims_.data(), dims_.size() * sizeof(int64_t));
  }

 private:
  Dims dims_;
};

// ---------------------------------------------------------------------------
// Gather.

absl::StatusOr<Infos> InferGather(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "Gather"));
  const TensorInfo& data = inputs[0];
  const TensorInfo& indices = inputs[1];
  ENGINE_RETURN_IF_ERROR(CheckDataDtype(data, "Gather"));
  if (indices.dtype != DataType::kInt64 && indices.dtype != DataType::kInt32) {
    return absl::InvalidArgumentError(
        absl::StrCat("Gather: indices must be int32 or int64, got ", DataTypeName(indices.dtype)));
  }
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  if (rank == 0) return absl::InvalidArgumentError("Gather: data must have rank >= 1");
  ENGINE_ASSIGN_OR_RETURN(int64_t axis_attr, attrs.GetInt("axis", 0));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, rank);
  if (!axis.ok()) return Annotate(axis.status(), "Gather");
  const int64_t dim = data.shape[*axis];
  if (indices.constant != nullptr) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> idx, ConstantInts(indices, "Gather: indices"));
    for (int64_t i : idx) {
      if (i < -dim || i >= dim) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Gather: index ", i, " is out of range for axis ", *axis, " of size ", dim));
      }
    }
  }
  Dims out(data.shape.begin(), data.shape.begin() + *axis);
  out.insert(out.end(), indices.shape.begin(), indices.shape.end());
  out.insert(out.end(), data.shape.begin() + *axis + 1, data.shape.end());
  return Infos{MakeInfo(data.dtype, std::move(out))};
}

class GatherKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferGather(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Gather"));
    const Dims& shape = inputs[0].shape;
    const int64_t axis = *NormalizeAxis(attrs.Int("axis", 0), shape.size());
    outer_ = 1;
    for (int64_t i = 0; i < axis; ++i) outer_ *= shape[i];
    int64_t inner = 1;
    for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
    dim_ = shape[axis];
    chunk_ = static_cast<size_t>(inner) * DataTypeSize(inputs[0].dtype);
    num_indices_ = NumElements(inputs[1].shape);
    indices_int32_ = inputs[1].dtype == DataType::kInt32;
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const auto* data = static_cast<const std::byte*>(in[0]);
    auto* dst = static_cast<std::byte*>(out[0]);
    for (int64_t o = 0; o < outer_; ++o) {
      const std::byte* block = data + o * dim_ * chunk_;
      for (int64_t j = 0; j < num_indices_; ++j) {
        int64_t idx = indices_int32_ ? static_cast<const int32_t*>(in[1])[j]
                                     : static_cast<const int64_t*>(in[1])[j];
        if (idx < 0) idx += dim_;  // Gather-13: negative indices count from the back
        if (idx >= 0 && idx < dim_) {
          std::memcpy(dst, block + idx * chunk_, chunk_);
        } else {
          std::memset(dst, 0, chunk_);
        }
        dst += chunk_;
      }
    }
  }

 private:
  int64_t outer_ = 0;
  int64_t dim_ = 0;
  size_t chunk_ = 0;
  int64_t num_indices_ = 0;
  bool indices_int32_ = false;
};

// ---------------------------------------------------------------------------
// ConstantOfShape.

struct ConstantOfShapeSetup {
  DataType dtype = DataType::kFloat32;
  Dims shape;
  std::byte value[8] = {};
};

template <DataType DT>
void StoreValue(bool from_float, float f, int64_t i, std::byte* out) {
  typename Elem<DT>::S v = from_float ? Elem<DT>::FromF(f) : Elem<DT>::FromI(i);
  std::memcpy(out, &v, sizeof(v));
}

absl::StatusOr<ConstantOfShapeSetup> ComputeConstantOfShape(const Attributes& attrs,
                                                            std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "ConstantOfShape"));
  ConstantOfShapeSetup s;
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                          ConstantInts(inputs[0], "ConstantOfShape: shape"));
  for (int64_t d : shape) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("ConstantOfShape: invalid shape ", ShapeString(shape)));
    }
  }
  s.shape = std::move(shape);
  ENGINE_ASSIGN_OR_RETURN(int64_t code, attrs.GetInt("dtype", 1));
  s.dtype = static_cast<DataType>(code);
  if (!IsCastDtype(s.dtype)) {
    return absl::UnimplementedError(absl::StrCat("ConstantOfShape: unsupported dtype code ", code));
  }
  ENGINE_ASSIGN_OR_RETURN(float vf, attrs.GetFloat("value_float", 0.0f));
  ENGINE_ASSIGN_OR_RETURN(int64_t vi, attrs.GetInt("value_int", 0));
  const bool float_type = s.dtype == DataType::kFloat32 || s.dtype == DataType::kFloat16 ||
                          s.dtype == DataType::kBFloat16 || s.dtype == DataType::kFloat64;
  // Use the attribute matching the output type when given, else the other.
  bool from_float = float_type ? !(attrs.Has("value_int") && !attrs.Has("value_float"))
                               : (attrs.Has("value_float") && !attrs.Has("value_int"));
  switch (s.dtype) {
    case DataType::kFloat32: StoreValue<DataType::kFloat32>(from_float, vf, vi, s.value); break;
    case DataType::kFloat16: StoreValue<DataType::kFloat16>(from_float, vf, vi, s.value); break;
    case DataType::kBFloat16: StoreValue<DataType::kBFloat16>(from_float, vf, vi, s.value); break;
    case DataType::kFloat64: StoreValue<DataType::kFloat64>(from_float, vf, vi, s.value); break;
    case DataType::kInt32: StoreValue<DataType::kInt32>(from_float, vf, vi, s.value); break;
    case DataType::kInt64: StoreValue<DataType::kInt64>(from_float, vf, vi, s.value); break;
    case DataType::kInt8: StoreValue<DataType::kInt8>(from_float, vf, vi, s.value); break;
    case DataType::kUint8: StoreValue<DataType::kUint8>(from_float, vf, vi, s.value); break;
    case DataType::kBool: StoreValue<DataType::kBool>(from_float, vf, vi, s.value); break;
    default: break;
  }
  return s;
}

absl::StatusOr<Infos> InferConstantOfShape(const Attributes& attrs,
                                           std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(ConstantOfShapeSetup s, ComputeConstantOfShape(attrs, inputs));
  return Infos{MakeInfo(s.dtype, std::move(s.shape))};
}

class ConstantOfShapeKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(setup_, ComputeConstantOfShape(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(
        CheckOutputs(outputs, Infos{MakeInfo(setup_.dtype, setup_.shape)}, "ConstantOfShape"));
    count_ = NumElements(setup_.shape);
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const>,
           std::span<void* const> out) const override {
    FillElems(static_cast<std::byte*>(out[0]), count_, setup_.value, DataTypeSize(setup_.dtype));
  }

 private:
  ConstantOfShapeSetup setup_;
  int64_t count_ = 0;
};

// ---------------------------------------------------------------------------
// Cast.

absl::StatusOr<Infos> InferCast(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "Cast"));
  if (!attrs.Has("to")) return absl::InvalidArgumentError("Cast: attribute 'to' is required");
  ENGINE_ASSIGN_OR_RETURN(int64_t to, attrs.GetInt("to", 0));
  const DataType dst = static_cast<DataType>(to);
  if (!IsCastDtype(dst)) {
    return absl::UnimplementedError(absl::StrCat("Cast: unsupported target type code ", to));
  }
  if (!IsCastDtype(inputs[0].dtype)) {
    return absl::UnimplementedError(
        absl::StrCat("Cast: unsupported source dtype ", DataTypeName(inputs[0].dtype)));
  }
  return Infos{MakeInfo(dst, inputs[0].shape)};
}

// CastLike: Cast to the dtype of input 1 (`target_type`, values unread).
absl::StatusOr<Infos> InferCastLike(const Attributes&, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "CastLike"));
  if (!inputs[0].present || !inputs[1].present) {
    return absl::InvalidArgumentError("CastLike: inputs 'input' and 'target_type' are required");
  }
  if (!IsCastDtype(inputs[1].dtype)) {
    return absl::UnimplementedError(absl::StrCat("CastLike: unsupported target dtype ",
                                                 DataTypeName(inputs[1].dtype),
                                                 " of input 'target_type'"));
  }
  if (!IsCastDtype(inputs[0].dtype)) {
    return absl::UnimplementedError(
        absl::StrCat("CastLike: unsupported source dtype ", DataTypeName(inputs[0].dtype)));
  }
  return Infos{MakeInfo(inputs[1].dtype, inputs[0].shape)};
}

// Cast, or CastLike when `like` (the target dtype is that of input 1).
class CastKernel : public Kernel {
 public:
  explicit CastKernel(bool like = false) : like_(like) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out,
                            like_ ? InferCastLike(attrs, inputs) : InferCast(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, like_ ? "CastLike" : "Cast"));
    from_ = inputs[0].dtype;
    to_ = out[0].dtype;
    count_ = NumElements(inputs[0].shape);
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    if (count_ == 0) return;
    if (from_ == to_) {
      if (out[0] != in[0]) std::memcpy(out[0], in[0], count_ * DataTypeSize(from_));
      return;
    }
    CastBuffer(from_, to_, in[0], out[0], count_);
  }

 private:
  bool like_;
  DataType from_ = DataType::kUndefined;
  DataType to_ = DataType::kUndefined;
  int64_t count_ = 0;
};

class CastLikeKernel final : public CastKernel {
 public:
  CastLikeKernel() : CastKernel(true) {}
};

// ---------------------------------------------------------------------------
// EyeLike.

struct EyeLikeSetup {
  DataType dtype = DataType::kFloat32;
  Dims shape;             // [rows, cols]
  int64_t k = 0;          // diagonal offset
  std::byte one[8] = {};  // 1 in `dtype`
};

absl::StatusOr<EyeLikeSetup> ComputeEyeLike(const Attributes& attrs,
                                            std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "EyeLike"));
  const TensorInfo& x = inputs[0];
  if (!x.present) return absl::InvalidArgumentError("EyeLike: input 'input' is absent");
  if (x.shape.size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat("EyeLike: input 'input' has shape ",
                                                   ShapeString(x.shape), ", expected rank 2"));
  }
  EyeLikeSetup s;
  s.shape = x.shape;
  ENGINE_ASSIGN_OR_RETURN(s.k, attrs.GetInt("k", 0));
  if (attrs.Has("dtype")) {
    ENGINE_ASSIGN_OR_RETURN(int64_t code, attrs.GetInt("dtype", 1));
    const std::optional<DataType> dt = DataTypeFromCode(code);
    if (!dt || !IsCastDtype(*dt)) {
      return absl::UnimplementedError(
          absl::StrCat("EyeLike: attribute 'dtype' is ", code, ", an unsupported type code"));
    }
    s.dtype = *dt;
  } else {
    s.dtype = x.dtype;
    if (!IsCastDtype(s.dtype)) {
      return absl::UnimplementedError(
          absl::StrCat("EyeLike: unsupported dtype ", DataTypeName(s.dtype), " of input 'input'"));
    }
  }
  switch (s.dtype) {
    case DataType::kFloat32: StoreValue<DataType::kFloat32>(false, 0, 1, s.one); break;
    case DataType::kFloat16: StoreValue<DataType::kFloat16>(false, 0, 1, s.one); break;
    case DataType::kBFloat16: StoreValue<DataType::kBFloat16>(false, 0, 1, s.one); break;
    case DataType::kFloat64: StoreValue<DataType::kFloat64>(false, 0, 1, s.one); break;
    case DataType::kInt32: StoreValue<DataType::kInt32>(false, 0, 1, s.one); break;
    case DataType::kInt64: StoreValue<DataType::kInt64>(false, 0, 1, s.one); break;
    case DataType::kInt8: StoreValue<DataType::kInt8>(false, 0, 1, s.one); break;
    case DataType::kUint8: StoreValue<DataType::kUint8>(false, 0, 1, s.one); break;
    case DataType::kBool: StoreValue<DataType::kBool>(false, 0, 1, s.one); break;
    default: break;
  }
  return s;
}

absl::StatusOr<Infos> InferEyeLike(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(EyeLikeSetup s, ComputeEyeLike(attrs, inputs));
  return Infos{MakeInfo(s.dtype, std::move(s.shape))};
}

class EyeLikeKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(s_, ComputeEyeLike(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, Infos{MakeInfo(s_.dtype, s_.shape)}, "EyeLike"));
    const int64_t rows = s_.shape[0], cols = s_.shape[1];
    // Rows i with 0 <= i + k < cols; none when the diagonal misses the matrix
    // (compared before adding, so no k overflows).
    if (s_.k >= cols || s_.k <= -rows) {
      first_row_ = last_row_ = 0;
    } else {
      first_row_ = std::max<int64_t>(0, -s_.k);
      last_row_ = std::min(rows, cols - s_.k);
    }
    return absl::OkStatus();
  }

  // Reads no input data (KernelDef::data_independent).
  void Run(const RunContext&, std::span<const void* const>,
           std::span<void* const> out) const override {
    const size_t elem = DataTypeSize(s_.dtype);
    auto* y = static_cast<std::byte*>(out[0]);
    const int64_t cols = s_.shape[1];
    std::memset(y, 0, static_cast<size_t>(s_.shape[0] * cols) * elem);
    for (int64_t i = first_row_; i < last_row_; ++i) {
      std::memcpy(y + static_cast<size_t>(i * cols + i + s_.k) * elem, s_.one, elem);
    }
  }

 private:
  EyeLikeSetup s_;
  int64_t first_row_ = 0, last_row_ = 0;
};

// ---------------------------------------------------------------------------
// Slice.

struct SliceSetup {
  Dims out_shape;
  std::vector<int64_t> starts;  // per input dimension, after clamping
  std::vector<int64_t> steps;   // per input dimension
};

absl::StatusOr<SliceSetup> ComputeSlice(std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 3, 5, "Slice"));
  ENGINE_RETURN_IF_ERROR(CheckDataDtype(inputs[0], "Slice"));
  const Dims& in = inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> starts, ConstantInts(inputs[1], "Slice: starts"));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> ends, ConstantInts(inputs[2], "Slice: ends"));
  if (starts.size() != ends.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Slice: ", starts.size(), " starts but ", ends.size(), " ends"));
  }
  std::vector<int64_t> axes;
  if (inputs.size() > 3 && inputs[3].present) {
    ENGINE_ASSIGN_OR_RETURN(axes, ConstantInts(inputs[3], "Slice: axes"));
    if (axes.size() != starts.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Slice: ", axes.size(), " axes but ", starts.size(), " starts"));
    }
    ENGINE_ASSIGN_OR_RETURN(axes, NormalizeAxes(std::move(axes), rank, "Slice"));
  } else {
    if (static_cast<int64_t>(starts.size()) > rank) {
      return absl::InvalidArgumentError(
          absl::StrCat("Slice: ", starts.size(), " starts for rank ", rank));
    }
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  std::vector<int64_t> steps(starts.size(), 1);
  if (inputs.size() > 4 && inputs[4].present) {
    ENGINE_ASSIGN_OR_RETURN(steps, ConstantInts(inputs[4], "Slice: steps"));
    if (steps.size() != starts.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Slice: ", steps.size(), " steps but ", starts.size(), " starts"));
    }
  }
  SliceSetup s;
  s.out_shape = in;
  s.starts.assign(rank, 0);
  s.steps.assign(rank, 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = axes[i];
    const int64_t dim = in[a];
    int64_t step = steps[i];
    if (step == 0) return absl::InvalidArgumentError("Slice: step must not be 0");
    // Avoid overflow in -step; any |step| >= dim behaves the same.
    if (step == std::numeric_limits<int64_t>::min()) step = -std::numeric_limits<int64_t>::max();
    int64_t start = starts[i];
    int64_t end = ends[i];
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    int64_t len;
    if (dim == 0) {
      len = 0;
    } else if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      len = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      len = start > end ? (start - end - 1) / (-step) + 1 : 0;
    }
    s.out_shape[a] = len;
    s.starts[a] = len > 0 ? start : 0;
    s.steps[a] = len > 1 ? step : 1;
  }
  return s;
}

absl::StatusOr<Infos> InferSlice(const Attributes&, std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(SliceSetup s, ComputeSlice(inputs));
  return Infos{MakeInfo(inputs[0].dtype, std::move(s.out_shape))};
}

class SliceKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes&, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(SliceSetup s, ComputeSlice(inputs));
    ENGINE_RETURN_IF_ERROR(
        CheckOutputs(outputs, Infos{MakeInfo(inputs[0].dtype, s.out_shape)}, "Slice"));
    const Dims& in = inputs[0].shape;
    std::vector<int64_t> in_strides = RowMajorStrides(in);
    std::vector<int64_t> strides(in.size());
    int64_t offset = 0;
    for (size_t d = 0; d < in.size(); ++d) {
      strides[d] = in_strides[d] * s.steps[d];
      offset += in_strides[d] * s.starts[d];
    }
    plan_ = MakeStridedCopy(s.out_shape, strides, offset, DataTypeSize(inputs[0].dtype));
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    RunStridedCopy(plan_, in[0], out[0]);
  }

 private:
  StridedCopy plan_;
};

template <typename KernelT>
KernelDef Def(const std::string& type, InferImpl infer) {
  return MakeDef<KernelT>(type, infer);
}

}  // namespace

KernelDef MakeIdentityDef() { return MakeCopyDef("Identity", InferIdentity); }
KernelDef MakeFlattenDef() { return MakeCopyDef("Flatten", InferFlatten); }
KernelDef MakeReshapeDef() { return MakeCopyDef("Reshape", InferReshape); }
KernelDef MakeSqueezeDef() { return MakeCopyDef("Squeeze", InferSqueeze); }
KernelDef MakeUnsqueezeDef() { return MakeCopyDef("Unsqueeze", InferUnsqueeze); }
KernelDef MakeTransposeDef() { return Def<TransposeKernel>("Transpose", InferTranspose); }
KernelDef MakeConcatDef() { return Def<ConcatKernel>("Concat", InferConcat); }
KernelDef MakePadDef() { return Def<PadKernel>("Pad", InferPad); }
KernelDef MakeShapeDef() {
  KernelDef def = Def<ShapeKernel>("Shape", InferShape);
  def.data_independent = true;
  return def;
}
KernelDef MakeGatherDef() { return Def<GatherKernel>("Gather", InferGather); }
KernelDef MakeConstantOfShapeDef() {
  return Def<ConstantOfShapeKernel>("ConstantOfShape", InferConstantOfShape);
}
KernelDef MakeCastDef() { return Def<CastKernel>("Cast", InferCast); }
KernelDef MakeCastLikeDef() { return Def<CastLikeKernel>("CastLike", InferCastLike); }
KernelDef MakeEyeLikeDef() {
  KernelDef def = Def<EyeLikeKernel>("EyeLike", InferEyeLike);
  def.data_independent = true;
  return def;
}
KernelDef MakeSliceDef() { return Def<SliceKernel>("Slice", InferSlice); }

}  // namespace engine::kernels
