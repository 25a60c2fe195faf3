// QuantizeHead: the int8 weight form that the quantize-head pass writes and that plan-memory and codegen
// recognize, so that the f32 weight it stands for is never materialized (docs/passes.md, "quantize-head").
#pragma once

#include "ir/IR.h"

#include <optional>
#include <string>
#include <unordered_set>

namespace ternc {

/// The weight operand of a MatMul in quantize-head's form:
///   %d = DequantizeLinear(@q : i8[N,K], @scale : f32[N]) {axis = 0} : f32[N,K]
///   %w = Transpose(%d) {perm = [1, 0]} : f32[K,N]
///   %y = MatMul(%x : f32[..., K], %w)
/// with @q in the plain layout and no zero point. q is stored [N, K] so that each output column's weights
/// are one contiguous row, which the kernel (tk_head_int8_f32) streams.
struct Int8Weight {
  const Value *q = nullptr, *scale = nullptr;
  const Op *dequantize = nullptr, *transpose = nullptr;
  int64_t n = 0, k = 0;
};

/// A weight quantized per output column: q i8 [N, K] (column n of the f32 [K, N] weight is row n of q) and
/// scale f32 [N].
struct Int8Columns {
  Tensor q, scale;
};

/// scale[n] = max_k |w[k, n]| / 127 (an f32 division), q = rint(w / scale) (f32 division, ties to even)
/// clamped to [-127, 127]; a zero scale (an all-zero column, or a max / 127 that underflows) gives q = 0.
/// Throws Error, prefixed by `what`, on a non-finite weight or a w that is not f32 [K, N].
Int8Columns quantizeColumnsInt8(const Tensor &w, const std::string &what);

/// The int8 weight of `matmul` if it is a MatMul in that form, else nullopt.
std::optional<Int8Weight> matchInt8Weight(const Op &matmul);

/// The DequantizeLinear and Transpose results of `g` that are read only as matched MatMuls' weights: the
/// kernel reads @q and @scale in their place, so they are never computed or stored (plan-memory records them
/// as fused, codegen skips them).
std::unordered_set<const Value *> int8WeightValues(const Graph &g);

} // namespace ternc
