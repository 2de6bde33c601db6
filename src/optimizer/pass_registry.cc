#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "optimizer/pass.h"
#include "optimizer/passes.h"

namespace engine::opt {
namespace {

struct PassEntry {
  const char* name;
  std::unique_ptr<Pass> (*make)();
};

// The one list of passes, in pipeline order.
const PassEntry kPasses[] = {
    {"fold-constants", MakeFoldConstantsPass},
    {"eliminate-identity", MakeEliminateIdentityPass},
    {"simplify-reshape", MakeSimplifyReshapePass},
    {"fuse-layernorm", MakeFuseLayerNormPass},
    {"fold-pad", MakeFoldPadPass},
    {"fold-batchnorm", MakeFoldBatchNormPass},
    {"fold-scale-shift", MakeFoldScaleShiftPass},
    {"minmax-to-clip", MakeMinMaxToClipPass},
    {"fuse-matmul-add", MakeFuseMatMulAddPass},
    {"fuse-residual", MakeFuseResidualPass},
    {"fuse-swish", MakeFuseSwishPass},
    {"fuse-gelu", MakeFuseGeluPass},
    {"fuse-attention", MakeFuseAttentionPass},
    {"fuse-attention-heads", MakeFuseAttentionHeadsPass},
    {"fuse-activation", MakeFuseActivationPass},
    {"eliminate-dead-nodes", MakeEliminateDeadNodesPass},
};

}  // namespace

std::vector<std::string> AllPassNamesInOrder() {
  std::vector<std::string> names;
  for (const PassEntry& e : kPasses) names.emplace_back(e.name);
  return names;
}

std::vector<std::string> PassesForLevel(int level) {
  if (level <= 0) return {"eliminate-dead-nodes"};
  if (level == 1) return {"fold-constants", "eliminate-identity", "eliminate-dead-nodes"};
  return AllPassNamesInOrder();
}

absl::StatusOr<std::unique_ptr<Pass>> CreatePass(std::string_view name) {
  for (const PassEntry& e : kPasses) {
    if (name == e.name) return e.make();
  }
  return absl::NotFoundError(absl::StrCat("unknown pass '", std::string(name),
                                          "'; known passes: ",
                                          absl::StrJoin(AllPassNamesInOrder(), ", ")));
}

}  // namespace engine::opt
