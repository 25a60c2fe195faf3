// PlanMemory: where each intermediate tensor of a graph lives. The
// plan-memory pass records it on the ops (`mem.slots`); codegen and
// `ternc compile --stats` read it back.
#pragma once

#include "ir/IR.h"

#include <optional>
#include <vector>

namespace ternc {

/// Per result, in the op's `mem.slots` annotation: an arena slot (>= 0) or
/// one of these.
enum : int64_t {
  kSlotFused = -1,   ///< computed inside its (elementwise) user's loop, never stored
  kSlotOutput = -2,  ///< written straight into the caller's output buffer
  kSlotView = -3,    ///< the same bytes as operand 0 (Reshape, Squeeze, ...)
  kSlotUnused = -4,  ///< no user: not computed (optional results)
};

/// Ops whose result is operand 0's bytes reinterpreted (a new shape only).
bool isViewOp(const Op &op);

/// True if `user` (elementwise) computes `v`'s producer inline, element by
/// element, instead of reading a stored tensor. The rule codegen follows:
/// both ops elementwise, `v` the producer's only result with exactly one
/// use (by `user`, not a graph output), and the same shape as user's
/// result (so nothing is recomputed).
bool fusesIntoUser(const Value &v, const Op &user, const std::unordered_map<const Value *, int> &uses);

/// An arena slot: the values that take turns in it. Its size is the
/// largest of theirs (evaluated at run time when dims are symbolic); slots
/// are laid out one after another, each 64-byte aligned.
struct ArenaSlot {
  std::vector<const Value *> members;
};

/// Reads the plan recorded by plan-memory. Throws Error if the graph was
/// not planned.
std::vector<ArenaSlot> readMemoryPlan(const Graph &g);
/// The slot code recorded for one op result.
int64_t slotOf(const Value &v);
/// Bytes of a tensor of type `t` if static.
std::optional<int64_t> staticBytes(const Type &t);
/// Peak arena bytes of a planned graph if every slot size is static.
std::optional<int64_t> staticArenaBytes(const Graph &g);
/// Rounds up to the arena alignment (64 bytes).
inline int64_t alignArena(int64_t n) { return (n + 63) & ~int64_t(63); }

} // namespace ternc
