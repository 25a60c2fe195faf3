// Shape ops: scaffolding, replaced by the op family's definitions.
#include "ir/ops/OpHelpers.h"

namespace ternc {
void registerShapeOps(OpRegistry &r) {}
} // namespace ternc
