// Sampling at computed coordinates: GridSample and RoiAlign (ONNX
// Operators.md; GridSample opsets 16 and 20 in 2-D, RoiAlign opsets 10-22).
//
// GridSample: Y = sample(X, Grid) with
//   X    float32 [N, C, H, W]
//   Grid float32 [N, Ho, Wo, 2], (x, y) per output position, normalized so
//        that -1 / +1 are the centres of the corner pixels (align_corners=1)
//        or their outer edges (align_corners=0)
//   Y    float32 [N, C, Ho, Wo]
// Attributes: mode (bilinear | nearest | bicubic; opset 20 spells them
// linear | nearest | cubic), padding_mode (zeros | border | reflection),
// align_corners (0). The 3-D (volumetric) form of opset 20, X of rank 5, is
// Unimplemented.
// Semantics (PyTorch grid_sampler_2d, which the ONNX test data comes from;
// arithmetic in float32 as there):
//   unnormalize: x = align ? (gx + 1) / 2 * (W - 1) : ((gx + 1) * W - 1) / 2
//   padding of a coordinate (border: clip to [0, W - 1]; reflection: reflect
//   about the corner centres (align) or edges (not), then clip; zeros: kept);
//   bilinear / nearest pad the unnormalized coordinate, then read the 4
//   neighbours floor(x), floor(x) + 1 (weights 1 - r, r) or the one at
//   nearbyint(x) (half to even); bicubic reads the 4 x 4 neighbours
//   floor(x) - 1 .. floor(x) + 2 of the unpadded coordinate with Keys'
//   kernel (a = -0.75), padding each neighbour's coordinate. A neighbour
//   outside the image reads 0 (after padding, only zeros mode has such
//   neighbours). Non-finite grid values read 0.
// Work: per output position the taps are computed once and applied to the C
// channels; rows of Ho split over threads, each element a fixed-order sum.
//
// RoiAlign: Y[r, c] = average (or max) of bilinear samples of X[batch[r], c]
// over a grid of bins covering roi r, with
//   X             float32 [N, C, H, W]
//   rois          float32 [R, 4], (x1, y1, x2, y2) in input coordinates
//                 before spatial_scale
//   batch_indices int64 (or int32) [R]
//   Y             float32 [R, C, output_height, output_width]
// Attributes: mode (avg | max), output_height (1), output_width (1),
// sampling_ratio (0 = adaptive: ceil(roi size / output size) samples per
// bin side), spatial_scale (1.0), coordinate_transformation_mode
// (half_pixel, the opset-16 default: coordinates shifted by -0.5 pixel;
// output_half_pixel, the opset-10 behaviour: no shift and rois at least one
// pixel wide). Semantics are ONNX Runtime's (its pre-computed bilinear
// weights: samples beyond one pixel outside the image contribute 0, others
// are clamped to the image; max mode takes the max over samples of the max
// of the four weighted corners), in float32.
// At run time a batch index outside [0, N) gives a zero ROI, and the
// adaptive grid is limited to kMaxRoiGrid samples per bin side (Run cannot
// fail, and a huge or non-finite roi must not stall it).
#include <algorithm>
#include <array>
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

using Infos = std::vector<TensorInfo>;

// ---------------------------------------------------------------------------
// GridSample

enum class GridMode { kBilinear, kNearest, kBicubic };
enum class GridPadding { kZeros, kBorder, kReflection };

struct GridParams {
  GridMode mode = GridMode::kBilinear;
  GridPadding padding = GridPadding::kZeros;
  bool align = false;
  int64_t n = 0, c = 0, h = 0, w = 0, ho = 0, wo = 0;
};

absl::StatusOr<GridParams> ParseGridSample(const Attributes& attrs,
                                           std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 2, "GridSample"));
  const TensorInfo& x = inputs[0];
  const TensorInfo& g = inputs[1];
  if (x.dtype != DataType::kFloat32 || g.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(absl::StrCat("GridSample: X and Grid must be float32, got ",
                                                 DataTypeName(x.dtype), " and ",
                                                 DataTypeName(g.dtype)));
  }
  if (x.shape.size() == 5) {
    return absl::UnimplementedError("GridSample: the volumetric form (X of rank 5) is not supported");
  }
  if (x.shape.size() != 4 || g.shape.size() != 4 || g.shape[3] != 2 || g.shape[0] != x.shape[0]) {
    return absl::InvalidArgumentError(
        absl::StrCat("GridSample: X ", ShapeString(x.shape), " must be [N, C, H, W] and Grid ",
                     ShapeString(g.shape), " [N, H_out, W_out, 2]"));
  }
  GridParams p;
  ENGINE_ASSIGN_OR_RETURN(const std::string mode, attrs.GetString("mode", "bilinear"));
  if (mode == "bilinear" || mode == "linear") p.mode = GridMode::kBilinear;
  else if (mode == "nearest") p.mode = GridMode::kNearest;
  else if (mode == "bicubic" || mode == "cubic") p.mode = GridMode::kBicubic;
  else return absl::InvalidArgumentError(absl::StrCat("GridSample: unknown mode '", mode, "'"));
  ENGINE_ASSIGN_OR_RETURN(const std::string pad, attrs.GetString("padding_mode", "zeros"));
  if (pad == "zeros") p.padding = GridPadding::kZeros;
  else if (pad == "border") p.padding = GridPadding::kBorder;
  else if (pad == "reflection") p.padding = GridPadding::kReflection;
  else {
    return absl::InvalidArgumentError(absl::StrCat("GridSample: unknown padding_mode '", pad, "'"));
  }
  ENGINE_ASSIGN_OR_RETURN(const int64_t align, attrs.GetInt("align_corners", 0));
  p.align = align != 0;
  p.n = x.shape[0];
  p.c = x.shape[1];
  p.h = x.shape[2];
  p.w = x.shape[3];
  p.ho = g.shape[1];
  p.wo = g.shape[2];
  return p;
}

absl::StatusOr<Infos> InferGridSample(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(GridParams p, ParseGridSample(attrs, inputs));
  return Infos{MakeInfo(DataType::kFloat32, {p.n, p.c, p.ho, p.wo})};
}

// PyTorch reflect_coordinates: reflects `v` into [twice_low / 2, twice_high / 2].
float Reflect(float v, int64_t twice_low, int64_t twice_high) {
  if (twice_low == twice_high) return 0.0f;
  const float lo = static_cast<float>(twice_low) / 2;
  const float span = static_cast<float>(twice_high - twice_low) / 2;
  v = std::fabs(v - lo);
  const float extra = std::fmod(v, span);
  // Parity of the number of flips, in float: no integer cast to overflow for
  // coordinates far outside the image.
  const float flips = std::floor(v / span);
  return std::fmod(flips, 2.0f) == 0.0f ? extra + lo : span - extra + lo;
}

// Applies the padding mode to a coordinate on an axis of `size` pixels.
float PadCoordinate(float v, int64_t size, GridPadding padding, bool align) {
  if (!std::isfinite(v)) return v;
  const float hi = static_cast<float>(size - 1);
  if (padding == GridPadding::kBorder) return std::clamp(v, 0.0f, hi);
  if (padding == GridPadding::kReflection) {
    v = align ? Reflect(v, 0, 2 * (size - 1)) : Reflect(v, -1, 2 * size - 1);
    return std::clamp(v, 0.0f, hi);
  }
  return v;
}

// Floor of a coordinate as an index; far outside (or non-finite) coordinates
// map to -8, outside every image, so casts never overflow.
int64_t FloorIndex(float v, int64_t size) {
  if (!(v >= -4.0f && v <= static_cast<float>(size) + 4.0f)) return -8;
  return static_cast<int64_t>(std::floor(v));
}

std::array<float, 4> CubicWeights(float t) {
  constexpr float A = -0.75f;
  auto near = [](float s) { return ((A + 2) * s - (A + 3)) * s * s + 1; };
  auto far = [](float s) { return ((A * s - 5 * A) * s + 8 * A) * s - 4 * A; };
  return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

class GridSampleKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseGridSample(attrs, inputs));
    return CheckOutputs(outputs, {MakeInfo(DataType::kFloat32, {p_.n, p_.c, p_.ho, p_.wo})},
                        "GridSample");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    const float* grid = static_cast<const float*>(in[1]);
    float* y = static_cast<float*>(out[0]);
    const int64_t plane = p_.h * p_.w;
    const int64_t out_plane = p_.ho * p_.wo;
    ParallelFor(ctx, p_.n * p_.ho, [&](int64_t begin, int64_t end, int) {
      // Up to 16 taps per output position: flat input offset (-1: reads 0)
      // and weight.
      std::array<int64_t, 16> idx{};
      std::array<float, 16> wt{};
      for (int64_t row = begin; row < end; ++row) {
        const int64_t n = row / p_.ho, oh = row % p_.ho;
        const float* xn = x + n * p_.c * plane;
        for (int64_t ow = 0; ow < p_.wo; ++ow) {
          const float* gp = grid + ((n * p_.ho + oh) * p_.wo + ow) * 2;
          const int taps = Taps(gp[0], gp[1], idx, wt);
          float* yp = y + n * p_.c * out_plane + oh * p_.wo + ow;
          for (int64_t c = 0; c < p_.c; ++c) {
            const float* xc = xn + c * plane;
            float acc = 0.0f;
            for (int t = 0; t < taps; ++t) {
              if (idx[t] >= 0) acc += wt[t] * xc[idx[t]];
            }
            yp[c * out_plane] = acc;
          }
        }
      }
    });
  }

 private:
  float Unnormalize(float g, int64_t size) const {
    const float s = static_cast<float>(size);
    return p_.align ? (g + 1) / 2 * (s - 1) : ((g + 1) * s - 1) / 2;
  }

  // Offset of pixel (iy, ix), or -1 outside the image.
  int64_t Offset(int64_t iy, int64_t ix) const {
    return iy >= 0 && iy < p_.h && ix >= 0 && ix < p_.w ? iy * p_.w + ix : -1;
  }

  int Taps(float gx, float gy, std::array<int64_t, 16>& idx, std::array<float, 16>& wt) const {
    if (p_.h == 0 || p_.w == 0) {  // an empty image: every tap reads 0
      idx.fill(-1);
      return 1;
    }
    float fx = Unnormalize(gx, p_.w);
    float fy = Unnormalize(gy, p_.h);
    if (p_.mode == GridMode::kBicubic) {
      const int64_t x0 = FloorIndex(fx, p_.w), y0 = FloorIndex(fy, p_.h);
      if (!std::isfinite(fx) || !std::isfinite(fy) ||
          (p_.padding == GridPadding::kZeros && (x0 == -8 || y0 == -8))) {
        idx.fill(-1);
        return 16;
      }
      // Within range for the zeros mode; the other modes pad each tap.
      const float bx = std::floor(fx), by = std::floor(fy);
      const std::array<float, 4> wx = CubicWeights(fx - bx);
      const std::array<float, 4> wy = CubicWeights(fy - by);
      for (int i = 0; i < 4; ++i) {
        const float ty = PadCoordinate(by - 1 + static_cast<float>(i), p_.h, p_.padding, p_.align);
        const int64_t iy = FloorIndex(ty, p_.h);
        for (int j = 0; j < 4; ++j) {
          const float tx = PadCoordinate(bx - 1 + static_cast<float>(j), p_.w, p_.padding, p_.align);
          const int64_t ix = FloorIndex(tx, p_.w);
          idx[static_cast<size_t>(i * 4 + j)] = Offset(iy, ix);
          wt[static_cast<size_t>(i * 4 + j)] = wy[static_cast<size_t>(i)] * wx[static_cast<size_t>(j)];
        }
      }
      return 16;
    }
    fx = PadCoordinate(fx, p_.w, p_.padding, p_.align);
    fy = PadCoordinate(fy, p_.h, p_.padding, p_.align);
    if (p_.mode == GridMode::kNearest) {
      const bool ok = std::isfinite(fx) && std::isfinite(fy) && std::fabs(fx) < 1e9f &&
                      std::fabs(fy) < 1e9f;
      idx[0] = ok ? Offset(static_cast<int64_t>(std::nearbyint(fy)),
                           static_cast<int64_t>(std::nearbyint(fx)))
                  : -1;
      wt[0] = 1.0f;
      return 1;
    }
    const int64_t x0 = FloorIndex(fx, p_.w), y0 = FloorIndex(fy, p_.h);
    if (x0 == -8 || y0 == -8) {
      idx.fill(-1);
      return 4;
    }
    const float lx = fx - static_cast<float>(x0), ly = fy - static_cast<float>(y0);
    idx[0] = Offset(y0, x0);
    idx[1] = Offset(y0, x0 + 1);
    idx[2] = Offset(y0 + 1, x0);
    idx[3] = Offset(y0 + 1, x0 + 1);
    wt[0] = (1 - ly) * (1 - lx);
    wt[1] = (1 - ly) * lx;
    wt[2] = ly * (1 - lx);
    wt[3] = ly * lx;
    return 4;
  }

  GridParams p_;
};

// ---------------------------------------------------------------------------
// RoiAlign

constexpr int64_t kMaxRoiGrid = 1024;

struct RoiParams {
  bool max_mode = false;
  bool half_pixel = true;
  int64_t out_h = 1, out_w = 1, sampling = 0;
  float scale = 1.0f;
  int64_t n = 0, c = 0, h = 0, w = 0, rois = 0;
  bool int32_batch = false;
};

absl::StatusOr<RoiParams> ParseRoiAlign(const Attributes& attrs,
                                        std::span<const TensorInfo> inputs) {
  ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 3, 3, "RoiAlign"));
  const TensorInfo& x = inputs[0];
  const TensorInfo& r = inputs[1];
  const TensorInfo& b = inputs[2];
  if (x.dtype != DataType::kFloat32 || r.dtype != DataType::kFloat32) {
    return absl::UnimplementedError(absl::StrCat("RoiAlign: X and rois must be float32, got ",
                                                 DataTypeName(x.dtype), " and ",
                                                 DataTypeName(r.dtype)));
  }
  if (b.dtype != DataType::kInt64 && b.dtype != DataType::kInt32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RoiAlign: batch_indices must be int64 or int32, got ", DataTypeName(b.dtype)));
  }
  if (x.shape.size() != 4 || r.shape.size() != 2 || r.shape[1] != 4 || b.shape.size() != 1 ||
      b.shape[0] != r.shape[0]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RoiAlign: X ", ShapeString(x.shape), " must be [N, C, H, W], rois ",
        ShapeString(r.shape), " [R, 4] and batch_indices ", ShapeString(b.shape), " [R]"));
  }
  RoiParams p;
  ENGINE_ASSIGN_OR_RETURN(const std::string mode, attrs.GetString("mode", "avg"));
  if (mode != "avg" && mode != "max") {
    return absl::InvalidArgumentError(absl::StrCat("RoiAlign: unknown mode '", mode, "'"));
  }
  p.max_mode = mode == "max";
  ENGINE_ASSIGN_OR_RETURN(const std::string ctm,
                          attrs.GetString("coordinate_transformation_mode", "half_pixel"));
  if (ctm != "half_pixel" && ctm != "output_half_pixel") {
    return absl::InvalidArgumentError(
        absl::StrCat("RoiAlign: unknown coordinate_transformation_mode '", ctm, "'"));
  }
  p.half_pixel = ctm == "half_pixel";
  ENGINE_ASSIGN_OR_RETURN(p.out_h, attrs.GetInt("output_height", 1));
  ENGINE_ASSIGN_OR_RETURN(p.out_w, attrs.GetInt("output_width", 1));
  ENGINE_ASSIGN_OR_RETURN(p.sampling, attrs.GetInt("sampling_ratio", 0));
  ENGINE_ASSIGN_OR_RETURN(p.scale, attrs.GetFloat("spatial_scale", 1.0f));
  for (auto [name, v] : {std::pair<const char*, int64_t>{"output_height", p.out_h},
                         {"output_width", p.out_w}}) {
    if (v < 1 || v > kMaxSpatialValue) {
      return absl::InvalidArgumentError(
          absl::StrCat("RoiAlign: ", name, " = ", v, " must be in [1, ", kMaxSpatialValue, "]"));
    }
  }
  if (p.sampling < 0 || p.sampling > kMaxRoiGrid) {
    return absl::InvalidArgumentError(absl::StrCat("RoiAlign: sampling_ratio = ", p.sampling,
                                                   " must be in [0, ", kMaxRoiGrid, "]"));
  }
  if (!std::isfinite(p.scale)) {
    return absl::InvalidArgumentError("RoiAlign: spatial_scale must be finite");
  }
  p.n = x.shape[0];
  p.c = x.shape[1];
  p.h = x.shape[2];
  p.w = x.shape[3];
  p.rois = r.shape[0];
  p.int32_batch = b.dtype == DataType::kInt32;
  return p;
}

absl::StatusOr<Infos> InferRoiAlign(const Attributes& attrs, std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(RoiParams p, ParseRoiAlign(attrs, inputs));
  return Infos{MakeInfo(DataType::kFloat32, {p.rois, p.c, p.out_h, p.out_w})};
}

// Samples per bin side: sampling_ratio, or ceil(extent / bins) (adaptive),
// limited to [0, kMaxRoiGrid].
int64_t RoiGrid(int64_t sampling, float extent, int64_t bins) {
  if (sampling > 0) return sampling;
  const float g = std::ceil(extent / static_cast<float>(bins));
  if (!(g > 0)) return 0;
  return g >= static_cast<float>(kMaxRoiGrid) ? kMaxRoiGrid : static_cast<int64_t>(g);
}

class RoiAlignKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseRoiAlign(attrs, inputs));
    if (inputs[2].constant != nullptr) {
      ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> b,
                              ConstantInts(inputs[2], "RoiAlign: batch_indices"));
      for (size_t i = 0; i < b.size(); ++i) {
        if (b[i] < 0 || b[i] >= p_.n) {
          return absl::InvalidArgumentError(absl::StrCat("RoiAlign: batch_indices[", i, "] = ",
                                                         b[i], " is outside [0, ", p_.n, ")"));
        }
      }
    }
    return CheckOutputs(outputs, {MakeInfo(DataType::kFloat32, {p_.rois, p_.c, p_.out_h, p_.out_w})},
                        "RoiAlign");
  }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const float* x = static_cast<const float*>(in[0]);
    const float* rois = static_cast<const float*>(in[1]);
    float* y = static_cast<float*>(out[0]);
    const int64_t plane = p_.h * p_.w;
    const int64_t out_plane = p_.out_h * p_.out_w;
    // One task per (roi, output row): all channels of that row.
    ParallelFor(ctx, p_.rois * p_.out_h, [&](int64_t begin, int64_t end, int) {
      for (int64_t task = begin; task < end; ++task) {
        const int64_t r = task / p_.out_h, ph = task % p_.out_h;
        float* yr = y + r * p_.c * out_plane + ph * p_.out_w;
        const int64_t b = p_.int32_batch ? static_cast<const int32_t*>(in[2])[r]
                                         : static_cast<const int64_t*>(in[2])[r];
        if (b < 0 || b >= p_.n) {
          for (int64_t c = 0; c < p_.c; ++c) std::fill_n(yr + c * out_plane, p_.out_w, 0.0f);
          continue;
        }
        const float* xb = x + b * p_.c * plane;
        const float* roi = rois + r * 4;
        const float offset = p_.half_pixel ? 0.5f : 0.0f;
        const float x1 = roi[0] * p_.scale - offset, y1 = roi[1] * p_.scale - offset;
        const float x2 = roi[2] * p_.scale - offset, y2 = roi[3] * p_.scale - offset;
        float rw = x2 - x1, rh = y2 - y1;
        if (!p_.half_pixel) {
          rw = std::max(rw, 1.0f);
          rh = std::max(rh, 1.0f);
        }
        const float bin_h = rh / static_cast<float>(p_.out_h);
        const float bin_w = rw / static_cast<float>(p_.out_w);
        const int64_t gh = RoiGrid(p_.sampling, rh, p_.out_h);
        const int64_t gw = RoiGrid(p_.sampling, rw, p_.out_w);
        const float count = static_cast<float>(std::max<int64_t>(gh * gw, 1));
        for (int64_t pw = 0; pw < p_.out_w; ++pw) {
          for (int64_t c = 0; c < p_.c; ++c) yr[c * out_plane + pw] = 0.0f;
          bool first = true;
          for (int64_t iy = 0; iy < gh; ++iy) {
            const float sy = y1 + static_cast<float>(ph) * bin_h +
                             (static_cast<float>(iy) + 0.5f) * bin_h / static_cast<float>(gh);
            for (int64_t ix = 0; ix < gw; ++ix) {
              const float sx = x1 + static_cast<float>(pw) * bin_w +
                               (static_cast<float>(ix) + 0.5f) * bin_w / static_cast<float>(gw);
              std::array<int64_t, 4> pos{0, 0, 0, 0};
              std::array<float, 4> wt{0, 0, 0, 0};
              Bilinear(sy, sx, pos, wt);
              for (int64_t c = 0; c < p_.c; ++c) {
                const float* xc = xb + c * plane;
                float& o = yr[c * out_plane + pw];
                if (p_.max_mode) {
                  const float v = std::max(std::max(wt[0] * xc[pos[0]], wt[1] * xc[pos[1]]),
                                           std::max(wt[2] * xc[pos[2]], wt[3] * xc[pos[3]]));
                  o = first ? v : std::max(o, v);
                } else {
                  o += wt[0] * xc[pos[0]] + wt[1] * xc[pos[1]] + wt[2] * xc[pos[2]] +
                       wt[3] * xc[pos[3]];
                }
              }
              first = false;
            }
          }
          if (!p_.max_mode) {
            for (int64_t c = 0; c < p_.c; ++c) yr[c * out_plane + pw] /= count;
          }
        }
      }
    });
  }

 private:
  // ONNX Runtime's pre-calculated bilinear weights of sample (y, x).
  void Bilinear(float y, float x, std::array<int64_t, 4>& pos, std::array<float, 4>& wt) const {
    if (p_.h == 0 || p_.w == 0) return;  // an empty image: zero weights
    const float fh = static_cast<float>(p_.h), fw = static_cast<float>(p_.w);
    if (!(y >= -1.0f && y <= fh && x >= -1.0f && x <= fw)) return;  // zero weights
    y = std::max(y, 0.0f);
    x = std::max(x, 0.0f);
    int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x), y_high, x_high;
    if (y_low >= p_.h - 1) {
      y_high = y_low = p_.h - 1;
      y = static_cast<float>(y_low);
    } else {
      y_high = y_low + 1;
    }
    if (x_low >= p_.w - 1) {
      x_high = x_low = p_.w - 1;
      x = static_cast<float>(x_low);
    } else {
      x_high = x_low + 1;
    }
    const float ly = y - static_cast<float>(y_low), lx = x - static_cast<float>(x_low);
    const float hy = 1 - ly, hx = 1 - lx;
    pos = {y_low * p_.w + x_low, y_low * p_.w + x_high, y_high * p_.w + x_low,
           y_high * p_.w + x_high};
    wt = {hy * hx, hy * lx, ly * hx, ly * lx};
  }

  RoiParams p_;
};

}  // namespace

KernelDef MakeGridSampleDef() {
  return MakeDef<GridSampleKernel>("GridSample", InferGridSample);
}

KernelDef MakeRoiAlignDef() { return MakeDef<RoiAlignKernel>("RoiAlign", InferRoiAlign); }

}  // namespace engine::kernels
