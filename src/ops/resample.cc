// Resampling and layout: Resize (and the legacy Upsample, imported as
// Resize), ConvTranspose, DepthToSpace, SpaceToDepth.
//
// Accelerator mapping:
//  - ConvTranspose runs on the systolic array as the GEMM its host kernel
//    does (src/kernels/conv_transpose.cc): per group, [M/g * kernel elements]
//    x [C/g] x [N * input positions] (weights W_g^T, the input read as is),
//    whose accumulator tiles are scatter-added into the output (col2im) by the
//    vector unit as the tile's epilogue, 1 add per product element. The
//    product, not the output, is what the store moves: kernel/stride^2 times
//    the output (equal for the usual kernel == stride upsampling layer). The
//    alternative, a convolution over the zero-stuffed input, would cost
//    stride^d times the multiply-adds, most of them on zeros.
//  - Int8ConvTranspose is a composite layer (hw::LayerKind::kComposite) so
//    that every output element is one complete int32 sum drained from one
//    accumulator tile and requantized once (2 epilogue ops per element, as
//    Int8Conv; common/requant.h):
//      * kernel taps that never overlap (kernel <= stride): one piece,
//        "product", the FP32 layer's GEMM above with int8 operands; every
//        product element is a whole output element;
//      * overlapping taps (kernel > stride): the sub-pixel decomposition
//        (Shi et al., CVPR 2016, section 2.2; kernels::AxisPhases): one
//        piece per output phase (s1 * ... * sk of them, "phase<r_h>,<r_w>"),
//        each a stride-1 convolution over the whole input X with the
//        sub-kernel of the taps landing on that phase (dilation d / gcd(s,
//        d) in input positions): per group, K = C/g * taps, M = M/g, P =
//        N * the phase's output positions. Each piece reads X (s^d reads in
//        all), its sub-kernel's int8 weights (all pieces together: W once)
//        plus the bias, and stores its phase's output elements (all pieces
//        together: Y once, written with a stride of s per axis; DMA burst
//        efficiency is not modeled). MACs: sum over phases of C/g * M * taps *
//        outputs, about C/g * M * K * input positions (a phase's border
//        outputs count their taps that read the padding, as a padded
//        convolution does). A phase no tap
//        reaches (kernel < stride) is a fill with the bias. Pieces run one
//        after the other (the composite's barrier between pieces). 3-D: the
//        depth phase's output planes fold into the batch and its taps into
//        K (the input window is then counted per depth tap).
//    The host kernel (kernels/int8_layers.cc) computes the same int32 sums
//    in another order (GEMM + col2im in two's complement); integer addition
//    is exact, so the requantized results are identical.
//  - Resize runs on the vector unit; ops per output element by mode over the
//    d axes it actually resizes: nearest 1 (an index computation and a
//    gather), linear 2^d multiply-adds, cubic 4^d.
//  - DepthToSpace / SpaceToDepth are pure permutations: DMA.
//  - GridSample runs on the vector unit like Resize, a gather with
//    interpolation: per output element its taps (nearest 1, bilinear 4,
//    bicubic 16 multiply-adds) plus the coordinate arithmetic of its output
//    position (unnormalize, pad, floor, weights: ~8 ops for bilinear and
//    nearest, ~24 for bicubic's 4 + 4 weights and 8 padded coordinates),
//    shared by the C channels. Grid is read once (its bytes are an input).
//  - RoiAlign runs on the vector unit: per output element, samples per bin
//    (sampling_ratio^2; adaptive: the grid of a roi covering the whole
//    scaled image, ceil(H * scale / out_h) * ceil(W * scale / out_w), an
//    upper estimate since the rois are data) times 4 multiply-adds, plus
//    ~10 ops per sample for its weights, shared by the C channels.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/conv_transpose_geometry.h"
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// Resize and Upsample written at opset <= 10 (Upsample 7-9, Resize 10) have
// one coordinate transformation, asymmetric, and ONNX Runtime's "simple"
// nearest rounding (floor upsampling, ceil downsampling); the version
// converter turns them into Resize-11+ without saying so (its default would
// be half_pixel / round_prefer_floor). The importer makes it explicit.
void SetLegacyResizeAttrs(Attributes& attrs) {
  attrs.Set("coordinate_transformation_mode", std::string("asymmetric"));
  attrs.Set("nearest_mode", std::string("simple"));
  if (attrs.Has("mode")) {
    const std::string mode = attrs.GetString("mode", "nearest").value_or("nearest");
    if (mode == "bilinear" || mode == "trilinear") attrs.Set("mode", std::string("linear"));
  }
}

// Resize: Resize-10 (X, scales) left unconverted becomes (X, "", scales, "");
// legacy forms get their coordinate rules (SetLegacyResizeAttrs).
absl::Status ImportResize(const ImportNode& node, ImportSink& sink) {
  if (!node.tensor_attrs.empty()) {
    return absl::UnimplementedError(absl::StrCat("Resize attribute '",
                                                 node.tensor_attrs.begin()->first,
                                                 "' has kind TENSOR, which is not supported"));
  }
  Attributes attrs = node.attrs;
  std::vector<std::string> inputs = node.inputs;
  const bool legacy = node.source_opset <= 10 || inputs.size() == 2;
  if (inputs.size() == 2) inputs = {inputs[0], "", inputs[1], ""};
  if (legacy) SetLegacyResizeAttrs(attrs);
  return sink.AddLayer(node.name, "Resize", std::move(attrs), inputs, node.outputs);
}

// Upsample (opsets 7-9; 10 deprecated) when the version converter leaves it:
// scales as an attribute (7) or an input (9); always asymmetric.
absl::Status ImportUpsample(const ImportNode& node, ImportSink& sink) {
  if (node.inputs.empty() || node.outputs.empty()) {
    return absl::InvalidArgumentError("Upsample needs an input and an output");
  }
  Attributes attrs;
  attrs.Set("mode", node.attrs.GetString("mode", "nearest").value_or("nearest"));
  SetLegacyResizeAttrs(attrs);
  std::string scales;
  if (node.inputs.size() >= 2 && !node.inputs[1].empty()) {
    scales = node.inputs[1];
  } else if (node.attrs.Has("scales")) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<float> s, node.attrs.GetFloats("scales", {}));
    Tensor t(DataType::kFloat32, Dims{static_cast<int64_t>(s.size())});
    std::copy(s.begin(), s.end(), t.data_as<float>());
    scales = node.outputs[0] + "__upsample_scales";
    sink.AddConstant(scales, std::move(t));
  } else {
    return absl::InvalidArgumentError("Upsample has neither a scales attribute nor input");
  }
  return sink.AddLayer(node.name, "Resize", std::move(attrs), {node.inputs[0], "", scales, ""},
                       node.outputs);
}

// RoiAlign's samples per bin at build time (see the file comment).
double RoiSamplesPerBin(const LayerView& n) {
  const int64_t s = n.attrs.Int("sampling_ratio", 0);
  if (s > 0) return static_cast<double>(s) * static_cast<double>(s);
  const Dims& x = n.inputs[0].shape;
  if (x.size() != 4) return 1;
  const double scale = std::fabs(n.attrs.Float("spatial_scale", 1.0f));
  const double gh = std::ceil(static_cast<double>(x[2]) * scale /
                              static_cast<double>(std::max<int64_t>(n.attrs.Int("output_height", 1), 1)));
  const double gw = std::ceil(static_cast<double>(x[3]) * scale /
                              static_cast<double>(std::max<int64_t>(n.attrs.Int("output_width", 1), 1)));
  return std::max(gh * gw, 1.0);
}

// Channels of a [N, C, ...] input (>= 1), over which per-position work is shared.
double Channels(const LayerView& n) {
  const Dims& x = n.inputs[0].shape;
  return x.size() >= 2 ? static_cast<double>(std::max<int64_t>(x[1], 1)) : 1.0;
}

// Number of axes whose output size differs from the input's (at least 1).
int ResizedAxes(const LayerView& n) {
  int d = 0;
  if (n.inputs.empty() || n.outputs.empty()) return 1;
  const Dims& in = n.inputs[0].shape;
  const Dims& out = n.outputs[0].shape;
  for (size_t i = 0; i < in.size() && i < out.size(); ++i) d += in[i] != out[i] ? 1 : 0;
  return std::max(d, 1);
}

}  // namespace

OpDef ResizeOp() {
  OpDef op;
  op.type = "Resize";
  op.min_opset = 10;
  op.import = ImportResize;
  op.host = kernels::MakeResizeDef();
  op.device.unit = hw::LayerKind::kVector;
  // nearest: index + gather, 1; linear: 2^d multiply-adds; cubic: 4^d.
  op.device.ops_per_element = [](const LayerView& n) {
    const std::string mode = n.attrs.GetString("mode", "nearest").value_or("nearest");
    if (mode == "nearest") return 1.0;
    const int d = ResizedAxes(n);
    double taps = 1;
    for (int i = 0; i < d; ++i) taps *= mode == "cubic" ? 4 : 2;
    return taps;
  };
  // Nearest is a gather: int8 values at one scale stay exact. Extrapolated
  // elements (tf_crop_and_resize) are exact only for the value 0.
  op.int8.role = Int8Role::kPassThrough;
  op.int8.pass_through_if = [](const Attributes& a) {
    return a.GetString("mode", "nearest").value_or("") == "nearest" &&
           (a.GetString("coordinate_transformation_mode", "half_pixel").value_or("") !=
                "tf_crop_and_resize" ||
            a.GetFloat("extrapolation_value", 0.0f).value_or(1.0f) == 0.0f);
  };
  return op;
}

OpDef GridSampleOp() {
  OpDef op;
  op.type = "GridSample";
  op.min_opset = 16;
  op.host = kernels::MakeGridSampleDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    const std::string mode = n.attrs.GetString("mode", "bilinear").value_or("bilinear");
    if (mode == "nearest") return 1.0 + 8.0 / Channels(n);
    if (mode == "bicubic" || mode == "cubic") return 16.0 + 24.0 / Channels(n);
    return 4.0 + 8.0 / Channels(n);
  };
  return op;
}

// RoiAlign-10 has no coordinate_transformation_mode: its coordinates are
// those of output_half_pixel (opset 16 made half_pixel the default).
absl::Status ImportRoiAlign(const ImportNode& node, ImportSink& sink) {
  if (!node.tensor_attrs.empty()) {
    return absl::UnimplementedError(absl::StrCat("RoiAlign attribute '",
                                                 node.tensor_attrs.begin()->first,
                                                 "' has kind TENSOR, which is not supported"));
  }
  Attributes attrs = node.attrs;
  if (node.source_opset < 16 && !attrs.Has("coordinate_transformation_mode")) {
    attrs.Set("coordinate_transformation_mode", std::string("output_half_pixel"));
  }
  return sink.AddLayer(node.name, "RoiAlign", std::move(attrs), node.inputs, node.outputs);
}

OpDef RoiAlignOp() {
  OpDef op;
  op.type = "RoiAlign";
  op.min_opset = 10;
  op.import = ImportRoiAlign;
  op.host = kernels::MakeRoiAlignDef();
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    return RoiSamplesPerBin(n) * (4.0 + 10.0 / Channels(n));
  };
  return op;
}

OpDef UpsampleOp() {
  OpDef op;
  op.type = "Upsample";
  op.min_opset = 7;
  // Left at its own opset by the converter (or after a fallback conversion),
  // it may appear in a model converted to a newer opset.
  op.import = ImportUpsample;
  return op;
}

namespace {

// ConvTranspose on the array: X [N, C, spatial], W [C, M/g, kernel]: per
// group, [M/g * K] x [C/g] x [N * input positions], plus the col2im
// scatter-add (1 op per product element) as the tile epilogue.
void TransposedConvProduct(const LayerView& n, hw::GemmWorkload& g) {
  const Dims& x = n.inputs[0].shape;
  const Dims& w = n.inputs[1].shape;
  const int64_t group = n.attrs.Int("group", 1);
  g.groups = group;
  g.k = w[0] / group;
  g.m = Prod(w, 1);
  g.batch = x[0];
  const int64_t positions = Prod(x, 2);
  g.p = g.batch * positions;
  g.conv = false;
  g.in_h = g.out_h = 1;
  g.in_w = g.out_w = positions;
  g.epilogue_ops_per_element = 1;
  if (n.Has(2)) g.bias_bytes = ByteSize(n.inputs[2]) / group;
}

DeviceSpec ConvTransposeDevice() {
  DeviceSpec d;
  d.unit = hw::LayerKind::kArray;
  d.weight_input = 1;
  d.bias_input = 2;
  d.gemm = TransposedConvProduct;
  return d;
}

// Int8ConvTranspose (see the file comment): the pieces of the composite.
// Shapes: X int8 [N, C, spatial], W int8 [C, M/g, kernel], B int32 [M]
// (optional), Y int8 (or float32, the float-output form) [N, M, out].
// Errors: Internal naming the layer when the geometry does not parse.
absl::Status DescribeInt8ConvTranspose(const LayerView& n, Precision precision,
                                       hw::LayerWorkload& w) {
  if (n.inputs.size() < 2 || !n.Has(0) || !n.Has(1) || n.outputs.empty()) {
    return absl::InternalError(
        absl::StrCat(n.name, " (Int8ConvTranspose): needs X, W and an output"));
  }
  absl::StatusOr<kernels::ConvTransposeGeometry> geo =
      kernels::ParseConvTransposeGeometry(n.attrs, n.inputs, "Int8ConvTranspose");
  if (!geo.ok()) {
    return absl::InternalError(absl::StrCat(n.name, " (Int8ConvTranspose): ", geo.status().message()));
  }
  const kernels::ConvTransposeGeometry& t = *geo;
  const int64_t bias_bytes = n.Has(2) ? ByteSize(n.inputs[2]) / std::max<int64_t>(1, t.group) : 0;
  const int64_t out_elem = ByteSize(n.outputs[0]) / std::max<int64_t>(1, NumElements(n.outputs[0].shape));
  auto fill_operands = [&](hw::GemmWorkload& g) {
    g.precision = precision;
    g.input_tensor = n.InputTensor(0);
    g.weight_tensor = n.InputTensor(1);
    g.output_tensor = n.OutputTensor(0);
    g.input_bytes = ByteSize(n.inputs[0]);
    g.epilogue_ops_per_element += 2;  // the requantization as the tile drains
  };
  if (!t.TapsOverlap()) {
    // Every product element is a complete output sum: the FP32 layer's
    // product (and its col2im placement), int8 operands.
    hw::LayerWorkload part;
    part.name = "product";
    part.kind = hw::LayerKind::kArray;
    TransposedConvProduct(n, part.gemm);
    fill_operands(part.gemm);
    part.gemm.weight_bytes = ByteSize(n.inputs[1]) + part.gemm.bias_bytes * part.gemm.groups;
    part.gemm.output_bytes = ByteSize(n.outputs[0]);
    w.parts.push_back(std::move(part));
    return absl::OkStatus();
  }
  // Overlapping taps: one stride-1 convolution per output phase (sub-pixel
  // decomposition, kernels::AxisPhases), each with the taps landing on it.
  const std::vector<kernels::TransposedConvAxisPhase> pd = kernels::AxisPhases(t, 0);
  const std::vector<kernels::TransposedConvAxisPhase> ph = kernels::AxisPhases(t, 1);
  const std::vector<kernels::TransposedConvAxisPhase> pw = kernels::AxisPhases(t, 2);
  const int64_t cg = t.c / t.group, mg = t.m / t.group;
  for (const auto& a : pd) {
    for (const auto& b : ph) {
      for (const auto& c : pw) {
        hw::LayerWorkload part;
        part.name = t.spatial == 3   ? absl::StrCat("phase", a.phase, ",", b.phase, ",", c.phase)
                    : t.spatial == 2 ? absl::StrCat("phase", b.phase, ",", c.phase)
                                     : absl::StrCat("phase", c.phase);
        part.kind = hw::LayerKind::kArray;
        hw::GemmWorkload& g = part.gemm;
        const int64_t taps = a.taps * b.taps * c.taps;
        g.groups = t.group;
        g.k = cg * taps;  // 0: a phase no tap reaches is the bias (a fill)
        g.m = mg;
        g.conv = true;
        g.batch = t.n * a.outputs;  // 3-D: output depth planes of the phase
        g.in_h = t.in[1];
        g.in_w = t.in[2];
        g.out_h = b.outputs;
        g.out_w = c.outputs;
        g.p = g.batch * g.out_h * g.out_w;
        g.kernel_h = b.taps;
        g.kernel_w = c.taps;
        g.dilation_h = b.input_dilation;
        g.dilation_w = c.input_dilation;
        g.bias_bytes = bias_bytes;
        fill_operands(g);
        g.weight_bytes = t.c * mg * taps + bias_bytes * g.groups;  // int8 sub-kernel + bias
        g.output_bytes = t.n * t.m * a.outputs * b.outputs * c.outputs * out_elem;
        w.parts.push_back(std::move(part));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

OpDef ConvTransposeOp() {
  OpDef op;
  op.type = "ConvTranspose";
  op.host = kernels::MakeConvTransposeDef();
  op.device = ConvTransposeDevice();
  op.int8.role = Int8Role::kTransposedConvProduct;
  return op;
}

OpDef Int8ConvTransposeOp() {
  OpDef op;
  op.type = "Int8ConvTranspose";
  op.importable = false;
  op.host = kernels::MakeInt8ConvTransposeDef();
  op.device.unit = hw::LayerKind::kComposite;
  op.device.composite = DescribeInt8ConvTranspose;
  op.device.int8_operands = true;  // int8 pieces, also for the float-output form
  return op;
}

OpDef DepthToSpaceOp() {
  OpDef op;
  op.type = "DepthToSpace";
  op.host = kernels::MakeDepthToSpaceDef();
  op.device = DmaDevice();
  op.int8.role = Int8Role::kPassThrough;  // a permutation
  return op;
}

OpDef SpaceToDepthOp() {
  OpDef op;
  op.type = "SpaceToDepth";
  op.host = kernels::MakeSpaceToDepthDef();
  op.device = DmaDevice();
  op.int8.role = Int8Role::kPassThrough;  // a permutation
  return op;
}

}  // namespace engine::ops
