// `trtexec_like inspect PLAN`: what a plan holds, without running it:
// versions, inputs and outputs, layers with the ONNX nodes they fuse, their
// precision and mapping (unit, tactic, dataflow, tiling), activation arena
// and weight sizes, and the hardware it was built for.
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_INSPECT_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_INSPECT_H_

#include "absl/status/status.h"
#include "trtexec_like/options.h"

namespace trtexec_like {

/// The `inspect` subcommand: loads the plan of `opt` and prints what it
/// holds. Errors: NotFound when the path is not a regular file; the loader's
/// error otherwise; every message names the file.
absl::Status InspectPlan(const InspectOptions& opt);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_INSPECT_H_
