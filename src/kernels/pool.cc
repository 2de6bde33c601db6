// Pooling: MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool (ONNX
// opset 13+; AveragePool's `dilations` from opset 19).
//
//   X [N, C, D1, ..., Dk]  (k = 1, 2 or 3 spatial dims)
//   Y [N, C, O1, ..., Ok]  (Global*: [N, C, 1, ..., 1])
//
// MaxPool / AveragePool attributes (Operators.md#MaxPool, #AveragePool):
// kernel_shape (required), strides, pads [x1_begin, ..., x1_end, ...],
// dilations, auto_pad, ceil_mode, count_include_pad (AveragePool),
// storage_order (MaxPool; 0 or 1, it orders the Indices output).
//
// MaxPoolWithIndices (the engine's layer for a MaxPool whose optional second
// output Indices is used; written by the MaxPool importer, not an ONNX op):
// the outputs Y and Indices, int64 of Y's shape. Indices[j] is the position
// of the maximum of window j in X flattened to 1-D (the plane offset
// (n * C + c) * D1 * ... * Dk included, padding not counted, so values lie in
// [0, N*C*D1*..*Dk)), with the spatial dims ordered row-major
// (storage_order 0) or column-major (storage_order 1: D1 varies fastest), as
// ONNX Runtime computes it. The first tap inside the input claims the window
// and a later tap replaces it only when greater, so a tie keeps the first tap
// in row-major window order and a NaN is never the maximum (an all-NaN window
// gives the dtype's lowest value at its first tap). MaxUnpool
// (src/kernels/reorder.cc) reads the storage_order 0 positions back.
//
// Output size per spatial axis (effective kernel ek = (k - 1) * d + 1), as in
// onnx/reference/ops/op_pool_common.py:
//   NOTSET: O = floor((D + pb + pe - ek) / s) + 1, or with ceil_mode
//           O = ceil((D + pb + pe - ek) / s) + 1, minus 1 when the last window
//           would start at or past D + pb (it must start inside the input or
//           the left padding).
//   VALID:  as NOTSET with zero pads (ceil_mode ignored).
//   SAME_UPPER / SAME_LOWER: O = ceil(D / s); total pad
//           max(0, (O - 1) * s + ek - D) split with the odd unit at the end
//           (UPPER) or the beginning (LOWER); ceil_mode ignored.
//
// Window of output o along an axis: taps start + t * d for t in [0, k), with
// start = o * s - pb. Max pooling ignores taps outside the input. Average
// pooling divides the sum of the taps inside the input by
//   count_include_pad = 0: the number of taps inside the input;
//   count_include_pad = 1: the number of taps inside the padded input
//     [-pb, D + pe), i.e. padding counts but the overhang that ceil_mode adds
//     past the end padding does not (PyTorch, onnxruntime and the loop
//     reference of onnx <= 1.16).
//
// dtypes: float32 for every op; MaxPool and GlobalMaxPool also int8/uint8.
//
// Int8AveragePool / Int8GlobalAveragePool (the engine's INT8 average pooling,
// written by the quantize-int8 rewrite; not ONNX ops): X int8 at scale
// `x_scale` (float attribute, > 0), the other attributes as AveragePool /
// GlobalAveragePool. Each window's taps inside the input are summed exactly
// in int32 and divided by AveragePool's count (count_include_pad as above):
//   with `y_scale` (float > 0): Y int8 = clamp(Requantize(sum, M0, shift),
//     -128, 127) where M0 * 2^-shift = QuantizeMultiplier(x_scale / (y_scale *
//     count)) (src/common/requant.h: one 64-bit product, ties toward +inf);
//   without: Y float32 = float(sum) * (x_scale / float(count)).
// A window with no tap inside the input gives 0.
//
// Large layers split their planes (n, c) over RunContext::threads threads;
// planes are independent, so outputs do not depend on the thread count.
//
// 1-D and 2-D MaxPool without dilation (ResNet's 3x3/2 stem pool) take a
// separable path: per output row, the elementwise max of the window's input
// rows into a row buffer whose padding columns hold the dtype's lowest value,
// then the max of each window's columns in that buffer. Both passes are
// contiguous or constant-stride loops the compiler vectorizes; the result is
// the same value as the general loop's (max is associative and NaN inputs are
// skipped by both, since the accumulator starts at the lowest value).
#include <algorithm>
#include <array>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/requant.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

enum class PoolKind { kMax, kAverage, kGlobalMax, kGlobalAverage, kMaxIndices };

constexpr int kMaxSpatial = 3;
using Dims3 = std::array<int64_t, kMaxSpatial>;

const char* PoolName(PoolKind kind) {
  switch (kind) {
    case PoolKind::kMax:
      return "MaxPool";
    case PoolKind::kMaxIndices:
      return "MaxPoolWithIndices";
    case PoolKind::kAverage:
      return "AveragePool";
    case PoolKind::kGlobalMax:
      return "GlobalMaxPool";
    case PoolKind::kGlobalAverage:
      return "GlobalAveragePool";
  }
  return "";
}

constexpr bool IsMax(PoolKind kind) {
  return kind == PoolKind::kMax || kind == PoolKind::kGlobalMax || kind == PoolKind::kMaxIndices;
}
constexpr bool IsGlobal(PoolKind kind) {
  return kind == PoolKind::kGlobalMax || kind == PoolKind::kGlobalAverage;
}

// Taps of one output position along one axis: input index start + t * d for
// t in [lo, hi) are inside the input; `count` taps (from t = 0) are inside the
// padded input.
struct AxisWindow {
  int64_t start = 0;
  int64_t lo = 0;
  int64_t hi = 1;
  int64_t count = 1;
};

struct PoolParams {
  DataType dtype = DataType::kUndefined;
  int64_t planes = 0;  // N * C
  bool count_include_pad = false;
  bool column_major = false;  // storage_order 1 (the Indices output's order)
  int nsp = 0;                // spatial axes of the model's X
  // Spatial geometry normalized to 3-D (leading unit axes), as in conv.cc.
  Dims3 in{1, 1, 1};
  Dims3 out{1, 1, 1};
  Dims3 kernel{1, 1, 1};
  Dims3 stride{1, 1, 1};
  Dims3 dilation{1, 1, 1};
  Dims3 pad_begin{0, 0, 0};
  Dims3 pad_end{0, 0, 0};
  Dims y_shape;
};


// `int8_average`: the Int8AveragePool / Int8GlobalAveragePool form, whose X
// must be int8.
absl::StatusOr<PoolParams> ParsePool(PoolKind kind, const Attributes& attrs,
                                     std::span<const TensorInfo> inputs,
                                     bool int8_average = false) {
  const std::string name =
      int8_average ? absl::StrCat("Int8", PoolName(kind)) : std::string(PoolName(kind));
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, name));
  const TensorInfo& x = inputs[0];
  if (int8_average && x.dtype != DataType::kInt8) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": X must be int8, got ", DataTypeName(x.dtype)));
  }
  const bool int_ok = (IsMax(kind) && (x.dtype == DataType::kInt8 || x.dtype == DataType::kUint8)) ||
                      int8_average;
  if (x.dtype != DataType::kFloat32 && !int_ok) {
    return absl::UnimplementedError(
        absl::StrCat(name, ": dtype ", DataTypeName(x.dtype), " is not supported"));
  }
  const size_t min_rank = IsGlobal(kind) ? 2 : 3;
  if (x.shape.size() < min_rank) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": X has shape ", ShapeString(x.shape), ", expected [N,C,D1,...]"));
  }
  const size_t nsp = x.shape.size() - 2;
  PoolParams p;
  p.dtype = x.dtype;
  p.nsp = static_cast<int>(nsp);
  p.planes = x.shape[0] * x.shape[1];
  p.y_shape = {x.shape[0], x.shape[1]};
  if (IsGlobal(kind)) {
    // One window over the whole (flattened) spatial extent.
    p.in[2] = NumElements(Dims(x.shape.begin() + 2, x.shape.end()));
    p.kernel[2] = p.in[2];
    p.y_shape.resize(x.shape.size(), 1);
    if (p.in[2] == 0) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": X has shape ", ShapeString(x.shape),
                                                     " with an empty spatial extent"));
    }
    return p;
  }
  if (nsp > kMaxSpatial) {
    return absl::UnimplementedError(
        absl::StrCat(name, ": ", nsp, "-D pooling is not supported (at most 3-D)"));
  }
  if (!attrs.Has("kernel_shape")) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": attribute 'kernel_shape' is required"));
  }
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> kernel,
                          GetSpatialInts(attrs, name, "kernel_shape", nsp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> strides,
                          GetSpatialInts(attrs, name, "strides", nsp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> dilations,
                          GetSpatialInts(attrs, name, "dilations", nsp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> pads,
                          GetSpatialInts(attrs, name, "pads", 2 * nsp, 0, 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t ceil_mode, attrs.GetInt("ceil_mode", 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t count_include_pad, attrs.GetInt("count_include_pad", 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t storage_order, attrs.GetInt("storage_order", 0));
  ENGINE_ASSIGN_OR_RETURN(std::string auto_pad, GetAutoPad(attrs, name));
  if (storage_order != 0 && storage_order != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": storage_order ", storage_order, " must be 0 or 1"));
  }
  p.column_major = storage_order == 1;
  p.count_include_pad = kind == PoolKind::kAverage && count_include_pad != 0;

  const size_t lead = kMaxSpatial - nsp;
  for (size_t i = 0; i < nsp; ++i) {
    const size_t a = lead + i;
    const int64_t in = x.shape[2 + i];
    const int64_t s = strides[i];
    const int64_t ek = (kernel[i] - 1) * dilations[i] + 1;
    p.in[a] = in;
    p.kernel[a] = kernel[i];
    p.stride[a] = s;
    p.dilation[a] = dilations[i];
    int64_t out = 0;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out = SamePadding(auto_pad, in, s, ek, &p.pad_begin[a], &p.pad_end[a]);
    } else {
      if (auto_pad == "NOTSET") {
        p.pad_begin[a] = pads[i];
        p.pad_end[a] = pads[nsp + i];
      }
      const int64_t span = in + p.pad_begin[a] + p.pad_end[a] - ek;
      if (span < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, ": spatial axis ", i, " of X (size ", in, ", padded to ",
            in + p.pad_begin[a] + p.pad_end[a], ") is smaller than the dilated kernel (", ek, ")"));
      }
      if (ceil_mode != 0 && auto_pad == "NOTSET") {
        out = (span + s - 1) / s + 1;
        // The last window must start inside the input or the left padding.
        if ((out - 1) * s >= in + p.pad_begin[a]) --out;
      } else {
        out = span / s + 1;
      }
    }
    p.out[a] = out;
    p.y_shape.push_back(out);
  }
  return p;
}

template <PoolKind kKind>
absl::StatusOr<std::vector<TensorInfo>> InferPool(const Attributes& attrs,
                                                  std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(PoolParams p, ParsePool(kKind, attrs, inputs));
  if (kKind == PoolKind::kMaxIndices) {
    return std::vector<TensorInfo>{MakeInfo(p.dtype, p.y_shape),
                                   MakeInfo(DataType::kInt64, p.y_shape)};
  }
  return std::vector<TensorInfo>{MakeInfo(p.dtype, p.y_shape)};
}

using Windows = std::array<std::vector<AxisWindow>, kMaxSpatial>;

// The windows of every output position along each axis.
void BuildWindows(const PoolParams& p, Windows& windows) {
  for (int a = 0; a < kMaxSpatial; ++a) {
    windows[a].resize(p.out[a]);
    const int64_t k = p.kernel[a], d = p.dilation[a], in = p.in[a];
    for (int64_t o = 0; o < p.out[a]; ++o) {
      AxisWindow& w = windows[a][o];
      w.start = o * p.stride[a] - p.pad_begin[a];
      // Smallest t with start + t * d >= 0, and end of t with start + t * d < limit.
      w.lo = std::min(k, w.start >= 0 ? 0 : (-w.start + d - 1) / d);
      auto end_before = [&](int64_t limit) {
        return limit - w.start <= 0 ? 0 : std::min(k, (limit - w.start + d - 1) / d);
      };
      w.hi = std::max(w.lo, end_before(in));
      w.count = end_before(in + p.pad_end[a]);
    }
  }
}

// Sum (in Acc) of the taps of window (w0, w1, w2) inside plane `xp`.
template <typename Acc, typename T>
Acc WindowSum(const PoolParams& p, const T* xp, const AxisWindow& w0, const AxisWindow& w1,
              const AxisWindow& w2) {
  const int64_t in1 = p.in[1], in2 = p.in[2];
  const int64_t d0 = p.dilation[0], d1 = p.dilation[1], d2 = p.dilation[2];
  Acc sum = 0;
  for (int64_t t0 = w0.lo; t0 < w0.hi; ++t0) {
    for (int64_t t1 = w1.lo; t1 < w1.hi; ++t1) {
      const T* row = xp + ((w0.start + t0 * d0) * in1 + w1.start + t1 * d1) * in2 + w2.start;
      for (int64_t t2 = w2.lo; t2 < w2.hi; ++t2) sum += row[t2 * d2];
    }
  }
  return sum;
}

// AveragePool's divisor for window (w0, w1, w2) (see the file comment).
int64_t WindowCount(const PoolParams& p, const AxisWindow& w0, const AxisWindow& w1,
                    const AxisWindow& w2) {
  return p.count_include_pad ? w0.count * w1.count * w2.count
                             : (w0.hi - w0.lo) * (w1.hi - w1.lo) * (w2.hi - w2.lo);
}

template <PoolKind kKind>
class PoolKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParsePool(kKind, attrs, inputs));
    constexpr size_t kOutputs = kKind == PoolKind::kMaxIndices ? 2 : 1;
    if (outputs.size() != kOutputs || outputs[0].shape != p_.y_shape ||
        (kOutputs == 2 &&
         (outputs[1].shape != p_.y_shape || outputs[1].dtype != DataType::kInt64))) {
      return absl::InvalidArgumentError(absl::StrCat(PoolName(kKind), ": expected ", kOutputs,
                                                     " output(s) of shape ",
                                                     ShapeString(p_.y_shape)));
    }
    BuildWindows(p_, windows_);
    separable_ = kKind == PoolKind::kMax && p_.in[0] == 1 && p_.out[0] == 1 &&
                 p_.kernel[0] == 1 && p_.dilation[1] == 1 && p_.dilation[2] == 1;
    if (separable_) {
      // Padded row: input column c at pad_begin + c; every window, including
      // a ceil_mode overhang past the end padding, lies inside.
      row_width_ = std::max(p_.pad_begin[2] + p_.in[2],
                            (p_.out[2] - 1) * p_.stride[2] + p_.kernel[2]);
      scratch_.per_thread = static_cast<size_t>(row_width_) * DataTypeSize(p_.dtype);
    }
    return absl::OkStatus();
  }

  size_t ScratchBytes(int threads) const override { return scratch_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    // Planes (n, c) are independent: spread them over the threads when the
    // layer is large enough to pay for it.
    auto planes = [&](int64_t begin, int64_t end, int slot) {
      std::byte* row = separable_ ? scratch_.Slot(ctx, slot) : nullptr;
      if constexpr (kKind == PoolKind::kMaxIndices) {
        int64_t* indices = static_cast<int64_t*>(out[1]);
        switch (p_.dtype) {
          case DataType::kFloat32:
            RunIndices<float>(in[0], out[0], indices, begin, end);
            break;
          case DataType::kInt8:
            RunIndices<int8_t>(in[0], out[0], indices, begin, end);
            break;
          case DataType::kUint8:
            RunIndices<uint8_t>(in[0], out[0], indices, begin, end);
            break;
          default:
            break;
        }
        return;
      }
      switch (p_.dtype) {
        case DataType::kFloat32:
          if (separable_) {
            MaxPoolRows<float>(in[0], out[0], begin, end, row);
          } else {
            RunTyped<float>(in[0], out[0], begin, end);
          }
          break;
        case DataType::kInt8:
          if constexpr (IsMax(kKind)) {
            if (separable_) {
              MaxPoolRows<int8_t>(in[0], out[0], begin, end, row);
            } else {
              RunTyped<int8_t>(in[0], out[0], begin, end);
            }
          }
          break;
        case DataType::kUint8:
          if constexpr (IsMax(kKind)) {
            if (separable_) {
              MaxPoolRows<uint8_t>(in[0], out[0], begin, end, row);
            } else {
              RunTyped<uint8_t>(in[0], out[0], begin, end);
            }
          }
          break;
        default:
          break;
      }
    };
    const int64_t taps = p_.kernel[0] * p_.kernel[1] * p_.kernel[2];
    const int64_t work = p_.planes * p_.out[0] * p_.out[1] * p_.out[2] * taps;
    if (work >= kMinParallelTaps) {
      ParallelFor(ctx, p_.planes, planes);
    } else {
      planes(0, p_.planes, 0);
    }
  }

 private:
  static constexpr int64_t kMinParallelTaps = int64_t{1} << 16;

  // The separable 1-D/2-D max pool of planes [begin, end); `row_bytes` holds
  // row_width_ elements of T.
  template <typename T>
  void MaxPoolRows(const void* in, void* out, int64_t begin, int64_t end,
                   std::byte* row_bytes) const {
    constexpr T kLowest = std::numeric_limits<T>::lowest();
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    T* row = reinterpret_cast<T*>(row_bytes);
    const int64_t ih = p_.in[1], iw = p_.in[2], oh = p_.out[1], ow = p_.out[2];
    const int64_t kw = p_.kernel[2], sw = p_.stride[2];
    T* cols = row + p_.pad_begin[2];
    // The padding columns stay at the lowest value for the whole call.
    std::fill(row, row + row_width_, kLowest);
    for (int64_t plane = begin; plane < end; ++plane) {
      const T* xp = x + plane * ih * iw;
      T* yp = y + plane * oh * ow;
      for (int64_t oy = 0; oy < oh; ++oy, yp += ow) {
        const AxisWindow& w = windows_[1][oy];
        std::fill(cols, cols + iw, kLowest);
        for (int64_t t = w.lo; t < w.hi; ++t) {
          const T* src = xp + (w.start + t) * iw;
          for (int64_t c = 0; c < iw; ++c) cols[c] = std::max(cols[c], src[c]);
        }
        std::fill(yp, yp + ow, kLowest);
        for (int64_t t = 0; t < kw; ++t) {
          const T* src = row + t;
          if (sw == 1) {
            for (int64_t o = 0; o < ow; ++o) yp[o] = std::max(yp[o], src[o]);
          } else if (sw == 2) {
            for (int64_t o = 0; o < ow; ++o) yp[o] = std::max(yp[o], src[2 * o]);
          } else {
            for (int64_t o = 0; o < ow; ++o) yp[o] = std::max(yp[o], src[o * sw]);
          }
        }
      }
    }
  }

  // MaxPoolWithIndices over planes [begin, end): Y and the flat position of
  // each window's maximum in X (see the file comment).
  template <typename T>
  void RunIndices(const void* in, void* out, int64_t* indices, int64_t begin, int64_t end) const {
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    const int64_t in_plane = p_.in[0] * p_.in[1] * p_.in[2];
    const int64_t out_plane = p_.out[0] * p_.out[1] * p_.out[2];
    // Stride of each (3-D normalized) spatial axis in the Indices numbering.
    // Row-major; column-major over the model's spatial axes a = kMaxSpatial -
    // nsp .. 2, the first varying fastest (a unit leading axis has coordinate
    // 0, its stride does not matter).
    Dims3 st{p_.in[1] * p_.in[2], p_.in[2], 1};
    if (p_.column_major) {
      int64_t stride = 1;
      for (int a = kMaxSpatial - p_.nsp; a < kMaxSpatial; ++a) {
        st[a] = stride;
        stride *= p_.in[a];
      }
    }
    const int64_t in1 = p_.in[1], in2 = p_.in[2];
    const int64_t d0 = p_.dilation[0], d1 = p_.dilation[1], d2 = p_.dilation[2];
    for (int64_t plane = begin; plane < end; ++plane) {
      const T* xp = x + plane * in_plane;
      T* yp = y + plane * out_plane;
      int64_t* ip = indices + plane * out_plane;
      for (const AxisWindow& w0 : windows_[0]) {
        for (const AxisWindow& w1 : windows_[1]) {
          for (const AxisWindow& w2 : windows_[2]) {
            T acc = std::numeric_limits<T>::lowest();
            int64_t best = -1;
            for (int64_t t0 = w0.lo; t0 < w0.hi; ++t0) {
              const int64_t c0 = w0.start + t0 * d0;
              for (int64_t t1 = w1.lo; t1 < w1.hi; ++t1) {
                const int64_t c1 = w1.start + t1 * d1;
                for (int64_t t2 = w2.lo; t2 < w2.hi; ++t2) {
                  const int64_t c2 = w2.start + t2 * d2;
                  const T v = xp[(c0 * in1 + c1) * in2 + c2];
                  // The first tap claims the window; a later one only when
                  // greater (a NaN never is, and never becomes the maximum).
                  if (best < 0 || v > acc) {
                    if (v > acc) acc = v;
                    best = c0 * st[0] + c1 * st[1] + c2 * st[2];
                  }
                }
              }
            }
            *yp++ = acc;
            *ip++ = plane * in_plane + std::max<int64_t>(best, 0);
          }
        }
      }
    }
  }

  // Planes [begin, end).
  template <typename T>
  void RunTyped(const void* in, void* out, int64_t begin, int64_t end) const {
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    const int64_t in_plane = p_.in[0] * p_.in[1] * p_.in[2];
    const int64_t out_plane = p_.out[0] * p_.out[1] * p_.out[2];
    const int64_t in1 = p_.in[1], in2 = p_.in[2];
    const int64_t d0 = p_.dilation[0], d1 = p_.dilation[1], d2 = p_.dilation[2];
    for (int64_t plane = begin; plane < end; ++plane) {
      const T* xp = x + plane * in_plane;
      T* yp = y + plane * out_plane;
      for (const AxisWindow& w0 : windows_[0]) {
        for (const AxisWindow& w1 : windows_[1]) {
          for (const AxisWindow& w2 : windows_[2]) {
            if constexpr (IsMax(kKind)) {
              T acc = std::numeric_limits<T>::lowest();
              for (int64_t t0 = w0.lo; t0 < w0.hi; ++t0) {
                for (int64_t t1 = w1.lo; t1 < w1.hi; ++t1) {
                  const T* row =
                      xp + ((w0.start + t0 * d0) * in1 + w1.start + t1 * d1) * in2 + w2.start;
                  for (int64_t t2 = w2.lo; t2 < w2.hi; ++t2) acc = std::max(acc, row[t2 * d2]);
                }
              }
              *yp++ = acc;
            } else {
              const double sum = WindowSum<double>(p_, xp, w0, w1, w2);
              const int64_t count = WindowCount(p_, w0, w1, w2);
              // A window entirely in the padding has no element to average.
              *yp++ = count > 0 ? static_cast<T>(sum / static_cast<double>(count))
                                : std::numeric_limits<T>::quiet_NaN();
            }
          }
        }
      }
    }
  }

  PoolParams p_;
  Windows windows_;
  bool separable_ = false;     // MaxPoolRows applies
  int64_t row_width_ = 0;      // elements of its row buffer
  ScratchLayout scratch_;
};

template <PoolKind kKind>
KernelDef MakePool(const std::string& type) {
  return MakeDef<PoolKernel<kKind>>(type, InferPool<kKind>);
}

// Int8AveragePool / Int8GlobalAveragePool: the scales, and whether Y is int8.
struct Int8PoolScales {
  float x_scale = 0.0f;
  float y_scale = 0.0f;  // 0: float32 output
};

absl::StatusOr<Int8PoolScales> ParseInt8PoolScales(PoolKind kind, const Attributes& attrs) {
  const std::string name = absl::StrCat("Int8", PoolName(kind));
  Int8PoolScales sc;
  if (!attrs.Has("x_scale")) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": attribute 'x_scale' is required"));
  }
  ENGINE_ASSIGN_OR_RETURN(sc.x_scale, attrs.GetFloat("x_scale", 0.0f));
  ENGINE_ASSIGN_OR_RETURN(sc.y_scale, attrs.GetFloat("y_scale", 0.0f));
  const bool bad_y = attrs.Has("y_scale") && !(sc.y_scale > 0.0f && std::isfinite(sc.y_scale));
  if (!(sc.x_scale > 0.0f && std::isfinite(sc.x_scale)) || bad_y) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": x_scale (", sc.x_scale,
                                                   ") and y_scale (", sc.y_scale,
                                                   ") must be finite and > 0"));
  }
  return sc;
}

template <PoolKind kKind>
absl::StatusOr<std::vector<TensorInfo>> InferInt8Pool(const Attributes& attrs,
                                                      std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(PoolParams p, ParsePool(kKind, attrs, inputs, true));
  ENGINE_ASSIGN_OR_RETURN(Int8PoolScales sc, ParseInt8PoolScales(kKind, attrs));
  return std::vector<TensorInfo>{
      MakeInfo(sc.y_scale > 0.0f ? DataType::kInt8 : DataType::kFloat32, p.y_shape)};
}

template <PoolKind kKind>
class Int8AveragePoolKernel final : public Kernel {
  static_assert(kKind == PoolKind::kAverage || kKind == PoolKind::kGlobalAverage);

 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParsePool(kKind, attrs, inputs, true));
    ENGINE_ASSIGN_OR_RETURN(sc_, ParseInt8PoolScales(kKind, attrs));
    const DataType out_dtype = sc_.y_scale > 0.0f ? DataType::kInt8 : DataType::kFloat32;
    if (outputs.size() != 1 || outputs[0].shape != p_.y_shape || outputs[0].dtype != out_dtype) {
      return absl::InvalidArgumentError(absl::StrCat("Int8", PoolName(kKind),
                                                     ": expected one output ",
                                                     DataTypeName(out_dtype), " ",
                                                     ShapeString(p_.y_shape)));
    }
    BuildWindows(p_, windows_);
    // One multiplier per possible count (1 .. taps of a whole window).
    const int64_t max_count = p_.kernel[0] * p_.kernel[1] * p_.kernel[2];
    if (max_count > (int64_t{1} << 23)) {
      return absl::UnimplementedError(absl::StrCat("Int8", PoolName(kKind), ": a window of ",
                                                   max_count, " taps is too large (at most 2^23)"));
    }
    if (sc_.y_scale > 0.0f) {
      multipliers_.assign(static_cast<size_t>(max_count) + 1, QuantizedMultiplier{});
      for (int64_t c = 1; c <= max_count; ++c) {
        multipliers_[c] = QuantizeMultiplier(static_cast<double>(sc_.x_scale) /
                                             (static_cast<double>(sc_.y_scale) * c));
      }
    }
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const int64_t taps = p_.kernel[0] * p_.kernel[1] * p_.kernel[2];
    const int64_t work = p_.planes * p_.out[0] * p_.out[1] * p_.out[2] * taps;
    auto planes = [&](int64_t begin, int64_t end, int) {
      RunPlanes(static_cast<const int8_t*>(in[0]), out[0], begin, end);
    };
    if (work >= (int64_t{1} << 16)) {
      ParallelFor(ctx, p_.planes, planes);
    } else {
      planes(0, p_.planes, 0);
    }
  }

 private:
  void RunPlanes(const int8_t* x, void* y, int64_t begin, int64_t end) const {
    const bool int8_out = sc_.y_scale > 0.0f;
    const int64_t in_plane = p_.in[0] * p_.in[1] * p_.in[2];
    const int64_t out_plane = p_.out[0] * p_.out[1] * p_.out[2];
    for (int64_t plane = begin; plane < end; ++plane) {
      const int8_t* xp = x + plane * in_plane;
      int64_t o = plane * out_plane;
      for (const AxisWindow& w0 : windows_[0]) {
        for (const AxisWindow& w1 : windows_[1]) {
          for (const AxisWindow& w2 : windows_[2]) {
            const int32_t sum = WindowSum<int32_t>(p_, xp, w0, w1, w2);
            const int64_t count = WindowCount(p_, w0, w1, w2);
            if (int8_out) {
              int8_t v = 0;
              if (count > 0) {
                const QuantizedMultiplier& q = multipliers_[count];
                v = RequantizeToInt8(sum, q.multiplier, q.shift, -128, 127);
              }
              static_cast<int8_t*>(y)[o++] = v;
            } else {
              static_cast<float*>(y)[o++] =
                  count > 0 ? static_cast<float>(sum) * (sc_.x_scale / static_cast<float>(count))
                            : 0.0f;
            }
          }
        }
      }
    }
  }

  PoolParams p_;
  Int8PoolScales sc_;
  Windows windows_;
  std::vector<QuantizedMultiplier> multipliers_;  // by count (int8 output)
};

template <PoolKind kKind>
KernelDef MakeInt8AveragePool(const std::string& type) {
  return MakeDef<Int8AveragePoolKernel<kKind>>(type, InferInt8Pool<kKind>);
}

}  // namespace

KernelDef MakePoolDef(const std::string& type) {
  if (type == "MaxPool") return MakePool<PoolKind::kMax>(type);
  if (type == "MaxPoolWithIndices") return MakePool<PoolKind::kMaxIndices>(type);
  if (type == "AveragePool") return MakePool<PoolKind::kAverage>(type);
  if (type == "GlobalMaxPool") return MakePool<PoolKind::kGlobalMax>(type);
  if (type == "GlobalAveragePool") return MakePool<PoolKind::kGlobalAverage>(type);
  if (type == "Int8AveragePool") return MakeInt8AveragePool<PoolKind::kAverage>(type);
  if (type == "Int8GlobalAveragePool") {
    return MakeInt8AveragePool<PoolKind::kGlobalAverage>(type);
  }
  // Unknown pooling type: a def whose inference reports the error.
  KernelDef def;
  def.type = type;
  def.infer = [type](const Attributes&,
                     std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> {
    return absl::UnimplementedError(absl::StrCat("unknown pooling type '", type, "'"));
  };
  def.create = [type]() -> std::unique_ptr<Kernel> { return nullptr; };
  return def;
}

}  // namespace engine::kernels
