#include "parser/control_flow.h"

#include <algorithm>
#include <deque>
#include <iterator>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "parser/model_rewrite.h"

namespace engine::parser {
namespace {

const onnx::AttributeProto* Attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

std::vector<int64_t> Ints(const onnx::NodeProto& n, const std::string& name, size_t count,
                          int64_t fallback) {
  const onnx::AttributeProto* a = Attr(n, name);
  if (a == nullptr || a->ints_size() == 0) return std::vector<int64_t>(count, fallback);
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

std::string Describe(const onnx::NodeProto& n) {
  return absl::StrCat(n.op_type(), " node '", n.name(), "'");
}

std::string ShapeString(const std::vector<int64_t>& s) {
  std::vector<std::string> d;
  for (int64_t v : s) d.push_back(v < 0 ? "?" : absl::StrCat(v));
  return absl::StrCat("[", absl::StrJoin(d, ","), "]");
}

// The value of `name` when it is a build-time constant of the main graph: an
// initializer (bound inputs included) or the output of a Constant node among
// `before` (the nodes that precede the one being lowered). Otherwise nullopt,
// with *producer saying what computes it.
std::optional<onnx::TensorProto> ConstantValue(const onnx::GraphProto& g,
                                               const std::vector<onnx::NodeProto>& before,
                                               const std::string& name, std::string* producer) {
  for (const auto& init : g.initializer()) {
    if (init.name() == name) return init;
  }
  for (auto it = before.rbegin(); it != before.rend(); ++it) {
    const auto& n = *it;
    for (const auto& o : n.output()) {
      if (o != name) continue;
      *producer = absl::StrCat("computed by ", Describe(n));
      if (n.op_type() == "Constant" && IsDefaultDomain(n.domain())) {
        if (const onnx::AttributeProto* v = Attr(n, "value"); v != nullptr && v->has_t()) {
          return v->t();
        }
      }
      return std::nullopt;
    }
  }
  *producer = "a graph input";
  return std::nullopt;
}

// The single element of `t` as an integer (bool, integer and float types;
// floats truncated). nullopt when `t` does not hold exactly one readable value.
std::optional<int64_t> ScalarValue(const onnx::TensorProto& t) {
  int64_t count = 1;
  for (int64_t d : t.dims()) count *= d;
  if (count != 1) return std::nullopt;
  if (t.has_raw_data() && !t.raw_data().empty()) {
    const std::string& raw = t.raw_data();
    switch (t.data_type()) {
      case onnx::TensorProto::INT64: {
        if (raw.size() != 8) return std::nullopt;
        int64_t v;
        std::memcpy(&v, raw.data(), 8);
        return v;
      }
      case onnx::TensorProto::INT32: {
        if (raw.size() != 4) return std::nullopt;
        int32_t v;
        std::memcpy(&v, raw.data(), 4);
        return v;
      }
      case onnx::TensorProto::FLOAT: {
        if (raw.size() != 4) return std::nullopt;
        float v;
        std::memcpy(&v, raw.data(), 4);
        return v != v ? 0 : static_cast<int64_t>(v != 0);  // only used as a condition
      }
      case onnx::TensorProto::BOOL:
      case onnx::TensorProto::UINT8:
      case onnx::TensorProto::INT8:
        if (raw.size() != 1) return std::nullopt;
        return static_cast<int64_t>(static_cast<uint8_t>(raw[0]));
      default:
        return std::nullopt;
    }
  }
  if (t.int64_data_size() == 1) return t.int64_data(0);
  if (t.int32_data_size() == 1) return t.int32_data(0);
  if (t.float_data_size() == 1) return static_cast<int64_t>(t.float_data(0) != 0);
  return std::nullopt;
}

// Rank of a ValueInfoProto's tensor when it declares a shape, else -1.
int DeclaredRank(const onnx::ValueInfoProto& vi) {
  if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return -1;
  return vi.type().tensor_type().shape().dim_size();
}

// Appends nodes and initializers to the graph at the model's opset, with
// names unique in the graph.
class Emitter {
 public:
  Emitter(onnx::GraphProto& g, int opset, absl::flat_hash_set<std::string>& taken)
      : g_(g), opset_(opset), taken_(taken) {}

  int opset() const { return opset_; }
  bool Taken(const std::string& name) const { return taken_.contains(name); }
  void Take(const std::string& name) { taken_.insert(name); }

  std::string Fresh(const std::string& hint) {
    std::string n = hint;
    while (taken_.contains(n)) n += "_";
    taken_.insert(n);
    return n;
  }

  std::string Int64s(const std::string& hint, const std::vector<int64_t>& v, bool scalar) {
    onnx::TensorProto* t = g_.add_initializer();
    t->set_name(Fresh(hint));
    t->set_data_type(onnx::TensorProto::INT64);
    if (!scalar) t->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) t->add_int64_data(x);
    return t->name();
  }

  std::string Bool(const std::string& hint, bool v, bool scalar) {
    onnx::TensorProto* t = g_.add_initializer();
    t->set_name(Fresh(hint));
    t->set_data_type(onnx::TensorProto::BOOL);
    if (!scalar) t->add_dims(1);
    t->add_int32_data(v ? 1 : 0);
    return t->name();
  }

  onnx::TensorProto& AddInitializer(const onnx::TensorProto& t, const std::string& name) {
    onnx::TensorProto* copy = g_.add_initializer();
    *copy = t;
    copy->set_name(name);
    return *copy;
  }

  onnx::NodeProto& Add(const std::string& op, const std::vector<std::string>& in,
                       const std::vector<std::string>& out, const std::string& name) {
    nodes.emplace_back();
    onnx::NodeProto& n = nodes.back();
    n.set_op_type(op);
    n.set_name(name);
    for (const auto& s : in) n.add_input(s);
    for (const auto& s : out) n.add_output(s);
    return n;
  }

  static void SetInts(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void SetInt(onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }

  // x[index] along `axis`, that axis removed (Slice + Squeeze).
  std::string Element(const std::string& x, int64_t axis, int64_t index, const std::string& hint) {
    const std::string sliced = Fresh(hint + "_slice");
    if (opset_ >= 10) {
      Add("Slice",
          {x, Int64s(hint + "_start", {index}, false), Int64s(hint + "_end", {index + 1}, false),
           Int64s(hint + "_axis", {axis}, false)},
          {sliced}, sliced);
    } else {
      onnx::NodeProto& s = Add("Slice", {x}, {sliced}, sliced);
      SetInts(s, "starts", {index});
      SetInts(s, "ends", {index + 1});
      SetInts(s, "axes", {axis});
    }
    const std::string out = Fresh(hint);
    AxesNode("Squeeze", sliced, axis, out);
    return out;
  }

  std::string Unsqueeze(const std::string& x, int64_t axis, const std::string& hint) {
    const std::string out = Fresh(hint);
    AxesNode("Unsqueeze", x, axis, out);
    return out;
  }

  void Concat(const std::vector<std::string>& xs, int64_t axis, const std::string& out) {
    SetInt(Add("Concat", xs, {out}, out), "axis", axis);
  }

  std::vector<onnx::NodeProto> nodes;

 private:
  void AxesNode(const std::string& op, const std::string& x, int64_t axis, const std::string& out) {
    if (opset_ >= 13) {
      Add(op, {x, Int64s(out + "_axes", {axis}, false)}, {out}, out);
    } else {
      SetInts(Add(op, {x}, {out}, out), "axes", {axis});
    }
  }

  onnx::GraphProto& g_;
  int opset_;
  absl::flat_hash_set<std::string>& taken_;
};

// Inlines `body` into the emitter: body input i reads `bindings[i]`; body
// initializers are added once per `initializers` map (shared by the copies of
// one node); body-local names are renamed to fresh names ("<prefix><name>")
// when `rename_all`, else only when they clash with a name taken. When
// `outputs` is given, a locally produced body output k is named outputs[k]
// directly. Returns the names of the body's outputs after inlining.
absl::StatusOr<std::vector<std::string>> Inline(
    const onnx::GraphProto& body, const std::vector<std::string>& bindings,
    const std::string& prefix, bool rename_all, Emitter& em,
    absl::flat_hash_map<std::string, std::string>& initializers,
    const std::vector<std::string>* outputs) {
  if (static_cast<int>(bindings.size()) != body.input_size()) {
    return absl::InvalidArgumentError(absl::StrCat("body '", body.name(), "' has ",
                                                   body.input_size(), " inputs, ",
                                                   bindings.size(), " are bound"));
  }
  absl::flat_hash_map<std::string, std::string> rename;
  for (int i = 0; i < body.input_size(); ++i) rename[body.input(i).name()] = bindings[i];
  for (const auto& init : body.initializer()) {
    auto it = initializers.find(init.name());
    if (it == initializers.end()) {
      const std::string fresh =
          rename_all || em.Taken(init.name()) ? em.Fresh(prefix + init.name()) : init.name();
      em.Take(fresh);
      em.AddInitializer(init, fresh);
      it = initializers.emplace(init.name(), fresh).first;
    }
    rename[init.name()] = it->second;
  }
  if (outputs != nullptr) {
    absl::flat_hash_set<std::string> produced;
    for (const auto& n : body.node()) {
      for (const auto& o : n.output()) produced.insert(o);
    }
    for (int k = 0; k < body.output_size() && k < static_cast<int>(outputs->size()); ++k) {
      const std::string& b = body.output(k).name();
      if (produced.contains(b) && !(*outputs)[k].empty() && !rename.contains(b)) {
        rename[b] = (*outputs)[k];
        em.Take((*outputs)[k]);
      }
    }
  }
  for (const auto& n : body.node()) {
    for (const auto& o : n.output()) {
      if (o.empty() || rename.contains(o)) continue;
      rename[o] = rename_all || em.Taken(o) ? em.Fresh(prefix + o) : o;
      em.Take(rename[o]);
    }
  }
  for (const auto& n : body.node()) {
    onnx::NodeProto copy = n;
    RenameInputs(copy, rename);
    for (auto& o : *copy.mutable_output()) {
      if (o.empty()) continue;
      o = rename.at(o);
    }
    if (!copy.name().empty() && rename_all) copy.set_name(prefix + copy.name());
    em.nodes.push_back(std::move(copy));
  }
  std::vector<std::string> result;
  for (const auto& o : body.output()) {
    auto it = rename.find(o.name());
    result.push_back(it == rename.end() ? o.name() : it->second);
  }
  return result;
}

const onnx::GraphProto* GraphAttr(const onnx::NodeProto& n, const std::string& name) {
  const onnx::AttributeProto* a = Attr(n, name);
  return a != nullptr && a->has_g() ? &a->g() : nullptr;
}

// Common state of one node's lowering.
struct Site {
  const onnx::GraphProto& g;                  // initializers
  const std::vector<onnx::NodeProto>& before;  // nodes already placed before this one
  int64_t graph_nodes;                         // nodes of the graph as it stands
  const onnx::NodeProto& node;
  std::string label;   // "Loop node 'x'"
  std::string prefix;  // "<node name>/"
  // Static shapes of the model as it stands, covering `names` when inference
  // can (computed once and reused while it covers what is asked).
  std::function<const ShapeMap&(const std::vector<std::string>& names)> shapes;
  // `name` evaluated at build time from the nodes before this one.
  std::function<std::optional<int64_t>(const std::string& name)> scalar;
  const ControlFlowLimits& limits;
};

// The single value of `name` when it is known at build time: stored (an
// initializer or Constant) or computed from such values and static shapes
// (Site::scalar). *producer says what computes it otherwise.
std::optional<int64_t> BuildTimeScalar(const Site& s, const std::string& name, std::string* producer,
                                       bool* stored_but_unreadable) {
  *stored_but_unreadable = false;
  std::optional<onnx::TensorProto> t = ConstantValue(s.g, s.before, name, producer);
  if (t) {
    std::optional<int64_t> v = ScalarValue(*t);
    *stored_but_unreadable = !v.has_value();
    return v;
  }
  if (*producer == "a graph input") return std::nullopt;
  return s.scalar(name);
}

absl::Status CheckUnroll(const Site& s, int64_t iterations, int64_t body_nodes) {
  if (iterations > s.limits.max_iterations) {
    return absl::ResourceExhaustedError(absl::StrCat(
        s.label, ": ", iterations, " iterations; the engine unrolls at most ",
        s.limits.max_iterations, " per node at build time"));
  }
  const int64_t total = s.graph_nodes + iterations * (body_nodes + 4);
  if (total > s.limits.max_nodes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        s.label, ": unrolling ", iterations, " iterations of a ", body_nodes,
        "-node body would make a graph of about ", total, " nodes (limit ", s.limits.max_nodes,
        ")"));
  }
  return absl::OkStatus();
}

// If: fold a constant condition; else both branches and Where.
absl::Status LowerIf(const Site& s, Emitter& em, ControlFlowStats& stats) {
  const onnx::NodeProto& node = s.node;
  if (node.input_size() < 1 || node.input(0).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(s.label, " has no condition"));
  }
  const onnx::GraphProto* then_g = GraphAttr(node, "then_branch");
  const onnx::GraphProto* else_g = GraphAttr(node, "else_branch");
  for (const auto& [g, name] : {std::pair{then_g, "then_branch"}, std::pair{else_g, "else_branch"}}) {
    if (g == nullptr) return absl::InvalidArgumentError(absl::StrCat(s.label, " has no ", name));
    if (g->output_size() != node.output_size()) {
      return absl::InvalidArgumentError(absl::StrCat(s.label, ": ", name, " has ",
                                                     g->output_size(), " outputs, the If ",
                                                     node.output_size()));
    }
    if (g->input_size() != 0) {
      return absl::InvalidArgumentError(absl::StrCat(s.label, ": ", name, " declares inputs"));
    }
  }
  const std::string& cond_name = node.input(0);
  std::string producer;
  bool unreadable = false;
  std::optional<int64_t> v = BuildTimeScalar(s, cond_name, &producer, &unreadable);
  if (unreadable) {
    return absl::InvalidArgumentError(absl::StrCat(
        s.label, ": condition '", cond_name, "' is not a single readable value"));
  }
  absl::flat_hash_map<std::string, std::string> inits;
  std::vector<std::string> outs(node.output().begin(), node.output().end());
  if (v) {
    const onnx::GraphProto& branch = *v != 0 ? *then_g : *else_g;
    auto results = Inline(branch, {}, s.prefix, /*rename_all=*/false, em, inits, &outs);
    if (!results.ok()) return results.status();
    for (size_t k = 0; k < outs.size(); ++k) {
      if (outs[k].empty() || (*results)[k] == outs[k]) continue;
      em.Add("Identity", {(*results)[k]}, {outs[k]}, absl::StrCat(node.name(), "/output_", k));
    }
    ++stats.ifs_folded;
    return absl::OkStatus();
  }
  // A run-time condition: if-conversion.
  const std::string why = absl::StrCat(s.label, ": condition '", cond_name, "' is ", producer,
                                       ", not a build-time constant, so both branches are "
                                       "compiled and each output selected with Where; ");
  if (em.opset() < 9) {
    return absl::UnimplementedError(absl::StrCat(why, "Where needs opset 9 (model opset ",
                                                 em.opset(), ")"));
  }
  for (int k = 0; k < node.output_size(); ++k) {
    for (const onnx::GraphProto* b : {then_g, else_g}) {
      const onnx::TypeProto& type = b->output(k).type();
      if (type.value_case() != onnx::TypeProto::VALUE_NOT_SET && !type.has_tensor_type()) {
        return absl::UnimplementedError(absl::StrCat(
            why, "output ", k, " '", b->output(k).name(),
            "' is a sequence, map or optional, not a tensor"));
      }
    }
  }
  std::vector<std::string> wanted;
  for (int k = 0; k < node.output_size(); ++k) {
    wanted.push_back(then_g->output(k).name());
    wanted.push_back(else_g->output(k).name());
  }
  const ShapeMap& shapes = s.shapes(wanted);
  for (int k = 0; k < node.output_size(); ++k) {
    auto t = shapes.find(then_g->output(k).name());
    auto e = shapes.find(else_g->output(k).name());
    auto known = [&](const ShapeMap::const_iterator& it) {
      if (it == shapes.end()) return false;
      for (int64_t d : it->second) {
        if (d < 0) return false;
      }
      return true;
    };
    if (!known(t) || !known(e)) {
      return absl::UnimplementedError(absl::StrCat(
          why, "output ", k, " needs a static shape in both branches (then ",
          t == shapes.end() ? "unknown" : ShapeString(t->second), ", else ",
          e == shapes.end() ? "unknown" : ShapeString(e->second), ")"));
    }
    if (t->second != e->second) {
      return absl::UnimplementedError(absl::StrCat(
          why, "output ", k, " has shape ", ShapeString(t->second), " in then_branch and ",
          ShapeString(e->second), " in else_branch; a static engine needs one shape"));
    }
  }
  auto then_out = Inline(*then_g, {}, s.prefix + "then/", true, em, inits, nullptr);
  if (!then_out.ok()) return then_out.status();
  absl::flat_hash_map<std::string, std::string> else_inits;
  auto else_out = Inline(*else_g, {}, s.prefix + "else/", true, em, else_inits, nullptr);
  if (!else_out.ok()) return else_out.status();
  for (int k = 0; k < node.output_size(); ++k) {
    const std::string out = outs[k].empty() ? em.Fresh(s.prefix + "unused") : outs[k];
    em.Add("Where", {cond_name, (*then_out)[k], (*else_out)[k]}, {out},
           absl::StrCat(node.name(), "/select_", k));
  }
  ++stats.ifs_converted;
  return absl::OkStatus();
}

// Whether body output 0 (the loop condition) is always true when the loop
// starts with a true condition: body input 1 itself, a chain of Identity
// nodes from it, or a non-zero constant (a Constant node or an initializer
// of the body).
bool ConditionStaysTrue(const onnx::GraphProto& body) {
  if (body.input_size() < 2 || body.output_size() < 1) return false;
  std::string name = body.output(0).name();
  for (int hops = 0; hops <= body.node_size(); ++hops) {
    if (name == body.input(1).name()) return true;
    for (const auto& init : body.initializer()) {
      if (init.name() == name) return ScalarValue(init).value_or(0) != 0;
    }
    const onnx::NodeProto* producer = nullptr;
    for (const auto& n : body.node()) {
      for (const auto& o : n.output()) {
        if (o == name) producer = &n;
      }
    }
    if (producer == nullptr) return false;
    if (producer->op_type() == "Constant") {
      const onnx::AttributeProto* v = Attr(*producer, "value");
      return v != nullptr && v->has_t() && ScalarValue(v->t()).value_or(0) != 0;
    }
    if (producer->op_type() != "Identity" || producer->input_size() != 1) return false;
    name = producer->input(0);
  }
  return false;
}

absl::Status LowerLoop(const Site& s, Emitter& em, ControlFlowStats& stats) {
  const onnx::NodeProto& node = s.node;
  const onnx::GraphProto* body = GraphAttr(node, "body");
  if (body == nullptr) return absl::InvalidArgumentError(absl::StrCat(s.label, " has no body"));
  const int carried = node.input_size() - 2;
  if (carried < 0 || body->input_size() != carried + 2 || body->output_size() < carried + 1 ||
      node.output_size() != body->output_size() - 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        s.label, ": ", node.input_size(), " inputs, ", node.output_size(), " outputs and a body of ",
        body->input_size(), " inputs and ", body->output_size(),
        " outputs do not agree (Loop: M, cond, N carried values -> N + K outputs; body: "
        "iteration, cond, N values -> cond, N values, K scan outputs)"));
  }
  const int scans = body->output_size() - 1 - carried;
  // Trip count.
  std::optional<int64_t> trips;
  if (!node.input(0).empty()) {
    std::string producer;
    bool unreadable = false;
    trips = BuildTimeScalar(s, node.input(0), &producer, &unreadable);
    if (unreadable) {
      return absl::InvalidArgumentError(absl::StrCat(s.label, ": trip count '", node.input(0),
                                                     "' is not a single integer"));
    }
    if (!trips) {
      return absl::UnimplementedError(absl::StrCat(
          s.label, ": trip count '", node.input(0), "' is ", producer,
          ", not a build-time constant; the engine unrolls a Loop at build time (when it "
          "depends on graph inputs, bind a graph input with input_values: "
          "BuilderConfig::input_values)"));
    }
    if (*trips < 0) trips = 0;
  }
  // Condition.
  if (!node.input(1).empty()) {
    std::string producer;
    bool unreadable = false;
    std::optional<int64_t> v = BuildTimeScalar(s, node.input(1), &producer, &unreadable);
    if (!v) {
      return absl::UnimplementedError(absl::StrCat(
          s.label, ": condition '", node.input(1), "' is ", unreadable ? "not a single value" : producer,
          "; the engine unrolls a Loop only when its condition is a build-time constant",
          producer == "a graph input" ? " (bind a graph input with input_values: "
                                        "BuilderConfig::input_values)"
                                      : ""));
    }
    if (*v == 0) trips = 0;
  }
  if (trips.value_or(1) > 0 && !ConditionStaysTrue(*body)) {
    // With a condition input, the loop may stop early (a while loop). Without
    // one, the ONNX spec's pseudo-code ignores the body's condition but ONNX
    // Runtime stops on it: either way the count is not known at build time.
    return absl::UnimplementedError(absl::StrCat(
        s.label, ": the body computes its condition '", body->output(0).name(), "'",
        node.input(1).empty()
            ? " and the Loop has no condition input (the ONNX spec then ignores it, ONNX "
              "Runtime stops on it)"
            : ", so the loop may stop early (a while loop)",
        "; the engine unrolls only loops whose iteration count is known at build time"));
  }
  if (!trips) {
    return absl::UnimplementedError(absl::StrCat(
        s.label, ": no trip count (a while loop); the engine unrolls only loops whose "
                 "iteration count is known at build time"));
  }
  if (*trips == 0 && scans > 0) {
    return absl::UnimplementedError(absl::StrCat(
        s.label, ": zero iterations with ", scans,
        " scan output(s), whose empty shape the engine cannot know without running the body"));
  }
  ENGINE_RETURN_IF_ERROR(CheckUnroll(s, *trips, body->node_size()));
  std::vector<std::string> values(node.input().begin() + 2, node.input().end());
  std::vector<std::vector<std::string>> scan_parts(scans);
  absl::flat_hash_map<std::string, std::string> inits;
  const bool iter_1d = DeclaredRank(body->input(0)) == 1;
  const bool cond_1d = DeclaredRank(body->input(1)) == 1;
  for (int64_t i = 0; i < *trips; ++i) {
    const std::string at = absl::StrCat(s.prefix, "i", i, "/");
    std::vector<std::string> bind = {em.Int64s(at + "iteration", {i}, !iter_1d),
                                     em.Bool(at + "cond", true, !cond_1d)};
    bind.insert(bind.end(), values.begin(), values.end());
    auto outs = Inline(*body, bind, at, /*rename_all=*/true, em, inits, nullptr);
    if (!outs.ok()) return absl::InvalidArgumentError(absl::StrCat(s.label, ": ", outs.status().message()));
    values.assign(outs->begin() + 1, outs->begin() + 1 + carried);
    for (int k = 0; k < scans; ++k) {
      scan_parts[k].push_back(em.Unsqueeze((*outs)[1 + carried + k], 0,
                                           absl::StrCat(at, "scan_", k)));
    }
  }
  for (int j = 0; j < carried; ++j) {
    if (node.output(j).empty()) continue;
    em.Add("Identity", {values[j]}, {node.output(j)}, absl::StrCat(node.name(), "/final_", j));
  }
  for (int k = 0; k < scans; ++k) {
    if (node.output(carried + k).empty()) continue;
    em.Concat(scan_parts[k], 0, node.output(carried + k));
  }
  ++stats.loops_unrolled;
  stats.iterations += *trips;
  return absl::OkStatus();
}

// The static length of `x` along `axis` (negative counts from the end); sets
// *axis to the non-negative axis. Errors name the node and the input.
absl::StatusOr<int64_t> StaticLength(const Site& s, const ShapeMap& shapes, const std::string& x,
                                     int64_t* axis) {
  auto it = shapes.find(x);
  if (it == shapes.end()) {
    return absl::UnimplementedError(absl::StrCat(
        s.label, ": scan input '", x, "' has no known shape; the engine unrolls a Scan over a "
        "length known at build time (pin the input's shape with --shapes)"));
  }
  const int64_t rank = static_cast<int64_t>(it->second.size());
  const int64_t a = *axis < 0 ? *axis + rank : *axis;
  if (a < 0 || a >= rank) {
    return absl::InvalidArgumentError(absl::StrCat(s.label, ": scan axis ", *axis,
                                                   " is outside input '", x, "' of rank ", rank));
  }
  if (it->second[a] < 0) {
    return absl::UnimplementedError(absl::StrCat(
        s.label, ": scan input '", x, "' has a dynamic length ", ShapeString(it->second),
        " along axis ", a, "; the engine unrolls a Scan over a length known at build time "
        "(pin the input's shape with --shapes)"));
  }
  *axis = a;
  return it->second[a];
}

// One scan over `length` steps: states in, elements of each scan input per
// step, scan outputs stacked along `out_axes` in `out_dirs`. Writes the final
// states and the stacked outputs to `state_out` / `scan_out` (fresh names
// where empty) and returns them.
struct ScanShape {
  std::vector<int64_t> in_axes, in_dirs, out_axes, out_dirs;
};

absl::Status UnrollScan(const Site& s, Emitter& em, const onnx::GraphProto& body,
                        std::vector<std::string> states, const std::vector<std::string>& inputs,
                        const ScanShape& shape, int64_t length, const std::string& at,
                        absl::flat_hash_map<std::string, std::string>& inits,
                        std::vector<std::string>& state_out, std::vector<std::string>& scan_out) {
  const size_t n = states.size();
  const size_t k_out = static_cast<size_t>(body.output_size()) - n;
  std::vector<std::vector<std::string>> parts(k_out);
  for (int64_t t = 0; t < length; ++t) {
    const std::string step = absl::StrCat(at, "t", t, "/");
    std::vector<std::string> bind = states;
    for (size_t j = 0; j < inputs.size(); ++j) {
      const int64_t index = shape.in_dirs[j] != 0 ? length - 1 - t : t;
      bind.push_back(em.Element(inputs[j], shape.in_axes[j], index, absl::StrCat(step, "x", j)));
    }
    auto outs = Inline(body, bind, step, /*rename_all=*/true, em, inits, nullptr);
    if (!outs.ok()) return absl::InvalidArgumentError(absl::StrCat(s.label, ": ", outs.status().message()));
    states.assign(outs->begin(), outs->begin() + static_cast<long>(n));
    for (size_t k = 0; k < k_out; ++k) {
      parts[k].push_back(em.Unsqueeze((*outs)[n + k], shape.out_axes[k], absl::StrCat(step, "y", k)));
    }
  }
  for (size_t j = 0; j < n; ++j) {
    if (state_out[j].empty()) state_out[j] = em.Fresh(absl::StrCat(at, "state_", j));
    em.Add("Identity", {states[j]}, {state_out[j]}, state_out[j]);
  }
  for (size_t k = 0; k < k_out; ++k) {
    if (shape.out_dirs[k] != 0) std::reverse(parts[k].begin(), parts[k].end());
    if (scan_out[k].empty()) scan_out[k] = em.Fresh(absl::StrCat(at, "scan_", k));
    em.Concat(parts[k], shape.out_axes[k], scan_out[k]);
  }
  return absl::OkStatus();
}

absl::Status LowerScan(const Site& s, Emitter& em, ControlFlowStats& stats) {
  const onnx::NodeProto& node = s.node;
  const onnx::GraphProto* body = GraphAttr(node, "body");
  const onnx::AttributeProto* m_attr = Attr(node, "num_scan_inputs");
  if (body == nullptr || m_attr == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(s.label, " needs a body and num_scan_inputs"));
  }
  const bool v8 = em.opset() < 9;  // opset 8: sequence_lens first, a batch axis
  const int first = v8 ? 1 : 0;
  const int64_t m = m_attr->i();
  const int64_t n = node.input_size() - first - m;
  if (m < 1 || n < 0 || body->input_size() != n + m || body->output_size() < n ||
      node.output_size() != body->output_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        s.label, ": ", node.input_size(), " inputs with num_scan_inputs ", m, ", ",
        node.output_size(), " outputs and a body of ", body->input_size(), " inputs and ",
        body->output_size(), " outputs do not agree"));
  }
  if (v8 && !node.input(0).empty()) {
    return absl::UnimplementedError(absl::StrCat(
        s.label, ": sequence_lens '", node.input(0), "' (per-batch lengths) is not supported; "
        "the engine unrolls a Scan over one static length"));
  }
  const int64_t k_out = body->output_size() - n;
  ScanShape shape;
  if (v8) {
    shape.in_axes.assign(m, 0);  // after the batch axis is sliced away
    shape.in_dirs = Ints(node, "directions", m, 0);
    shape.out_axes.assign(k_out, 0);
    shape.out_dirs.assign(k_out, 0);
  } else {
    shape.in_axes = Ints(node, "scan_input_axes", m, 0);
    shape.in_dirs = Ints(node, "scan_input_directions", m, 0);
    shape.out_axes = Ints(node, "scan_output_axes", k_out, 0);
    shape.out_dirs = Ints(node, "scan_output_directions", k_out, 0);
  }
  if (static_cast<int64_t>(shape.in_axes.size()) != m ||
      static_cast<int64_t>(shape.in_dirs.size()) != m ||
      static_cast<int64_t>(shape.out_axes.size()) != k_out ||
      static_cast<int64_t>(shape.out_dirs.size()) != k_out) {
    return absl::InvalidArgumentError(absl::StrCat(
        s.label, ": the scan axis/direction attributes need one value per scan input (", m,
        ") and per scan output (", k_out, ")"));
  }
  for (int64_t a : shape.out_axes) {
    if (a < 0 && em.opset() < 11) {
      return absl::UnimplementedError(absl::StrCat(
          s.label, ": a negative scan_output_axes value needs opset 11 (model opset ",
          em.opset(), ")"));
    }
  }
  const ShapeMap& shapes = s.shapes({node.input().begin() + first + n, node.input().end()});
  std::vector<std::string> states(node.input().begin() + first,
                                  node.input().begin() + first + n);
  std::vector<std::string> inputs(node.input().begin() + first + n, node.input().end());
  // The common length of the scan inputs (opset 8: along axis 1, and the batch).
  int64_t length = -1, batch = 1;
  for (int64_t j = 0; j < m; ++j) {
    int64_t axis = v8 ? 1 : shape.in_axes[j];
    ENGINE_ASSIGN_OR_RETURN(int64_t len, StaticLength(s, shapes, inputs[j], &axis));
    if (!v8) shape.in_axes[j] = axis;
    if (length >= 0 && len != length) {
      return absl::InvalidArgumentError(absl::StrCat(s.label, ": scan inputs of lengths ", length,
                                                     " and ", len));
    }
    length = len;
    if (v8) {
      int64_t zero = 0;
      ENGINE_ASSIGN_OR_RETURN(batch, StaticLength(s, shapes, inputs[j], &zero));
    }
  }
  if (length == 0) {
    return absl::UnimplementedError(absl::StrCat(
        s.label, ": scan length 0, whose empty outputs' shapes the engine cannot know "
                 "without running the body"));
  }
  ENGINE_RETURN_IF_ERROR(CheckUnroll(s, length * batch, body->node_size() + m));
  absl::flat_hash_map<std::string, std::string> inits;
  std::vector<std::string> state_out(node.output().begin(), node.output().begin() + n);
  std::vector<std::string> scan_out(node.output().begin() + n, node.output().end());
  if (!v8) {
    ENGINE_RETURN_IF_ERROR(
        UnrollScan(s, em, *body, states, inputs, shape, length, s.prefix, inits, state_out, scan_out));
  } else {
    // Opset 8: one scan per batch entry, on the entry's slices; the results
    // stacked back along the batch axis.
    std::vector<std::vector<std::string>> state_parts(n), scan_parts(k_out);
    for (int64_t b = 0; b < batch; ++b) {
      const std::string at = absl::StrCat(s.prefix, "b", b, "/");
      std::vector<std::string> st, in;
      for (const auto& x : states) st.push_back(em.Element(x, 0, b, at + "state"));
      for (const auto& x : inputs) in.push_back(em.Element(x, 0, b, at + "input"));
      std::vector<std::string> so(n), yo(k_out);
      ENGINE_RETURN_IF_ERROR(UnrollScan(s, em, *body, st, in, shape, length, at, inits, so, yo));
      for (int64_t j = 0; j < n; ++j) state_parts[j].push_back(em.Unsqueeze(so[j], 0, at + "state_b"));
      for (int64_t k = 0; k < k_out; ++k) scan_parts[k].push_back(em.Unsqueeze(yo[k], 0, at + "scan_b"));
    }
    for (int64_t j = 0; j < n; ++j) {
      em.Concat(state_parts[j], 0, state_out[j].empty() ? em.Fresh(s.prefix + "state") : state_out[j]);
    }
    for (int64_t k = 0; k < k_out; ++k) {
      em.Concat(scan_parts[k], 0, scan_out[k].empty() ? em.Fresh(s.prefix + "scan") : scan_out[k]);
    }
  }
  ++stats.scans_unrolled;
  stats.iterations += length * batch;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ControlFlowStats> LowerControlFlow(onnx::ModelProto& model,
                                                  const ShapeOracle& shapes,
                                                  const ScalarOracle& scalars,
                                                  const ControlFlowLimits& limits) {
  ControlFlowStats stats;
  onnx::GraphProto* g = model.mutable_graph();
  auto is_control_flow = [](const onnx::NodeProto& n) {
    return IsDefaultDomain(n.domain()) &&
           (n.op_type() == "If" || n.op_type() == "Loop" || n.op_type() == "Scan");
  };
  bool any = false;
  for (const auto& n : g->node()) any = any || is_control_flow(n);
  if (!any) return stats;
  // One pass: `placed` holds the final nodes in order, `pending` those still
  // to look at (a lowered node's replacement goes to its front, so nested
  // control flow is lowered in turn). Names are kept unique against `taken`:
  // the main graph's names (not those local to bodies), plus every name made.
  const int opset = DefaultOpset(model);
  absl::flat_hash_set<std::string> taken;
  {
    onnx::GraphProto main = *g;
    for (auto& n : *main.mutable_node()) n.clear_attribute();
    CollectNames(main, taken);
  }
  std::vector<onnx::NodeProto> placed;
  std::deque<onnx::NodeProto> pending(std::make_move_iterator(g->mutable_node()->begin()),
                                      std::make_move_iterator(g->mutable_node()->end()));
  g->clear_node();
  // The shape oracle on the model as it stands (placed + pending), cached
  // until asked for a name it does not cover.
  std::optional<ShapeMap> cache;
  const onnx::NodeProto* current = nullptr;  // the node being lowered
  auto shapes_for = [&](const std::vector<std::string>& names) -> const ShapeMap& {
    bool covered = cache.has_value();
    for (const auto& n : names) covered = covered && cache->contains(n);
    if (!covered) {
      for (const auto& n : placed) *g->add_node() = n;
      if (current != nullptr) *g->add_node() = *current;
      for (const auto& n : pending) *g->add_node() = n;
      cache = shapes(model);
      g->clear_node();
    }
    return *cache;
  };
  // A scalar from the nodes placed so far.
  auto scalar_of = [&](const std::string& name) -> std::optional<int64_t> {
    for (const auto& n : placed) *g->add_node() = n;
    std::optional<int64_t> v = scalars(model, name);
    g->clear_node();
    return v;
  };
  int64_t lowered = 0;
  while (!pending.empty()) {
    onnx::NodeProto node = std::move(pending.front());
    pending.pop_front();
    if (!is_control_flow(node)) {
      placed.push_back(std::move(node));
      continue;
    }
    const int64_t graph_nodes = static_cast<int64_t>(placed.size() + pending.size()) + 1;
    if (++lowered > limits.max_nodes || graph_nodes > limits.max_nodes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          Describe(node), ": lowering control flow would pass ", limits.max_nodes,
          " nodes or control-flow nodes"));
    }
    const std::string base = node.name().empty() ? node.op_type() : node.name();
    Site site{*g,        placed,    graph_nodes, node, Describe(node), base + "/",
              shapes_for, scalar_of, limits};
    Emitter em(*g, opset, taken);
    current = &node;
    absl::Status st = node.op_type() == "If"     ? LowerIf(site, em, stats)
                      : node.op_type() == "Loop" ? LowerLoop(site, em, stats)
                                                 : LowerScan(site, em, stats);
    current = nullptr;
    if (!st.ok()) return st;
    if (graph_nodes - 1 + static_cast<int64_t>(em.nodes.size()) > limits.max_nodes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          site.label, ": lowering control flow would make a graph of more than ",
          limits.max_nodes, " nodes"));
    }
    for (auto it = em.nodes.rbegin(); it != em.nodes.rend(); ++it) {
      pending.push_front(std::move(*it));
    }
  }
  for (auto& n : placed) *g->add_node() = std::move(n);
  return stats;
}

}  // namespace engine::parser
