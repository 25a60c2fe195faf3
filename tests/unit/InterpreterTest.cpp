// InterpreterTest: the reference interpreter (ir/Interpreter.cpp) — binding
// symbolic dims from the inputs, input checks, freeing values after their
// last use, and catching results that contradict their inferred types. Uses
// its own small test ops so that it depends on no op family.
#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/Interpreter.h"
#include "ir/OpRegistry.h"
#include "tests/unit/TensorTestUtil.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <stdexcept>

namespace ternc {
namespace {

using testutil::errorOf;

/// Storage of the last tensor TestInterpRecord produced, and whether it was
/// already freed when TestInterpCheckFreed ran.
std::weak_ptr<Storage> gRecorded;
bool gRecordedWasFreed = false;

Tensor copyOf(const Tensor &t) { return t.clone(); }

/// A test op: f32 operands, one result shaped like operand 0.
OpDef testOp(std::string name, std::string summary, int inputs, EvalFn eval) {
  OpDef d;
  d.name = std::move(name);
  d.summary = std::move(summary);
  d.minInputs = d.maxInputs = inputs;
  d.infer = [](InferContext &ctx) { ctx.setResultType(0, ctx.inputType(0)); };
  d.eval = std::move(eval);
  return d;
}

/// Registers the test ops once.
void registerTestOps() {
  static std::once_flag once;
  std::call_once(once, [] {
    OpRegistry &r = OpRegistry::global();
    r.add(testOp("TestInterpAdd", "test: elementwise f32 add of equal shapes", 2, [](EvalContext &ctx) {
      const Tensor &a = ctx.input(0), &b = ctx.input(1);
      if (a.shape() != b.shape()) ctx.fail("shapes differ");
      Tensor out(DType::F32, a.shape());
      for (int64_t i = 0; i < a.numElements(); ++i)
        out.mutableData<float>()[i] = a.values<float>()[i] + b.values<float>()[i];
      return std::vector<Tensor>{out};
    }));
    r.add(testOp("TestInterpWrongShape", "test: eval disagrees with inference", 1, [](EvalContext &ctx) {
      std::vector<int64_t> shape = ctx.input(0).shape();
      shape[0] += 1;
      return std::vector<Tensor>{Tensor(DType::F32, shape)};
    }));
    r.add(testOp("TestInterpNoEval", "test: no reference semantics", 1, nullptr));
    r.add(testOp("TestInterpThrows", "test: eval throws a standard exception", 1,
                 [](EvalContext &) -> std::vector<Tensor> { throw std::out_of_range("vector::at"); }));
    r.add(testOp("TestInterpRecord", "test: copies, remembering the result", 1, [](EvalContext &ctx) {
      Tensor out = copyOf(ctx.input(0));
      gRecorded = out.storage();
      return std::vector<Tensor>{out};
    }));
    r.add(testOp("TestInterpCheckFreed", "test: copies, noting whether the record is gone", 1, [](EvalContext &ctx) {
      gRecordedWasFreed = gRecorded.expired();
      return std::vector<Tensor>{copyOf(ctx.input(0))};
    }));
  });
}

Tensor filled(std::vector<int64_t> shape, float start) {
  Tensor t(DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i) t.mutableData<float>()[i] = start + float(i);
  return t;
}

Dim sym(const char *s) { return Dim::symbol(s); }

class InterpreterTest : public ::testing::Test {
protected:
  void SetUp() override { registerTestOps(); }
  Module m;
  Graph *g = m.addGraph("main");

  Value *add(Value *a, Value *b, const std::string &name) {
    Op *op = g->buildOp("TestInterpAdd", {a, b}, {}, {name});
    op->setLoc("test.tir: " + name);
    return op->result();
  }
};

TEST_F(InterpreterTest, BindsSymbolsConsistentlyAcrossInputs) {
  Value *x = g->addArgument("x", Type(DType::F32, {sym("batch"), 3}));
  Value *y = g->addArgument("y", Type(DType::F32, {sym("batch"), 3}));
  g->addOutput("z", add(x, y, "z"));

  auto out = interpret(*g, std::vector<Tensor>{filled({2, 3}, 0), filled({2, 3}, 10)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(out[0].values<float>()[5], 5.0f + 15.0f);

  std::string msg = errorOf([&] { interpret(*g, std::vector<Tensor>{filled({2, 3}, 0), filled({4, 3}, 0)}); });
  EXPECT_NE(msg.find("input 'y'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("batch = 2 from input 'x'"), std::string::npos) << msg;
}

TEST_F(InterpreterTest, ChecksPolynomialDimsOnceTheirSymbolsAreBound) {
  // The concatenated cache comes first, so `past` can only be solved after
  // `seq` is bound from the later input.
  Value *kv = g->addArgument("kv", Type(DType::F32, {sym("past") + sym("seq")}));
  Value *x = g->addArgument("x", Type(DType::F32, {sym("seq")}));
  Value *past = g->addArgument("p", Type(DType::F32, {sym("past")}));
  g->addOutput("kv", kv);
  g->addOutput("x", x);
  g->addOutput("p", past);

  auto ok = interpret(*g, std::vector<Tensor>{filled({7}, 0), filled({3}, 0), filled({4}, 0)});
  EXPECT_EQ(ok[0].numElements(), 7);
  std::string msg = errorOf([&] { interpret(*g, std::vector<Tensor>{filled({7}, 0), filled({3}, 0), filled({5}, 0)}); });
  // p binds past = 5 directly, so it is the concatenation that contradicts.
  EXPECT_NE(msg.find("input 'kv': dim 0 is 7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("past+seq = 8 (past = 5 from input 'p', seq = 3 from input 'x')"), std::string::npos) << msg;

  // Solving for a symbol that only appears in a sum.
  Module m2;
  Graph *g2 = m2.addGraph("main");
  g2->addOutput("kv", g2->addArgument("kv", Type(DType::F32, {sym("past") + sym("seq")})));
  g2->addOutput("x", g2->addArgument("x", Type(DType::F32, {sym("seq")})));
  g2->addOutput("kv2", g2->addArgument("kv2", Type(DType::F32, {sym("past") + Dim(1)})));
  EXPECT_NO_THROW(interpret(*g2, std::vector<Tensor>{filled({7}, 0), filled({3}, 0), filled({5}, 0)}));
  std::string solved =
      errorOf([&] { interpret(*g2, std::vector<Tensor>{filled({7}, 0), filled({3}, 0), filled({6}, 0)}); });
  EXPECT_NE(solved.find("input 'kv"), std::string::npos) << solved;
}

TEST_F(InterpreterTest, SolvesLinearDimsAndRejectsImpossibleOnes) {
  Value *x = g->addArgument("x", Type(DType::F32, {Dim(2) * sym("n")}));
  Value *y = g->addArgument("y", Type(DType::F32, {sym("n")}));
  g->addOutput("x", x);
  g->addOutput("y", y);
  EXPECT_NO_THROW(interpret(*g, std::vector<Tensor>{filled({6}, 0), filled({3}, 0)}));
  std::string odd = errorOf([&] { interpret(*g, std::vector<Tensor>{filled({5}, 0), filled({3}, 0)}); });
  EXPECT_NE(odd.find("input 'x'"), std::string::npos) << odd;
  std::string wrong = errorOf([&] { interpret(*g, std::vector<Tensor>{filled({6}, 0), filled({4}, 0)}); });
  EXPECT_NE(wrong.find("input 'y'"), std::string::npos) << wrong;
  EXPECT_NE(wrong.find("n = 3"), std::string::npos) << wrong;
}

TEST_F(InterpreterTest, RejectsWrongDtypeRankAndStaticDims) {
  Value *x = g->addArgument("tokens", Type(DType::F32, {2, 3}));
  g->addOutput("tokens", x);
  std::string dtype = errorOf([&] { interpret(*g, std::vector<Tensor>{Tensor(DType::I64, {2, 3})}); });
  EXPECT_NE(dtype.find("input 'tokens'"), std::string::npos) << dtype;
  EXPECT_NE(dtype.find("expected f32[2,3], got i64[2,3]"), std::string::npos) << dtype;
  std::string rank = errorOf([&] { interpret(*g, std::vector<Tensor>{filled({6}, 0)}); });
  EXPECT_NE(rank.find("rank"), std::string::npos) << rank;
  std::string dim = errorOf([&] { interpret(*g, std::vector<Tensor>{filled({2, 4}, 0)}); });
  EXPECT_NE(dim.find("dim 1 is 4"), std::string::npos) << dim;
  std::string count = errorOf([&] { interpret(*g, std::vector<Tensor>{}); });
  EXPECT_NE(count.find("takes 1 inputs"), std::string::npos) << count;
}

TEST_F(InterpreterTest, UnknownAndUnrankedTypesAcceptAnyExtent) {
  Value *x = g->addArgument("x", Type(DType::F32, {Dim::unknown(), 2}));
  Value *y = g->addArgument("y", Type::unranked(DType::F32));
  g->addOutput("x", x);
  g->addOutput("y", y);
  EXPECT_NO_THROW(interpret(*g, std::vector<Tensor>{filled({5, 2}, 0), filled({1, 2, 3}, 0)}));
}

TEST_F(InterpreterTest, InputsByName) {
  Value *a = g->addArgument("a", Type(DType::F32, {2}));
  Value *b = g->addArgument("b", Type(DType::F32, {2}));
  g->addOutput("s", add(a, b, "s"));
  auto out = interpret(*g, std::map<std::string, Tensor>{{"b", filled({2}, 1)}, {"a", filled({2}, 10)}});
  EXPECT_EQ(out[0].values<float>()[1], 11.0f + 2.0f);
  std::string missing = errorOf([&] { interpret(*g, std::map<std::string, Tensor>{{"a", filled({2}, 0)}}); });
  EXPECT_NE(missing.find("missing input 'b'"), std::string::npos) << missing;
  std::string unknown = errorOf([&] {
    interpret(*g, std::map<std::string, Tensor>{{"a", filled({2}, 0)}, {"b", filled({2}, 0)}, {"c", filled({2}, 0)}});
  });
  EXPECT_NE(unknown.find("unknown input 'c'"), std::string::npos) << unknown;
}

TEST_F(InterpreterTest, OutputsMayBeConstantsOrArguments) {
  Value *x = g->addArgument("x", Type(DType::F32, {2}));
  Value *c = m.addConstant("c", filled({2}, 5));
  g->addOutput("sum", add(x, c, "sum"));
  g->addOutput("c", c);
  g->addOutput("x", x);
  auto out = interpret(*g, std::vector<Tensor>{filled({2}, 1)});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].values<float>()[0], 6.0f);
  EXPECT_EQ(out[1].values<float>()[1], 6.0f);
  EXPECT_EQ(out[2].values<float>()[1], 2.0f);
}

TEST_F(InterpreterTest, FreesValuesAfterTheirLastUse) {
  Value *x = g->addArgument("x", Type(DType::F32, {4}));
  Value *t1 = g->buildOp("TestInterpRecord", {x}, {}, {"t1"})->result();
  Value *sum = add(t1, t1, "sum");  // t1's last use
  g->addOutput("c", g->buildOp("TestInterpCheckFreed", {sum}, {}, {"c"})->result());
  gRecordedWasFreed = false;
  interpret(*g, std::vector<Tensor>{filled({4}, 0)});
  EXPECT_TRUE(gRecordedWasFreed) << "t1 should be released after its last use";

  // A result nobody uses is dropped at once.
  Module m1;
  Graph *g1 = m1.addGraph("main");
  Value *w = g1->addArgument("w", Type(DType::F32, {4}));
  g1->buildOp("TestInterpRecord", {w}, {}, {"dead"});
  g1->addOutput("c", g1->buildOp("TestInterpCheckFreed", {w}, {}, {"c"})->result());
  gRecordedWasFreed = false;
  interpret(*g1, std::vector<Tensor>{filled({4}, 0)});
  EXPECT_TRUE(gRecordedWasFreed);

  // A value that is still needed later is not freed.
  Module m2;
  Graph *g2 = m2.addGraph("main");
  Value *y = g2->addArgument("y", Type(DType::F32, {4}));
  Value *r = g2->buildOp("TestInterpRecord", {y}, {}, {"r"})->result();
  Value *c = g2->buildOp("TestInterpCheckFreed", {y}, {}, {"c"})->result();
  g2->addOutput("r", r);
  g2->addOutput("c", c);
  gRecordedWasFreed = true;
  interpret(*g2, std::vector<Tensor>{filled({4}, 0)});
  EXPECT_FALSE(gRecordedWasFreed);
}

TEST_F(InterpreterTest, AResultThatContradictsInferenceIsAnInternalError) {
  Value *x = g->addArgument("x", Type(DType::F32, {sym("n"), 2}));
  Op *op = g->buildOp("TestInterpWrongShape", {x}, {}, {"bad"});
  op->setLoc("model.onnx: node \"grow\" (TestInterpWrongShape)");
  g->addOutput("bad", op->result());
  std::string msg = errorOf([&] { interpret(*g, std::vector<Tensor>{filled({3, 2}, 0)}); });
  EXPECT_NE(msg.find("model.onnx: node \"grow\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("internal error"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'bad'"), std::string::npos) << msg;

  // With a static type, evaluateOp alone (as constant folding uses it) catches it.
  Module m2;
  Graph *g2 = m2.addGraph("main");
  Value *c = m2.addConstant("c", filled({3, 2}, 0));
  Op *op2 = g2->buildOp("TestInterpWrongShape", {c}, {}, {"r"});
  std::string folded = errorOf([&] { evaluateOp(*op2, {c->constant()->data}); });
  EXPECT_NE(folded.find("type inference said f32[3,2]"), std::string::npos) << folded;
}

TEST_F(InterpreterTest, OpsWithoutEvalOrWithForeignExceptionsFailCleanly) {
  Value *x = g->addArgument("x", Type(DType::F32, {2}));
  Op *none = g->buildOp("TestInterpNoEval", {x}, {}, {"n"});
  none->setLoc("f.tir:3:5");
  g->addOutput("n", none->result());
  std::string msg = errorOf([&] { interpret(*g, std::vector<Tensor>{filled({2}, 0)}); });
  EXPECT_NE(msg.find("f.tir:3:5: TestInterpNoEval: has no reference semantics"), std::string::npos) << msg;

  Module m2;
  Graph *g2 = m2.addGraph("main");
  Value *y = g2->addArgument("y", Type(DType::F32, {2}));
  Op *thrower = g2->buildOp("TestInterpThrows", {y}, {}, {"t"});
  thrower->setLoc("f.tir:9:1");
  g2->addOutput("t", thrower->result());
  std::string thrown = errorOf([&] { interpret(*g2, std::vector<Tensor>{filled({2}, 0)}); });
  EXPECT_NE(thrown.find("f.tir:9:1: TestInterpThrows: internal error: vector::at"), std::string::npos) << thrown;
}

} // namespace
} // namespace ternc
