// PassesTest: every pass keeps what a module computes. Each test builds a
// module, runs the reference interpreter on random inputs before and after
// the pass, and requires bit-identical outputs; it also checks that the pass
// did rewrite what it should.
#include "frontend/onnx/OnnxImporter.h"
#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "passes/Pass.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <sstream>

using namespace ternc;

namespace {

/// A module under construction: one graph `main` and shorthands to add
/// constants and ops.
struct Builder {
  std::unique_ptr<Module> module = std::make_unique<Module>("m");
  Graph *graph = module->addGraph("main");

  Value *arg(const std::string &name, Type type) { return graph->addArgument(name, std::move(type)); }
  Value *ints(const std::string &name, std::vector<int64_t> v) { return module->addConstant(name, Tensor::fromI64(v)); }
  Value *floats(const std::string &name, std::vector<int64_t> shape, std::vector<double> v) {
    Tensor t(DType::F32, std::move(shape));
    for (size_t i = 0; i < v.size(); ++i) t.setDouble(int64_t(i), v[i]);
    return module->addConstant(name, std::move(t));
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

/// Random inputs for a graph; every symbol is bound to one size per call.
std::vector<Tensor> randomInputs(const Graph &g, std::mt19937 &rng) {
  std::map<std::string, int64_t> env;
  std::vector<Tensor> inputs;
  for (const auto &a : g.arguments()) {
    std::vector<int64_t> shape;
    for (const Dim &d : a->type().dims()) {
      for (const auto &s : d.symbols())
        if (!env.count(s)) env[s] = std::uniform_int_distribution<int64_t>(1, 4)(rng);
      auto v = d.evaluate(env);
      if (!v) throw Error("test: cannot size argument " + a->name());
      shape.push_back(*v);
    }
    Tensor t(a->type().dtype(), shape);
    for (int64_t i = 0; i < t.numElements(); ++i) {
      if (isFloat(t.dtype())) t.setDouble(i, std::uniform_real_distribution<double>(-3, 3)(rng));
      else if (t.dtype() == DType::Bool) t.setInt(i, rng() % 2);
      else t.setInt(i, std::uniform_int_distribution<int64_t>(-5, 5)(rng));
    }
    inputs.push_back(std::move(t));
  }
  return inputs;
}

int countOps(const Module &m, std::string_view name) {
  int n = 0;
  for (const auto &g : m.graphs())
    for (const auto &op : g->ops()) n += op->opName() == name;
  return n;
}

int countOps(const Module &m) {
  int n = 0;
  for (const auto &g : m.graphs()) n += int(g->ops().size());
  return n;
}

/// Runs `passes` on `m` and checks, on several random inputs for every
/// graph, that the outputs before and after are bit-identical.
void expectSameResults(Module &m, const std::vector<std::string> &passes) {
  verify(m, "before the passes");
  std::mt19937 rng(1234);
  std::vector<std::vector<std::vector<Tensor>>> inputs, before;  // [graph][trial]
  for (const auto &g : m.graphs()) {
    inputs.emplace_back();
    before.emplace_back();
    for (int trial = 0; trial < 3; ++trial) {
      inputs.back().push_back(randomInputs(*g, rng));
      before.back().push_back(interpret(*g, inputs.back().back()));
    }
  }
  PassOptions opts;
  opts.passes = passes;
  opts.verifyEach = true;
  std::ostringstream dump;
  PassManager(opts, dump).run(m);
  for (size_t gi = 0; gi < m.graphs().size(); ++gi) {
    const Graph &g = *m.graphs()[gi];
    for (size_t trial = 0; trial < inputs[gi].size(); ++trial) {
      auto after = interpret(g, inputs[gi][trial]);
      ASSERT_EQ(after.size(), before[gi][trial].size());
      for (size_t o = 0; o < after.size(); ++o)
        EXPECT_TRUE(after[o].identical(before[gi][trial][o]))
            << "graph " << g.name() << ", output " << g.outputNames()[o] << ", trial " << trial;
    }
  }
}

TEST(PassesTest, RegistryListsThePassesAndRejectsUnknownNames) {
  for (const char *name : {"canonicalize", "fold-constants", "cse", "dce"}) {
    auto pass = PassRegistry::global().create(name);
    ASSERT_NE(pass, nullptr) << name;
    EXPECT_EQ(pass->name(), name);
    EXPECT_FALSE(pass->summary().empty());
  }
  EXPECT_EQ(PassRegistry::global().create("no-such-pass"), nullptr);
  EXPECT_EQ(defaultPipeline(), (std::vector<std::string>{"canonicalize", "fold-constants", "cse", "dce"}));

  Module m;
  PassOptions opts;
  opts.passes = {"cse", "no-such-pass"};
  std::ostringstream dump;
  try {
    PassManager(opts, dump).run(m);
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("unknown pass 'no-such-pass' (known passes: canonicalize"), std::string::npos)
        << e.what();
  }
}

TEST(PassesTest, CanonicalizeRemovesIdentitiesAndKeepsResults) {
  Builder b;
  Value *x = b.arg("x", f32({2, 3, 4}));
  Value *n = b.arg("n", Type(DType::I32, {Dim(5)}));
  Value *v = b.op("Identity", {x});
  v = b.op("Cast", {v}, attrs({{"to", DType::F32}}));
  v = b.op("Reshape", {v, b.ints("shape", {2, 3, 4})});
  v = b.op("Transpose", {v}, attrs({{"perm", std::vector<int64_t>{2, 0, 1}}}));
  v = b.op("Transpose", {v}, attrs({{"perm", std::vector<int64_t>{0, 2, 1}}}));  // composed: [2, 1, 0]
  v = b.op("Add", {v, b.floats("zero", {}, {0.0})});
  v = b.op("Mul", {b.floats("ones", {1, 1, 2}, {1.0, 1.0}), v});
  v = b.op("Sub", {v, b.floats("zeros", {2}, {0.0, -0.0})});
  v = b.op("Div", {v, b.floats("one", {1}, {1.0})});
  Value *u = b.op("Unsqueeze", {v, b.ints("axis0", {0})});
  Value *s = b.op("Squeeze", {u}, attrs({{"axes", std::vector<int64_t>{-4}}}));
  Value *mean = b.op("ReduceSum", {s, b.ints("axis1", {1})});
  auto parts = b.ops("Split", {x, b.ints("split", {1, 2})}, attrs({{"axis", int64_t(1)}}), 2);
  Value *shape = b.op("Shape", {x});
  Value *flat = b.op("Reshape", {b.op("Exp", {x}), b.op("Concat", {b.ints("m1", {-1}), shape}, attrs({{"axis", int64_t(0)}}))});
  Value *ni = b.op("Mul", {n, b.module->addConstant("izero", Tensor(DType::I32, {}))});  // x * 0 stays
  b.output("s", s);
  b.output("mean", mean);
  b.output("p", parts[0]);
  b.output("q", parts[1]);
  b.output("flat", flat);
  b.output("ni", ni);

  expectSameResults(*b.module, {"canonicalize"});
  const Module &m = *b.module;
  for (const char *gone : {"Identity", "Cast", "Add", "Sub", "Div", "Squeeze", "Unsqueeze", "Shape"})
    EXPECT_EQ(countOps(m, gone), 0) << gone;
  EXPECT_EQ(countOps(m, "Transpose"), 1);
  EXPECT_EQ(countOps(m, "Mul"), 1);  // n * 0 is not an identity
  const Graph &g = *m.graphs()[0];
  for (const auto &op : g.ops()) {
    if (op->opName() == "Transpose") {
      EXPECT_EQ(op->attrs().getInts("perm"), (std::vector<int64_t>{2, 1, 0}));
    }
    if (op->opName() == "ReduceSum" || op->opName() == "Split") {
      EXPECT_EQ(op->numOperands(), 1u) << op->opName();
      EXPECT_TRUE(op->attrs().has(op->opName() == "Split" ? "split" : "axes")) << op->opName();
    }
  }
  // The Reshape of Exp(x) to [-1, 2, 3, 4] now reads a constant shape.
  EXPECT_EQ(g.outputs()[4]->type(), f32({1, 2, 3, 4}));
}

TEST(PassesTest, FoldConstantsEvaluatesConstantOpsAndStaticShapes) {
  Builder b;
  Value *x = b.arg("x", f32({Dim::symbol("batch"), 4, 6}));
  Value *w = b.floats("w", {6, 2}, {0.5, -1, 2, 0.25, -3, 1.5, 4, -0.5, 1, 2, -2, 0.75});
  Value *scale = b.op("Reciprocal", {b.op("ReduceMean", {b.op("Abs", {w})}, attrs({{"keepdims", int64_t(0)}}))});
  Value *wq = b.op("Clip", {b.op("Round", {b.op("Mul", {w, scale})}), b.floats("lo", {}, {-1}), b.floats("hi", {}, {1})});
  Value *wt = b.op("Transpose", {b.op("Transpose", {wq}, attrs({{"perm", std::vector<int64_t>{1, 0}}}))},
                   attrs({{"perm", std::vector<int64_t>{1, 0}}}));
  Value *shape = b.op("Shape", {x});
  Value *d1 = b.op("Gather", {shape, b.ints("i1", {1})}, attrs({{"axis", int64_t(0)}}));
  Value *d2 = b.op("Gather", {shape, b.ints("i2", {2})}, attrs({{"axis", int64_t(0)}}));
  Value *flatShape = b.op("Concat", {b.ints("m1", {-1}), b.op("Mul", {d1, d2})}, attrs({{"axis", int64_t(0)}}));
  Value *flat = b.op("Reshape", {x, flatShape});
  Value *y = b.op("MatMul", {b.op("Reshape", {flat, b.ints("back", {-1, 6})}), wt});
  b.output("y", y);
  b.output("flat", flat);

  expectSameResults(*b.module, {"fold-constants"});
  const Module &m = *b.module;
  for (const char *gone : {"Abs", "ReduceMean", "Reciprocal", "Round", "Clip", "Transpose", "Gather", "Concat"})
    EXPECT_EQ(countOps(m, gone), 0) << gone;
  EXPECT_EQ(m.graphs()[0]->outputs()[1]->type().str(), "f32[batch,24]");
}

TEST(PassesTest, CseMergesDuplicatesAndKeepsResults) {
  Builder b;
  Value *x = b.arg("x", f32({3, 4}));
  Value *two = b.floats("two", {}, {2});
  Value *twoAgain = b.floats("two_again", {}, {2});
  Value *a = b.op("Mul", {x, two});
  Value *c = b.op("Mul", {x, twoAgain});
  Value *s1 = b.op("Softmax", {a}, attrs({{"axis", int64_t(1)}}));
  Value *s2 = b.op("Softmax", {c}, attrs({{"axis", int64_t(1)}}));
  Value *s3 = b.op("Softmax", {c}, attrs({{"axis", int64_t(0)}}));
  auto p = b.ops("Split", {x}, attrs({{"axis", int64_t(1)}, {"num_outputs", int64_t(2)}}), 2);
  auto q = b.ops("Split", {x}, attrs({{"axis", int64_t(1)}, {"num_outputs", int64_t(2)}}), 2);
  b.output("sum", b.op("Add", {b.op("Add", {s1, s2}), s3}));
  b.output("pq", b.op("Sub", {p[1], q[1]}));
  int before = countOps(*b.module);

  expectSameResults(*b.module, {"cse"});
  EXPECT_EQ(countOps(*b.module), before - 3);  // a Mul, a Softmax(axis 1), a Split
  EXPECT_EQ(countOps(*b.module, "Softmax"), 2);
  EXPECT_EQ(b.module->constants().size(), 1u);
}

TEST(PassesTest, DceRemovesDeadOpsAndKeepsResults) {
  Builder b;
  Value *x = b.arg("x", f32({5}));
  Value *dead = b.op("Exp", {b.op("Mul", {x, b.floats("three", {}, {3})})});
  b.op("Add", {dead, x});
  auto parts = b.ops("Split", {x}, attrs({{"axis", int64_t(0)}, {"split", std::vector<int64_t>{2, 3}}}), 2);
  b.output("y", b.op("Neg", {parts[1]}));

  expectSameResults(*b.module, {"dce"});
  EXPECT_EQ(countOps(*b.module), 2);  // Split (one result used) and Neg
  EXPECT_TRUE(b.module->constants().empty());
}

TEST(PassesTest, DefaultPipelineKeepsTheBitNetExampleResults) {
  auto m = importOnnx(std::string(TERNC_SOURCE_DIR) + "/examples/bitnet_block/model.onnx");
  int before = countOps(*m);
  expectSameResults(*m, defaultPipeline());
  // The weight quantizers are all-constant and fold away; the duplicate
  // casts of the exporter merge.
  EXPECT_LT(countOps(*m), before - 20);
  EXPECT_EQ(countOps(*m, "Cast"), 0);
}

} // namespace
