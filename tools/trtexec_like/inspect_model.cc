#include "trtexec_like/inspect_model.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "onnx/onnx_pb.h"
#include "ops/op_registry.h"
#include "trtexec_like/format.h"

namespace trtexec_like {
namespace {

OnnxValueInfo ValueOf(const onnx::ValueInfoProto& v) {
  OnnxValueInfo out;
  out.name = v.name();
  out.dtype = "?";
  if (v.type().has_tensor_type()) {
    const auto& t = v.type().tensor_type();
    if (t.elem_type() != 0) {
      out.dtype = absl::AsciiStrToLower(
          onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(t.elem_type())));
    }
    if (t.has_shape()) {
      for (const auto& d : t.shape().dim()) {
        out.dims.push_back(d.has_dim_value()   ? absl::StrCat(d.dim_value())
                           : d.has_dim_param() ? d.dim_param()
                                               : "?");
      }
    } else {
      out.dims.push_back("(unknown rank)");
    }
  } else {
    out.dtype = "(not a tensor)";
  }
  return out;
}

int64_t DomainOpset(const onnx::ModelProto& m, const std::string& domain) {
  const bool default_domain = domain.empty() || domain == "ai.onnx";
  for (const auto& o : m.opset_import()) {
    const bool d = o.domain().empty() || o.domain() == "ai.onnx";
    if (default_domain ? d : o.domain() == domain) return o.version();
  }
  return 0;
}

std::string Shape(const OnnxValueInfo& v) {
  return v.dims.empty() ? "scalar" : absl::StrCat("[", absl::StrJoin(v.dims, ", "), "]");
}

// "'a', 'b'" or "(none)".
std::string Quoted(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::vector<std::string> q;
  for (const auto& n : names) q.push_back(absl::StrCat("'", n, "'"));
  return absl::StrJoin(q, ", ");
}

absl::Status CheckNames(const char* flag, const std::vector<std::pair<std::string, std::string>>& items,
                        const std::vector<std::string>& names, const char* kind,
                        const std::string& what) {
  for (const auto& [name, file] : items) {
    if (name.empty()) {
      if (names.size() != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            flag, " item '", file, "' has no name and ", what, " has ", names.size(), " ", kind,
            "s (", Quoted(names), "); use name:file"));
      }
      continue;
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": ", what, " has no ", kind, " named '",
                                                     name, "'; its ", kind, "s are: ",
                                                     Quoted(names)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OnnxModelSummary> SummarizeOnnxModel(const std::string& path) {
  auto bytes = engine::ReadFileToString(path);
  if (!bytes.ok()) return bytes.status();
  onnx::ModelProto m;
  if (!m.ParseFromString(*bytes) || !m.has_graph()) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not an ONNX model (no ModelProto "
                                                   "with a graph could be parsed)"));
  }
  OnnxModelSummary s;
  const auto& g = m.graph();
  s.graph_name = g.name();
  s.producer = absl::StrCat(m.producer_name(), m.producer_version().empty() ? "" : " ",
                            m.producer_version());
  s.ir_version = m.ir_version();
  for (const auto& o : m.opset_import()) s.opsets.emplace_back(o.domain(), o.version());
  std::set<std::string> init_names;
  for (const auto& t : g.initializer()) {
    init_names.insert(t.name());
    ++s.initializers;
    s.initializer_bytes += static_cast<int64_t>(t.raw_data().size()) +
                           4 * (t.float_data_size() + t.int32_data_size()) +
                           8 * (t.int64_data_size() + t.double_data_size());
  }
  for (const auto& in : g.input()) {
    if (!init_names.count(in.name())) s.inputs.push_back(ValueOf(in));
  }
  for (const auto& out : g.output()) s.outputs.push_back(ValueOf(out));
  const auto& registry = engine::ops::OpRegistry::Builtin();
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    ++s.nodes;
    const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
    ++s.op_histogram[default_domain ? n.op_type() : absl::StrCat(n.domain(), ":", n.op_type())];
    std::string why;
    if (registry.FindImport(n.domain(), n.op_type(), static_cast<int>(DomainOpset(m, n.domain())),
                            &why) == nullptr) {
      s.unsupported.push_back(absl::StrCat("node ", i, " '", n.name(), "' (", n.op_type(), "): ", why));
    }
  }
  return s;
}

absl::Status InspectModel(const std::string& path) {
  auto s = SummarizeOnnxModel(path);
  if (!s.ok()) return s.status();
  std::printf("=== Model %s ===\n", path.c_str());
  std::printf("Graph:         %s\n", s->graph_name.empty() ? "(unnamed)" : s->graph_name.c_str());
  std::printf("Producer:      %s\n", s->producer.empty() ? "-" : s->producer.c_str());
  std::vector<std::string> opsets;
  for (const auto& [domain, version] : s->opsets) {
    opsets.push_back(absl::StrCat(domain.empty() ? "ai.onnx" : domain, " ", version));
  }
  std::printf("IR version:    %lld; opsets: %s\n", static_cast<long long>(s->ir_version),
              opsets.empty() ? "(none)" : absl::StrJoin(opsets, ", ").c_str());
  std::printf("Initializers:  %lld (%s)\n", static_cast<long long>(s->initializers),
              FormatBytesExact(s->initializer_bytes).c_str());
  std::printf("\n=== Inputs (%zu) ===\n", s->inputs.size());
  for (const auto& v : s->inputs) {
    std::printf("  %s: %s %s\n", v.name.c_str(), v.dtype.c_str(), Shape(v).c_str());
  }
  std::printf("=== Outputs (%zu) ===\n", s->outputs.size());
  for (const auto& v : s->outputs) {
    std::printf("  %s: %s %s\n", v.name.c_str(), v.dtype.c_str(), Shape(v).c_str());
  }
  std::vector<std::pair<std::string, int64_t>> ops(s->op_histogram.begin(), s->op_histogram.end());
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::printf("\n=== Ops (%lld nodes, %zu op types) ===\n", static_cast<long long>(s->nodes), ops.size());
  for (const auto& [op, count] : ops) std::printf("  %6lld  %s\n", static_cast<long long>(count), op.c_str());
  if (s->unsupported.empty()) {
    std::printf("\n=== Unsupported by the engine: none ===\n");
  } else {
    std::printf("\n=== Unsupported by the engine (%zu nodes) ===\n", s->unsupported.size());
    for (const auto& u : s->unsupported) std::printf("  %s\n", u.c_str());
    std::printf("(a build fails on these unless a rewrite removes them, such as a constant If)\n");
  }
  return absl::OkStatus();
}

absl::Status CheckTensorNames(const ValidatedOptions& v, const std::vector<std::string>& inputs,
                              const std::vector<std::string>& outputs, const std::string& what) {
  absl::Status s = CheckNames("--loadInputs", v.load_inputs, inputs, "input", what);
  if (!s.ok()) return s;
  return CheckNames("--loadRefOutputs", v.ref_outputs, outputs, "output", what);
}

}  // namespace trtexec_like
