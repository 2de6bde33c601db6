// Logging interface through which the builder and the runtime report progress
// and diagnostics (as TensorRT's ILogger).
#ifndef ENGINE_LOGGER_H_
#define ENGINE_LOGGER_H_

#include <string_view>

#include "engine/export.h"

namespace engine {

/// Message severity, most severe first.
enum class Severity : int {
  kInternalError = 0,
  kError = 1,
  kWarning = 2,
  kInfo = 3,
  kVerbose = 4,
};

/// Receives messages from the builder and the runtime. Implementations must be
/// thread-safe: several execution contexts may log at once.
class ENGINE_API Logger {
 public:
  virtual ~Logger() = default;
  /// Called once per message; `msg` has no trailing newline and is only valid
  /// during the call.
  virtual void Log(Severity severity, std::string_view msg) = 0;
};

/// A Logger that writes messages at or above `min_severity` to stderr as
/// "[E] message" / "[W] ..." / "[I] ..." / "[V] ...". Thread-safe.
class ENGINE_API StderrLogger : public Logger {
 public:
  explicit StderrLogger(Severity min_severity = Severity::kWarning)
      : min_severity_(min_severity) {}
  void Log(Severity severity, std::string_view msg) override;
  void set_min_severity(Severity s) { min_severity_ = s; }

 private:
  Severity min_severity_;
};

/// A process-wide Logger used when none is given: StderrLogger(kWarning).
ENGINE_API Logger& DefaultLogger();

}  // namespace engine

#endif  // ENGINE_LOGGER_H_
