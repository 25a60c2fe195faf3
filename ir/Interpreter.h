// Interpreter: the reference executor — runs any graph op by op with each
// OpDef's eval. Slow and obviously correct; the oracle passes are tested
// against.
#pragma once

#include "ir/IR.h"

#include <map>
#include <string>
#include <vector>

namespace ternc {

/// Runs `graph` on `inputs` (one per graph argument, in order) and returns
/// one tensor per graph output. Checks each input's dtype and shape against
/// the argument type, binding symbolic dims consistently; throws Error
/// naming the input on a mismatch.
std::vector<Tensor> interpret(const Graph &graph, const std::vector<Tensor> &inputs);

/// Same, with inputs by argument name; throws if one is missing or unknown.
std::vector<Tensor> interpret(const Graph &graph, const std::map<std::string, Tensor> &inputs);

/// Evaluates one op on concrete inputs (null operand -> invalid Tensor).
/// Used by the interpreter and by constant folding.
std::vector<Tensor> evaluateOp(const Op &op, const std::vector<Tensor> &inputs);

} // namespace ternc
