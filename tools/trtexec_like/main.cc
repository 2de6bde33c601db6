// trtexec_like: build an engine from ONNX, save/load plans, run inference and
// print a trtexec-shaped performance summary; `compare` and `inspect`
// subcommands. A thin entry point over the engine_cli library: it picks the
// subcommand, parses its command line, runs it, and turns anything thrown
// (std::bad_alloc, std::ios_base::failure, ...) into a clear error and a
// nonzero exit instead of an abort.
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "trtexec_like/inspect.h"
#include "trtexec_like/inspect_model.h"
#include "trtexec_like/options.h"
#include "trtexec_like/report/compare.h"
#include "trtexec_like/run.h"

namespace {

// Prints a parse outcome's message where it belongs; returns its exit code.
template <typename T>
int ExitWith(const trtexec_like::ParsedCommandLine<T>& parsed) {
  std::fputs(parsed.message.c_str(), *parsed.exit_code == 0 ? stdout : stderr);
  return *parsed.exit_code;
}

// Runs subcommand `name` ("compare", "inspect") whose job returns a Status.
template <typename T, typename Job>
int RunSubcommand(const char* name, const trtexec_like::ParsedCommandLine<T>& parsed, Job job) {
  if (parsed.exit_code.has_value()) return ExitWith(parsed);
  absl::Status s = job(parsed.options);
  if (s.ok()) return 0;
  std::fflush(stdout);
  std::fprintf(stderr, "[E] %s: %s\n", name, std::string(s.message()).c_str());
  return 1;
}

int Main(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "compare") {
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    return RunSubcommand("compare", trtexec_like::ParseCompareCommandLine(rest),
                         trtexec_like::RunCompare);
  }
  if (!args.empty() && args[0] == "inspect") {
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    return RunSubcommand("inspect", trtexec_like::ParseInspectCommandLine(rest),
                         [](const trtexec_like::InspectOptions& o) {
                           return absl::EndsWithIgnoreCase(o.plan, ".onnx")
                                      ? trtexec_like::InspectModel(o.plan)
                                      : trtexec_like::InspectPlan(o);
                         });
  }
  auto parsed = trtexec_like::ParseCommandLine(args);
  if (parsed.exit_code.has_value()) return ExitWith(parsed);
  return trtexec_like::Run(parsed.options, parsed.command);
}

// The last word on an exception that escaped everything else.
int Crash(const char* what) {
  std::fflush(stdout);
  std::fprintf(stderr, "[E] trtexec_like: unexpected error: %s\n", what);
  std::printf("&&&& FAILED trtexec_like\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::bad_alloc&) {
    return Crash("out of memory (std::bad_alloc)");
  } catch (const std::exception& e) {
    return Crash(e.what());
  } catch (...) {
    return Crash("an unknown exception");
  }
}
