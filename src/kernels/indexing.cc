// Indexing kernels (ONNX Operators.md, opsets 11-18 forms):
//  - GatherElements (axis): out[i] = data[i with i[axis] = indices[i]].
//  - GatherND (batch_dims): out[b, i] = data[b, indices[b, i, :]]; output
//    shape indices.shape[:-1] + data.shape[batch_dims + k:], k =
//    indices.shape[-1].
//  - ScatterND (reduction none/add/mul/max/min): out = data; for each index
//    tuple j of indices, out[indices[j]] op= updates[j] (slices), in index
//    order (so duplicates under "none" keep the last update, like the spec's
//    reference loop).
//  - ScatterElements (axis, reduction as ScatterND): out = data; for each
//    position i of indices, out[i with i[axis] = indices[i]] op= updates[i].
//  - OneHot (axis, default -1): depth is a constant scalar (or 1-element)
//    input of any numeric type; values = [off, on]; output dtype = values'.
//    indices of any numeric type; negative indices add depth; indices
//    outside [-depth, depth) and non-integral float indices give an all-off
//    row (the ONNX reference compares the positions with the indices).
//
// Indices are int32 or int64 (OneHot: also float32); negative indices count
// from the end of their axis. Indices known at build time are range-checked
// (InvalidArgument naming the index and axis); at run time an out-of-range
// index reads zeros (gathers) or is ignored (scatters), as Run cannot fail.
// Data of any dtype with a byte size moves as bytes; scatter reductions
// other than "none" need float32, int32, int64, int8 or uint8 data.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

using Infos = std::vector<TensorInfo>;

absl::Status CheckIndexDtype(const TensorInfo& t, const std::string& what) {
  if (t.dtype != DataType::kInt64 && t.dtype != DataType::kInt32) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be int32 or int64, got ", DataTypeName(t.dtype)));
  }
  return absl::OkStatus();
}

absl::Status CheckElementDtype(const TensorInfo& t, const std::string& what) {
  if (DataTypeSize(t.dtype) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": unsupported dtype ", DataTypeName(t.dtype)));
  }
  return absl::OkStatus();
}

// Constant indices must lie in [-dim, dim) for `dim` from `dim_of(position)`.
template <typename DimOf>
absl::Status CheckConstantIndices(const TensorInfo& indices, const std::string& what,
                                  const DimOf& dim_of) {
  if (indices.constant == nullptr) return absl::OkStatus();
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> idx, ConstantInts(indices, what));
  for (size_t i = 0; i < idx.size(); ++i) {
    const int64_t dim = dim_of(static_cast<int64_t>(i));
    if (idx[i] < -dim || idx[i] >= dim) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": index ", idx[i], " at position ", i,
                                                     " is out of range for a dimension of size ",
                                                     dim));
    }
  }
  return absl::OkStatus();
}

inline int64_t ReadIndex(const void* p, bool int32, int64_t i) {
  return int32 ? static_cast<const int32_t*>(p)[i] : static_cast<const int64_t*>(p)[i];
}

// ---------------------------------------------------------------------------
// Scatter reductions on typed elements.

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

absl::StatusOr<Reduction> ParseReduction(const Attributes& attrs, const std::string& type) {
  ENGINE_ASSIGN_OR_RETURN(std::string r, attrs.GetString("reduction", "none"));
  if (r == "none") return Reduction::kNone;
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  if (r == "max") return Reduction::kMax;
  if (r == "min") return Reduction::kMin;
  return absl::InvalidArgumentError(
      absl::StrCat(type, ": reduction '", r, "' is not one of none, add, mul, max, min"));
}

template <typename T>
void ReduceInto(Reduction r, std::byte* dst, const std::byte* src, int64_t n) {
  T* d = reinterpret_cast<T*>(dst);
  const T* s = reinterpret_cast<const T*>(src);
  for (int64_t i = 0; i < n; ++i) {
    T a, b;
    std::memcpy(&a, d + i, sizeof(T));
    std::memcpy(&b, s + i, sizeof(T));
    switch (r) {
      case Reduction::kNone:
        a = b;
        break;
      case Reduction::kAdd:
        a = static_cast<T>(a + b);
        break;
      case Reduction::kMul:
        a = static_cast<T>(a * b);
        break;
      case Reduction::kMax:
        a = std::max(a, b);
        break;
      case Reduction::kMin:
        a = std::min(a, b);
        break;
    }
    std::memcpy(d + i, &a, sizeof(T));
  }
}

using ReduceFn = void (*)(Reduction, std::byte*, const std::byte*, int64_t);

absl::StatusOr<ReduceFn> ReduceFor(DataType t, Reduction r, const std::string& type) {
  switch (t) {
    case DataType::kFloat32:
      return &ReduceInto<float>;
    case DataType::kInt32:
      return &ReduceInto<int32_t>;
    case DataType::kInt64:
      return &ReduceInto<int64_t>;
    case DataType::kInt8:
      return &ReduceInto<int8_t>;
    case DataType::kUint8:
      return &ReduceInto<uint8_t>;
    default:
      if (r == Reduction::kNone) return ReduceFn{nullptr};
      return absl::UnimplementedError(
          absl::StrCat(type, ": reduction on ", DataTypeName(t), " data is not supported"));
  }
}

// dst[0:n) op= src[0:n) elements of `esize` bytes (memcpy for kNone).
inline void Apply(ReduceFn fn, Reduction r, std::byte* dst, const std::byte* src, int64_t n,
                  size_t esize) {
  if (r == Reduction::kNone || fn == nullptr) {
    std::memcpy(dst, src, static_cast<size_t>(n) * esize);
  } else {
    fn(r, dst, src, n);
  }
}

// ---------------------------------------------------------------------------
// GatherElements / ScatterElements share the axis walk.

struct AxisWalk {
  Dims idx_shape;                 // shape of indices (= updates / output)
  std::vector<int64_t> data_str;  // row-major strides of data
  int64_t axis = 0, dim = 0;

  // Calls f(position in indices, data offset without the axis term).
  template <typename F>
  void ForEach(const F& f) const {
    const size_t rank = idx_shape.size();
    std::vector<int64_t> pos(rank, 0);
    const int64_t n = NumElements(idx_shape);
    int64_t base = 0;
    for (int64_t i = 0; i < n; ++i) {
      f(i, base);
      for (size_t d = rank; d-- > 0;) {
        if (++pos[d] < idx_shape[d]) {
          if (static_cast<int64_t>(d) != axis) base += data_str[d];
          break;
        }
        if (static_cast<int64_t>(d) != axis) base -= data_str[d] * (idx_shape[d] - 1);
        pos[d] = 0;
      }
    }
  }
};

absl::StatusOr<int64_t> ElementsAxis(const Attributes& attrs, const TensorInfo& data,
                                     const TensorInfo& indices, const std::string& type,
                                     bool indices_within_data) {
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  if (rank == 0)
    return absl::InvalidArgumentError(absl::StrCat(type, ": data must have rank >= 1"));
  if (static_cast<int64_t>(indices.shape.size()) != rank) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": indices ", ShapeString(indices.shape),
                                                   " must have the rank of data ",
                                                   ShapeString(data.shape)));
  }
  ENGINE_ASSIGN_OR_RETURN(int64_t a, attrs.GetInt("axis", 0));
  absl::StatusOr<int64_t> axis = NormalizeAxis(a, rank);
  if (!axis.ok()) return Annotate(axis.status(), type);
  for (int64_t d = 0; d < rank; ++d) {
    if (d == *axis && !indices_within_data) continue;
    if (indices.shape[d] > data.shape[d]) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": indices ", ShapeString(indices.shape),
                                                     " exceed data ", ShapeString(data.shape),
                                                     " on axis ", d));
    }
  }
  ENGINE_RETURN_IF_ERROR(CheckConstantIndices(indices, type + ": indices",
                                              [&](int64_t) { return data.shape[*axis]; }));
  return *axis;
}

absl::StatusOr<Infos> InferGatherElements(const Attributes& attrs,
                                          std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "GatherElements"));
  ENGINE_RETURN_IF_ERROR(CheckElementDtype(inputs[0], "GatherElements: data"));
  ENGINE_RETURN_IF_ERROR(CheckIndexDtype(inputs[1], "GatherElements: indices"));
  ENGINE_RETURN_IF_ERROR(
      ElementsAxis(attrs, inputs[0], inputs[1], "GatherElements", false).status());
  return Infos{MakeInfo(inputs[0].dtype, inputs[1].shape)};
}

class GatherElementsKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferGatherElements(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "GatherElements"));
    ENGINE_ASSIGN_OR_RETURN(walk_.axis,
                            ElementsAxis(attrs, inputs[0], inputs[1], "GatherElements", false));
    walk_.idx_shape = inputs[1].shape;
    walk_.data_str = RowMajorStrides(inputs[0].shape);
    walk_.dim = inputs[0].shape[walk_.axis];
    esize_ = DataTypeSize(inputs[0].dtype);
    int32_ = inputs[1].dtype == DataType::kInt32;
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const auto* data = static_cast<const std::byte*>(in[0]);
    auto* dst = static_cast<std::byte*>(out[0]);
    const int64_t astr = walk_.data_str[walk_.axis];
    walk_.ForEach([&](int64_t i, int64_t base) {
      int64_t k = ReadIndex(in[1], int32_, i);
      if (k < 0) k += walk_.dim;
      std::byte* o = dst + i * static_cast<int64_t>(esize_);
      if (k < 0 || k >= walk_.dim) {
        std::memset(o, 0, esize_);
      } else {
        std::memcpy(o, data + (base + k * astr) * static_cast<int64_t>(esize_), esize_);
      }
    });
  }

 private:
  AxisWalk walk_;
  size_t esize_ = 0;
  bool int32_ = false;
};

absl::StatusOr<Infos> InferScatterElements(const Attributes& attrs,
                                           std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 3, 3, "ScatterElements"));
  ENGINE_RETURN_IF_ERROR(CheckElementDtype(inputs[0], "ScatterElements: data"));
  ENGINE_RETURN_IF_ERROR(CheckIndexDtype(inputs[1], "ScatterElements: indices"));
  if (inputs[2].dtype != inputs[0].dtype || inputs[2].shape != inputs[1].shape) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ScatterElements: updates ", DataTypeName(inputs[2].dtype), ShapeString(inputs[2].shape),
        " must have the dtype of data (", DataTypeName(inputs[0].dtype),
        ") and the shape of indices ", ShapeString(inputs[1].shape)));
  }
  ENGINE_ASSIGN_OR_RETURN(Reduction r, ParseReduction(attrs, "ScatterElements"));
  ENGINE_RETURN_IF_ERROR(ReduceFor(inputs[0].dtype, r, "ScatterElements").status());
  ENGINE_RETURN_IF_ERROR(
      ElementsAxis(attrs, inputs[0], inputs[1], "ScatterElements", true).status());
  return Infos{MakeInfo(inputs[0].dtype, inputs[0].shape)};
}

class ScatterElementsKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferScatterElements(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "ScatterElements"));
    ENGINE_ASSIGN_OR_RETURN(walk_.axis,
                            ElementsAxis(attrs, inputs[0], inputs[1], "ScatterElements", true));
    walk_.idx_shape = inputs[1].shape;
    walk_.data_str = RowMajorStrides(inputs[0].shape);
    walk_.dim = inputs[0].shape[walk_.axis];
    esize_ = DataTypeSize(inputs[0].dtype);
    int32_ = inputs[1].dtype == DataType::kInt32;
    bytes_ = static_cast<size_t>(NumElements(inputs[0].shape)) * esize_;
    reduction_ = *ParseReduction(attrs, "ScatterElements");
    fn_ = *ReduceFor(inputs[0].dtype, reduction_, "ScatterElements");
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    auto* dst = static_cast<std::byte*>(out[0]);
    if (bytes_ > 0 && dst != in[0]) std::memmove(dst, in[0], bytes_);
    const auto* upd = static_cast<const std::byte*>(in[2]);
    const int64_t astr = walk_.data_str[walk_.axis];
    const auto es = static_cast<int64_t>(esize_);
    walk_.ForEach([&](int64_t i, int64_t base) {
      int64_t k = ReadIndex(in[1], int32_, i);
      if (k < 0) k += walk_.dim;
      if (k < 0 || k >= walk_.dim) return;
      Apply(fn_, reduction_, dst + (base + k * astr) * es, upd + i * es, 1, esize_);
    });
  }

 private:
  AxisWalk walk_;
  size_t esize_ = 0, bytes_ = 0;
  bool int32_ = false;
  Reduction reduction_ = Reduction::kNone;
  ReduceFn fn_ = nullptr;
};

// ---------------------------------------------------------------------------
// GatherND / ScatterND.

// Geometry shared by GatherND and ScatterND: `batch` leading dims shared by
// data and indices, tuples of `k` coordinates, slices of `slice` elements.
struct NdGeometry {
  int64_t batch = 1;                   // product of the batch dims
  int64_t tuples = 0;                  // index tuples per batch entry
  int64_t k = 0;                       // coordinates per tuple
  int64_t slice = 1;                   // elements per slice
  std::vector<int64_t> dims, strides;  // data dims / strides (in slices) of the k coordinates
  int64_t batch_stride = 0;            // data elements per batch entry
};

absl::StatusOr<NdGeometry> MakeNdGeometry(const TensorInfo& data, const TensorInfo& indices,
                                          int64_t batch_dims, const std::string& type) {
  const int64_t r = static_cast<int64_t>(data.shape.size());
  const int64_t q = static_cast<int64_t>(indices.shape.size());
  if (r < 1 || q < 1) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": data and indices must have rank >= 1"));
  }
  if (batch_dims < 0 || batch_dims >= std::min(r, q)) {
    return absl::InvalidArgumentError(absl::StrCat(
        type, ": batch_dims ", batch_dims, " must be in [0, min(rank(data), rank(indices)))"));
  }
  NdGeometry g;
  g.k = indices.shape.back();
  if (g.k < 1 || g.k > r - batch_dims) {
    return absl::InvalidArgumentError(absl::StrCat(
        type, ": indices ", ShapeString(indices.shape), " last dimension must be in [1, ",
        r - batch_dims, "] for data ", ShapeString(data.shape)));
  }
  for (int64_t d = 0; d < batch_dims; ++d) {
    if (data.shape[d] != indices.shape[d]) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": batch dimension ", d,
                                                     " differs: data ", ShapeString(data.shape),
                                                     ", indices ", ShapeString(indices.shape)));
    }
    g.batch *= data.shape[d];
  }
  g.tuples = 1;
  for (int64_t d = batch_dims; d < q - 1; ++d) g.tuples *= indices.shape[d];
  for (int64_t d = batch_dims + g.k; d < r; ++d) g.slice *= data.shape[d];
  g.dims.assign(data.shape.begin() + batch_dims, data.shape.begin() + batch_dims + g.k);
  g.strides.assign(static_cast<size_t>(g.k), 1);
  for (int64_t j = g.k - 1; j > 0; --j) g.strides[j - 1] = g.strides[j] * g.dims[j];
  g.batch_stride = g.slice * (g.k > 0 ? g.strides[0] * g.dims[0] : 1);
  if (indices.constant != nullptr) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> idx, ConstantInts(indices, type + ": indices"));
    for (size_t i = 0; i < idx.size(); ++i) {
      const int64_t dim = g.dims[i % static_cast<size_t>(g.k)];
      if (idx[i] < -dim || idx[i] >= dim) {
        return absl::InvalidArgumentError(absl::StrCat(type, ": index ", idx[i], " at position ", i,
                                                       " is out of range for a dimension of size ",
                                                       dim));
      }
    }
  }
  return g;
}

// Offset of tuple t (in slices within its batch entry), or -1 when out of range.
inline int64_t TupleOffset(const NdGeometry& g, const void* idx, bool int32, int64_t t) {
  int64_t off = 0;
  for (int64_t j = 0; j < g.k; ++j) {
    int64_t v = ReadIndex(idx, int32, t * g.k + j);
    if (v < 0) v += g.dims[j];
    if (v < 0 || v >= g.dims[j]) return -1;
    off += v * g.strides[j];
  }
  return off;
}

absl::StatusOr<Infos> InferGatherNd(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "GatherND"));
  ENGINE_RETURN_IF_ERROR(CheckElementDtype(inputs[0], "GatherND: data"));
  ENGINE_RETURN_IF_ERROR(CheckIndexDtype(inputs[1], "GatherND: indices"));
  ENGINE_ASSIGN_OR_RETURN(int64_t b, attrs.GetInt("batch_dims", 0));
  ENGINE_ASSIGN_OR_RETURN(NdGeometry g, MakeNdGeometry(inputs[0], inputs[1], b, "GatherND"));
  const Dims& is = inputs[1].shape;
  Dims out(is.begin(), is.end() - 1);
  out.insert(out.end(), inputs[0].shape.begin() + b + g.k, inputs[0].shape.end());
  return Infos{MakeInfo(inputs[0].dtype, std::move(out))};
}

class GatherNdKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferGatherNd(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "GatherND"));
    g_ = *MakeNdGeometry(inputs[0], inputs[1], attrs.Int("batch_dims", 0), "GatherND");
    esize_ = DataTypeSize(inputs[0].dtype);
    int32_ = inputs[1].dtype == DataType::kInt32;
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const auto* data = static_cast<const std::byte*>(in[0]);
    auto* dst = static_cast<std::byte*>(out[0]);
    const auto es = static_cast<int64_t>(esize_);
    const size_t chunk = static_cast<size_t>(g_.slice * es);
    for (int64_t b = 0; b < g_.batch; ++b) {
      for (int64_t t = 0; t < g_.tuples; ++t) {
        const int64_t off = TupleOffset(g_, in[1], int32_, b * g_.tuples + t);
        if (off < 0) {
          std::memset(dst, 0, chunk);
        } else if (chunk > 0) {
          std::memcpy(dst, data + (b * g_.batch_stride + off * g_.slice) * es, chunk);
        }
        dst += chunk;
      }
    }
  }

 private:
  NdGeometry g_;
  size_t esize_ = 0;
  bool int32_ = false;
};

absl::StatusOr<Infos> InferScatterNd(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 3, 3, "ScatterND"));
  ENGINE_RETURN_IF_ERROR(CheckElementDtype(inputs[0], "ScatterND: data"));
  ENGINE_RETURN_IF_ERROR(CheckIndexDtype(inputs[1], "ScatterND: indices"));
  ENGINE_ASSIGN_OR_RETURN(NdGeometry g, MakeNdGeometry(inputs[0], inputs[1], 0, "ScatterND"));
  const Dims& is = inputs[1].shape;
  Dims expected(is.begin(), is.end() - 1);
  expected.insert(expected.end(), inputs[0].shape.begin() + g.k, inputs[0].shape.end());
  if (inputs[2].dtype != inputs[0].dtype || inputs[2].shape != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ScatterND: updates ", DataTypeName(inputs[2].dtype), ShapeString(inputs[2].shape),
        " must be ", DataTypeName(inputs[0].dtype), ShapeString(expected)));
  }
  ENGINE_ASSIGN_OR_RETURN(Reduction r, ParseReduction(attrs, "ScatterND"));
  ENGINE_RETURN_IF_ERROR(ReduceFor(inputs[0].dtype, r, "ScatterND").status());
  return Infos{MakeInfo(inputs[0].dtype, inputs[0].shape)};
}

class ScatterNdKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferScatterNd(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "ScatterND"));
    g_ = *MakeNdGeometry(inputs[0], inputs[1], 0, "ScatterND");
    esize_ = DataTypeSize(inputs[0].dtype);
    int32_ = inputs[1].dtype == DataType::kInt32;
    bytes_ = static_cast<size_t>(NumElements(inputs[0].shape)) * esize_;
    reduction_ = *ParseReduction(attrs, "ScatterND");
    fn_ = *ReduceFor(inputs[0].dtype, reduction_, "ScatterND");
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    auto* dst = static_cast<std::byte*>(out[0]);
    if (bytes_ > 0 && dst != in[0]) std::memmove(dst, in[0], bytes_);
    const auto* upd = static_cast<const std::byte*>(in[2]);
    const auto es = static_cast<int64_t>(esize_);
    for (int64_t t = 0; t < g_.tuples; ++t) {
      const int64_t off = TupleOffset(g_, in[1], int32_, t);
      if (off < 0) continue;
      Apply(fn_, reduction_, dst + off * g_.slice * es, upd + t * g_.slice * es, g_.slice, esize_);
    }
  }

 private:
  NdGeometry g_;
  size_t esize_ = 0, bytes_ = 0;
  bool int32_ = false;
  Reduction reduction_ = Reduction::kNone;
  ReduceFn fn_ = nullptr;
};

// ---------------------------------------------------------------------------
// OneHot.

// Reads element i of a numeric tensor as double.
double ReadNumber(const void* p, DataType t, int64_t i) {
  switch (t) {
    case DataType::kFloat32:
      return static_cast<const float*>(p)[i];
    case DataType::kInt32:
      return static_cast<const int32_t*>(p)[i];
    case DataType::kInt64:
      return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case DataType::kInt8:
      return static_cast<const int8_t*>(p)[i];
    case DataType::kUint8:
      return static_cast<const uint8_t*>(p)[i];
    default:
      return 0;
  }
}

bool IsNumber(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kInt32 || t == DataType::kInt64 ||
         t == DataType::kInt8 || t == DataType::kUint8;
}

absl::StatusOr<Infos> InferOneHot(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 3, 3, "OneHot"));
  const TensorInfo& indices = inputs[0];
  const TensorInfo& depth = inputs[1];
  const TensorInfo& values = inputs[2];
  if (!IsNumber(indices.dtype) || !IsNumber(depth.dtype)) {
    return absl::InvalidArgumentError(absl::StrCat("OneHot: indices (", DataTypeName(indices.dtype),
                                                   ") and depth (", DataTypeName(depth.dtype),
                                                   ") must be numeric"));
  }
  ENGINE_RETURN_IF_ERROR(CheckElementDtype(values, "OneHot: values"));
  if (NumElements(values.shape) != 2 || values.shape.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "OneHot: values must be [off, on] (shape [2]), got ", ShapeString(values.shape)));
  }
  if (NumElements(depth.shape) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("OneHot: depth must have one element, got ", ShapeString(depth.shape)));
  }
  if (depth.constant == nullptr) {
    return absl::UnimplementedError(
        "OneHot: depth must be a constant tensor (it sets the output shape; dynamic shapes are "
        "not supported)");
  }
  const double dv = ReadNumber(depth.constant->data(), depth.dtype, 0);
  if (!(dv >= 1) || dv > static_cast<double>(int64_t{1} << 40)) {
    return absl::InvalidArgumentError(absl::StrCat("OneHot: depth ", dv, " must be >= 1"));
  }
  const auto d = static_cast<int64_t>(dv);
  const int64_t rank = static_cast<int64_t>(indices.shape.size()) + 1;
  ENGINE_ASSIGN_OR_RETURN(int64_t a, attrs.GetInt("axis", -1));
  absl::StatusOr<int64_t> axis = NormalizeAxis(a, rank);
  if (!axis.ok()) return Annotate(axis.status(), "OneHot");
  Dims out = indices.shape;
  out.insert(out.begin() + *axis, d);
  return Infos{MakeInfo(values.dtype, std::move(out))};
}

class OneHotKernel : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferOneHot(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "OneHot"));
    const int64_t axis = *NormalizeAxis(attrs.Int("axis", -1), inputs[0].shape.size() + 1);
    depth_ = out[0].shape[axis];
    outer_ = 1;
    for (int64_t d = 0; d < axis; ++d) outer_ *= inputs[0].shape[d];
    inner_ = NumElements(inputs[0].shape) / std::max<int64_t>(outer_, 1);
    idx_dtype_ = inputs[0].dtype;
    esize_ = DataTypeSize(inputs[2].dtype);
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const auto* values = static_cast<const std::byte*>(in[2]);
    auto* dst = static_cast<std::byte*>(out[0]);
    const auto es = static_cast<int64_t>(esize_);
    // Fill with "off", then set "on" where the index points.
    const int64_t n = outer_ * depth_ * inner_;
    for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * es, values, esize_);
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t j = 0; j < inner_; ++j) {
        const double v = ReadNumber(in[0], idx_dtype_, o * inner_ + j);
        // Exact comparison with the positions (ONNX reference, ONNX Runtime):
        // a non-integral float index matches none.
        if (!std::isfinite(v) || v != std::trunc(v) || std::fabs(v) > 1e18) continue;
        auto k = static_cast<int64_t>(v);
        if (k < 0) k += depth_;
        if (k < 0 || k >= depth_) continue;
        std::memcpy(dst + ((o * depth_ + k) * inner_ + j) * es, values + es, esize_);
      }
    }
  }

 private:
  int64_t depth_ = 0, outer_ = 0, inner_ = 0;
  DataType idx_dtype_ = DataType::kInt64;
  size_t esize_ = 0;
};

}  // namespace

KernelDef MakeGatherElementsDef() {
  return MakeDef<GatherElementsKernel>("GatherElements", InferGatherElements);
}
KernelDef MakeGatherNdDef() { return MakeDef<GatherNdKernel>("GatherND", InferGatherNd); }
KernelDef MakeScatterElementsDef() {
  return MakeDef<ScatterElementsKernel>("ScatterElements", InferScatterElements);
}
KernelDef MakeScatterNdDef() { return MakeDef<ScatterNdKernel>("ScatterND", InferScatterNd); }
KernelDef MakeOneHotDef() { return MakeDef<OneHotKernel>("OneHot", InferOneHot); }

}  // namespace engine::kernels
