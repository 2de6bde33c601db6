// Small JSON and message helpers of the serving library (src/serving/).
#ifndef ENGINE_SERVING_JSON_UTIL_H_
#define ENGINE_SERVING_JSON_UTIL_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace engine::serving {

/// Appends `s` as a JSON string literal (RFC 8259: quoted, escaped; bytes that
/// are not valid UTF-8 become U+FFFD).
void AppendJsonString(std::string_view s, std::string* out);

/// The Open Inference Protocol's error body {"error": "<message>"} plus a
/// newline.
std::string JsonError(std::string_view message);

/// `s` made safe for an error message: at most `max_bytes` bytes of it, each
/// byte outside printable ASCII (and the backslash) as \xNN, "..." when cut.
std::string Printable(std::string_view s, size_t max_bytes = 64);

}  // namespace engine::serving

#endif  // ENGINE_SERVING_JSON_UTIL_H_
