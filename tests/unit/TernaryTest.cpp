// TernaryTest: the ternary ops against independent references, and the
// act-quant, ternarize and fuse-bitlinear passes by interpreting modules
// before and after them on random inputs.
#include "frontend/onnx/OnnxImporter.h"
#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/Interpreter.h"
#include "ir/Npy.h"
#include "ir/TernaryPacking.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "passes/Pass.h"
#include "passes/TernaryStats.h"
#include "targets/Target.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <sstream>

using namespace ternc;

namespace ternc {
/// Names a granularity in test failure messages.
void PrintTo(const TernScale &g, std::ostream *os) { *os << "kind " << int(g.kind) << " group " << g.group; }
} // namespace ternc

namespace {

const std::string kSourceDir = TERNC_SOURCE_DIR;
const std::vector<std::string> kTernaryPipeline = {"canonicalize", "fold-constants", "cse",          "dce",
                                                   "act-quant",    "ternarize",      "fuse-bitlinear"};

/// A module under construction: one graph `main` and shorthands.
struct Builder {
  std::unique_ptr<Module> module = std::make_unique<Module>("m");
  Graph *graph = module->addGraph("main");

  Value *arg(const std::string &name, Type type) { return graph->addArgument(name, std::move(type)); }
  Value *constant(const std::string &name, Tensor t, std::optional<Type> type = std::nullopt) {
    return module->addConstant(name, std::move(t), std::move(type));
  }
  Value *scalar(const std::string &name, float v) {
    Tensor t(DType::F32, {});
    t.setDouble(0, v);
    return constant(name, t);
  }
  Value *op(std::string_view name, std::vector<Value *> operands, Attrs attrs = {}) {
    return graph->buildOp(name, std::move(operands), std::move(attrs), {std::string(name)})->result();
  }
  std::vector<Value *> ops(std::string_view name, std::vector<Value *> operands, Attrs attrs, size_t results) {
    Op *o = graph->buildOp(name, std::move(operands), std::move(attrs), std::vector<std::string>(results, ""));
    std::vector<Value *> out;
    for (size_t i = 0; i < results; ++i) out.push_back(o->result(i));
    return out;
  }
  void output(const std::string &name, Value *v) { graph->addOutput(name, v); }
};

Attrs attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
  Attrs a;
  for (const auto &[n, v] : list) a.set(n, v);
  return a;
}

Type f32(std::vector<Dim> dims) { return Type(DType::F32, std::move(dims)); }

Tensor uniform(std::vector<int64_t> shape, std::mt19937 &rng, double lo, double hi) {
  Tensor t(DType::F32, std::move(shape));
  std::uniform_real_distribution<double> d(lo, hi);
  for (int64_t i = 0; i < t.numElements(); ++i) t.setDouble(i, d(rng));
  return t;
}

Tensor randomTern(int64_t n, int64_t k, std::mt19937 &rng) {
  Tensor t(DType::Tern, {n, k});
  for (int64_t i = 0; i < t.numElements(); ++i) t.setInt(i, int64_t(rng() % 3) - 1);
  return t;
}

/// Random inputs for a graph: floats in [-3, 3] times `scale`, every symbol
/// bound to 3.
std::vector<Tensor> randomInputs(const Graph &g, std::mt19937 &rng, double scale = 1) {
  std::vector<Tensor> inputs;
  for (const auto &a : g.arguments()) {
    std::vector<int64_t> shape;
    std::map<std::string, int64_t> env;
    for (const Dim &d : a->type().dims()) {
      for (const auto &s : d.symbols()) env[s] = 3;
      shape.push_back(*d.evaluate(env));
    }
    inputs.push_back(uniform(shape, rng, -3 * scale, 3 * scale));
  }
  return inputs;
}

void runPasses(Module &m, const std::vector<std::string> &passes) {
  PassOptions opts;
  opts.passes = passes;
  opts.verifyEach = true;
  std::ostringstream dump;
  PassManager(opts, dump).run(m);
}

int countOps(const Module &m, std::string_view name) {
  int n = 0;
  for (const auto &g : m.graphs())
    for (const auto &op : g->ops()) n += op->opName() == name;
  return n;
}

/// How two results must agree.
enum class Agreement {
  Bits,    ///< identical bytes
  Values,  ///< equal values (-0.0 == +0.0)
  Close,   ///< within `tolerance` of max|before| per output
};

/// Interprets every graph of `m` on random inputs (several scales, and for
/// each graph one input with an all-zero row), runs `passes`, and checks
/// that the results agree as asked.
void expectSameResults(Module &m, const std::vector<std::string> &passes, Agreement agreement,
                       double tolerance = 0) {
  verify(m, "before the passes");
  std::mt19937 rng(99);
  std::vector<std::vector<std::vector<Tensor>>> inputs, before;
  for (const auto &g : m.graphs()) {
    inputs.emplace_back();
    before.emplace_back();
    for (double scale : {1.0, 1e-3, 1e3}) inputs.back().push_back(randomInputs(*g, rng, scale));
    std::vector<Tensor> zeroRow = randomInputs(*g, rng);
    for (Tensor &t : zeroRow)
      for (int64_t i = 0; i < (t.rank() ? t.shape().back() : 1); ++i) t.setDouble(i, 0.0);
    inputs.back().push_back(zeroRow);
    for (const auto &in : inputs.back()) before.back().push_back(interpret(*g, in));
  }
  runPasses(m, passes);
  for (size_t gi = 0; gi < m.graphs().size(); ++gi) {
    const Graph &g = *m.graphs()[gi];
    for (size_t trial = 0; trial < inputs[gi].size(); ++trial) {
      auto after = interpret(g, inputs[gi][trial]);
      ASSERT_EQ(after.size(), before[gi][trial].size());
      for (size_t o = 0; o < after.size(); ++o) {
        const Tensor &a = after[o], &b = before[gi][trial][o];
        std::string where = "graph " + g.name() + ", output " + g.outputNames()[o] + ", trial " +
                            std::to_string(trial);
        ASSERT_EQ(a.dtype(), b.dtype()) << where;
        ASSERT_EQ(a.shape(), b.shape()) << where;
        if (agreement == Agreement::Bits) {
          EXPECT_TRUE(a.identical(b)) << where;
          continue;
        }
        double maxAbs = 0;
        for (int64_t i = 0; i < b.numElements(); ++i) maxAbs = std::max(maxAbs, std::fabs(b.getDouble(i)));
        for (int64_t i = 0; i < b.numElements(); ++i) {
          double x = a.getDouble(i), y = b.getDouble(i);
          if (agreement == Agreement::Values) ASSERT_EQ(x, y) << where << ", element " << i;
          else ASSERT_LE(std::fabs(x - y), tolerance * maxAbs) << where << ", element " << i;
        }
      }
    }
  }
}

std::unique_ptr<Module> parseTestFile(const std::string &name) {
  return parseModuleFile(kSourceDir + "/tests/passes/" + name);
}

// ---------------------------------------------------------------------------
// TernaryMatMul and ternarize
// ---------------------------------------------------------------------------

/// A pseudo-quantized weight in ONNX layout [K, N]: ternary values times a
/// random magnitude per tensor, row or group of `group` along K.
Tensor pseudoQuantized(int64_t k, int64_t n, TernScale g, std::mt19937 &rng) {
  Tensor w(DType::F32, {k, n});
  std::uniform_real_distribution<float> mag(0.01f, 0.1f);
  float tensorMagnitude = mag(rng);
  std::map<std::pair<int64_t, int64_t>, float> groups;
  for (int64_t row = 0; row < n; ++row)
    for (int64_t kk = 0; kk < k; ++kk) {
      int64_t key = g.kind == TernScale::Tensor ? 0 : g.kind == TernScale::Row ? 0 : kk / g.group;
      float a = g.kind == TernScale::Tensor ? tensorMagnitude : 0;
      if (g.kind != TernScale::Tensor) {
        auto [it, fresh] = groups.try_emplace({row, key}, 0.0f);
        if (fresh) it->second = mag(rng);
        a = it->second;
      }
      w.mutableData<float>()[kk * n + row] = float(int(rng() % 3) - 1) * a;
    }
  return w;
}

class TernarizeGranularity : public ::testing::TestWithParam<TernScale> {};

TEST_P(TernarizeGranularity, TernaryMatMulIsBitIdenticalToTheMatMulItReplaces) {
  TernScale g = GetParam();
  std::mt19937 rng(7);
  const int64_t k = 256, n = 12;
  Builder b;
  Value *x = b.arg("x", f32({2, Dim::symbol("seq"), k}));
  Value *x2 = b.arg("x2", f32({Dim::symbol("m"), k}));
  Value *w = b.constant("w", pseudoQuantized(k, n, g, rng));
  b.output("y", b.op("MatMul", {x, w}));
  // Gemm with transB reads the same values as [N, K], plus a bias.
  Tensor wt(DType::F32, {n, k});
  const float *src = w->constant()->data.data<float>();
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) wt.mutableData<float>()[c * k + r] = src[r * n + c];
  b.output("z", b.op("Gemm", {x2, b.constant("wt", wt), b.constant("bias", uniform({n}, rng, -1, 1))},
                     attrs({{"transB", int64_t(1)}})));

  expectSameResults(*b.module, {"ternarize"}, Agreement::Bits);
  EXPECT_EQ(countOps(*b.module, "MatMul") + countOps(*b.module, "Gemm"), 0);
  EXPECT_EQ(countOps(*b.module, "TernaryMatMul"), 2);
  for (const auto &op : b.module->graphs()[0]->ops())
    if (op->opName() == "TernaryMatMul") {
      EXPECT_EQ(op->operand(1)->type(), Type::tern(g, {n, k}));
    }
}

INSTANTIATE_TEST_SUITE_P(TernaryTest, TernarizeGranularity,
                         ::testing::Values(TernScale{TernScale::Tensor, 0}, TernScale{TernScale::Row, 0},
                                           TernScale{TernScale::Group, 128}, TernScale{TernScale::Group, 64},
                                           TernScale{TernScale::Group, 32}),
                         [](const auto &info) {
                           const TernScale &g = info.param;
                           return g.kind == TernScale::Tensor ? std::string("tensor")
                                  : g.kind == TernScale::Row  ? std::string("row")
                                                              : "g" + std::to_string(g.group);
                         });

/// BitNet's absmean weight quantizer on a latent [N, K] weight, optionally
/// behind the straight-through estimator, transposed for MatMul.
Value *weightQuantizer(Builder &b, Value *latent, bool straightThrough) {
  Value *mean = b.op("ReduceMean", {b.op("Abs", {latent})}, attrs({{"keepdims", int64_t(0)}}));
  Value *rcp = b.op("Reciprocal", {b.op("Clip", {mean, b.scalar("eps", 1e-5f)})});
  Value *t = b.op("Clip", {b.op("Round", {b.op("Mul", {latent, rcp})}), b.scalar("lo", -1), b.scalar("hi", 1)});
  Value *wq = b.op("Div", {t, rcp});
  if (straightThrough) wq = b.op("Add", {latent, b.op("Sub", {wq, latent})});
  return b.op("Transpose", {wq}, attrs({{"perm", std::vector<int64_t>{1, 0}}}));
}

TEST(TernaryTest, TernarizeEvaluatesTheAbsmeanWeightQuantizer) {
  for (bool straightThrough : {false, true}) {
    std::mt19937 rng(3);
    Builder b;
    Value *x = b.arg("x", f32({5, 96}));
    Tensor latent(DType::F32, {40, 96});
    std::normal_distribution<float> normal(0, 0.02f);
    for (int64_t i = 0; i < latent.numElements(); ++i) latent.setDouble(i, normal(rng));
    latent.setDouble(7, 0.5);  // an outlier far beyond the scale: the estimator's rounding shows on it
    b.output("y", b.op("MatMul", {x, weightQuantizer(b, b.constant("latent", latent), straightThrough)}));
    // Without the estimator the quantized weight is exactly ternary; with it,
    // outliers are a rounding off, snapped back (see kSnapTolerance).
    if (straightThrough) expectSameResults(*b.module, {"ternarize"}, Agreement::Close, 1e-6);
    else expectSameResults(*b.module, {"ternarize"}, Agreement::Bits);
    EXPECT_EQ(countOps(*b.module, "TernaryMatMul"), 1) << straightThrough;
    EXPECT_EQ(b.module->graphs()[0]->ops().size(), 1u) << "the quantizer subgraph is gone";
    EXPECT_EQ(b.module->findConstant("latent"), nullptr);
  }
}

TEST(TernaryTest, TernarizeLeavesFloatWeightsAndTheStatsSayWhy) {
  std::mt19937 rng(5);
  Builder b;
  Value *x = b.arg("x", f32({4, 64}));
  Value *v = b.arg("v", f32({32, 8}));
  Value *normed = b.op("Mul", {x, b.constant("norm", uniform({64}, rng, 0.5, 1.5))});
  Value *t = b.op("MatMul", {normed, b.constant("w_tern", pseudoQuantized(64, 32, {TernScale::Row, 0}, rng))});
  Value *f = b.op("MatMul", {x, b.constant("w_float", uniform({64, 16}, rng, -1, 1))});
  Value *a = b.op("MatMul", {t, v});  // two activations
  Value *g = b.op("Gemm", {x, b.constant("w_alpha", pseudoQuantized(64, 8, {TernScale::Tensor, 0}, rng))},
                  attrs({{"alpha", 0.5f}}));
  b.output("f", f);
  b.output("a", a);
  b.output("g", g);

  TernaryStats pre = ternaryStats(*b.module);
  ASSERT_EQ(pre.stayedFloat.size(), 3u);
  EXPECT_EQ(pre.stayedFloat[0].kind, "ternary, not yet ternarized");

  expectSameResults(*b.module, {"ternarize"}, Agreement::Bits);
  TernaryStats stats = ternaryStats(*b.module);
  ASSERT_EQ(stats.ternary.size(), 1u);
  EXPECT_EQ(stats.ternary[0].params, 64 * 32);
  EXPECT_EQ(stats.ternary[0].kind, "row");
  EXPECT_EQ(stats.scaleParams, 32);
  ASSERT_EQ(stats.stayedFloat.size(), 2u);
  EXPECT_EQ(stats.stayedFloat[0].kind, "not ternary at any granularity");
  EXPECT_EQ(stats.stayedFloat[0].params, 64 * 16);
  EXPECT_NE(stats.stayedFloat[0].detail.find("tried tensor, row, g32"), std::string::npos)
      << stats.stayedFloat[0].detail;
  EXPECT_EQ(stats.stayedFloat[1].kind, "Gemm with alpha != 1");
  EXPECT_EQ(stats.activationMatMuls, 1);
  EXPECT_EQ(stats.otherFloatParams, 64);
  EXPECT_EQ(stats.ternaryParams(), 64 * 32);
  EXPECT_EQ(stats.floatMatMulParams(), 64 * 16 + 64 * 8);
  std::string report = stats.report();
  EXPECT_NE(report.find("ternary parameters:"), std::string::npos) << report;
  EXPECT_NE(report.find("not ternary at any granularity: 1,024 in 1"), std::string::npos) << report;
}

// ---------------------------------------------------------------------------
// ActQuant and act-quant
// ---------------------------------------------------------------------------

/// How a test fake-quant subgraph is written.
struct FakeQuantForm {
  std::string name;
  std::string eps;    ///< "clip", "max", "add"
  std::string scale;  ///< "rcp(m)*127", "127/m", "m/127"
  std::string clamp;  ///< "clip", "maxmin", "minmax"
  bool straightThrough;
};

Value *fakeQuant(Builder &b, Value *x, const FakeQuantForm &f) {
  Value *m = b.op("ReduceMax", {b.op("Abs", {x})}, attrs({{"axes", std::vector<int64_t>{-1}}}));
  Value *eps = b.scalar("eps", 1e-5f), *c127 = b.scalar("c127", 127), *lo = b.scalar("lo", -128);
  Value *clamped = f.eps == "clip" ? b.op("Clip", {m, eps}) : b.op(f.eps == "max" ? "Max" : "Add", {eps, m});
  Value *s = f.scale == "rcp(m)*127" ? b.op("Mul", {c127, b.op("Reciprocal", {clamped})})
             : f.scale == "127/m"    ? b.op("Div", {c127, clamped})
                                     : b.op("Div", {clamped, c127});
  bool step = f.scale == "m/127";
  Value *r = b.op("Round", {step ? b.op("Div", {x, s}) : b.op("Mul", {x, s})});
  Value *q = f.clamp == "clip"     ? b.op("Clip", {r, lo, c127})
             : f.clamp == "maxmin" ? b.op("Min", {b.op("Max", {r, lo}), c127})
                                   : b.op("Max", {lo, b.op("Min", {c127, r})});
  Value *dq = step ? b.op("Mul", {s, q}) : b.op("Div", {q, s});
  if (f.straightThrough) dq = b.op("Add", {b.op("Sub", {dq, x}), x});
  return dq;
}

class ActQuantForm : public ::testing::TestWithParam<FakeQuantForm> {};

TEST_P(ActQuantForm, IsReplacedAndKeepsTheValues) {
  const FakeQuantForm &f = GetParam();
  Builder b;
  Value *x = b.arg("x", f32({2, Dim::symbol("seq"), 48}));
  b.output("y", fakeQuant(b, x, f));
  // With the estimator the results are identical bit for bit; without it a
  // quantized zero is +0.0 where Round gave -0.0.
  expectSameResults(*b.module, {"act-quant"}, f.straightThrough ? Agreement::Bits : Agreement::Values);
  EXPECT_EQ(countOps(*b.module, "ActQuant"), 1);
  for (const char *gone : {"Round", "Abs", "ReduceMax", "Sub", "Clip", "Min", "Max"})
    EXPECT_EQ(countOps(*b.module, gone), 0) << gone;
  EXPECT_EQ(b.module->graphs()[0]->ops().size(), 3u);  // ActQuant, Cast, Div or Mul
}

INSTANTIATE_TEST_SUITE_P(
    TernaryTest, ActQuantForm,
    ::testing::Values(FakeQuantForm{"torch", "clip", "rcp(m)*127", "clip", true},
                      FakeQuantForm{"div_max_maxmin", "max", "127/m", "maxmin", false},
                      FakeQuantForm{"step_add_minmax", "add", "m/127", "minmax", false},
                      FakeQuantForm{"step_add_ste", "add", "m/127", "clip", true},
                      FakeQuantForm{"div_add_ste", "add", "127/m", "clip", true}),
    [](const auto &info) { return info.param.name; });

TEST(TernaryTest, ActQuantUsesTheFullInt8RangePerToken) {
  std::mt19937 rng(11);
  Builder b;
  auto r = b.ops("ActQuant", {b.arg("x", f32({6, 40}))}, attrs({{"scale", std::string("rcp(m)*127")}}), 2);
  b.output("q", r[0]);
  b.output("s", r[1]);
  Tensor x = uniform({6, 40}, rng, -2, 2);
  for (int64_t j = 0; j < 40; ++j) x.setDouble(5 * 40 + j, 0.0);  // an all-zero token
  auto out = interpret(*b.graph, std::vector<Tensor>{x});
  for (int64_t row = 0; row < 6; ++row) {
    int64_t maxAbs = 0;
    double m = 0;
    for (int64_t j = 0; j < 40; ++j) {
      maxAbs = std::max<int64_t>(maxAbs, std::abs(out[0].getInt(row * 40 + j)));
      m = std::max(m, std::fabs(x.getDouble(row * 40 + j)));
      // Each q is x * s to the nearest integer (the scale rounds to f32).
      double exact = x.getDouble(row * 40 + j) * out[1].getDouble(row);
      EXPECT_LE(std::fabs(double(out[0].getInt(row * 40 + j)) - exact), 0.5 + 1e-4);
    }
    EXPECT_EQ(maxAbs, row == 5 ? 0 : 127) << "row " << row;
    EXPECT_NEAR(out[1].getDouble(row), 127.0 / std::max(m, 1e-5), 1e-5 * 127.0 / std::max(m, 1e-5));
  }
}

TEST(TernaryTest, ActQuantRoundsHalvesToEvenLikeTheGraph) {
  // max|x| = 127 makes s = 127 / 127 = 1 exactly, so x * s hits the ties.
  std::vector<double> row = {127, 2.5, -3.5, 0.5, -0.5, 1.5, -2.5, 126.5};
  Tensor x(DType::F32, {1, 8});
  for (size_t i = 0; i < row.size(); ++i) x.setDouble(int64_t(i), row[i]);
  Builder b;
  Value *in = b.arg("x", f32({1, 8}));
  auto r = b.ops("ActQuant", {in}, attrs({{"scale", std::string("127/m")}}), 2);
  b.output("q", r[0]);
  b.output("y", fakeQuant(b, in, {"ties", "max", "127/m", "clip", false}));
  auto out = interpret(*b.graph, std::vector<Tensor>{x});
  std::vector<int64_t> want = {127, 2, -4, 0, 0, 2, -2, 126};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(out[0].getInt(int64_t(i)), want[i]) << "element " << i;
    EXPECT_EQ(out[1].getDouble(int64_t(i)), double(want[i])) << "element " << i << " of the fake-quant graph";
  }
  runPasses(*b.module, {"act-quant"});
  EXPECT_EQ(countOps(*b.module, "Round"), 0);
  auto after = interpret(*b.module->graphs()[0], std::vector<Tensor>{x});
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(after[1].getDouble(int64_t(i)), double(want[i]));
}

TEST(TernaryTest, ActQuantNormMatchesTheNormOpsBitForBit) {
  for (std::string norm : {"rms", "rms-div", "layer"}) {
    std::mt19937 rng(13);
    Builder b;
    Value *x = b.arg("x", f32({Dim::symbol("t"), 40}));
    Value *w = b.constant("w", uniform({40}, rng, 0.5, 1.5));
    Value *h;
    if (norm == "layer") {
      h = b.op("LayerNormalization", {x, w, b.constant("bias", uniform({40}, rng, -0.1, 0.1))},
               attrs({{"epsilon", 1e-6f}}));
    } else {
      Value *ms = b.op("ReduceMean", {b.op("Pow", {x, b.scalar("two", 2)})}, attrs({{"axes", std::vector<int64_t>{-1}}}));
      Value *sd = b.op("Sqrt", {b.op("Add", {ms, b.scalar("eps", 1e-6f)})});
      Value *n = norm == "rms" ? b.op("Mul", {b.op("Reciprocal", {sd}), x}) : b.op("Div", {x, sd});
      h = b.op("Mul", {w, n});
    }
    auto r = b.ops("ActQuant", {h}, attrs({{"scale", std::string("127/m")}}), 2);
    b.output("q", r[0]);
    b.output("s", r[1]);
    expectSameResults(*b.module, {"fuse-bitlinear"}, Agreement::Bits);
    const Graph &g = *b.module->graphs()[0];
    ASSERT_EQ(g.ops().size(), 1u) << norm;
    EXPECT_EQ(g.ops()[0]->attrs().getString("norm", ""), norm);
  }
}

// ---------------------------------------------------------------------------
// BitLinear
// ---------------------------------------------------------------------------

/// BitLinear's result computed here from its definition: exact integer dot
/// products per scale group, each times its scale, dequantized, + bias,
/// activation (of the gate times the main product), + residual.
Tensor bitLinearReference(const Tensor &q, const Tensor &s, const Tensor &w, const Tensor &ws, int64_t group,
                          const Tensor *bias, const Tensor *gate, const Tensor *gs, const Tensor *residual,
                          const std::string &act, bool divide) {
  int64_t k = q.shape().back(), rows = q.numElements() / k, n = w.shape()[0];
  auto dot = [&](const Tensor &t, const Tensor &scale, int64_t r, int64_t row) {
    int64_t groups = k / group;
    double v = 0;
    for (int64_t gi = 0; gi < groups; ++gi) {
      int64_t acc = 0;
      for (int64_t j = gi * group; j < (gi + 1) * group; ++j) acc += q.getInt(r * k + j) * t.getInt(row * k + j);
      int64_t idx = scale.numElements() == 1 ? 0 : scale.numElements() == n ? row : row * groups + gi;
      v += double(acc) * scale.getDouble(idx);
    }
    return divide ? v / s.getDouble(r) : v * s.getDouble(r);
  };
  auto activation = [&](double v) {
    if (act == "relu") return std::max(v, 0.0);
    if (act == "relu2") return v > 0 ? v * v : 0.0;
    if (act == "silu") return v / (1.0 + std::exp(-v));
    if (act == "gelu") return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    return v;
  };
  std::vector<int64_t> shape = q.shape();
  shape.back() = n;
  Tensor y(DType::F32, shape);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t row = 0; row < n; ++row) {
      double v = dot(w, ws, r, row) + (bias ? bias->getDouble(row) : 0.0);
      v = gate ? activation(dot(*gate, *gs, r, row)) * v : activation(v);
      if (residual) v += residual->getDouble(r * n + row);
      y.setDouble(r * n + row, v);
    }
  return y;
}

TEST(TernaryTest, BitLinearMatchesAnIndependentIntegerReference) {
  std::mt19937 rng(17);
  const int64_t k = 96, n = 10;
  for (TernScale g : {TernScale{TernScale::Tensor, 0}, TernScale{TernScale::Row, 0}, TernScale{TernScale::Group, 32}})
    for (std::string act : {"none", "relu", "relu2", "silu", "gelu"})
      for (int variant = 0; variant < 4; ++variant) {
        bool gated = variant & 1, extras = variant & 2, divide = variant != 2;
        int64_t groups = g.kind == TernScale::Group ? k / g.group : 1;
        std::vector<int64_t> scaleShape = g.kind == TernScale::Tensor ? std::vector<int64_t>{1}
                                          : g.kind == TernScale::Row  ? std::vector<int64_t>{n}
                                                                      : std::vector<int64_t>{n, groups};
        Builder b;
        Value *q = b.arg("q", Type(DType::I8, {3, 4, k}));
        Value *s = b.arg("s", f32({3, 4, 1}));
        Tensor wt = randomTern(n, k, rng), ws = uniform(scaleShape, rng, 0.01, 0.1);
        Tensor gt = randomTern(n, k, rng), gs = uniform(scaleShape, rng, 0.01, 0.1);
        Tensor bias = uniform({n}, rng, -1, 1);
        std::vector<Value *> operands = {q, s, b.constant("w", wt, Type::tern(g, {n, k})), b.constant("ws", ws)};
        operands.push_back(extras ? b.constant("bias", bias) : nullptr);
        if (gated) {
          operands.push_back(b.constant("gate", gt, Type::tern(g, {n, k})));
          operands.push_back(b.constant("gs", gs));
        } else {
          operands.insert(operands.end(), {nullptr, nullptr});
        }
        operands.push_back(nullptr);  // gate bias
        Value *residual = extras ? b.arg("r", f32({3, 4, n})) : nullptr;
        operands.push_back(residual);
        while (!operands.back()) operands.pop_back();
        b.output("y", b.op("BitLinear", operands,
                           attrs({{"act", act}, {"dequant", std::string(divide ? "div" : "mul")}})));

        // q over the whole int8 range, -128 included.
        Tensor qt(DType::I8, {3, 4, k});
        for (int64_t i = 0; i < qt.numElements(); ++i) qt.setInt(i, int64_t(rng() % 256) - 128);
        Tensor st = uniform({3, 4, 1}, rng, 0.5, 50), rt = uniform({3, 4, n}, rng, -2, 2);
        std::vector<Tensor> in = {qt, st};
        if (extras) in.push_back(rt);
        Tensor y = interpret(*b.graph, in)[0];
        Tensor want = bitLinearReference(qt, st, wt, ws, g.kind == TernScale::Group ? g.group : k,
                                         extras ? &bias : nullptr, gated ? &gt : nullptr, gated ? &gs : nullptr,
                                         extras ? &rt : nullptr, act, divide);
        ASSERT_TRUE(y.identical(want)) << act << " variant " << variant << " granularity " << int(g.kind);
      }
}

TEST(TernaryTest, BitLinearAccumulatorsDoNotOverflowAtTheLargestK) {
  const int64_t k = 32768;
  for (int sign : {1, -1}) {
    Builder b;
    Tensor w(DType::Tern, {2, k}), ws(DType::F32, {2, k / 128});
    for (int64_t i = 0; i < w.numElements(); ++i) w.setInt(i, sign);
    for (int64_t i = 0; i < ws.numElements(); ++i) ws.setDouble(i, 1.0);
    b.output("y", b.op("BitLinear", {b.arg("q", Type(DType::I8, {1, k})), b.arg("s", f32({1, 1})),
                                     b.constant("w", w, Type::tern({TernScale::Group, 128}, {2, k})),
                                     b.constant("ws", ws)}));
    Tensor q(DType::I8, {1, k}), s(DType::F32, {1, 1});
    for (int64_t i = 0; i < k; ++i) q.setInt(i, sign > 0 ? 127 : -128);
    s.setDouble(0, 1.0);
    Tensor y = interpret(*b.graph, std::vector<Tensor>{q, s})[0];
    double want = sign > 0 ? 127.0 * k : 128.0 * k;  // 4161536 / 4194304: exact in f32
    EXPECT_EQ(y.getDouble(0), want);
    EXPECT_EQ(y.getDouble(1), want);
  }
}

// ---------------------------------------------------------------------------
// The passes on the lit tests' modules and on the exported BitNet block
// ---------------------------------------------------------------------------

TEST(TernaryTest, ActQuantLitCasesKeepTheirValues) {
  auto m = parseTestFile("act-quant.tir");
  expectSameResults(*m, {"act-quant"}, Agreement::Values);
  EXPECT_EQ(countOps(*m, "ActQuant"), 3);
}

TEST(TernaryTest, TernarizeLitCasesKeepTheirValues) {
  // Exact except for the snapped and the estimator-rounded weights.
  auto m = parseTestFile("ternarize.tir");
  expectSameResults(*m, {"ternarize"}, Agreement::Close, 1e-6);
  EXPECT_EQ(countOps(*m, "TernaryMatMul"), 5);
}

TEST(TernaryTest, FuseBitLinearLitCasesMatchTheFloatGraph) {
  // The fused integer math differs from the float graph by float rounding
  // only; the norms are bit-identical, so every int8 activation is the same.
  auto m = parseTestFile("fuse-bitlinear.tir");
  expectSameResults(*m, {"fuse-bitlinear"}, Agreement::Close, 2e-6);
  EXPECT_EQ(countOps(*m, "BitLinear"), 9);
  EXPECT_EQ(countOps(*m, "TernaryMatMul"), 1);
}

TEST(TernaryTest, X86PackingKeepsTheValuesBitForBit) {
  TargetRegistry::global();  // registers the targets' passes
  for (const char *pass : {"x86-pack-avx2", "x86-pack-vnni256", "x86-pack-vnni512"}) {
    SCOPED_TRACE(pass);
    auto m = parseTestFile("x86-pack-ternary.tir");
    expectSameResults(*m, {pass}, Agreement::Bits);
    // The two weights the kernels take (one read by two graphs) and the three tiled scales (one in binary16, two
    // in f32: their op has a scale binary16 cannot hold), all of which the interpreter unpacks.
    int packed = 0, tiledHalf = 0, tiledF32 = 0;
    for (const auto &c : m->constants()) {
      packed += findTernaryLayout(c->layout) != nullptr;
      tiledHalf += c->layout == "scales16h";
      tiledF32 += c->layout == "scales16";
    }
    EXPECT_EQ(packed, 2);
    EXPECT_EQ(tiledHalf, 1);
    EXPECT_EQ(tiledF32, 2);
  }
}

TEST(TernaryTest, PipelineOnTheBitNetExampleMatchesPyTorch) {
  const std::string dir = kSourceDir + "/examples/bitnet_block";
  auto m = importOnnx(dir + "/model.onnx");
  runPasses(*m, kTernaryPipeline);
  const Graph &g = *m->graphs()[0];
  ASSERT_EQ(g.ops().size(), 4u);
  EXPECT_EQ(countOps(*m, "ActQuant"), 2);
  EXPECT_EQ(countOps(*m, "BitLinear"), 2);
  Tensor expected = readNpy(dir + "/expected.npy");
  Tensor y = interpret(g, std::vector<Tensor>{readNpy(dir + "/input.npy")})[0];
  ASSERT_EQ(y.shape(), expected.shape());
  double maxAbs = 0, maxErr = 0;
  for (int64_t i = 0; i < y.numElements(); ++i) {
    maxAbs = std::max(maxAbs, std::fabs(expected.getDouble(i)));
    maxErr = std::max(maxErr, std::fabs(y.getDouble(i) - expected.getDouble(i)));
  }
  EXPECT_LE(maxErr, 2e-6 * maxAbs);
  TernaryStats stats = ternaryStats(*m);
  EXPECT_EQ(stats.ternaryParams(), 2 * 64 * 128);
  EXPECT_TRUE(stats.stayedFloat.empty());
}

} // namespace
