// The main job of trtexec_like: validate the options, build an engine from
// --onnx (or run --compareInt8 / --hwSweep) or load --loadEngine, then either
// report the modeled device (--skipInference) or run timed host inference
// with trtexec's performance summary, --exportOutput and --loadRefOutputs.
// Output lines are trtexec's: "&&&& RUNNING", "&&&& PASSED" or "&&&& FAILED"
// followed by " trtexec_like # <command>".
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_RUN_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_RUN_H_

#include <string>

#include "engine/runtime.h"
#include "engine/tensor.h"
#include "trtexec_like/options.h"

namespace trtexec_like {

/// Process exit codes of the main command.
inline constexpr int kExitPassed = 0;          ///< everything ran and every check passed
inline constexpr int kExitFailed = 1;          ///< an error (printed as "[E] <message>")
inline constexpr int kExitAccuracyFailed = 2;  ///< an output differs from --loadRefOutputs

/// Runs the command `opt` (as parsed by ParseCommandLine) to the end, printing
/// to stdout (errors to stderr); `command` is the command line for the
/// &&&& lines and the run report. Returns one of the kExit* codes.
int Run(const Options& opt, const std::string& command);

/// The generated input for `desc` when --loadInputs does not give one:
/// float32 uniform in [-1, 1) from std::mt19937(`seed`), zeros for other
/// dtypes. Deterministic for a seed.
engine::Tensor GenerateInput(const engine::TensorDesc& desc, uint32_t seed);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_RUN_H_
