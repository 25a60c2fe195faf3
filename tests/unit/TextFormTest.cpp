// TextFormTest: the IR text form — exact printing, print/parse/print round
// trips, the hex / external / elided weight modes, atomic file writes, and
// every parse error with its file:line:col.
#include "ir/Error.h"
#include "ir/OpRegistry.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "tests/unit/TensorTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

namespace ternc {
namespace {

using testutil::errorOf;

namespace fs = std::filesystem;

// Test-only ops (prefix `tt.`) with schemas that exercise every attribute
// kind, optional operands, variadic results, open attributes and `?` dims,
// independent of how the real op families define theirs.
OpDef testOp(std::string name, int minIn, int maxIn, int minOut, int maxOut, std::vector<AttrSpec> attrs,
             InferFn infer) {
  OpDef d;
  d.name = std::move(name);
  d.summary = "test-only op";
  d.minInputs = minIn;
  d.maxInputs = maxIn;
  d.minOutputs = minOut;
  d.maxOutputs = maxOut;
  d.attrs = std::move(attrs);
  d.infer = std::move(infer);
  return d;
}

void registerTextFormTestOps() {
  static const bool once = [] {
    OpRegistry &r = OpRegistry::global();
    // Result typed like operand 0; operands 1 and 2 are optional.
    r.add(testOp("tt.Same", 1, 3, 1, 1, {}, [](InferContext &ctx) {
      if (ctx.hasInput(1) && ctx.inputType(1).dtype() != ctx.inputType(0).dtype())
        ctx.fail("operand dtypes differ: {} vs {}", dtypeName(ctx.inputType(0).dtype()),
                 dtypeName(ctx.inputType(1).dtype()));
      ctx.setResultType(0, ctx.inputType(0));
    }));
    // Every attribute kind; `dt` changes the result dtype.
    r.add(testOp("tt.Attrs", 1, 1, 1, 1,
                 {{"dt", AttrKind::DType}, {"f", AttrKind::Float}, {"fs", AttrKind::Floats}, {"i", AttrKind::Int},
                  {"is", AttrKind::Ints}, {"s", AttrKind::String}, {"ss", AttrKind::Strings}, {"t", AttrKind::Tensor}},
                 [](InferContext &ctx) {
                   Type t = ctx.inputType(0);
                   if (const AttrValue *dt = ctx.attrs().find("dt")) t = t.withDType(std::get<DType>(*dt));
                   ctx.setResultType(0, t);
                 }));
    r.add(testOp("tt.Required", 1, 1, 1, 1, {{"axis", AttrKind::Int, true}},
                 [](InferContext &ctx) { ctx.setResultType(0, ctx.inputType(0)); }));
    // Splits the last dim evenly into as many results as it has.
    r.add(testOp("tt.Split", 1, 1, 1, -1, {}, [](InferContext &ctx) {
      const Type &in = ctx.inputType(0);
      std::vector<Dim> dims = in.dims();
      size_t n = ctx.op().numResults();
      dims.back() = floorDiv(dims.back(), Dim(int64_t(n)));
      for (size_t i = 0; i < n; ++i) ctx.setResultType(i, in.withDims(dims));
    }));
    // Open attributes; every result has operand 0's rank with unknown dims.
    OpDef unknown = testOp("tt.Unknown", 0, -1, 1, -1, {}, [](InferContext &ctx) {
      Type t = Type::unranked(DType::F32);
      if (ctx.numInputs() > 0 && ctx.hasInput(0))
        t = ctx.inputType(0).withDims(std::vector<Dim>(ctx.inputType(0).rank(), Dim::unknown()));
      for (size_t i = 0; i < ctx.op().numResults(); ++i) ctx.setResultType(i, t);
    });
    unknown.openAttrs = true;
    r.add(std::move(unknown));
    OpDef sink = testOp("tt.Sink", 1, 1, 0, 0, {}, nullptr);
    sink.pure = false;
    r.add(std::move(sink));
    return true;
  }();
  (void)once;
}

class TextFormTest : public ::testing::Test {
protected:
  void SetUp() override { registerTextFormTestOps(); }
};

Tensor floats(std::vector<int64_t> shape, const std::vector<float> &v) {
  Tensor t(DType::F32, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.mutableData<float>()[i] = v[i];
  return t;
}

Tensor filled(DType dt, std::vector<int64_t> shape, double start) {
  Tensor t(dt, std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i) t.setDouble(i, start + double(i % 97));
  return t;
}

std::string parseError(const std::string &text) {
  return errorOf([&] { parseModule(text, "t.tir"); });
}

bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

/// A fresh empty folder under the test temp dir.
fs::path freshDir(const std::string &name) {
  fs::path d = fs::path(::testing::TempDir()) / ("ternc_textform_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::set<std::string> listDir(const fs::path &d) {
  std::set<std::string> names;
  for (const auto &e : fs::directory_iterator(d)) names.insert(e.path().filename().string());
  return names;
}

std::string readFile(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Prints, parses and prints again; the two texts must be identical.
std::string expectRoundTrip(const Module &m, const PrintOptions &opts = {}) {
  std::string first = printModule(m, opts);
  std::unique_ptr<Module> parsed = parseModule(first, "roundtrip.tir");
  EXPECT_NO_THROW(verify(*parsed));
  std::string second = printModule(*parsed, opts);
  EXPECT_EQ(first, second);
  return first;
}

TEST_F(TextFormTest, PrintsTheDocumentedForm) {
  Module m("model");
  m.addConstant("axes", Tensor::fromI64({1}));
  m.addConstant("max", Tensor::scalarF32(6.0f));
  m.addState("kv0", Type(DType::F16, {1, 4, Dim::symbol("ctx"), 64}));
  Graph *g = m.addGraph("main");
  Value *x = g->addArgument("x", Type(DType::F32, {Dim::symbol("batch"), 4}));
  Value *in2 = g->addArgument("input.2", Type(DType::F32, {4}));
  Op *a = g->buildOp("tt.Same", {x, in2}, {}, {"a"});
  Attrs attrs;
  attrs.set("is", std::vector<int64_t>{1, -2});
  attrs.set("f", 1.0f);
  Op *b = g->buildOp("tt.Attrs", {a->result()}, attrs, {"/model/b"});
  Op *split = g->buildOp("tt.Split", {b->result()}, {}, {"c", "d"});
  Op *e = g->buildOp("tt.Same", {split->result(0), nullptr, m.findConstant("max")}, {}, {"e"});
  g->buildOp("tt.Sink", {e->result()}, {}, {});
  g->addOutput("y", b->result());
  g->addOutput("out/1", e->result());

  const std::string expected =
      "module @model {\n"
      "  const @axes : i64[1] = dense<[1]>\n"
      "  const @max : f32[] = dense<6.0>\n"
      "  state @kv0 : f16[1,4,ctx,64]\n"
      "\n"
      "  graph @main(%x: f32[batch,4], %input.2: f32[4]) -> (y: f32[batch,4], \"out/1\": f32[batch,2]) {\n"
      "    %a = tt.Same(%x, %input.2) : f32[batch,4]\n"
      "    %\"/model/b\" = tt.Attrs(%a) {f = 1.0, is = [1, -2]} : f32[batch,4]\n"
      "    %c, %d = tt.Split(%\"/model/b\") : f32[batch,2], f32[batch,2]\n"
      "    %e = tt.Same(%c, _, @max) : f32[batch,2]\n"
      "    tt.Sink(%e)\n"
      "    return %\"/model/b\", %e\n"
      "  }\n"
      "}\n";
  EXPECT_EQ(printModule(m), expected);
  EXPECT_EQ(expectRoundTrip(m), expected);
}

TEST_F(TextFormTest, EmptyModuleAndGraph) {
  Module m("m");
  EXPECT_EQ(printModule(m), "module @m {\n}\n");
  m.addGraph("g");
  EXPECT_EQ(expectRoundTrip(m), "module @m {\n  graph @g() -> () {\n    return\n  }\n}\n");
}

TEST_F(TextFormTest, FloatsReadBackExactly) {
  EXPECT_EQ(printAttrValue(1.0f), "1.0");
  EXPECT_EQ(printAttrValue(-0.0f), "-0.0");
  EXPECT_EQ(printAttrValue(0.1f), "0.1");
  EXPECT_EQ(printAttrValue(1e-05f), "1e-05");
  EXPECT_EQ(printAttrValue(1e20f), "1e+20");
  EXPECT_EQ(printAttrValue(100.0f), "100.0");
  EXPECT_EQ(printAttrValue(std::numeric_limits<float>::infinity()), "inf");
  EXPECT_EQ(printAttrValue(-std::numeric_limits<float>::infinity()), "-inf");
  EXPECT_EQ(printAttrValue(std::numeric_limits<float>::quiet_NaN()), "nan");
  EXPECT_EQ(printAttrValue(std::vector<float>{1.5f, 2.0f}), "[1.5, 2.0]");
  EXPECT_EQ(printAttrValue(std::vector<int64_t>{}), "[]");
  EXPECT_EQ(printAttrValue(std::vector<std::string>{"a", "b\"c"}), "[\"a\", \"b\\\"c\"]");
  EXPECT_EQ(printAttrValue(DType::BF16), "bf16");
  EXPECT_EQ(printAttrValue(std::string("tab\there\x01")), "\"tab\\there\\x01\"");
  EXPECT_EQ(printAttrValue(Tensor::fromI64({3, 4})), "dense<[3, 4]> : i64[2]");
  EXPECT_EQ(printAttrValue(Tensor::scalarF32(0.5f)), "dense<0.5> : f32[]");
}

TEST_F(TextFormTest, QuotesNamesOnlyWhenNeeded) {
  EXPECT_EQ(quoteIdentifierIfNeeded("x"), "x");
  EXPECT_EQ(quoteIdentifierIfNeeded("input.2"), "input.2");
  EXPECT_EQ(quoteIdentifierIfNeeded("a-b$c_9"), "a-b$c_9");
  EXPECT_EQ(quoteIdentifierIfNeeded("0"), "0");
  EXPECT_EQ(quoteIdentifierIfNeeded(""), "\"\"");
  EXPECT_EQ(quoteIdentifierIfNeeded("/model/Add_output_0"), "\"/model/Add_output_0\"");
  EXPECT_EQ(quoteIdentifierIfNeeded("a b"), "\"a b\"");
  EXPECT_EQ(quoteIdentifierIfNeeded("q\"\\\n"), "\"q\\\"\\\\\\n\"");
}

TEST_F(TextFormTest, RoundTripsEveryDTypeAttributeAndNameForm) {
  Module m("round trip");
  m.addConstant("scalar", Tensor::scalarF32(0.1f));
  m.addConstant("axes", Tensor::fromI64({-1, 3, std::numeric_limits<int64_t>::min()}));
  Tensor half(DType::F16, {4});
  for (int i = 0; i < 4; ++i) half.setDouble(i, std::vector<double>{1.0, -2.5, 65504.0, 5.960464477539063e-08}[i]);
  m.addConstant("half", half);
  Tensor bf(DType::BF16, {2});
  bf.setDouble(0, 3.140625);
  bf.setDouble(1, -0.0);
  m.addConstant("bf", bf);
  Tensor flags(DType::Bool, {2});
  flags.setInt(0, 1);
  m.addConstant("flags", flags);
  Tensor tern(DType::Tern, {2, 3});
  for (int i = 0; i < 6; ++i) tern.setInt(i, i % 3 - 1);
  m.addConstant("tw", tern, Type::tern({TernScale::Row, 0}, {2, 3}));
  m.addConstant("tg", tern, Type::tern({TernScale::Group, 3}, {2, 3}));
  Tensor u64(DType::U64, {1});
  u64.mutableData<uint64_t>()[0] = std::numeric_limits<uint64_t>::max();
  m.addConstant("big", u64);
  Tensor f64(DType::F64, {3});
  f64.setDouble(0, 0.1);
  f64.setDouble(1, 1e300);
  f64.setDouble(2, -4.9406564584124654e-324);
  m.addConstant("d", f64);
  const float inf = std::numeric_limits<float>::infinity();
  m.addConstant("specials", floats({7}, {inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1e-05f, 1e-45f,
                                         3.4028235e+38f, -0.0f}));
  Tensor i8(DType::I8, {2});
  i8.setInt(0, -128);
  i8.setInt(1, 127);
  m.addConstant("i8", i8);
  m.addConstant("u16", filled(DType::U16, {2, 2}, 65530));
  m.addConstant("empty", Tensor(DType::F32, {0, 3}));
  m.addConstant("/model/w.0", floats({2}, {1.5f, -2.0f}));
  m.addState("kv0", Type(DType::F16, {1, 4, Dim::symbol("ctx"), 64}));

  Graph *g = m.addGraph("main");
  Value *x = g->addArgument("x", Type(DType::F32, {Dim::symbol("batch"), 4}));
  Value *in2 = g->addArgument("input 2", Type(DType::F32, {4}));
  Op *a = g->buildOp("tt.Same", {x, in2}, {}, {"a"});
  Attrs attrs;
  attrs.set("dt", DType::F32);
  attrs.set("f", -1.5e-7f);
  attrs.set("fs", std::vector<float>{inf, 0.25f});
  attrs.set("i", int64_t(-3));
  attrs.set("is", std::vector<int64_t>{});
  attrs.set("s", std::string("a \"quoted\" \\ string\n"));
  attrs.set("ss", std::vector<std::string>{"", "x y"});
  attrs.set("t", floats({2, 1}, {0.5f, -1.0f}));
  Op *b = g->buildOp("tt.Attrs", {a->result()}, attrs, {"b"});
  Attrs empties;
  empties.set("fs", std::vector<float>{});
  empties.set("ss", std::vector<std::string>{});
  Op *b2 = g->buildOp("tt.Attrs", {b->result()}, empties, {"b2"});
  Op *split = g->buildOp("tt.Split", {b2->result()}, {}, {"c", "d"});
  Op *e = g->buildOp("tt.Same", {split->result(0), nullptr, m.findConstant("scalar")}, {}, {"e"});
  Attrs open;
  open.set("custom", std::string("x"));
  Op *w = g->createOp("tt.Unknown", {e->result()}, open);
  w->addResult("weird \"name\"\n", Type(DType::F32, {Dim::symbol("batch"), 2}));
  g->buildOp("tt.Sink", {e->result()}, {}, {});
  g->addOutput("y", b->result());
  g->addOutput("out/1", w->result());
  g->addOutput("const", m.findConstant("scalar"));

  Graph *decode = m.addGraph("decode");
  Value *t = decode->addArgument("t", Type(DType::I64, {Dim::symbol("past") + Dim::symbol("seq")}));
  Value *u = decode->addArgument("u", Type::tern({TernScale::Tensor, 0}, {Dim::symbol("N"), Dim::unknown()}));
  Value *v = decode->addArgument("v", Type::unranked(DType::BF16));
  Value *s = decode->addArgument("s", Type(DType::F32, {Dim(2) * Dim::symbol("batch") * Dim::symbol("seq") + 1}));
  Op *z = decode->buildOp("tt.Same", {t}, {}, {"z"});
  decode->addOutput("z", z->result());
  decode->addOutput("u", u);
  decode->addOutput("v", v);
  decode->addOutput("s", s);
  m.addGraph("empty");

  ASSERT_NO_THROW(verify(m));
  std::string text = expectRoundTrip(m);
  EXPECT_TRUE(contains(text, "module @\"round trip\" {")) << text;
  EXPECT_TRUE(contains(text, "const @half : f16[4] = dense<[1.0, -2.5, 65504.0, 5.9604645e-08]>")) << text;
  EXPECT_TRUE(contains(text, "const @bf : bf16[2] = dense<[3.140625, -0.0]>")) << text;
  EXPECT_TRUE(contains(text, "const @flags : bool[2] = dense<[true, false]>")) << text;
  EXPECT_TRUE(contains(text, "const @tw : tern<row>[2,3] = dense<[-1, 0, 1, -1, 0, 1]>")) << text;
  EXPECT_TRUE(contains(text, "const @tg : tern<g3>[2,3] = dense<[-1, 0, 1, -1, 0, 1]>")) << text;
  EXPECT_TRUE(contains(text, "const @big : u64[1] = dense<[18446744073709551615]>")) << text;
  EXPECT_TRUE(contains(text, "dense<[inf, -inf, nan, 1e-05, 1e-45, 3.4028235e+38, -0.0]>")) << text;
  EXPECT_TRUE(contains(text, "const @empty : f32[0,3] = dense<[]>")) << text;
  EXPECT_TRUE(contains(text, "const @\"/model/w.0\" : f32[2] = dense<[1.5, -2.0]>")) << text;
  EXPECT_TRUE(contains(text, "graph @main(%x: f32[batch,4], %\"input 2\": f32[4])")) << text;
  EXPECT_TRUE(contains(text, "{dt = f32, f = -1.5e-07, fs = [inf, 0.25], i = -3, is = [], "
                             "s = \"a \\\"quoted\\\" \\\\ string\\n\", ss = [\"\", \"x y\"], "
                             "t = dense<[0.5, -1.0]> : f32[2,1]}"))
      << text;
  EXPECT_TRUE(contains(text, "%b2 = tt.Attrs(%b) {fs = [], ss = []} : f32[batch,4]")) << text;
  EXPECT_TRUE(contains(text, "%\"weird \\\"name\\\"\\n\" = tt.Unknown(%e) {custom = \"x\"} : f32[batch,2]")) << text;
  EXPECT_TRUE(contains(text, "return %b, %\"weird \\\"name\\\"\\n\", @scalar")) << text;
  EXPECT_TRUE(contains(text, "(%t: i64[past+seq], %u: tern<tensor>[N,?], %v: bf16[*], %s: f32[2*batch*seq+1])"))
      << text;

  // The data itself survives, bit for bit (NaN compared by bits too).
  std::unique_ptr<Module> parsed = parseModule(text, "roundtrip.tir");
  ASSERT_EQ(parsed->constants().size(), m.constants().size());
  for (size_t i = 0; i < m.constants().size(); ++i) {
    EXPECT_TRUE(parsed->constants()[i]->data.identical(m.constants()[i]->data)) << m.constants()[i]->value.name();
    EXPECT_EQ(parsed->constants()[i]->value.type(), m.constants()[i]->value.type());
  }
  // Empty lists took their kind from the schema.
  const Op &parsedB2 = *parsed->findGraph("main")->ops()[2];
  EXPECT_EQ(attrKind(*parsedB2.attrs().find("fs")), AttrKind::Floats);
  EXPECT_EQ(attrKind(*parsedB2.attrs().find("ss")), AttrKind::Strings);
}

TEST_F(TextFormTest, ParsesCommentsAndSetsLocs) {
  const std::string text = R"(// RUN: ternc opt %s | FileCheck %s
module @m {  // trailing comment
  // CHECK: graph
  graph @g(%x: f32[2]) -> (y: f32[2]) {
      %a = tt.Same(%x) : f32[2]   // comment
    %b = tt.Same(%a) : f32[2]
    return %b
  }
}
)";
  std::unique_ptr<Module> m = parseModule(text, "dir/t.tir");
  const Graph &g = *m->findGraph("g");
  ASSERT_EQ(g.ops().size(), 2u);
  EXPECT_EQ(g.ops()[0]->loc(), "dir/t.tir:5:7");
  EXPECT_EQ(g.ops()[1]->loc(), "dir/t.tir:6:5");
  EXPECT_EQ(g.outputNames(), std::vector<std::string>{"y"});
  // Parsed names are reserved, so fresh names do not collide.
  EXPECT_EQ(m->findGraph("g")->uniqueName("a"), "a_1");
}

TEST_F(TextFormTest, DenseLiteralsConvertToTheConstantsDType) {
  const std::string text = R"(module @m {
  const @f : f32[3] = dense<[1, -2, 2.5]>
  const @h : f16[2] = dense<[0.1, 70000]>
  const @b : bf16[1] = dense<[1.00390625]>
  const @t : tern<row>[3] = dense<[-1, 0, 1]>
  const @flag : bool[] = dense<true>
  const @d : f64[] = dense<-nan>
}
)";
  std::unique_ptr<Module> m = parseModule(text, "t.tir");
  const Tensor &f = m->constants()[0]->data;
  EXPECT_EQ(f.values<float>()[1], -2.0f);
  EXPECT_EQ(f.values<float>()[2], 2.5f);
  const Tensor &h = m->constants()[1]->data;
  EXPECT_EQ(h.data<uint16_t>()[0], floatToHalf(0.1f));
  EXPECT_EQ(h.data<uint16_t>()[1], 0x7c00);
  EXPECT_EQ(m->constants()[2]->data.data<uint16_t>()[0], 0x3f80);  // tie rounds to even
  const Constant &t = *m->constants()[3];
  EXPECT_EQ(t.data.dtype(), DType::Tern);
  EXPECT_EQ(t.value.type().str(), "tern<row>[3]");
  EXPECT_EQ(t.data.data<int8_t>()[0], -1);
  EXPECT_EQ(m->constants()[4]->data.getInt(0), 1);
  double d = m->constants()[5]->data.getDouble(0);
  EXPECT_TRUE(std::isnan(d) && std::signbit(d));
}

TEST_F(TextFormTest, WrittenDimsAreKeptWhereInferenceHasUnknowns) {
  const std::string text = R"(module @m {
  graph @g(%x: f32[4,seq]) -> (y: f32[?,seq], z: f32[2,seq]) {
    %a, %b = tt.Unknown(%x) : f32[?,seq], f32[2,seq]
    return %a, %b
  }
}
)";
  std::unique_ptr<Module> m = parseModule(text, "t.tir");
  const Graph &g = *m->findGraph("g");
  EXPECT_EQ(g.ops()[0]->result(0)->type().str(), "f32[?,seq]");
  EXPECT_EQ(g.ops()[0]->result(1)->type().str(), "f32[2,seq]");
  EXPECT_NO_THROW(verify(*m));
  EXPECT_EQ(printModule(*m), text);
}

TEST_F(TextFormTest, AttributeIntLiteralsWidenToFloatSchemas) {
  std::unique_ptr<Module> m = parseModule(R"(module @m {
  graph @g(%x: f32[2]) -> (y: i64[2]) {
    %a = tt.Attrs(%x) {f = 2, fs = [1, 2.5], dt = i64} : i64[2]
    return %a
  }
}
)",
                                          "t.tir");
  const Attrs &attrs = m->findGraph("g")->ops()[0]->attrs();
  EXPECT_EQ(attrKind(*attrs.find("f")), AttrKind::Float);
  EXPECT_EQ(attrs.getFloat("f", 0), 2.0f);
  EXPECT_EQ(attrs.getFloats("fs"), (std::vector<float>{1.0f, 2.5f}));
  EXPECT_EQ(std::get<DType>(*attrs.find("dt")), DType::I64);
}

// ---------------------------------------------------------------------------
// Weight modes and files
// ---------------------------------------------------------------------------

/// A module with two large plain constants, one large packed one and one small.
std::unique_ptr<Module> moduleWithWeights() {
  auto m = std::make_unique<Module>("w");
  m->addConstant("ones", floats({5, 5}, std::vector<float>(25, 1.0f)));
  m->addConstant("bytes", filled(DType::I8, {100}, -50));
  Tensor packed = filled(DType::U8, {1024}, 3);
  m->addConstant("tw", packed, Type::tern({TernScale::Row, 0}, {64, 64}), "i2s");
  m->addConstant("small", floats({2}, {1.0f, 2.0f}));
  Tensor smallPacked = filled(DType::U8, {4}, 10);
  m->addConstant("tsmall", smallPacked, Type::tern({TernScale::Tensor, 0}, {4, 4}), "i2s");
  Graph *g = m->addGraph("main");
  Value *x = g->addArgument("x", Type(DType::F32, {5, 5}));
  Op *a = g->buildOp("tt.Same", {x, m->findConstant("ones")}, {}, {"a"});
  g->addOutput("y", a->result());
  return m;
}

void expectSameConstants(const Module &a, const Module &b) {
  ASSERT_EQ(a.constants().size(), b.constants().size());
  for (size_t i = 0; i < a.constants().size(); ++i) {
    const Constant &ca = *a.constants()[i], &cb = *b.constants()[i];
    EXPECT_EQ(ca.value.name(), cb.value.name());
    EXPECT_EQ(ca.value.type(), cb.value.type());
    EXPECT_EQ(ca.layout, cb.layout);
    EXPECT_TRUE(ca.data.identical(cb.data)) << ca.value.name();
  }
}

TEST_F(TextFormTest, HexWeights) {
  auto m = moduleWithWeights();
  PrintOptions opts;
  opts.weights = WeightMode::Hex;
  std::string text = expectRoundTrip(*m, opts);
  EXPECT_FALSE(contains(text, "weights")) << text;
  EXPECT_TRUE(contains(text, "const @ones : f32[5,5] = hex<\"0000803f0000803f")) << text;
  EXPECT_TRUE(contains(text, "const @tw : tern<row>[64,64] layout \"i2s\" = hex<\"030405")) << text;
  EXPECT_TRUE(contains(text, "const @small : f32[2] = dense<[1.0, 2.0]>")) << text;
  // Small packed data has no element form in its dtype: always bytes.
  EXPECT_TRUE(contains(text, "const @tsmall : tern<tensor>[4,4] layout \"i2s\" = hex<\"0a0b0c0d\">")) << text;
  auto parsed = parseModule(text, "t.tir");
  expectSameConstants(*m, *parsed);
  EXPECT_EQ(parsed->constants()[2]->data.dtype(), DType::U8);
  EXPECT_EQ(parsed->constants()[2]->data.shape(), std::vector<int64_t>{1024});

  fs::path dir = freshDir("hex");
  writeModuleFile(*m, (dir / "m.tir").string(), /*hexWeights=*/true);
  EXPECT_EQ(listDir(dir), std::set<std::string>{"m.tir"});
  expectSameConstants(*m, *parseModuleFile((dir / "m.tir").string()));
}

TEST_F(TextFormTest, ElidedWeights) {
  auto m = moduleWithWeights();
  std::string text = printModule(*m);
  EXPECT_TRUE(contains(text, "const @ones : f32[5,5] = elided<100>")) << text;
  EXPECT_TRUE(contains(text, "const @tw : tern<row>[64,64] layout \"i2s\" = elided<1024>")) << text;
  EXPECT_TRUE(contains(text, "const @small : f32[2] = dense<[1.0, 2.0]>")) << text;
  std::string err = errorOf([&] { parseModule(text, "t.tir"); });
  EXPECT_EQ(err, "t.tir:2:28: constant data was elided (@ones); write the module with "
                 "`ternc import -o FILE.tir` to keep it");
}

TEST_F(TextFormTest, ExternalWeightsFile) {
  auto m = moduleWithWeights();
  fs::path dir = freshDir("external");
  std::string path = (dir / "m.tir").string();
  writeModuleFile(*m, path);
  EXPECT_EQ(listDir(dir), (std::set<std::string>{"m.tir", "m.tir.bin"}));
  std::string text = readFile(path);
  EXPECT_TRUE(contains(text, "module @w weights \"m.tir.bin\" {\n")) << text;
  EXPECT_TRUE(contains(text, "const @ones : f32[5,5] = blob<0, 100>\n")) << text;
  EXPECT_TRUE(contains(text, "const @bytes : i8[100] = blob<128, 100>\n")) << text;
  EXPECT_TRUE(contains(text, "const @tw : tern<row>[64,64] layout \"i2s\" = blob<256, 1024>\n")) << text;
  EXPECT_TRUE(contains(text, "const @small : f32[2] = dense<[1.0, 2.0]>\n")) << text;
  EXPECT_EQ(fs::file_size(dir / "m.tir.bin"), 1280u);

  auto parsed = parseModuleFile(path);
  expectSameConstants(*m, *parsed);
  // Blobs are read-only views into one mapping of the weights file, 64-byte aligned.
  const auto &storage = parsed->constants()[0]->data.storage();
  for (size_t i = 0; i < 3; ++i) {
    const Tensor &t = parsed->constants()[i]->data;
    EXPECT_EQ(t.storage(), storage);
    EXPECT_EQ(t.byteOffset() % 64, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.rawData()) % 64, 0u);
  }
  EXPECT_EQ(storage->mutableData(), nullptr);
  EXPECT_EQ(storage->size(), 1280u);
  EXPECT_EQ(printModule(*parsed, {WeightMode::External, 16, "m.tir.bin", (dir / "again.bin").string()}), text);

  // Rewriting the module over its own files keeps the data intact: the old
  // mapping stays valid while the new files replace the old ones.
  writeModuleFile(*parsed, path);
  EXPECT_EQ(readFile(path), text);
  expectSameConstants(*m, *parsed);
  expectSameConstants(*m, *parseModuleFile(path));
  EXPECT_EQ(listDir(dir), (std::set<std::string>{"again.bin", "m.tir", "m.tir.bin"}));
}

TEST_F(TextFormTest, WeightsFileIsRelativeToTheTirFile) {
  auto m = moduleWithWeights();
  fs::path dir = freshDir("relative");
  fs::create_directories(dir / "sub");
  writeModuleFile(*m, (dir / "sub" / "model.tir").string());
  EXPECT_TRUE(contains(readFile(dir / "sub" / "model.tir"), "weights \"model.tir.bin\""));
  expectSameConstants(*m, *parseModuleFile((dir / "sub" / "model.tir").string()));
}

TEST_F(TextFormTest, FailedWritesLeaveNothingBehind) {
  auto m = moduleWithWeights();
  fs::path dir = freshDir("failed");
  fs::create_directories(dir / "taken");  // a folder where the file should go
  std::string err = errorOf([&] { writeModuleFile(*m, (dir / "taken").string(), true); });
  EXPECT_TRUE(contains(err, (dir / "taken").string() + ": cannot write")) << err;
  EXPECT_EQ(listDir(dir), std::set<std::string>{"taken"});

  err = errorOf([&] { writeModuleFile(*m, (dir / "missing" / "m.tir").string()); });
  EXPECT_TRUE(contains(err, "cannot create a temporary file")) << err;
  EXPECT_EQ(listDir(dir), std::set<std::string>{"taken"});
}

// ---------------------------------------------------------------------------
// Parse errors
// ---------------------------------------------------------------------------

/// Wraps graph body lines into a module whose body starts on line 3 (col 5).
std::string inGraph(const std::string &body, const std::string &sig = "(%x: f32[2]) -> (y: f32[2])") {
  return "module @m {\n  graph @g" + sig + " {\n" + body + "  }\n}\n";
}

TEST_F(TextFormTest, SyntaxErrorsSayWhatWasExpected) {
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x : f32[2]\n")), "t.tir:3:21: expected ')', found ':'");
  EXPECT_EQ(parseError("modul @m {}"), "t.tir:1:1: expected 'module', found 'modul'");
  EXPECT_EQ(parseError("module @m {\n  const @c : f32[] = dense<1.0>\n"),
            "t.tir:3:1: expected 'const', 'state', 'graph' or '}', found end of file");
  EXPECT_EQ(parseError("module @m {\n}\nextra"), "t.tir:3:1: expected end of file, found 'extra'");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x)\n    return %a\n")),
            "t.tir:4:5: expected ':' and the result types, found 'return'");
  EXPECT_EQ(parseError(inGraph("    return %x\n", "(%x: f32[2]) (y: f32[2])")), "t.tir:2:24: expected '->', found '('");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x) : f32[2\n    return %a\n")),
            "t.tir:4:5: expected ']', found 'return'");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x) : f32<row>[2]\n")), "t.tir:3:27: expected '[', found '<'");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x) : tern<g0>[2]\n")),
            "t.tir:3:29: expected a ternary scale granularity (tensor, row or gN), found 'g0'");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Attrs(%x) {s = \"abc}\n")), "t.tir:3:28: unterminated string");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Attrs(%x) {s = \"a\\q\"}\n")), "t.tir:3:31: unknown escape '\\q' in string");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Attrs(%x) {i = } : f32[2]\n")),
            "t.tir:3:28: expected an attribute value, found '}'");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(% x) : f32[2]\n")), "t.tir:3:18: expected a value, found '%'");
}

TEST_F(TextFormTest, ErrorLinesCountCommentLines) {
  EXPECT_EQ(parseError("// one\n// two\nmodule @m {\n  // four\n  bogus\n}\n"),
            "t.tir:5:3: expected 'const', 'state', 'graph' or '}', found 'bogus'");
}

TEST_F(TextFormTest, UnknownOpAndDType) {
  EXPECT_EQ(parseError(inGraph("    %a = Foo(%x) : f32[2]\n")), "t.tir:3:10: unknown op 'Foo'");
  EXPECT_EQ(parseError(inGraph("    return %x\n", "(%x: f33[2]) -> (y: f32[2])")), "t.tir:2:16: unknown dtype 'f33'");
  EXPECT_EQ(parseError("module @m {\n  const @c : q8[1] = dense<[1]>\n}\n"), "t.tir:2:14: unknown dtype 'q8'");
}

TEST_F(TextFormTest, UndefinedValues) {
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%b) : f32[2]\n    %b = tt.Same(%x) : f32[2]\n    return %b\n")),
            "t.tir:3:18: use of undefined value %b");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x, %\"never defined\") : f32[2]\n")),
            "t.tir:3:22: use of undefined value %\"never defined\"");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x, @w) : f32[2]\n")), "t.tir:3:22: use of undefined constant @w");
  EXPECT_EQ(parseError(inGraph("    return %nope\n")), "t.tir:3:12: use of undefined value %nope");
  // Values are scoped to their graph.
  EXPECT_EQ(parseError("module @m {\n  graph @a(%x: f32[]) -> () {\n    return\n  }\n"
                       "  graph @b() -> (y: f32[]) {\n    return %x\n  }\n}\n"),
            "t.tir:6:12: use of undefined value %x");
}

TEST_F(TextFormTest, Redefinitions) {
  EXPECT_EQ(parseError(inGraph("    %x = tt.Same(%x) : f32[2]\n")), "t.tir:3:5: redefinition of %x in graph @g");
  EXPECT_EQ(parseError(inGraph("    %a, %a = tt.Split(%x) : f32[1], f32[1]\n")),
            "t.tir:3:9: redefinition of %a in graph @g");
  EXPECT_EQ(parseError(inGraph("    return %x\n", "(%x: f32[2], %x: f32[2]) -> (y: f32[2])")),
            "t.tir:2:24: redefinition of %x in graph @g");
  EXPECT_EQ(parseError("module @m {\n  const @c : f32[] = dense<1.0>\n  const @c : f32[] = dense<2.0>\n}\n"),
            "t.tir:3:9: redefinition of constant @c");
  EXPECT_EQ(parseError("module @m {\n  state @s : f32[]\n  state @s : f32[]\n}\n"),
            "t.tir:3:9: redefinition of state @s");
  EXPECT_EQ(parseError("module @m {\n  graph @g() -> () {\n    return\n  }\n  graph @g() -> () {\n    return\n  }\n}\n"),
            "t.tir:5:9: redefinition of graph @g");
  EXPECT_EQ(parseError(inGraph("    return %x, %x\n", "(%x: f32[2]) -> (y: f32[2], y: f32[2])")),
            "t.tir:2:39: output 'y' is declared twice");
}

TEST_F(TextFormTest, OperandAndResultCounts) {
  EXPECT_EQ(parseError(inGraph("    %a = tt.Required(%x, %x) {axis = 1} : f32[2]\n")),
            "t.tir:3:5: tt.Required takes 1 operand, found 2");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same() : f32[2]\n")), "t.tir:3:5: tt.Same takes 1 to 3 operands, found 0");
  EXPECT_EQ(parseError(inGraph("    %a, %b = tt.Same(%x) : f32[2], f32[2]\n")),
            "t.tir:3:5: tt.Same has 1 result, found 2");
  EXPECT_EQ(parseError(inGraph("    tt.Split(%x)\n")), "t.tir:3:5: tt.Split has at least 1 results, found 0");
  EXPECT_EQ(parseError(inGraph("    %a, %b = tt.Split(%x) : f32[1]\n")),
            "t.tir:3:5: tt.Split has 2 results but 1 result types");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(_, %x) : f32[2]\n")),
            "t.tir:3:5: tt.Same: operand 0 is required, but omitted ('_')");
  EXPECT_EQ(parseError(inGraph("    return\n")), "t.tir:3:5: graph @g declares 1 outputs, but returns 0 values");
  EXPECT_EQ(parseError(inGraph("    return %x, %x\n")), "t.tir:3:5: graph @g declares 1 outputs, but returns 2 values");
}

TEST_F(TextFormTest, AttributesAgainstTheSchema) {
  EXPECT_EQ(parseError(inGraph("    %a = tt.Required(%x) {axis = 1.5} : f32[2]\n")),
            "t.tir:3:34: attribute 'axis' of tt.Required must be int, found float");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Attrs(%x) {s = 3} : f32[2]\n")),
            "t.tir:3:28: attribute 's' of tt.Attrs must be string, found int");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Attrs(%x) {is = [\"a\"]} : f32[2]\n")),
            "t.tir:3:29: attribute 'is' of tt.Attrs must be ints, found strings");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Attrs(%x) {is = [1.5]} : f32[2]\n")),
            "t.tir:3:29: attribute 'is' of tt.Attrs must be ints, found floats");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Attrs(%x) {t = f32} : f32[2]\n")),
            "t.tir:3:28: attribute 't' of tt.Attrs must be tensor, found dtype");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Attrs(%x) {dt = f33} : f32[2]\n")),
            "t.tir:3:29: expected an attribute value, found 'f33' (not a dtype)");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x) {foo = 1} : f32[2]\n")),
            "t.tir:3:23: tt.Same has no attribute 'foo'");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Attrs(%x) {i = 1, i = 2} : f32[2]\n")),
            "t.tir:3:31: attribute 'i' is given twice");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Required(%x) : f32[2]\n")),
            "t.tir:3:5: tt.Required: missing required attribute 'axis'");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Attrs(%x) {t = dense<[1.0]> : f32[2]} : f32[2]\n")),
            "t.tir:3:33: dense literal has 1 values, but f32[2] needs 2");
}

TEST_F(TextFormTest, ConstantDataErrors) {
  auto constError = [](const std::string &decl) { return parseError("module @m {\n  " + decl + "\n}\n"); };
  EXPECT_EQ(constError("const @c : f32[3] = dense<[1.0, 2.0]>"), "t.tir:2:23: dense literal has 2 values, but f32[3] needs 3");
  EXPECT_EQ(constError("const @c : f32[2] = dense<1.0>"), "t.tir:2:23: dense literal has 1 values, but f32[2] needs 2");
  EXPECT_EQ(constError("const @c : tern<row>[2] = dense<[1, 2]>"),
            "t.tir:2:39: a tern element must be -1, 0 or 1, found '2'");
  EXPECT_EQ(constError("const @c : i8[1] = dense<[300]>"), "t.tir:2:29: '300' is out of range for i8");
  EXPECT_EQ(constError("const @c : u8[1] = dense<[-1]>"), "t.tir:2:29: '-1' is out of range for u8");
  EXPECT_EQ(constError("const @c : i64[1] = dense<[1.5]>"),
            "t.tir:2:30: expected an integer for a i64 element, found '1.5'");
  EXPECT_EQ(constError("const @c : f32[1] = dense<[true]>"), "t.tir:2:30: expected a number for a f32 element, found 'true'");
  EXPECT_EQ(constError("const @c : f32[1] = dense<[1e99]>"), "t.tir:2:30: '1e99' is out of range for f32");
  EXPECT_EQ(constError("const @c : i64[1] = dense<[99999999999999999999]>"),
            "t.tir:2:30: integer '99999999999999999999' is out of range");
  EXPECT_EQ(constError("const @c : f32[seq] = dense<[1.0]>"), "t.tir:2:14: a constant needs a static type, found f32[seq]");
  EXPECT_EQ(constError("const @c : f32[2] = hex<\"0000803f\">"),
            "t.tir:2:23: hex data has 8 digits, but 8 bytes (16 digits) are needed");
  EXPECT_EQ(constError("const @c : i8[1] = hex<\"zz\">"), "t.tir:2:22: hex data contains 'z', which is not a hex digit");
  EXPECT_EQ(constError("const @c : f32[2] layout \"i2s\" = dense<[1.0, 2.0]>"),
            "t.tir:2:36: a constant with a layout takes hex<...> or blob<...> data, not dense<...>");
  EXPECT_EQ(constError("const @c : f32[1] = zeros<4>"),
            "t.tir:2:23: expected constant data (dense<...>, hex<...> or blob<...>), found 'zeros'");
  EXPECT_EQ(constError("const @c : f32[100] = elided<400>"),
            "t.tir:2:25: constant data was elided (@c); write the module with `ternc import -o FILE.tir` to keep it");
  EXPECT_EQ(constError("const @c : f32[16] = blob<0, 64>"),
            "t.tir:2:24: blob<...> data needs a weights file, but the module header names none "
            "(module @NAME weights \"FILE\" {...})");
}

TEST_F(TextFormTest, BlobErrors) {
  fs::path dir = freshDir("blob");
  {
    std::ofstream out(dir / "w.bin", std::ios::binary);
    out << std::string(128, '\0');
  }
  auto parseBlob = [&](const std::string &decl) {
    std::string text = "module @m weights \"w.bin\" {\n  " + decl + "\n}\n";
    std::ofstream(dir / "t.tir") << text;
    return errorOf([&] { parseModuleFile((dir / "t.tir").string()); });
  };
  std::string file = (dir / "t.tir").string();
  EXPECT_EQ(parseBlob("const @c : f32[16] = blob<64, 128>"),
            file + ":2:24: blob<64, 128> lies outside the weights file '" + (dir / "w.bin").string() + "' (128 bytes)");
  EXPECT_EQ(parseBlob("const @c : f32[4] = blob<4, 16>"), file + ":2:23: blob offset 4 is not 64-byte aligned");
  EXPECT_EQ(parseBlob("const @c : f32[4] = blob<64, 32>"), file + ":2:23: blob has 32 bytes, but 16 are needed");
  EXPECT_EQ(parseBlob("const @c : f32[4] = blob<64, 16>"), "<no error>");

  std::string text = "module @m weights \"absent.bin\" {\n  const @c : f32[4] = blob<0, 16>\n}\n";
  std::ofstream(dir / "u.tir") << text;
  std::string err = errorOf([&] { parseModuleFile((dir / "u.tir").string()); });
  EXPECT_TRUE(err.rfind((dir / "u.tir").string() + ":2:23: cannot open the weights file '" +
                            (dir / "absent.bin").string() + "'",
                        0) == 0)
      << err;
}

TEST_F(TextFormTest, WrittenTypesMustAgreeWithInference) {
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x) : f32[3]\n")),
            "t.tir:3:5: tt.Same: result %a is written f32[3], but type inference gives f32[2]");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x) : i32[2]\n")),
            "t.tir:3:5: tt.Same: result %a is written i32[2], but type inference gives f32[2]");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x) : f32[2,1]\n")),
            "t.tir:3:5: tt.Same: result %a is written f32[2,1], but type inference gives f32[2]");
  // A written `?` where inference knows the dim would print differently.
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x) : f32[?]\n")),
            "t.tir:3:5: tt.Same: result %a is written f32[?], but type inference gives f32[2]");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Unknown(%x) : f32[*]\n")),
            "t.tir:3:5: tt.Unknown: result %a is written f32[*], but type inference gives f32[?]");
  EXPECT_EQ(parseError(inGraph("    %a = tt.Same(%x, %i) : f32[2]\n", "(%x: f32[2], %i: i64[2]) -> (y: f32[2])")),
            "t.tir:3:5: tt.Same: operand dtypes differ: f32 vs i64");
  EXPECT_EQ(parseError(inGraph("    return %x\n", "(%x: f32[2]) -> (y: f32[3])")),
            "t.tir:3:12: output 'y' is declared f32[3], but the returned value %x is f32[2]");
}

TEST_F(TextFormTest, EveryTruncationFailsWithAnError) {
  const std::string text = R"(module @m {
  const @c : f32[2] = dense<[1.5, -2.0]>
  const @h : i8[2] = hex<"01ff">
  graph @g(%x: f32[n,2], %"q r": f32[2]) -> (y: f32[n,2], "z/1": f32[n,1]) {
    %a = tt.Same(%x, %"q r", @c) : f32[n,2]
    %b = tt.Attrs(%a) {f = 1e-05, fs = [], s = "s\n", t = dense<[1, 2]> : i64[2]} : f32[n,2]
    %c, %d = tt.Split(%b) : f32[n,1], f32[n,1]
    return %b, %c
  }
}
)";
  ASSERT_NO_THROW(parseModule(text, "t.tir"));
  // Every proper prefix is incomplete: the parser must say so with an
  // Error, never crash or accept it.
  for (size_t n = 0; n + 1 < text.size(); ++n) {
    std::string err = parseError(text.substr(0, n));
    ASSERT_EQ(err.rfind("t.tir:", 0), 0u) << "prefix of " << n << " bytes: " << err;
  }
}

TEST_F(TextFormTest, UnreadableFile) {
  std::string path = (freshDir("unreadable") / "nope.tir").string();
  EXPECT_EQ(errorOf([&] { parseModuleFile(path); }), path + ": cannot read: No such file or directory");
}

} // namespace
} // namespace ternc
