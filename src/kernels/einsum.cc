// Einsum (ONNX Operators.md, Einsum-12; numpy.einsum semantics): attribute
// `equation`, one or more operands of the same dtype (float32, int32, int64).
//
// Equation forms: explicit "ab,bc->ac" or implicit "ab,bc" (output = the
// ellipsis dimensions, then the labels that appear exactly once, in
// alphabetical order); spaces are ignored; labels are letters; "..." stands
// for broadcast leading dimensions (numpy rules, right-aligned). A label
// repeated within one operand takes its diagonal ("ii->i"); labels absent
// from the output are summed over. A labelled dimension of size 1 broadcasts
// against the same label elsewhere.
//
// Computation: for two float32 operands without diagonals or broadcasting
// (the forms exporters emit: batched matmuls "bij,bjk->bik",
// "bhqd,bhkd->bhqk", outer and inner products), the operands are packed to
// [G, P, K] and [G, K, M] and multiplied with Sgemm per group G (labels in
// both operands and the output), then unpacked to the output order; every
// other form runs as an explicit loop over the output elements, summing the
// product of the operands over the summed labels in row-major order. Both are
// deterministic and independent of the thread count.
#include "kernels/einsum.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"
#include "kernels/sgemm.h"

namespace engine::kernels {
namespace {

constexpr int kEllipsisBase = 52;  // label ids: a-z 0..25, A-Z 26..51, "..." dims 52+

int LabelId(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

// Parses one term into labels; "..." becomes -1 (expanded later).
absl::StatusOr<std::vector<int>> ParseTerm(const std::string& term, const std::string& eq) {
  std::vector<int> out;
  bool ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    if (term.compare(i, 3, "...") == 0) {
      if (ellipsis) {
        return absl::InvalidArgumentError(
            absl::StrCat("Einsum: equation '", eq, "' has two ellipses in one term"));
      }
      ellipsis = true;
      out.push_back(-1);
      i += 2;
      continue;
    }
    const int id = LabelId(term[i]);
    if (id < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Einsum: equation '", eq, "' has an invalid character '", term.substr(i, 1), "'"));
    }
    out.push_back(id);
  }
  return out;
}

}  // namespace

absl::StatusOr<EinsumSpec> ParseEinsum(const std::string& equation,
                                       const std::vector<Dims>& shapes) {
  std::string eq;
  for (char c : equation) {
    if (c != ' ') eq.push_back(c);
  }
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(
        lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != shapes.size()) {
    return absl::InvalidArgumentError(absl::StrCat("Einsum: equation '", equation, "' has ",
                                                   terms.size(), " operand terms for ",
                                                   shapes.size(), " inputs"));
  }
  EinsumSpec s;
  s.operands.resize(shapes.size());
  std::vector<int64_t> size(kEllipsisBase + 64, -1);
  int64_t ellipsis_rank = 0;
  std::vector<std::vector<int>> parsed;
  for (size_t i = 0; i < terms.size(); ++i) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<int> t, ParseTerm(terms[i], equation));
    const int64_t named =
        static_cast<int64_t>(std::count_if(t.begin(), t.end(), [](int l) { return l >= 0; }));
    const bool has_ellipsis = named != static_cast<int64_t>(t.size());
    const int64_t rank = static_cast<int64_t>(shapes[i].size());
    if (has_ellipsis ? rank < named : rank != named) {
      return absl::InvalidArgumentError(absl::StrCat("Einsum: term '", terms[i], "' of equation '",
                                                     equation, "' does not match input ", i,
                                                     " of shape ", ShapeString(shapes[i])));
    }
    if (has_ellipsis) ellipsis_rank = std::max(ellipsis_rank, rank - named);
    parsed.push_back(std::move(t));
  }
  if (ellipsis_rank > 63) return absl::InvalidArgumentError("Einsum: too many ellipsis dimensions");
  // Expand ellipses (right-aligned) and collect label sizes.
  std::vector<int> count(size.size(), 0);
  for (size_t i = 0; i < parsed.size(); ++i) {
    const Dims& shape = shapes[i];
    const int64_t named = static_cast<int64_t>(
        std::count_if(parsed[i].begin(), parsed[i].end(), [](int l) { return l >= 0; }));
    const int64_t e = static_cast<int64_t>(shape.size()) - named;
    std::vector<int> labels;
    for (int l : parsed[i]) {
      if (l >= 0) {
        labels.push_back(l);
      } else {
        for (int64_t j = 0; j < e; ++j)
          labels.push_back(static_cast<int>(kEllipsisBase + ellipsis_rank - e + j));
      }
    }
    s.operands[i].labels = labels;
    for (size_t d = 0; d < labels.size(); ++d) {
      int64_t& sz = size[labels[d]];
      if (sz == -1 || sz == 1) {
        sz = shape[d];
      } else if (shape[d] != sz && shape[d] != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Einsum: label '", terms[i], "' dimension ", d, " of input ", i, " has size ", shape[d],
            ", elsewhere ", sz, " (equation '", equation, "')"));
      }
    }
    std::vector<int> seen;
    for (int l : labels) {
      if (std::find(seen.begin(), seen.end(), l) == seen.end()) {
        seen.push_back(l);
        ++count[l];
      } else {
        s.has_diagonal = true;
      }
    }
  }
  // Output labels.
  if (arrow != std::string::npos) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<int> t, ParseTerm(eq.substr(arrow + 2), equation));
    for (int l : t) {
      if (l < 0) {
        for (int64_t j = 0; j < ellipsis_rank; ++j)
          s.output.push_back(static_cast<int>(kEllipsisBase + j));
      } else {
        if (size[l] < 0) {
          return absl::InvalidArgumentError(absl::StrCat("Einsum: output label of equation '",
                                                         equation, "' appears in no input"));
        }
        if (std::find(s.output.begin(), s.output.end(), l) != s.output.end()) {
          return absl::InvalidArgumentError(
              absl::StrCat("Einsum: output of equation '", equation, "' repeats a label"));
        }
        s.output.push_back(l);
      }
    }
  } else {
    for (int64_t j = 0; j < ellipsis_rank; ++j)
      s.output.push_back(static_cast<int>(kEllipsisBase + j));
    // numpy orders implicit output labels alphabetically (upper case first).
    std::vector<int> once;
    for (int l = 0; l < kEllipsisBase; ++l) {
      int total = 0;
      for (const auto& op : s.operands)
        total += static_cast<int>(std::count(op.labels.begin(), op.labels.end(), l));
      if (total == 1) once.push_back(l);
    }
    std::sort(once.begin(), once.end(), [](int a, int b) {
      auto key = [](int l) { return l >= 26 ? l - 26 : l + 26; };
      return key(a) < key(b);
    });
    s.output.insert(s.output.end(), once.begin(), once.end());
  }
  for (int l : s.output) s.out_shape.push_back(size[l]);
  for (int l = 0; l < static_cast<int>(size.size()); ++l) {
    if (size[l] >= 0 && std::find(s.output.begin(), s.output.end(), l) == s.output.end()) {
      s.summed.push_back(l);
      s.summed_shape.push_back(size[l]);
    }
  }
  // Strides of each operand per loop label (output labels, then summed).
  std::vector<int> loop = s.output;
  loop.insert(loop.end(), s.summed.begin(), s.summed.end());
  for (size_t i = 0; i < s.operands.size(); ++i) {
    auto& op = s.operands[i];
    const std::vector<int64_t> st = RowMajorStrides(shapes[i]);
    op.strides.assign(loop.size(), 0);
    for (size_t d = 0; d < op.labels.size(); ++d) {
      if (shapes[i][d] != size[op.labels[d]]) s.has_broadcast = true;
      if (shapes[i][d] == 1) continue;  // broadcast (or size 1): stride 0
      const size_t pos =
          static_cast<size_t>(std::find(loop.begin(), loop.end(), op.labels[d]) - loop.begin());
      op.strides[pos] += st[d];
    }
  }
  return s;
}

namespace {

template <typename T>
void EinsumLoop(const EinsumSpec& s, std::span<const void* const> in, T* out, int64_t begin,
                int64_t end) {
  const size_t no = s.output.size();
  const size_t ns = s.summed.size();
  const size_t nops = s.operands.size();
  const int64_t summed_n = NumElements(s.summed_shape);
  std::vector<int64_t> pos(no), off(nops), soff(nops), spos(ns);
  // Start position of `begin`.
  int64_t rem = begin;
  for (size_t d = no; d-- > 0;) {
    pos[d] = s.out_shape[d] == 0 ? 0 : rem % s.out_shape[d];
    rem = s.out_shape[d] == 0 ? 0 : rem / s.out_shape[d];
  }
  for (size_t i = 0; i < nops; ++i) {
    off[i] = 0;
    for (size_t d = 0; d < no; ++d) off[i] += pos[d] * s.operands[i].strides[d];
  }
  for (int64_t o = begin; o < end; ++o) {
    T acc = T(0);
    std::fill(spos.begin(), spos.end(), 0);
    soff = off;
    for (int64_t j = 0; j < summed_n; ++j) {
      T prod = static_cast<const T*>(in[0])[soff[0]];
      for (size_t i = 1; i < nops; ++i)
        prod = static_cast<T>(prod * static_cast<const T*>(in[i])[soff[i]]);
      acc = static_cast<T>(acc + prod);
      for (size_t d = ns; d-- > 0;) {
        if (++spos[d] < s.summed_shape[d]) {
          for (size_t i = 0; i < nops; ++i) soff[i] += s.operands[i].strides[no + d];
          break;
        }
        for (size_t i = 0; i < nops; ++i)
          soff[i] -= s.operands[i].strides[no + d] * (s.summed_shape[d] - 1);
        spos[d] = 0;
      }
    }
    out[o] = acc;
    for (size_t d = no; d-- > 0;) {
      if (++pos[d] < s.out_shape[d]) {
        for (size_t i = 0; i < nops; ++i) off[i] += s.operands[i].strides[d];
        break;
      }
      for (size_t i = 0; i < nops; ++i) off[i] -= s.operands[i].strides[d] * (s.out_shape[d] - 1);
      pos[d] = 0;
    }
  }
}

// Copies a strided view (dims `shape`, source strides `st`) into a dense
// row-major buffer, or the reverse when `scatter`.
void StridedCopy(const Dims& shape, const std::vector<int64_t>& st, const float* src, float* dst,
                 bool scatter) {
  const int64_t n = NumElements(shape);
  std::vector<int64_t> pos(shape.size(), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (scatter) {
      dst[off] = src[i];
    } else {
      dst[i] = src[off];
    }
    for (size_t d = shape.size(); d-- > 0;) {
      if (++pos[d] < shape[d]) {
        off += st[d];
        break;
      }
      off -= st[d] * (shape[d] - 1);
      pos[d] = 0;
    }
  }
}

absl::StatusOr<std::vector<TensorInfo>> InferEinsum(const Attributes& attrs,
                                                    std::span<const TensorInfo> inputs) {
  if (inputs.empty()) return absl::InvalidArgumentError("Einsum: needs at least one input");
  ENGINE_ASSIGN_OR_RETURN(std::string eq, attrs.GetString("equation", ""));
  if (eq.empty()) return absl::InvalidArgumentError("Einsum: missing attribute 'equation'");
  const DataType t = inputs[0].dtype;
  if (t != DataType::kFloat32 && t != DataType::kInt32 && t != DataType::kInt64) {
    return absl::UnimplementedError(absl::StrCat("Einsum: dtype ", DataTypeName(t),
                                                 " is not supported (float32, int32, int64)"));
  }
  std::vector<Dims> shapes;
  for (const TensorInfo& in : inputs) {
    if (!in.present || in.dtype != t) {
      return absl::InvalidArgumentError("Einsum: every input must be present and of one dtype");
    }
    shapes.push_back(in.shape);
  }
  ENGINE_ASSIGN_OR_RETURN(EinsumSpec s, ParseEinsum(eq, shapes));
  return std::vector<TensorInfo>{MakeInfo(t, s.out_shape)};
}

class EinsumKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferEinsum(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Einsum"));
    std::vector<Dims> shapes;
    for (const TensorInfo& in : inputs) shapes.push_back(in.shape);
    spec_ = *ParseEinsum(*attrs.GetString("equation", ""), shapes);
    dtype_ = inputs[0].dtype;
    out_n_ = NumElements(spec_.out_shape);
    gemm_ = dtype_ == DataType::kFloat32 && inputs.size() == 2 && !spec_.has_diagonal &&
            !spec_.has_broadcast && PlanGemm();
    return absl::OkStatus();
  }

  size_t ScratchBytes(int threads) const override {
    if (!gemm_) return 0;
    // Packed operands and product, then one Sgemm workspace per thread.
    return ScratchLayout{PackedBytes(), SgemmWorkspaceBytes(p_, m_, k_)}.Bytes(threads);
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    if (out_n_ == 0) return;
    if (gemm_) {
      RunGemm(ctx, in, static_cast<float*>(out[0]));
      return;
    }
    ParallelFor(ctx, out_n_, [&](int64_t b, int64_t e, int) {
      switch (dtype_) {
        case DataType::kFloat32:
          EinsumLoop(spec_, in, static_cast<float*>(out[0]), b, e);
          break;
        case DataType::kInt32:
          EinsumLoop(spec_, in, static_cast<int32_t*>(out[0]), b, e);
          break;
        default:
          EinsumLoop(spec_, in, static_cast<int64_t*>(out[0]), b, e);
          break;
      }
    });
  }

 private:
  size_t PackedBytes() const {
    return static_cast<size_t>(g_ * (p_ * k_ + k_ * m_ + p_ * m_)) * sizeof(float);
  }

  // Classifies the loop labels of a two-operand product into groups G (both
  // operands and output), P (A and output), M (B and output) and K (both
  // operands, summed); false when a label is summed from one operand only.
  bool PlanGemm() {
    const auto& a = spec_.operands[0];
    const auto& b = spec_.operands[1];
    const size_t no = spec_.output.size();
    std::vector<int> loop = spec_.output;
    loop.insert(loop.end(), spec_.summed.begin(), spec_.summed.end());
    std::vector<int64_t> sizes = spec_.out_shape;
    sizes.insert(sizes.end(), spec_.summed_shape.begin(), spec_.summed_shape.end());
    auto in = [](const EinsumSpec::Operand& op, int l) {
      return std::find(op.labels.begin(), op.labels.end(), l) != op.labels.end();
    };
    // Per class, the loop positions in order.
    std::vector<size_t> G, P, M, K;
    for (size_t d = 0; d < loop.size(); ++d) {
      const bool ia = in(a, loop[d]), ib = in(b, loop[d]), io = d < no;
      if (ia && ib && io)
        G.push_back(d);
      else if (ia && !ib && io)
        P.push_back(d);
      else if (!ia && ib && io)
        M.push_back(d);
      else if (ia && ib && !io)
        K.push_back(d);
      else
        return false;
    }
    auto sub = [&](const std::vector<size_t>& cls, Dims* shape) {
      for (size_t d : cls) shape->push_back(sizes[d]);
    };
    auto strides_of = [&](const std::vector<int64_t>& st,
                          std::initializer_list<const std::vector<size_t>*> parts) {
      std::vector<int64_t> r;
      for (const auto* p : parts)
        for (size_t d : *p) r.push_back(st[d]);
      return r;
    };
    a_shape_.clear();
    b_shape_.clear();
    c_shape_.clear();
    sub(G, &a_shape_);
    sub(P, &a_shape_);
    sub(K, &a_shape_);
    sub(G, &b_shape_);
    sub(K, &b_shape_);
    sub(M, &b_shape_);
    sub(G, &c_shape_);
    sub(P, &c_shape_);
    sub(M, &c_shape_);
    a_st_ = strides_of(a.strides, {&G, &P, &K});
    b_st_ = strides_of(b.strides, {&G, &K, &M});
    const std::vector<int64_t> out_st = RowMajorStrides(spec_.out_shape);
    c_st_ = strides_of(out_st, {&G, &P, &M});
    auto prod = [&](const std::vector<size_t>& cls) {
      int64_t p = 1;
      for (size_t d : cls) p *= sizes[d];
      return p;
    };
    g_ = prod(G);
    p_ = prod(P);
    m_ = prod(M);
    k_ = prod(K);
    return true;
  }

  void RunGemm(const RunContext& ctx, std::span<const void* const> in, float* out) const {
    float* a = reinterpret_cast<float*>(ctx.scratch);
    float* b = a + g_ * p_ * k_;
    float* c = b + g_ * k_ * m_;
    const ScratchLayout layout{PackedBytes(), SgemmWorkspaceBytes(p_, m_, k_)};
    StridedCopy(a_shape_, a_st_, static_cast<const float*>(in[0]), a, false);
    StridedCopy(b_shape_, b_st_, static_cast<const float*>(in[1]), b, false);
    // One Sgemm per group; a group's result does not depend on the thread.
    ParallelFor(ctx, g_, [&](int64_t begin, int64_t end, int slot) {
      for (int64_t g = begin; g < end; ++g) {
        if (k_ == 0) {
          std::fill(c + g * p_ * m_, c + (g + 1) * p_ * m_, 0.0f);
          continue;
        }
        Sgemm(false, false, p_, m_, k_, 1.0f, a + g * p_ * k_, k_, b + g * k_ * m_, m_, 0.0f,
              c + g * p_ * m_, m_, layout.Slot(ctx, slot), layout.per_thread);
      }
    });
    StridedCopy(c_shape_, c_st_, c, out, true);
  }

  EinsumSpec spec_;
  DataType dtype_ = DataType::kFloat32;
  int64_t out_n_ = 0;
  bool gemm_ = false;
  int64_t g_ = 1, p_ = 1, m_ = 1, k_ = 1;
  Dims a_shape_, b_shape_, c_shape_;
  std::vector<int64_t> a_st_, b_st_, c_st_;
};

}  // namespace

KernelDef MakeEinsumDef(const std::string& type) {
  KernelDef def = MakeDef<EinsumKernel>(type, InferEinsum);
  return def;
}

}  // namespace engine::kernels
