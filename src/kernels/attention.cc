// Attention (engine layer type, not an ONNX op; the host kernel of the fused
// multi-head attention issue 18 asks for), float32:
//
//   Q [B, H, S, D], K [B, H, T, D] (not transposed), V [B, H, T, Dv],
//   optional additive mask M unidirectionally broadcastable to [B, H, S, T]
//   (rank <= 4, right-aligned: the exporters' [B, 1, 1, T] padding mask,
//   [S, T] causal masks, ...);
//   attributes "scale" (float, default 1 / sqrt(D)) and "scale_mode"
//   ("div": scores = (Q Kᵀ) / scale, as PyTorch exports Div(scores,
//   sqrt(D)); "mul", the default: scores = (Q Kᵀ) * scale);
//
//   Y [B, H, S, Dv] = softmax_T(scores + M) · V
//
// with the operations in the order of the unfused chain MatMul, Div or Mul,
// Add, Softmax(axis -1), MatMul: each score is rounded to float32 after the
// product, after the scale and after the mask add; the softmax is the
// Softmax kernel's contiguous form (SoftmaxRow, kernel_util.h: max,
// exp(x - max) summed in 16 fixed lanes, times 1 / sum; kernels/norm.cc); both products are SgemmActivations calls
// (kernels/sgemm_packed.h), the kernel of MatMul without a constant B too,
// so every score and output has the unfused chain's bits. Only the materialized Kᵀ and the [B, H, S, T] score
// tensors of the chain disappear: a head's scores live in per-thread scratch.
//
// Packed head layout (engine extension, written by the fuse-attention-heads
// pass, which folds the exporters' per-head Reshape + Transpose into the
// layer): with attribute "num_heads" = H, each of Q, K, V may instead be
// rank 3, [B, seq, H * head] (the projection's own output: head h of row i
// is the contiguous slice [h * head, (h + 1) * head) of that row), and with
// "output_packed" = 1 Y is [B, S, H * Dv] (what the merge Transpose +
// Reshape produced). The products read / write a head as a strided matrix
// (leading dimension H * head instead of head); the arithmetic, and so every
// output bit, is the same as with the rank-4 operands.
//
// Threading: the B * H heads are spread over RunContext::threads with
// ParallelFor; each head is computed by one thread with the same calls
// whatever the split, so outputs are bit-identical for any thread count.
//
// Registered as the engine-internal "Attention" layer (ops/attention.cc,
// accelerator mapping there), produced by the fuse-attention pass.
//
// Int8Attention (the builder's INT8 form of Attention, builder/
// quantize_int8.cc): Q, K, V int8 in the same layouts (one calibrated scale
// per tensor), the optional mask float32 as above; attributes num_heads and
// output_packed as above, plus
//   "score_scale" (float > 0): s_q * s_k * scale (or / scale for "div"), the
//       factor from an int32 score to its float value;
//   "output_factor" (float > 0): s_v / 127 for a float32 Y, s_v / (127 s_y)
//       for an int8 Y at scale s_y;
//   "int8_output" (int 0 or 1, default 0): Y int8 or float32.
// Arithmetic (common/int8_softmax.h): scores = Q_h K_h^T exactly in int32;
// each row to int8 unnormalized exponentials at scale 1/127 by
// SoftmaxRowToInt8 (float32 vector-unit arithmetic), which also gives the
// row factor g = output_factor / sum; acc = P V_h exactly in int32; Y =
// float(acc) * g, or its int8 rounding (AttentionOutputToInt8). Threaded over
// heads like Attention: bit-identical for any thread count.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/int8_softmax.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"
#include "kernels/sgemm_packed.h"

namespace engine::kernels {
namespace {

// Where head (b, h) of a [B, H, seq, head] or packed [B, seq, H * head]
// operand starts, and its row stride, in elements.
struct HeadLayout {
  int64_t batch_stride = 0, head_stride = 0, ld = 0;
  int64_t Offset(int64_t bi, int64_t hi) const { return bi * batch_stride + hi * head_stride; }
};

// Layout of an operand of `heads` heads of `seq` rows of `head` elements;
// packed: [B, seq, heads * head], else [B, heads, seq, head].
HeadLayout MakeHeadLayout(bool packed, int64_t heads, int64_t seq, int64_t head) {
  if (packed) return {seq * heads * head, head, heads * head};
  return {heads * seq * head, seq * head, head};
}

struct AttentionParams {
  int64_t b = 0, h = 0, s = 0, t = 0, d = 0, dv = 0;
  bool output_packed = false;
  HeadLayout ql, kl, vl, yl;
  float scale = 1.0f;
  bool divide = false;
  bool has_mask = false;
  // Element (b, h, i, j) of the broadcast mask is
  // mask[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]].
  int64_t ms[4] = {0, 0, 0, 0};
};

// `qkv` is the dtype Q, K and V must have (float32 for Attention, int8 for
// Int8Attention); the mask is float32 for both.
absl::StatusOr<AttentionParams> ParseAttention(const Attributes& attrs,
                                               std::span<const TensorInfo> inputs,
                                               DataType qkv = DataType::kFloat32,
                                               const char* op = "Attention") {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 3, 4, op));
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].present) {
      if (i < 3) return absl::InvalidArgumentError(absl::StrCat(op, ": Q, K and V are required"));
      continue;
    }
    const DataType want = i < 3 ? qkv : DataType::kFloat32;
    if (inputs[i].dtype != want) {
      return absl::UnimplementedError(absl::StrCat(op, ": input ", i, " is ",
                                                   DataTypeName(inputs[i].dtype), "; only ",
                                                   DataTypeName(want), " is supported"));
    }
  }
  const Dims& q = inputs[0].shape;
  const Dims& k = inputs[1].shape;
  const Dims& v = inputs[2].shape;
  ENGINE_ASSIGN_OR_RETURN(int64_t num_heads, attrs.GetInt("num_heads", 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t output_packed, attrs.GetInt("output_packed", 0));
  const bool any_packed = q.size() == 3 || k.size() == 3 || v.size() == 3 || output_packed != 0;
  if (any_packed && num_heads < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": a packed [B, seq, H * head] operand (Q ", ShapeString(q), ", K ",
        ShapeString(k), ", V ", ShapeString(v), ", output_packed ", output_packed,
        ") needs attribute num_heads >= 1, got ", num_heads));
  }
  if (output_packed != 0 && output_packed != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": attribute 'output_packed' must be 0 or 1, got ", output_packed));
  }
  // Each operand as [B, H, seq, head]; a packed one's last dim must split into
  // num_heads heads.
  auto as_heads = [&](const Dims& x, const char* what) -> absl::StatusOr<Dims> {
    if (x.size() == 4) return x;
    if (x.size() == 3 && x[2] % num_heads == 0) {
      return Dims{x[0], num_heads, x[1], x[2] / num_heads};
    }
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": ", what, " ", ShapeString(x),
        " must be 4-D [B, H, seq, head] or 3-D [B, seq, H * head] with the last dim a multiple "
        "of num_heads ", num_heads));
  };
  ENGINE_ASSIGN_OR_RETURN(const Dims q4, as_heads(q, "Q"));
  ENGINE_ASSIGN_OR_RETURN(const Dims k4, as_heads(k, "K"));
  ENGINE_ASSIGN_OR_RETURN(const Dims v4, as_heads(v, "V"));
  AttentionParams p;
  p.b = q4[0], p.h = q4[1], p.s = q4[2], p.d = q4[3], p.t = k4[2], p.dv = v4[3];
  if (k4[0] != p.b || k4[1] != p.h || k4[3] != p.d || v4[0] != p.b || v4[1] != p.h ||
      v4[2] != p.t) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": shapes do not agree: Q ", ShapeString(q), " [B, H, S, D], K ", ShapeString(k),
        " [B, H, T, D], V ", ShapeString(v), " [B, H, T, Dv] (num_heads ", num_heads, ")"));
  }
  p.output_packed = output_packed != 0;
  p.ql = MakeHeadLayout(q.size() == 3, p.h, p.s, p.d);
  p.kl = MakeHeadLayout(k.size() == 3, p.h, p.t, p.d);
  p.vl = MakeHeadLayout(v.size() == 3, p.h, p.t, p.dv);
  p.yl = MakeHeadLayout(p.output_packed, p.h, p.s, p.dv);
  ENGINE_ASSIGN_OR_RETURN(std::string mode, attrs.GetString("scale_mode", "mul"));
  if (mode != "mul" && mode != "div") {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": attribute 'scale_mode' must be \"mul\" or \"div\", got \"", mode, "\""));
  }
  p.divide = mode == "div";
  const float default_scale =
      p.d > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.d))) : 1.0f;
  ENGINE_ASSIGN_OR_RETURN(p.scale, attrs.GetFloat("scale", p.divide ? 1.0f / default_scale
                                                                    : default_scale));
  p.has_mask = inputs.size() > 3 && inputs[3].present;
  if (p.has_mask) {
    const Dims& m = inputs[3].shape;
    const int64_t full[4] = {p.b, p.h, p.s, p.t};
    bool ok = m.size() <= 4;
    int64_t stride = 1;
    for (size_t i = 0; ok && i < m.size(); ++i) {
      const size_t axis = 4 - m.size() + (m.size() - 1 - i);  // right-aligned, last first
      const int64_t dim = m[m.size() - 1 - i];
      ok = dim == 1 || dim == full[axis];
      p.ms[axis] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": mask ", ShapeString(m),
                                                     " is not broadcastable to [", p.b, ",", p.h,
                                                     ",", p.s, ",", p.t, "]"));
    }
  }
  return p;
}

Dims OutputShape(const AttentionParams& p) {
  return p.output_packed ? Dims{p.b, p.s, p.h * p.dv} : Dims{p.b, p.h, p.s, p.dv};
}

absl::StatusOr<std::vector<TensorInfo>> InferAttention(const Attributes& attrs,
                                                       std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(AttentionParams p, ParseAttention(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, OutputShape(p))};
}

class AttentionKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseAttention(attrs, inputs));
    const Dims y_shape = OutputShape(p_);
    if (outputs.size() != 1 || outputs[0].shape != y_shape ||
        outputs[0].dtype != DataType::kFloat32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Attention: expected one float32 output of shape ", ShapeString(y_shape)));
    }
    gemm_bytes_ = static_cast<size_t>(std::max(SgemmActivationsFloats(p_.s, p_.t, p_.d, true),
                                               SgemmActivationsFloats(p_.s, p_.dv, p_.t, false))) *
                  sizeof(float);
    scratch_.per_thread =
        ScratchLayout::Align(static_cast<size_t>(p_.s * p_.t) * sizeof(float)) + gemm_bytes_;
    return absl::OkStatus();
  }

  // Per thread: one head's [S, T] scores and the GEMM workspace.
  size_t ScratchBytes(int threads) const override { return scratch_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* q = static_cast<const float*>(in[0]);
    const float* k = static_cast<const float*>(in[1]);
    const float* v = static_cast<const float*>(in[2]);
    const float* mask = p_.has_mask ? static_cast<const float*>(in[3]) : nullptr;
    float* y = static_cast<float*>(out[0]);
    const int64_t s = p_.s, t = p_.t, d = p_.d, dv = p_.dv;
    if (p_.b * p_.h * s * dv == 0) return;
    ParallelFor(ctx, p_.b * p_.h, [&](int64_t begin, int64_t end, int slot) {
      std::byte* base = scratch_.Slot(ctx, slot);
      float* scores = reinterpret_cast<float*>(base);
      float* ws = reinterpret_cast<float*>(
          base + ScratchLayout::Align(static_cast<size_t>(s * t) * sizeof(float)));
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t bi = bh / p_.h, hi = bh % p_.h;
        float* yh = y + p_.yl.Offset(bi, hi);
        if (t == 0) {  // softmax over nothing: Y = 0 (the chain's empty product)
          for (int64_t i = 0; i < s; ++i) std::fill(yh + i * p_.yl.ld, yh + i * p_.yl.ld + dv, 0.0f);
          continue;
        }
        // scores [S, T] = Q_h [S, D] x K_h^T.
        SgemmActivations(true, s, t, d, q + p_.ql.Offset(bi, hi), p_.ql.ld,
                         k + p_.kl.Offset(bi, hi), p_.kl.ld, scores, t, ws);
        for (int64_t i = 0; i < s; ++i) {
          float* row = scores + i * t;
          if (p_.divide) {
            for (int64_t j = 0; j < t; ++j) row[j] = row[j] / p_.scale;
          } else {
            for (int64_t j = 0; j < t; ++j) row[j] = row[j] * p_.scale;
          }
          if (mask != nullptr) {
            const float* mrow = mask + bi * p_.ms[0] + hi * p_.ms[1] + i * p_.ms[2];
            for (int64_t j = 0; j < t; ++j) row[j] = row[j] + mrow[j * p_.ms[3]];
          }
          SoftmaxRow(row, row, t);  // the Softmax kernel's row, in place
        }
        // Y_h [S, Dv] = P [S, T] x V_h [T, Dv].
        SgemmActivations(false, s, dv, t, scores, t, v + p_.vl.Offset(bi, hi), p_.vl.ld, yh,
                         p_.yl.ld, ws);
      }
    });
  }

 private:
  AttentionParams p_;
  size_t gemm_bytes_ = 0;
  ScratchLayout scratch_;
};

// ---------------------------------------------------------------------------
// Int8Attention

// The INT8 form's attributes besides the Attention layout ones (num_heads,
// output_packed; "scale" / "scale_mode" are folded into score_scale by the
// builder and ignored).
struct Int8AttentionParams {
  AttentionParams a;
  float score_scale = 1.0f;  // s_q * s_k * scale (common/int8_softmax.h)
  float output_factor = 1.0f;  // s_v / 127 (float Y) or s_v / (127 s_y) (int8 Y)
  bool float_out = true;
};

absl::StatusOr<Int8AttentionParams> ParseInt8Attention(const Attributes& attrs,
                                                       std::span<const TensorInfo> inputs) {
  constexpr const char* kOp = "Int8Attention";
  Int8AttentionParams p;
  ENGINE_ASSIGN_OR_RETURN(p.a, ParseAttention(attrs, inputs, DataType::kInt8, kOp));
  // Exactness of the int32 sums: |q k| <= 2^14 per term, |p v| <= 127 * 128.
  if (p.a.d > 65536 || p.a.t > 65536) {
    return absl::UnimplementedError(absl::StrCat(kOp, ": head size ", p.a.d, " or key length ",
                                                 p.a.t, " exceeds the exact int32 bound 65536"));
  }
  for (const char* name : {"score_scale", "output_factor"}) {
    ENGINE_ASSIGN_OR_RETURN(const float v, attrs.GetFloat(name, -1.0f));
    if (!(v > 0.0f) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(kOp, ": attribute ", name, " must be finite and > 0, got ", v));
    }
    (name[0] == 's' ? p.score_scale : p.output_factor) = v;
  }
  ENGINE_ASSIGN_OR_RETURN(const int64_t int8_out, attrs.GetInt("int8_output", 0));
  if (int8_out != 0 && int8_out != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(kOp, ": attribute int8_output must be 0 or 1, got ", int8_out));
  }
  p.float_out = int8_out == 0;
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferInt8Attention(const Attributes& attrs,
                                                           std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(Int8AttentionParams p, ParseInt8Attention(attrs, inputs));
  return std::vector<TensorInfo>{
      MakeInfo(p.float_out ? DataType::kFloat32 : DataType::kInt8, OutputShape(p.a))};
}

// Per head (one thread computes it whole, so results do not depend on the
// thread count): Q_h and K_h widened to int16 (contiguous rows of D), the
// [S, T] int32 scores as row dot products, each row through
// SoftmaxRowToInt8 into int8 probabilities, then Y_h [S, Dv] = P [S, T] x
// V_h [T, Dv] accumulated row by row in int32 and requantized (or
// dequantized). Every sum is an exact integer sum, so the order of the
// loops does not change a bit.
class Int8AttentionKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseInt8Attention(attrs, inputs));
    const Dims y_shape = OutputShape(p_.a);
    const DataType y_dtype = p_.float_out ? DataType::kFloat32 : DataType::kInt8;
    if (outputs.size() != 1 || outputs[0].shape != y_shape || outputs[0].dtype != y_dtype) {
      return absl::InvalidArgumentError(absl::StrCat("Int8Attention: expected one ",
                                                     DataTypeName(y_dtype), " output of shape ",
                                                     ShapeString(y_shape)));
    }
    const int64_t s = p_.a.s, t = p_.a.t, d = p_.a.d, dv = p_.a.dv;
    // Per thread: Q_h, K_h int16 [S|T, D]; V_h int16 [T, Dv]; scores int32
    // [T]; softmax work float [T]; probabilities int8 [T]; output row int32 [Dv].
    off_k_ = ScratchLayout::Align(static_cast<size_t>(s * d) * 2);
    off_v_ = off_k_ + ScratchLayout::Align(static_cast<size_t>(t * d) * 2);
    off_acc_ = off_v_ + ScratchLayout::Align(static_cast<size_t>(t * dv) * 2);
    off_work_ = off_acc_ + ScratchLayout::Align(static_cast<size_t>(t) * 4);
    off_p_ = off_work_ + ScratchLayout::Align(static_cast<size_t>(t) * 4);
    off_row_ = off_p_ + ScratchLayout::Align(static_cast<size_t>(t));
    scratch_.per_thread = off_row_ + ScratchLayout::Align(static_cast<size_t>(dv) * 4);
    return absl::OkStatus();
  }

  size_t ScratchBytes(int threads) const override { return scratch_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const int8_t* q = static_cast<const int8_t*>(in[0]);
    const int8_t* k = static_cast<const int8_t*>(in[1]);
    const int8_t* v = static_cast<const int8_t*>(in[2]);
    const float* mask = p_.a.has_mask ? static_cast<const float*>(in[3]) : nullptr;
    const AttentionParams& a = p_.a;
    const int64_t s = a.s, t = a.t, d = a.d, dv = a.dv;
    if (a.b * a.h * s * dv == 0) return;
    ParallelFor(ctx, a.b * a.h, [&](int64_t begin, int64_t end, int slot) {
      std::byte* base = scratch_.Slot(ctx, slot);
      int16_t* qw = reinterpret_cast<int16_t*>(base);
      int16_t* kw = reinterpret_cast<int16_t*>(base + off_k_);
      int16_t* vw = reinterpret_cast<int16_t*>(base + off_v_);
      int32_t* acc = reinterpret_cast<int32_t*>(base + off_acc_);
      float* work = reinterpret_cast<float*>(base + off_work_);
      int8_t* prob = reinterpret_cast<int8_t*>(base + off_p_);
      int32_t* row = reinterpret_cast<int32_t*>(base + off_row_);
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t bi = bh / a.h, hi = bh % a.h;
        const int64_t y_off = a.yl.Offset(bi, hi);
        if (t == 0) {  // softmax over nothing: Y = 0 (as the float layer)
          for (int64_t i = 0; i < s; ++i) Store(out[0], y_off + i * a.yl.ld, nullptr, 0.0f, dv);
          continue;
        }
        Widen(q + a.ql.Offset(bi, hi), a.ql.ld, s, d, qw);
        Widen(k + a.kl.Offset(bi, hi), a.kl.ld, t, d, kw);
        Widen(v + a.vl.Offset(bi, hi), a.vl.ld, t, dv, vw);
        for (int64_t i = 0; i < s; ++i) {
          const int16_t* qi = qw + i * d;
          for (int64_t j = 0; j < t; ++j) {
            const int16_t* kj = kw + j * d;
            int32_t sum = 0;
            for (int64_t x = 0; x < d; ++x) sum += int32_t{qi[x]} * int32_t{kj[x]};
            acc[j] = sum;
          }
          const float* mrow =
              mask != nullptr ? mask + bi * a.ms[0] + hi * a.ms[1] + i * a.ms[2] : nullptr;
          const float g = SoftmaxRowToInt8(acc, mrow, a.ms[3], p_.score_scale,
                                           p_.output_factor, t, work, prob);
          std::fill(row, row + dv, 0);
          for (int64_t j = 0; j < t; ++j) {
            const int32_t pj = prob[j];
            if (pj == 0) continue;  // adds 0: skipping it changes no bit
            const int16_t* vj = vw + j * dv;
            for (int64_t c = 0; c < dv; ++c) row[c] += pj * int32_t{vj[c]};
          }
          Store(out[0], y_off + i * a.yl.ld, row, g, dv);
        }
      }
    });
  }

 private:
  // dst [rows, cols] int16 (dense) = src rows at src + r * ld.
  static void Widen(const int8_t* src, int64_t ld, int64_t rows, int64_t cols, int16_t* dst) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = src[r * ld + c];
    }
  }

  // One output row of n values at element offset `off` of y from the int32
  // sums `row` (nullptr: zeros) and the row factor g: float(row[c]) * g, or
  // AttentionOutputToInt8 (common/int8_softmax.h).
  void Store(void* y, int64_t off, const int32_t* row, float g, int64_t n) const {
    if (p_.float_out) {
      float* yf = static_cast<float*>(y) + off;
      for (int64_t c = 0; c < n; ++c) yf[c] = row == nullptr ? 0.0f : static_cast<float>(row[c]) * g;
      return;
    }
    int8_t* yq = static_cast<int8_t*>(y) + off;
    for (int64_t c = 0; c < n; ++c) yq[c] = row == nullptr ? int8_t{0} : AttentionOutputToInt8(row[c], g);
  }

  Int8AttentionParams p_;
  size_t off_k_ = 0, off_v_ = 0, off_acc_ = 0, off_work_ = 0, off_p_ = 0, off_row_ = 0;
  ScratchLayout scratch_;
};

}  // namespace

KernelDef MakeAttentionDef() { return MakeDef<AttentionKernel>("Attention", InferAttention); }
KernelDef MakeInt8AttentionDef() {
  return MakeDef<Int8AttentionKernel>("Int8Attention", InferInt8Attention);
}

}  // namespace engine::kernels
