#include "parser/onnx_parser.h"

#include <climits>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/tensor_proto.h"
#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/version_converter/convert.h"
#include "kernels/data_dependent.h"
#include "ops/op_registry.h"
#include "parser/import.h"
#include "parser/control_flow.h"
#include "parser/model_rewrite.h"
#include "parser/shape_propagation.h"

namespace engine::parser {
namespace {

int DomainOpset(const onnx::ModelProto& model, const std::string& domain) {
  const std::string d = domain == "ai.onnx" ? "" : domain;
  for (const auto& op : model.opset_import()) {
    const std::string od = op.domain() == "ai.onnx" ? "" : op.domain();
    if (od == d) return static_cast<int>(op.version());
  }
  return 0;
}

// ONNX 1.12's shape inference of convolutions and pooling
// (convPoolShapeInference, convTransposeShapeInference) trusts its inputs: it takes the kernel shape from
// W's dimensions without checking W's rank against X's (and reads past the end
// of its vectors when W has more), divides by `strides` values that may be 0,
// and for auto_pad SAME subtracts the stride from the input size in a loop.
// Malformed models crashed or hung the parser. ONNX shape inference runs with
// this registry, which checks those conditions first for the ops that use it.
class CheckedSchemaRegistry : public onnx::ISchemaRegistry {
 public:
  static const CheckedSchemaRegistry* Get() {
    static const CheckedSchemaRegistry* const registry = new CheckedSchemaRegistry();
    return registry;
  }

  const onnx::OpSchema* GetSchema(const std::string& key, const int max_inclusive_version,
                                  const std::string& domain) const override {
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(key, max_inclusive_version, domain);
    auto it = wrapped_.find(schema);
    return it == wrapped_.end() ? schema : &it->second;
  }

 private:
  // Input index of W, or 0 for pooling (no W).
  static void Check(onnx::InferenceContext& ctx, size_t w) {
    if (onnx::hasInputShape(ctx, 0) && onnx::getInputShape(ctx, 0).dim_size() < 3) {
      fail_shape_inference("X has rank ", onnx::getInputShape(ctx, 0).dim_size(),
                           ", must be at least 3 (N, C and a spatial axis)");
    }
    if (w > 0 && onnx::hasInputShape(ctx, 0) && onnx::hasInputShape(ctx, w) &&
        onnx::getInputShape(ctx, 0).dim_size() != onnx::getInputShape(ctx, w).dim_size()) {
      fail_shape_inference("X has rank ", onnx::getInputShape(ctx, 0).dim_size(),
                           " but W has rank ", onnx::getInputShape(ctx, w).dim_size());
    }
    for (const char* name : {"strides", "dilations"}) {
      const onnx::AttributeProto* a = ctx.getAttribute(name);
      if (a == nullptr) continue;
      for (int64_t v : a->ints()) {
        if (v < 1) fail_shape_inference("attribute '", name, "' has value ", v, ", must be >= 1");
      }
    }
    const onnx::AttributeProto* auto_pad = ctx.getAttribute("auto_pad");
    if (auto_pad != nullptr && auto_pad->s() != "NOTSET" && auto_pad->s() != "VALID" &&
        onnx::hasInputShape(ctx, 0)) {
      constexpr int64_t kMaxDim = int64_t{1} << 26;
      const auto& x = onnx::getInputShape(ctx, 0);
      for (int i = 2; i < x.dim_size(); ++i) {
        if (x.dim(i).has_dim_value() && x.dim(i).dim_value() > kMaxDim) {
          fail_shape_inference("spatial dimension ", x.dim(i).dim_value(), " of X exceeds ",
                               kMaxDim);
        }
      }
    }
  }

  // Fails shape inference when input `index` has a known shape whose rank is
  // not `rank`; `what` names the input and its layout in the message.
  static void RequireRank(onnx::InferenceContext& ctx, size_t index, int rank, const char* what) {
    if (ctx.getNumInputs() > index && onnx::hasInputShape(ctx, index) &&
        onnx::getInputShape(ctx, index).dim_size() != rank) {
      fail_shape_inference(what, " has rank ", onnx::getInputShape(ctx, index).dim_size(),
                           ", must be ", rank);
    }
  }

  // A guard runs before the library's inference function `inner` (which may
  // be empty) and decides whether and how to call it; fail_shape_inference
  // in a guard becomes the parser's InvalidArgument naming the node.
  using Guard =
      std::function<void(onnx::InferenceContext&, const onnx::InferenceFunction& inner)>;

  // Every version of the default-domain `op` runs `guard` instead of its own
  // inference function.
  void Wrap(const char* op, int max_opset, const Guard& guard) {
    for (int version = 1; version <= max_opset; ++version) {
      const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(op, version, "");
      if (schema == nullptr || wrapped_.count(schema)) continue;
      onnx::OpSchema copy = *schema;
      copy.TypeAndShapeInferenceFunction(
          [inner = schema->GetTypeAndShapeInferenceFunction(), guard](onnx::InferenceContext& ctx) {
            guard(ctx, inner);
          });
      wrapped_.emplace(schema, std::move(copy));
    }
  }

  CheckedSchemaRegistry() {
    const int max_opset = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("").second;
    const std::pair<const char*, size_t> kConvPoolOps[] = {
        {"Conv", 1},        {"ConvInteger", 1}, {"ConvTranspose", 1}, {"QLinearConv", 3},
        {"MaxPool", 0},     {"AveragePool", 0}, {"LpPool", 0}};
    for (const auto& [op, w] : kConvPoolOps) {
      Wrap(op, max_opset, [w = w](onnx::InferenceContext& ctx, const onnx::InferenceFunction& inner) {
        Check(ctx, w);
        if (inner) inner(ctx);
      });
    }
    // ONNX 1.12's shape inference of the RNN family before opset 7
    // (RNNShapeInference1) reads X's dims 0 and 1 without checking X's rank:
    // a rank-1 X read past the end of its dims (found by
    // fuzz/onnx_parser_fuzzer). X is [seq_length, batch_size, input_size]
    // (ONNX operator spec, RNN/GRU/LSTM), whatever the version.
    for (const char* op : {"RNN", "GRU", "LSTM"}) {
      Wrap(op, max_opset, [](onnx::InferenceContext& ctx, const onnx::InferenceFunction& inner) {
        RequireRank(ctx, 0, 3, "X [seq_length, batch_size, input_size]");
        if (inner) inner(ctx);
      });
    }
    // ONNX 1.12's Gemm inference before opset 7 indexes dims 0 and 1 of A
    // and B unchecked (SEGV on a rank-0 or rank-1 A or B, found by scanning
    // the ONNX node tests with every input's rank changed). A is [M, K] and B
    // [K, N] in every version (ONNX operator spec, Gemm).
    Wrap("Gemm", max_opset, [](onnx::InferenceContext& ctx, const onnx::InferenceFunction& inner) {
      RequireRank(ctx, 0, 2, "A [M, K]");
      RequireRank(ctx, 1, 2, "B [K, N]");
      if (inner) inner(ctx);
    });
    // ONNX 1.12's MaxUnpool inference (maxUnpoolShapeInference) reads dim 1
    // of I (input 1) unchecked when no output_shape is given: SEGV on an I of
    // rank < 2 (found by fuzz/onnx_parser_fuzzer: a model whose output_shape
    // took I's place). X is [N, C, D1, ...] and I has X's shape (ONNX
    // operator spec, MaxUnpool); without I's shape the engine's own
    // propagation decides.
    Wrap("MaxUnpool", max_opset, [](onnx::InferenceContext& ctx, const onnx::InferenceFunction& inner) {
      if (ctx.getNumInputs() < 2 || ctx.getInputType(1) == nullptr) {
        fail_shape_inference("MaxUnpool needs X and I");
      }
      if (onnx::hasInputShape(ctx, 0)) {
        const int rank = onnx::getInputShape(ctx, 0).dim_size();
        if (rank < 3) fail_shape_inference("X has rank ", rank, ", must be >= 3 ([N, C, D1, ...])");
        if (!onnx::hasInputShape(ctx, 1)) return;
        RequireRank(ctx, 1, rank, "I (X's shape)");
      }
      if (inner) inner(ctx);
    });
    // ONNX 1.12's STFT inference reads attribute onesided with default 0
    // where the schema's default is 1, so a model relying on the default
    // (its declared output shape right) fails the cross-check. Without the
    // attribute, ONNX inference leaves STFT's output to the engine's own
    // propagation (src/kernels/signal.cc), which implements the default.
    Wrap("STFT", max_opset, [](onnx::InferenceContext& ctx, const onnx::InferenceFunction& inner) {
      if (inner && ctx.getAttribute("onesided") != nullptr) inner(ctx);
    });
  }
  std::map<const onnx::OpSchema*, onnx::OpSchema> wrapped_;
};

std::string NodeLabel(const onnx::NodeProto& node, int index) {
  return absl::StrCat("node #", index, " '", node.name(), "' (",
                      node.domain().empty() ? "" : node.domain() + ".", node.op_type(), ")");
}

// A tensor's definition, for the structural checks' messages.
struct Definition {
  enum Kind { kGraphInput, kInitializer, kNode } kind;
  int node = -1;  ///< node index for kNode
};

// The project's own structural checks of the top-level graph, whatever the
// IR version (the ONNX checker is skipped for models newer than the library,
// and ir::Graph::AddValue renames a second definition, so the first would
// silently win): single assignment, every read defined earlier, every graph
// output defined. Subgraphs (If/Loop bodies) may read outer names: their
// importers check them.
absl::Status CheckGraphStructure(const onnx::GraphProto& g, const std::string& file) {
  const auto& nodes = g.node();
  auto describe = [&](const Definition& d) -> std::string {
    switch (d.kind) {
      case Definition::kGraphInput: return "a graph input";
      case Definition::kInitializer: return "an initializer";
      case Definition::kNode: return NodeLabel(nodes[d.node], d.node);
    }
    return "?";
  };
  auto dims_of = [](const onnx::TensorProto& t) {
    return absl::StrCat("[", absl::StrJoin(t.dims(), ","), "]");
  };
  absl::flat_hash_map<std::string, Definition> defined;
  absl::flat_hash_map<std::string, int> initializer_index;
  for (int i = 0; i < g.initializer_size(); ++i) {
    const onnx::TensorProto& init = g.initializer(i);
    auto [it, inserted] = initializer_index.emplace(init.name(), i);
    if (!inserted) {
      const onnx::TensorProto& first = g.initializer(it->second);
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": initializer '", init.name(), "' is defined twice (initializers #",
          it->second, " ", dims_of(first), " and #", i, " ", dims_of(init),
          "); a tensor name must be defined once"));
    }
    defined.emplace(init.name(), Definition{Definition::kInitializer});
  }
  absl::flat_hash_set<std::string> input_names;
  for (const auto& in : g.input()) {
    if (!input_names.insert(in.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": graph input '", in.name(), "' is listed twice"));
    }
    // An initializer listed as an input too is its default value (IR < 4 form).
    defined.emplace(in.name(), Definition{Definition::kGraphInput});
  }
  // Where each node output is defined, so a read of a later output says so.
  absl::flat_hash_map<std::string, int> node_output;
  for (int i = 0; i < nodes.size(); ++i) {
    for (const std::string& out : nodes[i].output()) {
      if (out.empty()) continue;  // an omitted optional output
      auto it = defined.find(out);
      if (it != defined.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            file, ": tensor '", out, "' is written by ", NodeLabel(nodes[i], i),
            it->second.kind == Definition::kNode && it->second.node == i
                ? " twice"
                : absl::StrCat(" but is already defined by ", describe(it->second)),
            "; a tensor must have one producer"));
      }
      defined.emplace(out, Definition{Definition::kNode, i});
      node_output.emplace(out, i);
    }
  }
  // Reads: defined by an input, an initializer or an earlier node.
  for (int i = 0; i < nodes.size(); ++i) {
    for (const std::string& in : nodes[i].input()) {
      if (in.empty()) continue;  // an omitted optional input
      auto it = defined.find(in);
      if (it == defined.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            file, ": ", NodeLabel(nodes[i], i), " reads '", in,
            "', which no node, initializer or graph input defines"));
      }
      if (it->second.kind == Definition::kNode && it->second.node >= i) {
        return absl::InvalidArgumentError(absl::StrCat(
            file, ": ", NodeLabel(nodes[i], i), " reads '", in, "' before ",
            describe(it->second), " writes it (nodes must be in topological order)"));
      }
    }
  }
  for (const auto& out : g.output()) {
    if (!defined.contains(out.name())) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": graph output '", out.name(),
          "' is not produced by any node, initializer or graph input"));
    }
  }
  return absl::OkStatus();
}

// Lists every node whose op the engine cannot import, in one error.
absl::Status CheckSupportedOps(const onnx::ModelProto& model, const std::string& file) {
  std::vector<std::string> problems;
  const auto& nodes = model.graph().node();
  for (int i = 0; i < nodes.size(); ++i) {
    const auto& node = nodes[i];
    int opset = DomainOpset(model, node.domain());
    std::string why;
    if (ops::OpRegistry::Builtin().FindImport(node.domain(), node.op_type(), opset, &why) ==
        nullptr) {
      problems.push_back(absl::StrCat(NodeLabel(node, i), ": ", why));
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat(file, ": ", problems.size(), " unsupported op",
                                               problems.size() == 1 ? "" : "s", ":\n  ",
                                               absl::StrJoin(problems, "\n  ")));
}

// Turns the inputs named in `input_values` into initializers.
absl::Status BindInputValues(onnx::ModelProto& model, const ParseOptions& options,
                             const std::string& file) {
  auto* graph = model.mutable_graph();
  for (const auto& [name, value] : options.input_values) {
    const onnx::ValueInfoProto* decl = nullptr;
    for (const auto& in : graph->input()) {
      if (in.name() == name) decl = &in;
    }
    if (decl == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": a build-time value is given for '", name,
                       "', which is not an input of the model"));
    }
    const auto& tt = decl->type().tensor_type();
    if (DataTypeFromOnnx(tt.elem_type()) != value.dtype()) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": build-time value for input '", name, "' is ", DataTypeName(value.dtype()),
          ", the model declares element type ", tt.elem_type()));
    }
    if (tt.has_shape()) {
      bool ok = tt.shape().dim_size() == static_cast<int>(value.shape().size());
      for (int i = 0; ok && i < tt.shape().dim_size(); ++i) {
        ok = !tt.shape().dim(i).has_dim_value() || tt.shape().dim(i).dim_value() == value.shape()[i];
      }
      if (!ok) {
        return absl::InvalidArgumentError(
            absl::StrCat(file, ": build-time value for input '", name, "' has shape ",
                         DimsToString(value.shape()), ", which the model's declaration rejects"));
      }
    }
    // An input with a default value (an initializer of the same name) gets
    // the bound value instead of a second definition.
    onnx::TensorProto* target = nullptr;
    for (auto& init : *graph->mutable_initializer()) {
      if (init.name() == name) target = &init;
    }
    *(target != nullptr ? target : graph->add_initializer()) = TensorToProto(value, name);
  }
  return absl::OkStatus();
}

// Applies --shapes pins to graph inputs and checks every input is static.
absl::Status PinInputShapes(onnx::ModelProto& model, const ParseOptions& options,
                            const std::string& file) {
  auto* graph = model.mutable_graph();
  std::unordered_map<std::string, bool> initializer;
  for (const auto& init : graph->initializer()) initializer[init.name()] = true;
  for (const auto& [name, dims] : options.input_shapes) {
    bool found = false;
    for (const auto& in : graph->input()) found = found || (in.name() == name && !initializer.count(name));
    if (!found) {
      std::vector<std::string> names;
      for (const auto& in : graph->input()) {
        if (!initializer.count(in.name())) names.push_back(in.name());
      }
      return absl::InvalidArgumentError(absl::StrCat(file, ": --shapes names '", name,
                                                     "', which is not an input of the model "
                                                     "(inputs: ",
                                                     absl::StrJoin(names, ", "), ")"));
    }
  }

  for (auto& input : *graph->mutable_input()) {
    if (initializer.count(input.name())) continue;
    if (!input.type().has_tensor_type()) {
      return absl::UnimplementedError(
          absl::StrCat(file, ": input '", input.name(), "' is not a tensor"));
    }
    // has_shape() is read before mutable_shape() creates an empty (scalar)
    // shape: a shapeless input is refused below, never taken as a scalar.
    const bool declared_shape = input.type().tensor_type().has_shape();
    auto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    auto pin = options.input_shapes.find(input.name());
    if (pin != options.input_shapes.end()) {
      const Dims& dims = pin->second;
      if (declared_shape && shape->dim_size() != static_cast<int>(dims.size())) {
        return absl::InvalidArgumentError(absl::StrCat(
            file, ": --shapes gives input '", input.name(), "' rank ", dims.size(), " (",
            DimsToString(dims), ") but the model declares rank ", shape->dim_size()));
      }
      auto min = options.input_min_shapes.find(input.name());
      for (size_t i = 0; i < dims.size(); ++i) {
        if (min != options.input_min_shapes.end() && i < min->second.size() &&
            min->second[i] != dims[i] && static_cast<int>(i) < shape->dim_size() &&
            shape->dim(i).has_dim_value()) {
          return absl::InvalidArgumentError(absl::StrCat(
              file, ": the optimization profile gives input '", input.name(), "' dimension ", i,
              " the range [", min->second[i], ", ", dims[i], "] but the model fixes it to ",
              shape->dim(i).dim_value()));
        }
        if (static_cast<int>(i) < shape->dim_size() && shape->dim(i).has_dim_value() &&
            shape->dim(i).dim_value() != dims[i]) {
          return absl::InvalidArgumentError(absl::StrCat(
              file, ": --shapes gives input '", input.name(), "' shape ", DimsToString(dims),
              " but the model fixes dimension ", i, " to ", shape->dim(i).dim_value()));
        }
      }
      shape->clear_dim();
      for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
      continue;
    }
    if (!declared_shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": input '", input.name(), "' has no shape; pin it with --shapes=", input.name(),
          ":<dims>, e.g. --shapes=", input.name(), ":1x3x224x224"));
    }
    for (int i = 0; i < shape->dim_size(); ++i) {
      const auto& d = shape->dim(i);
      if (!d.has_dim_value() || d.dim_value() < 0) {
        std::vector<std::string> dims;
        for (const auto& dd : shape->dim()) {
          dims.push_back(dd.has_dim_value() ? absl::StrCat(dd.dim_value())
                                            : (dd.dim_param().empty() ? "?" : dd.dim_param()));
        }
        return absl::InvalidArgumentError(absl::StrCat(
            file, ": input '", input.name(), "' has dynamic dimension ", i,
            d.dim_param().empty() ? "" : absl::StrCat(" ('", d.dim_param(), "')"), " in shape [",
            absl::StrJoin(dims, ","), "]; pin it with --shapes=", input.name(),
            ":<dims>, or give it a range with --minShapes/--optShapes/--maxShapes (an "
            "optimization profile)"));
      }
    }
  }
  // Every input's size, before ONNX shape inference or anything else works
  // with shapes derived from it.
  for (const auto& input : graph->input()) {
    if (initializer.count(input.name())) continue;
    Dims dims;
    for (const auto& d : input.type().tensor_type().shape().dim()) dims.push_back(d.dim_value());
    DataType dtype = DataTypeFromOnnx(input.type().tensor_type().elem_type());
    if (dtype == DataType::kUndefined) dtype = DataType::kUint8;  // refused at import
    ENGINE_RETURN_IF_ERROR(CheckTensorSize(
        absl::StrCat(file, ": input '", input.name(), "'"), dims, dtype,
        options.limits.max_tensor_bytes, "max_tensor_bytes"));
  }
  return absl::OkStatus();
}

// The node's input and output counts against its ONNX schema. The checker
// verifies them too, but it is skipped for models newer than the ONNX library,
// and importers index a node's inputs and outputs by position.
absl::Status CheckArity(const onnx::NodeProto& node, int index, int opset,
                        const std::string& file) {
  const std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
  const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, domain);
  if (schema == nullptr) return absl::OkStatus();  // not an ONNX op: its importer checks
  // A model newer than the ONNX library may use a later version of the op
  // than the schema found here (ReduceMean-18 takes `axes` as a second
  // input; the library knows ReduceMean-13): only the minimum counts are
  // checked then, the importer and kernel check the rest.
  const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  const auto range = ranges.find(domain.empty() ? std::string(onnx::ONNX_DOMAIN) : domain);
  const bool newer_than_library = range != ranges.end() && opset > range->second.second;
  const int max_input = newer_than_library ? INT_MAX : schema->max_input();
  const int max_output = newer_than_library ? INT_MAX : schema->max_output();
  auto in_range = [](int n, int lo, int hi) { return n >= lo && n <= hi; };
  if (!in_range(node.input_size(), schema->min_input(), max_input) ||
      !in_range(node.output_size(), schema->min_output(), max_output)) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": ", NodeLabel(node, index), " has ", node.input_size(), " inputs and ",
        node.output_size(), " outputs; its ONNX schema takes ", schema->min_input(), "..",
        schema->max_input(), " inputs and ", schema->min_output(), "..", schema->max_output(),
        " outputs"));
  }
  return absl::OkStatus();
}

// Every graph output must be a graph input, an initializer or a node output.
absl::Status CheckOutputsProduced(const onnx::ModelProto& model, const std::string& file) {
  const onnx::GraphProto& g = model.graph();
  absl::flat_hash_set<std::string> defined;
  for (const auto& in : g.input()) defined.insert(in.name());
  for (const auto& init : g.initializer()) defined.insert(init.name());
  for (const auto& node : g.node()) {
    for (const auto& out : node.output()) defined.insert(out);
  }
  for (const auto& out : g.output()) {
    if (!defined.contains(out.name())) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": graph output '", out.name(), "' is not produced by any node"));
    }
  }
  return absl::OkStatus();
}

// ONNX 1.12's version converter adapts Gemm 6 -> 7 by reading dims 0 and 1
// of A's and B's shapes (and C's shape) without checking that they are known
// or of rank 2 (SEGV on a rank-0 A, or on an A whose shape inference failed).
// For a model at opset <= 6, every Gemm's A and B must have a known rank-2
// shape and C a known shape (graph inputs, initializers, or value_info after
// ONNX shape inference) before the converter runs. Errors: InvalidArgument
// naming the file, node and input.
absl::Status CheckGemmConvertible(const onnx::ModelProto& model, const std::string& file) {
  const onnx::GraphProto& g = model.graph();
  const absl::flat_hash_map<std::string, int> rank = KnownRanks(g);
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    if (n.op_type() != "Gemm" || !(n.domain().empty() || n.domain() == "ai.onnx")) continue;
    const char* kNames[] = {"A", "B", "C"};
    for (int k = 0; k < 3; ++k) {
      const bool present = k < n.input_size() && !n.input(k).empty();
      if (!present && k == 2) continue;  // C is optional from opset 11; the converter sees none
      auto it = present ? rank.find(n.input(k)) : rank.end();
      if (it != rank.end() && (k == 2 || it->second == 2)) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": ", NodeLabel(n, i), ": input ", kNames[k],
          !present              ? std::string(" is missing")
          : it == rank.end()    ? absl::StrCat(" '", n.input(k), "' has no known shape")
                                : absl::StrCat(" '", n.input(k), "' has rank ", it->second),
          "; upgrading Gemm from opset ", DefaultOpset(model),
          " needs A and B of known rank-2 shapes and C of a known shape"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ir::Graph>> Import(const onnx::ModelProto& model,
                                                  const std::string& file, int source_opset,
                                                  const BuildLimits& limits) {
  auto graph = std::make_unique<ir::Graph>();
  const onnx::GraphProto& g = model.graph();
  graph->name = g.name();
  graph->producer = model.producer_name();
  graph->source_node_count = g.node_size();
  const int opset = DefaultOpset(model);

  if (g.sparse_initializer_size() > 0) {
    return absl::UnimplementedError(absl::StrCat(file, ": sparse initializers are not supported"));
  }
  for (const auto& init : g.initializer()) {
    const Dims dims(init.dims().begin(), init.dims().end());
    const DataType dtype = DataTypeFromOnnx(init.data_type());
    if (dtype != DataType::kUndefined) {
      ENGINE_RETURN_IF_ERROR(CheckTensorSize(absl::StrCat(file, ": initializer '", init.name(), "'"),
                                             dims, dtype, limits.max_constant_bytes,
                                             "max_constant_bytes"));
    }
    auto t = TensorFromProto(init);
    if (!t.ok()) return Annotate(t.status(), absl::StrCat(file, ": initializer '", init.name(), "'"));
    graph->AddConstant(init.name(), std::make_shared<Tensor>(std::move(t).value()));
  }
  for (const auto& input : g.input()) {
    if (graph->FindValue(input.name()) != nullptr) continue;  // initializer listed as input
    ir::Value* v = graph->AddValue(input.name());
    const auto& tt = input.type().tensor_type();
    v->dtype = DataTypeFromOnnx(tt.elem_type());
    if (v->dtype == DataType::kUndefined) {
      return absl::UnimplementedError(absl::StrCat(file, ": input '", input.name(),
                                                   "' has unsupported element type ",
                                                   tt.elem_type(), " (",
                                                   onnx::TensorProto_DataType_Name(tt.elem_type()),
                                                   ")"));
    }
    for (const auto& d : tt.shape().dim()) v->shape.push_back(d.dim_value());
    v->has_shape = true;
    graph->inputs().push_back(v);
  }
  // Ranks known from ONNX shape inference, for importers of legacy semantics.
  absl::flat_hash_map<std::string, int> ranks;
  auto note_rank = [&](const onnx::ValueInfoProto& vi) {
    if (vi.type().tensor_type().has_shape()) {
      ranks[vi.name()] = vi.type().tensor_type().shape().dim_size();
    }
  };
  for (const auto& vi : g.input()) note_rank(vi);
  for (const auto& vi : g.value_info()) note_rank(vi);
  const auto& nodes = g.node();
  for (int i = 0; i < nodes.size(); ++i) {
    const auto& node = nodes[i];
    std::string why;
    int node_opset = DomainOpset(model, node.domain());
    if (const ops::OpDef* legacy = ops::OpRegistry::Builtin().Find(node.op_type());
        legacy != nullptr && legacy->importable && legacy->domain.empty() &&
        (node.domain().empty() || node.domain() == "ai.onnx") && legacy->max_opset < node_opset &&
        source_opset <= legacy->max_opset) {
      node_opset = source_opset;  // held out of conversion: imported at its own opset
    }
    const ops::OpDef* def = ops::OpRegistry::Builtin().FindImport(node.domain(), node.op_type(),
                                                                  node_opset, &why);
    if (def == nullptr) {
      return absl::UnimplementedError(absl::StrCat(file, ": ", NodeLabel(node, i), ": ", why));
    }
    ENGINE_RETURN_IF_ERROR(CheckArity(node, i, node_opset, file));
    absl::Status s = [&]() -> absl::Status {
      ENGINE_ASSIGN_OR_RETURN(ops::ImportNode in, MakeImportNode(node, i, opset, source_opset));
      GraphImportSink sink(graph.get(), &in, i, &ranks);
      return def->import ? def->import(in, sink) : ops::ImportOneToOne(in, sink);
    }();
    if (!s.ok()) return Annotate(s, absl::StrCat(file, ": ", NodeLabel(node, i)));
  }
  for (const auto& output : g.output()) {
    ir::Value* v = graph->FindValue(output.name());
    if (v == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": graph output '", output.name(), "' is not produced by any node"));
    }
    if (graph->IsGraphOutput(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": graph output '", output.name(), "' is listed twice"));
    }
    graph->outputs().push_back(v);
  }
  if (graph->outputs().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": the graph has no outputs"));
  }
  return graph;
}

// The values with a data-dependent dimension (kernels/data_dependent.h):
// outputs of a data-dependent layer and everything computed from them.
std::set<const ir::Value*> DataDependentValues(const ir::Graph& graph) {
  std::set<const ir::Value*> dd;
  for (const auto& node : graph.nodes()) {
    bool tainted = false;
    std::vector<kernels::TensorInfo> infos;
    for (const ir::Value* in : node->inputs) {
      kernels::TensorInfo t;
      if (in == nullptr) {
        t.present = false;
      } else {
        t = kernels::TensorInfo{in->dtype, in->shape,
                                in->is_constant() ? in->constant.get() : nullptr, true};
        tainted = tainted || dd.count(in) > 0;
      }
      infos.push_back(std::move(t));
    }
    if (tainted || !kernels::DataDependentDims(node->op_type, node->attrs, infos).empty()) {
      for (const ir::Value* out : node->outputs) dd.insert(out);
    }
  }
  return dd;
}

// Compares our shapes with ONNX shape inference's where it found static ones
// (not for data-dependent tensors: the engine's shape is their upper bound,
// a model's declared shape the extent of the data its author ran).
absl::Status CrossCheckShapes(const onnx::ModelProto& model, const ir::Graph& graph,
                              const std::string& file) {
  const std::set<const ir::Value*> data_dependent = DataDependentValues(graph);
  auto check = [&](const onnx::ValueInfoProto& vi) -> absl::Status {
    ir::Value* v = graph.FindValue(vi.name());
    if (v == nullptr || !vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape() ||
        data_dependent.count(v) > 0) {
      return absl::OkStatus();
    }
    const auto& shape = vi.type().tensor_type().shape();
    if (shape.dim_size() != static_cast<int>(v->shape.size())) {
      bool all_static = true;
      for (const auto& d : shape.dim()) all_static = all_static && d.has_dim_value();
      if (!all_static) return absl::OkStatus();
    }
    for (int i = 0; i < shape.dim_size(); ++i) {
      if (!shape.dim(i).has_dim_value()) continue;
      if (i >= static_cast<int>(v->shape.size()) || shape.dim(i).dim_value() != v->shape[i]) {
        std::vector<std::string> dims;
        for (const auto& d : shape.dim()) {
          dims.push_back(d.has_dim_value() ? absl::StrCat(d.dim_value()) : "?");
        }
        return absl::InvalidArgumentError(absl::StrCat(
            file, ": tensor '", vi.name(), "': ONNX shape inference gives [",
            absl::StrJoin(dims, ","), "] but the engine computes ", DimsToString(v->shape)));
      }
    }
    return absl::OkStatus();
  };
  for (const auto& vi : model.graph().value_info()) ENGINE_RETURN_IF_ERROR(check(vi));
  for (const auto& vi : model.graph().output()) ENGINE_RETURN_IF_ERROR(check(vi));
  return absl::OkStatus();
}

// Collects the static shapes of `g`'s tensors and its subgraphs' into `out`.
void CollectShapes(const onnx::GraphProto& g, ShapeMap& out) {
  auto add = [&out](const onnx::ValueInfoProto& vi) {
    if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return;
    std::vector<int64_t> dims;
    for (const auto& d : vi.type().tensor_type().shape().dim()) {
      dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    }
    out[vi.name()] = std::move(dims);
  };
  for (const auto& vi : g.input()) add(vi);
  for (const auto& vi : g.value_info()) add(vi);
  for (const auto& vi : g.output()) add(vi);
  for (const auto& t : g.initializer()) out[t.name()] = {t.dims().begin(), t.dims().end()};
  for (const auto& n : g.node()) {
    for (const auto& a : n.attribute()) {
      if (a.has_g()) CollectShapes(a.g(), out);
      for (const auto& sg : a.graphs()) CollectShapes(sg, out);
    }
  }
}

// The control-flow lowering's shape oracle: ONNX shape inference (with data
// propagation, through the checked schema registry) on a copy of the model;
// what it cannot infer is simply absent.
ShapeMap InferredShapes(const onnx::ModelProto& model) {
  onnx::ModelProto copy = model;
  try {
    onnx::ShapeInferenceOptions o(/*check_type=*/false, /*error_mode=*/0,
                                  /*enable_data_propagation=*/true);
    onnx::shape_inference::InferShapes(copy, CheckedSchemaRegistry::Get(), o);
  } catch (const std::exception&) {
    // Partial results are kept in `copy`.
  }
  ShapeMap shapes;
  CollectShapes(copy.graph(), shapes);
  return shapes;
}

// The control-flow lowering's scalar oracle: `name` evaluated at build time
// by importing the nodes it depends on (at most 4,096) and propagating
// constants through them (PropagateShapes folds integer and small float
// computations, Shape of static tensors included).
std::optional<int64_t> EvaluateScalar(const onnx::ModelProto& model, const std::string& name) {
  const onnx::GraphProto& g = model.graph();
  absl::flat_hash_map<std::string, int> producer;
  for (int i = 0; i < g.node_size(); ++i) {
    for (const auto& o : g.node(i).output()) producer[o] = i;
  }
  std::vector<bool> keep(g.node_size(), false);
  absl::flat_hash_set<std::string> needed;
  std::vector<std::string> stack = {name};
  int kept = 0;
  while (!stack.empty()) {
    const std::string v = std::move(stack.back());
    stack.pop_back();
    if (v.empty() || !needed.insert(v).second) continue;
    auto it = producer.find(v);
    if (it == producer.end() || keep[it->second]) continue;
    const onnx::NodeProto& n = g.node(it->second);
    for (const auto& a : n.attribute()) {
      if (a.has_g() || a.graphs_size() > 0) return std::nullopt;  // no subgraphs here
    }
    keep[it->second] = true;
    if (++kept > 4096) return std::nullopt;
    for (const auto& in : n.input()) stack.push_back(in);
  }
  if (kept == 0) return std::nullopt;
  onnx::ModelProto sub;
  sub.set_ir_version(model.ir_version());
  *sub.mutable_opset_import() = model.opset_import();
  onnx::GraphProto* sg = sub.mutable_graph();
  sg->set_name("build-time scalar");
  for (const auto& in : g.input()) {
    if (needed.contains(in.name())) *sg->add_input() = in;
  }
  for (const auto& init : g.initializer()) {
    if (needed.contains(init.name())) *sg->add_initializer() = init;
  }
  for (int i = 0; i < g.node_size(); ++i) {
    if (keep[i]) *sg->add_node() = g.node(i);
  }
  sg->add_output()->set_name(name);
  const int opset = DefaultOpset(model);
  absl::StatusOr<std::unique_ptr<ir::Graph>> graph = Import(sub, "", opset, BuildLimits{});
  if (!graph.ok() || !PropagateShapes(**graph).ok()) return std::nullopt;
  const ir::Value* v = (*graph)->FindValue(name);
  if (v == nullptr || !v->is_constant() || v->constant->num_elements() != 1) return std::nullopt;
  const Tensor& t = *v->constant;
  switch (t.dtype()) {
    case DataType::kInt64: return *t.data_as<int64_t>();
    case DataType::kInt32: return *t.data_as<int32_t>();
    case DataType::kBool:
    case DataType::kUint8: return *t.data_as<uint8_t>();
    case DataType::kFloat32: return *t.data_as<float>() != 0.0f ? 1 : 0;
    default: return std::nullopt;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ir::Graph>> ParseOnnxFile(const std::string& path,
                                                         const ParseOptions& options) {
  ENGINE_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  return ParseOnnxBytes(bytes, path, options);
}

absl::StatusOr<std::unique_ptr<ir::Graph>> ParseOnnxBytes(const std::string& bytes,
                                                          const std::string& file,
                                                          const ParseOptions& options) {
  Logger& log = options.logger != nullptr ? *options.logger : DefaultLogger();
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": not a valid ONNX model (protobuf parse failed: the file is truncated, corrupt or "
              "not an .onnx file)"));
  }
  if (!model.has_graph() || model.opset_import_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": not a valid ONNX model (", !model.has_graph() ? "no graph" : "no opset_import",
        "; the file is truncated or not an .onnx file)"));
  }
  // Unsupported ops first: all of them in one message, whatever else is wrong.
  ENGINE_RETURN_IF_ERROR(CheckSupportedOps(model, file));
  ENGINE_RETURN_IF_ERROR(CheckGraphStructure(model.graph(), file));
  ENGINE_RETURN_IF_ERROR(BindInputValues(model, options, file));
  ENGINE_RETURN_IF_ERROR(PinInputShapes(model, options, file));
  {
    // If, Loop and Scan compiled into plain nodes (control_flow.h), then the
    // ops their bodies brought in checked.
    absl::StatusOr<ControlFlowStats> cf = LowerControlFlow(model, InferredShapes, EvaluateScalar);
    if (!cf.ok()) return Annotate(cf.status(), file);
    if (cf->total() > 0) {
      log.Log(Severity::kVerbose,
              absl::StrCat(file, ": control flow compiled: ", cf->ifs_folded, " If folded, ",
                           cf->ifs_converted, " If with both branches and Where, ",
                           cf->loops_unrolled, " Loop and ", cf->scans_unrolled,
                           " Scan unrolled (", cf->iterations, " body copies)"));
      ENGINE_RETURN_IF_ERROR(CheckSupportedOps(model, file));
    }
  }
  {
    // float16 / bfloat16 / float64 models compute in float32 (Cast at the
    // boundaries; the engine's I/O keeps the declared types).
    absl::StatusOr<bool> lowered = LowerToFloat32(model);
    if (!lowered.ok()) return Annotate(lowered.status(), file);
    if (*lowered) {
      log.Log(Severity::kVerbose,
              absl::StrCat(file, ": float16/bfloat16/float64 tensors computed in float32"));
    }
  }

  const int opset = DefaultOpset(model);
  const bool newer_than_onnx_lib =
      model.ir_version() > onnx::IR_VERSION ||
      opset > onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("").second;
  if (newer_than_onnx_lib) {
    log.Log(Severity::kInfo,
            absl::StrCat(file, ": IR version ", model.ir_version(), " / opset ", opset,
                         " is newer than the ONNX library's checker; skipping checker and "
                         "ONNX shape inference"));
  } else {
    try {
      onnx::checker::check_model(model);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": ONNX checker rejected the model: ", e.what()));
    }
  }
  // Nodes the version converter cannot carry (experimental ops removed in
  // opset 10, whose records stop before the target opset): imported at the
  // model's own opset, outside the conversion.
  HeldOutNodes held;
  if (opset < options.target_opset) {
    // The version converter dereferences a null value for a graph output that
    // nothing produces (the checker does not reject it): catch that first.
    ENGINE_RETURN_IF_ERROR(CheckOutputsProduced(model, file));
    try {
      // Some adapters (Softmax 12->13) need the input shapes.
      onnx::ShapeInferenceOptions pre(/*check_type=*/false, /*error_mode=*/0,
                                      /*enable_data_propagation=*/true);
      onnx::shape_inference::InferShapes(model, CheckedSchemaRegistry::Get(), pre);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": ONNX shape inference failed: ", e.what()));
    }
    if (opset <= 6) ENGINE_RETURN_IF_ERROR(CheckGemmConvertible(model, file));
    // The Softmax 12->13 adapter asserts when the input shape is unknown:
    // the engine's own rule for those nodes.
    const int softmax = RewriteLegacySoftmax(model);
    if (softmax > 0) {
      log.Log(Severity::kVerbose, absl::StrCat(file, ": ", softmax,
                                               " Softmax-family node(s) converted by the engine"));
    }
    const int target = options.target_opset;
    held = HoldOutNodes(model, [target](const onnx::NodeProto& n) {
      if (!n.domain().empty() && n.domain() != "ai.onnx") return false;
      const ops::OpDef* def = ops::OpRegistry::Builtin().Find(n.op_type());
      return def != nullptr && def->importable && def->domain.empty() &&
             def->max_opset < target;
    });
    try {
      model = onnx::version_conversion::ConvertVersion(model, options.target_opset);
      log.Log(Severity::kVerbose, absl::StrCat(file, ": converted from opset ", opset, " to ",
                                               options.target_opset));
    } catch (const std::exception& e) {
      return absl::UnimplementedError(absl::StrCat(file, ": ONNX version converter could not "
                                                   "upgrade opset ", opset, " to ",
                                                   options.target_opset, ": ", e.what()));
    }
  }
  // ONNX shape inference (the cross-check below) runs only once the engine's
  // own shape propagation has accepted every node: ONNX 1.12's inference
  // functions trust their inputs (ConvTranspose reads a kernel shape past the
  // end of W's dimensions when W is a scalar, LayerNormalization indexes a
  // scalar X), and the engine's checks of ranks, axes and attributes come
  // first. It sees the model without the held-out nodes, as the converter did.
  onnx::ModelProto without_held;
  const bool infer = !newer_than_onnx_lib;
  if (infer && !held.nodes.empty()) without_held = model;
  if (absl::Status s = RestoreNodes(model, std::move(held)); !s.ok()) return Annotate(s, file);
  ENGINE_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> graph,
                          Import(model, file, opset, options.limits));
  absl::Status s = PropagateShapes(*graph, options.limits, options.keep_shape_subgraphs);
  if (!s.ok()) return Annotate(s, file);
  if (infer) {
    onnx::ModelProto& inferred = without_held.has_graph() ? without_held : model;
    try {
      onnx::ShapeInferenceOptions si(/*check_type=*/false, /*error_mode=*/1,
                                     /*enable_data_propagation=*/true);
      onnx::shape_inference::InferShapes(inferred, CheckedSchemaRegistry::Get(), si);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": ONNX shape inference failed: ", e.what()));
    }
    ENGINE_RETURN_IF_ERROR(CrossCheckShapes(inferred, *graph, file));
  }
  ENGINE_RETURN_IF_ERROR(graph->Verify());
  return graph;
}

}  // namespace engine::parser
