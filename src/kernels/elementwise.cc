// Elementwise host kernels: unary activations, broadcasting binary arithmetic
// and the variadic Sum.
//
// Semantics (ONNX operators, opset 13+):
//  - Relu (float32, int32, int64, int8): y = max(0, x).
//  - LeakyRelu (float32): y = x < 0 ? alpha * x : x, alpha default 0.01.
//  - Clip (float32, int32, int64, int8, uint8): y = min(max(x, min), max) with
//    optional scalar inputs `min` and `max` (Clip-11+; absent means the
//    lowest / highest value of the type). When min > max every element becomes
//    max (numpy.clip). The pre-opset-11 attributes `min`/`max` are honoured
//    when the corresponding input is absent.
//  - Sigmoid, Tanh (float32), via a vectorizable expf accurate to a few ulp.
//  - HardSigmoid (float32): y = max(0, min(1, alpha * x + beta)), alpha 0.2,
//    beta 0.5.
//  - HardSwish (float32): y = x * max(0, min(1, x / 6 + 0.5)).
//  - Swish-24 (float32): y = x * Sigmoid(alpha * x) (alpha default 1: SiLU).
//  - Add, Sub, Mul, Div (float32, int32, int64, int8, uint8) with
//    multidirectional (numpy) broadcasting (ONNX Broadcasting.md). Integer
//    Div truncates toward zero like C++; integer overflow wraps (two's
//    complement) and integer division by zero yields 0 instead of trapping
//    (ONNX leaves both undefined).
//  - PRelu (the same dtypes): y = x < 0 ? slope * x : x, with `slope`
//    unidirectionally broadcastable to X (the output has X's shape).
//  - Sum (float32): variadic (1..N inputs), multidirectional broadcasting.
//
// The activation formulas are kernel_util.h's (ReluOf, ClipOf, ...,
// ApplyActivation), shared with the fused epilogues of Conv and Gemm.
//
// Broadcasting is executed by a walk over the output in which adjacent
// dimensions that are contiguous for every operand are merged and the
// innermost dimension is a plain loop specialised for the common cases: both
// operands contiguous (same shape), one operand constant along the row
// (scalar operand, per-channel [C,1,1] bias), or generic strides.
//
// Intra-op parallelism: outputs of at least kMinParallelElements elements are
// split over RunContext::threads threads by rows of the walk, or by blocks of
// kElementBlock elements (unary ops, single-row walks); every element is
// computed by the same expression whatever the split, so outputs do not
// depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {


absl::Status UnsupportedDtype(const std::string& type, DataType dtype) {
  return absl::UnimplementedError(absl::StrCat(type, ": unsupported dtype ", DataTypeName(dtype)));
}

// ---------------------------------------------------------------------------
// Broadcast walk.

// Iteration plan over a dense output of two (possibly broadcast) operands.
// Dimensions of size 1 are dropped and adjacent dimensions are merged when
// both operands are contiguous across them, so e.g. Add([N,C,H,W], [C,1,1])
// becomes a walk over [N, C, H*W] whose inner row reads a scalar of the
// second operand.
struct BroadcastPlan {
  std::vector<int64_t> dims;         // merged output dimensions (>= 1 entry)
  std::vector<int64_t> a_strides;    // element strides of operand a per dim
  std::vector<int64_t> b_strides;    // element strides of operand b per dim
  std::vector<int64_t> out_strides;  // row-major strides of the output
  int64_t count = 0;                 // number of output elements
};

BroadcastPlan MakeBroadcastPlan(const Dims& a, const Dims& b, const Dims& out) {
  std::vector<int64_t> sa = BroadcastStrides(a, out);
  std::vector<int64_t> sb = BroadcastStrides(b, out);
  BroadcastPlan p;
  p.count = NumElements(out);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;
    if (!p.dims.empty() && p.a_strides.back() == sa[i] * out[i] &&
        p.b_strides.back() == sb[i] * out[i]) {
      p.dims.back() *= out[i];
      p.a_strides.back() = sa[i];
      p.b_strides.back() = sb[i];
      continue;
    }
    p.dims.push_back(out[i]);
    p.a_strides.push_back(sa[i]);
    p.b_strides.push_back(sb[i]);
  }
  if (p.dims.empty()) {
    p.dims = {1};
    p.a_strides = {0};
    p.b_strides = {0};
  }
  p.out_strides = RowMajorStrides(p.dims);
  return p;
}

// out[i] = op(a[i], b[i]) along one row. `out` may alias `a` or `b` (the
// access is elementwise at the same position).
template <typename T, typename Op>
void Row(int64_t n, const T* a, int64_t sa, const T* b, int64_t sb, T* out, Op op) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const T bv = *b;
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const T av = *a;
    for (int64_t i = 0; i < n; ++i) out[i] = op(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i * sa], b[i * sb]);
  }
}

template <typename T, typename Op>
void Walk(const BroadcastPlan& p, size_t d, const T* a, const T* b, T* out, Op op) {
  const int64_t n = p.dims[d];
  if (d + 1 == p.dims.size()) {
    Row(n, a, p.a_strides[d], b, p.b_strides[d], out, op);
    return;
  }
  const int64_t sa = p.a_strides[d], sb = p.b_strides[d], so = p.out_strides[d];
  for (int64_t i = 0; i < n; ++i) Walk(p, d + 1, a + i * sa, b + i * sb, out + i * so, op);
}

// Parallel work: layers with fewer output elements run on one thread; larger
// ones are split into units, the rows of the innermost merged dimension or,
// when there is a single row, blocks of kElementBlock elements (a multiple of
// any SIMD width, so every split vectorizes the same elements).
constexpr int64_t kMinParallelElements = int64_t{1} << 15;
constexpr int64_t kElementBlock = 4096;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t BroadcastUnits(const BroadcastPlan& p) {
  const int64_t len = p.dims.back();
  return p.count == len ? CeilDiv(len, kElementBlock) : p.count / len;
}

// Units [begin, end) of the walk (see BroadcastUnits).
template <typename T, typename Op>
void WalkUnits(const BroadcastPlan& p, const T* a, const T* b, T* out, int64_t begin, int64_t end,
               Op op) {
  const size_t last = p.dims.size() - 1;
  const int64_t len = p.dims[last];
  const int64_t sa = p.a_strides[last], sb = p.b_strides[last];
  if (p.count == len) {  // one row, in element blocks
    const int64_t e0 = begin * kElementBlock, e1 = std::min(len, end * kElementBlock);
    Row(e1 - e0, a + e0 * sa, sa, b + e0 * sb, sb, out + e0, op);
    return;
  }
  for (int64_t r = begin; r < end; ++r) {
    int64_t rem = r, ao = 0, bo = 0;
    for (size_t d = last; d-- > 0;) {
      const int64_t i = rem % p.dims[d];
      rem /= p.dims[d];
      ao += i * p.a_strides[d];
      bo += i * p.b_strides[d];
    }
    Row(len, a + ao, sa, b + bo, sb, out + r * len, op);
  }
}

template <typename T, typename Op>
void RunBroadcast(const RunContext& ctx, const BroadcastPlan& p, const void* a, const void* b,
                  void* out, Op op) {
  if (p.count == 0) return;
  const T* ta = static_cast<const T*>(a);
  const T* tb = static_cast<const T*>(b);
  T* tout = static_cast<T*>(out);
  const int64_t units = BroadcastUnits(p);
  if (p.count < kMinParallelElements || ctx.threads <= 1 || units == 1) {
    Walk(p, 0, ta, tb, tout, op);
    return;
  }
  ParallelFor(ctx, units, [&](int64_t begin, int64_t end, int) {
    if (begin == 0 && end == units) {
      Walk(p, 0, ta, tb, tout, op);
    } else {
      WalkUnits(p, ta, tb, tout, begin, end, op);
    }
  });
}

// f(begin, end) over element ranges of [0, n), spread over the threads when
// n is large (ranges start at multiples of kElementBlock).
template <typename F>
void ForElements(const RunContext& ctx, int64_t n, const F& f) {
  if (n < kMinParallelElements || ctx.threads <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  ParallelFor(ctx, CeilDiv(n, kElementBlock), [&](int64_t begin, int64_t end, int) {
    f(begin * kElementBlock, std::min(n, end * kElementBlock));
  });
}

// ---------------------------------------------------------------------------
// Arithmetic functors. Integer +, -, * wrap (computed in the unsigned type);
// integer division by zero gives 0 and INT_MIN / -1 wraps, instead of trapping.

template <typename T>
T WrapAdd(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}

template <typename T>
struct AddOp {
  T operator()(T a, T b) const { return WrapAdd(a, b); }
};
template <typename T>
struct SubOp {
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
    } else {
      return a - b;
    }
  }
};
template <typename T>
struct MulOp {
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
    } else {
      return a * b;
    }
  }
};
template <typename T>
struct DivOp {
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(a));
      }
      return a / b;
    } else {
      return a / b;
    }
  }
};
template <typename T>
struct PReluOp {
  T operator()(T x, T slope) const { return x < 0 ? MulOp<T>()(x, slope) : x; }
};

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kPRelu };

template <typename T>
void RunBinaryTyped(const RunContext& ctx, BinaryOp op, const BroadcastPlan& p, const void* a,
                    const void* b, void* out) {
  switch (op) {
    case BinaryOp::kAdd: RunBroadcast<T>(ctx, p, a, b, out, AddOp<T>()); break;
    case BinaryOp::kSub: RunBroadcast<T>(ctx, p, a, b, out, SubOp<T>()); break;
    case BinaryOp::kMul: RunBroadcast<T>(ctx, p, a, b, out, MulOp<T>()); break;
    case BinaryOp::kDiv: RunBroadcast<T>(ctx, p, a, b, out, DivOp<T>()); break;
    case BinaryOp::kPRelu: RunBroadcast<T>(ctx, p, a, b, out, PReluOp<T>()); break;
  }
}

void RunBinary(const RunContext& ctx, DataType dtype, BinaryOp op, const BroadcastPlan& p,
               const void* a, const void* b, void* out) {
  switch (dtype) {
    case DataType::kFloat32: RunBinaryTyped<float>(ctx, op, p, a, b, out); break;
    case DataType::kInt32: RunBinaryTyped<int32_t>(ctx, op, p, a, b, out); break;
    case DataType::kInt64: RunBinaryTyped<int64_t>(ctx, op, p, a, b, out); break;
    case DataType::kInt8: RunBinaryTyped<int8_t>(ctx, op, p, a, b, out); break;
    case DataType::kUint8: RunBinaryTyped<uint8_t>(ctx, op, p, a, b, out); break;
    default: break;  // rejected by Prepare
  }
}

bool IsArithmeticDtype(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kInt32 || t == DataType::kInt64 ||
         t == DataType::kInt8 || t == DataType::kUint8;
}

// ---------------------------------------------------------------------------
// Binary: Add, Sub, Mul, Div, PRelu.

absl::StatusOr<std::vector<TensorInfo>> InferBinary(const std::string& type,
                                                    std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, type));
  const TensorInfo& a = inputs[0];
  const TensorInfo& b = inputs[1];
  if (a.dtype != b.dtype) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": input dtypes differ (",
                                                   DataTypeName(a.dtype), " vs ",
                                                   DataTypeName(b.dtype), ")"));
  }
  if (!IsArithmeticDtype(a.dtype)) return UnsupportedDtype(type, a.dtype);
  absl::StatusOr<Dims> out = BroadcastShapes(a.shape, b.shape);
  if (!out.ok()) return Annotate(out.status(), type);
  if (type == "PRelu" && *out != a.shape) {
    // PRelu: slope must be unidirectionally broadcastable to X.
    return absl::InvalidArgumentError(
        absl::StrCat("PRelu: slope shape ", ShapeString(b.shape),
                     " is not unidirectionally broadcastable to X shape ", ShapeString(a.shape)));
  }
  return std::vector<TensorInfo>{MakeInfo(a.dtype, *std::move(out))};
}

class BinaryKernel : public Kernel {
 public:
  explicit BinaryKernel(BinaryOp op, std::string type) : op_(op), type_(std::move(type)) {}

  absl::Status Prepare(const Attributes&, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferBinary(type_, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, type_));
    dtype_ = out[0].dtype;
    plan_ = MakeBroadcastPlan(inputs[0].shape, inputs[1].shape, out[0].shape);
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    RunBinary(ctx, dtype_, op_, plan_, in[0], in[1], out[0]);
  }

 private:
  BinaryOp op_;
  std::string type_;
  DataType dtype_ = DataType::kUndefined;
  BroadcastPlan plan_;
};

// ---------------------------------------------------------------------------
// Sum.

absl::StatusOr<std::vector<TensorInfo>> InferSum(std::span<const TensorInfo> inputs) {
  if (inputs.empty()) return absl::InvalidArgumentError("Sum expects at least 1 input");
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, inputs.size(), inputs.size(), "Sum"));
  DataType dtype = inputs[0].dtype;
  Dims shape = inputs[0].shape;
  for (const TensorInfo& t : inputs) {
    if (t.dtype != dtype) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Sum: input dtypes differ (", DataTypeName(dtype), " vs ", DataTypeName(t.dtype), ")"));
    }
    absl::StatusOr<Dims> s = BroadcastShapes(shape, t.shape);
    if (!s.ok()) return Annotate(s.status(), "Sum");
    shape = *std::move(s);
  }
  if (dtype != DataType::kFloat32) return UnsupportedDtype("Sum", dtype);
  return std::vector<TensorInfo>{MakeInfo(dtype, std::move(shape))};
}

class SumKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes&, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferSum(inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Sum"));
    const Dims& shape = out[0].shape;
    plans_.clear();
    if (inputs.size() == 1) {
      // A single input: Run copies it.
      count_ = NumElements(shape);
      return absl::OkStatus();
    }
    // out = in0 + in1 (both broadcast to the final shape), then out += in_k
    // (so the output may share a buffer with in0 or in1, not with later inputs).
    plans_.push_back(MakeBroadcastPlan(inputs[0].shape, inputs[1].shape, shape));
    for (size_t k = 2; k < inputs.size(); ++k) {
      plans_.push_back(MakeBroadcastPlan(shape, inputs[k].shape, shape));
    }
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    if (plans_.empty()) {
      if (count_ > 0 && out[0] != in[0]) {
        std::memcpy(out[0], in[0], static_cast<size_t>(count_) * sizeof(float));
      }
      return;
    }
    RunBroadcast<float>(ctx, plans_[0], in[0], in[1], out[0], AddOp<float>());
    for (size_t k = 1; k < plans_.size(); ++k) {
      RunBroadcast<float>(ctx, plans_[k], out[0], in[k + 1], out[0], AddOp<float>());
    }
  }

 private:
  std::vector<BroadcastPlan> plans_;
  int64_t count_ = 0;
};

// ---------------------------------------------------------------------------
// Unary activations.

enum class UnaryOp { kRelu, kLeakyRelu, kClip, kSigmoid, kTanh, kHardSigmoid, kHardSwish, kSwish };

bool UnaryFromName(const std::string& type, UnaryOp* op) {
  static const std::pair<const char*, UnaryOp> kOps[] = {
      {"Relu", UnaryOp::kRelu},          {"LeakyRelu", UnaryOp::kLeakyRelu},
      {"Clip", UnaryOp::kClip},          {"Sigmoid", UnaryOp::kSigmoid},
      {"Tanh", UnaryOp::kTanh},          {"HardSigmoid", UnaryOp::kHardSigmoid},
      {"HardSwish", UnaryOp::kHardSwish}, {"Swish", UnaryOp::kSwish}};
  for (const auto& [name, value] : kOps) {
    if (type == name) {
      *op = value;
      return true;
    }
  }
  return false;
}

bool UnarySupports(UnaryOp op, DataType t) {
  switch (op) {
    case UnaryOp::kRelu:
      return t == DataType::kFloat32 || t == DataType::kInt32 || t == DataType::kInt64 ||
             t == DataType::kInt8;
    case UnaryOp::kClip:
      return t == DataType::kFloat32 || t == DataType::kInt32 || t == DataType::kInt64 ||
             t == DataType::kInt8 || t == DataType::kUint8;
    default: return t == DataType::kFloat32;
  }
}

absl::StatusOr<std::vector<TensorInfo>> InferUnary(UnaryOp op, const std::string& type,
                                                   std::span<const TensorInfo> inputs) {
  const size_t max_inputs = op == UnaryOp::kClip ? 3 : 1;
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, max_inputs, type));
  const TensorInfo& x = inputs[0];
  if (!UnarySupports(op, x.dtype)) return UnsupportedDtype(type, x.dtype);
  for (size_t i = 1; i < inputs.size(); ++i) {
    if (!inputs[i].present) continue;
    const char* what = i == 1 ? "min" : "max";
    if (inputs[i].dtype != x.dtype) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": '", what, "' has dtype ",
                                                     DataTypeName(inputs[i].dtype), ", expected ",
                                                     DataTypeName(x.dtype)));
    }
    if (NumElements(inputs[i].shape) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          type, ": '", what, "' must be a scalar, got shape ", ShapeString(inputs[i].shape)));
    }
  }
  return std::vector<TensorInfo>{MakeInfo(x.dtype, x.shape)};
}

template <typename T, typename F>
void MapUnary(const void* in, void* out, int64_t n, F f) {
  const T* x = static_cast<const T*>(in);
  T* y = static_cast<T*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <typename T>
void RunRelu(const void* in, void* out, int64_t n) {
  MapUnary<T>(in, out, n, [](T x) { return ReluOf(x); });
}

// Clip-6's attribute bounds, used when the corresponding input is absent.
struct ClipAttrs {
  bool has_min = false;
  bool has_max = false;
  float min = 0.0f;
  float max = 0.0f;
};

template <typename T>
void RunClipTyped(const void* in, const void* lo_p, const void* hi_p, const ClipAttrs& attrs,
                  void* out, int64_t n) {
  T lo = std::numeric_limits<T>::lowest();
  T hi = std::numeric_limits<T>::max();
  if constexpr (std::is_floating_point_v<T>) {
    lo = -std::numeric_limits<T>::infinity();
    hi = std::numeric_limits<T>::infinity();
    // Clip-6 (float types only) had attributes instead of inputs.
    if (lo_p == nullptr && attrs.has_min) lo = attrs.min;
    if (hi_p == nullptr && attrs.has_max) hi = attrs.max;
  }
  if (lo_p != nullptr) std::memcpy(&lo, lo_p, sizeof(T));
  if (hi_p != nullptr) std::memcpy(&hi, hi_p, sizeof(T));
  MapUnary<T>(in, out, n, [lo, hi](T x) { return ClipOf(x, lo, hi); });
}

void RunClip(DataType dtype, const void* in, const void* lo, const void* hi, const ClipAttrs& attrs,
             void* out, int64_t n) {
  switch (dtype) {
    case DataType::kFloat32: RunClipTyped<float>(in, lo, hi, attrs, out, n); break;
    case DataType::kInt32: RunClipTyped<int32_t>(in, lo, hi, attrs, out, n); break;
    case DataType::kInt64: RunClipTyped<int64_t>(in, lo, hi, attrs, out, n); break;
    case DataType::kInt8: RunClipTyped<int8_t>(in, lo, hi, attrs, out, n); break;
    case DataType::kUint8: RunClipTyped<uint8_t>(in, lo, hi, attrs, out, n); break;
    default: break;  // rejected by Prepare
  }
}

class UnaryKernel : public Kernel {
 public:
  UnaryKernel(UnaryOp op, std::string type) : op_(op), type_(std::move(type)) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferUnary(op_, type_, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, type_));
    dtype_ = out[0].dtype;
    count_ = NumElements(out[0].shape);
    ENGINE_ASSIGN_OR_RETURN(act_, ActivationFromType(type_));
    switch (op_) {
      case UnaryOp::kLeakyRelu: {
        ENGINE_ASSIGN_OR_RETURN(act_.alpha, attrs.GetFloat("alpha", 0.01f));
        break;
      }
      case UnaryOp::kHardSigmoid: {
        ENGINE_ASSIGN_OR_RETURN(act_.alpha, attrs.GetFloat("alpha", 0.2f));
        ENGINE_ASSIGN_OR_RETURN(act_.beta, attrs.GetFloat("beta", 0.5f));
        break;
      }
      case UnaryOp::kSwish: {
        ENGINE_ASSIGN_OR_RETURN(act_.alpha, attrs.GetFloat("alpha", 1.0f));
        break;
      }
      case UnaryOp::kClip: {
        // Clip-6 attributes; the upgraded form uses inputs, which win.
        clip_.has_min = attrs.Has("min");
        clip_.has_max = attrs.Has("max");
        ENGINE_ASSIGN_OR_RETURN(clip_.min, attrs.GetFloat("min", 0.0f));
        ENGINE_ASSIGN_OR_RETURN(clip_.max, attrs.GetFloat("max", 0.0f));
        break;
      }
      default: break;
    }
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    ForElements(ctx, count_, [&](int64_t begin, int64_t end) { RunRange(in, out, begin, end); });
  }

 private:
  // Elements [begin, end).
  void RunRange(std::span<const void* const> in, std::span<void* const> out, int64_t begin,
                int64_t end) const {
    const int64_t n = end - begin;
    const size_t bytes = DataTypeSize(dtype_);
    const void* x = static_cast<const std::byte*>(in[0]) + begin * bytes;
    void* y = static_cast<std::byte*>(out[0]) + begin * bytes;
    switch (op_) {
      case UnaryOp::kRelu:
        switch (dtype_) {
          case DataType::kFloat32: RunRelu<float>(x, y, n); break;
          case DataType::kInt32: RunRelu<int32_t>(x, y, n); break;
          case DataType::kInt64: RunRelu<int64_t>(x, y, n); break;
          case DataType::kInt8: RunRelu<int8_t>(x, y, n); break;
          default: break;
        }
        break;
      case UnaryOp::kClip: {
        const void* lo = in.size() > 1 ? in[1] : nullptr;
        const void* hi = in.size() > 2 ? in[2] : nullptr;
        RunClip(dtype_, x, lo, hi, clip_, y, n);
        break;
      }
      case UnaryOp::kLeakyRelu:
      case UnaryOp::kSigmoid:
      case UnaryOp::kTanh:
      case UnaryOp::kHardSigmoid:
      case UnaryOp::kHardSwish:
      case UnaryOp::kSwish:
        // float32 only (checked by Prepare); the formulas live in kernel_util.
        ApplyActivation(act_, static_cast<const float*>(x), static_cast<float*>(y), n);
        break;
    }
  }

  UnaryOp op_;
  std::string type_;
  DataType dtype_ = DataType::kUndefined;
  int64_t count_ = 0;
  Activation act_;  // the float formula and its parameters (not Relu/Clip)
  ClipAttrs clip_;
};

// A def for a type name this file does not implement (a registry bug): every
// use fails with Unimplemented.
class UnknownKernel : public Kernel {
 public:
  explicit UnknownKernel(std::string type) : type_(std::move(type)) {}
  absl::Status Prepare(const Attributes&, std::span<const TensorInfo>,
                       std::span<const TensorInfo>) override {
    return absl::UnimplementedError(absl::StrCat("no elementwise kernel named '", type_, "'"));
  }
  void Run(const RunContext&, std::span<const void* const>, std::span<void* const>) const override {
  }

 private:
  std::string type_;
};

KernelDef UnknownDef(const std::string& type) {
  KernelDef d;
  d.type = type;
  d.infer = [type](const Attributes&,
                   std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> {
    return absl::UnimplementedError(absl::StrCat("no elementwise kernel named '", type, "'"));
  };
  d.create = [type] { return std::unique_ptr<Kernel>(new UnknownKernel(type)); };
  return d;
}

}  // namespace

KernelDef MakeUnaryDef(const std::string& type) {
  UnaryOp op;
  if (!UnaryFromName(type, &op)) return UnknownDef(type);
  KernelDef d;
  d.type = type;
  d.infer = [op, type](const Attributes&, std::span<const TensorInfo> inputs) {
    return InferUnary(op, type, inputs);
  };
  d.create = [op, type] { return std::unique_ptr<Kernel>(new UnaryKernel(op, type)); };
  return d;
}

KernelDef MakeBinaryDef(const std::string& type) {
  BinaryOp op;
  if (type == "Add") {
    op = BinaryOp::kAdd;
  } else if (type == "Sub") {
    op = BinaryOp::kSub;
  } else if (type == "Mul") {
    op = BinaryOp::kMul;
  } else if (type == "Div") {
    op = BinaryOp::kDiv;
  } else if (type == "PRelu") {
    op = BinaryOp::kPRelu;
  } else {
    return UnknownDef(type);
  }
  KernelDef d;
  d.type = type;
  d.infer = [type](const Attributes&, std::span<const TensorInfo> inputs) {
    return InferBinary(type, inputs);
  };
  d.create = [op, type] { return std::unique_ptr<Kernel>(new BinaryKernel(op, type)); };
  return d;
}

KernelDef MakeSumDef() {
  return MakeDef<SumKernel>("Sum", [](const Attributes&, std::span<const TensorInfo> inputs) {
    return InferSum(inputs);
  });
}

}  // namespace engine::kernels
