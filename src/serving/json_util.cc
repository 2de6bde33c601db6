#include "serving/json_util.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace engine::serving {

void AppendJsonString(std::string_view s, std::string* out) {
  out->append(nlohmann::json(std::string(s))
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string JsonError(std::string_view message) {
  std::string body = "{\"error\":";
  AppendJsonString(message, &body);
  body += "}\n";
  return body;
}

std::string Printable(std::string_view s, size_t max_bytes) {
  std::string out;
  size_t n = std::min(s.size(), max_bytes);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (n < s.size()) out += "...";
  return out;
}

}  // namespace engine::serving
