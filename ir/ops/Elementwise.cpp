// Elementwise ops: scaffolding, replaced by the op family's definitions.
#include "ir/ops/OpHelpers.h"

namespace ternc {
void registerElementwiseOps(OpRegistry &r) {}
} // namespace ternc
