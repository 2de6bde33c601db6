// The tool's one log stream: the engine's Logger messages printed on stdout
// with the tool's own "[I]" / "[W]" lines, in the order they happen (as
// trtexec's logger, which sends everything but errors to stdout); errors go
// to stderr after stdout is flushed, like the tool's final "[E]" line.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_LOG_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_LOG_H_

#include <string_view>

#include "engine/logger.h"

namespace trtexec_like {

/// Writes messages at or above `min_severity` as "[W] message" (warning),
/// "[I]" (info), "[V]" (verbose) to stdout and "[E]" / "[F]" (error,
/// internal error) to stderr, one line each. Thread-safe.
class ToolLogger : public engine::Logger {
 public:
  explicit ToolLogger(engine::Severity min_severity = engine::Severity::kWarning)
      : min_severity_(min_severity) {}
  void Log(engine::Severity severity, std::string_view msg) override;

 private:
  engine::Severity min_severity_;
};

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_LOG_H_
