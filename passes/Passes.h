// Passes: factories of the built-in passes (registered in PassRegistry.def)
// and the base class that gives them their registered name and summary.
#pragma once

#include "passes/Pass.h"

#include <memory>
#include <string_view>

namespace ternc {

/// Base of the built-in passes: the name and summary are those of the pass's
/// line in PassRegistry.def, so a pass's .cpp implements only run().
class BuiltinPass : public Pass {
public:
  std::string_view name() const final { return name_; }
  std::string_view summary() const final { return summary_; }

protected:
  /// `name` must have a line in PassRegistry.def.
  explicit BuiltinPass(std::string_view name);

private:
  std::string_view name_, summary_;
};

/// Local rewrites to a fixed point: identities, transpose composition,
/// constant axes/split inputs to attributes, static Shape (docs/passes.md).
std::unique_ptr<Pass> createCanonicalizePass();
/// Evaluates ops with all-constant operands, and integer values whose
/// symbolic contents are static, into module constants.
std::unique_ptr<Pass> createFoldConstantsPass();
/// Merges pure ops with the same op, operands and attributes, and
/// identical small constants.
std::unique_ptr<Pass> createCommonSubexpressionEliminationPass();
/// Removes pure ops whose results are unused, then unused constants.
std::unique_ptr<Pass> createDeadCodeEliminationPass();
/// Elementwise fusion, views and liveness-based arena slots (PlanMemory.h).
std::unique_ptr<Pass> createPlanMemoryPass();
/// The per-token absmax int8 fake-quant subgraph -> ActQuant + Cast + the
/// dequantizing Div/Mul; bit-identical (docs/passes.md, "act-quant").
std::unique_ptr<Pass> createActQuantPass();
/// MatMul/Gemm whose constant weight is ternary per tensor, row or group ->
/// TernaryMatMul on a tern constant and its scales (TernaryStats.h reports
/// what stayed float and why).
std::unique_ptr<Pass> createTernarizePass();
/// ActQuant + dequantize + TernaryMatMul and what surrounds it -> BitLinear
/// with BitNet b1.58's integer math (docs/passes.md, "fuse-bitlinear").
std::unique_ptr<Pass> createFuseBitLinearPass();
/// Past/present KV-cache inputs and outputs -> module state, CacheUpdate and
/// CacheRead; the graph becomes `prefill` and `decode` (seq = 1).
std::unique_ptr<Pass> createKVCachePass();
std::unique_ptr<Pass> createKVCacheF16Pass();
/// The attention over CacheUpdate'd keys and values -> CacheWrite + Attention.
std::unique_ptr<Pass> createFuseAttentionPass();
/// The LM head's constant f32 weight -> per-output-column symmetric int8, as
/// Transpose(DequantizeLinear(@q i8[N,K], @scale)) (QuantizeHead.h; opt-in: compile --head=int8).
std::unique_ptr<Pass> createQuantizeHeadPass();
/// The graph input select-logits adds to a language model's prefill graph: i64 [nlogits], the positions
/// whose logits it computes.
inline constexpr std::string_view kLogitPositionsInput = "logit_positions";
std::unique_ptr<Pass> createSelectLogitsPass();

} // namespace ternc
