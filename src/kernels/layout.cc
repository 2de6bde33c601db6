// Layout host kernels: Split, Expand, Tile, Range, Trilu.
//
// Semantics are those of the ONNX operators (Operators.md, opsets 13-25); the
// importers in src/ops/layout.cc map the older forms onto them.
//
//  - Split (Split-13/18): input 0 data, optional constant input 1 `split`
//    (int64 sizes along `axis`, summing to the axis; one per output).
//    Attributes: `axis` (default 0, may be negative) and `num_outputs`
//    (required: the number of outputs; the importer sets it from the node's
//    outputs before opset 18). Without `split`, each output gets
//    ceil(dim / num_outputs) elements and the last one the rest (Split-18);
//    with the engine attribute `equal_split` = 1 (set by the importer for
//    opsets < 18) the axis must divide evenly, as Split-13 requires.
//  - Expand (Expand-13): input 1 `shape` must be a build-time constant (int64);
//    output = multidirectional broadcast of the input shape and `shape`
//    (ONNX Broadcasting.md), so a 1 in `shape` keeps the input dimension.
//  - Tile (Tile-13): input 1 `repeats` must be a build-time constant (int64,
//    one non-negative value per input dimension); out[d] = in[d] * repeats[d].
//  - Range (Range-11): start, limit, delta are scalars of one type (float32,
//    int32 or int64); the output has max(ceil((limit - start) / delta), 0)
//    elements start + i * delta (numpy.arange). The output shape depends on
//    the values, so all three must be build-time constants (no dynamic shapes).
//  - Trilu (Trilu-14): input 0 [..., N, M], optional scalar int64 input 1 `k`
//    (read at run time; default 0); attribute `upper` (default 1). upper keeps
//    elements with j - i >= k, lower those with j - i <= k; the rest are 0.
//
// Every kernel here moves bytes, so any engine dtype is supported (Range:
// float32, int32, int64; Trilu's zero is the all-zero bit pattern).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

using Infos = std::vector<TensorInfo>;

absl::Status CheckElemDtype(const TensorInfo& t, const std::string& type) {
  if (DataTypeSize(t.dtype) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": unsupported data dtype ", DataTypeName(t.dtype)));
  }
  return absl::OkStatus();
}

// Largest element count a layout kernel accepts for an output (2^40), so
// size arithmetic cannot overflow.
constexpr int64_t kMaxElements = int64_t{1} << 40;

absl::Status CheckOutputSize(const Dims& shape, const std::string& type) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": negative output dimension in ", ShapeString(shape)));
    }
    if (d != 0 && n > kMaxElements / d) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": output shape ", ShapeString(shape), " exceeds 2^40 elements"));
    }
    n *= d;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Periodic copy shared by Expand and Tile: out has the rank of `in`, every
// out[d] is a multiple of in[d] (or in[d] == 1), and
//   out[i_0, ..., i_r] = in[i_0 mod in_0, ..., i_r mod in_r].
// Work is split over output rows (all dimensions but the last).
struct PeriodicCopy {
  Dims in;
  Dims out;
  std::vector<int64_t> in_strides;
  size_t elem = 0;
  int64_t rows = 0;  // product of out[0 .. r-2] (1 for rank <= 1)
  int64_t cols = 0;  // out[r-1] (1 for rank 0)
  int64_t in_cols = 0;

  void Init(const Dims& in_shape, const Dims& out_shape, size_t elem_size) {
    in = in_shape;
    out = out_shape;
    elem = elem_size;
    in_strides = RowMajorStrides(in);
    rows = 1;
    for (size_t d = 0; d + 1 < out.size(); ++d) rows *= out[d];
    cols = out.empty() ? 1 : out.back();
    in_cols = in.empty() ? 1 : in.back();
  }

  // Copies rows [r0, r1).
  void RunRows(const std::byte* src, std::byte* dst, int64_t r0, int64_t r1) const {
    const size_t rank = out.size();
    const size_t row_bytes = static_cast<size_t>(cols) * elem;
    const size_t in_row_bytes = static_cast<size_t>(in_cols) * elem;
    for (int64_t r = r0; r < r1; ++r) {
      // Input offset of output row r.
      int64_t rem = r;
      int64_t offset = 0;
      for (size_t d = rank >= 1 ? rank - 1 : 0; d-- > 0;) {
        const int64_t i = rem % out[d];
        rem /= out[d];
        offset += (i % in[d]) * in_strides[d];
      }
      const std::byte* s = src + offset * static_cast<int64_t>(elem);
      std::byte* o = dst + r * static_cast<int64_t>(row_bytes);
      if (in_cols == cols) {
        std::memcpy(o, s, row_bytes);
      } else if (in_cols == 1) {
        for (int64_t c = 0; c < cols; ++c) std::memcpy(o + c * elem, s, elem);
      } else {
        for (int64_t c = 0; c < cols; c += in_cols) std::memcpy(o + c * elem, s, in_row_bytes);
      }
    }
  }

  void Run(const RunContext& ctx, const void* in_buf, void* out_buf) const {
    if (rows == 0 || cols == 0) return;
    const auto* src = static_cast<const std::byte*>(in_buf);
    auto* dst = static_cast<std::byte*>(out_buf);
    // Rows of at least ~16 KiB of output per task keep the split worthwhile.
    const int64_t row_bytes = cols * static_cast<int64_t>(elem);
    const int64_t rows_per_task = std::max<int64_t>(1, (int64_t{16} << 10) / std::max<int64_t>(row_bytes, 1));
    const int64_t tasks = (rows + rows_per_task - 1) / rows_per_task;
    ParallelFor(ctx, tasks, [&](int64_t t0, int64_t t1, int) {
      RunRows(src, dst, t0 * rows_per_task, std::min(rows, t1 * rows_per_task));
    });
  }
};

// ---------------------------------------------------------------------------
// Split.

struct SplitSetup {
  int64_t axis = 0;
  std::vector<int64_t> sizes;
  std::vector<Dims> shapes;
};

absl::StatusOr<SplitSetup> SetUpSplit(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 2, "Split"));
  ENGINE_RETURN_IF_ERROR(CheckElemDtype(inputs[0], "Split"));
  const Dims& in = inputs[0].shape;
  if (in.empty()) return absl::InvalidArgumentError("Split: input must have rank >= 1");
  ENGINE_ASSIGN_OR_RETURN(int64_t axis_attr, attrs.GetInt("axis", 0));
  absl::StatusOr<int64_t> axis = NormalizeAxis(axis_attr, static_cast<int64_t>(in.size()));
  if (!axis.ok()) return Annotate(axis.status(), "Split: attribute 'axis'");
  if (!attrs.Has("num_outputs")) {
    return absl::InvalidArgumentError("Split: attribute 'num_outputs' is required");
  }
  ENGINE_ASSIGN_OR_RETURN(int64_t n, attrs.GetInt("num_outputs", 0));
  if (n < 1 || n > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("Split: attribute 'num_outputs' is ", n, ", must be in [1, 65536]"));
  }
  const int64_t dim = in[*axis];
  SplitSetup s;
  s.axis = *axis;
  if (inputs.size() == 2 && inputs[1].present) {
    ENGINE_ASSIGN_OR_RETURN(s.sizes, ConstantInts(inputs[1], "Split: input 'split'"));
    if (static_cast<int64_t>(s.sizes.size()) != n) {
      return absl::InvalidArgumentError(absl::StrCat("Split: input 'split' has ", s.sizes.size(),
                                                     " values for ", n, " outputs"));
    }
    int64_t sum = 0;
    for (int64_t v : s.sizes) {
      if (v < 0 || v > dim) {
        return absl::InvalidArgumentError(
            absl::StrCat("Split: input 'split' [", absl::StrJoin(s.sizes, ","),
                         "] has a value outside [0, ", dim, "]"));
      }
      sum += v;
    }
    if (sum != dim) {
      return absl::InvalidArgumentError(absl::StrCat("Split: input 'split' [",
                                                     absl::StrJoin(s.sizes, ","), "] sums to ", sum,
                                                     ", axis ", s.axis, " has ", dim));
    }
  } else {
    ENGINE_ASSIGN_OR_RETURN(int64_t equal, attrs.GetInt("equal_split", 0));
    if (equal != 0 && dim % n != 0) {
      return absl::InvalidArgumentError(absl::StrCat("Split: axis ", s.axis, " of size ", dim,
                                                     " does not split evenly into ", n,
                                                     " outputs (give 'split' sizes)"));
    }
    const int64_t chunk = (dim + n - 1) / n;
    int64_t left = dim;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t v = std::min(chunk, left);
      s.sizes.push_back(v);
      left -= v;
    }
  }
  for (int64_t v : s.sizes) {
    Dims d = in;
    d[s.axis] = v;
    s.shapes.push_back(std::move(d));
  }
  return s;
}

absl::StatusOr<Infos> InferSplit(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(SplitSetup s, SetUpSplit(attrs, inputs));
  Infos out;
  for (Dims& d : s.shapes) out.push_back(MakeInfo(inputs[0].dtype, std::move(d)));
  return out;
}

class SplitKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferSplit(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Split"));
    ENGINE_ASSIGN_OR_RETURN(SplitSetup s, SetUpSplit(attrs, inputs));
    const Dims& in = inputs[0].shape;
    const size_t elem = DataTypeSize(inputs[0].dtype);
    outer_ = 1;
    for (int64_t d = 0; d < s.axis; ++d) outer_ *= in[d];
    int64_t inner = 1;
    for (size_t d = s.axis + 1; d < in.size(); ++d) inner *= in[d];
    chunk_bytes_.clear();
    for (int64_t v : s.sizes) chunk_bytes_.push_back(static_cast<size_t>(v * inner) * elem);
    row_bytes_ = static_cast<size_t>(in[s.axis] * inner) * elem;
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const auto* src = static_cast<const std::byte*>(in[0]);
    for (int64_t o = 0; o < outer_; ++o) {
      const std::byte* row = src + o * row_bytes_;
      for (size_t k = 0; k < chunk_bytes_.size(); ++k) {
        const size_t n = chunk_bytes_[k];
        if (n == 0) continue;
        if (out[k] != nullptr) std::memcpy(static_cast<std::byte*>(out[k]) + o * n, row, n);
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
// Expand.

absl::StatusOr<Infos> InferExpand(const Attributes&, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "Expand"));
  ENGINE_RETURN_IF_ERROR(CheckElemDtype(inputs[0], "Expand"));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                          ConstantInts(inputs[1], "Expand: input 'shape'"));
  for (int64_t d : shape) {
    if (d < 0) {
      return absl::InvalidArgumentError(absl::StrCat("Expand: input 'shape' [",
                                                     absl::StrJoin(shape, ","),
                                                     "] has a negative dimension"));
    }
  }
  absl::StatusOr<Dims> out = BroadcastShapes(inputs[0].shape, Dims(shape.begin(), shape.end()));
  if (!out.ok()) return Annotate(out.status(), "Expand");
  ENGINE_RETURN_IF_ERROR(CheckOutputSize(*out, "Expand"));
  return Infos{MakeInfo(inputs[0].dtype, std::move(out).value())};
}

class ExpandKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferExpand(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Expand"));
    const Dims& o = out[0].shape;
    Dims in(o.size() - inputs[0].shape.size(), 1);  // right-aligned, padded with 1
    in.insert(in.end(), inputs[0].shape.begin(), inputs[0].shape.end());
    copy_.Init(in, o, DataTypeSize(inputs[0].dtype));
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    copy_.Run(ctx, in[0], out[0]);
  }

 private:
  PeriodicCopy copy_;
};

// ---------------------------------------------------------------------------
// Tile.

absl::StatusOr<Infos> InferTile(const Attributes&, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "Tile"));
  ENGINE_RETURN_IF_ERROR(CheckElemDtype(inputs[0], "Tile"));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> repeats,
                          ConstantInts(inputs[1], "Tile: input 'repeats'"));
  const Dims& in = inputs[0].shape;
  if (repeats.size() != in.size()) {
    return absl::InvalidArgumentError(absl::StrCat("Tile: input 'repeats' has ", repeats.size(),
                                                   " values for input rank ", in.size()));
  }
  Dims out(in.size());
  for (size_t d = 0; d < in.size(); ++d) {
    if (repeats[d] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Tile: input 'repeats' [", absl::StrJoin(repeats, ","), "] has a negative value"));
    }
    if (in[d] != 0 && repeats[d] > kMaxElements / in[d]) {
      return absl::InvalidArgumentError("Tile: output exceeds 2^40 elements");
    }
    out[d] = in[d] * repeats[d];
  }
  ENGINE_RETURN_IF_ERROR(CheckOutputSize(out, "Tile"));
  return Infos{MakeInfo(inputs[0].dtype, std::move(out))};
}

class TileKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferTile(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Tile"));
    copy_.Init(inputs[0].shape, out[0].shape, DataTypeSize(inputs[0].dtype));
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    copy_.Run(ctx, in[0], out[0]);
  }

 private:
  PeriodicCopy copy_;
};

// ---------------------------------------------------------------------------
// Range.

// Reads a scalar (one element) of a float32/int32/int64 tensor as double.
double ScalarAsDouble(const Tensor& t) {
  switch (t.dtype()) {
    case DataType::kFloat32: return *t.data_as<float>();
    case DataType::kInt32: return *t.data_as<int32_t>();
    case DataType::kInt64: return static_cast<double>(*t.data_as<int64_t>());
    default: return 0;
  }
}

int64_t ScalarAsInt(const Tensor& t) {
  return t.dtype() == DataType::kInt32 ? *t.data_as<int32_t>() : *t.data_as<int64_t>();
}

absl::StatusOr<Infos> InferRange(const Attributes&, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 3, 3, "Range"));
  const DataType dt = inputs[0].dtype;
  if (dt != DataType::kFloat32 && dt != DataType::kInt32 && dt != DataType::kInt64) {
    return absl::UnimplementedError(
        absl::StrCat("Range: dtype ", DataTypeName(dt), " is not supported (float, int32, int64)"));
  }
  const char* kNames[] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; ++i) {
    if (inputs[i].dtype != dt) {
      return absl::InvalidArgumentError(absl::StrCat("Range: input '", kNames[i], "' is ",
                                                     DataTypeName(inputs[i].dtype), ", 'start' is ",
                                                     DataTypeName(dt)));
    }
    if (NumElements(inputs[i].shape) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("Range: input '", kNames[i],
                                                     "' must be a scalar, has shape ",
                                                     ShapeString(inputs[i].shape)));
    }
    if (inputs[i].constant == nullptr) {
      return absl::UnimplementedError(absl::StrCat(
          "Range: input '", kNames[i],
          "' must be a constant tensor: the output length depends on it and the engine "
          "needs static shapes (a dynamic Range is not supported)"));
    }
  }
  int64_t n = 0;
  if (dt == DataType::kFloat32) {
    const double start = ScalarAsDouble(*inputs[0].constant);
    const double limit = ScalarAsDouble(*inputs[1].constant);
    const double delta = ScalarAsDouble(*inputs[2].constant);
    if (delta == 0 || !std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta)) {
      return absl::InvalidArgumentError("Range: 'delta' must be non-zero and all inputs finite");
    }
    const double count = std::ceil((limit - start) / delta);
    if (count > static_cast<double>(kMaxElements)) {
      return absl::InvalidArgumentError("Range: output exceeds 2^40 elements");
    }
    n = std::max<int64_t>(0, static_cast<int64_t>(count));
  } else {
    const int64_t start = ScalarAsInt(*inputs[0].constant);
    const int64_t limit = ScalarAsInt(*inputs[1].constant);
    const int64_t delta = ScalarAsInt(*inputs[2].constant);
    if (delta == 0) return absl::InvalidArgumentError("Range: 'delta' must be non-zero");
    // ceil((limit - start) / delta) in 128-bit-safe long double arithmetic.
    const long double span = static_cast<long double>(limit) - static_cast<long double>(start);
    const long double count = std::ceil(span / static_cast<long double>(delta));
    if (count > static_cast<long double>(kMaxElements)) {
      return absl::InvalidArgumentError("Range: output exceeds 2^40 elements");
    }
    n = std::max<int64_t>(0, static_cast<int64_t>(count));
  }
  return Infos{MakeInfo(dt, {n})};
}

class RangeKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferRange(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Range"));
    dtype_ = inputs[0].dtype;
    count_ = out[0].shape[0];
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    switch (dtype_) {
      case DataType::kFloat32: {
        const float start = *static_cast<const float*>(in[0]);
        const float delta = *static_cast<const float*>(in[2]);
        float* y = static_cast<float*>(out[0]);
        for (int64_t i = 0; i < count_; ++i) y[i] = start + static_cast<float>(i) * delta;
        break;
      }
      case DataType::kInt32: Fill<int32_t>(in, out); break;
      case DataType::kInt64: Fill<int64_t>(in, out); break;
      default: break;
    }
  }

 private:
  template <typename T>
  void Fill(std::span<const void* const> in, std::span<void* const> out) const {
    const T start = *static_cast<const T*>(in[0]);
    const T delta = *static_cast<const T*>(in[2]);
    T* y = static_cast<T*>(out[0]);
    for (int64_t i = 0; i < count_; ++i) y[i] = static_cast<T>(start + static_cast<T>(i) * delta);
  }

  DataType dtype_ = DataType::kUndefined;
  int64_t count_ = 0;
};

// ---------------------------------------------------------------------------
// Trilu.

absl::StatusOr<Infos> InferTrilu(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 2, "Trilu"));
  ENGINE_RETURN_IF_ERROR(CheckElemDtype(inputs[0], "Trilu"));
  if (inputs[0].shape.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("Trilu: input must have rank >= 2, has shape ",
                                                   ShapeString(inputs[0].shape)));
  }
  if (inputs.size() == 2 && inputs[1].present) {
    if (inputs[1].dtype != DataType::kInt64 || NumElements(inputs[1].shape) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("Trilu: input 'k' must be an int64 scalar, is ",
                                                     DataTypeName(inputs[1].dtype), " ",
                                                     ShapeString(inputs[1].shape)));
    }
  }
  ENGINE_ASSIGN_OR_RETURN(int64_t upper, attrs.GetInt("upper", 1));
  if (upper != 0 && upper != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Trilu: attribute 'upper' is ", upper, ", must be 0 or 1"));
  }
  return Infos{MakeInfo(inputs[0].dtype, inputs[0].shape)};
}

class TriluKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferTrilu(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Trilu"));
    const Dims& s = inputs[0].shape;
    rows_ = s[s.size() - 2];
    cols_ = s[s.size() - 1];
    batch_ = NumElements(s) / std::max<int64_t>(1, rows_ * cols_);
    if (rows_ * cols_ == 0) batch_ = 0;
    elem_ = DataTypeSize(inputs[0].dtype);
    upper_ = attrs.Int("upper", 1) != 0;
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    int64_t k = 0;
    if (in.size() == 2 && in[1] != nullptr) k = *static_cast<const int64_t*>(in[1]);
    // Keep k within [-rows, cols] so j - i comparisons cannot overflow.
    k = std::clamp<int64_t>(k, -rows_ - 1, cols_ + 1);
    const auto* src = static_cast<const std::byte*>(in[0]);
    auto* dst = static_cast<std::byte*>(out[0]);
    for (int64_t b = 0; b < batch_; ++b) {
      for (int64_t i = 0; i < rows_; ++i) {
        const int64_t off = ((b * rows_) + i) * cols_ * static_cast<int64_t>(elem_);
        // Kept columns: upper j >= i + k; lower j <= i + k.
        int64_t keep_begin = upper_ ? std::clamp<int64_t>(i + k, 0, cols_) : 0;
        int64_t keep_end = upper_ ? cols_ : std::clamp<int64_t>(i + k + 1, 0, cols_);
        std::byte* o = dst + off;
        const std::byte* s = src + off;
        std::memset(o, 0, static_cast<size_t>(keep_begin) * elem_);
        std::memcpy(o + keep_begin * elem_, s + keep_begin * elem_,
                    static_cast<size_t>(std::max<int64_t>(0, keep_end - keep_begin)) * elem_);
        std::memset(o + keep_end * elem_, 0, static_cast<size_t>(cols_ - keep_end) * elem_);
      }
    }
  }

 private:
  int64_t batch_ = 0, rows_ = 0, cols_ = 0;
  size_t elem_ = 0;
  bool upper_ = true;
};

}  // namespace

KernelDef MakeSplitDef() { return MakeDef<SplitKernel>("Split", InferSplit); }
KernelDef MakeExpandDef() { return MakeDef<ExpandKernel>("Expand", InferExpand); }
KernelDef MakeTileDef() { return MakeDef<TileKernel>("Tile", InferTile); }
KernelDef MakeRangeDef() { return MakeDef<RangeKernel>("Range", InferRange); }
KernelDef MakeTriluDef() { return MakeDef<TriluKernel>("Trilu", InferTrilu); }

}  // namespace engine::kernels
