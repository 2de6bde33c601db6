#include "serving/model_config.h"

#include <nlohmann/json.hpp>

#include "serving/json_util.h"

namespace engine::serving {
namespace {

using nlohmann::json;

absl::Status Bad(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(path + ": " + what);
}

// `v` as an integer in [lo, hi], or an error naming `key`.
absl::StatusOr<int64_t> Integer(const json& v, const std::string& path, const std::string& key,
                                int64_t lo, int64_t hi) {
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Bad(path, "\"" + key + "\" is " + Printable(v.dump(), 24) + "; expected an integer in [" +
                         std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return v.get<int64_t>();
}

}  // namespace

absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view text, const std::string& path) {
  // A NUL byte would end nlohmann's input early; JSON has none.
  json doc = text.find('\0') == std::string_view::npos
                 ? json::parse(text, nullptr, /*allow_exceptions=*/false)
                 : json(json::value_t::discarded);
  if (doc.is_discarded()) return Bad(path, "not valid JSON");
  if (!doc.is_object()) return Bad(path, "not a JSON object");
  ModelConfig c;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    absl::StatusOr<int64_t> v;
    if (key == "max_batch_size") {
      if (!(v = Integer(*it, path, key, 0, 1024)).ok()) return v.status();
      c.max_batch_size = static_cast<int>(*v);
    } else if (key == "instance_count") {
      if (!(v = Integer(*it, path, key, 1, 64)).ok()) return v.status();
      c.instance_count = static_cast<int>(*v);
    } else if (key == "threads") {
      if (!(v = Integer(*it, path, key, 0, 1024)).ok()) return v.status();
      c.threads = static_cast<int>(*v);
    } else if (key == "max_queue_size") {
      if (!(v = Integer(*it, path, key, 1, 65536)).ok()) return v.status();
      c.max_queue_size = static_cast<int>(*v);
    } else if (key == "default_timeout_us") {
      if (!(v = Integer(*it, path, key, 0, int64_t{3600} * 1000000)).ok()) return v.status();
      c.default_timeout_us = *v;
    } else if (key == "dynamic_batching") {
      if (!it->is_object()) return Bad(path, "\"dynamic_batching\" is not an object");
      c.dynamic_batching = true;
      for (auto d = it->begin(); d != it->end(); ++d) {
        const std::string k = "dynamic_batching." + d.key();
        if (d.key() == "max_queue_delay_us") {
          if (!(v = Integer(*d, path, k, 0, 10000000)).ok()) return v.status();
          c.max_queue_delay_us = *v;
        } else if (d.key() == "preferred_batch_size") {
          if (!d->is_array()) return Bad(path, "\"" + k + "\" is not an array");
          for (const json& p : *d) {
            if (!(v = Integer(p, path, k + "[]", 1, 1024)).ok()) return v.status();
            c.preferred_batch_size.push_back(static_cast<int>(*v));
          }
        } else {
          return Bad(path, "unknown key \"" + Printable(k, 48) +
                               "\" (expected max_queue_delay_us, preferred_batch_size)");
        }
      }
    } else {
      return Bad(path, "unknown key \"" + Printable(key, 48) +
                           "\" (expected max_batch_size, dynamic_batching, instance_count, "
                           "threads, max_queue_size, default_timeout_us)");
    }
  }
  if (c.dynamic_batching && c.max_batch_size == 0) {
    return Bad(path, "\"dynamic_batching\" needs \"max_batch_size\" > 0");
  }
  for (int p : c.preferred_batch_size) {
    if (p > c.max_batch_size) {
      return Bad(path, "preferred batch size " + std::to_string(p) + " exceeds max_batch_size " +
                           std::to_string(c.max_batch_size));
    }
  }
  return c;
}

}  // namespace engine::serving
