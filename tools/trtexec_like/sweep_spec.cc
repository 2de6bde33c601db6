#include "trtexec_like/sweep_spec.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/hardware.h"

namespace trtexec_like {
namespace {

struct Axis {
  std::string key;
  std::vector<std::string> values;
};

absl::Status BadItem(absl::string_view item, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("--hwSweep item '", item, "': ", why));
}

// A value as a file-name part: [A-Za-z0-9.+-] kept, the rest '_'.
std::string FilePart(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '+' && c != '-') {
      c = '_';
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<SweepPoint>> ParseHwSweep(const std::string& spec,
                                                     const std::string& base_hw) {
  const std::string base = base_hw.empty() ? "edge" : base_hw;
  auto base_config = engine::ParseHardwareSpec(base);
  if (!base_config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--hwSweep: the base --hw '", base, "' is invalid: ",
                     base_config.status().message()));
  }
  std::vector<Axis> axes;
  std::set<std::string> keys;
  for (absl::string_view raw : absl::StrSplit(spec, ';')) {
    const absl::string_view item = absl::StripAsciiWhitespace(raw);
    if (item.empty()) {
      if (absl::StripAsciiWhitespace(spec).empty()) {
        return absl::InvalidArgumentError(
            "--hwSweep: empty; expected KEY=VALUE|VALUE...[;KEY=...], e.g. "
            "array=16x16|32x32;dram_bw=8|32");
      }
      continue;  // a trailing or doubled ';'
    }
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return BadItem(item, "expected KEY=VALUE|VALUE..., e.g. array=16x16|32x32");
    }
    Axis axis;
    axis.key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(item.substr(0, eq)));
    if (axis.key.empty()) return BadItem(item, "missing the key before '='");
    if (axis.key == "bandwidth") axis.key = "dram_bw";
    if (!keys.insert(axis.key).second) {
      return BadItem(item, absl::StrCat("key '", axis.key, "' is swept twice"));
    }
    std::set<std::string> seen;
    for (absl::string_view v : absl::StrSplit(item.substr(eq + 1), '|')) {
      const std::string value(absl::StripAsciiWhitespace(v));
      if (value.empty()) return BadItem(item, "empty value (values are separated by '|')");
      if (value.find_first_of(",=;") != std::string::npos) {
        return BadItem(item, absl::StrCat("value '", value, "' contains ',', '=' or ';'"));
      }
      if (!seen.insert(value).second) {
        return BadItem(item, absl::StrCat("value '", value, "' is listed twice"));
      }
      engine::HardwareConfig probe = *base_config;
      absl::Status s = engine::ApplyHardwareOverride(probe, axis.key, value);
      if (!s.ok()) return BadItem(item, std::string(s.message()));
      axis.values.push_back(value);
    }
    axes.push_back(std::move(axis));
  }
  if (axes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--hwSweep '", spec, "': no KEY=VALUE|VALUE... item, e.g. array=16x16|32x32;dram_bw=8|32"));
  }
  size_t count = 1;
  for (const Axis& a : axes) {
    count *= a.values.size();
    if (count > kMaxSweepPoints) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--hwSweep '", spec, "': more than ", kMaxSweepPoints,
          " configurations; sweep fewer values at a time"));
    }
  }
  const int digits = std::max<int>(2, static_cast<int>(std::to_string(count).size()));
  std::vector<SweepPoint> points;
  for (size_t i = 0; i < count; ++i) {
    // Mixed radix, the last axis fastest.
    std::vector<size_t> index(axes.size());
    size_t rest = i;
    for (size_t a = axes.size(); a-- > 0;) {
      index[a] = rest % axes[a].values.size();
      rest /= axes[a].values.size();
    }
    SweepPoint p;
    p.hw_spec = base;
    std::vector<std::string> parts;
    for (size_t a = 0; a < axes.size(); ++a) {
      const std::string& value = axes[a].values[index[a]];
      p.overrides.emplace_back(axes[a].key, value);
      absl::StrAppend(&p.hw_spec, ",", axes[a].key, "=", value);
      parts.push_back(absl::StrCat(axes[a].key, "-", FilePart(value)));
    }
    p.file_name = absl::StrCat("p", absl::StrFormat("%0*d", digits, static_cast<int>(i + 1)), "_",
                               absl::StrJoin(parts, "_"), ".json");
    auto hw = engine::ParseHardwareSpec(p.hw_spec);
    if (!hw.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--hwSweep configuration --hw=", p.hw_spec,
                                                     ": ", hw.status().message()));
    }
    points.push_back(std::move(p));
  }
  return points;
}

}  // namespace trtexec_like
