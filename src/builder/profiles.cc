#include "builder/profiles.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace engine::builder {
namespace {

std::string DimsX(const Dims& d) { return absl::StrJoin(d, "x"); }

std::set<std::string> Names(const ShapeMap& m) {
  std::set<std::string> s;
  for (const auto& [name, dims] : m) s.insert(name);
  return s;
}

}  // namespace

std::string ShapesToString(const ShapeMap& shapes) {
  std::vector<std::string> parts;
  for (const auto& [name, dims] : shapes) parts.push_back(absl::StrCat(name, ":", DimsX(dims)));
  return absl::StrJoin(parts, ",");
}

absl::Status ValidateProfiles(const BuilderConfig& config) {
  if (config.shape_buckets < 1 || config.shape_buckets > 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BuilderConfig::shape_buckets (--shapeBuckets) is ", config.shape_buckets,
        "; give 1 to 16 buckets per optimization profile"));
  }
  std::set<std::string> first_names;
  for (size_t p = 0; p < config.profiles.size(); ++p) {
    const OptimizationProfile& prof = config.profiles[p];
    const std::string where = absl::StrCat("optimization profile ", p);
    if (prof.max.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " gives no shapes; give --minShapes, --optShapes and --maxShapes"));
    }
    const std::pair<const char*, const ShapeMap*> maps[] = {
        {"--minShapes", &prof.min}, {"--optShapes", &prof.opt}, {"--maxShapes", &prof.max}};
    for (const auto& [flag, m] : maps) {
      const std::set<std::string> names = Names(*m), max_names = Names(prof.max);
      if (names != max_names) {
        std::vector<std::string> a(names.begin(), names.end());
        std::vector<std::string> b(max_names.begin(), max_names.end());
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": ", flag, " names the inputs {", absl::StrJoin(a, ", "),
            "} but --maxShapes names {", absl::StrJoin(b, ", "),
            "}; min, opt and max must name the same inputs"));
      }
    }
    if (p == 0) {
      first_names = Names(prof.max);
    } else if (Names(prof.max) != first_names) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " names other inputs than optimization profile 0; every profile must give a "
                 "range for the same inputs"));
    }
    for (const auto& [name, max] : prof.max) {
      const Dims& min = prof.min.at(name);
      const Dims& opt = prof.opt.at(name);
      if (config.input_shapes.count(name) != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": input '", name, "' is both pinned by --shapes (input_shapes) and given a "
            "range; use one of them"));
      }
      if (min.size() != max.size() || opt.size() != max.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": input '", name, "' has min ", DimsX(min), ", opt ", DimsX(opt), " and max ",
            DimsX(max), " of different ranks"));
      }
      for (size_t d = 0; d < max.size(); ++d) {
        if (min[d] < 0 || !(min[d] <= opt[d] && opt[d] <= max[d])) {
          return absl::InvalidArgumentError(absl::StrCat(
              where, ": input '", name, "' dimension ", d, " has min ", min[d], ", opt ", opt[d],
              ", max ", max[d], " (shapes ", DimsX(min), ", ", DimsX(opt), ", ", DimsX(max),
              "); they must satisfy 0 <= min <= opt <= max"));
        }
      }
    }
  }
  return absl::OkStatus();
}

ShapeMap BuildShape(const BuilderConfig& config, ShapeMap* min_shapes) {
  ShapeMap max_shape, min_shape;
  for (const OptimizationProfile& p : config.profiles) {
    for (const auto& [name, max] : p.max) {
      auto [it, fresh] = max_shape.emplace(name, max);
      if (!fresh) {
        for (size_t d = 0; d < max.size(); ++d) it->second[d] = std::max(it->second[d], max[d]);
      }
      const Dims& min = p.min.at(name);
      auto [jt, fresh_min] = min_shape.emplace(name, min);
      if (!fresh_min) {
        for (size_t d = 0; d < min.size(); ++d) jt->second[d] = std::min(jt->second[d], min[d]);
      }
    }
  }
  if (min_shapes != nullptr) *min_shapes = std::move(min_shape);
  return max_shape;
}

std::vector<ShapeMap> BucketShapes(const OptimizationProfile& p, int buckets) {
  std::vector<ShapeMap> out;
  auto add = [&out](const ShapeMap& s) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  if (buckets >= 3) add(p.min);
  if (buckets >= 2) add(p.opt);
  for (int i = 1; i <= buckets - 3; ++i) {
    ShapeMap s;
    for (const auto& [name, max] : p.max) {
      const Dims& min = p.min.at(name);
      Dims d(max.size());
      for (size_t k = 0; k < max.size(); ++k) {
        d[k] = min[k] + ((max[k] - min[k]) * i + (buckets - 2) - 1) / (buckets - 2);
      }
      s[name] = d;
    }
    add(s);
  }
  add(p.max);
  auto size = [](const ShapeMap& s) {
    int64_t n = 0;
    for (const auto& [name, d] : s) n += NumElements(d);
    return n;
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const ShapeMap& a, const ShapeMap& b) { return size(a) < size(b); });
  return out;
}

}  // namespace engine::builder
