// VerifierTest: each invariant the verifier checks, on modules broken on
// purpose, and that verifying leaves the module unchanged.
#include "ir/Error.h"
#include "ir/OpRegistry.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"

#include <gtest/gtest.h>

namespace ternc {
namespace {

// Test-only ops (prefix `vt.`), so that the expected messages do not depend
// on how the real op families declare their schemas.
OpDef testOp(std::string name, int minIn, int maxIn, std::vector<AttrSpec> attrs, InferFn infer) {
  OpDef d;
  d.name = std::move(name);
  d.summary = "test-only op";
  d.minInputs = minIn;
  d.maxInputs = maxIn;
  d.attrs = std::move(attrs);
  d.infer = std::move(infer);
  return d;
}

void registerVerifierTestOps() {
  static const bool once = [] {
    OpRegistry &r = OpRegistry::global();
    // Two (or three) operands of one type.
    r.add(testOp("vt.Add", 2, 3, {}, [](InferContext &ctx) {
      if (ctx.inputType(0) != ctx.inputType(1))
        ctx.fail("operand types differ: {} vs {}", ctx.inputType(0).str(), ctx.inputType(1).str());
      ctx.setResultType(0, ctx.inputType(0));
    }));
    r.add(testOp("vt.Axis", 1, 1, {{"axis", AttrKind::Int, true}, {"names", AttrKind::Strings}},
                 [](InferContext &ctx) { ctx.setResultType(0, ctx.inputType(0)); }));
    // Open attributes; infers unknown dims and an unknown symbolic value.
    OpDef open = testOp("vt.Open", 1, 1, {}, [](InferContext &ctx) {
      const Type &t = ctx.inputType(0);
      ctx.setResultType(0, t.withDims(std::vector<Dim>(t.rank(), Dim::unknown())));
      ctx.setResultSymbolicValue(0, {Dim::unknown()});
    });
    open.openAttrs = true;
    r.add(std::move(open));
    return true;
  }();
  (void)once;
}

class VerifierTest : public ::testing::Test {
protected:
  void SetUp() override {
    registerVerifierTestOps();
    g = m.addGraph("main");
    x = g->addArgument("x", Type(DType::F32, {Dim::symbol("n"), 4}));
    y = g->addArgument("y", Type(DType::F32, {Dim::symbol("n"), 4}));
  }

  std::string verifyError(const std::string &context = "") {
    try {
      verify(m, context);
    } catch (const Error &e) {
      return e.what();
    }
    return "<no error>";
  }

  Module m{"m"};
  Graph *g = nullptr;
  Value *x = nullptr;
  Value *y = nullptr;
};

TEST_F(VerifierTest, AcceptsAWellFormedModule) {
  m.addConstant("w", Tensor(DType::F32, {2, 4}));
  Op *a = g->buildOp("vt.Add", {x, y}, {}, {"a"});
  Attrs attrs;
  attrs.set("axis", int64_t(1));
  Op *b = g->buildOp("vt.Axis", {a->result()}, attrs, {"b"});
  g->addOutput("out", b->result());
  g->addOutput("w", m.findConstant("w"));
  EXPECT_EQ(verifyError(), "<no error>");
}

TEST_F(VerifierTest, OperandAndResultCounts) {
  Op *a = g->createOp("vt.Add", {x});
  a->setLoc("f.tir:3:5");
  a->addResult("a", x->type());
  EXPECT_EQ(verifyError(), "graph @main: f.tir:3:5: vt.Add: takes 2 to 3 operands, has 1");
  a->setOperands({x, y});
  a->addResult("b", x->type());
  EXPECT_EQ(verifyError(), "graph @main: f.tir:3:5: vt.Add: has 1 result, found 2");
}

TEST_F(VerifierTest, OmittedRequiredOperand) {
  g->createOp("vt.Add", {x, nullptr})->addResult("a", x->type());
  EXPECT_EQ(verifyError(), "graph @main: op #0: vt.Add: operand 1 is required, but omitted");
}

TEST_F(VerifierTest, Attributes) {
  Op *op = g->createOp("vt.Axis", {x});
  op->addResult("a", x->type());
  op->setLoc("f.tir:7:5");
  EXPECT_EQ(verifyError(), "graph @main: f.tir:7:5: vt.Axis: missing required attribute 'axis'");
  op->attrs().set("axis", 1.5f);
  EXPECT_EQ(verifyError(), "graph @main: f.tir:7:5: vt.Axis: attribute 'axis' must be int, found float");
  op->attrs().set("axis", int64_t(0));
  op->attrs().set("names", std::vector<int64_t>{});
  EXPECT_EQ(verifyError(), "graph @main: f.tir:7:5: vt.Axis: attribute 'names' must be strings, found ints");
  op->attrs().set("names", std::vector<std::string>{});
  op->attrs().set("extra", int64_t(1));
  EXPECT_EQ(verifyError(), "graph @main: f.tir:7:5: vt.Axis: unknown attribute 'extra'");
  op->attrs().erase("extra");
  EXPECT_EQ(verifyError(), "<no error>");

  Op *open = g->createOp("vt.Open", {x});
  open->attrs().set("anything", std::string("goes"));
  open->addResult("o", x->type());
  EXPECT_EQ(verifyError(), "<no error>");
}

TEST_F(VerifierTest, UseBeforeDefinition) {
  Op *later = g->buildOp("vt.Add", {x, y}, {}, {"later"});
  Op *early = g->buildOp("vt.Add", {later->result(), y}, {}, {"early"}, later);
  early->setLoc("f.tir:2:5");
  EXPECT_EQ(verifyError(), "graph @main: f.tir:2:5: vt.Add: operand 0 (%later) is used before it is defined");
}

TEST_F(VerifierTest, ValuesFromAnotherGraphOrModule) {
  Graph *other = m.addGraph("other");
  Value *foreign = other->addArgument("z", x->type());
  g->buildOp("vt.Add", {x, foreign}, {}, {"a"});
  EXPECT_EQ(verifyError(), "graph @main: op #0: vt.Add: operand 1 (%z) is not defined in this graph");

  Module m2("m2");
  Value *c = m2.addConstant("c", Tensor(DType::F32, {4}));
  g->ops()[0]->setOperand(1, c);
  EXPECT_EQ(verifyError(), "graph @main: op #0: vt.Add: operand 1 (@c) is not a constant of this module");
}

TEST_F(VerifierTest, GraphOutputsMustBeDefined) {
  Graph *other = m.addGraph("other");
  Value *foreign = other->addArgument("z", x->type());
  g->addOutput("out", foreign);
  EXPECT_EQ(verifyError(), "graph @main: output 'out' returns %z, which is not defined in this graph");
  g->setOutput(0, x);
  g->addOutput("out", y);
  EXPECT_EQ(verifyError(), "graph @main: output 'out' is declared twice");
}

TEST_F(VerifierTest, ValueNamesAreUniqueWithinAGraph) {
  Op *a = g->createOp("vt.Add", {x, y});
  a->addResult("x", x->type());
  EXPECT_EQ(verifyError(), "graph @main: op #0: vt.Add: value name %x is defined twice");
  // The same name in another graph is fine.
  a->result()->setName("a");
  Graph *other = m.addGraph("other");
  other->addArgument("a", x->type());
  EXPECT_EQ(verifyError(), "<no error>");
  m.addGraph("other");
  EXPECT_EQ(verifyError(), "module has two graphs named @other");
}

TEST_F(VerifierTest, RecordedTypesMustAgreeWithInference) {
  Op *a = g->buildOp("vt.Add", {x, y}, {}, {"a"});
  a->setLoc("f.tir:4:5");
  a->result()->setType(Type(DType::F32, {Dim::symbol("n"), 5}));
  EXPECT_EQ(verifyError("after pass 'cse'"),
            "after pass 'cse': graph @main: f.tir:4:5: vt.Add: result %a is recorded as f32[n,5], but type "
            "inference gives f32[n,4]");
  a->result()->setType(Type(DType::I32, {Dim::symbol("n"), 4}));
  EXPECT_EQ(verifyError(), "graph @main: f.tir:4:5: vt.Add: result %a is recorded as i32[n,4], but type "
                           "inference gives f32[n,4]");
  // Where inference has `?`, any recorded dim of the same rank is accepted.
  a->result()->setType(x->type());
  Op *o = g->buildOp("vt.Open", {a->result()}, {}, {"o"});
  o->result()->setType(Type(DType::F32, {Dim::symbol("n"), 4}));
  EXPECT_EQ(verifyError(), "<no error>");
  o->result()->setType(Type(DType::F32, {Dim::symbol("n")}));
  EXPECT_EQ(verifyError(), "graph @main: op #1: vt.Open: result %o is recorded as f32[n], but type inference "
                           "gives f32[?,?]");
}

TEST_F(VerifierTest, InferenceErrorsAreReportedWithTheGraph) {
  Value *z = g->addArgument("z", Type(DType::F32, {3}));
  Op *a = g->createOp("vt.Add", {x, z});
  a->addResult("a", x->type());
  a->setLoc("f.tir:9:5");
  EXPECT_EQ(verifyError("after pass 'dce'"),
            "after pass 'dce': graph @main: type inference failed: f.tir:9:5: vt.Add: operand types differ: "
            "f32[n,4] vs f32[3]");
}

TEST_F(VerifierTest, VerifyingDoesNotChangeTheModule) {
  Op *a = g->buildOp("vt.Add", {x, y}, {}, {"a"});
  Op *o = g->buildOp("vt.Open", {a->result()}, {}, {"o"});
  Type recorded(DType::F32, {Dim::symbol("n"), 4});
  o->result()->setType(recorded);
  o->result()->setSymbolicValue(std::vector<Dim>{Dim::symbol("n")});
  EXPECT_EQ(verifyError(), "<no error>");
  EXPECT_EQ(o->result()->type(), recorded);
  ASSERT_TRUE(o->result()->symbolicValue().has_value());
  EXPECT_EQ((*o->result()->symbolicValue())[0], Dim::symbol("n"));
}

TEST_F(VerifierTest, ConstantDataMatchesItsType) {
  m.addConstant("w", Tensor(DType::F32, {2, 4}), Type(DType::F32, {4, 2}));
  EXPECT_EQ(verifyError(), "constant @w is typed f32[4,2], but its data is f32[2,4]");
}

TEST_F(VerifierTest, TernConstantsMayHoldInt8DataAndPackedBytes) {
  m.addConstant("t", Tensor(DType::I8, {2, 4}), Type::tern({TernScale::Row, 0}, {2, 4}));
  m.addConstant("p", Tensor(DType::U8, {3}), Type::tern({TernScale::Row, 0}, {2, 4}), "i2s");
  EXPECT_EQ(verifyError(), "<no error>");
}

TEST_F(VerifierTest, InferTypesRerunsInferenceInOrder) {
  Op *a = g->buildOp("vt.Add", {x, y}, {}, {"a"});
  Op *b = g->buildOp("vt.Add", {a->result(), a->result()}, {}, {"b"});
  x->setType(Type(DType::F32, {7}));
  y->setType(Type(DType::F32, {7}));
  inferTypes(m);
  EXPECT_EQ(b->result()->type().str(), "f32[7]");
  x->setType(Type(DType::F32, {8}));
  EXPECT_THROW(inferTypes(m), Error);
}

TEST_F(VerifierTest, ParsedModulesVerify) {
  std::unique_ptr<Module> parsed = parseModule(R"(module @p {
  const @w : f32[4] = dense<[1.0, 2.0, 3.0, 4.0]>
  graph @main(%x: f32[4]) -> (y: f32[4], w: f32[4]) {
    %a = vt.Add(%x, @w) : f32[4]
    %b = vt.Axis(%a) {axis = 0, names = []} : f32[4]
    %c = vt.Open(%b) {note = "kept"} : f32[4]
    return %c, @w
  }
}
)",
                                               "p.tir");
  EXPECT_NO_THROW(verify(*parsed));
}

} // namespace
} // namespace ternc
