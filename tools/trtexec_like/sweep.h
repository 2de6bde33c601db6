// `trtexec_like --onnx=M --hwSweep=SPEC [--hw=BASE] [--exportReportDir=DIR]`:
// builds the model once per hardware configuration of the cross product SPEC
// describes (grammar: sweep_spec.h; build only, --skipInference semantics:
// modeled figures), writes one run report per configuration into DIR and
// prints the `compare` tables of all of them (ratios against the first
// configuration).
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_SWEEP_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_SWEEP_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/builder.h"
#include "engine/logger.h"
#include "trtexec_like/options.h"
#include "trtexec_like/sweep_spec.h"

namespace trtexec_like {

/// Runs the sweep of `points` (ParseHwSweep of --hwSweep, validated) with
/// `config` (built from the other flags) as the template of every build; one
/// progress-bar tick per configuration. Errors name the configuration that
/// failed.
absl::Status RunHwSweep(const Options& opt, const std::vector<SweepPoint>& points,
                        const engine::BuilderConfig& config, const std::string& command,
                        engine::Logger& logger);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_SWEEP_H_
