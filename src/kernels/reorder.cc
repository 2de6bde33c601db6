// Element moves to computed positions: MaxUnpool and ReverseSequence (ONNX
// Operators.md; MaxUnpool opsets 9-22, ReverseSequence opsets 10-22).
//
// MaxUnpool: the partial inverse of MaxPool.
//   X            [N, C, d1..dk], any dtype with a byte size
//   I            int64 (or int32) [N, C, d1..dk], MaxPool's Indices output:
//                flat positions in the unpooled tensor of shape
//                [N, C, D1..Dk], Di = (di - 1) * strides[i] + kernel_shape[i]
//                - pads[i] - pads[k + i]
//   output_shape optional int64 [k + 2], a build-time constant (else
//                Unimplemented "... must be a constant tensor"): the output
//                shape, equal to [N, C] and at least D per spatial axis
//   Y            [N, C, D1..Dk] or output_shape
// Attributes: kernel_shape (required), strides (1), pads (0). Y is zero but
// at Y[position of I[j]] = X[j], j in order (a repeated index keeps the
// last). With output_shape larger than D, each position keeps its
// coordinates: the unpooled tensor sits at the start of every axis and the
// rest is zero (ONNX Runtime, and the ONNX test data). Constant indices
// outside [0, N*C*D1*..*Dk) are InvalidArgument; at run time they are
// skipped (Run cannot fail). Serial: it is a scatter whose order matters.
//
// ReverseSequence: reverses the first sequence_lens[b] elements of each
// batch entry b along the time axis.
//   input         [max_time, batch, ...] or [batch, max_time, ...] (any dtype)
//   sequence_lens int64 (or int32) [batch]
//   output        the input's shape and dtype
// Attributes: time_axis (0), batch_axis (1): 0 and 1 in either order.
// Constant lengths outside [0, max_time] are InvalidArgument; at run time
// they are clamped to that range. Batch entries split over threads.
#include <algorithm>
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

inline int64_t ReadInt(const void* p, bool int32, int64_t i) {
  return int32 ? static_cast<const int32_t*>(p)[i] : static_cast<const int64_t*>(p)[i];
}

// ---------------------------------------------------------------------------
// MaxUnpool

struct UnpoolShapes {
  Dims unpooled;  // [N, C, D1..Dk]
  Dims out;       // unpooled, or output_shape
};

absl::StatusOr<UnpoolShapes> UnpoolShapesOf(const Attributes& attrs,
                                            std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 3, "MaxUnpool"));
  const TensorInfo& x = inputs[0];
  const TensorInfo& ind = inputs[1];
  if (DataTypeSize(x.dtype) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("MaxUnpool: unsupported X dtype ", DataTypeName(x.dtype)));
  }
  if (ind.dtype != DataType::kInt64 && ind.dtype != DataType::kInt32) {
    return absl::InvalidArgumentError(
        absl::StrCat("MaxUnpool: I must be int64 or int32, got ", DataTypeName(ind.dtype)));
  }
  if (x.shape.size() < 3 || ind.shape != x.shape) {
    return absl::InvalidArgumentError(
        absl::StrCat("MaxUnpool: X ", ShapeString(x.shape), " must be [N, C, d1..dk] and I ",
                     ShapeString(ind.shape), " of the same shape"));
  }
  if (!attrs.Has("kernel_shape")) {
    return absl::InvalidArgumentError("MaxUnpool: attribute 'kernel_shape' is required");
  }
  const size_t k = x.shape.size() - 2;
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> kernel,
                          GetSpatialInts(attrs, "MaxUnpool", "kernel_shape", k, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> strides,
                          GetSpatialInts(attrs, "MaxUnpool", "strides", k, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> pads,
                          GetSpatialInts(attrs, "MaxUnpool", "pads", 2 * k, 0, 0));
  UnpoolShapes s;
  s.unpooled = {x.shape[0], x.shape[1]};
  for (size_t i = 0; i < k; ++i) {
    const int64_t d = x.shape[2 + i];
    const int64_t D = d == 0 ? 0 : (d - 1) * strides[i] + kernel[i] - pads[i] - pads[k + i];
    if (D < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "MaxUnpool: pads ", pads[i], " + ", pads[k + i], " exceed the unpooled size of axis ",
          2 + i));
    }
    s.unpooled.push_back(D);
  }
  s.out = s.unpooled;
  if (inputs.size() >= 3 && inputs[2].present) {
    const TensorInfo& os = inputs[2];
    if (os.constant == nullptr) {
      return absl::UnimplementedError("MaxUnpool: output_shape must be a constant tensor");
    }
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> v, ConstantInts(os, "MaxUnpool: output_shape"));
    if (v.size() != x.shape.size() || v[0] != x.shape[0] || v[1] != x.shape[1]) {
      return absl::InvalidArgumentError(
          absl::StrCat("MaxUnpool: output_shape ", ShapeString(Dims(v.begin(), v.end())),
                       " must have rank ", x.shape.size(), " and start with N, C of X ",
                       ShapeString(x.shape)));
    }
    for (size_t i = 2; i < v.size(); ++i) {
      if (v[i] < s.unpooled[i] || v[i] > (int64_t{1} << 40)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "MaxUnpool: output_shape[", i, "] = ", v[i], " must be in [", s.unpooled[i],
            ", 2^40] (the unpooled size ", ShapeString(s.unpooled), " at least)"));
      }
    }
    s.out = Dims(v.begin(), v.end());
  }
  return s;
}

absl::StatusOr<Infos> InferMaxUnpool(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(UnpoolShapes s, UnpoolShapesOf(attrs, inputs));
  return Infos{MakeInfo(inputs[0].dtype, s.out)};
}

class MaxUnpoolKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(UnpoolShapes s, UnpoolShapesOf(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, {MakeInfo(inputs[0].dtype, s.out)}, "MaxUnpool"));
    unpooled_ = s.unpooled;
    out_ = s.out;
    out_strides_ = RowMajorStrides(out_);
    total_ = NumElements(unpooled_);
    count_ = NumElements(inputs[0].shape);
    out_bytes_ = static_cast<size_t>(NumElements(out_)) * DataTypeSize(inputs[0].dtype);
    esize_ = DataTypeSize(inputs[0].dtype);
    int32_ = inputs[1].dtype == DataType::kInt32;
    if (inputs[1].constant != nullptr) {
      for (int64_t j = 0; j < count_; ++j) {
        const int64_t k = ReadInt(inputs[1].constant->data(), int32_, j);
        if (k < 0 || k >= total_) {
          return absl::InvalidArgumentError(absl::StrCat("MaxUnpool: I[", j, "] = ", k,
                                                         " is outside [0, ", total_, ")"));
        }
      }
    }
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const auto* x = static_cast<const std::byte*>(in[0]);
    auto* y = static_cast<std::byte*>(out[0]);
    std::memset(y, 0, out_bytes_);
    const bool same = unpooled_ == out_;
    for (int64_t j = 0; j < count_; ++j) {
      const int64_t k = ReadInt(in[1], int32_, j);
      if (k < 0 || k >= total_) continue;
      int64_t pos = k;
      if (!same) {  // the coordinates of k in the unpooled shape, in the output's
        pos = 0;
        int64_t rest = k;
        for (size_t a = unpooled_.size(); a-- > 0;) {
          pos += (rest % unpooled_[a]) * out_strides_[a];
          rest /= unpooled_[a];
        }
      }
      std::memcpy(y + static_cast<size_t>(pos) * esize_, x + static_cast<size_t>(j) * esize_,
                  esize_);
    }
  }

 private:
  Dims unpooled_, out_;
  std::vector<int64_t> out_strides_;
  int64_t total_ = 0, count_ = 0;
  size_t out_bytes_ = 0, esize_ = 0;
  bool int32_ = false;
};

// ---------------------------------------------------------------------------
// ReverseSequence

struct ReverseAxes {
  int64_t time = 0, batch = 1;
};

absl::StatusOr<ReverseAxes> ReverseAxesOf(const Attributes& attrs,
                                          std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "ReverseSequence"));
  const TensorInfo& x = inputs[0];
  const TensorInfo& lens = inputs[1];
  if (DataTypeSize(x.dtype) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ReverseSequence: unsupported input dtype ", DataTypeName(x.dtype)));
  }
  if (lens.dtype != DataType::kInt64 && lens.dtype != DataType::kInt32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ReverseSequence: sequence_lens must be int64 or int32, got ", DataTypeName(lens.dtype)));
  }
  ReverseAxes a;
  ENGINE_ASSIGN_OR_RETURN(a.time, attrs.GetInt("time_axis", 0));
  ENGINE_ASSIGN_OR_RETURN(a.batch, attrs.GetInt("batch_axis", 1));
  if (!((a.time == 0 && a.batch == 1) || (a.time == 1 && a.batch == 0))) {
    return absl::InvalidArgumentError(absl::StrCat("ReverseSequence: time_axis ", a.time,
                                                   " and batch_axis ", a.batch,
                                                   " must be 0 and 1 in either order"));
  }
  if (x.shape.size() < 2 || lens.shape.size() != 1 || lens.shape[0] != x.shape[a.batch]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ReverseSequence: input ", ShapeString(x.shape), " must have rank >= 2 and sequence_lens ",
        ShapeString(lens.shape), " one length per batch entry (axis ", a.batch, ")"));
  }
  return a;
}

absl::StatusOr<Infos> InferReverseSequence(const Attributes& attrs,
                                           std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(ReverseAxesOf(attrs, inputs).status());
  return Infos{MakeInfo(inputs[0].dtype, inputs[0].shape)};
}

class ReverseSequenceKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(ReverseAxes a, ReverseAxesOf(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, {MakeInfo(inputs[0].dtype, inputs[0].shape)},
                                        "ReverseSequence"));
    const Dims& s = inputs[0].shape;
    max_time_ = s[a.time];
    batch_ = s[a.batch];
    inner_bytes_ = static_cast<size_t>(Prod(s, 2)) * DataTypeSize(inputs[0].dtype);
    // Byte strides of one time step and one batch entry.
    time_stride_ = a.time == 0 ? batch_ * inner_bytes_ : inner_bytes_;
    batch_stride_ = a.batch == 0 ? max_time_ * inner_bytes_ : inner_bytes_;
    int32_ = inputs[1].dtype == DataType::kInt32;
    if (inputs[1].constant != nullptr) {
      for (int64_t b = 0; b < batch_; ++b) {
        const int64_t len = ReadInt(inputs[1].constant->data(), int32_, b);
        if (len < 0 || len > max_time_) {
          return absl::InvalidArgumentError(absl::StrCat("ReverseSequence: sequence_lens[", b,
                                                         "] = ", len, " is outside [0, ",
                                                         max_time_, "]"));
        }
      }
    }
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const auto* x = static_cast<const std::byte*>(in[0]);
    auto* y = static_cast<std::byte*>(out[0]);
    ParallelFor(ctx, batch_, [&](int64_t begin, int64_t end, int) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t len = std::clamp<int64_t>(ReadInt(in[1], int32_, b), 0, max_time_);
        for (int64_t t = 0; t < max_time_; ++t) {
          const int64_t src = t < len ? len - 1 - t : t;
          std::memcpy(y + b * batch_stride_ + t * time_stride_,
                      x + b * batch_stride_ + src * time_stride_, inner_bytes_);
        }
      }
    });
  }

 private:
  static int64_t Prod(const Dims& d, size_t from) {
    int64_t p = 1;
    for (size_t i = from; i < d.size(); ++i) p *= d[i];
    return p;
  }

  int64_t max_time_ = 0, batch_ = 0;
  size_t inner_bytes_ = 0;
  int64_t time_stride_ = 0, batch_stride_ = 0;
  bool int32_ = false;
};

}  // namespace

KernelDef MakeMaxUnpoolDef() { return MakeDef<MaxUnpoolKernel>("MaxUnpool", InferMaxUnpool); }

KernelDef MakeReverseSequenceDef() {
  return MakeDef<ReverseSequenceKernel>("ReverseSequence", InferReverseSequence);
}

}  // namespace engine::kernels
