#include "common/status_macros.h"

#include "absl/strings/str_cat.h"

namespace engine {

absl::Status Annotate(const absl::Status& status, std::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(std::string(prefix), ": ", status.message()));
}

}  // namespace engine
