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

/// Every pass name, in the order a full pipeline runs them.
std::vector<std::string> AllPassNamesInOrder();

/// Default pipeline of an optimization level:
///  0: eliminate-dead-nodes only (no rewrites; for comparison);
///  1..3: fold-constants, eliminate-identity, eliminate-dead-nodes.
std::vector<std::string> PassesForLevel(int level);

}  // namespace engine::opt

#endif  // ENGINE_OPTIMIZER_PASSES_H_
