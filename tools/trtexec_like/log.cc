#include "trtexec_like/log.h"

#include <cstdio>
#include <mutex>

namespace trtexec_like {

void ToolLogger::Log(engine::Severity severity, std::string_view msg) {
  if (static_cast<int>(severity) > static_cast<int>(min_severity_)) return;
  static std::mutex mu;
  const char* tag = "[I]";
  bool error = false;
  switch (severity) {
    case engine::Severity::kInternalError: tag = "[F]"; error = true; break;
    case engine::Severity::kError: tag = "[E]"; error = true; break;
    case engine::Severity::kWarning: tag = "[W]"; break;
    case engine::Severity::kInfo: tag = "[I]"; break;
    case engine::Severity::kVerbose: tag = "[V]"; break;
  }
  std::lock_guard<std::mutex> lock(mu);
  if (error) std::fflush(stdout);
  std::fprintf(error ? stderr : stdout, "%s %.*s\n", tag, static_cast<int>(msg.size()), msg.data());
}

}  // namespace trtexec_like
