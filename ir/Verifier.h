// Verifier: checks a module's invariants — op arity and attribute schemas,
// SSA dominance, and that recorded types match what inference derives.
#pragma once

#include "ir/IR.h"

#include <optional>

namespace ternc {

/// Throws Error describing the first problem found, naming the graph, the
/// op's loc and the value. `context` (e.g. "after pass 'cse'") prefixes the
/// message.
void verify(const Module &m, const std::string &context = "");

/// The rule by which a recorded type (written in the text, or kept by a
/// pass) agrees with the type inference derives: same dtype (and tern
/// granularity) and rank, and each dim equal or `?` in the inferred type; an
/// unranked inferred type accepts any rank. Returns the type to keep (the
/// recorded dims where inference has `?`), or nullopt if they disagree.
std::optional<Type> reconcileInferredType(const Type &recorded, const Type &inferred);

/// Re-runs type inference over every op of every graph in order (shape
/// inference through the graph). Throws Error on a type error.
void inferTypes(Module &m);

} // namespace ternc
