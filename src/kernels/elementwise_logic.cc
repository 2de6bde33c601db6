// Broadcasting elementwise kernels whose operand and result element types
// differ or are not float (the "elementwise math" family, issue 17):
//
//  Integer types below ("the integer types"): int8, uint8, int16, uint16,
//  int32, uint32, int64, uint64.
//
//  - Pow (ONNX Pow-15): Z = X ^ Y, X float32, int32 or int64, Y float32 or
//    any of the integer types; Z has X's type. Float bases are raised in
//    double and rounded once (numpy's float64 promotion for integer
//    exponents; correctly rounded for float exponents within libm's ulp);
//    a constant scalar exponent 2 is x * x (identical result). Integer
//    bases with integer exponents use exact repeated squaring (wrapping on
//    overflow; a negative exponent gives 1 for base 1, +-1 for base -1, else
//    0, where numpy raises); integer bases with float exponents are computed
//    in double and converted (NaN gives 0, out-of-range saturates).
//  - Mod (ONNX Mod-13), attribute fmod (default 0): fmod = 0 is integer
//    modulus with the sign of the divisor (Python's %), the integer types;
//    fmod = 1 is the truncated remainder with the sign of the
//    dividend (C fmod), float32 and the integer types. Float inputs with
//    fmod = 0 are InvalidArgument (the spec requires fmod = 1 for floats).
//    Integer modulus by zero gives 0 instead of trapping (undefined in ONNX).
//  - Equal, Greater, GreaterOrEqual, Less, LessOrEqual (ONNX 13/16/19):
//    float32, the integer types, and bool (Equal only) operands of one
//    type, bool result. Comparisons with NaN are false (IEEE).
//  - And, Or, Xor (ONNX 7): bool operands, bool result.
//  - BitShift (ONNX 11): uint8, uint16, uint32 or uint64 operands,
//    attribute direction "LEFT" or "RIGHT" (required); a shift by the bit
//    width or more gives 0 (numpy).
//  - Where (ONNX Where-16): condition bool, X and Y of any one element type;
//    three-way multidirectional broadcasting.
//  - Min, Max (ONNX 13): variadic (1..N inputs), float32 or the integer
//    types; NaN propagates (numpy.minimum / maximum). Mean (ONNX 13):
//    variadic float32, the sum of the inputs divided by their count.
//  - Int8Max, Int8Min (engine layers made by the builder's INT8 rewrite from
//    Max / Min of int8 activations): 1..N int8 inputs, broadcasting as Max,
//    attributes "multiplier" and "shift" (ints, one per input: the Q31
//    multiplier and right shift of input_scale[i] / output_scale, common/
//    requant.h); Y int8 = max_i (min_i) of clamp(Requantize(X_i, multiplier[i],
//    shift[i]), -128, 127). Requantize and the clamp are non-decreasing, so
//    this is round(max_i(real_i) / output_scale) saturated (ties toward
//    +infinity, M0 within 2^-31 of the real multiplier): the modeled vector
//    unit's integer arithmetic, bit for bit.
//
// Broadcasting is ONNX's multidirectional (numpy) rule, executed by the
// NaryBroadcastPlan walk (broadcast_nary.h), which parallelizes large outputs
// without making the result depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/requant.h"
#include "common/status_macros.h"
#include "kernels/broadcast_nary.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

template <typename T>
struct Tag {
  using type = T;
};

// Calls f(Tag<T>{}) for the numeric element types the engine stores (bool
// is uint8_t); returns false for any other dtype.
template <typename F>
bool DispatchNumeric(DataType t, const F& f) {
  switch (t) {
    case DataType::kFloat32: f(Tag<float>{}); return true;
    case DataType::kInt32: f(Tag<int32_t>{}); return true;
    case DataType::kInt64: f(Tag<int64_t>{}); return true;
    case DataType::kInt8: f(Tag<int8_t>{}); return true;
    case DataType::kInt16: f(Tag<int16_t>{}); return true;
    case DataType::kUint16: f(Tag<uint16_t>{}); return true;
    case DataType::kUint32: f(Tag<uint32_t>{}); return true;
    case DataType::kUint64: f(Tag<uint64_t>{}); return true;
    case DataType::kUint8:
    case DataType::kBool: f(Tag<uint8_t>{}); return true;
    default: return false;
  }
}

bool IsNumeric(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kInt32 || t == DataType::kInt64 ||
         t == DataType::kInt8 || t == DataType::kUint8 || t == DataType::kInt16 ||
         t == DataType::kUint16 || t == DataType::kUint32 || t == DataType::kUint64;
}

absl::Status Unsupported(const std::string& type, const std::string& what, DataType dtype) {
  return absl::UnimplementedError(
      absl::StrCat(type, ": unsupported dtype ", DataTypeName(dtype), " for ", what));
}

absl::Status DtypesDiffer(const std::string& type, DataType a, DataType b) {
  return absl::InvalidArgumentError(absl::StrCat(type, ": input dtypes differ (", DataTypeName(a),
                                                 " vs ", DataTypeName(b), ")"));
}

// ---------------------------------------------------------------------------
// Scalar formulas.

// Python-style modulus (sign of the divisor) or C-style (sign of the
// dividend); x % 0 = 0 and MIN % -1 = 0 instead of trapping.
template <typename T>
T IntMod(T a, T b, bool fmod) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return 0;
    T r = static_cast<T>(a % b);
    if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    return r;
  } else {
    return static_cast<T>(a % b);
  }
}

// base^exp on integers by repeated squaring, wrapping on overflow.
template <typename T>
T IntPow(T base, int64_t exp) {
  if (exp < 0) {
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<T>) {
      if (base == -1) return (exp % 2 == 0) ? T(1) : T(-1);
    }
    return 0;
  }
  using U = std::make_unsigned_t<T>;
  U result = 1, b = static_cast<U>(base);
  auto e = static_cast<uint64_t>(exp);
  while (e != 0) {
    if (e & 1) result = static_cast<U>(result * b);
    b = static_cast<U>(b * b);
    e >>= 1;
  }
  return static_cast<T>(result);
}

// A double converted to an integer type: NaN gives 0, out of range saturates.
template <typename T>
T SaturateToInt(double v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) {
    return std::numeric_limits<T>::lowest();
  }
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

template <typename B, typename E>
B PowOf(B base, E exp) {
  if constexpr (std::is_floating_point_v<B>) {
    return static_cast<B>(std::pow(static_cast<double>(base), static_cast<double>(exp)));
  } else if constexpr (std::is_floating_point_v<E>) {
    return SaturateToInt<B>(std::pow(static_cast<double>(base), static_cast<double>(exp)));
  } else {
    return IntPow<B>(base, static_cast<int64_t>(exp));
  }
}

// NaN-propagating min / max (numpy.minimum / numpy.maximum).
template <typename T>
T MaxOf(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (a != a) return a;
  }
  return a > b ? a : b;  // b when b is NaN
}
template <typename T>
T MinOf(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (a != a) return a;
  }
  return a < b ? a : b;  // b when b is NaN
}

// ---------------------------------------------------------------------------
// Binary ops.

enum class BinOp {
  kPow,
  kMod,
  kEqual,
  kGreater,
  kGreaterOrEqual,
  kLess,
  kLessOrEqual,
  kAnd,
  kOr,
  kXor,
  kBitShift,
};

bool BinOpFromName(const std::string& type, BinOp* op) {
  static const std::pair<const char*, BinOp> kOps[] = {
      {"Pow", BinOp::kPow},
      {"Mod", BinOp::kMod},
      {"Equal", BinOp::kEqual},
      {"Greater", BinOp::kGreater},
      {"GreaterOrEqual", BinOp::kGreaterOrEqual},
      {"Less", BinOp::kLess},
      {"LessOrEqual", BinOp::kLessOrEqual},
      {"And", BinOp::kAnd},
      {"Or", BinOp::kOr},
      {"Xor", BinOp::kXor},
      {"BitShift", BinOp::kBitShift},
  };
  for (const auto& [name, value] : kOps) {
    if (type == name) {
      *op = value;
      return true;
    }
  }
  return false;
}

bool IsComparison(BinOp op) {
  return op == BinOp::kEqual || op == BinOp::kGreater || op == BinOp::kGreaterOrEqual ||
         op == BinOp::kLess || op == BinOp::kLessOrEqual;
}

// Validated attributes of a binary op.
struct BinAttrs {
  bool fmod = false;        // Mod
  bool shift_left = false;  // BitShift
};

absl::StatusOr<BinAttrs> ParseBinAttrs(BinOp op, const std::string& type, const Attributes& attrs,
                                       DataType dtype) {
  BinAttrs a;
  if (op == BinOp::kMod) {
    ENGINE_ASSIGN_OR_RETURN(int64_t fmod, attrs.GetInt("fmod", 0));
    if (fmod != 0 && fmod != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": attribute 'fmod' must be 0 or 1, got ", fmod));
    }
    a.fmod = fmod == 1;
    if (!a.fmod && dtype == DataType::kFloat32) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": attribute 'fmod' must be 1 for float inputs (ONNX Mod)"));
    }
  }
  if (op == BinOp::kBitShift) {
    if (!attrs.Has("direction")) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": attribute 'direction' is required"));
    }
    ENGINE_ASSIGN_OR_RETURN(std::string dir, attrs.GetString("direction", ""));
    if (dir != "LEFT" && dir != "RIGHT") {
      return absl::InvalidArgumentError(absl::StrCat(
          type, ": attribute 'direction' must be \"LEFT\" or \"RIGHT\", got \"", dir, "\""));
    }
    a.shift_left = dir == "LEFT";
  }
  return a;
}

absl::StatusOr<std::vector<TensorInfo>> InferBin(BinOp op, const std::string& type,
                                                 const Attributes& attrs,
                                                 std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, type));
  const TensorInfo& a = inputs[0];
  const TensorInfo& b = inputs[1];
  DataType out = a.dtype;
  if (op == BinOp::kPow) {
    if (a.dtype != DataType::kFloat32 && a.dtype != DataType::kInt32 &&
        a.dtype != DataType::kInt64) {
      return Unsupported(type, "X", a.dtype);
    }
    if (!IsNumeric(b.dtype)) return Unsupported(type, "Y", b.dtype);
  } else {
    if (a.dtype != b.dtype) return DtypesDiffer(type, a.dtype, b.dtype);
    bool ok = false;
    switch (op) {
      case BinOp::kMod: ok = IsNumeric(a.dtype); break;
      case BinOp::kEqual: ok = IsNumeric(a.dtype) || a.dtype == DataType::kBool; break;
      case BinOp::kGreater:
      case BinOp::kGreaterOrEqual:
      case BinOp::kLess:
      case BinOp::kLessOrEqual: ok = IsNumeric(a.dtype); break;
      case BinOp::kAnd:
      case BinOp::kOr:
      case BinOp::kXor: ok = a.dtype == DataType::kBool; break;
      case BinOp::kBitShift:
        ok = a.dtype == DataType::kUint8 || a.dtype == DataType::kUint16 ||
             a.dtype == DataType::kUint32 || a.dtype == DataType::kUint64;
        break;
      case BinOp::kPow: break;
    }
    if (!ok) return Unsupported(type, "its inputs", a.dtype);
    if (IsComparison(op)) out = DataType::kBool;
  }
  ENGINE_RETURN_IF_ERROR(ParseBinAttrs(op, type, attrs, a.dtype).status());
  absl::StatusOr<Dims> shape = BroadcastShapes(a.shape, b.shape);
  if (!shape.ok()) return Annotate(shape.status(), type);
  return std::vector<TensorInfo>{MakeInfo(out, *std::move(shape))};
}

class BinKernel final : public Kernel {
 public:
  BinKernel(BinOp op, std::string type) : op_(op), type_(std::move(type)) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferBin(op_, type_, attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, type_));
    ENGINE_ASSIGN_OR_RETURN(attrs_, ParseBinAttrs(op_, type_, attrs, inputs[0].dtype));
    a_ = inputs[0].dtype;
    b_ = inputs[1].dtype;
    plan_ = MakeNaryBroadcastPlan<2>({&inputs[0].shape, &inputs[1].shape}, out[0].shape);
    // Pow by a constant scalar 2 (LayerNorm decompositions): x * x.
    square_ = false;
    if (op_ == BinOp::kPow && a_ == DataType::kFloat32 && inputs[1].constant != nullptr &&
        inputs[1].constant->num_elements() == 1) {
      DispatchNumeric(b_, [&](auto tag) {
        using E = typename decltype(tag)::type;
        square_ = static_cast<double>(inputs[1].constant->template data_as<E>()[0]) == 2.0;
      });
    }
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const void* a = in[0];
    const void* b = in[1];
    void* o = out[0];
    switch (op_) {
      case BinOp::kPow: RunPow(ctx, a, b, o); break;
      case BinOp::kMod:
        DispatchNumeric(a_, [&](auto tag) {
          using T = typename decltype(tag)::type;
          if constexpr (std::is_floating_point_v<T>) {
            RunBinaryPlan<T, T, T>(ctx, plan_, a, b, o, [](T x, T y) { return std::fmod(x, y); });
          } else {
            const bool fmod = attrs_.fmod;
            RunBinaryPlan<T, T, T>(ctx, plan_, a, b, o,
                                   [fmod](T x, T y) { return IntMod<T>(x, y, fmod); });
          }
        });
        break;
      case BinOp::kEqual: Compare(ctx, a, b, o, [](auto x, auto y) { return x == y; }); break;
      case BinOp::kGreater: Compare(ctx, a, b, o, [](auto x, auto y) { return x > y; }); break;
      case BinOp::kGreaterOrEqual:
        Compare(ctx, a, b, o, [](auto x, auto y) { return x >= y; });
        break;
      case BinOp::kLess: Compare(ctx, a, b, o, [](auto x, auto y) { return x < y; }); break;
      case BinOp::kLessOrEqual:
        Compare(ctx, a, b, o, [](auto x, auto y) { return x <= y; });
        break;
      case BinOp::kAnd:
        RunBinaryPlan<uint8_t, uint8_t, uint8_t>(
            ctx, plan_, a, b, o, [](uint8_t x, uint8_t y) -> uint8_t { return (x != 0) & (y != 0); });
        break;
      case BinOp::kOr:
        RunBinaryPlan<uint8_t, uint8_t, uint8_t>(
            ctx, plan_, a, b, o, [](uint8_t x, uint8_t y) -> uint8_t { return (x != 0) | (y != 0); });
        break;
      case BinOp::kXor:
        RunBinaryPlan<uint8_t, uint8_t, uint8_t>(
            ctx, plan_, a, b, o, [](uint8_t x, uint8_t y) -> uint8_t { return (x != 0) ^ (y != 0); });
        break;
      case BinOp::kBitShift:
        DispatchNumeric(a_, [&](auto tag) {
          using T = typename decltype(tag)::type;
          if constexpr (std::is_unsigned_v<T>) {
            // A shift by the bit width or more gives 0 (numpy's result for
            // these unsigned types), not C++'s undefined behaviour.
            constexpr T kBits = static_cast<T>(8 * sizeof(T));
            if (attrs_.shift_left) {
              RunBinaryPlan<T, T, T>(ctx, plan_, a, b, o, [](T x, T s) -> T {
                return s >= kBits ? T{0} : static_cast<T>(x << s);
              });
            } else {
              RunBinaryPlan<T, T, T>(ctx, plan_, a, b, o, [](T x, T s) -> T {
                return s >= kBits ? T{0} : static_cast<T>(x >> s);
              });
            }
          }
        });
        break;
    }
  }

 private:
  template <typename F>
  void Compare(const RunContext& ctx, const void* a, const void* b, void* o, const F& f) const {
    DispatchNumeric(a_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      RunBinaryPlan<T, T, uint8_t>(ctx, plan_, a, b, o,
                                   [&f](T x, T y) -> uint8_t { return f(x, y) ? 1 : 0; });
    });
  }

  void RunPow(const RunContext& ctx, const void* a, const void* b, void* o) const {
    if (square_) {
      RunBinaryPlan<float, uint8_t, float>(ctx, plan_, a, b, o,
                                           [](float x, uint8_t) { return x * x; });
      return;
    }
    DispatchNumeric(a_, [&](auto base_tag) {
      using B = typename decltype(base_tag)::type;
      if constexpr (std::is_same_v<B, float> || std::is_same_v<B, int32_t> ||
                    std::is_same_v<B, int64_t>) {
        DispatchNumeric(b_, [&](auto exp_tag) {
          using E = typename decltype(exp_tag)::type;
          RunBinaryPlan<B, E, B>(ctx, plan_, a, b, o, [](B x, E y) { return PowOf<B, E>(x, y); });
        });
      }
    });
  }

  BinOp op_;
  std::string type_;
  BinAttrs attrs_;
  DataType a_ = DataType::kUndefined, b_ = DataType::kUndefined;
  NaryBroadcastPlan<2> plan_;
  bool square_ = false;
};

// ---------------------------------------------------------------------------
// Where.

absl::StatusOr<std::vector<TensorInfo>> InferWhere(std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 3, 3, "Where"));
  if (inputs[0].dtype != DataType::kBool) return Unsupported("Where", "condition", inputs[0].dtype);
  if (inputs[1].dtype != inputs[2].dtype) {
    return DtypesDiffer("Where", inputs[1].dtype, inputs[2].dtype);
  }
  const size_t bytes = DataTypeSize(inputs[1].dtype);
  if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) {
    return Unsupported("Where", "X and Y", inputs[1].dtype);
  }
  absl::StatusOr<Dims> shape = BroadcastShapes(inputs[0].shape, inputs[1].shape);
  if (shape.ok()) shape = BroadcastShapes(*shape, inputs[2].shape);
  if (!shape.ok()) return Annotate(shape.status(), "Where");
  return std::vector<TensorInfo>{MakeInfo(inputs[1].dtype, *std::move(shape))};
}

class WhereKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes&, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferWhere(inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Where"));
    bytes_ = DataTypeSize(out[0].dtype);
    plan_ = MakeNaryBroadcastPlan<3>({&inputs[0].shape, &inputs[1].shape, &inputs[2].shape},
                                     out[0].shape);
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    switch (bytes_) {
      case 1: RunTyped<uint8_t>(ctx, in, out[0]); break;
      case 2: RunTyped<uint16_t>(ctx, in, out[0]); break;
      case 4: RunTyped<uint32_t>(ctx, in, out[0]); break;
      default: RunTyped<uint64_t>(ctx, in, out[0]); break;
    }
  }

 private:
  // Element values are copied as raw words of their size (any dtype).
  template <typename W>
  void RunTyped(const RunContext& ctx, std::span<const void* const> in, void* out) const {
    const auto* c = static_cast<const uint8_t*>(in[0]);
    const W* x = static_cast<const W*>(in[1]);
    const W* y = static_cast<const W*>(in[2]);
    W* o = static_cast<W*>(out);
    const std::array<int64_t, 3> s = plan_.row_strides();
    ForEachRow<3>(ctx, plan_, [&](int64_t ob, int64_t n, const std::array<int64_t, 3>& off) {
      const uint8_t* cr = c + off[0];
      const W* xr = x + off[1];
      const W* yr = y + off[2];
      W* orow = o + ob;
      if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
        for (int64_t i = 0; i < n; ++i) orow[i] = cr[i] ? xr[i] : yr[i];
      } else {
        for (int64_t i = 0; i < n; ++i) orow[i] = cr[i * s[0]] ? xr[i * s[1]] : yr[i * s[2]];
      }
    });
  }

  size_t bytes_ = 0;
  NaryBroadcastPlan<3> plan_;
};

// ---------------------------------------------------------------------------
// Variadic Min, Max, Mean.

enum class VarOp { kMin, kMax, kMean };

absl::StatusOr<std::vector<TensorInfo>> InferVariadic(VarOp op, const std::string& type,
                                                      std::span<const TensorInfo> inputs) {
  if (inputs.empty()) return absl::InvalidArgumentError(absl::StrCat(type, " expects at least 1 input"));
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, inputs.size(), inputs.size(), type));
  const DataType dtype = inputs[0].dtype;
  Dims shape = inputs[0].shape;
  for (const TensorInfo& t : inputs) {
    if (t.dtype != dtype) return DtypesDiffer(type, dtype, t.dtype);
    absl::StatusOr<Dims> s = BroadcastShapes(shape, t.shape);
    if (!s.ok()) return Annotate(s.status(), type);
    shape = *std::move(s);
  }
  const bool ok = op == VarOp::kMean ? dtype == DataType::kFloat32 : IsNumeric(dtype);
  if (!ok) return Unsupported(type, "its inputs", dtype);
  return std::vector<TensorInfo>{MakeInfo(dtype, std::move(shape))};
}

// The broadcast plans of a left fold over `inputs` into `shape` (their
// broadcast shape): plan 0 is out = f(in0, in1) (or a broadcast copy of in0
// when it is the only input, read as f(in0, in0)), plan k is
// out = f(out, in_{k+1}). One plan per binary step; `inputs` non-empty.
std::vector<NaryBroadcastPlan<2>> FoldPlans(std::span<const TensorInfo> inputs, const Dims& shape) {
  const Dims& second = inputs.size() > 1 ? inputs[1].shape : shape;
  std::vector<NaryBroadcastPlan<2>> plans;
  plans.push_back(MakeNaryBroadcastPlan<2>({&inputs[0].shape, &second}, shape));
  for (size_t k = 2; k < inputs.size(); ++k) {
    plans.push_back(MakeNaryBroadcastPlan<2>({&shape, &inputs[k].shape}, shape));
  }
  return plans;
}

class VariadicKernel final : public Kernel {
 public:
  VariadicKernel(VarOp op, std::string type) : op_(op), type_(std::move(type)) {}

  absl::Status Prepare(const Attributes&, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferVariadic(op_, type_, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, type_));
    dtype_ = out[0].dtype;
    n_inputs_ = inputs.size();
    plans_ = FoldPlans(inputs, out[0].shape);
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    DispatchNumeric(dtype_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      switch (op_) {
        case VarOp::kMin: Fold<T>(ctx, in, out[0], [](T a, T b) { return MinOf(a, b); }); break;
        case VarOp::kMax: Fold<T>(ctx, in, out[0], [](T a, T b) { return MaxOf(a, b); }); break;
        case VarOp::kMean:
          if constexpr (std::is_same_v<T, float>) {
            Fold<T>(ctx, in, out[0], [](T a, T b) { return a + b; });
            const float n = static_cast<float>(n_inputs_);
            const NaryBroadcastPlan<2>& p = plans_[0];
            float* o = static_cast<float*>(out[0]);
            // Divide (not multiply by 1/n) like numpy.mean of the stacked inputs.
            ForEachRow<2>(ctx, p, [&](int64_t ob, int64_t len, const std::array<int64_t, 2>&) {
              for (int64_t i = 0; i < len; ++i) o[ob + i] /= n;
            });
          }
          break;
      }
    });
  }

 private:
  template <typename T, typename F>
  void Fold(const RunContext& ctx, std::span<const void* const> in, void* out, const F& f) const {
    if (n_inputs_ == 1) {
      RunBinaryPlan<T, T, T>(ctx, plans_[0], in[0], in[0], out, [](T a, T) { return a; });
      return;
    }
    RunBinaryPlan<T, T, T>(ctx, plans_[0], in[0], in[1], out, f);
    for (size_t k = 1; k < plans_.size(); ++k) {
      RunBinaryPlan<T, T, T>(ctx, plans_[k], out, in[k + 1], out, f);
    }
  }

  VarOp op_;
  std::string type_;
  DataType dtype_ = DataType::kUndefined;
  size_t n_inputs_ = 0;
  std::vector<NaryBroadcastPlan<2>> plans_;
};

// ---------------------------------------------------------------------------
// Int8Max, Int8Min.

struct Int8Requant {
  int32_t multiplier = 0, shift = 1;
  bool identity = false;  // multiplier * 2^-shift == 1: no arithmetic
  int8_t operator()(int8_t q) const {
    if (identity) return q;
    return static_cast<int8_t>(std::clamp<int64_t>(Requantize(q, multiplier, shift), -128, 127));
  }
};

class Int8VariadicKernel final : public Kernel {
 public:
  Int8VariadicKernel(bool max, std::string type) : max_(max), type_(std::move(type)) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, Infer(type_, attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, type_));
    ENGINE_ASSIGN_OR_RETURN(requant_, ParseRequants(type_, attrs, inputs.size()));
    plans_ = FoldPlans(inputs, out[0].shape);
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const bool mx = max_;
    auto pick = [mx](int8_t a, int8_t b) { return mx ? std::max(a, b) : std::min(a, b); };
    const Int8Requant r0 = requant_[0];
    if (requant_.size() == 1) {
      RunBinaryPlan<int8_t, int8_t, int8_t>(ctx, plans_[0], in[0], in[0], out[0],
                                            [r0](int8_t a, int8_t) { return r0(a); });
      return;
    }
    const Int8Requant r1 = requant_[1];
    RunBinaryPlan<int8_t, int8_t, int8_t>(
        ctx, plans_[0], in[0], in[1], out[0],
        [&](int8_t a, int8_t b) { return pick(r0(a), r1(b)); });
    for (size_t k = 1; k < plans_.size(); ++k) {
      const Int8Requant rk = requant_[k + 1];
      RunBinaryPlan<int8_t, int8_t, int8_t>(ctx, plans_[k], out[0], in[k + 1], out[0],
                                            [&](int8_t a, int8_t b) { return pick(a, rk(b)); });
    }
  }

  /// Output int8 of the broadcast shape; every input int8.
  static absl::StatusOr<std::vector<TensorInfo>> Infer(const std::string& type, const Attributes&,
                                                       std::span<const TensorInfo> inputs) {
    if (inputs.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(type, " expects at least 1 input"));
    }
    Dims shape = inputs[0].shape;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const TensorInfo& t = inputs[i];
      if (!t.present || t.dtype != DataType::kInt8) {
        return absl::InvalidArgumentError(
            absl::StrCat(type, ": input ", i, " must be int8, got ", DataTypeName(t.dtype)));
      }
      absl::StatusOr<Dims> s = BroadcastShapes(shape, t.shape);
      if (!s.ok()) return Annotate(s.status(), type);
      shape = *std::move(s);
    }
    return std::vector<TensorInfo>{MakeInfo(DataType::kInt8, std::move(shape))};
  }

 private:
  static absl::StatusOr<std::vector<Int8Requant>> ParseRequants(const std::string& type,
                                                                const Attributes& attrs, size_t n) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> m, attrs.GetInts("multiplier", {}));
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> s, attrs.GetInts("shift", {}));
    if (m.size() != n || s.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          type, ": attributes multiplier and shift need one value per input (", n, "), got ",
          m.size(), " and ", s.size()));
    }
    std::vector<Int8Requant> out;
    for (size_t i = 0; i < n; ++i) {
      if (m[i] < 0 || m[i] > INT32_MAX || s[i] < 1 || s[i] > 62) {
        return absl::InvalidArgumentError(absl::StrCat(
            type, ": requantization of input ", i, " (multiplier ", m[i], ", shift ", s[i],
            ") is outside multiplier in [0, 2^31), shift in [1, 62]"));
      }
      Int8Requant r;
      r.multiplier = static_cast<int32_t>(m[i]);
      r.shift = static_cast<int32_t>(s[i]);
      // QuantizeMultiplier(1.0) = (2^30, 30): Requantize(q) == q; skip it.
      r.identity = r.multiplier == (int32_t{1} << 30) && r.shift == 30;
      out.push_back(r);
    }
    return out;
  }

  bool max_;
  std::string type_;
  std::vector<Int8Requant> requant_;
  std::vector<NaryBroadcastPlan<2>> plans_;
};

}  // namespace

KernelDef MakeInt8VariadicDef(const std::string& type) {
  KernelDef d;
  d.type = type;
  const bool max = type == "Int8Max";
  d.infer = [type](const Attributes& attrs, std::span<const TensorInfo> inputs) {
    return Int8VariadicKernel::Infer(type, attrs, inputs);
  };
  if (type == "Int8Max" || type == "Int8Min") {
    d.create = [max, type] { return std::unique_ptr<Kernel>(new Int8VariadicKernel(max, type)); };
  }
  return d;
}

KernelDef MakeLogicBinaryDef(const std::string& type) {
  BinOp op = BinOp::kPow;
  KernelDef d;
  d.type = type;
  if (!BinOpFromName(type, &op)) {
    d.infer = [type](const Attributes&,
                     std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> {
      return absl::UnimplementedError(absl::StrCat("no broadcasting kernel named '", type, "'"));
    };
    return d;  // no factory: the registry refuses a def without a kernel and importer
  }
  d.infer = [op, type](const Attributes& attrs, std::span<const TensorInfo> inputs) {
    return InferBin(op, type, attrs, inputs);
  };
  d.create = [op, type] { return std::unique_ptr<Kernel>(new BinKernel(op, type)); };
  return d;
}

KernelDef MakeWhereDef() {
  return MakeDef<WhereKernel>("Where", [](const Attributes&, std::span<const TensorInfo> inputs) {
    return InferWhere(inputs);
  });
}

KernelDef MakeVariadicDef(const std::string& type) {
  KernelDef d;
  d.type = type;
  if (type != "Min" && type != "Max" && type != "Mean") {
    d.infer = [type](const Attributes&,
                     std::span<const TensorInfo>) -> absl::StatusOr<std::vector<TensorInfo>> {
      return absl::UnimplementedError(absl::StrCat("no variadic kernel named '", type, "'"));
    };
    return d;  // no factory: the registry refuses a def without a kernel and importer
  }
  const VarOp op = type == "Min" ? VarOp::kMin : type == "Max" ? VarOp::kMax : VarOp::kMean;
  d.infer = [op, type](const Attributes&, std::span<const TensorInfo> inputs) {
    return InferVariadic(op, type, inputs);
  };
  d.create = [op, type] { return std::unique_ptr<Kernel>(new VariadicKernel(op, type)); };
  return d;
}

}  // namespace engine::kernels
