// Gemm and MatMul: matrix products; Gemm's general FP32 path on Eigen's blocked
// kernel (sgemm.h), split into a fixed grid of output blocks (SgemmGrid) spread over
// RunContext::threads threads, so outputs do not depend on the thread count.
//
// Gemm (ONNX opset 13, Operators.md#Gemm), float32:
//   A [M,K] (or [K,M] when transA), B [K,N] (or [N,K] when transB),
//   C optional, unidirectionally broadcastable to [M,N] (shape [], [N], [1,N],
//   [M,1], [M,N], ...);
//   Y [M,N] = act(alpha * A' * B' + beta * C), where act is the optional fused
//   activation (engine extension, set by the optimizer's fuse-activation
//   pass): attribute "activation" with "activation_alpha" /
//   "activation_beta" (see kernel_util.h, ParseActivation).
//   Engine extension (made by the optimizer's fuse-matmul-add for transformer
//   projections): with transA = 0, A may be N-D [d0, ..., K]; its leading
//   dims flatten to M = d0 * ... rows (row-major, so the same GEMM), Y is
//   [d0, ..., N], and C must not vary along the rows (shape [], [N], [1,N]).
//   Engine extension (made by the optimizer's fuse-residual): optional
//   input 3, a residual R float32 of exactly Y's shape, added after the
//   product and C and before the activation:
//   Y = act((alpha * A' * B' + beta * C) + R), each sum rounded to float32
//   in that order, so Y equals the unfused Gemm followed by Add(Y, R) bit for
//   bit (C may then be absent: input 2 empty).
//
// FP32 MatMul with a constant B (one matrix) and FP32 Gemm with a constant B
// (the transformer projections and classifier heads), transA = 0, alpha = 1 and C absent or a row vector [N] / [1, N]
// with beta = 1 (a bias per column) runs on sgemm_packed.h instead: B is
// packed into column panels once at Prepare (SharedPackedB, shared between
// contexts), A into 16-row blocks at each Run (into the shared scratch, in
// 64-row units claimed by whichever thread gets there first), within one
// fixed grid of output blocks (all rows up to 256 x 2 column panels, column
// blocks outermost) over the threads, each SgemmPanels with the epilogue
// act(((acc + C[j]) + R[i][j])), acc the product summed over k in order.
// That arithmetic does not depend on the blocking (sgemm_packed.h), so the
// outputs are bit-identical for any thread count. Measured on BERT-base's
// and ViT-B/16's projections it is ~1.3x the Eigen path's speed
// (bench/transformers_host_vs_onnxruntime.sh; see the README).
//
// MatMul (ONNX opset 13, numpy.matmul semantics), float32, int32, int64:
//   A [..., M, K], B [..., K, N] -> Y [broadcast(...), M, N]. A 1-D A [K] is
//   treated as [1, K] and a 1-D B [K] as [K, 1]; the added dimension is
//   removed from the output (so two 1-D operands give a scalar []). Batch
//   dimensions broadcast numpy-style. FP32 without a constant B (both
//   operands activations) runs on SgemmActivations (sgemm_packed.h) over a
//   fixed grid of blocks of every batch (ActivationGrid), the kernel of the
//   fused Attention layer's per-head products too (kernels/attention.cc), so
//   the fused layer and the unfused MatMul chain agree bit for bit.
#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/reduced_float.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"
#include "kernels/packed_weights.h"
#include "kernels/sgemm.h"
#include "kernels/sgemm_packed.h"

namespace engine::kernels {
namespace {

template <typename T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const RowMajorMatrix<T>>;
template <typename T>
using MatrixMap = Eigen::Map<RowMajorMatrix<T>>;

// ---------------------------------------------------------------------------
// Gemm

struct GemmParams {
  int64_t m = 0, k = 0, n = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 1.0f;
  bool has_c = false;
  bool has_residual = false;
  Activation activation;
  // [M, N], or A's leading dims followed by N for an N-D A (engine extension).
  Dims y_shape;
  // C broadcast to [M,N]: element (i, j) is C[i * c_row_stride + j * c_col_stride].
  int64_t c_row_stride = 0, c_col_stride = 0;
};

absl::StatusOr<GemmParams> ParseGemm(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 4, "Gemm"));
  const TensorInfo& a = inputs[0];
  const TensorInfo& b = inputs[1];
  GemmParams p;
  p.has_c = inputs.size() > 2 && inputs[2].present;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].present) continue;
    if (inputs[i].dtype != a.dtype) {
      return absl::InvalidArgumentError(absl::StrCat("Gemm: inputs must have the same dtype, got ",
                                                     DataTypeName(a.dtype), " and ",
                                                     DataTypeName(inputs[i].dtype)));
    }
  }
  if (a.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(
        absl::StrCat("Gemm: only float32 is supported, got ", DataTypeName(a.dtype)));
  }
  ENGINE_ASSIGN_OR_RETURN(int64_t trans_a, attrs.GetInt("transA", 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t trans_b, attrs.GetInt("transB", 0));
  ENGINE_ASSIGN_OR_RETURN(p.alpha, attrs.GetFloat("alpha", 1.0f));
  ENGINE_ASSIGN_OR_RETURN(p.beta, attrs.GetFloat("beta", 1.0f));
  p.trans_a = trans_a != 0;
  p.trans_b = trans_b != 0;
  auto activation = ParseActivation(attrs);
  if (!activation.ok()) return Annotate(activation.status(), "Gemm");
  p.activation = *activation;
  const bool nd_a = a.shape.size() > 2 && !p.trans_a;
  if ((a.shape.size() != 2 && !nd_a) || b.shape.size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Gemm: A ", ShapeString(a.shape), " and B ", ShapeString(b.shape),
        " must both be 2-D (A may be N-D [..., K] with transA = 0)"));
  }
  if (nd_a) {
    p.k = a.shape.back();
    p.m = 1;
    for (size_t d = 0; d + 1 < a.shape.size(); ++d) p.m *= a.shape[d];
  } else {
    p.m = p.trans_a ? a.shape[1] : a.shape[0];
    p.k = p.trans_a ? a.shape[0] : a.shape[1];
  }
  const int64_t kb = p.trans_b ? b.shape[1] : b.shape[0];
  p.n = p.trans_b ? b.shape[0] : b.shape[1];
  if (kb != p.k) {
    return absl::InvalidArgumentError(
        absl::StrCat("Gemm: inner dimensions differ: A ", ShapeString(a.shape),
                     (p.trans_a ? " (transposed)" : ""), " has K = ", p.k, ", B ",
                     ShapeString(b.shape), (p.trans_b ? " (transposed)" : ""), " has K = ", kb));
  }
  if (p.has_c) {
    const Dims& c = inputs[2].shape;
    bool ok = c.size() <= 2;
    if (ok) {
      // Right-align C against [M, N]: each dim is 1 or equal (unidirectional).
      const int64_t cm = c.size() == 2 ? c[0] : 1;
      const int64_t cn = c.empty() ? 1 : c.back();
      ok = (cm == 1 || (cm == p.m && !nd_a)) && (cn == 1 || cn == p.n);
      p.c_col_stride = cn == 1 ? 0 : 1;
      p.c_row_stride = cm == 1 ? 0 : cn;
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("Gemm: C ", ShapeString(c),
                                                     " is not unidirectionally broadcastable to [",
                                                     p.m, ",", p.n, "]",
                                                     nd_a ? " by a row vector" : ""));
    }
  }
  if (nd_a) {
    p.y_shape.assign(a.shape.begin(), a.shape.end() - 1);
    p.y_shape.push_back(p.n);
  } else {
    p.y_shape = {p.m, p.n};
  }
  p.has_residual = inputs.size() > 3 && inputs[3].present;
  if (p.has_residual && inputs[3].shape != p.y_shape) {
    return absl::InvalidArgumentError(absl::StrCat("Gemm: residual (input 3) has shape ",
                                                   ShapeString(inputs[3].shape),
                                                   "; it must be the output's, ",
                                                   ShapeString(p.y_shape)));
  }
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferGemm(const Attributes& attrs,
                                                  std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(GemmParams p, ParseGemm(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, p.y_shape)};
}

// The packed path's product (see the file comment), shared by Gemm and by
// MatMul with a constant B (so MatMul + Add and the fused Gemm agree bit for
// bit): Y [m, n] = epilogue(A [m, k] row-major * B), B packed by
// SharedPackedB; the grid of `rows` x `cols` output blocks (column blocks
// outermost) over the threads in one ParallelFor (one fork/join per
// product). A row block holds every row up to kMaxRowsPerBlock (a
// transformer's 128 or 197 tokens: one row block), so each block streams
// its columns of B once, and a column block is kPanelsPerBlock panels:
// measured with a 1-thread microbenchmark of this loop on ViT-B/16's and
// BERT-base's FFN / projection shapes (197 or 128 x 768 x 3072, x 3072 x
// 768, x 768 x 768; weights cycled through 64 MiB of copies), all rows x 2
// panels took 0.88-0.97x the time of the earlier 64 rows x 4 panels, most
// for the deep 3072 x 768 product, whose 64-row blocks re-read B from L3.
// A is packed into `a_packed` (PackedAFloats(m, k) floats) in units of
// kPackRows rows, each by the first thread that claims it (a per-unit state
// word set with a compare-exchange); a thread about to compute a row block
// first packs the block's units nobody has claimed yet, then waits for the
// ones another thread is packing, so the threads pack A together without a
// barrier of its own. The packing is a pure copy, so who packs changes no
// bit.
struct PackedProduct {
  static constexpr int64_t kMaxRowsPerBlock = 256;
  static constexpr int64_t kPanelsPerBlock = 2;
  static constexpr int64_t kPackRows = 64;  // a multiple of kSgemmBlockRows
  int64_t m = 0, k = 0, n = 0;
  int64_t rows = 0, row_blocks = 0, cols = 0, col_blocks = 0, units = 0;

  PackedProduct() = default;
  PackedProduct(int64_t m_, int64_t k_, int64_t n_) : m(m_), k(k_), n(n_) {
    const int64_t want = (m + kMaxRowsPerBlock - 1) / kMaxRowsPerBlock;
    rows = (m + want - 1) / want;
    rows = (rows + kSgemmBlockRows - 1) / kSgemmBlockRows * kSgemmBlockRows;
    row_blocks = (m + rows - 1) / rows;
    cols = kPanelsPerBlock * SgemmPanelCols();
    col_blocks = (n + cols - 1) / cols;
    units = (m + kPackRows - 1) / kPackRows;
  }
  // Packed A, then one state word per packing unit.
  size_t PackedABytes() const {
    return ScratchLayout::Align(static_cast<size_t>(PackedAFloats(m, k)) * sizeof(float));
  }
  size_t SharedBytes() const {
    return PackedABytes() + static_cast<size_t>(units) * sizeof(std::atomic<int32_t>);
  }

  // `a_packed`: SharedBytes() bytes of scratch (64-byte aligned).
  void Run(const RunContext& ctx, const float* a, const float* b_packed, float* a_packed,
           float* y, const SgemmEpilogue& ep) const {
    // Unit states: 0 unpacked, 1 being packed, 2 packed. Initialized before
    // ParallelFor publishes the job to the workers.
    auto* state = reinterpret_cast<std::atomic<int32_t>*>(reinterpret_cast<std::byte*>(a_packed) +
                                                          PackedABytes());
    for (int64_t i = 0; i < units; ++i) new (&state[i]) std::atomic<int32_t>(0);
    // Rows [m0, m1) of packed A ready: pack the unclaimed units, then wait
    // for the others.
    auto ensure_packed = [&](int64_t m0, int64_t m1) {
      const int64_t u0 = m0 / kPackRows, u1 = (m1 + kPackRows - 1) / kPackRows;
      for (int64_t u = u0; u < u1; ++u) {
        std::atomic<int32_t>& st = state[u];
        int32_t expected = 0;
        if (st.load(std::memory_order_relaxed) == 0 &&
            st.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
          // kPackRows is a multiple of 16: the unit is whole blocks of packed A.
          const int64_t r0 = u * kPackRows;
          PackA(a + r0 * k, std::min(kPackRows, m - r0), k, k, 1, a_packed + r0 * k);
          st.store(2, std::memory_order_release);
        }
      }
      for (int64_t u = u0; u < u1; ++u) {
        while (state[u].load(std::memory_order_acquire) != 2) CpuRelax();
      }
    };
    ParallelFor(ctx, row_blocks * col_blocks, [&](int64_t begin, int64_t end, int) {
      for (int64_t blk = begin; blk < end; ++blk) {
        const int64_t j0 = blk / row_blocks * cols;
        const int64_t rb = blk % row_blocks;
        const int64_t m0 = rb * rows, m1 = std::min(m0 + rows, m);
        ensure_packed(m0, m1);
        SgemmPanels(a_packed, m, k, 0, k, m0, m1, b_packed + j0 * k, j0, std::min(j0 + cols, n),
                    y, n, ep);
      }
    });
  }

  static void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
};

class GemmKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseGemm(attrs, inputs));
    if (outputs.size() != 1 || outputs[0].shape != p_.y_shape) {
      return absl::InvalidArgumentError(
          absl::StrCat("Gemm: expected one output of shape ", ShapeString(p_.y_shape)));
    }
    grid_ = SgemmGrid(p_.m, p_.n, p_.k);
    scratch_.per_thread = grid_.WorkspaceBytes();
    // An fp16/bf16 layer (reduced_float.h): the accelerator's accumulation
    // order, acc over k in order from +0, then alpha * acc + beta * C.
    ENGINE_ASSIGN_OR_RETURN(std::string precision, attrs.GetString(kPrecisionAttr, ""));
    ordered_ = StoragePrecision(precision).has_value();
    PreparePacked(inputs[1]);
    return absl::OkStatus();
  }

  // One GEMM workspace per thread.
  size_t ScratchBytes(int threads) const override { return scratch_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* a = static_cast<const float*>(in[0]);
    const float* b = static_cast<const float*>(in[1]);
    const float* c = p_.has_c ? static_cast<const float*>(in[2]) : nullptr;
    const float* r = p_.has_residual ? static_cast<const float*>(in[3]) : nullptr;
    float* y = static_cast<float*>(out[0]);
    const int64_t n = p_.n, k = p_.k;
    if (p_.m == 0 || n == 0) return;
    // Block by block (the blocks spread over the threads): Y = beta * C
    // (broadcast), or 0; then Y += alpha * A' * B'; then the activation.
    const bool use_c = c != nullptr && p_.beta != 0.0f;
    if (b_packed_ != nullptr) {
      RunPacked(ctx, a, c, r, y);
      return;
    }
    if (ordered_) {
      // Rows are independent: the split does not change any output's bits.
      ParallelFor(ctx, p_.m, [&](int64_t m0, int64_t m1, int) {
        OrderedGemm(p_.trans_a, p_.trans_b, m0, m1, n, k, a, p_.trans_a ? p_.m : k, b,
                    p_.trans_b ? k : n, y, n);
        for (int64_t i = m0; i < m1; ++i) {
          float* yrow = y + i * n;
          if (p_.alpha != 1.0f) {
            for (int64_t j = 0; j < n; ++j) yrow[j] *= p_.alpha;
          }
          if (use_c) {
            const float* crow = c + i * p_.c_row_stride;
            for (int64_t j = 0; j < n; ++j) yrow[j] += p_.beta * crow[j * p_.c_col_stride];
          }
          if (r != nullptr) {
            const float* rrow = r + i * n;
            for (int64_t j = 0; j < n; ++j) yrow[j] += rrow[j];
          }
          ApplyActivation(p_.activation, yrow, n);
        }
      });
      return;
    }
    ParallelFor(ctx, grid_.blocks(), [&](int64_t begin, int64_t end, int slot) {
      for (int64_t blk = begin; blk < end; ++blk) {
        int64_t m0, m1, n0, n1;
        grid_.Block(blk, &m0, &m1, &n0, &n1);
        for (int64_t i = m0; i < m1; ++i) {
          float* yrow = y + i * n;
          if (use_c) {
            const float* crow = c + i * p_.c_row_stride;
            for (int64_t j = n0; j < n1; ++j) yrow[j] = p_.beta * crow[j * p_.c_col_stride];
          } else {
            std::fill(yrow + n0, yrow + n1, 0.0f);
          }
        }
        if (k > 0) {
          // Y += alpha * A' * B' (A [M,K] or [K,M]; B [K,N] or [N,K]).
          grid_.Run(blk, p_.trans_a, p_.trans_b, p_.alpha, a, p_.trans_a ? p_.m : k, b,
                    p_.trans_b ? k : n, 1.0f, y, n, scratch_.Slot(ctx, slot), scratch_.per_thread);
        }
        if (r != nullptr) {
          for (int64_t i = m0; i < m1; ++i) {
            float* yrow = y + i * n;
            const float* rrow = r + i * n;
            for (int64_t j = n0; j < n1; ++j) yrow[j] += rrow[j];
          }
        }
        for (int64_t i = m0; i < m1; ++i) ApplyActivation(p_.activation, y + i * n + n0, n1 - n0);
      }
    });
  }

 private:
  // The packed path (see the file comment) when it applies: B constant,
  // float32, transA = 0, alpha = 1, C absent or a column bias with beta = 1,
  // k > 0, not an fp16/bf16 layer. Sets b_packed_ and the scratch layout.
  void PreparePacked(const TensorInfo& b) {
    b_packed_.reset();
    scratch_.shared = 0;
    if (ordered_ || b.constant == nullptr || p_.trans_a || p_.alpha != 1.0f || p_.k == 0 ||
        p_.m == 0 || p_.n == 0) {
      return;
    }
    if (p_.has_c && !(p_.beta == 1.0f && p_.c_row_stride == 0 && p_.c_col_stride == 1)) return;
    b_packed_ = SharedPackedB(b.constant->data_as<float>(), p_.k, p_.n, p_.trans_b);
    packed_ = PackedProduct(p_.m, p_.k, p_.n);
    scratch_.shared = packed_.SharedBytes();
    scratch_.per_thread = 0;
  }

  // Y = act(A * B + C + R) on the packed path.
  void RunPacked(const RunContext& ctx, const float* a, const float* c, const float* r,
                 float* y) const {
    SgemmEpilogue ep;
    ep.col_bias = p_.has_c && c != nullptr ? c : nullptr;
    ep.residual = r;
    ep.ldr = p_.n;
    ep.activation = p_.activation;
    packed_.Run(ctx, a, b_packed_->data(), reinterpret_cast<float*>(scratch_.Shared(ctx)), y, ep);
  }

  GemmParams p_;
  // Packed path: B packed once (null: the Eigen path) and the output grid.
  std::shared_ptr<const std::vector<float>> b_packed_;
  PackedProduct packed_;
  bool ordered_ = false;  // fp16/bf16 layer: OrderedGemm
  SgemmGrid grid_;
  ScratchLayout scratch_;
};

// ---------------------------------------------------------------------------
// MatMul

struct MatMulParams {
  DataType dtype = DataType::kUndefined;
  int64_t m = 1, k = 1, n = 1;
  Dims batch_shape;  // broadcast batch dims
  Dims y_shape;
  // Element offsets of each batch's A and B matrices (A/B with broadcasting).
  std::vector<int64_t> a_offsets, b_offsets;
  // True when B has a single matrix: then all batches of A form one
  // [batch * M, K] matrix and the whole product is one GEMM.
  bool fold_batch = false;
};

absl::StatusOr<MatMulParams> ParseMatMul(std::span<const TensorInfo> inputs, bool offsets) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "MatMul"));
  const TensorInfo& a = inputs[0];
  const TensorInfo& b = inputs[1];
  if (a.dtype != b.dtype) {
    return absl::InvalidArgumentError(
        absl::StrCat("MatMul: A is ", DataTypeName(a.dtype), " but B is ", DataTypeName(b.dtype)));
  }
  if (a.dtype != DataType::kFloat32 && a.dtype != DataType::kInt32 && a.dtype != DataType::kInt64) {
    return absl::UnimplementedError(absl::StrCat(
        "MatMul: only float32, int32 and int64 are supported, got ", DataTypeName(a.dtype)));
  }
  if (a.shape.empty() || b.shape.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("MatMul: operands must have rank >= 1, got A ",
                                                   ShapeString(a.shape), " and B ",
                                                   ShapeString(b.shape)));
  }
  MatMulParams p;
  p.dtype = a.dtype;
  const bool a_vec = a.shape.size() == 1;
  const bool b_vec = b.shape.size() == 1;
  p.m = a_vec ? 1 : a.shape[a.shape.size() - 2];
  p.k = a.shape.back();
  const int64_t kb = b_vec ? b.shape[0] : b.shape[b.shape.size() - 2];
  p.n = b_vec ? 1 : b.shape.back();
  if (kb != p.k) {
    return absl::InvalidArgumentError(
        absl::StrCat("MatMul: A ", ShapeString(a.shape), " and B ", ShapeString(b.shape),
                     " have different inner dimensions (", p.k, " vs ", kb, ")"));
  }
  const Dims a_batch(a.shape.begin(), a.shape.end() - (a_vec ? 1 : 2));
  const Dims b_batch(b.shape.begin(), b.shape.end() - (b_vec ? 1 : 2));
  auto batch = BroadcastShapes(a_batch, b_batch);
  if (!batch.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("MatMul: batch dimensions of A ", ShapeString(a.shape), " and B ",
                     ShapeString(b.shape), ": ", batch.status().message()));
  }
  p.batch_shape = *batch;
  p.y_shape = p.batch_shape;
  if (!a_vec) p.y_shape.push_back(p.m);
  if (!b_vec) p.y_shape.push_back(p.n);
  p.fold_batch = NumElements(b_batch) == 1;
  if (offsets && !p.fold_batch) {
    const int64_t count = NumElements(p.batch_shape);
    const std::vector<int64_t> as = BroadcastStrides(a_batch, p.batch_shape);
    const std::vector<int64_t> bs = BroadcastStrides(b_batch, p.batch_shape);
    p.a_offsets.resize(count);
    p.b_offsets.resize(count);
    std::vector<int64_t> idx(p.batch_shape.size(), 0);
    int64_t ao = 0, bo = 0;
    for (int64_t i = 0; i < count; ++i) {
      p.a_offsets[i] = ao * p.m * p.k;
      p.b_offsets[i] = bo * p.k * p.n;
      // Increment the multi-index over the batch shape (last dim fastest).
      for (int d = static_cast<int>(idx.size()) - 1; d >= 0; --d) {
        ao += as[d];
        bo += bs[d];
        if (++idx[d] < p.batch_shape[d]) break;
        ao -= as[d] * idx[d];
        bo -= bs[d] * idx[d];
        idx[d] = 0;
      }
    }
  }
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferMatMul(const Attributes& attrs,
                                                    std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(MatMulParams p, ParseMatMul(inputs, /*offsets=*/false));
  return std::vector<TensorInfo>{MakeInfo(p.dtype, p.y_shape)};
}

// The blocks of an FP32 MatMul without a constant B (both operands
// activations, e.g. the unfused attention chain's Q x K^T and P x V): a
// fixed grid of at most kRows x kCols output blocks (row blocks
// outermost), each one SgemmActivations call on its rows of A and columns
// of B. Every output element is the same fma chain whatever the block
// (sgemm_packed.h), so the result does not depend on the grid or the
// thread count, and equals the fused Attention layer's products bit for bit.
struct ActivationGrid {
  static constexpr int64_t kRows = 64;
  static constexpr int64_t kCols = 192;
  int64_t m = 0, n = 0, k = 0, rows = 1, cols = 1, mb = 0, nb = 0;

  ActivationGrid() = default;
  ActivationGrid(int64_t m_, int64_t n_, int64_t k_) : m(m_), n(n_), k(k_) {
    if (m <= 0 || n <= 0) return;
    rows = (m + (m + kRows - 1) / kRows - 1) / ((m + kRows - 1) / kRows);
    rows = std::min(m, (rows + kSgemmBlockRows - 1) / kSgemmBlockRows * kSgemmBlockRows);
    cols = (n + (n + kCols - 1) / kCols - 1) / ((n + kCols - 1) / kCols);
    mb = (m + rows - 1) / rows;
    nb = (n + cols - 1) / cols;
  }
  int64_t blocks() const { return mb * nb; }
  size_t WorkspaceBytes() const {
    return static_cast<size_t>(SgemmActivationsFloats(rows, cols, k, false)) * sizeof(float);
  }
  // Block i of C [m, n] (leading dimension n) = A [m, k] x B [k, n], both
  // row-major and dense.
  void Run(int64_t i, const float* a, const float* b, float* c, float* workspace) const {
    const int64_t m0 = i / nb * rows, j0 = i % nb * cols;
    const int64_t m1 = std::min(m0 + rows, m), j1 = std::min(j0 + cols, n);
    SgemmActivations(false, m1 - m0, j1 - j0, k, a + m0 * k, k, b + j0, n, c + m0 * n + j0, n,
                     workspace);
  }
};

class MatMulKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseMatMul(inputs, /*offsets=*/true));
    if (outputs.size() != 1 || outputs[0].shape != p_.y_shape) {
      return absl::InvalidArgumentError(
          absl::StrCat("MatMul: expected one output of shape ", ShapeString(p_.y_shape)));
    }
    b_packed_.reset();
    scratch_ = ScratchLayout();
    if (p_.dtype == DataType::kFloat32) {
      const int64_t rows = p_.fold_batch ? NumElements(p_.batch_shape) * p_.m : p_.m;
      grid_ = ActivationGrid(rows, p_.n, p_.k);
      scratch_.per_thread = grid_.WorkspaceBytes();
      // A constant B (one matrix): the packed path, as Gemm's (same bits as
      // the Gemm fuse-matmul-add makes of it, before its bias).
      if (p_.fold_batch && inputs[1].constant != nullptr && rows > 0 && p_.k > 0 && p_.n > 0) {
        b_packed_ = SharedPackedB(inputs[1].constant->data_as<float>(), p_.k, p_.n, false);
        packed_ = PackedProduct(rows, p_.k, p_.n);
        scratch_.shared = packed_.SharedBytes();
        scratch_.per_thread = 0;
      }
    }
    return absl::OkStatus();
  }

  // FP32: one GEMM workspace per thread.
  size_t ScratchBytes(int threads) const override {
    return p_.dtype == DataType::kFloat32 ? scratch_.Bytes(threads) : 0;
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    switch (p_.dtype) {
      case DataType::kFloat32:
        RunFloat(ctx, in, out);
        break;
      case DataType::kInt32:
        RunTyped<int32_t>(in, out);
        break;
      case DataType::kInt64:
        RunTyped<int64_t>(in, out);
        break;
      default:
        break;
    }
  }

 private:
  // FP32 through SgemmActivations (no allocation), the grid's blocks of
  // every batch spread over the threads; other dtypes through Eigen.
  void RunFloat(const RunContext& ctx, std::span<const void* const> in,
                std::span<void* const> out) const {
    const float* a = static_cast<const float*>(in[0]);
    const float* b = static_cast<const float*>(in[1]);
    float* y = static_cast<float*>(out[0]);
    const int64_t m = p_.m, n = p_.n;
    const int64_t batches = p_.fold_batch ? 1 : NumElements(p_.batch_shape);
    if (NumElements(p_.batch_shape) == 0 || m == 0 || n == 0) return;
    if (b_packed_ != nullptr) {
      packed_.Run(ctx, a, b_packed_->data(), reinterpret_cast<float*>(scratch_.Shared(ctx)), y,
                  SgemmEpilogue());
      return;
    }
    const int64_t blocks = grid_.blocks();
    ParallelFor(ctx, batches * blocks, [&](int64_t begin, int64_t end, int slot) {
      std::byte* workspace = scratch_.Slot(ctx, slot);
      for (int64_t i = begin; i < end; ++i) {
        const int64_t batch = i / blocks;
        const float* ab = p_.fold_batch ? a : a + p_.a_offsets[batch];
        const float* bb = p_.fold_batch ? b : b + p_.b_offsets[batch];
        grid_.Run(i % blocks, ab, bb, y + batch * m * n, reinterpret_cast<float*>(workspace));
      }
    });
  }

  template <typename T>
  void RunTyped(std::span<const void* const> in, std::span<void* const> out) const {
    const T* a = static_cast<const T*>(in[0]);
    const T* b = static_cast<const T*>(in[1]);
    T* y = static_cast<T*>(out[0]);
    const int64_t m = p_.m, k = p_.k, n = p_.n;
    const int64_t batches = NumElements(p_.batch_shape);
    if (batches == 0 || m == 0 || n == 0) return;
    if (k == 0) {
      std::fill(y, y + batches * m * n, T(0));
      return;
    }
    if (p_.fold_batch) {
      // A's batches are contiguous: one [batches * M, K] x [K, N] product.
      MatrixMap<T>(y, batches * m, n).noalias() =
          ConstMatrixMap<T>(a, batches * m, k) * ConstMatrixMap<T>(b, k, n);
      return;
    }
    for (int64_t i = 0; i < batches; ++i) {
      MatrixMap<T>(y + i * m * n, m, n).noalias() = ConstMatrixMap<T>(a + p_.a_offsets[i], m, k) *
                                                    ConstMatrixMap<T>(b + p_.b_offsets[i], k, n);
    }
  }

  MatMulParams p_;
  // FP32 with a constant B: B packed once (else null) and the packed product.
  std::shared_ptr<const std::vector<float>> b_packed_;
  PackedProduct packed_;
  ActivationGrid grid_;  // FP32: blocks of one batch's product (fold_batch: of the whole)
  ScratchLayout scratch_;
};

}  // namespace

KernelDef MakeGemmDef() { return MakeDef<GemmKernel>("Gemm", InferGemm); }

KernelDef MakeMatMulDef() { return MakeDef<MatMulKernel>("MatMul", InferMatMul); }

}  // namespace engine::kernels
