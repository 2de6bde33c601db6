// Signal processing and a determinant (ONNX Operators.md, opsets 17-22 for
// the signal ops, 11-22 for Det). All float32; arithmetic in double.
//
// Det: X float32 [*, M, M] -> Y float32 [*], the determinant of each matrix
// by LU decomposition with partial pivoting (an empty matrix, M = 0, has
// determinant 1). Matrices split over threads.
//
// HannWindow, HammingWindow, BlackmanWindow: size (int32 or int64 scalar, a
// build-time constant, else Unimplemented "... must be a constant tensor")
// -> Y [size], output_datatype 1 (float32; others Unimplemented),
// periodic (1): N = size when periodic, size - 1 when symmetric (1 when
// size is 1), and for n in [0, size), phase = 2 pi n / N:
//   Hann:     0.5 - 0.5 cos(phase)
//   Hamming:  25/46 - 21/46 cos(phase)
//   Blackman: 0.42 - 0.5 cos(phase) + 0.08 cos(2 phase)
// size in [0, kMaxSignalLength]. Their inputs are constant, so the layers
// fold at build time.
//
// DFT: input float32 [batch, ..., n, c] (c = 1 real, 2 complex: real then
// imaginary) -> Y float32 [batch, ..., n_out, 2] along attribute `axis`
// (the engine layer always carries it; the importer fills in the opset's
// default or its opset-20 input), with optional dft_length (int scalar,
// constant: the input is truncated or zero-padded to it; default n),
// inverse (0), onesided (0: n_out = dft_length; 1: dft_length / 2 + 1, real
// input only, not with inverse):
//   Y[k] = sum_t X[t] exp(-+ 2 pi i k t / L)  (inverse: + and a 1 / L factor)
// A direct O(L^2) sum per output row with a twiddle table of L entries
// precomputed at Prepare (exact phases k t mod L); rows split over threads.
//
// STFT: signal float32 [batch, length, c] (c = 1 or 2), frame_step (int
// scalar, constant), window (optional float32 [frame_length], read at run
// time), frame_length (optional int scalar, constant; else the window's
// length), onesided (1; real signals only) -> Y float32 [batch, frames,
// bins, 2], frames = (length - frame_length) / frame_step + 1, bins =
// onesided ? frame_length / 2 + 1 : frame_length; each frame multiplied by
// the window, then a DFT of length frame_length. (batch, frame) pairs split
// over threads.
//
// MelWeightMatrix: num_mel_bins, dft_length, sample_rate (int scalars),
// lower_edge_hertz, upper_edge_hertz (float32 scalars), all constants ->
// Y float32 [dft_length / 2 + 1, num_mel_bins]: triangular filters between
// num_mel_bins + 2 points equally spaced on the mel scale (mel = 2595
// log10(1 + hz / 700)), mapped to DFT bins floor((dft_length + 1) * hz /
// sample_rate) (the ONNX reference algorithm). Folds at build time.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

using Infos = std::vector<TensorInfo>;

/// Largest window, DFT or mel-matrix length: tables of this many entries are
/// allocated at Prepare.
constexpr int64_t kMaxSignalLength = int64_t{1} << 24;

// One int value of a constant scalar (or 1-element) integer input.
absl::StatusOr<int64_t> ConstantScalarInt(const TensorInfo& info, const std::string& what) {
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> v, ConstantInts(info, what));
  if (v.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must hold one value, got ", v.size()));
  }
  return v[0];
}

absl::StatusOr<double> ConstantScalarFloat(const TensorInfo& info, const std::string& what) {
  if (!info.present || info.constant == nullptr) {
    return absl::UnimplementedError(absl::StrCat(what, " must be a constant tensor"));
  }
  if (info.constant->dtype() != DataType::kFloat32 || info.constant->num_elements() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be one float32 value, got ",
                                                   DataTypeName(info.constant->dtype()),
                                                   ShapeString(info.constant->shape())));
  }
  return static_cast<double>(*info.constant->data_as<float>());
}

absl::Status CheckLength(int64_t v, const std::string& what, int64_t min) {
  if (v < min || v > kMaxSignalLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " = ", v, " must be in [", min, ", ", kMaxSignalLength, "]"));
  }
  return absl::OkStatus();
}

absl::Status CheckOutputDatatype(const Attributes& attrs, const std::string& type) {
  ENGINE_ASSIGN_OR_RETURN(const int64_t dt, attrs.GetInt("output_datatype", 1));
  if (dt != 1) {
    return absl::UnimplementedError(
        absl::StrCat(type, ": output_datatype ", dt, " is not supported (float32 only)"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Det

absl::StatusOr<Infos> InferDet(const Attributes&, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, "Det"));
  const TensorInfo& x = inputs[0];
  if (x.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(
        absl::StrCat("Det: X must be float32, got ", DataTypeName(x.dtype)));
  }
  const size_t r = x.shape.size();
  if (r < 2 || x.shape[r - 1] != x.shape[r - 2]) {
    return absl::InvalidArgumentError(
        absl::StrCat("Det: X ", ShapeString(x.shape), " must be [*, M, M]"));
  }
  return Infos{MakeInfo(DataType::kFloat32, Dims(x.shape.begin(), x.shape.end() - 2))};
}

class DetKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(Infos out, InferDet(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, out, "Det"));
    m_ = inputs[0].shape.back();
    count_ = NumElements(out[0].shape);
    return absl::OkStatus();
  }

  size_t ScratchBytes(int threads) const override {
    return ScratchLayout{0, static_cast<size_t>(m_ * m_) * sizeof(double)}.Bytes(threads);
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    float* y = static_cast<float*>(out[0]);
    const ScratchLayout layout{0, static_cast<size_t>(m_ * m_) * sizeof(double)};
    ParallelFor(ctx, count_, [&](int64_t begin, int64_t end, int slot) {
      double* a = reinterpret_cast<double*>(layout.Slot(ctx, slot));
      for (int64_t b = begin; b < end; ++b) {
        const float* xb = x + b * m_ * m_;
        for (int64_t i = 0; i < m_ * m_; ++i) a[i] = xb[i];
        double det = 1.0;
        for (int64_t k = 0; k < m_ && det != 0.0; ++k) {
          int64_t piv = k;
          for (int64_t i = k + 1; i < m_; ++i) {
            if (std::fabs(a[i * m_ + k]) > std::fabs(a[piv * m_ + k])) piv = i;
          }
          if (a[piv * m_ + k] == 0.0) {
            det = 0.0;
            break;
          }
          if (piv != k) {
            for (int64_t j = 0; j < m_; ++j) std::swap(a[k * m_ + j], a[piv * m_ + j]);
            det = -det;
          }
          const double d = a[k * m_ + k];
          det *= d;
          for (int64_t i = k + 1; i < m_; ++i) {
            const double f = a[i * m_ + k] / d;
            for (int64_t j = k + 1; j < m_; ++j) a[i * m_ + j] -= f * a[k * m_ + j];
          }
        }
        y[b] = static_cast<float>(det);
      }
    });
  }

 private:
  int64_t m_ = 0, count_ = 0;
};

// ---------------------------------------------------------------------------
// Window generators

struct WindowCoeffs {
  double a0, a1, a2;
};

WindowCoeffs CoeffsOf(const std::string& type) {
  if (type == "HammingWindow") return {25.0 / 46.0, 21.0 / 46.0, 0.0};
  if (type == "BlackmanWindow") return {0.42, 0.5, 0.08};
  return {0.5, 0.5, 0.0};  // HannWindow
}

absl::StatusOr<int64_t> WindowSize(const std::string& type, const Attributes& attrs,
                                   std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, type));
  ENGINE_RETURN_IF_ERROR(CheckOutputDatatype(attrs, type));
  ENGINE_ASSIGN_OR_RETURN(const int64_t size, ConstantScalarInt(inputs[0], type + ": size"));
  ENGINE_RETURN_IF_ERROR(CheckLength(size, type + ": size", 0));
  return size;
}

class WindowKernel final : public Kernel {
 public:
  explicit WindowKernel(std::string type) : type_(std::move(type)) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(size_, WindowSize(type_, attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, {MakeInfo(DataType::kFloat32, {size_})}, type_));
    ENGINE_ASSIGN_OR_RETURN(const int64_t periodic, attrs.GetInt("periodic", 1));
    const int64_t n = periodic != 0 ? size_ : size_ - 1;
    denom_ = static_cast<double>(std::max<int64_t>(n, 1));
    c_ = CoeffsOf(type_);
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const>,
           std::span<void* const> out) const override {
    float* y = static_cast<float*>(out[0]);
    for (int64_t i = 0; i < size_; ++i) {
      const double phase = 2.0 * std::numbers::pi * static_cast<double>(i) / denom_;
      y[i] = static_cast<float>(c_.a0 - c_.a1 * std::cos(phase) + c_.a2 * std::cos(2.0 * phase));
    }
  }

 private:
  std::string type_;
  int64_t size_ = 0;
  double denom_ = 1.0;
  WindowCoeffs c_{};
};

// ---------------------------------------------------------------------------
// DFT / STFT: a twiddle table cos / sin(2 pi m / L), m in [0, L).

struct Twiddles {
  std::vector<double> re, im;
  void Build(int64_t length) {
    re.resize(static_cast<size_t>(length));
    im.resize(static_cast<size_t>(length));
    for (int64_t m = 0; m < length; ++m) {
      const double phase = 2.0 * std::numbers::pi * static_cast<double>(m) /
                           static_cast<double>(length);
      re[static_cast<size_t>(m)] = std::cos(phase);
      im[static_cast<size_t>(m)] = std::sin(phase);
    }
  }
};

struct DftParams {
  int64_t axis = 1;
  int64_t length = 0;  // L
  int64_t used = 0;    // input samples read: min(n, L)
  int64_t bins = 0;    // output length along the axis
  int64_t comps = 1;   // c
  bool inverse = false;
  int64_t outer = 1, inner = 1;  // dims before / after the axis (without c)
  Dims out;
};

absl::StatusOr<DftParams> ParseDft(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 2, "DFT"));
  const TensorInfo& x = inputs[0];
  if (x.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(
        absl::StrCat("DFT: input must be float32, got ", DataTypeName(x.dtype)));
  }
  const int64_t r = static_cast<int64_t>(x.shape.size());
  if (r < 2 || (x.shape.back() != 1 && x.shape.back() != 2)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "DFT: input ", ShapeString(x.shape), " must be [batch, ..., n, 1 or 2] (real or complex)"));
  }
  DftParams p;
  ENGINE_ASSIGN_OR_RETURN(int64_t axis, attrs.GetInt("axis", 1));
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("DFT: axis ", attrs.Int("axis", 1), " is out of range for input ",
                     ShapeString(x.shape), " (the last axis holds the components)"));
  }
  p.axis = axis;
  p.comps = x.shape.back();
  const int64_t n = x.shape[static_cast<size_t>(axis)];
  p.length = n;
  if (inputs.size() >= 2 && inputs[1].present) {
    ENGINE_ASSIGN_OR_RETURN(p.length, ConstantScalarInt(inputs[1], "DFT: dft_length"));
  }
  ENGINE_RETURN_IF_ERROR(CheckLength(p.length, "DFT: dft_length", 1));
  ENGINE_ASSIGN_OR_RETURN(const int64_t inverse, attrs.GetInt("inverse", 0));
  ENGINE_ASSIGN_OR_RETURN(const int64_t onesided, attrs.GetInt("onesided", 0));
  p.inverse = inverse != 0;
  if (onesided != 0 && (p.comps != 1 || p.inverse)) {
    return absl::UnimplementedError(
        "DFT: onesided=1 is supported for the forward transform of a real input only");
  }
  p.used = std::min(n, p.length);
  p.bins = onesided != 0 ? p.length / 2 + 1 : p.length;
  p.out = x.shape;
  p.out[static_cast<size_t>(axis)] = p.bins;
  p.out.back() = 2;
  for (int64_t i = 0; i < axis; ++i) p.outer *= x.shape[static_cast<size_t>(i)];
  for (int64_t i = axis + 1; i < r - 1; ++i) p.inner *= x.shape[static_cast<size_t>(i)];
  return p;
}

absl::StatusOr<Infos> InferDft(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(DftParams p, ParseDft(attrs, inputs));
  return Infos{MakeInfo(DataType::kFloat32, p.out)};
}

// One DFT of `used` samples read at x + t * x_stride (c components each,
// optionally multiplied by window[t]), zero-padded to length L, into `bins`
// complex outputs written at y + k * y_stride. sign: -1 forward, +1 inverse.
void DftRow(const Twiddles& tw, int64_t length, int64_t used, int64_t bins, int64_t comps,
            double sign, double scale, const float* x, int64_t x_stride, const float* window,
            float* y, int64_t y_stride) {
  for (int64_t k = 0; k < bins; ++k) {
    double re = 0.0, im = 0.0;
    int64_t m = 0;  // k * t mod L
    for (int64_t t = 0; t < used; ++t) {
      const float* xt = x + t * x_stride;
      const double w = window != nullptr ? window[t] : 1.0;
      const double xr = xt[0] * w;
      const double xi = comps == 2 ? xt[1] * w : 0.0;
      const double c = tw.re[static_cast<size_t>(m)], s = sign * tw.im[static_cast<size_t>(m)];
      re += xr * c - xi * s;
      im += xr * s + xi * c;
      m += k;
      if (m >= length) m %= length;
    }
    y[k * y_stride] = static_cast<float>(re * scale);
    y[k * y_stride + 1] = static_cast<float>(im * scale);
  }
}

class DftKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseDft(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, {MakeInfo(DataType::kFloat32, p_.out)}, "DFT"));
    n_ = inputs[0].shape[static_cast<size_t>(p_.axis)];
    tw_.Build(p_.length);
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    float* y = static_cast<float*>(out[0]);
    const double sign = p_.inverse ? 1.0 : -1.0;
    const double scale = p_.inverse ? 1.0 / static_cast<double>(p_.length) : 1.0;
    ParallelFor(ctx, p_.outer * p_.inner, [&](int64_t begin, int64_t end, int) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t o = row / p_.inner, i = row % p_.inner;
        const float* xr = x + (o * n_ * p_.inner + i) * p_.comps;
        float* yr = y + (o * p_.bins * p_.inner + i) * 2;
        DftRow(tw_, p_.length, p_.used, p_.bins, p_.comps, sign, scale, xr, p_.inner * p_.comps,
               nullptr, yr, p_.inner * 2);
      }
    });
  }

 private:
  DftParams p_;
  int64_t n_ = 0;
  Twiddles tw_;
};

struct StftParams {
  int64_t batch = 0, length = 0, comps = 1;
  int64_t step = 1, frame = 0, frames = 0, bins = 0;
  bool window = false;
};

absl::StatusOr<StftParams> ParseStft(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 4, "STFT"));
  const TensorInfo& x = inputs[0];
  if (x.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(
        absl::StrCat("STFT: signal must be float32, got ", DataTypeName(x.dtype)));
  }
  if (x.shape.size() != 3 || (x.shape[2] != 1 && x.shape[2] != 2)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "STFT: signal ", ShapeString(x.shape), " must be [batch, length, 1 or 2]"));
  }
  StftParams p;
  p.batch = x.shape[0];
  p.length = x.shape[1];
  p.comps = x.shape[2];
  ENGINE_ASSIGN_OR_RETURN(p.step, ConstantScalarInt(inputs[1], "STFT: frame_step"));
  ENGINE_RETURN_IF_ERROR(CheckLength(p.step, "STFT: frame_step", 1));
  p.window = inputs.size() >= 3 && inputs[2].present;
  const bool has_length = inputs.size() >= 4 && inputs[3].present;
  if (p.window) {
    const TensorInfo& w = inputs[2];
    if (w.dtype != DataType::kFloat32 || w.shape.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat("STFT: window must be float32 [frame_length], got ",
                                                     DataTypeName(w.dtype), ShapeString(w.shape)));
    }
    p.frame = w.shape[0];
  }
  if (has_length) {
    ENGINE_ASSIGN_OR_RETURN(const int64_t fl, ConstantScalarInt(inputs[3], "STFT: frame_length"));
    if (p.window && fl != p.frame) {
      return absl::InvalidArgumentError(absl::StrCat("STFT: frame_length ", fl,
                                                     " differs from the window's length ", p.frame));
    }
    p.frame = fl;
  } else if (!p.window) {
    return absl::InvalidArgumentError("STFT: one of window and frame_length must be given");
  }
  ENGINE_RETURN_IF_ERROR(CheckLength(p.frame, "STFT: frame_length", 1));
  if (p.frame > p.length) {
    return absl::InvalidArgumentError(absl::StrCat("STFT: frame_length ", p.frame,
                                                   " exceeds the signal length ", p.length));
  }
  ENGINE_ASSIGN_OR_RETURN(const int64_t onesided, attrs.GetInt("onesided", 1));
  if (onesided != 0 && p.comps != 1) {
    return absl::InvalidArgumentError("STFT: onesided=1 needs a real signal (last dimension 1)");
  }
  p.frames = (p.length - p.frame) / p.step + 1;
  p.bins = onesided != 0 ? p.frame / 2 + 1 : p.frame;
  return p;
}

absl::StatusOr<Infos> InferStft(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(StftParams p, ParseStft(attrs, inputs));
  return Infos{MakeInfo(DataType::kFloat32, {p.batch, p.frames, p.bins, 2})};
}

class StftKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseStft(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(
        outputs, {MakeInfo(DataType::kFloat32, {p_.batch, p_.frames, p_.bins, 2})}, "STFT"));
    tw_.Build(p_.frame);
    return absl::OkStatus();
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    const float* window = p_.window ? static_cast<const float*>(in[2]) : nullptr;
    float* y = static_cast<float*>(out[0]);
    ParallelFor(ctx, p_.batch * p_.frames, [&](int64_t begin, int64_t end, int) {
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / p_.frames, f = task % p_.frames;
        const float* xf = x + (b * p_.length + f * p_.step) * p_.comps;
        float* yf = y + task * p_.bins * 2;
        DftRow(tw_, p_.frame, p_.frame, p_.bins, p_.comps, -1.0, 1.0, xf, p_.comps, window, yf, 2);
      }
    });
  }

 private:
  StftParams p_;
  Twiddles tw_;
};

// ---------------------------------------------------------------------------
// MelWeightMatrix

struct MelParams {
  int64_t mel_bins = 0, dft_length = 0, sample_rate = 0;
  double lower = 0, upper = 0;
};

absl::StatusOr<MelParams> ParseMel(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 5, 5, "MelWeightMatrix"));
  ENGINE_RETURN_IF_ERROR(CheckOutputDatatype(attrs, "MelWeightMatrix"));
  MelParams p;
  ENGINE_ASSIGN_OR_RETURN(p.mel_bins, ConstantScalarInt(inputs[0], "MelWeightMatrix: num_mel_bins"));
  ENGINE_ASSIGN_OR_RETURN(p.dft_length, ConstantScalarInt(inputs[1], "MelWeightMatrix: dft_length"));
  ENGINE_ASSIGN_OR_RETURN(p.sample_rate,
                          ConstantScalarInt(inputs[2], "MelWeightMatrix: sample_rate"));
  ENGINE_ASSIGN_OR_RETURN(p.lower, ConstantScalarFloat(inputs[3], "MelWeightMatrix: lower_edge_hertz"));
  ENGINE_ASSIGN_OR_RETURN(p.upper, ConstantScalarFloat(inputs[4], "MelWeightMatrix: upper_edge_hertz"));
  ENGINE_RETURN_IF_ERROR(CheckLength(p.mel_bins, "MelWeightMatrix: num_mel_bins", 1));
  ENGINE_RETURN_IF_ERROR(CheckLength(p.dft_length, "MelWeightMatrix: dft_length", 1));
  if (p.sample_rate < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("MelWeightMatrix: sample_rate = ", p.sample_rate, " must be positive"));
  }
  if ((p.dft_length / 2 + 1) * p.mel_bins > kMaxSignalLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MelWeightMatrix: the matrix of ", p.dft_length / 2 + 1, " x ", p.mel_bins,
        " exceeds ", kMaxSignalLength, " elements"));
  }
  if (!(p.lower >= 0) || !(p.upper > p.lower) || !std::isfinite(p.upper)) {
    return absl::InvalidArgumentError(absl::StrCat("MelWeightMatrix: edges [", p.lower, ", ",
                                                   p.upper, "] Hz must satisfy 0 <= lower < upper"));
  }
  return p;
}

absl::StatusOr<Infos> InferMel(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(MelParams p, ParseMel(attrs, inputs));
  return Infos{MakeInfo(DataType::kFloat32, {p.dft_length / 2 + 1, p.mel_bins})};
}

class MelWeightMatrixKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseMel(attrs, inputs));
    rows_ = p_.dft_length / 2 + 1;
    ENGINE_RETURN_IF_ERROR(CheckOutputs(
        outputs, {MakeInfo(DataType::kFloat32, {rows_, p_.mel_bins})}, "MelWeightMatrix"));
    // Filter edges as DFT bins. The mel edges are float32 (as the reference
    // computes them from float32 inputs), the rest double.
    const float low_mel = 2595.0f * std::log10(1.0f + static_cast<float>(p_.lower) / 700.0f);
    const float high_mel = 2595.0f * std::log10(1.0f + static_cast<float>(p_.upper) / 700.0f);
    const float step = (high_mel - low_mel) / static_cast<float>(p_.mel_bins + 2);
    edges_.resize(static_cast<size_t>(p_.mel_bins + 2));
    for (int64_t i = 0; i < p_.mel_bins + 2; ++i) {
      const double mel = static_cast<double>(i) * static_cast<double>(step) + low_mel;
      const double hz = 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
      const double bin = std::floor(static_cast<double>(p_.dft_length + 1) * hz /
                                    static_cast<double>(p_.sample_rate));
      edges_[static_cast<size_t>(i)] = static_cast<int64_t>(std::clamp(bin, 0.0, 1e15));
    }
    return absl::OkStatus();
  }

  void Run(const RunContext&, std::span<const void* const>,
           std::span<void* const> out) const override {
    float* y = static_cast<float*>(out[0]);
    const int64_t cols = p_.mel_bins;
    std::fill_n(y, rows_ * cols, 0.0f);
    auto set = [&](int64_t j, int64_t i, double v) {
      if (j >= 0 && j < rows_) y[j * cols + i] = static_cast<float>(v);
    };
    for (int64_t i = 0; i < cols; ++i) {
      const int64_t lo = edges_[static_cast<size_t>(i)];
      const int64_t center = edges_[static_cast<size_t>(i + 1)];
      const int64_t hi = edges_[static_cast<size_t>(i + 2)];
      const int64_t up = center - lo;
      if (up == 0) {
        set(center, i, 1.0);
      } else {
        for (int64_t j = std::max<int64_t>(lo, 0); j <= std::min(center, rows_ - 1); ++j) {
          set(j, i, static_cast<double>(j - lo) / static_cast<double>(up));
        }
      }
      const int64_t down = hi - center;
      if (down > 0) {
        for (int64_t j = std::max<int64_t>(center, 0); j < std::min(hi, rows_); ++j) {
          set(j, i, static_cast<double>(hi - j) / static_cast<double>(down));
        }
      }
    }
  }

 private:
  MelParams p_;
  int64_t rows_ = 0;
  std::vector<int64_t> edges_;
};

}  // namespace

KernelDef MakeDetDef() { return MakeDef<DetKernel>("Det", InferDet); }

KernelDef MakeWindowDef(const std::string& type) {
  KernelDef def;
  def.type = type;
  def.infer = [type](const Attributes& attrs,
                     std::span<const TensorInfo> inputs) -> absl::StatusOr<Infos> {
    ENGINE_ASSIGN_OR_RETURN(const int64_t size, WindowSize(type, attrs, inputs));
    return Infos{MakeInfo(DataType::kFloat32, {size})};
  };
  def.create = [type] { return std::unique_ptr<Kernel>(new WindowKernel(type)); };
  return def;
}

KernelDef MakeDftDef() { return MakeDef<DftKernel>("DFT", InferDft); }

KernelDef MakeStftDef() { return MakeDef<StftKernel>("STFT", InferStft); }

KernelDef MakeMelWeightMatrixDef() {
  return MakeDef<MelWeightMatrixKernel>("MelWeightMatrix", InferMel);
}

}  // namespace engine::kernels
