// Reductions and search: ReduceSum, ReduceMean, ReduceMax, ReduceMin,
// ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum,
// ReduceLogSumExp, ArgMax, ArgMin, TopK, CumSum (ONNX Operators.md, opsets
// 11-25 semantics).
//
// Reduce* (X, optional axes):
//   axes: the int64 input `axes` (ReduceSum from opset 13, the others from
//   opset 18; it must be a build-time constant) or, when that input is
//   absent, the ints attribute `axes` (earlier opsets). Negative axes count
//   from the end; repeated axes are an error. keepdims (default 1) keeps the
//   reduced axes with size 1. Empty axes: with noop_with_empty_axes = 1 the
//   op is the identity, else every axis is reduced.
//   Y[o] = finalize(fold(op, init, X[o, r] for every reduced index r)):
//     Sum: x+;  Mean: sum / count;  Max/Min: running max/min (NaN wins);
//     Prod: x*;  L1: sum |x|;  L2: sqrt(sum x^2);  SumSquare: sum x^2;
//     LogSum: log(sum x);  LogSumExp: m + log(sum exp(x - m)), m = max x.
//   An empty reduction gives the ONNX 18 identities: 0 (Sum, L1, L2,
//   SumSquare), 1 (Prod), -inf (Max, LogSum, LogSumExp), +inf (Min), NaN
//   (Mean: 0 / 0); for integer Max/Min the type's lowest / highest value.
//   dtypes: float32 for all; int32/int64 for Sum, Prod, Max, Min, L1,
//   SumSquare (integer arithmetic, wrapping like numpy); int8/uint8 for Max
//   and Min (the INT8 pass-through form of ReduceMax/ReduceMin).
//   Accumulation is in the element type, in the fixed order of
//   ReduceGeometry::ForEach.
//
// ArgMax / ArgMin (X; axis 0, keepdims 1, select_last_index 0): int64 index
// of the first (or, with select_last_index, the last) maximum / minimum
// along `axis`; NaN is skipped (index 0 when every element is NaN). dtypes
// float32, int32, int64, int8, uint8. An empty axis is an error.
//
// TopK (X, K; axis -1, largest 1, sorted 1; opset 1's attribute `k` when the
// K input is absent): Values and int64 Indices of the K largest (smallest)
// elements along `axis`, in sorted order (also for sorted = 0, whose order
// ONNX leaves unspecified); equal values keep the lower index first (ONNX).
// NaN counts as larger than every number. K must be a build-time constant in
// [0, axis size]. dtypes float32, int32, int64.
//
// CumSum (x, axis; exclusive 0, reverse 0): running sum along `axis` (a
// scalar or 1-element int32/int64 build-time constant); exclusive leaves out
// the current element, reverse sums from the end. dtypes float32, int32,
// int64.
//
// Intra-op parallelism: every kernel splits independent output rows (Reduce*
// and Arg*: output elements; TopK: slices; CumSum: outer blocks) over
// RunContext::threads; each result is computed by one thread in a fixed
// order, so outputs do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/data_dependent.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"
#include "kernels/reduce_geometry.h"

namespace engine::kernels {
namespace {

constexpr int64_t kMinParallelElements = int64_t{1} << 15;

// Runs f over [0, n) on the pool when `work` (elements touched) is large.
template <typename F>
void MaybeParallel(const RunContext& ctx, int64_t n, int64_t work, const F& f) {
  if (work >= kMinParallelElements) {
    ParallelFor(ctx, n, f);
  } else if (n > 0) {
    f(int64_t{0}, n, 0);
  }
}

// Calls f.template operator()<T>() with the C++ type of `dtype`.
template <typename F>
void DispatchType(DataType dtype, F&& f) {
  switch (dtype) {
    case DataType::kFloat32: f.template operator()<float>(); break;
    case DataType::kInt32: f.template operator()<int32_t>(); break;
    case DataType::kInt64: f.template operator()<int64_t>(); break;
    case DataType::kInt8: f.template operator()<int8_t>(); break;
    case DataType::kUint8: f.template operator()<uint8_t>(); break;
    default: break;  // refused by Prepare
  }
}

template <typename T>
bool IsNan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

// Reads a single int64 from a constant integer input of a scalar or
// 1-element tensor.
absl::StatusOr<int64_t> ConstantScalar(const TensorInfo& info, const std::string& what) {
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> v, ConstantInts(info, what));
  if (v.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must hold one value, got ", v.size()));
  }
  return v[0];
}

// ---------------------------------------------------------------------------
// Reduce*

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kSumSquare, kLogSum, kLogSumExp };

struct ReduceParams {
  DataType dtype = DataType::kUndefined;
  Dims y_shape;
  bool identity = false;  // noop_with_empty_axes with empty axes
  ReduceGeometry geometry;
};

bool ReduceAllowsType(ReduceKind k, DataType t) {
  if (t == DataType::kFloat32) return true;
  const bool max_min = k == ReduceKind::kMax || k == ReduceKind::kMin;
  if (t == DataType::kInt32 || t == DataType::kInt64) {
    return max_min || k == ReduceKind::kSum || k == ReduceKind::kProd || k == ReduceKind::kL1 ||
           k == ReduceKind::kSumSquare;
  }
  if (t == DataType::kInt8 || t == DataType::kUint8) return max_min;
  return false;
}

absl::StatusOr<ReduceParams> ParseReduce(ReduceKind kind, const std::string& type,
                                         const Attributes& attrs,
                                         std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 2, type));
  const TensorInfo& x = inputs[0];
  if (!ReduceAllowsType(kind, x.dtype)) {
    return absl::UnimplementedError(
        absl::StrCat(type, ": dtype ", DataTypeName(x.dtype), " of X is not supported"));
  }
  std::vector<int64_t> axes;
  if (inputs.size() == 2 && inputs[1].present) {
    ENGINE_ASSIGN_OR_RETURN(axes, ConstantInts(inputs[1], absl::StrCat(type, ": input 'axes'")));
  } else {
    ENGINE_ASSIGN_OR_RETURN(axes, attrs.GetInts("axes", {}));
  }
  ENGINE_ASSIGN_OR_RETURN(int64_t keepdims, attrs.GetInt("keepdims", 1));
  ENGINE_ASSIGN_OR_RETURN(int64_t noop, attrs.GetInt("noop_with_empty_axes", 0));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  ReduceParams p;
  p.dtype = x.dtype;
  std::vector<bool> reduce(x.shape.size(), axes.empty());
  if (axes.empty() && noop != 0) {
    p.identity = true;
    p.y_shape = x.shape;
    return p;
  }
  for (int64_t a : axes) {
    auto axis = NormalizeAxis(a, rank);
    if (!axis.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": attribute/input 'axes': X ",
                                                     ShapeString(x.shape), ": ",
                                                     axis.status().message()));
    }
    if (reduce[*axis] && !axes.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": 'axes' names axis ", *axis, " twice"));
    }
    reduce[*axis] = true;
  }
  for (size_t i = 0; i < x.shape.size(); ++i) {
    if (!reduce[i]) {
      p.y_shape.push_back(x.shape[i]);
    } else if (keepdims != 0) {
      p.y_shape.push_back(1);
    }
  }
  p.geometry = ReduceGeometry::Make(x.shape, reduce);
  return p;
}

template <ReduceKind kKind>
const char* ReduceName() {
  switch (kKind) {
    case ReduceKind::kSum: return "ReduceSum";
    case ReduceKind::kMean: return "ReduceMean";
    case ReduceKind::kMax: return "ReduceMax";
    case ReduceKind::kMin: return "ReduceMin";
    case ReduceKind::kProd: return "ReduceProd";
    case ReduceKind::kL1: return "ReduceL1";
    case ReduceKind::kL2: return "ReduceL2";
    case ReduceKind::kSumSquare: return "ReduceSumSquare";
    case ReduceKind::kLogSum: return "ReduceLogSum";
    case ReduceKind::kLogSumExp: return "ReduceLogSumExp";
  }
  return "";
}

template <ReduceKind kKind>
absl::StatusOr<std::vector<TensorInfo>> InferReduce(const Attributes& attrs,
                                                    std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(ReduceParams p, ParseReduce(kKind, ReduceName<kKind>(), attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(p.dtype, p.y_shape)};
}

// One output element of reduction kKind over the elements of `x` that `g`
// visits from `base`.
template <ReduceKind kKind, typename T>
T ReduceOne(const ReduceGeometry& g, const T* x, int64_t base) {
  if constexpr (kKind == ReduceKind::kMax || kKind == ReduceKind::kMin) {
    constexpr bool kMax = kKind == ReduceKind::kMax;
    T acc;
    if constexpr (std::is_floating_point_v<T>) {
      acc = kMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    } else {
      acc = kMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    }
    g.ForEach(base, [&](int64_t i) {
      const T v = x[i];
      if ((kMax ? v > acc : v < acc) || IsNan(v)) acc = v;
    });
    return acc;
  } else if constexpr (kKind == ReduceKind::kLogSumExp) {
    T m = -std::numeric_limits<T>::infinity();
    g.ForEach(base, [&](int64_t i) {
      if (x[i] > m || IsNan(x[i])) m = x[i];
    });
    if (!std::isfinite(m)) return m;  // empty or all -inf: -inf; +inf; NaN
    T sum = 0;
    g.ForEach(base, [&](int64_t i) { sum += std::exp(x[i] - m); });
    return m + std::log(sum);
  } else {
    T acc = kKind == ReduceKind::kProd ? T(1) : T(0);
    g.ForEach(base, [&](int64_t i) {
      const T v = x[i];
      if constexpr (kKind == ReduceKind::kProd) {
        acc *= v;
      } else if constexpr (kKind == ReduceKind::kL1) {
        acc += v < T(0) ? T(-v) : v;
      } else if constexpr (kKind == ReduceKind::kL2 || kKind == ReduceKind::kSumSquare) {
        acc += v * v;
      } else {
        acc += v;
      }
    });
    if constexpr (kKind == ReduceKind::kMean) {
      return acc / static_cast<T>(g.reduce_count);
    } else if constexpr (kKind == ReduceKind::kL2) {
      return std::sqrt(acc);
    } else if constexpr (kKind == ReduceKind::kLogSum) {
      return std::log(acc);
    } else {
      return acc;
    }
  }
}

template <ReduceKind kKind>
class ReduceKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseReduce(kKind, ReduceName<kKind>(), attrs, inputs));
    elements_ = NumElements(inputs[0].shape);
    return CheckOutputs(outputs, {MakeInfo(p_.dtype, p_.y_shape)}, ReduceName<kKind>());
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    if (p_.identity) {
      if (elements_ > 0) std::memcpy(out[0], in[0], elements_ * DataTypeSize(p_.dtype));
      return;
    }
    DispatchType(p_.dtype, [&]<typename T>() {
      if constexpr (std::is_floating_point_v<T> || !(kKind == ReduceKind::kMean ||
                                                     kKind == ReduceKind::kL2 ||
                                                     kKind == ReduceKind::kLogSum ||
                                                     kKind == ReduceKind::kLogSumExp)) {
        const T* x = static_cast<const T*>(in[0]);
        T* y = static_cast<T*>(out[0]);
        const ReduceGeometry& g = p_.geometry;
        MaybeParallel(ctx, g.out_count, elements_, [&](int64_t begin, int64_t end, int) {
          for (int64_t o = begin; o < end; ++o) y[o] = ReduceOne<kKind, T>(g, x, g.Base(o));
        });
      }
    });
  }

 private:
  ReduceParams p_;
  int64_t elements_ = 0;
};

// ---------------------------------------------------------------------------
// ArgMax / ArgMin

// X viewed as [outer, n, inner] around `axis`.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
  int64_t axis = 0;
};

absl::StatusOr<AxisSplit> SplitAtAxis(const std::string& type, const Dims& shape, int64_t axis) {
  auto a = NormalizeAxis(axis, static_cast<int64_t>(shape.size()));
  if (!a.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": attribute/input 'axis': X ", ShapeString(shape), ": ",
                     a.status().message()));
  }
  AxisSplit s;
  s.axis = *a;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < s.axis) s.outer *= shape[i];
    if (i > s.axis) s.inner *= shape[i];
  }
  s.n = shape[s.axis];
  return s;
}

struct ArgParams {
  DataType dtype = DataType::kUndefined;
  AxisSplit split;
  bool last = false;
  Dims y_shape;
};

absl::StatusOr<ArgParams> ParseArg(const std::string& type, const Attributes& attrs,
                                   std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, type));
  const TensorInfo& x = inputs[0];
  if (x.dtype != DataType::kFloat32 && x.dtype != DataType::kInt32 &&
      x.dtype != DataType::kInt64 && x.dtype != DataType::kInt8 && x.dtype != DataType::kUint8) {
    return absl::UnimplementedError(
        absl::StrCat(type, ": dtype ", DataTypeName(x.dtype), " of X is not supported"));
  }
  if (x.shape.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": X must have rank >= 1"));
  }
  ENGINE_ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis", 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t keepdims, attrs.GetInt("keepdims", 1));
  ENGINE_ASSIGN_OR_RETURN(int64_t last, attrs.GetInt("select_last_index", 0));
  ArgParams p;
  p.dtype = x.dtype;
  ENGINE_ASSIGN_OR_RETURN(p.split, SplitAtAxis(type, x.shape, axis));
  if (p.split.n == 0) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": axis ", p.split.axis, " of X ",
                                                   ShapeString(x.shape), " is empty"));
  }
  p.last = last != 0;
  for (int64_t i = 0; i < static_cast<int64_t>(x.shape.size()); ++i) {
    if (i != p.split.axis) {
      p.y_shape.push_back(x.shape[i]);
    } else if (keepdims != 0) {
      p.y_shape.push_back(1);
    }
  }
  return p;
}

template <bool kMax>
class ArgKernel final : public Kernel {
 public:
  static constexpr const char* kName = kMax ? "ArgMax" : "ArgMin";

  static absl::StatusOr<std::vector<TensorInfo>> Infer(const Attributes& attrs,
                                                       std::span<const TensorInfo> inputs) {
    ENGINE_ASSIGN_OR_RETURN(ArgParams p, ParseArg(kName, attrs, inputs));
    return std::vector<TensorInfo>{MakeInfo(DataType::kInt64, p.y_shape)};
  }

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseArg(kName, attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(DataType::kInt64, p_.y_shape)}, kName);
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    DispatchType(p_.dtype, [&]<typename T>() {
      const T* x = static_cast<const T*>(in[0]);
      int64_t* y = static_cast<int64_t*>(out[0]);
      const int64_t n = p_.split.n, inner = p_.split.inner;
      MaybeParallel(ctx, p_.split.outer * inner, p_.split.outer * n * inner,
                    [&](int64_t begin, int64_t end, int) {
                      for (int64_t oj = begin; oj < end; ++oj) {
                        const T* xr = x + (oj / inner) * n * inner + oj % inner;
                        int64_t best = 0;
                        T bv = xr[0];
                        for (int64_t i = 1; i < n; ++i) {
                          const T v = xr[i * inner];
                          if (IsNan(v)) continue;
                          const bool better = IsNan(bv) || (kMax ? v > bv : v < bv) ||
                                              (p_.last && v == bv);
                          if (better) {
                            bv = v;
                            best = i;
                          }
                        }
                        y[oj] = best;
                      }
                    });
    });
  }

 private:
  ArgParams p_;
};

// ---------------------------------------------------------------------------
// TopK

struct TopKParams {
  DataType dtype = DataType::kUndefined;
  AxisSplit split;
  int64_t k = 0;  ///< K, or its bound (the axis dimension) when runtime_k
  bool largest = true;
  /// K is a run-time input (not a build-time constant): the outputs are
  /// data-dependent along the axis, bounded by the axis dimension.
  bool runtime_k = false;
  Dims y_shape;
};

absl::StatusOr<TopKParams> ParseTopK(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 2, "TopK"));
  const TensorInfo& x = inputs[0];
  if (x.dtype != DataType::kFloat32 && x.dtype != DataType::kInt32 &&
      x.dtype != DataType::kInt64) {
    return absl::UnimplementedError(
        absl::StrCat("TopK: dtype ", DataTypeName(x.dtype), " of X is not supported"));
  }
  if (x.shape.empty()) return absl::InvalidArgumentError("TopK: X must have rank >= 1");
  TopKParams p;
  p.dtype = x.dtype;
  if (inputs.size() == 2 && inputs[1].present && inputs[1].constant == nullptr) {
    // A run-time K: bounded by the axis dimension (data-dependent shape).
    if (inputs[1].dtype != DataType::kInt64 || NumElements(inputs[1].shape) != 1 ||
        inputs[1].shape.size() > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("TopK: input 'K' must be an int64 tensor of shape [1], got ",
                       DataTypeName(inputs[1].dtype), " ", ShapeString(inputs[1].shape)));
    }
    p.runtime_k = true;
  } else if (inputs.size() == 2 && inputs[1].present) {
    ENGINE_ASSIGN_OR_RETURN(p.k, ConstantScalar(inputs[1], "TopK: input 'K'"));
  } else if (attrs.Has("k")) {
    ENGINE_ASSIGN_OR_RETURN(p.k, attrs.GetInt("k", 0));
  } else {
    return absl::InvalidArgumentError("TopK: input 'K' is required");
  }
  ENGINE_ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis", -1));
  ENGINE_ASSIGN_OR_RETURN(int64_t largest, attrs.GetInt("largest", 1));
  ENGINE_ASSIGN_OR_RETURN(int64_t sorted, attrs.GetInt("sorted", 1));
  (void)sorted;  // results are always sorted (allowed for sorted = 0)
  ENGINE_ASSIGN_OR_RETURN(p.split, SplitAtAxis("TopK", x.shape, axis));
  if (p.runtime_k) p.k = p.split.n;
  if (p.k < 0 || p.k > p.split.n) {
    return absl::InvalidArgumentError(absl::StrCat("TopK: K = ", p.k, " is outside [0, ",
                                                   p.split.n, "] (axis ", p.split.axis,
                                                   " of X ", ShapeString(x.shape), ")"));
  }
  p.largest = largest != 0;
  p.y_shape = x.shape;
  p.y_shape[p.split.axis] = p.k;
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferTopK(const Attributes& attrs,
                                                  std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(TopKParams p, ParseTopK(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(p.dtype, p.y_shape),
                                 MakeInfo(DataType::kInt64, p.y_shape)};
}

class TopKKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseTopK(attrs, inputs));
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> expected, InferTopK(attrs, inputs));
    return CheckOutputs(outputs, expected, "TopK");
  }

  // One index buffer of the axis size per thread.
  size_t ScratchBytes(int threads) const override { return Layout().Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    DispatchType(p_.dtype, [&]<typename T>() {
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, int32_t> ||
                    std::is_same_v<T, int64_t>) {
        int64_t k = p_.k;
        if (p_.runtime_k) {
          // The actual K (ONNX: 0 <= K <= axis dim); the outputs keep the
          // bound layout (axis extent = axis dim), entries past K are zero.
          k = *static_cast<const int64_t*>(in[1]);
          const bool valid = k >= 0 && k <= p_.split.n;
          ReportExtent(valid ? k : -1);
          const size_t elems = static_cast<size_t>(NumElements(p_.y_shape));
          std::memset(out[0], 0, elems * sizeof(T));
          std::memset(out[1], 0, elems * sizeof(int64_t));
          if (!valid) return;
        }
        RunTyped<T>(ctx, static_cast<const T*>(in[0]), static_cast<T*>(out[0]),
                    static_cast<int64_t*>(out[1]), k);
      }
    });
  }

 private:
  ScratchLayout Layout() const {
    ScratchLayout l;
    l.per_thread = static_cast<size_t>(p_.split.n) * sizeof(int64_t);
    return l;
  }

  template <typename T>
  void RunTyped(const RunContext& ctx, const T* x, T* values, int64_t* indices,
                int64_t k) const {
    // `stride`: the outputs' axis extent (K, or its bound for a run-time K).
    const int64_t n = p_.split.n, inner = p_.split.inner, stride = p_.k;
    if (k == 0) return;
    const bool largest = p_.largest;
    MaybeParallel(ctx, p_.split.outer * inner, p_.split.outer * n * inner,
                  [&](int64_t begin, int64_t end, int slot) {
                    int64_t* idx = reinterpret_cast<int64_t*>(Layout().Slot(ctx, slot));
                    for (int64_t oj = begin; oj < end; ++oj) {
                      const int64_t o = oj / inner, j = oj % inner;
                      const T* xr = x + o * n * inner + j;
                      // a before b: strictly better value, or equal and lower index.
                      auto before = [&](int64_t a, int64_t b) {
                        const T va = xr[a * inner], vb = xr[b * inner];
                        const bool na = IsNan(va), nb = IsNan(vb);
                        if (na || nb) {
                          // NaN is the largest value.
                          if (na && nb) return a < b;
                          return largest ? na : nb;
                        }
                        if (va != vb) return largest ? va > vb : va < vb;
                        return a < b;
                      };
                      std::iota(idx, idx + n, int64_t{0});
                      std::partial_sort(idx, idx + k, idx + n, before);
                      T* vr = values + o * stride * inner + j;
                      int64_t* ir = indices + o * stride * inner + j;
                      for (int64_t i = 0; i < k; ++i) {
                        vr[i * inner] = xr[idx[i] * inner];
                        ir[i * inner] = idx[i];
                      }
                    }
                  });
  }

  TopKParams p_;
};

// ---------------------------------------------------------------------------
// CumSum

struct CumSumParams {
  DataType dtype = DataType::kUndefined;
  AxisSplit split;
  bool exclusive = false, reverse = false;
};

absl::StatusOr<CumSumParams> ParseCumSum(const Attributes& attrs,
                                         std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "CumSum"));
  const TensorInfo& x = inputs[0];
  if (x.dtype != DataType::kFloat32 && x.dtype != DataType::kInt32 &&
      x.dtype != DataType::kInt64) {
    return absl::UnimplementedError(
        absl::StrCat("CumSum: dtype ", DataTypeName(x.dtype), " of x is not supported"));
  }
  if (x.shape.empty()) return absl::InvalidArgumentError("CumSum: x must have rank >= 1");
  ENGINE_ASSIGN_OR_RETURN(int64_t axis, ConstantScalar(inputs[1], "CumSum: input 'axis'"));
  ENGINE_ASSIGN_OR_RETURN(int64_t exclusive, attrs.GetInt("exclusive", 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t reverse, attrs.GetInt("reverse", 0));
  CumSumParams p;
  p.dtype = x.dtype;
  ENGINE_ASSIGN_OR_RETURN(p.split, SplitAtAxis("CumSum", x.shape, axis));
  p.exclusive = exclusive != 0;
  p.reverse = reverse != 0;
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferCumSum(const Attributes& attrs,
                                                    std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(CumSumParams p, ParseCumSum(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(p.dtype, inputs[0].shape)};
}

class CumSumKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseCumSum(attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(p_.dtype, inputs[0].shape)}, "CumSum");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    DispatchType(p_.dtype, [&]<typename T>() {
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, int32_t> ||
                    std::is_same_v<T, int64_t>) {
        const T* x = static_cast<const T*>(in[0]);
        T* y = static_cast<T*>(out[0]);
        const int64_t n = p_.split.n, inner = p_.split.inner;
        if (n == 0) return;
        // Row r of an outer block is computed from row r - 1 (r + 1 when
        // reversed): y[r] = y[prev] + x[prev] (exclusive) or y[prev] + x[r].
        MaybeParallel(ctx, p_.split.outer, p_.split.outer * n * inner,
                      [&](int64_t begin, int64_t end, int) {
                        for (int64_t o = begin; o < end; ++o) {
                          const T* xb = x + o * n * inner;
                          T* yb = y + o * n * inner;
                          for (int64_t step = 0; step < n; ++step) {
                            const int64_t r = p_.reverse ? n - 1 - step : step;
                            T* yr = yb + r * inner;
                            const T* xr = xb + r * inner;
                            if (step == 0) {
                              for (int64_t j = 0; j < inner; ++j) {
                                yr[j] = p_.exclusive ? T(0) : xr[j];
                              }
                              continue;
                            }
                            const int64_t prev = p_.reverse ? r + 1 : r - 1;
                            const T* yp = yb + prev * inner;
                            const T* xa = p_.exclusive ? xb + prev * inner : xr;
                            for (int64_t j = 0; j < inner; ++j) yr[j] = yp[j] + xa[j];
                          }
                        }
                      });
      }
    });
  }

 private:
  CumSumParams p_;
};

template <ReduceKind kKind>
KernelDef ReduceDef() {
  return MakeDef<ReduceKernel<kKind>>(ReduceName<kKind>(), InferReduce<kKind>);
}

}  // namespace

KernelDef MakeReduceDef(const std::string& type) {
  if (type == "ReduceSum") return ReduceDef<ReduceKind::kSum>();
  if (type == "ReduceMean") return ReduceDef<ReduceKind::kMean>();
  if (type == "ReduceMax") return ReduceDef<ReduceKind::kMax>();
  if (type == "ReduceMin") return ReduceDef<ReduceKind::kMin>();
  if (type == "ReduceProd") return ReduceDef<ReduceKind::kProd>();
  if (type == "ReduceL1") return ReduceDef<ReduceKind::kL1>();
  if (type == "ReduceL2") return ReduceDef<ReduceKind::kL2>();
  if (type == "ReduceSumSquare") return ReduceDef<ReduceKind::kSumSquare>();
  if (type == "ReduceLogSum") return ReduceDef<ReduceKind::kLogSum>();
  if (type == "ReduceLogSumExp") return ReduceDef<ReduceKind::kLogSumExp>();
  return KernelDef{};  // unknown: no kernel (OpRegistry::Register refuses it)
}

KernelDef MakeArgMaxDef() { return MakeDef<ArgKernel<true>>("ArgMax", ArgKernel<true>::Infer); }
KernelDef MakeArgMinDef() { return MakeDef<ArgKernel<false>>("ArgMin", ArgKernel<false>::Infer); }
KernelDef MakeTopKDef() { return MakeDef<TopKKernel>("TopK", InferTopK); }

// A run-time K: Values and Indices are data-dependent along the axis.
std::vector<int> TopKDataDependentDims(const Attributes& attrs,
                                       std::span<const TensorInfo> inputs) {
  auto p = ParseTopK(attrs, inputs);
  if (!p.ok() || !p->runtime_k) return {};
  const int axis = static_cast<int>(p->split.axis);
  return {axis, axis};
}
KernelDef MakeCumSumDef() { return MakeDef<CumSumKernel>("CumSum", InferCumSum); }

}  // namespace engine::kernels
