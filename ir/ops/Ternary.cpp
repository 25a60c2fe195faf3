// Ternary ops: TernaryMatMul, ActQuant and BitLinear, the ops of ternc's
// ternary core (docs/ir.md, "Ternary ops"), produced by the ternarize,
// act-quant and fuse-bitlinear passes.
#include "ir/ops/OpHelpers.h"
#include "ir/TernaryPacking.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>

namespace ternc {
namespace {

std::string shapeStr(const std::vector<int64_t> &s) { return fmt::format("[{}]", fmt::join(s, ",")); }

/// Fails unless operand `i` (called `what`) has dtype `dt`.
void requireDType(const InferContext &ctx, size_t i, std::string_view what, DType dt) {
  const Type &t = ctx.inputType(i);
  if (t.dtype() != dt) ctx.fail("{} must be {}, got {}", what, dtypeName(dt), t.str());
}

/// Fails unless operand `i` is ranked with rank >= `minRank`.
void requireRanked(const InferContext &ctx, size_t i, std::string_view what, size_t minRank) {
  const Type &t = ctx.inputType(i);
  if (!t.isRanked() || t.rank() < minRank) ctx.fail("{} must have rank >= {}, got {}", what, minRank, t.str());
}

/// True if two dims may be equal at run time (equal, or either not static).
bool mayEqual(const Dim &a, const Dim &b) { return !(a.isStatic() && b.isStatic() && a.value() != b.value()); }

/// The string attribute `name`, which must be one of `allowed` (the first is
/// the default).
template <typename Ctx>
std::string choice(const Ctx &ctx, std::string_view name, std::initializer_list<std::string_view> allowed) {
  std::string v = ctx.attrs().getString(name, std::string(*allowed.begin()));
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
    ctx.fail("attribute {} = \"{}\" is not one of \"{}\"", name, v, fmt::join(allowed, "\", \""));
  return v;
}

// ---------------------------------------------------------------------------
// Ternary weights and their scales
// ---------------------------------------------------------------------------

/// Checks a ternary weight `tern<G>[N,K]` (operand wi) against the reduction
/// dim `k`, and its f32 scale (operand si): [1] per tensor, [N] per row,
/// [N, K/g] per group of g. Returns N.
Dim inferTernaryWeight(const InferContext &ctx, size_t wi, size_t si, std::string_view what, const Dim &k) {
  const Type &w = ctx.inputType(wi);
  if (w.dtype() != DType::Tern || !w.isRanked() || w.rank() != 2)
    ctx.fail("{} must be a tern<...>[N,K] tensor, got {}", what, w.str());
  TernScale g = w.ternScale();
  if (g.kind == TernScale::None) ctx.fail("{} {} has no scale granularity", what, w.str());
  if (!mayEqual(w.dim(1), k))
    ctx.fail("{} {} has K = {}, but the activations have K = {}", what, w.str(), w.dim(1).str(), k.str());
  requireDType(ctx, si, fmt::format("the scale of {}", what), DType::F32);
  const Type &s = ctx.inputType(si);
  if (!s.isRanked()) return w.dim(0);
  std::vector<Dim> want;
  switch (g.kind) {
  case TernScale::Tensor: want = {Dim(1)}; break;
  case TernScale::Row: want = {w.dim(0)}; break;
  case TernScale::Group:
    if (g.group <= 0) ctx.fail("{} has group size {}", what, g.group);
    if (w.dim(1).isStatic() && w.dim(1).value() % g.group != 0)
      ctx.fail("{} {}: K = {} is not a multiple of the group size {}", what, w.str(), w.dim(1).value(), g.group);
    want = {w.dim(0), w.dim(1).isStatic() ? Dim(w.dim(1).value() / g.group) : Dim::unknown()};
    break;
  case TernScale::None: break;
  }
  bool ok = s.rank() == want.size();
  for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i].isUnknown() || mayEqual(s.dim(i), want[i]);
  if (!ok)
    ctx.fail("the scale of {} {} must be f32{}, got {}", what, w.str(), Type(DType::F32, want).str().substr(3),
             s.str());
  return w.dim(0);
}

/// A ternary weight at evaluation time: N x K values in {-1, 0, 1} and the
/// index of each element's scale.
struct TernaryWeight {
  const int8_t *t = nullptr;
  std::shared_ptr<std::vector<int8_t>> unpacked;  // t's storage when the constant is packed
  const float *scale = nullptr;
  std::shared_ptr<std::vector<float>> untiled;  // scale's storage when a target tiled the scale constant
  int64_t n = 0, k = 0;
  TernScale granularity;

  int64_t groupSize() const {
    return granularity.kind == TernScale::Group ? granularity.group : k;
  }
  /// Index into the scale tensor of row `row`, group `group` (group index
  /// along K in units of groupSize()).
  int64_t scaleIndex(int64_t row, int64_t group) const {
    switch (granularity.kind) {
    case TernScale::Tensor: return 0;
    case TernScale::Row: return row;
    default: return row * (k / granularity.group) + group;
    }
  }
  float scaleAt(int64_t row, int64_t group) const { return scale[scaleIndex(row, group)]; }
};

/// Reads operand wi (tern) and si (its scale), checking sizes and values.
TernaryWeight ternaryWeight(const EvalContext &ctx, size_t wi, size_t si, int64_t k) {
  const Tensor &w = ctx.input(wi), &s = ctx.input(si);
  TernaryWeight tw;
  const Value *wv = ctx.op().operand(wi);
  tw.granularity = wv->type().ternScale();
  const Constant *c = wv->kind() == Value::Kind::Constant ? wv->constant() : nullptr;
  if (c && !c->layout.empty()) {
    // A target packed it (ir/TernaryPacking.h): unpack, so packed IR still runs.
    const TernaryLayout *layout = findTernaryLayout(c->layout);
    if (!layout) ctx.fail("operand {} has the unknown ternary layout \"{}\"", wi, c->layout);
    const Type &t = wv->type();
    if (!t.isRanked() || t.rank() != 2 || !t.dim(0).isStatic() || !t.dim(1).isStatic())
      ctx.fail("operand {} is packed but its type {} is not a static matrix", wi, t.str());
    tw.n = t.dim(0).value();
    tw.k = t.dim(1).value();
    const auto *bytes = reinterpret_cast<const uint8_t *>(w.rawData());
    if (std::string why = layout->check(bytes, w.byteSize(), tw.n, tw.k); !why.empty())
      ctx.fail("operand {} ({} packed as {}): {}", wi, t.str(), c->layout, why);
    tw.unpacked = std::make_shared<std::vector<int8_t>>(size_t(tw.n * tw.k));
    if (!layout->unpack(bytes, w.byteSize(), tw.n, tw.k, tw.unpacked->data()))
      ctx.fail("operand {} holds a 2-bit code 3, which is not a ternary value", wi);
  } else if ((w.dtype() != DType::Tern && w.dtype() != DType::I8) || w.rank() != 2) {
    ctx.fail("operand {} must hold a plain [N,K] ternary tensor, got {} {}", wi, dtypeName(w.dtype()),
             shapeStr(w.shape()));
  } else {
    tw.n = w.shape()[0];
    tw.k = w.shape()[1];
  }
  if (tw.k != k) ctx.fail("operand {} has K = {}, but the activations have K = {}", wi, tw.k, k);
  int64_t want = tw.granularity.kind == TernScale::Tensor ? 1
                 : tw.granularity.kind == TernScale::Row  ? tw.n
                                                          : tw.n * (tw.k / std::max<int64_t>(tw.granularity.group, 1));
  const Value *sv = ctx.op().operand(si);
  const Constant *sc = sv->kind() == Value::Kind::Constant ? sv->constant() : nullptr;
  if (sc && !sc->layout.empty()) {
    // A target tiled the group scales (ir/TernaryPacking.h): untile, so the IR still runs.
    const ScaleTiling *tiling = findScaleTiling(sc->layout);
    if (!tiling) ctx.fail("the scale (operand {}) has the unknown layout \"{}\"", si, sc->layout);
    if (tw.granularity.kind != TernScale::Group)
      ctx.fail("the scale (operand {}) is tiled as {}, but the weight's scales are not per group", si, sc->layout);
    int64_t groups = want / std::max<int64_t>(tw.n, 1);
    tw.untiled = std::make_shared<std::vector<float>>(size_t(want));
    if (std::string why = tiling->untile(reinterpret_cast<const uint8_t *>(s.rawData()), s.byteSize(), tw.n, groups,
                                         tw.untiled->data());
        !why.empty())
      ctx.fail("the scale (operand {}) tiled as {}: {}", si, sc->layout, why);
    tw.scale = tw.untiled->data();
  } else {
    if (s.dtype() != DType::F32 || s.numElements() != want)
      ctx.fail("the scale (operand {}) must be f32 with {} elements, got {} {}", si, want, dtypeName(s.dtype()),
               shapeStr(s.shape()));
    tw.scale = s.data<float>();
  }
  tw.t = tw.unpacked ? tw.unpacked->data() : w.data<int8_t>();
  for (int64_t i = 0; i < tw.n * tw.k; ++i)
    if (tw.t[i] < -1 || tw.t[i] > 1) ctx.fail("operand {} element {} is {}, not -1, 0 or 1", wi, i, int(tw.t[i]));
  return tw;
}

/// Dims of x with the last one replaced by `last`.
std::vector<Dim> withLastDim(const std::vector<Dim> &x, Dim last) {
  std::vector<Dim> out = x;
  out.back() = std::move(last);
  return out;
}

std::vector<int64_t> withLastDim(const std::vector<int64_t> &x, int64_t last) {
  std::vector<int64_t> out = x;
  out.back() = last;
  return out;
}

// ---------------------------------------------------------------------------
// TernaryMatMul
// ---------------------------------------------------------------------------

void inferTernaryMatMul(InferContext &ctx) {
  requireDType(ctx, 0, "x", DType::F32);
  requireRanked(ctx, 0, "x", 1);
  const Type &x = ctx.inputType(0);
  Dim n = inferTernaryWeight(ctx, 1, 2, "w", x.dims().back());
  ctx.setResultType(0, Type(DType::F32, withLastDim(x.dims(), n)));
}

/// y = x @ (w * scale)^T, computed exactly as MatMul computes x @ W for the
/// float W = w * scale: each weight is the f32 product t * scale (exactly
/// +-scale or 0), products are summed in double in K order, and the sum is
/// rounded to f32 once. A MatMul on a pseudo-quantized weight and the
/// TernaryMatMul that replaces it therefore give identical bits.
std::vector<Tensor> evalTernaryMatMul(EvalContext &ctx) {
  const Tensor &x = ctx.input(0);
  if (x.rank() == 0) ctx.fail("x must have rank >= 1");
  int64_t k = x.shape().back();
  TernaryWeight w = ternaryWeight(ctx, 1, 2, k);
  std::vector<float> wf(size_t(w.n * w.k));
  int64_t g = w.groupSize();
  for (int64_t n = 0; n < w.n; ++n)
    for (int64_t kk = 0; kk < w.k; ++kk)
      wf[size_t(n * w.k + kk)] = float(w.t[n * w.k + kk]) * w.scaleAt(n, g ? kk / g : 0);
  int64_t rows = k ? x.numElements() / k : 0;
  Tensor y(DType::F32, withLastDim(x.shape(), w.n));
  const float *xp = x.data<float>();
  float *yp = y.mutableData<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < w.n; ++n) {
      double acc = 0;
      const float *xr = xp + r * k, *wr = wf.data() + n * k;
      for (int64_t kk = 0; kk < k; ++kk) acc += double(xr[kk]) * double(wr[kk]);
      yp[r * w.n + n] = float(acc);
    }
  return {y};
}

// ---------------------------------------------------------------------------
// ActQuant
// ---------------------------------------------------------------------------

/// ActQuant's attributes, decoded. Each variant names the exact float
/// operations of an exporter's fake-quant subgraph, so that the op's result
/// is bit-identical to the subgraph it replaces.
struct ActQuantSpec {
  float eps = 1e-5f;
  bool epsAdd = false;  // m' = m + eps (else max(m, eps))
  enum class Scale { Div, RcpMul, Step } scale = Scale::Div;
  enum class Norm { None, Rms, RmsDiv, Layer } norm = Norm::None;
  float normEps = 1e-5f;
};

template <typename Ctx> ActQuantSpec actQuantSpec(const Ctx &ctx) {
  ActQuantSpec s;
  const Attrs &a = ctx.attrs();
  s.eps = a.getFloat("eps", 1e-5f);
  s.epsAdd = choice(ctx, "eps_mode", {"max", "add"}) == "add";
  std::string scale = choice(ctx, "scale", {"127/m", "rcp(m)*127", "m/127"});
  s.scale = scale == "127/m" ? ActQuantSpec::Scale::Div
            : scale == "rcp(m)*127" ? ActQuantSpec::Scale::RcpMul
                                    : ActQuantSpec::Scale::Step;
  std::string norm = choice(ctx, "norm", {"none", "rms", "rms-div", "layer"});
  s.norm = norm == "none"      ? ActQuantSpec::Norm::None
           : norm == "rms"     ? ActQuantSpec::Norm::Rms
           : norm == "rms-div" ? ActQuantSpec::Norm::RmsDiv
                               : ActQuantSpec::Norm::Layer;
  s.normEps = a.getFloat("norm_eps", 1e-5f);
  return s;
}

void inferActQuant(InferContext &ctx) {
  ActQuantSpec spec = actQuantSpec(ctx);
  requireDType(ctx, 0, "x", DType::F32);
  requireRanked(ctx, 0, "x", 1);
  const Type &x = ctx.inputType(0);
  const Dim &k = x.dims().back();
  bool layer = spec.norm == ActQuantSpec::Norm::Layer;
  if (spec.norm == ActQuantSpec::Norm::None && (ctx.hasInput(1) || ctx.hasInput(2)))
    ctx.fail("norm = \"none\" takes no norm scale or bias operands");
  if (layer && !ctx.hasInput(1)) ctx.fail("norm = \"layer\" needs its scale (operand 1)");
  if (!layer && ctx.hasInput(2)) ctx.fail("only norm = \"layer\" takes a bias (operand 2)");
  for (size_t i = 1; i <= 2; ++i) {
    if (!ctx.hasInput(i)) continue;
    requireDType(ctx, i, i == 1 ? "the norm scale" : "the norm bias", DType::F32);
    const Type &p = ctx.inputType(i);
    if (p.isRanked() && (p.rank() != 1 || !mayEqual(p.dim(0), k)))
      ctx.fail("the norm {} must be f32[{}], got {}", i == 1 ? "scale" : "bias", k.str(), p.str());
  }
  ctx.setResultType(0, Type(DType::I8, x.dims()));
  ctx.setResultType(1, Type(DType::F32, withLastDim(x.dims(), Dim(1))));
}

/// One row of `norm` applied to x (length k) with the float steps of the
/// graph ops it replaces (see docs/ir.md): RMSNorm as exported from PyTorch
/// (Pow, ReduceMean, Add, Sqrt, then Div(1, .) and Mul, or Div), and
/// LayerNormalization as ternc's own op evaluates it (stash type f32).
void normalizeRow(const ActQuantSpec &spec, const float *x, int64_t k, const float *scale, const float *bias,
                  float *out) {
  if (spec.norm == ActQuantSpec::Norm::Layer) {
    double sum = 0, sq = 0;
    for (int64_t j = 0; j < k; ++j) sum += double(x[j]);
    float mean = float(sum / double(k));
    for (int64_t j = 0; j < k; ++j) {
      double d = double(x[j]) - double(mean);
      sq += d * d;
    }
    float invStd = float(1.0 / std::sqrt(sq / double(k) + double(spec.normEps)));
    for (int64_t j = 0; j < k; ++j) {
      float normalized = float((double(x[j]) - double(mean)) * double(invStd));
      out[j] = float(double(normalized) * double(scale[j]) + (bias ? double(bias[j]) : 0.0));
    }
    return;
  }
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += double(float(double(x[j]) * double(x[j])));
  float meanSquare = float(sum / double(k));
  float stddev = float(std::sqrt(double(float(double(meanSquare) + double(spec.normEps)))));
  float inverse = float(1.0 / double(stddev));
  for (int64_t j = 0; j < k; ++j) {
    float t = spec.norm == ActQuantSpec::Norm::Rms ? float(double(x[j]) * double(inverse))
                                                   : float(double(x[j]) / double(stddev));
    out[j] = scale ? float(double(t) * double(scale[j])) : t;
  }
}

/// Quantizes one row: returns the scale output and writes q. The float
/// steps are those of the fake-quant subgraph named by the attributes.
float quantizeRow(const ActQuantSpec &spec, const float *h, int64_t k, int8_t *q) {
  double m = -std::numeric_limits<double>::infinity();  // ReduceMax(Abs(h))
  for (int64_t j = 0; j < k; ++j) {
    double a = std::fabs(double(h[j]));
    if (a > m || std::isnan(a)) m = a;
  }
  float mf = float(m);
  float clamped = spec.epsAdd ? float(double(mf) + double(spec.eps)) : (mf < spec.eps ? spec.eps : mf);
  float s = 0;
  switch (spec.scale) {
  case ActQuantSpec::Scale::Div: s = float(127.0 / double(clamped)); break;
  case ActQuantSpec::Scale::RcpMul: s = float(double(float(1.0 / double(clamped))) * 127.0); break;
  case ActQuantSpec::Scale::Step: s = float(double(clamped) / 127.0); break;
  }
  for (int64_t j = 0; j < k; ++j) {
    float v = spec.scale == ActQuantSpec::Scale::Step ? float(double(h[j]) / double(s))
                                                      : float(double(h[j]) * double(s));
    double r = std::nearbyint(double(v));
    q[j] = std::isnan(r) ? int8_t(0) : int8_t(std::clamp(r, -128.0, 127.0));
  }
  return s;
}

std::vector<Tensor> evalActQuant(EvalContext &ctx) {
  ActQuantSpec spec = actQuantSpec(ctx);
  const Tensor &x = ctx.input(0);
  if (x.rank() == 0) ctx.fail("x must have rank >= 1");
  int64_t k = x.shape().back();
  const float *scale = nullptr, *bias = nullptr;
  for (size_t i = 1; i <= 2; ++i) {
    if (!ctx.hasInput(i)) continue;
    if (ctx.input(i).numElements() != k)
      ctx.fail("the norm {} has {} elements, expected {}", i == 1 ? "scale" : "bias", ctx.input(i).numElements(), k);
    (i == 1 ? scale : bias) = ctx.input(i).data<float>();
  }
  int64_t rows = k ? x.numElements() / k : 0;
  Tensor q(DType::I8, x.shape()), s(DType::F32, withLastDim(x.shape(), 1));
  std::vector<float> normalized(static_cast<size_t>(k));
  for (int64_t r = 0; r < rows; ++r) {
    const float *h = x.data<float>() + r * k;
    if (spec.norm != ActQuantSpec::Norm::None) {
      normalizeRow(spec, h, k, scale, bias, normalized.data());
      h = normalized.data();
    }
    s.mutableData<float>()[r] = quantizeRow(spec, h, k, q.mutableData<int8_t>() + r * k);
  }
  return {q, s};
}

// ---------------------------------------------------------------------------
// BitLinear
// ---------------------------------------------------------------------------

/// BitLinear's operands.
enum BitLinearOperand : size_t { kQ, kS, kW, kWScale, kBias, kGate, kGateScale, kGateBias, kResidual, kNumOperands };

/// BitLinear's `act` attribute, checked.
template <typename Ctx> std::string activationOf(const Ctx &ctx) {
  return choice(ctx, "act", {"none", "relu", "relu2", "silu", "gelu"});
}

void inferBitLinear(InferContext &ctx) {
  activationOf(ctx);
  choice(ctx, "dequant", {"div", "mul"});
  requireDType(ctx, kQ, "q", DType::I8);
  requireRanked(ctx, kQ, "q", 1);
  requireDType(ctx, kS, "s", DType::F32);
  const Type &q = ctx.inputType(kQ), &s = ctx.inputType(kS);
  if (s.isRanked()) {
    bool ok = s.rank() == q.rank() && mayEqual(s.dims().back(), Dim(1));
    for (size_t i = 0; ok && i + 1 < q.rank(); ++i) ok = mayEqual(s.dim(i), q.dim(i));
    if (!ok) ctx.fail("s must be f32 with q's dims and a last dim of 1 (q {}), got {}", q.str(), s.str());
  }
  const Dim &k = q.dims().back();
  Dim n = inferTernaryWeight(ctx, kW, kWScale, "w", k);
  auto checkBias = [&](size_t i, std::string_view what) {
    if (!ctx.hasInput(i)) return;
    requireDType(ctx, i, what, DType::F32);
    const Type &b = ctx.inputType(i);
    if (b.isRanked() && (b.rank() != 1 || !mayEqual(b.dim(0), n)))
      ctx.fail("{} must be f32[{}], got {}", what, n.str(), b.str());
  };
  checkBias(kBias, "bias");
  if (ctx.hasInput(kGate) != ctx.hasInput(kGateScale))
    ctx.fail("the gate weight (operand {}) and its scale (operand {}) come together", size_t(kGate),
             size_t(kGateScale));
  if (ctx.hasInput(kGate)) {
    Dim gn = inferTernaryWeight(ctx, kGate, kGateScale, "the gate weight", k);
    if (!mayEqual(gn, n)) ctx.fail("the gate weight has N = {}, but w has N = {}", gn.str(), n.str());
  } else if (ctx.hasInput(kGateBias)) {
    ctx.fail("a gate bias needs a gate weight");
  }
  checkBias(kGateBias, "the gate bias");
  std::vector<Dim> out = withLastDim(q.dims(), n);
  if (ctx.hasInput(kResidual)) {
    requireDType(ctx, kResidual, "the residual", DType::F32);
    const Type &r = ctx.inputType(kResidual);
    bool ok = !r.isRanked() || r.rank() == out.size();
    for (size_t i = 0; ok && r.isRanked() && i < out.size(); ++i) ok = mayEqual(r.dim(i), out[i]);
    if (!ok) ctx.fail("the residual must have the result's dims {}, got {}", Type(DType::F32, out).str(), r.str());
  }
  ctx.setResultType(0, Type(DType::F32, out));
}

double activate(std::string_view act, double v) {
  if (act == "relu") return v > 0 ? v : 0.0;
  if (act == "relu2") return v > 0 ? v * v : 0.0;
  if (act == "silu") return v / (1.0 + std::exp(-v));
  if (act == "gelu") return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
  return v;
}

/// The integer dot products of int8 row q with ternary row `row` of w, one
/// exact int64 sum per scale group, each times its group's scale; summed in
/// double.
double scaledDot(const int8_t *q, const TernaryWeight &w, int64_t row) {
  int64_t g = w.groupSize();
  double sum = 0;
  const int8_t *t = w.t + row * w.k;
  for (int64_t start = 0, group = 0; start < w.k; start += g, ++group) {
    int64_t acc = 0;
    for (int64_t j = start; j < std::min(start + g, w.k); ++j) acc += int64_t(q[j]) * int64_t(t[j]);
    sum += double(acc) * double(w.scaleAt(row, group));
  }
  return sum;
}

/// BitNet b1.58's integer math: y = (q . w) * scale / s (+ bias), then the
/// activation (of the gate, times the main product, with a gate weight),
/// then + residual; in double, rounded to f32 once.
std::vector<Tensor> evalBitLinear(EvalContext &ctx) {
  std::string act = activationOf(ctx);
  bool divide = choice(ctx, "dequant", {"div", "mul"}) == "div";
  const Tensor &q = ctx.input(kQ), &s = ctx.input(kS);
  if (q.rank() == 0) ctx.fail("q must have rank >= 1");
  int64_t k = q.shape().back(), rows = k ? q.numElements() / k : 0;
  if (s.numElements() != rows) ctx.fail("s has {} elements for {} rows of q", s.numElements(), rows);
  TernaryWeight w = ternaryWeight(ctx, kW, kWScale, k);
  bool gated = ctx.hasInput(kGate);
  TernaryWeight gate = gated ? ternaryWeight(ctx, kGate, kGateScale, k) : TernaryWeight{};
  if (gated && gate.n != w.n) ctx.fail("the gate weight has N = {}, but w has N = {}", gate.n, w.n);
  auto biasOf = [&](size_t i) -> const float * {
    if (!ctx.hasInput(i)) return nullptr;
    if (ctx.input(i).numElements() != w.n) ctx.fail("operand {} has {} elements, expected {}", i,
                                                     ctx.input(i).numElements(), w.n);
    return ctx.input(i).data<float>();
  };
  const float *bias = biasOf(kBias), *gateBias = biasOf(kGateBias);
  std::vector<int64_t> outShape = withLastDim(q.shape(), w.n);
  const float *residual = nullptr;
  if (ctx.hasInput(kResidual)) {
    if (ctx.input(kResidual).shape() != outShape)
      ctx.fail("the residual has shape {}, expected {}", shapeStr(ctx.input(kResidual).shape()), shapeStr(outShape));
    residual = ctx.input(kResidual).data<float>();
  }
  Tensor y(DType::F32, outShape);
  float *yp = y.mutableData<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t *qr = q.data<int8_t>() + r * k;
    double sr = double(s.data<float>()[r]);
    auto dequantize = [&](double v) { return divide ? v / sr : v * sr; };
    for (int64_t n = 0; n < w.n; ++n) {
      double v = dequantize(scaledDot(qr, w, n)) + (bias ? double(bias[n]) : 0.0);
      if (gated) {
        double gv = dequantize(scaledDot(qr, gate, n)) + (gateBias ? double(gateBias[n]) : 0.0);
        v = activate(act, gv) * v;
      } else {
        v = activate(act, v);
      }
      if (residual) v += double(residual[r * w.n + n]);
      yp[r * w.n + n] = float(v);
    }
  }
  return {y};
}

} // namespace

void registerTernaryOps(OpRegistry &r) {
  using K = AttrKind;
  r.add({.name = "TernaryMatMul",
         .summary = "x[...,K] @ (w * scale)^T for w tern[N,K] and its f32 scale; bit-identical to MatMul on the "
                    "pseudo-quantized weight",
         .minInputs = 3,
         .maxInputs = 3,
         .attrs = {},
         .infer = inferTernaryMatMul,
         .eval = evalTernaryMatMul});
  r.add({.name = "ActQuant",
         .summary = "optional row norm, then per-token absmax int8 quantization: (q i8[...,K], s f32[...,1])",
         .minInputs = 1,
         .maxInputs = 3,
         .minOutputs = 2,
         .maxOutputs = 2,
         .attrs = {{"eps", K::Float},
                   {"eps_mode", K::String},
                   {"scale", K::String},
                   {"norm", K::String},
                   {"norm_eps", K::Float}},
         .infer = inferActQuant,
         .eval = evalActQuant});
  r.add({.name = "BitLinear",
         .summary = "int8 x ternary matmul with BitNet's integer math, then scale, bias, activation or gate, "
                    "residual",
         .minInputs = 4,
         .maxInputs = int(kNumOperands),
         .attrs = {{"act", K::String}, {"dequant", K::String}},
         .infer = inferBitLinear,
         .eval = evalBitLinear});
}

} // namespace ternc
