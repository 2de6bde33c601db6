// How the tool writes its output files (--exportProfile, --exportTrace,
// --exportLayerInfo, --exportReport, --exportReportDir, --dumpDot, compare
// --json and --html): whole files through engine::WriteFileAtomically, so
// that a reader never sees a partial file, a failure leaves nothing behind
// and the tool inherits the writer's refusal to replace anything but a
// regular file.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_JSON_FILE_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_JSON_FILE_H_

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"

namespace trtexec_like {

/// Writes `text` to `path` atomically. Errors keep the writer's status code;
/// the message names `flag` and the file: "cannot write --html file 'x.html':
/// <reason>".
absl::Status WriteTextFile(const std::string& flag, const std::string& path,
                           std::string_view text);

/// Writes `json` to `path` with WriteTextFile, followed by a newline;
/// `indent` < 0 writes it compactly. Invalid UTF-8 in strings is replaced
/// (U+FFFD), never an exception.
absl::Status WriteJsonFile(const std::string& flag, const std::string& path,
                           const nlohmann::json& json, int indent = 2);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_REPORT_JSON_FILE_H_
