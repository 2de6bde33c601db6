// Elementwise math, logic and activation ops on the vector unit (issue 17):
// unary math (Exp, Log, Sqrt, ..., trigonometry), activations (Elu, Selu,
// Celu, Softplus, Softsign, ThresholdedRelu, Mish, Gelu, Shrink), the axis
// activations Hardmax and LogSoftmax, broadcasting Pow, Mod, comparisons,
// boolean logic, BitShift, Where and the variadic Min, Max, Mean. Host kernels
// in src/kernels/elementwise_math.cc and elementwise_logic.cc.
//
// Vector-unit cost, in operations per output element. One op is one simple
// lane operation (add, multiply or fused multiply-add, compare, select,
// min/max, abs, bit operation, float<->int rounding); the unit has no special
// function hardware, so transcendental functions are charged as the usual
// range reduction plus polynomial sequences (Cephes-style, as in the host's
// vectorized expf):
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/defs.h"
#include "ops/op_def.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

// exp: range reduction (multiply by log2 e, round, subtract) + degree-5
// polynomial (5 multiply-adds): 8 ops.
constexpr double kExpOps = 8;
// log: exponent/mantissa split (2) + degree-5 polynomial (5) + scale-add (1).
constexpr double kLogOps = 8;
// 1/x and sqrt: seed + Newton-Raphson iterations, as Div (4 ops).
constexpr double kRecipOps = 4;
constexpr double kSqrtOps = 4;
// sin, cos: quadrant reduction (3) + degree-7 polynomial (4) + quadrant
// sign/select (3).
constexpr double kSinCosOps = 10;
// atan: reduction of |x| > 1 through a reciprocal (4) + degree-7 odd
// polynomial in x^2 (4) + fix-up (2).
constexpr double kAtanOps = 10;
// erf: clamp, x^2, odd minimax polynomial (7 multiply-adds), final multiply.
constexpr double kErfOps = 10;
// tanh as the existing Tanh record (4).
constexpr double kTanhOps = 4;
// softplus: max(x, 0) + log1p(exp(-|x|)): abs, exp, log, add, max.
constexpr double kSoftplusOps = kExpOps + kLogOps + 3;

OpDef Vector(const std::string& type, kernels::KernelDef host, double ops) {
  OpDef op;
  op.type = type;
  op.host = std::move(host);
  op.device = VectorDevice(ops);
  return op;
}

// Unary, binary (broadcasting) and variadic math take a data-dependent
// extent elementwise (ops/extent.h).
OpDef Unary(const std::string& type, double ops) {
  OpDef op = Vector(type, kernels::MakeMathUnaryDef(type), ops);
  op.extent = ExtentRule::kElementwise;
  return op;
}

OpDef Binary(const std::string& type, double ops) {
  OpDef op = Vector(type, kernels::MakeLogicBinaryDef(type), ops);
  op.extent = ExtentRule::kElementwise;
  return op;
}

// Hardmax / LogSoftmax before opset 13 coerced the input to 2-D at `axis`
// (default 1): [prod(shape[:axis]), prod(shape[axis:])], op along the second
// dimension. Rewritten as Flatten(axis) -> op(axis = 1) -> Reshape(Shape(X)),
// all ONNX ops, so the engine's layer has the opset-13 semantics. (The
// version converter normally does this while upgrading the model to opset
// 13; this covers nodes imported at their own opset.)
absl::Status ImportAxisActivation(const ImportNode& node, ImportSink& sink) {
  if (node.opset >= 13) return ImportOneToOne(node, sink);
  if (node.inputs.size() != 1 || node.outputs.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(node.op_type, " expects 1 input and 1 output"));
  }
  const int64_t axis = node.attrs.Int("axis", 1);
  const std::string& x = node.inputs[0];
  const std::string flat = node.name + "/coerced_2d";
  const std::string y2d = node.name + "/output_2d";
  const std::string shape = node.name + "/input_shape";
  Attributes flatten_attrs;
  flatten_attrs.Set("axis", axis);
  if (auto s = sink.AddLayer(node.name + "/Flatten", "Flatten", flatten_attrs, {x}, {flat});
      !s.ok()) {
    return s;
  }
  Attributes op_attrs;
  op_attrs.Set("axis", int64_t{1});
  if (auto s = sink.AddLayer(node.name, node.op_type, op_attrs, {flat}, {y2d}); !s.ok()) return s;
  if (auto s = sink.AddLayer(node.name + "/Shape", "Shape", Attributes(), {x}, {shape}); !s.ok()) {
    return s;
  }
  return sink.AddLayer(node.name + "/Reshape", "Reshape", Attributes(), {y2d, shape},
                       node.outputs);
}

// Tile unit of an axis activation: whole slices along `axis` stay on chip.
int64_t AxisTileUnit(const LayerView& n) {
  const Dims& out = n.outputs[0].shape;
  if (out.empty()) return 1;
  int64_t axis = n.attrs.Int("axis", -1);
  if (axis < 0) axis += static_cast<int64_t>(out.size());
  return std::max<int64_t>(1, out[static_cast<size_t>(
                                  std::clamp<int64_t>(axis, 0, out.size() - 1))]);
}

OpDef AxisActivation(const std::string& type, double ops) {
  OpDef op = Vector(type, kernels::MakeAxisActivationDef(type), ops);
  op.import = ImportAxisActivation;
  op.device.tile_unit = AxisTileUnit;
  return op;
}

OpDef Variadic(const std::string& type, double extra) {
  OpDef op;
  op.type = type;
  op.host = kernels::MakeVariadicDef(type);
  op.device.unit = hw::LayerKind::kVector;
  // One min/max/add per additional input (at least 1), plus `extra`.
  op.device.ops_per_element = [extra](const LayerView& n) {
    return std::max<double>(1, static_cast<double>(n.inputs.size()) - 1.0) + extra;
  };
  op.extent = ExtentRule::kElementwise;
  return op;
}

}  // namespace

// Unary math.
OpDef ExpOp() { return Unary("Exp", kExpOps); }
OpDef LogOp() { return Unary("Log", kLogOps); }
OpDef SqrtOp() { return Unary("Sqrt", kSqrtOps); }
OpDef ReciprocalOp() { return Unary("Reciprocal", kRecipOps); }
OpDef NegOp() { return Unary("Neg", 1); }    // sign flip
OpDef AbsOp() { return Unary("Abs", 1); }    // sign clear
OpDef FloorOp() { return Unary("Floor", 1); }  // one rounding conversion
OpDef CeilOp() { return Unary("Ceil", 1); }
OpDef RoundOp() { return Unary("Round", 1); }
OpDef SignOp() { return Unary("Sign", 2); }  // two compares merged by a select
OpDef ErfOp() { return Unary("Erf", kErfOps); }
OpDef SinOp() { return Unary("Sin", kSinCosOps); }
OpDef CosOp() { return Unary("Cos", kSinCosOps); }
OpDef TanOp() { return Unary("Tan", kSinCosOps + kRecipOps); }  // sin and cos share the reduction, then a divide
OpDef AsinOp() { return Unary("Asin", kSqrtOps + 2 + kAtanOps); }  // atan(x / sqrt(1 - x^2))
OpDef AcosOp() { return Unary("Acos", kSqrtOps + 3 + kAtanOps); }  // pi/2 - asin(x)
OpDef AtanOp() { return Unary("Atan", kAtanOps); }
OpDef SinhOp() { return Unary("Sinh", kExpOps + kRecipOps + 2); }  // (e^x - 1/e^x) / 2
OpDef CoshOp() { return Unary("Cosh", kExpOps + kRecipOps + 2); }  // (e^x + 1/e^x) / 2
OpDef AsinhOp() { return Unary("Asinh", kLogOps + kSqrtOps + 2); }  // log(x + sqrt(x^2 + 1))
OpDef AcoshOp() { return Unary("Acosh", kLogOps + kSqrtOps + 2); }  // log(x + sqrt(x^2 - 1))
OpDef AtanhOp() { return Unary("Atanh", kLogOps + kRecipOps + 3); }  // log((1+x)/(1-x)) / 2
OpDef IsNaNOp() { return Unary("IsNaN", 1); }  // x != x
OpDef IsInfOp() { return Unary("IsInf", 2); }  // |x| == inf, then the sign filter
OpDef NotOp() { return Unary("Not", 1); }

// Activations.
OpDef EluOp() { return Unary("Elu", kExpOps + 3); }    // exp, subtract, scale, select
OpDef SeluOp() { return Unary("Selu", kExpOps + 3); }  // exp, multiply-subtract, scale, select
OpDef CeluOp() { return Unary("Celu", kExpOps + 5); }  // x/alpha, exp, scale, min, max, add
OpDef SoftplusOp() { return Unary("Softplus", kSoftplusOps); }
OpDef SoftsignOp() { return Unary("Softsign", kRecipOps + 2); }  // abs, add, divide
OpDef ThresholdedReluOp() { return Unary("ThresholdedRelu", 2); }  // compare, select
OpDef MishOp() {
  OpDef op = Unary("Mish", kSoftplusOps + kTanhOps + 1);  // softplus, tanh, multiply
  op.min_opset = 18;
  return op;
}
OpDef GeluOp() {
  OpDef op = Unary("Gelu", 0);
  op.min_opset = 20;
  // May be a Conv/Gemm epilogue (fuse-activation): "activation" = "Gelu" with
  // activation_alpha 0 (erf) or 1 (tanh), kernel_util.h GeluOf.
  op.epilogue_activation = true;
  // none: x / sqrt(2), erf, add 1, two multiplies; tanh: cubic (3), tanh, add 1,
  // two multiplies. As an epilogue `n` is the fused layer: the form is its
  // activation_alpha.
  op.device.ops_per_element = [](const LayerView& n) {
    bool tanh = false;
    if (n.type == "Gelu") {
      const absl::StatusOr<std::string> approx = n.attrs.GetString("approximate", "none");
      tanh = approx.ok() && *approx == "tanh";
    } else {
      const absl::StatusOr<float> alpha = n.attrs.GetFloat("activation_alpha", 0.0f);
      tanh = alpha.ok() && *alpha != 0.0f;
    }
    return tanh ? 3 + kTanhOps + 3 : 1 + kErfOps + 3;
  };
  return op;
}
OpDef ShrinkOp() { return Unary("Shrink", 4); }  // two compares, add/subtract bias, select
OpDef HardmaxOp() { return AxisActivation("Hardmax", 3); }  // running max compare+select, write
// max, subtract, exp, sum, subtract the log-sum (one log per slice, amortized).
OpDef LogSoftmaxOp() { return AxisActivation("LogSoftmax", kExpOps + 4); }

// Broadcasting binary math and logic.
OpDef PowOp() {
  OpDef op = Binary("Pow", 0);
  // exp(y * log(x)): log, multiply, exp; a constant scalar exponent 2 is one
  // multiply (the host kernel specializes it too).
  op.device.ops_per_element = [](const LayerView& n) {
    if (n.Has(1) && n.inputs[1].constant != nullptr && n.inputs[1].constant->num_elements() == 1 &&
        n.inputs[1].dtype == DataType::kFloat32 &&
        n.inputs[1].constant->data_as<float>()[0] == 2.0f) {
      return 1.0;
    }
    return kLogOps + 1 + kExpOps;
  };
  return op;
}
// Divide, truncate, multiply-subtract; fmod = 0 adds a sign fix-up (compare, add).
OpDef ModOp() {
  OpDef op = Binary("Mod", 0);
  op.device.ops_per_element = [](const LayerView& n) {
    return kRecipOps + 2 + (n.attrs.Int("fmod", 0) == 0 ? 2 : 0);
  };
  return op;
}
OpDef EqualOp() { return Binary("Equal", 1); }  // one compare
OpDef GreaterOp() { return Binary("Greater", 1); }
OpDef GreaterOrEqualOp() { return Binary("GreaterOrEqual", 1); }
OpDef LessOp() { return Binary("Less", 1); }
OpDef LessOrEqualOp() { return Binary("LessOrEqual", 1); }
OpDef AndOp() { return Binary("And", 1); }  // one bit operation
OpDef OrOp() { return Binary("Or", 1); }
OpDef XorOp() { return Binary("Xor", 1); }
OpDef BitShiftOp() { return Binary("BitShift", 1); }  // one shift
OpDef WhereOp() {  // one select
  OpDef op = Vector("Where", kernels::MakeWhereDef(), 1);
  op.extent = ExtentRule::kElementwise;
  return op;
}

// Variadic: N - 1 min/max/add; Mean also scales by 1/N (1). Min and Max of
// int8 activations become Int8Min / Int8Max in INT8 builds.
OpDef MinOp() {
  OpDef op = Variadic("Min", 0);
  op.int8 = {Int8Role::kElementwiseMinMax, "Int8Min"};
  return op;
}
OpDef MaxOp() {
  OpDef op = Variadic("Max", 0);
  op.int8 = {Int8Role::kElementwiseMinMax, "Int8Max"};
  return op;
}

// Int8Min / Int8Max on the vector unit, on int8 data: per input a
// requantization (a multiply and a rounding shift, 2 ops), then N - 1
// compares.
OpDef Int8VariadicOp(const std::string& type) {
  OpDef op;
  op.type = type;
  op.importable = false;
  op.host = kernels::MakeInt8VariadicDef(type);
  op.device.unit = hw::LayerKind::kVector;
  op.device.ops_per_element = [](const LayerView& n) {
    const double inputs = static_cast<double>(n.inputs.size());
    return 2.0 * inputs + std::max(0.0, inputs - 1.0);
  };
  return op;
}
OpDef Int8MinOp() { return Int8VariadicOp("Int8Min"); }
OpDef Int8MaxOp() { return Int8VariadicOp("Int8Max"); }
OpDef MeanOp() { return Variadic("Mean", 1); }

}  // namespace engine::ops
