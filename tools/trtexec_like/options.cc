#include "options.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace trtexec_like {

absl::StatusOr<std::map<std::string, engine::Dims>> ParseShapes(const std::string& spec) {
  std::map<std::string, engine::Dims> out;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    size_t colon = item.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--shapes item '", item, "' must be name:dims, e.g. input:1x3x224x224"));
    }
    engine::Dims dims;
    for (absl::string_view d : absl::StrSplit(item.substr(colon + 1), 'x')) {
      int64_t v;
      if (!absl::SimpleAtoi(d, &v) || v < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--shapes item '", item, "': '", d, "' is not a dimension"));
      }
      dims.push_back(v);
    }
    out[std::string(item.substr(0, colon))] = dims;
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseNamedFiles(
    const std::string& spec) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    size_t colon = item.rfind(':');
    if (colon == absl::string_view::npos) {
      out.emplace_back("", std::string(item));
    } else {
      out.emplace_back(std::string(item.substr(0, colon)), std::string(item.substr(colon + 1)));
    }
  }
  return out;
}

absl::StatusOr<std::vector<double>> ParsePercentiles(const std::string& spec) {
  std::vector<double> out;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    double p;
    if (!absl::SimpleAtod(item, &p) || p <= 0 || p > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("--percentile value '", item, "' must be in (0, 100]"));
    }
    out.push_back(p);
  }
  return out;
}

absl::StatusOr<engine::Objective> ParseObjective(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower.empty() || lower == "latency") return engine::Objective::kLatency;
  if (lower == "energy") return engine::Objective::kEnergy;
  if (lower == "edp") return engine::Objective::kEdp;
  return absl::InvalidArgumentError(
      absl::StrCat("--objective '", name, "' must be one of latency, energy, edp"));
}

}  // namespace trtexec_like
