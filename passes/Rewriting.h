// Rewriting: small pieces shared by the passes — constant lookup and
// dead-op removal.
#pragma once

#include "ir/IR.h"

namespace ternc {

/// The data of `v` if it is a module constant, else null.
inline const Tensor *constantData(const Value *v) {
  return v && v->constant() ? &v->constant()->data : nullptr;
}

/// True if `t` is small enough to inspect element by element in a rewrite
/// rule (identity operands, axes lists).
inline bool isSmallConstant(const Tensor &t) { return t.numElements() <= 4096; }

/// Removes pure ops none of whose results is used, walking each graph
/// backwards so that whole dead chains go in one sweep. Returns true if any
/// op was removed.
bool eraseDeadOps(Module &m);

} // namespace ternc
