// The optimizer's passes, and which run at each optimization level.
#ifndef ENGINE_OPTIMIZER_PASSES_H_
#define ENGINE_OPTIMIZER_PASSES_H_

#include <memory>
#include <string>
#include <vector>

#include "optimizer/pass.h"

namespace engine::opt {

// One factory per pass (each in its own file under src/optimizer/passes/).
std::unique_ptr<Pass> MakeFoldConstantsPass();      // "fold-constants"
std::unique_ptr<Pass> MakeEliminateIdentityPass();  // "eliminate-identity"
std::unique_ptr<Pass> MakeEliminateDeadNodesPass(); // "eliminate-dead-nodes"
std::unique_ptr<Pass> MakeSimplifyReshapePass();    // "simplify-reshape"
std::unique_ptr<Pass> MakeFoldPadPass();            // "fold-pad"
std::unique_ptr<Pass> MakeFoldBatchNormPass();      // "fold-batchnorm"
std::unique_ptr<Pass> MakeFoldScaleShiftPass();     // "fold-scale-shift" (fold_batchnorm.cc)
std::unique_ptr<Pass> MakeMinMaxToClipPass();       // "minmax-to-clip"
std::unique_ptr<Pass> MakeFuseMatMulAddPass();      // "fuse-matmul-add"
std::unique_ptr<Pass> MakeFuseResidualPass();       // "fuse-residual"
std::unique_ptr<Pass> MakeFuseSwishPass();          // "fuse-swish"
std::unique_ptr<Pass> MakeFuseGeluPass();           // "fuse-gelu"
std::unique_ptr<Pass> MakeFuseAttentionPass();      // "fuse-attention"
std::unique_ptr<Pass> MakeFuseAttentionHeadsPass();  // "fuse-attention-heads"
std::unique_ptr<Pass> MakeFuseLayerNormPass();      // "fuse-layernorm"
std::unique_ptr<Pass> MakeFuseActivationPass();     // "fuse-activation"

/// Every pass name, in the order a full pipeline runs them.
std::vector<std::string> AllPassNamesInOrder();

/// Default pipeline of an optimization level:
///  0: eliminate-dead-nodes only (no rewrites; for comparison);
///  1: fold-constants, eliminate-identity, eliminate-dead-nodes;
///  2 (the default) and 3: fold-constants, eliminate-identity,
///     simplify-reshape, fuse-layernorm, fold-pad, fold-batchnorm,
///     fold-scale-shift, minmax-to-clip, fuse-matmul-add, fuse-residual,
///     fuse-swish, fuse-gelu, fuse-activation, eliminate-dead-nodes (the full
///     order, AllPassNamesInOrder).
/// The order matters: fold-batchnorm runs before the fusions (a BN between a
/// Conv and its Add/Relu would block them), fuse-matmul-add before
/// fuse-activation (so a MatMul + Add + Relu ends as one Gemm), and
/// fuse-residual before fuse-activation (the residual is added before the
/// activation, so a Conv with an activation can no longer take a residual),
/// fuse-layernorm before fold-scale-shift (which would otherwise take the
/// LayerNorm's gamma Mul and beta Add into a preceding layer's epilogue).
std::vector<std::string> PassesForLevel(int level);

}  // namespace engine::opt

#endif  // ENGINE_OPTIMIZER_PASSES_H_
