// NN ops: MatMul, Gemm, MatMulInteger, Softmax, LogSoftmax,
// LayerNormalization, QuantizeLinear and DequantizeLinear (ONNX semantics).
#include "ir/ops/OpHelpers.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>

namespace ternc {
namespace {

using ops::normalizeAxis;

constexpr std::initializer_list<DType> kMatMulTypes = {DType::F32, DType::F64, DType::F16, DType::BF16,
                                                       DType::I32, DType::I64, DType::U32, DType::U64};
constexpr std::initializer_list<DType> kFloatTypes = {DType::F32, DType::F64, DType::F16, DType::BF16};

/// Fails unless input `i` (called `name` in messages) has one of `allowed`.
DType requireDType(const InferContext &ctx, size_t i, std::string_view name, std::initializer_list<DType> allowed) {
  DType dt = ctx.inputType(i).dtype();
  if (std::find(allowed.begin(), allowed.end(), dt) != allowed.end()) return dt;
  std::string names;
  for (DType a : allowed) names += fmt::format("{}{}", names.empty() ? "" : ", ", dtypeName(a));
  ctx.fail("{} has dtype {}, expected one of {}", name, dtypeName(dt), names);
}

/// Fails unless inputs `i` and `j` have the same dtype.
void requireSameDType(const InferContext &ctx, size_t i, std::string_view ni, size_t j, std::string_view nj) {
  DType a = ctx.inputType(i).dtype(), b = ctx.inputType(j).dtype();
  if (a != b) ctx.fail("{} and {} must have the same dtype, got {} and {}", ni, nj, dtypeName(a), dtypeName(b));
}

std::string shapeStr(const std::vector<int64_t> &s) { return fmt::format("[{}]", fmt::join(s, ",")); }

int64_t product(const std::vector<int64_t> &s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

/// True if `small` is unidirectionally broadcastable to `big` as far as the
/// static dims tell (rank no larger; each static dim 1 or equal).
bool mayBroadcastTo(const std::vector<Dim> &small, const std::vector<Dim> &big) {
  if (small.size() > big.size()) return false;
  size_t off = big.size() - small.size();
  for (size_t i = 0; i < small.size(); ++i) {
    const Dim &s = small[i], &b = big[off + i];
    if (s.isStatic() && b.isStatic() && s.value() != 1 && s.value() != b.value()) return false;
  }
  return true;
}

/// Symbolic dims as the IR prints them: `[n,128]` (a type string minus "f32").
std::string dimsStr(const std::vector<Dim> &d) { return Type(DType::F32, d).str().substr(3); }

/// Fails unless `shape` broadcasts unidirectionally to `target`.
void requireBroadcastTo(const EvalContext &ctx, std::string_view what, const std::vector<int64_t> &shape,
                        const std::vector<int64_t> &target) {
  bool ok = shape.size() <= target.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) {
    int64_t s = shape[i], t = target[target.size() - shape.size() + i];
    ok = s == 1 || s == t;
  }
  if (!ok) ctx.fail("{} of shape {} cannot be broadcast to {}", what, shapeStr(shape), shapeStr(target));
}

/// Rounds `v` to the precision of float dtype `dt`.
double roundTo(double v, DType dt) {
  switch (dt) {
  case DType::F32: return float(v);
  case DType::F16: return halfToFloat(floatToHalf(float(v)));
  case DType::BF16: return bf16ToFloat(floatToBF16(float(v)));
  default: return v;
  }
}

/// Converts between float dtypes (used to compute f16/bf16 in f32).
Tensor castFloat(const Tensor &t, DType to) {
  Tensor out(to, t.shape());
  for (int64_t i = 0, n = t.numElements(); i < n; ++i) out.setDouble(i, t.getDouble(i));
  return out;
}

// ---------------------------------------------------------------------------
// MatMul, Gemm, MatMulInteger
// ---------------------------------------------------------------------------

/// Result dims of numpy matmul on symbolic dims; nullopt if an operand is
/// unranked.
std::optional<std::vector<Dim>> inferMatMulDims(const InferContext &ctx, const Type &a, const Type &b) {
  if (!a.isRanked() || !b.isRanked()) return std::nullopt;
  if (a.rank() == 0 || b.rank() == 0) ctx.fail("operands must have rank >= 1, got {} and {}", a.str(), b.str());
  std::vector<Dim> ad = a.dims(), bd = b.dims();
  if (ad.size() == 1) ad.insert(ad.begin(), Dim(1));
  if (bd.size() == 1) bd.push_back(Dim(1));
  const Dim &ka = ad.back(), &kb = bd[bd.size() - 2];
  if (ka.isStatic() && kb.isStatic() && ka.value() != kb.value())
    ctx.fail("inner dimensions differ: {} vs {} ({} @ {})", ka.value(), kb.value(), a.str(), b.str());
  std::vector<Dim> out =
      ops::broadcastDims(ctx, std::vector<Dim>(ad.begin(), ad.end() - 2), std::vector<Dim>(bd.begin(), bd.end() - 2));
  if (a.rank() > 1) out.push_back(ad[ad.size() - 2]);
  if (b.rank() > 1) out.push_back(bd.back());
  return out;
}

/// out[i,:] = sum_k a[i,k] * b[k,:], accumulated in Acc (double for floats;
/// uint64 for integers, which wraps like two's complement), in i-k-j order
/// so that the inner loop streams rows of b.
template <typename T, typename Acc>
void multiplyMatrices(const T *a, const T *b, T *out, int64_t m, int64_t k, int64_t n, std::vector<Acc> &row) {
  for (int64_t i = 0; i < m; ++i) {
    std::fill(row.begin(), row.end(), Acc(0));
    for (int64_t kk = 0; kk < k; ++kk) {
      Acc av = Acc(a[i * k + kk]);
      const T *brow = b + kk * n;
      for (int64_t j = 0; j < n; ++j) row[size_t(j)] += av * Acc(brow[j]);
    }
    for (int64_t j = 0; j < n; ++j) out[i * n + j] = T(row[size_t(j)]);
  }
}

template <typename T, typename Acc>
void multiplyBatches(const Tensor &a, const Tensor &b, Tensor &out, const std::vector<int64_t> &batch,
                     const std::vector<std::vector<int64_t>> &batchStrides, int64_t m, int64_t k, int64_t n) {
  const T *ap = a.data<T>(), *bp = b.data<T>();
  T *op = out.mutableData<T>();
  std::vector<Acc> row(static_cast<size_t>(n));
  ops::forEachBroadcast(batch, batchStrides, [&](int64_t flat, const std::vector<int64_t> &off) {
    multiplyMatrices<T, Acc>(ap + off[0] * m * k, bp + off[1] * k * n, op + flat * m * n, m, k, n, row);
  });
}

/// numpy.matmul of two tensors of the same dtype: 1-D operands are promoted
/// to matrices and the added dim removed, batch dims broadcast.
Tensor matmul(const EvalContext &ctx, const Tensor &a, const Tensor &b) {
  if (a.rank() == 0 || b.rank() == 0) ctx.fail("operands must have rank >= 1");
  DType dt = a.dtype();
  if (dt == DType::F16 || dt == DType::BF16)
    return castFloat(matmul(ctx, castFloat(a, DType::F32), castFloat(b, DType::F32)), dt);
  std::vector<int64_t> as = a.shape(), bs = b.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k) ctx.fail("inner dimensions differ: {} vs {}", k, bs[bs.size() - 2]);
  std::vector<int64_t> aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
  std::vector<int64_t> batch = ops::broadcastShapes(ctx, aBatch, bBatch);
  std::vector<std::vector<int64_t>> strides = {ops::broadcastStrides(aBatch, batch),
                                               ops::broadcastStrides(bBatch, batch)};
  std::vector<int64_t> outShape = batch;
  if (a.rank() > 1) outShape.push_back(m);
  if (b.rank() > 1) outShape.push_back(n);
  std::vector<int64_t> fullShape = batch;
  fullShape.insert(fullShape.end(), {m, n});
  Tensor out(dt, fullShape);
  switch (dt) {
  case DType::F32: multiplyBatches<float, double>(a, b, out, batch, strides, m, k, n); break;
  case DType::F64: multiplyBatches<double, double>(a, b, out, batch, strides, m, k, n); break;
  case DType::I32: multiplyBatches<int32_t, uint64_t>(a, b, out, batch, strides, m, k, n); break;
  case DType::I64: multiplyBatches<int64_t, uint64_t>(a, b, out, batch, strides, m, k, n); break;
  case DType::U32: multiplyBatches<uint32_t, uint64_t>(a, b, out, batch, strides, m, k, n); break;
  case DType::U64: multiplyBatches<uint64_t, uint64_t>(a, b, out, batch, strides, m, k, n); break;
  default: ctx.fail("unsupported dtype {}", dtypeName(dt));
  }
  return out.reshaped(outShape);
}

void inferMatMul(InferContext &ctx) {
  DType dt = requireDType(ctx, 0, "A", kMatMulTypes);
  requireSameDType(ctx, 0, "A", 1, "B");
  auto dims = inferMatMulDims(ctx, ctx.inputType(0), ctx.inputType(1));
  ctx.setResultType(0, dims ? Type(dt, *dims) : Type::unranked(dt));
}

/// A rank-2 tensor's transpose (a plain copy, whatever the dtype).
Tensor transposed2D(const Tensor &t) {
  int64_t r = t.shape()[0], c = t.shape()[1];
  Tensor out(t.dtype(), {c, r});
  auto copy = [&]<typename U>(U) {
    const U *src = reinterpret_cast<const U *>(t.rawData());
    U *dst = reinterpret_cast<U *>(out.mutableRawData());
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) dst[j * r + i] = src[i * c + j];
  };
  switch (dtypeSize(t.dtype())) {
  case 1: copy(uint8_t{}); break;
  case 2: copy(uint16_t{}); break;
  case 4: copy(uint32_t{}); break;
  default: copy(uint64_t{}); break;
  }
  return out;
}

void inferGemm(InferContext &ctx) {
  DType dt = requireDType(ctx, 0, "A", kMatMulTypes);
  requireSameDType(ctx, 0, "A", 1, "B");
  if (ctx.hasInput(2)) requireSameDType(ctx, 0, "A", 2, "C");
  const Type &a = ctx.inputType(0), &b = ctx.inputType(1);
  if (!a.isRanked() || !b.isRanked()) {
    // The result is still [M, N]; only its dims are unknown.
    ctx.setResultType(0, Type(dt, {Dim::unknown(), Dim::unknown()}));
    return;
  }
  if (a.rank() != 2) ctx.fail("A must be 2-D, got {}", a.str());
  if (b.rank() != 2) ctx.fail("B must be 2-D, got {}", b.str());
  bool transA = ctx.attrs().getInt("transA", 0) != 0, transB = ctx.attrs().getInt("transB", 0) != 0;
  Dim m = a.dim(transA ? 1 : 0), ka = a.dim(transA ? 0 : 1);
  Dim kb = b.dim(transB ? 1 : 0), n = b.dim(transB ? 0 : 1);
  if (ka.isStatic() && kb.isStatic() && ka.value() != kb.value())
    ctx.fail("inner dimensions differ: {} vs {} (A {}, B {}, transA={}, transB={})", ka.value(), kb.value(), a.str(),
             b.str(), int(transA), int(transB));
  std::vector<Dim> out = {m, n};
  if (ctx.hasInput(2)) {
    const Type &c = ctx.inputType(2);
    if (c.isRanked() && !mayBroadcastTo(c.dims(), out))
      ctx.fail("C of type {} cannot be broadcast to {}", c.str(), dimsStr(out));
  }
  ctx.setResultType(0, Type(dt, out));
}

std::vector<Tensor> evalGemm(EvalContext &ctx) {
  const Tensor &a = ctx.input(0), &b = ctx.input(1);
  if (a.rank() != 2 || b.rank() != 2)
    ctx.fail("A and B must be 2-D, got {} and {}", shapeStr(a.shape()), shapeStr(b.shape()));
  float alpha = ctx.attrs().getFloat("alpha", 1.0f), beta = ctx.attrs().getFloat("beta", 1.0f);
  bool transA = ctx.attrs().getInt("transA", 0) != 0, transB = ctx.attrs().getInt("transB", 0) != 0;
  Tensor y = matmul(ctx, transA ? transposed2D(a) : a, transB ? transposed2D(b) : b);
  bool useC = ctx.hasInput(2) && beta != 0.0f;
  if (alpha == 1.0f && !useC) return {y};
  std::vector<int64_t> mn = y.shape();
  Tensor c = useC ? ctx.input(2) : Tensor::scalarF32(0);
  requireBroadcastTo(ctx, "C", c.shape(), mn);
  // Integer Gemm with integral alpha/beta stays exact in (wrapping) 64-bit
  // integers; everything else is computed in double.
  bool exactInt = isInteger(y.dtype()) && alpha == std::trunc(alpha) && beta == std::trunc(beta);
  ops::forEachBroadcast(mn, {ops::broadcastStrides(c.shape(), mn)}, [&](int64_t i, const std::vector<int64_t> &off) {
    if (exactInt)
      y.setInt(i, int64_t(uint64_t(int64_t(alpha)) * uint64_t(y.getInt(i)) +
                          (useC ? uint64_t(int64_t(beta)) * uint64_t(c.getInt(off[0])) : 0)));
    else
      y.setDouble(i, double(alpha) * y.getDouble(i) + (useC ? double(beta) * c.getDouble(off[0]) : 0.0));
  });
  return {y};
}

/// MatMulInteger's operand minus its zero point, as i32. `perRow`: a 1-D
/// zero point indexes A's rows ([M] -> [M,1]); for B it indexes columns.
Tensor subtractZeroPoint(const EvalContext &ctx, std::string_view what, const Tensor &x, const Tensor *zp,
                         bool perRow) {
  Tensor out(DType::I32, x.shape());
  int32_t *o = out.mutableData<int32_t>();
  int64_t n = x.numElements();
  if (!zp || zp->numElements() == 1) {
    int64_t z = zp ? zp->getInt(0) : 0;
    for (int64_t i = 0; i < n; ++i) o[i] = int32_t(x.getInt(i) - z);
    return out;
  }
  std::vector<int64_t> zs = zp->shape();
  if (zs.size() == 1 && perRow && x.rank() >= 2) zs = {zs[0], 1};
  requireBroadcastTo(ctx, fmt::format("{} zero point", what), zs, x.shape());
  ops::forEachBroadcast(
      x.shape(), {ops::broadcastStrides(zs, x.shape())},
      [&](int64_t i, const std::vector<int64_t> &off) { o[i] = int32_t(x.getInt(i) - zp->getInt(off[0])); });
  return out;
}

void inferMatMulInteger(InferContext &ctx) {
  requireDType(ctx, 0, "A", {DType::U8, DType::I8});
  requireDType(ctx, 1, "B", {DType::U8, DType::I8});
  if (ctx.hasInput(2)) requireSameDType(ctx, 0, "A", 2, "a_zero_point");
  if (ctx.hasInput(3)) requireSameDType(ctx, 1, "B", 3, "b_zero_point");
  auto dims = inferMatMulDims(ctx, ctx.inputType(0), ctx.inputType(1));
  ctx.setResultType(0, dims ? Type(DType::I32, *dims) : Type::unranked(DType::I32));
}

std::vector<Tensor> evalMatMulInteger(EvalContext &ctx) {
  Tensor a = subtractZeroPoint(ctx, "A", ctx.input(0), ctx.hasInput(2) ? &ctx.input(2) : nullptr, true);
  Tensor b = subtractZeroPoint(ctx, "B", ctx.input(1), ctx.hasInput(3) ? &ctx.input(3) : nullptr, false);
  return {matmul(ctx, a, b)};
}

// ---------------------------------------------------------------------------
// Softmax, LogSoftmax
// ---------------------------------------------------------------------------

void inferSameFloat(InferContext &ctx) {
  requireDType(ctx, 0, "input", kFloatTypes);
  const Type &t = ctx.inputType(0);
  if (t.isRanked()) normalizeAxis(ctx, ctx.attrs().getInt("axis", -1), int64_t(t.rank()));
  ctx.setResultType(0, t);
}

/// Softmax (or its log) along `axis`, subtracting the maximum first so that
/// large inputs do not overflow exp.
Tensor softmax(const EvalContext &ctx, const Tensor &x, bool logarithm) {
  int64_t axis = normalizeAxis(ctx, ctx.attrs().getInt("axis", -1), int64_t(x.rank()));
  const auto &s = x.shape();
  int64_t outer = product(s, 0, size_t(axis)), len = s[size_t(axis)], inner = product(s, size_t(axis) + 1, s.size());
  Tensor y(x.dtype(), s);
  std::vector<double> e(static_cast<size_t>(len));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t base = o * len * inner + i;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < len; ++j) mx = std::max(mx, x.getDouble(base + j * inner));
      double sum = 0;
      for (int64_t j = 0; j < len; ++j) sum += e[size_t(j)] = std::exp(x.getDouble(base + j * inner) - mx);
      double logSum = std::log(sum);
      for (int64_t j = 0; j < len; ++j)
        y.setDouble(base + j * inner, logarithm ? x.getDouble(base + j * inner) - mx - logSum : e[size_t(j)] / sum);
    }
  return y;
}

// ---------------------------------------------------------------------------
// LayerNormalization
// ---------------------------------------------------------------------------

/// The dtype LayerNormalization computes its statistics in, or nullopt if
/// `stash_type` names no float type.
std::optional<DType> stashDType(const Attrs &attrs) {
  auto dt = dtypeFromOnnx(int(attrs.getInt("stash_type", 1)));
  return dt && isFloat(*dt) ? dt : std::nullopt;
}

void inferLayerNorm(InferContext &ctx) {
  DType dt = requireDType(ctx, 0, "X", kFloatTypes);
  requireSameDType(ctx, 0, "X", 1, "Scale");
  if (ctx.hasInput(2)) requireSameDType(ctx, 0, "X", 2, "B");
  auto stashOpt = stashDType(ctx.attrs());
  if (!stashOpt) ctx.fail("stash_type {} is not a floating-point ONNX type", ctx.attrs().getInt("stash_type", 1));
  DType stash = *stashOpt;
  const Type &x = ctx.inputType(0);
  size_t results = ctx.op().numResults();
  if (!x.isRanked()) {
    ctx.setResultType(0, x);
    for (size_t i = 1; i < results; ++i) ctx.setResultType(i, Type::unranked(stash));
    return;
  }
  int64_t axis = normalizeAxis(ctx, ctx.attrs().getInt("axis", -1), int64_t(x.rank()));
  for (size_t i = 1; i <= 2 && ctx.hasInput(i); ++i) {
    const Type &p = ctx.inputType(i);
    if (p.isRanked() && !mayBroadcastTo(p.dims(), x.dims()))
      ctx.fail("{} of type {} cannot be broadcast to X {}", i == 1 ? "Scale" : "B", p.str(), x.str());
  }
  std::vector<Dim> statDims = x.dims();
  std::fill(statDims.begin() + axis, statDims.end(), Dim(1));
  ctx.setResultType(0, Type(dt, x.dims()));
  for (size_t i = 1; i < results; ++i) ctx.setResultType(i, Type(stash, statDims));
}

std::vector<Tensor> evalLayerNorm(EvalContext &ctx) {
  const Tensor &x = ctx.input(0), &scale = ctx.input(1);
  auto stashOpt = stashDType(ctx.attrs());
  if (!stashOpt) ctx.fail("stash_type {} is not a floating-point ONNX type", ctx.attrs().getInt("stash_type", 1));
  DType stash = *stashOpt;
  int64_t axis = normalizeAxis(ctx, ctx.attrs().getInt("axis", -1), int64_t(x.rank()));
  double eps = ctx.attrs().getFloat("epsilon", 1e-5f);
  const auto &s = x.shape();
  int64_t rows = product(s, 0, size_t(axis)), len = product(s, size_t(axis), s.size());
  std::vector<int64_t> statShape = s;
  std::fill(statShape.begin() + axis, statShape.end(), 1);
  Tensor mean(stash, statShape), invStd(stash, statShape);
  // Statistics in the stash type: inputs, mean and 1/stddev are rounded to
  // it; sums are exact enough in double.
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0, sq = 0;
    for (int64_t j = 0; j < len; ++j) sum += roundTo(x.getDouble(r * len + j), stash);
    double mu = roundTo(sum / double(len), stash);
    for (int64_t j = 0; j < len; ++j) {
      double d = roundTo(x.getDouble(r * len + j), stash) - mu;
      sq += d * d;
    }
    mean.setDouble(r, mu);
    invStd.setDouble(r, 1.0 / std::sqrt(sq / double(len) + eps));
  }
  bool hasBias = ctx.hasInput(2);
  const Tensor &bias = hasBias ? ctx.input(2) : scale;
  requireBroadcastTo(ctx, "Scale", scale.shape(), s);
  if (hasBias) requireBroadcastTo(ctx, "B", bias.shape(), s);
  Tensor y(x.dtype(), s);
  std::vector<std::vector<int64_t>> strides = {ops::broadcastStrides(scale.shape(), s),
                                               ops::broadcastStrides(bias.shape(), s)};
  ops::forEachBroadcast(s, strides, [&](int64_t i, const std::vector<int64_t> &off) {
    int64_t r = len ? i / len : 0;
    double normalized =
        roundTo(roundTo((roundTo(x.getDouble(i), stash) - mean.getDouble(r)) * invStd.getDouble(r), stash), x.dtype());
    y.setDouble(i, normalized * scale.getDouble(off[0]) + (hasBias ? bias.getDouble(off[1]) : 0.0));
  });
  std::vector<Tensor> out = {y, mean, invStd};
  out.resize(ctx.op().numResults());
  return out;
}

// ---------------------------------------------------------------------------
// QuantizeLinear, DequantizeLinear
// ---------------------------------------------------------------------------

/// Checks scale and zero point (inputs 1, 2) against x: scalars, or 1-D
/// along `axis`.
void inferQuantParams(InferContext &ctx) {
  requireDType(ctx, 1, "scale", {DType::F32});
  const Type &x = ctx.inputType(0), &scale = ctx.inputType(1);
  if (ctx.hasInput(2)) {
    const Type &zp = ctx.inputType(2);
    if (scale.isRanked() && zp.isRanked() &&
        !(scale.rank() == zp.rank() && mayBroadcastTo(zp.dims(), scale.dims()) &&
          mayBroadcastTo(scale.dims(), zp.dims())))
      ctx.fail("scale {} and zero point {} must have the same shape", scale.str(), zp.str());
  }
  if (!scale.isRanked()) return;
  if (scale.rank() > 1) ctx.fail("scale must be a scalar or 1-D, got {}", scale.str());
  if (scale.rank() == 1 && x.isRanked()) {
    int64_t axis = normalizeAxis(ctx, ctx.attrs().getInt("axis", 1), int64_t(x.rank()));
    const Dim &len = scale.dim(0), &xd = x.dim(size_t(axis));
    if (len.isStatic() && xd.isStatic() && len.value() != 1 && len.value() != xd.value())
      ctx.fail("scale has {} elements, but axis {} of x {} has {}", len.value(), axis, x.str(), xd.value());
  }
}

/// For each element of x, the index of its scale / zero point.
struct QuantParamIndex {
  int64_t inner = 1, len = 1; // len == 1: per tensor
  int64_t operator()(int64_t i) const { return len == 1 ? 0 : i / inner % len; }
};

QuantParamIndex quantParamIndex(const EvalContext &ctx, const Tensor &x, const Tensor &scale) {
  if (scale.rank() > 1) ctx.fail("scale must be a scalar or 1-D, got shape {}", shapeStr(scale.shape()));
  if (ctx.hasInput(2) && ctx.input(2).shape() != scale.shape())
    ctx.fail("scale {} and zero point {} must have the same shape", shapeStr(scale.shape()),
             shapeStr(ctx.input(2).shape()));
  QuantParamIndex idx;
  if (scale.numElements() == 1) return idx;
  int64_t axis = normalizeAxis(ctx, ctx.attrs().getInt("axis", 1), int64_t(x.rank()));
  if (scale.numElements() != x.shape()[size_t(axis)])
    ctx.fail("scale has {} elements, but axis {} of x {} has {}", scale.numElements(), axis, shapeStr(x.shape()),
             x.shape()[size_t(axis)]);
  idx.len = scale.numElements();
  idx.inner = product(x.shape(), size_t(axis) + 1, x.rank());
  return idx;
}

void inferQuantize(InferContext &ctx) {
  requireDType(ctx, 0, "x", {DType::F32, DType::I32, DType::F16, DType::BF16, DType::F64});
  DType out = ctx.hasInput(2) ? requireDType(ctx, 2, "zero point", {DType::U8, DType::I8}) : DType::U8;
  inferQuantParams(ctx);
  ctx.setResultType(0, ctx.inputType(0).withDType(out));
}

std::vector<Tensor> evalQuantize(EvalContext &ctx) {
  const Tensor &x = ctx.input(0), &scale = ctx.input(1);
  const Tensor *zp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  DType dt = zp ? zp->dtype() : DType::U8;
  double lo = dt == DType::U8 ? 0 : -128, hi = dt == DType::U8 ? 255 : 127;
  QuantParamIndex param = quantParamIndex(ctx, x, scale);
  Tensor y(dt, x.shape());
  for (int64_t i = 0, n = x.numElements(); i < n; ++i) {
    int64_t p = param(i);
    // f32 inputs are divided in f32, as ONNX does; rint rounds ties to even.
    double q = x.dtype() == DType::F32 ? double(float(x.getDouble(i)) / float(scale.getDouble(p)))
                                       : x.getDouble(i) / scale.getDouble(p);
    q = std::rint(q);
    if (std::isnan(q)) q = 0; // no ONNX answer for NaN; map it to the zero point
    y.setInt(i, int64_t(std::clamp(q + double(zp ? zp->getInt(p) : 0), lo, hi)));
  }
  return {y};
}

void inferDequantize(InferContext &ctx) {
  DType dt = requireDType(ctx, 0, "x", {DType::U8, DType::I8, DType::I32});
  if (ctx.hasInput(2)) requireSameDType(ctx, 0, "x", 2, "zero point");
  if (dt == DType::I32 && ctx.hasInput(2)) {
    const Tensor *zp = ctx.constantInput(2);
    for (int64_t i = 0; zp && i < zp->numElements(); ++i)
      if (zp->getInt(i) != 0) ctx.fail("an i32 input's zero point must be 0, got {}", zp->getInt(i));
  }
  inferQuantParams(ctx);
  ctx.setResultType(0, ctx.inputType(0).withDType(DType::F32));
}

std::vector<Tensor> evalDequantize(EvalContext &ctx) {
  const Tensor &x = ctx.input(0), &scale = ctx.input(1);
  const Tensor *zp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  QuantParamIndex param = quantParamIndex(ctx, x, scale);
  if (zp && x.dtype() == DType::I32)
    for (int64_t i = 0; i < zp->numElements(); ++i)
      if (zp->getInt(i) != 0) ctx.fail("an i32 input's zero point must be 0, got {}", zp->getInt(i));
  Tensor y(DType::F32, x.shape());
  float *out = y.mutableData<float>();
  for (int64_t i = 0, n = x.numElements(); i < n; ++i) {
    int64_t p = param(i);
    out[i] = float(double(x.getInt(i) - (zp ? zp->getInt(p) : 0)) * scale.getDouble(p));
  }
  return {y};
}

} // namespace

void registerNNOps(OpRegistry &r) {
  using K = AttrKind;
  r.add({.name = "MatMul",
         .summary = "numpy.matmul: 1-D operands promoted, batch dims broadcast",
         .minInputs = 2,
         .maxInputs = 2,
         .attrs = {},
         .infer = inferMatMul,
         .eval = [](EvalContext &ctx) -> std::vector<Tensor> { return {matmul(ctx, ctx.input(0), ctx.input(1))}; }});
  r.add({.name = "Gemm",
         .summary = "Y = alpha * A' @ B' + beta * C on matrices, A'/B' optionally transposed",
         .minInputs = 2,
         .maxInputs = 3,
         .attrs = {{"alpha", K::Float}, {"beta", K::Float}, {"transA", K::Int}, {"transB", K::Int}},
         .infer = inferGemm,
         .eval = evalGemm});
  r.add({.name = "MatMulInteger",
         .summary = "i32 matmul of u8/i8 operands minus optional zero points",
         .minInputs = 2,
         .maxInputs = 4,
         .attrs = {},
         .infer = inferMatMulInteger,
         .eval = evalMatMulInteger});
  r.add({.name = "Softmax",
         .summary = "exp(x) / sum(exp(x)) along axis (default -1)",
         .minInputs = 1,
         .maxInputs = 1,
         .attrs = {{"axis", K::Int}},
         .infer = inferSameFloat,
         .eval = [](EvalContext &ctx) -> std::vector<Tensor> { return {softmax(ctx, ctx.input(0), false)}; }});
  r.add({.name = "LogSoftmax",
         .summary = "log(softmax(x)) along axis (default -1)",
         .minInputs = 1,
         .maxInputs = 1,
         .attrs = {{"axis", K::Int}},
         .infer = inferSameFloat,
         .eval = [](EvalContext &ctx) -> std::vector<Tensor> { return {softmax(ctx, ctx.input(0), true)}; }});
  r.add({.name = "LayerNormalization",
         .summary = "normalize over axis..rank-1, then * Scale + B; optional Mean and InvStdDev outputs",
         .minInputs = 2,
         .maxInputs = 3,
         .minOutputs = 1,
         .maxOutputs = 3,
         .attrs = {{"axis", K::Int}, {"epsilon", K::Float}, {"stash_type", K::Int}},
         .infer = inferLayerNorm,
         .eval = evalLayerNorm});
  r.add({.name = "QuantizeLinear",
         .summary = "saturate(round(x / scale) + zero_point) to u8/i8, per tensor or per axis",
         .minInputs = 2,
         .maxInputs = 3,
         .attrs = {{"axis", K::Int}},
         .infer = inferQuantize,
         .eval = evalQuantize});
  r.add({.name = "DequantizeLinear",
         .summary = "(x - zero_point) * scale as f32, per tensor or per axis",
         .minInputs = 2,
         .maxInputs = 3,
         .attrs = {{"axis", K::Int}},
         .infer = inferDequantize,
         .eval = evalDequantize});
}

} // namespace ternc
