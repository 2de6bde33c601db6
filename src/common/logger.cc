#include "engine/logger.h"

#include <cstdio>
#include <mutex>

namespace engine {

void StderrLogger::Log(Severity severity, std::string_view msg) {
  if (static_cast<int>(severity) > static_cast<int>(min_severity_)) return;
  static std::mutex mu;
  const char* tag = "[I]";
  switch (severity) {
    case Severity::kInternalError: tag = "[F]"; break;
    case Severity::kError: tag = "[E]"; break;
    case Severity::kWarning: tag = "[W]"; break;
    case Severity::kInfo: tag = "[I]"; break;
    case Severity::kVerbose: tag = "[V]"; break;
  }
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "%s %.*s\n", tag, static_cast<int>(msg.size()), msg.data());
}

Logger& DefaultLogger() {
  static StderrLogger logger(Severity::kWarning);
  return logger;
}

}  // namespace engine
