// Loss layers: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (ONNX
// Operators.md, opsets 12, 13 and 22; the semantics never changed, later
// opsets only add element types). Both read class scores laid out as
// [N, C, d1, ..., dk] (k >= 0, row-major, the class axis second) and one
// integer target per position (n, d1, ..., dk).
//
// NegativeLogLikelihoodLoss (input, target, optional weight):
//   input  float32 [N, C, d1..dk] (log-probabilities), rank >= 2;
//   target int32 or int64 [N, d1..dk];
//   weight float32 [C] (absent: every class weighs 1).
//   Per position p = (n, d): t = target[p];
//     w[p] = 0 when t == ignore_index (the attribute, only when given),
//            else weight[t] (1 without weight);
//     l[p] = -input[n, t, d] * w[p].
//   reduction "none": loss = l, shape [N, d1..dk];
//             "sum": loss = sum(l), shape [];
//             "mean" (default): loss = sum(l) / sum(w), shape [] (NaN when
//             every position is ignored: 0 / 0, as the ONNX reference).
//   A target outside [0, C) that is not ignore_index is invalid ONNX; Run
//   cannot fail, so such a position counts as ignored (l = 0, w = 0).
//
// SoftmaxCrossEntropyLoss (scores, labels, optional weights):
//   scores float32 [N, C, d1..dk]; labels and weights as target and weight
//   above. log_prob = LogSoftmax(scores) along axis 1 (x - max - ln(sum
//   e^(x - max)), the sum in double), then the loss is the
//   NegativeLogLikelihoodLoss of log_prob (same reduction and ignore_index).
//   Outputs: loss, then the optional log_prob [N, C, d1..dk]; the layer's
//   engine attribute num_outputs (1 or 2, default 1, set by the importer,
//   src/ops/loss.cc) says whether it has log_prob.
//
// Errors (Prepare and inference): InvalidArgument for a wrong input count,
// a rank below 2, a target / weight shape that does not match the input, an
// unknown `reduction` or a bad `num_outputs`; Unimplemented for a score dtype
// other than float32 or a target dtype other than int32 / int64.
//
// Accumulation is in double. Intra-op parallelism: positions are cut into
// fixed blocks of kBlock positions (independent of the thread count); each
// block is computed by one thread in position order, block partial sums go to
// scratch and are added in block order, so outputs are bit-identical for any
// thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

constexpr int64_t kBlock = 4096;                        // positions per block
constexpr int64_t kMinParallelWork = int64_t{1} << 15;  // elements touched

enum class Reduction { kNone, kSum, kMean };

struct LossSetup {
  int64_t n = 0, c = 0, d = 1;  // input viewed as [n, c, d]
  Dims target_shape;            // [N, d1..dk]
  Reduction reduction = Reduction::kMean;
  bool has_ignore = false;
  int64_t ignore_index = 0;
  bool has_weight = false;
  bool target_int32 = false;
  int64_t num_outputs = 1;  // SoftmaxCrossEntropyLoss: 2 with log_prob
};

// Parses and validates attributes and input descriptors. `softmax`:
// SoftmaxCrossEntropyLoss (input names scores / labels / weights).
absl::StatusOr<LossSetup> ParseLoss(const std::string& type, bool softmax, const Attributes& attrs,
                                    std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 3, type));
  const char* x_name = softmax ? "scores" : "input";
  const char* t_name = softmax ? "labels" : "target";
  const char* w_name = softmax ? "weights" : "weight";
  const TensorInfo& x = inputs[0];
  const TensorInfo& t = inputs[1];
  if (!x.present || !t.present) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": inputs '", x_name, "' and '", t_name, "' are required"));
  }
  if (x.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(absl::StrCat(type, ": unsupported dtype ",
                                                 DataTypeName(x.dtype), " for input '", x_name,
                                                 "' (float32 only)"));
  }
  if (t.dtype != DataType::kInt32 && t.dtype != DataType::kInt64) {
    return absl::UnimplementedError(absl::StrCat(type, ": unsupported dtype ",
                                                 DataTypeName(t.dtype), " for input '", t_name,
                                                 "' (int32 or int64)"));
  }
  if (x.shape.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": input '", x_name, "' has shape ",
                                                   ShapeString(x.shape),
                                                   ", expected rank >= 2 [N, C, d1..dk]"));
  }
  LossSetup s;
  s.n = x.shape[0];
  s.c = x.shape[1];
  for (size_t i = 2; i < x.shape.size(); ++i) s.d *= x.shape[i];
  s.target_shape = {x.shape[0]};
  s.target_shape.insert(s.target_shape.end(), x.shape.begin() + 2, x.shape.end());
  if (t.shape != s.target_shape) {
    return absl::InvalidArgumentError(absl::StrCat(
        type, ": input '", t_name, "' has shape ", ShapeString(t.shape), ", expected ",
        ShapeString(s.target_shape), " for '", x_name, "' of shape ", ShapeString(x.shape)));
  }
  s.target_int32 = t.dtype == DataType::kInt32;
  if (inputs.size() > 2 && inputs[2].present) {
    const TensorInfo& w = inputs[2];
    if (w.dtype != DataType::kFloat32) {
      return absl::UnimplementedError(absl::StrCat(type, ": unsupported dtype ",
                                                   DataTypeName(w.dtype), " for input '", w_name,
                                                   "' (float32 only)"));
    }
    if (w.shape != Dims{s.c}) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": input '", w_name, "' has shape ",
                                                     ShapeString(w.shape), ", expected [", s.c,
                                                     "] (one weight per class)"));
    }
    s.has_weight = true;
  }
  ENGINE_ASSIGN_OR_RETURN(std::string reduction, attrs.GetString("reduction", "mean"));
  if (reduction == "none") {
    s.reduction = Reduction::kNone;
  } else if (reduction == "sum") {
    s.reduction = Reduction::kSum;
  } else if (reduction == "mean") {
    s.reduction = Reduction::kMean;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(type, ": attribute 'reduction' is '", reduction,
                                                   "', expected 'none', 'sum' or 'mean'"));
  }
  s.has_ignore = attrs.Has("ignore_index");
  if (s.has_ignore) {
    ENGINE_ASSIGN_OR_RETURN(s.ignore_index, attrs.GetInt("ignore_index", 0));
  }
  if (softmax) {
    ENGINE_ASSIGN_OR_RETURN(s.num_outputs, attrs.GetInt("num_outputs", 1));
    if (s.num_outputs != 1 && s.num_outputs != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": attribute 'num_outputs' is ", s.num_outputs, ", must be 1 or 2"));
    }
  }
  return s;
}

std::vector<TensorInfo> LossOutputs(const LossSetup& s, const Dims& input_shape) {
  std::vector<TensorInfo> out{
      MakeInfo(DataType::kFloat32, s.reduction == Reduction::kNone ? s.target_shape : Dims{})};
  if (s.num_outputs == 2) out.push_back(MakeInfo(DataType::kFloat32, input_shape));
  return out;
}

class LossKernel final : public Kernel {
 public:
  LossKernel(bool softmax, std::string type) : softmax_(softmax), type_(std::move(type)) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(s_, ParseLoss(type_, softmax_, attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, LossOutputs(s_, inputs[0].shape), type_));
    positions_ = s_.n * s_.d;
    blocks_ = (positions_ + kBlock - 1) / kBlock;
    return absl::OkStatus();
  }

  // Reductions: a (loss, weight) pair of doubles per block.
  size_t ScratchBytes(int) const override {
    return s_.reduction == Reduction::kNone ? 0 : static_cast<size_t>(blocks_) * 2 * sizeof(double);
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    const void* target = in[1];
    const float* weight = s_.has_weight ? static_cast<const float*>(in[2]) : nullptr;
    float* loss = static_cast<float*>(out[0]);
    float* log_prob = out.size() > 1 ? static_cast<float*>(out[1]) : nullptr;
    auto* partial = reinterpret_cast<double*>(ctx.scratch);
    // Block b: positions [b * kBlock, min(P, (b + 1) * kBlock)).
    auto run = [&](int64_t begin, int64_t end, int) {
      for (int64_t b = begin; b < end; ++b) {
        double loss_sum = 0.0, weight_sum = 0.0;
        const int64_t p_end = std::min(positions_, (b + 1) * kBlock);
        for (int64_t p = b * kBlock; p < p_end; ++p) {
          double l = 0.0, w = 0.0;
          Position(x, target, weight, log_prob, p, &l, &w);
          if (s_.reduction == Reduction::kNone) {
            loss[p] = static_cast<float>(l);
          } else {
            loss_sum += l;
            weight_sum += w;
          }
        }
        if (s_.reduction != Reduction::kNone) {
          partial[2 * b] = loss_sum;
          partial[2 * b + 1] = weight_sum;
        }
      }
    };
    const int64_t work = positions_ * (softmax_ ? std::max<int64_t>(1, s_.c) : 1);
    if (work >= kMinParallelWork) {
      ParallelFor(ctx, blocks_, run);
    } else if (blocks_ > 0) {
      run(0, blocks_, 0);
    }
    if (s_.reduction == Reduction::kNone) return;
    double loss_sum = 0.0, weight_sum = 0.0;
    for (int64_t b = 0; b < blocks_; ++b) {
      loss_sum += partial[2 * b];
      weight_sum += partial[2 * b + 1];
    }
    loss[0] =
        static_cast<float>(s_.reduction == Reduction::kSum ? loss_sum : loss_sum / weight_sum);
  }

 private:
  // Loss and weight of position p = n * d + j; writes the position's
  // log_prob slice when `log_prob` is given (SoftmaxCrossEntropyLoss).
  void Position(const float* x, const void* target, const float* weight, float* log_prob, int64_t p,
                double* l, double* w) const {
    const int64_t n = p / s_.d, j = p % s_.d;
    const int64_t base = n * s_.c * s_.d + j;  // x[n, 0, j]; class stride s_.d
    const int64_t t = s_.target_int32 ? static_cast<const int32_t*>(target)[p]
                                      : static_cast<const int64_t*>(target)[p];
    const bool valid = !(s_.has_ignore && t == s_.ignore_index) && t >= 0 && t < s_.c;
    double lse = 0.0;  // SoftmaxCrossEntropyLoss: log-sum-exp of the slice
    if (softmax_ && s_.c > 0) {
      float mx = x[base];
      for (int64_t k = 1; k < s_.c; ++k) mx = std::max(mx, x[base + k * s_.d]);
      double sum = 0.0;
      for (int64_t k = 0; k < s_.c; ++k) {
        sum += std::exp(static_cast<double>(x[base + k * s_.d]) - mx);
      }
      lse = std::log(sum) + mx;
      if (log_prob != nullptr) {
        for (int64_t k = 0; k < s_.c; ++k) {
          log_prob[base + k * s_.d] =
              static_cast<float>(static_cast<double>(x[base + k * s_.d]) - lse);
        }
      }
    }
    if (!valid) {
      *l = 0.0;
      *w = 0.0;
      return;
    }
    *w = weight != nullptr ? static_cast<double>(weight[t]) : 1.0;
    const double v = static_cast<double>(x[base + t * s_.d]) - lse;
    *l = -v * *w;
  }

  bool softmax_;
  std::string type_;
  LossSetup s_;
  int64_t positions_ = 0;
  int64_t blocks_ = 0;
};

KernelDef MakeLossDef(const std::string& type, bool softmax) {
  KernelDef d;
  d.type = type;
  d.infer = [type, softmax](
                const Attributes& attrs,
                std::span<const TensorInfo> inputs) -> absl::StatusOr<std::vector<TensorInfo>> {
    ENGINE_ASSIGN_OR_RETURN(LossSetup s, ParseLoss(type, softmax, attrs, inputs));
    return LossOutputs(s, inputs[0].shape);
  };
  d.create = [type, softmax] { return std::unique_ptr<Kernel>(new LossKernel(softmax, type)); };
  return d;
}

}  // namespace

KernelDef MakeNegativeLogLikelihoodLossDef() {
  return MakeLossDef("NegativeLogLikelihoodLoss", false);
}

KernelDef MakeSoftmaxCrossEntropyLossDef() { return MakeLossDef("SoftmaxCrossEntropyLoss", true); }

}  // namespace engine::kernels
