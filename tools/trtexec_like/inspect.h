// `trtexec_like inspect PLAN`: what a plan holds, without running it:
// versions, inputs and outputs, layers with the ONNX nodes they fuse, their
// precision and mapping (unit, tactic, dataflow, tiling), activation arena
// and weight sizes, and the hardware it was built for.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_INSPECT_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_INSPECT_H_

namespace trtexec_like {

/// Entry point of the subcommand; `argv` holds the arguments after
/// "inspect". Returns the process exit code (0 OK, 1 error).
int RunInspect(int argc, char** argv);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_INSPECT_H_
