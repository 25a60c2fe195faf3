// OpHelpers: shared pieces for op definitions — broadcasting, axes, strides
// and dtype dispatch — so that each op family states only its own semantics.
#pragma once

#include <algorithm>

#include "ir/Error.h"
#include "ir/OpRegistry.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace ternc::ops {

/// Numpy-style broadcast of symbolic dims. Throws via ctx if incompatible
/// (two different static dims, neither 1). A static 1 against a symbol gives
/// the symbol; an unknown against anything but 1 gives unknown.
std::vector<Dim> broadcastDims(const InferContext &ctx, const std::vector<Dim> &a, const std::vector<Dim> &b);
/// Concrete broadcast; throws via ctx if incompatible.
std::vector<int64_t> broadcastShapes(const EvalContext &ctx, const std::vector<int64_t> &a,
                                     const std::vector<int64_t> &b);

/// Maps a possibly negative axis into [0, rank); throws if out of range.
int64_t normalizeAxis(const InferContext &ctx, int64_t axis, int64_t rank);
int64_t normalizeAxis(const EvalContext &ctx, int64_t axis, int64_t rank);

/// Row-major strides of a shape (in elements).
std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape);
/// Strides for reading a tensor of `shape` broadcast to `outShape`
/// (0 on broadcast dims; shape is right-aligned to outShape).
std::vector<int64_t> broadcastStrides(const std::vector<int64_t> &shape, const std::vector<int64_t> &outShape);

/// Calls f(flatOutIndex, inOffsets...) for every element of `outShape`,
/// with input offsets computed from per-input strides (as from
/// broadcastStrides).
template <typename F>
void forEachBroadcast(const std::vector<int64_t> &outShape, const std::vector<std::vector<int64_t>> &inStrides, F &&f) {
  int64_t total = 1;
  for (int64_t d : outShape) total *= d;
  if (total == 0) return;
  size_t rank = outShape.size(), n = inStrides.size();
  std::vector<int64_t> idx(rank, 0), off(n, 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    f(flat, off);
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < outShape[d]) {
        for (size_t k = 0; k < n; ++k) off[k] += inStrides[k][d];
        break;
      }
      for (size_t k = 0; k < n; ++k) off[k] -= inStrides[k][d] * (outShape[d] - 1);
      idx[d] = 0;
    }
  }
}

/// Dispatches on a dtype to a functor templated on the C++ element type.
/// f16/bf16 are computed in float by the ops (stored as uint16_t), so
/// dispatch passes `float` as the compute type for them along with the
/// dtype; ops that need exact storage use Tensor::getDouble/setDouble.
template <typename F> decltype(auto) visitNumeric(DType dt, F &&f) {
  switch (dt) {
  case DType::F64: return f(double{});
  case DType::F32: return f(float{});
  case DType::I8: case DType::Tern: return f(int8_t{});
  case DType::I16: return f(int16_t{});
  case DType::I32: return f(int32_t{});
  case DType::I64: return f(int64_t{});
  case DType::U8: case DType::Bool: return f(uint8_t{});
  case DType::U16: return f(uint16_t{});
  case DType::U32: return f(uint32_t{});
  case DType::U64: return f(uint64_t{});
  case DType::F16: case DType::BF16: return f(float{});
  }
  return f(float{});
}

/// Result type helper: same dtype as input i, given dims.
inline Type typeLike(const Type &t, std::vector<Dim> dims) { return t.withDims(std::move(dims)); }

/// Reads an integer 1-D/scalar input tensor (axes, shapes) as int64s.
inline std::vector<int64_t> intsOf(const Tensor &t) { return t.toI64Vector(); }

/// The contents of integer operand i (a constant, or a shape value whose
/// symbolic contents are all static); nullopt otherwise.
std::optional<std::vector<int64_t>> staticInts(const InferContext &ctx, size_t i);

/// Declares the standard "broadcast elementwise" inference: result dtype is
/// `outDType` (or the first input's when nullopt), dims are the broadcast
/// of all present inputs, unranked if any input is unranked.
void inferBroadcast(InferContext &ctx, std::optional<DType> outDType = std::nullopt);

/// One axis of a slice, resolved against a concrete dim size: the first
/// index read and the number of elements.
struct SliceAxis {
  int64_t start = 0, count = 0;
};

/// ONNX Slice clamping: negative start/end count from the back; for a
/// positive step both clamp to [0, dim], for a negative step start clamps
/// to [0, dim-1] and end to [-1, dim-1].
inline SliceAxis resolveSlice(int64_t start, int64_t end, int64_t step, int64_t dim) {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
  }
  int64_t span = end - start;
  int64_t count = step > 0 ? (span + step - 1) / step : (span + step + 1) / step;
  return {start, std::max<int64_t>(count, 0)};
}

} // namespace ternc::ops
