// Reduction ops: scaffolding, replaced by the op family's definitions.
#include "ir/ops/OpHelpers.h"

namespace ternc {
void registerReductionOps(OpRegistry &r) {}
} // namespace ternc
