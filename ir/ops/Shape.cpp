// Shape ops: Reshape, Transpose, Squeeze, Unsqueeze, Shape, Expand, Range,
// ConstantOfShape, Gather, Concat, Slice, Split, Trilu — the ops that move
// data or compute shapes. They copy elements as bytes (no per-dtype code),
// and their type inference is symbolic: shape values carry their contents
// (Value::symbolicValue) so that Reshape(x, Concat(Shape(x)[0], ...)) keeps
// `batch`, `seq`.
#include "ir/ops/OpHelpers.h"

#include <algorithm>
#include <cmath>

namespace ternc {

namespace {
using namespace ops;

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Records (or clears, for nullopt) the symbolic contents of result i.
void setSymbolic(InferContext &ctx, size_t i, std::optional<std::vector<Dim>> v) {
  ctx.op().result(i)->setSymbolicValue(std::move(v));
}

/// The element count of a 1-D (or scalar) operand type, if static.
std::optional<int64_t> staticLength(const Type &t) {
  if (!t.isRanked()) return std::nullopt;
  if (t.rank() == 0) return 1;
  if (t.rank() != 1 || !t.dim(0).isStatic()) return std::nullopt;
  return t.dim(0).value();
}

/// `[batch,-1,4]`, as in error messages.
std::string dimsStr(const std::vector<Dim> &dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? "," : "") + dims[i].str();
  return out + "]";
}

/// `[5,-1]`, as in error messages.
std::string intsStr(const std::vector<int64_t> &v) { return fmt::format("[{}]", fmt::join(v, ",")); }

/// Product of dims [begin, end).
Dim productOf(const std::vector<Dim> &dims, size_t begin, size_t end) {
  Dim p(1);
  for (size_t i = begin; i < end && i < dims.size(); ++i) p = p * dims[i];
  return p;
}

int64_t productOf(const std::vector<int64_t> &shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < shape.size(); ++i) p *= shape[i];
  return p;
}

/// Copies every element of an index space `shape` from src to dst, each
/// addressed by its own strides (in elements, possibly 0 or negative) and
/// base offset; elements are moved as raw bytes so one routine serves every
/// dtype.
void copyElements(size_t elemSize, const std::vector<int64_t> &shape, const std::byte *src,
                  const std::vector<int64_t> &srcStrides, int64_t srcBase, std::byte *dst,
                  const std::vector<int64_t> &dstStrides, int64_t dstBase) {
  int64_t es = int64_t(elemSize);
  forEachBroadcast(shape, {srcStrides, dstStrides}, [&](int64_t, const std::vector<int64_t> &off) {
    std::memcpy(dst + (dstBase + off[1]) * es, src + (srcBase + off[0]) * es, elemSize);
  });
}

/// Axes from the optional input (opset 13 form) or the `axes` attribute.
std::vector<int64_t> axesOperand(const EvalContext &ctx, size_t input) {
  if (ctx.hasInput(input)) return ctx.input(input).toI64Vector();
  return ctx.attrs().getInts("axes");
}

// ---------------------------------------------------------------------------
// Reshape
// ---------------------------------------------------------------------------

void inferReshape(InferContext &ctx) {
  const Type &x = ctx.inputType(0);
  bool allowZero = ctx.attrs().getInt("allowzero", 0) != 0;
  setSymbolic(ctx, 0, std::nullopt);
  auto shape = ctx.symbolicInput(1);
  if (!shape) {
    // Contents unknown: a static length still fixes the rank.
    auto len = staticLength(ctx.inputType(1));
    ctx.setResultType(0, len ? typeLike(x, std::vector<Dim>(size_t(*len), Dim::unknown())) : Type::unranked(x.dtype()));
    return;
  }
  std::vector<Dim> out;
  std::optional<size_t> inferAt;
  bool hasZero = false;
  for (size_t k = 0; k < shape->size(); ++k) {
    const Dim &d = (*shape)[k];
    if (!d.isStatic()) {
      out.push_back(d);
      continue;
    }
    int64_t v = d.value();
    if (v == -1) {
      if (inferAt) ctx.fail("shape {} has more than one -1", dimsStr(*shape));
      inferAt = k;
      out.push_back(Dim::unknown());
    } else if (v == 0 && !allowZero) {
      if (!x.isRanked()) out.push_back(Dim::unknown());
      else if (k >= x.rank())
        ctx.fail("shape {}: the 0 at index {} copies an input dim, but the input {} has rank {}", dimsStr(*shape), k,
                 x.str(), x.rank());
      else out.push_back(x.dim(k));
    } else if (v < -1) {
      ctx.fail("shape {} has the invalid entry {}", dimsStr(*shape), v);
    } else {
      hasZero |= v == 0;
      out.push_back(d);
    }
  }
  if (allowZero && hasZero && inferAt) ctx.fail("shape {} has both 0 and -1, which allowzero=1 forbids", dimsStr(*shape));
  bool inputKnown = x.isRanked() && std::none_of(x.dims().begin(), x.dims().end(), [](const Dim &d) { return d.isUnknown(); });
  if (inputKnown) {
    Dim total = productOf(x.dims(), 0, x.rank());
    Dim rest(1);
    for (size_t k = 0; k < out.size(); ++k)
      if (k != inferAt) rest = rest * out[k];
    if (inferAt && !rest.isUnknown()) {
      if (total.isStatic() && rest.isStatic()) {
        if (rest.value() == 0 || total.value() % rest.value() != 0)
          ctx.fail("cannot reshape {} elements into {}", total.value(), dimsStr(*shape));
        out[*inferAt] = Dim(total.value() / rest.value());
      } else {
        out[*inferAt] = floorDiv(total, rest);
      }
    } else if (!inferAt && total.isStatic() && rest.isStatic() && total.value() != rest.value()) {
      ctx.fail("cannot reshape {} elements into {}", total.value(), dimsStr(*shape));
    }
  }
  ctx.setResultType(0, typeLike(x, out));
  // A shape value reshaped between [n], [] and [1] keeps its contents.
  if (auto sym = ctx.symbolicInput(0); sym && out.size() <= 1) setSymbolic(ctx, 0, sym);
}

std::vector<Tensor> evalReshape(EvalContext &ctx) {
  const Tensor &x = ctx.input(0);
  std::vector<int64_t> shape = ctx.input(1).toI64Vector(), out = shape;
  bool allowZero = ctx.attrs().getInt("allowzero", 0) != 0;
  std::optional<size_t> inferAt;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == -1) {
      if (inferAt) ctx.fail("shape {} has more than one -1", intsStr(shape));
      inferAt = k;
    } else if (shape[k] == 0 && !allowZero) {
      if (k >= x.rank()) ctx.fail("shape {}: the 0 at index {} copies an input dim, but the input has rank {}",
                                  intsStr(shape), k, x.rank());
      out[k] = x.shape()[k];
    } else if (shape[k] < -1) {
      ctx.fail("shape {} has the invalid entry {}", intsStr(shape), shape[k]);
    }
  }
  int64_t rest = 1;
  for (size_t k = 0; k < out.size(); ++k)
    if (k != inferAt) rest *= out[k];
  if (inferAt) {
    if (rest == 0 || x.numElements() % rest != 0)
      ctx.fail("cannot reshape {} elements into {}", x.numElements(), intsStr(shape));
    out[*inferAt] = x.numElements() / rest;
  } else if (rest != x.numElements()) {
    ctx.fail("cannot reshape {} elements into {}", x.numElements(), intsStr(shape));
  }
  return {x.reshaped(out)};
}

// ---------------------------------------------------------------------------
// Transpose
// ---------------------------------------------------------------------------

/// The permutation for a rank: the `perm` attribute, or reversed axes.
std::vector<int64_t> transposePerm(const Attrs &attrs, size_t rank) {
  if (attrs.has("perm")) return attrs.getInts("perm");
  std::vector<int64_t> perm(rank);
  for (size_t i = 0; i < rank; ++i) perm[i] = int64_t(rank - 1 - i);
  return perm;
}

/// "" if `perm` is a permutation of 0..rank-1, else the error.
std::string checkPerm(const std::vector<int64_t> &perm, size_t rank) {
  std::vector<bool> seen(rank, false);
  bool ok = perm.size() == rank;
  for (int64_t p : perm) {
    if (!ok || p < 0 || p >= int64_t(rank) || seen[size_t(p)]) { ok = false; break; }
    seen[size_t(p)] = true;
  }
  return ok ? "" : fmt::format("perm {} is not a permutation of rank {}", intsStr(perm), rank);
}

void inferTranspose(InferContext &ctx) {
  const Type &x = ctx.inputType(0);
  setSymbolic(ctx, 0, x.isRanked() && x.rank() == 1 ? ctx.symbolicInput(0) : std::nullopt);
  if (!x.isRanked()) {
    if (!ctx.attrs().has("perm")) return ctx.setResultType(0, x);
    size_t rank = ctx.attrs().getInts("perm").size();
    return ctx.setResultType(0, typeLike(x, std::vector<Dim>(rank, Dim::unknown())));
  }
  std::vector<int64_t> perm = transposePerm(ctx.attrs(), x.rank());
  if (std::string err = checkPerm(perm, x.rank()); !err.empty()) ctx.failMessage(err);
  std::vector<Dim> out;
  for (int64_t p : perm) out.push_back(x.dim(size_t(p)));
  ctx.setResultType(0, typeLike(x, out));
}

std::vector<Tensor> evalTranspose(EvalContext &ctx) {
  const Tensor &x = ctx.input(0);
  std::vector<int64_t> perm = transposePerm(ctx.attrs(), x.rank());
  if (std::string err = checkPerm(perm, x.rank()); !err.empty()) ctx.failMessage(err);
  std::vector<int64_t> inStrides = stridesOf(x.shape()), outShape, srcStrides;
  for (int64_t p : perm) {
    outShape.push_back(x.shape()[size_t(p)]);
    srcStrides.push_back(inStrides[size_t(p)]);
  }
  Tensor out(x.dtype(), outShape);
  copyElements(dtypeSize(x.dtype()), outShape, x.rawData(), srcStrides, 0, out.mutableRawData(), stridesOf(outShape),
               0);
  return {out};
}

// ---------------------------------------------------------------------------
// Squeeze / Unsqueeze
// ---------------------------------------------------------------------------

/// Normalizes axes against `rank`, rejecting duplicates.
template <typename Ctx> std::vector<int64_t> normalizeAxes(const Ctx &ctx, std::vector<int64_t> axes, int64_t rank) {
  for (int64_t &a : axes) a = normalizeAxis(ctx, a, rank);
  std::vector<int64_t> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    ctx.fail("axes {} name the same axis twice", intsStr(axes));
  return sorted;
}

/// True if axes are given, as the optional input 1 (opset 13) or the
/// `axes` attribute.
bool hasAxesOperand(const InferContext &ctx) {
  return (ctx.numInputs() > 1 && ctx.hasInput(1)) || ctx.attrs().has("axes");
}

/// The axes (empty if not given); nullopt if given as an input whose
/// contents are unknown.
std::optional<std::vector<int64_t>> inferAxes(const InferContext &ctx) {
  return ctx.numInputs() > 1 && ctx.hasInput(1) ? staticInts(ctx, 1) : ctx.attrs().getInts("axes");
}

void inferSqueeze(InferContext &ctx) {
  const Type &x = ctx.inputType(0);
  setSymbolic(ctx, 0, ctx.symbolicInput(0));
  auto axes = inferAxes(ctx);
  if (!x.isRanked()) return ctx.setResultType(0, Type::unranked(x.dtype()));
  if (!axes) {
    // Which axes go is unknown, but how many is known from the axes length.
    auto len = staticLength(ctx.inputType(1));
    if (!len || *len > int64_t(x.rank())) return ctx.setResultType(0, Type::unranked(x.dtype()));
    return ctx.setResultType(0, typeLike(x, std::vector<Dim>(x.rank() - size_t(*len), Dim::unknown())));
  }
  std::vector<Dim> out;
  if (axes->empty()) {
    // Without axes every 1 goes; a dim not known statically might be 1.
    for (const Dim &d : x.dims()) {
      if (!d.isStatic()) return ctx.setResultType(0, Type::unranked(x.dtype()));
      if (d.value() != 1) out.push_back(d);
    }
    return ctx.setResultType(0, typeLike(x, out));
  }
  std::vector<int64_t> norm = normalizeAxes(ctx, *axes, int64_t(x.rank()));
  for (size_t i = 0; i < x.rank(); ++i) {
    bool squeezed = std::binary_search(norm.begin(), norm.end(), int64_t(i));
    if (squeezed && x.dim(i).isStatic() && x.dim(i).value() != 1)
      ctx.fail("cannot squeeze axis {} of {}: its size is {}, not 1", i, x.str(), x.dim(i).value());
    if (!squeezed) out.push_back(x.dim(i));
  }
  ctx.setResultType(0, typeLike(x, out));
}

std::vector<Tensor> evalSqueeze(EvalContext &ctx) {
  const Tensor &x = ctx.input(0);
  std::vector<int64_t> out;
  std::vector<int64_t> axes = axesOperand(ctx, 1);
  if (axes.empty()) {
    for (int64_t d : x.shape())
      if (d != 1) out.push_back(d);
    return {x.reshaped(out)};
  }
  axes = normalizeAxes(ctx, axes, int64_t(x.rank()));
  for (size_t i = 0; i < x.rank(); ++i) {
    bool squeezed = std::binary_search(axes.begin(), axes.end(), int64_t(i));
    if (squeezed && x.shape()[i] != 1)
      ctx.fail("cannot squeeze axis {} of shape {}: its size is {}, not 1", i, intsStr(x.shape()), x.shape()[i]);
    if (!squeezed) out.push_back(x.shape()[i]);
  }
  return {x.reshaped(out)};
}

/// Where each input dim lands after unsqueezing `axes` (normalized against
/// the output rank): the output shape with `fill` at the new axes.
template <typename T>
std::vector<T> unsqueezeDims(const std::vector<T> &in, const std::vector<int64_t> &axes, T fill) {
  std::vector<T> out;
  size_t next = 0;
  for (size_t i = 0; i < in.size() + axes.size(); ++i)
    out.push_back(std::binary_search(axes.begin(), axes.end(), int64_t(i)) ? fill : in[next++]);
  return out;
}

void inferUnsqueeze(InferContext &ctx) {
  const Type &x = ctx.inputType(0);
  // A scalar shape entry made 1-D keeps its contents (Unsqueeze(Shape(x)[0])).
  setSymbolic(ctx, 0, x.isRanked() && x.rank() == 0 ? ctx.symbolicInput(0) : std::nullopt);
  if (!hasAxesOperand(ctx)) ctx.fail("needs axes, as input 1 or the `axes` attribute");
  auto axes = inferAxes(ctx);
  if (!x.isRanked()) return ctx.setResultType(0, Type::unranked(x.dtype()));
  if (!axes) {
    auto len = staticLength(ctx.inputType(1));
    if (!len) return ctx.setResultType(0, Type::unranked(x.dtype()));
    return ctx.setResultType(0, typeLike(x, std::vector<Dim>(x.rank() + size_t(*len), Dim::unknown())));
  }
  std::vector<int64_t> norm = normalizeAxes(ctx, *axes, int64_t(x.rank() + axes->size()));
  ctx.setResultType(0, typeLike(x, unsqueezeDims(x.dims(), norm, Dim(1))));
}

std::vector<Tensor> evalUnsqueeze(EvalContext &ctx) {
  const Tensor &x = ctx.input(0);
  std::vector<int64_t> axes = axesOperand(ctx, 1);
  axes = normalizeAxes(ctx, axes, int64_t(x.rank() + axes.size()));
  return {x.reshaped(unsqueezeDims(x.shape(), axes, int64_t(1)))};
}

// ---------------------------------------------------------------------------
// Shape
// ---------------------------------------------------------------------------

/// [start, end) of the dims that Shape returns (opset 15: negative values
/// count from the back, out-of-range values are clamped).
std::pair<size_t, size_t> shapeRange(const Attrs &attrs, int64_t rank) {
  auto clampIndex = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t(0), rank); };
  int64_t start = clampIndex(attrs.getInt("start", 0));
  int64_t end = clampIndex(attrs.getInt("end", rank));
  return {size_t(start), size_t(std::max(start, end))};
}

void inferShape(InferContext &ctx) {
  const Type &x = ctx.inputType(0);
  if (!x.isRanked()) {
    setSymbolic(ctx, 0, std::nullopt);
    return ctx.setResultType(0, Type(DType::I64, {Dim::unknown()}));
  }
  auto [start, end] = shapeRange(ctx.attrs(), int64_t(x.rank()));
  std::vector<Dim> dims(x.dims().begin() + long(start), x.dims().begin() + long(end));
  ctx.setResultType(0, Type(DType::I64, {Dim(int64_t(dims.size()))}));
  ctx.setResultSymbolicValue(0, dims);
}

std::vector<Tensor> evalShape(EvalContext &ctx) {
  const std::vector<int64_t> &shape = ctx.input(0).shape();
  auto [start, end] = shapeRange(ctx.attrs(), int64_t(shape.size()));
  return {Tensor::fromI64(std::vector<int64_t>(shape.begin() + long(start), shape.begin() + long(end)))};
}

// ---------------------------------------------------------------------------
// Expand / ConstantOfShape
// ---------------------------------------------------------------------------

/// The dims a shape operand describes: its (symbolic) contents, or `?`s if
/// only its length is known; nullopt if not even that.
std::optional<std::vector<Dim>> shapeOperandDims(const InferContext &ctx, size_t i) {
  if (auto sym = ctx.symbolicInput(i)) {
    for (const Dim &d : *sym)
      if (d.isStatic() && d.value() < 0) ctx.fail("shape {} has the negative entry {}", dimsStr(*sym), d.value());
    return sym;
  }
  if (auto len = staticLength(ctx.inputType(i))) return std::vector<Dim>(size_t(*len), Dim::unknown());
  return std::nullopt;
}

void inferExpand(InferContext &ctx) {
  const Type &x = ctx.inputType(0);
  setSymbolic(ctx, 0, std::nullopt);
  auto shape = shapeOperandDims(ctx, 1);
  if (!x.isRanked() || !shape) return ctx.setResultType(0, Type::unranked(x.dtype()));
  ctx.setResultType(0, typeLike(x, broadcastDims(ctx, x.dims(), *shape)));
}

std::vector<Tensor> evalExpand(EvalContext &ctx) {
  const Tensor &x = ctx.input(0);
  std::vector<int64_t> shape = ctx.input(1).toI64Vector();
  for (int64_t d : shape)
    if (d < 0) ctx.fail("shape {} has the negative entry {}", intsStr(shape), d);
  std::vector<int64_t> outShape = broadcastShapes(ctx, x.shape(), shape);
  Tensor out(x.dtype(), outShape);
  copyElements(dtypeSize(x.dtype()), outShape, x.rawData(), broadcastStrides(x.shape(), outShape), 0,
               out.mutableRawData(), stridesOf(outShape), 0);
  return {out};
}

/// The fill value of ConstantOfShape: the `value` attribute, or f32 0.
Tensor fillValue(const Attrs &attrs) {
  if (const AttrValue *v = attrs.find("value"))
    if (const Tensor *t = std::get_if<Tensor>(v)) return *t;
  return Tensor::scalarF32(0.0f);
}

void inferConstantOfShape(InferContext &ctx) {
  Tensor value = fillValue(ctx.attrs());
  if (value.numElements() != 1) ctx.fail("value must hold one element, not {}", value.numElements());
  setSymbolic(ctx, 0, std::nullopt);
  auto shape = shapeOperandDims(ctx, 0);
  if (!shape) return ctx.setResultType(0, Type::unranked(value.dtype()));
  ctx.setResultType(0, Type(value.dtype(), *shape));
  if (isInteger(value.dtype()) && shape->size() <= 1) {
    Dim len = shape->empty() ? Dim(1) : (*shape)[0];
    if (len.isStatic() && len.value() <= 64) setSymbolic(ctx, 0, std::vector<Dim>(size_t(len.value()), value.getInt(0)));
  }
}

std::vector<Tensor> evalConstantOfShape(EvalContext &ctx) {
  Tensor value = fillValue(ctx.attrs());
  std::vector<int64_t> shape = ctx.input(0).toI64Vector();
  for (int64_t d : shape)
    if (d < 0) ctx.fail("shape {} has the negative entry {}", intsStr(shape), d);
  Tensor out(value.dtype(), shape);
  size_t es = dtypeSize(value.dtype());
  std::byte *dst = out.mutableRawData();
  for (int64_t i = 0; i < out.numElements(); ++i) std::memcpy(dst + i * int64_t(es), value.rawData(), es);
  return {out};
}

// ---------------------------------------------------------------------------
// Range
// ---------------------------------------------------------------------------

/// Number of elements of Range(start, limit, delta): max(ceil((limit - start) / delta), 0).
int64_t rangeLength(double start, double limit, double delta) {
  return std::max<int64_t>(int64_t(std::ceil((limit - start) / delta)), 0);
}
int64_t rangeLength(int64_t start, int64_t limit, int64_t delta) {
  int64_t span = limit - start;
  int64_t q = span / delta;
  if (span % delta != 0 && ((span < 0) == (delta < 0))) ++q;  // ceil
  return std::max<int64_t>(q, 0);
}

/// True if a dim polynomial is certainly >= 0: every coefficient positive
/// (symbols are sizes, never negative).
bool certainlyNonNegative(const Dim &d) {
  return !d.isUnknown() && (d.isStatic() ? d.value() >= 0 : d.str().find('-') == std::string::npos);
}

void inferRange(InferContext &ctx) {
  DType dt = ctx.inputType(0).dtype();
  const char *names[] = {"start", "limit", "delta"};
  for (size_t i = 0; i < 3; ++i) {
    const Type &t = ctx.inputType(i);
    if (t.dtype() != dt) ctx.fail("{} is {}, but start is {}", names[i], dtypeName(t.dtype()), dtypeName(dt));
    if (std::optional<int64_t> n = t.numElements(); n && *n != 1)
      ctx.fail("{} must be a scalar, not {}", names[i], t.str());
  }
  setSymbolic(ctx, 0, std::nullopt);
  Dim len = Dim::unknown();
  if (isFloat(dt)) {
    const Tensor *s = ctx.constantInput(0), *l = ctx.constantInput(1), *d = ctx.constantInput(2);
    if (s && l && d) {
      if (d->getDouble(0) == 0) ctx.fail("delta is 0");
      len = rangeLength(s->getDouble(0), l->getDouble(0), d->getDouble(0));
    }
  } else {
    auto s = ctx.symbolicInput(0), l = ctx.symbolicInput(1), d = ctx.symbolicInput(2);
    if (s && l && d && s->size() == 1 && l->size() == 1 && d->size() == 1) {
      const Dim &start = (*s)[0], &limit = (*l)[0], &delta = (*d)[0];
      if (delta.isStatic() && delta.value() == 0) ctx.fail("delta is 0");
      if (start.isStatic() && limit.isStatic() && delta.isStatic()) {
        int64_t n = rangeLength(start.value(), limit.value(), delta.value());
        len = n;
        if (n <= 64) {
          std::vector<Dim> vals;
          for (int64_t i = 0; i < n; ++i) vals.push_back(start.value() + i * delta.value());
          setSymbolic(ctx, 0, vals);
        }
      } else if (delta.isStatic() && (delta.value() == 1 || delta.value() == -1)) {
        // Range(0, seq, 1) has seq elements; Range(past, past+seq, 1) has seq.
        Dim span = delta.value() == 1 ? limit - start : start - limit;
        if (certainlyNonNegative(span)) len = span;
      }
    }
  }
  ctx.setResultType(0, Type(dt, {len}));
}

std::vector<Tensor> evalRange(EvalContext &ctx) {
  const Tensor &s = ctx.input(0), &l = ctx.input(1), &d = ctx.input(2);
  DType dt = s.dtype();
  if (isFloat(dt)) {
    double start = s.getDouble(0), delta = d.getDouble(0);
    if (delta == 0) ctx.fail("delta is 0");
    Tensor out(dt, {rangeLength(start, l.getDouble(0), delta)});
    for (int64_t i = 0; i < out.numElements(); ++i) out.setDouble(i, start + double(i) * delta);
    return {out};
  }
  int64_t start = s.getInt(0), delta = d.getInt(0);
  if (delta == 0) ctx.fail("delta is 0");
  Tensor out(dt, {rangeLength(start, l.getInt(0), delta)});
  for (int64_t i = 0; i < out.numElements(); ++i) out.setInt(i, start + i * delta);
  return {out};
}


// ---------------------------------------------------------------------------
// Gather
// ---------------------------------------------------------------------------

void inferGather(InferContext &ctx) {
  const Type &data = ctx.inputType(0), &indices = ctx.inputType(1);
  if (!isInteger(indices.dtype())) ctx.fail("indices must be integers, not {}", dtypeName(indices.dtype()));
  setSymbolic(ctx, 0, std::nullopt);
  if (!data.isRanked() || !indices.isRanked()) return ctx.setResultType(0, Type::unranked(data.dtype()));
  if (data.rank() == 0) ctx.fail("data must have rank >= 1, not {}", data.str());
  size_t axis = size_t(normalizeAxis(ctx, ctx.attrs().getInt("axis", 0), int64_t(data.rank())));
  std::vector<Dim> out(data.dims().begin(), data.dims().begin() + long(axis));
  out.insert(out.end(), indices.dims().begin(), indices.dims().end());
  out.insert(out.end(), data.dims().begin() + long(axis) + 1, data.dims().end());
  ctx.setResultType(0, typeLike(data, out));
  auto idx = staticInts(ctx, 1);
  if (!idx) return;
  const Dim &size = data.dim(axis);
  for (int64_t i : *idx)
    if (size.isStatic() && (i < -size.value() || i >= size.value()))
      ctx.fail("index {} is out of bounds for axis {} of size {}", i, axis, size.value());
  // Picking entries of a shape value: Shape(x)[0], Shape(x)[[0, 2]].
  auto sym = ctx.symbolicInput(0);
  if (!sym || data.rank() != 1 || indices.rank() > 1) return;
  std::vector<Dim> picked;
  int64_t n = int64_t(sym->size());
  for (int64_t i : *idx) {
    if (i < -n || i >= n) return;
    picked.push_back((*sym)[size_t(i < 0 ? i + n : i)]);
  }
  setSymbolic(ctx, 0, picked);
}

std::vector<Tensor> evalGather(EvalContext &ctx) {
  const Tensor &data = ctx.input(0), &indices = ctx.input(1);
  if (data.rank() == 0) ctx.fail("data must have rank >= 1");
  size_t axis = size_t(normalizeAxis(ctx, ctx.attrs().getInt("axis", 0), int64_t(data.rank())));
  const std::vector<int64_t> &ds = data.shape();
  std::vector<int64_t> outShape(ds.begin(), ds.begin() + long(axis));
  outShape.insert(outShape.end(), indices.shape().begin(), indices.shape().end());
  outShape.insert(outShape.end(), ds.begin() + long(axis) + 1, ds.end());
  Tensor out(data.dtype(), outShape);
  int64_t outer = productOf(ds, 0, axis), size = ds[axis], count = indices.numElements();
  size_t block = size_t(productOf(ds, axis + 1, ds.size())) * dtypeSize(data.dtype());
  std::vector<int64_t> idx = indices.toI64Vector();
  for (int64_t &i : idx) {
    if (i < -size || i >= size) ctx.fail("index {} is out of bounds for axis {} of size {}", i, axis, size);
    if (i < 0) i += size;
  }
  const std::byte *src = data.rawData();
  std::byte *dst = out.mutableRawData();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < count; ++j)
      std::memcpy(dst + size_t(o * count + j) * block, src + size_t(o * size + idx[size_t(j)]) * block, block);
  return {out};
}

// ---------------------------------------------------------------------------
// Concat
// ---------------------------------------------------------------------------

void inferConcat(InferContext &ctx) {
  if (!ctx.attrs().has("axis")) ctx.fail("needs the `axis` attribute");
  const Type &first = ctx.inputType(0);
  setSymbolic(ctx, 0, std::nullopt);
  std::optional<size_t> rank;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    const Type &t = ctx.inputType(i);
    if (t.dtype() != first.dtype())
      ctx.fail("input {} is {}, but input 0 is {}", i, dtypeName(t.dtype()), dtypeName(first.dtype()));
    if (!t.isRanked()) continue;
    if (rank && *rank != t.rank()) ctx.fail("input {} has rank {}, but another input has rank {}", i, t.rank(), *rank);
    rank = t.rank();
  }
  if (!rank) return ctx.setResultType(0, Type::unranked(first.dtype()));
  if (*rank == 0) ctx.fail("cannot concatenate scalars");
  size_t axis = size_t(normalizeAxis(ctx, ctx.attrs().getInt("axis", 0), int64_t(*rank)));
  std::vector<Dim> out;
  bool anyUnranked = false;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    const Type &t = ctx.inputType(i);
    if (!t.isRanked()) { anyUnranked = true; continue; }
    if (out.empty()) { out = t.dims(); continue; }
    for (size_t d = 0; d < *rank; ++d) {
      if (d == axis) { out[d] = out[d] + t.dim(d); continue; }
      const Dim &a = out[d], &b = t.dim(d);
      if (a.isStatic() && b.isStatic() && a != b)
        ctx.fail("input {} has size {} at axis {}, but an earlier input has {}", i, b.value(), d, a.value());
      if (a.isUnknown() || (b.isStatic() && !a.isStatic())) out[d] = b;  // keep the most precise
    }
  }
  if (anyUnranked) out[axis] = Dim::unknown();  // an unranked input adds an unknown size
  ctx.setResultType(0, typeLike(first, out));
  // Concatenating shape values: Concat(Shape(x)[0], [-1]). A part with
  // unknown contents but a static length contributes `?`s, so that the
  // known parts still reach Reshape.
  if (*rank != 1 || !isInteger(first.dtype())) return;
  std::vector<Dim> sym;
  bool anyKnown = false;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    auto s = ctx.symbolicInput(i);
    auto len = staticLength(ctx.inputType(i));
    if (!s && !len) return;
    anyKnown |= s.has_value();
    if (!s) s = std::vector<Dim>(size_t(*len), Dim::unknown());
    sym.insert(sym.end(), s->begin(), s->end());
  }
  if (anyKnown) setSymbolic(ctx, 0, sym);
}

std::vector<Tensor> evalConcat(EvalContext &ctx) {
  const Tensor &first = ctx.input(0);
  if (first.rank() == 0) ctx.fail("cannot concatenate scalars");
  size_t axis = size_t(normalizeAxis(ctx, ctx.attrs().getInt("axis", 0), int64_t(first.rank())));
  std::vector<int64_t> outShape = first.shape();
  outShape[axis] = 0;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    const Tensor &t = ctx.input(i);
    if (t.dtype() != first.dtype() || t.rank() != first.rank())
      ctx.fail("input {} ({} {}) does not match input 0 ({} {})", i, dtypeName(t.dtype()), intsStr(t.shape()),
               dtypeName(first.dtype()), intsStr(first.shape()));
    for (size_t d = 0; d < t.rank(); ++d)
      if (d != axis && t.shape()[d] != first.shape()[d])
        ctx.fail("input {} has shape {}, input 0 has {}: they differ off axis {}", i, intsStr(t.shape()),
                 intsStr(first.shape()), axis);
    outShape[axis] += t.shape()[axis];
  }
  Tensor out(first.dtype(), outShape);
  size_t inner = size_t(productOf(outShape, axis + 1, outShape.size())) * dtypeSize(first.dtype());
  int64_t outer = productOf(outShape, 0, axis);
  size_t outBlock = size_t(outShape[axis]) * inner, at = 0;
  std::byte *dst = out.mutableRawData();
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    size_t block = size_t(ctx.input(i).shape()[axis]) * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + size_t(o) * outBlock + at, ctx.input(i).rawData() + size_t(o) * block, block);
    at += block;
  }
  return {out};
}

// ---------------------------------------------------------------------------
// Slice
// ---------------------------------------------------------------------------

/// Values at least this large stand for "to the end" (exporters write
/// INT64_MAX or INT32_MAX); no real dim is that long.
constexpr int64_t kSliceInfinity = int64_t(1) << 31;

/// A slice of a symbolic dim is known only when it keeps the whole axis
/// (forwards or backwards); otherwise it depends on the run-time size.
Dim sliceSymbolicDim(const Dim &dim, int64_t start, int64_t end, int64_t step) {
  bool forwardAll = step == 1 && (start == 0 || start <= -kSliceInfinity) && end >= kSliceInfinity;
  bool backwardAll = step == -1 && (start == -1 || start >= kSliceInfinity) && end <= -kSliceInfinity;
  return forwardAll || backwardAll ? dim : Dim::unknown();
}

/// The slice parameters per operand: starts, ends, axes (default 0..n-1),
/// steps (default 1); validated to have equal lengths and nonzero steps.
struct SliceParams {
  std::vector<int64_t> starts, ends, axes, steps;
};

template <typename Ctx>
SliceParams checkSliceParams(const Ctx &ctx, SliceParams p, bool hasAxes, bool hasSteps, size_t rank) {
  size_t n = p.starts.size();
  if (!hasAxes)
    for (size_t i = 0; i < n; ++i) p.axes.push_back(int64_t(i));
  if (!hasSteps) p.steps.assign(n, 1);
  if (p.ends.size() != n || p.axes.size() != n || p.steps.size() != n)
    ctx.fail("starts, ends, axes and steps have {}, {}, {} and {} entries; they must agree", n, p.ends.size(),
             p.axes.size(), p.steps.size());
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < n; ++i) {
    p.axes[i] = normalizeAxis(ctx, p.axes[i], int64_t(rank));
    if (seen[size_t(p.axes[i])]) ctx.fail("axes {} name axis {} twice", intsStr(p.axes), p.axes[i]);
    seen[size_t(p.axes[i])] = true;
    if (p.steps[i] == 0) ctx.fail("steps must not be 0");
  }
  return p;
}

void inferSlice(InferContext &ctx) {
  const Type &x = ctx.inputType(0);
  setSymbolic(ctx, 0, std::nullopt);
  if (!x.isRanked()) return ctx.setResultType(0, x);
  bool hasAxes = ctx.numInputs() > 3 && ctx.hasInput(3), hasSteps = ctx.numInputs() > 4 && ctx.hasInput(4);
  auto starts = staticInts(ctx, 1), ends = staticInts(ctx, 2);
  auto axes = hasAxes ? staticInts(ctx, 3) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
  auto steps = hasSteps ? staticInts(ctx, 4) : std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
  std::vector<Dim> out = x.dims();
  // `table[s:E]` with a symbolic end E (e.g. the rotary table up to
  // past+seq) on a static axis: the result has E - s rows, assuming E stays
  // within the axis; codegen checks that at run time (GraphLowering).
  if (starts && !ends && axes && steps && x.rank() > 0) {
    auto symEnds = ctx.symbolicInput(2);
    if (symEnds && symEnds->size() == starts->size()) {
      std::vector<int64_t> placeholder(starts->size(), 0);
      SliceParams p = checkSliceParams(ctx, {*starts, placeholder, *axes, *steps}, hasAxes, hasSteps, x.rank());
      bool ok = true;
      for (size_t i = 0; ok && i < p.axes.size(); ++i) {
        const Dim &e = (*symEnds)[i];
        Dim &d = out[size_t(p.axes[i])];
        if (e.isStatic() && d.isStatic())
          d = Dim(resolveSlice(p.starts[i], e.value(), p.steps[i], d.value()).count);
        else if (!e.isStatic() && !e.isUnknown() && d.isStatic() && p.steps[i] == 1 && p.starts[i] >= 0 &&
                 p.starts[i] <= d.value())
          d = e - Dim(p.starts[i]);
        else ok = false;
      }
      if (ok) return ctx.setResultType(0, typeLike(x, out));
      out = x.dims();
    }
  }
  if (!starts || !ends || !axes || !steps) {
    // Sliced axes get unknown sizes; which ones is known only from axes.
    if (axes && (hasAxes || starts || ends)) {
      std::vector<int64_t> named = *axes;
      if (!hasAxes)
        for (size_t i = 0; i < (starts ? starts->size() : ends->size()); ++i) named.push_back(int64_t(i));
      for (int64_t a : named) out[size_t(normalizeAxis(ctx, a, int64_t(x.rank())))] = Dim::unknown();
    } else {
      out.assign(x.rank(), Dim::unknown());
    }
    return ctx.setResultType(0, typeLike(x, out));
  }
  SliceParams p = checkSliceParams(ctx, {*starts, *ends, *axes, *steps}, hasAxes, hasSteps, x.rank());
  for (size_t i = 0; i < p.axes.size(); ++i) {
    Dim &d = out[size_t(p.axes[i])];
    d = d.isStatic() ? Dim(resolveSlice(p.starts[i], p.ends[i], p.steps[i], d.value()).count)
                     : sliceSymbolicDim(d, p.starts[i], p.ends[i], p.steps[i]);
  }
  ctx.setResultType(0, typeLike(x, out));
  // Slicing a shape value: Shape(x)[1:3].
  auto sym = ctx.symbolicInput(0);
  if (!sym || x.rank() != 1 || p.axes.empty()) return;
  SliceAxis s = resolveSlice(p.starts[0], p.ends[0], p.steps[0], int64_t(sym->size()));
  std::vector<Dim> sliced;
  for (int64_t k = 0; k < s.count; ++k) sliced.push_back((*sym)[size_t(s.start + k * p.steps[0])]);
  setSymbolic(ctx, 0, sliced);
}

std::vector<Tensor> evalSlice(EvalContext &ctx) {
  const Tensor &x = ctx.input(0);
  bool hasAxes = ctx.hasInput(3), hasSteps = ctx.hasInput(4);
  SliceParams p = checkSliceParams(ctx,
                                   {ctx.input(1).toI64Vector(), ctx.input(2).toI64Vector(),
                                    hasAxes ? ctx.input(3).toI64Vector() : std::vector<int64_t>{},
                                    hasSteps ? ctx.input(4).toI64Vector() : std::vector<int64_t>{}},
                                   hasAxes, hasSteps, x.rank());
  std::vector<int64_t> outShape = x.shape(), inStrides = stridesOf(x.shape()), srcStrides = inStrides;
  int64_t base = 0;
  for (size_t i = 0; i < p.axes.size(); ++i) {
    size_t a = size_t(p.axes[i]);
    SliceAxis s = resolveSlice(p.starts[i], p.ends[i], p.steps[i], x.shape()[a]);
    outShape[a] = s.count;
    base += s.start * inStrides[a];
    srcStrides[a] = inStrides[a] * p.steps[i];
  }
  Tensor out(x.dtype(), outShape);
  copyElements(dtypeSize(x.dtype()), outShape, x.rawData(), srcStrides, base, out.mutableRawData(),
               stridesOf(outShape), 0);
  return {out};
}

// ---------------------------------------------------------------------------
// Split
// ---------------------------------------------------------------------------

/// Sizes of equal parts without `split`. ONNX opsets 13-17 require an even
/// split; with the opset-18 `num_outputs` attribute the last part may be
/// smaller (parts of ceil(size/n)). Returns "" or an error.
std::string equalSplit(int64_t size, int64_t parts, bool numOutputsGiven, std::vector<int64_t> &sizes) {
  int64_t each = numOutputsGiven ? (size + parts - 1) / parts : size / parts;
  if (!numOutputsGiven && size % parts != 0)
    return fmt::format("cannot split a dim of size {} into {} equal parts (opsets 13-17 need an even split; "
                       "give `split` sizes)", size, parts);
  int64_t last = size - each * (parts - 1);
  if (last < 0) return fmt::format("cannot split a dim of size {} into {} parts of {}", size, parts, each);
  sizes.assign(size_t(parts), each);
  sizes.back() = last;
  return "";
}

/// Checks explicit `split` sizes against the result count and the dim size
/// (when static, i.e. >= 0).
template <typename Ctx>
void checkSplitSizes(const Ctx &ctx, const std::vector<int64_t> &sizes, size_t parts, int64_t size) {
  if (sizes.size() != parts) ctx.fail("split {} has {} entries, but the op has {} results", intsStr(sizes), sizes.size(), parts);
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0) ctx.fail("split {} has a negative size", intsStr(sizes));
    sum += s;
  }
  if (size >= 0 && sum != size) ctx.fail("split {} sums to {}, but the dim has size {}", intsStr(sizes), sum, size);
}

void checkNumOutputs(const auto &ctx, size_t parts) {
  if (ctx.attrs().has("num_outputs") && ctx.attrs().getInt("num_outputs", 0) != int64_t(parts))
    ctx.fail("num_outputs is {}, but the op has {} results", ctx.attrs().getInt("num_outputs", 0), parts);
}

void inferSplit(InferContext &ctx) {
  const Type &x = ctx.inputType(0);
  size_t parts = ctx.op().numResults();
  checkNumOutputs(ctx, parts);
  for (size_t i = 0; i < parts; ++i) setSymbolic(ctx, i, std::nullopt);
  if (!x.isRanked()) {
    for (size_t i = 0; i < parts; ++i) ctx.setResultType(i, Type::unranked(x.dtype()));
    return;
  }
  if (x.rank() == 0) ctx.fail("cannot split a scalar");
  size_t axis = size_t(normalizeAxis(ctx, ctx.attrs().getInt("axis", 0), int64_t(x.rank())));
  const Dim &size = x.dim(axis);
  std::vector<Dim> partDims(parts, Dim::unknown());
  bool splitInput = ctx.numInputs() > 1 && ctx.hasInput(1);
  std::optional<std::vector<int64_t>> sizes;
  if (splitInput) sizes = staticInts(ctx, 1);
  else if (ctx.attrs().has("split")) sizes = ctx.attrs().getInts("split");
  if (sizes) {
    checkSplitSizes(ctx, *sizes, parts, size.isStatic() ? size.value() : -1);
    partDims.assign(sizes->begin(), sizes->end());
  } else if (!splitInput && size.isStatic()) {
    std::vector<int64_t> equal;
    if (std::string err = equalSplit(size.value(), int64_t(parts), ctx.attrs().has("num_outputs"), equal); !err.empty())
      ctx.failMessage(err);
    partDims.assign(equal.begin(), equal.end());
  } else if (!splitInput) {
    partDims.assign(parts, floorDiv(size, Dim(int64_t(parts))));  // exact (e.g. 2*seq / 2) or `?`
  }
  for (size_t i = 0; i < parts; ++i) {
    std::vector<Dim> dims = x.dims();
    dims[axis] = partDims[i];
    ctx.setResultType(i, typeLike(x, dims));
  }
}

std::vector<Tensor> evalSplit(EvalContext &ctx) {
  const Tensor &x = ctx.input(0);
  size_t parts = ctx.op().numResults();
  checkNumOutputs(ctx, parts);
  if (x.rank() == 0) ctx.fail("cannot split a scalar");
  size_t axis = size_t(normalizeAxis(ctx, ctx.attrs().getInt("axis", 0), int64_t(x.rank())));
  int64_t size = x.shape()[axis];
  std::vector<int64_t> sizes;
  if (ctx.hasInput(1) || ctx.attrs().has("split")) {
    sizes = ctx.hasInput(1) ? ctx.input(1).toI64Vector() : ctx.attrs().getInts("split");
    checkSplitSizes(ctx, sizes, parts, size);
  } else if (std::string err = equalSplit(size, int64_t(parts), ctx.attrs().has("num_outputs"), sizes); !err.empty()) {
    ctx.failMessage(err);
  }
  size_t inner = size_t(productOf(x.shape(), axis + 1, x.rank())) * dtypeSize(x.dtype());
  int64_t outer = productOf(x.shape(), 0, axis);
  std::vector<Tensor> outs;
  size_t at = 0, inBlock = size_t(size) * inner;
  for (int64_t s : sizes) {
    std::vector<int64_t> shape = x.shape();
    shape[axis] = s;
    Tensor out(x.dtype(), shape);
    size_t block = size_t(s) * inner;
    std::byte *dst = out.mutableRawData();
    for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + size_t(o) * block, x.rawData() + size_t(o) * inBlock + at, block);
    at += block;
    outs.push_back(std::move(out));
  }
  return outs;
}

// ---------------------------------------------------------------------------
// Trilu
// ---------------------------------------------------------------------------

void inferTrilu(InferContext &ctx) {
  const Type &x = ctx.inputType(0);
  if (x.isRanked() && x.rank() < 2) ctx.fail("input must have rank >= 2, not {}", x.str());
  setSymbolic(ctx, 0, std::nullopt);
  if (ctx.numInputs() > 1 && ctx.hasInput(1)) {
    const Type &k = ctx.inputType(1);
    if (!isInteger(k.dtype()) || (k.isRanked() && k.rank() != 0)) ctx.fail("k must be an integer scalar, not {}", k.str());
  }
  ctx.setResultType(0, x);
}

std::vector<Tensor> evalTrilu(EvalContext &ctx) {
  const Tensor &x = ctx.input(0);
  if (x.rank() < 2) ctx.fail("input must have rank >= 2");
  int64_t k = ctx.hasInput(1) ? ctx.input(1).getInt(0) : 0;
  bool upper = ctx.attrs().getInt("upper", 1) != 0;
  Tensor out = x.clone();
  int64_t rows = x.shape()[x.rank() - 2], cols = x.shape()[x.rank() - 1];
  int64_t batch = productOf(x.shape(), 0, x.rank() - 2);
  size_t es = dtypeSize(x.dtype());
  std::byte *data = out.mutableRawData();
  // Upper keeps j - i >= k, lower keeps j - i <= k; the rest becomes 0.
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        if (upper ? j - i < k : j - i > k) std::memset(data + size_t((b * rows + i) * cols + j) * es, 0, es);
  return {out};
}

} // namespace

void registerShapeOps(OpRegistry &r) {
  r.add({"Reshape", "reshape to a shape tensor (0 copies an input dim unless allowzero, one -1 is inferred)", 2, 2, 1, 1,
         {{"allowzero", AttrKind::Int}}, inferReshape, evalReshape});
  r.add({"Transpose", "permute axes by `perm` (default: reverse them)", 1, 1, 1, 1, {{"perm", AttrKind::Ints}},
         inferTranspose, evalTranspose});
  r.add({"Squeeze", "remove size-1 axes (given as input 1 or `axes`; all of them if none given)", 1, 2, 1, 1,
         {{"axes", AttrKind::Ints}}, inferSqueeze, evalSqueeze});
  r.add({"Unsqueeze", "insert size-1 axes at output positions `axes` (input 1 or attribute)", 1, 2, 1, 1,
         {{"axes", AttrKind::Ints}}, inferUnsqueeze, evalUnsqueeze});
  r.add({"Shape", "the input's shape as i64[rank], optionally dims [start, end)", 1, 1, 1, 1,
         {{"end", AttrKind::Int}, {"start", AttrKind::Int}}, inferShape, evalShape});
  r.add({"Expand", "broadcast the input to a shape tensor (bidirectionally)", 2, 2, 1, 1, {}, inferExpand, evalExpand});
  r.add({"ConstantOfShape", "a tensor of a shape tensor's shape filled with `value` (default f32 0)", 1, 1, 1, 1,
         {{"value", AttrKind::Tensor}}, inferConstantOfShape, evalConstantOfShape});
  r.add({"Range", "1-D sequence start, start+delta, ... up to (excluding) limit", 3, 3, 1, 1, {}, inferRange,
         evalRange});
  r.add({"Gather", "take entries along `axis` at integer indices (negative count from the back)", 2, 2, 1, 1,
         {{"axis", AttrKind::Int}}, inferGather, evalGather});
  r.add({"Concat", "concatenate inputs along `axis`", 1, -1, 1, 1, {{"axis", AttrKind::Int, true}}, inferConcat,
         evalConcat});
  r.add({"Slice", "strided slice by starts/ends/axes/steps inputs (clamped; negative steps go backwards)", 3, 5, 1, 1,
         {}, inferSlice, evalSlice});
  r.add({"Split", "split along `axis` into parts sized by `split` (input or attribute) or equal parts", 1, 2, 1, -1,
         {{"axis", AttrKind::Int}, {"num_outputs", AttrKind::Int}, {"split", AttrKind::Ints}}, inferSplit,
         evalSplit});
  r.add({"Trilu", "keep the upper (or lower) triangle of the last two axes, offset by k", 1, 2, 1, 1,
         {{"upper", AttrKind::Int}}, inferTrilu, evalTrilu});
}

} // namespace ternc
