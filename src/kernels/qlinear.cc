// Quantized convolution and matrix product of imported ONNX models (opset
// 10+): QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger.
//
//   ConvInteger(x, w, x_zero_point?, w_zero_point?) -> y (int32)
//     y = conv(x - x_zero_point, w - w_zero_point)
//   QLinearConv(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
//               y_zero_point, B?) -> y
//     acc = conv(x - x_zero_point, w - w_zero_point) + B
//     y = saturate(round_half_even(acc * (x_scale * w_scale / y_scale)
//                                  + y_zero_point))
//   MatMulInteger(A, B, a_zero_point?, b_zero_point?) -> Y (int32)
//     Y = matmul(A - a_zero_point, B - b_zero_point)
//   QLinearMatMul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
//                 y_zero_point) -> y
//     y = saturate(round_half_even(matmul(a - a_zp, b - b_zp)
//                                  * (a_scale * b_scale / y_scale) + y_zp))
//
// The requantization is the ONNX reference implementation's: the multiplier
// x_scale * w_scale / y_scale is computed in float32 (left to right), the
// product with the int32 accumulator in float64 (numpy's int32 x float32
// promotion), then + zero point, saturation to the output type and rounding
// half to even.
//
// Shapes and dtypes:
//   x, w, A, B, a, b:  int8 or uint8 (x and w, A and B may differ); each zero
//                      point has its data's dtype; an absent zero point is 0.
//   Conv geometry:     X [N, C, D1..Dk], W [M, C/group, k1..kk] (k = 1..3),
//                      attributes auto_pad, dilations, group, kernel_shape,
//                      pads, strides as Conv (conv_geometry.h). Padding is
//                      the input zero point (0 after the subtraction).
//   Conv parameters:   x_zero_point, x_scale, y_scale, y_zero_point one
//                      element; w_zero_point and w_scale one element or [M]
//                      (per output channel); B int32 [M].
//   MatMul shapes:     numpy matmul (1-D operands, broadcast batch dims).
//   MatMul parameters: one element (per tensor); for A also per row: [M] (the
//                      opset-10 form) or any shape broadcastable to A's with
//                      a 1 along K (e.g. [D1, D2, M, 1]); for B per column:
//                      [N] or any shape broadcastable to B's with a 1 along
//                      K. y_scale and y_zero_point have one element.
//   Scales are float32 (float16 is Unimplemented). y is the type of
//   y_zero_point (without one, the type of x / a); ConvInteger and
//   MatMulInteger produce int32. Accumulation is in 32 bits and wraps on
//   overflow (ONNX allows it only there).
//
// Implementation: integer GEMMs with 32-bit accumulation over operands with
// the zero points folded in. Convolution: per image, group and tile of
// output positions, the im2col matrix of the raw inputs (padded with the
// input zero point) times the weights minus their zero points, as int16; the
// input zero point is removed with the weights' row sums
// (sum_k w'(x - xz) = sum_k w'x - xz sum_k w'). MatMul: A and B minus their
// zero points as int16, four rows of A at a time. Weights (W with
// w_zero_point, B with b_zero_point) that are constant at Prepare are packed
// once; otherwise packing happens in Run, in scratch. Scales and zero points
// may be runtime inputs.
//
// Intra-op parallelism: convolutions split (image, group, tile) tasks,
// products (batch, block of four rows) tasks over RunContext::threads threads,
// each with private scratch. Integer accumulation is exact (modulo 2^32) and
// the requantization is per element, so outputs do not depend on the thread
// count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/conv_geometry.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
namespace {

// Target size of one im2col tile, in bytes.
constexpr int64_t kColTileBytes = int64_t{256} << 10;

bool Is8Bit(DataType t) { return t == DataType::kInt8 || t == DataType::kUint8; }

// Element i of an int8, uint8 or int32 tensor.
int32_t IntAt(const void* p, DataType t, int64_t i) {
  switch (t) {
    case DataType::kInt8: return static_cast<const int8_t*>(p)[i];
    case DataType::kUint8: return static_cast<const uint8_t*>(p)[i];
    case DataType::kInt32: return static_cast<const int32_t*>(p)[i];
    default: return 0;
  }
}

// y = saturate(round_half_even(acc * mult + zero_point)) to Q (the reference
// implementation's formula, in float64).
template <typename Q>
inline Q Requantize(int32_t acc, float mult, int32_t zero_point) {
  constexpr double lo = std::numeric_limits<Q>::min();
  constexpr double hi = std::numeric_limits<Q>::max();
  double v = static_cast<double>(acc) * static_cast<double>(mult) + zero_point;
  v = v > lo ? v : lo;  // NaN -> lo
  v = v < hi ? v : hi;
  return static_cast<Q>(static_cast<int32_t>(std::nearbyint(v)));
}

// Writes the requantized or raw accumulators of one output row.
void StoreRow(DataType y_dtype, const uint32_t* acc, int64_t len, const float* mult,
              bool mult_per_element, int32_t zero_point, int32_t offset, void* y) {
  switch (y_dtype) {
    case DataType::kInt32: {
      int32_t* out = static_cast<int32_t*>(y);
      for (int64_t i = 0; i < len; ++i) out[i] = static_cast<int32_t>(acc[i] + static_cast<uint32_t>(offset));
      break;
    }
    case DataType::kInt8: {
      int8_t* out = static_cast<int8_t*>(y);
      for (int64_t i = 0; i < len; ++i) {
        out[i] = Requantize<int8_t>(static_cast<int32_t>(acc[i] + static_cast<uint32_t>(offset)),
                                    mult[mult_per_element ? i : 0], zero_point);
      }
      break;
    }
    case DataType::kUint8: {
      uint8_t* out = static_cast<uint8_t*>(y);
      for (int64_t i = 0; i < len; ++i) {
        out[i] = Requantize<uint8_t>(static_cast<int32_t>(acc[i] + static_cast<uint32_t>(offset)),
                                     mult[mult_per_element ? i : 0], zero_point);
      }
      break;
    }
    default: break;
  }
}

// c_r[p] += a_r * b[p] for p < len and the `rows` (1..4) rows r; wraps modulo
// 2^32.
template <typename TB>
void Axpy4(int rows, const int32_t* a, const TB* __restrict b, int64_t len,
           uint32_t* __restrict c0, uint32_t* __restrict c1, uint32_t* __restrict c2,
           uint32_t* __restrict c3) {
  const int32_t a0 = a[0];
  if (rows == 4) {
    const int32_t a1 = a[1], a2 = a[2], a3 = a[3];
    for (int64_t p = 0; p < len; ++p) {
      const int32_t bv = b[p];
      c0[p] += static_cast<uint32_t>(a0 * bv);
      c1[p] += static_cast<uint32_t>(a1 * bv);
      c2[p] += static_cast<uint32_t>(a2 * bv);
      c3[p] += static_cast<uint32_t>(a3 * bv);
    }
    return;
  }
  uint32_t* c[4] = {c0, c1, c2, c3};
  for (int r = 0; r < rows; ++r) {
    const int32_t ar = a[r];
    if (ar == 0) continue;
    uint32_t* __restrict cr = c[r];
    for (int64_t p = 0; p < len; ++p) cr[p] += static_cast<uint32_t>(ar * static_cast<int32_t>(b[p]));
  }
}

// acc[r * len + p] = sum_k a[r * lda + k] * b[k * ldb + p] for r < rows
// (1..4), p < len (int16 `a`, int8 / uint8 / int16 `b`), modulo 2^32.
template <typename TB>
void IntGemmRows(int rows, const int16_t* a, int64_t lda, const TB* b, int64_t ldb, int64_t k,
                 int64_t len, uint32_t* acc) {
  std::fill(acc, acc + rows * len, 0u);
  uint32_t* c0 = acc;
  uint32_t* c1 = rows > 1 ? acc + len : c0;
  uint32_t* c2 = rows > 2 ? acc + 2 * len : c0;
  uint32_t* c3 = rows > 3 ? acc + 3 * len : c0;
  for (int64_t kk = 0; kk < k; ++kk) {
    int32_t av[4] = {0, 0, 0, 0};
    bool any = false;
    for (int r = 0; r < rows; ++r) {
      av[r] = a[r * lda + kk];
      any = any || av[r] != 0;
    }
    if (!any) continue;
    Axpy4<TB>(rows, av, b + kk * ldb, len, c0, c1, c2, c3);
  }
}

absl::Status CheckScaleInput(const std::string& op, const char* name, const TensorInfo& t) {
  if (t.dtype == DataType::kFloat32) return absl::OkStatus();
  if (t.dtype == DataType::kFloat16) {
    return absl::UnimplementedError(
        absl::StrCat(op, ": ", name, " of type float16 is not supported (float32 only)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(op, ": ", name, " must be float32, got ", DataTypeName(t.dtype)));
}

absl::Status CheckData(const std::string& op, const char* name, const TensorInfo& t) {
  if (Is8Bit(t.dtype)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(op, ": ", name, " must be int8 or uint8, got ", DataTypeName(t.dtype)));
}

absl::Status CheckZeroPointType(const std::string& op, const char* name, const TensorInfo& zp,
                                const char* data_name, DataType data) {
  if (zp.dtype == data) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " is ", DataTypeName(zp.dtype),
                                                 " but ", data_name, " is ",
                                                 DataTypeName(data)));
}

// A per-tensor parameter (scale or zero point): one element.
absl::Status CheckOneElement(const std::string& op, const char* name, const TensorInfo& t) {
  if (NumElements(t.shape) == 1) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " has shape ",
                                                 ShapeString(t.shape),
                                                 ", expected one element (per tensor)"));
}

// ---------------------------------------------------------------------------
// QLinearConv, ConvInteger

// Input positions of each operand; -1 when the op has none.
struct ConvSlots {
  int x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias;
};
constexpr ConvSlots kQLinearConvSlots{0, 1, 2, 3, 4, 5, 6, 7, 8};
constexpr ConvSlots kConvIntegerSlots{0, -1, 2, 1, -1, 3, -1, -1, -1};

struct QConvParams {
  ConvGeometry geo;
  bool qlinear = false;  // QLinearConv (else ConvInteger)
  ConvSlots slots{};
  DataType x_dtype = DataType::kUndefined;
  DataType w_dtype = DataType::kUndefined;
  DataType y_dtype = DataType::kUndefined;
  bool has_x_zp = false, has_w_zp = false, has_y_zp = false, has_bias = false;
  bool w_zp_per_channel = false, w_scale_per_channel = false;
};

const TensorInfo* Slot(std::span<const TensorInfo> inputs, int i) {
  if (i < 0 || static_cast<size_t>(i) >= inputs.size() || !inputs[i].present) return nullptr;
  return &inputs[i];
}

// w_zero_point / w_scale: one element or [M].
absl::Status CheckPerChannel(const std::string& op, const char* name, const TensorInfo& t,
                             int64_t channels, bool* per_channel) {
  *per_channel = false;
  if (NumElements(t.shape) == 1) return absl::OkStatus();
  if (t.shape.size() == 1 && t.shape[0] == channels) {
    *per_channel = true;
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " has shape ",
                                                 ShapeString(t.shape),
                                                 ", expected one element (per tensor) or [",
                                                 channels, "] (per output channel)"));
}

absl::StatusOr<QConvParams> ParseQConv(bool qlinear, const Attributes& attrs,
                                       std::span<const TensorInfo> inputs) {
  const std::string op = qlinear ? "QLinearConv" : "ConvInteger";
  QConvParams p;
  p.qlinear = qlinear;
  p.slots = qlinear ? kQLinearConvSlots : kConvIntegerSlots;
  if (qlinear) {
    ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 8, 9, op));
  } else {
    ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 4, op));
  }
  const ConvSlots& s = p.slots;
  const TensorInfo* x = Slot(inputs, s.x);
  const TensorInfo* w = Slot(inputs, s.w);
  if (x == nullptr || w == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": x and w are required"));
  }
  ENGINE_RETURN_IF_ERROR(CheckData(op, "x", *x));
  ENGINE_RETURN_IF_ERROR(CheckData(op, "w", *w));
  p.x_dtype = x->dtype;
  p.w_dtype = w->dtype;
  ENGINE_ASSIGN_OR_RETURN(p.geo, ParseConvGeometry(attrs, x->shape, w->shape, op));
  const int64_t m = p.geo.out_channels;
  if (const TensorInfo* t = Slot(inputs, s.x_zp)) {
    ENGINE_RETURN_IF_ERROR(CheckZeroPointType(op, "x_zero_point", *t, "x", x->dtype));
    ENGINE_RETURN_IF_ERROR(CheckOneElement(op, "x_zero_point", *t));
    p.has_x_zp = true;
  }
  if (const TensorInfo* t = Slot(inputs, s.w_zp)) {
    ENGINE_RETURN_IF_ERROR(CheckZeroPointType(op, "w_zero_point", *t, "w", w->dtype));
    ENGINE_RETURN_IF_ERROR(CheckPerChannel(op, "w_zero_point", *t, m, &p.w_zp_per_channel));
    p.has_w_zp = true;
  }
  if (!qlinear) {
    p.y_dtype = DataType::kInt32;
    return p;
  }
  for (auto [slot, name] : {std::pair{s.x_scale, "x_scale"}, std::pair{s.w_scale, "w_scale"},
                            std::pair{s.y_scale, "y_scale"}}) {
    const TensorInfo* t = Slot(inputs, slot);
    if (t == nullptr) return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " is required"));
    ENGINE_RETURN_IF_ERROR(CheckScaleInput(op, name, *t));
  }
  ENGINE_RETURN_IF_ERROR(CheckOneElement(op, "x_scale", inputs[s.x_scale]));
  ENGINE_RETURN_IF_ERROR(CheckOneElement(op, "y_scale", inputs[s.y_scale]));
  ENGINE_RETURN_IF_ERROR(
      CheckPerChannel(op, "w_scale", inputs[s.w_scale], m, &p.w_scale_per_channel));
  p.y_dtype = x->dtype;
  if (const TensorInfo* t = Slot(inputs, s.y_zp)) {
    ENGINE_RETURN_IF_ERROR(CheckData(op, "y_zero_point", *t));
    ENGINE_RETURN_IF_ERROR(CheckOneElement(op, "y_zero_point", *t));
    p.y_dtype = t->dtype;
    p.has_y_zp = true;
  }
  if (const TensorInfo* t = Slot(inputs, s.bias)) {
    if (t->dtype != DataType::kInt32 || t->shape != Dims{m}) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": B has shape ", ShapeString(t->shape),
                                                     " and dtype ", DataTypeName(t->dtype),
                                                     ", expected int32 [", m, "]"));
    }
    p.has_bias = true;
  }
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferQLinearConv(const Attributes& attrs,
                                                         std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(QConvParams p, ParseQConv(true, attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(p.y_dtype, p.geo.y_shape)};
}

absl::StatusOr<std::vector<TensorInfo>> InferConvInteger(const Attributes& attrs,
                                                         std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(QConvParams p, ParseQConv(false, attrs, inputs));
  return std::vector<TensorInfo>{MakeInfo(p.y_dtype, p.geo.y_shape)};
}

template <bool kQLinear>
class QConvKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseQConv(kQLinear, attrs, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, {MakeInfo(p_.y_dtype, p_.geo.y_shape)},
                                        kQLinear ? "QLinearConv" : "ConvInteger"));
    k_ = p_.geo.col_rows();
    out_plane_ = p_.geo.out_plane();
    mg_ = p_.geo.out_channels / p_.geo.group;
    tile_ = std::min<int64_t>(out_plane_, std::max<int64_t>(64, kColTileBytes / std::max<int64_t>(k_, 1)));
    tiles_ = tile_ > 0 ? (out_plane_ + tile_ - 1) / tile_ : 0;
    // Weights known now: pack them once.
    const TensorInfo& w = inputs[p_.slots.w];
    const TensorInfo* w_zp = Slot(inputs, p_.slots.w_zp);
    if (w.constant != nullptr && (w_zp == nullptr || w_zp->constant != nullptr)) {
      packed_.resize(static_cast<size_t>(p_.geo.out_channels * k_));
      row_sums_.resize(static_cast<size_t>(p_.geo.out_channels));
      PackWeights(w.constant->data(), w_zp ? w_zp->constant->data() : nullptr, packed_.data(),
                  row_sums_.data());
      prepacked_ = true;
    }
    scratch_.shared = prepacked_ ? 0
                                 : ScratchLayout::Align(packed_bytes()) +
                                       static_cast<size_t>(p_.geo.out_channels) * sizeof(int32_t);
    scratch_.per_thread =
        ScratchLayout::Align(static_cast<size_t>(k_ * tile_)) + 4 * static_cast<size_t>(tile_) * 4;
    return absl::OkStatus();
  }

  // Scratch: the packed weights when they are not constant (shared); per
  // thread, an im2col tile (8-bit) and four rows of accumulators.
  size_t ScratchBytes(int threads) const override { return scratch_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    if (p_.x_dtype == DataType::kInt8) {
      RunTyped<int8_t>(ctx, in, out);
    } else {
      RunTyped<uint8_t>(ctx, in, out);
    }
  }

 private:
  size_t packed_bytes() const {
    return static_cast<size_t>(p_.geo.out_channels * k_) * sizeof(int16_t);
  }

  // packed[oc, k] = w[oc, k] - w_zp[oc or 0]; sums[oc] = sum_k packed[oc, k].
  void PackWeights(const void* w, const void* w_zp, int16_t* packed, int32_t* sums) const {
    for (int64_t oc = 0; oc < p_.geo.out_channels; ++oc) {
      const int32_t zp = w_zp ? IntAt(w_zp, p_.w_dtype, p_.w_zp_per_channel ? oc : 0) : 0;
      int32_t sum = 0;
      for (int64_t k = 0; k < k_; ++k) {
        const int32_t v = IntAt(w, p_.w_dtype, oc * k_ + k) - zp;
        packed[oc * k_ + k] = static_cast<int16_t>(v);
        sum += v;
      }
      sums[oc] = sum;
    }
  }

  template <typename TX>
  void RunTyped(const RunContext& ctx, std::span<const void* const> in,
                std::span<void* const> out) const {
    const ConvSlots& s = p_.slots;
    const ConvGeometry& g = p_.geo;
    const TX* x = static_cast<const TX*>(in[s.x]);
    const int32_t xz = p_.has_x_zp ? IntAt(in[s.x_zp], p_.x_dtype, 0) : 0;
    const int16_t* packed = packed_.data();
    const int32_t* sums = row_sums_.data();
    if (!prepacked_) {
      int16_t* pk = reinterpret_cast<int16_t*>(scratch_.Shared(ctx));
      int32_t* sm = reinterpret_cast<int32_t*>(scratch_.Shared(ctx) +
                                               ScratchLayout::Align(packed_bytes()));
      PackWeights(in[s.w], p_.has_w_zp ? in[s.w_zp] : nullptr, pk, sm);
      packed = pk;
      sums = sm;
    }
    // Requantization parameters (QLinearConv).
    float x_scale = 0.0f, y_scale = 1.0f;
    const float* w_scale = nullptr;
    int32_t yz = 0;
    const int32_t* bias = nullptr;
    if constexpr (kQLinear) {
      x_scale = *static_cast<const float*>(in[s.x_scale]);
      w_scale = static_cast<const float*>(in[s.w_scale]);
      y_scale = *static_cast<const float*>(in[s.y_scale]);
      yz = p_.has_y_zp ? IntAt(in[s.y_zp], p_.y_dtype, 0) : 0;
      bias = p_.has_bias ? static_cast<const int32_t*>(in[s.bias]) : nullptr;
    }
    const int64_t in_plane = g.in_plane();
    const int64_t cg = g.in_channels / g.group;
    const int64_t tasks = g.batch * g.group * tiles_;
    const size_t y_size = DataTypeSize(p_.y_dtype);
    std::byte* y = static_cast<std::byte*>(out[0]);
    ParallelFor(ctx, tasks, [&](int64_t begin, int64_t end, int slot) {
      std::byte* mine = scratch_.Slot(ctx, slot);
      TX* col = reinterpret_cast<TX*>(mine);
      uint32_t* acc =
          reinterpret_cast<uint32_t*>(mine + ScratchLayout::Align(static_cast<size_t>(k_ * tile_)));
      for (int64_t t = begin; t < end; ++t) {
        const int64_t tile = t % tiles_;
        const int64_t ng = t / tiles_;
        const int64_t n = ng / g.group, grp = ng % g.group;
        const int64_t p0 = tile * tile_;
        const int64_t len = std::min(tile_, out_plane_ - p0);
        const TX* xg = x + (n * g.in_channels + grp * cg) * in_plane;
        Im2Col<TX>(g, xg, p0, len, 0, k_, col, static_cast<TX>(xz));
        for (int64_t m0 = 0; m0 < mg_; m0 += 4) {
          const int rows = static_cast<int>(std::min<int64_t>(4, mg_ - m0));
          const int64_t oc0 = grp * mg_ + m0;
          IntGemmRows<TX>(rows, packed + oc0 * k_, k_, col, len, k_, len, acc);
          for (int r = 0; r < rows; ++r) {
            const int64_t oc = oc0 + r;
            // sum_k w'(x - xz) + B = sum_k w'x - xz * sum_k w' + B (mod 2^32).
            uint32_t offset = 0u - static_cast<uint32_t>(xz) * static_cast<uint32_t>(sums[oc]);
            float mult = 0.0f;
            if constexpr (kQLinear) {
              if (bias != nullptr) offset += static_cast<uint32_t>(bias[oc]);
              mult = x_scale * w_scale[p_.w_scale_per_channel ? oc : 0];
              mult = mult / y_scale;
            }
            std::byte* yrow = y + ((n * g.out_channels + oc) * out_plane_ + p0) * y_size;
            StoreRow(p_.y_dtype, acc + r * len, len, &mult, false, yz,
                     static_cast<int32_t>(offset), yrow);
          }
        }
      }
    });
  }

  QConvParams p_;
  int64_t k_ = 0;          // rows of the im2col matrix: C/group * kernel size
  int64_t out_plane_ = 0;  // output positions per image
  int64_t mg_ = 0;         // output channels per group
  int64_t tile_ = 0;       // output positions per im2col tile
  int64_t tiles_ = 0;
  bool prepacked_ = false;
  std::vector<int16_t> packed_;   // [M, K]: w - w_zero_point
  std::vector<int32_t> row_sums_;  // [M]
  ScratchLayout scratch_;
};

// ---------------------------------------------------------------------------
// QLinearMatMul, MatMulInteger

struct MatMulSlots {
  int a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp;
};
constexpr MatMulSlots kQLinearMatMulSlots{0, 1, 2, 3, 4, 5, 6, 7};
constexpr MatMulSlots kMatMulIntegerSlots{0, -1, 2, 1, -1, 3, -1, -1};

// Where a per-row (A) or per-column (B) parameter's entries are: entry
// index[mat * count + i] for row / column i of the operand's matrix `mat`;
// `uniform` when the parameter has one element.
struct ParamMap {
  bool present = false;
  bool uniform = true;
  int64_t count = 0;
  std::vector<int64_t> index;

  int64_t At(int64_t mat, int64_t i) const { return uniform ? 0 : index[mat * count + i]; }
};

struct QMatMulParams {
  bool qlinear = false;
  MatMulSlots slots{};
  DataType a_dtype = DataType::kUndefined, b_dtype = DataType::kUndefined;
  DataType y_dtype = DataType::kUndefined;
  int64_t m = 1, k = 1, n = 1;
  int64_t a_mats = 1, b_mats = 1;  // matrices in A and in B
  Dims y_shape;
  std::vector<int64_t> a_mat, b_mat;  // per output batch: matrix of A and of B
  ParamMap a_zp, a_scale, b_zp, b_scale;
  bool has_y_zp = false;
};

// Maps a parameter of shape `param` onto an operand of shape `operand` (rank
// >= 2): it must broadcast into it (numpy, right-aligned) and be constant
// along axis `fixed_axis` (K); its entries vary along `vary_axis` (rows of A
// or columns of B) and the batch dims.
absl::StatusOr<ParamMap> MapParam(const std::string& op, const char* name, const char* operand_name,
                                  const TensorInfo& t, const Dims& operand, bool per_row) {
  ParamMap map;
  map.present = true;
  if (NumElements(t.shape) == 1) return map;
  const size_t rank = operand.size();
  const auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": ", name, " has shape ", ShapeString(t.shape), ", expected one element (per tensor) or ",
        per_row ? "per row of " : "per column of ", operand_name, " ", ShapeString(operand),
        per_row ? " ([M] or broadcastable with a 1 in the last dim)"
                : " ([N] or broadcastable with a 1 in the second-to-last dim)"));
  };
  if (rank < 2) return bad();
  Dims shape = t.shape;
  if (per_row && shape.size() == 1) {
    // Opset 10: a 1-D per-row parameter of A has M elements.
    if (shape[0] != operand[rank - 2]) return bad();
    shape = {shape[0], 1};
  }
  if (shape.size() > rank) return bad();
  auto b = BroadcastShapes(shape, operand);
  if (!b.ok() || *b != operand) return bad();
  const std::vector<int64_t> strides = BroadcastStrides(shape, operand);
  const size_t fixed_axis = per_row ? rank - 1 : rank - 2;
  const size_t vary_axis = per_row ? rank - 2 : rank - 1;
  if (strides[fixed_axis] != 0 && operand[fixed_axis] != 1) return bad();
  map.uniform = false;
  map.count = operand[vary_axis];
  const Dims batch(operand.begin(), operand.end() - 2);
  const int64_t mats = NumElements(batch);
  map.index.resize(static_cast<size_t>(mats * map.count));
  std::vector<int64_t> idx(batch.size(), 0);
  for (int64_t mat = 0; mat < mats; ++mat) {
    int64_t base = 0;
    for (size_t d = 0; d < batch.size(); ++d) base += idx[d] * strides[d];
    for (int64_t i = 0; i < map.count; ++i) {
      map.index[mat * map.count + i] = base + i * strides[vary_axis];
    }
    for (int d = static_cast<int>(batch.size()) - 1; d >= 0; --d) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  return map;
}

absl::StatusOr<QMatMulParams> ParseQMatMul(bool qlinear, std::span<const TensorInfo> inputs) {
  const std::string op = qlinear ? "QLinearMatMul" : "MatMulInteger";
  QMatMulParams p;
  p.qlinear = qlinear;
  p.slots = qlinear ? kQLinearMatMulSlots : kMatMulIntegerSlots;
  if (qlinear) {
    ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 8, 8, op));
  } else {
    ENGINE_RETURN_IF_ERROR(CheckInputCount(inputs, 2, 4, op));
  }
  const MatMulSlots& s = p.slots;
  const TensorInfo* a = Slot(inputs, s.a);
  const TensorInfo* b = Slot(inputs, s.b);
  if (a == nullptr || b == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": both matrix operands are required"));
  }
  ENGINE_RETURN_IF_ERROR(CheckData(op, "A", *a));
  ENGINE_RETURN_IF_ERROR(CheckData(op, "B", *b));
  p.a_dtype = a->dtype;
  p.b_dtype = b->dtype;
  if (a->shape.empty() || b->shape.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": operands must have rank >= 1, got A ",
                                                   ShapeString(a->shape), " and B ",
                                                   ShapeString(b->shape)));
  }
  // numpy matmul: a 1-D A is a row [1, K], a 1-D B a column [K, 1].
  Dims as = a->shape, bs = b->shape;
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  p.m = as[as.size() - 2];
  p.k = as.back();
  p.n = bs.back();
  if (bs[bs.size() - 2] != p.k) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": A ", ShapeString(a->shape), " and B ", ShapeString(b->shape),
                     " have different inner dimensions (", p.k, " vs ", bs[bs.size() - 2], ")"));
  }
  const Dims a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  auto batch = BroadcastShapes(a_batch, b_batch);
  if (!batch.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": batch dimensions of A ",
                                                   ShapeString(a->shape), " and B ",
                                                   ShapeString(b->shape), " do not broadcast"));
  }
  p.y_shape = *batch;
  if (!a_vec) p.y_shape.push_back(p.m);
  if (!b_vec) p.y_shape.push_back(p.n);
  p.a_mats = NumElements(a_batch);
  p.b_mats = NumElements(b_batch);
  const int64_t batches = NumElements(*batch);
  const std::vector<int64_t> a_strides = BroadcastStrides(a_batch, *batch);
  const std::vector<int64_t> b_strides = BroadcastStrides(b_batch, *batch);
  std::vector<int64_t> idx(batch->size(), 0);
  for (int64_t i = 0; i < batches; ++i) {
    int64_t ai = 0, bi = 0;
    for (size_t d = 0; d < idx.size(); ++d) {
      ai += idx[d] * a_strides[d];
      bi += idx[d] * b_strides[d];
    }
    p.a_mat.push_back(ai);
    p.b_mat.push_back(bi);
    for (int d = static_cast<int>(idx.size()) - 1; d >= 0; --d) {
      if (++idx[d] < (*batch)[d]) break;
      idx[d] = 0;
    }
  }
  // Zero points and scales.
  if (const TensorInfo* t = Slot(inputs, s.a_zp)) {
    ENGINE_RETURN_IF_ERROR(CheckZeroPointType(op, "a_zero_point", *t, "A", a->dtype));
    ENGINE_ASSIGN_OR_RETURN(p.a_zp, MapParam(op, "a_zero_point", "A", *t, as, true));
  }
  if (const TensorInfo* t = Slot(inputs, s.b_zp)) {
    ENGINE_RETURN_IF_ERROR(CheckZeroPointType(op, "b_zero_point", *t, "B", b->dtype));
    ENGINE_ASSIGN_OR_RETURN(p.b_zp, MapParam(op, "b_zero_point", "B", *t, bs, false));
  }
  if (!qlinear) {
    p.y_dtype = DataType::kInt32;
    return p;
  }
  for (auto [slot, name] : {std::pair{s.a_scale, "a_scale"}, std::pair{s.b_scale, "b_scale"},
                            std::pair{s.y_scale, "y_scale"}}) {
    const TensorInfo* t = Slot(inputs, slot);
    if (t == nullptr) return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " is required"));
    ENGINE_RETURN_IF_ERROR(CheckScaleInput(op, name, *t));
  }
  ENGINE_ASSIGN_OR_RETURN(p.a_scale, MapParam(op, "a_scale", "A", inputs[s.a_scale], as, true));
  ENGINE_ASSIGN_OR_RETURN(p.b_scale, MapParam(op, "b_scale", "B", inputs[s.b_scale], bs, false));
  ENGINE_RETURN_IF_ERROR(CheckOneElement(op, "y_scale", inputs[s.y_scale]));
  p.y_dtype = a->dtype;
  if (const TensorInfo* t = Slot(inputs, s.y_zp)) {
    ENGINE_RETURN_IF_ERROR(CheckData(op, "y_zero_point", *t));
    ENGINE_RETURN_IF_ERROR(CheckOneElement(op, "y_zero_point", *t));
    p.y_dtype = t->dtype;
    p.has_y_zp = true;
  }
  return p;
}

absl::StatusOr<std::vector<TensorInfo>> InferQLinearMatMul(const Attributes& attrs,
                                                           std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(QMatMulParams p, ParseQMatMul(true, inputs));
  return std::vector<TensorInfo>{MakeInfo(p.y_dtype, p.y_shape)};
}

absl::StatusOr<std::vector<TensorInfo>> InferMatMulInteger(const Attributes& attrs,
                                                           std::span<const TensorInfo> inputs) {
  ENGINE_ASSIGN_OR_RETURN(QMatMulParams p, ParseQMatMul(false, inputs));
  return std::vector<TensorInfo>{MakeInfo(p.y_dtype, p.y_shape)};
}

// dst[mat, r, c] = src[mat, r, c] - zp[entry of (mat, r) or (mat, c)].
void Subtract(const void* src, DataType dtype, const void* zp, const ParamMap& map, bool per_row,
              int64_t mats, int64_t rows, int64_t cols, int16_t* dst) {
  for (int64_t mat = 0; mat < mats; ++mat) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t base = (mat * rows + r) * cols;
      int16_t* out = dst + base;
      if (zp == nullptr || map.uniform || per_row) {
        const int32_t z = zp == nullptr ? 0 : IntAt(zp, dtype, map.At(mat, r));
        if (dtype == DataType::kInt8) {
          const int8_t* in = static_cast<const int8_t*>(src) + base;
          for (int64_t c = 0; c < cols; ++c) out[c] = static_cast<int16_t>(in[c] - z);
        } else {
          const uint8_t* in = static_cast<const uint8_t*>(src) + base;
          for (int64_t c = 0; c < cols; ++c) out[c] = static_cast<int16_t>(in[c] - z);
        }
      } else {
        for (int64_t c = 0; c < cols; ++c) {
          out[c] = static_cast<int16_t>(IntAt(src, dtype, base + c) -
                                        IntAt(zp, dtype, map.At(mat, c)));
        }
      }
    }
  }
}

template <bool kQLinear>
class QMatMulKernel final : public Kernel {
 public:
  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(p_, ParseQMatMul(kQLinear, inputs));
    ENGINE_RETURN_IF_ERROR(CheckOutputs(outputs, {MakeInfo(p_.y_dtype, p_.y_shape)},
                                        kQLinear ? "QLinearMatMul" : "MatMulInteger"));
    const TensorInfo& b = inputs[p_.slots.b];
    const TensorInfo* b_zp = Slot(inputs, p_.slots.b_zp);
    if (b.constant != nullptr && (b_zp == nullptr || b_zp->constant != nullptr)) {
      b_packed_.resize(static_cast<size_t>(p_.b_mats * p_.k * p_.n));
      Subtract(b.constant->data(), p_.b_dtype, b_zp ? b_zp->constant->data() : nullptr, p_.b_zp,
               false, p_.b_mats, p_.k, p_.n, b_packed_.data());
      prepacked_ = true;
    }
    scratch_.shared = ScratchLayout::Align(a_bytes()) + (prepacked_ ? 0 : b_bytes());
    // Per thread: four accumulator rows, four multipliers per column.
    scratch_.per_thread = ScratchLayout::Align(4 * static_cast<size_t>(p_.n) * sizeof(uint32_t)) +
                          static_cast<size_t>(p_.n) * sizeof(float);
    return absl::OkStatus();
  }

  // Scratch: A (and B when not constant) minus the zero points, as int16
  // (shared); per thread, four rows of accumulators and a row of multipliers.
  size_t ScratchBytes(int threads) const override { return scratch_.Bytes(threads); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    const MatMulSlots& s = p_.slots;
    const int64_t m = p_.m, k = p_.k, n = p_.n;
    int16_t* a16 = reinterpret_cast<int16_t*>(scratch_.Shared(ctx));
    Subtract(in[s.a], p_.a_dtype, p_.a_zp.present ? in[s.a_zp] : nullptr, p_.a_zp, true,
             p_.a_mats, m, k, a16);
    const int16_t* b16 = b_packed_.data();
    if (!prepacked_) {
      int16_t* dst = reinterpret_cast<int16_t*>(scratch_.Shared(ctx) + ScratchLayout::Align(a_bytes()));
      Subtract(in[s.b], p_.b_dtype, p_.b_zp.present ? in[s.b_zp] : nullptr, p_.b_zp, false,
               p_.b_mats, k, n, dst);
      b16 = dst;
    }
    const float* a_scale = kQLinear ? static_cast<const float*>(in[s.a_scale]) : nullptr;
    const float* b_scale = kQLinear ? static_cast<const float*>(in[s.b_scale]) : nullptr;
    const float y_scale = kQLinear ? *static_cast<const float*>(in[s.y_scale]) : 1.0f;
    const int32_t yz = kQLinear && p_.has_y_zp ? IntAt(in[s.y_zp], p_.y_dtype, 0) : 0;
    const size_t y_size = DataTypeSize(p_.y_dtype);
    std::byte* y = static_cast<std::byte*>(out[0]);
    const int64_t batches = static_cast<int64_t>(p_.a_mat.size());
    const int64_t row_blocks = (m + 3) / 4;
    ParallelFor(ctx, batches * row_blocks, [&](int64_t begin, int64_t end, int slot) {
      std::byte* mine = scratch_.Slot(ctx, slot);
      uint32_t* acc = reinterpret_cast<uint32_t*>(mine);
      float* mult = reinterpret_cast<float*>(
          mine + ScratchLayout::Align(4 * static_cast<size_t>(n) * sizeof(uint32_t)));
      for (int64_t t = begin; t < end; ++t) {
        const int64_t batch = t / row_blocks;
        const int64_t r0 = (t % row_blocks) * 4;
        const int rows = static_cast<int>(std::min<int64_t>(4, m - r0));
        const int64_t am = p_.a_mat[batch], bm = p_.b_mat[batch];
        IntGemmRows<int16_t>(rows, a16 + (am * m + r0) * k, k, b16 + bm * k * n, n, k, n, acc);
        for (int r = 0; r < rows; ++r) {
          bool per_column = false;
          if constexpr (kQLinear) {
            const float as = a_scale[p_.a_scale.At(am, r0 + r)];
            per_column = !p_.b_scale.uniform;
            for (int64_t c = 0; c < (per_column ? n : 1); ++c) {
              const float ab = as * b_scale[p_.b_scale.At(bm, c)];
              mult[c] = ab / y_scale;
            }
          }
          std::byte* yrow = y + ((batch * m + r0 + r) * n) * y_size;
          StoreRow(p_.y_dtype, acc + r * n, n, mult, per_column, yz, 0, yrow);
        }
      }
    });
  }

 private:
  size_t a_bytes() const { return static_cast<size_t>(p_.a_mats * p_.m * p_.k) * sizeof(int16_t); }
  size_t b_bytes() const { return static_cast<size_t>(p_.b_mats * p_.k * p_.n) * sizeof(int16_t); }

  QMatMulParams p_;
  bool prepacked_ = false;
  std::vector<int16_t> b_packed_;  // B - b_zero_point, when constant
  ScratchLayout scratch_;
};

}  // namespace

KernelDef MakeQLinearConvDef() {
  return MakeDef<QConvKernel<true>>("QLinearConv", InferQLinearConv);
}

KernelDef MakeConvIntegerDef() {
  return MakeDef<QConvKernel<false>>("ConvInteger", InferConvInteger);
}

KernelDef MakeQLinearMatMulDef() {
  return MakeDef<QMatMulKernel<true>>("QLinearMatMul", InferQLinearMatMul);
}

KernelDef MakeMatMulIntegerDef() {
  return MakeDef<QMatMulKernel<false>>("MatMulInteger", InferMatMulInteger);
}

}  // namespace engine::kernels
