// LowerHead: a MatMul on quantize-head's int8 weight (passes/QuantizeHead.h) calls tk_head_int8_f32, which
// reads the int8 constant and its scales in place. The DequantizeLinear and Transpose that define the f32
// weight are never computed: plan-memory records them as fused (int8WeightValues), so no op function and no
// arena slot is made for them.
#include "codegen/Lowering.h"

#include "passes/QuantizeHead.h"

namespace ternc::codegen {

std::optional<OpCode> lowerHeadInt8(LoweringContext &, const Op &op) {
  std::optional<Int8Weight> w = matchInt8Weight(op);
  if (!w) return std::nullopt;
  const Value *x = op.operand(0), *q = w->q, *scale = w->scale, *y = op.result(0);
  // y is [..., N] with the rows of x (its dims but the last; none for a 1-D x), dense.
  const Type &xt = x->type();
  Dim rows(1);
  for (size_t i = 0; i + 1 < xt.rank(); ++i) rows = rows * xt.dim(i);
  int64_t n = w->n, k = w->k;
  return kernelCode("tk_head_int8_f32", [=](Env &env) -> std::vector<llvm::Value *> {
    return {env.ptr(x), env.ptr(q), env.ptr(scale), env.ptr(y), env.dim(rows), env.i64(n), env.i64(k)};
  });
}

} // namespace ternc::codegen
