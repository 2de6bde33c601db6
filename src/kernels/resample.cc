// Resampling and space/depth rearrangements: Resize, DepthToSpace,
// SpaceToDepth (ONNX Operators.md; opset 19 semantics for Resize, covering
// the forms of opsets 10-18).
//
// Resize: Y = resize(X) with
//   X     any rank >= 1; float32 for linear and cubic, any dtype for nearest
//         (it is a gather: int8 passes through the INT8 engine unchanged)
//   roi   optional float32 [2 * |axes|] (starts, then ends), used only by
//         coordinate_transformation_mode tf_crop_and_resize
//   scales optional float32 [|axes|], or sizes optional int64 [|axes|]
//         (exactly one of them non-empty); both must be build-time constants
//         (no dynamic shapes): a non-constant one is Unimplemented ("... must
//         be a constant tensor").
// Attributes: mode (nearest | linear | cubic), coordinate_transformation_mode
// (half_pixel, half_pixel_symmetric, pytorch_half_pixel, align_corners,
// asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize), nearest_mode
// (round_prefer_floor, round_prefer_ceil, floor, ceil; and the engine's
// "simple", see below), cubic_coeff_a (-0.75), exclude_outside (0),
// extrapolation_value (0), axes (opset 18), keep_aspect_ratio_policy (opset
// 18: stretch, not_larger, not_smaller), antialias (opset 18: only 0, or 1
// where it has no effect: nearest, or no axis downsampled).
//
// Output size per resized axis: sizes[i], or floor(in * scale) (ONNX
// reference and ONNX Runtime; roi does not enter). With
// keep_aspect_ratio_policy not_larger / not_smaller, one scale s = min / max
// of sizes[i] / in[i] over `axes` is used and out = round_half_even(s * in).
//
// Coordinates (x = output index, s = scale, L = in * s, the "resized length",
// which is the output size when sizes are given):
//   half_pixel:           (x + 0.5) / s - 0.5
//   half_pixel_symmetric: in/2 * (1 - out / L) + (x + 0.5) / s - 0.5
//   pytorch_half_pixel:   out > 1 ? (x + 0.5) / s - 0.5 : 0
//   align_corners:        L == 1 ? 0 : x * (in - 1) / (L - 1)
//   asymmetric:           x / s
//   tf_half_pixel_for_nn: (x + 0.5) / s
//   tf_crop_and_resize:   out > 1 ? start * (in - 1) + x * (end - start) * (in - 1) / (out - 1)
//                                 : (start + end) / 2 * (in - 1);
//                         outside [0, in - 1] the element is extrapolation_value.
// Interpolation (onnx/reference/ops/op_resize.py): nearest rounds the
// coordinate by nearest_mode and clamps it to [0, in - 1]; linear weighs the
// two neighbours floor(c), floor(c) + 1 by (1 - r, r), r = c - floor(c); cubic
// the four floor(c) - 1 .. floor(c) + 2 by Keys' kernel with a =
// cubic_coeff_a. Neighbours outside the input repeat its edge, or with
// exclude_outside get weight 0 (the others renormalized to sum 1).
//
// "simple" nearest mode (engine extension, set by the importer for models
// written at opset <= 10, Upsample and Resize-10, whose only coordinate
// transformation is asymmetric): floor on an upsampled axis, ceil on a
// downsampled one, as ONNX Runtime computes those versions.
//
// Implementation: per-axis tap tables (input index and weight for each output
// index) built at Prepare. Nearest gathers rows with offset tables; linear and
// cubic are separable: one pass per resized axis (downsampled axes first, so
// intermediate tensors stay small), each output element a fixed-order sum of
// its taps, then tf_crop_and_resize's extrapolated elements are overwritten.
// Passes split their rows over the threads; every element is computed the
// same way whatever the split, so outputs do not depend on the thread count.
//
// DepthToSpace (blocksize b, mode DCR | CRD) and SpaceToDepth (blocksize b):
// X [N, C, H, W], any dtype; pure permutations (ONNX's reshape-transpose-
// reshape definitions):
//   DepthToSpace DCR: Y[n, c, h*b + i, w*b + j] = X[n, (i*b + j) * C/b^2 + c, h, w]
//   DepthToSpace CRD: Y[n, c, h*b + i, w*b + j] = X[n, c * b^2 + i*b + j, h, w]
//   SpaceToDepth:     Y[n, (i*b + j) * C + c, h, w] = X[n, c, h*b + i, w*b + j]
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

enum class ResizeMode { kNearest, kLinear, kCubic };
enum class Ctm {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};
enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

// Everything derived from the attributes and the (constant) inputs; one
// entry per input axis (axes outside `axes` have scale 1, roi [0, 1]).
struct ResizeParams {
  ResizeMode mode = ResizeMode::kNearest;
  Ctm ctm = Ctm::kHalfPixel;
  NearestMode nearest = NearestMode::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  float extrapolation = 0.0f;
  DataType dtype = DataType::kFloat32;
  Dims in, out;
  std::vector<double> scale;       // per axis
  std::vector<double> length;      // resized length L = in * scale (out for sizes)
  std::vector<double> roi_start, roi_end;
  std::vector<bool> resized;       // axis in `axes`
};

// An optional 1-D input: absent, empty (0 elements, the opset-11 way of
// omitting scales), or a constant. `what` names it in errors.
bool IsEmptyInput(std::span<const TensorInfo> inputs, size_t i) {
  if (i >= inputs.size() || !inputs[i].present) return true;
  return NumElements(inputs[i].shape) == 0;
}

absl::StatusOr<std::vector<double>> ConstantFloats(const TensorInfo& t, const std::string& what) {
  if (t.constant == nullptr) {
    return absl::UnimplementedError(absl::StrCat(what, " must be a constant tensor"));
  }
  std::vector<double> v(static_cast<size_t>(t.constant->num_elements()));
  switch (t.constant->dtype()) {
    case DataType::kFloat32: {
      const float* p = t.constant->data_as<float>();
      for (size_t i = 0; i < v.size(); ++i) v[i] = p[i];
      break;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(what, " must be float32, got ", DataTypeName(t.constant->dtype())));
  }
  return v;
}

absl::StatusOr<ResizeParams> ParseResize(const Attributes& attrs,
                                         std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 4, "Resize"));
  ResizeParams p;
  const TensorInfo& x = inputs[0];
  p.dtype = x.dtype;
  p.in = x.shape;
  const size_t rank = x.shape.size();
  if (rank == 0) return absl::InvalidArgumentError("Resize: X must have rank >= 1");

  ENGINE_ASSIGN_OR_RETURN(const std::string mode, attrs.GetString("mode", "nearest"));
  if (mode == "nearest") {
    p.mode = ResizeMode::kNearest;
  } else if (mode == "linear" || mode == "bilinear" || mode == "trilinear") {
    p.mode = ResizeMode::kLinear;
  } else if (mode == "cubic" || mode == "bicubic") {
    p.mode = ResizeMode::kCubic;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("Resize: unknown mode '", mode, "'"));
  }
  ENGINE_ASSIGN_OR_RETURN(const std::string ctm,
                          attrs.GetString("coordinate_transformation_mode", "half_pixel"));
  if (ctm == "half_pixel") p.ctm = Ctm::kHalfPixel;
  else if (ctm == "half_pixel_symmetric") p.ctm = Ctm::kHalfPixelSymmetric;
  else if (ctm == "pytorch_half_pixel") p.ctm = Ctm::kPytorchHalfPixel;
  else if (ctm == "align_corners") p.ctm = Ctm::kAlignCorners;
  else if (ctm == "asymmetric") p.ctm = Ctm::kAsymmetric;
  else if (ctm == "tf_half_pixel_for_nn") p.ctm = Ctm::kTfHalfPixelForNn;
  else if (ctm == "tf_crop_and_resize") p.ctm = Ctm::kTfCropAndResize;
  else {
    return absl::InvalidArgumentError(
        absl::StrCat("Resize: unknown coordinate_transformation_mode '", ctm, "'"));
  }
  ENGINE_ASSIGN_OR_RETURN(const std::string nm,
                          attrs.GetString("nearest_mode", "round_prefer_floor"));
  if (nm == "round_prefer_floor") p.nearest = NearestMode::kRoundPreferFloor;
  else if (nm == "round_prefer_ceil") p.nearest = NearestMode::kRoundPreferCeil;
  else if (nm == "floor") p.nearest = NearestMode::kFloor;
  else if (nm == "ceil") p.nearest = NearestMode::kCeil;
  else if (nm == "simple") p.nearest = NearestMode::kSimple;
  else {
    return absl::InvalidArgumentError(absl::StrCat("Resize: unknown nearest_mode '", nm, "'"));
  }
  ENGINE_ASSIGN_OR_RETURN(const float a, attrs.GetFloat("cubic_coeff_a", -0.75f));
  p.cubic_a = a;
  ENGINE_ASSIGN_OR_RETURN(const int64_t excl, attrs.GetInt("exclude_outside", 0));
  p.exclude_outside = excl != 0;
  ENGINE_ASSIGN_OR_RETURN(p.extrapolation, attrs.GetFloat("extrapolation_value", 0.0f));
  ENGINE_ASSIGN_OR_RETURN(const std::string policy,
                          attrs.GetString("keep_aspect_ratio_policy", "stretch"));
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller") {
    return absl::InvalidArgumentError(
        absl::StrCat("Resize: unknown keep_aspect_ratio_policy '", policy, "'"));
  }
  if (p.mode != ResizeMode::kNearest && x.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(absl::StrCat("Resize: mode '", mode,
                                                 "' supports float32 only, got ",
                                                 DataTypeName(x.dtype)));
  }
  if (x.dtype == DataType::kUndefined) {
    return absl::InvalidArgumentError("Resize: X has no dtype");
  }
  if (x.dtype == DataType::kFloat16 && p.ctm == Ctm::kTfCropAndResize &&
      p.extrapolation != 0.0f) {
    return absl::UnimplementedError(
        "Resize: a nonzero extrapolation_value with float16 X is not supported");
  }

  // axes (opset 18): the axes that scales / sizes / roi describe.
  std::vector<int64_t> axes;
  if (attrs.Has("axes")) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> raw, attrs.GetInts("axes", {}));
    for (int64_t ax : raw) {
      ENGINE_ASSIGN_OR_RETURN(const int64_t n, NormalizeAxis(ax, static_cast<int64_t>(rank)));
      if (std::find(axes.begin(), axes.end(), n) != axes.end()) {
        return absl::InvalidArgumentError(absl::StrCat("Resize: axes repeats axis ", ax));
      }
      axes.push_back(n);
    }
  } else {
    axes.resize(rank);
    std::iota(axes.begin(), axes.end(), 0);
  }
  const size_t na = axes.size();
  p.scale.assign(rank, 1.0);
  p.roi_start.assign(rank, 0.0);
  p.roi_end.assign(rank, 1.0);
  p.resized.assign(rank, false);
  for (int64_t ax : axes) p.resized[static_cast<size_t>(ax)] = true;

  if (p.ctm == Ctm::kTfCropAndResize && !IsEmptyInput(inputs, 1)) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<double> roi, ConstantFloats(inputs[1], "Resize: roi"));
    if (roi.size() != 2 * na) {
      return absl::InvalidArgumentError(absl::StrCat("Resize: roi has ", roi.size(),
                                                     " values, expected 2 * ", na));
    }
    for (size_t i = 0; i < na; ++i) {
      p.roi_start[static_cast<size_t>(axes[i])] = roi[i];
      p.roi_end[static_cast<size_t>(axes[i])] = roi[na + i];
    }
  }
  const bool has_scales = !IsEmptyInput(inputs, 2);
  const bool has_sizes = !IsEmptyInput(inputs, 3);
  if (has_scales == has_sizes) {
    return absl::InvalidArgumentError(
        has_scales ? "Resize: only one of scales and sizes may be given"
                   : "Resize: one of scales and sizes must be given");
  }
  p.out = p.in;
  p.length.assign(rank, 0.0);
  for (size_t i = 0; i < rank; ++i) p.length[i] = static_cast<double>(p.in[i]);
  if (has_scales) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<double> s, ConstantFloats(inputs[2], "Resize: scales"));
    if (s.size() != na) {
      return absl::InvalidArgumentError(absl::StrCat("Resize: scales has ", s.size(),
                                                     " values for ", na, " axes"));
    }
    for (size_t i = 0; i < na; ++i) {
      const size_t ax = static_cast<size_t>(axes[i]);
      if (!(s[i] > 0) || !std::isfinite(s[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("Resize: scales[", i, "] = ", s[i], " must be positive"));
      }
      p.scale[ax] = s[i];
      p.length[ax] = static_cast<double>(p.in[ax]) * s[i];
      // float32 product as ONNX Runtime computes it, then truncated.
      const double o = std::floor(static_cast<double>(static_cast<float>(s[i]) *
                                                      static_cast<float>(p.in[ax])));
      if (o > static_cast<double>(int64_t{1} << 40)) {
        return absl::InvalidArgumentError("Resize: output dimension too large");
      }
      p.out[ax] = static_cast<int64_t>(o);
    }
  } else {
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> sz, ConstantInts(inputs[3], "Resize: sizes"));
    if (sz.size() != na) {
      return absl::InvalidArgumentError(absl::StrCat("Resize: sizes has ", sz.size(),
                                                     " values for ", na, " axes"));
    }
    for (size_t i = 0; i < na; ++i) {
      if (sz[i] < 0 || sz[i] > (int64_t{1} << 40)) {
        return absl::InvalidArgumentError(absl::StrCat("Resize: sizes[", i, "] = ", sz[i],
                                                       " is out of range"));
      }
    }
    if (policy != "stretch") {
      double s = policy == "not_larger" ? 1e300 : 0.0;
      for (size_t i = 0; i < na; ++i) {
        const double r = static_cast<double>(sz[i]) /
                         static_cast<double>(p.in[static_cast<size_t>(axes[i])]);
        s = policy == "not_larger" ? std::min(s, r) : std::max(s, r);
      }
      for (size_t i = 0; i < na; ++i) {
        const size_t ax = static_cast<size_t>(axes[i]);
        p.scale[ax] = s;
        p.out[ax] = static_cast<int64_t>(std::nearbyint(s * static_cast<double>(p.in[ax])));
        p.length[ax] = s * static_cast<double>(p.in[ax]);
      }
    } else {
      for (size_t i = 0; i < na; ++i) {
        const size_t ax = static_cast<size_t>(axes[i]);
        p.out[ax] = sz[i];
        p.scale[ax] = static_cast<double>(sz[i]) / static_cast<double>(p.in[ax]);
        p.length[ax] = static_cast<double>(sz[i]);
      }
    }
  }
  for (size_t i = 0; i < rank; ++i) {
    if (p.in[i] == 0 && p.out[i] != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Resize: cannot resize the empty axis ", i, " of X ", ShapeString(p.in)));
    }
  }
  ENGINE_ASSIGN_OR_RETURN(const int64_t antialias, attrs.GetInt("antialias", 0));
  if (antialias != 0 && p.mode != ResizeMode::kNearest) {
    for (size_t i = 0; i < rank; ++i) {
      if (p.scale[i] < 1.0) {
        return absl::UnimplementedError(
            "Resize: antialias=1 with a downsampled axis is not supported");
      }
    }
  }
  return p;
}

// The input coordinate of output index x on axis `a`; *outside is set for
// tf_crop_and_resize coordinates outside [0, in - 1].
double OriginalCoordinate(const ResizeParams& p, size_t a, int64_t xi, bool* outside) {
  const double x = static_cast<double>(xi);
  const double s = p.scale[a];
  const double in = static_cast<double>(p.in[a]);
  const int64_t out = p.out[a];
  *outside = false;
  switch (p.ctm) {
    case Ctm::kHalfPixel: return (x + 0.5) / s - 0.5;
    case Ctm::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(out) / p.length[a];
      const double center = in / 2;
      return center * (1 - adjustment) + (x + 0.5) / s - 0.5;
    }
    case Ctm::kPytorchHalfPixel: return out > 1 ? (x + 0.5) / s - 0.5 : 0.0;
    case Ctm::kAlignCorners:
      return p.length[a] == 1.0 ? 0.0 : x * (in - 1) / (p.length[a] - 1);
    case Ctm::kAsymmetric: return x / s;
    case Ctm::kTfHalfPixelForNn: return (x + 0.5) / s;
    case Ctm::kTfCropAndResize: {
      const double st = p.roi_start[a], en = p.roi_end[a];
      const double c = out > 1 ? st * (in - 1) + x * (en - st) * (in - 1) / static_cast<double>(out - 1)
                               : 0.5 * (st + en) * (in - 1);
      *outside = c < 0 || c > in - 1;
      return c;
    }
  }
  return 0;
}

int64_t NearestIndex(const ResizeParams& p, size_t a, double c) {
  const double f = std::floor(c);
  const double r = c - f;
  double idx = c;
  switch (p.nearest) {
    case NearestMode::kRoundPreferFloor: idx = r <= 0.5 ? f : f + 1; break;
    case NearestMode::kRoundPreferCeil: idx = r < 0.5 ? f : f + 1; break;
    case NearestMode::kFloor: idx = f; break;
    case NearestMode::kCeil: idx = std::ceil(c); break;
    case NearestMode::kSimple: idx = p.scale[a] < 1.0 ? std::ceil(c) : f; break;
  }
  return std::clamp<int64_t>(static_cast<int64_t>(idx), 0, p.in[a] - 1);
}

// Keys' cubic convolution weights of the neighbours floor(c) - 1 .. + 2 at
// fraction r (onnx reference _cubic_coeffs).
std::array<double, 4> CubicCoeffs(double r, double A) {
  auto far = [A](double t) { return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A; };  // 1 < t < 2
  auto near = [A](double t) { return ((A + 2) * t - (A + 3)) * t * t + 1; };       // t <= 1
  return {far(r + 1), near(r), near(1 - r), far(2 - r)};
}

// One separable interpolation pass: for each output index j of `axis`,
// taps idx[j*n + t] with weights w[j*n + t].
struct Pass {
  size_t axis = 0;
  int n = 1;
  std::vector<int64_t> idx;
  std::vector<float> w;
};

// Generic element copy of `size` bytes.
inline void CopyElem(std::byte* dst, const std::byte* src, size_t size) {
  switch (size) {
    case 1: *dst = *src; break;
    case 2: std::memcpy(dst, src, 2); break;
    case 4: std::memcpy(dst, src, 4); break;
    case 8: std::memcpy(dst, src, 8); break;
    default: std::memcpy(dst, src, size);
  }
}

class ResizeKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseResize(attrs, inputs));
    ENGINE_RETURN_IF_ERROR(
        CheckOutputs(outputs, {MakeInfo(p_.dtype, p_.out)}, "Resize"));
    elem_ = DataTypeSize(p_.dtype);
    const size_t rank = p_.in.size();
    out_elements_ = NumElements(p_.out);
    outside_.assign(rank, {});
    any_outside_ = false;
    for (size_t a = 0; a < rank; ++a) {
      outside_[a].assign(static_cast<size_t>(p_.out[a]), 0);
      for (int64_t j = 0; j < p_.out[a]; ++j) {
        bool o = false;
        OriginalCoordinate(p_, a, j, &o);
        outside_[a][static_cast<size_t>(j)] = o ? 1 : 0;
        any_outside_ |= o;
      }
    }
    // Fill value for extrapolated elements, in X's dtype.
    fill_.fill(std::byte{0});
    StoreAs(p_.dtype, p_.extrapolation, fill_.data());

    const std::vector<int64_t> in_strides = RowMajorStrides(p_.in);
    if (p_.mode == ResizeMode::kNearest) {
      table_.assign(rank, {});
      for (size_t a = 0; a < rank; ++a) {
        table_[a].resize(static_cast<size_t>(p_.out[a]));
        for (int64_t j = 0; j < p_.out[a]; ++j) {
          bool o = false;
          const double c = OriginalCoordinate(p_, a, j, &o);
          table_[a][static_cast<size_t>(j)] = NearestIndex(p_, a, c) * in_strides[a];
        }
      }
      return absl::OkStatus();
    }
    // Linear / cubic: one pass per axis whose taps are not the identity.
    passes_.clear();
    const int n = p_.mode == ResizeMode::kLinear ? 2 : 4;
    for (size_t a = 0; a < rank; ++a) {
      Pass pass;
      pass.axis = a;
      pass.n = n;
      const int64_t in = p_.in[a];
      bool identity = p_.out[a] == in;
      for (int64_t j = 0; j < p_.out[a]; ++j) {
        bool o = false;
        const double c = OriginalCoordinate(p_, a, j, &o);
        const double f = std::floor(c);
        const double r = c - f;
        std::array<double, 4> w{};
        if (n == 2) {
          w = {1 - r, r, 0, 0};
        } else {
          w = CubicCoeffs(r, p_.cubic_a);
        }
        const int64_t first = static_cast<int64_t>(f) - (n == 4 ? 1 : 0);
        double sum = 0;
        for (int t = 0; t < n; ++t) {
          const int64_t i = first + t;
          if (p_.exclude_outside && (i < 0 || i >= in)) w[static_cast<size_t>(t)] = 0;
          sum += w[static_cast<size_t>(t)];
        }
        for (int t = 0; t < n; ++t) {
          double wt = w[static_cast<size_t>(t)];
          if (p_.exclude_outside && sum != 0) wt /= sum;
          const int64_t i = std::clamp<int64_t>(first + t, 0, in - 1);
          pass.idx.push_back(i);
          pass.w.push_back(static_cast<float>(wt));
          const bool tap_identity = wt == 0.0 || (i == j && wt == 1.0);
          identity &= tap_identity;
        }
      }
      if (!identity) passes_.push_back(std::move(pass));
    }
    // Downsampled axes first (smaller intermediates); ties: innermost first.
    std::stable_sort(passes_.begin(), passes_.end(), [&](const Pass& x, const Pass& y) {
      const double rx = static_cast<double>(p_.out[x.axis]) / static_cast<double>(p_.in[x.axis]);
      const double ry = static_cast<double>(p_.out[y.axis]) / static_cast<double>(p_.in[y.axis]);
      if (rx != ry) return rx < ry;
      return x.axis > y.axis;
    });
    // Intermediate sizes (all but the last pass write to the scratch).
    buffer_elems_ = 0;
    Dims cur = p_.in;
    for (size_t i = 0; i < passes_.size(); ++i) {
      cur[passes_[i].axis] = p_.out[passes_[i].axis];
      if (i + 1 < passes_.size()) buffer_elems_ = std::max(buffer_elems_, NumElements(cur));
    }
    return absl::OkStatus();
  }

  size_t ScratchBytes(int) const override {
    return ScratchLayout::Align(static_cast<size_t>(buffer_elems_) * sizeof(float)) * 2;
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    if (out_elements_ == 0) return;
    if (p_.mode == ResizeMode::kNearest) {
      RunNearest(ctx, static_cast<const std::byte*>(in[0]), static_cast<std::byte*>(out[0]));
      return;
    }
    const float* src = static_cast<const float*>(in[0]);
    float* y = static_cast<float*>(out[0]);
    if (passes_.empty()) {
      std::memcpy(y, src, static_cast<size_t>(out_elements_) * sizeof(float));
    } else {
      float* buf[2] = {
          reinterpret_cast<float*>(ctx.scratch),
          reinterpret_cast<float*>(
              ctx.scratch + ScratchLayout::Align(static_cast<size_t>(buffer_elems_) * sizeof(float)))};
      Dims cur = p_.in;
      for (size_t i = 0; i < passes_.size(); ++i) {
        float* dst = i + 1 == passes_.size() ? y : buf[i % 2];
        RunPass(ctx, passes_[i], cur, src, dst);
        cur[passes_[i].axis] = p_.out[passes_[i].axis];
        src = dst;
      }
    }
    if (any_outside_) Extrapolate(ctx, reinterpret_cast<std::byte*>(y));
  }

 private:
  static void StoreAs(DataType t, float v, std::byte* dst) {
    auto put = [&](auto value) { std::memcpy(dst, &value, sizeof(value)); };
    switch (t) {
      case DataType::kFloat32: put(v); break;
      case DataType::kInt8: put(static_cast<int8_t>(v)); break;
      case DataType::kUint8: put(static_cast<uint8_t>(v)); break;
      case DataType::kInt32: put(static_cast<int32_t>(v)); break;
      case DataType::kInt64: put(static_cast<int64_t>(v)); break;
      case DataType::kBool: put(static_cast<uint8_t>(v != 0)); break;
      default: break;  // zero bits
    }
  }

  // Calls f(row, first) for each output row (all axes but the last) in
  // [begin, end): `first` is the input offset of its outer coordinates, or -1
  // when one of them is extrapolated.
  template <typename F>
  void ForRows(int64_t begin, int64_t end, const F& f) const {
    const size_t rank = p_.out.size();
    for (int64_t row = begin; row < end; ++row) {
      int64_t rest = row, offset = 0;
      bool outside = false;
      for (size_t a = rank - 1; a-- > 0;) {
        const int64_t j = rest % p_.out[a];
        rest /= p_.out[a];
        if (!table_.empty()) offset += table_[a][static_cast<size_t>(j)];
        outside |= outside_[a][static_cast<size_t>(j)] != 0;
      }
      f(row, outside ? -1 : offset);
    }
  }

  void RunNearest(const RunContext& ctx, const std::byte* x, std::byte* y) const {
    const size_t last = p_.out.size() - 1;
    const int64_t w = p_.out[last];
    const int64_t rows = out_elements_ / w;
    const std::vector<int64_t>& tl = table_[last];
    const std::vector<uint8_t>& ol = outside_[last];
    const size_t e = elem_;
    ParallelFor(ctx, rows, [&](int64_t begin, int64_t end, int) {
      ForRows(begin, end, [&](int64_t row, int64_t first) {
        std::byte* dst = y + static_cast<size_t>(row * w) * e;
        for (int64_t i = 0; i < w; ++i) {
          const bool outside = first < 0 || ol[static_cast<size_t>(i)] != 0;
          if (outside) {
            CopyElem(dst + static_cast<size_t>(i) * e, fill_.data(), e);
          } else if (e == 4) {
            std::memcpy(dst + static_cast<size_t>(i) * 4,
                        x + static_cast<size_t>(first + tl[static_cast<size_t>(i)]) * 4, 4);
          } else {
            CopyElem(dst + static_cast<size_t>(i) * e,
                     x + static_cast<size_t>(first + tl[static_cast<size_t>(i)]) * e, e);
          }
        }
      });
    });
  }

  // dst = the pass applied along pass.axis to src of shape `cur`.
  void RunPass(const RunContext& ctx, const Pass& pass, const Dims& cur, const float* src,
               float* dst) const {
    const size_t a = pass.axis;
    const int64_t outer = std::accumulate(cur.begin(), cur.begin() + static_cast<int64_t>(a),
                                          int64_t{1}, std::multiplies<>());
    const int64_t inner = std::accumulate(cur.begin() + static_cast<int64_t>(a) + 1, cur.end(),
                                          int64_t{1}, std::multiplies<>());
    const int64_t len_in = cur[a];
    const int64_t len_out = p_.out[a];
    const int n = pass.n;
    const int64_t rows = outer * len_out;
    ParallelFor(ctx, rows, [&](int64_t begin, int64_t end, int) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t o = r / len_out;
        const int64_t j = r % len_out;
        const int64_t* idx = pass.idx.data() + j * n;
        const float* w = pass.w.data() + j * n;
        float* d = dst + r * inner;
        const float* s = src + o * len_in * inner;
        if (inner == 1) {
          float acc = w[0] * s[idx[0]];
          for (int t = 1; t < n; ++t) acc += w[t] * s[idx[t]];
          *d = acc;
          continue;
        }
        const float* s0 = s + idx[0] * inner;
        const float w0 = w[0];
        for (int64_t i = 0; i < inner; ++i) d[i] = w0 * s0[i];
        for (int t = 1; t < n; ++t) {
          const float* st = s + idx[t] * inner;
          const float wt = w[t];
          for (int64_t i = 0; i < inner; ++i) d[i] += wt * st[i];
        }
      }
    });
  }

  void Extrapolate(const RunContext& ctx, std::byte* y) const {
    const size_t last = p_.out.size() - 1;
    const int64_t w = p_.out[last];
    const int64_t rows = out_elements_ / w;
    const std::vector<uint8_t>& ol = outside_[last];
    const size_t e = elem_;
    ParallelFor(ctx, rows, [&](int64_t begin, int64_t end, int) {
      ForRows(begin, end, [&](int64_t row, int64_t first) {
        std::byte* dst = y + static_cast<size_t>(row * w) * e;
        for (int64_t i = 0; i < w; ++i) {
          if (first < 0 || ol[static_cast<size_t>(i)] != 0) {
            CopyElem(dst + static_cast<size_t>(i) * e, fill_.data(), e);
          }
        }
      });
    });
  }

  ResizeParams p_;
  size_t elem_ = 4;
  int64_t out_elements_ = 0;
  std::vector<std::vector<int64_t>> table_;   // nearest: input offset per output index
  std::vector<std::vector<uint8_t>> outside_;  // per axis: extrapolated output indices
  bool any_outside_ = false;
  std::array<std::byte, 8> fill_{};
  std::vector<Pass> passes_;
  int64_t buffer_elems_ = 0;
};

absl::StatusOr<std::vector<TensorInfo>> InferResize(const Attributes& attrs,
                                                    std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(ResizeParams p, ParseResize(attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(p.dtype, p.out)};
}

// ---------------------------------------------------------------------------
// DepthToSpace / SpaceToDepth

struct SpaceDepthParams {
  bool to_space = true;
  bool crd = false;
  int64_t b = 1;
  Dims in, out;
  DataType dtype = DataType::kFloat32;
};

absl::StatusOr<SpaceDepthParams> ParseSpaceDepth(bool to_space, const Attributes& attrs,
                                                 std::span<const TensorInfo> inputs) {
  const std::string type = to_space ? "DepthToSpace" : "SpaceToDepth";
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 1, 1, type));
  SpaceDepthParams p;
  p.to_space = to_space;
  p.dtype = inputs[0].dtype;
  p.in = inputs[0].shape;
  if (p.in.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": input must be 4-D [N, C, H, W], got ", ShapeString(p.in)));
  }
  if (!attrs.Has("blocksize")) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": attribute 'blocksize' is required"));
  }
  ENGINE_ASSIGN_OR_RETURN(p.b, attrs.GetInt("blocksize", 1));
  if (p.b < 1 || p.b > kMaxSpatialValue) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": blocksize ", p.b, " is out of range"));
  }
  if (p.dtype == DataType::kUndefined) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": input has no dtype"));
  }
  const int64_t b = p.b;
  const int64_t n = p.in[0], c = p.in[1], h = p.in[2], w = p.in[3];
  if (to_space) {
    ENGINE_ASSIGN_OR_RETURN(const std::string mode, attrs.GetString("mode", "DCR"));
    if (mode != "DCR" && mode != "CRD") {
      return absl::InvalidArgumentError(
          absl::StrCat("DepthToSpace: mode must be DCR or CRD, got '", mode, "'"));
    }
    p.crd = mode == "CRD";
    if (c % (b * b) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("DepthToSpace: channels ", c,
                                                     " are not a multiple of blocksize^2 = ",
                                                     b * b));
    }
    p.out = {n, c / (b * b), h * b, w * b};
  } else {
    if (h % b != 0 || w % b != 0) {
      return absl::InvalidArgumentError(absl::StrCat("SpaceToDepth: height and width of ",
                                                     ShapeString(p.in),
                                                     " must be multiples of blocksize ", b));
    }
    p.out = {n, c * b * b, h / b, w / b};
  }
  return p;
}

class SpaceDepthKernel final : public Kernel {
 public:
  explicit SpaceDepthKernel(bool to_space) : to_space_(to_space) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseSpaceDepth(to_space_, attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(p_.dtype, p_.out)},
                        to_space_ ? "DepthToSpace" : "SpaceToDepth");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const auto* x = static_cast<const std::byte*>(in[0]);
    auto* y = static_cast<std::byte*>(out[0]);
    const size_t e = DataTypeSize(p_.dtype);
    const int64_t b = p_.b;
    // Output rows (n, c, h) of the output shape; each is W_out elements.
    const int64_t C = p_.out[1], H = p_.out[2], W = p_.out[3];
    const int64_t Ci = p_.in[1], Hi = p_.in[2], Wi = p_.in[3];
    ParallelFor(ctx, p_.out[0] * C * H, [&](int64_t begin, int64_t end, int) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t h = r % H;
        const int64_t c = (r / H) % C;
        const int64_t n = r / (H * C);
        std::byte* dst = y + static_cast<size_t>(r * W) * e;
        if (p_.to_space) {
          const int64_t hi = h / b, i = h % b;
          for (int64_t w = 0; w < W; ++w) {
            const int64_t wi = w / b, j = w % b;
            const int64_t ci = p_.crd ? c * b * b + i * b + j : (i * b + j) * C + c;
            CopyElem(dst + static_cast<size_t>(w) * e,
                     x + static_cast<size_t>(((n * Ci + ci) * Hi + hi) * Wi + wi) * e, e);
          }
        } else {
          // c = (i * b + j) * Ci + ci
          const int64_t ci = c % Ci, ij = c / Ci, i = ij / b, j = ij % b;
          const std::byte* src =
              x + static_cast<size_t>(((n * Ci + ci) * Hi + h * b + i) * Wi + j) * e;
          for (int64_t w = 0; w < W; ++w) {
            CopyElem(dst + static_cast<size_t>(w) * e, src + static_cast<size_t>(w * b) * e, e);
          }
        }
      }
    });
  }

 private:
  bool to_space_;
  SpaceDepthParams p_;
};

}  // namespace

KernelDef MakeResizeDef() {
  return MakeDef<ResizeKernel>("Resize", InferResize);
}

KernelDef MakeDepthToSpaceDef() {
  KernelDef def;
  def.type = "DepthToSpace";
  def.infer = [](const Attributes& attrs, std::span<const TensorInfo> inputs)
      -> absl::StatusOr<std::vector<TensorInfo>> {
    ENGINE_ASSIGN_OR_RETURN(SpaceDepthParams p, ParseSpaceDepth(true, attrs, inputs));
    return std::vector<TensorInfo>{MakeInfo(p.dtype, p.out)};
  };
  def.create = [] { return std::unique_ptr<Kernel>(new SpaceDepthKernel(true)); };
  return def;
}

KernelDef MakeSpaceToDepthDef() {
  KernelDef def;
  def.type = "SpaceToDepth";
  def.infer = [](const Attributes& attrs, std::span<const TensorInfo> inputs)
      -> absl::StatusOr<std::vector<TensorInfo>> {
    ENGINE_ASSIGN_OR_RETURN(SpaceDepthParams p, ParseSpaceDepth(false, attrs, inputs));
    return std::vector<TensorInfo>{MakeInfo(p.dtype, p.out)};
  };
  def.create = [] { return std::unique_ptr<Kernel>(new SpaceDepthKernel(false)); };
  return def;
}

}  // namespace engine::kernels
