// Reduction ops: ReduceSum, ReduceMean, ReduceMax, ReduceMin over a set of
// axes given either as the `axes` attribute (opset 13 Mean/Max/Min) or as an
// optional second operand (ReduceSum-13, all of them from opset 18).
#include "ir/ops/OpHelpers.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace ternc {

namespace {
using namespace ops;

enum class Reduce { Sum, Mean, Max, Min };

/// The axes an op names, or nullopt when operand 1 is not known at compile
/// time. An empty list means "all axes" (or none, with noop_with_empty_axes).
std::optional<std::vector<int64_t>> axesAtInfer(const InferContext &ctx) {
  if (ctx.attrs().has("axes")) {
    if (ctx.hasInput(1)) ctx.fail("axes are given both as an attribute and as operand 1");
    return ctx.attrs().getInts("axes");
  }
  if (ctx.numInputs() < 2 || !ctx.hasInput(1)) return std::vector<int64_t>{};
  DType dt = ctx.inputType(1).dtype();
  if (!isInteger(dt)) ctx.fail("operand 1 (axes) must be an integer tensor, got {}", dtypeName(dt));
  return staticInts(ctx, 1);
}

std::vector<int64_t> axesAtEval(const EvalContext &ctx) {
  if (ctx.attrs().has("axes")) return ctx.attrs().getInts("axes");
  if (ctx.hasInput(1)) return intsOf(ctx.input(1));
  return {};
}

/// Which axes of a rank-`rank` tensor are reduced; empty `axes` means all.
template <typename Ctx> std::vector<bool> reducedAxes(const Ctx &ctx, const std::vector<int64_t> &axes, size_t rank) {
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes) {
    int64_t k = normalizeAxis(ctx, a, int64_t(rank));
    if (reduced[size_t(k)]) ctx.fail("axis {} is listed twice", a);
    reduced[size_t(k)] = true;
  }
  return reduced;
}

bool noopWithEmptyAxes(const Attrs &attrs) { return attrs.getInt("noop_with_empty_axes", 0) != 0; }
bool keepDims(const Attrs &attrs) { return attrs.getInt("keepdims", 1) != 0; }

void inferReduce(InferContext &ctx, Reduce kind) {
  const Type &x = ctx.inputType(0);
  bool orderable = kind == Reduce::Max || kind == Reduce::Min;
  if (!isFloat(x.dtype()) && !isInteger(x.dtype()) && !(orderable && x.dtype() == DType::Bool))
    ctx.fail("operand 0 must be a numeric tensor, got {}", dtypeName(x.dtype()));
  bool keep = keepDims(ctx.attrs());
  auto axes = axesAtInfer(ctx);
  if (!x.isRanked()) return ctx.setResultType(0, x);
  if (!axes) {
    // Axes known only at run time: the rank survives with keepdims, and a
    // static 1 stays 1 whether it is reduced or not.
    if (!keep) return ctx.setResultType(0, Type::unranked(x.dtype()));
    std::vector<Dim> dims;
    for (const Dim &d : x.dims()) dims.push_back(d.isStatic() && d.value() == 1 ? d : Dim::unknown());
    return ctx.setResultType(0, x.withDims(std::move(dims)));
  }
  if (axes->empty() && noopWithEmptyAxes(ctx.attrs())) return ctx.setResultType(0, x);
  std::vector<bool> reduced = reducedAxes(ctx, *axes, x.rank());
  std::vector<Dim> dims;
  for (size_t i = 0; i < x.rank(); ++i) {
    if (!reduced[i]) dims.push_back(x.dim(i));
    else if (keep) dims.push_back(Dim(1));
  }
  ctx.setResultType(0, x.withDims(std::move(dims)));
}

// Elements are read and written through Tensor's converting accessors in
// one of three compute types, so one kernel serves every dtype.
template <typename C> C elementAt(const Tensor &t, int64_t i) {
  if constexpr (std::is_floating_point_v<C>) return t.getDouble(i);
  else return C(t.getInt(i));
}

template <typename C> void setElement(Tensor &t, int64_t i, C v) {
  if constexpr (std::is_floating_point_v<C>) t.setDouble(i, v);
  else t.setInt(i, int64_t(v));
}

template <typename C> bool isNaN(C v) {
  if constexpr (std::is_floating_point_v<C>) return std::isnan(v);
  else return false;
}

/// The starting value of a Max (lowest) or Min (highest) accumulator, which
/// is also ONNX's result for reducing an empty set.
template <typename C> C extremeOf(DType dt, bool lowest) {
  if constexpr (std::is_floating_point_v<C>) {
    return lowest ? -std::numeric_limits<C>::infinity() : std::numeric_limits<C>::infinity();
  } else {
    if (dt == DType::Bool) return lowest ? C(0) : C(1);
    return visitNumeric(dt, [&](auto tag) {
      using T = decltype(tag);
      return lowest ? C(std::numeric_limits<T>::lowest()) : C(std::numeric_limits<T>::max());
    });
  }
}

/// Reduces `x` into a tensor of `keptShape` (reduced axes have size 1);
/// `outStrides` maps an input index to its output element (0 on reduced
/// axes), and `count` is how many inputs fall into each output.
template <typename C>
Tensor reduceIn(const Tensor &x, Reduce kind, const std::vector<int64_t> &keptShape,
                const std::vector<int64_t> &outStrides, int64_t count) {
  Tensor out(x.dtype(), keptShape);
  C init = kind == Reduce::Max ? extremeOf<C>(x.dtype(), true)
           : kind == Reduce::Min ? extremeOf<C>(x.dtype(), false)
                                 : C(0);
  std::vector<C> acc(size_t(out.numElements()), init);
  forEachBroadcast(x.shape(), {outStrides}, [&](int64_t i, const std::vector<int64_t> &off) {
    C v = elementAt<C>(x, i);
    C &a = acc[size_t(off[0])];
    switch (kind) {
    case Reduce::Sum:
    case Reduce::Mean:
      // Signed sums wrap (through uint64) rather than overflow.
      if constexpr (std::is_same_v<C, int64_t>) a = int64_t(uint64_t(a) + uint64_t(v));
      else a += v;
      break;
    // NaN propagates: once seen it is kept, since no comparison with it holds.
    case Reduce::Max:
      if (v > a || isNaN(v)) a = v;
      break;
    case Reduce::Min:
      if (v < a || isNaN(v)) a = v;
      break;
    }
  });
  for (size_t i = 0; i < acc.size(); ++i) {
    C v = acc[i];
    if (kind == Reduce::Mean) {
      // Integer means truncate toward zero like the ONNX reference (a float
      // mean cast back); the mean of nothing is NaN for floats.
      if constexpr (std::is_floating_point_v<C>) v = v / C(count);
      else if (count > 0) v = v / C(count);
    }
    setElement(out, int64_t(i), v);
  }
  return out;
}

Tensor evalReduce(const EvalContext &ctx, Reduce kind) {
  const Tensor &x = ctx.input(0);
  std::vector<int64_t> axes = axesAtEval(ctx);
  if (axes.empty() && noopWithEmptyAxes(ctx.attrs())) return x;
  std::vector<bool> reduced = reducedAxes(ctx, axes, x.rank());
  std::vector<int64_t> keptShape = x.shape(), outShape;
  int64_t count = 1;
  for (size_t i = 0; i < x.rank(); ++i) {
    if (reduced[i]) {
      count *= x.shape()[i];
      keptShape[i] = 1;
    } else {
      outShape.push_back(x.shape()[i]);
    }
  }
  std::vector<int64_t> outStrides = stridesOf(keptShape);
  for (size_t i = 0; i < x.rank(); ++i)
    if (reduced[i]) outStrides[i] = 0;
  Tensor out = isFloat(x.dtype())          ? reduceIn<double>(x, kind, keptShape, outStrides, count)
               : isUnsignedInt(x.dtype()) ? reduceIn<uint64_t>(x, kind, keptShape, outStrides, count)
                                          : reduceIn<int64_t>(x, kind, keptShape, outStrides, count);
  return keepDims(ctx.attrs()) ? out : out.reshaped(outShape);
}

OpDef reduceOp(std::string name, std::string summary, Reduce kind) {
  OpDef d;
  d.name = std::move(name);
  d.summary = std::move(summary);
  d.minInputs = 1;
  d.maxInputs = 2;
  d.attrs = {{"axes", AttrKind::Ints}, {"keepdims", AttrKind::Int}, {"noop_with_empty_axes", AttrKind::Int}};
  d.infer = [kind](InferContext &ctx) { inferReduce(ctx, kind); };
  d.eval = [kind](EvalContext &ctx) -> std::vector<Tensor> { return {evalReduce(ctx, kind)}; };
  return d;
}

} // namespace

void registerReductionOps(OpRegistry &r) {
  r.add(reduceOp("ReduceSum", "sum over `axes` (attribute or operand 1; empty = all)", Reduce::Sum));
  r.add(reduceOp("ReduceMean", "mean over `axes` (attribute or operand 1; empty = all)", Reduce::Mean));
  r.add(reduceOp("ReduceMax", "maximum over `axes` (attribute or operand 1; empty = all); NaN propagates",
                 Reduce::Max));
  r.add(reduceOp("ReduceMin", "minimum over `axes` (attribute or operand 1; empty = all); NaN propagates",
                 Reduce::Min));
}

} // namespace ternc
