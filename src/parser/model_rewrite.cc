#include "parser/model_rewrite.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/half.h"

namespace engine::parser {
namespace {

constexpr int kFloat = onnx::TensorProto::FLOAT;
constexpr int kFloat16 = onnx::TensorProto::FLOAT16;
constexpr int kBFloat16 = onnx::TensorProto::BFLOAT16;
constexpr int kDouble = onnx::TensorProto::DOUBLE;

// The float types a model may declare that the engine computes in float32.
bool IsLowered(int t) { return t == kFloat16 || t == kBFloat16 || t == kDouble; }


// Converts a FLOAT16/BFLOAT16/DOUBLE TensorProto to FLOAT in place: half
// and bfloat16 exactly, double rounded to the nearest float (ties to even;
// beyond the float range: infinity; NaN and infinities kept).
absl::Status TensorToFloat(onnx::TensorProto& t, const std::string& what) {
  const int type = t.data_type();
  if (!IsLowered(type)) return absl::OkStatus();
  const bool dbl = type == kDouble;
  const char* type_name = dbl ? "double" : type == kBFloat16 ? "bfloat16" : "float16";
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    return absl::UnimplementedError(absl::StrCat(what, " '", t.name(), "': externally stored ",
                                                 type_name, " tensors are not supported"));
  }
  int64_t n = 1;
  for (int64_t d : t.dims()) n *= d;
  const int64_t elem = dbl ? 8 : 2;
  std::vector<float> values;
  if (t.has_raw_data()) {
    if (static_cast<int64_t>(t.raw_data().size()) != elem * n) {
      return absl::InvalidArgumentError(absl::StrCat(what, " '", t.name(), "' has ",
                                                     t.raw_data().size(), " bytes of raw data for ",
                                                     n, " ", type_name, " elements"));
    }
    values.resize(n);
    const char* raw = t.raw_data().data();  // little-endian host
    for (int64_t i = 0; i < n; ++i) {
      if (dbl) {
        double d;
        std::memcpy(&d, raw + 8 * i, 8);
        values[i] = static_cast<float>(d);
      } else {
        uint16_t bits;
        std::memcpy(&bits, raw + 2 * i, 2);
        values[i] = type == kBFloat16 ? BFloat16ToFloat(bits) : HalfToFloat(bits);
      }
    }
  } else if (dbl) {
    if (t.double_data_size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(what, " '", t.name(), "' has ",
                                                     t.double_data_size(), " values for ", n,
                                                     " elements"));
    }
    for (double d : t.double_data()) values.push_back(static_cast<float>(d));
  } else {
    if (t.int32_data_size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(what, " '", t.name(), "' has ",
                                                     t.int32_data_size(), " values for ", n,
                                                     " elements"));
    }
    for (int32_t v : t.int32_data()) {
      const auto bits = static_cast<uint16_t>(v);
      values.push_back(type == kBFloat16 ? BFloat16ToFloat(bits) : HalfToFloat(bits));
    }
  }
  std::string raw(static_cast<size_t>(n) * 4, '\0');
  if (n > 0) std::memcpy(raw.data(), values.data(), raw.size());
  t.clear_int32_data();
  t.clear_double_data();
  t.set_data_type(kFloat);
  t.set_raw_data(std::move(raw));
  return absl::OkStatus();
}

// Element type of a ValueInfoProto tensor, 0 when not a tensor.
int ElemType(const onnx::ValueInfoProto& vi) {
  return vi.type().has_tensor_type() ? vi.type().tensor_type().elem_type() : 0;
}

}  // namespace

bool IsDefaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

int DefaultOpset(const onnx::ModelProto& model) {
  for (const auto& op : model.opset_import()) {
    if (IsDefaultDomain(op.domain())) return static_cast<int>(op.version());
  }
  return 0;
}

// Every value name defined or used in `g` and its subgraphs.
void CollectNames(const onnx::GraphProto& g, absl::flat_hash_set<std::string>& names) {
  for (const auto& v : g.input()) names.insert(v.name());
  for (const auto& v : g.output()) names.insert(v.name());
  for (const auto& v : g.initializer()) names.insert(v.name());
  for (const auto& n : g.node()) {
    for (const auto& s : n.input()) names.insert(s);
    for (const auto& s : n.output()) names.insert(s);
    for (const auto& a : n.attribute()) {
      if (a.has_g()) CollectNames(a.g(), names);
      for (const auto& sg : a.graphs()) CollectNames(sg, names);
    }
  }
}

// Renames node inputs per `map` in `n` and, for names its subgraphs read from
// the outer scope, in its subgraphs.
void RenameInputs(onnx::NodeProto& n, const absl::flat_hash_map<std::string, std::string>& map) {
  for (auto& s : *n.mutable_input()) {
    auto it = map.find(s);
    if (it != map.end()) s = it->second;
  }
  for (auto& a : *n.mutable_attribute()) {
    auto visit = [&](onnx::GraphProto& g) {
      for (auto& sub : *g.mutable_node()) RenameInputs(sub, map);
      for (auto& o : *g.mutable_output()) {
        auto it = map.find(o.name());
        if (it != map.end()) o.set_name(it->second);
      }
    };
    if (a.has_g()) visit(*a.mutable_g());
    for (auto& sg : *a.mutable_graphs()) visit(sg);
  }
}


// ---------------------------------------------------------------------------
// float16 / bfloat16 / float64 models.

absl::StatusOr<bool> LowerToFloat32(onnx::ModelProto& model) {
  onnx::GraphProto* g = model.mutable_graph();
  bool changed = false;
  for (auto& init : *g->mutable_initializer()) {
    if (!IsLowered(init.data_type())) continue;
    absl::Status s = TensorToFloat(init, "initializer");
    if (!s.ok()) return s;
    changed = true;
  }
  for (auto& n : *g->mutable_node()) {
    if (!IsDefaultDomain(n.domain())) continue;
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_t() && IsLowered(a.t().data_type()) &&
          (n.op_type() == "Constant" || n.op_type() == "ConstantOfShape")) {
        absl::Status s = TensorToFloat(*a.mutable_t(), absl::StrCat(n.op_type(), " '", n.name(), "' value"));
        if (!s.ok()) return s;
        changed = true;
      }
      // Cast's target and the output type of the ops that take one
      // (EyeLike, RandomNormal(Like), RandomUniform(Like), Bernoulli).
      if (a.has_i() && IsLowered(static_cast<int>(a.i())) &&
          ((n.op_type() == "Cast" && a.name() == "to") || a.name() == "dtype")) {
        a.set_i(kFloat);
        changed = true;
      }
    }
  }
  for (auto& vi : *g->mutable_value_info()) {
    if (IsLowered(ElemType(vi))) {
      vi.mutable_type()->mutable_tensor_type()->set_elem_type(kFloat);
      changed = true;
    }
  }
  absl::flat_hash_set<std::string> initializers;
  for (const auto& init : g->initializer()) initializers.insert(init.name());
  absl::flat_hash_set<std::string> taken;
  CollectNames(*g, taken);
  auto fresh = [&](const std::string& base) {
    std::string name = base + "__fp32";
    while (taken.contains(name)) name += "_";
    taken.insert(name);
    return name;
  };
  // Inputs: Cast(to=FLOAT) in front, its output replacing the input.
  std::vector<onnx::NodeProto> head;
  absl::flat_hash_map<std::string, std::string> in_map;
  for (auto& in : *g->mutable_input()) {
    if (!IsLowered(ElemType(in))) continue;
    if (initializers.contains(in.name())) {
      // An initializer listed as an input (IR < 4): now a float constant.
      in.mutable_type()->mutable_tensor_type()->set_elem_type(kFloat);
      changed = true;
      continue;
    }
    const std::string f = fresh(in.name());
    in_map[in.name()] = f;
    onnx::NodeProto cast;
    cast.set_op_type("Cast");
    cast.set_name(in.name() + "/to_float32");
    cast.add_input(in.name());
    cast.add_output(f);
    auto* to = cast.add_attribute();
    to->set_name("to");
    to->set_type(onnx::AttributeProto::INT);
    to->set_i(kFloat);
    head.push_back(std::move(cast));
  }
  for (auto& n : *g->mutable_node()) RenameInputs(n, in_map);
  // Outputs: the producer writes "y__fp32", a final Cast gives y its type.
  std::vector<onnx::NodeProto> tail;
  for (const auto& out : g->output()) {
    const int type = ElemType(out);
    if (!IsLowered(type)) continue;
    const std::string& y = out.name();
    if (in_map.contains(y)) continue;  // a graph input passed through: already its type
    const std::string f = fresh(y);
    bool produced = false;
    absl::flat_hash_map<std::string, std::string> m = {{y, f}};
    for (auto& n : *g->mutable_node()) {
      for (auto& o : *n.mutable_output()) {
        if (o == y) {
          o = f;
          produced = true;
        }
      }
      RenameInputs(n, m);
    }
    for (auto& init : *g->mutable_initializer()) {
      if (init.name() == y) {
        init.set_name(f);
        produced = true;
      }
    }
    if (!produced) continue;  // an undefined output: the parser reports it
    onnx::NodeProto cast;
    cast.set_op_type("Cast");
    cast.set_name(y + "/to_" +
                  (type == kFloat16 ? "float16" : type == kBFloat16 ? "bfloat16" : "double"));
    cast.add_input(f);
    cast.add_output(y);
    auto* to = cast.add_attribute();
    to->set_name("to");
    to->set_type(onnx::AttributeProto::INT);
    to->set_i(type);
    tail.push_back(std::move(cast));
  }
  if (!head.empty() || !tail.empty()) {
    changed = true;
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (auto& n : head) *nodes.Add() = std::move(n);
    for (auto& n : *g->mutable_node()) *nodes.Add() = std::move(n);
    for (auto& n : tail) *nodes.Add() = std::move(n);
    g->mutable_node()->Swap(&nodes);
  }
  return changed;
}

// ---------------------------------------------------------------------------
// Softmax family before opset 13.

absl::flat_hash_map<std::string, int> KnownRanks(const onnx::GraphProto& g) {
  absl::flat_hash_map<std::string, int> ranks;
  auto note = [&](const onnx::ValueInfoProto& vi) {
    if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape()) {
      ranks[vi.name()] = vi.type().tensor_type().shape().dim_size();
    }
  };
  for (const auto& vi : g.input()) note(vi);
  for (const auto& vi : g.value_info()) note(vi);
  for (const auto& vi : g.output()) note(vi);
  for (const auto& t : g.initializer()) ranks[t.name()] = t.dims_size();
  return ranks;
}

int RewriteLegacySoftmax(onnx::ModelProto& model) {
  onnx::GraphProto* g = model.mutable_graph();
  const absl::flat_hash_map<std::string, int> ranks = KnownRanks(*g);
  int opset = 0;
  for (const auto& op : model.opset_import()) {
    if (IsDefaultDomain(op.domain())) opset = static_cast<int>(op.version());
  }
  absl::flat_hash_set<std::string> taken;
  CollectNames(*g, taken);
  int rewritten = 0;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& n : *g->mutable_node()) {
    const bool softmax_like = IsDefaultDomain(n.domain()) &&
                              (n.op_type() == "Softmax" || n.op_type() == "LogSoftmax" ||
                               n.op_type() == "Hardmax") &&
                              n.input_size() == 1 && n.output_size() == 1;
    if (!softmax_like) {
      *nodes.Add() = std::move(n);
      continue;
    }
    int64_t axis = 1;
    onnx::AttributeProto* axis_attr = nullptr;
    for (auto& a : *n.mutable_attribute()) {
      if (a.name() == "axis") {
        axis_attr = &a;
        axis = a.i();
      }
    }
    auto it = ranks.find(n.input(0));
    const int rank = it == ranks.end() ? -1 : it->second;
    if (rank > 0 && (axis == rank - 1 || axis == -1)) {
      // Last axis: the same in both semantics; the adapter keeps -1 as is.
      if (axis_attr == nullptr) {
        axis_attr = n.add_attribute();
        axis_attr->set_name("axis");
        axis_attr->set_type(onnx::AttributeProto::INT);
      }
      axis_attr->set_i(-1);
      *nodes.Add() = std::move(n);
      ++rewritten;
      continue;
    }
    if (axis < 0 && (rank <= 0 || opset < 11)) {
      // Flatten takes a negative axis from opset 11; with a known rank the
      // axis is made non-negative, else the converter decides.
      if (rank <= 0) {
        *nodes.Add() = std::move(n);
        continue;
      }
    }
    if (axis < 0) axis += rank;
    // Flatten(x, axis) -> op(axis=-1) -> Reshape(., Shape(x)).
    auto unique = [&](const std::string& base) {
      std::string s = base;
      while (taken.contains(s)) s += "_";
      taken.insert(s);
      return s;
    };
    const std::string x = n.input(0);
    const std::string y = n.output(0);
    const std::string base = n.name().empty() ? y : n.name();
    const std::string flat = unique(base + "/flatten_out");
    const std::string soft = unique(base + "/2d_out");
    const std::string shape = unique(base + "/shape_out");
    onnx::NodeProto flatten;
    flatten.set_op_type("Flatten");
    flatten.set_name(base + "/flatten");
    flatten.add_input(x);
    flatten.add_output(flat);
    auto* fa = flatten.add_attribute();
    fa->set_name("axis");
    fa->set_type(onnx::AttributeProto::INT);
    fa->set_i(axis);
    onnx::NodeProto shape_node;
    shape_node.set_op_type("Shape");
    shape_node.set_name(base + "/shape");
    shape_node.add_input(x);
    shape_node.add_output(shape);
    onnx::NodeProto op = n;
    op.set_input(0, flat);
    op.set_output(0, soft);
    op.clear_attribute();
    auto* oa = op.add_attribute();
    oa->set_name("axis");
    oa->set_type(onnx::AttributeProto::INT);
    oa->set_i(-1);
    onnx::NodeProto reshape;
    reshape.set_op_type("Reshape");
    reshape.set_name(base + "/reshape");
    reshape.add_input(soft);
    reshape.add_input(shape);
    reshape.add_output(y);
    *nodes.Add() = std::move(flatten);
    *nodes.Add() = std::move(op);
    *nodes.Add() = std::move(shape_node);
    *nodes.Add() = std::move(reshape);
    ++rewritten;
  }
  g->mutable_node()->Swap(&nodes);
  return rewritten;
}

// ---------------------------------------------------------------------------
// Nodes held out of version conversion.

HeldOutNodes HoldOutNodes(onnx::ModelProto& model,
                          const std::function<bool(const onnx::NodeProto&)>& hold) {
  onnx::GraphProto* g = model.mutable_graph();
  HeldOutNodes held;
  absl::flat_hash_map<std::string, const onnx::ValueInfoProto*> info;
  for (const auto& vi : g->value_info()) info[vi.name()] = &vi;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  std::vector<onnx::ValueInfoProto> inputs;
  for (auto& n : *g->mutable_node()) {
    if (!hold(n)) {
      *kept.Add() = std::move(n);
      continue;
    }
    for (const auto& o : n.output()) {
      if (o.empty()) continue;
      onnx::ValueInfoProto vi;
      auto it = info.find(o);
      if (it != info.end() && it->second->type().has_tensor_type()) {
        vi = *it->second;
      } else {
        vi.set_name(o);
        vi.mutable_type()->mutable_tensor_type()->set_elem_type(kFloat);
      }
      inputs.push_back(std::move(vi));
      held.added_inputs.push_back(o);
    }
    held.nodes.push_back(std::move(n));
  }
  g->mutable_node()->Swap(&kept);
  for (auto& vi : inputs) *g->add_input() = std::move(vi);
  return held;
}

absl::Status RestoreNodes(onnx::ModelProto& model, HeldOutNodes held) {
  if (held.nodes.empty()) return absl::OkStatus();
  onnx::GraphProto* g = model.mutable_graph();
  absl::flat_hash_set<std::string> added(held.added_inputs.begin(), held.added_inputs.end());
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
  for (auto& in : *g->mutable_input()) {
    if (added.contains(in.name())) {
      *g->add_value_info() = in;
    } else {
      *inputs.Add() = std::move(in);
    }
  }
  g->mutable_input()->Swap(&inputs);
  // Stable topological sort of the current nodes plus the held ones (held
  // ones placed after the nodes that were before them: they come last in the
  // candidate list, and each pass takes the first ready node).
  std::vector<onnx::NodeProto> all;
  for (auto& n : *g->mutable_node()) all.push_back(std::move(n));
  for (auto& n : held.nodes) all.push_back(std::move(n));
  absl::flat_hash_map<std::string, size_t> producer;
  for (size_t i = 0; i < all.size(); ++i) {
    for (const auto& o : all[i].output()) {
      if (!o.empty()) producer[o] = i;
    }
  }
  // Names a node (or its subgraphs) reads from the outer scope.
  std::vector<std::vector<size_t>> deps(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    absl::flat_hash_set<std::string> reads;
    CollectNames([&] {
      onnx::GraphProto tmp;
      *tmp.add_node() = all[i];
      return tmp;
    }(), reads);
    for (const auto& o : all[i].output()) reads.erase(o);
    for (const std::string& r : reads) {
      auto it = producer.find(r);
      if (it != producer.end() && it->second != i) deps[i].push_back(it->second);
    }
  }
  std::vector<bool> done(all.size(), false);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> sorted;
  size_t placed = 0;
  size_t first = 0;  // every node before it is placed
  while (placed < all.size()) {
    bool progress = false;
    while (first < all.size() && done[first]) ++first;
    for (size_t i = first; i < all.size(); ++i) {
      if (done[i]) continue;
      bool ready = true;
      for (size_t d : deps[i]) ready = ready && done[d];
      if (!ready) continue;
      done[i] = true;
      *sorted.Add() = std::move(all[i]);
      ++placed;
      progress = true;
      break;  // restart: keep the original order as far as possible
    }
    if (!progress) return absl::InvalidArgumentError("the graph has a cycle");
  }
  g->mutable_node()->Swap(&sorted);
  return absl::OkStatus();
}

}  // namespace engine::parser
