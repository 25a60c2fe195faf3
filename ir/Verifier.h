// Verifier: checks a module's invariants — op arity and attribute schemas,
// SSA dominance, and that recorded types match what inference derives.
#pragma once

#include "ir/IR.h"

namespace ternc {

/// Throws Error describing the first problem found, naming the graph, the
/// op's loc and the value. `context` (e.g. "after pass 'cse'") prefixes the
/// message.
void verify(const Module &m, const std::string &context = "");

/// Re-runs type inference over every op of every graph in order (shape
/// inference through the graph). Throws Error on a type error.
void inferTypes(Module &m);

} // namespace ternc
