// QuantizeHeadTest: the int8 LM head. quantizeColumnsInt8's rule on hand-made columns (ties to even, an
// all-zero column, clamping, non-finite weights); the quantize-head pass (what it rewrites and what it leaves,
// one int8 constant for prefill and decode, the interpreter's results within the quantization bound of the
// f32 head, fold-constants keeping the int8 form, plan-memory storing nothing for the f32 weight); and the
// kernel tk_head_int8_f32 (compiled natively) against the interpreter's MatMul(x, Transpose(DequantizeLinear))
// on random shapes, with M = 1 and 3 and N and K not multiples of the vector width, its items run in any
// order and split.
#include "codegen/kernels/Kernels.h"
#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "passes/Pass.h"
#include "passes/PlanMemory.h"
#include "passes/QuantizeHead.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>

using namespace ternc;

namespace {

Tensor f32(std::vector<int64_t> shape, const std::vector<float> &v) {
  Tensor t(DType::F32, std::move(shape));
  EXPECT_EQ(t.numElements(), int64_t(v.size()));
  std::copy(v.begin(), v.end(), t.mutableData<float>());
  return t;
}

Tensor randomF32(std::vector<int64_t> shape, std::mt19937 &rng, float scale = 1.0f) {
  Tensor t(DType::F32, std::move(shape));
  std::normal_distribution<float> d(0.0f, scale);
  for (float &v : std::span(t.mutableData<float>(), size_t(t.numElements()))) v = d(rng);
  return t;
}

Type typeOf(const std::vector<Dim> &dims, DType dt = DType::F32) { return Type(dt, dims); }

void runPasses(Module &m, std::vector<std::string> passes) {
  PassOptions opts;
  opts.passes = std::move(passes);
  opts.verifyEach = true;
  std::ostringstream dump;
  PassManager(opts, dump).run(m);
}

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "<no error>";
}

// ---- The quantization rule ----------------------------------------------------------------------------------

TEST(QuantizeHeadTest, ColumnsRoundHalfToEvenWithScaleMaxOver127) {
  // W [K = 4, N = 3]: column 0 has scale 63.5 / 127 = 0.5, so 1.25 / 0.5 = 2.5 -> 2, -1.75 -> -3.5 -> -4,
  // 0.75 -> 1.5 -> 2; column 1 is zero (scale 0, q 0); column 2's scale is 0.25 (max |-31.75|), 0.125 -> 0.5
  // -> 0, 0.375 -> 1.5 -> 2.
  Tensor w = f32({4, 3}, {63.5f, 0, -31.75f, 1.25f, 0, 0.125f, -1.75f, 0, 0.375f, 0.75f, 0, 1.0f});
  Int8Columns c = quantizeColumnsInt8(w, "w");
  ASSERT_EQ(c.q.dtype(), DType::I8);
  ASSERT_EQ(c.q.shape(), (std::vector<int64_t>{3, 4}));
  ASSERT_EQ(c.scale.shape(), (std::vector<int64_t>{3}));
  std::vector<int64_t> q;
  for (int64_t i = 0; i < 12; ++i) q.push_back(c.q.getInt(i));
  EXPECT_EQ(q, (std::vector<int64_t>{127, 2, -4, 2, 0, 0, 0, 0, -127, 0, 2, 4}));
  EXPECT_EQ(c.scale.data<float>()[0], 0.5f);
  EXPECT_EQ(c.scale.data<float>()[1], 0.0f);
  EXPECT_EQ(c.scale.data<float>()[2], 0.25f);
}

TEST(QuantizeHeadTest, ColumnsStayWithin127AndHalfAStep) {
  std::mt19937 rng(7);
  Tensor w = randomF32({37, 29}, rng, 3.0f);
  w.mutableData<float>()[5] = 1e-44f;  // a subnormal in a column with normal values
  Int8Columns c = quantizeColumnsInt8(w, "w");
  const float *wp = w.data<float>(), *s = c.scale.data<float>();
  const int8_t *q = c.q.data<int8_t>();
  for (int64_t n = 0; n < 29; ++n) {
    float mx = 0;
    for (int64_t k = 0; k < 37; ++k) mx = std::max(mx, std::fabs(wp[k * 29 + n]));
    EXPECT_EQ(s[n], mx / 127.0f);
    bool hitsMax = false;
    for (int64_t k = 0; k < 37; ++k) {
      int v = q[n * 37 + k];
      EXPECT_LE(std::abs(v), 127);
      hitsMax = hitsMax || std::abs(v) == 127;
      // Dequantized within half a step (plus the f32 rounding of the division).
      EXPECT_LE(std::fabs(float(v) * s[n] - wp[k * 29 + n]), 0.5f * s[n] * (1 + 1e-6f)) << n << ", " << k;
    }
    EXPECT_TRUE(hitsMax) << "column " << n;
  }
}

TEST(QuantizeHeadTest, ColumnsRejectNonFiniteWeights) {
  Tensor w = f32({2, 2}, {1, 2, std::numeric_limits<float>::infinity(), 4});
  EXPECT_EQ(errorOf([&] { quantizeColumnsInt8(w, "quantize-head: @w"); }),
            "quantize-head: @w: weight [1, 0] is inf; an int8 head needs finite weights");
  w.mutableData<float>()[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(errorOf([&] { quantizeColumnsInt8(w, "w"); }).find("weight [1, 0] is nan"), std::string::npos);
  EXPECT_NE(errorOf([&] { quantizeColumnsInt8(Tensor(DType::F32, {2, 2, 2}), "w"); }).find("f32 [K, N]"),
            std::string::npos);
}

// ---- The pass ----------------------------------------------------------------------------------------------

/// Graphs `prefill` (x [1, seq, K]) and `decode` (x [1, 1, K]) whose `logits` = MatMul(x, @w), plus graph
/// `other` (y = MatMul(x, @w) not named logits, and logits of a weight that is an input).
std::unique_ptr<Module> headModule(int64_t K, int64_t N, std::mt19937 &rng) {
  auto m = std::make_unique<Module>("lm");
  Value *w = m->addConstant("head", randomF32({K, N}, rng, 0.05f));
  for (const char *name : {"prefill", "decode"}) {
    Graph *g = m->addGraph(name);
    Dim seq = std::string(name) == "prefill" ? Dim::symbol("seq") : Dim(1);
    Value *x = g->addArgument("x", typeOf({Dim(1), seq, Dim(K)}));
    Value *h = g->buildOp("Mul", {x, x}, {}, {"h"})->result();
    g->addOutput("logits", g->buildOp("MatMul", {h, w}, {}, {"logits"})->result());
  }
  Graph *g = m->addGraph("other");
  Value *x = g->addArgument("x", typeOf({Dim(2), Dim(K)}));
  Value *wi = g->addArgument("w", typeOf({Dim(K), Dim(N)}));
  g->addOutput("y", g->buildOp("MatMul", {x, w}, {}, {"y"})->result());
  g->addOutput("logits", g->buildOp("MatMul", {x, wi}, {}, {"logits"})->result());
  verify(*m, "the test module");
  return m;
}

TEST(QuantizeHeadTest, PassRewritesTheLogitsMatMulOnly) {
  std::mt19937 rng(11);
  auto m = headModule(24, 40, rng);
  runPasses(*m, {"quantize-head"});
  const Value *q = nullptr;
  for (const char *name : {"prefill", "decode"}) {
    const Graph &g = *m->findGraph(name);
    const Op *mm = g.outputs()[0]->definingOp();
    auto w = matchInt8Weight(*mm);
    ASSERT_TRUE(w) << name;
    EXPECT_EQ(w->n, 40);
    EXPECT_EQ(w->k, 24);
    EXPECT_EQ(w->q->name(), "head_q");
    EXPECT_EQ(w->scale->name(), "head_qscale");
    if (q) {
      EXPECT_EQ(w->q, q) << "prefill and decode share one int8 constant";
    }
    q = w->q;
    EXPECT_EQ(int8WeightValues(g).size(), 2u);
  }
  const Graph &other = *m->findGraph("other");
  for (const Value *out : other.outputs()) {
    EXPECT_FALSE(matchInt8Weight(*out->definingOp()));
    EXPECT_EQ(out->definingOp()->numOperands(), 2u);
  }
  EXPECT_EQ(other.outputs()[0]->definingOp()->operand(1)->name(), "head");
  // Nothing left to do a second time.
  std::unique_ptr<Pass> pass = PassRegistry::global().create("quantize-head");
  EXPECT_FALSE(pass->run(*m));
}

TEST(QuantizeHeadTest, InterpretedLogitsStayWithinTheQuantizationBound) {
  std::mt19937 rng(12);
  const int64_t K = 48, N = 70, S = 3;
  auto m = headModule(K, N, rng);
  Tensor x = randomF32({1, S, K}, rng);
  const Graph *prefill = m->findGraph("prefill");
  Tensor before = interpret(*prefill, std::vector<Tensor>{x})[0];
  const Tensor w = m->findConstant("head")->constant()->data;
  runPasses(*m, {"quantize-head"});
  Tensor after = interpret(*prefill, std::vector<Tensor>{x})[0];
  auto weight = matchInt8Weight(*prefill->outputs()[0]->definingOp());
  ASSERT_TRUE(weight);
  const Tensor &qt = weight->q->constant()->data, &st = weight->scale->constant()->data;
  ASSERT_EQ(after.shape(), before.shape());
  for (int64_t s = 0; s < S; ++s)
    for (int64_t n = 0; n < N; ++n) {
      // Each dequantized weight is within half a step of the f32 one: |error| <= sum_k |h_k| * scale / 2.
      double bound = 0, exact = 0;
      for (int64_t k = 0; k < K; ++k) {
        double h = double(x.data<float>()[s * K + k]) * x.data<float>()[s * K + k];
        bound += std::fabs(h) * 0.5 * st.data<float>()[n];
        exact += h * double(float(double(qt.getInt(n * K + k)) * st.data<float>()[n]));
      }
      double got = after.data<float>()[s * N + n], ref = before.data<float>()[s * N + n];
      EXPECT_LE(std::fabs(got - ref), bound * 1.001 + 1e-6) << s << ", " << n;
      // And the interpreter computes exactly the dequantized product (in double, rounded once).
      EXPECT_NEAR(got, exact, 1e-6 * std::max(1.0, std::fabs(exact)));
    }
  (void)w;
}

TEST(QuantizeHeadTest, FoldConstantsKeepsTheInt8WeightAndPlanMemoryStoresNothingForIt) {
  std::mt19937 rng(13);
  auto m = headModule(16, 24, rng);  // a 1.5 KB f32 weight: small enough that fold-constants would fold it
  runPasses(*m, {"quantize-head", "fold-constants", "cse", "dce"});
  EXPECT_EQ(m->findConstant("head_q")->type().str(), "i8[24,16]");
  Graph &g = *m->findGraph("decode");
  ASSERT_TRUE(matchInt8Weight(*g.outputs()[0]->definingOp()));
  runPasses(*m, {"plan-memory"});
  auto w = matchInt8Weight(*g.outputs()[0]->definingOp());
  EXPECT_EQ(slotOf(*w->transpose->result()), kSlotFused);
  EXPECT_EQ(slotOf(*w->dequantize->result()), kSlotFused);
  // A weight that is also read as a value is computed and stored like any other.
  g.addOutput("w", const_cast<Value *>(w->transpose->result()));
  runPasses(*m, {"plan-memory"});
  EXPECT_GE(slotOf(*w->dequantize->result()), 0);
  EXPECT_EQ(slotOf(*w->transpose->result()), kSlotOutput);
  EXPECT_TRUE(matchInt8Weight(*g.outputs()[0]->definingOp()));
}

// ---- The kernel ------------------------------------------------------------------------------------------------

/// y = MatMul(x [M, K], Transpose(DequantizeLinear(q [N, K], scale [N], axis 0))) on the interpreter.
Tensor interpretHead(const Tensor &x, const Tensor &q, const Tensor &scale) {
  Module m;
  Value *qc = m.addConstant("q", q), *sc = m.addConstant("scale", scale);
  Graph *g = m.addGraph("main");
  Value *xa = g->addArgument("x", typeOf({Dim(x.shape()[0]), Dim(x.shape()[1])}));
  Attrs da, ta;
  da.set("axis", int64_t(0));
  ta.set("perm", std::vector<int64_t>{1, 0});
  Value *d = g->buildOp("DequantizeLinear", {qc, sc}, da, {"d"})->result();
  Value *t = g->buildOp("Transpose", {d}, ta, {"t"})->result();
  Op *mm = g->buildOp("MatMul", {xa, t}, {}, {"y"});
  g->addOutput("y", mm->result());
  EXPECT_TRUE(matchInt8Weight(*mm));
  return interpret(*g, std::vector<Tensor>{x})[0];
}

TEST(QuantizeHeadTest, KernelMatchesTheInterpreter) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> qd(-127, 127);
  struct Shape {
    int64_t M, N, K;
  };
  // N and K around the vector widths (4, 8, 16 floats) and the 64-column items; M = 1 (decode) and more.
  std::vector<Shape> shapes = {{1, 1, 1},   {1, 7, 5},     {3, 67, 45},  {1, 64, 16},  {3, 130, 33},
                               {1, 200, 100}, {2, 65, 64}, {5, 129, 17}, {3, 3, 200},  {1, 1000, 256}};
  for (const Shape &sh : shapes) {
    const int64_t M = sh.M, N = sh.N, K = sh.K;
    std::string where = "M " + std::to_string(M) + ", N " + std::to_string(N) + ", K " + std::to_string(K);
    Tensor x = randomF32({M, K}, rng), scale = randomF32({N}, rng, 0.01f), q(DType::I8, {N, K});
    for (int64_t i = 0; i < N * K; ++i) q.mutableData<int8_t>()[i] = int8_t(qd(rng));
    if (N > 2) scale.mutableData<float>()[1] = 0.0f;  // a zero column
    Tensor want = interpretHead(x, q, scale);
    const float *xp = x.data<float>(), *sp = scale.data<float>();
    const int8_t *qp = q.data<int8_t>();
    int64_t items = tk_head_int8_f32_items(xp, qp, sp, nullptr, M, N, K);
    ASSERT_EQ(items, (N + 63) / 64) << where;
    EXPECT_GE(tk_head_int8_f32_grain(xp, qp, sp, nullptr, M, N, K), 1) << where;
    std::vector<float> y(size_t(M * N));
    auto check = [&](const std::string &how) {
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          // f32 sums in another order than the interpreter's double sum: bound by the sum of magnitudes.
          double mag = 0;
          for (int64_t k = 0; k < K; ++k) mag += std::fabs(double(xp[m * K + k]) * qp[n * K + k] * sp[n]);
          double got = y[size_t(m * N + n)], ref = want.data<float>()[m * N + n];
          ASSERT_LE(std::fabs(got - ref), 1e-6 * mag + 1e-30) << where << ", " << how << ": y[" << m << ", " << n
                                                               << "] = " << got << ", interpreter " << ref;
        }
    };
    std::fill(y.begin(), y.end(), std::numeric_limits<float>::quiet_NaN());
    tk_head_int8_f32(xp, qp, sp, y.data(), M, N, K, 0, items);
    check("one call");
    std::fill(y.begin(), y.end(), std::numeric_limits<float>::quiet_NaN());
    for (int64_t i = items - 1; i >= 0; --i) tk_head_int8_f32(xp, qp, sp, y.data(), M, N, K, i, i + 1);
    check("items in reverse");
    // Each item writes its 64 columns of every row and nothing else.
    for (int64_t i = 0; i < items; ++i) {
      std::fill(y.begin(), y.end(), std::numeric_limits<float>::quiet_NaN());
      tk_head_int8_f32(xp, qp, sp, y.data(), M, N, K, i, i + 1);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n)
          ASSERT_EQ(std::isnan(y[size_t(m * N + n)]), n / 64 != i) << where << ", item " << i << ", n " << n;
    }
  }
}

} // namespace
