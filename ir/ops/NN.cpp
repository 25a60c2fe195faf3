// NN ops: scaffolding, replaced by the op family's definitions.
#include "ir/ops/OpHelpers.h"

namespace ternc {
void registerNNOps(OpRegistry &r) {}
} // namespace ternc
