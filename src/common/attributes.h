// Typed, ordered attribute map of a node or engine layer.
#ifndef ENGINE_COMMON_ATTRIBUTES_H_
#define ENGINE_COMMON_ATTRIBUTES_H_

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace engine {

/// One attribute value: int, float, string, ints or floats (ONNX's
/// AttributeProto kinds minus tensors and graphs; importers turn tensor-valued
/// attributes into these).
using AttrValue =
    std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>>;

/// Attributes by name. Getters take the ONNX default for a missing attribute;
/// a present attribute of the wrong kind is an InvalidArgument error from the
/// checked getters, never a crash.
class Attributes {
 public:
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  void Set(const std::string& name, AttrValue v) { values_[name] = std::move(v); }
  void Erase(const std::string& name) { values_.erase(name); }
  const std::map<std::string, AttrValue>& values() const { return values_; }
  bool empty() const { return values_.empty(); }

  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t def) const;
  absl::StatusOr<float> GetFloat(const std::string& name, float def) const;
  absl::StatusOr<std::string> GetString(const std::string& name, const std::string& def) const;
  absl::StatusOr<std::vector<int64_t>> GetInts(const std::string& name,
                                               const std::vector<int64_t>& def = {}) const;
  absl::StatusOr<std::vector<float>> GetFloats(const std::string& name,
                                               const std::vector<float>& def = {}) const;

  /// Unchecked conveniences for attributes already validated by Prepare:
  /// return `def` when missing or of the wrong kind.
  int64_t Int(const std::string& name, int64_t def) const;
  float Float(const std::string& name, float def) const;
  std::vector<int64_t> Ints(const std::string& name, const std::vector<int64_t>& def = {}) const;

  /// "name=value, ..." for logs and IR dumps.
  std::string ToString() const;

  bool operator==(const Attributes& o) const { return values_ == o.values_; }

 private:
  std::map<std::string, AttrValue> values_;
};

}  // namespace engine

#endif  // ENGINE_COMMON_ATTRIBUTES_H_
