// One definition per op: everything the engine knows about an ONNX operator
// or an engine-internal layer type, in one record (OpDef), registered in one
// explicit list (op_registry.cc, RegisterBuiltinOps).
//
// A record bundles:
//  - its ONNX identity: domain, op type, opset range (import);
//  - its importer: how an ONNX node becomes engine layers (the default maps it
//    1:1 to a layer of the same type); IR-free, over the ImportSink interface
//    that the parser implements;
//  - its host kernel: shape/dtype inference and the kernel factory
//    (kernels::KernelDef, implemented in src/kernels/);
//  - its accelerator mapping: the unit that runs it and how its work is
//    described for the cost model and the lowering (DeviceSpec);
//  - its INT8 behaviour (Int8Spec) and whether it can be fused as an
//    activation epilogue.
//
// This module depends on src/common, src/kernels and src/hw only (no IR, no
// ONNX protobuf, no plan schema), so the executor can use it without the
// builder's dependencies. See docs/adding_an_op.md.
#ifndef ENGINE_OPS_OP_DEF_H_
#define ENGINE_OPS_OP_DEF_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/attributes.h"
#include "engine/tensor.h"
#include "hw/workload.h"
#include "kernels/kernel.h"

namespace engine::ops {

// ---------------------------------------------------------------------------
// Import

/// One ONNX node as an importer sees it: attributes converted to engine
/// values (TENSOR-kind attributes separately, as tensors), tensor names as
/// written in the model ("" for an absent optional input or output).
struct ImportNode {
  std::string name;     ///< ONNX node name, or "<op_type>_<index>" when unnamed
  std::string domain;   ///< "" for the default ONNX domain
  std::string op_type;
  int opset = 0;         ///< default-domain opset of the model after conversion
  int source_opset = 0;  ///< default-domain opset as written in the model
  Attributes attrs;      ///< INT, FLOAT, STRING, INTS, FLOATS attributes
  std::map<std::string, Tensor> tensor_attrs;  ///< TENSOR attributes by name
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

/// What an importer may do to the graph being built. Implemented by the
/// parser over its IR; every layer added is attributed to the ONNX node being
/// imported (its name is kept in the layer's ONNX node list).
class ImportSink {
 public:
  virtual ~ImportSink() = default;
  /// The value of a constant tensor (initializer, Constant output or folded
  /// value) by ONNX name; nullptr when it is not a constant or not defined.
  virtual const Tensor* ConstantValue(const std::string& name) = 0;
  /// Rank of a tensor per ONNX shape inference; -1 when unknown.
  virtual int RankOf(const std::string& name) = 0;
  /// Adds a layer of `type` named `name` reading `inputs` ("" = absent
  /// optional input) and defining `outputs`. Errors: InvalidArgument when an
  /// input name was never defined.
  virtual absl::Status AddLayer(const std::string& name, const std::string& type,
                                Attributes attrs, const std::vector<std::string>& inputs,
                                const std::vector<std::string>& outputs) = 0;
  /// Defines `name` as a constant tensor.
  virtual void AddConstant(const std::string& name, Tensor value) = 0;
};

/// Converts one ONNX node into layers. Errors: InvalidArgument (malformed
/// node), Unimplemented (a valid form the engine does not support); the
/// parser adds the file, node and op to the message.
using ImportFn = std::function<absl::Status(const ImportNode& node, ImportSink& sink)>;

/// The default importer: one layer of the node's op type with all its
/// attributes, inputs and outputs.
absl::Status ImportOneToOne(const ImportNode& node, ImportSink& sink);

// ---------------------------------------------------------------------------
// Accelerator mapping

/// An IR-free view of one layer with static shapes, as the accelerator
/// mapping sees it. `inputs[i].present` is false for an absent optional
/// input; `constant` is set for constant inputs.
struct LayerView {
  std::string name;
  std::string_view type;
  const Attributes& attrs;
  std::span<const kernels::TensorInfo> inputs;
  std::span<const kernels::TensorInfo> outputs;
  /// Plan tensor index of each input / output (-1 when the plan has none,
  /// e.g. while costing a fusion before the plan exists). Same length as
  /// inputs / outputs, or empty (all -1).
  std::span<const int32_t> input_tensors;
  std::span<const int32_t> output_tensors;

  bool Has(size_t i) const { return i < inputs.size() && inputs[i].present; }
  int32_t InputTensor(size_t i) const {
    return i < input_tensors.size() ? input_tensors[i] : -1;
  }
  int32_t OutputTensor(size_t i) const {
    return i < output_tensors.size() ? output_tensors[i] : -1;
  }
};

/// Operations per output element of a vector-unit layer (a compare, a
/// multiply-add, a few for transcendental approximations).
using OpsPerElementFn = std::function<double(const LayerView&)>;
/// Tiles of a vector layer hold whole multiples of this many output
/// elements (e.g. a softmax row); >= 1.
using TileUnitFn = std::function<int64_t(const LayerView&)>;
/// Fills the product geometry (groups, K, M, P, convolution window, bias
/// bytes) of an array layer; operand tensors, bytes, precision and the
/// epilogue are filled by DescribeDeviceWork.
using GemmGeometryFn = std::function<void(const LayerView&, hw::GemmWorkload&)>;
/// Fills the pieces (hw::LayerWorkload::parts) of a kComposite layer, each a
/// complete kArray / kVector workload with its operands' tensors and bytes.
/// Errors: Internal when the layer's shapes do not fit the description.
using CompositeFn = std::function<absl::Status(const LayerView&, Precision, hw::LayerWorkload&)>;

/// How a layer runs on the modeled accelerator.
struct DeviceSpec {
  /// The unit that runs the layer; every op with a host kernel must declare
  /// one (OpRegistry::Register checks), kView for layers with no device work.
  std::optional<hw::LayerKind> unit;
  /// kVector layers: operations per output element (and the cost of the
  /// layer when fused as an activation epilogue). nullptr = 0 (kDma).
  OpsPerElementFn ops_per_element;
  /// kVector layers: tile unit; nullptr = 1.
  TileUnitFn tile_unit;
  /// kVector statistics normalizations: the operations per output element
  /// that compute the statistics (part of ops_per_element). When > 0, a tile
  /// unit too large for the on-chip buffers is streamed in two passes over
  /// its input (hw::VectorWorkload::stats_ops_per_element); 0 = never split.
  double stats_ops_per_element = 0;
  /// kArray layers: product geometry.
  GemmGeometryFn gemm;
  /// kComposite layers: the pieces (required for that unit).
  CompositeFn composite;
  /// kArray layers: position of the weight operand, of the bias (-1: none)
  /// and of a fused residual operand (-1: none).
  int weight_input = 1;
  int bias_input = -1;
  int residual_input = -1;
  /// The operands are int8 whatever the output type (ConvInteger, the
  /// engine's Int8 layers).
  bool int8_operands = false;
  /// Integer layers that requantize every output element on the way out of
  /// the accumulators (a multiply and a rounding shift): 2 ops per element.
  bool requantizes = false;
  /// A grouped convolution with one filter per group (depthwise) may run on
  /// the vector unit instead (one multiply-accumulate per op).
  bool depthwise_vector_alternative = false;
  /// When set, checked first by DescribeDeviceWork: an error fails the
  /// description (plugin ops: the plugin's device_work call failed or gave
  /// an invalid cost). nullptr = always OK.
  std::function<absl::Status(const LayerView&)> validate;
};

// ---------------------------------------------------------------------------
// INT8 behaviour (implicit quantization, builder/quantize_int8.cc)

enum class Int8Role : uint8_t {
  kFloat = 0,          ///< stays FP32 (Int8Spec::reason says why)
  kPassThrough = 1,    ///< commutes with a positive scale: int8 in, int8 out, same scale
  kAveragePool = 2,    ///< runs as Int8Spec::int8_type when its input is int8
  kConvProduct = 3,    ///< becomes Int8Conv (per-channel weights, fused epilogue)
  kMatrixProduct = 4,  ///< becomes Int8Gemm (per-channel weights)
  kConcat = 5,         ///< int8 copy at one shared scale per Concat group
  /// becomes Int8ConvTranspose (per-output-channel weights, no fused
  /// activation)
  kTransposedConvProduct = 6,
  /// Max / Min of int8 activations: Int8Spec::int8_type (Int8Max / Int8Min),
  /// each input requantized to the output's calibrated scale
  kElementwiseMinMax = 7,
  /// Attention with float activations Q, K, V: becomes Int8Attention (Q, K,
  /// V int8 per tensor, probabilities int8 at scale 1/127)
  kAttention = 8,
};

struct Int8Spec {
  Int8Spec() = default;
  /// {role, int8_type}, as the records write it.
  Int8Spec(Int8Role r, std::string type = {}) : role(r), int8_type(std::move(type)) {}

  Int8Role role = Int8Role::kFloat;
  /// The integer layer type the rewrite produces (kAveragePool,
  /// kElementwiseMinMax).
  std::string int8_type;
  /// kPassThrough only: when set, the layer passes int8 through only if this
  /// returns true for its attributes (e.g. Resize: mode "nearest", a gather,
  /// but not linear or cubic, which interpolate); nullptr = always.
  std::function<bool(const Attributes&)> pass_through_if;
};

// Data-dependent extents

/// How a layer treats an input tensor one of whose dimensions is
/// data-dependent (stored at its upper bound; only the first `extent` entries
/// along it are valid). The layer runs at the bound; the rule says where the
/// dimension goes in its outputs, and PropagateExtent checks the conditions
/// under which running at the bound gives the valid entries exactly.
enum class ExtentRule : uint8_t {
  /// The layer needs the static extent (a reduction, softmax, product over
  /// or beside it, ...): the build fails naming the layer and the tensor.
  kRefuse = 0,
  /// Elementwise with broadcasting (unary, binary, variadic, Cast, Where):
  /// the dimension stays in place (aligned from the right); every other input
  /// has 1 there or the same data-dependent dimension.
  kElementwise,
  /// Gather: data's dimension off `axis` moves to its output position, or an
  /// indices dimension does (the indices past the extent are zero: in
  /// range); data's gathered axis refuses.
  kGather,
  /// Transpose: follows `perm`.
  kTranspose,
  /// Reshape / Flatten / Squeeze / Unsqueeze / Identity: the valid entries
  /// must stay a leading block: either the dimension keeps its size with the
  /// same element counts before and after it, or nothing non-unit precedes
  /// it in the input nor in the output (the extent then scales by the ratio
  /// of the trailing element counts: [n, 3] -> [-1] has extent 3n).
  kReshape,
  /// Slice and Concat: on other axes only (Slice's axes a build-time
  /// constant; Concat: every input with the same data-dependent dimension).
  kOtherAxes,
};

// ---------------------------------------------------------------------------
// The record

struct OpDef {
  /// Layer type; for ONNX ops, the ONNX op type.
  std::string type;
  /// ONNX domain ("" = default) and the opsets whose semantics the engine
  /// implements. Older opsets are converted first (parser).
  std::string domain;
  int min_opset = 1;
  int max_opset = 25;
  /// false: an engine-internal layer type (Int8Conv, ...) that no ONNX model
  /// may name.
  bool importable = true;
  /// nullptr = ImportOneToOne.
  ImportFn import;
  /// Host kernel (type, inference, factory, foldable). `host.create` is
  /// nullptr for an import-only op that its importer rewrites into other
  /// layers (Constant, Dropout).
  kernels::KernelDef host;
  DeviceSpec device;
  Int8Spec int8;
  /// May be fused into a Conv/Gemm epilogue as its "activation" attribute
  /// (fuse-activation); the kernels implement it in kernels::Activation.
  bool epilogue_activation = false;
  /// How the layer takes an input with a data-dependent (bounded) dimension
  /// (ops/extent.h PropagateExtent); kRefuse: the build fails naming it.
  ExtentRule extent = ExtentRule::kRefuse;

  bool has_kernel() const { return static_cast<bool>(host.create); }
};

/// The device work of a layer described by `def` (hw::LayerWorkload): unit,
/// product geometry or vector work, operand tensors and bytes, precision.
/// A vector or DMA layer's workload lists every present output (tensor and
/// bytes), so its modeled stores write them all; an array layer stores its
/// first output only (the recurrent layers' Y_h / Y_c are not modeled).
/// `activation_def` is the record of a fused epilogue activation (the
/// layer's "activation" attribute), or nullptr. Errors: Internal when the
/// layer's shapes do not fit its unit's description.
absl::StatusOr<hw::LayerWorkload> DescribeDeviceWork(const OpDef& def, const LayerView& layer,
                                                     const OpDef* activation_def);

}  // namespace engine::ops

#endif  // ENGINE_OPS_OP_DEF_H_
