// TernaryKernelsTest: the ternary kernels of the portable kernel library (codegen/kernels/Ternary.cpp,
// compiled natively here) against ternc's interpreter. tk_actquant_f32 must give the interpreter's ActQuant
// bit for bit (q and s) for every norm, scale mode and eps mode, on random rows of many magnitudes and on
// special values (zeros, NaN, infinities, huge values, exact halves after scaling); tk_ternary_matmul_f32
// must give TernaryMatMul within 1e-5 of max|y| for every scale granularity. Every kernel also runs with
// its items in reverse order, split in two calls, and one at a time to check that items write disjoint
// outputs covering the result.
#include "codegen/kernels/Kernels.h"
#include "ir/IR.h"
#include "ir/Interpreter.h"
#include "ir/Tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace ternc;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

/// Evaluates op `name` on `inputs` of the given types (an invalid tensor is an omitted operand) with
/// ternc's interpreter.
std::vector<Tensor> interpretOp(std::string_view name, const std::vector<Tensor> &inputs,
                                const std::vector<Type> &types, Attrs attrs, size_t results) {
  Module m;
  Graph *g = m.addGraph("main");
  std::vector<Value *> operands;
  for (size_t i = 0; i < inputs.size(); ++i)
    operands.push_back(inputs[i].isValid() ? g->addArgument("in" + std::to_string(i), types[i]) : nullptr);
  Op *op = g->buildOp(name, operands, std::move(attrs), std::vector<std::string>(results, "r"));
  return evaluateOp(*op, inputs);
}

Type typeOf(const Tensor &t) {
  if (!t.isValid()) return Type(DType::F32, std::vector<Dim>{});
  return Type(t.dtype(), std::vector<Dim>(t.shape().begin(), t.shape().end()));
}

Tensor f32Tensor(std::vector<int64_t> shape, const std::vector<float> &values) {
  Tensor t(DType::F32, std::move(shape));
  std::memcpy(t.mutableData<float>(), values.data(), values.size() * sizeof(float));
  return t;
}

/// How to drive one kernel call's items for checkItems: poison(v) fills the outputs with poison pattern v
/// (0 or 1), run(begin, end) runs items, written(v) says which output elements differ from pattern v, and
/// check(how) compares the outputs with the reference.
struct ItemDriver {
  std::function<void(int)> poison;
  std::function<void(int64_t, int64_t)> run;
  std::function<std::vector<bool>(int)> written;
  std::function<void(const std::string &)> check;
};

/// Runs items [0, items) in one call, one item per call in reverse order, and split in two calls at a
/// third, checking the outputs each time; then runs each item alone (under both poison patterns, so that a
/// value equal to one pattern still shows) to check that the items write disjoint sets of outputs that
/// together cover every output.
void checkItems(int64_t items, const ItemDriver &d, const std::string &where) {
  d.poison(0);
  d.run(0, items);
  d.check("one call");
  d.poison(1);
  for (int64_t i = items - 1; i >= 0; --i) d.run(i, i + 1);
  d.check("reverse items");
  d.poison(0);
  int64_t cut = items / 3;
  d.run(cut, items);
  d.run(0, cut);
  d.check("split at " + std::to_string(cut));
  std::vector<bool> covered;
  for (int64_t i = 0; i < items; ++i) {
    std::vector<bool> w[2];
    for (int v = 0; v < 2; ++v) {
      d.poison(v);
      d.run(i, i + 1);
      w[v] = d.written(v);
    }
    if (covered.empty()) covered.assign(w[0].size(), false);
    int overlaps = 0;
    for (size_t e = 0; e < covered.size(); ++e) {
      if (!w[0][e] && !w[1][e]) continue;
      if (covered[e] && overlaps++ < 3) ADD_FAILURE() << where << ": item " << i << " writes output " << e << " again";
      covered[e] = true;
    }
  }
  for (size_t e = 0; e < covered.size(); ++e)
    if (!covered[e]) {
      ADD_FAILURE() << where << ": no item writes output " << e;
      break;
    }
}

/// Float poison patterns (NaNs with payloads the kernels never make) and int8 ones.
constexpr uint32_t kPoisonBits[2] = {0x7fc12345u, 0xffd54321u};
constexpr int8_t kPoisonQ[2] = {0x55, -0x2b};

void poisonFloats(std::vector<float> &v, int variant) {
  for (float &f : v) std::memcpy(&f, &kPoisonBits[variant], 4);
}
std::vector<bool> floatsWritten(const std::vector<float> &v, int variant) {
  std::vector<bool> w(v.size());
  for (size_t i = 0; i < v.size(); ++i) w[i] = std::memcmp(&v[i], &kPoisonBits[variant], 4) != 0;
  return w;
}

// ---------------------------------------------------------------------------
// ActQuant
// ---------------------------------------------------------------------------

const char *const kNorms[] = {"none", "rms", "rms-div", "layer"};
const char *const kScales[] = {"127/m", "rcp(m)*127", "m/127"};

struct ActQuantCase {
  int norm = 0, scale = 0;
  bool epsAdd = false, hasScale = false, hasBias = false;
  float eps = 1e-5f, normEps = 1e-5f;

  std::string name() const {
    return std::string("norm ") + kNorms[norm] + " scale " + kScales[scale] + (epsAdd ? " eps add" : " eps max") +
           (hasScale ? " +nscale" : "") + (hasBias ? " +nbias" : "") + " eps " + std::to_string(eps);
  }
};

/// Every norm x scale mode x eps mode, with and without the norm's scale and bias where they are optional.
std::vector<ActQuantCase> actQuantCases(float eps) {
  std::vector<ActQuantCase> cases;
  for (int norm = 0; norm < 4; ++norm)
    for (int scale = 0; scale < 3; ++scale)
      for (bool epsAdd : {false, true})
        for (int variant = 0; variant < 2; ++variant) {
          ActQuantCase c;
          c.norm = norm;
          c.scale = scale;
          c.epsAdd = epsAdd;
          c.eps = eps;
          c.normEps = variant ? 1e-6f : 1e-5f;
          if (norm == 0 && variant) continue; // no operands to vary
          c.hasScale = norm == 3 || (norm != 0 && variant);
          c.hasBias = norm == 3 && variant;
          cases.push_back(c);
        }
  return cases;
}

/// tk_actquant_f32 on rows x [rows, K] against the interpreter: q identical, s identical bits (both NaN for
/// NaN).
void checkActQuant(const ActQuantCase &c, const std::vector<float> &x, int64_t rows, int64_t K, std::mt19937 &rng,
                   const std::string &what) {
  std::string where = c.name() + " " + std::to_string(rows) + "x" + std::to_string(K) + " " + what;
  std::uniform_real_distribution<float> param(-2.0f, 2.0f);
  std::vector<float> nscale(static_cast<size_t>(K)), nbias(static_cast<size_t>(K));
  for (float &v : nscale) v = param(rng);
  for (float &v : nbias) v = param(rng);
  Tensor xt = f32Tensor({rows, K}, x);
  Tensor st = c.hasScale ? f32Tensor({K}, nscale) : Tensor();
  Tensor bt = c.hasBias ? f32Tensor({K}, nbias) : Tensor();
  Attrs a;
  a.set("norm", std::string(kNorms[c.norm]));
  a.set("scale", std::string(kScales[c.scale]));
  a.set("eps_mode", std::string(c.epsAdd ? "add" : "max"));
  a.set("eps", c.eps);
  a.set("norm_eps", c.normEps);
  std::vector<Tensor> inputs = {xt};
  if (c.hasScale || c.hasBias) inputs.push_back(st);
  if (c.hasBias) inputs.push_back(bt);
  std::vector<Type> types;
  for (const Tensor &t : inputs) types.push_back(typeOf(t));
  std::vector<Tensor> want = interpretOp("ActQuant", inputs, types, a, 2);
  const int8_t *wq = want[0].data<int8_t>();
  const float *ws = want[1].data<float>();

  const float *ns = c.hasScale ? nscale.data() : nullptr, *nb = c.hasBias ? nbias.data() : nullptr;
  std::vector<int8_t> q(static_cast<size_t>(rows * K));
  std::vector<float> s(static_cast<size_t>(rows));
  int64_t items = tk_actquant_f32_items(x.data(), ns, nb, q.data(), s.data(), rows, K, c.norm, c.scale, c.epsAdd,
                                        c.eps, c.normEps);
  EXPECT_EQ(items, rows) << where;
  EXPECT_GE(tk_actquant_f32_grain(x.data(), ns, nb, q.data(), s.data(), rows, K, c.norm, c.scale, c.epsAdd, c.eps,
                                  c.normEps),
            1)
      << where;
  ItemDriver d;
  d.poison = [&](int v) {
    std::fill(q.begin(), q.end(), kPoisonQ[v]);
    poisonFloats(s, v);
  };
  d.run = [&](int64_t b, int64_t e) {
    tk_actquant_f32(x.data(), ns, nb, q.data(), s.data(), rows, K, c.norm, c.scale, c.epsAdd, c.eps, c.normEps, b,
                    e);
  };
  d.written = [&](int v) {
    std::vector<bool> w = floatsWritten(s, v);
    for (int8_t e : q) w.push_back(e != kPoisonQ[v]);
    return w;
  };
  d.check = [&](const std::string &how) {
    for (int64_t r = 0; r < rows; ++r) {
      if (std::isnan(ws[r])) {
        EXPECT_TRUE(std::isnan(s[r])) << where << " " << how << " row " << r << ": s " << s[r] << ", want NaN";
      } else {
        uint32_t got, exp;
        std::memcpy(&got, &s[r], 4);
        std::memcpy(&exp, &ws[r], 4);
        EXPECT_EQ(got, exp) << where << " " << how << " row " << r << ": s " << s[r] << ", want " << ws[r];
      }
      int bad = 0;
      for (int64_t j = 0; j < K && bad < 3; ++j)
        if (q[r * K + j] != wq[r * K + j]) {
          ++bad;
          ADD_FAILURE() << where << " " << how << " q[" << r << "," << j << "] = " << int(q[r * K + j]) << ", want "
                        << int(wq[r * K + j]) << " (x " << x[r * K + j] << ")";
        }
    }
  };
  checkItems(items, d, where);
}

/// Random rows, each of its own magnitude (1e-3 .. 1e3), some with an outlier.
std::vector<float> randomRows(int64_t rows, int64_t K, std::mt19937 &rng) {
  std::vector<float> x(static_cast<size_t>(rows * K));
  std::uniform_real_distribution<double> u(-1, 1), expo(-3, 3);
  for (int64_t r = 0; r < rows; ++r) {
    double mag = std::pow(10.0, expo(rng));
    for (int64_t j = 0; j < K; ++j) x[r * K + j] = float(u(rng) * mag);
    if (r % 3 == 1) x[r * K + rng() % K] = float(mag * 40);
  }
  return x;
}

TEST(TernaryKernels, ActQuantMatchesTheInterpreterBitForBit) {
  std::mt19937 rng(11);
  for (const ActQuantCase &c : actQuantCases(1e-5f))
    for (int64_t rows : {1, 3, 17})
      for (int64_t K : {1, 7, 96, 2560}) checkActQuant(c, randomRows(rows, K, rng), rows, K, rng, "random");
}

/// Rows of special values: zeros, a NaN, +-inf, huge values, halves that stay exact halves after scaling
/// (max 127 and values k + 0.5), subnormals, mixed magnitudes, a single nonzero, a tie at the clamp.
std::vector<float> specialRows(int64_t K, std::mt19937 &rng, int64_t &rows) {
  std::vector<std::vector<float>> r;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto randomRow = [&](float mag) {
    std::vector<float> v(static_cast<size_t>(K));
    for (float &e : v) e = u(rng) * mag;
    return v;
  };
  r.push_back(std::vector<float>(size_t(K), 0.0f));
  r.push_back(std::vector<float>(size_t(K), -0.0f));
  for (float special : {kNaN, kInf, -kInf, 3e38f, -3.4e38f}) {
    std::vector<float> v = randomRow(2.0f);
    v[size_t(K / 2)] = special;
    r.push_back(v);
  }
  r.push_back(randomRow(3e38f));
  {
    std::vector<float> v(static_cast<size_t>(K));
    for (int64_t j = 0; j < K; ++j) v[size_t(j)] = float(j % 254 - 127) + 0.5f;
    v[0] = 127.0f;
    r.push_back(v);
    for (float &e : v) e = -e;
    r.push_back(v);
  }
  r.push_back(randomRow(1e-40f));
  {
    std::vector<float> v = randomRow(1.0f);
    for (int64_t j = 0; j < K; ++j) v[size_t(j)] *= std::pow(10.0f, float(j % 61 - 30));
    r.push_back(v);
  }
  {
    std::vector<float> v(static_cast<size_t>(K), 0.0f);
    v[size_t(K - 1)] = -2.5f;
    r.push_back(v);
  }
  r.push_back(std::vector<float>(size_t(K), 1.0f));
  r.push_back(std::vector<float>(size_t(K), -1e-8f));
  rows = int64_t(r.size());
  std::vector<float> x;
  for (const auto &v : r) x.insert(x.end(), v.begin(), v.end());
  return x;
}

TEST(TernaryKernels, ActQuantSpecialValuesMatchTheInterpreter) {
  std::mt19937 rng(12);
  for (float eps : {1e-5f, 0.0f, 0.75f})
    for (const ActQuantCase &c : actQuantCases(eps))
      for (int64_t K : {1, 7, 96, 2560}) {
        int64_t rows = 0;
        std::vector<float> x = specialRows(K, rng, rows);
        checkActQuant(c, x, rows, K, rng, "special");
      }
}

/// The exact-halves row quantizes to even neighbours (a direct check, not only against the interpreter).
TEST(TernaryKernels, ActQuantRoundsHalvesToEven) {
  const int64_t K = 6;
  std::vector<float> x = {127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -126.5f};
  std::vector<int8_t> q(K);
  float s = 0;
  tk_actquant_f32(x.data(), nullptr, nullptr, q.data(), &s, 1, K, 0, 0, 0, 1e-5f, 1e-5f, 0, 1);
  EXPECT_EQ(s, 1.0f);
  EXPECT_EQ(std::vector<int>(q.begin(), q.end()), (std::vector<int>{127, 0, 2, 2, 0, -126}));
}

// ---------------------------------------------------------------------------
// TernaryMatMul
// ---------------------------------------------------------------------------

/// A scale granularity: 0 per tensor, 1 per row, g > 1 per group of g.
std::string granularityName(int64_t g) { return g == 0 ? "tensor" : g == 1 ? "row" : "g" + std::to_string(g); }

void checkTernaryMatMul(int64_t M, int64_t N, int64_t K, int64_t g, std::mt19937 &rng) {
  std::string where = granularityName(g) + " M " + std::to_string(M) + " N " + std::to_string(N) + " K " +
                      std::to_string(K);
  TernScale ts = g == 0 ? TernScale{TernScale::Tensor, 0} : g == 1 ? TernScale{TernScale::Row, 0}
                                                                 : TernScale{TernScale::Group, g};
  int64_t sRow = g == 0 ? 0 : g == 1 ? 1 : K / g, group = g > 1 ? g : K;
  int64_t nScales = g == 0 ? 1 : g == 1 ? N : N * (K / g);
  std::uniform_real_distribution<float> ux(-3.0f, 3.0f), us(0.01f, 0.1f);
  std::vector<int64_t> scaleShape = g == 0 ? std::vector<int64_t>{1} : g == 1 ? std::vector<int64_t>{N}
                                                                             : std::vector<int64_t>{N, K / g};
  Tensor x(DType::F32, {M, K}), w(DType::Tern, {N, K}), scale(DType::F32, scaleShape);
  for (int64_t i = 0; i < M * K; ++i) x.mutableData<float>()[i] = ux(rng);
  for (int64_t i = 0; i < N * K; ++i) w.mutableData<int8_t>()[i] = int8_t(int(rng() % 3) - 1);
  for (int64_t i = 0; i < nScales; ++i) scale.mutableData<float>()[i] = us(rng);
  std::vector<Type> types = {typeOf(x), Type::tern(ts, {N, K}), typeOf(scale)};
  std::vector<Tensor> inputs = {x, w, scale};
  Tensor want = interpretOp("TernaryMatMul", inputs, types, {}, 1)[0];
  const float *wy = want.data<float>();
  // Tolerance: 1e-5 of max|y|, or of the outputs' typical size sqrt(sum of squared terms) when that is larger,
  // as when a lone output (M = N = 1) happens to cancel to near 0 while the f32 sum's rounding does not.
  double maxAbs = 0, typical = 0;
  for (int64_t i = 0; i < M * N; ++i) maxAbs = std::max(maxAbs, std::fabs(double(wy[i])));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double sq = 0;
      for (int64_t k = 0; k < K; ++k) {
        double term = double(x.data<float>()[m * K + k]) * double(w.data<int8_t>()[n * K + k]) *
                      double(scale.data<float>()[n * sRow + k / group]);
        sq += term * term;
      }
      typical = std::max(typical, std::sqrt(sq));
    }
  double tol = 1e-5 * std::max(maxAbs, typical);

  const float *xp = x.data<float>(), *sp = scale.data<float>();
  const int8_t *tp = w.data<int8_t>();
  std::vector<float> y(static_cast<size_t>(M * N));
  int64_t items = tk_ternary_matmul_f32_items(xp, tp, sp, y.data(), M, N, K, sRow, group);
  EXPECT_GE(items, 1) << where;
  EXPECT_LE(items, N) << where;
  EXPECT_GE(tk_ternary_matmul_f32_grain(xp, tp, sp, y.data(), M, N, K, sRow, group), 1) << where;
  ItemDriver d;
  d.poison = [&](int v) { poisonFloats(y, v); };
  d.run = [&](int64_t b, int64_t e) { tk_ternary_matmul_f32(xp, tp, sp, y.data(), M, N, K, sRow, group, b, e); };
  d.written = [&](int v) { return floatsWritten(y, v); };
  d.check = [&](const std::string &how) {
    int bad = 0;
    for (int64_t i = 0; i < M * N && bad < 3; ++i)
      if (!(std::fabs(double(y[i]) - double(wy[i])) <= tol)) {
        ++bad;
        ADD_FAILURE() << where << " " << how << " y[" << i / N << "," << i % N << "] = " << y[i] << ", want "
                      << wy[i] << " (tolerance " << tol << ")";
      }
  };
  checkItems(items, d, where);
}

TEST(TernaryKernels, TernaryMatMulMatchesTheInterpreter) {
  std::mt19937 rng(13);
  for (int64_t K : {96, 2560})
    for (int64_t g : {0, 1, 32, 64, 128}) {
      if (g > 1 && K % g) continue;
      for (int64_t M : {1, 7, 128})
        for (int64_t N : {1, 3, 17}) checkTernaryMatMul(M, N, K, g, rng);
    }
}

/// Shapes beyond the basic grid: vector tails (K 1, 7; groups of 24, not a multiple of the SIMD width),
/// packed k blocks with a vector tail (K 1080 in groups of 24: blocks of 512, 512 and 56), and enough columns
/// for wide items (N 520).
TEST(TernaryKernels, TernaryMatMulOddShapes) {
  std::mt19937 rng(14);
  for (int64_t K : {1, 7, 33})
    for (int64_t g : {0, 1}) checkTernaryMatMul(5, 19, K, g, rng);
  checkTernaryMatMul(7, 17, 96, 24, rng);
  checkTernaryMatMul(130, 5, 1080, 24, rng);
  checkTernaryMatMul(130, 5, 1080, 0, rng);
  for (int64_t g : {1, 64}) {
    checkTernaryMatMul(7, 520, 128, g, rng);
    checkTernaryMatMul(40, 520, 128, g, rng);
  }
}

} // namespace
