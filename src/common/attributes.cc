#include "common/attributes.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace engine {
namespace {

template <typename T>
absl::StatusOr<T> GetTyped(const std::map<std::string, AttrValue>& values, const std::string& name,
                           const T& def, const char* kind) {
  auto it = values.find(name);
  if (it == values.end()) return def;
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return absl::InvalidArgumentError(absl::StrCat("attribute '", name, "' must be ", kind));
}

}  // namespace

absl::StatusOr<int64_t> Attributes::GetInt(const std::string& name, int64_t def) const {
  return GetTyped<int64_t>(values_, name, def, "an int");
}
absl::StatusOr<float> Attributes::GetFloat(const std::string& name, float def) const {
  auto it = values_.find(name);
  // ONNX exporters sometimes write an integer-valued float attribute as int.
  if (it != values_.end()) {
    if (const int64_t* i = std::get_if<int64_t>(&it->second)) return static_cast<float>(*i);
  }
  return GetTyped<float>(values_, name, def, "a float");
}
absl::StatusOr<std::string> Attributes::GetString(const std::string& name,
                                                  const std::string& def) const {
  return GetTyped<std::string>(values_, name, def, "a string");
}
absl::StatusOr<std::vector<int64_t>> Attributes::GetInts(const std::string& name,
                                                         const std::vector<int64_t>& def) const {
  return GetTyped<std::vector<int64_t>>(values_, name, def, "a list of ints");
}
absl::StatusOr<std::vector<float>> Attributes::GetFloats(const std::string& name,
                                                         const std::vector<float>& def) const {
  return GetTyped<std::vector<float>>(values_, name, def, "a list of floats");
}

int64_t Attributes::Int(const std::string& name, int64_t def) const {
  auto v = GetInt(name, def);
  return v.ok() ? *v : def;
}
float Attributes::Float(const std::string& name, float def) const {
  auto v = GetFloat(name, def);
  return v.ok() ? *v : def;
}
std::vector<int64_t> Attributes::Ints(const std::string& name,
                                      const std::vector<int64_t>& def) const {
  auto v = GetInts(name, def);
  return v.ok() ? *v : def;
}

std::string Attributes::ToString() const {
  std::vector<std::string> parts;
  for (const auto& [name, value] : values_) {
    std::string s;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::vector<int64_t>> ||
                        std::is_same_v<T, std::vector<float>>) {
            s = absl::StrCat("[", absl::StrJoin(v, ","), "]");
          } else if constexpr (std::is_same_v<T, std::string>) {
            s = absl::StrCat("\"", v, "\"");
          } else {
            s = absl::StrCat(v);
          }
        },
        value);
    parts.push_back(absl::StrCat(name, "=", s));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace engine
