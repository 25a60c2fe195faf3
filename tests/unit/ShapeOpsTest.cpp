// ShapeOpsTest: evaluation and symbolic shape inference of the shape and
// indexing ops (Reshape, Transpose, Gather, Concat, Slice, Split, Squeeze,
// Unsqueeze, Shape, Expand, Range, ConstantOfShape, Trilu). Expected values
// are literals computed independently with numpy.
#include "ir/Error.h"
#include "ir/OpRegistry.h"

#include <gtest/gtest.h>

#include <climits>

using namespace ternc;

namespace {

Tensor i64(std::vector<int64_t> shape, const std::vector<int64_t> &values) {
  Tensor t(DType::I64, std::move(shape));
  for (size_t i = 0; i < values.size(); ++i) t.setInt(int64_t(i), values[i]);
  return t;
}

Tensor f32(std::vector<int64_t> shape, const std::vector<double> &values) {
  Tensor t(DType::F32, std::move(shape));
  for (size_t i = 0; i < values.size(); ++i) t.setDouble(int64_t(i), values[i]);
  return t;
}

/// 0, 1, 2, ... as i64 in `shape`.
Tensor iota(std::vector<int64_t> shape) {
  Tensor t(DType::I64, std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i) t.setInt(i, i);
  return t;
}

std::vector<int64_t> ints(const Tensor &t) { return t.toI64Vector(); }

/// Builds `opName` on graph arguments typed like `inputs` (invalid tensor =
/// omitted operand), checks that the inferred result types agree with the
/// evaluated shapes wherever a dim is known, and returns the results.
std::vector<Tensor> run(std::string_view opName, const std::vector<Tensor> &inputs, Attrs attrs = {},
                        size_t numResults = 1) {
  Module m;
  Graph *g = m.addGraph("main");
  std::vector<Value *> operands;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].isValid()) {
      operands.push_back(nullptr);
      continue;
    }
    std::vector<Dim> dims(inputs[i].shape().begin(), inputs[i].shape().end());
    operands.push_back(g->addArgument(fmt::format("in{}", i), Type(inputs[i].dtype(), dims)));
  }
  Op *op = g->buildOp(opName, operands, std::move(attrs), std::vector<std::string>(numResults, "r"));
  EvalContext ctx(*op, inputs);
  std::vector<Tensor> results = op->def().eval(ctx);
  EXPECT_EQ(results.size(), numResults);
  for (size_t k = 0; k < results.size(); ++k) {
    const Type &t = op->result(k)->type();
    EXPECT_EQ(t.dtype(), results[k].dtype());
    if (!t.isRanked()) continue;
    EXPECT_EQ(t.rank(), results[k].rank()) << t.str();
    for (size_t d = 0; d < t.rank() && d < results[k].rank(); ++d) {
      if (!t.dim(d).isStatic()) continue;
      EXPECT_EQ(t.dim(d).value(), results[k].shape()[d]) << t.str();
    }
  }
  return results;
}

Tensor run1(std::string_view opName, const std::vector<Tensor> &inputs, Attrs attrs = {}) {
  return run(opName, inputs, std::move(attrs))[0];
}

Attrs attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
  Attrs a;
  for (const auto &[n, v] : list) a.set(n, v);
  return a;
}

/// Expects `f` to throw an Error whose message contains `text`.
template <typename F> void expectError(F &&f, const std::string &text) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing: " << text;
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

TEST(ShapeOpsEval, ReshapeZeroCopiesAndMinusOneInfers) {
  Tensor r = run1("Reshape", {iota({2, 3, 4}), i64({2}, {0, -1})});
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{2, 12}));
  EXPECT_EQ(ints(r)[13], 13);
  r = run1("Reshape", {iota({2, 3, 4}), i64({3}, {-1, 0, 2})});
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{4, 3, 2}));
}

TEST(ShapeOpsEval, ReshapeAllowZero) {
  // With allowzero the 0 is a real size, so an empty input can take it.
  Tensor r = run1("Reshape", {Tensor(DType::F32, {0, 3}), i64({2}, {3, 0})}, attrs({{"allowzero", int64_t(1)}}));
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{3, 0}));
  // Without it the 0 copies input dim 1 (3): 6 elements cannot fill [3,3].
  expectError([] { run1("Reshape", {iota({2, 3}), i64({2}, {3, 0})}); }, "cannot reshape 6 elements into [3,0]");
}

TEST(ShapeOpsEval, ReshapeErrors) {
  expectError([] { run1("Reshape", {iota({2, 3, 4}), i64({2}, {5, -1})}); }, "cannot reshape 24 elements into [5,-1]");
  expectError([] { run1("Reshape", {iota({2, 3, 4}), i64({2}, {-1, -1})}); }, "more than one -1");
}

TEST(ShapeOpsEval, Transpose) {
  Tensor r = run1("Transpose", {iota({2, 3, 4})}, attrs({{"perm", std::vector<int64_t>{1, 2, 0}}}));
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{3, 4, 2}));
  EXPECT_EQ(ints(r), (std::vector<int64_t>{0, 12, 1, 13, 2, 14, 3, 15, 4, 16, 5, 17,
                                           6, 18, 7, 19, 8, 20, 9, 21, 10, 22, 11, 23}));
  r = run1("Transpose", {f32({2, 3}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(std::vector<float>(r.values<float>().begin(), r.values<float>().end()),
            (std::vector<float>{1, 4, 2, 5, 3, 6}));
  expectError([] { run1("Transpose", {iota({2, 2})}, attrs({{"perm", std::vector<int64_t>{0, 0}}})); },
              "Transpose: perm [0,0] is not a permutation of rank 2");
}

TEST(ShapeOpsEval, GatherNegativeIndicesAndAxis) {
  Tensor r = run1("Gather", {iota({3, 4}), i64({2, 2}, {-1, 0, 2, -4})}, attrs({{"axis", int64_t(-1)}}));
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(ints(r), (std::vector<int64_t>{3, 0, 2, 0, 7, 4, 6, 4, 11, 8, 10, 8}));
  r = run1("Gather", {iota({3, 2}), Tensor::scalarI64(-1)});
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(ints(r), (std::vector<int64_t>{4, 5}));
  expectError([] { run1("Gather", {iota({3, 4}), i64({1}, {4})}, attrs({{"axis", int64_t(1)}})); },
              "index 4 is out of bounds for axis 1 of size 4");
}

TEST(ShapeOpsEval, ConcatNegativeAxis) {
  Tensor r = run1("Concat", {iota({2, 1}), i64({2, 2}, {7, 8, 9, 10}), i64({2, 0}, {})},
                  attrs({{"axis", int64_t(-1)}}));
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ints(r), (std::vector<int64_t>{0, 7, 8, 1, 9, 10}));
  expectError([] { run1("Concat", {iota({2, 1}), iota({3, 1})}, attrs({{"axis", int64_t(1)}})); }, "axis 0");
}

TEST(ShapeOpsEval, SliceNegativeStepsAndClamping) {
  // x[::-1, 4::-2] written as INT64_MIN ends and an out-of-range start.
  Tensor r = run1("Slice", {iota({4, 5}), i64({2}, {-1, 100}), i64({2}, {INT64_MIN, -100}), i64({2}, {0, 1}),
                            i64({2}, {-1, -2})});
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(ints(r), (std::vector<int64_t>{19, 17, 15, 14, 12, 10, 9, 7, 5, 4, 2, 0}));
  // x[1:1000, -1000:3] with default axes and steps.
  r = run1("Slice", {iota({4, 5}), i64({2}, {1, -1000}), i64({2}, {1000, 3})});
  EXPECT_EQ(ints(r), (std::vector<int64_t>{5, 6, 7, 10, 11, 12, 15, 16, 17}));
  // x[2:0:-1, -1:-4:-2] with negative axes given in reverse order.
  r = run1("Slice", {iota({4, 5}), i64({2}, {-1, 2}), i64({2}, {-4, 0}), i64({2}, {-1, -2}), i64({2}, {-2, -1})});
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(ints(r), (std::vector<int64_t>{14, 12, 9, 7}));
  // A start past the end gives an empty axis; INT64_MAX means "to the end".
  r = run1("Slice", {iota({4, 5}), i64({1}, {7}), i64({1}, {INT64_MAX})});
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{0, 5}));
  expectError([] { run1("Slice", {iota({4}), i64({1}, {0}), i64({1}, {2}), i64({1}, {0}), i64({1}, {0})}); },
              "steps must not be 0");
}

TEST(ShapeOpsEval, SplitSizesAsInputOrAttribute) {
  auto parts = run("Split", {iota({2, 5}), i64({2}, {2, 3})}, attrs({{"axis", int64_t(1)}}), 2);
  EXPECT_EQ(ints(parts[0]), (std::vector<int64_t>{0, 1, 5, 6}));
  EXPECT_EQ(ints(parts[1]), (std::vector<int64_t>{2, 3, 4, 7, 8, 9}));
  parts = run("Split", {iota({2, 5})}, attrs({{"axis", int64_t(-1)}, {"split", std::vector<int64_t>{4, 0, 1}}}), 3);
  EXPECT_EQ(ints(parts[0]), (std::vector<int64_t>{0, 1, 2, 3, 5, 6, 7, 8}));
  EXPECT_EQ(parts[1].shape(), (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(ints(parts[2]), (std::vector<int64_t>{4, 9}));
  expectError([] { run("Split", {iota({5})}, attrs({{"split", std::vector<int64_t>{2, 2}}}), 2); },
              "sums to 4, but the dim has size 5");
}

TEST(ShapeOpsEval, SplitEqualParts) {
  auto parts = run("Split", {iota({6})}, {}, 3);
  EXPECT_EQ(ints(parts[2]), (std::vector<int64_t>{4, 5}));
  // Opsets 13-17 need an even split; the opset-18 num_outputs form allows
  // a smaller last part.
  expectError([] { run("Split", {iota({7})}, {}, 3); }, "cannot split a dim of size 7 into 3 equal parts");
  parts = run("Split", {iota({7})}, attrs({{"num_outputs", int64_t(3)}}), 3);
  EXPECT_EQ(ints(parts[0]), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(ints(parts[2]), (std::vector<int64_t>{6}));
}

TEST(ShapeOpsEval, SqueezeAndUnsqueeze) {
  EXPECT_EQ(run1("Squeeze", {iota({1, 3, 1, 2})}).shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(run1("Squeeze", {iota({1, 3, 1, 2}), i64({1}, {-2})}).shape(), (std::vector<int64_t>{1, 3, 2}));
  EXPECT_EQ(run1("Squeeze", {iota({1, 3, 1, 2})}, attrs({{"axes", std::vector<int64_t>{0}}})).shape(),
            (std::vector<int64_t>{3, 1, 2}));
  expectError([] { run1("Squeeze", {iota({1, 3}), i64({1}, {1})}); }, "its size is 3, not 1");
  Tensor r = run1("Unsqueeze", {iota({3, 2}), i64({2}, {-1, 0})});
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{1, 3, 2, 1}));
  EXPECT_EQ(ints(r), ints(iota({6})));
  EXPECT_EQ(run1("Unsqueeze", {iota({3})}, attrs({{"axes", std::vector<int64_t>{1, 2}}})).shape(),
            (std::vector<int64_t>{3, 1, 1}));
  expectError([] { run1("Unsqueeze", {iota({3}), i64({2}, {0, -3})}); }, "name the same axis twice");
}

TEST(ShapeOpsEval, ShapeStartEnd) {
  EXPECT_EQ(ints(run1("Shape", {iota({2, 3, 4})})), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(ints(run1("Shape", {iota({2, 3, 4})}, attrs({{"start", int64_t(-2)}}))), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(ints(run1("Shape", {iota({2, 3, 4})}, attrs({{"start", int64_t(-9)}, {"end", int64_t(-1)}}))),
            (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(run1("Shape", {iota({2, 3, 4})}, attrs({{"start", int64_t(2)}, {"end", int64_t(1)}})).numElements(), 0);
}

TEST(ShapeOpsEval, ExpandBroadcastsBothWays) {
  Tensor r = run1("Expand", {i64({3, 1}, {1, 2, 3}), i64({3}, {2, 1, 4})});
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(ints(r), (std::vector<int64_t>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
  expectError([] { run1("Expand", {iota({3}), i64({1}, {4})}); }, "cannot be broadcast");
}

TEST(ShapeOpsEval, RangeAnyNumericType) {
  Tensor start(DType::I32, {}), limit(DType::I32, {}), delta(DType::I32, {});
  start.setInt(0, 10), limit.setInt(0, 4), delta.setInt(0, -3);
  Tensor r = run1("Range", {start, limit, delta});
  EXPECT_EQ(r.dtype(), DType::I32);
  EXPECT_EQ(ints(r), (std::vector<int64_t>{10, 7}));
  r = run1("Range", {Tensor::scalarF32(1), Tensor::scalarF32(2), Tensor::scalarF32(0.25f)});
  EXPECT_EQ(std::vector<float>(r.values<float>().begin(), r.values<float>().end()),
            (std::vector<float>{1.0f, 1.25f, 1.5f, 1.75f}));
  EXPECT_EQ(run1("Range", {Tensor::scalarI64(3), Tensor::scalarI64(3), Tensor::scalarI64(1)}).numElements(), 0);
}

TEST(ShapeOpsEval, ConstantOfShape) {
  Tensor r = run1("ConstantOfShape", {i64({2}, {2, 3})});
  EXPECT_EQ(r.dtype(), DType::F32);
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(r.getDouble(5), 0.0);
  r = run1("ConstantOfShape", {i64({1}, {3})}, attrs({{"value", i64({1}, {7})}}));
  EXPECT_EQ(ints(r), (std::vector<int64_t>{7, 7, 7}));
  EXPECT_EQ(run1("ConstantOfShape", {i64({0}, {})}).rank(), 0u);
}

TEST(ShapeOpsEval, TriluBatchedWithK) {
  Tensor k1 = Tensor::scalarI64(1), km1 = Tensor::scalarI64(-1);
  EXPECT_EQ(ints(run1("Trilu", {iota({2, 3, 4}), k1})),
            (std::vector<int64_t>{0, 1, 2, 3, 0, 0, 6, 7, 0, 0, 0, 11, 0, 13, 14, 15, 0, 0, 18, 19, 0, 0, 0, 23}));
  EXPECT_EQ(ints(run1("Trilu", {iota({2, 3, 4}), km1})),
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0, 21, 22, 23}));
  Attrs lower = attrs({{"upper", int64_t(0)}});
  EXPECT_EQ(ints(run1("Trilu", {iota({2, 3, 4}), km1}, lower)),
            (std::vector<int64_t>{0, 0, 0, 0, 4, 0, 0, 0, 8, 9, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 20, 21, 0, 0}));
  EXPECT_EQ(ints(run1("Trilu", {iota({2, 3, 4}), Tensor::scalarI64(2)}, lower)),
            (std::vector<int64_t>{0, 1, 2, 0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0, 16, 17, 18, 19, 20, 21, 22, 23}));
  // Without k: the main diagonal.
  EXPECT_EQ(ints(run1("Trilu", {iota({2, 2})}, lower)), (std::vector<int64_t>{0, 0, 2, 3}));
}

// ---------------------------------------------------------------------------
// Symbolic shape inference
// ---------------------------------------------------------------------------

class ShapeOpsInfer : public ::testing::Test {
protected:
  Module m;
  Graph *g = m.addGraph("main");
  Value *x = g->addArgument("x", Type(DType::F32, {Dim::symbol("batch"), Dim::symbol("seq"), Dim(64)}));

  Value *op(std::string_view name, std::vector<Value *> operands, Attrs a = {}) {
    return g->buildOp(name, std::move(operands), std::move(a), {""})->result();
  }
  Value *constant(const Tensor &t) { return m.addConstant("c", t); }
  Value *arg(Type t) { return g->addArgument(g->uniqueName("a"), std::move(t)); }
  /// Shape(x)[i] as a 1-D value via Gather + Unsqueeze (as exporters write it).
  Value *dimOf(Value *v, int64_t i) {
    Value *scalar = op("Gather", {op("Shape", {v}), constant(Tensor::scalarI64(i))});
    return op("Unsqueeze", {scalar, constant(i64({1}, {0}))});
  }
  static std::string sym(const Value *v) {
    if (!v->symbolicValue()) return "none";
    std::string s;
    for (const Dim &d : *v->symbolicValue()) s += (s.empty() ? "" : ",") + d.str();
    return "[" + s + "]";
  }
};

TEST_F(ShapeOpsInfer, ShapeCarriesDims) {
  Value *s = op("Shape", {x});
  EXPECT_EQ(s->type().str(), "i64[3]");
  EXPECT_EQ(sym(s), "[batch,seq,64]");
  EXPECT_EQ(sym(op("Shape", {x}, attrs({{"start", int64_t(1)}}))), "[seq,64]");
  Value *scalar = op("Gather", {s, constant(Tensor::scalarI64(-2))});
  EXPECT_EQ(scalar->type().str(), "i64[]");
  EXPECT_EQ(sym(scalar), "[seq]");
  EXPECT_EQ(sym(op("Slice", {s, constant(i64({1}, {0})), constant(i64({1}, {2}))})), "[batch,seq]");
  EXPECT_EQ(sym(op("Slice", {s, constant(i64({1}, {-1})), constant(i64({1}, {INT64_MIN})),
                             constant(i64({1}, {0})), constant(i64({1}, {-1}))})),
            "[64,seq,batch]");
  EXPECT_EQ(sym(op("Squeeze", {dimOf(x, 0)})), "[batch]");
}

TEST_F(ShapeOpsInfer, ReshapeThroughConcatOfShapeEntries) {
  Value *shape = op("Concat", {dimOf(x, 0), dimOf(x, 1), constant(i64({2}, {4, 16}))}, attrs({{"axis", int64_t(0)}}));
  EXPECT_EQ(sym(shape), "[batch,seq,4,16]");
  EXPECT_EQ(op("Reshape", {x, shape})->type().str(), "f32[batch,seq,4,16]");
  // The same with Shape(x)[0:2] sliced instead of gathered.
  Value *lead = op("Slice", {op("Shape", {x}), constant(i64({1}, {0})), constant(i64({1}, {2}))});
  shape = op("Concat", {lead, constant(i64({2}, {16, 4}))}, attrs({{"axis", int64_t(0)}}));
  EXPECT_EQ(op("Reshape", {x, shape})->type().str(), "f32[batch,seq,16,4]");
}

TEST_F(ShapeOpsInfer, ReshapeSolvesMinusOneSymbolically) {
  Value *shape = op("Concat", {dimOf(x, 0), constant(i64({1}, {-1}))}, attrs({{"axis", int64_t(0)}}));
  EXPECT_EQ(op("Reshape", {x, shape})->type().str(), "f32[batch,64*seq]");
  // 0 copies the symbolic input dim.
  EXPECT_EQ(op("Reshape", {x, constant(i64({4}, {0, 0, -1, 8}))})->type().str(), "f32[batch,seq,8,8]");
  // Flatten the leading dims: [batch*seq, 64].
  EXPECT_EQ(op("Reshape", {x, constant(i64({2}, {-1, 64}))})->type().str(), "f32[batch*seq,64]");
  // -1 against a dim that does not divide the symbols: unknown, not wrong.
  EXPECT_EQ(op("Reshape", {x, constant(i64({2}, {-1, 3}))})->type().str(), "f32[?,3]");
}

TEST_F(ShapeOpsInfer, ReshapeWithUnknownShapeContents) {
  EXPECT_EQ(op("Reshape", {x, arg(Type(DType::I64, {3}))})->type().str(), "f32[?,?,?]");
  EXPECT_EQ(op("Reshape", {x, arg(Type(DType::I64, {Dim::symbol("n")}))})->type().str(), "f32[*]");
  // A shape built from an unknown entry and a constant keeps the constant.
  Value *unknownDim = op("Unsqueeze", {arg(Type(DType::I64, {})), constant(i64({1}, {0}))});
  Value *shape = op("Concat", {unknownDim, constant(i64({1}, {64}))}, attrs({{"axis", int64_t(0)}}));
  EXPECT_EQ(op("Reshape", {x, shape})->type().str(), "f32[?,64]");
}

TEST_F(ShapeOpsInfer, ReshapeErrorsNameTheProblem) {
  Value *y = arg(Type(DType::F32, {2, 3, 4}));
  expectError([&] { op("Reshape", {y, constant(i64({2}, {5, -1}))}); },
              "Reshape: cannot reshape 24 elements into [5,-1]");
  expectError([&] { op("Reshape", {y, constant(i64({2}, {5, 5}))}); }, "cannot reshape 24 elements into [5,5]");
  expectError([&] { op("Transpose", {y}, attrs({{"perm", std::vector<int64_t>{0, 0}}})); },
              "Transpose: perm [0,0] is not a permutation of rank 3");
  expectError([&] { op("Gather", {y, constant(i64({1}, {-3}))}); }, "index -3 is out of bounds for axis 0 of size 2");
  expectError([&] { op("Concat", {y, y}); }, "needs the `axis` attribute");
}

TEST_F(ShapeOpsInfer, ConcatAddsSymbolicSizes) {
  Value *past = arg(Type(DType::F32, {Dim::symbol("batch"), Dim::symbol("past"), Dim(64)}));
  Value *kv = op("Concat", {past, x}, attrs({{"axis", int64_t(-2)}}));
  EXPECT_EQ(kv->type().str(), "f32[batch,past+seq,64]");
  Value *anyBatch = arg(Type(DType::F32, {Dim::unknown(), Dim(2), Dim(64)}));
  EXPECT_EQ(op("Concat", {anyBatch, x}, attrs({{"axis", int64_t(1)}}))->type().str(), "f32[batch,seq+2,64]");
}

TEST_F(ShapeOpsInfer, TransposeSqueezeUnsqueezeKeepSymbols) {
  EXPECT_EQ(op("Transpose", {x}, attrs({{"perm", std::vector<int64_t>{0, 2, 1}}}))->type().str(), "f32[batch,64,seq]");
  EXPECT_EQ(op("Transpose", {x})->type().str(), "f32[64,seq,batch]");
  Value *u = op("Unsqueeze", {x, constant(i64({2}, {1, -1}))});
  EXPECT_EQ(u->type().str(), "f32[batch,1,seq,64,1]");
  EXPECT_EQ(op("Squeeze", {u, constant(i64({2}, {1, 4}))})->type().str(), "f32[batch,seq,64]");
  // Without axes, a symbolic dim might be 1 at run time: the rank is unknown.
  EXPECT_EQ(op("Squeeze", {u})->type().str(), "f32[*]");
  // Axes of unknown contents but known count: the rank is known.
  EXPECT_EQ(op("Squeeze", {u, arg(Type(DType::I64, {2}))})->type().str(), "f32[?,?,?]");
  EXPECT_EQ(op("Unsqueeze", {x, arg(Type(DType::I64, {1}))})->type().str(), "f32[?,?,?,?]");
  expectError([&] { op("Unsqueeze", {x}); }, "Unsqueeze: needs axes");
  EXPECT_EQ(op("Squeeze", {arg(Type(DType::F32, {1, 3, 1}))})->type().str(), "f32[3]");
}

TEST_F(ShapeOpsInfer, ExpandAndConstantOfShapeUseShapeValues) {
  Value *row = arg(Type(DType::F32, {1, 64}));
  Value *shape = op("Concat", {dimOf(x, 1), constant(i64({1}, {1}))}, attrs({{"axis", int64_t(0)}}));
  EXPECT_EQ(op("Expand", {row, shape})->type().str(), "f32[seq,64]");
  EXPECT_EQ(op("Expand", {row, arg(Type(DType::I64, {3}))})->type().str(), "f32[?,?,64]");
  EXPECT_EQ(op("ConstantOfShape", {op("Shape", {x})})->type().str(), "f32[batch,seq,64]");
  Value *ones = op("ConstantOfShape", {dimOf(x, 0)}, attrs({{"value", i64({1}, {1})}}));
  EXPECT_EQ(ones->type().str(), "i64[batch]");
  EXPECT_EQ(op("ConstantOfShape", {arg(Type(DType::I64, {2}))})->type().str(), "f32[?,?]");
}

TEST_F(ShapeOpsInfer, RangeLength) {
  auto scalar = [&](int64_t v) { return constant(Tensor::scalarI64(v)); };
  Value *r = op("Range", {scalar(2), scalar(12), scalar(3)});
  EXPECT_EQ(r->type().str(), "i64[4]");
  EXPECT_EQ(sym(r), "[2,5,8,11]");
  Value *seq = op("Gather", {op("Shape", {x}), scalar(1)});
  EXPECT_EQ(op("Range", {scalar(0), seq, scalar(1)})->type().str(), "i64[seq]");
  EXPECT_EQ(op("Range", {scalar(0), seq, scalar(2)})->type().str(), "i64[?]");
  EXPECT_EQ(op("Range", {scalar(0), arg(Type(DType::I64, {})), scalar(1)})->type().str(), "i64[?]");
  Value *f = op("Range", {constant(Tensor::scalarF32(0)), constant(Tensor::scalarF32(1)),
                          constant(Tensor::scalarF32(0.3f))});
  EXPECT_EQ(f->type().str(), "f32[4]");
}

TEST_F(ShapeOpsInfer, SliceAndGatherWithUnknownValues) {
  Value *starts = arg(Type(DType::I64, {1}));
  EXPECT_EQ(op("Slice", {x, starts, constant(i64({1}, {INT64_MAX})), constant(i64({1}, {1}))})->type().str(),
            "f32[batch,?,64]");
  EXPECT_EQ(op("Slice", {x, starts, constant(i64({1}, {INT64_MAX}))})->type().str(), "f32[?,seq,64]");
  // Whole-axis slices of a symbolic dim keep it; partial ones cannot know it.
  EXPECT_EQ(op("Slice", {x, constant(i64({2}, {0, 8})), constant(i64({2}, {INT64_MAX, 40})),
                         constant(i64({2}, {1, 2}))})->type().str(),
            "f32[batch,seq,32]");
  EXPECT_EQ(op("Slice", {x, constant(i64({1}, {1})), constant(i64({1}, {INT64_MAX})), constant(i64({1}, {1}))})
                ->type().str(),
            "f32[batch,?,64]");
  Value *idx = arg(Type(DType::I64, {Dim::symbol("k"), 2}));
  EXPECT_EQ(op("Gather", {x, idx}, attrs({{"axis", int64_t(1)}}))->type().str(), "f32[batch,k,2,64]");
}

TEST_F(ShapeOpsInfer, SplitSymbolicAndStatic) {
  Value *y = arg(Type(DType::F32, {Dim::symbol("batch"), Dim::symbol("seq") * Dim(2)}));
  Op *split = g->buildOp("Split", {y}, attrs({{"axis", int64_t(1)}}), {"a", "b"});
  EXPECT_EQ(split->result(0)->type().str(), "f32[batch,seq]");
  EXPECT_EQ(split->result(1)->type().str(), "f32[batch,seq]");
  split = g->buildOp("Split", {x, constant(i64({2}, {16, 48}))}, attrs({{"axis", int64_t(-1)}}), {"a", "b"});
  EXPECT_EQ(split->result(1)->type().str(), "f32[batch,seq,48]");
  split = g->buildOp("Split", {x, arg(Type(DType::I64, {2}))}, attrs({{"axis", int64_t(2)}}), {"a", "b"});
  EXPECT_EQ(split->result(0)->type().str(), "f32[batch,seq,?]");
  expectError([&] { g->buildOp("Split", {x}, attrs({{"axis", int64_t(2)}}), {"a", "b", "c"}); },
              "cannot split a dim of size 64 into 3 equal parts");
}

} // namespace
