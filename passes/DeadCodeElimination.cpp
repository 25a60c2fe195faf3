// dce: removes pure ops whose results are unused, then unused constants.
#include "passes/Passes.h"
#include "passes/Rewriting.h"

namespace ternc {

namespace {

class DeadCodeElimination final : public BuiltinPass {
public:
  DeadCodeElimination() : BuiltinPass("dce") {}

  bool run(Module &m) override {
    bool changed = eraseDeadOps(m);
    size_t before = m.constants().size();
    m.eraseUnusedConstants();
    // Removing ops never changes the type of a value that is still used, so
    // no re-inference is needed.
    return changed || m.constants().size() != before;
  }
};

} // namespace

std::unique_ptr<Pass> createDeadCodeEliminationPass() { return std::make_unique<DeadCodeElimination>(); }

} // namespace ternc
