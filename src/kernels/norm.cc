// Normalization layers: BatchNormalization (inference), Softmax, LRN. float32.
//
// BatchNormalization (ONNX opset 15, Operators.md#BatchNormalization),
// inference mode only (training_mode = 0, one output):
//   X [N, C, D1, ...]; scale, B, input_mean, input_var [C]; Y like X.
//   Y = (X - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + B[c]
//
// Softmax (ONNX opset 13, Operators.md#Softmax): along one `axis` (default
// -1), Y = exp(X - max) / sum(exp(X - max)) (the max subtraction keeps it
// numerically stable; the result is the same).
//
// LRN (ONNX Operators.md#LRN): X [N, C, D1, ...]; attributes alpha (1e-4),
// beta (0.75), bias (1.0), size (required, >= 1):
//   square_sum[n, c, ...] = sum of X[n, i, ...]^2 for
//     i in [max(0, c - floor((size - 1) / 2)), min(C - 1, c + ceil((size - 1) / 2))]
//   Y = X / (bias + alpha / size * square_sum)^beta
//
// Intra-op parallelism: BatchNormalization and LRN split their planes (n, c),
// Softmax its independent softmaxes, over RunContext::threads threads; no
// output depends on the split.
#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

absl::Status RequireFloat(const TensorInfo& t, const std::string& what) {
  if (t.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(
        absl::StrCat(what, ": only float32 is supported, got ", DataTypeName(t.dtype)));
  }
  return absl::OkStatus();
}

// Checks the layer has exactly one output, of shape `shape`.
absl::Status CheckSingleOutput(std::span<const TensorInfo> outputs, const Dims& shape,
                               const std::string& type) {
  if (outputs.size() != 1 || outputs[0].shape != shape) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": expected one output of shape ", ShapeString(shape)));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// BatchNormalization

struct BatchNormParams {
  int64_t batch = 0, channels = 0, plane = 1;  // X viewed as [N, C, plane]
  float epsilon = 1e-5f;
};

absl::StatusOr<BatchNormParams> ParseBatchNorm(const Attributes& attrs,
                                               std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 5, 5, "BatchNormalization"));
  ENGINE_ASSIGN_OR_RETURN(int64_t training_mode, attrs.GetInt("training_mode", 0));
  if (training_mode != 0) {
    return absl::UnimplementedError("BatchNormalization: training_mode=1 is not supported");
  }
  const TensorInfo& x = inputs[0];
  for (const TensorInfo& t : inputs) ENGINE_RETURN_IF_ERROR(RequireFloat(t, "BatchNormalization"));
  if (x.shape.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("BatchNormalization: X has shape ",
                                                   ShapeString(x.shape),
                                                   ", expected [N,C,...] (rank >= 2)"));
  }
  BatchNormParams p;
  ENGINE_ASSIGN_OR_RETURN(p.epsilon, attrs.GetFloat("epsilon", 1e-5f));
  p.batch = x.shape[0];
  p.channels = x.shape[1];
  p.plane = NumElements(Dims(x.shape.begin() + 2, x.shape.end()));
  static const char* kNames[] = {"X", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i < 5; ++i) {
    if (inputs[i].shape != Dims{p.channels}) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BatchNormalization: ", kNames[i], " has shape ", ShapeString(inputs[i].shape),
          ", expected [", p.channels, "] (C of X ", ShapeString(x.shape), ")"));
    }
  }
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferBatchNorm(const Attributes& attrs,
                                                       std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(ParseBatchNorm(attrs, inputs).status());
  return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, inputs[0].shape)};
}

class BatchNormKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseBatchNorm(attrs, inputs));
    if (outputs.size() > 1) {
      return absl::UnimplementedError(
          "BatchNormalization: only one output is supported (no running mean/var outputs)");
    }
    return CheckSingleOutput(outputs, inputs[0].shape, "BatchNormalization");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    const float* scale = static_cast<const float*>(in[1]);
    const float* bias = static_cast<const float*>(in[2]);
    const float* mean = static_cast<const float*>(in[3]);
    const float* var = static_cast<const float*>(in[4]);
    float* y = static_cast<float*>(out[0]);
    // Planes (n, c) are independent: spread them over the threads.
    auto planes = [&](int64_t begin, int64_t end, int) {
      for (int64_t nc = begin; nc < end; ++nc) {
        const int64_t c = nc % p_.channels;
        // y = x * a + b with a = scale / sqrt(var + eps), b = B - mean * a.
        const float a = scale[c] / std::sqrt(var[c] + p_.epsilon);
        const float b = bias[c] - mean[c] * a;
        const int64_t base = nc * p_.plane;
        for (int64_t i = 0; i < p_.plane; ++i) y[base + i] = x[base + i] * a + b;
      }
    };
    const int64_t count = p_.batch * p_.channels;
    if (count * p_.plane >= kMinParallelElements) {
      ParallelFor(ctx, count, planes);
    } else {
      planes(0, count, 0);
    }
  }

 private:
  static constexpr int64_t kMinParallelElements = int64_t{1} << 15;
  BatchNormParams p_;
};

// ---------------------------------------------------------------------------
// Softmax

struct SoftmaxParams {
  int64_t outer = 1, axis_size = 1, inner = 1;  // X viewed as [outer, axis, inner]
};

absl::StatusOr<SoftmaxParams> ParseSoftmax(const Attributes& attrs,
                                           std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "Softmax"));
  const TensorInfo& x = inputs[0];
  ENGINE_RETURN_IF_ERROR(RequireFloat(x, "Softmax"));
  ENGINE_ASSIGN_OR_RETURN(int64_t axis_attr, attrs.GetInt("axis", -1));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  auto axis = NormalizeAxis(axis_attr, rank);
  if (!axis.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Softmax: X ", ShapeString(x.shape), ": ", axis.status().message()));
  }
  SoftmaxParams p;
  for (int64_t i = 0; i < rank; ++i) {
    if (i < *axis) p.outer *= x.shape[i];
    if (i > *axis) p.inner *= x.shape[i];
  }
  p.axis_size = x.shape[*axis];
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferSoftmax(const Attributes& attrs,
                                                     std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(ParseSoftmax(attrs, inputs).status());
  return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, inputs[0].shape)};
}

class SoftmaxKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseSoftmax(attrs, inputs));
    return CheckSingleOutput(outputs, inputs[0].shape, "Softmax");
  }

  // Per-thread running max and sum for the `inner` columns of a strided
  // softmax.
  size_t ScratchBytes(int threads) const override { return Layout().Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    float* y = static_cast<float*>(out[0]);
    const int64_t n = p_.axis_size, inner = p_.inner;
    if (n == 0) return;
    // Softmaxes (outer indices) are independent: spread them over the threads.
    auto rows = [&](int64_t begin, int64_t end, int slot) {
      if (inner == 1) {
        RunContiguous(x, y, begin, end);
      } else {
        RunStrided(x, y, begin, end, reinterpret_cast<float*>(Layout().Slot(ctx, slot)));
      }
    };
    if (p_.outer * n * inner >= kMinParallelElements) {
      ParallelFor(ctx, p_.outer, rows);
    } else {
      rows(0, p_.outer, 0);
    }
  }

 private:
  static constexpr int64_t kMinParallelElements = int64_t{1} << 15;

  ScratchLayout Layout() const {
    ScratchLayout layout;
    layout.per_thread = p_.inner == 1 ? 0 : static_cast<size_t>(2 * p_.inner) * sizeof(float);
    return layout;
  }

  // Contiguous rows [begin, end) of length axis_size.
  void RunContiguous(const float* x, float* y, int64_t begin, int64_t end) const {
    const int64_t n = p_.axis_size;
    for (int64_t o = begin; o < end; ++o) SoftmaxRow(x + o * n, y + o * n, n);
  }

  // Strided: X[o, i, j] for j in [0, inner), processed a whole [axis, inner]
  // block at a time so the inner loops are contiguous; `mx` holds 2 * inner
  // floats.
  void RunStrided(const float* x, float* y, int64_t begin, int64_t end, float* mx) const {
    const int64_t n = p_.axis_size, inner = p_.inner;
    float* sum = mx + inner;
    for (int64_t o = begin; o < end; ++o) {
      const float* xb = x + o * n * inner;
      float* yb = y + o * n * inner;
      std::copy(xb, xb + inner, mx);
      for (int64_t i = 1; i < n; ++i) {
        const float* xr = xb + i * inner;
        for (int64_t j = 0; j < inner; ++j) mx[j] = std::max(mx[j], xr[j]);
      }
      std::fill(sum, sum + inner, 0.0f);
      for (int64_t i = 0; i < n; ++i) {
        const float* xr = xb + i * inner;
        float* yr = yb + i * inner;
        for (int64_t j = 0; j < inner; ++j) yr[j] = xr[j] - mx[j];
        ExpArray(yr, yr, inner);  // as SoftmaxRow
        for (int64_t j = 0; j < inner; ++j) sum[j] += yr[j];
      }
      for (int64_t j = 0; j < inner; ++j) sum[j] = 1.0f / sum[j];
      for (int64_t i = 0; i < n; ++i) {
        float* yr = yb + i * inner;
        for (int64_t j = 0; j < inner; ++j) yr[j] *= sum[j];
      }
    }
  }

  SoftmaxParams p_;
};

// ---------------------------------------------------------------------------
// LRN

struct LrnParams {
  int64_t batch = 0, channels = 0, plane = 1;  // X viewed as [N, C, plane]
  float alpha = 1e-4f, beta = 0.75f, bias = 1.0f;
  int64_t size = 1;
};

absl::StatusOr<LrnParams> ParseLrn(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "LRN"));
  const TensorInfo& x = inputs[0];
  ENGINE_RETURN_IF_ERROR(RequireFloat(x, "LRN"));
  if (x.shape.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("LRN: X has shape ", ShapeString(x.shape),
                                                   ", expected [N,C,...] (rank >= 2)"));
  }
  if (!attrs.Has("size")) {
    return absl::InvalidArgumentError("LRN: attribute 'size' is required");
  }
  LrnParams p;
  ENGINE_ASSIGN_OR_RETURN(p.size, attrs.GetInt("size", 1));
  ENGINE_ASSIGN_OR_RETURN(p.alpha, attrs.GetFloat("alpha", 1e-4f));
  ENGINE_ASSIGN_OR_RETURN(p.beta, attrs.GetFloat("beta", 0.75f));
  ENGINE_ASSIGN_OR_RETURN(p.bias, attrs.GetFloat("bias", 1.0f));
  if (p.size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("LRN: size ", p.size, " must be >= 1"));
  }
  p.batch = x.shape[0];
  p.channels = x.shape[1];
  p.plane = NumElements(Dims(x.shape.begin() + 2, x.shape.end()));
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferLrn(const Attributes& attrs,
                                                 std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(ParseLrn(attrs, inputs).status());
  return std::vector<TensorInfo>{MakeInfo(DataType::kFloat32, inputs[0].shape)};
}

class LrnKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseLrn(attrs, inputs));
    return CheckSingleOutput(outputs, inputs[0].shape, "LRN");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    float* y = static_cast<float*>(out[0]);
    const int64_t c_count = p_.channels, plane = p_.plane;
    const int64_t before = (p_.size - 1) / 2;    // floor((size - 1) / 2)
    const int64_t after = p_.size - 1 - before;  // ceil((size - 1) / 2)
    const float scale = p_.alpha / static_cast<float>(p_.size);
    // Output planes (n, c) are independent: spread them over the threads.
    ParallelFor(ctx, p_.batch * c_count, [&](int64_t begin, int64_t end, int) {
      for (int64_t nc = begin; nc < end; ++nc) {
        const int64_t n = nc / c_count, c = nc % c_count;
        const float* xn = x + n * c_count * plane;
        float* yn = y + n * c_count * plane;
        // Accumulate the square sum in the output plane, then normalize.
        float* yc = yn + c * plane;
        std::fill(yc, yc + plane, 0.0f);
        const int64_t lo = std::max<int64_t>(0, c - before);
        const int64_t hi = std::min<int64_t>(c_count - 1, c + after);
        for (int64_t i = lo; i <= hi; ++i) {
          const float* xi = xn + i * plane;
          for (int64_t j = 0; j < plane; ++j) yc[j] += xi[j] * xi[j];
        }
        const float* xc = xn + c * plane;
        for (int64_t j = 0; j < plane; ++j) {
          yc[j] = xc[j] / std::pow(p_.bias + scale * yc[j], p_.beta);
        }
      }
    });
  }

 private:
  LrnParams p_;
};

}  // namespace

KernelDef MakeBatchNormalizationDef() {
  return MakeDef<BatchNormKernel>("BatchNormalization", InferBatchNorm);
}

KernelDef MakeSoftmaxDef() { return MakeDef<SoftmaxKernel>("Softmax", InferSoftmax); }

// The layer type is the ONNX op type, "LRN".
KernelDef MakeLrnDef() { return MakeDef<LrnKernel>("LRN", InferLrn); }

}  // namespace engine::kernels
