// Optimizer passes and the pass manager.
//
// A pass is a class with a stable kebab-case name and a one-line description
// (as MLIR). It rewrites the graph in place and returns whether it changed
// anything. Rewrites that decline to fire record why in named counters
// ("fold-batchnorm.skipped.bn_output_is_graph_output") instead of returning
// silently. The PassManager does the logging, timing, IR dumps and IR
// verification around every pass, so passes don't.
#ifndef ENGINE_OPTIMIZER_PASS_H_
#define ENGINE_OPTIMIZER_PASS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/limits.h"
#include "engine/logger.h"
#include "ir/graph.h"

namespace engine::opt {

/// Named event counters of one pass run ("fired", "skipped.<reason>").
class PassStats {
 public:
  void Count(const std::string& key, int64_t n = 1) { counters_[key] += n; }
  const std::map<std::string, int64_t>& counters() const { return counters_; }

 private:
  std::map<std::string, int64_t> counters_;
};

/// Build-wide information passes may consult. The PassManager hands the same
/// context to every pass.
struct PassContext {
  /// The cost model's verdict on a fusion (codegen/fusion_cost.h; fuse only
  /// when the fused block's working set fits on chip and it is not costlier,
  /// docs/accelerator_model.md).
  /// `fused` is the candidate node, built but not inserted in the graph (its
  /// inputs and outputs are values of the graph); `separate` are the nodes it
  /// would replace. Returns true to fuse. Unset: every legal fusion is taken.
  std::function<absl::StatusOr<bool>(const ir::Node& fused,
                                     const std::vector<const ir::Node*>& separate)>
      accept_fusion;

  /// Size limits (common/limits.h): fold-constants checks each output
  /// against max_constant_bytes before evaluating the node.
  BuildLimits limits;

  /// Asks accept_fusion, or true when unset.
  absl::StatusOr<bool> AcceptFusion(const ir::Node& fused,
                                    const std::vector<const ir::Node*>& separate) const {
    return accept_fusion ? accept_fusion(fused, separate) : absl::StatusOr<bool>(true);
  }
};

class Pass {
 public:
  virtual ~Pass() = default;
  /// Stable kebab-case name, used by --passes and --dumpIrAfter.
  virtual std::string_view name() const = 0;
  /// One line for --help and reports.
  virtual std::string_view description() const = 0;
  /// Rewrites `graph`; returns true when it changed. Errors carry the node.
  virtual absl::StatusOr<bool> Run(ir::Graph& graph, PassStats& stats) = 0;

  /// Set by the PassManager before Run; never null during Run.
  void set_context(const PassContext* context) { context_ = context; }
  const PassContext& context() const { return *context_; }

 private:
  const PassContext* context_ = nullptr;
};

/// What one pass did.
struct PassRecord {
  std::string name;
  bool changed = false;
  double ms = 0.0;  ///< host wall time
  int nodes_before = 0;
  int nodes_after = 0;
  std::map<std::string, int64_t> counters;
};

/// Runs passes in order. After each pass: IR verifier, optional dump.
class PassManager {
 public:
  /// Called after the pass named in `DumpAfter` with the pass name and graph.
  using DumpFn = std::function<void(const std::string& pass, const ir::Graph& graph)>;

  void Add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }
  /// Dumps the graph after the pass `name` ("*" for every pass).
  void DumpAfter(std::string name, DumpFn fn) {
    dump_after_ = std::move(name);
    dump_fn_ = std::move(fn);
  }
  void set_logger(Logger* logger) { logger_ = logger; }
  /// The context handed to every pass (e.g. the cost model's fusion verdict).
  void set_context(PassContext context) { context_ = std::move(context); }

  /// Runs all passes once, in order. Errors: the failing pass's error,
  /// prefixed with its name; Internal when the IR verifier fails after a pass.
  absl::Status Run(ir::Graph& graph);

  /// Pass names in run order.
  std::vector<std::string> PassNames() const;
  const std::vector<PassRecord>& records() const { return records_; }
  /// One line per pass: name, changed, time, node counts, counters.
  std::string Report() const;

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
  std::vector<PassRecord> records_;
  std::string dump_after_;
  DumpFn dump_fn_;
  Logger* logger_ = nullptr;
  PassContext context_;
};

/// Every pass the optimizer knows: (name, description), in the default order.
std::vector<std::pair<std::string, std::string>> ListPasses();

/// Creates a pass by name. Error: NotFound listing the known names.
absl::StatusOr<std::unique_ptr<Pass>> CreatePass(std::string_view name);

/// The pipeline for an optimization level (0..3), or for an explicit list of
/// pass names when `explicit_passes` is non-empty. Errors: InvalidArgument for
/// a level outside 0..3, NotFound for an unknown pass name.
absl::StatusOr<std::unique_ptr<PassManager>> BuildPipeline(
    int opt_level, const std::vector<std::string>& explicit_passes);

}  // namespace engine::opt

#endif  // ENGINE_OPTIMIZER_PASS_H_
