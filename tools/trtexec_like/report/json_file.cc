#include "trtexec_like/report/json_file.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"

namespace trtexec_like {

absl::Status WriteTextFile(const std::string& flag, const std::string& path,
                           std::string_view text) {
  absl::Status s = engine::WriteFileAtomically(path, text);
  if (s.ok()) return s;
  // The writer's messages start with the path; it is named once here.
  absl::string_view reason = s.message();
  absl::ConsumePrefix(&reason, absl::StrCat(path, ": "));
  return absl::Status(s.code(),
                      absl::StrCat("cannot write ", flag, " file '", path, "': ", reason));
}

absl::Status WriteJsonFile(const std::string& flag, const std::string& path,
                           const nlohmann::json& json, int indent) {
  const std::string text =
      json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return WriteTextFile(flag, path, text);
}

}  // namespace trtexec_like
