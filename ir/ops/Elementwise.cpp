// Elementwise ops: unary math, broadcasting arithmetic, comparison and logic,
// Min/Max, Where, Clip, Cast/CastLike and Identity, with ONNX semantics.
//
// Every element is computed in one of three C++ types — double for the float
// dtypes, int64_t for signed ints and bool, uint64_t for unsigned ints — and
// converted to the result dtype when stored, so each kernel below is
// instantiated at most three times whatever the number of dtypes.
#include "ir/ops/OpHelpers.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace ternc {

namespace {
using namespace ops;

// ---------------------------------------------------------------------------
// Dtype classes
// ---------------------------------------------------------------------------

/// Which dtypes an operand accepts (the ONNX type constraint, simplified).
enum class Accepts { Float, SignedNumeric, Numeric, NumericOrBool, Bool };

bool isNumeric(DType dt) { return isFloat(dt) || isInteger(dt); }

bool accepts(Accepts a, DType dt) {
  switch (a) {
  case Accepts::Float: return isFloat(dt);
  case Accepts::SignedNumeric: return isFloat(dt) || isSignedInt(dt);
  case Accepts::Numeric: return isNumeric(dt);
  case Accepts::NumericOrBool: return isNumeric(dt) || dt == DType::Bool;
  case Accepts::Bool: return dt == DType::Bool;
  }
  return false;
}

std::string_view describe(Accepts a) {
  switch (a) {
  case Accepts::Float: return "a floating-point";
  case Accepts::SignedNumeric: return "a float or signed integer";
  case Accepts::Numeric: return "a numeric";
  case Accepts::NumericOrBool: return "a numeric or bool";
  case Accepts::Bool: return "a bool";
  }
  return "?";
}

void checkOperand(const InferContext &ctx, size_t i, Accepts a) {
  DType dt = ctx.inputType(i).dtype();
  if (!accepts(a, dt)) ctx.fail("operand {} must be {} tensor, got {}", i, describe(a), dtypeName(dt));
}

/// All present operands in [first, end) must share operand `first`'s dtype.
void checkSameDTypes(const InferContext &ctx, size_t first, size_t end) {
  DType dt = ctx.inputType(first).dtype();
  for (size_t i = first + 1; i < end && i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i) && ctx.inputType(i).dtype() != dt)
      ctx.fail("operand dtypes differ: {} vs {}", dtypeName(dt), dtypeName(ctx.inputType(i).dtype()));
}

// ---------------------------------------------------------------------------
// Compute domains: loading a tensor into double / int64_t / uint64_t and
// storing back with ONNX conversion rules.
// ---------------------------------------------------------------------------

/// Calls f with a value of the compute type for dtype `dt`.
template <typename F> decltype(auto) visitDomain(DType dt, F &&f) {
  if (isFloat(dt)) return f(double{});
  if (isUnsignedInt(dt)) return f(uint64_t{});
  return f(int64_t{});  // signed ints, bool, tern
}

template <typename C> std::vector<C> load(const Tensor &t) {
  std::vector<C> out(size_t(t.numElements()));
  switch (t.dtype()) {
  case DType::F16:
    for (size_t i = 0; i < out.size(); ++i) out[i] = C(halfToFloat(t.data<uint16_t>()[i]));
    break;
  case DType::BF16:
    for (size_t i = 0; i < out.size(); ++i) out[i] = C(bf16ToFloat(t.data<uint16_t>()[i]));
    break;
  case DType::Bool:
    for (size_t i = 0; i < out.size(); ++i) out[i] = t.data<uint8_t>()[i] ? C(1) : C(0);
    break;
  default:
    visitNumeric(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T *p = t.data<T>();
      for (size_t i = 0; i < out.size(); ++i) out[i] = C(p[i]);
    });
  }
  return out;
}

/// Converts one computed value to storage type T. Float to integer
/// truncates toward zero (NaN gives 0; values beyond the int64 range, which
/// ONNX leaves undefined, saturate); integer narrowing wraps as in C.
template <typename T, typename C> T convertElement(C v) {
  if constexpr (std::is_floating_point_v<C> && std::is_integral_v<T>) {
    if (std::isnan(v)) return T(0);
    double t = std::trunc(v);
    if (t >= -9223372036854775808.0 && t < 9223372036854775808.0) return T(int64_t(t));
    if constexpr (std::is_unsigned_v<T>)
      if (t >= 0 && t < 18446744073709551616.0) return T(uint64_t(t));
    return t < 0 ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  } else {
    return T(v);
  }
}

template <typename C> Tensor store(DType dt, std::vector<int64_t> shape, const std::vector<C> &v) {
  Tensor out(dt, std::move(shape));
  switch (dt) {
  case DType::F16:
    for (size_t i = 0; i < v.size(); ++i) out.mutableData<uint16_t>()[i] = floatToHalf(float(v[i]));
    break;
  case DType::BF16:
    for (size_t i = 0; i < v.size(); ++i) out.mutableData<uint16_t>()[i] = floatToBF16(float(v[i]));
    break;
  case DType::Bool:
    for (size_t i = 0; i < v.size(); ++i) out.mutableData<uint8_t>()[i] = v[i] != C(0);
    break;
  default:
    visitNumeric(dt, [&](auto tag) {
      using T = decltype(tag);
      T *p = out.mutableData<T>();
      for (size_t i = 0; i < v.size(); ++i) p[i] = convertElement<T>(v[i]);
    });
  }
  return out;
}

template <typename C> bool isNaN(C v) {
  if constexpr (std::is_floating_point_v<C>) return std::isnan(v);
  else return false;
}

// Signed int64 arithmetic wraps (through uint64) instead of overflowing,
// matching the two's-complement results narrower ints get on store.
template <typename C> C wrapAdd(C a, C b) {
  if constexpr (std::is_same_v<C, int64_t>) return int64_t(uint64_t(a) + uint64_t(b));
  else return a + b;
}
template <typename C> C wrapSub(C a, C b) {
  if constexpr (std::is_same_v<C, int64_t>) return int64_t(uint64_t(a) - uint64_t(b));
  else return a - b;
}
template <typename C> C wrapMul(C a, C b) {
  if constexpr (std::is_same_v<C, int64_t>) return int64_t(uint64_t(a) * uint64_t(b));
  else return a * b;
}

// ---------------------------------------------------------------------------
// Generic kernels
// ---------------------------------------------------------------------------

/// out = f(a, b) elementwise under multidirectional broadcasting, both
/// operands computed as C.
template <typename C, typename F>
Tensor broadcastBinary(const EvalContext &ctx, const Tensor &a, const Tensor &b, DType outDType, F &&f) {
  std::vector<int64_t> shape = broadcastShapes(ctx, a.shape(), b.shape());
  std::vector<C> x = load<C>(a), y = load<C>(b);
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<C> out(static_cast<size_t>(n));
  forEachBroadcast(shape, {broadcastStrides(a.shape(), shape), broadcastStrides(b.shape(), shape)},
                   [&](int64_t i, const std::vector<int64_t> &off) { out[size_t(i)] = C(f(x[off[0]], y[off[1]])); });
  return store<C>(outDType, std::move(shape), out);
}

/// out = f(x) elementwise, computed as C.
template <typename C, typename F> Tensor mapUnary(const Tensor &x, DType outDType, F &&f) {
  std::vector<C> v = load<C>(x);
  for (C &e : v) e = C(f(e));
  return store<C>(outDType, x.shape(), v);
}

// ---------------------------------------------------------------------------
// Symbolic shape values
// ---------------------------------------------------------------------------

using DimFold = Dim (*)(const Dim &, const Dim &);

void clearSymbolic(InferContext &ctx) { ctx.op().result(0)->setSymbolicValue(std::nullopt); }

/// True if result 0 is a scalar or 1-D integer-like tensor, the only kind
/// that carries a symbolic value.
bool resultCanCarrySymbolic(InferContext &ctx) {
  const Type &t = ctx.op().result(0)->type();
  return t.isRanked() && t.rank() <= 1 && (isInteger(t.dtype()) || t.dtype() == DType::Bool);
}

/// Combines two symbolic contents elementwise with length-1 broadcasting;
/// nullopt if the lengths do not broadcast.
std::optional<std::vector<Dim>> combineSymbolic(const std::vector<Dim> &a, const std::vector<Dim> &b, DimFold fold) {
  if (a.size() != b.size() && a.size() != 1 && b.size() != 1) return std::nullopt;
  size_t n = a.size() == 1 ? b.size() : a.size();
  std::vector<Dim> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = fold(a[a.size() == 1 ? 0 : i], b[b.size() == 1 ? 0 : i]);
  return out;
}

/// Folds the symbolic contents of every operand into result 0 (cleared when
/// any operand's contents are unknown).
void foldSymbolic(InferContext &ctx, DimFold fold) {
  clearSymbolic(ctx);
  if (!fold || !resultCanCarrySymbolic(ctx)) return;
  auto acc = ctx.symbolicInput(0);
  for (size_t i = 1; i < ctx.numInputs() && acc; ++i) {
    auto next = ctx.symbolicInput(i);
    acc = next ? combineSymbolic(*acc, *next, fold) : std::nullopt;
  }
  if (acc) ctx.setResultSymbolicValue(0, std::move(*acc));
}

Dim dimAdd(const Dim &a, const Dim &b) { return a + b; }
Dim dimSub(const Dim &a, const Dim &b) { return a - b; }
Dim dimMul(const Dim &a, const Dim &b) { return a * b; }
/// ONNX integer Div truncates; floorDiv agrees for the non-negative values
/// that symbolic dims stand for, so it is used only when not both static.
Dim dimDiv(const Dim &a, const Dim &b) {
  if (a.isStatic() && b.isStatic()) {
    if (b.value() == 0) return Dim::unknown();
    return Dim(a.value() / b.value());
  }
  return floorDiv(a, b);
}
/// True if `d` cannot be negative: a polynomial over sizes (symbols are
/// >= 0) with no negative coefficient.
bool provablyNonNegative(const Dim &d) {
  if (d.isUnknown()) return false;
  for (const auto &term : d.terms())
    if (term.second < 0) return false;
  return true;
}
Dim dimEqual(const Dim &a, const Dim &b) {
  if (a.isStatic() && b.isStatic()) return Dim(a.value() == b.value() ? 1 : 0);
  if (!a.isUnknown() && a == b) return Dim(1);
  // A size never equals a negative constant (exporters test shape == -1).
  if ((a.isStatic() && a.value() < 0 && provablyNonNegative(b)) ||
      (b.isStatic() && b.value() < 0 && provablyNonNegative(a)))
    return Dim(0);
  return Dim::unknown();
}
Dim dimMax(const Dim &a, const Dim &b) {
  if (a.isStatic() && b.isStatic()) return Dim(std::max(a.value(), b.value()));
  return a == b ? a : Dim::unknown();
}
Dim dimMin(const Dim &a, const Dim &b) {
  if (a.isStatic() && b.isStatic()) return Dim(std::min(a.value(), b.value()));
  return a == b ? a : Dim::unknown();
}

// ---------------------------------------------------------------------------
// Op constructors
// ---------------------------------------------------------------------------

OpDef declare(std::string name, std::string summary, int minInputs, int maxInputs) {
  OpDef d;
  d.name = std::move(name);
  d.summary = std::move(summary);
  d.minInputs = minInputs;
  d.maxInputs = maxInputs;
  return d;
}

/// A unary op on floats, computed in double.
OpDef floatUnary(std::string name, std::string summary, double (*f)(double)) {
  OpDef d = declare(std::move(name), std::move(summary), 1, 1);
  d.infer = [](InferContext &ctx) {
    checkOperand(ctx, 0, Accepts::Float);
    ctx.setResultType(0, ctx.inputType(0));
  };
  d.eval = [f](EvalContext &ctx) -> std::vector<Tensor> {
    return {mapUnary<double>(ctx.input(0), ctx.input(0).dtype(), f)};
  };
  return d;
}

/// A unary op on any accepted dtype, computed in that dtype's domain; `f`
/// is generic over the compute type.
template <typename F> OpDef numericUnary(std::string name, std::string summary, Accepts acc, F f) {
  OpDef d = declare(std::move(name), std::move(summary), 1, 1);
  d.infer = [acc](InferContext &ctx) {
    checkOperand(ctx, 0, acc);
    ctx.setResultType(0, ctx.inputType(0));
    clearSymbolic(ctx);
  };
  d.eval = [f](EvalContext &ctx) -> std::vector<Tensor> {
    const Tensor &x = ctx.input(0);
    return {visitDomain(x.dtype(), [&](auto c) { return mapUnary<decltype(c)>(x, x.dtype(), f); })};
  };
  return d;
}

/// A broadcasting binary op whose operands share one dtype; the result is
/// bool for comparisons, else that dtype. `fold` propagates shape values.
template <typename F>
OpDef broadcastOp(std::string name, std::string summary, Accepts acc, bool toBool, DimFold fold, F f) {
  OpDef d = declare(std::move(name), std::move(summary), 2, 2);
  d.infer = [acc, toBool, fold](InferContext &ctx) {
    checkOperand(ctx, 0, acc);
    checkSameDTypes(ctx, 0, 2);
    inferBroadcast(ctx, toBool ? std::optional(DType::Bool) : std::nullopt);
    foldSymbolic(ctx, fold);
  };
  d.eval = [f, toBool](EvalContext &ctx) -> std::vector<Tensor> {
    const Tensor &a = ctx.input(0), &b = ctx.input(1);
    DType out = toBool ? DType::Bool : a.dtype();
    return {visitDomain(a.dtype(), [&](auto c) { return broadcastBinary<decltype(c)>(ctx, a, b, out, f); })};
  };
  return d;
}

/// Min / Max: 1..N inputs folded pairwise with broadcasting. NaN wins, as
/// with numpy's minimum/maximum.
template <typename F> OpDef variadicOp(std::string name, std::string summary, DimFold fold, F pick) {
  OpDef d = declare(std::move(name), std::move(summary), 1, -1);
  d.infer = [fold](InferContext &ctx) {
    for (size_t i = 0; i < ctx.numInputs(); ++i)
      if (!ctx.hasInput(i)) ctx.fail("operand {} is missing", i);
    checkOperand(ctx, 0, Accepts::Numeric);
    checkSameDTypes(ctx, 0, ctx.numInputs());
    inferBroadcast(ctx);
    foldSymbolic(ctx, fold);
  };
  d.eval = [pick](EvalContext &ctx) -> std::vector<Tensor> {
    Tensor acc = ctx.input(0);
    auto choose = [&](auto a, auto b) { return isNaN(a) ? a : isNaN(b) ? b : pick(a, b); };
    for (size_t i = 1; i < ctx.numInputs(); ++i)
      acc = visitDomain(acc.dtype(), [&](auto c) {
        return broadcastBinary<decltype(c)>(ctx, acc, ctx.input(i), acc.dtype(), choose);
      });
    return {acc};
  };
  return d;
}

// ---------------------------------------------------------------------------
// Ops with their own shape: Pow, Where, Clip, Cast, CastLike, Identity
// ---------------------------------------------------------------------------

/// Exact integer power by squaring (wrapping like repeated C multiplication).
int64_t intPow(const EvalContext &ctx, int64_t base, int64_t exp) {
  if (exp < 0) {
    if (base == 0) ctx.fail("integer Pow of 0 to the negative exponent {}", exp);
    if (base == 1) return 1;
    if (base == -1) return exp % 2 == 0 ? 1 : -1;
    return 0;  // |base| >= 2: 1/base^n truncates to 0
  }
  int64_t r = 1;
  for (; exp > 0; exp >>= 1) {
    if (exp & 1) r = wrapMul(r, base);
    base = wrapMul(base, base);
  }
  return r;
}

OpDef powOp() {
  OpDef d = declare("Pow", "x ^ exponent with broadcasting; the result has the base's dtype", 2, 2);
  d.infer = [](InferContext &ctx) {
    checkOperand(ctx, 0, Accepts::SignedNumeric);
    checkOperand(ctx, 1, Accepts::Numeric);
    inferBroadcast(ctx);
    clearSymbolic(ctx);
  };
  d.eval = [](EvalContext &ctx) -> std::vector<Tensor> {
    const Tensor &a = ctx.input(0), &b = ctx.input(1);
    // A float on either side computes in double (an integer base then
    // truncates toward zero on store, as ONNX's int64 ^ float32 tests expect).
    if (isFloat(a.dtype()) || isFloat(b.dtype()))
      return {broadcastBinary<double>(ctx, a, b, a.dtype(), [](double x, double y) { return std::pow(x, y); })};
    return {broadcastBinary<int64_t>(ctx, a, b, a.dtype(),
                                     [&](int64_t x, int64_t y) { return intPow(ctx, x, y); })};
  };
  return d;
}

OpDef whereOp() {
  OpDef d = declare("Where", "condition ? x : y elementwise, with broadcasting of all three", 3, 3);
  d.infer = [](InferContext &ctx) {
    checkOperand(ctx, 0, Accepts::Bool);
    checkSameDTypes(ctx, 1, 3);
    inferBroadcast(ctx, ctx.inputType(1).dtype());
    clearSymbolic(ctx);
    if (!resultCanCarrySymbolic(ctx)) return;
    auto c = ctx.symbolicInput(0), x = ctx.symbolicInput(1), y = ctx.symbolicInput(2);
    if (!c || !x || !y) return;
    size_t n = std::max({c->size(), x->size(), y->size()});
    for (auto *v : {&*c, &*x, &*y})
      if (v->size() != n && v->size() != 1) return;
    auto at = [&](const std::vector<Dim> &v, size_t k) { return v[v.size() == 1 ? 0 : k]; };
    std::vector<Dim> out(n);
    for (size_t k = 0; k < n; ++k) {
      Dim cond = at(*c, k), a = at(*x, k), b = at(*y, k);
      if (cond.isStatic()) out[k] = cond.value() != 0 ? a : b;
      else out[k] = (!a.isUnknown() && a == b) ? a : Dim::unknown();
    }
    ctx.setResultSymbolicValue(0, std::move(out));
  };
  d.eval = [](EvalContext &ctx) -> std::vector<Tensor> {
    const Tensor &c = ctx.input(0), &x = ctx.input(1), &y = ctx.input(2);
    std::vector<int64_t> shape = broadcastShapes(ctx, broadcastShapes(ctx, c.shape(), x.shape()), y.shape());
    Tensor out(x.dtype(), shape);
    // Elements are copied as bytes, so every dtype takes the same path.
    size_t width = dtypeSize(x.dtype());
    const uint8_t *cp = c.data<uint8_t>();
    const std::byte *xp = x.rawData(), *yp = y.rawData();
    std::byte *op = out.mutableRawData();
    forEachBroadcast(shape,
                     {broadcastStrides(c.shape(), shape), broadcastStrides(x.shape(), shape),
                      broadcastStrides(y.shape(), shape)},
                     [&](int64_t i, const std::vector<int64_t> &off) {
                       const std::byte *src = cp[off[0]] ? xp + off[1] * width : yp + off[2] * width;
                       std::memcpy(op + i * width, src, width);
                     });
    return {out};
  };
  return d;
}

template <typename C> Tensor clipIn(const EvalContext &ctx) {
  const Tensor &x = ctx.input(0);
  auto bound = [&](size_t i) -> std::optional<C> {
    if (!ctx.hasInput(i)) return std::nullopt;
    if (ctx.input(i).numElements() != 1) ctx.fail("operand {} must be a scalar", i);
    return load<C>(ctx.input(i))[0];
  };
  std::optional<C> lo = bound(1), hi = bound(2);
  // With min > max every element becomes max, as ONNX specifies.
  return mapUnary<C>(x, x.dtype(), [&](C v) {
    if (lo && v < *lo) v = *lo;
    if (hi && v > *hi) v = *hi;
    return v;
  });
}

OpDef clipOp() {
  OpDef d = declare("Clip", "clamps to the optional scalar operands min and max", 1, 3);
  d.infer = [](InferContext &ctx) {
    checkOperand(ctx, 0, Accepts::Numeric);
    checkSameDTypes(ctx, 0, 3);
    for (size_t i = 1; i < ctx.numInputs(); ++i) {
      if (!ctx.hasInput(i)) continue;
      auto n = ctx.inputType(i).numElements();
      if (n && *n != 1) ctx.fail("operand {} ({}) must be a scalar", i, i == 1 ? "min" : "max");
    }
    ctx.setResultType(0, ctx.inputType(0));
  };
  d.eval = [](EvalContext &ctx) -> std::vector<Tensor> {
    return {visitDomain(ctx.input(0).dtype(), [&](auto c) { return clipIn<decltype(c)>(ctx); })};
  };
  return d;
}

Tensor castTensor(const Tensor &x, DType to) {
  if (x.dtype() == to) return x;
  return visitDomain(x.dtype(), [&](auto c) { return store<decltype(c)>(to, x.shape(), load<decltype(c)>(x)); });
}

/// Shared inference for Cast and CastLike: converts operand 0 to `to`.
void inferCast(InferContext &ctx, DType to) {
  DType from = ctx.inputType(0).dtype();
  if (to == DType::Tern) ctx.fail("cannot cast {} to tern (ternary weights come from the ternarize pass)",
                                  dtypeName(from));
  ctx.setResultType(0, ctx.inputType(0).withDType(to));
  clearSymbolic(ctx);
  bool intLike = isInteger(from) || from == DType::Bool;
  if (intLike && isInteger(to) && resultCanCarrySymbolic(ctx))
    if (auto v = ctx.symbolicInput(0)) ctx.setResultSymbolicValue(0, *v);
}

OpDef castOp() {
  OpDef d = declare("Cast", "converts to dtype `to` (float to int truncates, to bool is != 0)", 1, 1);
  d.attrs = {{"to", AttrKind::DType, true}};
  d.infer = [](InferContext &ctx) {
    const AttrValue *to = ctx.attrs().find("to");
    if (!to || !std::holds_alternative<DType>(*to)) ctx.fail("attribute 'to' must be a dtype");
    inferCast(ctx, std::get<DType>(*to));
  };
  d.eval = [](EvalContext &ctx) -> std::vector<Tensor> {
    return {castTensor(ctx.input(0), std::get<DType>(*ctx.attrs().find("to")))};
  };
  return d;
}

OpDef castLikeOp() {
  OpDef d = declare("CastLike", "converts operand 0 to the dtype of operand 1", 2, 2);
  d.infer = [](InferContext &ctx) { inferCast(ctx, ctx.inputType(1).dtype()); };
  d.eval = [](EvalContext &ctx) -> std::vector<Tensor> {
    return {castTensor(ctx.input(0), ctx.input(1).dtype())};
  };
  return d;
}

OpDef identityOp() {
  OpDef d = declare("Identity", "returns its operand", 1, 1);
  d.infer = [](InferContext &ctx) {
    ctx.setResultType(0, ctx.inputType(0));
    clearSymbolic(ctx);
    if (auto v = ctx.symbolicInput(0); v && resultCanCarrySymbolic(ctx)) ctx.setResultSymbolicValue(0, *v);
  };
  d.eval = [](EvalContext &ctx) -> std::vector<Tensor> { return {ctx.input(0)}; };
  return d;
}

OpDef divOp() {
  OpDef d = broadcastOp("Div", "a / b with broadcasting; integers truncate toward zero", Accepts::Numeric, false,
                        dimDiv, [](auto a, auto b) {
                          using C = decltype(a);
                          if constexpr (std::is_integral_v<C>) {
                            if (b == 0) return C(0);  // not reached: eval checks divisors first
                            if constexpr (std::is_signed_v<C>)
                              if (b == -1) return wrapSub(C(0), a);  // INT_MIN / -1 wraps
                          }
                          return C(a / b);
                        });
  EvalFn divide = d.eval;
  d.eval = [divide](EvalContext &ctx) {
    const Tensor &b = ctx.input(1);
    if (isInteger(b.dtype()))
      for (int64_t i = 0; i < b.numElements(); ++i)
        if (b.getInt(i) == 0) ctx.fail("integer division by zero");
    return divide(ctx);
  };
  return d;
}

OpDef negOp() {
  OpDef d = numericUnary("Neg", "-x", Accepts::SignedNumeric, [](auto x) { return wrapSub(decltype(x)(0), x); });
  InferFn base = d.infer;
  d.infer = [base](InferContext &ctx) {
    base(ctx);
    if (!resultCanCarrySymbolic(ctx)) return;
    if (auto v = ctx.symbolicInput(0)) {
      for (Dim &e : *v) e = Dim(0) - e;
      ctx.setResultSymbolicValue(0, *v);
    }
  };
  return d;
}

// ---------------------------------------------------------------------------
// Float math
// ---------------------------------------------------------------------------

double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
double reciprocal(double x) { return 1.0 / x; }
// nearbyint rounds halves to even in the default rounding mode, as ONNX Round.
double roundHalfEven(double x) { return std::nearbyint(x); }
double sqrtOf(double x) { return std::sqrt(x); }
double expOf(double x) { return std::exp(x); }
double logOf(double x) { return std::log(x); }
double erfOf(double x) { return std::erf(x); }
double tanhOf(double x) { return std::tanh(x); }
double cosOf(double x) { return std::cos(x); }
double sinOf(double x) { return std::sin(x); }
double floorOf(double x) { return std::floor(x); }
double ceilOf(double x) { return std::ceil(x); }

} // namespace

void registerElementwiseOps(OpRegistry &r) {
  // Every op here maps operand elements to the result element at the same
  // (broadcast) index: codegen fuses chains of them into one loop.
  auto add = [&r](OpDef d) {
    d.elementwise = true;
    r.add(std::move(d));
  };
  add(floatUnary("Sqrt", "square root", sqrtOf));
  add(floatUnary("Reciprocal", "1 / x", reciprocal));
  add(floatUnary("Exp", "e ^ x", expOf));
  add(floatUnary("Log", "natural logarithm", logOf));
  add(floatUnary("Erf", "error function", erfOf));
  add(floatUnary("Tanh", "hyperbolic tangent", tanhOf));
  add(floatUnary("Sigmoid", "1 / (1 + e^-x)", sigmoid));
  add(floatUnary("Cos", "cosine", cosOf));
  add(floatUnary("Sin", "sine", sinOf));
  add(floatUnary("Floor", "rounds toward -inf", floorOf));
  add(floatUnary("Ceil", "rounds toward +inf", ceilOf));
  add(floatUnary("Round", "rounds to nearest, halves to even", roundHalfEven));

  add(negOp());
  add(numericUnary("Abs", "|x|", Accepts::Numeric, [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>) return std::fabs(x);
    else if constexpr (std::is_unsigned_v<C>) return x;
    else return x < 0 ? wrapSub(C(0), x) : x;
  }));
  add(numericUnary("Sign", "-1, 0 or 1 by the sign of x (NaN stays NaN)", Accepts::Numeric, [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_unsigned_v<C>) return x > 0 ? C(1) : C(0);
    else return x > C(0) ? C(1) : x < C(0) ? C(-1) : x;
  }));
  add(numericUnary("Relu", "max(x, 0)", Accepts::SignedNumeric, [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_unsigned_v<C>) return x;  // not reached: the infer rejects unsigned
    else return x < C(0) ? C(0) : x;
  }));
  add(numericUnary("Not", "logical not", Accepts::Bool, [](auto x) { return x == 0; }));
  add(identityOp());

  add(broadcastOp("Add", "a + b with broadcasting", Accepts::Numeric, false, dimAdd,
                    [](auto a, auto b) { return wrapAdd(a, b); }));
  add(broadcastOp("Sub", "a - b with broadcasting", Accepts::Numeric, false, dimSub,
                    [](auto a, auto b) { return wrapSub(a, b); }));
  add(broadcastOp("Mul", "a * b with broadcasting", Accepts::Numeric, false, dimMul,
                    [](auto a, auto b) { return wrapMul(a, b); }));
  add(divOp());
  add(powOp());
  add(broadcastOp("Equal", "a == b with broadcasting", Accepts::NumericOrBool, true, dimEqual,
                    [](auto a, auto b) { return a == b; }));
  add(broadcastOp("Less", "a < b with broadcasting", Accepts::Numeric, true, nullptr,
                    [](auto a, auto b) { return a < b; }));
  add(broadcastOp("Greater", "a > b with broadcasting", Accepts::Numeric, true, nullptr,
                    [](auto a, auto b) { return a > b; }));
  add(broadcastOp("LessOrEqual", "a <= b with broadcasting", Accepts::Numeric, true, nullptr,
                    [](auto a, auto b) { return a <= b; }));
  add(broadcastOp("GreaterOrEqual", "a >= b with broadcasting", Accepts::Numeric, true, nullptr,
                    [](auto a, auto b) { return a >= b; }));
  add(broadcastOp("And", "logical and with broadcasting", Accepts::Bool, true, nullptr,
                    [](auto a, auto b) { return a != 0 && b != 0; }));
  add(broadcastOp("Or", "logical or with broadcasting", Accepts::Bool, true, nullptr,
                    [](auto a, auto b) { return a != 0 || b != 0; }));

  add(variadicOp("Min", "elementwise minimum of 1..N operands with broadcasting", dimMin,
                   [](auto a, auto b) { return b < a ? b : a; }));
  add(variadicOp("Max", "elementwise maximum of 1..N operands with broadcasting", dimMax,
                   [](auto a, auto b) { return a < b ? b : a; }));
  add(whereOp());
  add(clipOp());
  add(castOp());
  add(castLikeOp());
}

} // namespace ternc
