// Interpreter: the reference executor — runs any graph op by op with each
// OpDef's eval. Slow and obviously correct; the oracle passes are tested
// against.
#pragma once

#include "ir/IR.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ternc {

/// The values of a module's state (KV caches) for the interpreter: one
/// tensor per StateVar at its full capacity, and the number of rows along
/// the cache axis that hold tokens (`length`, what the `past` symbol of the
/// state ops binds to). Runs of the module's entry graphs share it.
struct ModuleState {
  /// Allocates every state of `m` zero-filled, binding the capacity symbol
  /// (the one symbol the state types use, e.g. `ctx`) to `capacity`.
  static ModuleState allocate(const Module &m, int64_t capacity);
  std::map<std::string, Tensor> buffers;
  int64_t capacity = 0;
  int64_t length = 0;
};

/// The capacity symbol of a module's state types (`ctx`), or "" if the
/// module has no state. Throws if the states use more than one symbol.
std::string stateCapacitySymbol(const Module &m);

/// True for the ops that read or write module state (ir/ops/State.cpp).
bool isStateOp(const Op &op);
/// The cached length after `op` runs if it appends to a cache (CacheUpdate,
/// CacheWrite): `past + n`.
std::optional<Dim> cachedLengthAfter(const Op &op);

/// Runs `graph` on `inputs` (one per graph argument, in order) and returns
/// one tensor per graph output. Checks each input's dtype and shape against
/// the argument type, binding symbolic dims consistently; throws Error
/// naming the input on a mismatch.
/// A graph with state ops (CacheUpdate, CacheRead) needs `state`: their
/// `past` symbol is bound to state->length, and after the run length is the
/// cache length the CacheUpdate ops produced.
std::vector<Tensor> interpret(const Graph &graph, const std::vector<Tensor> &inputs, ModuleState *state = nullptr);

/// Same, with inputs by argument name; throws if one is missing or unknown.
std::vector<Tensor> interpret(const Graph &graph, const std::map<std::string, Tensor> &inputs,
                              ModuleState *state = nullptr);

/// Evaluates one op on concrete inputs (null operand -> invalid Tensor).
/// Used by the interpreter and by constant folding.
std::vector<Tensor> evaluateOp(const Op &op, const std::vector<Tensor> &inputs, ModuleState *state = nullptr,
                               const std::map<std::string, int64_t> *symbols = nullptr);

} // namespace ternc
