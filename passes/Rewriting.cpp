// Rewriting: dead-op removal shared by the passes.
#include "passes/Rewriting.h"

#include "ir/OpRegistry.h"

#include <unordered_set>

namespace ternc {

bool eraseDeadOps(Module &m) {
  bool changed = false;
  for (const auto &g : m.graphs()) {
    auto uses = g->useCounts();
    std::unordered_set<Op *> dead;
    const auto &ops = g->ops();
    for (size_t i = ops.size(); i-- > 0;) {
      Op *op = ops[i].get();
      if (!op->def().pure) continue;
      bool used = false;
      for (size_t r = 0; r < op->numResults() && !used; ++r) used = uses[op->result(r)] > 0;
      if (used) continue;
      dead.insert(op);
      for (Value *v : op->operands())
        if (v) --uses[v];
    }
    if (dead.empty()) continue;
    g->eraseOpsIf([&](Op *op) { return dead.count(op) > 0; });
    changed = true;
  }
  return changed;
}

} // namespace ternc
