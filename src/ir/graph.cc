#include "ir/graph.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace engine::ir {

std::string Node::Describe() const {
  return absl::StrCat("node #", onnx_index, " '", name, "' (", op_type, ")");
}

Value* Graph::AddValue(const std::string& name) {
  std::string unique = name;
  for (int i = 1; by_name_.contains(unique); ++i) unique = absl::StrCat(name, "__", i);
  auto v = std::make_unique<Value>();
  v->name = unique;
  Value* raw = v.get();
  values_.push_back(std::move(v));
  by_name_[unique] = raw;
  return raw;
}

Value* Graph::AddConstant(const std::string& name, std::shared_ptr<const Tensor> tensor) {
  Value* v = AddValue(name);
  v->dtype = tensor->dtype();
  v->shape = tensor->shape();
  v->has_shape = true;
  v->constant = std::move(tensor);
  return v;
}

Value* Graph::FindValue(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Node* Graph::AddNode(std::unique_ptr<Node> node) {
  for (Value* out : node->outputs) {
    if (out != nullptr) out->producer = node.get();
  }
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

Node* Graph::InsertNodeBefore(Node* before, std::unique_ptr<Node> node) {
  for (Value* out : node->outputs) {
    if (out != nullptr) out->producer = node.get();
  }
  auto it = std::find_if(nodes_.begin(), nodes_.end(),
                         [&](const std::unique_ptr<Node>& n) { return n.get() == before; });
  Node* raw = node.get();
  nodes_.insert(it, std::move(node));
  return raw;
}

void Graph::RemoveNode(Node* node) {
  for (Value* out : node->outputs) {
    if (out != nullptr && out->producer == node) out->producer = nullptr;
  }
  nodes_.erase(std::remove_if(nodes_.begin(), nodes_.end(),
                              [&](const std::unique_ptr<Node>& n) { return n.get() == node; }),
               nodes_.end());
}

absl::Status Graph::SetSchedule(const std::vector<Node*>& order) {
  if (order.size() != nodes_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("SetSchedule: ", order.size(),
                                                   " nodes given, the graph has ", nodes_.size()));
  }
  absl::flat_hash_map<const Node*, size_t> position;
  for (size_t i = 0; i < nodes_.size(); ++i) position[nodes_[i].get()] = i;
  absl::flat_hash_map<const Node*, size_t> new_position;
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i] == nullptr || !position.contains(order[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("SetSchedule: entry ", i, " is not a node of the graph"));
    }
    if (!new_position.emplace(order[i], i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("SetSchedule: ", order[i]->Describe(), " appears twice"));
    }
  }
  for (size_t i = 0; i < order.size(); ++i) {
    for (const Value* in : order[i]->inputs) {
      if (in == nullptr || in->producer == nullptr) continue;
      auto it = new_position.find(in->producer);
      if (it != new_position.end() && it->second >= i) {
        return absl::InvalidArgumentError(absl::StrCat(
            "SetSchedule: ", order[i]->Describe(), " reads '", in->name, "' before ",
            in->producer->Describe(), " produces it"));
      }
    }
  }
  std::vector<std::unique_ptr<Node>> reordered(nodes_.size());
  for (size_t i = 0; i < order.size(); ++i) {
    reordered[i] = std::move(nodes_[position.at(order[i])]);
  }
  nodes_ = std::move(reordered);
  return absl::OkStatus();
}

bool Graph::IsGraphOutput(const Value* v) const {
  return std::find(outputs_.begin(), outputs_.end(), v) != outputs_.end();
}

bool Graph::IsGraphInput(const Value* v) const {
  return std::find(inputs_.begin(), inputs_.end(), v) != inputs_.end();
}

std::vector<Node*> Graph::Consumers(const Value* v) const {
  std::vector<Node*> out;
  for (const auto& n : nodes_) {
    if (std::find(n->inputs.begin(), n->inputs.end(), v) != n->inputs.end()) out.push_back(n.get());
  }
  return out;
}

void Graph::ReplaceAllUsesWith(Value* from, Value* to) {
  for (const auto& n : nodes_) {
    for (Value*& in : n->inputs) {
      if (in == from) in = to;
    }
  }
  for (Value*& out : outputs_) {
    if (out == from) out = to;
  }
}

void Graph::RemoveUnusedValues() {
  absl::flat_hash_set<const Value*> used(inputs_.begin(), inputs_.end());
  used.insert(outputs_.begin(), outputs_.end());
  for (const auto& n : nodes_) {
    used.insert(n->inputs.begin(), n->inputs.end());
    used.insert(n->outputs.begin(), n->outputs.end());
  }
  std::vector<std::unique_ptr<Value>> kept;
  for (auto& v : values_) {
    if (used.contains(v.get())) {
      kept.push_back(std::move(v));
    } else {
      by_name_.erase(v->name);
    }
  }
  values_ = std::move(kept);
}

std::vector<Value*> Graph::values() const {
  std::vector<Value*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v.get());
  return out;
}

absl::Status Graph::Verify() const {
  absl::flat_hash_set<const Value*> available(inputs_.begin(), inputs_.end());
  for (const auto& v : values_) {
    if (v->is_constant()) available.insert(v.get());
    if (!v->has_shape) {
      return absl::InternalError(absl::StrCat("IR verifier: value '", v->name, "' has no shape"));
    }
  }
  for (const auto& n : nodes_) {
    for (const Value* in : n->inputs) {
      if (in != nullptr && !available.contains(in)) {
        return absl::InternalError(absl::StrCat("IR verifier: ", n->Describe(), " reads '",
                                                in->name, "' before it is produced"));
      }
    }
    for (const Value* out : n->outputs) {
      if (out == nullptr) continue;
      if (out->producer != n.get()) {
        return absl::InternalError(absl::StrCat("IR verifier: ", n->Describe(), " output '",
                                                out->name, "' has another producer"));
      }
      available.insert(out);
    }
  }
  for (const Value* out : outputs_) {
    if (!available.contains(out)) {
      return absl::InternalError(
          absl::StrCat("IR verifier: graph output '", out->name, "' is never produced"));
    }
  }
  return absl::OkStatus();
}

namespace {

std::string ValueLabel(const Value* v) {
  if (v == nullptr) return "%<none>";
  return absl::StrCat("%", v->name, "[", DimsToString(v->shape), ":", DataTypeName(v->dtype), "]");
}

}  // namespace

std::string Graph::ToText() const {
  std::string s = absl::StrCat("graph ", name, " (", nodes_.size(), " nodes)\n");
  for (const Value* v : inputs_) absl::StrAppend(&s, "  input ", ValueLabel(v), "\n");
  for (const auto& n : nodes_) {
    std::vector<std::string> outs, ins;
    for (const Value* v : n->outputs) outs.push_back(ValueLabel(v));
    for (const Value* v : n->inputs) {
      ins.push_back(v == nullptr ? "%<none>"
                                 : absl::StrCat("%", v->name, v->is_constant() ? "(const)" : ""));
    }
    absl::StrAppend(&s, "  ", absl::StrJoin(outs, ", "), " = ", n->op_type, "(",
                    absl::StrJoin(ins, ", "), ")");
    if (!n->attrs.empty()) absl::StrAppend(&s, " {", n->attrs.ToString(), "}");
    absl::StrAppend(&s, "  # ", absl::StrJoin(n->onnx_nodes, " + "), "\n");
  }
  for (const Value* v : outputs_) absl::StrAppend(&s, "  output ", ValueLabel(v), "\n");
  return s;
}

std::string Graph::ToDot() const {
  auto id = [](const void* p) { return absl::StrCat("n", reinterpret_cast<uintptr_t>(p)); };
  auto esc = [](const std::string& s) { return absl::StrReplaceAll(s, {{"\"", "\\\""}}); };
  std::string s = absl::StrCat("digraph \"", esc(name), "\" {\n  rankdir=TB;\n");
  for (const Value* v : inputs_) {
    absl::StrAppend(&s, "  ", id(v), " [shape=oval,label=\"", esc(v->name), "\\n",
                    DimsToString(v->shape), "\"];\n");
  }
  for (const auto& n : nodes_) {
    absl::StrAppend(&s, "  ", id(n.get()), " [shape=box,label=\"", esc(n->op_type), "\\n",
                    esc(n->name), "\"];\n");
    for (const Value* in : n->inputs) {
      if (in == nullptr || in->is_constant()) continue;
      const void* src = in->producer != nullptr ? static_cast<const void*>(in->producer)
                                                : static_cast<const void*>(in);
      absl::StrAppend(&s, "  ", id(src), " -> ", id(n.get()), " [label=\"",
                      DimsToString(in->shape), "\"];\n");
    }
  }
  for (const Value* v : outputs_) {
    absl::StrAppend(&s, "  ", id(v), "_out [shape=oval,label=\"", esc(v->name), "\"];\n");
    if (v->producer != nullptr) absl::StrAppend(&s, "  ", id(v->producer), " -> ", id(v), "_out;\n");
  }
  absl::StrAppend(&s, "}\n");
  return s;
}

}  // namespace engine::ir
