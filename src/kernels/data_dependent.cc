// Layers with a data-dependent output shape (KernelDef::data_dependent_dims):
// NonZero and NonMaxSuppression (ONNX Operators.md). Each output is laid out
// at its upper bound, the one data-dependent dimension holding the valid
// entries first and zeros after; Run writes the actual extent to
// RunContext::extent (docs/dynamic_shapes.md, "Data-dependent shapes").
//
// NonZero (opsets 9, 13): X of any numeric or bool dtype -> int64
//   [rank(X), numel(X)] (bound; actual [rank(X), count]), the indices of the
//   non-zero elements in row-major order (numpy.nonzero), column j holding the
//   coordinates of the j-th non-zero element.
// Compress (opsets 9, 11): input of any dtype, condition bool [L]; with
//   `axis`, the slices i < min(L, dim) along it whose condition is true
//   ([..., count, ...]); without, the elements of the flattened input
//   ([count]). Bound: min(L, axis dim) (min(L, numel) flattened).
// NonMaxSuppression (opsets 10, 11): boxes [B, N, 4] float32, scores
//   [B, C, N] float32, optional max_output_boxes_per_class int64 [1] (absent:
//   0), iou_threshold float [1] (absent: 0), score_threshold float [1]
//   (absent: no threshold); attribute center_point_box 0 ([y1, x1, y2, x2],
//   any diagonal corner pair) or 1 ([x_center, y_center, width, height]).
//   Output selected_indices int64 [bound, 3] rows (batch, class, box), per
//   batch then class in selection order. Bound: B * C * min(M, N) when
//   max_output_boxes_per_class is a build-time constant M, else B * C * N.
//   Per (batch, class) the boxes whose score exceeds score_threshold are taken
//   by decreasing score (ties: lower box index first) and a box is dropped when
//   its IoU with an already selected box exceeds iou_threshold; boxes of zero
//   or negative area never suppress. As ONNX Runtime's
//   onnxruntime/core/providers/cpu/object_detection/non_max_suppression.cc.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/data_dependent.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

// ---------------------------------------------------------------------------
// NonZero

bool NonZeroSupported(DataType t) {
  switch (t) {
    case DataType::kFloat32: case DataType::kFloat64: case DataType::kFloat16:
    case DataType::kBFloat16: case DataType::kInt64: case DataType::kInt32:
    case DataType::kInt16: case DataType::kInt8: case DataType::kUint8:
    case DataType::kUint16: case DataType::kUint32: case DataType::kUint64:
    case DataType::kBool:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<std::vector<TensorInfo>> InferNonZero(const Attributes&,
                                                     std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "NonZero"));
  if (!inputs[0].present) return absl::InvalidArgumentError("NonZero: input 'X' is absent");
  if (!NonZeroSupported(inputs[0].dtype)) {
    return absl::UnimplementedError(
        absl::StrCat("NonZero: dtype ", DataTypeName(inputs[0].dtype), " of X is not supported"));
  }
  const int64_t rank = static_cast<int64_t>(inputs[0].shape.size());
  return std::vector<TensorInfo>{
      MakeInfo(DataType::kInt64, {rank, NumElements(inputs[0].shape)})};
}

class NonZeroKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferNonZero(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "NonZero"));
    dtype_ = inputs[0].dtype;
    shape_ = inputs[0].shape;
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const int64_t n = NumElements(shape_), rank = static_cast<int64_t>(shape_.size());
    auto* y = static_cast<int64_t*>(out[0]);
    if (rank * n > 0) std::memset(y, 0, static_cast<size_t>(rank * n) * sizeof(int64_t));
    const auto* bytes = static_cast<const unsigned char*>(in[0]);
    const size_t size = DataTypeSize(dtype_);
    // Floating-point zero is +0 or -0: the sign bit (top bit of the last,
    // most significant little-endian byte) is ignored.
    const bool is_float = dtype_ == DataType::kFloat32 || dtype_ == DataType::kFloat64 ||
                          dtype_ == DataType::kFloat16 || dtype_ == DataType::kBFloat16;
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i) {
      const unsigned char* e = bytes + static_cast<size_t>(i) * size;
      bool nz = false;
      for (size_t b = 0; b < size && !nz; ++b) {
        const unsigned char mask = (is_float && b + 1 == size) ? 0x7f : 0xff;
        nz = (e[b] & mask) != 0;
      }
      if (!nz) continue;
      int64_t rest = i;
      for (int64_t d = rank - 1; d >= 0; --d) {
        y[d * n + count] = rest % shape_[static_cast<size_t>(d)];
        rest /= shape_[static_cast<size_t>(d)];
      }
      ++count;
    }
    ReportExtent(count);
  }

 private:
  DataType dtype_ = DataType::kUndefined;
  Dims shape_;
};

// ---------------------------------------------------------------------------
// Compress

struct CompressParams {
  bool flat = true;  ///< no axis: the input flattened
  int64_t axis = 0;
  int64_t outer = 1, n = 1, inner = 1;  ///< input as [outer, n, inner]
  int64_t cond = 0;                     ///< condition length
  int64_t bound = 0;                    ///< min(cond, n)
  size_t elem = 0;                      ///< bytes per element
  Dims y_shape;                         ///< at the bound
};

absl::StatusOr<CompressParams> ParseCompress(const Attributes& attrs,
                                             std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "Compress"));
  const TensorInfo& x = inputs[0];
  const TensorInfo& c = inputs[1];
  if (!x.present || !c.present) {
    return absl::InvalidArgumentError("Compress: inputs 'input' and 'condition' are required");
  }
  if (c.dtype != DataType::kBool || c.shape.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Compress: 'condition' must be a 1-D bool tensor, got ", DataTypeName(c.dtype), " ",
        ShapeString(c.shape)));
  }
  if (DataTypeSize(x.dtype) == 0) {
    return absl::UnimplementedError(
        absl::StrCat("Compress: dtype ", DataTypeName(x.dtype), " is not supported"));
  }
  CompressParams p;
  p.elem = DataTypeSize(x.dtype);
  p.cond = c.shape[0];
  if (attrs.Has("axis")) {
    ENGINE_ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis", 0));
    ENGINE_ASSIGN_OR_RETURN(p.axis,
                            NormalizeAxis(axis, static_cast<int64_t>(x.shape.size())));
    p.flat = false;
    for (size_t d = 0; d < x.shape.size(); ++d) {
      const int64_t dim = x.shape[d];
      if (static_cast<int64_t>(d) < p.axis) p.outer *= dim;
      if (static_cast<int64_t>(d) == p.axis) p.n = dim;
      if (static_cast<int64_t>(d) > p.axis) p.inner *= dim;
    }
  } else {
    p.n = NumElements(x.shape);
  }
  p.bound = std::min(p.cond, p.n);
  if (p.flat) {
    p.y_shape = {p.bound};
  } else {
    p.y_shape = x.shape;
    p.y_shape[static_cast<size_t>(p.axis)] = p.bound;
  }
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferCompress(const Attributes& attrs,
                                                      std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(CompressParams p, ParseCompress(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(inputs[0].dtype, p.y_shape)};
}

class CompressKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseCompress(attrs, inputs));
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferCompress(attrs, inputs));
    return CheckOutputs(outputs, out, "Compress");
  }

  // Copies the selected slices ([outer, n, inner] -> [outer, bound, inner],
  // the selected ones first along the middle dimension, zeros after).
  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const auto* x = static_cast<const std::byte*>(in[0]);
    const auto* c = static_cast<const bool*>(in[1]);
    auto* y = static_cast<std::byte*>(out[0]);
    const size_t slice = static_cast<size_t>(p_.inner) * p_.elem;
    const size_t total = static_cast<size_t>(p_.outer * p_.bound) * slice;
    if (total > 0) std::memset(y, 0, total);
    int64_t count = 0;
    for (int64_t o = 0; o < p_.outer; ++o) {
      count = 0;
      for (int64_t i = 0; i < p_.bound; ++i) {
        if (!c[i]) continue;
        std::memcpy(y + static_cast<size_t>(o * p_.bound + count) * slice,
                    x + static_cast<size_t>(o * p_.n + i) * slice, slice);
        ++count;
      }
    }
    if (p_.outer == 0) {
      for (int64_t i = 0; i < p_.bound; ++i) count += c[i] ? 1 : 0;
    }
    ReportExtent(count);
  }

 private:
  CompressParams p_;
};

// ---------------------------------------------------------------------------
// NonMaxSuppression

struct NmsParams {
  int64_t batches = 0, classes = 0, boxes = 0;
  int64_t bound = 0;            ///< rows of selected_indices at the bound
  bool has_max = false, has_iou = false, has_score = false;
  bool center_point = false;
};

absl::StatusOr<NmsParams> ParseNms(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 5, "NonMaxSuppression"));
  const TensorInfo& b = inputs[0];
  const TensorInfo& s = inputs[1];
  if (!b.present || !s.present) {
    return absl::InvalidArgumentError("NonMaxSuppression: inputs 'boxes' and 'scores' are required");
  }
  if (b.dtype != DataType::kFloat32 || s.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(absl::StrCat(
        "NonMaxSuppression: boxes and scores must be float32, got ", DataTypeName(b.dtype), " and ",
        DataTypeName(s.dtype)));
  }
  if (b.shape.size() != 3 || b.shape[2] != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "NonMaxSuppression: boxes must be [num_batches, spatial_dimension, 4], got ",
        ShapeString(b.shape)));
  }
  if (s.shape.size() != 3 || s.shape[0] != b.shape[0] || s.shape[2] != b.shape[1]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "NonMaxSuppression: scores must be [num_batches, num_classes, spatial_dimension] with "
        "boxes ", ShapeString(b.shape), ", got ", ShapeString(s.shape)));
  }
  NmsParams p;
  p.batches = b.shape[0];
  p.classes = s.shape[1];
  p.boxes = b.shape[1];
  ENGINE_ASSIGN_OR_RETURN(int64_t cpb, attrs.GetInt("center_point_box", 0));
  if (cpb != 0 && cpb != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("NonMaxSuppression: center_point_box must be 0 or 1, got ", cpb));
  }
  p.center_point = cpb == 1;
  auto optional = [&](size_t i, DataType dtype, const char* name) -> absl::StatusOr<bool> {
    if (inputs.size() <= i || !inputs[i].present) return false;
    if (inputs[i].dtype != dtype || NumElements(inputs[i].shape) != 1 ||
        inputs[i].shape.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "NonMaxSuppression: input '", name, "' must be a ", DataTypeName(dtype),
          " tensor of one element, got ", DataTypeName(inputs[i].dtype), " ",
          ShapeString(inputs[i].shape)));
    }
    return true;
  };
  ENGINE_ASSIGN_OR_RETURN(p.has_max, optional(2, DataType::kInt64, "max_output_boxes_per_class"));
  ENGINE_ASSIGN_OR_RETURN(p.has_iou, optional(3, DataType::kFloat32, "iou_threshold"));
  ENGINE_ASSIGN_OR_RETURN(p.has_score, optional(4, DataType::kFloat32, "score_threshold"));
  // Per (batch, class) at most min(M, N) boxes; B * C * N = numel(scores)
  // cannot overflow. A huge M (2^62) is clamped to N here.
  int64_t per_class = p.boxes;
  if (!p.has_max) {
    per_class = 0;
  } else if (inputs[2].constant != nullptr) {
    const int64_t m = inputs[2].constant->data_as<int64_t>()[0];
    per_class = std::clamp<int64_t>(m, 0, p.boxes);
  }
  p.bound = p.batches * p.classes * per_class;
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferNms(const Attributes& attrs,
                                                 std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(NmsParams p, ParseNms(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(DataType::kInt64, {p.bound, 3})};
}

struct Corners {
  float y1, x1, y2, x2;
};

class NmsKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseNms(attrs, inputs));
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out, InferNms(attrs, inputs));
    return CheckOutputs(outputs, out, "NonMaxSuppression");
  }

  // The candidates of one (batch, class) and the selected ones: 2 N int64.
  size_t ScratchBytes(int) const override {
    return static_cast<size_t>(2 * p_.boxes) * sizeof(int64_t);
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const auto* boxes = static_cast<const float*>(in[0]);
    const auto* scores = static_cast<const float*>(in[1]);
    auto* y = static_cast<int64_t*>(out[0]);
    if (p_.bound > 0) std::memset(y, 0, static_cast<size_t>(p_.bound * 3) * sizeof(int64_t));
    int64_t max_out = p_.has_max ? static_cast<const int64_t*>(in[2])[0] : 0;
    max_out = std::clamp<int64_t>(max_out, 0, p_.boxes);
    const float iou = p_.has_iou ? static_cast<const float*>(in[3])[0] : 0.0f;
    const float score_min = p_.has_score ? static_cast<const float*>(in[4])[0] : 0.0f;
    int64_t* cand = reinterpret_cast<int64_t*>(ctx.scratch);
    int64_t* sel = cand + p_.boxes;
    int64_t rows = 0;
    for (int64_t b = 0; b < p_.batches && max_out > 0; ++b) {
      const float* bb = boxes + b * p_.boxes * 4;
      for (int64_t c = 0; c < p_.classes; ++c) {
        const float* sc = scores + (b * p_.classes + c) * p_.boxes;
        int64_t nc = 0;
        for (int64_t i = 0; i < p_.boxes; ++i) {
          if (!p_.has_score || sc[i] > score_min) cand[nc++] = i;
        }
        std::stable_sort(cand, cand + nc, [sc](int64_t a, int64_t d) { return sc[a] > sc[d]; });
        int64_t ns = 0;
        for (int64_t k = 0; k < nc && ns < max_out; ++k) {
          const Corners box = CornersOf(bb + cand[k] * 4);
          bool keep = true;
          for (int64_t j = 0; j < ns && keep; ++j) {
            keep = !SuppressByIou(box, CornersOf(bb + sel[j] * 4), iou);
          }
          if (!keep) continue;
          sel[ns++] = cand[k];
          // rows < bound: max_out <= the build-time M when it was constant.
          if (rows < p_.bound) {
            y[rows * 3] = b;
            y[rows * 3 + 1] = c;
            y[rows * 3 + 2] = cand[k];
            ++rows;
          }
        }
      }
    }
    ReportExtent(rows);
  }

 private:
  Corners CornersOf(const float* v) const {
    if (p_.center_point) {  // [x_center, y_center, width, height]
      const float hw = v[2] / 2, hh = v[3] / 2;
      return {v[1] - hh, v[0] - hw, v[1] + hh, v[0] + hw};
    }
    return {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]),
            std::max(v[1], v[3])};
  }

  // ONNX Runtime's SuppressByIOU: IoU > threshold; an empty box never
  // suppresses.
  static bool SuppressByIou(const Corners& a, const Corners& b, float threshold) {
    const float area_a = (a.y2 - a.y1) * (a.x2 - a.x1);
    const float area_b = (b.y2 - b.y1) * (b.x2 - b.x1);
    if (area_a <= 0 || area_b <= 0) return false;
    const float iy1 = std::max(a.y1, b.y1), ix1 = std::max(a.x1, b.x1);
    const float iy2 = std::min(a.y2, b.y2), ix2 = std::min(a.x2, b.x2);
    const float inter = std::max(0.0f, iy2 - iy1) * std::max(0.0f, ix2 - ix1);
    if (inter <= 0) return false;
    const float uni = area_a + area_b - inter;
    return uni > 0 && inter / uni > threshold;
  }

  NmsParams p_;
};

// The thread's current ExtentScope slot.
thread_local int64_t* t_extent_slot = nullptr;

}  // namespace

void ReportExtent(int64_t extent) {
  if (t_extent_slot != nullptr) *t_extent_slot = extent;
}

ExtentScope::ExtentScope(int64_t* slot) : previous_(t_extent_slot) {
  if (slot != nullptr) *slot = 0;
  t_extent_slot = slot;
}

ExtentScope::~ExtentScope() { t_extent_slot = previous_; }

KernelDef MakeNonZeroDef() {
  return MakeDef<NonZeroKernel>("NonZero", InferNonZero, /*foldable=*/false);
}

KernelDef MakeCompressDef() {
  return MakeDef<CompressKernel>("Compress", InferCompress, /*foldable=*/false);
}

KernelDef MakeNonMaxSuppressionDef() {
  return MakeDef<NmsKernel>("NonMaxSuppression", InferNms, /*foldable=*/false);
}

std::vector<int> DataDependentDims(std::string_view type, const Attributes& attrs,
                                   std::span<const TensorInfo> inputs) {
  if (type == "NonZero") return {1};            // [rank, count]
  if (type == "NonMaxSuppression") return {0};  // [count, 3]
  if (type == "TopK") return TopKDataDependentDims(attrs, inputs);
  if (type == "Compress") {  // along `axis`, or the flattened input
    auto p = ParseCompress(attrs, inputs);
    if (!p.ok()) return {};
    return {p->flat ? 0 : static_cast<int>(p->axis)};
  }
  return {};
}

}  // namespace engine::kernels
