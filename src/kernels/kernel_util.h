// Small helpers shared by the kernel files.
#ifndef ENGINE_KERNELS_KERNEL_UTIL_H_
#define ENGINE_KERNELS_KERNEL_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kernels/kernel.h"
#include "kernels/thread_pool.h"

namespace engine::kernels {

/// Multidirectional (numpy) broadcast of two shapes (ONNX Broadcasting.md).
/// Errors: InvalidArgument naming both shapes when they are incompatible.
absl::StatusOr<Dims> BroadcastShapes(const Dims& a, const Dims& b);

/// Row-major element strides of `shape`, in elements.
std::vector<int64_t> RowMajorStrides(const Dims& shape);

/// Strides for reading an input of shape `in` broadcast to `out` (rank of
/// `out`, right-aligned): 0 on broadcast dimensions.
std::vector<int64_t> BroadcastStrides(const Dims& in, const Dims& out);

/// Normalizes a possibly negative `axis` against `rank` (valid range
/// [-rank, rank - 1], or [-rank-1, rank] when `inclusive_end`).
absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, bool inclusive_end = false);

/// Reads a constant integer tensor (int32 or int64) as int64 values.
/// Errors: InvalidArgument when `info` is not a constant or not integral;
/// `what` names the input in the message.
absl::StatusOr<std::vector<int64_t>> ConstantInts(const TensorInfo& info, const std::string& what);

/// Checks the input count is within [min, max] (absent optionals counted).
absl::Status CheckInputCount(std::span<const TensorInfo> inputs, size_t min, size_t max,
                             const std::string& type);

/// "[1,3,224,224]", the shape notation of kernel error messages.
std::string ShapeString(const Dims& dims);

/// Verifies that the output descriptors handed to Prepare agree with what the
/// infer function computed (no check when `outputs` is empty). `type` prefixes
/// the InvalidArgument message.
absl::Status CheckOutputs(std::span<const TensorInfo> outputs,
                          const std::vector<TensorInfo>& expected, const std::string& type);

/// Reads the ints attribute `name` with `n` values (default: `def` repeated)
/// and checks every value is >= `min` and <= kMaxSpatialValue (so that window
/// arithmetic on dimensions up to 2^40 cannot overflow). `type` prefixes
/// error messages.
inline constexpr int64_t kMaxSpatialValue = int64_t{1} << 20;
absl::StatusOr<std::vector<int64_t>> GetSpatialInts(const Attributes& attrs,
                                                    const std::string& type,
                                                    const std::string& name, size_t n,
                                                    int64_t def, int64_t min);

/// Reads `auto_pad` (ONNX Conv/pool attribute): "NOTSET" (also for ""),
/// "SAME_UPPER", "SAME_LOWER" or "VALID"; anything else is InvalidArgument.
absl::StatusOr<std::string> GetAutoPad(const Attributes& attrs, const std::string& type);

/// SAME_UPPER / SAME_LOWER padding of one spatial axis (ONNX Operators.md,
/// Conv): output = ceil(in / stride), total pad = max(0, (output - 1) * stride +
/// dilated_kernel - in), the odd element at the end (UPPER) or begin (LOWER).
/// Returns the output size.
int64_t SamePadding(const std::string& auto_pad, int64_t in, int64_t stride,
                    int64_t dilated_kernel, int64_t* pad_begin, int64_t* pad_end);

// ---------------------------------------------------------------------------
// Activations: the one implementation of the elementwise activation formulas,
// shared by the unary kernels (elementwise.cc) and the fused epilogues of Conv
// and Gemm (attribute "activation", set by the optimizer's fuse-activation and
// fuse-residual passes). Semantics are those of the ONNX operators (opset 13+).

/// Relu: x < 0 ? 0 : x (keeps NaN, like numpy.maximum).
template <typename T>
inline T ReluOf(T x) {
  return x < T(0) ? T(0) : x;
}

/// Clip: min(max(x, lo), hi); when lo > hi the result is hi (numpy.clip); NaN
/// passes.
template <typename T>
inline T ClipOf(T x, T lo, T hi) {
  const T y = x < lo ? lo : x;
  return y > hi ? hi : y;
}

/// LeakyRelu: x < 0 ? alpha * x : x.
inline float LeakyReluOf(float x, float alpha) { return x < 0 ? alpha * x : x; }

/// HardSigmoid: max(0, min(1, alpha * x + beta)).
inline float HardSigmoidOf(float x, float alpha, float beta) {
  return std::max(0.0f, std::min(1.0f, alpha * x + beta));
}

/// HardSwish-14: x * max(0, min(1, x / 6 + 0.5)).
inline float HardSwishOf(float x) {
  return x * std::max(0.0f, std::min(1.0f, x * (1.0f / 6.0f) + 0.5f));
}

/// Gelu-20 with approximate "none" over `n` floats: y = x / 2 * (1 +
/// erf(x / sqrt(2))), erf by Abramowitz & Stegun 7.1.26 (Handbook of
/// Mathematical Functions, 1964: erf(z) = 1 - (a1 t + ... + a5 t^5) e^(-z^2),
/// t = 1 / (1 + p z), z >= 0, absolute error <= 1.5e-7, odd extension for
/// z < 0) with the vectorizable expf of SigmoidArray: branch-free, so the
/// compiler vectorizes it, instead of one libm erff call per element (the
/// FFN GELU of BERT-base is 4.7 M of them per inference). NaN propagates;
/// +inf gives +inf, -inf NaN (as x / 2 * (1 + std::erf(x / sqrt(2))) does).
/// `y` may alias `x`.
void GeluErfArray(const float* x, float* y, int64_t n);

/// Gelu-20: approximate "none": GeluErfArray on one element; "tanh"
/// (`tanh_form`): x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))), in
/// float32 with std::tanh, the same expressions as the Gelu kernel
/// (elementwise_math.cc) and the fused activation (ApplyActivation), so a
/// fused Gelu epilogue gives the same bits.
inline float GeluOf(float x, bool tanh_form) {
  if (tanh_form) {
    constexpr float kC = 0.7978845608028654f;  // sqrt(2 / pi)
    return 0.5f * x * (1.0f + std::tanh(kC * (x + 0.044715f * x * x * x)));
  }
  float y;
  GeluErfArray(&x, &y, 1);
  return y;
}

/// e^x over `n` floats with the vectorizable expf of SigmoidArray (Cephes,
/// ~1 ulp): x below -87.3 (where e^x leaves the normal floats) gives 0, x
/// above 88.3 gives e^88.3 (~2e38), NaN propagates. `y` may alias `x`.
void ExpArray(const float* x, float* y, int64_t n);

/// Lanes of SoftmaxRow's max and sum.
inline constexpr int kSoftmaxLanes = 16;

/// max(x[0, n)) for n >= 1, by kSoftmaxLanes running maxima (element i into
/// lane i % 16) folded at the end, so the compiler vectorizes it. Max is
/// exact, so without NaN this is *std::max_element(x, x + n) (of equal
/// zeros it may return either sign, which SoftmaxRow's x - max does not
/// see); with a NaN the result is unspecified (SoftmaxRow's row is NaN
/// either way).
inline float MaxLanes(const float* x, int64_t n) {
  float m[kSoftmaxLanes];
  for (int l = 0; l < kSoftmaxLanes; ++l) m[l] = -std::numeric_limits<float>::infinity();
  const int64_t body = n / kSoftmaxLanes * kSoftmaxLanes;
  for (int64_t i = 0; i < body; i += kSoftmaxLanes) {
    for (int l = 0; l < kSoftmaxLanes; ++l) m[l] = m[l] < x[i + l] ? x[i + l] : m[l];
  }
  for (int64_t i = body; i < n; ++i) m[i - body] = m[i - body] < x[i] ? x[i] : m[i - body];
  for (int w = kSoftmaxLanes / 2; w > 0; w /= 2) {
    for (int l = 0; l < w; ++l) m[l] = m[l] < m[l + w] ? m[l + w] : m[l];
  }
  return m[0];
}

/// sum(x[0, n)) in float32 in a fixed order that depends on n alone:
/// element i added into lane i % 16 (lanes from +0, in order of i), then
/// the lanes folded pairwise (lane l += lane l + w for w = 8, 4, 2, 1).
/// Sixteen independent chains instead of one serial chain of n adds, so the
/// compiler vectorizes it (a softmax row of ViT-B/16 is 197 long).
inline float SumLanes(const float* x, int64_t n) {
  float s[kSoftmaxLanes] = {};
  const int64_t body = n / kSoftmaxLanes * kSoftmaxLanes;
  for (int64_t i = 0; i < body; i += kSoftmaxLanes) {
    for (int l = 0; l < kSoftmaxLanes; ++l) s[l] += x[i + l];
  }
  for (int64_t i = body; i < n; ++i) s[i - body] += x[i];
  for (int w = kSoftmaxLanes / 2; w > 0; w /= 2) {
    for (int l = 0; l < w; ++l) s[l] += s[l + w];
  }
  return s[0];
}

/// Softmax-13 over one contiguous row of `n` >= 1 floats: y[i] =
/// exp(x[i] - max(x)) / sum_j exp(x[j] - max(x)), max by MaxLanes, exp by
/// ExpArray, the sum by SumLanes (float32, a fixed order set by n alone) and
/// one multiply by its reciprocal. The Softmax and Attention kernels both
/// use it, so a fused attention layer gives the unfused Softmax's bits, and
/// a row's result depends only on the row (not on threads or its position).
/// A NaN in the row makes the whole row NaN. `y` may alias `x`.
inline void SoftmaxRow(const float* x, float* y, int64_t n) {
  const float mx = MaxLanes(x, n);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] - mx;
  ExpArray(y, y, n);
  const float inv = 1.0f / SumLanes(y, n);
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

/// Sigmoid 1 / (1 + e^-x) and Tanh over `n` floats, with a vectorizable expf
/// (Cephes, ~1 ulp). `y` may alias `x`.
void SigmoidArray(const float* x, float* y, int64_t n);
void TanhArray(const float* x, float* y, int64_t n);
/// Swish-24 over `n` floats: x * Sigmoid(alpha * x), the Sigmoid as
/// SigmoidArray, so that alpha = 1 gives exactly Mul(x, Sigmoid(x)) (SiLU as
/// PyTorch exports it). `y` may alias `x`.
void SwishArray(const float* x, float* y, int64_t n, float alpha);

/// An activation applied elementwise to a layer's float32 output.
struct Activation {
  enum class Kind {
    kNone, kRelu, kLeakyRelu, kClip, kSigmoid, kTanh, kHardSigmoid, kHardSwish, kSwish, kGelu
  };
  Kind kind = Kind::kNone;
  /// Clip: min; LeakyRelu, HardSigmoid, Swish: alpha; Gelu: 0 for the exact
  /// (erf) form, 1 for approximate = "tanh" (GeluOf). Unused otherwise.
  float alpha = 0.0f;
  /// Clip: max; HardSigmoid: beta. Unused otherwise.
  float beta = 0.0f;
};

/// The activation of an ONNX activation op type ("Relu", "LeakyRelu", "Clip",
/// "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Swish", "Gelu" (alpha 0:
/// the erf form; 1: the tanh form)) with its ONNX
/// default parameters (LeakyRelu alpha 0.01; HardSigmoid alpha 0.2, beta 0.5;
/// Clip -FLT_MAX..FLT_MAX; Swish alpha 1). Error: InvalidArgument naming an unknown type.
absl::StatusOr<Activation> ActivationFromType(const std::string& type);

/// Reads a fused activation from a Conv/Gemm layer's attributes: "activation"
/// (string, the activation's op type; absent or "" = none) and optional
/// "activation_alpha" / "activation_beta" (floats, overriding the defaults of
/// ActivationFromType). Errors: InvalidArgument for an unknown activation
/// (naming it) or attributes of the wrong kind.
absl::StatusOr<Activation> ParseActivation(const Attributes& attrs);

/// y[i] = act(x[i]) for i < n; `y` may alias `x` (in place).
void ApplyActivation(const Activation& act, const float* x, float* y, int64_t n);
/// In place.
inline void ApplyActivation(const Activation& act, float* data, int64_t n) {
  ApplyActivation(act, data, data, n);
}

// ---------------------------------------------------------------------------
// Intra-op parallelism.

/// Runs f(begin, end, slot) over contiguous ranges covering [0, n), on the
/// calling thread and up to ctx.threads - 1 idle workers of ctx.pool
/// (exec::ThreadPool::ParallelFor). `slot` < ctx.threads identifies the
/// thread: ranges run at the same time have distinct slots (index per-thread
/// scratch with it). Inline (one range, slot 0) without a pool or with one
/// thread. The split varies from call to call: f must give the same result
/// for an element whichever range holds it.
template <typename F>
void ParallelFor(const RunContext& ctx, int64_t n, const F& f) {
  if (n <= 0) return;
  if (ctx.pool == nullptr || ctx.threads <= 1 || n == 1) {
    f(int64_t{0}, n, 0);
    return;
  }
  ctx.pool->ParallelFor(ctx.threads, n, f);
}

/// Scratch of a kernel whose threads each need their own buffer: `shared`
/// bytes for the whole call, then one slot of `per_thread` bytes per thread,
/// every part 64-byte aligned.
struct ScratchLayout {
  size_t shared = 0;
  size_t per_thread = 0;

  static size_t Align(size_t bytes) { return (bytes + 63) / 64 * 64; }
  size_t Bytes(int threads) const {
    return Align(shared) + static_cast<size_t>(std::max(threads, 1)) * Align(per_thread);
  }
  std::byte* Shared(const RunContext& ctx) const { return ctx.scratch; }
  std::byte* Slot(const RunContext& ctx, int slot) const {
    return ctx.scratch + Align(shared) + static_cast<size_t>(slot) * Align(per_thread);
  }
};

/// An output descriptor.
inline TensorInfo MakeInfo(DataType dtype, Dims shape) {
  TensorInfo t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

/// Builds a KernelDef from an infer function and a kernel class.
template <typename KernelT>
KernelDef MakeDef(std::string type, InferFn infer, bool foldable = true) {
  KernelDef def;
  def.type = std::move(type);
  def.infer = std::move(infer);
  def.create = [] { return std::unique_ptr<Kernel>(new KernelT()); };
  def.foldable = foldable;
  return def;
}

}  // namespace engine::kernels

#endif  // ENGINE_KERNELS_KERNEL_UTIL_H_
